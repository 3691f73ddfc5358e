//! The recipes of docs/integrations.md, proven in headless Chromium with the
//! real consent tools from the npm registry (tests/npm/node_modules, which
//! `cargo xtask test` installs): each test reads its code blocks out of the
//! doc and serves them, so the doc cannot drift from what works. For every
//! tool: before consent nothing of ours is stored and no lead is posted;
//! once the tool's own banner or API grants, a visitor who qualifies is
//! posted exactly once; a refusal keeps everything off and a withdrawal
//! deletes the record and asks the collector to erase the lead.
//! Needs `cargo xtask build` output in `dist/`, like the other e2e suites.

#![cfg(not(target_arch = "wasm32"))]

mod e2e;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use e2e::{page, Endpoint, Harness, Response, STORAGE_SPY as SPY};
use serde_json::{json, Value};

/// What the doc's tags say: `data-site="acme"`, `data-endpoint="/v1/leads"`.
const KEY: &str = "leadscore:acme";
const LEADS: &str = "/v1/leads";
/// The collector's erasure path beside `/v1/leads` (PRIVACY.md).
const ERASURES: &str = "/v1/forget";

/// The rules the doc leaves to the site: two webinars and an email make an
/// MQL; no decay. No site or endpoint, so both must come from the tag.
const CONFIG: &str = r#"<script type="application/json" id="leadscore-config">
  {"consent":"required","half_life_days":"never","thresholds":{"warm":5,"mql":10,"sales_ready":50},
   "rules":[{"id":"webinar","on":"webinar_join","points":5}]}
</script>"#;

// ---------------------------------------------------------------------------
// The doc, the packages and the site
// ---------------------------------------------------------------------------

/// The code block that follows `<!-- recipe: NAME -->` in docs/integrations.md.
fn recipe(name: &str) -> String {
    let path = e2e::root().join("docs/integrations.md");
    let doc = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("could not read {}: {err}", path.display()));
    let marker = format!("<!-- recipe: {name} -->");
    let (_, after) = doc.split_once(&marker).unwrap_or_else(|| panic!("docs/integrations.md has no `{marker}`"));
    let mut lines = after.lines().skip_while(|line| line.trim().is_empty());
    let fence = lines.next().unwrap_or_default();
    assert!(fence.starts_with("```"), "`{marker}` must be followed by a fenced code block, not `{fence}`");
    let block: Vec<&str> = lines.by_ref().take_while(|line| !line.starts_with("```")).collect();
    assert!(!block.is_empty(), "the code block after `{marker}` is empty");
    block.join("\n")
}

/// tests/npm, where `cargo xtask test` runs `npm ci`.
fn npm_dir() -> PathBuf {
    let npm = e2e::root().join("tests/npm");
    assert!(
        npm.join("node_modules").is_dir(),
        "tests/npm/node_modules is missing: run `cargo xtask test` (or `npm ci --prefix tests/npm`) first"
    );
    npm
}

/// A file of an installed package, e.g. `klaro/dist/klaro.js`.
fn package_file(path: &str) -> Vec<u8> {
    let file = npm_dir().join("node_modules").join(path);
    std::fs::read(&file).unwrap_or_else(|err| {
        panic!("could not read {}: {err} (run `cargo xtask test` or `npm ci --prefix tests/npm`)", file.display())
    })
}

/// Bundles `source` for the browser with the pinned esbuild, resolving its
/// imports in tests/npm/node_modules, as the doc tells sites to.
fn bundle(source: &str) -> Vec<u8> {
    let npm = npm_dir();
    let esbuild = npm.join("node_modules/.bin/esbuild");
    let mut child = Command::new(&esbuild)
        .args(["--bundle", "--format=iife", "--sourcefile=cmp.js", "--log-level=warning"])
        .current_dir(&npm)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("could not run {}: {err}", esbuild.display()));
    child.stdin.take().expect("esbuild's stdin").write_all(source.as_bytes()).expect("write to esbuild");
    let output = child.wait_with_output().expect("esbuild ran");
    assert!(output.status.success(), "esbuild failed: {}", String::from_utf8_lossy(&output.stderr));
    output.stdout
}

