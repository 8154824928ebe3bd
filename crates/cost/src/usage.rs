//! What an execution used, as its history shows it: state transitions, the submit-job
//! invocations, and each Batch job with its resources and its time in RUNNING. A local run
//! adds what it measured (Lambda durations, the SQL time of each job, the bytes of its logs).
//!
//! The jobs come from the Task states that invoke submit-job: the job spec is in the
//! `TaskScheduled` event's parameters (`Payload.job`, with its `vcpus` and `memoryMib`
//! overrides), and what ran is in the Task's result (check-job's `TaskSucceeded` output) or
//! its error's cause (`TaskFailed`), both carrying `jobId`, `attempts` and `durationSeconds`
//! (`etl::handlers::check_job::result_of`).

use std::collections::{BTreeMap, HashMap};

use report::history::{Event, payload};
use serde_json::Value;

/// A Lambda function's invocations.
#[derive(Debug, Clone, PartialEq)]
pub struct LambdaUse {
    pub function: String,
    pub invocations: u64,
    /// The sum of their durations, when measured (a local run measures them).
    pub measured_ms: Option<u64>,
}

/// One Batch job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobUse {
    pub id: String,
    /// The job spec's name.
    pub job: String,
    pub state: Option<String>,
    /// Its container's time in RUNNING (the last attempt's).
    pub running_ms: u64,
    /// Attempts Batch made (each one starts a Fargate task).
    pub attempts: u32,
    /// The job spec's override, else the job definition's.
    pub vcpus: Option<f64>,
    pub memory_mib: Option<u64>,
    /// When it ran (ms since the epoch), for the warehouse's busy periods.
    pub started: Option<i64>,
    pub stopped: Option<i64>,
    /// Its statements' time on the warehouse, when measured.
    pub sql_ms: Option<u64>,
    /// The bytes its log holds, when measured.
    pub log_bytes: Option<u64>,
}

/// Everything the estimate needs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Usage {
    /// Executions (the execution, and a Distributed Map's children).
    pub executions: u64,
    pub transitions: u64,
    pub lambdas: Vec<LambdaUse>,
    pub jobs: Vec<JobUse>,
    /// The execution ended (notify runs once).
    pub ended: bool,
    /// A trigger started it (start-workflow ran once).
    pub triggered: bool,
}

/// The submit-job function's name in the estimate.
pub const SUBMIT_JOB: &str = "submit-job";

impl Usage {
    /// Reads a history's events.
    pub fn from_history(events: &[Event]) -> Usage {
        let analysis = report::model::analyse(events);
        // Step Functions counts a transition for every state entered and another for every
        // retry (the Step Functions pricing page).
        let transitions: u64 = analysis
            .runs
            .iter()
            .map(|r| 1 + u64::from(r.attempts.saturating_sub(1)))
            .sum();
        let by_id: HashMap<u64, &Event> = events.iter().map(|e| (e.id, e)).collect();
        let mut submits = 0u64;
        let mut jobs: BTreeMap<String, JobUse> = BTreeMap::new();
        for e in events {
            match e.kind.as_str() {
                "TaskScheduled" if e.detail("resourceType") == Some("lambda") => submits += 1,
                "TaskSucceeded" | "TaskFailed" => {
                    let result = if e.kind == "TaskSucceeded" {
                        payload(e.details.get("output"))
                    } else {
                        payload(e.details.get("cause"))
                    };
                    let Some(result) = result.filter(|r| r.get("jobId").is_some()) else {
                        continue;
                    };
                    let scheduled = scheduled_of(e, &by_id);
                    if let Some(j) = job_use(&result, scheduled, e.at) {
                        jobs.entry(j.id.clone()).or_insert(j);
                    }
                }
                _ => {}
            }
        }
        let started = events.iter().any(|e| e.kind == "ExecutionStarted");
        let input = report::history::execution_input(events);
        let ended = events.iter().any(|e| {
            matches!(
                e.kind.as_str(),
                "ExecutionSucceeded" | "ExecutionFailed" | "ExecutionTimedOut" | "ExecutionAborted"
            )
        });
        let mut lambdas = vec![LambdaUse {
            function: SUBMIT_JOB.into(),
            invocations: submits,
            measured_ms: None,
        }];
        if !jobs.is_empty() {
            // check-job runs once per job that ends: the template's rule matches the Batch
            // Job State Change events of status SUCCEEDED and FAILED.
            lambdas.push(LambdaUse {
                function: "check-job".into(),
                invocations: jobs.len() as u64,
                measured_ms: None,
            });
        }
        let triggered = input.as_ref().is_some_and(|i| i.get("trigger").is_some());
        if triggered {
            lambdas.push(LambdaUse {
                function: "start-workflow".into(),
                invocations: 1,
                measured_ms: None,
            });
        }
        if ended {
            // notify runs once for the execution's end ("Step Functions Execution Status
            // Change" for SUCCEEDED, FAILED, TIMED_OUT and ABORTED).
            lambdas.push(LambdaUse {
                function: "notify".into(),
                invocations: 1,
                measured_ms: None,
            });
        }
        let mut jobs: Vec<JobUse> = jobs.into_values().collect();
        jobs.sort_by_key(|j| (j.started.unwrap_or(i64::MAX), j.id.clone()));
        Usage {
            executions: u64::from(started),
            transitions,
            lambdas,
            jobs,
            ended,
            triggered,
        }
    }

