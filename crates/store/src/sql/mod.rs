//! docket's SQL, written once for both backends: this module is compiled into `sqlite` and into
//! `postgres`, where `super::Db` names the database and `super::` holds what their dialects do
//! differently (write transactions, row locks, the job claim, case-folded comparison, job
//! announcements). Statements use numbered placeholders (`$1`), which both accept. Times are
//! Unix milliseconds; statuses are the API's numeric codes.
//!
//! Why compiled twice rather than generic over `sqlx::Database`: each copy type-checks against
//! one concrete driver, without the higher-ranked bounds a generic executor needs.

mod jobs;
mod learning;
mod lifecycle;
mod people;
mod reviews;
mod tasks;
mod webhooks;

use std::path::Path;

use async_trait::async_trait;
use sqlx::{Pool, QueryBuilder, Transaction};

use super::Db;
use crate::{
    Batch, BatchFilter, BatchSortField, Catalog, Credentials, IssuedCredentials, Listed,
    Operations, Organization, Page, StoreError, StoreResult, Workspace,
};
use docket_domain::credentials::{self, SECRET_LIFETIME_SECONDS};
use docket_domain::review::ReviewSettings;
use docket_domain::workspace::DEFAULT_LANGUAGES;
use docket_domain::{TaskStatus, Timestamp, WorkspaceTemplate};

/// Expired tokens dropped at most per token issued: more than are issued per expiry, so the
/// table still shrinks to the live tokens.
const TOKEN_PURGE_BATCH: i64 = 100;

pub struct SqlStore {
    pub(super) pool: Pool<Db>,
    /// Where recently served list pages ended, for keyset paging.
    anchors: tasks::Anchors,
}

impl SqlStore {
    pub(super) fn new(pool: Pool<Db>) -> Self {
        SqlStore {
            pool,
            anchors: tasks::Anchors::default(),
        }
    }

    async fn write(&self) -> StoreResult<Transaction<'static, Db>> {
        Ok(super::begin_write(&self.pool).await?)
    }
}

#[async_trait]
impl Operations for SqlStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn backup_into(&self, path: &Path) -> StoreResult<()> {
        super::backup_into(&self.pool, path).await
    }

    async fn refresh_statistics(&self) -> StoreResult<()> {
        super::refresh_statistics(&self.pool).await
    }
}

type WorkspaceRow = (
    i64,
    i64,
    String,
    Option<String>,
    bool,
    String,
    String,
    Option<String>,
);

const WORKSPACE_COLUMNS: &str =
    "id, org_id, name, description, is_default, template, languages, review_settings";

fn workspace_from(row: WorkspaceRow) -> Workspace {
    let (id, org_id, name, description, is_default, template, languages, review) = row;
    // Settings are written only from a checked ReviewSettings; unreadable ones fall back to
    // the defaults (nothing automatic) rather than hiding the workspace.
    let review = review
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default();
    Workspace {
        id,
        org_id,
        name,
        description,
        is_default,
        template,
        languages,
        review,
    }
}

