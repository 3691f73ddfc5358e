//! The benchmark pages: one page, five variants (no tracker, leadscore and
//! the three peers), each installed the way its documentation tells a site
//! owner to and pointed at the sink on loopback; and the engine page, which
//! times the wasm32 build of the engine benchmark's workload.
//!
//! Every page starts with the same measuring script (`HARNESS`), before
//! anything else, so its long-task observer sees every task.

/// Milliseconds waited after a tracker reports ready, so that what it does
/// right after (a first page view sent, remote config fetched) counts as init.
pub const INIT_SETTLE_MS: u32 = 1000;

/// Milliseconds waited after the loop of tracked events, so that work the
/// trackers schedule counts too: posthog-js flushes its queue every 3 s,
/// leadscore writes storage 1 s after a change.
pub const EVENTS_SETTLE_MS: u32 = 4000;

/// The trackers compared, in table order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Variant {
    None,
    Leadscore,
    Posthog,
    Segment,
    Plausible,
}

impl Variant {
    pub const ALL: [Variant; 5] =
        [Variant::None, Variant::Leadscore, Variant::Posthog, Variant::Segment, Variant::Plausible];

    pub fn name(self) -> &'static str {
        match self {
            Variant::None => "no tracker",
            Variant::Leadscore => "leadscore",
            Variant::Posthog => "posthog-js",
            Variant::Segment => "@segment/analytics-next",
            Variant::Plausible => "Plausible tracker",
        }
    }

    pub fn path(self) -> &'static str {
        match self {
            Variant::None => "/page/none.html",
            Variant::Leadscore => "/page/leadscore.html",
            Variant::Posthog => "/page/posthog.html",
            Variant::Segment => "/page/segment.html",
            Variant::Plausible => "/page/plausible.html",
        }
    }

    /// The tag or tags a site would paste, then the page's three hooks:
    /// `ready()` once the tracker can track, `track(i)` for one event through
    /// the tracker's own API, and `wasmBytes()` where there is wasm.
    fn install(self) -> &'static str {
        match self {
            Variant::None => {
                r#"<script>
__bench.ready = function () { return true };
__bench.track = function (i) {};
</script>"#
            }
            // The queue stub is the one docs/widget.md describes; consent
            // through the API, leads to the sink.
            Variant::Leadscore => {
                r#"<script>
window.leadscore = function () { (leadscore.q = leadscore.q || []).push(arguments) };
leadscore('init', { site: 'bench', preset: 'b2b-saas', consent: 'required',
                    endpoint: location.origin + '/sink/leadscore/leads' });
leadscore('consent', true);
__bench.ready = function () {
  return typeof leadscore.stage === 'function' && leadscore.stage() !== null;
};
__bench.track = function (i) { leadscore.track('cart_add', { item: 'sku-' + (i % 20) }) };
// The glue returns the instance's exports when already initialized.
__bench.wasmBytes = function () {
  return import('/dist/leadscore_wasm.js').then(function (glue) { return glue.default() })
    .then(function (exports) { return exports.memory.buffer.byteLength });
};
</script>
<script async src="/dist/leadscore.js"></script>"#
            }
            // As posthog's snippet does: array.js loaded async, then init
            // with the project's defaults and the sink as api_host.
            Variant::Posthog => {
                r#"<script>
window.__posthogLoaded = function () {
  // Defaults, except that posthog-js drops every event from a browser whose
  // user agent says "HeadlessChrome" unless told not to.
  posthog.init('phc_bench', { api_host: location.origin + '/sink/posthog', opt_out_useragent_filter: true });
};
__bench.ready = function () { return !!(window.posthog && posthog.__loaded) };
__bench.track = function (i) { posthog.capture('cart_add', { item: 'sku-' + (i % 20) }) };
</script>
<script async src="/peers/posthog-js/dist/array.js" onload="__posthogLoaded()"></script>"#
            }
            // The npm build's browser bundle with its settings and lazily
            // loaded chunks from our "CDN", and a page call as the snippet
            // makes.
            Variant::Segment => {
                r#"<script>
window.__segmentLoaded = function () {
  var browser = AnalyticsNext.AnalyticsBrowser.load({ writeKey: 'bench', cdnURL: location.origin + '/segment-cdn' });
  browser.page();
  browser.then(function (loaded) { window.analytics = loaded[0] });
};
__bench.ready = function () { return !!window.analytics };
__bench.track = function (i) { analytics.track('cart_add', { item: 'sku-' + (i % 20) }) };
</script>
<script async src="/peers/@segment/analytics-next/dist/umd/index.js" onload="__segmentLoaded()"></script>"#
            }
            // The npm package is an ES module; localhost capture must be
            // allowed for the loopback sink to see anything.
            Variant::Plausible => {
                r#"<script type="module">
import { init, track } from '/peers/@plausible-analytics/tracker/plausible.js';
init({ domain: 'bench.example', endpoint: location.origin + '/sink/plausible/api/event',
       captureOnLocalhost: true, logging: false });
__bench.track = function (i) { track('cart_add', { props: { item: 'sku-' + (i % 20) } }) };
</script>
<script>__bench.ready = function () { return typeof __bench.track === 'function' };</script>"#
            }
        }
    }
}

