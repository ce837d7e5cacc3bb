//! Persistence, as a port: the traits below are everything docket asks of its database, with
//! two implementations of them, SQLite (`sqlite`, the embedded default: one file in the data
//! directory) and PostgreSQL (`postgres`, shared by many API and worker processes). Both run
//! the same SQL module (`sql`), compiled once for each; what their dialects do differently
//! lives in each backend's module. Stored files are apart, in `blobs`.

pub mod blobs;
mod postgres;
mod sqlite;

use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Notify;

pub use docket_domain::job::{ClaimedJob, JobStage, QueueDepth, QueueLimits};
pub use docket_domain::learning::LearnedRule;
pub use docket_domain::people::{Email, Invite, Invited, PasswordLink, Role, User, UserStatus};
pub use docket_domain::review::{Checkout, FieldEdit, ReviewSettings, Reviewer};
pub use docket_domain::task::{
    Listed, NewTask, Page, SortField, StoredFile, Task, TaskEvent, TaskFilter, TaskRef, TaskResult,
    TaskSort, TaskSummary,
};
pub use docket_domain::tenant::{
    Batch, BatchFilter, BatchSort, BatchSortField, IssuedCredentials, Organization, Workspace,
};
pub use docket_domain::webhook::{
    Delivery, DeliveryAttempt, MessageState, NextStep, OutboundMessage, WebhookSettings,
};
use docket_domain::{ExternalIntegrationStatus, TaskStatus, Timestamp};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("a task with this externalId already exists in the organisation")]
    DuplicateExternalId,
    #[error("not found: {0}")]
    NotFound(&'static str),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("a task cannot move from {from:?} to {to:?}")]
    InvalidTransition { from: TaskStatus, to: TaskStatus },
    #[error("{0}")]
    Unsupported(&'static str),
    #[error("{0} is already a member of the organisation")]
    DuplicateEmail(String),
    #[error("the task is being reviewed by {} until {}", .0.user_name, .0.until.to_api_string())]
    CheckedOut(Checkout),
    #[error("the task is {status} ({code}): {why}", status = .0.name(), code = .0.code(), why = .1)]
    NotReviewable(TaskStatus, &'static str),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A `LIKE` pattern that finds `text` anywhere, its own `%`, `_` and `\` taken literally.
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Organisations and the credentials that act for them.
#[async_trait]
pub trait Credentials {
    async fn count_organizations(&self) -> StoreResult<i64>;
    /// Creates an organisation with its default workspace and first credentials.
    async fn create_organization(&self, name: &str) -> StoreResult<IssuedCredentials>;
    /// Replaces the organisation's secret; the old one stops working at once, and so does
    /// every token issued with it (a leaked secret may have minted them).
    async fn rotate_secret(&self, client_id: &str) -> StoreResult<IssuedCredentials>;
    async fn organizations(&self) -> StoreResult<Vec<Organization>>;
    async fn find_organization(&self, client_id: &str) -> StoreResult<Option<Organization>>;
    /// The organisation whose current, unexpired secret this is.
    async fn verify_client(&self, client_id: &str, secret: &str) -> StoreResult<Option<i64>>;
    async fn insert_token(
        &self,
        org_id: i64,
        token: &str,
        expires_at: Timestamp,
    ) -> StoreResult<()>;
    async fn organization_for_token(&self, token: &str) -> StoreResult<Option<i64>>;
}

/// Workspaces and batches of an organisation.
#[async_trait]
pub trait Catalog {
    async fn create_workspace(
        &self,
        org_id: i64,
        name: &str,
        description: Option<&str>,
        template: &str,
        languages: &str,
    ) -> StoreResult<Workspace>;
    async fn workspaces(&self, org_id: i64) -> StoreResult<Vec<Workspace>>;
    /// The given workspace of the organisation, or its default one when `id` is None.
    async fn workspace(&self, org_id: i64, id: Option<i64>) -> StoreResult<Option<Workspace>>;
    /// For the pipeline, which works across organisations.
    async fn workspace_by_id(&self, id: i64) -> StoreResult<Option<Workspace>>;
    /// Changes how the workspace's documents are read (template key, Tesseract languages);
    /// false when it is not the organisation's.
    async fn set_workspace_reading(
        &self,
        org_id: i64,
        workspace_id: i64,
        template: &str,
        languages: &str,
    ) -> StoreResult<bool>;
    /// Replaces the workspace's review settings; false when it is not the organisation's.
    async fn set_review_settings(
        &self,
        org_id: i64,
        workspace_id: i64,
        settings: &ReviewSettings,
    ) -> StoreResult<bool>;
    async fn create_batch(
        &self,
        org_id: i64,
        workspace_id: i64,
        display_name: &str,
        description: Option<&str>,
    ) -> StoreResult<Batch>;
    async fn batch(&self, org_id: i64, batch_id: i64) -> StoreResult<Option<Batch>>;
    /// The matching batches with their task counts, a page of them when `page` is given, and
    /// how many match in all (counted apart, not by reading every match).
    async fn batches(
        &self,
        org_id: i64,
        filter: &BatchFilter,
        page: Option<Page>,
    ) -> StoreResult<Listed<Batch>>;
}

/// Tasks: creation, look-ups, lists and the client's commands on them.
#[async_trait]
pub trait Tasks {
    /// Inserts the task, numbers it within its workspace and queues its pre-processing, all
    /// at once.
    async fn create_task(&self, new: NewTask) -> StoreResult<Task>;
    async fn task(&self, org_id: i64, task: &TaskRef) -> StoreResult<Option<Task>>;
    /// For the pipeline, which works across organisations.
    async fn task_by_id(&self, id: i64) -> StoreResult<Option<Task>>;
    /// How many tasks of the organisation match.
    async fn count_tasks(&self, org_id: i64, filter: &TaskFilter) -> StoreResult<i64>;
    /// The matching tasks in the filter's order, `limit` of them after skipping `offset`.
    async fn list_tasks(
        &self,
        org_id: i64,
        filter: &TaskFilter,
        limit: i64,
        offset: i64,
    ) -> StoreResult<Vec<TaskSummary>>;
    /// One page of the matching tasks and how many match in all.
    async fn tasks(
        &self,
        org_id: i64,
        filter: &TaskFilter,
        page: Page,
    ) -> StoreResult<Listed<TaskSummary>>;
    /// For measuring at scale (`docket-bench scale`): `count` copies of a task, created one
    /// every `spacing_ms` before it, in varied statuses, each with its own externalId.
    async fn seed_copies(&self, template: i64, count: i64, spacing_ms: i64) -> StoreResult<()>;
    /// Returns false when no such task exists in the organisation.
    async fn set_external_integration_status(
        &self,
        org_id: i64,
        task: &TaskRef,
        status: &ExternalIntegrationStatus,
    ) -> StoreResult<bool>;
    /// Destructive restart: drops results and pending work, counts the restart, resets the
    /// integration statuses and queues pre-processing again from the original request.
    /// Returns false when no such task exists in the organisation.
    async fn restart_task(&self, org_id: i64, task: &TaskRef) -> StoreResult<bool>;
    async fn task_events(&self, task_id: i64) -> StoreResult<Vec<TaskEvent>>;
    /// What the pipeline stored for the task, if it has recognised it.
    async fn task_result(&self, task_id: i64) -> StoreResult<Option<TaskResult>>;
}

/// The job queue beside the tasks: one row per task with pending pipeline work, claimed by
/// workers under an expiring lease. Every write a worker makes checks it still holds the
/// lease, so a worker that lost its job (lease expired, task reprocessed) cannot overwrite
/// newer state.
#[async_trait]
pub trait Jobs {
    /// Pending jobs by organisation, task status and whether a worker holds them.
    async fn queue_depth(&self) -> StoreResult<Vec<QueueDepth>>;
    /// Takes a job nobody holds (or whose holder's lease ran out), sharing workers across
    /// organisations: the organisation with the fewest jobs in hand goes first, then the one
    /// served longest ago; within it, the most urgent job, then the oldest. An organisation
    /// already holding `limits.pages_in_flight` pages waits (a held job counts its document's
    /// pages, at most a batch, and at least one).
    async fn claim_job(
        &self,
        worker: &str,
        lease_seconds: i64,
        limits: QueueLimits,
    ) -> StoreResult<Option<ClaimedJob>>;
    /// Extends the lease; false when the job is no longer this worker's.
    async fn renew_lease(&self, job: &ClaimedJob, lease_seconds: i64) -> StoreResult<bool>;
    /// Gives a job back on a graceful stop: released at once, and the claim not counted as an
    /// attempt (only attempts that died count).
    async fn release_job(&self, job: &ClaimedJob) -> StoreResult<()>;
    /// Counts a killed document reader against the job and releases it for another try.
    /// Returns the kills so far, or None when the job is no longer this worker's.
    async fn record_kill(&self, job: &ClaimedJob) -> StoreResult<Option<i64>>;
    /// Keeps one recognised page; false when the job is no longer this worker's.
    async fn save_page(
        &self,
        job: &ClaimedJob,
        page_index: u32,
        page_json: &str,
    ) -> StoreResult<bool>;
    /// The pages recognised so far, in page order.
    async fn saved_pages(&self, task_id: i64) -> StoreResult<Vec<(u32, String)>>;
    /// Moves the job's task to `status`. Returns false when the job is no longer held.
    async fn set_job_status(&self, job: &ClaimedJob, status: TaskStatus) -> StoreResult<bool>;
    /// Ends the job with the task in a failed status and a reason a user can read.
    async fn fail_job(
        &self,
        job: &ClaimedJob,
        status: TaskStatus,
        reason: &str,
    ) -> StoreResult<bool>;
    /// Pre-processing done: keeps the original and page count, and queues recognition in the
    /// same job row (released, so any worker may take it).
    async fn finish_preprocessing(
        &self,
        job: &ClaimedJob,
        original: &StoredFile,
        total_pages: i64,
    ) -> StoreResult<bool>;
    /// Recognition done: stores the result and hands the task to review, or, with
    /// `reviewed_by_rule` (the reason), marks it Reviewed by the workspace's automatic review.
    async fn finish_recognition(
        &self,
        job: &ClaimedJob,
        pages_json: &str,
        understanding_json: &str,
        reviewed_by_rule: Option<&str>,
    ) -> StoreResult<bool>;
    /// Wakes `idle` whenever another process queues or releases a job, until the connection
    /// fails; returns at once where the database cannot tell (workers then poll).
    async fn listen_for_jobs(&self, idle: Arc<Notify>) -> StoreResult<()>;
}

/// The people of an organisation, the workspaces they are assigned to, the one-time links with
/// which they set a password, and their browser sessions. Link and session tokens are shown
/// once and kept as hashes.
#[async_trait]
pub trait People {
    /// Invites people, all or none, each with a link to set a password. An address already in
    /// the organisation is `DuplicateEmail`, except when inviting to a workspace: that member
    /// is then given access to it.
    async fn invite_users(
        &self,
        org_id: i64,
        invites: &[Invite],
        workspace_id: Option<i64>,
    ) -> StoreResult<Vec<Invited>>;
    /// An active user with a password already set (the first administrator, from the CLI).
    async fn create_user(
        &self,
        org_id: i64,
        invite: &Invite,
        name: Option<&str>,
        password_hash: &str,
    ) -> StoreResult<User>;
    async fn users(&self, org_id: i64) -> StoreResult<Vec<User>>;
    /// Who may work in the workspace: its members and every Administrator and Manager.
    async fn workspace_users(&self, org_id: i64, workspace_id: i64) -> StoreResult<Vec<User>>;
    async fn user_by_email(&self, org_id: i64, email: &Email) -> StoreResult<Option<User>>;
    /// The workspaces the user is assigned to.
    async fn assigned_workspaces(&self, user_id: i64) -> StoreResult<Vec<i64>>;
    /// A new link for the user to set a password, replacing any earlier one.
    async fn issue_password_link(&self, user_id: i64) -> StoreResult<PasswordLink>;
    /// The user a live (unused, unexpired) link is for.
    async fn password_link_user(&self, token: &str) -> StoreResult<Option<User>>;
    /// Sets the password through a live link and spends it: the user becomes active (named
    /// when `name` is given) and every earlier session of theirs ends. None for a dead link.
    async fn redeem_password_link(
        &self,
        token: &str,
        password_hash: &str,
        name: Option<&str>,
    ) -> StoreResult<Option<User>>;
    /// Every active user with this address, with their password hash (an address may belong
    /// to several organisations).
    async fn sign_in_candidates(&self, email: &Email) -> StoreResult<Vec<(User, String)>>;
    async fn create_session(
        &self,
        user_id: i64,
        token: &str,
        expires_at: Timestamp,
    ) -> StoreResult<()>;
    /// The user of a live session.
    async fn session_user(&self, token: &str) -> StoreResult<Option<User>>;
    async fn end_session(&self, token: &str) -> StoreResult<()>;
}

/// Review of recognised tasks: a reviewer checks a task out (ToReview → InReview), edits its
/// fields while holding it, then completes (→ Reviewed) or releases it (→ ToReview). A
/// checkout lapses at its time; another reviewer may then take the task. Each method returns
/// `NotFound` for a task not in the organisation, `CheckedOut` when someone else holds it and
/// `NotReviewable` when its status does not allow the step.
#[async_trait]
pub trait Reviews {
    /// Takes the task, or renews the reviewer's own hold, until `until`.
    async fn check_out(
        &self,
        org_id: i64,
        task_id: i64,
        by: &Reviewer,
        until: Timestamp,
    ) -> StoreResult<Checkout>;
    /// Gives the task back to the queue (ToReview); its edits stay.
    async fn release(&self, org_id: i64, task_id: i64, by: &Reviewer) -> StoreResult<()>;
    /// Keeps edits made by the reviewer holding the task.
    async fn record_edits(&self, org_id: i64, task_id: i64, edits: &[FieldEdit])
        -> StoreResult<()>;
    /// Ends the review: the task is Reviewed and the hold ends.
    async fn complete_review(&self, org_id: i64, task_id: i64, by: &Reviewer) -> StoreResult<()>;
    /// Every edit of the task, oldest first.
    async fn field_edits(&self, task_id: i64) -> StoreResult<Vec<FieldEdit>>;
    /// Who holds or last held the task, if anyone ever did.
    async fn checkout(&self, task_id: i64) -> StoreResult<Option<Checkout>>;
    /// Decides who may review the task: the given reviewers, else the workspace's (all of
    /// them, or the next in turn). Replaces any earlier assignment; returns the user ids
    /// (empty: everyone who sees the workspace).
    async fn assign_reviewers(&self, task_id: i64, reviewers: &[i64]) -> StoreResult<Vec<i64>>;
    /// The users the task is assigned to (empty: everyone who sees its workspace).
    async fn task_reviewers(&self, task_id: i64) -> StoreResult<Vec<i64>>;
}

/// A task's life after its work: stuck tasks put back, finished ones moved to history,
/// deletion and cancellation, and removing deleted tasks' files. `now` is passed in so that
/// tests can move the clock.
#[async_trait]
pub trait Lifecycle {
    /// Puts back tasks that stayed in a transient status longer than allowed with nothing
    /// working on them (no pipeline job; a lapsed review checkout), to the nearest valid status
    /// (queuing their job again), flagged with why. Returns (task, from, to) for each.
    async fn revert_stuck(
        &self,
        now: Timestamp,
        stuck_after: &[(TaskStatus, i64)],
    ) -> StoreResult<Vec<(i64, TaskStatus, TaskStatus)>>;
    /// Moves Processed and ExportCompleted tasks older than `days` to history; returns how many.
    async fn move_to_history(&self, now: Timestamp, days: i64) -> StoreResult<u64>;
    /// Deletes a task (Deleting, then Deleted): its results, edits and pending work go at
    /// once, its original file after the retention period. False when no such task.
    async fn delete_task(&self, org_id: i64, task: &TaskRef) -> StoreResult<bool>;
    /// Stops a queued or running task (its job dropped; failed with the reason "cancelled").
    /// `NotReviewable` when it is neither; false when no such task.
    async fn cancel_task(&self, org_id: i64, task: &TaskRef) -> StoreResult<bool>;
    /// Lets go of the original files of tasks deleted more than `days` ago; returns the keys
    /// no task refers to any more, for the file store to remove.
    async fn release_deleted_files(&self, now: Timestamp, days: i64) -> StoreResult<Vec<String>>;
}

/// What reviewers' corrections taught, per supplier of an organisation.
#[async_trait]
pub trait Learning {
    /// Keeps the rule, replacing the supplier's earlier one for the same field.
    async fn remember_rule(
        &self,
        org_id: i64,
        supplier: &str,
        rule: &LearnedRule,
    ) -> StoreResult<()>;
    async fn supplier_rules(&self, org_id: i64, supplier: &str) -> StoreResult<Vec<LearnedRule>>;
}

/// What operations ask of the database.
#[async_trait]
pub trait Operations {
    /// Whether the database answers, for readiness checks.
    async fn ping(&self) -> StoreResult<()>;
    /// A consistent copy of the whole database at `path` (which must not exist), taken while
    /// docket keeps working; where the database is a server, its own tools do this.
    async fn backup_into(&self, path: &Path) -> StoreResult<()>;
    /// Brings the query planner's statistics up to date, so lists pick their narrowest index
    /// (the sweeper calls it; PostgreSQL's autovacuum does this on its own).
    async fn refresh_statistics(&self) -> StoreResult<()>;
}

/// Results to the client's system: each workspace's webhook, and the outbox of messages the
/// store writes in the same transaction as the review that makes them (a workspace with an
/// enabled webhook gets one per reviewed task), taken one attempt at a time under a lease so
/// that exactly one attempt of a message is in flight across every process.
#[async_trait]
pub trait Webhooks {
    async fn webhook(&self, org_id: i64, workspace_id: i64)
        -> StoreResult<Option<WebhookSettings>>;
    /// Sets the workspace's webhook, or removes it (None); false when the workspace is not the
    /// organisation's.
    async fn set_webhook(
        &self,
        org_id: i64,
        workspace_id: i64,
        webhook: Option<&WebhookSettings>,
    ) -> StoreResult<bool>;
    /// Takes the message most overdue whose webhook is enabled, for one attempt: no other
    /// process takes it until its webhook's timeout and `margin_seconds` have passed. Its task
    /// moves to Exporting.
    async fn claim_message(
        &self,
        now: Timestamp,
        margin_seconds: i64,
    ) -> StoreResult<Option<OutboundMessage>>;
    /// Keeps the attempt and takes the next step: delivered (the task ExportCompleted, then
    /// Processed, its integration Successful), another attempt later, or given up (the task
    /// ExportFailed, then back to ToReview, its integration Failed with the reason; on 410 the
    /// webhook is turned off). Nothing happens when the message is gone (the task was
    /// reprocessed or deleted meanwhile).
    async fn finish_attempt(
        &self,
        message: &OutboundMessage,
        attempt: &DeliveryAttempt,
        next: &NextStep,
    ) -> StoreResult<()>;
    /// The task's messages, newest first, with their attempts.
    async fn deliveries(&self, task_id: i64) -> StoreResult<Vec<Delivery>>;
    /// Sends the task's newest message again, with the same id, from its first attempt; None
    /// when the task has none.
    async fn redeliver(&self, task_id: i64, now: Timestamp) -> StoreResult<Option<String>>;
}

/// A database backend: every port.
pub trait Backend:
    Credentials
    + Catalog
    + Tasks
    + Jobs
    + People
    + Reviews
    + Lifecycle
    + Learning
    + Webhooks
    + Operations
    + Send
    + Sync
{
}

impl<T> Backend for T where
    T: Credentials
        + Catalog
        + Tasks
        + Jobs
        + People
        + Reviews
        + Lifecycle
        + Learning
        + Webhooks
        + Operations
        + Send
        + Sync
{
}

/// The store docket runs on, whichever the backend.
#[derive(Clone)]
pub struct Store(Arc<dyn Backend>);

impl Deref for Store {
    type Target = dyn Backend;

    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

impl Store {
    /// Opens (creating if needed) the SQLite database file in an existing directory and brings
    /// its schema up to date.
    pub async fn open(path: &Path) -> anyhow::Result<Self> {
        Ok(Store(Arc::new(sqlite::open(path).await?)))
    }

    /// Connects to a PostgreSQL database (`postgres://...`) and brings its schema up to date.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        Ok(Store(Arc::new(postgres::connect(url).await?)))
    }

    /// The database at `url` when given, else the SQLite file in the data directory.
    pub async fn open_at(data_dir: &Path, url: Option<&str>) -> anyhow::Result<Self> {
        match url {
            Some(url) => Self::connect(url).await,
            None => Self::open(&data_dir.join("docket.db")).await,
        }
    }
}
