//! `rsqlflow rsql` in place of `rsql` in existing shell wrappers: rsql's and psql's connection
//! options and environment (`-h -p -U -d`, PGHOST & co., `-D DSN` from odbc.ini), their other
//! batch flags (`-a`, `-P`, `-W`, `-?`), and scripts with Windows line ends. Through the real
//! binary; the tests that need a PostgreSQL server start a throwaway native cluster and are
//! `#[ignore]`d without one (`.ci/run` runs them).

mod support;

use std::path::Path;
use std::process::Command;

fn rsql(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> (String, String, i32) {
    let mut a = vec!["rsql".to_string()];
    a.extend(args.iter().map(|s| s.to_string()));
    let out = support::run_with_env(dir, &a, None, envs);
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

#[test]
fn help_is_on_question_mark_and_help_and_h_is_the_host() {
    let dir = tempfile::tempdir().unwrap();
    for flag in ["-?", "--help"] {
        let (out, _, code) = rsql(dir.path(), &[flag], &[]);
        assert_eq!(code, 0);
        assert!(out.contains("-h, --host <HOST>"), "{out}");
        assert!(
            out.contains("rsqlflow rsql -h cluster.example.com -p 5439 -U etl -d dev -f job.rsql")
        );
        assert!(out.contains("-D prod_dsn"));
    }
    let (_, err, code) = rsql(dir.path(), &["-h"], &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("a value is required for '--host <HOST>'"),
        "{err}"
    );
}

#[test]
fn crlf_scripts_behave_like_their_lf_versions() {
    let dir = tempfile::tempdir().unwrap();
    let script = "-- a script saved on Windows\n\\set who 'world'\n\\set n 3\nselect 'hello ' || :'who' as greeting,\n  'two\nlines' as text;\n\\if :n > 2\n  \\echo big :n\n\\else\n  \\echo small\n\\endif\n\\ir inc.rsql\nselect :n + 1 as four \\gset\n\\remark 'four is' :four\n";
    let inc = "\\echo included\nselect 1 as one;\n";
    let crlf = |s: &str| s.replace('\n', "\r\n");
    std::fs::create_dir(dir.path().join("lf")).unwrap();
    std::fs::create_dir(dir.path().join("crlf")).unwrap();
    std::fs::write(dir.path().join("lf/job.rsql"), script).unwrap();
    std::fs::write(dir.path().join("lf/inc.rsql"), inc).unwrap();
    std::fs::write(dir.path().join("crlf/job.rsql"), crlf(script)).unwrap();
    std::fs::write(dir.path().join("crlf/inc.rsql"), crlf(inc)).unwrap();
    let lf = rsql(dir.path(), &["--ephemeral", "-f", "lf/job.rsql"], &[]);
    let cr = rsql(dir.path(), &["--ephemeral", "-f", "crlf/job.rsql"], &[]);
    assert_eq!(lf.2, 0, "{}", lf.1);
    assert!(
        lf.0.contains("big 3") && lf.0.contains("included"),
        "{}",
        lf.0
    );
    assert!(lf.0.contains("four is 4"), "{}", lf.0);
    assert_eq!(cr, lf);
    assert!(!cr.0.contains('\r'));
    // A -c string with CRLF too.
    let c = rsql(
        dir.path(),
        &["--ephemeral", "-c", "\\echo one\r\nselect 2 as two;\r\n"],
        &[],
    );
    assert_eq!(c.2, 0, "{}", c.1);
    assert!(c.0.starts_with("one\n"), "{:?}", c.0);
}

#[test]
fn echo_all_prints_input_lines_as_they_are_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.rsql"),
        "-- step 1\nselect 1 as one;\n\\echo done\n",
    )
    .unwrap();
    let (out, err, code) = rsql(dir.path(), &["--ephemeral", "-a", "-f", "a.rsql"], &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "-- step 1\nselect 1 as one;\n one \n-----\n   1\n(1 row)\n\n\\echo done\ndone\n"
    );
}

