//! notify Lambda: wiring only. Triggered by "Step Functions Execution Status Change" events;
//! the handler is `etl::handlers::notify`.

use etl::aws::batch::AwsBatch;
use etl::aws::sfn::AwsStepFunctions;
use etl::aws::sns::AwsSns;
use etl::handlers::notify;
use etl::settings::Settings;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    etl::lambda::init_logging();
    let config = aws_config::load_from_env().await;
    let settings = Settings::from_env();
    let sfn = AwsStepFunctions::new(aws_sdk_sfn::Client::new(&config));
    let sns = AwsSns::new(aws_sdk_sns::Client::new(&config));
    let batch = AwsBatch::new(aws_sdk_batch::Client::new(&config), &settings.job_queue);
    let (settings, sfn, sns, batch) = (&settings, &sfn, &sns, &batch);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        notify::handle(event.payload, settings, sfn, sns, batch).await
    }))
    .await
}
