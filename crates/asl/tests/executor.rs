//! Executor behaviour beyond the recorded corpus: task handlers and integration patterns,
//! callbacks through the handle, timeouts and heartbeats on the virtual clock, quotas.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use asl::{
    ExecutionResult, Executor, Handle, Mode, Options, Registry, Status, TaskCall, TaskContext,
    TaskFailure, TaskHandler,
};
use async_trait::async_trait;
use serde_json::{Value, json};

fn machine(def: Value) -> asl::model::StateMachine {
    asl::validate(&def).expect("valid definition")
}

/// How long a test waits for something the executor should do at once: a regression fails
/// the test with a message instead of hanging the suite.
const PATIENCE: Duration = Duration::from_secs(30);

/// Polls until `done` holds; panics, naming `what`, after [`PATIENCE`].
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !done() {
        assert!(
            t0.elapsed() < PATIENCE,
            "gave up after {PATIENCE:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The task token the execution waits for (there must be exactly one eventually).
async fn pending_token(handle: &Handle) -> String {
    let mut token = None;
    until("the execution to wait for a task token", || {
        token = handle.pending_tokens().pop();
        token.is_some()
    })
    .await;
    token.unwrap_or_default()
}

/// The result of a spawned execution, which must end within [`PATIENCE`].
async fn finished(run: tokio::task::JoinHandle<ExecutionResult>) -> ExecutionResult {
    tokio::time::timeout(PATIENCE, run)
        .await
        .unwrap_or_else(|_| panic!("the execution did not end within {PATIENCE:?}"))
        .expect("the execution's task panicked")
}

/// Echoes its input after an optional (virtual) delay; fails the first `fail_first` calls.
struct Echo {
    delay: u64,
    fail_first: u32,
    calls: AtomicU32,
}

#[async_trait]
impl TaskHandler for Echo {
    async fn invoke(&self, call: TaskCall, ctx: TaskContext) -> Result<Value, TaskFailure> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        if self.delay > 0 {
            ctx.sleep(Duration::from_secs(self.delay)).await;
        }
        if n < self.fail_first {
            return Err(TaskFailure::new("Job.Flaky", format!("attempt {n} failed")));
        }
        Ok(call.input)
    }
}

fn echo(delay: u64, fail_first: u32) -> Arc<Echo> {
    Arc::new(Echo {
        delay,
        fail_first,
        calls: AtomicU32::new(0),
    })
}

#[tokio::test]
async fn retries_back_off_on_the_virtual_clock() {
    let m = machine(json!({"StartAt": "T", "States": {"T": {"Type": "Task",
        "Resource": "arn:aws:states:::batch:submitJob.sync",
        "Retry": [{"ErrorEquals": ["Job.Flaky"], "IntervalSeconds": 600, "BackoffRate": 2.0, "MaxAttempts": 3}],
        "End": true}}}));
    let mut reg = Registry::new();
    let h = echo(0, 2);
    reg.register("arn:aws:states:::batch:submitJob", h.clone());
    let t0 = Instant::now();
    let r = Executor::new(m, reg)
        .run(json!({"x": 1}), Options::default())
        .await;
    assert_eq!(r.status, Status::Succeeded);
    assert_eq!(r.output, Some(json!({"x": 1})));
    assert_eq!(h.calls.load(Ordering::SeqCst), 3);
    // 600 s + 1200 s of back-off, simulated.
    assert_eq!((r.stop - r.start).num_seconds(), 1800);
    assert!(t0.elapsed() < Duration::from_secs(5));
    let types: Vec<String> = r.history.events().iter().map(|e| e.kind.name()).collect();
    assert_eq!(types.iter().filter(|t| *t == "TaskFailed").count(), 2);
    assert_eq!(types.iter().filter(|t| *t == "TaskSubmitted").count(), 1);
}

#[tokio::test]
async fn task_timeout_fires_before_a_slow_handler() {
    let m = machine(json!({"StartAt": "T", "States": {"T": {"Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke", "TimeoutSeconds": 5,
        "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.err", "Next": "Caught"}],
        "End": true}, "Caught": {"Type": "Pass", "End": true}}}));
    let mut reg = Registry::new();
    reg.register("arn:aws:states:::lambda:invoke", echo(60, 0));
    let r = Executor::new(m, reg)
        .run(json!({}), Options::default())
        .await;
    assert_eq!(r.status, Status::Succeeded);
    assert_eq!(r.output.unwrap()["err"]["Error"], "States.Timeout");
    assert_eq!((r.stop - r.start).num_seconds(), 5);
}

