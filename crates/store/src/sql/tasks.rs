//! Task rows: creation (with its first job), look-ups, filtered lists, and the client's
//! commands on a task (external integration status, reprocess).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use sqlx::QueryBuilder;

use super::jobs::insert_job;
use super::{record_status, Db, SqlStore};
use crate::{
    JobStage, Listed, NewTask, Page, SortField, StoreError, StoreResult, StoredFile, Task,
    TaskEvent, TaskFilter, TaskRef, TaskResult, TaskSummary, Tasks,
};
use docket_domain::{
    ExternalId, ExternalIntegrationStatus, IntegrationStatus, TaskStatus, Timestamp,
};

/// ` AND` the condition that finds the task.
pub(super) fn push_task_condition(query: &mut QueryBuilder<'_, Db>, task: &TaskRef) {
    match task {
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

/// How a list is sorted, in SQL.
trait SortColumn {
    fn value_of(self, task: &TaskSummary) -> Option<SortValue>;
    fn column(self) -> &'static str;
}

impl SortColumn for SortField {
    /// A listed task's value in this column, for keyset paging; None for columns that may be
    /// empty (NULL has no place in the row comparison), which page by offset.
    fn value_of(self, task: &TaskSummary) -> Option<SortValue> {
        Some(match self {
            SortField::TaskId => SortValue::Int(task.id),
            SortField::WorkspaceId => SortValue::Int(task.workspace_id),
            SortField::DisplayName => SortValue::Text(task.display_name.clone()),
            SortField::CreatedOn => SortValue::Int(task.created_at.millis()),
            SortField::TaskStatus => SortValue::Int(task.task_status.code()),
            SortField::IntegrationStatus => SortValue::Int(task.integration_status.code()),
            SortField::TotalPages => SortValue::Int(task.total_pages),
            SortField::RestartCount => SortValue::Int(task.restart_count),
            SortField::BatchId
            | SortField::TaskNumber
            | SortField::ExternalId
            | SortField::Description
            | SortField::PreProcessingStartedOn => return None,
        })
    }

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

/// Where a list page starts: after skipping rows, or after the previous page's last row.
enum Start<'a> {
    Offset(i64),
    After(&'a Anchor),
}

/// The last row of a page served: its value in the sort column, and its id.
#[derive(Debug, Clone)]
pub(super) struct Anchor {
    value: SortValue,
    id: i64,
}

#[derive(Debug, Clone)]
enum SortValue {
    Int(i64),
    Text(String),
}

impl SortValue {
    fn push_to(&self, query: &mut QueryBuilder<'_, Db>) {
        match self {
            SortValue::Int(v) => query.push_bind(*v),
            SortValue::Text(v) => query.push_bind(v.clone()),
        };
    }
}

/// The last rows of pages recently served, by list and page, for a few minutes: a client
/// paging through a list in order gets each next page by keyset. Bounded: emptied when full.
#[derive(Clone, Default)]
pub(super) struct Anchors(Arc<Mutex<HashMap<String, (Instant, Anchor)>>>);

impl Anchors {
    const CAPACITY: usize = 10_000;
    const LIFETIME: Duration = Duration::from_secs(600);

    fn get(&self, key: &str) -> Option<Anchor> {
        let anchors = self.0.lock().ok()?;
        let (at, anchor) = anchors.get(key)?;
        (at.elapsed() < Self::LIFETIME).then(|| anchor.clone())
    }

    fn put(&self, key: String, anchor: Anchor) {
        if let Ok(mut anchors) = self.0.lock() {
            if anchors.len() >= Self::CAPACITY {
                anchors.clear();
            }
            anchors.insert(key, (Instant::now(), anchor));
        }
    }
}

/// The columns of a [`TaskSummary`].
macro_rules! summary_columns {
    () => {
        "id, workspace_id, batch_id, task_number, external_id, display_name, description,
        created_at, task_status, integration_status, total_pages, restart_count,
        preprocessing_started_at, flag, archived_at"
    };
}

const SUMMARY_COLUMNS: &str = summary_columns!();

const TASK_COLUMNS: &str = concat!(
    summary_columns!(),
    ", org_id, external_integration_status, priority, source_url, request_json, metadata_json,
    original_key, original_media_type, original_file_name, status_reason, last_integrated_at"
);

#[derive(sqlx::FromRow)]
struct SummaryRow {
    id: i64,
    workspace_id: i64,
    batch_id: Option<i64>,
    task_number: Option<i64>,
    external_id: Option<String>,
    display_name: String,
    description: Option<String>,
    created_at: i64,
    task_status: i64,
    integration_status: i64,
    total_pages: i64,
    restart_count: i64,
    preprocessing_started_at: Option<i64>,
    flag: Option<String>,
    archived_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct TaskRow {
    #[sqlx(flatten)]
    summary: SummaryRow,
    org_id: i64,
    external_integration_status: String,
    priority: i64,
    source_url: Option<String>,
    request_json: String,
    metadata_json: String,
    original_key: Option<String>,
    original_media_type: Option<String>,
    original_file_name: Option<String>,
    status_reason: Option<String>,
    last_integrated_at: Option<i64>,
}

impl TryFrom<SummaryRow> for TaskSummary {
    type Error = StoreError;

    fn try_from(row: SummaryRow) -> StoreResult<TaskSummary> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("task {}: {what}", row.id));
        let task_status =
            TaskStatus::from_code(row.task_status).ok_or_else(|| corrupt("task_status"))?;
        let integration_status = IntegrationStatus::from_code(row.integration_status)
            .ok_or_else(|| corrupt("integration_status"))?;
        Ok(TaskSummary {
            id: row.id,
            workspace_id: row.workspace_id,
            batch_id: row.batch_id,
            task_number: row.task_number,
            external_id: row.external_id,
            display_name: row.display_name,
            description: row.description,
            created_at: Timestamp::from_millis(row.created_at),
            task_status,
            integration_status,
            total_pages: row.total_pages,
            restart_count: row.restart_count,
            preprocessing_started_at: row.preprocessing_started_at.map(Timestamp::from_millis),
            flag: row.flag,
            archived_at: row.archived_at.map(Timestamp::from_millis),
        })
    }
}

impl TryFrom<TaskRow> for Task {
    type Error = StoreError;

    fn try_from(row: TaskRow) -> StoreResult<Task> {
        let summary = TaskSummary::try_from(row.summary)?;
        let corrupt = |what: &str| StoreError::Corrupt(format!("task {}: {what}", summary.id));
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
            summary,
            org_id: row.org_id,
            external_integration_status: row.external_integration_status,
            priority: row.priority,
            source_url: row.source_url,
            request,
            metadata,
            original,
            status_reason: row.status_reason,
            last_integrated_at: row.last_integrated_at.map(Timestamp::from_millis),
        })
    }
}

