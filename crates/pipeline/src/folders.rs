//! Folder intake, as Paperless-ngx's consumer does it: documents dropped in a watched folder
//! become tasks of the folder's workspace (and batch). A periodic scan is the source of truth
//! (change notifications never come from network shares; where they do, inotify only wakes the
//! next scan early); a file is taken only once its size
//! held between two scans and it is older than the settling delay, claimed by renaming it into
//! the folder's work directory (of two processes watching one folder, one rename wins), and
//! turned into a task whose externalId is the file's content hash, so a restart or a second
//! claim finds the task already made instead of making another. The file then goes to
//! `processed/` with `<name>.json` holding the taskId, or to `failed/` with the reason.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::json;
use tracing::{info, warn};

use super::detect::detect;
use super::export::export_and_pages;
use docket_domain::{ExternalId, Priority, TaskStatus};
use docket_store::blobs::BlobStore;
use docket_store::{NewTask, Store, StoreError, StoredFile, TaskRef};

/// Where a folder's files go as they are handled.
const WORK: &str = ".docket-work";
const PROCESSED: &str = "processed";
const FAILED: &str = "failed";

/// A watched folder and where its documents go.
#[derive(Debug, Clone)]
pub struct WatchedFolder {
    pub path: PathBuf,
    pub org_id: i64,
    pub workspace_id: i64,
    pub batch_id: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct IntakeConfig {
    /// How old a file's last change must be before it is taken.
    pub settle: Duration,
    /// A file left in the work directory this long by a process that died is taken again.
    pub abandoned_after: Duration,
    /// Larger files go to `failed/`.
    pub max_bytes: u64,
    /// Once a task made from a file is reviewed, its export (GetExportData) is written beside
    /// the file in `processed/` as `<name>.export.json`.
    pub write_exports: bool,
}

impl Default for IntakeConfig {
    fn default() -> Self {
        IntakeConfig {
            settle: Duration::from_secs(2),
            abandoned_after: Duration::from_secs(300),
            max_bytes: 100 * 1024 * 1024,
            write_exports: false,
        }
    }
}

/// What became of a file taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Task(i64),
    Failed(String),
}

/// System and partial files a scan leaves alone.
fn ignored(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    name.starts_with('.')
        || name.starts_with("~$")
        || lower == "desktop.ini"
        || lower == "thumbs.db"
        || [
            ".part",
            ".partial",
            ".crdownload",
            ".download",
            ".tmp",
            ".json",
        ]
        .iter()
        .any(|suffix| lower.ends_with(suffix))
}

pub struct FolderIntake {
    store: Store,
    blobs: BlobStore,
    folders: Vec<WatchedFolder>,
    config: IntakeConfig,
    /// Size and modification time of each file at the previous scan.
    seen: HashMap<PathBuf, (u64, SystemTime)>,
}

impl FolderIntake {
    pub fn new(
        store: Store,
        blobs: BlobStore,
        folders: Vec<WatchedFolder>,
        config: IntakeConfig,
    ) -> anyhow::Result<Self> {
        for folder in &folders {
            for dir in [WORK, PROCESSED, FAILED] {
                std::fs::create_dir_all(folder.path.join(dir))?;
            }
        }
        Ok(FolderIntake {
            store,
            blobs,
            folders,
            config,
            seen: HashMap::new(),
        })
    }

    /// One scan of every folder: takes each file that has settled, and each one a dead process
    /// left half-handled. Returns what became of them.
    pub async fn scan(&mut self) -> anyhow::Result<Vec<(PathBuf, Outcome)>> {
        let mut handled = Vec::new();
        let mut still_seen = HashMap::new();
        for folder in self.folders.clone() {
            for path in self.settled(&folder, &mut still_seen)? {
                let name = file_name(&path);
                let claimed = folder.path.join(WORK).join(&name);
                match std::fs::rename(&path, &claimed) {
                    Ok(()) => {}
                    // Another process took it first.
                    Err(e) if e.kind() == ErrorKind::NotFound => continue,
                    Err(e) => return Err(e.into()),
                }
                handled.push((path, self.handle(&folder, &claimed).await?));
            }
            for claimed in self.abandoned(&folder)? {
                handled.push((claimed.clone(), self.handle(&folder, &claimed).await?));
            }
            if self.config.write_exports {
                self.write_exports(&folder).await?;
            }
        }
        self.seen = still_seen;
        Ok(handled)
    }

