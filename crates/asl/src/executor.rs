//! The executor: runs a validated state machine to its end, recording the execution
//! history as AWS does, with pluggable tasks, task tokens and a virtual clock.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde_json::{Map, Value, json};
use tokio::sync::{oneshot, watch};

use crate::checkpoint::{Checkpoint, Ledger, Redrive};
use crate::choice;
use crate::clock::{Awake, Clock, Mode};
use crate::data::{self, DataError, Env, Scope};
use crate::history::{Details, EventType, History, StateType};
use crate::intrinsic;
use crate::model::*;
use crate::rng::Rng;
use crate::task::{Pattern, Registry, Resource, TaskCall, TaskContext, TaskFailure, unregistered};

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

/// What a callback brings back for a task token.
enum Callback {
    Success(Value),
    Failure(TaskFailure),
}

struct Waiter {
    tx: oneshot::Sender<(Callback, Awake)>,
    heartbeat: watch::Sender<u64>,
}

/// Why an execution was stopped (StopExecution's error and cause).
type StopRequest = (Option<String>, Option<String>);

/// Sends task-token callbacks into a running execution, and stops it.
#[derive(Clone)]
pub struct Handle {
    clock: Clock,
    waiters: Arc<Mutex<HashMap<String, Waiter>>>,
    history: History,
    stop: Arc<watch::Sender<Option<StopRequest>>>,
}

/// A callback for a token nobody waits for.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("Task Timed Out: 'Provided task does not exist anymore' (token {0})")]
pub struct InvalidToken(pub String);

impl Handle {
    fn complete(&self, token: &str, cb: Callback) -> Result<(), InvalidToken> {
        let w = self
            .waiters
            .lock()
            .ok()
            .and_then(|mut m| m.remove(token))
            .ok_or_else(|| InvalidToken(token.to_string()))?;
        let awake = self.clock.acquire();
        w.tx.send((cb, awake))
            .map_err(|_| InvalidToken(token.to_string()))
    }

    /// SendTaskSuccess.
    pub fn send_task_success(&self, token: &str, output: Value) -> Result<(), InvalidToken> {
        self.complete(token, Callback::Success(output))
    }

    /// SendTaskFailure.
    pub fn send_task_failure(
        &self,
        token: &str,
        error: &str,
        cause: Option<&str>,
    ) -> Result<(), InvalidToken> {
        self.complete(
            token,
            Callback::Failure(TaskFailure {
                error: error.to_string(),
                cause: cause.map(String::from),
            }),
        )
    }

    /// SendTaskHeartbeat.
    pub fn send_task_heartbeat(&self, token: &str) -> Result<(), InvalidToken> {
        let m = self
            .waiters
            .lock()
            .map_err(|_| InvalidToken(token.into()))?;
        let w = m
            .get(token)
            .ok_or_else(|| InvalidToken(token.to_string()))?;
        w.heartbeat.send_modify(|n| *n += 1);
        Ok(())
    }

