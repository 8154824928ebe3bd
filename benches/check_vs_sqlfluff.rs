//! `rsqlflow check` against SQLFluff (`sqlfluff lint --dialect redshift`) on the same generated
//! ETL jobs, in one run:
//! - 1,000 RSQL scripts of 10 SQL statements each (DROP, CREATE TEMP TABLE, COPY from a
//!   variable, a transaction with DELETE ... USING, INSERT ... SELECT with a join and UPDATE, a
//!   window-function report and a `\gset` count) with the meta-commands converted BTEQ jobs
//!   have between them (`\echo`, `\if :ERROR <> 0` ... `\exit N`, `\goto`/`\label`);
//! - the SQL-only part of the same files (meta-command lines dropped, variables replaced by
//!   literals), which is what SQLFluff can fairly be given.
//!
//! For each tool and input: files, files it could parse at all (rsqlflow: no `lex-error` or SQL
//! syntax finding; SQLFluff: no `PRS` or `TMP` violation), best-of-N wall time, files/s.
//! SQLFluff is slow, so it is timed on the first 100 files of each set and its rate
//! extrapolated (said in the table); rsqlflow check runs on all 1,000.
//!
//! Run with `cargo bench --bench check_vs_sqlfluff`. SQLFluff comes from
//! `$RSQLFLOW_SQLFLUFF`, else `~/.cache/rsqlflow-ci/sqlfluff-venv/bin/sqlfluff`; install it with
//! `python3 -m venv ~/.cache/rsqlflow-ci/sqlfluff-venv &&
//! ~/.cache/rsqlflow-ci/sqlfluff-venv/bin/pip install sqlfluff`. Without it the SQLFluff rows
//! are skipped, with a message.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const SCRIPTS: usize = 1_000;
const SQLFLUFF_FILES: usize = 100;
const RUNS: usize = 5;
const SQLFLUFF_RUNS: usize = 2;

fn rsqlflow() -> &'static str {
    env!("CARGO_BIN_EXE_rsqlflow")
}

/// One generated job: its RSQL text and its SQL-only part.
fn job(i: usize) -> (String, String) {
    let t = i % 7;
    let regions = ["EU", "US", "APAC", "LATAM"];
    let region = regions[i % regions.len()];
    let rsql = format!(
        r#"-- Generated ETL job {i}: loads a file of orders into orders_{t} and reports.
-- Variables: data_uri. Exit codes: 10 staging, 11 COPY, 12 empty file, 20 merge, 30 report.
\echo 'job {i}: loading from' :data_uri
DROP TABLE IF EXISTS stg_{i};
CREATE TEMP TABLE stg_{i} (
  id          BIGINT NOT NULL,
  customer_id BIGINT,
  amount      DECIMAL(12,2),
  order_date  DATE,
  region      VARCHAR(20)
);
\if :ERROR <> 0
  \remark 'job {i}: staging table, SQLSTATE' :ERRORCODE
  \exit 10
\endif
COPY stg_{i} FROM :'data_uri' IAM_ROLE default FORMAT AS CSV IGNOREHEADER 1 GZIP;
\if :ERROR <> 0
  \remark 'job {i}: COPY failed' :LAST_ERROR_MESSAGE
  \exit 11
\endif
\if :ACTIVITYCOUNT = 0
  \remark 'job {i}: the file was empty'
  \exit 12
\endif
BEGIN;
DELETE FROM orders_{t} USING stg_{i} WHERE orders_{t}.id = stg_{i}.id;
INSERT INTO orders_{t} (id, customer_id, amount, order_date, segment)
SELECT s.id, s.customer_id, s.amount, s.order_date, c.segment
FROM stg_{i} s JOIN customer c ON c.id = s.customer_id
WHERE s.amount > 0;
UPDATE orders_{t} SET amount = amount * 1.1 WHERE order_date >= '2024-01-01' AND region = '{region}';
\if :ERROR <> 0
  \goto FAIL
\endif
COMMIT;
\if :ERROR <> 0
  \goto FAIL
\endif
SELECT region, COUNT(*) AS orders, SUM(amount) AS revenue,
       RANK() OVER (ORDER BY SUM(amount) DESC) AS rnk
FROM orders_{t} GROUP BY region ORDER BY rnk;
SELECT COUNT(*) AS total FROM orders_{t} \gset
\if :ERROR <> 0
  \remark 'job {i}: report failed'
  \exit 30
\endif
\echo 'job {i}: orders_{t} holds' :total 'rows'
\exit 0

\label FAIL
\remark 'job {i}: merge failed, SQLSTATE' :ERRORCODE
\exit 20
"#
    );
    let sql: String = rsql
        .lines()
        .filter(|l| !l.trim_start().starts_with('\\'))
        .map(|l| {
            let l = l.replace(":'data_uri'", "'s3://example-bucket/orders/'");
            match l.strip_suffix(" \\gset") {
                Some(q) => format!("{q};\n"),
                None => format!("{l}\n"),
            }
        })
        .collect();
    (rsql, sql)
}

