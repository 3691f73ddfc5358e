//! The browser at its lowest: the clock, randomness, console lines, and the
//! builtins the loader took from the page when it first ran; owned
//! listeners and timers whose callbacks pass through the loader's guard.
//! Every other module of the shell reaches the browser through these.

use crate::prelude::*;
use core::cell::{Cell, RefCell};

use js_sys::{Function, Promise};
use wasm_bindgen::closure::{Closure, WasmClosure};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use crate::core::Timestamp;

#[wasm_bindgen]
extern "C" {
    /// What the loader took from the page before any other script could
    /// replace it: own-property readers, `fetch`, `sendBeacon`, a console
    /// line that never throws, and the guard every callback runs inside.
    pub type Builtins;

    /// `Object.keys`: an object's own enumerable string keys.
    #[wasm_bindgen(method, structural, catch)]
    fn keys(this: &Builtins, object: &JsValue) -> Result<JsValue, JsValue>;
    /// An own property, or `undefined` (inherited ones are ignored). The
    /// key is a JS string: from `keys` as it came, with no copy through
    /// wasm memory and back.
    #[wasm_bindgen(method, structural, catch)]
    fn get(this: &Builtins, object: &JsValue, key: &JsValue) -> Result<JsValue, JsValue>;
    /// An object's own enumerable properties as one text, when each is a
    /// string, a boolean, a number whose text JS and [`event::number_text`]
    /// write alike, `null` or `undefined` (left out): the count, then each
    /// key and value with its length ([`text::read_pairs`]); `undefined` for
    /// anything else. One call instead of three per property: read one by
    /// one, props were most of `track()`'s time (BENCHMARKS.md, "Props as
    /// one text").
    ///
    /// [`event::number_text`]: crate::core::event::number_text
    /// [`text::read_pairs`]: crate::core::text::read_pairs
    #[wasm_bindgen(method, structural, catch)]
    fn pairs(this: &Builtins, object: &JsValue) -> Result<JsValue, JsValue>;
    /// The `track()` calls the loader kept, oldest first, as an array of
    /// texts: each its props as `pairs` writes them, then the event name.
    /// The loader keeps a call so when its props are plain (BENCHMARKS.md,
    /// "track() off the call"); the widget handles them before any other
    /// input and empties the array.
    #[wasm_bindgen(method, structural, getter, catch)]
    fn kept(this: &Builtins) -> Result<JsValue, JsValue>;
    /// The browser's `JSON.parse`, as it was when the loader ran: the
    /// widget carries no JSON reader of its own.
    #[wasm_bindgen(method, structural, catch)]
    fn parse(this: &Builtins, text: &str) -> Result<JsValue, JsValue>;
    /// The browser's `fetch`, as it was when the loader ran.
    #[wasm_bindgen(method, structural, catch)]
    fn fetch(this: &Builtins, url: &str, init: &JsValue) -> Result<Promise, JsValue>;
    /// The browser's `navigator.sendBeacon`, as it was when the loader ran.
    #[wasm_bindgen(method, structural, catch)]
    fn beacon(this: &Builtins, url: &str, body: &str) -> Result<JsValue, JsValue>;
    /// `import()` of an on-demand part beside the loader, `leadscore_NAME.js`.
    #[wasm_bindgen(method, structural, catch)]
    fn view(this: &Builtins, name: &str) -> Result<Promise, JsValue>;
    /// One console line; never throws.
    #[wasm_bindgen(method, structural)]
    fn log(this: &Builtins, message: &str);
    /// Wraps a callback: after a failure anywhere the widget is off, and a
    /// failure is caught, logged once and never reaches the page.
    #[wasm_bindgen(method, structural)]
    fn guard(this: &Builtins, callback: &JsValue) -> Function;

    /// A plain object or array written by index or key: a plain assignment,
    /// never `Reflect.set` or `Array.prototype.push`, which pages replace.
    pub type Plain;
    #[wasm_bindgen(method, structural, indexing_setter)]
    pub fn set(this: &Plain, key: &str, value: &JsValue);
    #[wasm_bindgen(method, structural, indexing_setter)]
    pub fn set_index(this: &Plain, index: u32, value: &JsValue);

    /// A promise, for `then` with our guarded functions.
    type Thenable;
    #[wasm_bindgen(method, js_name = then)]
    fn then_guarded(this: &Thenable, ok: &Function, failed: &Function) -> JsValue;
}

/// A global of the page's one thread: the widget's wasm has no threads
/// (no `atomics`), so a `static` with interior mutability is safe here, and
/// it needs no std (`thread_local!` does).
pub(crate) struct Local<T>(pub(crate) T);

