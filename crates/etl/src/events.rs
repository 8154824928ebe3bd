//! The EventBridge events the handlers consume, read from their JSON, and built for the
//! local event bus in the same shape.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::error::HandlerError;
use crate::services::{JobAttempt, JobDetail, JobStatus};

/// `detail-type` values.
pub const BATCH_STATE_CHANGE: &str = "Batch Job State Change";
pub const SFN_STATUS_CHANGE: &str = "Step Functions Execution Status Change";
pub const S3_OBJECT_CREATED: &str = "Object Created";
pub const SCHEDULED_EVENT: &str = "Scheduled Event";

fn detail<'a>(event: &'a Value, kind: &str) -> Result<&'a Value, HandlerError> {
    match event["detail-type"].as_str() {
        Some(t) if t == kind => Ok(&event["detail"]),
        Some(t) => Err(HandlerError::BadEvent(format!(
            "expected a \"{kind}\" event, got \"{t}\""
        ))),
        None => Err(HandlerError::BadEvent(format!(
            "expected a \"{kind}\" EventBridge event (no detail-type field)"
        ))),
    }
}

fn map_of(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str()
                            .map(String::from)
                            .unwrap_or_else(|| v.to_string()),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Reads a "Batch Job State Change" event.
pub fn batch_job(event: &Value) -> Result<JobDetail, HandlerError> {
    let d = detail(event, BATCH_STATE_CHANGE)?;
    let status: JobStatus = serde_json::from_value(d["status"].clone())
        .map_err(|_| HandlerError::BadEvent(format!("unknown Batch job status {}", d["status"])))?;
    let id = d["jobId"]
        .as_str()
        .ok_or_else(|| HandlerError::BadEvent("detail.jobId is missing".into()))?;
    let attempts: Vec<JobAttempt> = d["attempts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| JobAttempt {
            exit_code: a["container"]["exitCode"].as_i64().map(|c| c as i32),
            reason: a["container"]["reason"].as_str().map(String::from),
            status_reason: a["statusReason"].as_str().map(String::from),
            log_stream: a["container"]["logStreamName"].as_str().map(String::from),
            started_at: a["startedAt"].as_i64(),
            stopped_at: a["stoppedAt"].as_i64(),
        })
        .collect();
    Ok(JobDetail {
        id: id.to_string(),
        name: d["jobName"].as_str().unwrap_or("").to_string(),
        queue: d["jobQueue"].as_str().unwrap_or("").to_string(),
        status,
        status_reason: d["statusReason"].as_str().map(String::from),
        exit_code: d["container"]["exitCode"].as_i64().map(|c| c as i32),
        container_reason: d["container"]["reason"].as_str().map(String::from),
        log_stream: d["container"]["logStreamName"].as_str().map(String::from),
        attempts,
        created_at: d["createdAt"].as_i64(),
        runnable_at: None,
        started_at: d["startedAt"].as_i64(),
        stopped_at: d["stoppedAt"].as_i64(),
        parameters: map_of(&d["parameters"]),
        tags: map_of(&d["tags"]),
        timeout_seconds: d["timeout"]["attemptDurationSeconds"].as_u64(),
    })
}

/// Builds a "Batch Job State Change" event as AWS Batch sends it.
pub fn batch_job_event(job: &JobDetail, region: &str, account: &str) -> Value {
    let attempts: Vec<Value> = job
        .attempts
        .iter()
        .map(|a| {
            json!({
                "container": {"exitCode": a.exit_code, "reason": a.reason, "logStreamName": a.log_stream},
                "startedAt": a.started_at, "stoppedAt": a.stopped_at, "statusReason": a.status_reason,
            })
        })
        .collect();
    json!({
        "version": "0",
        "detail-type": BATCH_STATE_CHANGE,
        "source": "aws.batch",
        "account": account,
        "region": region,
        "resources": [format!("arn:aws:batch:{region}:{account}:job/{}", job.id)],
        "detail": {
            "jobName": job.name,
            "jobId": job.id,
            "jobQueue": job.queue,
            "status": job.status.as_str(),
            "statusReason": job.status_reason,
            "attempts": attempts,
            "createdAt": job.created_at,
            "startedAt": job.started_at,
            "stoppedAt": job.stopped_at,
            "parameters": job.parameters,
            "tags": job.tags,
            "timeout": job.timeout_seconds.map(|t| json!({"attemptDurationSeconds": t})),
            "container": {"exitCode": job.exit_code, "reason": job.container_reason, "logStreamName": job.log_stream},
        }
    })
}

/// A Step Functions execution status change.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionChange {
    pub execution_arn: String,
    pub state_machine_arn: String,
    pub name: String,
    pub status: String,
    pub start_date: Option<i64>,
    pub stop_date: Option<i64>,
    pub input: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
}

/// Reads a "Step Functions Execution Status Change" event.
pub fn execution_change(event: &Value) -> Result<ExecutionChange, HandlerError> {
    let d = detail(event, SFN_STATUS_CHANGE)?;
    let s = |k: &str| d[k].as_str().map(String::from);
    Ok(ExecutionChange {
        execution_arn: s("executionArn")
            .ok_or_else(|| HandlerError::BadEvent("detail.executionArn is missing".into()))?,
        state_machine_arn: s("stateMachineArn").unwrap_or_default(),
        name: s("name").unwrap_or_default(),
        status: s("status")
            .ok_or_else(|| HandlerError::BadEvent("detail.status is missing".into()))?,
        start_date: d["startDate"].as_i64(),
        stop_date: d["stopDate"].as_i64(),
        input: s("input"),
        error: s("error"),
        cause: s("cause"),
    })
}

