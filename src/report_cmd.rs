//! `rsqlflow report`: writes an execution's HTML report (the `report` crate) from a local
//! execution's record and history, or from an AWS history and its definition; and, after
//! every local run, the run's own report with its Batch jobs and notification.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use etl::local::executions::{ExecutionRecord, ExecutionStore};
use etl::local::pipeline::{self, RunReport};
use serde::{Deserialize, Serialize};

use crate::cli::ReportArgs;

/// What a run knows that its history does not: its jobs, its notification and what it
/// measured for the cost estimate, kept beside the history as `<name>.report.json` for later
/// `rsqlflow report` and `rsqlflow cost` calls.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Extra {
    pub(crate) jobs: Vec<report::Job>,
    pub(crate) notification: Option<String>,
    pub(crate) measured: Option<etl::local::meter::Reading>,
}

/// What the run of execution `name` kept (nothing, when it kept nothing readable).
pub(crate) fn kept(store: &ExecutionStore, name: &str) -> Extra {
    read(&extra_path(store, name))
        .ok()
        .and_then(|b| serde_json::from_str(&b).ok())
        .unwrap_or_default()
}

/// The last lines of a job's log kept in the report.
const LOG_TAIL_LINES: usize = 30;

pub async fn run(args: ReportArgs) -> Result<i32> {
    // `-o` names a file in a directory that exists: a mistyped directory is not created.
    if let Some(out) = &args.output
        && let Some(d) = out.parent().filter(|d| !d.as_os_str().is_empty())
        && !d.is_dir()
    {
        bail!(
            "cannot write {}: {} is not a directory",
            out.display(),
            d.display()
        );
    }
    let (html, default_out) = match (&args.execution_arn, &args.history, &args.definition) {
        (Some(arn), _, _) => crate::report_aws::html(&args, arn).await?,
        (None, Some(_), None) => bail!("--history needs --definition (or --execution-arn)"),
        (None, None, Some(_)) => bail!("--definition needs --history or --execution-arn"),
        (None, Some(h), Some(d)) => {
            let history = read(h)?;
            let definition = read(d)?;
            let name = h
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("execution")
                .to_string();
            let events =
                report::history::parse(&history).with_context(|| format!("{}", h.display()))?;
            let meta = report::Meta {
                workflow: pipeline::state_machine_name(d),
                execution: name.clone(),
                execution_arn: String::new(),
                trigger: report::history::execution_input(&events)
                    .and_then(|i| etl::notification::describe_trigger(&i["trigger"])),
                cost: crate::cost_cmd::aws_estimate(&events, &[]),
                ..Default::default()
            };
            let r = report::build_from_events(&events, &definition, meta)
                .with_context(|| format!("{} with {}", h.display(), d.display()))?;
            (report::html::render(&r), h.with_extension("html"))
        }
        _ => {
            let store = ExecutionStore::new(state_dir().join("executions"));
            let record = match &args.execution {
                Some(e) => {
                    let name = e.rsplit(':').next().unwrap_or(e);
                    store.read(name)?
                }
                None => match store.list().into_iter().next() {
                    Some(r) => r,
                    None => bail!("no executions under {}", state_dir().display()),
                },
            };
            let out = html_path(&state_dir(), &record.name);
            (local_html(&store, &record, None)?.0, out)
        }
    };
    let out = args.output.unwrap_or(default_out);
    write_atomically(&out, html.as_bytes())?;
    println!("{}", out.display());
    Ok(0)
}

fn state_dir() -> PathBuf {
    PathBuf::from(".rsqlflow")
}

fn html_path(state_dir: &Path, name: &str) -> PathBuf {
    state_dir.join("executions").join(format!("{name}.html"))
}

/// Reads a regular file: a FIFO or a device (`--history /dev/stdin` of a pipe nobody writes,
/// `/dev/zero`) would block or never end.
pub(crate) fn read(p: &Path) -> Result<String> {
    let meta = std::fs::metadata(p).with_context(|| format!("cannot read {}", p.display()))?;
    if !meta.is_file() {
        bail!("cannot read {}: not a regular file", p.display());
    }
    std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))
}

