//! The framework's AWS implementations through the real SDK clients against moto's server:
//! StartExecution with a duplicate name (start-workflow's idempotence), SendTaskSuccess, and
//! SNS publish read back through an SQS subscription. Runs when `RSQLFLOW_TEST_MOTO` names a moto_server executable.

mod support;

use etl::aws::sfn::AwsStepFunctions;
use etl::aws::sns::AwsSns;
use etl::services::{Notification, Notifier, Started, StepFunctions};
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
async fn step_functions_and_sns_through_the_sdk() {
    let Some(moto) = support::moto::Moto::start() else {
        eprintln!("skipped: set RSQLFLOW_TEST_MOTO to a moto_server executable");
        return;
    };
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
        state_machine_arn: sm_arn.clone(),
        trigger_suffix: ".csv".into(),
        ..etl::settings::Settings::from_env()
    };
    let event = etl::events::s3_object_created("data", "in/orders.csv", 10, "e1", "00A1");
    let first = etl::handlers::start_workflow::handle(event.clone(), &settings, &sfn)
        .await
        .expect("start-workflow");
    let name = first["name"].as_str().unwrap().to_string();
    assert!(first["started"].is_string(), "{first}");
    let again = etl::handlers::start_workflow::handle(event, &settings, &sfn)
        .await
        .expect("second delivery");
    // StartExecution is idempotent for a running execution with the same name and input (the
    // same ARN comes back); a closed one or another input gives ExecutionAlreadyExists. Either
    // way the redelivery lands on the first execution.
    let arn_of = |v: &Value| {
        v["existing"]
            .as_str()
            .or(v["started"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(arn_of(&again), arn_of(&first), "{again}");
    assert_eq!(again["name"], name.as_str());
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