// SAFETY: wasm32 without the `atomics` feature runs on one thread only.
unsafe impl<T> Sync for Local<T> {}

impl<T> Local<T> {
    pub(crate) fn with<R>(&'static self, action: impl FnOnce(&T) -> R) -> R {
        action(&self.0)
    }
}

static BUILTINS: Local<RefCell<Option<Builtins>>> = Local(RefCell::new(None));
/// The loader's kept-call array (`Builtins::kept`), read once: the array
/// never changes, and [`kept`] runs before every input and read.
static KEPT: Local<RefCell<Option<js_sys::Array>>> = Local(RefCell::new(None));
/// Added to the browser clock; moved only by tests, so engaged time and
/// visit timeouts are testable without waiting.
static CLOCK_OFFSET_MS: Local<Cell<f64>> = Local(Cell::new(0.0));

/// Keeps the loader's builtins; `false` when `value` does not carry them.
pub(crate) fn set_builtins(value: JsValue) -> bool {
    let usable = ["keys", "get", "parse", "fetch", "beacon", "log", "guard"].iter().all(|name| {
        js_sys::Reflect::get_own_property_descriptor(value.unchecked_ref::<js_sys::Object>(), &JsValue::from_str(name))
            .is_ok_and(|descriptor| !descriptor.is_undefined())
    });
    if usable && value.is_object() {
        let builtins: Builtins = value.unchecked_into();
        // Not `dyn_into`: its test is `Array.isArray`, which a page can replace.
        let kept = builtins.kept().ok().filter(JsValue::is_object).map(JsCast::unchecked_into);
        KEPT.with(|slot| {
            if let Ok(mut slot) = slot.try_borrow_mut() {
                *slot = kept;
            }
        });
        BUILTINS.with(|slot| {
            if let Ok(mut slot) = slot.try_borrow_mut() {
                *slot = Some(builtins);
            }
        });
    }
    usable
}

fn with_builtins<T>(default: T, action: impl FnOnce(&Builtins) -> T) -> T {
    BUILTINS.with(|slot| match slot.try_borrow() {
        Ok(builtins) => builtins.as_ref().map_or(default, action),
        Err(_) => default,
    })
}

/// The object's own enumerable `(key, value)` pairs, in their order (none
/// for a non-object, or one whose keys or values cannot be read).
pub(crate) fn own_entries(object: &JsValue) -> Vec<(String, JsValue)> {
    if !object.is_object() && !object.is_function() {
        return Vec::new();
    }
    with_builtins(Vec::new(), |builtins| {
        let Ok(keys) = builtins.keys(object) else { return Vec::new() };
        // `Object.keys` gives an array; not `dyn_ref`, whose test is
        // `Array.isArray`, which a page can replace.
        if !keys.is_object() {
            return Vec::new();
        }
        let keys: &js_sys::Array = keys.unchecked_ref();
        let mut pairs = Vec::with_capacity(keys.length() as usize);
        for index in 0..keys.length() {
            let key = keys.get(index);
            let Some(name) = key.as_string() else { continue };
            let value = builtins.get(object, &key).unwrap_or(JsValue::UNDEFINED);
            pairs.push((name, value));
        }
        pairs
    })
}

/// The object's own `(key, text)` pairs when the builtins' `pairs` could
/// write them all as text (see `Builtins::pairs`); `None` when it could not,
/// and the caller reads the object by [`own_entries`].
pub(crate) fn text_entries(object: &JsValue) -> Option<Vec<(String, String)>> {
    let flat = with_builtins(None, |builtins| builtins.pairs(object).ok())?.as_string()?;
    match crate::core::text::read_pairs(&flat)? {
        (pairs, "") => Some(pairs),
        _ => None,
    }
}

/// The loader's array of kept `track()` calls (see `Builtins::kept`);
/// `None` when it is empty, or the loader keeps none.
pub(crate) fn kept() -> Option<js_sys::Array> {
    let kept = KEPT.with(|slot| slot.try_borrow().ok()?.clone())?;
    (kept.length() > 0).then_some(kept)
}

/// Whether `value` is an array, by `instanceof`: not `Array.isArray`, which
/// the widget would look up on the page's `Array` when it runs, so a page
/// (or a broken polyfill) that replaced it would steer how configs and props
/// are read.
pub(crate) fn is_array(value: &JsValue) -> bool {
    value.is_instance_of::<js_sys::Array>()
}

/// An own property of a page object (`undefined` when missing, inherited
/// or unreadable).
pub(crate) fn own(object: &JsValue, key: &str) -> JsValue {
    if !object.is_object() && !object.is_function() {
        return JsValue::UNDEFINED;
    }
    let key = JsValue::from_str(key);
    with_builtins(JsValue::UNDEFINED, |builtins| builtins.get(object, &key).unwrap_or(JsValue::UNDEFINED))
}

