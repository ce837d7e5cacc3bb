//! Review routes (docket's own; SmartDocumentor reviews in its web app): check a task out,
//! edit its fields while holding it, then complete or release it; workspace review settings;
//! deleting and cancelling a task. People review with their
//! session, API clients with the organisation's token (shown as the "API client" in the
//! export's `...External` audit fields).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::auth::Actor;
use super::error::{ApiError, ApiResult};
use super::input::{canonical_keys, from_json_value, json_body, parse_lenient};
use super::people::visible_workspace;
use super::tasks::path_task_id;
use super::AppState;
use docket_domain::review::{
    Change, FieldEdit, FieldKind, ReviewSettings, Reviewer, CHECKOUT_SECONDS,
};
use docket_domain::text::Rect;
use docket_domain::Timestamp;
use docket_store::{Checkout, Task, TaskRef};

impl Actor {
    pub fn reviewer(&self) -> Reviewer {
        match self {
            Actor::Client(_) => Reviewer::Client,
            Actor::User(user) => Reviewer::of(user),
        }
    }
}

/// The user ids a task's `taskAssignment` names (`{"reviewers": [id or e-mail, ...]}`), each
/// a member of the organisation; empty when it names none.
pub(super) async fn requested_reviewers(
    state: &AppState,
    org_id: i64,
    assignment: Option<&Value>,
) -> ApiResult<Vec<i64>> {
    let mut assignment = match assignment {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(value @ Value::Object(_)) => value.clone(),
        Some(_) => {
            return Err(ApiError::BadRequest(
                "taskAssignment must be an object".into(),
            ))
        }
    };
    canonical_keys(&mut assignment, &["reviewers"]);
    let listed = match assignment.get("reviewers") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(listed)) if listed.len() <= 100 => listed.clone(),
        Some(_) => {
            return Err(ApiError::BadRequest(
                "taskAssignment.reviewers must be a list of at most 100 user ids or e-mails".into(),
            ))
        }
    };
    let users = state.store.users(org_id).await?;
    listed
        .iter()
        .map(|reviewer| {
            let found = match reviewer {
                Value::Number(n) => users.iter().find(|u| Some(u.id) == n.as_i64()),
                Value::String(text) => {
                    let email = docket_domain::people::Email::parse(text)?;
                    users.iter().find(|u| u.email == email)
                }
                _ => None,
            };
            found.map(|u| u.id).ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "taskAssignment: {reviewer} is not a user of the organisation"
                ))
            })
        })
        .collect()
}

/// Who holds a task for review and until when, and its status.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReviewState {
    pub task_id: i64,
    pub task_status: i64,
    pub task_status_text: String,
    /// The user id of who holds or last held the task; null for the API client.
    pub last_checked_out_by: Option<i64>,
    pub last_checkout_by_user_name: Option<String>,
    pub last_checked_out_until: Option<Timestamp>,
}

/// The task, when the caller may see its workspace; with `edit`, also when they may change it.
pub(super) async fn reviewable_task(
    state: &AppState,
    actor: &Actor,
    raw_id: &str,
    edit: bool,
) -> ApiResult<Task> {
    let found = state
        .store
        .task(actor.org_id(), &path_task_id(raw_id)?)
        .await?;
    let task = match found {
        Some(task)
            if actor
                .sees_workspace(state, task.summary.workspace_id)
                .await? =>
        {
            task
        }
        _ => return Err(ApiError::NotFound("task")),
    };
    if edit && !actor.role().may_edit() {
        return Err(ApiError::Forbidden(format!(
            "a {} cannot review",
            actor.role().name()
        )));
    }
    Ok(task)
}

async fn review_state(state: &AppState, org_id: i64, task_id: i64) -> ApiResult<ReviewState> {
    let task = state
        .store
        .task(org_id, &TaskRef::Id(task_id))
        .await?
        .ok_or(ApiError::NotFound("task"))?;
    let checkout = state.store.checkout(task_id).await?;
    let status = task.summary.task_status;
    Ok(ReviewState {
        task_id,
        task_status: status.code(),
        task_status_text: status.name().to_owned(),
        last_checked_out_by: checkout.as_ref().and_then(|c| c.user_id),
        last_checkout_by_user_name: checkout.as_ref().map(|c| c.user_name.clone()),
        last_checked_out_until: checkout.map(|c: Checkout| c.until),
    })
}

