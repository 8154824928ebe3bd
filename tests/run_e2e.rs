//! `rsqlflow run` and `rsqlflow trigger` end to end, through the real binary on the embedded
//! warehouse: the sample workflow loads what it should, a failing script fails the execution
//! with a notification that names the job, its exit code and its log, an injected
//! infrastructure failure is retried, a duplicate submission adopts the step's job, and a
//! repeated trigger starts nothing new.

mod support;

use std::path::{Path, PathBuf};

use serde_json::Value;

fn workdir() -> tempfile::TempDir {
    support::sample_workdir()
}

fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    support::run_text(dir, args, &[])
}

fn outbox(dir: &Path) -> Vec<Value> {
    support::outbox(dir)
}

fn logs(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut v: Vec<(PathBuf, String)> = std::fs::read_dir(dir.join(".rsqlflow/logs"))
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| {
                    let p = e.path();
                    let t = std::fs::read_to_string(&p).unwrap_or_default();
                    (p, t)
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn the_sample_workflow_loads_the_tables_and_notifies_once() {
    let dir = workdir();
    let (code, out, err) = run(dir.path(), &["run", "--name", "happy"]);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("execution:rsql-etl:happy SUCCEEDED"), "{out}");
    // Every job ran and printed its counts; TPC-H SF 0.01 has 1,500 customers.
    let all_logs: String = logs(dir.path()).into_iter().map(|(_, t)| t).collect();
    assert!(
        all_logs.contains("customer_staging: staged rows: 1500"),
        "{all_logs}"
    );
    assert!(
        all_logs.contains("customer_merge: rows inserted: 1500"),
        "{all_logs}"
    );
    assert!(
        all_logs.contains("vacuum_analyze: customers 1500 regions 5 nations 25"),
        "{all_logs}"
    );
    let sent = outbox(dir.path());
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["attributes"]["status"], "SUCCEEDED");
    assert_eq!(sent[0]["subject"], "[rsqlflow] SUCCEEDED: rsql-etl");
    // The history is saved, in GetExecutionHistory's shape.
    let h: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join(".rsqlflow/executions/happy.history.json"))
            .unwrap(),
    )
    .unwrap();
    let events = h["events"].as_array().unwrap();
    assert_eq!(events.last().unwrap()["type"], "ExecutionSucceeded");
    assert_eq!(
        events
            .iter()
            .filter(|e| e["type"] == "TaskSubmitted")
            .count(),
        5
    );
    // A second run merges again: same counts, no duplicates.
    let (code, _, err) = run(dir.path(), &["run", "--name", "again"]);
    assert_eq!(code, 0, "{err}");
    let again: String = logs(dir.path()).into_iter().map(|(_, t)| t).collect();
    assert!(
        again.contains("customer_merge: rows replaced: 1500"),
        "{again}"
    );
}

#[test]
fn a_failing_script_fails_the_execution_and_says_why() {
    let dir = workdir();
    let merge = dir.path().join("etl/tpch/customer_merge.rsql");
    let text = std::fs::read_to_string(&merge).unwrap().replace(
        "SELECT count(*) AS staged FROM stg_customer \\gset",
        "SELECT count(*) AS staged FROM stg_customer_gone \\gset",
    );
    std::fs::write(&merge, text).unwrap();
    let (code, out, err) = run(dir.path(), &["run", "--name", "broken"]);
    assert_eq!(code, 1, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("FAILED"), "{out}");
    assert!(out.contains("error: Rsqlflow.ScriptFailed"), "{out}");
    let sent = outbox(dir.path());
    assert_eq!(sent.len(), 1, "{sent:?}");
    let n = &sent[0];
    assert_eq!(n["attributes"]["status"], "FAILED");
    assert_eq!(
        n["subject"],
        "[rsqlflow] FAILED: rsql-etl at CustomerMerge: Rsqlflow.ScriptFailed"
    );
    let body = n["message"].as_str().unwrap();
    assert!(
        body.contains("State CustomerMerge, job customer_merge"),
        "{body}"
    );
    assert!(body.contains("Exit code: 21"), "{body}");
    assert!(
        body.contains("relation \"stg_customer_gone\" does not exist"),
        "{body}"
    );
    assert!(n["subject"].as_str().unwrap().chars().count() <= 100);
}

