//! `rsqlflow rsql` at a terminal, driven through a pseudo-terminal (rexpect): the banner and
//! RSQL's prompt, a result shown before the next statement is typed, the continuation prompt,
//! Ctrl-C clearing the input, history recalled after a restart, and Ctrl-C cancelling a
//! running statement on a PostgreSQL server (`#[ignore]`d: it starts a throwaway cluster;
//! `.ci/run` runs it).
#![cfg(unix)]

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use rexpect::session::{PtySession, spawn_with_options};

const PROMPT: &str = "(embedded) postgres@postgres=# ";

/// Starts `rsqlflow rsql ARGS` on a pseudo-terminal in `dir`, its history in `dir/history`.
fn start(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> PtySession {
    let mut cmd = Command::new(support::bin());
    cmd.arg("rsql").args(args).current_dir(dir);
    for v in support::CONNECTION_ENV {
        cmd.env_remove(v);
    }
    cmd.env("RSQL_HISTORY", dir.join("history"))
        .env("TERM", "xterm")
        .envs(env.iter().copied());
    let options = rexpect::reader::Options {
        timeout_ms: Some(60_000),
        strip_ansi_escape_codes: true,
    };
    spawn_with_options(cmd, options).expect("spawn rsqlflow rsql on a pseudo-terminal")
}

#[test]
fn banner_prompt_results_as_typed_continuation_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = start(dir.path(), &["--ephemeral"], &[]);
    p.exp_string("embedded PostgreSQL (ephemeral)").unwrap();
    p.exp_string("Type \"help\" for help.").unwrap();
    p.exp_string(PROMPT).unwrap();
    // The result comes before anything else is typed.
    p.send_line("select 40 + 2 as answer;").unwrap();
    p.exp_string("42").unwrap();
    p.exp_string("(1 row)").unwrap();
    p.exp_string(PROMPT).unwrap();
    // A statement over two lines: psql's continuation prompt, then one result.
    p.send_line("select 'multi' as a,").unwrap();
    p.exp_string("(embedded) postgres@postgres-# ").unwrap();
    p.send_line("'line' as b;").unwrap();
    p.exp_string("multi | line").unwrap();
    p.exp_string(PROMPT).unwrap();
    // Ctrl-C inside a quoted string drops the input and never exits.
    p.send_line("select 'never").unwrap();
    p.exp_string("(embedded) postgres@postgres'# ").unwrap();
    p.send_control('c').unwrap();
    p.exp_string(PROMPT).unwrap();
    p.send_line("select 'after ctrl-c' as c;").unwrap();
    p.exp_string("after ctrl-c").unwrap();
    p.exp_string(PROMPT).unwrap();
    // help, an inactive \if branch (`@`), an error that does not end the session.
    p.send_line("help").unwrap();
    p.exp_string("\\q to quit").unwrap();
    p.send_line("\\if false").unwrap();
    p.exp_string("(embedded) postgres@postgres@# ").unwrap();
    p.send_line("\\endif").unwrap();
    p.exp_string(PROMPT).unwrap();
    p.send_line("create table orders (o_orderkey int primary key);")
        .unwrap();
    p.exp_string(PROMPT).unwrap();
    p.send_line("\\dt").unwrap();
    p.exp_string("List of relations").unwrap();
    p.exp_string("public | orders | table").unwrap();
    p.exp_string(PROMPT).unwrap();
    p.send_line("\\nosuchcommand").unwrap();
    p.exp_string("unsupported meta-command").unwrap();
    p.exp_string(PROMPT).unwrap();
    p.send_line("select 'multi' as a,").unwrap();
    p.exp_string("(embedded) postgres@postgres-# ").unwrap();
    p.send_line("'again' as b;").unwrap();
    p.exp_string("multi | again").unwrap();
    p.exp_string(PROMPT).unwrap();
    p.send_line("\\q").unwrap();
    p.exp_eof().unwrap();

    // After a restart, the up arrow recalls the last statement, both of its lines as one entry.
    let history = std::fs::read_to_string(dir.path().join("history")).unwrap();
    assert!(history.contains("select 40 + 2 as answer;"), "{history}");
    let mut p = start(dir.path(), &["--ephemeral"], &[]);
    p.exp_string(PROMPT).unwrap();
    p.send("\x1b[A").unwrap();
    p.send_line("").unwrap();
    p.exp_string("multi | again").unwrap();
    p.exp_string(PROMPT).unwrap();
    p.send_control('d').unwrap();
    p.exp_eof().unwrap();

    // --no-history keeps none.
    let before = std::fs::read_to_string(dir.path().join("history")).unwrap();
    let mut p = start(dir.path(), &["--ephemeral", "--no-history"], &[]);
    p.exp_string(PROMPT).unwrap();
    p.send_line("select 'unrecorded';").unwrap();
    p.exp_string("(1 row)").unwrap();
    p.send_line("\\q").unwrap();
    p.exp_eof().unwrap();
    let after = std::fs::read_to_string(dir.path().join("history")).unwrap();
    assert_eq!(before, after);
}