fn javascript(bytes: Vec<u8>) -> Response {
    Response::new(200, "text/javascript", bytes)
}

/// A site serving `dist/` at `/leadscore/`, where the doc's tags point, with
/// a lead endpoint and the collector's erasure endpoint.
struct Site {
    h: Harness,
    leads: Arc<Endpoint>,
    erasures: Arc<Endpoint>,
}

impl Site {
    async fn start() -> Site {
        let h = Harness::start().await;
        let dist = e2e::dist_dir();
        let files = std::fs::read_dir(&dist).unwrap_or_else(|err| panic!("could not list {}: {err}", dist.display()));
        for file in files.flatten().filter(|file| file.path().is_file()) {
            let name = file.file_name().to_string_lossy().into_owned();
            let content_type = match name.rsplit('.').next() {
                Some("js") => "text/javascript",
                Some("wasm") => "application/wasm",
                Some("json") => "application/json",
                _ => "application/octet-stream",
            };
            let bytes = std::fs::read(file.path()).unwrap_or_else(|err| panic!("could not read dist/{name}: {err}"));
            h.server.route(&format!("/leadscore/{name}"), Response::new(200, content_type, bytes));
        }
        let leads = h.server.endpoint(LEADS);
        let erasures = h.server.endpoint(ERASURES);
        Site { h, leads, erasures }
    }

    /// Serves `/page`: the spy, the site's rules and `head` in the head,
    /// `body` (the doc's blocks) in the body.
    fn serve(&self, head: &str, body: &str) {
        self.h.server.page("/page", &page(&format!("{SPY}{CONFIG}{head}"), body));
    }

    async fn open(&self) {
        self.h.open("/page").await;
    }

    /// Does everything that makes the visitor an MQL under [`CONFIG`].
    async fn qualify(&self) {
        self.h
            .eval(
                "leadscore.track('webinar_join'), leadscore.track('webinar_join'), \
                 leadscore.identify({email: 'ann@acme.example'})",
            )
            .await;
        self.h.settle().await;
    }

    async fn our_writes(&self) -> Vec<String> {
        self.h.list("window.__writes").await.into_iter().filter(|write| write.contains(KEY)).collect()
    }

    fn posts(&self) -> Vec<String> {
        let posts = self.h.server.requests().into_iter().filter(|request| request.method == "POST");
        posts.map(|request| request.path).collect()
    }

    /// Nothing of ours stored, no lead (nor anything else) posted.
    async fn assert_nothing_stored_or_sent(&self) {
        assert_eq!(self.our_writes().await, Vec::<String>::new(), "writes of {KEY}");
        assert_eq!(self.posts(), Vec::<String>::new(), "posts");
        let stored = self.h.eval(&format!("localStorage.getItem('{KEY}')")).await;
        assert_eq!(stored, Value::Null, "nothing stored");
    }

    async fn wait_for_key(&self) {
        self.h.wait_for("our storage key", &format!("localStorage.getItem('{KEY}') !== null")).await;
    }

    async fn wait_for_key_deleted_within_a_second(&self) {
        let gone = format!("localStorage.getItem('{KEY}') === null");
        self.h.wait_for_within("our key deleted", &gone, Duration::from_secs(1)).await;
    }

    /// Waits for the lead and checks that it stays the only one and that it
    /// went where the tag's `data-*` attributes say.
    async fn assert_one_lead(&self) -> Value {
        self.leads
            .wait_until("the lead", Duration::from_secs(10), |posts| posts.iter().any(|post| post.accepted()))
            .await;
        self.h.wait_for("the delivery recorded", "leadscore.explain().outbox.pending === 0").await;
        self.h.settle().await;
        let posts = self.leads.posts();
        assert_eq!(posts.len(), 1, "exactly one lead: {posts:#?}");
        let lead = posts[0].json().expect("the lead is JSON");
        assert_eq!(lead["site"], "acme", "the site from the tag's data-site");
        assert_eq!(lead["stage"], "mql");
        assert_eq!(lead["identity"]["email"], "ann@acme.example");
        lead
    }

