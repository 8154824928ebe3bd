//! The report model: what happened to every state of the definition, built from the history's
//! events. Each `*StateEntered` event starts a [`Run`]; the events after it belong to the run
//! their `previousEventId` leads to (events of a Parallel or Map state whose previous event
//! closed a branch's state fall back to the latest open run of that state type).
//!
//! What the events mean comes from the history AWS records (see the recorded executions of
//! the conformance corpus): a caught error is a `...Failed` event followed by the state's
//! `...StateExited` (the Catch's Next is entered next); an uncaught one has no
//! `...StateExited` and ends the execution; a retry schedules the task again
//! (`TaskScheduled`) or starts the Parallel/Map again (`ParallelStateStarted`); a state that
//! a failing sibling branch stopped ends with `...StateAborted`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;
use serde_json::Value;

use crate::history::{Event, payload};

/// What happened to a state (or one run of it). Ordered from least to most telling, so the
/// state's status is the greatest of its runs'.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Never entered.
    NotRun,
    Succeeded,
    /// Failed at least once, then succeeded on a retry.
    Retried,
    /// Stopped because a sibling branch failed or the execution ended.
    Aborted,
    /// Failed, and a Catch took the execution on.
    Caught,
    /// Entered and not finished when the history ends.
    Running,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::NotRun => "not run",
            Status::Succeeded => "succeeded",
            Status::Retried => "retried",
            Status::Aborted => "aborted",
            Status::Caught => "caught",
            Status::Running => "running",
            Status::Failed => "failed",
        }
    }
}

/// A stretch of a run: one attempt, or the wait before a retry.
#[derive(Debug, Clone, Serialize)]
pub struct Segment {
    /// `attempt` or `wait`.
    pub kind: &'static str,
    pub start: Option<i64>,
    pub end: Option<i64>,
}

/// One entry into a state.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    pub state: String,
    /// The state type from the event (`Task`, `Parallel`, ...).
    pub kind: String,
    pub entered_event: u64,
    pub start: Option<i64>,
    pub end: Option<i64>,
    pub status: Status,
    /// Task attempts (`TaskScheduled`), Parallel/Map starts.
    pub attempts: u32,
    pub failures: u32,
    /// A Map's iterations (`MapStateStarted.length`, else the `MapIterationStarted` events).
    pub iterations: Option<u64>,
    pub segments: Vec<Segment>,
    pub input: Option<Value>,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
    /// On the chain of events that leads to the execution's end.
    pub critical: bool,
    /// The execution's redrive count when the state was entered (0: the first attempt).
    pub redrive: u32,
    /// The Distributed Map child execution it ran in (`None`: the execution itself).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution: Option<String>,
    #[serde(skip)]
    exited: bool,
    #[serde(skip)]
    last_failed: bool,
    #[serde(skip)]
    aborted: bool,
    #[serde(skip)]
    failed_at: Option<i64>,
}

/// The execution as a whole.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Execution {
    /// SUCCEEDED, FAILED, TIMED_OUT, ABORTED or RUNNING (no ending event yet).
    pub status: String,
    pub start: Option<i64>,
    pub stop: Option<i64>,
    pub input: Option<Value>,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
    /// `ExecutionRedriven` events.
    pub redrive_count: u32,
    pub events: usize,
}

/// Everything the history says, by run and by state.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Analysis {
    pub execution: Execution,
    /// In the order they were entered.
    pub runs: Vec<Run>,
    /// Every state name seen in a run, with its overall status.
    pub states: BTreeMap<String, Status>,
}

fn state_type(kind: &str) -> Option<&str> {
    for prefix in [
        "MapIteration",
        "Task",
        "Parallel",
        "Map",
        "Wait",
        "Pass",
        "Choice",
    ] {
        if kind.starts_with(prefix) && kind != prefix {
            return Some(if prefix == "MapIteration" {
                "Map"
            } else {
                prefix
            });
        }
    }
    None
}