#[test]
#[ignore = "needs a native PostgreSQL server's initdb and pg_ctl (pg_config --bindir or /usr/lib/postgresql/*/bin); .ci/run installs Debian's postgresql"]
fn ctrl_c_cancels_the_running_statement_and_the_prompt_comes_back() {
    let cluster = support::pg::Cluster::start();
    let dir = tempfile::tempdir().unwrap();
    let url = cluster.url("postgres");
    let mut p = start(dir.path(), &["--database", &url], &[]);
    p.exp_string("Type \"help\" for help.").unwrap();
    p.exp_string("@postgres=# ").unwrap();
    p.send_line("select pg_sleep(30);").unwrap();
    // Let the statement reach the server before interrupting it.
    std::thread::sleep(Duration::from_millis(500));
    let interrupted = Instant::now();
    p.send_control('c').unwrap();
    p.exp_string("canceling statement due to user request")
        .unwrap();
    p.exp_string("@postgres=# ").unwrap();
    let took = interrupted.elapsed();
    assert!(
        took < Duration::from_secs(1),
        "back at the prompt after {took:?}"
    );
    p.send_line("select 'still here' as s;").unwrap();
    p.exp_string("still here").unwrap();
    p.send_line("\\q").unwrap();
    p.exp_eof().unwrap();
}

/// On the embedded warehouse (kept in a directory) Ctrl-C cannot interrupt the statement: its
/// session is abandoned, the prompt comes back at once, and the next statement waits for the
/// engine to finish, then runs on a new session over the same data.
#[test]
fn ctrl_c_on_the_embedded_warehouse_abandons_the_statement() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = start(dir.path(), &["--no-history"], &[]);
    p.exp_string("Type \"help\" for help.").unwrap();
    p.exp_string(PROMPT).unwrap();
    p.send_line("create table kept (n int); insert into kept values (7);")
        .unwrap();
    p.exp_string(PROMPT).unwrap();
    p.send_line("select count(*) as rows_kept from kept;")
        .unwrap();
    p.exp_string("(1 row)").unwrap();
    p.exp_string(PROMPT).unwrap();
    p.send_line("select pg_sleep(6);").unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let interrupted = Instant::now();
    p.send_control('c').unwrap();
    p.exp_string("canceling statement due to user request")
        .unwrap();
    p.exp_string(PROMPT).unwrap();
    let took = interrupted.elapsed();
    assert!(
        took < Duration::from_secs(1),
        "back at the prompt after {took:?}"
    );
    p.send_line("select n * 6 as answer from kept;").unwrap();
    p.exp_string("waiting for the embedded warehouse").unwrap();
    p.exp_string("42").unwrap();
    p.exp_string(PROMPT).unwrap();
    p.send_line("\\q").unwrap();
    p.exp_eof().unwrap();
}

