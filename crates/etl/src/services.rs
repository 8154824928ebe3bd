//! The services the handlers use, as traits: AWS Batch, Step Functions, SNS and the job logs.
//! Each has an AWS implementation (SDK clients) and a local one (`crate::local`).

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ServiceError;

/// A job to submit.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct NewJob {
    pub name: String,
    pub queue: String,
    pub definition: String,
    /// Job parameters (the task token travels here, not in the environment).
    pub parameters: BTreeMap<String, String>,
    /// Container environment (script URI, RSQL variables).
    pub environment: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub timeout_seconds: Option<u64>,
    pub vcpus: Option<f64>,
    pub memory_mib: Option<u64>,
}

/// Debug names the environment's variables without their values (RSQLFLOW_VARIABLES can hold
/// a password) and the parameters' keys without the task token.
impl std::fmt::Debug for NewJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewJob")
            .field("name", &self.name)
            .field("queue", &self.queue)
            .field("definition", &self.definition)
            .field("parameters", &self.parameters.keys().collect::<Vec<_>>())
            .field("environment", &self.environment.keys().collect::<Vec<_>>())
            .field("tags", &self.tags)
            .field("timeout_seconds", &self.timeout_seconds)
            .field("vcpus", &self.vcpus)
            .field("memory_mib", &self.memory_mib)
            .finish()
    }
}

/// Batch job states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobStatus {
    Submitted,
    Pending,
    Runnable,
    Starting,
    Running,
    Succeeded,
    Failed,
}

impl JobStatus {
    /// Whether the job is over.
    pub fn is_final(self) -> bool {
        matches!(self, JobStatus::Succeeded | JobStatus::Failed)
    }

    /// AWS's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Submitted => "SUBMITTED",
            JobStatus::Pending => "PENDING",
            JobStatus::Runnable => "RUNNABLE",
            JobStatus::Starting => "STARTING",
            JobStatus::Running => "RUNNING",
            JobStatus::Succeeded => "SUCCEEDED",
            JobStatus::Failed => "FAILED",
        }
    }
}

/// One attempt of a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct JobAttempt {
    pub exit_code: Option<i32>,
    pub reason: Option<String>,
    pub status_reason: Option<String>,
    pub log_stream: Option<String>,
    pub started_at: Option<i64>,
    pub stopped_at: Option<i64>,
}

/// What Batch knows about a job (DescribeJobs, or the state-change event's detail).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobDetail {
    pub id: String,
    pub name: String,
    pub queue: String,
    pub status: JobStatus,
    pub status_reason: Option<String>,
    pub exit_code: Option<i32>,
    /// Why the container stopped (`CannotPullContainerError`, `OutOfMemoryError`, ...).
    pub container_reason: Option<String>,
    pub log_stream: Option<String>,
    pub attempts: Vec<JobAttempt>,
    pub created_at: Option<i64>,
    /// When it entered RUNNABLE. Batch's job state-change events carry each transition's
    /// time; DescribeJobs does not (its JobDetail has `createdAt`, SUBMITTED, and `startedAt`,
    /// STARTING to RUNNING: AWS Batch API Reference, JobDetail), so from AWS it is `None`.
    #[serde(default)]
    pub runnable_at: Option<i64>,
    pub started_at: Option<i64>,
    pub stopped_at: Option<i64>,
    pub parameters: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub timeout_seconds: Option<u64>,
}

/// AWS Batch.
#[async_trait]
pub trait Batch: Send + Sync {
    /// SubmitJob; returns the job id.
    async fn submit(&self, job: NewJob) -> Result<String, ServiceError>;
    /// DescribeJobs for one job.
    async fn describe(&self, job_id: &str) -> Result<JobDetail, ServiceError>;
    /// Jobs not yet finished that carry `tag = value`.
    async fn active_jobs_tagged(&self, tag: &str, value: &str)
    -> Result<Vec<String>, ServiceError>;
    /// TerminateJob.
    async fn terminate(&self, job_id: &str, reason: &str) -> Result<(), ServiceError>;
    /// The id of the most recent job of the framework's queue named exactly `name`, in any
    /// status (ListJobs with the JOB_NAME filter), if there is one.
    async fn find_by_name(&self, name: &str) -> Result<Option<String>, ServiceError>;
}

