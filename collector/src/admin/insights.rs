//! `GET /v1/admin/insights` and `POST /v1/admin/what-if`: the outcomes
//! report and the replay of history under a candidate rule set
//! (`crate::insights`), shared by the API and the dashboard's Insights page.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::{Extension, Form};
use leadscore::core::time::{days_from_civil, DAY_MS};
use leadscore::core::{Config, Timestamp};
use serde::Deserialize;
use serde_json::json;

use super::auth::{self, Session};
use crate::insights::page::{self, Filter, Tried};
use crate::insights::{self, Report, Scope, Suggestions, Visitor, WhatIf};
use crate::{json_response, ApiError, App};

/// Largest candidate rule set accepted.
pub const MAX_RULE_SET_BYTES: usize = 256 * 1024;

/// Which leads: a site, and a range of days (UTC, both ends included).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InsightsQuery {
    /// Only this site.
    pub site: Option<String>,
    /// From this day, `YYYY-MM-DD`.
    pub from: Option<String>,
    /// Up to and including this day, `YYYY-MM-DD`.
    pub until: Option<String>,
}

/// The start of day `text` (`YYYY-MM-DD`, UTC), or a 400 naming `field`.
pub fn day(field: &str, text: &str) -> Result<Timestamp, ApiError> {
    let bad =
        || ApiError::bad_request(field, format!("`{text}` is not a day; write it as YYYY-MM-DD, e.g. 2026-01-31"));
    let mut parts = text.trim().splitn(3, '-');
    let mut number = |digits: usize| -> Result<u64, ApiError> {
        let part = parts.next().filter(|part| part.len() == digits && part.bytes().all(|b| b.is_ascii_digit()));
        part.and_then(|part| part.parse().ok()).ok_or_else(bad)
    };
    let (year, month, day) = (number(4)?, number(2)?, number(2)?);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => return Err(bad()),
    };
    if year < 1970 || day == 0 || day > days_in_month {
        return Err(bad());
    }
    Ok(Timestamp::from_millis(days_from_civil(year, month, day) * DAY_MS))
}

impl InsightsQuery {
    /// The scope it asks for; an unknown site or a bad day is a 400.
    pub fn scope(&self, app: &App) -> Result<Scope, ApiError> {
        let site = self.site.clone().filter(|site| !site.is_empty());
        if let Some(site) = &site {
            if !app.settings.sites.contains_key(site) {
                let known: Vec<&str> = app.settings.sites.keys().map(String::as_str).collect();
                return Err(ApiError::bad_request("site", format!("no site `{site}`; known: {}", known.join(", "))));
            }
        }
        let from = self.from.as_deref().filter(|text| !text.is_empty()).map(|text| day("from", text)).transpose()?;
        let until = self.until.as_deref().filter(|text| !text.is_empty()).map(|text| day("until", text)).transpose()?;
        let until = until.map(|until| until.plus_millis(DAY_MS));
        if let (Some(from), Some(until)) = (from, until) {
            if until <= from {
                return Err(ApiError::bad_request("until", "the range ends before it starts"));
            }
        }
        Ok(Scope { site, from, until })
    }

    /// The site whose live rule set applies: the one asked for, or the only one.
    fn site<'a>(&'a self, app: &'a App) -> Option<&'a str> {
        match self.site.as_deref().filter(|site| !site.is_empty()) {
            Some(site) => Some(site),
            None if app.settings.sites.len() == 1 => app.settings.sites.keys().next().map(String::as_str),
            None => None,
        }
    }
}

/// The report and, when one site's rule set applies, its suggestions on the
/// live scores.
pub async fn report(
    app: &Arc<App>,
    query: &InsightsQuery,
) -> Result<(Vec<Visitor>, Report, Option<Suggestions>), ApiError> {
    let scope = query.scope(app)?;
    let visitors = app.blocking(move |store| insights::load(store, &scope)).await?;
    let report = insights::report(&visitors);
    let suggestions = query.site(app).and_then(|site| app.settings.sites.get(site)).map(|site| {
        let scored: Vec<_> = visitors.iter().map(|visitor| (visitor, live_score(visitor))).collect();
        insights::suggest(&scored, site.config.thresholds().mql)
    });
    Ok((visitors, report, suggestions))
}

/// The best score the collector verified for any of a visitor's leads.
fn live_score(visitor: &Visitor) -> Option<f64> {
    visitor.leads.iter().map(|(row, _)| row.verified_score).max_by(f64::total_cmp)
}

