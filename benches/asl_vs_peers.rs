//! The ASL executor against its peers, same machine, same run: moto's Step Functions
//! interpreter (pip `moto[server]`, execute_state_machine on) and the npm package
//! `aws-local-stepfunctions`, on four workloads: a 1,000-state Pass chain, a Map over 2,000
//! items, a 5,000-iteration Choice loop with a counter, and 100 Parallel branches.
//!
//! rsqlflow is timed in-process (best of 5, the definition validated once beforehand); aws-local-stepfunctions inside its Node process
//! around `run()` (best of 3); moto from StartExecution until DescribeExecution reports the end
//! (best of 2). Peak memory: the whole process (`/usr/bin/time`), for moto its server's VmHWM.
//!
//! Tools are installed on first use under `target/bench-tools/` (npm package, Python venv);
//! `RSQLFLOW_BENCH_PYTHON` may point at a Python that already has moto.
//!
//! Each workload also runs written in JSONata (`QueryLanguage: "JSONata"`: Items, Condition and
//! Assign as `{% %}` expressions), timed the same way; the peers are given the JSONata
//! definitions too and reported as "fails" where they cannot run them.
//!
//! Run: `cargo bench --bench asl_vs_peers`

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::{Value, json};

const LOOP: u64 = 5000;

fn workloads() -> Vec<(&'static str, Value, Value, Option<Value>)> {
    // (name, definition for rsqlflow, input, definition for the peers if different)
    let n = 1000;
    let mut states = serde_json::Map::new();
    for i in 0..n - 1 {
        states.insert(
            format!("S{i}"),
            json!({"Type": "Pass", "Next": format!("S{}", i + 1)}),
        );
    }
    states.insert(format!("S{}", n - 1), json!({"Type": "Pass", "End": true}));
    let chain = json!({"StartAt": "S0", "States": states});

    let map = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items",
        "MaxConcurrency": 0,
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
        "End": true}}});
    let items: Vec<u64> = (0..2000).collect();

    let loop_vars = json!({"StartAt": "Init", "States": {
        "Init": {"Type": "Pass", "Assign": {"i": 0}, "Next": "Check"},
        "Check": {"Type": "Choice", "Choices": [{"Variable": "$i", "NumericGreaterThanEquals": LOOP, "Next": "Done"}],
                  "Default": "Inc"},
        "Inc": {"Type": "Pass", "Assign": {"i.$": "States.MathAdd($i, 1)"}, "Next": "Check"},
        "Done": {"Type": "Succeed"}}});
    // Neither peer supports variables: they keep the counter in the state's data.
    let loop_data = json!({"StartAt": "Init", "States": {
        "Init": {"Type": "Pass", "Parameters": {"i": 0}, "Next": "Check"},
        "Check": {"Type": "Choice", "Choices": [{"Variable": "$.i", "NumericGreaterThanEquals": LOOP, "Next": "Done"}],
                  "Default": "Inc"},
        "Inc": {"Type": "Pass", "Parameters": {"i.$": "States.MathAdd($.i, 1)"}, "Next": "Check"},
        "Done": {"Type": "Succeed"}}});

    let branches: Vec<Value> = (0..100)
        .map(|i| json!({"StartAt": format!("B{i}"), "States": {format!("B{i}"): {"Type": "Pass", "End": true}}}))
        .collect();
    let parallel = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "Branches": branches, "End": true}}});

    let jsonata = |mut def: Value| {
        def["QueryLanguage"] = json!("JSONata");
        def
    };
    let chain_j = jsonata(chain.clone());
    let map_j = jsonata(json!({"StartAt": "M", "States": {"M": {"Type": "Map",
        "Items": "{% $states.input.items %}", "MaxConcurrency": 0,
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
        "End": true}}}));
    let loop_j = jsonata(json!({"StartAt": "Init", "States": {
        "Init": {"Type": "Pass", "Assign": {"i": 0}, "Next": "Check"},
        "Check": {"Type": "Choice", "Choices": [{"Condition": format!("{{% $i >= {LOOP} %}}"), "Next": "Done"}],
                  "Default": "Inc"},
        "Inc": {"Type": "Pass", "Assign": {"i": "{% $i + 1 %}"}, "Next": "Check"},
        "Done": {"Type": "Succeed"}}}));
    let parallel_j = jsonata(parallel.clone());

    vec![
        (
            "Pass chain, 1,000 states (JSONata)",
            chain_j,
            json!({}),
            None,
        ),
        (
            "Map over 2,000 items (JSONata)",
            map_j,
            json!({"items": items.clone()}),
            None,
        ),
        (
            "Choice loop, 5,000 iterations (JSONata)",
            loop_j,
            json!({}),
            None,
        ),
        (
            "Parallel, 100 branches (JSONata)",
            parallel_j,
            json!({}),
            None,
        ),
        ("Pass chain, 1,000 states", chain, json!({}), None),
        ("Map over 2,000 items", map, json!({"items": items}), None),
        (
            "Choice loop, 5,000 iterations",
            loop_vars,
            json!({}),
            Some(loop_data),
        ),
        ("Parallel, 100 branches", parallel, json!({}), None),
    ]
}