    /// Withdrawal after a lead was sent: the collector is asked to erase it.
    async fn assert_erasure_requested(&self) {
        let posts = self.erasures.wait_until("the erasure request", Duration::from_secs(10), |p| !p.is_empty()).await;
        let request = posts[0].json().expect("the erasure request is JSON");
        assert_eq!(request["site"], "acme");
    }

    async fn finish(self) {
        self.h.assert_clean().await;
        self.h.finish().await;
    }
}

/// Waits until `css` selects an element that takes up space on screen.
async fn wait_visible(h: &Harness, what: &str, css: &str) {
    let condition = format!(
        "(function (e) {{ return !!e && e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden' }})\
         (document.querySelector({}))",
        json!(css)
    );
    h.wait_for(what, &condition).await;
}

// ---------------------------------------------------------------------------
// Calling leadscore before the tag has loaded
// ---------------------------------------------------------------------------

#[tokio::test]
async fn the_pre_load_stub_queues_calls_until_the_loader_replays_them() {
    let site = Site::start().await;
    let (stub, tag) = (recipe("stub"), recipe("stub-tag"));
    // The page's own code runs between the stub and the tag, so its calls
    // certainly happen before the loader exists.
    let early = |calls: &str| {
        format!(
            "{stub}<script>window.__stubbed = !!leadscore.q && !leadscore._ls; window.__early = [leadscore.stage()];\
             {calls}</script>{tag}"
        )
    };

    // Events queued without consent are dropped.
    site.serve("", &early("leadscore.track('webinar_join'); leadscore('track', 'webinar_join');"));
    site.open().await;
    assert_eq!(site.h.eval("window.__stubbed && window.__early[0] === null").await, true, "the stand-in was in place");
    site.h.wait_ready().await;
    site.h.settle().await;
    site.assert_nothing_stored_or_sent().await;
    assert_eq!(site.h.eval("leadscore.score()").await, 0.0);

    // A consent tool's callback answering at once, before the loader, and
    // the visitor's actions after it: replayed in order.
    site.serve(
        "",
        &early(
            "leadscore.consent(true); leadscore.track('webinar_join'); leadscore('track', 'webinar_join');\
             leadscore.identify({email: 'ann@acme.example'});",
        ),
    );
    site.open().await;
    assert_eq!(site.h.eval("window.__stubbed").await, true);
    site.h.wait_ready().await;
    site.wait_for_key().await;
    site.assert_one_lead().await;
    assert_eq!(site.h.eval("ledgerCount('webinar')").await, 2, "both queued events counted");
    site.finish().await;
}

// ---------------------------------------------------------------------------
// vanilla-cookieconsent v3
// ---------------------------------------------------------------------------

/// The stub, the tag, then the banner, as the doc says; the library served
/// where the recipe loads it from.
fn serve_cookieconsent(site: &Site) {
    let vendor = "vanilla-cookieconsent/dist";
    site.h.server.route(
        "/vendor/cookieconsent/cookieconsent.umd.js",
        javascript(package_file(&format!("{vendor}/cookieconsent.umd.js"))),
    );
    site.h.server.route(
        "/vendor/cookieconsent/cookieconsent.css",
        Response::new(200, "text/css", package_file(&format!("{vendor}/cookieconsent.css"))),
    );
    // The library hides itself from bots, and WebDriver announces itself as
    // one through `navigator.webdriver`: this browser plays a visitor.
    let visitor = "<script>Object.defineProperty(Navigator.prototype, 'webdriver', { get: function () { return false } })</script>";
    site.serve(visitor, &format!("{}{}{}", recipe("stub"), recipe("stub-tag"), recipe("cookieconsent")));
}