/// A candidate rule set replayed over `query`'s leads (its site defaults to
/// the rule set's own), with suggestions on the replayed scores.
pub async fn what_if(
    app: &Arc<App>,
    mut query: InsightsQuery,
    rule_set: &str,
) -> Result<(String, WhatIf, Suggestions), ApiError> {
    let candidate = Config::parse(rule_set).map_err(|err| ApiError::bad_request("rule_set", err.to_string()))?;
    if query.site.as_deref().is_none_or(str::is_empty) {
        query.site = Some(candidate.site().to_string());
    }
    let scope = query.scope(app)?;
    let site = scope.site.clone().unwrap_or_default();
    let candidate = Arc::new(candidate);
    let visitors = app.blocking(move |store| insights::load(store, &scope)).await?;
    let answer = insights::what_if(&visitors, &candidate);
    let scored: Vec<_> =
        visitors.iter().zip(&answer.replayed).map(|(visitor, standing)| (visitor, standing.map(|s| s.score))).collect();
    let suggestions = insights::suggest(&scored, candidate.thresholds().mql);
    Ok((site, answer, suggestions))
}

/// `GET /v1/admin/insights?site=&from=&until=`.
pub async fn get_insights(State(app): State<Arc<App>>, request: Request) -> Result<Response, ApiError> {
    let query = super::query::<InsightsQuery>(request.uri().query())?;
    let (_, report, suggestions) = report(&app, &query).await?;
    Ok(json_response(StatusCode::OK, json!({ "report": report, "suggestions": suggestions })))
}

/// `POST /v1/admin/what-if?site=&from=&until=` with a rule set as the body.
pub async fn post_what_if(State(app): State<Arc<App>>, request: Request) -> Result<Response, ApiError> {
    let query = super::query::<InsightsQuery>(request.uri().query())?;
    let body: Body = request.into_body();
    let bytes = axum::body::to_bytes(body, MAX_RULE_SET_BYTES)
        .await
        .map_err(|_| ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, None, "the rule set is over 256 KiB"))?;
    let text = std::str::from_utf8(&bytes).map_err(|_| ApiError::bad_request("rule_set", "the body is not UTF-8"))?;
    let (site, answer, suggestions) = what_if(&app, query, text).await?;
    Ok(json_response(StatusCode::OK, json!({ "site": site, "what_if": answer, "suggestions": suggestions })))
}

/// The Insights page's filter: the API's, plus the CSRF token every
/// dashboard form carries.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    site: Option<String>,
    from: Option<String>,
    until: Option<String>,
    #[serde(default, rename = "csrf")]
    _csrf: Option<String>,
}

impl PageQuery {
    fn split(self, app: &App) -> (InsightsQuery, Filter) {
        let filter = Filter {
            site: self.site.clone().unwrap_or_default(),
            from: self.from.clone().unwrap_or_default(),
            until: self.until.clone().unwrap_or_default(),
            sites: app.settings.sites.keys().cloned().collect(),
        };
        (InsightsQuery { site: self.site, from: self.from, until: self.until }, filter)
    }
}

/// The what-if form's fields.
#[derive(Debug, Deserialize)]
pub struct WhatIfForm {
    /// The candidate rule set, as typed.
    #[serde(default)]
    rule_set: String,
    /// The session's CSRF token, checked by `auth::require_session`.
    #[serde(default, rename = "csrf")]
    _csrf: String,
}

async fn render(
    app: &Arc<App>,
    session: &Session,
    page_query: PageQuery,
    form: Option<WhatIfForm>,
) -> Result<Response, ApiError> {
    let (query, filter) = page_query.split(app);
    let (visitors, report, suggestions) = report(app, &query).await?;
    let tried = match &form {
        None => None,
        Some(form) => Some(what_if(app, query.clone(), &form.rule_set).await.map_err(|err| err.message)),
    };
    let html = match (&tried, &form) {
        (Some(Ok((_, answer, candidate))), Some(form)) => page::insights_page(
            &filter,
            &visitors,
            &report,
            suggestions.as_ref(),
            &Tried::Answer(answer, candidate, &form.rule_set),
        ),
        (Some(Err(error)), Some(form)) => page::insights_page(
            &filter,
            &visitors,
            &report,
            suggestions.as_ref(),
            &Tried::Refused(error, &form.rule_set),
        ),
        _ => page::insights_page(&filter, &visitors, &report, suggestions.as_ref(), &Tried::Nothing),
    };
    Ok(Html(auth::with_csrf(&html, session)).into_response())
}

/// `GET /admin/insights`.
pub async fn insights_page(
    State(app): State<Arc<App>>,
    Extension(session): Extension<Session>,
    request: Request,
) -> Result<Response, ApiError> {
    let query = super::query::<PageQuery>(request.uri().query())?;
    render(&app, &session, query, None).await
}

/// `POST /admin/insights/what-if`: the page again, with the candidate's
/// answer beside the live figures (or why it was refused).
pub async fn what_if_page(
    State(app): State<Arc<App>>,
    Extension(session): Extension<Session>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
    Form(form): Form<WhatIfForm>,
) -> Result<Response, ApiError> {
    let query = super::query::<PageQuery>(raw.as_deref())?;
    render(&app, &session, query, Some(form)).await
}
