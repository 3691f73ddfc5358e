//! The public endpoints browsers call: `POST /v1/leads` (with its CORS
//! preflight), `POST /v1/forget` for a visitor's own erasure, and the site
//! rule sets at `/v1/sites/{site}/config.json`. Everything a browser sends is
//! untrusted: bounded, decoded carefully, checked field by field, and
//! answered with a JSON error that names the field.

use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use leadscore::core::lead::MAX_LEAD_BYTES;
use leadscore::core::sha256::sha256_hex;
use leadscore::core::{Lead, Timestamp};
use serde_json::json;

use crate::settings::Site;
use crate::store::{Erasure, Inserted, NewLead};
use crate::{error, json_response, ApiError, App};

/// A compressed body may expand at most this much; real leads compress 5–15×.
pub const MAX_RATIO: usize = 100;

/// Longest `site`, `visitor_id`, identity value or other short string accepted.
const MAX_SHORT: usize = 256;

/// The public routes, the two posts behind the one CORS layer (`cors`).
pub fn routes(app: Arc<App>) -> Router<Arc<App>> {
    Router::new()
        .route("/v1/leads", post(post_lead).options(preflight))
        .route("/v1/forget", post(forget).options(preflight))
        .route_layer(middleware::from_fn_with_state(app, cors))
        .route("/v1/sites/{site}/config.json", get(site_config))
        .route("/v1/sites/{site}/compiled.json", get(site_compiled))
        .route("/healthz", get(health))
}

/// `GET /healthz`: `200 {"status":"ok"}` when the store can write, else
/// `503` with the reason, for a load balancer's health check.
async fn health(State(app): State<Arc<App>>) -> Response {
    match app.blocking(|store| store.ping()).await {
        Ok(()) => json_response(StatusCode::OK, serde_json::json!({ "status": "ok" })),
        Err(err) => {
            tracing::warn!(%err, "health check: the store does not answer");
            error(StatusCode::SERVICE_UNAVAILABLE, None, "storage is unavailable")
        }
    }
}

/// Which site a public answer was for, once the body said so: the CORS
/// layer answers for that site's origins.
#[derive(Clone, Debug)]
struct ForSite(String);

/// An answer for `site`.
fn for_site(mut response: Response, site: &str) -> Response {
    response.extensions_mut().insert(ForSite(site.to_string()));
    response
}

/// Why a body was refused: the collector's one error type, with the field
/// at fault named by its JSON path (`lead` for the body as a whole).
pub type Refusal = ApiError;

fn refuse(status: StatusCode, field: &str, message: impl Into<String>) -> Refusal {
    ApiError::new(status, Some(field), message)
}

/// Turns a received body into text: checks the media type, undoes gzip
/// within the size and ratio limits, and requires UTF-8. Never panics,
/// whatever the bytes.
pub fn decode_body(content_type: Option<&str>, content_encoding: Option<&str>, body: &[u8]) -> Result<String, Refusal> {
    let media = content_type.unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if media != "text/plain" && media != "application/json" {
        return Err(refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "content-type",
            format!("`{media}` is not accepted; send text/plain or application/json"),
        ));
    }
    let bytes = match content_encoding.map(|encoding| encoding.trim().to_ascii_lowercase()) {
        None => body.to_vec(),
        Some(encoding) if encoding.is_empty() || encoding == "identity" => body.to_vec(),
        Some(encoding) if encoding == "gzip" => gunzip(body)?,
        Some(encoding) => {
            return Err(refuse(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "content-encoding",
                format!("`{encoding}` is not accepted; send gzip or no encoding"),
            ))
        }
    };
    if bytes.len() > MAX_LEAD_BYTES {
        return Err(too_large(bytes.len()));
    }
    String::from_utf8(bytes).map_err(|err| {
        refuse(
            StatusCode::BAD_REQUEST,
            "lead",
            format!("the body is not valid UTF-8 (at byte {})", err.utf8_error().valid_up_to()),
        )
    })
}

fn too_large(size: usize) -> Refusal {
    refuse(
        StatusCode::PAYLOAD_TOO_LARGE,
        "lead",
        format!("the body is {size} bytes or more; the limit is {MAX_LEAD_BYTES} (64 KiB)"),
    )
}

