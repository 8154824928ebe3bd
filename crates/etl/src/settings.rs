//! What the handlers are configured with: resource names, read from the Lambda environment in
//! AWS (the names below, which template.yaml sets) and set directly by the local pipeline.

use crate::routes::{self, Route, RoutesError};

/// The log group AWS Batch writes job output to, unless `RSQLFLOW_LOG_GROUP` names another.
pub const BATCH_LOG_GROUP: &str = "/aws/batch/job";

/// The environment variables [`Settings::from_lookup`] reads, one per field.
pub mod vars {
    /// `region` (set by the Lambda runtime).
    pub const REGION: &str = "AWS_REGION";
    /// `account`.
    pub const ACCOUNT: &str = "RSQLFLOW_ACCOUNT";
    /// `job_queue`.
    pub const JOB_QUEUE: &str = "RSQLFLOW_JOB_QUEUE";
    /// `job_definition`.
    pub const JOB_DEFINITION: &str = "RSQLFLOW_JOB_DEFINITION";
    /// `scripts_bucket`.
    pub const SCRIPTS_BUCKET: &str = "RSQLFLOW_SCRIPTS_BUCKET";
    /// `topic_arn`.
    pub const TOPIC_ARN: &str = "RSQLFLOW_TOPIC_ARN";
    /// `routes`: start-workflow's routing table (JSON, see [`crate::routes`]).
    pub const ROUTES: &str = "RSQLFLOW_ROUTES";
    /// `workflow`.
    pub const WORKFLOW: &str = "RSQLFLOW_WORKFLOW";
    /// `send_success_notifications`: `true` (the default), anything else is false.
    pub const SEND_SUCCESS: &str = "RSQLFLOW_SEND_SUCCESS";
    /// `job_log_group`.
    pub const LOG_GROUP: &str = "RSQLFLOW_LOG_GROUP";
    /// `submissions_table`.
    pub const SUBMISSIONS_TABLE: &str = "RSQLFLOW_SUBMISSIONS_TABLE";

    /// Every `RSQLFLOW_*` one (template.yaml sets these for the Lambdas).
    pub const RSQLFLOW: [&str; 10] = [
        ACCOUNT,
        JOB_QUEUE,
        JOB_DEFINITION,
        SCRIPTS_BUCKET,
        TOPIC_ARN,
        ROUTES,
        WORKFLOW,
        SEND_SUCCESS,
        LOG_GROUP,
        SUBMISSIONS_TABLE,
    ];
}

/// Handler settings. [`Default`] is what an empty environment gives.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub region: String,
    pub account: String,
    pub job_queue: String,
    pub job_definition: String,
    pub scripts_bucket: String,
    pub topic_arn: String,
    /// Which workflow each trigger starts (start-workflow); a table that cannot be read is
    /// kept as its error, which every trigger then reports.
    pub routes: Result<Vec<Route>, RoutesError>,
    /// Workflow name shown in notifications.
    pub workflow: String,
    pub send_success_notifications: bool,
    /// Where links in results and notifications point (the AWS console).
    pub console: String,
    /// The CloudWatch Logs group the Batch jobs write to (check-job tails it).
    pub job_log_group: String,
    /// The DynamoDB table of the submissions ledger (submit-job and check-job).
    pub submissions_table: String,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings::from_lookup(|_| None)
    }
}

impl Settings {
    /// From the process environment (the variables the SAM template sets).
    pub fn from_env() -> Settings {
        Settings::from_lookup(|k| std::env::var(k).ok())
    }

    /// From `lookup` (variable name -> value); absent variables take their defaults.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Settings {
        use vars::*;
        let var = |k: &str, d: &str| lookup(k).unwrap_or_else(|| d.to_string());
        let region = var(REGION, "us-east-1");
        Settings {
            account: var(ACCOUNT, ""),
            job_queue: var(JOB_QUEUE, ""),
            job_definition: var(JOB_DEFINITION, ""),
            scripts_bucket: var(SCRIPTS_BUCKET, ""),
            topic_arn: var(TOPIC_ARN, ""),
            routes: lookup(ROUTES)
                .map(|t| routes::parse(&t))
                .unwrap_or(Ok(Vec::new())),
            workflow: var(WORKFLOW, "rsql-etl"),
            send_success_notifications: var(SEND_SUCCESS, "true") == "true",
            console: format!("https://{region}.console.aws.amazon.com"),
            job_log_group: var(LOG_GROUP, BATCH_LOG_GROUP),
            submissions_table: var(SUBMISSIONS_TABLE, ""),
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

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    #[test]
    fn from_lookup_reads_every_listed_name_and_nothing_else() {
        let asked = RefCell::new(Vec::new());
        let s = Settings::from_lookup(|k| {
            asked.borrow_mut().push(k.to_string());
            Some(format!("v-{k}"))
        });
        let mut asked = asked.into_inner();
        asked.sort();
        let mut listed: Vec<String> = vars::RSQLFLOW.iter().map(|n| n.to_string()).collect();
        listed.push(vars::REGION.into());
        listed.sort();
        assert_eq!(asked, listed);
        assert_eq!(s.job_queue, "v-RSQLFLOW_JOB_QUEUE");
        assert!(matches!(s.routes, Err(RoutesError::Json(_))));
        assert_eq!(s.console, "https://v-AWS_REGION.console.aws.amazon.com");
        assert!(!s.send_success_notifications);
    }

    #[test]
    fn defaults_without_an_environment() {
        let s = Settings::default();
        assert_eq!(s.region, "us-east-1");
        assert_eq!(s.workflow, "rsql-etl");
        assert!(s.send_success_notifications);
        assert_eq!(s.job_log_group, BATCH_LOG_GROUP);
        assert_eq!(s.job_queue, "");
        assert_eq!(s.routes, Ok(Vec::new()));
    }
}