#[tokio::test]
async fn cookieconsent_accepting_grants_and_switching_analytics_off_withdraws() {
    let site = Site::start().await;
    serve_cookieconsent(&site);
    site.open().await;
    site.h.wait_ready().await;
    wait_visible(&site.h, "the banner", "#cc-main .cm [data-role=all]").await;
    site.qualify().await;
    site.assert_nothing_stored_or_sent().await;

    site.h.click("#cc-main .cm [data-role=all]").await;
    site.wait_for_key().await;
    site.qualify().await;
    site.assert_one_lead().await;

    // A returning visitor: onConsent repeats the choice while the page
    // loads, before the async tag; the stub keeps it.
    site.h.reload().await;
    site.h.wait_ready().await;
    site.h.wait_for("consent on the next page", "leadscore.explain().consent === true").await;
    assert!(site.h.eval(&format!("localStorage.getItem('{KEY}')")).await.is_string());

    // Withdrawn in the preferences window.
    site.h.click("[data-cc=show-preferencesModal]").await;
    wait_visible(&site.h, "the preferences window", "#cc-main .pm input[value=analytics]").await;
    assert_eq!(site.h.eval("document.querySelector('#cc-main .pm input[value=analytics]').checked").await, true);
    site.h.eval("document.querySelector('#cc-main .pm input[value=analytics]').click()").await;
    site.h.click("#cc-main .pm [data-role=save]").await;
    site.wait_for_key_deleted_within_a_second().await;
    site.assert_erasure_requested().await;
    assert_eq!(site.h.eval("leadscore.explain().consent").await, false);
    site.finish().await;
}

#[tokio::test]
async fn cookieconsent_rejecting_keeps_everything_off() {
    let site = Site::start().await;
    serve_cookieconsent(&site);
    site.open().await;
    site.h.wait_ready().await;
    wait_visible(&site.h, "the banner", "#cc-main .cm [data-role=necessary]").await;
    site.h.click("#cc-main .cm [data-role=necessary]").await;
    site.h.wait_for("the choice stored", "CookieConsent.validConsent()").await;
    site.qualify().await;
    site.assert_nothing_stored_or_sent().await;
    assert_eq!(site.h.eval("leadscore.explain().consent").await, false);
    assert_eq!(site.h.eval("leadscore.score()").await, 0.0);
    site.finish().await;
}

// ---------------------------------------------------------------------------
// Klaro
// ---------------------------------------------------------------------------

fn serve_klaro(site: &Site) {
    site.h.server.route("/vendor/klaro/klaro.js", javascript(package_file("klaro/dist/klaro.js")));
    site.serve("", &format!("{}{}", recipe("stub"), recipe("klaro")));
}

fn loader_requests(site: &Site) -> usize {
    site.h.server.requests().iter().filter(|request| request.path.starts_with("/leadscore/")).count()
}

#[tokio::test]
async fn klaro_loads_the_blocked_tag_on_consent_and_the_loader_reads_its_attributes() {
    let site = Site::start().await;
    serve_klaro(&site);
    site.open().await;
    wait_visible(&site.h, "Klaro's notice", ".cookie-notice .cm-btn-success").await;
    site.qualify().await;
    site.assert_nothing_stored_or_sent().await;
    assert_eq!(loader_requests(&site), 0, "the blocked tag is not even fetched");

    site.h.click(".cookie-notice .cm-btn-success").await;
    site.h.wait_ready().await;
    // The live copy Klaro inserted is the loader's own tag: the site, the
    // endpoint and the directory of the module come from it.
    assert_eq!(site.h.eval("leadscore.explain().site").await, "acme");
    assert_eq!(site.h.server.count("GET", "/leadscore/leadscore_wasm_bg.wasm"), 1, "the module beside the tag's src");
    site.wait_for_key().await;
    site.qualify().await;
    site.assert_one_lead().await;

    // Switched off in Klaro's settings.
    site.h.eval("klaro.show()").await;
    // Klaro groups services by purpose: the `marketing` switch holds ours.
    wait_visible(&site.h, "Klaro's settings", "#purpose-item-marketing + label").await;
    assert_eq!(site.h.eval("document.getElementById('service-item-leadscore').checked").await, true);
    site.h.click("#purpose-item-marketing + label").await;
    assert_eq!(site.h.eval("document.getElementById('service-item-leadscore').checked").await, false);
    site.h.click(".cm-modal .cm-btn-accept").await;
    site.wait_for_key_deleted_within_a_second().await;
    site.assert_erasure_requested().await;
    assert_eq!(site.h.eval("leadscore.explain().consent").await, false);
    site.finish().await;
}

