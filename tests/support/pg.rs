//! A throwaway native PostgreSQL cluster (Debian's `postgresql` package): initdb into a
//! temporary directory, start on a free loopback port with a private socket directory, stop and
//! remove on drop. Runs the server as the `postgres` user when the tests run as root, since
//! initdb refuses root.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A running cluster.
pub struct Cluster {
    dir: tempfile::TempDir,
    bindir: PathBuf,
    port: u16,
    as_postgres: bool,
}

fn find_bindir() -> Option<PathBuf> {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if p.join("initdb").exists() {
            return Some(p);
        }
    }
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    candidates.sort();
    candidates.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// How to set a cluster up.
#[derive(Debug, Clone, Default)]
pub struct Setup {
    /// Require this password (SCRAM-SHA-256) for TCP logins of `postgres`.
    pub password: Option<String>,
    /// Serve TLS with a self-signed certificate (made with the `openssl` command).
    pub tls: bool,
}

impl Cluster {
    /// Starts a cluster; panics with a clear message when PostgreSQL is not installed.
    pub fn start() -> Cluster {
        Cluster::start_with(Setup::default())
    }

    /// Starts a cluster with password authentication and/or TLS.
    pub fn start_with(setup: Setup) -> Cluster {
        let bindir = find_bindir().unwrap_or_else(|| {
            panic!(
                "this test needs a PostgreSQL server: no initdb in `pg_config --bindir` or \
                 /usr/lib/postgresql/*/bin (install Debian's postgresql package; .ci/run does)"
            )
        });
        let dir = tempfile::Builder::new()
            .prefix("rsqlflow-pg-")
            .tempdir()
            .expect("tempdir");
        let as_postgres = is_root();
        if as_postgres {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            assert!(
                ok,
                "chown of the cluster directory to postgres failed (as root the server runs as \
                 the postgres user, which Debian's postgresql package creates)"
            );
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let c = Cluster {
            dir,
            bindir,
            port,
            as_postgres,
        };
        let data = c.data_dir();
        let pwfile = c.dir.path().join("pwfile");
        let mut init = vec![
            "-D".to_string(),
            data.display().to_string(),
            "--no-sync".into(),
            "-U".into(),
            "postgres".into(),
            "-E".into(),
            "UTF8".into(),
            "--locale=C".into(),
        ];
        match &setup.password {
            Some(pw) => {
                std::fs::write(&pwfile, pw).expect("write pwfile");
                c.give_to_postgres(&pwfile);
                init.extend([
                    "--auth-local=trust".to_string(),
                    "--auth-host=scram-sha-256".into(),
                    format!("--pwfile={}", pwfile.display()),
                ]);
            }
            None => init.extend(["-A".to_string(), "trust".into()]),
        }
        let init: Vec<&str> = init.iter().map(String::as_str).collect();
        c.pg_cmd("initdb", &init);
        let mut opts = format!(
            "-k {} -p {} -c listen_addresses=127.0.0.1 -c fsync=off",
            c.dir.path().display(),
            port
        );
        if setup.tls {
            let crt = data.join("server.crt");
            let key = data.join("server.key");
            let ok = Command::new("openssl")
                .args([
                    "req",
                    "-new",
                    "-x509",
                    "-days",
                    "2",
                    "-nodes",
                    "-subj",
                    "/CN=localhost",
                ])
                .arg("-out")
                .arg(&crt)
                .arg("-keyout")
                .arg(&key)
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false);
            assert!(
                ok,
                "openssl could not make a test certificate (this test needs the openssl command)"
            );
            c.give_to_postgres(&crt);
            c.give_to_postgres(&key);
            let _ = Command::new("chmod").arg("600").arg(&key).status();
            opts.push_str(" -c ssl=on");
        }
        let log = c.dir.path().join("server.log");
        c.pg_cmd(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap_or_default(),
                "-o",
                &opts,
                "-l",
                log.to_str().unwrap_or_default(),
                "-w",
                "start",
            ],
        );
        c
    }

    fn give_to_postgres(&self, path: &Path) {
        if self.as_postgres {
            let _ = Command::new("chown")
                .arg("postgres:postgres")
                .arg(path)
                .status();
        }
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn pg_cmd(&self, tool: &str, args: &[&str]) {
        let exe = self.bindir.join(tool);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let out = cmd.args(args).output().expect("run PostgreSQL tool");
        assert!(
            out.status.success(),
            "{tool} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// URL of a database in the cluster.
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{db}?sslmode=disable",
            self.port
        )
    }

    /// Port.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data_dir();
        let exe = self.bindir.join("pg_ctl");
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let _ = cmd
            .args([
                "-D",
                data.to_str().unwrap_or_default(),
                "-m",
                "immediate",
                "stop",
            ])
            .output();
    }
}
