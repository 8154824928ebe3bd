//! Notification text: what an on-call engineer reads at 3 a.m. A one-line subject of at most
//! 100 characters, and a plain-text body that says what failed, why, the last log lines, and
//! where to look.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::events::ExecutionChange;
use crate::services::Notification;
use crate::settings::Settings;

/// What the history says happened.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// The state that failed (the Task whose job failed, or the Fail state).
    pub failed_state: Option<String>,
    pub error: Option<String>,
    /// The cause's message (from a job failure's JSON cause), or the raw cause.
    pub message: Option<String>,
    pub job_name: Option<String>,
    pub job_id: Option<String>,
    pub exit_code: Option<i64>,
    pub log_tail: Vec<String>,
    pub log_url: Option<String>,
    pub job_url: Option<String>,
    pub trigger: Option<String>,
    pub jobs_run: usize,
    /// Distributed Map runs started: their child executions' jobs are not in this
    /// execution's history (AWS keeps each child's events in its own).
    pub map_runs: usize,
    /// How many times the execution was redriven (its last `ExecutionRedriven` event's
    /// `redriveCount`, as GetExecutionHistory shows it:
    /// <https://docs.aws.amazon.com/step-functions/latest/apireference/API_ExecutionRedrivenEventDetails.html>).
    /// What failed and the jobs run are those of the latest attempt.
    pub redrive_count: u64,
}

impl Outcome {
    /// Reads the execution's events (GetExecutionHistory's JSON).
    pub fn from_history(change: &ExecutionChange, events: &[Value]) -> Outcome {
        let mut o = Outcome {
            error: change.error.clone(),
            ..Outcome::default()
        };
        let mut cause = change.cause.clone();
        let by_id: std::collections::HashMap<u64, &Value> = events
            .iter()
            .filter_map(|e| Some((e["id"].as_u64()?, e)))
            .collect();
        // The state an event belongs to: follow previousEventId back to its StateEntered
        // (parallel branches interleave, so "the last state entered" would lie).
        let state_of = |e: &Value| -> Option<String> {
            let mut cur = e;
            for _ in 0..10_000 {
                if cur["type"]
                    .as_str()
                    .is_some_and(|t| t.ends_with("StateEntered"))
                {
                    return cur["stateEnteredEventDetails"]["name"]
                        .as_str()
                        .map(String::from);
                }
                cur = by_id.get(&cur["previousEventId"].as_u64()?)?;
            }
            None
        };
        for e in events {
            let ty = e["type"].as_str().unwrap_or("");
            match ty {
                "ExecutionRedriven" => {
                    // A new attempt: the failure of the previous one is history.
                    o.redrive_count = e["executionRedrivenEventDetails"]["redriveCount"]
                        .as_u64()
                        .unwrap_or(o.redrive_count + 1);
                    o.jobs_run = 0;
                    o.map_runs = 0;
                    o.failed_state = None;
                    o.error = change.error.clone();
                    cause = change.cause.clone();
                }
                "TaskStateEntered" => o.jobs_run += 1,
                "MapRunStarted" => o.map_runs += 1,
                "TaskFailed" | "TaskTimedOut" => {
                    let d = e
                        .get("taskFailedEventDetails")
                        .or_else(|| e.get("taskTimedOutEventDetails"))
                        .cloned()
                        .unwrap_or_default();
                    o.failed_state = state_of(e);
                    o.error = d["error"].as_str().map(String::from).or(o.error);
                    if let Some(c) = d["cause"].as_str() {
                        cause = Some(c.to_string());
                    }
                }
                "FailStateEntered" if o.failed_state.is_none() => {
                    o.failed_state = e["stateEnteredEventDetails"]["name"]
                        .as_str()
                        .map(String::from);
                }
                "ExecutionStarted" => {
                    let input = e["executionStartedEventDetails"]["input"]
                        .as_str()
                        .and_then(|s| serde_json::from_str::<Value>(s).ok())
                        .unwrap_or_default();
                    o.trigger = describe_trigger(&input["trigger"]);
                }
                _ => {}
            }
        }
        if o.trigger.is_none()
            && let Some(input) = change
                .input
                .as_deref()
                .and_then(|s| serde_json::from_str::<Value>(s).ok())
        {
            o.trigger = describe_trigger(&input["trigger"]);
        }
        if let Some(c) = cause {
            match serde_json::from_str::<Value>(&c) {
                Ok(v) if v.is_object() => {
                    o.message = v["message"].as_str().map(String::from).or(Some(c.clone()));
                    o.job_name = v["job"]
                        .as_str()
                        .or(v["jobName"].as_str())
                        .map(String::from);
                    o.job_id = v["jobId"].as_str().map(String::from);
                    o.exit_code = v["exitCode"].as_i64();
                    o.log_url = v["logUrl"].as_str().map(String::from);
                    o.job_url = v["jobUrl"].as_str().map(String::from);
                    o.log_tail = v["logTail"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|l| l.as_str().map(String::from))
                        .collect();
                }
                _ => o.message = Some(c),
            }
        }
        o
    }
}

