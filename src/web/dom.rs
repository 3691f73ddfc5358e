//! Small browser helpers shared by the shell: the clock, random ids, and
//! console lines. The only place `Date.now()` and randomness are read.

use wasm_bindgen::JsCast;

thread_local! {
    /// Added to the browser clock; moved only by tests, so engaged time and
    /// visit timeouts are testable without waiting.
    static CLOCK_OFFSET_MS: std::cell::Cell<f64> = const { std::cell::Cell::new(0.0) };
}

/// Milliseconds since the epoch, from the browser clock.
pub(crate) fn now() -> crate::core::Timestamp {
    let offset = CLOCK_OFFSET_MS.with(std::cell::Cell::get);
    crate::core::Timestamp::from_millis((js_sys::Date::now() + offset).max(0.0) as u64)
}

/// Moves the widget's clock forward by `ms` (browser tests only).
pub(crate) fn advance_clock(ms: f64) {
    CLOCK_OFFSET_MS.with(|offset| offset.set(offset.get() + ms));
}

pub(crate) fn window() -> Option<web_sys::Window> {
    web_sys::window()
}

/// A property of `window` (a page global such as `dataLayer`), if set.
pub(crate) fn global(name: &str) -> Option<wasm_bindgen::JsValue> {
    let value = js_sys::Reflect::get(&window()?.into(), &name.into()).ok()?;
    (!value.is_undefined() && !value.is_null()).then_some(value)
}

pub(crate) fn document() -> Option<web_sys::Document> {
    window().and_then(|window| window.document())
}

/// Random bytes from `crypto.getRandomValues`, or `Math.random` where the
/// page has no crypto (very old browsers, some test shells).
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
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

/// A new random, first-party visitor id: 128 bits as 32 hex digits.
pub(crate) fn new_visitor_id() -> String {
    random_bytes::<16>().iter().map(|byte| format!("{byte:02x}")).collect()
}

/// One console warning, prefixed so site owners can filter for it.
pub(crate) fn warn(message: &str) {
    web_sys::console::warn_1(&format!("leadscore: {message}").into());
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

/// The page path used for rules: the pathname, or for hash-routed apps
/// (`#/pricing`, `#!/pricing`) the route in the hash.
pub(crate) fn page_path() -> String {
    let Some(location) = window().map(|window| window.location()) else { return "/".into() };
    let hash = location.hash().unwrap_or_default();
    if let Some(route) =
        hash.strip_prefix("#!").or_else(|| hash.strip_prefix('#')).filter(|route| route.starts_with('/'))
    {
        return route.split('?').next().unwrap_or(route).to_string();
    }
    location.pathname().unwrap_or_else(|_| "/".into())
}
