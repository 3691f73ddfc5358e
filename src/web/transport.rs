//! Lead delivery from the browser: queue a lead when the visitor qualifies,
//! post it with `fetch` keepalive (a CORS-simple `text/plain` body unless the
//! config asks for JSON), record the answer in the outbox per the retry
//! policy, and hand leads still due to `sendBeacon` when the page goes away.
//! Tabs take turns through the Web Locks API (a localStorage lease where it
//! is missing), and every attempt first merges what other tabs stored, so a
//! lead another tab delivered is never sent again.

use std::cell::RefCell;
use std::rc::Rc;

use gloo_timers::callback::Timeout;
use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::{future_to_promise, spawn_local, JsFuture};

use super::dom::{self, now, warn};
use super::shell::{Inner, Notice, WeakShared};
use crate::core::delivery::parse_retry_after;
use crate::core::lead::Lead;
use crate::core::outbox::Recorded;

/// Keepalive requests share a 64 KiB budget per page; leave room for headers.
const KEEPALIVE_MAX_BODY: usize = 60 * 1024;
/// An attempt with no answer by then counts as a network error, so a stalled
/// connection cannot hold the send lock (and every tab's leads) forever.
const ATTEMPT_TIMEOUT_MS: u32 = 15_000;
/// How soon to look again when another tab held the send lock.
const BUSY_RETRY_MS: u32 = 250;
/// How long a localStorage lease is honoured when Web Locks are missing.
const LEASE_MS: u64 = 15_000;

/// One attempt to make.
struct Job {
    lead_id: String,
    stage: &'static str,
    endpoint: String,
    body: String,
    json: bool,
    lock: String,
}

/// What the endpoint answered: a status (none for a network error) and a
/// readable `Retry-After`.
struct Answer {
    status: Option<u16>,
    retry_after: Option<String>,
}

impl Inner {
    /// Queues a lead if the visitor just qualified, and starts sending.
    pub(crate) fn queue_lead(&mut self) {
        if !self.active() || self.config().and_then(|config| config.endpoint()).is_none() {
            return;
        }
        let page = dom::window().and_then(|window| window.location().href().ok()).unwrap_or_default();
        let at = now();
        let Some(engine) = self.engine.as_mut() else { return };
        // The send loop's first step stores the new entry (it merges and
        // writes before picking a lead), so no write is needed here.
        if engine.enqueue_lead(at, &page).is_some() {
            self.schedule_flush();
            self.start_sending();
        }
    }

    /// Sends every waiting lead now (back online, or a new page load) instead
    /// of at its backoff time; a server's `Retry-After` still holds.
    pub(crate) fn send_waiting_now(&mut self) {
        if !self.active() || self.config().and_then(|config| config.endpoint()).is_none() {
            return;
        }
        // Merge first so leads other tabs left waiting are woken too; the
        // send loop's first step stores the wake.
        self.pull();
        let at = now();
        let Some(engine) = self.engine.as_mut() else { return };
        if engine.state().outbox().pending().is_empty() {
            return;
        }
        engine.outbox_mut().expedite(at);
        self.schedule_flush();
        self.start_sending();
    }

    /// Starts the send loop unless it is already running.
    pub(crate) fn start_sending(&mut self) {
        if self.sending || !self.active() {
            return;
        }
        self.sending = true;
        let weak = self.weak_self.clone();
        spawn_local(send_loop(weak));
    }

    /// The next due lead not already in flight, with its body; storage is
    /// merged first so another tab's progress counts.
    fn next_job(&mut self) -> Option<Job> {
        if !self.active() {
            return None;
        }
        self.sync();
        let at = now();
        let lock = format!("{}:send", self.key);
        let engine = self.engine.as_ref()?;
        let endpoint = engine.config().endpoint()?.to_string();
        let json = engine.config().delivery().json;
        let pending = engine.state().outbox().due(at).find(|entry| !self.in_flight.contains(&entry.lead_id))?.clone();
        let body = Lead::for_pending(engine, &pending, at).to_json_within(KEEPALIVE_MAX_BODY);
        self.in_flight.push(pending.lead_id.clone());
        Some(Job { lead_id: pending.lead_id, stage: pending.stage.as_str(), endpoint, body, json, lock })
    }

