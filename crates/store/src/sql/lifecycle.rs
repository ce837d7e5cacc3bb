//! The sweeper's queries, deletion and cancellation.

use async_trait::async_trait;
use sqlx::{QueryBuilder, Transaction};

use super::jobs::{delete_pages, insert_job};
use super::tasks::push_task_condition;
use super::{record_status, Db, SqlStore};
use crate::{JobStage, Lifecycle, StoreError, StoreResult, TaskRef};
use docket_domain::lifecycle::{cancelled_status, revert_target};
use docket_domain::{TaskStatus, Timestamp};

/// Tasks put back per status per sweep: a bound on one sweep's work; the next sweep goes on.
const SWEEP_BATCH: i64 = 500;

/// The task's id, status and priority, its row locked; None when not in the organisation.
async fn locked(
    tx: &mut Transaction<'static, Db>,
    org_id: i64,
    task: &TaskRef,
) -> StoreResult<Option<(i64, TaskStatus, i64)>> {
    let mut query =
        QueryBuilder::new("SELECT id, task_status, priority FROM tasks WHERE org_id = ");
    query.push_bind(org_id);
    push_task_condition(&mut query, task);
    query.push(super::super::LOCK_ROWS);
    let row: Option<(i64, i64, i64)> = query.build_query_as().fetch_optional(&mut **tx).await?;
    row.map(|(id, status, priority)| {
        TaskStatus::from_code(status)
            .map(|s| (id, s, priority))
            .ok_or_else(|| StoreError::Corrupt(format!("task {id}: status {status}")))
    })
    .transpose()
}

/// Drops everything pending or derived for the task: its job, pages, results, edits and
/// reviewers.
async fn drop_work(tx: &mut Transaction<'static, Db>, task_id: i64) -> StoreResult<()> {
    for table in ["jobs", "task_results", "field_edits", "task_reviewers"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE task_id = $1"))
            .bind(task_id)
            .execute(&mut **tx)
            .await?;
    }
    super::webhooks::drop_messages(tx, task_id).await?;
    delete_pages(tx, task_id).await
}

fn duration(seconds: i64) -> String {
    if seconds % 3600 == 0 {
        format!("{} h", seconds / 3600)
    } else {
        format!("{} min", (seconds + 59) / 60)
    }
}

