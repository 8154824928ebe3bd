//! The RSQL interpreter: walks lexed input source by source, keeps the query buffer, the
//! `\if` stack and pending `\goto`, sends statements to the [`Backend`], updates the status
//! variables and applies the error policy (ON_ERROR_STOP, ERRORLEVEL/MAXERROR).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use tokio::io::{AsyncWrite, AsyncWriteExt, BufWriter};

use crate::backend::{Backend, Completion, ConnectionLost, Outcome, ResultSet, SqlError};
use crate::format::{PrintOptions, render};
use crate::input::{Ask, Input, LineSource, Pager, PromptState};
use crate::lexer::{Piece, PieceKind, Quoting, lex};
use crate::report::{render_title, today};
use crate::sink::FileSink;
use crate::source::Source;
use crate::stream::{Stream, Window};
use crate::vars::{StatementStatus, Variables};

/// Exit code for a client-side error (missing file, bad meta-command, broken input).
pub const EXIT_CLIENT: i32 = 1;
/// Exit code when the connection is lost.
pub const EXIT_CONNECTION: i32 = 2;
/// Exit code when ON_ERROR_STOP stops the script.
pub const EXIT_ON_ERROR_STOP: i32 = 3;

/// What to do after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    /// Stop: an error that ends a script (at a terminal, the prompt comes back instead).
    Exit(i32),
    /// `\q`, `\quit`, `\exit [N]`: leave, also at a terminal.
    Quit(i32),
}

/// Interpreter settings taken from the command line.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Print options from `-t`, `-A`, `-F`.
    pub print: PrintOptions,
    /// Variables from `-v NAME=VALUE`, in order.
    pub variables: Vec<(String, String)>,
}

/// State of one `\if` block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IfState {
    /// The current branch runs.
    Active,
    /// No branch has run yet; a later `\elseif`/`\else` may run.
    Pending,
    /// A branch already ran; the rest are skipped.
    Done,
    /// The enclosing block is inactive; nothing here runs.
    Ignored,
    /// Opened while skipping for a `\goto`.
    Skipped,
}

#[derive(Debug, Clone)]
pub(crate) struct IfFrame {
    pub(crate) state: IfState,
    pub(crate) else_seen: bool,
    pub(crate) line: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct Skip {
    pub(crate) label: String,
    pub(crate) line: usize,
}

/// One input source being read (the main input, or an `\i`/`\run` file).
pub(crate) struct Frame {
    pub(crate) name: String,
    /// The file and the number of lines skipped (`\run skip=N`), when the source is a file:
    /// the same pair open twice is an include cycle.
    pub(crate) key: Option<(PathBuf, usize)>,
    /// The line (before `line_offset`) of the `\i`/`\run` that opened the source above.
    pub(crate) call_line: usize,
    pub(crate) dir: PathBuf,
    pub(crate) text: Arc<str>,
    pub(crate) pieces: Vec<Piece>,
    pub(crate) idx: usize,
    pub(crate) line_offset: usize,
    pub(crate) ifs: Vec<IfFrame>,
    pub(crate) skip: Option<Skip>,
    /// Bytes of `text` already echoed (`ECHO` set to `all`, as `-a` sets it).
    pub(crate) echoed: usize,
    /// For a streamed source (standard input, a terminal): its reader and the window of
    /// lines read; `text` and `pieces` then hold only that window.
    pub(crate) stream: Option<Stream>,
}

/// Where the result of a statement goes.
pub(crate) enum SendMode {
    Print,
    Gset(String),
    File(PathBuf),
}

/// The interpreter.
pub struct Interpreter<'b> {
    pub(crate) backend: &'b mut dyn Backend,
    out: BufWriter<Box<dyn AsyncWrite + Send + Unpin>>,
    err: Box<dyn AsyncWrite + Send + Unpin>,
    pub(crate) vars: Variables,
    pub(crate) base_print: PrintOptions,
    pub(crate) configured: PrintOptions,
    pub(crate) rformat: bool,
    pub(crate) heading: Option<String>,
    pub(crate) rtitle: Option<String>,
    pub(crate) timing: bool,
    pub(crate) errorlevel_on: bool,
    pub(crate) severities: HashMap<String, u32>,
    pub(crate) maxerror: u32,
    pub(crate) query_buf: String,
    pub(crate) last_query: String,
    pub(crate) query_out: Option<FileSink>,
    pub(crate) export: Option<FileSink>,
    pub(crate) stack: Vec<Frame>,
    /// The line (before the source's `line_offset`) of the piece being run, for messages.
    pub(crate) piece_line: usize,
    /// True when `out` holds bytes written since its last flush.
    out_dirty: bool,
    /// At a terminal: errors bring the prompt back instead of ending the run.
    pub(crate) interactive: bool,
    /// psql's `-L FILE`: statements and their output are also written here.
    log: Option<tokio::fs::File>,
    /// psql's `-s`: each statement is shown and confirmed at the terminal before it is sent.
    single_step: Option<Box<dyn Ask>>,
    /// At a terminal: the pager for long results.
    pager: Option<Box<dyn Pager>>,
    /// `\pset pager`: on unless turned off.
    pub(crate) pager_on: bool,
}

