//! check-job: triggered by "Batch Job State Change" events. For a finished job it builds the
//! result and answers the task token: SendTaskSuccess, or SendTaskFailure with a typed error.
//! Late or duplicate events (token already answered, execution gone) are acknowledged.
//!
//! The token answered is the step's current one, from the submissions ledger (a retried
//! submission that adopted the job pointed the entry at its own token); a job without a ledger
//! entry, or not the step's current job, is answered on the token it carries.

use serde_json::{Value, json};

use crate::contract::tags::{JOB_TAG, TOKEN_PARAMETER, step_key_of};
use crate::error::{ErrorKind, HandlerError, ServiceError};
use crate::events;
use crate::handlers::with_retries;
use crate::services::{JobDetail, JobStatus, Logs, StepFunctions, Submissions};
use crate::settings::Settings;

/// Lines of log a failure carries.
pub const LOG_TAIL_LINES: usize = 20;

/// Handles one event.
pub async fn handle(
    event: Value,
    settings: &Settings,
    sfn: &dyn StepFunctions,
    logs: &dyn Logs,
    ledger: &dyn Submissions,
) -> Result<Value, HandlerError> {
    let job = events::batch_job(&event)?;
    if !job.status.is_final() {
        return Ok(json!({"ignored": format!("job {} is {}", job.id, job.status.as_str())}));
    }
    let current = current_token(&job, ledger).await?;
    let Some(token) = current.or_else(|| job.parameters.get(TOKEN_PARAMETER).cloned()) else {
        tracing::info!(job_id = %job.id, "no task token: not a job of this framework");
        return Ok(json!({"ignored": format!("job {} carries no task token", job.id)}));
    };
    let result = result_of(&job, settings);
    let sent = match classify(&job) {
        None => with_retries(|| sfn.send_task_success(&token, &result)).await,
        Some(kind) => {
            let tail = match &job.log_stream {
                Some(s) => logs.tail(s, LOG_TAIL_LINES).await.unwrap_or_default(),
                None => Vec::new(),
            };
            let cause = failure_cause(kind, &job, &result, &tail);
            with_retries(|| sfn.send_task_failure(&token, kind.name(), &cause)).await
        }
    };
    match sent {
        Ok(()) => Ok(json!({"answered": job.id, "status": job.status.as_str()})),
        Err(ServiceError::NotFound { message, .. }) => {
            tracing::warn!(job_id = %job.id, %message, "task token no longer valid (late or duplicate event)");
            Ok(json!({"acknowledged": job.id, "reason": message}))
        }
        Err(e) => Err(e.into()),
    }
}

/// The token the step of `job` waits on, when the ledger has the step and `job` is its current
/// job. The entry is marked answered (a conditional write) before the answer is sent: a
/// submission that adopts the job after that starts a new attempt instead, and one that
/// adopted it before has its token read here. A redelivered event answers the same token again.
async fn current_token(
    job: &JobDetail,
    ledger: &dyn Submissions,
) -> Result<Option<String>, HandlerError> {
    let Some(key) = step_key_of(&job.tags) else {
        return Ok(None);
    };
    for _ in 0..20 {
        let Some(mut e) = with_retries(|| ledger.get(&key)).await? else {
            return Ok(None);
        };
        if e.job_name != job.name {
            // An earlier attempt's job: its own token (stale by now) is answered.
            return Ok(None);
        }
        if !e.answered {
            e.answered = true;
            e.job_id.get_or_insert_with(|| job.id.clone());
            if !with_retries(|| ledger.put(&e)).await? {
                continue;
            }
        }
        return Ok(Some(e.token));
    }
    Err(ServiceError::Transient {
        service: "submissions",
        message: format!("step {key}: too many conflicting writes"),
    }
    .into())
}

/// The job result Step Functions receives.
pub fn result_of(job: &JobDetail, settings: &Settings) -> Value {
    let duration = match (job.started_at, job.stopped_at) {
        (Some(a), Some(b)) if b >= a => Some((b - a) as f64 / 1000.0),
        _ => None,
    };
    json!({
        "job": job.tags.get(JOB_TAG),
        "jobId": job.id,
        "jobName": job.name,
        "status": job.status.as_str(),
        "exitCode": job.exit_code,
        "attempts": job.attempts.len().max(1),
        "durationSeconds": duration,
        "logStream": job.log_stream,
        "jobUrl": settings.job_url(&job.id),
        "logUrl": job.log_stream.as_ref().map(|s| settings.log_url(s)),
    })
}

/// Why a finished job failed, or `None` when it succeeded.
pub fn classify(job: &JobDetail) -> Option<ErrorKind> {
    if job.status == JobStatus::Succeeded {
        return None;
    }
    let status_reason = job.status_reason.as_deref().unwrap_or("");
    let container = job.container_reason.as_deref().unwrap_or("");
    let text = format!("{status_reason} {container}");
    let infra = [
        "CannotPullContainerError",
        "ResourceInitializationError",
        "Host EC2",
        "Spot",
        "capacity",
        "Capacity",
        "Timeout waiting for network interface",
        "InternalError",
        "Task failed to start",
        "SERVER_ERROR",
    ];
    if status_reason.contains("Job attempt duration exceeded timeout") {
        Some(ErrorKind::JobTimedOut)
    } else if infra.iter().any(|m| text.contains(m)) {
        Some(ErrorKind::InfrastructureError)
    } else if matches!(job.exit_code, Some(c) if c != 0) {
        Some(ErrorKind::ScriptFailed)
    } else if text.contains("CannotStartContainerError")
        || text.contains("CannotInspectContainerError")
        || text.contains("CannotCreateContainerError")
        || job.exit_code.is_none()
    {
        Some(ErrorKind::ContainerStartFailed)
    } else {
        Some(ErrorKind::ScriptFailed)
    }
}

/// The `Cause` of a failure: JSON text a person can read and notify can parse.
pub fn failure_cause(kind: ErrorKind, job: &JobDetail, result: &Value, tail: &[String]) -> String {
    let message = match kind {
        ErrorKind::ScriptFailed => format!(
            "the RSQL script of job {} exited with code {}",
            job.tags.get(JOB_TAG).unwrap_or(&job.name),
            job.exit_code.map(|c| c.to_string()).unwrap_or("?".into())
        ),
        ErrorKind::JobTimedOut => format!(
            "job {} ran longer than its timeout of {} s",
            job.name,
            job.timeout_seconds
                .map(|t| t.to_string())
                .unwrap_or("?".into())
        ),
        ErrorKind::ContainerStartFailed => format!(
            "the container of job {} did not start: {}",
            job.name,
            job.container_reason
                .as_deref()
                .or(job.status_reason.as_deref())
                .unwrap_or("no reason given")
        ),
        ErrorKind::InfrastructureError => format!(
            "job {} failed for an infrastructure reason (retryable): {}",
            job.name,
            job.container_reason
                .as_deref()
                .or(job.status_reason.as_deref())
                .unwrap_or("no reason given")
        ),
        ErrorKind::InvalidJobSpec => "invalid job spec".to_string(),
    };
    let mut v = result.clone();
    v["message"] = json!(message);
    v["statusReason"] = json!(job.status_reason);
    v["logTail"] = json!(tail);
    v.to_string()
}
