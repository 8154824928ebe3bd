//! `rsqlflow asl validate|exec` through the real binary.

mod support;

use std::path::Path;

use serde_json::{Value, json};

fn write(dir: &Path, name: &str, v: &str) {
    std::fs::write(dir.join(name), v).expect("write file");
}

fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let out = support::run(dir, &args, None);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

const ETL: &str = r#"{
  "Comment": "Load, with a retry on a throttled Batch API, then report",
  "StartAt": "Pause",
  "States": {
    "Pause": {"Type": "Wait", "Seconds": 3600, "Next": "Load"},
    "Load": {"Type": "Task", "Resource": "arn:aws:states:::batch:submitJob.sync",
      "Parameters": {"JobName.$": "States.Format('load-{}', $.date)"},
      "Retry": [{"ErrorEquals": ["Batch.AWSBatchException"], "IntervalSeconds": 60, "MaxAttempts": 3}],
      "ResultSelector": {"status.$": "$.Status"}, "ResultPath": "$.load", "Next": "Done"},
    "Done": {"Type": "Succeed"}
  }
}"#;

const MOCKS: &str = r#"{
  "StateMachines": {"etl": {"TestCases": {
    "Throttled": {"Load": "ThrottledTwice"},
    "Broken": {"Load": "AlwaysFails"}}}},
  "MockedResponses": {
    "ThrottledTwice": {"0-1": {"Throw": {"Error": "Batch.AWSBatchException", "Cause": "Too many requests"}},
                       "2": {"Return": {"Status": "SUCCEEDED"}}},
    "AlwaysFails": {"0": {"Throw": {"Error": "Job.Failed", "Cause": "exit code 3"}}}}
}"#;

#[test]
fn validate_reports_every_problem_with_its_location() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "good.json", ETL);
    write(
        dir.path(),
        "bad.yaml",
        "StartAt: A\nStates:\n  A:\n    Type: Pass\n    Next: Nowhere\n  B:\n    Type: Wait\n    End: true\n",
    );
    let (code, out, _) = run(dir.path(), &["asl", "validate", "good.json"]);
    assert_eq!(code, 0);
    assert_eq!(out.trim(), "good.json: valid");
    let (code, _, err) = run(dir.path(), &["asl", "validate", "bad.yaml"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("bad.yaml: /States/A/Next: 'Nowhere' is not a state"),
        "{err}"
    );
    assert!(
        err.contains("bad.yaml: /States/B: a Wait state needs exactly one of"),
        "{err}"
    );
    let (code, _, err) = run(dir.path(), &["asl", "validate", "missing.json"]);
    assert_eq!(code, 1);
    assert!(err.contains("missing.json"), "{err}");
}

