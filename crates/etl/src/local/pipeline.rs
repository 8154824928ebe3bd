//! The whole workflow on one machine: the state machine runs on the ASL executor; its
//! `lambda:invoke` Tasks call submit-job; local Batch runs the scripts and emits job state
//! changes that the local bus routes to check-job; when the execution ends, notify publishes
//! to the local SNS outbox.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::events::{self, ExecutionChange};
use crate::handlers::{check_job, notify};
use crate::local::batch::LocalBatch;
use crate::local::bus::{self, BusReceiver};
use crate::local::executions::{Claim, ExecutionStatus};
use crate::local::lambda::LocalLambda;
use crate::local::logs::LocalLogs;
use crate::local::meter::{Meter, Reading, timed};
use crate::local::runner::ScriptRunner;
use crate::local::sfn::LocalStepFunctions;
use crate::local::sns::LocalSns;
use crate::local::submissions::LocalSubmissions;
use crate::services::{JobDetail, Notification};
use crate::settings::Settings;

/// The local account and region every local ARN uses.
pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";
/// Local bucket names.
pub const SCRIPTS_BUCKET: &str = "rsqlflow-scripts";
pub const DATA_BUCKET: &str = "rsqlflow-data";
/// The submit-job function's local name.
pub const SUBMIT_JOB_FUNCTION: &str = "rsqlflow-submit-job";

/// Why a local run could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{path}: {message}")]
    Definition { path: String, message: String },
    #[error("{0}")]
    Io(String),
}

/// Resolves with StopExecution's (error, cause) when the run must stop.
pub type StopSignal = std::pin::Pin<Box<dyn std::future::Future<Output = (String, String)> + Send>>;

/// What to run.
pub struct RunConfig {
    /// The state machine definition (with `${...}` placeholders).
    pub definition: PathBuf,
    /// Values for the placeholders.
    pub substitutions: BTreeMap<String, String>,
    pub input: Value,
    /// The execution's claimed record (its name, RUNNING, locked by this process); the run
    /// rewrites it at every status change.
    pub claim: Claim,
    pub state_dir: PathBuf,
    pub runner: Arc<dyn ScriptRunner>,
    /// S3 as the run sees it (local S3): the scripts bucket the jobs read, and the buckets a
    /// Distributed Map's ItemReader and ResultWriter reach.
    pub s3: Arc<dyn objects::ObjectStore>,
    pub real_time: bool,
    /// Spec names of jobs whose first attempts fail with an infrastructure error.
    pub inject_infra_failures: Vec<(String, u32)>,
    /// Spec names of jobs whose first submission is retried by the state while the job is
    /// queued or running (see [`LocalLambda::duplicate_submits`]).
    pub inject_duplicate_submits: Vec<String>,
    pub send_success_notifications: bool,
    /// When this resolves with (error, cause), the execution is stopped as StopExecution
    /// stops it (the CLI's SIGINT/SIGTERM): ABORTED, its jobs terminated.
    pub stop_on: Option<StopSignal>,
    /// Redrive the claimed execution (RedriveExecution): its record's checkpoint says what
    /// succeeded, its history file goes on.
    pub redrive: bool,
}

/// What a run did.
pub struct RunReport {
    pub status: asl::Status,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub execution_arn: String,
    pub history_path: PathBuf,
    pub jobs: Vec<JobDetail>,
    pub notifications: Vec<Notification>,
    pub wall: Duration,
    /// What could not be recorded (history, execution record, notification outbox): the run
    /// itself is reported regardless.
    pub problems: Vec<String>,
    /// The Lambda invocations' and the jobs' SQL time, for the cost estimate.
    pub measured: Reading,
}

/// Receives progress lines while a run goes.
pub trait Progress: Send + Sync {
    fn line(&self, text: &str);
}