    /// Tokens currently waited for.
    pub fn pending_tokens(&self) -> Vec<String> {
        self.waiters
            .lock()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Keeps virtual time from advancing while the caller works on a callback.
    pub fn busy(&self) -> Awake {
        self.clock.acquire()
    }

    /// The execution's history so far (for progress displays).
    pub fn history(&self) -> History {
        self.history.clone()
    }

    /// The execution's clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// StopExecution: the execution ends ABORTED, its history closed by `ExecutionAborted` with
    /// this error and cause
    /// (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_StopExecution.html>,
    /// <https://docs.aws.amazon.com/step-functions/latest/apireference/API_ExecutionAbortedEventDetails.html>).
    /// Every state still running is dropped at once: task handlers, waits, retries, branches
    /// and iterations. Only the first stop counts; after the end it does nothing.
    pub fn stop(&self, error: Option<&str>, cause: Option<&str>) {
        self.stop.send_if_modified(|s| {
            if s.is_some() {
                return false;
            }
            *s = Some((error.map(String::from), cause.map(String::from)));
            true
        });
    }
}

/// Resolves when the execution is asked to stop.
async fn stop_requested(mut rx: watch::Receiver<Option<StopRequest>>) -> StopRequest {
    loop {
        if let Some(r) = rx.borrow_and_update().clone() {
            return r;
        }
        if rx.changed().await.is_err() {
            // Nobody can stop it any more.
            std::future::pending::<()>().await;
        }
    }
}

/// A failure travelling up through states.
#[derive(Debug, Clone)]
struct Failure {
    error: Option<String>,
    cause: Option<String>,
    /// States.Runtime and execution-level stops: no Retry or Catch applies.
    fatal: bool,
}

impl Failure {
    fn new(error: &str, cause: impl Into<String>) -> Failure {
        Failure {
            error: Some(error.to_string()),
            cause: Some(cause.into()),
            fatal: error == "States.Runtime",
        }
    }
    fn of_task(f: TaskFailure) -> Failure {
        Failure {
            fatal: false,
            error: Some(f.error),
            cause: f.cause,
        }
    }
    fn name(&self) -> &str {
        self.error.as_deref().unwrap_or("")
    }
}

/// One line of execution (the main flow, a branch, an iteration).
struct Fiber {
    awake: Awake,
    /// The event the next event follows.
    last: u64,
    scope: Arc<Scope>,
    /// The first event of the main flow follows event 0, not ExecutionStarted.
    first: bool,
    /// The last side event (MapIterationSucceeded), which MapStateSucceeded follows.
    side: u64,
    /// Where events go when not in the execution's history (Distributed Map child runs).
    history: Option<History>,
    /// The event that closes Parallel/Map work that has started, if it fails for good.
    failed_event: Option<EventType>,
    /// The JSON text of the last state's output, which is the next state's input.
    carry_text: Option<String>,
    /// Where this fiber runs, for checkpoint paths: "" for the main flow, `P@1[0]/` for a
    /// Parallel branch, `M@1#3/` for a Map iteration.
    path: String,
    /// How often each state was entered in this fiber (loops revisit states).
    visits: HashMap<String, u32>,
    /// The checkpoint path of the state running now (its branches and iterations nest in it).
    here: String,
}

impl Fiber {
    fn take_awake(&mut self) -> Awake {
        std::mem::replace(&mut self.awake, Awake::none())
    }
}

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
        let (stop_tx, stop_rx) = watch::channel(None);
        let handle = Handle {
            clock: clock.clone(),
            waiters: Arc::new(Mutex::new(HashMap::new())),
            history: history.clone(),
            stop: Arc::new(stop_tx),
        };
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

fn too_deep_cause(what: &str) -> String {
    format!(
        "{what} is nested deeper than {} levels.",
        crate::data::MAX_DEPTH
    )
}

/// A task result (handler answer or callback output) too deep to process is a task failure.
fn deep_result(v: Value) -> Result<Value, TaskFailure> {
    if crate::data::deeper_than(&v, crate::data::MAX_DEPTH) {
        crate::data::dismantle(v);
        Err(TaskFailure::new(
            "States.Runtime",
            too_deep_cause("The task result"),
        ))
    } else {
        Ok(v)
    }
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

fn state_type(k: &Kind) -> StateType {
    match k {
        Kind::Pass { .. } => StateType::Pass,
        Kind::Task(_) => StateType::Task,
        Kind::Choice { .. } => StateType::Choice,
        Kind::Wait(_) => StateType::Wait,
        Kind::Succeed => StateType::Succeed,
        Kind::Fail { .. } => StateType::Fail,
        Kind::Parallel(_) => StateType::Parallel,
        Kind::Map(_) => StateType::Map,
    }
}

/// Whether a retrier's or catcher's ErrorEquals matches an error name.
pub fn error_matches(names: &[String], error: &str) -> bool {
    names.iter().any(|n| match n.as_str() {
        "States.ALL" => error != "States.Runtime",
        "States.TaskFailed" => error != "States.Timeout" && error != "States.Runtime",
        other => other == error,
    })
}

impl Run {
    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn emit(&self, fiber: &mut Fiber, kind: EventType, d: Option<Details>) -> Result<u64, Failure> {
        let prev = if fiber.first {
            fiber.first = false;
            0
        } else {
            fiber.last
        };
        let id = fiber
            .history
            .as_ref()
            .unwrap_or(&self.history)
            .push(kind, prev, self.now(), d)
            .map_err(|_| Failure {
                error: Some("States.Runtime".into()),
                cause: Some(format!(
                    "The execution reached the maximum number of history events ({}).",
                    crate::history::MAX_EVENTS
                )),
                fatal: true,
            })?;
        fiber.last = id;
        Ok(id)
    }

    /// An event that follows the fiber's last event without becoming it.
    fn emit_side(
        &self,
        fiber: &Fiber,
        kind: EventType,
        d: Option<Details>,
    ) -> Result<u64, Failure> {
        fiber
            .history
            .as_ref()
            .unwrap_or(&self.history)
            .push(kind, fiber.last, self.now(), d)
            .map_err(|_| Failure {
                error: Some("States.Runtime".into()),
                cause: Some(format!(
                    "The execution reached the maximum number of history events ({}).",
                    crate::history::MAX_EVENTS
                )),
                fatal: true,
            })
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
        let mut fiber = Fiber {
            awake,
            last: 0,
            scope: Arc::new(Scope::default()),
            first: false,
            side: 0,
            history: None,
            failed_event: None,
            carry_text: None,
            path: String::new(),
            visits: HashMap::new(),
            here: String::new(),
        };
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
            Err(Failure {
                error: Some("States.Runtime".into()),
                cause: Some(too_deep_cause("The input to the execution")),
                fatal: true,
            })
        } else if input_text.len() > MAX_PAYLOAD {
            Err(Failure {
                error: Some("States.DataLimitExceeded".into()),
                cause: Some(
                    "The input to the execution exceeds the maximum number of bytes service limit."
                        .into(),
                ),
                fatal: true,
            })
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
                let mut d = Details::new();
                if let Some(c) = &cause {
                    d.insert("cause", json!(c));
                }
                if let Some(e) = &error {
                    d.insert("error", json!(e));
                }
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
                let mut d = Details::new();
                if let Some(c) = &f.cause {
                    d.insert("cause", json!(c));
                }
                if let Some(e) = &f.error {
                    d.insert("error", json!(e));
                }
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
            checkpoint: self.ledger.checkpoint(),
        }
    }

    /// The context object for a state; built only for states that read `$$` (it holds the
    /// execution's input, which can be large).
    fn context(&self, state: &State, entered: DateTime<Utc>, retry: Option<u64>) -> Value {
        if !state.uses_context {
            return Value::Null;
        }
        let mut st = Map::new();
        st.insert("Name".into(), Value::String(state.name.clone()));
        st.insert(
            "EnteredTime".into(),
            Value::String(crate::timestamp::format(entered)),
        );
        if let Some(r) = retry {
            st.insert("RetryCount".into(), Value::from(r));
        }
        let mut sm = Map::new();
        sm.insert("Id".into(), Value::String(self.opts.state_machine_arn()));
        sm.insert(
            "Name".into(),
            Value::String(self.opts.state_machine_name.clone()),
        );
        let mut m = Map::new();
        m.insert("Execution".into(), self.exec_context.clone());
        m.insert("StateMachine".into(), Value::Object(sm));
        m.insert("State".into(), Value::Object(st));
        Value::Object(m)
    }

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
                    return Err(Failure {
                        error: Some("States.Runtime".into()),
                        cause: Some(format!(
                            "The execution exceeded {} state transitions (rsqlflow's loop guard; raise it with --max-transitions).",
                            self.opts.max_transitions
                        )),
                        fatal: true,
                    });
                }
                let state = m.states.get(name).ok_or_else(|| {
                    Failure::new("States.Runtime", format!("no state named '{name}'"))
                })?;
                let visit = {
                    let n = fiber.visits.entry(name.to_string()).or_insert(0);
                    *n = n.saturating_add(1);
                    *n
                };
                // Names are quoted ({:?}): a name holding '@', '/', '[' or '#' stays
                // unambiguous.
                let key = format!("{}{name:?}@{visit}", fiber.path);
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
                    }
                    Step::End(out) => {
                        self.ledger.record(key, None, &out, &fiber.scope.own);
                        return Ok(out);
                    }
                }
            }
        })
    }

    fn runtime(&self, state: &str, entered_id: u64, message: &str) -> Failure {
        Failure::new(
            "States.Runtime",
            format!(
                "An error occurred while executing the state '{state}' (entered at the event id #{entered_id}). {message}"
            ),
        )
    }

    fn data_failure(&self, state: &str, entered_id: u64, e: DataError) -> Failure {
        if e.error == "States.Runtime" {
            self.runtime(state, entered_id, &e.message)
        } else {
            Failure::new(
                e.error,
                format!(
                    "An error occurred while executing the state '{state}' (entered at the event id #{entered_id}). {}",
                    e.message
                ),
            )
        }
    }

    fn assign(
        &self,
        t: &Template,
        value: &Value,
        env: &Env,
        state: &str,
        entered_id: u64,
    ) -> Result<Map<String, Value>, Failure> {
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        match data::template(t, value, env, &mut rng) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Ok(Map::new()),
            Err(e) => Err(self.data_failure(state, entered_id, e)),
        }
    }

    fn exited(
        &self,
        fiber: &mut Fiber,
        st: StateType,
        name: &str,
        output: &Value,
        assigned: Option<&Map<String, Value>>,
    ) -> Result<(), Failure> {
        let mut d = Details::new();
        if let Some(a) = assigned.filter(|a| !a.is_empty()) {
            let vars: Map<String, Value> =
                a.iter().map(|(k, v)| (k.clone(), json!(text(v)))).collect();
            d.insert("assignedVariables", Value::Object(vars));
            d.insert("assignedVariablesDetails", not_truncated());
        }
        if crate::data::deeper_than(output, crate::data::MAX_DEPTH) {
            return Err(Failure::new(
                "States.Runtime",
                too_deep_cause(&format!("The output of the state/task '{name}'")),
            ));
        }
        let out_text = text(output);
        if out_text.len() > MAX_PAYLOAD {
            return Err(Failure::new(
                "States.DataLimitExceeded",
                format!(
                    "The state/task '{name}' returned a result with a size exceeding the maximum number of bytes service limit."
                ),
            ));
        }
        d.insert("name", json!(name));
        d.insert("output", Value::String(out_text.clone()));
        d.insert("outputDetails", not_truncated());
        self.emit(fiber, EventType::StateExited(st), Some(d))?;
        fiber.carry_text = Some(out_text);
        Ok(())
    }

    fn apply_assign(fiber: &mut Fiber, assigned: &Map<String, Value>) {
        for (k, v) in assigned {
            Arc::make_mut(&mut fiber.scope)
                .own
                .insert(k.clone(), v.clone());
        }
    }

    fn transition(state: &State, out: Value) -> Step<'_> {
        match &state.next {
            Transition::Next(n) => Step::Next(n.as_str(), out),
            _ => Step::End(out),
        }
    }

    async fn run_state<'m>(
        &self,
        state: &'m State,
        raw: Value,
        fiber: &mut Fiber,
    ) -> Result<Step<'m>, Failure> {
        let st = state_type(&state.kind);
        let name = state.name.as_str();
        let entered_at = self.now();
        let input_text = fiber.carry_text.take().unwrap_or_else(|| text(&raw));
        let entered_id = self.emit(
            fiber,
            EventType::StateEntered(st),
            details(vec![
                ("input", Value::String(input_text)),
                ("inputDetails", not_truncated()),
                ("name", json!(name)),
            ]),
        )?;
        let ctx = self.context(state, entered_at, None);
        let scope_at_entry = fiber.scope.clone();
        let env = Env {
            context: &ctx,
            scope: &scope_at_entry,
        };
        let select = |field: &PathField, v: &Value| {
            data::select(field, v, &env).map_err(|e| self.data_failure(name, entered_id, e))
        };
        match &state.kind {
            Kind::Pass {
                result,
                parameters,
                result_path,
            } => {
                let effective = select(&state.input_path, &raw)?;
                let value = match (result, parameters) {
                    (Some(r), _) => r.clone(),
                    (None, Some(p)) => {
                        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
                        data::template(p, &effective, &env, &mut rng)
                            .map_err(|e| self.data_failure(name, entered_id, e))?
                    }
                    (None, None) => effective,
                };
                let assigned = match &state.assign {
                    Some(a) => Some(self.assign(a, &value, &env, name, entered_id)?),
                    None => None,
                };
                let merged = data::merge_result(result_path, &raw, value)
                    .map_err(|e| self.data_failure(name, entered_id, e))?;
                let out = select(&state.output_path, &merged)?;
                self.exited(fiber, st, name, &out, assigned.as_ref())?;
                if let Some(a) = &assigned {
                    Self::apply_assign(fiber, a);
                }
                Ok(Self::transition(state, out))
            }
            Kind::Succeed => {
                let effective = select(&state.input_path, &raw)?;
                let out = select(&state.output_path, &effective)?;
                self.exited(fiber, st, name, &out, None)?;
                Ok(Step::End(out))
            }
            Kind::Fail { error, cause } => {
                let eval = |f: &Option<FailField>,
                            field: &str|
                 -> Result<Option<String>, Failure> {
                    match f {
                        None => Ok(None),
                        Some(FailField::Literal(s)) => Ok(Some(s.clone())),
                        Some(FailField::Path(p)) => match data::resolve(p, &raw, &env) {
                            Ok(Value::String(s)) => Ok(Some(s)),
                            Ok(other) => Ok(Some(text(&other))),
                            Err(_) => Err(self.runtime(
                                name,
                                entered_id,
                                &format!(
                                    "The JSONPath '{}' specified for the field '{field}' could not be found in the input '{}'",
                                    p.text(),
                                    text(&raw)
                                ),
                            )),
                        },
                        Some(FailField::Call(c)) => {
                            let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
                            let t = Template::Call(c.clone());
                            match data::template(&t, &raw, &env, &mut rng) {
                                Ok(Value::String(s)) => Ok(Some(s)),
                                Ok(other) => Ok(Some(text(&other))),
                                Err(e) => Err(self.data_failure(name, entered_id, e)),
                            }
                        }
                    }
                };
                let error = eval(error, "ErrorPath")?;
                let cause = eval(cause, "CausePath")?;
                Err(Failure {
                    error,
                    cause,
                    fatal: false,
                })
            }
            Kind::Choice { choices, default } => {
                let effective = select(&state.input_path, &raw)?;
                let mut chosen = None;
                for c in choices {
                    let hit = choice::eval(&c.rule, &effective, &env)
                        .map_err(|e| self.runtime(name, entered_id, &e.0))?;
                    if hit {
                        chosen = Some(c);
                        break;
                    }
                }
                let (next, assign_t) = match chosen {
                    Some(c) => (c.next.as_str(), c.assign.as_ref().or(state.assign.as_ref())),
                    None => match default {
                        Some(d) => (d.as_str(), state.assign.as_ref()),
                        None => {
                            return Err(Failure::new(
                                "States.NoChoiceMatched",
                                format!(
                                    "An error occurred while executing the state '{name}' (entered at the event id #{entered_id}). Failed to transition out of the state. The state does not point to a next state."
                                ),
                            ));
                        }
                    },
                };
                let assigned = match assign_t {
                    Some(a) => Some(self.assign(a, &effective, &env, name, entered_id)?),
                    None => None,
                };
                let out = select(&state.output_path, &effective)?;
                self.exited(fiber, st, name, &out, assigned.as_ref())?;
                if let Some(a) = &assigned {
                    Self::apply_assign(fiber, a);
                }
                Ok(Step::Next(next, out))
            }
            Kind::Wait(w) => {
                let effective = select(&state.input_path, &raw)?;
                let delay = self.wait_delay(w, &effective, &env, name, entered_id)?;
                if !delay.is_zero() {
                    let a = fiber.take_awake();
                    fiber.awake = self.clock.sleep(a, delay).await;
                }
                let assigned = match &state.assign {
                    Some(a) => Some(self.assign(a, &effective, &env, name, entered_id)?),
                    None => None,
                };
                let out = select(&state.output_path, &effective)?;
                self.exited(fiber, st, name, &out, assigned.as_ref())?;
                if let Some(a) = &assigned {
                    Self::apply_assign(fiber, a);
                }
                Ok(Self::transition(state, out))
            }
            Kind::Task(t) => {
                self.run_with_retry(
                    state,
                    &t.common,
                    Work::Task(t),
                    raw,
                    fiber,
                    entered_id,
                    entered_at,
                    &env,
                )
                .await
            }
            Kind::Parallel(p) => {
                self.run_with_retry(
                    state,
                    &p.common,
                    Work::Parallel(p),
                    raw,
                    fiber,
                    entered_id,
                    entered_at,
                    &env,
                )
                .await
            }
            Kind::Map(mp) => {
                self.run_with_retry(
                    state,
                    &mp.common,
                    Work::Map(mp),
                    raw,
                    fiber,
                    entered_id,
                    entered_at,
                    &env,
                )
                .await
            }
        }
    }

    /// One attempt at a Task, Parallel or Map state's work.
    #[allow(clippy::too_many_arguments)]
    async fn attempt(
        &self,
        state: &State,
        work: Work<'_>,
        eff: Value,
        fiber: &mut Fiber,
        entered_id: u64,
        entered_at: DateTime<Utc>,
        retry: u64,
    ) -> Result<Value, Failure> {
        let name = state.name.as_str();
        match work {
            Work::Task(t) => {
                self.task_attempt(state, t, eff, fiber, entered_id, entered_at, retry)
                    .await
            }
            Work::Parallel(p) => {
                let ctx = self.context(state, entered_at, None);
                let scope = fiber.scope.clone();
                let eff = self.apply_parameters(
                    &p.common.parameters,
                    eff,
                    &ctx,
                    &scope,
                    name,
                    entered_id,
                )?;
                self.parallel_attempt(p, eff, fiber).await
            }
            Work::Map(mp) => {
                self.map_attempt(state, mp, eff, fiber, entered_id, entered_at)
                    .await
            }
        }
    }

    fn wait_delay(
        &self,
        w: &Wait,
        input: &Value,
        env: &Env,
        name: &str,
        entered_id: u64,
    ) -> Result<Duration, Failure> {
        let until = |ts: DateTime<chrono::FixedOffset>| {
            let now = self.now();
            let t = ts.with_timezone(&Utc);
            if t > now {
                (t - now).to_std().unwrap_or_default()
            } else {
                Duration::ZERO
            }
        };
        match w {
            Wait::Seconds(s) => Ok(Duration::from_secs(*s)),
            Wait::Timestamp(t) => Ok(crate::timestamp::parse(t).map(until).unwrap_or_default()),
            Wait::SecondsPath(p) => {
                let v = data::resolve(p, input, env)
                    .map_err(|e| self.runtime(name, entered_id, &invalid_path(p, e)))?;
                match &v {
                    Value::Number(n) if n.as_i64().is_some() => {
                        let s = n.as_i64().unwrap_or(0);
                        if s < 0 {
                            Err(self.runtime(
                                name,
                                entered_id,
                                &format!("The SecondsPath parameter references a negative value: {} == {s}", p.text()),
                            ))
                        } else if s > 31_536_000 {
                            Err(self.runtime(name, entered_id, "Wait state delay is too long"))
                        } else {
                            Ok(Duration::from_secs(s as u64))
                        }
                    }
                    other => Err(self.runtime(
                        name,
                        entered_id,
                        &format!(
                            "The SecondsPath parameter cannot be parsed as a long value: {} == {}",
                            p.text(),
                            match other {
                                Value::String(s) => s.clone(),
                                o => text(o),
                            }
                        ),
                    )),
                }
            }
            Wait::TimestampPath(p) => {
                let v = data::resolve(p, input, env)
                    .map_err(|e| self.runtime(name, entered_id, &invalid_path(p, e)))?;
                let s = match &v {
                    Value::String(s) => s.clone(),
                    o => text(o),
                };
                match crate::timestamp::parse(&s) {
                    Some(ts) => Ok(until(ts)),
                    None => Err(self.runtime(
                        name,
                        entered_id,
                        &format!(
                            "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {} == {s}",
                            p.text()
                        ),
                    )),
                }
            }
        }
    }

    /// Runs Task/Parallel/Map work with InputPath/Parameters, Retry, Catch, ResultSelector,
    /// ResultPath, OutputPath and Assign around it.
    #[allow(clippy::too_many_arguments)]
    async fn run_with_retry<'m>(
        &self,
        state: &'m State,
        common: &'m Common,
        work: Work<'_>,
        raw: Value,
        fiber: &mut Fiber,
        entered_id: u64,
        entered_at: DateTime<Utc>,
        env: &Env<'_>,
    ) -> Result<Step<'m>, Failure> {
        let name = state.name.as_str();
        let st = state_type(&state.kind);
        let effective = data::select(&state.input_path, &raw, env)
            .map_err(|e| self.data_failure(name, entered_id, e));
        let mut counts = vec![0u64; common.retry.len()];
        let mut retries = 0u64;
        let outcome: Result<Value, Failure> = match effective {
            Err(f) => Err(f),
            Ok(effective) => loop {
                let r = self
                    .attempt(
                        state,
                        work,
                        effective.clone(),
                        fiber,
                        entered_id,
                        entered_at,
                        retries,
                    )
                    .await;
                // Parallel/Map work that started closes with its Failed event once no retry follows.
                let give_up = |fiber: &mut Fiber, f: Failure| -> Failure {
                    if let Some(ev) = fiber.failed_event.take()
                        && let Err(e) = self.emit(fiber, ev, None)
                    {
                        return e;
                    }
                    f
                };
                match r {
                    Ok(v) => {
                        fiber.failed_event = None;
                        break Ok(v);
                    }
                    Err(f) if f.fatal => {
                        fiber.failed_event = None;
                        break Err(f);
                    }
                    Err(f) => {
                        let Some(i) = common
                            .retry
                            .iter()
                            .position(|r| error_matches(&r.error_equals, f.name()))
                        else {
                            break Err(give_up(fiber, f));
                        };
                        let r = &common.retry[i];
                        if counts[i] >= r.max_attempts {
                            break Err(give_up(fiber, f));
                        }
                        fiber.failed_event = None;
                        let mut delay = r.interval_seconds as f64
                            * r.backoff_rate.powi(counts[i].min(i32::MAX as u64) as i32);
                        // AWS accepts any BackoffRate >= 1 and MaxAttempts up to 99999999, so
                        // the back-off can grow past any duration (or to infinity). It never
                        // exceeds MaxDelaySeconds, whose largest allowed value (31622400 s,
                        // 366 days) is also what we cap at without one: a Standard execution
                        // cannot last longer than a year anyway.
                        // https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
                        // https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html
                        let cap = r
                            .max_delay_seconds
                            .unwrap_or(crate::validate::MAX_DELAY_SECONDS)
                            as f64;
                        if delay.is_nan() || delay > cap {
                            delay = cap;
                        }
                        if r.jitter == Jitter::Full {
                            let u = self.rng.lock().map(|mut g| g.next_f64()).unwrap_or(0.5);
                            delay *= u;
                        }
                        counts[i] += 1;
                        retries += 1;
                        let a = fiber.take_awake();
                        let delay = Duration::try_from_secs_f64(delay).unwrap_or(Duration::ZERO);
                        fiber.awake = self.clock.sleep(a, delay).await;
                    }
                }
            },
        };
        match outcome {
            Ok(result) => {
                let post = (|| {
                    let result = match &common.result_selector {
                        None => result,
                        Some(sel) => {
                            let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
                            data::template(sel, &result, env, &mut rng)
                                .map_err(|e| self.data_failure(name, entered_id, e))?
                        }
                    };
                    let assigned = match &state.assign {
                        Some(a) => Some(self.assign(a, &result, env, name, entered_id)?),
                        None => None,
                    };
                    let merged = data::merge_result(&common.result_path, &raw, result)
                        .map_err(|e| self.data_failure(name, entered_id, e))?;
                    let out = data::select(&state.output_path, &merged, env)
                        .map_err(|e| self.data_failure(name, entered_id, e))?;
                    Ok::<_, Failure>((out, assigned))
                })();
                match post {
                    Ok((out, assigned)) => {
                        if text(&out).len() > MAX_PAYLOAD {
                            return self.catch(
                                state,
                                common,
                                raw,
                                fiber,
                                env,
                                entered_id,
                                Failure::new(
                                    "States.DataLimitExceeded",
                                    format!("The state/task '{name}' returned a result with a size exceeding the maximum number of bytes service limit."),
                                ),
                            );
                        }
                        self.exited(fiber, st, name, &out, assigned.as_ref())?;
                        if let Some(a) = &assigned {
                            Self::apply_assign(fiber, a);
                        }
                        Ok(Self::transition(state, out))
                    }
                    Err(f) => self.catch(state, common, raw, fiber, env, entered_id, f),
                }
            }
            Err(f) => self.catch(state, common, raw, fiber, env, entered_id, f),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn catch<'m>(
        &self,
        state: &'m State,
        common: &'m Common,
        raw: Value,
        fiber: &mut Fiber,
        env: &Env<'_>,
        entered_id: u64,
        f: Failure,
    ) -> Result<Step<'m>, Failure> {
        if f.fatal {
            return Err(f);
        }
        let Some(c) = common
            .catch
            .iter()
            .find(|c| error_matches(&c.error_equals, f.name()))
        else {
            return Err(f);
        };
        let name = state.name.as_str();
        let mut err_out = Map::new();
        err_out.insert("Error".into(), json!(f.error.clone().unwrap_or_default()));
        err_out.insert("Cause".into(), json!(f.cause.clone().unwrap_or_default()));
        let err_out = Value::Object(err_out);
        let assigned = match &c.assign {
            Some(a) => Some(self.assign(a, &err_out, env, name, entered_id)?),
            None => None,
        };
        let out = data::merge_result(&c.result_path, &raw, err_out)
            .map_err(|e| self.data_failure(name, entered_id, e))?;
        self.exited(
            fiber,
            state_type(&state.kind),
            name,
            &out,
            assigned.as_ref(),
        )?;
        if let Some(a) = &assigned {
            Self::apply_assign(fiber, a);
        }
        Ok(Step::Next(c.next.as_str(), out))
    }

    #[allow(clippy::too_many_arguments)]
    async fn task_attempt(
        &self,
        state: &State,
        t: &Task,
        input: Value,
        fiber: &mut Fiber,
        entered_id: u64,
        entered_at: DateTime<Utc>,
        retry: u64,
    ) -> Result<Value, Failure> {
        let name = state.name.as_str();
        let r = Resource::parse(&t.resource);
        let ctx = self.context(state, entered_at, Some(retry));
        let scope = fiber.scope.clone();
        let env = Env {
            context: &ctx,
            scope: &scope,
        };
        let seconds = |n: &Option<Number>, field: &str| -> Result<Option<u64>, Failure> {
            match n {
                None => Ok(None),
                Some(Number::Fixed(s)) => Ok(Some(*s)),
                Some(Number::Path(p)) => match data::resolve(p, &input, &env) {
                    Ok(Value::Number(n)) if n.as_u64().is_some_and(|v| v > 0) => Ok(n.as_u64()),
                    Ok(v) => Err(self.runtime(
                        name,
                        entered_id,
                        &format!("The {field}Path field refers to value \"{}\" which is not a valid positive integer: {}", text(&v), p.text()),
                    )),
                    Err(e) => Err(self.runtime(name, entered_id, &invalid_path(p, e))),
                },
            }
        };
        let timeout = seconds(&t.timeout, "TimeoutSeconds")?;
        let heartbeat = seconds(&t.heartbeat, "HeartbeatSeconds")?;
        let token = (r.pattern == Pattern::WaitForTaskToken).then(|| {
            let n = self.token_seq.fetch_add(1, Ordering::Relaxed);
            let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
            format!("{}-{n}", rng.uuid_v4())
        });
        // Parameters see the context object, with $$.Task.Token for callbacks.
        let mut tctx = ctx.clone();
        if let Some(tok) = &token {
            tctx["Task"] = json!({"Token": tok});
        }
        let input =
            self.apply_parameters(&t.common.parameters, input, &tctx, &scope, name, entered_id)?;
        let legacy = r.legacy_lambda;
        if legacy {
            let mut d = Details::new();
            d.insert("input", json!(text(&input)));
            d.insert("inputDetails", not_truncated());
            d.insert("resource", json!(r.arn));
            if let Some(s) = timeout {
                d.insert("timeoutInSeconds", json!(s));
            }
            self.emit(fiber, EventType::LambdaFunctionScheduled, Some(d))?;
            self.emit(fiber, EventType::LambdaFunctionStarted, None)?;
        } else {
            let mut d = Details::new();
            d.insert("resourceType", json!(r.resource_type));
            d.insert("resource", json!(r.resource));
            d.insert("region", json!(self.opts.region));
            d.insert("parameters", json!(text(&input)));
            if let Some(s) = timeout {
                d.insert("timeoutInSeconds", json!(s));
            }
            if let Some(s) = heartbeat {
                d.insert("heartbeatInSeconds", json!(s));
            }
            self.emit(fiber, EventType::TaskScheduled, Some(d))?;
            self.emit(
                fiber,
                EventType::TaskStarted,
                details(vec![
                    ("resourceType", json!(r.resource_type)),
                    ("resource", json!(r.resource)),
                ]),
            )?;
        }
        let outcome = self
            .invoke(&r, name, input, token, timeout, heartbeat, fiber, legacy)
            .await;
        let tail = |d: Vec<(&'static str, Value)>| {
            let mut d = d;
            if !legacy {
                d.insert(0, ("resource", json!(r.resource)));
                d.insert(0, ("resourceType", json!(r.resource_type)));
            }
            details(d)
        };
        match outcome {
            Ok(v) => {
                let out_text = text(&v);
                if out_text.len() > MAX_PAYLOAD {
                    let f = Failure::new(
                        "States.DataLimitExceeded",
                        format!(
                            "The state/task '{name}' returned a result with a size exceeding the maximum number of bytes service limit."
                        ),
                    );
                    let (kind, d) = if legacy {
                        (
                            EventType::LambdaFunctionFailed,
                            details(vec![("cause", json!(f.cause)), ("error", json!(f.error))]),
                        )
                    } else {
                        (
                            EventType::TaskFailed,
                            tail(vec![("cause", json!(f.cause)), ("error", json!(f.error))]),
                        )
                    };
                    self.emit(fiber, kind, d)?;
                    return Err(f);
                }
                let kind = if legacy {
                    EventType::LambdaFunctionSucceeded
                } else {
                    EventType::TaskSucceeded
                };
                self.emit(
                    fiber,
                    kind,
                    tail(vec![
                        ("output", json!(out_text)),
                        ("outputDetails", not_truncated()),
                    ]),
                )?;
                Ok(v)
            }
            Err(Attempt::TimedOut(error)) => {
                let kind = if legacy {
                    EventType::LambdaFunctionTimedOut
                } else {
                    EventType::TaskTimedOut
                };
                self.emit(fiber, kind, tail(vec![("error", json!(error))]))?;
                Err(Failure {
                    error: Some(error.to_string()),
                    cause: None,
                    fatal: false,
                })
            }
            Err(Attempt::Failed(f)) => {
                let mut d = Vec::new();
                if let Some(c) = &f.cause {
                    d.push(("cause", json!(c)));
                }
                d.push(("error", json!(f.error)));
                let kind = if legacy {
                    EventType::LambdaFunctionFailed
                } else {
                    EventType::TaskFailed
                };
                self.emit(fiber, kind, tail(d))?;
                Err(Failure::of_task(f))
            }
            Err(Attempt::Fatal(f)) => Err(f),
        }
    }

    fn apply_parameters(
        &self,
        p: &Option<Template>,
        input: Value,
        ctx: &Value,
        scope: &Scope,
        name: &str,
        entered_id: u64,
    ) -> Result<Value, Failure> {
        match p {
            None => Ok(input),
            Some(p) => {
                let env = Env {
                    context: ctx,
                    scope,
                };
                let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
                data::template(p, &input, &env, &mut rng)
                    .map_err(|e| self.data_failure(name, entered_id, e))
            }
        }
    }

    /// Runs a handler future under the task's deadline, lending it the fiber's Awake.
    async fn under_deadline<F>(
        &self,
        fut: F,
        slot: &Arc<Mutex<Option<Awake>>>,
        deadline: &mut Option<crate::clock::Timer>,
        fiber: &mut Fiber,
    ) -> Result<Result<Value, TaskFailure>, ()>
    where
        F: std::future::Future<Output = Result<Value, TaskFailure>>,
    {
        if let Ok(mut s) = slot.lock() {
            *s = Some(fiber.take_awake());
        }
        tokio::pin!(fut);
        let outcome = match deadline.as_mut() {
            None => Ok(fut.await),
            Some(d) => {
                tokio::select! {
                    r = &mut fut => Ok(r),
                    a = d => Err(a),
                }
            }
        };
        let lent = slot.lock().ok().and_then(|mut s| s.take());
        match outcome {
            Ok(r) => {
                let r = r.and_then(deep_result);
                fiber.awake = lent.unwrap_or_else(|| self.clock.acquire());
                Ok(r)
            }
            Err(a) => {
                // Timed out while the handler slept: the timer's Awake is ours now.
                drop(lent);
                fiber.awake = a;
                Err(())
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn invoke(
        &self,
        r: &Resource,
        name: &str,
        input: Value,
        token: Option<String>,
        timeout: Option<u64>,
        heartbeat: Option<u64>,
        fiber: &mut Fiber,
        legacy: bool,
    ) -> Result<Value, Attempt> {
        let Some(chosen) = self.registry.choose(name, r) else {
            let f = unregistered(r);
            if f.error == "States.Runtime" {
                return Err(Attempt::Fatal(Failure::new(
                    "States.Runtime",
                    f.cause.unwrap_or_default(),
                )));
            }
            return Err(Attempt::Failed(f));
        };
        let handler = chosen.handler;
        let call = TaskCall {
            resource: r.clone(),
            input,
            state_name: name.to_string(),
            execution_arn: self.opts.execution_arn(),
            task_token: token.clone(),
        };
        let slot = Arc::new(Mutex::new(None));
        let tctx = TaskContext {
            clock: self.clock.clone(),
            slot: slot.clone(),
        };
        // Register the token before the handler runs, so it can answer at once.
        let waiter = token.as_ref().map(|tok| {
            let (tx, rx) = oneshot::channel();
            let (hb_tx, hb_rx) = watch::channel(0u64);
            if let Ok(mut m) = self.handle.waiters.lock() {
                m.insert(
                    tok.clone(),
                    Waiter {
                        tx,
                        heartbeat: hb_tx,
                    },
                );
            }
            (rx, hb_rx)
        });
        let mut deadline = timeout.map(|s| self.clock.timer(Duration::from_secs(s)));
        let submitted = match self
            .under_deadline(
                handler.invoke(call.clone(), tctx.clone()),
                &slot,
                &mut deadline,
                fiber,
            )
            .await
        {
            Err(()) => {
                self.forget_token(&token);
                return Err(Attempt::TimedOut("States.Timeout"));
            }
            Ok(Err(f)) => {
                self.forget_token(&token);
                return Err(Attempt::Failed(f));
            }
            Ok(Ok(v)) => v,
        };
        if r.pattern == Pattern::RequestResponse || legacy || chosen.final_answer {
            self.forget_token(&token);
            return Ok(submitted);
        }
        let mut d = Details::new();
        d.insert("resourceType", json!(r.resource_type));
        d.insert("resource", json!(r.resource));
        d.insert("output", json!(text(&submitted)));
        d.insert("outputDetails", not_truncated());
        self.emit(fiber, EventType::TaskSubmitted, Some(d))
            .map_err(Attempt::Fatal)?;
        if r.pattern == Pattern::Sync {
            return match self
                .under_deadline(
                    handler.complete(submitted, call, tctx),
                    &slot,
                    &mut deadline,
                    fiber,
                )
                .await
            {
                Err(()) => Err(Attempt::TimedOut("States.Timeout")),
                Ok(Err(f)) => Err(Attempt::Failed(f)),
                Ok(Ok(v)) => Ok(v),
            };
        }
        let Some((mut rx, mut hb_rx)) = waiter else {
            return Ok(submitted);
        };
        // .waitForTaskToken: wait for the callback, under the timeout and heartbeat. The
        // heartbeat timer exists before the Awake is given up, so virtual time cannot skip it.
        let mut hb_timer = heartbeat.map(|s| self.clock.timer(Duration::from_secs(s)));
        drop(fiber.take_awake());
        loop {
            let hb_timer_now = hb_timer.take();
            let hb_fut = async {
                match hb_timer_now {
                    Some(t) => t.await,
                    None => std::future::pending().await,
                }
            };
            let total_fut = async {
                match deadline.as_mut() {
                    Some(t) => t.await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                r = &mut rx => {
                    return match r {
                        Ok((cb, awake)) => {
                            fiber.awake = awake;
                            match cb {
                                Callback::Success(v) => deep_result(v).map_err(Attempt::Failed),
                                Callback::Failure(f) => Err(Attempt::Failed(f)),
                            }
                        }
                        Err(_) => {
                            fiber.awake = self.clock.acquire();
                            Err(Attempt::Fatal(Failure::new("States.Runtime", "the task token was dropped")))
                        }
                    };
                }
                a = hb_fut => {
                    fiber.awake = a;
                    self.forget_token(&token);
                    return Err(Attempt::TimedOut("States.HeartbeatTimeout"));
                }
                a = total_fut => {
                    fiber.awake = a;
                    self.forget_token(&token);
                    return Err(Attempt::TimedOut("States.Timeout"));
                }
                changed = hb_rx.changed() => {
                    if changed.is_err() {
                        // The waiter was completed: the result is on `rx`.
                        continue;
                    }
                    hb_timer = heartbeat.map(|s| self.clock.timer(Duration::from_secs(s)));
                }
            }
        }
    }

    fn forget_token(&self, token: &Option<String>) {
        if let (Some(t), Ok(mut m)) = (token, self.handle.waiters.lock()) {
            m.remove(t);
        }
    }

    async fn parallel_attempt(
        &self,
        p: &Parallel,
        input: Value,
        fiber: &mut Fiber,
    ) -> Result<Value, Failure> {
        self.ledger.forget_inside(&fiber.here);
        self.emit(fiber, EventType::ParallelStateStarted, None)?;
        fiber.failed_event = Some(EventType::ParallelStateFailed);
        let started = fiber.last;
        // Each branch holds its own Awake; the last branch to finish (or the first to fail)
        // hands its Awake back to the parent, so virtual time never jumps in between.
        let remaining = AtomicU64::new(p.branches.len() as u64);
        let child_scope = Arc::new(fiber.scope.child());
        let here = fiber.here.clone();
        let futs = p.branches.iter().enumerate().map(|(bi, b)| {
            let mut bf = Fiber {
                awake: self.clock.acquire(),
                last: started,
                scope: child_scope.clone(),
                first: false,
                side: 0,
                history: None,
                failed_event: None,
                carry_text: None,
                path: format!("{here}[{bi}]/"),
                visits: HashMap::new(),
                here: String::new(),
            };
            let input = input.clone();
            let remaining = &remaining;
            async move {
                let r = self.run_machine(b, input, &mut bf).await;
                let last_one = remaining.fetch_sub(1, Ordering::AcqRel) == 1;
                let keep = (last_one || r.is_err()).then(|| bf.take_awake());
                match r {
                    Ok(v) => Ok((v, bf.last, keep)),
                    Err(f) => Err((f, bf.last, keep)),
                }
            }
        });
        let parent = fiber.take_awake();
        let mut joined = Box::pin(futures::future::try_join_all(futs));
        let results = match futures::poll!(joined.as_mut()) {
            std::task::Poll::Ready(r) => r,
            std::task::Poll::Pending => {
                drop(parent);
                joined.await
            }
        };
        let results = match results {
            Ok(outs) => {
                let mut vals = Vec::with_capacity(outs.len());
                for (v, l, keep) in outs {
                    fiber.last = fiber.last.max(l);
                    if let Some(a) = keep {
                        fiber.awake = a;
                    }
                    vals.push(v);
                }
                Ok(vals)
            }
            Err((f, l, keep)) => {
                fiber.last = fiber.last.max(l);
                if let Some(a) = keep {
                    fiber.awake = a;
                }
                Err(f)
            }
        };
        if fiber.awake.is_none() {
            fiber.awake = self.clock.acquire();
        }
        match results {
            Ok(outs) => {
                self.emit(fiber, EventType::ParallelStateSucceeded, None)?;
                Ok(Value::Array(outs))
            }
            Err(f) => Err(f),
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn map_attempt(
        &self,
        state: &State,
        mp: &MapState,
        input: Value,
        fiber: &mut Fiber,
        entered_id: u64,
        entered_at: DateTime<Utc>,
    ) -> Result<Value, Failure> {
        self.ledger.forget_inside(&fiber.here);
        let name = state.name.as_str();
        let ctx = self.context(state, entered_at, None);
        let scope = fiber.scope.clone();
        let env = Env {
            context: &ctx,
            scope: &scope,
        };
        let items = match &mp.items_path {
            None => input.clone(),
            Some(p) => data::resolve(p, &input, &env)
                .map_err(|e| self.runtime(name, entered_id, &invalid_path(p, e)))?,
        };
        let Value::Array(items) = items else {
            let path = mp
                .items_path
                .as_ref()
                .map(|p| p.text().to_string())
                .unwrap_or("$".into());
            return Err(self.runtime(
                name,
                entered_id,
                &format!("Reference path \"{path}\" must point to array."),
            ));
        };
        let int_field = |n: &Option<Number>,
                         field: &str,
                         negative_msg: &str|
         -> Result<Option<u64>, Failure> {
            match n {
                None => Ok(None),
                Some(Number::Fixed(v)) => Ok(Some(*v)),
                Some(Number::Path(p)) => {
                    let v = data::resolve(p, &input, &env)
                        .map_err(|e| self.runtime(name, entered_id, &invalid_path(p, e)))?;
                    let as_int = match &v {
                        Value::Number(n) => n.as_i64(),
                        Value::String(s) => s.trim().parse::<i64>().ok(),
                        _ => None,
                    };
                    match &v {
                        _ if as_int.is_some() => {
                            let i = as_int.unwrap_or(0);
                            if i < 0 {
                                Err(self.runtime(name, entered_id, negative_msg))
                            } else {
                                Ok(Some(i as u64))
                            }
                        }
                        other => Err(self.runtime(
                            name,
                            entered_id,
                            &format!(
                                "The {field}Path field refers to value \"{}\" which is not a valid integer: {}",
                                match other {
                                    Value::String(s) => s.clone(),
                                    o => text(o),
                                },
                                p.text()
                            ),
                        )),
                    }
                }
            }
        };
        let max_conc = int_field(
            &mp.max_concurrency,
            "MaxConcurrency",
            "MaxConcurrency cannot be negative.",
        )?
        .unwrap_or(0);
        self.emit(
            fiber,
            EventType::MapStateStarted,
            details(vec![("length", json!(items.len()))]),
        )?;
        fiber.failed_event = Some(EventType::MapStateFailed);
        let tol_count = int_field(
            &mp.tolerated_failure_count,
            "ToleratedFailureCount",
            "ToleratedFailureCount cannot be negative.",
        )?;
        let tol_pct = match &mp.tolerated_failure_percentage {
            None => None,
            Some(PercentSpec::Fixed(f)) => Some(*f),
            Some(PercentSpec::Path(p)) => {
                let v = data::resolve(p, &input, &env)
                    .map_err(|e| self.runtime(name, entered_id, &invalid_path(p, e)))?;
                let as_float = match &v {
                    Value::String(s) => s.trim().parse::<f64>().ok(),
                    other => other.as_f64(),
                };
                match as_float {
                    Some(f) if (0.0..=100.0).contains(&f) => Some(f),
                    Some(_) => {
                        return Err(self.runtime(
                            name,
                            entered_id,
                            "ToleratedFailurePercentage must be between 0 and 100.",
                        ));
                    }
                    None => {
                        return Err(self.runtime(
                            name,
                            entered_id,
                            &format!(
                                "The ToleratedFailurePercentagePath field refers to value \"{}\" which is not a valid float: {}",
                                match &v {
                                    Value::String(s) => s.clone(),
                                    o => text(o),
                                },
                                p.text()
                            ),
                        ));
                    }
                }
            }
        };
        // Items after ItemSelector.
        let mut inputs = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            match &mp.item_selector {
                None => inputs.push(item.clone()),
                Some(sel) => {
                    let mut c = ctx.clone();
                    c["Map"] = json!({"Item": {"Index": i, "Value": item}});
                    let e = Env {
                        context: &c,
                        scope: &scope,
                    };
                    let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
                    inputs.push(
                        data::template(sel, &input, &e, &mut rng)
                            .map_err(|e| self.data_failure(name, entered_id, e))?,
                    );
                }
            }
        }
        let n = inputs.len();
        let limit = if max_conc == 0 {
            n.max(1)
        } else {
            max_conc as usize
        };
        let tolerated = |failed: usize| -> bool {
            if failed == 0 {
                return true;
            }
            let by_count = tol_count.is_some_and(|c| failed as u64 <= c);
            let by_pct = tol_pct.is_some_and(|p| (failed as f64) * 100.0 / (n as f64) <= p);
            by_count || by_pct
        };
        let mut results: Vec<Value> = vec![Value::Null; n];
        let mut failed = 0usize;
        let mut first_failure: Option<Failure> = None;
        let distributed = mp.distributed.then(|| {
            let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
            format!(
                "arn:{}:states:{}:{}:mapRun:{}/{}:{}",
                self.opts.partition,
                self.opts.region,
                self.opts.account,
                self.opts.state_machine_name,
                mp.label.clone().unwrap_or_else(|| rng.uuid_v4()),
                rng.uuid_v4()
            )
        });
        let mut run_started = 0;
        if let Some(arn) = &distributed {
            run_started = self.emit(
                fiber,
                EventType::MapRunStarted,
                details(vec![("mapRunArn", json!(arn))]),
            )?;
        }
        // Distributed iterations are child executions: their events are not in this history.
        let child_history = distributed.as_ref().map(|_| History::default());
        let mut last = fiber.last;
        let mut side = 0u64;
        let started = fiber.last;
        if limit == 1 {
            // Sequential: each iteration follows the previous one's last event.
            let mut prev = started;
            for (i, item) in inputs.into_iter().enumerate() {
                let mut f = Fiber {
                    awake: fiber.take_awake(),
                    last: prev,
                    scope: Arc::new(scope.child()),
                    first: false,
                    side: 0,
                    history: child_history.clone(),
                    failed_event: None,
                    carry_text: None,
                    path: format!("{}#{i}/", fiber.here),
                    visits: HashMap::new(),
                    here: String::new(),
                };
                let r = self.iteration(mp, name, i, item, &mut f).await;
                fiber.awake = f.take_awake();
                prev = f.last;
                last = f.last;
                side = side.max(f.side);
                match r {
                    Ok(v) => results[i] = v,
                    Err(e) if e.fatal => return Err(e),
                    Err(e) => {
                        failed += 1;
                        if !tolerated(failed) {
                            fiber.last = if distributed.is_some() { started } else { last };
                            return Err(self.map_failed(
                                fiber,
                                &distributed,
                                first_failure.unwrap_or(e),
                            )?);
                        }
                        first_failure.get_or_insert(e);
                    }
                }
            }
        } else {
            let this = self;
            let child_scope = Arc::new(scope.child());
            let here = fiber.here.clone();
            let mut stream =
                futures::stream::iter(inputs.into_iter().enumerate().map(|(i, item)| {
                    let mut f = Fiber {
                        awake: this.clock.acquire(),
                        last: started,
                        scope: child_scope.clone(),
                        first: false,
                        side: 0,
                        history: child_history.clone(),
                        failed_event: None,
                        carry_text: None,
                        path: format!("{here}#{i}/"),
                        visits: HashMap::new(),
                        here: String::new(),
                    };
                    async move {
                        let r = this.iteration(mp, name, i, item, &mut f).await;
                        (i, r, f.last.max(f.side), f.take_awake())
                    }
                }))
                .buffer_unordered(limit);
            // Hold an Awake until the stream has started the next iterations, so virtual time
            // does not jump between one iteration ending and the next starting.
            let mut hold = Some(fiber.take_awake());
            let mut stop: Option<Failure> = None;
            loop {
                let mut next = stream.next();
                let item = match futures::poll!(&mut next) {
                    std::task::Poll::Ready(x) => x,
                    std::task::Poll::Pending => {
                        hold = None;
                        next.await
                    }
                };
                let Some((i, r, l, awake)) = item else { break };
                hold = Some(awake);
                last = last.max(l);
                match r {
                    Ok(v) => results[i] = v,
                    Err(e) if e.fatal => {
                        stop = Some(e);
                        break;
                    }
                    Err(e) => {
                        failed += 1;
                        if !tolerated(failed) {
                            stop = Some(first_failure.take().unwrap_or(e));
                            break;
                        }
                        first_failure.get_or_insert(e);
                    }
                }
            }
            drop(stream);
            fiber.awake = match hold.take() {
                Some(a) if !a.is_none() => a,
                _ => self.clock.acquire(),
            };
            if let Some(e) = stop {
                fiber.last = if distributed.is_some() { started } else { last };
                if e.fatal {
                    return Err(e);
                }
                return Err(self.map_failed(fiber, &distributed, e)?);
            }
        }
        if distributed.is_some() {
            fiber.last = started;
            self.emit(fiber, EventType::MapRunSucceeded, None)?;
            self.emit_side(fiber, EventType::MapStateSucceeded, None)?;
            // Since late 2024 AWS links MapStateExited to MapRunStarted (older recordings
            // link it to MapRunSucceeded; see CONFORMANCE.md).
            fiber.last = run_started;
        } else {
            // MapStateSucceeded and MapStateExited both follow the last iteration's event.
            fiber.last = last.max(side);
            self.emit_side(fiber, EventType::MapStateSucceeded, None)?;
        }
        Ok(Value::Array(results))
    }

    fn map_failed(
        &self,
        fiber: &mut Fiber,
        distributed: &Option<String>,
        e: Failure,
    ) -> Result<Failure, Failure> {
        if distributed.is_some() {
            self.emit(fiber, EventType::MapRunFailed, None)?;
            return Ok(Failure::new(
                "States.ExceedToleratedFailureThreshold",
                "The specified tolerated failure threshold was exceeded",
            ));
        }
        Ok(e)
    }

    async fn iteration(
        &self,
        mp: &MapState,
        name: &str,
        index: usize,
        item: Value,
        f: &mut Fiber,
    ) -> Result<Value, Failure> {
        let d = || details(vec![("index", json!(index)), ("name", json!(name))]);
        self.emit(f, EventType::MapIterationStarted, d())?;
        let r = self.run_machine(&mp.processor, item, f).await;
        match &r {
            Ok(_) => {
                f.side = self.emit_side(f, EventType::MapIterationSucceeded, d())?;
            }
            Err(e) if !e.fatal => {
                self.emit_side(f, EventType::MapIterationFailed, d())?;
            }
            Err(_) => {}
        }
        r
    }
}

/// AWS's message for a path that found nothing.
fn invalid_path(p: &crate::path::Path, e: data::ResolveError) -> String {
    match e {
        data::ResolveError::NoResults(m) => format!("Invalid path '{}' : {m}", p.text()),
        data::ResolveError::NoVariable(v) => {
            format!(
                "Invalid path '{}' : The variable '{v}' is not defined",
                p.text()
            )
        }
    }
}

/// The work of a state that has Retry and Catch.
#[derive(Clone, Copy)]
enum Work<'a> {
    Task(&'a Task),
    Parallel(&'a Parallel),
    Map(&'a MapState),
}

enum Attempt {
    TimedOut(&'static str),
    Failed(TaskFailure),
    Fatal(Failure),
}
