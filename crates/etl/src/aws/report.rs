//! What `rsqlflow report --execution-arn` reads from AWS: the execution (DescribeExecution),
//! its whole history (GetExecutionHistory, every page), the definition it ran
//! (DescribeStateMachineForExecution), its Batch jobs (found by the tags submit-job puts on
//! them: [`crate::contract::tags`]) and the last lines of their CloudWatch logs; and the
//! console links of all of these. The `report` crate turns the result into HTML and never
//! sees the SDK.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::aws::sfn::event_json;
use aws_sdk_batch::error::ProvideErrorMetadata;
use aws_sdk_batch::types::KeyValuesPair;
use aws_smithy_runtime_api::client::result::SdkError;
use serde_json::Value;

use crate::contract::tags::EXECUTION_TAG;

/// The log group Batch jobs write to when their job definition names none (the Batch User
/// Guide, "Use the awslogs log driver", option `awslogs-group`:
/// <https://docs.aws.amazon.com/batch/latest/userguide/using_awslogs.html>).
pub const DEFAULT_JOB_LOG_GROUP: &str = "/aws/batch/job";

/// An AWS call that failed: which call, on what, and what AWS said (its error code and
/// message; never a credential: the SDK's errors carry none).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{call} {target}: {message}")]
pub struct FetchError {
    pub call: &'static str,
    pub target: String,
    pub message: String,
}

fn fetch_error<E, R>(call: &'static str, target: &str, e: SdkError<E, R>) -> FetchError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let message = match &e {
        SdkError::ServiceError(s) => {
            let err = s.err();
            match (err.code(), err.message()) {
                (Some(c), Some(m)) => format!("{c}: {m}"),
                (Some(c), None) => c.to_string(),
                _ => err.to_string(),
            }
        }
        // A transport failure: the chain of sources says what (no endpoint, no
        // credentials, a timeout).
        other => {
            let mut text = other.to_string();
            let mut source = std::error::Error::source(other);
            while let Some(s) = source {
                text.push_str(": ");
                text.push_str(&s.to_string());
                source = s.source();
            }
            text
        }
    };
    FetchError {
        call,
        target: target.to_string(),
        message,
    }
}

/// The parts of an execution ARN,
/// `arn:${Partition}:states:${Region}:${Account}:execution:${StateMachineName}:${ExecutionId}`
/// (the Service Authorization Reference, "Resource types defined by AWS Step Functions":
/// <https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsstepfunctions.html>).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionArn {
    pub partition: String,
    pub region: String,
    pub account: String,
    pub state_machine: String,
    pub name: String,
}

/// Checks an execution ARN's shape before anything is asked of AWS.
pub fn parse_execution_arn(arn: &str) -> Result<ExecutionArn, String> {
    let bad = |why: &str| {
        Err(format!(
            "not a Step Functions execution ARN ({why}): {arn:?}; expected \
             arn:aws:states:REGION:ACCOUNT:execution:STATE_MACHINE:NAME"
        ))
    };
    let parts: Vec<&str> = arn.split(':').collect();
    if parts.len() != 8 || parts[0] != "arn" {
        return bad("8 parts separated by ':' starting with arn");
    }
    if !parts[1].starts_with("aws") {
        return bad("partition");
    }
    if parts[2] != "states" {
        return bad("service is not states");
    }
    let region = parts[3];
    if region.is_empty()
        || !region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return bad("region");
    }
    if parts[4].len() != 12 || !parts[4].chars().all(|c| c.is_ascii_digit()) {
        return bad("account is not 12 digits");
    }
    if parts[5] == "express" {
        // "This API action is not supported by EXPRESS state machines."
        // (https://docs.aws.amazon.com/step-functions/latest/apireference/API_GetExecutionHistory.html)
        return bad("an Express execution has no history to fetch");
    }
    if parts[5] != "execution" {
        return bad("resource type is not execution");
    }
    if parts[6].is_empty() || parts[7].is_empty() {
        return bad("empty state machine or execution name");
    }
    Ok(ExecutionArn {
        partition: parts[1].to_string(),
        region: region.to_string(),
        account: parts[4].to_string(),
        state_machine: parts[6].to_string(),
        name: parts[7].to_string(),
    })
}

