//! Delivers the outbox: takes the most overdue message, POSTs its task's export to the
//! workspace's endpoint with the Standard Webhooks headers, and records what came back. Every
//! `serve` and `worker` process runs one; the store's lease keeps a message's attempts one at
//! a time across all of them.

use std::time::{Duration, Instant};

use reqwest::header::CONTENT_TYPE;
use tracing::{info, warn};

use super::export::export_and_pages;
use super::fetch::EndpointClient;
use serde_json::json;

use docket_domain::links::{FileLinks, LinkedFile};
use docket_domain::webhook::{
    next_step, Answer, DeliveryAttempt, NextStep, OutboundMessage, WebhookBody, EXCERPT_CHARS,
};
use docket_domain::Timestamp;
use docket_store::Store;

/// How docket signs the links inside what it sends: the file-link key and docket's public URL.
#[derive(Clone)]
pub struct ExportLinks {
    pub links: FileLinks,
    pub base_url: String,
}

impl std::fmt::Debug for ExportLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key stays out of logs.
        f.debug_struct("ExportLinks")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
pub struct Deliverer {
    store: Store,
    client: EndpointClient,
    links: Option<ExportLinks>,
}

impl Deliverer {
    /// Time beyond an attempt's timeout before another process may take its message over
    /// (this one crashed or hangs).
    const LEASE_MARGIN_SECONDS: i64 = 5;

    pub fn new(
        store: Store,
        allow_private: bool,
        links: Option<ExportLinks>,
    ) -> anyhow::Result<Self> {
        Ok(Deliverer {
            store,
            client: EndpointClient::new(allow_private)?,
            links,
        })
    }

    /// Makes one attempt at the most overdue message; false when none is due.
    pub async fn deliver_due(&self) -> anyhow::Result<bool> {
        let now = Timestamp::now();
        let margin = Self::LEASE_MARGIN_SECONDS;
        let Some(message) = self.store.claim_message(now, margin).await? else {
            return Ok(false);
        };
        let body = self.body(&message).await?;
        let started_at = Timestamp::now();
        let clock = Instant::now();
        let (answer, response) = self.post(&message, body).await;
        let latency_ms = i64::try_from(clock.elapsed().as_millis()).unwrap_or(i64::MAX);
        let excerpt: String = response.chars().take(EXCERPT_CHARS).collect();
        let webhook = &message.webhook;
        let next = next_step(
            &answer,
            &excerpt,
            message.attempt,
            &webhook.schedule,
            Timestamp::now(),
        );
        let outcome = match &next {
            NextStep::Delivered => "delivered",
            NextStep::RetryAt(_) => "retry",
            NextStep::GiveUp(_) => "given_up",
            NextStep::EndpointGone(_) => "gone",
        };
        metrics::counter!("docket_webhook_attempts_total", "outcome" => outcome).increment(1);
        let status_code = match answer {
            Answer::Status(status) => Some(status),
            Answer::NoAnswer(_) => None,
        };
        match &next {
            NextStep::Delivered => info!(
                task_id = message.task_id,
                message_id = message.id,
                attempt = message.attempt,
                latency_ms,
                "result delivered"
            ),
            other => warn!(
                task_id = message.task_id,
                message_id = message.id,
                attempt = message.attempt,
                status = status_code,
                next = ?other,
                "webhook attempt failed"
            ),
        }
        let attempt = DeliveryAttempt {
            attempt: message.attempt,
            started_at,
            status_code,
            latency_ms,
            response: excerpt,
        };
        self.store.finish_attempt(&message, &attempt, &next).await?;
        Ok(true)
    }

    /// What the message carries: the task's export as GetExportData answers it, or the
    /// URL-to-file body with a link to the exported file.
    async fn body(&self, message: &OutboundMessage) -> anyhow::Result<Vec<u8>> {
        let task = self
            .store
            .task_by_id(message.task_id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("task {} is gone", message.task_id))?;
        let now = Timestamp::now();
        let link = |file: LinkedFile, hours: u32| {
            self.links.as_ref().map(|l| {
                let until = now.plus_seconds(i64::from(hours) * 3600);
                l.links.url_until(file, &l.base_url, task.summary.id, until)
            })
        };
        if let WebhookBody::FileUrl { link_hours } = message.webhook.body {
            let body = json!({
                "taskId": task.summary.id,
                "taskNumber": task.summary.task_number,
                "workspaceId": task.summary.workspace_id,
                "displayName": task.summary.display_name,
                "totalPages": task.summary.total_pages,
                "exportedFileUrl": link(LinkedFile::Exported, link_hours),
            });
            return Ok(serde_json::to_vec(&body)?);
        }
        let original_file_url = match (&self.links, &task.original) {
            (Some(l), Some(_)) => Some(l.links.url(&l.base_url, task.summary.id, now)),
            _ => None,
        };
        let (export, _) = export_and_pages(&self.store, task, original_file_url).await?;
        Ok(serde_json::to_vec(&export)?)
    }

    /// One POST with the Standard Webhooks headers: the answer, and its body's start or why
    /// there was none.
    async fn post(&self, message: &OutboundMessage, body: Vec<u8>) -> (Answer, String) {
        let webhook = &message.webhook;
        let timestamp = Timestamp::now().millis() / 1000;
        let headers = [
            (CONTENT_TYPE.as_str(), "application/json".to_owned()),
            ("webhook-id", message.id.clone()),
            ("webhook-timestamp", timestamp.to_string()),
            (
                "webhook-signature",
                webhook.secret.sign(&message.id, timestamp, &body),
            ),
        ];
        let timeout = Duration::from_secs(webhook.timeout_seconds.into());
        match self
            .client
            .post(&webhook.url, &headers, body, timeout)
            .await
        {
            Ok(answer) => (Answer::Status(answer.status), answer.body_start),
            Err(e) => (Answer::NoAnswer(e.to_string()), e.to_string()),
        }
    }
}
