//! The executor: runs a validated state machine to its end, recording the execution
//! history as AWS does, with pluggable tasks, task tokens and a virtual clock.
//!
//! This module holds the public face (options, status, result, [`Executor`]) and the run of
//! one execution (`Run`): its first and last events, the loop from state to state (with
//! the transition cap and a redrive's replay) and the dispatch on the state's type. The rest
//! is split by concern, each part an `impl` of `Run` or of the state being run
//! (`entered::Entered`):
//!
//! - `handle`: the [`Handle`] (task-token callbacks, StopExecution);
//! - `failures`: failures travelling up and AWS's error messages;
//! - `fiber`: one line of execution and how its events are chained;
//! - `entered`: the state being run: its StateEntered/StateExited events, context object,
//!   seeded templates and payload limit;
//! - `io`: a state's input and output processing (InputPath … OutputPath, Assign);
//! - `fields`: fields given by a path (`SecondsPath`, `TimeoutSecondsPath`, ...) or by a
//!   JSONata expression;
//! - `jsonata_fields`: evaluating JSONata fields, and States.QueryEvaluationError;
//! - `simple`: Pass, Wait, Succeed, Fail and Choice;
//! - `retry`: Retry and Catch around Task, Parallel and Map work;
//! - `task`: invoking a task handler and waiting for its callback;
//! - `parallel` and `map`: branches and iterations.

mod entered;
mod failures;
mod fiber;
mod fields;
mod handle;
mod io;
mod jsonata_fields;
mod map;
mod map_run;
mod parallel;
mod retry;
mod simple;
mod task;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::checkpoint::{Checkpoint, Ledger, Redrive};
use crate::clock::{Awake, Clock, Mode};
use crate::history::{Details, EventType, History};
use crate::intrinsic;
use crate::model::{Kind, Machine, State, StateMachine};
use crate::rng::Rng;
use crate::task::Registry;

use entered::Entered;
pub use failures::error_matches;
use failures::{Failure, too_deep_cause};
use fiber::Fiber;
pub use handle::{Handle, InvalidToken};
use handle::{StopRequest, stop_requested};
use retry::Work;

/// Lets the other branches or iterations run: ready again at once, after one turn.
#[derive(Default)]
struct TakeTurns {
    yielded: bool,
}

impl std::future::Future for TakeTurns {
    type Output = ();

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.yielded {
            std::task::Poll::Ready(())
        } else {
            self.yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    }
}

/// AWS's payload limit: 256 KiB.
pub const MAX_PAYLOAD: usize = 262_144;

/// How an execution ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

impl Status {
    /// AWS's status string.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Succeeded => "SUCCEEDED",
            Status::Failed => "FAILED",
            Status::TimedOut => "TIMED_OUT",
            Status::Aborted => "ABORTED",
        }
    }
}

/// The outcome of an execution.
#[derive(Debug, Clone)]
pub struct ExecutionResult {
    pub status: Status,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub history: History,
    pub start: DateTime<Utc>,
    pub stop: DateTime<Utc>,
    /// The states that succeeded, for a redrive ([`crate::checkpoint`]).
    pub checkpoint: Checkpoint,
    /// The child executions of the Distributed Maps that ran, each with its own history
    /// (AWS keeps their events out of the parent's).
    pub child_executions: Vec<ChildExecution>,
}

/// A Distributed Map's child execution: one item or batch, with its own history
/// (ExecutionStarted, its states' events, ExecutionSucceeded or ExecutionFailed).
#[derive(Debug, Clone)]
pub struct ChildExecution {
    pub map_run_arn: String,
    pub execution_arn: String,
    pub name: String,
    pub status: Status,
    pub history: History,
}

impl ChildExecution {
    /// As DescribeExecution names it, with GetExecutionHistory's events.
    pub fn to_json(&self) -> Value {
        json!({
            "mapRunArn": self.map_run_arn,
            "executionArn": self.execution_arn,
            "name": self.name,
            "status": self.status.as_str(),
            "events": self.history.to_json(),
        })
    }
}

/// Execution settings.
#[derive(Debug, Clone)]
pub struct Options {
    pub execution_name: String,
    pub state_machine_name: String,
    pub account: String,
    pub region: String,
    pub partition: String,
    pub role_arn: String,
    pub mode: Mode,
    pub seed: u64,
    pub start_time: DateTime<Utc>,
    /// Upper bound on state transitions, so that a loop cannot run forever.
    pub max_transitions: u64,
    /// Redrive a previous execution of this name: replay its successful states, run the rest.
    pub redrive: Option<Redrive>,
    /// Where a Distributed Map's ItemReader and ResultWriter reach S3; without one, such a
    /// Map fails (States.ItemReaderFailed / States.ResultWriterFailed) saying so.
    pub object_store: Option<crate::distributed::Store>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            execution_name: "local-execution".into(),
            state_machine_name: "local-state-machine".into(),
            account: "123456789012".into(),
            region: "us-east-1".into(),
            partition: "aws".into(),
            role_arn: "arn:aws:iam::123456789012:role/local-execution-role".into(),
            mode: Mode::Virtual,
            seed: 0,
            start_time: Utc::now(),
            max_transitions: 1_000_000,
            redrive: None,
            object_store: None,
        }
    }
}

