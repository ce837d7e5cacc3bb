//! `/sdworkspace` and `/sdbatch`: the organisation's workspaces, and batches that group tasks.

use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Tenant;
use super::error::{ApiError, ApiResult};
use super::input::{int_or_string, json_body, Query};
use super::{AppState, Paginated};
use docket_domain::values::display_name;
use docket_domain::{Timestamp, WorkspaceTemplate};
use docket_store::{Batch, BatchFilter, BatchSort, BatchSortField, Workspace};

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceResponse {
    pub workspace_id: i64,
    pub tenant_id: i64,
    pub workspace_name: String,
    pub workspace_description: Option<String>,
    pub is_default: bool,
    /// What a task holds: 10 Document, 20 Transcript, 30 Image.
    pub task_type: i64,
    /// `taskType` as text.
    pub task_type_text: String,
    /// 1 (Standard) for every docket workspace.
    pub workspace_type: i64,
    /// `workspaceType` as text.
    pub workspace_type_text: String,
    /// The template: 1 InvoicesPortugal, 2 InvoicesUniversal, 3 Receipts, 4 Layout,
    /// 5 AIDocumentUnderstanding, 6 IdentificationDocument, 7 DocumentAnonymization,
    /// 8 ImageAnonymization, 9 Transcripts, 10 Template.
    pub template_type: i64,
    /// `templateType` as text: the template's key, e.g. `InvoicesPortugal`.
    pub template_type_text: String,
    /// The template's name, e.g. `Invoices (Portugal)`.
    pub workspace_template_name: String,
}

/// docket has one kind of workspace.
const STANDARD_WORKSPACE: (i64, &str) = (1, "Standard");

impl From<Workspace> for WorkspaceResponse {
    fn from(w: Workspace) -> Self {
        let template = WorkspaceTemplate::parse(&w.template).unwrap_or(WorkspaceTemplate::Layout);
        let task_type = template.task_type();
        WorkspaceResponse {
            workspace_id: w.id,
            tenant_id: w.org_id,
            workspace_name: w.name,
            workspace_description: w.description,
            is_default: w.is_default,
            task_type: task_type.code(),
            task_type_text: task_type.name().to_owned(),
            workspace_type: STANDARD_WORKSPACE.0,
            workspace_type_text: STANDARD_WORKSPACE.1.to_owned(),
            template_type: template.code(),
            template_type_text: template.key().to_owned(),
            workspace_template_name: template.display_name().to_owned(),
        }
    }
}