#[test]
fn an_infrastructure_failure_is_retried() {
    let dir = workdir();
    let (code, out, err) = run(
        dir.path(),
        &[
            "run",
            "--name",
            "flaky",
            "--inject-infra-failure",
            "region_load",
        ],
    );
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    let region_jobs: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("region_load-"))
        .collect();
    assert_eq!(region_jobs.len(), 2, "{out}");
    assert!(region_jobs.iter().any(|l| l.contains("FAILED")), "{out}");
    assert!(region_jobs.iter().any(|l| l.contains("SUCCEEDED")), "{out}");
    assert!(err.contains("CannotPullContainerError"), "{err}");
}

/// A retried submission while the job is queued or running (the first submit-job answers
/// Lambda.ServiceException once its job is RUNNABLE or RUNNING, and the Task's Retry invokes
/// submit-job again with a new task token) adopts the job: one Batch job for the step, and
/// the execution succeeds on the answer check-job gave the retry's token.
#[test]
fn a_duplicate_submit_leaves_one_job() {
    let dir = workdir();
    let (code, out, err) = run(
        dir.path(),
        &[
            "run",
            "--name",
            "dup",
            "--inject-duplicate-submit",
            "customer_staging",
        ],
    );
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("execution:rsql-etl:dup SUCCEEDED"), "{out}");
    // The report's job table: one customer_staging job, and it succeeded.
    let staging: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("customer_staging-"))
        .collect();
    assert_eq!(staging.len(), 1, "{out}");
    assert!(staging[0].contains("SUCCEEDED"), "{out}");
    let job_name = staging[0].split_whitespace().next().unwrap();
    assert!(
        job_name.ends_with("-1"),
        "the step's first attempt: {job_name}"
    );
    // The retry adopted the job the first submission started.
    let all = format!("{out}{err}");
    assert!(all.contains("Lambda.ServiceException"), "{all}");
    let adopted = all
        .lines()
        .find(|l| {
            l.contains("duplicate submit-job for CustomerStaging (customer_staging) adopted job")
        })
        .unwrap_or_else(|| panic!("no adoption reported:\n{all}"));
    assert!(adopted.contains("no second job"), "{adopted}");
    // The step ran once: its script's log, once.
    let staged: usize = logs(dir.path())
        .iter()
        .filter(|(_, t)| t.contains("customer_staging: staged rows: 1500"))
        .count();
    assert_eq!(staged, 1);
    // The history: CustomerStaging's first invocation failed with the injected Lambda error.
    let h: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join(".rsqlflow/executions/dup.history.json")).unwrap(),
    )
    .unwrap();
    let events = h["events"].as_array().unwrap();
    let failed: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "TaskFailed")
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(
        failed[0]["taskFailedEventDetails"]["error"],
        "Lambda.ServiceException"
    );
    // Six invocations of submit-job (TaskScheduled): the five Tasks and the retry; five
    // accepted (TaskSubmitted): the failed one is answered by TaskFailed.
    let count = |t: &str| events.iter().filter(|e| e["type"] == t).count();
    assert_eq!(count("TaskScheduled"), 6);
    assert_eq!(count("TaskSubmitted"), 5);
    assert_eq!(count("TaskSucceeded"), 5);
    // A duplicate asked for a job the workflow does not have is said, and fails the run.
    let (code, out, err) = run(
        dir.path(),
        &[
            "run",
            "--name",
            "dup-typo",
            "--inject-duplicate-submit",
            "customer_stagin",
        ],
    );
    assert_eq!(code, 1, "stdout:\n{out}\nstderr:\n{err}");
    assert!(
        err.contains(
            "--inject-duplicate-submit customer_stagin: no job named customer_stagin was submitted"
        ),
        "{err}"
    );
}