#[async_trait]
impl Lifecycle for SqlStore {
    async fn revert_stuck(
        &self,
        now: Timestamp,
        stuck_after: &[(TaskStatus, i64)],
    ) -> StoreResult<Vec<(i64, TaskStatus, TaskStatus)>> {
        let mut reverted = Vec::new();
        for &(status, seconds) in stuck_after {
            let Some(target) = revert_target(status) else {
                continue;
            };
            let before = now.plus_seconds(-seconds).millis();
            // Nothing works on it: no pipeline job, and no live review checkout.
            let candidates: Vec<(i64, i64)> = sqlx::query_as(
                "SELECT t.id, t.priority FROM tasks t
                 WHERE t.task_status = $1 AND t.status_changed_at < $2
                   AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.task_id = t.id)
                   AND NOT EXISTS (SELECT 1 FROM webhook_messages m
                                   WHERE m.task_id = t.id AND m.state = 'pending')
                   AND (t.checkout_until IS NULL OR t.checkout_until < $3)
                 ORDER BY t.status_changed_at LIMIT $4",
            )
            .bind(status.code())
            .bind(before)
            .bind(now.millis())
            .bind(SWEEP_BATCH)
            .fetch_all(&self.pool)
            .await?;
            for (id, priority) in candidates {
                let mut tx = self.write().await?;
                // Another process may have moved it meanwhile: only an unchanged task goes back.
                let still: Option<i64> = sqlx::query_scalar(&format!(
                    "SELECT id FROM tasks WHERE id = $1 AND task_status = $2
                       AND status_changed_at < $3
                       AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.task_id = $1)
                       AND NOT EXISTS (SELECT 1 FROM webhook_messages m
                                       WHERE m.task_id = $1 AND m.state = 'pending'){}",
                    super::super::LOCK_ROWS
                ))
                .bind(id)
                .bind(status.code())
                .bind(before)
                .fetch_optional(&mut *tx)
                .await?;
                if still.is_none() {
                    continue;
                }
                let flag = format!(
                    "put back from {} ({}) after more than {} without progress",
                    status.name(),
                    status.code(),
                    duration(seconds)
                );
                record_status(&mut tx, id, target, Some(&flag)).await?;
                sqlx::query("UPDATE tasks SET flag = $1 WHERE id = $2")
                    .bind(&flag)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                let stage = match target {
                    TaskStatus::QueuedForPreProcessing => Some(JobStage::PreProcess),
                    TaskStatus::QueuedForRecognition => Some(JobStage::Recognize),
                    _ => None,
                };
                if let Some(stage) = stage {
                    insert_job(&mut tx, id, stage, priority).await?;
                }
                tx.commit().await?;
                reverted.push((id, status, target));
            }
        }
        Ok(reverted)
    }

    async fn move_to_history(&self, now: Timestamp, days: i64) -> StoreResult<u64> {
        let before = now.plus_seconds(-days * 24 * 3600).millis();
        let mut tx = self.write().await?;
        let moved = sqlx::query(
            "UPDATE tasks SET archived_at = $1
             WHERE task_status IN ($2, $3) AND status_changed_at < $4 AND archived_at IS NULL",
        )
        .bind(now.millis())
        .bind(TaskStatus::Processed.code())
        .bind(TaskStatus::ExportCompleted.code())
        .bind(before)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(moved.rows_affected())
    }

    async fn delete_task(&self, org_id: i64, task: &TaskRef) -> StoreResult<bool> {
        let mut tx = self.write().await?;
        let Some((id, status, _)) = locked(&mut tx, org_id, task).await? else {
            return Ok(false);
        };
        if matches!(status, TaskStatus::Deleting | TaskStatus::Deleted) {
            return Ok(true);
        }
        record_status(
            &mut tx,
            id,
            TaskStatus::Deleting,
            Some("deletion requested"),
        )
        .await?;
        drop_work(&mut tx, id).await?;
        record_status(&mut tx, id, TaskStatus::Deleted, None).await?;
        // "Deleted and moved to history", as the docs say.
        sqlx::query("UPDATE tasks SET archived_at = COALESCE(archived_at, $1) WHERE id = $2")
            .bind(Timestamp::now().millis())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn cancel_task(&self, org_id: i64, task: &TaskRef) -> StoreResult<bool> {
        let mut tx = self.write().await?;
        let Some((id, status, _)) = locked(&mut tx, org_id, task).await? else {
            return Ok(false);
        };
        let Some(failed) = cancelled_status(status) else {
            return Err(StoreError::NotReviewable(
                status,
                "only a queued or running task can be cancelled",
            ));
        };
        // A worker holding the job loses it here and drops what it was doing.
        sqlx::query("DELETE FROM jobs WHERE task_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        delete_pages(&mut tx, id).await?;
        record_status(&mut tx, id, failed, Some("cancelled")).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn release_deleted_files(&self, now: Timestamp, days: i64) -> StoreResult<Vec<String>> {
        let before = now.plus_seconds(-days * 24 * 3600).millis();
        let mut tx = self.write().await?;
        let rows: Vec<(i64, String)> = sqlx::query_as(&format!(
            "SELECT id, original_key FROM tasks
             WHERE task_status = $1 AND status_changed_at < $2 AND original_key IS NOT NULL
             LIMIT $3{}",
            super::super::LOCK_ROWS
        ))
        .bind(TaskStatus::Deleted.code())
        .bind(before)
        .bind(SWEEP_BATCH)
        .fetch_all(&mut *tx)
        .await?;
        let mut unused = Vec::new();
        for (id, key) in rows {
            sqlx::query("UPDATE tasks SET original_key = NULL WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            // Files are shared by content: another task may hold the same one.
            let shared: Option<i64> =
                sqlx::query_scalar("SELECT id FROM tasks WHERE original_key = $1 LIMIT 1")
                    .bind(&key)
                    .fetch_optional(&mut *tx)
                    .await?;
            if shared.is_none() && !unused.contains(&key) {
                unused.push(key);
            }
        }
        tx.commit().await?;
        Ok(unused)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{leave_in, new_task, with_organisation};
    use super::*;
    use crate::{Jobs, Reviewer, Reviews, Tasks};

    async fn flag(store: &SqlStore, task: i64) -> Option<String> {
        store.task_by_id(task).await.unwrap().unwrap().summary.flag
    }

    async fn status(store: &SqlStore, task: i64) -> TaskStatus {
        store
            .task_by_id(task)
            .await
            .unwrap()
            .unwrap()
            .summary
            .task_status
    }

    #[tokio::test]
    async fn stuck_tasks_go_back_flagged_and_working_ones_stay() {
        let (_guard, store, org) = super::super::tests::store_or_skip!();
        let policy = docket_domain::lifecycle::LifecyclePolicy::default();
        let lost = new_task(&store, org, None).await;
        leave_in(&store, lost, TaskStatus::RecognitionInProgress).await;
        let queued = new_task(&store, org, None).await; // has its job
        let reviewing = new_task(&store, org, None).await;
        leave_in(&store, reviewing, TaskStatus::ToReview).await;
        let until = Timestamp::now().plus_seconds(3 * 3600);
        store
            .check_out(org, reviewing, &Reviewer::Client, until)
            .await
            .unwrap();

        let soon = Timestamp::now().plus_seconds(600);
        assert!(store
            .revert_stuck(soon, &policy.stuck_after)
            .await
            .unwrap()
            .is_empty());
        let later = Timestamp::now().plus_seconds(2 * 3600);
        let reverted = store
            .revert_stuck(later, &policy.stuck_after)
            .await
            .unwrap();
        assert_eq!(
            reverted,
            [(
                lost,
                TaskStatus::RecognitionInProgress,
                TaskStatus::QueuedForRecognition
            )]
        );
        let flag_of_lost = flag(&store, lost).await.unwrap();
        assert!(
            flag_of_lost.contains("RecognitionInProgress (41) after more than 1 h"),
            "{flag_of_lost}"
        );
        assert_eq!(flag(&store, queued).await, None);
        assert_eq!(
            status(&store, reviewing).await,
            TaskStatus::InReview,
            "held"
        );
        let job = store
            .claim_job("w", 60, Default::default())
            .await
            .unwrap()
            .unwrap();
        assert!(
            [lost, queued].contains(&job.task_id),
            "the lost task has its job again"
        );

        let after_checkout = Timestamp::now().plus_seconds(5 * 3600);
        let reverted = store
            .revert_stuck(after_checkout, &policy.stuck_after)
            .await
            .unwrap();
        assert!(reverted.contains(&(reviewing, TaskStatus::InReview, TaskStatus::ToReview)));
    }

    #[tokio::test]
    async fn deleted_tasks_lose_their_work_at_once_and_their_file_after_retention() {
        let (_guard, store, org) = super::super::tests::store_or_skip!();
        let gone = new_task(&store, org, Some("k1")).await;
        let twin = new_task(&store, org, Some("k2")).await;
        let kept = new_task(&store, org, Some("k2")).await;
        for task in [gone, twin] {
            assert!(store.delete_task(org, &TaskRef::Id(task)).await.unwrap());
        }
        let other = crate::Credentials::create_organization(&store, "o2")
            .await
            .unwrap();
        let theirs = other.organization.id;
        assert!(!store.delete_task(theirs, &TaskRef::Id(kept)).await.unwrap());
        let statuses: Vec<TaskStatus> = store
            .task_events(gone)
            .await
            .unwrap()
            .iter()
            .map(|e| e.task_status)
            .collect();
        assert_eq!(
            statuses[statuses.len() - 2..],
            [TaskStatus::Deleting, TaskStatus::Deleted]
        );
        assert!(
            store
                .claim_job("w", 60, Default::default())
                .await
                .unwrap()
                .unwrap()
                .task_id
                == kept
        );
        let now = Timestamp::now();
        assert!(store
            .release_deleted_files(now, 30)
            .await
            .unwrap()
            .is_empty());
        let later = now.plus_seconds(31 * 24 * 3600);
        assert_eq!(
            store.release_deleted_files(later, 30).await.unwrap(),
            ["k1"]
        );
        assert!(store
            .release_deleted_files(later, 30)
            .await
            .unwrap()
            .is_empty());
    }

    #[tokio::test]
    async fn only_queued_or_running_tasks_are_cancelled_and_old_finished_ones_archived() {
        let (_guard, store, org) = super::super::tests::store_or_skip!();
        let queued = new_task(&store, org, None).await;
        assert!(store.cancel_task(org, &TaskRef::Id(queued)).await.unwrap());
        assert_eq!(
            status(&store, queued).await,
            TaskStatus::PreProcessingFailed
        );
        let events = store.task_events(queued).await.unwrap();
        assert_eq!(events.last().unwrap().reason.as_deref(), Some("cancelled"));
        assert!(store
            .claim_job("w", 60, Default::default())
            .await
            .unwrap()
            .is_none());
        let err = store
            .cancel_task(org, &TaskRef::Id(queued))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::NotReviewable(..)), "{err}");

        let done = new_task(&store, org, None).await;
        leave_in(&store, done, TaskStatus::Processed).await;
        assert_eq!(
            store.move_to_history(Timestamp::now(), 31).await.unwrap(),
            0
        );
        let later = Timestamp::now().plus_seconds(32 * 24 * 3600);
        assert_eq!(store.move_to_history(later, 31).await.unwrap(), 1);
        assert_eq!(store.move_to_history(later, 31).await.unwrap(), 0);
    }
}