/// Check a task out for review (ToReview → InReview) for 30 minutes, or renew one's own
/// checkout. Another reviewer's live checkout is a 409 naming them and its end.
#[utoipa::path(
    post,
    path = "/api/v1.0/external/sdtask/{taskId}/checkout",
    tag = "Review",
    params(("taskId" = i64, Path)),
    responses(
        (status = 200, body = ReviewState),
        (status = 403, description = "Viewers cannot review"),
        (status = 404),
        (status = 409, description = "Someone else holds the task, or it is not to review"),
    )
)]
pub async fn check_out(
    actor: Actor,
    State(state): State<AppState>,
    Path(task_id): Path<String>,
) -> ApiResult<Json<ReviewState>> {
    let task = reviewable_task(&state, &actor, &task_id, true).await?;
    let id = task.summary.id;
    check_out_task(&state, &actor, id).await?;
    Ok(Json(review_state(&state, actor.org_id(), id).await?))
}

/// Checks the task out for the actor, when it is theirs to review (see `check_out`).
pub(super) async fn check_out_task(state: &AppState, actor: &Actor, id: i64) -> ApiResult<()> {
    if let Actor::User(user) = actor {
        let assigned = state.store.task_reviewers(id).await?;
        if !(assigned.is_empty() || assigned.contains(&user.id) || user.role.sees_every_workspace())
        {
            return Err(ApiError::Forbidden(
                "the task is assigned to other reviewers".into(),
            ));
        }
    }
    let until = Timestamp::now().plus_seconds(CHECKOUT_SECONDS);
    state
        .store
        .check_out(actor.org_id(), id, &actor.reviewer(), until)
        .await?;
    Ok(())
}

/// Completes the review and remembers what it taught about the supplier; a failure to learn
/// does not undo the review.
pub(super) async fn complete_and_learn(
    state: &AppState,
    org_id: i64,
    task_id: i64,
    by: &Reviewer,
) -> ApiResult<()> {
    state.store.complete_review(org_id, task_id, by).await?;
    state.pipeline.wake_deliveries();
    match state.pipeline.learn_from_review(org_id, task_id).await {
        Ok(0) => {}
        Ok(rules) => tracing::info!(task_id, rules, "learnt from the review"),
        Err(e) => tracing::warn!(task_id, error = %e, "learning from the review failed"),
    }
    Ok(())
}

/// Give a checked-out task back (InReview → ToReview); its edits stay.
#[utoipa::path(
    post,
    path = "/api/v1.0/external/sdtask/{taskId}/release",
    tag = "Review",
    params(("taskId" = i64, Path)),
    responses((status = 200, body = ReviewState), (status = 403), (status = 404), (status = 409))
)]
pub async fn release(
    actor: Actor,
    State(state): State<AppState>,
    Path(task_id): Path<String>,
) -> ApiResult<Json<ReviewState>> {
    let task = reviewable_task(&state, &actor, &task_id, true).await?;
    let id = task.summary.id;
    state
        .store
        .release(actor.org_id(), id, &actor.reviewer())
        .await?;
    Ok(Json(review_state(&state, actor.org_id(), id).await?))
}

