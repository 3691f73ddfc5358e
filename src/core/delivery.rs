//! When to send a lead again: which answers are retried, exponential backoff
//! with jitter, `Retry-After` (seconds or an HTTP date), and the bound that
//! ends retrying. Pure policy: the shell owns the clock, the randomness and
//! the network, and asks here what to do next.

use super::time::Timestamp;
use crate::prelude::*;

/// How retrying is paced and bounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay before the first retry, in milliseconds.
    pub base_ms: u64,
    /// Longest delay between attempts, in milliseconds.
    pub cap_ms: u64,
    /// Attempts after which a lead is given up (counted as expired).
    pub max_attempts: u32,
    /// Age after which a lead is given up, in milliseconds.
    pub max_age_ms: u64,
}

impl Default for RetryPolicy {
    /// 2 s doubling to at most 10 minutes, for up to 20 attempts or 7 days.
    fn default() -> RetryPolicy {
        RetryPolicy { base_ms: 2_000, cap_ms: 600_000, max_attempts: 20, max_age_ms: 7 * super::time::DAY_MS }
    }
}

/// What an attempt's answer means for the lead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx: delivered; never send it again.
    Delivered,
    /// A network error, 408, 429 or 5xx: try again later.
    Retry,
    /// Any other answer: the endpoint refuses this lead; report once, do not retry.
    Rejected,
}

impl Outcome {
    /// The outcome of an HTTP status, or of no answer at all (`None`: a
    /// network error, the browser offline, a blocked request).
    pub fn of(status: Option<u16>) -> Outcome {
        match status {
            None | Some(408) | Some(429) | Some(500..=599) => Outcome::Retry,
            Some(200..=299) => Outcome::Delivered,
            Some(_) => Outcome::Rejected,
        }
    }
}

impl RetryPolicy {
    /// The backoff before retry number `attempt` (1 for the first retry):
    /// `base · 2^(attempt-1)`, capped, then "equal jitter": half fixed, half
    /// random, so tabs and visitors that failed together spread out.
    /// `jitter` is a random number in `[0, 1)` from the shell.
    pub fn backoff_ms(&self, attempt: u32, jitter: f64) -> u64 {
        let exponent = attempt.saturating_sub(1).min(40);
        let delay = self.base_ms.saturating_mul(1u64 << exponent).min(self.cap_ms);
        let jitter = if jitter.is_finite() { jitter.clamp(0.0, 1.0) } else { 0.0 };
        delay / 2 + ((delay / 2) as f64 * jitter) as u64
    }

    /// When to try again after failed attempt number `attempts` of a lead
    /// created at `created`, or `None` when the bound on attempts or age is
    /// reached. A `Retry-After` delay, when the server gave one, is honoured
    /// as a minimum.
    pub fn next_attempt(
        &self,
        created: Timestamp,
        now: Timestamp,
        attempts: u32,
        jitter: f64,
        retry_after_ms: Option<u64>,
    ) -> Option<Timestamp> {
        if attempts >= self.max_attempts {
            return None;
        }
        let delay = self.backoff_ms(attempts, jitter).max(retry_after_ms.unwrap_or(0));
        let at = now.plus_millis(delay);
        (at.millis_since(created) <= self.max_age_ms).then_some(at)
    }
}

/// Reads a `Retry-After` header as a delay from `now`: delta-seconds
/// (`120`) or an HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`, and the
/// obsolete RFC 850 and asctime forms). A date in the past means no wait.
pub fn parse_retry_after(value: &str, now: Timestamp) -> Option<u64> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_digit()) {
        return super::text::decimal(value).map(|seconds| seconds.saturating_mul(1000));
    }
    http_date_millis(value).map(|at| at.saturating_sub(now.as_millis()))
}

/// Milliseconds since the epoch of an HTTP date in any of its three forms.
fn http_date_millis(value: &str) -> Option<u64> {
    const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    let words: Vec<&str> = value.split([' ', ',', '-']).filter(|word| !word.is_empty()).collect();
    // IMF-fixdate: Sun 06 Nov 1994 08:49:37 GMT; RFC 850: Sunday 06 Nov 94 08:49:37 GMT;
    // asctime: Sun Nov 6 08:49:37 1994.
    let (day, month, year, time) = match words.as_slice() {
        [_, day, month, year, time, "GMT"] => (*day, *month, *year, *time),
        [_, month, day, time, year] => (*day, *month, *year, *time),
        _ => return None,
    };
    let month = MONTHS.iter().position(|name| month.eq_ignore_ascii_case(name))? as u64 + 1;
    let day = super::text::decimal(day).filter(|day| (1..=31).contains(day))?;
    let mut year = super::text::decimal(year)?;
    if year < 100 {
        // RFC 850's two-digit years: the RFC 9110 rule reads them as within 50 years.
        year += if year < 70 { 2000 } else { 1900 };
    }
    let mut clock = time.split(':').map(super::text::decimal);
    let (hours, minutes, seconds) = (clock.next()??, clock.next()??, clock.next()??);
    if clock.next().is_some() || hours > 23 || minutes > 59 || seconds > 60 || year < 1970 {
        return None;
    }
    let days = super::time::days_from_civil(year, month, day);
    Some(((days * 24 + hours) * 60 + minutes) * 60_000 + seconds * 1000)
}
