//! Wiring: opens the data directory, the store (SQLite or PostgreSQL) and the files, builds the
//! pipeline and the router. Used by `docket serve` and by the integration tests alike.

use std::fs::{DirBuilder, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use std::time::Duration;

use anyhow::Context;
use rand::RngCore;

use crate::api::{self, ApiConfig, AppState, FileLinks};
use crate::pipeline::fetch::FetchPolicy;
use crate::pipeline::webhooks::ExportLinks;
use crate::pipeline::{pdf, Pipeline, PipelineConfig, Workers};
use crate::store::blobs::BlobStore;
use crate::store::{IssuedCredentials, Store};

#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    /// A PostgreSQL database (`postgres://...`), or None for the SQLite file in the data
    /// directory.
    pub database_url: Option<String>,
    /// Where stored files live: `s3://bucket/prefix`, or None for `files/` in the data
    /// directory.
    pub storage: Option<String>,
    pub pdfium_library: PathBuf,
    pub api: ApiConfig,
    pub pipeline: PipelineConfig,
}

impl Settings {
    /// Defaults for a data directory; the PDFium path from `DOCKET_PDFIUM_LIB` or the place
    /// `scripts/setup.sh` installs it.
    pub fn new(data_dir: &Path) -> Self {
        Settings {
            data_dir: data_dir.to_owned(),
            database_url: None,
            storage: None,
            pdfium_library: std::env::var_os("DOCKET_PDFIUM_LIB")
                .map_or_else(|| PathBuf::from(DEFAULT_PDFIUM_LIBRARY), PathBuf::from),
            api: ApiConfig::default(),
            pipeline: PipelineConfig::default(),
        }
    }

    pub fn allow_private_urls(mut self, allow: bool) -> Self {
        self.pipeline.fetch.allow_private = allow;
        self
    }

    pub fn max_file_bytes(mut self, bytes: u64) -> Self {
        self.pipeline.fetch.max_bytes = bytes;
        self.api.max_upload_bytes = usize::try_from(bytes).unwrap_or(usize::MAX);
        self
    }

    pub fn download_timeout(mut self, timeout: Duration) -> Self {
        self.pipeline.fetch = FetchPolicy {
            timeout,
            ..self.pipeline.fetch
        };
        self
    }
}

/// Creates the data directory if needed (private to docket's user) and checks that docket can
/// write in it, so that a read-only directory stops docket at start with a clear message
/// instead of failing every job later.
pub fn prepare_data_dir(dir: &Path) -> anyhow::Result<()> {
    let unwritable = |e: std::io::Error| {
        anyhow::anyhow!("data directory {} is not writable: {e}", dir.display())
    };
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(unwritable)?;
    let probe = dir.join(".write-probe");
    std::fs::write(&probe, b"").map_err(unwritable)?;
    std::fs::remove_file(&probe).map_err(unwritable)
}

/// Copies a data directory, live, into `to` (which must not exist yet), so that `to` is itself a
/// data directory docket can start on: the database first, as one consistent snapshot, then the
/// link-signing key and the stored files. Files are never changed once stored and are stored
/// before any row names them, so every file the snapshot names is copied.
pub async fn backup(data_dir: &Path, to: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        !to.exists(),
        "{} exists; back up into a new directory",
        to.display()
    );
    let store = Store::open(&data_dir.join("docket.db")).await?;
    prepare_data_dir(to)?;
    store.backup_into(&to.join("docket.db")).await?;
    std::fs::set_permissions(to.join("docket.db"), std::fs::Permissions::from_mode(0o600))?;
    let key = data_dir.join("link.key");
    if key.exists() {
        std::fs::copy(&key, to.join("link.key"))?;
    }
    copy_files(&data_dir.join("files"), &to.join("files"))
}

/// Copies a stored-files tree, leaving uploads still being spooled.
fn copy_files(from: &Path, to: &Path) -> anyhow::Result<()> {
    if !from.is_dir() {
        return Ok(());
    }
    DirBuilder::new().recursive(true).mode(0o700).create(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        if entry.file_type()?.is_dir() {
            if entry.file_name() != "spool" {
                copy_files(&source, &target)?;
            }
        } else {
            std::fs::copy(&source, &target)?;
        }
    }
    Ok(())
}

