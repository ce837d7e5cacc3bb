//! The PostgreSQL backend, for several API and worker processes on one database: schema in
//! `migrations/postgres`, jobs claimed with `FOR UPDATE SKIP LOCKED`, and idle workers woken
//! across processes by `LISTEN`/`NOTIFY`.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::{Pool, QueryBuilder, Transaction};
use tokio::sync::Notify;

use super::{StoreError, StoreResult};

// The shared SQL, compiled for this backend (see `sql`): loading it twice is the point.
#[allow(clippy::duplicate_mod)]
#[path = "sql/mod.rs"]
mod sql;

pub(super) type Db = sqlx::Postgres;
pub(super) use sql::SqlStore;

/// The channel a new or released job is announced on (a macro: statements spell it out).
macro_rules! jobs_channel {
    () => {
        "docket_jobs"
    };
}
const JOBS_CHANNEL: &str = jobs_channel!();

/// Connects and brings the schema up to date (migrations take an advisory lock, so processes
/// starting together apply them once).
pub(super) async fn connect(url: &str) -> anyhow::Result<SqlStore> {
    connect_with(PgConnectOptions::from_str(url)?).await
}

async fn connect_with(options: PgConnectOptions) -> anyhow::Result<SqlStore> {
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .connect_with(options)
        .await?;
    sqlx::migrate!("./migrations/postgres").run(&pool).await?;
    Ok(SqlStore::new(pool))
}

/// Rows are locked as a transaction reads them (`LOCK_ROWS`), so a plain transaction is a
/// write transaction.
async fn begin_write(pool: &Pool<Db>) -> Result<Transaction<'static, Db>, sqlx::Error> {
    pool.begin().await
}

const LOCK_ROWS: &str = " FOR UPDATE";
/// Rows of `table` (a name or alias of the query) another transaction holds are passed over,
/// not waited for; the rows of the other tables read are not locked.
fn skip_locked_rows(table: &str) -> String {
    format!(" FOR UPDATE OF {table} SKIP LOCKED")
}

/// `AND` the task's name or externalId contains `text`, case-insensitively (`ILIKE`, its
/// wildcards escaped), which the trigram indexes serve from three characters on.
fn push_name_search(query: &mut QueryBuilder<'_, Db>, text: &str) {
    let pattern = crate::contains_pattern(text);
    query
        .push(" AND (display_name ILIKE ")
        .push_bind(pattern.clone())
        .push(" ESCAPE '\\' OR external_id ILIKE ")
        .push_bind(pattern)
        .push(" ESCAPE '\\')");
}

/// `column = value` compared case-folded (SmartDocumentor's SQL Server compares
/// case-insensitively); an expression index on `lower(column)` serves it.
fn push_text_eq_folded(query: &mut QueryBuilder<'_, Db>, column: &str, value: String) {
    query
        .push(format!(" AND lower({column}) = lower("))
        .push_bind(value)
        .push(")");
}

/// Takes the first free job in turn order that no other claim has locked meanwhile (`SKIP
/// LOCKED`: concurrent claims never wait on each other nor take the same job). Binds: worker,
/// lease end, now, pages in flight, page batch.
const CLAIM_JOB: &str = "
    WITH held AS (
        SELECT h.org_id, COUNT(*) AS jobs,
               SUM(LEAST(GREATEST(t.total_pages, 1), $5)) AS pages
        FROM jobs h JOIN tasks t ON t.id = h.task_id
        WHERE h.lease_expires_at >= $3
        GROUP BY h.org_id
    ),
    turns AS (
        SELECT o.org_id, ROW_NUMBER() OVER (
                   ORDER BY COALESCE(held.jobs, 0), COALESCE(q.last_claimed_at, 0), o.org_id
               ) AS turn
        FROM (SELECT DISTINCT org_id FROM jobs
              WHERE lease_expires_at IS NULL OR lease_expires_at < $3) o
        LEFT JOIN held ON held.org_id = o.org_id
        LEFT JOIN queue_turns q ON q.org_id = o.org_id
        WHERE COALESCE(held.pages, 0) < $4
    ),
    next AS (
        SELECT j.id FROM jobs j JOIN turns ON turns.org_id = j.org_id
        WHERE j.lease_expires_at IS NULL OR j.lease_expires_at < $3
        ORDER BY turns.turn, j.priority DESC, j.id
        LIMIT 1
        FOR UPDATE OF j SKIP LOCKED
    )
    UPDATE jobs SET lease_owner = $1, lease_expires_at = $2, attempts = jobs.attempts + 1
    FROM next WHERE jobs.id = next.id
    RETURNING jobs.id, jobs.org_id, jobs.task_id, jobs.stage, jobs.attempts, jobs.kills";

