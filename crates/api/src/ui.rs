//! The web UI for people: pages rendered on the server from templates built into the binary
//! (`templates/`, `assets/`), sign-in and sign-out, and the page where an invitation or reset
//! link sets a password. Pages need a session; the API routes keep their bearer tokens.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::auth::Actor;
use super::error::{ApiError, ApiResult};
use super::input::Query;
use super::review::{check_out_task, complete_and_learn, reviewable_task};
use super::session::{self, ClientAddr};
use super::tasks::{build_export, export_and_pages};
use super::AppState;
use docket_domain::export::ExportData;
use docket_domain::people::{self, Email, User, MIN_PASSWORD_CHARS};
use docket_domain::review::{Change, FieldEdit, FieldKind, Reviewer};
use docket_domain::text::{PageText, Rect};
use docket_domain::{TaskStatus, Timestamp};
use docket_store::{Page, TaskFilter, TaskSort, TaskSummary};

pub const SIGN_IN_PATH: &str = "/signin";
pub const SIGN_OUT_PATH: &str = "/signout";
pub const DOCUMENTS_PATH: &str = "/documents";
pub const STYLESHEET_PATH: &str = "/assets/docket.css";
pub const REVIEW_SCRIPT_PATH: &str = "/assets/review.js";

/// A page as an HTML response with the given status.
fn page_response(status: StatusCode, template: &impl Template) -> Response {
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
        include_str!("../assets/review.js"),
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
}

fn dead_link() -> Response {
    let message = MessagePage {
        title: "This link no longer works",
        text: "It was used already or has expired. Ask an administrator for a new one.",
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

/// A task as a row of a page's list.
struct TaskRow {
    id: i64,
    display_name: String,
    external_id: String,
    status: &'static str,
    total_pages: i64,
    created_on: String,
}

struct TabLink {
    key: &'static str,
    label: &'static str,
    active: bool,
}

/// The Documents tabs and the statuses each lists.
const TABS: [(&str, &str, &[TaskStatus]); 2] = [
    (
        "review",
        "To Review",
        &[TaskStatus::ToReview, TaskStatus::InReview],
    ),
    (
        "processed",
        "Processed",
        &[
            TaskStatus::Reviewed,
            TaskStatus::Exporting,
            TaskStatus::ExportCompleted,
            TaskStatus::ExportFailed,
            TaskStatus::Processed,
        ],
    ),
];

const PAGE_SIZE: u32 = 50;

#[derive(Template)]
#[template(path = "documents.html")]
struct DocumentsPage<'a> {
    user_name: &'a str,
    role: &'a str,
    tabs: Vec<TabLink>,
    tab: &'a str,
    tasks: Vec<TaskRow>,
    page: u32,
    has_next: bool,
}

/// The workspaces a person's lists are limited to; None: all of the organisation's.
async fn visible_workspaces(state: &AppState, user: &User) -> ApiResult<Option<Vec<i64>>> {
    if user.role.sees_every_workspace() {
        Ok(None)
    } else {
        Ok(Some(state.store.assigned_workspaces(user.id).await?))
    }
}

/// One page of a tab's tasks, newest first, and whether more follow.
async fn tab_tasks(
    state: &AppState,
    user: &User,
    statuses: &[TaskStatus],
    page: u32,
) -> ApiResult<(Vec<TaskSummary>, bool)> {
    let workspace_ids = match visible_workspaces(state, user).await? {
        Some(ids) if ids.is_empty() => return Ok((Vec::new(), false)),
        Some(ids) => ids,
        None => Vec::new(),
    };
    let filter = TaskFilter {
        task_statuses: statuses.to_vec(),
        workspace_ids,
        sort: TaskSort {
            descending: true,
            ..TaskSort::default()
        },
        ..TaskFilter::default()
    };
    let listed = state
        .store
        .tasks(
            user.org_id,
            &filter,
            Page {
                number: page,
                size: PAGE_SIZE,
            },
        )
        .await?;
    let has_next = i64::from(page) * i64::from(PAGE_SIZE) < listed.total_count;
    Ok((listed.items, has_next))
}

pub async fn documents(
    Viewer(user): Viewer,
    State(state): State<AppState>,
    query: Query,
) -> ApiResult<Response> {
    let tab = query.get("tab").unwrap_or("review");
    let (key, _, statuses) = TABS
        .iter()
        .find(|(key, _, _)| *key == tab)
        .copied()
        .unwrap_or(TABS[0]);
    let page = query.int("page")?.unwrap_or(1).clamp(1, 100_000) as u32;
    let (tasks, has_next) = tab_tasks(&state, &user, statuses, page).await?;
    let rows = tasks
        .into_iter()
        .map(|t| TaskRow {
            id: t.id,
            display_name: t.display_name,
            external_id: t.external_id.unwrap_or_default(),
            status: t.task_status.name(),
            total_pages: t.total_pages,
            created_on: t.created_at.to_api_string(),
        })
        .collect();
    let tabs = TABS
        .iter()
        .map(|(k, label, _)| TabLink {
            key: k,
            label,
            active: *k == key,
        })
        .collect();
    let view = DocumentsPage {
        user_name: user.display_name(),
        role: user.role.name(),
        tabs,
        tab: key,
        tasks: rows,
        page,
        has_next,
    };
    Ok(page_response(StatusCode::OK, &view))
}

/// A reviewable field as a row of the document view.
struct FieldRow {
    /// The form name: `kind:category`.
    key: String,
    category: String,
    value: String,
    confidence: String,
    attention: bool,
    first_attention: bool,
}

/// A box over a page picture, in percent of the page (so it scales with the picture).
struct PageBox {
    left: String,
    top: String,
    width: String,
    height: String,
    /// A word's text, or the form name of the field the box is.
    label: String,
}

impl PageBox {
    fn new(rect: Rect, page: &PageText, label: String) -> Self {
        let pct = |v: f64, of: f64| format!("{:.3}", v / of.max(1.0) * 100.0);
        PageBox {
            left: pct(rect.left, page.width),
            top: pct(rect.top, page.height),
            width: pct(rect.width(), page.width),
            height: pct(rect.height(), page.height),
            label,
        }
    }
}

/// A page of the viewer: its picture, its words and the fields found on it.
struct PageView {
    number: u32,
    /// CSS aspect ratio, `width / height`.
    ratio: String,
    words: Vec<PageBox>,
    fields: Vec<PageBox>,
}

/// Pages shown at once in the viewer (a longer document shows its first ones).
const VIEWER_PAGES: usize = 20;

#[derive(Template)]
#[template(path = "document.html")]
struct DocumentPage<'a> {
    user_name: &'a str,
    role: &'a str,
    task_id: i64,
    name: &'a str,
    status: &'a str,
    holding: bool,
    can_start: bool,
    fields: Vec<FieldRow>,
    pages: Vec<PageView>,
    error: Option<&'a str>,
}

