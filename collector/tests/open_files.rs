//! The `collector` binary under a low open-file limit (`ulimit -n 128`): a
//! crowd of silent connections meets the connection cap, which the default
//! keeps under the limit, so normal posts get a quick `503` instead of
//! timing out, the refusals are logged, and posts are served again once the
//! idle connections are cut.

mod common;

use std::net::TcpListener as StdListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{mql_lead, temp_dir, ORIGIN, SITE_JSON, TOKEN};

/// Kills the collector when the test ends, passed or failed.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn a_low_open_file_limit_gives_quick_refusals_not_timeouts() {
    let dir = temp_dir();
    std::fs::write(dir.join("acme.json"), SITE_JSON).unwrap();
    let port = StdListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let settings = format!(
        "listen = \"127.0.0.1:{port}\"\ndatabase = \"{}\"\nadmin_token = \"{TOKEN}\"\n\
         [server]\nidle_timeout_ms = 1500\n[[sites]]\nconfig = \"acme.json\"\norigins = [\"{ORIGIN}\"]\n",
        dir.join("leads.db").display()
    );
    std::fs::write(dir.join("collector.toml"), settings).unwrap();
    let log = std::fs::File::create(dir.join("stderr.log")).unwrap();
    let child = Command::new("bash")
        .args(["-c", "ulimit -n 128 && exec \"$0\" --config \"$1\""])
        .arg(env!("CARGO_BIN_EXE_collector"))
        .arg(dir.join("collector.toml"))
        .env_remove("LEADSCORE_ADMIN_TOKEN")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let _running = Running(child);
    let addr = format!("127.0.0.1:{port}");
    let started = Instant::now();
    while tokio::net::TcpStream::connect(&addr).await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "the collector did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A crowd of silent connections, more than the process has files for.
    let mut crowd = Vec::new();
    for _ in 0..200 {
        if let Ok(stream) = tokio::net::TcpStream::connect(&addr).await {
            crowd.push(stream);
        }
    }
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let post = || {
        client
            .post(format!("http://{addr}/v1/leads"))
            .header("content-type", "text/plain")
            .header("origin", ORIGIN)
            .body(mql_lead("crowded@acme.example").to_json())
            .send()
    };
    // While the crowd holds every slot: a quick 503 (or, when the request was
    // still being written as the refused socket closed, a reset), never a
    // wait that runs into the client's timeout.
    match post().await {
        Ok(crowded) => {
            assert_eq!(crowded.status(), 503);
            assert!(crowded.headers().contains_key("retry-after"));
        }
        Err(err) => assert!(!err.is_timeout(), "a timeout instead of a quick refusal: {err}"),
    }
    let logged = std::fs::read_to_string(dir.join("stderr.log")).unwrap();
    assert!(logged.contains("connection cap"), "the refusals are logged:\n{logged}");

    // Once the idle crowd is cut, posts are served again.
    let started = Instant::now();
    loop {
        match post().await {
            Ok(answer) if answer.status() == 201 => break,
            _ => assert!(started.elapsed() < Duration::from_secs(20), "posts are served again"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(crowd);
}
