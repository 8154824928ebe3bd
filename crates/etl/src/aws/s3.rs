//! Amazon S3 as an [`ObjectStore`] (aws-sdk-s3): listing by key prefix with pagination,
//! streaming reads, and whole-object writes. The endpoint, region and credentials come from
//! the standard AWS configuration chain (`AWS_ENDPOINT_URL` points it at a stand-in).

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_runtime_api::client::result::CreateUnhandledError;
use objects::{ObjectError, ObjectInfo, ObjectStore};
use tokio::io::AsyncRead;

/// S3 through the AWS SDK.
#[derive(Debug, Clone)]
pub struct AwsS3 {
    client: Client,
}

impl AwsS3 {
    /// A store using the default AWS configuration (environment, profile, instance role).
    pub async fn from_env() -> AwsS3 {
        AwsS3::from_config(&aws_config::load_from_env().await)
    }

    /// A store from a loaded AWS configuration (one client, built once per cold start in the
    /// Lambdas). An endpoint override (`AWS_ENDPOINT_URL`: moto, a local stand-in) gets
    /// path-style addressing, since such a server has no per-bucket host names.
    pub fn from_config(config: &aws_config::SdkConfig) -> AwsS3 {
        let s3_config = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(config.endpoint_url().is_some())
            .build();
        AwsS3 {
            client: Client::from_conf(s3_config),
        }
    }

    /// A store over an existing client.
    pub fn new(client: Client) -> AwsS3 {
        AwsS3 { client }
    }
}

fn classify(bucket: &str, key: &str, code: Option<&str>, message: String) -> ObjectError {
    match code {
        Some("NoSuchBucket") => ObjectError::NoSuchBucket(bucket.to_string()),
        Some("NoSuchKey") | Some("NotFound") => {
            ObjectError::NoSuchKey(format!("s3://{bucket}/{key}"))
        }
        _ => ObjectError::Io {
            uri: format!("s3://{bucket}/{key}"),
            message,
        },
    }
}

/// Maps an SDK error for `s3://bucket/key` to an [`ObjectError`].
fn sdk_error<E, R>(bucket: &str, key: &str) -> impl FnOnce(SdkError<E, R>) -> ObjectError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + CreateUnhandledError + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    move |e| {
        let e = e.into_service_error();
        classify(bucket, key, e.code(), describe(&e))
    }
}

fn describe<E: ProvideErrorMetadata + std::fmt::Display>(e: &E) -> String {
    match (e.code(), e.message()) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c.to_string(),
        _ => e.to_string(),
    }
}

#[async_trait]
impl ObjectStore for AwsS3 {
    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<ObjectInfo>, ObjectError> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(sdk_error(bucket, prefix))?;
            for o in page.contents() {
                if let Some(key) = o.key() {
                    out.push(ObjectInfo {
                        key: key.to_string(),
                        size: o.size().unwrap_or(0).max(0) as u64,
                        etag: o.e_tag().map(str::to_string),
                        last_modified: o.last_modified().map(|t| t.secs()),
                    });
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
        let r = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(sdk_error(bucket, key))?;
        Ok(Box::new(r.body.into_async_read()))
    }

    async fn put(&self, bucket: &str, key: &str, data: Vec<u8>) -> Result<(), ObjectError> {
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from(data))
            .send()
            .await
            .map_err(sdk_error(bucket, key))?;
        Ok(())
    }
}
