//! `rsqlflow check` against SQLFluff (`sqlfluff lint` and `sqlfluff parse`, `--dialect
//! redshift`) on the same generated ETL jobs, in one run:
//! - 1,000 RSQL scripts of 10 SQL statements each (10,000 statements), as converted BTEQ jobs
//!   are: CREATE TEMP TABLE, COPY from `:'data_uri'` (IAM_ROLE default, CSV), a transaction
//!   with DELETE ... USING and INSERT ... SELECT with a join (even jobs) or MERGE and a DELETE
//!   (odd jobs), an UPDATE on `:'run_date'`, COMMIT, ANALYZE, a report with window functions
//!   and a `\gset` count; between them the meta-commands (`\set`, `\remark`, `\if :ERROR <> 0`
//!   ... `\exit N` ... `\endif`, `\goto`/`\label`). `data_uri` and `run_date` are passed with
//!   `-v`, as a job's `variables` would be;
//! - the SQL-only part of each script (meta-command lines dropped, `\gset` turned into `;`,
//!   variables replaced by literals), which is what SQLFluff can fairly be given.
//!
//! SQLFluff gets both: the whole scripts (copied under a `.sql` name, the only files it reads)
//! and the SQL-only parts. For each tool and input: files, files it could parse at all, median
//! wall time, files/s. Parsed means: rsqlflow, no `lex-error` or `sql-syntax` finding in the
//! file; `sqlfluff lint`, no `PRS` or `TMP` violation; `sqlfluff parse`, no `unparsable`
//! segment in the file's tree. SQLFluff is slow, so it runs on the first 100 files of each set
//! (`BENCH_SQLFLUFF_FILES`), median of 3 runs (`BENCH_SQLFLUFF_RUNS`), with `--processes 1`
//! (rsqlflow check runs on one core too), and its files/s are extrapolated; rsqlflow check runs
//! on all 1,000, median of 7 runs. Both write JSON (rsqlflow its findings, SQLFluff its
//! violations or parse trees), which is how the parsed files are counted.
//!
//! Run with `cargo bench --bench check_vs_sqlfluff`. SQLFluff comes from
//! `$RSQLFLOW_SQLFLUFF`, else `~/.cache/rsqlflow-ci/sqlfluff-venv/bin/sqlfluff`; install it with
//! `python3 -m venv ~/.cache/rsqlflow-ci/sqlfluff-venv &&
//! ~/.cache/rsqlflow-ci/sqlfluff-venv/bin/pip install sqlfluff==4.5.0`. Without it the SQLFluff
//! rows are skipped, with a message. `BENCH_KEEP_DIR=DIR` writes the generated files there
//! instead of a temporary directory, to look at them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const SCRIPTS: usize = 1_000;
const STATEMENTS_PER_SCRIPT: usize = 10;
const RUNS: usize = 7;
/// The values the SQL-only parts get for the variables the scripts read.
const DATA_URI: &str = "'s3://example-bucket/orders/2024-06-01/'";
const RUN_DATE: &str = "'2024-06-01'";

fn rsqlflow() -> &'static str {
    env!("CARGO_BIN_EXE_rsqlflow")
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(default)
}

