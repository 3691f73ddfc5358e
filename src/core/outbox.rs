//! Leads waiting to be delivered, kept in the visitor's state so they
//! survive reloads and are merged between tabs like everything else.
//!
//! An entry is keyed by its `lead_id`; once an attempt is answered 2xx (or
//! the lead is rejected, expires or is dropped) its id moves to `finished`
//! and is never queued again. Merging is a join: pending entries are united
//! by id keeping the one with more attempts, finished ids are united and win
//! over pending ones, counters take the maximum.
//!
//! The lead id that keys an entry ([`lead_id`]) and the stripped page it
//! keeps ([`strip_page`]) are made here as well: the engine calls them to
//! queue a lead and the lead payload re-exports them, so the outbox sits
//! below both and imports neither.

use crate::prelude::*;
use serde::{Deserialize, Serialize};

use super::delivery::{Outcome, RetryPolicy};
use super::signals::strip_query;
use super::stage::Stage;
use super::time::Timestamp;

/// Most leads waiting at once; beyond it the oldest is dropped and counted.
pub const MAX_PENDING: usize = 8;
/// Most finished lead ids remembered (a visitor has at most one per stage).
pub const MAX_FINISHED: usize = 32;

/// The lead id for `visitor_id` reaching `stage` on `site`: 32 hex digits,
/// the same on every attempt and in every tab.
pub fn lead_id(site: &str, visitor_id: &str, stage: Stage) -> String {
    // Two FNV-1a passes with different offsets give 128 bits: plenty to keep
    // ids of one site's visitors apart; this is a key, not a secret.
    let text = cat!(site, "\u{1f}", visitor_id, "\u{1f}", stage.as_str());
    let pass = |offset: u64| super::text::hex16(super::fnv::fnv(offset, text.as_bytes()));
    cat!(pass(super::fnv::FNV_OFFSET), pass(0x6c62_272e_07bb_0142))
}

/// Longest page URL kept in a lead or the outbox.
pub const MAX_PAGE_CHARS: usize = 1024;

/// A page URL with its query string reduced to UTM parameters and click ids,
/// its fragment dropped, and cut to [`MAX_PAGE_CHARS`].
pub fn strip_page(url: &str) -> String {
    let without_fragment = url.split('#').next().unwrap_or("");
    let stripped = match without_fragment.split_once('?') {
        Some((base, query)) => cat!(base, strip_query(query)),
        None => without_fragment.to_string(),
    };
    super::event::truncate(&stripped, MAX_PAGE_CHARS)
}

/// A lead waiting to be sent.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Pending {
    /// Attempts made so far (first so that the most-tried copy wins merges).
    pub attempts: u32,
    /// Times the lead was made due early (back online, a page load); second
    /// so that the woken copy wins a merge over a stored copy still waiting.
    pub wake: u32,
    /// The idempotency key.
    pub lead_id: String,
    /// The stage the lead is for.
    pub stage: Stage,
    /// When the visitor qualified.
    pub created: Timestamp,
    /// The page, already stripped of private query parameters.
    pub page: String,
    /// Not before this time.
    pub next_at: Timestamp,
    /// The last HTTP status seen, if any (0 for a network error).
    pub last_status: Option<u16>,
    /// The earliest time the endpoint allowed with `Retry-After`.
    pub not_before: Option<Timestamp>,
}

/// How a lead left the outbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Finish {
    /// A newer stage's lead replaced it before it was sent.
    Superseded,
    /// The outbox was full.
    Dropped,
    /// The retry bound was reached.
    Expired,
    /// The endpoint refused it (a 4xx other than 408 and 429).
    Rejected,
    /// The endpoint accepted it.
    Delivered,
}

/// The outbox and its counters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outbox {
    pub(crate) pending: Vec<Pending>,
    pub(crate) finished: Vec<(String, Finish)>,
    pub(crate) dropped: u32,
    pub(crate) expired: u32,
    pub(crate) rejected: u32,
}

