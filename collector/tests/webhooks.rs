//! Forwarding over real HTTP: a receiver in the test checks every signature,
//! fails on purpose, and sees retries with the same delivery id, lifecycle
//! events, the dead-letter list and a retry from it.

mod common;

use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use common::*;
use leadscore_collector::forward::{verify, DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER};
use serde_json::{json, Value};

const SECRET: &str = "webhook-secret-0123456789";

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Received {
    route: String,
    event: String,
    delivery: String,
    body: Value,
    signature_ok: bool,
}

/// Keeps what arrived; checks signatures on the test collector's clock.
struct Receiver {
    received: Mutex<Vec<Received>>,
    clock: leadscore_collector::Clock,
}

/// `/flaky` fails twice per delivery then succeeds; `/down` always fails;
/// `/gone` refuses for good.
async fn receive(
    State(receiver): State<Arc<Receiver>>,
    Path(route): Path<String>,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok()).unwrap_or("").to_string();
    let now = (receiver.clock.now().as_millis() / 1000) as i64;
    let signature_ok = verify(SECRET, &header(SIGNATURE_HEADER), &body, now, 300).is_ok();
    let delivery = header(DELIVERY_HEADER);
    let mut received = receiver.received.lock().unwrap();
    let earlier = received.iter().filter(|seen| seen.route == route && seen.delivery == delivery).count();
    received.push(Received {
        route: route.clone(),
        event: header(EVENT_HEADER),
        delivery,
        body: serde_json::from_str(&body).unwrap_or(Value::Null),
        signature_ok,
    });
    match route.as_str() {
        "flaky" if earlier >= 2 => StatusCode::NO_CONTENT,
        "gone" => StatusCode::GONE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

async fn start_receiver() -> (String, Arc<Receiver>) {
    let receiver = Arc::new(Receiver {
        received: Mutex::default(),
        clock: leadscore_collector::Clock::starting_at(leadscore::core::Timestamp(RECEIVED)),
    });
    let app = Router::new().route("/{route}", post(receive)).with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, receiver)
}

fn hooks(base: &str, routes: &[(&str, &str)]) -> String {
    let mut toml = "[forwarding]\nbase_delay_ms = 20\nmax_delay_ms = 100\nmax_attempts = 3\n".to_string();
    for (route, events) in routes {
        toml.push_str(&format!(
            "[[webhooks]]\nname = \"{route}\"\nurl = \"{base}/{route}\"\nsecret = \"{SECRET}\"\nevents = {events}\n"
        ));
    }
    toml
}

fn of(receiver: &Receiver, route: &str) -> Vec<Received> {
    receiver.received.lock().unwrap().iter().filter(|seen| seen.route == route).cloned().collect()
}

#[tokio::test]
async fn leads_are_forwarded_signed_and_retried_until_delivered() {
    let (base, receiver) = start_receiver().await;
    let collector = Collector::start(&hooks(&base, &[("flaky", "[\"lead.created\", \"lead.lifecycle\"]")])).await;
    let lead = mql_lead("hook@acme.example");
    assert_eq!(collector.post(&lead.to_json()).await.status(), 201);

    let attempts = eventually("a delivery after two failures", || async {
        let seen = of(&receiver, "flaky");
        (seen.len() == 3).then_some(seen)
    })
    .await;
    assert!(attempts.iter().all(|seen| seen.signature_ok), "every attempt is signed");
    assert!(attempts.iter().all(|seen| seen.delivery == attempts[0].delivery), "one delivery id for all retries");
    assert!(attempts.iter().all(|seen| seen.event == "lead.created"));
    let body = &attempts[0].body;
    assert_eq!(body["event"], "lead.created");
    assert_eq!(body["lead"]["lead_id"], lead.lead_id.as_str());
    assert_eq!(body["lead"]["email"], "hook@acme.example");
    assert_eq!(body["lead"]["verdict"], "verified");
    assert!(body["lead"]["ledger"].as_array().unwrap().iter().any(|entry| entry["rule_id"] == "pricing-3x"));

    // Delivered: it leaves the outbox.
    eventually("an empty outbox", || async {
        let waiting = collector.admin_get("/v1/admin/deliveries?dead=false").await;
        waiting["deliveries"].as_array().unwrap().is_empty().then_some(())
    })
    .await;

    let path = format!("/v1/admin/leads/{}/accept", lead.lead_id);
    assert_eq!(collector.admin_post(&path, json!({})).await.0, 200);
    let change = eventually("a lifecycle event", || async {
        of(&receiver, "flaky").into_iter().find(|seen| seen.event == "lead.lifecycle" && seen.signature_ok)
    })
    .await;
    assert_eq!(change.body["change"]["from"], "mql");
    assert_eq!(change.body["change"]["to"], "sal");
    assert_eq!(change.body["lead"]["funnel"], "sal");
}

#[tokio::test]
async fn failing_deliveries_end_on_the_dead_letter_list_and_can_be_retried() {
    let (base, receiver) = start_receiver().await;
    let routes = [("down", "[\"lead.created\"]"), ("gone", "[\"lead.created\"]")];
    let collector = Collector::start(&hooks(&base, &routes)).await;
    let lead = mql_lead("dead@acme.example");
    assert_eq!(collector.post(&lead.to_json()).await.status(), 201);

    let dead = eventually("two dead letters", || async {
        let dead = collector.admin_get("/v1/admin/deliveries?dead=true").await;
        let dead = dead["deliveries"].as_array().unwrap().clone();
        (dead.len() == 2).then_some(dead)
    })
    .await;
    let by_name = |name: &str| dead.iter().find(|delivery| delivery["webhook"] == name).unwrap().clone();
    assert_eq!(by_name("down")["attempts"], 3, "5xx is retried up to max_attempts");
    assert_eq!(by_name("gone")["attempts"], 1, "410 is not retried");
    assert_eq!(by_name("gone")["last_error"], "HTTP 410 Gone");
    assert_eq!(of(&receiver, "down").len(), 3);

    let (session, _) = collector.login().await;
    let dashboard = collector.client.get(collector.url("/admin")).header("cookie", session).send().await.unwrap();
    let html = dashboard.text().await.unwrap();
    assert!(html.contains("Dead letters (2)") && html.contains("HTTP 500 Internal Server Error"), "{html}");

    let id = by_name("down")["id"].as_i64().unwrap();
    let (status, _) = collector.admin_post(&format!("/v1/admin/deliveries/{id}/retry"), json!({})).await;
    assert_eq!(status, 200);
    eventually("three more attempts", || async { (of(&receiver, "down").len() == 6).then_some(()) }).await;
    let (status, _) = collector.admin_post("/v1/admin/deliveries/999999/retry", json!({})).await;
    assert_eq!(status, 404);
}