/// Console links, region-aware (the region and partition of the ARN they point at).
///
/// The console's own deep links, as its pages show them in the address bar: AWS documents
/// no URL scheme for a console page (`etl::settings` builds the same forms for check-job's
/// results and notify's messages), so they are kept in this one place.
pub mod links {
    /// The console's host for a partition and region: `https://REGION.console.aws.amazon.com`
    /// in the commercial partition ("AWS Management Console endpoints and quotas":
    /// <https://docs.aws.amazon.com/general/latest/gr/mgmt-console.html>). GovCloud (US) and
    /// China have consoles of their own ("ARNs and endpoints are different in the AWS GovCloud
    /// (US) Regions": <https://docs.aws.amazon.com/govcloud-us/latest/UserGuide/using-govcloud.html>);
    /// their hosts here, `console.amazonaws-us-gov.com` and `console.amazonaws.cn`, were not
    /// checked against an AWS page.
    pub fn console(partition: &str, region: &str) -> String {
        match partition {
            "aws-us-gov" => "https://console.amazonaws-us-gov.com".to_string(),
            "aws-cn" => "https://console.amazonaws.cn".to_string(),
            _ => format!("https://{region}.console.aws.amazon.com"),
        }
    }

    /// The Step Functions console's page of an execution.
    pub fn execution(partition: &str, region: &str, execution_arn: &str) -> String {
        format!(
            "{}/states/home?region={region}#/v2/executions/details/{execution_arn}",
            console(partition, region)
        )
    }

    /// The Step Functions console's page of a state machine.
    pub fn state_machine(partition: &str, region: &str, state_machine_arn: &str) -> String {
        format!(
            "{}/states/home?region={region}#/statemachines/view/{state_machine_arn}",
            console(partition, region)
        )
    }

    /// The Batch console's page of a job.
    pub fn batch_job(partition: &str, region: &str, job_id: &str) -> String {
        format!(
            "{}/batch/home?region={region}#jobs/detail/{job_id}",
            console(partition, region)
        )
    }

    /// The CloudWatch console's page of one log stream. Group and stream are URL-encoded
    /// twice with `%` written `$`, as the console writes them (`/` becomes `$252F`).
    pub fn log_stream(partition: &str, region: &str, group: &str, stream: &str) -> String {
        format!(
            "{}/cloudwatch/home?region={region}#logsV2:log-groups/log-group/{}/log-events/{}",
            console(partition, region),
            console_encode(group),
            console_encode(stream)
        )
    }

    fn percent(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }

    fn console_encode(s: &str) -> String {
        percent(&percent(s)).replace('%', "$")
    }
}

/// An execution as DescribeExecution tells it
/// (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html>).
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    pub arn: String,
    pub name: String,
    pub state_machine_arn: String,
    pub status: String,
    /// How often the execution was redriven (DescribeExecution's `redriveCount`; absent:
    /// never).
    pub redrive_count: u32,
    /// Milliseconds since the epoch.
    pub start: i64,
    pub stop: Option<i64>,
}

fn millis(t: &aws_sdk_sfn::primitives::DateTime) -> i64 {
    t.to_millis().unwrap_or(i64::MAX)
}

/// DescribeExecution.
pub async fn describe_execution(
    client: &aws_sdk_sfn::Client,
    arn: &str,
) -> Result<Execution, FetchError> {
    let out = client
        .describe_execution()
        .execution_arn(arn)
        .send()
        .await
        .map_err(|e| fetch_error("DescribeExecution", arn, e))?;
    Ok(Execution {
        arn: out.execution_arn().to_string(),
        name: out
            .name()
            .map(String::from)
            .unwrap_or_else(|| arn.rsplit(':').next().unwrap_or(arn).to_string()),
        state_machine_arn: out.state_machine_arn().to_string(),
        status: out.status().as_str().to_string(),
        redrive_count: out.redrive_count().unwrap_or(0).max(0) as u32,
        start: millis(out.start_date()),
        stop: out.stop_date().map(millis),
    })
}

/// The definition the execution ran: DescribeStateMachineForExecution describes the state
/// machine (the version) associated with the execution, where DescribeStateMachine would give
/// the latest definition
/// (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeStateMachineForExecution.html>).
pub async fn definition(client: &aws_sdk_sfn::Client, arn: &str) -> Result<String, FetchError> {
    let out = client
        .describe_state_machine_for_execution()
        .execution_arn(arn)
        .send()
        .await
        .map_err(|e| fetch_error("DescribeStateMachineForExecution", arn, e))?;
    Ok(out.definition().to_string())
}