/// Runs first on every page. `__bench.init()` resolves once the tracker is
/// ready and has settled; `__bench.batch(label, n)` tracks `n` events and
/// resolves once the page has settled again. Both report what the page can
/// see itself; main-thread time comes from the trace, between the
/// user-timing marks set here.
const HARNESS: &str = r#"<script>
(function () {
  var b = window.__bench = { longtasks: [] };
  new PerformanceObserver(function (list) {
    list.getEntries().forEach(function (e) { b.longtasks.push([e.startTime, e.duration]) });
  }).observe({ type: 'longtask', buffered: true });
  function settle(ms) {
    return new Promise(function (resolve) {
      setTimeout(function () { requestIdleCallback(function () { resolve() }, { timeout: 2000 }) }, ms);
    });
  }
  function longTasks(from, to) {
    var count = 0, ms = 0;
    b.longtasks.forEach(function (t) { if (t[0] >= from && t[0] < to) { count++; ms += t[1] } });
    return { count: count, ms: ms };
  }
  function heap() { gc(); return performance.memory.usedJSHeapSize }
  function wasm() { return Promise.resolve(b.wasmBytes ? b.wasmBytes() : null) }
  b.init = function () {
    return new Promise(function (resolve) {
      (function poll() { if (b.ready && b.ready()) resolve(); else setTimeout(poll, 10) })();
    }).then(function () {
      b.readyAt = performance.now();
      return settle(INIT_SETTLE_MS);
    }).then(function () {
      performance.mark('bench:init:end');
      var end = performance.now(), assets = performance.getEntriesByType('resource').filter(function (r) {
        return new URL(r.name).pathname.indexOf('/sink/') !== 0 || /\.js$/.test(new URL(r.name).pathname);
      });
      return wasm().then(function (wasmBytes) {
        return {
          ready_ms: b.readyAt,
          long_tasks: longTasks(0, end),
          transfer: assets.reduce(function (sum, r) { return sum + r.transferSize }, 0),
          encoded: assets.reduce(function (sum, r) { return sum + r.encodedBodySize }, 0),
          assets: assets.map(function (r) { return new URL(r.name).pathname + ' ' + r.transferSize }),
          heap: heap(),
          wasm: wasmBytes,
        };
      });
    });
  };
  // The loop runs in a task of its own, as a page's code would, not inside
  // the WebDriver call that starts it.
  b.batch = function (label, n) {
    var start, sync;
    performance.mark('bench:' + label + ':start');
    return new Promise(function (resolve) {
      setTimeout(function () {
        start = performance.now();
        for (var i = 0; i < n; i++) b.track(i);
        sync = performance.now() - start;
        resolve();
      }, 0);
    }).then(function () {
      return settle(EVENTS_SETTLE_MS);
    }).then(function () {
      performance.mark('bench:' + label + ':end');
      var end = performance.now();
      return wasm().then(function (wasmBytes) {
        return { sync_ms: sync, long_tasks: longTasks(start, end), heap: heap(), wasm: wasmBytes };
      });
    });
  };
})();
</script>"#;

