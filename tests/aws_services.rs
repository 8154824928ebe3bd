//! The framework's AWS implementations through the real SDK clients against moto's server:
//! StartExecution with a duplicate name (start-workflow's idempotence), SendTaskSuccess, and
//! SNS publish read back through an SQS subscription; submit-job and check-job through Batch.
//!
//! Every test here needs moto, so each is `#[ignore]`d: run them with `-- --include-ignored` and
//! `RSQLFLOW_TEST_MOTO` set to a moto_server executable (`.ci/run` does both); without the
//! variable they fail and say so.

mod support;

use etl::aws::sfn::AwsStepFunctions;
use etl::aws::sns::AwsSns;
use etl::services::{Batch, Notification, Notifier, Started, StepFunctions};
use serde_json::{Value, json};

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

#[tokio::test]
#[ignore = "needs RSQLFLOW_TEST_MOTO set to a moto_server executable (pip install 'moto[server]'); .ci/run sets it"]
async fn step_functions_and_sns_through_the_sdk() {
    let moto = support::moto::Moto::require();
    let conf = config(&moto.url()).await;

    // start-workflow: a redelivered S3 event finds the execution the first one started.
    let sfn_client = aws_sdk_sfn::Client::new(&conf);
    let sm = sfn_client
        .create_state_machine()
        .name("rsql-etl")
        .definition(r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":600,"End":true}}}"#)
        .role_arn("arn:aws:iam::123456789012:role/sfn")
        .send()
        .await
        .expect("create state machine in moto");
    let sm_arn = sm.state_machine_arn().to_string();
    let sfn = AwsStepFunctions::new(sfn_client.clone());
    let settings = etl::settings::Settings {
        routes: Ok(etl::routes::single(&sm_arn, "", ".csv")),
        ..etl::settings::Settings::default()
    };
    let event = etl::events::s3_object_created("data", "in/orders.csv", 10, "e1", "00A1");
    let first = etl::handlers::start_workflow::handle(event.clone(), &settings, &sfn)
        .await
        .expect("start-workflow");
    let name = first["executions"][0]["name"].as_str().unwrap().to_string();
    assert_eq!(first["executions"][0]["status"], "started", "{first}");
    let again = etl::handlers::start_workflow::handle(event, &settings, &sfn)
        .await
        .expect("second delivery");
    // StartExecution is idempotent for a running execution with the same name and input (the
    // same ARN comes back); a closed one or another input gives ExecutionAlreadyExists. Either
    // way the redelivery lands on the first execution.
    let arn_of = |v: &Value| {
        v["executions"][0]["executionArn"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(arn_of(&again), arn_of(&first), "{again}");
    assert_eq!(again["executions"][0]["name"], name.as_str());
    let different = sfn
        .start_execution(&sm_arn, &name, &json!({"other": "input"}))
        .await
        .unwrap();
    match different {
        Started::AlreadyExists { execution_arn } | Started::New { execution_arn } => {
            assert_eq!(execution_arn, arn_of(&first))
        }
    }

    // (moto accepts SendTaskSuccess for any token, so the stale-token path, where AWS answers
    // TaskDoesNotExist/InvalidToken and check-job acknowledges, is covered without moto.)
    sfn.send_task_success("token-from-moto", &json!({"ok": true}))
        .await
        .expect("SendTaskSuccess through the SDK");

    // SNS: publish with attributes, read back through an SQS subscription.
    let sns_client = aws_sdk_sns::Client::new(&conf);
    let sqs = aws_sdk_sqs::Client::new(&conf);
    let topic = sns_client
        .create_topic()
        .name("rsqlflow-notifications")
        .send()
        .await
        .unwrap();
    let topic_arn = topic.topic_arn().unwrap().to_string();
    let queue = sqs.create_queue().queue_name("inbox").send().await.unwrap();
    let queue_url = queue.queue_url().unwrap().to_string();
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    let queue_arn = attrs
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        .unwrap()
        .to_string();
    sns_client
        .subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(&queue_arn)
        .send()
        .await
        .unwrap();
    let n = Notification {
        subject: "[rsqlflow] FAILED: rsql-etl at CustomerMerge: Rsqlflow.ScriptFailed".into(),
        body: "WHAT FAILED\n  State CustomerMerge\n".into(),
        attributes: [
            ("status".to_string(), "FAILED".to_string()),
            ("workflow".to_string(), "rsql-etl".to_string()),
        ]
        .into(),
    };
    AwsSns::new(sns_client)
        .publish(&topic_arn, &n)
        .await
        .unwrap();
    let got = sqs
        .receive_message()
        .queue_url(&queue_url)
        .wait_time_seconds(5)
        .send()
        .await
        .unwrap();
    let msg = got
        .messages()
        .first()
        .expect("the notification reached the queue");
    let envelope: Value = serde_json::from_str(msg.body().unwrap()).unwrap();
    assert_eq!(envelope["Subject"], n.subject.as_str());
    assert_eq!(envelope["Message"], n.body.as_str());
    assert_eq!(envelope["MessageAttributes"]["status"]["Value"], "FAILED");
    assert_eq!(
        envelope["MessageAttributes"]["workflow"]["Value"],
        "rsql-etl"
    );
}

#[tokio::test]
#[ignore = "needs RSQLFLOW_TEST_MOTO set to a moto_server executable (pip install 'moto[server]'); .ci/run sets it"]
async fn submit_job_and_check_job_through_batch() {
    let moto = support::moto::Moto::require();
    // Jobs run without Docker: moto marks them SUCCEEDED.
    let (status, body) = moto.post(
        "/moto-api/config",
        &[("Content-Type", "application/json")],
        r#"{"batch": {"use_docker": false}}"#,
    );
    assert_eq!(status, 201, "moto config: {body}");
    let conf = config(&moto.url()).await;
    let role = moto.create_role("rsqlflow-batch", "batch.amazonaws.com");

    let batch_client = aws_sdk_batch::Client::new(&conf);
    use aws_sdk_batch::types::{
        CeType, ComputeEnvironmentOrder, ContainerProperties, JobDefinitionType,
        ResourceRequirement, ResourceType,
    };
    let ce = batch_client
        .create_compute_environment()
        .compute_environment_name("rsqlflow-ce")
        .r#type(CeType::Unmanaged)
        .state(aws_sdk_batch::types::CeState::Enabled)
        .service_role(&role)
        .send()
        .await
        .expect("compute environment");
    batch_client
        .create_job_queue()
        .job_queue_name("rsqlflow-queue")
        .state(aws_sdk_batch::types::JqState::Enabled)
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
    batch_client
        .register_job_definition()
        .job_definition_name("rsqlflow-job")
        .r#type(JobDefinitionType::Container)
        .parameters("taskToken", "none")
        .container_properties(
            ContainerProperties::builder()
                .image("rsqlflow:test")
                .command("job")
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

    // The script submit-job checks for, in the scripts bucket.
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket().bucket("scripts").send().await.unwrap();
    s3.put_object()
        .bucket("scripts")
        .key("tpch/region_load.rsql")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(
            b"SELECT 1;\n",
        ))
        .send()
        .await
        .unwrap();

    let settings = etl::settings::Settings {
        job_queue: "rsqlflow-queue".into(),
        job_definition: "rsqlflow-job".into(),
        scripts_bucket: "scripts".into(),
        ..etl::settings::Settings::default()
    };
    let batch = etl::aws::batch::AwsBatch::new(batch_client.clone(), "rsqlflow-queue");
    let scripts = etl::AwsS3::new(s3.clone());
    let execution = "arn:aws:states:us-east-1:123456789012:execution:rsql-etl:run-1";
    let request = json!({
        "job": {"name": "region_load", "script": "tpch/region_load.rsql", "timeoutSeconds": 600,
                "variables": {"data_uri": "s3://data/tpch/region/"}},
        "taskToken": "token-for-region",
        "executionArn": execution,
        "stateName": "RegionLoad"
    });
    let submitted = etl::handlers::submit_job::handle(request.clone(), &settings, &batch, &scripts)
        .await
        .expect("submit-job against moto's Batch");
    let job_id = submitted["jobId"].as_str().unwrap().to_string();

    // What Batch keeps: the token as a parameter, the execution/state/job tags, the timeout.
    let mut detail = batch.describe(&job_id).await.expect("DescribeJobs");
    for _ in 0..100 {
        if detail.status.is_final() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        detail = batch.describe(&job_id).await.unwrap();
    }
    assert_eq!(detail.status, etl::services::JobStatus::Succeeded);
    assert_eq!(detail.parameters["taskToken"], "token-for-region");
    assert_eq!(detail.tags["rsqlflow:execution"], execution);
    assert_eq!(detail.tags["rsqlflow:state"], "RegionLoad");
    assert_eq!(detail.tags["rsqlflow:job"], "region_load");
    assert_eq!(detail.timeout_seconds, Some(600));
    assert!(
        detail.name.contains("RegionLoad") && detail.name.contains("run-1"),
        "{}",
        detail.name
    );

    // check-job gets the state change EventBridge would deliver and answers the token.
    let sfn = AwsStepFunctions::new(aws_sdk_sfn::Client::new(&conf));
    let logs =
        etl::aws::logs::AwsLogs::new(aws_sdk_cloudwatchlogs::Client::new(&conf), "/aws/batch/job");
    let event = etl::events::batch_job_event(&detail, "us-east-1", "123456789012");
    let answered = etl::handlers::check_job::handle(event, &settings, &sfn, &logs)
        .await
        .expect("check-job against moto");
    assert_eq!(answered["answered"], job_id.as_str(), "{answered}");

    // Nothing of the execution is still active; a missing script is an invalid spec.
    assert!(
        batch
            .active_jobs_tagged("rsqlflow:execution", execution)
            .await
            .unwrap()
            .is_empty()
    );
    let mut bad = request;
    bad["job"]["script"] = json!("tpch/missing.rsql");
    let e = etl::handlers::submit_job::handle(bad, &settings, &batch, &scripts)
        .await
        .unwrap_err();
    assert_eq!(e.error_type(), "Rsqlflow.InvalidJobSpec");
    assert!(
        e.to_string().contains("s3://scripts/tpch/missing.rsql"),
        "{e}"
    );
}
