//! The current page view and the engagement clock: engaged time counts only
//! while the page is visible and focused, and at most 30 s past the last
//! input. Thresholds crossed (engaged seconds, scroll depth) become events.

use crate::core::{EventId, Timestamp};
use crate::prelude::*;

/// Input silence after which engaged time stops counting.
pub(crate) const IDLE_AFTER_MS: u64 = 30_000;

/// One page view and how engaged the visitor is on it.
#[derive(Clone, Debug)]
pub(crate) struct Page {
    pub id: EventId,
    pub path: String,
    engaged_ms: u64,
    last_input: Timestamp,
    counting_since: Option<Timestamp>,
    pub reported_seconds: u32,
    pub max_scroll: u32,
    pub reported_scroll: u32,
}

impl Page {
    pub fn new(id: EventId, path: String, at: Timestamp, counting: bool) -> Page {
        Page {
            id,
            path,
            engaged_ms: 0,
            last_input: at,
            counting_since: counting.then_some(at),
            reported_seconds: 0,
            max_scroll: 0,
            reported_scroll: 0,
        }
    }

    /// Credits engaged time up to `at`, then counts on from `at` if `counting`.
    pub fn credit(&mut self, at: Timestamp, counting: bool) {
        if let Some(since) = self.counting_since {
            let until = at.min(self.last_input.plus_millis(IDLE_AFTER_MS)).max(since);
            self.engaged_ms += until.millis_since(since);
        }
        self.counting_since = counting.then_some(at);
    }

    /// Visitor input at `at`.
    pub fn input(&mut self, at: Timestamp, counting: bool) {
        self.credit(at, counting);
        self.last_input = at;
    }

    /// The page was shown, hidden, focused or blurred at `at`.
    pub fn visibility(&mut self, at: Timestamp, counting: bool) {
        self.credit(at, counting);
        if counting {
            self.last_input = at;
        }
    }

    pub fn engaged_seconds(&self) -> u32 {
        (self.engaged_ms / 1000).min(u64::from(u32::MAX)) as u32
    }

    /// The engaged seconds to report, if a threshold was crossed since the
    /// last report, or (`final_report`, on leaving) whatever was gained past
    /// the lowest threshold.
    pub fn engagement_due(&self, thresholds: &[u32], final_report: bool) -> Option<u32> {
        let seconds = self.engaged_seconds();
        let crossed = thresholds.iter().any(|&threshold| seconds >= threshold && self.reported_seconds < threshold);
        let worth_final =
            final_report && seconds > self.reported_seconds && thresholds.first().is_some_and(|&min| seconds >= min);
        (crossed || worth_final).then_some(seconds)
    }

    /// Takes a scroll reading; the depth to report if it crossed a threshold.
    pub fn scrolled(&mut self, percent: u32, thresholds: &[u32]) -> Option<u32> {
        self.max_scroll = self.max_scroll.max(percent.min(100));
        let depth = self.max_scroll;
        thresholds.iter().any(|&threshold| depth >= threshold && self.reported_scroll < threshold).then(|| {
            self.reported_scroll = depth;
            depth
        })
    }
}

/// The path rules match for a page URL: the pathname, or for hash-routed
/// apps (`#/pricing`, `#!/pricing`) the route in the hash, without its query.
pub fn page_path(url: &str) -> String {
    let (before_hash, hash) = url.split_once('#').unwrap_or((url, ""));
    let route = hash.strip_prefix('!').unwrap_or(hash);
    if route.starts_with('/') {
        return route.split('?').next().unwrap_or(route).to_string();
    }
    let before_query = before_hash.split('?').next().unwrap_or(before_hash);
    // Past `scheme://host` (a relative URL has neither).
    let after_authority = match crate::core::text::find_from(before_query, "://", 0) {
        Some(index) => {
            let rest = before_query.get(index + 3..).unwrap_or_default();
            rest.find('/').and_then(|slash| rest.get(slash..)).unwrap_or_default()
        }
        None => before_query,
    };
    if after_authority.is_empty() {
        "/".to_string()
    } else {
        after_authority.to_string()
    }
}

/// The query of a page URL, with its `?` (`""` when it has none).
pub fn page_query(url: &str) -> &str {
    let before_hash = url.split('#').next().unwrap_or(url);
    before_hash.find('?').and_then(|index| before_hash.get(index..)).unwrap_or_default()
}
