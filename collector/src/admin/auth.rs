//! Who may use the admin side, and how. The API (`/v1/admin/…`) takes the
//! admin token as a Bearer credential and nothing else. The dashboard
//! (`/admin…`) takes a session: logging in with the token gives a random
//! session id in an `HttpOnly; SameSite=Strict` cookie (`Secure` over TLS),
//! stored server-side only as its SHA-256, expiring after 12 hours and
//! ended at logout, so a copied cookie dies with the session and is never a
//! key to the API. Logins are rate-limited per address. Every form that
//! changes something carries a CSRF token derived from the session, and
//! its request must name this host in `Origin` (or, without one, in
//! `Referer`). Every admin answer carries a strict CSP and no-store.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::{dashboard, error, hex, App};

/// The dashboard's session cookie.
pub const COOKIE: &str = "leadscore_session";
/// How long a dashboard session lasts.
pub const SESSION_MS: u64 = 12 * 3_600_000;
/// Login attempts one address may make per minute.
pub const LOGINS_PER_MINUTE: u32 = 10;

/// The CSP of every admin answer: no script at all, styles only inline
/// (the dashboard's own), images only from here, forms only to here, and
/// no framing.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; \
form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// A signed-in dashboard session, for the pages that render forms.
#[derive(Clone, Debug)]
pub struct Session {
    /// The token the session's forms carry.
    pub csrf: String,
}

/// Compares in time independent of where the strings differ.
pub fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

fn digest(purpose: &str, id: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(purpose.as_bytes());
    hasher.update([0]);
    hasher.update(id.as_bytes());
    hex(&hasher.finalize())
}

/// The stored form of a session id.
fn session_digest(id: &str) -> String {
    digest("session", id)
}

/// The CSRF token of a session: only the holder of the id can know it.
pub fn csrf_token(id: &str) -> String {
    digest("csrf", id)
}

/// The value of cookie `name`, if the request carries it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(name)?.strip_prefix('='))
}

fn has_bearer(app: &App, headers: &HeaderMap) -> bool {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    bearer.is_some_and(|bearer| same(bearer.trim().as_bytes(), app.settings.admin_token.as_bytes()))
}

/// Middleware for `/v1/admin/…`: the Bearer token, or `401`.
pub async fn require_token(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    if has_bearer(&app, request.headers()) {
        return next.run(request).await;
    }
    let message = "admin routes need `Authorization: Bearer <admin token>` (see collector --help); \
                   a dashboard session is not accepted here";
    let mut response = error(StatusCode::UNAUTHORIZED, None, message);
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// Middleware for the dashboard: a live session, and for anything but a
/// read, this host as `Origin` (or `Referer`) and the session's CSRF token.
pub async fn require_session(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let Some(id) = cookie(request.headers(), COOKIE).map(str::to_string) else {
        return login_needed();
    };
    let (digest, now) = (session_digest(&id), app.clock.now());
    match app.blocking(move |store| store.session_alive(&digest, now)).await {
        Ok(true) => {}
        Ok(false) => return login_needed(),
        Err(err) => {
            tracing::error!(%err, "cannot read sessions");
            return error(StatusCode::SERVICE_UNAVAILABLE, None, "storage is unavailable; retry later");
        }
    }
    let csrf = csrf_token(&id);
    let mut request = request;
    if request.method() != Method::GET && request.method() != Method::HEAD {
        if !from_this_host(request.headers()) {
            tracing::warn!("cross-site dashboard request refused");
            return error(StatusCode::FORBIDDEN, None, "cross-site request refused");
        }
        let (parts, body) = request.into_parts();
        // Bodies are already read whole and bounded (serve::read_bodies).
        let bytes = axum::body::to_bytes(body, crate::serve::MAX_BODY_BYTES).await.unwrap_or_default();
        let sent = form_field(&bytes, "csrf");
        if !sent.is_some_and(|sent| same(sent.as_bytes(), csrf.as_bytes())) {
            tracing::warn!("dashboard form without its CSRF token refused");
            return error(StatusCode::FORBIDDEN, Some("csrf"), "this form has expired; reload the page and try again");
        }
        request = Request::from_parts(parts, Body::from(bytes));
    }
    request.extensions_mut().insert(Session { csrf });
    next.run(request).await
}

fn login_needed() -> Response {
    (StatusCode::UNAUTHORIZED, Html(dashboard::login(None))).into_response()
}

/// The value of `name` in a urlencoded form body.
fn form_field(body: &[u8], name: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
    pairs.into_iter().find(|(key, _)| key == name).map(|(_, value)| value)
}

/// Whether a changing request comes from this host's own pages: its
/// `Origin` names this host; without one (or with `null`, which browsers
/// send under `Referrer-Policy: no-referrer`), its `Referer` does; without
/// either, the CSRF token alone decides.
pub fn from_this_host(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|value| value.to_str().ok()).unwrap_or("");
    let names_host = |url: &str| {
        url.split_once("://")
            .map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or(""))
            .is_some_and(|authority| authority.eq_ignore_ascii_case(host))
    };
    let text = |name| headers.get(name).and_then(|value: &HeaderValue| value.to_str().ok());
    match (text(header::ORIGIN).filter(|origin| *origin != "null"), text(header::REFERER)) {
        (Some(origin), _) => names_host(origin),
        (None, Some(referer)) => names_host(referer),
        (None, None) => true,
    }
}