    /// Adds a Distributed Map child execution's usage (its transitions, submit-job calls and
    /// jobs; its end notifies no one).
    pub fn add_child(&mut self, child: &Usage) {
        self.executions += child.executions;
        self.transitions += child.transitions;
        for l in &child.lambdas {
            if l.function == "notify" || l.function == "start-workflow" {
                continue;
            }
            match self.lambdas.iter_mut().find(|x| x.function == l.function) {
                Some(x) => x.invocations += l.invocations,
                None => self.lambdas.push(l.clone()),
            }
        }
        self.jobs.extend(child.jobs.iter().cloned());
    }
}

/// The `TaskScheduled` event a Task's outcome follows (`TaskStarted`/`TaskSubmitted` lie
/// between them).
fn scheduled_of<'a>(e: &Event, by_id: &HashMap<u64, &'a Event>) -> Option<&'a Event> {
    let mut at = by_id.get(&e.previous).copied()?;
    for _ in 0..8 {
        if at.kind == "TaskScheduled" {
            return Some(at);
        }
        match by_id.get(&at.previous) {
            Some(p) if p.id < at.id => at = p,
            _ => return None,
        }
    }
    None
}

fn job_use(result: &Value, scheduled: Option<&Event>, at: Option<i64>) -> Option<JobUse> {
    let id = result.get("jobId")?.as_str()?.to_string();
    let spec = scheduled
        .and_then(|s| payload(s.details.get("parameters")))
        .and_then(|p| p.get("Payload").and_then(|x| x.get("job")).cloned())
        .unwrap_or(Value::Null);
    let seconds = result
        .get("durationSeconds")
        .and_then(Value::as_f64)
        .filter(|s| s.is_finite() && *s >= 0.0)
        .unwrap_or(0.0);
    let running_ms = (seconds * 1000.0).round() as u64;
    let stopped = at;
    Some(JobUse {
        id,
        job: result
            .get("job")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        state: None,
        running_ms,
        attempts: result
            .get("attempts")
            .and_then(Value::as_u64)
            .map(|a| a.clamp(1, 100) as u32)
            .unwrap_or(1),
        vcpus: spec
            .get("vcpus")
            .and_then(Value::as_f64)
            .filter(|v| v.is_finite() && *v > 0.0),
        memory_mib: spec.get("memoryMib").and_then(Value::as_u64),
        started: stopped.map(|s| s - running_ms as i64),
        stopped,
        sql_ms: None,
        log_bytes: None,
    })
}
