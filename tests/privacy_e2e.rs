//! Privacy, proven on the shipped widget in headless Chromium: for each
//! reason not to track — no consent, TCF purpose 1 refused, Consent Mode
//! `analytics_storage` denied, Global Privacy Control, Do Not Track — the
//! page gets zero storage writes and zero requests while the visitor does
//! everything that would qualify them. Granting later starts tracking,
//! withdrawing deletes our key within a second, values typed into fields
//! the widget must not read appear in no payload, query strings are
//! stripped, `forget()` asks the collector to erase a sent lead, and the
//! `data-leadscore-privacy` panel shows and erases the visitor's data.
//! Needs `cargo xtask build` output in `dist/`, like the other e2e suites.

#![cfg(not(target_arch = "wasm32"))]

mod e2e;

use std::time::Duration;

use e2e::{page, Harness, LOADER, STORAGE_SPY as SPY};

const SITE: &str = "priv";
const KEY: &str = "leadscore:priv";
const ENDPOINT: &str = "/v1/leads";

/// A rule set where two `x` events and an email make an MQL; no decay.
fn config(consent: &str) -> String {
    format!(
        r#"{{"site":"{SITE}","consent":"{consent}","endpoint":"{ENDPOINT}","half_life_days":"never",
            "thresholds":{{"warm":5,"mql":10,"sales_ready":50}},
            "rules":[{{"id":"x","on":"x","points":5}}]}}"#
    )
}

/// A TCF v2.2 CMP stub: answers `addEventListener` with purpose 1 as given,
/// and keeps the callback so the test can play a later choice.
fn tcf(purpose_1: bool) -> String {
    format!(
        r#"<script>
  window.__tcfapi = function (command, version, callback) {{
    if (command !== 'addEventListener' || version !== 2) return;
    window.__tcfCallback = callback;
    callback({{ gdprApplies: true, eventStatus: 'tcloaded', listenerId: 1,
               purpose: {{ consents: {{ '1': {purpose_1} }} }} }}, true);
  }};
  window.__tcfChoose = function (granted) {{
    window.__tcfCallback({{ gdprApplies: true, eventStatus: 'useractioncomplete', listenerId: 1,
                            purpose: {{ consents: {{ '1': granted }} }} }}, true);
  }};
</script>"#
    )
}

const CONSENT_MODE_DENIED: &str = r#"<script>
  window.dataLayer = window.dataLayer || [];
  function gtag() { dataLayer.push(arguments) }
  gtag('consent', 'default', { analytics_storage: 'denied', ad_user_data: 'denied' });
</script>"#;

const GPC_ON: &str = r#"<script>
  Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { configurable: true, get: function () { return true } });
</script>"#;

const DNT_ON: &str = r#"<script>
  Object.defineProperty(Navigator.prototype, 'doNotTrack', { configurable: true, get: function () { return '1' } });
</script>"#;

