//! The browser shell: the only module with `#[wasm_bindgen]` exports.
//!
//! The loader (`www/leadscore.js`) calls [`start`] with what it read from
//! the script tag and gets a [`Widget`] whose methods back the `leadscore`
//! global. JS values are converted here, once; everything below is typed
//! Rust. No method throws into the page: bad input is reported with one
//! console line and ignored.

mod capture;
mod consent;
mod dom;
mod js_data;
mod overlay;
mod privacy;
mod shell;
mod storage;
mod transport;

use std::sync::Arc;

use js_sys::{Function, Object};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use self::dom::{now, warn};
use self::shell::{Call, Inner, Shared};
use crate::core::{Config, Engine, State};

/// Hooks for the browser tests: a clock that moves without waiting.
#[doc(hidden)]
pub mod testing {
    /// Moves the widget's clock forward by `ms` milliseconds.
    pub fn advance_clock(ms: f64) {
        super::dom::advance_clock(ms);
    }
}

/// The widget's version, as the loader reports it in `leadscore.version`.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
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
    config: Option<serde_json::Value>,
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

    fn read(value: &JsValue) -> Options {
        let text = |key: &str| {
            js_sys::Reflect::get(value, &key.into())
                .ok()
                .and_then(|value| value.as_string())
                .filter(|text| !text.trim().is_empty())
        };
        let config =
            js_sys::Reflect::get(value, &"config".into()).ok().filter(|value| value.is_object()).and_then(|value| {
                js_data::json(&value)
                    .map_err(|error| warn(&format!("init: the config is not plain JSON data: {error}")))
                    .ok()
            });
        Options {
            site: text("site"),
            endpoint: text("endpoint"),
            preset: text("preset"),
            config_url: text("configUrl"),
            inline_config: text("inlineConfig"),
            config,
        }
    }

    /// The config document: the richest source, with attributes filling gaps.
    fn document(&self, fetched: Option<&str>) -> Result<String, String> {
        let base: Option<serde_json::Value> = match (&self.config, self.inline_config.as_deref(), fetched) {
            (Some(config), _, _) => Some(config.clone()),
            (None, Some(text), _) | (None, None, Some(text)) => {
                Some(serde_json::from_str(text).map_err(|error| format!("config: not valid JSON: {error}"))?)
            }
            _ => None,
        };
        let mut document = match base {
            Some(serde_json::Value::Object(map)) => map,
            Some(_) => return Err("config: expected a JSON object".into()),
            None => serde_json::Map::new(),
        };
        for (key, value) in [("site", &self.site), ("endpoint", &self.endpoint), ("preset", &self.preset)] {
            if let (Some(value), false) = (value, document.contains_key(key)) {
                document.insert(key.into(), serde_json::Value::String(value.clone()));
            }
        }
        if document.is_empty() {
            return Err("no config: add data-site and data-preset to the script tag, an inline \
                        <script type=\"application/json\" id=\"leadscore-config\">, or leadscore('init', {...})"
                .into());
        }
        Ok(serde_json::Value::Object(document).to_string())
    }
}

/// Calls kept while the config is loading.
const MAX_PENDING_CALLS: usize = 200;

/// The widget behind the `leadscore` global.
#[wasm_bindgen]
pub struct Widget {
    shared: Shared,
}

/// Starts the widget. Never throws: a bad config logs one line and leaves
/// an inert widget that ignores calls.
#[wasm_bindgen]
pub fn start(options: JsValue) -> Widget {
    install_panic_hook();
    let widget = Widget { shared: Inner::shared() };
    let options = Options::read(&options);
    if options.is_empty() {
        // Not an error yet: leadscore('init', {...}) may still come; calls queue until then.
        warn(
            "no config yet: add data-site and data-preset to the script tag, an inline \
              <script type=\"application/json\" id=\"leadscore-config\">, or call leadscore('init', {...})",
        );
        return widget;
    }
    match options.config_url.clone() {
        Some(url) if options.config.is_none() && options.inline_config.is_none() => {
            let shared = widget.shared.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let fetched = fetch_text(&url).await;
                match fetched {
                    Ok(text) => configure(&shared, options.document(Some(&text))),
                    Err(error) => fail(&shared, format!("config {url}: {error}")),
                }
            });
        }
        _ => configure(&widget.shared, options.document(None)),
    }
    widget
}

fn install_panic_hook() {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        // Throwing (instead of returning to the abort) hands the message to
        // the loader, which disables the widget and logs exactly one line.
        std::panic::set_hook(Box::new(|info| wasm_bindgen::throw_str(&format!("internal error: {info}"))));
    });
}

