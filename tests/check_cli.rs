//! `rsqlflow check` through the real binary: no errors on the project itself (state machines,
//! scripts with the variables their jobs pass, template) or on the golden RSQL cases meant to
//! succeed; a seeded defect of each project-level rule found at its line; and the exit codes,
//! formats and `--explain` of the command.

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn check(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    support::run(&root(), &args, None)
}

fn json_findings(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn errors(findings: &[serde_json::Value]) -> Vec<&serde_json::Value> {
    findings
        .iter()
        .filter(|f| f["severity"] == "error")
        .collect()
}

/// Copies the project (template, state machines, scripts) into a temporary directory.
fn project_copy() -> tempfile::TempDir {
    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).expect("mkdir");
        for e in std::fs::read_dir(from).expect("read_dir") {
            let p = e.expect("entry").path();
            let dest = to.join(p.file_name().expect("name"));
            if p.is_dir() {
                copy_dir(&p, &dest);
            } else {
                std::fs::copy(&p, &dest).expect("copy");
            }
        }
    }
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(
        root().join("template.yaml"),
        dir.path().join("template.yaml"),
    )
    .expect("copy");
    copy_dir(
        &root().join("state-machines"),
        &dir.path().join("state-machines"),
    );
    copy_dir(&root().join("etl"), &dir.path().join("etl"));
    dir
}

/// Replaces the first `from` in `file` (under `dir`) with `to`; panics when it is not there.
fn edit(dir: &Path, file: &str, from: &str, to: &str) {
    let p = dir.join(file);
    let text = std::fs::read_to_string(&p).expect("read");
    assert!(text.contains(from), "{file} has no {from:?}");
    std::fs::write(&p, text.replacen(from, to, 1)).expect("write");
}

/// The 1-based line of the first line of `file` holding `needle`.
fn line_of(dir: &Path, file: &str, needle: &str) -> u64 {
    let text = std::fs::read_to_string(dir.join(file)).expect("read");
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{file} has no line with {needle:?}")) as u64
        + 1
}

#[test]
fn the_project_checks_clean() {
    // As .ci/run runs it: no PATH, so the project's state machines, scripts and template,
    // each script with the variables its jobs pass.
    let out = check(&["check", "--format", "json"]);
    let findings = json_findings(&out);
    let errs = errors(&findings);
    assert!(errs.is_empty(), "{errs:#?}");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = check(&["check"]);
    let err = String::from_utf8_lossy(&out.stderr);
    let summary = err.lines().last().unwrap_or_default();
    assert!(summary.starts_with("0 errors"), "{err}");
    // 5 definitions, the template and the scripts.
    let files: usize = summary
        .rsplit(" in ")
        .next()
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(files >= 18, "{summary}");
}

