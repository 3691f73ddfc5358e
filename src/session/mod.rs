//! One widget in one page, as a state machine with no I/O (quinn-proto
//! style): the browser shell hands it what happened through `handle_*`
//! methods, with the time as an argument, and carries out what it asks
//! through [`Session::poll_effect`] and [`Session::poll_timeout`]. Every
//! rule of the widget lives here — the consent basis from every source, the
//! engagement clock, batched writes and tab merges, when a lead is sent,
//! which callbacks fire — so each one is tested natively, without a browser.
//!
//! ```
//! use leadscore::core::{Config, Stage, Timestamp};
//! use leadscore::session::{Effect, Landing, Session, Signal, Source, Verdict};
//!
//! let at = Timestamp::from_millis(1_767_225_600_000);
//! let landing = Landing { url: "https://acme.example/pricing".into(), visible: true, focused: true };
//! let mut session = Session::new([7; 32], landing);
//! let config = r#"{"site":"acme","consent":"required","rules":[{"id":"pricing","on":"page_view","url":"/pricing","points":5}]}"#;
//! session.handle_config(at, Config::parse(config).map_err(|error| error.to_string()));
//! session.handle_ready(at);
//! let effects: Vec<Effect> = std::iter::from_fn(|| session.poll_effect()).collect();
//! assert_eq!(effects, [Effect::Reveal(Stage::Cold), Effect::Redraw]); // nothing stored or scored before consent
//!
//! session.handle_consent(at, Source::Api, Verdict::Granted);
//! assert_eq!(session.poll_effect(), Some(Effect::ReadRecord)); // adopt what an earlier visit stored
//! session.handle_stored(at, None);
//! assert!(matches!(session.poll_effect(), Some(Effect::WriteRecord(_)))); // a new visitor, stored at once
//! while session.poll_effect().is_some() {}
//! assert_eq!(session.engine().map(|engine| engine.score(at).round()), Some(5.0));
//! ```
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::unreachable)]

use crate::core::float::round;
use crate::core::text::uint;
use crate::prelude::*;
mod basis;
mod effect;
mod input;
mod page;
mod random;
mod record;

use alloc::sync::Arc;

use self::basis::Basis;
pub use self::basis::{fold_consent_mode, tcf_verdict};
pub use self::effect::{Effect, Notice, NoticeKind, Outgoing};
pub use self::input::{Answer, ConsentModeCommand, Signal, Source, TcfReport, Verdict};
use self::page::Page;
pub use self::page::{page_path, page_query};
use self::random::Random;
pub use self::record::{decode_record, encode_record};
use crate::core::delivery::parse_retry_after;
use crate::core::json::Json;
use crate::core::lead::Lead;
use crate::core::outbox::Recorded;
use crate::core::signals::{query_pairs, Touch};
use crate::core::{Config, Engine, Event, EventId, Stage, State, Timestamp};

/// Delay that batches storage writes.
pub const FLUSH_AFTER_MS: u64 = 1_000;
/// How soon to look again when another tab held the send lock.
pub const BUSY_RETRY_MS: u64 = 250;
/// Keepalive requests share a 64 KiB budget per page; leave room for headers.
pub const KEEPALIVE_MAX_BODY: usize = 60 * 1024;
/// Calls kept while the config is loading; a page that never configures
/// the widget cannot grow it. Consent and `forget()` are always kept.
pub const MAX_PENDING_CALLS: usize = 200;

/// The page as the loader first saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Landing {
    /// The page's URL when the loader ran (the landing page view's).
    pub url: String,
    /// Whether the page was visible.
    pub visible: bool,
    /// Whether the window had focus.
    pub focused: bool,
}

/// An input kept until the config is ready (or the stored record is read).
#[derive(Clone, Debug)]
enum Queued {
    Signal(Signal),
    Consent(Source, Verdict),
}