fn tools_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-tools")
}

fn node_runner() -> Option<PathBuf> {
    let dir = tools_dir().join("npm");
    let pkg = dir.join("node_modules/aws-local-stepfunctions");
    if !pkg.exists() {
        std::fs::create_dir_all(&dir).ok()?;
        let ok = Command::new("npm")
            .args(["install", "--silent", "--prefix"])
            .arg(&dir)
            .arg("aws-local-stepfunctions@3.0.0")
            .status()
            .ok()?
            .success();
        if !ok {
            return None;
        }
    }
    let script = dir.join("run_local_sfn.mjs");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/asl/run_local_sfn.mjs"),
        &script,
    )
    .ok()?;
    Some(script)
}

fn python_with_moto() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("RSQLFLOW_BENCH_PYTHON") {
        return Some(PathBuf::from(p));
    }
    let home = std::env::var("HOME").unwrap_or_default();
    let ci = PathBuf::from(home).join(".cache/rsqlflow-ci/venv/bin/python");
    if ci.exists() {
        return Some(ci);
    }
    let venv = tools_dir().join("venv");
    let py = venv.join("bin/python");
    if !py.exists() {
        Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .ok()?;
        let ok = Command::new(&py)
            .args(["-m", "pip", "install", "-q", "moto[server]==5.2.5"])
            .status()
            .ok()?
            .success();
        if !ok {
            return None;
        }
    }
    Some(py)
}

/// Runs a command under `/usr/bin/time -f %M`; returns its stdout and peak RSS in KiB.
fn timed(cmd: &mut Command) -> Option<(String, u64)> {
    let out = cmd.output().ok()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let kb = stderr
        .lines()
        .rev()
        .find_map(|l| l.trim().parse::<u64>().ok())
        .unwrap_or(0);
    if !out.status.success() {
        eprintln!(
            "  command failed: {}",
            stderr.lines().take(5).collect::<Vec<_>>().join(" | ")
        );
        return None;
    }
    Some((String::from_utf8_lossy(&out.stdout).to_string(), kb))
}