#[async_trait]
impl Tasks for SqlStore {
    /// Inserts the task, numbers it within its workspace and queues its pre-processing, all at once.
    async fn create_task(&self, new: NewTask) -> StoreResult<Task> {
        let now = Timestamp::now();
        let metadata =
            serde_json::to_string(&new.metadata).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let inserted = match super::super::CREATE_TASK {
            Some(statement) => {
                self.insert_task_at_once(statement, &new, &metadata, now)
                    .await
            }
            None => self.insert_task_in_steps(&new, &metadata, now).await,
        };
        let id = match inserted {
            Err(StoreError::Database(sqlx::Error::Database(e))) if e.is_unique_violation() => {
                return Err(StoreError::DuplicateExternalId)
            }
            other => other?,
        };
        self.task_by_id(id)
            .await?
            .ok_or(StoreError::NotFound("task"))
    }

    async fn task(&self, org_id: i64, task: &TaskRef) -> StoreResult<Option<Task>> {
        let mut query =
            QueryBuilder::new(format!("SELECT {TASK_COLUMNS} FROM tasks WHERE org_id = "));
        query.push_bind(org_id);
        push_task_condition(&mut query, task);
        let row: Option<TaskRow> = query.build_query_as().fetch_optional(&self.pool).await?;
        row.map(Task::try_from).transpose()
    }

