//! Consent from the page's consent tools, beside `leadscore.consent()`: an
//! IAB TCF v2.2 CMP (`__tcfapi`), Google Consent Mode v2 (the `dataLayer`),
//! and a DOM event any other tool can dispatch. Each only reports what it
//! says; the shell combines the reports, and a refusal from any source wins.

use gloo_events::EventListener;
use gloo_timers::callback::Interval;
use js_sys::{Array, Function, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

use super::capture::with;
use super::dom;
use super::shell::{Inner, Shared, WeakShared};

/// The DOM event a consent tool dispatches on `window`:
/// `new CustomEvent('leadscore:consent', {detail: true})` (or `{detail: {granted: false}}`).
pub(crate) const CONSENT_EVENT: &str = "leadscore:consent";

/// How often the dataLayer is looked at for Consent Mode updates. Reading
/// its length is all a tick costs; a withdrawal then takes effect well
/// within a second.
const CONSENT_MODE_POLL_MS: u32 = 500;

/// What the page's consent tools currently say, each `None` until it speaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Reports {
    /// The TCF CMP: purpose 1 and the configured purposes, where GDPR applies.
    pub tcf: Option<bool>,
    /// Consent Mode: `analytics_storage` and `ad_user_data`.
    pub consent_mode: Option<bool>,
}

/// Reads what is already there (the dataLayer's consent commands) and
/// subscribes to what comes later. Returns the listener to keep.
pub(crate) fn install(shared: &Shared) -> Vec<EventListener> {
    let Some(window) = dom::window() else { return Vec::new() };
    let Some(privacy) = shared.borrow().config().map(|config| config.privacy().clone()) else { return Vec::new() };
    let weak = std::rc::Rc::downgrade(shared);
    if privacy.consent_mode {
        let (verdict, seen) = consent_mode(0, None);
        shared.borrow_mut().reports.consent_mode = verdict;
        if dom::global("dataLayer").is_some() {
            watch_data_layer(&weak, seen, verdict);
        }
    }
    if privacy.tcf {
        listen_to_tcf(&weak, privacy.tcf_purposes);
    }
    let weak_event = weak.clone();
    let listener = EventListener::new(&window, CONSENT_EVENT, move |event| {
        let detail = event.dyn_ref::<web_sys::CustomEvent>().map(|event| event.detail()).unwrap_or(JsValue::UNDEFINED);
        let granted = detail.as_bool().or_else(|| Reflect::get(&detail, &"granted".into()).ok()?.as_bool());
        match granted {
            Some(granted) => with(&weak_event, |inner| inner.change_basis(|inner| inner.consent = Some(granted))),
            None => dom::warn("leadscore:consent: detail must be true, false or {granted: true|false}"),
        }
    });
    vec![listener]
}

/// `__tcfapi('addEventListener', 2, callback)`: the CMP calls back now and on
/// every change. Only final answers count (`tcloaded`, `useractioncomplete`);
/// where `gdprApplies` is false, TCF says nothing either way.
fn listen_to_tcf(weak: &WeakShared, purposes: Vec<u8>) {
    let Some(api) = dom::global("__tcfapi").and_then(|api| api.dyn_into::<Function>().ok()) else { return };
    let weak = weak.clone();
    let callback = Closure::<dyn FnMut(JsValue, JsValue)>::new(move |data: JsValue, success: JsValue| {
        if !success.is_truthy() {
            return;
        }
        if let Some(verdict) = tcf_verdict(&data, &purposes) {
            with(&weak, |inner| inner.change_basis(|inner| inner.reports.tcf = verdict));
        }
    });
    // A CMP's stub queues the call until the CMP loads; either way the
    // callback is kept for the page's life, on purpose.
    let _ = api.call3(&JsValue::UNDEFINED, &"addEventListener".into(), &2.into(), callback.as_ref());
    callback.forget();
}

