//! `GET /healthz`, the check a load balancer asks: `200` while the store
//! can write, `503` once it cannot (here: its PostgreSQL server stopped),
//! so the balancer sends visitors to another instance.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::haproxy::Process;
use common::pg::PgServer;
use common::{temp_dir, Collector, SITE_JSON, TOKEN};

#[tokio::test]
async fn healthy_while_the_store_answers() {
    let collector = Collector::start("").await;
    let answer = collector.client.get(collector.url("/healthz")).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn unhealthy_once_the_database_is_gone() {
    let dir = temp_dir();
    std::fs::write(dir.join("acme.json"), SITE_JSON).unwrap();
    let postgres = PgServer::start();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let _collector = Process(
        Command::new(env!("CARGO_BIN_EXE_collector"))
            .args(["--listen", &format!("127.0.0.1:{port}"), "--database", &postgres.url, "--admin-token", TOKEN])
            .arg("--site")
            .arg(dir.join("acme.json"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    let url = format!("http://127.0.0.1:{port}/healthz");
    let started = Instant::now();
    let first = loop {
        if let Ok(answer) = client.get(&url).send().await {
            break answer;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the collector did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(first.status(), 200);
    drop(postgres); // stops the server
    let answer = client.get(&url).send().await.unwrap();
    assert_eq!(answer.status(), 503);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["error"], "storage is unavailable", "{body}");
}
