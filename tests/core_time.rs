//! The core's one civil-date conversion, both ways.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use leadscore::core::time::{civil_from_days, days_from_civil};
use leadscore::core::Timestamp;

#[test]
fn dates_and_day_counts_round_trip() {
    for days in 0..150_000 {
        let (year, month, day) = civil_from_days(days);
        assert!((1..=12).contains(&month) && (1..=31).contains(&day), "{days}: {year}-{month}-{day}");
        assert_eq!(days_from_civil(year, month, day), days);
    }
    assert_eq!(civil_from_days(0), (1970, 1, 1));
    assert_eq!(days_from_civil(2000, 2, 29), 11_016);
    assert_eq!(civil_from_days(days_from_civil(2026, 12, 31) + 1), (2027, 1, 1));
}

#[test]
fn timestamps_print_as_utc_seconds() {
    assert_eq!(Timestamp(0).iso8601(), "1970-01-01T00:00:00Z");
    assert_eq!(Timestamp(1_767_225_600_000).iso8601(), "2026-01-01T00:00:00Z");
    assert_eq!(Timestamp(951_782_400_000 + 3_723_999).iso8601(), "2000-02-29T01:02:03Z");
    assert_eq!(Timestamp(leadscore::core::time::MAX_MILLIS).iso8601(), "9999-12-31T23:59:59Z");
}

#[test]
fn timestamps_move_without_wrapping() {
    let at = Timestamp(5_000);
    assert_eq!(at.plus_millis(1_000), Timestamp(6_000));
    assert_eq!(at.minus_millis(1_000), Timestamp(4_000));
    assert_eq!(at.minus_millis(9_000), Timestamp(0), "clamped at the epoch");
    assert_eq!(Timestamp(u64::MAX).plus_millis(1), Timestamp(u64::MAX));
    assert_eq!(at.millis_since(Timestamp(7_000)), 0);
}
