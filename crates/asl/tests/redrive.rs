//! Redrive (RedriveExecution): a failed execution restarts from its unsuccessful states with
//! the same input; states that succeeded are not run again, only the failed Parallel branches
//! and Map iterations rerun, variables assigned before are there, the history goes on with
//! `ExecutionRedriven`, and `$$.Execution.RedriveCount` counts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use asl::{
    ExecutionResult, Executor, Options, Redrive, Registry, Status, TaskCall, TaskContext,
    TaskFailure, TaskHandler,
};
use async_trait::async_trait;
use serde_json::{Value, json};

/// Counts calls per input; fails an input's first call when the input says so.
#[derive(Default)]
struct Flaky {
    calls: Mutex<HashMap<String, u32>>,
}

impl Flaky {
    fn calls(&self, input: &Value) -> u32 {
        self.calls
            .lock()
            .unwrap()
            .get(&input.to_string())
            .copied()
            .unwrap_or(0)
    }
    fn total(&self) -> u32 {
        self.calls.lock().unwrap().values().sum()
    }
}

#[async_trait]
impl TaskHandler for Flaky {
    async fn invoke(&self, call: TaskCall, _ctx: TaskContext) -> Result<Value, TaskFailure> {
        let n = {
            let mut m = self.calls.lock().unwrap();
            let n = m.entry(call.input.to_string()).or_insert(0);
            *n += 1;
            *n
        };
        if (call.input["fail_first"] == json!(true) && n == 1)
            || call.input["fail_nth"].as_u64() == Some(u64::from(n))
        {
            return Err(TaskFailure::new("Job.Broken", "the script has a bug"));
        }
        Ok(json!({"done": call.input}))
    }
}

const RES: &str = "arn:aws:states:::lambda:invoke";

fn exec(def: Value, h: Arc<Flaky>) -> Executor {
    let mut reg = Registry::new();
    reg.register(RES, h);
    Executor::new(asl::validate(&def).expect("valid"), reg)
}

async fn redrive(
    e: &Executor,
    input: Value,
    prev: &ExecutionResult,
    count: u32,
) -> ExecutionResult {
    let opts = Options {
        redrive: Some(Redrive {
            count,
            checkpoint: prev.checkpoint.clone(),
            previous_events: prev.history.offset() + prev.history.len() as u64,
            started: prev.start,
        }),
        ..Options::default()
    };
    e.run(input, opts).await
}

fn types(r: &ExecutionResult) -> Vec<String> {
    r.history.events().iter().map(|e| e.kind.name()).collect()
}

#[tokio::test]
async fn a_failed_task_runs_again_and_the_ones_before_it_do_not() {
    let def = json!({"StartAt": "A", "States": {
        "A": {"Type": "Task", "Resource": RES, "Parameters": {"step": "a"},
              "Assign": {"x": 5}, "Next": "B"},
        "B": {"Type": "Task", "Resource": RES,
              "Parameters": {"step": "b", "fail_first": true, "x.$": "$x"}, "Next": "C"},
        "C": {"Type": "Pass", "Parameters": {"redrives.$": "$$.Execution.RedriveCount",
              "b.$": "$.done.x"}, "End": true}}});
    let h = Arc::new(Flaky::default());
    let e = exec(def, h.clone());
    let first = e.run(json!({}), Options::default()).await;
    assert_eq!(first.status, Status::Failed);
    assert_eq!(first.error.as_deref(), Some("Job.Broken"));
    let second = redrive(&e, json!({}), &first, 1).await;
    assert_eq!(second.status, Status::Succeeded, "{:?}", second.cause);
    assert_eq!(
        h.calls(&json!({"step": "a"})),
        1,
        "A succeeded before: not run again"
    );
    assert_eq!(
        h.calls(&json!({"step": "b", "fail_first": true, "x": 5})),
        2,
        "B ran again, with the variable A assigned"
    );
    assert_eq!(second.output, Some(json!({"redrives": 1, "b": 5})));
    // The history goes on: ExecutionRedriven follows the last event of the first attempt.
    let events = second.history.events();
    let n = first.history.len() as u64;
    assert_eq!(events[0].id, n + 1);
    assert_eq!(events[0].previous_event_id, n);
    let j = events[0].to_json();
    assert_eq!(j["type"], "ExecutionRedriven");
    assert_eq!(j["executionRedrivenEventDetails"]["redriveCount"], 1);
    let t = types(&second);
    assert!(!t.contains(&"ExecutionStarted".to_string()));
    assert_eq!(
        t.iter().filter(|t| *t == "TaskStateEntered").count(),
        1,
        "{t:?}"
    );
    // The checkpoint holds all three states now.
    assert_eq!(second.checkpoint.states.len(), 3, "{:?}", second.checkpoint);
}

