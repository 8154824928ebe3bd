//! The AWS implementations and the handlers over them, with the real SDK clients answered by
//! aws-smithy-mocks: error responses go through the SDK's own deserializers, so these check
//! how AWS's wire errors map to the handlers' typed outcomes (throttling and 5xx transient and
//! retried, stale tokens acknowledged, ExecutionAlreadyExists a success) and what each request
//! carries.

use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::RetryConfig;
use etl::aws::batch::AwsBatch;
use etl::aws::logs::AwsLogs;
use etl::aws::sfn::AwsStepFunctions;
use etl::aws::sns::AwsSns;
use etl::error::ServiceError;
use etl::events::ExecutionChange;
use etl::handlers::{check_job, notify, start_workflow, submit_job};
use etl::local::submissions::LocalSubmissions;
use etl::services::{Batch, JobDetail, JobStatus, Logs, Notification, Notifier, StepFunctions};
use etl::settings::Settings;
use serde_json::{Value, json};

/// An AWS JSON-protocol error response (Step Functions, CloudWatch Logs, Batch).
fn json_error(status: u16, code: &str, message: &str) -> HttpResponse {
    let mut r = HttpResponse::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(json!({"__type": code, "message": message}).to_string()),
    );
    r.headers_mut().insert("x-amzn-errortype", code.to_string());
    r.headers_mut()
        .insert("content-type", "application/x-amz-json-1.0".to_string());
    r
}

/// An AWS query-protocol (XML) error response (SNS).
fn xml_error(status: u16, code: &str, message: &str) -> HttpResponse {
    HttpResponse::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(format!(
            "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>r</RequestId></ErrorResponse>"
        )),
    )
}

const SM_ARN: &str = "arn:aws:states:eu-west-1:123456789012:stateMachine:rsql-etl";

fn settings() -> Settings {
    Settings {
        region: "eu-west-1".into(),
        account: "123456789012".into(),
        job_queue: "rsqlflow-queue".into(),
        job_definition: "rsqlflow-def".into(),
        scripts_bucket: "scripts".into(),
        topic_arn: "arn:aws:sns:eu-west-1:123456789012:rsqlflow".into(),
        routes: Ok(etl::routes::single(SM_ARN, "", "")),
        workflow: "rsql-etl".into(),
        send_success_notifications: true,
        console: "https://eu-west-1.console.aws.amazon.com".into(),
        ..Settings::default()
    }
}

macro_rules! client {
    ($krate:ident, $rules:expr) => {
        mock_client!($krate, RuleMode::MatchAny, $rules, |c| c
            .retry_config(RetryConfig::disabled()))
    };
}

fn sfn(rules: &[&Rule]) -> AwsStepFunctions {
    AwsStepFunctions::new(client!(aws_sdk_sfn, rules))
}

fn finished_job(status: &str, exit: i32) -> Value {
    let d = JobDetail {
        id: "job-1".into(),
        name: "rsql-etl-x".into(),
        queue: "rsqlflow-queue".into(),
        status: serde_json::from_value(json!(status)).unwrap(),
        status_reason: Some("Essential container in task exited".into()),
        exit_code: Some(exit),
        container_reason: None,
        log_stream: Some("rsql/default/abc".into()),
        attempts: vec![],
        created_at: Some(1),
        runnable_at: None,
        started_at: Some(1_000),
        stopped_at: Some(61_000),
        parameters: [("taskToken".to_string(), "tok-1".to_string())].into(),
        tags: [("rsqlflow:job".to_string(), "customer_merge".to_string())].into(),
        timeout_seconds: None,
    };
    etl::events::batch_job_event(&d, "eu-west-1", "123456789012")
}

#[tokio::test]
async fn stale_task_tokens_are_not_found_and_check_job_acknowledges_them() {
    for code in ["TaskDoesNotExist", "TaskTimedOut", "InvalidToken"] {
        let rule = mock!(aws_sdk_sfn::Client::send_task_success)
            .then_http_response(move || json_error(400, code, "Task does not exist anymore"));
        let sfn = sfn(&[&rule]);
        let err = sfn
            .send_task_success("tok-1", &json!({}))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, ServiceError::NotFound { service: "states", message } if message.starts_with(code)),
            "{code}: {err:?}"
        );
        let logs = AwsLogs::new(client!(aws_sdk_cloudwatchlogs, &[] as &[&Rule]), "g");
        let out = check_job::handle(
            finished_job("SUCCEEDED", 0),
            &settings(),
            &sfn,
            &logs,
            &LocalSubmissions::new(),
        )
        .await
        .expect("a stale token is acknowledged, not raised");
        assert_eq!(out["acknowledged"], "job-1", "{code}: {out}");
        assert_eq!(rule.num_calls(), 2, "{code}: not retried");
    }
}