/// A task created in one statement: numbered in its workspace, inserted with its first event
/// and its pre-processing job, and announced. Concurrent creations wait on the workspace's
/// numbering and the day's count for the time of this statement only. Binds: organisation,
/// workspace, batch, external id, display name (None: "Task <number>"), description, now,
/// status, priority, source URL, request, metadata, original key, media type, file name,
/// job stage.
const CREATE_TASK: Option<&str> = Some(concat!(
    "WITH numbered AS (
         UPDATE workspaces SET next_task_number = next_task_number + 1
         WHERE id = $2 AND org_id = $1
         RETURNING next_task_number - 1 AS task_number
     ),
     task AS (
         INSERT INTO tasks (org_id, workspace_id, batch_id, task_number, external_id,
             display_name, description, created_at, task_status, priority, source_url,
             request_json, metadata_json, original_key, original_media_type, original_file_name,
             status_changed_at)
         SELECT $1, $2, $3, task_number, $4, COALESCE($5, 'Task ' || task_number), $6, $7, $8,
             $9, $10, $11, $12, $13, $14, $15, $7
         FROM numbered
         RETURNING id
     ),
     event AS (
         INSERT INTO task_events (task_id, task_status, at) SELECT id, $8, $7 FROM task
     ),
     job AS (
         INSERT INTO jobs (task_id, org_id, stage, priority, created_at)
         SELECT id, $1, $16, $9, $7 FROM task
     )
     SELECT task.id FROM task, LATERAL (SELECT pg_notify('",
    jobs_channel!(),
    "', '')) announced"
));

/// Announces a claimable job to every listening worker process, when the transaction commits.
async fn notify_jobs(tx: &mut Transaction<'static, Db>) -> StoreResult<()> {
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(JOBS_CHANNEL)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Wakes one idle worker per announced job, until the connection fails.
async fn listen_for_jobs(pool: &Pool<Db>, idle: Arc<Notify>) -> StoreResult<()> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(JOBS_CHANNEL).await?;
    loop {
        listener.recv().await?;
        idle.notify_one();
    }
}

/// After a bulk insert (measuring at scale): statistics for the planner and the visibility map
/// for index-only scans, which autovacuum would bring only minutes later, and the per-day
/// counts compacted (the insert rewrote each of them once per task).
async fn after_bulk_load(pool: &Pool<Db>) -> StoreResult<()> {
    sqlx::query("VACUUM FULL task_counts").execute(pool).await?;
    sqlx::query("VACUUM ANALYZE tasks, task_counts")
        .execute(pool)
        .await?;
    Ok(())
}

/// Autovacuum analyzes PostgreSQL's tables as they change.
async fn refresh_statistics(_pool: &Pool<Db>) -> StoreResult<()> {
    Ok(())
}

async fn backup_into(_pool: &Pool<Db>, _path: &Path) -> StoreResult<()> {
    Err(StoreError::Unsupported(
        "a PostgreSQL database is backed up with pg_dump (see the README)",
    ))
}

/// A fresh schema of the test cluster `scripts/test.sh` starts (named in
/// `DOCKET_TEST_DATABASE_URL`) for the contract tests; None without one.
#[cfg(test)]
async fn open_for_test() -> Option<(Box<dyn std::any::Any>, SqlStore)> {
    let url = std::env::var("DOCKET_TEST_DATABASE_URL").ok()?;
    let schema = fresh_schema(&url).await;
    let options = PgConnectOptions::from_str(&url)
        .unwrap()
        .options([("search_path", &schema)]);
    Some((Box::new(schema), connect_with(options).await.unwrap()))
}

#[cfg(test)]
async fn fresh_schema(url: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let schema = format!(
        "test_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .unwrap();
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&pool)
        .await
        .unwrap();
    schema
}