/// How many sources may be open at once: the main script and the files it includes with
/// `\i`, `\ir` or `\run`, and they include, and so on. RSQL's documentation of `\i` and
/// `\run` states no limit
/// (https://docs.aws.amazon.com/redshift/latest/mgmt/rsql-query-tool-commands.html); 64 is far
/// more than real scripts nest and stops runaway recursion early.
pub const MAX_INCLUDE_DEPTH: usize = 64;

/// Severity given to errors without an `\rset errorlevel` entry.
const DEFAULT_SEVERITY: u32 = 8;

impl<'b> Interpreter<'b> {
    /// Creates an interpreter over a backend, writing results to `out` and diagnostics to `err`.
    pub fn new(
        backend: &'b mut dyn Backend,
        options: Options,
        out: Box<dyn AsyncWrite + Send + Unpin>,
        err: Box<dyn AsyncWrite + Send + Unpin>,
    ) -> Self {
        let mut vars = Variables::new();
        for (k, v) in &options.variables {
            vars.set(k, v.clone());
        }
        Interpreter {
            backend,
            out: BufWriter::with_capacity(64 * 1024, out),
            err,
            vars,
            configured: options.print.clone(),
            base_print: options.print,
            rformat: false,
            heading: None,
            rtitle: None,
            timing: false,
            errorlevel_on: true,
            severities: HashMap::new(),
            maxerror: 0,
            query_buf: String::new(),
            last_query: String::new(),
            query_out: None,
            export: None,
            stack: Vec::new(),
            piece_line: 0,
            out_dirty: false,
            interactive: false,
            log: None,
            single_step: None,
            pager: None,
            pager_on: true,
        }
    }

    /// Sends query output to `path` from the start, as `\\o FILE` would (psql's `-o FILE`).
    pub async fn output_to(&mut self, path: &Path) -> std::io::Result<()> {
        self.query_out = Some(FileSink::create(path).await?);
        Ok(())
    }

    /// psql's `-L FILE`: "Write all query output into file filename, in addition to the normal
    /// output destination" (<https://www.postgresql.org/docs/current/app-psql.html>). As psql
    /// does, the file is appended to and each statement is written before its output, between
    /// psql's `********* QUERY **********` and `**************************` lines.
    pub async fn log_to(&mut self, path: &Path) -> std::io::Result<()> {
        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .await?;
        self.log = Some(file);
        Ok(())
    }

    /// psql's `-s`, single-step mode: "the user is prompted before each command is sent to the
    /// server, with the option to cancel execution as well"
    /// (<https://www.postgresql.org/docs/current/app-psql.html>); `ask` reads the answer.
    pub fn set_single_step(&mut self, ask: Option<Box<dyn Ask>>) {
        self.single_step = ask;
    }

