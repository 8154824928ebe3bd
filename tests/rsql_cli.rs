//! End-to-end tests of `rsqlflow rsql` as a user runs it: broken input and environments give a
//! clear message, the right exit code and no panic; the embedded warehouse persists between runs
//! and makes a concurrent second user wait. The tests of a native server (SCRAM passwords, TLS)
//! start a throwaway PostgreSQL cluster and are `#[ignore]`d (`.ci/run` runs them with
//! `-- --include-ignored`); run without an installed server they fail and say so.

mod support;

use std::time::{Duration, Instant};

fn rsql(dir: &std::path::Path, args: &[&str], stdin: Option<&[u8]>) -> (String, String, i32) {
    let mut a = vec!["rsql".to_string()];
    a.extend(args.iter().map(|s| s.to_string()));
    let out = support::run(dir, &a, stdin);
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

fn assert_no_panic(stderr: &str) {
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
}

#[test]
fn missing_script_file_is_a_client_error() {
    let dir = tempfile::tempdir().unwrap();
    let (_, err, code) = rsql(dir.path(), &["--ephemeral", "-f", "nope.rsql"], None);
    assert_eq!(code, 1);
    assert!(err.contains("nope.rsql: No such file"), "{err}");
    assert_no_panic(&err);
}

#[test]
fn refused_connection_exits_2_without_printing_the_password() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // Nothing listens on the port once the listener above is dropped.
    let url = format!("postgres://etl:s3cret-pw@127.0.0.1:{port}/dev");
    let dir = tempfile::tempdir().unwrap();
    let (out, err, code) = rsql(dir.path(), &["--database", &url, "-c", "select 1"], None);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("could not connect to etl@127.0.0.1"), "{err}");
    assert!(err.contains("refused"), "{err}");
    assert!(!err.contains("s3cret") && !out.contains("s3cret"));
    assert_no_panic(&err);
}

#[test]
fn malformed_database_url_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let (_, err, code) = rsql(
        dir.path(),
        &["--database", "mysql://x/y", "-c", "select 1"],
        None,
    );
    assert_eq!(code, 2);
    assert!(err.contains("invalid database URL"), "{err}");
}

#[test]
fn bad_variable_option_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let (_, err, code) = rsql(
        dir.path(),
        &["--ephemeral", "-v", "novalue", "-c", "select 1"],
        None,
    );
    assert_eq!(code, 1);
    assert!(err.contains("-v novalue: expected NAME=VALUE"), "{err}");
}

#[test]
fn help_teaches_with_an_example() {
    let dir = tempfile::tempdir().unwrap();
    let (out, _, code) = rsql(dir.path(), &["--help"], None);
    assert_eq!(code, 0);
    assert!(
        out.contains("Examples:") && out.contains("rsqlflow rsql -f"),
        "{out}"
    );
    assert!(out.contains("Exit codes"));
}

#[test]
fn fifty_megabyte_statement_runs() {
    let dir = tempfile::tempdir().unwrap();
    let payload = "x".repeat(50 * 1024 * 1024);
    let script = format!("select length('{payload}') as len;\n\\echo :ACTIVITYCOUNT\n");
    std::fs::write(dir.path().join("big.rsql"), script).unwrap();
    let (out, err, code) = rsql(dir.path(), &["--ephemeral", "-f", "big.rsql"], None);
    assert_no_panic(&err);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("52428800"), "{out}");
}

#[test]
fn fifty_megabyte_unterminated_statement_is_reported_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let payload = "y".repeat(50 * 1024 * 1024);
    let script = format!("select 1 as ok;\n\nselect '{payload}\n");
    std::fs::write(dir.path().join("big.rsql"), script).unwrap();
    let (_, err, code) = rsql(dir.path(), &["--ephemeral", "-f", "big.rsql"], None);
    assert_no_panic(&err);
    assert_eq!(code, 1);
    assert_eq!(err.trim(), "rsql: unterminated quoted string at big.rsql:3");
}

