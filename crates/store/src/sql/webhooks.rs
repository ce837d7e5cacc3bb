//! Webhooks and the outbox: settings per workspace, messages written with the review, their
//! claims, attempts and outcomes.

use async_trait::async_trait;
use sqlx::Transaction;

use super::{record_status, Db, SqlStore};
use crate::{StoreError, StoreResult, Webhooks};
use docket_domain::webhook::{
    new_message_id, Delivery, DeliveryAttempt, MessageState, NextStep, OutboundMessage,
    RetrySchedule, WebhookBody, WebhookSecret, WebhookSettings,
};
use docket_domain::{IntegrationStatus, TaskStatus, Timestamp};

type WebhookRow = (
    String,
    Option<i64>,
    String,
    i64,
    String,
    i64,
    Option<String>,
);

const WEBHOOK_COLUMNS: &str =
    "url, file_link_hours, secret, enabled, schedule, timeout_seconds, disabled_reason";

fn webhook_from(workspace_id: i64, row: WebhookRow) -> StoreResult<WebhookSettings> {
    let (url, link_hours, secret, enabled, schedule, timeout_seconds, disabled_reason) = row;
    let corrupt = |what: &str| StoreError::Corrupt(format!("webhook of {workspace_id}: {what}"));
    let body = match link_hours {
        None => WebhookBody::ExportData,
        Some(hours) => WebhookBody::FileUrl {
            link_hours: u32::try_from(hours).map_err(|_| corrupt("file_link_hours"))?,
        },
    };
    Ok(WebhookSettings {
        url,
        body,
        secret: WebhookSecret::parse(&secret).map_err(|_| corrupt("secret"))?,
        enabled: enabled != 0,
        schedule: RetrySchedule::parse(&schedule).map_err(|_| corrupt("schedule"))?,
        timeout_seconds: u32::try_from(timeout_seconds).map_err(|_| corrupt("timeout"))?,
        disabled_reason,
    })
}

