//! The browser shell in a real headless Chromium (wasm-bindgen-test):
//! capture paths, the JS API, consent gating of storage, storage fallbacks,
//! in-page actions and bad input (the overlay and the panel, loaded on demand, are tested end to end). Run by `cargo xtask test`.
#![cfg(target_arch = "wasm32")]

use js_sys::{Function, Reflect, JSON};
use leadscore::web::{start, Widget};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn window() -> web_sys::Window {
    web_sys::window().unwrap()
}

fn document() -> web_sys::Document {
    window().document().unwrap()
}

fn storage() -> web_sys::Storage {
    window().local_storage().unwrap().unwrap()
}

/// Test pages must not navigate away: cancel default actions after the
/// widget's capture-phase listeners have seen them.
fn keep_page() {
    js_sys::eval(
        "if (!window.__kept) { window.__kept = 1;
           document.addEventListener('click', e => e.preventDefault());
           document.addEventListener('submit', e => e.preventDefault()); }",
    )
    .unwrap();
}

/// The loader's `pairs` builtin, as www/leadscore.js writes it (it reads
/// the object with the loader's `Y`, `Object.keys`, and `O`, `get`).
fn loader_pairs() -> &'static str {
    let loader = include_str!("../www/leadscore.js");
    let start = loader.find("function p(o){").expect("the loader has a pairs builtin");
    let mut depth = 0;
    for (offset, c) in loader[start..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 1 => return &loader[start..=start + offset],
            '}' => depth -= 1,
            _ => {}
        }
    }
    panic!("the loader's pairs builtin does not end")
}

/// What the loader hands `start()`: the page's builtins as it found them
/// (the same shape as in `www/leadscore.js`).
fn builtins() -> JsValue {
    builtins_with(&format!("pairs: {},", loader_pairs()))
}

/// The builtins with `extra` (`name: value,` pairs) added.
fn builtins_with(extra: &str) -> JsValue {
    js_sys::eval(&format!(
        "(function () {{ var H = {{}}.hasOwnProperty, Y = Object.keys,
           O = function (o, k) {{ return o != null && H.call(o, k) ? o[k] : undefined; }}; return {{ {extra}
           keys: Y, parse: JSON.parse, get: O,
           fetch: window.fetch.bind(window), beacon: navigator.sendBeacon.bind(navigator),
           log: function (m) {{ try {{ console.warn('leadscore: ' + m); }} catch (_) {{}} }},
           guard: function (h) {{ return function (a, b) {{ return h(a, b); }}; }} }}; }})()",
    ))
    .unwrap()
}

/// A widget on a config given as `leadscore('init', {...})` would give it.
fn widget(config: &str) -> Widget {
    keep_page();
    let options = js_sys::Object::new();
    Reflect::set(&options, &"config".into(), &JSON::parse(config).unwrap()).unwrap();
    start(options.into(), builtins())
}

