//! End-to-end tests of lead delivery: the shipped widget in headless
//! Chromium posting qualified leads to a scripted endpoint on the same
//! loopback origin. The retry policy and the outbox are proven natively in
//! `tests/core_delivery.rs` and `tests/core_outbox.rs`; only here do real
//! `fetch` keepalive requests, HTTP answers and headers, dropped connections,
//! page reloads mid-request and Web Locks between windows meet them.
//!
//! Each test asserts what the endpoint received, as an idempotent receiver
//! sees it (one stored row per `lead_id`, the first body answered 2xx), and
//! prints a `RELIABILITY:` line with its figures, which RELIABILITY.md
//! quotes. Needs `cargo xtask build` output in `dist/` and Debian's chromium
//! and chromium-driver, like `tests/widget_e2e.rs`.

#![cfg(not(target_arch = "wasm32"))]

mod e2e;

use std::collections::BTreeSet;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use e2e::{page, Harness, Post, Reply, Tally, LOADER, WAIT};
use leadscore::core::lead::lead_id;
use leadscore::core::{Lead, Stage};
use serde_json::{json, Value};

const ENDPOINT: &str = "/v1/leads";

/// Retries a few hundred milliseconds apart, so a scenario with several
/// failures still ends in seconds.
const FAST: &str = r#"{"retry_base_seconds":0.2,"retry_cap_seconds":1,"max_attempts":20,"max_age_days":1}"#;

/// The longest FAST backoff is 1 s; three of them is the window in which a
/// retry that should not happen would have shown up.
const SETTLE: Duration = Duration::from_secs(3);

/// A site whose visitor becomes an MQL after two `track('x')` calls and
/// sales-ready after a `quote_request`. Points never decay, so the stage
/// does not depend on how fast the test runs.
fn config(site: &str, delivery: &str) -> String {
    format!(
        concat!(
            r#"{{"site":"{site}","consent":"implied","endpoint":"{endpoint}","#,
            r#""half_life_days":"never","mql_requires_identity":false,"#,
            r#""thresholds":{{"warm":5,"mql":10,"sales_ready":50}},"#,
            r#""rules":[{{"id":"x","on":"x","points":5}},{{"id":"quote","on":"quote_request","points":0}}],"#,
            r#""delivery":{delivery}}}"#
        ),
        site = site,
        endpoint = ENDPOINT,
        delivery = delivery
    )
}

/// Records the delivery callbacks from the first moment: `on()` calls made
/// before the module is ready are queued and replayed by the loader.
const WATCH: &str = r#"<script>
  window.__sent = []; window.__failed = [];
  leadscore.on('sent', function (report) { window.__sent.push(report) });
  leadscore.on('failed', function (report) { window.__failed.push(report) });
</script>"#;

