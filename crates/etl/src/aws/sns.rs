//! Amazon SNS through aws-sdk-sns.

use async_trait::async_trait;
use aws_sdk_sns::Client;
use aws_sdk_sns::types::MessageAttributeValue;

use crate::aws::service_error;
use crate::error::ServiceError;
use crate::services::{Notification, Notifier};

/// SNS over the SDK.
#[derive(Debug, Clone)]
pub struct AwsSns {
    client: Client,
}

impl AwsSns {
    pub fn new(client: Client) -> AwsSns {
        AwsSns { client }
    }
}

#[async_trait]
impl Notifier for AwsSns {
    async fn publish(&self, topic_arn: &str, n: &Notification) -> Result<(), ServiceError> {
        let mut req = self
            .client
            .publish()
            .topic_arn(topic_arn)
            .subject(&n.subject)
            .message(&n.body);
        for (k, v) in &n.attributes {
            let attr = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(v)
                .build()
                .map_err(|e| ServiceError::Rejected {
                    service: "sns",
                    message: e.to_string(),
                })?;
            req = req.message_attributes(k, attr);
        }
        req.send().await.map_err(|e| service_error("sns", e))?;
        Ok(())
    }
}
