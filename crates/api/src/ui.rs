//! The web UI for people: pages rendered on the server from templates built into the binary
//! (`templates/`, `assets/`), sign-in and sign-out, and the page where an invitation or reset
//! link sets a password. Pages need a session; the API routes keep their bearer tokens.

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
use docket_domain::TaskStatus;
use docket_store::{Page, TaskFilter, TaskSort};

pub const SIGN_IN_PATH: &str = "/signin";
pub const SIGN_OUT_PATH: &str = "/signout";
pub const DOCUMENTS_PATH: &str = "/documents";
pub const STYLESHEET_PATH: &str = "/assets/docket.css";

/// A page as an HTML response with the given status.
fn page(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => ApiError::Internal(e.into()).into_response(),
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
        include_str!("../assets/docket.css"),
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
    page(
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
        return Ok(page(StatusCode::UNAUTHORIZED, &form));
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
}

fn dead_link() -> Response {
    let message = MessagePage {
        title: "This link no longer works",
        text: "It was used already or has expired. Ask an administrator for a new one.",
    };
    page(StatusCode::NOT_FOUND, &message)
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
    Ok(page(StatusCode::OK, &form))
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
        return Ok(page(StatusCode::BAD_REQUEST, &form));
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

/// A task as a row of a page's list.
struct TaskRow {
    id: i64,
    display_name: String,
    external_id: String,
    total_pages: i64,
    created_on: String,
}

#[derive(Template)]
#[template(path = "documents.html")]
struct DocumentsPage<'a> {
    user_name: &'a str,
    role: &'a str,
    tasks: Vec<TaskRow>,
}

pub async fn documents(Viewer(user): Viewer, State(state): State<AppState>) -> ApiResult<Response> {
    let workspace_ids = if user.role.sees_every_workspace() {
        Vec::new()
    } else {
        state.store.assigned_workspaces(user.id).await?
    };
    let tasks = if !user.role.sees_every_workspace() && workspace_ids.is_empty() {
        Vec::new()
    } else {
        let filter = TaskFilter {
            task_statuses: vec![TaskStatus::ToReview],
            workspace_ids,
            sort: TaskSort {
                descending: true,
                ..TaskSort::default()
            },
            ..TaskFilter::default()
        };
        let page = Page {
            number: 1,
            size: 50,
        };
        state.store.tasks(user.org_id, &filter, page).await?.items
    };
    let rows = tasks
        .into_iter()
        .map(|t| TaskRow {
            id: t.id,
            display_name: t.display_name,
            external_id: t.external_id.unwrap_or_default(),
            total_pages: t.total_pages,
            created_on: t.created_at.to_api_string(),
        })
        .collect();
    let view = DocumentsPage {
        user_name: user.display_name(),
        role: user.role.name(),
        tasks: rows,
    };
    Ok(page(StatusCode::OK, &view))
}