/// One widget's state machine. See the module docs.
pub struct Session {
    engine: Option<Engine>,
    failed: bool,
    /// Whether the first activation ran: before it, consent reports only
    /// set the starting point.
    started: bool,
    /// While the stored record is being read for an activation: whether the
    /// page was already scored in memory.
    activating: Option<bool>,
    queued: Vec<Queued>,
    basis: Basis,
    key: String,
    random: Random,
    load_id: u64,
    counter: u64,
    landing: String,
    url: String,
    visible: bool,
    focused: bool,
    page: Option<Page>,
    last_stage: Stage,
    last_score: i64,
    /// Whether the record changed since callbacks, reveals and views were
    /// last brought up to date; input that scores nothing costs no score read.
    changed: bool,
    /// Whether `data-leadscore-show` elements need another look even though
    /// the stage did not change (a new page view may have added some).
    reveal_due: bool,
    /// Whether the record has changes not yet written.
    dirty: bool,
    /// A read is under way for a write: the next stored text is merged, then ours written.
    want_write: bool,
    flush_at: Option<Timestamp>,
    arrival_recorded: bool,
    storage_warning: Option<String>,
    /// Whether a lead is being sent (one at a time).
    sending: bool,
    in_flight: Vec<String>,
    retry_at: Option<Timestamp>,
    erasure_requested: bool,
    /// What the shell is to do, oldest first (a few at a time, so a plain list).
    effects: Vec<Effect>,
}

impl Session {
    /// A session for the page at `landing`, not configured yet. `seed` is
    /// random bytes (the shell's `crypto.getRandomValues`); ids and jitter
    /// come from it.
    pub fn new(seed: [u8; 32], landing: Landing) -> Session {
        let mut random = Random::new(seed);
        let load_id = random.next_u64() & 0xffff_ffff_0000_0000;
        Session {
            engine: None,
            failed: false,
            started: false,
            activating: None,
            queued: Vec::new(),
            basis: Basis::default(),
            key: String::new(),
            random,
            load_id,
            counter: 0,
            url: landing.url.clone(),
            landing: landing.url,
            visible: landing.visible,
            focused: landing.focused,
            page: None,
            last_stage: Stage::Cold,
            last_score: 0,
            changed: true,
            reveal_due: true,
            dirty: false,
            want_write: false,
            flush_at: None,
            arrival_recorded: false,
            storage_warning: None,
            sending: false,
            in_flight: Vec::new(),
            retry_at: None,
            erasure_requested: false,
            effects: Vec::new(),
        }
    }

    // ----- inputs -----

    /// The config arrived (or could not be had). The first config wins;
    /// an error leaves an inert session that drops what was queued.
    pub fn handle_config(&mut self, now: Timestamp, config: Result<Config, String>) {
        if self.engine.is_some() {
            return;
        }
        match config {
            Ok(config) => {
                self.key = cat!("leadscore:", config.site());
                let visitor = self.random.visitor_id();
                let mut engine = Engine::new(Arc::new(config), State::new(&visitor, now));
                engine.ensure_erasure_secret(|| self.random.secret());
                self.engine = Some(engine);
                self.failed = false;
            }
            Err(message) => {
                self.warn(message);
                self.failed = true;
                self.queued.clear();
            }
        }
    }

    /// Every consent source has reported its starting point: tracking
    /// starts (or in-memory scoring), and what was queued is replayed.
    pub fn handle_ready(&mut self, now: Timestamp) {
        if self.started || self.engine.is_none() {
            return;
        }
        self.started = true;
        if self.active() {
            self.activate(now, false);
        } else {
            if self.may_score() {
                // In memory only, until consent.
                self.page_view(now);
                self.arrival(now);
            }
            self.replay(now);
        }
        self.changes(now);
    }

    /// Something happened in the page.
    pub fn handle_signal(&mut self, now: Timestamp, signal: Signal) {
        if let Signal::Visibility { visible, focused } = &signal {
            // Kept even before the config, for the first page view.
            self.visible = visible.unwrap_or(self.visible);
            self.focused = focused.unwrap_or(self.focused);
        }
        // Between the config and the start (while the shell installs its
        // sources, whose first reports may come with a call the loader kept)
        // a call waits as it does before the config.
        if self.waiting() || !self.started {
            let keep = matches!(signal, Signal::Forget)
                || (matches!(signal, Signal::Track { .. } | Signal::Identify(_) | Signal::Navigated { .. })
                    && self.queued.len() < MAX_PENDING_CALLS);
            if keep && !self.failed {
                self.queued.push(Queued::Signal(signal));
            }
            return;
        }
        if self.failed {
            return;
        }
        self.apply(now, signal);
        self.changes(now);
    }

    /// A consent source spoke.
    pub fn handle_consent(&mut self, now: Timestamp, source: Source, verdict: Verdict) {
        if self.waiting() {
            if !self.failed {
                self.queued.push(Queued::Consent(source, verdict));
            }
            return;
        }
        if self.failed {
            return;
        }
        let honoured = self.engine.as_ref().is_some_and(|engine| {
            let privacy = engine.config().privacy();
            match source {
                Source::Tcf => privacy.tcf,
                Source::ConsentMode => privacy.consent_mode,
                _ => true,
            }
        });
        if honoured {
            self.change_basis(now, |basis| basis.set(source, verdict));
            if source == Source::Panel {
                // The visitor's choice on this page: erase, and stop recording.
                self.wipe(now);
            }
            self.changes(now);
        }
    }

