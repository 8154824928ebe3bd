//! The ASL conformance suite: every execution recorded against real AWS Step Functions in
//! `tests/conformance/cases` (described in `crates/asl/CONFORMANCE.md`) runs through the
//! executor and is compared at three levels: L1 status and output/error/cause, L2 the sequence
//! of history event types, L3 every event's details (modulo the recorded placeholders). Pass
//! counts per area are printed; the test fails when a case outside
//! `tests/conformance/known-differences.txt` falls short of a level it supports, so the
//! documented differences are the only ones. It also fails when fewer cases ran than the corpus
//! holds ([`MIN_CASES`]), or when an `ASL_CASE` filter matched none: an emptied or misplaced
//! corpus cannot pass unnoticed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use asl::{Executor, Options, Registry, TaskCall, TaskContext, TaskFailure, TaskHandler};
use async_trait::async_trait;
use serde_json::{Map, Value, json};

/// How many cases `tests/conformance/cases` holds: a run without `ASL_CASE` that ran fewer
/// fails. Raise it with the corpus (lowering it needs a reason).
const MIN_CASES: usize = 737;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance")
}

/// Lambda, mocked: the case's functions by name and ARN, with their described behaviour.
struct Lambda {
    functions: HashMap<String, Value>,
    account: String,
}

impl Lambda {
    fn find(&self, name_or_arn: &str) -> Option<&Value> {
        let name = name_or_arn
            .rsplit_once(":function:")
            .map(|(_, n)| n)
            .unwrap_or(name_or_arn);
        let name = name.split(':').next().unwrap_or(name);
        self.functions.get(name)
    }
}

