//! `rsqlflow report`: one self-contained HTML picture of a Step Functions execution (issue
//! 16). The history's events ([`history`]) and the state machine definition (parsed by the
//! `asl` crate) become a [`Report`]: the execution, every state with what happened to it,
//! each run of a state with its attempts and times ([`model`]), the Batch jobs, and the graph
//! ([`graph`]); [`html::render`] writes it as one HTML file with inline CSS and JS.
//!
//! The crate uses no AWS SDK: histories come as JSON, from a local run or from
//! `aws stepfunctions get-execution-history`.

pub mod graph;
pub mod history;
pub mod html;
pub mod model;

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;
use serde_json::Value;

pub use model::Status;

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("history: {0}")]
    History(String),
    #[error("definition: {0}")]
    Definition(String),
    #[error("the definition nests Parallel and Map states more than {0} deep")]
    TooDeep(usize),
}

/// An AWS Batch job of the execution, as far as it is known.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Job {
    pub id: String,
    pub name: String,
    /// The Task state that submitted it.
    pub state: Option<String>,
    pub status: String,
    pub exit_code: Option<i32>,
    /// SUBMITTED at (ms since the epoch).
    pub created: Option<i64>,
    /// RUNNABLE from: known for local runs; AWS's DescribeJobs does not report it (its
    /// JobDetail has `createdAt` and `startedAt` only), so from AWS the time from SUBMITTED
    /// to RUNNING is one queued stretch.
    pub runnable: Option<i64>,
    /// RUNNING from.
    pub started: Option<i64>,
    pub stopped: Option<i64>,
    pub reason: Option<String>,
    pub log: Option<String>,
    /// The last lines of its log.
    pub log_tail: Option<String>,
    /// Links (name, URL): the consoles, where the run was in AWS.
    pub links: Vec<(String, String)>,
}

/// What the same execution would cost in AWS, as the `cost` crate estimates it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CostTable {
    pub region: String,
    pub rows: Vec<CostRow>,
    pub total_usd: f64,
    /// What the figures are (an estimate, the prices' date).
    pub note: String,
}

/// One line of a [`CostTable`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct CostRow {
    pub service: String,
    pub item: String,
    pub quantity: f64,
    pub unit: String,
    pub usd: f64,
    /// `counted`, `measured` or `modelled`.
    pub basis: String,
}

/// What the report says besides the history and the definition.
#[derive(Debug, Clone, Default)]
pub struct Meta {
    pub workflow: String,
    pub execution: String,
    pub execution_arn: String,
    /// What started it (a schedule, an arrived file), as the notification says it; `None`:
    /// started by hand.
    pub trigger: Option<String>,
    /// The notification that was sent (subject and body).
    pub notification: Option<String>,
    /// The notification was composed for the report by the notify Lambda's own code from the
    /// execution's history (an execution in AWS: SNS keeps no copy of what it delivered).
    pub notification_composed: bool,
    pub jobs: Vec<Job>,
    /// The Distributed Map child executions, each with its own history.
    pub children: Vec<history::Child>,
    /// The cost estimate, where one was made.
    pub cost: Option<CostTable>,
    /// Links (name, URL) for the header: the execution and its state machine in the
    /// console, where the execution ran in AWS.
    pub links: Vec<(String, String)>,
}

/// One state of the definition and what happened to it.
#[derive(Debug, Clone, Serialize)]
pub struct StateReport {
    pub name: String,
    pub kind: String,
    pub status: Status,
    /// How often it was entered.
    pub runs: usize,
    pub attempts: u32,
    pub iterations: Option<u64>,
    /// A Distributed Map's child executions by status (`SUCCEEDED`: 98, ...).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub children: BTreeMap<String, usize>,
    /// Up to [`SAMPLES`] runs (failed ones first) with their input, output, error and cause.
    pub samples: Vec<usize>,
}

/// The runs per state whose input and output the report carries.
pub const SAMPLES: usize = 5;
/// The characters of an input, output or cause the report carries.
pub const MAX_TEXT: usize = 4000;
/// More runs than this and the timeline shows one aggregated row per state.
pub const MAX_ROWS: usize = 400;
/// The states a history names beyond its definition that the report shows (a history read
/// with another state machine's definition names every one of its states).
pub const MAX_EXTRA_STATES: usize = 100;

/// A timeline row: one run, or (for big executions) all runs of one state.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub label: String,
    pub state: String,
    pub status: Status,
    pub start: Option<i64>,
    pub end: Option<i64>,
    pub count: usize,
    pub critical: bool,
    pub segments: Vec<model::Segment>,
    /// The run it shows (none for an aggregate).
    pub run: Option<usize>,
}

