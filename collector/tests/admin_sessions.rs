//! Dashboard sessions: random ids stored hashed, revoked at logout, expiring;
//! `Secure` behind a TLS proxy; logins rate-limited; forms guarded by a CSRF
//! token and by `Origin`, or `Referer` without one; strict security headers.

mod common;

use std::time::Duration;

use common::*;

fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

#[tokio::test]
async fn logout_revokes_the_session_even_where_the_cookie_was_copied() {
    let collector = Collector::start("").await;
    let (cookie, csrf) = collector.login().await;
    let copy = cookie.clone();
    let page = |cookie: String| browser().get(collector.url("/admin")).header("cookie", cookie).send();
    assert_eq!(page(copy.clone()).await.unwrap().status(), 200);
    let logout = browser()
        .post(collector.url("/admin/logout"))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 303);
    assert!(logout.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    assert_eq!(page(copy).await.unwrap().status(), 401, "the copied cookie died with the session");
}

#[tokio::test]
async fn sessions_expire_after_twelve_hours() {
    let collector = Collector::start("").await;
    let (cookie, _) = collector.login().await;
    let page = || browser().get(collector.url("/admin")).header("cookie", &cookie).send();
    collector.clock.advance(Duration::from_secs(11 * 3600));
    assert_eq!(page().await.unwrap().status(), 200);
    collector.clock.advance(Duration::from_secs(2 * 3600));
    assert_eq!(page().await.unwrap().status(), 401);
}

#[tokio::test]
async fn the_cookie_is_secure_when_a_trusted_proxy_says_tls() {
    let collector = Collector::start("trust_proxy = true").await;
    let login = |proto: &'static str| {
        browser()
            .post(collector.url("/admin/login"))
            .header("x-forwarded-proto", proto)
            .form(&[("token", TOKEN)])
            .send()
    };
    let over_tls = login("https").await.unwrap();
    assert!(over_tls.headers()["set-cookie"].to_str().unwrap().contains("; Secure"));
    let plain = login("http").await.unwrap();
    assert!(!plain.headers()["set-cookie"].to_str().unwrap().contains("Secure"));
    // Without trust_proxy, the header is anyone's to send and is ignored.
    let untrusted = Collector::start("").await;
    let login = browser()
        .post(untrusted.url("/admin/login"))
        .header("x-forwarded-proto", "https")
        .form(&[("token", TOKEN)])
        .send()
        .await
        .unwrap();
    assert!(!login.headers()["set-cookie"].to_str().unwrap().contains("Secure"));
}

#[tokio::test]
async fn wrong_logins_are_rate_limited_per_address() {
    let collector = Collector::start("").await;
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let attempt =
            browser().post(collector.url("/admin/login")).form(&[("token", "guess-0123456789")]).send().await.unwrap();
        statuses.push(attempt.status().as_u16());
        if attempt.status() == 429 {
            assert!(attempt.headers().contains_key("retry-after"));
        }
    }
    assert_eq!(statuses[..10], [401; 10]);
    assert_eq!(statuses[10..], [429, 429]);
    let right = browser().post(collector.url("/admin/login")).form(&[("token", TOKEN)]).send().await.unwrap();
    assert_eq!(right.status(), 429, "even the right token waits: the limit is per address, not per guess");
}

#[tokio::test]
async fn forms_need_their_csrf_token_and_this_host_as_origin_or_referer() {
    let collector = Collector::start("").await;
    let lead = mql_lead("csrf@acme.example");
    assert_eq!(collector.post(&lead.to_json()).await.status(), 201);
    let (cookie, csrf) = collector.login().await;
    let accept = |headers: Vec<(&'static str, String)>, form: Vec<(&'static str, String)>| {
        let mut request = browser()
            .post(collector.url(&format!("/admin/leads/{}/accept", lead.lead_id)))
            .header("cookie", &cookie)
            .form(&form);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send()
    };
    let own = collector.base.clone();
    let no_token = accept(vec![("origin", own.clone())], vec![("reason", String::new())]).await.unwrap();
    assert_eq!(no_token.status(), 403);
    let wrong_token = accept(vec![], vec![("csrf", "0".repeat(64))]).await.unwrap();
    assert_eq!(wrong_token.status(), 403);
    let foreign_referer =
        accept(vec![("referer", "https://evil.example/page".into())], vec![("csrf", csrf.clone())]).await.unwrap();
    assert_eq!(foreign_referer.status(), 403, "no Origin, a foreign Referer");
    let null_origin_foreign_referer = accept(
        vec![("origin", "null".into()), ("referer", "https://evil.example/".into())],
        vec![("csrf", csrf.clone())],
    )
    .await
    .unwrap();
    assert_eq!(null_origin_foreign_referer.status(), 403);
    assert_eq!(collector.leads().await[0]["funnel"], "mql", "nothing moved");
    let own_referer =
        accept(vec![("referer", format!("{own}/admin/leads/{}", lead.lead_id))], vec![("csrf", csrf)]).await.unwrap();
    assert_eq!(own_referer.status(), 303);
    assert_eq!(collector.leads().await[0]["funnel"], "sal");
}

#[tokio::test]
async fn admin_answers_carry_strict_security_headers() {
    let collector = Collector::start("").await;
    let (cookie, _) = collector.login().await;
    let answers = [
        browser().get(collector.url("/admin/login")).send().await.unwrap(),
        browser().get(collector.url("/admin")).header("cookie", &cookie).send().await.unwrap(),
        browser().get(collector.url("/admin")).send().await.unwrap(),
        browser().get(collector.url("/v1/admin/stats")).bearer_auth(TOKEN).send().await.unwrap(),
    ];
    for answer in answers {
        let headers = answer.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(!csp.contains("script-src"), "no script allowed at all: {csp}");
        assert_eq!(headers["x-frame-options"], "DENY");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert_eq!(headers["cache-control"], "no-store");
    }
}

#[tokio::test]
async fn the_admin_side_can_have_its_own_address_off_the_public_origin() {
    let dir = temp_dir();
    std::fs::write(dir.join("acme.json"), SITE_JSON).unwrap();
    let settings = format!("[[sites]]\nconfig = \"acme.json\"\norigins = [\"{ORIGIN}\"]\n");
    let collector = Collector::launch_split(dir, &settings, true).await;
    let admin = collector.admin_base.clone().expect("an admin address");
    assert_ne!(admin, collector.base);
    assert_eq!(
        collector.post(&mql_lead("split@acme.example").to_json()).await.status(),
        201,
        "public routes on listen"
    );
    for path in ["/admin", "/admin/login", "/v1/admin/stats"] {
        let public = browser().get(collector.url(path)).bearer_auth(TOKEN).send().await.unwrap();
        assert_eq!(public.status(), 404, "{path} is not on the public address");
    }
    let stats = browser().get(format!("{admin}/v1/admin/stats")).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(stats.status(), 200);
    assert_eq!(browser().get(format!("{admin}/admin/login")).send().await.unwrap().status(), 200);
    let lead = browser().post(format!("{admin}/v1/leads")).header("origin", ORIGIN).body("{}").send().await.unwrap();
    assert_eq!(lead.status(), 404, "and no public route on the admin address");
}
