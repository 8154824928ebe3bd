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
    // SUBMITTED, RUNNABLE, RUNNING in order; the embedded warehouse runs one job at a time, so
    // of the two branches' jobs submitted together, one waits in RUNNABLE for the other.
    let at = |j: &serde_json::Value, k: &str| j[k].as_i64().unwrap_or_else(|| panic!("{k}: {j}"));
    for j in jobs {
        assert!(at(j, "created") <= at(j, "runnable"), "{j}");
        assert!(at(j, "runnable") <= at(j, "started"), "{j}");
        assert!(at(j, "started") <= at(j, "stopped"), "{j}");
    }
    assert!(
        jobs.iter().any(|j| at(j, "started") > at(j, "runnable")),
        "{jobs:?}"
    );
    // Each job's log tail, read from its local log stream.
    let vacuum = jobs.iter().find(|j| j["state"] == "VacuumAnalyze").unwrap();
    assert!(
        vacuum["log_tail"]
            .as_str()
            .unwrap()
            .contains("vacuum_analyze: customers 1500"),
        "{vacuum}"
    );
    assert_eq!(d["trigger"], serde_json::Value::Null);
    assert!(html.contains("<dt>Trigger</dt><dd>started by hand</dd>"));
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

#[test]
fn a_scheduled_run_names_its_trigger() {
    let dir = support::sample_workdir();
    let (code, out, err) = run(
        dir.path(),
        &[
            "trigger",
            "schedule",
            "--state-machine",
            "state-machines/rsql-etl.asl.json",
            "--time",
            "2026-12-01T02:00:00Z",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let path = out
        .lines()
        .find_map(|l| l.strip_prefix("report: "))
        .unwrap_or_else(|| panic!("{out}"));
    let d = data(&std::fs::read_to_string(dir.path().join(path)).unwrap());
    assert_eq!(d["trigger"], "schedule at 2026-12-01T02:00:00Z");
}

/// A Distributed Map whose third item fails in its child execution (tolerated).
const DISTRIBUTED: &str = r#"{"StartAt": "Fan", "States": {
  "Fan": {"Type": "Map", "ToleratedFailurePercentage": 50, "Next": "Done",
    "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
      "StartAt": "Check", "States": {
        "Check": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericEquals": 3, "Next": "Bad"}], "Default": "Good"},
        "Good": {"Type": "Pass", "End": true},
        "Bad": {"Type": "Fail", "Error": "Item.Bad", "Cause": "item 3 is bad"}}}},
  "Done": {"Type": "Succeed"}}}"#;

