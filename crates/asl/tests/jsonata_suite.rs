//! jsonata-js's own test suite (tag v2.0.6, the version Step Functions runs; MIT licence in
//! `tests/jsonata/LICENSE`), run through `asl::jsonata` as it configures the engine: its
//! limits, AWS's functions (no `$eval`), its value conversion.
//!
//! The cases are `tests/jsonata/suite-2.0.6.jsonl` (built by `tests/jsonata/prep.py`). The
//! test fails when a case fails that `tests/jsonata/known-failures.txt` does not list, when
//! a listed case passes, and when fewer than `FLOOR` cases pass.

use std::collections::BTreeMap;
use std::path::Path;

use asl::jsonata::evaluate_document;
use serde_json::{Map, Value};

const FLOOR: usize = 1600;

fn dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/jsonata")
}

fn num_eq(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

/// Equal as jsonata-js's suite compares (numbers to 1e-9 relative).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => num_eq(
            x.as_f64().unwrap_or(f64::NAN),
            y.as_f64().unwrap_or(f64::NAN),
        ),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn same_unordered(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            let mut used = vec![false; y.len()];
            x.iter().all(|p| {
                let found = (0..y.len()).find(|&i| !used[i] && same(p, &y[i]));
                found.map(|i| used[i] = true).is_some()
            })
        }
        _ => same(a, b),
    }
}

/// Why the case failed, or `None` when it passed.
fn judge(case: &Value, datasets: &Map<String, Value>) -> Option<String> {
    let expr = case["expr"].as_str()?;
    let document = match case.get("dataset").and_then(Value::as_str) {
        Some(name) => datasets.get(name),
        None => case.get("data"),
    };
    let bindings = case["bindings"].as_object().cloned().unwrap_or_default();
    let got = evaluate_document(expr, document, &bindings);
    let code = case["code"].as_str();
    let got = got.map_err(|e| e.split(':').next().unwrap_or_default().to_string());
    match (&got, code) {
        (Err(e), Some(c)) if e == c => return None,
        (Err(e), Some(c)) => return Some(format!("want {c}, got error {e}")),
        (Ok(v), Some(c)) if case.get("result").is_none() && case.get("undefined").is_none() => {
            return Some(format!("want {c}, got {v:?}"));
        }
        _ => {}
    }
    match got {
        Err(e) => Some(format!("unexpected error {e}")),
        Ok(None) if case.get("undefined").is_some() => None,
        Ok(None) => Some("got undefined".into()),
        Ok(Some(v)) => {
            let want = case.get("result")?;
            let ok = if case.get("unordered").is_some() {
                same_unordered(&v, want)
            } else {
                same(&v, want)
            };
            (!ok).then(|| format!("want {want}, got {v}"))
        }
    }
}

fn run() -> (usize, BTreeMap<String, String>) {
    let datasets: Map<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(dir().join("datasets-2.0.6.json")).unwrap())
            .unwrap();
    let text = std::fs::read_to_string(dir().join("suite-2.0.6.jsonl")).unwrap();
    let mut passed = 0;
    let mut failed = BTreeMap::new();
    for line in text.lines() {
        let case: Value = match serde_json::from_str(line) {
            Ok(c) => c,
            Err(e) => {
                // A case whose text holds a lone UTF-16 surrogate, which no Rust string can.
                let id = line
                    .split("\"id\":\"")
                    .nth(1)
                    .and_then(|r| r.split('"').next())
                    .unwrap_or(line)
                    .to_string();
                failed.insert(id, format!("not loadable: {e}"));
                continue;
            }
        };
        let id = case["id"].as_str().unwrap_or_default().to_string();
        match judge(&case, &datasets) {
            None => passed += 1,
            Some(why) => {
                failed.insert(id, why);
            }
        }
    }
    (passed, failed)
}

#[test]
fn reference_suite() {
    // The engine grows its own stack for deep evaluations; the conversions here recurse.
    let (passed, failed) = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(run)
        .unwrap()
        .join()
        .unwrap();
    let listed: BTreeMap<String, String> =
        std::fs::read_to_string(dir().join("known-failures.txt"))
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| {
                let (id, why) = l.split_once(' ').unwrap_or((l, ""));
                (id.to_string(), why.trim().to_string())
            })
            .collect();
    let unlisted: Vec<String> = failed
        .iter()
        .filter(|(id, _)| !listed.contains_key(*id))
        .map(|(id, why)| format!("{id} {why}"))
        .collect();
    let now_passing: Vec<&String> = listed
        .keys()
        .filter(|id| !failed.contains_key(*id))
        .collect();
    eprintln!(
        "jsonata-js 2.0.6 suite through asl::jsonata: {passed} passed, {} failed ({} listed)",
        failed.len(),
        listed.len()
    );
    assert!(
        unlisted.is_empty(),
        "failures not in known-failures.txt:\n{}",
        unlisted.join("\n")
    );
    assert!(
        now_passing.is_empty(),
        "listed as failing but passing: {now_passing:?}"
    );
    assert!(passed >= FLOOR, "{passed} passed, fewer than {FLOOR}");
}

/// The error messages jsonata-js 2.0.6 gives for the suite's failing cases
/// (`tests/jsonata/messages-2.0.6.json`, recorded by `tests/jsonata/messages.mjs`): AWS quotes
/// them verbatim after "threw an error during evaluation. " (floci-io/floci#2668, #2736).
/// Ours must be the same text, except for the cases `known-messages.txt` lists.
#[test]
fn error_messages_are_jsonata_js_messages() {
    let datasets: Map<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(dir().join("datasets-2.0.6.json")).unwrap())
            .unwrap();
    let theirs: Map<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(dir().join("messages-2.0.6.json")).unwrap())
            .unwrap();
    let cases: BTreeMap<String, Value> = std::fs::read_to_string(dir().join("suite-2.0.6.jsonl"))
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|c| (c["id"].as_str().unwrap_or_default().to_string(), c))
        .collect();
    let listed: Vec<String> = std::fs::read_to_string(dir().join("known-messages.txt"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split(' ').next().unwrap_or_default().to_string())
        .collect();
    let mut same = 0;
    let mut differ = BTreeMap::new();
    for (id, message) in &theirs {
        // A case with a lone surrogate in its text is not loadable here.
        let Some(case) = cases.get(id) else { continue };
        let document = match case.get("dataset").and_then(Value::as_str) {
            Some(name) => datasets.get(name),
            None => case.get("data"),
        };
        let bindings = case["bindings"].as_object().cloned().unwrap_or_default();
        let ours = evaluate_document(
            case["expr"].as_str().unwrap_or_default(),
            document,
            &bindings,
        );
        match ours {
            Err(m) if Some(m.as_str()) == message.as_str() => same += 1,
            other => {
                differ.insert(id.clone(), format!("jsonata-js {message} / ours {other:?}"));
            }
        }
    }
    eprintln!(
        "error messages: {same} the same as jsonata-js 2.0.6, {} not",
        differ.len()
    );
    let unlisted: Vec<String> = differ
        .iter()
        .filter(|(id, _)| !listed.contains(id))
        .map(|(id, why)| format!("{id} {why}"))
        .collect();
    let now_same: Vec<&String> = listed
        .iter()
        .filter(|id| !differ.contains_key(*id))
        .collect();
    assert!(
        unlisted.is_empty(),
        "messages not in known-messages.txt:\n{}",
        unlisted.join("\n")
    );
    assert!(now_same.is_empty(), "listed but now the same: {now_same:?}");
}