#[async_trait]
impl TaskHandler for Lambda {
    async fn invoke(&self, call: TaskCall, ctx: TaskContext) -> Result<Value, TaskFailure> {
        let optimized = !call.resource.legacy_lambda;
        let (target, event) = if optimized {
            (
                call.input["FunctionName"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                call.input.get("Payload").cloned().unwrap_or(json!({})),
            )
        } else {
            (call.resource.arn.clone(), call.input.clone())
        };
        let Some(behaviour) = self.find(&target) else {
            let name = target.rsplit(':').next().unwrap_or(&target);
            return Err(TaskFailure::new(
                "Lambda.ResourceNotFoundException",
                format!(
                    "Function not found: arn:aws:lambda:us-east-1:{}:function:{name}:$LATEST (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: 3a1f9f4e-0000-4000-8000-000000000000; Proxy: null)",
                    self.account
                ),
            ));
        };
        if let Some(d) = behaviour.get("delay_seconds").and_then(|d| d.as_u64()) {
            ctx.sleep(Duration::from_secs(d)).await;
        }
        let payload = match behaviour["kind"].as_str() {
            Some("constant") => behaviour["value"].clone(),
            Some("raise") => {
                let msg = behaviour["errorMessage"].as_str().unwrap_or("").to_string();
                let ty = behaviour["errorType"].as_str().unwrap_or("Exception");
                let cause = json!({
                    "errorMessage": msg,
                    "errorType": ty,
                    "requestId": "3a1f9f4e-0000-4000-8000-000000000000",
                    "stackTrace": [format!("  File \"/var/task/handler.py\", line 2, in handler\n    raise Exception(\"{msg}\")\n")],
                });
                return Err(TaskFailure::new(ty, cause.to_string()));
            }
            _ => event,
        };
        if optimized {
            Ok(json!({
                "ExecutedVersion": "$LATEST",
                "Payload": payload,
                "SdkHttpMetadata": {
                    "AllHttpHeaders": {
                        "X-Amz-Executed-Version": ["$LATEST"],
                        "x-amzn-Remapped-Content-Length": ["0"],
                        "Connection": ["keep-alive"],
                        "x-amzn-RequestId": ["x-amzn-RequestId"],
                        "Content-Length": ["0"],
                        "Date": ["date"],
                        "X-Amzn-Trace-Id": ["X-Amzn-Trace-Id"],
                        "Content-Type": ["application/json"]
                    },
                    "HttpHeaders": {
                        "Connection": "keep-alive",
                        "Content-Length": "0",
                        "Content-Type": "application/json",
                        "Date": "date",
                        "X-Amz-Executed-Version": "$LATEST",
                        "x-amzn-Remapped-Content-Length": "0",
                        "x-amzn-RequestId": "x-amzn-RequestId",
                        "X-Amzn-Trace-Id": "X-Amzn-Trace-Id"
                    },
                    "HttpStatusCode": 200
                },
                "SdkResponseMetadata": {"RequestId": "RequestId"},
                "StatusCode": 200
            }))
        } else {
            Ok(payload)
        }
    }
}

/// What one case achieved.
#[derive(Default, Clone, Copy)]
struct Levels {
    l1: bool,
    l2: Option<bool>,
    l3: Option<bool>,
}

fn uses_jsonata(v: &Value) -> bool {
    match v {
        Value::Object(o) => o
            .iter()
            .any(|(k, x)| (k == "QueryLanguage" && x == "JSONata") || uses_jsonata(x)),
        Value::Array(a) => a.iter().any(uses_jsonata),
        _ => false,
    }
}

/// The recorder's normalisation, applied to our side.
fn normalise(v: &Value, case: &Value) -> Value {
    fn parse_json_text(v: &Value) -> Value {
        match v {
            Value::String(s) if s.starts_with('{') => {
                serde_json::from_str::<Value>(s).unwrap_or_else(|_| v.clone())
            }
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, x)| (k.clone(), parse_json_text(x)))
                    .collect(),
            ),
            Value::Array(a) => Value::Array(a.iter().map(parse_json_text).collect()),
            other => other.clone(),
        }
    }
    fn timestamp_keys(v: &mut Value) {
        match v {
            Value::Object(o) => {
                for (k, x) in o.iter_mut() {
                    // A date-time with its zone (the recorder left those to the date
                    // rule; one without, such as 2016-12-05T21:29:29, became "timestamp").
                    let iso = x.as_str().is_some_and(|s| {
                        s.len() >= 19 && is_datetime_at(s.as_bytes(), 0) && replace_dates(s) != s
                    });
                    if k.to_lowercase().contains("timestamp") && !iso {
                        *x = json!("timestamp");
                    } else {
                        timestamp_keys(x);
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(timestamp_keys),
            _ => {}
        }
    }
    let mut v = parse_json_text(v);
    timestamp_keys(&mut v);
    let convert_output = case["normalisation"]["test_transformers"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|t| t["fn"] == "_convert_output_to_json");
    if convert_output {
        convert_outputs(&mut v);
    }
    let mut s = serde_json::to_string(&v).unwrap_or_default();
    s = s
        .replace("arn:aws:", "arn:<partition>:")
        .replace("us-east-1", "<region>");
    s = replace_dates(&s);
    let mut v: Value = serde_json::from_str(&s).unwrap_or(v);
    for t in case["normalisation"]["test_transformers"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if t["type"] == "jsonpath" {
            let path = t["path"].as_str().unwrap_or("");
            let repl = t["replacement"].clone();
            // The transformer's target: every value under the path's last key.
            let name = path.rsplit(['.', '$']).next().unwrap_or("");
            if !name.is_empty() && t["replace_reference"] != true {
                replace_key(&mut v, name, &repl);
            }
        }
    }
    v
}

/// The `_convert_output_to_json` transformer: every `output` JSON text becomes JSON.
fn convert_outputs(v: &mut Value) {
    match v {
        Value::Object(o) => {
            for (k, x) in o.iter_mut() {
                if k == "output"
                    && let Some(parsed) = x.as_str().and_then(|s| serde_json::from_str(s).ok())
                {
                    *x = parsed;
                } else {
                    convert_outputs(x);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(convert_outputs),
        _ => {}
    }
}

fn replace_key(v: &mut Value, name: &str, repl: &Value) {
    match v {
        Value::Object(o) => {
            for (k, x) in o.iter_mut() {
                if k == name {
                    *x = if repl.is_string() {
                        repl.clone()
                    } else {
                        json!(repl.to_string())
                    };
                } else {
                    replace_key(x, name, repl);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| replace_key(x, name, repl)),
        _ => {}
    }
}

/// ISO-8601 date-times inside strings become `date`.
fn replace_dates(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        if i + 19 <= b.len() && is_datetime_at(b, i) {
            let mut j = i + 19;
            if j < b.len() && b[j] == b'.' {
                j += 1;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
            }
            if j < b.len() && b[j] == b'Z' {
                out.push_str("date");
                i = j + 1;
                continue;
            }
            if j + 6 <= b.len() && (b[j] == b'+' || b[j] == b'-') && b[j + 3] == b':' {
                out.push_str("date");
                i = j + 6;
                continue;
            }
        }
        let ch = s[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

fn is_datetime_at(b: &[u8], i: usize) -> bool {
    let d = |k: usize| b[i + k].is_ascii_digit();
    let n = |k: usize| (b[i + k] - b'0') as u32 * 10 + (b[i + k + 1] - b'0') as u32;
    let shape = d(0)
        && d(1)
        && d(2)
        && d(3)
        && b[i + 4] == b'-'
        && d(5)
        && d(6)
        && b[i + 7] == b'-'
        && d(8)
        && d(9)
        && b[i + 10] == b'T'
        && d(11)
        && d(12)
        && b[i + 13] == b':'
        && d(14)
        && d(15)
        && b[i + 16] == b':'
        && d(17)
        && d(18);
    shape
        && (1..=12).contains(&n(5))
        && (1..=31).contains(&n(8))
        && n(11) <= 23
        && n(14) <= 59
        && n(17) <= 59
}

const WILDCARDS: [&str; 7] = [
    "<MapRunArnPart0_",
    "<MapRunArnPart1_",
    "<uuid:",
    "<json-input:",
    "<request_id>",
    "<extended_request_id>",
    "<replacement:",
];

/// Splits an expected string at its placeholder tokens.
fn pieces(expected: &str) -> Option<Vec<&str>> {
    if !WILDCARDS.iter().any(|w| expected.contains(w)) {
        return None;
    }
    let mut out = Vec::new();
    let mut rest = expected;
    loop {
        let next = WILDCARDS
            .iter()
            .filter_map(|w| rest.find(w).map(|p| (p, w)))
            .min_by_key(|(p, _)| *p);
        match next {
            None => {
                out.push(rest);
                return Some(out);
            }
            Some((p, _)) => {
                out.push(&rest[..p]);
                let end = rest[p..].find('>').map(|e| p + e + 1).unwrap_or(rest.len());
                rest = &rest[end..];
            }
        }
    }
}

fn glob_match(parts: &[&str], actual: &str) -> bool {
    // First piece anchors the start, last the end; the rest in order.
    let Some((first, rest)) = parts.split_first() else {
        return actual.is_empty();
    };
    let Some(mut tail) = actual.strip_prefix(first) else {
        return false;
    };
    for (i, p) in rest.iter().enumerate() {
        if i + 1 == rest.len() {
            return tail.ends_with(p);
        }
        match tail.find(p) {
            Some(pos) => tail = &tail[pos + p.len()..],
            None => return false,
        }
    }
    true
}

fn matches(expected: &Value, actual: &Value, soft: &HashSet<String>) -> bool {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            let keys: HashSet<&String> = e
                .keys()
                .chain(a.keys())
                .filter(|k| !soft.contains(k.as_str()))
                .collect();
            keys.into_iter().all(|k| match (e.get(k), a.get(k)) {
                (Some(x), Some(y)) => matches(x, y, soft),
                _ => false,
            })
        }
        (Value::Array(e), Value::Array(a)) => {
            e.len() == a.len() && e.iter().zip(a).all(|(x, y)| matches(x, y, soft))
        }
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::String(e), Value::String(a)) => {
            if e == a {
                return true;
            }
            if let Some(parts) = pieces(e) {
                return glob_match(&parts, a);
            }
            match (
                serde_json::from_str::<Value>(e),
                serde_json::from_str::<Value>(a),
            ) {
                (Ok(x), Ok(y)) if !x.is_string() || !y.is_string() => matches(&x, &y, soft),
                _ => false,
            }
        }
        (Value::String(e), other) => {
            // A placeholder standing for a whole value.
            pieces(e).is_some_and(|p| p.iter().all(|x| x.is_empty()))
                || serde_json::from_str::<Value>(e).is_ok_and(|x| matches(&x, other, soft))
        }
        _ => expected == actual,
    }
}

/// Event types with Parallel blocks canonicalised (the recorder sorted them and dropped the
/// ParallelState{Succeeded,Failed} before ParallelStateExited).
fn canonical_types(events: &[Value], sorted_parallel: bool, concurrent: bool) -> Vec<String> {
    let types: Vec<String> = events
        .iter()
        .map(|e| e["type"].as_str().unwrap_or("").to_string())
        .collect();
    if concurrent || sorted_parallel {
        // The recorder re-sorted Parallel blocks in place and dropped closing events while
        // doing so (see `crates/asl/CONFORMANCE.md`): compare what is left as a multiset.
        let mut t: Vec<String> = types
            .into_iter()
            .filter(|t| {
                !sorted_parallel
                    || !matches!(
                        t.as_str(),
                        "ParallelStateSucceeded" | "ParallelStateFailed" | "ParallelStateExited"
                    )
            })
            .collect();
        t.sort();
        return t;
    }
    if !sorted_parallel {
        return types;
    }
    let mut out = Vec::new();
    let mut block: Option<Vec<String>> = None;
    for t in types {
        if t == "ParallelStateSucceeded" || t == "ParallelStateFailed" {
            continue;
        }
        if t == "ParallelStateStarted" {
            out.push(t);
            block = Some(Vec::new());
            continue;
        }
        if t == "ParallelStateExited" || t == "ParallelStateAborted" || t.starts_with("Execution") {
            if let Some(mut b) = block.take() {
                b.sort();
                out.extend(b);
            }
            out.push(t);
            continue;
        }
        match &mut block {
            Some(b) => b.push(t),
            None => out.push(t),
        }
    }
    if let Some(mut b) = block {
        b.sort();
        out.extend(b);
    }
    out
}

fn detail_key(e: &Value) -> Option<(&String, &Value)> {
    e.as_object()?
        .iter()
        .find(|(k, _)| k.ends_with("EventDetails"))
}

fn l3(expected: &[Value], actual: &[Value], soft: &HashSet<String>, unordered: bool) -> bool {
    let strip = |e: &Value| -> Value {
        let mut m = Map::new();
        m.insert("type".into(), e["type"].clone());
        if !unordered {
            m.insert("id".into(), e["id"].clone());
            m.insert("previousEventId".into(), e["previousEventId"].clone());
        }
        if let Some((k, v)) = detail_key(e) {
            m.insert(k.clone(), v.clone());
        }
        Value::Object(m)
    };
    let exp: Vec<Value> = expected
        .iter()
        .filter(|e| {
            !unordered
                || !matches!(
                    e["type"].as_str(),
                    Some("ParallelStateSucceeded" | "ParallelStateFailed" | "ParallelStateExited")
                )
        })
        .map(strip)
        .collect();
    let act: Vec<Value> = actual
        .iter()
        .filter(|e| {
            !unordered
                || !matches!(
                    e["type"].as_str(),
                    Some("ParallelStateSucceeded" | "ParallelStateFailed" | "ParallelStateExited")
                )
        })
        .map(strip)
        .collect();
    if exp.len() != act.len() {
        return false;
    }
    if !unordered {
        return exp.iter().zip(&act).all(|(x, y)| matches(x, y, soft));
    }
    let mut used = vec![false; act.len()];
    exp.iter().all(|x| {
        for (i, y) in act.iter().enumerate() {
            if !used[i] && matches(x, y, soft) {
                used[i] = true;
                return true;
            }
        }
        false
    })
}

fn first_event_diff(expected: &[Value], actual: &[Value], soft: &HashSet<String>) -> String {
    for (i, (x, y)) in expected.iter().zip(actual).enumerate() {
        let mut a = y.clone();
        let mut b = x.clone();
        for v in [&mut a, &mut b] {
            if let Some(o) = v.as_object_mut() {
                o.remove("timestamp");
            }
        }
        if !matches(&b, &a, soft) {
            return format!(
                "event #{}:\n      expected {}\n      actual   {}",
                i + 1,
                b,
                a
            );
        }
    }
    format!(
        "{} events expected, {} produced",
        expected.len(),
        actual.len()
    )
}

async fn run_case(case: &Value) -> (Levels, String) {
    let def = &case["definition"];
    let machine = match asl::validate(def) {
        Ok(m) => m,
        Err(e) => {
            let has_events = case["expected"]["events"].is_array();
            return (
                Levels {
                    l1: false,
                    l2: has_events.then_some(false),
                    l3: has_events.then_some(false),
                },
                format!("refused: {e}"),
            );
        }
    };
    let mut registry = Registry::new();
    let functions: HashMap<String, Value> = case["lambda_functions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            (
                f["name"].as_str().unwrap_or("").to_string(),
                f["behaviour"].clone(),
            )
        })
        .collect();
    if !functions.is_empty() {
        let h: Arc<dyn TaskHandler> = Arc::new(Lambda {
            functions: functions.clone(),
            account: case["context"]["account_id"]
                .as_str()
                .unwrap_or("111111111111")
                .into(),
        });
        for f in case["lambda_functions"].as_array().into_iter().flatten() {
            registry.register(f["arn"].as_str().unwrap_or(""), h.clone());
        }
        registry.register("arn:aws:states:::lambda:invoke", h);
    }
    let aux: HashMap<String, asl::model::StateMachine> = case["auxiliary_state_machines"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| {
            Some((
                m["arn"].as_str()?.to_string(),
                asl::validate(&m["definition"]).ok()?,
            ))
        })
        .collect();
    let nested = (!aux.is_empty()).then(|| {
        Arc::new(asl::nested::StepFunctions::new(
            aux,
            Options {
                account: case["context"]["account_id"]
                    .as_str()
                    .unwrap_or("111111111111")
                    .into(),
                role_arn: "snf_role_arn".into(),
                ..Options::default()
            },
        ))
    });
    if let Some(n) = &nested {
        registry.register("arn:aws:states:::states:startExecution", n.clone());
        n.set_registry(registry.clone());
    }
    let ctx = &case["context"];
    let opts = Options {
        execution_name: ctx["execution_name"].as_str().unwrap_or("exec").to_string(),
        state_machine_name: ctx["state_machine_name"]
            .as_str()
            .unwrap_or("sm")
            .to_string(),
        account: ctx["account_id"]
            .as_str()
            .unwrap_or("111111111111")
            .to_string(),
        region: ctx["region"].as_str().unwrap_or("us-east-1").to_string(),
        role_arn: ctx["role_arn"]
            .as_str()
            .unwrap_or("snf_role_arn")
            .to_string(),
        ..Options::default()
    };
    let input: Value = case["input_raw"]
        .as_str()
        .map(|s| serde_json::from_str(s).unwrap_or(Value::Null))
        .unwrap_or(json!({}));
    let exec = Executor::new(machine, registry);
    let result = tokio::time::timeout(Duration::from_secs(20), exec.run(input, opts)).await;
    let Ok(result) = result else {
        return (Levels::default(), "did not finish in 20 s".into());
    };
    let expected = &case["expected"];
    let soft: HashSet<String> = case["notes"]["snapshot_skip_verify_paths"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p.as_str()?.strip_prefix("$..").map(String::from))
        .collect();
    let mut why = String::new();
    let status_ok = expected["status"] == result.status.as_str();
    let l1 = status_ok
        && if result.status == asl::Status::Succeeded {
            // Normalised from its JSON text, as the recorder saw it.
            let text = serde_json::to_string(&result.output.clone().unwrap_or(Value::Null))
                .unwrap_or_default();
            let out = normalise(&json!(text), case);
            let out = match out {
                Value::String(s) => serde_json::from_str(&s).unwrap_or(Value::String(s)),
                other => other,
            };
            let ok = matches(&expected["output"], &out, &soft);
            if !ok {
                why = format!("output: expected {} got {}", expected["output"], out);
            }
            ok
        } else {
            let err = normalise(&json!(result.error), case);
            let cause = normalise(&json!(result.cause), case);
            let ok = matches(&expected["error"], &err, &soft)
                && matches(&expected["cause"], &cause, &soft);
            if !ok {
                why = format!(
                    "error/cause: expected {} / {} got {} / {}",
                    expected["error"], expected["cause"], err, cause
                );
            }
            ok
        };
    if !status_ok {
        why = format!(
            "status: expected {} got {} ({:?}: {:?})",
            expected["status"],
            result.status.as_str(),
            result.error,
            result.cause
        );
    }
    let mut levels = Levels {
        l1,
        ..Levels::default()
    };
    if let Some(exp_events) = expected["events"].as_array() {
        let actual: Vec<Value> = result
            .history
            .events()
            .iter()
            .map(|e| normalise(&e.to_json(), case))
            .collect();
        let sorted = case["normalisation"]["parallel_events_sorted"] == true;
        let concurrent = case["features"]["concurrency"]
            .as_array()
            .is_some_and(|a| !a.is_empty());
        let l2 = canonical_types(exp_events, sorted, concurrent)
            == canonical_types(&actual, sorted, concurrent);
        let l3ok = l2 && l3(exp_events, &actual, &soft, sorted || concurrent);
        if l1 && !l2 {
            let e: Vec<_> = exp_events
                .iter()
                .map(|e| e["type"].as_str().unwrap_or(""))
                .collect();
            let a: Vec<_> = actual
                .iter()
                .map(|e| e["type"].as_str().unwrap_or(""))
                .collect();
            why = format!("types:\n      expected {e:?}\n      actual   {a:?}");
        } else if l1 && l2 && !l3ok {
            why = first_event_diff(exp_events, &actual, &soft);
        }
        levels.l2 = Some(l2);
        levels.l3 = Some(l3ok);
    }
    (levels, why)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance() {
    let known: HashSet<String> = std::fs::read_to_string(dir().join("known-differences.txt"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|l| !l.starts_with('#'))
        .map(String::from)
        .collect();
    let mut files: Vec<PathBuf> = Vec::new();
    for area in std::fs::read_dir(dir().join("cases")).expect("cases dir") {
        for f in std::fs::read_dir(area.expect("entry").path()).expect("area dir") {
            files.push(f.expect("entry").path());
        }
    }
    files.sort();
    // area -> [cases, L1, L2 cases, L2, L3 cases, L3]
    let mut table: BTreeMap<String, [usize; 6]> = BTreeMap::new();
    // The goal sets: the cases that need no AWS service, per query language.
    let mut goal = [0usize; 6];
    let mut goal_jsonata = [0usize; 6];
    let mut failures = Vec::new();
    let mut report = Vec::new();
    let only = std::env::var("ASL_CASE").ok();
    let mut ran = 0usize;
    for f in &files {
        let rel = f
            .strip_prefix(dir().join("cases"))
            .unwrap_or(f)
            .to_string_lossy()
            .to_string();
        if only.as_ref().is_some_and(|o| !rel.contains(o.as_str())) {
            continue;
        }
        let case: Value = serde_json::from_str(&std::fs::read_to_string(f).expect("read case"))
            .expect("case JSON");
        let jsonata = uses_jsonata(&case["definition"])
            || case["auxiliary_state_machines"]
                .as_array()
                .is_some_and(|a| a.iter().any(|m| uses_jsonata(&m["definition"])));
        let services: Vec<&str> = case["services"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str())
            .collect();
        let (lv, why) = run_case(&case).await;
        ran += 1;
        if only.is_some() {
            eprintln!("{rel}: L1 {} L2 {:?} L3 {:?}\n  {why}", lv.l1, lv.l2, lv.l3);
        }
        let area = case["area"].as_str().unwrap_or("?").to_string();
        let row = table.entry(area).or_default();
        let in_goal = services.is_empty();
        let add = |row: &mut [usize; 6]| {
            row[0] += 1;
            row[1] += lv.l1 as usize;
            if let Some(l2) = lv.l2 {
                row[2] += 1;
                row[3] += l2 as usize;
            }
            if let Some(l3) = lv.l3 {
                row[4] += 1;
                row[5] += l3 as usize;
            }
        };
        add(row);
        if in_goal {
            add(if jsonata {
                &mut goal_jsonata
            } else {
                &mut goal
            });
        }
        let full = lv.l1 && lv.l2.unwrap_or(true) && lv.l3.unwrap_or(true);
        if full && known.contains(&rel) {
            failures.push(format!(
                "{rel}: now conforms; remove it from known-differences.txt"
            ));
        }
        if !full {
            let level = if !lv.l1 {
                "L1"
            } else if lv.l2 == Some(false) {
                "L2"
            } else {
                "L3"
            };
            report.push(format!(
                "{rel} {level} {}",
                why.lines().next().unwrap_or("")
            ));
            if !known.contains(&rel) {
                failures.push(format!("{rel} [{level}] {why}"));
            }
        }
    }
    eprintln!("\nASL conformance (cases recorded against AWS Step Functions)\n");
    eprintln!(
        "{:<20} {:>6} {:>9} {:>13} {:>13}",
        "area", "cases", "L1", "L2", "L3"
    );
    let mut total = [0usize; 6];
    for (area, r) in &table {
        for i in 0..6 {
            total[i] += r[i];
        }
        eprintln!(
            "{area:<20} {:>6} {:>9} {:>13} {:>13}",
            r[0],
            format!("{}/{}", r[1], r[0]),
            format!("{}/{}", r[3], r[2]),
            format!("{}/{}", r[5], r[4])
        );
    }
    for (label, r) in [
        ("all", total),
        ("JSONPath, no AWS", goal),
        ("JSONata, no AWS", goal_jsonata),
    ] {
        eprintln!(
            "{label:<20} {:>6} {:>9} {:>13} {:>13}",
            r[0],
            format!("{}/{}", r[1], r[0]),
            format!("{}/{}", r[3], r[2]),
            format!("{}/{}", r[5], r[4])
        );
    }
    if std::env::var("ASL_REPORT").is_ok() {
        let _ = std::fs::write(dir().join("last-report.txt"), report.join("\n") + "\n");
    }
    match &only {
        Some(o) => assert!(
            ran > 0,
            "ASL_CASE={o:?} matched none of the {} case files under {}",
            files.len(),
            dir().join("cases").display()
        ),
        None => assert!(
            ran >= MIN_CASES,
            "only {ran} case(s) ran, fewer than the {MIN_CASES} the corpus holds: are files \
             missing from {}? (MIN_CASES follows the corpus)",
            dir().join("cases").display()
        ),
    }
    assert!(
        failures.is_empty(),
        "{} case(s) differ from AWS and are not in known-differences.txt:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
