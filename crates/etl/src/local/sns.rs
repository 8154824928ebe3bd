//! SNS locally: each notification is appended to an outbox (`.rsqlflow/outbox.jsonl`) and
//! kept for the caller to print.

use std::path::PathBuf;
use std::sync::Mutex;

use async_trait::async_trait;
use serde_json::json;
use tokio::io::AsyncWriteExt;

use crate::error::ServiceError;
use crate::services::{Notification, Notifier};

/// The local topic.
#[derive(Debug)]
pub struct LocalSns {
    outbox: PathBuf,
    sent: Mutex<Vec<Notification>>,
}

impl LocalSns {
    pub fn new(outbox: impl Into<PathBuf>) -> LocalSns {
        LocalSns {
            outbox: outbox.into(),
            sent: Mutex::new(Vec::new()),
        }
    }

    /// Everything published so far.
    pub fn sent(&self) -> Vec<Notification> {
        self.sent.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

#[async_trait]
impl Notifier for LocalSns {
    async fn publish(&self, topic_arn: &str, n: &Notification) -> Result<(), ServiceError> {
        // Kept for the caller to print even when the outbox cannot be written.
        if let Ok(mut s) = self.sent.lock()
            && !s.contains(n)
        {
            s.push(n.clone());
        }
        let io = |e: std::io::Error| ServiceError::Rejected {
            service: "sns",
            message: format!("{}: {e}", self.outbox.display()),
        };
        if let Some(dir) = self.outbox.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(io)?;
        }
        let mut line = json!({
            "topicArn": topic_arn,
            "subject": n.subject,
            "message": n.body,
            "attributes": n.attributes,
            "time": chrono::Utc::now().to_rfc3339(),
        })
        .to_string();
        line.push('\n');
        // One write of one line: appends from concurrent runs do not interleave.
        let mut f = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.outbox)
            .await
            .map_err(io)?;
        f.write_all(line.as_bytes()).await.map_err(io)?;
        f.flush().await.map_err(io)?;
        Ok(())
    }
}
