//! AWS Batch locally: jobs queue, wait in RUNNABLE for a free slot (one for the embedded
//! warehouse), run their script through a [`ScriptRunner`], keep their log under the logs
//! directory, and emit "Batch Job State Change" events at every transition.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use asl::clock::Awake;
use async_trait::async_trait;
use redshift::ObjectStore;
use tokio::sync::Semaphore;

use crate::error::ServiceError;
use crate::events::batch_job_event;
use crate::local::bus::{BusSender, Delivery};
use crate::local::logs::LocalLogs;
use crate::local::runner::{ScriptEnd, ScriptJob, ScriptRunner};
use crate::services::{Batch, JobAttempt, JobDetail, JobStatus, NewJob};

/// Keeps the execution's virtual clock still while a job is queued or running.
pub type Hold = Arc<dyn Fn() -> Option<Awake> + Send + Sync>;

/// Local Batch.
#[derive(Clone)]
pub struct LocalBatch {
    inner: Arc<Inner>,
}

struct Inner {
    jobs: Mutex<BTreeMap<String, (JobDetail, NewJob)>>,
    tasks: Mutex<HashMap<String, tokio::task::AbortHandle>>,
    /// Every job's task, finished or not (see [`LocalBatch::settle`]).
    all_tasks: Mutex<Vec<tokio::task::AbortHandle>>,
    seq: AtomicU64,
    runner: Arc<dyn ScriptRunner>,
    scripts: Arc<dyn ObjectStore>,
    logs: LocalLogs,
    bus: BusSender,
    hold: Mutex<Option<Hold>>,
    slots: Arc<Semaphore>,
    inject: Mutex<HashMap<String, u32>>,
    region: String,
    account: String,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl LocalBatch {
    pub fn new(
        runner: Arc<dyn ScriptRunner>,
        scripts: Arc<dyn ObjectStore>,
        logs: LocalLogs,
        bus: BusSender,
        region: &str,
        account: &str,
    ) -> LocalBatch {
        let slots = Arc::new(Semaphore::new(runner.parallelism().max(1)));
        LocalBatch {
            inner: Arc::new(Inner {
                jobs: Mutex::new(BTreeMap::new()),
                tasks: Mutex::new(HashMap::new()),
                all_tasks: Mutex::new(Vec::new()),
                seq: AtomicU64::new(0),
                runner,
                scripts,
                logs,
                bus,
                hold: Mutex::new(None),
                slots,
                inject: Mutex::new(HashMap::new()),
                region: region.into(),
                account: account.into(),
            }),
        }
    }

    /// Sets how jobs hold the execution's clock.
    pub fn set_hold(&self, hold: Hold) {
        if let Ok(mut h) = self.inner.hold.lock() {
            *h = Some(hold);
        }
    }

    /// Makes the first `times` attempts of jobs named `job` (the spec's name) fail with an
    /// infrastructure error (a failed image pull), to exercise retries.
    pub fn inject_infrastructure_failure(&self, job: &str, times: u32) {
        if let Ok(mut m) = self.inner.inject.lock() {
            m.insert(job.to_string(), times);
        }
    }

    /// Every job so far.
    pub fn jobs(&self) -> Vec<JobDetail> {
        self.inner
            .jobs
            .lock()
            .map(|m| m.values().map(|(d, _)| d.clone()).collect())
            .unwrap_or_default()
    }

    /// Terminates every job not yet finished (TerminateJob, with `reason`) and returns when
    /// their tasks have stopped (a server's running statement is cancelled as they stop).
    /// Returns the ids of the jobs terminated.
    pub async fn terminate_all(&self, reason: &str) -> Vec<String> {
        let active: Vec<String> = self
            .jobs()
            .into_iter()
            .filter(|d| !d.status.is_final())
            .map(|d| d.id)
            .collect();
        let handles: Vec<tokio::task::AbortHandle> = self
            .inner
            .tasks
            .lock()
            .map(|t| active.iter().filter_map(|id| t.get(id).cloned()).collect())
            .unwrap_or_default();
        for id in &active {
            let _ = Batch::terminate(self, id, reason).await;
        }
        // Aborted tasks stop at their next await; wait for them (bounded: a task that never
        // yields would otherwise hold the caller forever).
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while handles.iter().any(|h| !h.is_finished()) && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        active
    }

    /// Waits until every job's task has ended (terminated ones stop at their next await; a
    /// server's statement is cancelled as they stop), at most `limit`.
    pub async fn settle(&self, limit: Duration) {
        let handles: Vec<tokio::task::AbortHandle> = self
            .inner
            .all_tasks
            .lock()
            .map(|t| t.clone())
            .unwrap_or_default();
        let deadline = tokio::time::Instant::now() + limit;
        while handles.iter().any(|h| !h.is_finished()) && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn update(&self, id: &str, f: impl FnOnce(&mut JobDetail)) -> Option<JobDetail> {
        let mut jobs = self.inner.jobs.lock().ok()?;
        let (d, _) = jobs.get_mut(id)?;
        f(d);
        Some(d.clone())
    }

    fn emit(&self, d: &JobDetail, hold: Option<Awake>) {
        let event = batch_job_event(d, &self.inner.region, &self.inner.account);
        let _ = self.inner.bus.send(Delivery { event, hold });
    }

    async fn run(&self, id: String, hold: Option<Awake>) {
        let Some(d) = self.update(&id, |d| d.status = JobStatus::Runnable) else {
            return;
        };
        self.emit(&d, None);
        let Ok(_permit) = self.inner.slots.clone().acquire_owned().await else {
            return;
        };
        let log_stream = LocalLogs::stream(&id);
        let started = now_ms();
        let Some(d) = self.update(&id, |d| {
            d.status = JobStatus::Running;
            d.started_at = Some(started);
            d.log_stream = Some(log_stream.clone());
        }) else {
            return;
        };
        self.emit(&d, None);
        let spec = self
            .inner
            .jobs
            .lock()
            .ok()
            .and_then(|m| m.get(&id).map(|(_, j)| j.clone()));
        let Some(spec) = spec else { return };
        let job_name = spec
            .environment
            .get("RSQLFLOW_JOB")
            .cloned()
            .unwrap_or_default();
        let injected = self
            .inner
            .inject
            .lock()
            .ok()
            .and_then(|mut m| {
                let left = m.get_mut(&job_name)?;
                (*left > 0).then(|| {
                    *left -= 1;
                })
            })
            .is_some();
        let (status, exit_code, status_reason, container_reason) = if injected {
            (
                JobStatus::Failed,
                None,
                Some("Task failed to start".to_string()),
                Some("CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref (injected by --inject-infra-failure)".to_string()),
            )
        } else {
            match self.run_script(&id, &spec, &log_stream).await {
                ScriptEnd::Exited(0) => (
                    JobStatus::Succeeded,
                    Some(0),
                    Some("Essential container in task exited".to_string()),
                    None,
                ),
                ScriptEnd::Exited(c) => (
                    JobStatus::Failed,
                    Some(c),
                    Some("Essential container in task exited".to_string()),
                    None,
                ),
                ScriptEnd::TimedOut => (
                    JobStatus::Failed,
                    None,
                    Some("Job attempt duration exceeded timeout".to_string()),
                    None,
                ),
            }
        };
        let stopped = now_ms();
        let Some(d) = self.update(&id, |d| {
            d.status = status;
            d.exit_code = exit_code;
            d.status_reason = status_reason.clone();
            d.container_reason = container_reason.clone();
            d.stopped_at = Some(stopped);
            d.attempts.push(JobAttempt {
                exit_code,
                reason: container_reason.clone(),
                status_reason: status_reason.clone(),
                log_stream: Some(log_stream.clone()),
                started_at: Some(started),
                stopped_at: Some(stopped),
            });
        }) else {
            return;
        };
        drop(_permit);
        self.emit(&d, hold);
    }

    async fn run_script(&self, id: &str, spec: &NewJob, log_stream: &str) -> ScriptEnd {
        let log = self.inner.logs.path(log_stream);
        let uri = spec
            .environment
            .get("RSQLFLOW_SCRIPT")
            .cloned()
            .unwrap_or_default();
        let script = crate::job::fetch_script(self.inner.scripts.as_ref(), &uri).await;
        let variables = crate::job::parse_variables(
            spec.environment
                .get("RSQLFLOW_VARIABLES")
                .map(String::as_str)
                .unwrap_or(""),
        );
        let (text, variables) = match (script, variables) {
            (Ok(t), Ok(v)) => (t, v),
            (Err(e), _) | (_, Err(e)) => {
                let _ = tokio::fs::create_dir_all(self.inner.logs.dir()).await;
                let _ = tokio::fs::write(&log, format!("rsqlflow job {id}: {e}\n")).await;
                return ScriptEnd::Exited(e.exit_code());
            }
        };
        self.inner
            .runner
            .run(ScriptJob {
                name: uri,
                text,
                variables,
                log,
                timeout: spec.timeout_seconds.map(Duration::from_secs),
            })
            .await
    }
}

#[async_trait]
impl Batch for LocalBatch {
    async fn submit(&self, job: NewJob) -> Result<String, ServiceError> {
        let n = self.inner.seq.fetch_add(1, Ordering::Relaxed) + 1;
        let id = format!(
            "local-{:04}-{}",
            n,
            crate::handlers::submit_job::short_hash(&job.name)
        );
        let detail = JobDetail {
            id: id.clone(),
            name: job.name.clone(),
            queue: job.queue.clone(),
            status: JobStatus::Submitted,
            status_reason: None,
            exit_code: None,
            container_reason: None,
            log_stream: None,
            attempts: Vec::new(),
            created_at: Some(now_ms()),
            started_at: None,
            stopped_at: None,
            parameters: job.parameters.clone(),
            tags: job.tags.clone(),
            timeout_seconds: job.timeout_seconds,
        };
        if let Ok(mut m) = self.inner.jobs.lock() {
            m.insert(id.clone(), (detail.clone(), job));
        }
        self.emit(&detail, None);
        // Hold the clock from now on: the Task state waiting for this job must not time out
        // in virtual time while the job is queued or running.
        let hold = self
            .inner
            .hold
            .lock()
            .ok()
            .and_then(|h| h.clone())
            .and_then(|h| h());
        let me = self.clone();
        let task_id = id.clone();
        let handle = tokio::spawn(async move { me.run(task_id, hold).await });
        if let Ok(mut t) = self.inner.tasks.lock() {
            t.insert(id.clone(), handle.abort_handle());
        }
        if let Ok(mut t) = self.inner.all_tasks.lock() {
            t.push(handle.abort_handle());
        }
        Ok(id)
    }

    async fn describe(&self, job_id: &str) -> Result<JobDetail, ServiceError> {
        self.inner
            .jobs
            .lock()
            .ok()
            .and_then(|m| m.get(job_id).map(|(d, _)| d.clone()))
            .ok_or_else(|| ServiceError::no_such_job(job_id))
    }

    async fn active_jobs_tagged(
        &self,
        tag: &str,
        value: &str,
    ) -> Result<Vec<String>, ServiceError> {
        Ok(self
            .jobs()
            .into_iter()
            .filter(|d| !d.status.is_final() && d.tags.get(tag).map(String::as_str) == Some(value))
            .map(|d| d.id)
            .collect())
    }

    async fn terminate(&self, job_id: &str, reason: &str) -> Result<(), ServiceError> {
        if let Some(h) = self
            .inner
            .tasks
            .lock()
            .ok()
            .and_then(|mut t| t.remove(job_id))
        {
            h.abort();
        }
        let d = self.update(job_id, |d| {
            if !d.status.is_final() {
                d.status = JobStatus::Failed;
                d.status_reason = Some(format!("Terminated: {reason}"));
                d.stopped_at = Some(now_ms());
            }
        });
        match d {
            Some(d) => {
                self.emit(&d, None);
                Ok(())
            }
            None => Err(ServiceError::no_such_job(job_id)),
        }
    }
}
