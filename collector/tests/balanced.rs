//! Two collector processes on one PostgreSQL behind a real HAProxy
//! (round-robin, health-checked): the same lead posted many times at once
//! is one row and one `201`; every webhook goes out exactly once with both
//! workers running; one instance killed with SIGKILL in the middle of a load
//! run loses no lead that got a `2xx`, and what it had claimed is delivered
//! by the other once the lease runs out. `cargo xtask test` installs
//! Debian's `postgresql` and `haproxy`.

mod common;

use std::collections::HashMap;
use std::net::TcpListener as StdListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing;
use axum::Router;
use common::haproxy::{self, Process};
use common::pg::PgServer;
use common::{mql_lead, temp_dir, ORIGIN, SITE_JSON, TOKEN};
use leadscore_collector::store::{LeadFilter, PostgresStore, Store};

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Waits until something accepts connections on `port`.
async fn listening(port: u16, what: &str) {
    let started = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(30), "{what} did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Webhook deliveries received: delivery id → (lead id, times received).
type Received = Arc<Mutex<HashMap<String, (String, usize)>>>;

async fn receive(State(received): State<Received>, headers: HeaderMap, body: String) -> StatusCode {
    // Slow enough that a batch is still in flight when an instance is killed.
    tokio::time::sleep(Duration::from_millis(150)).await;
    let id = headers.get("leadscore-delivery").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let lead: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    let lead_id = lead["lead"]["lead_id"].as_str().unwrap_or("").to_string();
    received.lock().unwrap().entry(id).or_insert((lead_id, 0)).1 += 1;
    StatusCode::NO_CONTENT
}

fn collector(dir: &Path, name: &str, port: u16, database: &str, hook: u16) -> Process {
    let settings = format!(
        "listen = \"127.0.0.1:{port}\"\ndatabase = \"{database}\"\nadmin_token = \"{TOKEN}\"\n\
         [limits]\nper_ip_per_minute = 100000\nper_site_per_minute = 100000\n\
         [forwarding]\nbase_delay_ms = 100\ntimeout_ms = 1000\n\
         [[sites]]\nconfig = \"acme.json\"\norigins = [\"{ORIGIN}\"]\n\
         [[webhooks]]\nurl = \"http://127.0.0.1:{hook}/hook\"\nsecret = \"0123456789abcdef\"\nevents = [\"lead.created\"]\n"
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, settings).unwrap();
    let log = std::fs::File::create(dir.join(format!("{name}.log"))).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_collector"))
        .arg("--config")
        .arg(&path)
        .env_remove("LEADSCORE_ADMIN_TOKEN")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    Process(child)
}

async fn post(client: &reqwest::Client, port: u16, body: String) -> Option<u16> {
    let sent = client
        .post(format!("http://127.0.0.1:{port}/v1/leads"))
        .header("content-type", "text/plain")
        .header("origin", ORIGIN)
        .body(body)
        .send()
        .await;
    sent.ok().map(|answer| answer.status().as_u16())
}

fn stored(url: &str) -> Vec<String> {
    let url = url.to_string();
    std::thread::spawn(move || {
        let store = PostgresStore::open(&url).unwrap();
        let leads = store.leads(&LeadFilter { limit: 10_000, ..Default::default() }).unwrap();
        leads.into_iter().map(|row| row.lead_id).collect()
    })
    .join()
    .unwrap()
}

#[tokio::test]
async fn two_collectors_behind_haproxy_keep_one_row_and_deliver_every_webhook() {
    let dir = temp_dir();
    std::fs::write(dir.join("acme.json"), SITE_JSON).unwrap();
    let postgres = PgServer::start();
    let received: Received = Arc::default();
    let hook = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_port = hook.local_addr().unwrap().port();
    let app = Router::new().route("/hook", routing::post(receive)).with_state(received.clone());
    let receiver = tokio::spawn(async move { axum::serve(hook, app).await });

    // Both start at once: the migrations run under an advisory lock.
    let ports = [free_port(), free_port()];
    let mut a = Some(collector(&dir, "a", ports[0], &postgres.url, hook_port));
    let _b = collector(&dir, "b", ports[1], &postgres.url, hook_port);
    for port in ports {
        listening(port, "a collector").await;
    }
    let balancer_port = free_port();
    let _balancer = haproxy::start(&dir, balancer_port, &ports).unwrap();
    listening(balancer_port, "HAProxy").await;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(15)).build().unwrap();

    // 1. The same lead twenty times at once, through the balancer.
    let same = mql_lead("same@acme.example");
    let racers: Vec<_> = (0..20)
        .map(|_| {
            let (client, body) = (client.clone(), same.to_json());
            tokio::spawn(async move { post(&client, balancer_port, body).await })
        })
        .collect();
    let mut statuses = Vec::new();
    for racer in racers {
        statuses.push(racer.await.unwrap().expect("an answer"));
    }
    assert_eq!(statuses.iter().filter(|status| **status == 201).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|status| *status == 201 || *status == 200), "{statuses:?}");
    assert_eq!(stored(&postgres.url), std::slice::from_ref(&same.lead_id));

    // 2. Thirty leads: each webhook exactly once, with both workers running.
    for n in 0..30 {
        assert_eq!(post(&client, balancer_port, mql_lead(&format!("w{n}@acme.example")).to_json()).await, Some(201));
    }
    let delivered = |want: usize| {
        let received = received.clone();
        async move {
            let started = Instant::now();
            loop {
                let leads: std::collections::HashSet<String> =
                    received.lock().unwrap().values().map(|(lead, _)| lead.clone()).collect();
                if leads.len() >= want {
                    return;
                }
                assert!(started.elapsed() < Duration::from_secs(30), "{} of {want} leads delivered", leads.len());
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    delivered(31).await;
    // A moment for a second copy to show up, if either worker were to send one.
    tokio::time::sleep(Duration::from_millis(500)).await;
    {
        let received = received.lock().unwrap();
        assert_eq!(received.len(), 31, "one delivery per lead");
        assert!(received.values().all(|(_, times)| *times == 1), "each delivered once: {received:?}");
    }

    // 3. A load run, with instance a killed by SIGKILL halfway.
    let load: Vec<_> = (0..60)
        .map(|n| {
            let (client, body) = (client.clone(), mql_lead(&format!("load{n}@acme.example")));
            tokio::spawn(async move {
                let status = post(&client, balancer_port, body.to_json()).await;
                (body.lead_id, status)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(a.take()); // SIGKILL: no shutdown, no chance to finish anything
    let mut answered = Vec::new();
    for run in load {
        let (lead_id, status) = run.await.unwrap();
        if status.is_some_and(|status| (200..300).contains(&status)) {
            answered.push(lead_id);
        }
    }
    let rows = stored(&postgres.url);
    for lead_id in &answered {
        assert!(rows.contains(lead_id), "{lead_id} got a 2xx and is not stored");
    }
    // Every stored lead is delivered, a's claims by b once their lease ran out.
    delivered(rows.len()).await;
    receiver.abort();
}
