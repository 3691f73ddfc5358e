//! The one way into the widget's shared state: a [`Handle`] holds the
//! session and the browser resources, feeds the session one input at a
//! time, and carries out its effects. No borrow is held while page code
//! runs (callbacks, DOM events we cause), and an input pushed meanwhile
//! waits its turn, so nothing here can fail on a re-entrant borrow.

use crate::prelude::*;
use alloc::rc::{Rc, Weak};
use core::cell::{Cell, RefCell};

use js_sys::Function;

use super::callbacks::{self, Callbacks};
use super::capture::{self, Wanted};
use super::consent::{self, Sources};
use super::dom::{self, now, warn, Listener, Timer};
use super::inlet::{Inlet, Input, Part};
use super::model;
use super::privacy;
use super::reveal::reveal;
use super::storage::Record;
use super::transport;
use super::views::{self, View};
use crate::core::{Config, Timestamp};
use crate::session::{Answer, Effect, Landing, NoticeKind, Outgoing, Session, Signal, Source, Verdict};

/// How long the send lock is kept after an answer is stored.
const HANDOFF_MS: u32 = 100;

/// The browser resources the handle owns; each cleans up when dropped.
struct Parts {
    record: Record,
    callbacks: Callbacks,
    overlay: View,
    panel: View,
    /// The visitor pressed the panel's "Erase my data".
    erased: bool,
    /// The session's deadline and the timer armed for it.
    timer: Option<(Timestamp, Timer)>,
    listeners: Vec<Listener>,
    sources: Option<Sources>,
    /// Whether an attempt holds (or waits for) the send lock, and the lead
    /// to send once it is released.
    sending: bool,
    next: Option<Outgoing>,
    /// The send lock, held a little after an answer is stored.
    handoff: Option<Timer>,
}

impl Parts {
    fn view(&mut self, part: Part) -> &mut View {
        match part {
            Part::Overlay => &mut self.overlay,
            Part::Panel => &mut self.panel,
        }
    }
}

struct Shared {
    session: RefCell<Session>,
    parts: RefCell<Parts>,
    inbox: RefCell<Vec<(Timestamp, Input)>>,
    draining: Cell<bool>,
    catching_up: Cell<bool>,
}

/// The widget's state; [`super::Widget`] holds the only strong one.
pub(crate) struct Handle(Rc<Shared>);

/// What listeners, timers and requests hold: inert once the widget is gone.
#[derive(Clone)]
pub(crate) struct WeakHandle(Weak<Shared>);

impl WeakHandle {
    pub(crate) fn upgrade(&self) -> Option<Handle> {
        self.0.upgrade().map(Handle)
    }
}

impl Handle {
    pub(crate) fn new(landing: Landing) -> Handle {
        Handle(Rc::new(Shared {
            session: RefCell::new(Session::new(dom::random_seed(), landing)),
            parts: RefCell::new(Parts {
                record: Record::Closed,
                callbacks: Callbacks::default(),
                overlay: View::Closed,
                panel: View::Closed,
                erased: false,
                timer: None,
                listeners: Vec::new(),
                sources: None,
                sending: false,
                next: None,
                handoff: None,
            }),
            inbox: RefCell::new(Vec::new()),
            draining: Cell::new(false),
            catching_up: Cell::new(false),
        }))
    }

    pub(crate) fn downgrade(&self) -> WeakHandle {
        WeakHandle(Rc::downgrade(&self.0))
    }

    /// Where browser resources send their inputs.
    fn inlet(&self) -> Inlet {
        let weak = self.downgrade();
        Inlet::new(move |input| {
            if let Some(handle) = weak.upgrade() {
                handle.push(input);
            }
        })
    }

    /// Reads the session (`None` only if it is being changed right now).
    pub(crate) fn read<T>(&self, read: impl FnOnce(&Session) -> T) -> Option<T> {
        self.0.session.try_borrow().ok().map(|session| read(&session))
    }