/// The longest state name kept: ASL allows 80 characters, so only a made-up history names a
/// longer one, which would otherwise be repeated whole wherever the report names the state.
pub const MAX_NAME: usize = 80;

/// The state an event names, cut at [`MAX_NAME`] characters.
fn state_name(e: &Event) -> Option<String> {
    e.detail("name").map(|n| n.chars().take(MAX_NAME).collect())
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// Reads the events into runs.
pub fn analyse(events: &[Event]) -> Analysis {
    let mut a = Analysis::default();
    a.execution.status = "RUNNING".into();
    a.execution.events = events.len();
    // The run an event belongs to (None: it closed its run, or belongs to none).
    let mut owner: HashMap<u64, Option<usize>> = HashMap::new();
    // Every event's run, closing events included (for the critical path).
    let mut member: HashMap<u64, usize> = HashMap::new();
    let mut open = Open::default();
    for e in events {
        let k = e.kind.as_str();
        if let Some(ty) = k.strip_suffix("StateEntered") {
            let run = Run {
                state: state_name(e).unwrap_or_else(|| "?".into()),
                kind: ty.to_string(),
                entered_event: e.id,
                start: e.at,
                end: None,
                status: Status::Running,
                attempts: 0,
                failures: 0,
                iterations: None,
                segments: Vec::new(),
                input: payload(e.details.get("input")),
                output: None,
                error: None,
                cause: None,
                critical: false,
                redrive: a.execution.redrive_count,
                execution: None,
                exited: false,
                last_failed: ty == "Fail",
                aborted: false,
                failed_at: None,
            };
            a.runs.push(run);
            let i = a.runs.len() - 1;
            open.insert(i, &a.runs[i]);
            owner.insert(e.id, Some(i));
            member.insert(e.id, i);
            continue;
        }
        if k.starts_with("Execution") {
            execution_event(&mut a.execution, e);
            if matches!(
                k,
                "ExecutionSucceeded" | "ExecutionFailed" | "ExecutionTimedOut" | "ExecutionAborted"
            ) {
                for i in open.clear() {
                    let r = &mut a.runs[i];
                    r.end = r.end.or(e.at);
                    if !r.last_failed {
                        r.aborted = true;
                    }
                }
            }
            owner.insert(e.id, None);
            continue;
        }
        // Which run: the previous event's, else the latest open run of the event's type.
        let by_previous = owner.get(&e.previous).copied().flatten();
        let by_name = if k.ends_with("StateExited") {
            state_name(e).and_then(|n| open.latest_named(&n))
        } else {
            None
        };
        let by_type = state_type(k).and_then(|ty| open.latest_of_kind(ty));
        // An event of a state type belongs to a run of that type: a ParallelStateFailed's
        // previous event may be its branch's FailStateEntered.
        let ty = state_type(k);
        let by_previous = by_previous
            .filter(|&i| open.all.contains(&i))
            .filter(|&i| ty.is_none_or(|t| a.runs[i].kind == t));
        let Some(i) = by_name.or(by_previous).or(by_type) else {
            owner.insert(e.id, None);
            continue;
        };
        member.insert(e.id, i);
        owner.insert(e.id, Some(i));
        let r = &mut a.runs[i];
        match k {
            _ if k.ends_with("StateExited") => {
                r.exited = true;
                r.end = e.at;
                r.output = payload(e.details.get("output"));
                open.remove(i, &a.runs[i]);
                owner.insert(e.id, None);
            }
            _ if k.ends_with("StateAborted") => {
                r.aborted = true;
                r.end = e.at;
                close_segment(r, e.at);
                open.remove(i, &a.runs[i]);
                owner.insert(e.id, None);
            }
            "TaskScheduled" | "ParallelStateStarted" | "MapStateStarted" => {
                r.attempts += 1;
                // Starting again is a retry, so the attempt before failed, whether or not
                // its failure event is in the history (recorded snapshots leave some out).
                if r.attempts > 1 && !r.last_failed {
                    r.failures += 1;
                    r.failed_at = r.segments.last().and_then(|s| s.end.or(s.start));
                    r.last_failed = true;
                }
                if r.last_failed {
                    r.segments.push(Segment {
                        kind: "wait",
                        start: r.failed_at,
                        end: e.at,
                    });
                }
                r.last_failed = false;
                r.segments.push(Segment {
                    kind: "attempt",
                    start: e.at,
                    end: None,
                });
                if let Some(n) = e.details.get("length").and_then(Value::as_u64) {
                    r.iterations = Some(n);
                }
            }
            "MapIterationStarted" => {
                let n = e
                    .details
                    .get("index")
                    .and_then(Value::as_u64)
                    .map(|x| x + 1)
                    .unwrap_or(0);
                r.iterations = Some(r.iterations.unwrap_or(0).max(n));
            }
            "TaskSucceeded" | "ParallelStateSucceeded" | "MapStateSucceeded" => {
                r.last_failed = false;
                close_segment(r, e.at);
            }
            _ if k.ends_with("Failed") || k.ends_with("TimedOut") => {
                r.failures += 1;
                r.last_failed = true;
                r.failed_at = e.at;
                if let Some(err) = text(e.details.get("error")) {
                    r.error = Some(err);
                } else if k.ends_with("TimedOut") {
                    r.error = Some("States.Timeout".into());
                }
                if let Some(c) = text(e.details.get("cause")) {
                    r.cause = Some(c);
                }
                close_segment(r, e.at);
            }
            _ => {}
        }
    }
    for r in &mut a.runs {
        r.status = if r.last_failed && !r.exited {
            if r.end.is_some() || a.execution.status != "RUNNING" {
                Status::Failed
            } else {
                Status::Running
            }
        } else if r.last_failed {
            Status::Caught
        } else if r.aborted && !r.exited {
            Status::Aborted
        } else if !r.exited {
            Status::Running
        } else if r.failures > 0 {
            Status::Retried
        } else {
            Status::Succeeded
        };
        if r.kind == "Fail" {
            r.status = Status::Failed;
            r.error = r.error.take().or_else(|| a.execution.error.clone());
            r.cause = r.cause.take().or_else(|| a.execution.cause.clone());
        }
    }
    // A state's status is what happened to it in the latest attempt of the execution that ran
    // it: a state that failed and succeeded after a redrive is succeeded (its failed run stays
    // in the timeline and the details).
    let mut latest: HashMap<&str, u32> = HashMap::new();
    for r in &a.runs {
        let e = latest.entry(r.state.as_str()).or_insert(0);
        *e = (*e).max(r.redrive);
    }
    for r in &a.runs {
        if latest.get(r.state.as_str()) == Some(&r.redrive) {
            let s = a.states.entry(r.state.clone()).or_insert(Status::NotRun);
            *s = (*s).max(r.status);
        }
    }
    // The failed state carries the execution's error when its own events did not.
    if a.execution.status == "FAILED" {
        for r in &mut a.runs {
            if r.status == Status::Failed && r.error.is_none() {
                r.error = a.execution.error.clone();
                r.cause = a.execution.cause.clone();
            }
        }
    }
    critical_path(events, &member, &mut a.runs);
    a
}

/// The runs not closed yet, by name and by state type too: a history may leave any number
/// open, and every event looks for the latest open run of its name or type.
#[derive(Default)]
struct Open {
    all: BTreeSet<usize>,
    by_name: HashMap<String, BTreeSet<usize>>,
    by_kind: HashMap<String, BTreeSet<usize>>,
}

impl Open {
    fn insert(&mut self, i: usize, r: &Run) {
        self.all.insert(i);
        self.by_name.entry(r.state.clone()).or_default().insert(i);
        self.by_kind.entry(r.kind.clone()).or_default().insert(i);
    }

    fn remove(&mut self, i: usize, r: &Run) {
        if self.all.remove(&i) {
            for (map, key) in [(&mut self.by_name, &r.state), (&mut self.by_kind, &r.kind)] {
                if let Some(set) = map.get_mut(key) {
                    set.remove(&i);
                    if set.is_empty() {
                        map.remove(key);
                    }
                }
            }
        }
    }

    /// The latest open run of a state.
    fn latest_named(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).and_then(|s| s.last().copied())
    }

    /// The latest open run of a state type.
    fn latest_of_kind(&self, kind: &str) -> Option<usize> {
        self.by_kind.get(kind).and_then(|s| s.last().copied())
    }

    /// Closes every run; returns them.
    fn clear(&mut self) -> Vec<usize> {
        self.by_name.clear();
        self.by_kind.clear();
        std::mem::take(&mut self.all).into_iter().collect()
    }
}

