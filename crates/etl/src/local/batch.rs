//! AWS Batch locally: jobs queue, wait in RUNNABLE for a free slot (one for the embedded
//! warehouse), run their script through a [`ScriptRunner`], keep their log under the logs
//! directory, and emit "Batch Job State Change" events at every transition.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use asl::clock::Awake;
use async_trait::async_trait;
use objects::ObjectStore;
use tokio::sync::{Semaphore, oneshot, watch};

use crate::contract::{EnvironmentError, JobEnvironment, fetch_script, short_hash};
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
    /// Per job: closed when its task has ended (finished, or dropped once aborted).
    ended: Mutex<HashMap<String, watch::Receiver<()>>>,
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
    /// Spec names whose next job waits in RUNNABLE until released (`--inject-duplicate-submit`),
    /// with the gate of each job waiting (by job id).
    gated_specs: Mutex<std::collections::BTreeSet<String>>,
    gates: Mutex<HashMap<String, oneshot::Sender<Option<Awake>>>>,
    region: String,
    account: String,
    /// Where each job's SQL time goes (the run's cost estimate).
    meter: Mutex<Option<Arc<crate::local::meter::Meter>>>,
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
                ended: Mutex::new(HashMap::new()),
                all_tasks: Mutex::new(Vec::new()),
                seq: AtomicU64::new(0),
                runner,
                scripts,
                logs,
                bus,
                hold: Mutex::new(None),
                slots,
                inject: Mutex::new(HashMap::new()),
                gated_specs: Mutex::new(Default::default()),
                gates: Mutex::new(HashMap::new()),
                region: region.into(),
                account: account.into(),
                meter: Mutex::new(None),
            }),
        }
    }

    /// Measures each job's SQL time on `meter`.
    pub fn set_meter(&self, meter: Arc<crate::local::meter::Meter>) {
        if let Ok(mut m) = self.inner.meter.lock() {
            *m = Some(meter);
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

    /// Makes the next job of spec `job` wait in RUNNABLE until [`LocalBatch::release`] (at most
    /// two minutes), without holding the execution's clock meanwhile: a Retry's back-off can
    /// pass while it waits (`--inject-duplicate-submit`: the retried submission must come while
    /// the job is queued).
    pub fn hold_in_runnable(&self, job: &str) {
        if let Ok(mut g) = self.inner.gated_specs.lock() {
            g.insert(job.to_string());
        }
    }

    /// Lets a job held in RUNNABLE go on. The clock is held from here, before the caller
    /// answers the Task: otherwise, with the job not yet woken, virtual time could run to the
    /// Task's timeout.
    pub fn release(&self, job_id: &str) {
        if let Some(tx) = self
            .inner
            .gates
            .lock()
            .ok()
            .and_then(|mut g| g.remove(job_id))
        {
            let _ = tx.send(self.take_hold());
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

    /// Terminates every job not yet finished, as TerminateJob does (FAILED, statusReason
    /// `reason`, its state-change event emitted), and returns once each of their tasks has
    /// ended and what they left running is stopped (a server's statements cancelled and
    /// sessions closed; the embedded engine's statement, which cannot be interrupted, is
    /// left to finish in the background). For SIGINT/SIGTERM. Returns the ids terminated.
    pub async fn terminate_all(&self, reason: &str) -> Vec<String> {
        let active: Vec<String> = self
            .jobs()
            .into_iter()
            .filter(|d| !d.status.is_final())
            .map(|d| d.id)
            .collect();
        let ended: Vec<watch::Receiver<()>> = self
            .inner
            .ended
            .lock()
            .map(|e| active.iter().filter_map(|id| e.get(id).cloned()).collect())
            .unwrap_or_default();
        let mut terminated = Vec::new();
        for id in active {
            if self.terminate_job(&id, reason) == Some(true) {
                terminated.push(id);
            }
        }
        for mut rx in ended {
            // Err once the task's end (its sender) is dropped.
            while rx.changed().await.is_ok() {}
        }
        self.inner.runner.wait_stopped().await;
        terminated
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
        let _ = tokio::time::timeout_at(deadline, self.inner.runner.wait_stopped()).await;
    }

    /// TerminateJob: aborts the job's task and, unless it has already ended, makes it FAILED
    /// with `reason` as its statusReason ("A message to attach to the job that explains the
    /// reason for canceling it. This message is returned by future DescribeJobs operations
    /// on the job": https://docs.aws.amazon.com/batch/latest/APIReference/API_TerminateJob.html)
    /// and emits its state change. None for an unknown job; Some(false) for a job already
    /// over.
    fn terminate_job(&self, job_id: &str, reason: &str) -> Option<bool> {
        if let Some(h) = self
            .inner
            .tasks
            .lock()
            .ok()
            .and_then(|mut t| t.remove(job_id))
        {
            h.abort();
        }
        let mut changed = false;
        let d = self.update(job_id, |d| {
            if !d.status.is_final() {
                d.status = JobStatus::Failed;
                d.status_reason = Some(reason.to_string());
                d.stopped_at = Some(now_ms());
                changed = true;
            }
        })?;
        if changed {
            self.emit(&d, None);
        }
        Some(changed)
    }

    fn update(&self, id: &str, f: impl FnOnce(&mut JobDetail)) -> Option<JobDetail> {
        let mut jobs = self.inner.jobs.lock().ok()?;
        let (d, _) = jobs.get_mut(id)?;
        f(d);
        Some(d.clone())
    }

    /// Updates a job that is not over yet (a terminated job stays FAILED); None otherwise.
    fn advance(&self, id: &str, f: impl FnOnce(&mut JobDetail)) -> Option<JobDetail> {
        let mut jobs = self.inner.jobs.lock().ok()?;
        let (d, _) = jobs.get_mut(id)?;
        if d.status.is_final() {
            return None;
        }
        f(d);
        Some(d.clone())
    }

    fn emit(&self, d: &JobDetail, hold: Option<Awake>) {
        let event = batch_job_event(d, &self.inner.region, &self.inner.account);
        let _ = self.inner.bus.send(Delivery { event, hold });
    }

    /// Keeps the execution's clock still while the result lives (as a queued job does).
    pub fn take_hold(&self) -> Option<Awake> {
        self.inner
            .hold
            .lock()
            .ok()
            .and_then(|h| h.clone())
            .and_then(|h| h())
    }

    async fn run(
        &self,
        id: String,
        mut hold: Option<Awake>,
        gate: Option<oneshot::Receiver<Option<Awake>>>,
    ) {
        let Some(d) = self.advance(&id, |d| {
            d.status = JobStatus::Runnable;
            d.runnable_at = Some(now_ms());
        }) else {
            return;
        };
        self.emit(&d, None);
        if let Some(rx) = gate {
            hold = match tokio::time::timeout(Duration::from_secs(120), rx).await {
                Ok(Ok(released)) => released,
                _ => self.take_hold(),
            };
        }
        let Ok(_permit) = self.inner.slots.clone().acquire_owned().await else {
            return;
        };
        let log_stream = LocalLogs::stream(&id);
        let started = now_ms();
        let Some(d) = self.advance(&id, |d| {
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
        // Read as the container would: a job whose environment does not read fails where its
        // script would run, as its container would.
        let environment = JobEnvironment::from_overrides(&spec.environment);
        let job_name = environment
            .as_ref()
            .map(|e| e.job.clone())
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
            match self.run_script(&id, &spec, environment, &log_stream).await {
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
        let mut changed = false;
        let Some(d) = self.update(&id, |d| {
            // Terminated meanwhile (TerminateJob between this task's last two awaits).
            if d.status.is_final() {
                return;
            }
            changed = true;
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
        if changed {
            self.emit(&d, hold);
        }
    }

    async fn run_script(
        &self,
        id: &str,
        spec: &NewJob,
        environment: Result<JobEnvironment, EnvironmentError>,
        log_stream: &str,
    ) -> ScriptEnd {
        let log = self.inner.logs.path(log_stream);
        let fetched = match environment {
            Ok(env) => fetch_script(self.inner.scripts.as_ref(), &env.script)
                .await
                .map(|text| (env, text))
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        let (env, text) = match fetched {
            Ok(x) => x,
            Err(e) => {
                let _ = tokio::fs::create_dir_all(self.inner.logs.dir()).await;
                let _ = tokio::fs::write(&log, format!("rsqlflow job {id}: {e}\n")).await;
                return ScriptEnd::Exited(rsql::EXIT_CLIENT);
            }
        };
        let spent = Arc::new(AtomicU64::new(0));
        let end = self
            .inner
            .runner
            .run(ScriptJob {
                name: env.script,
                text,
                variables: env.variables.into_iter().collect(),
                log,
                timeout: spec.timeout_seconds.map(Duration::from_secs),
                sql_time: Some(spent.clone()),
            })
            .await;
        if let Some(m) = self.inner.meter.lock().ok().and_then(|m| m.clone()) {
            m.sql(id, spent.load(Ordering::Relaxed));
        }
        end
    }
}

#[async_trait]
impl Batch for LocalBatch {
    async fn submit(&self, job: NewJob) -> Result<String, ServiceError> {
        let n = self.inner.seq.fetch_add(1, Ordering::Relaxed) + 1;
        let id = format!("local-{:04}-{}", n, short_hash(&job.name));
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
            runnable_at: None,
            started_at: None,
            stopped_at: None,
            parameters: job.parameters.clone(),
            tags: job.tags.clone(),
            timeout_seconds: job.timeout_seconds,
        };
        let job_environment = job.environment.clone();
        if let Ok(mut m) = self.inner.jobs.lock() {
            m.insert(id.clone(), (detail.clone(), job));
        }
        self.emit(&detail, None);
        // Hold the clock from now on: the Task state waiting for this job must not time out
        // in virtual time while the job is queued or running.
        let spec = JobEnvironment::from_overrides(&job_environment)
            .map(|e| e.job)
            .unwrap_or_default();
        let gated = self
            .inner
            .gated_specs
            .lock()
            .map(|mut g| g.remove(&spec))
            .unwrap_or(false);
        let gate = gated.then(|| {
            let (tx, rx) = oneshot::channel();
            if let Ok(mut g) = self.inner.gates.lock() {
                g.insert(id.clone(), tx);
            }
            rx
        });
        // A gated job takes the hold once released.
        let hold = if gated { None } else { self.take_hold() };
        let me = self.clone();
        let task_id = id.clone();
        let (ended, ended_rx) = watch::channel(());
        if let Ok(mut e) = self.inner.ended.lock() {
            e.insert(id.clone(), ended_rx);
        }
        let handle = tokio::spawn(async move {
            let _ended = ended;
            me.run(task_id, hold, gate).await
        });
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
        match self.terminate_job(job_id, reason) {
            Some(_) => Ok(()),
            None => Err(ServiceError::no_such_job(job_id)),
        }
    }

    /// As ListJobs with the JOB_NAME filter: the most recent job of that name.
    async fn find_by_name(&self, name: &str) -> Result<Option<String>, ServiceError> {
        Ok(self
            .jobs()
            .into_iter()
            .filter(|d| d.name == name)
            .max_by_key(|d| (d.created_at, d.id.clone()))
            .map(|d| d.id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::bus::{self, BusReceiver};
    use crate::local::runner::WarehouseRunner;
    use std::sync::atomic::AtomicUsize;
    use std::time::Instant;

    /// Scripts that never end; a stopped one takes 300 ms more to be stopped (as a cancel
    /// request does), which `wait_stopped` waits for.
    struct Endless {
        dropped: Arc<AtomicUsize>,
        stopped: Arc<AtomicUsize>,
        pending: Arc<watch::Sender<usize>>,
    }

    struct StopOnDrop {
        stopped: Arc<AtomicUsize>,
        pending: Arc<watch::Sender<usize>>,
    }

    impl Drop for StopOnDrop {
        fn drop(&mut self) {
            self.pending.send_modify(|n| *n += 1);
            let (stopped, pending) = (self.stopped.clone(), self.pending.clone());
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                stopped.fetch_add(1, Ordering::SeqCst);
                pending.send_modify(|n| *n -= 1);
            });
        }
    }

    #[async_trait]
    impl ScriptRunner for Endless {
        async fn run(&self, _: ScriptJob) -> ScriptEnd {
            self.dropped.fetch_add(1, Ordering::SeqCst);
            let _stop = StopOnDrop {
                stopped: self.stopped.clone(),
                pending: self.pending.clone(),
            };
            std::future::pending().await
        }

        fn parallelism(&self) -> usize {
            1
        }

        async fn wait_stopped(&self) {
            let _ = self.pending.subscribe().wait_for(|n| *n == 0).await;
        }
    }

    async fn batch(
        runner: Arc<dyn ScriptRunner>,
        dir: &std::path::Path,
        script: &str,
    ) -> (LocalBatch, BusReceiver) {
        let store = Arc::new(objects::LocalS3::new(dir.join("s3")));
        store
            .put("scripts", "job.rsql", script.as_bytes().to_vec())
            .await
            .unwrap();
        let (tx, rx) = bus::channel();
        let logs = LocalLogs::new(dir.join("logs"));
        let b = LocalBatch::new(runner, store, logs, tx, "us-east-1", "123456789012");
        (b, rx)
    }

    fn new_job(name: &str) -> NewJob {
        NewJob {
            name: name.into(),
            queue: "q".into(),
            definition: "d".into(),
            parameters: Default::default(),
            environment: JobEnvironment {
                script: "s3://scripts/job.rsql".into(),
                variables: Default::default(),
                job: name.into(),
            }
            .render(),
            tags: Default::default(),
            timeout_seconds: None,
            vcpus: None,
            memory_mib: None,
        }
    }

    async fn until_status(b: &LocalBatch, id: &str, status: JobStatus) {
        let t0 = Instant::now();
        while b.describe(id).await.unwrap().status != status {
            assert!(
                t0.elapsed() < Duration::from_secs(120),
                "{id} never {status:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Every event so far: (job id, status, statusReason).
    fn events(rx: &mut BusReceiver) -> Vec<(String, String, Option<String>)> {
        let mut out = Vec::new();
        while let Ok(d) = rx.try_recv() {
            let detail = &d.event["detail"];
            out.push((
                detail["jobId"].as_str().unwrap_or_default().to_string(),
                detail["status"].as_str().unwrap_or_default().to_string(),
                detail["statusReason"].as_str().map(String::from),
            ));
        }
        out
    }

    /// terminate_all: the running job and the one queued behind it end FAILED with the
    /// reason, one FAILED event each, and it returns only once the running one's task has
    /// ended and its stop has finished.
    #[tokio::test]
    async fn terminate_all_stops_every_job_before_returning() {
        let dir = tempfile::tempdir().unwrap();
        let runner = Arc::new(Endless {
            dropped: Arc::new(AtomicUsize::new(0)),
            stopped: Arc::new(AtomicUsize::new(0)),
            pending: Arc::new(watch::channel(0).0),
        });
        let (b, mut rx) = batch(runner.clone(), dir.path(), "SELECT 1;\n").await;
        let running = b.submit(new_job("first")).await.unwrap();
        let queued = b.submit(new_job("second")).await.unwrap();
        until_status(&b, &running, JobStatus::Running).await;
        until_status(&b, &queued, JobStatus::Runnable).await;
        let t0 = Instant::now();
        while runner.dropped.load(Ordering::SeqCst) == 0 {
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "the script never started"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }

        let mut ids = b.terminate_all("SIGTERM received").await;
        ids.sort();
        assert_eq!(ids, vec![running.clone(), queued.clone()]);
        assert_eq!(
            runner.stopped.load(Ordering::SeqCst),
            1,
            "returned before the stop"
        );
        let seen = events(&mut rx);
        for id in [&running, &queued] {
            let d = b.describe(id).await.unwrap();
            assert_eq!(d.status, JobStatus::Failed);
            assert_eq!(d.status_reason.as_deref(), Some("SIGTERM received"));
            assert!(d.stopped_at.is_some());
            let mine: Vec<_> = seen.iter().filter(|e| &e.0 == id).collect();
            let failed: Vec<_> = mine.iter().filter(|e| e.1 == "FAILED").collect();
            assert_eq!(failed.len(), 1, "{mine:?}");
            assert_eq!(failed[0].2.as_deref(), Some("SIGTERM received"));
            assert_eq!(
                mine.last().map(|e| e.1.as_str()),
                Some("FAILED"),
                "{mine:?}"
            );
        }
        // Nothing is left to terminate; a finished job is not changed (TerminateJob acts on
        // jobs not yet over), and no event is emitted for it.
        assert!(b.terminate_all("again").await.is_empty());
        b.terminate(&queued, "again").await.unwrap();
        let d = b.describe(&queued).await.unwrap();
        assert_eq!(d.status_reason.as_deref(), Some("SIGTERM received"));
        assert!(events(&mut rx).is_empty());
        assert!(b.terminate("local-9999-x", "r").await.is_err());
    }

    /// TerminateJob of a job running `SELECT pg_sleep(30)` on the embedded engine: the job
    /// is FAILED with the reason at once, its task ends, its log keeps what it printed and
    /// says it was stopped, and the next job runs on the warehouse.
    #[tokio::test]
    async fn terminated_embedded_job_stops_and_the_next_job_runs() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let store: Arc<dyn ObjectStore> = Arc::new(objects::LocalS3::new(d.join("s3")));
        let runner = Arc::new(WarehouseRunner::new(
            warehouse::Target::Embedded(warehouse::Storage::Dir(d.join("wh"))),
            store,
            true,
        ));
        let script = "\\echo before the sleep\nSELECT pg_sleep(30);\n\\echo after the sleep\n";
        let notices = Arc::new(Mutex::new(Vec::<String>::new()));
        let sink = notices.clone();
        runner.set_notice(Arc::new(move |t: &str| {
            if let Ok(mut n) = sink.lock() {
                n.push(t.to_string());
            }
        }));
        let (b, _rx) = batch(runner.clone(), d, script).await;
        let id = b.submit(new_job("sleeper")).await.unwrap();
        let log = LocalLogs::new(d.join("logs")).path(&LocalLogs::stream(&id));
        let read = || std::fs::read_to_string(&log).unwrap_or_default();
        let t0 = Instant::now();
        while !read().contains("before the sleep") {
            assert!(
                t0.elapsed() < Duration::from_secs(120),
                "the job never printed"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Let the statement start (the script sends it right after its first line).
        tokio::time::sleep(Duration::from_secs(1)).await;
        let t1 = Instant::now();
        let stopped = b.terminate_all("stopped by the test").await;
        assert_eq!(stopped, vec![id.clone()]);
        assert!(t1.elapsed() < Duration::from_secs(10), "{:?}", t1.elapsed());
        let job = b.describe(&id).await.unwrap();
        assert_eq!(job.status, JobStatus::Failed);
        assert_eq!(job.status_reason.as_deref(), Some("stopped by the test"));
        let text = read();
        assert!(text.contains("the job was stopped"), "{text}");
        assert!(!text.contains("after the sleep"), "{text}");

        b.inner
            .scripts
            .put(
                "scripts",
                "job.rsql",
                b"SELECT 41 + 1 AS answer;\n".to_vec(),
            )
            .await
            .unwrap();
        let next = b.submit(new_job("next")).await.unwrap();
        until_status(&b, &next, JobStatus::Succeeded).await;
        let next_log = LocalLogs::new(d.join("logs")).path(&LocalLogs::stream(&next));
        let text = std::fs::read_to_string(next_log).unwrap();
        assert!(text.contains("42"), "{text}");
        // It waited for the engine to finish the abandoned statement.
        let notices = notices.lock().map(|n| n.clone()).unwrap_or_default();
        assert!(
            notices.iter().any(|n| n.contains("finishing a statement")),
            "{notices:?}"
        );
        runner.close().await;
    }
}
