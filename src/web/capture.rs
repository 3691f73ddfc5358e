//! Automatic capture: the page's own events turned into [`Signal`]s. One
//! delegated, passive, capture-phase listener per event type on the
//! document or window, each reporting through the [`Inlet`]; dropping the
//! listeners removes them. History navigations are the loader's: it sees
//! them from its first moment and forwards them, so none is missed.

use crate::core::float::round;
use crate::prelude::*;
use wasm_bindgen::JsCast;

use super::dom::{self, closest, warn, Listener};
use super::inlet::Inlet;
use crate::core::config::Capture;
use crate::core::signals::{
    classify_field, guess_download_kind, is_download_path, looks_like_card_number, props_from_values, FieldHints,
    PropValue, PROPS_NOT_AN_OBJECT,
};
use crate::core::Field;
use crate::session::Signal;

/// What capture needs from the config.
pub(crate) struct Wanted {
    pub capture: Capture,
    pub identity_fields: Vec<(Field, Vec<String>)>,
    /// The storage key, to tell our record's `storage` events from the page's.
    pub key: String,
}

/// Installs every listener the config asks for.
pub(crate) fn install(wanted: Wanted, inlet: &Inlet) -> Vec<Listener> {
    let (Some(window), Some(document)) = (dom::window(), dom::document()) else { return Vec::new() };
    let capture = wanted.capture;
    let mut listeners = Vec::new();
    let mut on = |target: &web_sys::EventTarget, kind: &'static str, handler: fn(&Inlet, &web_sys::Event)| {
        let inlet = inlet.clone();
        if let Some(listener) = Listener::new(target, kind, true, true, move |event| handler(&inlet, &event)) {
            listeners.push(listener);
        }
    };

    if capture.page_views {
        on(&window, "pageshow", |inlet, event| {
            // A back/forward-cache restore is a new page view of the same page.
            if event.dyn_ref::<web_sys::PageTransitionEvent>().is_some_and(|event| event.persisted()) {
                inlet.signal(Signal::Restored);
            }
        });
    }
    on(&window, "pagehide", |inlet, _| inlet.signal(Signal::Leaving));
    // Back online: what waited for the network goes now, not at the next retry.
    on(&window, "online", |inlet, _| inlet.signal(Signal::Online));
    on(&document, "visibilitychange", |inlet, _| {
        let hidden = dom::document().is_some_and(|document| document.hidden());
        inlet.signal(Signal::Visibility { visible: Some(!hidden), focused: None });
        if hidden {
            inlet.signal(Signal::Leaving);
        }
    });
    if capture.engaged_time {
        on(&window, "focus", |inlet, _| inlet.signal(Signal::Visibility { visible: None, focused: Some(true) }));
        on(&window, "blur", |inlet, _| inlet.signal(Signal::Visibility { visible: None, focused: Some(false) }));
        for kind in ["pointerdown", "keydown", "mousemove", "touchstart", "wheel"] {
            on(&document, kind, |inlet, _| inlet.signal(Signal::Input));
        }
    }
    if capture.engaged_time || capture.scroll_depth {
        on(&window, "scroll", |inlet, _| inlet.signal(Signal::Scroll));
    }
    let fields = alloc::rc::Rc::new(wanted.identity_fields);
    if capture.clicks || capture.downloads {
        let inlet = inlet.clone();
        listeners.extend(Listener::new(&document, "click", true, true, move |event| clicked(&inlet, &event, capture)));
    }
    if capture.forms || capture.clicks {
        let inlet = inlet.clone();
        let fields = fields.clone();
        listeners.extend(Listener::new(&document, "submit", true, true, move |event| {
            submitted(&inlet, &event, capture, &fields)
        }));
    }
    let inlet = inlet.clone();
    let key = wanted.key;
    listeners.extend(Listener::new(&window, "storage", true, true, move |event| {
        let Some(event) = event.dyn_ref::<web_sys::StorageEvent>() else { return };
        // `key` is null when another tab cleared the whole storage.
        if event.key().is_none_or(|changed| changed == key) {
            inlet.signal(Signal::OtherTab(event.new_value()));
        }
    }));
    listeners
}

/// How far down the page the visitor has scrolled, in percent. Reading the
/// page height forces a layout: the session asks only while a threshold is
/// still to be reported.
pub(crate) fn scroll_percent() -> Option<u32> {
    let window = dom::window()?;
    let root = window.document()?.document_element()?;
    let scrolled = window.scroll_y().ok()? + window.inner_height().ok()?.as_f64()?;
    let height = f64::from(root.scroll_height()).max(1.0);
    Some(round(((scrolled / height) * 100.0).clamp(0.0, 100.0)) as u32)
}