/// Inflates at most one byte past the limit, so a bomb costs 64 KiB of
/// work, not gigabytes.
fn gunzip(body: &[u8]) -> Result<Vec<u8>, Refusal> {
    let mut inflated = Vec::new();
    let mut decoder = flate2::read::GzDecoder::new(body).take(MAX_LEAD_BYTES as u64 + 1);
    decoder.read_to_end(&mut inflated).map_err(|err| {
        refuse(StatusCode::BAD_REQUEST, "content-encoding", format!("the gzip body is corrupt: {err}"))
    })?;
    if inflated.len() > MAX_LEAD_BYTES {
        return Err(refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "lead",
            format!("the body inflates past {MAX_LEAD_BYTES} bytes (64 KiB), the limit"),
        ));
    }
    if inflated.len() > 1024 && inflated.len() > body.len().saturating_mul(MAX_RATIO) {
        return Err(refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "content-encoding",
            format!("the body inflates {}× ; at most {MAX_RATIO}× is accepted", inflated.len() / body.len().max(1)),
        ));
    }
    Ok(inflated)
}

/// Reads a lead from decoded text. A wrong type, a missing, unknown or
/// repeated field, a record sent as a positional array instead of an object,
/// or any bound of the payload broken (`Lead::check`, docs/lead.md,
/// "Bounds") is named by its path (`score`, `evidence[3].at`).
pub fn parse_lead(text: &str) -> Result<Lead, Refusal> {
    if text.len() > MAX_LEAD_BYTES {
        return Err(too_large(text.len()));
    }
    let shape: serde_json::Value =
        serde_json::from_str(text).map_err(|err| refuse(StatusCode::BAD_REQUEST, "lead", err.to_string()))?;
    objects_only(&shape)?;
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let lead: Lead = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        // serde names a missing or repeated field in its message, not its path.
        let message = inner.to_string();
        let named = message
            .split('`')
            .nth(1)
            .filter(|_| message.contains("missing field") || message.contains("duplicate field"));
        let field = match (named, path.as_str()) {
            (Some(name), ".") => name.to_string(),
            (Some(name), parent) => format!("{parent}.{name}"),
            (None, "." | "" | "?") => "lead".to_string(),
            (None, path) => path.to_string(),
        };
        refuse(StatusCode::BAD_REQUEST, &field, message)
    })?;
    deserializer.end().map_err(|err| refuse(StatusCode::BAD_REQUEST, "lead", err.to_string()))?;
    lead.check().map_err(|err| refuse(StatusCode::BAD_REQUEST, &err.field, err.message))?;
    Ok(lead)
}

/// Refuses records written as arrays: serde reads `["1", …]` into a struct
/// field by field, which no sender of ours writes and no reader should guess.
fn objects_only(lead: &serde_json::Value) -> Result<(), Refusal> {
    let object = |value: &serde_json::Value, path: &str, nullable: bool| match value {
        serde_json::Value::Object(_) => Ok(()),
        serde_json::Value::Null if nullable => Ok(()),
        _ => Err(refuse(StatusCode::BAD_REQUEST, path, "must be a JSON object")),
    };
    object(lead, "lead", false)?;
    if let Some(touch) = lead.get("touch") {
        object(touch, "touch", false)?;
        for name in ["first", "last"] {
            if let Some(value) = touch.get(name) {
                object(value, &format!("touch.{name}"), true)?;
            }
        }
    }
    for list in ["ledger", "evidence"] {
        if let Some(serde_json::Value::Array(items)) = lead.get(list) {
            for (index, item) in items.iter().enumerate() {
                object(item, &format!("{list}[{index}]"), false)?;
            }
        }
    }
    Ok(())
}

/// The client address: the socket peer, or the first `X-Forwarded-For`
/// hop when the collector is told it runs behind a proxy.
pub fn client_ip(app: &App, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
    if app.settings.trust_proxy {
        let forwarded = headers.get("x-forwarded-for").and_then(|value| value.to_str().ok());
        if let Some(ip) = forwarded.and_then(|value| value.split(',').next()).and_then(|ip| ip.trim().parse().ok()) {
            return ip;
        }
    }
    peer.ip()
}

fn origin(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ORIGIN).and_then(|value| value.to_str().ok())
}

