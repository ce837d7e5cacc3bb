//! The one error type of the HTTP layer and its mapping to status codes: RFC 7807
//! `application/problem+json` bodies (clients must not depend on them; the docs show none).

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use docket_domain::Invalid;
use docket_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("a valid bearer token is required")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    TooManyRequests(String),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl From<Invalid> for ApiError {
    fn from(e: Invalid) -> Self {
        ApiError::BadRequest(e.0)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::DuplicateExternalId => ApiError::Conflict(e.to_string()),
            StoreError::NotFound(what) => ApiError::NotFound(what),
            StoreError::DuplicateEmail(_) => ApiError::BadRequest(e.to_string()),
            StoreError::CheckedOut(_) | StoreError::NotReviewable(..) => {
                ApiError::Conflict(e.to_string())
            }
            other => ApiError::Internal(other.into()),
        }
    }
}

impl ApiError {
    /// The status this error answers with; an internal error is logged here, once.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(e) => {
                tracing::error!(error = format!("{e:#}"), "request failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = problem(status, &self.to_string());
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// The body of every error (RFC 7807 problem details).
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// Always `about:blank`: the status says what kind of error it is.
    #[serde(rename = "type")]
    #[schema(example = "about:blank")]
    pub kind: String,
    /// The status's reason phrase.
    #[schema(example = "Not Found")]
    pub title: String,
    #[schema(example = 404)]
    pub status: u16,
    /// What went wrong, for people (clients must not parse it).
    #[schema(example = "task not found")]
    pub detail: String,
}

fn problem(status: StatusCode, detail: &str) -> Response {
    let body = Problem {
        kind: "about:blank".to_owned(),
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        status: status.as_u16(),
        detail: detail.to_owned(),
    };
    let mut response = (status, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    response
}

pub(super) const PROBLEM_JSON: &str = "application/problem+json";

/// Middleware giving every error the problem shape: the router's own answers (unknown route,
/// method not allowed) and extractor rejections (body too large, bad path) come empty or as
/// text. Their headers (e.g. `Allow`) are kept and their text becomes the detail. JSON errors
/// are left alone: they are `/connect/token`'s RFC 6749 answers, which OAuth clients parse; so
/// are HTML pages (the web UI's).
pub(super) async fn problem_responses(request: Request, next: Next) -> Response {
    let target = format!("{} {}", request.method(), request.uri().path());
    let response = next.run(request).await;
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    // JSON errors and the web UI's own error pages are already meant for their reader.
    let is_json =
        content_type.starts_with("application/json") || content_type.starts_with(PROBLEM_JSON);
    let is_page = content_type.starts_with("text/html");
    if !(status.is_client_error() || status.is_server_error()) || is_json || is_page {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let detail = match status {
        _ if !text.trim().is_empty() => text.trim().to_owned(),
        StatusCode::NOT_FOUND => format!("no route for {target}"),
        StatusCode::METHOD_NOT_ALLOWED => format!("{target}: method not allowed"),
        _ => status.canonical_reason().unwrap_or("Error").to_owned(),
    };
    let mut converted = problem(status, &detail);
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            converted.headers_mut().insert(name, value.clone());
        }
    }
    converted
}
