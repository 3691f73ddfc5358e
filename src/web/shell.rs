//! The widget's state in the page: the engine, consent, storage, the
//! current page view, callbacks. Listeners and the JS API call into it;
//! JS callbacks run only after its borrow is released, so a callback that
//! calls back into `leadscore` is safe.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use gloo_events::EventListener;
use gloo_timers::callback::{Interval, Timeout};
use js_sys::Function;
use wasm_bindgen::JsValue;

use super::consent::Reports;
use super::dom::{self, now, warn};
use super::overlay::{self, Overlay};
use super::storage::{base64_decode, base64_encode, Store};
use crate::core::signals::Touch;
use crate::core::{Config, ConsentMode, Engine, Event, EventId, Stage, State, Timestamp};

/// Input silence after which engaged time stops counting.
const IDLE_AFTER_MS: u64 = 30_000;
/// Delay that batches storage writes.
const FLUSH_AFTER_MS: u32 = 1_000;

pub(crate) type Shared = Rc<RefCell<Inner>>;
pub(crate) type WeakShared = Weak<RefCell<Inner>>;

/// A JS API call made before the config was ready, replayed in order.
pub(crate) enum Call {
    Track(String, Vec<(String, String)>),
    Identify(Vec<(String, String)>),
    Consent(bool),
    Forget,
}

/// What to tell the page's callbacks after a change.
#[derive(Default)]
pub(crate) struct Notice {
    calls: Vec<(Function, JsValue)>,
}

impl Notice {
    /// Queues `value` for every callback registered for `kind`.
    pub(crate) fn push(&mut self, callbacks: &[(String, Function)], kind: &str, value: JsValue) {
        for (registered, callback) in callbacks {
            if registered == kind {
                self.calls.push((callback.clone(), value.clone()));
            }
        }
    }

    /// Runs the callbacks; a throwing callback is reported, never rethrown.
    pub(crate) fn deliver(self) {
        for (callback, value) in self.calls {
            if callback.call1(&JsValue::NULL, &value).is_err() {
                warn("an on() callback threw; the widget carries on");
            }
        }
    }
}

/// The current page view and how engaged the visitor is on it.
pub(crate) struct Page {
    pub id: EventId,
    pub path: String,
    engaged_ms: u64,
    last_input: Timestamp,
    counting_since: Option<Timestamp>,
    pub visible: bool,
    pub focused: bool,
    reported_seconds: u32,
    pub max_scroll: u32,
    reported_scroll: u32,
}

pub(crate) struct Inner {
    pub engine: Option<Engine>,
    pub failed: bool,
    pub consent: Option<bool>,
    pub store: Store,
    pub key: String,
    flush_timer: Option<Timeout>,
    load_id: u64,
    counter: u64,
    pub page: Option<Page>,
    pub(crate) callbacks: Vec<(String, Function)>,
    last_stage: Stage,
    last_score: i64,
    pub pending: Vec<Call>,
    pub listeners: Vec<EventListener>,
    pub overlay: Option<Overlay>,
    pub storage_warning: Option<String>,
    arrival_recorded: bool,
    /// Whether the visitor's record changed since callbacks, in-page actions
    /// and the overlay were last brought up to date; input events that score
    /// nothing (mouse moves, most scrolls) then cost no score read.
    changed: bool,
    /// Whether the record has changes not yet written to storage.
    pub(crate) dirty: bool,
    /// The browser opt-out signal in force, if the config honours it (`"gpc"`
    /// or `"dnt"`). Consulted on every signal, so it is read from the navigator
    /// only by [`Inner::read_opt_out`].
    pub(crate) opt_out: Option<&'static str>,
    /// Whether `data-leadscore-show` elements need another look (a new page
    /// view may have added some) even though the stage did not change.
    reveal_due: bool,
    pub(crate) weak_self: WeakShared,
    /// Lead ids with a request under way in this tab.
    pub(crate) in_flight: Vec<String>,
    /// Whether the send loop is running.
    pub(crate) sending: bool,
    pub(crate) retry_timer: Option<Timeout>,
    /// What the page's consent tools (TCF, Consent Mode) say.
    pub(crate) reports: Reports,
    /// The Consent Mode watch, while there is a dataLayer.
    pub(crate) consent_poll: Option<Interval>,
    /// Whether the first activation ran: before it, consent reports only
    /// set the starting point.
    pub(crate) started: bool,
    /// The visitor's privacy panel, while open.
    pub(crate) privacy_panel: Option<super::privacy::Panel>,
    /// An erasure request went to the collector on this page.
    pub(crate) erasure_requested: bool,
}

