//! What the handlers are configured with: resource names, read from the Lambda environment in
//! AWS and set directly by the local pipeline.

/// Handler settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub region: String,
    pub account: String,
    pub job_queue: String,
    pub job_definition: String,
    pub scripts_bucket: String,
    pub topic_arn: String,
    pub state_machine_arn: String,
    /// Workflow name shown in notifications.
    pub workflow: String,
    pub send_success_notifications: bool,
    /// start-workflow only reacts to keys with this prefix and suffix.
    pub trigger_prefix: String,
    pub trigger_suffix: String,
    /// Where links in results and notifications point (the AWS console).
    pub console: String,
    /// The CloudWatch Logs group the Batch jobs write to (check-job tails it).
    pub job_log_group: String,
}

impl Settings {
    /// From the environment variables the SAM template sets (`RSQLFLOW_*`).
    pub fn from_env() -> Settings {
        let var = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_string());
        let region = var("AWS_REGION", "us-east-1");
        Settings {
            account: var("RSQLFLOW_ACCOUNT", ""),
            job_queue: var("RSQLFLOW_JOB_QUEUE", ""),
            job_definition: var("RSQLFLOW_JOB_DEFINITION", ""),
            scripts_bucket: var("RSQLFLOW_SCRIPTS_BUCKET", ""),
            topic_arn: var("RSQLFLOW_TOPIC_ARN", ""),
            state_machine_arn: var("RSQLFLOW_STATE_MACHINE_ARN", ""),
            workflow: var("RSQLFLOW_WORKFLOW", "rsql-etl"),
            send_success_notifications: var("RSQLFLOW_SEND_SUCCESS", "true") == "true",
            trigger_prefix: var("RSQLFLOW_TRIGGER_PREFIX", ""),
            trigger_suffix: var("RSQLFLOW_TRIGGER_SUFFIX", ""),
            console: format!("https://{region}.console.aws.amazon.com"),
            job_log_group: var("RSQLFLOW_LOG_GROUP", crate::aws::logs::BATCH_LOG_GROUP),
            region,
        }
    }

    /// Console link to a Batch job.
    pub fn job_url(&self, job_id: &str) -> String {
        format!(
            "{}/batch/home?region={}#jobs/detail/{job_id}",
            self.console, self.region
        )
    }

    /// Console link to a log stream of the Batch job log group.
    pub fn log_url(&self, log_stream: &str) -> String {
        format!(
            "{}/cloudwatch/home?region={}#logsV2:log-groups/log-group/{}/log-events/{}",
            self.console,
            self.region,
            self.job_log_group.replace('/', "$252F"),
            log_stream.replace('/', "$252F")
        )
    }

    /// Console link to an execution.
    pub fn execution_url(&self, execution_arn: &str) -> String {
        format!(
            "{}/states/home?region={}#/v2/executions/details/{execution_arn}",
            self.console, self.region
        )
    }
}