/// A result taller than the terminal goes through PAGER; a short one does not; `\pset pager
/// off` and `-P pager=off` turn it off.
#[test]
fn long_results_go_through_the_pager() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!(
            "stty rows 24 cols 100; exec {} rsql --ephemeral \"$@\"",
            support::bin().display()
        ))
        .arg("sh")
        .current_dir(dir.path());
    for v in support::CONNECTION_ENV {
        cmd.env_remove(v);
    }
    cmd.env("RSQL_HISTORY", dir.path().join("history"))
        .env("TERM", "xterm")
        .env_remove("PSQL_PAGER")
        .env("PAGER", "sed 's/^/PAGED:/'");
    let options = rexpect::reader::Options {
        timeout_ms: Some(60_000),
        strip_ansi_escape_codes: true,
    };
    let mut p = spawn_with_options(cmd, options).unwrap();
    p.exp_string(PROMPT).unwrap();
    p.send_line("select 'short' as s;").unwrap();
    let before = p.exp_string(PROMPT).unwrap();
    assert!(!before.contains("PAGED:"), "{before}");
    p.send_line("select n from generate_series(1, 50) n;")
        .unwrap();
    p.exp_string("PAGED:(50 rows)").unwrap();
    p.exp_string(PROMPT).unwrap();
    p.send_line("\\pset pager off").unwrap();
    p.exp_string("Pager usage is off.").unwrap();
    p.exp_string(PROMPT).unwrap();
    p.send_line("select n from generate_series(1, 50) n;")
        .unwrap();
    let out = p.exp_string("(50 rows)").unwrap();
    assert!(!out.contains("PAGED:"), "{out}");
    p.exp_string(PROMPT).unwrap();
    p.send_line("\\q").unwrap();
    p.exp_eof().unwrap();
}

/// At a terminal: `\c otherdb` changes the prompt's database; a connection that fails keeps
/// the previous one (psql's "Previous connection kept") and the prompt; a `\logon` password
/// is written to the history as `***`; `-s` asks before each statement (`x` cancels it).
#[test]
fn connecting_again_at_the_terminal_and_single_step() {
    let dir = tempfile::tempdir().unwrap();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut p = start(dir.path(), &["--ephemeral"], &[]);
    p.exp_string(PROMPT).unwrap();
    p.send_line("create database otherdb;").unwrap();
    p.exp_string(PROMPT).unwrap();
    p.send_line("\\c otherdb").unwrap();
    p.exp_string("You are now connected to database \"otherdb\" as user \"postgres\".")
        .unwrap();
    let other = "(embedded) postgres@otherdb=# ";
    p.exp_string(other).unwrap();
    p.send_line("\\c nosuchdb").unwrap();
    p.exp_string("database \"nosuchdb\" does not exist")
        .unwrap();
    p.exp_string("Previous connection kept").unwrap();
    p.exp_string(other).unwrap();
    p.send_line(&format!("\\logon dev etl 127.0.0.1 {closed} SeCrEt"))
        .unwrap();
    p.exp_string("Previous connection kept").unwrap();
    p.exp_string(other).unwrap();
    p.send_line("select current_database() as db;").unwrap();
    p.exp_string(" otherdb\r\n").unwrap();
    p.exp_string(other).unwrap();
    p.send_line("\\logoff").unwrap();
    p.exp_string(other).unwrap();
    p.send_line("select 1;").unwrap();
    p.exp_string("You are currently not connected to a database.")
        .unwrap();
    p.exp_string(other).unwrap();
    p.send_line("\\logon postgres").unwrap();
    p.exp_string(PROMPT).unwrap();
    p.send_line("\\q").unwrap();
    p.exp_eof().unwrap();
    let history = std::fs::read_to_string(dir.path().join("history")).unwrap();
    assert!(!history.contains("SeCrEt"), "{history}");
    assert!(
        history.contains(&format!("\\logon dev etl 127.0.0.1 {closed} ***")),
        "{history}"
    );

    // -s: psql's single-step texts; `x` cancels the statement, return sends it.
    let mut p = start(dir.path(), &["--ephemeral", "-s"], &[]);
    p.exp_string(PROMPT).unwrap();
    p.send_line("select 'stepped' as s;").unwrap();
    p.exp_string("***(Single step mode: verify command)*******************************************\r\nselect 'stepped' as s;\r\n***(press return to proceed or enter x and return to cancel)********************")
        .unwrap();
    p.send_line("x").unwrap();
    let skipped = p.exp_string(PROMPT).unwrap();
    assert!(!skipped.contains("(1 row)"), "{skipped}");
    p.send_line("select 'stepped' as s;").unwrap();
    p.exp_string("***(press return to proceed or enter x and return to cancel)")
        .unwrap();
    p.send_line("").unwrap();
    p.exp_string("(1 row)").unwrap();
    p.exp_string(PROMPT).unwrap();
    p.send_line("\\q").unwrap();
    p.exp_eof().unwrap();
}

