//! Workers: each claims a job from the store, runs its stage under a renewed lease, and records
//! the outcome. Documents are read in sandboxed children (`sandbox`); recognition is kept page
//! by page, so a job taken over after a crash or a restart continues where it stopped.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tracing::{debug, error, info, warn, Instrument};

use super::detect::DocumentKind;
use super::fetch::{FetchPolicy, Fetcher};
use super::recognize::{self, Recognition, RecognizedPage};
use super::sandbox::{self, Message, ReaderSlot, SandboxConfig, SandboxError, Session};
use super::sweeper;
use super::webhooks::{Deliverer, ExportLinks};
use docket_domain::learning::supplier_key;
use docket_domain::lifecycle::LifecyclePolicy;
use docket_domain::review::{Change, FieldKind};
use docket_domain::text::PageText;
use docket_domain::understanding::Understanding;
use docket_domain::workspace::DEFAULT_LANGUAGES;
use docket_domain::{TaskStatus, Timestamp, WorkspaceTemplate};
use docket_extract::learning;
use docket_store::blobs::BlobStore;
use docket_store::{ClaimedJob, JobStage, QueueLimits, Store, StoredFile};

/// Longer side of a page picture for people, in pixels.
const PAGE_PICTURE_SIDE: u32 = 1600;

#[derive(Debug, Clone)]
pub struct PipelineConfig {
    pub workers: usize,
    /// How long a claimed job stays a worker's without renewal; after a crash, the time until
    /// another worker takes it over.
    pub lease_seconds: i64,
    /// Claims of one job that died (process crashes) before its task is failed.
    pub max_attempts: i64,
    /// Kills of a job's document reader (limits exceeded, crashes) before its task is failed.
    pub max_kills: i64,
    /// Idle workers look for work this often even when not woken (jobs from other processes,
    /// expired leases).
    pub poll_interval: Duration,
    pub fetch: FetchPolicy,
    /// Documents with more pages are refused in pre-processing.
    pub max_pages: u32,
    /// Pages recognised per claim of a job: a longer document is given back to the queue
    /// after each batch (its pages kept), so other organisations' work goes in between.
    pub page_batch: u32,
    /// Pages one organisation may have in hand across all workers; its next job waits until
    /// some finish.
    pub pages_in_flight: u32,
    pub sandbox: SandboxConfig,
    /// Stuck tasks, history and retention, applied by a sweep this often.
    pub lifecycle: LifecyclePolicy,
    pub sweep_interval: Duration,
    /// How exports link to original files (the file-link key and docket's public URL); None:
    /// they carry no link.
    pub export_links: Option<ExportLinks>,
    /// Webhook attempts made at once by this process.
    pub deliveries_at_once: usize,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            lease_seconds: 30,
            max_attempts: 3,
            max_kills: 2,
            poll_interval: Duration::from_secs(1),
            fetch: FetchPolicy::default(),
            max_pages: 5_000,
            page_batch: 50,
            pages_in_flight: 200,
            sandbox: SandboxConfig::new(Default::default()),
            lifecycle: LifecyclePolicy::default(),
            sweep_interval: Duration::from_secs(60),
            export_links: None,
            deliveries_at_once: 4,
        }
    }
}

/// Running workers. Dropping the handle aborts them like a crash would (leases run out);
/// `stop` gives their jobs back at once.
#[must_use = "dropping the handle stops the workers"]
pub struct Workers {
    set: tokio::task::JoinSet<()>,
    stop: watch::Sender<bool>,
}

impl Workers {
    /// Stops every worker: a job in hand is abandoned (its document reader killed) and released
    /// at once without counting as an attempt, for another worker or the next start to resume.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        while self.set.join_next().await.is_some() {}
    }
}

#[derive(Clone)]
pub struct Pipeline {
    store: Store,
    blobs: BlobStore,
    fetcher: Fetcher,
    deliverer: Deliverer,
    wake: Arc<Notify>,
    wake_deliveries: Arc<Notify>,
    config: Arc<PipelineConfig>,
}

