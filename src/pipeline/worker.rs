//! Workers: each claims a job from the store, runs its stage under a renewed lease, and records
//! the outcome. Stages are idempotent, so a job taken over after a crash simply runs again.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tracing::{error, info, warn, Instrument};

use super::detect::{self, Unreadable};
use super::fetch::{FetchPolicy, Fetcher};
use super::recognize::{self, Recognition};
use crate::domain::workspace::DEFAULT_LANGUAGES;
use crate::domain::{TaskStatus, WorkspaceTemplate};
use crate::store::blobs::BlobStore;
use crate::store::{ClaimedJob, JobStage, Store, StoredFile};

#[derive(Debug, Clone)]
pub struct PipelineConfig {
    pub workers: usize,
    /// How long a claimed job stays a worker's without renewal; after a crash, the time until
    /// another worker takes it over.
    pub lease_seconds: i64,
    /// Claims of one job (crashes included) before its task is failed instead of retried.
    pub max_attempts: i64,
    /// Idle workers look for work this often even when not woken (jobs from other processes,
    /// expired leases).
    pub poll_interval: Duration,
    pub fetch: FetchPolicy,
    /// Documents with more pages are refused in pre-processing.
    pub max_pages: u32,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            lease_seconds: 30,
            max_attempts: 3,
            poll_interval: Duration::from_secs(1),
            fetch: FetchPolicy::default(),
            max_pages: 5_000,
        }
    }
}

/// Running workers. Stopping them mid-job is safe: the job's lease runs out and another worker
/// takes it over.
#[must_use = "dropping the handle stops the workers"]
pub struct Workers(tokio::task::JoinSet<()>);

impl Workers {
    pub async fn stop(mut self) {
        self.0.shutdown().await;
    }
}

#[derive(Clone)]
pub struct Pipeline {
    store: Store,
    blobs: BlobStore,
    fetcher: Fetcher,
    wake: Arc<Notify>,
    config: Arc<PipelineConfig>,
}

impl Pipeline {
    pub fn new(store: Store, blobs: BlobStore, config: PipelineConfig) -> anyhow::Result<Self> {
        let fetcher = Fetcher::new(config.fetch.clone())?;
        Ok(Pipeline {
            store,
            blobs,
            fetcher,
            wake: Arc::new(Notify::new()),
            config: Arc::new(config),
        })
    }

    /// Tells an idle worker there is new work.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Starts the configured number of workers on the current runtime; they run until the
    /// returned handle is stopped or dropped.
    pub fn spawn_workers(&self) -> Workers {
        let process = crate::domain::credentials::new_client_id();
        let mut set = tokio::task::JoinSet::new();
        for n in 0..self.config.workers.max(1) {
            let worker = self.clone();
            let id = format!("{}-{n}", process.get(..8).unwrap_or(&process));
            set.spawn(async move { worker.work(id).await });
        }
        Workers(set)
    }

    async fn work(self, worker: String) {
        loop {
            match self
                .store
                .claim_job(&worker, self.config.lease_seconds)
                .await
            {
                Ok(Some(job)) => {
                    let span = tracing::info_span!("job", task_id = job.task_id, stage = ?job.stage, worker = %worker);
                    self.run_leased(job).instrument(span).await;
                }
                Ok(None) => {
                    tokio::select! {
                        _ = self.wake.notified() => {}
                        _ = tokio::time::sleep(self.config.poll_interval) => {}
                    }
                }
                Err(e) => {
                    error!(error = %e, "claiming a job failed");
                    tokio::time::sleep(self.config.poll_interval).await;
                }
            }
        }
    }

    async fn run_leased(&self, job: ClaimedJob) {
        let heartbeat = {
            let (store, job, lease) = (self.store.clone(), job.clone(), self.config.lease_seconds);
            tokio::spawn(async move {
                let period = Duration::from_millis((lease.max(1) * 1000 / 3) as u64);
                loop {
                    tokio::time::sleep(period).await;
                    if !matches!(store.renew_lease(&job, lease).await, Ok(true)) {
                        break;
                    }
                }
            })
        };
        let outcome = self.run(&job).await;
        heartbeat.abort();
        match outcome {
            Ok(true) => {}
            Ok(false) => {
                info!("job was taken away (task reprocessed or lease lost); result dropped")
            }
            // The lease runs out and the job is retried, up to max_attempts.
            Err(e) => error!(
                error = format!("{e:#}"),
                "job failed; will retry after the lease expires"
            ),
        }
    }

    /// Ok(false) when the job stopped being this worker's.
    async fn run(&self, job: &ClaimedJob) -> anyhow::Result<bool> {
        if job.attempts > self.config.max_attempts {
            let status = match job.stage {
                JobStage::PreProcess => TaskStatus::PreProcessingFailed,
                JobStage::Recognize => TaskStatus::RecognitionFailed,
            };
            let reason = format!(
                "processing was interrupted {} times; giving up",
                job.attempts - 1
            );
            warn!(%reason);
            return Ok(self.store.fail_job(job, status, &reason).await?);
        }
        match job.stage {
            JobStage::PreProcess => self.preprocess(job).await,
            JobStage::Recognize => self.recognize(job).await,
        }
    }

