//! `asl::jsonata` against the reference JSONata, jsonata-js 2.0.6 (the version AWS Step
//! Functions runs) in Node, on expressions typical of state machines, with the same inputs:
//! `$states` bound to an input holding a 10,000-item array and a context object.
//!
//! Both sides compile each expression once and time evaluations for `SECONDS` after a
//! warm-up; ours include binding `$states` and converting the result back to JSON, as the
//! executor does, once reusing the input's conversion (the same input again, as a state's
//! several fields see it) and once converting it anew each time (a new input each time);
//! jsonata-js's are `await expr.evaluate(undefined, {states})`. Node's side
//! is `bench/jsonata-js/bench.mjs` (`npm ci` there first; without Node or the package only
//! our column is printed).
//!
//! Run: `cargo bench -p asl --bench jsonata` (`ONLY=<name>` times one expression, for a
//! profiler; `NO_NODE=1` skips Node).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use asl::jsonata::{Bindings, Expr, States};
use asl::rng::Rng;
use serde_json::{Value, json};

const SECONDS: f64 = 1.0;

fn expressions() -> Vec<(&'static str, &'static str)> {
    vec![
        ("field access", "$states.input.a.b"),
        ("context field", "$states.context.Execution.Id"),
        (
            "string building",
            "'Hello, ' & $states.input.name & '! Run ' & $states.context.Execution.Name",
        ),
        ("$sum over 10,000", "$sum($states.input.items.price)"),
        (
            "$map over 10,000",
            "$map($states.input.numbers, function($v) { $v * 2 })",
        ),
        ("filter over 10,000", "$states.input.items[price > 900].id"),
        (
            "object constructor",
            "{'id': $states.context.Execution.Id, 'name': $states.input.name, 'total': $states.input.order.total * 1.2, 'lines': $count($states.input.order.lines)}",
        ),
        (
            "$partition 10,000 by 100",
            "$partition($states.input.numbers, 100)",
        ),
    ]
}

fn input() -> Value {
    let items: Vec<Value> = (0..10_000)
        .map(|i| json!({"id": format!("item-{i}"), "price": (i * 37) % 1000, "qty": i % 7}))
        .collect();
    let numbers: Vec<Value> = (0..10_000).map(|i| json!(i)).collect();
    json!({
        "a": {"b": "value", "c": [1, 2, 3]},
        "name": "World",
        "order": {"total": 1234.5, "lines": [{"sku": "x", "n": 1}, {"sku": "y", "n": 2}]},
        "items": items,
        "numbers": numbers,
    })
}

fn context() -> Value {
    json!({
        "Execution": {
            "Id": "arn:aws:states:us-east-1:111111111111:execution:etl:run-42",
            "Name": "run-42",
            "StartTime": "2026-12-04T10:00:00.000Z",
            "RoleArn": "arn:aws:iam::111111111111:role/etl",
            "Input": {"date": "2026-12-04"}
        },
        "State": {"Name": "Transform", "EnteredTime": "2026-12-04T10:00:01.000Z", "RetryCount": 0},
        "StateMachine": {"Id": "arn:aws:states:us-east-1:111111111111:stateMachine:etl", "Name": "etl"}
    })
}

/// Evaluations per second of `text` through `asl::jsonata`; `fresh`: as if each evaluation
/// saw a new input (no conversion reused).
fn ours(text: &str, input: &Value, context: &Value, fresh: bool) -> f64 {
    let e = Expr::compile(&format!("{{% {text} %}}")).expect("compiles");
    let mut rng = Rng::new(1);
    let none = |_: &str| None;
    let mut b = Bindings {
        states: States {
            input,
            context,
            result: None,
            error_output: None,
        },
        variable: &none,
        rng: &mut rng,
    };
    let mut once = || {
        if fresh {
            asl::jsonata::clear_conversion_cache();
        }
        let v = e.evaluate(&mut b, "Output").expect("evaluates");
        std::hint::black_box(v);
    };
    let warm = Instant::now();
    while warm.elapsed() < Duration::from_millis(200) {
        once();
    }
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed().as_secs_f64() < SECONDS {
        for _ in 0..10 {
            once();
        }
        n += 10;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// Evaluations per second of each expression in jsonata-js, by name (empty without Node).
fn reference(input: &Value, context: &Value) -> Vec<(String, f64)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/jsonata-js");
    if !dir.join("node_modules/jsonata").exists() {
        eprintln!(
            "jsonata-js not installed: run `npm ci` in {}",
            dir.display()
        );
        return Vec::new();
    }
    let spec = json!({
        "input": input,
        "context": context,
        "seconds": SECONDS,
        "expressions": expressions().iter().map(|(n, e)| json!({"name": n, "expr": e})).collect::<Vec<_>>(),
    });
    let path = std::env::temp_dir().join(format!("jsonata-bench-{}.json", std::process::id()));
    std::fs::write(&path, spec.to_string()).expect("spec written");
    let out = Command::new("node")
        .arg("bench.mjs")
        .arg(&path)
        .current_dir(&dir)
        .output();
    let _ = std::fs::remove_file(&path);
    let out = match out {
        Ok(o) if o.status.success() => o,
        Ok(o) => {
            eprintln!("node failed: {}", String::from_utf8_lossy(&o.stderr));
            return Vec::new();
        }
        Err(e) => {
            eprintln!("node not run: {e}");
            return Vec::new();
        }
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| Some((v["name"].as_str()?.to_string(), v["ops_per_sec"].as_f64()?)))
        .collect()
}

fn main() {
    let (input, context) = (input(), context());
    let theirs = if std::env::var("NO_NODE").is_ok() {
        Vec::new()
    } else {
        reference(&input, &context)
    };
    println!(
        "| expression | asl::jsonata ops/s | same, new input each time | jsonata-js 2.0.6 ops/s | ratio (first column) |\n|---|---:|---:|---:|---:|"
    );
    for (name, text) in expressions() {
        if std::env::var("ONLY").is_ok_and(|o| o != name) {
            continue;
        }
        let ops = ours(text, &input, &context, false);
        let fresh = ours(text, &input, &context, true);
        let js = theirs.iter().find(|(n, _)| n == name).map(|(_, o)| *o);
        let (js_s, ratio) = match js {
            Some(js) => (format!("{js:.0}"), format!("{:.2}x", ops / js)),
            None => ("-".into(), "-".into()),
        };
        println!("| {name} (`{text}`) | {ops:.0} | {fresh:.0} | {js_s} | {ratio} |");
    }
}
