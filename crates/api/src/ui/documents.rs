//! The Documents pages: the lists (tabs To Review, My Assignments, Processed, Archive, with
//! filters, search and pages), one document's review page with its page pictures, and the
//! buttons that start, release, complete, cancel or delete a review.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::{page_response, Chrome, UiResult, Viewer, DOCUMENTS_PATH};
use crate::auth::Actor;
use crate::error::{ApiError, ApiResult};
use crate::input::Query;
use crate::review::{check_out_task, complete_and_learn, end_task, reviewable_task, Ending};
use crate::tasks::{build_export, export_and_pages};
use crate::AppState;
use docket_domain::export::{BoundingBox, ExportData};
use docket_domain::lifecycle::cancelled_status;
use docket_domain::people::User;
use docket_domain::review::{Change, FieldEdit, FieldKind, Reviewer};
use docket_domain::tenant::Workspace;
use docket_domain::text::{PageText, Rect};
use docket_domain::webhook::Delivery;
use docket_domain::{TaskStatus, Timestamp};
use docket_store::{Page, TaskFilter, TaskSort, TaskSummary};

/// A tab of the Documents page: which tasks it lists.
struct Tab {
    key: &'static str,
    label: &'static str,
    /// Empty: every status.
    statuses: &'static [TaskStatus],
    /// Only the tasks the person may review by assignment or holds.
    mine: bool,
    archived: Option<bool>,
}

const TO_REVIEW: &[TaskStatus] = &[TaskStatus::ToReview, TaskStatus::InReview];

const TABS: [Tab; 4] = [
    Tab {
        key: "review",
        label: "To Review",
        statuses: TO_REVIEW,
        mine: false,
        archived: None,
    },
    Tab {
        key: "mine",
        label: "My Assignments",
        statuses: TO_REVIEW,
        mine: true,
        archived: None,
    },
    Tab {
        key: "processed",
        label: "Processed",
        statuses: &[
            TaskStatus::Reviewed,
            TaskStatus::Exporting,
            TaskStatus::ExportCompleted,
            TaskStatus::ExportFailed,
            TaskStatus::Processed,
        ],
        mine: false,
        archived: Some(false),
    },
    Tab {
        key: "archive",
        label: "Archive",
        statuses: &[],
        mine: false,
        archived: Some(true),
    },
];

const PAGE_SIZE: u32 = 50;

/// What a list was asked for: its tab, filters and page, read from the query string.
struct ListRequest {
    tab: &'static Tab,
    search: Option<String>,
    workspace: Option<i64>,
    status: Option<TaskStatus>,
    /// `YYYY-MM-DD`, as a date input sends them.
    from: Option<String>,
    to: Option<String>,
    flagged: bool,
    page: u32,
}

impl ListRequest {
    /// A tab's first page, unfiltered.
    fn tab(tab: &'static Tab) -> Self {
        ListRequest {
            tab,
            search: None,
            workspace: None,
            status: None,
            from: None,
            to: None,
            flagged: false,
            page: 1,
        }
    }

    fn read(query: &Query) -> ApiResult<Self> {
        let tab = query.get("tab").unwrap_or("review");
        let tab = TABS.iter().find(|t| t.key == tab).unwrap_or(&TABS[0]);
        let status = query
            .int("status")?
            .map(|code| {
                TaskStatus::from_code(code)
                    .ok_or_else(|| ApiError::BadRequest(format!("{code} is not a task status")))
            })
            .transpose()?;
        let date = |name: &str| -> ApiResult<Option<String>> {
            let value = query.get(name);
            if let Some(v) = value {
                Timestamp::parse(name, v)?;
            }
            Ok(value.map(str::to_owned))
        };
        Ok(ListRequest {
            tab,
            search: query.search("q")?,
            workspace: query.int("workspace")?,
            status,
            from: date("from")?,
            to: date("to")?,
            flagged: query.bool("flagged")?.unwrap_or(false),
            page: query.int("page")?.unwrap_or(1).clamp(1, 100_000) as u32,
        })
    }

