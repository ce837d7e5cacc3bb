//! The lifecycle sweeper: runs beside the workers and, every sweep interval, puts back tasks
//! stuck in a transient status, moves old finished tasks to history, and removes the files of
//! tasks deleted longer ago than the retention period. Every step is a guarded write, so any
//! number of processes may sweep at once.

use docket_domain::lifecycle::LifecyclePolicy;
use docket_domain::Timestamp;
use docket_store::blobs::BlobStore;
use docket_store::Store;
use tracing::{info, warn};

/// What one sweep did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub reverted: usize,
    pub moved_to_history: u64,
    pub files_removed: usize,
}

/// One sweep as of `now` (tests move the clock; the loop passes the real time).
pub async fn sweep(
    store: &Store,
    blobs: &BlobStore,
    policy: &LifecyclePolicy,
    now: Timestamp,
) -> anyhow::Result<Swept> {
    let reverted = store.revert_stuck(now, &policy.stuck_after).await?;
    for (task_id, from, to) in &reverted {
        warn!(
            task_id,
            from = from.name(),
            to = to.name(),
            "stuck task put back"
        );
    }
    let moved_to_history = store
        .move_to_history(now, policy.history_after_days)
        .await?;
    let unused = store
        .release_deleted_files(now, policy.retention_days)
        .await?;
    for key in &unused {
        blobs.delete(key).await?;
    }
    store.refresh_statistics().await?;
    if moved_to_history > 0 || !unused.is_empty() {
        info!(moved_to_history, files_removed = unused.len(), "swept");
    }
    Ok(Swept {
        reverted: reverted.len(),
        moved_to_history,
        files_removed: unused.len(),
    })
}
