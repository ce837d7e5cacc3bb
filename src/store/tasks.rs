//! Task rows: creation (with its first job), look-ups, filtered lists, and the client's
//! commands on a task (external integration status, reprocess).

use std::collections::BTreeMap;

use sqlx::{QueryBuilder, Sqlite};

use super::{record_status, Listed, Store, StoreError, StoreResult, StoredFile, Task, TaskEvent};
use crate::domain::{
    ExternalId, ExternalIntegrationStatus, IntegrationStatus, Priority, TaskStatus, Timestamp,
};
use crate::store::jobs::{insert_job, JobStage};

/// A task's recognition result as stored: JSON the pipeline wrote, and when.
#[derive(Debug, Clone)]
pub struct TaskResult {
    pub pages_json: String,
    pub understanding_json: String,
    pub recognized_at: Timestamp,
}

/// How a client names a task: by docket's id, its own external id, or both (both must match).
#[derive(Debug, Clone)]
pub enum TaskRef {
    Id(i64),
    External(ExternalId),
    Both(i64, ExternalId),
}

impl TaskRef {
    fn push_condition(&self, query: &mut QueryBuilder<'_, Sqlite>) {
        match self {
            TaskRef::Id(id) => {
                query.push(" AND id = ").push_bind(*id);
            }
            TaskRef::External(external) => {
                query
                    .push(" AND external_id = ")
                    .push_bind(external.as_str().to_owned());
            }
            TaskRef::Both(id, external) => {
                query.push(" AND id = ").push_bind(*id);
                query
                    .push(" AND external_id = ")
                    .push_bind(external.as_str().to_owned());
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewTask {
    pub org_id: i64,
    pub workspace_id: i64,
    pub batch_id: Option<i64>,
    pub external_id: Option<ExternalId>,
    /// None: named "Task {taskNumber}".
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub priority: Priority,
    pub source_url: Option<String>,
    pub request: serde_json::Value,
    pub metadata: BTreeMap<String, String>,
    /// Set when the file came with the request (multipart) rather than by URL.
    pub original: Option<StoredFile>,
}

#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
    pub task_statuses: Vec<TaskStatus>,
    pub integration_statuses: Vec<IntegrationStatus>,
    pub workspace_ids: Vec<i64>,
    pub external_integration_status: Option<String>,
    pub sort: TaskSort,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct TaskSort {
    pub field: SortField,
    pub descending: bool,
}

/// Properties of `GetTaskStatusResponse` a list can be sorted by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SortField {
    TaskId,
    WorkspaceId,
    BatchId,
    TaskNumber,
    ExternalId,
    DisplayName,
    Description,
    #[default]
    CreatedOn,
    TaskStatus,
    IntegrationStatus,
    TotalPages,
    RestartCount,
    PreProcessingStartedOn,
}

impl SortField {
    /// API property names; matched case-insensitively.
    pub const NAMES: &'static [(&'static str, SortField)] = &[
        ("taskId", SortField::TaskId),
        ("workspaceId", SortField::WorkspaceId),
        ("batchId", SortField::BatchId),
        ("taskNumber", SortField::TaskNumber),
        ("externalId", SortField::ExternalId),
        ("displayName", SortField::DisplayName),
        ("description", SortField::Description),
        ("createdOn", SortField::CreatedOn),
        ("taskStatus", SortField::TaskStatus),
        ("taskStatusText", SortField::TaskStatus),
        ("integrationStatus", SortField::IntegrationStatus),
        ("integrationStatusText", SortField::IntegrationStatus),
        ("totalPages", SortField::TotalPages),
        ("restartCount", SortField::RestartCount),
        ("preProcessingStartedOn", SortField::PreProcessingStartedOn),
    ];

    fn column(self) -> &'static str {
        match self {
            SortField::TaskId => "id",
            SortField::WorkspaceId => "workspace_id",
            SortField::BatchId => "batch_id",
            SortField::TaskNumber => "task_number",
            SortField::ExternalId => "external_id",
            SortField::DisplayName => "display_name",
            SortField::Description => "description",
            SortField::CreatedOn => "created_at",
            SortField::TaskStatus => "task_status",
            SortField::IntegrationStatus => "integration_status",
            SortField::TotalPages => "total_pages",
            SortField::RestartCount => "restart_count",
            SortField::PreProcessingStartedOn => "preprocessing_started_at",
        }
    }
}