    /// The store's filter for this list, limited to the workspaces the person sees; None when
    /// they see none.
    fn filter(&self, user: &User, visible: &[Workspace], restricted: bool) -> Option<TaskFilter> {
        let workspace_ids = match self.workspace {
            Some(id) if visible.iter().any(|w| w.id == id) => vec![id],
            Some(_) => return None,
            None if restricted && visible.is_empty() => return None,
            None if restricted => visible.iter().map(|w| w.id).collect(),
            None => Vec::new(),
        };
        let statuses = match self.status {
            Some(s) if self.tab.statuses.is_empty() || self.tab.statuses.contains(&s) => vec![s],
            _ => self.tab.statuses.to_vec(),
        };
        let at = |date: &Option<String>| {
            date.as_deref()
                .and_then(|d| Timestamp::parse("date", d).ok())
        };
        Some(TaskFilter {
            start: at(&self.from),
            // The whole of the last day.
            end: at(&self.to).map(|t| t.plus_seconds(24 * 3600 - 1)),
            task_statuses: statuses,
            workspace_ids,
            archived: self.tab.archived,
            flagged: self.flagged,
            text: self.search.clone(),
            reviewer: self.tab.mine.then_some(user.id),
            sort: TaskSort {
                descending: true,
                ..TaskSort::default()
            },
            ..TaskFilter::default()
        })
    }

    /// The query string of this list on another page (the filters kept).
    fn link(&self, page: u32) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("tab", self.tab.key);
        if let Some(search) = &self.search {
            query.append_pair("q", search);
        }
        if let Some(workspace) = self.workspace {
            query.append_pair("workspace", &workspace.to_string());
        }
        if let Some(status) = self.status {
            query.append_pair("status", &status.code().to_string());
        }
        if let Some(from) = &self.from {
            query.append_pair("from", from);
        }
        if let Some(to) = &self.to {
            query.append_pair("to", to);
        }
        if self.flagged {
            query.append_pair("flagged", "true");
        }
        query.append_pair("page", &page.to_string());
        format!("{DOCUMENTS_PATH}?{}", query.finish())
    }
}

/// A task as a row of a list.
struct TaskRow {
    id: i64,
    display_name: String,
    external_id: String,
    workspace: String,
    status: &'static str,
    total_pages: i64,
    created_on: String,
    flag: Option<String>,
}

struct TabLink {
    key: &'static str,
    label: &'static str,
    active: bool,
}

/// An option of a filter's select.
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "documents.html")]
struct DocumentsPage<'a> {
    me: Chrome,
    tabs: Vec<TabLink>,
    tab: &'a str,
    search: &'a str,
    workspaces: Vec<Choice>,
    statuses: Vec<Choice>,
    from: &'a str,
    to: &'a str,
    flagged: bool,
    tasks: Vec<TaskRow>,
    total: i64,
    page: u32,
    previous: Option<String>,
    next: Option<String>,
}

/// The workspaces a person sees, and whether that is fewer than all of the organisation's.
async fn visible_workspaces(state: &AppState, user: &User) -> ApiResult<(Vec<Workspace>, bool)> {
    let all = state.store.workspaces(user.org_id).await?;
    if user.role.sees_every_workspace() {
        return Ok((all, false));
    }
    let assigned = state.store.assigned_workspaces(user.id).await?;
    let visible = all
        .into_iter()
        .filter(|w| assigned.contains(&w.id))
        .collect();
    Ok((visible, true))
}

/// One page of a list, and how many tasks it holds in all.
async fn list_page(
    state: &AppState,
    user: &User,
    filter: Option<TaskFilter>,
    page: u32,
) -> ApiResult<(Vec<TaskSummary>, i64)> {
    let Some(filter) = filter else {
        return Ok((Vec::new(), 0));
    };
    let page = Page {
        number: page,
        size: PAGE_SIZE,
    };
    let listed = state.store.tasks(user.org_id, &filter, page).await?;
    Ok((listed.items, listed.total_count))
}