#[test]
fn invalid_utf8_on_stdin_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let (_, err, code) = rsql(
        dir.path(),
        &["--ephemeral"],
        Some(b"select 1;\n\n\xc3\x28;\n"),
    );
    assert_eq!(code, 1);
    assert_eq!(err.trim(), "rsql: invalid UTF-8 (byte 0xc3) at <stdin>:3");
}

#[test]
fn embedded_warehouse_persists_between_runs() {
    let dir = tempfile::tempdir().unwrap();
    let (_, err, code) = rsql(
        dir.path(),
        &[
            "-c",
            "create table kept (n int); insert into kept values (1), (2), (3);",
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert!(dir.path().join(".rsqlflow/warehouse").is_dir());
    let (out, err, code) = rsql(
        dir.path(),
        &["-t", "-A", "-c", "select sum(n) from kept"],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "6");
}

#[test]
fn second_concurrent_user_of_the_embedded_warehouse_waits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let first = std::thread::spawn(move || {
        rsql(
            &path,
            &[
                "-c",
                "create table busy (n int); \\! touch started\nselect pg_sleep(2); insert into busy values (42);",
            ],
            None,
        )
    });
    // Start the second user once the first holds the warehouse.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !dir.path().join("started").exists() {
        assert!(Instant::now() < deadline, "first session never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let (out, err, code) = rsql(dir.path(), &["-t", "-A", "-c", "select n from busy"], None);
    let (_, err1, code1) = first.join().unwrap();
    assert_eq!(code1, 0, "{err1}");
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("waiting for the embedded warehouse"), "{err}");
    // It saw the first session's committed row, so it ran after it.
    assert_eq!(out.trim(), "42");
}

/// Runs `select` over a URL with extra environment, returning (stdout, stderr, code).
fn rsql_env(url: &str, env: &[(&str, &str)], sql: &str) -> (String, String, i32) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new(support::bin());
    cmd.current_dir(dir.path())
        .args(["rsql", "-t", "-A", "--database", url, "-c", sql])
        .env_remove("PGPASSWORD")
        .env_remove("RSPASSWORD")
        .env_remove("RSQLFLOW_DATABASE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

#[test]
#[ignore = "needs a native PostgreSQL server's initdb and pg_ctl (pg_config --bindir or /usr/lib/postgresql/*/bin) and openssl; .ci/run installs Debian's postgresql, which brings openssl"]
fn native_server_with_scram_password_and_tls() {
    let cluster = support::pg::Cluster::start_with(support::pg::Setup {
        password: Some("Pa55-word".into()),
        tls: true,
    });
    let base = cluster.url("postgres").replace("?sslmode=disable", "");
    let with_pw = base.replace("postgres@", "postgres:Pa55-word@");
    let tls_query = "select ssl from pg_stat_ssl where pid = pg_backend_pid()";

    // Password in the URL, TLS required.
    let (out, err, code) = rsql_env(&format!("{with_pw}?sslmode=require"), &[], tls_query);
    assert_eq!((code, out.trim()), (0, "t"), "{err}");
    // RSPASSWORD, then PGPASSWORD; without TLS the session is plain.
    let (out, err, code) = rsql_env(
        &format!("{base}?sslmode=disable"),
        &[("RSPASSWORD", "Pa55-word"), ("PGPASSWORD", "wrong")],
        tls_query,
    );
    assert_eq!((code, out.trim()), (0, "f"), "{err}");
    let (out, err, code) = rsql_env(&base, &[("PGPASSWORD", "Pa55-word")], "select 7");
    assert_eq!((code, out.trim()), (0, "7"), "{err}");
    // A wrong password: exit 2, the server's message, never the password.
    let (out, err, code) = rsql_env(&base, &[("PGPASSWORD", "not-it-123")], "select 1");
    assert_eq!(code, 2);
    assert!(err.contains("password authentication failed"), "{err}");
    assert!(!err.contains("not-it-123") && !out.contains("not-it-123"));
    // No password at all.
    let (_, err, code) = rsql_env(&base, &[], "select 1");
    assert_eq!(code, 2);
    assert!(err.contains("none was given"), "{err}");
}

#[test]
#[ignore = "needs a native PostgreSQL server's initdb and pg_ctl (pg_config --bindir or /usr/lib/postgresql/*/bin); .ci/run installs Debian's postgresql"]
fn tls_required_but_not_offered_is_refused() {
    let cluster = support::pg::Cluster::start();
    let url = cluster
        .url("postgres")
        .replace("sslmode=disable", "sslmode=require");
    let (_, err, code) = rsql_env(&url, &[], "select 1");
    assert_eq!(code, 2);
    assert!(err.contains("does not support TLS"), "{err}");
}

#[test]
fn readme_example_job_runs_twice_on_the_persistent_warehouse() {
    let dir = tempfile::tempdir().unwrap();
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("etl/examples/orders_merge.rsql");
    let script = script.to_str().unwrap();
    let (out, err, code) = rsql(dir.path(), &["-f", script], None);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("rows replaced: 0") && out.contains("rows inserted: 500"),
        "{out}"
    );
    let (out, err, code) = rsql(dir.path(), &["-f", script], None);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("rows replaced: 500"), "{out}");
    assert!(out.contains("Merge completed successfully"));
}

