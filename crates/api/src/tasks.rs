//! `/sdtask/...`: create tasks (JSON with a URL, or multipart with the file), read their status
//! singly or in filtered lists, set the external integration status, reprocess, and export.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{header, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::auth::Tenant;
use super::error::{ApiError, ApiResult};
use super::input::{
    canonical_keys, from_json_value, int_or_string, json_body, parse_lenient, Query,
};
use super::review as review_routes;
use super::{AppState, Paginated, MAX_REQUEST_BYTES};
use docket_domain::export::ExportData;
use docket_domain::text::PageText;
use docket_domain::values::{base_file_name, display_name, metadata};
use docket_domain::{ExternalId, ExternalIntegrationStatus, Priority, Timestamp};
use docket_pipeline::export;
use docket_store::blobs::Spool;
use docket_store::{
    NewTask, SortField, StoredFile, Task, TaskFilter, TaskRef, TaskSort, TaskSummary,
};

/// GetTaskStatusResponse (seed 001).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskStatusResponse {
    pub task_id: i64,
    pub workspace_id: i64,
    pub batch_id: Option<i64>,
    pub task_number: Option<i64>,
    pub external_id: Option<String>,
    pub display_name: String,
    pub description: Option<String>,
    pub created_on: Timestamp,
    pub task_status: i64,
    pub integration_status: i64,
    pub task_status_text: String,
    pub integration_status_text: String,
    pub total_pages: i64,
    /// Only present once the task has been reprocessed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart_count: Option<i64>,
    pub pre_processing_started_on: Option<Timestamp>,
    /// docket's: why the sweeper put the task back; only present on such a task.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flag: Option<String>,
    /// docket's: when the task moved to history; only present once it has.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_history_since: Option<Timestamp>,
}

impl From<TaskSummary> for TaskStatusResponse {
    fn from(task: TaskSummary) -> Self {
        TaskStatusResponse {
            task_id: task.id,
            workspace_id: task.workspace_id,
            batch_id: task.batch_id,
            task_number: task.task_number,
            external_id: task.external_id,
            display_name: task.display_name,
            description: task.description,
            created_on: task.created_at,
            task_status: task.task_status.code(),
            integration_status: task.integration_status.code(),
            task_status_text: task.task_status.name().to_owned(),
            integration_status_text: task.integration_status.name().to_owned(),
            total_pages: task.total_pages,
            restart_count: (task.restart_count > 0).then_some(task.restart_count),
            pre_processing_started_on: task.preprocessing_started_at,
            flag: task.flag,
            in_history_since: task.archived_at,
        }
    }
}

impl From<Task> for TaskStatusResponse {
    fn from(task: Task) -> Self {
        task.summary.into()
    }
}

/// CreateTaskRequest as JSON: `context.url` names the document.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateTaskRequest {
    /// Generated when absent (the uploaded file's name, or "Task {taskNumber}").
    #[schema(min_length = 1, max_length = 256)]
    pub display_name: Option<String>,
    pub description: Option<String>,
    /// The organisation's default workspace when absent.
    #[serde(default, deserialize_with = "int_or_string")]
    pub workspace_id: Option<i64>,
    /// Must belong to the workspace.
    #[serde(default, deserialize_with = "int_or_string")]
    pub batch_id: Option<i64>,
    /// 1 = low (default), more than 1 = high.
    #[serde(default, deserialize_with = "int_or_string")]
    #[schema(minimum = 1)]
    pub priority: Option<i64>,
    /// Unique within the organisation. Trimmed; no control characters.
    #[schema(min_length = 1, max_length = 256)]
    pub external_id: Option<String>,
    /// Where docket downloads the document from; kept with the task.
    #[schema(schema_with = task_context, required = true)]
    pub context: Option<Value>,
    /// Who may review: `{"reviewers": [userId or e-mail, ...]}`; absent or empty, the
    /// workspace's review settings decide. Kept as sent.
    #[schema(value_type = Option<Object>)]
    pub task_assignment: Option<Value>,
    /// Kept as sent.
    #[schema(value_type = Option<Object>)]
    pub custom_form_values: Option<Value>,
    /// Returned in the export. At most 50 keys of up to 128 characters, values up to 2,048.
    pub metadata: Option<BTreeMap<String, String>>,
}

