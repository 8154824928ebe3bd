//! `rsqlflow report --execution-arn ARN`: the report of an execution in AWS, read with the
//! user's credentials (the standard AWS configuration chain) through `etl::aws::report`:
//! DescribeExecution, GetExecutionHistory (every page; or `--history FILE`),
//! DescribeStateMachineForExecution (or `--definition FILE`), the execution's Batch jobs
//! (found by their `rsqlflow:execution` tag) and the last lines of their logs, and console
//! links for the execution, its state machine, each job and each log stream.
//!
//! What fails about one job (its description, its log) is said on stderr and the report is
//! written with what is known; what fails about the execution itself is an error.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use anyhow::{Context, Result};
use etl::aws::report::{self as aws, BatchJob, ExecutionArn, links};
use etl::contract::tags::STATE_TAG;
use serde_json::Value;

use crate::cli::ReportArgs;

/// The last lines of a job's log kept in the report.
const LOG_TAIL_LINES: usize = 30;
/// The most jobs whose logs are read (failed ones first): each is one GetLogEvents call.
const MAX_LOG_TAILS: usize = 100;
/// Events per GetExecutionHistory page (the most the API allows).
const PAGE_SIZE: i32 = 1000;

/// Builds the report; returns the HTML and where it goes by default (`<name>.html` in the
/// current directory, or beside `--history`).
pub async fn html(args: &ReportArgs, arn: &str) -> Result<(String, PathBuf)> {
    let parsed = aws::parse_execution_arn(arn).map_err(anyhow::Error::msg)?;
    let region = args.region.clone().unwrap_or_else(|| parsed.region.clone());
    let clients = aws::Clients::load(&region).await;
    let execution = aws::describe_execution(&clients.sfn, arn).await?;

    let (history, events) = match &args.history {
        Some(h) => {
            let text = crate::report_cmd::read(h)?;
            let events = event_values(&text);
            (text, events)
        }
        None => {
            let h = aws::history(&clients.sfn, arn, PAGE_SIZE).await?;
            let text = serde_json::json!({"events": h.events}).to_string();
            (text, h.events)
        }
    };
    let definition = match &args.definition {
        Some(d) => crate::report_cmd::read(d)?,
        None => aws::definition(&clients.sfn, arn).await?,
    };

    let children = children(&clients, arn, &events, args.child_histories).await;
    let child_arns: BTreeSet<String> = children.iter().map(|c| c.execution_arn.clone()).collect();
    let hints = aws::job_hints(&events);
    let found = aws::find_jobs(
        &clients.batch,
        &execution,
        &child_arns,
        &args.job_queue,
        &hints,
    )
    .await;
    for w in &found.warnings {
        eprintln!("rsqlflow: warning: {w} (the report lists the jobs that could be read)");
    }
    let jobs = report_jobs(&clients, &parsed, &found.jobs).await;

    let workflow = execution
        .state_machine_arn
        .rsplit(':')
        .next()
        .unwrap_or(&parsed.state_machine)
        .to_string();
    let parsed_events =
        report::history::parse(&history).with_context(|| format!("the history of {arn}"))?;
    let meta = report::Meta {
        workflow,
        trigger: report::history::execution_input(&parsed_events)
            .and_then(|i| etl::notification::describe_trigger(&i["trigger"])),
        execution: execution.name.clone(),
        execution_arn: execution.arn.clone(),
        notification: notification(&execution, &parsed, &events),
        cost: crate::cost_cmd::aws_estimate(&parsed_events, &children),
        notification_composed: true,
        jobs,
        children,
        links: vec![
            (
                "Execution in the Step Functions console".into(),
                links::execution(&parsed.partition, &parsed.region, &execution.arn),
            ),
            (
                "State machine".into(),
                links::state_machine(
                    &parsed.partition,
                    &parsed.region,
                    &execution.state_machine_arn,
                ),
            ),
        ],
    };
    let mut r = report::build_from_events(&parsed_events, &definition, meta)
        .with_context(|| format!("the report of {arn}"))?;
    // DescribeExecution counts redrives even where the history was read from a file cut
    // short.
    r.summary.redrive_count = r.summary.redrive_count.max(execution.redrive_count);
    let out = match &args.history {
        Some(h) => h.with_extension("html"),
        None => PathBuf::from(format!("{}.html", safe_file_name(&execution.name))),
    };
    Ok((report::html::render(&r), out))
}