/// Runs a command (any exit code) and returns its output and wall time.
fn run(mut cmd: Command) -> (Output, Duration) {
    let t = Instant::now();
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    (out, t.elapsed())
}

/// Best of `runs` wall times, and the last output.
fn best(runs: usize, make: impl Fn() -> Command) -> (Output, Duration) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs {
        let (out, d) = run(make());
        best = best.min(d);
        last = Some(out);
    }
    (last.expect("at least one run"), best)
}

/// Files rsqlflow check could not parse: those with a lexing or SQL syntax finding.
fn rsqlflow_unparsed(out: &Output) -> BTreeSet<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|f| {
            let code = f["code"].as_str().unwrap_or("");
            code == "lex-error" || code.contains("syntax") || code.contains("parse")
        })
        .filter_map(|f| f["file"].as_str().map(String::from))
        .collect()
}

fn rsqlflow_errors(out: &Output) -> usize {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("\"severity\":\"error\""))
        .count()
}

/// Files SQLFluff read, and those it could not parse: a `PRS` (parse) or `TMP` (templating)
/// violation.
fn sqlfluff_files(out: &Output) -> (usize, usize) {
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "sqlfluff's JSON: {e}: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let files = v.as_array().cloned().unwrap_or_default();
    let unparsed = files
        .iter()
        .filter(|f| {
            f["violations"].as_array().is_some_and(|vs| {
                vs.iter()
                    .any(|x| matches!(x["code"].as_str(), Some("PRS" | "TMP")))
            })
        })
        .count();
    (files.len(), unparsed)
}

fn sqlfluff() -> Option<PathBuf> {
    let p = std::env::var_os("RSQLFLOW_SQLFLUFF")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|h| PathBuf::from(h).join(".cache/rsqlflow-ci/sqlfluff-venv/bin/sqlfluff"))
        })?;
    p.is_file().then_some(p)
}

struct Row {
    tool: String,
    input: &'static str,
    files: usize,
    parsed: usize,
    wall: Duration,
}

impl Row {
    fn rate(&self) -> f64 {
        self.files as f64 / self.wall.as_secs_f64()
    }
}

