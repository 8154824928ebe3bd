//! `rsqlflow report` through the real binary: `rsqlflow run` writes the execution's report and
//! prints its path; `rsqlflow report` rewrites it by name, for the latest execution, and from a
//! history file with its definition (as from `aws stepfunctions get-execution-history`). The
//! browser test opens the reports in headless Chromium (Debian's `chromium`, installed by
//! `.ci/run`): every state has its status colour, a click on the failed state shows its cause,
//! the timeline's bars are in start order, and the page raised no error.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

const STATES: [&str; 7] = [
    "LoadTables",
    "CustomerStaging",
    "CustomerMerge",
    "RegionLoad",
    "NationLoad",
    "VacuumAnalyze",
    "Succeeded",
];

fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    support::run_text(dir, args, &[])
}

/// Runs the sample; with `broken`, customer_merge reads a table that does not exist.
fn sample_run(name: &str, broken: bool) -> (tempfile::TempDir, PathBuf) {
    let dir = support::sample_workdir();
    if broken {
        let merge = dir.path().join("etl/tpch/customer_merge.rsql");
        let text = std::fs::read_to_string(&merge).unwrap().replace(
            "SELECT count(*) AS staged FROM stg_customer \\gset",
            "SELECT count(*) AS staged FROM stg_customer_gone \\gset",
        );
        std::fs::write(&merge, text).unwrap();
    }
    let (code, out, err) = run(dir.path(), &["run", "--name", name]);
    assert_eq!(code, i32::from(broken), "stdout:\n{out}\nstderr:\n{err}");
    let line = format!("report: .rsqlflow/executions/{name}.html");
    assert!(out.contains(&line), "{out}");
    let html = dir.path().join(format!(".rsqlflow/executions/{name}.html"));
    assert!(html.is_file());
    (dir, html)
}

/// The report's data block.
fn data(html: &str) -> serde_json::Value {
    let start = html.find("id=\"report-data\">").unwrap() + "id=\"report-data\">".len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).unwrap()
}