impl Pipeline {
    pub fn new(store: Store, blobs: BlobStore, config: PipelineConfig) -> anyhow::Result<Self> {
        let fetcher = Fetcher::new(config.fetch.clone())?;
        let deliverer = Deliverer::new(
            store.clone(),
            config.fetch.allow_private,
            config.export_links.clone(),
        )?;
        Ok(Pipeline {
            store,
            blobs,
            fetcher,
            deliverer,
            wake: Arc::new(Notify::new()),
            wake_deliveries: Arc::new(Notify::new()),
            config: Arc::new(config),
        })
    }

    fn queue_limits(&self) -> QueueLimits {
        QueueLimits {
            pages_in_flight: self.config.pages_in_flight.into(),
            page_batch: self.config.page_batch.into(),
        }
    }

    /// A picture of a stored document's page (from 1) for people, PNG, drawn by a document
    /// reader of its own (a hostile file hurts only that reader); None when there is no such
    /// page or the file cannot be drawn.
    pub async fn render_page(
        &self,
        org_id: i64,
        original_key: &str,
        page_number: u32,
    ) -> anyhow::Result<Option<Vec<u8>>> {
        let Some(bytes) = self.blobs.find(original_key).await? else {
            return Ok(None);
        };
        let job = sandbox::Job::Render {
            page: page_number.saturating_sub(1),
            max_side: PAGE_PICTURE_SIDE,
        };
        let mut slot = ReaderSlot::default();
        let mut session = slot
            .start(&self.config.sandbox, org_id, &job, &bytes)
            .await?;
        let png = match session.next().await {
            Ok(Message::Rendered { png }) => png,
            Ok(Message::Unreadable { reason }) => {
                debug!(reason, "page not drawn");
                return Ok(None);
            }
            Ok(other) => anyhow::bail!("the document reader answered {other:?} to render"),
            Err(e) => {
                warn!(error = %e, "drawing a page failed");
                return Ok(None);
            }
        };
        use base64::Engine;
        Ok(Some(base64::engine::general_purpose::STANDARD.decode(png)?))
    }

    /// Learns from a completed review: each field a reviewer set whose value stands on the
    /// page after a label becomes a rule for the document's supplier.
    pub async fn learn_from_review(&self, org_id: i64, task_id: i64) -> anyhow::Result<usize> {
        let Some(result) = self.store.task_result(task_id).await? else {
            return Ok(0);
        };
        let pages: Vec<PageText> = serde_json::from_str(&result.pages_json)?;
        let read: Understanding = serde_json::from_str(&result.understanding_json)?;
        // The supplier as its documents are read (a misread name reads the same next time).
        let Some(supplier) = supplier_key(&read) else {
            return Ok(0);
        };
        let edits = self.store.field_edits(task_id).await?;
        let mut learnt = 0;
        // The last value each field was given.
        for (i, edit) in edits.iter().enumerate() {
            let later = edits[i + 1..]
                .iter()
                .any(|e| e.kind == edit.kind && e.category == edit.category);
            let Change::Set { content, .. } = &edit.change else {
                continue;
            };
            if later {
                continue;
            }
            let fields = match edit.kind {
                FieldKind::Invoice => &read.invoice,
                FieldKind::Receipt => &read.receipt,
                FieldKind::KeyValue => &read.key_values,
            };
            let read_as = fields
                .iter()
                .find(|f| f.category_normalized == edit.category)
                .map(|f| f.content.as_str());
            if let Some(rule) = learning::learn(&pages, edit.kind, &edit.category, content, read_as)
            {
                self.store.remember_rule(org_id, &supplier, &rule).await?;
                learnt += 1;
            }
        }
        Ok(learnt)
    }

    /// Tells an idle worker there is new work.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Tells idle deliveries a message may be waiting (a review just completed).
    pub fn wake_deliveries(&self) {
        self.wake_deliveries.notify_waiters();
    }

