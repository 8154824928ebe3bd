//! Lambda cold start: from exec of each function's release binary to its first Runtime API
//! `GET /2018-06-01/runtime/invocation/next`, against a local Runtime API stand-in, versus the
//! equivalent Python handler (imports boto3, builds the same clients), same run. Also reports
//! each binary's size and its deployment zip's size.
//!
//! Builds the functions with `cargo build --profile lambda-small` first. Python with boto3: the
//! moto venv `.ci/run` creates, or `RSQLFLOW_BENCH_PYTHON`.
//!
//! Run: `cargo bench --bench lambda_cold_start`

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const FUNCTIONS: [&str; 4] = ["submit-job", "check-job", "notify", "start-workflow"];
const RUNS: usize = 15;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Starts `cmd` with the Runtime API pointed at a fresh listener; returns the time until its
/// first request arrives.
fn cold_start(mut cmd: Command) -> Option<Duration> {
    let listener = TcpListener::bind("127.0.0.1:0").ok()?;
    let addr = listener.local_addr().ok()?;
    listener.set_nonblocking(false).ok()?;
    cmd.env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "bench")
        .env("AWS_SECRET_ACCESS_KEY", "bench")
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "bench")
        .env("RSQLFLOW_JOB_QUEUE", "q")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let t0 = Instant::now();
    let mut child = cmd.spawn().ok()?;
    let (mut stream, _) = listener.accept().ok()?;
    let elapsed = t0.elapsed();
    let mut buf = [0u8; 1024];
    let n = stream.read(&mut buf).unwrap_or(0);
    let ok =
        String::from_utf8_lossy(&buf[..n]).starts_with("GET /2018-06-01/runtime/invocation/next");
    let _ = stream.write_all(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n");
    let _ = child.kill();
    let _ = child.wait();
    ok.then_some(elapsed)
}

fn median(mut v: Vec<Duration>) -> Option<Duration> {
    v.sort();
    v.get(v.len() / 2).copied()
}

fn python() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("RSQLFLOW_BENCH_PYTHON") {
        return Some(PathBuf::from(p));
    }
    let p = PathBuf::from(std::env::var("HOME").ok()?).join(".cache/rsqlflow-ci/venv/bin/python");
    p.exists().then_some(p)
}

fn zip_size(python: &Path, file: &Path) -> Option<u64> {
    let out = std::env::temp_dir().join(format!("rsqlflow-bench-{}.zip", std::process::id()));
    let script = format!(
        "import zipfile\nwith zipfile.ZipFile({:?}, 'w', zipfile.ZIP_DEFLATED, compresslevel=9) as z:\n    z.write({:?}, 'bootstrap')\n",
        out.display().to_string(),
        file.display().to_string()
    );
    let ok = Command::new(python)
        .args(["-c", &script])
        .status()
        .ok()?
        .success();
    let size = std::fs::metadata(&out).ok().map(|m| m.len());
    let _ = std::fs::remove_file(&out);
    if ok { size } else { None }
}

fn main() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(&cargo);
    build
        .current_dir(root())
        .args(["build", "--profile", "lambda-small"]);
    for f in FUNCTIONS {
        // NAME@VERSION: crates.io's notify (the file watcher of `rsqlflow watch`) is in the
        // graph beside the notify Lambda; the functions share the workspace's version.
        build.args(["-p", &format!("{f}@{}", env!("CARGO_PKG_VERSION"))]);
    }
    let status = build.status().expect("cargo build --profile lambda-small");
    assert!(status.success(), "building the functions failed");
    let py = python();
    if py.is_none() {
        eprintln!("no Python with boto3 (set RSQLFLOW_BENCH_PYTHON): Python side skipped");
    }
    println!(
        "| function | Rust cold start (median of {RUNS}) | Python + boto3 | ratio | binary | zip |"
    );
    println!("|---|---|---|---|---|---|");
    for f in FUNCTIONS {
        let bin = root().join("target/lambda-small").join(f);
        let rust: Vec<Duration> = (0..RUNS)
            .filter_map(|_| cold_start(Command::new(&bin)))
            .collect();
        let rust = median(rust).expect("the Rust function reached the Runtime API");
        let python = py.as_ref().and_then(|p| {
            let runs: Vec<Duration> = (0..RUNS)
                .filter_map(|_| {
                    let mut c = Command::new(p);
                    c.arg(root().join("benches/lambda/cold_start.py")).arg(f);
                    cold_start(c)
                })
                .collect();
            median(runs)
        });
        let size = std::fs::metadata(&bin).map(|m| m.len()).unwrap_or(0);
        let zip = py.as_ref().and_then(|p| zip_size(p, &bin));
        let mb = |b: u64| format!("{:.1} MB", b as f64 / 1_000_000.0);
        println!(
            "| {f} | {:.1} ms | {} | {} | {} | {} |",
            rust.as_secs_f64() * 1000.0,
            python
                .map(|d| format!("{:.1} ms", d.as_secs_f64() * 1000.0))
                .unwrap_or("n/a".into()),
            python
                .map(|d| format!("**{:.0}x**", d.as_secs_f64() / rust.as_secs_f64()))
                .unwrap_or("n/a".into()),
            mb(size),
            zip.map(mb).unwrap_or("n/a".into())
        );
    }
}