/// The key that signs file links: 32 random bytes made on first start, readable by docket's
/// user only. Deleting the file invalidates every link handed out.
fn link_key(data_dir: &Path) -> anyhow::Result<[u8; 32]> {
    let path = data_dir.join("link.key");
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
    {
        Ok(mut file) => {
            let mut key = [0u8; 32];
            rand::rng().fill_bytes(&mut key);
            file.write_all(&key)?;
            file.sync_all()?;
            return Ok(key);
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e).with_context(|| format!("cannot create {}", path.display())),
    }
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    bytes.try_into().map_err(|_| {
        anyhow::anyhow!(
            "{} is not a 32-byte key; delete it to make a new one (links handed out stop working)",
            path.display()
        )
    })
}

pub use crate::pipeline::pdf::DEFAULT_LIBRARY as DEFAULT_PDFIUM_LIBRARY;

/// An opened docket: store, files and pipeline, ready to serve.
#[derive(Clone)]
pub struct Docket {
    pub state: AppState,
}

impl Docket {
    pub async fn open(mut settings: Settings) -> anyhow::Result<Self> {
        // Documents are read in child processes; loading PDFium here checks the install early.
        pdf::init(&settings.pdfium_library)?;
        prepare_data_dir(&settings.data_dir)?;
        settings.pipeline.sandbox.pdfium_library = settings.pdfium_library.clone();
        let store = Store::open_at(&settings.data_dir, settings.database_url.as_deref()).await?;
        let blobs = match &settings.storage {
            Some(url) => BlobStore::s3(url, &settings.data_dir.join("spool"))?,
            None => BlobStore::local(&settings.data_dir.join("files"))?,
        };
        let links = FileLinks::new(link_key(&settings.data_dir)?, settings.api.link_ttl_days);
        settings.pipeline.export_links = Some(ExportLinks {
            links: links.clone(),
            base_url: settings.api.public_url.trim_end_matches('/').to_owned(),
        });
        let pipeline = Pipeline::new(store.clone(), blobs.clone(), settings.pipeline)?;
        Ok(Docket {
            state: AppState::new(store, blobs, pipeline, settings.api, links),
        })
    }

    pub fn store(&self) -> &Store {
        &self.state.store
    }

    /// On an empty database, creates the first organisation and returns its credentials.
    pub async fn bootstrap(&self) -> anyhow::Result<Option<IssuedCredentials>> {
        if self.state.store.count_organizations().await? > 0 {
            return Ok(None);
        }
        Ok(Some(
            self.state
                .store
                .create_organization("Default organisation")
                .await?,
        ))
    }

    pub fn start_workers(&self) -> Workers {
        self.state.pipeline.spawn_workers()
    }

    pub fn router(&self) -> axum::Router {
        api::router(self.state.clone())
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn a_data_directory_is_made_private_and_must_be_writable() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("new/data");
        prepare_data_dir(&data).unwrap();
        let mode = std::fs::metadata(&data).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        assert_eq!(
            std::fs::read_dir(&data).unwrap().count(),
            0,
            "no probe left"
        );
        // Under a regular file nothing can be created, even by root (whom modes do not stop).
        std::fs::write(dir.path().join("file"), b"").unwrap();
        let blocked = dir.path().join("file/data");
        let error = prepare_data_dir(&blocked).unwrap_err().to_string();
        assert!(
            error.starts_with(&format!(
                "data directory {} is not writable: ",
                blocked.display()
            )),
            "{error}"
        );
    }

    #[test]
    fn the_link_key_is_made_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let key = link_key(dir.path()).unwrap();
        assert_eq!(link_key(dir.path()).unwrap(), key, "kept across starts");
        let mode = std::fs::metadata(dir.path().join("link.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::write(dir.path().join("link.key"), b"short").unwrap();
        assert!(link_key(dir.path()).is_err());
    }
}
