//! The object storage interface: a trait with S3's semantics (buckets, keys, listing by key
//! prefix), what a listing returns, and its errors. Implemented by [`crate::LocalS3`] here and
//! by the AWS SDK's S3 client in `etl::aws`.

use async_trait::async_trait;
use tokio::io::AsyncRead;

/// An object found by a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Full key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// The entity tag S3 lists (quoted), when the store knows it without reading the object.
    pub etag: Option<String>,
    /// When the object was last written, in seconds since the Unix epoch, when known.
    pub last_modified: Option<i64>,
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
