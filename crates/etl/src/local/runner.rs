//! Running one job's script: the RSQL interpreter over a warehouse session (through the
//! Redshift translation layer), output to the job's log file, under the job's timeout. A job
//! that times out or is stopped (its future dropped: TerminateJob, the run interrupted) has
//! its session stopped at once ([`warehouse::Session::stop`]): on a server the running
//! statement is cancelled (PostgreSQL's cancel request) and the session closed; the embedded
//! engine cannot interrupt a statement, so its session is abandoned, the engine finishing the
//! statement in the background, and the next job opens a new session on the same data once
//! it has (it waits, and says so). What the script printed is in its log as it was produced
//! ([`LogWriter`]).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rsql::Backend;
use tokio::sync::{Mutex, watch};
use warehouse::{Session, Stopped, Target};

use crate::local::logs::LogWriter;

/// A job for the runner. Its Debug output names the variables without their values (a
/// variable can hold a password) and gives the script's size, not its text.
#[derive(Clone)]
pub struct ScriptJob {
    /// Where the script came from (for messages).
    pub name: String,
    pub text: Vec<u8>,
    pub variables: Vec<(String, String)>,
    pub log: PathBuf,
    pub timeout: Option<Duration>,
    /// Where the time its statements take is added (microseconds), for the cost estimate.
    pub sql_time: Option<Arc<std::sync::atomic::AtomicU64>>,
}

impl std::fmt::Debug for ScriptJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.variables.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("ScriptJob")
            .field("name", &self.name)
            .field("text_bytes", &self.text.len())
            .field("variables", &names)
            .field("log", &self.log)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// How a script ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptEnd {
    Exited(i32),
    TimedOut,
}

/// Runs scripts.
#[async_trait]
pub trait ScriptRunner: Send + Sync {
    async fn run(&self, job: ScriptJob) -> ScriptEnd;
    /// How many jobs may run at once.
    fn parallelism(&self) -> usize;
    /// Waits until what the jobs stopped so far (their futures dropped) left running is
    /// stopped: on a server, their statements' cancel requests delivered and their sessions
    /// closed.
    async fn wait_stopped(&self) {}
}

/// Runs scripts on a warehouse: the embedded engine (one session, reused, one job at a time)
/// or a server (a session per job).
pub struct WarehouseRunner {
    target: Target,
    store: Arc<dyn objects::ObjectStore>,
    translate: bool,
    shared: Mutex<Option<Session>>,
    parallel: usize,
    notice: std::sync::Mutex<Option<Notice>>,
    stops: Arc<Stops>,
}

/// Receives what the runner wants its user to know (waiting for the warehouse).
pub type Notice = Arc<dyn Fn(&str) + Send + Sync>;

/// The sessions of dropped jobs being stopped in the background, counted.
struct Stops {
    pending: watch::Sender<usize>,
}

/// Counts one background stop until dropped (done, or dropped with its runtime).
struct Pending(Arc<Stops>);

impl Drop for Pending {
    fn drop(&mut self) {
        self.0.pending.send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl Stops {
    fn new() -> Arc<Stops> {
        Arc::new(Stops {
            pending: watch::channel(0).0,
        })
    }

    /// Stops `session` in the background (from a destructor: no awaiting there).
    fn stop_in_background(self: &Arc<Self>, session: Session) {
        self.pending.send_modify(|n| *n = n.saturating_add(1));
        let pending = Pending(self.clone());
        let work = async move {
            let _pending = pending;
            let _ = session.stop().await;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(work);
            }
            // No runtime (the process is ending): a thread with one of its own.
            Err(_) => {
                let _ = std::thread::Builder::new()
                    .name("rsqlflow-stop-session".into())
                    .spawn(move || {
                        if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()
                        {
                            rt.block_on(work);
                        }
                    });
            }
        }
    }

    async fn wait(&self) {
        let mut rx = self.pending.subscribe();
        let _ = rx.wait_for(|n| *n == 0).await;
    }
}

/// A job's session while its script runs, as the interpreter uses it.
enum JobSession {
    Plain(Box<Session>),
    Translated(Box<redshift::Translating<Session>>),
}

impl JobSession {
    fn into_session(self) -> Session {
        match self {
            JobSession::Plain(s) => *s,
            JobSession::Translated(t) => t.into_inner(),
        }
    }
}

/// Holds a job's session while its script runs. Dropped before [`Running::finish`] (the
/// job's future dropped: TerminateJob, the run interrupted), it writes so in the job's log
/// and stops the session in the background.
struct Running {
    session: Option<JobSession>,
    stops: Arc<Stops>,
    log: PathBuf,
}

impl Running {
    fn backend(&mut self) -> Option<&mut dyn Backend> {
        match self.session.as_mut()? {
            JobSession::Plain(s) => Some(s.as_mut()),
            JobSession::Translated(t) => Some(t.as_mut()),
        }
    }