/// What recording an attempt's result did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// Delivered: gone from the outbox.
    Delivered,
    /// Will be tried again at this time.
    RetryAt(Timestamp),
    /// Retrying ended (attempts or age); counted as expired.
    Expired,
    /// Refused by the endpoint; counted as rejected.
    Rejected,
    /// The lead was not pending (another tab finished it).
    Unknown,
}

impl Outbox {
    /// Leads waiting, soonest first.
    pub fn pending(&self) -> &[Pending] {
        &self.pending
    }

    /// Leads dropped because the outbox was full.
    pub fn dropped(&self) -> u32 {
        self.dropped
    }

    /// Leads given up after the retry bound.
    pub fn expired(&self) -> u32 {
        self.expired
    }

    /// Leads the endpoint refused.
    pub fn rejected(&self) -> u32 {
        self.rejected
    }

    /// Whether a lead may have reached the endpoint: one was delivered, or
    /// one still waiting was already tried (its answer may have been lost).
    /// An erasure request is then worth sending.
    pub fn may_have_sent(&self) -> bool {
        self.finished.iter().any(|(_, finish)| *finish == Finish::Delivered)
            || self.pending.iter().any(|entry| entry.attempts > 0)
    }

    /// Whether `lead_id` is waiting or already finished.
    pub fn knows(&self, lead_id: &str) -> bool {
        self.pending.iter().any(|entry| entry.lead_id == lead_id) || self.finished.iter().any(|(id, _)| id == lead_id)
    }

    /// How `lead_id` left the outbox, if it did.
    pub fn finish_of(&self, lead_id: &str) -> Option<Finish> {
        self.finished.iter().find(|(id, _)| id == lead_id).map(|(_, finish)| *finish)
    }

    /// Queues a lead to send now. Waiting leads of lower stages are
    /// superseded (a `sales_ready` lead tells sales everything an `mql` one
    /// would); when the outbox is full the oldest entry is dropped and counted.
    pub fn enqueue(&mut self, lead_id: String, stage: Stage, created: Timestamp, page: String) -> bool {
        if self.knows(&lead_id) {
            return false;
        }
        let superseded: Vec<String> =
            self.pending.iter().filter(|entry| entry.stage < stage).map(|entry| entry.lead_id.clone()).collect();
        for id in superseded {
            self.finish(&id, Finish::Superseded);
        }
        if self.pending.len() >= MAX_PENDING {
            if let Some(oldest) =
                self.pending.iter().min_by_key(|entry| entry.created).map(|entry| entry.lead_id.clone())
            {
                self.finish(&oldest, Finish::Dropped);
                self.dropped = self.dropped.saturating_add(1);
            }
        }
        self.pending.push(Pending {
            attempts: 0,
            wake: 0,
            lead_id,
            stage,
            created,
            page,
            next_at: created,
            last_status: None,
            not_before: None,
        });
        self.sort();
        true
    }

    /// Leads due at `now`, soonest first.
    pub fn due(&self, now: Timestamp) -> impl Iterator<Item = &Pending> {
        self.pending.iter().filter(move |entry| entry.next_at <= now)
    }

    /// When the next lead falls due, if any is waiting.
    pub fn next_due(&self) -> Option<Timestamp> {
        self.pending.iter().map(|entry| entry.next_at).min()
    }