/// JSON text read by the browser's own `JSON.parse`; the error is its
/// message (`Unexpected token } in JSON at position 9`).
pub(crate) fn parse_json(text: &str) -> Result<JsValue, String> {
    with_builtins(Err("no JSON reader".into()), |builtins| {
        builtins.parse(text).map_err(|error| own(&error, "message").as_string().unwrap_or_else(|| "not JSON".into()))
    })
}

/// `fetch(url, init)` through the browser's own `fetch`.
pub(crate) fn fetch(url: &str, init: &JsValue) -> Option<Promise> {
    with_builtins(None, |builtins| builtins.fetch(url, init).ok())
}

/// `navigator.sendBeacon(url, body)` through the browser's own; whether it took it.
pub(crate) fn send_beacon(url: &str, body: &str) -> bool {
    with_builtins(false, |builtins| builtins.beacon(url, body).is_ok_and(|taken| taken.is_truthy()))
}

/// Starts importing the on-demand part `leadscore_NAME.js` (`None` when the
/// loader gave no way to: a test page, a copy of the glue used alone).
pub(crate) fn load_part(name: &str) -> Option<Promise> {
    with_builtins(None, |builtins| builtins.view(name).ok())
}

/// The loader's `fetch`, taken before page code could replace it.
#[cfg(feature = "shipped")]
pub(crate) fn loader_fetch() -> JsValue {
    with_builtins(JsValue::UNDEFINED, |builtins| own(builtins.as_ref(), "fetch"))
}

/// One console line, prefixed so site owners can filter for it.
pub(crate) fn warn(message: &str) {
    with_builtins((), |builtins| builtins.log(message));
}

/// `callback` as a JS function inside the loader's guard.
pub(crate) fn guarded(callback: &JsValue) -> Option<Function> {
    with_builtins(None, |builtins| Some(builtins.guard(callback)))
}

/// A JS callback we own: the Rust closure and its guarded function, freed together.
pub(crate) struct Callback<T: ?Sized> {
    _closure: Closure<T>,
    function: Function,
}

impl<T: ?Sized + WasmClosure> Callback<T> {
    pub(crate) fn new(closure: Closure<T>) -> Option<Callback<T>> {
        let function = guarded(closure.as_ref())?;
        Some(Callback { _closure: closure, function })
    }

    pub(crate) fn function(&self) -> &Function {
        &self.function
    }
}

/// A one-shot guarded callback that frees itself once called (a promise
/// reaction, a lock grant). Boxed, so every use shares one copy of the glue.
pub(crate) fn once(callback: impl FnOnce(JsValue) -> JsValue + 'static) -> Option<Function> {
    once_boxed(Box::new(callback))
}

fn once_boxed(callback: Box<dyn FnOnce(JsValue) -> JsValue>) -> Option<Function> {
    guarded(&Closure::once_into_js(move |value: JsValue| callback(value)))
}

/// `promise.then(ok, failed)`, each side guarded; a rejection is always
/// handled, so none surfaces on the page as unhandled.
pub(crate) fn then(promise: &Promise, ok: impl FnOnce(JsValue) + 'static, failed: impl FnOnce(JsValue) + 'static) {
    then_boxed(promise, Box::new(ok), Box::new(failed));
}

fn then_boxed(promise: &Promise, ok: Box<dyn FnOnce(JsValue)>, failed: Box<dyn FnOnce(JsValue)>) {
    let ok = once_boxed(Box::new(move |value| {
        ok(value);
        JsValue::UNDEFINED
    }));
    let failed = once_boxed(Box::new(move |error| {
        failed(error);
        JsValue::UNDEFINED
    }));
    if let (Some(ok), Some(failed)) = (ok, failed) {
        let _ = promise.unchecked_ref::<Thenable>().then_guarded(&ok, &failed);
    }
}

/// An event listener that is removed when dropped (gloo-events' design,
/// with the callback inside the loader's guard).
pub(crate) struct Listener {
    target: web_sys::EventTarget,
    kind: &'static str,
    capture: bool,
    callback: Callback<dyn FnMut(web_sys::Event)>,
}

impl Listener {
    /// Listens for `kind` on `target`: in the capture phase when `capture`,
    /// and passive unless `passive` is false.
    pub(crate) fn new(
        target: &web_sys::EventTarget,
        kind: &'static str,
        capture: bool,
        passive: bool,
        handler: impl FnMut(web_sys::Event) + 'static,
    ) -> Option<Listener> {
        Listener::boxed(target, kind, capture, passive, Box::new(handler))
    }