    /// The session back, the script over (or its future dropped by a timeout).
    fn finish(mut self) -> Option<Session> {
        self.session.take().map(JobSession::into_session)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(s) = self.session.take() {
            let session = s.into_session();
            let what = if session.cancel_handle().is_some() {
                "its running statement is being cancelled\n"
            } else {
                EMBEDDED_NOTE
            };
            LogWriter::append_text(&self.log, &format!("rsqlflow: the job was stopped: {what}"));
            self.stops.stop_in_background(session);
        }
    }
}

/// What a stopped job's log says on the embedded engine.
const EMBEDDED_NOTE: &str = "the embedded engine cannot interrupt a statement: it finishes the \
                             running one in the background, and the next job waits for it\n";

impl WarehouseRunner {
    pub fn new(target: Target, store: Arc<dyn objects::ObjectStore>, translate: bool) -> Self {
        let parallel = match target {
            Target::Embedded(_) => 1,
            Target::Url(_) | Target::Server(_) => 4,
        };
        WarehouseRunner {
            target,
            store,
            translate,
            shared: Mutex::new(None),
            parallel,
            notice: std::sync::Mutex::new(None),
            stops: Stops::new(),
        }
    }

    /// Where to say that a job waits for the warehouse.
    pub fn set_notice(&self, notice: Notice) {
        if let Ok(mut n) = self.notice.lock() {
            *n = Some(notice);
        }
    }

    async fn open(&self) -> Result<Session, String> {
        let notice = self.notice.lock().ok().and_then(|n| n.clone());
        Session::open(&self.target, |dir| {
            let text = format!(
                "waiting for the embedded warehouse in {} (another rsqlflow process is using \
                 it, or it is finishing a statement of a job that was stopped)",
                dir.display()
            );
            match notice {
                Some(n) => n(&text),
                None => tracing::info!("{text}"),
            }
        })
        .await
        .map_err(|e| e.to_string())
    }

    /// Closes the shared embedded session.
    pub async fn close(&self) {
        if let Some(s) = self.shared.lock().await.take() {
            s.close().await;
        }
    }
}

fn log_writers(path: &std::path::Path) -> std::io::Result<(LogWriter, LogWriter)> {
    let out = LogWriter::append(path)?;
    let err = out.try_clone()?;
    Ok((out, err))
}

#[async_trait]
impl ScriptRunner for WarehouseRunner {
    fn parallelism(&self) -> usize {
        self.parallel
    }

    async fn wait_stopped(&self) {
        self.stops.wait().await;
    }