/// A 1-based page of a list.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub number: u32,
    pub size: u32,
}

impl Page {
    pub(super) fn push_limit(self, query: &mut QueryBuilder<'_, Sqlite>) {
        let offset = i64::from(self.number.saturating_sub(1)) * i64::from(self.size);
        query
            .push(" LIMIT ")
            .push_bind(i64::from(self.size))
            .push(" OFFSET ")
            .push_bind(offset);
    }
}

const TASK_COLUMNS: &str =
    "id, org_id, workspace_id, batch_id, task_number, external_id, display_name,
    description, created_at, task_status, integration_status, external_integration_status,
    total_pages, restart_count, preprocessing_started_at, priority, source_url, request_json,
    metadata_json, original_key, original_media_type, original_file_name, status_reason";

#[derive(sqlx::FromRow)]
struct TaskRow {
    id: i64,
    org_id: i64,
    workspace_id: i64,
    batch_id: Option<i64>,
    task_number: Option<i64>,
    external_id: Option<String>,
    display_name: String,
    description: Option<String>,
    created_at: i64,
    task_status: i64,
    integration_status: i64,
    external_integration_status: String,
    total_pages: i64,
    restart_count: i64,
    preprocessing_started_at: Option<i64>,
    priority: i64,
    source_url: Option<String>,
    request_json: String,
    metadata_json: String,
    original_key: Option<String>,
    original_media_type: Option<String>,
    original_file_name: Option<String>,
    status_reason: Option<String>,
}

impl TryFrom<TaskRow> for Task {
    type Error = StoreError;

    fn try_from(row: TaskRow) -> StoreResult<Task> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("task {}: {what}", row.id));
        let task_status =
            TaskStatus::from_code(row.task_status).ok_or_else(|| corrupt("task_status"))?;
        let integration_status = IntegrationStatus::from_code(row.integration_status)
            .ok_or_else(|| corrupt("integration_status"))?;
        let request =
            serde_json::from_str(&row.request_json).map_err(|_| corrupt("request_json"))?;
        let metadata =
            serde_json::from_str(&row.metadata_json).map_err(|_| corrupt("metadata_json"))?;
        let original = row.original_key.map(|key| StoredFile {
            key,
            media_type: row
                .original_media_type
                .unwrap_or_else(|| StoredFile::UNDETECTED.into()),
            file_name: row.original_file_name,
        });
        Ok(Task {
            id: row.id,
            org_id: row.org_id,
            workspace_id: row.workspace_id,
            batch_id: row.batch_id,
            task_number: row.task_number,
            external_id: row.external_id,
            display_name: row.display_name,
            description: row.description,
            created_at: Timestamp::from_millis(row.created_at),
            task_status,
            integration_status,
            external_integration_status: row.external_integration_status,
            total_pages: row.total_pages,
            restart_count: row.restart_count,
            preprocessing_started_at: row.preprocessing_started_at.map(Timestamp::from_millis),
            priority: row.priority,
            source_url: row.source_url,
            request,
            metadata,
            original,
            status_reason: row.status_reason,
        })
    }
}

