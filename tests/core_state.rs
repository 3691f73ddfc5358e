//! The visitor state: bounded bytes for any amount of history, a faithful
//! round trip, corrupt bytes refused with a reason, and tab merges that keep
//! the score exact.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

mod common;

use std::sync::Arc;

use common::{assert_close, Visitor, T0};
use leadscore::core::state::{MAX_EVIDENCE, TARGET_STATE_BYTES};
use leadscore::core::time::DAY_MS;
use leadscore::core::{Config, Engine, Event, EventId, Handled, Preset, State, Timestamp};

/// A heavy b2b visitor: a year of near-daily visits doing everything.
fn heavy_visitor() -> Visitor {
    let mut visitor = Visitor::preset(Preset::B2bSaas);
    visitor.identify(&[
        ("email", "morgan.longname@enterprise-customer.example"),
        ("name", "Morgan Example-Longname"),
        ("company", "Enterprise Customer International Holdings"),
        ("job_title", "Vice President, Revenue Operations"),
        ("company_size", "1001-5000"),
        ("industry", "Financial services"),
        ("country", "United Kingdom"),
        ("phone", "+44 20 7946 0000"),
        ("budget", "50k-100k"),
        ("timeline", "this quarter"),
    ]);
    for day in 0..365u64 {
        visitor.page("/pricing/enterprise-plan");
        visitor.page("/product/analytics-dashboard");
        visitor.engaged("/product/analytics-dashboard", 400, day * 10);
        visitor.scrolled("/blog/some-long-article-title", 90, day * 10 + 1);
        visitor.track_props("download", &[("kind", "whitepaper")]);
        visitor.track("demo_use");
        visitor.track("form_submit");
        if day % 30 == 0 {
            visitor.page("/careers/open-positions");
            visitor.track("contact_request");
        }
        visitor.wait_days(1.0);
    }
    visitor
}

#[test]
fn a_heavy_visitor_fits_in_four_kilobytes() {
    let mut visitor = heavy_visitor();
    let bytes = visitor.engine.encode_state();
    assert!(bytes.len() <= TARGET_STATE_BYTES, "{} bytes", bytes.len());
    assert_eq!(State::decode(&bytes).as_ref(), Ok(visitor.engine.state()));
    assert!(visitor.engine.state().evidence().len() <= MAX_EVIDENCE);
}

#[test]
fn summarising_old_evidence_keeps_the_score() {
    // The live engine folded a year of events into summaries as it went; an
    // engine restored from the stored state must score and explain the same.
    let mut visitor = heavy_visitor();
    visitor.engine.encode_state();
    let state = visitor.engine.state().clone();
    let replayed = Engine::new(Arc::new(visitor.engine.config().clone()), state);
    assert_close(replayed.score(visitor.now), visitor.score());
    assert_eq!(replayed.ledger(visitor.now), visitor.engine.ledger(visitor.now));
}