    /// For the pipeline, which works across organisations.
    async fn task_by_id(&self, id: i64) -> StoreResult<Option<Task>> {
        let row: Option<TaskRow> =
            sqlx::query_as(&format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        row.map(Task::try_from).transpose()
    }

    /// How many tasks of the organisation match: whole days of the creation range from the
    /// per-day counts, only its first and last partial day counted row by row (on the filters'
    /// indexes), so a count costs the days it spans, not the tasks.
    async fn count_tasks(&self, org_id: i64, filter: &TaskFilter) -> StoreResult<i64> {
        let Some((first_day, end_day)) = whole_days(filter) else {
            return self.count_rows(org_id, filter).await;
        };
        let mut query = QueryBuilder::new(
            "SELECT CAST(COALESCE(SUM(tasks), 0) AS BIGINT) FROM task_counts WHERE ",
        );
        push_days(&mut query, org_id, filter, first_day, end_day);
        let mut count: i64 = query.build_query_scalar().fetch_one(&self.pool).await?;
        if let Some(first) = first_day {
            let head = TaskFilter {
                end: Some(before_day(first)),
                ..filter.clone()
            };
            count += self.count_rows(org_id, &head).await?;
        }
        if let Some(end) = end_day {
            let tail = TaskFilter {
                start: Some(day_start(end)),
                ..filter.clone()
            };
            count += self.count_rows(org_id, &tail).await?;
        }
        Ok(count)
    }

    /// The matching tasks in the filter's order, `limit` of them after skipping `offset`. The
    /// page's ids are found on the indexes first, and only those rows are read.
    async fn list_tasks(
        &self,
        org_id: i64,
        filter: &TaskFilter,
        limit: i64,
        offset: i64,
    ) -> StoreResult<Vec<TaskSummary>> {
        if filter.sort.field == SortField::CreatedOn && offset >= SKIP_DAYS_FROM {
            let (narrowed, offset) = self.skip_whole_days(org_id, filter, offset).await?;
            return self
                .list_from(org_id, &narrowed, limit, Start::Offset(offset))
                .await;
        }
        self.list_from(org_id, filter, limit, Start::Offset(offset))
            .await
    }

    /// One page of the matching tasks and how many match in all. A page that follows one this
    /// store just served for the same list starts after that page's last row (keyset paging)
    /// instead of walking every row before it, and a row that left the list meanwhile does not
    /// make the next page skip one.
    async fn tasks(
        &self,
        org_id: i64,
        filter: &TaskFilter,
        page: Page,
    ) -> StoreResult<Listed<TaskSummary>> {
        let total_count = self.count_tasks(org_id, filter).await?;
        let key = |number: u32| format!("{org_id}|{filter:?}|{}|{number}", page.size);
        let previous = match page.number {
            0 | 1 => None,
            n => self.anchors.get(&key(n - 1)),
        };
        let size = i64::from(page.size);
        let items = match &previous {
            Some(anchor) => {
                self.list_from(org_id, filter, size, Start::After(anchor))
                    .await?
            }
            None => self.list_tasks(org_id, filter, size, page.offset()).await?,
        };
        let last = items
            .last()
            .and_then(|t| Some((filter.sort.field.value_of(t)?, t.id)));
        if let Some((value, id)) = last {
            self.anchors.put(key(page.number), Anchor { value, id });
        }
        Ok(Listed { items, total_count })
    }

    /// For measuring at scale (`docket-bench scale`): `count` copies of a task, created one
    /// every `spacing_ms` before it, in varied statuses, each with its own externalId.
    async fn seed_copies(&self, template: i64, count: i64, spacing_ms: i64) -> StoreResult<()> {
        let mut tx = self.write().await?;
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $2)
             INSERT INTO tasks (org_id, workspace_id, task_number, external_id, display_name,
                 description, created_at, task_status, integration_status,
                 external_integration_status, total_pages, priority, source_url, request_json,
                 metadata_json, original_key, original_media_type, original_file_name,
                 status_changed_at)
             SELECT t.org_id, t.workspace_id, t.task_number + i, 'seed-' || t.id || '-' || i,
                 t.display_name || ' ' || i, t.description, t.created_at - i * $3,
                 CASE i % 10 WHEN 0 THEN 33 WHEN 1 THEN 7 ELSE 3 END, 1 + i % 4,
                 CASE i % 5 WHEN 0 THEN 'sent' ELSE 'never' END, 1 + i % 3, t.priority,
                 t.source_url, t.request_json, t.metadata_json, t.original_key,
                 t.original_media_type, t.original_file_name, t.created_at - i * $3
             FROM n, tasks t WHERE t.id = $1",
        )
        .bind(template)
        .bind(count)
        .bind(spacing_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        super::super::after_bulk_load(&self.pool).await?;
        Ok(())
    }

    /// Returns false when no such task exists in the organisation.
    async fn set_external_integration_status(
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
        push_task_condition(&mut query, task);
        Ok(query.build().execute(&self.pool).await?.rows_affected() > 0)
    }

