//! The admin side over real HTTP: the token on every route, the sales funnel,
//! the dashboard behind its login, exports, erasure with suppression,
//! retention, and a visitor's own erasure.

mod common;

use std::time::Duration;

use common::*;
use leadscore_collector::admin::ROUTES;
use serde_json::{json, Value};

#[tokio::test]
async fn no_admin_route_answers_without_its_credential() {
    let collector = Collector::start("").await;
    let lead = mql_lead("private@acme.example");
    assert_eq!(collector.post(&lead.to_json()).await.status(), 201);
    let (session, csrf) = collector.login().await;
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    for (method, path) in ROUTES {
        let page = path.starts_with("/admin");
        let path = path.replace("{lead_id}", &lead.lead_id).replace("{action}", "accept").replace("{id}", "1");
        let url = collector.url(&path);
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let request = || no_redirects.request(method.clone(), &url);
        let mut attempts = vec![
            request(),
            request().bearer_auth("wrong-token-0123456789"),
            request().header("cookie", "leadscore_session=0123456789abcdef0123456789abcdef"),
            request().header("cookie", format!("leadscore_session={TOKEN}")),
            request().header("authorization", TOKEN),
        ];
        // Each credential opens only its own side: a session is no key to the
        // API, and the token is no session.
        attempts.push(if page { request().bearer_auth(TOKEN) } else { request().header("cookie", &session) });
        for attempt in attempts {
            let response = attempt.send().await.unwrap();
            assert_eq!(response.status(), 401, "{method} {path}");
            let body = response.text().await.unwrap();
            assert!(!body.contains("private@acme.example"), "{method} {path} leaked a lead");
        }
        let allowed = if page {
            request().header("cookie", &session).form(&[("csrf", csrf.as_str())]).send().await.unwrap()
        } else {
            request().bearer_auth(TOKEN).send().await.unwrap()
        };
        assert_ne!(allowed.status(), 401, "{method} {path} with its credential");
        assert_ne!(allowed.status(), 403, "{method} {path} with its credential");
    }
    assert_eq!(collector.leads().await.len(), 1, "the erasure route was called without a body: nothing erased");
}

#[tokio::test]
async fn sales_moves_a_lead_through_the_funnel() {
    let collector = Collector::start("").await;
    let lead = mql_lead("funnel@acme.example");
    assert_eq!(collector.post(&lead.to_json()).await.status(), 201);
    let step = |action: &str, body: Value| {
        let path = format!("/v1/admin/leads/{}/{action}", lead.lead_id);
        let collector = &collector;
        async move { collector.admin_post(&path, body).await }
    };

    let (status, answer) = step("qualify", json!({})).await;
    assert_eq!(status, 409, "an MQL must be accepted before it is qualified");
    assert!(answer["error"].as_str().unwrap().contains("cannot qualify a lead at mql"), "{answer}");
    let (status, answer) = step("reject", json!({})).await;
    assert_eq!((status, answer["field"].as_str()), (400, Some("reason")), "{answer}");
    let (status, _) = step("promote", json!({})).await;
    assert_eq!(status, 404);

    for (action, funnel) in [("accept", "sal"), ("qualify", "sql"), ("win", "won")] {
        let (status, answer) = step(action, json!({})).await;
        assert_eq!(status, 200, "{action}: {answer}");
        assert_eq!(answer["lead"]["funnel"], funnel);
    }
    let (status, _) = step("lose", json!({ "reason": "too late" })).await;
    assert_eq!(status, 409, "a won lead is closed");

    let detail = collector.admin_get(&format!("/v1/admin/leads/{}", lead.lead_id)).await;
    let history: Vec<(String, String)> = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|change| (change["from"].as_str().unwrap().into(), change["to"].as_str().unwrap().into()))
        .collect();
    assert_eq!(history, [("mql".into(), "sal".into()), ("sal".into(), "sql".into()), ("sql".into(), "won".into())]);
    assert!(detail["payload"]["ledger"].as_array().unwrap().iter().any(|entry| entry["rule_id"] == "pricing-3x"));

    // A second lead rejected to nurture with a reason, then recycled.
    let other = mql_lead("nurture@acme.example");
    assert_eq!(collector.post(&other.to_json()).await.status(), 201);
    let path = format!("/v1/admin/leads/{}/reject", other.lead_id);
    let (status, answer) = collector.admin_post(&path, json!({ "reason": "student" })).await;
    assert_eq!(status, 200);
    assert_eq!(
        (answer["lead"]["funnel"].as_str(), answer["lead"]["funnel_reason"].as_str()),
        (Some("nurture"), Some("student"))
    );

    let stats = collector.admin_get("/v1/admin/stats").await;
    assert_eq!(stats["stats"]["reached"], json!([2, 1, 1, 1]));
    let nurture = collector.admin_get("/v1/admin/leads?funnel=nurture").await;
    assert_eq!(nurture["leads"].as_array().unwrap().len(), 1);
    let bad =
        collector.client.get(collector.url("/v1/admin/leads?funnel=hot")).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(bad.status(), 400);
    assert_eq!(bad.json::<Value>().await.unwrap()["field"], "funnel");
}