#[test]
fn seeded_defects_in_a_project_are_found_at_their_lines() {
    let dir = project_copy();
    let d = dir.path();
    let etl = "state-machines/rsql-etl.asl.json";
    let jsonata = "state-machines/rsql-etl.jsonata.asl.json";
    let orders = "state-machines/orders-incremental.asl.json";
    let nightly = "state-machines/nightly-summary.asl.json";
    let prefix = "state-machines/load-prefix.asl.json";
    let staging = "etl/tpch/customer_staging.rsql";
    // job-timeout: the job may run longer than its Task waits.
    edit(
        d,
        etl,
        "\"timeoutSeconds\": 3600,",
        "\"timeoutSeconds\": 5000,",
    );
    // missing-script
    edit(
        d,
        etl,
        "\"tpch/customer_merge.rsql\"",
        "\"tpch/customer_merg.rsql\"",
    );
    // unused-variable, reported at the job that passes it
    edit(
        d,
        etl,
        "\"data_uri\": \"s3://${DataBucket}/tpch/customer/\"",
        "\"data_uri\": \"s3://${DataBucket}/tpch/customer/\", \"unused_var\": \"x\"",
    );
    // undefined-variable: one of the two jobs that run customer_staging no longer passes it.
    edit(
        d,
        jsonata,
        "\"variables\": {\n                      \"data_uri\": \"s3://${DataBucket}/tpch/customer/\"\n                    }",
        "\"variables\": {}",
    );
    // unsubstituted-placeholder
    edit(d, jsonata, "${DataBucket}", "${DataBuckt}");
    // invalid-job-spec: an unknown field.
    edit(d, orders, "\"timeoutSeconds\"", "\"timeoutSecond\"");
    // retry-coverage, catch-swallows-failure and computed-job-field in the nightly workflow.
    edit(d, nightly, "\"Rsqlflow.InfrastructureError\",", "");
    edit(
        d,
        nightly,
        "\"script\": \"incremental/orders_summary.rsql\"",
        "\"script.$\": \"$.script\"",
    );
    edit(
        d,
        nightly,
        "\"End\": true\n    }\n  }",
        "\"Catch\": [{\"ErrorEquals\": [\"States.ALL\"], \"Next\": \"Quietly\"}],\n      \"End\": true\n    },\n    \"Quietly\": {\"Type\": \"Succeed\"}\n  }",
    );
    // invalid-state-machine: a Next to a state that does not exist.
    edit(
        d,
        prefix,
        "\"Next\": \"LoadEachFile\"",
        "\"Next\": \"LoadEachFiles\"",
    );
    // missing-definition (the file is still checked: it is under state-machines/).
    edit(
        d,
        "template.yaml",
        "DefinitionUri: state-machines/load-prefix.asl.json",
        "DefinitionUri: state-machines/load-prefx.asl.json",
    );

    let out = support::run(d, &["check".into(), "--format".into(), "json".into()], None);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let findings = json_findings(&out);
    let found = |code: &str, file: &str, line: u64| {
        findings
            .iter()
            .any(|f| f["code"] == code && f["file"] == file && f["line"] == line)
    };
    let expect = [
        (
            "job-timeout",
            etl,
            line_of(d, etl, "\"timeoutSeconds\": 5000"),
        ),
        (
            "missing-script",
            etl,
            line_of(d, etl, "customer_merg.rsql\""),
        ),
        ("unused-variable", etl, line_of(d, etl, "unused_var")),
        (
            "undefined-variable",
            staging,
            line_of(d, staging, ":data_uri"),
        ),
        (
            "unsubstituted-placeholder",
            jsonata,
            line_of(d, jsonata, "${DataBuckt}"),
        ),
        (
            "invalid-job-spec",
            orders,
            line_of(d, orders, "\"timeoutSecond\""),
        ),
        ("retry-coverage", nightly, line_of(d, nightly, "\"Retry\"")),
        (
            "computed-job-field",
            nightly,
            line_of(d, nightly, "\"script.$\""),
        ),
        (
            "catch-swallows-failure",
            nightly,
            line_of(d, nightly, "\"Next\": \"Quietly\""),
        ),
        (
            "invalid-state-machine",
            prefix,
            line_of(d, prefix, "\"Next\": \"LoadEachFiles\""),
        ),
        (
            "missing-definition",
            "template.yaml",
            line_of(d, "template.yaml", "load-prefx.asl.json"),
        ),
    ];
    let missing: Vec<_> = expect
        .iter()
        .filter(|(code, file, line)| !found(code, file, *line))
        .collect();
    assert!(
        missing.is_empty(),
        "not found: {missing:#?}\nin {findings:#?}"
    );
    // The partly passed variable says which job does not pass it; the misspelt script, which
    // script exists.
    let partial = findings
        .iter()
        .find(|f| f["code"] == "undefined-variable" && f["file"] == staging)
        .expect("undefined-variable");
    assert!(
        partial["message"]
            .as_str()
            .is_some_and(|m| m.contains("not passed by every job") && m.contains(jsonata)),
        "{partial}"
    );
    let script = findings
        .iter()
        .find(|f| f["code"] == "missing-script")
        .expect("missing-script");
    assert_eq!(script["help"], "did you mean tpch/customer_merge.rsql?");
    // No error anywhere else (the misspelt field leaves the orders job without its timeout,
    // and the job definition's default is longer than that Task's).
    let unexpected: Vec<_> = errors(&findings)
        .into_iter()
        .filter(|f| {
            let seeded = expect
                .iter()
                .any(|(code, file, _)| f["code"] == *code && f["file"] == *file);
            let consequence = f["code"] == "job-timeout" && f["file"] == orders;
            !(seeded || consequence)
        })
        .collect();
    assert!(unexpected.is_empty(), "{unexpected:#?}");
}