#[test]
fn pset_option_and_refused_password_prompt() {
    let dir = tempfile::tempdir().unwrap();
    let (out, err, code) = rsql(
        dir.path(),
        &[
            "--ephemeral",
            "-P",
            "pager=off",
            "-P",
            "format=unaligned",
            "-P",
            "footer=off",
            "-c",
            "select 1 as a, 2 as b",
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "a|b\n1|2\n");
    let (_, err, code) = rsql(
        dir.path(),
        &["--ephemeral", "-P", "colour=on", "-c", "select 1"],
        &[],
    );
    assert_eq!(code, 1);
    assert!(err.contains("-P colour=on: unknown print option"), "{err}");
    let (_, err, code) = rsql(dir.path(), &["-W", "-c", "select 1"], &[]);
    assert_eq!(code, 1);
    assert!(err.contains("set RSPASSWORD"), "{err}");
}

#[test]
fn without_a_host_the_embedded_warehouse_is_used_and_ignored_options_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let (out, err, code) = rsql(
        dir.path(),
        &[
            "--ephemeral",
            "-U",
            "etl",
            "-d",
            "dev",
            "-c",
            "select 1 as one",
        ],
        &[("PGUSER", "someone")],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("(1 row)"));
    assert!(
        err.contains("no host given (-h, PGHOST, -D or --database): running on the embedded warehouse; -U, -d ignored"),
        "{err}"
    );
}

fn write_ini(dir: &Path, text: &str) -> String {
    let p = dir.join("odbc.ini");
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn dsn_problems_name_the_data_source_the_key_and_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let ini = write_ini(
        dir.path(),
        "[ODBC]\nTrace=no\n\n[sso]\nHost=x.example.com\nPWD=hunter2secret\nplugin_name=BrowserAzureADOAuth2\n\n[iam_nohost]\nIAM=1\nDatabase=dev\n",
    );
    let env = [("ODBCINI", ini.as_str())];
    let (out, err, code) = rsql(dir.path(), &["-D", "sso", "-c", "select 1"], &env);
    assert_eq!(code, 2);
    assert!(err.contains("data source [sso]"), "{err}");
    assert!(
        err.contains("odbc.ini:7): plugin_name: not supported"),
        "{err}"
    );
    assert!(!err.contains("hunter2") && !out.contains("hunter2"));
    let (_, err, code) = rsql(dir.path(), &["-D", "missing", "-c", "select 1"], &env);
    assert_eq!(code, 2);
    assert!(
        err.contains("data source [missing] is not defined in"),
        "{err}"
    );
    let (_, err, code) = rsql(dir.path(), &["-D", "iam_nohost", "-c", "select 1"], &env);
    assert_eq!(code, 2);
    assert!(err.contains("has no Server"), "{err}");
    let (_, err, code) = rsql(
        dir.path(),
        &["-D", "sso", "-c", "select 1"],
        &[("ODBCINI", "/nonexistent/odbc.ini")],
    );
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/odbc.ini"), "{err}");
}

#[test]
fn a_refused_dsn_connection_never_shows_its_password() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let ini = write_ini(
        dir.path(),
        &format!(
            "[dw]\nServer=127.0.0.1\nPort={port}\nDatabase=dev\nUID=etl\nPWD=dsn-s3cret\nSSLMode=disable\n"
        ),
    );
    let (out, err, code) = rsql(
        dir.path(),
        &["-D", "dw", "-c", "select 1"],
        &[("ODBCINI", ini.as_str())],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&format!("etl@127.0.0.1:{port}/dev")), "{err}");
    assert!(!err.contains("dsn-s3cret") && !out.contains("dsn-s3cret"));
}

#[test]
#[ignore = "needs a native PostgreSQL server's initdb and pg_ctl (pg_config --bindir or /usr/lib/postgresql/*/bin); .ci/run installs Debian's postgresql"]
fn a_wrapper_script_runs_with_rsql_replaced_by_rsqlflow_rsql() {
    let cluster = support::pg::Cluster::start();
    let url = support::fresh_database(&cluster, "wrapper_db");
    assert!(url.contains("wrapper_db"));
    let port = cluster.port().to_string();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("load.sql"),
        "create table if not exists runs (n int);\ninsert into runs values (1);\nselect current_database() as db, current_user as usr, count(*) as n from runs;\n",
    )
    .unwrap();
    // The production pattern: a shell wrapper calling rsql with -h -p -U -d -f.
    let wrapper = dir.path().join("job.sh");
    std::fs::write(
        &wrapper,
        "#!/bin/sh\nset -e\nrsql() { \"$RSQLFLOW\" rsql \"$@\"; }\nrsql -h 127.0.0.1 -p \"$PORT\" -U postgres -d wrapper_db -v ON_ERROR_STOP=1 -f load.sql\n",
    )
    .unwrap();
    let out = Command::new("sh")
        .arg(&wrapper)
        .current_dir(dir.path())
        .env("RSQLFLOW", support::bin())
        .env("PORT", &port)
        .env("PGSSLMODE", "disable")
        .env_remove("PGHOST")
        .env_remove("RSQLFLOW_DATABASE")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(" wrapper_db | postgres |"), "{stdout}");
    // The same through the environment only.
    let (out, err, code) = rsql(
        dir.path(),
        &["-f", "load.sql"],
        &[
            ("PGHOST", "127.0.0.1"),
            ("PGPORT", &port),
            ("PGUSER", "postgres"),
            ("PGDATABASE", "wrapper_db"),
            ("PGSSLMODE", "disable"),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(" wrapper_db | postgres | 2"), "{out}");
    // And through an odbc.ini data source, -d overriding its Database.
    let ini = write_ini(
        dir.path(),
        &format!(
            "[ODBC]\nTrace=no\n\n[local]\nDriver=/opt/amazon/redshiftodbcx64/librsodbc64.so\nServer=127.0.0.1\nPort={port}\nDatabase=postgres\nUID=postgres\nSSLMode=disable\n"
        ),
    );
    let (out, err, code) = rsql(
        dir.path(),
        &["-D", "local", "-d", "wrapper_db", "-f", "load.sql"],
        &[("ODBCINI", ini.as_str())],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(" wrapper_db | postgres | 3"), "{out}");
    assert!(err.contains("Driver has no effect locally"), "{err}");
}

