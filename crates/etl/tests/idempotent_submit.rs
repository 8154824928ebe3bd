//! submit-job's idempotence over the service traits (a Batch double, the in-memory ledger): a
//! duplicate submission while the step's job is queued or running adopts it and the answer
//! reaches the duplicate's token; once the job's answer is taken, a new submission is a new
//! attempt; a claim without a job finds the job by name; concurrent duplicates make one job.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use etl::error::ServiceError;
use etl::handlers::{check_job, submit_job};
use etl::local::submissions::LocalSubmissions;
use etl::services::{
    Batch, JobDetail, JobStatus, Logs, NewJob, Started, StepFunctions, Submission, Submissions,
};
use etl::settings::Settings;
use serde_json::{Value, json};

/// Batch: jobs with a status the test sets; SubmitJob takes `delay` (so that two invocations
/// interleave).
#[derive(Default)]
struct Jobs {
    jobs: Mutex<Vec<(String, NewJob, JobStatus)>>,
    delay: Duration,
}

impl Jobs {
    fn set(&self, id: &str, status: JobStatus) {
        for j in self.jobs.lock().unwrap().iter_mut() {
            if j.0 == id {
                j.2 = status;
            }
        }
    }

    fn count(&self) -> usize {
        self.jobs.lock().unwrap().len()
    }

    /// The state-change event of job `id` (what EventBridge gives check-job).
    fn event(&self, id: &str) -> Value {
        let jobs = self.jobs.lock().unwrap();
        let (id, job, status) = jobs.iter().find(|j| j.0 == id).unwrap().clone();
        let d = JobDetail {
            id,
            name: job.name,
            queue: job.queue,
            status,
            status_reason: None,
            exit_code: Some(if status == JobStatus::Succeeded { 0 } else { 1 }),
            container_reason: None,
            log_stream: None,
            attempts: vec![],
            created_at: Some(1),
            runnable_at: None,
            started_at: Some(2),
            stopped_at: Some(3),
            parameters: job.parameters,
            tags: job.tags,
            timeout_seconds: None,
        };
        etl::events::batch_job_event(&d, "us-east-1", "123456789012")
    }
}

#[async_trait]
impl Batch for Jobs {
    async fn submit(&self, job: NewJob) -> Result<String, ServiceError> {
        tokio::time::sleep(self.delay).await;
        let mut jobs = self.jobs.lock().unwrap();
        let id = format!("job-{}", jobs.len() + 1);
        jobs.push((id.clone(), job, JobStatus::Submitted));
        Ok(id)
    }
    async fn describe(&self, id: &str) -> Result<JobDetail, ServiceError> {
        Err(ServiceError::no_such_job(id))
    }
    async fn active_jobs_tagged(&self, _: &str, _: &str) -> Result<Vec<String>, ServiceError> {
        Ok(Vec::new())
    }
    async fn terminate(&self, _: &str, _: &str) -> Result<(), ServiceError> {
        Ok(())
    }
    async fn find_by_name(&self, name: &str) -> Result<Option<String>, ServiceError> {
        Ok(self
            .jobs
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|j| j.1.name == name)
            .map(|j| j.0.clone()))
    }
}

/// Step Functions that records the tokens answered.
#[derive(Default)]
struct Sfn {
    answered: Mutex<Vec<String>>,
}

#[async_trait]
impl StepFunctions for Sfn {
    async fn send_task_success(&self, token: &str, _: &Value) -> Result<(), ServiceError> {
        self.answered.lock().unwrap().push(token.to_string());
        Ok(())
    }
    async fn send_task_failure(&self, token: &str, _: &str, _: &str) -> Result<(), ServiceError> {
        self.answered.lock().unwrap().push(token.to_string());
        Ok(())
    }
    async fn start_execution(&self, _: &str, _: &str, _: &Value) -> Result<Started, ServiceError> {
        unreachable!("not used")
    }
    async fn history(&self, _: &str) -> Result<Vec<Value>, ServiceError> {
        Ok(Vec::new())
    }
}

struct NoLogs;

#[async_trait]
impl Logs for NoLogs {
    async fn tail(&self, _: &str, _: usize) -> Result<Vec<String>, ServiceError> {
        Ok(Vec::new())
    }
}

