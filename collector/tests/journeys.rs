//! Visitor journeys through the demo site in headless Chromium, against this
//! collector serving the site (`www/demo/`), the widget (`dist/` under
//! `/dist/`) and the dashboard, as `cargo xtask demo` serves them. Each
//! journey clicks and types as a visitor does and then asserts what the
//! collector stored: the rows, their ledgers and their verdicts.
//!
//! Screenshots of the stages a visitor sees are kept in
//! `target/e2e-artifacts/`; `cargo xtask screenshots` copies the README's
//! from there.

#[path = "../../tests/e2e/mod.rs"]
mod e2e;

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use leadscore::core::Stage;
use leadscore_collector::store::{LeadFilter, LeadRow, Verdict};
use serde_json::Value;

use common::{eventually, temp_dir, Collector, TOKEN};
use e2e::{Harness, Site};

/// The widget's storage key on the demo site.
const KEY: &str = "leadscore:demo";

/// Every request a page makes with a body, kept in `sessionStorage` so it
/// survives navigation: `fetch` POSTs and beacons. Installed before the
/// page's own scripts on every page of a journey.
const SPY: &str = r#"(function () {
  function note(url) {
    try {
      var sent = JSON.parse(sessionStorage.getItem('e2e:sent') || '[]');
      sent.push(String(url));
      sessionStorage.setItem('e2e:sent', JSON.stringify(sent));
    } catch (e) {}
  }
  var fetch = window.fetch;
  window.fetch = function (input, init) {
    var method = (init && init.method) || (input && input.method) || 'GET';
    if (String(method).toUpperCase() !== 'GET') note(input && input.url || input);
    return fetch.apply(this, arguments);
  };
  if (navigator.sendBeacon) {
    var beacon = navigator.sendBeacon.bind(navigator);
    navigator.sendBeacon = function (url, data) { note(url); return beacon(url, data); };
  }
})();"#;

/// Moves the page's clock two hours back, so a visit made under it is an
/// earlier session (sessions end after 30 idle minutes).
const TWO_HOURS_AGO: &str = r#"(function () {
  var now = Date.now;
  Date.now = function () { return now() - 2 * 60 * 60 * 1000; };
})();"#;

/// The demo site on a collector, laid out as `cargo xtask demo` does.
struct Demo {
    collector: Collector,
}

impl Site for Demo {
    fn url(&self, path: &str) -> String {
        self.collector.url(path)
    }

    fn describe(&self) -> String {
        let rows: Vec<String> =
            self.rows().iter().map(|row| format!("{} {} {}", row.lead_id, row.stage, row.verdict.as_str())).collect();
        format!("stored leads: {rows:#?}")
    }
}

impl Demo {
    async fn start() -> Demo {
        let dir = temp_dir();
        let public = dir.join("public");
        copy_tree(&e2e::root().join("www/demo"), &public);
        copy_tree(&e2e::dist_dir(), &public.join("dist"));
        // Pages and collector share one origin; `*` is what `--site` gives too.
        let site = e2e::root().join("www/demo/site.json");
        let settings =
            format!("public_dir = \"public\"\n[[sites]]\nconfig = \"{}\"\norigins = [\"*\"]\n", site.display());
        Demo { collector: Collector::launch_now(dir, &settings).await }
    }

    /// The stored leads, newest first.
    fn rows(&self) -> Vec<LeadRow> {
        let running = self.collector.running.as_ref().expect("running");
        running.app.store.leads(&LeadFilter::default()).expect("the store answers")
    }

