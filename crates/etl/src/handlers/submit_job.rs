//! submit-job: invoked by a Task state (`lambda:invoke.waitForTaskToken`); validates the job
//! spec, submits the Batch job carrying the task token, and returns at once. The state waits
//! until check-job answers the token.
//!
//! Submission is idempotent per step (execution, state, redrive count, job spec): the step is
//! claimed in the submissions ledger with a conditional write before its job is submitted,
//! under a name derived from the step and the attempt. A retried invocation (a `Lambda.*`
//! Retry after Batch accepted the job: each retry gets a new task token) finds the claim and
//! adopts the job: it points the entry at its own token, which check-job then answers. Once
//! check-job has taken a job's answer, the next invocation for the step is a new run of it (the
//! state's Retry after a failed job, a loop re-entering the state) and submits a new attempt.

use std::time::Duration;

use objects::ObjectStore;
use serde_json::{Value, json};

use crate::contract::tags::{TOKEN_PARAMETER, job_tags, step_key, step_tag};
use crate::contract::{JobEnvironment, short_hash};
use crate::error::{ErrorKind, HandlerError, JobError, ServiceError};
use crate::handlers::with_retries;
use crate::services::{Batch, NewJob, Submission, Submissions};
use crate::settings::Settings;
use crate::spec::{SubmitRequest, batch_job_name};

/// How long a claim without a job protects its submitter: longer than the submit-job Lambda's
/// timeout (60 s in template.yaml), so a claimant that has not recorded its job by then is
/// gone, and its attempt may be submitted by the next invocation.
pub const CLAIM_LEASE: Duration = Duration::from_secs(90);

/// How long an invocation waits for another one's claimed submission to record its job before
/// it gives up with a transient error (the state's Retry tries again).
pub const CLAIM_WAIT: Duration = Duration::from_secs(20);

/// How long a ledger entry is kept (DynamoDB's TTL deletes it after): beyond the 14 days in
/// which an execution can be redriven and any run of one step.
pub const ENTRY_DAYS: i64 = 30;

/// Conflicting writes one invocation tolerates before it reports a transient error.
const MAX_CONFLICTS: u32 = 20;

const POLL: Duration = Duration::from_millis(250);

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// What one invocation knows about the step it submits.
struct Step {
    key: String,
    execution_arn: String,
    state: String,
    tag: String,
    job: String,
}

impl Step {
    /// The Batch job name of `attempt`: unique per step and attempt, the same for every
    /// invocation (so a retry can find an accepted job by it).
    fn job_name(&self, attempt: u32) -> String {
        let nonce = format!("{}-{attempt}", short_hash(&self.key));
        batch_job_name(&self.execution_arn, &self.state, &self.job, &nonce)
    }

    fn attempt(&self, attempt: u32, token: &str, version: u64) -> Submission {
        Submission {
            key: self.key.clone(),
            token: token.to_string(),
            attempt,
            job_name: self.job_name(attempt),
            job_id: None,
            claimed_at: now_ms(),
            answered: false,
            version,
            expires_at: chrono::Utc::now().timestamp() + ENTRY_DAYS * 86_400,
        }
    }
}

fn busy(key: &str) -> HandlerError {
    ServiceError::Transient {
        service: "submissions",
        message: format!("step {key} is being submitted by another invocation"),
    }
    .into()
}

