//! The network and the send lock, as the session's effects need them:
//! posting a lead with `fetch` keepalive (a CORS-simple `text/plain` body
//! unless the config asks for JSON), `sendBeacon` as the page goes away,
//! the erasure request, the config fetch. Always through the browser's own
//! `fetch` and `sendBeacon` as the loader found them, so a wrapper a page
//! installs later never sees a lead. Tabs take turns through the Web Locks
//! API (a localStorage lease where it is missing).

use crate::prelude::*;
use alloc::rc::Rc;
use core::cell::RefCell;

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use super::dom::{self, now, then, Plain, Timer};
use crate::core::text::uint;
use crate::session::{Answer, Outgoing};

/// An attempt with no answer by then counts as a network error, so a stalled
/// connection cannot hold the send lock (and every tab's leads) forever.
const ATTEMPT_TIMEOUT_MS: u32 = 15_000;
/// How long a localStorage lease is honoured when Web Locks are missing.
const LEASE_MS: u64 = 15_000;

/// A value that one of several callbacks takes, whichever runs first.
struct Slot<T>(Rc<RefCell<Option<T>>>);

impl<T> Slot<T> {
    fn new(value: T) -> Slot<T> {
        Slot(Rc::new(RefCell::new(Some(value))))
    }

    fn take(&self) -> Option<T> {
        self.0.try_borrow_mut().ok().and_then(|mut slot| slot.take())
    }
}

impl<T> Clone for Slot<T> {
    fn clone(&self) -> Slot<T> {
        Slot(self.0.clone())
    }
}

/// The held send lock; released when dropped.
pub(crate) struct Release(Option<Box<dyn FnOnce()>>);

impl Drop for Release {
    fn drop(&mut self) {
        if let Some(release) = self.0.take() {
            release();
        }
    }
}

/// Runs `granted` holding the site's send lock named `name`, or with `None`
/// when another tab holds it (or no lock could be had). The lock is held
/// until the [`Release`] is dropped.
pub(crate) fn with_lock(name: &str, granted: impl FnOnce(Option<Release>) + 'static) {
    let granted = Slot::new(granted);
    let locks = dom::window()
        .and_then(|window| Reflect::get(&window.navigator(), &"locks".into()).ok())
        .filter(|locks| locks.is_object());
    let Some(locks) = locks else { return with_lease(name, granted) };
    let on_grant = granted.clone();
    let callback = dom::once(move |lock: JsValue| -> JsValue {
        let Some(granted) = on_grant.take() else { return Promise::resolve(&JsValue::NULL).into() };
        if lock.is_null() {
            granted(None);
            return Promise::resolve(&JsValue::NULL).into();
        }
        let mut resolve: Option<Function> = None;
        let held = Promise::new(&mut |resolved, _| resolve = Some(resolved));
        granted(Some(Release(Some(Box::new(move || {
            if let Some(resolve) = resolve {
                let _ = resolve.call0(&JsValue::NULL);
            }
        })))));
        held.into()
    });
    let request = Reflect::get(&locks, &"request".into()).ok().and_then(|f| f.dyn_into::<Function>().ok());
    let options: Plain = js_sys::Object::new().unchecked_into();
    // ifAvailable: a tab that finds the lock taken steps back and looks
    // again shortly, by which time the holder has stored its answer.
    options.set("ifAvailable", &JsValue::TRUE);
    let promise = match (request, callback) {
        (Some(request), Some(callback)) => request
            .call3(&locks, &name.into(), &options, &callback)
            .ok()
            .and_then(|promise| promise.dyn_into::<Promise>().ok()),
        _ => None,
    };
    match promise {
        Some(promise) => {
            let on_failure = granted.clone();
            then(
                &promise,
                |_| {},
                move |_| {
                    if let Some(granted) = on_failure.take() {
                        granted(None);
                    }
                },
            );
        }
        None => {
            if let Some(granted) = granted.take() {
                granted(None);
            }
        }
    }
}

/// The lock where Web Locks are missing: a lease in localStorage.
fn with_lease(name: &str, granted: Slot<impl FnOnce(Option<Release>) + 'static>) {
    let Some(granted) = granted.take() else { return };
    let Some(storage) = dom::window().and_then(|window| window.local_storage().ok().flatten()) else {
        return granted(None);
    };
    let lease_key = cat!(name, ":lease");
    let me = uint((js_sys::Math::random() * 9_007_199_254_740_992.0) as u64);
    let at = now().as_millis();
    // Any unexpired lease is another tab's: ours is made fresh per attempt.
    let held_by_other = storage.get_item(&lease_key).ok().flatten().is_some_and(|lease| {
        let until = lease.split_once(' ').map_or("0", |(_, until)| until);
        crate::core::text::decimal(until).unwrap_or(0) > at
    });
    if held_by_other || storage.set_item(&lease_key, &cat!(me, " ", uint(at + LEASE_MS))).is_err() {
        return granted(None);
    }
    // Last writer wins the lease; read back to see whether that was us.
    if !storage.get_item(&lease_key).ok().flatten().is_some_and(|lease| lease.starts_with(&cat!(me, " "))) {
        return granted(None);
    }
    granted(Some(Release(Some(Box::new(move || {
        let _ = storage.remove_item(&lease_key);
    })))));
}

