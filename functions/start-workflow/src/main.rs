//! start-workflow Lambda: wiring only. Triggered by S3 "Object Created" events and schedules;
//! the handler is `etl::handlers::start_workflow`, the same code `rsqlflow trigger` calls.

use etl::aws::sfn::AwsStepFunctions;
use etl::handlers::start_workflow;
use etl::settings::Settings;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    etl::lambda::init_logging();
    let config = aws_config::load_from_env().await;
    let settings = Settings::from_env();
    let sfn = AwsStepFunctions::new(aws_sdk_sfn::Client::new(&config));
    let (settings, sfn) = (&settings, &sfn);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        start_workflow::handle(event.payload, settings, sfn).await
    }))
    .await
}
