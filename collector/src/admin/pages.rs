//! The dashboard's pages and forms (`/admin…`, behind a session): HTML
//! from `dashboard.rs`, every form with the session's CSRF token.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use serde::Deserialize;

use super::auth::{self, Session};
use crate::dashboard;
use crate::store::LeadFilter;
use crate::{ApiError, App};

/// `GET /admin`: the overview.
pub async fn overview(
    State(app): State<Arc<App>>,
    Extension(session): Extension<Session>,
) -> Result<Response, ApiError> {
    let now = app.clock.now();
    let stats = app.blocking(move |store| store.stats(now, 30)).await?;
    let leads = app.blocking(|store| store.leads(&LeadFilter { limit: 200, ..LeadFilter::default() })).await?;
    let dead = app.blocking(|store| store.deliveries(true)).await?;
    let sites: Vec<&str> = app.settings.sites.keys().map(String::as_str).collect();
    let html = dashboard::overview(&stats, &leads, &dead, &sites);
    Ok(Html(auth::with_csrf(&html, &session)).into_response())
}

/// `GET /admin/leads/{lead_id}`.
pub async fn lead(
    State(app): State<Arc<App>>,
    Extension(session): Extension<Session>,
    Path(lead_id): Path<String>,
) -> Result<Response, ApiError> {
    let (row, history) = super::lead_detail(&app, lead_id).await?;
    Ok(Html(auth::with_csrf(&dashboard::lead(&row, &history, None), &session)).into_response())
}

/// The lifecycle form's fields.
#[derive(Debug, Deserialize)]
pub struct StepForm {
    /// Why (needed to reject).
    #[serde(default)]
    reason: String,
    /// The session's CSRF token, checked by `auth::require_session`.
    #[serde(default, rename = "csrf")]
    _csrf: String,
}

/// `POST /admin/leads/{lead_id}/{action}`: a funnel button. A step the
/// funnel refuses shows the lead again with the reason.
pub async fn transition(
    State(app): State<Arc<App>>,
    Extension(session): Extension<Session>,
    Path((lead_id, action)): Path<(String, String)>,
    Form(form): Form<StepForm>,
) -> Result<Response, ApiError> {
    let reason = Some(form.reason).filter(|reason| !reason.trim().is_empty());
    match super::transition(&app, lead_id.clone(), &action, reason).await {
        Ok(_) => Ok(Redirect::to(&format!("/admin/leads/{lead_id}")).into_response()),
        Err(refused) if refused.status == StatusCode::CONFLICT || refused.status == StatusCode::BAD_REQUEST => {
            let (row, history) = super::lead_detail(&app, lead_id).await?;
            let html = dashboard::lead(&row, &history, Some(&refused.message));
            Ok((refused.status, Html(auth::with_csrf(&html, &session))).into_response())
        }
        Err(refused) => Err(refused),
    }
}

/// `POST /admin/deliveries/{id}/retry`: a dead letter's retry button.
pub async fn retry(State(app): State<Arc<App>>, Path(id): Path<i64>) -> Result<Response, ApiError> {
    super::retry(&app, id).await?;
    Ok(Redirect::to("/admin#dead-letters").into_response())
}

/// `GET /admin/login`.
pub async fn login() -> Response {
    Html(dashboard::login(None)).into_response()
}