    /// The stored record's text, after [`Effect::ReadRecord`] (or under the
    /// send lock): adopted when tracking starts, merged otherwise, then our
    /// changes written if a write asked for the read. What this causes comes
    /// out of [`Session::poll_effect`] before anything queued earlier.
    pub fn handle_stored(&mut self, now: Timestamp, text: Option<&str>) {
        let earlier = core::mem::take(&mut self.effects);
        let write = core::mem::take(&mut self.want_write);
        if let Some(had_memory) = self.activating.take() {
            self.adopt(now, text);
            if write && self.dirty {
                self.write_now();
            }
            if self.active() {
                if !had_memory {
                    self.page_view(now);
                    self.arrival(now);
                }
                self.queue_lead(now);
                self.send_waiting_now(now);
            }
            self.replay(now);
        } else if self.active() {
            if let Some(text) = text {
                self.merge_text(text, false);
            }
            if write {
                self.write_now();
            }
        }
        self.changes(now);
        self.effects.extend(earlier);
    }

    /// How an attempt to deliver `lead_id` went.
    pub fn handle_answer(&mut self, now: Timestamp, lead_id: &str, answer: Answer) {
        let Some(engine) = self.engine.as_mut() else { return };
        let policy = engine.config().delivery().retry;
        let (status, retry_after) = match answer {
            Answer::Beaconed => {
                let jitter = self.random.unit();
                engine.outbox_mut().sent_blind(lead_id, now, jitter, &policy);
                self.dirty = true;
                return;
            }
            Answer::Busy => {
                self.in_flight.retain(|id| id != lead_id);
                self.sending = false;
                self.schedule_retry(now, true);
                return;
            }
            Answer::Finished => {
                self.in_flight.retain(|id| id != lead_id);
                self.send_next(now);
                return;
            }
            Answer::NetworkError => (None, None),
            Answer::Status { status, retry_after } => (Some(status), retry_after),
        };
        self.in_flight.retain(|id| id != lead_id);
        let stage = engine.state().outbox().pending().iter().find(|entry| entry.lead_id == lead_id).map(|e| e.stage);
        let retry_after = retry_after.as_deref().and_then(|value| parse_retry_after(value, now));
        let jitter = self.random.unit();
        let recorded = engine.outbox_mut().record(lead_id, now, status, retry_after, jitter, &policy);
        let stage = stage.unwrap_or(Stage::Mql);
        match recorded {
            Recorded::Delivered => self.effects.push(Effect::Notify(Notice::Sent {
                lead_id: lead_id.to_string(),
                stage,
                status: status.unwrap_or(0),
            })),
            Recorded::Rejected => {
                self.warn(cat!("lead ", lead_id, " refused: HTTP ", uint(u64::from(status.unwrap_or(0)))));
                self.effects.push(Effect::Notify(Notice::Failed {
                    lead_id: lead_id.to_string(),
                    stage,
                    status,
                    reason: "rejected",
                }));
            }
            Recorded::Expired => {
                self.warn(cat!("lead ", lead_id, " given up after the retry bound"));
                self.effects.push(Effect::Notify(Notice::Failed {
                    lead_id: lead_id.to_string(),
                    stage,
                    status,
                    reason: "expired",
                }));
            }
            Recorded::RetryAt(_) | Recorded::Unknown => {}
        }
        // Stored before the send lock is released, so the next holder sees it.
        self.dirty = true;
        self.flush();
        self.changed = true;
        self.send_next(now);
        self.changes(now);
    }

