//! The page's `on(kind, callback)` functions: the only place a page
//! function is kept. The session says what happened ([`Notice`]); this
//! turns it into the value each callback gets.

use crate::prelude::*;
use js_sys::Function;
use wasm_bindgen::{JsCast, JsValue};

use super::dom::Plain;
use crate::session::{Notice, NoticeKind};

#[derive(Default)]
pub(crate) struct Callbacks {
    registered: Vec<(NoticeKind, Function)>,
}

impl Callbacks {
    pub(crate) fn add(&mut self, kind: NoticeKind, callback: Function) {
        self.registered.push((kind, callback));
    }

    /// The callbacks to run for `notice`, each with its value. Returned, not
    /// run, so the caller runs them with nothing of the widget borrowed.
    pub(crate) fn calls(&self, notice: &Notice) -> Vec<(Function, JsValue)> {
        let kind = notice.kind();
        let mut calls = Vec::new();
        for (registered, callback) in &self.registered {
            if *registered == kind {
                calls.push((callback.clone(), value(notice)));
            }
        }
        calls
    }
}

fn value(notice: &Notice) -> JsValue {
    match notice {
        Notice::Score(score) => JsValue::from_f64(*score as f64),
        Notice::Stage(stage) | Notice::Mql(stage) => JsValue::from_str(stage.as_str()),
        Notice::Sent { lead_id, stage, status } => report(lead_id, stage.as_str(), JsValue::from(*status), None),
        Notice::Failed { lead_id, stage, status, reason } => {
            report(lead_id, stage.as_str(), status.map_or(JsValue::NULL, JsValue::from), Some(reason))
        }
    }
}

fn report(lead_id: &str, stage: &str, status: JsValue, reason: Option<&str>) -> JsValue {
    let object: Plain = js_sys::Object::new().unchecked_into();
    object.set("lead_id", &lead_id.into());
    object.set("stage", &stage.into());
    object.set("status", &status);
    if let Some(reason) = reason {
        object.set("reason", &reason.into());
    }
    object.into()
}

/// Runs callbacks; a throwing one is reported, never rethrown.
pub(crate) fn run(calls: Vec<(Function, JsValue)>) {
    for (callback, value) in calls {
        if callback.call1(&JsValue::NULL, &value).is_err() {
            super::dom::warn("an on() callback threw; the widget carries on");
        }
    }
}
