//! Object storage for COPY and UNLOAD: a trait with S3's semantics (buckets, keys, listing by
//! key prefix) and a local implementation where `s3://bucket/key` is `<root>/bucket/key`.
//! (The AWS implementation lives outside the language crates.)

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use tokio::io::AsyncRead;

/// A parsed `s3://bucket/key` URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Uri {
    /// Bucket name.
    pub bucket: String,
    /// Key (or key prefix).
    pub key: String,
}

impl S3Uri {
    /// Parses `s3://bucket/key`.
    pub fn parse(uri: &str) -> Option<S3Uri> {
        let rest = uri.strip_prefix("s3://")?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return None;
        }
        Some(S3Uri {
            bucket: bucket.to_string(),
            key: key.to_string(),
        })
    }
}

impl std::fmt::Display for S3Uri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

/// An object found by a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Full key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
}

/// Errors from object storage.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    /// The bucket does not exist.
    #[error("the bucket {0} does not exist")]
    NoSuchBucket(String),
    /// The key does not exist.
    #[error("the object {0} does not exist")]
    NoSuchKey(String),
    /// A key that cannot be stored locally (e.g. containing `..`).
    #[error("invalid object key {0}")]
    InvalidKey(String),
    /// Any other failure.
    #[error("{uri}: {message}")]
    Io {
        /// The object or prefix.
        uri: String,
        /// What failed.
        message: String,
    },
}

/// S3-like object storage.
#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// Objects whose key starts with `prefix`, sorted by key.
    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<ObjectInfo>, ObjectError>;
    /// A reader over an object's bytes.
    async fn get(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Box<dyn AsyncRead + Send + Unpin>, ObjectError>;
    /// Stores an object (whole, atomically).
    async fn put(&self, bucket: &str, key: &str, data: Vec<u8>) -> Result<(), ObjectError>;
}

/// A directory standing in for S3: `<root>/<bucket>/<key>`.
#[derive(Debug, Clone)]
pub struct LocalS3 {
    root: PathBuf,
}

impl LocalS3 {
    /// Local S3 rooted at `root` (e.g. `.rsqlflow/s3`).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LocalS3 { root: root.into() }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, bucket: &str, key: &str) -> Result<PathBuf, ObjectError> {
        let bad = || ObjectError::InvalidKey(format!("s3://{bucket}/{key}"));
        if bucket.contains('/') || bucket == ".." || bucket == "." {
            return Err(bad());
        }
        let mut p = self.root.join(bucket);
        for part in key.split('/') {
            if part == ".." || part == "." {
                return Err(bad());
            }
            if !part.is_empty() {
                p.push(part);
            }
        }
        Ok(p)
    }
}

fn io_err(uri: String) -> impl FnOnce(std::io::Error) -> ObjectError {
    move |e| ObjectError::Io {
        uri,
        message: e.to_string(),
    }
}

#[async_trait]
impl ObjectStore for LocalS3 {
    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<ObjectInfo>, ObjectError> {
        let bucket_dir = self.path(bucket, "")?;
        if !tokio::fs::try_exists(&bucket_dir).await.unwrap_or(false) {
            return Err(ObjectError::NoSuchBucket(bucket.to_string()));
        }
        // Walk only the directory that can hold keys with this prefix.
        let dir_part = prefix.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        let start = self.path(bucket, dir_part)?;
        let mut out = Vec::new();
        let mut stack = vec![(start, dir_part.to_string())];
        while let Some((dir, key_dir)) = stack.pop() {
            let mut rd = match tokio::fs::read_dir(&dir).await {
                Ok(rd) => rd,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_err(format!("s3://{bucket}/{key_dir}"))(e)),
            };
            while let Some(entry) = rd
                .next_entry()
                .await
                .map_err(io_err(format!("s3://{bucket}/{key_dir}")))?
            {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with(".rsqlflow-") {
                    continue;
                }
                let key = if key_dir.is_empty() {
                    name
                } else {
                    format!("{key_dir}/{name}")
                };
                let ft = entry
                    .file_type()
                    .await
                    .map_err(io_err(format!("s3://{bucket}/{key}")))?;
                if ft.is_dir() {
                    if prefix.starts_with(&format!("{key}/")) || key.starts_with(prefix) {
                        stack.push((entry.path(), key));
                    }
                } else if key.starts_with(prefix) {
                    let size = entry.metadata().await.map(|m| m.len()).unwrap_or(0);
                    out.push(ObjectInfo { key, size });
                }
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    async fn get(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Box<dyn AsyncRead + Send + Unpin>, ObjectError> {
        let p = self.path(bucket, key)?;
        match tokio::fs::File::open(&p).await {
            Ok(f) => Ok(Box::new(f)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(ObjectError::NoSuchKey(format!("s3://{bucket}/{key}")))
            }
            Err(e) => Err(io_err(format!("s3://{bucket}/{key}"))(e)),
        }
    }

    async fn put(&self, bucket: &str, key: &str, data: Vec<u8>) -> Result<(), ObjectError> {
        let p = self.path(bucket, key)?;
        let uri = format!("s3://{bucket}/{key}");
        if let Some(parent) = p.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(io_err(uri.clone()))?;
        }
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = p.with_file_name(format!(".rsqlflow-{}-{name}.tmp", std::process::id()));
        tokio::fs::write(&tmp, data)
            .await
            .map_err(io_err(uri.clone()))?;
        tokio::fs::rename(&tmp, &p).await.map_err(io_err(uri))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn prefix_listing_and_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let s3 = LocalS3::new(dir.path());
        s3.put("b", "in/parts/part_00.gz", b"x".to_vec())
            .await
            .unwrap();
        s3.put("b", "in/parts/part_01.gz", b"yy".to_vec())
            .await
            .unwrap();
        s3.put("b", "in/other.csv", b"z".to_vec()).await.unwrap();
        let keys: Vec<_> = s3
            .list("b", "in/parts/part_")
            .await
            .unwrap()
            .into_iter()
            .map(|o| o.key)
            .collect();
        assert_eq!(keys, vec!["in/parts/part_00.gz", "in/parts/part_01.gz"]);
        let all = s3.list("b", "in/").await.unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(s3.list("b", "in/p").await.unwrap().len(), 2);
        assert!(s3.list("b", "nothing").await.unwrap().is_empty());
        assert!(matches!(
            s3.list("nob", "").await,
            Err(ObjectError::NoSuchBucket(_))
        ));
        assert!(matches!(
            s3.put("b", "../x", vec![]).await,
            Err(ObjectError::InvalidKey(_))
        ));
        assert_eq!(S3Uri::parse("s3://b/k/x").unwrap().key, "k/x");
    }
}