    /// Whether `lead_id` is still waiting once other tabs' writes are merged.
    fn still_pending(&mut self, lead_id: &str) -> bool {
        self.pull();
        self.engine
            .as_ref()
            .is_some_and(|engine| engine.state().outbox().pending().iter().any(|entry| entry.lead_id == lead_id))
    }

    /// Records an answer, stores it, and says whom to tell.
    fn record_answer(&mut self, job: &Job, answer: Answer) -> Notice {
        self.in_flight.retain(|id| *id != job.lead_id);
        let mut notice = Notice::default();
        let at = now();
        let Some(engine) = self.engine.as_mut() else { return notice };
        let policy = engine.config().delivery().retry;
        let retry_after = answer.retry_after.as_deref().and_then(|value| parse_retry_after(value, at));
        let jitter = js_sys::Math::random();
        let recorded = engine.outbox_mut().record(&job.lead_id, at, answer.status, retry_after, jitter, &policy);
        let status = answer.status.map_or(JsValue::NULL, JsValue::from);
        match recorded {
            Recorded::Delivered => notice.push(&self.callbacks, "sent", report(job, &status, None)),
            Recorded::Rejected => {
                warn(&format!("lead {} refused: HTTP {}", job.lead_id, answer.status.unwrap_or(0)));
                notice.push(&self.callbacks, "failed", report(job, &status, Some("rejected")));
            }
            Recorded::Expired => {
                warn(&format!("lead {} given up after the retry bound", job.lead_id));
                notice.push(&self.callbacks, "failed", report(job, &status, Some("expired")));
            }
            Recorded::RetryAt(_) | Recorded::Unknown => {}
        }
        // Stored before the send lock is released, so the next holder sees it.
        self.dirty = true;
        self.flush();
        notice
    }

    /// Arms a timer for the next retry; soon when another tab held the lock.
    fn schedule_retry(&mut self, lock_was_busy: bool) {
        self.retry_timer = None;
        let Some(next) = self.engine.as_ref().and_then(|engine| engine.state().outbox().next_due()) else { return };
        let mut delay = next.millis_since(now()).min(u64::from(u32::MAX)) as u32;
        if lock_was_busy {
            delay = delay.max(BUSY_RETRY_MS);
        }
        let weak = self.weak_self.clone();
        self.retry_timer = Some(Timeout::new(delay, move || {
            if let Some(shared) = weak.upgrade() {
                if let Ok(mut inner) = shared.try_borrow_mut() {
                    inner.start_sending();
                }
            }
        }));
    }

    /// The page is going away: due leads not in flight go by beacon, and stay
    /// queued until a later answer confirms them (the endpoint is idempotent).
    pub(crate) fn beacon(&mut self) {
        if !self.active() {
            return;
        }
        let Some(navigator) = dom::window().map(|window| window.navigator()) else { return };
        let at = now();
        let Some(engine) = self.engine.as_mut() else { return };
        let Some(endpoint) = engine.config().endpoint().map(str::to_string) else { return };
        let policy = engine.config().delivery().retry;
        let due: Vec<_> =
            engine.state().outbox().due(at).filter(|entry| !self.in_flight.contains(&entry.lead_id)).cloned().collect();
        for pending in due {
            let body = Lead::for_pending(engine, &pending, at).to_json_within(KEEPALIVE_MAX_BODY);
            if navigator.send_beacon_with_opt_str(&endpoint, Some(&body)).unwrap_or(false) {
                engine.outbox_mut().sent_blind(&pending.lead_id, at, js_sys::Math::random(), &policy);
                self.dirty = true;
            }
        }
    }
}