    /// Starts the configured number of workers on the current runtime; they run until the
    /// returned handle is stopped or dropped.
    pub fn spawn_workers(&self) -> Workers {
        let process = docket_domain::credentials::new_client_id();
        let (stop, stopping) = watch::channel(false);
        let mut set = tokio::task::JoinSet::new();
        for n in 0..self.config.workers.max(1) {
            let worker = self.clone();
            let id = format!("{}-{n}", process.get(..8).unwrap_or(&process));
            let stopping = stopping.clone();
            set.spawn(async move { worker.work(id, stopping).await });
        }
        set.spawn(self.clone().relay_job_announcements(stopping.clone()));
        for _ in 0..self.config.deliveries_at_once.max(1) {
            set.spawn(self.clone().deliver_until_stopped(stopping.clone()));
        }
        set.spawn(self.clone().sweep_until_stopped(stopping));
        Workers { set, stop }
    }

    /// Delivers due webhook messages one after another; idle, looks again every poll interval
    /// (retries come due, other processes write messages) or when woken. Until the workers stop.
    async fn deliver_until_stopped(self, mut stopping: watch::Receiver<bool>) {
        while !*stopping.borrow() {
            let idle = self.wake_deliveries.notified();
            match self.deliverer.deliver_due().await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => warn!(error = %e, "delivering a webhook failed; trying again later"),
            }
            tokio::select! {
                _ = idle => {}
                _ = tokio::time::sleep(self.config.poll_interval) => {}
                _ = stopping.changed() => return,
            }
        }
    }

    /// Sweeps (see `sweeper`) every sweep interval until the workers stop.
    async fn sweep_until_stopped(self, mut stopping: watch::Receiver<bool>) {
        while !*stopping.borrow() {
            let config = &self.config;
            let swept = sweeper::sweep(
                &self.store,
                &self.blobs,
                &config.lifecycle,
                Timestamp::now(),
            );
            match swept.await {
                Ok(swept) if swept.reverted > 0 => self.wake(),
                Ok(_) => {}
                Err(e) => warn!(error = %e, "sweeping failed; trying again later"),
            }
            tokio::select! {
                _ = tokio::time::sleep(config.sweep_interval) => {}
                _ = stopping.changed() => return,
            }
        }
    }

    /// Wakes an idle worker whenever another process queues or releases a job, where the store
    /// announces them (PostgreSQL); until the workers stop. A lost connection is listened on
    /// again after a poll interval, and workers poll meanwhile.
    async fn relay_job_announcements(self, mut stopping: watch::Receiver<bool>) {
        while !*stopping.borrow() {
            tokio::select! {
                listened = self.store.listen_for_jobs(self.wake.clone()) => match listened {
                    // This store cannot announce jobs: workers find them by polling.
                    Ok(()) => return,
                    Err(e) => warn!(error = %e, "listening for new jobs failed; polling meanwhile"),
                },
                _ = stopping.changed() => return,
            }
            tokio::select! {
                _ = tokio::time::sleep(self.config.poll_interval) => {}
                _ = stopping.changed() => return,
            }
        }
    }

    async fn work(self, worker: String, mut stopping: watch::Receiver<bool>) {
        // This worker's document reader, kept between jobs; killed when the worker ends.
        let mut reader = ReaderSlot::default();
        while !*stopping.borrow() {
            let idle = match self
                .store
                .claim_job(&worker, self.config.lease_seconds, self.queue_limits())
                .await
            {
                Ok(Some(job)) => {
                    let span = tracing::info_span!("job", task_id = job.task_id, stage = ?job.stage, worker = %worker);
                    self.run_leased(job, &mut reader, &mut stopping)
                        .instrument(span)
                        .await;
                    continue;
                }
                Ok(None) => self.wake.notified(),
                Err(e) => {
                    error!(error = %e, "claiming a job failed");
                    self.wake.notified()
                }
            };
            tokio::select! {
                _ = idle => {}
                _ = tokio::time::sleep(self.config.poll_interval) => {}
                _ = stopping.changed() => {}
            }
        }
    }

    /// Runs a job while renewing its lease; the job ends when it is done, when its lease is
    /// lost (nothing it writes would count), or when the workers stop.
    async fn run_leased(
        &self,
        job: ClaimedJob,
        reader: &mut ReaderSlot,
        stopping: &mut watch::Receiver<bool>,
    ) {
        let started = std::time::Instant::now();
        let outcome = tokio::select! {
            outcome = self.run(&job, reader) => outcome,
            () = self.hold_lease(&job) => Ok(false),
            _ = stopping.changed() => {
                if let Err(e) = self.store.release_job(&job).await {
                    error!(error = %e, "releasing the job failed; its lease will run out");
                }
                info!("stopping: job released for the next worker");
                return;
            }
        };
        let result = match &outcome {
            Ok(true) => "done",
            Ok(false) => "taken_away",
            Err(_) => "error",
        };
        metrics::histogram!(
            "docket_stage_duration_seconds",
            "stage" => job.stage.as_str(),
            "result" => result,
        )
        .record(started.elapsed().as_secs_f64());
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

    /// Renews the job's lease until it is no longer this worker's.
    async fn hold_lease(&self, job: &ClaimedJob) {
        let lease = self.config.lease_seconds;
        let period = Duration::from_millis((lease.max(1) * 1000 / 3) as u64);
        loop {
            tokio::time::sleep(period).await;
            match self.store.renew_lease(job, lease).await {
                Ok(true) => {}
                Ok(false) => return,
                // A busy database is not a lost lease; the next beat tries again.
                Err(e) => warn!(error = %e, "renewing the lease failed"),
            }
        }
    }

    /// The reader's next message, or how the job ends: a document it cannot read fails the task
    /// with `failed` and the reason, a killed reader counts against the task.
    async fn next_message(
        &self,
        job: &ClaimedJob,
        reader: &mut Session<'_>,
        failed: TaskStatus,
    ) -> Result<Message, anyhow::Result<bool>> {
        match reader.next().await {
            Ok(Message::Unreadable { reason }) => {
                info!(%reason, "the document cannot be read");
                Err(self
                    .store
                    .fail_job(job, failed, &reason)
                    .await
                    .map_err(Into::into))
            }
            Ok(message) => Ok(message),
            Err(SandboxError::Killed(reason)) => Err(self.killed(job, failed, reason).await),
            Err(SandboxError::Internal(e)) => Err(Err(e)),
        }
    }

    /// A document reader was killed (a limit, a crash): the job is tried again by another
    /// reader, and the task fails once readers have been killed `max_kills` times.
    async fn killed(
        &self,
        job: &ClaimedJob,
        status: TaskStatus,
        reason: String,
    ) -> anyhow::Result<bool> {
        let kills = job.kills + 1;
        warn!(%reason, kills, "document reader stopped");
        if kills >= self.config.max_kills {
            let reason = format!("{reason} (stopped {kills} times; giving up)");
            return Ok(self.store.fail_job(job, status, &reason).await?);
        }
        let released = self.store.record_kill(job).await?.is_some();
        self.wake();
        Ok(released)
    }

    /// Ok(false) when the job stopped being this worker's.
    async fn run(&self, job: &ClaimedJob, reader: &mut ReaderSlot) -> anyhow::Result<bool> {
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
            JobStage::PreProcess => self.preprocess(job, reader).await,
            JobStage::Recognize => self.recognize(job, reader).await,
        }
    }

    /// Download (unless the file came with the request), detect the format, count pages, keep
    /// the original.
    async fn preprocess(&self, job: &ClaimedJob, reader: &mut ReaderSlot) -> anyhow::Result<bool> {
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
        let inspect = sandbox::Job::Inspect {
            max_pages: self.config.max_pages,
        };
        let mut reader = reader
            .start(&self.config.sandbox, task.org_id, &inspect, &bytes)
            .await?;
        let failed = TaskStatus::PreProcessingGetPagesFailed;
        let (kind, pages) = match self.next_message(job, &mut reader, failed).await {
            Ok(Message::Inspected { media_type, pages }) => {
                let kind = DocumentKind::from_media_type(&media_type).ok_or_else(|| {
                    anyhow::anyhow!("the document reader named an unknown type {media_type}")
                })?;
                (kind, pages)
            }
            Ok(other) => anyhow::bail!("the document reader answered {other:?} to inspect"),
            Err(end) => return end,
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
            receipt_fields: template == Some(WorkspaceTemplate::Receipts),
            embedded_invoice: true,
        })
    }

    /// The workspace's automatic review of what was understood: Some(reason) when it reviews
    /// the task, None when a person must.
    async fn automatic_review(
        &self,
        workspace_id: i64,
        understanding: &Understanding,
    ) -> anyhow::Result<Option<String>> {
        let Some(workspace) = self.store.workspace_by_id(workspace_id).await? else {
            return Ok(None);
        };
        let fiscal_qr = WorkspaceTemplate::parse(&workspace.template)
            == Some(WorkspaceTemplate::InvoicesPortugal);
        match workspace.review.auto_review(understanding, fiscal_qr) {
            Ok(reason) => Ok(Some(reason)),
            Err(why) => {
                debug!(why, "left for a person to review");
                Ok(None)
            }
        }
    }

    async fn recognize(&self, job: &ClaimedJob, reader: &mut ReaderSlot) -> anyhow::Result<bool> {
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
        let options = self.recognize_options(task.summary.workspace_id).await?;
        // Pages kept by an earlier, interrupted run of this job are not read again.
        let mut done: Vec<RecognizedPage> = Vec::new();
        for (index, json) in self.store.saved_pages(task.summary.id).await? {
            if index as usize != done.len() {
                break;
            }
            done.push(serde_json::from_str(&json)?);
        }
        if !done.is_empty() {
            info!(
                pages = done.len(),
                "resuming after the pages already recognised"
            );
        }
        let batch = self.config.page_batch.max(1);
        let read = sandbox::Job::Recognize {
            languages: options.languages.clone(),
            first: done.len() as u32,
            count: batch,
        };
        let mut read_now = 0;
        let mut reader = reader
            .start(&self.config.sandbox, task.org_id, &read, &bytes)
            .await?;
        loop {
            match self
                .next_message(job, &mut reader, TaskStatus::RecognitionFailed)
                .await
            {
                Ok(Message::Page { index, page }) => {
                    if !self
                        .store
                        .save_page(job, index, &serde_json::to_string(&page)?)
                        .await?
                    {
                        return Ok(false);
                    }
                    let read_by = if page.was_ocr() { "ocr" } else { "text_layer" };
                    metrics::counter!("docket_pages_recognized_total", "read_by" => read_by)
                        .increment(1);
                    done.push(*page);
                    read_now += 1;
                }
                Ok(Message::Done) => break,
                Ok(other) => anyhow::bail!("the document reader answered {other:?} to recognize"),
                Err(end) => return end,
            }
        }
        drop(reader);
        if read_now == batch && (done.len() as i64) < task.summary.total_pages {
            // Not the last batch: the job goes back to the queue, where the next claim may be
            // another organisation's, and resumes after the pages kept.
            self.store.release_job(job).await?;
            self.wake();
            info!(pages = done.len(), "page batch recognised; job given back");
            return Ok(true);
        }
        let Recognition {
            pages,
            understanding,
        } = tokio::task::spawn_blocking(move || recognize::understand(done, &options)).await?;
        let words: usize = pages
            .iter()
            .flat_map(|p| &p.lines)
            .map(|l| l.words.len())
            .sum();
        let pages_json = serde_json::to_string(&pages)?;
        let mut understanding = understanding;
        if let Some(supplier) = supplier_key(&understanding) {
            let rules = self.store.supplier_rules(task.org_id, &supplier).await?;
            let changed = learning::apply(&pages, &mut understanding, &rules);
            if !changed.is_empty() {
                info!(supplier, fields = ?changed, "fields found as the supplier's corrections taught");
            }
        }
        let understanding_json = serde_json::to_string(&understanding)?;
        let by_rule = self
            .automatic_review(task.summary.workspace_id, &understanding)
            .await?;
        let finished = self
            .store
            .finish_recognition(job, &pages_json, &understanding_json, by_rule.as_deref())
            .await?;
        if finished && by_rule.is_some() {
            self.wake_deliveries();
        }
        info!(
            pages = pages.len(),
            words,
            key_values = understanding.key_values.len(),
            tables = understanding.tables.len(),
            qr_codes = understanding.qr_codes.len(),
            "recognised"
        );
        Ok(finished)
    }
}
