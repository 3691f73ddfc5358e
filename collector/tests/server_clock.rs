//! Verification on the collector's clock, not the browser's: a lead's
//! `sent_at` is trusted only within the allowed skew of its arrival, times
//! that contradict each other make it forged, and every time is bounded.

mod common;

use std::time::Duration;

use common::*;
use leadscore::core::{Lead, Timestamp};
use leadscore_collector::verify::MAX_CLOCK_SKEW_MS;
use serde_json::Value;

async fn verdict(collector: &Collector, lead: &Lead) -> Value {
    let response = collector.post(&lead.to_json()).await;
    assert_eq!(response.status(), 201, "{lead:?}");
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_year_old_evidence_set_is_read_as_it_stands_today() {
    let collector = Collector::start("").await;
    let honest = verdict(&collector, &mql_lead("fresh@acme.example")).await;
    assert_eq!(honest["verdict"], "verified", "{honest}");
    let claimed = honest["verified_score"].as_f64().unwrap();
    assert!(claimed > 40.0, "{honest}");

    // A year later, the same evidence replayed with a `sent_at` just after it.
    collector.clock.advance(Duration::from_secs(365 * 86_400));
    let replayed = verdict(&collector, &mql_lead("stale@acme.example")).await;
    assert_eq!(replayed["verdict"], "clock_skew", "{replayed}");
    assert!(replayed["verified_score"].as_f64().unwrap() < 1.0, "decayed a year: {replayed}");
    // With `sent_at` now, the claim of 60-odd points is plainly false.
    let mut now = mql_lead("now@acme.example");
    now.sent_at = Some(collector.clock.now());
    let forged = verdict(&collector, &now).await;
    assert_eq!(forged["verdict"], "forged", "{forged}");
    let (forged_score, replayed_score) =
        (forged["verified_score"].as_f64().unwrap(), replayed["verified_score"].as_f64().unwrap());
    assert!((forged_score - replayed_score).abs() < 0.01, "both read at the received time: {forged} {replayed}");
}

#[tokio::test]
async fn sent_at_is_trusted_only_within_the_skew() {
    let collector = Collector::start("").await;
    let skew = Duration::from_millis(MAX_CLOCK_SKEW_MS);
    let mut missing = mql_lead("missing@acme.example");
    missing.sent_at = None;
    assert_eq!(verdict(&collector, &missing).await["verdict"], "clock_skew");
    // Sent a little less than the skew before it arrived: trusted.
    collector.clock.advance(skew - Duration::from_secs(60));
    assert_eq!(verdict(&collector, &mql_lead("late@acme.example")).await["verdict"], "verified");
    // A little more than the skew: not trusted.
    collector.clock.advance(Duration::from_secs(120));
    assert_eq!(verdict(&collector, &mql_lead("later@acme.example")).await["verdict"], "clock_skew");
}

#[tokio::test]
async fn times_that_contradict_each_other_are_forged() {
    let collector = Collector::start("").await;
    let now = collector.clock.now().as_millis();
    let mut after_sending = mql_lead("after@acme.example");
    after_sending.evidence.last_mut().unwrap().at = Timestamp(after_sending.sent_at.unwrap().0 + 1);
    assert_eq!(verdict(&collector, &after_sending).await["verdict"], "forged");

    let century = 100 * 365 * 86_400_000;
    let mut future = mql_lead("future@acme.example");
    for event in &mut future.evidence {
        event.at = Timestamp(event.at.0 + century);
    }
    future.created_at = Timestamp(future.created_at.0 + century);
    future.sent_at = Some(future.created_at);
    assert_eq!(verdict(&collector, &future).await["verdict"], "forged", "a century ahead");

    let mut created_later = mql_lead("created@acme.example");
    created_later.created_at = Timestamp(now + MAX_CLOCK_SKEW_MS * 2);
    assert_eq!(verdict(&collector, &created_later).await["verdict"], "forged");
}

#[tokio::test]
async fn times_past_the_year_9999_are_refused_never_stored_negative() {
    let collector = Collector::start("").await;
    let mut lead = mql_lead("overflow@acme.example");
    lead.created_at = Timestamp(u64::MAX);
    let response = collector.post(&lead.to_json()).await;
    assert_eq!(response.status(), 400);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["field"], "created_at", "{answer}");
    assert!(collector.leads().await.is_empty());
}