/// `context`: an object whose `url` is required (other properties are kept).
fn task_context() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaFormat, Type};
    let url = ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::Custom("uri".to_owned())))
        .description(Some("An http or https URL of the document"));
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property("url", url)
        .required("url")
        .build()
}

/// CreateTaskRequest as `multipart/form-data` (documentation only; read by `read_multipart`):
/// the document in `file` and the request's fields as form fields, JSON-valued ones as JSON
/// text, or all of them as JSON in one `request` part. No `context` is needed.
#[derive(ToSchema)]
#[allow(non_snake_case, dead_code)]
pub struct CreateTaskForm {
    /// The document.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    #[schema(min_length = 1, max_length = 256)]
    displayName: Option<String>,
    description: Option<String>,
    workspaceId: Option<i64>,
    batchId: Option<i64>,
    #[schema(minimum = 1)]
    priority: Option<i64>,
    #[schema(min_length = 1, max_length = 256)]
    externalId: Option<String>,
    /// JSON object.
    taskAssignment: Option<String>,
    /// JSON object.
    customFormValues: Option<String>,
    /// JSON object of strings.
    metadata: Option<String>,
    /// Every field above but `file`, as one JSON object.
    request: Option<String>,
}

const CREATE_FIELDS: &[&str] = &[
    "displayName",
    "description",
    "workspaceId",
    "batchId",
    "priority",
    "externalId",
    "context",
    "taskAssignment",
    "customFormValues",
    "metadata",
];

/// An uploaded document. The part's Content-Type is not kept: only the type pre-processing
/// detects from the bytes is ever served back.
struct Upload {
    spool: Spool,
    file_name: Option<String>,
}

/// Create a task from a document URL (JSON) or an uploaded file (multipart).
#[utoipa::path(
    post,
    path = "/api/v1.0/external/sdtask/process",
    tag = "Tasks",
    request_body(content(
        (CreateTaskRequest = "application/json"),
        (CreateTaskForm = "multipart/form-data"),
    )),
    responses(
        (status = 200, description = "The new task", body = TaskStatusResponse),
        (status = 400, description = "Invalid request"),
        (status = 401, description = "Missing or invalid token"),
        (status = 409, description = "externalId already used in the organisation"),
        (status = 413, description = "The file is larger than --max-file-mb, or a JSON body larger than 1 MiB"),
    )
)]
pub async fn process(
    tenant: Tenant,
    State(state): State<AppState>,
    request: Request,
) -> ApiResult<Json<TaskStatusResponse>> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let (body, upload) = if content_type
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        let multipart = Multipart::from_request(request, &state)
            .await
            .map_err(|e| ApiError::BadRequest(e.body_text()))?;
        read_multipart(multipart, &state).await?
    } else {
        // A JSON request names its document by URL: it is as small as any other request.
        let bytes = axum::body::to_bytes(request.into_body(), MAX_REQUEST_BYTES)
            .await
            .map_err(|_| {
                ApiError::PayloadTooLarge(format!(
                    "the body is larger than {MAX_REQUEST_BYTES} bytes"
                ))
            })?;
        (json_body::<CreateTaskRequest>(&bytes, CREATE_FIELDS)?, None)
    };
    let reviewers =
        review_routes::requested_reviewers(&state, tenant.org_id, body.task_assignment.as_ref())
            .await?;
    let new = new_task(&state, tenant, body, upload).await?;
    let task = state.store.create_task(new).await?;
    state
        .store
        .assign_reviewers(task.summary.id, &reviewers)
        .await?;
    state.pipeline.wake();
    Ok(Json(task.into()))
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge(e.body_text())
    } else {
        ApiError::BadRequest(format!("invalid multipart body: {}", e.body_text()))
    }
}