    fn session<T>(&self, change: impl FnOnce(&mut Session) -> T) -> Option<T> {
        self.0.session.try_borrow_mut().ok().map(|mut session| change(&mut session))
    }

    fn parts<T>(&self, change: impl FnOnce(&mut Parts) -> T) -> Option<T> {
        self.0.parts.try_borrow_mut().ok().map(|mut parts| change(&mut parts))
    }

    /// Takes an input: now, or after the one being processed; after the
    /// `track()` calls the loader kept, which come first.
    pub(crate) fn push(&self, input: Input) {
        self.catch_up();
        self.enqueue(input);
        self.drain();
    }

    fn enqueue(&self, input: Input) {
        if let Ok(mut inbox) = self.0.inbox.try_borrow_mut() {
            inbox.push((now(), input));
        }
    }

    /// Handles the `track()` calls the loader kept (`dom::kept`), in order,
    /// and empties its array. Every input and every read of the widget comes
    /// after this, so the page sees the same order and the same answers as if
    /// each call had been handled when it was made; the loader also asks for
    /// it in idle time. A call kept while these are handled (from an `on()`
    /// callback) is handled in the same pass; a read made meanwhile answers
    /// at once instead of starting a second pass.
    pub(crate) fn catch_up(&self) {
        if self.0.catching_up.get() {
            return;
        }
        let Some(kept) = dom::kept() else { return };
        self.0.catching_up.set(true);
        let mut index = 0;
        // Each handled before the next is read: a thousand waiting in the
        // inbox at once would grow the module's memory past its budget.
        while index < kept.length() {
            let text = kept.get(index).as_string();
            match text.as_deref().and_then(crate::core::text::read_pairs) {
                Some((props, name)) => {
                    self.enqueue(Input::Signal(Signal::Track { name: name.to_string(), props }));
                    self.drain();
                }
                None => warn("track: a kept call could not be read"),
            }
            index += 1;
        }
        kept.set_length(0);
        self.0.catching_up.set(false);
    }

    pub(crate) fn signal(&self, signal: Signal) {
        self.push(Input::Signal(signal));
    }

    /// Processes inputs until none is left, each followed by its effects.
    fn drain(&self) {
        if self.0.draining.replace(true) {
            return;
        }
        loop {
            let next =
                self.0.inbox.try_borrow_mut().ok().and_then(|mut inbox| (!inbox.is_empty()).then(|| inbox.remove(0)));
            let Some((at, input)) = next else { break };
            self.dispatch(at, input);
            self.carry_out();
        }
        self.0.draining.set(false);
        self.arm_timer();
    }

    fn dispatch(&self, at: Timestamp, input: Input) {
        match input {
            Input::Signal(signal) => {
                self.session(|session| session.handle_signal(at, signal));
            }
            Input::Consent(source, verdict) => {
                self.session(|session| session.handle_consent(at, source, verdict));
            }
            Input::Timeout => {
                self.parts(|parts| parts.timer = None);
                self.session(|session| session.handle_timeout(at));
            }
            Input::OpenPanel => {
                // A second click opens it afresh.
                self.close(Part::Panel);
                let panel = views::load(Part::Panel, &self.inlet());
                self.parts(|parts| {
                    parts.panel = panel;
                    parts.erased = false;
                });
            }
            Input::ClosePanel => self.close(Part::Panel),
            Input::ErasePanel => {
                self.session(|session| session.handle_consent(at, Source::Panel, Verdict::Denied));
                self.parts(|parts| parts.erased = true);
                self.redraw();
            }
            Input::Loaded(part, module) => {
                let waited = self.parts(|parts| matches!(parts.view(part), View::Loading)).unwrap_or(false);
                if waited {
                    let view = views::open(part, &module, &self.inlet()).map_or(View::Closed, View::Open);
                    self.parts(|parts| *parts.view(part) = view);
                    self.redraw();
                }
            }
        }
    }

