//! Content-addressed file storage: a file's key is the SHA-256 of its bytes, so storing the same
//! original twice keeps one copy and a key never points at changed content. Backed by
//! `object_store`, whose S3 implementation can replace the local directory later.

use std::fs::DirBuilder;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;
use std::sync::Arc;

use object_store::local::LocalFileSystem;
use object_store::{path::Path as ObjectPath, ObjectStore, PutPayload};
use sha2::{Digest, Sha256};

#[derive(Clone)]
pub struct BlobStore {
    inner: Arc<dyn ObjectStore>,
}

impl BlobStore {
    pub fn local(root: &Path) -> anyhow::Result<Self> {
        DirBuilder::new().recursive(true).mode(0o700).create(root)?;
        Ok(BlobStore {
            inner: Arc::new(LocalFileSystem::new_with_prefix(root)?),
        })
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

    /// None when no file has this key (e.g. it was removed from the store).
    pub async fn find(&self, key: &str) -> anyhow::Result<Option<Vec<u8>>> {
        match self.inner.get(&Self::location(key)).await {
            Ok(result) => Ok(Some(result.bytes().await?.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}
