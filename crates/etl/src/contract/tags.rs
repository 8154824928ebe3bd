//! What submit-job attaches to every Batch job besides its environment: the tags check-job
//! and notify find a job's spec and execution by, and the parameter carrying the task token.

use std::collections::BTreeMap;

/// Tag holding the execution ARN (notify stops an ended execution's jobs by it).
pub const EXECUTION_TAG: &str = "rsqlflow:execution";
/// Tag holding the Task state's name.
pub const STATE_TAG: &str = "rsqlflow:state";
/// Tag holding the job spec's name (check-job's result and failure cause name the job by it).
pub const JOB_TAG: &str = "rsqlflow:job";
/// Job parameter holding the task token check-job answers (a parameter, not an environment
/// variable, so the container never sees it).
pub const TOKEN_PARAMETER: &str = "taskToken";

/// The tags of a job for `job` of Task state `state` in execution `execution_arn`.
pub fn job_tags(execution_arn: &str, state: &str, job: &str) -> BTreeMap<String, String> {
    [
        (EXECUTION_TAG.to_string(), execution_arn.to_string()),
        (STATE_TAG.to_string(), state.to_string()),
        (JOB_TAG.to_string(), job.to_string()),
    ]
    .into()
}