impl Store {
    /// Inserts the task, numbers it within its workspace and queues its pre-processing, all at once.
    pub async fn create_task(&self, new: NewTask) -> StoreResult<Task> {
        let now = Timestamp::now();
        let mut tx = self.write().await?;
        let task_number: i64 = sqlx::query_scalar(
            "UPDATE workspaces SET next_task_number = next_task_number + 1
             WHERE id = ? AND org_id = ? RETURNING next_task_number - 1",
        )
        .bind(new.workspace_id)
        .bind(new.org_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound("workspace"))?;
        let display_name = new
            .display_name
            .unwrap_or_else(|| format!("Task {task_number}"));
        let metadata =
            serde_json::to_string(&new.metadata).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let inserted = sqlx::query_scalar::<_, i64>(
            "INSERT INTO tasks (org_id, workspace_id, batch_id, task_number, external_id, display_name,
                description, created_at, task_status, priority, source_url, request_json, metadata_json,
                original_key, original_media_type, original_file_name, status_changed_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(new.org_id)
        .bind(new.workspace_id)
        .bind(new.batch_id)
        .bind(task_number)
        .bind(new.external_id.as_ref().map(ExternalId::as_str))
        .bind(&display_name)
        .bind(&new.description)
        .bind(now.millis())
        .bind(TaskStatus::QueuedForPreProcessing.code())
        .bind(new.priority.code())
        .bind(&new.source_url)
        .bind(new.request.to_string())
        .bind(metadata)
        .bind(new.original.as_ref().map(|f| f.key.as_str()))
        .bind(new.original.as_ref().map(|f| f.media_type.as_str()))
        .bind(new.original.as_ref().and_then(|f| f.file_name.as_deref()))
        .bind(now.millis())
        .fetch_one(&mut *tx)
        .await;
        let id = match inserted {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(StoreError::DuplicateExternalId)
            }
            other => other?,
        };
        record_status(&mut tx, id, TaskStatus::QueuedForPreProcessing, None).await?;
        insert_job(&mut tx, id, JobStage::PreProcess, new.priority.code()).await?;
        tx.commit().await?;
        self.task_by_id(id)
            .await?
            .ok_or(StoreError::NotFound("task"))
    }

    pub async fn task(&self, org_id: i64, task: &TaskRef) -> StoreResult<Option<Task>> {
        let mut query =
            QueryBuilder::new(format!("SELECT {TASK_COLUMNS} FROM tasks WHERE org_id = "));
        query.push_bind(org_id);
        task.push_condition(&mut query);
        let row: Option<TaskRow> = query.build_query_as().fetch_optional(&self.pool).await?;
        row.map(Task::try_from).transpose()
    }

