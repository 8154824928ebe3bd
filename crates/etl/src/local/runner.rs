//! Running one job's script: the RSQL interpreter over a warehouse session (through the
//! Redshift translation layer), output to the job's log file, under the job's timeout. A job
//! that times out or is stopped has its running statement cancelled on a server (PostgreSQL's
//! cancel request); the embedded engine cannot interrupt a statement, so its session is
//! abandoned and the engine finishes the statement in the background while the job is
//! already reported as stopped.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use warehouse::CancelHandle;

use async_trait::async_trait;
use tokio::sync::Mutex;
use warehouse::{Session, Target};

/// A job for the runner.
#[derive(Debug, Clone)]
pub struct ScriptJob {
    /// Where the script came from (for messages).
    pub name: String,
    pub text: Vec<u8>,
    pub variables: Vec<(String, String)>,
    pub log: PathBuf,
    pub timeout: Option<Duration>,
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
}

/// Runs scripts on a warehouse: the embedded engine (one session, reused, one job at a time)
/// or a server (a session per job).
pub struct WarehouseRunner {
    target: Target,
    store: Arc<dyn redshift::ObjectStore>,
    translate: bool,
    shared: Mutex<Option<Session>>,
    parallel: usize,
    notice: std::sync::Mutex<Option<Notice>>,
}

/// Receives what the runner wants its user to know (waiting for the warehouse).
pub type Notice = Arc<dyn Fn(&str) + Send + Sync>;

/// Cancels the session's running statement when dropped before being disarmed: the job's
/// future was dropped (TerminateJob, a timeout, the process being interrupted).
struct CancelOnDrop(Option<CancelHandle>);

impl CancelOnDrop {
    fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(h) = self.0.take()
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            rt.spawn(async move {
                let _ = h.cancel().await;
            });
        }
    }
}

impl WarehouseRunner {
    pub fn new(target: Target, store: Arc<dyn redshift::ObjectStore>, translate: bool) -> Self {
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

async fn log_writers(path: &PathBuf) -> std::io::Result<(tokio::fs::File, tokio::fs::File)> {
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir).await?;
    }
    let out = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .await?;
    let err = out.try_clone().await?;
    Ok((out, err))
}

/// Appends a line to a job's log (best effort).
async fn append_log(path: &PathBuf, text: &str) {
    use tokio::io::AsyncWriteExt;
    if let Ok(mut f) = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .await
    {
        let _ = f.write_all(text.as_bytes()).await;
        let _ = f.flush().await;
    }
}

#[async_trait]
impl ScriptRunner for WarehouseRunner {
    fn parallelism(&self) -> usize {
        self.parallel
    }

    async fn run(&self, job: ScriptJob) -> ScriptEnd {
        let (out, mut err) = match log_writers(&job.log).await {
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
                use tokio::io::AsyncWriteExt;
                let _ = err.write_all(format!("rsql: {e}\n").as_bytes()).await;
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
                use rsql::Backend;
                let _ = s.execute("DISCARD ALL").await;
                s
            }
            None => match self.open().await {
                Ok(s) => s,
                Err(e) => {
                    use tokio::io::AsyncWriteExt;
                    let _ = err.write_all(format!("rsql: {e}\n").as_bytes()).await;
                    return ScriptEnd::Exited(rsql::EXIT_CONNECTION);
                }
            },
        };
        let options = rsql::Options {
            print: rsql::PrintOptions::default(),
            variables: job.variables.clone(),
        };
        let cancel = session.cancel_handle();
        let mut guard_cancel = CancelOnDrop(cancel.clone());
        let store = self.store.clone();
        let translate = self.translate;
        let work = async move {
            if translate {
                let mut t = redshift::Translating::new(session, store, false);
                let code = {
                    let mut interp =
                        rsql::Interpreter::new(&mut t, options, Box::new(out), Box::new(err));
                    interp.run(source).await
                };
                (code, t.into_inner())
            } else {
                let mut session = session;
                let code = {
                    let mut interp =
                        rsql::Interpreter::new(&mut session, options, Box::new(out), Box::new(err));
                    interp.run(source).await
                };
                (code, session)
            }
        };
        let finished = match job.timeout {
            Some(t) => tokio::time::timeout(t, work).await.ok(),
            None => Some(work.await),
        };
        guard_cancel.disarm();
        match finished {
            Some((code, session)) => {
                match guard.as_mut() {
                    Some(g) => **g = Some(session),
                    None => session.close().await,
                }
                ScriptEnd::Exited(code)
            }
            // The session went down with the script; the next job opens a new one.
            None => {
                let mut note = format!(
                    "rsqlflow: the job's timeout ({} s) has passed: ",
                    job.timeout.map(|t| t.as_secs()).unwrap_or_default()
                );
                match cancel {
                    Some(h) => {
                        let sent = tokio::time::timeout(Duration::from_secs(5), h.cancel()).await;
                        note.push_str(match sent {
                            Ok(Ok(())) => "the running statement was cancelled\n",
                            _ => "the running statement could not be cancelled\n",
                        });
                    }
                    None => note.push_str(
                        "the embedded engine cannot cancel a statement; it finishes it in the \
                         background\n",
                    ),
                }
                append_log(&job.log, &note).await;
                ScriptEnd::TimedOut
            }
        }
    }
}