    /// Records the answer to an attempt (`None`: a network error) and decides
    /// what follows, per `policy`. `jitter` is a random number in `[0, 1)`.
    pub fn record(
        &mut self,
        lead_id: &str,
        now: Timestamp,
        status: Option<u16>,
        retry_after_ms: Option<u64>,
        jitter: f64,
        policy: &RetryPolicy,
    ) -> Recorded {
        let Some(index) = self.pending.iter().position(|entry| entry.lead_id == lead_id) else {
            return Recorded::Unknown;
        };
        match Outcome::of(status) {
            Outcome::Delivered => {
                self.finish(lead_id, Finish::Delivered);
                Recorded::Delivered
            }
            Outcome::Rejected => {
                self.finish(lead_id, Finish::Rejected);
                self.rejected = self.rejected.saturating_add(1);
                Recorded::Rejected
            }
            Outcome::Retry => {
                let entry = &mut self.pending[index];
                entry.attempts = entry.attempts.saturating_add(1);
                entry.last_status = Some(status.unwrap_or(0));
                entry.not_before = retry_after_ms.map(|ms| now.plus_millis(ms));
                match policy.next_attempt(entry.created, now, entry.attempts, jitter, retry_after_ms) {
                    Some(at) => {
                        entry.next_at = at;
                        self.sort();
                        Recorded::RetryAt(at)
                    }
                    None => {
                        self.finish(lead_id, Finish::Expired);
                        self.expired = self.expired.saturating_add(1);
                        Recorded::Expired
                    }
                }
            }
        }
    }

    /// Makes every waiting lead due now (the browser came back online, or a
    /// page loaded), except that a server's `Retry-After` is still honoured.
    pub fn expedite(&mut self, now: Timestamp) {
        for entry in &mut self.pending {
            let earliest = entry.not_before.map_or(now, |not_before| not_before.max(now));
            if entry.next_at > earliest {
                entry.next_at = earliest;
                entry.wake = entry.wake.saturating_add(1);
            }
        }
        self.sort();
    }

    /// Notes an attempt whose answer will never be seen (a beacon on page
    /// hide): the lead stays pending and is retried after a backoff, and the
    /// endpoint's idempotency on `lead_id` absorbs a duplicate.
    pub fn sent_blind(&mut self, lead_id: &str, now: Timestamp, jitter: f64, policy: &RetryPolicy) {
        if let Some(entry) = self.pending.iter_mut().find(|entry| entry.lead_id == lead_id) {
            entry.attempts = entry.attempts.saturating_add(1);
            entry.next_at = now.plus_millis(policy.backoff_ms(entry.attempts, jitter));
        }
        self.sort();
    }

    /// Joins another tab's outbox into this one.
    pub fn merge(&mut self, other: &Outbox) {
        for (id, finish) in &other.finished {
            match self.finished.iter_mut().find(|(known, _)| known == id) {
                Some((_, existing)) => *existing = (*existing).max(*finish),
                None => self.finished.push((id.clone(), *finish)),
            }
        }
        for entry in &other.pending {
            match self.pending.iter_mut().find(|known| known.lead_id == entry.lead_id) {
                Some(known) if *known >= *entry => {}
                Some(known) => *known = entry.clone(),
                None => self.pending.push(entry.clone()),
            }
        }
        let finished = &self.finished;
        self.pending.retain(|entry| !finished.iter().any(|(id, _)| *id == entry.lead_id));
        self.dropped = self.dropped.max(other.dropped);
        self.expired = self.expired.max(other.expired);
        self.rejected = self.rejected.max(other.rejected);
        super::small_sort::sort(&mut self.finished);
        self.sort();
    }

    fn finish(&mut self, lead_id: &str, finish: Finish) {
        self.pending.retain(|entry| entry.lead_id != lead_id);
        match self.finished.iter_mut().find(|(id, _)| id == lead_id) {
            Some((_, existing)) => *existing = (*existing).max(finish),
            None => self.finished.push((lead_id.to_string(), finish)),
        }
        super::small_sort::sort(&mut self.finished);
        if self.finished.len() > MAX_FINISHED {
            // Oldest-first order is not kept; any id beyond the bound belongs
            // to a stage this visitor cannot reach twice, so forgetting one is safe.
            self.finished.remove(0);
        }
    }

    fn sort(&mut self) {
        super::small_sort::sort_by(&mut self.pending, |a, b| (a.next_at, &a.lead_id).cmp(&(b.next_at, &b.lead_id)));
    }

    /// Bounds [`State::decode`](super::State::decode) relies on.
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.pending.len() > MAX_PENDING * 2 || self.finished.len() > MAX_FINISHED * 2 {
            return Err("outbox over its bounds".into());
        }
        Ok(())
    }
}
