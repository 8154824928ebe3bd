//! Job logs in CloudWatch Logs (the Batch log group) through aws-sdk-cloudwatchlogs.

use async_trait::async_trait;
use aws_sdk_cloudwatchlogs::Client;

use crate::aws::service_error;
use crate::error::ServiceError;
use crate::services::Logs;

/// CloudWatch Logs over the SDK.
#[derive(Debug, Clone)]
pub struct AwsLogs {
    client: Client,
    group: String,
}

impl AwsLogs {
    pub fn new(client: Client, group: impl Into<String>) -> AwsLogs {
        AwsLogs {
            client,
            group: group.into(),
        }
    }
}

#[async_trait]
impl Logs for AwsLogs {
    async fn tail(&self, log_stream: &str, n: usize) -> Result<Vec<String>, ServiceError> {
        let out = self
            .client
            .get_log_events()
            .log_group_name(&self.group)
            .log_stream_name(log_stream)
            .start_from_head(false)
            .limit(n.min(10_000) as i32)
            .send()
            .await
            .map_err(|e| service_error("logs", e))?;
        Ok(out
            .events()
            .iter()
            .filter_map(|e| e.message().map(|m| m.trim_end().to_string()))
            .collect())
    }
}