/// The placeholders the local pipeline fills by default.
pub fn local_substitutions() -> BTreeMap<String, String> {
    [
        (
            "SubmitJobFunctionArn",
            format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{SUBMIT_JOB_FUNCTION}"),
        ),
        ("ScriptsBucket", SCRIPTS_BUCKET.to_string()),
        ("DataBucket", DATA_BUCKET.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// A state machine's name from its definition file (`rsql-etl.asl.json` -> `rsql-etl`).
pub fn state_machine_name(definition: &Path) -> String {
    definition
        .file_name()
        .and_then(|n| n.to_str())
        .map(|n| {
            n.trim_end_matches(".json")
                .trim_end_matches(".asl")
                .to_string()
        })
        .unwrap_or_else(|| "rsql-etl".into())
}

/// Replaces `${Name}` placeholders; an unknown one is an error that names it and its line.
pub fn substitute(
    text: &str,
    values: &BTreeMap<String, String>,
    path: &str,
) -> Result<String, RunError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let name = &after[..end];
        match values.get(name) {
            Some(v) => out.push_str(v),
            None => {
                let line = text[..text.len() - rest.len() + start]
                    .lines()
                    .count()
                    .max(1);
                return Err(RunError::Definition {
                    path: format!("{path}:{line}"),
                    message: format!(
                        "unknown placeholder ${{{name}}} (known: {})",
                        values.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                });
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

pub(crate) fn settings(state_machine_arn: &str, send_success: bool) -> Settings {
    Settings {
        region: REGION.into(),
        account: ACCOUNT.into(),
        job_queue: "rsqlflow-local".into(),
        job_definition: "rsqlflow-rsql".into(),
        scripts_bucket: SCRIPTS_BUCKET.into(),
        topic_arn: format!("arn:aws:sns:{REGION}:{ACCOUNT}:rsqlflow-notifications"),
        routes: Ok(crate::routes::single(state_machine_arn, "", "")),
        workflow: state_machine_arn
            .rsplit(':')
            .next()
            .unwrap_or("rsql-etl")
            .to_string(),
        send_success_notifications: send_success,
        console: "https://console.aws.amazon.com".into(),
        job_log_group: crate::settings::BATCH_LOG_GROUP.into(),
        submissions_table: "rsqlflow-submissions".into(),
    }
}

/// Routes bus events to check-job until the sender side is gone.
/// What check-job runs with locally, and where its invocations are measured.
struct CheckJob {
    settings: Settings,
    sfn: Arc<LocalStepFunctions>,
    logs: LocalLogs,
    ledger: Arc<LocalSubmissions>,
    meter: Arc<Meter>,
}

async fn route(
    mut rx: BusReceiver,
    check: CheckJob,
    progress: Arc<dyn Progress>,
    started: Instant,
) {
    let CheckJob {
        settings,
        sfn,
        logs,
        ledger,
        meter,
    } = check;
    while let Some(d) = rx.recv().await {
        if d.event["detail-type"] == events::BATCH_STATE_CHANGE {
            let job = &d.event["detail"];
            let status = job["status"].as_str().unwrap_or("");
            let mut line = format!(
                "{:>7.1}s  job {:<48} {status}",
                started.elapsed().as_secs_f64(),
                job["jobName"].as_str().unwrap_or("")
            );
            if matches!(status, "SUCCEEDED" | "FAILED") {
                if let Some(c) = job["container"]["exitCode"].as_i64() {
                    line.push_str(&format!(" (exit {c})"));
                }
                if let Some(r) = job["container"]["reason"].as_str() {
                    line.push_str(&format!(" ({r})"));
                } else if status == "FAILED"
                    && let Some(r) = job["statusReason"].as_str()
                {
                    line.push_str(&format!(" ({r})"));
                }
            }
            progress.line(&line);
            // In AWS the rule passes check-job the SUCCEEDED and FAILED events only
            // (template.yaml's CheckJob event pattern): those are the invocations counted.
            let counted = matches!(status, "SUCCEEDED" | "FAILED").then_some(meter.as_ref());
            let answer = timed(
                counted,
                "check-job",
                check_job::handle(d.event, &settings, sfn.as_ref(), &logs, ledger.as_ref()),
            )
            .await;
            if let Err(e) = answer {
                progress.line(&format!("check-job failed: {e}"));
            }
        }
        drop(d.hold);
    }
}

/// Writes the history so far (a unique temporary file, then renamed): the events of earlier
/// attempts (a redrive), then this attempt's.
async fn save_history(
    path: &Path,
    earlier: &[Value],
    events: &[asl::history::Event],
) -> Result<(), String> {
    let json: Vec<Value> = earlier
        .iter()
        .cloned()
        .chain(events.iter().map(|e| e.to_json()))
        .collect();
    let bytes = serde_json::to_vec_pretty(&json!({ "events": json })).unwrap_or_default();
    let p = path.to_path_buf();
    tokio::task::spawn_blocking(move || objects::write_whole(&p, &bytes))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Prints state transitions from the history as they happen, and saves the history about once
/// a second while it grows, so that a killed run leaves the history up to its last second.
async fn watch_states(
    handle: asl::Handle,
    progress: Arc<dyn Progress>,
    started: Instant,
    history_path: PathBuf,
    earlier: Arc<Vec<Value>>,
) {
    let mut seen = 0usize;
    let mut saved = 0usize;
    let mut last_save = Instant::now();
    loop {
        let events = handle.history().events();
        if events.len() != saved && last_save.elapsed() >= Duration::from_secs(1) {
            // A failure here is reported when the run ends and the history is written last.
            let _ = save_history(&history_path, &earlier, &events).await;
            saved = events.len();
            last_save = Instant::now();
        }
        for e in events.iter().skip(seen) {
            let name = e
                .details
                .as_ref()
                .and_then(|d| d.get("name"))
                .and_then(|n| n.as_str())
                .unwrap_or("");
            let kind = e.kind.name();
            let what = match kind.as_str() {
                k if k.ends_with("StateEntered") => Some("entered"),
                "TaskFailed" | "TaskTimedOut" => Some("failed"),
                k if k.ends_with("StateExited") => Some("done"),
                _ => None,
            };
            if let Some(w) = what {
                let label = if name.is_empty() {
                    kind.clone()
                } else {
                    name.to_string()
                };
                progress.line(&format!(
                    "{:>7.1}s  {:<52} {w}",
                    started.elapsed().as_secs_f64(),
                    label
                ));
            }
        }
        seen = events.len();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Reads a definition, fills its placeholders and validates it.
pub async fn load_machine(
    definition: &Path,
    substitutions: &BTreeMap<String, String>,
) -> Result<asl::model::StateMachine, RunError> {
    let path = definition.display().to_string();
    let raw = tokio::fs::read_to_string(definition)
        .await
        .map_err(|e| RunError::Io(format!("reading {path}: {e}")))?;
    let text = substitute(&raw, substitutions, &path)?;
    asl::load_runnable(&text).map_err(|e| RunError::Definition {
        path,
        message: e.to_string(),
    })
}

/// Runs the workflow to its end.
pub async fn run(cfg: RunConfig, progress: Arc<dyn Progress>) -> Result<RunReport, RunError> {
    let started = Instant::now();
    let mut claim = cfg.claim;
    let machine = match load_machine(&cfg.definition, &cfg.substitutions).await {
        Ok(m) => m,
        Err(e) => {
            // The execution never started (as when CreateStateMachine refuses a definition):
            // its name stays free.
            let _ = claim.discard();
            return Err(e);
        }
    };
    let sm_name = state_machine_name(&cfg.definition);
    let execution_name = claim.record().name.clone();
    let history_path = claim.store().history_path(&execution_name);
    // A redrive goes on from the execution's checkpoint and history.
    let (redrive, earlier) = if cfg.redrive {
        let r = claim.record();
        let checkpoint: asl::Checkpoint = r
            .checkpoint
            .clone()
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| RunError::Io(format!("{}: its checkpoint: {e}", r.name)))?
            .unwrap_or_default();
        let earlier: Vec<Value> = tokio::fs::read(&history_path)
            .await
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .and_then(|v| v["events"].as_array().cloned())
            .unwrap_or_default();
        let previous_events = earlier
            .last()
            .and_then(|e| e["id"].as_u64())
            .unwrap_or(earlier.len() as u64);
        let started =
            chrono::DateTime::from_timestamp_millis(r.start_date).unwrap_or_else(chrono::Utc::now);
        (
            Some(asl::Redrive {
                count: r.redrive_count.saturating_add(1),
                checkpoint,
                previous_events,
                started,
            }),
            earlier,
        )
    } else {
        (None, Vec::new())
    };
    let earlier = Arc::new(earlier);
    let opts = asl::Options {
        execution_name: execution_name.clone(),
        state_machine_name: sm_name,
        account: ACCOUNT.into(),
        region: REGION.into(),
        role_arn: format!("arn:aws:iam::{ACCOUNT}:role/rsqlflow-state-machine"),
        mode: if cfg.real_time {
            asl::Mode::Real
        } else {
            asl::Mode::Accelerated
        },
        redrive: redrive.clone(),
        object_store: Some(asl::distributed::Store(cfg.s3.clone())),
        ..asl::Options::default()
    };
    let execution_arn = opts.execution_arn();
    let state_machine_arn = opts.state_machine_arn();
    let settings = settings(&state_machine_arn, cfg.send_success_notifications);
    let history_dir = cfg.state_dir.join("executions");
    claim
        .update(|r| {
            r.execution_arn = execution_arn.clone();
            r.state_machine_arn = state_machine_arn.clone();
            r.definition = Some(cfg.definition.clone());
            r.input = cfg.input.clone();
            r.status = ExecutionStatus::Running;
            r.pid = std::process::id();
            if let Some(rd) = &redrive {
                r.redrive_count = rd.count;
                r.redrive_date = Some(chrono::Utc::now().timestamp_millis());
                r.stop_date = None;
                r.error = None;
                r.cause = None;
            }
        })
        .map_err(|e| RunError::Io(e.to_string()))?;

    let logs = LocalLogs::new(cfg.state_dir.join("logs"));
    let (tx, rx) = bus::channel();
    let batch = LocalBatch::new(
        cfg.runner.clone(),
        cfg.s3.clone(),
        logs.clone(),
        tx,
        REGION,
        ACCOUNT,
    );
    let meter = Arc::new(Meter::default());
    batch.set_meter(meter.clone());
    for (job, n) in &cfg.inject_infra_failures {
        batch.inject_infrastructure_failure(job, *n);
    }
    for job in &cfg.inject_duplicate_submits {
        batch.hold_in_runnable(job);
    }
    let sfn = Arc::new(LocalStepFunctions::new(
        cfg.state_dir.join("executions"),
        REGION,
        ACCOUNT,
    ));
    let sns = LocalSns::new(cfg.state_dir.join("outbox.jsonl"));
    let ledger = Arc::new(LocalSubmissions::new());

    let mut registry = asl::Registry::new();
    let lambda = Arc::new(LocalLambda {
        submit_job_name: cfg
            .substitutions
            .get("SubmitJobFunctionArn")
            .cloned()
            .unwrap_or_else(|| SUBMIT_JOB_FUNCTION.into()),
        settings: settings.clone(),
        batch: batch.clone(),
        ledger: ledger.clone(),
        scripts: cfg.s3.clone(),
        duplicate_submits: std::sync::Mutex::new(
            cfg.inject_duplicate_submits.iter().cloned().collect(),
        ),
        progress: Some(progress.clone()),
        meter: Some(meter.clone()),
    });
    registry.register("arn:aws:states:::lambda:invoke", lambda.clone());
    let exec = asl::Executor::new(machine, registry);
    let (handle, fut) = exec.start(cfg.input.clone(), opts);
    sfn.attach(handle.clone());
    let stopper = cfg.stop_on.map(|stop| {
        let h = handle.clone();
        tokio::spawn(async move {
            let (error, cause) = stop.await;
            h.stop(Some(&error), Some(&cause));
        })
    });
    let hold_handle = handle.clone();
    batch.set_hold(Arc::new(move || Some(hold_handle.busy())));

    let router = tokio::spawn(route(
        rx,
        CheckJob {
            settings: settings.clone(),
            sfn: sfn.clone(),
            logs: logs.clone(),
            ledger: ledger.clone(),
            meter: meter.clone(),
        },
        progress.clone(),
        started,
    ));
    let watcher = tokio::spawn(watch_states(
        handle.clone(),
        progress.clone(),
        started,
        history_path.clone(),
        earlier.clone(),
    ));
    let result = fut.await;
    if let Some(s) = stopper {
        s.abort();
    }
    watcher.abort();
    // Print what the watcher had not shown yet.
    let _ = watcher.await;

    // From here on, nothing stops the report: what cannot be written is said, not fatal.
    let mut problems = Vec::new();
    // A duplicate asked for a job that never came (a misspelt name) is said, not ignored.
    if let Ok(left) = lambda.duplicate_submits.lock() {
        for job in left.iter() {
            problems.push(format!(
                "--inject-duplicate-submit {job}: no job named {job} was submitted"
            ));
        }
    }
    let events: Vec<Value> = earlier
        .iter()
        .cloned()
        .chain(result.history.events().iter().map(|e| e.to_json()))
        .collect();
    if let Err(e) = tokio::fs::create_dir_all(&history_dir).await {
        problems.push(format!(
            "the history could not be written: {}: {e}",
            history_dir.display()
        ));
    } else if let Err(e) = save_history(&history_path, &earlier, &result.history.events()).await {
        problems.push(format!("the history could not be written: {e}"));
    } else if !result.child_executions.is_empty() {
        // A Distributed Map's child executions, each with its own history, beside the
        // parent's (AWS keeps their events out of it).
        let path = history_path.with_file_name(format!("{execution_name}.children.json"));
        let doc: Vec<Value> = result
            .child_executions
            .iter()
            .map(|c| c.to_json())
            .collect();
        let bytes = serde_json::to_vec_pretty(&doc).unwrap_or_default();
        let p = path.clone();
        match tokio::task::spawn_blocking(move || objects::write_whole(&p, &bytes)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => problems.push(format!(
                "the child executions could not be written: {}: {e}",
                path.display()
            )),
            Err(e) => problems.push(format!("the child executions could not be written: {e}")),
        }
    }
    sfn.set_history(&execution_arn, events);
    let checkpoint = serde_json::to_value(&result.checkpoint).ok();
    if let Err(e) = claim.update(|r| r.checkpoint = checkpoint).and_then(|_| {
        claim.finish(
            result.status.into(),
            result.error.clone(),
            result.cause.clone(),
        )
    }) {
        problems.push(format!("the execution record could not be written: {e}"));
    }

    // The execution status change goes to notify.
    let change = ExecutionChange {
        execution_arn: execution_arn.clone(),
        state_machine_arn: state_machine_arn.clone(),
        name: execution_name.clone(),
        status: result.status.as_str().to_string(),
        start_date: Some(result.start.timestamp_millis()),
        stop_date: Some(result.stop.timestamp_millis()),
        input: Some(cfg.input.to_string()),
        error: result.error.clone(),
        cause: result.cause.clone(),
    };
    let event = events::execution_change_event(&change, REGION, ACCOUNT);
    // notify terminates the jobs an unsuccessful execution left running (and names them).
    let notified = timed(
        Some(&meter),
        "notify",
        notify::handle(event, &settings, sfn.as_ref(), &sns, &batch),
    )
    .await;
    if let Err(e) = notified {
        problems.push(format!("notify failed: {e}"));
    }
    batch.settle(Duration::from_secs(10)).await;
    router.abort();
    let _ = router.await;
    Ok(RunReport {
        status: result.status,
        output: result.output,
        error: result.error,
        cause: result.cause,
        execution_arn,
        history_path,
        jobs: batch.jobs(),
        notifications: sns.sent(),
        wall: started.elapsed(),
        problems,
        measured: meter.reading(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders() {
        let v = local_substitutions();
        let t = substitute("{\"a\": \"${DataBucket}\"}", &v, "x.json").unwrap();
        assert_eq!(t, "{\"a\": \"rsqlflow-data\"}");
        let e = substitute("{\n\"a\": \"${Nope}\"}", &v, "x.json").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("x.json:2: unknown placeholder ${Nope}"),
            "{e}"
        );
    }
}