/// A run's details as the page shows them.
#[derive(Debug, Clone, Serialize)]
pub struct RunDetail {
    pub state: String,
    pub status: Status,
    pub start: Option<i64>,
    pub end: Option<i64>,
    pub attempts: u32,
    pub failures: u32,
    pub iterations: Option<u64>,
    /// The Distributed Map child execution it ran in.
    pub execution: Option<String>,
    pub input: Option<String>,
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub workflow: String,
    pub execution: String,
    pub execution_arn: String,
    pub trigger: Option<String>,
    pub notification: Option<String>,
    pub notification_composed: bool,
    pub links: Vec<(String, String)>,
    pub summary: model::Execution,
    pub states: Vec<StateReport>,
    /// States the history names beyond its definition and [`MAX_EXTRA_STATES`], not shown.
    pub omitted_states: usize,
    pub rows: Vec<Row>,
    pub details: BTreeMap<usize, RunDetail>,
    pub jobs: Vec<Job>,
    pub graph: graph::Graph,
    pub cost: Option<CostTable>,
}

/// Only `https:` links are kept: a link from a kept job (`<name>.report.json`) could be
/// `javascript:` and run in the page when clicked.
fn https(url: &str) -> bool {
    url.get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
}

fn clip(v: Option<&Value>) -> Option<String> {
    let s = match v? {
        Value::String(s) => s.clone(),
        other => serde_json::to_string_pretty(other).unwrap_or_default(),
    };
    Some(clip_text(s))
}

fn clip_text(s: String) -> String {
    if s.chars().count() <= MAX_TEXT {
        return s;
    }
    let mut t: String = s.chars().take(MAX_TEXT).collect();
    t.push_str(" …(cut)");
    t
}

/// Builds the report from history text and definition text (JSON or YAML).
pub fn build(history: &str, definition: &str, meta: Meta) -> Result<Report, Error> {
    build_from_events(&history::parse(history)?, definition, meta)
}

/// Builds the report from parsed events and definition text (JSON or YAML).
pub fn build_from_events(
    events: &[history::Event],
    definition: &str,
    meta: Meta,
) -> Result<Report, Error> {
    let raw = asl::parse_text(definition).map_err(|e| Error::Definition(e.to_string()))?;
    let machine = asl::validate(&raw).map_err(|e| Error::Definition(e.to_string()))?;
    from_parts(events, &machine, Some(&raw), meta)
}

/// Builds the report from parsed events and a parsed state machine (`raw`: its JSON, for the
/// Choice rules' labels).
pub fn from_parts(
    events: &[history::Event],
    machine: &asl::model::StateMachine,
    raw: Option<&Value>,
    meta: Meta,
) -> Result<Report, Error> {
    let g = graph::build(&machine.root, raw)?;
    let mut a = model::analyse(events);
    let children = merge_children(&mut a, events, &meta.children);
    // Every state of the definition, in graph order, then any the history names beyond it.
    let mut names: Vec<(String, String)> = g
        .nodes
        .iter()
        .filter(|n| n.kind != "Join" && n.state.is_some())
        .filter_map(|n| Some((n.state.clone()?, n.kind.clone())))
        .collect();
    // A history read with another definition may name any number of them: past
    // MAX_EXTRA_STATES they are counted, not shown.
    let mut seen: HashSet<String> = names.iter().map(|(n, _)| n.clone()).collect();
    let defined = seen.len();
    let mut omitted_states = 0;
    for r in &a.runs {
        if seen.insert(r.state.clone()) {
            if seen.len() - defined > MAX_EXTRA_STATES {
                omitted_states += 1;
            } else {
                names.push((r.state.clone(), r.kind.clone()));
            }
        }
    }
    let mut by_state: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, r) in a.runs.iter().enumerate() {
        by_state.entry(r.state.as_str()).or_default().push(i);
    }
    let mut details = BTreeMap::new();
    let mut states = Vec::new();
    let mut done: HashSet<String> = HashSet::new();
    for (name, kind) in names {
        if !done.insert(name.clone()) {
            continue;
        }
        let runs = by_state.get(name.as_str()).cloned().unwrap_or_default();
        let mut samples: Vec<usize> = runs.clone();
        samples.sort_by_key(|&i| std::cmp::Reverse(a.runs[i].status));
        samples.truncate(SAMPLES);
        samples.sort();
        let iterations = runs.iter().filter_map(|&i| a.runs[i].iterations).max();
        states.push(StateReport {
            status: a.states.get(&name).copied().unwrap_or(Status::NotRun),
            runs: runs.len(),
            attempts: runs.iter().map(|&i| a.runs[i].attempts).sum(),
            iterations,
            children: children.get(&name).cloned().unwrap_or_default(),
            samples: samples.clone(),
            name,
            kind,
        });
        for i in samples {
            details.insert(i, detail(&a.runs[i]));
        }
    }
    let shown: HashSet<&str> = states.iter().map(|s| s.name.as_str()).collect();
    let rows = rows(&a.runs, &shown, &mut details);
    Ok(Report {
        workflow: meta.workflow,
        execution: meta.execution,
        execution_arn: meta.execution_arn,
        trigger: meta.trigger.map(clip_text),
        notification: meta.notification,
        notification_composed: meta.notification_composed,
        links: meta
            .links
            .into_iter()
            .filter(|(_, url)| https(url))
            .collect(),
        summary: model::Execution {
            input: None,
            output: None,
            error: a.execution.error.map(clip_text),
            cause: a.execution.cause.map(clip_text),
            ..a.execution
        },
        states,
        omitted_states,
        rows,
        details,
        jobs: meta
            .jobs
            .into_iter()
            .map(|mut j| {
                j.log_tail = j.log_tail.map(clip_text);
                j.reason = j.reason.map(clip_text);
                j.links.retain(|(_, url)| https(url));
                j
            })
            .collect(),
        graph: g,
        cost: meta.cost,
    })
}

