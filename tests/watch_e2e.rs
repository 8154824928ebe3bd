//! `rsqlflow watch` end to end, through the real binary on the embedded warehouse: daily
//! orders files arriving in the watched bucket (renamed into place, or written in place in
//! two chunks) each load once, in arrival order; the same object again loads nothing; a
//! changed object replaces its rows; Ctrl-C while idle ends with a summary and exit 0, and
//! during an execution aborts it (exit 130) without starting the queued arrivals.

mod support;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long any one wait may take before the test gives up.
const WAIT: Duration = Duration::from_secs(120);

/// A running `rsqlflow watch`, its stdout and stderr collected as they come.
struct Watching {
    child: Child,
    out: Arc<Mutex<String>>,
    err: Arc<Mutex<String>>,
}

fn collect(mut from: impl Read + Send + 'static) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let t = text.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => t
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n])),
            }
        }
    });
    text
}

impl Watching {
    fn start(dir: &Path, extra: &[&str]) -> Watching {
        let mut cmd = Command::new(support::bin());
        // Routed by the sample's template.yaml: route `orders` takes incoming/orders/.
        cmd.arg("watch")
            .args(extra)
            .current_dir(dir)
            .env_remove("NO_COLOR")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for v in support::CONNECTION_ENV {
            cmd.env_remove(v);
        }
        let mut child = cmd.spawn().expect("start rsqlflow watch");
        let out = collect(child.stdout.take().unwrap());
        let err = collect(child.stderr.take().unwrap());
        let w = Watching { child, out, err };
        w.wait_for("watching", || {
            w.stderr().contains("watching s3://rsqlflow-data/")
        });
        w
    }

    fn stdout(&self) -> String {
        self.out.lock().unwrap().clone()
    }

    fn stderr(&self) -> String {
        self.err.lock().unwrap().clone()
    }