#[tokio::test]
async fn callbacks_through_the_handle() {
    let m = machine(
        json!({"StartAt": "Wait", "States": {"Wait": {"Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"token.$": "$$.Task.Token"}, "HeartbeatSeconds": 30, "End": true}}}),
    );
    let mut reg = Registry::new();
    reg.register("arn:aws:states:::sqs:sendMessage", echo(0, 0));
    let exec = Executor::new(m, reg);
    let (handle, fut) = exec.start(json!({}), Options::default());
    let run = tokio::spawn(fut);
    // Hold the clock while we work on the callback, as an external worker would.
    let busy = handle.busy();
    let token = pending_token(&handle).await;
    handle.send_task_heartbeat(&token).unwrap();
    handle
        .send_task_success(&token, json!({"done": true}))
        .unwrap();
    drop(busy);
    let r = finished(run).await;
    assert_eq!(r.status, Status::Succeeded);
    assert_eq!(r.output, Some(json!({"done": true})));
    assert!(handle.send_task_success(&token, json!({})).is_err());
}

#[tokio::test]
async fn a_token_nobody_answers_times_out_on_its_heartbeat() {
    let m = machine(
        json!({"StartAt": "Wait", "States": {"Wait": {"Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "HeartbeatSeconds": 30, "TimeoutSeconds": 3600, "End": true}}}),
    );
    let mut reg = Registry::new();
    reg.register("arn:aws:states:::sqs:sendMessage", echo(0, 0));
    let r = Executor::new(m, reg)
        .run(json!({}), Options::default())
        .await;
    assert_eq!(r.status, Status::Failed);
    assert_eq!(r.error.as_deref(), Some("States.HeartbeatTimeout"));
    assert_eq!((r.stop - r.start).num_seconds(), 30);
}

#[tokio::test]
async fn parallel_branches_wait_concurrently_in_virtual_time() {
    let m = machine(
        json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true,
        "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Wait", "Seconds": 100, "End": true}}},
            {"StartAt": "B", "States": {"B": {"Type": "Wait", "Seconds": 300, "End": true}}}
        ]}}}),
    );
    let r = Executor::new(m, Registry::new())
        .run(json!({}), Options::default())
        .await;
    assert_eq!(r.status, Status::Succeeded);
    // Concurrent, not 400 s.
    assert_eq!((r.stop - r.start).num_seconds(), 300);
}

#[tokio::test]
async fn real_time_waits_for_real() {
    let m = machine(
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": true}}}),
    );
    let t0 = Instant::now();
    let opts = Options {
        mode: Mode::Real,
        ..Options::default()
    };
    let r = Executor::new(m, Registry::new()).run(json!({}), opts).await;
    assert_eq!(r.status, Status::Succeeded);
    assert!(t0.elapsed() >= Duration::from_millis(950));
}

#[tokio::test]
async fn unregistered_resources_fail_as_aws_does() {
    let m = machine(json!({"StartAt": "T", "States": {"T": {"Type": "Task",
        "Resource": "arn:aws:lambda:us-east-1:123456789012:function:missing", "End": true}}}));
    let r = Executor::new(m, Registry::new())
        .run(json!({}), Options::default())
        .await;
    assert_eq!(r.status, Status::Failed);
    assert_eq!(r.error.as_deref(), Some("Lambda.ResourceNotFoundException"));
}

#[tokio::test]
async fn an_endless_loop_stops_at_the_history_limit() {
    let m = machine(json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "B"},
        "B": {"Type": "Choice", "Choices": [{"Variable": "$.stop", "IsPresent": true, "Next": "Done"}],
              "Default": "A"},
        "Done": {"Type": "Succeed"}}}));
    let r = Executor::new(m, Registry::new())
        .run(json!({}), Options::default())
        .await;
    assert_eq!(r.status, Status::Failed);
    assert_eq!(r.error.as_deref(), Some("States.Runtime"));
    assert!(r.cause.unwrap().contains("25000"));
    assert_eq!(r.history.len(), 25_001);
}