/// The workspaces of the token's organisation.
#[utoipa::path(
    get,
    path = "/api/v1.0/external/sdworkspace/CurrentWorkspaces",
    tag = "Workspaces",
    responses((status = 200, body = Vec<WorkspaceResponse>))
)]
pub async fn current_workspaces(
    tenant: Tenant,
    State(state): State<AppState>,
) -> ApiResult<Json<Vec<WorkspaceResponse>>> {
    let workspaces = state.store.workspaces(tenant.org_id).await?;
    Ok(Json(workspaces.into_iter().map(Into::into).collect()))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BatchResponse {
    pub batch_id: i64,
    pub workspace_id: i64,
    pub display_name: String,
    pub description: Option<String>,
    /// With seven fractional digits, as the docs show for batches.
    #[serde(serialize_with = "Timestamp::serialize_fractional")]
    #[schema(value_type = String, format = DateTime, example = "2022-03-16T16:59:55.1230000Z")]
    pub created_on: Timestamp,
    /// Every task of the batch, those in history included.
    pub total_tasks: i64,
    /// Tasks of the batch that are Processed or Deleted.
    pub total_tasks_in_history: i64,
}

impl From<Batch> for BatchResponse {
    fn from(b: Batch) -> Self {
        BatchResponse {
            batch_id: b.id,
            workspace_id: b.workspace_id,
            display_name: b.display_name,
            description: b.description,
            created_on: b.created_at,
            total_tasks: b.total_tasks,
            total_tasks_in_history: b.total_tasks_in_history,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateBatchRequest {
    #[schema(required = true, min_length = 1, max_length = 256)]
    pub display_name: Option<String>,
    pub description: Option<String>,
    /// The default workspace when absent.
    #[serde(default, deserialize_with = "int_or_string")]
    pub workspace_id: Option<i64>,
}

/// Create a batch.
#[utoipa::path(
    post,
    path = "/api/v1.0/external/sdbatch",
    tag = "Batches",
    request_body = CreateBatchRequest,
    responses((status = 200, body = BatchResponse), (status = 400, description = "Invalid request or unknown workspace"))
)]
pub async fn create_batch(
    tenant: Tenant,
    State(state): State<AppState>,
    body: Bytes,
) -> ApiResult<Json<BatchResponse>> {
    let request: CreateBatchRequest =
        json_body(&body, &["displayName", "description", "workspaceId"])?;
    let name = display_name(
        "displayName",
        request.display_name.as_deref().unwrap_or_default(),
    )?;
    let workspace = state
        .store
        .workspace(tenant.org_id, request.workspace_id)
        .await?
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "workspace {} not found",
                request.workspace_id.unwrap_or_default()
            ))
        })?;
    let description = request
        .description
        .as_deref()
        .filter(|d| !d.trim().is_empty());
    let batch = state
        .store
        .create_batch(tenant.org_id, workspace.id, &name, description)
        .await?;
    Ok(Json(batch.into()))
}

/// One batch by `batchId`.
#[utoipa::path(
    get,
    path = "/api/v1.0/external/sdbatch",
    tag = "Batches",
    params(("batchId" = i64, Query, description = "Batch id")),
    responses((status = 200, body = BatchResponse), (status = 400), (status = 404))
)]
pub async fn get_batch(
    tenant: Tenant,
    State(state): State<AppState>,
    query: Query,
) -> ApiResult<Json<BatchResponse>> {
    let id = query
        .int("batchId")?
        .ok_or_else(|| ApiError::BadRequest("batchId must be specified".into()))?;
    let batch = state
        .store
        .batch(tenant.org_id, id)
        .await?
        .ok_or(ApiError::NotFound("batch"))?;
    Ok(Json(batch.into()))
}

/// Batches, filtered and a page at a time.
#[utoipa::path(
    get,
    path = "/api/v1.0/external/sdbatch/paginated",
    tag = "Batches",
    params(
        ("startDate" = Option<String>, Query, description = "Batches created at or after"),
        ("endDate" = Option<String>, Query, description = "Batches created at or before"),
        ("workspaceId" = Option<Vec<i64>>, Query, description = "Repeatable"),
        ("sort" = Option<String>, Query, description = "batchId, createdOn (default), displayName or workspaceId; `-` for descending"),
        ("pageNumber" = Option<u32>, Query, description = "From 1", minimum = 1),
        ("pageSize" = Option<u32>, Query, description = "1 to 1000, default 10", minimum = 1, maximum = 1000),
    ),
    responses((status = 200, body = Paginated<BatchResponse>), (status = 400))
)]
pub async fn batches_paginated(
    tenant: Tenant,
    State(state): State<AppState>,
    query: Query,
) -> ApiResult<Json<Paginated<BatchResponse>>> {
    let sort = query
        .sort(BatchSortField::NAMES)?
        .map(|(field, descending)| BatchSort { field, descending });
    let filter = BatchFilter {
        batch_id: None,
        start: query.timestamp("startDate")?,
        end: query.timestamp("endDate")?,
        workspace_ids: query.ints("workspaceId")?,
        sort: sort.unwrap_or_default(),
    };
    let page = query.page()?;
    let listed = state
        .store
        .batches(tenant.org_id, &filter, Some(page))
        .await?;
    Ok(Json(Paginated::from_listed(listed, page)))
}
