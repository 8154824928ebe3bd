//! submit-job Lambda: wiring only. Invoked by `lambda:invoke.waitForTaskToken` Task states;
//! the handler is `etl::handlers::submit_job`, the same code `rsqlflow run` calls.

use etl::aws::batch::AwsBatch;
use etl::aws::dynamodb::AwsSubmissions;
use etl::handlers::submit_job;
use etl::settings::Settings;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    etl::lambda::init_logging();
    // One client each per cold start.
    let config = aws_config::load_from_env().await;
    let settings = Settings::from_env();
    let batch = AwsBatch::new(aws_sdk_batch::Client::new(&config), &settings.job_queue);
    let ledger = AwsSubmissions::new(
        aws_sdk_dynamodb::Client::new(&config),
        &settings.submissions_table,
    );
    let scripts = etl::AwsS3::from_config(&config);
    let (settings, batch, ledger, scripts) = (&settings, &batch, &ledger, &scripts);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        submit_job::handle(event.payload, settings, batch, ledger, scripts).await
    }))
    .await
}