    /// Waits until `done` holds; panics after [`WAIT`], with the output so far.
    fn wait_for(&self, what: &str, mut done: impl FnMut() -> bool) {
        let t0 = Instant::now();
        while !done() {
            assert!(
                t0.elapsed() < WAIT,
                "waited {WAIT:?} for {what}\nstdout:\n{}\nstderr:\n{}",
                self.stdout(),
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sends `signal` (INT, TERM) and waits for the exit: exit code, stdout, stderr.
    fn signal_and_wait(mut self, signal: &str) -> (i32, String, String) {
        let ok = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .expect("kill")
            .success();
        assert!(ok);
        let t0 = Instant::now();
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                break s;
            }
            if t0.elapsed() > WAIT {
                let _ = self.child.kill();
                panic!(
                    "the watch did not stop within {WAIT:?} of SIG{signal}\nstdout:\n{}\nstderr:\n{}",
                    self.stdout(),
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        // The reader threads end with the pipes.
        std::thread::sleep(Duration::from_millis(200));
        (status.code().unwrap_or(-1), self.stdout(), self.stderr())
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The execution records of orders files: (key, record), oldest first.
fn order_executions(dir: &Path) -> Vec<(String, Value)> {
    let mut v: Vec<(String, Value)> = std::fs::read_dir(dir.join(".rsqlflow/executions"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            n.ends_with(".json") && !n.ends_with(".history.json") && !n.ends_with(".children.json")
        })
        .filter_map(|p| serde_json::from_str::<Value>(&std::fs::read_to_string(p).ok()?).ok())
        .filter_map(|r| {
            let key = r["input"]["trigger"]["key"].as_str()?.to_string();
            key.starts_with("incoming/orders/").then_some((key, r))
        })
        .collect();
    v.sort_by_key(|(_, r)| r["startDate"].as_i64());
    v
}

/// Writes three daily orders files under `<dir>/staging/` (the same file system as the
/// watched bucket, so that they can be renamed into it) and returns (day, rows, path).
fn daily_files(dir: &Path, days: usize) -> Vec<(String, u64, PathBuf)> {
    let (code, out, err) = support::run_text(
        dir,
        &[
            "sample-data",
            "--orders-days",
            &days.to_string(),
            "--s3-root",
            "staging",
        ],
        &[],
    );
    assert_eq!(code, 0, "{out}{err}");
    // "orders 1992-01-01      9 rows ..." for each day.
    let files: Vec<(String, u64, PathBuf)> = out
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            (w.next()? == "orders").then_some(())?;
            let day = w.next()?.to_string();
            let rows = w.next()?.parse().ok()?;
            let path = dir.join(format!(
                "staging/rsqlflow-data/incoming/orders/orders_{day}.tbl.gz"
            ));
            Some((day, rows, path))
        })
        .collect();
    assert_eq!(files.len(), days, "{out}");
    for (_, _, p) in &files {
        assert!(p.is_file(), "{}", p.display());
    }
    files
}

fn incoming(dir: &Path) -> PathBuf {
    let d = dir.join(".rsqlflow/s3/rsqlflow-data/incoming/orders");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// What `rsqlflow rsql` prints for one value.
fn query(dir: &Path, sql: &str) -> String {
    let (code, out, err) = support::run_text(dir, &["rsql", "-t", "-A", "-c", sql], &[]);
    assert_eq!(code, 0, "{sql}: {out}{err}");
    out.trim().to_string()
}

#[test]
fn files_arriving_while_watched_load_once_each_and_a_changed_one_replaces_its_rows() {
    let dir = support::sample_workdir();
    let files = daily_files(dir.path(), 3);
    let total: u64 = files.iter().map(|f| f.1).sum();
    // The directory is there before the watch starts (a new directory is looked into as soon
    // as its event comes, but that may be after a file renamed into it at once).
    let target = incoming(dir.path());
    let w = Watching::start(dir.path(), &["--settle", "1s"]);
    let dest = |i: usize| target.join(format!("orders_{}.tbl.gz", files[i].0));

    // Day 1 renamed into place: complete at once.
    std::fs::rename(&files[0].2, dest(0)).unwrap();
    // Day 2 written in place in two chunks, 400 ms apart (less than --settle): one arrival,
    // once it is whole (a partial gzip file would fail its COPY).
    let bytes = std::fs::read(&files[1].2).unwrap();
    let (a, b) = bytes.split_at(bytes.len() / 2);
    let mut f = std::fs::File::create(dest(1)).unwrap();
    f.write_all(a).unwrap();
    f.flush().unwrap();
    std::thread::sleep(Duration::from_millis(400));
    f.write_all(b).unwrap();
    drop(f);
    // Day 3 copied in place in one go.
    std::fs::copy(&files[2].2, dest(2)).unwrap();

    w.wait_for("three finished executions", || {
        let e = order_executions(dir.path());
        e.len() >= 3 && e.iter().all(|(_, r)| r["status"] != "RUNNING")
    });
    let e = order_executions(dir.path());
    assert_eq!(e.len(), 3, "{e:?}");
    let mut keys: Vec<&str> = e.iter().map(|(k, _)| k.as_str()).collect();
    keys.sort();
    for (i, k) in keys.iter().enumerate() {
        assert_eq!(*k, format!("incoming/orders/orders_{}.tbl.gz", files[i].0));
    }
    for (k, r) in &e {
        assert_eq!(r["status"], "SUCCEEDED", "{k}: {r}\n{}", w.stderr());
    }
    // The day renamed in arrived first; the others were queued behind it.
    assert_eq!(
        e[0].0,
        format!("incoming/orders/orders_{}.tbl.gz", files[0].0)
    );
    let err = w.stderr();
    assert!(err.contains("queued behind"), "{err}");
    assert!(err.contains("renamed into place"), "{err}");
    assert!(err.contains("trigger started execution"), "{err}");
    assert!(w.stdout().contains("SUCCEEDED"), "{}", w.stdout());

    // The same object again (same bytes, same modification time: the same version) loads
    // nothing: start-workflow finds the execution it started.
    let again = dir.path().join("staging/again.tbl.gz");
    std::fs::copy(dest(0), &again).unwrap();
    let mtime = std::fs::metadata(dest(0)).unwrap().modified().unwrap();
    std::fs::File::options()
        .write(true)
        .open(&again)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    std::fs::rename(&again, dest(0)).unwrap();
    w.wait_for("the repeated object", || {
        w.stdout()
            .contains("execution already started for this trigger")
    });
    assert_eq!(order_executions(dir.path()).len(), 3);

    // A changed object (day 2's first two rows) replaces the rows its earlier version loaded.
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(dest(1)).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let two: String = text.lines().take(2).map(|l| format!("{l}\n")).collect();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(two.as_bytes()).unwrap();
    let changed = dir.path().join("staging/changed.tbl.gz");
    std::fs::write(&changed, gz.finish().unwrap()).unwrap();
    std::fs::rename(&changed, dest(1)).unwrap();
    // Its report on stdout is the last thing an execution's run does.
    w.wait_for("the changed object's execution", || {
        w.stdout()
            .lines()
            .filter(|l| l.starts_with("execution arn:") && l.ends_with(" SUCCEEDED"))
            .count()
            >= 4
    });
    std::thread::sleep(Duration::from_millis(500));
    let e = order_executions(dir.path());
    assert_eq!(e.len(), 4, "{e:?}");
    assert_eq!(e[3].1["status"], "SUCCEEDED", "{}", w.stderr());
    assert_eq!(
        e[3].0,
        format!("incoming/orders/orders_{}.tbl.gz", files[1].0)
    );

    // Ctrl-C while idle: the summary, exit 0.
    let (code, out, err) = w.signal_and_wait("INT");
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    let summary = out
        .lines()
        .find(|l| l.starts_with("watch: "))
        .unwrap_or_else(|| panic!("no summary:\n{out}"));
    assert!(
        summary.contains("4 execution(s) started: 4 succeeded, 0 failed; 1 already started"),
        "{summary}"
    );

    // Each file loaded once: orders holds every row of days 1 and 3, and day 2's new version.
    let expected = total - files[1].1 + 2;
    assert_eq!(
        query(dir.path(), "select count(*) from orders"),
        expected.to_string()
    );
    assert_eq!(
        query(
            dir.path(),
            "select count(*) from orders_load_audit where object_key like 'incoming/orders/%'"
        ),
        "4"
    );
    for (i, (day, rows, _)) in files.iter().enumerate() {
        let n = if i == 1 { 2 } else { *rows };
        assert_eq!(
            query(
                dir.path(),
                &format!(
                    "select count(*) from orders where source_key = 'incoming/orders/orders_{day}.tbl.gz'"
                )
            ),
            n.to_string(),
            "{day}"
        );
    }
}

#[test]
fn ctrl_c_during_an_execution_aborts_it_and_starts_nothing_queued() {
    let dir = support::sample_workdir();
    // The staging job prints a line, then sleeps long enough to be interrupted.
    let stage = dir.path().join("etl/incremental/orders_stage.rsql");
    let text = std::fs::read_to_string(&stage).unwrap();
    std::fs::write(
        &stage,
        format!("\\echo staging begins\nSELECT pg_sleep(120);\n{text}"),
    )
    .unwrap();
    let files = daily_files(dir.path(), 2);
    // The polling watcher, as when file-system events cannot be had.
    let target = incoming(dir.path());
    let w = Watching::start(dir.path(), &["--settle", "300ms", "--poll"]);
    assert!(w.stderr().contains("polling every"), "{}", w.stderr());
    let first = target.join(format!("orders_{}.tbl.gz", files[0].0));
    let second = target.join(format!("orders_{}.tbl.gz", files[1].0));
    std::fs::rename(&files[0].2, &first).unwrap();
    w.wait_for("the staging job", || {
        order_executions(dir.path()).first().is_some_and(|(_, r)| {
            let name = r["name"].as_str().unwrap_or_default();
            std::fs::read_to_string(
                dir.path()
                    .join(format!(".rsqlflow/executions/{name}.history.json")),
            )
            .unwrap_or_default()
            .contains("orders_stage")
        })
    });
    std::thread::sleep(Duration::from_millis(1500));
    std::fs::rename(&files[1].2, &second).unwrap();
    let queued = format!(
        "s3://rsqlflow-data/incoming/orders/orders_{}.tbl.gz arrived",
        files[1].0
    );
    w.wait_for("the second file queued", || {
        w.stderr()
            .lines()
            .any(|l| l.contains(&queued) && l.contains("queued behind"))
    });

    let (code, out, err) = w.signal_and_wait("INT");
    assert_eq!(code, 130, "stdout:\n{out}\nstderr:\n{err}");
    assert!(err.contains("SIGINT received"), "{err}");
    let e = order_executions(dir.path());
    assert_eq!(e.len(), 1, "the queued file was not started: {e:?}");
    assert_eq!(
        e[0].0,
        format!("incoming/orders/orders_{}.tbl.gz", files[0].0)
    );
    assert_eq!(e[0].1["status"], "ABORTED", "{}", e[0].1);
    assert_eq!(e[0].1["error"], "rsqlflow.Interrupted");
    // The queued arrivals (the second file, and the sample data the first run seeded) are
    // listed, not started.
    let not_started = err
        .lines()
        .find(|l| l.contains("arrival(s) not started: "))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        not_started.contains(&format!(
            "s3://rsqlflow-data/incoming/orders/orders_{}.tbl.gz",
            files[1].0
        )),
        "{not_started}"
    );
    assert!(out.contains("ABORTED"), "{out}");
    assert!(
        out.contains("1 execution(s) started: 0 succeeded, 1 failed"),
        "{out}"
    );
    let sent = support::outbox(dir.path());
    let aborted: Vec<_> = sent
        .iter()
        .filter(|n| n["attributes"]["status"] == "ABORTED")
        .collect();
    assert_eq!(aborted.len(), 1, "one notification: {sent:?}");
}