/// `\c otherdb` on the embedded warehouse, `\logoff` (statements then fail with psql's message
/// and SQLSTATE 08003 until the next `\logon`), and a failed `\c` ending a script with exit 2
/// before anything after it runs, as psql does in a script.
#[test]
fn connecting_again_on_the_embedded_warehouse() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("job.rsql"),
        "create database otherdb;\n\\c otherdb\nselect current_database() as db;\n\\logoff\nselect 1 as never;\n\\echo errorcode :ERRORCODE\n\\logon postgres\nselect current_database() as db;\n\\logon - - \nselect 'same' as again;\n",
    )
    .unwrap();
    let (out, err, code) = rsql(dir.path(), &["--ephemeral", "-f", "job.rsql"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("You are now connected to database \"otherdb\" as user \"postgres\".\n"),
        "{out}"
    );
    assert!(out.contains(" otherdb\n"), "{out}");
    assert!(
        err.contains("rsql: ERROR: You are currently not connected to a database."),
        "{err}"
    );
    assert!(out.contains("errorcode 08003"), "{out}");
    assert!(!out.contains("never"), "{out}");
    assert!(
        out.contains("You are now connected to database \"postgres\" as user \"postgres\".\n"),
        "{out}"
    );
    assert!(out.contains(" same\n"), "{out}");
    // -q: no "You are now connected" (psql's QUIET).
    let (out, err, code) = rsql(dir.path(), &["--ephemeral", "-q", "-f", "job.rsql"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("You are now connected"), "{out}");
    // A failed \c ends the script (exit 2), naming the command and the place.
    let (out, err, code) = rsql(dir.path(), &["--ephemeral", "-c", "\\c nosuchdb\n"], &[]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("rsql: \\c: "), "{err}");
    assert!(
        err.contains("database \"nosuchdb\" does not exist"),
        "{err}"
    );
    std::fs::write(
        dir.path().join("fail.rsql"),
        "\\c nosuchdb\nselect 'after' as a;\n",
    )
    .unwrap();
    let (out, err, code) = rsql(dir.path(), &["--ephemeral", "-f", "fail.rsql"], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(!out.contains("after"), "{out}");
    assert!(err.contains("at fail.rsql:1"), "{err}");
    // Odd arguments: a clear error naming the command, exit 1, no panic.
    for (cmd, msg) in [
        (
            "\\logon a b c notaport",
            "\\logon: invalid port \"notaport\"",
        ),
        ("\\logon a b c 1 pw extra", "\\logon: too many arguments"),
        ("\\c a b c 1 pw", "\\c: too many arguments"),
        (
            "\\connect host=x dbname=y",
            "\\connect: a connection string must be the only argument",
        ),
        (
            "\\c 'host=x colour=red'",
            "\\c: connection string: unsupported key \"colour\"",
        ),
        (
            "\\logon a b - 5439",
            "\\logon: the embedded warehouse takes a database and a user only",
        ),
        ("\\logoff now", "\\logoff: takes no arguments"),
        ("\\c 'host=x port='", "\\c: connection string: invalid port"),
        (
            "\\logon 'unterminated",
            "\\logon: unterminated quoted string",
        ),
        (
            "\\c 'host=x password=\\'",
            "\\c: unterminated quoted string",
        ),
    ] {
        let (_, err, code) = rsql(dir.path(), &["--ephemeral", "-c", cmd], &[]);
        assert_eq!(code, 1, "{cmd}: {err}");
        assert!(err.contains(msg), "{cmd}: {err}");
        assert!(!err.contains("panicked"), "{cmd}: {err}");
    }
}

/// No password is printed: not by `-a` echoing the `\logon` line, not in a failed connection's
/// error.
#[test]
fn a_logon_password_is_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    for line in [
        format!("\\logon dev etl 127.0.0.1 {port} SeCrEt"),
        format!("\\c 'host=127.0.0.1 port={port} password=SeCrEt'"),
        format!("\\c postgres://etl:SeCrEt@127.0.0.1:{port}/dev"),
    ] {
        std::fs::write(dir.path().join("j.rsql"), format!("{line}\n")).unwrap();
        let (out, err, code) = rsql(dir.path(), &["--ephemeral", "-a", "-f", "j.rsql"], &[]);
        assert_eq!(code, 2, "{line}: {err}");
        assert!(
            !out.contains("SeCrEt") && !err.contains("SeCrEt"),
            "{out}{err}"
        );
        assert!(out.contains("***"), "{line}: {out}");
        assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    }
}

/// psql's `-L FILE`: each statement (between psql's `********* QUERY **********` lines) and its
/// output, appended to FILE, the output still on stdout.
#[test]
fn log_file_holds_statements_and_their_output() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("run.log"), "earlier\n").unwrap();
    let (out, err, code) = rsql(
        dir.path(),
        &[
            "--ephemeral",
            "-L",
            "run.log",
            "-c",
            "select 42 as answer; \\echo not logged",
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("42") && out.contains("not logged"), "{out}");
    assert!(!err.contains("no effect"), "{err}");
    let log = std::fs::read_to_string(dir.path().join("run.log")).unwrap();
    assert_eq!(
        log,
        "earlier\n********* QUERY **********\nselect 42 as answer;\n**************************\n\n answer \n--------\n     42\n(1 row)\n\n"
    );
    // An unwritable log: a client error, exit 1.
    let (_, err, code) = rsql(
        dir.path(),
        &["--ephemeral", "-L", "no/such/dir/x.log", "-c", "select 1"],
        &[],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("no/such/dir/x.log"), "{err}");
}