fn ours(def: &Value, input: &Value, rt: &tokio::runtime::Runtime) -> f64 {
    let mut best = f64::MAX;
    // Like the peers' runs, the definition is loaded once, outside the timing.
    let machine = asl::validate(def).expect("valid benchmark machine");
    let exec = asl::Executor::new(machine, asl::Registry::new());
    for _ in 0..5 {
        let t0 = Instant::now();
        let r = rt.block_on(exec.run(input.clone(), asl::Options::default()));
        assert_eq!(
            r.status,
            asl::Status::Succeeded,
            "{:?} {:?}",
            r.error,
            r.cause
        );
        best = best.min(t0.elapsed().as_secs_f64() * 1000.0);
    }
    best
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let node = node_runner();
    let python = python_with_moto();
    if node.is_none() {
        eprintln!("aws-local-stepfunctions unavailable (npm install failed): skipped");
    }
    if python.is_none() {
        eprintln!("moto unavailable (venv/pip failed): skipped");
    }
    let moto_script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/asl/run_moto.py");
    let bin = env!("CARGO_BIN_EXE_rsqlflow");
    println!(
        "| workload | rsqlflow | aws-local-stepfunctions | moto | vs aws-local-stepfunctions | vs moto | peak memory rsqlflow / aws-local-stepfunctions / moto |"
    );
    println!("|---|---|---|---|---|---|---|");
    // (workload, time in ms, peak memory in KiB) of rsqlflow, for the JSONata/JSONPath table.
    let mut ours_all: Vec<(&str, f64, u64)> = Vec::new();
    for (i, (name, def, input, peer_def)) in workloads().into_iter().enumerate() {
        let def_path = dir.path().join(format!("w{i}.json"));
        let peer_path = dir.path().join(format!("w{i}-peer.json"));
        let input_path = dir.path().join(format!("w{i}-input.json"));
        std::fs::write(&def_path, def.to_string()).expect("write");
        std::fs::write(&peer_path, peer_def.as_ref().unwrap_or(&def).to_string()).expect("write");
        std::fs::write(&input_path, input.to_string()).expect("write");
        let ms = ours(&def, &input, &rt);
        let our_kb = timed(
            Command::new("/usr/bin/time")
                .args(["-f", "%M", bin, "asl", "exec"])
                .arg(&def_path)
                .arg("--input")
                .arg(format!("@{}", input_path.display())),
        )
        .map(|(_, kb)| kb)
        .unwrap_or(0);
        let node_res = node.as_ref().and_then(|script| {
            let (out, kb) = timed(
                Command::new("/usr/bin/time")
                    .args(["-f", "%M", "node"])
                    .arg(script)
                    .arg(&peer_path)
                    .arg(&input_path)
                    .arg("3"),
            )?;
            let v: Value = serde_json::from_str(out.trim()).ok()?;
            Some((v["ms"].as_f64()?, kb))
        });
        let moto_res = python.as_ref().and_then(|py| {
            let out = Command::new(py)
                .arg(&moto_script)
                .arg(&peer_path)
                .arg(&input_path)
                .arg("2")
                .output()
                .ok()?;
            let v: Value =
                serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).ok()?;
            if v["status"] != "SUCCEEDED" {
                eprintln!("  moto: {name} ended {}", v["status"]);
                return None;
            }
            Some((v["ms"].as_f64()?, v["peak_kb"].as_u64().unwrap_or(0)))
        });
        ours_all.push((name, ms, our_kb));
        // "n/a": the peer is not installed; "fails": it is, and could not run the definition.
        let fmt = |r: Option<(f64, u64)>, available: bool| match r {
            Some((m, _)) => format!("{m:.1} ms"),
            None if available => "fails".into(),
            None => "n/a".into(),
        };
        let ratio = |r: Option<(f64, u64)>| {
            r.map(|(m, _)| format!("**{:.0}x**", m / ms))
                .unwrap_or("–".into())
        };
        let mem = |r: Option<(f64, u64)>| {
            r.map(|(_, kb)| format!("{:.0} MB", kb as f64 / 1024.0))
                .unwrap_or("–".into())
        };
        println!(
            "| {name} | {ms:.2} ms | {} | {} | {} | {} | {:.0} MB / {} / {} |",
            fmt(node_res, node.is_some()),
            fmt(moto_res, python.is_some()),
            ratio(node_res),
            ratio(moto_res),
            our_kb as f64 / 1024.0,
            mem(node_res),
            mem(moto_res)
        );
    }
    println!();
    println!(
        "| workload | JSONPath | JSONata | JSONata / JSONPath time | peak memory JSONPath / JSONata |"
    );
    println!("|---|---|---|---|---|");
    for (name, ms_j, kb_j) in ours_all.iter().filter(|r| r.0.ends_with(" (JSONata)")) {
        let base = name.trim_end_matches(" (JSONata)");
        if let Some((_, ms_p, kb_p)) = ours_all.iter().find(|r| r.0 == base) {
            println!(
                "| {base} | {ms_p:.2} ms | {ms_j:.2} ms | {:.2}x | {:.0} MB / {:.0} MB |",
                ms_j / ms_p,
                *kb_p as f64 / 1024.0,
                *kb_j as f64 / 1024.0
            );
        }
    }
}