fn implied(site: &str, rules: &str) -> String {
    format!(r#"{{"site":"{site}","consent":"implied","half_life_days":"never","rules":[{rules}]}}"#)
}

fn get(value: &JsValue, path: &str) -> JsValue {
    path.split('.').fold(value.clone(), |value, key| Reflect::get(&value, &key.into()).unwrap())
}

/// The ledger count of a rule, from `explain()`.
fn count(widget: &Widget, rule: &str) -> u32 {
    let ledger: js_sys::Array = get(&widget.explain(), "ledger").unchecked_into();
    ledger
        .iter()
        .find(|line| get(line, "rule").as_string().as_deref() == Some(rule))
        .map_or(0, |line| get(&line, "count").as_f64().unwrap() as u32)
}

fn props(json: &str) -> JsValue {
    JSON::parse(json).unwrap()
}

fn append(html: &str) -> web_sys::Element {
    let holder = document().create_element("div").unwrap();
    holder.set_inner_html(html);
    document().body().unwrap().append_child(&holder).unwrap();
    holder
}

fn dispatch(target: &web_sys::EventTarget, kind: &str) {
    let init = web_sys::EventInit::new();
    init.set_bubbles(true);
    init.set_cancelable(true);
    target.dispatch_event(&web_sys::Event::new_with_event_init_dict(kind, &init).unwrap()).unwrap();
}

#[wasm_bindgen_test]
fn track_scores_and_explain_lists_the_ledger() {
    let widget =
        widget(&implied("t-track", r#"{"id":"webinar","on":"webinar_join","props":{"topic":"pricing"},"points":12}"#));
    widget.track("webinar_join".into(), props(r#"{"topic":"Pricing"}"#));
    widget.track("webinar_join".into(), props(r#"{"topic":"other"}"#));
    assert_eq!(widget.score(), 12.0);
    assert_eq!(count(&widget, "webinar"), 1);
    let explanation = widget.explain();
    assert_eq!(get(&explanation, "stage").as_string().as_deref(), Some("cold"));
    assert_eq!(get(&explanation, "consent").as_bool(), Some(true));
    assert_eq!(get(&explanation, "storage").as_string().as_deref(), Some("local"));
}

/// Props come as one text from the loader's `pairs` when it can write
/// them all; otherwise the widget reads them one by one. Both readings give
/// the same texts, for every kind of value, and the one text is used
/// whenever it can be.
#[wasm_bindgen_test]
fn props_read_as_one_text_are_read_as_one_by_one() {
    keep_page();
    // The builtins are the last start()'s: each widget is read to the end
    // before the next starts.
    let on = |builtins: JsValue, site: &str| {
        let config = implied(site, r#"{"id":"x","on":"x","points":1,"props":{"k 1":"v 2 ✓😀"}}"#);
        let options = js_sys::Object::new();
        Reflect::set(&options, &"config".into(), &JSON::parse(&config).unwrap()).unwrap();
        start(options.into(), builtins)
    };
    let counted = js_sys::eval(&format!(
        "window.__pairs = {{ texts: 0, others: 0 }}; (function () {{ var Y = Object.keys, H = {{}}.hasOwnProperty,
           O = function (o, k) {{ return o != null && H.call(o, k) ? o[k] : undefined; }}, p = {};
           return function (o) {{ var t = p(o); if (typeof t == 'string') __pairs.texts++; else __pairs.others++; return t; }}; }})()",
        loader_pairs()
    ))
    .unwrap();
    let tally = |kind: &str| get(&js_sys::eval("window.__pairs").unwrap(), kind).as_f64().unwrap();
    let values = js_sys::eval(
        "['ACME', '', ' 7 ', 'ü✓😀', '\\ud83d', 'a 12 b 3', 'a\\u0000b', 0, -0, 7, -3, 19.99, 0.1 + 0.2, 1e14 + 0.5,
          2 ** 53, 1e20, 123456789012345680000, 0.000003, -0.25, true, false,
          1e21, -1e21, 1.5e-7, 0.000001, NaN, Infinity, {}]",
    )
    .unwrap();
    let values: Vec<JsValue> = values.unchecked_ref::<js_sys::Array>().iter().collect();
    // The values before 1e21 come as one text (a NUL too: the text has
    // lengths, not separators); the others, one by one.
    let read_as_text = 21;
    // The company a value gives a new visitor, read one way or the other.
    let company = |builtins: JsValue, site: &str, value: &JsValue| {
        let widget = on(builtins, site);
        let fields = js_sys::Object::new();
        Reflect::set(&fields, &"company".into(), value).unwrap();
        Reflect::set(&fields, &"job_title".into(), &JsValue::NULL).unwrap();
        widget.identify(fields.into());
        widget.explain()
    };

    let builtins = || {
        let builtins = builtins_with("");
        Reflect::set(&builtins, &"pairs".into(), &counted).unwrap();
        builtins
    };
    let fast = on(builtins(), "t-pairs-track");
    fast.track("x".into(), props(r#"{"k 1":"v 2 ✓😀","other":"a 3 b"}"#));
    assert_eq!((count(&fast, "x"), tally("texts")), (1, 1.0), "keys and values with spaces and digits");
    drop(fast);
    for (index, value) in values.iter().enumerate() {
        let by_text = get(&company(builtins(), &format!("t-pairs-text-{index}"), value), "identity.company");
        let texts = index.min(read_as_text - 1) as f64 + 2.0;
        assert_eq!(tally("texts"), texts, "{value:?}: read as one text or not as expected");
        let one_by_one = get(&company(builtins_with(""), &format!("t-pairs-full-{index}"), value), "identity.company");
        assert_eq!(by_text.as_string(), one_by_one.as_string(), "{value:?}");
        if value.as_f64() == Some(1e21) {
            // What JS writes as "1e+21": read one by one, as the engine writes numbers.
            assert_eq!(by_text.as_string().as_deref(), Some("1000000000000000000000"));
        }
    }
    assert_eq!(tally("others"), (values.len() - read_as_text) as f64);

    // The npm package's copy writes exactly what the loader's does.
    let npm = include_str!("../www/npm/index.js");
    let start = npm.find("function pairs(object) {").expect("the npm entry has a pairs builtin");
    let end = start + npm[start..].find("\n}\n").expect("its pairs builtin ends") + 2;
    let both = js_sys::eval(&format!(
        "(function () {{ var keys = Object.keys, H = {{}}.hasOwnProperty, Y = keys,
           get = function (o, k) {{ return o != null && H.call(o, k) ? o[k] : undefined; }}, O = get;
           {}
           var loader = {};
           return function (o) {{ return [loader(o), pairs(o)]; }}; }})()",
        &npm[start..end],
        loader_pairs()
    ))
    .unwrap();
    let both: &Function = both.unchecked_ref();
    for value in values.iter().chain([&JsValue::NULL]) {
        let object = js_sys::Object::new();
        Reflect::set(&object, &"k 1".into(), value).unwrap();
        Reflect::set(&object, &"other".into(), &"a 3 b".into()).unwrap();
        let texts: js_sys::Array = both.call1(&JsValue::NULL, &object).unwrap().unchecked_into();
        assert_eq!(texts.get(0).as_string(), texts.get(1).as_string(), "{value:?}");
    }
}

/// `track()` calls the loader kept (its `kept` builtin) are handled before
/// any other input or read, in the order they were made, each with the
/// props it had when it was made; a text that is not the loader's is
/// skipped with a line and the rest still count.
#[wasm_bindgen_test]
fn kept_track_calls_come_first_in_their_order() {
    keep_page();
    // The loader's own `p` and the list it keeps calls in, filled as the
    // loader's `v` fills it.
    let keep: Function = js_sys::eval(&format!(
        "window.__held = []; (function () {{ var Y = Object.keys, H = {{}}.hasOwnProperty,
           O = function (o, k) {{ return o != null && H.call(o, k) ? o[k] : undefined; }}, p = {};
           return function (name, props) {{ window.__held.push(props == null ? '0\\0' + name : typeof props == 'string' ? props : p(props) + name); }}; }})()",
        loader_pairs()
    ))
    .unwrap()
    .unchecked_into();
    let builtins = builtins_with(&format!("pairs: {}, kept: window.__held,", loader_pairs()));
    let config = implied(
        "t-kept",
        r#"{"id":"x","on":"x","points":1},{"id":"nul","on":"y","points":10,"props":{"k\u0000":"a\u0000b"}},
           {"id":"z","on":"z","points":100,"props":{"n":"2"}}"#,
    );
    let options = js_sys::Object::new();
    Reflect::set(&options, &"config".into(), &JSON::parse(&config).unwrap()).unwrap();
    let widget = start(options.into(), builtins);
    let call =
        |name: &str, props: &str| keep.call2(&JsValue::NULL, &name.into(), &JSON::parse(props).unwrap()).unwrap();

    call("x", "null");
    // A NUL in a key and a value reads back as it was.
    call("y", r#"{"k\u0000":"a\u0000b"}"#);
    let mutated = props(r#"{"n":2}"#);
    keep.call2(&JsValue::NULL, &"z".into(), &mutated).unwrap();
    // The text was written at the call: a later change is not seen.
    Reflect::set(&mutated, &"n".into(), &JsValue::from_f64(3.0)).unwrap();
    call("bad name", "null");
    assert_eq!(js_sys::eval("window.__held.length").unwrap().as_f64(), Some(4.0), "kept, not handled yet");
    assert_eq!(widget.score(), 111.0, "a read takes them first");
    assert_eq!(js_sys::eval("window.__held.length").unwrap().as_f64(), Some(0.0));

    // Before an input: the kept call comes first, so forget() wipes it.
    call("x", "null");
    widget.forget();
    assert_eq!(widget.score(), 0.0, "the kept track() came before forget()");
    // And a direct call after a kept one counts after it.
    call("x", "null");
    widget.track("x".into(), JsValue::UNDEFINED);
    assert_eq!(count(&widget, "x"), 2);
    // The loader's drain in idle time.
    call("x", "null");
    widget.drain();
    assert_eq!(js_sys::eval("window.__held.length").unwrap().as_f64(), Some(0.0));
    assert_eq!(count(&widget, "x"), 3);
    // A text that is not the loader's is skipped; the rest still count.
    js_sys::eval("window.__held.push('9\\0x')").unwrap();
    call("x", "null");
    assert_eq!(count(&widget, "x"), 4);
}

#[wasm_bindgen_test]
fn bad_api_input_never_throws() {
    let widget = widget(&implied("t-bad", r#"{"id":"x","on":"x","points":1}"#));
    widget.track(JsValue::from_f64(12.0), JsValue::UNDEFINED);
    widget.track("has space".into(), JsValue::UNDEFINED);
    widget.track("x".into(), "not an object".into());
    widget.track("x".into(), props(r#"{"nested":{"a":1}}"#));
    widget.identify(props(r#"{"email":"not-an-email","jobtitle":"CTO"}"#));
    widget.consent("yes".into());
    widget.on("nope".into(), JsValue::NULL);
    assert_eq!(widget.score(), 0.0);
    widget.track("x".into(), JsValue::UNDEFINED);
    assert_eq!(widget.score(), 1.0, "the widget still works after bad calls");
}

/// A widget started on a config object built by `script` (which must
/// evaluate to it), as `leadscore('init', object)` would give it.
fn widget_on_object(script: &str) -> Widget {
    keep_page();
    let options = js_sys::Object::new();
    Reflect::set(&options, &"config".into(), &js_sys::eval(script).unwrap()).unwrap();
    start(options.into(), builtins())
}

/// `explain()` answers plain objects with a fixed set of keys in a fixed
/// order, identity fields sorted by name and numbers as numbers.
#[wasm_bindgen_test]
fn explain_is_plain_data_in_a_fixed_shape() {
    let widget = widget(&implied("t-shape", r#"{"id":"x","on":"x","points":5}"#));
    widget.track("x".into(), JsValue::UNDEFINED);
    widget.identify(props(r#"{"job_title":"CTO","company":"Acme","email":"ann@acme.example"}"#));
    let explained = widget.explain();
    let keys = |value: &JsValue| -> Vec<String> {
        js_sys::Object::keys(value.unchecked_ref::<js_sys::Object>())
            .iter()
            .map(|key| key.as_string().unwrap())
            .collect()
    };
    let top = "site score stage grade fit consent opt_out storage visitor ledger identity warnings outbox";
    assert_eq!(keys(&explained), top.split(' ').collect::<Vec<_>>());
    assert_eq!(keys(&get(&explained, "ledger.0")), ["rule", "points", "count", "first", "last"]);
    assert_eq!(keys(&get(&explained, "outbox")), ["pending", "dropped", "expired", "rejected"]);
    assert_eq!(keys(&get(&explained, "identity")), ["company", "email", "job_title"]);
    assert_eq!(get(&explained, "score").as_f64(), Some(5.0));
    assert_eq!(get(&explained, "fit").as_f64(), Some(0.0));
    assert_eq!(get(&explained, "ledger.0.count").as_f64(), Some(1.0));
    assert_eq!(get(&explained, "outbox.pending").as_f64(), Some(0.0));
    assert!(get(&explained, "opt_out").is_null());
    assert_eq!(get(&explained, "consent").as_bool(), Some(true));
    assert!(js_sys::Array::is_array(&get(&explained, "warnings")));
}

/// An `init` object is read as JSON data: a `Map` works like an object,
/// and what JSON cannot hold (functions, cycles, binary data) leaves the
/// widget unconfigured with a console line, never a crash.
#[wasm_bindgen_test]
fn init_objects_are_read_as_json_data() {
    let map = widget_on_object(
        "new Map([['site', 't-map'], ['consent', 'implied'], ['half_life_days', 'never'],
                  ['rules', [{ id: 'x', on: 'x', points: 5, cap: 10.0 }]]])",
    );
    map.track("x".into(), JsValue::UNDEFINED);
    assert_eq!(map.score(), 5.0);
    for script in [
        "({ site: 't-fn', consent: 'implied', rules: [], hook: function () {} })",
        "(function () { var c = { site: 't-cycle', consent: 'implied', rules: [] }; c.self = c; return c; })()",
        "({ site: 't-bytes', consent: 'implied', rules: [], data: new Uint8Array(2) })",
        "({ site: 't-set', consent: 'implied', rules: new Set() })",
    ] {
        let widget = widget_on_object(script);
        assert!(widget.explain().is_null(), "configured from {script}");
    }
}

/// A config error is one short console line in the browser: where it is
/// and what kind of mistake, pointing to `collector check` for the fix.
#[wasm_bindgen_test]
fn a_config_error_is_one_short_line_naming_the_place() {
    js_sys::eval("window.__lines = []").unwrap();
    let builtins = builtins();
    let log = js_sys::eval("(function (m) { window.__lines.push(m); })").unwrap();
    Reflect::set(&builtins, &"log".into(), &log).unwrap();
    let options = js_sys::Object::new();
    let config = r#"{"site":"t-short","consent":"implied","rules":[{"id":"x","on":"x","points":1,"withn_days":3}]}"#;
    Reflect::set(&options, &"config".into(), &JSON::parse(config).unwrap()).unwrap();
    let widget = start(options.into(), builtins);
    assert!(widget.explain().is_null());
    let lines: Vec<String> = js_sys::Array::from(&js_sys::eval("window.__lines").unwrap())
        .iter()
        .filter_map(|line| line.as_string())
        .collect();
    assert_eq!(lines, ["config: rules[0].withn_days: unknown field (`collector check` explains it)"], "{lines:?}");
}

/// Every listener the widget adds is passive, so scrolling and touches
/// never wait for it; the one exception is the privacy link's click, which
/// must cancel the link to open the panel instead.
#[wasm_bindgen_test]
fn listeners_are_passive_except_the_privacy_click() {
    keep_page();
    js_sys::eval(
        "window.__listeners = [];
         window.__addEventListener = EventTarget.prototype.addEventListener;
         EventTarget.prototype.addEventListener = function (type, listener, options) {
           var passive = typeof options === 'object' && options !== null && options.passive === true;
           window.__listeners.push(type + (passive ? ' passive' : ' not passive'));
           return window.__addEventListener.call(this, type, listener, options);
         };",
    )
    .unwrap();
    let widget = widget(&implied("t-passive", r#"{"id":"x","on":"x","points":1}"#));
    js_sys::eval("EventTarget.prototype.addEventListener = window.__addEventListener").unwrap();
    let listeners: Vec<String> = js_sys::Array::from(&js_sys::eval("window.__listeners").unwrap())
        .iter()
        .map(|line| line.as_string().unwrap())
        .collect();
    assert!(listeners.iter().any(|line| line == "scroll passive"), "{listeners:?}");
    assert!(listeners.iter().any(|line| line == "pagehide passive"), "{listeners:?}");
    let not_passive: Vec<&String> = listeners.iter().filter(|line| line.ends_with(" not passive")).collect();
    assert_eq!(not_passive, ["click not passive"], "{listeners:?}");
    drop(widget);
}

/// Storage writes are batched: a burst of events is one write, made when
/// the page is hidden (or a second after the first change), not one per
/// event.
#[wasm_bindgen_test]
fn a_burst_of_events_is_stored_in_one_write() {
    let key = "leadscore:t-batched";
    storage().remove_item(key).unwrap();
    js_sys::eval(
        "window.__writes = {};
         window.__setItemBeforeCount = Storage.prototype.setItem;
         Storage.prototype.setItem = function (key, value) {
           window.__writes[key] = (window.__writes[key] || 0) + 1;
           return window.__setItemBeforeCount.call(this, key, value);
         };",
    )
    .unwrap();
    let writes = || js_sys::eval(&format!("window.__writes['{key}'] || 0")).unwrap().as_f64().unwrap();
    let widget = widget(&implied("t-batched", r#"{"id":"x","on":"x","points":1}"#));
    let at_start = writes();
    for _ in 0..50 {
        widget.track("x".into(), JsValue::UNDEFINED);
    }
    assert_eq!(writes(), at_start, "no write per event");
    dispatch(&window().into(), "pagehide");
    let after_hide = writes();
    js_sys::eval("Storage.prototype.setItem = window.__setItemBeforeCount").unwrap();
    assert_eq!(after_hide, at_start + 1.0, "one write for the burst when the page is hidden");
    assert_eq!(count(&widget, "x"), 50);
    assert!(storage().get_item(key).unwrap().is_some());
}

#[wasm_bindgen_test]
fn without_consent_nothing_is_scored_or_stored() {
    storage().remove_item("leadscore:t-consent").unwrap();
    let widget = widget(r#"{"site":"t-consent","rules":[{"id":"x","on":"x","points":5}]}"#);
    widget.track("x".into(), JsValue::UNDEFINED);
    widget.flush();
    assert_eq!(widget.score(), 0.0);
    assert_eq!(storage().get_item("leadscore:t-consent").unwrap(), None, "no write before consent");
    widget.consent(true.into());
    widget.track("x".into(), JsValue::UNDEFINED);
    widget.flush();
    assert_eq!(widget.score(), 5.0);
    assert!(storage().get_item("leadscore:t-consent").unwrap().is_some());
    widget.consent(false.into());
    assert_eq!(storage().get_item("leadscore:t-consent").unwrap(), None, "withdrawal deletes our key");
    assert_eq!(widget.score(), 0.0);
}

#[wasm_bindgen_test]
fn state_survives_a_reload_and_merges_across_tabs() {
    storage().remove_item("leadscore:t-reload").unwrap();
    let config = implied("t-reload", r#"{"id":"x","on":"x","points":5}"#);
    let first = widget(&config);
    first.track("x".into(), JsValue::UNDEFINED);
    first.flush();
    drop(first);
    let second = widget(&config);
    assert_eq!(second.score(), 5.0, "the next page load picks the score up");
    let other_tab = widget(&config);
    other_tab.track("x".into(), JsValue::UNDEFINED);
    other_tab.flush();
    second.track("x".into(), JsValue::UNDEFINED);
    second.flush();
    assert_eq!(second.score(), 15.0, "both tabs' events count, once each");
}

#[wasm_bindgen_test]
fn marked_clicks_and_downloads_are_captured() {
    let widget = widget(&implied(
        "t-click",
        r#"{"id":"wish","on":"wishlist_add","props":{"sku":"boot-1"},"points":8},
           {"id":"trial","on":"download","props":{"kind":"trial"},"points":20},
           {"id":"any-download","on":"download","points":1}"#,
    ));
    let holder = append(
        r#"<button data-leadscore-event="wishlist_add" data-leadscore-props='{"sku":"boot-1"}'><span id="inner">♥</span></button>
           <a id="trial" href="/files/acme-trial.dmg">Trial</a>
           <a id="sheet" href="/export" download>Export</a>
           <a id="page" href="/about">About</a>"#,
    );
    document().get_element_by_id("inner").unwrap().unchecked_into::<web_sys::HtmlElement>().click();
    for id in ["trial", "sheet", "page"] {
        document().get_element_by_id(id).unwrap().unchecked_into::<web_sys::HtmlElement>().click();
    }
    assert_eq!(count(&widget, "wish"), 1, "delegated from a child of the marked element");
    assert_eq!(count(&widget, "trial"), 1, "kind guessed from the file name");
    assert_eq!(count(&widget, "any-download"), 2, "file links and download attributes, not pages");
    holder.remove();
}

/// `data-leadscore-props` is read by the browser's `JSON.parse` (the one
/// the loader took): numbers and booleans become the text a rule's
/// condition compares, and an attribute that is not a flat object is one
/// console line naming it, while the click still counts, without props.
#[wasm_bindgen_test]
fn marked_clicks_read_their_props_as_json() {
    js_sys::eval("window.__lines = []").unwrap();
    let builtins = builtins();
    let log = js_sys::eval("(function (m) { window.__lines.push(m); })").unwrap();
    Reflect::set(&builtins, &"log".into(), &log).unwrap();
    keep_page();
    let options = js_sys::Object::new();
    let config = implied(
        "t-props",
        r#"{"id":"seats","on":"plan_pick","props":{"seats":"5","yearly":"true","plan":"pro"},"points":8},
           {"id":"pick","on":"plan_pick","points":1}"#,
    );
    Reflect::set(&options, &"config".into(), &JSON::parse(&config).unwrap()).unwrap();
    let widget = start(options.into(), builtins);
    let holder = append(
        r#"<button id="good" data-leadscore-event="plan_pick" data-leadscore-props='{"yearly":true,"seats":5.0,"plan":"pro"}'>Pro</button>
           <button id="nested" data-leadscore-event="plan_pick" data-leadscore-props='{"plan":{"name":"pro"}}'>Pro</button>
           <button id="broken" data-leadscore-event="plan_pick" data-leadscore-props='{plan:pro}'>Pro</button>
           <button id="list" data-leadscore-event="plan_pick" data-leadscore-props='["pro"]'>Pro</button>"#,
    );
    for id in ["good", "nested", "broken", "list"] {
        document().get_element_by_id(id).unwrap().unchecked_into::<web_sys::HtmlElement>().click();
    }
    assert_eq!(count(&widget, "seats"), 1, "5.0 is \"5\" and true is \"true\"");
    assert_eq!(count(&widget, "pick"), 4, "a click with unusable props still counts");
    let lines: Vec<String> = js_sys::Array::from(&js_sys::eval("window.__lines").unwrap())
        .iter()
        .filter_map(|line| line.as_string())
        .collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[0].contains("data-leadscore-props.plan must be a string, number or boolean"), "{lines:?}");
    assert!(lines[1].starts_with("data-leadscore-props is not JSON: "), "{lines:?}");
    assert!(lines[2].contains("data-leadscore-props must be a JSON object"), "{lines:?}");
    holder.remove();
}

#[wasm_bindgen_test]
fn forms_give_identity_only_through_the_allowlist() {
    let widget = widget(&implied(
        "t-form",
        r#"{"id":"form","on":"form_submit","points":10},{"id":"news","on":"newsletter_signup","points":15}"#,
    ));
    let holder = append(
        r#"<form id="signup" data-leadscore-event="newsletter_signup">
             <input name="email" value="ann@acme.example">
             <input name="company" value="Acme">
             <input type="password" name="email_password" value="CANARY-PASSWORD">
             <input type="hidden" name="job_title" value="CANARY-HIDDEN">
             <input name="phone" value="4111 1111 1111 1111">
             <input name="industry" value="CANARY-IGNORED" data-leadscore-ignore>
             <input name="favourite_colour" value="CANARY-UNLISTED">
           </form>
           <form id="skip" data-leadscore-ignore><input name="email" value="bob@acme.example"></form>"#,
    );
    dispatch(&document().get_element_by_id("signup").unwrap(), "submit");
    dispatch(&document().get_element_by_id("skip").unwrap(), "submit");
    let explanation = widget.explain();
    assert_eq!(get(&explanation, "identity.email").as_string().as_deref(), Some("ann@acme.example"));
    assert_eq!(get(&explanation, "identity.company").as_string().as_deref(), Some("Acme"));
    let identity = JSON::stringify(&get(&explanation, "identity")).unwrap().as_string().unwrap();
    for canary in ["CANARY", "4111", "bob@"] {
        assert!(!identity.contains(canary), "{canary} leaked into {identity}");
    }
    assert_eq!((count(&widget, "form"), count(&widget, "news")), (1, 1));
    holder.remove();
}

#[wasm_bindgen_test]
fn stage_actions_and_callbacks_follow_the_stage() {
    let widget = widget(
        r#"{"site":"t-show","consent":"implied","half_life_days":"never","mql_requires_identity":false,
            "thresholds":{"warm":5,"mql":10,"sales_ready":50},"rules":[{"id":"x","on":"x","points":5}]}"#,
    );
    let holder = append(r#"<div id="banner" data-leadscore-show="mql">Book a demo</div>"#);
    let stages = js_sys::Array::new();
    let record = Function::new_with_args("stage", "this.push(stage); throw new Error('callbacks may throw')");
    widget.on("stage".into(), record.bind0(&stages).into());
    let banner = document().get_element_by_id("banner").unwrap();
    widget.track("x".into(), JsValue::UNDEFINED);
    assert!(!banner.has_attribute("data-leadscore-shown"), "hidden while warm");
    widget.track("x".into(), JsValue::UNDEFINED);
    assert!(banner.has_attribute("data-leadscore-shown"), "shown at mql");
    let seen: Vec<String> = stages.iter().filter_map(|stage| stage.as_string()).collect();
    assert_eq!(seen, ["warm", "mql"]);
    holder.remove();
}

#[wasm_bindgen_test]
fn throwing_storage_falls_back_to_memory() {
    js_sys::eval(
        "window.__realStorage = Object.getOwnPropertyDescriptor(window, 'localStorage');
         Object.defineProperty(window, 'localStorage', { configurable: true,
           get() { throw new DOMException('blocked', 'SecurityError'); } });",
    )
    .unwrap();
    let widget = widget(&implied("t-blocked", r#"{"id":"x","on":"x","points":5}"#));
    widget.track("x".into(), JsValue::UNDEFINED);
    widget.flush();
    let storage_kind = get(&widget.explain(), "storage").as_string();
    js_sys::eval("Object.defineProperty(window, 'localStorage', window.__realStorage)").unwrap();
    assert_eq!(storage_kind.as_deref(), Some("memory"));
    assert_eq!(widget.score(), 5.0, "scoring goes on in memory");
}

#[wasm_bindgen_test]
fn a_full_storage_keeps_scoring() {
    js_sys::eval(
        "window.__setItem = Storage.prototype.setItem;
         Storage.prototype.setItem = function () { throw new DOMException('full', 'QuotaExceededError'); };",
    )
    .unwrap();
    let widget = widget(&implied("t-full", r#"{"id":"x","on":"x","points":5}"#));
    widget.track("x".into(), JsValue::UNDEFINED);
    widget.flush();
    widget.track("x".into(), JsValue::UNDEFINED);
    widget.flush();
    js_sys::eval("Storage.prototype.setItem = window.__setItem").unwrap();
    assert_eq!(widget.score(), 10.0);
    assert_eq!(get(&widget.explain(), "storage").as_string().as_deref(), Some("memory"));
}

#[wasm_bindgen_test]
fn a_corrupt_value_resets_only_our_key() {
    storage().set_item("leadscore:t-corrupt", "%%% not ours %%%").unwrap();
    storage().set_item("host-page-key", "untouched").unwrap();
    let widget = widget(&implied("t-corrupt", r#"{"id":"x","on":"x","points":5}"#));
    widget.track("x".into(), JsValue::UNDEFINED);
    widget.flush();
    assert_eq!(widget.score(), 5.0);
    let stored = storage().get_item("leadscore:t-corrupt").unwrap().unwrap();
    assert_ne!(stored, "%%% not ours %%%");
    assert_eq!(storage().get_item("host-page-key").unwrap().as_deref(), Some("untouched"));
    let warnings: js_sys::Array = get(&widget.explain(), "warnings").unchecked_into();
    assert!(warnings.iter().any(|warning| warning.as_string().unwrap_or_default().contains("stored state ignored")));
}

#[wasm_bindgen_test]
fn forget_wipes_our_key_and_the_visitor() {
    let widget = widget(&implied("t-forget", r#"{"id":"x","on":"x","points":5}"#));
    widget.track("x".into(), JsValue::UNDEFINED);
    widget.flush();
    let before = get(&widget.explain(), "visitor").as_string();
    widget.forget();
    assert_eq!(storage().get_item("leadscore:t-forget").unwrap(), None);
    assert_eq!(widget.score(), 0.0);
    assert_ne!(get(&widget.explain(), "visitor").as_string(), before, "a new random visitor id");
}

#[wasm_bindgen_test]
fn a_bad_config_leaves_an_inert_widget() {
    let widget = widget(r#"{"site":"t-inert","rules":[{"id":"x","on":"x","points":5,"withn_days":3}]}"#);
    widget.track("x".into(), JsValue::UNDEFINED);
    assert_eq!(widget.score(), 0.0);
    assert!(widget.explain().is_null());
}

#[wasm_bindgen_test]
fn engaged_time_counts_while_the_visitor_is_active() {
    let widget = widget(&implied(
        "t-engaged",
        r#"{"id":"read","on":"engaged_time","min_seconds":60,"points":5},
           {"id":"long","on":"engaged_time","min_seconds":600,"points":7}"#,
    ));
    // Active input every 20 s for 80 s: engaged past 60 s.
    for _ in 0..4 {
        leadscore::web::testing::advance_clock(20_000.0);
        dispatch(&document(), "keydown");
    }
    assert_eq!(count(&widget, "read"), 1, "reported when the 60 s threshold is crossed");
    // Ten idle minutes: at most 30 s after the last input count.
    leadscore::web::testing::advance_clock(600_000.0);
    dispatch(&document(), "keydown");
    assert_eq!(count(&widget, "long"), 0, "idle time is not engaged time");
    assert_eq!(count(&widget, "read"), 1, "one page view counts once per rule");
}

#[wasm_bindgen_test]
fn scroll_depth_is_reported_at_rule_thresholds() {
    let widget = widget(&implied("t-scroll", r#"{"id":"deep","on":"scroll_depth","min_percent":75,"points":2}"#));
    let spacer = append(r#"<div style="height:5000px"></div>"#);
    window().scroll_to_with_x_and_y(0.0, 10.0);
    dispatch(&window(), "scroll");
    assert_eq!(count(&widget, "deep"), 0);
    window().scroll_to_with_x_and_y(0.0, 100_000.0);
    dispatch(&window(), "scroll");
    dispatch(&window(), "scroll");
    assert_eq!(count(&widget, "deep"), 1);
    window().scroll_to_with_x_and_y(0.0, 0.0);
    spacer.remove();
}

#[wasm_bindgen_test]
fn ad_click_arrivals_and_attribution_are_captured() {
    let history = window().history().unwrap();
    let original = window().location().pathname().unwrap();
    history
        .replace_state_with_url(
            &JsValue::NULL,
            "",
            Some(&format!("{original}?gclid=abc&utm_campaign=spring&email=x%40y.z")),
        )
        .unwrap();
    let widget = widget(&implied("t-ad", r#"{"id":"ad","on":"ad_click","points":5}"#));
    history.replace_state_with_url(&JsValue::NULL, "", Some(&original)).unwrap();
    assert_eq!(count(&widget, "ad"), 1);
}

#[wasm_bindgen_test]
fn a_back_forward_restore_is_a_page_view() {
    let widget = widget(&implied("t-bfcache", r#"{"id":"pv","on":"page_view","points":1}"#));
    let before = count(&widget, "pv");
    js_sys::eval("window.dispatchEvent(new PageTransitionEvent('pageshow', { persisted: true }))").unwrap();
    js_sys::eval("window.dispatchEvent(new PageTransitionEvent('pageshow', { persisted: false }))").unwrap();
    assert_eq!(count(&widget, "pv"), before + 1, "only a restored page counts again");
}

#[wasm_bindgen_test]
fn capture_parts_can_be_switched_off() {
    let widget = widget(
        r#"{"site":"t-off","consent":"implied","capture":{"page_views":false,"clicks":false,"forms":false},
            "rules":[{"id":"pv","on":"page_view","points":1},{"id":"wish","on":"wishlist_add","points":1},
                     {"id":"form","on":"form_submit","points":1}]}"#,
    );
    let holder = append(
        r#"<button id="wish" data-leadscore-event="wishlist_add">♥</button><form id="f"><input name="email" value="a@b.co"></form>"#,
    );
    document().get_element_by_id("wish").unwrap().unchecked_into::<web_sys::HtmlElement>().click();
    dispatch(&document().get_element_by_id("f").unwrap(), "submit");
    assert_eq!((count(&widget, "pv"), count(&widget, "wish"), count(&widget, "form")), (0, 0, 0));
    assert!(get(&widget.explain(), "identity.email").is_undefined(), "forms off: no identity read");
    holder.remove();
}

#[wasm_bindgen_test]
fn calls_before_a_late_init_are_kept() {
    keep_page();
    let widget = start(js_sys::Object::new().into(), builtins());
    widget.track("x".into(), JsValue::UNDEFINED);
    assert_eq!(widget.score(), 0.0, "no config yet");
    widget.init(JSON::parse(&implied("t-late", r#"{"id":"x","on":"x","points":5}"#)).unwrap());
    assert_eq!(widget.score(), 5.0, "the queued call counted once configured");
    widget.init(JSON::parse(&implied("t-late-2", r#"{"id":"x","on":"x","points":50}"#)).unwrap());
    widget.track("x".into(), JsValue::UNDEFINED);
    assert_eq!(widget.score(), 10.0, "the first config stays");
}

/// A promise resolved with the first value `on(kind, …)` reports.
fn first_report(widget: &Widget, kind: &str) -> wasm_bindgen_futures::JsFuture {
    let mut resolve_slot = None;
    let promise = js_sys::Promise::new(&mut |resolve, _| resolve_slot = Some(resolve));
    widget.on(kind.into(), resolve_slot.unwrap().into());
    wasm_bindgen_futures::JsFuture::from(promise)
}

#[wasm_bindgen_test]
async fn a_refused_lead_is_reported_once_and_not_retried() {
    storage().remove_item("leadscore:t-refused").unwrap();
    // The test server answers 404 to this POST: a refusal, never retried.
    let widget = widget(
        r#"{"site":"t-refused","consent":"implied","endpoint":"/leadscore-test-refuses","mql_requires_identity":false,"half_life_days":"never",
            "thresholds":{"warm":5,"mql":10,"sales_ready":50},"rules":[{"id":"x","on":"x","points":5}]}"#,
    );
    let failed = first_report(&widget, "failed");
    widget.track("x".into(), JsValue::UNDEFINED);
    widget.track("x".into(), JsValue::UNDEFINED);
    let report = failed.await.unwrap();
    assert_eq!(get(&report, "reason").as_string().as_deref(), Some("rejected"));
    assert_eq!(get(&report, "stage").as_string().as_deref(), Some("mql"));
    assert_eq!(get(&report, "lead_id").as_string().map(|id| id.len()), Some(32));
    let outbox = get(&widget.explain(), "outbox");
    assert_eq!((get(&outbox, "pending").as_f64(), get(&outbox, "rejected").as_f64()), (Some(0.0), Some(1.0)));
    widget.track("x".into(), JsValue::UNDEFINED);
    assert_eq!(get(&get(&widget.explain(), "outbox"), "pending").as_f64(), Some(0.0), "never queued again");
}

#[wasm_bindgen_test]
fn no_lead_is_queued_without_consent_or_endpoint() {
    let widget = widget(
        r#"{"site":"t-no-endpoint","consent":"implied","mql_requires_identity":false,"half_life_days":"never",
            "thresholds":{"warm":5,"mql":10,"sales_ready":50},"rules":[{"id":"x","on":"x","points":5}]}"#,
    );
    widget.track("x".into(), JsValue::UNDEFINED);
    widget.track("x".into(), JsValue::UNDEFINED);
    assert_eq!(widget.stage(), "mql");
    assert_eq!(get(&get(&widget.explain(), "outbox"), "pending").as_f64(), Some(0.0));
}

/// Sets a navigator property for one test, as a browser setting would.
fn set_navigator(property: &str, value: &str) {
    js_sys::eval(&format!(
        "Object.defineProperty(navigator, '{property}', {{ configurable: true, get: () => {value} }})"
    ))
    .unwrap();
}

fn clear_navigator(property: &str) {
    js_sys::eval(&format!("delete navigator['{property}']")).unwrap();
}

#[wasm_bindgen_test]
fn browser_opt_out_signals_stop_everything() {
    for (property, value, signal) in [("globalPrivacyControl", "true", "gpc"), ("doNotTrack", "'1'", "dnt")] {
        let site = format!("t-optout-{signal}");
        storage().remove_item(&format!("leadscore:{site}")).unwrap();
        set_navigator(property, value);
        let widget = widget(&implied(&site, r#"{"id":"x","on":"x","points":5}"#));
        widget.consent(true.into());
        widget.track("x".into(), JsValue::UNDEFINED);
        widget.flush();
        let explanation = widget.explain();
        clear_navigator(property);
        assert_eq!(widget.score(), 0.0, "{signal}: nothing scored");
        assert_eq!(storage().get_item(&format!("leadscore:{site}")).unwrap(), None, "{signal}: nothing stored");
        assert_eq!(get(&explanation, "opt_out").as_string().as_deref(), Some(signal));
        assert_eq!(get(&explanation, "consent").as_bool(), Some(false));
    }
}

#[wasm_bindgen_test]
fn a_site_can_choose_not_to_honour_a_signal() {
    set_navigator("doNotTrack", "'1'");
    let widget = widget(
        r#"{"site":"t-dnt-off","consent":"implied","half_life_days":"never","privacy":{"dnt":false},
            "rules":[{"id":"x","on":"x","points":5}]}"#,
    );
    widget.track("x".into(), JsValue::UNDEFINED);
    let opt_out = get(&widget.explain(), "opt_out");
    clear_navigator("doNotTrack");
    assert_eq!(widget.score(), 5.0);
    assert!(opt_out.is_null());
}

#[wasm_bindgen_test]
fn in_memory_scoring_before_consent_is_kept_on_consent_and_dropped_on_refusal() {
    let config = |site: &str| {
        format!(
            r#"{{"site":"{site}","in_memory_before_consent":true,"half_life_days":"never",
                "rules":[{{"id":"x","on":"x","points":5}}]}}"#
        )
    };
    storage().remove_item("leadscore:t-memory").unwrap();
    let held = widget(&config("t-memory"));
    held.track("x".into(), JsValue::UNDEFINED);
    held.flush();
    assert_eq!(held.score(), 5.0, "scored in memory");
    assert_eq!(storage().get_item("leadscore:t-memory").unwrap(), None, "nothing stored before consent");
    held.consent(true.into());
    held.track("x".into(), JsValue::UNDEFINED);
    held.flush();
    assert_eq!(held.score(), 10.0, "the page's earlier signals count once consent comes");
    assert!(storage().get_item("leadscore:t-memory").unwrap().is_some());

    storage().remove_item("leadscore:t-memory-refused").unwrap();
    let refused = widget(&config("t-memory-refused"));
    refused.track("x".into(), JsValue::UNDEFINED);
    refused.consent(false.into());
    assert_eq!(refused.score(), 0.0, "refusal drops what was held in memory");
    refused.track("x".into(), JsValue::UNDEFINED);
    assert_eq!(refused.score(), 0.0);
    assert_eq!(storage().get_item("leadscore:t-memory-refused").unwrap(), None);
}

#[wasm_bindgen_test]
fn a_record_past_its_retention_is_deleted_on_load() {
    storage().remove_item("leadscore:t-retention").unwrap();
    let config = r#"{"site":"t-retention","consent":"implied","half_life_days":"never",
        "privacy":{"retention_days":30},"rules":[{"id":"x","on":"x","points":5}]}"#;
    let first = widget(config);
    first.track("x".into(), JsValue::UNDEFINED);
    first.flush();
    let visitor = get(&first.explain(), "visitor").as_string();
    drop(first);

    leadscore::web::testing::advance_clock(29.0 * 86_400_000.0);
    let within = widget(config);
    assert_eq!(within.score(), 5.0, "29 days idle: kept");
    assert_eq!(get(&within.explain(), "visitor").as_string(), visitor);
    within.flush();
    drop(within);

    leadscore::web::testing::advance_clock(31.0 * 86_400_000.0);
    let after = widget(config);
    assert_eq!(after.score(), 0.0, "31 days idle: deleted");
    assert_ne!(get(&after.explain(), "visitor").as_string(), visitor, "a new random visitor");
    let stored = storage().get_item("leadscore:t-retention").unwrap().expect("the new visitor is stored");
    assert!(!stored.is_empty());
}