#[tokio::test]
async fn the_transition_cap_stops_a_loop_first() {
    let m = machine(json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "B"},
        "B": {"Type": "Choice", "Choices": [{"Variable": "$.stop", "IsPresent": true, "Next": "Done"}],
              "Default": "A"},
        "Done": {"Type": "Succeed"}}}));
    let opts = Options {
        max_transitions: 100,
        ..Options::default()
    };
    let r = Executor::new(m, Registry::new()).run(json!({}), opts).await;
    assert_eq!(r.status, Status::Failed);
    assert!(r.cause.unwrap().contains("100 state transitions"));
}

#[tokio::test]
async fn payloads_over_256_kib_fail_with_data_limit_exceeded() {
    let m = machine(json!({"StartAt": "T", "States": {"T": {"Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": true},
        "Caught": {"Type": "Pass", "End": true}}}));
    let mut reg = Registry::new();
    reg.register("arn:aws:states:::lambda:invoke", echo(0, 0));
    let big = "x".repeat(200_000);
    let r = Executor::new(m, reg)
        .run(json!({"a": big, "b": big}), Options::default())
        .await;
    // The input itself is over the limit: the execution fails at once.
    assert_eq!(r.status, Status::Failed);
    assert_eq!(r.error.as_deref(), Some("States.DataLimitExceeded"));
}

#[tokio::test]
async fn seeded_randomness_is_deterministic() {
    let def = json!({"StartAt": "R", "States": {"R": {"Type": "Pass", "End": true,
        "Parameters": {"u.$": "States.UUID()", "n.$": "States.MathRandom(1, 1000000)"}}}});
    let run = |seed| {
        let m = machine(def.clone());
        async move {
            let opts = Options {
                seed,
                ..Options::default()
            };
            Executor::new(m, Registry::new())
                .run(json!({}), opts)
                .await
                .output
        }
    };
    assert_eq!(run(7).await, run(7).await);
    assert_ne!(run(7).await, run(8).await);
}

/// Works (holding the clock, as real work does) until dropped; counts drops.
struct Forever {
    dropped: Arc<AtomicU32>,
}

struct CountDrop(Arc<AtomicU32>);
impl Drop for CountDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl TaskHandler for Forever {
    async fn invoke(&self, _call: TaskCall, _ctx: TaskContext) -> Result<Value, TaskFailure> {
        let _guard = CountDrop(self.dropped.clone());
        std::future::pending::<()>().await;
        Ok(json!(null))
    }
}

#[tokio::test]
async fn stop_execution_aborts_every_running_branch_and_closes_the_history() {
    for mode in [Mode::Virtual, Mode::Accelerated, Mode::Real] {
        let m = machine(json!({"StartAt": "P", "States": {"P": {"Type": "Parallel",
            "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke", "End": true}}},
                {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "Next": "B"},
                    "B": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                    "End": true}}},
                {"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items",
                    "Iterator": {"StartAt": "C", "States": {"C": {"Type": "Task",
                        "Resource": "arn:aws:states:::lambda:invoke", "End": true}}},
                    "End": true}}}
            ], "End": true}}}));
        let dropped = Arc::new(AtomicU32::new(0));
        let mut reg = Registry::new();
        reg.register(
            "arn:aws:states:::lambda:invoke",
            Arc::new(Forever {
                dropped: dropped.clone(),
            }),
        );
        let exec = Executor::new(m, reg);
        let opts = Options {
            mode,
            ..Options::default()
        };
        let (handle, fut) = exec.start(json!({"items": [1, 2, 3]}), opts);
        let run = tokio::spawn(fut);
        // Wait until the four tasks are running.
        until(&format!("{mode:?}: the four tasks to start"), || {
            handle
                .history()
                .events()
                .iter()
                .filter(|e| e.kind.name() == "TaskStarted")
                .count()
                >= 4
        })
        .await;
        handle.stop(Some("rsqlflow.Interrupted"), Some("SIGINT"));
        handle.stop(Some("second"), None);
        let r = finished(run).await;
        assert_eq!(r.status, Status::Aborted, "{mode:?}");
        assert_eq!(r.error.as_deref(), Some("rsqlflow.Interrupted"));
        assert_eq!(r.cause.as_deref(), Some("SIGINT"));
        let events = r.history.events();
        let last = events.last().unwrap();
        assert_eq!(last.kind.name(), "ExecutionAborted");
        let j = last.to_json();
        assert_eq!(
            j["executionAbortedEventDetails"]["error"],
            "rsqlflow.Interrupted"
        );
        assert_eq!(j["executionAbortedEventDetails"]["cause"], "SIGINT");
        assert_eq!(j["previousEventId"], json!(events[events.len() - 2].id));
        assert_eq!(
            dropped.load(Ordering::SeqCst),
            4,
            "{mode:?}: every handler dropped"
        );
        // After the end a stop changes nothing.
        handle.stop(Some("late"), None);
        assert_eq!(r.history.events().len(), events.len());
    }
}

