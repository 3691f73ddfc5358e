//! `POST /v1/leads` over real HTTP on loopback: one row per `lead_id`
//! whatever the repeats, durable answers, verification of claimed scores,
//! clear errors for bad input, gzip bounds, CORS, rate limits, the served
//! rule set and graceful shutdown.

mod common;

use std::io::Write;

use common::*;
use leadscore::core::Stage;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn a_lead_is_stored_once_and_repeats_never_overwrite() {
    let collector = Collector::start("").await;
    let lead = mql_lead("lee@acme.example");
    let first = collector.post(&lead.to_json()).await;
    assert_eq!(first.status(), 201);
    let answer: Value = first.json().await.unwrap();
    assert_eq!(answer["status"], "created");
    assert_eq!(answer["verdict"], "verified");

    // The row is on disk when the answer arrives: another connection sees it.
    assert_eq!(collector.stored_leads(), 1);

    // A retry (later sent_at, grown score) and another tab's copy: 200, no new row.
    let mut retry = lead.clone();
    retry.sent_at = Some(retry.created_at.plus_millis(60_000));
    retry.score += 5.0;
    for body in [lead.to_json(), retry.to_json()] {
        let again = collector.post(&body).await;
        assert_eq!(again.status(), 200);
        assert_eq!(again.json::<Value>().await.unwrap()["status"], "duplicate");
    }

    // Same id, different content: kept aside, the stored lead unchanged.
    let mut other = lead.clone();
    other.created_at = other.created_at.plus_millis(1);
    let conflict = collector.post(&other.to_json()).await;
    assert_eq!(conflict.status(), 200);
    let answer: Value = conflict.json().await.unwrap();
    assert_eq!(answer["status"], "conflict");
    assert!(answer["reason"].as_str().unwrap().contains("created_at"), "{answer}");

    let leads = collector.leads().await;
    assert_eq!(leads.len(), 1);
    assert_eq!(leads[0]["created_at"], lead.created_at.0);
    assert_eq!(leads[0]["claimed_score"], lead.score);
    let conflicts = collector.admin_get("/v1/admin/conflicts").await;
    assert_eq!(conflicts["conflicts"].as_array().unwrap().len(), 1);
    assert_eq!(conflicts["conflicts"][0]["lead_id"], lead.lead_id.as_str());
}

#[tokio::test]
async fn the_database_outlives_the_server() {
    let mut collector = Collector::start("").await;
    let lead = mql_lead("keep@acme.example");
    assert_eq!(collector.post(&lead.to_json()).await.status(), 201);
    let again = collector.restart().await;
    assert_eq!(again.leads().await.len(), 1);
    assert_eq!(again.post(&lead.to_json()).await.status(), 200, "still a duplicate after a restart");
}

#[tokio::test]
async fn json_and_gzip_bodies_are_accepted() {
    let collector = Collector::start("").await;
    let json = mql_lead("json@acme.example").to_json();
    let response = collector
        .client
        .post(collector.url("/v1/leads"))
        .header("content-type", "application/json")
        .header("origin", ORIGIN)
        .body(json)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);

    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(mql_lead("gzip@acme.example").to_json().as_bytes()).unwrap();
    let response = collector
        .client
        .post(collector.url("/v1/leads"))
        .header("content-type", "text/plain")
        .header("content-encoding", "gzip")
        .header("origin", ORIGIN)
        .body(gzip.finish().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(collector.leads().await.len(), 2);
}

#[tokio::test]
async fn claimed_scores_are_verified_and_forgeries_flagged() {
    let collector = Collector::start("").await;
    let honest = mql_lead("honest@acme.example");

    let mut inflated = mql_lead("inflated@acme.example");
    let real_score = inflated.score;
    inflated.score += 40.0;

    // Claiming sales_ready with evidence that shows no sales intent.
    let promoted = claiming(mql_lead("promoted@acme.example"), Stage::SalesReady);

    // A claim that falls short where older events were summarised away.
    let mut summarised = mql_lead("summarised@acme.example");
    summarised.evidence.truncate(2);
    summarised.summarised = 9;

    // A claim that falls short under another rule set.
    let mut old_rules = mql_lead("old-rules@acme.example");
    old_rules.evidence.truncate(2);
    old_rules.config_hash = "0000000000000000".into();

    let cases = [
        (&honest, "verified"),
        (&inflated, "forged"),
        (&promoted, "forged"),
        (&summarised, "unverifiable"),
        (&old_rules, "config_changed"),
    ];
    for (lead, verdict) in cases {
        let response = collector.post(&lead.to_json()).await;
        assert_eq!(response.status(), 201, "a flagged lead is still stored");
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["verdict"], verdict, "{:?}", lead.identity.get("email"));
    }

    let row = collector.admin_get(&format!("/v1/admin/leads/{}", honest.lead_id)).await;
    let claimed = row["lead"]["claimed_score"].as_f64().unwrap();
    let verified = row["lead"]["verified_score"].as_f64().unwrap();
    assert!((claimed - verified).abs() < 1e-9, "an honest claim replays exactly: {claimed} vs {verified}");

    let row = collector.admin_get(&format!("/v1/admin/leads/{}", inflated.lead_id)).await;
    assert!((row["lead"]["verified_score"].as_f64().unwrap() - real_score).abs() < 1e-9);
    assert_eq!(row["lead"]["claimed_score"].as_f64().unwrap(), real_score + 40.0);

    let row = collector.admin_get(&format!("/v1/admin/leads/{}", promoted.lead_id)).await;
    assert_eq!(row["lead"]["stage"], "sales_ready");
    assert_eq!(row["lead"]["verified_stage"], "mql");

    let forged = collector.admin_get("/v1/admin/leads?verdict=forged").await;
    assert_eq!(forged["leads"].as_array().unwrap().len(), 2);
    let stats = collector.admin_get("/v1/admin/stats").await;
    assert_eq!(stats["stats"]["flagged"], 4);
}