    /// Carries out the session's effects, in order, with nothing borrowed
    /// while page code may run.
    fn carry_out(&self) {
        while let Some(effect) = self.session(Session::poll_effect).flatten() {
            self.effect(effect);
        }
    }

    fn effect(&self, effect: Effect) {
        let key = || self.read(|session| session.key().to_string()).unwrap_or_default();
        match effect {
            Effect::ReadRecord => {
                let key = key();
                let text = self.parts(|parts| parts.record.read(&key)).flatten();
                self.session(|session| session.handle_stored(now(), text.as_deref()));
            }
            Effect::WriteRecord(text) => {
                let key = key();
                self.parts(|parts| parts.record.write(&key, text));
            }
            Effect::RemoveRecord => {
                let key = key();
                self.parts(|parts| parts.record.remove(&key));
            }
            Effect::Send(outgoing) => self.send(outgoing),
            Effect::Beacon(outgoing) => {
                if transport::beacon(&outgoing) {
                    self.session(|session| session.handle_answer(now(), &outgoing.lead_id, Answer::Beaconed));
                }
            }
            Effect::RequestErasure { url, body } => transport::request_erasure(&url, &body),
            Effect::Notify(notice) => {
                let calls = self.parts(|parts| parts.callbacks.calls(&notice)).unwrap_or_default();
                callbacks::run(calls);
            }
            Effect::Reveal(stage) => reveal(stage),
            Effect::MeasureScroll => {
                if let Some(percent) = capture::scroll_percent() {
                    self.session(|session| session.handle_signal(now(), Signal::Scrolled(percent)));
                }
            }
            Effect::Redraw => self.redraw(),
            Effect::Warn(message) => warn(&message),
        }
    }

    /// Redraws the open views from the session: the models are built
    /// first, and drawn with nothing borrowed.
    fn redraw(&self) {
        let draws = {
            let (Ok(session), Ok(parts)) = (self.0.session.try_borrow(), self.0.parts.try_borrow()) else { return };
            let storage = parts.record.kind();
            [
                parts.overlay.drawn().map(|drawn| (drawn, model::explain(&session, storage))),
                parts.panel.drawn().map(|drawn| (drawn, model::panel(&session, storage, parts.erased))),
            ]
        };
        for (drawn, model) in draws.into_iter().flatten() {
            views::draw(&drawn, &model);
        }
    }

    /// Closes a view, or forgets its module on the way.
    fn close(&self, part: Part) {
        let view = self.parts(|parts| core::mem::take(parts.view(part)));
        if let Some(View::Open(shown)) = view {
            shown.close();
        }
    }

    /// Keeps one timer armed at the session's next deadline.
    fn arm_timer(&self) {
        let Some(deadline) = self.read(Session::poll_timeout) else { return };
        let armed = self.parts(|parts| parts.timer.as_ref().map(|(at, _)| *at)).flatten();
        if deadline == armed {
            return;
        }
        let timer = deadline.and_then(|at| {
            let delay = at.millis_since(now()).min(u64::from(u32::MAX)) as u32;
            let inlet = self.inlet();
            Timer::new(delay, false, move || inlet.push(Input::Timeout)).map(|timer| (at, timer))
        });
        self.parts(|parts| parts.timer = timer);
    }

    /// Sends one lead under the send lock, one attempt at a time: the
    /// stored record is merged first (another tab may have delivered it),
    /// and the answer is stored before the lock is released.
    fn send(&self, outgoing: Outgoing) {
        let busy = self
            .parts(|parts| {
                if parts.sending {
                    parts.next = Some(outgoing.clone());
                }
                core::mem::replace(&mut parts.sending, true)
            })
            .unwrap_or(true);
        if busy {
            return;
        }
        let weak = self.downgrade();
        let lock = outgoing.lock.clone();
        transport::with_lock(&lock, move |release| {
            let Some(handle) = weak.upgrade() else { return };
            let Some(release) = release else {
                handle.answered(&outgoing.lead_id, Answer::Busy, None);
                return;
            };
            let key = handle.read(|session| session.key().to_string()).unwrap_or_default();
            let text = handle.parts(|parts| parts.record.read(&key)).flatten();
            handle.session(|session| session.handle_stored(now(), text.as_deref()));
            handle.carry_out();
            if !handle.read(|session| session.is_pending(&outgoing.lead_id)).unwrap_or(false) {
                handle.answered(&outgoing.lead_id, Answer::Finished, Some(release));
                return;
            }
            let lead_id = outgoing.lead_id.clone();
            transport::post(&outgoing, move |answer| {
                if let Some(handle) = weak.upgrade() {
                    handle.answered(&lead_id, answer, Some(release));
                }
            });
        });
    }