/// Standard input is read as it comes: through a pipe that stays open, each statement's result
/// is printed before the next statement is written, and a `\goto` skips lines not yet written.
#[test]
fn a_slow_pipe_shows_each_result_before_the_pipe_closes() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(support::bin());
    cmd.args(["rsql", "--ephemeral", "-t", "-A"])
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for v in support::CONNECTION_ENV {
        cmd.env_remove(v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let expect = |want: &str| {
        let got = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("no line {want:?} while the pipe is open: {e}"));
        assert_eq!(got, want);
    };
    stdin.write_all(b"select 41 + 1;\n").unwrap();
    stdin.flush().unwrap();
    expect("42");
    stdin.write_all(b"select\n").unwrap();
    stdin.write_all(b"43 + 1; \\goto later\n").unwrap();
    stdin.flush().unwrap();
    expect("44");
    stdin
        .write_all(b"select 'skipped';\n\\label later\n")
        .unwrap();
    stdin.flush().unwrap();
    expect("\\label later processed");
    stdin.write_all(b"\\echo :ACTIVITYCOUNT\n").unwrap();
    stdin.flush().unwrap();
    expect("1");
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_no_panic(&String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0));
}

/// The rest of psql's command line: -e echoes statements, -x expands, -A -R sets the record
/// separator, -o sends results to a file, -L and -s are accepted and said to do nothing.
#[test]
fn psql_output_options() {
    let dir = tempfile::tempdir().unwrap();
    let (out, err, code) = rsql(
        dir.path(),
        &["--ephemeral", "-e", "-x", "-c", "select 1 as a, 2 as b;"],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "select 1 as a, 2 as b;\n-[ RECORD 1 ]\na | 1\nb | 2\n\n"
    );
    let (out, err, code) = rsql(
        dir.path(),
        &[
            "--ephemeral",
            "-A",
            "-t",
            "-R",
            ";",
            "-c",
            "select n from generate_series(1, 3) n;",
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "1;2;3\n");
    let (out, err, code) = rsql(
        dir.path(),
        &[
            "--ephemeral",
            "-o",
            "result.txt",
            "-L",
            "log.txt",
            "-s",
            "-t",
            "-c",
            "select 42;",
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "");
    let written = std::fs::read_to_string(dir.path().join("result.txt")).unwrap();
    assert_eq!(written.trim(), "42");
    // -L logs the statement and its output (psql's format, tests/rsql_connect.rs); -s needs a
    // terminal to ask at, and says so (tests/rsql_terminal.rs asks).
    let log = std::fs::read_to_string(dir.path().join("log.txt")).unwrap();
    assert!(
        log.starts_with("********* QUERY **********\nselect 42;\n"),
        "{log}"
    );
    assert!(log.contains("42\n"), "{log}");
    assert!(!err.contains("no effect"), "{err}");
    assert!(
        err.contains("-s (single-step mode) needs a terminal"),
        "{err}"
    );
}