/// The notification of an execution that ended, composed by the notify Lambda's own code
/// (`etl::notification`) from the execution and its history, as notify does when Step
/// Functions reports the end; `None` while it runs. The Batch jobs notify stopped are not
/// known here.
fn notification(
    execution: &aws::Execution,
    arn: &ExecutionArn,
    events: &[Value],
) -> Option<String> {
    use etl::events::ExecutionChange;
    // How the execution ended, and the error and cause, as the status-change event carries
    // them: from the history's end event (a history given as a file may be another
    // attempt's), else DescribeExecution's status.
    let end = events.iter().rev().find_map(|e| {
        let (status, key) = match e["type"].as_str()? {
            "ExecutionFailed" => ("FAILED", "executionFailedEventDetails"),
            "ExecutionTimedOut" => ("TIMED_OUT", "executionTimedOutEventDetails"),
            "ExecutionAborted" => ("ABORTED", "executionAbortedEventDetails"),
            "ExecutionSucceeded" => ("SUCCEEDED", ""),
            "ExecutionRedriven" => return Some(("RUNNING", Value::Null)),
            _ => return None,
        };
        Some((status, e.get(key).cloned().unwrap_or(Value::Null)))
    });
    let status = end
        .as_ref()
        .map(|(s, _)| s.to_string())
        .unwrap_or_else(|| execution.status.clone());
    if !matches!(
        status.as_str(),
        "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "ABORTED"
    ) {
        return None;
    }
    let end = end.map(|(_, d)| d);
    let text = |k: &str| end.as_ref().and_then(|d| d[k].as_str()).map(String::from);
    let input = events
        .iter()
        .find(|e| e["type"] == "ExecutionStarted")
        .and_then(|e| e["executionStartedEventDetails"]["input"].as_str())
        .map(String::from);
    let change = ExecutionChange {
        execution_arn: execution.arn.clone(),
        state_machine_arn: execution.state_machine_arn.clone(),
        name: execution.name.clone(),
        status,
        start_date: Some(execution.start),
        stop_date: execution.stop,
        input,
        error: text("error"),
        cause: text("cause"),
    };
    let settings = etl::settings::Settings {
        region: arn.region.clone(),
        account: arn.account.clone(),
        console: links::console(&arn.partition, &arn.region),
        ..etl::settings::Settings::default()
    };
    let outcome = etl::notification::Outcome::from_history(&change, events);
    let n = etl::notification::compose(&settings, &change, &outcome, &[]);
    Some(format!("{}\n\n{}", n.subject, n.body.trim_end()))
}

/// A Distributed Map's child executions (when the history has a `MapRunStarted` event): all
/// of them with their status, and the histories of up to `histories` of them, failed ones
/// first. What cannot be read is a warning: the report is written without it.
async fn children(
    clients: &aws::Clients,
    arn: &str,
    events: &[Value],
    histories: usize,
) -> Vec<report::history::Child> {
    if !events.iter().any(|e| e["type"] == "MapRunStarted") {
        return Vec::new();
    }
    let client = &clients.sfn;
    let (listed, cut) = match aws::child_executions(client, arn).await {
        Ok(x) => x,
        Err(e) => {
            eprintln!("rsqlflow: warning: {e} (the report has no child executions)");
            return Vec::new();
        }
    };
    if cut {
        eprintln!(
            "rsqlflow: note: the first {} child executions are counted",
            listed.len()
        );
    }
    let mut order: Vec<usize> = (0..listed.len()).collect();
    order.sort_by_key(|&i| listed[i].status == "SUCCEEDED");
    let chosen: BTreeSet<usize> = order.into_iter().take(histories).collect();
    if chosen.len() < listed.len() {
        eprintln!(
            "rsqlflow: note: histories read for {} of {} child executions (failed ones first; \
             --child-histories N reads more)",
            chosen.len(),
            listed.len()
        );
    }
    let mut out = Vec::with_capacity(listed.len());
    for (i, c) in listed.into_iter().enumerate() {
        let mut events = Vec::new();
        if chosen.contains(&i) {
            match aws::history(client, &c.execution_arn, PAGE_SIZE).await {
                Ok(h) => {
                    events = h
                        .events
                        .iter()
                        .enumerate()
                        .filter_map(|(k, v)| report::history::event(v, k as u64 + 1).ok())
                        .collect();
                }
                Err(e) => eprintln!("rsqlflow: warning: {e}"),
            }
        }
        out.push(report::history::Child {
            name: c.name,
            execution_arn: c.execution_arn,
            map_run_arn: c.map_run_arn,
            status: c.status,
            events,
        });
    }
    out
}

