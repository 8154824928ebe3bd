//! submit-job: invoked by a Task state (`lambda:invoke.waitForTaskToken`); validates the job
//! spec, submits the Batch job carrying the task token, and returns at once. The state waits
//! until check-job answers the token.

use objects::ObjectStore;
use serde_json::{Value, json};

use crate::contract::tags::{TOKEN_PARAMETER, job_tags};
use crate::contract::{JobEnvironment, short_hash};
use crate::error::{ErrorKind, HandlerError, JobError};
use crate::handlers::with_retries;
use crate::services::{Batch, NewJob};
use crate::settings::Settings;
use crate::spec::{SubmitRequest, batch_job_name};

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
    let environment = JobEnvironment {
        script: loc.uri(),
        variables: req.job.variables.clone(),
        job: req.job.name.clone(),
    };
    let job = NewJob {
        name: name.clone(),
        queue: settings.job_queue.clone(),
        definition: settings.job_definition.clone(),
        parameters: [(TOKEN_PARAMETER.to_string(), req.task_token.clone())].into(),
        environment: environment.render(),
        tags: job_tags(&req.execution_arn, &state, &req.job.name),
        timeout_seconds: req.job.timeout_seconds,
        vcpus: req.job.vcpus,
        memory_mib: req.job.memory_mib,
    };
    let id = with_retries(|| batch.submit(job.clone())).await?;
    tracing::info!(job_id = %id, job_name = %name, script = %loc.uri(), "submitted");
    Ok(json!({"jobId": id, "jobName": name}))
}
