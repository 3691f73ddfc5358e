//! Every bound of the lead payload (docs/lead.md, "Bounds"), at its limit and
//! one past it, through the collector's reader: the limit is accepted, one
//! past it is refused with the field's JSON path.

mod common;

use common::mql_lead;
use leadscore::core::lead::{lead_id, MAX_LEAD_EVIDENCE, MAX_LEDGER, MAX_SCORE};
use leadscore::core::time::MAX_MILLIS;
use leadscore::core::Stage;
use leadscore_collector::ingest::parse_lead;
use serde_json::{json, Value};

/// A valid lead with a ledger entry, an event with a property and a first
/// touch, as JSON.
fn base() -> Value {
    let mut lead: Value = serde_json::from_str(&mql_lead("bounds@acme.example").to_json()).unwrap();
    lead["evidence"][0]["props"] = json!({ "kind": "trial" });
    lead["touch"]["first"] = json!({
        "at": 1, "source": "google", "medium": null, "campaign": null,
        "term": null, "content": null, "click_id": "gclid"
    });
    assert!(!lead["ledger"].as_array().unwrap().is_empty());
    lead
}

/// The lead with `edit` applied and its id recomputed from site, visitor and stage.
fn with(edit: &dyn Fn(&mut Value)) -> String {
    let mut lead = base();
    edit(&mut lead);
    if let (Some(site), Some(visitor)) = (lead["site"].as_str(), lead["visitor_id"].as_str()) {
        lead["lead_id"] = Value::from(lead_id(site, visitor, Stage::Mql));
    }
    lead.to_string()
}

fn n_times(value: &Value, count: usize, vary: impl Fn(&mut Value, usize)) -> Value {
    Value::Array(
        (0..count)
            .map(|index| {
                let mut item = value.clone();
                vary(&mut item, index);
                item
            })
            .collect(),
    )
}

type Edit = Box<dyn Fn(&mut Value)>;

fn set(path: &'static [&'static str], value: Value) -> Edit {
    Box::new(move |lead: &mut Value| {
        let mut at = lead;
        for key in path {
            at = match key.parse::<usize>() {
                Ok(index) => &mut at[index],
                Err(_) => &mut at[*key],
            };
        }
        *at = value.clone();
    })
}

fn text(chars: usize) -> Value {
    Value::from("é".repeat(chars))
}