    /// Download (unless the file came with the request), detect the format, count pages, keep
    /// the original.
    async fn preprocess(&self, job: &ClaimedJob) -> anyhow::Result<bool> {
        let Some(task) = self.store.task_by_id(job.task_id).await? else {
            return Ok(false);
        };
        if !self
            .store
            .set_job_status(job, TaskStatus::PreProcessingInProgress)
            .await?
        {
            return Ok(false);
        }
        let (bytes, file_name) = match &task.original {
            Some(file) => (self.blobs.get(&file.key).await?, file.file_name.clone()),
            None => {
                let url = task.source_url.as_deref().unwrap_or_default();
                let fetched = match url::Url::parse(url) {
                    Ok(url) => self.fetcher.fetch(&url).await.map_err(|e| e.to_string()),
                    Err(e) => Err(format!("invalid URL {url:?}: {e}")),
                };
                match fetched {
                    Ok(fetched) => (fetched.bytes, fetched.file_name),
                    Err(reason) => {
                        let reason = format!("download failed: {reason}");
                        info!(%reason);
                        return Ok(self
                            .store
                            .fail_job(job, TaskStatus::PreProcessingDownloadFailed, &reason)
                            .await?);
                    }
                }
            }
        };
        let max_pages = self.config.max_pages;
        let inspected = tokio::task::spawn_blocking(move || {
            let facts = detect::detect(&bytes).and_then(|kind| {
                let pages = detect::page_count(kind, &bytes)?;
                if pages > max_pages {
                    return Err(Unreadable(format!(
                        "the document has {pages} pages; the limit is {max_pages}"
                    )));
                }
                Ok((kind, pages))
            });
            (facts, bytes)
        })
        .await?;
        let (kind, pages, bytes) = match inspected {
            (Ok((kind, pages)), bytes) => (kind, pages, bytes),
            (Err(Unreadable(reason)), _) => {
                info!(%reason, "not a readable document");
                return Ok(self
                    .store
                    .fail_job(job, TaskStatus::PreProcessingGetPagesFailed, &reason)
                    .await?);
            }
        };
        let key = self.blobs.put(bytes).await?;
        let original = StoredFile {
            key,
            media_type: kind.media_type().to_owned(),
            file_name,
        };
        let done = self
            .store
            .finish_preprocessing(job, &original, i64::from(pages))
            .await?;
        info!(pages, media_type = kind.media_type(), "pre-processed");
        self.wake();
        Ok(done)
    }

    /// OCR languages and what to extract, from the task's workspace.
    async fn recognize_options(&self, workspace_id: i64) -> anyhow::Result<recognize::Options> {
        let workspace = self.store.workspace_by_id(workspace_id).await?;
        let template = workspace
            .as_ref()
            .and_then(|w| WorkspaceTemplate::parse(&w.template));
        Ok(recognize::Options {
            languages: workspace.map_or_else(|| DEFAULT_LANGUAGES.to_owned(), |w| w.languages),
            invoice_fields: template.is_some_and(WorkspaceTemplate::extracts_invoices),
        })
    }

    async fn recognize(&self, job: &ClaimedJob) -> anyhow::Result<bool> {
        let Some(task) = self.store.task_by_id(job.task_id).await? else {
            return Ok(false);
        };
        if !self
            .store
            .set_job_status(job, TaskStatus::RecognitionInProgress)
            .await?
        {
            return Ok(false);
        }
        let Some(original) = task.original else {
            let reason = "the original file is missing; reprocess the task";
            return Ok(self
                .store
                .fail_job(job, TaskStatus::RecognitionFailed, reason)
                .await?);
        };
        let bytes = self.blobs.get(&original.key).await?;
        let options = self.recognize_options(task.workspace_id).await?;
        let recognized =
            tokio::task::spawn_blocking(move || recognize::recognize(&bytes, &options)).await?;
        match recognized {
            Ok(Recognition {
                pages,
                understanding,
            }) => {
                let words: usize = pages
                    .iter()
                    .flat_map(|p| &p.lines)
                    .map(|l| l.words.len())
                    .sum();
                let pages_json = serde_json::to_string(&pages)?;
                let understanding_json = serde_json::to_string(&understanding)?;
                let done = self
                    .store
                    .finish_recognition(job, &pages_json, &understanding_json)
                    .await?;
                info!(
                    pages = pages.len(),
                    words,
                    key_values = understanding.key_values.len(),
                    tables = understanding.tables.len(),
                    qr_codes = understanding.qr_codes.len(),
                    "recognised"
                );
                Ok(done)
            }
            Err(Unreadable(reason)) => {
                info!(%reason, "recognition failed");
                Ok(self
                    .store
                    .fail_job(job, TaskStatus::RecognitionFailed, &reason)
                    .await?)
            }
        }
    }
}
