//! Job logs as files: log stream `rsqlflow/<job id>` is `<dir>/<job id>.log`.

use std::path::{Path, PathBuf};

use async_trait::async_trait;

use crate::error::ServiceError;
use crate::services::Logs;

/// Logs under a directory (default `.rsqlflow/logs/`).
#[derive(Debug, Clone)]
pub struct LocalLogs {
    dir: PathBuf,
}

impl LocalLogs {
    pub fn new(dir: impl Into<PathBuf>) -> LocalLogs {
        LocalLogs { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The stream name of a job's log.
    pub fn stream(job_id: &str) -> String {
        format!("rsqlflow/{job_id}")
    }

    /// The file of a log stream.
    pub fn path(&self, stream: &str) -> PathBuf {
        let id = stream.rsplit('/').next().unwrap_or(stream);
        self.dir.join(format!("{id}.log"))
    }
}

#[async_trait]
impl Logs for LocalLogs {
    async fn tail(&self, stream: &str, n: usize) -> Result<Vec<String>, ServiceError> {
        let text = tokio::fs::read_to_string(self.path(stream))
            .await
            .map_err(|e| ServiceError::NotFound {
                service: "logs",
                message: format!("log stream {stream}: {e}"),
            })?;
        let lines: Vec<String> = text.lines().map(String::from).collect();
        Ok(lines[lines.len().saturating_sub(n)..].to_vec())
    }
}