/// A whole history and how many pages it came in.
#[derive(Debug, Clone, PartialEq)]
pub struct History {
    /// In GetExecutionHistory's JSON shape (what `aws stepfunctions get-execution-history`
    /// prints), timestamps as epoch seconds.
    pub events: Vec<Value>,
    pub pages: usize,
}

/// GetExecutionHistory, every page: "If nextToken is returned, there are more results
/// available ... Make the call again using the returned token" (the SDK's paginator does);
/// pages hold at most 1,000 events; `includeExecutionData` asks for inputs and outputs
/// (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_GetExecutionHistory.html>).
pub async fn history(
    client: &aws_sdk_sfn::Client,
    arn: &str,
    page_size: i32,
) -> Result<History, FetchError> {
    let mut events = Vec::new();
    let mut pages = 0;
    let mut stream = client
        .get_execution_history()
        .execution_arn(arn)
        .include_execution_data(true)
        .max_results(page_size.clamp(1, 1000))
        .into_paginator()
        .send();
    while let Some(page) = stream.next().await {
        let page = page.map_err(|e| fetch_error("GetExecutionHistory", arn, e))?;
        pages += 1;
        events.extend(page.events().iter().map(event_json));
    }
    Ok(History { events, pages })
}

/// A Distributed Map's child execution as ListExecutions lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChildExecution {
    pub map_run_arn: String,
    pub execution_arn: String,
    pub name: String,
    /// `SUCCEEDED`, `FAILED`, `RUNNING`, ...
    pub status: String,
}

/// The most child executions listed (ListExecutions pages of 1,000 each).
pub const MAX_CHILD_EXECUTIONS: usize = 100_000;

/// The child executions of every Distributed Map the execution ran: ListMapRuns ("Lists all
/// Map Runs that were started by a given state machine execution",
/// <https://docs.aws.amazon.com/step-functions/latest/apireference/API_ListMapRuns.html>),
/// then for each Map Run ListExecutions with its `mapRunArn` ("a list of all of the child
/// workflow executions started by a Map Run is returned",
/// <https://docs.aws.amazon.com/step-functions/latest/apireference/API_ListExecutions.html>),
/// every page of both. At most [`MAX_CHILD_EXECUTIONS`]; the second value says whether the
/// list was cut there.
pub async fn child_executions(
    client: &aws_sdk_sfn::Client,
    execution_arn: &str,
) -> Result<(Vec<ChildExecution>, bool), FetchError> {
    let mut runs = Vec::new();
    let mut pages = client
        .list_map_runs()
        .execution_arn(execution_arn)
        .max_results(1000)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| fetch_error("ListMapRuns", execution_arn, e))?;
        runs.extend(page.map_runs().iter().map(|r| r.map_run_arn().to_string()));
    }
    let mut out = Vec::new();
    for run in runs {
        let mut pages = client
            .list_executions()
            .map_run_arn(&run)
            .max_results(1000)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| fetch_error("ListExecutions", &run, e))?;
            for x in page.executions() {
                if out.len() >= MAX_CHILD_EXECUTIONS {
                    return Ok((out, true));
                }
                out.push(ChildExecution {
                    map_run_arn: run.clone(),
                    execution_arn: x.execution_arn().to_string(),
                    name: x.name().to_string(),
                    status: x.status().as_str().to_string(),
                });
            }
        }
    }
    Ok((out, false))
}

/// What the history says about the execution's Batch jobs: job ids (submit-job's answer
/// `{"jobId": ...}` in TaskSubmitted/TaskSucceeded outputs, check-job's result and failure
/// causes) and job queues (a `batch:submitJob` Task's `JobQueue` parameter).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobHints {
    pub ids: BTreeSet<String>,
    pub queues: BTreeSet<String>,
}

/// Reads [`JobHints`] from a history in GetExecutionHistory's JSON shape.
pub fn job_hints(events: &[Value]) -> JobHints {
    let mut h = JobHints::default();
    for e in events {
        let Some(o) = e.as_object() else { continue };
        for (k, d) in o {
            if !k.ends_with("EventDetails") {
                continue;
            }
            for field in ["parameters", "output", "cause"] {
                if let Some(Value::String(text)) = d.get(field)
                    && let Ok(v) = serde_json::from_str::<Value>(text)
                {
                    collect(&v, &mut h, 0);
                }
            }
        }
    }
    h
}

