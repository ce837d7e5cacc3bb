//! The web UI for people: pages rendered on the server from templates built into the binary
//! (`templates/`, `assets/`). Here: what every page shares, sign-in and sign-out, and the page
//! where an invitation or reset link sets a password; `documents` holds the lists and the
//! review page, `settings` the workspace and organisation settings. Pages need a session; the
//! API routes keep their bearer tokens.

mod documents;
mod settings;

pub use documents::{
    cancel_task, complete_review, delete_task, document, documents, page_picture, redeliver,
    release_review, start_review,
};
pub use settings::{
    invite_person, organisation_settings, rotate_secret, rotate_webhook_secret, save_webhook,
    save_workspace_settings, workspace_settings,
};

use askama::Template;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::error::{ApiError, ApiResult};
use super::session::{self, ClientAddr};
use super::AppState;
use docket_domain::people::{self, Email, User, MIN_PASSWORD_CHARS};
use docket_store::StoreError;

pub const SIGN_IN_PATH: &str = "/signin";
pub const SIGN_OUT_PATH: &str = "/signout";
pub const DOCUMENTS_PATH: &str = "/documents";
pub const STYLESHEET_PATH: &str = "/assets/docket.css";
pub const REVIEW_SCRIPT_PATH: &str = "/assets/review.js";
pub const SETTINGS_PATH: &str = "/settings";

/// A page as an HTML response with the given status.
fn page_response(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => ApiError::Internal(e.into()).into_response(),
    }
}

/// An error as a page: what went wrong, with the status the API would answer, and a way back.
/// A lost session goes back to sign-in.
pub struct UiError(ApiError);

pub type UiResult<T> = Result<T, UiError>;

impl From<ApiError> for UiError {
    fn from(e: ApiError) -> Self {
        UiError(e)
    }
}

impl From<StoreError> for UiError {
    fn from(e: StoreError) -> Self {
        UiError(e.into())
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        if matches!(self.0, ApiError::Unauthorized) {
            return Redirect::to(SIGN_IN_PATH).into_response();
        }
        let status = self.0.status();
        let text = match &self.0 {
            ApiError::Internal(_) => "Something went wrong on our side. Try again.".to_owned(),
            e => capitalised(&e.to_string()),
        };
        let message = MessagePage {
            title: status.canonical_reason().unwrap_or("Error"),
            text: &text,
            back: (DOCUMENTS_PATH, "Back to the documents"),
        };
        page_response(status, &message)
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// What the bar at the top of a signed-in page shows.
pub struct Chrome {
    pub user_name: String,
    pub role: &'static str,
    /// Administrators and Managers: the settings are theirs.
    pub manages: bool,
}

impl Chrome {
    fn of(user: &User) -> Self {
        Chrome {
            user_name: user.display_name().to_owned(),
            role: user.role.name(),
            manages: user.role.sees_every_workspace(),
        }
    }
}

/// The signed-in person a page is for; anyone else is sent to sign in.
pub struct Viewer(pub User);

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match session::signed_in(parts, state).await {
            Ok(Some(user)) => Ok(Viewer(user)),
            Ok(None) => Err(Redirect::to(SIGN_IN_PATH).into_response()),
            Err(e) => Err(e.into_response()),
        }
    }
}

/// A form field of an `application/x-www-form-urlencoded` body.
fn field(body: &[u8], name: &str) -> String {
    form_urlencoded::parse(body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Refuses a form posted from another site (login CSRF, forced password changes).
fn from_our_pages(headers: &HeaderMap, state: &AppState) -> ApiResult<()> {
    if session::same_origin(headers, state) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "forms are accepted from docket's own pages only".into(),
        ))
    }
}

/// Signs the user in and sends them on to their documents.
async fn enter(state: &AppState, user: &User) -> ApiResult<Response> {
    let cookie = session::start(state, user).await?;
    let mut response = Redirect::to(DOCUMENTS_PATH).into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(response)
}

pub async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/css")),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        include_str!("../../assets/docket.css"),
    )
}

pub async fn review_script() -> impl IntoResponse {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/javascript"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        include_str!("../../assets/review.js"),
    )
}