/// Writes the message of a task just reviewed, when its workspace has an enabled webhook: in
/// the review's own transaction, so a review is never without its message. The task's
/// integration is then Queued.
pub(super) async fn enqueue_export(
    tx: &mut Transaction<'static, Db>,
    task_id: i64,
) -> StoreResult<()> {
    let now = Timestamp::now().millis();
    let queued = sqlx::query(
        "INSERT INTO webhook_messages (id, task_id, workspace_id, created_at, state, attempts,
             next_attempt_at)
         SELECT $1, t.id, t.workspace_id, $2, 'pending', 0, $2
         FROM tasks t JOIN webhooks w ON w.workspace_id = t.workspace_id
         WHERE t.id = $3 AND w.enabled = 1",
    )
    .bind(new_message_id())
    .bind(now)
    .bind(task_id)
    .execute(&mut **tx)
    .await?;
    if queued.rows_affected() > 0 {
        sqlx::query("UPDATE tasks SET integration_status = $1 WHERE id = $2")
            .bind(IntegrationStatus::Queued.code())
            .bind(task_id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Drops the task's messages and their attempts (the task is reprocessed or deleted).
pub(super) async fn drop_messages(
    tx: &mut Transaction<'static, Db>,
    task_id: i64,
) -> StoreResult<()> {
    sqlx::query(
        "DELETE FROM webhook_attempts
         WHERE message_id IN (SELECT id FROM webhook_messages WHERE task_id = $1)",
    )
    .bind(task_id)
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM webhook_messages WHERE task_id = $1")
        .bind(task_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn task_status(tx: &mut Transaction<'static, Db>, task_id: i64) -> StoreResult<TaskStatus> {
    let code: i64 = sqlx::query_scalar("SELECT task_status FROM tasks WHERE id = $1")
        .bind(task_id)
        .fetch_one(&mut **tx)
        .await?;
    TaskStatus::from_code(code)
        .ok_or_else(|| StoreError::Corrupt(format!("task {task_id}: status {code}")))
}

/// The task's integration after its message's last attempt.
async fn integrate(
    tx: &mut Transaction<'static, Db>,
    task_id: i64,
    integration: IntegrationStatus,
    at: Option<i64>,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE tasks SET integration_status = $1,
             last_integrated_at = COALESCE($2, last_integrated_at)
         WHERE id = $3",
    )
    .bind(integration.code())
    .bind(at)
    .bind(task_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[async_trait]
impl Webhooks for SqlStore {
    async fn webhook(
        &self,
        org_id: i64,
        workspace_id: i64,
    ) -> StoreResult<Option<WebhookSettings>> {
        let row: Option<WebhookRow> = sqlx::query_as(&format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks w JOIN workspaces s ON s.id = w.workspace_id
             WHERE w.workspace_id = $1 AND s.org_id = $2"
        ))
        .bind(workspace_id)
        .bind(org_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| webhook_from(workspace_id, row)).transpose()
    }

    async fn set_webhook(
        &self,
        org_id: i64,
        workspace_id: i64,
        webhook: Option<&WebhookSettings>,
    ) -> StoreResult<bool> {
        let mut tx = self.write().await?;
        let ours: Option<i64> =
            sqlx::query_scalar("SELECT id FROM workspaces WHERE id = $1 AND org_id = $2")
                .bind(workspace_id)
                .bind(org_id)
                .fetch_optional(&mut *tx)
                .await?;
        if ours.is_none() {
            return Ok(false);
        }
        sqlx::query("DELETE FROM webhooks WHERE workspace_id = $1")
            .bind(workspace_id)
            .execute(&mut *tx)
            .await?;
        if let Some(w) = webhook {
            sqlx::query(&format!(
                "INSERT INTO webhooks (workspace_id, {WEBHOOK_COLUMNS})
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            ))
            .bind(workspace_id)
            .bind(&w.url)
            .bind(match w.body {
                WebhookBody::ExportData => None,
                WebhookBody::FileUrl { link_hours } => Some(i64::from(link_hours)),
            })
            .bind(w.secret.to_text())
            .bind(i64::from(w.enabled))
            .bind(w.schedule.to_string())
            .bind(i64::from(w.timeout_seconds))
            .bind(&w.disabled_reason)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn claim_message(
        &self,
        now: Timestamp,
        margin_seconds: i64,
    ) -> StoreResult<Option<OutboundMessage>> {
        let mut tx = self.write().await?;
        let claimed: Option<(String, i64, i64, i64)> = sqlx::query_as(&format!(
            "UPDATE webhook_messages SET attempts = attempts + 1,
                 lease_until = $2 + 1000 * ($1 + (SELECT w.timeout_seconds FROM webhooks w
                     WHERE w.workspace_id = webhook_messages.workspace_id))
             WHERE id = (
                 SELECT m.id FROM webhook_messages m
                 JOIN webhooks w ON w.workspace_id = m.workspace_id AND w.enabled = 1
                 WHERE m.state = 'pending' AND m.next_attempt_at <= $2
                   AND (m.lease_until IS NULL OR m.lease_until < $2)
                 ORDER BY m.next_attempt_at LIMIT 1{}
             )
             RETURNING id, task_id, workspace_id, attempts",
            super::super::skip_locked_rows("m")
        ))
        .bind(margin_seconds)
        .bind(now.millis())
        .fetch_optional(&mut *tx)
        .await?;
        let Some((id, task_id, workspace_id, attempts)) = claimed else {
            return Ok(None);
        };
        let org_id: i64 = sqlx::query_scalar("SELECT org_id FROM tasks WHERE id = $1")
            .bind(task_id)
            .fetch_one(&mut *tx)
            .await?;
        let row: WebhookRow = sqlx::query_as(&format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE workspace_id = $1"
        ))
        .bind(workspace_id)
        .fetch_one(&mut *tx)
        .await?;
        let webhook = webhook_from(workspace_id, row)?;
        if task_status(&mut tx, task_id).await? == TaskStatus::Reviewed {
            record_status(&mut tx, task_id, TaskStatus::Exporting, None).await?;
        }
        tx.commit().await?;
        Ok(Some(OutboundMessage {
            id,
            task_id,
            org_id,
            workspace_id,
            attempt: u32::try_from(attempts).unwrap_or(u32::MAX),
            webhook,
        }))
    }

    async fn finish_attempt(
        &self,
        message: &OutboundMessage,
        attempt: &DeliveryAttempt,
        next: &NextStep,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let held: Option<String> = sqlx::query_scalar(&format!(
            "SELECT id FROM webhook_messages WHERE id = $1 AND state = 'pending'{}",
            super::super::LOCK_ROWS
        ))
        .bind(&message.id)
        .fetch_optional(&mut *tx)
        .await?;
        if held.is_none() {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO webhook_attempts (message_id, attempt, started_at, status_code,
                 latency_ms, response)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&message.id)
        .bind(i64::from(attempt.attempt))
        .bind(attempt.started_at.millis())
        .bind(attempt.status_code.map(i64::from))
        .bind(attempt.latency_ms)
        .bind(&attempt.response)
        .execute(&mut *tx)
        .await?;
        let now = Timestamp::now().millis();
        let exporting = matches!(
            task_status(&mut tx, message.task_id).await?,
            TaskStatus::Reviewed | TaskStatus::Exporting
        );
        let (state, next_at) = match next {
            NextStep::RetryAt(at) => (MessageState::Pending, Some(at.millis())),
            NextStep::Delivered => (MessageState::Delivered, None),
            NextStep::GiveUp(_) | NextStep::EndpointGone(_) => (MessageState::Failed, None),
        };
        let finished = (state != MessageState::Pending).then_some(now);
        sqlx::query(
            "UPDATE webhook_messages SET state = $1, lease_until = NULL,
                 next_attempt_at = COALESCE($2, next_attempt_at), finished_at = $3
             WHERE id = $4",
        )
        .bind(state.as_str())
        .bind(next_at)
        .bind(finished)
        .bind(&message.id)
        .execute(&mut *tx)
        .await?;
        let task = message.task_id;
        match next {
            NextStep::RetryAt(_) => {}
            NextStep::Delivered => {
                if exporting {
                    record_status(&mut tx, task, TaskStatus::ExportCompleted, None).await?;
                    record_status(&mut tx, task, TaskStatus::Processed, None).await?;
                }
                integrate(&mut tx, task, IntegrationStatus::Successful, Some(now)).await?;
            }
            NextStep::GiveUp(why) | NextStep::EndpointGone(why) => {
                if let NextStep::EndpointGone(_) = next {
                    sqlx::query(
                        "UPDATE webhooks SET enabled = 0, disabled_reason = $1
                         WHERE workspace_id = $2",
                    )
                    .bind(why)
                    .bind(message.workspace_id)
                    .execute(&mut *tx)
                    .await?;
                }
                if exporting {
                    record_status(&mut tx, task, TaskStatus::ExportFailed, Some(why)).await?;
                    record_status(&mut tx, task, TaskStatus::ToReview, Some(why)).await?;
                }
                integrate(&mut tx, task, IntegrationStatus::Failed, None).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn deliveries(&self, task_id: i64) -> StoreResult<Vec<Delivery>> {
        let messages: Vec<(String, i64, String, i64)> = sqlx::query_as(
            "SELECT id, created_at, state, next_attempt_at FROM webhook_messages
             WHERE task_id = $1 ORDER BY created_at DESC, id",
        )
        .bind(task_id)
        .fetch_all(&self.pool)
        .await?;
        let mut deliveries = Vec::with_capacity(messages.len());
        for (id, created_at, state, next_attempt_at) in messages {
            let state = MessageState::parse(&state)
                .ok_or_else(|| StoreError::Corrupt(format!("message {id}: state {state}")))?;
            let attempts: Vec<(i64, i64, Option<i64>, i64, String)> = sqlx::query_as(
                "SELECT attempt, started_at, status_code, latency_ms, response
                 FROM webhook_attempts WHERE message_id = $1 ORDER BY id",
            )
            .bind(&id)
            .fetch_all(&self.pool)
            .await?;
            let attempts = attempts
                .into_iter()
                .map(
                    |(attempt, started_at, status_code, latency_ms, response)| DeliveryAttempt {
                        attempt: u32::try_from(attempt).unwrap_or(u32::MAX),
                        started_at: Timestamp::from_millis(started_at),
                        status_code: status_code.and_then(|c| u16::try_from(c).ok()),
                        latency_ms,
                        response,
                    },
                )
                .collect();
            deliveries.push(Delivery {
                message_id: id,
                created_at: Timestamp::from_millis(created_at),
                state,
                next_attempt_at: (state == MessageState::Pending)
                    .then(|| Timestamp::from_millis(next_attempt_at)),
                attempts,
            });
        }
        Ok(deliveries)
    }

    async fn redeliver(&self, task_id: i64, now: Timestamp) -> StoreResult<Option<String>> {
        let mut tx = self.write().await?;
        let newest: Option<String> = sqlx::query_scalar(&format!(
            "SELECT id FROM webhook_messages WHERE task_id = $1
             ORDER BY created_at DESC, id LIMIT 1{}",
            super::super::LOCK_ROWS
        ))
        .bind(task_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(id) = newest else {
            return Ok(None);
        };
        sqlx::query(
            "UPDATE webhook_messages SET state = 'pending', attempts = 0, next_attempt_at = $1,
                 lease_until = NULL, finished_at = NULL
             WHERE id = $2",
        )
        .bind(now.millis())
        .bind(&id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE tasks SET integration_status = $1 WHERE id = $2")
            .bind(IntegrationStatus::Queued.code())
            .bind(task_id)
            .execute(&mut *tx)
            .await?;
        // A task its export sent back to review is reviewed as it was, and goes out again.
        if task_status(&mut tx, task_id).await? == TaskStatus::ToReview {
            record_status(&mut tx, task_id, TaskStatus::Reviewed, Some("redelivered")).await?;
        }
        tx.commit().await?;
        Ok(Some(id))
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::store_or_skip;
    use super::super::{leave_in, new_task, with_organisation};
    use super::*;
    use crate::{Catalog, Lifecycle, Reviewer, Reviews, Tasks};

    /// A task of the organisation's default workspace, reviewed by its API client.
    async fn reviewed(store: &SqlStore, org: i64) -> i64 {
        let task = new_task(store, org, None).await;
        leave_in(store, task, TaskStatus::ToReview).await;
        let until = Timestamp::now().plus_seconds(600);
        store
            .check_out(org, task, &Reviewer::Client, until)
            .await
            .unwrap();
        store
            .complete_review(org, task, &Reviewer::Client)
            .await
            .unwrap();
        task
    }

    async fn workspace(store: &SqlStore, org: i64) -> i64 {
        store.workspace(org, None).await.unwrap().unwrap().id
    }

    fn attempt(number: u32, status: Option<u16>) -> DeliveryAttempt {
        DeliveryAttempt {
            attempt: number,
            started_at: Timestamp::now(),
            status_code: status,
            latency_ms: 3,
            response: "ok".into(),
        }
    }

    async fn summary(store: &SqlStore, task: i64) -> (TaskStatus, IntegrationStatus) {
        let task = store.task_by_id(task).await.unwrap().unwrap();
        (task.summary.task_status, task.summary.integration_status)
    }

    #[tokio::test]
    async fn a_review_queues_one_message_that_is_claimed_once_and_delivered() {
        let (_guard, store, org) = store_or_skip!();
        let unsent = reviewed(&store, org).await;
        assert_eq!(
            summary(&store, unsent).await,
            (TaskStatus::Reviewed, IntegrationStatus::Never),
            "no webhook, no message"
        );
        let workspace = workspace(&store, org).await;
        let webhook = WebhookSettings::new("https://example.com/hook".into());
        assert!(store
            .set_webhook(org, workspace, Some(&webhook))
            .await
            .unwrap());
        assert!(!store
            .set_webhook(org + 1, workspace, Some(&webhook))
            .await
            .unwrap());
        assert_eq!(
            store.webhook(org, workspace).await.unwrap(),
            Some(webhook.clone())
        );

        let task = reviewed(&store, org).await;
        assert_eq!(summary(&store, task).await.1, IntegrationStatus::Queued);
        let now = Timestamp::now();
        let lease = 60;
        let first = store.claim_message(now, lease).await.unwrap().unwrap();
        assert_eq!((first.task_id, first.attempt, first.org_id), (task, 1, org));
        assert_eq!(first.webhook, webhook);
        assert_eq!(summary(&store, task).await.0, TaskStatus::Exporting);
        let hours_later = now.plus_seconds(7200);
        let stuck_after = [(TaskStatus::Exporting, 3600)];
        let reverted = store.revert_stuck(hours_later, &stuck_after).await.unwrap();
        assert!(
            reverted.is_empty(),
            "a task whose message waits is not stuck"
        );
        assert!(
            store.claim_message(now, lease).await.unwrap().is_none(),
            "one attempt in flight"
        );
        let retry = NextStep::RetryAt(now);
        store
            .finish_attempt(&first, &attempt(1, Some(500)), &retry)
            .await
            .unwrap();
        let later = now.plus_seconds(1);
        let second = store.claim_message(later, lease).await.unwrap().unwrap();
        assert_eq!((second.id.as_str(), second.attempt), (first.id.as_str(), 2));
        store
            .finish_attempt(&second, &attempt(2, Some(204)), &NextStep::Delivered)
            .await
            .unwrap();
        assert_eq!(
            summary(&store, task).await,
            (TaskStatus::Processed, IntegrationStatus::Successful)
        );
        let integrated = store
            .task_by_id(task)
            .await
            .unwrap()
            .unwrap()
            .last_integrated_at;
        assert!(integrated.is_some());
        let log = store.deliveries(task).await.unwrap();
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].state, MessageState::Delivered);
        let codes: Vec<Option<u16>> = log[0].attempts.iter().map(|a| a.status_code).collect();
        assert_eq!(codes, [Some(500), Some(204)]);
        // Sent again on request: the same message, from its first attempt.
        let again = store.redeliver(task, later).await.unwrap();
        assert_eq!(again.as_deref(), Some(first.id.as_str()));
        let third = store.claim_message(later, lease).await.unwrap().unwrap();
        assert_eq!((third.id, third.attempt), (first.id, 1));
        assert_eq!(store.redeliver(unsent, later).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_message_given_up_sends_its_task_back_and_410_turns_the_webhook_off() {
        let (_guard, store, org) = store_or_skip!();
        let workspace = workspace(&store, org).await;
        let webhook = WebhookSettings::new("https://example.com/hook".into());
        store
            .set_webhook(org, workspace, Some(&webhook))
            .await
            .unwrap();
        let (failed, gone) = (reviewed(&store, org).await, reviewed(&store, org).await);
        let now = Timestamp::now();
        let lease = 60;
        let message = store.claim_message(now, lease).await.unwrap().unwrap();
        assert_eq!(message.task_id, failed);
        let why = "the endpoint answered 500: no (after 1 attempts)".to_owned();
        store
            .finish_attempt(
                &message,
                &attempt(1, Some(500)),
                &NextStep::GiveUp(why.clone()),
            )
            .await
            .unwrap();
        assert_eq!(
            summary(&store, failed).await,
            (TaskStatus::ToReview, IntegrationStatus::Failed)
        );
        let events = store.task_events(failed).await.unwrap();
        let last = &events[events.len() - 2..];
        assert_eq!(last[0].task_status, TaskStatus::ExportFailed);
        assert_eq!(last[1].reason.as_deref(), Some(why.as_str()));

        let message = store.claim_message(now, lease).await.unwrap().unwrap();
        assert_eq!(message.task_id, gone);
        let step = NextStep::EndpointGone("the endpoint answered 410 Gone: bye".into());
        store
            .finish_attempt(&message, &attempt(1, Some(410)), &step)
            .await
            .unwrap();
        let off = store.webhook(org, workspace).await.unwrap().unwrap();
        assert!(!off.enabled);
        assert_eq!(
            off.disabled_reason.as_deref(),
            Some("the endpoint answered 410 Gone: bye")
        );
        // Redelivered, the first task is reviewed again and waits for the endpoint.
        store.redeliver(failed, now).await.unwrap().unwrap();
        assert_eq!(summary(&store, failed).await.0, TaskStatus::Reviewed);
        assert!(
            store.claim_message(now, lease).await.unwrap().is_none(),
            "turned off"
        );
    }

    #[tokio::test]
    async fn concurrent_claims_never_share_a_message_and_a_reprocess_drops_it() {
        let (_guard, store, org) = store_or_skip!();
        let workspace = workspace(&store, org).await;
        let webhook = WebhookSettings::new("https://example.com/hook".into());
        store
            .set_webhook(org, workspace, Some(&webhook))
            .await
            .unwrap();
        let mut tasks = Vec::new();
        for _ in 0..4 {
            tasks.push(reviewed(&store, org).await);
        }
        let store = std::sync::Arc::new(store);
        let now = Timestamp::now();
        let mut claims = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let store = store.clone();
            claims.spawn(async move { store.claim_message(now, 60).await.unwrap() });
        }
        let mut claimed: Vec<i64> = claims
            .join_all()
            .await
            .into_iter()
            .flatten()
            .map(|m| m.task_id)
            .collect();
        claimed.sort();
        assert_eq!(claimed, tasks, "each message once");
        store
            .restart_task(org, &crate::TaskRef::Id(tasks[0]))
            .await
            .unwrap();
        assert!(store.deliveries(tasks[0]).await.unwrap().is_empty());
    }
}