/// The CORS layer of the public posts: a preflight is answered here (`204`
/// when some site allows the origin, else `403`); every other answer gets
/// `Access-Control-Allow-Origin` when its site (or, before the body says
/// which, any site) allows the origin, and exposes `Retry-After` so the
/// widget can read how long to back off.
async fn cors(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let origin = origin(request.headers()).map(str::to_string);
    let any_site = |origin: &str| app.settings.sites.values().any(|site| site.allows(origin));
    let preflight = request.method() == Method::OPTIONS;
    if preflight && !origin.as_deref().is_some_and(any_site) {
        let mut response = error(StatusCode::FORBIDDEN, Some("origin"), "this origin may not post leads here");
        response.headers_mut().insert(header::VARY, HeaderValue::from_static("Origin"));
        return response;
    }
    let mut response = next.run(request).await;
    let site = response.extensions().get::<ForSite>().and_then(|ForSite(name)| app.settings.sites.get(name));
    let headers = response.headers_mut();
    headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    let Some(origin) = origin else { return response };
    let allowed = match site {
        Some(site) => site.allows(&origin),
        None => any_site(&origin),
    };
    if let (true, Ok(value)) = (allowed, HeaderValue::from_str(&origin)) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("Retry-After"));
        if preflight {
            headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("POST"));
            let allow = HeaderValue::from_static("Content-Type, Content-Encoding");
            headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, allow);
            headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400"));
        }
    }
    response
}

fn too_many(seconds: u64, what: &str) -> Response {
    let mut response = error(
        StatusCode::TOO_MANY_REQUESTS,
        None,
        format!("too many lead posts from this {what}; retry in {seconds} s"),
    );
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

/// A preflight the CORS layer admitted.
async fn preflight() -> StatusCode {
    StatusCode::NO_CONTENT
}

async fn read_body(body: Body, headers: &HeaderMap) -> Result<String, Refusal> {
    // The wire limit: 64 KiB of (possibly compressed) bytes.
    let bytes: Bytes = axum::body::to_bytes(body, MAX_LEAD_BYTES).await.map_err(|_| too_large(MAX_LEAD_BYTES + 1))?;
    let text = |name| headers.get(name).and_then(|value: &HeaderValue| value.to_str().ok());
    decode_body(text(header::CONTENT_TYPE), text(header::CONTENT_ENCODING), &bytes)
}

/// Reads and checks a lead posted in `body`, as `POST /v1/leads` does.
pub async fn read_lead(body: Body, headers: &HeaderMap) -> Result<Lead, Refusal> {
    read_body(body, headers).await.and_then(|text| parse_lead(&text))
}

/// The answer for a refusal, naming its field.
pub fn refused(refusal: Refusal) -> Response {
    refusal.into_response()
}

async fn post_lead(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let origin = origin(&headers).map(str::to_string);
    receive(&app, client_ip(&app, peer, &headers), origin.as_deref(), &headers, body).await
}

/// The answer to a lead post, marked with its site once known.
async fn receive(app: &Arc<App>, ip: IpAddr, origin: Option<&str>, headers: &HeaderMap, body: Body) -> Response {
    let now = app.clock.now();
    if let Err(seconds) = app.ip_limits.check(&ip, now) {
        tracing::warn!(%ip, "lead post rate-limited per address");
        return too_many(seconds, "address");
    }
    let lead = match read_lead(body, headers).await {
        Ok(lead) => lead,
        Err(refusal) => {
            tracing::info!(%ip, field = refusal.field.as_deref().unwrap_or(""), message = %refusal.message, "lead refused");
            return refusal.into_response();
        }
    };
    let site = match known_site(app, &lead.site, origin) {
        Ok(site) => site,
        Err(refusal) => return for_site(refusal.into_response(), &lead.site),
    };
    if let Err(seconds) = app.site_limits.check(&lead.site, now) {
        tracing::warn!(site = %lead.site, "lead post rate-limited per site");
        return for_site(too_many(seconds, "site"), &lead.site);
    }
    let name = lead.site.clone();
    for_site(store_lead(app, lead, site, now).await, &name)
}

/// Verifies `lead` under `site`'s rules on the collector's clock (`now`),
/// stores it and answers: the path a browser's post and an admin import
/// share once the caller is admitted.
pub async fn store_lead(app: &Arc<App>, lead: Lead, site: &Site, now: Timestamp) -> Response {
    let checked = crate::verify::verify(&lead, site.config.clone(), now);
    let lead_id = lead.lead_id.clone();
    let new = NewLead {
        lead,
        verified_score: checked.score,
        verified_stage: checked.stage,
        verdict: checked.verdict,
        received_at: now,
    };
    let targets = app.targets("lead.created");
    let inserted = app.blocking(move |store| store.insert_lead(new, &targets)).await;
    let response = match inserted {
        Ok(Inserted::Created(row)) => {
            if checked.verdict.flagged() {
                tracing::warn!(%lead_id, claimed = row.claimed_score, verified = row.verified_score,
                    verdict = row.verdict.as_str(), "lead stored; its claim did not verify");
            } else {
                tracing::info!(%lead_id, site = %row.site, stage = %row.stage, "lead stored");
            }
            app.wake.notify_one();
            let body = json!({
                "status": "created",
                "lead_id": lead_id,
                "verdict": row.verdict,
                "verified_score": row.verified_score,
                "verified_stage": row.verified_stage,
            });
            json_response(StatusCode::CREATED, body)
        }
        Ok(Inserted::Duplicate) => json_response(StatusCode::OK, json!({ "status": "duplicate", "lead_id": lead_id })),
        Ok(Inserted::Conflict(reason)) => {
            tracing::warn!(%lead_id, %reason, "a repeat of a stored lead differs; kept aside, the stored lead unchanged");
            let body = json!({ "status": "conflict", "lead_id": lead_id, "reason": reason });
            json_response(StatusCode::OK, body)
        }
        Ok(Inserted::Suppressed) => {
            tracing::info!("lead from an erased visitor or email refused");
            json_response(StatusCode::OK, json!({ "status": "suppressed" }))
        }
        Err(err) => {
            tracing::error!(%lead_id, %err, "cannot store a lead");
            let mut response = error(StatusCode::SERVICE_UNAVAILABLE, None, "storage is unavailable; retry later");
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            response
        }
    };
    response
}

/// The site named in a request, if this collector serves it and a browser's
/// `origin` may call for it.
fn known_site<'a>(app: &'a App, name: &str, origin: Option<&str>) -> Result<&'a Site, ApiError> {
    let Some(site) = app.settings.sites.get(name) else {
        let message = format!("unknown site `{name}`; this collector serves {}", site_names(app));
        return Err(ApiError::bad_request("site", message));
    };
    if origin.is_none() && site.require_origin {
        let message = format!(
            "no Origin header: posts for site `{name}` come from a browser on its site; \
             a server imports leads with POST /v1/admin/import and the admin token"
        );
        return Err(ApiError::new(StatusCode::FORBIDDEN, Some("origin"), message));
    }
    if let Some(origin) = origin.filter(|origin| !site.allows(origin)) {
        let message = format!("origin {origin} may not call this collector for site `{name}`");
        return Err(ApiError::new(StatusCode::FORBIDDEN, Some("origin"), message));
    }
    Ok(site)
}

