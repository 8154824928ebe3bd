//! `s3://bucket/key` URIs.

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