/// The names of the states entered, in history order.
fn entered(r: &ExecutionResult) -> Vec<String> {
    r.history
        .events()
        .iter()
        .map(|e| e.to_json())
        .filter_map(|e| {
            e["stateEnteredEventDetails"]["name"]
                .as_str()
                .map(String::from)
        })
        .collect()
}

#[tokio::test]
async fn parallel_branches_take_turns_and_a_failing_branch_stops_a_longer_sibling() {
    // AWS runs branches concurrently
    // (https://docs.aws.amazon.com/step-functions/latest/dg/state-parallel.html: "the Parallel
    // state ... fails if any branch fails"; the other branches are stopped). Whatever the
    // order in the definition, the three-state sibling does not get to its end.
    let long = json!({"StartAt": "L1", "States": {
        "L1": {"Type": "Pass", "Next": "L2"},
        "L2": {"Type": "Pass", "Next": "L3"},
        "L3": {"Type": "Pass", "End": true}}});
    let failing = json!({"StartAt": "F0", "States": {
        "F0": {"Type": "Pass", "Next": "F1"},
        "F1": {"Type": "Fail", "Error": "Boom"}}});
    for branches in [json!([long, failing]), json!([failing, long])] {
        let def = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel",
            "Branches": branches, "End": true}}});
        let r = Executor::new(machine(def), Registry::new())
            .run(json!({}), Options::default())
            .await;
        assert_eq!(r.status, Status::Failed);
        assert_eq!(r.error.as_deref(), Some("Boom"));
        let names = entered(&r);
        assert!(names.contains(&"L1".to_string()), "{names:?}");
        assert!(!names.contains(&"L3".to_string()), "{names:?}");
    }
    // Succeeding branches interleave one state at a time, in branch order.
    let two = |p: &str| {
        json!({"StartAt": format!("{p}1"), "States": {
            format!("{p}1"): {"Type": "Pass", "Next": format!("{p}2")},
            format!("{p}2"): {"Type": "Pass", "End": true}}})
    };
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel",
        "Branches": [two("A"), two("B")], "End": true}}});
    let r = Executor::new(machine(def), Registry::new())
        .run(json!({}), Options::default())
        .await;
    assert_eq!(r.status, Status::Succeeded);
    assert_eq!(entered(&r), ["P", "A1", "B1", "A2", "B2"]);
}

#[tokio::test]
async fn map_iterations_take_turns_up_to_max_concurrency() {
    let def = |max: u64| {
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": max,
            "ItemProcessor": {"StartAt": "X", "States": {
                "X": {"Type": "Pass", "Next": "Y"},
                "Y": {"Type": "Pass", "End": true}}},
            "End": true}}})
    };
    let r = Executor::new(machine(def(0)), Registry::new())
        .run(json!([1, 2, 3]), Options::default())
        .await;
    assert_eq!(r.status, Status::Succeeded);
    assert_eq!(entered(&r), ["M", "X", "X", "X", "Y", "Y", "Y"]);
    let r = Executor::new(machine(def(1)), Registry::new())
        .run(json!([1, 2, 3]), Options::default())
        .await;
    assert_eq!(entered(&r), ["M", "X", "Y", "X", "Y", "X", "Y"]);
}
