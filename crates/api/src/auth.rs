//! OAuth 2.0 client credentials (`POST /connect/token`, errors per RFC 6749 §5.2), the
//! bearer-token check that scopes every API call to one organisation, and the caller as an
//! actor: that API client or a signed-in person.

use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ApiResult};
use super::{session, AppState};
use docket_domain::people::{Role, User};
use docket_domain::{credentials, Timestamp};

pub const SCOPE: &str = "WebAPI";

/// The organisation a valid bearer token belongs to.
#[derive(Debug, Clone, Copy)]
pub struct Tenant {
    pub org_id: i64,
}

impl FromRequestParts<AppState> for Tenant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let token = match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ => return Err(ApiError::Unauthorized),
        };
        if token.is_empty() {
            return Err(ApiError::Unauthorized);
        }
        let org_id = state
            .store
            .organization_for_token(token)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        Ok(Tenant { org_id })
    }
}

/// Form fields of the token request (`application/x-www-form-urlencoded`). Only describes the
/// form for OpenAPI: the handler reads the fields itself to answer with RFC 6749 errors.
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct TokenRequest {
    /// Must be `client_credentials`.
    pub grant_type: String,
    /// `WebAPI` (the default when absent).
    pub scope: Option<String>,
    /// May instead come in an HTTP Basic `Authorization` header.
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    pub expires_in: i64,
    pub token_type: String,
    pub scope: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthError {
    /// `invalid_request`, `invalid_client`, `unsupported_grant_type` or `invalid_scope`.
    pub error: String,
    pub error_description: String,
}

fn oauth_error(error: &str, description: &str) -> Response {
    let body = OAuthError {
        error: error.to_owned(),
        error_description: description.to_owned(),
    };
    (StatusCode::BAD_REQUEST, no_store(), Json(body)).into_response()
}

fn no_store() -> [(header::HeaderName, HeaderValue); 2] {
    [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::PRAGMA, HeaderValue::from_static("no-cache")),
    ]
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let (id, secret) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// Exchange client credentials for a bearer token.
#[utoipa::path(
    post,
    path = "/connect/token",
    tag = "Authentication",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "A bearer token", body = TokenResponse),
        (status = 400, description = "RFC 6749 error", body = OAuthError),
    ),
    security(())
)]
pub async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let field = |name: &str| {
        form_urlencoded::parse(&body)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .filter(|v| !v.is_empty())
    };
    match field("grant_type").as_deref() {
        None => return Ok(oauth_error("invalid_request", "grant_type is required")),
        Some("client_credentials") => {}
        Some(_) => {
            return Ok(oauth_error(
                "unsupported_grant_type",
                "only client_credentials is supported",
            ))
        }
    }
    let scope = field("scope").unwrap_or_else(|| SCOPE.to_owned());
    if scope.split_whitespace().any(|s| s != SCOPE) {
        return Ok(oauth_error("invalid_scope", "the only scope is WebAPI"));
    }
    let Some((client_id, secret)) = basic_credentials(&headers)
        .or_else(|| Some((field("client_id")?, field("client_secret")?)))
    else {
        return Ok(oauth_error(
            "invalid_request",
            "client_id and client_secret are required",
        ));
    };
    let Some(org_id) = state.store.verify_client(&client_id, &secret).await? else {
        return Ok(oauth_error(
            "invalid_client",
            "unknown client, wrong secret or expired secret",
        ));
    };
    let token = credentials::new_secret();
    let ttl = state.config.token_ttl_seconds;
    state
        .store
        .insert_token(org_id, &token, Timestamp::now().plus_seconds(ttl))
        .await?;
    let body = TokenResponse {
        access_token: token,
        expires_in: ttl,
        token_type: "Bearer".into(),
        scope: SCOPE.into(),
    };
    Ok((no_store(), Json(body)).into_response())
}

/// Who is calling: an API client with the organisation's bearer token (it acts for the whole
/// organisation, as SmartDocumentor's client credentials do), or a person signed in to the
/// web UI with a session cookie.
#[derive(Debug, Clone)]
pub enum Actor {
    Client(Tenant),
    User(User),
}

impl Actor {
    pub fn org_id(&self) -> i64 {
        match self {
            Actor::Client(tenant) => tenant.org_id,
            Actor::User(user) => user.org_id,
        }
    }

    /// The role the caller acts with: an API client holds the organisation's own credentials.
    pub fn role(&self) -> Role {
        match self {
            Actor::Client(_) => Role::Administrator,
            Actor::User(user) => user.role,
        }
    }

    /// Whether the caller may see the workspace at all.
    pub async fn sees_workspace(&self, state: &AppState, workspace_id: i64) -> ApiResult<bool> {
        match self {
            Actor::User(user) if !user.role.sees_every_workspace() => Ok(state
                .store
                .assigned_workspaces(user.id)
                .await?
                .contains(&workspace_id)),
            _ => Ok(true),
        }
    }
}

impl FromRequestParts<AppState> for Actor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if parts.headers.contains_key(header::AUTHORIZATION) {
            return Tenant::from_request_parts(parts, state)
                .await
                .map(Actor::Client);
        }
        match session::signed_in(parts, state).await? {
            Some(user) => Ok(Actor::User(user)),
            None => Err(ApiError::Unauthorized),
        }
    }
}