    /// The folder's files whose size held since the previous scan and whose last change is
    /// older than the settling delay.
    fn settled(
        &self,
        folder: &WatchedFolder,
        still_seen: &mut HashMap<PathBuf, (u64, SystemTime)>,
    ) -> anyhow::Result<Vec<PathBuf>> {
        let mut settled = Vec::new();
        for entry in std::fs::read_dir(&folder.path)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(meta) = entry.metadata() else { continue };
            if !meta.is_file() || ignored(&name) {
                continue;
            }
            let (size, modified) = (meta.len(), meta.modified()?);
            let path = entry.path();
            let age = SystemTime::now()
                .duration_since(modified)
                .unwrap_or_default();
            if self.seen.get(&path) == Some(&(size, modified)) && age >= self.config.settle {
                settled.push(path);
            } else {
                still_seen.insert(path, (size, modified));
            }
        }
        Ok(settled)
    }

    /// Files in the work directory whose claim is older than `abandoned_after` (a rename sets
    /// a file's change time), each claimed again by renaming it in place: one process wins.
    fn abandoned(&self, folder: &WatchedFolder) -> anyhow::Result<Vec<PathBuf>> {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let mut taken = Vec::new();
        for entry in std::fs::read_dir(folder.path.join(WORK))? {
            let entry = entry?;
            let Ok(meta) = entry.metadata() else { continue };
            let claimed_at = u64::try_from(meta.ctime()).unwrap_or(0);
            if !meta.is_file()
                || now.saturating_sub(claimed_at) < self.config.abandoned_after.as_secs()
            {
                continue;
            }
            let path = entry.path();
            let retaken = path.with_file_name(format!("{}.again", file_name(&path)));
            match std::fs::rename(&path, &retaken) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(e.into()),
            }
            let back = path.clone();
            std::fs::rename(&retaken, &back)?;
            taken.push(back);
        }
        Ok(taken)
    }

    /// Writes `<name>.export.json` beside each processed file whose task has been reviewed
    /// since (written aside and renamed, so a reader never sees half of one).
    async fn write_exports(&self, folder: &WatchedFolder) -> anyhow::Result<()> {
        let processed = folder.path.join(PROCESSED);
        for entry in std::fs::read_dir(&processed)? {
            let path = entry?.path();
            let name = file_name(&path);
            let Some(file) = name.strip_suffix(".json") else {
                continue;
            };
            if file.ends_with(".export") || name.starts_with('.') {
                continue;
            }
            let export_path = processed.join(format!("{file}.export.json"));
            if export_path.exists() {
                continue;
            }
            let sidecar: serde_json::Value = serde_json::from_slice(&std::fs::read(&path)?)?;
            let Some(task_id) = sidecar["taskId"].as_i64() else {
                continue;
            };
            let Some(task) = self
                .store
                .task(folder.org_id, &TaskRef::Id(task_id))
                .await?
            else {
                continue;
            };
            let reviewed = matches!(
                task.summary.task_status,
                TaskStatus::Reviewed
                    | TaskStatus::Exporting
                    | TaskStatus::ExportCompleted
                    | TaskStatus::Processed
            );
            if !reviewed {
                continue;
            }
            let (export, _) = export_and_pages(&self.store, task, None).await?;
            let partial = processed.join(format!(".{file}.export.json.partial"));
            std::fs::write(&partial, serde_json::to_vec_pretty(&export)?)?;
            std::fs::rename(&partial, &export_path)?;
            info!(task_id, file = %export_path.display(), "export written beside the file");
        }
        Ok(())
    }

    /// Makes the claimed file's task (or finds the one it made before) and moves the file to
    /// `processed/` or `failed/` with its sidecar.
    async fn handle(&self, folder: &WatchedFolder, claimed: &Path) -> anyhow::Result<Outcome> {
        let outcome = match self.task_for(folder, claimed).await {
            Ok(task) => Outcome::Task(task),
            Err(Refused(reason)) => Outcome::Failed(reason),
        };
        let (dir, sidecar) = match &outcome {
            Outcome::Task(id) => (PROCESSED, json!({ "taskId": id })),
            Outcome::Failed(reason) => (FAILED, json!({ "reason": reason })),
        };
        let target = free_name(&folder.path.join(dir), &file_name(claimed));
        std::fs::rename(claimed, &target)?;
        // Written aside and renamed: whoever sees the sidecar sees all of it.
        let name = file_name(&target);
        let partial = target.with_file_name(format!(".{name}.json.partial"));
        std::fs::write(&partial, serde_json::to_vec_pretty(&sidecar)?)?;
        std::fs::rename(&partial, target.with_file_name(format!("{name}.json")))?;
        match &outcome {
            Outcome::Task(task_id) => info!(task_id, file = %target.display(), "file taken"),
            Outcome::Failed(reason) => warn!(reason, file = %target.display(), "file refused"),
        }
        Ok(outcome)
    }

    async fn task_for(&self, folder: &WatchedFolder, claimed: &Path) -> Result<i64, Refused> {
        let meta = std::fs::metadata(claimed).map_err(Refused::from_error)?;
        if meta.len() > self.config.max_bytes {
            return Err(Refused(format!(
                "the file is larger than the {}-byte limit",
                self.config.max_bytes
            )));
        }
        let bytes = std::fs::read(claimed).map_err(Refused::from_error)?;
        detect(&bytes).map_err(|e| Refused(e.to_string()))?;
        // Stored files are named by their SHA-256: the same content, the same externalId.
        let key = self.blobs.put(bytes).await.map_err(Refused::from_error)?;
        let external_id = ExternalId::parse(&format!("sha256:{key}")).map_err(|e| Refused(e.0))?;
        let name = file_name(claimed);
        let new = NewTask {
            org_id: folder.org_id,
            workspace_id: folder.workspace_id,
            batch_id: folder.batch_id,
            external_id: Some(external_id.clone()),
            display_name: Some(name.clone()),
            description: None,
            priority: Priority::default(),
            source_url: None,
            request: json!({ "folder": folder.path.display().to_string(), "fileName": name }),
            metadata: Default::default(),
            original: Some(StoredFile {
                key,
                media_type: StoredFile::UNDETECTED.to_owned(),
                file_name: Some(name),
            }),
        };
        match self.store.create_task(new).await {
            Ok(task) => Ok(task.summary.id),
            // Made before: by a process that died before moving the file, or from a copy.
            Err(StoreError::DuplicateExternalId) => {
                let made = self
                    .store
                    .task(folder.org_id, &TaskRef::External(external_id))
                    .await
                    .map_err(Refused::from_error)?;
                made.map(|t| t.summary.id)
                    .ok_or_else(|| Refused("the task of this file is gone".into()))
            }
            Err(e) => Err(Refused::from_error(e)),
        }
    }
}