/// The sample workflow run with `rsqlflow run`, then `rsqlflow rsql` at a terminal in the same
/// directory: `\dt` lists the tables the jobs loaded into the embedded warehouse.
#[test]
fn dt_lists_the_tables_rsqlflow_run_loaded() {
    let dir = support::sample_workdir();
    let (code, out, err) = support::run_text(dir.path(), &["run", "--name", "terminal"], &[]);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    let mut p = start(dir.path(), &[], &[]);
    p.exp_string(PROMPT).unwrap();
    p.send_line("\\dt").unwrap();
    p.exp_string("List of relations").unwrap();
    let listing = p.exp_string(PROMPT).unwrap();
    for table in ["customer", "nation", "region"] {
        assert!(
            listing.contains(&format!("| {table} ")),
            "{table} missing from:\n{listing}"
        );
    }
    p.send_line("\\q").unwrap();
    p.exp_eof().unwrap();
}

/// At a terminal, `\logon` to a server that wants a password none was given for asks
/// `Password for user postgres: ` with echo off, then connects; the password is not shown and
/// not kept in the history.
#[test]
#[ignore = "needs a native PostgreSQL server's initdb and pg_ctl (pg_config --bindir or /usr/lib/postgresql/*/bin); .ci/run installs Debian's postgresql"]
fn logon_asks_for_the_password_at_the_terminal() {
    let cluster = support::pg::Cluster::start_with(support::pg::Setup {
        password: Some("pg-SeCrEt".into()),
        tls: false,
    });
    let port = cluster.port();
    let dir = tempfile::tempdir().unwrap();
    let mut p = start(dir.path(), &["--ephemeral"], &[("PGSSLMODE", "disable")]);
    p.exp_string(PROMPT).unwrap();
    p.send_line(&format!("\\logon postgres postgres 127.0.0.1 {port}"))
        .unwrap();
    p.exp_string("Password for user postgres: ").unwrap();
    p.send_line("pg-SeCrEt").unwrap();
    let shown = p
        .exp_string(&format!(
            "You are now connected to database \"postgres\" as user \"postgres\" on host \"127.0.0.1\" at port \"{port}\"."
        ))
        .unwrap();
    assert!(!shown.contains("SeCrEt"), "{shown}");
    p.exp_string("(127.0.0.1) postgres@postgres=# ").unwrap();
    p.send_line("select inet_server_port() as port;").unwrap();
    p.exp_string(&format!(" {port}\r\n")).unwrap();
    p.send_line("\\q").unwrap();
    p.exp_eof().unwrap();
    let history = std::fs::read_to_string(dir.path().join("history")).unwrap();
    assert!(!history.contains("SeCrEt"), "{history}");
}