fn collect(v: &Value, h: &mut JobHints, depth: usize) {
    if depth > 8 {
        return;
    }
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                match (k.as_str(), x) {
                    ("jobId" | "JobId", Value::String(s)) if !s.is_empty() => {
                        h.ids.insert(s.clone());
                    }
                    ("JobQueue" | "jobQueue", Value::String(s)) if !s.is_empty() => {
                        h.queues.insert(s.clone());
                    }
                    // A Lambda's answer nests the function's result under Payload, as JSON
                    // text or as a value.
                    (_, Value::String(s)) if s.starts_with('{') => {
                        if let Ok(inner) = serde_json::from_str::<Value>(s) {
                            collect(&inner, h, depth + 1);
                        }
                    }
                    _ => collect(x, h, depth + 1),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect(x, h, depth + 1)),
        _ => {}
    }
}

/// Whether a job belongs to the execution: submit-job tags every job with the execution's
/// ARN under [`EXECUTION_TAG`] (a redrive keeps the ARN, so its jobs belong too).
pub fn belongs(tags: &BTreeMap<String, String>, execution_arn: &str) -> bool {
    tags.get(EXECUTION_TAG).map(String::as_str) == Some(execution_arn)
}

/// A Batch job as DescribeJobs tells it
/// (<https://docs.aws.amazon.com/batch/latest/APIReference/API_JobDetail.html>).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchJob {
    pub id: String,
    pub name: String,
    pub queue: String,
    pub job_definition: String,
    pub status: String,
    pub status_reason: Option<String>,
    pub container_reason: Option<String>,
    pub exit_code: Option<i32>,
    pub created: Option<i64>,
    pub started: Option<i64>,
    pub stopped: Option<i64>,
    pub log_stream: Option<String>,
    /// The job's `awslogs-group`, when its container's log configuration names one.
    pub log_group: Option<String>,
    pub tags: BTreeMap<String, String>,
}

fn awslogs_group(c: Option<&aws_sdk_batch::types::LogConfiguration>) -> Option<String> {
    c.and_then(|l| l.options())
        .and_then(|o| o.get("awslogs-group"))
        .cloned()
}

fn batch_job(j: &aws_sdk_batch::types::JobDetail) -> BatchJob {
    let c = j.container();
    BatchJob {
        id: j.job_id().unwrap_or_default().to_string(),
        name: j.job_name().unwrap_or_default().to_string(),
        queue: j.job_queue().unwrap_or_default().to_string(),
        job_definition: j.job_definition().unwrap_or_default().to_string(),
        status: j.status().map(|s| s.as_str()).unwrap_or("").to_string(),
        status_reason: j.status_reason().map(String::from),
        container_reason: c.and_then(|c| c.reason()).map(String::from),
        exit_code: c.and_then(|c| c.exit_code()),
        created: j.created_at(),
        started: j.started_at(),
        stopped: j.stopped_at(),
        log_stream: c.and_then(|c| c.log_stream_name()).map(String::from),
        log_group: awslogs_group(c.and_then(|c| c.log_configuration())),
        tags: j
            .tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
    }
}

/// The execution's jobs, and what could not be read (one line each, for stderr).
#[derive(Debug, Clone, Default)]
pub struct FoundJobs {
    pub jobs: Vec<BatchJob>,
    pub warnings: Vec<String>,
}

/// How far before the execution's start and after its stop a job's creation may lie.
const WINDOW_MS: i64 = 5 * 60 * 1000;

