//! What the shell shows of the session, as plain objects: `explain()`'s
//! answer, which the debug overlay also draws, and the privacy panel's
//! model (the same, with what the panel says besides).

use crate::prelude::*;
use wasm_bindgen::JsValue;

use super::dom::{now, Plain};
use super::js_data;
use crate::session::Session;

/// Everything the widget knows about this visitor (`null` before a config).
pub(crate) fn explain(session: &Session, storage: &str) -> JsValue {
    let Some(engine) = session.engine() else { return JsValue::NULL };
    let at = now();
    let (score, stage) = engine.standing(at);
    let number = |value: f64| JsValue::from_f64(value);
    let ledger = engine.ledger(at).into_iter().map(|entry| {
        js_data::object([
            ("rule", JsValue::from(entry.rule_id)),
            ("points", number(entry.points)),
            ("count", number(entry.count.into())),
            ("first", number(entry.first.as_millis() as f64)),
            ("last", number(entry.last.as_millis() as f64)),
        ])
    });
    // By field name; a list sorted in place, not a map: each map type
    // costs the wasm its own copy of the B-tree code.
    let mut identity: Vec<(&str, String)> =
        engine.state().identity().iter().map(|(field, value)| (field.name(), value.to_string())).collect();
    crate::core::small_sort::sort_by(&mut identity, |a, b| a.0.cmp(b.0));
    let warnings = engine.config().warnings().iter().cloned().chain(session.storage_warning().map(str::to_string));
    let outbox = engine.state().outbox();
    js_data::object([
        ("site", JsValue::from(engine.config().site())),
        ("score", number(score)),
        ("stage", JsValue::from(stage.as_str())),
        ("grade", JsValue::from(engine.grade().as_str())),
        ("fit", number(engine.fit_points() as f64)),
        ("consent", JsValue::from(session.active())),
        ("opt_out", session.refusal().map_or(JsValue::NULL, JsValue::from)),
        ("storage", JsValue::from(storage)),
        ("visitor", JsValue::from(engine.state().visitor_id())),
        ("ledger", js_data::array(ledger)),
        ("identity", js_data::object(identity.into_iter().map(|(field, value)| (field, JsValue::from(value))))),
        ("warnings", js_data::array(warnings.map(JsValue::from))),
        (
            "outbox",
            js_data::object([
                ("pending", number(outbox.pending().len() as f64)),
                ("dropped", number(outbox.dropped().into())),
                ("expired", number(outbox.expired().into())),
                ("rejected", number(outbox.rejected().into())),
            ]),
        ),
    ])
}

/// The privacy panel's model: `explain()`'s, plus how many actions are
/// recorded, the retention, whether anything may have been sent or an
/// erasure asked for, whether this page is scored in memory only, the
/// identity as `name: value` lines, and whether the visitor just erased.
pub(crate) fn panel(session: &Session, storage: &str, erased: bool) -> JsValue {
    let model = explain(session, storage);
    let Some(engine) = session.engine() else { return model };
    let state = engine.state();
    let plain: &Plain = wasm_bindgen::JsCast::unchecked_ref(&model);
    let lines =
        state.identity().iter().map(|(field, value)| JsValue::from(cat!(field.name().replace('_', " "), ": ", value)));
    plain.set("fields", &js_data::array(lines));
    plain.set("events", &JsValue::from_f64(state.evidence().len() as f64));
    plain.set("retention_days", &JsValue::from_f64(engine.config().privacy().retention_days.into()));
    plain.set("sent", &JsValue::from(state.outbox().may_have_sent()));
    plain.set("asked", &JsValue::from(session.erasure_requested()));
    plain.set("in_memory", &JsValue::from(session.may_score()));
    plain.set("erased", &JsValue::from(erased));
    model
}