/// Builds a "Step Functions Execution Status Change" event.
pub fn execution_change_event(c: &ExecutionChange, region: &str, account: &str) -> Value {
    json!({
        "version": "0",
        "detail-type": SFN_STATUS_CHANGE,
        "source": "aws.states",
        "account": account,
        "region": region,
        "resources": [c.execution_arn],
        "detail": {
            "executionArn": c.execution_arn,
            "stateMachineArn": c.state_machine_arn,
            "name": c.name,
            "status": c.status,
            "startDate": c.start_date,
            "stopDate": c.stop_date,
            "input": c.input,
            "error": c.error,
            "cause": c.cause,
        }
    })
}

/// What started a workflow.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    S3 {
        bucket: String,
        key: String,
        size: Option<u64>,
        etag: Option<String>,
        sequencer: Option<String>,
    },
    Schedule {
        /// ISO-8601 time of the schedule.
        time: String,
        /// The schedule's (or rule's) name: the last part of the first ARN in the event's
        /// `resources`, when it has one.
        schedule: Option<String>,
    },
}

/// The name in a schedule's or rule's ARN: EventBridge Scheduler's
/// `arn:aws:scheduler:REGION:ACCOUNT:schedule/GROUP/NAME` and EventBridge's
/// `arn:aws:events:REGION:ACCOUNT:rule/[BUS/]NAME` (Service Authorization Reference, resource
/// types of Amazon EventBridge Scheduler and Amazon EventBridge) both end with the name.
pub fn schedule_name(arn: &str) -> Option<String> {
    let resource = arn.splitn(6, ':').nth(5)?;
    let (kind, path) = resource.split_once('/')?;
    if kind != "schedule" && kind != "rule" {
        return None;
    }
    let name = path.rsplit('/').next()?;
    (!name.is_empty()).then(|| name.to_string())
}

/// Reads an S3 "Object Created" event or a scheduled event.
pub fn trigger(event: &Value) -> Result<Trigger, HandlerError> {
    match event["detail-type"].as_str() {
        Some(S3_OBJECT_CREATED) => {
            let d = &event["detail"];
            let bucket = d["bucket"]["name"]
                .as_str()
                .ok_or_else(|| HandlerError::BadEvent("detail.bucket.name is missing".into()))?;
            let key = d["object"]["key"]
                .as_str()
                .ok_or_else(|| HandlerError::BadEvent("detail.object.key is missing".into()))?;
            Ok(Trigger::S3 {
                bucket: bucket.into(),
                key: key.into(),
                size: d["object"]["size"].as_u64(),
                etag: d["object"]["etag"].as_str().map(String::from),
                sequencer: d["object"]["sequencer"].as_str().map(String::from),
            })
        }
        Some(SCHEDULED_EVENT) => Ok(Trigger::Schedule {
            time: event["time"]
                .as_str()
                .ok_or_else(|| HandlerError::BadEvent("a scheduled event needs \"time\"".into()))?
                .to_string(),
            schedule: event["resources"][0].as_str().and_then(schedule_name),
        }),
        Some(other) => Err(HandlerError::BadEvent(format!(
            "start-workflow handles \"Object Created\" and \"Scheduled Event\", not \"{other}\""
        ))),
        None => Err(HandlerError::BadEvent(
            "start-workflow expects an EventBridge event (no detail-type field)".into(),
        )),
    }
}

/// An S3 "Object Created" event as EventBridge delivers it.
pub fn s3_object_created(bucket: &str, key: &str, size: u64, etag: &str, sequencer: &str) -> Value {
    json!({
        "version": "0",
        "detail-type": S3_OBJECT_CREATED,
        "source": "aws.s3",
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {"key": key, "size": size, "etag": etag, "sequencer": sequencer},
            "reason": "PutObject"
        }
    })
}

/// A scheduled event as EventBridge delivers it.
pub fn scheduled(time: &str) -> Value {
    json!({"version": "0", "detail-type": SCHEDULED_EVENT, "source": "aws.scheduler", "time": time, "detail": {}})
}

/// A scheduled event from the EventBridge Scheduler schedule `schedule_arn`, as the template's
/// schedules send it (`resources` holds the schedule's ARN).
pub fn scheduled_by(time: &str, schedule_arn: &str) -> Value {
    json!({"version": "0", "detail-type": SCHEDULED_EVENT, "source": "aws.scheduler", "time": time,
           "resources": [schedule_arn], "detail": {}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_names_come_from_scheduler_and_rule_arns() {
        let n = |a: &str| schedule_name(a);
        assert_eq!(
            n("arn:aws:scheduler:us-east-1:123456789012:schedule/default/st-nightly").as_deref(),
            Some("st-nightly")
        );
        assert_eq!(
            n("arn:aws:events:us-east-1:123456789012:rule/nightly").as_deref(),
            Some("nightly")
        );
        assert_eq!(
            n("arn:aws:events:us-east-1:123456789012:rule/my-bus/nightly").as_deref(),
            Some("nightly")
        );
        assert_eq!(n("arn:aws:s3:::bucket/key"), None);
        assert_eq!(n("not an arn"), None);
        assert_eq!(n("arn:aws:events:us-east-1:1:rule/"), None);
        let t = trigger(&scheduled_by(
            "2026-11-01T02:00:00Z",
            "arn:aws:scheduler:us-east-1:1:schedule/default/st-nightly",
        ))
        .unwrap();
        assert_eq!(
            t,
            Trigger::Schedule {
                time: "2026-11-01T02:00:00Z".into(),
                schedule: Some("st-nightly".into())
            }
        );
    }
}