    /// For the pipeline, which works across organisations.
    pub(crate) async fn task_by_id(&self, id: i64) -> StoreResult<Option<Task>> {
        let row: Option<TaskRow> =
            sqlx::query_as(&format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = ?"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        row.map(Task::try_from).transpose()
    }

    pub async fn tasks(
        &self,
        org_id: i64,
        filter: &TaskFilter,
        page: Option<Page>,
    ) -> StoreResult<Listed<Task>> {
        let mut query = QueryBuilder::new(format!(
            "SELECT {TASK_COLUMNS}, COUNT(*) OVER () AS total_count FROM tasks WHERE org_id = "
        ));
        query.push_bind(org_id);
        if let Some(start) = filter.start {
            query.push(" AND created_at >= ").push_bind(start.millis());
        }
        if let Some(end) = filter.end {
            query.push(" AND created_at <= ").push_bind(end.millis());
        }
        push_in(
            &mut query,
            "task_status",
            filter.task_statuses.iter().map(|s| s.code()),
        );
        push_in(
            &mut query,
            "integration_status",
            filter.integration_statuses.iter().map(|s| s.code()),
        );
        push_in(
            &mut query,
            "workspace_id",
            filter.workspace_ids.iter().copied(),
        );
        if let Some(status) = &filter.external_integration_status {
            // Case-insensitive like SmartDocumentor's (SQL Server) filter: `NEVER` finds `never`.
            // SQLite's NOCASE folds ASCII letters only.
            query
                .push(" AND external_integration_status = ")
                .push_bind(status.clone())
                .push(" COLLATE NOCASE");
        }
        let direction = if filter.sort.descending {
            "DESC"
        } else {
            "ASC"
        };
        query.push(format!(
            " ORDER BY {} {direction}, id {direction}",
            filter.sort.field.column()
        ));
        if let Some(page) = page {
            page.push_limit(&mut query);
        }
        #[derive(sqlx::FromRow)]
        struct Counted {
            #[sqlx(flatten)]
            task: TaskRow,
            total_count: i64,
        }
        let rows: Vec<Counted> = query.build_query_as().fetch_all(&self.pool).await?;
        let total_count = match (rows.first(), page) {
            (Some(row), _) => row.total_count,
            (None, None) => 0,
            // An empty page past the end still reports how many there are.
            (None, Some(_)) => {
                Box::pin(self.tasks(org_id, filter, None))
                    .await?
                    .total_count
            }
        };
        let items = rows
            .into_iter()
            .map(|r| Task::try_from(r.task))
            .collect::<StoreResult<_>>()?;
        Ok(Listed { items, total_count })
    }

    /// Returns false when no such task exists in the organisation.
    pub async fn set_external_integration_status(
        &self,
        org_id: i64,
        task: &TaskRef,
        status: &ExternalIntegrationStatus,
    ) -> StoreResult<bool> {
        let mut query = QueryBuilder::new("UPDATE tasks SET external_integration_status = ");
        query
            .push_bind(status.as_str().to_owned())
            .push(" WHERE org_id = ")
            .push_bind(org_id);
        task.push_condition(&mut query);
        Ok(query.build().execute(&self.pool).await?.rows_affected() > 0)
    }

    /// Destructive restart: drops results and pending work, counts the restart, resets the
    /// integration statuses and queues pre-processing again from the original request.
    /// Returns false when no such task exists in the organisation.
    pub async fn restart_task(&self, org_id: i64, task: &TaskRef) -> StoreResult<bool> {
        let mut tx = self.write().await?;
        let mut query = QueryBuilder::new(
            "UPDATE tasks SET restart_count = restart_count + 1, integration_status = ",
        );
        query
            .push_bind(IntegrationStatus::Never.code())
            .push(", external_integration_status = ")
            .push_bind(ExternalIntegrationStatus::never().as_str().to_owned())
            .push(" WHERE org_id = ")
            .push_bind(org_id);
        task.push_condition(&mut query);
        query.push(" RETURNING id, priority");
        let found: Option<(i64, i64)> = query.build_query_as().fetch_optional(&mut *tx).await?;
        let Some((id, priority)) = found else {
            return Ok(false);
        };
        sqlx::query("DELETE FROM task_results WHERE task_id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        // A worker still holding the old job loses it here and discards what it was doing.
        sqlx::query("DELETE FROM jobs WHERE task_id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        super::jobs::delete_pages(&mut tx, id).await?;
        record_status(
            &mut tx,
            id,
            TaskStatus::QueuedForPreProcessing,
            Some("reprocessing requested"),
        )
        .await?;
        insert_job(&mut tx, id, JobStage::PreProcess, priority).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn task_events(&self, task_id: i64) -> StoreResult<Vec<TaskEvent>> {
        let rows: Vec<(i64, i64, Option<String>)> = sqlx::query_as(
            "SELECT task_status, at, reason FROM task_events WHERE task_id = ? ORDER BY id",
        )
        .bind(task_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(status, at, reason)| {
                let task_status = TaskStatus::from_code(status).ok_or_else(|| {
                    StoreError::Corrupt(format!("task {task_id}: event status {status}"))
                })?;
                Ok(TaskEvent {
                    task_status,
                    at: Timestamp::from_millis(at),
                    reason,
                })
            })
            .collect()
    }

    /// What the pipeline stored for the task, if it has recognised it.
    pub async fn task_result(&self, task_id: i64) -> StoreResult<Option<TaskResult>> {
        let row: Option<(String, String, i64)> = sqlx::query_as(
            "SELECT pages_json, understanding_json, recognized_at FROM task_results WHERE task_id = ?",
        )
        .bind(task_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(pages_json, understanding_json, at)| TaskResult {
            pages_json,
            understanding_json,
            recognized_at: Timestamp::from_millis(at),
        }))
    }
}

fn push_in(query: &mut QueryBuilder<'_, Sqlite>, column: &str, values: impl Iterator<Item = i64>) {
    let values: Vec<i64> = values.collect();
    if values.is_empty() {
        return;
    }
    query.push(format!(" AND {column} IN ("));
    let mut list = query.separated(", ");
    for value in values {
        list.push_bind(value);
    }
    query.push(")");
}