/// Complete the review (InReview → Reviewed): the export then carries the reviewed values.
#[utoipa::path(
    post,
    path = "/api/v1.0/external/sdtask/{taskId}/complete",
    tag = "Review",
    params(("taskId" = i64, Path)),
    responses((status = 200, body = ReviewState), (status = 403), (status = 404), (status = 409))
)]
pub async fn complete(
    actor: Actor,
    State(state): State<AppState>,
    Path(task_id): Path<String>,
) -> ApiResult<Json<ReviewState>> {
    let task = reviewable_task(&state, &actor, &task_id, true).await?;
    let id = task.summary.id;
    complete_and_learn(&state, actor.org_id(), id, &actor.reviewer()).await?;
    Ok(Json(review_state(&state, actor.org_id(), id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EditedBox {
    pub left: f64,
    pub top: f64,
    pub right: f64,
    pub bottom: f64,
}

/// One field as the reviewer says it is.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FieldChange {
    /// `invoiceField`, `receiptField` or `keyValue`: the entity type the field appears as.
    #[serde(rename = "type")]
    pub field_type: String,
    /// The entity's category, e.g. `InvoiceNumber`, `GrossTotal`.
    pub category: String,
    /// The value; required unless `notDetected`.
    pub content: Option<String>,
    /// True: the document has no such field.
    #[serde(default)]
    pub not_detected: bool,
    /// Where the value is (default 1).
    pub page_number: Option<u32>,
    /// Where on the page, in the export's units (a field added by hand should say).
    pub bounding_box: Option<EditedBox>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EditFieldsRequest {
    pub fields: Vec<FieldChange>,
}

/// Change, add or mark absent fields of a task one holds. Every edit is kept with who and when
/// and shows in the export's audit fields.
#[utoipa::path(
    patch,
    path = "/api/v1.0/external/sdtask/{taskId}/fields",
    tag = "Review",
    params(("taskId" = i64, Path)),
    request_body = EditFieldsRequest,
    responses(
        (status = 200, description = "Kept"),
        (status = 400),
        (status = 403),
        (status = 404),
        (status = 409, description = "The caller does not hold the task"),
    )
)]
pub async fn edit_fields(
    actor: Actor,
    State(state): State<AppState>,
    Path(task_id): Path<String>,
    body: Bytes,
) -> ApiResult<()> {
    let task = reviewable_task(&state, &actor, &task_id, true).await?;
    let edits = parse_edits(&body, &actor.reviewer(), task.summary.total_pages)?;
    state
        .store
        .record_edits(actor.org_id(), task.summary.id, &edits)
        .await?;
    Ok(())
}

fn parse_edits(body: &[u8], by: &Reviewer, total_pages: i64) -> ApiResult<Vec<FieldEdit>> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::BadRequest("the body is not UTF-8".into()))?;
    let mut value = parse_lenient(text)?;
    canonical_keys(&mut value, &["fields"]);
    let names = [
        "type",
        "category",
        "content",
        "notDetected",
        "pageNumber",
        "boundingBox",
    ];
    if let Some(Value::Array(fields)) = value.get_mut("fields") {
        for field in fields {
            canonical_keys(field, &names);
        }
    }
    let request: EditFieldsRequest = from_json_value(value, &["fields"])?;
    if request.fields.is_empty() || request.fields.len() > 200 {
        return Err(ApiError::BadRequest(
            "fields must hold 1 to 200 changes".into(),
        ));
    }
    let at = Timestamp::now();
    request
        .fields
        .into_iter()
        .map(|field| {
            let page_number = field.page_number.unwrap_or(1);
            if page_number == 0 || i64::from(page_number) > total_pages.max(1) {
                return Err(ApiError::BadRequest(format!(
                    "pageNumber {page_number} is not a page of the task"
                )));
            }
            let change = match (field.not_detected, field.content) {
                (true, _) => Change::Absent { page_number },
                (false, Some(content)) => Change::Set {
                    content,
                    page_number,
                    bbox: field.bounding_box.map(|b| Rect {
                        left: b.left,
                        top: b.top,
                        right: b.right,
                        bottom: b.bottom,
                    }),
                },
                (false, None) => {
                    return Err(ApiError::BadRequest(format!(
                        "{}: content is required unless notDetected is true",
                        field.category
                    )))
                }
            };
            let category = field.category.trim().to_owned();
            FieldEdit::check(&category, &change)?;
            Ok(FieldEdit {
                kind: FieldKind::parse(&field.field_type)?,
                category,
                change,
                by: by.clone(),
                at,
            })
        })
        .collect()
}

/// A workspace's review settings: who reviews its tasks when they name nobody, and automatic
/// review.
#[utoipa::path(
    get,
    path = "/api/v1.0/external/sdworkspace/{workspaceId}/reviewsettings",
    tag = "Review",
    params(("workspaceId" = i64, Path)),
    responses((status = 200, body = ReviewSettings), (status = 404))
)]
pub async fn review_settings(
    actor: Actor,
    State(state): State<AppState>,
    Path(workspace_id): Path<String>,
) -> ApiResult<Json<ReviewSettings>> {
    let id = visible_workspace(&actor, &state, &workspace_id).await?;
    let workspace = state.store.workspace(actor.org_id(), Some(id)).await?;
    Ok(Json(
        workspace.ok_or(ApiError::NotFound("workspace"))?.review,
    ))
}