fn element_props(element: &web_sys::Element) -> Vec<(String, String)> {
    match element.get_attribute("data-leadscore-props") {
        Some(json) => props(&json).unwrap_or_else(|error| {
            warn(&error);
            Vec::new()
        }),
        None => Vec::new(),
    }
}

/// `data-leadscore-props` read by the browser's `JSON.parse`, by its own
/// entries, with the core's rules for the values.
fn props(json: &str) -> Result<Vec<(String, String)>, String> {
    let value = dom::parse_json(json).map_err(|error| cat!("data-leadscore-props is not JSON: ", error))?;
    if !value.is_object() || dom::is_array(&value) {
        return Err(PROPS_NOT_AN_OBJECT.into());
    }
    props_from_values(dom::own_entries(&value).into_iter().map(|(key, item)| {
        let item = if let Some(text) = item.as_string() {
            PropValue::Text(text)
        } else if let Some(flag) = item.as_bool() {
            PropValue::Bool(flag)
        } else if let Some(number) = item.as_f64() {
            PropValue::Number(number)
        } else {
            PropValue::Other
        };
        (key, item)
    }))
}

fn clicked(inlet: &Inlet, event: &web_sys::Event, capture: Capture) {
    if capture.clicks {
        if let Some(element) = closest(event.target(), "[data-leadscore-event]") {
            // Forms report on submit, not on a click inside them.
            if element.tag_name() != "FORM" {
                let name = element.get_attribute("data-leadscore-event").unwrap_or_default();
                let props = element_props(&element);
                inlet.signal(Signal::Track { name: name.trim().to_string(), props });
            }
        }
    }
    if capture.downloads {
        let Some(link) = closest(event.target(), "a[href]")
            .and_then(|element| element.dyn_into::<web_sys::HtmlAnchorElement>().ok())
        else {
            return;
        };
        let path = link.pathname();
        if link.has_attribute("download") || is_download_path(&path) {
            let mut props = element_props(&link);
            if !props.iter().any(|(key, _)| key == "kind") {
                if let Some(kind) = guess_download_kind(&path) {
                    props.push(("kind".into(), kind.into()));
                }
            }
            inlet.signal(Signal::Download { path, props });
        }
    }
}

fn submitted(inlet: &Inlet, event: &web_sys::Event, capture: Capture, extra: &[(Field, Vec<String>)]) {
    let Some(form) = event.target().and_then(|target| target.dyn_into::<web_sys::HtmlFormElement>().ok()) else {
        return;
    };
    if form.has_attribute("data-leadscore-ignore") {
        return;
    }
    if capture.forms {
        let fields = identity_from(&form, extra, capture.form_heuristics);
        inlet.signal(Signal::Identify(fields));
        let label = form.get_attribute("id").or_else(|| form.get_attribute("name")).unwrap_or_default();
        let props = if label.is_empty() { Vec::new() } else { vec![("form".to_string(), label)] };
        inlet.signal(Signal::Track { name: "form_submit".into(), props });
    }
    if capture.clicks {
        if let Some(name) = form.get_attribute("data-leadscore-event") {
            let props = element_props(&form);
            inlet.signal(Signal::Track { name: name.trim().to_string(), props });
        }
    }
}

/// The allowlisted identity fields of a form, never reading ignored,
/// password, hidden, file or card-like controls.
fn identity_from(
    form: &web_sys::HtmlFormElement,
    extra: &[(Field, Vec<String>)],
    heuristics: bool,
) -> Vec<(String, String)> {
    let elements = form.elements();
    let mut fields = Vec::new();
    for index in 0..elements.length() {
        let Some(element) = elements.item(index) else { continue };
        if element.has_attribute("data-leadscore-ignore") {
            continue;
        }
        let (input_type, value, disabled) = if let Some(input) = element.dyn_ref::<web_sys::HtmlInputElement>() {
            (input.type_(), input.value(), input.disabled())
        } else if let Some(select) = element.dyn_ref::<web_sys::HtmlSelectElement>() {
            ("select-one".to_string(), select.value(), select.disabled())
        } else if let Some(area) = element.dyn_ref::<web_sys::HtmlTextAreaElement>() {
            ("textarea".to_string(), area.value(), area.disabled())
        } else {
            continue;
        };
        if disabled || value.trim().is_empty() || looks_like_card_number(&value) {
            continue;
        }
        let (name, id, autocomplete) = (
            element.get_attribute("name").unwrap_or_default(),
            element.get_attribute("id").unwrap_or_default(),
            element.get_attribute("autocomplete").unwrap_or_default(),
        );
        let hints = FieldHints { input_type: &input_type, name: &name, id: &id, autocomplete: &autocomplete };
        if let Some(field) = classify_field(&hints, extra, heuristics) {
            fields.push((field.name().to_string(), value));
        }
    }
    fields
}