#[test]
fn a_distributed_map_report_shows_its_child_executions() {
    let dir = support::sample_workdir();
    std::fs::write(dir.path().join("fan.asl.json"), DISTRIBUTED).unwrap();
    let (code, out, err) = run(
        dir.path(),
        &[
            "run",
            "fan.asl.json",
            "--name",
            "fan",
            "--input",
            r#"[{"n":1},{"n":2},{"n":3},{"n":4}]"#,
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        dir.path()
            .join(".rsqlflow/executions/fan.children.json")
            .is_file()
    );
    // Written by the run, and again by `rsqlflow report` from what the run kept.
    for again in [false, true] {
        if again {
            let (code, out, err) = run(dir.path(), &["report", "fan"]);
            assert_eq!(code, 0, "{out}{err}");
        }
        let html =
            std::fs::read_to_string(dir.path().join(".rsqlflow/executions/fan.html")).unwrap();
        let d = data(&html);
        let fan = d["states"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "Fan")
            .unwrap();
        assert_eq!(fan["children"]["SUCCEEDED"], 3, "{fan}");
        assert_eq!(fan["children"]["FAILED"], 1, "{fan}");
        assert_eq!(fan["iterations"], 4);
        assert_eq!(status_of(&d, "Fan"), "succeeded");
        assert_eq!(status_of(&d, "Good"), "succeeded");
        assert_eq!(status_of(&d, "Bad"), "failed");
        assert_eq!(status_of(&d, "Done"), "succeeded");
        let bad = d["details"]
            .as_object()
            .unwrap()
            .values()
            .find(|r| r["state"] == "Bad")
            .unwrap();
        assert!(bad["execution"].is_string(), "{bad}");
        assert_eq!(bad["error"], "Item.Bad");
        // The cost counts the children's transitions too: Fan and Done, and two states in
        // each of the four children.
        let sfn = d["cost"]["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["service"] == "Step Functions")
            .unwrap();
        assert_eq!(sfn["quantity"], 10.0, "{sfn}");
    }
}

/// Hostile or careless inputs: a clear error naming the file, exit 1, nothing written and
/// nothing read or written outside the execution's directory.
#[test]
fn bad_inputs_are_refused_without_hanging_or_leaving_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let history = r#"{"events":[{"id":1,"previousEventId":0,"timestamp":1,"type":"ExecutionStarted"},
        {"id":2,"previousEventId":1,"timestamp":2,"type":"ExecutionSucceeded"}]}"#;
    std::fs::write(
        d.join("x.asl.json"),
        r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#,
    )
    .unwrap();
    std::fs::write(d.join("h.json"), history).unwrap();
    // A FIFO nobody writes to, as the history or the definition: no hang.
    let fifo = d.join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    for args in [
        [
            "report",
            "--history",
            "fifo",
            "--definition",
            "x.asl.json",
            "-o",
            "r.html",
        ],
        [
            "report",
            "--history",
            "h.json",
            "--definition",
            "fifo",
            "-o",
            "r.html",
        ],
    ] {
        let (code, _, err) = run(d, &args);
        assert_eq!(code, 1, "{err}");
        assert!(err.contains("fifo: not a regular file"), "{err}");
    }
    // -o into a directory that does not exist: refused, not created.
    let (code, _, err) = run(
        d,
        &[
            "report",
            "--history",
            "h.json",
            "--definition",
            "x.asl.json",
            "-o",
            "missing/r.html",
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("missing is not a directory"), "{err}");
    assert!(!d.join("missing").exists());
    assert!(!d.join("r.html").exists());
    // A record whose name leads out of .rsqlflow/executions (planted, or edited by hand): its
    // history is not read from there and its report not written there.
    let execs = d.join("work/.rsqlflow/executions");
    std::fs::create_dir_all(&execs).unwrap();
    std::fs::write(
        execs.join("evil.json"),
        r#"{"executionArn":"arn:aws:states:local:000000000000:execution:x:evil",
            "name":"../../../pwned","definition":"../x.asl.json","status":"SUCCEEDED","startDate":1}"#,
    )
    .unwrap();
    std::fs::write(d.join("pwned.history.json"), history).unwrap();
    for args in [&["report", "evil"][..], &["report"][..]] {
        let (code, _, err) = run(&d.join("work"), args);
        assert_eq!(code, 1, "{err}");
        assert!(!d.join("pwned.html").exists());
    }
    let (_, _, err) = run(&d.join("work"), &["report", "evil"]);
    assert!(
        err.contains("evil.json: the record names the execution \"../../../pwned\""),
        "{err}"
    );
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

