//! The report model on executions recorded against AWS Step Functions (tests/data, from the
//! conformance corpus): a Parallel retried and then caught, and a Parallel whose branch fails
//! the execution.

use report::{Meta, Status, build};
use serde_json::Value;

fn case(name: &str) -> (String, String) {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let history = serde_json::json!({ "events": v["expected"]["events"] }).to_string();
    (history, v["definition"].to_string())
}

fn status(r: &report::Report, state: &str) -> Status {
    r.states.iter().find(|s| s.name == state).unwrap().status
}

#[test]
fn a_parallel_retried_then_caught() {
    let (h, d) = case("parallel_catch_retry.json");
    let r = build(&h, &d, Meta::default()).unwrap();
    assert_eq!(r.summary.status, "SUCCEEDED");
    // ParallelState was started twice (its Retry), then the Catch took it to Fallback. The
    // recording leaves out its ParallelStateFailed events (ids 8 and 15 are missing), so the
    // report can tell the retry (a second ParallelStateStarted) but not the catch.
    let p = r.states.iter().find(|s| s.name == "ParallelState").unwrap();
    assert_eq!((p.status, p.runs, p.attempts), (Status::Retried, 1, 2));
    // The branch's Task failed, and was aborted with its branch, both times.
    assert_eq!(status(&r, "ExecuteLambdaTask"), Status::Failed);
    assert_eq!(
        r.states
            .iter()
            .find(|s| s.name == "ExecuteLambdaTask")
            .unwrap()
            .runs,
        2
    );
    assert_eq!(status(&r, "Fallback"), Status::Succeeded);
    assert_eq!(status(&r, "Finish"), Status::NotRun);
    // The Task's error and cause are in its details.
    let task = r
        .details
        .values()
        .find(|d| d.state == "ExecuteLambdaTask")
        .unwrap();
    assert_eq!(task.error.as_deref(), Some("Exception"));
    assert!(
        task.cause
            .as_deref()
            .unwrap()
            .contains("Some exception was raised.")
    );
    // Every state of the definition is in the graph, the Catch edge marked.
    for s in ["ParallelState", "ExecuteLambdaTask", "Fallback", "Finish"] {
        assert!(
            r.graph.nodes.iter().any(|n| n.state.as_deref() == Some(s)),
            "{s}"
        );
    }
    assert!(
        r.graph
            .edges
            .iter()
            .any(|e| e.style == "catch" && e.to == "Fallback")
    );
    let html = report::html::render(&r);
    assert!(html.contains("id=\"report-data\""));
}

#[test]
fn a_parallel_whose_branch_fails_is_caught() {
    let (h, d) = case("parallel_state_catch.json");
    let r = build(&h, &d, Meta::default()).unwrap();
    assert_eq!(r.summary.status, "SUCCEEDED");
    // ParallelStateFailed then ParallelStateExited: caught; the Catch's target ran.
    assert_eq!(status(&r, "ParallelState"), Status::Caught);
    assert_eq!(status(&r, "Branch1"), Status::Failed);
    assert_eq!(status(&r, "FinalCaught"), Status::Succeeded);
}

#[test]
fn a_failing_branch_fails_the_parallel_and_the_execution() {
    let (h, d) = case("parallel_state_fail.json");
    let r = build(&h, &d, Meta::default()).unwrap();
    assert_eq!(r.summary.status, "FAILED");
    assert_eq!(r.summary.error.as_deref(), Some("FailureType"));
    assert_eq!(status(&r, "Branch1"), Status::Failed);
    assert_eq!(status(&r, "ParallelState"), Status::Failed);
    let p = r
        .details
        .values()
        .find(|d| d.state == "ParallelState")
        .unwrap();
    assert_eq!(p.error.as_deref(), Some("FailureType"));
}

#[test]
fn bad_input_is_an_error() {
    let (h, d) = case("parallel_state_fail.json");
    assert!(build("{", &d, Meta::default()).is_err());
    assert!(build(&h, "{\"StartAt\": 1}", Meta::default()).is_err());
}

