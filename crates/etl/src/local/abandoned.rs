//! Executions whose process died: the next command finds their RUNNING records (nobody holds
//! their lock), ends them as ABORTED (as Step Functions records a stopped execution: an
//! `ExecutionAborted` event closes the history), and sends their one notification.

use std::path::Path;

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::error::ServiceError;
use crate::events::{self, ExecutionChange};
use crate::handlers::notify;
use crate::local::executions::{ExecutionRecord, ExecutionStore};
use crate::local::pipeline::{ACCOUNT, REGION, settings};
use crate::local::sfn::LocalStepFunctions;
use crate::local::sns::LocalSns;
use crate::services::{Batch, JobDetail, NewJob, Notification};

/// One abandoned execution, now ended.
#[derive(Debug)]
pub struct Ended {
    pub record: ExecutionRecord,
    pub notifications: Vec<Notification>,
    /// What could not be written.
    pub problems: Vec<String>,
}

/// Batch of a process that is gone: it has no jobs any more (a server ends the sessions of a
/// dead client; the embedded engine dies with its process).
struct NoJobs;

#[async_trait]
impl Batch for NoJobs {
    async fn submit(&self, _: NewJob) -> Result<String, ServiceError> {
        Err(gone())
    }
    async fn describe(&self, _: &str) -> Result<JobDetail, ServiceError> {
        Err(gone())
    }
    async fn active_jobs_tagged(&self, _: &str, _: &str) -> Result<Vec<String>, ServiceError> {
        Ok(Vec::new())
    }
    async fn terminate(&self, _: &str, _: &str) -> Result<(), ServiceError> {
        Ok(())
    }
    async fn find_by_name(&self, _: &str) -> Result<Option<String>, ServiceError> {
        Ok(None)
    }
}

fn gone() -> ServiceError {
    ServiceError::NotFound {
        service: "batch",
        message: "the process that ran these jobs has ended".into(),
    }
}

/// Appends `ExecutionAborted` to a saved history (ids continue from its last event).
fn close_history(events: &mut Vec<Value>, r: &ExecutionRecord) {
    let last = events.last().and_then(|e| e["id"].as_u64()).unwrap_or(0);
    let when = chrono::DateTime::from_timestamp_millis(r.stop_date.unwrap_or(r.start_date))
        .unwrap_or_else(chrono::Utc::now);
    events.push(json!({
        "timestamp": asl::timestamp::format(when),
        "type": "ExecutionAborted",
        "id": last + 1,
        "previousEventId": last,
        "executionAbortedEventDetails": {"error": r.error, "cause": r.cause},
    }));
}

/// Ends every abandoned execution under `state_dir` and notifies for each.
pub async fn end_abandoned(state_dir: &Path) -> Vec<Ended> {
    let store = ExecutionStore::new(state_dir.join("executions"));
    let records = {
        let s = store.clone();
        tokio::task::spawn_blocking(move || s.recover_abandoned())
            .await
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    for record in records {
        let mut problems = Vec::new();
        let path = store.history_path(&record.name);
        let mut events: Vec<Value> = tokio::fs::read(&path)
            .await
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .and_then(|v| v["events"].as_array().cloned())
            .unwrap_or_default();
        close_history(&mut events, &record);
        let bytes = serde_json::to_vec_pretty(&json!({ "events": events })).unwrap_or_default();
        let p = path.clone();
        match tokio::task::spawn_blocking(move || objects::write_whole(&p, &bytes)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => problems.push(format!(
                "the history could not be written: {}: {e}",
                path.display()
            )),
            Err(e) => problems.push(format!("the history could not be written: {e}")),
        }
        let settings = settings(&record.state_machine_arn, true);
        let sfn = LocalStepFunctions::new(store.dir(), REGION, ACCOUNT);
        sfn.set_history(&record.execution_arn, events);
        let sns = LocalSns::new(state_dir.join("outbox.jsonl"));
        let change = ExecutionChange {
            execution_arn: record.execution_arn.clone(),
            state_machine_arn: record.state_machine_arn.clone(),
            name: record.name.clone(),
            status: record.status.as_str().to_string(),
            start_date: Some(record.start_date),
            stop_date: record.stop_date,
            input: Some(record.input.to_string()),
            error: record.error.clone(),
            cause: record.cause.clone(),
        };
        let event = events::execution_change_event(&change, REGION, ACCOUNT);
        if let Err(e) = notify::handle(event, &settings, &sfn, &sns, &NoJobs).await {
            problems.push(format!("notify failed: {e}"));
        }
        out.push(Ended {
            record,
            notifications: sns.sent(),
            problems,
        });
    }
    out
}
