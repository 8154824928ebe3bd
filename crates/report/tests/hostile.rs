//! Histories written to hurt: many states the definition does not name, runs left open, links
//! that are not https. The report stays small, is built in linear time and keeps no link that
//! could run script in the page.

use std::time::Instant;

use serde_json::{Value, json};

const DEFINITION: &str = r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}"#;

fn event(id: u64, ty: &str, details: Option<(&str, Value)>) -> Value {
    let mut e = json!({
        "timestamp": 1_767_225_600.0 + id as f64 / 1000.0,
        "type": ty,
        "id": id,
        "previousEventId": id - 1,
    });
    if let Some((k, v)) = details {
        e[k] = v;
    }
    e
}

fn named(id: u64, ty: &str, name: &str) -> Value {
    let key = if ty.ends_with("Entered") {
        "stateEnteredEventDetails"
    } else {
        "stateExitedEventDetails"
    };
    event(id, ty, Some((key, json!({"name": name}))))
}

/// `n` states entered (each named differently), then `n` exits naming no open state.
fn open_runs(n: u64) -> String {
    let mut events = vec![event(1, "ExecutionStarted", None)];
    for k in 0..n {
        events.push(named(k + 2, "PassStateEntered", &format!("S{k}")));
    }
    for k in 0..n {
        events.push(named(n + k + 2, "PassStateExited", "nowhere"));
    }
    events.push(event(2 * n + 2, "ExecutionSucceeded", None));
    json!({ "events": events }).to_string()
}

#[test]
fn many_states_beyond_the_definition_stay_small_and_linear() {
    // 40,000 runs: the open runs and the states were each searched through for every event
    // (about 18 s for 32,000 in a debug build; now about a second).
    let h = open_runs(40_000);
    let started = Instant::now();
    let r = report::build(&h, DEFINITION, report::Meta::default()).unwrap();
    let html = report::html::render(&r);
    let took = started.elapsed();
    // The definition's state, then MAX_EXTRA_STATES of those only the history names.
    assert_eq!(r.states.len(), 1 + report::MAX_EXTRA_STATES);
    assert_eq!(r.omitted_states, 40_000 - report::MAX_EXTRA_STATES);
    assert!(r.rows.len() <= report::MAX_EXTRA_STATES + 1);
    assert!(html.contains("39900 more states named by the history"));
    assert!(html.len() < 300_000, "{} bytes", html.len());
    assert!(took.as_secs() < 20, "{took:?}");
    eprintln!("{} bytes in {took:?}", html.len());
}

#[test]
fn only_https_links_are_kept() {
    let h = open_runs(1);
    let bad = [
        "javascript:document.title='pwned'",
        " javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "http://example.com/",
        "//example.com/",
    ];
    let links = |good: &str| {
        bad.iter()
            .map(|u| ("bad".to_string(), u.to_string()))
            .chain([("good".to_string(), good.to_string())])
            .collect::<Vec<_>>()
    };
    let meta = report::Meta {
        links: links("https://eu-west-1.console.aws.amazon.com/states/home"),
        jobs: vec![report::Job {
            id: "j".into(),
            links: links("HTTPS://eu-west-1.console.aws.amazon.com/batch/home"),
            ..Default::default()
        }],
        ..Default::default()
    };
    let r = report::build(&h, DEFINITION, meta).unwrap();
    assert_eq!(r.links.len(), 1);
    assert_eq!(r.jobs[0].links.len(), 1);
    let html = report::html::render(&r);
    assert!(!html.contains("javascript:"), "a javascript: link is kept");
    assert!(!html.contains("example.com"));
}

#[test]
fn long_names_errors_causes_and_triggers_are_cut() {
    let big = "E".repeat(1_000_000);
    let name = "N".repeat(100_000);
    let events = vec![
        event(1, "ExecutionStarted", None),
        event(
            2,
            "TaskStateEntered",
            Some((
                "stateEnteredEventDetails",
                json!({"name": name, "input": big}),
            )),
        ),
        event(
            3,
            "TaskFailed",
            Some((
                "taskFailedEventDetails",
                json!({"error": big, "cause": big}),
            )),
        ),
        event(
            4,
            "ExecutionFailed",
            Some((
                "executionFailedEventDetails",
                json!({"error": big, "cause": big}),
            )),
        ),
    ];
    let h = json!({ "events": events }).to_string();
    let meta = report::Meta {
        trigger: Some(big.clone()),
        ..Default::default()
    };
    let r = report::build(&h, DEFINITION, meta).unwrap();
    let html = report::html::render(&r);
    // Each of them was written whole, several times: 58 MB from a 52 MB history.
    assert!(html.len() < 200_000, "{} bytes", html.len());
    let state = r.states.iter().find(|s| s.kind == "Task").unwrap();
    assert_eq!(state.name.chars().count(), report::model::MAX_NAME);
    assert_eq!(state.status, report::Status::Failed);
}