async fn read_multipart(
    mut multipart: Multipart,
    state: &AppState,
) -> ApiResult<(CreateTaskRequest, Option<Upload>)> {
    let mut fields = serde_json::Map::new();
    let mut upload = None;
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name.eq_ignore_ascii_case("file") {
            let file_name = field.file_name().and_then(base_file_name);
            let limit = state.config.max_upload_bytes as u64;
            let mut spool = state.blobs.spool().await?;
            while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                spool.write(&chunk).await.map_err(anyhow::Error::from)?;
                if spool.size() > limit {
                    return Err(ApiError::PayloadTooLarge(format!(
                        "the file is larger than {limit} bytes"
                    )));
                }
            }
            upload = Some(Upload { spool, file_name });
            continue;
        }
        let text = field.text().await.map_err(multipart_error)?;
        if name.eq_ignore_ascii_case("request") {
            if let Value::Object(map) = parse_lenient(&text)? {
                fields.extend(map);
                continue;
            }
            return Err(ApiError::BadRequest(
                "the request part must be a JSON object".into(),
            ));
        }
        let canonical = CREATE_FIELDS
            .iter()
            .find(|n| n.eq_ignore_ascii_case(&name))
            .copied();
        // Integers stay text: the JSON body's rule reads them from strings.
        let value = match canonical {
            Some("context" | "taskAssignment" | "customFormValues" | "metadata") => {
                parse_lenient(&text)?
            }
            _ => Value::String(text),
        };
        fields.insert(name, value);
    }
    let upload = upload
        .ok_or_else(|| ApiError::BadRequest("a multipart request needs a file part".into()))?;
    Ok((
        from_json_value(Value::Object(fields), CREATE_FIELDS)?,
        Some(upload),
    ))
}

async fn new_task(
    state: &AppState,
    tenant: Tenant,
    request: CreateTaskRequest,
    upload: Option<Upload>,
) -> ApiResult<NewTask> {
    let org_id = tenant.org_id;
    let workspace = state
        .store
        .workspace(org_id, request.workspace_id)
        .await?
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "workspace {} not found",
                request.workspace_id.unwrap_or_default()
            ))
        })?;
    if let Some(batch_id) = request.batch_id {
        let batch = state.store.batch(org_id, batch_id).await?;
        if batch.is_none_or(|b| b.workspace_id != workspace.id) {
            return Err(ApiError::BadRequest(format!(
                "batch {batch_id} not found in workspace {}",
                workspace.id
            )));
        }
    }
    let priority = request
        .priority
        .map(Priority::parse)
        .transpose()?
        .unwrap_or_default();
    let external_id = request
        .external_id
        .as_deref()
        .map(ExternalId::parse)
        .transpose()?;
    let description = request.description.filter(|d| !d.trim().is_empty());
    let mut context = request.context.unwrap_or(Value::Null);
    if !(context.is_null() || context.is_object()) {
        return Err(ApiError::BadRequest("context must be an object".into()));
    }
    canonical_keys(&mut context, &["url"]);
    let source_url = match (context.get("url"), &upload) {
        (_, Some(_)) => None,
        (Some(Value::String(url)), None) => Some(document_url(url)?),
        (Some(_), None) => return Err(ApiError::BadRequest("context.url must be a string".into())),
        (None, None) => return Err(ApiError::BadRequest("context.url is required".into())),
    };
    let display_name = match request.display_name.as_deref() {
        Some(name) => Some(display_name("displayName", name)?),
        None => upload.as_ref().and_then(|u| u.file_name.clone()),
    };
    let original = match upload {
        Some(upload) => Some(StoredFile {
            key: state.blobs.put_spooled(upload.spool).await?,
            media_type: StoredFile::UNDETECTED.to_owned(),
            file_name: upload.file_name,
        }),
        None => None,
    };
    let kept = serde_json::json!({
        "context": context,
        "taskAssignment": request.task_assignment,
        "customFormValues": request.custom_form_values,
    });
    Ok(NewTask {
        org_id,
        workspace_id: workspace.id,
        batch_id: request.batch_id,
        external_id,
        display_name,
        description,
        priority,
        source_url,
        request: kept,
        metadata: metadata(request.metadata.unwrap_or_default())?,
        original,
    })
}