/// Whether the request reached us over TLS: only a trusted proxy can say so.
fn over_tls(app: &App, headers: &HeaderMap) -> bool {
    app.settings.trust_proxy
        && headers
            .get("x-forwarded-proto")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(',').next())
            .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

fn session_cookie(value: &str, max_age_secs: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let cookie = format!("{COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/admin; Max-Age={max_age_secs}{secure}");
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static("leadscore_session=; Max-Age=0"))
}

/// The login form's field.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    token: String,
}

/// `POST /admin/login`: the token, checked under a per-address limit, for
/// a new session.
pub async fn login(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let now = app.clock.now();
    let ip: IpAddr = crate::ingest::client_ip(&app, peer, &headers);
    if let Err(seconds) = app.login_limits.check(&ip, now) {
        tracing::warn!(%ip, "dashboard logins rate-limited");
        let page = dashboard::login(Some(&format!("Too many attempts; try again in {seconds} s.")));
        let mut response = (StatusCode::TOO_MANY_REQUESTS, Html(page)).into_response();
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        return response;
    }
    if !same(form.token.trim().as_bytes(), app.settings.admin_token.as_bytes()) {
        tracing::warn!(%ip, "dashboard login with a wrong token");
        return (StatusCode::UNAUTHORIZED, Html(dashboard::login(Some("That token is not right.")))).into_response();
    }
    let id = match crate::settings::random_token() {
        Ok(id) => id,
        Err(message) => return error(StatusCode::SERVICE_UNAVAILABLE, None, message),
    };
    let digest = session_digest(&id);
    if let Err(err) = app.blocking(move |store| store.create_session(&digest, now, now.plus_millis(SESSION_MS))).await {
        tracing::error!(%err, "cannot store a session");
        return error(StatusCode::SERVICE_UNAVAILABLE, None, "storage is unavailable; retry later");
    }
    tracing::info!(%ip, "dashboard login");
    let mut response = Redirect::to("/admin").into_response();
    let cookie = session_cookie(&id, SESSION_MS / 1000, over_tls(&app, &headers));
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    response
}

/// `POST /admin/logout` (behind [`require_session`]): the session ends in
/// the store, so the cookie is worthless even where it was copied.
pub async fn logout(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if let Some(id) = cookie(&headers, COOKIE) {
        let digest = session_digest(id);
        if let Err(err) = app.blocking(move |store| store.end_session(&digest)).await {
            tracing::error!(%err, "cannot end a session");
            return error(StatusCode::SERVICE_UNAVAILABLE, None, "storage is unavailable; retry later");
        }
    }
    let mut response = Redirect::to("/admin/login").into_response();
    response.headers_mut().insert(header::SET_COOKIE, session_cookie("", 0, over_tls(&app, &headers)));
    response
}

/// Middleware for every admin answer: a strict CSP, no framing, no
/// sniffing, no referrer and no caching.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `html` with the session's CSRF token in every form. Text from leads is
/// escaped before it reaches a page, so every `<form` in one is ours.
pub fn with_csrf(html: &str, session: &Session) -> String {
    let field = format!("<input type=\"hidden\" name=\"csrf\" value=\"{}\">", session.csrf);
    let mut out = String::with_capacity(html.len() + 256);
    let mut rest = html;
    while let Some(start) = rest.find("<form ") {
        let Some(end) = rest[start..].find('>') else { break };
        out.push_str(&rest[..start + end + 1]);
        out.push_str(&field);
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"abcd"));
        assert!(!same(b"", b"a"));
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("theme=dark; leadscore_session=t0k3n; x=1"));
        assert_eq!(cookie(&headers, COOKIE), Some("t0k3n"));
        headers.insert(header::COOKIE, HeaderValue::from_static("leadscore_session_old=zzz"));
        assert_eq!(cookie(&headers, COOKIE), None);
    }

    #[test]
    fn a_request_names_this_host_by_origin_or_else_referer() {
        let headers = |pairs: &[(header::HeaderName, &'static str)]| {
            let mut map = HeaderMap::new();
            map.insert(header::HOST, HeaderValue::from_static("admin.example:8788"));
            for (name, value) in pairs {
                map.insert(name.clone(), HeaderValue::from_static(value));
            }
            map
        };
        assert!(from_this_host(&headers(&[(header::ORIGIN, "https://admin.example:8788")])));
        assert!(!from_this_host(&headers(&[(header::ORIGIN, "https://evil.example")])));
        assert!(!from_this_host(&headers(&[(header::REFERER, "https://evil.example/admin.example:8788")])));
        assert!(from_this_host(&headers(&[(header::REFERER, "http://admin.example:8788/admin/leads/x")])));
        assert!(!from_this_host(&headers(&[(header::ORIGIN, "null"), (header::REFERER, "https://evil.example/")])));
        assert!(from_this_host(&headers(&[])));
    }

    #[test]
    fn every_form_gets_the_token() {
        let session = Session { csrf: "c5".into() };
        let html = "<p>x</p><form class=\"inline\" method=\"post\"><button>A</button></form><form method=\"post\">";
        let done = with_csrf(html, &session);
        assert_eq!(done.matches("name=\"csrf\" value=\"c5\"").count(), 2, "{done}");
        assert!(done.starts_with("<p>x</p><form class=\"inline\" method=\"post\"><input type=\"hidden\""));
    }
}
