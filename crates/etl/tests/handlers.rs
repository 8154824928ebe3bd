//! The handlers over recording service doubles: every typed error, malformed events, the
//! stale-token path, and what submit-job sends to Batch.

use std::sync::Mutex;

use async_trait::async_trait;
use etl::error::{ErrorKind, HandlerError, ServiceError};
use etl::handlers::{check_job, start_workflow, submit_job};
use etl::local::submissions::LocalSubmissions;
use etl::services::{Batch, JobDetail, JobStatus, Logs, NewJob, Started, StepFunctions};
use etl::settings::Settings;
use serde_json::{Value, json};

#[derive(Default)]
struct Sfn {
    calls: Mutex<Vec<Value>>,
    stale: bool,
}

#[async_trait]
impl StepFunctions for Sfn {
    async fn send_task_success(&self, token: &str, output: &Value) -> Result<(), ServiceError> {
        if self.stale {
            return Err(ServiceError::NotFound {
                service: "states",
                message: "TaskDoesNotExist".into(),
            });
        }
        self.calls
            .lock()
            .unwrap()
            .push(json!({"success": token, "output": output}));
        Ok(())
    }
    async fn send_task_failure(
        &self,
        token: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), ServiceError> {
        self.calls
            .lock()
            .unwrap()
            .push(json!({"failure": token, "error": error, "cause": cause}));
        Ok(())
    }
    async fn start_execution(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &Value,
    ) -> Result<Started, ServiceError> {
        self.calls
            .lock()
            .unwrap()
            .push(json!({"start": name, "input": input, "stateMachineArn": state_machine_arn}));
        Ok(Started::New {
            execution_arn: format!("arn:x:{name}"),
        })
    }
    async fn history(&self, _: &str) -> Result<Vec<Value>, ServiceError> {
        Ok(Vec::new())
    }
}

struct Tail;

#[async_trait]
impl Logs for Tail {
    async fn tail(&self, _: &str, n: usize) -> Result<Vec<String>, ServiceError> {
        let all: Vec<String> = (1..=30).map(|i| format!("line {i}")).collect();
        Ok(all[all.len().saturating_sub(n)..].to_vec())
    }
}

#[derive(Default)]
struct Jobs {
    submitted: Mutex<Vec<NewJob>>,
    throttle_first: Mutex<u32>,
}

#[async_trait]
impl Batch for Jobs {
    async fn submit(&self, job: NewJob) -> Result<String, ServiceError> {
        let mut t = self.throttle_first.lock().unwrap();
        if *t > 0 {
            *t -= 1;
            return Err(ServiceError::Transient {
                service: "batch",
                message: "TooManyRequestsException".into(),
            });
        }
        self.submitted.lock().unwrap().push(job);
        Ok("job-1".into())
    }
    async fn describe(&self, id: &str) -> Result<JobDetail, ServiceError> {
        Err(ServiceError::no_such_job(id))
    }
    async fn active_jobs_tagged(&self, _: &str, _: &str) -> Result<Vec<String>, ServiceError> {
        Ok(Vec::new())
    }
    async fn terminate(&self, _: &str, _: &str) -> Result<(), ServiceError> {
        Ok(())
    }
    async fn find_by_name(&self, _: &str) -> Result<Option<String>, ServiceError> {
        Ok(None)
    }
}

fn settings() -> Settings {
    Settings {
        scripts_bucket: "scripts".into(),
        job_queue: "q".into(),
        job_definition: "d".into(),
        ..Settings::default()
    }
}