    /// Sets the pager for query results printed to the terminal (`\pset pager off` turns it
    /// off); never set in batch mode.
    pub fn set_pager(&mut self, pager: Option<Box<dyn Pager>>) {
        self.pager = pager;
    }

    /// At a terminal (psql's interactive mode): an error that would end a script (a bad
    /// meta-command, `ON_ERROR_STOP`, `\rset maxerror`) only abandons what was being run and
    /// the prompt comes back; `\q`, `\exit`, end of input and a lost connection still end the
    /// run. psql's documentation of ON_ERROR_STOP: "In interactive mode, psql will return to
    /// the command prompt; otherwise, psql will exit"
    /// (<https://www.postgresql.org/docs/current/app-psql.html#APP-PSQL-VARIABLES>).
    pub fn set_interactive(&mut self, on: bool) {
        self.interactive = on;
    }

    /// Runs a streamed source (standard input, a pipe, a terminal) to its end (or to `\exit`):
    /// each statement runs as soon as it is complete, and only the lines not yet run are
    /// held. `dir` is what `\ir` resolves against.
    pub async fn run_stream(
        &mut self,
        name: &str,
        dir: PathBuf,
        input: Box<dyn LineSource>,
    ) -> i32 {
        self.stack.push(Frame {
            name: name.to_string(),
            key: None,
            call_line: 0,
            dir,
            text: Arc::from(""),
            pieces: Vec::new(),
            idx: 0,
            line_offset: 0,
            ifs: Vec::new(),
            skip: None,
            echoed: 0,
            stream: Some(Stream::new(input)),
        });
        let code = self.run_loop().await;
        self.finish().await;
        code
    }

    /// What the prompt shows: inside a statement (psql's PROMPT2) or not, in an inactive
    /// branch or not.
    pub(crate) fn prompt_state(&self) -> PromptState {
        let tail = self
            .stack
            .last()
            .and_then(|f| f.stream.as_ref())
            .and_then(|s| s.continuation);
        let buffered = !self.query_buf.trim().is_empty();
        PromptState {
            continuation: tail.or(buffered.then_some('-')),
            inactive: !self.active(),
        }
    }

    /// Reads lines of the streamed source on top until a piece is complete, or to the end of
    /// input; `Some(code)` when the input cannot be read (bad UTF-8, a NUL byte, I/O).
    async fn refill(&mut self) -> Option<i32> {
        loop {
            let prompt = self.prompt_state();
            let mut input = self.stack.last_mut()?.stream.as_mut()?.input.take()?;
            let got = input.next_line(prompt).await;
            let frame = self.stack.last_mut()?;
            let Frame {
                text,
                pieces,
                idx,
                echoed,
                stream,
                ..
            } = frame;
            let stream = stream.as_mut()?;
            let window = Window {
                text,
                pieces,
                idx,
                echoed,
            };
            match got {
                Err(e) => {
                    self.client_error(&e.to_string()).await;
                    return Some(EXIT_CLIENT);
                }
                Ok(Input::End) => {
                    stream.relex(window, true);
                    return None;
                }
                Ok(Input::Interrupted) => {
                    stream.input = Some(input);
                    stream.clear(window);
                    self.query_buf.clear();
                }
                Ok(Input::Line(line)) => {
                    stream.input = Some(input);
                    let len = window.text.len();
                    if stream.push(&line, len) && stream.relex(window, false) {
                        return None;
                    }
                }
            }
        }
    }

    /// At a terminal, after an error that would end a script: the files being included are
    /// closed and the query buffer emptied; the terminal's input goes on.
    fn recover(&mut self) {
        self.stack.truncate(1);
        self.query_buf.clear();
    }

    /// The variables (for inspection after a run).
    pub fn variables(&self) -> &Variables {
        &self.vars
    }