/// Replace a workspace's review settings (Administrators, Managers and API clients).
#[utoipa::path(
    put,
    path = "/api/v1.0/external/sdworkspace/{workspaceId}/reviewsettings",
    tag = "Review",
    params(("workspaceId" = i64, Path)),
    request_body = ReviewSettings,
    responses(
        (status = 200, body = ReviewSettings),
        (status = 400, description = "A bad threshold, a reviewer who is not a user of the organisation, automatic review without required fields"),
        (status = 403),
        (status = 404),
    )
)]
pub async fn set_review_settings(
    actor: Actor,
    State(state): State<AppState>,
    Path(workspace_id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<ReviewSettings>> {
    let id = visible_workspace(&actor, &state, &workspace_id).await?;
    let names = [
        "assignment",
        "reviewers",
        "autoReview",
        "confidenceThreshold",
        "requiredFields",
    ];
    let settings: ReviewSettings = json_body(&body, &names)?;
    save_review_settings(&state, &actor, id, &settings).await?;
    Ok(Json(settings))
}

/// Checks and keeps a workspace's review settings (the API's route and the settings page).
pub(super) async fn save_review_settings(
    state: &AppState,
    actor: &Actor,
    workspace_id: i64,
    settings: &ReviewSettings,
) -> ApiResult<()> {
    if !actor.role().sees_every_workspace() {
        return Err(ApiError::Forbidden(
            "only Administrators and Managers change review settings".into(),
        ));
    }
    settings.check()?;
    let users = state.store.users(actor.org_id()).await?;
    if let Some(stranger) = settings
        .reviewers
        .iter()
        .find(|id| !users.iter().any(|u| u.id == **id))
    {
        return Err(ApiError::BadRequest(format!(
            "reviewer {stranger} is not a user of the organisation"
        )));
    }
    state
        .store
        .set_review_settings(actor.org_id(), workspace_id, settings)
        .await?;
    Ok(())
}

/// Delete a task: Deleting (19), then Deleted (20) in history; its results and edits go at
/// once, its original file after the retention period.
#[utoipa::path(
    delete,
    path = "/api/v1.0/external/sdtask/{taskId}",
    tag = "Tasks",
    params(("taskId" = i64, Path)),
    responses((status = 200, description = "Deleted"), (status = 403), (status = 404))
)]
pub async fn delete_task(
    actor: Actor,
    State(state): State<AppState>,
    Path(task_id): Path<String>,
) -> ApiResult<()> {
    end_task(&state, &actor, &task_id, Ending::Delete).await
}

/// How a person or client can end a task before its work is done.
#[derive(Clone, Copy)]
pub(super) enum Ending {
    Delete,
    Cancel,
}

/// Deletes or cancels a task the actor may edit (the API's routes and the web UI's buttons).
pub(super) async fn end_task(
    state: &AppState,
    actor: &Actor,
    raw_id: &str,
    ending: Ending,
) -> ApiResult<()> {
    let task = reviewable_task(state, actor, raw_id, true).await?;
    let task = TaskRef::Id(task.summary.id);
    let found = match ending {
        Ending::Delete => state.store.delete_task(actor.org_id(), &task).await?,
        Ending::Cancel => state.store.cancel_task(actor.org_id(), &task).await?,
    };
    found.then_some(()).ok_or(ApiError::NotFound("task"))
}

/// Cancel a queued or running task: its work stops and it fails with the reason "cancelled"
/// (PreProcessingFailed or RecognitionFailed); reprocess to start it again.
#[utoipa::path(
    post,
    path = "/api/v1.0/external/sdtask/{taskId}/cancel",
    tag = "Tasks",
    params(("taskId" = i64, Path)),
    responses(
        (status = 200, description = "Cancelled"),
        (status = 403),
        (status = 404),
        (status = 409, description = "The task is neither queued nor running"),
    )
)]
pub async fn cancel_task(
    actor: Actor,
    State(state): State<AppState>,
    Path(task_id): Path<String>,
) -> ApiResult<()> {
    end_task(&state, &actor, &task_id, Ending::Cancel).await
}