fn close_segment(r: &mut Run, at: Option<i64>) {
    if let Some(s) = r
        .segments
        .last_mut()
        .filter(|s| s.kind == "attempt" && s.end.is_none())
    {
        s.end = at;
    }
}

fn execution_event(x: &mut Execution, e: &Event) {
    match e.kind.as_str() {
        "ExecutionStarted" => {
            x.start = x.start.or(e.at);
            x.input = payload(e.details.get("input"));
        }
        "ExecutionRedriven" => {
            x.redrive_count += 1;
            x.status = "RUNNING".into();
            x.stop = None;
        }
        "ExecutionSucceeded" => {
            x.status = "SUCCEEDED".into();
            x.stop = e.at;
            x.output = payload(e.details.get("output"));
        }
        "ExecutionFailed" | "ExecutionTimedOut" | "ExecutionAborted" => {
            x.status = match e.kind.as_str() {
                "ExecutionFailed" => "FAILED",
                "ExecutionTimedOut" => "TIMED_OUT",
                _ => "ABORTED",
            }
            .into();
            x.stop = e.at;
            x.error = text(e.details.get("error"));
            x.cause = text(e.details.get("cause"));
        }
        _ => {}
    }
}

/// Marks the runs on the chain of `previousEventId`s from the last event back to the start:
/// the path that decided when the execution ended.
fn critical_path(events: &[Event], member: &HashMap<u64, usize>, runs: &mut [Run]) {
    let index: HashMap<u64, usize> = events.iter().enumerate().map(|(i, e)| (e.id, i)).collect();
    let Some(mut e) = events.last() else { return };
    // Each step goes to an earlier event; the bound guards against a malformed cycle.
    for _ in 0..events.len() {
        if let Some(&r) = member.get(&e.id) {
            runs[r].critical = true;
        }
        match index.get(&e.previous) {
            Some(&j) if e.previous != 0 && e.previous < e.id => e = &events[j],
            _ => break,
        }
    }
}

/// The Distributed Map state each map run belongs to: `MapRunStarted`'s `mapRunArn`, and the
/// `MapStateEntered` its chain of `previousEventId`s leads back to (`MapStateStarted`, then
/// `MapStateEntered`, in the histories AWS records).
pub fn map_runs(events: &[Event]) -> HashMap<String, String> {
    let index: HashMap<u64, &Event> = events.iter().map(|e| (e.id, e)).collect();
    let mut out = HashMap::new();
    for e in events.iter().filter(|e| e.kind == "MapRunStarted") {
        let Some(arn) = e.detail("mapRunArn") else {
            continue;
        };
        let mut at = e;
        for _ in 0..8 {
            match index.get(&at.previous) {
                Some(p) if p.id < at.id => at = p,
                _ => break,
            }
            if at.kind == "MapStateEntered" {
                if let Some(name) = state_name(at) {
                    out.insert(arn.to_string(), name);
                }
                break;
            }
        }
    }
    out
}
