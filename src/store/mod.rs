//! Persistence: every SQL statement docket runs lives in this module (SQLite in WAL mode, schema
//! in `migrations/`), plus the content-addressed file store in `blobs`. Callers see domain types
//! and plain records only, so a PostgreSQL implementation can sit behind the same methods.

pub mod blobs;
mod jobs;
mod tasks;

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

use crate::domain::credentials::{self, SECRET_LIFETIME_SECONDS};
use crate::domain::workspace::DEFAULT_LANGUAGES;
use crate::domain::{IntegrationStatus, TaskStatus, Timestamp, WorkspaceTemplate};

pub use jobs::{ClaimedJob, JobStage, QueueDepth, QueueLimits};
pub use tasks::{NewTask, Page, SortField, TaskFilter, TaskRef, TaskResult, TaskSort};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("a task with this externalId already exists in the organisation")]
    DuplicateExternalId,
    #[error("not found: {0}")]
    NotFound(&'static str),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("a task cannot move from {from:?} to {to:?}")]
    InvalidTransition { from: TaskStatus, to: TaskStatus },
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Expired tokens dropped at most per token issued: more than are issued per expiry, so the
/// table still shrinks to the live tokens.
const TOKEN_PURGE_BATCH: i64 = 100;

#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
    /// Where recently served list pages ended, for keyset paging.
    anchors: tasks::Anchors,
}

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

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Workspace {
    pub id: i64,
    pub org_id: i64,
    pub name: String,
    pub description: Option<String>,
    pub is_default: bool,
    pub template: String,
    /// Tesseract language codes joined by `+`.
    pub languages: String,
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
}

#[derive(Debug, Clone)]
pub struct TaskEvent {
    pub task_status: TaskStatus,
    pub at: Timestamp,
    pub reason: Option<String>,
}

/// A page of list results and the count of all matches.
#[derive(Debug, Clone)]
pub struct Listed<T> {
    pub items: Vec<T>,
    pub total_count: i64,
}