fn files_in(dir: &Path, n: usize) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").path().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v.truncate(n);
    v
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    // SQLFluff reads only files named *.sql (its sql_file_exts), so it gets the RSQL scripts
    // under that name too.
    let (rsql_dir, sql_dir, rsql_as_sql) = (d.join("rsql"), d.join("sql"), d.join("rsql-as-sql"));
    for dir in [&rsql_dir, &sql_dir, &rsql_as_sql] {
        std::fs::create_dir_all(dir).expect("mkdir");
    }
    let mut statements = 0;
    for i in 0..SCRIPTS {
        let (rsql, sql) = job(i);
        statements += sql.matches(';').count();
        std::fs::write(rsql_as_sql.join(format!("job_{i:04}.sql")), &rsql).expect("write");
        std::fs::write(rsql_dir.join(format!("job_{i:04}.rsql")), rsql).expect("write");
        std::fs::write(sql_dir.join(format!("job_{i:04}.sql")), sql).expect("write");
    }
    println!("{SCRIPTS} scripts, {statements} SQL statements\n");

    let mut rows = Vec::new();
    for (input, sub) in [("RSQL scripts", "rsql"), ("SQL-only parts", "sql")] {
        let (out, wall) = best(RUNS, || {
            let mut c = Command::new(rsqlflow());
            c.current_dir(d)
                .args(["check", "--format", "json", "-v", "data_uri", sub]);
            c
        });
        let errors = rsqlflow_errors(&out);
        if sub == "rsql" {
            assert_eq!(
                errors,
                0,
                "the generated jobs should check without errors:\n{}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
        rows.push(Row {
            tool: "rsqlflow check".into(),
            input,
            files: SCRIPTS,
            parsed: SCRIPTS - rsqlflow_unparsed(&out).len(),
            wall,
        });
    }

    match sqlfluff() {
        None => eprintln!(
            "SQLFluff not found ($RSQLFLOW_SQLFLUFF or ~/.cache/rsqlflow-ci/sqlfluff-venv/bin/sqlfluff): its rows are skipped"
        ),
        Some(bin) => {
            let version = Command::new(&bin)
                .arg("--version")
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                .unwrap_or_default();
            for (input, sub) in [("RSQL scripts", &rsql_as_sql), ("SQL-only parts", &sql_dir)] {
                // `sqlfluff parse` takes one PATH: the subset goes in a directory of its own.
                let subset = d.join("sqlfluff").join(sub.file_name().expect("name"));
                std::fs::create_dir_all(&subset).expect("mkdir");
                let files = files_in(sub, SQLFLUFF_FILES);
                for f in &files {
                    let name = Path::new(f).file_name().expect("name");
                    std::fs::copy(f, subset.join(name)).expect("copy");
                }
                for verb in ["lint", "parse"] {
                    let (out, wall) = best(SQLFLUFF_RUNS, || {
                        let mut c = Command::new(&bin);
                        c.current_dir(d).args([verb, "--dialect", "redshift"]);
                        if verb == "lint" {
                            c.args(["--format", "json", "--processes", "1"]);
                        } else {
                            c.args(["--format", "none"]);
                        }
                        c.arg(&subset);
                        c
                    });
                    let stderr = String::from_utf8_lossy(&out.stderr);
                    assert!(
                        !stderr.contains("Usage:") && !stderr.contains("Traceback"),
                        "sqlfluff {verb} did not run: {stderr}"
                    );
                    // Parse failures are counted from lint's violations (PRS/TMP); every file
                    // must have been read.
                    let parsed = if verb == "lint" {
                        let (read, unparsed) = sqlfluff_files(&out);
                        assert_eq!(read, files.len(), "SQLFluff did not read every file");
                        files.len() - unparsed
                    } else {
                        usize::MAX
                    };
                    rows.push(Row {
                        tool: format!("{version} {verb}"),
                        input,
                        files: files.len(),
                        parsed,
                        wall,
                    });
                }
            }
        }
    }

    let base = rows[0].rate();
    println!(
        "| tool | input | files | files parsed | wall | files/s | rsqlflow check (RSQL) is faster by |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|");
    for r in &rows {
        let parsed = if r.parsed == usize::MAX {
            "(see lint)".to_string()
        } else {
            r.parsed.to_string()
        };
        println!(
            "| {} | {} | {} | {} | {:.2} s | {:.0} | {:.0}x |",
            r.tool,
            r.input,
            r.files,
            parsed,
            r.wall.as_secs_f64(),
            r.rate(),
            base / r.rate()
        );
    }
}