    /// A deadline from [`Session::poll_timeout`] passed.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        if self.flush_at.is_some_and(|at| at <= now) {
            self.flush();
        }
        if self.retry_at.is_some_and(|at| at <= now) {
            self.retry_at = None;
            self.start_sending(now);
        }
        self.changes(now);
    }

    // ----- outputs -----

    /// The next thing for the shell to do.
    pub fn poll_effect(&mut self) -> Option<Effect> {
        (!self.effects.is_empty()).then(|| self.effects.remove(0))
    }

    /// When to call [`Session::handle_timeout`] next.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        match (self.flush_at, self.retry_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    // ----- what the shell may read -----

    /// The engine, once configured.
    pub fn engine(&self) -> Option<&Engine> {
        self.engine.as_ref()
    }

    /// Whether a config was accepted.
    pub fn is_configured(&self) -> bool {
        self.engine.is_some()
    }

    /// Whether the config could not be had (the session then ignores input).
    pub fn is_failed(&self) -> bool {
        self.failed
    }

    /// The storage key, `leadscore:SITE` (empty until configured).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Whether there is a basis to score, store and send.
    pub fn active(&self) -> bool {
        self.engine
            .as_ref()
            .is_some_and(|engine| self.basis.active(engine.config().consent(), engine.config().privacy()))
    }

    /// Whether signals are scored (stored, or in memory before consent).
    pub fn may_score(&self) -> bool {
        self.active()
            || self.engine.as_ref().is_some_and(|engine| {
                let config = engine.config();
                self.basis.may_score_in_memory(config.consent(), config.in_memory_before_consent(), config.privacy())
            })
    }

    /// The source refusing consent, if any (`gpc`, `dnt`, `tcf`, `consent_mode`).
    pub fn refusal(&self) -> Option<&'static str> {
        self.engine.as_ref().and_then(|engine| self.basis.refusal(engine.config().privacy()))
    }

    /// Why the stored value was not usable, if it was not.
    pub fn storage_warning(&self) -> Option<&str> {
        self.storage_warning.as_deref()
    }

    /// Whether an erasure request went to the collector from this page.
    pub fn erasure_requested(&self) -> bool {
        self.erasure_requested
    }

    /// Whether `lead_id` is still waiting (asked under the send lock, after
    /// [`Session::handle_stored`] merged what other tabs stored).
    pub fn is_pending(&self, lead_id: &str) -> bool {
        self.active()
            && self
                .engine
                .as_ref()
                .is_some_and(|engine| engine.state().outbox().pending().iter().any(|entry| entry.lead_id == lead_id))
    }

    /// Whether the landing page asked for the debug overlay (`?leadscore-debug`).
    pub fn debug_requested(&self) -> bool {
        query_pairs(page_query(&self.landing)).iter().any(|(key, _)| key == "leadscore-debug")
    }

    /// The path of the current page view.
    pub fn page_path(&self) -> Option<&str> {
        self.page.as_ref().map(|page| page.path.as_str())
    }

    /// Engaged seconds credited to the current page view so far.
    pub fn engaged_seconds(&self) -> u32 {
        self.page.as_ref().map_or(0, Page::engaged_seconds)
    }

    // ----- the rules -----

    /// Whether input waits: before the config, or while the stored record is read.
    fn waiting(&self) -> bool {
        (self.engine.is_none() && !self.failed) || self.activating.is_some()
    }

    fn warn(&mut self, message: String) {
        self.effects.push(Effect::Warn(message));
    }

    /// Replays what waited, in order. A replayed grant that starts tracking
    /// leaves the rest waiting for the stored record.
    fn replay(&mut self, now: Timestamp) {
        let mut queued = core::mem::take(&mut self.queued).into_iter();
        for input in queued.by_ref() {
            match input {
                Queued::Signal(signal) => self.apply(now, signal),
                Queued::Consent(source, verdict) => self.handle_consent(now, source, verdict),
            }
            // Each replayed call is heard as it would have been live: the
            // `on()` callbacks see every score and stage it passes through.
            self.changes(now);
            if self.activating.is_some() {
                break;
            }
        }
        self.queued.extend(queued);
    }

    fn apply(&mut self, now: Timestamp, signal: Signal) {
        let Some(capture) = self.engine.as_ref().map(|engine| engine.config().capture()) else { return };
        match signal {
            Signal::Track { name, props } => self.signal(now, name.trim(), None, &props, None),
            Signal::Download { path, props } => self.signal(now, "download", Some(&path), &props, None),
            Signal::Identify(fields) => self.identify(now, &fields),
            Signal::Navigated { url } => {
                let changed = self.page.as_ref().is_none_or(|page| page.path != page_path(&url));
                self.url = url;
                if capture.page_views && changed {
                    self.page_view(now);
                }
            }
            Signal::Restored => {
                if capture.page_views {
                    self.page_view(now);
                }
            }
            Signal::Input => self.input(now),
            Signal::Visibility { .. } => {
                let counting = self.visible && self.focused;
                if let Some(page) = self.page.as_mut() {
                    page.visibility(now, counting);
                }
                self.report_engagement(now, false);
            }
            Signal::Scroll => {
                self.input(now);
                if self.scroll_depth_wanted() {
                    self.effects.push(Effect::MeasureScroll);
                }
            }
            Signal::Scrolled(percent) => self.scrolled(now, percent),
            Signal::Leaving => {
                self.leave_page(now);
                self.beacon(now);
                self.flush();
            }
            Signal::Online => self.send_waiting_now(now),
            Signal::Flush => self.flush(),
            Signal::OtherTab(value) => {
                if !self.active() {
                    return;
                }
                match value {
                    // Another tab wrote our key: merge, never overwrite.
                    Some(text) => self.merge_text(&text, true),
                    // Another tab deleted it (consent withdrawn, the visitor forgotten
                    // or erased): this page stops too, or its next write would bring it back.
                    None => self.change_basis(now, |basis| basis.choice = Some(false)),
                }
            }
            Signal::Forget => self.wipe(now),
        }
    }

    /// Applies a change to the basis and acts on the difference: tracking
    /// starts (this page counts from now, and a visitor who qualified in
    /// memory is a lead), or everything of ours is deleted. Before the first
    /// activation a change only sets the starting point.
    fn change_basis(&mut self, now: Timestamp, change: impl FnOnce(&mut Basis)) {
        if !self.started {
            change(&mut self.basis);
            return;
        }
        let was_active = self.active();
        let had_memory = self.may_score();
        change(&mut self.basis);
        let active = self.active();
        if active && !was_active {
            self.activate(now, had_memory);
        } else if !active && (was_active || had_memory) && !self.may_score() {
            // Withdrawn, refused, or refused after scoring in memory.
            self.wipe(now);
        }
    }

    /// Tracking starts: the stored record is read first (and adopted in
    /// [`Session::handle_stored`]).
    fn activate(&mut self, _now: Timestamp, had_memory: bool) {
        self.activating = Some(had_memory);
        self.changed = true;
        self.effects.push(Effect::ReadRecord);
    }

    /// Adopts what storage holds (another tab, an earlier visit). A new
    /// visitor is written at once, not batched, so a second tab opened right
    /// away finds the same visitor instead of starting another.
    fn adopt(&mut self, now: Timestamp, text: Option<&str>) {
        self.changed = true;
        let Some(text) = text else {
            self.dirty = true;
            self.write_now();
            return;
        };
        match decode_record(text) {
            Ok(state) if self.expired(&state, now) => {
                // Kept past the retention period: deleted, and a new visitor starts.
                self.effects.push(Effect::RemoveRecord);
                self.dirty = true;
                self.write_now();
            }
            // The stored visitor is adopted; what this page scored in memory
            // before consent (if anything) is replayed into it.
            Ok(state) => {
                let random = &mut self.random;
                if let Some(engine) = self.engine.as_mut() {
                    let stored = Engine::new(engine.shared_config(), state);
                    let in_memory = core::mem::replace(engine, stored).into_state();
                    // A record from before erasure secrets gets one, written
                    // with the next batch.
                    // Drawn only then: a SHA-256 per page load saved.
                    let upgraded = engine.ensure_erasure_secret(|| random.secret());
                    if !in_memory.is_blank() {
                        engine.absorb(&in_memory);
                    }
                    if upgraded || !in_memory.is_blank() {
                        self.dirty = true;
                        self.schedule_flush(now);
                    }
                }
            }
            Err(reason) => self.stored_value_unusable(now, reason),
        }
    }

    /// Whether a stored record saw no activity for longer than the config's
    /// `privacy.retention_days`.
    fn expired(&self, state: &State, now: Timestamp) -> bool {
        let Some(engine) = self.engine.as_ref() else { return false };
        let last = state.last_activity().unwrap_or_else(|| state.created());
        now.millis_since(last) > u64::from(engine.config().privacy().retention_days) * crate::core::time::DAY_MS
    }

    /// Merges a value another tab wrote (`said`: report a bad one).
    fn merge_text(&mut self, text: &str, said: bool) {
        match decode_record(text) {
            Ok(state) => {
                if let Some(engine) = self.engine.as_mut() {
                    engine.merge(&state);
                    self.changed = true;
                }
            }
            Err(reason) if said => {
                self.warn(cat!(reason, "; starting fresh"));
                self.storage_warning = Some(reason);
                self.dirty = true;
            }
            Err(_) => {}
        }
    }

    /// Our key holds something that is not ours or is corrupt: said once,
    /// and only our own key is reset, on the next write.
    fn stored_value_unusable(&mut self, now: Timestamp, reason: String) {
        self.warn(cat!(reason, "; starting fresh"));
        self.storage_warning = Some(reason);
        self.schedule_flush(now);
    }

    /// Notes an unstored change and arms the batched write.
    fn schedule_flush(&mut self, now: Timestamp) {
        self.dirty = true;
        if self.flush_at.is_none() && self.active() {
            self.flush_at = Some(now.plus_millis(FLUSH_AFTER_MS));
        }
    }

    /// Writes unstored changes now: read, merge what other tabs wrote, write
    /// back. Nothing happens when nothing changed since the last write.
    fn flush(&mut self) {
        self.flush_at = None;
        if !self.active() || !self.dirty || self.want_write {
            return;
        }
        self.want_write = true;
        self.effects.push(Effect::ReadRecord);
    }

    fn write_now(&mut self) {
        self.flush_at = None;
        if !self.active() {
            return;
        }
        let Some(engine) = self.engine.as_mut() else { return };
        self.effects.push(Effect::WriteRecord(encode_record(&engine.encode_state())));
        self.dirty = false;
    }

    /// Deletes our key and starts a new anonymous visitor in memory.
    fn wipe(&mut self, now: Timestamp) {
        self.flush_at = None;
        self.dirty = false;
        self.want_write = false;
        self.effects.push(Effect::RemoveRecord);
        self.request_erasure();
        let (visitor, secret) = (self.random.visitor_id(), self.random.secret());
        if let Some(engine) = self.engine.as_mut() {
            *engine = Engine::new(engine.shared_config(), State::new(&visitor, now));
            engine.ensure_erasure_secret(|| secret);
        }
        self.changed = true;
        self.reveal_due = true;
        self.last_stage = Stage::Cold;
        self.last_score = 0;
        self.arrival_recorded = false;
    }

    /// Asks the collector to erase what it received, if a lead may have
    /// reached it and the config names where to ask.
    fn request_erasure(&mut self) {
        let Some(engine) = self.engine.as_ref() else { return };
        if !engine.state().outbox().may_have_sent() {
            return;
        }
        let Some(url) = engine.config().erase_endpoint() else { return };
        let mut body = crate::core::json::Object::new();
        body.insert("site".into(), Json::string(engine.config().site()));
        body.insert("visitor_id".into(), Json::string(engine.state().visitor_id()));
        body.insert("secret".into(), Json::string(engine.state().erasure_secret()));
        self.effects.push(Effect::RequestErasure { url, body: Json::Object(body).text() });
        self.erasure_requested = true;
    }

    fn next_id(&mut self) -> EventId {
        self.counter += 1;
        EventId(self.load_id | self.counter)
    }

    /// Scores one event, starting a visit first when 30 minutes passed.
    fn record(&mut self, now: Timestamp, event: Event) {
        if !self.may_score() {
            return;
        }
        self.start_visit_if_due(now, event.at);
        let Some(engine) = self.engine.as_mut() else { return };
        engine.handle_event(event);
        self.changed = true;
        self.schedule_flush(now);
    }

    /// Emits `visit` when this activity starts one (30 idle minutes passed).
    fn start_visit_if_due(&mut self, now: Timestamp, at: Timestamp) {
        if !self.may_score() || !self.engine.as_ref().is_some_and(|engine| engine.config().capture().visits) {
            return;
        }
        let id = self.next_id();
        let Some(engine) = self.engine.as_mut() else { return };
        if engine.begin_activity(at) {
            if let Ok(visit) = Event::new(id, at, "visit") {
                engine.handle_event(visit);
            }
            self.changed = true;
            self.schedule_flush(now);
        }
    }

    /// Builds and records an event named `name` now.
    fn signal(
        &mut self,
        now: Timestamp,
        name: &str,
        url: Option<&str>,
        props: &[(String, String)],
        value: Option<u32>,
    ) {
        let id = self.next_id();
        let event = match Event::new(id, now, name) {
            Ok(event) => event,
            Err(error) => return self.warn(cat!("track: ", error.message())),
        };
        let mut event = match url {
            Some(url) => event.with_url(url),
            None => event,
        };
        for (key, value) in props {
            event = match event.with_prop(key, value) {
                Ok(event) => event,
                Err(error) => return self.warn(cat!("track(\"", name, "\"): ", error.message())),
            };
        }
        if let Some(value) = value {
            event = event.with_value(value);
            if let Some(page) = &self.page {
                event = event.in_page_view(page.id);
            }
        }
        self.record(now, event);
    }

    fn identify(&mut self, now: Timestamp, fields: &[(String, String)]) {
        if !self.may_score() {
            return;
        }
        let Some(engine) = self.engine.as_mut() else { return };
        let mut errors = Vec::new();
        for (name, value) in fields {
            if let Err(error) = engine.identify(now, [(name.as_str(), value.as_str())]) {
                errors.push(cat!("identify: ", error.message()));
            }
        }
        for error in errors {
            self.warn(error);
        }
        self.changed = true;
        self.schedule_flush(now);
    }

    /// Starts a new page view at the current URL, closing the previous one.
    fn page_view(&mut self, now: Timestamp) {
        self.changed = true;
        self.reveal_due = true;
        self.leave_page(now);
        let id = self.next_id();
        let path = page_path(&self.url);
        self.page = Some(Page::new(id, path.clone(), now, self.visible && self.focused));
        let Some(capture) = self.engine.as_ref().map(|engine| engine.config().capture()) else { return };
        if capture.page_views {
            if let Ok(event) = Event::new(id, now, "page_view") {
                self.record(now, event.with_url(&path));
            }
        } else {
            // Visits still start on page loads when page views are off.
            self.start_visit_if_due(now, now);
        }
    }

    /// Records the landing's attribution and an ad-click arrival, once per load.
    fn arrival(&mut self, now: Timestamp) {
        let wanted = self.engine.as_ref().is_some_and(|engine| engine.config().capture().ad_clicks);
        if self.arrival_recorded || !self.may_score() || !wanted {
            return;
        }
        self.arrival_recorded = true;
        let Some(touch) = Touch::from_query(page_query(&self.landing), now) else { return };
        let ad = touch.is_ad_click().then(|| touch.source.clone().unwrap_or_else(|| "paid".into()));
        if let Some(engine) = self.engine.as_mut() {
            engine.record_touch(touch);
        }
        self.schedule_flush(now);
        if let Some(source) = ad {
            self.signal(now, "ad_click", None, &[("source".into(), source)], None);
        }
    }

    fn input(&mut self, now: Timestamp) {
        let counting = self.visible && self.focused;
        if let Some(page) = self.page.as_mut() {
            page.input(now, counting);
        }
        self.report_engagement(now, false);
    }

    /// Emits `engaged_time` when a rule threshold is crossed, or on leaving
    /// (`final_report`) whatever was gained since the last report.
    fn report_engagement(&mut self, now: Timestamp, final_report: bool) {
        let Some(config) = self.engine.as_ref().map(Engine::config) else { return };
        if !config.capture().engaged_time {
            return;
        }
        let Some(page) = self.page.as_mut() else { return };
        if let Some(seconds) = page.engagement_due(config.engaged_thresholds(), final_report) {
            page.reported_seconds = seconds;
            let path = page.path.clone();
            self.signal(now, "engaged_time", Some(&path), &[], Some(seconds));
        }
    }

    /// Whether a scroll-depth threshold is still to be reported on this
    /// page (measuring forces a layout, so only then).
    fn scroll_depth_wanted(&self) -> bool {
        let Some(config) = self.engine.as_ref().map(Engine::config) else { return false };
        let highest = config.scroll_thresholds().last().copied();
        config.capture().scroll_depth
            && highest.is_some_and(|highest| self.page.as_ref().is_some_and(|page| page.reported_scroll < highest))
    }

    fn scrolled(&mut self, now: Timestamp, percent: u32) {
        let Some(config) = self.engine.as_ref().map(Engine::config) else { return };
        if !config.capture().scroll_depth {
            return;
        }
        let Some(page) = self.page.as_mut() else { return };
        if let Some(depth) = page.scrolled(percent, config.scroll_thresholds()) {
            let path = page.path.clone();
            self.signal(now, "scroll_depth", Some(&path), &[], Some(depth));
        }
    }

    /// Closes the current page view: its final engaged time.
    fn leave_page(&mut self, now: Timestamp) {
        let counting = self.visible && self.focused;
        if let Some(page) = self.page.as_mut() {
            page.credit(now, counting);
            self.report_engagement(now, true);
        }
    }

    /// Queues a lead if the visitor just qualified, and starts sending.
    fn queue_lead(&mut self, now: Timestamp) {
        if !self.active() {
            return;
        }
        let url = self.url.clone();
        let Some(engine) = self.engine.as_mut() else { return };
        if engine.config().endpoint().is_none() {
            return;
        }
        if engine.enqueue_lead(now, &url).is_some() {
            self.schedule_flush(now);
            self.start_sending(now);
        }
    }

    /// Sends every waiting lead now (back online, or a new page load) instead
    /// of at its backoff time; a server's `Retry-After` still holds.
    fn send_waiting_now(&mut self, now: Timestamp) {
        if !self.active() {
            return;
        }
        let Some(engine) = self.engine.as_mut() else { return };
        if engine.config().endpoint().is_none() || engine.state().outbox().pending().is_empty() {
            return;
        }
        engine.outbox_mut().expedite(now);
        self.schedule_flush(now);
        self.start_sending(now);
    }

    fn start_sending(&mut self, now: Timestamp) {
        if self.sending || !self.active() {
            return;
        }
        self.sending = true;
        self.retry_at = None;
        self.send_next(now);
    }

    /// The next due lead not already in flight goes out, after our changes
    /// are stored; with none due, the retry deadline is set.
    fn send_next(&mut self, now: Timestamp) {
        if !self.active() {
            self.sending = false;
            return;
        }
        self.flush();
        match self.outgoing(now, |_| true) {
            Some(outgoing) => {
                self.in_flight.push(outgoing.lead_id.clone());
                self.effects.push(Effect::Send(outgoing));
            }
            None => {
                self.sending = false;
                self.schedule_retry(now, false);
            }
        }
    }

    /// The first due lead not in flight that `wanted` accepts, with its body.
    fn outgoing(&self, now: Timestamp, wanted: impl Fn(&str) -> bool) -> Option<Outgoing> {
        let engine = self.engine.as_ref()?;
        let endpoint = engine.config().endpoint()?.to_string();
        let pending = engine
            .state()
            .outbox()
            .due(now)
            .find(|entry| !self.in_flight.contains(&entry.lead_id) && wanted(&entry.lead_id))?;
        Some(Outgoing {
            lead_id: pending.lead_id.clone(),
            stage: pending.stage,
            endpoint,
            body: Lead::for_pending(engine, pending, now).to_json_within(KEEPALIVE_MAX_BODY),
            json: engine.config().delivery().json,
            lock: cat!(self.key, ":send"),
        })
    }

    /// Sets the retry deadline at the next due lead; at least a short wait
    /// when another tab held the lock.
    fn schedule_retry(&mut self, now: Timestamp, lock_was_busy: bool) {
        self.retry_at = None;
        let Some(next) = self.engine.as_ref().and_then(|engine| engine.state().outbox().next_due()) else { return };
        let mut at = next.max(now);
        if lock_was_busy {
            at = at.max(now.plus_millis(BUSY_RETRY_MS));
        }
        self.retry_at = Some(at);
    }

    /// The page is going away: due leads not in flight go by beacon, and stay
    /// queued until a later answer confirms them (the endpoint is idempotent).
    fn beacon(&mut self, now: Timestamp) {
        if !self.active() {
            return;
        }
        let mut sent: Vec<String> = Vec::new();
        while let Some(outgoing) = self.outgoing(now, |id| !sent.iter().any(|done| done == id)) {
            sent.push(outgoing.lead_id.clone());
            self.effects.push(Effect::Beacon(outgoing));
        }
    }

    /// After any change: callbacks, reveals, the views.
    fn changes(&mut self, now: Timestamp) {
        // While the stored record is read, the standing is not known yet.
        if !self.changed || self.activating.is_some() {
            return;
        }
        self.changed = false;
        let Some((score, stage)) = self.engine.as_ref().map(|engine| engine.standing(now)) else { return };
        let rounded = round(score) as i64;
        let stage_changed = stage != self.last_stage;
        let mut notices = Vec::new();
        if rounded != self.last_score {
            notices.push(Notice::Score(rounded));
        }
        if stage_changed {
            notices.push(Notice::Stage(stage));
        }
        if stage >= Stage::Mql && self.last_stage < Stage::Mql {
            notices.push(Notice::Mql(stage));
        }
        self.last_stage = stage;
        self.last_score = rounded;
        if stage_changed && stage >= Stage::Mql {
            self.queue_lead(now);
        }
        if stage_changed || self.reveal_due {
            self.reveal_due = false;
            self.effects.push(Effect::Reveal(stage));
        }
        self.effects.push(Effect::Redraw);
        self.effects.extend(notices.into_iter().map(Effect::Notify));
    }
}
