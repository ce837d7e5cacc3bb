//! The job queue beside the tasks: one row per task with pending pipeline work, claimed by
//! workers under an expiring lease. Every write a worker makes checks it still holds the lease,
//! so a worker that lost its job (lease expired, task reprocessed) cannot overwrite newer state.

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::Transaction;
use tokio::sync::Notify;

use super::{record_status, Db, SqlStore};
use crate::{
    ClaimedJob, JobStage, Jobs, QueueDepth, QueueLimits, StoreError, StoreResult, StoredFile,
};
use docket_domain::{TaskStatus, Timestamp};

/// A job's claims given back: a release does not count as an attempt.
const ATTEMPT_GIVEN_BACK: &str = "attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END";

/// Queues a task's next stage and announces it.
pub(super) async fn insert_job(
    tx: &mut Transaction<'static, Db>,
    task_id: i64,
    stage: JobStage,
    priority: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO jobs (task_id, org_id, stage, priority, created_at)
         SELECT id, org_id, $1, $2, $3 FROM tasks WHERE id = $4",
    )
    .bind(stage.as_str())
    .bind(priority)
    .bind(Timestamp::now().millis())
    .bind(task_id)
    .execute(&mut **tx)
    .await?;
    super::super::notify_jobs(tx).await
}

#[async_trait]
impl Jobs for SqlStore {
    /// Pending jobs by organisation, task status and whether a worker holds them.
    async fn queue_depth(&self) -> StoreResult<Vec<QueueDepth>> {
        let rows: Vec<(i64, i64, bool, i64)> = sqlx::query_as(
            "SELECT t.org_id, t.task_status,
                    (j.lease_expires_at IS NOT NULL AND j.lease_expires_at > $1) AS leased,
                    COUNT(*) AS jobs
             FROM jobs j JOIN tasks t ON t.id = j.task_id
             GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        )
        .bind(Timestamp::now().millis())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(org_id, task_status, leased, jobs)| QueueDepth {
                org_id,
                task_status,
                leased,
                jobs,
            })
            .collect())
    }

    /// Takes a job nobody holds (or whose holder's lease ran out), sharing workers across
    /// organisations: the organisation with the fewest jobs in hand goes first, then the one
    /// served longest ago; within it, the most urgent job, then the oldest. One organisation's
    /// thousand queued tasks do not make another's one task wait behind them. An organisation
    /// already holding `limits.pages_in_flight` pages waits (a held job counts its document's
    /// pages, at most a batch, and at least one).
    async fn claim_job(
        &self,
        worker: &str,
        lease_seconds: i64,
        limits: QueueLimits,
    ) -> StoreResult<Option<ClaimedJob>> {
        let now = Timestamp::now();
        let mut tx = self.write().await?;
        let row: Option<(i64, i64, i64, String, i64, i64)> =
            sqlx::query_as(super::super::CLAIM_JOB)
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
            "INSERT INTO queue_turns (org_id, last_claimed_at) VALUES ($1, $2)
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
    async fn renew_lease(&self, job: &ClaimedJob, lease_seconds: i64) -> StoreResult<bool> {
        let result =
            sqlx::query("UPDATE jobs SET lease_expires_at = $1 WHERE id = $2 AND lease_owner = $3")
                .bind(Timestamp::now().plus_seconds(lease_seconds).millis())
                .bind(job.id)
                .bind(&job.worker)
                .execute(&self.pool)
                .await?;
        Ok(result.rows_affected() > 0)
    }

    /// Gives a job back on a graceful stop: released at once, and the claim not counted as an
    /// attempt (only attempts that died count).
    async fn release_job(&self, job: &ClaimedJob) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let released = sqlx::query(&format!(
            "UPDATE jobs SET lease_owner = NULL, lease_expires_at = NULL, {ATTEMPT_GIVEN_BACK}
             WHERE id = $1 AND lease_owner = $2"
        ))
        .bind(job.id)
        .bind(&job.worker)
        .execute(&mut *tx)
        .await?;
        if released.rows_affected() > 0 {
            super::super::notify_jobs(&mut tx).await?;
        }
        Ok(tx.commit().await?)
    }

    /// Counts a killed document reader against the job and releases it for another try (the
    /// kill, not the claim, is what counts). Returns the kills so far, or None when the job is
    /// no longer this worker's.
    async fn record_kill(&self, job: &ClaimedJob) -> StoreResult<Option<i64>> {
        let mut tx = self.write().await?;
        let kills: Option<i64> = sqlx::query_scalar(&format!(
            "UPDATE jobs SET kills = kills + 1, lease_owner = NULL, lease_expires_at = NULL,
                {ATTEMPT_GIVEN_BACK}
             WHERE id = $1 AND lease_owner = $2
             RETURNING kills"
        ))
        .bind(job.id)
        .bind(&job.worker)
        .fetch_optional(&mut *tx)
        .await?;
        if kills.is_some() {
            super::super::notify_jobs(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(kills)
    }

    /// Keeps one recognised page; false when the job is no longer this worker's.
    async fn save_page(
        &self,
        job: &ClaimedJob,
        page_index: u32,
        page_json: &str,
    ) -> StoreResult<bool> {
        let result = sqlx::query(
            "INSERT INTO task_pages (task_id, page_index, page_json)
             SELECT task_id, $1, $2 FROM jobs WHERE id = $3 AND lease_owner = $4
             ON CONFLICT (task_id, page_index) DO UPDATE SET page_json = excluded.page_json",
        )
        .bind(i64::from(page_index))
        .bind(page_json)
        .bind(job.id)
        .bind(&job.worker)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() > 0)
    }

    /// The pages recognised so far, in page order.
    async fn saved_pages(&self, task_id: i64) -> StoreResult<Vec<(u32, String)>> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT page_index, page_json FROM task_pages WHERE task_id = $1 ORDER BY page_index",
        )
        .bind(task_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(index, json)| {
                let index = u32::try_from(index).map_err(|_| {
                    StoreError::Corrupt(format!("task {task_id}: page index {index}"))
                })?;
                Ok((index, json))
            })
            .collect()
    }

    /// Moves the job's task to `status`. Returns false when the job is no longer held.
    async fn set_job_status(&self, job: &ClaimedJob, status: TaskStatus) -> StoreResult<bool> {
        let Some(mut held) = self.holding(job).await? else {
            return Ok(false);
        };
        held.advance(status, None).await?;
        held.tx.commit().await?;
        Ok(true)
    }

    /// Ends the job with the task in a failed status and a reason a user can read.
    async fn fail_job(
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
    async fn finish_preprocessing(
        &self,
        job: &ClaimedJob,
        original: &StoredFile,
        total_pages: i64,
    ) -> StoreResult<bool> {
        let Some(mut held) = self.holding(job).await? else {
            return Ok(false);
        };
        sqlx::query(
            "UPDATE tasks SET total_pages = $1, original_key = $2, original_media_type = $3,
                original_file_name = COALESCE(original_file_name, $4)
             WHERE id = $5",
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
            "UPDATE jobs SET stage = $1, attempts = 0, lease_owner = NULL, lease_expires_at = NULL
             WHERE id = $2",
        )
        .bind(JobStage::Recognize.as_str())
        .bind(job.id)
        .execute(&mut *held.tx)
        .await?;
        super::super::notify_jobs(&mut held.tx).await?;
        held.tx.commit().await?;
        Ok(true)
    }

    /// Recognition done: stores the result and hands the task to review.
    async fn finish_recognition(
        &self,
        job: &ClaimedJob,
        pages_json: &str,
        understanding_json: &str,
        reviewed_by_rule: Option<&str>,
    ) -> StoreResult<bool> {
        let Some(mut held) = self.holding(job).await? else {
            return Ok(false);
        };
        sqlx::query(
            "INSERT INTO task_results (task_id, pages_json, understanding_json, recognized_at)
             VALUES ($1, $2, $3, $4)
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
        match reviewed_by_rule {
            Some(reason) => {
                held.advance(TaskStatus::Reviewed, Some(reason)).await?;
                super::webhooks::enqueue_export(&mut held.tx, job.task_id).await?;
            }
            None => held.advance(TaskStatus::ToReview, None).await?,
        }
        held.finish().await?;
        Ok(true)
    }

    async fn listen_for_jobs(&self, idle: Arc<Notify>) -> StoreResult<()> {
        super::super::listen_for_jobs(&self.pool, idle).await
    }
}

impl SqlStore {
    /// Begins a worker's write, or None when the job was taken away from it.
    async fn holding(&self, job: &ClaimedJob) -> StoreResult<Option<Held>> {
        let mut tx = self.write().await?;
        // Locked until the write commits, where the backend locks rows: a reprocess cannot
        // slip in between this check and the write.
        let status: Option<i64> = sqlx::query_scalar(&format!(
            "SELECT t.task_status FROM jobs j JOIN tasks t ON t.id = j.task_id
             WHERE j.id = $1 AND j.lease_owner = $2{}",
            super::super::LOCK_ROWS
        ))
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
}

/// Drops a task's page progress (recognition finished or failed, or the task reprocessed).
pub(super) async fn delete_pages(
    tx: &mut Transaction<'static, Db>,
    task_id: i64,
) -> StoreResult<()> {
    sqlx::query("DELETE FROM task_pages WHERE task_id = $1")
        .bind(task_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A worker's open write on a job it still holds, with the task's current status.
struct Held {
    tx: Transaction<'static, Db>,
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
        sqlx::query("DELETE FROM jobs WHERE id = $1")
            .bind(self.job_id)
            .execute(&mut *self.tx)
            .await?;
        delete_pages(&mut self.tx, self.task_id).await?;
        Ok(self.tx.commit().await?)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::time::Duration;

    use super::super::with_organisation;
    use super::*;
    use crate::{Catalog, NewTask, Tasks};
    use docket_domain::Priority;

    async fn queue_tasks(store: &SqlStore, org: i64, count: usize) {
        let workspace = store.workspace(org, None).await.unwrap().unwrap().id;
        for _ in 0..count {
            let new = NewTask {
                org_id: org,
                workspace_id: workspace,
                batch_id: None,
                external_id: None,
                display_name: None,
                description: None,
                priority: Priority::Low,
                source_url: Some("https://example.com/a.pdf".into()),
                request: serde_json::json!({}),
                metadata: Default::default(),
                original: None,
            };
            store.create_task(new).await.unwrap();
        }
    }

    #[tokio::test]
    async fn concurrent_claims_never_take_the_same_job() {
        let (_guard, store, org) = super::super::tests::store_or_skip!();
        queue_tasks(&store, org, 24).await;
        let store = Arc::new(store);
        let mut claimers = tokio::task::JoinSet::new();
        for n in 0..8 {
            let store = store.clone();
            claimers.spawn(async move {
                let mut taken = Vec::new();
                while let Some(job) = store
                    .claim_job(&format!("w{n}"), 60, QueueLimits::default())
                    .await
                    .unwrap()
                {
                    taken.push(job.id);
                }
                taken
            });
        }
        let mut all = Vec::new();
        while let Some(taken) = claimers.join_next().await {
            all.extend(taken.unwrap());
        }
        let distinct: HashSet<i64> = all.iter().copied().collect();
        assert_eq!(all.len(), 24, "every job claimed: {all:?}");
        assert_eq!(distinct.len(), 24, "none twice: {all:?}");
    }

    #[tokio::test]
    async fn a_job_queued_by_anyone_wakes_a_listener_where_the_database_announces_jobs() {
        let (_guard, store, org) = super::super::tests::store_or_skip!();
        let store = Arc::new(store);
        let idle = Arc::new(Notify::new());
        let listener = {
            let (store, idle) = (store.clone(), idle.clone());
            tokio::spawn(async move { store.listen_for_jobs(idle).await })
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        if listener.is_finished() {
            // This database cannot announce jobs (SQLite): it says so at once, and workers poll.
            assert!(listener.await.unwrap().is_ok());
            return;
        }
        // The listener may still be subscribing: a job queued before it listens is not
        // announced to it, one queued after is.
        let mut woken = false;
        for _ in 0..50 {
            queue_tasks(&store, org, 1).await;
            if tokio::time::timeout(Duration::from_millis(200), idle.notified())
                .await
                .is_ok()
            {
                woken = true;
                break;
            }
        }
        listener.abort();
        assert!(woken, "no announcement reached the listener");
    }
}