impl Options {
    /// The state machine's ARN.
    pub fn state_machine_arn(&self) -> String {
        format!(
            "arn:{}:states:{}:{}:stateMachine:{}",
            self.partition, self.region, self.account, self.state_machine_name
        )
    }

    /// The execution's ARN.
    pub fn execution_arn(&self) -> String {
        format!(
            "arn:{}:states:{}:{}:execution:{}:{}",
            self.partition, self.region, self.account, self.state_machine_name, self.execution_name
        )
    }
}

/// One execution while it runs: what every state shares.
struct Run {
    ledger: Ledger,
    opts: Options,
    registry: Registry,
    history: History,
    clock: Clock,
    rng: Mutex<Rng>,
    handle: Handle,
    transitions: AtomicU64,
    exec_context: Value,
    token_seq: AtomicU64,
    /// The Distributed Maps' child executions, as they end.
    children: Mutex<Vec<ChildExecution>>,
}

/// What a state decided.
enum Step<'m> {
    Next(&'m str, Value),
    End(Value),
}

/// Runs state machines.
pub struct Executor {
    machine: Arc<StateMachine>,
    registry: Registry,
}

impl Executor {
    /// An executor for a validated machine with the given task handlers.
    pub fn new(machine: StateMachine, registry: Registry) -> Executor {
        Executor {
            machine: Arc::new(machine),
            registry,
        }
    }

    /// Starts an execution: the handle for callbacks, and the future that runs it.
    pub fn start(
        &self,
        input: Value,
        opts: Options,
    ) -> (
        Handle,
        impl std::future::Future<Output = ExecutionResult> + Send + 'static,
    ) {
        // An input too deep to copy or serialize safely fails the execution at once; it is
        // taken apart without recursion.
        let too_deep = crate::data::deeper_than(&input, crate::data::MAX_DEPTH);
        let input = if too_deep {
            crate::data::dismantle(input);
            Value::Null
        } else {
            input
        };
        let (clock, awake) = Clock::new(opts.mode, opts.start_time);
        let history = match &opts.redrive {
            Some(r) => History::continuing(r.previous_events),
            None => History::default(),
        };
        let (handle, stop_rx) = Handle::new(clock.clone(), history.clone());
        let machine = self.machine.clone();
        let start = clock.now();
        let mut exec_context = json!({
            "Id": opts.execution_arn(),
            "Input": input,
            "StartTime": crate::timestamp::format(start),
            "Name": opts.execution_name,
            "RoleArn": opts.role_arn,
            "RedriveCount": 0,
        });
        if let Some(r) = &opts.redrive {
            // The context object keeps the first start and counts redrives
            // (https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html).
            exec_context["StartTime"] = json!(crate::timestamp::format(r.started));
            exec_context["RedriveCount"] = json!(r.count);
            exec_context["RedriveTime"] = json!(crate::timestamp::format(start));
        }
        let run = Arc::new(Run {
            ledger: Ledger::new(opts.redrive.as_ref().map(|r| &r.checkpoint)),
            rng: Mutex::new(Rng::new(opts.seed)),
            registry: self.registry.clone(),
            history,
            clock,
            handle: handle.clone(),
            transitions: AtomicU64::new(0),
            exec_context,
            token_seq: AtomicU64::new(0),
            children: Mutex::new(Vec::new()),
            opts,
        });
        (handle, async move {
            run.execute(machine, input, too_deep, awake, stop_rx).await
        })
    }

    /// Runs an execution to its end.
    pub async fn run(&self, input: Value, opts: Options) -> ExecutionResult {
        let (_h, fut) = self.start(input, opts);
        fut.await
    }
}

/// A state's checkpoint path: the fiber's path, the name quoted as `{:?}` quotes it, `@`, the
/// visit (`"Load"@2`). Plain names, the usual ones, skip the formatter.
fn checkpoint_key(path: &str, name: &str, visit: u32) -> String {
    use std::fmt::Write as _;
    let mut key = String::with_capacity(path.len() + name.len() + 8);
    key.push_str(path);
    if name
        .chars()
        .all(|c| c != '"' && c != '\\' && !c.is_control() && c.is_ascii())
    {
        key.push('"');
        key.push_str(name);
        key.push('"');
    } else {
        let _ = write!(key, "{name:?}");
    }
    let _ = write!(key, "@{visit}");
    key
}