/// A `fetch` init: CORS, no credentials, keepalive (so the request outlives
/// the page), as a plain object.
fn request_init(body: &str) -> Plain {
    let init: Plain = js_sys::Object::new().unchecked_into();
    init.set("method", &"POST".into());
    init.set("body", &body.into());
    init.set("credentials", &"omit".into());
    init.set("mode", &"cors".into());
    init.set("keepalive", &JsValue::TRUE);
    init
}

/// Posts one lead; `answered` gets how it went (exactly once).
pub(crate) fn post(outgoing: &Outgoing, answered: impl FnOnce(Answer) + 'static) {
    let init = request_init(&outgoing.body);
    if outgoing.json {
        let headers: Plain = js_sys::Object::new().unchecked_into();
        headers.set("Content-Type", &"application/json".into());
        init.set("headers", &headers);
    }
    let abort = web_sys::AbortController::new().ok();
    if let Some(abort) = &abort {
        init.set("signal", &abort.signal());
    }
    // Dropped (cancelled) as soon as the answer arrives.
    let deadline = abort.and_then(|abort| Timer::new(ATTEMPT_TIMEOUT_MS, false, move || abort.abort()));
    let answered = Slot::new((answered, deadline));
    let Some(promise) = dom::fetch(&outgoing.endpoint, &init) else {
        if let Some((answered, _)) = answered.take() {
            answered(Answer::NetworkError);
        }
        return;
    };
    let on_error = answered.clone();
    then(
        &promise,
        move |response| {
            let Some((answered, _deadline)) = answered.take() else { return };
            match response.dyn_into::<web_sys::Response>() {
                Ok(response) => answered(Answer::Status {
                    status: response.status(),
                    retry_after: response.headers().get("Retry-After").ok().flatten(),
                }),
                Err(_) => answered(Answer::NetworkError),
            }
        },
        move |_| {
            if let Some((answered, _deadline)) = on_error.take() {
                answered(Answer::NetworkError);
            }
        },
    );
}

/// Hands a lead to `sendBeacon`; whether the browser took it.
pub(crate) fn beacon(outgoing: &Outgoing) -> bool {
    dom::send_beacon(&outgoing.endpoint, &outgoing.body)
}

/// Asks the collector to erase a visitor: sent once, with keepalive so it
/// survives the page; the answer is not waited for (the collector also
/// suppresses the visitor's later leads).
pub(crate) fn request_erasure(url: &str, body: &str) {
    if let Some(promise) = dom::fetch(url, &request_init(body)) {
        // Handled, so a failure never surfaces as an unhandled rejection.
        then(&promise, |_| {}, |_| {});
    }
}

/// Fetches a config document; `done` gets its text or why not.
pub(crate) fn fetch_text(url: &str, done: impl FnOnce(Result<String, String>) + 'static) {
    let init: Plain = js_sys::Object::new().unchecked_into();
    init.set("credentials", &"omit".into());
    let done = Slot::new(done);
    let Some(promise) = dom::fetch(url, &init) else {
        if let Some(done) = done.take() {
            done(Err("could not be fetched".into()));
        }
        return;
    };
    let (on_error, on_body, on_body_error) = (done.clone(), done.clone(), done.clone());
    then(
        &promise,
        move |response| {
            let Ok(response) = response.dyn_into::<web_sys::Response>() else {
                if let Some(done) = done.take() {
                    done(Err("not a response".into()));
                }
                return;
            };
            if !response.ok() {
                if let Some(done) = done.take() {
                    done(Err(cat!("answered HTTP ", uint(u64::from(response.status())))));
                }
                return;
            }
            match response.text() {
                Ok(text) => then(
                    &text,
                    move |text| {
                        if let Some(done) = on_body.take() {
                            done(text.as_string().ok_or_else(|| "unreadable body".into()));
                        }
                    },
                    move |_| {
                        if let Some(done) = on_body_error.take() {
                            done(Err("unreadable body".into()));
                        }
                    },
                ),
                Err(_) => {
                    if let Some(done) = done.take() {
                        done(Err("unreadable body".into()));
                    }
                }
            }
        },
        move |_| {
            if let Some(done) = on_error.take() {
                done(Err("could not be fetched".into()));
            }
        },
    );
}