#[test]
fn compaction_matches_an_uncompacted_replay() {
    // 200 cart adds under a cap-free, decay-free rule are 200 × 2 points,
    // however many of them were folded into the summary.
    let config = Arc::new(
        Config::parse(r#"{"site":"t","half_life_days":"never","rules":[{"id":"cart","on":"cart_add","points":2}]}"#)
            .unwrap(),
    );
    let mut engine = Engine::new(config, State::new("v", Timestamp(T0)));
    for index in 0..200u64 {
        engine.handle_event(Event::new(EventId(index), Timestamp(T0 + index * 60_000), "cart_add").unwrap());
    }
    assert!(engine.state().evidence().len() <= MAX_EVIDENCE);
    assert_close(engine.score(Timestamp(T0 + DAY_MS)), 400.0);
    assert_eq!(engine.ledger(Timestamp(T0)).first().map(|entry| entry.count), Some(200));
    let old = Event::new(EventId(5), Timestamp(T0 + 5 * 60_000), "cart_add").unwrap();
    assert_eq!(engine.handle_event(old), Handled::TooOld, "a summarised event cannot count twice");
}

#[test]
fn encode_decode_round_trips() {
    let visitor = heavy_visitor();
    let state = visitor.engine.state();
    let decoded = State::decode(&state.encode()).unwrap();
    assert_eq!(&decoded, state);
    let fresh = State::new("v-1", Timestamp(T0));
    assert_eq!(State::decode(&fresh.encode()).unwrap(), fresh);
}

#[test]
fn bad_bytes_give_a_fresh_state_and_a_reason() {
    let good = heavy_visitor().engine.state().encode();
    let mut future = good.clone();
    future[2] = 9;
    let mut trailing = good.clone();
    trailing.push(0);
    let mut flipped = good.clone();
    flipped[3] ^= 0xff;
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (Vec::new(), "not a leadscore state"),
        (b"{\"foreign\":\"value\"}".to_vec(), "not a leadscore state"),
        (b"LS".to_vec(), "truncated before the version"),
        (future, "written by a newer version (v9, this is v2)"),
        (good[..good.len() / 2].to_vec(), "corrupt body"),
        (trailing, "1 unexpected bytes after the state"),
        (flipped, ""),
    ];
    for (bytes, reason) in cases {
        let (state, error) = State::decode_or_fresh(&bytes, "fresh-id", Timestamp(T0));
        let error = error.unwrap_or_else(|| panic!("{bytes:?} decoded"));
        assert!(error.to_string().starts_with("stored state ignored: "), "{error}");
        assert!(error.to_string().contains(reason), "{error}");
        assert_eq!(state, State::new("fresh-id", Timestamp(T0)));
    }
}

#[test]
fn two_tabs_merge_without_losing_or_doubling() {
    let config = Arc::new(Config::preset(Preset::Ecommerce, "t").unwrap());
    let shared = State::new("v", Timestamp(T0));
    let mut tab_a = Engine::new(config.clone(), shared.clone());
    let mut tab_b = Engine::new(config.clone(), shared);
    let event =
        |id: u64, minutes: u64, name: &str| Event::new(EventId(id), Timestamp(T0 + minutes * 60_000), name).unwrap();
    tab_a.handle_event(event(1, 1, "wishlist_add"));
    tab_b.handle_event(event(2, 2, "cart_add"));
    tab_a.handle_event(event(3, 3, "wishlist_add"));
    // Tab B saw tab A's first event through storage, then both write.
    tab_b.merge(&tab_a.state().clone());
    tab_b.handle_event(event(4, 4, "cart_add"));
    tab_a.merge(tab_b.state());
    tab_b.merge(tab_a.state());
    let now = Timestamp(T0 + 10 * 60_000);
    assert_eq!(tab_a.state(), tab_b.state());
    assert_close(tab_a.score(now), tab_b.score(now));
    let mut reference = Engine::new(config, State::new("v", Timestamp(T0)));
    for (id, minutes, name) in [(1, 1, "wishlist_add"), (2, 2, "cart_add"), (3, 3, "wishlist_add"), (4, 4, "cart_add")]
    {
        reference.handle_event(event(id, minutes, name));
    }
    assert_close(tab_a.score(now), reference.score(now));
    assert_eq!(tab_a.ledger(now), reference.ledger(now));
    assert!(
        (tab_a.score(now) - (8.0 * 2.0 + 12.0 * 2.0)).abs() < 0.05,
        "four events, each counted once: {}",
        tab_a.score(now)
    );
}

#[test]
fn a_forgotten_visitor_does_not_mix_with_the_new_one() {
    let config = Arc::new(Config::preset(Preset::Ecommerce, "t").unwrap());
    let mut old = Engine::new(config.clone(), State::new("old", Timestamp(T0)));
    old.handle_event(Event::new(EventId(1), Timestamp(T0 + 1), "cart_add").unwrap());
    let new = State::new("new", Timestamp(T0 + 1000));
    let mut merged = old.state().clone();
    merged.merge(&new);
    assert_eq!(merged, new);
    let mut other_way = new.clone();
    other_way.merge(old.state());
    assert_eq!(other_way, new);
}