#[tokio::test]
async fn throttling_and_5xx_are_transient_and_the_handler_retries_them() {
    let rule = mock!(aws_sdk_sfn::Client::send_task_failure)
        .sequence()
        .http_response(|| json_error(400, "ThrottlingException", "Rate exceeded"))
        .http_response(|| json_error(503, "ServiceUnavailable", "try again"))
        .output(|| {
            aws_sdk_sfn::operation::send_task_failure::SendTaskFailureOutput::builder().build()
        })
        .build();
    let logs_rule = mock!(aws_sdk_cloudwatchlogs::Client::get_log_events)
        .match_requests(|r| {
            r.log_group_name() == Some("/aws/batch/rsqlflow")
                && r.log_stream_name() == Some("rsql/default/abc")
        })
        .then_output(|| {
            aws_sdk_cloudwatchlogs::operation::get_log_events::GetLogEventsOutput::builder()
                .events(
                    aws_sdk_cloudwatchlogs::types::OutputLogEvent::builder()
                        .message("ERROR: relation \"customer\" does not exist\n")
                        .build(),
                )
                .build()
        });
    let sfn = sfn(&[&rule]);
    let logs = AwsLogs::new(
        client!(aws_sdk_cloudwatchlogs, &[&logs_rule]),
        "/aws/batch/rsqlflow",
    );
    let out = check_job::handle(
        finished_job("FAILED", 4),
        &settings(),
        &sfn,
        &logs,
        &LocalSubmissions::new(),
    )
    .await
    .expect("answered after two transient errors");
    assert_eq!(out["answered"], "job-1", "{out}");
    assert_eq!(rule.num_calls(), 3);
    assert_eq!(logs_rule.num_calls(), 1);

    // Each one alone maps to Transient; a validation error is Rejected and not retried.
    for (status, code) in [
        (400, "ThrottlingException"),
        (500, "InternalFailure"),
        (502, "Whatever"),
    ] {
        let r = mock!(aws_sdk_sfn::Client::send_task_success)
            .then_http_response(move || json_error(status, code, "x"));
        let e = sfn_call(&r).await;
        assert!(
            matches!(e, ServiceError::Transient { .. }),
            "{status} {code}: {e:?}"
        );
    }
    let r = mock!(aws_sdk_sfn::Client::send_task_success)
        .then_http_response(|| json_error(400, "ValidationException", "output is not JSON"));
    let e = sfn_call(&r).await;
    assert!(
        matches!(&e, ServiceError::Rejected { message, .. } if message == "ValidationException: output is not JSON"),
        "{e:?}"
    );
}

async fn sfn_call(rule: &Rule) -> ServiceError {
    sfn(&[rule])
        .send_task_success("t", &json!({}))
        .await
        .unwrap_err()
}

#[tokio::test]
async fn a_script_failure_goes_to_step_functions_with_the_error_name_and_log_tail() {
    let rule = mock!(aws_sdk_sfn::Client::send_task_failure)
        .match_requests(|r| {
            r.task_token() == Some("tok-1")
                && r.error() == Some("Rsqlflow.ScriptFailed")
                && r.cause().is_some_and(|c| {
                    c.contains("exited with code 4") && c.contains("does not exist")
                })
        })
        .then_output(|| {
            aws_sdk_sfn::operation::send_task_failure::SendTaskFailureOutput::builder().build()
        });
    let logs_rule = mock!(aws_sdk_cloudwatchlogs::Client::get_log_events).then_output(|| {
        aws_sdk_cloudwatchlogs::operation::get_log_events::GetLogEventsOutput::builder()
            .events(
                aws_sdk_cloudwatchlogs::types::OutputLogEvent::builder()
                    .message("ERROR: relation \"customer\" does not exist")
                    .build(),
            )
            .build()
    });
    let sfn = sfn(&[&rule]);
    let logs = AwsLogs::new(client!(aws_sdk_cloudwatchlogs, &[&logs_rule]), "g");
    let out = check_job::handle(
        finished_job("FAILED", 4),
        &settings(),
        &sfn,
        &logs,
        &LocalSubmissions::new(),
    )
    .await
    .unwrap();
    assert_eq!(out["answered"], "job-1");
    assert_eq!(
        rule.num_calls(),
        1,
        "the request did not carry the typed error and log tail"
    );
}

#[tokio::test]
async fn execution_already_exists_is_a_success_for_start_workflow() {
    let rule = mock!(aws_sdk_sfn::Client::start_execution).then_http_response(|| {
        json_error(
            400,
            "ExecutionAlreadyExists",
            "Execution Already Exists: 'arn:...'",
        )
    });
    let sfn = sfn(&[&rule]);
    let event = etl::events::s3_object_created("data", "incoming/orders.csv", 10, "e1", "00A1");
    let out = start_workflow::handle(event, &settings(), &sfn)
        .await
        .expect("a redelivered event is not an error");
    let e = &out["executions"][0];
    assert_eq!(e["status"], "existing", "{out}");
    let name = e["name"].as_str().unwrap();
    assert_eq!(
        e["executionArn"],
        format!("arn:aws:states:eu-west-1:123456789012:execution:rsql-etl:{name}"),
        "{out}"
    );
    assert_eq!(rule.num_calls(), 1);

    let missing = mock!(aws_sdk_sfn::Client::start_execution)
        .then_http_response(|| json_error(400, "StateMachineDoesNotExist", "no such machine"));
    let sfn = self::sfn(&[&missing]);
    let e = sfn
        .start_execution("arn:x", "n", &json!({}))
        .await
        .unwrap_err();
    assert!(matches!(e, ServiceError::Rejected { .. }), "{e:?}");
}

