//! The submissions ledger on DynamoDB: one item per step, partition key `pk` (the step key),
//! every write a conditional PutItem.
//!
//! - A first claim is `attribute_not_exists(pk)`: "To prevent a new item from replacing an
//!   existing item, use a conditional expression that contains the attribute_not_exists
//!   function with the name of the attribute being used as the partition key for the table"
//!   (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PutItem.html).
//! - Every later write is conditional on the version read (optimistic locking,
//!   https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html):
//!   when the condition is false, PutItem fails with `ConditionalCheckFailedException` and
//!   writes nothing, which [`Submissions::put`] reports as `Ok(false)`.
//! - Reads are strongly consistent (`ConsistentRead`), so a write acknowledged before is seen.
//! - `expiresAt` is the table's TTL attribute (seconds since the epoch).

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::aws::{code, service_error};
use crate::error::ServiceError;
use crate::services::{Submission, Submissions};

/// The ledger in DynamoDB table `table`.
#[derive(Debug, Clone)]
pub struct AwsSubmissions {
    client: Client,
    table: String,
}

impl AwsSubmissions {
    pub fn new(client: Client, table: impl Into<String>) -> AwsSubmissions {
        AwsSubmissions {
            client,
            table: table.into(),
        }
    }
}

fn item(s: &Submission, version: u64) -> HashMap<String, AttributeValue> {
    let mut m = HashMap::from([
        ("pk".to_string(), AttributeValue::S(s.key.clone())),
        ("token".to_string(), AttributeValue::S(s.token.clone())),
        (
            "attempt".to_string(),
            AttributeValue::N(s.attempt.to_string()),
        ),
        ("jobName".to_string(), AttributeValue::S(s.job_name.clone())),
        (
            "claimedAt".to_string(),
            AttributeValue::N(s.claimed_at.to_string()),
        ),
        ("answered".to_string(), AttributeValue::Bool(s.answered)),
        (
            "version".to_string(),
            AttributeValue::N(version.to_string()),
        ),
        (
            "expiresAt".to_string(),
            AttributeValue::N(s.expires_at.to_string()),
        ),
    ]);
    if let Some(id) = &s.job_id {
        m.insert("jobId".to_string(), AttributeValue::S(id.clone()));
    }
    m
}

fn bad_item(key: &str, field: &str) -> ServiceError {
    ServiceError::Rejected {
        service: "dynamodb",
        message: format!("the submission of step {key} has no valid {field}"),
    }
}

fn from_item(key: &str, m: &HashMap<String, AttributeValue>) -> Result<Submission, ServiceError> {
    let s = |f: &str| {
        m.get(f)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .ok_or_else(|| bad_item(key, f))
    };
    let n = |f: &str| {
        m.get(f)
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse::<i64>().ok())
            .ok_or_else(|| bad_item(key, f))
    };
    Ok(Submission {
        key: s("pk")?,
        token: s("token")?,
        attempt: u32::try_from(n("attempt")?).map_err(|_| bad_item(key, "attempt"))?,
        job_name: s("jobName")?,
        job_id: m.get("jobId").and_then(|v| v.as_s().ok()).cloned(),
        claimed_at: n("claimedAt")?,
        answered: m
            .get("answered")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(false),
        version: u64::try_from(n("version")?).map_err(|_| bad_item(key, "version"))?,
        expires_at: n("expiresAt")?,
    })
}

#[async_trait]
impl Submissions for AwsSubmissions {
    async fn get(&self, key: &str) -> Result<Option<Submission>, ServiceError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(key.to_string()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| service_error("dynamodb", e))?;
        out.item().map(|m| from_item(key, m)).transpose()
    }

    async fn put(&self, s: &Submission) -> Result<bool, ServiceError> {
        let mut req = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item(s, s.version + 1)));
        req = if s.version == 0 {
            req.condition_expression("attribute_not_exists(pk)")
        } else {
            // `version` is a DynamoDB reserved word: named through a placeholder.
            req.condition_expression("#v = :v")
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(":v", AttributeValue::N(s.version.to_string()))
        };
        match req.send().await {
            Ok(_) => Ok(true),
            Err(e) if code(&e) == Some("ConditionalCheckFailedException") => Ok(false),
            Err(e) => Err(service_error("dynamodb", e)),
        }
    }
}
