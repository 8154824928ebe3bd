//! Lambda locally: `arn:aws:states:::lambda:invoke` Task states call the framework's handlers
//! in process, as the Lambda runtime would call the deployed binaries.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::handlers::submit_job;
use crate::local::batch::LocalBatch;
use crate::local::pipeline::Progress;
use crate::local::submissions::LocalSubmissions;
use crate::services::{Batch, JobStatus};
use crate::settings::Settings;

/// The functions a state machine can invoke locally.
pub struct LocalLambda {
    pub submit_job_name: String,
    pub settings: Settings,
    pub batch: LocalBatch,
    pub ledger: Arc<LocalSubmissions>,
    pub scripts: Arc<dyn objects::ObjectStore>,
    /// Spec names of jobs whose first submission is answered with `Lambda.ServiceException`
    /// once its job is RUNNABLE: the Task's Retry invokes submit-job again with a new task
    /// token, as after a Lambda service error once the function had run
    /// (`--inject-duplicate-submit`). The job waits in RUNNABLE until the retry has come (see
    /// [`LocalBatch::hold_in_runnable`], which the pipeline sets for these jobs).
    pub duplicate_submits: Mutex<BTreeSet<String>>,
    /// Where the duplicate's outcome is said.
    pub progress: Option<Arc<dyn Progress>>,
    /// Where each invocation's duration goes (the run's cost estimate).
    pub meter: Option<Arc<crate::local::meter::Meter>>,
}

fn function_name(s: &str) -> &str {
    s.rsplit_once(":function:")
        .map(|(_, n)| n.split(':').next().unwrap_or(n))
        .unwrap_or(s)
}

impl LocalLambda {
    /// Whether this submission of `job` is the one to duplicate (each listed job once).
    fn take_duplicate(&self, job: &str) -> bool {
        self.duplicate_submits
            .lock()
            .map(|mut s| s.remove(job))
            .unwrap_or(false)
    }

    fn say(&self, text: &str) {
        if let Some(p) = &self.progress {
            p.line(text);
        }
    }

    /// Waits (real time, at most 60 s) until job `id` is RUNNABLE or RUNNING, or over.
    async fn until_queued_or_running(&self, id: &str) -> Option<JobStatus> {
        // The Task's timeout must not pass in virtual time meanwhile.
        let _awake = self.batch.take_hold();
        let t0 = Instant::now();
        loop {
            let status = self.batch.describe(id).await.ok()?.status;
            if matches!(status, JobStatus::Runnable | JobStatus::Running) || status.is_final() {
                return Some(status);
            }
            if t0.elapsed() > Duration::from_secs(60) {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

#[async_trait]
impl asl::TaskHandler for LocalLambda {
    async fn invoke(
        &self,
        call: asl::TaskCall,
        _ctx: asl::TaskContext,
    ) -> Result<Value, asl::TaskFailure> {
        // The function runs for real: virtual time stands still until it answers (else a Task's
        // timeout could pass while the invocation is under way on a busy machine).
        let _running = self.batch.take_hold();
        let target = call.input["FunctionName"].as_str().unwrap_or("");
        let payload = call.input.get("Payload").cloned().unwrap_or(json!({}));
        if function_name(target) != function_name(&self.submit_job_name) {
            return Err(asl::TaskFailure::new(
                "Lambda.ResourceNotFoundException",
                format!(
                    "Function not found: {target} (the local pipeline serves {})",
                    self.submit_job_name
                ),
            ));
        }
        let job = payload["job"]["name"].as_str().unwrap_or("").to_string();
        let duplicate = self.take_duplicate(&job);
        let state = payload["stateName"].as_str().unwrap_or("").to_string();
        let answer = crate::local::meter::timed(
            self.meter.as_deref(),
            "submit-job",
            submit_job::handle(
                payload,
                &self.settings,
                &self.batch,
                self.ledger.as_ref(),
                self.scripts.as_ref(),
            ),
        )
        .await;
        match answer {
            Ok(v) => {
                if duplicate && let Some(id) = v["jobId"].as_str() {
                    let status = self.until_queued_or_running(id).await;
                    self.say(&format!(
                        "inject: submit-job for {state} ({job}) submitted job {id}; answering Lambda.ServiceException while it is {} so that the state retries the submission",
                        status.map(|s| s.as_str()).unwrap_or("gone")
                    ));
                    return Err(asl::TaskFailure::new(
                        "Lambda.ServiceException",
                        json!({"errorMessage": "Lambda service error after the function ran (injected by --inject-duplicate-submit)", "errorType": "ServiceException"}).to_string(),
                    ));
                }
                if v["adopted"] == json!(true) {
                    if let Some(id) = v["jobId"].as_str() {
                        self.batch.release(id);
                    }
                    self.say(&format!(
                        "duplicate submit-job for {state} ({job}) adopted job {} (attempt {}): no second job",
                        v["jobId"].as_str().unwrap_or(""),
                        v["attempt"]
                    ));
                }
                Ok(json!({"ExecutedVersion": "$LATEST", "Payload": v, "StatusCode": 200}))
            }
            Err(e) => {
                let ty = e.error_type();
                Err(asl::TaskFailure::new(
                    ty.clone(),
                    json!({"errorMessage": e.to_string(), "errorType": ty}).to_string(),
                ))
            }
        }
    }
}
