//! Answers in JSON, and the one error type every route answers with:
//! [`ApiError`] is a status, the field at fault as a JSON path (or none),
//! and a message that says what would be right.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::store::StoreError;

/// Why a request was refused: `{"error": message, "field": field}` with
/// `status`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// The field at fault, as a JSON path (`evidence[3].at`), or `lead` for
    /// the body as a whole; none when no field is at fault.
    pub field: Option<String>,
    /// What is wrong, and what would be right.
    pub message: String,
}

impl ApiError {
    /// A refusal with `status`, naming `field` when one is at fault.
    pub fn new(status: StatusCode, field: Option<&str>, message: impl Into<String>) -> ApiError {
        ApiError { status, field: field.map(str::to_string), message: message.into() }
    }

    /// A `400` naming `field`.
    pub fn bad_request(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, Some(field), message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_response(self.status, json!({ "error": self.message, "field": self.field }))
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> ApiError {
        match err {
            StoreError::NotFound(message) => ApiError::new(StatusCode::NOT_FOUND, None, message),
            StoreError::Conflict(message) => ApiError::new(StatusCode::CONFLICT, None, message),
            StoreError::Invalid { field, message } => ApiError::new(StatusCode::BAD_REQUEST, Some(&field), message),
            StoreError::Backend(message) => {
                tracing::error!(%message, "store failed");
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, None, "storage is unavailable; retry later")
            }
        }
    }
}

/// A JSON answer.
pub fn json_response(status: StatusCode, body: serde_json::Value) -> Response {
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body.to_string()).into_response()
}

/// A JSON error answer: [`ApiError`] as a response.
pub fn error(status: StatusCode, field: Option<&str>, message: impl Into<String>) -> Response {
    ApiError::new(status, field, message).into_response()
}
