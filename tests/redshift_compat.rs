//! The Redshift compatibility suite: every case of `tests/redshift/cases.json` (Redshift ETL
//! constructs with the results Redshift gives) runs through `rsqlflow rsql` on a fresh database
//! after the case's fixture, and must print exactly `tests/redshift/expected/<id>.txt`: the
//! final SELECT's rows (`-t -A -F ,`), or the error that names the construct.
//!
//! Runs on the embedded engine; with `-- --include-ignored` (as `.ci/run` does) also on a
//! throwaway native PostgreSQL cluster, which fails when no PostgreSQL server is installed
//! (see `support::pg`). `UPDATE_GOLDEN=1` rewrites the expected files from the embedded run (review them
//! against `redshift_result` in cases.json).

mod support;

use std::path::{Path, PathBuf};

struct Case {
    id: String,
    sql: String,
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("redshift")
}

fn load() -> (String, Vec<Case>) {
    let text = std::fs::read_to_string(dir().join("cases.json")).expect("cases.json");
    let v: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    let fixture = v["fixture"].as_str().expect("fixture").to_string();
    let cases = v["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| Case {
            id: c["id"].as_str().expect("id").to_string(),
            sql: c["redshift_sql"].as_str().expect("sql").to_string(),
        })
        .collect();
    (fixture, cases)
}

fn run_case(fixture: &str, case: &Case, db: &[String]) -> String {
    let tmp = tempfile::tempdir().expect("tempdir");
    let script = format!("\\set ON_ERROR_STOP on\n{fixture}\n{}\n", case.sql);
    support::copy_dir(&dir().join("s3"), &tmp.path().join("s3"));
    std::fs::write(tmp.path().join("case.sql"), script).expect("write");
    let mut args = vec!["rsql".to_string()];
    args.extend(db.iter().cloned());
    args.extend(["-t", "-A", "-F", ",", "--s3-root", "s3", "-f", "case.sql"].map(String::from));
    let out = support::run(tmp.path(), &args, None);
    let stderr: String = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| !l.starts_with("NOTICE:") && !l.starts_with("INFO:"))
        .map(|l| format!("{l}\n"))
        .collect();
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{stderr}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout)
    )
}

fn run_suite(engine: &str, db_for: impl Fn(&Case) -> Vec<String> + Sync) {
    let update = engine == "embedded" && std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1");
    let (fixture, cases) = load();
    assert!(cases.len() >= 60);
    let n = cases.len();
    let failures = support::run_parallel(cases, 3, |case| {
        let actual = run_case(&fixture, case, &db_for(case));
        let path = dir().join("expected").join(format!("{}.txt", case.id));
        if update {
            std::fs::write(&path, &actual).expect("write expected");
            return None;
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_default();
        (actual != expected).then(|| {
            format!(
                "[{engine}] case {}:\n--- expected\n{expected}--- actual\n{actual}",
                case.id
            )
        })
    });
    println!(
        "redshift compatibility cases on the {engine} engine: {} passed, {} failed",
        n - failures.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn redshift_cases_on_embedded_engine() {
    run_suite("embedded", |_| vec!["--ephemeral".into()]);
}

#[test]
#[ignore = "needs a native PostgreSQL server's initdb and pg_ctl (pg_config --bindir or /usr/lib/postgresql/*/bin); .ci/run installs Debian's postgresql"]
fn redshift_cases_on_native_postgresql() {
    let cluster = support::pg::Cluster::start();
    run_suite("native", |case| {
        let url = support::fresh_database(
            &cluster,
            &format!("compat_{}", case.id.to_ascii_lowercase()),
        );
        vec!["--database".into(), url]
    });
}
