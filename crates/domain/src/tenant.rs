//! Organisations (tenants) with their credentials, and what they group tasks in: workspaces
//! and batches.

use super::review::ReviewSettings;
use super::Timestamp;

#[derive(Debug, Clone)]
pub struct Organization {
    pub id: i64,
    pub name: String,
    pub client_id: String,
}

/// Credentials as created: the secret is never stored and never shown again.
#[derive(Debug, Clone)]
pub struct IssuedCredentials {
    pub organization: Organization,
    pub client_secret: String,
    pub secret_expires_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct Workspace {
    pub id: i64,
    pub org_id: i64,
    pub name: String,
    pub description: Option<String>,
    pub is_default: bool,
    pub template: String,
    /// Tesseract language codes joined by `+`.
    pub languages: String,
    pub review: ReviewSettings,
}

#[derive(Debug, Clone)]
pub struct Batch {
    pub id: i64,
    pub workspace_id: i64,
    pub display_name: String,
    pub description: Option<String>,
    pub created_at: Timestamp,
    pub total_tasks: i64,
    pub total_tasks_in_history: i64,
}

#[derive(Debug, Clone, Default)]
pub struct BatchFilter {
    pub batch_id: Option<i64>,
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
    pub workspace_ids: Vec<i64>,
    pub sort: BatchSort,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct BatchSort {
    pub field: BatchSortField,
    pub descending: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BatchSortField {
    BatchId,
    #[default]
    CreatedOn,
    DisplayName,
    WorkspaceId,
}

impl BatchSortField {
    pub const NAMES: &'static [(&'static str, BatchSortField)] = &[
        ("batchId", BatchSortField::BatchId),
        ("createdOn", BatchSortField::CreatedOn),
        ("displayName", BatchSortField::DisplayName),
        ("workspaceId", BatchSortField::WorkspaceId),
    ];
}