#[test]
fn every_bound_holds_at_its_limit_and_refuses_one_past_it() {
    let fields = [
        "email",
        "name",
        "first_name",
        "last_name",
        "company",
        "job_title",
        "company_size",
        "industry",
        "country",
        "phone",
        "budget",
        "timeline",
    ];
    let identity = |extra: Option<&str>| {
        let mut map = serde_json::Map::new();
        for field in fields {
            map.insert(field.into(), Value::from("x"));
        }
        if let Some(extra) = extra {
            map.insert(extra.into(), Value::from("x"));
        }
        Value::Object(map)
    };
    let ledger = |count: usize| -> Edit {
        Box::new(move |lead: &mut Value| {
            let entry = lead["ledger"][0].clone();
            lead["ledger"] = n_times(&entry, count, |item, index| item["rule_id"] = Value::from(format!("r{index}")));
        })
    };
    let evidence = |count: usize| -> Edit {
        Box::new(move |lead: &mut Value| {
            let event = lead["evidence"][0].clone();
            lead["evidence"] = n_times(&event, count, |item, index| item["id"] = Value::from(1000 + index));
        })
    };
    let props = |count: usize| -> Value {
        Value::Object((0..count).map(|index| (format!("k{index}"), Value::from("v"))).collect())
    };
    let ids = |chars: usize| Value::from("a".repeat(chars));
    // (bound, the edit at the limit, the edit one past it, the field named)
    let cases: Vec<(&str, Edit, Edit, &str)> = vec![
        ("site length", set(&["site"], ids(64)), set(&["site"], ids(65)), "site"),
        ("site characters", set(&["site"], Value::from("acme")), set(&["site"], Value::from("Acme")), "site"),
        ("visitor_id length", set(&["visitor_id"], text(64)), set(&["visitor_id"], text(65)), "visitor_id"),
        ("visitor_id empty", set(&["visitor_id"], text(1)), set(&["visitor_id"], text(0)), "visitor_id"),
        ("score", set(&["score"], Value::from(MAX_SCORE)), set(&["score"], Value::from(MAX_SCORE * 1.01)), "score"),
        (
            "negative score",
            set(&["score"], Value::from(-MAX_SCORE)),
            set(&["score"], Value::from(-MAX_SCORE * 1.01)),
            "score",
        ),
        (
            "identity fields",
            set(&["identity"], identity(None)),
            set(&["identity"], identity(Some("shoe_size"))),
            "identity",
        ),
        (
            "identity keys",
            set(&["identity", "company"], text(1)),
            set(&["identity", "shoe_size"], text(1)),
            "identity.shoe_size",
        ),
        (
            "identity value",
            set(&["identity", "company"], text(128)),
            set(&["identity", "company"], text(129)),
            "identity.company",
        ),
        ("ledger length", ledger(MAX_LEDGER), ledger(MAX_LEDGER + 1), "ledger"),
        (
            "rule id",
            set(&["ledger", "0", "rule_id"], ids(64)),
            set(&["ledger", "0", "rule_id"], ids(65)),
            "ledger[0].rule_id",
        ),
        (
            "ledger points",
            set(&["ledger", "0", "points"], Value::from(MAX_SCORE)),
            set(&["ledger", "0", "points"], Value::from(MAX_SCORE * 2.0)),
            "ledger[0].points",
        ),
        (
            "ledger first",
            set(&["ledger", "0", "first"], Value::from(MAX_MILLIS)),
            set(&["ledger", "0", "first"], Value::from(MAX_MILLIS + 1)),
            "ledger[0].first",
        ),
        (
            "ledger last",
            set(&["ledger", "0", "last"], Value::from(MAX_MILLIS)),
            set(&["ledger", "0", "last"], Value::from(u64::MAX)),
            "ledger[0].last",
        ),
        ("evidence length", evidence(MAX_LEAD_EVIDENCE), evidence(MAX_LEAD_EVIDENCE + 1), "evidence"),
        (
            "event time",
            set(&["evidence", "0", "at"], Value::from(MAX_MILLIS)),
            set(&["evidence", "0", "at"], Value::from(MAX_MILLIS + 1)),
            "evidence[0].at",
        ),
        (
            "event name",
            set(&["evidence", "0", "name"], ids(64)),
            set(&["evidence", "0", "name"], ids(65)),
            "evidence[0].name",
        ),
        (
            "event name characters",
            set(&["evidence", "0", "name"], Value::from("a.b:c-d_E")),
            set(&["evidence", "0", "name"], Value::from("a b")),
            "evidence[0].name",
        ),
        (
            "event url",
            set(&["evidence", "0", "url"], text(512)),
            set(&["evidence", "0", "url"], text(513)),
            "evidence[0].url",
        ),
        (
            "event props",
            set(&["evidence", "0", "props"], props(16)),
            set(&["evidence", "0", "props"], props(17)),
            "evidence[0].props",
        ),
        (
            "prop key",
            set(&["evidence", "0", "props"], json!({ "k".repeat(64): "v" })),
            set(&["evidence", "0", "props"], json!({ "k".repeat(65): "v" })),
            "evidence[0].props",
        ),
        (
            "prop value",
            set(&["evidence", "0", "props", "kind"], text(256)),
            set(&["evidence", "0", "props", "kind"], text(257)),
            "evidence[0].props.kind",
        ),
        (
            "touch time",
            set(&["touch", "first", "at"], Value::from(MAX_MILLIS)),
            set(&["touch", "first", "at"], Value::from(MAX_MILLIS + 1)),
            "touch.first.at",
        ),
        (
            "touch source",
            set(&["touch", "first", "source"], text(100)),
            set(&["touch", "first", "source"], text(101)),
            "touch.first.source",
        ),
        (
            "touch medium",
            set(&["touch", "first", "medium"], text(100)),
            set(&["touch", "first", "medium"], text(101)),
            "touch.first.medium",
        ),
        (
            "touch campaign",
            set(&["touch", "first", "campaign"], text(100)),
            set(&["touch", "first", "campaign"], text(101)),
            "touch.first.campaign",
        ),
        (
            "touch term",
            set(&["touch", "first", "term"], text(100)),
            set(&["touch", "first", "term"], text(101)),
            "touch.first.term",
        ),
        (
            "touch content",
            set(&["touch", "first", "content"], text(100)),
            set(&["touch", "first", "content"], text(101)),
            "touch.first.content",
        ),
        (
            "click id",
            set(&["touch", "first", "click_id"], Value::from("msclkid")),
            set(&["touch", "first", "click_id"], Value::from("x".repeat(5000))),
            "touch.first.click_id",
        ),
        (
            "config hash",
            set(&["config_hash"], Value::from("0123456789abcdef")),
            set(&["config_hash"], Value::from("0123456789abcdef0")),
            "config_hash",
        ),
        (
            "config hash digits",
            set(&["config_hash"], Value::from("ffffffffffffffff")),
            set(&["config_hash"], Value::from("FFFFFFFFFFFFFFFF")),
            "config_hash",
        ),
        ("page", set(&["page"], text(1024)), set(&["page"], text(1025)), "page"),
        (
            "created_at",
            set(&["created_at"], Value::from(MAX_MILLIS)),
            set(&["created_at"], Value::from(u64::MAX)),
            "created_at",
        ),
        (
            "sent_at",
            set(&["sent_at"], Value::from(MAX_MILLIS)),
            set(&["sent_at"], Value::from(MAX_MILLIS + 1)),
            "sent_at",
        ),
    ];
    for (bound, at_limit, past_it, field) in cases {
        if let Err(refusal) = parse_lead(&with(&*at_limit)) {
            panic!("{bound}: the limit itself is refused: {refusal:?}");
        }
        match parse_lead(&with(&*past_it)) {
            Ok(_) => panic!("{bound}: one past the limit is accepted"),
            Err(refusal) => {
                assert_eq!(refusal.status, 400, "{bound}");
                assert_eq!(refusal.field.as_deref(), Some(field), "{bound}: {}", refusal.message);
                assert!(!refusal.message.is_empty(), "{bound}");
            }
        }
    }
}

