//! Accelerated mode (what `rsqlflow run` uses): waits nobody is doing are skipped, but real
//! work counts against TimeoutSeconds and HeartbeatSeconds, as on AWS
//! (https://docs.aws.amazon.com/step-functions/latest/dg/state-task.html).

use std::sync::Arc;
use std::time::Duration;

use asl::{
    ExecutionResult, Executor, Mode, Options, Registry, Status, TaskCall, TaskContext, TaskFailure,
    TaskHandler,
};
use async_trait::async_trait;
use serde_json::{Value, json};

/// Works for `secs` of real time, holding the clock (it keeps the Awake the executor lent it).
struct Works {
    secs: u64,
}

#[async_trait]
impl TaskHandler for Works {
    async fn invoke(&self, call: TaskCall, _ctx: TaskContext) -> Result<Value, TaskFailure> {
        tokio::time::sleep(Duration::from_secs(self.secs)).await;
        Ok(call.input)
    }
}

/// Returns at once (a callback pattern then waits for the token).
struct Submit;

#[async_trait]
impl TaskHandler for Submit {
    async fn invoke(&self, call: TaskCall, _ctx: TaskContext) -> Result<Value, TaskFailure> {
        Ok(call.input)
    }
}

fn machine(def: Value) -> asl::model::StateMachine {
    asl::validate(&def).expect("valid definition")
}

async fn run(def: Value, reg: Registry, mode: Mode) -> ExecutionResult {
    let exec = Executor::new(machine(def), reg);
    let opts = Options {
        mode,
        ..Options::default()
    };
    tokio::time::timeout(Duration::from_secs(120), exec.run(json!({}), opts))
        .await
        .expect("hang guard")
}

fn working_task() -> (Value, Registry) {
    let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke", "TimeoutSeconds": 1, "End": true}}});
    let mut reg = Registry::new();
    reg.register(
        "arn:aws:states:::lambda:invoke",
        Arc::new(Works { secs: 2 }),
    );
    (def, reg)
}

#[tokio::test]
async fn real_work_past_timeout_seconds_times_out_in_accelerated_mode() {
    let (def, reg) = working_task();
    let r = run(def, reg, Mode::Accelerated).await;
    assert_eq!(r.status, Status::Failed);
    assert_eq!(r.error.as_deref(), Some("States.Timeout"));
    let types: Vec<String> = r.history.events().iter().map(|e| e.kind.name()).collect();
    assert!(types.contains(&"TaskTimedOut".to_string()), "{types:?}");
}

#[tokio::test]
async fn real_work_never_times_out_on_the_virtual_clock() {
    // Virtual time stands still while the handler works: unchanged, deterministic.
    let (def, reg) = working_task();
    let r = run(def, reg, Mode::Virtual).await;
    assert_eq!(r.status, Status::Succeeded);
    assert_eq!((r.stop - r.start).num_seconds(), 0);
}

#[tokio::test]
async fn a_long_wait_nobody_is_doing_is_skipped_in_accelerated_mode() {
    let def =
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}});
    // The hang guard (120 s) is far shorter than the wait.
    let r = run(def, Registry::new(), Mode::Accelerated).await;
    assert_eq!(r.status, Status::Succeeded);
    assert!((r.stop - r.start).num_seconds() >= 3600);
}

#[tokio::test]
async fn a_heartbeat_fires_in_real_time_while_a_worker_holds_the_clock() {
    let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "HeartbeatSeconds": 1, "TimeoutSeconds": 3600, "End": true}}});
    let mut reg = Registry::new();
    reg.register("arn:aws:states:::sqs:sendMessage", Arc::new(Submit));
    let exec = Executor::new(machine(def), reg);
    let opts = Options {
        mode: Mode::Accelerated,
        ..Options::default()
    };
    let (handle, fut) = exec.start(json!({}), opts);
    // A worker busy on the callback (as a running Batch job is): the heartbeat still fires.
    let busy = handle.busy();
    let r = tokio::time::timeout(Duration::from_secs(120), fut)
        .await
        .expect("hang guard");
    drop(busy);
    assert_eq!(r.status, Status::Failed);
    assert_eq!(r.error.as_deref(), Some("States.HeartbeatTimeout"));
}

#[tokio::test]
async fn a_wait_in_one_branch_fires_in_real_time_while_another_works() {
    // Branch A works for 2 s of real time; branch B's 1 s Wait is not skipped (someone is
    // awake) but fires in real time, before A is done.
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true,
    "Branches": [
        {"StartAt": "A", "States": {"A": {"Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke", "End": true}}},
        {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": true}}}
    ]}}});
    let mut reg = Registry::new();
    reg.register(
        "arn:aws:states:::lambda:invoke",
        Arc::new(Works { secs: 2 }),
    );
    let r = run(def, reg, Mode::Accelerated).await;
    assert_eq!(r.status, Status::Succeeded);
    let events = r.history.events();
    let pos = |name: &str| {
        events
            .iter()
            .position(|e| e.kind.name() == name)
            .unwrap_or_else(|| panic!("no {name}"))
    };
    assert!(pos("WaitStateExited") < pos("TaskSucceeded"));
}