#[async_trait]
impl Credentials for SqlStore {
    async fn count_organizations(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM organizations")
            .fetch_one(&self.pool)
            .await?)
    }

    async fn create_organization(&self, name: &str) -> StoreResult<IssuedCredentials> {
        let now = Timestamp::now();
        let client_id = credentials::new_client_id();
        let secret = credentials::new_secret();
        let expires = now.plus_seconds(SECRET_LIFETIME_SECONDS);
        let mut tx = self.write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO organizations (name, client_id, secret_hash, secret_expires_at, created_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
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

    async fn rotate_secret(&self, client_id: &str) -> StoreResult<IssuedCredentials> {
        let secret = credentials::new_secret();
        let expires = Timestamp::now().plus_seconds(SECRET_LIFETIME_SECONDS);
        let mut tx = self.write().await?;
        let row: Option<(i64, String)> = sqlx::query_as(
            "UPDATE organizations SET secret_hash = $1, secret_expires_at = $2
             WHERE client_id = $3 RETURNING id, name",
        )
        .bind(credentials::hash_secret(&secret))
        .bind(expires.millis())
        .bind(client_id)
        .fetch_optional(&mut *tx)
        .await?;
        let (id, name) = row.ok_or(StoreError::NotFound("organisation"))?;
        sqlx::query("DELETE FROM access_tokens WHERE org_id = $1")
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

    async fn organizations(&self) -> StoreResult<Vec<Organization>> {
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

    async fn find_organization(&self, client_id: &str) -> StoreResult<Option<Organization>> {
        let row: Option<(i64, String)> =
            sqlx::query_as("SELECT id, name FROM organizations WHERE client_id = $1")
                .bind(client_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(id, name)| Organization {
            id,
            name,
            client_id: client_id.to_owned(),
        }))
    }

    async fn verify_client(&self, client_id: &str, secret: &str) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM organizations
             WHERE client_id = $1 AND secret_hash = $2 AND secret_expires_at > $3",
        )
        .bind(client_id)
        .bind(credentials::hash_secret(secret))
        .bind(Timestamp::now().millis())
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn insert_token(
        &self,
        org_id: i64,
        token: &str,
        expires_at: Timestamp,
    ) -> StoreResult<()> {
        let now = Timestamp::now().millis();
        let mut tx = self.write().await?;
        // Expired tokens are useless; dropping a few with each new one keeps the table small
        // without a sweeper, and the bound (over an index) keeps the write short.
        sqlx::query(
            "DELETE FROM access_tokens WHERE token_hash IN
                (SELECT token_hash FROM access_tokens WHERE expires_at <= $1 LIMIT $2)",
        )
        .bind(now)
        .bind(TOKEN_PURGE_BATCH)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO access_tokens (token_hash, org_id, expires_at) VALUES ($1, $2, $3)",
        )
        .bind(credentials::hash_secret(token))
        .bind(org_id)
        .bind(expires_at.millis())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn organization_for_token(&self, token: &str) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT org_id FROM access_tokens WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(credentials::hash_secret(token))
        .bind(Timestamp::now().millis())
        .fetch_optional(&self.pool)
        .await?)
    }
}