    async fn run(&self, job: ScriptJob) -> ScriptEnd {
        let (out, err) = match log_writers(&job.log) {
            Ok(w) => w,
            Err(e) => {
                tracing::error!("cannot open log {}: {e}", job.log.display());
                return ScriptEnd::Exited(rsql::EXIT_CLIENT);
            }
        };
        let source = match rsql::Source::from_bytes(&job.name, job.text.clone(), PathBuf::from("."))
        {
            Ok(s) => s,
            Err(e) => {
                LogWriter::append_text(&job.log, &format!("rsql: {e}\n"));
                return ScriptEnd::Exited(rsql::EXIT_CLIENT);
            }
        };
        let embedded = matches!(self.target, Target::Embedded(_));
        // The embedded engine serves one session: reuse it, reset between jobs.
        let mut guard = if embedded {
            Some(self.shared.lock().await)
        } else {
            None
        };
        let session = match guard.as_mut().and_then(|g| g.take()) {
            Some(mut s) => {
                let _ = s.execute("DISCARD ALL").await;
                s
            }
            None => match self.open().await {
                Ok(s) => s,
                Err(e) => {
                    LogWriter::append_text(&job.log, &format!("rsql: {e}\n"));
                    return ScriptEnd::Exited(rsql::EXIT_CONNECTION);
                }
            },
        };
        let options = rsql::Options {
            print: rsql::PrintOptions::default(),
            variables: job.variables.clone(),
        };
        let mut running = Running {
            session: Some(if self.translate {
                JobSession::Translated(Box::new(redshift::Translating::new(
                    session,
                    self.store.clone(),
                    false,
                )))
            } else {
                JobSession::Plain(Box::new(session))
            }),
            stops: self.stops.clone(),
            log: job.log.clone(),
        };
        let work = async {
            let Some(backend) = running.backend() else {
                return rsql::EXIT_CLIENT;
            };
            let mut timed = crate::local::meter::Timed {
                inner: backend,
                spent: job.sql_time.clone().unwrap_or_default(),
            };
            let mut interp =
                rsql::Interpreter::new(&mut timed, options, Box::new(out), Box::new(err));
            interp.run(source).await
        };
        let finished = match job.timeout {
            Some(t) => tokio::time::timeout(t, work).await.ok(),
            None => Some(work.await),
        };
        let session = running.finish();
        match (finished, session) {
            (Some(code), Some(session)) => {
                match guard.as_mut() {
                    Some(g) => **g = Some(session),
                    None => session.close().await,
                }
                ScriptEnd::Exited(code)
            }
            (Some(code), None) => ScriptEnd::Exited(code),
            // Timed out: the interpreter is gone (dropped by the timeout); stop the session's
            // statement. The next job opens a new session.
            (None, session) => {
                let what = match session {
                    Some(s) => match s.stop().await {
                        Stopped::Cancelled => "the running statement was cancelled\n".to_string(),
                        Stopped::CancelFailed(why) => {
                            format!("the running statement could not be cancelled ({why})\n")
                        }
                        Stopped::Closed => "the session was closed\n".to_string(),
                        Stopped::Abandoned => EMBEDDED_NOTE.to_string(),
                    },
                    None => String::new(),
                };
                let secs = job.timeout.map(|t| t.as_secs()).unwrap_or_default();
                LogWriter::append_text(
                    &job.log,
                    &format!("rsqlflow: the job's timeout ({secs} s) has passed: {what}"),
                );
                ScriptEnd::TimedOut
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// Prints a line, then sleeps past any timeout the tests set.
    const SLEEPER: &str = "\\echo before the sleep\nSELECT pg_sleep(30);\n\\echo after the sleep\n";

    fn job(dir: &std::path::Path, name: &str, text: &str, timeout: Option<u64>) -> ScriptJob {
        ScriptJob {
            name: format!("{name}.rsql"),
            text: text.as_bytes().to_vec(),
            variables: Vec::new(),
            log: dir.join("logs").join(format!("{name}.log")),
            timeout: timeout.map(Duration::from_secs),
            sql_time: None,
        }
    }

    fn runner(target: Target, dir: &std::path::Path) -> Arc<WarehouseRunner> {
        let store: Arc<dyn objects::ObjectStore> = Arc::new(objects::LocalS3::new(dir.join("s3")));
        Arc::new(WarehouseRunner::new(target, store, true))
    }

    fn log(dir: &std::path::Path, name: &str) -> String {
        std::fs::read_to_string(dir.join("logs").join(format!("{name}.log"))).unwrap_or_default()
    }

    /// Waits (at most `limit`, a bound against hangs) until `f` holds.
    async fn until(limit: Duration, what: &str, mut f: impl FnMut() -> bool) {
        let t0 = Instant::now();
        while !f() {
            assert!(t0.elapsed() < limit, "{what}: not within {limit:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    #[test]
    fn job_debug_hides_variable_values() {
        let mut j = job(std::path::Path::new("/tmp"), "j", "SELECT 1;", None);
        j.variables = vec![("pw".into(), "Hunter2Secret".into())];
        let debug = format!("{j:?}");
        assert!(
            debug.contains("\"pw\"") && !debug.contains("Hunter2Secret"),
            "{debug}"
        );
    }

    /// `SELECT pg_sleep(30)` with a 2 s timeout on the embedded engine: the job ends timed
    /// out long before the statement would, what it printed is in its log, and the next job
    /// runs (once the engine has finished the abandoned statement). A job dropped mid-
    /// statement (TerminateJob) likewise.
    #[tokio::test]
    async fn embedded_jobs_stop_at_their_deadline_and_the_next_job_runs() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let r = runner(Target::Embedded(warehouse::Storage::Dir(d.join("wh"))), d);
        let notices = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let sink = notices.clone();
        r.set_notice(Arc::new(move |t: &str| {
            if let Ok(mut n) = sink.lock() {
                n.push(t.to_string());
            }
        }));
        let waits = || {
            notices
                .lock()
                .map(|n| {
                    n.iter()
                        .filter(|t| t.contains("finishing a statement"))
                        .count()
                })
                .unwrap_or_default()
        };
        let t0 = Instant::now();
        let end = r.run(job(d, "sleeper", SLEEPER, Some(2))).await;
        let took = t0.elapsed();
        assert_eq!(end, ScriptEnd::TimedOut);
        assert!(took < Duration::from_secs(15), "reported after {took:?}");
        let text = log(d, "sleeper");
        assert!(text.contains("before the sleep\n"), "{text}");
        assert!(!text.contains("after the sleep"), "{text}");
        assert!(text.contains("timeout (2 s) has passed"), "{text}");
        assert!(text.contains("cannot interrupt a statement"), "{text}");

        let end = r
            .run(job(d, "next", "SELECT 41 + 1 AS answer;\n", None))
            .await;
        assert_eq!(end, ScriptEnd::Exited(0));
        assert!(log(d, "next").contains("42"), "{}", log(d, "next"));
        // It waited for the engine to finish the abandoned statement.
        assert_eq!(waits(), 1);

        // Dropped mid-statement, as TerminateJob drops a job's task.
        let short = SLEEPER.replace("pg_sleep(30)", "pg_sleep(10)");
        let (r2, d2) = (r.clone(), d.to_path_buf());
        let task = tokio::spawn(async move { r2.run(job(&d2, "dropped", &short, None)).await });
        until(Duration::from_secs(60), "the script's first line", || {
            log(d, "dropped").contains("before the sleep")
        })
        .await;
        // Let the statement start (the script sends it right after its first line).
        tokio::time::sleep(Duration::from_secs(1)).await;
        task.abort();
        assert!(task.await.unwrap_err().is_cancelled());
        let text = log(d, "dropped");
        assert!(text.contains("the job was stopped"), "{text}");
        assert!(!text.contains("after the sleep"), "{text}");
        r.wait_stopped().await;

        let end = r
            .run(job(d, "after", "SELECT 6 * 7 AS answer;\n", None))
            .await;
        assert_eq!(end, ScriptEnd::Exited(0));
        assert!(log(d, "after").contains("42"), "{}", log(d, "after"));
        assert_eq!(waits(), 2);
        r.close().await;
    }

    /// A throwaway native PostgreSQL cluster, found and started as tests/support/pg.rs does
    /// (Debian's postgresql: pg_config --bindir or /usr/lib/postgresql/*/bin; run as the
    /// `postgres` user when the tests run as root).
    pub(crate) mod pg {
        use std::path::PathBuf;
        use std::process::Command;

        pub struct Cluster {
            dir: tempfile::TempDir,
            bindir: PathBuf,
            port: u16,
            as_postgres: bool,
        }

        fn bindir() -> PathBuf {
            if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
                let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
                if p.join("initdb").exists() {
                    return p;
                }
            }
            let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
                .expect("PostgreSQL server binaries not found (install postgresql)")
                .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
                .filter(|p| p.join("initdb").exists())
                .collect();
            found.sort();
            found.pop().expect("no initdb under /usr/lib/postgresql")
        }

        impl Cluster {
            pub fn start() -> Cluster {
                let as_postgres = Command::new("id")
                    .arg("-u")
                    .output()
                    .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
                    .unwrap_or(false);
                let dir = tempfile::Builder::new()
                    .prefix("rsqlflow-pg-")
                    .tempdir()
                    .unwrap();
                if as_postgres {
                    let ok = Command::new("chown")
                        .args(["-R", "postgres:postgres"])
                        .arg(dir.path())
                        .status()
                        .is_ok_and(|s| s.success());
                    assert!(ok, "chown to postgres failed");
                }
                let port = std::net::TcpListener::bind("127.0.0.1:0")
                    .and_then(|l| l.local_addr())
                    .map(|a| a.port())
                    .unwrap();
                let c = Cluster {
                    dir,
                    bindir: bindir(),
                    port,
                    as_postgres,
                };
                let data = c.dir.path().join("data").display().to_string();
                c.tool(
                    "initdb",
                    &["-D", &data, "--no-sync", "-U", "postgres", "-A", "trust"],
                );
                let opts = format!(
                    "-k {} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off",
                    c.dir.path().display()
                );
                let log = c.dir.path().join("server.log").display().to_string();
                c.tool(
                    "pg_ctl",
                    &["-D", &data, "-o", &opts, "-l", &log, "-w", "start"],
                );
                c
            }

            fn tool(&self, tool: &str, args: &[&str]) {
                let exe = self.bindir.join(tool);
                let mut cmd = if self.as_postgres {
                    let mut c = Command::new("runuser");
                    c.args(["-u", "postgres", "--"]).arg(&exe);
                    c
                } else {
                    Command::new(&exe)
                };
                let out = cmd.args(args).output().expect("run a PostgreSQL tool");
                assert!(
                    out.status.success(),
                    "{tool}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }

            pub fn url(&self) -> String {
                format!(
                    "postgres://postgres@127.0.0.1:{}/postgres?sslmode=disable",
                    self.port
                )
            }
        }

        impl Drop for Cluster {
            fn drop(&mut self) {
                let data = self.dir.path().join("data").display().to_string();
                let exe = self.bindir.join("pg_ctl");
                let mut cmd = if self.as_postgres {
                    let mut c = Command::new("runuser");
                    c.args(["-u", "postgres", "--"]).arg(&exe);
                    c
                } else {
                    Command::new(&exe)
                };
                let _ = cmd.args(["-D", &data, "-m", "immediate", "stop"]).output();
            }
        }
    }

    /// How many statements matching `pattern` run on the server (other than this one).
    pub(crate) async fn running(url: &str, pattern: &str) -> usize {
        let params = warehouse::ConnectParams::parse(url).unwrap();
        let mut s = Session::connect(&params).await.unwrap();
        let sql = format!(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%{pattern}%' \
             AND pid <> pg_backend_pid() AND state = 'active'"
        );
        let out = s.execute(&sql).await.unwrap();
        s.close().await;
        let rows = out.result.unwrap().rows.unwrap();
        rows.rows[0][0].as_deref().unwrap_or("0").parse().unwrap()
    }

    /// Waits until no statement matching `pattern` runs (at most 15 s, against hangs).
    pub(crate) async fn gone(url: &str, pattern: &str) {
        let t0 = Instant::now();
        while running(url, pattern).await > 0 {
            assert!(
                t0.elapsed() < Duration::from_secs(15),
                "{pattern} still runs on the server"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// On a server, `SELECT pg_sleep(30)` with a 2 s timeout ends timed out and its statement
    /// is cancelled (gone from pg_stat_activity); a job dropped mid-statement likewise.
    #[tokio::test]
    #[ignore = "needs a native PostgreSQL server (Debian's postgresql); .ci/run runs it"]
    async fn on_a_server_stopped_jobs_have_their_statements_cancelled() {
        let pg = pg::Cluster::start();
        let url = pg.url();
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let r = runner(Target::Url(url.clone()), d);
        let t0 = Instant::now();
        let end = r.run(job(d, "sleeper", SLEEPER, Some(2))).await;
        assert_eq!(end, ScriptEnd::TimedOut);
        assert!(t0.elapsed() < Duration::from_secs(15), "{:?}", t0.elapsed());
        let text = log(d, "sleeper");
        assert!(text.contains("before the sleep\n"), "{text}");
        assert!(
            text.contains("the running statement was cancelled"),
            "{text}"
        );
        gone(&url, "pg_sleep(30)").await;

        let (r2, d2) = (r.clone(), d.to_path_buf());
        let task = tokio::spawn(async move { r2.run(job(&d2, "dropped", SLEEPER, None)).await });
        let t1 = Instant::now();
        while running(&url, "pg_sleep(30)").await == 0 {
            assert!(t1.elapsed() < Duration::from_secs(30), "the job never ran");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        task.abort();
        let _ = task.await;
        r.wait_stopped().await;
        gone(&url, "pg_sleep(30)").await;
        assert!(
            log(d, "dropped").contains("being cancelled"),
            "{}",
            log(d, "dropped")
        );
    }
}