fn report(job: &Job, status: &JsValue, reason: Option<&str>) -> JsValue {
    let object = Object::new();
    let _ = Reflect::set(&object, &"lead_id".into(), &job.lead_id.as_str().into());
    let _ = Reflect::set(&object, &"stage".into(), &job.stage.into());
    let _ = Reflect::set(&object, &"status".into(), status);
    if let Some(reason) = reason {
        let _ = Reflect::set(&object, &"reason".into(), &reason.into());
    }
    object.into()
}

/// Sends due leads one at a time until none is due, then arms the retry timer.
async fn send_loop(weak: WeakShared) {
    let mut busy = false;
    while let Some(Some(job)) = weak.upgrade().map(|shared| shared.borrow_mut().next_job()) {
        let lead_id = job.lead_id.clone();
        let lock = job.lock.clone();
        match locked(&lock, weak.clone(), job).await {
            Attempt::Sent(notice) => notice.deliver(),
            outcome => {
                if let Some(shared) = weak.upgrade() {
                    shared.borrow_mut().in_flight.retain(|id| *id != lead_id);
                }
                if matches!(outcome, Attempt::Busy) {
                    busy = true;
                    break;
                }
            }
        }
    }
    if let Some(shared) = weak.upgrade() {
        let mut inner = shared.borrow_mut();
        inner.sending = false;
        inner.schedule_retry(busy);
    }
}

/// Runs one attempt while holding the site's send lock. The answer is
/// recorded and stored before the lock is released, so the next holder sees
/// it. [`Attempt::Busy`] when another tab holds the lock (or none could be
/// had), [`Attempt::Finished`] when another tab finished the lead meanwhile.
async fn locked(name: &str, weak: WeakShared, job: Job) -> Attempt {
    let result: Rc<RefCell<Option<Attempt>>> = Rc::new(RefCell::new(None));
    let locks = dom::window()
        .and_then(|window| Reflect::get(&window.navigator(), &"locks".into()).ok())
        .filter(|locks| locks.is_object());
    match locks {
        Some(locks) => {
            let slot = result.clone();
            let busy = result.clone();
            let callback = Closure::once_into_js(move |lock: JsValue| -> Promise {
                if lock.is_null() {
                    *busy.borrow_mut() = Some(Attempt::Busy);
                    return Promise::resolve(&JsValue::NULL);
                }
                future_to_promise(async move {
                    // Awaited before borrowing the slot: a borrow held across
                    // the await would still be live when the result is taken.
                    let outcome = attempt(&weak, job).await;
                    *slot.borrow_mut() = Some(outcome);
                    Ok(JsValue::UNDEFINED)
                })
            });
            let Some(request) =
                Reflect::get(&locks, &"request".into()).ok().and_then(|f| f.dyn_into::<Function>().ok())
            else {
                return Attempt::Busy;
            };
            // ifAvailable: a tab that finds the lock taken steps back and looks
            // again shortly, by which time the holder has stored its answer.
            let options = Object::new();
            let _ = Reflect::set(&options, &"ifAvailable".into(), &JsValue::TRUE);
            let Some(promise) = request
                .call3(&locks, &name.into(), &options, &callback)
                .ok()
                .and_then(|p| p.dyn_into::<Promise>().ok())
            else {
                return Attempt::Busy;
            };
            let _ = JsFuture::from(promise).await;
        }
        None => {
            let Some(storage) = dom::window().and_then(|window| window.local_storage().ok().flatten()) else {
                return Attempt::Busy;
            };
            let lease_key = format!("{name}:lease");
            let me = format!("{}", js_sys::Math::random());
            let at = now().as_millis();
            // Any unexpired lease is another tab's: ours is made fresh per attempt.
            let held_by_other = storage.get_item(&lease_key).ok().flatten().is_some_and(|lease| {
                let until = lease.split_once(' ').map_or("0", |(_, until)| until);
                until.parse::<u64>().unwrap_or(0) > at
            });
            if held_by_other || storage.set_item(&lease_key, &format!("{me} {}", at + LEASE_MS)).is_err() {
                return Attempt::Busy;
            }
            // Last writer wins the lease; read back to see whether that was us.
            if !storage.get_item(&lease_key).ok().flatten().is_some_and(|lease| lease.starts_with(&format!("{me} "))) {
                return Attempt::Busy;
            }
            let outcome = attempt(&weak, job).await;
            let _ = storage.remove_item(&lease_key);
            return outcome;
        }
    }
    result.take().unwrap_or(Attempt::Busy)
}

