//! The collector's clock.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::store::Millis;

/// The collector's clock: the system time plus an offset tests can move, so
/// retention and retries are tested without waiting.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset: Arc<AtomicI64>,
}

impl Clock {
    /// Milliseconds since the Unix epoch.
    pub fn now(&self) -> Millis {
        let system = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_millis() as Millis);
        system + self.offset.load(Ordering::Relaxed)
    }

    /// A clock that reads `at` now and runs on from there, for tests whose
    /// leads were made at a fixed time.
    pub fn starting_at(at: Millis) -> Clock {
        let clock = Clock::default();
        clock.offset.store(at - clock.now(), Ordering::Relaxed);
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
        assert!(clock.now() - before >= 86_400_000);
    }

    #[test]
    fn a_clock_can_start_at_a_given_time() {
        let clock = Clock::starting_at(1_767_225_600_000);
        assert!((clock.now() - 1_767_225_600_000).abs() < 60_000);
    }
}