#[test]
fn a_repeated_trigger_starts_one_execution() {
    let dir = workdir();
    // The data the trigger names must exist: a first run seeds it.
    std::fs::create_dir_all(dir.path().join(".rsqlflow/s3/rsqlflow-data/incoming")).unwrap();
    std::fs::write(
        dir.path()
            .join(".rsqlflow/s3/rsqlflow-data/incoming/orders.csv"),
        "1,2\n",
    )
    .unwrap();
    let (code, out, err) = run(
        dir.path(),
        &[
            "trigger",
            "s3",
            "incoming/orders.csv",
            "--state-machine",
            "state-machines/rsql-etl.asl.json",
            "--suffix",
            ".csv",
        ],
    );
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("SUCCEEDED"), "{out}");
    let (code, out, _) = run(
        dir.path(),
        &[
            "trigger",
            "s3",
            "incoming/orders.csv",
            "--state-machine",
            "state-machines/rsql-etl.asl.json",
            "--suffix",
            ".csv",
        ],
    );
    assert_eq!(code, 0);
    assert!(
        out.contains("execution already started for this trigger"),
        "{out}"
    );
    let (code, out, _) = run(
        dir.path(),
        &[
            "trigger",
            "s3",
            "incoming/orders.csv",
            "--state-machine",
            "state-machines/rsql-etl.asl.json",
            "--suffix",
            ".json",
        ],
    );
    assert_eq!(code, 0);
    assert!(out.starts_with("ignored:"), "{out}");
    let records = std::fs::read_dir(dir.path().join(".rsqlflow/executions"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            let n = e.file_name().to_string_lossy().to_string();
            n.ends_with(".json") && !n.ends_with(".history.json") && !n.ends_with(".report.json")
        })
        .count();
    assert_eq!(records, 1);
    let sent = outbox(dir.path());
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0]["message"]
            .as_str()
            .unwrap()
            .contains("Trigger:  s3://rsqlflow-data/incoming/orders.csv arrived (4 bytes)")
    );
}

#[test]
fn a_template_placeholder_the_local_run_cannot_fill_is_named() {
    let dir = workdir();
    let template = dir.path().join("template.yaml");
    let text = std::fs::read_to_string(&template).unwrap();
    let text = text.replace(
        "        SubmitJobFunctionArn: !GetAtt SubmitJobFunction.Arn\n",
        "        SubmitJobFunctionArn: !GetAtt SubmitJobFunction.Arn\n        AuditTopicArn: !Ref Topic\n",
    );
    std::fs::write(&template, text).unwrap();
    let (code, _, err) = run(dir.path(), &["run"]);
    assert_ne!(code, 0, "{err}");
    assert!(
        err.contains("template.yaml: StateMachine/DefinitionSubstitutions has AuditTopicArn"),
        "{err}"
    );
    assert!(!dir.path().join(".rsqlflow/executions").exists() || logs(dir.path()).is_empty());
}