/// One generated job, deterministic in `i`: its RSQL text and its SQL-only part.
fn job(i: usize) -> (String, String) {
    let t = i % 7;
    let min_amount = i % 5;
    let regions = ["EU", "US", "APAC", "LATAM"];
    let region = regions[i % regions.len()];
    // Four statements between BEGIN and ANALYZE: DELETE/INSERT or MERGE/DELETE, then UPDATE
    // and COMMIT.
    let load = if i.is_multiple_of(2) {
        format!(
            r#"DELETE FROM orders_{t} USING stg_{i} WHERE orders_{t}.id = stg_{i}.id;
INSERT INTO orders_{t} (id, customer_id, amount, order_date, region, segment)
SELECT s.id, s.customer_id, s.amount, s.order_date, s.region, c.segment
FROM stg_{i} s
JOIN customer c ON c.id = s.customer_id
LEFT JOIN region_map r ON r.code = s.region
WHERE s.amount > :min_amount AND COALESCE(r.active, TRUE);"#
        )
    } else {
        format!(
            r#"MERGE INTO orders_{t} USING stg_{i} s ON orders_{t}.id = s.id
WHEN MATCHED THEN UPDATE SET amount = s.amount, order_date = s.order_date, region = s.region
WHEN NOT MATCHED THEN INSERT (id, customer_id, amount, order_date, region)
  VALUES (s.id, s.customer_id, s.amount, s.order_date, s.region);
DELETE FROM orders_{t} WHERE amount <= :min_amount AND order_date = :'run_date';"#
        )
    };
    let rsql = format!(
        r#"-- Generated ETL job {i}: loads a day of orders into orders_{t}, then reports on it.
-- Variables passed by the job: data_uri, run_date.
-- Exit codes: 10 staging table, 11 COPY, 12 empty file, 20 load, 30 report, 31 count.
\remark 'job {i}: loading' :data_uri 'for' :run_date
\set min_amount {min_amount}
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
{load}
UPDATE orders_{t} SET status = 'late'
WHERE status = 'open' AND region = '{region}' AND order_date < :'run_date'::date - 30;
\if :ERROR <> 0
  \goto FAIL
\endif
COMMIT;
\if :ERROR <> 0
  \goto FAIL
\endif
ANALYZE orders_{t};
\if :ERROR <> 0
  \remark 'job {i}: ANALYZE failed, the load stands' :ERRORCODE
\endif
SELECT region, order_date, COUNT(*) AS orders, SUM(amount) AS revenue,
       RANK() OVER (PARTITION BY order_date ORDER BY SUM(amount) DESC) AS rnk,
       SUM(SUM(amount)) OVER (PARTITION BY region ORDER BY order_date
                              ROWS BETWEEN 6 PRECEDING AND CURRENT ROW) AS revenue_7d
FROM orders_{t}
WHERE order_date > :'run_date'::date - 7
GROUP BY region, order_date
ORDER BY order_date, rnk;
\if :ERROR <> 0
  \remark 'job {i}: report failed'
  \exit 30
\endif
SELECT COUNT(*) AS total FROM orders_{t} WHERE order_date = :'run_date' \gset
\if :ERROR <> 0
  \remark 'job {i}: count failed'
  \exit 31
\endif
\remark 'job {i}: orders_{t} holds' :total 'rows for' :run_date
\exit 0

\label FAIL
\remark 'job {i}: load failed, SQLSTATE' :ERRORCODE
\exit 20
"#
    );
    let sql: String = rsql
        .lines()
        .filter(|l| !l.trim_start().starts_with('\\'))
        .map(|l| {
            let l = l
                .replace(":'data_uri'", DATA_URI)
                .replace(":'run_date'", RUN_DATE)
                .replace(":min_amount", &min_amount.to_string());
            match l.strip_suffix(" \\gset") {
                Some(q) => format!("{q};\n"),
                None => format!("{l}\n"),
            }
        })
        .collect();
    (rsql, sql)
}

/// Statements in a SQL-only part (every one ends its line with `;`).
fn statements(sql: &str) -> usize {
    sql.lines().filter(|l| l.trim_end().ends_with(';')).count()
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

/// Median of `runs` wall times, and the last output.
fn median(runs: usize, make: impl Fn() -> Command) -> (Output, Duration) {
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let (out, d) = run(make());
        times.push(d);
        last = Some(out);
    }
    times.sort();
    (last.expect("at least one run"), times[times.len() / 2])
}

fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Files rsqlflow check could not parse: those with a lexing or SQL syntax finding.
fn rsqlflow_unparsed(findings: &[serde_json::Value]) -> usize {
    findings
        .iter()
        .filter(|f| {
            let code = f["code"].as_str().unwrap_or("");
            code == "lex-error" || code == "sql-syntax"
        })
        .filter_map(|f| f["file"].as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}

fn count_severity(findings: &[serde_json::Value], severity: &str) -> usize {
    findings
        .iter()
        .filter(|f| f["severity"].as_str() == Some(severity))
        .count()
}

fn sqlfluff_json(out: &Output, verb: &str) -> Vec<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "sqlfluff {verb}'s JSON: {e}: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    v.as_array().cloned().unwrap_or_default()
}

/// `sqlfluff lint --format json`: files it read, and those with a `PRS` (parse) or `TMP`
/// (templating) violation.
fn sqlfluff_lint_files(out: &Output) -> (usize, usize) {
    let files = sqlfluff_json(out, "lint");
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

/// Whether a parse tree (`sqlfluff parse --format json`) has an `unparsable` segment.
fn has_unparsable(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Object(m) => m
            .iter()
            .any(|(k, v)| k == "unparsable" || has_unparsable(v)),
        serde_json::Value::Array(a) => a.iter().any(has_unparsable),
        _ => false,
    }
}