pub async fn documents(
    Viewer(user): Viewer,
    State(state): State<AppState>,
    query: Query,
) -> UiResult<Response> {
    let list = ListRequest::read(&query)?;
    let (visible, restricted) = visible_workspaces(&state, &user).await?;
    let filter = list.filter(&user, &visible, restricted);
    let (tasks, total) = list_page(&state, &user, filter, list.page).await?;
    let workspace_name = |id: i64| {
        visible
            .iter()
            .find(|w| w.id == id)
            .map_or_else(|| id.to_string(), |w| w.name.clone())
    };
    let rows = tasks
        .into_iter()
        .map(|t| TaskRow {
            id: t.id,
            workspace: workspace_name(t.workspace_id),
            display_name: t.display_name,
            external_id: t.external_id.unwrap_or_default(),
            status: t.task_status.name(),
            total_pages: t.total_pages,
            created_on: t.created_at.to_api_string(),
            flag: t.flag,
        })
        .collect();
    let tabs = TABS
        .iter()
        .map(|t| TabLink {
            key: t.key,
            label: t.label,
            active: t.key == list.tab.key,
        })
        .collect();
    let workspaces = visible
        .iter()
        .map(|w| Choice {
            value: w.id.to_string(),
            label: w.name.clone(),
            selected: list.workspace == Some(w.id),
        })
        .collect();
    let statuses = if list.tab.statuses.is_empty() {
        TaskStatus::ALL
    } else {
        list.tab.statuses
    };
    let statuses = statuses
        .iter()
        .map(|s| Choice {
            value: s.code().to_string(),
            label: s.name().to_owned(),
            selected: list.status == Some(*s),
        })
        .collect();
    let shown = i64::from(list.page) * i64::from(PAGE_SIZE);
    let view = DocumentsPage {
        me: Chrome::of(&user),
        tabs,
        tab: list.tab.key,
        search: list.search.as_deref().unwrap_or_default(),
        workspaces,
        statuses,
        from: list.from.as_deref().unwrap_or_default(),
        to: list.to.as_deref().unwrap_or_default(),
        flagged: list.flagged,
        tasks: rows,
        total,
        page: list.page,
        previous: (list.page > 1).then(|| list.link(list.page - 1)),
        next: (shown < total).then(|| list.link(list.page + 1)),
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
    /// Table cells found on the page (header and body).
    cells: Vec<PageBox>,
}

/// Pages shown at once in the viewer (a longer document shows its first ones).
const VIEWER_PAGES: usize = 20;

#[derive(Template)]
#[template(path = "document.html")]
struct DocumentPage<'a> {
    me: Chrome,
    task_id: i64,
    name: &'a str,
    status: &'a str,
    flag: Option<&'a str>,
    in_history_since: Option<String>,
    holding: bool,
    can_start: bool,
    can_cancel: bool,
    can_delete: bool,
    fields: Vec<FieldRow>,
    pages: Vec<PageView>,
    deliveries: Vec<DeliveryRow>,
}

/// A webhook message of the task and its attempts, for the delivery log.
struct DeliveryRow {
    message_id: String,
    state: &'static str,
    next_attempt: Option<String>,
    attempts: Vec<AttemptRow>,
}

struct AttemptRow {
    number: u32,
    at: String,
    /// The status, or "no answer".
    answer: String,
    latency_ms: i64,
    response: String,
}

fn delivery_rows(log: Vec<Delivery>) -> Vec<DeliveryRow> {
    log.into_iter()
        .map(|d| DeliveryRow {
            message_id: d.message_id,
            state: d.state.as_str(),
            next_attempt: d.next_attempt_at.map(Timestamp::to_api_string),
            attempts: d
                .attempts
                .into_iter()
                .map(|a| AttemptRow {
                    number: a.attempt,
                    at: a.started_at.to_api_string(),
                    answer: a
                        .status_code
                        .map_or_else(|| "no answer".to_owned(), |s| s.to_string()),
                    latency_ms: a.latency_ms,
                    response: a.response,
                })
                .collect(),
        })
        .collect()
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
) -> UiResult<Response> {
    let actor = Actor::User(user.clone());
    let task = reviewable_task(&state, &actor, &task_id, false).await?;
    let summary = task.summary.clone();
    let status = summary.task_status;
    let threshold = state
        .store
        .workspace(user.org_id, Some(summary.workspace_id))
        .await?
        .map_or(0.9, |w| w.review.confidence_threshold);
    let checkout = state.store.checkout(summary.id).await?;
    let holding = status == TaskStatus::InReview
        && checkout
            .is_some_and(|c| c.is_held_by(&Reviewer::of(&user)) && c.is_live(Timestamp::now()));
    let edits = user.role.may_edit();
    let deliveries = delivery_rows(state.store.deliveries(summary.id).await?);
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
        me: Chrome::of(&user),
        task_id: summary.id,
        name: &summary.display_name,
        status: status.name(),
        flag: summary.flag.as_deref(),
        in_history_since: summary.archived_at.map(Timestamp::to_api_string),
        holding,
        can_start: edits && status == TaskStatus::ToReview,
        can_cancel: edits && cancelled_status(status).is_some(),
        can_delete: edits && !matches!(status, TaskStatus::Deleting | TaskStatus::Deleted),
        fields,
        pages,
        deliveries,
    };
    Ok(page_response(StatusCode::OK, &view))
}