#[test]
fn a_page_scored_in_memory_is_absorbed_into_the_stored_visitor() {
    let config = Arc::new(Config::preset(Preset::Ecommerce, "t").unwrap());
    let mut stored = Engine::new(config.clone(), State::new("stored", Timestamp(T0)));
    stored.handle_event(Event::new(EventId(1), Timestamp(T0 + 1_000), "cart_add").unwrap());
    stored.identify(Timestamp(T0 + 1_000), [("company", "Old Co")]).unwrap();
    let mut page = Engine::new(config.clone(), State::new("in-memory", Timestamp(T0 + 60_000)));
    page.handle_event(Event::new(EventId(2), Timestamp(T0 + 61_000), "wishlist_add").unwrap());
    page.identify(Timestamp(T0 + 61_000), [("email", "ann@acme.example"), ("company", "New Co")]).unwrap();
    page.begin_activity(Timestamp(T0 + 62_000));

    stored.absorb(page.state());
    let now = Timestamp(T0 + 70_000);
    assert_eq!(stored.state().visitor_id(), "stored", "the stored visitor is kept");
    let rules: Vec<String> = stored.ledger(now).into_iter().map(|entry| entry.rule_id).collect();
    assert_eq!(rules, ["wishlist", "cart"], "both histories count");
    assert_eq!(stored.state().identity().get(leadscore::core::Field::Company), Some("New Co"), "the newer answer wins");
    assert_eq!(stored.state().identity().get(leadscore::core::Field::Email), Some("ann@acme.example"));
    assert_eq!(stored.state().last_activity(), Some(Timestamp(T0 + 62_000)));
    let before = stored.score(now);
    stored.absorb(page.state());
    assert_eq!(stored.score(now), before, "absorbing twice counts nothing twice");
}

/// A record stored by the release before the state's maps became sorted
/// lists (a B2B preset visitor with identity answers, property-carrying
/// evidence and folded summaries), format version 1: read, scored, and
/// written back as version 2 byte for byte the same but for the version and
/// the erasure secret at the end (empty until the session gives one).
#[test]
fn a_record_written_by_the_previous_release_reads_back_the_same() {
    let hex = include_str!("fixtures/state-v1-b2b.hex").trim();
    let bytes: Vec<u8> =
        (0..hex.len()).step_by(2).map(|at| u8::from_str_radix(&hex[at..at + 2], 16).unwrap()).collect();
    let state = State::decode(&bytes).expect("the stored record is read");
    assert_eq!(bytes[2], 1, "a version 1 record");
    assert_eq!(state.erasure_secret(), "", "from before erasure secrets");
    let mut upgraded = bytes.clone();
    upgraded[2] = 2;
    upgraded.push(0); // an empty string: the secret, not given yet
    assert_eq!(state.encode(), upgraded, "and written back unchanged but for the version and the secret");
    let mut given = state.clone();
    assert!(given.ensure_erasure_secret(|| "0123456789abcdef0123456789abcdef".into()));
    assert!(!given.ensure_erasure_secret(|| "another".into()), "a secret is given once");
    assert_eq!(State::decode(&given.encode()).unwrap(), given, "and the secret is kept");
    assert_eq!(state.identity().get(leadscore::core::Field::Email), Some("morgan@enterprise.example"));
    let config = Arc::new(Config::preset(Preset::B2bSaas, "test-site").unwrap());
    let engine = Engine::new(config, state);
    // The score the previous release computed for this record, when it was written.
    let now = Timestamp(T0 + 3_456_160_000);
    assert_close(engine.score(now), 103.29640462707096);
}