    /// An attempt ended: the session records it (and stores it) while the
    /// lock is still held; the lock goes a moment later, once the write has
    /// reached the other tabs (Chromium hands `localStorage` writes to other
    /// windows asynchronously, so a tab taking a just-released lock could
    /// otherwise read the outbox from before the answer); then the next lead
    /// may start.
    fn answered(&self, lead_id: &str, answer: Answer, release: Option<transport::Release>) {
        self.catch_up();
        self.session(|session| session.handle_answer(now(), lead_id, answer));
        self.carry_out();
        if let Some(release) = release {
            let mut held = Some(release);
            let timer = Timer::new(HANDOFF_MS, false, move || drop(held.take()));
            self.parts(|parts| parts.handoff = timer);
        }
        let next = self
            .parts(|parts| {
                parts.sending = false;
                parts.next.take()
            })
            .flatten();
        if let Some(next) = next {
            self.send(next);
        }
        self.drain();
    }

    /// Takes the config (or why there is none): the first one wins. Starts
    /// capture and the consent sources, then the session.
    pub(crate) fn configure(&self, config: Result<Config, String>) {
        if self.read(Session::is_configured).unwrap_or(true) {
            return;
        }
        self.session(|session| session.handle_config(now(), config));
        self.carry_out();
        let wanted = self
            .read(|session| {
                let config = session.engine()?.config();
                let wanted = Wanted {
                    capture: config.capture(),
                    identity_fields: config.identity_fields().to_vec(),
                    key: session.key().to_string(),
                };
                Some((wanted, config.privacy().clone()))
            })
            .flatten();
        let Some((wanted, privacy)) = wanted else { return };
        let inlet = self.inlet();
        let mut listeners = capture::install(wanted, &inlet);
        listeners.extend(privacy::install(&inlet));
        self.parts(|parts| parts.listeners = listeners);
        // The sources' first reports only set the starting point.
        let sources = consent::install(&privacy, &inlet);
        self.parts(|parts| parts.sources = Some(sources));
        self.session(|session| session.handle_ready(now()));
        self.carry_out();
        if self.read(Session::debug_requested).unwrap_or(false) {
            self.show_overlay(true);
        }
        self.drain();
    }

    /// Registers an `on()` callback.
    pub(crate) fn on(&self, kind: &str, callback: Function) {
        match NoticeKind::parse(kind) {
            Some(kind) => {
                self.parts(|parts| parts.callbacks.add(kind, callback));
            }
            None => warn(&cat!(
                "on(\"",
                kind,
                "\"): unknown event; use \"stage\", \"score\", \"mql\", \"sent\" or \"failed\""
            )),
        }
    }

    /// Shows or hides the debug overlay (loaded the first time).
    pub(crate) fn show_overlay(&self, show: bool) {
        let closed = self.parts(|parts| matches!(parts.overlay, View::Closed)).unwrap_or(false);
        if show && closed {
            let overlay = views::load(Part::Overlay, &self.inlet());
            self.parts(|parts| parts.overlay = overlay);
        } else if !show {
            self.close(Part::Overlay);
        }
    }

    /// The kind of store in use, for `explain()`.
    pub(crate) fn storage_kind(&self) -> &'static str {
        self.0.parts.try_borrow().map_or("memory", |parts| parts.record.kind())
    }
}
