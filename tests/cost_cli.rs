//! `rsqlflow cost` through the real binary (issue 18): `rsqlflow run` ends with the estimate
//! and keeps what it measured; `rsqlflow cost NAME` itemises it (the Lambda durations and the
//! jobs' times measured, the rest counted or modelled) and agrees with the HTML report's
//! table; a history exported from AWS is estimated from its events alone; the idle cost of
//! both network options; bad input is a clear error.

mod support;

use std::path::Path;

fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    support::run_text(dir, args, &[])
}

fn line<'a>(e: &'a serde_json::Value, service: &str, item: &str) -> &'a serde_json::Value {
    e["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["service"] == service && l["item"].as_str().unwrap().starts_with(item))
        .unwrap_or_else(|| panic!("{service} {item}: {e}"))
}

#[test]
fn a_run_ends_with_its_estimate_and_cost_itemises_it() {
    let dir = support::sample_workdir();
    let (code, out, err) = run(dir.path(), &["run", "--name", "priced"]);
    assert_eq!(code, 0, "{out}{err}");
    let summary = out
        .lines()
        .find(|l| l.starts_with("cost: about $"))
        .unwrap_or_else(|| panic!("no cost line:\n{out}"));
    assert!(
        summary.contains("us-east-1") && summary.contains("an estimate"),
        "{summary}"
    );

    let (code, json, err) = run(dir.path(), &["cost", "priced", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let e: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(e["region"], "us-east-1");
    // What the run measured: the handlers' time, and the jobs' running and SQL time.
    assert_eq!(line(&e, "Lambda", "duration")["basis"], "measured");
    assert_eq!(line(&e, "Fargate", "vCPU, 5 job(s)")["basis"], "measured");
    assert_eq!(line(&e, "CloudWatch Logs", "ingested")["basis"], "measured");
    assert_eq!(
        line(&e, "Step Functions", "state transitions")["quantity"],
        7.0
    );
    let requests = line(&e, "Lambda", "requests");
    assert_eq!(requests["quantity"], 11.0, "{requests}");
    // The 60-second minimum at 8 RPU: the jobs ran within a minute of each other.
    let rs = line(&e, "Redshift Serverless", "1 busy period");
    assert!((rs["usd"].as_f64().unwrap() - 0.05).abs() < 1e-9, "{rs}");
    let total = e["total_usd"].as_f64().unwrap();
    let sum: f64 = e["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["usd"].as_f64().unwrap())
        .sum();
    assert!(
        (total - sum).abs() < 1e-12 && total > 0.05 && total < 0.06,
        "{total}"
    );

    // The HTML report carries the same estimate.
    let html =
        std::fs::read_to_string(dir.path().join(".rsqlflow/executions/priced.html")).unwrap();
    assert!(html.contains("id=\"cost-section\""));
    let i = html.find("id=\"report-data\">").unwrap() + "id=\"report-data\">".len();
    let j = i + html[i..].find("</script>").unwrap();
    let d: serde_json::Value = serde_json::from_str(&html[i..j]).unwrap();
    assert!((d["cost"]["total_usd"].as_f64().unwrap() - total).abs() < 1e-12);

    // The latest execution by default, as text.
    let (code, text, _) = run(dir.path(), &["cost"]);
    assert_eq!(code, 0);
    assert!(text.contains("Redshift Serverless") && text.contains("An estimate, not a bill"));
}

#[test]
fn a_history_from_aws_the_idle_cost_and_the_prices() {
    let dir = tempfile::tempdir().unwrap();
    let history =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/cost/tests/data/sample.history.json");
    let (code, text, err) = run(
        dir.path(),
        &["cost", "--history", history.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        text.contains("modelled") && text.contains("Total"),
        "{text}"
    );
    let idle = |azs: &str| {
        let (code, json, err) = run(dir.path(), &["cost", "--idle", azs, "--format", "json"]);
        assert_eq!(code, 0, "{err}");
        let e: serde_json::Value = serde_json::from_str(&json).unwrap();
        e["total_usd"].as_f64().unwrap()
    };
    assert!((idle("3") - 110.9).abs() < 1e-9);
    assert!((idle("1") - 37.9).abs() < 1e-9);
    let (code, text, _) = run(dir.path(), &["cost", "--explain"]);
    assert_eq!(code, 0);
    assert!(
        text.contains("https://aws.amazon.com/step-functions/pricing/"),
        "{text}"
    );
    assert!(text.contains("read 2026-12-04"), "{text}");
}

#[test]
fn bad_input_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    for (args, needle) in [
        (
            vec!["cost", "--region", "eu-west-1"],
            "no prices for Region eu-west-1",
        ),
        (vec!["cost", "--idle", "2"], "1 or 3"),
        (vec!["cost"], "no executions"),
        (vec!["cost", "--history", "missing.json"], "missing.json"),
        (vec!["cost", "nope"], "nope"),
    ] {
        let (code, _, err) = run(dir.path(), &args);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}