fn text(v: &Value) -> String {
    intrinsic::to_json_text(v)
}

fn details(pairs: Vec<(&'static str, Value)>) -> Option<Details> {
    Some(pairs.into_iter().collect())
}

/// `{"truncated": false}` (see [`Details`]).
fn not_truncated() -> Value {
    Value::Null
}

/// An `ExecutionFailed` or `ExecutionAborted` event's details.
fn error_details(error: &Option<String>, cause: &Option<String>) -> Details {
    let mut d = Details::new();
    if let Some(c) = cause {
        d.insert("cause", json!(c));
    }
    if let Some(e) = error {
        d.insert("error", json!(e));
    }
    d
}

impl Run {
    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    async fn execute(
        self: Arc<Self>,
        machine: Arc<StateMachine>,
        input: Value,
        too_deep: bool,
        awake: Awake,
        stop_rx: watch::Receiver<Option<StopRequest>>,
    ) -> ExecutionResult {
        let start = self.now();
        let mut fiber = Fiber::main(awake);
        let input_text = text(&input);
        match &self.opts.redrive {
            Some(r) => {
                // The history goes on: ExecutionRedriven follows the last earlier event, and
                // the states that run now follow it.
                fiber.last = r.previous_events;
                let _ = self.emit(
                    &mut fiber,
                    EventType::ExecutionRedriven,
                    details(vec![("redriveCount", json!(r.count))]),
                );
            }
            None => {
                let _ = self.emit(
                    &mut fiber,
                    EventType::ExecutionStarted,
                    details(vec![
                        ("input", json!(input_text)),
                        ("inputDetails", not_truncated()),
                        ("roleArn", json!(self.opts.role_arn)),
                    ]),
                );
                fiber.first = true;
            }
        }
        let mut aborted: Option<StopRequest> = None;
        let mut result = if too_deep {
            Err(Failure::fatal(
                "States.Runtime",
                too_deep_cause("The input to the execution"),
            ))
        } else if input_text.len() > MAX_PAYLOAD {
            Err(Failure::fatal(
                "States.DataLimitExceeded",
                "The input to the execution exceeds the maximum number of bytes service limit.",
            ))
        } else {
            let main = async {
                let work = self.run_machine(&machine.root, input, &mut fiber);
                match machine.timeout_seconds {
                    None => (work.await.map(Some), None),
                    Some(secs) => {
                        let timer = self.clock.timer(Duration::from_secs(secs));
                        tokio::select! {
                            r = work => (r.map(Some), None),
                            a = timer => (Ok(None), Some(a)),
                        }
                    }
                }
            };
            // A stop drops `main`, and with it every state still running.
            let (r, woke) = tokio::select! {
                biased;
                req = stop_requested(stop_rx) => {
                    aborted = Some(req);
                    (Ok(None), None)
                }
                out = main => out,
            };
            if let Some(a) = woke {
                fiber.awake = a;
            }
            r
        };
        if let Ok(Some(out)) = &result
            && text(out).len() > MAX_PAYLOAD
        {
            result = Err(Failure::new(
                "States.DataLimitExceeded",
                "The execution output exceeds the maximum number of bytes service limit.",
            ));
        }
        let stop = self.now();
        let (status, output, error, cause) = match (aborted, result) {
            (Some((error, cause)), _) => {
                let d = error_details(&error, &cause);
                // Branches interleave: the aborted event follows the last event recorded.
                let last = self.history.events().last().map(|e| e.id).unwrap_or(0);
                self.history
                    .push_final(EventType::ExecutionAborted, last, stop, Some(d));
                (Status::Aborted, None, error, cause)
            }
            (None, Ok(Some(out))) => {
                let t = text(&out);
                self.history.push_final(
                    EventType::ExecutionSucceeded,
                    fiber.last,
                    stop,
                    details(vec![
                        ("output", json!(t)),
                        ("outputDetails", not_truncated()),
                    ]),
                );
                (Status::Succeeded, Some(out), None, None)
            }
            (None, Ok(None)) => {
                self.history.push_final(
                    EventType::ExecutionTimedOut,
                    fiber.last,
                    stop,
                    Some(Details::new()),
                );
                (Status::TimedOut, None, None, None)
            }
            (None, Err(f)) => {
                let d = error_details(&f.error, &f.cause);
                self.history
                    .push_final(EventType::ExecutionFailed, fiber.last, stop, Some(d));
                (Status::Failed, None, f.error, f.cause)
            }
        };
        drop(fiber);
        ExecutionResult {
            status,
            output,
            error,
            cause,
            history: self.history.clone(),
            start,
            stop,
            checkpoint: self.ledger.take_checkpoint(),
            child_executions: std::mem::take(
                &mut *self.children.lock().unwrap_or_else(|e| e.into_inner()),
            ),
        }
    }

    /// Runs a machine (the execution's, a branch or an item processor) from its StartAt to
    /// its end, in `fiber`.
    fn run_machine<'a>(
        &'a self,
        m: &'a Machine,
        input: Value,
        fiber: &'a mut Fiber,
    ) -> futures::future::BoxFuture<'a, Result<Value, Failure>> {
        Box::pin(async move {
            let mut name: &str = m.start_at.as_str();
            let mut input = input;
            loop {
                let n = self.transitions.fetch_add(1, Ordering::Relaxed) + 1;
                if n > self.opts.max_transitions {
                    return Err(Failure::new(
                        "States.Runtime",
                        format!(
                            "The execution exceeded {} state transitions (rsqlflow's loop guard; raise it with --max-transitions).",
                            self.opts.max_transitions
                        ),
                    ));
                }
                let state = m.states.get(name).ok_or_else(|| {
                    Failure::new("States.Runtime", format!("no state named '{name}'"))
                })?;
                let visit = match fiber.visits.get_mut(name) {
                    Some(n) => {
                        *n = n.saturating_add(1);
                        *n
                    }
                    None => {
                        fiber.visits.insert(name.to_string(), 1);
                        1
                    }
                };
                // Names are quoted ({:?}): a name holding '@', '/', '[' or '#' stays
                // unambiguous.
                let key = checkpoint_key(&fiber.path, name, visit);
                // A redrive replays what succeeded before: no task runs, no event is written.
                if let Some(done) = self.ledger.replay(&key) {
                    fiber.carry_text = None;
                    if let Some(vars) = done.variables {
                        Arc::make_mut(&mut fiber.scope).own = vars;
                    }
                    match done.next {
                        Some(next) => match m.states.get_key_value(next.as_str()) {
                            Some((k, _)) => {
                                name = k.as_str();
                                input = done.output;
                                continue;
                            }
                            None => {
                                return Err(Failure::new(
                                    "States.Runtime",
                                    format!(
                                        "the redriven checkpoint names a state '{next}' this \
                                         definition does not have"
                                    ),
                                ));
                            }
                        },
                        None => return Ok(done.output),
                    }
                }
                fiber.here = key.clone();
                match self.run_state(state, input, fiber).await? {
                    Step::Next(next, out) => {
                        self.ledger.record(key, Some(next), &out, &fiber.scope.own);
                        name = next;
                        input = out;
                        // Branches and iterations start together and take turns, one state
                        // each, as AWS runs them concurrently: a branch that fails in its first
                        // state fails the Parallel before a longer sibling has finished,
                        // whatever their order in the definition. Deterministic: the turns go
                        // in the order the combinators poll.
                        if !fiber.path.is_empty() {
                            TakeTurns::default().await;
                        }
                    }
                    Step::End(out) => {
                        self.ledger.record(key, None, &out, &fiber.scope.own);
                        return Ok(out);
                    }
                }
            }
        })
    }

    /// Enters a state, runs it by its type and exits it (or fails).
    async fn run_state<'m>(
        &self,
        state: &'m State,
        raw: Value,
        fiber: &mut Fiber,
    ) -> Result<Step<'m>, Failure> {
        let s = Entered::enter(self, state, &raw, fiber)?;
        let r = match &state.kind {
            Kind::Pass(p) => s.pass(p.as_ref(), raw, fiber),
            Kind::Succeed => s.succeed(raw, fiber),
            Kind::Fail { error, cause } => s.fail(error, cause, raw),
            Kind::Choice { choices, default } => s.choice(choices, default, raw, fiber),
            Kind::Wait(w) => s.wait(w, raw, fiber).await,
            Kind::Task(t) => s.with_retry(Work::Task(t), raw, fiber).await,
            Kind::Parallel(p) => s.with_retry(Work::Parallel(p), raw, fiber).await,
            Kind::Map(mp) => s.with_retry(Work::Map(mp), raw, fiber).await,
        };
        match r {
            Err(f) => Err(s.report(fiber, f)?),
            ok => ok,
        }
    }
}

#[cfg(test)]
mod key_tests {
    use super::checkpoint_key;

    #[test]
    fn checkpoint_keys_are_the_debug_quoted_names() {
        for name in [
            "Load",
            "a b",
            "it's",
            "q\"uote",
            "back\\slash",
            "tab\t",
            "é",
            "P@1[0]/#",
        ] {
            assert_eq!(
                checkpoint_key("P@1[0]/", name, 3),
                format!("P@1[0]/{name:?}@3"),
                "{name}"
            );
        }
    }
}