#[test]
fn repeated_keys_are_refused_never_last_one_wins() {
    let good = with(&|_| {});
    assert!(parse_lead(&good).is_ok());
    let repeated_field = good.replacen("\"site\":\"acme\"", "\"site\":\"acme\",\"site\":\"acme\"", 1);
    let refusal = parse_lead(&repeated_field).unwrap_err();
    assert_eq!((refusal.status.as_u16(), refusal.field.as_deref().unwrap_or("")), (400, "site"), "{}", refusal.message);
    let email = "\"email\":\"bounds@acme.example\"";
    assert!(good.contains(email));
    let repeated_identity = good.replacen(email, &format!("{email},\"email\":\"someone@else.example\""), 1);
    let refusal = parse_lead(&repeated_identity).unwrap_err();
    assert_eq!(refusal.status.as_u16(), 400);
    assert!(refusal.field.as_deref().unwrap_or("").starts_with("identity"), "{refusal:?}");
    assert!(refusal.message.contains("twice"), "{refusal:?}");
    let repeated_prop = good.replacen("\"kind\":\"trial\"", "\"kind\":\"trial\",\"kind\":\"demo\"", 1);
    let refusal = parse_lead(&repeated_prop).unwrap_err();
    assert!(refusal.field.as_deref().unwrap_or("").starts_with("evidence[0].props"), "{refusal:?}");
}

#[test]
fn records_sent_as_positional_arrays_are_refused() {
    let lead = base();
    let positional = |value: &Value| Value::Array(value.as_object().unwrap().values().cloned().collect());
    let root = positional(&lead).to_string();
    let refusal = parse_lead(&root).unwrap_err();
    assert_eq!((refusal.status.as_u16(), refusal.field.as_deref().unwrap_or("")), (400, "lead"), "{}", refusal.message);
    for (path, field) in [
        (&["evidence", "0"][..], "evidence[0]"),
        (&["ledger", "0"], "ledger[0]"),
        (&["touch", "first"], "touch.first"),
        (&["touch"], "touch"),
    ] {
        let body = with(&|lead: &mut Value| {
            let mut at = &mut *lead;
            for key in path {
                at = match key.parse::<usize>() {
                    Ok(index) => &mut at[index],
                    Err(_) => &mut at[*key],
                };
            }
            *at = positional(at);
        });
        let refusal = parse_lead(&body).unwrap_err();
        assert_eq!(
            (refusal.status.as_u16(), refusal.field.as_deref().unwrap_or("")),
            (400, field),
            "{}",
            refusal.message
        );
    }
}
