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
}

/// Converts a day count from the config (fractions allowed) to milliseconds.
pub(crate) fn days_to_millis(days: f64) -> u64 {
    // The config parser bounds `days` to (0, 3650], so the product fits in u64.
    round(days * DAY_MS as f64) as u64
}