fn job(
    status: &str,
    exit: Option<i32>,
    reason: Option<&str>,
    container_reason: Option<&str>,
) -> Value {
    let d = JobDetail {
        id: "j1".into(),
        name: "load-x".into(),
        queue: "q".into(),
        status: serde_json::from_value(json!(status)).unwrap(),
        status_reason: reason.map(String::from),
        exit_code: exit,
        container_reason: container_reason.map(String::from),
        log_stream: Some("rsqlflow/j1".into()),
        attempts: vec![],
        created_at: Some(1),
        runnable_at: None,
        started_at: Some(1000),
        stopped_at: Some(4000),
        parameters: [("taskToken".to_string(), "tok".to_string())].into(),
        tags: [("rsqlflow:job".to_string(), "load_x".to_string())].into(),
        timeout_seconds: Some(600),
    };
    etl::events::batch_job_event(&d, "us-east-1", "123456789012")
}

#[tokio::test]
async fn check_job_answers_with_results_and_typed_errors() {
    let s = settings();
    let cases = [
        (job("SUCCEEDED", Some(0), None, None), None),
        (
            job(
                "FAILED",
                Some(3),
                Some("Essential container in task exited"),
                None,
            ),
            Some(ErrorKind::ScriptFailed),
        ),
        (
            job(
                "FAILED",
                None,
                Some("Job attempt duration exceeded timeout"),
                None,
            ),
            Some(ErrorKind::JobTimedOut),
        ),
        (
            job(
                "FAILED",
                None,
                Some("Task failed to start"),
                Some("CannotPullContainerError: pull failed"),
            ),
            Some(ErrorKind::InfrastructureError),
        ),
        (
            job(
                "FAILED",
                None,
                Some("Host EC2 (instance i-1) terminated."),
                None,
            ),
            Some(ErrorKind::InfrastructureError),
        ),
        (
            job(
                "FAILED",
                None,
                Some("Essential container in task exited"),
                Some("CannotStartContainerError: bad entrypoint"),
            ),
            Some(ErrorKind::ContainerStartFailed),
        ),
    ];
    for (event, want) in cases {
        let sfn = Sfn::default();
        let out = check_job::handle(event, &s, &sfn, &Tail, &LocalSubmissions::new())
            .await
            .unwrap();
        assert!(out["answered"].is_string(), "{out}");
        let calls = sfn.calls.lock().unwrap();
        match want {
            None => {
                assert_eq!(calls[0]["success"], "tok");
                assert_eq!(calls[0]["output"]["job"], "load_x");
                assert_eq!(calls[0]["output"]["durationSeconds"], 3.0);
            }
            Some(kind) => {
                assert_eq!(calls[0]["error"], kind.name(), "{calls:?}");
                let cause: Value =
                    serde_json::from_str(calls[0]["cause"].as_str().unwrap()).unwrap();
                assert_eq!(cause["logTail"].as_array().unwrap().len(), 20);
                assert_eq!(cause["logTail"][19], "line 30");
                if kind == ErrorKind::ScriptFailed {
                    assert_eq!(cause["exitCode"], 3);
                    assert!(
                        cause["message"]
                            .as_str()
                            .unwrap()
                            .contains("exited with code 3")
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn check_job_acknowledges_late_events_and_refuses_malformed_ones() {
    let s = settings();
    let sfn = Sfn {
        stale: true,
        ..Sfn::default()
    };
    let out = check_job::handle(
        job("SUCCEEDED", Some(0), None, None),
        &s,
        &sfn,
        &Tail,
        &LocalSubmissions::new(),
    )
    .await
    .unwrap();
    assert_eq!(out["acknowledged"], "j1");
    // Not final: ignored.
    let out = check_job::handle(
        job("RUNNING", None, None, None),
        &s,
        &Sfn::default(),
        &Tail,
        &LocalSubmissions::new(),
    )
    .await
    .unwrap();
    assert!(out["ignored"].is_string());
    for bad in [
        json!({}),
        json!({"detail-type": "Scheduled Event"}),
        json!({"detail-type": "Batch Job State Change", "detail": {"status": "WEIRD"}}),
    ] {
        let e = check_job::handle(bad, &s, &Sfn::default(), &Tail, &LocalSubmissions::new())
            .await
            .unwrap_err();
        assert!(matches!(e, HandlerError::BadEvent(_)), "{e}");
    }
}

#[tokio::test]
async fn submit_job_validates_and_submits_with_the_token() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("scripts/tpch")).unwrap();
    std::fs::write(dir.path().join("scripts/tpch/load.rsql"), "select 1;").unwrap();
    let store = objects::LocalS3::new(dir.path());
    let s = settings();
    let batch = Jobs {
        throttle_first: Mutex::new(1),
        ..Jobs::default()
    };
    let req = json!({
        "job": {"name": "load", "script": "tpch/load.rsql", "variables": {"run_date": "2024-01-01"}},
        "taskToken": "tok-123",
        "executionArn": "arn:aws:states:us-east-1:1:execution:sm:run/1",
        "stateName": "Load Customer"
    });
    let out = submit_job::handle(req.clone(), &s, &batch, &LocalSubmissions::new(), &store)
        .await
        .unwrap();
    assert_eq!(out["jobId"], "job-1");
    let sent = batch.submitted.lock().unwrap().clone();
    assert_eq!(sent.len(), 1, "the throttled first try was retried");
    let j = &sent[0];
    assert_eq!(j.parameters["taskToken"], "tok-123");
    assert_eq!(
        j.environment["RSQLFLOW_SCRIPT"],
        "s3://scripts/tpch/load.rsql"
    );
    assert_eq!(
        j.environment["RSQLFLOW_VARIABLES"],
        r#"{"run_date":"2024-01-01"}"#
    );
    assert_eq!(
        j.tags["rsqlflow:execution"],
        "arn:aws:states:us-east-1:1:execution:sm:run/1"
    );
    assert!(
        j.name.starts_with("load-Load-Customer-run-1-"),
        "{}",
        j.name
    );

    for (patch, field) in [
        (json!({"name": "no spaces"}), "job.name"),
        (json!({"script": "tpch/missing.rsql"}), "job.script"),
        (
            json!({"variables": {"bad-name": "x"}}),
            "job.variables.bad-name",
        ),
        (json!({"timeoutSeconds": 5}), "job.timeoutSeconds"),
        (json!({"surprise": 1}), "unknown field"),
    ] {
        let mut r = req.clone();
        for (k, v) in patch.as_object().unwrap() {
            r["job"][k] = v.clone();
        }
        let e = submit_job::handle(r, &s, &batch, &LocalSubmissions::new(), &store)
            .await
            .unwrap_err();
        assert_eq!(e.error_type(), "Rsqlflow.InvalidJobSpec", "{e}");
        assert!(e.to_string().contains(field), "{e} should name {field}");
    }
}

#[tokio::test]
async fn start_workflow_routes_each_event_to_the_workflows_whose_routes_match() {
    let table = json!([
        {"name": "orders", "stateMachineArn": "arn:aws:states:us-east-1:1:stateMachine:st-orders",
         "s3": {"prefix": "incoming/orders/"}},
        {"name": "everything", "stateMachineArn": "arn:aws:states:us-east-1:1:stateMachine:st-all",
         "s3": {"prefix": "incoming/"}},
        {"name": "nightly", "stateMachineArn": "arn:aws:states:us-east-1:1:stateMachine:st-nightly",
         "schedule": "st-nightly"}
    ]);
    let s = Settings::from_lookup(|k| (k == "RSQLFLOW_ROUTES").then(|| table.to_string()));
    let sfn = Sfn::default();
    let both = start_workflow::handle(
        etl::events::s3_object_created("b", "incoming/orders/o_1.tbl.gz", 1, "e", "01"),
        &s,
        &sfn,
    )
    .await
    .unwrap();
    let routes: Vec<&str> = both["executions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["route"].as_str().unwrap())
        .collect();
    assert_eq!(routes, ["orders", "everything"], "{both}");
    let names: Vec<&str> = both["executions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(names[0].starts_with("orders-o_1-tbl-gz-"), "{names:?}");
    assert!(names[1].starts_with("everything-o_1-tbl-gz-"), "{names:?}");
    // The nightly schedule starts its workflow only; another schedule starts nothing.
    let nightly = start_workflow::handle(
        etl::events::scheduled_by(
            "2026-11-01T02:00:00Z",
            "arn:aws:scheduler:us-east-1:1:schedule/default/st-nightly",
        ),
        &s,
        &sfn,
    )
    .await
    .unwrap();
    assert_eq!(
        nightly["executions"][0]["name"],
        "nightly-2026-11-01T02-00-00Z"
    );
    let calls = sfn.calls.lock().unwrap().clone();
    assert_eq!(
        calls.last().unwrap()["stateMachineArn"],
        "arn:aws:states:us-east-1:1:stateMachine:st-nightly"
    );
    assert_eq!(
        calls.last().unwrap()["input"]["trigger"]["schedule"],
        "st-nightly"
    );
    let other = start_workflow::handle(etl::events::scheduled("2026-11-01T02:00:00Z"), &s, &sfn)
        .await
        .unwrap();
    assert!(
        other["ignored"]
            .as_str()
            .unwrap()
            .contains("matches no route (orders: keys \"incoming/orders/*\""),
        "{other}"
    );
    assert_eq!(sfn.calls.lock().unwrap().len(), 3);
    // A table that cannot be read fails every event, naming the variable and the route.
    let bad = Settings::from_lookup(|k| {
        (k == "RSQLFLOW_ROUTES").then(|| r#"[{"name": "x", "s3": {}}]"#.to_string())
    });
    let e = start_workflow::handle(etl::events::scheduled("2026-11-01T02:00:00Z"), &bad, &sfn)
        .await
        .unwrap_err();
    assert_eq!(e.error_type(), "Rsqlflow.BadConfiguration");
    assert!(
        e.to_string()
            .starts_with("RSQLFLOW_ROUTES: route 0: x: \"stateMachineArn\""),
        "{e}"
    );
}

#[tokio::test]
async fn start_workflow_filters_keys_and_names_executions_deterministically() {
    let s = Settings {
        routes: Ok(etl::routes::single(
            "arn:aws:states:us-east-1:1:stateMachine:sm",
            "incoming/",
            ".csv",
        )),
        ..settings()
    };
    let sfn = Sfn::default();
    let ev = etl::events::s3_object_created("b", "incoming/a.csv", 1, "e", "01");
    let a = start_workflow::handle(ev.clone(), &s, &sfn).await.unwrap();
    let b = start_workflow::handle(ev, &s, &sfn).await.unwrap();
    assert_eq!(a["executions"][0]["name"], b["executions"][0]["name"]);
    assert_eq!(a["executions"][0]["route"], "s3");
    let skipped = start_workflow::handle(
        etl::events::s3_object_created("b", "other/a.csv", 1, "e", "01"),
        &s,
        &sfn,
    )
    .await
    .unwrap();
    assert!(skipped["ignored"].is_string());
    let sched = start_workflow::handle(etl::events::scheduled("2024-05-01T06:00:00Z"), &s, &sfn)
        .await
        .unwrap();
    assert_eq!(
        sched["executions"][0]["name"],
        "schedule-2024-05-01T06-00-00Z"
    );
    // What job specs read from the input: the object's URI, the scheduled time and its date.
    let calls = sfn.calls.lock().unwrap().clone();
    assert_eq!(
        calls[0]["input"]["trigger"],
        json!({"type": "s3", "bucket": "b", "key": "incoming/a.csv", "uri": "s3://b/incoming/a.csv",
               "size": 1, "etag": "e", "sequencer": "01"})
    );
    assert_eq!(
        calls.last().unwrap()["input"]["trigger"],
        json!({"type": "schedule", "time": "2024-05-01T06:00:00Z", "run_date": "2024-05-01"})
    );
    let _ = JobStatus::Running;
}