/// A plain content page, the same for every variant.
const BODY: &str = r#"<header><nav><a href="/">Home</a> <a href="/pricing">Pricing</a> <a href="/docs">Docs</a></nav></header>
<main><h1>Northwind Analytics</h1>
<p>Dashboards for teams that ship. Connect your warehouse, share a link, and everyone sees the same numbers.</p>
<form id="newsletter"><label>Email <input type="email" name="email"></label> <button>Subscribe</button></form>
<p><a href="/files/whitepaper.pdf">Read the whitepaper</a></p></main>"#;

pub fn variant_page(variant: Variant) -> String {
    let harness = HARNESS
        .replace("INIT_SETTLE_MS", &INIT_SETTLE_MS.to_string())
        .replace("EVENTS_SETTLE_MS", &EVENTS_SETTLE_MS.to_string());
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{} benchmark</title>{harness}{}</head>\
         <body>{BODY}</body></html>",
        variant.name(),
        variant.install()
    )
}

/// Segment's per-project settings, as its CDN would answer for our write
/// key: only the Segment.io destination, sending to the sink over plain
/// HTTP, with its own metrics off (they would go to api.segment.io).
pub fn segment_settings(origin: &str) -> String {
    let host = origin.trim_start_matches("http://");
    format!(
        r#"{{"integrations":{{"Segment.io":{{"apiKey":"bench","apiHost":"{host}/sink/segment","protocol":"http"}}}},
"plan":{{"track":{{"__default":{{"enabled":true}}}},"identify":{{"__default":{{"enabled":true}}}}}},
"edgeFunction":{{}},"analyticsNextEnabled":true,"middlewareSettings":{{}},"enabledMiddleware":{{}},
"metrics":{{"sampleRate":0}},"legacyVideoPluginsEnabled":false,"remotePlugins":[]}}"#
    )
}

/// The engine page: `__engine(rules, runMs)` times `Workload::handle_all`
/// (one fresh engine fed 1,000 events) and `Workload::read_scores` for one
/// rule set after a warm-up, in samples of about 50 ms each, and resolves
/// with the median milliseconds per 1,000 events and nanoseconds per read.
pub const ENGINE_PAGE: &str = r#"<!doctype html><html><head><meta charset="utf-8"><title>engine benchmark</title>
<script type="module">
import init, { Workload } from '/engine/leadscore_wasm_engine.js';
function median(xs) { xs = xs.slice().sort(function (a, b) { return a - b }); var m = xs.length >> 1;
  return xs.length % 2 ? xs[m] : (xs[m - 1] + xs[m]) / 2 }
// Times `f(k)` in samples of about 50 ms (performance.now() is coarsened to
// 0.1 ms here) after 300 ms of warm-up; returns the median time per unit.
function sample(f, units) {
  var start = performance.now(), done = 0;
  while (performance.now() - start < 300) { f(1); done++ }
  var k = Math.max(1, Math.round(50 / ((performance.now() - start) / done))), samples = [];
  for (var s = 0; s < 20; s++) {
    var t = performance.now(); f(k); samples.push((performance.now() - t) / k / units);
  }
  return median(samples);
}
window.__engine = async function (rules) {
  await init();
  var workload = new Workload(rules);
  var perThousand = sample(function (k) { for (var i = 0; i < k; i++) workload.handle_all() }, 1);
  var readMs = sample(function (k) { workload.read_scores(k * 1000) }, 1000);
  workload.free();
  return { events_ms: perThousand, read_ns: readMs * 1e6 };
};
</script></head><body>engine</body></html>"#;