#[tokio::test]
async fn the_dashboard_shows_leads_behind_its_login() {
    let collector = Collector::start("").await;
    let lead = mql_lead("dash@acme.example");
    assert_eq!(collector.post(&lead.to_json()).await.status(), 201);
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();

    let login_form = browser.get(collector.url("/admin")).send().await.unwrap();
    assert_eq!(login_form.status(), 401);
    assert!(login_form.text().await.unwrap().contains("name=\"token\""));

    let wrong = browser.post(collector.url("/admin/login")).form(&[("token", "nope")]).send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(!wrong.headers().contains_key("set-cookie"));

    let login = browser.post(collector.url("/admin/login")).form(&[("token", TOKEN)]).send().await.unwrap();
    assert_eq!(login.status(), 303);
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    assert!(!cookie.contains(TOKEN), "the cookie is a session, not the token: {cookie}");
    let cookie = cookie.split(';').next().unwrap().to_string();

    let page = browser.get(collector.url("/admin")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    for expected in ["dash@acme.example", "Funnel", "Leads per day", "Verified score distribution", "verified", "<svg"]
    {
        assert!(html.contains(expected), "dashboard lacks {expected}");
    }
    assert!(!html.contains("<script"), "the dashboard runs no script");

    let detail = browser.get(collector.url(&format!("/admin/leads/{}", lead.lead_id))).header("cookie", &cookie).send();
    let html = detail.await.unwrap().text().await.unwrap();
    assert!(html.contains("pricing-3x") && html.contains("Accept (SAL)") && html.contains("Reject to nurture"));
    let csrf = html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();

    // A lifecycle button, as the browser posts it from the dashboard.
    let accept = browser
        .post(collector.url(&format!("/admin/leads/{}/accept", lead.lead_id)))
        .header("cookie", &cookie)
        .header("origin", &collector.base)
        .form(&[("reason", ""), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(accept.status(), 303);
    assert_eq!(collector.leads().await[0]["funnel"], "sal");

    // A refused step shows the lead again with the reason.
    let refused = browser
        .post(collector.url(&format!("/admin/leads/{}/win", lead.lead_id)))
        .header("cookie", &cookie)
        .form(&[("reason", ""), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 409);
    assert!(refused.text().await.unwrap().contains("cannot win a lead at sal"));

    // Another site cannot ride on the cookie.
    let forged = browser
        .post(collector.url(&format!("/admin/leads/{}/reject", lead.lead_id)))
        .header("cookie", &cookie)
        .header("origin", "https://evil.example")
        .form(&[("reason", "spam"), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert_eq!(collector.leads().await[0]["funnel"], "sal");
}

#[tokio::test]
async fn leads_export_as_csv_and_json() {
    let collector = Collector::start("").await;
    let mut lead = mql_lead("cmd@acme.example");
    // A hostile value a visitor could type into a form (it no longer replays to an MQL; irrelevant here).
    lead.identity.insert("email".into(), "=cmd@acme.example".into());
    assert_eq!(collector.post(&lead.to_json()).await.status(), 201);
    let csv = collector.client.get(collector.url("/v1/admin/export.csv")).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].starts_with("lead_id,site,visitor_id,stage,funnel"));
    assert!(lines[1].contains(",'=cmd@acme.example,"), "formulas are defused: {}", lines[1]);
    let exported = collector.admin_get("/v1/admin/export.json").await;
    let leads = exported["leads"].as_array().unwrap();
    assert_eq!(leads.len(), 1);
    assert_eq!(leads[0]["lead"]["lead_id"], lead.lead_id.as_str());
    assert!(!leads[0]["payload"]["evidence"].as_array().unwrap().is_empty());
}

/// More leads than the old cap of 10,000 and than many export pages, with
/// runs of equal `received_at` across page boundaries: every lead comes out
/// exactly once in both formats.
#[tokio::test]
async fn exports_stream_every_lead_however_many() {
    use leadscore_collector::admin::export::EXPORT_PAGE;
    use leadscore_collector::store::{NewLead, Verdict};
    let collector = Collector::start("").await;
    let total = 10_000 + EXPORT_PAGE as usize + 7;
    let template = mql_lead("many@acme.example");
    let store = collector.running.as_ref().unwrap().app.store.clone();
    let mut batches = Vec::new();
    for batch in 0..8 {
        let (store, template) = (store.clone(), template.clone());
        batches.push(tokio::task::spawn_blocking(move || {
            for index in (batch..total).step_by(8) {
                let mut lead = template.clone();
                lead.visitor_id = format!("v{index}");
                lead.lead_id = leadscore::core::lead::lead_id(&lead.site, &lead.visitor_id, lead.stage);
                let new = NewLead {
                    lead,
                    verified_score: 50.0,
                    verified_stage: leadscore::core::Stage::Mql,
                    verdict: Verdict::Verified,
                    received_at: leadscore::core::Timestamp(T0 + (index as u64 / 7) * 1000),
                };
                store.insert_lead(new, &[]).unwrap();
            }
        }));
    }
    for batch in batches {
        batch.await.unwrap();
    }
    let get = |path: &str| collector.client.get(collector.url(path)).bearer_auth(TOKEN).send();
    let csv = get("/v1/admin/export.csv").await.unwrap();
    assert_eq!(csv.status(), 200);
    let csv = csv.text().await.unwrap();
    let ids: std::collections::HashSet<&str> =
        csv.lines().skip(1).map(|line| line.split(',').next().unwrap()).collect();
    assert_eq!(csv.lines().count(), total + 1, "a header and one line per lead");
    assert_eq!(ids.len(), total, "each lead once");
    let json: Value = get("/v1/admin/export.json").await.unwrap().json().await.unwrap();
    let leads = json["leads"].as_array().unwrap();
    let ids: std::collections::HashSet<&str> =
        leads.iter().map(|item| item["lead"]["lead_id"].as_str().unwrap()).collect();
    assert_eq!((leads.len(), ids.len()), (total, total));
    assert!(leads.iter().all(|item| item["payload"]["visitor_id"].as_str().is_some()), "each with its payload");
}

#[tokio::test]
async fn erasure_removes_everything_and_suppresses_the_identity() {
    // Webhooks to a closed port: deliveries stay queued, so erasure must remove them too.
    let collector = Collector::start(
        "[forwarding]\nbase_delay_ms = 3600000\n[[webhooks]]\nurl = \"http://127.0.0.1:9/\"\nsecret = \"0123456789abcdef\"",
    )
    .await;
    let mql = mql_lead("erase@acme.example");
    let sales_ready = sales_ready_lead("erase@acme.example");
    let keep = mql_lead("keep@acme.example");
    for lead in [&mql, &sales_ready, &keep] {
        assert_eq!(collector.post(&lead.to_json()).await.status(), 201);
    }
    let queued = eventually("three queued deliveries", || async {
        let deliveries = collector.admin_get("/v1/admin/deliveries?dead=false").await;
        let waiting = deliveries["deliveries"].as_array().unwrap().len();
        (waiting == 3).then_some(waiting)
    })
    .await;
    assert_eq!(queued, 3);

    let (status, answer) = collector.admin_post("/v1/admin/erasure", json!({ "email": "Erase@Acme.example" })).await;
    assert_eq!(status, 200);
    assert_eq!(answer["erased"], json!({ "leads": 2, "deliveries": 2 }));
    let leads = collector.leads().await;
    assert_eq!(leads.len(), 1);
    assert_eq!(leads[0]["email"], "keep@acme.example");
    let deliveries = collector.admin_get("/v1/admin/deliveries?dead=false").await;
    assert_eq!(deliveries["deliveries"].as_array().unwrap().len(), 1);

    // A lead still waiting in the visitor's browser, or a new one with the same email: refused.
    let resent = collector.post(&mql.to_json()).await;
    assert_eq!(resent.status(), 200);
    assert_eq!(resent.json::<serde_json::Value>().await.unwrap()["status"], "suppressed");
    let same_email = Visitor::qualify("erase@acme.example", "another-browser").lead();
    assert_eq!(collector.post(&same_email.to_json()).await.json::<Value>().await.unwrap()["status"], "suppressed");
    assert_eq!(collector.leads().await.len(), 1);

    // By lead id: that visitor's leads go, and the visitor is suppressed.
    let (status, answer) = collector.admin_post("/v1/admin/erasure", json!({ "lead_id": keep.lead_id })).await;
    assert_eq!((status, answer["erased"]["leads"].as_u64()), (200, Some(1)));
    assert!(collector.leads().await.is_empty());
    assert_eq!(collector.post(&keep.to_json()).await.json::<Value>().await.unwrap()["status"], "suppressed");

    let (status, answer) = collector.admin_post("/v1/admin/erasure", json!({ "email": "x", "lead_id": "y" })).await;
    assert_eq!(status, 400, "{answer}");
}

#[tokio::test]
async fn a_visitor_can_erase_itself_from_its_browser() {
    let collector = Collector::start("").await;
    let lead = mql_lead("self@acme.example");
    let other = mql_lead("other@acme.example");
    for lead in [&lead, &other] {
        assert_eq!(collector.post(&lead.to_json()).await.status(), 201);
    }
    let forget = |origin: &'static str, body: Value| {
        collector
            .client
            .post(collector.url("/v1/forget"))
            .header("content-type", "text/plain")
            .header("origin", origin)
            .body(body.to_string())
            .send()
    };
    let secret = secret_of(&lead.visitor_id);
    let foreign =
        forget("https://evil.example", json!({ "site": "acme", "visitor_id": lead.visitor_id, "secret": secret }));
    assert_eq!(foreign.await.unwrap().status(), 403);
    // The visitor id alone, which the dashboard, exports and webhooks show, is not enough.
    let id_only = forget(ORIGIN, json!({ "site": "acme", "visitor_id": lead.visitor_id })).await.unwrap();
    assert_eq!(id_only.status(), 400);
    assert_eq!(id_only.json::<Value>().await.unwrap()["field"], "secret");
    // A wrong secret and an unknown visitor get the answer a right one gets.
    let mut answers = Vec::new();
    for body in [
        json!({ "site": "acme", "visitor_id": lead.visitor_id, "secret": secret_of("someone else") }),
        json!({ "site": "acme", "visitor_id": "nobody-0123", "secret": secret }),
    ] {
        let answer = forget(ORIGIN, body).await.unwrap();
        answers.push((answer.status().as_u16(), answer.text().await.unwrap()));
    }
    assert_eq!(collector.leads().await.len(), 2, "nothing erased without the secret");
    let done =
        forget(ORIGIN, json!({ "site": "acme", "visitor_id": lead.visitor_id, "secret": secret })).await.unwrap();
    assert_eq!(done.headers()["access-control-allow-origin"], ORIGIN);
    answers.push((done.status().as_u16(), done.text().await.unwrap()));
    assert!(answers.iter().all(|answer| *answer == (200, r#"{"status":"received"}"#.to_string())), "{answers:?}");
    let left = collector.leads().await;
    assert_eq!(left.len(), 1, "only the visitor's own leads go");
    assert_eq!(left[0]["visitor_id"], other.visitor_id.as_str());
    assert_eq!(collector.post(&lead.to_json()).await.json::<Value>().await.unwrap()["status"], "suppressed");
}

#[tokio::test]
async fn the_owner_erases_by_visitor_id_with_the_token() {
    let collector = Collector::start("").await;
    let lead = mql_lead("owner@acme.example");
    assert_eq!(collector.post(&lead.to_json()).await.status(), 201);
    let (status, answer) =
        collector.admin_post("/v1/admin/erasure", json!({ "site": "acme", "visitor_id": lead.visitor_id })).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["erased"]["leads"], 1);
    assert!(collector.leads().await.is_empty());
    let (status, _) = collector.admin_post("/v1/admin/erasure", json!({ "visitor_id": lead.visitor_id })).await;
    assert_eq!(status, 400, "a visitor id needs its site");
}

#[tokio::test]
async fn retention_deletes_leads_older_than_the_setting() {
    let collector = Collector::start("retention_days = 30").await;
    let old = mql_lead("old@acme.example");
    assert_eq!(collector.post(&old.to_json()).await.status(), 201);
    collector.clock.advance(Duration::from_secs(31 * 86_400));
    let fresh = mql_lead("fresh@acme.example");
    assert_eq!(collector.post(&fresh.to_json()).await.status(), 201);
    let (status, answer) = collector.admin_post("/v1/admin/retention", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(answer, json!({ "deleted": 1, "retention_days": 30 }));
    let leads = collector.leads().await;
    assert_eq!(leads.len(), 1);
    assert_eq!(leads[0]["email"], "fresh@acme.example");

    let without = Collector::start("").await;
    let (status, answer) = without.admin_post("/v1/admin/retention", json!({})).await;
    assert_eq!(status, 409);
    assert!(answer["error"].as_str().unwrap().contains("retention_days"));
}
