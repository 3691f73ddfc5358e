//! Slow and idle clients against a collector with short timeouts, over raw
//! loopback sockets: slow headers, slow bodies and idle keep-alive
//! connections are cut off while normal posts go on; connections past the
//! cap are refused at once; shutdown ends at its deadline even with bodies
//! still trickling in.

mod common;

use std::time::{Duration, Instant};

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

const SHORT: &str =
    "[server]\nheader_timeout_ms = 400\nbody_timeout_ms = 400\nidle_timeout_ms = 400\nmax_connections = 64\n";

/// What the server sent before closing the connection; fails if it is still
/// open after `limit`.
async fn read_until_closed(reader: &mut OwnedReadHalf, limit: Duration) -> String {
    let started = Instant::now();
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let left = limit.saturating_sub(started.elapsed());
        match tokio::time::timeout(left, reader.read(&mut buf)).await {
            Err(_) => panic!(
                "the server did not close the connection within {limit:?}; it sent {:?}",
                String::from_utf8_lossy(&seen)
            ),
            Ok(Ok(0)) | Ok(Err(_)) => return String::from_utf8_lossy(&seen).into_owned(),
            Ok(Ok(read)) => seen.extend_from_slice(&buf[..read]),
        }
    }
}

/// Reads until `needle` has arrived (the connection still open).
async fn read_until(reader: &mut OwnedReadHalf, needle: &str) -> String {
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&seen).contains(needle) {
        let read = tokio::time::timeout(Duration::from_secs(10), reader.read(&mut buf))
            .await
            .expect("an answer within 10 s")
            .unwrap();
        assert!(read > 0, "closed before {needle:?}: {:?}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..read]);
    }
    String::from_utf8_lossy(&seen).into_owned()
}

/// Writes `bytes` one at a time, every 50 ms, until done or the peer is gone.
fn trickle(mut writer: OwnedWriteHalf, bytes: Vec<u8>) -> tokio::task::JoinHandle<usize> {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_millis(50));
        for (sent, byte) in bytes.iter().enumerate() {
            interval.tick().await;
            if writer.write_all(&[*byte]).await.is_err() {
                return sent;
            }
        }
        bytes.len()
    })
}

fn address(collector: &Collector) -> String {
    collector.base.trim_start_matches("http://").to_string()
}

fn post_head(collector: &Collector, length: usize, expect_continue: bool) -> String {
    let expect = if expect_continue { "Expect: 100-continue\r\n" } else { "" };
    format!(
        "POST /v1/leads HTTP/1.1\r\nHost: {}\r\nContent-Type: text/plain\r\nOrigin: {ORIGIN}\r\n{expect}\
         Content-Length: {length}\r\n\r\n",
        address(collector)
    )
}

#[tokio::test]
async fn slow_headers_slow_bodies_and_idle_connections_are_cut_off_while_posts_go_on() {
    let collector = Collector::start(SHORT).await;
    let limit = Duration::from_secs(5);
    let mut clients = Vec::new();
    for index in 0..15 {
        let (mut reader, mut writer) = TcpStream::connect(address(&collector)).await.unwrap().into_split();
        let kind = ["slow headers", "slow body", "silent", "idle keep-alive", "slow body"][index % 5];
        let keep = match kind {
            "slow headers" => vec![trickle(writer, post_head(&collector, 10, false).into_bytes())],
            "slow body" => {
                writer.write_all(post_head(&collector, 10_000, false).as_bytes()).await.unwrap();
                vec![trickle(writer, vec![b'x'; 10_000])]
            }
            "idle keep-alive" => {
                let request =
                    format!("GET /v1/sites/acme/config.json HTTP/1.1\r\nHost: {}\r\n\r\n", address(&collector));
                writer.write_all(request.as_bytes()).await.unwrap();
                read_until(&mut reader, "\"site\"").await;
                vec![tokio::spawn(async move {
                    let _open = writer;
                    std::future::pending::<usize>().await
                })]
            }
            _ => vec![tokio::spawn(async move {
                let _open = writer;
                std::future::pending::<usize>().await
            })],
        };
        clients.push(tokio::spawn(async move {
            let said = read_until_closed(&mut reader, limit).await;
            for task in keep {
                task.abort();
            }
            (kind, said)
        }));
    }
    // Meanwhile the collector serves real posts.
    for n in 0..3 {
        let lead = mql_lead(&format!("busy{n}@acme.example"));
        assert_eq!(collector.post(&lead.to_json()).await.status(), 201);
    }
    for client in clients {
        let (kind, said) = client.await.unwrap();
        if kind == "slow body" {
            assert!(said.starts_with("HTTP/1.1 408"), "{kind}: {said:?}");
        }
    }
    assert_eq!(collector.leads().await.len(), 3, "only the real posts were stored");
}

#[tokio::test]
async fn connections_past_the_cap_are_refused_at_once() {
    let collector =
        Collector::start("[server]\nmax_connections = 4\nidle_timeout_ms = 60000\nheader_timeout_ms = 60000\n").await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(TcpStream::connect(address(&collector)).await.unwrap());
    }
    let (mut reader, _writer) = TcpStream::connect(address(&collector)).await.unwrap().into_split();
    let said = read_until_closed(&mut reader, Duration::from_secs(5)).await;
    assert!(said.starts_with("HTTP/1.1 503"), "{said:?}");
    assert!(said.contains("too many connections"), "{said:?}");
    // A slot freed is a slot served again.
    drop(held.pop());
    let lead = mql_lead("after-cap@acme.example");
    let status = eventually("a post once a slot is free", || async {
        let response = collector.post(&lead.to_json()).await;
        response.status().is_success().then_some(response.status())
    })
    .await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn shutdown_stops_waiting_for_slow_bodies_at_its_deadline() {
    let mut collector =
        Collector::start("[server]\nbody_timeout_ms = 600000\nidle_timeout_ms = 600000\nshutdown_timeout_ms = 300\n")
            .await;
    let mut trickling = Vec::new();
    for _ in 0..3 {
        let (mut reader, mut writer) = TcpStream::connect(address(&collector)).await.unwrap().into_split();
        writer.write_all(post_head(&collector, 10_000, true).as_bytes()).await.unwrap();
        // `100 Continue` comes once the server reads the body: the request is in flight.
        read_until(&mut reader, "100 Continue").await;
        trickling.push((reader, trickle(writer, vec![b'x'; 10_000])));
    }
    let running = collector.running.take().unwrap();
    let stopped = tokio::time::timeout(Duration::from_secs(10), running.stop()).await;
    assert!(stopped.is_ok(), "the collector must stop at its shutdown deadline");
    for (mut reader, task) in trickling {
        read_until_closed(&mut reader, Duration::from_secs(5)).await;
        task.abort();
    }
}
