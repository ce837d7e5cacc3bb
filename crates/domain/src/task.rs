//! Tasks as the store keeps them and lists them: what a task was created with, its status
//! columns, its events and result, and the filters and sorts of status lists.

use std::collections::BTreeMap;

use super::{ExternalId, IntegrationStatus, Priority, TaskStatus, Timestamp};

/// A stored file: its key in the file store and what it is.
#[derive(Debug, Clone)]
pub struct StoredFile {
    pub key: String,
    /// What pre-processing detected from the bytes; `UNDETECTED` until then or when it failed.
    pub media_type: String,
    pub file_name: Option<String>,
}

impl StoredFile {
    pub const UNDETECTED: &'static str = "application/octet-stream";
}

/// A task whole: its status, and what it was created with.
#[derive(Debug, Clone)]
pub struct Task {
    pub summary: TaskSummary,
    pub org_id: i64,
    pub external_integration_status: String,
    pub priority: i64,
    pub source_url: Option<String>,
    pub request: serde_json::Value,
    pub metadata: BTreeMap<String, String>,
    pub original: Option<StoredFile>,
    pub status_reason: Option<String>,
    /// When the result last reached the client's system (a webhook answered 2xx).
    pub last_integrated_at: Option<Timestamp>,
}

/// A task as lists show it: the columns of its status, not the request it was created with.
#[derive(Debug, Clone)]
pub struct TaskSummary {
    pub id: i64,
    pub workspace_id: i64,
    pub batch_id: Option<i64>,
    pub task_number: Option<i64>,
    pub external_id: Option<String>,
    pub display_name: String,
    pub description: Option<String>,
    pub created_at: Timestamp,
    pub task_status: TaskStatus,
    pub integration_status: IntegrationStatus,
    pub total_pages: i64,
    pub restart_count: i64,
    pub preprocessing_started_at: Option<Timestamp>,
    /// Left by the sweeper on a task it found stuck and put back; cleared by a restart.
    pub flag: Option<String>,
    /// When the task moved to history (the archive).
    pub archived_at: Option<Timestamp>,
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

/// How a client names a task: by docket's id, its own external id, or both (both must match).
#[derive(Debug, Clone)]
pub enum TaskRef {
    Id(i64),
    External(ExternalId),
    Both(i64, ExternalId),
}

#[derive(Debug, Clone)]
pub struct TaskEvent {
    pub task_status: TaskStatus,
    pub at: Timestamp,
    pub reason: Option<String>,
}

/// A task's recognition result as stored: JSON the pipeline wrote, and when.
#[derive(Debug, Clone)]
pub struct TaskResult {
    pub pages_json: String,
    pub understanding_json: String,
    pub recognized_at: Timestamp,
}

#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
    pub task_statuses: Vec<TaskStatus>,
    pub integration_statuses: Vec<IntegrationStatus>,
    pub workspace_ids: Vec<i64>,
    pub external_integration_status: Option<String>,
    /// Some(true): only tasks in history; Some(false): only those not in it.
    pub archived: Option<bool>,
    /// Only tasks the sweeper flagged.
    pub flagged: bool,
    /// Only tasks whose name or externalId contains this, case-insensitively.
    pub text: Option<String>,
    /// Only tasks this user may review by assignment, or holds checked out.
    pub reviewer: Option<i64>,
    pub sort: TaskSort,
}

impl TaskFilter {
    /// Whether the filter asks only for what the per-day counts keep (status, integration,
    /// workspace, history), so a list's total can be added up by day.
    pub fn counted_by_day(&self) -> bool {
        !self.flagged && self.text.is_none() && self.reviewer.is_none()
    }
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
}

/// A 1-based page of a list.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub number: u32,
    pub size: u32,
}

impl Page {
    /// Rows before this page.
    pub fn offset(self) -> i64 {
        i64::from(self.number.saturating_sub(1)) * i64::from(self.size)
    }
}

/// A page of list results and the count of all matches.
#[derive(Debug, Clone)]
pub struct Listed<T> {
    pub items: Vec<T>,
    pub total_count: i64,
}
