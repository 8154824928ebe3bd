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

/// moto with a Batch queue `rsqlflow-queue`, job definition `rsqlflow-job` and a scripts
/// bucket `scripts` holding `tpch/region_load.rsql`; jobs run without Docker (moto's simple
/// Batch marks them SUCCEEDED within SubmitJob).
async fn batch_world() -> (
    support::moto::Moto,
    aws_config::SdkConfig,
    aws_sdk_batch::Client,
    aws_sdk_s3::Client,
) {
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

    (moto, conf, batch_client, s3)
}

#[tokio::test]
#[ignore = "needs RSQLFLOW_TEST_MOTO set to a moto_server executable (pip install 'moto[server]'); .ci/run sets it"]
async fn submit_job_and_check_job_through_batch() {
    let (_moto, conf, batch_client, s3) = batch_world().await;
    let settings = etl::settings::Settings {
        job_queue: "rsqlflow-queue".into(),
        job_definition: "rsqlflow-job".into(),
        scripts_bucket: "scripts".into(),
        ..etl::settings::Settings::default()
    };
    let batch = etl::aws::batch::AwsBatch::new(batch_client.clone(), "rsqlflow-queue");
    let scripts = etl::AwsS3::new(s3.clone());
    let ledger = etl::local::submissions::LocalSubmissions::new();
    let execution = "arn:aws:states:us-east-1:123456789012:execution:rsql-etl:run-1";
    let request = json!({
        "job": {"name": "region_load", "script": "tpch/region_load.rsql", "timeoutSeconds": 600,
                "variables": {"data_uri": "s3://data/tpch/region/"}},
        "taskToken": "token-for-region",
        "executionArn": execution,
        "stateName": "RegionLoad"
    });
    let submitted =
        etl::handlers::submit_job::handle(request.clone(), &settings, &batch, &ledger, &scripts)
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
    let answered = etl::handlers::check_job::handle(event, &settings, &sfn, &logs, &ledger)
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
    let e = etl::handlers::submit_job::handle(bad, &settings, &batch, &ledger, &scripts)
        .await
        .unwrap_err();
    assert_eq!(e.error_type(), "Rsqlflow.InvalidJobSpec");
    assert!(
        e.to_string().contains("s3://scripts/tpch/missing.rsql"),
        "{e}"
    );
}

