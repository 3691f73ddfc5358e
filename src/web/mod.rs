//! The browser shell: the only module with `#[wasm_bindgen]` exports.
//!
//! The loader (`www/leadscore.js`) calls the `start` export with what it
//! read from the script tag and the builtins it took from the page, then
//! hands every `leadscore(...)` call to the one `leadscore` export
//! ([`call`]), which the page's [`Widget`] answers (one export instead of a
//! class with a method each: BENCHMARKS.md, "One export, and `format!` out
//! of the browser path"). JS values are
//! converted here, once, by their own properties only; everything below is
//! typed Rust. The widget's rules live in [`crate::session`]; this module
//! and its rooms only own browser resources and carry out the session's
//! effects. No method throws into the page: bad input is reported with one
//! console line and ignored, and every callback runs inside the loader's
//! guard, so even an internal failure ends as one line and a widget that
//! is off.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::unreachable)]

use crate::core::float::round;
use crate::prelude::*;
mod callbacks;
mod capture;
mod compile;
mod consent;
mod dom;
mod handle;
mod inlet;
mod js_data;
mod model;
mod privacy;
mod reveal;
mod storage;
mod transport;
mod views;

use core::cell::RefCell;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use self::dom::{now, warn};
use self::handle::Handle;
use crate::core::json::{Json, Object as JsonObject};
use crate::core::{Config, Engine};
use crate::session::{Landing, Signal, Source, Verdict};

/// Hooks for the browser tests: a clock that moves without waiting.
#[doc(hidden)]
pub mod testing {
    /// Moves the widget's clock forward by `ms` milliseconds.
    pub fn advance_clock(ms: f64) {
        super::dom::advance_clock(ms);
    }
}

/// What the loader read from the page: `data-*` attributes, the inline
/// config's text, a config given to `leadscore('init', …)`.
#[derive(Default)]
struct Options {
    site: Option<String>,
    endpoint: Option<String>,
    preset: Option<String>,
    config_url: Option<String>,
    inline_config: Option<String>,
    config: Option<Json>,
    /// The page's URL when the loader ran: the landing page view's.
    url: Option<String>,
}

impl Options {
    fn is_empty(&self) -> bool {
        self.site.is_none()
            && self.endpoint.is_none()
            && self.preset.is_none()
            && self.config_url.is_none()
            && self.inline_config.is_none()
            && self.config.is_none()
    }

    /// Reads the loader's options by their own properties only, so nothing
    /// a page adds to `Object.prototype` can pose as one.
    fn read(value: &JsValue) -> Options {
        let text = |key: &str| dom::own(value, key).as_string().filter(|text| !text.trim().is_empty());
        let config = Some(dom::own(value, "config")).filter(|value| value.is_object()).and_then(|value| {
            js_data::json(&value).map_err(|error| warn(&cat!("init: the config is not plain JSON data: ", error))).ok()
        });
        Options {
            site: text("site"),
            endpoint: text("endpoint"),
            preset: text("preset"),
            config_url: text("configUrl"),
            inline_config: text("inlineConfig"),
            config,
            url: text("url"),
        }
    }

    /// The tag's attributes that fill what a config document lacks.
    fn attributes(&self) -> JsonObject {
        let mut attributes = JsonObject::new();
        for (key, value) in [("site", &self.site), ("endpoint", &self.endpoint), ("preset", &self.preset)] {
            if let Some(value) = value {
                attributes.insert(key.into(), Json::String(value.clone()));
            }
        }
        attributes
    }

    /// The config from the richest source: an `init` object, then the
    /// inline text, then the fetched one, then the attributes alone.
    fn resolve(&self, fetched: Option<&str>, done: compile::Done) {
        match (&self.config, self.inline_config.as_deref(), fetched) {
            (None, Some(text), _) | (None, None, Some(text)) => resolve_text(text, &self.attributes(), done),
            (config, _, _) => resolve(Config::widget_document(config.clone(), &self.attributes()), done),
        }
    }
}

/// The widget behind the `leadscore` global.
pub struct Widget {
    handle: Handle,
}

/// The page's widget, which [`call`] answers.
static PAGE: dom::Local<RefCell<Option<Widget>>> = dom::Local(RefCell::new(None));

/// Starts the page's widget (the loader's `start`), which [`call`] then
/// answers. Never throws; see [`start`].
#[wasm_bindgen(js_name = start)]
pub fn start_page(options: JsValue, builtins: JsValue) {
    let widget = start(options, builtins);
    PAGE.with(|page| {
        if let Ok(mut page) = page.try_borrow_mut() {
            *page = Some(widget);
        }
    });
}