    /// One copy of the code for every kind of handler.
    fn boxed(
        target: &web_sys::EventTarget,
        kind: &'static str,
        capture: bool,
        passive: bool,
        handler: Box<dyn FnMut(web_sys::Event)>,
    ) -> Option<Listener> {
        let callback = Callback::new(Closure::wrap(handler))?;
        let options = web_sys::AddEventListenerOptions::new();
        options.set_capture(capture);
        options.set_passive(passive);
        target
            .add_event_listener_with_callback_and_add_event_listener_options(kind, callback.function(), &options)
            .ok()?;
        Some(Listener { target: target.clone(), kind, capture, callback })
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ =
            self.target.remove_event_listener_with_callback_and_bool(self.kind, self.callback.function(), self.capture);
    }
}

/// A timeout or interval that is cleared when dropped (gloo-timers' design,
/// with the callback inside the loader's guard).
#[must_use = "a timer is cleared when dropped"]
pub(crate) struct Timer {
    id: i32,
    repeat: bool,
    _callback: Callback<dyn FnMut()>,
}

impl Timer {
    /// Calls `action` once after `ms`, or every `ms` when `repeat`.
    pub(crate) fn new(ms: u32, repeat: bool, action: impl FnMut() + 'static) -> Option<Timer> {
        Timer::boxed(ms, repeat, Box::new(action))
    }

    fn boxed(ms: u32, repeat: bool, action: Box<dyn FnMut()>) -> Option<Timer> {
        let callback = Callback::new(Closure::wrap(action))?;
        let window = window()?;
        let ms = i32::try_from(ms).unwrap_or(i32::MAX);
        let id = if repeat {
            window.set_interval_with_callback_and_timeout_and_arguments_0(callback.function(), ms)
        } else {
            window.set_timeout_with_callback_and_timeout_and_arguments_0(callback.function(), ms)
        }
        .ok()?;
        Some(Timer { id, repeat, _callback: callback })
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        if let Some(window) = window() {
            if self.repeat {
                window.clear_interval_with_handle(self.id);
            } else {
                window.clear_timeout_with_handle(self.id);
            }
        }
    }
}

/// Milliseconds since the epoch, from the browser clock.
pub(crate) fn now() -> Timestamp {
    let offset = CLOCK_OFFSET_MS.with(Cell::get);
    Timestamp::from_millis((js_sys::Date::now() + offset).max(0.0) as u64)
}

/// Moves the widget's clock forward by `ms` (browser tests only).
pub(crate) fn advance_clock(ms: f64) {
    CLOCK_OFFSET_MS.with(|offset| offset.set(offset.get() + ms));
}

pub(crate) fn window() -> Option<web_sys::Window> {
    web_sys::window()
}

pub(crate) fn document() -> Option<web_sys::Document> {
    window().and_then(|window| window.document())
}

/// A property of `window` (a page global such as `dataLayer`), if set.
pub(crate) fn global(name: &str) -> Option<JsValue> {
    let value = js_sys::Reflect::get(&window()?.into(), &name.into()).ok()?;
    (!value.is_undefined() && !value.is_null()).then_some(value)
}

/// Random bytes from `crypto.getRandomValues`, or `Math.random` where the
/// page has no crypto (very old browsers, some test shells).
pub(crate) fn random_seed() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    let filled = window()
        .and_then(|window| window.crypto().ok())
        .is_some_and(|crypto| crypto.get_random_values_with_u8_array(&mut bytes).is_ok());
    if !filled {
        for byte in &mut bytes {
            *byte = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    bytes
}

/// The page's URL now.
pub(crate) fn page_url() -> String {
    window().and_then(|window| window.location().href().ok()).unwrap_or_default()
}

/// Whether the page is visible and the window focused.
pub(crate) fn visible_and_focused() -> (bool, bool) {
    let document = document();
    let visible = document.as_ref().is_none_or(|document| !document.hidden());
    let focused = document.and_then(|document| document.has_focus().ok()).unwrap_or(true);
    (visible, focused)
}

/// The closest ancestor-or-self of an event target matching `selector`.
pub(crate) fn closest(target: Option<web_sys::EventTarget>, selector: &str) -> Option<web_sys::Element> {
    let target = target?;
    let element = match target.dyn_ref::<web_sys::Element>() {
        Some(element) => element.clone(),
        // Clicks on text land on the text node; its parent is the element.
        None => target.dyn_ref::<web_sys::Node>()?.parent_element()?,
    };
    element.closest(selector).ok().flatten()
}
