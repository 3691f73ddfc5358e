//! Token-bucket rate limits, per client address and per site: a burst of a
//! minute's allowance, refilled continuously. When a bucket is empty the
//! answer is 429 with `Retry-After` saying when the next token arrives.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

use leadscore::core::Timestamp;

/// Buckets beyond this many are pruned of full (idle) ones.
const PRUNE_AT: usize = 10_000;

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Timestamp,
}

/// One limit over many keys.
#[derive(Debug)]
pub struct RateLimiter<K> {
    per_minute: f64,
    buckets: Mutex<HashMap<K, Bucket>>,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    /// Allows `per_minute` requests per key per minute, in bursts of as many.
    pub fn new(per_minute: u32) -> RateLimiter<K> {
        RateLimiter { per_minute: per_minute.max(1) as f64, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes a token for `key` at `now`: `Ok` when allowed, else `Err` with
    /// the seconds until a token is available (at least 1).
    pub fn check(&self, key: &K, now: Timestamp) -> Result<(), u64> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let rate = self.per_minute / 60_000.0;
        if buckets.len() >= PRUNE_AT {
            let per_minute = self.per_minute;
            buckets.retain(|_, bucket| bucket.tokens + now.millis_since(bucket.at) as f64 * rate < per_minute);
        }
        let bucket = buckets.entry(key.clone()).or_insert(Bucket { tokens: self.per_minute, at: now });
        bucket.tokens = (bucket.tokens + now.millis_since(bucket.at) as f64 * rate).min(self.per_minute);
        bucket.at = now.max(bucket.at);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait_ms = (1.0 - bucket.tokens) / rate;
            Err(((wait_ms / 1000.0).ceil() as u64).max(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_refused_until_refilled() {
        let limiter = RateLimiter::new(60);
        for _ in 0..60 {
            assert_eq!(limiter.check(&"ip", Timestamp(0)), Ok(()));
        }
        assert_eq!(limiter.check(&"ip", Timestamp(0)), Err(1), "one token a second at 60/min");
        assert_eq!(limiter.check(&"other", Timestamp(0)), Ok(()), "keys are independent");
        assert_eq!(limiter.check(&"ip", Timestamp(1_000)), Ok(()));
        assert_eq!(limiter.check(&"ip", Timestamp(1_000)), Err(1));
    }

    #[test]
    fn retry_after_says_when_a_token_arrives() {
        let limiter = RateLimiter::new(2);
        assert!(limiter.check(&1, Timestamp(0)).is_ok());
        assert!(limiter.check(&1, Timestamp(0)).is_ok());
        assert_eq!(limiter.check(&1, Timestamp(0)), Err(30));
        assert_eq!(limiter.check(&1, Timestamp(20_000)), Err(10));
        assert!(limiter.check(&1, Timestamp(30_000)).is_ok());
    }
}
