//! The admin side: a JSON API for sales tools (`/v1/admin/…`, the Bearer
//! token) and the server-rendered dashboard (`/admin…`, a session from the
//! login form); `auth.rs` holds both guards, `export.rs` the exports. Every
//! route but the login page sits behind one of the guards.

use std::sync::Arc;

use axum::extract::Query;
use axum::http::StatusCode;
use axum::middleware;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use crate::store::{Action, Change, LeadRow, StoreError};
use crate::{ApiError, App};

pub mod api;
pub mod auth;
pub mod export;
pub mod insights;
pub mod pages;
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
    ("GET", "/v1/admin/insights"),
    ("POST", "/v1/admin/what-if"),
    ("GET", "/v1/admin/export.csv"),
    ("GET", "/v1/admin/export.json"),
    ("GET", "/admin"),
    ("GET", "/admin/leads/{lead_id}"),
    ("GET", "/admin/insights"),
    ("POST", "/admin/insights/what-if"),
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
        .route("/v1/admin/leads", get(api::list_leads))
        .route("/v1/admin/leads/{lead_id}", get(api::show_lead))
        .route("/v1/admin/leads/{lead_id}/{action}", post(api::transition))
        .route("/v1/admin/import", post(api::import))
        .route("/v1/admin/erasure", post(api::erase))
        .route("/v1/admin/retention", post(api::retention))
        .route("/v1/admin/deliveries", get(api::list_deliveries))
        .route("/v1/admin/deliveries/{id}/retry", post(api::retry))
        .route("/v1/admin/conflicts", get(api::list_conflicts))
        .route("/v1/admin/stats", get(api::stats))
        .route("/v1/admin/insights", get(insights::get_insights))
        .route("/v1/admin/what-if", post(insights::post_what_if))
        .route("/v1/admin/export.csv", get(export::csv))
        .route("/v1/admin/export.json", get(export::json))
        .route_layer(middleware::from_fn_with_state(app.clone(), auth::require_token));
    let pages = Router::new()
        .route("/admin", get(pages::overview))
        .route("/admin/leads/{lead_id}", get(pages::lead))
        .route("/admin/insights", get(insights::insights_page))
        .route("/admin/insights/what-if", post(insights::what_if_page))
        .route("/admin/leads/{lead_id}/{action}", post(pages::transition))
        .route("/admin/deliveries/{id}/retry", post(pages::retry))
        .route("/admin/export.csv", get(export::csv))
        .route("/admin/export.json", get(export::json))
        .route("/admin/logout", post(auth::logout))
        .route_layer(middleware::from_fn_with_state(app, auth::require_session));
    Router::new()
        .route("/admin/login", get(pages::login).post(auth::login))
        .merge(api)
        .merge(pages)
        .layer(middleware::from_fn(auth::security_headers))
}

/// A query string read into `T`, or a `400`.
fn query<T: Default + for<'de> Deserialize<'de>>(raw: Option<&str>) -> Result<T, ApiError> {
    let Some(raw) = raw else { return Ok(T::default()) };
    let uri = format!("/?{raw}")
        .parse()
        .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, None, "malformed query string"))?;
    Query::<T>::try_from_uri(&uri)
        .map(|Query(value)| value)
        .map_err(|err| ApiError::new(StatusCode::BAD_REQUEST, None, err.body_text()))
}

/// A lead with everything about it: the row, and the funnel history.
async fn lead_detail(app: &Arc<App>, lead_id: String) -> Result<(LeadRow, Vec<Change>), ApiError> {
    let id = lead_id.clone();
    let row = app.blocking(move |store| store.lead(&id)).await?;
    let row =
        row.ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, None, format!("no lead with lead_id `{lead_id}`")))?;
    let history = app.blocking(move |store| store.history(&lead_id)).await?;
    Ok((row, history))
}

/// A funnel step, from the API or a dashboard form.
async fn transition(
    app: &Arc<App>,
    lead_id: String,
    action: &str,
    reason: Option<String>,
) -> Result<LeadRow, ApiError> {
    let action = Action::parse(action).ok_or_else(|| {
        let message = format!("unknown action `{action}`; use accept, reject, qualify, win or lose");
        ApiError::new(StatusCode::NOT_FOUND, None, message)
    })?;
    let now = app.clock.now();
    let targets = app.targets("lead.lifecycle");
    let (row, change) = app.blocking(move |store| store.transition(&lead_id, action, reason, now, &targets)).await?;
    tracing::info!(lead_id = %row.lead_id, from = %change.from, to = %change.to, "funnel step");
    app.wake.notify_one();
    Ok(row)
}

/// Puts a dead letter back in the outbox.
async fn retry(app: &Arc<App>, id: i64) -> Result<(), ApiError> {
    let now = app.clock.now();
    app.blocking(move |store| store.retry_delivery(id, now)).await?;
    app.wake.notify_one();
    Ok(())
}

/// Deletes leads older than the retention setting; the number deleted.
pub async fn apply_retention(app: &Arc<App>) -> Result<u64, StoreError> {
    let Some(days) = app.settings.retention_days else { return Ok(0) };
    let cutoff = app.clock.now().minus_millis(u64::from(days) * leadscore::core::time::DAY_MS);
    app.blocking(move |store| store.delete_older_than(cutoff)).await
}
