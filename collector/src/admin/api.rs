//! The admin API's handlers (`/v1/admin/…`, behind the Bearer token): JSON
//! in and out, every refusal an [`ApiError`].

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use crate::store::{Erasure, Funnel, LeadFilter, Verdict};
use crate::{json_response, ApiError, App};

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
    fn filter(self) -> Result<LeadFilter, ApiError> {
        let funnel = match self.funnel.as_deref() {
            None | Some("") => None,
            Some(name) => Some(Funnel::parse(name).ok_or_else(|| {
                ApiError::bad_request(
                    "funnel",
                    format!("unknown funnel stage `{name}`; use mql, sal, sql, won, lost or nurture"),
                )
            })?),
        };
        let verdict = match self.verdict.as_deref() {
            None | Some("") => None,
            Some(name) => Some(Verdict::parse(name).ok_or_else(|| {
                let known = Verdict::ALL.map(Verdict::as_str).join(", ");
                ApiError::bad_request("verdict", format!("unknown verdict `{name}`; use {known}"))
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

/// `GET /v1/admin/leads`.
pub async fn list_leads(State(app): State<Arc<App>>, request: Request) -> Result<Response, ApiError> {
    let filter = super::query::<ListQuery>(request.uri().query())?.filter()?;
    let leads = app.blocking(move |store| store.leads(&filter)).await?;
    Ok(json(json!({ "leads": leads })))
}

/// `GET /v1/admin/leads/{lead_id}`: the row, the payload as received
/// (ledger, evidence, identity, attribution) and the funnel history.
pub async fn show_lead(State(app): State<Arc<App>>, Path(lead_id): Path<String>) -> Result<Response, ApiError> {
    let (row, history) = super::lead_detail(&app, lead_id).await?;
    Ok(json(json!({ "lead": row, "payload": row.lead(), "history": history })))
}

/// Body of a funnel step.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepBody {
    /// Why (needed to reject).
    reason: Option<String>,
}

/// `POST /v1/admin/leads/{lead_id}/{action}`.
pub async fn transition(
    State(app): State<Arc<App>>,
    Path((lead_id, action)): Path<(String, String)>,
    body: Body,
) -> Result<Response, ApiError> {
    let bytes = axum::body::to_bytes(body, 16 * 1024)
        .await
        .map_err(|_| ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, None, "the body is over 16 KiB"))?;
    let step: StepBody = if bytes.iter().all(u8::is_ascii_whitespace) {
        StepBody::default()
    } else {
        serde_json::from_slice(&bytes)
            .map_err(|err| ApiError::bad_request("reason", format!("expected {{\"reason\": \"…\"}}: {err}")))?
    };
    let row = super::transition(&app, lead_id, &action, step.reason).await?;
    Ok(json(json!({ "lead": row })))
}

/// Body of an erasure request: exactly one of the three.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EraseBody {
    email: Option<String>,
    lead_id: Option<String>,
    site: Option<String>,
    visitor_id: Option<String>,
}

/// `POST /v1/admin/erasure`: by email, by lead, or by site and visitor.
pub async fn erase(State(app): State<Arc<App>>, body: Body) -> Result<Response, ApiError> {
    let bytes = axum::body::to_bytes(body, 16 * 1024).await.unwrap_or_default();
    let request: EraseBody = serde_json::from_slice(&bytes).map_err(|err| {
        let expected = "expected {\"email\": …}, {\"lead_id\": …} or {\"site\": …, \"visitor_id\": …}";
        ApiError::new(StatusCode::BAD_REQUEST, None, format!("{expected}: {err}"))
    })?;
    let erasure = match (request.email, request.lead_id, request.site, request.visitor_id) {
        (Some(email), None, None, None) if email.contains('@') => Erasure::Email(email),
        (Some(_), None, None, None) => return Err(ApiError::bad_request("email", "not an email address")),
        (None, Some(lead_id), None, None) if !lead_id.is_empty() => Erasure::LeadId(lead_id),
        (None, None, Some(site), Some(visitor_id)) if !site.is_empty() && !visitor_id.is_empty() => {
            Erasure::Visitor { site, visitor_id }
        }
        _ => {
            let message = "give exactly one of `email`, `lead_id`, or `site` with `visitor_id`";
            return Err(ApiError::new(StatusCode::BAD_REQUEST, None, message));
        }
    };
    let now = app.clock.now();
    let erased = app.blocking(move |store| store.erase(&erasure, now)).await?;
    tracing::info!(leads = erased.leads, deliveries = erased.deliveries, "erasure done");
    Ok(json(json!({ "erased": erased })))
}

/// `POST /v1/admin/retention`.
pub async fn retention(State(app): State<Arc<App>>) -> Result<Response, ApiError> {
    let Some(days) = app.settings.retention_days else {
        let message = "no retention is set; set retention_days or LEADSCORE_RETENTION_DAYS";
        return Err(ApiError::new(StatusCode::CONFLICT, None, message));
    };
    let deleted = super::apply_retention(&app).await?;
    Ok(json(json!({ "deleted": deleted, "retention_days": days })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeliveryQuery {
    dead: Option<bool>,
}

/// `GET /v1/admin/deliveries?dead=…`.
pub async fn list_deliveries(State(app): State<Arc<App>>, request: Request) -> Result<Response, ApiError> {
    let dead = super::query::<DeliveryQuery>(request.uri().query())?.dead.unwrap_or(true);
    let deliveries = app.blocking(move |store| store.deliveries(dead)).await?;
    Ok(json(json!({ "deliveries": deliveries })))
}

/// `POST /v1/admin/deliveries/{id}/retry`.
pub async fn retry(State(app): State<Arc<App>>, Path(id): Path<i64>) -> Result<Response, ApiError> {
    super::retry(&app, id).await?;
    Ok(json(json!({ "retrying": id })))
}

/// `GET /v1/admin/conflicts`.
pub async fn list_conflicts(State(app): State<Arc<App>>) -> Result<Response, ApiError> {
    let conflicts = app.blocking(|store| store.conflicts(1000)).await?;
    Ok(json(json!({ "conflicts": conflicts })))
}

/// `POST /v1/admin/import`: a lead from a server (a CRM sync, a backfill),
/// read, checked, verified and stored exactly like a browser's post, but
/// admitted by the admin token instead of an `Origin`, and not rate-limited.
pub async fn import(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Result<Response, ApiError> {
    let lead = crate::ingest::read_lead(body, &headers).await?;
    let site = app
        .settings
        .sites
        .get(&lead.site)
        .ok_or_else(|| ApiError::bad_request("site", format!("unknown site `{}`", lead.site)))?;
    Ok(crate::ingest::store_lead(&app, lead, site, app.clock.now()).await)
}

/// `GET /v1/admin/stats`.
pub async fn stats(State(app): State<Arc<App>>) -> Result<Response, ApiError> {
    let now = app.clock.now();
    let stats = app.blocking(move |store| store.stats(now, 30)).await?;
    Ok(json(json!({ "stats": stats })))
}
