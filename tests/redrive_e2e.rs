//! `rsqlflow redrive` end to end through the real binary: break a script, run (FAILED), fix
//! it, redrive: the jobs that succeeded do not run again, the history goes on with
//! ExecutionRedriven, the notification says "redrive 1", and the warehouse ends as after one
//! clean run.

mod support;

use std::path::Path;

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

/// The warehouse's tables as one comparable text.
fn warehouse(dir: &Path) -> String {
    let (code, out, err) = run(
        dir,
        &[
            "rsql",
            "-c",
            "SELECT (SELECT count(*) FROM customer) AS customers, \
             (SELECT sum(c_acctbal) FROM customer) AS balance, \
             (SELECT count(*) FROM region) AS regions, (SELECT count(*) FROM nation) AS nations;",
        ],
    );
    assert_eq!(code, 0, "{err}");
    out
}

#[test]
fn a_fixed_script_is_redriven_and_only_the_unsuccessful_jobs_run() {
    let dir = workdir();
    let merge = dir.path().join("etl/tpch/customer_merge.rsql");
    let good = std::fs::read_to_string(&merge).unwrap();
    std::fs::write(
        &merge,
        good.replace("FROM stg_customer \\gset", "FROM stg_customer_typo \\gset"),
    )
    .unwrap();
    let (code, out, err) = run(dir.path(), &["run", "--name", "nightly"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("nightly FAILED"), "{out}");
    // The jobs that succeeded the first time (the summary's SUCCEEDED rows). A failed branch
    // stops its sibling, so which of region_load and nation_load finished depends on timing.
    let succeeded: Vec<String> = out
        .lines()
        .filter(|l| l.split_whitespace().nth(1) == Some("SUCCEEDED"))
        .filter_map(|l| l.split('-').next().map(String::from))
        .collect();
    assert!(succeeded.contains(&"customer_staging".to_string()), "{out}");

    // Nothing to redrive by that name other than this one; a succeeded one is refused.
    std::fs::write(&merge, &good).unwrap();
    let (code, out, err) = run(dir.path(), &["redrive"]);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(err.contains("redriving execution nightly (FAILED"), "{err}");
    assert!(out.contains("nightly SUCCEEDED"), "{out}");
    // Only the merge (which failed), what had not finished, and what comes after ran.
    for done in &succeeded {
        assert!(!out.contains(done.as_str()), "{done} ran again:\n{out}");
    }
    assert!(out.contains("customer_merge"), "{out}");
    assert!(out.contains("vacuum_analyze"), "{out}");

    let record: Value = serde_json::from_slice(
        &std::fs::read(dir.path().join(".rsqlflow/executions/nightly.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(record["status"], "SUCCEEDED");
    assert_eq!(record["redriveCount"], 1);
    let history: Value = serde_json::from_slice(
        &std::fs::read(dir.path().join(".rsqlflow/executions/nightly.history.json")).unwrap(),
    )
    .unwrap();
    let events = history["events"].as_array().unwrap();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types[0], "ExecutionStarted");
    let redriven = types
        .iter()
        .position(|t| *t == "ExecutionRedriven")
        .unwrap();
    assert_eq!(types[redriven - 1], "ExecutionFailed");
    assert_eq!(types.last(), Some(&"ExecutionSucceeded"));
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["id"], i as u64 + 1, "ids run on: {e}");
    }
    let sent = outbox(dir.path());
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[0]["attributes"]["status"], "FAILED");
    assert_eq!(
        sent[1]["subject"],
        "[rsqlflow] SUCCEEDED (redrive 1): rsql-etl"
    );

    // Redriving a succeeded execution is refused, as RedriveExecution refuses it.
    let (code, _, err) = run(dir.path(), &["redrive", "nightly"]);
    assert_eq!(code, 1);
    assert!(err.contains("ExecutionNotRedrivable"), "{err}");
    let (code, _, err) = run(dir.path(), &["redrive", "no-such"]);
    assert_eq!(code, 1);
    assert!(err.contains("no execution named no-such"), "{err}");

    // The warehouse is as after one clean run.
    let clean = workdir();
    let (code, _, err) = run(clean.path(), &["run", "--name", "clean"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(warehouse(dir.path()), warehouse(clean.path()));
}
