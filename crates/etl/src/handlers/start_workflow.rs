//! start-workflow: S3 "Object Created" events and schedules start the state machine, with a
//! deterministic execution name so that a redelivered event never starts a second run.

use serde_json::{Value, json};

use crate::contract::{sanitize, short_hash};
use crate::error::HandlerError;
use crate::events::{self, Trigger};
use crate::handlers::with_retries;
use crate::services::{Started, StepFunctions};
use crate::settings::Settings;

/// Handles one event.
pub async fn handle(
    event: Value,
    settings: &Settings,
    sfn: &dyn StepFunctions,
) -> Result<Value, HandlerError> {
    let trigger = events::trigger(&event)?;
    if let Trigger::S3 { key, .. } = &trigger
        && (!key.starts_with(&settings.trigger_prefix) || !key.ends_with(&settings.trigger_suffix))
    {
        return Ok(json!({"ignored": format!(
            "key {key} does not match prefix \"{}\" and suffix \"{}\"",
            settings.trigger_prefix, settings.trigger_suffix
        )}));
    }
    let name = execution_name(&trigger);
    let input = json!({"trigger": trigger_json(&trigger)});
    match with_retries(|| sfn.start_execution(&settings.state_machine_arn, &name, &input)).await? {
        Started::New { execution_arn } => {
            tracing::info!(%execution_arn, "started");
            Ok(json!({"started": execution_arn, "name": name}))
        }
        Started::AlreadyExists { execution_arn } => {
            tracing::info!(%execution_arn, "already started for this trigger");
            Ok(json!({"existing": execution_arn, "name": name}))
        }
    }
}

/// The execution input's `trigger`: what a job spec's variables read with ordinary ASL
/// (`"file_uri.$": "$.trigger.uri"`, `"run_date.$": "$.trigger.run_date"`).
///
/// - S3: `type` "s3", `bucket`, `key`, `uri` (`s3://bucket/key`, what COPY reads), `size`,
///   `etag`, `sequencer`;
/// - schedule: `type` "schedule", `time` (the scheduled time as EventBridge gives it,
///   `2026-11-01T02:00:00Z`) and `run_date`, its date in UTC (`2026-11-01`; absent when the
///   time is not an ISO-8601 time).
pub fn trigger_json(t: &Trigger) -> Value {
    match t {
        Trigger::S3 {
            bucket,
            key,
            size,
            etag,
            sequencer,
        } => {
            json!({"type": "s3", "bucket": bucket, "key": key, "uri": format!("s3://{bucket}/{key}"),
                   "size": size, "etag": etag, "sequencer": sequencer})
        }
        Trigger::Schedule { time } => {
            let mut v = json!({"type": "schedule", "time": time});
            if let Ok(t) = chrono::DateTime::parse_from_rfc3339(time) {
                v["run_date"] = json!(
                    t.with_timezone(&chrono::Utc)
                        .date_naive()
                        .format("%Y-%m-%d")
                        .to_string()
                );
            }
            v
        }
    }
}

/// A name unique to the trigger: Step Functions names are 1-80 characters of letters,
/// digits, `-` and `_`.
pub fn execution_name(t: &Trigger) -> String {
    match t {
        Trigger::S3 {
            bucket,
            key,
            etag,
            sequencer,
            ..
        } => {
            let id = format!(
                "{bucket}/{key}/{}",
                sequencer.as_deref().or(etag.as_deref()).unwrap_or("")
            );
            let hash = short_hash(&id);
            let base = key.rsplit('/').next().unwrap_or(key);
            let mut n = format!("s3-{}", sanitize(base));
            n.truncate(80 - hash.len() - 1);
            format!("{n}-{hash}")
        }
        Trigger::Schedule { time } => {
            let mut n = format!("schedule-{}", sanitize(time));
            n.truncate(80);
            n
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_deterministic_legal_and_short() {
        let t = Trigger::S3 {
            bucket: "b".into(),
            key: "incoming/2024/01/orders file.csv".into(),
            size: Some(1),
            etag: Some("e".into()),
            sequencer: Some("0055".into()),
        };
        let n = execution_name(&t);
        assert_eq!(n, execution_name(&t));
        assert!(n.starts_with("s3-orders-file-csv-"));
        assert!(n.len() <= 80);
        let t2 = Trigger::Schedule {
            time: "2024-01-01T00:00:00Z".into(),
        };
        assert_eq!(execution_name(&t2), "schedule-2024-01-01T00-00-00Z");
    }
}