fn document_url(value: &str) -> ApiResult<String> {
    let url = url::Url::parse(value.trim())
        .map_err(|e| ApiError::BadRequest(format!("context.url is not a valid URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ApiError::BadRequest(
            "context.url must be an http or https URL".into(),
        ));
    }
    Ok(url.to_string())
}

pub(super) fn path_task_id(raw: &str) -> ApiResult<TaskRef> {
    let id = raw
        .trim()
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("taskid must be an integer, not {raw:?}")))?;
    Ok(TaskRef::Id(id))
}

pub(super) async fn find_task(state: &AppState, tenant: Tenant, task: &TaskRef) -> ApiResult<Task> {
    state
        .store
        .task(tenant.org_id, task)
        .await?
        .ok_or(ApiError::NotFound("task"))
}

/// One task's status, by `taskId` or `externalId`.
#[utoipa::path(
    get,
    path = "/api/v1.0/external/sdtask/status",
    tag = "Tasks",
    params(TaskRefParams),
    responses(
        (status = 200, body = TaskStatusResponse),
        (status = 400, description = "Neither taskId nor externalId"),
        (status = 404, description = "No such task"),
    )
)]
pub async fn status(
    tenant: Tenant,
    State(state): State<AppState>,
    query: Query,
) -> ApiResult<Json<TaskStatusResponse>> {
    let task = find_task(&state, tenant, &query.task_ref()?).await?;
    Ok(Json(task.into()))
}

fn task_filter(query: &Query) -> ApiResult<TaskFilter> {
    let start = query.timestamp("startDate")?;
    let end = query.timestamp("endDate")?;
    if start.is_none() && end.is_none() {
        return Err(ApiError::BadRequest(
            "startDate or endDate must be specified".into(),
        ));
    }
    let sort = query
        .sort(SortField::NAMES)?
        .map(|(field, descending)| TaskSort { field, descending });
    Ok(TaskFilter {
        start,
        end,
        task_statuses: query.task_statuses()?,
        integration_statuses: query.integration_statuses()?,
        workspace_ids: query.ints("workspaceId")?,
        external_integration_status: query.get("externalIntegrationStatus").map(str::to_owned),
        archived: query.bool("inHistory")?,
        flagged: query.bool("flagged")?.unwrap_or(false),
        text: query.search("search")?,
        reviewer: None,
        sort: sort.unwrap_or_default(),
    })
}

/// Tasks created between `startDate` and `endDate`, filtered: at most the configured cap
/// (10,000 by default).
#[utoipa::path(
    get,
    path = "/api/v1.0/external/sdtask/statuslist",
    tag = "Tasks",
    params(ListParams),
    responses(
        (status = 200, body = Vec<TaskStatusResponse>),
        (status = 400, description = "Neither startDate nor endDate, an invalid filter, or more tasks match than the cap (10,000 by default)"),
    )
)]
pub async fn status_list(
    tenant: Tenant,
    State(state): State<AppState>,
    query: Query,
) -> ApiResult<Json<Vec<TaskStatusResponse>>> {
    let filter = task_filter(&query)?;
    let cap = state.config.status_list_cap;
    let count = state.store.count_tasks(tenant.org_id, &filter).await?;
    if count > cap {
        return Err(ApiError::BadRequest(format!(
            "{count} tasks match, more than the {cap} statuslist returns at once: \
             narrow startDate and endDate, or page through statuslistpaginated"
        )));
    }
    let tasks = state
        .store
        .list_tasks(tenant.org_id, &filter, cap, 0)
        .await?;
    Ok(Json(tasks.into_iter().map(Into::into).collect()))
}

