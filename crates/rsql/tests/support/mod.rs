//! Test helpers: a backend that records what it is sent and answers at once, an output writer
//! that records its bytes and its flushes, and a one-call way to run a script.
#![allow(dead_code)]

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use rsql::{
    Backend, Column, Completion, ConnectionLost, Interpreter, Options, Outcome, ResultSet, Source,
};
use tokio::io::{AsyncRead, AsyncWrite};

/// What a [`Recorder`] has seen.
#[derive(Debug, Default)]
pub struct Recorded {
    /// Every byte written.
    pub written: Vec<u8>,
    /// Bytes written as of each flush.
    pub flushes: Vec<usize>,
}

impl Recorded {
    /// The bytes up to the last flush, as text: what a reader of the file would see.
    pub fn flushed(&self) -> String {
        let n = self.flushes.last().copied().unwrap_or(0);
        String::from_utf8_lossy(&self.written[..n]).into_owned()
    }

    /// Everything written, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.written).into_owned()
    }
}

/// A writer that records what is written and when it is flushed.
#[derive(Clone, Default)]
pub struct Recorder(pub Arc<Mutex<Recorded>>);

impl Recorder {
    pub fn flushed(&self) -> String {
        self.0.lock().map(|r| r.flushed()).unwrap_or_default()
    }
    pub fn text(&self) -> String {
        self.0.lock().map(|r| r.text()).unwrap_or_default()
    }
    pub fn flush_count(&self) -> usize {
        self.0.lock().map(|r| r.flushes.len()).unwrap_or(0)
    }
}

impl AsyncWrite for Recorder {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Ok(mut r) = self.0.lock() {
            r.written.extend_from_slice(buf);
        }
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Ok(mut r) = self.0.lock() {
            let n = r.written.len();
            r.flushes.push(n);
        }
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Called with each statement before it is answered, with the output flushed so far.
pub type Hook = Box<dyn FnMut(&str, &str) + Send>;

/// A backend that records statements and answers each with one row holding the statement.
#[derive(Default)]
pub struct Echo {
    pub sent: Vec<String>,
    pub out: Option<Recorder>,
    pub hook: Option<Hook>,
}

#[async_trait]
impl Backend for Echo {
    async fn execute(&mut self, sql: &str) -> Result<Outcome, ConnectionLost> {
        if sql.contains('\0') {
            // What the wire client does with a NUL: the protocol cannot carry it.
            return Err(ConnectionLost("NUL byte in query".into()));
        }
        self.sent.push(sql.to_string());
        if let (Some(hook), Some(out)) = (self.hook.as_mut(), self.out.as_ref()) {
            hook(sql, &out.flushed());
        }
        Ok(Outcome {
            result: Ok(Completion {
                tag: "SELECT 1".into(),
                rows: Some(ResultSet {
                    columns: vec![Column {
                        name: "q".into(),
                        type_oid: 25,
                    }],
                    rows: vec![vec![Some(sql.trim_end_matches(';').to_string())]],
                }),
            }),
            notices: Vec::new(),
        })
    }

    async fn copy_in(
        &mut self,
        sql: &str,
        _data: &mut (dyn AsyncRead + Send + Unpin),
    ) -> Result<Outcome, ConnectionLost> {
        self.execute(sql).await
    }

    async fn copy_out(
        &mut self,
        sql: &str,
        _sink: &mut (dyn AsyncWrite + Send + Unpin),
    ) -> Result<Outcome, ConnectionLost> {
        self.execute(sql).await
    }
}

/// The result of running a script.
pub struct Run {
    pub code: i32,
    pub out: Recorder,
    pub err: Recorder,
    pub sent: Vec<String>,
}

/// Runs a source against an [`Echo`] backend.
pub async fn run_source(source: Source, options: Options, hook: Option<Hook>) -> Run {
    let out = Recorder::default();
    let err = Recorder::default();
    let mut backend = Echo {
        sent: Vec::new(),
        out: Some(out.clone()),
        hook,
    };
    let code = {
        let mut interp = Interpreter::new(
            &mut backend,
            options,
            Box::new(out.clone()),
            Box::new(err.clone()),
        );
        interp.run(source).await
    };
    Run {
        code,
        out,
        err,
        sent: backend.sent,
    }
}

/// Runs script text named `name` (for messages) against an [`Echo`] backend.
pub async fn run_text(name: &str, text: &str) -> Run {
    let source = match Source::from_bytes(name, text.as_bytes().to_vec(), ".".into()) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    run_source(source, Options::default(), None).await
}

/// Runs `f` on its own thread with a 2 MiB stack (a test thread's size) and returns its
/// result, failing if it has not finished within `secs` seconds. The bound is generous: it
/// catches hangs and runaway (quadratic) work, not slowness.
pub fn finishes_within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(move || {
            let _ = tx.send(f());
        });
    if let Err(e) = spawned {
        panic!("could not start a thread: {e}");
    }
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(v) => v,
        Err(e) => panic!("did not finish within {secs} s ({e})"),
    }
}

/// Runs script text on a 2 MiB-stack thread (see [`finishes_within`]).
pub fn run_script(secs: u64, name: &'static str, text: String) -> Run {
    finishes_within(secs, move || {
        let rt = match tokio::runtime::Builder::new_current_thread().build() {
            Ok(rt) => rt,
            Err(e) => panic!("runtime: {e}"),
        };
        rt.block_on(run_text(name, &text))
    })
}

/// Lines handed out one at a time, as a pipe would; `log` gets `read N` before line N is
/// handed out, so a test can see what ran before each line was read.
pub struct ScriptLines {
    pub lines: std::collections::VecDeque<String>,
    pub log: Arc<Mutex<Vec<String>>>,
    pub read: usize,
}

#[async_trait]
impl rsql::LineSource for ScriptLines {
    async fn next_line(
        &mut self,
        _prompt: rsql::PromptState,
    ) -> Result<rsql::Input, rsql::SourceError> {
        match self.lines.pop_front() {
            Some(l) => {
                self.read += 1;
                if let Ok(mut log) = self.log.lock() {
                    log.push(format!("read {}", self.read));
                }
                Ok(rsql::Input::Line(l))
            }
            None => Ok(rsql::Input::End),
        }
    }
}

/// Runs `text` as a streamed source named `<stdin>`, line by line, against an [`Echo`]
/// backend whose statements are noted in `log` as `sent SQL`.
pub async fn run_lines(text: &str, options: Options, log: Arc<Mutex<Vec<String>>>) -> Run {
    let out = Recorder::default();
    let err = Recorder::default();
    let sent_log = log.clone();
    let hook: Hook = Box::new(move |sql, _| {
        if let Ok(mut l) = sent_log.lock() {
            l.push(format!("sent {sql}"));
        }
    });
    let mut backend = Echo {
        sent: Vec::new(),
        out: Some(out.clone()),
        hook: Some(hook),
    };
    let lines = ScriptLines {
        lines: text.split_inclusive('\n').map(str::to_string).collect(),
        log,
        read: 0,
    };
    let code = {
        let mut interp = Interpreter::new(
            &mut backend,
            options,
            Box::new(out.clone()),
            Box::new(err.clone()),
        );
        interp
            .run_stream("<stdin>", ".".into(), Box::new(lines))
            .await
    };
    Run {
        code,
        out,
        err,
        sent: backend.sent,
    }
}