#[tokio::test]
async fn klaro_declined_never_loads_the_tag() {
    let site = Site::start().await;
    serve_klaro(&site);
    site.open().await;
    wait_visible(&site.h, "Klaro's notice", ".cookie-notice .cn-decline").await;
    site.h.click(".cookie-notice .cn-decline").await;
    site.h.wait_for("the notice gone", "!document.querySelector('.cookie-notice .cn-decline')").await;
    site.qualify().await;
    site.assert_nothing_stored_or_sent().await;
    assert_eq!(loader_requests(&site), 0, "the declined tag is not fetched");
    // The page goes on: later pages do the same, so nothing is scored.
    site.h.reload().await;
    wait_visible(&site.h, "the settings link", "a[onclick]").await;
    site.h.settle().await;
    assert_eq!(loader_requests(&site), 0);
    site.assert_nothing_stored_or_sent().await;
    site.finish().await;
}

// ---------------------------------------------------------------------------
// IAB TCF v2.2 with @iabtechlabtcf/cmpapi and @iabtechlabtcf/core
// ---------------------------------------------------------------------------

fn serve_tcf(site: &Site) {
    site.h.server.route("/cmp/cmp.js", javascript(bundle(&recipe("tcf-cmp"))));
    let vendor_list = e2e::root().join("tests/integrations/vendor-list.json");
    let vendor_list = std::fs::read(&vendor_list).unwrap_or_else(|err| panic!("{}: {err}", vendor_list.display()));
    site.h.server.route("/cmp/vendor-list.json", Response::new(200, "application/json", vendor_list));
    site.serve("", &recipe("tcf-page"));
}

#[tokio::test]
async fn tcf_purpose_1_consent_tracks_and_a_later_refusal_erases() {
    let site = Site::start().await;
    serve_tcf(&site);
    site.open().await;
    site.h.wait_ready().await;
    wait_visible(&site.h, "the CMP's banner", "#cmp-accept").await;
    site.qualify().await;
    site.assert_nothing_stored_or_sent().await;

    site.h.click("#cmp-accept").await;
    site.wait_for_key().await;
    // The CMP's own answer, for the record: a real TC string, purpose 1 given.
    let answer = site
        .h
        .eval_async("__tcfapi('getTCData', 2, function (data) { done([data.eventStatus, data.purpose.consents['1'], data.tcString]) })")
        .await;
    assert_eq!(answer[0], "useractioncomplete");
    assert_eq!(answer[1], true);
    assert!(answer[2].as_str().is_some_and(|tc| tc.len() > 20), "a TC string: {answer}");
    site.qualify().await;
    site.assert_one_lead().await;

    // A returning visitor: the stored string comes back as `tcloaded`.
    site.h.reload().await;
    site.h.wait_ready().await;
    site.h.wait_for("consent from the stored TC string", "leadscore.explain().consent === true").await;

    site.h.click("#cmp-settings").await;
    wait_visible(&site.h, "the CMP's banner", "#cmp-reject").await;
    site.h.click("#cmp-reject").await;
    site.wait_for_key_deleted_within_a_second().await;
    site.assert_erasure_requested().await;
    assert_eq!(site.h.eval("leadscore.explain().opt_out").await, "tcf");
    site.finish().await;
}

#[tokio::test]
async fn tcf_purpose_1_refused_stores_and_sends_nothing() {
    let site = Site::start().await;
    serve_tcf(&site);
    site.open().await;
    site.h.wait_ready().await;
    wait_visible(&site.h, "the CMP's banner", "#cmp-reject").await;
    site.h.click("#cmp-reject").await;
    site.h.wait_for("the refusal read", "leadscore.explain().opt_out === 'tcf'").await;
    site.qualify().await;
    site.h.eval("leadscore.consent(true)").await;
    site.qualify().await;
    site.assert_nothing_stored_or_sent().await;
    assert_eq!(site.h.eval("leadscore.explain().consent").await, false, "a TCF refusal wins over consent(true)");
    site.finish().await;
}