/// What started an execution, from the `trigger` object start-workflow puts in its input
/// (`None`: there is none, the execution was started by hand).
pub fn describe_trigger(t: &Value) -> Option<String> {
    match t["type"].as_str()? {
        "s3" => Some(format!(
            "s3://{}/{} arrived ({} bytes)",
            t["bucket"].as_str().unwrap_or("?"),
            t["key"].as_str().unwrap_or("?"),
            t["size"].as_u64().unwrap_or(0)
        )),
        "schedule" => Some(format!("schedule at {}", t["time"].as_str().unwrap_or("?"))),
        other => Some(other.to_string()),
    }
}

/// Cuts to one line of at most `max` characters.
fn one_line(s: &str, max: usize) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() <= max {
        flat
    } else {
        let mut t: String = flat.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

/// The workflow's name: its state machine's (the ARN's last part, as one stack deploys several
/// workflows), else the configured one (`RSQLFLOW_WORKFLOW`).
fn workflow_name(settings: &Settings, change: &ExecutionChange) -> String {
    change
        .state_machine_arn
        .split_once(":stateMachine:")
        .map(|(_, n)| n.split(':').next().unwrap_or(n))
        .filter(|n| !n.is_empty())
        .unwrap_or(&settings.workflow)
        .to_string()
}

/// The notification for an execution that ended.
pub fn compose(
    settings: &Settings,
    change: &ExecutionChange,
    o: &Outcome,
    terminated: &[String],
) -> Notification {
    let status = change.status.as_str();
    let workflow = workflow_name(settings, change);
    let what = match (status, &o.failed_state, &o.error) {
        ("SUCCEEDED", _, _) => String::new(),
        (_, Some(s), Some(e)) => format!(" at {s}: {e}"),
        (_, None, Some(e)) => format!(": {e}"),
        (_, Some(s), None) => format!(" at {s}"),
        _ => String::new(),
    };
    let redrive = match o.redrive_count {
        0 => String::new(),
        n => format!(" (redrive {n})"),
    };
    let subject = one_line(
        &format!("[rsqlflow] {status}{redrive}: {workflow}{what}"),
        100,
    );
    let mut b = String::new();
    let duration = match (change.start_date, change.stop_date) {
        (Some(a), Some(z)) if z >= a => format!("{:.1} s", (z - a) as f64 / 1000.0),
        _ => "unknown".into(),
    };
    b.push_str(&format!(
        "Workflow {workflow} {status} (execution {}{}).\n\n",
        change.name,
        match o.redrive_count {
            0 => String::new(),
            n => format!(", redrive {n}"),
        }
    ));
    if status != "SUCCEEDED" {
        b.push_str("WHAT FAILED\n");
        match (&o.failed_state, &o.job_name) {
            (Some(s), Some(j)) => b.push_str(&format!("  State {s}, job {j}")),
            (Some(s), None) => b.push_str(&format!("  State {s}")),
            (None, Some(j)) => b.push_str(&format!("  Job {j}")),
            (None, None) => b.push_str("  The execution"),
        }
        if let Some(id) = &o.job_id {
            b.push_str(&format!(" (Batch job {id})"));
        }
        b.push('\n');
        b.push_str("\nWHY\n");
        b.push_str(&format!(
            "  {}{}\n",
            o.error.as_deref().unwrap_or(status),
            o.message
                .as_deref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        ));
        if let Some(c) = o.exit_code {
            b.push_str(&format!("  Exit code: {c}\n"));
        }
        if !o.log_tail.is_empty() {
            b.push_str(&format!("\nLAST {} LOG LINES\n", o.log_tail.len()));
            for l in &o.log_tail {
                b.push_str(&format!("  {l}\n"));
            }
        }
        if !terminated.is_empty() {
            b.push_str(&format!(
                "\nStopped {} Batch job(s) still running: {}\n",
                terminated.len(),
                terminated.join(", ")
            ));
        }
    } else {
        if o.map_runs == 0 {
            b.push_str(&format!("{} job(s) ran.\n", o.jobs_run));
        } else {
            b.push_str(&format!(
                "{} job(s) ran in the execution itself, and {} Distributed Map run(s) ran \
                 theirs as child executions.\n",
                o.jobs_run, o.map_runs
            ));
        }
    }
    b.push_str("\nLINKS\n");
    b.push_str(&format!(
        "  Execution: {}\n",
        settings.execution_url(&change.execution_arn)
    ));
    if let Some(u) = &o.job_url {
        b.push_str(&format!("  Batch job: {u}\n"));
    }
    if let Some(u) = &o.log_url {
        b.push_str(&format!("  Logs:      {u}\n"));
    }
    b.push_str(&format!("\nDuration: {duration}\n"));
    b.push_str(&format!(
        "Trigger:  {}\n",
        o.trigger.as_deref().unwrap_or("started by hand")
    ));
    let mut attributes: BTreeMap<String, String> = [
        ("status".to_string(), status.to_string()),
        ("workflow".to_string(), workflow),
    ]
    .into();
    if o.redrive_count > 0 {
        attributes.insert("redriveCount".into(), o.redrive_count.to_string());
    }
    Notification {
        subject,
        body: b,
        attributes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redriven_execution_says_which_redrive_and_its_own_outcome() {
        let change = ExecutionChange {
            execution_arn: "arn:aws:states:us-east-1:1:execution:sm:e1".into(),
            state_machine_arn: "arn:aws:states:us-east-1:1:stateMachine:sm".into(),
            name: "e1".into(),
            status: "SUCCEEDED".into(),
            start_date: Some(0),
            stop_date: Some(1000),
            input: None,
            error: None,
            cause: None,
        };
        let events: Vec<Value> = serde_json::from_str(
            r#"[
            {"id":1,"previousEventId":0,"type":"ExecutionStarted","executionStartedEventDetails":{"input":"{}"}},
            {"id":2,"previousEventId":1,"type":"TaskStateEntered","stateEnteredEventDetails":{"name":"A"}},
            {"id":3,"previousEventId":2,"type":"TaskFailed","taskFailedEventDetails":{"error":"E","cause":"boom"}},
            {"id":4,"previousEventId":3,"type":"ExecutionFailed","executionFailedEventDetails":{"error":"E"}},
            {"id":5,"previousEventId":4,"type":"ExecutionRedriven","executionRedrivenEventDetails":{"redriveCount":1}},
            {"id":6,"previousEventId":5,"type":"TaskStateEntered","stateEnteredEventDetails":{"name":"A"}},
            {"id":7,"previousEventId":6,"type":"TaskSucceeded"},
            {"id":8,"previousEventId":7,"type":"ExecutionSucceeded"}
        ]"#,
        )
        .unwrap();
        let o = Outcome::from_history(&change, &events);
        assert_eq!(o.redrive_count, 1);
        assert_eq!(o.failed_state, None);
        assert_eq!(o.jobs_run, 1);
        let settings = Settings {
            workflow: "sm".into(),
            ..Settings::from_env()
        };
        let n = compose(&settings, &change, &o, &[]);
        assert_eq!(n.subject, "[rsqlflow] SUCCEEDED (redrive 1): sm");
        assert!(
            n.body
                .starts_with("Workflow sm SUCCEEDED (execution e1, redrive 1).")
        );
        assert_eq!(n.attributes["redriveCount"], "1");
    }

    #[test]
    fn the_workflow_is_named_after_the_state_machine_that_ran() {
        let settings = Settings {
            workflow: "stack-rsql-etl".into(),
            ..Settings::default()
        };
        let mut change = ExecutionChange {
            execution_arn: "arn:aws:states:us-east-1:1:execution:stack-orders-incremental:e1"
                .into(),
            state_machine_arn: "arn:aws:states:us-east-1:1:stateMachine:stack-orders-incremental"
                .into(),
            name: "e1".into(),
            status: "FAILED".into(),
            start_date: None,
            stop_date: None,
            input: None,
            error: None,
            cause: None,
        };
        let o = Outcome::from_history(&change, &[]);
        let n = compose(&settings, &change, &o, &[]);
        assert!(
            n.subject.contains("stack-orders-incremental"),
            "{}",
            n.subject
        );
        assert_eq!(n.attributes["workflow"], "stack-orders-incremental");
        change.state_machine_arn = String::new();
        let n = compose(&settings, &change, &o, &[]);
        assert_eq!(n.attributes["workflow"], "stack-rsql-etl");
    }

    #[test]
    fn subjects_are_one_short_line() {
        let s = one_line(&format!("a\nb{}", "x".repeat(200)), 100);
        assert_eq!(s.chars().count(), 100);
        assert!(!s.contains('\n'));
    }
}