/// The report of a local execution (its record, history, definition and what its run kept),
/// and the execution's cost estimate the report shows.
fn local_html(
    store: &ExecutionStore,
    record: &ExecutionRecord,
    extra: Option<Extra>,
) -> Result<(String, Option<cost::Estimate>)> {
    let history = read(&store.history_path(&record.name))?;
    let def_path = record
        .definition
        .clone()
        .context("the execution record names no definition")?;
    let text = read(&def_path)?;
    let definition = pipeline::substitute(
        &text,
        &pipeline::local_substitutions(),
        &def_path.display().to_string(),
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let extra = match extra {
        Some(x) => x,
        None => kept(store, &record.name),
    };
    // A Distributed Map's child executions, kept beside the history by the run.
    let children = crate::cost_cmd::local_children(store, &record.name)?;
    let events = report::history::parse(&history)?;
    let logs = etl::local::logs::LocalLogs::new(state_dir().join("logs"));
    let usage = crate::cost_cmd::local_usage(
        &events,
        &children,
        &extra.jobs,
        extra.measured.as_ref(),
        &logs,
    );
    let estimate = cost::for_region(pipeline::REGION)
        .map(|p| {
            cost::estimate(
                &usage,
                p,
                &crate::cost_cmd::assumptions(Path::new("template.yaml")),
            )
        })
        .ok();
    let meta = report::Meta {
        workflow: pipeline::state_machine_name(&def_path),
        execution: record.name.clone(),
        execution_arn: record.execution_arn.clone(),
        trigger: etl::notification::describe_trigger(&record.input["trigger"]),
        notification: extra.notification,
        notification_composed: false,
        jobs: extra.jobs,
        children,
        links: Vec::new(),
        cost: estimate.as_ref().map(|e| e.to_report_table()),
    };
    let r = report::build_from_events(&events, &definition, meta)?;
    Ok((report::html::render(&r), estimate))
}

fn extra_path(store: &ExecutionStore, name: &str) -> PathBuf {
    store
        .history_path(name)
        .with_file_name(format!("{name}.report.json"))
}

/// Writes the report of a run that just ended; returns its path and the run's cost estimate.
pub fn after_run(state_dir: &Path, r: &RunReport) -> Result<(PathBuf, Option<cost::Estimate>)> {
    let name = r.execution_arn.rsplit(':').next().unwrap_or_default();
    let store = ExecutionStore::new(state_dir.join("executions"));
    let record = store.read(name)?;
    let logs = etl::local::logs::LocalLogs::new(state_dir.join("logs"));
    let jobs = r
        .jobs
        .iter()
        .map(|j| report::Job {
            id: j.id.clone(),
            name: j.name.clone(),
            state: j.tags.get(etl::contract::tags::STATE_TAG).cloned(),
            status: j.status.as_str().to_string(),
            exit_code: j.exit_code,
            created: j.created_at,
            runnable: j.runnable_at,
            started: j.started_at,
            stopped: j.stopped_at,
            reason: j.status_reason.clone().or(j.container_reason.clone()),
            log: j.log_stream.clone(),
            log_tail: j
                .log_stream
                .as_deref()
                .and_then(|s| logs.tail_lines(s, LOG_TAIL_LINES).ok())
                .map(|lines| lines.join("\n")),
            links: Vec::new(),
        })
        .collect();
    let extra = Extra {
        jobs,
        notification: r
            .notifications
            .last()
            .map(|n| format!("{}\n\n{}", n.subject, n.body.trim_end())),
        measured: Some(r.measured.clone()),
    };
    if let Ok(bytes) = serde_json::to_vec_pretty(&extra) {
        write_atomically(&extra_path(&store, name), &bytes)?;
    }
    let (html, estimate) = local_html(&store, &record, Some(extra))?;
    let out = html_path(state_dir, name);
    write_atomically(&out, html.as_bytes())?;
    Ok((out, estimate))
}

/// Writes under a temporary name in the same directory, then renames into place.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    objects::write_whole(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}