    /// Runs a source to the end (or to `\exit`) and returns the exit code.
    pub async fn run(&mut self, source: Source) -> i32 {
        self.push_source(source, 0);
        let code = self.run_loop().await;
        self.finish().await;
        code
    }

    pub(crate) fn push_source(&mut self, source: Source, line_offset: usize) {
        let text: Arc<str> = Arc::from(source.text);
        let pieces = lex(&text);
        self.stack.push(Frame {
            key: source.path.map(|p| (p, line_offset)),
            call_line: 0,
            name: source.name,
            dir: source.dir,
            text,
            pieces,
            idx: 0,
            line_offset,
            ifs: Vec::new(),
            skip: None,
            echoed: 0,
            stream: None,
        });
    }

    /// Opens an included source (`\i`, `\ir`, `\run`) from the meta-command at `line`,
    /// refusing an include cycle and nesting deeper than [`MAX_INCLUDE_DEPTH`]; either error
    /// names the chain of includes (`a.sql:3 -> b.sql:7 -> a.sql`).
    pub(crate) fn include(
        &mut self,
        source: Source,
        line_offset: usize,
        line: usize,
    ) -> Result<(), String> {
        if let Some(top) = self.stack.last_mut() {
            top.call_line = line;
        }
        let key = source.path.clone().map(|p| (p, line_offset));
        let cycle = key.is_some() && self.stack.iter().any(|f| f.key == key);
        let too_deep = self.stack.len() >= MAX_INCLUDE_DEPTH;
        if cycle || too_deep {
            let mut chain: Vec<String> = self
                .stack
                .iter()
                .map(|f| format!("{}:{}", f.name, f.call_line.saturating_add(f.line_offset)))
                .collect();
            chain.push(source.name);
            let chain = chain.join(" -> ");
            return Err(if cycle {
                format!("include cycle: {chain}")
            } else {
                format!("includes nested more than {MAX_INCLUDE_DEPTH} files deep: {chain}")
            });
        }
        self.push_source(source, line_offset);
        Ok(())
    }

    async fn run_loop(&mut self) -> i32 {
        while let Some(frame) = self.stack.last_mut() {
            if frame.idx >= frame.pieces.len() {
                if frame.stream.as_ref().is_some_and(|s| s.input.is_some()) {
                    if let Some(code) = self.refill().await {
                        return code;
                    }
                    continue;
                }
                if let Some(skip) = frame.skip.clone() {
                    let at = self.location(skip.line);
                    self.client_error(&format!(
                        "\\goto target \"{}\" not found (\\goto at {at})",
                        skip.label
                    ))
                    .await;
                    return EXIT_CLIENT;
                }
                if let Some(open) = frame.ifs.last().cloned() {
                    let at = self.location(open.line);
                    self.client_error(&format!(
                        "reached end of input without \\endif for \\if at {at}"
                    ))
                    .await;
                    return EXIT_CLIENT;
                }
                let rest = self.echo_through(usize::MAX);
                self.print(&rest).await;
                self.flush_stdout().await;
                self.stack.pop();
                continue;
            }
            let piece = frame.pieces[frame.idx].clone();
            frame.idx += 1;
            self.piece_line = piece.line;
            let lines = self.echo_through(piece.range.end);
            self.print(&lines).await;
            // Output streams as it is produced (to a file or a job's log, too): the echoed
            // lines before what they hold runs, then whatever running it printed. A flush only
            // happens when something was written, so it costs at most two per statement.
            self.flush_stdout().await;
            let flow = self.step(piece).await;
            self.flush_stdout().await;
            match flow {
                Flow::Continue => {}
                Flow::Exit(code) if self.interactive && code != EXIT_CONNECTION => self.recover(),
                Flow::Exit(code) | Flow::Quit(code) => return code,
            }
        }
        // psql sends a pending statement without a terminator at the end of input.
        if !self.query_buf.trim().is_empty()
            && let Flow::Exit(code) | Flow::Quit(code) = self.send(SendMode::Print).await
        {
            return code;
        }
        0
    }

