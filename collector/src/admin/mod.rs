//! The admin side: a JSON API for sales tools (`/v1/admin/…`, the Bearer
//! token) and the server-rendered dashboard (`/admin…`, a session from the
//! login form); `auth.rs` holds both guards, `export.rs` the exports. Every
//! route but the login page sits behind one of the guards.

// Helpers here return the early answer as `Err(Response)`; the size clippy
// warns about costs nothing on these admin paths, and boxing would only add noise.
#![allow(clippy::result_large_err)]

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use serde::Deserialize;
use serde_json::json;

use crate::dashboard;
use crate::store::{Action, Erasure, Funnel, LeadFilter, LeadRow, StoreError, Verdict};
use crate::{error, json_response, App};
use auth::Session;

pub mod auth;
pub mod export;
pub use export::{csv_cell, CSV_COLUMNS};

/// Every admin route, as `(method, path)`, for documentation and for the test
/// that checks each refuses a request without the token.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/v1/admin/leads"),
    ("GET", "/v1/admin/leads/{lead_id}"),
    ("POST", "/v1/admin/leads/{lead_id}/{action}"),
    ("POST", "/v1/admin/import"),
    ("POST", "/v1/admin/erasure"),
    ("POST", "/v1/admin/retention"),
    ("GET", "/v1/admin/deliveries"),
    ("POST", "/v1/admin/deliveries/{id}/retry"),
    ("GET", "/v1/admin/conflicts"),
    ("GET", "/v1/admin/stats"),
    ("GET", "/v1/admin/export.csv"),
    ("GET", "/v1/admin/export.json"),
    ("GET", "/admin"),
    ("GET", "/admin/leads/{lead_id}"),
    ("POST", "/admin/leads/{lead_id}/{action}"),
    ("POST", "/admin/deliveries/{id}/retry"),
    ("GET", "/admin/export.csv"),
    ("GET", "/admin/export.json"),
    ("POST", "/admin/logout"),
];

/// The admin routes: the API behind the Bearer token, the dashboard behind
/// a session (auth.rs), the login page open; every answer with the admin
/// security headers.
pub fn routes(app: Arc<App>) -> Router<Arc<App>> {
    let api = Router::new()
        .route("/v1/admin/leads", get(list_leads))
        .route("/v1/admin/leads/{lead_id}", get(show_lead))
        .route("/v1/admin/leads/{lead_id}/{action}", post(api_transition))
        .route("/v1/admin/import", post(import))
        .route("/v1/admin/erasure", post(api_erase))
        .route("/v1/admin/retention", post(api_retention))
        .route("/v1/admin/deliveries", get(list_deliveries))
        .route("/v1/admin/deliveries/{id}/retry", post(api_retry))
        .route("/v1/admin/conflicts", get(list_conflicts))
        .route("/v1/admin/stats", get(stats))
        .route("/v1/admin/export.csv", get(export::csv))
        .route("/v1/admin/export.json", get(export::json))
        .route_layer(middleware::from_fn_with_state(app.clone(), auth::require_token));
    let pages = Router::new()
        .route("/admin", get(dashboard_page))
        .route("/admin/leads/{lead_id}", get(lead_page))
        .route("/admin/leads/{lead_id}/{action}", post(form_transition))
        .route("/admin/deliveries/{id}/retry", post(form_retry))
        .route("/admin/export.csv", get(export::csv))
        .route("/admin/export.json", get(export::json))
        .route("/admin/logout", post(auth::logout))
        .route_layer(middleware::from_fn_with_state(app, auth::require_session));
    Router::new()
        .route("/admin/login", get(login_page).post(auth::login))
        .merge(api)
        .merge(pages)
        .layer(middleware::from_fn(auth::security_headers))
}

fn store_error(err: StoreError) -> Response {
    match err {
        StoreError::NotFound(message) => error(StatusCode::NOT_FOUND, None, message),
        StoreError::Conflict(message) => error(StatusCode::CONFLICT, None, message),
        StoreError::Invalid(message) => {
            let field = message.split(':').next().filter(|field| !field.contains(' ')).map(str::to_string);
            error(StatusCode::BAD_REQUEST, field.as_deref(), message)
        }
        StoreError::Backend(message) => {
            tracing::error!(%message, "store failed");
            error(StatusCode::SERVICE_UNAVAILABLE, None, "storage is unavailable; retry later")
        }
    }
}