/// Finds the execution's jobs. ListJobs needs a queue ("You must specify only one of ... A
/// job queue ID"), so the queues are those given, those of the jobs the history names, or
/// else every queue of the account and region (DescribeJobQueues). Each queue is listed
/// with the filter `AFTER_CREATED_AT` (milliseconds since the epoch; "Only one filter can be
/// used at a time. When the filter is used, jobStatus is ignored" and jobs of every status
/// come back: <https://docs.aws.amazon.com/batch/latest/APIReference/API_ListJobs.html>);
/// jobs created after the execution stopped are dropped here. DescribeJobs (at most 100 ids
/// a call: <https://docs.aws.amazon.com/batch/latest/APIReference/API_DescribeJobs.html>)
/// gives their tags, and only those tagged with this execution's ARN are kept.
///
/// A failed queue listing or description is a warning, not an error: the report is still
/// written with the jobs that could be read.
///
/// Batch keeps finished jobs for a limited time only (the Batch User Guide's "Job states":
/// <https://docs.aws.amazon.com/batch/latest/userguide/job_states.html>): an old execution's
/// jobs may no longer be listed, and the report then has none.
///
/// `children`: the ARNs of the execution's Distributed Map child executions, whose jobs are
/// tagged with the child's ARN (submit-job tags a job with the execution that runs its Task).
pub async fn find_jobs(
    client: &aws_sdk_batch::Client,
    execution: &Execution,
    children: &BTreeSet<String>,
    queues: &[String],
    hints: &JobHints,
) -> FoundJobs {
    let mut found = FoundJobs::default();
    let mut described: BTreeMap<String, BatchJob> = BTreeMap::new();
    // The jobs the history names first: they also tell their queues.
    let hinted: Vec<String> = hints.ids.iter().cloned().collect();
    describe_into(client, &hinted, &mut described, &mut found.warnings).await;
    let mut queues: BTreeSet<String> = queues.iter().cloned().collect();
    queues.extend(hints.queues.iter().cloned());
    queues.extend(described.values().map(|j| j.queue.clone()));
    queues.remove("");
    if queues.is_empty() {
        match all_queues(client).await {
            Ok(q) => queues.extend(q),
            Err(e) => found.warnings.push(format!(
                "{e} (no job queue known: give --job-queue, or allow batch:DescribeJobQueues)"
            )),
        }
    }
    let after = execution.start - WINDOW_MS;
    let before = execution.stop.map(|s| s + WINDOW_MS);
    let mut ids: BTreeSet<String> = BTreeSet::new();
    for q in &queues {
        match list_queue(client, q, after).await {
            Ok(summaries) => ids.extend(
                summaries
                    .into_iter()
                    .filter(|(_, created)| in_window(*created, after, before))
                    .map(|(id, _)| id),
            ),
            Err(e) => found.warnings.push(e.to_string()),
        }
    }
    let todo: Vec<String> = ids
        .into_iter()
        .filter(|id| !described.contains_key(id))
        .collect();
    describe_into(client, &todo, &mut described, &mut found.warnings).await;
    let mut jobs: Vec<BatchJob> = described
        .into_values()
        .filter(|j| {
            belongs(&j.tags, &execution.arn)
                || j.tags
                    .get(EXECUTION_TAG)
                    .is_some_and(|owner| children.contains(owner))
        })
        .collect();
    jobs.sort_by_key(|j| (j.created.unwrap_or(i64::MAX), j.id.clone()));
    found.jobs = jobs;
    found
}

/// Whether a job created at `created` lies in the window (`None`: unknown, kept).
pub fn in_window(created: Option<i64>, after: i64, before: Option<i64>) -> bool {
    match created {
        Some(c) => c >= after && before.is_none_or(|b| c <= b),
        None => true,
    }
}

async fn describe_into(
    client: &aws_sdk_batch::Client,
    ids: &[String],
    into: &mut BTreeMap<String, BatchJob>,
    warnings: &mut Vec<String>,
) {
    for chunk in ids.chunks(100) {
        match client
            .describe_jobs()
            .set_jobs(Some(chunk.to_vec()))
            .send()
            .await
        {
            Ok(out) => {
                for j in out.jobs() {
                    let job = batch_job(j);
                    into.insert(job.id.clone(), job);
                }
            }
            Err(e) => warnings.push(fetch_error("DescribeJobs", &chunk.join(","), e).to_string()),
        }
    }
}

async fn all_queues(client: &aws_sdk_batch::Client) -> Result<Vec<String>, FetchError> {
    let mut out = Vec::new();
    let mut pages = client.describe_job_queues().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| fetch_error("DescribeJobQueues", "(all)", e))?;
        out.extend(
            page.job_queues()
                .iter()
                .filter_map(|q| q.job_queue_arn().map(String::from)),
        );
    }
    Ok(out)
}

