//! Webhook routes (docket's): a workspace's webhook (endpoint, `whsec_` secret, retry schedule,
//! on or off), and a task's delivery log with its "redeliver" action.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Actor;
use super::error::{ApiError, ApiResult};
use super::input::json_body;
use super::people::visible_workspace;
use super::review::reviewable_task;
use super::AppState;
use docket_domain::webhook::{
    Delivery, WebhookBody, WebhookChange, WebhookSecret, WebhookSettings,
};
use docket_domain::Timestamp;

/// A workspace's webhook as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookResponse {
    pub url: String,
    /// `exportData` (the GetExportData model) or `fileUrl` (URL-to-file).
    pub body: String,
    /// For `fileUrl`: how long `exportedFileUrl` works, in hours.
    pub file_link_hours: Option<u32>,
    /// `whsec_` and the key in base64: verify `webhook-signature` with it.
    pub secret: String,
    pub enabled: bool,
    /// Waits before each retry, e.g. `5s,5m,30m,2h,5h,10h,10h`.
    pub schedule: String,
    pub timeout_seconds: u32,
    /// Why docket turned the webhook off (the endpoint answered 410 Gone).
    pub disabled_reason: Option<String>,
}

impl From<&WebhookSettings> for WebhookResponse {
    fn from(w: &WebhookSettings) -> Self {
        WebhookResponse {
            url: w.url.clone(),
            body: w.body.name().to_owned(),
            file_link_hours: match w.body {
                WebhookBody::ExportData => None,
                WebhookBody::FileUrl { link_hours } => Some(link_hours),
            },
            secret: w.secret.to_text(),
            enabled: w.enabled,
            schedule: w.schedule.to_string(),
            timeout_seconds: w.timeout_seconds,
            disabled_reason: w.disabled_reason.clone(),
        }
    }
}

/// What a PUT may set; absent properties keep their value (or take the default).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookRequest {
    /// http or https. The same rules as document URLs: no private addresses unless docket
    /// runs with `--allow-private-urls`.
    pub url: String,
    /// `exportData` (default): the task's export; `fileUrl`: `{taskId, taskNumber,
    /// workspaceId, displayName, totalPages, exportedFileUrl}` with a signed link.
    pub body: Option<String>,
    /// For `fileUrl`: how long its links work, 1 to 168 hours (default 168).
    pub file_link_hours: Option<u32>,
    pub enabled: Option<bool>,
    /// Waits before each retry (default Standard Webhooks' 5s,5m,30m,2h,5h,10h,10h).
    pub schedule: Option<String>,
    /// 1 to 300 (default 15).
    pub timeout_seconds: Option<u32>,
}

/// The workspace, if the caller may change its settings.
async fn managed_workspace(actor: &Actor, state: &AppState, raw_id: &str) -> ApiResult<i64> {
    let id = visible_workspace(actor, state, raw_id).await?;
    if actor.role().sees_every_workspace() {
        Ok(id)
    } else {
        Err(ApiError::Forbidden(
            "only Administrators and Managers see and change webhooks".into(),
        ))
    }
}

async fn current(state: &AppState, actor: &Actor, workspace: i64) -> ApiResult<WebhookSettings> {
    state
        .store
        .webhook(actor.org_id(), workspace)
        .await?
        .ok_or(ApiError::NotFound("webhook"))
}

/// The workspace's webhook.
#[utoipa::path(
    get,
    path = "/api/v1.0/external/sdworkspace/{workspaceId}/webhook",
    tag = "Webhooks",
    params(("workspaceId" = i64, Path)),
    responses((status = 200, body = WebhookResponse), (status = 403), (status = 404))
)]
pub async fn webhook(
    actor: Actor,
    State(state): State<AppState>,
    Path(workspace_id): Path<String>,
) -> ApiResult<Json<WebhookResponse>> {
    let workspace = managed_workspace(&actor, &state, &workspace_id).await?;
    Ok(Json((&current(&state, &actor, workspace).await?).into()))
}