/// Wakes `wake` whenever something changes in one of the folders (inotify), so a scan need not
/// wait for its interval. Changes stop waking when the returned watcher is dropped.
pub fn wake_on_changes(
    folders: &[WatchedFolder],
    wake: std::sync::Arc<tokio::sync::Notify>,
) -> anyhow::Result<notify::RecommendedWatcher> {
    use notify::Watcher;
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok() {
            wake.notify_one();
        }
    })?;
    for folder in folders {
        watcher.watch(&folder.path, notify::RecursiveMode::NonRecursive)?;
    }
    Ok(watcher)
}

/// Why a file did not become a task.
struct Refused(String);

impl Refused {
    fn from_error(e: impl std::fmt::Display) -> Self {
        Refused(e.to_string())
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `dir/name`, or `dir/name (2)` and so on when a file of that name is there already.
fn free_name(dir: &Path, name: &str) -> PathBuf {
    let first = dir.join(name);
    if !first.exists() {
        return first;
    }
    let (stem, extension) = match name.rsplit_once('.') {
        Some((stem, extension)) => (stem, format!(".{extension}")),
        None => (name, String::new()),
    };
    (2..)
        .map(|n| dir.join(format!("{stem} ({n}){extension}")))
        .find(|candidate| !candidate.exists())
        .unwrap_or(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_and_partial_files_are_left_alone() {
        for name in [
            ".DS_Store",
            "._fatura.pdf",
            "desktop.ini",
            "Thumbs.db",
            "~$fatura.docx",
            "fatura.pdf.part",
            "fatura.pdf.crdownload",
            "fatura.pdf.json",
        ] {
            assert!(ignored(name), "{name}");
        }
        assert!(!ignored("fatura.pdf") && !ignored("scan 1.JPG"));
    }

    #[test]
    fn names_taken_get_a_number() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(free_name(dir.path(), "a.pdf"), dir.path().join("a.pdf"));
        std::fs::write(dir.path().join("a.pdf"), b"x").unwrap();
        assert_eq!(free_name(dir.path(), "a.pdf"), dir.path().join("a (2).pdf"));
    }
}
