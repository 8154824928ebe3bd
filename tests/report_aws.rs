//! `rsqlflow report --execution-arn` through the real binary and the real AWS SDK, against
//! moto's server: a state machine and an execution (whose history is moto's canned one: a
//! Pass state "A State" that succeeds; moto's interpreter needs the `stepfunctions` extra,
//! which `.ci/run` does not install, and no moto history has more than one page), Batch jobs
//! tagged for the execution and one tagged for another execution, a log stream with lines.
//! The report's embedded JSON has the execution's name and ARN, its jobs only, the last 30
//! lines of a job's log, and console links; a job whose log cannot be read is reported on
//! stderr and the report is still written.
//!
//! The moto tests are `#[ignore]`d: run them with `-- --include-ignored` and
//! `RSQLFLOW_TEST_MOTO` set to a moto_server executable (`.ci/run` does both).

mod support;

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn report(dir: &Path, moto: Option<&support::moto::Moto>, args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(support::bin());
    cmd.current_dir(dir)
        .arg("report")
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN");
    match moto {
        Some(m) => cmd.env("AWS_ENDPOINT_URL", m.url()),
        // Nothing may be called: an unroutable endpoint makes any call fail.
        None => cmd.env("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
    };
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The report's data block.
fn data(html: &str) -> Value {
    let start = html.find("id=\"report-data\">").unwrap() + "id=\"report-data\">".len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).unwrap()
}

fn links(v: &Value) -> Vec<(String, String)> {
    serde_json::from_value(v.clone()).unwrap()
}

#[test]
fn a_malformed_arn_is_refused_before_any_call() {
    let dir = tempfile::tempdir().unwrap();
    for bad in [
        "run-1",
        "arn:aws:states:us-east-1:123456789012:stateMachine:sm",
        "arn:aws:states:us-east-1:12:execution:sm:run-1",
    ] {
        let (code, _, err) = report(dir.path(), None, &["--execution-arn", bad]);
        assert_eq!(code, 1, "{bad}: {err}");
        assert!(err.contains("not a Step Functions execution ARN"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let (code, _, err) = report(dir.path(), None, &["--history", "h.json"]);
    assert_eq!(code, 1);
    assert!(err.contains("--history needs --definition"), "{err}");
}

async fn config(url: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(url)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sfn::config::Credentials::new(
            "testing", "testing", None, None, "moto",
        ))
        .load()
        .await
}

const LOG_GROUP: &str = "/aws/batch/rsqlflow-test";

/// moto with an execution `run-1` of state machine `report-sm` (moto's canned history: Pass
/// state "A State", succeeded), a Batch queue and a job definition logging to [`LOG_GROUP`];
/// returns the execution ARN.
async fn world(moto: &support::moto::Moto) -> (aws_config::SdkConfig, String) {
    let (status, body) = moto.post(
        "/moto-api/config",
        &[("Content-Type", "application/json")],
        r#"{"batch": {"use_docker": false}}"#,
    );
    assert_eq!(status, 201, "moto config: {body}");
    let conf = config(&moto.url()).await;
    let sfn = aws_sdk_sfn::Client::new(&conf);
    let role = moto.create_role("report-states", "states.amazonaws.com");
    let definition = r#"{"StartAt":"A State","States":{"A State":{"Type":"Pass","End":true}}}"#;
    let sm = sfn
        .create_state_machine()
        .name("report-sm")
        .definition(definition)
        .role_arn(role)
        .send()
        .await
        .expect("state machine");
    let started = sfn
        .start_execution()
        .state_machine_arn(sm.state_machine_arn())
        .name("run-1")
        .input("{}")
        .send()
        .await
        .expect("execution");
    let arn = started.execution_arn().to_string();

    let batch = aws_sdk_batch::Client::new(&conf);
    use aws_sdk_batch::types::{
        CeState, CeType, ComputeEnvironmentOrder, ContainerProperties, JobDefinitionType, JqState,
        LogConfiguration, LogDriver, ResourceRequirement, ResourceType,
    };
    let batch_role = moto.create_role("report-batch", "batch.amazonaws.com");
    let ce = batch
        .create_compute_environment()
        .compute_environment_name("report-ce")
        .r#type(CeType::Unmanaged)
        .state(CeState::Enabled)
        .service_role(&batch_role)
        .send()
        .await
        .expect("compute environment");
    batch
        .create_job_queue()
        .job_queue_name("report-queue")
        .state(JqState::Enabled)
        .priority(1)
        .compute_environment_order(
            ComputeEnvironmentOrder::builder()
                .order(1)
                .compute_environment(ce.compute_environment_arn().unwrap())
                .build(),
        )
        .send()
        .await
        .expect("job queue");
    batch
        .register_job_definition()
        .job_definition_name("report-job")
        .r#type(JobDefinitionType::Container)
        .container_properties(
            ContainerProperties::builder()
                .image("rsqlflow:test")
                .command("job")
                .log_configuration(
                    LogConfiguration::builder()
                        .log_driver(LogDriver::Awslogs)
                        .options("awslogs-group", LOG_GROUP)
                        .build(),
                )
                .resource_requirements(
                    ResourceRequirement::builder()
                        .r#type(ResourceType::Vcpu)
                        .value("1")
                        .build(),
                )
                .resource_requirements(
                    ResourceRequirement::builder()
                        .r#type(ResourceType::Memory)
                        .value("2048")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("job definition");
    (conf, arn)
}

/// Submits a job tagged as submit-job tags them; returns its id.
async fn submit(batch: &aws_sdk_batch::Client, name: &str, execution: &str, state: &str) -> String {
    let tags = etl::contract::tags::job_tags(execution, state, name, "0/abc");
    batch
        .submit_job()
        .job_name(name)
        .job_queue("report-queue")
        .job_definition("report-job")
        .set_tags(Some(tags.into_iter().collect()))
        .send()
        .await
        .expect("submit job")
        .job_id()
        .expect("job id")
        .to_string()
}

#[tokio::test]
#[ignore = "needs RSQLFLOW_TEST_MOTO set to a moto_server executable (pip install 'moto[server]'); .ci/run sets it"]
async fn the_report_of_an_execution_in_aws_has_its_name_jobs_log_tail_and_links() {
    let moto = support::moto::Moto::require();
    let (conf, arn) = world(&moto).await;
    let other = arn.replace(":run-1", ":run-2");
    let batch = aws_sdk_batch::Client::new(&conf);
    let extract = submit(&batch, "report-sm-extract", &arn, "A State").await;
    let load = submit(&batch, "report-sm-load", &arn, "A State").await;
    let foreign = submit(&batch, "report-sm-other", &other, "Extract").await;

    // The Extract job's log: 40 lines, of which the report keeps the last 30. The Load job's
    // stream does not exist: its log cannot be read.
    let described = batch.describe_jobs().jobs(&extract).send().await.unwrap();
    let stream = described.jobs()[0]
        .container()
        .and_then(|c| c.log_stream_name())
        .expect("moto names the job's log stream")
        .to_string();
    let logs = aws_sdk_cloudwatchlogs::Client::new(&conf);
    logs.create_log_group()
        .log_group_name(LOG_GROUP)
        .send()
        .await
        .unwrap();
    logs.create_log_stream()
        .log_group_name(LOG_GROUP)
        .log_stream_name(&stream)
        .send()
        .await
        .unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    let mut put = logs
        .put_log_events()
        .log_group_name(LOG_GROUP)
        .log_stream_name(&stream);
    for i in 1..=40 {
        put = put.log_events(
            aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                .timestamp(now - 40_000 + i * 1000)
                .message(format!("line {i}"))
                .build()
                .unwrap(),
        );
    }
    put.send().await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = report(dir.path(), Some(&moto), &["--execution-arn", &arn]);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert_eq!(out.trim(), "run-1.html");
    assert!(err.contains(&load) && err.contains("GetLogEvents"), "{err}");
    let html = std::fs::read_to_string(dir.path().join("run-1.html")).unwrap();
    assert!(
        !html.contains(&foreign),
        "another execution's job is in the report"
    );
    let d = data(&html);
    assert_eq!(d["execution"], "run-1");
    assert_eq!(d["execution_arn"], arn.as_str());
    assert_eq!(d["workflow"], "report-sm");
    assert_eq!(d["summary"]["status"], "SUCCEEDED");
    // What notify sends, composed by its own code from this history.
    assert_eq!(d["notification_composed"], true);
    assert!(
        d["notification"]
            .as_str()
            .unwrap()
            .starts_with("[rsqlflow] SUCCEEDED: report-sm"),
        "{}",
        d["notification"]
    );
    let states: Vec<&str> = d["states"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["A State"]);
    let console = format!(
        "https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/{arn}"
    );
    let header = links(&d["links"]);
    assert!(header.iter().any(|(_, u)| *u == console), "{header:?}");
    assert!(html.contains(&format!("href=\"{console}\"")));

    let jobs = d["jobs"].as_array().unwrap();
    let ids: Vec<&str> = jobs.iter().map(|j| j["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(ids.contains(&extract.as_str()) && ids.contains(&load.as_str()));
    let job = |id: &str| jobs.iter().find(|j| j["id"] == id).unwrap();
    let e = job(&extract);
    assert_eq!(e["state"], "A State");
    assert_eq!(e["name"], "report-sm-extract");
    assert_eq!(e["status"], "SUCCEEDED");
    assert_eq!(e["log"], stream.as_str());
    let expected: Vec<String> = (11..=40).map(|i| format!("line {i}")).collect();
    assert_eq!(e["log_tail"], expected.join("\n"));
    let l = links(&e["links"]);
    assert!(
        l.contains(&("Step Functions".to_string(), console.clone())),
        "{l:?}"
    );
    assert!(l.contains(&(
        "Batch".to_string(),
        format!("https://us-east-1.console.aws.amazon.com/batch/home?region=us-east-1#jobs/detail/{extract}")
    )));
    let log_link = &l.iter().find(|(n, _)| n == "CloudWatch Logs").unwrap().1;
    assert!(
        log_link.starts_with("https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logsV2:log-groups/log-group/$252Faws$252Fbatch$252Frsqlflow-test/log-events/"),
        "{log_link}"
    );
    assert!(
        log_link.ends_with(&stream.replace('/', "$252F")),
        "{log_link}"
    );
    let lj = job(&load);
    assert_eq!(lj["state"], "A State");
    assert!(lj["log_tail"].is_null());

    // --history with --execution-arn: the history from the file, named by the ARN; -o.
    let history = r#"{"events":[
 {"timestamp":1767323045.0,"type":"ExecutionStarted","id":1,"previousEventId":0,"executionStartedEventDetails":{"input":"{}"}},
 {"timestamp":1767323046.0,"type":"PassStateEntered","id":2,"previousEventId":1,"stateEnteredEventDetails":{"name":"A State","input":"{}"}},
 {"timestamp":1767323047.0,"type":"ExecutionFailed","id":3,"previousEventId":2,"executionFailedEventDetails":{"error":"Boom","cause":"x"}}]}"#;
    std::fs::write(dir.path().join("h.json"), history).unwrap();
    let (code, out, err) = report(
        dir.path(),
        Some(&moto),
        &[
            "--execution-arn",
            &arn,
            "--history",
            "h.json",
            "-o",
            "given.html",
        ],
    );
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert_eq!(out.trim(), "given.html");
    let d = data(&std::fs::read_to_string(dir.path().join("given.html")).unwrap());
    assert_eq!(d["execution"], "run-1");
    assert_eq!(d["execution_arn"], arn.as_str());
    assert_eq!(d["summary"]["status"], "FAILED");
    assert_eq!(d["jobs"].as_array().unwrap().len(), 2);
    let n = d["notification"].as_str().unwrap();
    assert!(n.starts_with("[rsqlflow] FAILED: report-sm"), "{n}");
    assert!(n.contains("Boom"), "{n}");

    // An execution that does not exist: the failed call, named, and no report.
    let missing = arn.replace(":run-1", ":run-9");
    let (code, _, err) = report(dir.path(), Some(&moto), &["--execution-arn", &missing]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!(
            "DescribeExecution {missing}: ExecutionDoesNotExist"
        )),
        "{err}"
    );
    assert!(!dir.path().join("run-9.html").exists());
}
