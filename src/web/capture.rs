//! Automatic capture: the page's own events turned into signals. One
//! delegated, passive, capture-phase listener per event type on the
//! document or window; each holds only a weak handle to the widget, so
//! dropping the widget removes every listener.

use gloo_events::{EventListener, EventListenerOptions, EventListenerPhase};
use js_sys::{Function, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

use super::dom::{self, closest, warn};
use super::shell::{Inner, Shared, WeakShared};
use crate::core::signals::{
    classify_field, guess_download_kind, is_download_path, looks_like_card_number, parse_props, FieldHints,
};

fn passive_capture() -> EventListenerOptions {
    EventListenerOptions { phase: EventListenerPhase::Capture, passive: true }
}

/// Runs `action` on the widget if it still exists and is not busy, then
/// delivers any callbacks after the borrow is released.
pub(crate) fn with(weak: &WeakShared, action: impl FnOnce(&mut Inner)) {
    let Some(shared) = weak.upgrade() else { return };
    let notice = match shared.try_borrow_mut() {
        Ok(mut inner) => {
            if inner.failed || inner.engine.is_none() {
                return;
            }
            action(&mut inner);
            inner.changes()
        }
        // Re-entered from inside the widget (a synchronous DOM event we caused): skip.
        Err(_) => return,
    };
    notice.deliver();
}

/// Installs every listener the config asks for.
pub(crate) fn install(shared: &Shared) {
    let Some(window) = dom::window() else { return };
    let Some(document) = window.document() else { return };
    let capture = match shared.borrow().config() {
        Some(config) => config.capture(),
        None => return,
    };
    let weak = std::rc::Rc::downgrade(shared);
    let mut listeners = Vec::new();
    let on = |target: &web_sys::EventTarget, kind: &'static str, handler: fn(&mut Inner, &web_sys::Event)| {
        let weak = weak.clone();
        EventListener::new_with_options(target, kind, passive_capture(), move |event| {
            with(&weak, |inner| handler(inner, event))
        })
    };

    if capture.page_views {
        listeners.push(on(&window, "popstate", |inner, _| navigated(inner)));
        listeners.push(on(&window, "hashchange", |inner, _| navigated(inner)));
        listeners.push(on(&window, "pageshow", |inner, event| {
            // A back/forward-cache restore is a new page view of the same page.
            if event.dyn_ref::<web_sys::PageTransitionEvent>().is_some_and(|event| event.persisted()) {
                inner.page_view();
            }
        }));
        patch_history(&weak);
    }
    listeners.push(on(&window, "pagehide", |inner, _| {
        inner.leave_page();
        inner.beacon();
        inner.flush();
    }));
    // Back online: what waited for the network goes now, not at the next retry.
    listeners.push(on(&window, "online", |inner, _| inner.send_waiting_now()));
    listeners.push(on(&document, "visibilitychange", |inner, _| {
        let hidden = dom::document().is_some_and(|document| document.hidden());
        if !hidden {
            inner.read_opt_out();
        }
        inner.visibility(Some(!hidden), None);
        if hidden {
            inner.leave_page();
            inner.beacon();
            inner.flush();
        }
    }));
    if capture.engaged_time {
        listeners.push(on(&window, "focus", |inner, _| inner.visibility(None, Some(true))));
        listeners.push(on(&window, "blur", |inner, _| inner.visibility(None, Some(false))));
        for kind in ["pointerdown", "keydown", "mousemove", "touchstart", "wheel"] {
            listeners.push(on(&document, kind, |inner, _| inner.input()));
        }
    }
    if capture.engaged_time || capture.scroll_depth {
        listeners.push(on(&window, "scroll", |inner, _| {
            inner.input();
            // Reading the page height forces a layout: only while a scroll
            // threshold is still to be reported.
            if inner.scroll_depth_wanted() {
                if let Some(percent) = scroll_percent() {
                    inner.scrolled(percent);
                }
            }
        }));
    }
    if capture.clicks || capture.downloads {
        listeners.push(on(&document, "click", clicked));
    }
    if capture.forms || capture.clicks {
        listeners.push(on(&document, "submit", submitted));
    }
    listeners.push(on(&window, "storage", |inner, event| {
        let Some(event) = event.dyn_ref::<web_sys::StorageEvent>() else { return };
        // `key` is null when another tab cleared the whole storage.
        let ours = event.key().is_none_or(|key| key == inner.key);
        if !ours || !inner.active() {
            return;
        }
        match event.new_value() {
            // Another tab wrote our key: merge, never overwrite.
            Some(value) => inner.merge_stored(&value),
            // Another tab deleted it (consent withdrawn, the visitor forgotten or
            // erased): this page stops too, or its next write would bring it back.
            None => inner.change_basis(|inner| inner.consent = Some(false)),
        }
    }));
    shared.borrow_mut().listeners = listeners;
}