/// The execution's output, from its saved history, with the measured durations and the
/// execution's name blanked.
fn execution_output(dir: &Path, name: &str) -> Value {
    let h: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join(format!(".rsqlflow/executions/{name}.history.json")))
            .unwrap(),
    )
    .unwrap();
    let last = h["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["type"], "ExecutionSucceeded", "{last}");
    let mut out: Value = serde_json::from_str(
        last["executionSucceededEventDetails"]["output"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    fn blank(v: &mut Value) {
        match v {
            Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    if k == "durationSeconds" {
                        *x = Value::Null;
                    } else {
                        blank(x);
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(blank),
            _ => {}
        }
    }
    blank(&mut out);
    // Batch job names hold the execution's name, then a hash of the step (which holds the
    // execution's ARN) and the attempt.
    let text = out.to_string().replace(&format!("-{name}-"), "-EXECUTION-");
    let mut parts = text.split("-EXECUTION-");
    let mut blanked = parts.next().unwrap_or_default().to_string();
    for rest in parts {
        blanked.push_str("-EXECUTION-STEPHASH");
        blanked.push_str(rest.get(8..).unwrap_or(rest));
    }
    serde_json::from_str(&blanked).unwrap()
}

#[test]
fn the_jsonata_sample_runs_the_same_jobs_with_the_same_output() {
    let dir = workdir();
    let (code, out, err) = run(dir.path(), &["run", "--name", "jsonpath"]);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    let (code, out, err) = run(
        dir.path(),
        &[
            "run",
            "state-machines/rsql-etl.jsonata.asl.json",
            "--name",
            "jsonata",
        ],
    );
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("jsonata SUCCEEDED"), "{out}");
    let all_logs: String = logs(dir.path()).into_iter().map(|(_, t)| t).collect();
    assert!(
        all_logs.contains("vacuum_analyze: customers 1500 regions 5 nations 25"),
        "{all_logs}"
    );
    let (p, j) = (
        execution_output(dir.path(), "jsonpath"),
        execution_output(dir.path(), "jsonata"),
    );
    assert_eq!(p, j, "JSONPath output:\n{p:#}\nJSONata output:\n{j:#}");
    assert_eq!(
        p["loads"]["customer"]["customer_merge"]["status"],
        "SUCCEEDED"
    );
    // The five jobs were submitted with Arguments built by JSONata (task token included).
    let h: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join(".rsqlflow/executions/jsonata.history.json"))
            .unwrap(),
    )
    .unwrap();
    let submitted = h["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "TaskSubmitted")
        .count();
    assert_eq!(submitted, 5);
    assert_eq!(outbox(dir.path()).len(), 2);
}

#[test]
fn load_prefix_loads_every_file_under_the_prefix_with_one_job_each() {
    let dir = workdir();
    let (code, out, err) = run(
        dir.path(),
        &[
            "run",
            "state-machines/load-prefix.asl.json",
            "--input",
            r#"{"prefix": "tpch/"}"#,
            "--name",
            "lp",
        ],
    );
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("execution:load-prefix:lp SUCCEEDED"), "{out}");
    // One load_file job per .tbl.gz object in the listing (customer, nation, region); the
    // listing's other objects were skipped by the Choice.
    let all_logs: String = logs(dir.path()).into_iter().map(|(_, t)| t).collect();
    let loaded: Vec<&str> = all_logs
        .lines()
        .filter(|l| l.starts_with("load_file: rows loaded:"))
        .collect();
    assert_eq!(loaded.len(), 3, "{all_logs}");
    assert!(
        all_logs.contains("landing_summary: files 3 rows 1530"),
        "{all_logs}"
    );
    // The Map Run is in the parent's history; its children are not.
    let h: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join(".rsqlflow/executions/lp.history.json")).unwrap(),
    )
    .unwrap();
    let types: Vec<&str> = h["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert!(types.contains(&"MapRunStarted"), "{types:?}");
    assert!(types.contains(&"MapRunSucceeded"), "{types:?}");
    // The children, each with its own history, beside the parent's: three of them loaded a
    // file with a job (their Task states), the others were skipped by the Choice.
    let children: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join(".rsqlflow/executions/lp.children.json")).unwrap(),
    )
    .unwrap();
    let children = children.as_array().unwrap();
    let with_job = children
        .iter()
        .filter(|c| {
            c["events"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["type"] == "TaskSubmitted")
        })
        .count();
    assert_eq!(with_job, 3, "{children:?}");
    assert!(children.iter().all(|c| {
        c["status"] == "SUCCEEDED"
            && c["executionArn"]
                .as_str()
                .unwrap()
                .contains(":execution:load-prefix/")
    }));
    // ResultWriter: one run directory with its manifest and the succeeded children.
    let results = dir
        .path()
        .join(".rsqlflow/s3/rsqlflow-data/load-prefix-results");
    let runs: Vec<PathBuf> = std::fs::read_dir(&results)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(runs[0].join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["DestinationBucket"], "rsqlflow-data");
    let succeeded: Value =
        serde_json::from_str(&std::fs::read_to_string(runs[0].join("SUCCEEDED_0.json")).unwrap())
            .unwrap();
    // Every object under tpch/ had a child: the three data files and the markers skipped.
    assert!(succeeded.as_array().unwrap().len() >= 3, "{succeeded}");
    let sent = outbox(dir.path());
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["attributes"]["status"], "SUCCEEDED");
    let message = sent[0]["message"].as_str().unwrap();
    assert!(
        message.contains(
            "2 job(s) ran in the execution itself, and 1 Distributed Map run(s) ran theirs as \
             child executions."
        ),
        "{message}"
    );
}

#[test]
fn a_backfill_starts_one_execution_per_scheduled_time_once() {
    let dir = workdir();
    // The sample workflow's schedule (route "schedule" of template.yaml).
    let args = [
        "trigger",
        "schedule",
        "schedule",
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-03",
    ];
    let (code, out, err) = run(dir.path(), &args);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    // In order, named as the schedule names them.
    let started: Vec<usize> = [
        "schedule-2026-11-01T00-00-00Z",
        "schedule-2026-11-02T00-00-00Z",
        "schedule-2026-11-03T00-00-00Z",
    ]
    .iter()
    .map(|n| {
        err.find(&format!("trigger started execution {n}"))
            .unwrap_or_else(|| panic!("{n} not started:\n{err}"))
    })
    .collect();
    assert!(started.windows(2).all(|w| w[0] < w[1]), "{err}");
    assert!(
        out.contains("backfill: 3 scheduled time(s) from 2026-11-01 to 2026-11-03 done"),
        "{out}"
    );
    assert_eq!(outbox(dir.path()).len(), 3);
    // Again: nothing new starts, and each time says why.
    let (code, out, err) = run(dir.path(), &args);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert_eq!(
        out.matches("execution already started for this trigger")
            .count(),
        3,
        "{out}"
    );
    assert!(!err.contains("trigger started execution"), "{err}");
    assert_eq!(outbox(dir.path()).len(), 3);
    // A bad range is refused before anything starts, naming the option.
    let (code, _, err) = run(
        dir.path(),
        &[
            "trigger",
            "schedule",
            "schedule",
            "--from",
            "2026-11-05",
            "--to",
            "2026-11-01",
        ],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("--from 2026-11-05 is after --to 2026-11-01"),
        "{err}"
    );
    let (code, _, err) = run(
        dir.path(),
        &[
            "trigger",
            "schedule",
            "schedule",
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-02",
            "--every",
            "1w",
        ],
    );
    assert_eq!(code, 1);
    assert!(err.contains("--every '1w' is not an interval"), "{err}");
}