/// The same as the status list, a page at a time.
#[utoipa::path(
    get,
    path = "/api/v1.0/external/sdtask/statuslistpaginated",
    tag = "Tasks",
    params(ListParams, PageParams),
    responses(
        (status = 200, body = Paginated<TaskStatusResponse>),
        (status = 400, description = "Neither startDate nor endDate, or an invalid filter or page"),
    )
)]
pub async fn status_list_paginated(
    tenant: Tenant,
    State(state): State<AppState>,
    query: Query,
) -> ApiResult<Json<Paginated<TaskStatusResponse>>> {
    let filter = task_filter(&query)?;
    let page = query.page()?;
    let listed = state.store.tasks(tenant.org_id, &filter, page).await?;
    Ok(Json(Paginated::from_listed(listed, page)))
}

/// How a request names a task (documentation only; read by `Query`). At least one is required;
/// names match in any case (`taskid`).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(non_snake_case, dead_code)]
pub struct TaskRefParams {
    /// docket's task id.
    taskId: Option<i64>,
    /// The client's own id, unique in the organisation; trimmed like at creation.
    #[param(min_length = 1, max_length = 256)]
    externalId: Option<String>,
}

/// Status-list filters (documentation only; read by `Query`).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(non_snake_case, dead_code)]
pub struct ListParams {
    /// Tasks created at or after this time. Required if endDate is not given.
    startDate: Option<String>,
    /// Tasks created at or before this time. Required if startDate is not given.
    endDate: Option<String>,
    /// Repeatable: `?taskStatus=30&taskStatus=31`.
    taskStatus: Option<Vec<i64>>,
    /// Repeatable.
    integrationStatus: Option<Vec<i64>>,
    /// Repeatable.
    workspaceId: Option<Vec<i64>>,
    /// Matched ignoring case (ASCII letters): `NEVER` finds `never`.
    externalIntegrationStatus: Option<String>,
    /// A property name (default `createdOn`); `-` in front sorts descending.
    sort: Option<String>,
    /// docket's: true lists only tasks moved to history, false only the others.
    inHistory: Option<bool>,
    /// docket's: true lists only tasks the sweeper found stuck and put back (see `flag`).
    flagged: Option<bool>,
    /// docket's: tasks whose displayName or externalId contains this, ignoring case.
    search: Option<String>,
}

/// Paging (documentation only; read by `Query`).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(non_snake_case, dead_code)]
pub struct PageParams {
    /// From 1 (default 1).
    #[param(minimum = 1)]
    pageNumber: Option<u32>,
    /// 1 to 1000 (default 10).
    #[param(minimum = 1, maximum = 1000)]
    pageSize: Option<u32>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PatchExternalIntegrationStatusRequest {
    /// Not null, not whitespace, at most 32 characters.
    #[schema(required = true, min_length = 1, max_length = 32)]
    pub external_integration_status: Option<String>,
}

/// Set the task's external integration status.
#[utoipa::path(
    patch,
    path = "/api/v1.0/external/sdtask/externalIntegrationStatus",
    tag = "Tasks",
    params(TaskRefParams),
    request_body = PatchExternalIntegrationStatusRequest,
    responses(
        (status = 200, description = "Set"),
        (status = 400, description = "No taskId/externalId, or an invalid status"),
        (status = 404, description = "No such task"),
    )
)]
pub async fn set_external_integration_status(
    tenant: Tenant,
    State(state): State<AppState>,
    query: Query,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let task = query.task_ref()?;
    let body: PatchExternalIntegrationStatusRequest =
        json_body(&body, &["externalIntegrationStatus"])?;
    let status = ExternalIntegrationStatus::parse(
        body.external_integration_status
            .as_deref()
            .unwrap_or_default(),
    )?;
    if !state
        .store
        .set_external_integration_status(tenant.org_id, &task, &status)
        .await?
    {
        return Err(ApiError::NotFound("task"));
    }
    Ok(StatusCode::OK)
}

/// The same, at the path the documentation's own examples call (without `/external`).
#[utoipa::path(
    patch,
    path = "/api/v1.0/sdtask/externalIntegrationStatus",
    tag = "Tasks",
    params(TaskRefParams),
    request_body = PatchExternalIntegrationStatusRequest,
    responses((status = 200, description = "Set"), (status = 400), (status = 404))
)]
pub async fn set_external_integration_status_docs_path(
    tenant: Tenant,
    state: State<AppState>,
    query: Query,
    body: Bytes,
) -> ApiResult<StatusCode> {
    set_external_integration_status(tenant, state, query, body).await
}

