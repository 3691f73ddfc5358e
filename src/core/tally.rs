//! How one rule turns matching events into points: counts, windows,
//! cooldowns, caps and decay, folded one event at a time.

use crate::prelude::*;
use serde::{Deserialize, Serialize};

use super::config::{Decay, Rule};
use super::event::{Event, EventId};
use super::text::fold;
use super::time::Timestamp;

/// Page views remembered per measurement rule.
const RECENT_PAGE_VIEWS: usize = 8;
/// Smaller top-ups are not awards: a capped rule whose points faded by a
/// sliver since the last award is still full, and must not restart its cooldown.
const MIN_AWARD: f64 = 0.01;

/// What one rule has seen and awarded so far. The engine keeps one per rule,
/// rebuilt from the state's summary and evidence; summaries are stored.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Tally {
    /// Events that matched the rule.
    pub matches: u32,
    /// Matches that awarded points (or would have, for a zero-point rule).
    pub awards: u32,
    /// Time of the first and the latest match.
    pub first: Timestamp,
    pub last: Timestamp,
    /// Times of the latest `min_count - 1` matches, for count windows.
    pub recent: Vec<Timestamp>,
    /// Time of the latest award, for cooldowns.
    pub last_award: Option<Timestamp>,
    /// Points held, as of `value_at`; decay is applied when read.
    pub value: f64,
    pub value_at: Timestamp,
    /// Recent page views whose measurement already counted (a few, since
    /// two tabs' reports can interleave).
    pub page_views: Vec<EventId>,
}

impl Rule {
    /// Whether `event` is one this rule counts: its name, path, properties
    /// and measured value all fit.
    pub(crate) fn matches(&self, event: &Event) -> bool {
        if event.name != self.on {
            return false;
        }
        if let Some(glob) = &self.url {
            if !event.url.as_deref().is_some_and(|path| glob.matches(path)) {
                return false;
            }
        }
        let props_fit = self.props.iter().all(|(key, accepted)| {
            event.props.get(key).is_some_and(|value| {
                let value = value.trim();
                // Config values are lowercase already; ASCII values (nearly all)
                // compare without allocating.
                accepted.iter().any(|expected| expected.eq_ignore_ascii_case(value))
                    || (!value.is_ascii() && accepted.contains(&fold(value)))
            })
        });
        props_fit && self.min_value.is_none_or(|min| event.value.is_some_and(|value| value >= min))
    }

    /// Points held by `tally` at `now`, after decay.
    pub(crate) fn value_at(&self, tally: &Tally, now: Timestamp) -> f64 {
        decayed(tally.value, now.millis_since(tally.value_at), self.decay)
    }

    /// Folds one event into the tally; the points it awarded, `None` if the
    /// rule does not match. Events must come in `(at, id)` order.
    pub(crate) fn apply(&self, tally: &mut Tally, event: &Event) -> Option<f64> {
        if !self.matches(event) {
            return None;
        }
        if self.min_value.is_some() && event.page_view.is_some_and(|id| tally.page_views.contains(&id)) {
            // The shell reports a page's growing engaged time or depth more
            // than once; each page view counts once per rule. The event still
            // matched, so it is kept as evidence like in any other tab.
            return Some(0.0);
        }
        let now = event.at;
        if let (Some(page_view), Some(_)) = (event.page_view, self.min_value) {
            tally.page_views.push(page_view);
            if tally.page_views.len() > RECENT_PAGE_VIEWS {
                tally.page_views.remove(0);
            }
        }
        if tally.matches == 0 {
            tally.first = now;
        }
        tally.matches = tally.matches.saturating_add(1);
        tally.last = tally.last.max(now);

        let count_met = if self.min_count <= 1 {
            true
        } else {
            let in_window = match self.window_ms {
                Some(window) => tally.recent.iter().filter(|at| now.millis_since(**at) < window).count() as u32,
                None => tally.matches.saturating_sub(1),
            };
            tally.recent.push(now);
            let keep = self.min_count as usize - 1;
            if tally.recent.len() > keep {
                tally.recent.drain(..tally.recent.len() - keep);
            }
            in_window + 1 >= self.min_count
        };
        let cooled_down = match (self.cooldown_ms, tally.last_award) {
            (Some(cooldown), Some(last)) => now.millis_since(last) >= cooldown,
            _ => true,
        };
        if !count_met || !cooled_down || (self.once && tally.awards > 0) {
            return Some(0.0);
        }

        let held = self.value_at(tally, now);
        let award = match self.cap {
            // Caps bound the points held now, so a decayed rule can earn again.
            Some(cap) if self.points > 0 => (self.points as f64).min(cap as f64 - held).max(0.0),
            Some(cap) if self.points < 0 => (self.points as f64).max(-(cap as f64) - held).min(0.0),
            _ => self.points as f64,
        };
        if award.abs() < MIN_AWARD && self.points != 0 {
            return Some(0.0);
        }
        tally.value = held + award;
        tally.value_at = now.max(tally.value_at);
        tally.awards = tally.awards.saturating_add(1);
        tally.last_award = Some(now);
        Some(award)
    }
}

