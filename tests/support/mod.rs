//! Shared helpers for the end-to-end tests: the real `rsqlflow` binary, throwaway working
//! directories, and a throwaway native PostgreSQL cluster.

#![allow(dead_code)]

pub mod moto;
pub mod pg;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Path of the rsqlflow binary built for these tests.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_rsqlflow"))
}

/// Runs rsqlflow with `args` in `dir`, feeding `stdin`.
pub fn run(dir: &Path, args: &[String], stdin: Option<&[u8]>) -> Output {
    run_with_env(dir, args, stdin, &[])
}

/// The environment variables that choose a database or hold a password: removed from every
/// child so that the tests do not depend on the caller's shell.
pub const CONNECTION_ENV: [&str; 9] = [
    "RSQLFLOW_DATABASE",
    "PGPASSWORD",
    "RSPASSWORD",
    "PGHOST",
    "PGPORT",
    "PGUSER",
    "PGDATABASE",
    "PGSSLMODE",
    "ODBCINI",
];

/// Runs rsqlflow with `args` in `dir`, feeding `stdin`, with these variables set.
pub fn run_with_env(
    dir: &Path,
    args: &[String],
    stdin: Option<&[u8]>,
    envs: &[(&str, &str)],
) -> Output {
    use std::io::Write;
    let mut cmd = Command::new(bin());
    cmd.args(args).current_dir(dir);
    for v in CONNECTION_ENV {
        cmd.env_remove(v);
    }
    cmd.envs(envs.iter().copied())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn rsqlflow");
    if let Some(data) = stdin {
        let mut si = child.stdin.take().expect("stdin");
        let data = data.to_vec();
        std::thread::spawn(move || {
            let _ = si.write_all(&data);
        });
    }
    child.wait_with_output().expect("wait for rsqlflow")
}

/// Splits a command line the way a shell would for simple quoting ('...' and "...").
pub fn shell_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                in_word = true;
            }
            None if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            None => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    out
}

/// Copies a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read dir") {
        let e = e.expect("entry");
        let dest = to.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).expect("copy");
        }
    }
}

/// Runs `f` over the items on a few worker threads; returns the failures it reports.
pub fn run_parallel<T: Send>(
    items: Vec<T>,
    workers: usize,
    f: impl Fn(&T) -> Option<String> + Sync,
) -> Vec<String> {
    let queue = std::sync::Mutex::new(items);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let Some(item) = queue.lock().unwrap().pop() else {
                        break;
                    };
                    if let Some(msg) = f(&item) {
                        failures.lock().unwrap().push(msg);
                    }
                }
            });
        }
    });
    failures.into_inner().unwrap()
}

/// Creates (or recreates) database `db` on a cluster through the rsqlflow binary and returns
/// its URL.
pub fn fresh_database(cluster: &pg::Cluster, db: &str) -> String {
    let tmp = tempfile::tempdir().expect("tempdir");
    let setup = run(
        tmp.path(),
        &[
            "rsql".into(),
            "--database".into(),
            cluster.url("postgres"),
            "-v".into(),
            "ON_ERROR_STOP=1".into(),
            "-c".into(),
            format!("drop database if exists {db}; create database {db};"),
        ],
        None,
    );
    assert!(
        setup.status.success(),
        "create database {db}: {}",
        String::from_utf8_lossy(&setup.stderr)
    );
    cluster.url(db)
}

/// A working directory holding the sample workflow: etl/, state-machines/, template.yaml.
pub fn sample_workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    copy_dir(&root.join("etl"), &dir.path().join("etl"));
    copy_dir(
        &root.join("state-machines"),
        &dir.path().join("state-machines"),
    );
    std::fs::copy(root.join("template.yaml"), dir.path().join("template.yaml"))
        .expect("copy template.yaml");
    dir
}

/// Runs rsqlflow in `dir`: exit code, stdout, stderr.
pub fn run_text(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> (i32, String, String) {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let out = run_with_env(dir, &args, None, envs);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// The notifications in `.rsqlflow/outbox.jsonl`.
pub fn outbox(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join(".rsqlflow/outbox.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("outbox line is JSON"))
        .collect()
}