/// `sqlfluff parse --format json`: files it read, and those whose tree has an `unparsable`
/// segment (or no tree).
fn sqlfluff_parse_files(out: &Output) -> (usize, usize) {
    let files = sqlfluff_json(out, "parse");
    let unparsed = files
        .iter()
        .filter(|f| f["segments"].is_null() || has_unparsable(&f["segments"]))
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

/// Copies the first `n` files of `from` (by name) into `to`, renamed `*.sql`: SQLFluff reads
/// only its `sql_file_exts`, and `sqlfluff parse` takes a single path.
fn subset(from: &Path, to: &Path, n: usize) -> usize {
    if to.exists() {
        std::fs::remove_dir_all(to).expect("rm -r");
    }
    std::fs::create_dir_all(to).expect("mkdir");
    let mut files: Vec<PathBuf> = std::fs::read_dir(from)
        .expect("read_dir")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    files.truncate(n);
    for f in &files {
        let name = f.with_extension("sql");
        let name = name.file_name().expect("name");
        std::fs::copy(f, to.join(name)).expect("copy");
    }
    files.len()
}

fn main() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = match std::env::var_os("BENCH_KEEP_DIR") {
        Some(keep) => PathBuf::from(keep),
        None => tmp.path().to_path_buf(),
    };
    let (rsql_dir, sql_dir) = (d.join("rsql"), d.join("sql"));
    for dir in [&rsql_dir, &sql_dir] {
        if dir.exists() {
            std::fs::remove_dir_all(dir).expect("rm -r");
        }
        std::fs::create_dir_all(dir).expect("mkdir");
    }
    let mut total = 0;
    for i in 0..SCRIPTS {
        let (rsql, sql) = job(i);
        let n = statements(&sql);
        assert_eq!(n, STATEMENTS_PER_SCRIPT, "job {i}:\n{sql}");
        assert!(
            !sql.contains(":'") && !sql.contains('\\'),
            "job {i}'s SQL-only part still has RSQL in it:\n{sql}"
        );
        total += n;
        std::fs::write(rsql_dir.join(format!("job_{i:04}.rsql")), rsql).expect("write");
        std::fs::write(sql_dir.join(format!("job_{i:04}.sql")), sql).expect("write");
    }
    println!(
        "{SCRIPTS} generated RSQL scripts, {total} SQL statements, in {}",
        d.display()
    );

    let mut rows = Vec::new();
    for (input, sub) in [("RSQL scripts", "rsql"), ("SQL-only parts", "sql")] {
        let (out, wall) = median(RUNS, || {
            let mut c = Command::new(rsqlflow());
            c.current_dir(&d).args(["check", "--format", "json"]);
            // The jobs' variables, passed as a state machine would; the SQL-only parts read none.
            if sub == "rsql" {
                c.args(["-v", "data_uri", "-v", "run_date"]);
            }
            c.arg(sub);
            c
        });
        let findings = json_lines(&out);
        let (errors, warnings) = (
            count_severity(&findings, "error"),
            count_severity(&findings, "warning"),
        );
        println!(
            "rsqlflow check on the {input}: {errors} errors, {warnings} warnings, exit {:?}",
            out.status.code()
        );
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
            parsed: SCRIPTS - rsqlflow_unparsed(&findings),
            wall,
        });
    }
    let rsqlflow_rates = [rows[0].rate(), rows[1].rate()];

    let sqlfluff_files = env_usize("BENCH_SQLFLUFF_FILES", 100);
    let sqlfluff_runs = env_usize("BENCH_SQLFLUFF_RUNS", 3);
    let mut version = None;
    match sqlfluff() {
        None => eprintln!(
            "SQLFluff not found ($RSQLFLOW_SQLFLUFF or ~/.cache/rsqlflow-ci/sqlfluff-venv/bin/sqlfluff): \
             its rows are skipped. Install it with: python3 -m venv ~/.cache/rsqlflow-ci/sqlfluff-venv \
             && ~/.cache/rsqlflow-ci/sqlfluff-venv/bin/pip install sqlfluff==4.5.0"
        ),
        Some(bin) => {
            let v = Command::new(&bin)
                .arg("--version")
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                .unwrap_or_default();
            println!("{v} ({})", bin.display());
            version = Some(v);
            for (input, from, to) in [
                ("RSQL scripts", &rsql_dir, "sqlfluff-rsql"),
                ("SQL-only parts", &sql_dir, "sqlfluff-sql"),
            ] {
                let to = d.join(to);
                let files = subset(from, &to, sqlfluff_files);
                for verb in ["lint", "parse"] {
                    let (out, wall) = median(sqlfluff_runs, || {
                        let mut c = Command::new(&bin);
                        c.current_dir(&d)
                            .args([verb, "--dialect", "redshift", "--format", "json"]);
                        if verb == "lint" {
                            c.args(["--processes", "1"]);
                        }
                        c.arg(&to);
                        c
                    });
                    let stderr = String::from_utf8_lossy(&out.stderr);
                    assert!(
                        !stderr.contains("Usage:") && !stderr.contains("Traceback"),
                        "sqlfluff {verb} did not run: {stderr}"
                    );
                    let (read, unparsed) = if verb == "lint" {
                        sqlfluff_lint_files(&out)
                    } else {
                        sqlfluff_parse_files(&out)
                    };
                    assert_eq!(read, files, "sqlfluff {verb} did not read every file");
                    rows.push(Row {
                        tool: format!("sqlfluff {verb}"),
                        input,
                        files,
                        parsed: files - unparsed,
                        wall,
                    });
                }
            }
        }
    }

    println!();
    println!("| tool | input | files | files parsed | seconds | files/s | rsqlflow check is |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    for r in &rows {
        let base = if r.input == "RSQL scripts" {
            rsqlflow_rates[0]
        } else {
            rsqlflow_rates[1]
        };
        let ratio = base / r.rate();
        let ratio = if r.tool == "rsqlflow check" {
            "1x".to_string()
        } else {
            format!("{ratio:.0}x faster")
        };
        let rate = r.rate();
        let rate = if rate < 100.0 {
            format!("{rate:.1}")
        } else {
            format!("{rate:.0}")
        };
        println!(
            "| {} | {} | {} | {} | {:.3} | {} | {} |",
            r.tool,
            r.input,
            r.files,
            r.parsed,
            r.wall.as_secs_f64(),
            rate,
            ratio
        );
    }
    println!();
    println!(
        "rsqlflow check: all {SCRIPTS} files, median of {RUNS} runs. {}",
        match version {
            Some(v) => format!(
                "{v}: the first {sqlfluff_files} files of each set, median of {sqlfluff_runs} run(s), \
                 --processes 1, files/s extrapolated."
            ),
            None => "SQLFluff: not installed, skipped.".to_string(),
        }
    );
}