/// ListJobs on one queue, every page: (job id, createdAt).
async fn list_queue(
    client: &aws_sdk_batch::Client,
    queue: &str,
    after: i64,
) -> Result<Vec<(String, Option<i64>)>, FetchError> {
    let mut out = Vec::new();
    let mut pages = client
        .list_jobs()
        .job_queue(queue)
        .filters(
            KeyValuesPair::builder()
                .name("AFTER_CREATED_AT")
                .values(after.max(0).to_string())
                .build(),
        )
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| fetch_error("ListJobs", queue, e))?;
        out.extend(
            page.job_summary_list()
                .iter()
                .filter_map(|s| Some((s.job_id()?.to_string(), s.created_at()))),
        );
    }
    Ok(out)
}

/// The log group of a job: its container's `awslogs-group`, else its job definition's
/// (DescribeJobDefinitions, asked once per definition: `cache`), else
/// [`DEFAULT_JOB_LOG_GROUP`].
pub async fn log_group(
    client: &aws_sdk_batch::Client,
    job: &BatchJob,
    cache: &mut HashMap<String, Option<String>>,
) -> Result<String, FetchError> {
    if let Some(g) = &job.log_group {
        return Ok(g.clone());
    }
    if job.job_definition.is_empty() {
        return Ok(DEFAULT_JOB_LOG_GROUP.to_string());
    }
    if !cache.contains_key(&job.job_definition) {
        let out = client
            .describe_job_definitions()
            .job_definitions(&job.job_definition)
            .send()
            .await
            .map_err(|e| fetch_error("DescribeJobDefinitions", &job.job_definition, e))?;
        let group = out.job_definitions().iter().find_map(|d| {
            awslogs_group(d.container_properties().and_then(|c| c.log_configuration()))
        });
        cache.insert(job.job_definition.clone(), group);
    }
    Ok(cache
        .get(&job.job_definition)
        .cloned()
        .flatten()
        .unwrap_or_else(|| DEFAULT_JOB_LOG_GROUP.to_string()))
}

/// The last `n` lines of a log stream: GetLogEvents with `startFromHead` false ("the latest
/// log events are returned first"; it is the default) and `limit` n
/// (<https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_GetLogEvents.html>);
/// the page holds them in time order.
pub async fn log_tail(
    client: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    stream: &str,
    n: usize,
) -> Result<Vec<String>, FetchError> {
    let out = client
        .get_log_events()
        .log_group_name(group)
        .log_stream_name(stream)
        .start_from_head(false)
        .limit(n.clamp(1, 10_000) as i32)
        .send()
        .await
        .map_err(|e| fetch_error("GetLogEvents", &format!("{group} {stream}"), e))?;
    let mut lines: Vec<String> = out
        .events()
        .iter()
        .filter_map(|e| e.message().map(|m| m.trim_end().to_string()))
        .collect();
    if lines.len() > n {
        lines.drain(..lines.len() - n);
    }
    Ok(lines)
}

/// The clients, from the standard AWS configuration chain (environment, profile, SSO,
/// container and instance credentials; `AWS_ENDPOINT_URL` for a stand-in), in `region`.
#[derive(Debug, Clone)]
pub struct Clients {
    pub sfn: aws_sdk_sfn::Client,
    pub batch: aws_sdk_batch::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
}