fn json(value: serde_json::Value) -> Response {
    json_response(StatusCode::OK, value)
}

/// Query of the lead list.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    site: Option<String>,
    funnel: Option<String>,
    verdict: Option<String>,
    limit: Option<u32>,
    offset: Option<u32>,
}

impl ListQuery {
    fn filter(self) -> Result<LeadFilter, Response> {
        let funnel = match self.funnel.as_deref() {
            None | Some("") => None,
            Some(name) => Some(Funnel::parse(name).ok_or_else(|| {
                error(
                    StatusCode::BAD_REQUEST,
                    Some("funnel"),
                    format!("unknown funnel stage `{name}`; use mql, sal, sql, won, lost or nurture"),
                )
            })?),
        };
        let verdict = match self.verdict.as_deref() {
            None | Some("") => None,
            Some(name) => Some(Verdict::parse(name).ok_or_else(|| {
                error(
                    StatusCode::BAD_REQUEST,
                    Some("verdict"),
                    format!("unknown verdict `{name}`; use {}", Verdict::ALL.map(Verdict::as_str).join(", ")),
                )
            })?),
        };
        Ok(LeadFilter {
            site: self.site.filter(|site| !site.is_empty()),
            funnel,
            verdict,
            limit: self.limit.unwrap_or(100),
            offset: self.offset.unwrap_or(0),
            after: None,
        })
    }
}

fn query<T: Default + for<'de> Deserialize<'de>>(raw: Option<&str>) -> Result<T, Response> {
    match raw {
        None => Ok(T::default()),
        Some(raw) => parse_query(raw).map_err(|message| error(StatusCode::BAD_REQUEST, None, message)),
    }
}

fn parse_query<T: for<'de> Deserialize<'de>>(raw: &str) -> Result<T, String> {
    Query::<T>::try_from_uri(&format!("/?{raw}").parse().map_err(|_| "malformed query string".to_string())?)
        .map(|Query(value)| value)
        .map_err(|err| err.body_text())
}

async fn list_leads(State(app): State<Arc<App>>, request: Request) -> Response {
    let filter = match query::<ListQuery>(request.uri().query()).and_then(ListQuery::filter) {
        Ok(filter) => filter,
        Err(response) => return response,
    };
    match app.blocking(move |store| store.leads(&filter)).await {
        Ok(leads) => json(json!({ "leads": leads })),
        Err(err) => store_error(err),
    }
}

/// A lead with everything about it: the row, the payload as received
/// (ledger, evidence, identity, attribution) and the funnel history.
async fn lead_detail(app: &Arc<App>, lead_id: String) -> Result<(LeadRow, Vec<crate::store::Change>), Response> {
    let id = lead_id.clone();
    let row = app.blocking(move |store| store.lead(&id)).await.map_err(store_error)?;
    let row = row.ok_or_else(|| error(StatusCode::NOT_FOUND, None, format!("no lead with lead_id `{lead_id}`")))?;
    let history = app.blocking(move |store| store.history(&lead_id)).await.map_err(store_error)?;
    Ok((row, history))
}

async fn show_lead(State(app): State<Arc<App>>, Path(lead_id): Path<String>) -> Response {
    match lead_detail(&app, lead_id).await {
        Ok((row, history)) => json(json!({ "lead": row, "payload": row.lead(), "history": history })),
        Err(response) => response,
    }
}

/// Body of a funnel step.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepBody {
    /// Why (needed to reject).
    reason: Option<String>,
}

async fn transition(
    app: &Arc<App>,
    lead_id: String,
    action: &str,
    reason: Option<String>,
) -> Result<LeadRow, Response> {
    let action = Action::parse(action).ok_or_else(|| {
        error(
            StatusCode::NOT_FOUND,
            None,
            format!("unknown action `{action}`; use accept, reject, qualify, win or lose"),
        )
    })?;
    let now = app.clock.now();
    let targets = app.targets("lead.lifecycle");
    let (row, change) = app
        .blocking(move |store| store.transition(&lead_id, action, reason, now, &targets))
        .await
        .map_err(store_error)?;
    tracing::info!(lead_id = %row.lead_id, from = %change.from, to = %change.to, "funnel step");
    app.wake.notify_one();
    Ok(row)
}