#[tokio::test]
async fn submit_job_sends_the_token_as_a_parameter_and_retries_throttling() {
    let s3_rule = mock!(aws_sdk_s3::Client::list_objects_v2)
        .match_requests(|r| {
            r.bucket() == Some("scripts") && r.prefix() == Some("tpch/customer_merge.rsql")
        })
        .then_output(|| {
            aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output::builder()
                .contents(
                    aws_sdk_s3::types::Object::builder()
                        .key("tpch/customer_merge.rsql")
                        .size(120)
                        .build(),
                )
                .build()
        });
    let submit = mock!(aws_sdk_batch::Client::submit_job)
        .match_requests(|r| {
            let params = r.parameters().cloned().unwrap_or_default();
            let env: Vec<(String, String)> = r
                .container_overrides()
                .map(|o| {
                    o.environment()
                        .iter()
                        .map(|kv| {
                            (
                                kv.name().unwrap_or_default().to_string(),
                                kv.value().unwrap_or_default().to_string(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let resources: Vec<String> = r
                .container_overrides()
                .map(|o| {
                    o.resource_requirements()
                        .iter()
                        .map(|x| {
                            format!(
                                "{}={}",
                                x.r#type().map(|t| t.as_str()).unwrap_or_default(),
                                x.value().unwrap_or_default()
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            params.get("taskToken").map(String::as_str) == Some("tok-9")
                && r.job_queue() == Some("rsqlflow-queue")
                && r.job_definition() == Some("rsqlflow-def")
                && r.propagate_tags() == Some(true)
                && r.timeout().and_then(|t| t.attempt_duration_seconds()) == Some(900)
                && resources == ["VCPU=2", "MEMORY=4096"]
                && env.contains(&(
                    "RSQLFLOW_SCRIPT".into(),
                    "s3://scripts/tpch/customer_merge.rsql".into(),
                ))
                && !env.iter().any(|(_, v)| v.contains("tok-9"))
                && r.tags()
                    .and_then(|t| t.get("rsqlflow:state"))
                    .map(String::as_str)
                    == Some("CustomerMerge")
        })
        .sequence()
        .http_response(|| json_error(429, "TooManyRequestsException", "Too Many Requests"))
        .output(|| {
            aws_sdk_batch::operation::submit_job::SubmitJobOutput::builder()
                .job_name("n")
                .job_id("job-42")
                .build()
        })
        .build();
    // Before trying again, the job is looked for by its name (the throttled call was not
    // accepted: nothing is found).
    let list = mock!(aws_sdk_batch::Client::list_jobs)
        .match_requests(|r| {
            r.job_queue() == Some("rsqlflow-queue")
                && r.filters().iter().any(|f| {
                    f.name() == Some("JOB_NAME")
                        && f.values()
                            .iter()
                            .any(|v| v.starts_with("customer_merge-CustomerMerge-run-1-"))
                })
        })
        .then_output(|| aws_sdk_batch::operation::list_jobs::ListJobsOutput::builder().build());
    let batch = AwsBatch::new(client!(aws_sdk_batch, &[&submit, &list]), "rsqlflow-queue");
    let scripts = etl::AwsS3::new(client!(aws_sdk_s3, &[&s3_rule]));
    let event = json!({
        "job": {"name": "customer_merge", "script": "tpch/customer_merge.rsql", "timeoutSeconds": 900,
                "vcpus": 2, "memoryMib": 4096, "variables": {"run_date": "2026-11-24"}},
        "taskToken": "tok-9",
        "executionArn": "arn:aws:states:eu-west-1:123456789012:execution:rsql-etl:run-1",
        "stateName": "CustomerMerge"
    });
    let out = submit_job::handle(
        event,
        &settings(),
        &batch,
        &LocalSubmissions::new(),
        &scripts,
    )
    .await
    .expect("submitted after one throttled attempt");
    assert_eq!(out["jobId"], "job-42", "{out}");
    assert_eq!(
        submit.num_calls(),
        2,
        "the request did not match, or was not retried"
    );
    assert_eq!(
        list.num_calls(),
        1,
        "not looked for by name before the retry"
    );

    // A script that is not in the bucket is an invalid spec naming the field and the URI.
    let empty = mock!(aws_sdk_s3::Client::list_objects_v2).then_output(|| {
        aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output::builder().build()
    });
    let scripts = etl::AwsS3::new(client!(aws_sdk_s3, &[&empty]));
    let event = json!({"job": {"name": "x", "script": "nope.rsql"}, "taskToken": "t",
                       "executionArn": "arn:aws:states:eu-west-1:1:execution:m:e"});
    let e = submit_job::handle(
        event,
        &settings(),
        &batch,
        &LocalSubmissions::new(),
        &scripts,
    )
    .await
    .unwrap_err();
    assert_eq!(e.error_type(), "Rsqlflow.InvalidJobSpec");
    assert!(
        e.to_string()
            .contains("job.script: s3://scripts/nope.rsql does not exist"),
        "{e}"
    );
}

fn sdk_job(
    id: &str,
    status: aws_sdk_batch::types::JobStatus,
    execution: &str,
) -> aws_sdk_batch::types::JobDetail {
    aws_sdk_batch::types::JobDetail::builder()
        .job_id(id)
        .job_name(format!("name-{id}"))
        .job_queue("rsqlflow-queue")
        .job_definition("rsqlflow-def")
        .status(status)
        .started_at(1_000)
        .tags("rsqlflow:execution", execution)
        .parameters("taskToken", "tok")
        .container(
            aws_sdk_batch::types::ContainerDetail::builder()
                .exit_code(3)
                .reason("OutOfMemoryError: Container killed due to memory usage")
                .log_stream_name("rsql/default/x")
                .build(),
        )
        .build()
}

#[tokio::test]
async fn batch_details_map_and_missing_jobs_are_not_found() {
    let describe = mock!(aws_sdk_batch::Client::describe_jobs)
        .match_requests(|r| r.jobs() == ["job-7"])
        .then_output(|| {
            aws_sdk_batch::operation::describe_jobs::DescribeJobsOutput::builder()
                .jobs(sdk_job(
                    "job-7",
                    aws_sdk_batch::types::JobStatus::Failed,
                    "exec-1",
                ))
                .build()
        });
    let none = mock!(aws_sdk_batch::Client::describe_jobs)
        .match_requests(|r| r.jobs() == ["gone"])
        .then_output(|| {
            aws_sdk_batch::operation::describe_jobs::DescribeJobsOutput::builder().build()
        });
    let batch = AwsBatch::new(
        client!(aws_sdk_batch, &[&describe, &none]),
        "rsqlflow-queue",
    );
    let d = batch.describe("job-7").await.unwrap();
    assert_eq!(d.status, JobStatus::Failed);
    assert_eq!(d.exit_code, Some(3));
    assert_eq!(d.log_stream.as_deref(), Some("rsql/default/x"));
    assert!(d.container_reason.unwrap().starts_with("OutOfMemoryError"));
    assert_eq!(d.parameters["taskToken"], "tok");
    let e = batch.describe("gone").await.unwrap_err();
    assert!(matches!(e, ServiceError::NotFound { .. }), "{e:?}");
}

#[tokio::test]
async fn notify_stops_the_jobs_of_an_aborted_execution_and_publishes_once() {
    let exec = "arn:aws:states:eu-west-1:123456789012:execution:rsql-etl:run-7";
    // ListJobs per active status: one RUNNING job of this execution, one of another, one RUNNABLE.
    let list = mock!(aws_sdk_batch::Client::list_jobs)
        .match_requests(|r| r.job_queue() == Some("rsqlflow-queue"))
        .then_compute_output(|r| {
            use aws_sdk_batch::types::{JobStatus as S, JobSummary};
            let ids: &[&str] = match r.job_status() {
                Some(S::Running) => &["mine-1", "other-1"],
                Some(S::Runnable) => &["mine-2"],
                _ => &[],
            };
            aws_sdk_batch::operation::list_jobs::ListJobsOutput::builder()
                .set_job_summary_list(Some(
                    ids.iter()
                        .map(|id| JobSummary::builder().job_id(*id).job_name(*id).build())
                        .collect(),
                ))
                .build()
        });
    let describe = mock!(aws_sdk_batch::Client::describe_jobs).then_compute_output(move |r| {
        let jobs = r
            .jobs()
            .iter()
            .map(|id| {
                let owner = if id.starts_with("mine") {
                    exec
                } else {
                    "someone-else"
                };
                sdk_job(id, aws_sdk_batch::types::JobStatus::Running, owner)
            })
            .collect();
        aws_sdk_batch::operation::describe_jobs::DescribeJobsOutput::builder()
            .set_jobs(Some(jobs))
            .build()
    });
    let terminate = mock!(aws_sdk_batch::Client::terminate_job)
        .match_requests(|r| {
            r.job_id().is_some_and(|id| id.starts_with("mine"))
                && r.reason() == Some("execution run-7 ABORTED")
        })
        .then_output(|| {
            aws_sdk_batch::operation::terminate_job::TerminateJobOutput::builder().build()
        });
    let history = mock!(aws_sdk_sfn::Client::get_execution_history).then_output(|| {
        use aws_sdk_sfn::types::{HistoryEvent, HistoryEventType};
        let t = aws_smithy_types::DateTime::from_secs(1_764_000_000);
        aws_sdk_sfn::operation::get_execution_history::GetExecutionHistoryOutput::builder()
            .events(
                HistoryEvent::builder()
                    .id(1)
                    .timestamp(t)
                    .r#type(HistoryEventType::ExecutionStarted)
                    .build()
                    .unwrap(),
            )
            .events(
                HistoryEvent::builder()
                    .id(2)
                    .previous_event_id(1)
                    .timestamp(t)
                    .r#type(HistoryEventType::ExecutionAborted)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    });
    let publish = mock!(aws_sdk_sns::Client::publish)
        .match_requests(|r| {
            let attrs = r.message_attributes().cloned().unwrap_or_default();
            r.topic_arn() == Some("arn:aws:sns:eu-west-1:123456789012:rsqlflow")
                && r.subject()
                    .is_some_and(|s| s.contains("ABORTED") && s.len() <= 100 && !s.contains('\n'))
                && r.message()
                    .is_some_and(|m| m.contains("mine-1") && m.contains("mine-2"))
                && attrs.get("status").and_then(|a| a.string_value()) == Some("ABORTED")
                && attrs.get("workflow").and_then(|a| a.string_value()) == Some("rsql-etl")
        })
        .then_output(|| {
            aws_sdk_sns::operation::publish::PublishOutput::builder()
                .message_id("m-1")
                .build()
        });
    let batch = AwsBatch::new(
        client!(aws_sdk_batch, &[&list, &describe, &terminate]),
        "rsqlflow-queue",
    );
    let sfn = sfn(&[&history]);
    let sns = AwsSns::new(client!(aws_sdk_sns, &[&publish]));
    let change = ExecutionChange {
        execution_arn: exec.into(),
        state_machine_arn: SM_ARN.into(),
        name: "run-7".into(),
        status: "ABORTED".into(),
        start_date: Some(1_764_000_000_000),
        stop_date: Some(1_764_000_060_000),
        input: Some("{}".into()),
        error: None,
        cause: None,
    };
    let event = etl::events::execution_change_event(&change, "eu-west-1", "123456789012");
    let out = notify::handle(event, &settings(), &sfn, &sns, &batch)
        .await
        .expect("notified");
    assert_eq!(out["terminated"], json!(["mine-2", "mine-1"]), "{out}");
    assert_eq!(terminate.num_calls(), 2);
    assert_eq!(publish.num_calls(), 1, "the notification did not match");
}

#[tokio::test]
async fn sns_and_logs_errors_map_like_the_others() {
    let throttled = mock!(aws_sdk_sns::Client::publish)
        .then_http_response(|| xml_error(400, "Throttling", "Rate exceeded"));
    let sns = AwsSns::new(client!(aws_sdk_sns, &[&throttled]));
    let n = Notification {
        subject: "s".into(),
        body: "b".into(),
        attributes: Default::default(),
    };
    let e = sns.publish("arn:t", &n).await.unwrap_err();
    assert!(
        matches!(e, ServiceError::Transient { service: "sns", .. }),
        "{e:?}"
    );
    let missing = mock!(aws_sdk_sns::Client::publish)
        .then_http_response(|| xml_error(404, "NotFound", "Topic does not exist"));
    let sns = AwsSns::new(client!(aws_sdk_sns, &[&missing]));
    let e = sns.publish("arn:t", &n).await.unwrap_err();
    assert!(matches!(e, ServiceError::NotFound { .. }), "{e:?}");

    let gone = mock!(aws_sdk_cloudwatchlogs::Client::get_log_events).then_http_response(|| {
        json_error(
            400,
            "ResourceNotFoundException",
            "The specified log stream does not exist.",
        )
    });
    let logs = AwsLogs::new(client!(aws_sdk_cloudwatchlogs, &[&gone]), "g");
    let e = logs.tail("s", 20).await.unwrap_err();
    assert!(
        matches!(
            e,
            ServiceError::NotFound {
                service: "logs",
                ..
            }
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn job_credentials_come_from_iam_for_workgroups_and_clusters() {
    use etl::job::{Credentials, Warehouse};
    let workgroup = mock!(aws_sdk_redshiftserverless::Client::get_workgroup)
        .match_requests(|r| r.workgroup_name() == Some("etl"))
        .then_output(|| {
            use aws_sdk_redshiftserverless::types::{Endpoint, Workgroup};
            aws_sdk_redshiftserverless::operation::get_workgroup::GetWorkgroupOutput::builder()
                .workgroup(
                    Workgroup::builder()
                        .workgroup_name("etl")
                        .endpoint(
                            Endpoint::builder()
                                .address(
                                    "etl.123456789012.eu-west-1.redshift-serverless.amazonaws.com",
                                )
                                .port(5439)
                                .build(),
                        )
                        .build(),
                )
                .build()
        });
    let creds = mock!(aws_sdk_redshiftserverless::Client::get_credentials)
        .match_requests(|r| r.workgroup_name() == Some("etl") && r.db_name() == Some("dev"))
        .then_output(|| {
            aws_sdk_redshiftserverless::operation::get_credentials::GetCredentialsOutput::builder()
                .db_user("IAMR:rsqlflow-job")
                .db_password("temporary-secret")
                .build()
        });
    let cluster = mock!(aws_sdk_redshift::Client::describe_clusters)
        .match_requests(|r| r.cluster_identifier() == Some("dw"))
        .then_output(|| {
            use aws_sdk_redshift::types::{Cluster, Endpoint};
            aws_sdk_redshift::operation::describe_clusters::DescribeClustersOutput::builder()
                .clusters(
                    Cluster::builder()
                        .endpoint(
                            Endpoint::builder()
                                .address("dw.abc.eu-west-1.redshift.amazonaws.com")
                                .port(5440)
                                .build(),
                        )
                        .build(),
                )
                .build()
        });
    let with_iam = mock!(aws_sdk_redshift::Client::get_cluster_credentials_with_iam)
        .match_requests(|r| r.cluster_identifier() == Some("dw") && r.db_name() == Some("dev"))
        .then_output(|| {
            aws_sdk_redshift::operation::get_cluster_credentials_with_iam::GetClusterCredentialsWithIamOutput::builder()
                .db_user("IAMR:rsqlflow-job")
                .db_password("cluster-secret")
                .build()
        });
    let denied = mock!(aws_sdk_redshiftserverless::Client::get_workgroup)
        .match_requests(|r| r.workgroup_name() == Some("forbidden"))
        .then_http_response(|| {
            json_error(
                400,
                "AccessDeniedException",
                "not authorized to perform GetWorkgroup",
            )
        });
    let iam = etl::aws::redshift::IamCredentials::new(
        client!(aws_sdk_redshiftserverless, &[&workgroup, &creds, &denied]),
        client!(aws_sdk_redshift, &[&cluster, &with_iam]),
    );
    let l = iam
        .login(&Warehouse::Workgroup("etl".into()), "dev")
        .await
        .unwrap();
    assert_eq!(
        l.host,
        "etl.123456789012.eu-west-1.redshift-serverless.amazonaws.com"
    );
    assert_eq!(
        (l.port, l.user.as_str(), l.database.as_str()),
        (5439, "IAMR:rsqlflow-job", "dev")
    );
    assert_eq!(l.password.as_deref(), Some("temporary-secret"));
    assert!(!format!("{l:?}").contains("temporary-secret"));
    let l = iam
        .login(
            &Warehouse::Cluster {
                id: "dw".into(),
                db_user: None,
            },
            "dev",
        )
        .await
        .unwrap();
    assert_eq!(
        (l.host.as_str(), l.port),
        ("dw.abc.eu-west-1.redshift.amazonaws.com", 5440)
    );
    assert_eq!(l.password.as_deref(), Some("cluster-secret"));
    let e = iam
        .login(&Warehouse::Workgroup("forbidden".into()), "dev")
        .await
        .unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(
        e.to_string().contains("workgroup forbidden")
            && e.to_string().contains("AccessDeniedException"),
        "{e}"
    );
}

#[tokio::test]
async fn notify_says_which_redrive_an_execution_ended_and_reads_only_its_last_attempt() {
    let exec = "arn:aws:states:eu-west-1:123456789012:execution:rsql-etl:run-8";
    let history = mock!(aws_sdk_sfn::Client::get_execution_history).then_output(|| {
        use aws_sdk_sfn::types::{
            ExecutionRedrivenEventDetails, HistoryEvent, HistoryEventType,
            StateEnteredEventDetails, TaskFailedEventDetails,
        };
        let t = aws_smithy_types::DateTime::from_secs(1_764_000_000);
        let ev = |id: i64, ty: HistoryEventType| {
            HistoryEvent::builder()
                .id(id)
                .previous_event_id(id - 1)
                .timestamp(t)
                .r#type(ty)
        };
        aws_sdk_sfn::operation::get_execution_history::GetExecutionHistoryOutput::builder()
            .events(ev(1, HistoryEventType::ExecutionStarted).build().unwrap())
            .events(
                ev(2, HistoryEventType::TaskStateEntered)
                    .state_entered_event_details(
                        StateEnteredEventDetails::builder()
                            .name("CustomerMerge")
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .events(
                ev(3, HistoryEventType::TaskFailed)
                    .task_failed_event_details(
                        TaskFailedEventDetails::builder()
                            .error("Rsqlflow.ScriptFailed")
                            .resource_type("lambda")
                            .resource("invoke.waitForTaskToken")
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .events(ev(4, HistoryEventType::ExecutionFailed).build().unwrap())
            .events(
                ev(5, HistoryEventType::ExecutionRedriven)
                    .execution_redriven_event_details(
                        ExecutionRedrivenEventDetails::builder()
                            .redrive_count(1)
                            .build(),
                    )
                    .build()
                    .unwrap(),
            )
            .events(
                ev(6, HistoryEventType::TaskStateEntered)
                    .state_entered_event_details(
                        StateEnteredEventDetails::builder()
                            .name("CustomerMerge")
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .events(ev(7, HistoryEventType::TaskSucceeded).build().unwrap())
            .events(ev(8, HistoryEventType::ExecutionSucceeded).build().unwrap())
            .build()
            .unwrap()
    });
    let publish = mock!(aws_sdk_sns::Client::publish)
        .match_requests(|r| {
            let attrs = r.message_attributes().cloned().unwrap_or_default();
            r.subject() == Some("[rsqlflow] SUCCEEDED (redrive 1): rsql-etl")
                && r.message().is_some_and(|m| {
                    m.contains("(execution run-8, redrive 1)") && m.contains("1 job(s) ran.")
                })
                && attrs.get("redriveCount").and_then(|a| a.string_value()) == Some("1")
        })
        .then_output(|| {
            aws_sdk_sns::operation::publish::PublishOutput::builder()
                .message_id("m-2")
                .build()
        });
    let batch = AwsBatch::new(client!(aws_sdk_batch, &[]), "rsqlflow-queue");
    let sfn = sfn(&[&history]);
    let sns = AwsSns::new(client!(aws_sdk_sns, &[&publish]));
    let change = ExecutionChange {
        execution_arn: exec.into(),
        state_machine_arn: SM_ARN.into(),
        name: "run-8".into(),
        status: "SUCCEEDED".into(),
        start_date: Some(1_764_000_000_000),
        stop_date: Some(1_764_000_060_000),
        input: Some("{}".into()),
        error: None,
        cause: None,
    };
    let event = etl::events::execution_change_event(&change, "eu-west-1", "123456789012");
    let mut s = settings();
    s.send_success_notifications = true;
    notify::handle(event, &s, &sfn, &sns, &batch)
        .await
        .expect("notified");
    assert_eq!(publish.num_calls(), 1, "the notification did not match");
}

/// A script bucket holding `tpch/load.rsql`.
fn load_script() -> Rule {
    mock!(aws_sdk_s3::Client::list_objects_v2).then_output(|| {
        aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output::builder()
            .contents(
                aws_sdk_s3::types::Object::builder()
                    .key("tpch/load.rsql")
                    .size(10)
                    .build(),
            )
            .build()
    })
}

/// A SubmitJob that timed out after Batch accepted the job (a 504 here): the job is found by
/// its name with ListJobs and adopted, SubmitJob is not called again, and the ledger records
/// the job found.
#[tokio::test]
async fn a_submit_job_accepted_before_its_timeout_is_found_by_name() {
    let submit = mock!(aws_sdk_batch::Client::submit_job)
        .then_http_response(|| json_error(504, "ServerException", "timed out"));
    let list = mock!(aws_sdk_batch::Client::list_jobs)
        .match_requests(|r| {
            r.filters()
                .iter()
                .any(|f| f.name() == Some("JOB_NAME") && f.values().len() == 1)
        })
        .then_output(|| {
            use aws_sdk_batch::types::JobSummary;
            aws_sdk_batch::operation::list_jobs::ListJobsOutput::builder()
                .job_summary_list(
                    // A case-insensitive match of another job is not taken.
                    JobSummary::builder()
                        .job_id("other")
                        .job_name("LOAD-LOAD-RUN-1-X")
                        .build(),
                )
                .build()
        });
    let s3 = load_script();
    let batch = AwsBatch::new(client!(aws_sdk_batch, &[&submit, &list]), "rsqlflow-queue");
    let scripts = etl::AwsS3::new(client!(aws_sdk_s3, &[&s3]));
    let ledger = LocalSubmissions::new();
    let event = json!({"job": {"name": "load", "script": "tpch/load.rsql"}, "taskToken": "t1",
                       "executionArn": "arn:aws:states:eu-west-1:1:execution:m:run-1",
                       "stateName": "Load"});
    // Nothing of that exact name: the error is reported after three tries, each looked for.
    let e = submit_job::handle(event.clone(), &settings(), &batch, &ledger, &scripts)
        .await
        .unwrap_err();
    assert_eq!(e.error_type(), "Rsqlflow.InfrastructureError", "{e}");
    assert_eq!(submit.num_calls(), 3);
    assert_eq!(list.num_calls(), 2);

    // Now Batch has it under the attempt's name: the retried invocation adopts it.
    let key = "arn:aws:states:eu-west-1:1:execution:m:run-1#Load#";
    let claim = ledger
        .entries()
        .into_iter()
        .find(|e| e.key.starts_with(key))
        .expect("the claim is kept while the job may exist");
    assert!(claim.job_id.is_none());
    let found_name = claim.job_name.clone();
    let found = mock!(aws_sdk_batch::Client::list_jobs).then_output(move || {
        aws_sdk_batch::operation::list_jobs::ListJobsOutput::builder()
            .job_summary_list(
                aws_sdk_batch::types::JobSummary::builder()
                    .job_id("job-7")
                    .job_name(&found_name)
                    .build(),
            )
            .build()
    });
    let batch = AwsBatch::new(client!(aws_sdk_batch, &[&submit, &found]), "rsqlflow-queue");
    let mut retry = event;
    retry["taskToken"] = json!("t2");
    let out = submit_job::handle(retry, &settings(), &batch, &ledger, &scripts)
        .await
        .unwrap();
    assert_eq!(out["jobId"], "job-7", "{out}");
    assert_eq!(out["adopted"], true);
    assert_eq!(submit.num_calls(), 3, "no second SubmitJob");
    let entry = ledger.entries().into_iter().next().unwrap();
    assert_eq!(entry.job_id.as_deref(), Some("job-7"));
    assert_eq!(entry.token, "t2");
}

fn submission(version: u64) -> etl::services::Submission {
    etl::services::Submission {
        key: "arn:x#S#0/abcd".into(),
        token: "tok".into(),
        attempt: 1,
        job_name: "load-S-x-1".into(),
        job_id: None,
        claimed_at: 1_700_000_000_000,
        answered: false,
        version,
        expires_at: 1_800_000_000,
    }
}

/// The DynamoDB ledger: a first claim is conditional on the item being absent, a later write
/// on the version read; ConditionalCheckFailedException is a lost race (Ok(false)), not an
/// error; throttling is transient; reads are strongly consistent and give the item back.
#[tokio::test]
async fn the_dynamodb_ledger_writes_conditionally() {
    use aws_sdk_dynamodb::types::AttributeValue;
    use etl::aws::dynamodb::AwsSubmissions;
    use etl::services::Submissions;
    let first = mock!(aws_sdk_dynamodb::Client::put_item)
        .match_requests(|r| {
            r.table_name() == Some("ledger")
                && r.condition_expression() == Some("attribute_not_exists(pk)")
                && r.item().and_then(|i| i.get("version")) == Some(&AttributeValue::N("1".into()))
                && r.item().and_then(|i| i.get("expiresAt"))
                    == Some(&AttributeValue::N("1800000000".into()))
                && r.item().and_then(|i| i.get("jobId")).is_none()
        })
        .sequence()
        .output(|| aws_sdk_dynamodb::operation::put_item::PutItemOutput::builder().build())
        .http_response(|| {
            json_error(
                400,
                "ConditionalCheckFailedException",
                "The conditional request failed",
            )
        })
        .http_response(|| json_error(400, "ThrottlingException", "Rate exceeded"))
        .build();
    let later = mock!(aws_sdk_dynamodb::Client::put_item)
        .match_requests(|r| {
            r.condition_expression() == Some("#v = :v")
                && r.expression_attribute_names()
                    .and_then(|n| n.get("#v"))
                    .map(String::as_str)
                    == Some("version")
                && r.expression_attribute_values().and_then(|v| v.get(":v"))
                    == Some(&AttributeValue::N("3".into()))
                && r.item().and_then(|i| i.get("version")) == Some(&AttributeValue::N("4".into()))
                && r.item().and_then(|i| i.get("jobId")) == Some(&AttributeValue::S("job-1".into()))
        })
        .sequence()
        .http_response(|| {
            json_error(
                400,
                "ConditionalCheckFailedException",
                "The conditional request failed",
            )
        })
        .build();
    let get = mock!(aws_sdk_dynamodb::Client::get_item)
        .match_requests(|r| {
            r.consistent_read() == Some(true)
                && r.key().and_then(|k| k.get("pk"))
                    == Some(&AttributeValue::S("arn:x#S#0/abcd".into()))
        })
        .sequence()
        .output(|| {
            let mut s = submission(0);
            s.job_id = Some("job-1".into());
            let item = [
                ("pk", AttributeValue::S(s.key.clone())),
                ("token", AttributeValue::S(s.token.clone())),
                ("attempt", AttributeValue::N("2".into())),
                ("jobName", AttributeValue::S(s.job_name.clone())),
                ("jobId", AttributeValue::S("job-1".into())),
                ("claimedAt", AttributeValue::N(s.claimed_at.to_string())),
                ("answered", AttributeValue::Bool(true)),
                ("version", AttributeValue::N("5".into())),
                ("expiresAt", AttributeValue::N("1800000000".into())),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
            aws_sdk_dynamodb::operation::get_item::GetItemOutput::builder()
                .set_item(Some(item))
                .build()
        })
        .output(|| aws_sdk_dynamodb::operation::get_item::GetItemOutput::builder().build())
        .output(|| {
            let item = [("pk".to_string(), AttributeValue::S("arn:x#S#0/abcd".into()))].into();
            aws_sdk_dynamodb::operation::get_item::GetItemOutput::builder()
                .set_item(Some(item))
                .build()
        })
        .build();
    let ledger = AwsSubmissions::new(client!(aws_sdk_dynamodb, &[&first, &later, &get]), "ledger");
    assert!(ledger.put(&submission(0)).await.unwrap(), "claimed");
    assert!(
        !ledger.put(&submission(0)).await.unwrap(),
        "lost to another claim"
    );
    let e = ledger.put(&submission(0)).await.unwrap_err();
    assert!(e.is_transient(), "{e}");
    let mut s = submission(3);
    s.job_id = Some("job-1".into());
    assert!(!ledger.put(&s).await.unwrap(), "the entry moved on");
    let read = ledger.get("arn:x#S#0/abcd").await.unwrap().unwrap();
    assert_eq!(
        (
            read.attempt,
            read.job_id.as_deref(),
            read.answered,
            read.version
        ),
        (2, Some("job-1"), true, 5)
    );
    assert_eq!(read.token, "tok");
    assert_eq!(ledger.get("arn:x#S#0/abcd").await.unwrap(), None);
    // An item missing its fields is refused, naming the field (not a panic).
    let e = ledger.get("arn:x#S#0/abcd").await.unwrap_err();
    assert!(e.to_string().contains("token"), "{e}");
}

/// An event of a mocked history.
fn history_event(
    id: i64,
    kind: aws_sdk_sfn::types::HistoryEventType,
) -> aws_sdk_sfn::types::HistoryEvent {
    aws_sdk_sfn::types::HistoryEvent::builder()
        .id(id)
        .previous_event_id(id - 1)
        .timestamp(aws_smithy_types::DateTime::from_millis(
            1_764_000_000_000 + id * 1500,
        ))
        .r#type(kind)
        .build()
        .unwrap()
}

/// `rsqlflow report --execution-arn` reads every page of the history: the second page is
/// asked for with the first page's nextToken and the same arguments (includeExecutionData).
#[tokio::test]
async fn the_report_follows_every_page_of_the_history() {
    use aws_sdk_sfn::operation::get_execution_history::GetExecutionHistoryOutput;
    use aws_sdk_sfn::types::{HistoryEventType as T, StateEnteredEventDetails};
    const ARN: &str = "arn:aws:states:eu-west-1:123456789012:execution:rsql-etl:run-1";
    let first = mock!(aws_sdk_sfn::Client::get_execution_history)
        .match_requests(|r| {
            r.next_token().is_none()
                && r.include_execution_data() == Some(true)
                && r.execution_arn() == Some(ARN)
                && r.max_results() == Some(2)
        })
        .then_output(|| {
            GetExecutionHistoryOutput::builder()
                .events(history_event(1, T::ExecutionStarted))
                .events(
                    aws_sdk_sfn::types::HistoryEvent::builder()
                        .id(2)
                        .previous_event_id(1)
                        .timestamp(aws_smithy_types::DateTime::from_millis(1_764_000_003_000))
                        .r#type(T::PassStateEntered)
                        .state_entered_event_details(
                            StateEnteredEventDetails::builder()
                                .name("A")
                                .input("{\"n\":1}")
                                .build()
                                .unwrap(),
                        )
                        .build()
                        .unwrap(),
                )
                .next_token("page-2")
                .build()
                .unwrap()
        });
    let second = mock!(aws_sdk_sfn::Client::get_execution_history)
        .match_requests(|r| {
            r.next_token() == Some("page-2") && r.include_execution_data() == Some(true)
        })
        .then_output(|| {
            GetExecutionHistoryOutput::builder()
                .events(history_event(3, T::PassStateExited))
                .events(history_event(4, T::ExecutionSucceeded))
                .build()
                .unwrap()
        });
    let client = client!(aws_sdk_sfn, &[&first, &second]);
    let h = etl::aws::report::history(&client, ARN, 2).await.unwrap();
    assert_eq!(h.pages, 2);
    assert_eq!(first.num_calls(), 1);
    assert_eq!(second.num_calls(), 1);
    let ids: Vec<i64> = h.events.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [1, 2, 3, 4]);
    assert_eq!(h.events[1]["type"], "PassStateEntered");
    assert_eq!(h.events[1]["stateEnteredEventDetails"]["name"], "A");
    assert_eq!(
        h.events[1]["stateEnteredEventDetails"]["input"],
        "{\"n\":1}"
    );
    assert_eq!(h.events[1]["timestamp"], 1_764_000_003.0);
}

/// A refused call names the call, the ARN and AWS's code and message.
#[tokio::test]
async fn a_refused_describe_execution_names_the_call_the_arn_and_the_code() {
    const ARN: &str = "arn:aws:states:eu-west-1:123456789012:execution:rsql-etl:run-1";
    let denied = mock!(aws_sdk_sfn::Client::describe_execution).then_http_response(|| {
        json_error(
            400,
            "AccessDeniedException",
            "User: x is not authorized to perform: states:DescribeExecution",
        )
    });
    let client = client!(aws_sdk_sfn, &[&denied]);
    let e = etl::aws::report::describe_execution(&client, ARN)
        .await
        .unwrap_err();
    assert_eq!(e.call, "DescribeExecution");
    assert_eq!(
        e.to_string(),
        format!(
            "DescribeExecution {ARN}: AccessDeniedException: User: x is not authorized to perform: states:DescribeExecution"
        )
    );
}

/// `rsqlflow report --execution-arn` lists a Distributed Map's child executions: every Map Run
/// of the execution (ListMapRuns), then every page of each Map Run's children (ListExecutions
/// with its mapRunArn).
#[tokio::test]
async fn the_report_lists_every_child_execution_of_every_map_run() {
    use aws_sdk_sfn::operation::list_executions::ListExecutionsOutput;
    use aws_sdk_sfn::operation::list_map_runs::ListMapRunsOutput;
    use aws_sdk_sfn::types::{ExecutionListItem, ExecutionStatus, MapRunListItem};
    const ARN: &str = "arn:aws:states:eu-west-1:123456789012:execution:fan:run-1";
    const RUN: &str = "arn:aws:states:eu-west-1:123456789012:mapRun:fan/Fan:abc";
    let item = |name: &str, status: ExecutionStatus| {
        ExecutionListItem::builder()
            .execution_arn(format!(
                "arn:aws:states:eu-west-1:123456789012:execution:fan/Fan:{name}"
            ))
            .state_machine_arn("arn:aws:states:eu-west-1:123456789012:stateMachine:fan/Fan")
            .name(name)
            .status(status)
            .start_date(aws_smithy_types::DateTime::from_millis(1_764_000_000_000))
            .build()
            .unwrap()
    };
    let runs = mock!(aws_sdk_sfn::Client::list_map_runs)
        .match_requests(|r| r.execution_arn() == Some(ARN))
        .then_output(|| {
            ListMapRunsOutput::builder()
                .map_runs(
                    MapRunListItem::builder()
                        .execution_arn(ARN)
                        .map_run_arn(RUN)
                        .state_machine_arn(
                            "arn:aws:states:eu-west-1:123456789012:stateMachine:fan/Fan",
                        )
                        .start_date(aws_smithy_types::DateTime::from_millis(1_764_000_000_000))
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap()
        });
    let first = mock!(aws_sdk_sfn::Client::list_executions)
        .match_requests(|r| r.map_run_arn() == Some(RUN) && r.next_token().is_none())
        .then_output(move || {
            ListExecutionsOutput::builder()
                .executions(item("c1", ExecutionStatus::Succeeded))
                .executions(item("c2", ExecutionStatus::Failed))
                .next_token("more")
                .build()
                .unwrap()
        });
    let second = mock!(aws_sdk_sfn::Client::list_executions)
        .match_requests(|r| r.map_run_arn() == Some(RUN) && r.next_token() == Some("more"))
        .then_output(move || {
            ListExecutionsOutput::builder()
                .executions(item("c3", ExecutionStatus::Succeeded))
                .build()
                .unwrap()
        });
    let client = client!(aws_sdk_sfn, &[&runs, &first, &second]);
    let (children, cut) = etl::aws::report::child_executions(&client, ARN)
        .await
        .unwrap();
    assert!(!cut);
    let got: Vec<(&str, &str, &str)> = children
        .iter()
        .map(|c| (c.name.as_str(), c.status.as_str(), c.map_run_arn.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("c1", "SUCCEEDED", RUN),
            ("c2", "FAILED", RUN),
            ("c3", "SUCCEEDED", RUN)
        ]
    );
    assert!(children[1].execution_arn.ends_with("fan/Fan:c2"));
    assert_eq!(
        (runs.num_calls(), first.num_calls(), second.num_calls()),
        (1, 1, 1)
    );
}