    /// Waits until `n` leads are stored; returns them, oldest first.
    async fn wait_for_rows(&self, n: usize) -> Vec<LeadRow> {
        let mut rows = eventually(&format!("{n} stored leads"), || async {
            let rows = self.rows();
            (rows.len() >= n).then_some(rows)
        })
        .await;
        rows.reverse();
        assert_eq!(rows.len(), n, "{}", self.describe());
        rows
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A browser on a fresh demo collector, with the request spy installed.
async fn visit() -> Harness<Demo> {
    let h = Harness::on(Demo::start().await).await;
    h.browser.client.set_window_size(1024, 680).await.expect("window size");
    h.on_every_page(SPY).await;
    h
}

/// Opens `path` and waits for the widget.
async fn open(h: &Harness<Demo>, path: &str) {
    h.open(path).await;
    h.wait_for(
        &format!("the widget on {path}"),
        "window.leadscore && leadscore.explain && leadscore.explain() !== null",
    )
    .await;
}

/// Answers the demo's consent banner on the current page.
async fn answer_banner(h: &Harness<Demo>, accept: bool) {
    h.wait_for("the consent banner", "document.getElementById('consent').classList.contains('open')").await;
    h.click(if accept { "#consent-yes" } else { "#consent-no" }).await;
    let consent = if accept { "true" } else { "false" };
    h.wait_for("the widget to take the answer", &format!("leadscore.explain().consent === {consent}")).await;
}

/// What the page's requests with a body went to.
async fn sent(h: &Harness<Demo>) -> Vec<String> {
    h.list("JSON.parse(sessionStorage.getItem('e2e:sent') || '[]')").await
}

/// The widget's ledger: rule → matches.
async fn ledger(h: &Harness<Demo>) -> BTreeMap<String, u64> {
    let explained = h.eval("leadscore.explain()").await;
    explained["ledger"].as_array().expect("a ledger").iter().map(|entry| (rule(entry), count(entry))).collect()
}

fn rule(entry: &Value) -> String {
    entry["rule"].as_str().expect("a rule id").to_string()
}

fn count(entry: &Value) -> u64 {
    entry["count"].as_u64().expect("a count")
}

/// A stored lead's ledger as received: rule → (points, matches).
fn stored_ledger(row: &LeadRow) -> BTreeMap<String, (f64, u64)> {
    let lead = row.lead().expect("the stored payload is a lead");
    lead.ledger.iter().map(|entry| (entry.rule_id.clone(), (entry.points, u64::from(entry.count)))).collect()
}

/// The row holds up: the collector's replay reached the claimed stage and
/// score.
fn assert_verified(row: &LeadRow, stage: Stage) {
    assert_eq!(row.stage, stage, "claimed stage of {}", row.lead_id);
    assert_eq!(row.verified_stage, stage, "verified stage of {}", row.lead_id);
    assert_eq!(row.verdict, Verdict::Verified, "{}", row.lead_id);
    assert!(
        (row.claimed_score - row.verified_score).abs() < 0.01,
        "claimed {} but the replay reached {}",
        row.claimed_score,
        row.verified_score
    );
}

/// Browses home, product and the blog with consent: a cold visitor, whose
/// record is kept in the browser and never sent.
#[tokio::test]
async fn anonymous_browsing_of_three_pages_posts_nothing() {
    let h = visit().await;
    open(&h, "/").await;
    answer_banner(&h, true).await;
    open(&h, "/product.html").await;
    open(&h, "/blog/").await;
    h.wait_for("the record to be stored", &format!("localStorage.getItem('{KEY}') !== null")).await;
    assert_eq!(h.eval("leadscore.stage()").await, "cold");

    h.open("/privacy.html").await; // leaving the blog flushes anything due
    h.settle().await;
    assert_eq!(sent(&h).await, Vec::<String>::new());
    assert!(h.server.rows().is_empty(), "{}", h.server.describe());
    assert_eq!(h.errors().await, Vec::<String>::new());
    h.finish().await;
}

/// Reads the blog post and downloads the whitepaper, then leaves: the
/// download is in the ledger, which is not an MQL, so nothing is sent.
#[tokio::test]
async fn a_curious_whitepaper_download_is_not_an_mql() {
    let h = visit().await;
    open(&h, "/blog/scoring-in-the-browser.html").await;
    answer_banner(&h, true).await;
    h.click("a[href$='.pdf']").await;

    // The PDF may replace the page; the record carries on to the next one.
    open(&h, "/").await;
    assert_eq!(ledger(&h).await.get("content-download"), Some(&1));
    assert_eq!(h.eval("leadscore.stage()").await, "cold");
    leave(&h).await;

    open(&h, "/privacy.html").await;
    assert_eq!(sent(&h).await, Vec::<String>::new());
    assert!(h.server.rows().is_empty(), "{}", h.server.describe());
    h.finish().await;
}

/// Leaves the site, as closing the tab does: the page is hidden and
/// unloaded, which sends whatever is due.
async fn leave(h: &Harness<Demo>) {
    h.browser.client.goto("about:blank").await.expect("about:blank");
}

/// The journey the README describes, in two sessions: a first look two
/// hours earlier, then a return with three pricing views, a wishlist and
/// the newsletter. Exactly one MQL is stored, verified; a quote request
/// then sends the same visitor's sales-ready lead.
#[tokio::test]
async fn a_returning_visitor_becomes_one_verified_mql_then_sales_ready() {
    let h = visit().await;
    let earlier = h.on_every_page(TWO_HOURS_AGO).await;
    open(&h, "/").await;
    answer_banner(&h, true).await;
    open(&h, "/product.html").await;
    h.not_on_new_pages(&earlier).await;

    open(&h, "/").await;
    assert_eq!(ledger(&h).await.get("repeat-visit"), Some(&2), "the return is a second visit");
    assert_eq!(h.eval("document.querySelector('.ready').offsetParent === null").await, true);
    h.screenshot("demo-home").await;
    for _ in 0..3 {
        open(&h, "/pricing.html").await;
    }
    open(&h, "/shop/hoodie.html").await;
    h.click("[data-leadscore-event='wishlist_add']").await;
    open(&h, "/").await;
    assert_eq!(h.eval("leadscore.stage()").await, "warm");
    h.type_into("form.inline input[name='email']", "dana@acme-industries.example").await;
    h.click("form.inline button").await;
    h.wait_for("the MQL banner", "document.querySelector('.ready').offsetParent !== null").await;
    h.eval("window.scrollTo(0, 0)").await;
    h.screenshot("demo-mql-banner").await;

    let rows = h.server.wait_for_rows(1).await;
    let mql = &rows[0];
    assert_verified(mql, Stage::Mql);
    assert_eq!(mql.email.as_deref(), Some("dana@acme-industries.example"));
    let stored = stored_ledger(mql);
    let rules: Vec<&str> = stored.keys().map(String::as_str).collect();
    assert_eq!(rules, ["form-fill", "newsletter", "pricing-3x", "pricing-view", "repeat-visit", "wishlist"]);
    assert_eq!(stored["pricing-view"].1, 3);
    assert_eq!(stored["repeat-visit"].1, 2);
    let points: f64 = stored.values().map(|(points, _)| points).sum();
    assert!((points - mql.claimed_score).abs() < 0.01, "ledger {stored:?} against score {}", mql.claimed_score);

    open(&h, "/contact.html").await;
    h.type_into("input[name='name']", "Dana Reyes").await;
    h.type_into("input[name='email']", "dana@acme-industries.example").await;
    h.type_into("input[name='company']", "Acme Industries").await;
    h.type_into("input[name='job_title']", "Head of Marketing").await;
    h.click("form.stack button").await;
    h.wait_for("sales_ready", "leadscore.stage() === 'sales_ready'").await;

    let rows = h.server.wait_for_rows(2).await;
    let sales_ready = &rows[1];
    assert_verified(sales_ready, Stage::SalesReady);
    assert_ne!(sales_ready.lead_id, mql.lead_id, "each stage is its own lead");
    assert_eq!(sales_ready.visitor_id, mql.visitor_id, "linked to the same visitor");
    assert!(stored_ledger(sales_ready).contains_key("quote-request"));
    assert_eq!(h.server.rows().iter().filter(|row| row.stage == Stage::Mql).count(), 1, "still one MQL");
    let posts = sent(&h).await;
    assert_eq!(posts.iter().filter(|url| url.ends_with("/v1/leads")).count(), 2, "one post per stage: {posts:?}");

    open(&h, "/pricing.html?leadscore-debug").await;
    let in_view = "(function (rect) { return rect.height > 0 && rect.top >= 0 && rect.bottom <= innerHeight })\
                   (document.querySelector('leadscore-debug').getBoundingClientRect())";
    h.wait_for("the debug overlay in the corner of the window", in_view).await;
    h.screenshot("debug-overlay").await;

    h.browser.client.set_window_size(1280, 900).await.expect("window size"); // the dashboard's three columns
    h.open("/admin/login").await;
    h.type_into("input[name='token']", TOKEN).await;
    h.click("form button").await;
    h.wait_for("the dashboard", "document.body.textContent.indexOf('dana@acme-industries.example') >= 0").await;
    h.screenshot("dashboard").await;
    assert_eq!(h.errors().await, Vec::<String>::new());
    h.finish().await;
}

/// A careers-page visitor who still qualifies: the careers rule's negative
/// points travel in the stored ledger and the replay agrees with them.
#[tokio::test]
async fn a_careers_visit_shows_its_negative_points_in_the_ledger() {
    let h = visit().await;
    open(&h, "/careers.html").await;
    answer_banner(&h, true).await;
    for _ in 0..3 {
        open(&h, "/pricing.html").await;
    }
    open(&h, "/product.html").await;
    h.click("a[href$='trial.zip']").await;
    open(&h, "/product.html").await;
    h.click("[data-demo-toggle='Filter applied ✓']").await;
    h.click("[data-demo-toggle='Report exported ✓']").await;
    open(&h, "/").await;
    h.type_into("form.inline input[name='email']", "sam@globex.example").await;
    h.click("form.inline button").await;

    let rows = h.server.wait_for_rows(1).await;
    assert_verified(&rows[0], Stage::Mql);
    let (points, matches) = stored_ledger(&rows[0])["careers"];
    assert_eq!(matches, 1);
    assert!((points + 15.0).abs() < 0.01, "careers holds {points}");
    h.finish().await;
}

/// A single-page app changes the URL with the History API: each new path is
/// a page view, going back is one too, and the pricing rules see them.
#[tokio::test]
async fn single_page_navigation_counts_page_views() {
    let h = visit().await;
    open(&h, "/").await;
    answer_banner(&h, true).await;
    h.eval("history.pushState({}, '', '/pricing.html')").await;
    h.eval("history.pushState({}, '', '/product.html')").await;
    h.eval("history.back()").await;
    h.wait_for("the popstate to /pricing.html", "location.pathname === '/pricing.html'").await;
    h.wait_for(
        "two pricing views",
        "leadscore.explain().ledger.some(function (e) { return e.rule === 'pricing-view' && e.count === 2 })",
    )
    .await;
    h.eval("history.replaceState({}, '', '/pricing.html')").await; // the same path: not a new view
    h.eval("history.pushState({}, '', '/pricing.html?plan=team')").await; // nor is a new query
    h.eval("history.pushState({}, '', '/product.html')").await;
    h.eval("history.pushState({}, '', '/pricing.html')").await;

    let counts = ledger(&h).await;
    assert_eq!(counts.get("pricing-view"), Some(&3), "{counts:?}");
    assert_eq!(counts.get("pricing-3x"), Some(&3), "{counts:?}");
    h.finish().await;
}

/// Declining the banner: nothing is stored and nothing is sent, however
/// much the visitor does.
#[tokio::test]
async fn declined_consent_stores_and_sends_nothing() {
    let h = visit().await;
    open(&h, "/").await;
    answer_banner(&h, false).await;
    for path in ["/pricing.html", "/pricing.html", "/pricing.html", "/contact.html"] {
        open(&h, path).await;
    }
    h.type_into("input[name='email']", "lee@initech.example").await;
    h.click("form.stack button").await;
    h.settle().await;
    leave(&h).await;

    open(&h, "/privacy.html").await;
    assert_eq!(h.eval(&format!("localStorage.getItem('{KEY}')")).await, Value::Null);
    assert_eq!(sent(&h).await, Vec::<String>::new());
    assert!(h.server.rows().is_empty(), "{}", h.server.describe());
    h.finish().await;
}

/// Accepting and then declining in the banner's settings removes the
/// widget's key at once.
#[tokio::test]
async fn withdrawn_consent_removes_the_key() {
    let h = visit().await;
    open(&h, "/").await;
    answer_banner(&h, true).await;
    open(&h, "/pricing.html").await;
    h.wait_for("the record to be stored", &format!("localStorage.getItem('{KEY}') !== null")).await;

    h.click("#consent-settings").await;
    answer_banner(&h, false).await;
    h.wait_for("the key to be removed", &format!("localStorage.getItem('{KEY}') === null")).await;
    open(&h, "/product.html").await;
    h.settle().await;
    assert_eq!(h.eval(&format!("localStorage.getItem('{KEY}')")).await, Value::Null);
    assert_eq!(sent(&h).await, Vec::<String>::new());
    h.finish().await;
}

/// The Insights page on the demo's generated history, as a site owner reads
/// it: the lift chart names the rule that was planted to predict winning,
/// the source chart and the funnel over time are drawn, and a what-if typed
/// into the form shows beside the live figures.
#[tokio::test]
async fn the_insights_page_shows_what_converts_and_tries_a_rule_set() {
    use leadscore_collector::insights::seed_history;
    let h = visit().await;
    let running = h.server.collector.running.as_ref().expect("running");
    let config = running.app.settings.sites["demo"].config.clone();
    let seeded = seed_history(running.app.store.as_ref(), &config, 400, 7, h.server.collector.clock.now()).unwrap();
    assert!(seeded.stored > 100, "{seeded:?}");

    h.browser.client.set_window_size(1280, 1000).await.expect("window size");
    h.open("/admin/login").await;
    h.type_into("input[name='token']", TOKEN).await;
    h.click("form button").await;
    h.wait_for("the dashboard", "document.querySelector('header nav a[href=\"/admin/insights\"]') !== null").await;
    h.open("/admin/insights?site=demo").await;
    h.wait_for("the insights page", "document.body.textContent.indexOf('Lift per rule') >= 0").await;
    let visitors = format!("document.body.textContent.indexOf('{} qualified visitors') >= 0", seeded.stored);
    h.wait_for("the visitor count", &visitors).await;
    let charts = h.eval("document.querySelectorAll('.card svg').length").await;
    assert!(charts.as_u64().unwrap_or(0) >= 3, "three charts: {charts}");
    let lift = h.eval("document.querySelector('.card svg').textContent").await;
    assert!(lift.as_str().unwrap_or("").contains("demo-use"), "the lift chart names the planted rule: {lift}");
    h.screenshot("insights").await;

    let candidate = r#"{"site":"demo","preset":"b2b-saas","endpoint":"/v1/leads","thresholds":{"warm":20,"mql":70,"sales_ready":90}}"#;
    h.type_into("textarea[name='rule_set']", candidate).await;
    h.click("form[action^='/admin/insights/what-if'] button").await;
    h.wait_for("the what-if answer", "document.body.textContent.indexOf('live rule set') >= 0").await;
    let answer = h.eval("document.body.textContent").await;
    let text = answer.as_str().unwrap_or("");
    assert!(text.contains("change stage") && text.contains("Suggestions under the candidate"), "{text}");
    h.eval("document.querySelector('textarea[name=rule_set]').scrollIntoView()").await;
    h.screenshot("insights-what-if").await;
    let store = &h.server.collector.running.as_ref().expect("running").app.store;
    let total = store.stats(h.server.collector.clock.now(), 1).expect("the store answers").total;
    assert_eq!(total, seeded.stored, "a what-if changes nothing");
    assert_eq!(h.errors().await, Vec::<String>::new());
    h.finish().await;
}