    /// "FILE:LINE" for a line of the current source.
    pub(crate) fn location(&self, line: usize) -> String {
        match self.stack.last() {
            Some(f) => format!("{}:{}", f.name, line + f.line_offset),
            None => format!("<input>:{line}"),
        }
    }

    /// True when statements and meta-commands run (every enclosing `\if` branch is taken and
    /// no `\goto` is pending).
    ///
    /// Only the innermost `\if` is looked at, so that this costs the same at any depth: a block
    /// is [`IfState::Active`] only if every block around it is. A block starts Active only
    /// when everything around it is active, turns Active from Pending only while it is the
    /// innermost (a Pending block was opened with everything around it active, and nothing
    /// outside it changes while it is open), and the Skipped blocks that a `\label` turns
    /// Active lie above blocks that were all Active when the `\goto` ran.
    pub(crate) fn active(&self) -> bool {
        let active = self.stack.last().is_none_or(|f| {
            f.skip.is_none() && f.ifs.last().is_none_or(|i| i.state == IfState::Active)
        });
        // Check the invariant against the full walk while it is cheap to do so.
        debug_assert!(self.stack.last().is_none_or(|f| f.ifs.len() > 64
            || active == (f.skip.is_none() && f.ifs.iter().all(|i| i.state == IfState::Active))));
        active
    }

    async fn step(&mut self, piece: Piece) -> Flow {
        let Some(frame) = self.stack.last() else {
            return Flow::Continue;
        };
        let text = frame.text.clone();
        match piece.kind {
            PieceKind::Sql(chunk) => {
                if let Some(u) = chunk.unterminated {
                    let at = self.location(u.line);
                    self.client_error(&format!("{} at {at}", u.what.describe()))
                        .await;
                    return Flow::Exit(EXIT_CLIENT);
                }
                if !self.active() {
                    return Flow::Continue;
                }
                let start = if self.query_buf.is_empty() {
                    chunk.content_start
                } else {
                    piece.range.start
                };
                let mut pos = start;
                for v in chunk.vars.iter().filter(|v| v.range.start >= start) {
                    self.query_buf.push_str(&text[pos..v.range.start]);
                    let name = &text[v.name.clone()];
                    match self.vars.get(name) {
                        Some(val) => match v.quoting {
                            Quoting::Raw => self.query_buf.push_str(val),
                            Quoting::Literal => {
                                self.query_buf.push_str(&crate::args::quote_literal(val))
                            }
                            Quoting::Identifier => {
                                self.query_buf.push_str(&crate::args::quote_ident(val))
                            }
                        },
                        None => self.query_buf.push_str(&text[v.range.clone()]),
                    }
                    pos = v.range.end;
                }
                self.query_buf.push_str(&text[pos..piece.range.end]);
                if chunk.terminated {
                    return self.send(SendMode::Print).await;
                }
                Flow::Continue
            }
            PieceKind::Meta(m) => {
                let name = &text[m.name.clone()];
                let args = &text[m.args.clone()];
                self.meta(name, args, piece.line).await
            }
        }
    }

    /// Sends the query buffer.
    pub(crate) async fn send(&mut self, mode: SendMode) -> Flow {
        let sql = std::mem::take(&mut self.query_buf);
        let trimmed = sql.trim();
        if trimmed.is_empty() || trimmed == ";" {
            return Flow::Continue;
        }
        if let Some(flow) = self.refuse_nul(&sql).await {
            return flow;
        }
        self.last_query = sql.clone();
        if self.single_step.is_some() && !self.confirm_step(&sql).await {
            return Flow::Continue;
        }
        self.log_write(&format!(
            "********* QUERY **********\n{}\n**************************\n\n",
            sql.trim()
        ))
        .await;
        // ECHO=queries (psql's -e): each statement is printed as it is sent
        // (https://www.postgresql.org/docs/current/app-psql.html#APP-PSQL-VARIABLES).
        if self.vars.get("ECHO") == Some("queries") {
            self.print(&format!("{}\n", sql.trim_start())).await;
        }
        let started = Instant::now();
        let outcome = self.backend.execute(&sql).await;
        self.round_trip_done(outcome, mode, started).await
    }