async fn fetch_text(url: &str) -> Result<String, String> {
    let window = dom::window().ok_or("no window")?;
    let init = web_sys::RequestInit::new();
    init.set_credentials(web_sys::RequestCredentials::Omit);
    let response = wasm_bindgen_futures::JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await
        .map_err(|_| "could not be fetched".to_string())?;
    let response: web_sys::Response = response.dyn_into().map_err(|_| "not a response")?;
    if !response.ok() {
        return Err(format!("answered HTTP {}", response.status()));
    }
    let text = response.text().map_err(|_| "unreadable body")?;
    let text = wasm_bindgen_futures::JsFuture::from(text).await.map_err(|_| "unreadable body")?;
    text.as_string().ok_or_else(|| "unreadable body".into())
}

fn fail(shared: &Shared, message: String) {
    let mut inner = shared.borrow_mut();
    if inner.engine.is_some() {
        // A config already won (an init() while data-config was loading).
        return;
    }
    warn(&message);
    inner.failed = true;
    inner.pending.clear();
}

/// Parses the config, starts capture and replays calls made meanwhile.
fn configure(shared: &Shared, document: Result<String, String>) {
    if shared.borrow().engine.is_some() {
        // The first config wins: a data-config answer after an init(), say.
        return;
    }
    let config = match document.and_then(|json| Config::parse(&json).map_err(|error| format!("config: {error}"))) {
        Ok(config) => config,
        Err(message) => return fail(shared, message),
    };
    {
        let mut inner = shared.borrow_mut();
        inner.key = format!("leadscore:{}", config.site());
        inner.engine = Some(Engine::new(Arc::new(config), State::new(&dom::new_visitor_id(), now())));
    }
    shared.borrow_mut().read_opt_out();
    capture::install(shared);
    let mut sources = consent::install(shared);
    sources.extend(privacy::install(shared));
    shared.borrow_mut().listeners.extend(sources);
    let pending = std::mem::take(&mut shared.borrow_mut().pending);
    let debug = capture::debug_requested();
    capture::with(&std::rc::Rc::downgrade(shared), |inner| {
        inner.started = true;
        if inner.active() {
            inner.load();
            inner.page_view();
            inner.arrival();
            // Leads an earlier page left waiting go at once.
            inner.send_waiting_now();
        } else if inner.may_score() {
            // In memory only, until consent.
            inner.page_view();
            inner.arrival();
        }
        for call in pending {
            apply(inner, call);
        }
        if debug {
            inner.overlay = overlay::Overlay::open();
        }
    });
}

/// Applies one API call to a configured widget.
fn apply(inner: &mut Inner, call: Call) {
    match call {
        Call::Track(name, props) => inner.signal(&name, None, &props, None),
        Call::Identify(fields) => inner.identify(&fields),
        Call::Consent(granted) => inner.change_basis(|inner| inner.consent = Some(granted)),
        Call::Forget => inner.wipe(),
    }
}

/// `{key: value}` as text pairs; strings, numbers and booleans only.
fn text_pairs(value: &JsValue, what: &str) -> Option<Vec<(String, String)>> {
    if value.is_undefined() || value.is_null() {
        return Some(Vec::new());
    }
    let Some(object) = value.dyn_ref::<Object>() else {
        warn(&format!("{what}: expected an object like {{\"kind\": \"trial\"}}"));
        return None;
    };
    let mut pairs = Vec::new();
    for entry in Object::entries(object).iter() {
        let entry: js_sys::Array = entry.unchecked_into();
        let key = entry.get(0).as_string().unwrap_or_default();
        let value = entry.get(1);
        let text = if let Some(text) = value.as_string() {
            text
        } else if let Some(number) = value.as_f64() {
            crate::core::event::number_text(number)
        } else if let Some(flag) = value.as_bool() {
            flag.to_string()
        } else if value.is_null() || value.is_undefined() {
            continue;
        } else {
            warn(&format!("{what}.{key}: expected a string, number or boolean"));
            return None;
        };
        pairs.push((key, text));
    }
    Some(pairs)
}

#[wasm_bindgen]
impl Widget {
    /// Applies `call` now if configured, or queues it until then.
    fn call(&self, call: Call) {
        let queued = match self.shared.try_borrow_mut() {
            Ok(mut inner) if inner.engine.is_none() && !inner.failed => {
                // Bounded: a page that never configures the widget cannot grow it.
                if inner.pending.len() < MAX_PENDING_CALLS {
                    inner.pending.push(call);
                }
                return;
            }
            Ok(_) => call,
            Err(_) => return warn("a leadscore call from inside a callback was ignored"),
        };
        capture::with(&std::rc::Rc::downgrade(&self.shared), |inner| apply(inner, queued));
    }

