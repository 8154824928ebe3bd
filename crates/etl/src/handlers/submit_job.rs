//! submit-job: invoked by a Task state (`lambda:invoke.waitForTaskToken`); validates the job
//! spec, submits the Batch job carrying the task token, and returns at once. The state waits
//! until check-job answers the token.

use std::collections::BTreeMap;

use objects::ObjectStore;
use serde_json::{Value, json};

use crate::error::{ErrorKind, HandlerError, JobError};
use crate::handlers::with_retries;
use crate::services::{Batch, NewJob};
use crate::settings::Settings;
use crate::spec::{SubmitRequest, batch_job_name};

/// Tag holding the execution ARN on every job.
pub const EXECUTION_TAG: &str = "rsqlflow:execution";
/// Tag holding the state name.
pub const STATE_TAG: &str = "rsqlflow:state";
/// Tag holding the job spec's name.
pub const JOB_TAG: &str = "rsqlflow:job";
/// Job parameter holding the task token.
pub const TOKEN_PARAMETER: &str = "taskToken";

/// Handles one invocation.
pub async fn handle(
    event: Value,
    settings: &Settings,
    batch: &dyn Batch,
    scripts: &dyn ObjectStore,
) -> Result<Value, HandlerError> {
    let req: SubmitRequest = serde_json::from_value(event).map_err(|e| {
        JobError::new(
            ErrorKind::InvalidJobSpec,
            format!("the request is not a job spec: {e}"),
        )
    })?;
    req.job.validate()?;
    if req.task_token.is_empty() {
        return Err(JobError::new(ErrorKind::InvalidJobSpec, "taskToken is empty").into());
    }
    let loc = req.job.script_location(&settings.scripts_bucket)?;
    let found = scripts
        .list(&loc.bucket, &loc.key)
        .await
        .map_err(|e| JobError::new(ErrorKind::InvalidJobSpec, format!("job.script: {e}")))?;
    if !found.iter().any(|o| o.key == loc.key) {
        return Err(JobError::new(
            ErrorKind::InvalidJobSpec,
            format!("job.script: {} does not exist", loc.uri()),
        )
        .into());
    }
    let state = req
        .state_name
        .clone()
        .unwrap_or_else(|| req.job.name.clone());
    let nonce = short_hash(&req.task_token);
    let name = batch_job_name(&req.execution_arn, &state, &req.job.name, &nonce);
    let mut environment = BTreeMap::new();
    environment.insert("RSQLFLOW_SCRIPT".to_string(), loc.uri());
    environment.insert(
        "RSQLFLOW_VARIABLES".to_string(),
        serde_json::to_string(&req.job.variables).unwrap_or_default(),
    );
    environment.insert("RSQLFLOW_JOB".to_string(), req.job.name.clone());
    let job = NewJob {
        name: name.clone(),
        queue: settings.job_queue.clone(),
        definition: settings.job_definition.clone(),
        parameters: [(TOKEN_PARAMETER.to_string(), req.task_token.clone())].into(),
        environment,
        tags: [
            (EXECUTION_TAG.to_string(), req.execution_arn.clone()),
            (STATE_TAG.to_string(), state),
            (JOB_TAG.to_string(), req.job.name.clone()),
        ]
        .into(),
        timeout_seconds: req.job.timeout_seconds,
        vcpus: req.job.vcpus,
        memory_mib: req.job.memory_mib,
    };
    let id = with_retries(|| batch.submit(job.clone())).await?;
    tracing::info!(job_id = %id, job_name = %name, script = %loc.uri(), "submitted");
    Ok(json!({"jobId": id, "jobName": name}))
}

/// A short stable hash (FNV-1a, hex) that makes job names unique per task token.
pub fn short_hash(s: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{:08x}", h as u32)
}
