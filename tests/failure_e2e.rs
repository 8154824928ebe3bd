//! How `rsqlflow run` and `rsqlflow trigger` fail, through the real binary: no execution
//! vanishes or ends without a record and a notification, names and keys from the command line
//! stay inside their roots, nothing is left half-written, and no password reaches a file.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn workdir() -> tempfile::TempDir {
    support::sample_workdir()
}

fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    run_env(dir, args, &[])
}

fn run_env(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> (i32, String, String) {
    support::run_text(dir, args, envs)
}

fn outbox(dir: &Path) -> Vec<Value> {
    support::outbox(dir)
}

fn record(dir: &Path, name: &str) -> Value {
    let p = dir.join(format!(".rsqlflow/executions/{name}.json"));
    serde_json::from_slice(&std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .expect("record is JSON")
}

/// Every file below `dir`, recursively.
fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

fn temporaries(dir: &Path) -> Vec<std::path::PathBuf> {
    files(dir)
        .into_iter()
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.ends_with(".tmp") || n.contains(".tmp-") || n.contains(".tmp.")
        })
        .collect()
}

#[test]
fn execution_names_follow_step_functions_and_are_used_once() {
    let dir = workdir();
    for bad in [
        "../../../outside/pwned",
        "bad name:chars*?",
        &"n".repeat(250),
    ] {
        let (code, out, err) = run(dir.path(), &["run", "--name", bad]);
        assert_eq!(code, 1, "{bad}: {out}{err}");
        assert!(err.contains("invalid execution name"), "{bad}: {err}");
    }
    assert!(!dir.path().join("outside").exists());
    assert!(!dir.path().join(".rsqlflow/executions").exists());
    let (code, out, err) = run(dir.path(), &["run", "--name", "once"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(record(dir.path(), "once")["status"], "SUCCEEDED");
    let history = std::fs::read(dir.path().join(".rsqlflow/executions/once.history.json")).unwrap();
    let (code, out, err) = run(dir.path(), &["run", "--name", "once"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("execution once exists already (SUCCEEDED)"),
        "{err}"
    );
    // The first execution's history is untouched, and no second notification went out.
    assert_eq!(
        std::fs::read(dir.path().join(".rsqlflow/executions/once.history.json")).unwrap(),
        history
    );
    assert_eq!(outbox(dir.path()).len(), 1);
}

#[test]
fn trigger_keys_stay_inside_local_s3() {
    let dir = workdir();
    std::fs::write(dir.path().join("outside.txt"), "secret").unwrap();
    for key in [
        "/tmp/outside.txt",
        "../../outside.txt",
        "../outside.txt",
        "/dev/zero",
        "a//b.csv",
    ] {
        let (code, out, err) = run(dir.path(), &["trigger", "s3", key]);
        assert_eq!(code, 1, "{key}: {out}{err}");
        assert!(err.contains("invalid object key"), "{key}: {err}");
    }
    let (code, out, err) = run(
        dir.path(),
        &["trigger", "s3", "incoming/x.csv", "--bucket", "Bad_Bucket"],
    );
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("invalid bucket name"), "{err}");
    assert!(!dir.path().join(".rsqlflow/executions").exists());
}

#[test]
fn a_trigger_that_cannot_start_leaves_no_record_and_can_be_repeated() {
    let dir = workdir();
    let data = dir.path().join(".rsqlflow/s3/rsqlflow-data/incoming/tpch");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("orders.csv"), "1,2\n").unwrap();
    let (code, out, err) = run(
        dir.path(),
        &[
            "trigger",
            "s3",
            "incoming/tpch/orders.csv",
            "--etl-dir",
            "no-such-dir",
        ],
    );
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("no-such-dir"), "{err}");
    // The same trigger, now able to run, runs (it is not "already started").
    let (code, out, err) = run(dir.path(), &["trigger", "s3", "incoming/tpch/orders.csv"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("SUCCEEDED"), "{out}");
    // Again: reported with its status.
    let (code, out, _) = run(dir.path(), &["trigger", "s3", "incoming/tpch/orders.csv"]);
    assert_eq!(code, 0);
    assert!(out.contains("(SUCCEEDED)"), "{out}");
}

#[test]
fn a_failed_triggered_execution_is_reported_as_failed_when_triggered_again() {
    let dir = workdir();
    let merge = dir.path().join("etl/tpch/customer_merge.rsql");
    std::fs::write(&merge, "SELECT * FROM no_such_table;\n").unwrap();
    let data = dir.path().join(".rsqlflow/s3/rsqlflow-data/incoming/tpch");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("orders.csv"), "1,2\n").unwrap();
    let (code, out, err) = run(dir.path(), &["trigger", "s3", "incoming/tpch/orders.csv"]);
    assert_eq!(code, 1, "{out}{err}");
    let (code, out, err) = run(dir.path(), &["trigger", "s3", "incoming/tpch/orders.csv"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("(FAILED)"), "{out}");
    assert!(err.contains("rsqlflow redrive"), "{err}");
}

/// Starts `rsqlflow run --name NAME` in a sample directory whose customer_staging job first
/// prints a line and then sleeps two minutes, and returns once that job has been submitted
/// (the history saved while the run goes shows it). Also returns the script's original text.
fn start_sleeping_run(name: &str) -> (tempfile::TempDir, std::process::Child, String) {
    let dir = workdir();
    let staging = dir.path().join("etl/tpch/customer_staging.rsql");
    let text = std::fs::read_to_string(&staging).unwrap();
    std::fs::write(
        &staging,
        format!("\\echo staging begins\nSELECT pg_sleep(120);\n{text}"),
    )
    .unwrap();
    let child = Command::new(support::bin())
        .args(["run", "--name", name])
        .current_dir(dir.path())
        .env_remove("RSQLFLOW_DATABASE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start rsqlflow");
    let history = dir
        .path()
        .join(format!(".rsqlflow/executions/{name}.history.json"));
    let started = Instant::now();
    while !std::fs::read_to_string(&history)
        .unwrap_or_default()
        .contains("customer_staging")
    {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the job never started"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(1500));
    (dir, child, text)
}

#[test]
fn a_killed_run_is_found_and_ended_as_aborted_with_its_notification() {
    // A job that takes long enough to be killed in the middle: kill the process outright.
    let (dir, mut child, text) = start_sleeping_run("killed");
    child.kill().expect("kill");
    child.wait().expect("reap");
    assert_eq!(record(dir.path(), "killed")["status"], "RUNNING");
    assert!(outbox(dir.path()).is_empty());

    // The next command finds it.
    std::fs::write(dir.path().join("etl/tpch/customer_staging.rsql"), text).unwrap();
    let (code, out, err) = run(dir.path(), &["run", "--name", "next"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("execution killed was left RUNNING by a process that ended"),
        "{err}"
    );
    let r = record(dir.path(), "killed");
    assert_eq!(r["status"], "ABORTED");
    assert!(r["stopDate"].as_i64().is_some());
    let history: Value = serde_json::from_slice(
        &std::fs::read(dir.path().join(".rsqlflow/executions/killed.history.json")).unwrap(),
    )
    .unwrap();
    let events = history["events"].as_array().unwrap();
    assert_eq!(events.last().unwrap()["type"], "ExecutionAborted");
    assert!(events.len() > 2, "the history up to the kill was kept");
    let sent = outbox(dir.path());
    let aborted: Vec<_> = sent
        .iter()
        .filter(|n| n["attributes"]["status"] == "ABORTED")
        .collect();
    assert_eq!(aborted.len(), 1, "{sent:?}");
    assert!(
        aborted[0]["subject"].as_str().unwrap().contains("ABORTED"),
        "{sent:?}"
    );
    // Only once.
    let (code, _, err) = run(dir.path(), &["run", "--name", "third"]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("left RUNNING"), "{err}");
    assert!(temporaries(&dir.path().join(".rsqlflow")).is_empty());
}

#[test]
fn a_history_that_cannot_be_written_still_ends_with_a_summary_and_a_notification() {
    let dir = workdir();
    // A directory where the history file goes: the write fails.
    std::fs::create_dir_all(
        dir.path()
            .join(".rsqlflow/executions/blocked.history.json/x"),
    )
    .unwrap();
    let (code, out, err) = run(dir.path(), &["run", "--name", "blocked"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("SUCCEEDED"), "{out}");
    assert!(out.contains("notification: [rsqlflow] SUCCEEDED"), "{out}");
    assert!(err.contains("the history could not be written"), "{err}");
    assert_eq!(outbox(dir.path()).len(), 1);
    assert_eq!(record(dir.path(), "blocked")["status"], "SUCCEEDED");
    assert!(temporaries(&dir.path().join(".rsqlflow")).is_empty());
}

#[test]
fn seeding_never_replaces_objects_that_are_there() {
    let dir = workdir();
    let (code, out, err) = run(
        dir.path(),
        &[
            "sample-data",
            "--scale",
            "0.02",
            "--tables",
            "customer",
            "--s3-root",
            ".rsqlflow/s3",
            "--bucket",
            "rsqlflow-data",
            "--prefix",
            "tpch",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let customer = dir
        .path()
        .join(".rsqlflow/s3/rsqlflow-data/tpch/customer/customer.tbl.gz");
    let before = std::fs::read(&customer).unwrap();
    // A temporary object of a seeding that was killed.
    let stale = customer.with_file_name(".rsqlflow-killed.tmp");
    std::fs::write(&stale, b"partial").unwrap();
    // Killed a while ago: a fresh unlocked one may be a writer between creating and locking it.
    std::fs::File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(3600))
        .unwrap();
    let (code, out, err) = run(dir.path(), &["run", "--name", "seeded"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(std::fs::read(&customer).unwrap(), before);
    assert!(
        err.contains("seeded TPC-H region, nation at scale"),
        "{err}"
    );
    assert!(!stale.exists());
}

#[test]
fn help_never_shows_a_password_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let url = "postgres://etl:Hunter2Secret@db.example.com:5439/dev";
    for cmd in [
        vec!["run", "--help"],
        vec!["trigger", "s3", "--help"],
        vec!["trigger", "schedule", "--help"],
        vec!["rsql", "--help"],
        vec!["job", "--help"],
    ] {
        let (_, out, err) = run_env(
            dir.path(),
            &cmd,
            &[
                ("RSQLFLOW_DATABASE", url),
                ("RSQLFLOW_VARIABLES", "{\"pw\":\"Hunter2Secret\"}"),
            ],
        );
        assert!(
            !out.contains("Hunter2Secret") && !err.contains("Hunter2Secret"),
            "{cmd:?} shows the password:\n{out}{err}"
        );
    }
}

#[test]
fn no_password_reaches_any_output_or_file_however_malformed_the_url() {
    let secret = "Zq7SECRETpw";
    let urls = [
        format!("postgres://etl:{secret}@127.0.0.1:1/dev"),
        format!("postgres://etl:{secret}/x@127.0.0.1:1/dev"),
        format!("postgres://etl:a/{secret}?b@127.0.0.1:1/dev"),
        format!("postgres://etl:{secret}#frag@127.0.0.1:1/dev"),
        format!("postgres://etl:{secret}@@127.0.0.1:1/dev"),
        format!("postgres://etl:{secret}:more@127.0.0.1:1/dev"),
        format!("postgres://etl:{secret}@127.0.0.1:notaport/dev"),
        format!("postgres://etl:{secret}@[::1/dev"),
        format!("postgres://etl:{secret}"),
        format!("postgresql://:{secret}@/dev?sslmode=bogus"),
    ];
    for (i, url) in urls.iter().enumerate() {
        let dir = workdir();
        let name = format!("pw-{i}");
        for args in [
            vec!["run", "--name", name.as_str(), "--database", url.as_str()],
            vec!["rsql", "--database", url.as_str(), "-c", "select 1"],
        ] {
            let (_, out, err) = run(dir.path(), &args);
            assert!(
                !out.contains(secret) && !err.contains(secret),
                "{url}: {args:?} printed the password:\n{out}\n{err}"
            );
        }
        let (_, out, err) = run_env(
            dir.path(),
            &["run", "--name", &format!("env-{i}")],
            &[("RSQLFLOW_DATABASE", url.as_str())],
        );
        assert!(
            !out.contains(secret) && !err.contains(secret),
            "{url}: RSQLFLOW_DATABASE printed the password:\n{out}\n{err}"
        );
        for f in files(&dir.path().join(".rsqlflow")) {
            let bytes = std::fs::read(&f).unwrap_or_default();
            assert!(
                !String::from_utf8_lossy(&bytes).contains(secret),
                "{url}: {} holds the password",
                f.display()
            );
        }
    }
}

/// Starts a run whose job sleeps (see [`start_sleeping_run`]) and sends it `signal`.
fn run_and_signal(signal: &str, name: &str) -> (tempfile::TempDir, i32, String, String) {
    let (dir, child, _) = start_sleeping_run(name);
    let t0 = Instant::now();
    let ok = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .expect("kill")
        .success();
    assert!(ok);
    let out = child.wait_with_output().expect("wait");
    assert!(
        t0.elapsed() < Duration::from_secs(90),
        "the run took {:?} to stop",
        t0.elapsed()
    );
    (
        dir,
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn sigint_and_sigterm_stop_the_run_record_it_aborted_and_notify_once() {
    for (signal, code) in [("INT", 130), ("TERM", 143)] {
        let name = format!("sig{signal}");
        let (dir, exit, out, err) = run_and_signal(signal, &name);
        assert_eq!(exit, code, "{signal}\nstdout:\n{out}\nstderr:\n{err}");
        assert!(err.contains(&format!("SIG{signal} received")), "{err}");
        assert!(out.contains("ABORTED"), "{out}");
        let r = record(dir.path(), &name);
        assert_eq!(r["status"], "ABORTED");
        assert_eq!(r["error"], "rsqlflow.Interrupted");
        let history: Value = serde_json::from_slice(
            &std::fs::read(
                dir.path()
                    .join(format!(".rsqlflow/executions/{name}.history.json")),
            )
            .unwrap(),
        )
        .unwrap();
        let events = history["events"].as_array().unwrap();
        assert_eq!(events.last().unwrap()["type"], "ExecutionAborted");
        let sent = outbox(dir.path());
        assert_eq!(sent.len(), 1, "{sent:?}");
        assert_eq!(sent[0]["attributes"]["status"], "ABORTED");
        let body = sent[0]["message"].as_str().unwrap();
        assert!(body.contains("Stopped"), "the running job is named: {body}");
        // The stopped job's log kept what it printed before the signal.
        let logs: Vec<String> = files(&dir.path().join(".rsqlflow/logs"))
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap_or_default())
            .collect();
        assert!(
            logs.iter().any(|l| l.contains("staging begins")),
            "{logs:?}"
        );
        assert!(temporaries(&dir.path().join(".rsqlflow")).is_empty());
    }
}

#[test]
fn a_run_says_when_it_waits_for_the_embedded_warehouse() {
    let dir = workdir();
    // Another process holds the warehouse for a few seconds.
    let mut holder = Command::new(support::bin())
        .args(["rsql", "-c", "SELECT pg_sleep(6);"])
        .current_dir(dir.path())
        .env_remove("RSQLFLOW_DATABASE")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start rsqlflow rsql");
    let lock = dir.path().join(".rsqlflow/warehouse");
    let t0 = Instant::now();
    while !lock.exists() {
        assert!(t0.elapsed() < Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(1500));
    let (code, out, err) = run(dir.path(), &["run", "--name", "waits"]);
    holder.wait().expect("reap");
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("waiting for the embedded warehouse"),
        "the wait is said:\n{err}"
    );
}

#[test]
fn real_work_counts_against_a_task_timeout_without_real_time() {
    let dir = workdir();
    std::fs::write(
        dir.path().join("etl/tpch/slow.rsql"),
        "\\echo slow begins\nSELECT pg_sleep(120);\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("state-machines/slow.asl.json"),
        r#"{"StartAt": "Slow", "States": {"Slow": {"Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "${SubmitJobFunctionArn}",
              "Payload": {"job": {"name": "slow", "script": "tpch/slow.rsql", "timeoutSeconds": 600},
                "taskToken.$": "$$.Task.Token", "executionArn.$": "$$.Execution.Id",
                "stateName.$": "$$.State.Name"}},
            "TimeoutSeconds": 3, "End": true}}}"#,
    )
    .unwrap();
    let t0 = Instant::now();
    let (code, out, err) = run(
        dir.path(),
        &["run", "state-machines/slow.asl.json", "--name", "slow"],
    );
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("error: States.Timeout"), "{out}");
    // The job was stopped with the execution, long before its 120 s statement ended.
    assert!(t0.elapsed() < Duration::from_secs(60), "{:?}", t0.elapsed());
    let sent = outbox(dir.path());
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent[0]["message"]
            .as_str()
            .unwrap()
            .contains("Stopped 1 Batch job"),
        "{sent:?}"
    );
}