impl Inner {
    /// A new, unconfigured widget state, shared with its listeners.
    pub(crate) fn shared() -> Shared {
        let load_bytes = dom::random_bytes::<4>();
        Rc::new_cyclic(|weak_self| {
            RefCell::new(Inner {
                weak_self: weak_self.clone(),
                engine: None,
                failed: false,
                consent: None,
                store: Store::Closed,
                key: String::new(),
                flush_timer: None,
                load_id: u64::from(u32::from_le_bytes(load_bytes)) << 32,
                counter: 0,
                page: None,
                callbacks: Vec::new(),
                last_stage: Stage::Cold,
                last_score: 0,
                pending: Vec::new(),
                listeners: Vec::new(),
                overlay: None,
                storage_warning: None,
                arrival_recorded: false,
                changed: true,
                dirty: false,
                opt_out: None,
                reveal_due: true,
                in_flight: Vec::new(),
                sending: false,
                retry_timer: None,
                reports: Reports::default(),
                consent_poll: None,
                started: false,
                privacy_panel: None,
                erasure_requested: false,
            })
        })
    }

    pub(crate) fn config(&self) -> Option<&Config> {
        self.engine.as_ref().map(Engine::config)
    }

    /// Whether there is a basis to score, store and (later) send. A refusal
    /// from any source wins; in `required` mode a grant from `consent()`,
    /// the consent event or a consent tool is needed.
    pub(crate) fn active(&self) -> bool {
        if self.refusal().is_some() {
            return false;
        }
        match self.config().map(Config::consent) {
            Some(ConsentMode::Implied) => self.consent != Some(false),
            Some(ConsentMode::Required) => {
                self.consent == Some(true) || (self.consent.is_none() && self.tool_granted())
            }
            None => false,
        }
    }

    /// Reads the opt-out signals: at start and whenever the page comes back
    /// into view (the visitor may have changed a browser setting).
    pub(crate) fn read_opt_out(&mut self) {
        let signal = self.opt_out_signal();
        self.change_basis(|inner| inner.opt_out = signal);
    }

