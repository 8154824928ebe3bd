//! `rsqlflow check` through the real binary: no errors on the project's own scripts (each
//! checked with the variables the state machines pass it) or on the golden RSQL cases meant to
//! succeed; and the exit codes, formats and `--explain` of the command.

mod support;

use std::collections::BTreeMap;
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

/// The variables each job passes, by script (relative to etl/), from the state machines' job
/// specs: `{"script": "...", "variables": {"name": ..., "name.$": ...}}`. Until the checker
/// reads the state machines itself, the test does.
fn passed_by_state_machines() -> BTreeMap<String, Vec<String>> {
    fn walk(v: &serde_json::Value, out: &mut BTreeMap<String, Vec<String>>) {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(script) = m.get("script").and_then(|s| s.as_str()) {
                    let names = out.entry(script.to_string()).or_default();
                    if let Some(vars) = m.get("variables").and_then(|v| v.as_object()) {
                        for k in vars.keys() {
                            let k = k.trim_end_matches(".$").to_string();
                            if !names.contains(&k) {
                                names.push(k);
                            }
                        }
                    }
                }
                m.values().for_each(|x| walk(x, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(root().join("state-machines")).expect("state-machines") {
        let p = e.expect("entry").path();
        if p.extension().is_some_and(|x| x == "json") {
            let v: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&p).expect("read")).expect("json");
            walk(&v, &mut out);
        }
    }
    out
}

fn scripts_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            scripts_under(&p, out);
        } else if p.extension().is_some_and(|x| x == "rsql" || x == "sql") {
            out.push(p);
        }
    }
}

#[test]
fn no_errors_on_the_project_scripts() {
    let passed = passed_by_state_machines();
    let mut scripts = Vec::new();
    scripts_under(&root().join("etl"), &mut scripts);
    assert!(scripts.len() >= 10, "{scripts:?}");
    let mut problems = Vec::new();
    for s in &scripts {
        let rel = s.strip_prefix(root().join("etl")).unwrap();
        let rel = rel.to_string_lossy().into_owned();
        let mut args = vec!["check", "--format", "json"];
        let vars = passed.get(&rel).cloned().unwrap_or_default();
        for v in &vars {
            args.push("-v");
            args.push(v);
        }
        let path = s.to_string_lossy().into_owned();
        args.push(&path);
        let out = check(&args);
        let findings = json_findings(&out);
        let errs = errors(&findings);
        if !errs.is_empty() || out.status.code() != Some(0) {
            problems.push(format!("{rel} (-v {vars:?}): {errs:#?}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
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