/// The fields a reviewer can change, as the export shows them: (kind, category, value,
/// confidence, issue or not detected).
fn reviewable_fields(export: &ExportData) -> Vec<(FieldKind, String, String, f64, bool)> {
    let mut fields = Vec::new();
    for entity in export.chunks.iter().flat_map(|c| &c.entities) {
        let Ok(kind) = FieldKind::parse(&entity.entity_type) else {
            continue;
        };
        let value = entity.key_values.first().map(|kv| kv.content.clone());
        let flagged =
            entity.not_detected || entity.key_values.iter().any(|kv| kv.category == "issue");
        fields.push((
            kind,
            entity.category.clone(),
            value.unwrap_or_default(),
            entity.confidence,
            flagged,
        ));
    }
    fields
}

fn field_key(kind: FieldKind, category: &str) -> String {
    format!("{}:{category}", kind.entity_type())
}

pub async fn document(
    Viewer(user): Viewer,
    State(state): State<AppState>,
    Path(task_id): Path<String>,
) -> ApiResult<Response> {
    let actor = Actor::User(user.clone());
    let task = reviewable_task(&state, &actor, &task_id, false).await?;
    let status = task.summary.task_status;
    let threshold = state
        .store
        .workspace(user.org_id, Some(task.summary.workspace_id))
        .await?
        .map_or(0.9, |w| w.review.confidence_threshold);
    let checkout = state.store.checkout(task.summary.id).await?;
    let holding = status == TaskStatus::InReview
        && checkout
            .is_some_and(|c| c.is_held_by(&Reviewer::of(&user)) && c.is_live(Timestamp::now()));
    let can_start = user.role.may_edit() && status == TaskStatus::ToReview;
    let (id, name) = (task.summary.id, task.summary.display_name.clone());
    let (export, recognised) = export_and_pages(&state, task).await?;
    let pages = page_views(&recognised, &export);
    let mut first = true;
    let fields = reviewable_fields(&export)
        .into_iter()
        .map(|(kind, category, value, confidence, flagged)| {
            let attention = flagged || confidence < threshold;
            let first_attention = attention && std::mem::take(&mut first);
            FieldRow {
                key: field_key(kind, &category),
                category,
                value,
                confidence: format!("{:.0} %", confidence * 100.0),
                attention,
                first_attention,
            }
        })
        .collect();
    let view = DocumentPage {
        user_name: user.display_name(),
        role: user.role.name(),
        task_id: id,
        name: &name,
        status: status.name(),
        holding,
        can_start,
        fields,
        pages,
        error: None,
    };
    Ok(page_response(StatusCode::OK, &view))
}

