//! Zero false errors on the Redshift SQL and RSQL the project holds: the AWS benchmark kits
//! (TPC-H and TPC-DS derived, vendored under tests/data/redshift-kits), the ETL scripts under
//! etl/, the golden RSQL cases meant to succeed (tests/rsql/*.rsql whose .exit is 0) and every
//! case of the Redshift compatibility corpus (tests/redshift/cases.json: all succeed on
//! Redshift). Every error found is printed on failure.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use check::{Finding, Options, Severity, check_file, check_text, collect};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Variables a golden case passes (`-- args: -v name=value ...`).
fn passed(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines().take_while(|l| l.starts_with("--")) {
        if let Some(a) = line.strip_prefix("-- args:") {
            let words: Vec<&str> = a.split_whitespace().collect();
            for w in words.windows(2) {
                if w[0] == "-v" || w[0] == "--set" || w[0] == "--variable" {
                    let name = w[1].trim_matches('\'').split('=').next().unwrap_or("");
                    out.push(name.to_string());
                }
            }
        }
    }
    out
}

struct Tally {
    files: usize,
    statements: usize,
    findings: Vec<Finding>,
}

fn statements(text: &str) -> usize {
    rsql::lexer::lex(text)
        .iter()
        .filter(|p| matches!(&p.kind, rsql::lexer::PieceKind::Sql(c) if c.terminated))
        .count()
}

fn run() -> BTreeMap<&'static str, Tally> {
    let root = root();
    let mut out = BTreeMap::new();
    // The variables the state machines pass to the ETL scripts (state-machines/*.asl.json);
    // checking each script with its own job's variables is the state-machine cross-check's job.
    let options = Options {
        known_passed: [
            "data_uri",
            "bucket",
            "etag",
            "execution",
            "extension",
            "file_uri",
            "object_key",
            "run_date",
            "scheduled_time",
            "stage_table",
            "table",
        ]
        .map(String::from)
        .to_vec(),
        ..Options::default()
    };
    for (name, dir) in [
        ("kits", root.join("tests/data/redshift-kits")),
        ("etl", root.join("etl")),
    ] {
        let files = collect(&[dir]).expect("collect");
        let mut t = Tally {
            files: files.len(),
            statements: 0,
            findings: Vec::new(),
        };
        for f in &files {
            t.statements += statements(&std::fs::read_to_string(f).unwrap_or_default());
            t.findings.extend(check_file(f, &options));
        }
        out.insert(name, t);
    }
    let golden = root.join("tests/rsql");
    let mut t = Tally {
        files: 0,
        statements: 0,
        findings: Vec::new(),
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&golden)
        .expect("tests/rsql")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "rsql"))
        .collect();
    entries.sort();
    for p in entries {
        let exit = std::fs::read_to_string(p.with_extension("exit")).unwrap_or_default();
        if exit.trim() != "0" {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&p) else {
            continue; // invalid UTF-8 cases are not meant to succeed
        };
        t.files += 1;
        t.statements += statements(&text);
        let options = Options {
            known_passed: passed(&text),
            ..Options::default()
        };
        t.findings.extend(check_text(
            &p.display().to_string(),
            &text,
            Some(&golden),
            &options,
        ));
    }
    out.insert("golden", t);
    let corpus = root.join("tests/redshift/cases.json");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(corpus).expect("cases.json")).expect("json");
    let mut t = Tally {
        files: 0,
        statements: 0,
        findings: Vec::new(),
    };
    let fixture = v["fixture"].as_str().unwrap_or("");
    for c in v["cases"].as_array().expect("cases") {
        let id = c["id"].as_str().unwrap_or("?");
        let sql = c["redshift_sql"].as_str().unwrap_or("");
        let text = format!("{fixture}\n{sql}\n");
        t.files += 1;
        t.statements += statements(sql);
        t.findings.extend(check_text(
            &format!("cases.json#{id}"),
            &text,
            None,
            &Options::default(),
        ));
    }
    out.insert("corpus", t);
    out
}

/// Golden cases that succeed as scripts but hold a statement meant to fail (the case shows
/// that rsql goes on after it): the finding is right, and expected. (file name, line, rule)
const MEANT_TO_FAIL: &[(&str, usize, &str)] = &[("copy_unload_s3.rsql", 48, "copy-option")];

#[test]
fn no_errors_on_the_sql_we_hold() {
    let tallies = run();
    let mut errors = Vec::new();
    for (name, t) in &tallies {
        let mut by_rule: BTreeMap<String, usize> = BTreeMap::new();
        for f in &t.findings {
            *by_rule
                .entry(format!("{}:{}", f.severity.name(), f.rule))
                .or_default() += 1;
            let meant = MEANT_TO_FAIL.iter().any(|(file, line, rule)| {
                f.file.ends_with(file) && f.line == *line && f.rule.code() == *rule
            });
            if f.severity == Severity::Error && !meant {
                errors.push(format!(
                    "{}:{}:{}: {}: {}",
                    f.file, f.line, f.column, f.rule, f.message
                ));
            }
            if std::env::var_os("CORPUS_VERBOSE").is_some() {
                eprintln!(
                    "{}:{}:{}: {}[{}]: {}",
                    f.file,
                    f.line,
                    f.column,
                    f.severity.name(),
                    f.rule,
                    f.message
                );
            }
        }
        eprintln!(
            "{name}: {} files, {} statements, findings {by_rule:?}",
            t.files, t.statements
        );
    }
    assert!(tallies["kits"].files >= 50, "the vendored kits are missing");
    assert!(tallies["corpus"].files >= 60);
    assert!(
        errors.is_empty(),
        "{} errors:\n{}",
        errors.len(),
        errors.join("\n")
    );
}