/// Handles one invocation.
pub async fn handle(
    event: Value,
    settings: &Settings,
    batch: &dyn Batch,
    ledger: &dyn Submissions,
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
    // The spec's serialization is stable (fields in order, variables in a BTreeMap).
    let spec_hash = short_hash(&serde_json::to_string(&req.job).unwrap_or_default());
    let tag = step_tag(req.redrive_count, &spec_hash);
    let step = Step {
        key: step_key(&req.execution_arn, &state, &tag),
        execution_arn: req.execution_arn.clone(),
        state: state.clone(),
        tag,
        job: req.job.name.clone(),
    };
    let environment = JobEnvironment {
        script: loc.uri(),
        variables: req.job.variables.clone(),
        job: req.job.name.clone(),
    };
    let new_job = |name: &str| NewJob {
        name: name.to_string(),
        queue: settings.job_queue.clone(),
        definition: settings.job_definition.clone(),
        parameters: [(TOKEN_PARAMETER.to_string(), req.task_token.clone())].into(),
        environment: environment.render(),
        tags: job_tags(&req.execution_arn, &state, &req.job.name, &step.tag),
        timeout_seconds: req.job.timeout_seconds,
        vcpus: req.job.vcpus,
        memory_mib: req.job.memory_mib,
    };
    let token = req.task_token.as_str();
    let started = tokio::time::Instant::now();
    let mut conflicts = 0;
    loop {
        if conflicts > MAX_CONFLICTS {
            return Err(busy(&step.key));
        }
        let entry = with_retries(|| ledger.get(&step.key)).await?;
        let claim = match entry {
            // The step's first job.
            None => step.attempt(1, token, 0),
            // check-job took the last job's answer: this is a new run of the step.
            Some(e) if e.answered => step.attempt(e.attempt + 1, token, e.version),
            Some(mut e) => {
                if let Some(id) = e.job_id.clone() {
                    // The step's job is queued or running (or just over, its answer not yet
                    // taken): adopt it, its answer goes to this invocation's token.
                    if e.token != token {
                        e.token = token.to_string();
                        if !with_retries(|| ledger.put(&e)).await? {
                            conflicts += 1;
                            continue;
                        }
                    }
                    return Ok(adopted(&id, &e));
                }
                // Claimed, no job recorded: the claimant's SubmitJob may have been accepted
                // (and the claimant timed out before recording it), or be under way.
                if let Some(id) = with_retries(|| batch.find_by_name(&e.job_name)).await? {
                    e.job_id = Some(id.clone());
                    e.token = token.to_string();
                    if !with_retries(|| ledger.put(&e)).await? {
                        conflicts += 1;
                        continue;
                    }
                    return Ok(adopted(&id, &e));
                }
                let age = now_ms().saturating_sub(e.claimed_at);
                if age < CLAIM_LEASE.as_millis() as i64 {
                    // The claimant may still submit: take the token, wait for its job.
                    if e.token != token {
                        e.token = token.to_string();
                        if !with_retries(|| ledger.put(&e)).await? {
                            conflicts += 1;
                            continue;
                        }
                    }
                    if started.elapsed() >= CLAIM_WAIT {
                        return Err(busy(&step.key));
                    }
                    tokio::time::sleep(POLL).await;
                    continue;
                }
                // The claimant is gone without a job: submit the attempt here.
                let mut c = step.attempt(e.attempt, token, e.version);
                c.job_name = e.job_name.clone();
                c
            }
        };
        if !with_retries(|| ledger.put(&claim)).await? {
            conflicts += 1;
            continue;
        }
        let claim = Submission {
            version: claim.version + 1,
            ..claim
        };
        return submit(&claim, new_job(&claim.job_name), batch, ledger, &loc.uri()).await;
    }
}

fn adopted(id: &str, e: &Submission) -> Value {
    tracing::info!(job_id = %id, job_name = %e.job_name, attempt = e.attempt, "adopted the step's job (a retried submission)");
    json!({"jobId": id, "jobName": e.job_name, "attempt": e.attempt, "adopted": true})
}

/// Submits the claimed attempt's job and records it in the ledger.
async fn submit(
    claim: &Submission,
    job: NewJob,
    batch: &dyn Batch,
    ledger: &dyn Submissions,
    script: &str,
) -> Result<Value, HandlerError> {
    let name = job.name.clone();
    // Not `with_retries`: a SubmitJob that failed on a timeout or a 5xx may have been
    // accepted, so before each new try the job is looked for by its name.
    let mut delay = Duration::from_millis(200);
    let mut tries = 1;
    let id = loop {
        match batch.submit(job.clone()).await {
            Ok(id) => break id,
            Err(e) if e.is_transient() && tries < 3 => {
                tracing::warn!(attempt = tries, error = %e, "SubmitJob failed; looking for the job before trying again");
                tokio::time::sleep(delay).await;
                delay *= 4;
                tries += 1;
                if let Ok(Some(id)) = batch.find_by_name(&name).await {
                    break id;
                }
            }
            Err(e) => {
                if !e.is_transient() {
                    // Refused, so certainly not submitted: give the claim up at once (the
                    // next invocation submits without waiting out the lease).
                    let released = Submission {
                        claimed_at: 0,
                        ..claim.clone()
                    };
                    let _ = ledger.put(&released).await;
                }
                return Err(e.into());
            }
        }
    };
    // Record the job; on a conflict (another invocation took the token meanwhile), again on
    // the newer entry, keeping its token.
    let mut entry = claim.clone();
    for _ in 0..MAX_CONFLICTS {
        entry.job_id = Some(id.clone());
        if with_retries(|| ledger.put(&entry)).await? {
            break;
        }
        match with_retries(|| ledger.get(&claim.key)).await? {
            Some(e) if e.attempt == claim.attempt && e.job_id.is_none() => entry = e,
            Some(e) if e.job_id.as_deref() == Some(id.as_str()) => break,
            other => {
                tracing::warn!(job_id = %id, entry = ?other, "the step's entry moved on; the job is not recorded");
                break;
            }
        }
    }
    tracing::info!(job_id = %id, job_name = %name, attempt = claim.attempt, script = %script, "submitted");
    Ok(json!({"jobId": id, "jobName": name, "attempt": claim.attempt, "adopted": false}))
}
