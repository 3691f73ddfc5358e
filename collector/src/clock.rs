//! The collector's clock.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use leadscore::core::Timestamp;

/// The collector's clock: the system time plus an offset tests can move, so
/// retention and retries are tested without waiting.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset: Arc<AtomicI64>,
}

impl Clock {
    /// The time now (a system clock set before 1970 reads as the epoch).
    pub fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.system().saturating_add(self.offset.load(Ordering::Relaxed)).max(0) as u64)
    }

    /// Milliseconds since the epoch by the system clock alone.
    fn system(&self) -> i64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_millis() as i64)
    }

    /// A clock that reads `at` now and runs on from there, for tests whose
    /// leads were made at a fixed time.
    pub fn starting_at(at: Timestamp) -> Clock {
        let clock = Clock::default();
        clock.offset.store(at.as_millis() as i64 - clock.system(), Ordering::Relaxed);
        clock
    }

    /// Moves this clock (and its clones) forward.
    pub fn advance(&self, by: Duration) {
        self.offset.fetch_add(by.as_millis() as i64, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_moves_when_told() {
        let clock = Clock::default();
        let before = clock.now();
        clock.clone().advance(Duration::from_secs(86_400));
        assert!(clock.now().millis_since(before) >= 86_400_000);
    }

    #[test]
    fn a_clock_can_start_at_a_given_time() {
        let start = Timestamp::from_millis(1_767_225_600_000);
        let clock = Clock::starting_at(start);
        let now = clock.now();
        assert!(now >= start && now.millis_since(start) < 60_000, "{now:?}");
    }
}