struct World {
    _dir: tempfile::TempDir,
    store: objects::LocalS3,
    settings: Settings,
    batch: Jobs,
    ledger: LocalSubmissions,
    sfn: Sfn,
}

fn world(delay: Duration) -> World {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("scripts/tpch")).unwrap();
    std::fs::write(dir.path().join("scripts/tpch/load.rsql"), "select 1;").unwrap();
    World {
        store: objects::LocalS3::new(dir.path()),
        _dir: dir,
        settings: Settings {
            scripts_bucket: "scripts".into(),
            job_queue: "q".into(),
            job_definition: "d".into(),
            ..Settings::default()
        },
        batch: Jobs {
            delay,
            ..Jobs::default()
        },
        ledger: LocalSubmissions::new(),
        sfn: Sfn::default(),
    }
}

fn request(token: &str) -> Value {
    json!({
        "job": {"name": "load", "script": "tpch/load.rsql", "variables": {"day": "1"}},
        "taskToken": token,
        "executionArn": "arn:aws:states:us-east-1:1:execution:sm:run-1",
        "stateName": "Load",
        "redriveCount": 0
    })
}

impl World {
    async fn submit(&self, req: Value) -> Result<Value, etl::error::HandlerError> {
        submit_job::handle(req, &self.settings, &self.batch, &self.ledger, &self.store).await
    }

    async fn check(&self, id: &str) -> Value {
        check_job::handle(
            self.batch.event(id),
            &self.settings,
            &self.sfn,
            &NoLogs,
            &self.ledger,
        )
        .await
        .unwrap()
    }

    fn entry(&self) -> Submission {
        let all = self.ledger.entries();
        assert_eq!(all.len(), 1, "{all:?}");
        all.into_iter().next().unwrap()
    }

    fn answered(&self) -> Vec<String> {
        self.sfn.answered.lock().unwrap().clone()
    }
}

#[tokio::test]
async fn a_duplicate_while_the_job_is_runnable_or_running_adopts_it() {
    for status in [JobStatus::Runnable, JobStatus::Running] {
        let w = world(Duration::ZERO);
        let first = w.submit(request("t1")).await.unwrap();
        assert_eq!(first["adopted"], false);
        let id = first["jobId"].as_str().unwrap().to_string();
        w.batch.set(&id, status);
        let again = w.submit(request("t2")).await.unwrap();
        assert_eq!(again["jobId"], id.as_str(), "{status:?}");
        assert_eq!(again["jobName"], first["jobName"]);
        assert_eq!(again["adopted"], true);
        assert_eq!(w.batch.count(), 1, "{status:?}: one job");
        assert_eq!(w.entry().token, "t2");
        // The job carries t1, but its answer goes to the step's current token.
        w.batch.set(&id, JobStatus::Succeeded);
        let out = w.check(&id).await;
        assert_eq!(out["answered"], id.as_str());
        assert_eq!(w.answered(), ["t2"]);
        // A redelivered event answers the same token again (a no-op for Step Functions).
        w.check(&id).await;
        assert_eq!(w.answered(), ["t2", "t2"]);
    }
}

#[tokio::test]
async fn after_the_job_failed_and_was_answered_a_new_attempt_runs() {
    let w = world(Duration::ZERO);
    let first = w.submit(request("t1")).await.unwrap();
    let id = first["jobId"].as_str().unwrap().to_string();
    w.batch.set(&id, JobStatus::Failed);
    w.check(&id).await;
    assert_eq!(w.answered(), ["t1"]);
    // The state's Retry: a new token, a new job under the next attempt's name.
    let retry = w.submit(request("t2")).await.unwrap();
    assert_eq!(retry["adopted"], false);
    assert_eq!(retry["attempt"], 2);
    assert_ne!(retry["jobId"], id.as_str());
    assert_eq!(w.batch.count(), 2);
    let name1 = first["jobName"].as_str().unwrap();
    let name2 = retry["jobName"].as_str().unwrap();
    assert!(
        name1.ends_with("-1") && name2.ends_with("-2"),
        "{name1} {name2}"
    );
    // A late event of the first job answers its own (stale) token, not the retry's.
    w.check(&id).await;
    assert_eq!(w.answered(), ["t1", "t1"]);
    let id2 = retry["jobId"].as_str().unwrap();
    w.batch.set(id2, JobStatus::Succeeded);
    w.check(id2).await;
    assert_eq!(w.answered(), ["t1", "t1", "t2"]);
}