    /// A statement holding a NUL byte (a variable's value can bring one in: `\set x '\000'`,
    /// a backtick command's output, a job's variables) cannot be sent: the PostgreSQL protocol
    /// ends strings at NUL. It is bad input, a client error, not a lost connection.
    pub(crate) async fn refuse_nul(&mut self, sql: &str) -> Option<Flow> {
        if !sql.contains('\0') {
            return None;
        }
        let at = self.location(self.piece_line);
        self.client_error(&format!(
            "statement contains a NUL byte (0x00), which cannot be sent to the server, at {at}"
        ))
        .await;
        Some(Flow::Exit(EXIT_CLIENT))
    }

    /// Reports a round trip: notices, then rows or the error (with the error policy), then the
    /// time taken when `\timing` is on. A lost connection ends the script.
    pub(crate) async fn round_trip_done(
        &mut self,
        outcome: Result<Outcome, ConnectionLost>,
        mode: SendMode,
        started: Instant,
    ) -> Flow {
        let outcome = match outcome {
            Ok(o) => o,
            Err(lost) => {
                self.client_error(&format!("connection to server lost: {lost}"))
                    .await;
                return Flow::Exit(EXIT_CONNECTION);
            }
        };
        let elapsed = started.elapsed();
        for n in &outcome.notices {
            self.err_line(&format!("{}:  {}", n.severity, n.message))
                .await;
        }
        let flow = match outcome.result {
            Ok(c) => self.completed(c, mode).await,
            Err(e) => self.sql_failed(&e).await,
        };
        if self.timing {
            self.print(&format!("Time: {:.3} ms\n", elapsed.as_secs_f64() * 1000.0))
                .await;
        }
        flow
    }

    async fn completed(&mut self, c: Completion, mode: SendMode) -> Flow {
        let count = c.activity_count();
        self.vars.record(StatementStatus::Success { count });
        let Some(rs) = c.rows else {
            return Flow::Continue;
        };
        match mode {
            SendMode::Print => self.print_result(&rs).await,
            SendMode::File(path) => {
                let text = render(&rs, self.print_options(), true);
                if let Err(e) = write_file(&path, &text).await {
                    self.client_error(&format!("{}: {e}", path.display())).await;
                    return Flow::Exit(EXIT_CLIENT);
                }
                Flow::Continue
            }
            SendMode::Gset(prefix) => self.gset(&rs, &prefix).await,
        }
    }

    async fn gset(&mut self, rs: &ResultSet, prefix: &str) -> Flow {
        let problem = match rs.rows.len() {
            0 => Some("no rows returned for \\gset"),
            1 => None,
            _ => Some("more than one row returned for \\gset"),
        };
        if let Some(p) = problem {
            self.err_line(&format!("rsql: {p}")).await;
            return self.error_stop(None);
        }
        for (col, val) in rs.columns.iter().zip(&rs.rows[0]) {
            let name = format!("{prefix}{}", col.name);
            if !crate::vars::valid_name(&name) {
                self.err_line(&format!(
                    "rsql: invalid variable name: \"{name}\" from \\gset"
                ))
                .await;
                continue;
            }
            match val {
                Some(v) => self.vars.set(&name, v.clone()),
                None => self.vars.unset(&name),
            }
        }
        Flow::Continue
    }