// ---------------------------------------------------------------------------
// Google Consent Mode v2
// ---------------------------------------------------------------------------

#[tokio::test]
async fn consent_mode_default_denied_then_granted_then_denied() {
    let site = Site::start().await;
    site.serve("", &recipe("consent-mode"));
    site.open().await;
    site.h.wait_ready().await;
    site.h.wait_for("the default read", "leadscore.explain().opt_out === 'consent_mode'").await;
    site.qualify().await;
    site.assert_nothing_stored_or_sent().await;

    site.h.click("#consent-grant").await;
    site.wait_for_key().await;
    site.qualify().await;
    site.assert_one_lead().await;

    site.h.click("#consent-deny").await;
    // Consent Mode is looked at every half second.
    site.h
        .wait_for_within("our key deleted", &format!("localStorage.getItem('{KEY}') === null"), Duration::from_secs(2))
        .await;
    site.assert_erasure_requested().await;
    assert_eq!(site.h.eval("leadscore.explain().opt_out").await, "consent_mode");
    site.finish().await;
}

// ---------------------------------------------------------------------------
// Tag managers: custom HTML
// ---------------------------------------------------------------------------

/// What a tag manager does with a custom HTML tag: parse it, recreate each
/// script with `createElement` (attributes and text copied), append it to
/// the body; other nodes are moved as they are.
const TAG_MANAGER: &str = r#"<script>
  window.__fireTag = function (html) {
    var holder = document.createElement('div');
    holder.innerHTML = html;
    Array.prototype.slice.call(holder.childNodes).forEach(function (node) {
      if (node.nodeName !== 'SCRIPT') { document.body.appendChild(node); return; }
      var script = document.createElement('script');
      for (var i = 0; i < node.attributes.length; i++) {
        script.setAttribute(node.attributes[i].name, node.attributes[i].value);
      }
      script.text = node.text;
      document.body.appendChild(script);
    });
  };
</script>"#;

#[tokio::test]
async fn a_tag_manager_custom_html_tag_loads_the_widget_and_consent_tags_drive_it() {
    let site = Site::start().await;
    let fire = |name: &str| format!("window.__fireTag({})", json!(recipe(name)));
    site.serve(TAG_MANAGER, "<p>A page with a tag manager.</p>");
    site.open().await;
    // Fired on "Window Loaded", as tag managers commonly do.
    site.h.wait_for("the page loaded", "document.readyState === 'complete'").await;
    // The granted tag fired in the same task, so before the loader has run.
    let queued =
        site.h.eval(&format!("{}, {}, leadscore.q.length", fire("tag-manager-tag"), fire("tag-manager-granted"))).await;
    assert_eq!(queued, 1, "the consent call waits in the stand-in's queue");
    site.h.wait_ready().await;
    assert_eq!(site.h.eval("leadscore.explain().site").await, "acme", "data-site read from the injected tag");
    assert_eq!(site.h.server.count("GET", "/leadscore/leadscore_wasm_bg.wasm"), 1, "the module beside the tag's src");
    site.wait_for_key().await;
    site.qualify().await;
    site.assert_one_lead().await;

    site.h.eval(&fire("tag-manager-withdrawn")).await;
    site.wait_for_key_deleted_within_a_second().await;
    site.assert_erasure_requested().await;
    site.finish().await;
}

#[tokio::test]
async fn a_tag_manager_tag_alone_stores_and_sends_nothing() {
    let site = Site::start().await;
    site.serve(TAG_MANAGER, "<p>A page with a tag manager.</p>");
    site.open().await;
    site.h.wait_for("the page loaded", "document.readyState === 'complete'").await;
    site.h.eval(&format!("window.__fireTag({})", json!(recipe("tag-manager-tag")))).await;
    site.h.wait_ready().await;
    site.qualify().await;
    site.assert_nothing_stored_or_sent().await;
    assert_eq!(site.h.eval("leadscore.explain().consent").await, false);
    site.finish().await;
}
