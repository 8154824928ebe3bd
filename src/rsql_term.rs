//! `rsqlflow rsql` at a terminal (standard input a terminal, no `-f`/`-c`): the banner, RSQL's
//! prompt, line editing and a history file (rustyline, on a thread of its own since it blocks),
//! `help`, and Ctrl-C cancelling the running statement.
//!
//! The prompt is RSQL's: `(<cluster>) user@db=#` for a superuser, `=>` otherwise
//! (<https://docs.aws.amazon.com/redshift/latest/mgmt/rsql-query-tool-starting-tool-connection.html>),
//! which is psql's default `%/%R%x%# ` with the cluster in front; inside a statement the `=`
//! becomes psql's continuation character (`-`, `'`, `"`, `$`, `*`, `(`) and in an inactive
//! `\if` branch `@` (<https://www.postgresql.org/docs/current/app-psql.html#APP-PSQL-PROMPTING>).

use std::path::PathBuf;
use std::sync::{Arc, mpsc};

use async_trait::async_trait;
use rsql::{Input, LineSource, PromptState, SourceError};
use tokio::io::AsyncWriteExt;

use crate::rsql_session::{SharedCancel, SharedShape};

/// What the prompt names: `(<name>) <user>@<db>`, and `#` or `>` after it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PromptShape {
    /// The cluster (first label of a Redshift endpoint), the host, or `embedded`.
    pub name: String,
    pub user: String,
    pub db: String,
    pub superuser: bool,
}

impl PromptShape {
    /// The prompt for a state: `(dev) awsuser@dev=# `, `(dev) awsuser@dev-# ` inside a statement.
    pub fn render(&self, state: PromptState) -> String {
        format!(
            "({}) {}@{}{}{} ",
            self.name,
            self.user,
            self.db,
            state.status_char(),
            if self.superuser { '#' } else { '>' }
        )
    }
}

/// The name in parentheses for a host: a Redshift endpoint's first label (the cluster or
/// workgroup, `examplecluster.abc123xyz789.us-west-2.redshift.amazonaws.com`), else the host.
pub fn cluster_name(host: &str) -> String {
    if crate::connect::is_redshift_host(host) {
        host.split('.').next().unwrap_or(host).to_string()
    } else {
        host.to_string()
    }
}

/// What `help` prints at the prompt, as psql's does
/// (<https://www.postgresql.org/docs/current/app-psql.html>).
pub const HELP: &str = "\
You are using rsqlflow rsql, the RSQL command-line interface of rsqlflow.
Type:  \\? for help with rsql commands
       \\g or terminate with semicolon to execute query
       \\q to quit
";

/// Where the history is kept: `RSQL_HISTORY` (as psql reads `PSQL_HISTORY`), else
/// `~/.rsql_history`; none without a home directory.
pub fn history_file() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("RSQL_HISTORY").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".rsql_history"))
}

enum Request {
    Read(String),
    Remember(String),
    /// One line for `-s`'s confirmation, kept out of the history.
    Ask(tokio::sync::oneshot::Sender<Option<String>>),
}

enum Reply {
    Line(String),
    Interrupted,
    End,
    Failed(String),
}

/// Asks for a password at the terminal (`/dev/tty`) with echo off (`stty -echo`, on a
/// blocking thread): RSQL's `Password for user user2:` and psql's prompt. `None` when there is
/// no terminal or nothing was typed.
pub async fn read_password(prompt: String) -> Option<String> {
    tokio::task::spawn_blocking(move || {
        use std::io::{BufRead, Write};
        let mut tty = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .ok()?;
        let stty = |arg: &str| {
            let input = std::fs::File::open("/dev/tty").ok()?;
            std::process::Command::new("stty")
                .arg(arg)
                .stdin(input)
                .status()
                .ok()
                .filter(|s| s.success())
        };
        tty.write_all(prompt.as_bytes()).ok()?;
        tty.flush().ok()?;
        // Without echo off the password would show: give up rather than show it.
        stty("-echo")?;
        let mut line = String::new();
        let read = std::io::BufReader::new(&tty).read_line(&mut line);
        let _ = stty("echo");
        let _ = tty.write_all(b"\n");
        read.ok()?;
        let line = line.trim_end_matches(['\n', '\r']).to_string();
        (!line.is_empty()).then_some(line)
    })
    .await
    .ok()
    .flatten()
}