/// Reprocess a task from its original file and request (destructive).
#[utoipa::path(
    patch,
    path = "/api/v1.0/external/sdtask/restartprocessing",
    tag = "Tasks",
    params(TaskRefParams),
    responses(
        (status = 200, description = "Reprocessing queued"),
        (status = 400, description = "Neither taskId nor externalId"),
        (status = 404, description = "No such task"),
    )
)]
pub async fn restart_processing(
    tenant: Tenant,
    State(state): State<AppState>,
    query: Query,
) -> ApiResult<StatusCode> {
    let task = query.task_ref()?;
    if !state.store.restart_task(tenant.org_id, &task).await? {
        return Err(ApiError::NotFound("task"));
    }
    // Review assignment starts over from the workspace's settings.
    let task = find_task(&state, tenant, &task).await?;
    state.store.assign_reviewers(task.summary.id, &[]).await?;
    state.pipeline.wake();
    Ok(StatusCode::OK)
}

/// Everything extracted from a task (seed 004).
#[utoipa::path(
    get,
    path = "/api/v1.0/external/sdtask/GetExportData/{taskid}",
    tag = "Tasks",
    params(("taskid" = i64, Path, description = "Task id")),
    responses((status = 200, body = ExportData), (status = 400), (status = 404))
)]
pub async fn export_data(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(taskid): Path<String>,
) -> ApiResult<Json<ExportData>> {
    let task = find_task(&state, tenant, &path_task_id(&taskid)?).await?;
    Ok(Json(build_export(&state, task).await?))
}

/// The same, naming the task by `taskId` or `externalId` in the query.
#[utoipa::path(
    get,
    path = "/api/v1.0/external/sdtask/GetExportData",
    tag = "Tasks",
    params(TaskRefParams),
    responses((status = 200, body = ExportData), (status = 400), (status = 404))
)]
pub async fn export_data_by_query(
    tenant: Tenant,
    State(state): State<AppState>,
    query: Query,
) -> ApiResult<Json<ExportData>> {
    let task = find_task(&state, tenant, &query.task_ref()?).await?;
    Ok(Json(build_export(&state, task).await?))
}

pub(super) async fn build_export(state: &AppState, task: Task) -> ApiResult<ExportData> {
    Ok(export_and_pages(state, task).await?.0)
}

/// The export, and the recognised pages it was made from (empty before recognition).
pub(super) async fn export_and_pages(
    state: &AppState,
    task: Task,
) -> ApiResult<(ExportData, Vec<PageText>)> {
    let original_file_url = task
        .original
        .as_ref()
        .map(|_| state.original_file_url(task.summary.id));
    Ok(export::export_and_pages(&state.store, task, original_file_url).await?)
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskStatusChange {
    pub task_status: i64,
    pub task_status_text: String,
    pub changed_on: Timestamp,
    /// Why the task failed, for failure statuses.
    pub reason: Option<String>,
}

/// Every status the task went through, with times and failure reasons (docket extension).
#[utoipa::path(
    get,
    path = "/api/v1.0/external/sdtask/statushistory",
    tag = "Tasks",
    params(TaskRefParams),
    responses((status = 200, body = Vec<TaskStatusChange>), (status = 400), (status = 404))
)]
pub async fn status_history(
    tenant: Tenant,
    State(state): State<AppState>,
    query: Query,
) -> ApiResult<Json<Vec<TaskStatusChange>>> {
    let task = find_task(&state, tenant, &query.task_ref()?).await?;
    let events = state.store.task_events(task.summary.id).await?;
    Ok(Json(
        events
            .into_iter()
            .map(|e| TaskStatusChange {
                task_status: e.task_status.code(),
                task_status_text: e.task_status.name().to_owned(),
                changed_on: e.at,
                reason: e.reason,
            })
            .collect(),
    ))
}