#[tokio::test]
async fn a_claim_without_a_job_finds_the_job_by_name() {
    let w = world(Duration::ZERO);
    let first = w.submit(request("t1")).await.unwrap();
    // As if the first invocation had timed out between SubmitJob and recording the job.
    let mut e = w.entry();
    e.job_id = None;
    assert!(w.ledger.put(&e).await.unwrap());
    let again = w.submit(request("t2")).await.unwrap();
    assert_eq!(again["jobId"], first["jobId"]);
    assert_eq!(again["adopted"], true);
    assert_eq!(w.batch.count(), 1);
    let e = w.entry();
    assert_eq!(e.job_id.as_deref(), first["jobId"].as_str());
    assert_eq!(e.token, "t2");
}

#[tokio::test]
async fn a_claim_given_up_without_a_job_is_submitted_by_the_next_invocation() {
    let w = world(Duration::ZERO);
    // A claim whose submitter is gone (its lease over) and whose job Batch never accepted.
    let lost = w.entry_for_a_lost_claim().await;
    assert!(
        lost.key
            .starts_with("arn:aws:states:us-east-1:1:execution:sm:run-1#Load#0/")
    );
    let again = w.submit(request("t2")).await.unwrap();
    assert_eq!(again["adopted"], false);
    assert_eq!(again["attempt"], 1);
    assert_eq!(w.batch.count(), 1);
    assert_eq!(w.entry().token, "t2");
    assert!(w.entry().job_id.is_some());
}

impl World {
    /// Claims the step as a first invocation would, then forgets its job (as if SubmitJob had
    /// been refused) with the claim's lease over.
    async fn entry_for_a_lost_claim(&self) -> Submission {
        self.submit(request("t1")).await.unwrap();
        self.batch.jobs.lock().unwrap().clear();
        let mut e = self.entry();
        e.job_id = None;
        e.claimed_at = 0;
        assert!(self.ledger.put(&e).await.unwrap());
        self.entry()
    }
}

#[tokio::test]
async fn concurrent_duplicate_submissions_make_one_job() {
    let w = world(Duration::from_millis(300));
    let (a, b) = tokio::join!(w.submit(request("t1")), async {
        // The second arrives while the first is inside SubmitJob.
        tokio::time::sleep(Duration::from_millis(50)).await;
        w.submit(request("t2")).await
    });
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a["jobId"], b["jobId"], "{a} {b}");
    assert_eq!(w.batch.count(), 1);
    assert_eq!(b["adopted"], true);
    let e = w.entry();
    assert_eq!(e.token, "t2", "the later invocation's token is current");
    assert_eq!(e.job_id.as_deref(), a["jobId"].as_str());
    let id = a["jobId"].as_str().unwrap();
    w.batch.set(id, JobStatus::Succeeded);
    w.check(id).await;
    assert_eq!(w.answered(), ["t2"]);
}

#[tokio::test]
async fn steps_are_told_apart_by_state_redrive_and_spec() {
    let w = world(Duration::ZERO);
    w.submit(request("t1")).await.unwrap();
    let mut other_item = request("t2");
    other_item["job"]["variables"]["day"] = json!("2");
    let mut redriven = request("t3");
    redriven["redriveCount"] = json!(1);
    let mut other_state = request("t4");
    other_state["stateName"] = json!("LoadAgain");
    let mut no_count = request("t5");
    no_count.as_object_mut().unwrap().remove("redriveCount");
    for r in [other_item, redriven, other_state] {
        let out = w.submit(r).await.unwrap();
        assert_eq!(out["adopted"], false, "{out}");
    }
    // An absent redriveCount is 0: the first step again.
    let out = w.submit(no_count).await.unwrap();
    assert_eq!(out["adopted"], true, "{out}");
    assert_eq!(w.batch.count(), 4);
    let keys: BTreeMap<String, String> = w
        .ledger
        .entries()
        .into_iter()
        .map(|e| (e.key, e.token))
        .collect();
    assert_eq!(keys.len(), 4, "{keys:?}");
}
