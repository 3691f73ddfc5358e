//! The visitor's record in the browser: compact, versioned, bounded, and
//! mergeable across tabs without counting any event twice.
//!
//! A state holds *evidence* (the scored events, newest last) and a *summary*
//! (per-rule tallies of older events, folded in when the evidence outgrows
//! its bound). Every event with a key `(at, id)` at or below the `horizon` is
//! in the summary; every event above it is in the evidence. That split is
//! what makes [`State::merge`] a join: the larger horizon's summary wins and
//! evidence is a set union above it, so merging is commutative, associative
//! and idempotent, and no event is ever in both halves.

use super::sorted_map::SortedMap;
use super::text::uint;
use crate::prelude::*;
use core::fmt;

use serde::{Deserialize, Serialize};

use super::event::{check_name, Event, EventId, MAX_PROPS, MAX_PROP_VALUE_CHARS, MAX_URL_CHARS};
use super::identity::Identity;
use super::outbox::Outbox;
use super::signals::Touch;
use super::tally::Tally;
use super::time::Timestamp;

/// Version written in front of every encoded state.
pub const STATE_VERSION: u8 = 2;
/// Most events kept as evidence before the oldest are summarised.
pub const MAX_EVIDENCE: usize = 48;
/// Encoded size the engine compacts toward. A state stays under it as long as
/// summaries and identity fit, i.e. for any preset-sized rule set; the hard
/// bound is this plus about 160 bytes per rule that has ever matched.
pub const TARGET_STATE_BYTES: usize = 4096;
/// Longest visitor id accepted.
pub const MAX_VISITOR_ID_CHARS: usize = 64;
/// A visit ends after this long without activity.
pub const VISIT_TIMEOUT_MS: u64 = 30 * 60 * 1000;

pub(crate) const MAGIC: [u8; 2] = *b"LS";

/// The events at or below this key are in the summary.
pub(crate) type Key = (Timestamp, EventId);

/// A visitor's state. Create one with [`State::new`], restore it with
/// [`State::decode`], and score it through an [`Engine`](super::Engine).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub(crate) visitor_id: String,
    pub(crate) created: Timestamp,
    pub(crate) horizon: Option<Key>,
    pub(crate) summary: SortedMap<String, Tally>,
    /// Events folded into `summary`; travels with it in merges.
    pub(crate) folded: u32,
    pub(crate) evidence: Vec<Event>,
    pub(crate) identity: Identity,
    pub(crate) last_activity: Option<Timestamp>,
    pub(crate) first_touch: Option<Touch>,
    pub(crate) last_touch: Option<Touch>,
    pub(crate) outbox: Outbox,
    /// The visitor's erasure secret (32 hex digits): leads carry only its
    /// SHA-256, and only its holder can ask the collector to erase them.
    /// Empty in states stored before there was one (version 1).
    pub(crate) erasure_secret: String,
}

/// Longest erasure secret a state holds.
pub const MAX_SECRET_CHARS: usize = 64;

/// Why stored bytes could not be restored. The caller starts a fresh state
/// and reports the reason once; the bytes are never half-used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    reason: String,
}

impl DecodeError {
    pub(crate) fn new(reason: impl Into<String>) -> DecodeError {
        DecodeError { reason: reason.into() }
    }

