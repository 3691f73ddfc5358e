//! End-to-end tests of the widget on pages that get in its way: a missing
//! `<head>` (HTML and XHTML), a polluted `Object.prototype`, a throwing
//! `console.warn`, replaced builtins, a `fetch` wrapper, consent events and
//! navigations before the module has loaded, and a panic inside the widget.
//! In each the page must see nothing thrown, and the widget must neither
//! be steered by the page nor lose what happened. The shipped loader and
//! wasm from `dist/`, in headless Chromium, like `tests/widget_e2e.rs`.

#![cfg(not(target_arch = "wasm32"))]

mod e2e;

use std::time::Duration;

use e2e::{page, Harness, Response, LOADER, RECORDER};
use serde_json::{json, Value};

/// Consent required, an endpoint, and a visitor who is an MQL after two
/// `track('x')` calls (points never decay, so timing cannot matter).
const RULES: &str = concat!(
    r#"{"site":"real","consent":"required","endpoint":"/collect","half_life_days":"never","#,
    r#""mql_requires_identity":false,"thresholds":{"warm":5,"mql":10,"sales_ready":50},"#,
    r#""rules":[{"id":"x-rule","on":"x","points":5},{"id":"pv","on":"page_view","points":0},"#,
    r#"{"id":"landing","on":"page_view","url":"/landing","points":0},"#,
    r#"{"id":"pricing","on":"page_view","url":"/pricing","points":0},"#,
    r#"{"id":"big","on":"big","points":0,"props":{"n":1e21}}]}"#
);

fn inline_config() -> String {
    format!(r#"<script type="application/json" id="leadscore-config">{RULES}</script>"#)
}

/// The widget is configured, and the page saw no error.
async fn assert_started(h: &Harness) {
    h.wait_ready().await;
    assert_eq!(h.eval("leadscore.explain().site").await, json!("real"));
    assert_eq!(h.errors().await, Vec::<String>::new(), "{}", h.diagnostics().await);
}

/// A page whose own script removed `<head>` before the tag: the stage-action
/// style still goes in (on the root element), and the widget starts.
#[tokio::test]
async fn a_page_without_a_head_still_gets_the_widget() {
    let h = Harness::start().await;
    let body = format!(
        r#"<script>document.documentElement.removeChild(document.head)</script>
        <div id="offer" data-leadscore-show="mql">for MQLs</div>
        <script src="{LOADER}"></script>{}"#,
        inline_config()
    );
    h.server.page("/", &page("", &body));
    h.open("/").await;
    assert_eq!(h.eval("document.head").await, Value::Null, "the page really has no head");
    assert_started(&h).await;
    assert_eq!(h.eval("getComputedStyle(document.getElementById('offer')).display").await, json!("none"));
    h.eval("leadscore.consent(true), leadscore.track('x'), leadscore.track('x')").await;
    h.wait_for("the offer to show", "getComputedStyle(document.getElementById('offer')).display === 'block'").await;
    h.finish().await;
}

/// An XHTML document (served as `application/xhtml+xml`) without a `<head>`.
#[tokio::test]
async fn an_xhtml_document_without_a_head_still_gets_the_widget() {
    let h = Harness::start().await;
    let xhtml = format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<html xmlns="http://www.w3.org/1999/xhtml"><body>
<script>//<![CDATA[
{RECORDER}
//]]></script>
<div id="offer" data-leadscore-show="mql">for MQLs</div>
<script src="{LOADER}"></script>
<script type="application/json" id="leadscore-config">{RULES}</script>
</body></html>"#
    );
    h.server.route("/", Response::new(200, "application/xhtml+xml", xhtml));
    h.open("/").await;
    assert_eq!(h.eval("document.contentType").await, json!("application/xhtml+xml"));
    assert_eq!(h.eval("document.head").await, Value::Null);
    assert_started(&h).await;
    assert_eq!(h.eval("getComputedStyle(document.getElementById('offer')).display").await, json!("none"));
    h.finish().await;
}