#[test]
fn a_history_fetched_while_the_execution_runs() {
    // The first events of a recorded execution, as GetExecutionHistory returns them while it
    // runs: the execution is RUNNING, the state it is in is running, the rest not run.
    let path = format!(
        "{}/tests/data/parallel_state_catch.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let events = v["expected"]["events"].as_array().unwrap();
    let upto = events
        .iter()
        .position(|e| e["type"] == "PassStateEntered" || e["type"] == "FailStateEntered")
        .unwrap();
    let h = serde_json::json!({ "events": events[..upto].to_vec() }).to_string();
    let r = build(&h, &v["definition"].to_string(), Meta::default()).unwrap();
    assert_eq!(r.summary.status, "RUNNING");
    assert_eq!(r.summary.stop, None);
    assert_eq!(status(&r, "ParallelState"), Status::Running);
    assert_eq!(status(&r, "FinalCaught"), Status::NotRun);
    let html = report::html::render(&r);
    assert!(html.contains("id=\"exec-status\">RUNNING<"), "{html}");
}

/// A child execution of a Distributed Map, in the shape `<name>.children.json` keeps.
fn child(map_run: &str, name: &str, item: &str, fail: bool) -> Value {
    let mut events = vec![serde_json::json!({"id": 1, "previousEventId": 0,
        "type": "ExecutionStarted", "executionStartedEventDetails": {"input": format!("\"{item}\"")}})];
    if fail {
        events.push(
            serde_json::json!({"id": 2, "previousEventId": 1, "type": "ExecutionFailed",
            "executionFailedEventDetails": {"error": "States.Runtime", "cause": "broken item"}}),
        );
    } else {
        events.push(
            serde_json::json!({"id": 2, "previousEventId": 1, "type": "PassStateEntered",
            "stateEnteredEventDetails": {"name": "IteratorInner", "input": format!("\"{item}\"")}}),
        );
        events.push(
            serde_json::json!({"id": 3, "previousEventId": 2, "type": "PassStateExited",
            "stateExitedEventDetails": {"name": "IteratorInner", "output": format!("\"{item}\"")}}),
        );
        events.push(
            serde_json::json!({"id": 4, "previousEventId": 3, "type": "ExecutionSucceeded",
            "executionSucceededEventDetails": {"output": format!("\"{item}\"")}}),
        );
    }
    serde_json::json!({"mapRunArn": map_run, "executionArn": format!("arn:x:{name}"), "name": name,
        "status": if fail { "FAILED" } else { "SUCCEEDED" }, "events": events})
}

#[test]
fn a_distributed_map_with_its_child_executions() {
    // The parent's history as AWS recorded it (a Distributed Map's iterations are child
    // executions: their events are not in it), and two children.
    let (h, d) = case("map_distributed.json");
    let alone = build(&h, &d, Meta::default()).unwrap();
    assert_eq!(status(&alone, "IteratorInner"), Status::NotRun);
    let events = report::history::parse(&h).unwrap();
    let arn = events
        .iter()
        .find(|e| e.kind == "MapRunStarted")
        .and_then(|e| e.detail("mapRunArn"))
        .unwrap()
        .to_string();
    let doc = Value::Array(vec![
        child(&arn, "c1", "Hello", false),
        child(&arn, "c2", "World", true),
        child("arn:other-map-run", "c3", "Elsewhere", false),
    ]);
    let children = report::history::parse_children(&doc.to_string()).unwrap();
    let r = build(
        &h,
        &d,
        Meta {
            children,
            ..Meta::default()
        },
    )
    .unwrap();
    let map = r.states.iter().find(|s| s.name == "MapState").unwrap();
    // The map run's children by status; c3 belongs to another map run.
    assert_eq!(
        map.children,
        [("FAILED".to_string(), 1), ("SUCCEEDED".to_string(), 1)].into()
    );
    assert_eq!(map.iterations, Some(2));
    // The item processor's state ran in the children (c2 failed before entering it).
    assert_eq!(status(&r, "IteratorInner"), Status::Succeeded);
    let inner = r.states.iter().find(|s| s.name == "IteratorInner").unwrap();
    assert_eq!(inner.runs, 2);
    assert!(
        r.details
            .values()
            .any(|d| d.execution.as_deref() == Some("c1") && d.state == "IteratorInner")
    );
    for bad in ["{", "{}", "[1]", "[{\"events\": [{}]}]"] {
        assert!(report::history::parse_children(bad).is_err(), "{bad}");
    }
}