    /// Reports a failed statement, records it and applies the error policy.
    pub(crate) async fn sql_failed(&mut self, e: &SqlError) -> Flow {
        self.err_line(&format!("rsql: {}: {}", e.severity, e.message))
            .await;
        if let Some(d) = &e.detail {
            self.err_line(&format!("DETAIL: {d}")).await;
        }
        if let Some(h) = &e.hint {
            self.err_line(&format!("HINT: {h}")).await;
        }
        self.vars.record(StatementStatus::Failure {
            sqlstate: &e.sqlstate,
            message: &e.message,
        });
        self.error_stop(Some(&e.sqlstate))
    }

    /// Applies ERRORLEVEL/MAXERROR and ON_ERROR_STOP to an error.
    fn error_stop(&self, sqlstate: Option<&str>) -> Flow {
        let severity = if !self.errorlevel_on {
            0
        } else {
            sqlstate
                .and_then(|s| self.severities.get(s).copied())
                .unwrap_or(DEFAULT_SEVERITY)
        };
        if self.maxerror > 0 && severity > self.maxerror {
            return Flow::Exit(severity.min(255) as i32);
        }
        if severity > 0 && self.vars.flag("ON_ERROR_STOP") {
            return Flow::Exit(EXIT_ON_ERROR_STOP);
        }
        Flow::Continue
    }

    /// With `ECHO` set to `all` (psql's `-a`, which RSQL wrappers pass), the input lines of
    /// the current file up to and including the line where byte `end` falls, not yet echoed;
    /// otherwise nothing. Lines are echoed as they are read, before what they hold runs.
    fn echo_through(&mut self, end: usize) -> String {
        let all = self.vars.get("ECHO") == Some("all");
        let Some(frame) = self.stack.last_mut() else {
            return String::new();
        };
        if end < frame.echoed {
            // Already echoed through the end of the line holding `end`: looking for that line's
            // end again for every piece on a long line would make echoing quadratic.
            return String::new();
        }
        let text = &frame.text;
        let stop = match text.get(end..).and_then(|r| r.find('\n')) {
            Some(i) => end + i + 1,
            None => text.len(),
        };
        if stop <= frame.echoed {
            return String::new();
        }
        let start = frame.echoed;
        frame.echoed = stop;
        if !all {
            return String::new();
        }
        let mut out = text[start..stop].to_string();
        if !out.ends_with('\n') {
            out.push('\n');
        }
        // A `\logon` password is not echoed (nor kept in the history): `***` in its place.
        if out.contains('\\') && out.lines().any(|l| crate::logon::redact(l).is_some()) {
            out = out
                .lines()
                .map(|l| crate::logon::redact(l).unwrap_or_else(|| l.to_string()) + "\n")
                .collect();
        }
        out
    }

    /// The print options in force: the configured ones while RFORMAT is on.
    pub(crate) fn print_options(&self) -> &PrintOptions {
        if self.rformat {
            &self.configured
        } else {
            &self.base_print
        }
    }

    async fn print_result(&mut self, rs: &ResultSet) -> Flow {
        let mut text = String::new();
        if self.rformat {
            let width = self.configured.columns;
            if let Some(t) = &self.rtitle {
                text.push_str(&render_title(t, width, &today()));
            }
            if let Some(h) = &self.heading {
                text.push_str(&render_title(h, width, &today()));
            }
        }
        if self.export.is_some() {
            text.push_str(&render(rs, self.print_options(), false));
            let n = rs.rows.len();
            if let Some(sink) = self.export.as_mut()
                && let Err(e) = sink.write(&text).await
            {
                let p = sink.path().display().to_string();
                self.client_error(&format!("{p}: {e}")).await;
                return Flow::Exit(EXIT_CLIENT);
            }
            self.print(&format!("(exported {n} rows)\n")).await;
            return Flow::Continue;
        }
        text.push_str(&render(rs, self.print_options(), true));
        self.query_output(&text).await
    }

