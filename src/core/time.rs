//! Time as a value: the engine never reads a clock, callers pass `now` in.

use super::float::round;
use serde::{Deserialize, Serialize};

/// Milliseconds in one day, the unit rule windows and half-lives are written in.
pub const DAY_MS: u64 = 86_400_000;

/// The last millisecond of the year 9999: no timestamp a lead carries may
/// be later. It fits an `i64` (SQLite's integer) and a JavaScript number.
pub const MAX_MILLIS: u64 = 253_402_300_799_999;

/// A point in time, in milliseconds since the Unix epoch.
///
/// Only the shells (browser, collector) create timestamps from a clock; the
/// engine compares and subtracts them, which keeps every rule testable
/// without sleeping.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// The timestamp `ms` milliseconds after the epoch.
    pub const fn from_millis(ms: u64) -> Self {
        Timestamp(ms)
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// Milliseconds elapsed from `earlier` to `self`, zero if `earlier` is later.
    ///
    /// Clamping keeps clock skew between tabs from ever making a score grow.
    pub const fn millis_since(self, earlier: Timestamp) -> u64 {
        self.0.saturating_sub(earlier.0)
    }

    /// This timestamp moved forward by `ms`, saturating at the far future.
    pub const fn plus_millis(self, ms: u64) -> Timestamp {
        Timestamp(self.0.saturating_add(ms))
    }

    /// This timestamp moved back by `ms`, saturating at the epoch.
    pub const fn minus_millis(self, ms: u64) -> Timestamp {
        Timestamp(self.0.saturating_sub(ms))
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date, for dates from 1970
/// on (Howard Hinnant's `days_from_civil`). The one civil-date conversion
/// both ways: HTTP dates in `Retry-After`, and times the collector prints.
pub fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year / 400;
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date `(year, month, day)` of a day count since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`); the inverse of [`days_from_civil`].
pub fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    (year_of_era + era * 400 + u64::from(month <= 2), month, day)
}

impl Timestamp {
    /// `2026-01-02T03:04:05Z`: the UTC time to the second.
    pub fn iso8601(self) -> alloc::string::String {
        let secs = self.0 / 1000;
        let (year, month, day) = civil_from_days(secs / 86_400);
        let rest = secs % 86_400;
        alloc::format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rest / 3600, rest % 3600 / 60, rest % 60)
    }
}

/// Converts a day count from the config (fractions allowed) to milliseconds.
pub(crate) fn days_to_millis(days: f64) -> u64 {
    // The config parser bounds `days` to (0, 3650], so the product fits in u64.
    round(days * DAY_MS as f64) as u64
}