fn status_of(d: &serde_json::Value, state: &str) -> String {
    d["states"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == state)
        .unwrap_or_else(|| panic!("no state {state}"))["status"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn run_writes_the_report_and_report_rewrites_it() {
    let (dir, path) = sample_run("happy", false);
    let html = std::fs::read_to_string(&path).unwrap();
    // Self-contained: no external script, style, font or image.
    for needle in ["<script src", "<link", "@import", "url(http", "src=\"http"] {
        assert!(!html.contains(needle), "{needle}");
    }
    let d = data(&html);
    assert_eq!(d["summary"]["status"], "SUCCEEDED");
    for s in STATES {
        assert_eq!(status_of(&d, s), "succeeded", "{s}");
    }
    // Every job is there, with the state that ran it.
    let jobs = d["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 5);
    assert!(
        jobs.iter()
            .all(|j| j["state"].is_string() && j["exit_code"] == 0)
    );
    // By name, by default (the latest), to -o, and from the history file and definition.
    std::fs::remove_file(&path).unwrap();
    let (code, out, err) = run(dir.path(), &["report", "happy"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.trim(), ".rsqlflow/executions/happy.html");
    let again = data(&std::fs::read_to_string(&path).unwrap());
    assert_eq!(again["jobs"].as_array().unwrap().len(), 5);
    let (code, out, err) = run(dir.path(), &["report", "-o", "latest.html"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(dir.path().join("latest.html").is_file());
    let (code, out, err) = run(
        dir.path(),
        &[
            "report",
            "--history",
            ".rsqlflow/executions/happy.history.json",
            "--definition",
            "state-machines/rsql-etl.asl.json",
            "-o",
            "from-history.html",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let d = data(&std::fs::read_to_string(dir.path().join("from-history.html")).unwrap());
    assert_eq!(status_of(&d, "VacuumAnalyze"), "succeeded");
    // No such execution: an error, no file.
    let (code, _, err) = run(dir.path(), &["report", "nope"]);
    assert_eq!(code, 1);
    assert!(err.contains("nope"), "{err}");
}

#[test]
fn a_failed_run_reports_the_failed_state_and_its_cause_and_a_redrive_its_success() {
    let (dir, path) = sample_run("broken", true);
    let d = data(&std::fs::read_to_string(&path).unwrap());
    assert_eq!(d["summary"]["status"], "FAILED");
    assert_eq!(status_of(&d, "CustomerMerge"), "failed");
    assert_eq!(status_of(&d, "LoadTables"), "failed");
    assert_eq!(status_of(&d, "VacuumAnalyze"), "not-run");
    let merge = d["details"]
        .as_object()
        .unwrap()
        .values()
        .find(|r| r["state"] == "CustomerMerge")
        .unwrap();
    assert_eq!(merge["error"], "Rsqlflow.ScriptFailed");
    assert!(
        merge["cause"]
            .as_str()
            .unwrap()
            .contains("stg_customer_gone")
    );
    // Fixed and redriven: the report is rewritten; each state has its latest status, the
    // failed run stays on the timeline.
    let merge_script = dir.path().join("etl/tpch/customer_merge.rsql");
    let text = std::fs::read_to_string(&merge_script)
        .unwrap()
        .replace("stg_customer_gone", "stg_customer");
    std::fs::write(&merge_script, text).unwrap();
    let (code, out, err) = run(dir.path(), &["redrive", "broken"]);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(
        out.contains("report: .rsqlflow/executions/broken.html"),
        "{out}"
    );
    let d = data(&std::fs::read_to_string(&path).unwrap());
    assert_eq!(d["summary"]["status"], "SUCCEEDED");
    assert_eq!(d["summary"]["redrive_count"], 1);
    for s in STATES {
        assert_eq!(status_of(&d, s), "succeeded", "{s}");
    }
    let merge_rows: Vec<&str> = d["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["state"] == "CustomerMerge")
        .filter_map(|r| r["status"].as_str())
        .collect();
    assert_eq!(merge_rows, ["failed", "succeeded"]);
}

fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// The page's DOM after its scripts ran, and what Chromium logged.
fn dump_dom(browser: &Path, url: &str) -> (String, String) {
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
            url,
        ])
        .output()
        .expect("chromium runs");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn attr_values<'a>(dom: &'a str, prefix: &str, attr: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut rest = dom;
    while let Some(i) = rest.find(prefix) {
        rest = &rest[i + prefix.len()..];
        let tag_end = rest.find('>').unwrap_or(rest.len());
        let tag = &rest[..tag_end];
        let key = format!("{attr}=\"");
        if let Some(j) = tag.find(&key) {
            let v = &tag[j + key.len()..];
            out.push(&v[..v.find('"').unwrap_or(0)]);
        }
    }
    out
}

fn node_status(dom: &str, state: &str) -> Option<String> {
    let key = format!("data-state=\"{state}\" data-status=\"");
    let i = dom.find(&key)? + key.len();
    Some(dom[i..i + dom[i..].find('"')?].to_string())
}

#[test]
#[ignore = "needs chromium: .ci/run installs it and runs this with --ignored"]
fn the_reports_open_in_a_browser() {
    let Some(browser) = chromium() else {
        panic!("chromium is not installed: apt-get install -y chromium");
    };
    for (name, broken) in [("happy", false), ("broken", true)] {
        let (_dir, path) = sample_run(name, broken);
        let url = format!("file://{}#state=CustomerMerge", path.display());
        let (dom, log) = dump_dom(&browser, &url);
        assert!(
            dom.contains("data-ready=\"1\""),
            "the script did not finish:\n{log}"
        );
        assert!(!dom.contains("data-error="), "{dom}");
        assert!(!log.contains("Uncaught"), "{log}");
        // Every state's box, coloured by what happened.
        for s in STATES {
            let want = match (broken, s) {
                (false, _) => "succeeded",
                (true, "CustomerMerge" | "LoadTables") => "failed",
                (true, "NationLoad") => "aborted",
                (true, "VacuumAnalyze" | "Succeeded") => "not-run",
                (true, _) => "succeeded",
            };
            assert_eq!(node_status(&dom, s).as_deref(), Some(want), "{name}: {s}");
            assert!(
                dom.contains(&format!(
                    "node kind-{}",
                    if s == "LoadTables" {
                        "Parallel"
                    } else if s == "Succeeded" {
                        "Succeed"
                    } else {
                        "Task"
                    }
                )),
                "{s}"
            );
        }
        // The click on CustomerMerge opened its details; for the failure, with the cause.
        let details = &dom[dom.find("<aside id=\"details\"").unwrap()..];
        let details = &details[..details.find("</aside>").unwrap()];
        assert!(
            details.contains("data-state=\"CustomerMerge\""),
            "{details}"
        );
        if broken {
            assert!(details.contains("Rsqlflow.ScriptFailed"), "{details}");
            assert!(details.contains("stg_customer_gone"), "{details}");
        }
        // The timeline's rows are in the order the states started.
        let starts: Vec<i64> = attr_values(&dom, "<g class=\"row\"", "data-start")
            .into_iter()
            .filter_map(|v| v.parse().ok())
            .collect();
        assert!(starts.len() >= 6, "{starts:?}");
        let states = attr_values(&dom, "<g class=\"row\"", "data-state");
        let state_rows: Vec<i64> = starts
            .iter()
            .take(states.iter().filter(|s| !s.is_empty()).count())
            .copied()
            .collect();
        assert!(state_rows.windows(2).all(|w| w[0] <= w[1]), "{starts:?}");
        assert_eq!(states.first().copied(), Some("LoadTables"));
    }
}