pub async fn home(State(state): State<AppState>, headers: HeaderMap) -> Redirect {
    match session::token(&headers, &state) {
        Some(_) => Redirect::to(DOCUMENTS_PATH),
        None => Redirect::to(SIGN_IN_PATH),
    }
}

#[derive(Template)]
#[template(path = "signin.html")]
struct SignInPage<'a> {
    error: Option<&'a str>,
    email: &'a str,
}

pub async fn sign_in_page() -> Response {
    page_response(
        StatusCode::OK,
        &SignInPage {
            error: None,
            email: "",
        },
    )
}

pub async fn sign_in(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    from_our_pages(&headers, &state)?;
    let (email, password) = (field(&body, "email"), field(&body, "password"));
    state.sign_ins.check(&email, client)?;
    let found = match Email::parse(&email) {
        Ok(address) => {
            let candidates = state.store.sign_in_candidates(&address).await?;
            // argon2 is deliberately slow: off the async workers.
            tokio::task::spawn_blocking(move || {
                candidates
                    .into_iter()
                    .find(|(_, hash)| people::verify_password(&password, hash))
                    .map(|(user, _)| user)
            })
            .await
            .map_err(|e| ApiError::Internal(e.into()))?
        }
        Err(_) => None,
    };
    let Some(user) = found else {
        state.sign_ins.failed(&email, client);
        let form = SignInPage {
            error: Some("Wrong e-mail or password."),
            email: &email,
        };
        return Ok(page_response(StatusCode::UNAUTHORIZED, &form));
    };
    state.sign_ins.succeeded(&email);
    enter(&state, &user).await
}

pub async fn sign_out(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    from_our_pages(&headers, &state)?;
    let cookie = session::end(&state, &headers).await?;
    let mut response = Redirect::to(SIGN_IN_PATH).into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(response)
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage<'a> {
    token: &'a str,
    email: &'a str,
    name: &'a str,
    error: Option<&'a str>,
    min_chars: usize,
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    title: &'a str,
    text: &'a str,
    /// Where the page's link goes, and its words.
    back: (&'a str, &'a str),
}

fn dead_link() -> Response {
    let message = MessagePage {
        title: "This link no longer works",
        text: "It was used already or has expired. Ask an administrator for a new one.",
        back: (SIGN_IN_PATH, "Sign in"),
    };
    page_response(StatusCode::NOT_FOUND, &message)
}

pub async fn password_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> ApiResult<Response> {
    let Some(user) = state.store.password_link_user(&token).await? else {
        return Ok(dead_link());
    };
    let form = PasswordPage {
        token: &token,
        email: user.email.as_str(),
        name: user.name.as_deref().unwrap_or_default(),
        error: None,
        min_chars: MIN_PASSWORD_CHARS,
    };
    Ok(page_response(StatusCode::OK, &form))
}

pub async fn set_password(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    from_our_pages(&headers, &state)?;
    let Some(user) = state.store.password_link_user(&token).await? else {
        return Ok(dead_link());
    };
    let (name, password) = (field(&body, "name"), field(&body, "password"));
    let problem = match people::check_new_password(&password) {
        Err(e) => Some(e.0),
        Ok(()) if password != field(&body, "confirm") => {
            Some("the two passwords differ".to_owned())
        }
        Ok(()) => None,
    };
    if let Some(problem) = problem {
        let form = PasswordPage {
            token: &token,
            email: user.email.as_str(),
            name: &name,
            error: Some(&problem),
            min_chars: MIN_PASSWORD_CHARS,
        };
        return Ok(page_response(StatusCode::BAD_REQUEST, &form));
    }
    let hash = tokio::task::spawn_blocking(move || people::hash_password(&password))
        .await
        .map_err(|e| ApiError::Internal(e.into()))??;
    let name = Some(name.trim()).filter(|n| !n.is_empty());
    match state
        .store
        .redeem_password_link(&token, &hash, name)
        .await?
    {
        Some(user) => enter(&state, &user).await,
        None => Ok(dead_link()),
    }
}