/// Switching from the embedded warehouse to a server by host with `\logon`, then to another
/// database on that server with `\c` (the host given stays the default), a password given as
/// `\logon`'s fifth value never shown, and a failed `\logon` in a script ending it with exit 2.
#[test]
#[ignore = "needs a native PostgreSQL server's initdb and pg_ctl (pg_config --bindir or /usr/lib/postgresql/*/bin); .ci/run installs Debian's postgresql"]
fn logon_switches_to_a_server_by_host() {
    let cluster = support::pg::Cluster::start_with(support::pg::Setup {
        password: Some("pg-SeCrEt".into()),
        tls: false,
    });
    let port = cluster.port().to_string();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("job.rsql"),
        format!(
            "select current_database() as first;\n\\logon postgres postgres 127.0.0.1 {port} pg-SeCrEt\nselect current_database() as db, inet_server_port() as port;\ncreate database second_db;\n\\c second_db\nselect current_database() as db2, inet_server_port() as port2;\n\\logon postgres - - - wrong-SeCrEt\nselect 'never' as n;\n"
        ),
    )
    .unwrap();
    let (out, err, code) = rsql(
        dir.path(),
        &["--ephemeral", "-a", "-f", "job.rsql"],
        &[("PGSSLMODE", "disable")],
    );
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        out.contains(&format!(
            "You are now connected to database \"postgres\" as user \"postgres\" on host \"127.0.0.1\" at port \"{port}\"."
        )),
        "{out}"
    );
    assert!(out.contains(&format!(" postgres | {port}\n")), "{out}");
    assert!(
        out.contains(&format!(
            "You are now connected to database \"second_db\" as user \"postgres\" on host \"127.0.0.1\" at port \"{port}\"."
        )),
        "{out}"
    );
    assert!(out.contains(&format!(" second_db | {port}\n")), "{out}");
    assert!(err.contains("rsql: \\logon: "), "{err}");
    assert!(err.contains("at job.rsql:7"), "{err}");
    assert!(!out.contains("never\n"), "{out}");
    assert!(
        !out.contains("SeCrEt") && !err.contains("SeCrEt"),
        "{out}{err}"
    );
}
