//! notify: triggered by "Step Functions Execution Status Change" for terminal executions.
//! Reads the history to say what failed and why, publishes one SNS message, and stops Batch
//! jobs an aborted or timed-out execution left running.

use serde_json::{Value, json};

use crate::contract::tags::EXECUTION_TAG;
use crate::error::HandlerError;
use crate::events::{self, ExecutionChange};
use crate::handlers::with_retries;
use crate::notification::{Outcome, compose};
use crate::services::{Batch, Notifier, StepFunctions};
use crate::settings::Settings;

/// Handles one event.
pub async fn handle(
    event: Value,
    settings: &Settings,
    sfn: &dyn StepFunctions,
    sns: &dyn Notifier,
    batch: &dyn Batch,
) -> Result<Value, HandlerError> {
    let change = events::execution_change(&event)?;
    if !matches!(
        change.status.as_str(),
        "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "ABORTED"
    ) {
        return Ok(json!({"ignored": format!("execution is {}", change.status)}));
    }
    let mut terminated = Vec::new();
    // Jobs of a failed, timed-out or aborted execution (a failed Parallel branch leaves its
    // siblings' jobs running) are of no use any more.
    if matches!(change.status.as_str(), "FAILED" | "TIMED_OUT" | "ABORTED") {
        terminated = stop_jobs(&change, batch).await?;
    }
    if change.status == "SUCCEEDED" && !settings.send_success_notifications {
        return Ok(json!({"skipped": "success notifications are off"}));
    }
    let history = with_retries(|| sfn.history(&change.execution_arn))
        .await
        .unwrap_or_default();
    let outcome = Outcome::from_history(&change, &history);
    let n = compose(settings, &change, &outcome, &terminated);
    with_retries(|| sns.publish(&settings.topic_arn, &n)).await?;
    Ok(json!({"published": n.subject, "terminated": terminated}))
}

async fn stop_jobs(
    change: &ExecutionChange,
    batch: &dyn Batch,
) -> Result<Vec<String>, HandlerError> {
    let jobs =
        with_retries(|| batch.active_jobs_tagged(EXECUTION_TAG, &change.execution_arn)).await?;
    let reason = format!("execution {} {}", change.name, change.status);
    for id in &jobs {
        with_retries(|| batch.terminate(id, &reason)).await?;
        tracing::info!(job_id = %id, %reason, "terminated");
    }
    Ok(jobs)
}