/// One POST if the lead is still pending once other tabs are merged, its
/// answer recorded and stored.
async fn attempt(weak: &WeakShared, job: Job) -> Attempt {
    let still_pending = weak.upgrade().is_some_and(|shared| shared.borrow_mut().still_pending(&job.lead_id));
    if !still_pending {
        return Attempt::Finished;
    }
    let answer = post(&job).await;
    match weak.upgrade() {
        Some(shared) => Attempt::Sent(shared.borrow_mut().record_answer(&job, answer)),
        None => Attempt::Finished,
    }
}

/// How a turn at the send lock went.
enum Attempt {
    /// Posted; the answer is recorded and stored.
    Sent(Notice),
    /// Another tab finished the lead meanwhile.
    Finished,
    /// Another tab holds the lock; look again shortly.
    Busy,
}

impl Inner {
    /// Asks the collector to erase what it received about this visitor, if
    /// a lead may have reached it and the config names where to ask. Sent
    /// once, with keepalive so it survives the page; the answer is not
    /// waited for (the collector also suppresses the visitor's later leads).
    pub(crate) fn request_erasure(&mut self) {
        let Some(engine) = self.engine.as_ref() else { return };
        if !engine.state().outbox().may_have_sent() {
            return;
        }
        let (Some(url), Some(window)) = (engine.config().erase_endpoint(), dom::window()) else { return };
        #[derive(serde::Serialize)]
        struct Erase<'a> {
            site: &'a str,
            visitor_id: &'a str,
        }
        let body = Erase { site: engine.config().site(), visitor_id: engine.state().visitor_id() };
        let Ok(body) = serde_json::to_string(&body) else { return };
        let init = web_sys::RequestInit::new();
        init.set_method("POST");
        init.set_body(&JsValue::from_str(&body));
        init.set_credentials(web_sys::RequestCredentials::Omit);
        init.set_mode(web_sys::RequestMode::Cors);
        let _ = Reflect::set(&init, &"keepalive".into(), &JsValue::TRUE);
        let request = window.fetch_with_str_and_init(&url, &init);
        // A rejected promise must not surface as an unhandled rejection on the page.
        wasm_bindgen_futures::spawn_local(async move {
            let _ = JsFuture::from(request).await;
        });
        self.erasure_requested = true;
    }
}

async fn post(job: &Job) -> Answer {
    let network_error = Answer { status: None, retry_after: None };
    let Some(window) = dom::window() else { return network_error };
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_body(&JsValue::from_str(&job.body));
    init.set_credentials(web_sys::RequestCredentials::Omit);
    init.set_mode(web_sys::RequestMode::Cors);
    // keepalive lets the request outlive the page (web-sys lacks a setter).
    let _ = Reflect::set(&init, &"keepalive".into(), &JsValue::TRUE);
    let abort = web_sys::AbortController::new().ok();
    if let Some(abort) = &abort {
        init.set_signal(Some(&abort.signal()));
    }
    // Dropped (cancelled) as soon as the answer arrives.
    let _deadline = abort.map(|abort| Timeout::new(ATTEMPT_TIMEOUT_MS, move || abort.abort()));
    if job.json {
        let headers = Object::new();
        let _ = Reflect::set(&headers, &"Content-Type".into(), &"application/json".into());
        init.set_headers(&headers);
    }
    let response = match JsFuture::from(window.fetch_with_str_and_init(&job.endpoint, &init)).await {
        Ok(response) => response,
        Err(_) => return network_error,
    };
    let Ok(response) = response.dyn_into::<web_sys::Response>() else { return network_error };
    let retry_after = response.headers().get("Retry-After").ok().flatten();
    Answer { status: Some(response.status()), retry_after }
}