/// Lines typed at the terminal, edited with rustyline on its own thread. A statement typed over
/// several lines is one history entry, recalled whole.
pub struct TerminalLines {
    requests: mpsc::Sender<Request>,
    replies: tokio::sync::mpsc::UnboundedReceiver<Reply>,
    shape: SharedShape,
    /// The lines of the statement being typed.
    entry: String,
}

/// The prompt as it is now: a `\logon` changes it.
fn render(shape: &SharedShape, prompt: PromptState) -> String {
    match shape.lock() {
        Ok(s) => s.render(prompt),
        Err(e) => e.into_inner().render(prompt),
    }
}

/// Reads `-s`'s answers through the line editor.
pub struct TerminalAsk {
    requests: mpsc::Sender<Request>,
}

#[async_trait]
impl rsql::Ask for TerminalAsk {
    async fn answer(&mut self) -> Option<String> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.requests.send(Request::Ask(tx)).ok()?;
        rx.await.ok().flatten()
    }
}

/// Reads `-s`'s answers from the terminal without line editing (`-n`): a line of
/// `/dev/tty`, on a blocking thread.
pub struct PlainAsk;

#[async_trait]
impl rsql::Ask for PlainAsk {
    async fn answer(&mut self) -> Option<String> {
        tokio::task::spawn_blocking(|| {
            use std::io::BufRead;
            let tty = std::fs::File::open("/dev/tty").ok()?;
            let mut line = String::new();
            std::io::BufReader::new(tty).read_line(&mut line).ok()?;
            Some(line.trim_end_matches(['\n', '\r']).to_string())
        })
        .await
        .ok()
        .flatten()
    }
}

impl TerminalLines {
    /// Starts the editor; `history` is the file read at the start and appended to after each
    /// statement (none: no history kept).
    pub fn start(shape: SharedShape, history: Option<PathBuf>) -> TerminalLines {
        let (requests, rx) = mpsc::channel();
        let (tx, replies) = tokio::sync::mpsc::unbounded_channel();
        std::thread::spawn(move || editor_thread(history, rx, tx));
        TerminalLines {
            requests,
            replies,
            shape,
            entry: String::new(),
        }
    }

    /// What answers `-s`'s confirmations, through this editor.
    pub fn asker(&self) -> TerminalAsk {
        TerminalAsk {
            requests: self.requests.clone(),
        }
    }

    /// Keeps the statement typed so far as one history entry, a `\logon`'s password replaced
    /// by `***` (no password is ever written to the history file).
    fn remember(&mut self) {
        let entry = std::mem::take(&mut self.entry);
        let entry = entry.trim_end();
        if !entry.trim().is_empty() {
            let kept = entry
                .lines()
                .map(|l| rsql::logon::redact(l).unwrap_or_else(|| l.to_string()))
                .collect::<Vec<_>>()
                .join("\n");
            let _ = self.requests.send(Request::Remember(kept));
        }
    }
}

fn editor_thread(
    history: Option<PathBuf>,
    requests: mpsc::Receiver<Request>,
    replies: tokio::sync::mpsc::UnboundedSender<Reply>,
) {
    use rustyline::error::ReadlineError;
    let mut builder = rustyline::Config::builder().auto_add_history(false);
    if let Ok(b) = builder.clone().history_ignore_dups(true) {
        builder = b;
    }
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        builder = builder.color_mode(rustyline::ColorMode::Disabled);
    }
    let mut editor = match rustyline::DefaultEditor::with_config(builder.build()) {
        Ok(e) => e,
        Err(e) => {
            let _ = replies.send(Reply::Failed(e.to_string()));
            return;
        }
    };
    if let Some(p) = &history
        && p.exists()
        && let Err(e) = editor.load_history(p)
    {
        eprintln!("rsql: could not read the history file {}: {e}", p.display());
    }
    while let Ok(request) = requests.recv() {
        match request {
            Request::Read(prompt) => {
                let reply = match editor.readline(&prompt) {
                    Ok(line) => Reply::Line(line),
                    Err(ReadlineError::Interrupted) => Reply::Interrupted,
                    Err(ReadlineError::Eof) => Reply::End,
                    Err(e) => Reply::Failed(e.to_string()),
                };
                if replies.send(reply).is_err() {
                    break;
                }
            }
            Request::Ask(reply) => {
                let answer = editor.readline("").ok();
                let _ = reply.send(answer);
            }
            Request::Remember(entry) => {
                if editor.add_history_entry(entry.as_str()).unwrap_or(false)
                    && let Some(p) = &history
                    && let Err(e) = editor.append_history(p)
                {
                    eprintln!(
                        "rsql: could not write the history file {}: {e}",
                        p.display()
                    );
                }
            }
        }
    }
}