/// Something on the page polluted `Object.prototype` (a vulnerable query
/// string parser does this): the widget must not take that as its config,
/// its consent or the visitor's identity.
#[tokio::test]
async fn a_polluted_object_prototype_steers_nothing() {
    let h = Harness::start().await;
    let evil = r#"{"site":"evil","consent":"implied","endpoint":"/evil","half_life_days":"never","mql_requires_identity":false,"thresholds":{"warm":1,"mql":2,"sales_ready":100},"rules":[{"id":"pv","on":"page_view","points":5}]}"#;
    h.server.json("/evil.json", evil);
    let pollute = format!(
        r#"<script>
        Object.prototype.inlineConfig = {evil:?};
        Object.prototype.configUrl = '/evil.json';
        Object.prototype.config = JSON.parse({evil:?});
        Object.prototype.granted = true;
        Object.prototype.email = 'polluter@evil.example';
        </script><script src="{LOADER}"></script>"#
    );
    h.server.page("/", &page(&pollute, &inline_config()));
    h.open("/").await;
    assert_started(&h).await;
    assert_eq!(h.eval("leadscore.explain().consent").await, json!(false), "no consent was given");
    // A consent event whose detail is an empty object: `granted` is only inherited.
    h.eval("window.dispatchEvent(new CustomEvent('leadscore:consent', {detail: {}}))").await;
    h.eval("leadscore.consent(true), leadscore.identify({company: 'Acme'})").await;
    assert_eq!(h.eval("JSON.stringify(leadscore.explain().identity)").await, json!(r#"{"company":"Acme"}"#));
    h.settle().await;
    assert_eq!(h.server.count("GET", "/evil.json"), 0);
    assert_eq!(h.server.count("POST", "/evil"), 0);
    h.finish().await;
}

/// A stub queue (`leadscore.q`) is replayed through the same door as the
/// page's calls: the loader's own calls (`consent_event`, `navigated`) and
/// names it lacks are dropped, so a stub can neither grant consent behind
/// the consent API's back nor turn the widget off; its real calls count.
#[tokio::test]
async fn a_stub_queue_reaches_only_the_public_methods() {
    let h = Harness::start().await;
    let stub = format!(
        r#"<script>
        window.leadscore = {{ q: [
          ['consent_event', true], ['navigated', '/pricing'], ['no_such_method', 1],
          ['track', 'x'], ['constructor', 1], ['__proto__', 1]
        ] }};
        </script><script src="{LOADER}"></script>"#
    );
    h.server.page("/", &page(&stub, &inline_config()));
    h.open("/").await;
    assert_started(&h).await;
    assert_eq!(h.eval("leadscore.explain().consent").await, json!(false), "a stub cannot grant consent");
    h.eval("leadscore.consent(true), leadscore.track('x')").await;
    h.wait_for("the page's own calls to count", "ledgerCount('x-rule') === 1").await;
    assert_eq!(h.eval("ledgerCount('pricing')").await, json!(0), "a stub cannot fake a navigation");
    h.assert_clean().await;
    h.finish().await;
}

/// A page whose `console.warn` throws: a bad call is reported (to nobody)
/// and the widget carries on.
#[tokio::test]
async fn a_throwing_console_warn_does_not_turn_the_widget_off() {
    let h = Harness::start().await;
    let head = format!(
        r#"<script>console.warn = function () {{ throw new Error('page console.warn') }};</script>
        <script src="{LOADER}"></script>"#
    );
    h.server.page("/", &page(&head, &inline_config()));
    h.open("/").await;
    assert_started(&h).await;
    h.eval("leadscore.consent(true), leadscore.track('not a valid name!'), leadscore('track', 'x')").await;
    h.wait_for("the widget to keep counting", "ledgerCount('x-rule') === 1").await;
    assert_eq!(h.errors().await, Vec::<String>::new());
    h.finish().await;
}

/// A page that replaced `Object.entries`, `Reflect.set`, `Array.isArray`
/// and `Array.prototype.push`: identity, `explain()`, props read one by one
/// (a number the props text leaves to the module) and SPA page views work.
#[tokio::test]
async fn replaced_builtins_change_nothing() {
    let h = Harness::start().await;
    let head = format!(
        r#"<script src="{LOADER}"></script>
        <script>
        Object.entries = function () {{ return [] }};
        Reflect.set = function () {{ return false }};
        Reflect.get = function () {{ return undefined }};
        Array.isArray = function () {{ return false }};
        Array.prototype.push = function () {{ throw new Error('page Array.prototype.push') }};
        </script>"#
    );
    h.server.page("/landing", &page(&head, &inline_config()));
    h.open("/landing").await;
    assert_started(&h).await;
    h.eval("leadscore.consent(true), leadscore.identify({email: 'ada@example.com', company: 'Acme'})").await;
    assert_eq!(
        h.eval("JSON.stringify(leadscore.explain().identity)").await,
        json!(r#"{"company":"Acme","email":"ada@example.com"}"#)
    );
    assert_eq!(h.eval("Object.keys(leadscore.explain()).length").await, json!(13));
    h.eval("leadscore.track('big', {n: 1e21})").await;
    assert_eq!(h.eval("ledgerCount('big')").await, json!(1), "props read one by one");
    h.eval("history.pushState(null, '', '/pricing')").await;
    h.wait_for("the SPA page view to count", "ledgerCount('pricing') === 1").await;
    h.finish().await;
}

/// A page whose `Number.isSafeInteger` and `Array.isArray` throw (a broken
/// polyfill): an `init` object's numbers and arrays are still read, by the
/// module's own tests.
#[tokio::test]
async fn an_init_object_is_read_without_the_pages_array_and_number_helpers() {
    let h = Harness::start().await;
    let body = format!(
        r#"<script src="{LOADER}"></script>
        <script>
        Number.isSafeInteger = function () {{ throw new Error('page Number.isSafeInteger') }};
        Array.isArray = function () {{ throw new Error('page Array.isArray') }};
        leadscore('init', {RULES});
        </script>"#
    );
    h.server.page("/landing", &page("", &body));
    h.open("/landing").await;
    assert_started(&h).await;
    h.eval("leadscore.consent(true), leadscore('track', 'x'), leadscore('track', 'x')").await;
    assert_eq!(h.eval("[leadscore.score(), leadscore.stage()]").await, json!([10, "mql"]));
    let lines = h.leadscore_lines().await;
    assert!(lines.iter().all(|line| !line.contains("disabled") && !line.contains("page ")), "{lines:?}");
    h.finish().await;
}

/// A RUM library that wraps `fetch` and `sendBeacon` after the tag: leads
/// still go out, and the wrapper never sees one.
#[tokio::test]
async fn a_fetch_wrapper_installed_later_never_sees_a_lead() {
    let h = Harness::start().await;
    let endpoint = h.server.endpoint("/collect");
    let body = format!(
        r#"<script src="{LOADER}"></script>{}
        <script>
        window.__seen = '';
        var realFetch = window.fetch, realBeacon = navigator.sendBeacon;
        window.fetch = function (input, init) {{
          window.__seen += String(init && init.body) + '\n';
          return realFetch.call(window, input, init);
        }};
        navigator.sendBeacon = function (url, data) {{
          window.__seen += String(data) + '\n';
          return realBeacon.call(navigator, url, data);
        }};
        </script>"#,
        inline_config()
    );
    h.server.page("/", &page("", &body));
    h.open("/").await;
    assert_started(&h).await;
    h.eval("leadscore.consent(true), leadscore.identify({email: 'ada@example.com'}), leadscore.track('x'), leadscore.track('x')").await;
    endpoint.wait_for_posts(1, Duration::from_secs(10)).await;
    h.eval("window.dispatchEvent(new Event('pagehide'))").await;
    h.settle().await;
    let seen = h.eval("window.__seen").await;
    let seen = seen.as_str().unwrap_or_default();
    assert!(!seen.contains("lead_id") && !seen.contains("ada@example.com"), "the wrapper saw a lead: {seen}");
    h.finish().await;
}

/// A consent tool that fires `leadscore:consent` at once on a returning
/// visit, before the module has loaded: the grant counts.
#[tokio::test]
async fn a_consent_event_before_the_module_loads_is_kept() {
    let h = Harness::start().await;
    let body = format!(
        r#"<script src="{LOADER}"></script>{}
        <script>
        window.__loadedEarly = typeof leadscore === 'function' && leadscore.explain() === null;
        window.dispatchEvent(new CustomEvent('leadscore:consent', {{detail: true}}));
        </script>"#,
        inline_config()
    );
    h.server.page("/", &page("", &body));
    h.open("/").await;
    assert_eq!(h.eval("window.__loadedEarly").await, json!(true), "the event came before the module");
    assert_started(&h).await;
    assert_eq!(h.eval("leadscore.explain().consent").await, json!(true));
    h.finish().await;
}

/// Navigations a router makes before the module has loaded each count, and
/// the landing page view is the page the visitor landed on.
#[tokio::test]
async fn navigations_before_the_module_loads_each_count() {
    let h = Harness::start().await;
    let body = format!(
        r#"<script src="{LOADER}"></script>{}
        <script>
        history.pushState(null, '', '/pricing');
        history.pushState(null, '', '/features');
        window.__early = leadscore.explain() === null;
        </script>"#,
        inline_config().replace(r#""consent":"required""#, r#""consent":"implied""#)
    );
    h.server.page("/landing", &page("", &body));
    h.open("/landing").await;
    assert_eq!(h.eval("window.__early").await, json!(true), "the navigations came before the module");
    h.wait_ready().await;
    assert_eq!(h.eval("[ledgerCount('pv'), ledgerCount('landing'), ledgerCount('pricing')]").await, json!([3, 1, 1]));
    assert_eq!(h.errors().await, Vec::<String>::new());
    h.finish().await;
}

/// A panic inside the widget, in a listener or a timer, leaves the page
/// without an uncaught error: one console line, and the widget is off.
#[tokio::test]
async fn a_panic_in_a_listener_or_a_timer_never_reaches_the_page() {
    for place in ["listener", "timer"] {
        let h = Harness::start().await;
        h.server.page("/", &page(&format!(r#"<script src="{LOADER}"></script>"#), &inline_config()));
        h.open("/").await;
        assert_started(&h).await;
        h.eval_async(&format!(
            "import('/dist/leadscore_wasm.js').then(function (m) {{ m.testPanic('{place}'); done(true) }},
                                                    function (e) {{ done(String(e)) }});"
        ))
        .await;
        if place == "listener" {
            h.eval("window.dispatchEvent(new Event('leadscore:test-panic'))").await;
        }
        let line = h.wait_for_one_line().await;
        assert!(
            line.starts_with("leadscore: disabled: ") && line.contains(&format!("a test panic in a {place}")),
            "{line}"
        );
        assert_eq!(h.errors().await, Vec::<String>::new(), "{place}: nothing reached the page");
        assert_eq!(h.eval("[leadscore.stage(), leadscore.explain()]").await, json!([null, null]), "{place}: off");
        h.eval("leadscore.track('x'), window.dispatchEvent(new Event('leadscore:test-panic'))").await;
        h.settle().await;
        assert_eq!(h.leadscore_lines().await.len(), 1, "{place}: still one line");
        h.finish().await;
    }
}

/// A config nested as deep as the JSON reader allows (128 levels), or
/// deeper, as inline JSON or as an `init` object: one console line each and
/// an inert widget, never a crash, within the module's 64 KiB stack.
#[tokio::test]
async fn deeply_nested_configs_get_an_error_within_the_small_stack() {
    let h = Harness::start().await;
    let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    for (path, depth, expected) in
        [("/at-limit", 127, "config: deep: unknown field"), ("/too-deep", 400, "not valid JSON")]
    {
        let config = format!(r#"{{"site":"deep","consent":"implied","rules":[],"deep":{}}}"#, nested(depth));
        let body = format!(
            r#"<script src="{LOADER}"></script><script type="application/json" id="leadscore-config">{config}</script>"#
        );
        h.server.page(path, &page("", &body));
        h.open(path).await;
        let line = h.wait_for_one_line().await;
        assert!(line.contains(expected), "{path}: {line}");
        assert_eq!(h.eval("leadscore.explain()").await, Value::Null, "{path}");
        assert_eq!(h.errors().await, Vec::<String>::new(), "{path}: {}", h.diagnostics().await);
    }
    for (depth, expected) in [(126, "config: deep: unknown field"), (400, "nested more than 128 levels deep")] {
        let init = format!(
            "<script>var d = []; for (var i = 1; i < {depth}; i++) d = [d];
             leadscore('init', {{site: 'deep', consent: 'implied', rules: [], deep: d}});</script>"
        );
        let body = format!(r#"<script src="{LOADER}"></script>{init}"#);
        h.server.page("/init", &page("", &body));
        h.open("/init").await;
        h.wait_for(
            "the config error",
            &format!("window.__console.some(function (l) {{ return l.indexOf({}) >= 0 }})", json!(expected)),
        )
        .await;
        assert_eq!(h.eval("leadscore.explain()").await, Value::Null, "init {depth}");
        assert_eq!(h.errors().await, Vec::<String>::new(), "init {depth}: {}", h.diagnostics().await);
    }
    h.finish().await;
}