/// Serves the site's page at `/<site>/` and returns that path.
fn serve_site(h: &Harness, site: &str, delivery: &str) -> String {
    let path = format!("/{site}/");
    let inline =
        format!(r#"<script type="application/json" id="leadscore-config">{}</script>"#, config(site, delivery));
    h.server.page(&path, &page(&format!(r#"<script src="{LOADER}"></script>{WATCH}"#), &inline));
    path
}

async fn open_ready(h: &Harness, path: &str) {
    h.open(path).await;
    h.wait_ready().await;
}

async fn visitor(h: &Harness) -> String {
    h.eval("leadscore.explain().visitor").await.as_str().expect("explain().visitor is a string").to_string()
}

/// Makes the page's visitor an MQL and returns the lead_id the widget must
/// use, computed natively from the same site, visitor and stage.
async fn qualify(h: &Harness, site: &str) -> String {
    h.eval("leadscore.track('x'), leadscore.track('x')").await;
    h.wait_for("the visitor to become an MQL", "leadscore.stage() === 'mql'").await;
    lead_id(site, &visitor(h).await, Stage::Mql)
}

async fn outbox(h: &Harness) -> Value {
    h.eval("leadscore.explain().outbox").await
}

/// The outbox bound holds and nothing was dropped: every scenario here has
/// at most two leads per visitor, far below the bound of 8.
async fn assert_outbox_bounded(h: &Harness) -> Value {
    let outbox = outbox(h).await;
    let pending = outbox["pending"].as_u64().unwrap_or(u64::MAX);
    assert!(pending <= 8, "more than 8 leads pending: {outbox}");
    assert_eq!(outbox["dropped"], json!(0), "a lead was dropped: {outbox}");
    outbox
}

/// Every body must be a lead the collector accepts, for the lead_id expected.
fn assert_leads(posts: &[Post], expected: &BTreeSet<String>) {
    for post in posts {
        let lead = Lead::from_json(&post.body)
            .unwrap_or_else(|err| panic!("the endpoint got a body the collector refuses: {err}\n{}", post.body));
        assert!(expected.contains(&lead.lead_id), "unexpected lead_id {} (expected {expected:?})", lead.lead_id);
    }
}

fn accepted(posts: &[Post], id: &str) -> bool {
    posts.iter().any(|post| post.accepted() && post.lead_id().as_deref() == Some(id))
}

/// Gaps between consecutive POSTs as the server saw them, in seconds.
fn gaps(posts: &[Post]) -> Vec<f64> {
    posts.windows(2).map(|pair| pair[1].at.duration_since(pair[0].at).as_secs_f64()).collect()
}

fn reliability(scenario: &str, tally: &Tally, figures: &str) {
    println!("RELIABILITY: {scenario}: {} {figures}", tally.summary());
}

// ---------------------------------------------------------------------------
// a. Server errors, then success
// ---------------------------------------------------------------------------

/// 503 three times, then 200: the lead arrives, the receiver stores it once,
/// the attempts back off, and `sent` fires once.
#[tokio::test]
async fn a_lead_retried_through_503s_is_stored_once() {
    const FAILURES: usize = 3;
    let h = Harness::start().await;
    let endpoint = h.server.endpoint(ENDPOINT);
    endpoint.script(std::iter::repeat_n(Reply::status(503), FAILURES));
    let path = serve_site(&h, "a", FAST);
    open_ready(&h, &path).await;
    let id = qualify(&h, "a").await;

    let posts = endpoint.wait_until("the lead to be accepted", WAIT, |posts| accepted(posts, &id)).await;
    h.wait_for("the sent callback", "window.__sent.length >= 1").await;
    endpoint.assert_at_most_until(FAILURES + 1, Instant::now() + SETTLE, "a delivered lead is sent again").await;
    h.settle().await;

    let tally = endpoint.tally();
    assert_eq!(tally.posts, FAILURES + 1, "{}", endpoint.log());
    let answers: Vec<_> = posts.iter().map(|post| post.answer).collect();
    assert_eq!(answers, [Some(503), Some(503), Some(503), Some(200)]);
    assert_leads(&posts, &BTreeSet::from([id.clone()]));
    assert_eq!(tally.stored.len(), 1);
    assert_eq!(tally.duplicates(), 0);
    for post in &posts {
        assert_eq!(post.header("content-type"), Some("text/plain;charset=UTF-8"), "a CORS-simple body by default");
    }
    // Equal jitter keeps at least half of each doubling delay: 0.1, 0.2, 0.4 s.
    let gaps = gaps(&posts);
    for (n, gap) in gaps.iter().enumerate() {
        let floor = 0.1 * f64::from(1u32 << n);
        assert!(*gap >= floor, "retry {} came {gap:.3}s after the previous attempt, before {floor}s", n + 1);
    }
    assert_eq!(h.eval("window.__sent").await, json!([{"lead_id": id, "stage": "mql", "status": 200}]));
    assert_eq!(h.eval("window.__failed").await, json!([]));
    assert_eq!(outbox(&h).await, json!({"pending": 0, "dropped": 0, "expired": 0, "rejected": 0}));
    assert_eq!(h.leadscore_lines().await, Vec::<String>::new());
    assert_eq!(h.errors().await, Vec::<String>::new());
    reliability("a (503 x3 then 200)", &tally, &format!("delivered=1/1 sent_callbacks=1 retry_gaps_s={gaps:.3?}"));
    h.finish().await;
}

/// With `"content_type": "application/json"` the body goes as JSON (a
/// same-origin endpoint needs no preflight for it).
#[tokio::test]
async fn a_json_content_type_is_sent_when_configured() {
    let h = Harness::start().await;
    let endpoint = h.server.endpoint(ENDPOINT);
    let path = serve_site(&h, "json", r#"{"content_type":"application/json"}"#);
    open_ready(&h, &path).await;
    let id = qualify(&h, "json").await;
    let posts = endpoint.wait_until("the lead to be accepted", WAIT, |posts| accepted(posts, &id)).await;
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].header("content-type"), Some("application/json"));
    assert_leads(&posts, &BTreeSet::from([id]));
    h.finish().await;
}

// ---------------------------------------------------------------------------
// b. Retry-After
// ---------------------------------------------------------------------------

/// 429 with `Retry-After: 30`: the backoff alone would retry after 0.1–0.2 s;
/// the header makes the second request wait at least 30 s (real time, by
/// the server's clock).
#[tokio::test]
async fn b_retry_after_in_seconds_is_a_minimum() {
    let h = Harness::start().await;
    let endpoint = h.server.endpoint(ENDPOINT);
    endpoint.script([Reply::status(429).header("Retry-After", "30")]);
    let path = serve_site(&h, "b", FAST);
    open_ready(&h, &path).await;
    let id = qualify(&h, "b").await;

    let first = endpoint.wait_for_posts(1, WAIT).await[0].at;
    let not_before = first + Duration::from_secs(30);
    endpoint.assert_at_most_until(1, not_before, "Retry-After: 30 was not honoured").await;
    let posts = endpoint.wait_until("the retry after 30 s", WAIT, |posts| accepted(posts, &id)).await;
    let gap = posts[1].at.duration_since(first);
    assert!(gap >= Duration::from_secs(30), "the retry came {gap:?} after the 429");
    assert_eq!(posts.len(), 2, "{}", endpoint.log());
    let tally = endpoint.tally();
    assert_eq!((tally.stored.len(), tally.duplicates()), (1, 0));
    assert_eq!(h.eval("window.__sent.length").await, json!(1));
    h.wait_for("the outbox to empty", "leadscore.explain().outbox.pending === 0").await;
    assert_outbox_bounded(&h).await;
    reliability("b (429, Retry-After: 30)", &tally, &format!("delivered=1/1 retry_gap_s={:.3}", gap.as_secs_f64()));
    h.finish().await;
}

/// The same with `Retry-After` as an HTTP date (IMF-fixdate), 31 s ahead
/// at whole seconds: the retry must not come before that instant.
#[tokio::test]
async fn b_retry_after_as_an_http_date_is_a_minimum() {
    let h = Harness::start().await;
    let endpoint = h.server.endpoint(ENDPOINT);
    let path = serve_site(&h, "b-date", FAST);
    open_ready(&h, &path).await;
    let until_unix = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() + 31;
    endpoint.script([Reply::status(503).header("Retry-After", &http_date(until_unix))]);
    let id = qualify(&h, "b-date").await;

    let first = endpoint.wait_for_posts(1, WAIT).await[0].at;
    let now_unix = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let not_before = Instant::now() + Duration::from_secs(until_unix).saturating_sub(now_unix);
    endpoint.assert_at_most_until(1, not_before, "Retry-After as a date was not honoured").await;
    let posts = endpoint.wait_until("the retry at the date", WAIT, |posts| accepted(posts, &id)).await;
    assert_eq!(posts.len(), 2, "{}", endpoint.log());
    let gap = posts[1].at.duration_since(first);
    assert!(posts[1].at >= not_before, "the retry came before the Retry-After date");
    h.wait_for("the outbox to empty", "leadscore.explain().outbox.pending === 0").await;
    assert_outbox_bounded(&h).await;
    let tally = endpoint.tally();
    assert_eq!((tally.stored.len(), tally.duplicates()), (1, 0));
    reliability(
        "b (503, Retry-After: HTTP date +30-31 s)",
        &tally,
        &format!("delivered=1/1 retry_gap_s={:.3}", gap.as_secs_f64()),
    );
    h.finish().await;
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` for seconds since the epoch.
fn http_date(unix: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let (days, secs) = (unix / 86_400, unix % 86_400);
    let (year, month, day) = leadscore::core::time::civil_from_days(days);
    format!(
        "{}, {day:02} {} {year} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[test]
fn http_dates_are_imf_fixdates() {
    assert_eq!(http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
    assert_eq!(http_date(1_767_225_600), "Thu, 01 Jan 2026 00:00:00 GMT");
    assert_eq!(http_date(1_709_164_800), "Thu, 29 Feb 2024 00:00:00 GMT");
}

// ---------------------------------------------------------------------------
// c. Refused
// ---------------------------------------------------------------------------

/// 400: one attempt and never another (the endpoint would accept a retry,
/// so one would show), `failed` with reason "rejected", one console line.
#[tokio::test]
async fn c_a_refused_lead_is_tried_once() {
    let h = Harness::start().await;
    let endpoint = h.server.endpoint(ENDPOINT);
    endpoint.script([Reply::status(400)]);
    let path = serve_site(&h, "c", FAST);
    open_ready(&h, &path).await;
    let id = qualify(&h, "c").await;

    let first = endpoint.wait_for_posts(1, WAIT).await[0].at;
    h.wait_for("the failed callback", "window.__failed.length >= 1").await;
    endpoint.assert_at_most_until(1, first + SETTLE, "a refused lead was retried").await;
    h.settle().await;
    assert_eq!(
        h.eval("window.__failed").await,
        json!([{"lead_id": id, "stage": "mql", "status": 400, "reason": "rejected"}])
    );
    assert_eq!(h.eval("window.__sent").await, json!([]));
    assert_eq!(h.leadscore_lines().await, vec![format!("leadscore: lead {id} refused: HTTP 400")]);
    assert_eq!(outbox(&h).await, json!({"pending": 0, "dropped": 0, "expired": 0, "rejected": 1}));

    // Nor at the next page load.
    h.reload().await;
    h.wait_ready().await;
    endpoint
        .assert_at_most_until(1, Instant::now() + Duration::from_secs(1), "a refused lead was sent on reload")
        .await;
    let tally = endpoint.tally();
    assert_eq!((tally.posts, tally.stored.len()), (1, 0));
    reliability("c (400)", &tally, "attempts=1 failed_callbacks=1 reason=rejected console_lines=1");
    h.finish().await;
}

// ---------------------------------------------------------------------------
// d. Offline, then online
// ---------------------------------------------------------------------------

/// Retries so slow that none fires during the test (the first comes after
/// at least 5 minutes): a lead that arrives was sent by the `online` event
/// or by the page load, the two ways the contract says leads go at once.
const SLOW: &str = r#"{"retry_base_seconds":600,"retry_cap_seconds":3600,"max_attempts":20,"max_age_days":7}"#;

/// "At once": a page load here starts the widget in well under a second.
const AT_ONCE: Duration = Duration::from_secs(5);

/// 20 visitors of 20 sites on one origin qualify while every connection to
/// the endpoint is dropped; once it answers again, the open page's lead goes
/// on the `online` event and every other site's at its next page load. A
/// visitor has at most one lead per stage, and an MQL lead still waiting is
/// superseded by a sales-ready one, so each site contributes one lead.
#[tokio::test]
async fn d_leads_queued_offline_are_all_delivered_once_online() {
    const SITES: usize = 20;
    let h = Harness::start().await;
    let endpoint = h.server.endpoint(ENDPOINT);
    endpoint.set_mode(Reply::Offline);
    let mut sites = Vec::new();
    let mut max_pending = 0;
    for n in 1..=SITES {
        let site = format!("e2e-{n}");
        let path = serve_site(&h, &site, SLOW);
        open_ready(&h, &path).await;
        let id = qualify(&h, &site).await;
        endpoint
            .wait_until(&format!("{site}'s first (dropped) attempt"), WAIT, |posts| {
                posts.iter().any(|post| post.lead_id().as_deref() == Some(id.as_str()))
            })
            .await;
        h.wait_for("the failed attempt to be recorded", "leadscore.explain().outbox.pending === 1").await;
        max_pending = max_pending.max(assert_outbox_bounded(&h).await["pending"].as_u64().unwrap_or(0));
        sites.push((site, path, id));
    }
    let offline = endpoint.tally();
    assert_eq!(offline.stored.len(), 0, "nothing can be stored while offline");

    // Every miss is noted and the run goes on, so the figures cover all 20.
    let mut late = Vec::new();
    let mut latencies = Vec::new();
    endpoint.set_mode(Reply::status(200));
    let (open_site, _, open_id) = sites.last().expect("sites").clone();
    let back = Instant::now();
    h.eval("window.dispatchEvent(new Event('online'))").await;
    match endpoint.poll_until(AT_ONCE, |posts| accepted(posts, &open_id)).await {
        Some(_) => {
            latencies.push(back.elapsed());
            h.wait_for("the outbox to empty", "leadscore.explain().outbox.pending === 0").await;
            assert_eq!(h.eval("window.__sent.length").await, json!(1), "{open_site}: one sent callback");
        }
        None => late.push(format!("{open_site} (online event): {}", outbox(&h).await)),
    }
    for (site, path, id) in &sites[..SITES - 1] {
        let opened = Instant::now();
        open_ready(&h, path).await;
        match endpoint.poll_until(AT_ONCE, |posts| accepted(posts, id)).await {
            Some(_) => {
                latencies.push(opened.elapsed());
                h.wait_for("the outbox to empty", "leadscore.explain().outbox.pending === 0").await;
                assert_eq!(h.eval("window.__sent.length").await, json!(1), "{site}: one sent callback");
            }
            None => late.push(format!("{site} (page load): {}", outbox(&h).await)),
        }
        max_pending = max_pending.max(assert_outbox_bounded(&h).await["pending"].as_u64().unwrap_or(0));
    }
    endpoint.assert_at_most_until(endpoint.count(), Instant::now() + Duration::from_secs(1), "a lead was resent").await;

    let tally = endpoint.tally();
    let slowest = latencies.iter().max().copied().unwrap_or_default();
    reliability(
        "d (offline while 20 visitors qualify, then online)",
        &tally,
        &format!(
            "delivered={}/{SITES} dropped_offline_attempts={} max_pending={max_pending} dropped=0 \
             slowest_online_or_load_to_stored_s={:.3} not_sent_at_once={}",
            tally.stored.len(),
            offline.posts,
            slowest.as_secs_f64(),
            late.len()
        ),
    );
    assert!(
        late.is_empty(),
        "{} of {SITES} pending leads were not sent within {AT_ONCE:?} of the online event or the page load \
         (the next retry is minutes away); their outboxes:\n{}\n{}",
        late.len(),
        late.join("\n"),
        endpoint.log()
    );
    let expected: BTreeSet<String> = sites.iter().map(|(_, _, id)| id.clone()).collect();
    assert_leads(&endpoint.posts(), &expected);
    assert_eq!(tally.stored.keys().cloned().collect::<BTreeSet<_>>(), expected, "{}", endpoint.log());
    assert_eq!(tally.duplicates(), 0, "{}", endpoint.log());
    h.finish().await;
}

// ---------------------------------------------------------------------------
// e. Reload while in flight
// ---------------------------------------------------------------------------

/// The endpoint holds the first request open; the visitor reloads. The new
/// page sends the lead again under the same lead_id (the old page never saw
/// an answer), and the receiver stores one row. A lead in flight at page
/// hide is not also handed to `sendBeacon`: exactly two POSTs, both `fetch`.
#[tokio::test]
async fn e_a_lead_in_flight_at_reload_is_resent_and_stored_once() {
    let h = Harness::start().await;
    let endpoint = h.server.endpoint(ENDPOINT);
    endpoint.set_mode(Reply::Hold(200));
    let path = serve_site(&h, "e", FAST);
    open_ready(&h, &path).await;
    let id = qualify(&h, "e").await;
    endpoint.wait_for_posts(1, WAIT).await;
    endpoint.wait_until("the first request to be held", WAIT, |_| endpoint.held() == 1).await;

    h.reload().await;
    h.wait_ready().await;
    let posts = endpoint.wait_for_posts(2, WAIT).await;
    assert_eq!(posts[1].lead_id(), Some(id.clone()), "the new page resends the same lead_id");
    endpoint.set_mode(Reply::status(200));
    endpoint.release();
    h.wait_for("the new page's sent callback", "window.__sent.length >= 1").await;
    h.wait_for("the outbox to empty", "leadscore.explain().outbox.pending === 0").await;
    endpoint.assert_at_most_until(2, Instant::now() + SETTLE, "a delivered lead was sent again").await;
    endpoint.wait_until("both held requests to be answered", WAIT, |_| endpoint.held() == 0).await;

    let posts = endpoint.posts();
    assert_leads(&posts, &BTreeSet::from([id.clone()]));
    let via: Vec<_> = posts.iter().map(Post::via).collect();
    assert_eq!(via, ["fetch", "fetch"], "{}", endpoint.log());
    let tally = endpoint.tally();
    assert_eq!(tally.distinct(), 1);
    assert_eq!(tally.stored.len(), 1, "{}", endpoint.log());
    assert_eq!(h.eval("window.__sent").await, json!([{"lead_id": id, "stage": "mql", "status": 200}]));
    assert_outbox_bounded(&h).await;
    // Both requests were answered 200 when released; the first one's answer
    // went to a page that no longer exists, so the receiver absorbs it.
    reliability(
        "e (reload while the request is held)",
        &tally,
        &format!("delivered=1/1 same_lead_id_resent={}", tally.resent()),
    );
    h.finish().await;
}

// ---------------------------------------------------------------------------
// f. Two tabs at the same moment
// ---------------------------------------------------------------------------

/// Two windows of one site and visitor reach MQL at the same instant, 100
/// times (`LEADSCORE_E2E_TAB_RUNS` overrides the count), each run on a fresh
/// site so storage starts empty. Web Locks must keep the tabs from sending
/// the same lead twice: one stored row per lead_id and no duplicate 2xx.
#[tokio::test]
async fn f_two_tabs_qualifying_together_send_each_lead_once() {
    let runs: usize = std::env::var("LEADSCORE_E2E_TAB_RUNS").ok().and_then(|n| n.parse().ok()).unwrap_or(100);
    let started = Instant::now();
    let h = Harness::start().await;
    let endpoint = h.server.endpoint(ENDPOINT);
    let first = h.current_window().await;
    let second = h.new_window().await;
    let mut expected = BTreeSet::new();
    let mut sent_callbacks = 0;
    for run in 0..runs {
        let site = format!("tabs-{run}");
        let path = serve_site(&h, &site, FAST);
        h.switch_to(&first).await;
        open_ready(&h, &path).await;
        // The second tab must find the visitor stored, to adopt it.
        h.wait_for("the visitor to be stored", &format!("localStorage.getItem('leadscore:{site}') !== null")).await;
        let visitor_first = visitor(&h).await;
        h.switch_to(&second).await;
        open_ready(&h, &path).await;
        assert_eq!(visitor(&h).await, visitor_first, "run {run}: the second tab adopts the stored visitor");
        assert_eq!(h.eval("document.visibilityState").await, json!("visible"));

        // Both tabs qualify at one agreed instant of the shared clock.
        let at = h.eval("Date.now() + 300").await;
        let schedule =
            format!("setTimeout(function () {{ leadscore.track('x'); leadscore.track('x') }}, {at} - Date.now())");
        h.eval(&schedule).await;
        h.switch_to(&first).await;
        h.eval(&schedule).await;

        let id = lead_id(&site, &visitor_first, Stage::Mql);
        endpoint.wait_until(&format!("run {run}: the lead to be accepted"), WAIT, |posts| accepted(posts, &id)).await;
        for window in [&first, &second] {
            h.switch_to(window).await;
            h.wait_for("both tabs to see the lead delivered", "leadscore.explain().outbox.pending === 0").await;
            assert_eq!(h.eval("leadscore.stage()").await, json!("mql"));
            assert_outbox_bounded(&h).await;
            sent_callbacks += h.eval("window.__sent.length").await.as_u64().unwrap_or(0);
        }
        expected.insert(id);
    }
    let tally = endpoint.tally();
    reliability(
        &format!("f (two tabs qualifying together, {runs} runs)"),
        &tally,
        &format!(
            "delivered={}/{runs} same_lead_id_posted_twice={} sent_callbacks={sent_callbacks} elapsed_s={:.1}",
            tally.stored.len(),
            tally.resent(),
            started.elapsed().as_secs_f64()
        ),
    );
    assert_leads(&endpoint.posts(), &expected);
    assert_eq!(tally.stored.len(), runs, "{}", endpoint.log());
    assert_eq!(tally.duplicates(), 0, "a lead_id was accepted twice\n{}", endpoint.log());
    assert_eq!(sent_callbacks, runs as u64, "one sent callback per lead, in one of the two tabs");
    h.finish().await;
}

// ---------------------------------------------------------------------------
// g. Expiry
// ---------------------------------------------------------------------------

/// Offline for good with `max_attempts: 3`: three attempts, then the lead is
/// given up: `explain().outbox.expired` is 1 and `failed` says "expired".
#[tokio::test]
async fn g_a_lead_expires_after_max_attempts() {
    let h = Harness::start().await;
    let endpoint = h.server.endpoint(ENDPOINT);
    endpoint.set_mode(Reply::Offline);
    let path =
        serve_site(&h, "g", r#"{"retry_base_seconds":0.2,"retry_cap_seconds":1,"max_attempts":3,"max_age_days":7}"#);
    open_ready(&h, &path).await;
    let id = qualify(&h, "g").await;
    h.wait_for("the failed callback", "window.__failed.length >= 1").await;
    endpoint.assert_at_most_until(3, Instant::now() + SETTLE, "an expired lead was sent again").await;
    assert_eq!(
        h.eval("window.__failed").await,
        json!([{"lead_id": id, "stage": "mql", "status": null, "reason": "expired"}])
    );
    assert_eq!(outbox(&h).await, json!({"pending": 0, "dropped": 0, "expired": 1, "rejected": 0}));
    let lines = h.leadscore_lines().await;

    // Expired is final: back online, a reload sends nothing.
    endpoint.set_mode(Reply::status(200));
    h.reload().await;
    h.wait_ready().await;
    endpoint
        .assert_at_most_until(3, Instant::now() + Duration::from_secs(1), "an expired lead was sent on reload")
        .await;
    let tally = endpoint.tally();
    assert_eq!(tally.posts, 3, "max_attempts: 3 means three POSTs\n{}", endpoint.log());
    assert_leads(&endpoint.posts(), &BTreeSet::from([id]));
    reliability("g (offline, max_attempts 3)", &tally, &format!("attempts=3 expired=1 reason=expired lines={lines:?}"));
    h.finish().await;
}

/// Offline with a 2-second `max_age_days`: retrying stops once the next
/// attempt would fall past the lead's age bound.
#[tokio::test]
async fn g_a_lead_expires_after_max_age() {
    let h = Harness::start().await;
    let endpoint = h.server.endpoint(ENDPOINT);
    endpoint.set_mode(Reply::Offline);
    let max_age = Duration::from_secs(2);
    let delivery = format!(
        r#"{{"retry_base_seconds":0.2,"retry_cap_seconds":0.4,"max_attempts":1000,"max_age_days":{}}}"#,
        max_age.as_secs_f64() / 86_400.0
    );
    let path = serve_site(&h, "g-age", &delivery);
    open_ready(&h, &path).await;
    let id = qualify(&h, "g-age").await;
    h.wait_for("the failed callback", "window.__failed.length >= 1").await;
    let posts = endpoint.posts();
    endpoint.assert_at_most_until(posts.len(), Instant::now() + SETTLE, "an expired lead was sent again").await;
    assert_eq!(
        h.eval("window.__failed").await,
        json!([{"lead_id": id, "stage": "mql", "status": null, "reason": "expired"}])
    );
    assert_eq!(outbox(&h).await, json!({"pending": 0, "dropped": 0, "expired": 1, "rejected": 0}));
    let span = posts.last().expect("posts").at.duration_since(posts[0].at);
    assert!(span <= max_age, "an attempt came {span:?} after the first, past max_age");
    assert!(posts.len() >= 3, "retries every 0.1–0.4 s for 2 s: {}", endpoint.log());
    reliability(
        "g (offline, max_age 2 s)",
        &endpoint.tally(),
        &format!("attempts={} span_s={:.3} expired=1 reason=expired", posts.len(), span.as_secs_f64()),
    );
    h.finish().await;
}
