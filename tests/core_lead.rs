//! The lead payload: built only for MQLs, a stable idempotency key, a JSON
//! round trip, strict reading with errors that name the field, stripped
//! page URLs, and evidence that replays to the claimed score.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

mod common;

use std::sync::Arc;

use common::Visitor;
use leadscore::core::lead::{lead_id, strip_page, MAX_LEAD_BYTES};
use leadscore::core::{Lead, Preset, Stage};

/// A b2b visitor who became an MQL: repeat visits, pricing 3×, newsletter.
fn mql_visitor() -> Visitor {
    let mut visitor = Visitor::preset(Preset::B2bSaas);
    for _ in 0..3 {
        visitor.page("/pricing");
        visitor.wait_days(1.0);
    }
    visitor.identify(&[("email", "lee@acme.example"), ("job_title", "CTO")]);
    visitor.track("form_submit");
    visitor.track("newsletter_signup");
    assert_eq!(visitor.stage(), Stage::Mql);
    visitor
}

#[test]
fn no_lead_below_mql() {
    let mut visitor = Visitor::preset(Preset::B2bSaas);
    visitor.page("/");
    assert!(Lead::from_engine(&visitor.engine, visitor.now, "https://acme.example/").is_none());
}

#[test]
fn a_lead_carries_what_the_collector_needs() {
    let visitor = mql_visitor();
    let lead = Lead::from_engine(
        &visitor.engine,
        visitor.now,
        "https://acme.example/pricing?email=x%40y.z&utm_source=ads#top",
    )
    .unwrap();
    assert_eq!(lead.v, 1);
    assert_eq!(lead.site, "test-site");
    assert_eq!(lead.stage, Stage::Mql);
    assert_eq!(lead.identity.get("email").map(String::as_str), Some("lee@acme.example"));
    assert_eq!(lead.page, "https://acme.example/pricing?utm_source=ads");
    assert_eq!(lead.config_hash, visitor.engine.config().hash_hex());
    assert_eq!(lead.created_at, visitor.now);
    assert!(lead.ledger.iter().any(|entry| entry.rule_id == "pricing-3x"));
    assert!(!lead.evidence.is_empty());
    let json = lead.to_json();
    assert!(json.contains(r#""stage":"mql""#), "{json}");
    assert!(json.len() < MAX_LEAD_BYTES);
}

#[test]
fn lead_ids_are_stable_per_visitor_and_stage() {
    let id = lead_id("acme", "v1", Stage::Mql);
    assert_eq!(id.len(), 32);
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(id, lead_id("acme", "v1", Stage::Mql));
    assert_ne!(id, lead_id("acme", "v1", Stage::SalesReady));
    assert_ne!(id, lead_id("acme", "v2", Stage::Mql));
    assert_ne!(id, lead_id("other", "v1", Stage::Mql));
    let mut visitor = mql_visitor();
    let first = Lead::from_engine(&visitor.engine, visitor.now, "/").unwrap();
    visitor.wait_days(0.5);
    visitor.track("demo_use");
    let again = Lead::from_engine(&visitor.engine, visitor.now, "/").unwrap();
    assert_eq!(first.lead_id, again.lead_id, "a later copy of the same stage keeps its id");
}

/// The hand-written body says what serde's would: the same fields in the
/// same order with the same values (numbers compared as numbers, since the
/// writer gives `43` where serde gives `43.0`), for a lead with every part
/// filled in, including text that needs escaping.
#[test]
fn the_body_is_what_serde_would_write() {
    let mut visitor = mql_visitor();
    let event = visitor_event_with_everything(&mut visitor);
    visitor.engine.handle_event(event);
    visitor.identify(&[("company", "Quote \" Backslash \\ Tab \t Ünïcode 😀 \u{1}")]);
    let mut lead =
        Lead::from_engine(&visitor.engine, visitor.now, "https://acme.example/pricing?utm_source=x").unwrap();
    lead.sent_at = Some(visitor.now);
    lead.score = 43.125;
    lead.evidence[0].props.insert("kind".into(), "trial \"quoted\"".into());
    let ours: serde_json::Value = serde_json::from_str(&lead.to_json()).unwrap();
    let theirs: serde_json::Value = serde_json::to_value(&lead).unwrap();
    fn numbers_as_f64(value: &serde_json::Value) -> serde_json::Value {
        match value {
            serde_json::Value::Number(number) if !number.is_u64() || number.as_u64() < Some(1 << 53) => {
                serde_json::json!(number.as_f64())
            }
            serde_json::Value::Array(items) => serde_json::Value::Array(items.iter().map(numbers_as_f64).collect()),
            serde_json::Value::Object(map) => {
                serde_json::Value::Object(map.iter().map(|(key, value)| (key.clone(), numbers_as_f64(value))).collect())
            }
            other => other.clone(),
        }
    }
    assert_eq!(numbers_as_f64(&ours), numbers_as_f64(&theirs));
    assert_eq!(Lead::from_json(&lead.to_json()).unwrap(), lead, "and the collector reads it back");
    // Field order as serde writes it (declaration order), read off the text.
    let order = |text: &str| -> Vec<usize> {
        ["\"v\":", "\"lead_id\":", "\"stage\":", "\"identity\":", "\"evidence\":", "\"touch\":", "\"sent_at\":"]
            .iter()
            .map(|key| text.find(key).unwrap())
            .collect()
    };
    let ours = order(&lead.to_json());
    assert!(ours.windows(2).all(|pair| pair[0] < pair[1]), "{ours:?}");
    assert!(order(&serde_json::to_string(&lead).unwrap()).windows(2).all(|pair| pair[0] < pair[1]));
}

#[test]
fn json_round_trips() {
    let visitor = mql_visitor();
    let lead = Lead::from_engine(&visitor.engine, visitor.now, "https://acme.example/").unwrap();
    assert_eq!(Lead::from_json(&lead.to_json()).unwrap(), lead);
}

#[test]
fn bad_bodies_are_refused_naming_the_field() {
    let visitor = mql_visitor();
    let good = Lead::from_engine(&visitor.engine, visitor.now, "/").unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&good.to_json()).unwrap();
    type Mutation = Box<dyn Fn(&mut serde_json::Value)>;
    let cases: Vec<(Mutation, &str)> = vec![
        (Box::new(|v| drop(v.as_object_mut().unwrap().remove("site"))), "site"),
        (Box::new(|v| v["lead_id"] = "0".repeat(32).into()), "lead_id"),
        (Box::new(|v| v["v"] = 2.into()), "v"),
        (Box::new(|v| v["stage"] = "warm".into()), "stage"),
        (Box::new(|v| v["stage"] = "hot".into()), "lead"),
        (Box::new(|v| v["score"] = "high".into()), "lead"),
        (Box::new(|v| v["surprise"] = 1.into()), "surprise"),
    ];
    for (mutate, field) in cases {
        let original = value.clone();
        mutate(&mut value);
        let error = Lead::from_json(&value.to_string()).unwrap_err();
        assert_eq!(error.field, field, "{error}");
        value = original;
    }
    assert_eq!(Lead::from_json("{").unwrap_err().field, "lead");
    let huge = format!(r#"{{"pad":"{}"}}"#, "x".repeat(MAX_LEAD_BYTES));
    assert!(Lead::from_json(&huge).unwrap_err().message.contains("the limit is 65536"));
}

#[test]
fn evidence_replays_to_the_claimed_score() {
    let visitor = mql_visitor();
    let lead = Lead::from_engine(&visitor.engine, visitor.now, "/").unwrap();
    assert_eq!(lead.summarised, 0);
    let replayed = lead.replay(Arc::new(visitor.engine.config().clone()));
    assert!((replayed.score(lead.created_at) - lead.score).abs() < 1e-9);
    assert_eq!(replayed.stage(lead.created_at), lead.stage);
    assert_eq!(replayed.grade(), lead.grade);
    let mut forged = lead.clone();
    forged.evidence.retain(|event| event.name != "newsletter_signup");
    let replayed = forged.replay(Arc::new(visitor.engine.config().clone()));
    assert!(replayed.score(lead.created_at) < lead.score - 10.0, "a claim without its evidence does not hold");
}

#[test]
fn page_urls_keep_only_attribution() {
    let cases = [
        ("https://a.example/p?utm_medium=cpc&token=1&gclid=g#x", "https://a.example/p?utm_medium=cpc&gclid=g"),
        ("https://a.example/p?session=abc", "https://a.example/p"),
        ("https://a.example/p#frag", "https://a.example/p"),
        ("/local/path", "/local/path"),
    ];
    for (url, expected) in cases {
        assert_eq!(strip_page(url), expected);
    }
    let long = format!("https://a.example/{}", "x".repeat(100_000));
    assert_eq!(strip_page(&long).chars().count(), leadscore::core::lead::MAX_PAGE_CHARS, "bounded in the outbox too");
}

/// Every field a real lead has is in docs/lead.schema.json and vice versa,
/// so the documented payload cannot drift from the type.
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn the_schema_lists_exactly_the_payload_fields() {
    use std::collections::BTreeSet;
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/lead.schema.json")).unwrap(),
    )
    .unwrap();
    let mut visitor = mql_visitor();
    let event = visitor_event_with_everything(&mut visitor);
    visitor.send(event);
    let lead: serde_json::Value =
        serde_json::from_str(&Lead::from_engine(&visitor.engine, visitor.now, "/").unwrap().to_json()).unwrap();
    let keys = |value: &serde_json::Value| value.as_object().unwrap().keys().cloned().collect::<BTreeSet<_>>();
    let required = |value: &serde_json::Value| {
        value["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|key| key.as_str().unwrap().to_string())
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(keys(&lead), keys(&schema["properties"]));
    assert_eq!(keys(&lead), required(&schema));
    let event_schema = &schema["properties"]["evidence"]["items"];
    for event in lead["evidence"].as_array().unwrap() {
        assert_eq!(keys(event), keys(&event_schema["properties"]));
    }
    let entry_schema = &schema["properties"]["ledger"]["items"];
    assert_eq!(keys(&lead["ledger"][0]), keys(&entry_schema["properties"]));
    let touch_schema = &schema["$defs"]["touch"]["oneOf"][1];
    assert_eq!(keys(&lead["touch"]["first"]), keys(&touch_schema["properties"]));
    for field in keys(&lead["identity"]) {
        assert!(schema["properties"]["identity"]["properties"].get(&field).is_some(), "{field}");
    }
}

fn visitor_event_with_everything(visitor: &mut Visitor) -> leadscore::core::Event {
    use leadscore::core::signals::Touch;
    visitor.engine.record_touch(Touch::from_query("?gclid=1&utm_campaign=c", visitor.now).unwrap());
    visitor.event("page_view").with_url("/pricing")
}

#[test]
fn a_body_over_the_limit_leaves_out_the_oldest_evidence_and_counts_it() {
    let mut visitor = mql_visitor();
    for index in 0..40 {
        let path = format!("/pricing/{}", "p".repeat(300 + index));
        visitor.page(&path);
    }
    let lead = Lead::from_engine(&visitor.engine, visitor.now, "/").unwrap();
    let full = lead.to_json();
    let limit = full.len() / 2;
    let trimmed: serde_json::Value = serde_json::from_str(&lead.clone().to_json_within(limit)).unwrap();
    assert!(trimmed.to_string().len() <= limit);
    let kept = trimmed["evidence"].as_array().unwrap();
    assert!(kept.len() < lead.evidence.len());
    assert_eq!(
        trimmed["summarised"].as_u64().unwrap() as usize,
        lead.summarised as usize + lead.evidence.len() - kept.len(),
        "what was left out is counted"
    );
    assert_eq!(kept.last(), serde_json::to_value(lead.evidence.last().unwrap()).ok().as_ref(), "the newest stays");
    assert_eq!(lead.clone().to_json_within(full.len()), full, "a body within the limit is untouched");
}