/// `value` after `elapsed_ms` of exponential decay.
pub(crate) fn decayed(value: f64, elapsed_ms: u64, decay: Decay) -> f64 {
    match decay {
        // Most rules hold nothing most of the time: no 2^x for them.
        Decay::HalfLife(half_life) if elapsed_ms > 0 && value != 0.0 => {
            value * half_lives(-(elapsed_ms as f64) / half_life as f64)
        }
        _ => value,
    }
}

/// 2^x. With std (natively, in the collector and the tests) the
/// platform's `exp2`, the fastest there is; the shipped widget has no std
/// and uses [`exp2`] below, which a test holds within a few units in the
/// last place of std's. The two differed before as well (glibc natively,
/// musl's port in the wasm): the collector compares scores within
/// `SCORE_TOLERANCE`, far above such differences.
#[cfg(not(all(target_arch = "wasm32", feature = "shipped")))]
fn half_lives(x: f64) -> f64 {
    x.exp2()
}

#[cfg(all(target_arch = "wasm32", feature = "shipped"))]
fn half_lives(x: f64) -> f64 {
    exp2(x)
}

/// 2^x without libm's 4 KB of tables, nearly as fast: x = n + j/64 + r
/// with |r| ≤ 1/128, so 2^x = 2^n · 2^(j/64) · e^(r·ln 2): a 64-entry table
/// (512 bytes, computed when the crate is compiled), the Taylor series to
/// the t⁶ term (the next is below 1e-18 relative) in Estrin's order, and
/// 2^n through the exponent bits (in two steps where the result is
/// subnormal). Within a few units in the last place of std's `exp2` (a test
/// checks), and whole powers are exact.
#[cfg_attr(not(all(target_arch = "wasm32", feature = "shipped")), allow(dead_code))]
fn exp2(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x < -1100.0 {
        return 0.0;
    }
    if x > 1024.0 {
        return f64::INFINITY;
    }
    // Adding 1.5·2^52 rounds x·64 to the nearest integer, which lands in
    // the low bits; subtracting it again gives that integer as a float.
    const SHIFT: f64 = 6_755_399_441_055_744.0;
    let shifted = x * 64.0 + SHIFT;
    let k = shifted.to_bits() as u32 as i32;
    // Exact: k/64 is, and x is within 1/128 of it.
    let t = (x - (shifted - SHIFT) / 64.0) * core::f64::consts::LN_2;
    let t2 = t * t;
    let low = (1.0 + t) + t2 * (TAYLOR[2] + t * TAYLOR[3]);
    let high = (TAYLOR[4] + t * TAYLOR[5]) + t2 * TAYLOR[6];
    let sum = low + (t2 * t2) * high;
    let (n, j) = (k >> 6, (k & 63) as usize);
    let scaled = EXP2_64THS[j] * sum;
    if n >= -1022 {
        scaled * power_of_two(n)
    } else {
        let (a, b) = (n / 2, n - n / 2);
        scaled * power_of_two(a) * power_of_two(b)
    }
}

/// 1/k! for k = 0 to 6.
const TAYLOR: [f64; 7] = {
    let mut terms = [1.0; 7];
    let mut k = 1;
    while k < 7 {
        terms[k] = terms[k - 1] / k as f64;
        k += 1;
    }
    terms
};

/// 2^(j/64) for j in 0..64, each from the series of e^(j/64 · ln 2) to the
/// 30th term.
const EXP2_64THS: [f64; 64] = {
    let mut table = [0.0; 64];
    let mut j = 0;
    while j < 64 {
        let t = j as f64 / 64.0 * core::f64::consts::LN_2;
        let (mut sum, mut k) = (0.0, 30);
        while k > 0 {
            sum = 1.0 + sum * t / k as f64;
            k -= 1;
        }
        table[j] = sum;
        j += 1;
    }
    table
};

/// 2^k for k in -1022..=1023.
fn power_of_two(k: i32) -> f64 {
    f64::from_bits(((1023 + k) as u64) << 52)
}

#[cfg(test)]
mod exp2_tests {
    use super::exp2;

    #[test]
    fn exp2_is_within_a_few_ulps_of_std() {
        let mut worst = 0.0f64;
        for i in 0..200_000 {
            let x = -1074.0 + f64::from(i) * (1100.0 / 200_000.0);
            let (ours, std) = (exp2(x), x.exp2());
            if std > f64::MIN_POSITIVE {
                worst = worst.max(((ours - std) / std).abs());
            } else {
                assert!((ours - std).abs() <= f64::from_bits(4), "{x}: {ours:e} vs {std:e}");
            }
        }
        assert!(worst < 4.0 * f64::EPSILON, "relative error {worst:e}");
        for (x, expected) in [(0.0, 1.0), (-1.0, 0.5), (-10.0, 1.0 / 1024.0), (3.0, 8.0), (-1100.5, 0.0)] {
            assert_eq!(exp2(x), expected, "2^{x}");
        }
        assert!(exp2(f64::NAN).is_nan());
        assert_eq!(exp2(2000.0), f64::INFINITY);
    }
}
