//! The outbox: a lead per visitor and stage queued once, outcomes recorded
//! per the retry policy, bounds that drop and count, and tab merges that
//! never bring a finished lead back.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

mod common;

use common::Visitor;
use leadscore::core::delivery::RetryPolicy;
use leadscore::core::outbox::{Finish, Outbox, Recorded, MAX_PENDING};
use leadscore::core::{Lead, Stage, State, Timestamp};

const QUALIFY: &str = r#"{"site":"t","half_life_days":"never","mql_requires_identity":false,
    "thresholds":{"warm":5,"mql":10,"sales_ready":50},
    "rules":[{"id":"x","on":"x","points":5},{"id":"quote","on":"quote_request","points":0}]}"#;

fn qualified() -> Visitor {
    let mut visitor = Visitor::with_json(QUALIFY);
    visitor.track("x");
    visitor.track("x");
    assert_eq!(visitor.stage(), Stage::Mql);
    visitor
}

fn policy() -> RetryPolicy {
    RetryPolicy { base_ms: 1_000, cap_ms: 60_000, max_attempts: 4, max_age_ms: 86_400_000 }
}

#[test]
fn a_lead_is_queued_once_per_stage() {
    let mut visitor = Visitor::with_json(QUALIFY);
    visitor.track("x");
    assert_eq!(visitor.engine.enqueue_lead(visitor.now, "/"), None, "warm is not a lead");
    let mut visitor = qualified();
    let id = visitor.engine.enqueue_lead(visitor.now, "https://a.example/p?token=1&utm_source=x").unwrap();
    assert_eq!(visitor.engine.enqueue_lead(visitor.now, "/"), None, "the same stage again");
    let pending = &visitor.engine.state().outbox().pending()[0];
    assert_eq!(
        (pending.lead_id.as_str(), pending.stage, pending.page.as_str()),
        (id.as_str(), Stage::Mql, "https://a.example/p?utm_source=x")
    );
    visitor.track("quote_request");
    let ready = visitor.engine.enqueue_lead(visitor.now, "/").unwrap();
    let outbox = visitor.engine.state().outbox();
    assert_eq!(outbox.pending().len(), 1, "the sales_ready lead supersedes the waiting mql one");
    assert_eq!(outbox.pending()[0].lead_id, ready);
    assert_eq!(outbox.finish_of(&id), Some(Finish::Superseded));
}

#[test]
fn answers_are_recorded_per_the_policy() {
    let mut visitor = qualified();
    let id = visitor.engine.enqueue_lead(visitor.now, "/").unwrap();
    let now = visitor.now;
    let outbox = visitor.engine.outbox_mut();
    assert_eq!(outbox.record(&id, now, Some(503), None, 0.0, &policy()), Recorded::RetryAt(now.plus_millis(500)));
    assert_eq!(outbox.due(now).count(), 0, "not before the backoff");
    let later = now.plus_millis(500);
    assert_eq!(outbox.due(later).count(), 1);
    assert_eq!(
        outbox.record(&id, later, Some(429), Some(30_000), 0.0, &policy()),
        Recorded::RetryAt(later.plus_millis(30_000))
    );
    assert_eq!(outbox.record(&id, later, None, None, 0.0, &policy()), Recorded::RetryAt(later.plus_millis(2_000)));
    assert_eq!(outbox.record(&id, later, Some(201), None, 0.0, &policy()), Recorded::Delivered);
    assert_eq!(outbox.record(&id, later, Some(201), None, 0.0, &policy()), Recorded::Unknown);
    assert!(outbox.pending().is_empty());
    assert_eq!(visitor.engine.enqueue_lead(visitor.now, "/"), None, "a delivered lead is never queued again");
}

#[test]
fn refused_and_expired_leads_end_and_are_counted() {
    let mut outbox = Outbox::default();
    let now = Timestamp(1_000);
    outbox.enqueue("a".into(), Stage::Mql, now, "/".into());
    assert_eq!(outbox.record("a", now, Some(400), None, 0.5, &policy()), Recorded::Rejected);
    assert_eq!((outbox.rejected(), outbox.finish_of("a")), (1, Some(Finish::Rejected)));
    outbox.enqueue("b".into(), Stage::Mql, now, "/".into());
    let mut results = Vec::new();
    for _ in 0..4 {
        results.push(outbox.record("b", now, Some(500), None, 0.5, &policy()));
    }
    assert!(matches!(results[2], Recorded::RetryAt(_)));
    assert_eq!(results[3], Recorded::Expired, "max_attempts ends retrying");
    assert_eq!(outbox.expired(), 1);
    assert!(!outbox.enqueue("b".into(), Stage::Mql, now, "/".into()), "an expired lead is not queued again");
}