/// The viewer's pages: each page's words, and the boxes of the reviewable fields on it.
fn page_views(pages: &[PageText], export: &ExportData) -> Vec<PageView> {
    let entities = || export.chunks.iter().flat_map(|c| &c.entities);
    pages
        .iter()
        .take(VIEWER_PAGES)
        .map(|page| {
            let number = i64::from(page.page_number);
            // A box of the export where it has one on this page.
            let placed = |page_number: i64, b: &BoundingBox, label: String| {
                (page_number == number && b.width > 0.0 && b.height > 0.0).then(|| {
                    let rect = Rect {
                        left: b.left,
                        top: b.top,
                        right: b.right,
                        bottom: b.bottom,
                    };
                    PageBox::new(rect, page, label)
                })
            };
            let words = page
                .lines
                .iter()
                .flat_map(|l| &l.words)
                .map(|w| PageBox::new(w.bbox, page, w.text.clone()))
                .collect();
            let fields = entities()
                .filter_map(|e| {
                    let kind = FieldKind::parse(&e.entity_type).ok()?;
                    let value = e.key_values.first()?;
                    let label = field_key(kind, &e.category);
                    placed(value.page_number, &value.region.bounding_box, label)
                })
                .collect();
            let cells = entities()
                .filter_map(|e| e.table.as_ref())
                .flat_map(|t| {
                    let headers = t.table_headers.iter().map(|h| &h.cell);
                    headers.chain(t.table_rows.values().flatten())
                })
                .filter_map(|c| placed(c.page_number, &c.region.bounding_box, c.content.clone()))
                .collect();
            PageView {
                number: page.page_number,
                ratio: format!("{:.3} / {:.3}", page.width.max(1.0), page.height.max(1.0)),
                words,
                fields,
                cells,
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
) -> UiResult<Response> {
    let actor = Actor::User(user);
    let task = reviewable_task(&state, &actor, &task_id, true).await?;
    check_out_task(&state, &actor, task.summary.id).await?;
    Ok(Redirect::to(&format!("{DOCUMENTS_PATH}/{}", task.summary.id)).into_response())
}

pub async fn release_review(
    Viewer(user): Viewer,
    State(state): State<AppState>,
    Path(task_id): Path<String>,
) -> UiResult<Response> {
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
) -> UiResult<Response> {
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
        FieldEdit::check(&category, &change).map_err(ApiError::from)?;
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
    let (visible, restricted) = visible_workspaces(&state, &user).await?;
    let waiting = ListRequest {
        status: Some(TaskStatus::ToReview),
        ..ListRequest::tab(&TABS[0])
    }
    .filter(&user, &visible, restricted);
    let (waiting, _) = list_page(&state, &user, waiting, 1).await?;
    let next = match waiting.last() {
        Some(task) => format!("{DOCUMENTS_PATH}/{}", task.id),
        None => DOCUMENTS_PATH.to_owned(),
    };
    Ok(Redirect::to(&next).into_response())
}

pub async fn cancel_task(
    Viewer(user): Viewer,
    State(state): State<AppState>,
    Path(task_id): Path<String>,
) -> UiResult<Response> {
    end_task(&state, &Actor::User(user), &task_id, Ending::Cancel).await?;
    Ok(Redirect::to(&format!("{DOCUMENTS_PATH}/{task_id}")).into_response())
}

pub async fn delete_task(
    Viewer(user): Viewer,
    State(state): State<AppState>,
    Path(task_id): Path<String>,
) -> UiResult<Response> {
    end_task(&state, &Actor::User(user), &task_id, Ending::Delete).await?;
    Ok(Redirect::to(DOCUMENTS_PATH).into_response())
}

/// Sends the task's newest webhook message again (same id) and shows the task.
pub async fn redeliver(
    Viewer(user): Viewer,
    State(state): State<AppState>,
    Path(task_id): Path<String>,
) -> UiResult<Response> {
    let actor = Actor::User(user);
    let task = reviewable_task(&state, &actor, &task_id, true).await?;
    let id = task.summary.id;
    state
        .store
        .redeliver(id, Timestamp::now())
        .await?
        .ok_or_else(|| ApiError::Conflict("nothing was ever sent for this task".into()))?;
    state.pipeline.wake_deliveries();
    Ok(Redirect::to(&format!("{DOCUMENTS_PATH}/{id}")).into_response())
}