/// `Some(report)` for a final TCF answer, `None` while the CMP is still asking.
fn tcf_verdict(data: &JsValue, purposes: &[u8]) -> Option<Option<bool>> {
    let get = |target: &JsValue, key: &str| Reflect::get(target, &key.into()).unwrap_or(JsValue::UNDEFINED);
    if get(data, "gdprApplies").as_bool() == Some(false) {
        return Some(None);
    }
    let status = get(data, "eventStatus").as_string().unwrap_or_default();
    if status != "tcloaded" && status != "useractioncomplete" {
        return None;
    }
    let consents = get(&get(data, "purpose"), "consents");
    let consented = |purpose: u8| get(&consents, &purpose.to_string()).is_truthy();
    Some(Some(consented(1) && purposes.iter().all(|purpose| consented(*purpose))))
}

/// Folds the dataLayer's `gtag('consent', 'default' | 'update', {...})`
/// commands from index `from` onto `verdict`; returns the verdict and how
/// many entries were read. Granted needs `analytics_storage` granted and
/// `ad_user_data` not denied; either denied is a refusal.
fn consent_mode(from: u32, mut verdict: Option<bool>) -> (Option<bool>, u32) {
    let Some(layer) = dom::global("dataLayer").and_then(|layer| layer.dyn_into::<Array>().ok()) else {
        return (verdict, from);
    };
    let length = layer.length();
    for index in from..length {
        let entry = layer.get(index);
        if !entry.is_object()
            || Reflect::get(&entry, &0.into()).ok().and_then(|v| v.as_string()).as_deref() != Some("consent")
        {
            continue;
        }
        let command = Reflect::get(&entry, &1.into()).ok().and_then(|v| v.as_string()).unwrap_or_default();
        if command != "default" && command != "update" {
            continue;
        }
        let Ok(settings) = Reflect::get(&entry, &2.into()) else { continue };
        let state = |key: &str| Reflect::get(&settings, &key.into()).ok().and_then(|v| v.as_string());
        let analytics = state("analytics_storage");
        let ad_user_data = state("ad_user_data");
        if analytics.is_none() && ad_user_data.is_none() {
            continue;
        }
        let denied = |value: &Option<String>| value.as_deref() == Some("denied");
        verdict = if denied(&analytics) || denied(&ad_user_data) {
            Some(false)
        } else if analytics.as_deref() == Some("granted") {
            Some(true)
        } else {
            verdict
        };
    }
    (verdict, length)
}

/// Looks at new dataLayer entries every second, without touching the
/// page's `dataLayer.push` (tag managers replace it; wrapping it could drop
/// what they push).
fn watch_data_layer(weak: &WeakShared, mut seen: u32, mut verdict: Option<bool>) {
    let weak_tick = weak.clone();
    let interval = Interval::new(CONSENT_MODE_POLL_MS, move || {
        let length =
            dom::global("dataLayer").and_then(|layer| layer.dyn_into::<Array>().ok()).map_or(0, |l| l.length());
        if length == seen {
            return;
        }
        let (now, read) = consent_mode(seen.min(length), verdict);
        seen = read;
        if now != verdict {
            verdict = now;
            with(&weak_tick, |inner| inner.change_basis(|inner| inner.reports.consent_mode = now));
        }
    });
    if let Some(shared) = weak.upgrade() {
        shared.borrow_mut().consent_poll = Some(interval);
    }
}

impl Inner {
    /// The source refusing consent, if any: a browser opt-out (`gpc`,
    /// `dnt`), or a consent tool (`tcf`, `consent_mode`).
    pub(crate) fn refusal(&self) -> Option<&'static str> {
        self.opt_out.or(match self.reports {
            Reports { tcf: Some(false), .. } => Some("tcf"),
            Reports { consent_mode: Some(false), .. } => Some("consent_mode"),
            _ => None,
        })
    }

    /// Whether a consent tool granted consent.
    pub(crate) fn tool_granted(&self) -> bool {
        self.reports.tcf == Some(true) || self.reports.consent_mode == Some(true)
    }
}