    fn opt_out_signal(&self) -> Option<&'static str> {
        let privacy = self.config()?.privacy();
        let navigator = dom::window()?.navigator();
        let gpc = js_sys::Reflect::get(&navigator, &"globalPrivacyControl".into())
            .ok()
            .is_some_and(|value| value.is_truthy());
        if privacy.gpc && gpc {
            return Some("gpc");
        }
        let dnt = js_sys::Reflect::get(&navigator, &"doNotTrack".into()).ok().and_then(|value| value.as_string());
        (privacy.dnt && dnt.as_deref() == Some("1")).then_some("dnt")
    }

    pub(crate) fn next_id(&mut self) -> EventId {
        self.counter += 1;
        EventId(self.load_id | self.counter)
    }

    pub(crate) fn on(&mut self, kind: &str, callback: Function) {
        if matches!(kind, "stage" | "score" | "mql" | "sent" | "failed") {
            self.callbacks.push((kind.to_string(), callback));
        } else {
            warn(&format!("on(\"{kind}\"): unknown event; use \"stage\", \"score\", \"mql\", \"sent\" or \"failed\""));
        }
    }

    /// Whether signals may be scored: with a basis to store, or in memory
    /// before consent when the config allows it.
    pub(crate) fn may_score(&self) -> bool {
        self.active()
            || (self.consent.is_none()
                && self.refusal().is_none()
                && self.config().is_some_and(|config| {
                    config.consent() == ConsentMode::Required && config.in_memory_before_consent()
                }))
    }

    /// Scores one signal, starting a visit first when 30 minutes passed.
    pub(crate) fn record(&mut self, event: Event) {
        if !self.may_score() {
            return;
        }
        self.start_visit_if_due(event.at);
        let Some(engine) = self.engine.as_mut() else { return };
        engine.handle_event(event);
        self.changed = true;
        self.schedule_flush();
    }

    /// Emits `visit` when this activity starts one (30 idle minutes passed).
    fn start_visit_if_due(&mut self, at: Timestamp) {
        if !self.may_score() || !self.config().is_some_and(|config| config.capture().visits) {
            return;
        }
        let id = self.next_id();
        let Some(engine) = self.engine.as_mut() else { return };
        if engine.begin_activity(at) {
            engine.handle_event(Event::new(id, at, "visit").expect("built-in name"));
            self.changed = true;
            self.schedule_flush();
        }
    }

    /// Builds and records an event named `name` now.
    pub(crate) fn signal(&mut self, name: &str, url: Option<&str>, props: &[(String, String)], value: Option<u32>) {
        let id = self.next_id();
        let event = match Event::new(id, now(), name) {
            Ok(event) => event,
            Err(error) => return warn(&format!("track: {error}")),
        };
        let mut event = match url {
            Some(url) => event.with_url(url),
            None => event,
        };
        for (key, value) in props {
            event = match event.with_prop(key, value) {
                Ok(event) => event,
                Err(error) => return warn(&format!("track(\"{name}\"): {error}")),
            };
        }
        if let Some(value) = value {
            event = event.with_value(value);
            if let Some(page) = &self.page {
                event = event.in_page_view(page.id);
            }
        }
        self.record(event);
    }

    pub(crate) fn identify(&mut self, fields: &[(String, String)]) {
        if !self.may_score() {
            return;
        }
        let Some(engine) = self.engine.as_mut() else { return };
        let at = now();
        for (name, value) in fields {
            if let Err(error) = engine.identify(at, [(name.as_str(), value.as_str())]) {
                warn(&format!("identify: {error}"));
            }
        }
        self.changed = true;
        self.schedule_flush();
    }

    /// Starts a new page view at the current path (first load, SPA
    /// navigation, back/forward restore), closing the previous one.
    pub(crate) fn page_view(&mut self) {
        self.changed = true;
        self.reveal_due = true;
        self.leave_page();
        let id = self.next_id();
        let at = now();
        let path = dom::page_path();
        let visible = dom::document().is_none_or(|document| !document.hidden());
        let focused = dom::document().and_then(|document| document.has_focus().ok()).unwrap_or(true);
        self.page = Some(Page {
            id,
            path: path.clone(),
            engaged_ms: 0,
            last_input: at,
            counting_since: (visible && focused).then_some(at),
            visible,
            focused,
            reported_seconds: 0,
            max_scroll: 0,
            reported_scroll: 0,
        });
        let capture = match self.config() {
            Some(config) => config.capture(),
            None => return,
        };
        if capture.page_views {
            let event = Event::new(id, at, "page_view").expect("built-in name").with_url(&path);
            self.record(event);
        } else {
            // Visits still start on page loads when page views are off.
            self.start_visit_if_due(at);
        }
    }

    /// Records the landing's attribution and an ad-click arrival, once per load.
    pub(crate) fn arrival(&mut self) {
        if self.arrival_recorded || !self.may_score() || !self.config().is_some_and(|config| config.capture().ad_clicks)
        {
            return;
        }
        self.arrival_recorded = true;
        let search = dom::window().and_then(|window| window.location().search().ok()).unwrap_or_default();
        let Some(touch) = Touch::from_query(&search, now()) else { return };
        let ad = touch.is_ad_click().then(|| touch.source.clone().unwrap_or_else(|| "paid".into()));
        if let Some(engine) = self.engine.as_mut() {
            engine.record_touch(touch);
        }
        self.schedule_flush();
        if let Some(source) = ad {
            self.signal("ad_click", None, &[("source".into(), source)], None);
        }
    }

    /// Credits engaged time up to `at`: only while visible and focused, and
    /// at most 30 s past the last input.
    fn credit(&mut self, at: Timestamp) {
        let Some(page) = self.page.as_mut() else { return };
        if let Some(since) = page.counting_since {
            let until = at.min(page.last_input.plus_millis(IDLE_AFTER_MS));
            page.engaged_ms += until.millis_since(since);
        }
        page.counting_since = (page.visible && page.focused).then_some(at);
    }

    /// Visitor input: keeps the page engaged and reports crossed thresholds.
    pub(crate) fn input(&mut self) {
        let at = now();
        self.credit(at);
        if let Some(page) = self.page.as_mut() {
            page.last_input = at;
        }
        self.report_engagement(false);
    }

    pub(crate) fn visibility(&mut self, visible: Option<bool>, focused: Option<bool>) {
        let at = now();
        self.credit(at);
        if let Some(page) = self.page.as_mut() {
            page.visible = visible.unwrap_or(page.visible);
            page.focused = focused.unwrap_or(page.focused);
            if page.visible && page.focused {
                page.last_input = at;
                page.counting_since = Some(at);
            } else {
                page.counting_since = None;
            }
        }
        self.report_engagement(false);
    }

    /// Emits `engaged_time` when a rule threshold is crossed, or on leaving
    /// (`final_report`) whatever was gained since the last report.
    fn report_engagement(&mut self, final_report: bool) {
        let Some(config) = self.engine.as_ref().map(Engine::config) else { return };
        if !config.capture().engaged_time {
            return;
        }
        let thresholds = config.engaged_thresholds();
        let Some(page) = self.page.as_ref() else { return };
        let seconds = (page.engaged_ms / 1000) as u32;
        let crossed = thresholds.iter().any(|&threshold| seconds >= threshold && page.reported_seconds < threshold);
        let worth_final =
            final_report && seconds > page.reported_seconds && thresholds.first().is_some_and(|&min| seconds >= min);
        if crossed || worth_final {
            let path = page.path.clone();
            if let Some(page) = self.page.as_mut() {
                page.reported_seconds = seconds;
            }
            self.signal("engaged_time", Some(&path), &[], Some(seconds));
        }
    }

    /// Whether a scroll-depth threshold is still to be reported on this page.
    pub(crate) fn scroll_depth_wanted(&self) -> bool {
        let Some(config) = self.config() else { return false };
        let highest = config.scroll_thresholds().last().copied();
        config.capture().scroll_depth
            && highest.is_some_and(|highest| self.page.as_ref().is_some_and(|page| page.reported_scroll < highest))
    }

    pub(crate) fn scrolled(&mut self, percent: u32) {
        // Field borrows (not `self.config()`) so the page can change alongside.
        let Some(config) = self.engine.as_ref().map(Engine::config) else { return };
        if !config.capture().scroll_depth {
            return;
        }
        let thresholds = config.scroll_thresholds();
        let Some(page) = self.page.as_mut() else { return };
        page.max_scroll = page.max_scroll.max(percent.min(100));
        let depth = page.max_scroll;
        if thresholds.iter().any(|&threshold| depth >= threshold && page.reported_scroll < threshold) {
            page.reported_scroll = depth;
            let path = page.path.clone();
            self.signal("scroll_depth", Some(&path), &[], Some(depth));
        }
    }

    /// Closes the current page view: final engaged time, then a write.
    pub(crate) fn leave_page(&mut self) {
        if self.page.is_some() {
            self.credit(now());
            self.report_engagement(true);
        }
    }

    /// Applies a change to the basis for tracking (consent from any source,
    /// an opt-out signal) and acts on the difference: tracking starts (this
    /// page counts from now, and a visitor who qualified in memory is a lead),
    /// or everything of ours is deleted. Before the first activation a change
    /// only sets the starting point.
    pub(crate) fn change_basis(&mut self, change: impl FnOnce(&mut Inner)) {
        if !self.started {
            change(self);
            return;
        }
        let was_active = self.active();
        let had_memory = self.may_score();
        change(self);
        let active = self.active();
        if active && !was_active {
            self.load();
            if !had_memory {
                self.page_view();
                self.arrival();
            }
            self.queue_lead();
            self.send_waiting_now();
        } else if !active && (was_active || had_memory) && !self.may_score() {
            // Withdrawn, refused, or refused after scoring in memory.
            self.wipe();
        }
    }

    /// Opens storage and adopts what is there (another tab, an earlier
    /// visit). A new visitor is written at once, not batched, so a second
    /// tab opened right away finds the same visitor instead of starting
    /// another.
    pub(crate) fn load(&mut self) {
        self.changed = true;
        if matches!(self.store, Store::Closed) {
            self.store = Store::open();
        }
        let Some(text) = self.store.read(&self.key) else {
            self.dirty = true;
            self.flush();
            return;
        };
        match decode_stored(&text) {
            Ok(state) if self.expired(&state) => {
                // Kept past the retention period: deleted, and a new visitor starts.
                self.store.remove(&self.key);
                self.dirty = true;
                self.flush();
            }
            // The stored visitor is adopted; what this page scored in memory
            // before consent (if anything) is replayed into it.
            Ok(state) => {
                if let Some(engine) = self.engine.as_mut() {
                    let stored = Engine::new(engine.shared_config(), state);
                    let in_memory = std::mem::replace(engine, stored).into_state();
                    if !in_memory.is_blank() {
                        engine.absorb(&in_memory);
                        self.dirty = true;
                    }
                }
            }
            Err(reason) => self.stored_value_unusable(reason),
        }
    }

    /// Whether a stored record saw no activity for longer than the config's
    /// `privacy.retention_days`.
    fn expired(&self, state: &State) -> bool {
        let Some(config) = self.config() else { return false };
        let last = state.last_activity().unwrap_or_else(|| state.created());
        now().millis_since(last) > u64::from(config.privacy().retention_days) * crate::core::time::DAY_MS
    }

    /// Merges a value another tab wrote under our key.
    pub(crate) fn merge_stored(&mut self, text: &str) {
        self.changed = true;
        match decode_stored(text) {
            Ok(state) => {
                if let Some(engine) = self.engine.as_mut() {
                    engine.merge(&state);
                }
            }
            Err(reason) => self.stored_value_unusable(reason),
        }
    }

    /// Our key holds something that is not ours or is corrupt: said once,
    /// and only our own key is reset, on the next write.
    fn stored_value_unusable(&mut self, reason: String) {
        warn(&format!("{reason}; starting fresh"));
        self.storage_warning = Some(reason);
        self.schedule_flush();
    }

    /// Notes an unstored change and arms the batched write.
    pub(crate) fn schedule_flush(&mut self) {
        self.dirty = true;
        if self.flush_timer.is_some() || !self.active() {
            return;
        }
        let weak = self.weak_self.clone();
        self.flush_timer = Some(Timeout::new(FLUSH_AFTER_MS, move || {
            if let Some(shared) = weak.upgrade() {
                if let Ok(mut inner) = shared.try_borrow_mut() {
                    inner.flush_timer = None;
                    inner.flush();
                }
            }
        }));
    }

    /// Writes unstored changes now: read, merge what other tabs wrote, write
    /// back. Nothing happens when nothing changed since the last write.
    pub(crate) fn flush(&mut self) {
        self.flush_timer = None;
        if !self.active() || !self.dirty {
            return;
        }
        self.pull();
        let Some(engine) = self.engine.as_mut() else { return };
        let bytes = engine.encode_state();
        self.store.write(&self.key, base64_encode(&bytes));
        self.dirty = false;
    }

    /// Merges what other tabs stored, without writing.
    pub(crate) fn pull(&mut self) {
        if !self.active() {
            return;
        }
        if matches!(self.store, Store::Closed) {
            self.store = Store::open();
        }
        if let Some(text) = self.store.read(&self.key) {
            if let (Ok(state), Some(engine)) = (decode_stored(&text), self.engine.as_mut()) {
                engine.merge(&state);
            }
        }
    }

    /// Brings this tab and storage level: merge theirs, write ours if changed.
    pub(crate) fn sync(&mut self) {
        if self.dirty {
            self.flush();
        } else {
            self.pull();
        }
    }

    /// Deletes our key and starts a new anonymous visitor in memory.
    pub(crate) fn wipe(&mut self) {
        self.flush_timer = None;
        self.dirty = false;
        self.store.remove(&self.key);
        self.request_erasure();
        if let Some(engine) = self.engine.as_mut() {
            *engine = Engine::new(engine.shared_config(), State::new(&dom::new_visitor_id(), now()));
        }
        self.changed = true;
        self.reveal_due = true;
        self.last_stage = Stage::Cold;
        self.last_score = 0;
        self.arrival_recorded = false;
    }

    /// After any change: callbacks to run, in-page actions, the overlay.
    pub(crate) fn changes(&mut self) -> Notice {
        let mut notice = Notice::default();
        if !self.changed {
            return notice;
        }
        self.changed = false;
        let Some(engine) = self.engine.as_ref() else { return notice };
        let at = now();
        let (score, stage) = engine.standing(at);
        let rounded = score.round() as i64;
        let stage_changed = stage != self.last_stage;
        let reached_mql = stage >= Stage::Mql && self.last_stage < Stage::Mql;
        for (kind, callback) in &self.callbacks {
            let value: Option<JsValue> = match kind.as_str() {
                "score" if rounded != self.last_score => Some(JsValue::from_f64(rounded as f64)),
                "stage" if stage_changed => Some(JsValue::from_str(stage.as_str())),
                "mql" if reached_mql => Some(JsValue::from_str(stage.as_str())),
                _ => None,
            };
            if let Some(value) = value {
                notice.calls.push((callback.clone(), value));
            }
        }
        self.last_stage = stage;
        self.last_score = rounded;
        if stage_changed && stage >= Stage::Mql {
            self.queue_lead();
        }
        if stage_changed || self.reveal_due {
            self.reveal_due = false;
            overlay::reveal(stage);
        }
        if let Some(overlay) = &self.overlay {
            overlay.render(self);
        }
        notice
    }
}

fn decode_stored(text: &str) -> Result<State, String> {
    let bytes = base64_decode(text).ok_or_else(|| "stored state ignored: not a leadscore value".to_string())?;
    State::decode(&bytes).map_err(|error| error.to_string())
}