#[test]
fn no_errors_on_the_golden_cases_meant_to_succeed() {
    // A golden case that succeeds as a script may hold a statement meant to fail (it shows
    // that rsql goes on after it): the checker is right to report it. (file, line, code)
    const MEANT_TO_FAIL: &[(&str, u64, &str)] = &[("copy_unload_s3.rsql", 48, "copy-option")];
    let meant_to_fail = |p: &std::path::Path, f: &serde_json::Value| {
        MEANT_TO_FAIL.iter().any(|(file, line, code)| {
            p.ends_with(file) && f["line"].as_u64() == Some(*line) && f["code"] == *code
        })
    };
    let dir = root().join("tests").join("rsql");
    let mut checked = 0;
    let mut problems = Vec::new();
    for e in std::fs::read_dir(&dir).expect("tests/rsql") {
        let p = e.expect("entry").path();
        if p.extension().is_none_or(|x| x != "rsql") {
            continue;
        }
        let exit = std::fs::read_to_string(p.with_extension("exit")).unwrap_or_default();
        if exit.trim() != "0" {
            continue; // meant to fail
        }
        let text = std::fs::read_to_string(&p).expect("read");
        let mut vars = Vec::new();
        let mut command_string = false;
        for line in text.lines().take_while(|l| l.starts_with("--")) {
            if let Some(a) = line.strip_prefix("-- args:") {
                let words = support::shell_words(a);
                command_string |= words.iter().any(|w| w == "-c");
                for pair in words.windows(2) {
                    if pair[0] == "-v" {
                        vars.push(pair[1].clone());
                    }
                }
            }
        }
        if command_string {
            continue; // the file is not what runs
        }
        let mut args = vec!["check".to_string(), "--format".into(), "json".into()];
        for v in vars {
            args.push("-v".into());
            args.push(v);
        }
        args.push(p.to_string_lossy().into_owned());
        let out = support::run(&dir, &args, None);
        let findings = json_findings(&out);
        let all = errors(&findings);
        let errs: Vec<_> = all.iter().filter(|f| !meant_to_fail(&p, f)).collect();
        let exit_ok = out.status.code() == Some(if all.is_empty() { 0 } else { 1 });
        if !errs.is_empty() || !exit_ok {
            problems.push(format!("{}: {errs:#?}", p.display()));
        }
        checked += 1;
    }
    assert!(checked >= 25, "only {checked} golden cases checked");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn exit_codes_and_formats() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.rsql");
    std::fs::write(
        &bad,
        "\\set data_uri s3://b/k\nCOPY t FROM :'data_urii' IAM_ROLE default;\n",
    )
    .unwrap();
    let warn_only = dir.path().join("warn.rsql");
    std::fs::write(&warn_only, "select 1;\nselect 2;\n").unwrap();
    let bad_s = bad.to_string_lossy().into_owned();
    let warn_s = warn_only.to_string_lossy().into_owned();

    // Text: compiler style on stderr, with the caret and the summary.
    let out = check(&["check", &bad_s]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{bad_s}:2:13: error[undefined-variable]: :data_urii is never set"
        )),
        "{err}"
    );
    assert!(err.contains("did you mean :data_uri?"), "{err}");
    assert!(err.contains("^^^^^^^^^^^^"), "{err}");
    assert!(err.contains("1 error, 1 warning in 1 file"), "{err}");
    assert!(
        !err.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );

    // JSON: one object per line on stdout.
    let out = check(&["check", "--format", "json", &bad_s]);
    let f = json_findings(&out);
    let undefined: Vec<_> = f
        .iter()
        .filter(|x| x["code"] == "undefined-variable")
        .collect();
    assert_eq!(undefined.len(), 1, "{f:?}");
    assert_eq!(undefined[0]["line"], 2);
    assert_eq!(undefined[0]["column"], 13);
    assert_eq!(undefined[0]["help"], "did you mean :data_uri?");

    // GitHub workflow commands.
    let out = check(&["check", "--format", "github", &bad_s]);
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        s.lines().any(|l| l.starts_with("::error file=")
            && l.contains(",line=2,col=13,")
            && l.contains("title=undefined-variable::")),
        "{s}"
    );

    // Warnings pass, unless denied.
    assert_eq!(check(&["check", &warn_s]).status.code(), Some(0));
    assert_eq!(
        check(&["check", "--deny", "warnings", &warn_s])
            .status
            .code(),
        Some(1)
    );
    // Cannot run: a missing path, an unknown rule, a bad variable name.
    assert_eq!(check(&["check", "no/such/dir"]).status.code(), Some(2));
    assert_eq!(
        check(&["check", "--explain", "no-such-rule"]).status.code(),
        Some(2)
    );
    assert_eq!(
        check(&["check", "-v", "bad-name", &warn_s]).status.code(),
        Some(2)
    );
    // --explain prints the paragraph.
    let out = check(&["check", "--explain", "goto-without-label"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("lexically precedes"));
}

