//! check-job Lambda: wiring only. Triggered by "Batch Job State Change" events; the handler
//! is `etl::handlers::check_job`, the same code the local pipeline routes events to.

use etl::aws::dynamodb::AwsSubmissions;
use etl::aws::logs::AwsLogs;
use etl::aws::sfn::AwsStepFunctions;
use etl::handlers::check_job;
use etl::settings::Settings;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    etl::lambda::init_logging();
    let config = aws_config::load_from_env().await;
    let settings = Settings::from_env();
    let sfn = AwsStepFunctions::new(aws_sdk_sfn::Client::new(&config));
    let logs = AwsLogs::new(
        aws_sdk_cloudwatchlogs::Client::new(&config),
        &settings.job_log_group,
    );
    let ledger = AwsSubmissions::new(
        aws_sdk_dynamodb::Client::new(&config),
        &settings.submissions_table,
    );
    let (settings, sfn, logs, ledger) = (&settings, &sfn, &logs, &ledger);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        check_job::handle(event.payload, settings, sfn, logs, ledger).await
    }))
    .await
}