/// Set by [`test_panic`] with `"call"`.
static PANIC_NEXT_CALL: dom::Local<core::cell::Cell<bool>> = dom::Local(core::cell::Cell::new(false));

/// One `leadscore(method, a, b)` call to the page's widget, with what the
/// method answers (`undefined` for those that answer nothing, and before
/// `start`). An unknown method is ignored, as the loader's queue ignores
/// it.
#[wasm_bindgen(js_name = leadscore)]
#[allow(clippy::panic)]
pub fn call(method: JsValue, a: JsValue, b: JsValue) -> JsValue {
    if PANIC_NEXT_CALL.with(|next| next.replace(false)) {
        panic!("a test panic in a call");
    }
    // Taken out, so no borrow is held while page code (a callback) runs
    // and calls again.
    let page = PAGE.with(|page| page.try_borrow().ok()?.as_ref().map(|widget| widget.handle.downgrade()));
    let Some(handle) = page.and_then(|weak| weak.upgrade()) else { return JsValue::UNDEFINED };
    let widget = Widget { handle };
    let Some(method) = method.as_string() else { return JsValue::UNDEFINED };
    match method.as_str() {
        "track" => widget.track(a, b),
        "identify" => widget.identify(a),
        "consent" => widget.consent(a),
        "consent_event" => widget.consent_event(a),
        "navigated" => widget.navigated(a),
        "forget" => widget.forget(),
        "on" => widget.on(a, b),
        "init" => widget.init(a),
        "score" => return JsValue::from_f64(widget.score()),
        "stage" => return JsValue::from_str(&widget.stage()),
        "grade" => return JsValue::from_str(&widget.grade()),
        "explain" => return widget.explain(),
        "debug" => widget.debug(a),
        "flush" => widget.flush(),
        "drain" => widget.drain(),
        _ => {}
    }
    JsValue::UNDEFINED
}

/// Starts a widget. Never throws: a bad config logs one line and leaves
/// an inert widget that ignores calls. `builtins` are what the loader took
/// from the page when it first ran (see `www/leadscore.js`).
pub fn start(options: JsValue, builtins: JsValue) -> Widget {
    install_panic_hook();
    let has_builtins = dom::set_builtins(builtins);
    let options = Options::read(&options);
    let (visible, focused) = dom::visible_and_focused();
    let url = options.url.clone().unwrap_or_else(dom::page_url);
    let widget = Widget { handle: Handle::new(Landing { url, visible, focused }) };
    if !has_builtins {
        // No loader: nothing safe to work with.
        widget.handle.configure(Err("start() must be called by the leadscore.js loader".into()));
        return widget;
    }
    if options.is_empty() {
        // Not an error yet: leadscore('init', {...}) may still come; calls queue until then.
        warn(
            "no config yet: add data-site and data-preset to the script tag, an inline \
              <script type=\"application/json\" id=\"leadscore-config\">, or call leadscore('init', {...})",
        );
        return widget;
    }
    let configure = configure_later(&widget.handle);
    match options.config_url.clone() {
        Some(url) if options.config.is_none() && options.inline_config.is_none() => {
            let source = url.clone();
            transport::fetch_text(&source, move |fetched| match fetched {
                Ok(text) => options.resolve(Some(&text), configure),
                Err(error) => configure(Err(cat!("config ", url, ": ", error))),
            });
        }
        _ => options.resolve(None, configure),
    }
    widget
}

/// Configures the widget when the config is known, if it is still there.
fn configure_later(handle: &Handle) -> compile::Done {
    let weak = handle.downgrade();
    Box::new(move |config| {
        if let Some(handle) = weak.upgrade() {
            handle.configure(config);
        }
    })
}

/// The config a document gives, to `done`: at once when it is compiled
/// (`Config::to_text`, a JSON string) or only names a preset and its
/// options (most pages), else once the config compiler has read and
/// checked it.
fn resolve(document: Result<Json, String>, done: compile::Done) {
    match document {
        Err(error) => done(Err(error)),
        Ok(Json::String(compiled)) => done(Config::from_text(&compiled).map_err(|error| cat!("config: ", error))),
        Ok(document) => match Config::from_options(&document) {
            Some(config) => done(Ok(config)),
            None => compile::compile(Config::widget_input(&JsonObject::new(), &document.text()), done),
        },
    }
}