async fn api_transition(
    State(app): State<Arc<App>>,
    Path((lead_id, action)): Path<(String, String)>,
    body: Body,
) -> Response {
    let bytes = match axum::body::to_bytes(body, 16 * 1024).await {
        Ok(bytes) => bytes,
        Err(_) => return error(StatusCode::PAYLOAD_TOO_LARGE, None, "the body is over 16 KiB"),
    };
    let step: StepBody = if bytes.iter().all(u8::is_ascii_whitespace) {
        StepBody::default()
    } else {
        match serde_json::from_slice(&bytes) {
            Ok(step) => step,
            Err(err) => {
                return error(StatusCode::BAD_REQUEST, Some("reason"), format!("expected {{\"reason\": \"…\"}}: {err}"))
            }
        }
    };
    match transition(&app, lead_id, &action, step.reason).await {
        Ok(row) => json(json!({ "lead": row })),
        Err(response) => response,
    }
}

/// Body of an erasure request: exactly one of the two.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EraseBody {
    email: Option<String>,
    lead_id: Option<String>,
    site: Option<String>,
    visitor_id: Option<String>,
}

async fn api_erase(State(app): State<Arc<App>>, body: Body) -> Response {
    let bytes = axum::body::to_bytes(body, 16 * 1024).await.unwrap_or_default();
    let request: EraseBody = match serde_json::from_slice(&bytes) {
        Ok(request) => request,
        Err(err) => {
            return error(
                StatusCode::BAD_REQUEST,
                None,
                format!("expected {{\"email\": …}}, {{\"lead_id\": …}} or {{\"site\": …, \"visitor_id\": …}}: {err}"),
            )
        }
    };
    let erasure = match (request.email, request.lead_id, request.site, request.visitor_id) {
        (Some(email), None, None, None) if email.contains('@') => Erasure::Email(email),
        (Some(_), None, None, None) => return error(StatusCode::BAD_REQUEST, Some("email"), "not an email address"),
        (None, Some(lead_id), None, None) if !lead_id.is_empty() => Erasure::LeadId(lead_id),
        (None, None, Some(site), Some(visitor_id)) if !site.is_empty() && !visitor_id.is_empty() => {
            Erasure::Visitor { site, visitor_id }
        }
        _ => {
            let message = "give exactly one of `email`, `lead_id`, or `site` with `visitor_id`";
            return error(StatusCode::BAD_REQUEST, None, message);
        }
    };
    let now = app.clock.now();
    match app.blocking(move |store| store.erase(&erasure, now)).await {
        Ok(erased) => {
            tracing::info!(leads = erased.leads, deliveries = erased.deliveries, "erasure done");
            json(json!({ "erased": erased }))
        }
        Err(err) => store_error(err),
    }
}

/// Deletes leads older than the retention setting; the number deleted.
pub async fn apply_retention(app: &Arc<App>) -> Result<u64, StoreError> {
    let Some(days) = app.settings.retention_days else { return Ok(0) };
    let cutoff = app.clock.now() - i64::from(days) * 86_400_000;
    app.blocking(move |store| store.delete_older_than(cutoff)).await
}

