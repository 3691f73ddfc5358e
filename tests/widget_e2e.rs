//! End-to-end tests of what a site actually ships: `dist/leadscore.js` (the
//! loader) fetching and starting the wasm widget in headless Chromium, on
//! pages built the ways real sites embed it. The wasm32 browser tests in
//! `tests/web.rs` call the widget's Rust API directly; only here do the
//! loader, the generated glue, HTTP, CSP and SRI meet.
//!
//! Each test gets its own tiny HTTP server on 127.0.0.1 (so its own origin
//! and storage), its own chromedriver and a fresh browser profile. Needs
//! `cargo xtask build` output in `dist/` and Debian's chromium and
//! chromium-driver; `cargo xtask test` provides both and runs this file
//! with `--features e2e`.

#![cfg(not(target_arch = "wasm32"))]

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How long any condition may take: wasm compiles in well under a second
/// here, so this only bounds how long a broken build takes to fail.
const WAIT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(50);

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The loader as sites load it.
const LOADER: &str = "/dist/leadscore.js";

/// A rule set whose only rule counts a custom event `x`, so a ledger count
/// says exactly how many `track('x')` calls the widget saw. Consent is
/// implied so nothing waits for a consent banner. `warm` is below one
/// award's 5 points because points start decaying the moment they are won.
const RULES: &str = concat!(
    r#"{"site":"e2e","consent":"implied","thresholds":{"warm":3,"mql":50,"sales_ready":80},"#,
    r#""rules":[{"id":"x-rule","on":"x","points":5}]}"#
);

// ---------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------

/// The loader is on every page of a site, before anything is known about the
/// visitor: its transfer size is a budget, measured like `cargo xtask size`.
#[test]
fn loader_fits_its_gzip_budget() {
    use flate2::write::GzEncoder;
    use flate2::Compression;

    let path = root().join("www/leadscore.js");
    let source = std::fs::read(&path).unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    let mut gzip = GzEncoder::new(Vec::new(), Compression::best());
    gzip.write_all(&source).unwrap();
    let size = gzip.finish().unwrap().len();
    println!("www/leadscore.js: {} bytes, {size} bytes gzipped", source.len());
    assert!(size <= 1024, "www/leadscore.js is {size} bytes gzipped; the budget is 1024");
}

/// Serves one page with the given head and body and checks the widget works.
async fn placement_works(head: &str, body: &str) {
    let h = Harness::start().await;
    h.server.page("/", &page(head, body));
    h.open("/").await;
    h.assert_working().await;
    h.finish().await;
}