/// Sets the workspace's webhook: reviewed tasks are then POSTed there, signed with its secret
/// (made on first set, kept after).
#[utoipa::path(
    put,
    path = "/api/v1.0/external/sdworkspace/{workspaceId}/webhook",
    tag = "Webhooks",
    params(("workspaceId" = i64, Path)),
    request_body = WebhookRequest,
    responses(
        (status = 200, body = WebhookResponse),
        (status = 400, description = "A bad URL, schedule or timeout"),
        (status = 403),
        (status = 404),
    )
)]
pub async fn set_webhook(
    actor: Actor,
    State(state): State<AppState>,
    Path(workspace_id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<WebhookResponse>> {
    let workspace = managed_workspace(&actor, &state, &workspace_id).await?;
    let names = [
        "url",
        "body",
        "fileLinkHours",
        "enabled",
        "schedule",
        "timeoutSeconds",
    ];
    let request: WebhookRequest = json_body(&body, &names)?;
    let change = WebhookChange {
        url: Some(request.url),
        body: request.body,
        file_link_hours: request.file_link_hours,
        enabled: request.enabled,
        schedule: request.schedule,
        timeout_seconds: request.timeout_seconds,
    };
    let before = state.store.webhook(actor.org_id(), workspace).await?;
    let webhook = change.apply(before)?;
    state
        .store
        .set_webhook(actor.org_id(), workspace, Some(&webhook))
        .await?;
    state.pipeline.wake_deliveries();
    Ok(Json((&webhook).into()))
}

/// Removes the workspace's webhook: reviewed tasks stay Reviewed.
#[utoipa::path(
    delete,
    path = "/api/v1.0/external/sdworkspace/{workspaceId}/webhook",
    tag = "Webhooks",
    params(("workspaceId" = i64, Path)),
    responses((status = 200), (status = 403), (status = 404))
)]
pub async fn delete_webhook(
    actor: Actor,
    State(state): State<AppState>,
    Path(workspace_id): Path<String>,
) -> ApiResult<()> {
    let workspace = managed_workspace(&actor, &state, &workspace_id).await?;
    current(&state, &actor, workspace).await?;
    state
        .store
        .set_webhook(actor.org_id(), workspace, None)
        .await?;
    Ok(())
}

/// A new secret for the workspace's webhook, used from the next attempt on; the old one stops
/// at once.
#[utoipa::path(
    post,
    path = "/api/v1.0/external/sdworkspace/{workspaceId}/webhook/rotatesecret",
    tag = "Webhooks",
    params(("workspaceId" = i64, Path)),
    responses((status = 200, body = WebhookResponse), (status = 403), (status = 404))
)]
pub async fn rotate_webhook_secret(
    actor: Actor,
    State(state): State<AppState>,
    Path(workspace_id): Path<String>,
) -> ApiResult<Json<WebhookResponse>> {
    let workspace = managed_workspace(&actor, &state, &workspace_id).await?;
    let mut webhook = current(&state, &actor, workspace).await?;
    webhook.secret = WebhookSecret::generate();
    state
        .store
        .set_webhook(actor.org_id(), workspace, Some(&webhook))
        .await?;
    Ok(Json((&webhook).into()))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttemptResponse {
    pub attempt: u32,
    pub started_on: Timestamp,
    /// Null when no answer came (refused, unreachable, timed out).
    pub status_code: Option<u16>,
    pub latency_ms: i64,
    /// The start of the answer's body, or why there was none.
    pub response: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryResponse {
    /// `webhook-id`: the same on every attempt.
    pub message_id: String,
    pub created_on: Timestamp,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    /// When the next attempt is due, while pending.
    pub next_attempt_on: Option<Timestamp>,
    pub attempts: Vec<AttemptResponse>,
}

impl From<Delivery> for DeliveryResponse {
    fn from(d: Delivery) -> Self {
        DeliveryResponse {
            message_id: d.message_id,
            created_on: d.created_at,
            state: d.state.as_str().to_owned(),
            next_attempt_on: d.next_attempt_at,
            attempts: d
                .attempts
                .into_iter()
                .map(|a| AttemptResponse {
                    attempt: a.attempt,
                    started_on: a.started_at,
                    status_code: a.status_code,
                    latency_ms: a.latency_ms,
                    response: a.response,
                })
                .collect(),
        }
    }
}

/// The task's delivery log: each message sent for it, newest first, with every attempt.
#[utoipa::path(
    get,
    path = "/api/v1.0/external/sdtask/{taskId}/deliveries",
    tag = "Webhooks",
    params(("taskId" = i64, Path)),
    responses((status = 200, body = Vec<DeliveryResponse>), (status = 404))
)]
pub async fn deliveries(
    actor: Actor,
    State(state): State<AppState>,
    Path(task_id): Path<String>,
) -> ApiResult<Json<Vec<DeliveryResponse>>> {
    let task = reviewable_task(&state, &actor, &task_id, false).await?;
    let log = state.store.deliveries(task.summary.id).await?;
    Ok(Json(log.into_iter().map(Into::into).collect()))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RedeliveryResponse {
    pub message_id: String,
}

/// Sends the task's newest message again, with the same `webhook-id`, from its first attempt
/// (a task its export had sent back to review is Reviewed again).
#[utoipa::path(
    post,
    path = "/api/v1.0/external/sdtask/{taskId}/redeliver",
    tag = "Webhooks",
    params(("taskId" = i64, Path)),
    responses(
        (status = 200, body = RedeliveryResponse),
        (status = 403),
        (status = 404),
        (status = 409, description = "Nothing was ever sent for the task"),
    )
)]
pub async fn redeliver(
    actor: Actor,
    State(state): State<AppState>,
    Path(task_id): Path<String>,
) -> ApiResult<Json<RedeliveryResponse>> {
    let task = reviewable_task(&state, &actor, &task_id, true).await?;
    let message_id = state
        .store
        .redeliver(task.summary.id, Timestamp::now())
        .await?
        .ok_or_else(|| ApiError::Conflict("nothing was ever sent for this task".into()))?;
    state.pipeline.wake_deliveries();
    Ok(Json(RedeliveryResponse { message_id }))
}