/// Markup and script in state names, Choice rules, errors, causes, inputs, the trigger and the
/// file's name are shown as text: nothing of them runs, with the failed state's details open.
#[test]
#[ignore = "needs chromium: .ci/run installs it and runs this with --ignored"]
fn injected_markup_does_not_run_in_the_page() {
    let Some(browser) = chromium() else {
        panic!("no chromium: apt-get install -y chromium");
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let name = "</script><img src=x onerror=document.title='pwned'>\u{2028}<!--";
    let long = "</script><img src=x onerror=\"document.title='pwned'\">\
        <script>document.title='pwned'</script>\u{2028}\u{2029}<!--\
        <a href=\"javascript:document.title='pwned'\">x</a>";
    let definition = serde_json::json!({"StartAt": name, "States": {
        name: {"Type": "Choice", "Choices": [{"Variable": "$.a", "StringEquals": long, "Next": "F"}],
               "Default": "F"},
        "F": {"Type": "Fail", "Error": long, "Cause": long}}});
    let input =
        serde_json::json!({"trigger": {"type": "s3", "bucket": long, "key": long, "size": 1}});
    let history = serde_json::json!({"events": [
        {"id": 1, "previousEventId": 0, "timestamp": 1, "type": "ExecutionStarted",
         "executionStartedEventDetails": {"input": input.to_string()}},
        {"id": 2, "previousEventId": 1, "timestamp": 2, "type": "ChoiceStateEntered",
         "stateEnteredEventDetails": {"name": name, "input": long}},
        {"id": 3, "previousEventId": 2, "timestamp": 3, "type": "ChoiceStateExited",
         "stateExitedEventDetails": {"name": name, "output": long}},
        {"id": 4, "previousEventId": 3, "timestamp": 4, "type": "FailStateEntered",
         "stateEnteredEventDetails": {"name": "F", "input": long}},
        {"id": 5, "previousEventId": 4, "timestamp": 5, "type": "ExecutionFailed",
         "executionFailedEventDetails": {"error": long,
             "cause": serde_json::json!({"message": long}).to_string()}}]});
    let file = "x<img src=x onerror=document.title='pwned'>.json";
    std::fs::write(d.join(file), history.to_string()).unwrap();
    std::fs::write(d.join("def.asl.json"), definition.to_string()).unwrap();
    let (code, _, err) = run(
        d,
        &[
            "report",
            "--history",
            file,
            "--definition",
            "def.asl.json",
            "-o",
            "r.html",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let url = format!("file://{}#state=F", d.join("r.html").display());
    let (dom, log) = dump_dom(&browser, &url);
    assert!(
        dom.contains("data-drawn-ms="),
        "the page did not draw: {log}"
    );
    let title = &dom[dom.find("<title>").unwrap()..dom.find("</title>").unwrap()];
    assert!(title.starts_with("<title>def x&lt;img"), "{title}");
    assert!(!dom.contains("<img src=\"x\""), "an injected img element");
    assert!(!dom.contains("<a href=\"javascript:"), "an injected link");
    // The details of F are open and show the cause as text.
    assert!(dom.contains("data-state=\"F\""), "no details for F");
    assert!(dom.contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;"));
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
                // NationLoad is aborted when CustomerMerge fails first; on a busy machine it
                // may have finished by then (one job runs at a time on the embedded warehouse).
                (true, "NationLoad") if node_status(&dom, s).as_deref() == Some("succeeded") => {
                    "succeeded"
                }
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

/// A Parallel of four branches of different shapes, then one of three: dagre alone draws both
/// in reverse order.
const BRANCHES: &str = r#"{"StartAt": "P", "States": {
  "P": {"Type": "Parallel", "Next": "Q", "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "F"}],
    "Branches": [
      {"StartAt": "a0", "States": {"a0": {"Type": "Pass", "End": true}}},
      {"StartAt": "b0", "States": {"b0": {"Type": "Pass", "Next": "b1"}, "b1": {"Type": "Pass", "Next": "b2"},
        "b2": {"Type": "Pass", "Next": "b3"}, "b3": {"Type": "Pass", "End": true}}},
      {"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "NumericGreaterThan": 1, "Next": "D"}], "Default": "E"},
        "D": {"Type": "Pass", "Next": "C"}, "E": {"Type": "Pass", "End": true}}},
      {"StartAt": "z0", "States": {"z0": {"Type": "Pass", "Next": "z1"}, "z1": {"Type": "Pass", "End": true}}}]},
  "Q": {"Type": "Parallel", "End": true, "Branches": [
      {"StartAt": "q0", "States": {"q0": {"Type": "Pass", "Next": "q1"}, "q1": {"Type": "Pass", "Next": "q2"}, "q2": {"Type": "Pass", "End": true}}},
      {"StartAt": "r0", "States": {"r0": {"Type": "Pass", "End": true}}},
      {"StartAt": "s0", "States": {"s0": {"Type": "Pass", "Next": "s1"}, "s1": {"Type": "Pass", "End": true}}}]},
  "F": {"Type": "Fail"}}}"#;

/// The report of an execution of `definition` that has just started (one event), written by
/// `rsqlflow report --history --definition` and drawn by Chromium: its DOM once the page's
/// script has run.
fn drawn_definition(browser: &Path, definition: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("machine.asl.json"), definition).unwrap();
    std::fs::write(
        dir.path().join("h.json"),
        r#"{"events":[{"timestamp":"2026-01-02T03:04:05.678Z","type":"ExecutionStarted","id":1,"previousEventId":0,"executionStartedEventDetails":{"input":"{}"}}]}"#,
    )
    .unwrap();
    let (code, out, err) = run(
        dir.path(),
        &[
            "report",
            "--history",
            "h.json",
            "--definition",
            "machine.asl.json",
            "-o",
            "r.html",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let (dom, log) = dump_dom(
        browser,
        &format!("file://{}", dir.path().join("r.html").display()),
    );
    assert!(dom.contains("data-ready=\"1\""), "{log}");
    dom
}

#[test]
#[ignore = "needs chromium: .ci/run installs it and runs this with --ignored"]
fn parallel_branches_are_drawn_in_definition_order() {
    let Some(browser) = chromium() else {
        panic!("chromium is not installed: apt-get install -y chromium");
    };
    let dom = drawn_definition(&browser, BRANCHES);
    let ids = attr_values(&dom, "<g class=\"cluster kind-Branch\"", "data-cluster-id");
    let xs = attr_values(&dom, "<g class=\"cluster kind-Branch\"", "data-x");
    assert_eq!(ids.len(), 7, "{dom}");
    for parallel in ["P", "Q"] {
        let mut lefts: Vec<(u32, f64)> = ids
            .iter()
            .zip(&xs)
            .filter_map(|(id, x)| {
                let n = id.strip_prefix(&format!("{parallel}#b"))?.parse().ok()?;
                Some((n, x.parse().ok()?))
            })
            .collect();
        lefts.sort_by_key(|(n, _)| *n);
        assert!(
            lefts.windows(2).all(|w| w[0].1 < w[1].1),
            "{parallel}: {lefts:?}"
        );
    }
}

/// `<word xMin=".." yMin=".." xMax=".." yMax="..">text</word>` of `pdftotext -bbox`.
fn pdf_words(pdf: &Path) -> (f64, Vec<(f64, String)>) {
    let out = Command::new("pdftotext")
        .arg("-bbox")
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext runs (apt-get install -y poppler-utils)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let num = |tag: &str, key: &str| -> f64 {
        let k = format!("{key}=\"");
        let i = tag.find(&k).unwrap() + k.len();
        tag[i..i + tag[i..].find('"').unwrap()].parse().unwrap()
    };
    let page = text
        .split("<page ")
        .nth(1)
        .map(|t| num(t, "width"))
        .unwrap_or(0.0);
    let words = text
        .split("<word ")
        .skip(1)
        .map(|t| {
            let end = t.find("</word>").unwrap();
            let gt = t.find('>').unwrap();
            (num(&t[..gt], "xMax"), t[gt + 1..end].to_string())
        })
        .collect();
    (page, words)
}

#[test]
#[ignore = "needs chromium and poppler-utils: .ci/run installs them and runs this with --ignored"]
fn the_failure_report_prints_on_a4_landscape() {
    let Some(browser) = chromium() else {
        panic!("chromium is not installed: apt-get install -y chromium");
    };
    let (dir, path) = sample_run("broken", true);
    let pdf = dir.path().join("broken.pdf");
    let out = Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
        ])
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(format!("file://{}#state=CustomerMerge", path.display()))
        .output()
        .expect("chromium runs");
    assert!(pdf.is_file(), "{}", String::from_utf8_lossy(&out.stderr));
    let (width, words) = pdf_words(&pdf);
    // A4 landscape (the report's @page rule): 297 mm = 841.9 pt wide.
    assert!((width - 841.9).abs() < 1.0, "{width}");
    let text: Vec<&str> = words.iter().map(|(_, w)| w.as_str()).collect();
    let all = text.join(" ");
    // The header, every state of the graph, the failed state's details (opened by the link),
    // and the notification, printed although it is folded on screen.
    for needle in STATES.iter().copied().chain([
        "FAILED",
        "Rsqlflow.ScriptFailed",
        "stg_customer_gone",
        "Timeline",
    ]) {
        assert!(all.contains(needle), "{needle} not printed:\n{all}");
    }
    assert!(all.contains("[rsqlflow] FAILED"), "{all}");
    // Nothing runs off the right edge of the paper: the notification's longest line, the
    // execution's console link, is printed whole (wrapped), and no word ends past the edge.
    let joined: String = text.concat();
    assert!(
        joined.contains("details/arn:aws:states:us-east-1:123456789012:execution:rsql-etl:broken"),
        "{all}"
    );
    for (x_max, w) in &words {
        assert!(*x_max <= width + 0.5, "{w:?} ends at {x_max} > {width}");
    }
}

#[test]
#[ignore = "needs chromium: .ci/run installs it and runs this with --ignored"]
fn a_graph_too_big_to_draw_says_so_and_the_page_still_draws() {
    let Some(browser) = chromium() else {
        panic!("chromium is not installed: apt-get install -y chromium");
    };
    let n = 700;
    let states: Vec<String> = (0..n)
        .map(|i| {
            let next = if i + 1 < n {
                format!("\"Next\": \"S{}\"", i + 1)
            } else {
                "\"End\": true".to_string()
            };
            format!("\"S{i}\": {{\"Type\": \"Pass\", {next}}}")
        })
        .collect();
    let def = format!(
        "{{\"StartAt\": \"S0\", \"States\": {{{}}}}}",
        states.join(",")
    );
    let dom = drawn_definition(&browser, &def);
    assert!(dom.contains("too many to draw here"), "{dom}");
}
