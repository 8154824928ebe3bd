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
