//! Helpers shared by the benchmarks: timing a command and keeping the best of several runs.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `psql` running `file` in `dir` against the local server on `port` (no psqlrc, quiet, stop
/// on the first error).
pub fn psql(dir: &std::path::Path, port: u16, file: &str) -> Command {
    let mut c = Command::new("psql");
    c.current_dir(dir)
        .args([
            "-X",
            "-q",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "postgres",
        ])
        .args(["-p", &port.to_string(), "-v", "ON_ERROR_STOP=1", "-f", file]);
    c
}

/// Runs a command to completion (it must succeed) and returns its wall time.
pub fn time(mut cmd: Command) -> Duration {
    let t = Instant::now();
    let out = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("run benchmark command");
    let d = t.elapsed();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    d
}

/// The shortest of `runs` timings.
pub fn best(runs: usize, mut f: impl FnMut() -> Duration) -> Duration {
    (0..runs).map(|_| f()).min().unwrap_or_default()
}