#[async_trait]
impl Catalog for SqlStore {
    async fn create_workspace(
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

    async fn workspaces(&self, org_id: i64) -> StoreResult<Vec<Workspace>> {
        let rows: Vec<WorkspaceRow> = sqlx::query_as(&format!(
            "SELECT {WORKSPACE_COLUMNS} FROM workspaces WHERE org_id = $1 ORDER BY id"
        ))
        .bind(org_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(workspace_from).collect())
    }

    async fn workspace(&self, org_id: i64, id: Option<i64>) -> StoreResult<Option<Workspace>> {
        let row: Option<WorkspaceRow> = sqlx::query_as(&format!(
            "SELECT {WORKSPACE_COLUMNS} FROM workspaces
             WHERE org_id = $1 AND (id = $2 OR ($2 IS NULL AND is_default))"
        ))
        .bind(org_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(workspace_from))
    }

    async fn set_workspace_reading(
        &self,
        org_id: i64,
        workspace_id: i64,
        template: &str,
        languages: &str,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE workspaces SET template = $1, languages = $2 WHERE id = $3 AND org_id = $4",
        )
        .bind(template)
        .bind(languages)
        .bind(workspace_id)
        .bind(org_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_review_settings(
        &self,
        org_id: i64,
        workspace_id: i64,
        settings: &ReviewSettings,
    ) -> StoreResult<bool> {
        let json =
            serde_json::to_string(settings).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let done =
            sqlx::query("UPDATE workspaces SET review_settings = $1 WHERE id = $2 AND org_id = $3")
                .bind(json)
                .bind(workspace_id)
                .bind(org_id)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn workspace_by_id(&self, id: i64) -> StoreResult<Option<Workspace>> {
        let row: Option<WorkspaceRow> = sqlx::query_as(&format!(
            "SELECT {WORKSPACE_COLUMNS} FROM workspaces WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(workspace_from))
    }

    async fn create_batch(
        &self,
        org_id: i64,
        workspace_id: i64,
        display_name: &str,
        description: Option<&str>,
    ) -> StoreResult<Batch> {
        let now = Timestamp::now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO batches (org_id, workspace_id, display_name, description, created_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
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

    async fn batch(&self, org_id: i64, batch_id: i64) -> StoreResult<Option<Batch>> {
        let filter = BatchFilter {
            batch_id: Some(batch_id),
            ..BatchFilter::default()
        };
        Ok(self.batches(org_id, &filter, None).await?.items.pop())
    }

    async fn batches(
        &self,
        org_id: i64,
        filter: &BatchFilter,
        page: Option<Page>,
    ) -> StoreResult<Listed<Batch>> {
        let history = [TaskStatus::Processed.code(), TaskStatus::Deleted.code()];
        let mut query = QueryBuilder::<Db>::new(format!(
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
            push_limit(&mut query, page);
        }
        type Row = (i64, i64, String, Option<String>, i64, i64, i64);
        let rows: Vec<Row> = query.build_query_as().fetch_all(&self.pool).await?;
        let total_count = match page {
            None => rows.len() as i64,
            Some(_) => {
                let mut count = QueryBuilder::<Db>::new("SELECT COUNT(*) FROM batches b WHERE ");
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

/// ` LIMIT size OFFSET rows-before` of a page.
fn push_limit(query: &mut QueryBuilder<'_, Db>, page: Page) {
    query
        .push(" LIMIT ")
        .push_bind(i64::from(page.size))
        .push(" OFFSET ")
        .push_bind(page.offset());
}

/// `b.org_id = ? AND` every condition of the batch filter.
fn push_batch_filter(query: &mut QueryBuilder<'_, Db>, org_id: i64, filter: &BatchFilter) {
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

struct NewWorkspace<'a> {
    name: &'a str,
    description: Option<&'a str>,
    template: &'a str,
    languages: &'a str,
    is_default: bool,
}

async fn insert_workspace(
    tx: &mut Transaction<'static, Db>,
    org_id: i64,
    new: NewWorkspace<'_>,
) -> StoreResult<Workspace> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO workspaces (org_id, name, description, is_default, template, languages, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
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
        review: ReviewSettings::default(),
    })
}

/// Records a status change of a task with its time and reason.
async fn record_status(
    tx: &mut Transaction<'static, Db>,
    task_id: i64,
    status: TaskStatus,
    reason: Option<&str>,
) -> StoreResult<()> {
    let now = Timestamp::now().millis();
    let started = (status == TaskStatus::PreProcessingInProgress).then_some(now);
    sqlx::query(
        "UPDATE tasks SET task_status = $1, status_reason = $2, status_changed_at = $3,
                preprocessing_started_at = COALESCE($4, preprocessing_started_at)
         WHERE id = $5",
    )
    .bind(status.code())
    .bind(reason)
    .bind(now)
    .bind(started)
    .bind(task_id)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO task_events (task_id, task_status, at, reason) VALUES ($1, $2, $3, $4)",
    )
    .bind(task_id)
    .bind(status.code())
    .bind(now)
    .bind(reason)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A fresh store with one organisation, for the contract tests; None where this backend's test
/// server is not running.
#[cfg(test)]
async fn with_organisation() -> Option<(Box<dyn std::any::Any>, SqlStore, i64)> {
    let (guard, store) = super::open_for_test().await?;
    let org = store
        .create_organization("o")
        .await
        .unwrap()
        .organization
        .id;
    Some((guard, store, org))
}

/// A new task of the organisation (queued, with its job), for the contract tests.
#[cfg(test)]
async fn new_task(store: &SqlStore, org: i64, original: Option<&str>) -> i64 {
    let workspace = Catalog::workspace(store, org, None)
        .await
        .unwrap()
        .unwrap()
        .id;
    let new = crate::NewTask {
        org_id: org,
        workspace_id: workspace,
        batch_id: None,
        external_id: None,
        display_name: None,
        description: None,
        priority: docket_domain::Priority::Low,
        source_url: None,
        request: serde_json::json!({}),
        metadata: Default::default(),
        original: original.map(|key| crate::StoredFile {
            key: key.into(),
            media_type: "application/pdf".into(),
            file_name: None,
        }),
    };
    crate::Tasks::create_task(store, new)
        .await
        .unwrap()
        .summary
        .id
}

/// Moves the task to `status` as a crashed worker could leave it: no job.
#[cfg(test)]
async fn leave_in(store: &SqlStore, task: i64, status: TaskStatus) {
    let mut tx = store.write().await.unwrap();
    sqlx::query("DELETE FROM jobs WHERE task_id = $1")
        .bind(task)
        .execute(&mut *tx)
        .await
        .unwrap();
    record_status(&mut tx, task, status, None).await.unwrap();
    tx.commit().await.unwrap();
}

/// The contract suite: every test here runs on each backend (a backend whose test server is not
/// running says so and passes).
#[cfg(test)]
mod tests {
    use super::*;

    /// The store under test, or a skipped test.
    macro_rules! store_or_skip {
        () => {
            match with_organisation().await {
                Some(found) => found,
                None => {
                    eprintln!(
                        "skipped: no test database for this backend (scripts/test.sh starts one)"
                    );
                    return;
                }
            }
        };
    }
    pub(super) use store_or_skip;

    async fn expired_tokens(store: &SqlStore) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM access_tokens WHERE expires_at <= $1")
            .bind(Timestamp::now().millis())
            .fetch_one(&store.pool)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn issuing_a_token_purges_a_bounded_batch_of_expired_ones() {
        let (_guard, store, org) = store_or_skip!();
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 150)
             INSERT INTO access_tokens (token_hash, org_id, expires_at)
             SELECT 'expired-' || i, $1, 1 FROM n",
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
        assert_eq!(
            store.organization_for_token("b").await.unwrap(),
            Some(org),
            "the new token works"
        );
    }

    #[tokio::test]
    async fn a_rotated_secret_revokes_the_old_one_and_its_tokens() {
        let (_guard, store, org) = store_or_skip!();
        let first = store.organizations().await.unwrap().remove(0);
        store
            .insert_token(org, "t", Timestamp::now().plus_seconds(60))
            .await
            .unwrap();
        let rotated = store.rotate_secret(&first.client_id).await.unwrap();
        assert_eq!(store.organization_for_token("t").await.unwrap(), None);
        assert_eq!(
            store
                .verify_client(&first.client_id, &rotated.client_secret)
                .await
                .unwrap(),
            Some(org)
        );
        let default = store.workspace(org, None).await.unwrap().unwrap();
        assert!(default.is_default);
        let other = store
            .create_workspace(org, "w", None, "layout", "eng")
            .await
            .unwrap();
        assert_eq!(
            store
                .workspace(org, Some(other.id))
                .await
                .unwrap()
                .unwrap()
                .name,
            "w"
        );
        assert_eq!(store.workspaces(org).await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_workspace_is_read_differently_once_changed_and_only_by_its_organisation() {
        let (_guard, store, org) = store_or_skip!();
        let workspace = store.workspace(org, None).await.unwrap().unwrap().id;
        let changed = store
            .set_workspace_reading(org, workspace, "Receipts", "deu+eng")
            .await
            .unwrap();
        assert!(changed);
        let read = store
            .workspace(org, Some(workspace))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (read.template.as_str(), read.languages.as_str()),
            ("Receipts", "deu+eng")
        );
        let stranger = store
            .set_workspace_reading(org + 1, workspace, "Layout", "eng")
            .await
            .unwrap();
        assert!(!stranger);
    }
}