/// Serves a page at `path` with `signal` (scripts run before the loader)
/// and the widget configured with `consent`.
fn serve(h: &Harness, path: &str, signal: &str, consent: &str, body: &str) {
    let inline = format!(r#"<script type="application/json" id="leadscore-config">{}</script>"#, config(consent));
    h.server
        .page(path, &page(&format!(r#"{SPY}{signal}<script src="{LOADER}"></script>"#), &format!("{inline}{body}")));
}

/// Everything that would make a tracked visitor an MQL.
async fn behave_like_a_lead(h: &Harness) {
    h.eval("leadscore.track('x'), leadscore.track('x'), leadscore.identify({email: 'ann@priv.example'})").await;
    h.settle().await;
}

async fn writes(h: &Harness) -> Vec<String> {
    h.list("window.__writes").await
}

/// Requests other than the page and the widget's own files.
fn requests_beyond_assets(h: &Harness) -> Vec<String> {
    h.server
        .requests()
        .into_iter()
        .filter(|request| {
            let asset = ["/dist/", "/page", "/favicon.ico"].iter().any(|prefix| request.path.starts_with(prefix));
            !(request.method == "GET" && asset)
        })
        .map(|request| format!("{} {}", request.method, request.path))
        .collect()
}

/// Nothing stored, nothing sent, nothing scored, and explain() says why.
async fn assert_untracked(h: &Harness, reason: Option<&str>) {
    assert_eq!(writes(h).await, Vec::<String>::new(), "storage or cookie writes");
    assert_eq!(requests_beyond_assets(h), Vec::<String>::new(), "requests");
    assert_eq!(h.eval("leadscore.score()").await, 0.0, "nothing scored");
    assert_eq!(h.eval("leadscore.explain().consent").await, false);
    assert_eq!(h.eval("leadscore.explain().opt_out").await, serde_json::json!(reason));
    assert_eq!(h.eval(&format!("localStorage.getItem('{KEY}')")).await, serde_json::Value::Null);
}

/// Withdrawal deletes our key within a second.
async fn wait_for_key_deleted_within_a_second(h: &Harness) {
    let gone = format!("localStorage.getItem('{KEY}') === null");
    h.wait_for_within("our key deleted", &gone, Duration::from_secs(1)).await;
}

async fn wait_for_key(h: &Harness) {
    h.wait_for("our storage key", &format!("localStorage.getItem('{KEY}') !== null")).await;
}

#[tokio::test]
async fn without_consent_nothing_is_stored_or_sent_until_it_is_given() {
    let h = Harness::start().await;
    let endpoint = h.server.endpoint(ENDPOINT);
    serve(&h, "/page", "", "required", "");
    h.open("/page").await;
    h.wait_ready().await;
    behave_like_a_lead(&h).await;
    assert_untracked(&h, None).await;

    h.eval("leadscore.consent(true)").await;
    wait_for_key(&h).await;
    behave_like_a_lead(&h).await;
    endpoint.wait_until("the lead once consent came", Duration::from_secs(10), |posts| !posts.is_empty()).await;
    h.assert_clean().await;
    h.finish().await;
}

#[tokio::test]
async fn tcf_purpose_1_refused_stops_everything_and_a_later_choice_counts() {
    let h = Harness::start().await;
    serve(&h, "/page", &tcf(false), "implied", "");
    h.open("/page").await;
    h.wait_ready().await;
    behave_like_a_lead(&h).await;
    assert_untracked(&h, Some("tcf")).await;
    assert_eq!(h.eval("leadscore.consent(true), leadscore.explain().consent").await, false, "a refusal wins");

    h.eval("window.__tcfChoose(true)").await;
    wait_for_key(&h).await;
    assert_eq!(h.eval("leadscore.explain().opt_out").await, serde_json::Value::Null);

    // Withdrawn in the CMP: our key is gone within a second.
    h.eval("window.__tcfChoose(false)").await;
    wait_for_key_deleted_within_a_second(&h).await;
    h.finish().await;
}

#[tokio::test]
async fn consent_mode_denied_stops_everything_and_an_update_counts() {
    let h = Harness::start().await;
    serve(&h, "/page", CONSENT_MODE_DENIED, "implied", "");
    h.open("/page").await;
    h.wait_ready().await;
    behave_like_a_lead(&h).await;
    assert_untracked(&h, Some("consent_mode")).await;

    h.eval("gtag('consent', 'update', { analytics_storage: 'granted', ad_user_data: 'granted' })").await;
    wait_for_key(&h).await;
    h.eval("gtag('consent', 'update', { analytics_storage: 'denied' })").await;
    wait_for_key_deleted_within_a_second(&h).await;
    h.finish().await;
}

#[tokio::test]
async fn global_privacy_control_and_do_not_track_are_opt_outs() {
    let h = Harness::start().await;
    for (path, signal, reason) in [("/page-gpc", GPC_ON, "gpc"), ("/page-dnt", DNT_ON, "dnt")] {
        serve(&h, path, signal, "implied", "");
        h.open(path).await;
        h.wait_ready().await;
        behave_like_a_lead(&h).await;
        h.eval("leadscore.consent(true)").await;
        behave_like_a_lead(&h).await;
        assert_untracked(&h, Some(reason)).await;
    }
    h.finish().await;
}

#[tokio::test]
async fn withdrawing_consent_deletes_our_key_within_a_second() {
    let h = Harness::start().await;
    serve(&h, "/page", "", "required", "");
    h.open("/page").await;
    h.wait_ready().await;
    h.eval("leadscore.consent(true)").await;
    wait_for_key(&h).await;
    h.eval("leadscore.consent(false)").await;
    wait_for_key_deleted_within_a_second(&h).await;
    // A generic consent tool's DOM event works the same way.
    h.eval("window.dispatchEvent(new CustomEvent('leadscore:consent', { detail: true }))").await;
    wait_for_key(&h).await;
    h.eval("window.dispatchEvent(new CustomEvent('leadscore:consent', { detail: { granted: false } }))").await;
    wait_for_key_deleted_within_a_second(&h).await;
    h.finish().await;
}

const CANARY_FORM: &str = r#"
<form id="signup" onsubmit="event.preventDefault()">
  <input type="email" name="email" value="ann@priv.example">
  <input type="password" name="password" value="CANARY-PASSWORD-1">
  <input type="hidden" name="csrf" value="CANARY-HIDDEN-2">
  <input type="text" name="card" value="4111 1111 1111 1111">
  <input type="text" name="favourite_colour" value="CANARY-UNLISTED-3">
  <textarea name="notes">CANARY-NOTES-4</textarea>
  <button>Sign up</button>
</form>"#;

#[tokio::test]
async fn canaries_and_query_strings_never_leave_the_browser() {
    let h = Harness::start().await;
    let endpoint = h.server.endpoint(ENDPOINT);
    serve(&h, "/page", "", "implied", CANARY_FORM);
    h.open("/page?email=CANARY-QUERY%40priv.example&token=CANARY-TOKEN-5&utm_source=news&gclid=Cj0KQ-click-6").await;
    h.wait_ready().await;
    h.eval("document.getElementById('signup').requestSubmit()").await;
    h.eval("leadscore.track('x'), leadscore.track('x')").await;
    let posts = endpoint.wait_until("the lead", Duration::from_secs(10), |posts| !posts.is_empty()).await;
    let body = &posts[0].body;
    assert!(body.contains("ann@priv.example"), "the allowlisted email is the lead's identity: {body}");
    for canary in ["CANARY", "4111", "token=", "email=", "csrf"] {
        assert!(!body.contains(canary), "`{canary}` left the browser: {body}");
    }
    let lead: serde_json::Value = serde_json::from_str(body).unwrap();
    let page_url = lead["page"].as_str().unwrap();
    // Ad click ids stay in the page URL (offline conversion uploads need them); the
    // attribution keeps only which click id was present.
    assert!(page_url.ends_with("/page?utm_source=news&gclid=Cj0KQ-click-6"), "query stripped: {page_url}");
    assert_eq!(lead["touch"]["first"]["click_id"], "gclid");
    // The stored record is base64 of postcard bytes, whose strings are raw UTF-8.
    let stored = h.eval(&format!("atob(localStorage.getItem('{KEY}'))")).await;
    let stored = stored.as_str().unwrap();
    assert!(stored.contains("ann@priv.example"), "the record holds the identity, so the check below can fail");
    assert!(!stored.contains("CANARY") && !stored.contains("4111"), "a canary was stored: {stored:?}");
    h.finish().await;
}

#[tokio::test]
async fn forget_asks_the_collector_to_erase_a_sent_lead() {
    let h = Harness::start().await;
    let endpoint = h.server.endpoint(ENDPOINT);
    let forget = h.server.endpoint("/v1/forget");
    serve(&h, "/page", "", "implied", "");
    h.open("/page").await;
    h.wait_ready().await;
    // Not yet sent: forgetting asks nothing of the collector.
    h.eval("leadscore.track('x'), leadscore.forget()").await;
    h.settle().await;
    assert_eq!(forget.count(), 0);

    behave_like_a_lead(&h).await;
    let leads = endpoint
        .wait_until("the lead", Duration::from_secs(10), |posts| posts.iter().any(|post| post.accepted()))
        .await;
    let lead: serde_json::Value = serde_json::from_str(&leads[0].body).unwrap();
    h.wait_for("the delivery recorded", "leadscore.explain().outbox.pending === 0").await;
    let visitor = h.eval("leadscore.explain().visitor").await;
    h.eval("leadscore.forget()").await;
    let posts = forget.wait_until("the erasure request", Duration::from_secs(10), |posts| !posts.is_empty()).await;
    let request: serde_json::Value = serde_json::from_str(&posts[0].body).unwrap();
    let secret = request["secret"].as_str().expect("the erasure secret").to_string();
    assert_eq!(request, serde_json::json!({ "site": SITE, "visitor_id": visitor, "secret": secret }));
    assert_eq!(secret.len(), 32, "{secret}");
    // The lead carried only the secret's digest, never the secret.
    assert_eq!(lead["erasure"], leadscore::core::sha256::sha256_hex(secret.as_bytes()));
    assert!(!leads[0].body.contains(&secret));
    assert_ne!(h.eval("leadscore.explain().visitor").await, visitor, "a new random visitor id after forget()");
    h.finish().await;
}

#[tokio::test]
async fn the_privacy_panel_tells_the_visitor_and_erases_on_request() {
    let h = Harness::start().await;
    serve(&h, "/page", "", "implied", r#"<a href="/privacy-policy" data-leadscore-privacy>Your data</a>"#);
    h.open("/page").await;
    h.wait_ready().await;
    h.eval("leadscore.track('x'), leadscore.identify({email: 'ann@priv.example'})").await;
    wait_for_key(&h).await;
    let visitor = h.eval("leadscore.explain().visitor").await;
    let fetched = "performance.getEntriesByType('resource').some(function (e) { return /leadscore_privacy\\.js$/.test(e.name); })";
    assert_eq!(h.eval(fetched).await, false, "the panel is loaded only when it is opened");
    h.eval("document.querySelector('[data-leadscore-privacy]').click()").await;
    h.wait_for("the panel", "!!document.querySelector('leadscore-privacy')").await;
    assert!(h.eval("location.pathname").await == "/page", "the link did not navigate");
    assert_eq!(h.eval(fetched).await, true);
    let text = h.eval("document.querySelector('leadscore-privacy').shadowRoot.textContent").await;
    let text = text.as_str().unwrap();
    for expected in [visitor.as_str().unwrap(), "ann@priv.example", "Sent to the site: nothing", "180 days", KEY] {
        assert!(text.contains(expected), "the panel does not say `{expected}`: {text}");
    }
    h.eval("document.querySelector('leadscore-privacy').shadowRoot.querySelector('button.erase').click()").await;
    wait_for_key_deleted_within_a_second(&h).await;
    let text = h.eval("document.querySelector('leadscore-privacy').shadowRoot.textContent").await;
    assert!(text.as_str().unwrap().contains("Erased"), "{text}");
    assert_eq!(h.eval("leadscore.explain().consent").await, false, "erasing stops recording on this page");
    h.eval("document.querySelector('leadscore-privacy').shadowRoot.querySelector('button.close').click()").await;
    h.wait_for("the panel closed", "!document.querySelector('leadscore-privacy')").await;
    h.assert_clean().await;
    h.finish().await;
}

#[tokio::test]
async fn a_withdrawal_in_one_tab_stops_the_others() {
    let h = Harness::start().await;
    serve(&h, "/page", "", "implied", "");
    h.open("/page").await;
    h.wait_ready().await;
    h.eval("leadscore.track('x')").await;
    wait_for_key(&h).await;
    let first = h.current_window().await;
    let second = h.new_window().await;
    h.switch_to(&second).await;
    h.open("/page").await;
    h.wait_ready().await;
    h.wait_for("the second tab to adopt the visitor", "leadscore.score() === 5").await;

    h.switch_to(&first).await;
    h.eval("leadscore.consent(false)").await;
    h.switch_to(&second).await;
    h.wait_for("the second tab to stop", "leadscore.explain().consent === false").await;
    // Nothing is scored any more, so nothing is left to write back.
    h.eval("leadscore.track('x')").await;
    h.settle().await;
    assert_eq!(h.eval("leadscore.score()").await, 0.0);
    assert_eq!(
        h.eval(&format!("localStorage.getItem('{KEY}')")).await,
        serde_json::Value::Null,
        "no tab writes it back"
    );
    h.finish().await;
}
