//! The retry policy for leads: which answers are retried, backoff with
//! jitter and a cap, Retry-After in both forms, and the bound that ends it.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use leadscore::core::delivery::{parse_retry_after, Outcome, RetryPolicy};
use leadscore::core::time::DAY_MS;
use leadscore::core::Timestamp;

#[test]
fn answers_are_classified() {
    let cases = [
        (None, Outcome::Retry),
        (Some(200), Outcome::Delivered),
        (Some(201), Outcome::Delivered),
        (Some(204), Outcome::Delivered),
        (Some(408), Outcome::Retry),
        (Some(429), Outcome::Retry),
        (Some(500), Outcome::Retry),
        (Some(503), Outcome::Retry),
        (Some(400), Outcome::Rejected),
        (Some(401), Outcome::Rejected),
        (Some(404), Outcome::Rejected),
        (Some(413), Outcome::Rejected),
        (Some(302), Outcome::Rejected),
    ];
    for (status, expected) in cases {
        assert_eq!(Outcome::of(status), expected, "{status:?}");
    }
}

#[test]
fn backoff_doubles_to_the_cap_with_equal_jitter() {
    let policy = RetryPolicy { base_ms: 1_000, cap_ms: 30_000, max_attempts: 10, max_age_ms: DAY_MS };
    let lowest: Vec<u64> = (1..=7).map(|attempt| policy.backoff_ms(attempt, 0.0)).collect();
    assert_eq!(lowest, [500, 1_000, 2_000, 4_000, 8_000, 15_000, 15_000]);
    let highest: Vec<u64> = (1..=7).map(|attempt| policy.backoff_ms(attempt, 0.999_999)).collect();
    assert_eq!(highest, [999, 1_999, 3_999, 7_999, 15_999, 29_999, 29_999]);
    assert_eq!(policy.backoff_ms(1_000, f64::NAN), 15_000, "a bad jitter value is treated as none");
}

#[test]
fn retry_after_is_honoured_as_a_minimum() {
    let policy = RetryPolicy::default();
    let now = Timestamp(1_000_000);
    let next = policy.next_attempt(now, now, 1, 0.0, Some(30_000)).unwrap();
    assert_eq!(next.millis_since(now), 30_000);
    let next = policy.next_attempt(now, now, 1, 0.0, Some(10)).unwrap();
    assert_eq!(next.millis_since(now), policy.backoff_ms(1, 0.0));
}

#[test]
fn retrying_ends_at_the_bounds() {
    let policy = RetryPolicy { base_ms: 1_000, cap_ms: 60_000, max_attempts: 5, max_age_ms: DAY_MS };
    let created = Timestamp(0);
    assert!(policy.next_attempt(created, created, 4, 0.5, None).is_some());
    assert_eq!(policy.next_attempt(created, created, 5, 0.5, None), None, "attempts");
    let late = Timestamp(DAY_MS - 10_000);
    assert_eq!(policy.next_attempt(created, late, 1, 0.0, Some(60_000)), None, "age");
}

#[test]
fn retry_after_reads_seconds_and_http_dates() {
    // 1994-11-06T08:49:37Z
    let at = Timestamp(784_111_777_000);
    let cases: &[(&str, Option<u64>)] = &[
        ("30", Some(30_000)),
        (" 0 ", Some(0)),
        ("Sun, 06 Nov 1994 08:50:07 GMT", Some(30_000)),
        ("Sunday, 06-Nov-94 08:50:07 GMT", Some(30_000)),
        ("Sun Nov  6 08:50:07 1994", Some(30_000)),
        ("Sun, 06 Nov 1994 08:00:00 GMT", Some(0)),
        ("soon", None),
        ("-5", None),
        ("Sun, 06 Nov 1994 25:00:00 GMT", None),
        ("", None),
    ];
    for (value, expected) in cases {
        assert_eq!(parse_retry_after(value, at), *expected, "{value:?}");
    }
    assert_eq!(parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT", Timestamp(0)), Some(0));
    assert_eq!(parse_retry_after("Sat, 29 Feb 2020 12:00:00 GMT", Timestamp(1_582_977_600_000 - 1_000)), Some(1_000));
}