    /// Destructive restart: drops results and pending work, counts the restart, resets the
    /// integration statuses and queues pre-processing again from the original request.
    /// Returns false when no such task exists in the organisation.
    async fn restart_task(&self, org_id: i64, task: &TaskRef) -> StoreResult<bool> {
        let mut tx = self.write().await?;
        let mut query = QueryBuilder::new(
            "UPDATE tasks SET restart_count = restart_count + 1, integration_status = ",
        );
        query
            .push_bind(IntegrationStatus::Never.code())
            .push(", external_integration_status = ")
            .push_bind(ExternalIntegrationStatus::never().as_str().to_owned())
            // Review starts over: no one holds the task, and its edits go below.
            .push(", checkout_user_id = NULL, checkout_user_name = NULL, checkout_until = NULL")
            .push(", flag = NULL")
            .push(" WHERE org_id = ")
            .push_bind(org_id);
        push_task_condition(&mut query, task);
        query.push(" RETURNING id, priority");
        let found: Option<(i64, i64)> = query.build_query_as().fetch_optional(&mut *tx).await?;
        let Some((id, priority)) = found else {
            return Ok(false);
        };
        for table in ["task_results", "field_edits", "task_reviewers"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE task_id = $1"))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        super::webhooks::drop_messages(&mut tx, id).await?;
        // A worker still holding the old job loses it here and discards what it was doing.
        sqlx::query("DELETE FROM jobs WHERE task_id = $1")
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

    async fn task_events(&self, task_id: i64) -> StoreResult<Vec<TaskEvent>> {
        let rows: Vec<(i64, i64, Option<String>)> = sqlx::query_as(
            "SELECT task_status, at, reason FROM task_events WHERE task_id = $1 ORDER BY id",
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
    async fn task_result(&self, task_id: i64) -> StoreResult<Option<TaskResult>> {
        let row: Option<(String, String, i64)> = sqlx::query_as(
            "SELECT pages_json, understanding_json, recognized_at FROM task_results WHERE task_id = $1",
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

impl SqlStore {
    /// Numbers the task in its workspace, inserts it with its first event and queues its
    /// pre-processing, in one transaction of several statements.
    async fn insert_task_in_steps(
        &self,
        new: &NewTask,
        metadata: &str,
        now: Timestamp,
    ) -> StoreResult<i64> {
        let mut tx = self.write().await?;
        let task_number: i64 = sqlx::query_scalar(
            "UPDATE workspaces SET next_task_number = next_task_number + 1
             WHERE id = $1 AND org_id = $2 RETURNING next_task_number - 1",
        )
        .bind(new.workspace_id)
        .bind(new.org_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound("workspace"))?;
        let display_name = new
            .display_name
            .clone()
            .unwrap_or_else(|| format!("Task {task_number}"));
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO tasks (org_id, workspace_id, batch_id, task_number, external_id, display_name,
                description, created_at, task_status, priority, source_url, request_json, metadata_json,
                original_key, original_media_type, original_file_name, status_changed_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
             RETURNING id",
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
        .await?;
        record_status(&mut tx, id, TaskStatus::QueuedForPreProcessing, None).await?;
        insert_job(&mut tx, id, JobStage::PreProcess, new.priority.code()).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The same as one statement (`statement`, the backend's): locks on the workspace's
    /// numbering and the day's counts are held for one round trip, not five.
    async fn insert_task_at_once(
        &self,
        statement: &str,
        new: &NewTask,
        metadata: &str,
        now: Timestamp,
    ) -> StoreResult<i64> {
        sqlx::query_scalar(statement)
            .bind(new.org_id)
            .bind(new.workspace_id)
            .bind(new.batch_id)
            .bind(new.external_id.as_ref().map(ExternalId::as_str))
            .bind(&new.display_name)
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
            .bind(JobStage::PreProcess.as_str())
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound("workspace"))
    }

    /// Where a deep page of a list in creation order starts, found from the per-day counts:
    /// the creation range narrowed to the day the page's first row falls in, and the rows of
    /// that day to skip. The rows before are skipped by the range, not walked one by one.
    async fn skip_whole_days(
        &self,
        org_id: i64,
        filter: &TaskFilter,
        offset: i64,
    ) -> StoreResult<(TaskFilter, i64)> {
        let unchanged = Ok((filter.clone(), offset));
        let Some((first_day, end_day)) = whole_days(filter) else {
            return unchanged;
        };
        let descending = filter.sort.descending;
        // The list's rows before its whole days: a partial day at the end it starts from.
        let edge = match (descending, first_day, end_day) {
            (false, Some(first), _) => Some(TaskFilter {
                end: Some(before_day(first)),
                ..filter.clone()
            }),
            (true, _, Some(end)) => Some(TaskFilter {
                start: Some(day_start(end)),
                ..filter.clone()
            }),
            _ => None,
        };
        let mut skipped = match edge {
            Some(edge) => self.count_rows(org_id, &edge).await?,
            None => 0,
        };
        if skipped > offset {
            return unchanged;
        }
        let mut query =
            QueryBuilder::new("SELECT day, CAST(SUM(tasks) AS BIGINT) FROM task_counts WHERE ");
        push_days(&mut query, org_id, filter, first_day, end_day);
        query.push(if descending {
            " GROUP BY day ORDER BY day DESC"
        } else {
            " GROUP BY day ORDER BY day"
        });
        let days: Vec<(i64, i64)> = query.build_query_as().fetch_all(&self.pool).await?;
        for (day, tasks) in days {
            if skipped + tasks > offset {
                let narrowed = if descending {
                    TaskFilter {
                        end: Some(before_day(day + 1)),
                        ..filter.clone()
                    }
                } else {
                    TaskFilter {
                        start: Some(day_start(day)),
                        ..filter.clone()
                    }
                };
                return Ok((narrowed, offset - skipped));
            }
            skipped += tasks;
        }
        // Past every whole day: the page starts in the partial day at the far end, if any.
        let narrowed = match (descending, first_day, end_day) {
            (false, _, Some(end)) => TaskFilter {
                start: Some(day_start(end)),
                ..filter.clone()
            },
            (true, Some(first), _) => TaskFilter {
                end: Some(before_day(first)),
                ..filter.clone()
            },
            _ => return unchanged,
        };
        Ok((narrowed, offset - skipped))
    }

    /// Counts the matching tasks row by row, on the filters' indexes.
    async fn count_rows(&self, org_id: i64, filter: &TaskFilter) -> StoreResult<i64> {
        let mut query = QueryBuilder::new("SELECT COUNT(*) FROM tasks WHERE ");
        push_filter(&mut query, org_id, filter);
        Ok(query.build_query_scalar().fetch_one(&self.pool).await?)
    }

    async fn list_from(
        &self,
        org_id: i64,
        filter: &TaskFilter,
        limit: i64,
        start: Start<'_>,
    ) -> StoreResult<Vec<TaskSummary>> {
        let (direction, beyond) = if filter.sort.descending {
            ("DESC", "<")
        } else {
            ("ASC", ">")
        };
        let column = filter.sort.field.column();
        let order = format!(" ORDER BY {column} {direction}, id {direction}");
        let mut query = QueryBuilder::new(format!(
            "SELECT {SUMMARY_COLUMNS} FROM tasks WHERE id IN (SELECT id FROM tasks WHERE "
        ));
        match start {
            // Ordered by creation, the previous page's last row narrows the creation range
            // itself: SQLite seeks the index to one bound of a column, not the tighter of two.
            Start::After(Anchor {
                value: SortValue::Int(at),
                ..
            }) if filter.sort.field == SortField::CreatedOn => {
                let at = Timestamp::from_millis(*at);
                let narrowed = if filter.sort.descending {
                    TaskFilter {
                        end: Some(filter.end.map_or(at, |end| end.min(at))),
                        ..filter.clone()
                    }
                } else {
                    TaskFilter {
                        start: Some(filter.start.map_or(at, |start| start.max(at))),
                        ..filter.clone()
                    }
                };
                push_filter(&mut query, org_id, &narrowed);
            }
            _ => push_filter(&mut query, org_id, filter),
        }
        if let Start::After(anchor) = start {
            // The rows past the previous page's last one, in the list's order; a row value,
            // which the index seeks to.
            query.push(format!(" AND ({column}, id) {beyond} ("));
            anchor.value.push_to(&mut query);
            query.push(", ").push_bind(anchor.id).push(")");
        }
        query.push(&order).push(" LIMIT ").push_bind(limit);
        if let Start::Offset(offset) = start {
            query.push(" OFFSET ").push_bind(offset);
        }
        query.push(")").push(&order);
        let rows: Vec<SummaryRow> = query.build_query_as().fetch_all(&self.pool).await?;
        rows.into_iter().map(TaskSummary::try_from).collect()
    }
}

/// Pages this deep in a list in creation order start from the per-day counts: a few thousand
/// rows walk faster than the counts are summed.
const SKIP_DAYS_FROM: i64 = 2_000;

const DAY: i64 = 86_400_000;

fn day_start(day: i64) -> Timestamp {
    Timestamp::from_millis(day.saturating_mul(DAY))
}

/// The last millisecond before the day.
fn before_day(day: i64) -> Timestamp {
    Timestamp::from_millis(day.saturating_mul(DAY).saturating_sub(1))
}

/// The whole UTC days of the filter's creation range (from the first day that starts in it,
/// before the first that ends past it; None for an open end), or None when it holds no whole
/// day.
fn whole_days(filter: &TaskFilter) -> Option<(Option<i64>, Option<i64>)> {
    if !filter.counted_by_day() {
        return None;
    }
    let first_day = filter
        .start
        .map(Timestamp::millis)
        .map(|s| s.div_euclid(DAY) + i64::from(s.rem_euclid(DAY) != 0));
    let end_day = filter
        .end
        .map(Timestamp::millis)
        .map(|e| e.saturating_add(1).div_euclid(DAY));
    match (first_day, end_day) {
        (Some(first), Some(end)) if first >= end => None,
        days => Some(days),
    }
}

/// `org_id = ? AND` the whole days and every other condition of the filter, on `task_counts`.
fn push_days(
    query: &mut QueryBuilder<'_, Db>,
    org_id: i64,
    filter: &TaskFilter,
    first_day: Option<i64>,
    end_day: Option<i64>,
) {
    query.push("org_id = ").push_bind(org_id);
    if let Some(first) = first_day {
        query.push(" AND day >= ").push_bind(first);
    }
    if let Some(end) = end_day {
        query.push(" AND day < ").push_bind(end);
    }
    push_attributes(query, filter, Table::Counts);
}

/// `org_id = ? AND` every condition of the filter.
fn push_filter(query: &mut QueryBuilder<'_, Db>, org_id: i64, filter: &TaskFilter) {
    query.push("org_id = ").push_bind(org_id);
    if let Some(start) = filter.start {
        query.push(" AND created_at >= ").push_bind(start.millis());
    }
    if let Some(end) = filter.end {
        query.push(" AND created_at <= ").push_bind(end.millis());
    }
    push_attributes(query, filter, Table::Tasks);
    if filter.flagged {
        query.push(" AND flag IS NOT NULL");
    }
    if let Some(text) = &filter.text {
        super::super::push_name_search(query, text);
    }
    if let Some(user) = filter.reviewer {
        // One set of ids from two indexes, which the list then reads by id.
        query
            .push(" AND id IN (SELECT task_id FROM task_reviewers WHERE user_id = ")
            .push_bind(user)
            .push(" UNION SELECT id FROM tasks WHERE checkout_user_id = ")
            .push_bind(user)
            .push(")");
    }
}

/// Which table a filter's conditions go to.
#[derive(Clone, Copy, PartialEq)]
enum Table {
    Tasks,
    Counts,
}

/// The filter's conditions but the creation range, on what `tasks` and `task_counts` share.
fn push_attributes(query: &mut QueryBuilder<'_, Db>, filter: &TaskFilter, table: Table) {
    push_in(
        query,
        "task_status",
        filter.task_statuses.iter().map(|s| s.code()),
    );
    push_in(
        query,
        "integration_status",
        filter.integration_statuses.iter().map(|s| s.code()),
    );
    push_in(query, "workspace_id", filter.workspace_ids.iter().copied());
    if let Some(status) = &filter.external_integration_status {
        // Case-insensitive like SmartDocumentor's (SQL Server) filter: `NEVER` finds `never`.
        super::super::push_text_eq_folded(query, "external_integration_status", status.clone());
    }
    if let Some(archived) = filter.archived {
        query.push(match (table, archived) {
            (Table::Tasks, true) => " AND archived_at IS NOT NULL",
            (Table::Tasks, false) => " AND archived_at IS NULL",
            (Table::Counts, true) => " AND archived = 1",
            (Table::Counts, false) => " AND archived = 0",
        });
    }
}

fn push_in(query: &mut QueryBuilder<'_, Db>, column: &str, values: impl Iterator<Item = i64>) {
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

#[cfg(test)]
mod tests {
    use super::super::tests::store_or_skip;
    use super::super::with_organisation;
    use super::*;
    use crate::Catalog;

    const DAY: i64 = 86_400_000;

    /// Tasks spread over ten days at odd hours with every attribute varied, then moved and
    /// deleted, so the per-day counts go through every trigger.
    async fn seed(store: &SqlStore, org: i64) {
        let workspace = store.workspace(org, None).await.unwrap().unwrap().id;
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400)
             INSERT INTO tasks (org_id, workspace_id, display_name, created_at, task_status,
                 integration_status, external_integration_status, request_json,
                 status_changed_at)
             SELECT $1, $2, 't', $3 + i * 2160000 + i % 7, CASE i % 3 WHEN 0 THEN 3 ELSE 33 END,
                 1 + i % 4, CASE i % 5 WHEN 0 THEN 'Sent' WHEN 1 THEN 'sent' ELSE 'never' END,
                 '{}', 0
             FROM n",
        )
        .bind(org)
        .bind(workspace)
        .bind(20_000 * DAY + 1234)
        .execute(&store.pool)
        .await
        .unwrap();
        sqlx::query(
            "UPDATE tasks SET task_status = 40, created_at = created_at + $1 WHERE id % 11 = 0",
        )
        .bind(DAY / 3)
        .execute(&store.pool)
        .await
        .unwrap();
        sqlx::query("UPDATE tasks SET external_integration_status = 'SENT' WHERE id % 13 = 0")
            .execute(&store.pool)
            .await
            .unwrap();
        sqlx::query("UPDATE tasks SET archived_at = 1 WHERE id % 4 = 0 OR id % 19 = 0")
            .execute(&store.pool)
            .await
            .unwrap();
        sqlx::query("UPDATE tasks SET archived_at = NULL WHERE id % 19 = 0")
            .execute(&store.pool)
            .await
            .unwrap();
        sqlx::query("DELETE FROM tasks WHERE id % 17 = 0")
            .execute(&store.pool)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn counts_from_whole_days_and_partial_edges_equal_counting_every_row() {
        let (_guard, store, org) = store_or_skip!();
        seed(&store, org).await;
        let at = |millis: i64| Some(Timestamp::from_millis(millis));
        let base = 20_000 * DAY;
        let ranges = [
            (None, None),
            (at(base), None),
            (None, at(base + 5 * DAY - 1)),
            (at(base + DAY / 2), at(base + 7 * DAY + DAY / 3)),
            (at(base + 2 * DAY), at(base + 4 * DAY - 1)),
            (at(base + 2 * DAY + 1), at(base + 2 * DAY + 5000)),
            (at(base + 3 * DAY - 1), at(base + 3 * DAY)),
            (at(base + 9 * DAY), at(base + 30 * DAY)),
        ];
        let mut checked = 0;
        for (start, end) in ranges {
            let variants = [
                TaskFilter::default(),
                TaskFilter {
                    task_statuses: vec![TaskStatus::ToReview, TaskStatus::QueuedForRecognition],
                    ..TaskFilter::default()
                },
                TaskFilter {
                    integration_statuses: vec![IntegrationStatus::Successful],
                    external_integration_status: Some("SENT".into()),
                    ..TaskFilter::default()
                },
                TaskFilter {
                    workspace_ids: vec![999],
                    ..TaskFilter::default()
                },
                TaskFilter {
                    task_statuses: vec![TaskStatus::ToReview],
                    archived: Some(true),
                    ..TaskFilter::default()
                },
                TaskFilter {
                    archived: Some(false),
                    ..TaskFilter::default()
                },
            ];
            for variant in variants {
                let filter = TaskFilter {
                    start,
                    end,
                    ..variant
                };
                let counted = store.count_tasks(org, &filter).await.unwrap();
                let every_row = store.count_rows(org, &filter).await.unwrap();
                assert_eq!(counted, every_row, "{filter:?}");
                checked += usize::from(every_row > 0);
            }
        }
        assert!(checked >= 24, "most filters match something: {checked}");
    }

    #[tokio::test]
    async fn search_flags_and_assignments_narrow_a_list() {
        let (_guard, store, org) = store_or_skip!();
        let mut ids = Vec::new();
        for _ in 0..4 {
            ids.push(super::super::new_task(&store, org, None).await);
        }
        let named = [
            ("Fatura Água 50%", Some("AB_12")),
            ("fatura luz", None),
            ("Receipt", Some("x-FATURA")),
            ("Other", Some("ab112")),
        ];
        for (id, (name, external)) in ids.iter().zip(named) {
            sqlx::query("UPDATE tasks SET display_name = $1, external_id = $2 WHERE id = $3")
                .bind(name)
                .bind(external)
                .bind(id)
                .execute(&store.pool)
                .await
                .unwrap();
        }
        sqlx::query("UPDATE tasks SET flag = 'stuck' WHERE id = $1")
            .bind(ids[1])
            .execute(&store.pool)
            .await
            .unwrap();
        let user = sqlx::query_scalar::<_, i64>(
            "INSERT INTO users (org_id, email, role, status, created_at)
             VALUES ($1, 'r@x.eu', 'Reviewer', 'active', 0)
             RETURNING id",
        )
        .bind(org)
        .fetch_one(&store.pool)
        .await
        .unwrap();
        sqlx::query("INSERT INTO task_reviewers (task_id, user_id) VALUES ($1, $2)")
            .bind(ids[2])
            .bind(user)
            .execute(&store.pool)
            .await
            .unwrap();
        sqlx::query("UPDATE tasks SET checkout_user_id = $1 WHERE id = $2")
            .bind(user)
            .bind(ids[3])
            .execute(&store.pool)
            .await
            .unwrap();
        let found = |filter: TaskFilter| {
            let store = &store;
            async move {
                let page = Page {
                    number: 1,
                    size: 10,
                };
                let listed = store.tasks(org, &filter, page).await.unwrap();
                let mut found: Vec<i64> = listed.items.iter().map(|t| t.id).collect();
                found.sort();
                assert_eq!(listed.total_count, found.len() as i64, "{filter:?}");
                found
            }
        };
        let text = |t: &str| TaskFilter {
            text: Some(t.into()),
            ..TaskFilter::default()
        };
        assert_eq!(found(text("FATURA")).await, vec![ids[0], ids[1], ids[2]]);
        assert_eq!(found(text("50%")).await, vec![ids[0]]);
        assert_eq!(
            found(text("ab_1")).await,
            vec![ids[0]],
            "_ is not a wildcard"
        );
        assert_eq!(found(text("zzz")).await, Vec::<i64>::new());
        assert_eq!(
            found(text("LU")).await,
            vec![ids[1]],
            "shorter than a trigram"
        );
        assert_eq!(found(text("Água 5")).await, vec![ids[0]], "beyond ASCII");
        assert_eq!(
            found(text("a \"b")).await,
            Vec::<i64>::new(),
            "quotes are text"
        );
        let flagged = TaskFilter {
            flagged: true,
            ..TaskFilter::default()
        };
        assert_eq!(found(flagged).await, vec![ids[1]]);
        let mine = TaskFilter {
            reviewer: Some(user),
            ..TaskFilter::default()
        };
        assert_eq!(found(mine).await, vec![ids[2], ids[3]]);
        let flag = store
            .task_by_id(ids[1])
            .await
            .unwrap()
            .unwrap()
            .summary
            .flag;
        assert_eq!(flag.as_deref(), Some("stuck"));
        store.restart_task(org, &TaskRef::Id(ids[1])).await.unwrap();
        let flag = store
            .task_by_id(ids[1])
            .await
            .unwrap()
            .unwrap()
            .summary
            .flag;
        assert_eq!(flag, None, "a restart clears the flag");
    }

    #[tokio::test]
    async fn a_deep_page_started_from_the_day_counts_equals_walking_every_row() {
        let (_guard, store, org) = store_or_skip!();
        seed(&store, org).await;
        let at = |millis: i64| Some(Timestamp::from_millis(millis));
        let base = 20_000 * DAY;
        let ranges = [
            (None, None),
            (at(base + DAY / 2), at(base + 7 * DAY + DAY / 3)),
            (at(base + 2 * DAY), None),
            (None, at(base + 6 * DAY - 1)),
        ];
        let ids = |page: Vec<TaskSummary>| page.into_iter().map(|t| t.id).collect::<Vec<_>>();
        let mut compared = 0;
        for (start, end) in ranges {
            for descending in [false, true] {
                for statuses in [vec![], vec![TaskStatus::ToReview]] {
                    let filter = TaskFilter {
                        start,
                        end,
                        task_statuses: statuses,
                        sort: crate::TaskSort {
                            field: SortField::CreatedOn,
                            descending,
                        },
                        ..TaskFilter::default()
                    };
                    for offset in (0..420).step_by(23) {
                        let walked = store
                            .list_from(org, &filter, 20, Start::Offset(offset))
                            .await
                            .unwrap();
                        let (narrowed, rest) =
                            store.skip_whole_days(org, &filter, offset).await.unwrap();
                        let skipped = store
                            .list_from(org, &narrowed, 20, Start::Offset(rest))
                            .await
                            .unwrap();
                        compared += usize::from(!walked.is_empty());
                        assert_eq!(ids(skipped), ids(walked), "{filter:?} from {offset}");
                    }
                }
            }
        }
        assert!(compared > 100, "most pages hold tasks: {compared}");
    }
}