/// The config a text gives (inline or fetched), to `done`: a compiled one
/// (one JSON string) is read at once, and so is one that only names a
/// preset and its options (read by the browser's `JSON.parse`, then
/// [`Config::from_options`], as an `init` object is); any other goes to the
/// config compiler as it is, with the tag's attributes, since the widget
/// has no JSON reader of its own and the compiler's errors name the path.
fn resolve_text(text: &str, attributes: &JsonObject, done: compile::Done) {
    let text = text.trim();
    match text.strip_prefix('"') {
        Some(compiled) => done(match compiled.strip_suffix('"') {
            Some(compiled) => Config::from_text(compiled).map_err(|error| cat!("config: ", error)),
            None => Err("config: not valid JSON: a string without its closing quote".into()),
        }),
        None => match options_only(text, attributes) {
            Some(config) => done(Ok(config)),
            None => compile::compile(Config::widget_input(attributes, text), done),
        },
    }
}

/// The config of a text that only names a preset and its options, with the
/// tag's attributes filling its gaps: what the compiler would give it.
/// `None` for any other text, and for one too large for the compiler (which
/// then says so).
fn options_only(text: &str, attributes: &JsonObject) -> Option<Config> {
    if text.len() > crate::core::config::MAX_CONFIG_BYTES || !text.starts_with('{') {
        return None;
    }
    let document = js_data::json(&dom::parse_json(text).ok()?).ok()?;
    Config::from_options(&Config::widget_document(Some(document), attributes).ok()?)
}

/// With std (the browser tests), a hook throws the panic's message as a JS
/// error (instead of returning to the abort), which hands it to the loader's
/// guard: it turns the widget off and logs one line. The shipped module has
/// no std and does the same in its panic handler (`src/lib.rs`).
fn install_panic_hook() {
    #[cfg(not(feature = "shipped"))]
    {
        static HOOK: std::sync::Once = std::sync::Once::new();
        HOOK.call_once(|| {
            std::panic::set_hook(Box::new(|info| wasm_bindgen::throw_str(&format!("internal error: {info}"))));
        });
    }
}

/// Makes the widget panic inside a listener (dispatch `leadscore:test-panic`
/// on `window`), a timer, or its next `leadscore(...)` call (`"call"`), to
/// show that the page never sees it.
#[doc(hidden)]
#[wasm_bindgen(js_name = testPanic)]
#[allow(clippy::panic)]
pub fn test_panic(place: &str) {
    match place {
        "call" => PANIC_NEXT_CALL.with(|next| next.set(true)),
        "listener" => {
            if let Some(window) = dom::window() {
                let listener = dom::Listener::new(&window, "leadscore:test-panic", false, true, |_| {
                    panic!("a test panic in a listener")
                });
                core::mem::forget(listener);
            }
        }
        _ => core::mem::forget(dom::Timer::new(0, false, || panic!("a test panic in a timer"))),
    }
}

/// `{key: value}` as text pairs, by own properties; strings, numbers and
/// booleans only.
fn text_pairs(value: &JsValue, what: &str) -> Option<Vec<(String, String)>> {
    if value.is_undefined() || value.is_null() {
        return Some(Vec::new());
    }
    if !value.is_object() {
        warn(&cat!(what, ": expected an object like {\"kind\": \"trial\"}"));
        return None;
    }
    if let Some(pairs) = dom::text_entries(value) {
        return Some(pairs);
    }
    let mut pairs = Vec::new();
    for (key, value) in dom::own_entries(value) {
        let text = if let Some(text) = value.as_string() {
            text
        } else if let Some(number) = value.as_f64() {
            crate::core::event::number_text(number)
        } else if let Some(flag) = value.as_bool() {
            String::from(if flag { "true" } else { "false" })
        } else if value.is_null() || value.is_undefined() {
            continue;
        } else {
            warn(&cat!(what, ".", key, ": expected a string, number or boolean"));
            return None;
        };
        pairs.push((key, text));
    }
    Some(pairs)
}

impl Widget {
    /// Counts a custom or built-in event: `track('webinar_join', {topic: 'pricing'})`.
    pub fn track(&self, name: JsValue, props: JsValue) {
        let Some(name) = name.as_string() else { return warn("track: the event name must be a string") };
        if let Some(props) = text_pairs(&props, "track props") {
            self.handle.signal(Signal::Track { name, props });
        }
    }