#[tokio::test]
async fn loader_in_head_starts_the_widget() {
    placement_works(&format!(r#"<script src="{LOADER}"></script>"#), &inline_config()).await;
}

#[tokio::test]
async fn loader_in_body_starts_the_widget() {
    placement_works("", &format!(r#"<p>content</p><script src="{LOADER}"></script>{}"#, inline_config())).await;
}

#[tokio::test]
async fn async_loader_starts_the_widget() {
    placement_works(&format!(r#"<script async src="{LOADER}"></script>"#), &inline_config()).await;
}

#[tokio::test]
async fn deferred_loader_starts_the_widget() {
    placement_works(&format!(r#"<script defer src="{LOADER}"></script>"#), &inline_config()).await;
}

/// Tag managers append the tag from their own script, often after the page
/// has loaded, so the loader must not wait for a `load` event already past.
#[tokio::test]
async fn loader_injected_after_load_by_a_tag_manager_starts_the_widget() {
    let h = Harness::start().await;
    let inject = format!(
        r#"<script>
        addEventListener('load', function () {{
          setTimeout(function () {{
            window.__readyStateAtInjection = document.readyState;
            var s = document.createElement('script');
            s.src = '{LOADER}';
            s.setAttribute('data-config', '/rules.json');
            document.head.appendChild(s);
          }}, 0);
        }});
        </script>"#
    );
    h.server.json("/rules.json", RULES);
    h.server.page("/", &page(&inject, "<p>content</p>"));
    h.open("/").await;
    h.assert_working().await;
    assert_eq!(h.eval("window.__readyStateAtInjection").await, json!("complete"));
    h.finish().await;
}

/// `document.currentScript` is null while a module script runs, which is
/// how some tag managers and site builders insert tags; the loader then
/// finds its own tag by its `src` and still reads its attributes.
#[tokio::test]
async fn loader_without_current_script_finds_its_own_tag() {
    let h = Harness::start().await;
    let inject = format!(
        r#"<script>
        var s = document.createElement('script');
        s.type = 'module';
        s.src = '{LOADER}';
        s.setAttribute('data-config', '/rules.json');
        document.head.appendChild(s);
        </script>"#
    );
    h.server.json("/rules.json", RULES);
    h.server.page("/", &page(&inject, "<p>content</p>"));
    h.open("/").await;
    h.assert_working().await;
    assert_eq!(h.server.count("GET", "/rules.json"), 1, "the config URL comes from the tag's data-config");
    h.finish().await;
}

/// A tag pasted twice (theme and plugin, or a tag manager firing twice)
/// must not start a second widget: one module fetch, one count per call,
/// and the second tag's config is never even fetched.
#[tokio::test]
async fn loading_twice_is_a_no_op() {
    let h = Harness::start().await;
    h.server.json("/rules.json", RULES);
    h.server.json("/other.json", &RULES.replace(r#""site":"e2e""#, r#""site":"other""#));
    h.server.page(
        "/",
        &page(
            &format!(r#"<script src="{LOADER}" data-config="/rules.json"></script>"#),
            &format!(r#"<p>content</p><script src="{LOADER}" data-config="/other.json"></script>"#),
        ),
    );
    h.open("/").await;
    h.assert_working().await;
    assert_eq!(h.eval("leadscore.explain().site").await, json!("e2e"), "the first tag's config stays");
    assert_eq!(h.server.count("GET", "/dist/leadscore.js"), 2);
    assert_eq!(h.server.count("GET", "/other.json"), 0, "the second tag must not start anything");
    let styles = h
        .eval("[].filter.call(document.querySelectorAll('style'), function (s) { return s.textContent.indexOf('data-leadscore-show') >= 0 }).length")
        .await;
    assert_eq!(styles, json!(1), "the anti-flash style is injected once");
    h.finish().await;
}

/// Calls made before the wasm is ready, whether through a snippet's stub
/// queue, `leadscore.track()` or `leadscore('track')`, are replayed in order;
/// the getters answer null until then.
#[tokio::test]
async fn calls_made_before_the_widget_is_ready_are_replayed() {
    let h = Harness::start().await;
    let stub = "<script>
        window.leadscore = window.leadscore || function () { (leadscore.q = leadscore.q || []).push(arguments) };
        leadscore('on', 'score', function (score) { var s = window.__scores = window.__scores || []; s[s.length] = score });
        leadscore('track', 'x');
        </script>";
    let after = "<script>
        window.__early = [leadscore.score(), leadscore.stage(), leadscore.grade(), leadscore.explain()];
        leadscore.track('x');
        leadscore('track', 'x');
        </script>";
    h.server.page("/", &page(&format!(r#"{stub}<script src="{LOADER}"></script>{after}"#), &inline_config()));
    h.open("/").await;
    h.wait_ready().await;
    assert_eq!(h.eval("window.__early").await, json!([null, null, null, null]));
    h.wait_for("the three queued calls to count", "ledgerCount('x-rule') === 3").await;
    assert_eq!(h.eval("window.__scores").await, json!([5, 10, 15]), "the queued on() saw each replayed call");
    h.assert_clean().await;
    h.finish().await;
}

/// The smallest install: `data-site` and `data-preset` on the tag.
#[tokio::test]
async fn config_from_data_attributes_and_a_preset() {
    let h = Harness::start().await;
    h.server.page(
        "/",
        &page(
            &format!(
                r#"<script src="{LOADER}" data-site="acme" data-preset="b2b-saas" data-endpoint="/v1/leads"></script>"#
            ),
            "<p>content</p>",
        ),
    );
    h.open("/").await;
    h.wait_ready().await;
    let explained = h.eval("leadscore.explain()").await;
    assert_eq!(explained["site"], json!("acme"));
    // Every preset requires consent: nothing is scored before it.
    assert_eq!(explained["consent"], json!(false));
    h.eval("leadscore.consent(true), leadscore.track('quote_request')").await;
    h.wait_for("the preset's quote rule to count", "ledgerCount('quote-request') === 1").await;
    assert_eq!(h.eval("leadscore.explain().consent").await, json!(true));
    h.assert_clean().await;
    h.finish().await;
}

/// The inline JSON config is read when the widget starts, not when the
/// loader runs, so it may come after the tag in the document.
#[tokio::test]
async fn config_from_inline_json_after_the_tag() {
    let h = Harness::start().await;
    h.server.page(
        "/",
        &page(&format!(r#"<script src="{LOADER}"></script>"#), &format!("<p>content</p>{}", inline_config())),
    );
    h.open("/").await;
    h.assert_working().await;
    h.finish().await;
}

#[tokio::test]
async fn config_from_an_init_call() {
    let h = Harness::start().await;
    let init = format!("<script>leadscore('init', {RULES});</script>");
    h.server.page("/", &page(&format!(r#"<script src="{LOADER}"></script>{init}"#), "<p>content</p>"));
    h.open("/").await;
    h.assert_working().await;
    h.finish().await;
}

/// A single-page app may call `init` from a bundle that runs after the
/// widget has started; the widget then takes that config.
#[tokio::test]
async fn config_from_an_init_call_after_the_widget_started() {
    let h = Harness::start().await;
    h.server.page("/", &page(&format!(r#"<script src="{LOADER}"></script>"#), "<p>content</p>"));
    h.open("/").await;
    h.wait_for("the widget to start", "typeof leadscore === 'function' && leadscore.stage() !== null").await;
    h.eval(&format!("leadscore('init', {RULES})")).await;
    h.eval("leadscore.track('x')").await;
    h.wait_for("track('x') to count", "ledgerCount('x-rule') === 1").await;
    assert_eq!(h.eval("leadscore.explain().site").await, json!("e2e"));
    h.finish().await;
}

#[tokio::test]
async fn config_from_a_data_config_url() {
    let h = Harness::start().await;
    h.server.json("/config/rules.json", RULES);
    h.server.page(
        "/",
        &page(&format!(r#"<script src="{LOADER}" data-config="/config/rules.json"></script>"#), "<p>content</p>"),
    );
    h.open("/").await;
    h.assert_working().await;
    assert_eq!(h.server.count("GET", "/config/rules.json"), 1);
    h.finish().await;
}

/// Host pages clobber `document.currentScript` with named elements and
/// replace globals the loader might have used. The widget must still start,
/// from the tag's own attributes and the loader's own location.
#[tokio::test]
async fn clobbered_current_script_and_patched_globals_are_ignored() {
    let h = Harness::start().await;
    h.server.json("/config/real.json", RULES);
    h.server.json("/config/evil.json", &RULES.replace(r#""site":"e2e""#, r#""site":"evil""#));
    let sabotage = r#"<script>
        window.__fetched = [];
        var realFetch = window.fetch;
        window.fetch = function (input, init) {
          var f = window.__fetched;
          f[f.length] = String(input && input.url || input);
          return realFetch.call(window, input, init);
        };
        window.JSON = {
          parse: function () { throw new Error('page JSON.parse') },
          stringify: function () { throw new Error('page JSON.stringify') }
        };
        Array.prototype.push = function () { throw new Error('page Array.prototype.push') };
        </script>"#;
    // The identify() call is queued while the page's globals are broken.
    let body = format!(
        r#"<img name="currentScript" src="data:," data-site="evil" data-config="/config/evil.json">
        <script src="{LOADER}" data-config="/config/real.json"></script>
        <script>leadscore.identify({{ email: 'ada@example.com' }});</script>"#
    );
    h.server.page("/", &page(sabotage, &body));
    h.open("/").await;
    assert_eq!(h.eval("document.currentScript.tagName").await, json!("IMG"), "the page really clobbers currentScript");
    h.assert_working().await;
    assert_eq!(h.eval("leadscore.explain().site").await, json!("e2e"));
    assert_eq!(h.eval("leadscore.explain().identity.email").await, json!("ada@example.com"));
    assert_eq!(h.server.count("GET", "/config/real.json"), 1);
    assert_eq!(h.server.count("GET", "/config/evil.json"), 0);
    h.finish().await;
}

/// A site whose CSP lacks 'wasm-unsafe-eval' cannot run the widget; the
/// page must not notice beyond one console line.
#[tokio::test]
async fn csp_without_wasm_unsafe_eval_fails_with_one_line() {
    let h = Harness::start().await;
    h.server.route(
        "/",
        Response::html(&page(&format!(r#"<script src="{LOADER}"></script>"#), &inline_config()))
            .header("Content-Security-Policy", "script-src 'self' 'unsafe-inline'"),
    );
    h.open("/").await;
    let line = h.wait_for_one_line().await;
    assert!(line.contains("WebAssembly"), "the line should say WebAssembly was refused: {line}");
    h.assert_inert().await;
    h.finish().await;
}

#[tokio::test]
async fn wrong_integrity_fails_with_one_line() {
    let h = Harness::start().await;
    let wrong = format!("sha384-{}", "A".repeat(64));
    h.server
        .page("/", &page(&format!(r#"<script src="{LOADER}" data-integrity="{wrong}"></script>"#), &inline_config()));
    h.open("/").await;
    h.wait_for_one_line().await;
    assert_eq!(h.server.count("GET", "/dist/leadscore_wasm_bg.wasm"), 1, "the module was fetched, then refused");
    h.assert_inert().await;
    h.finish().await;
}

/// The matching hash, computed in the page from the served module the way
/// a site owner would from the file, lets the widget start. The page asks
/// for the module with a query string so the loader's own fetch, which has
/// none, is still counted alone.
#[tokio::test]
async fn matching_integrity_starts_the_widget() {
    let h = Harness::start().await;
    let inject = format!(
        r#"<script>
        fetch('/dist/leadscore_wasm_bg.wasm?for-the-hash')
          .then(function (r) {{ return r.arrayBuffer() }})
          .then(function (bytes) {{ return crypto.subtle.digest('SHA-384', bytes) }})
          .then(function (digest) {{
            var s = document.createElement('script');
            s.src = '{LOADER}';
            s.setAttribute('data-integrity', 'sha384-' + btoa(String.fromCharCode.apply(null, new Uint8Array(digest))));
            s.setAttribute('data-config', '/rules.json');
            document.head.appendChild(s);
          }});
        </script>"#
    );
    h.server.json("/rules.json", RULES);
    h.server.page("/", &page(&inject, "<p>content</p>"));
    h.open("/").await;
    h.assert_working().await;
    h.finish().await;
}

/// In-page stage actions are hidden by the loader's style before the wasm
/// arrives (no flash of an offer meant for qualified visitors), and shown by
/// the widget once the visitor reaches their stage.
#[tokio::test]
async fn stage_actions_stay_hidden_until_their_stage() {
    let h = Harness::start().await;
    let body = format!(
        r#"<div id="cold" data-leadscore-show="cold">for everyone</div>
        <div id="warm" data-leadscore-show="warm">for warm visitors</div>
        <script>
        window.__before = [getComputedStyle(document.getElementById('cold')).display,
                           getComputedStyle(document.getElementById('warm')).display];
        </script>{}"#,
        inline_config()
    );
    h.server.page("/", &page(&format!(r#"<script src="{LOADER}"></script>"#), &body));
    h.open("/").await;
    assert_eq!(h.eval("window.__before").await, json!(["none", "none"]));
    h.wait_ready().await;
    h.wait_for("the cold action to show", "getComputedStyle(document.getElementById('cold')).display === 'block'")
        .await;
    assert_eq!(h.eval("getComputedStyle(document.getElementById('warm')).display").await, json!("none"));
    h.eval("leadscore.track('x')").await;
    h.wait_for("the warm action to show", "getComputedStyle(document.getElementById('warm')).display === 'block'")
        .await;
    h.assert_clean().await;
    h.finish().await;
}

/// A throwing widget method (a wasm trap, or a bug) disables the widget:
/// one console line, then every method is a no-op and nothing reaches the
/// page. The widget's class is patched through the glue module, which the
/// page shares with the loader because ES modules are loaded once per URL.
#[tokio::test]
async fn first_exception_disables_the_widget_with_one_line() {
    let h = Harness::start().await;
    h.server.page("/", &page(&format!(r#"<script src="{LOADER}"></script>"#), &inline_config()));
    h.open("/").await;
    h.wait_ready().await;
    h.eval_async(
        "import('/dist/leadscore_wasm.js').then(function (m) {
           m.Widget.prototype.track = function () { throw new Error('boom') };
           done(true);
         }, function (e) { done(String(e)) });",
    )
    .await;
    assert_eq!(h.eval("leadscore.track('x')").await, Value::Null, "nothing is thrown into the page");
    let line = h.wait_for_one_line().await;
    assert_eq!(line, "leadscore: disabled: Error: boom");
    assert_eq!(h.eval("[leadscore.stage(), leadscore.score(), leadscore.explain()]").await, json!([null, null, null]));
    h.eval("leadscore.track('x'), leadscore('identify', {email: 'a@b.example'}), leadscore.forget()").await;
    h.settle().await;
    assert_eq!(h.leadscore_lines().await, vec![line], "still exactly one line");
    assert_eq!(h.errors().await, Vec::<String>::new());
    h.finish().await;
}

// ---------------------------------------------------------------------------
// Pages
// ---------------------------------------------------------------------------

/// Runs first on every page: records console output and uncaught errors so
/// tests can assert on them. Written so it keeps working when a test page
/// breaks `Array.prototype.push` or `JSON`.
const RECORDER: &str = r#"<script>
(function () {
  var lines = window.__console = [], errors = window.__errors = [];
  function add(list, text) { list[list.length] = text }
  ['log', 'info', 'warn', 'error', 'debug'].forEach(function (level) {
    var original = console[level];
    console[level] = function () {
      var parts = [];
      for (var i = 0; i < arguments.length; i++) parts[i] = String(arguments[i]);
      add(lines, parts.join(' '));
      return original.apply(console, arguments);
    };
  });
  addEventListener('error', function (e) { add(errors, 'error: ' + e.message) });
  addEventListener('unhandledrejection', function (e) {
    add(errors, 'unhandled rejection: ' + (e.reason && e.reason.message || e.reason));
  });
  window.ledgerCount = function (rule) {
    var explained = window.leadscore && leadscore.explain && leadscore.explain();
    if (!explained) return null;
    for (var i = 0; i < explained.ledger.length; i++) {
      if (explained.ledger[i].rule === rule) return explained.ledger[i].count;
    }
    return 0;
  };
})();
</script>"#;

fn page(head: &str, body: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>leadscore e2e</title>{RECORDER}{head}</head>\
         <body>{body}</body></html>"
    )
}

fn inline_config() -> String {
    format!(r#"<script type="application/json" id="leadscore-config">{RULES}</script>"#)
}

// ---------------------------------------------------------------------------
// The harness: server, browser, and the checks every working page shares
// ---------------------------------------------------------------------------

struct Harness {
    server: Server,
    browser: Browser,
}

impl Harness {
    async fn start() -> Harness {
        let dist = dist_dir();
        let server = Server::start(dist).await;
        let browser = Browser::start().await;
        Harness { server, browser }
    }

    async fn open(&self, path: &str) {
        let url = self.server.url(path);
        self.browser.client.goto(&url).await.unwrap_or_else(|err| panic!("could not open {url}: {err}"));
    }

    /// Evaluates one JS expression in the page.
    async fn eval(&self, expression: &str) -> Value {
        let script = format!("return ({expression});");
        match self.browser.client.execute(&script, Vec::new()).await {
            Ok(value) => value,
            Err(err) => panic!("`{expression}` failed: {err}\n{}", self.diagnostics().await),
        }
    }

    /// Runs `body`, which must call `done(value)`, and returns that value.
    async fn eval_async(&self, body: &str) -> Value {
        let script = format!("var done = arguments[arguments.length - 1];\n{body}");
        match self.browser.client.execute_async(&script, Vec::new()).await {
            Ok(value) => value,
            Err(err) => panic!("async script failed: {err}\n{body}\n{}", self.diagnostics().await),
        }
    }

    /// Polls `condition` (a JS expression) every 50 ms until it is true.
    async fn wait_for(&self, what: &str, condition: &str) {
        let script = format!("try {{ return !!({condition}); }} catch (e) {{ return false; }}");
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(Value::Bool(true)) = self.browser.client.execute(&script, Vec::new()).await {
                return;
            }
            if Instant::now() >= deadline {
                panic!("gave up after {WAIT:?} waiting for {what} ({condition})\n{}", self.diagnostics().await);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The loader has started the widget and the widget has its config.
    async fn wait_ready(&self) {
        self.wait_for(
            "the widget to start and be configured",
            "typeof leadscore === 'function' && leadscore.stage() !== null && leadscore.explain() !== null",
        )
        .await;
    }

    /// Lets already-queued tasks run (a late console line, an unhandled
    /// rejection event) before asserting that something did not happen.
    /// Polls a flag instead of using an async script: chromedriver's async
    /// wrapper calls `Array.prototype.push`, which one test page breaks.
    async fn settle(&self) {
        self.eval(
            "window.__settled = false, setTimeout(function () {
               (window.requestIdleCallback || setTimeout)(function () {
                 setTimeout(function () { window.__settled = true }, 0);
               }, { timeout: 1000 });
             }, 0)",
        )
        .await;
        self.wait_for("queued tasks to run", "window.__settled === true").await;
    }

    /// A list the page built, read as one string: chromedriver turns a
    /// returned array back into JSON with `Array.prototype.push`, which one
    /// test page breaks on purpose.
    async fn list(&self, expression: &str) -> Vec<String> {
        let joined = self.eval(&format!("({expression}).join('\\u0000')")).await;
        let joined = joined.as_str().unwrap_or_default();
        if joined.is_empty() {
            Vec::new()
        } else {
            joined.split('\0').map(str::to_string).collect()
        }
    }

    async fn leadscore_lines(&self) -> Vec<String> {
        self.list("window.__console").await.into_iter().filter(|line| line.starts_with("leadscore:")).collect()
    }

    /// Uncaught errors and unhandled rejections the page saw.
    async fn errors(&self) -> Vec<String> {
        self.list("window.__errors").await
    }

    /// Waits for the first `leadscore:` console line and checks that it
    /// stays the only one; returns it.
    async fn wait_for_one_line(&self) -> String {
        self.wait_for(
            "a leadscore: console line",
            "window.__console.some(function (line) { return line.indexOf('leadscore:') === 0 })",
        )
        .await;
        self.settle().await;
        let lines = self.leadscore_lines().await;
        assert_eq!(lines.len(), 1, "expected exactly one leadscore: line, got {lines:#?}");
        lines.into_iter().next().unwrap_or_default()
    }

    /// After a failure: getters stay null, calls are silent no-ops, and no
    /// error or unhandled rejection reached the page.
    async fn assert_inert(&self) {
        assert_eq!(
            self.eval("[leadscore.stage(), leadscore.score(), leadscore.explain()]").await,
            json!([null, null, null])
        );
        assert_eq!(self.eval("leadscore.track('x'), leadscore('track', 'x')").await, Value::Null);
        self.settle().await;
        assert_eq!(self.errors().await, Vec::<String>::new(), "nothing may be thrown into the page");
        assert_eq!(self.leadscore_lines().await.len(), 1, "a failed widget stays silent after its one line");
    }

    /// The widget started with the `RULES` config and counts a call once.
    async fn assert_working(&self) {
        self.wait_ready().await;
        let stage = self.eval("leadscore.stage()").await;
        assert!(
            ["cold", "warm", "mql", "sales_ready"].iter().any(|known| stage == json!(known)),
            "stage() returned {stage}"
        );
        assert_eq!(self.eval("leadscore.explain().site").await, json!("e2e"));
        self.eval("leadscore.track('x')").await;
        self.wait_for("track('x') to count", "ledgerCount('x-rule') === 1").await;
        self.settle().await;
        assert_eq!(self.eval("ledgerCount('x-rule')").await, json!(1), "one track() call counts once");
        assert_eq!(self.server.count("GET", "/dist/leadscore_wasm.js"), 1, "the glue is fetched once");
        assert_eq!(self.server.count("GET", "/dist/leadscore_wasm_bg.wasm"), 1, "the module is fetched once");
        self.assert_clean().await;
    }

    /// No page error, no unhandled rejection, no complaint from the widget,
    /// and no request to any other origin.
    async fn assert_clean(&self) {
        assert_eq!(self.errors().await, Vec::<String>::new(), "{}", self.diagnostics().await);
        let lines = self.leadscore_lines().await;
        assert!(lines.is_empty(), "unexpected console lines: {lines:#?}");
        let origin = self.server.url("");
        let elsewhere = self
            .list(&format!(
                "performance.getEntriesByType('resource').map(function (e) {{ return e.name }})\
                 .filter(function (name) {{ return name.indexOf({}) !== 0 && name.indexOf('data:') !== 0 }})",
                json!(origin)
            ))
            .await;
        assert_eq!(elsewhere, Vec::<String>::new(), "requests left the site's origin");
    }

    async fn diagnostics(&self) -> String {
        let page = self
            .browser
            .client
            .execute(
                "return 'console: ' + (window.__console || []).join(' | ') + '\\nerrors: ' + (window.__errors || []).join(' | ');",
                Vec::new(),
            )
            .await
            .map(|value| value.as_str().unwrap_or_default().to_string())
            .unwrap_or_else(|err| format!("(page state unavailable: {err})"));
        let requests: Vec<String> = self.server.requests().iter().map(|r| format!("{} {}", r.method, r.path)).collect();
        format!("{page}\nrequests: {requests:#?}")
    }

    /// Ends the browser session cleanly; on a panic, `Browser`'s drop kills
    /// chromedriver and the browser instead.
    async fn finish(self) {
        let _ = self.browser.client.clone().close().await;
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `dist/` as `cargo xtask build` leaves it, with a loader no older than
/// `www/`: testing a stale copy would prove nothing about the source.
fn dist_dir() -> PathBuf {
    let dist = root().join("dist");
    for file in ["leadscore.js", "leadscore_wasm.js", "leadscore_wasm_bg.wasm"] {
        assert!(dist.join(file).is_file(), "dist/{file} is missing: run `cargo xtask build` first");
    }
    let shipped = std::fs::read(dist.join("leadscore.js")).unwrap();
    let source = std::fs::read(root().join("www/leadscore.js")).unwrap();
    assert!(shipped == source, "dist/leadscore.js differs from www/leadscore.js: run `cargo xtask build` first");
    dist
}

// ---------------------------------------------------------------------------
// A static HTTP/1.1 server: dist/ under /dist/, plus each test's own routes
// ---------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Request {
    method: String,
    path: String,
    #[allow(dead_code)] // Kept for tests of what the widget posts.
    body: String,
}

#[derive(Clone)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        Response { status, headers: vec![("Content-Type".into(), content_type.into())], body: body.into() }
    }

    fn html(body: &str) -> Response {
        Response::new(200, "text/html; charset=utf-8", body)
    }

    fn header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.into(), value.into()));
        self
    }
}

#[derive(Default)]
struct Site {
    routes: HashMap<String, Response>,
    requests: Vec<Request>,
}

struct Server {
    addr: SocketAddr,
    site: Arc<Mutex<Site>>,
}

impl Server {
    async fn start(dist: PathBuf) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().unwrap();
        let site = Arc::new(Mutex::new(Site::default()));
        let shared = (site.clone(), Arc::new(dist));
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (site, dist) = (shared.0.clone(), shared.1.clone());
                tokio::spawn(async move {
                    let _ = serve(stream, &site, &dist).await;
                });
            }
        });
        Server { addr, site }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn route(&self, path: &str, response: Response) {
        self.site.lock().unwrap().routes.insert(path.to_string(), response);
    }

    fn page(&self, path: &str, html: &str) {
        self.route(path, Response::html(html));
    }

    fn json(&self, path: &str, json: &str) {
        self.route(path, Response::new(200, "application/json", json));
    }

    fn requests(&self) -> Vec<Request> {
        self.site.lock().unwrap().requests.clone()
    }

    /// Requests for exactly `path`, query string included.
    fn count(&self, method: &str, path: &str) -> usize {
        self.requests().iter().filter(|r| r.method == method && r.path == path).count()
    }
}

async fn serve(mut stream: TcpStream, site: &Mutex<Site>, dist: &Path) -> std::io::Result<()> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            break at + 4;
        }
        if buffer.len() > 64 * 1024 {
            return Ok(());
        }
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Ok(());
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_string();
    let path = request_line.next().unwrap_or("/").to_string();
    let length = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .unwrap_or(0)
        .min(1024 * 1024);
    while buffer.len() < head_end + length {
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
    let body = String::from_utf8_lossy(&buffer[head_end..buffer.len().min(head_end + length)]).into_owned();

    let response = {
        let mut site = site.lock().unwrap();
        site.requests.push(Request { method: method.clone(), path: path.clone(), body });
        let bare = path.split(['?', '#']).next().unwrap_or_default();
        match site.routes.get(bare) {
            Some(response) => response.clone(),
            None => match bare.strip_prefix("/dist/") {
                Some(file) => dist_file(dist, file),
                None => Response::new(404, "text/plain", "not found"),
            },
        }
    };
    let reason = match response.status {
        200 => "OK",
        404 => "Not Found",
        _ => "Status",
    };
    let mut out = format!("HTTP/1.1 {} {reason}\r\n", response.status);
    for (name, value) in &response.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    // Every load must reach the server, so request counts mean something.
    out.push_str(&format!(
        "Content-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        response.body.len()
    ));
    stream.write_all(out.as_bytes()).await?;
    if method != "HEAD" {
        stream.write_all(&response.body).await?;
    }
    stream.shutdown().await
}

fn dist_file(dist: &Path, file: &str) -> Response {
    if file.is_empty() || file.split('/').any(|part| part.is_empty() || part == "." || part == "..") {
        return Response::new(404, "text/plain", "not found");
    }
    let content_type = match file.rsplit('.').next() {
        Some("js") => "text/javascript",
        Some("wasm") => "application/wasm",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    };
    match std::fs::read(dist.join(file)) {
        Ok(bytes) => Response::new(200, content_type, bytes),
        Err(_) => Response::new(404, "text/plain", "not found"),
    }
}

// ---------------------------------------------------------------------------
// chromedriver and a headless Chromium session
// ---------------------------------------------------------------------------

struct Browser {
    client: Client,
    driver: Child,
    profile: PathBuf,
}

impl Browser {
    async fn start() -> Browser {
        let chromedriver = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| CHROMEDRIVER.to_string());
        assert!(
            Path::new(&chromedriver).is_file() && Path::new(CHROMIUM).is_file(),
            "{chromedriver} or {CHROMIUM} is missing; `cargo xtask test` installs them \
             (apt-get install chromium chromium-driver)"
        );
        let profile = fresh_profile_dir();
        let port = free_port();
        // Its own process group, so a failed test can end chromedriver and
        // every browser process it started in one signal.
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|err| panic!("could not start {chromedriver}: {err}"));
        let mut guard = BrowserGuard { driver: Some(driver), profile: profile.clone() };

        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                    format!("--user-data-dir={}", profile.display()),
                ],
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let webdriver = format!("http://127.0.0.1:{port}");
        // chromedriver takes a moment to listen; a refused connection before
        // that is expected, anything still failing at the deadline is not.
        let deadline = Instant::now() + WAIT;
        let client = loop {
            match ClientBuilder::new(connector.clone()).capabilities(capabilities.clone()).connect(&webdriver).await {
                Ok(client) => break client,
                Err(err) if Instant::now() >= deadline => panic!("could not start a Chromium session: {err}"),
                Err(_) => tokio::time::sleep(POLL).await,
            }
        };
        Browser { client, driver: guard.driver.take().expect("set above"), profile }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        end_process_group(&mut self.driver);
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Cleans up if `Browser::start` fails half-way.
struct BrowserGuard {
    driver: Option<Child>,
    profile: PathBuf,
}

impl Drop for BrowserGuard {
    fn drop(&mut self) {
        if let Some(driver) = self.driver.as_mut() {
            end_process_group(driver);
            let _ = std::fs::remove_dir_all(&self.profile);
        }
    }
}

/// Kills chromedriver and the browser it launched (same process group).
fn end_process_group(driver: &mut Child) {
    let group = format!("-{}", driver.id());
    let _ = Command::new("kill").args(["-s", "KILL", "--", &group]).stderr(Stdio::null()).status();
    let _ = driver.kill();
    let _ = driver.wait();
}

fn fresh_profile_dir() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "leadscore-e2e-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|err| panic!("could not create {}: {err}", dir.display()));
    dir
}

/// A port nobody listens on right now, for chromedriver to take.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap()
}