/// Inputs from a hostile pass: each ends, with a finding instead of a hang, an abort or a path
/// followed out of the project.
#[test]
fn hostile_inputs_end_with_findings() {
    let dir = project_copy();
    let d = dir.path();
    // A script that includes itself six times (six to the eighth reads without a budget).
    std::fs::write(d.join("etl/self.rsql"), "\\ir self.rsql\n".repeat(6)).unwrap();
    // A definition nested 40,000 deep, and a 400 KB chain of operators.
    std::fs::write(
        d.join("state-machines/deep.asl.json"),
        format!("{}{}", "[".repeat(40_000), "]".repeat(40_000)),
    )
    .unwrap();
    std::fs::write(
        d.join("etl/chain.sql"),
        format!("select {}1;\n", "1+".repeat(200_000)),
    )
    .unwrap();
    // Keys with `..`, a symbolic link out of etl/, a DefinitionUri out of the project.
    let etl = "state-machines/rsql-etl.asl.json";
    edit(
        d,
        etl,
        "\"tpch/customer_merge.rsql\"",
        "\"../../etc/passwd\"",
    );
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("/etc", d.join("etl/link")).unwrap();
        edit(d, etl, "\"tpch/region_load.rsql\"", "\"link/passwd\"");
    }
    edit(
        d,
        "template.yaml",
        "DefinitionUri: state-machines/load-prefix.asl.json",
        "DefinitionUri: ../../etc/passwd",
    );
    let out = support::run(d, &["check".into(), "--format".into(), "json".into()], None);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let findings = json_findings(&out);
    let has = |code: &str, file: &str| {
        findings
            .iter()
            .any(|f| f["code"] == code && f["file"] == file)
    };
    assert!(has("invalid-state-machine", "state-machines/deep.asl.json"));
    assert!(has("sql-syntax", "etl/chain.sql"));
    assert!(has("missing-definition", "template.yaml"));
    let missing: Vec<_> = findings
        .iter()
        .filter(|f| f["code"] == "missing-script")
        .collect();
    assert_eq!(
        missing.len(),
        if cfg!(unix) { 2 } else { 1 },
        "{missing:#?}"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("root:x:0"), "nothing from /etc is printed");
}