/// Step Functions through the SDK (moto accepts any token), recording the tokens answered.
struct Recording {
    inner: AwsStepFunctions,
    tokens: std::sync::Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl StepFunctions for Recording {
    async fn send_task_success(
        &self,
        token: &str,
        output: &Value,
    ) -> Result<(), etl::error::ServiceError> {
        self.tokens.lock().unwrap().push(token.to_string());
        self.inner.send_task_success(token, output).await
    }
    async fn send_task_failure(
        &self,
        token: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), etl::error::ServiceError> {
        self.tokens.lock().unwrap().push(token.to_string());
        self.inner.send_task_failure(token, error, cause).await
    }
    async fn start_execution(
        &self,
        sm: &str,
        name: &str,
        input: &Value,
    ) -> Result<Started, etl::error::ServiceError> {
        self.inner.start_execution(sm, name, input).await
    }
    async fn history(&self, arn: &str) -> Result<Vec<Value>, etl::error::ServiceError> {
        self.inner.history(arn).await
    }
}

/// The submissions ledger on DynamoDB with Batch, both through the SDK against moto: a
/// duplicate submit-job before the job's answer is taken (the job queued or running; moto's
/// simple Batch finishes jobs inside SubmitJob, and submit-job decides by the ledger, not by
/// the job's status) adopts the job: one job of that name in ListJobs, and check-job answers
/// the duplicate's token. A claim whose job was not recorded finds it by name (ListJobs'
/// JOB_NAME filter); once the answer is taken, the next submission is a second job.
#[tokio::test]
#[ignore = "needs RSQLFLOW_TEST_MOTO set to a moto_server executable (pip install 'moto[server]'); .ci/run sets it"]
async fn a_duplicate_submit_leaves_one_job_in_batch() {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    use etl::services::Submissions;
    let (_moto, conf, batch_client, s3) = batch_world().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&conf);
    dynamodb
        .create_table()
        .table_name("rsqlflow-submissions")
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("create the table in moto");
    let ledger = etl::aws::dynamodb::AwsSubmissions::new(dynamodb, "rsqlflow-submissions");
    let settings = etl::settings::Settings {
        job_queue: "rsqlflow-queue".into(),
        job_definition: "rsqlflow-job".into(),
        scripts_bucket: "scripts".into(),
        submissions_table: "rsqlflow-submissions".into(),
        ..etl::settings::Settings::default()
    };
    let batch = etl::aws::batch::AwsBatch::new(batch_client.clone(), "rsqlflow-queue");
    let scripts = etl::AwsS3::new(s3);
    let request = |token: &str| {
        json!({
            "job": {"name": "region_load", "script": "tpch/region_load.rsql"},
            "taskToken": token,
            "executionArn": "arn:aws:states:us-east-1:123456789012:execution:rsql-etl:dup-1",
            "stateName": "RegionLoad",
            "redriveCount": 0
        })
    };
    let submit = |token: &'static str| {
        etl::handlers::submit_job::handle(request(token), &settings, &batch, &ledger, &scripts)
    };
    let jobs_named = |name: String| {
        let client = batch_client.clone();
        async move {
            client
                .list_jobs()
                .job_queue("rsqlflow-queue")
                .filters(
                    aws_sdk_batch::types::KeyValuesPair::builder()
                        .name("JOB_NAME")
                        .values(name)
                        .build(),
                )
                .send()
                .await
                .unwrap()
                .job_summary_list()
                .iter()
                .filter_map(|j| j.job_id().map(String::from))
                .collect::<Vec<_>>()
        }
    };

    let first = submit("token-1").await.expect("first submit");
    let job_id = first["jobId"].as_str().unwrap().to_string();
    let name = first["jobName"].as_str().unwrap().to_string();
    let again = submit("token-2").await.expect("duplicate submit");
    assert_eq!(again["adopted"], true, "{again}");
    assert_eq!(again["jobId"], job_id.as_str());
    assert_eq!(jobs_named(name.clone()).await, vec![job_id.clone()]);
    // Every job of the step, whatever its attempt.
    let prefix = name.trim_end_matches("-1").to_string() + "*";
    assert_eq!(jobs_named(prefix.clone()).await.len(), 1);

    // check-job answers the current token, not the one the job carries.
    let detail = batch.describe(&job_id).await.unwrap();
    assert_eq!(detail.parameters["taskToken"], "token-1");
    let sfn = Recording {
        inner: AwsStepFunctions::new(aws_sdk_sfn::Client::new(&conf)),
        tokens: Default::default(),
    };
    let logs =
        etl::aws::logs::AwsLogs::new(aws_sdk_cloudwatchlogs::Client::new(&conf), "/aws/batch/job");
    let event = etl::events::batch_job_event(&detail, "us-east-1", "123456789012");
    let answered = etl::handlers::check_job::handle(event, &settings, &sfn, &logs, &ledger)
        .await
        .expect("check-job against moto");
    assert_eq!(answered["answered"], job_id.as_str(), "{answered}");
    assert_eq!(*sfn.tokens.lock().unwrap(), vec!["token-2".to_string()]);

    // The answer taken, the state's Retry is a new attempt: a second job.
    let retry = submit("token-3").await.expect("a new attempt");
    assert_eq!(retry["adopted"], false, "{retry}");
    assert_eq!(retry["attempt"], 2);
    assert_eq!(jobs_named(prefix.clone()).await.len(), 2);

    // A claim whose SubmitJob was accepted but not recorded (the submitter timed out): the
    // next invocation finds the job by its name and adopts it.
    let key = format!(
        "arn:aws:states:us-east-1:123456789012:execution:rsql-etl:dup-1#RegionLoad#{}",
        detail.tags["rsqlflow:step"]
    );
    let mut entry = ledger.get(&key).await.unwrap().expect("the step's entry");
    let second = entry.job_id.take().expect("the retry's job is recorded");
    assert!(ledger.put(&entry).await.unwrap());
    let adopted = submit("token-4").await.expect("a retried submission");
    assert_eq!(adopted["jobId"], second.as_str(), "{adopted}");
    assert_eq!(adopted["adopted"], true);
    assert_eq!(jobs_named(prefix).await.len(), 2, "no third job");
    let entry = ledger.get(&key).await.unwrap().unwrap();
    assert_eq!(entry.job_id.as_deref(), Some(second.as_str()));
    assert_eq!(entry.token, "token-4");
}
