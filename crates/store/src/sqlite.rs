//! The SQLite backend (the embedded default): one database file in WAL mode, schema in
//! `migrations/sqlite`, and what SQLite's dialect needs of the shared SQL.

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Pool, QueryBuilder, Transaction};
use tokio::sync::Notify;

use super::StoreResult;

// The shared SQL, compiled for this backend (see `sql`): loading it twice is the point.
#[allow(clippy::duplicate_mod)]
#[path = "sql/mod.rs"]
mod sql;

pub(super) type Db = sqlx::Sqlite;
pub(super) use sql::SqlStore;

/// Opens (creating if needed) the database file in an existing directory and brings its schema
/// up to date. A new database file is private to docket's user (0600); SQLite gives its -wal
/// and -shm files the database file's mode.
pub(super) async fn open(path: &Path) -> anyhow::Result<SqlStore> {
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
    Ok(SqlStore::new(pool))
}

/// A write transaction that takes the write lock up front: SQLite cannot upgrade a reader to
/// a writer when another connection wrote meanwhile, so deferred transactions would fail under
/// concurrency instead of waiting. The lock is the whole database's, so a transaction's reads
/// need no row locks (`LOCK_ROWS` is empty).
async fn begin_write(pool: &Pool<Db>) -> Result<Transaction<'static, Db>, sqlx::Error> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

const LOCK_ROWS: &str = "";
/// Rows of `_table` another transaction holds are passed over: SQLite has one writer at a
/// time, so none are held.
fn skip_locked_rows(_table: &str) -> String {
    String::new()
}

/// `AND` the task's name or externalId contains `text`, case-insensitively: found on the
/// trigram index (`task_search`) when `text` has the three characters a trigram needs, else
/// by reading the names (`LIKE`, its wildcards escaped).
fn push_name_search(query: &mut QueryBuilder<'_, Db>, text: &str) {
    if text.chars().count() >= 3 {
        // One FTS5 phrase: the text's trigrams in a row, i.e. the text itself.
        let phrase = format!("\"{}\"", text.replace('"', "\"\""));
        query
            .push(" AND id IN (SELECT rowid FROM task_search WHERE task_search MATCH ")
            .push_bind(phrase)
            .push(")");
    } else {
        let pattern = crate::contains_pattern(text);
        query
            .push(" AND (display_name LIKE ")
            .push_bind(pattern.clone())
            .push(" ESCAPE '\\' OR external_id LIKE ")
            .push_bind(pattern)
            .push(" ESCAPE '\\')");
    }
}

/// `column = value`, ASCII letters folded (SmartDocumentor's SQL Server compares
/// case-insensitively); the index on the column is declared with the same collation.
fn push_text_eq_folded(query: &mut QueryBuilder<'_, Db>, column: &str, value: String) {
    query
        .push(format!(" AND {column} = "))
        .push_bind(value)
        .push(" COLLATE NOCASE");
}

/// Takes the first free job of the organisation whose turn it is. The organisations with jobs
/// are found one index seek each (SQLite has no loose index scan). Binds: worker, lease end,
/// now, pages in flight, page batch.
const CLAIM_JOB: &str = "
    WITH RECURSIVE orgs(org_id) AS (
        SELECT MIN(org_id) FROM jobs
        UNION ALL
        SELECT (SELECT MIN(org_id) FROM jobs WHERE org_id > orgs.org_id)
        FROM orgs WHERE orgs.org_id IS NOT NULL
    ),
    turn AS (
        SELECT o.org_id FROM orgs o
        WHERE o.org_id IS NOT NULL AND EXISTS (
            SELECT 1 FROM jobs w WHERE w.org_id = o.org_id
                AND (w.lease_expires_at IS NULL OR w.lease_expires_at < $3))
          AND (SELECT COALESCE(SUM(MIN(MAX(t.total_pages, 1), $5)), 0)
               FROM jobs h JOIN tasks t ON t.id = h.task_id
               WHERE h.org_id = o.org_id AND h.lease_expires_at >= $3) < $4
        ORDER BY
            (SELECT COUNT(*) FROM jobs h
             WHERE h.org_id = o.org_id AND h.lease_expires_at >= $3),
            COALESCE((SELECT last_claimed_at FROM queue_turns q WHERE q.org_id = o.org_id), 0),
            o.org_id
        LIMIT 1
    )
    UPDATE jobs SET lease_owner = $1, lease_expires_at = $2, attempts = attempts + 1
    WHERE id = (SELECT j.id FROM jobs j JOIN turn ON j.org_id = turn.org_id
                WHERE j.lease_expires_at IS NULL OR j.lease_expires_at < $3
                ORDER BY j.priority DESC, j.id LIMIT 1)
    RETURNING id, org_id, task_id, stage, attempts, kills";

/// A task is created in several statements of one write transaction (SQLite has no
/// data-modifying CTEs, and its writes are serialised anyway).
const CREATE_TASK: Option<&str> = None;

/// Jobs queued in this process wake its workers directly; others are found by polling.
async fn notify_jobs(_tx: &mut Transaction<'static, Db>) -> StoreResult<()> {
    Ok(())
}

async fn listen_for_jobs(_pool: &Pool<Db>, _idle: Arc<Notify>) -> StoreResult<()> {
    Ok(())
}

/// SQLite plans from its indexes alone; nothing to refresh after a bulk insert.
async fn after_bulk_load(pool: &Pool<Db>) -> StoreResult<()> {
    refresh_statistics(pool).await
}

/// SQLite keeps no statistics unless asked: without them it may walk a list's creation index
/// rather than seek a small set of ids. Each index is sampled, not read whole.
async fn refresh_statistics(pool: &Pool<Db>) -> StoreResult<()> {
    let mut connection = pool.acquire().await?;
    sqlx::query("PRAGMA analysis_limit = 1000")
        .execute(&mut *connection)
        .await?;
    sqlx::query("ANALYZE").execute(&mut *connection).await?;
    Ok(())
}

async fn backup_into(pool: &Pool<Db>, path: &Path) -> StoreResult<()> {
    sqlx::query("VACUUM INTO $1")
        .bind(path.to_string_lossy().into_owned())
        .execute(pool)
        .await?;
    Ok(())
}

/// A fresh database in a temporary directory, for the contract tests.
#[cfg(test)]
async fn open_for_test() -> Option<(Box<dyn std::any::Any>, SqlStore)> {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("docket.db")).await.unwrap();
    Some((Box::new(dir), store))
}

#[cfg(test)]
mod tests {
    use docket_domain::Timestamp;

    #[tokio::test]
    async fn a_new_database_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path();
        let store = super::open(&data.join("docket.db")).await.unwrap();
        super::super::Credentials::create_organization(&store, "o")
            .await
            .unwrap();
        let mode = |name: &str| {
            let path = data.join(name);
            std::fs::metadata(path).unwrap().permissions().mode() & 0o777
        };
        for file in ["docket.db", "docket.db-wal", "docket.db-shm"] {
            assert_eq!(mode(file), 0o600, "{file}");
        }
    }

    #[tokio::test]
    async fn expired_tokens_are_purged_by_index() {
        let (_dir, store) = super::open_for_test().await.unwrap();
        let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(
            "EXPLAIN QUERY PLAN SELECT token_hash FROM access_tokens
             WHERE expires_at <= $1 LIMIT 100",
        )
        .bind(Timestamp::now().millis())
        .fetch_all(&store.pool)
        .await
        .unwrap();
        assert!(plan[0].3.contains("access_tokens_expires"), "{plan:?}");
    }
}
