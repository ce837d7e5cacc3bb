//! The job queue beside the tasks: one row per task with pending pipeline work, claimed by
//! workers under an expiring lease. Every write a worker makes checks it still holds the lease,
//! so a worker that lost its job (lease expired, task reprocessed) cannot overwrite newer state.

use sqlx::{Sqlite, Transaction};

use super::{record_status, Store, StoreError, StoreResult, StoredFile};
use crate::domain::{TaskStatus, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStage {
    PreProcess,
    Recognize,
}

impl JobStage {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStage::PreProcess => "preprocess",
            JobStage::Recognize => "recognize",
        }
    }

    fn parse(value: &str) -> Option<Self> {
        match value {
            "preprocess" => Some(JobStage::PreProcess),
            "recognize" => Some(JobStage::Recognize),
            _ => None,
        }
    }
}

/// Limits a claim keeps to.
#[derive(Debug, Clone, Copy)]
pub struct QueueLimits {
    /// An organisation with this many pages in hand gets no more jobs until some finish.
    pub pages_in_flight: i64,
    /// Pages a worker reads of a document per turn: what a held job counts for at most.
    pub page_batch: i64,
}

impl Default for QueueLimits {
    fn default() -> Self {
        QueueLimits {
            pages_in_flight: i64::MAX,
            page_batch: i64::MAX,
        }
    }
}

/// Pending jobs of one organisation whose tasks are in one status, for the queue-depth gauge.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QueueDepth {
    pub org_id: i64,
    pub task_status: i64,
    /// Held by a worker under a live lease, or waiting for one.
    pub leased: bool,
    pub jobs: i64,
}

#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub id: i64,
    pub task_id: i64,
    pub stage: JobStage,
    /// How many times this job has been claimed and not given back, this time included.
    pub attempts: i64,
    /// How many times its document reader was killed before this claim.
    pub kills: i64,
    pub worker: String,
}