fn site_names(app: &App) -> String {
    let names: Vec<String> = app.settings.sites.keys().map(|name| format!("`{name}`")).collect();
    if names.is_empty() {
        "no sites yet (add [[sites]] to the settings)".into()
    } else {
        names.join(", ")
    }
}

/// `POST /v1/forget` `{"site": …, "visitor_id": …, "secret": …}`: the
/// widget's `forget()` asks the collector to erase what it holds about this
/// browser's visitor. The secret, kept in the visitor's record and sent
/// nowhere else, is what entitles the caller: only leads carrying its
/// digest are erased (the visitor id alone, which dashboards, exports and
/// webhooks show, is not enough). The answer is the same whether anything
/// matched, so it tells nobody whether an id exists.
async fn forget(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let origin = origin(&headers).map(str::to_string);
    erase_visitor(&app, client_ip(&app, peer, &headers), origin.as_deref(), &headers, body).await
}

/// The answer to a visitor's erasure request, marked with its site once known.
async fn erase_visitor(app: &Arc<App>, ip: IpAddr, origin: Option<&str>, headers: &HeaderMap, body: Body) -> Response {
    if let Err(seconds) = app.ip_limits.check(&ip, app.clock.now()) {
        return too_many(seconds, "address");
    }
    let request = read_body(body, headers).await.and_then(|text| {
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|err| refuse(StatusCode::BAD_REQUEST, "lead", format!("not JSON: {err}")))?;
        let field = |name: &str| {
            value
                .get(name)
                .and_then(|field| field.as_str())
                .filter(|text| !text.is_empty() && text.len() <= MAX_SHORT)
                .map(str::to_string)
                .ok_or_else(|| refuse(StatusCode::BAD_REQUEST, name, format!("`{name}` must be a non-empty string")))
        };
        Ok((field("site")?, field("visitor_id")?, field("secret")?))
    });
    let (site, visitor_id, secret) = match request {
        Ok(request) => request,
        Err(refusal) => return refusal.into_response(),
    };
    if let Err(refusal) = known_site(app, &site, origin) {
        return for_site(refusal.into_response(), &site);
    }
    let now = app.clock.now();
    let erasure = Erasure::Secret { site: site.clone(), visitor_id, erasure: sha256_hex(secret.as_bytes()) };
    let response = match app.blocking(move |store| store.erase(&erasure, now)).await {
        Ok(erased) => {
            tracing::info!(leads = erased.leads, "erasure asked from a visitor's browser");
            json_response(StatusCode::OK, json!({ "status": "received" }))
        }
        Err(err) => error(StatusCode::SERVICE_UNAVAILABLE, None, format!("cannot erase now: {err}")),
    };
    for_site(response, &site)
}