#[tokio::test]
async fn only_the_failed_parallel_branch_and_map_iteration_run_again() {
    let def = json!({"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "Next": "M", "Branches": [
            {"StartAt": "Ok", "States": {"Ok": {"Type": "Task", "Resource": RES,
                "Parameters": {"branch": 0}, "End": true}}},
            {"StartAt": "Bad", "States": {"Bad": {"Type": "Task", "Resource": RES,
                "Parameters": {"branch": 1, "fail_first": true}, "End": true}}}]},
        "M": {"Type": "Map", "ItemsPath": "$$.Execution.Input.items", "MaxConcurrency": 2,
              "Iterator": {"StartAt": "I", "States": {"I": {"Type": "Task", "Resource": RES,
                  "End": true}}}, "End": true}}});
    let input = json!({"items": [{"i": 1}, {"i": 2, "fail_first": true}, {"i": 3}]});
    let h = Arc::new(Flaky::default());
    let e = exec(def, h.clone());
    let first = e.run(input.clone(), Options::default()).await;
    assert_eq!(first.status, Status::Failed);
    assert_eq!(h.calls(&json!({"branch": 0})), 1);
    let second = redrive(&e, input.clone(), &first, 1).await;
    // The Parallel succeeds now; the Map then fails once on item 2.
    assert_eq!(second.status, Status::Failed);
    assert_eq!(
        h.calls(&json!({"branch": 0})),
        1,
        "the branch that succeeded stays done"
    );
    assert_eq!(h.calls(&json!({"branch": 1, "fail_first": true})), 2);
    let third = redrive(&e, input, &second, 2).await;
    assert_eq!(third.status, Status::Succeeded, "{:?}", third.cause);
    assert_eq!(
        h.calls(&json!({"i": 1})),
        1,
        "iterations that succeeded are not rerun"
    );
    assert_eq!(h.calls(&json!({"i": 3})), 1);
    assert_eq!(h.calls(&json!({"i": 2, "fail_first": true})), 2);
    assert_eq!(h.total(), 1 + 2 + 1 + 2 + 1);
    let out = third.output.unwrap();
    assert_eq!(out.as_array().map(|a| a.len()), Some(3), "{out}");
    assert_eq!(
        third.history.events()[0].to_json()["executionRedrivenEventDetails"]["redriveCount"],
        2
    );
}

#[tokio::test]
async fn a_retried_parallel_forgets_what_its_earlier_attempt_did() {
    // Branches take turns, one state each. Attempt 1: branch 0 passes A and B while branch 1
    // passes C0 and fails at C. Attempt 2 (the Retry): A passes, B fails (its second call) and
    // stops the Parallel. A redrive must run B again, not skip it on attempt 1's success, and
    // skip A, which succeeded in the last attempt.
    let def = json!({"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "End": true,
              "Retry": [{"ErrorEquals": ["Job.Broken"], "MaxAttempts": 1, "IntervalSeconds": 1}],
              "Branches": [
            {"StartAt": "A", "States": {
                "A": {"Type": "Task", "Resource": RES, "Parameters": {"s": "a"}, "Next": "B"},
                "B": {"Type": "Task", "Resource": RES,
                      "Parameters": {"s": "b", "fail_nth": 2}, "End": true}}},
            {"StartAt": "C0", "States": {
                "C0": {"Type": "Pass", "Next": "C"},
                "C": {"Type": "Task", "Resource": RES,
                "Parameters": {"s": "c", "fail_first": true}, "End": true}}}]}}});
    let h = Arc::new(Flaky::default());
    let e = exec(def, h.clone());
    let first = e.run(json!({}), Options::default()).await;
    assert_eq!(first.status, Status::Failed);
    let keys: Vec<&String> = first.checkpoint.states.keys().collect();
    assert!(keys.iter().all(|k| !k.contains("\"B\"")), "{keys:?}");
    assert!(keys.iter().any(|k| k.contains("\"A\"")), "{keys:?}");
    let second = redrive(&e, json!({}), &first, 1).await;
    assert_eq!(second.status, Status::Succeeded, "{:?}", second.cause);
    assert_eq!(h.calls(&json!({"s": "a"})), 2);
    assert_eq!(h.calls(&json!({"s": "b", "fail_nth": 2})), 3);
    // C was stopped when B failed in the last attempt (a failed branch stops the others), so
    // it runs in the redrive unless it had finished.
    assert!(h.calls(&json!({"s": "c", "fail_first": true})) >= 2);
}
