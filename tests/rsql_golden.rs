//! Golden tests: every `tests/rsql/<case>.rsql` runs through the real `rsqlflow rsql` binary and
//! must print exactly `<case>.stdout` and `<case>.stderr` and exit with `<case>.exit`.
//!
//! The cases run on the embedded engine; with `-- --include-ignored` (as `.ci/run` runs them) they
//! also run on a throwaway native PostgreSQL cluster, against the same expected files (that test
//! fails when no PostgreSQL server is installed; see `support::pg`).
//! Directives on the first lines of a case: `-- args: ...` (extra command-line arguments),
//! `-- stdin` (feed the script on standard input instead of `-f`).
//! `UPDATE_GOLDEN=1` rewrites the expected files from the embedded run.

mod support;

use std::path::{Path, PathBuf};

struct Case {
    name: String,
    args: Vec<String>,
    stdin: bool,
}

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("rsql")
}

fn load_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for e in std::fs::read_dir(cases_dir()).expect("tests/rsql") {
        let p = e.expect("entry").path();
        if p.extension().is_some_and(|x| x == "rsql") {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read(&p).expect("read case");
            let head = String::from_utf8_lossy(&text[..text.len().min(400)]).into_owned();
            let mut args = Vec::new();
            let mut stdin = false;
            for line in head.lines().take_while(|l| l.starts_with("--")) {
                if let Some(a) = line.strip_prefix("-- args:") {
                    args = support::shell_words(a);
                } else if line.trim() == "-- stdin" {
                    stdin = true;
                }
            }
            cases.push(Case { name, args, stdin });
        }
    }
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(cases.len() >= 30, "expected the golden cases in tests/rsql");
    cases
}

fn normalise(s: &str, dir: &Path) -> String {
    let mut out = s.replace(&dir.display().to_string(), "<dir>");
    // Timings and dates vary from run to run.
    let mut res = String::with_capacity(out.len());
    for line in out.lines() {
        let mut l = line.to_string();
        if let Some(rest) = l.strip_prefix("Time: ")
            && rest.ends_with(" ms")
        {
            l = "Time: <ms> ms".into();
        }
        l = replace_dates(&l);
        res.push_str(&l);
        res.push('\n');
    }
    if !s.ends_with('\n') {
        res.pop();
    }
    out = res;
    out
}

/// Replaces MM/DD/YY dates (report titles) with `<date>`.
fn replace_dates(l: &str) -> String {
    let b = l.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        if i + 8 <= b.len() {
            let w = &b[i..i + 8];
            let d = |k: usize| w[k].is_ascii_digit();
            if d(0) && d(1) && w[2] == b'/' && d(3) && d(4) && w[5] == b'/' && d(6) && d(7) {
                out.push_str("<date>");
                i += 8;
                continue;
            }
        }
        let c = l[i..].chars().next().unwrap_or(' ');
        out.push(c);
        i += c.len_utf8();
    }
    out
}

struct Actual {
    stdout: String,
    stderr: String,
    exit: i32,
}

fn run_case(case: &Case, db_args: &[String]) -> Actual {
    let dir = tempfile::tempdir().expect("tempdir");
    support::copy_dir(&cases_dir(), dir.path());
    let file = format!("{}.rsql", case.name);
    let mut args = vec!["rsql".to_string()];
    args.extend(db_args.iter().cloned());
    let stdin = if case.args.iter().any(|a| a == "-c") {
        None
    } else if case.stdin {
        Some(std::fs::read(dir.path().join(&file)).expect("read"))
    } else {
        args.push("-f".into());
        args.push(file);
        None
    };
    args.extend(case.args.iter().cloned());
    let out = support::run(dir.path(), &args, stdin.as_deref());
    Actual {
        stdout: normalise(&String::from_utf8_lossy(&out.stdout), dir.path()),
        stderr: normalise(&String::from_utf8_lossy(&out.stderr), dir.path()),
        exit: out.status.code().unwrap_or(-1),
    }
}

fn expected(case: &Case, ext: &str) -> String {
    std::fs::read_to_string(cases_dir().join(format!("{}.{ext}", case.name))).unwrap_or_default()
}

fn check(case: &Case, engine: &str, a: &Actual) -> Option<String> {
    let exp_out = expected(case, "stdout");
    let exp_err = expected(case, "stderr");
    let exp_exit: i32 = expected(case, "exit").trim().parse().unwrap_or(0);
    let mut problems = Vec::new();
    if a.stdout != exp_out {
        problems.push(format!(
            "stdout differs:\n--- expected\n{exp_out}--- actual\n{}",
            a.stdout
        ));
    }
    if a.stderr != exp_err {
        problems.push(format!(
            "stderr differs:\n--- expected\n{exp_err}--- actual\n{}",
            a.stderr
        ));
    }
    if a.exit != exp_exit {
        problems.push(format!("exit code {} (expected {exp_exit})", a.exit));
    }
    (!problems.is_empty()).then(|| format!("[{engine}] {}: {}", case.name, problems.join("\n")))
}

#[test]
fn golden_cases_on_embedded_engine() {
    let update = std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1");
    let cases = load_cases();
    let n = cases.len();
    let failures = support::run_parallel(cases, 3, |case| {
        let a = run_case(case, &["--ephemeral".into()]);
        if update {
            let d = cases_dir();
            std::fs::write(d.join(format!("{}.stdout", case.name)), &a.stdout).unwrap();
            std::fs::write(d.join(format!("{}.stderr", case.name)), &a.stderr).unwrap();
            std::fs::write(
                d.join(format!("{}.exit", case.name)),
                format!("{}\n", a.exit),
            )
            .unwrap();
            return None;
        }
        check(case, "embedded", &a)
    });
    println!(
        "golden cases on the embedded engine: {} passed, {} failed",
        n - failures.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
#[ignore = "needs a native PostgreSQL server's initdb and pg_ctl (pg_config --bindir or /usr/lib/postgresql/*/bin); .ci/run installs Debian's postgresql"]
fn golden_cases_on_native_postgresql() {
    let cluster = support::pg::Cluster::start();
    let cases = load_cases();
    let n = cases.len();
    let failures = support::run_parallel(cases, 2, |case| {
        let url = support::fresh_database(
            &cluster,
            &format!("golden_{}", case.name.to_ascii_lowercase()),
        );
        let a = run_case(case, &["--database".into(), url]);
        check(case, "native", &a)
    });
    println!(
        "golden cases on native PostgreSQL: {} passed, {} failed",
        n - failures.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