/// A valid lead as JSON, changed by `edit`.
fn edited(edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut value: Value = serde_json::from_str(&mql_lead("bad@acme.example").to_json()).unwrap();
    edit(&mut value);
    value.to_string().into_bytes()
}

#[tokio::test]
async fn bad_input_gets_a_clear_error_and_nothing_is_stored() {
    let collector = Collector::start("").await;
    let huge_identity = edited(|lead| lead["identity"]["company"] = Value::from("x".repeat(100_000)));
    let long_name = edited(|lead| lead["identity"]["company"] = Value::from("x".repeat(300)));
    let mut invalid_utf8 = mql_lead("utf8@acme.example").to_json().into_bytes();
    let at = invalid_utf8.len() / 2;
    invalid_utf8[at] = 0xff;
    let cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        ("malformed JSON", "text/plain", b"{\"v\":1,".to_vec(), 400, "lead"),
        ("empty body", "text/plain", Vec::new(), 400, "lead"),
        ("wrong type", "text/plain", edited(|lead| lead["score"] = Value::from("high")), 400, "score"),
        (
            "wrong nested type",
            "text/plain",
            edited(|lead| lead["evidence"][0]["at"] = Value::from(-1)),
            400,
            "evidence[0].at",
        ),
        (
            "missing field",
            "text/plain",
            edited(|lead| {
                lead.as_object_mut().unwrap().remove("visitor_id");
            }),
            400,
            "visitor_id",
        ),
        ("unknown field", "text/plain", edited(|lead| lead["admin"] = Value::from(true)), 400, "admin"),
        ("unknown version", "text/plain", edited(|lead| lead["v"] = Value::from(2)), 400, "v"),
        ("unknown site", "text/plain", edited(|lead| lead["site"] = Value::from("nobody")), 400, "lead_id"),
        ("forged id", "text/plain", edited(|lead| lead["lead_id"] = Value::from("0".repeat(32))), 400, "lead_id"),
        ("warm stage", "text/plain", edited(|lead| lead["stage"] = Value::from("warm")), 400, "stage"),
        ("huge string", "text/plain", huge_identity, 413, "lead"),
        ("long string", "text/plain", long_name, 400, "identity.company"),
        ("invalid UTF-8", "text/plain", invalid_utf8, 400, "lead"),
        ("form body", "application/x-www-form-urlencoded", b"a=b".to_vec(), 415, "content-type"),
    ];
    for (name, content_type, body, status, field) in cases {
        let response = collector
            .client
            .post(collector.url("/v1/leads"))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status, "{name}");
        assert_eq!(response.headers()["content-type"], "application/json", "{name}");
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["field"], field, "{name}: {answer}");
        assert!(!answer["error"].as_str().unwrap().is_empty(), "{name}: {answer}");
    }
    assert!(collector.leads().await.is_empty(), "nothing stored");
    assert_eq!(collector.post(&mql_lead("good@acme.example").to_json()).await.status(), 201, "still serving");
}

#[tokio::test]
async fn an_unknown_site_is_named_in_the_error() {
    let collector = Collector::start("").await;
    let mut lead = mql_lead("elsewhere@acme.example");
    lead.site = "globex".into();
    lead.lead_id = leadscore::core::lead::lead_id("globex", &lead.visitor_id, lead.stage);
    let response = collector.post(&lead.to_json()).await;
    assert_eq!(response.status(), 400);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["field"], "site");
    assert!(answer["error"].as_str().unwrap().contains("unknown site `globex`; this collector serves `acme`"));
}