pub(super) async fn insert_job(
    tx: &mut Transaction<'static, Sqlite>,
    task_id: i64,
    stage: JobStage,
    priority: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO jobs (task_id, org_id, stage, priority, created_at)
         SELECT id, org_id, ?, ?, ? FROM tasks WHERE id = ?",
    )
    .bind(stage.as_str())
    .bind(priority)
    .bind(Timestamp::now().millis())
    .bind(task_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Pending jobs by organisation, task status and whether a worker holds them.
    pub async fn queue_depth(&self) -> StoreResult<Vec<QueueDepth>> {
        Ok(sqlx::query_as(
            "SELECT t.org_id, t.task_status,
                    COALESCE(j.lease_expires_at > ?, 0) AS leased, COUNT(*) AS jobs
             FROM jobs j JOIN tasks t ON t.id = j.task_id
             GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        )
        .bind(Timestamp::now().millis())
        .fetch_all(&self.pool)
        .await?)
    }

    /// Takes a job nobody holds (or whose holder's lease ran out), sharing workers across
    /// organisations: the organisation with the fewest jobs in hand goes first, then the one
    /// served longest ago; within it, the most urgent job, then the oldest. One organisation's
    /// thousand queued tasks do not make another's one task wait behind them. An organisation
    /// already holding `limits.pages_in_flight` pages waits (a held job counts its document's
    /// pages, at most a batch, and at least one).
    pub async fn claim_job(
        &self,
        worker: &str,
        lease_seconds: i64,
        limits: QueueLimits,
    ) -> StoreResult<Option<ClaimedJob>> {
        let now = Timestamp::now();
        let mut tx = self.write().await?;
        // The organisations with jobs, one index seek each (SQLite has no loose index scan).
        let row: Option<(i64, i64, i64, String, i64, i64)> = sqlx::query_as(
            "WITH RECURSIVE orgs(org_id) AS (
                 SELECT MIN(org_id) FROM jobs
                 UNION ALL
                 SELECT (SELECT MIN(org_id) FROM jobs WHERE org_id > orgs.org_id)
                 FROM orgs WHERE orgs.org_id IS NOT NULL
             ),
             turn AS (
                 SELECT o.org_id FROM orgs o
                 WHERE o.org_id IS NOT NULL AND EXISTS (
                     SELECT 1 FROM jobs w WHERE w.org_id = o.org_id
                         AND (w.lease_expires_at IS NULL OR w.lease_expires_at < ?3))
                   AND (SELECT COALESCE(SUM(MIN(MAX(t.total_pages, 1), ?5)), 0)
                        FROM jobs h JOIN tasks t ON t.id = h.task_id
                        WHERE h.org_id = o.org_id AND h.lease_expires_at >= ?3) < ?4
                 ORDER BY
                     (SELECT COUNT(*) FROM jobs h
                      WHERE h.org_id = o.org_id AND h.lease_expires_at >= ?3),
                     COALESCE((SELECT last_claimed_at FROM queue_turns q
                               WHERE q.org_id = o.org_id), 0),
                     o.org_id
                 LIMIT 1
             )
             UPDATE jobs SET lease_owner = ?1, lease_expires_at = ?2, attempts = attempts + 1
             WHERE id = (SELECT j.id FROM jobs j JOIN turn ON j.org_id = turn.org_id
                         WHERE j.lease_expires_at IS NULL OR j.lease_expires_at < ?3
                         ORDER BY j.priority DESC, j.id LIMIT 1)
             RETURNING id, org_id, task_id, stage, attempts, kills",
        )
        .bind(worker)
        .bind(now.plus_seconds(lease_seconds).millis())
        .bind(now.millis())
        .bind(limits.pages_in_flight)
        .bind(limits.page_batch)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((id, org_id, task_id, stage, attempts, kills)) = row else {
            return Ok(None);
        };
        sqlx::query(
            "INSERT INTO queue_turns (org_id, last_claimed_at) VALUES (?, ?)
             ON CONFLICT (org_id) DO UPDATE SET last_claimed_at = excluded.last_claimed_at",
        )
        .bind(org_id)
        .bind(now.millis())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let stage = JobStage::parse(&stage)
            .ok_or_else(|| StoreError::Corrupt(format!("job {id}: stage {stage}")))?;
        Ok(Some(ClaimedJob {
            id,
            task_id,
            stage,
            attempts,
            kills,
            worker: worker.to_owned(),
        }))
    }

    /// Extends the lease; false when the job is no longer this worker's.
    pub async fn renew_lease(&self, job: &ClaimedJob, lease_seconds: i64) -> StoreResult<bool> {
        let result =
            sqlx::query("UPDATE jobs SET lease_expires_at = ? WHERE id = ? AND lease_owner = ?")
                .bind(Timestamp::now().plus_seconds(lease_seconds).millis())
                .bind(job.id)
                .bind(&job.worker)
                .execute(&self.pool)
                .await?;
        Ok(result.rows_affected() > 0)
    }

    /// Gives a job back on a graceful stop: released at once, and the claim not counted as an
    /// attempt (only attempts that died count).
    pub async fn release_job(&self, job: &ClaimedJob) -> StoreResult<()> {
        sqlx::query(
            "UPDATE jobs SET lease_owner = NULL, lease_expires_at = NULL,
                attempts = MAX(attempts - 1, 0)
             WHERE id = ? AND lease_owner = ?",
        )
        .bind(job.id)
        .bind(&job.worker)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Counts a killed document reader against the job and releases it for another try (the
    /// kill, not the claim, is what counts). Returns the kills so far, or None when the job is
    /// no longer this worker's.
    pub async fn record_kill(&self, job: &ClaimedJob) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar(
            "UPDATE jobs SET kills = kills + 1, lease_owner = NULL, lease_expires_at = NULL,
                attempts = MAX(attempts - 1, 0)
             WHERE id = ? AND lease_owner = ?
             RETURNING kills",
        )
        .bind(job.id)
        .bind(&job.worker)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Keeps one recognised page; false when the job is no longer this worker's.
    pub async fn save_page(
        &self,
        job: &ClaimedJob,
        page_index: u32,
        page_json: &str,
    ) -> StoreResult<bool> {
        let result = sqlx::query(
            "INSERT INTO task_pages (task_id, page_index, page_json)
             SELECT task_id, ?, ? FROM jobs WHERE id = ? AND lease_owner = ?
             ON CONFLICT (task_id, page_index) DO UPDATE SET page_json = excluded.page_json",
        )
        .bind(page_index)
        .bind(page_json)
        .bind(job.id)
        .bind(&job.worker)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() > 0)
    }

    /// The pages recognised so far, in page order.
    pub async fn saved_pages(&self, task_id: i64) -> StoreResult<Vec<(u32, String)>> {
        Ok(sqlx::query_as(
            "SELECT page_index, page_json FROM task_pages WHERE task_id = ? ORDER BY page_index",
        )
        .bind(task_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Begins a worker's write, or None when the job was taken away from it.
    async fn holding(&self, job: &ClaimedJob) -> StoreResult<Option<Held>> {
        let mut tx = self.write().await?;
        let status: Option<i64> = sqlx::query_scalar(
            "SELECT t.task_status FROM jobs j JOIN tasks t ON t.id = j.task_id
             WHERE j.id = ? AND j.lease_owner = ?",
        )
        .bind(job.id)
        .bind(&job.worker)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(code) = status else {
            return Ok(None);
        };
        let status = TaskStatus::from_code(code)
            .ok_or_else(|| StoreError::Corrupt(format!("task {}: status {code}", job.task_id)))?;
        Ok(Some(Held {
            tx,
            job_id: job.id,
            task_id: job.task_id,
            status,
        }))
    }

    /// Moves the job's task to `status`. Returns false when the job is no longer held.
    pub async fn set_job_status(&self, job: &ClaimedJob, status: TaskStatus) -> StoreResult<bool> {
        let Some(mut held) = self.holding(job).await? else {
            return Ok(false);
        };
        held.advance(status, None).await?;
        held.tx.commit().await?;
        Ok(true)
    }

    /// Ends the job with the task in a failed status and a reason a user can read.
    pub async fn fail_job(
        &self,
        job: &ClaimedJob,
        status: TaskStatus,
        reason: &str,
    ) -> StoreResult<bool> {
        let Some(mut held) = self.holding(job).await? else {
            return Ok(false);
        };
        held.advance(status, Some(reason)).await?;
        held.finish().await?;
        Ok(true)
    }

    /// Pre-processing done: keeps the original and page count, and queues recognition in the
    /// same job row (released, so any worker may take it).
    pub async fn finish_preprocessing(
        &self,
        job: &ClaimedJob,
        original: &StoredFile,
        total_pages: i64,
    ) -> StoreResult<bool> {
        let Some(mut held) = self.holding(job).await? else {
            return Ok(false);
        };
        sqlx::query(
            "UPDATE tasks SET total_pages = ?, original_key = ?, original_media_type = ?,
                original_file_name = COALESCE(original_file_name, ?)
             WHERE id = ?",
        )
        .bind(total_pages)
        .bind(&original.key)
        .bind(&original.media_type)
        .bind(&original.file_name)
        .bind(job.task_id)
        .execute(&mut *held.tx)
        .await?;
        held.advance(TaskStatus::PreProcessingSuccessful, None)
            .await?;
        held.advance(TaskStatus::QueuedForRecognition, None).await?;
        sqlx::query(
            "UPDATE jobs SET stage = ?, attempts = 0, lease_owner = NULL, lease_expires_at = NULL
             WHERE id = ?",
        )
        .bind(JobStage::Recognize.as_str())
        .bind(job.id)
        .execute(&mut *held.tx)
        .await?;
        held.tx.commit().await?;
        Ok(true)
    }

    /// Recognition done: stores the result and hands the task to review.
    pub async fn finish_recognition(
        &self,
        job: &ClaimedJob,
        pages_json: &str,
        understanding_json: &str,
    ) -> StoreResult<bool> {
        let Some(mut held) = self.holding(job).await? else {
            return Ok(false);
        };
        sqlx::query(
            "INSERT INTO task_results (task_id, pages_json, understanding_json, recognized_at)
             VALUES (?, ?, ?, ?)
             ON CONFLICT (task_id) DO UPDATE SET pages_json = excluded.pages_json,
                understanding_json = excluded.understanding_json,
                recognized_at = excluded.recognized_at",
        )
        .bind(job.task_id)
        .bind(pages_json)
        .bind(understanding_json)
        .bind(Timestamp::now().millis())
        .execute(&mut *held.tx)
        .await?;
        held.advance(TaskStatus::RecognitionSuccessful, None)
            .await?;
        held.advance(TaskStatus::ToReview, None).await?;
        held.finish().await?;
        Ok(true)
    }
}

/// Drops a task's page progress (recognition finished or failed, or the task reprocessed).
pub(super) async fn delete_pages(
    tx: &mut Transaction<'static, Sqlite>,
    task_id: i64,
) -> StoreResult<()> {
    sqlx::query("DELETE FROM task_pages WHERE task_id = ?")
        .bind(task_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A worker's open write on a job it still holds, with the task's current status.
struct Held {
    tx: Transaction<'static, Sqlite>,
    job_id: i64,
    task_id: i64,
    status: TaskStatus,
}

impl Held {
    /// Moves the task on, refusing any move the state machine does not allow.
    async fn advance(&mut self, next: TaskStatus, reason: Option<&str>) -> StoreResult<()> {
        if !self.status.can_advance_to(next) {
            return Err(StoreError::InvalidTransition {
                from: self.status,
                to: next,
            });
        }
        record_status(&mut self.tx, self.task_id, next, reason).await?;
        self.status = next;
        Ok(())
    }

    /// Deletes the job and its page progress (its task has reached a final pipeline status) and
    /// commits.
    async fn finish(mut self) -> StoreResult<()> {
        sqlx::query("DELETE FROM jobs WHERE id = ?")
            .bind(self.job_id)
            .execute(&mut *self.tx)
            .await?;
        delete_pages(&mut self.tx, self.task_id).await?;
        Ok(self.tx.commit().await?)
    }
}