#[async_trait]
impl LineSource for TerminalLines {
    async fn next_line(&mut self, prompt: PromptState) -> Result<Input, SourceError> {
        loop {
            if prompt.continuation.is_none() {
                self.remember();
            }
            if self
                .requests
                .send(Request::Read(render(&self.shape, prompt)))
                .is_err()
            {
                return Ok(Input::End);
            }
            match self.replies.recv().await {
                None | Some(Reply::End) => {
                    self.remember();
                    // psql ends the session on a new line, so the shell's prompt starts clean.
                    let _ = tokio::io::stdout().write_all(b"\n").await;
                    let _ = tokio::io::stdout().flush().await;
                    return Ok(Input::End);
                }
                Some(Reply::Interrupted) => {
                    self.entry.clear();
                    return Ok(Input::Interrupted);
                }
                Some(Reply::Failed(e)) => {
                    return Err(SourceError::Read {
                        path: "<terminal>".into(),
                        source: std::io::Error::other(e),
                    });
                }
                Some(Reply::Line(line)) => {
                    // psql (10 and later) takes `help`, `quit` and `exit` typed alone on the first
                    // line of a statement.
                    if prompt.continuation.is_none() && self.entry.is_empty() {
                        match line.trim() {
                            "help" => {
                                self.entry.push_str("help");
                                self.remember();
                                let mut out = tokio::io::stdout();
                                let _ = out.write_all(HELP.as_bytes()).await;
                                let _ = out.flush().await;
                                continue;
                            }
                            "quit" | "exit" => {
                                self.entry.push_str(line.trim());
                                self.remember();
                                return Ok(Input::End);
                            }
                            _ => {}
                        }
                    }
                    if !self.entry.is_empty() {
                        self.entry.push('\n');
                    }
                    self.entry.push_str(&line);
                    let mut line = line;
                    line.push('\n');
                    return Ok(Input::Line(line));
                }
            }
        }
    }
}

/// Lines typed at a terminal without line editing (`-n`, as psql's): the prompt is printed,
/// the line read as from a pipe.
pub struct PlainTerminalLines {
    shape: SharedShape,
    lines: rsql::ReaderLines<tokio::io::Stdin>,
}

impl PlainTerminalLines {
    pub fn new(shape: SharedShape) -> PlainTerminalLines {
        PlainTerminalLines {
            shape,
            lines: rsql::ReaderLines::new("<stdin>", tokio::io::stdin()),
        }
    }
}

#[async_trait]
impl LineSource for PlainTerminalLines {
    async fn next_line(&mut self, prompt: PromptState) -> Result<Input, SourceError> {
        let mut out = tokio::io::stdout();
        let _ = out.write_all(render(&self.shape, prompt).as_bytes()).await;
        let _ = out.flush().await;
        self.lines.next_line(prompt).await
    }
}

