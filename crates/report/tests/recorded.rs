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