#[test]
fn orders_arriving_day_by_day_load_once_each_and_a_new_version_replaces_its_rows() {
    let dir = workdir();
    let rows = sample_orders(dir.path(), 3);
    let trigger = |day: &str| {
        run(
            dir.path(),
            // Routed by template.yaml's start-workflow routes (route "orders").
            &[
                "trigger",
                "s3",
                &format!("incoming/orders/orders_{day}.tbl.gz"),
            ],
        )
    };
    let merged = |dir: &Path| -> Vec<String> {
        let mut logs = logs(dir);
        logs.sort_by_key(|(p, _)| std::fs::metadata(p).unwrap().modified().unwrap());
        logs.into_iter()
            .flat_map(|(_, t)| {
                t.lines()
                    .filter(|l| l.starts_with("orders_merge: "))
                    .map(String::from)
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let mut total = 0;
    for (day, n) in &rows {
        let (code, out, err) = trigger(day);
        assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
        total += n;
        let m = merged(dir.path());
        assert_eq!(
            m.last().unwrap(),
            &format!("orders_merge: orders now {total}"),
            "{m:?}"
        );
    }
    // The same event again starts nothing; a re-run of the same version loads nothing.
    let (code, out, _) = trigger(&rows[0].0);
    assert_eq!(code, 0);
    assert!(
        out.contains("execution already started for this trigger"),
        "{out}"
    );
    let record: Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::fs::read_dir(dir.path().join(".rsqlflow/executions"))
                .unwrap()
                .map(|e| e.unwrap().path())
                .find(|p| {
                    let n = p.file_name().unwrap().to_string_lossy().into_owned();
                    n.contains(&rows[0].0)
                        && n.ends_with(".json")
                        && !n.ends_with(".history.json")
                        && !n.ends_with(".report.json")
                })
                .unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    std::fs::write(dir.path().join("again.json"), record["input"].to_string()).unwrap();
    let (code, out, err) = run(
        dir.path(),
        &[
            "run",
            "state-machines/orders-incremental.asl.json",
            "--input",
            "@again.json",
            "--name",
            "rerun",
        ],
    );
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    let m = merged(dir.path());
    assert_eq!(
        m.last().unwrap(),
        "orders_merge: this version was loaded before: nothing to do",
        "{m:?}"
    );
    // A new version of the second day's file (its first two rows) replaces that file's rows.
    let key = dir.path().join(format!(
        ".rsqlflow/s3/rsqlflow-data/incoming/orders/orders_{}.tbl.gz",
        rows[1].0
    ));
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(std::fs::File::open(&key).unwrap()),
        &mut text,
    )
    .unwrap();
    let two: String = text.lines().take(2).map(|l| format!("{l}\n")).collect();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, two.as_bytes()).unwrap();
    std::fs::write(&key, gz.finish().unwrap()).unwrap();
    let (code, out, err) = trigger(&rows[1].0);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    let m = merged(dir.path());
    let n = m.len();
    assert_eq!(
        m[n - 3],
        format!("orders_merge: rows replaced: {}", rows[1].1),
        "{m:?}"
    );
    assert_eq!(m[n - 2], "orders_merge: rows loaded: 2", "{m:?}");
    assert_eq!(
        m[n - 1],
        format!("orders_merge: orders now {}", total - rows[1].1 + 2),
        "{m:?}"
    ); // Every compression COPY reads: the same first day written again under other keys.
    for (compression, ext) in [
        ("bzip2", "bz2"),
        ("zstd", "zst"),
        ("lzop", "lzo"),
        ("none", ""),
    ] {
        let prefix = format!("incoming/orders/{compression}");
        let (code, out, err) = run(
            dir.path(),
            &[
                "sample-data",
                "--orders-days",
                "1",
                "--compression",
                compression,
                "--orders-prefix",
                &prefix,
            ],
        );
        assert_eq!(code, 0, "{out}{err}");
        let key = format!(
            "{prefix}/orders_{}.tbl{}",
            rows[0].0,
            if ext.is_empty() {
                String::new()
            } else {
                format!(".{ext}")
            }
        );
        let (code, out, err) = run(dir.path(), &["trigger", "s3", &key]);
        assert_eq!(code, 0, "{compression}: stdout:\n{out}\nstderr:\n{err}");
        let m = merged(dir.path());
        assert_eq!(
            m[m.len() - 2],
            format!("orders_merge: rows loaded: {}", rows[0].1),
            "{compression}: {m:?}"
        );
    }
}

#[test]
fn a_nightly_job_gets_its_scheduled_day_as_variables() {
    let dir = workdir();
    let days = sample_orders(dir.path(), 2);
    for (day, _) in &days {
        let (code, out, err) = run(
            dir.path(),
            &[
                "trigger",
                "s3",
                &format!("incoming/orders/orders_{day}.tbl.gz"),
            ],
        );
        assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    }
    let (code, out, err) = run(
        dir.path(),
        // The schedule of route "nightly" (template.yaml's NightlySchedule) fires each day.
        &[
            "trigger", "schedule", "nightly", "--from", &days[0].0, "--to", &days[1].0,
        ],
    );
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    for (day, _) in &days {
        assert!(
            err.contains(&format!(
                "trigger started execution nightly-{day}T00-00-00Z (route nightly: "
            )),
            "{err}"
        );
    }
    let all: String = logs(dir.path()).into_iter().map(|(_, t)| t).collect();
    for (day, n) in &days {
        assert!(
            all.contains(&format!(
                "orders_summary: run_date {day} scheduled at {day}T00:00:00Z"
            )),
            "{all}"
        );
        assert!(
            all.contains(&format!("orders_summary: {day} orders {n} revenue")),
            "{all}"
        );
    }
}

/// Writes `days` daily orders files with `rsqlflow sample-data --orders-days` and returns each
/// day with its rows, from the lines it prints ("orders 1992-01-01      9 rows ...").
fn sample_orders(dir: &Path, days: usize) -> Vec<(String, u64)> {
    let (code, out, err) = run(dir, &["sample-data", "--orders-days", &days.to_string()]);
    assert_eq!(code, 0, "{out}{err}");
    let rows: Vec<(String, u64)> = out
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            (w.next()? == "orders").then_some(())?;
            Some((w.next()?.to_string(), w.next()?.parse().ok()?))
        })
        .collect();
    assert_eq!(rows.len(), days, "{out}");
    rows
}