async fn api_retention(State(app): State<Arc<App>>) -> Response {
    let Some(days) = app.settings.retention_days else {
        return error(
            StatusCode::CONFLICT,
            None,
            "no retention is set; set retention_days or LEADSCORE_RETENTION_DAYS",
        );
    };
    match apply_retention(&app).await {
        Ok(deleted) => json(json!({ "deleted": deleted, "retention_days": days })),
        Err(err) => store_error(err),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeliveryQuery {
    dead: Option<bool>,
}

async fn list_deliveries(State(app): State<Arc<App>>, request: Request) -> Response {
    let dead = match query::<DeliveryQuery>(request.uri().query()) {
        Ok(query) => query.dead.unwrap_or(true),
        Err(response) => return response,
    };
    match app.blocking(move |store| store.deliveries(dead)).await {
        Ok(deliveries) => json(json!({ "deliveries": deliveries })),
        Err(err) => store_error(err),
    }
}

async fn retry(app: &Arc<App>, id: i64) -> Result<(), Response> {
    let now = app.clock.now();
    app.blocking(move |store| store.retry_delivery(id, now)).await.map_err(store_error)?;
    app.wake.notify_one();
    Ok(())
}

async fn api_retry(State(app): State<Arc<App>>, Path(id): Path<i64>) -> Response {
    match retry(&app, id).await {
        Ok(()) => json(json!({ "retrying": id })),
        Err(response) => response,
    }
}

async fn list_conflicts(State(app): State<Arc<App>>) -> Response {
    match app.blocking(|store| store.conflicts(1000)).await {
        Ok(conflicts) => json(json!({ "conflicts": conflicts })),
        Err(err) => store_error(err),
    }
}

/// `POST /v1/admin/import`: a lead from a server (a CRM sync, a backfill),
/// read, checked, verified and stored exactly like a browser's post, but
/// admitted by the admin token instead of an `Origin`, and not rate-limited.
async fn import(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Response {
    let lead = match crate::ingest::read_lead(body, &headers).await {
        Ok(lead) => lead,
        Err(refusal) => return crate::ingest::refused(refusal),
    };
    let Some(site) = app.settings.sites.get(&lead.site) else {
        return error(StatusCode::BAD_REQUEST, Some("site"), format!("unknown site `{}`", lead.site));
    };
    crate::ingest::store_lead(&app, lead, site, app.clock.now()).await
}

async fn stats(State(app): State<Arc<App>>) -> Response {
    let now = app.clock.now();
    match app.blocking(move |store| store.stats(now, 30)).await {
        Ok(stats) => json(json!({ "stats": stats })),
        Err(err) => store_error(err),
    }
}

async fn dashboard_page(State(app): State<Arc<App>>, Extension(session): Extension<Session>) -> Response {
    let now = app.clock.now();
    let stats = app.blocking(move |store| store.stats(now, 30)).await;
    let leads = app.blocking(|store| store.leads(&LeadFilter { limit: 200, ..LeadFilter::default() })).await;
    let dead = app.blocking(|store| store.deliveries(true)).await;
    match (stats, leads, dead) {
        (Ok(stats), Ok(leads), Ok(dead)) => {
            let sites: Vec<&str> = app.settings.sites.keys().map(String::as_str).collect();
            let html = dashboard::overview(&stats, &leads, &dead, &sites);
            axum::response::Html(auth::with_csrf(&html, &session)).into_response()
        }
        (Err(err), _, _) | (_, Err(err), _) | (_, _, Err(err)) => store_error(err),
    }
}

async fn lead_page(
    State(app): State<Arc<App>>,
    Extension(session): Extension<Session>,
    Path(lead_id): Path<String>,
) -> Response {
    match lead_detail(&app, lead_id).await {
        Ok((row, history)) => {
            axum::response::Html(auth::with_csrf(&dashboard::lead(&row, &history, None), &session)).into_response()
        }
        Err(response) => response,
    }
}

/// The lifecycle form's fields.
#[derive(Debug, Deserialize)]
pub struct StepForm {
    /// Why (needed to reject).
    #[serde(default)]
    reason: String,
    /// The session's CSRF token, checked by `auth::require_session`.
    #[serde(default)]
    #[allow(dead_code)]
    csrf: String,
}

async fn form_transition(
    State(app): State<Arc<App>>,
    Extension(session): Extension<Session>,
    Path((lead_id, action)): Path<(String, String)>,
    Form(form): Form<StepForm>,
) -> Response {
    let reason = Some(form.reason).filter(|reason| !reason.trim().is_empty());
    match transition(&app, lead_id.clone(), &action, reason).await {
        Ok(_) => Redirect::to(&format!("/admin/leads/{lead_id}")).into_response(),
        Err(response) if response.status() == StatusCode::CONFLICT || response.status() == StatusCode::BAD_REQUEST => {
            // Show the lead again with the reason the step was refused.
            let status = response.status();
            let message =
                String::from_utf8(axum::body::to_bytes(response.into_body(), 4096).await.unwrap_or_default().to_vec())
                    .ok()
                    .and_then(|body| serde_json::from_str::<serde_json::Value>(&body).ok())
                    .and_then(|body| body["error"].as_str().map(str::to_string))
                    .unwrap_or_default();
            match lead_detail(&app, lead_id).await {
                Ok((row, history)) => {
                    let html = dashboard::lead(&row, &history, Some(&message));
                    (status, axum::response::Html(auth::with_csrf(&html, &session))).into_response()
                }
                Err(response) => response,
            }
        }
        Err(response) => response,
    }
}

async fn form_retry(State(app): State<Arc<App>>, Path(id): Path<i64>) -> Response {
    match retry(&app, id).await {
        Ok(()) => Redirect::to("/admin#dead-letters").into_response(),
        Err(response) => response,
    }
}

async fn login_page() -> Response {
    axum::response::Html(dashboard::login(None)).into_response()
}