/// The viewer's pages: each page's words, and the boxes of the reviewable fields on it.
fn page_views(pages: &[PageText], export: &ExportData) -> Vec<PageView> {
    pages
        .iter()
        .take(VIEWER_PAGES)
        .map(|page| {
            let words = page
                .lines
                .iter()
                .flat_map(|l| &l.words)
                .map(|w| PageBox::new(w.bbox, page, w.text.clone()))
                .collect();
            let fields = export
                .chunks
                .iter()
                .flat_map(|c| &c.entities)
                .filter_map(|e| {
                    let kind = FieldKind::parse(&e.entity_type).ok()?;
                    let value = e.key_values.first()?;
                    let b = &value.region.bounding_box;
                    let placed = value.page_number == i64::from(page.page_number)
                        && b.width > 0.0
                        && b.height > 0.0;
                    let rect = Rect {
                        left: b.left,
                        top: b.top,
                        right: b.right,
                        bottom: b.bottom,
                    };
                    placed.then(|| PageBox::new(rect, page, field_key(kind, &e.category)))
                })
                .collect();
            PageView {
                number: page.page_number,
                ratio: format!("{:.3} / {:.3}", page.width.max(1.0), page.height.max(1.0)),
                words,
                fields,
            }
        })
        .collect()
}

/// A page of a task as a picture (PNG), drawn by a document reader.
pub async fn page_picture(
    Viewer(user): Viewer,
    State(state): State<AppState>,
    Path((task_id, page)): Path<(String, String)>,
) -> ApiResult<Response> {
    let actor = Actor::User(user);
    let task = reviewable_task(&state, &actor, &task_id, false).await?;
    let page: u32 = page
        .trim_end_matches(".png")
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("{page:?} is not a page number")))?;
    let in_range = page >= 1 && i64::from(page) <= task.summary.total_pages;
    let Some(original) = task.original.filter(|_| in_range) else {
        return Err(ApiError::NotFound("page"));
    };
    let png = state
        .pipeline
        .render_page(actor.org_id(), &original.key, page)
        .await?
        .ok_or(ApiError::NotFound("page"))?;
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("image/png")),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, max-age=3600"),
        ),
    ];
    Ok((headers, png).into_response())
}

pub async fn start_review(
    Viewer(user): Viewer,
    State(state): State<AppState>,
    Path(task_id): Path<String>,
) -> ApiResult<Response> {
    let actor = Actor::User(user);
    let task = reviewable_task(&state, &actor, &task_id, true).await?;
    check_out_task(&state, &actor, task.summary.id).await?;
    Ok(Redirect::to(&format!("{DOCUMENTS_PATH}/{}", task.summary.id)).into_response())
}

pub async fn release_review(
    Viewer(user): Viewer,
    State(state): State<AppState>,
    Path(task_id): Path<String>,
) -> ApiResult<Response> {
    let actor = Actor::User(user);
    let task = reviewable_task(&state, &actor, &task_id, true).await?;
    state
        .store
        .release(actor.org_id(), task.summary.id, &actor.reviewer())
        .await?;
    Ok(Redirect::to(DOCUMENTS_PATH).into_response())
}

/// Keeps what the reviewer changed, completes the review and opens the next task to review.
pub async fn complete_review(
    Viewer(user): Viewer,
    State(state): State<AppState>,
    Path(task_id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let actor = Actor::User(user.clone());
    let task = reviewable_task(&state, &actor, &task_id, true).await?;
    let id = task.summary.id;
    let export = build_export(&state, task).await?;
    let by = actor.reviewer();
    let at = Timestamp::now();
    let submitted: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let mut edits = Vec::new();
    for (kind, category, value, _, _) in reviewable_fields(&export) {
        let key = field_key(kind, &category);
        let Some((_, new)) = submitted.iter().find(|(k, _)| *k == key) else {
            continue;
        };
        if new.trim() == value.trim() {
            continue;
        }
        let page_number = export
            .chunks
            .iter()
            .flat_map(|c| &c.entities)
            .find(|e| e.entity_type == kind.entity_type() && e.category == category)
            .map_or(1, |e| u32::try_from(e.page_number).unwrap_or(1).max(1));
        let change = Change::Set {
            content: new.clone(),
            page_number,
            bbox: None,
        };
        FieldEdit::check(&category, &change)?;
        edits.push(FieldEdit {
            kind,
            category,
            change,
            by: by.clone(),
            at,
        });
    }
    state.store.record_edits(user.org_id, id, &edits).await?;
    complete_and_learn(&state, user.org_id, id, &by).await?;
    // The next document: the oldest on the first page of those still to review (nobody holds
    // them: held ones are InReview).
    let (waiting, _) = tab_tasks(&state, &user, &[TaskStatus::ToReview], 1).await?;
    let next = match waiting.last() {
        Some(task) => format!("{DOCUMENTS_PATH}/{}", task.id),
        None => DOCUMENTS_PATH.to_owned(),
    };
    Ok(Redirect::to(&next).into_response())
}