fn navigated(inner: &mut Inner) {
    let path = dom::page_path();
    if inner.page.as_ref().is_some_and(|page| page.path == path) {
        return;
    }
    inner.page_view();
}

/// Wraps `history.pushState` and `replaceState` so single-page apps count
/// page views. The wrappers call the originals first and rethrow their
/// errors untouched; they live as long as the page, on purpose.
fn patch_history(weak: &WeakShared) {
    let Some(history) = dom::window().and_then(|window| window.history().ok()) else { return };
    for method in ["pushState", "replaceState"] {
        let Ok(original) = Reflect::get(&history, &method.into()).and_then(|value| value.dyn_into::<Function>()) else {
            continue;
        };
        let weak = weak.clone();
        let target = history.clone();
        let wrapper = Closure::<dyn FnMut(JsValue, JsValue, JsValue) -> Result<JsValue, JsValue>>::new(
            move |state: JsValue, title: JsValue, url: JsValue| {
                let result = original.call3(&target, &state, &title, &url)?;
                with(&weak, navigated);
                Ok(result)
            },
        );
        if Reflect::set(&history, &method.into(), wrapper.as_ref()).is_ok() {
            wrapper.forget();
        }
    }
}

fn scroll_percent() -> Option<u32> {
    let window = dom::window()?;
    let root = window.document()?.document_element()?;
    let scrolled = window.scroll_y().ok()? + window.inner_height().ok()?.as_f64()?;
    let height = f64::from(root.scroll_height()).max(1.0);
    Some(((scrolled / height) * 100.0).clamp(0.0, 100.0).round() as u32)
}

fn element_props(element: &web_sys::Element) -> Vec<(String, String)> {
    match element.get_attribute("data-leadscore-props") {
        Some(json) => parse_props(&json).unwrap_or_else(|error| {
            warn(&error);
            Vec::new()
        }),
        None => Vec::new(),
    }
}

fn clicked(inner: &mut Inner, event: &web_sys::Event) {
    let Some(capture) = inner.config().map(|config| config.capture()) else { return };
    if capture.clicks {
        if let Some(element) = closest(event.target(), "[data-leadscore-event]") {
            // Forms report on submit, not on a click inside them.
            if element.tag_name() != "FORM" {
                let name = element.get_attribute("data-leadscore-event").unwrap_or_default();
                let props = element_props(&element);
                inner.signal(name.trim(), None, &props, None);
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
            inner.signal("download", Some(&path), &props, None);
        }
    }
}

fn submitted(inner: &mut Inner, event: &web_sys::Event) {
    let Some(form) = event.target().and_then(|target| target.dyn_into::<web_sys::HtmlFormElement>().ok()) else {
        return;
    };
    if form.has_attribute("data-leadscore-ignore") {
        return;
    }
    let Some(config) = inner.config() else { return };
    let capture = config.capture();
    if capture.forms {
        let fields = identity_from(&form, config.identity_fields(), capture.form_heuristics);
        inner.identify(&fields);
        let label = form.get_attribute("id").or_else(|| form.get_attribute("name")).unwrap_or_default();
        let props = if label.is_empty() { Vec::new() } else { vec![("form".to_string(), label)] };
        inner.signal("form_submit", None, &props, None);
    }
    if capture.clicks {
        if let Some(name) = form.get_attribute("data-leadscore-event") {
            let props = element_props(&form);
            inner.signal(name.trim(), None, &props, None);
        }
    }
}

/// The allowlisted identity fields of a form, never reading ignored,
/// password, hidden, file or card-like controls.
fn identity_from(
    form: &web_sys::HtmlFormElement,
    extra: &[(crate::core::Field, Vec<String>)],
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

/// Whether the page asked for the debug overlay with `?leadscore-debug`.
pub(crate) fn debug_requested() -> bool {
    dom::window().and_then(|window| window.location().search().ok()).is_some_and(|search| {
        crate::core::signals::query_pairs(&search).iter().any(|(key, _)| key == "leadscore-debug")
    })
}