    /// Counts a custom or built-in event: `track('webinar_join', {topic: 'pricing'})`.
    pub fn track(&self, name: JsValue, props: JsValue) {
        let Some(name) = name.as_string() else { return warn("track: the event name must be a string") };
        if let Some(props) = text_pairs(&props, "track props") {
            self.call(Call::Track(name, props));
        }
    }

    /// Records identity fields: `identify({email: 'ann@acme.example', job_title: 'CTO'})`.
    pub fn identify(&self, fields: JsValue) {
        if let Some(fields) = text_pairs(&fields, "identify") {
            self.call(Call::Identify(fields));
        }
    }

    /// Grants (`true`) or withdraws (`false`) consent.
    pub fn consent(&self, granted: JsValue) {
        match granted.as_bool() {
            Some(granted) => self.call(Call::Consent(granted)),
            None => warn("consent: pass true or false"),
        }
    }

    /// Wipes everything of ours: the stored key and the in-memory score; the
    /// visitor gets a new random id.
    pub fn forget(&self) {
        self.call(Call::Forget);
    }

    /// Calls `callback` on `"stage"` changes, `"score"` changes, when the
    /// visitor becomes an `"mql"`, and when a lead is `"sent"` or has
    /// `"failed"`.
    pub fn on(&self, kind: JsValue, callback: JsValue) {
        match (kind.as_string(), callback.dyn_into::<Function>()) {
            (Some(kind), Ok(callback)) => match self.shared.try_borrow_mut() {
                Ok(mut inner) => inner.on(&kind, callback),
                Err(_) => warn("on() from inside a callback was ignored"),
            },
            _ => warn("on: expected on('stage' | 'score' | 'mql' | 'sent' | 'failed', function)"),
        }
    }

    /// Applies a config given after start; ignored once configured.
    pub fn init(&self, config: JsValue) {
        {
            let Ok(mut inner) = self.shared.try_borrow_mut() else { return };
            if inner.engine.is_some() {
                return warn("init: already configured; the first config stays");
            }
            // A start without any config waits for this call.
            inner.failed = false;
        }
        let options = Options::read(
            &js_sys::Object::from_entries(&js_sys::Array::of1(&js_sys::Array::of2(&"config".into(), &config)))
                .unwrap_or_default()
                .into(),
        );
        configure(&self.shared, options.document(None));
    }

    /// The engagement score now, rounded to a tenth.
    pub fn score(&self) -> f64 {
        self.read(|engine| (engine.score(now()) * 10.0).round() / 10.0).unwrap_or(0.0)
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
        let Ok(inner) = self.shared.try_borrow() else { return JsValue::NULL };
        let Some(engine) = inner.engine.as_ref() else { return JsValue::NULL };
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
        let warnings = engine.config().warnings().iter().cloned().chain(inner.storage_warning.clone());
        let outbox = engine.state().outbox();
        js_data::object([
            ("site", JsValue::from(engine.config().site())),
            ("score", number(score)),
            ("stage", JsValue::from(stage.as_str())),
            ("grade", JsValue::from(engine.grade().as_str())),
            ("fit", number(engine.fit_points() as f64)),
            ("consent", JsValue::from(inner.active())),
            ("opt_out", inner.refusal().map_or(JsValue::NULL, JsValue::from)),
            ("storage", JsValue::from(inner.store.kind())),
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

    /// Shows (`true`) or hides the debug overlay.
    pub fn debug(&self, on: JsValue) {
        let on = on.as_bool().unwrap_or(true);
        let Ok(mut inner) = self.shared.try_borrow_mut() else { return };
        match (on, inner.overlay.take()) {
            (true, Some(overlay)) => inner.overlay = Some(overlay),
            (true, None) => inner.overlay = overlay::Overlay::open(),
            (false, Some(overlay)) => overlay.close(),
            (false, None) => {}
        }
        if let Some(overlay) = &inner.overlay {
            overlay.render(&inner);
        }
    }

    /// Writes pending state to storage now (also done on page hide).
    pub fn flush(&self) {
        if let Ok(mut inner) = self.shared.try_borrow_mut() {
            inner.flush();
        }
    }

    fn read<T>(&self, read: impl FnOnce(&Engine) -> T) -> Option<T> {
        let inner = self.shared.try_borrow().ok()?;
        inner.engine.as_ref().map(read)
    }
}