    /// What `to_string()` says, without core::fmt.
    pub fn text(&self) -> String {
        cat!("stored state ignored: ", self.reason)
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

impl core::error::Error for DecodeError {}

impl State {
    /// A fresh state for a new visitor. `visitor_id` is random and
    /// first-party, chosen by the shell; ids longer than 64 characters are cut.
    pub fn new(visitor_id: &str, created: Timestamp) -> State {
        State {
            visitor_id: super::event::truncate(visitor_id, MAX_VISITOR_ID_CHARS),
            created,
            horizon: None,
            summary: SortedMap::new(),
            folded: 0,
            evidence: Vec::new(),
            identity: Identity::default(),
            last_activity: None,
            first_touch: None,
            last_touch: None,
            outbox: Outbox::default(),
            erasure_secret: String::new(),
        }
    }

    /// The erasure secret, empty until one is given.
    pub fn erasure_secret(&self) -> &str {
        &self.erasure_secret
    }

    /// Gives the visitor `secret` unless it has one; true when it was given.
    pub fn ensure_erasure_secret(&mut self, secret: impl FnOnce() -> String) -> bool {
        if !self.erasure_secret.is_empty() {
            return false;
        }
        self.erasure_secret = super::event::truncate(&secret(), MAX_SECRET_CHARS);
        true
    }

    /// What a lead carries of the secret: its SHA-256 in hex, or nothing.
    pub fn erasure_digest(&self) -> String {
        if self.erasure_secret.is_empty() {
            String::new()
        } else {
            super::sha256::sha256_hex(self.erasure_secret.as_bytes())
        }
    }

    /// The anonymous visitor id.
    pub fn visitor_id(&self) -> &str {
        &self.visitor_id
    }

    /// When this visitor was first seen.
    pub fn created(&self) -> Timestamp {
        self.created
    }

    /// How many scored events were folded into the summary, so are not in
    /// the evidence any more.
    pub fn summarised_events(&self) -> u32 {
        self.folded
    }

    /// The scored events kept as evidence, oldest first.
    pub fn evidence(&self) -> &[Event] {
        &self.evidence
    }

    /// The visitor's identity fields.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// When the visitor was last active.
    pub fn last_activity(&self) -> Option<Timestamp> {
        self.last_activity
    }

    /// Whether nothing has been recorded: no events, answers, arrivals or activity.
    pub fn is_blank(&self) -> bool {
        self.evidence.is_empty()
            && self.summary.is_empty()
            && self.identity.is_empty()
            && self.first_touch.is_none()
            && self.last_activity.is_none()
    }

    /// The first and the latest attributed arrival (UTM or ad click).
    pub fn touches(&self) -> (Option<&Touch>, Option<&Touch>) {
        (self.first_touch.as_ref(), self.last_touch.as_ref())
    }

    /// Records an attributed arrival: it becomes the last touch, and the
    /// first touch if it is the earliest seen.
    pub fn record_touch(&mut self, touch: Touch) {
        if self.first_touch.as_ref().is_none_or(|first| touch < *first) {
            self.first_touch = Some(touch.clone());
        }
        if self.last_touch.as_ref().is_none_or(|last| touch > *last) {
            self.last_touch = Some(touch);
        }
    }

    /// Leads waiting to be delivered, and how earlier ones ended.
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// Notes activity at `now`; true when it starts a new visit (the first
    /// activity ever, or the first after [`VISIT_TIMEOUT_MS`] of none).
    pub fn begin_activity(&mut self, now: Timestamp) -> bool {
        let new_visit = self.last_activity.is_none_or(|last| now.millis_since(last) >= VISIT_TIMEOUT_MS);
        self.last_activity = Some(self.last_activity.map_or(now, |last| last.max(now)));
        new_visit
    }

    /// Merges another copy of this visitor's state (another tab's) into this one.
    ///
    /// Commutative, associative and idempotent; an event is counted once however
    /// often it is merged. Two different visitors (one tab ran `forget()`) do
    /// not mix: the newer visitor's state wins whole.
    pub fn merge(&mut self, other: &State) {
        if self.visitor_id != other.visitor_id {
            if (other.created, &other.visitor_id) > (self.created, &self.visitor_id) {
                *self = other.clone();
            }
            return;
        }
        self.created = self.created.min(other.created);
        let take_other_summary = match other.horizon.cmp(&self.horizon) {
            core::cmp::Ordering::Greater => true,
            core::cmp::Ordering::Less => false,
            // Same horizon, different summaries: tabs compacted different
            // histories. Any fixed choice keeps merging order-independent.
            core::cmp::Ordering::Equal => {
                (State::summary_bytes(&other.summary), other.folded)
                    > (State::summary_bytes(&self.summary), self.folded)
            }
        };
        if take_other_summary {
            self.horizon = other.horizon;
            self.summary = other.summary.clone();
            self.folded = other.folded;
        }
        let mut events: Vec<Event> = self.evidence.drain(..).chain(other.evidence.iter().cloned()).collect();
        super::small_sort::sort(&mut events);
        events.dedup_by(|later, earlier| later.id == earlier.id && later.at == earlier.at);
        let horizon = self.horizon;
        events.retain(|event| horizon.is_none_or(|horizon| (event.at, event.id) > horizon));
        self.evidence = events;
        self.identity.merge(&other.identity);
        self.last_activity = self.last_activity.max(other.last_activity);
        for touch in [&other.first_touch, &other.last_touch].into_iter().flatten() {
            self.record_touch(touch.clone());
        }
        self.outbox.merge(&other.outbox);
        // Two tabs that upgraded the same old record may have drawn two
        // secrets; the larger wins, the same in every tab and order.
        if other.erasure_secret > self.erasure_secret {
            self.erasure_secret = other.erasure_secret.clone();
        }
    }

    /// Decodes `bytes`, or starts a fresh state and says why.
    pub fn decode_or_fresh(bytes: &[u8], visitor_id: &str, now: Timestamp) -> (State, Option<DecodeError>) {
        match State::decode(bytes) {
            Ok(state) => (state, None),
            Err(error) => (State::new(visitor_id, now), Some(error)),
        }
    }

    /// The invariants [`State::decode`] relies on; bytes from storage are
    /// untrusted (another script can write our key).
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.visitor_id.is_empty() || super::text::char_count(&self.visitor_id) > MAX_VISITOR_ID_CHARS {
            return Err("visitor id missing or too long".into());
        }
        if self.evidence.len() > MAX_EVIDENCE * 4 {
            return Err(cat!(
                uint(self.evidence.len() as u64),
                " events of evidence; at most ",
                uint(MAX_EVIDENCE as u64),
                " are kept"
            ));
        }
        if self.summary.len() > super::config::MAX_RULES * 2 {
            return Err("summary holds more rules than any config can have".into());
        }
        self.outbox.check()?;
        if super::text::char_count(&self.erasure_secret) > MAX_SECRET_CHARS {
            return Err("erasure secret too long".into());
        }
        for pair in self.evidence.windows(2) {
            if (pair[0].at, pair[0].id) >= (pair[1].at, pair[1].id) {
                return Err("evidence is not in time order".into());
            }
        }
        if let (Some(horizon), Some(first)) = (self.horizon, self.evidence.first()) {
            if (first.at, first.id) <= horizon {
                return Err("evidence overlaps the summary".into());
            }
        }
        for event in &self.evidence {
            check_name(&event.name).map_err(|message| cat!("event name ", message))?;
            let url_ok = event.url.as_ref().is_none_or(|url| super::text::char_count(url) <= MAX_URL_CHARS);
            let props_ok = event.props.len() <= MAX_PROPS
                && event.props.values().all(|value| super::text::char_count(value) <= MAX_PROP_VALUE_CHARS);
            if !url_ok || !props_ok {
                return Err("an event is over its size limits".into());
            }
        }
        for (rule, tally) in &self.summary {
            if !tally.value.is_finite()
                || tally.recent.len() > super::config::MAX_MIN_COUNT as usize
                || tally.page_views.len() > 64
            {
                return Err(cat!("summary of rule \"", super::event::preview(rule), "\" is invalid"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: u64, at: u64) -> Event {
        Event::new(EventId(id), Timestamp(at), "cart_add").unwrap()
    }

    #[test]
    fn decoding_checks_invariants_not_just_shape() {
        let mut unordered = State::new("v", Timestamp(0));
        unordered.evidence = vec![event(2, 20), event(1, 10)];
        let mut overlapping = State::new("v", Timestamp(0));
        overlapping.horizon = Some((Timestamp(10), EventId(1)));
        overlapping.evidence = vec![event(1, 10)];
        let mut nameless = State::new("v", Timestamp(0));
        nameless.visitor_id.clear();
        let mut bad_name = State::new("v", Timestamp(0));
        bad_name.evidence = vec![Event { name: "no spaces".into(), ..event(1, 1) }];
        let mut infinite = State::new("v", Timestamp(0));
        infinite.summary.insert("r".into(), Tally { value: f64::INFINITY, ..Tally::default() });
        let cases = [
            (unordered, "not in time order"),
            (overlapping, "overlaps the summary"),
            (nameless, "visitor id missing"),
            (bad_name, "event name may use"),
            (infinite, "summary of rule \"r\" is invalid"),
        ];
        for (state, reason) in cases {
            let error = State::decode(&state.encode()).unwrap_err().to_string();
            assert!(error.contains(reason), "{error}");
        }
    }

    #[test]
    fn merge_drops_evidence_the_other_side_summarised() {
        let mut folded = State::new("v", Timestamp(0));
        folded.horizon = Some((Timestamp(20), EventId(2)));
        folded.summary.insert("r".into(), Tally { matches: 2, ..Tally::default() });
        folded.evidence = vec![event(3, 30)];
        let mut behind = State::new("v", Timestamp(0));
        behind.evidence = vec![event(1, 10), event(2, 20), event(3, 30), event(4, 40)];
        behind.merge(&folded);
        let ids: Vec<u64> = behind.evidence.iter().map(|event| event.id.0).collect();
        assert_eq!(ids, [3, 4]);
        assert_eq!(behind.horizon, folded.horizon);
        assert_eq!(behind.summary, folded.summary);
    }
}
