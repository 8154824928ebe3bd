//! `rsqlflow job` through the real binary: the script from (local) S3, variables as separate
//! `-v` arguments to rsql, the password only in rsql's environment, rsql's exit code passed
//! through, clear failures for missing or empty scripts and unreachable databases, and the
//! native engine running a script on a real PostgreSQL server (`#[ignore]`d: it needs one
//! installed, and `.ci/run` runs it with `-- --include-ignored`).

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

/// A fake `rsql` that records what it was given and exits 7.
const FAKE_RSQL: &str = r#"#!/bin/sh
out="$FAKE_RSQL_OUT"
: > "$out.args"
for a in "$@"; do printf '%s\n' "$a" >> "$out.args"; last="$a"; done
printf '%s' "${RSPASSWORD-unset}" > "$out.pw"
cp "$last" "$out.script"
ps -o args= -p $$ > "$out.ps" 2>/dev/null || true
echo "rsql says hello on stdout"
echo "rsql says hello on stderr" >&2
exit 7
"#;

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let scripts = dir.path().join("s3/scripts/tpch");
        std::fs::create_dir_all(&scripts).unwrap();
        std::fs::write(
            scripts.join("load.rsql"),
            "\\echo loading :run_date\nSELECT 1;\n",
        )
        .unwrap();
        std::fs::write(scripts.join("empty.rsql"), "\n  \n").unwrap();
        std::fs::create_dir_all(dir.path().join("scratch")).unwrap();
        let fake = dir.path().join("rsql");
        std::fs::write(&fake, FAKE_RSQL).unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        Fixture { dir }
    }

    fn path(&self, p: &str) -> std::path::PathBuf {
        self.dir.path().join(p)
    }

    fn job(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(support::bin());
        cmd.arg("job")
            .args(["--s3-root", self.path("s3").to_str().unwrap()])
            .args(["--scratch", self.path("scratch").to_str().unwrap()])
            .args(["--rsql", self.path("rsql").to_str().unwrap()])
            .args(args)
            .current_dir(self.dir.path())
            .env("FAKE_RSQL_OUT", self.path("out"));
        for k in [
            "RSQLFLOW_DATABASE",
            "RSQLFLOW_WORKGROUP",
            "RSQLFLOW_CLUSTER",
            "RSQLFLOW_VARIABLES",
            "RSQLFLOW_SCRIPT",
            "RSQLFLOW_ENGINE",
            "RSPASSWORD",
            "PGPASSWORD",
        ] {
            cmd.env_remove(k);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("run rsqlflow job")
    }

    fn read(&self, p: &str) -> String {
        std::fs::read_to_string(self.path(p)).unwrap_or_default()
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn rsql_gets_variables_as_arguments_and_the_password_only_in_its_environment() {
    let f = Fixture::new();
    let out = f.job(
        &[
            "--database-url",
            "postgres://etl:s3cret@db.example.com:5439/dev",
            "-v",
            "quote=it's; DROP TABLE x; \\! rm -rf /",
        ],
        &[
            ("RSQLFLOW_SCRIPT", "s3://scripts/tpch/load.rsql"),
            (
                "RSQLFLOW_VARIABLES",
                r#"{"run_date": "2026-11-24", "quote": "overridden by -v"}"#,
            ),
        ],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(7), "rsql's exit code: {stderr}");
    assert!(stdout.contains("rsql says hello on stdout"), "{stdout}");
    assert!(stderr.contains("rsql says hello on stderr"), "{stderr}");
    let args: Vec<String> = f.read("out.args").lines().map(String::from).collect();
    let script_path = args.last().unwrap().clone();
    assert_eq!(
        args[..args.len() - 1],
        [
            "-h",
            "db.example.com",
            "-p",
            "5439",
            "-U",
            "etl",
            "-d",
            "dev",
            "-v",
            "run_date=2026-11-24",
            "-v",
            "quote=it's; DROP TABLE x; \\! rm -rf /",
            "-f",
        ]
    );
    assert!(script_path.starts_with(f.path("scratch").to_str().unwrap()));
    assert_eq!(f.read("out.pw"), "s3cret");
    assert_eq!(
        f.read("out.script"),
        "\\echo loading :run_date\nSELECT 1;\n",
        "the script reaches rsql unchanged (no text substitution)"
    );
    for (what, s) in [
        ("arguments", f.read("out.args")),
        ("process list", f.read("out.ps")),
        ("stdout", stdout),
        ("stderr", stderr),
    ] {
        assert!(
            !s.contains("s3cret"),
            "the password shows in the {what}: {s}"
        );
    }
    assert_eq!(
        std::fs::read_dir(f.path("scratch")).unwrap().count(),
        0,
        "the downloaded script is removed"
    );
}

#[test]
fn missing_empty_and_malformed_inputs_fail_clearly() {
    let f = Fixture::new();
    let url = ["--database-url", "postgres://etl@db.example.com/dev"];
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["--script", "s3://scripts/tpch/missing.rsql"],
            1,
            "the script s3://scripts/tpch/missing.rsql does not exist",
        ),
        (
            &["--script", "s3://scripts/tpch/empty.rsql"],
            1,
            "the script s3://scripts/tpch/empty.rsql is empty",
        ),
        (
            &["--script", "scripts/tpch/load.rsql"],
            1,
            "'scripts/tpch/load.rsql' is not an s3://bucket/key URI",
        ),
        (
            &["--script", "s3://scripts/tpch/load.rsql", "-v", "1bad=x"],
            1,
            "variable 1bad:",
        ),
        (
            &["--script", "s3://scripts/tpch/load.rsql", "-v", "novalue"],
            1,
            "-v novalue: expected NAME=VALUE",
        ),
    ];
    for (args, code, message) in cases {
        let mut all = url.to_vec();
        all.extend_from_slice(args);
        let out = f.job(&all, &[]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(*code), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(!f.path("out.args").exists(), "{args:?}: rsql must not run");
    }
    let out = f.job(&["--script", "s3://scripts/tpch/load.rsql"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no warehouse"),
        "{}",
        text(&out.stderr)
    );
    let out = f.job(
        &[
            "--script",
            "s3://scripts/tpch/load.rsql",
            "--workgroup",
            "wg",
            "--cluster",
            "c",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("give one of"),
        "{}",
        text(&out.stderr)
    );
    // The job definition sets the unused warehouse setting to "": that is not a second choice.
    let out = f.job(
        &[
            "--script",
            "s3://scripts/tpch/load.rsql",
            "--database-url",
            "postgres://etl@db.example.com/dev",
        ],
        &[("RSQLFLOW_CLUSTER", "")],
    );
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
}

#[test]
fn the_native_engine_cannot_reach_a_closed_port_and_says_so() {
    let f = Fixture::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://etl:pw@127.0.0.1:{port}/dev?sslmode=disable");
    let out = f.job(
        &[
            "--engine",
            "native",
            "--script",
            "s3://scripts/tpch/load.rsql",
            "--database-url",
            &url,
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(&format!("etl@127.0.0.1:{port}/dev")),
        "{}",
        text(&out.stderr)
    );
    assert!(!text(&out.stderr).contains("pw@"));
}

#[test]
#[ignore = "needs a native PostgreSQL server's initdb and pg_ctl (pg_config --bindir or /usr/lib/postgresql/*/bin); .ci/run installs Debian's postgresql"]
fn the_native_engine_runs_the_script_on_postgresql() {
    let pg = support::pg::Cluster::start();
    let f = Fixture::new();
    std::fs::write(
        f.path("s3/scripts/tpch/count.rsql"),
        "CREATE TABLE t (d date);\nINSERT INTO t VALUES (:'run_date');\nSELECT count(*) AS n, max(d) AS d FROM t;\n\\if :ERROR\n\\exit 9\n\\endif\nSELECT * FROM missing_table;\n\\exit 5\n",
    )
    .unwrap();
    let out = f.job(
        &[
            "--engine",
            "native",
            "--script",
            "s3://scripts/tpch/count.rsql",
            "--database-url",
            &pg.url("postgres"),
            "-v",
            "run_date=2026-11-24",
        ],
        &[],
    );
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("2026-11-24"),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stderr).contains("missing_table"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    assert!(!Path::new(&f.path("out.args")).exists());
}
