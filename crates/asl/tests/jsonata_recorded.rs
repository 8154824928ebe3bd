//! `asl::jsonata` against AWS's recorded executions (`tests/conformance/cases`):
//!
//! - every `{% … %}` string in a recorded definition compiles (AWS accepted each definition);
//! - a machine whose first state is a JSONata Pass state with an `Output` and nothing else
//!   that could change its result (no `Assign`, no variables, no context object) gives the
//!   recorded output of that state, or the recorded cause when the execution failed there.

use std::path::Path;

use asl::jsonata::{Bindings, Expr, Payload, States, is_expression};
use asl::rng::Rng;
use serde_json::{Value, json};

fn cases() -> Vec<(String, Value)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/cases");
    let mut out = Vec::new();
    for area in std::fs::read_dir(&root).unwrap() {
        let area = area.unwrap().path();
        for f in std::fs::read_dir(&area).unwrap() {
            let f = f.unwrap().path();
            if f.extension().is_some_and(|e| e == "json") {
                let text = std::fs::read_to_string(&f).unwrap();
                let name = f.strip_prefix(&root).unwrap().display().to_string();
                out.push((name, serde_json::from_str(&text).unwrap()));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn expressions(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) if is_expression(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| expressions(x, out)),
        Value::Object(o) => o.values().for_each(|x| expressions(x, out)),
        _ => {}
    }
}

#[test]
fn every_recorded_expression_compiles() {
    let mut count = 0;
    let mut failures = Vec::new();
    for (name, case) in cases() {
        let mut exprs = Vec::new();
        expressions(&case["definition"], &mut exprs);
        for e in exprs {
            count += 1;
            if let Err(err) = Expr::compile(&e) {
                failures.push(format!("{name}: {e}: {err}"));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(count >= 170, "only {count} expressions found");
}

#[test]
fn recorded_pass_outputs_match() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for (name, case) in cases() {
        let def = &case["definition"];
        let Some(start) = def["StartAt"].as_str() else {
            continue;
        };
        let state = &def["States"][start];
        let jsonata = state["QueryLanguage"] == "JSONata" || def["QueryLanguage"] == "JSONata";
        if !jsonata || state["Type"] != "Pass" || state.get("Assign").is_some() {
            continue;
        }
        let Some(output) = state.get("Output") else {
            continue;
        };
        let text = output.to_string();
        // The context object is the executor's; random values are not comparable.
        if text.contains("$states.context") || text.contains("$uuid") || text.contains("$random()")
        {
            continue;
        }
        let payload = Payload::compile(output).unwrap();
        let expected = &case["expected"];
        // The output of the first state: its StateExited event, or the failure's cause.
        let exited = expected["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["stateExitedEventDetails"]["name"] == start);
        let input = case["input"].clone();
        let ctx = json!({});
        let mut rng = Rng::new(1);
        let none = |_: &str| None;
        let mut b = Bindings {
            states: States {
                input: &input,
                context: &ctx,
                result: None,
                error_output: None,
            },
            variable: &none,
            rng: &mut rng,
        };
        let got = payload.evaluate(&mut b, "Output");
        checked += 1;
        match (exited, got) {
            (Some(ev), Ok(v)) => {
                let recorded = &ev["stateExitedEventDetails"]["output"];
                let recorded: Value = match recorded {
                    Value::String(s) => serde_json::from_str(s).unwrap(),
                    other => other.clone(),
                };
                if recorded != v {
                    failures.push(format!("{name}: got {v}, AWS {recorded}"));
                }
            }
            (None, Err(e)) => {
                let cause = expected["cause"].as_str().unwrap_or("");
                if !cause.ends_with(&e.cause) {
                    failures.push(format!("{name}: got cause {e}, AWS {cause}"));
                }
            }
            (Some(_), Err(e)) => failures.push(format!("{name}: failed with {e}")),
            (None, Ok(v)) => failures.push(format!("{name}: gave {v}, AWS failed")),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(checked >= 45, "only {checked} cases checked");
    eprintln!("{checked} recorded Pass outputs match");
}