/// The executions whose record says SUCCEEDED, by name.
fn succeeded(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join(".rsqlflow/executions"))
        .unwrap()
        .filter_map(|e| {
            let p = e.ok()?.path();
            let n = p.file_name()?.to_str()?.strip_suffix(".json")?.to_string();
            if n.contains('.') {
                return None;
            }
            let r: Value = serde_json::from_slice(&std::fs::read(&p).ok()?).ok()?;
            (r["status"] == "SUCCEEDED").then_some(n)
        })
        .collect();
    names.sort();
    names
}

#[test]
fn a_seven_day_backfill_starts_seven_executions_and_a_second_starts_none() {
    let dir = workdir();
    let day = sample_orders(dir.path(), 1).remove(0).0;
    let (code, out, err) = run(
        dir.path(),
        &[
            "trigger",
            "s3",
            &format!("incoming/orders/orders_{day}.tbl.gz"),
        ],
    );
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    let args = [
        "trigger",
        "schedule",
        "nightly",
        "--from",
        "1992-02-01",
        "--to",
        "1992-02-07",
    ];
    let (code, out, err) = run(dir.path(), &args);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    let nightly: Vec<String> = succeeded(dir.path())
        .into_iter()
        .filter(|n| n.starts_with("nightly-"))
        .collect();
    let want: Vec<String> = (1..=7)
        .map(|d| format!("nightly-1992-02-0{d}T00-00-00Z"))
        .collect();
    assert_eq!(nightly, want);
    assert_eq!(
        err.matches("trigger started execution nightly-").count(),
        7,
        "{err}"
    );
    let notified = outbox(dir.path()).len();
    let (code, out, err) = run(dir.path(), &args);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(!err.contains("trigger started execution"), "{err}");
    assert_eq!(
        out.matches("execution already started for this trigger")
            .count(),
        7,
        "{out}"
    );
    assert_eq!(outbox(dir.path()).len(), notified);
    // The embedded warehouse runs one job at a time: --parallel needs a server.
    let mut parallel = args.to_vec();
    parallel.extend(["--parallel", "3"]);
    let (code, _, err) = run(dir.path(), &parallel);
    assert_eq!(code, 1);
    assert!(err.contains("--parallel 3 needs --database"), "{err}");
}