impl Store {
    /// Opens (creating if needed) the SQLite database file in an existing directory and brings
    /// its schema up to date. A new database file is private to docket's user (0600); SQLite
    /// gives its -wal and -shm files the database file's mode.
    pub async fn open(path: &Path) -> anyhow::Result<Self> {
        OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)?;
        let options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(Store {
            pool,
            anchors: tasks::Anchors::default(),
        })
    }

    /// A write transaction that takes the write lock up front: SQLite cannot upgrade a reader
    /// to a writer when another connection wrote meanwhile, so deferred transactions would fail
    /// under concurrency instead of waiting.
    /// A consistent copy of the whole database at `path` (which must not exist), taken while
    /// docket keeps working.
    pub async fn backup_into(&self, path: &Path) -> StoreResult<()> {
        sqlx::query("VACUUM INTO ?")
            .bind(path.to_string_lossy().into_owned())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Whether the database answers, for readiness checks.
    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn write(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    // ---- organisations and credentials ----

    pub async fn count_organizations(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM organizations")
            .fetch_one(&self.pool)
            .await?)
    }

    /// Creates an organisation with its default workspace and first credentials.
    pub async fn create_organization(&self, name: &str) -> StoreResult<IssuedCredentials> {
        let now = Timestamp::now();
        let client_id = credentials::new_client_id();
        let secret = credentials::new_secret();
        let expires = now.plus_seconds(SECRET_LIFETIME_SECONDS);
        let mut tx = self.write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO organizations (name, client_id, secret_hash, secret_expires_at, created_at)
             VALUES (?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(name)
        .bind(&client_id)
        .bind(credentials::hash_secret(&secret))
        .bind(expires.millis())
        .bind(now.millis())
        .fetch_one(&mut *tx)
        .await?;
        let default = NewWorkspace {
            name: "Default",
            description: None,
            template: WorkspaceTemplate::Layout.key(),
            languages: DEFAULT_LANGUAGES,
            is_default: true,
        };
        insert_workspace(&mut tx, id, default).await?;
        tx.commit().await?;
        Ok(IssuedCredentials {
            organization: Organization {
                id,
                name: name.to_owned(),
                client_id,
            },
            client_secret: secret,
            secret_expires_at: expires,
        })
    }

    /// Replaces the organisation's secret; the old one stops working at once, and so does every
    /// token issued with it (a leaked secret may have minted them).
    pub async fn rotate_secret(&self, client_id: &str) -> StoreResult<IssuedCredentials> {
        let secret = credentials::new_secret();
        let expires = Timestamp::now().plus_seconds(SECRET_LIFETIME_SECONDS);
        let mut tx = self.write().await?;
        let row: Option<(i64, String)> = sqlx::query_as(
            "UPDATE organizations SET secret_hash = ?, secret_expires_at = ?
             WHERE client_id = ? RETURNING id, name",
        )
        .bind(credentials::hash_secret(&secret))
        .bind(expires.millis())
        .bind(client_id)
        .fetch_optional(&mut *tx)
        .await?;
        let (id, name) = row.ok_or(StoreError::NotFound("organisation"))?;
        sqlx::query("DELETE FROM access_tokens WHERE org_id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(IssuedCredentials {
            organization: Organization {
                id,
                name,
                client_id: client_id.to_owned(),
            },
            client_secret: secret,
            secret_expires_at: expires,
        })
    }

    pub async fn organizations(&self) -> StoreResult<Vec<Organization>> {
        let rows: Vec<(i64, String, String)> =
            sqlx::query_as("SELECT id, name, client_id FROM organizations ORDER BY id")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name, client_id)| Organization {
                id,
                name,
                client_id,
            })
            .collect())
    }

    pub async fn find_organization(&self, client_id: &str) -> StoreResult<Option<Organization>> {
        let row: Option<(i64, String)> =
            sqlx::query_as("SELECT id, name FROM organizations WHERE client_id = ?")
                .bind(client_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(id, name)| Organization {
            id,
            name,
            client_id: client_id.to_owned(),
        }))
    }

    /// The organisation whose current, unexpired secret this is.
    pub async fn verify_client(&self, client_id: &str, secret: &str) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM organizations
             WHERE client_id = ? AND secret_hash = ? AND secret_expires_at > ?",
        )
        .bind(client_id)
        .bind(credentials::hash_secret(secret))
        .bind(Timestamp::now().millis())
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn insert_token(
        &self,
        org_id: i64,
        token: &str,
        expires_at: Timestamp,
    ) -> StoreResult<()> {
        let now = Timestamp::now().millis();
        let mut tx = self.write().await?;
        // Expired tokens are useless; dropping a few with each new one keeps the table small
        // without a sweeper, and the bound (over an index) keeps the write lock short.
        sqlx::query(
            "DELETE FROM access_tokens WHERE rowid IN
                (SELECT rowid FROM access_tokens WHERE expires_at <= ? LIMIT ?)",
        )
        .bind(now)
        .bind(TOKEN_PURGE_BATCH)
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO access_tokens (token_hash, org_id, expires_at) VALUES (?, ?, ?)")
            .bind(credentials::hash_secret(token))
            .bind(org_id)
            .bind(expires_at.millis())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn organization_for_token(&self, token: &str) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT org_id FROM access_tokens WHERE token_hash = ? AND expires_at > ?",
        )
        .bind(credentials::hash_secret(token))
        .bind(Timestamp::now().millis())
        .fetch_optional(&self.pool)
        .await?)
    }

    // ---- workspaces and batches ----

    pub async fn create_workspace(
        &self,
        org_id: i64,
        name: &str,
        description: Option<&str>,
        template: &str,
        languages: &str,
    ) -> StoreResult<Workspace> {
        let mut tx = self.write().await?;
        let new = NewWorkspace {
            name,
            description,
            template,
            languages,
            is_default: false,
        };
        let workspace = insert_workspace(&mut tx, org_id, new).await?;
        tx.commit().await?;
        Ok(workspace)
    }

    pub async fn workspaces(&self, org_id: i64) -> StoreResult<Vec<Workspace>> {
        Ok(sqlx::query_as(
            "SELECT id, org_id, name, description, is_default, template, languages
             FROM workspaces WHERE org_id = ? ORDER BY id",
        )
        .bind(org_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The given workspace of the organisation, or its default one when `id` is None.
    pub async fn workspace(&self, org_id: i64, id: Option<i64>) -> StoreResult<Option<Workspace>> {
        Ok(sqlx::query_as(
            "SELECT id, org_id, name, description, is_default, template, languages FROM workspaces
             WHERE org_id = ?1 AND (id = ?2 OR (?2 IS NULL AND is_default = 1))",
        )
        .bind(org_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// For the pipeline, which works across organisations.
    pub(crate) async fn workspace_by_id(&self, id: i64) -> StoreResult<Option<Workspace>> {
        Ok(sqlx::query_as(
            "SELECT id, org_id, name, description, is_default, template, languages
             FROM workspaces WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn create_batch(
        &self,
        org_id: i64,
        workspace_id: i64,
        display_name: &str,
        description: Option<&str>,
    ) -> StoreResult<Batch> {
        let now = Timestamp::now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO batches (org_id, workspace_id, display_name, description, created_at)
             VALUES (?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(org_id)
        .bind(workspace_id)
        .bind(display_name)
        .bind(description)
        .bind(now.millis())
        .fetch_one(&self.pool)
        .await?;
        Ok(Batch {
            id,
            workspace_id,
            display_name: display_name.to_owned(),
            description: description.map(str::to_owned),
            created_at: now,
            total_tasks: 0,
            total_tasks_in_history: 0,
        })
    }

    pub async fn batch(&self, org_id: i64, batch_id: i64) -> StoreResult<Option<Batch>> {
        let filter = BatchFilter {
            batch_id: Some(batch_id),
            ..BatchFilter::default()
        };
        Ok(self.batches(org_id, &filter, None).await?.items.pop())
    }

    /// The matching batches with their task counts, a page of them when `page` is given, and
    /// how many match in all (counted apart, not by reading every match).
    pub async fn batches(
        &self,
        org_id: i64,
        filter: &BatchFilter,
        page: Option<Page>,
    ) -> StoreResult<Listed<Batch>> {
        let history = [TaskStatus::Processed.code(), TaskStatus::Deleted.code()];
        let mut query = sqlx::QueryBuilder::<Sqlite>::new(format!(
            "SELECT b.id, b.workspace_id, b.display_name, b.description, b.created_at,
                    (SELECT COUNT(*) FROM tasks t WHERE t.batch_id = b.id),
                    (SELECT COUNT(*) FROM tasks t WHERE t.batch_id = b.id
                        AND t.task_status IN ({}, {}))
             FROM batches b WHERE ",
            history[0], history[1]
        ));
        push_batch_filter(&mut query, org_id, filter);
        let column = match filter.sort.field {
            BatchSortField::BatchId => "b.id",
            BatchSortField::CreatedOn => "b.created_at",
            BatchSortField::DisplayName => "b.display_name",
            BatchSortField::WorkspaceId => "b.workspace_id",
        };
        let direction = if filter.sort.descending {
            "DESC"
        } else {
            "ASC"
        };
        query.push(format!(" ORDER BY {column} {direction}, b.id {direction}"));
        if let Some(page) = page {
            page.push_limit(&mut query);
        }
        type Row = (i64, i64, String, Option<String>, i64, i64, i64);
        let rows: Vec<Row> = query.build_query_as().fetch_all(&self.pool).await?;
        let total_count = match page {
            None => rows.len() as i64,
            Some(_) => {
                let mut count =
                    sqlx::QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM batches b WHERE ");
                push_batch_filter(&mut count, org_id, filter);
                count.build_query_scalar().fetch_one(&self.pool).await?
            }
        };
        let items = rows
            .into_iter()
            .map(|r| Batch {
                id: r.0,
                workspace_id: r.1,
                display_name: r.2,
                description: r.3,
                created_at: Timestamp::from_millis(r.4),
                total_tasks: r.5,
                total_tasks_in_history: r.6,
            })
            .collect();
        Ok(Listed { items, total_count })
    }
}

/// `b.org_id = ? AND` every condition of the batch filter.
fn push_batch_filter(
    query: &mut sqlx::QueryBuilder<'_, Sqlite>,
    org_id: i64,
    filter: &BatchFilter,
) {
    query.push("b.org_id = ").push_bind(org_id);
    if let Some(id) = filter.batch_id {
        query.push(" AND b.id = ").push_bind(id);
    }
    if let Some(start) = filter.start {
        query
            .push(" AND b.created_at >= ")
            .push_bind(start.millis());
    }
    if let Some(end) = filter.end {
        query.push(" AND b.created_at <= ").push_bind(end.millis());
    }
    if !filter.workspace_ids.is_empty() {
        query.push(" AND b.workspace_id IN (");
        let mut ids = query.separated(", ");
        for id in &filter.workspace_ids {
            ids.push_bind(*id);
        }
        query.push(")");
    }
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

struct NewWorkspace<'a> {
    name: &'a str,
    description: Option<&'a str>,
    template: &'a str,
    languages: &'a str,
    is_default: bool,
}

async fn insert_workspace(
    tx: &mut Transaction<'static, Sqlite>,
    org_id: i64,
    new: NewWorkspace<'_>,
) -> StoreResult<Workspace> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO workspaces (org_id, name, description, is_default, template, languages, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(org_id)
    .bind(new.name)
    .bind(new.description)
    .bind(new.is_default)
    .bind(new.template)
    .bind(new.languages)
    .bind(Timestamp::now().millis())
    .fetch_one(&mut **tx)
    .await?;
    Ok(Workspace {
        id,
        org_id,
        name: new.name.to_owned(),
        description: new.description.map(str::to_owned),
        is_default: new.is_default,
        template: new.template.to_owned(),
        languages: new.languages.to_owned(),
    })
}

/// Records a status change of a task with its time and reason.
async fn record_status(
    tx: &mut Transaction<'static, Sqlite>,
    task_id: i64,
    status: TaskStatus,
    reason: Option<&str>,
) -> StoreResult<()> {
    let now = Timestamp::now().millis();
    let started = (status == TaskStatus::PreProcessingInProgress).then_some(now);
    sqlx::query(
        "UPDATE tasks SET task_status = ?, status_reason = ?, status_changed_at = ?,
                preprocessing_started_at = COALESCE(?, preprocessing_started_at)
         WHERE id = ?",
    )
    .bind(status.code())
    .bind(reason)
    .bind(now)
    .bind(started)
    .bind(task_id)
    .execute(&mut **tx)
    .await?;
    sqlx::query("INSERT INTO task_events (task_id, task_status, at, reason) VALUES (?, ?, ?, ?)")
        .bind(task_id)
        .bind(status.code())
        .bind(now)
        .bind(reason)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A store in a temporary directory with one organisation, for tests.
#[cfg(test)]
pub(super) async fn with_organisation() -> (tempfile::TempDir, Store, i64) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("docket.db")).await.unwrap();
    let org = store
        .create_organization("o")
        .await
        .unwrap()
        .organization
        .id;
    (dir, store, org)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn expired_tokens(store: &Store) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM access_tokens WHERE expires_at <= ?")
            .bind(Timestamp::now().millis())
            .fetch_one(&store.pool)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_new_database_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path();
        let store = Store::open(&data.join("docket.db")).await.unwrap();
        store.create_organization("o").await.unwrap();
        let mode = |name: &str| {
            let path = data.join(name);
            std::fs::metadata(path).unwrap().permissions().mode() & 0o777
        };
        for file in ["docket.db", "docket.db-wal", "docket.db-shm"] {
            assert_eq!(mode(file), 0o600, "{file}");
        }
    }

    #[tokio::test]
    async fn issuing_a_token_purges_a_bounded_batch_of_expired_ones_by_index() {
        let (_dir, store, org) = with_organisation().await;
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 150)
             INSERT INTO access_tokens (token_hash, org_id, expires_at) SELECT i, ?, 1 FROM n",
        )
        .bind(org)
        .execute(&store.pool)
        .await
        .unwrap();
        let future = Timestamp::now().plus_seconds(3600);
        store.insert_token(org, "a", future).await.unwrap();
        assert_eq!(
            expired_tokens(&store).await,
            50,
            "a batch of 100 purged ..."
        );
        store.insert_token(org, "b", future).await.unwrap();
        assert_eq!(expired_tokens(&store).await, 0, "... then the rest");
        let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(
            "EXPLAIN QUERY PLAN SELECT rowid FROM access_tokens WHERE expires_at <= 5 LIMIT 100",
        )
        .fetch_all(&store.pool)
        .await
        .unwrap();
        assert!(plan[0].3.contains("access_tokens_expires"), "{plan:?}");
    }
}