#[tokio::test]
async fn gzip_bombs_are_refused() {
    let collector = Collector::start("").await;
    let mut bomb = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    bomb.write_all(&vec![b' '; 50 * 1024 * 1024]).unwrap();
    let bomb = bomb.finish().unwrap();
    let response = collector
        .client
        .post(collector.url("/v1/leads"))
        .header("content-type", "text/plain")
        .header("content-encoding", "gzip")
        .header("origin", ORIGIN)
        .body(bomb)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let oversized = collector
        .client
        .post(collector.url("/v1/leads"))
        .header("content-type", "text/plain")
        .body(vec![b' '; 200 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(oversized.status(), 413);
    assert!(collector.leads().await.is_empty());
}

#[tokio::test]
async fn cors_admits_listed_origins_only() {
    let collector = Collector::start("").await;
    let preflight = |origin: &'static str| {
        collector
            .client
            .request(reqwest::Method::OPTIONS, collector.url("/v1/leads"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let allowed = preflight(ORIGIN).await.unwrap();
    assert_eq!(allowed.status(), 204);
    assert_eq!(allowed.headers()["access-control-allow-origin"], ORIGIN);
    assert!(allowed.headers()["access-control-allow-headers"].to_str().unwrap().contains("Content-Type"));
    let refused = preflight("https://evil.example").await.unwrap();
    assert_eq!(refused.status(), 403);
    assert!(!refused.headers().contains_key("access-control-allow-origin"));

    let lead = mql_lead("cors@acme.example");
    let response = collector
        .client
        .post(collector.url("/v1/leads"))
        .header("content-type", "text/plain")
        .header("origin", "https://evil.example")
        .body(lead.to_json())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(!response.headers().contains_key("access-control-allow-origin"));
    assert_eq!(response.json::<Value>().await.unwrap()["field"], "origin");
    assert!(collector.leads().await.is_empty());

    let response = collector.post(&lead.to_json()).await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["access-control-allow-origin"], ORIGIN);
    assert_eq!(response.headers()["access-control-expose-headers"], "Retry-After");
    assert_eq!(response.headers()["vary"], "Origin");
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after() {
    let collector = Collector::start("[limits]\nper_ip_per_minute = 3").await;
    for n in 0..3 {
        let lead = mql_lead(&format!("burst{n}@acme.example"));
        assert_eq!(collector.post(&lead.to_json()).await.status(), 201);
    }
    let response = collector.post(&mql_lead("burst3@acme.example").to_json()).await;
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=20).contains(&retry_after), "one token comes every 20 s: {retry_after}");
    assert_eq!(response.headers()["access-control-expose-headers"], "Retry-After", "the widget can read it");
    assert_eq!(collector.leads().await.len(), 3);
}

#[tokio::test]
async fn a_site_has_its_own_limit_across_addresses() {
    let collector = Collector::start("trust_proxy = true\n[limits]\nper_site_per_minute = 2").await;
    let mut statuses = Vec::new();
    for n in 0..3 {
        let response = collector
            .client
            .post(collector.url("/v1/leads"))
            .header("content-type", "text/plain")
            .header("x-forwarded-for", format!("203.0.113.{n}"))
            .header("origin", ORIGIN)
            .body(mql_lead(&format!("site{n}@acme.example")).to_json())
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            let answer: Value = response.json().await.unwrap();
            assert!(answer["error"].as_str().unwrap().contains("from this site"), "{answer}");
        }
    }
    assert_eq!(statuses, [201, 201, 429]);
}

#[tokio::test]
async fn the_site_rule_set_is_served_to_widgets() {
    let collector = Collector::start("").await;
    let response = collector.client.get(collector.url("/v1/sites/acme/config.json")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    assert!(response.headers().contains_key("etag"));
    assert_eq!(response.text().await.unwrap(), SITE_JSON);
    let missing = collector.client.get(collector.url("/v1/sites/globex/config.json")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.json::<Value>().await.unwrap()["field"], "site");

    // Compiled: the same config, as the JSON string the widget reads
    // without its config compiler, under the same ETag.
    let etag = collector.client.get(collector.url("/v1/sites/acme/config.json")).send().await.unwrap().headers()
        ["etag"]
        .clone();
    let compiled = collector.client.get(collector.url("/v1/sites/acme/compiled.json")).send().await.unwrap();
    assert_eq!(compiled.status(), 200);
    assert_eq!(compiled.headers()["access-control-allow-origin"], "*");
    assert_eq!(compiled.headers()["etag"], etag);
    let text: String = compiled.json().await.unwrap();
    assert_eq!(leadscore::core::Config::from_text(&text).unwrap(), leadscore::core::Config::parse(SITE_JSON).unwrap());
    let missing = collector.client.get(collector.url("/v1/sites/globex/compiled.json")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn shutdown_finishes_a_request_in_flight() {
    let mut collector = Collector::start("").await;
    let body = mql_lead("inflight@acme.example").to_json();
    let addr = collector.running.as_ref().unwrap().addr;
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    // `Expect: 100-continue` makes the server say when the handler starts
    // reading the body: from then on, the request is in flight.
    let head = format!(
        "POST /v1/leads HTTP/1.1\r\nhost: {addr}\r\norigin: {ORIGIN}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\
         expect: 100-continue\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut interim = [0u8; 25];
    stream.read_exact(&mut interim).await.unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    let (first, rest) = body.split_at(body.len() / 2);
    stream.write_all(first.as_bytes()).await.unwrap();
    stream.flush().await.unwrap();

    let running = collector.running.take().unwrap();
    let stopping = tokio::spawn(running.stop());
    tokio::task::yield_now().await;
    assert!(!stopping.is_finished(), "shutdown waits for the request in flight");
    stream.write_all(rest.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    stopping.await.unwrap().unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "no longer listening");

    assert_eq!(collector.stored_leads(), 1);
}

#[tokio::test]
async fn a_public_folder_is_served_beside_the_api() {
    let dir = std::env::temp_dir().join(format!("leadscore-public-http-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("public/dist")).unwrap();
    std::fs::write(dir.join("public/index.html"), "<h1>home</h1>").unwrap();
    std::fs::write(dir.join("public/dist/leadscore_wasm_bg.wasm"), b"\0asm").unwrap();
    std::fs::write(dir.join("secret.txt"), "outside").unwrap();
    let collector = Collector::start_in(dir, "public_dir = \"public\"").await;
    let get = |path: &'static str| collector.client.get(collector.url(path)).send();
    let home = get("/").await.unwrap();
    assert_eq!(home.headers()["content-type"], "text/html; charset=utf-8");
    assert_eq!(home.text().await.unwrap(), "<h1>home</h1>");
    let wasm = get("/dist/leadscore_wasm_bg.wasm").await.unwrap();
    assert_eq!(wasm.headers()["content-type"], "application/wasm", "streaming instantiation needs it");
    for outside in ["/../secret.txt", "/%2e%2e/secret.txt", "/missing.html"] {
        assert_eq!(get(outside).await.unwrap().status(), 404, "{outside}");
    }
    assert_eq!(get("/v1/sites/acme/config.json").await.unwrap().status(), 200, "the API still answers");
}

#[tokio::test]
async fn posts_without_an_origin_are_refused_and_servers_import_with_the_token() {
    let collector = Collector::start("").await;
    let plain = |path: &str, body: String| {
        collector.client.post(collector.url(path)).header("content-type", "text/plain").body(body).send()
    };
    let lead = mql_lead("server@acme.example");
    let refused = plain("/v1/leads", lead.to_json()).await.unwrap();
    assert_eq!(refused.status(), 403);
    let answer: Value = refused.json().await.unwrap();
    assert_eq!(answer["field"], "origin", "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("/v1/admin/import"), "{answer}");
    let secret = secret_of(&lead.visitor_id);
    let forget = serde_json::json!({ "site": "acme", "visitor_id": lead.visitor_id, "secret": secret }).to_string();
    assert_eq!(plain("/v1/forget", forget).await.unwrap().status(), 403);
    assert!(collector.leads().await.is_empty());

    let import = |token: Option<&str>| {
        let request = collector.client.post(collector.url("/v1/admin/import")).body(lead.to_json());
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
        .header("content-type", "application/json")
        .send()
    };
    assert_eq!(import(None).await.unwrap().status(), 401);
    let imported = import(Some(TOKEN)).await.unwrap();
    assert_eq!(imported.status(), 201);
    let answer: Value = imported.json().await.unwrap();
    assert_eq!(answer["verdict"], "verified", "{answer}");
    assert_eq!(import(Some(TOKEN)).await.unwrap().status(), 200, "a repeat is a duplicate, as for browsers");
    assert_eq!(collector.leads().await.len(), 1);
}

#[tokio::test]
async fn a_site_may_accept_posts_without_an_origin() {
    let dir = temp_dir();
    std::fs::write(dir.join("acme.json"), SITE_JSON).unwrap();
    let settings = format!("[[sites]]\nconfig = \"acme.json\"\norigins = [\"{ORIGIN}\"]\nrequire_origin = false\n");
    let collector = Collector::launch(dir, &settings).await;
    let response = collector
        .client
        .post(collector.url("/v1/leads"))
        .header("content-type", "text/plain")
        .body(mql_lead("no-origin@acme.example").to_json())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
}
