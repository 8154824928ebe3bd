//! start-workflow: S3 "Object Created" events and schedules start the workflows their routes
//! name (see [`crate::routes`]), each with a deterministic execution name so that a
//! redelivered event never starts a second run.

use serde_json::{Value, json};

use crate::contract::{sanitize, short_hash};
use crate::error::HandlerError;
use crate::events::{self, Trigger};
use crate::handlers::with_retries;
use crate::routes::{self, Route};
use crate::services::{Started, StepFunctions};
use crate::settings::Settings;

/// Handles one event: starts the workflow of every route that matches it. The answer lists
/// them (`executions`: route, stateMachineArn, name, executionArn, and `started` or
/// `existing`), or says why the event was `ignored`.
pub async fn handle(
    event: Value,
    settings: &Settings,
    sfn: &dyn StepFunctions,
) -> Result<Value, HandlerError> {
    let trigger = events::trigger(&event)?;
    let table = settings.routes.as_ref().map_err(|e| e.clone())?;
    let matched = routes::matching(table, &trigger);
    if matched.is_empty() {
        let what = match &trigger {
            Trigger::S3 { key, .. } => format!("key {key}"),
            Trigger::Schedule {
                schedule: Some(n), ..
            } => format!("schedule {n}"),
            Trigger::Schedule { .. } => "a schedule with no name".to_string(),
        };
        let known = table.iter().map(Route::describe).collect::<Vec<_>>();
        return Ok(json!({"ignored": format!(
            "{what} matches no route ({})",
            if known.is_empty() { "the routing table is empty".to_string() } else { known.join("; ") }
        )}));
    }
    let input = json!({"trigger": trigger_json(&trigger)});
    let mut executions = Vec::with_capacity(matched.len());
    for route in matched {
        let name = execution_name(&route.name, &trigger);
        let arn = &route.state_machine_arn;
        let (status, execution_arn) = match with_retries(|| sfn.start_execution(arn, &name, &input))
            .await?
        {
            Started::New { execution_arn } => {
                tracing::info!(route = %route.name, %execution_arn, "started");
                ("started", execution_arn)
            }
            Started::AlreadyExists { execution_arn } => {
                tracing::info!(route = %route.name, %execution_arn, "already started for this trigger");
                ("existing", execution_arn)
            }
        };
        executions.push(
            json!({"route": route.name, "stateMachineArn": arn, "name": name,
                               "executionArn": execution_arn, "status": status}),
        );
    }
    Ok(json!({ "executions": executions }))
}

/// The execution input's `trigger`: what a job spec's variables read with ordinary ASL
/// (`"file_uri.$": "$.trigger.uri"`, `"run_date.$": "$.trigger.run_date"`).
///
/// - S3: `type` "s3", `bucket`, `key`, `uri` (`s3://bucket/key`, what COPY reads), `size`,
///   `etag`, `sequencer`;
/// - schedule: `type` "schedule", `time` (the scheduled time as EventBridge gives it,
///   `2026-11-01T02:00:00Z`), `run_date`, its date in UTC (`2026-11-01`; absent when the
///   time is not an ISO-8601 time), and `schedule`, the schedule's name (when the event names
///   it).
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
        Trigger::Schedule { time, schedule } => {
            let mut v = json!({"type": "schedule", "time": time});
            if let Some(n) = schedule {
                v["schedule"] = json!(n);
            }
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

/// A name unique to the route and trigger: `ROUTE-FILE-HASH` for an object (the hash of its
/// bucket, key and sequencer, or etag), `ROUTE-TIME` for a schedule. Step Functions names are
/// 1-80 characters of letters, digits, `-` and `_`.
pub fn execution_name(route: &str, t: &Trigger) -> String {
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
            let mut n = format!("{}-{}", sanitize(route), sanitize(base));
            n.truncate(80 - hash.len() - 1);
            format!("{n}-{hash}")
        }
        Trigger::Schedule { time, .. } => {
            let mut n = format!("{}-{}", sanitize(route), sanitize(time));
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
        let n = execution_name("s3", &t);
        assert_eq!(n, execution_name("s3", &t));
        assert!(n.starts_with("s3-orders-file-csv-"));
        assert!(n.len() <= 80);
        let t2 = Trigger::Schedule {
            time: "2024-01-01T00:00:00Z".into(),
            schedule: None,
        };
        assert_eq!(
            execution_name("schedule", &t2),
            "schedule-2024-01-01T00-00-00Z"
        );
        assert_eq!(
            execution_name("nightly", &t2),
            "nightly-2024-01-01T00-00-00Z"
        );
        let long = Trigger::S3 {
            bucket: "b".into(),
            key: "k".repeat(300),
            size: None,
            etag: None,
            sequencer: None,
        };
        assert_eq!(execution_name("orders", &long).len(), 80);
    }
}