#[test]
fn a_full_outbox_drops_the_oldest_and_counts() {
    let mut outbox = Outbox::default();
    for index in 0..MAX_PENDING as u64 + 3 {
        outbox.enqueue(format!("lead-{index:02}"), Stage::Mql, Timestamp(index), "/".into());
    }
    assert_eq!(outbox.pending().len(), MAX_PENDING);
    assert_eq!(outbox.dropped(), 3);
    for index in 0..3 {
        assert_eq!(outbox.finish_of(&format!("lead-{index:02}")), Some(Finish::Dropped));
    }
}

#[test]
fn tabs_merge_outboxes_without_reviving_finished_leads() {
    let mut tab_a = qualified();
    let id = tab_a.engine.enqueue_lead(tab_a.now, "/").unwrap();
    let mut tab_b_state = tab_a.engine.state().clone();
    // Tab A delivers; tab B still has the lead pending with one failed attempt.
    let now = tab_a.now;
    tab_a.engine.outbox_mut().record(&id, now, Some(200), None, 0.0, &policy());
    let mut tab_b = Visitor::with_json(QUALIFY);
    tab_b.engine = leadscore::core::Engine::new(tab_a.engine.config().clone().into(), tab_b_state.clone());
    tab_b.engine.outbox_mut().record(&id, now, Some(503), None, 0.0, &policy());
    tab_b_state = tab_b.engine.state().clone();

    let mut ab = tab_a.engine.state().clone();
    ab.merge(&tab_b_state);
    let mut ba = tab_b_state.clone();
    ba.merge(tab_a.engine.state());
    assert_eq!(ab, ba);
    assert!(ab.outbox().pending().is_empty(), "delivered in one tab means delivered");
    assert_eq!(ab.outbox().finish_of(&id), Some(Finish::Delivered));
    let mut twice = ab.clone();
    twice.merge(&ab);
    assert_eq!(twice, ab);
    assert_eq!(State::decode(&ab.encode()).unwrap(), ab);
}

#[test]
fn the_body_for_a_pending_lead() {
    let mut visitor = qualified();
    let created = visitor.now;
    visitor.engine.enqueue_lead(created, "https://a.example/pricing?utm_campaign=c&email=x").unwrap();
    visitor.wait_minutes(5);
    visitor.track("x");
    let pending = visitor.engine.state().outbox().pending()[0].clone();
    let lead = Lead::for_pending(&visitor.engine, &pending, visitor.now);
    assert_eq!((&lead.lead_id, lead.stage, lead.created_at), (&pending.lead_id, Stage::Mql, created));
    assert_eq!(lead.sent_at, Some(visitor.now));
    assert_eq!(lead.scored_at(), visitor.now);
    assert_eq!(lead.score, 15.0, "the freshest score at sending time");
    assert_eq!(lead.page, "https://a.example/pricing?utm_campaign=c");
}

#[test]
fn coming_back_online_makes_waiting_leads_due_but_keeps_retry_after() {
    let now = Timestamp(1_000);
    let mut outbox = Outbox::default();
    outbox.enqueue("net".into(), Stage::Mql, now, "/".into());
    outbox.enqueue("other".into(), Stage::Mql, now, "/".into());
    let slow = RetryPolicy { base_ms: 600_000, cap_ms: 600_000, max_attempts: 9, max_age_ms: 86_400_000 };
    outbox.record("net", now, None, None, 0.0, &slow);
    outbox.record("other", now, Some(429), Some(30_000), 0.0, &slow);
    assert_eq!(outbox.due(now.plus_millis(1_000)).count(), 0);
    let later = now.plus_millis(1_000);
    outbox.expedite(later);
    let due: Vec<&str> = outbox.due(later).map(|entry| entry.lead_id.as_str()).collect();
    assert_eq!(due, ["net"], "a network failure waits no more; a Retry-After still holds");
    assert_eq!(outbox.due(now.plus_millis(30_000)).count(), 2);
}

#[test]
fn an_early_wake_survives_merging_with_the_stored_copy() {
    let now = Timestamp(1_000);
    let slow = RetryPolicy { base_ms: 600_000, cap_ms: 600_000, max_attempts: 9, max_age_ms: 86_400_000 };
    let mut stored = Outbox::default();
    stored.enqueue("net".into(), Stage::Mql, now, "/".into());
    stored.record("net", now, None, None, 0.0, &slow);
    let mut woken = stored.clone();
    woken.expedite(now.plus_millis(10));
    woken.merge(&stored);
    assert_eq!(woken.due(now.plus_millis(10)).count(), 1, "reading storage back must not undo the wake");
    let mut other_way = stored.clone();
    other_way.merge(&woken);
    assert_eq!(other_way, woken);
}