/// Ctrl-C while a statement runs: PostgreSQL's cancel request for it, as psql sends
/// (<https://www.postgresql.org/docs/current/app-psql.html>, "Ctrl-C"), so that the statement
/// ends with `ERROR: canceling statement due to user request` and the prompt comes back. At the
/// prompt the line editor reads Ctrl-C as a key (it clears the input). The embedded engine
/// cannot interrupt a statement (README, Failure behaviour): on the warehouse kept in a
/// directory Ctrl-C wakes `embedded`, and the session abandons the statement
/// (`rsql_session::Switch::execute`); on an ephemeral one it says the statement runs to its
/// end.
pub fn cancel_on_interrupt(cancel: SharedCancel, embedded: Option<Arc<tokio::sync::Notify>>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut int) = signal(SignalKind::interrupt()) else {
            return;
        };
        tokio::spawn(async move {
            while int.recv().await.is_some() {
                // The session of the moment: a `\logon` replaces it.
                let handle = match cancel.lock() {
                    Ok(c) => c.clone(),
                    Err(e) => e.into_inner().clone(),
                };
                match &handle {
                    Some(c) => {
                        if let Err(e) = c.cancel().await {
                            eprintln!("rsql: could not send the cancel request: {e}");
                        }
                    }
                    // The embedded warehouse in a directory: the session abandons the
                    // statement (it says so). An ephemeral one would lose its data.
                    None => match &embedded {
                        Some(n) => n.notify_waiters(),
                        None => eprintln!(
                            "rsql: the embedded engine cannot interrupt a running statement; it \
                             runs to its end (use a PostgreSQL server to cancel)"
                        ),
                    },
                }
            }
        });
    }
    #[cfg(not(unix))]
    {
        let _ = (cancel, embedded);
    }
}

/// The pager command: `PSQL_PAGER`, else `PAGER`, else `less -S`; `None` when the variable is
/// set but empty, which turns the pager off, as in psql
/// (<https://www.postgresql.org/docs/current/app-psql.html#APP-PSQL-ENVIRONMENT>).
pub fn pager_command() -> Option<String> {
    for var in ["PSQL_PAGER", "PAGER"] {
        if let Some(v) = std::env::var_os(var) {
            let v = v.to_string_lossy().trim().to_string();
            return Some(v).filter(|v| !v.is_empty());
        }
    }
    Some("less -S".to_string())
}

/// Results taller or wider than the terminal go through the pager, run by the shell with the
/// result on its standard input; the prompt comes back when it exits.
pub struct TerminalPager {
    command: String,
}

impl TerminalPager {
    pub fn new(command: String) -> TerminalPager {
        TerminalPager { command }
    }
}

/// True when `text` does not fit a terminal of `cols` x `rows` with a prompt line below it.
fn too_big(text: &str, cols: usize, rows: usize) -> bool {
    let mut lines = 0;
    for line in text.lines() {
        lines += 1;
        if display_width(line) > cols {
            return true;
        }
    }
    lines >= rows
}

fn display_width(s: &str) -> usize {
    s.chars().count()
}

#[async_trait]
impl rsql::Pager for TerminalPager {
    async fn page(&mut self, text: &str) -> bool {
        let Some((terminal_size::Width(cols), terminal_size::Height(rows))) =
            terminal_size::terminal_size()
        else {
            return false;
        };
        if rows == 0 || cols == 0 || !too_big(text, cols.into(), rows.into()) {
            return false;
        }
        let child = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(&self.command)
            .stdin(std::process::Stdio::piped())
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) => {
                eprintln!("rsql: could not run the pager \"{}\": {e}", self.command);
                return false;
            }
        };
        if let Some(mut stdin) = child.stdin.take() {
            // The pager may quit before reading everything (q in less): that is not an error.
            let _ = stdin.write_all(text.as_bytes()).await;
        }
        let _ = child.wait().await;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_does_not_fit_is_paged() {
        assert!(!too_big("a\nb\n", 80, 24));
        assert!(too_big(&"x\n".repeat(24), 80, 24));
        assert!(too_big(&format!("{}\n", "y".repeat(81)), 80, 24));
    }

    #[test]
    fn prompts_are_rsqls() {
        let shape = PromptShape {
            name: "testcluster".into(),
            user: "user1".into(),
            db: "dev".into(),
            superuser: true,
        };
        let mut state = PromptState::default();
        assert_eq!(shape.render(state), "(testcluster) user1@dev=# ");
        state.continuation = Some('\'');
        assert_eq!(shape.render(state), "(testcluster) user1@dev'# ");
        let plain = PromptShape {
            superuser: false,
            ..shape
        };
        assert_eq!(
            plain.render(PromptState {
                continuation: None,
                inactive: true
            }),
            "(testcluster) user1@dev@> "
        );
        assert_eq!(
            cluster_name("examplecluster.abc123xyz789.us-west-2.redshift.amazonaws.com"),
            "examplecluster"
        );
        assert_eq!(cluster_name("db.internal"), "db.internal");
    }
}
