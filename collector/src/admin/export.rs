//! `GET /v1/admin/export.csv` and `export.json`: every stored lead, streamed.
//! The store is read a page at a time by position (newest first, after the
//! last row sent), so memory stays at one page however many leads there are,
//! and leads stored while an export runs never shift a page. A read that
//! fails midway ends the response with an error instead of a short file
//! that looks whole: the client sees an incomplete transfer.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use futures_util::stream;

use crate::store::{LeadFilter, LeadRow, Timestamp};
use crate::App;

/// Leads read from the store per page of an export.
pub const EXPORT_PAGE: u32 = 500;

/// Columns of the CSV export.
pub const CSV_COLUMNS: [&str; 16] = [
    "lead_id",
    "site",
    "visitor_id",
    "stage",
    "funnel",
    "funnel_reason",
    "claimed_score",
    "verified_score",
    "verified_stage",
    "verdict",
    "grade",
    "email",
    "source",
    "page",
    "created_at",
    "received_at",
];

/// One CSV cell: quoted when needed, and a leading `=`, `+`, `-` or `@` made
/// inert so a spreadsheet never runs a formula a visitor typed.
pub fn csv_cell(value: &str) -> String {
    let value =
        if value.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{value}") } else { value.to_string() };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// One CSV line, with its line break.
fn csv_line(row: &LeadRow) -> String {
    let cells = [
        row.lead_id.clone(),
        row.site.clone(),
        row.visitor_id.clone(),
        row.stage.to_string(),
        row.funnel.to_string(),
        row.funnel_reason.clone().unwrap_or_default(),
        format!("{:.2}", row.claimed_score),
        format!("{:.2}", row.verified_score),
        row.verified_stage.to_string(),
        row.verdict.as_str().to_string(),
        row.grade.clone(),
        row.email.clone().unwrap_or_default(),
        row.source.clone().unwrap_or_default(),
        row.page.clone(),
        row.created_at.iso8601(),
        row.received_at.iso8601(),
    ];
    let mut line = cells.iter().map(|cell| csv_cell(cell)).collect::<Vec<_>>().join(",");
    line.push_str("\r\n");
    line
}

/// One element of the JSON export's `leads` array: the row and the payload.
fn json_item(row: &LeadRow) -> String {
    serde_json::json!({ "lead": row, "payload": row.lead() }).to_string()
}

/// Where a streamed export stands.
enum Step {
    /// The header is still to be sent.
    Head,
    /// Rows after this position (`None`: from the newest) are still to be sent.
    Rows { after: Option<(Timestamp, String)>, first: bool },
    /// Everything is sent.
    Done,
}

/// The body of an export: `head`, then each lead through `item` (with
/// `separator` between items), then `tail`.
fn streamed(
    app: Arc<App>,
    head: &'static str,
    separator: &'static str,
    tail: &'static str,
    item: fn(&LeadRow) -> String,
) -> Body {
    let pages = stream::unfold(Step::Head, move |step| {
        let app = app.clone();
        async move {
            match step {
                Step::Head => Some((Ok(Bytes::from_static(head.as_bytes())), Step::Rows { after: None, first: true })),
                Step::Rows { after, first } => {
                    let filter = LeadFilter { limit: EXPORT_PAGE, after, ..LeadFilter::default() };
                    match app.blocking(move |store| store.leads(&filter)).await {
                        Ok(rows) if rows.is_empty() => Some((Ok(Bytes::from_static(tail.as_bytes())), Step::Done)),
                        Ok(rows) => {
                            let mut chunk = String::new();
                            for (index, row) in rows.iter().enumerate() {
                                if !(first && index == 0) {
                                    chunk.push_str(separator);
                                }
                                chunk.push_str(&item(row));
                            }
                            let last = rows.last().map(|row| (row.received_at, row.lead_id.clone()));
                            Some((Ok(Bytes::from(chunk)), Step::Rows { after: last, first: false }))
                        }
                        Err(err) => {
                            tracing::error!(%err, "export stopped: the store could not be read");
                            Some((Err(std::io::Error::other(err.to_string())), Step::Done))
                        }
                    }
                }
                Step::Done => None,
            }
        }
    });
    Body::from_stream(pages)
}

/// `GET /v1/admin/export.csv`.
pub async fn csv(State(app): State<Arc<App>>) -> Response {
    const HEAD: &str = "lead_id,site,visitor_id,stage,funnel,funnel_reason,claimed_score,verified_score,\
verified_stage,verdict,grade,email,source,page,created_at,received_at\r\n";
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8")),
        (header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"leads.csv\"")),
    ];
    (headers, streamed(app, HEAD, "", "", csv_line)).into_response()
}

/// `GET /v1/admin/export.json`: `{"leads": [{"lead": row, "payload": lead}, …]}`.
pub async fn json(State(app): State<Arc<App>>) -> Response {
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
        (header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"leads.json\"")),
    ];
    (headers, streamed(app, "{\"leads\":[", ",", "]}", json_item)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("-2"), "'-2");
    }

    #[test]
    fn the_csv_head_names_every_column_in_order() {
        let head = "lead_id,site,visitor_id,stage,funnel,funnel_reason,claimed_score,verified_score,\
verified_stage,verdict,grade,email,source,page,created_at,received_at";
        assert_eq!(head, CSV_COLUMNS.join(","));
    }
}