impl Clients {
    pub async fn load(region: &str) -> Clients {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(region.to_string()))
            .load()
            .await;
        Clients {
            sfn: aws_sdk_sfn::Client::new(&config),
            batch: aws_sdk_batch::Client::new(&config),
            logs: aws_sdk_cloudwatchlogs::Client::new(&config),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ARN: &str = "arn:aws:states:eu-west-1:123456789012:execution:rsql-etl:run-1";

    #[test]
    fn execution_arns_are_checked_before_any_call() {
        let a = parse_execution_arn(ARN).unwrap();
        assert_eq!(
            (a.region.as_str(), a.state_machine.as_str(), a.name.as_str()),
            ("eu-west-1", "rsql-etl", "run-1")
        );
        for bad in [
            "",
            "run-1",
            "arn:aws:states:eu-west-1:123456789012:stateMachine:rsql-etl",
            "arn:aws:batch:eu-west-1:123456789012:execution:rsql-etl:run-1",
            "arn:aws:states:eu-west-1:1234:execution:rsql-etl:run-1",
            "arn:aws:states:EU:123456789012:execution:rsql-etl:run-1",
            "arn:aws:states:eu-west-1:123456789012:express:rsql-etl:run-1:x",
            "arn:aws:states:eu-west-1:123456789012:execution:rsql-etl:",
        ] {
            assert!(parse_execution_arn(bad).is_err(), "{bad}");
        }
        let e = parse_execution_arn("nope").unwrap_err();
        assert!(e.contains("arn:aws:states:REGION"), "{e}");
    }

    #[test]
    fn console_links_follow_the_region_and_partition() {
        assert_eq!(
            links::execution("aws", "eu-west-1", ARN),
            format!(
                "https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/{ARN}"
            )
        );
        assert_eq!(
            links::batch_job("aws", "us-east-2", "0f1e-2d"),
            "https://us-east-2.console.aws.amazon.com/batch/home?region=us-east-2#jobs/detail/0f1e-2d"
        );
        assert_eq!(
            links::log_stream(
                "aws",
                "us-east-2",
                "/aws/batch/rsqlflow",
                "rsql/default/0f1e"
            ),
            "https://us-east-2.console.aws.amazon.com/cloudwatch/home?region=us-east-2#logsV2:log-groups/log-group/$252Faws$252Fbatch$252Frsqlflow/log-events/rsql$252Fdefault$252F0f1e"
        );
        assert!(
            links::batch_job("aws-us-gov", "us-gov-west-1", "j").starts_with(
                "https://console.amazonaws-us-gov.com/batch/home?region=us-gov-west-1#"
            )
        );
        assert!(
            links::execution("aws-cn", "cn-north-1", "a")
                .starts_with("https://console.amazonaws.cn/states/home?region=cn-north-1#")
        );
        // The fragment's characters are only letters, digits and -_.~$ after encoding.
        let odd = links::log_stream("aws", "r", "g", "a b#c[1]");
        let tail = odd.rsplit('/').next().unwrap();
        assert_eq!(tail, "a$2520b$2523c$255B1$255D");
    }

    #[test]
    fn the_job_filter_keeps_only_this_executions_tag() {
        let tags = |arn: &str| -> BTreeMap<String, String> {
            [(EXECUTION_TAG.to_string(), arn.to_string())].into()
        };
        assert!(belongs(&tags(ARN), ARN));
        assert!(!belongs(&tags(&format!("{ARN}-2")), ARN));
        assert!(!belongs(
            &tags("arn:aws:states:eu-west-1:123456789012:execution:rsql-etl:run"),
            ARN
        ));
        assert!(!belongs(&BTreeMap::new(), ARN));
        assert!(in_window(Some(10), 5, Some(20)));
        assert!(!in_window(Some(4), 5, Some(20)));
        assert!(!in_window(Some(21), 5, Some(20)));
        assert!(in_window(Some(21), 5, None));
        assert!(in_window(None, 5, Some(20)));
    }

    #[test]
    fn job_hints_come_from_lambda_answers_results_causes_and_batch_parameters() {
        let events = vec![
            json!({"type": "TaskSubmitted", "taskSubmittedEventDetails": {
                "output": "{\"Payload\":{\"jobId\":\"j-1\",\"jobName\":\"x\"},\"StatusCode\":200}"}}),
            json!({"type": "TaskFailed", "taskFailedEventDetails": {
                "cause": "{\"jobId\":\"j-2\",\"message\":\"exited 3\"}"}}),
            json!({"type": "TaskSucceeded", "taskSucceededEventDetails": {
                "output": "{\"Payload\":\"{\\\"jobId\\\":\\\"j-3\\\"}\"}"}}),
            json!({"type": "TaskScheduled", "taskScheduledEventDetails": {
                "parameters": "{\"JobQueue\":\"arn:aws:batch:r:1:job-queue/q\",\"JobName\":\"n\"}"}}),
            json!({"type": "TaskFailed", "taskFailedEventDetails": {"cause": "not json"}}),
        ];
        let h = job_hints(&events);
        assert_eq!(
            h.ids.iter().map(String::as_str).collect::<Vec<_>>(),
            ["j-1", "j-2", "j-3"]
        );
        assert_eq!(
            h.queues.iter().map(String::as_str).collect::<Vec<_>>(),
            ["arn:aws:batch:r:1:job-queue/q"]
        );
    }
}