    /// Records identity fields: `identify({email: 'ann@acme.example', job_title: 'CTO'})`.
    pub fn identify(&self, fields: JsValue) {
        if let Some(fields) = text_pairs(&fields, "identify") {
            self.handle.signal(Signal::Identify(fields));
        }
    }

    /// Grants (`true`) or withdraws (`false`) consent.
    pub fn consent(&self, granted: JsValue) {
        match granted.as_bool() {
            Some(granted) => self.handle.push(inlet::Input::Consent(Source::Api, Verdict::from_bool(granted))),
            None => warn("consent: pass true or false"),
        }
    }

    /// A `leadscore:consent` event the loader saw (`detail`: `true`,
    /// `false` or `{granted: true | false}`), kept if it came early.
    #[doc(hidden)]
    pub fn consent_event(&self, detail: JsValue) {
        let granted = detail.as_bool().or_else(|| dom::own(&detail, "granted").as_bool());
        match granted {
            Some(granted) => self.handle.push(inlet::Input::Consent(Source::Event, Verdict::from_bool(granted))),
            None => warn("leadscore:consent: detail must be true, false or {granted: true|false}"),
        }
    }

    /// A history navigation the loader saw, with the URL after it.
    #[doc(hidden)]
    pub fn navigated(&self, url: JsValue) {
        if let Some(url) = url.as_string() {
            self.handle.signal(Signal::Navigated { url });
        }
    }

    /// Wipes everything of ours: the stored key and the in-memory score; the
    /// visitor gets a new random id.
    pub fn forget(&self) {
        self.handle.signal(Signal::Forget);
    }

    /// Calls `callback` on `"stage"` changes, `"score"` changes, when the
    /// visitor becomes an `"mql"`, and when a lead is `"sent"` or has
    /// `"failed"`.
    pub fn on(&self, kind: JsValue, callback: JsValue) {
        self.handle.catch_up();
        match (kind.as_string(), callback.dyn_into::<js_sys::Function>()) {
            (Some(kind), Ok(callback)) => self.handle.on(&kind, callback),
            _ => warn("on: expected on('stage' | 'score' | 'mql' | 'sent' | 'failed', function)"),
        }
    }

    /// Applies a config given after start; ignored once configured.
    pub fn init(&self, config: JsValue) {
        self.handle.catch_up();
        if self.handle.read(|session| session.is_configured()).unwrap_or(true) {
            return warn("init: already configured; the first config stays");
        }
        let options = match js_data::json(&config) {
            Ok(value) if config.is_object() => Options { config: Some(value), ..Options::default() },
            Ok(_) => Options::default(),
            Err(error) => return warn(&cat!("init: the config is not plain JSON data: ", error)),
        };
        options.resolve(None, configure_later(&self.handle));
    }

    /// The engagement score now, rounded to a tenth.
    pub fn score(&self) -> f64 {
        self.read(|engine| round(engine.score(now()) * 10.0) / 10.0).unwrap_or(0.0)
    }

    /// The stage now: `cold`, `warm`, `mql` or `sales_ready`.
    pub fn stage(&self) -> String {
        self.read(|engine| engine.stage(now()).as_str().to_string()).unwrap_or_else(|| "cold".into())
    }

    /// The fit grade, `A` to `D`.
    pub fn grade(&self) -> String {
        self.read(|engine| engine.grade().as_str().to_string()).unwrap_or_else(|| "D".into())
    }

    /// Everything the widget knows about this visitor, as plain objects.
    pub fn explain(&self) -> JsValue {
        self.handle.catch_up();
        let storage = self.handle.storage_kind();
        self.handle.read(|session| model::explain(session, storage)).unwrap_or(JsValue::NULL)
    }

    /// Shows (`true`) or hides the debug overlay.
    pub fn debug(&self, on: JsValue) {
        self.handle.catch_up();
        self.handle.show_overlay(on.as_bool().unwrap_or(true));
    }

    /// Writes pending state to storage now (also done on page hide).
    pub fn flush(&self) {
        self.handle.signal(Signal::Flush);
    }

    /// Handles the `track()` calls the loader kept; the loader calls it in
    /// idle time after keeping the first.
    #[doc(hidden)]
    pub fn drain(&self) {
        self.handle.catch_up();
    }

    fn read<T>(&self, read: impl FnOnce(&Engine) -> T) -> Option<T> {
        self.handle.catch_up();
        self.handle.read(|session| session.engine().map(read)).flatten()
    }
}