#[test]
fn jsonata_machines_validate_and_run() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "j.json",
        r#"{"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Pass", "Assign": {"n": "{% $states.input.n %}"}, "Output": "{% {'sum': $states.input.n + 1, 'range': $range(0, 6, 2)} %}", "End": true}}}"#,
    );
    let (code, out, err) = run(dir.path(), &["asl", "validate", "j.json"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = run(
        dir.path(),
        &["asl", "exec", "j.json", "--input", r#"{"n": 41}"#],
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v, serde_json::json!({"sum": 42, "range": [0, 2, 4, 6]}));
    // An expression that does not parse is a validation problem at its field.
    write(
        dir.path(),
        "bad.json",
        r#"{"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Pass", "Output": {"x": "{% 1 + %}"}, "End": true}}}"#,
    );
    let (code, _, err) = run(dir.path(), &["asl", "validate", "bad.json"]);
    assert_eq!(code, 1);
    assert!(err.contains("/States/A/Output/x"), "{err}");
    // A value an expression cannot give fails the execution with States.QueryEvaluationError.
    let (code, _, err) = run(dir.path(), &["asl", "exec", "j.json", "--input", "{}"]);
    assert_eq!(code, 1);
    assert!(err.contains("States.QueryEvaluationError"), "{err}");
}

#[test]
fn distributed_maps_read_local_s3_and_executor_limits_are_not_definition_errors() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("s3/data/in");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("rows.csv"), "id,name\n1,a\n2,b\n").unwrap();
    write(
        dir.path(),
        "d.json",
        r#"{"StartAt": "M", "States": {"M": {"Type": "Map", "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"}, "Parameters": {"Bucket": "data", "Key.$": "$.key"}}, "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "End": true}}}"#,
    );
    let (code, out, err) = run(
        dir.path(),
        &[
            "asl",
            "exec",
            "d.json",
            "--s3-root",
            "s3",
            "--input",
            r#"{"key": "in/rows.csv"}"#,
        ],
    );
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        v,
        json!([{"id": "1", "name": "a"}, {"id": "2", "name": "b"}])
    );
    // Parquet: valid for AWS (validate says so, with a note), refused by exec by field and state.
    write(
        dir.path(),
        "pq.json",
        r#"{"StartAt": "M", "States": {"M": {"Type": "Map", "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "PARQUET"}, "Parameters": {"Bucket": "data", "Key": "x.parquet"}}, "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "End": true}}}"#,
    );
    let (code, out, err) = run(dir.path(), &["asl", "validate", "pq.json"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("pq.json: valid"), "{out}");
    assert!(
        err.contains("note: not supported by the local executor yet: ItemReader.ReaderConfig.InputType PARQUET at /States/M"),
        "{err}"
    );
    let (code, out, err) = run(dir.path(), &["asl", "exec", "pq.json"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        err.contains("pq.json: not supported by the local executor yet: ItemReader.ReaderConfig.InputType PARQUET at /States/M"),
        "{err}"
    );
}

#[test]
fn exec_with_mocks_virtual_time_and_history() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "etl.json", ETL);
    write(dir.path(), "mocks.json", MOCKS);
    write(dir.path(), "input.json", r#"{"date": "2024-01-01"}"#);
    let started = std::time::Instant::now();
    let (code, out, err) = run(
        dir.path(),
        &[
            "asl",
            "exec",
            "etl.json",
            "--input",
            "@input.json",
            "--mocks",
            "mocks.json",
            "--test-case",
            "Throttled",
            "--history",
            "history.json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        started.elapsed().as_secs() < 30,
        "virtual time must not sleep"
    );
    let output: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        output,
        json!({"date": "2024-01-01", "load": {"status": "SUCCEEDED"}})
    );
    let history: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("history.json")).unwrap())
            .unwrap();
    let events = history["events"].as_array().unwrap();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types.iter().filter(|t| **t == "TaskFailed").count(), 2);
    assert_eq!(types.first(), Some(&"ExecutionStarted"));
    assert_eq!(types.last(), Some(&"ExecutionSucceeded"));
    let scheduled = events
        .iter()
        .find(|e| e["type"] == "TaskScheduled")
        .unwrap();
    let params: Value = serde_json::from_str(
        scheduled["taskScheduledEventDetails"]["parameters"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(params, json!({"JobName": "load-2024-01-01"}));
    // An hour of Wait, then 60 s and 120 s of back-off, on the recorded timestamps.
    let ts = |e: &Value| chrono_like_seconds(e["timestamp"].as_str().unwrap());
    assert_eq!(ts(events.last().unwrap()) - ts(&events[0]), 3600 + 60 + 120);
}

/// Seconds since midnight plus days, enough to diff two history timestamps.
fn chrono_like_seconds(t: &str) -> i64 {
    let (date, time) = t.split_once('T').unwrap();
    let day: i64 = date[8..10].parse().unwrap();
    let h: i64 = time[0..2].parse().unwrap();
    let m: i64 = time[3..5].parse().unwrap();
    let s: i64 = time[6..8].parse().unwrap();
    ((day * 24 + h) * 60 + m) * 60 + s
}

#[test]
fn a_failed_execution_exits_1_with_error_and_cause() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "etl.json", ETL);
    write(dir.path(), "mocks.json", MOCKS);
    let (code, out, err) = run(
        dir.path(),
        &[
            "asl",
            "exec",
            "etl.json",
            "--input",
            r#"{"date": "d"}"#,
            "--mocks",
            "mocks.json",
            "--test-case",
            "Broken",
        ],
    );
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(err.contains("execution FAILED"), "{err}");
    assert!(err.contains("error: Job.Failed"), "{err}");
    assert!(err.contains("cause: exit code 3"), "{err}");
}

#[test]
fn bad_input_and_unknown_test_cases_are_named() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "etl.json", ETL);
    write(dir.path(), "mocks.json", MOCKS);
    let (code, _, err) = run(dir.path(), &["asl", "exec", "etl.json", "--input", "{nope"]);
    assert_eq!(code, 1);
    assert!(err.contains("--input is not valid JSON"), "{err}");
    let (code, _, err) = run(
        dir.path(),
        &[
            "asl",
            "exec",
            "etl.json",
            "--mocks",
            "mocks.json",
            "--test-case",
            "Nope",
        ],
    );
    assert_eq!(code, 1);
    assert!(err.contains("no test case named 'Nope'"), "{err}");
    assert!(err.contains("Throttled"), "{err}");
    // Without a handler or mock, the Task fails as an unknown resource.
    let (code, _, err) = run(
        dir.path(),
        &["asl", "exec", "etl.json", "--input", r#"{"date": "d"}"#],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("No handler is registered for the resource"),
        "{err}"
    );
}