/// One step's entry in the submissions ledger: which Batch job runs the step (an execution's
/// Task state, for one redrive and one job spec) and which task token its answer goes to.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Submission {
    /// The step (see [`crate::contract::tags::step_key`]).
    pub key: String,
    /// The task token the step waits on now (the latest invocation's).
    pub token: String,
    /// 1 for the step's first job; a new job (after the last one was answered) is the next.
    pub attempt: u32,
    /// The attempt's Batch job name (deterministic: a retried submission finds it by name).
    pub job_name: String,
    /// The attempt's job, once SubmitJob has returned it.
    pub job_id: Option<String>,
    /// When the attempt was claimed (ms since the epoch); 0 once its submitter gave it up.
    pub claimed_at: i64,
    /// check-job has taken the attempt's answer (its job is over).
    pub answered: bool,
    /// The version this entry was read at (0: not stored yet); a write succeeds only if the
    /// stored entry is still at this version, and stores version + 1.
    pub version: u64,
    /// When the entry may be deleted (seconds since the epoch; DynamoDB's TTL attribute).
    pub expires_at: i64,
}

/// Debug without the task token.
impl std::fmt::Debug for Submission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Submission")
            .field("key", &self.key)
            .field("attempt", &self.attempt)
            .field("job_name", &self.job_name)
            .field("job_id", &self.job_id)
            .field("claimed_at", &self.claimed_at)
            .field("answered", &self.answered)
            .field("version", &self.version)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// The submissions ledger: a table of steps with conditional writes (DynamoDB in AWS, memory
/// locally). submit-job claims a step before submitting its job, so that a retried
/// submission adopts the job instead of starting another; check-job reads the token to answer.
#[async_trait]
pub trait Submissions: Send + Sync {
    /// The entry of step `key` (a strongly consistent read), if any.
    async fn get(&self, key: &str) -> Result<Option<Submission>, ServiceError>;
    /// Stores `s` with version `s.version + 1` if the stored entry is still at `s.version`
    /// (absent for 0); Ok(false) when another write came first (nothing is written).
    async fn put(&self, s: &Submission) -> Result<bool, ServiceError>;
}

/// Result of StartExecution.
#[derive(Debug, Clone, PartialEq)]
pub enum Started {
    New {
        execution_arn: String,
    },
    /// An execution of that name exists already (a redelivered trigger).
    AlreadyExists {
        execution_arn: String,
    },
}

/// AWS Step Functions.
#[async_trait]
pub trait StepFunctions: Send + Sync {
    async fn send_task_success(&self, token: &str, output: &Value) -> Result<(), ServiceError>;
    async fn send_task_failure(
        &self,
        token: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), ServiceError>;
    async fn start_execution(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &Value,
    ) -> Result<Started, ServiceError>;
    /// GetExecutionHistory, every event (AWS's JSON shape).
    async fn history(&self, execution_arn: &str) -> Result<Vec<Value>, ServiceError>;
}

/// A message for SNS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub subject: String,
    pub body: String,
    /// Message attributes subscribers can filter on.
    pub attributes: BTreeMap<String, String>,
}

/// Amazon SNS.
#[async_trait]
pub trait Notifier: Send + Sync {
    async fn publish(&self, topic_arn: &str, n: &Notification) -> Result<(), ServiceError>;
}

/// Job logs (CloudWatch Logs).
#[async_trait]
pub trait Logs: Send + Sync {
    /// The last `n` lines of a log stream.
    async fn tail(&self, log_stream: &str, n: usize) -> Result<Vec<String>, ServiceError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_job_debug_hides_values() {
        let job = NewJob {
            name: "j".into(),
            queue: "q".into(),
            definition: "d".into(),
            parameters: [("taskToken".to_string(), "TOKENVALUE".to_string())].into(),
            environment: [(
                "RSQLFLOW_VARIABLES".to_string(),
                "{\"pw\":\"Hunter2\"}".to_string(),
            )]
            .into(),
            tags: BTreeMap::new(),
            timeout_seconds: None,
            vcpus: None,
            memory_mib: None,
        };
        let d = format!("{job:?}");
        assert!(
            d.contains("RSQLFLOW_VARIABLES") && d.contains("taskToken"),
            "{d}"
        );
        assert!(!d.contains("Hunter2") && !d.contains("TOKENVALUE"), "{d}");
    }

    #[test]
    fn submission_debug_hides_the_token() {
        let s = Submission {
            key: "k".into(),
            token: "TOKENVALUE".into(),
            attempt: 1,
            job_name: "n".into(),
            job_id: None,
            claimed_at: 1,
            answered: false,
            version: 0,
            expires_at: 2,
        };
        let d = format!("{s:?}");
        assert!(d.contains("job_name") && !d.contains("TOKENVALUE"), "{d}");
    }
}