/// The events of one or more concatenated history documents, as JSON (for the job hints;
/// the report reads the text itself).
fn event_values(text: &str) -> Vec<Value> {
    serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .map_while(|d| d.ok())
        .flat_map(|d| match d {
            Value::Array(a) => a,
            Value::Object(mut o) => match o.remove("events") {
                Some(Value::Array(a)) => a,
                _ => Vec::new(),
            },
            _ => Vec::new(),
        })
        .collect()
}

/// An execution name as a file name: execution names have no `/` or control characters
/// (StartExecution's `name` rules), but a name read back is not trusted.
fn safe_file_name(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with('.') {
        format!("execution{s}")
    } else {
        s
    }
}

/// The report's jobs: their fields, links and log tails (failed jobs' logs first, at most
/// [`MAX_LOG_TAILS`]). `report::Job` may gain fields: it is built with `..Default::default()`.
#[allow(clippy::needless_update)]
async fn report_jobs(
    clients: &aws::Clients,
    arn: &ExecutionArn,
    jobs: &[BatchJob],
) -> Vec<report::Job> {
    let execution_arn = format!(
        "arn:{}:states:{}:{}:execution:{}:{}",
        arn.partition, arn.region, arn.account, arn.state_machine, arn.name
    );
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&i| jobs[i].status != "FAILED");
    let tailed: Vec<usize> = order
        .into_iter()
        .filter(|&i| jobs[i].log_stream.is_some())
        .take(MAX_LOG_TAILS)
        .collect();
    let with_logs = jobs.iter().filter(|j| j.log_stream.is_some()).count();
    if with_logs > tailed.len() {
        eprintln!(
            "rsqlflow: note: log tails read for {} of {with_logs} jobs (failed ones first)",
            tailed.len()
        );
    }
    let mut groups = HashMap::new();
    let mut out = Vec::with_capacity(jobs.len());
    for (i, j) in jobs.iter().enumerate() {
        let mut job_links = vec![
            (
                "Step Functions".to_string(),
                links::execution(&arn.partition, &arn.region, &execution_arn),
            ),
            (
                "Batch".to_string(),
                links::batch_job(&arn.partition, &arn.region, &j.id),
            ),
        ];
        let mut log_tail = None;
        if let Some(stream) = &j.log_stream {
            match aws::log_group(&clients.batch, j, &mut groups).await {
                Ok(group) => {
                    job_links.push((
                        "CloudWatch Logs".to_string(),
                        links::log_stream(&arn.partition, &arn.region, &group, stream),
                    ));
                    if tailed.contains(&i) {
                        match aws::log_tail(&clients.logs, &group, stream, LOG_TAIL_LINES).await {
                            Ok(lines) => log_tail = Some(lines.join("\n")),
                            Err(e) => eprintln!(
                                "rsqlflow: warning: the log of job {} ({}): {e}",
                                j.id, j.name
                            ),
                        }
                    }
                }
                Err(e) => eprintln!(
                    "rsqlflow: warning: the log group of job {} ({}): {e}",
                    j.id, j.name
                ),
            }
        }
        out.push(report::Job {
            id: j.id.clone(),
            name: j.name.clone(),
            state: j.tags.get(STATE_TAG).cloned(),
            status: j.status.clone(),
            exit_code: j.exit_code,
            created: j.created,
            started: j.started,
            stopped: j.stopped,
            reason: j.status_reason.clone().or(j.container_reason.clone()),
            log: j.log_stream.clone(),
            log_tail,
            links: job_links,
            ..Default::default()
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_and_history_documents() {
        assert_eq!(safe_file_name("run-1"), "run-1");
        assert_eq!(safe_file_name("../x"), "execution.._x");
        assert_eq!(safe_file_name(""), "execution");
        let two = r#"{"events":[{"id":1}],"nextToken":"t"} {"events":[{"id":2}]} [{"id":3}]"#;
        assert_eq!(event_values(two).len(), 3);
        assert!(event_values("not json").is_empty());
    }
}