    /// psql's single-step prompt, its words (psql 15's `SendQuery`; the texts are not in the
    /// documentation): true to send the statement, false when the answer starts with `x`.
    async fn confirm_step(&mut self, sql: &str) -> bool {
        self.print(&format!(
            "***(Single step mode: verify command)*******************************************\n\
             {}\n\
             ***(press return to proceed or enter x and return to cancel)********************\n",
            sql.trim()
        ))
        .await;
        self.flush_stdout().await;
        let Some(ask) = self.single_step.as_mut() else {
            return true;
        };
        match ask.answer().await {
            Some(a) => !a.starts_with('x'),
            // No answer (end of input): as psql, whose fgets then returns NULL, send it.
            None => true,
        }
    }

    /// Appends to the `-L` log file; a failed write is reported once and logging stops.
    async fn log_write(&mut self, text: &str) {
        let Some(file) = self.log.as_mut() else {
            return;
        };
        if let Err(e) = file.write_all(text.as_bytes()).await {
            self.log = None;
            self.client_error(&format!("could not write the log file (-L): {e}"))
                .await;
        }
    }

    /// Writes query output (and to the `-L` log): to the `\o` file if one is open, else stdout.
    pub(crate) async fn query_output(&mut self, text: &str) -> Flow {
        self.log_write(text).await;
        self.query_output_unlogged(text).await
    }

    /// Writes query output: to the `\o` file if one is open, else stdout.
    pub(crate) async fn query_output_unlogged(&mut self, text: &str) -> Flow {
        match self.query_out.as_mut() {
            Some(sink) => {
                if let Err(e) = sink.write(text).await {
                    let p = sink.path().display().to_string();
                    self.client_error(&format!("{p}: {e}")).await;
                    return Flow::Exit(EXIT_CLIENT);
                }
                Flow::Continue
            }
            None => {
                if self.pager_on
                    && let Some(pager) = self.pager.as_mut()
                {
                    self.out_dirty = false;
                    let _ = self.out.flush().await;
                    if pager.page(text).await {
                        return Flow::Continue;
                    }
                }
                self.print(text).await;
                Flow::Continue
            }
        }
    }

    /// Writes to stdout.
    pub(crate) async fn print(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        let _ = self.out.write_all(s.as_bytes()).await;
        self.out_dirty = true;
    }

    /// Writes a line to stderr (flushing stdout first so a terminal shows them in order).
    pub(crate) async fn err_line(&mut self, s: &str) {
        self.flush_stdout().await;
        let mut line = String::with_capacity(s.len() + 1);
        line.push_str(s);
        line.push('\n');
        let _ = self.err.write_all(line.as_bytes()).await;
        let _ = self.err.flush().await;
    }

    /// Reports a client-side error: `rsql: MESSAGE`.
    pub(crate) async fn client_error(&mut self, msg: &str) {
        self.err_line(&format!("rsql: {msg}")).await;
    }

    /// Flushes stdout if anything was written to it since the last flush.
    pub(crate) async fn flush_stdout(&mut self) {
        if self.out_dirty {
            self.out_dirty = false;
            let _ = self.out.flush().await;
        }
    }

    /// Closes output files and flushes stdout.
    async fn finish(&mut self) {
        if let Some(sink) = self.query_out.take()
            && let Err(e) = sink.finish().await
        {
            self.client_error(&format!("could not write output file: {e}"))
                .await;
        }
        if let Some(sink) = self.export.take()
            && let Err(e) = sink.finish().await
        {
            self.client_error(&format!("could not write export file: {e}"))
                .await;
        }
        if let Some(mut log) = self.log.take() {
            let _ = log.flush().await;
        }
        let _ = self.out.flush().await;
        let _ = self.err.flush().await;
    }

    /// The directory of the current source (for `\ir`).
    pub(crate) fn current_dir(&self) -> &Path {
        self.stack
            .last()
            .map(|f| f.dir.as_path())
            .unwrap_or_else(|| Path::new("."))
    }
}

async fn write_file(path: &Path, text: &str) -> std::io::Result<()> {
    let mut sink = FileSink::create(path).await?;
    sink.write(text).await?;
    sink.finish().await
}