/// Adds the Distributed Map child executions' runs to the analysis (a state of an item
/// processor gets the worst status of its runs across the children) and returns, per Map
/// state, its children by status. A Map run without an iteration count gets its number of
/// children.
fn merge_children(
    a: &mut model::Analysis,
    events: &[history::Event],
    children: &[history::Child],
) -> BTreeMap<String, BTreeMap<String, usize>> {
    let owners = model::map_runs(events);
    let mut by_state: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for c in children {
        let ca = model::analyse(&c.events);
        let status = if c.status.is_empty() {
            ca.execution.status.clone()
        } else {
            c.status.clone()
        };
        if let Some(map) = owners.get(&c.map_run_arn) {
            *by_state
                .entry(map.clone())
                .or_default()
                .entry(status)
                .or_default() += 1;
        }
        for (name, st) in ca.states {
            let s = a.states.entry(name).or_insert(Status::NotRun);
            *s = (*s).max(st);
        }
        a.runs.extend(ca.runs.into_iter().map(|mut r| {
            r.execution = Some(c.name.clone());
            r.critical = false;
            r
        }));
    }
    for (map, counts) in &by_state {
        let n: usize = counts.values().sum();
        if let Some(r) = a
            .runs
            .iter_mut()
            .rev()
            .find(|r| &r.state == map && r.kind == "Map" && r.execution.is_none())
        {
            r.iterations = r.iterations.or(Some(n as u64));
        }
    }
    by_state
}

fn detail(r: &model::Run) -> RunDetail {
    RunDetail {
        state: r.state.clone(),
        status: r.status,
        start: r.start,
        end: r.end,
        attempts: r.attempts,
        failures: r.failures,
        iterations: r.iterations,
        execution: r.execution.clone(),
        input: clip(r.input.as_ref()),
        output: clip(r.output.as_ref()),
        error: r.error.clone().map(clip_text),
        cause: r.cause.clone().map(clip_text),
    }
}

/// The timeline: a row per run in the order they started, or per state when there are more
/// runs than [`MAX_ROWS`].
fn rows(
    runs: &[model::Run],
    shown: &HashSet<&str>,
    details: &mut BTreeMap<usize, RunDetail>,
) -> Vec<Row> {
    let mut order: Vec<usize> = (0..runs.len()).collect();
    order.sort_by_key(|&i| (runs[i].start.unwrap_or(i64::MAX), runs[i].entered_event));
    if runs.len() <= MAX_ROWS {
        return order
            .into_iter()
            .map(|i| {
                let r = &runs[i];
                details.entry(i).or_insert_with(|| detail(r));
                Row {
                    label: r.state.clone(),
                    state: r.state.clone(),
                    status: r.status,
                    start: r.start,
                    end: r.end,
                    count: 1,
                    critical: r.critical,
                    segments: r.segments.clone(),
                    run: Some(i),
                }
            })
            .collect();
    }
    let mut out: Vec<Row> = Vec::new();
    let mut at: BTreeMap<&str, usize> = BTreeMap::new();
    for i in order
        .into_iter()
        .filter(|&i| shown.contains(runs[i].state.as_str()))
    {
        let r = &runs[i];
        match at.get(r.state.as_str()) {
            Some(&k) => {
                let row = &mut out[k];
                row.count += 1;
                row.status = row.status.max(r.status);
                row.critical |= r.critical;
                row.end = row.end.max(r.end);
                row.label = format!("{} ×{}", row.state, row.count);
            }
            None => {
                at.insert(&r.state, out.len());
                out.push(Row {
                    label: r.state.clone(),
                    state: r.state.clone(),
                    status: r.status,
                    start: r.start,
                    end: r.end,
                    count: 1,
                    critical: r.critical,
                    segments: Vec::new(),
                    run: None,
                });
            }
        }
    }
    out
}