#[test]
#[ignore = "needs a native PostgreSQL server's initdb and pg_ctl (pg_config --bindir or /usr/lib/postgresql/*/bin); .ci/run installs Debian's postgresql"]
fn a_parallel_backfill_on_a_server_runs_every_day_once() {
    let pg = support::pg::Cluster::start();
    let url = pg.url("postgres");
    let dir = workdir();
    for (day, _) in sample_orders(dir.path(), 3) {
        let key = format!("incoming/orders/orders_{day}.tbl.gz");
        let (code, out, err) = run(dir.path(), &["trigger", "s3", &key, "--database", &url]);
        assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    }
    let args = [
        "trigger",
        "schedule",
        "nightly",
        "--from",
        "1992-01-01",
        "--to",
        "1992-01-07",
        "--parallel",
        "3",
        "--database",
        &url,
    ];
    let (code, out, err) = run(dir.path(), &args);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    let nightly = succeeded(dir.path())
        .into_iter()
        .filter(|n| n.starts_with("nightly-"))
        .count();
    assert_eq!(nightly, 7);
    // Each execution's lines carry its scheduled time; every report is whole.
    assert!(err.contains("[1992-01-07T00:00:00Z] "), "{err}");
    assert_eq!(out.matches("\nhistory: ").count(), 7, "{out}");
    let (code, out, _) = run(dir.path(), &args);
    assert_eq!(code, 0);
    assert_eq!(
        out.matches("execution already started for this trigger")
            .count(),
        7,
        "{out}"
    );
}

#[test]
fn two_triggers_for_one_object_at_once_start_one_execution_and_load_once() {
    let dir = workdir();
    let (day, rows) = sample_orders(dir.path(), 1).remove(0);
    let key = format!("incoming/orders/orders_{day}.tbl.gz");
    let outputs = std::sync::Mutex::new(Vec::new());
    let failures = support::run_parallel(vec![0, 1], 2, |_| {
        let r = run(dir.path(), &["trigger", "s3", &key]);
        outputs.lock().unwrap().push(r);
        None
    });
    assert!(failures.is_empty());
    let outputs = outputs.into_inner().unwrap();
    for (code, out, err) in &outputs {
        assert_eq!(*code, 0, "stdout:\n{out}\nstderr:\n{err}");
    }
    let started = outputs
        .iter()
        .filter(|(_, _, err)| err.contains("trigger started execution orders-"))
        .count();
    let found = outputs
        .iter()
        .filter(|(_, out, _)| out.contains("execution already started for this trigger"))
        .count();
    assert_eq!((started, found), (1, 1), "{outputs:?}");
    let loaded: Vec<String> = logs(dir.path())
        .into_iter()
        .flat_map(|(_, t)| {
            t.lines()
                .filter(|l| l.starts_with("orders_merge: rows loaded: "))
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(loaded, [format!("orders_merge: rows loaded: {rows}")]);
}

#[test]
fn the_load_prefix_schedule_loads_its_default_prefix() {
    let dir = workdir();
    let (code, out, err) = run(
        dir.path(),
        &[
            "trigger",
            "schedule",
            "load-prefix",
            "--time",
            "2026-11-01T03:00:00Z",
        ],
    );
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(
        err.contains(
            "trigger started execution load-prefix-2026-11-01T03-00-00Z (route load-prefix: "
        ),
        "{err}"
    );
    let all: String = logs(dir.path()).into_iter().map(|(_, t)| t).collect();
    assert!(all.contains("landing_summary: files 3 rows 1530"), "{all}");
}
