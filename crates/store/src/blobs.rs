//! Content-addressed file storage: a file's key is the SHA-256 of its bytes, so storing the same
//! original twice keeps one copy and a key never points at changed content. Backed by
//! `object_store`: a local directory, or an S3 bucket that several docket processes share.
//! Uploads are spooled to a local temporary file as they arrive, so concurrent uploads cost
//! disk, not memory.

use std::fs::DirBuilder;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::prefix::PrefixStore;
use object_store::{path::Path as ObjectPath, ObjectStore, PutPayload};
use sha2::{Digest, Sha256};
use tempfile::TempPath;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Clone)]
pub struct BlobStore {
    inner: Arc<dyn ObjectStore>,
    /// Where uploads are spooled before they are stored.
    spool: PathBuf,
}

/// Spooled files are copied into the store in parts of this size (S3's minimum is 5 MiB).
const PART_BYTES: usize = 8 * 1024 * 1024;

impl BlobStore {
    pub fn local(root: &Path) -> anyhow::Result<Self> {
        DirBuilder::new().recursive(true).mode(0o700).create(root)?;
        let inner = Arc::new(LocalFileSystem::new_with_prefix(root)?);
        Self::spooled_in(inner, root.join("spool"))
    }

    /// Files in an S3 bucket under a prefix, `s3://bucket/prefix`; the endpoint, region and
    /// credentials come from the usual variables (`AWS_ENDPOINT`, `AWS_REGION`,
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_ALLOW_HTTP` for a plain-HTTP
    /// endpoint). Uploads are spooled in `spool`, on local disk.
    pub fn s3(url: &str, spool: &Path) -> anyhow::Result<Self> {
        let parsed = url::Url::parse(url).with_context(|| format!("{url} is not a URL"))?;
        anyhow::ensure!(
            parsed.scheme() == "s3",
            "storage {url}: only s3://bucket/prefix is known"
        );
        let bucket = parsed
            .host_str()
            .with_context(|| format!("storage {url} names no bucket"))?;
        let s3 = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .build()?;
        let prefix = parsed.path().trim_matches('/');
        let inner: Arc<dyn ObjectStore> = if prefix.is_empty() {
            Arc::new(s3)
        } else {
            Arc::new(PrefixStore::new(s3, prefix))
        };
        Self::spooled_in(inner, spool.to_owned())
    }

    fn spooled_in(inner: Arc<dyn ObjectStore>, spool: PathBuf) -> anyhow::Result<Self> {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&spool)?;
        Ok(BlobStore { inner, spool })
    }

    /// Whether stored files can be listed, for readiness checks.
    pub async fn ping(&self) -> anyhow::Result<()> {
        self.inner.list_with_delimiter(None).await?;
        Ok(())
    }

    /// A new, empty spool file for an upload; deleted when dropped.
    pub async fn spool(&self) -> anyhow::Result<Spool> {
        let (file, path) = tempfile::NamedTempFile::new_in(&self.spool)?.into_parts();
        Ok(Spool {
            file: tokio::fs::File::from_std(file),
            path,
            hasher: Sha256::new(),
            size: 0,
        })
    }

    /// Stores a spooled upload part by part and returns its key.
    pub async fn put_spooled(&self, mut spool: Spool) -> anyhow::Result<String> {
        spool.file.flush().await?;
        let key = hex::encode(spool.hasher.finalize_reset());
        let location = Self::location(&key);
        if self.inner.head(&location).await.is_ok() {
            return Ok(key);
        }
        let mut file = tokio::fs::File::open(&spool.path).await?;
        let mut upload = self.inner.put_multipart(&location).await?;
        let copied = async {
            loop {
                let mut part = Vec::with_capacity(PART_BYTES);
                (&mut file)
                    .take(PART_BYTES as u64)
                    .read_to_end(&mut part)
                    .await?;
                if part.is_empty() {
                    return anyhow::Ok(());
                }
                upload.put_part(PutPayload::from(part)).await?;
            }
        }
        .await;
        match copied {
            Ok(()) => {
                upload.complete().await?;
                Ok(key)
            }
            Err(e) => {
                let _ = upload.abort().await;
                Err(e)
            }
        }
    }

    fn location(key: &str) -> ObjectPath {
        let prefix = key.get(..2).unwrap_or("xx");
        ObjectPath::from(format!("sha256/{prefix}/{key}"))
    }

    /// Stores the bytes and returns their key.
    pub async fn put(&self, bytes: Vec<u8>) -> anyhow::Result<String> {
        let key = hex::encode(Sha256::digest(&bytes));
        let location = Self::location(&key);
        if self.inner.head(&location).await.is_err() {
            self.inner.put(&location, PutPayload::from(bytes)).await?;
        }
        Ok(key)
    }

    pub async fn get(&self, key: &str) -> anyhow::Result<Vec<u8>> {
        self.find(key)
            .await?
            .ok_or_else(|| anyhow::anyhow!("stored file {key} is missing"))
    }

    /// Removes a stored file; one already gone is fine.
    pub async fn delete(&self, key: &str) -> anyhow::Result<()> {
        match self.inner.delete(&Self::location(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// None when no file has this key (e.g. it was removed from the store).
    pub async fn find(&self, key: &str) -> anyhow::Result<Option<Vec<u8>>> {
        match self.inner.get(&Self::location(key)).await {
            Ok(result) => Ok(Some(result.bytes().await?.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// An upload being written to disk, hashed as it arrives.
pub struct Spool {
    file: tokio::fs::File,
    path: TempPath,
    hasher: Sha256,
    size: u64,
}

impl Spool {
    pub async fn write(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        self.file.write_all(chunk).await?;
        self.hasher.update(chunk);
        self.size += chunk.len() as u64;
        Ok(())
    }

    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }
}
