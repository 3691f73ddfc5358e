//! Consent from the page's consent tools and the browser, beside
//! `leadscore.consent()`: an IAB TCF v2.2 CMP (`__tcfapi`), Google Consent
//! Mode v2 (the `dataLayer`), and the GPC and DNT signals. Each source only
//! reads what it says and reports it; the session combines the reports.
//! (The `leadscore:consent` DOM event is the loader's, so that one
//! dispatched before the module loaded is not lost.)

use crate::prelude::*;
use js_sys::{Array, Function};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

use super::dom::{self, own, Listener, Timer};
use super::inlet::{Inlet, Input};
use crate::core::config::Privacy;
use crate::core::text::uint;
use crate::session::{fold_consent_mode, tcf_verdict, ConsentModeCommand, Source, TcfReport, Verdict};

/// How often the dataLayer is looked at for Consent Mode updates. Reading
/// its length is all a tick costs; a withdrawal then takes effect well
/// within a second.
const CONSENT_MODE_POLL_MS: u32 = 500;

/// The sources' browser resources; dropping them stops the reports (the
/// TCF callback excepted: a CMP keeps it for the page's life).
pub(crate) struct Sources {
    _listeners: Vec<Listener>,
    _consent_mode_poll: Option<Timer>,
}

/// Reads what each source says now and subscribes to what comes later.
pub(crate) fn install(privacy: &Privacy, inlet: &Inlet) -> Sources {
    report_opt_outs(inlet);
    let mut listeners = Vec::new();
    // The visitor may change a browser setting while away from the page.
    if let Some(document) = dom::document() {
        let inlet = inlet.clone();
        listeners.extend(Listener::new(&document, "visibilitychange", true, true, move |_| {
            if dom::document().is_some_and(|document| !document.hidden()) {
                report_opt_outs(&inlet);
            }
        }));
    }
    let consent_mode_poll = if privacy.consent_mode { watch_data_layer(inlet) } else { None };
    if privacy.tcf {
        listen_to_tcf(inlet, privacy.tcf_purposes.clone());
    }
    Sources { _listeners: listeners, _consent_mode_poll: consent_mode_poll }
}

/// `navigator.globalPrivacyControl` and `navigator.doNotTrack == "1"`.
fn report_opt_outs(inlet: &Inlet) {
    let Some(navigator) = dom::window().map(|window| window.navigator()) else { return };
    let read = |name: &str| js_sys::Reflect::get(&navigator, &name.into()).unwrap_or(JsValue::UNDEFINED);
    let gpc = read("globalPrivacyControl").is_truthy();
    let dnt = read("doNotTrack").as_string().as_deref() == Some("1");
    inlet.push(Input::Consent(Source::Gpc, Verdict::from_bool(!gpc)));
    inlet.push(Input::Consent(Source::Dnt, Verdict::from_bool(!dnt)));
}

/// `__tcfapi('addEventListener', 2, callback)`: the CMP calls back now and
/// on every change.
fn listen_to_tcf(inlet: &Inlet, purposes: Vec<u8>) {
    let Some(api) = dom::global("__tcfapi").and_then(|api| api.dyn_into::<Function>().ok()) else { return };
    let inlet = inlet.clone();
    let closure = Closure::<dyn FnMut(JsValue, JsValue)>::new(move |data: JsValue, success: JsValue| {
        if !success.is_truthy() {
            return;
        }
        if let Some(verdict) = tcf_verdict(&tcf_report(&data), &purposes) {
            inlet.push(Input::Consent(Source::Tcf, verdict));
        }
    });
    // A CMP's stub queues the call until the CMP loads; either way the CMP
    // keeps the callback for the page's life, so it lives that long on
    // purpose (inert once the widget is gone: the inlet holds no widget).
    if let Some(callback) = dom::guarded(closure.as_ref()) {
        closure.forget();
        let _ = api.call3(&JsValue::UNDEFINED, &"addEventListener".into(), &2.into(), &callback);
    }
}

/// A TCF answer, read by its own properties only.
fn tcf_report(data: &JsValue) -> TcfReport {
    let consents = own(&own(data, "purpose"), "consents");
    TcfReport {
        gdpr_applies: own(data, "gdprApplies").as_bool(),
        event_status: own(data, "eventStatus").as_string().unwrap_or_default(),
        consented_purposes: (1..=11u8)
            .filter(|purpose| own(&consents, &uint(u64::from(*purpose))).is_truthy())
            .collect(),
    }
}

fn data_layer() -> Option<Array> {
    dom::global("dataLayer").and_then(|layer| layer.dyn_into::<Array>().ok())
}

/// The `gtag('consent', 'default' | 'update', {...})` commands in the
/// dataLayer from index `from`, and its length.
fn consent_commands(from: u32) -> (Vec<ConsentModeCommand>, u32) {
    let Some(layer) = data_layer() else { return (Vec::new(), from) };
    let length = layer.length();
    let mut commands = Vec::new();
    for index in from.min(length)..length {
        let entry = layer.get(index);
        if !entry.is_object() || own(&entry, "0").as_string().as_deref() != Some("consent") {
            continue;
        }
        let command = own(&entry, "1").as_string().unwrap_or_default();
        if command != "default" && command != "update" {
            continue;
        }
        let settings = own(&entry, "2");
        let state = |key: &str| own(&settings, key).as_string();
        commands.push(ConsentModeCommand {
            analytics_storage: state("analytics_storage"),
            ad_user_data: state("ad_user_data"),
        });
    }
    (commands, length)
}

/// Reads the dataLayer now, then looks at new entries twice a second,
/// without touching the page's `dataLayer.push` (tag managers replace it;
/// wrapping it could drop what they push).
fn watch_data_layer(inlet: &Inlet) -> Option<Timer> {
    let (commands, mut seen) = consent_commands(0);
    let mut verdict = fold_consent_mode(None, &commands);
    if let Some(granted) = verdict {
        inlet.push(Input::Consent(Source::ConsentMode, Verdict::from_bool(granted)));
    }
    data_layer()?;
    let inlet = inlet.clone();
    Timer::new(CONSENT_MODE_POLL_MS, true, move || {
        let length = data_layer().map_or(0, |layer| layer.length());
        if length == seen {
            return;
        }
        let (commands, read) = consent_commands(seen.min(length));
        seen = read;
        let now = fold_consent_mode(verdict, &commands);
        if now != verdict {
            verdict = now;
            let verdict = now.map_or(Verdict::Unset, Verdict::from_bool);
            inlet.push(Input::Consent(Source::ConsentMode, verdict));
        }
    })
}