/// The rule set a site's widget loads: public, cacheable, any origin.
async fn site_config(State(app): State<Arc<App>>, Path(site): Path<String>) -> Response {
    let name = site.strip_suffix(".json").unwrap_or(&site);
    let Some(site) = app.settings.sites.get(name) else {
        return error(StatusCode::NOT_FOUND, Some("site"), format!("unknown site `{name}`"));
    };
    (config_headers(site), site.config_json.clone()).into_response()
}

/// The site's config compiled (`Config::to_text`, as a JSON string): the
/// same config, which the widget reads without loading its config compiler
/// (`data-config` pointing here).
async fn site_compiled(State(app): State<Arc<App>>, Path(site): Path<String>) -> Response {
    let Some(site) = app.settings.sites.get(&site) else {
        return error(StatusCode::NOT_FOUND, Some("site"), format!("unknown site `{site}`"));
    };
    (config_headers(site), format!("\"{}\"", site.config.to_text())).into_response()
}

/// Served configs are public, cached for five minutes, tagged by their hash.
fn config_headers(site: &crate::settings::Site) -> [(header::HeaderName, HeaderValue); 4] {
    [
        (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
        (header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*")),
        (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300")),
        (
            header::ETAG,
            HeaderValue::from_str(&format!("\"{}\"", site.config.hash_hex())).expect("hex is a valid header"),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn media_types_and_encodings_are_checked() {
        let ok = |ct, ce| decode_body(Some(ct), ce, b"{}");
        assert_eq!(ok("text/plain;charset=UTF-8", None).unwrap(), "{}");
        assert_eq!(ok("application/json", Some("identity")).unwrap(), "{}");
        let refusal = ok("application/x-www-form-urlencoded", None).unwrap_err();
        assert_eq!(
            (refusal.status, refusal.field.as_deref().unwrap_or("")),
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "content-type")
        );
        let refusal = ok("text/plain", Some("br")).unwrap_err();
        assert_eq!(
            (refusal.status, refusal.field.as_deref().unwrap_or("")),
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "content-encoding")
        );
        let refusal = decode_body(None, None, b"{}").unwrap_err();
        assert!(refusal.message.contains("send text/plain or application/json"), "{}", refusal.message);
    }

    #[test]
    fn gzip_bodies_inflate_within_bounds() {
        let text = r#"{"v":1,"site":"acme"}"#.repeat(40);
        assert_eq!(decode_body(Some("text/plain"), Some("gzip"), &gzip(text.as_bytes())).unwrap(), text);
        let bomb = gzip(&vec![b' '; 10 * 1024 * 1024]);
        assert!(bomb.len() < MAX_LEAD_BYTES);
        let refusal = decode_body(Some("text/plain"), Some("gzip"), &bomb).unwrap_err();
        assert_eq!(refusal.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(refusal.message.contains("inflates past"), "{}", refusal.message);
        let ratio = gzip(&vec![b' '; 60 * 1024]);
        let refusal = decode_body(Some("text/plain"), Some("gzip"), &ratio).unwrap_err();
        assert_eq!(
            (refusal.status, refusal.field.as_deref().unwrap_or("")),
            (StatusCode::PAYLOAD_TOO_LARGE, "content-encoding")
        );
        let refusal = decode_body(Some("text/plain"), Some("gzip"), b"not gzip at all").unwrap_err();
        assert_eq!(
            (refusal.status, refusal.field.as_deref().unwrap_or("")),
            (StatusCode::BAD_REQUEST, "content-encoding")
        );
    }

    #[test]
    fn invalid_utf8_names_the_byte() {
        let refusal = decode_body(Some("text/plain"), None, b"{\"a\":\"\xff\"}").unwrap_err();
        assert_eq!(refusal.status, StatusCode::BAD_REQUEST);
        assert!(refusal.message.contains("not valid UTF-8 (at byte 6)"), "{}", refusal.message);
    }
}
