//! Meta-command dispatch: control flow (`\if`, `\goto`, `\exit`), variables, input files,
//! output settings (`\pset`, `\rset`, `\o`, `\export`), `\copy`, `\timing` and shell commands.

use std::path::{Path, PathBuf};

use crate::args::{self, Arg};
use crate::copy;
use crate::expr;
use crate::format::Format;
use crate::interpreter::{EXIT_CLIENT, Flow, IfFrame, IfState, Interpreter, SendMode, Skip};
use crate::sink::FileSink;
use crate::source::Source;
use crate::vars::{parse_bool, valid_name};

/// RSQL extension and flow-control commands, matched without regard to case.
const CASE_INSENSITIVE: &[&str] = &[
    "if", "elseif", "elif", "else", "endif", "goto", "label", "exit", "quit", "remark", "rset",
    "export", "logon", "logoff", "run", "os",
];

/// Every meta-command the interpreter runs, by its [`canonical`] name; any other is refused
/// as unsupported (exit 1). `rsqlflow check` reads this list, and
/// `tests/meta_commands.rs` keeps it in step with the interpreter's dispatch.
#[rustfmt::skip]
pub const COMMANDS: &[&str] = &[
    "if", "elseif", "elif", "else", "endif", "set", "unset", "echo", "qecho", "warn", "remark",
    "exit", "quit", "q", "goto", "label", "i", "include", "ir", "include_relative", "run",
    "timing", "pset", "t", "a", "f", "x", "rset", "o", "out", "export", "g", "gset", "r", "reset",
    "p", "print", "!", "os", "copy", "?", "help", "\\", "logon", "c", "connect", "logoff",
];

/// The options `\pset` takes (any other is refused, exit 1); `tests/meta_commands.rs` keeps
/// the list in step with [`Interpreter`]'s `\pset`.
pub const PSET_OPTIONS: &[&str] = &[
    "format",
    "border",
    "tuples_only",
    "footer",
    "expanded",
    "x",
    "null",
    "fieldsep",
    "recordsep",
    "title",
    "columns",
    "pager",
];

/// The keywords `\rset` takes, in lower case (they are case-insensitive; any other is refused,
/// exit 1; https://docs.aws.amazon.com/redshift/latest/mgmt/rsql-query-tool-variables.html).
pub const RSET_KEYWORDS: &[&str] = &[
    "rformat",
    "width",
    "heading",
    "rtitle",
    "titledashes",
    "errorlevel",
    "maxerror",
];

/// Meta-commands Amazon RSQL documents that this interpreter refuses (README, "Not
/// implemented yet"): the describe commands other than
/// [`crate::describe`]'s (`\dC`, `\dd`, `\de`, `\dp`, `\sv`, `\z`, ... with their `S` and
/// `+` forms), `\H`, `\gexec`, `\watch`, `\crosstabview`
/// (https://docs.aws.amazon.com/redshift/latest/mgmt/rsql-query-tool-commands.html).
pub fn not_implemented(name: &str) -> bool {
    if matches!(name, "H" | "gexec" | "watch" | "crosstabview" | "conninfo") {
        return true;
    }
    if crate::describe::parse(name).is_some() {
        return false;
    }
    let base = name.trim_end_matches(['+', 'S']);
    matches!(base, "dC" | "dd" | "de" | "dL" | "dm" | "dp" | "sv" | "z")
        || base
            .strip_prefix("df")
            .is_some_and(|r| r.chars().all(|c| "anptw".contains(c)))
}

/// True when the interpreter runs this meta-command (by its [`canonical`] name): one of
/// [`COMMANDS`] or a describe command with its `S`/`+` forms.
pub fn implemented(name: &str) -> bool {
    COMMANDS.contains(&name) || crate::describe::parse(name).is_some()
}

/// The name a meta-command is dispatched by: RSQL's own commands in lower case (they are
/// case-insensitive), psql's as written.
pub fn canonical(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    if CASE_INSENSITIVE.contains(&lower.as_str()) {
        lower
    } else {
        name.to_string()
    }
}

impl Interpreter<'_> {
    pub(crate) async fn meta(&mut self, raw_name: &str, raw_args: &str, line: usize) -> Flow {
        let name = canonical(raw_name);
        // While skipping for \goto, only structure and labels matter.
        if self.stack.last().is_some_and(|f| f.skip.is_some()) {
            return self.meta_skipping(&name, raw_args, line).await;
        }
        match name.as_str() {
            "if" => return self.cmd_if(raw_args, line).await,
            "elseif" | "elif" => return self.cmd_elseif(raw_args, line).await,
            "else" => return self.cmd_else(line).await,
            "endif" => return self.cmd_endif(line).await,
            _ => {}
        }
        if !self.active() {
            return Flow::Continue;
        }
        match self.dispatch(&name, raw_args, line).await {
            Ok(flow) => flow,
            Err(msg) => {
                let at = self.location(line);
                self.client_error(&format!("{msg} at {at}")).await;
                Flow::Exit(EXIT_CLIENT)
            }
        }
    }

    async fn meta_skipping(&mut self, name: &str, raw_args: &str, line: usize) -> Flow {
        let Some(frame) = self.stack.last_mut() else {
            return Flow::Continue;
        };
        match name {
            "if" => frame.ifs.push(IfFrame {
                state: IfState::Skipped,
                else_seen: false,
                line,
            }),
            "endif" => {
                let closed = frame.ifs.pop();
                if closed.is_none() {
                    return self
                        .structure_error("\\endif without matching \\if", line)
                        .await;
                }
            }
            "label" => {
                let label = raw_args.split_whitespace().next().unwrap_or("");
                let Some(skip) = frame.skip.clone() else {
                    return Flow::Continue;
                };
                if label.eq_ignore_ascii_case(&skip.label) {
                    frame.skip = None;
                    // The blocks opened while skipping are the innermost ones; only they are
                    // visited, so each block is visited once however often \goto is used.
                    for i in frame
                        .ifs
                        .iter_mut()
                        .rev()
                        .take_while(|i| i.state == IfState::Skipped)
                    {
                        i.state = IfState::Active;
                    }
                    self.print(&format!("\\label {label} processed\n")).await;
                } else {
                    self.print(&format!("\\label {label} ignored\n")).await;
                }
            }
            _ => {}
        }
        Flow::Continue
    }

    async fn structure_error(&mut self, msg: &str, line: usize) -> Flow {
        let at = self.location(line);
        self.client_error(&format!("{msg} at {at}")).await;
        Flow::Exit(EXIT_CLIENT)
    }

    async fn condition(&mut self, raw_args: &str, line: usize) -> bool {
        match expr::evaluate(raw_args, &self.vars) {
            Ok(v) => v,
            Err(e) => {
                let at = self.location(line);
                self.client_error(&format!("{e} at {at}")).await;
                false
            }
        }
    }

    async fn cmd_if(&mut self, raw_args: &str, line: usize) -> Flow {
        let state = if !self.active() {
            IfState::Ignored
        } else if self.condition(raw_args, line).await {
            IfState::Active
        } else {
            IfState::Pending
        };
        if let Some(f) = self.stack.last_mut() {
            f.ifs.push(IfFrame {
                state,
                else_seen: false,
                line,
            });
        }
        Flow::Continue
    }

    async fn cmd_elseif(&mut self, raw_args: &str, line: usize) -> Flow {
        let Some(top) = self.stack.last().and_then(|f| f.ifs.last()).cloned() else {
            return self
                .structure_error("\\elseif without matching \\if", line)
                .await;
        };
        if top.else_seen {
            return self.structure_error("\\elseif after \\else", line).await;
        }
        let state = match top.state {
            IfState::Active => IfState::Done,
            IfState::Pending => {
                if self.condition(raw_args, line).await {
                    IfState::Active
                } else {
                    IfState::Pending
                }
            }
            other => other,
        };
        if let Some(t) = self.stack.last_mut().and_then(|f| f.ifs.last_mut()) {
            t.state = state;
        }
        Flow::Continue
    }

    async fn cmd_else(&mut self, line: usize) -> Flow {
        let Some(top) = self.stack.last_mut().and_then(|f| f.ifs.last_mut()) else {
            return self
                .structure_error("\\else without matching \\if", line)
                .await;
        };
        if top.else_seen {
            return self.structure_error("\\else after \\else", line).await;
        }
        top.else_seen = true;
        top.state = match top.state {
            IfState::Active => IfState::Done,
            IfState::Pending => IfState::Active,
            other => other,
        };
        Flow::Continue
    }

    async fn cmd_endif(&mut self, line: usize) -> Flow {
        if self.stack.last_mut().and_then(|f| f.ifs.pop()).is_none() {
            return self
                .structure_error("\\endif without matching \\if", line)
                .await;
        }
        Flow::Continue
    }

    fn parse_args(&self, raw: &str) -> Result<Vec<Arg>, String> {
        let mut backtick = |cmd: &str| run_backtick(cmd);
        args::parse(raw, &self.vars, &mut backtick).map_err(|e| e.to_string())
    }

    fn texts(&self, raw: &str) -> Result<Vec<String>, String> {
        Ok(self.parse_args(raw)?.into_iter().map(|a| a.text).collect())
    }

    /// Runs an active meta-command. An `Err` is a client error reported with the location.
    async fn dispatch(&mut self, name: &str, raw: &str, line: usize) -> Result<Flow, String> {
        match name {
            "set" => {
                let a = self.texts(raw)?;
                match a.split_first() {
                    None => {
                        let listing: String = self
                            .vars
                            .iter()
                            .map(|(k, v)| format!("{k} = '{v}'\n"))
                            .collect();
                        self.print(&listing).await;
                    }
                    Some((n, rest)) => {
                        if !valid_name(n) {
                            return Err(format!("\\set: invalid variable name \"{n}\""));
                        }
                        self.vars.set(n, rest.concat());
                    }
                }
            }
            "unset" => {
                let a = self.texts(raw)?;
                let [n] = a.as_slice() else {
                    return Err("\\unset: missing required argument".into());
                };
                self.vars.unset(n);
            }
            "echo" | "qecho" | "warn" => {
                let mut a = self.texts(raw)?;
                let newline = a.first().is_none_or(|x| x != "-n");
                if !newline {
                    a.remove(0);
                }
                let mut text = a.join(" ");
                if newline {
                    text.push('\n');
                }
                match name {
                    "echo" => self.print(&text).await,
                    "qecho" => return Ok(self.query_output_unlogged(&text).await),
                    _ => {
                        self.flush_stdout().await;
                        self.err_line(text.trim_end_matches('\n')).await
                    }
                }
            }
            "remark" => {
                let a = self.texts(raw)?;
                let text = a.join(" ").replace("//", "\n");
                self.print(&format!("{text}\n")).await;
            }
            "exit" | "quit" | "q" => {
                let a = self.texts(raw)?;
                let code = match a.first() {
                    None => 0,
                    Some(n) => n
                        .parse::<i64>()
                        .map_err(|_| format!("\\exit: invalid exit code \"{n}\""))?,
                };
                return Ok(Flow::Quit(code.rem_euclid(256) as i32));
            }
            "goto" => {
                let a = self.texts(raw)?;
                let [label] = a.as_slice() else {
                    return Err("\\goto: expected one label name".into());
                };
                if let Some(f) = self.stack.last_mut() {
                    f.skip = Some(Skip {
                        label: label.clone(),
                        line,
                    });
                }
            }
            "label" => {
                let a = self.texts(raw)?;
                if a.len() != 1 {
                    return Err("\\label: expected one label name".into());
                }
            }
            "i" | "include" | "ir" | "include_relative" => {
                let a = self.texts(raw)?;
                let [file] = a.as_slice() else {
                    return Err(format!("\\{name}: missing required argument"));
                };
                let path = if name.starts_with("ir") || name == "include_relative" {
                    resolve(self.current_dir(), file)
                } else {
                    PathBuf::from(file)
                };
                let src = Source::load(&path).await.map_err(|e| e.to_string())?;
                if let Err(e) = self.include(src, 0, line) {
                    self.client_error(&format!("\\{name}: {e}")).await;
                    return Ok(Flow::Exit(EXIT_CLIENT));
                }
            }
            "run" => return self.cmd_run(raw, line).await,
            "timing" => {
                let a = self.texts(raw)?;
                self.timing = match a.first() {
                    None => !self.timing,
                    Some(v) => {
                        parse_bool(v).ok_or_else(|| format!("\\timing: invalid value \"{v}\""))?
                    }
                };
                let msg = format!("Timing is {}.\n", on_off(self.timing));
                self.print(&msg).await;
            }
            "pset" => {
                let a = self.texts(raw)?;
                let Some((opt, rest)) = a.split_first() else {
                    return Err("\\pset: missing required argument".into());
                };
                self.pset(opt, rest.first().map(String::as_str)).await?;
            }
            "t" => {
                let a = self.texts(raw)?;
                self.pset("tuples_only", a.first().map(String::as_str))
                    .await?;
            }
            "a" => {
                let target = if self.configured.format == Format::Unaligned {
                    "aligned"
                } else {
                    "unaligned"
                };
                self.pset("format", Some(target)).await?;
            }
            "f" => {
                let a = self.texts(raw)?;
                self.pset("fieldsep", a.first().map(String::as_str)).await?;
            }
            "x" => {
                let a = self.texts(raw)?;
                self.pset("expanded", a.first().map(String::as_str)).await?;
            }
            "rset" => self.rset(raw).await?,
            "o" | "out" => {
                let a = self.texts(raw)?;
                if let Some(old) = self.query_out.take() {
                    old.finish().await.map_err(|e| format!("\\o: {e}"))?;
                }
                if let Some(file) = a.first() {
                    let sink = FileSink::create(Path::new(file))
                        .await
                        .map_err(|e| format!("\\o: {file}: {e}"))?;
                    self.query_out = Some(sink);
                }
            }
            "export" => self.export(raw).await?,
            "g" => {
                let a = self.texts(raw)?;
                let mode = match a.first() {
                    Some(f) => SendMode::File(PathBuf::from(f)),
                    None => SendMode::Print,
                };
                return Ok(self.send_or_repeat(mode).await);
            }
            "gset" => {
                let a = self.texts(raw)?;
                let prefix = a.first().cloned().unwrap_or_default();
                return Ok(self.send_or_repeat(SendMode::Gset(prefix)).await);
            }
            "r" | "reset" => {
                self.query_buf.clear();
                self.print("Query buffer reset (cleared).\n").await;
            }
            "p" | "print" => {
                let text = if self.query_buf.trim().is_empty() {
                    self.last_query.clone()
                } else {
                    self.query_buf.clone()
                };
                let msg = if text.is_empty() {
                    "Query buffer is empty.\n".to_string()
                } else {
                    format!("{}\n", text.trim_end())
                };
                self.print(&msg).await;
            }
            "!" | "os" => {
                self.flush_stdout().await;
                let out = run_shell(raw.trim())
                    .await
                    .map_err(|e| format!("\\{name}: {e}"))?;
                self.print(&out.stdout).await;
                if !out.stderr.is_empty() {
                    self.err_line(out.stderr.trim_end_matches('\n')).await;
                }
                let [exit_code, error] = crate::vars::SHELL_VARIABLES;
                self.vars.set(exit_code, out.code.to_string());
                self.vars
                    .set(error, if out.code == 0 { "false" } else { "true" });
            }
            "copy" => return self.copy(raw).await,
            "logon" | "c" | "connect" => {
                let a = self.texts(raw).map_err(|e| format!("\\{name}: {e}"))?;
                let request = crate::logon::request(name, &a)?;
                return Ok(self.logon(name, request).await);
            }
            "logoff" => {
                if !self
                    .texts(raw)
                    .map_err(|e| format!("\\logoff: {e}"))?
                    .is_empty()
                {
                    return Err("\\logoff: takes no arguments".into());
                }
                return Ok(self.logoff().await);
            }
            "?" | "help" => {
                self.print(HELP).await;
            }
            "\\" => {}
            _ if crate::describe::parse(name).is_some() => {
                let a = self.texts(raw)?;
                if let Some(cmd) = crate::describe::parse(name) {
                    return Ok(self.describe(cmd, &a).await);
                }
            }
            _ => {
                let at = self.location(line);
                self.client_error(&format!("unsupported meta-command \\{name} at {at}"))
                    .await;
                return Ok(Flow::Exit(EXIT_CLIENT));
            }
        }
        Ok(Flow::Continue)
    }

    /// `\logon`, `\c`, `\connect`. A connection that fails keeps the current one at a
    /// terminal (the prompt comes back) and ends a script with exit 2, its session closed, as
    /// psql does: "If the connection attempt fails ..., the previous connection will be kept if
    /// psql is in interactive mode" and in a script psql will not go on "accidentally acting on
    /// the wrong database" (<https://www.postgresql.org/docs/current/app-psql.html>, `\connect`;
    /// in its older versions: "When executing a non-interactive script, processing will
    /// immediately stop with an error"). RSQL documents `\logon` as replacing the current
    /// session and says nothing about failure
    /// (<https://docs.aws.amazon.com/redshift/latest/mgmt/rsql-query-tool-commands.html>).
    async fn logon(&mut self, name: &str, request: crate::backend::Logon) -> Flow {
        let keep = self.interactive;
        match self.backend.logon(request, keep).await {
            Ok(message) => {
                if !self.vars.flag("QUIET") {
                    self.print(&format!("{message}\n")).await;
                }
                Flow::Continue
            }
            Err(crate::backend::LogonError::Invalid(e)) => {
                let at = self.location(self.piece_line);
                self.client_error(&format!("\\{name}: {e} at {at}")).await;
                Flow::Exit(EXIT_CLIENT)
            }
            Err(e @ crate::backend::LogonError::Unsupported) => {
                let at = self.location(self.piece_line);
                self.client_error(&format!("\\{name}: {e} at {at}")).await;
                Flow::Exit(EXIT_CLIENT)
            }
            Err(crate::backend::LogonError::Failed(e)) => {
                let at = self.location(self.piece_line);
                self.client_error(&format!("\\{name}: {e} at {at}")).await;
                if keep {
                    // psql's words.
                    self.err_line("Previous connection kept").await;
                    Flow::Continue
                } else {
                    Flow::Exit(crate::interpreter::EXIT_CONNECTION)
                }
            }
        }
    }

    /// `\logoff`: the session ends, rsql does not; every statement then fails with psql's
    /// "You are currently not connected to a database." until a `\logon`. RSQL's command
    /// reference listed `\logoff` in its 2021 versions only
    /// (<https://docs.aws.amazon.com/redshift/latest/mgmt/rsql-query-tool-commands.html>).
    async fn logoff(&mut self) -> Flow {
        match self.backend.logoff().await {
            Ok(()) => Flow::Continue,
            Err(e) => {
                let at = self.location(self.piece_line);
                self.client_error(&format!("\\logoff: {e} at {at}")).await;
                Flow::Exit(EXIT_CLIENT)
            }
        }
    }

    /// Sends the query buffer for `\g`/`\gset`; an empty buffer repeats the previous query.
    async fn send_or_repeat(&mut self, mode: SendMode) -> Flow {
        if self.query_buf.trim().is_empty() {
            self.query_buf = self.last_query.clone();
        }
        self.send(mode).await
    }

    async fn cmd_run(&mut self, raw: &str, line: usize) -> Result<Flow, String> {
        let mut file = None;
        let mut skip = 0usize;
        // Arguments are `file=NAME` and `skip=N`, possibly with spaces around `=` or commas.
        let normalized = raw.replace(',', " ");
        let a = self.texts(&normalized.replace(" = ", "=").replace("= ", "="))?;
        for item in a {
            let (k, v) = item
                .split_once('=')
                .ok_or_else(|| format!("\\run: expected file=NAME [skip=N], got \"{item}\""))?;
            match k.to_ascii_lowercase().as_str() {
                "file" => file = Some(v.trim_matches('\'').to_string()),
                "skip" => {
                    skip = v
                        .parse()
                        .map_err(|_| format!("\\run: invalid skip count \"{v}\""))?
                }
                _ => return Err(format!("\\run: unknown option \"{k}\"")),
            }
        }
        let file = file.ok_or("\\run: missing file=NAME")?;
        let mut src = Source::load(Path::new(&file))
            .await
            .map_err(|e| e.to_string())?;
        if skip > 0 {
            let cut = src
                .text
                .match_indices('\n')
                .nth(skip - 1)
                .map(|(i, _)| i + 1)
                .unwrap_or(src.text.len());
            src.text = src.text[cut..].to_string();
            self.print(&format!("{skip} records skipped in RUN file.\n"))
                .await;
        }
        if let Err(e) = self.include(src, skip, line) {
            self.client_error(&format!("\\run: {e}")).await;
            return Ok(Flow::Exit(EXIT_CLIENT));
        }
        Ok(Flow::Continue)
    }

    /// `\pset OPTION [VALUE]`: changes the configured print options; they apply while RFORMAT
    /// is on.
    async fn pset(&mut self, opt: &str, value: Option<&str>) -> Result<(), String> {
        let c = &mut self.configured;
        let bool_arg = |cur: bool| -> Result<bool, String> {
            match value {
                None => Ok(!cur),
                Some(v) => parse_bool(v).ok_or_else(|| format!("\\pset: invalid value \"{v}\"")),
            }
        };
        let msg = match opt {
            "format" => {
                if let Some(v) = value {
                    c.format = Format::parse(v)
                        .ok_or_else(|| format!("\\pset: allowed formats are aligned, csv, unaligned, wrapped; got \"{v}\""))?;
                }
                format!("Output format is {}.", c.format.name())
            }
            "border" => {
                if let Some(v) = value {
                    c.border = v
                        .parse::<u8>()
                        .map_err(|_| format!("\\pset: invalid border \"{v}\""))?
                        .min(2);
                }
                format!("Border style is {}.", c.border)
            }
            "tuples_only" => {
                c.tuples_only = bool_arg(c.tuples_only)?;
                format!("Tuples only is {}.", on_off(c.tuples_only))
            }
            "footer" => {
                c.footer = bool_arg(c.footer)?;
                format!("Default footer is {}.", on_off(c.footer))
            }
            "expanded" | "x" => {
                c.expanded = bool_arg(c.expanded)?;
                format!("Expanded display is {}.", on_off(c.expanded))
            }
            "null" => {
                if let Some(v) = value {
                    c.null = v.to_string();
                }
                format!("Null display is \"{}\".", c.null)
            }
            "fieldsep" => {
                if let Some(v) = value {
                    c.fieldsep = v.to_string();
                }
                format!("Field separator is \"{}\".", c.fieldsep)
            }
            "recordsep" => {
                if let Some(v) = value {
                    c.recordsep = v.to_string();
                }
                format!(
                    "Record separator is \"{}\".",
                    c.recordsep.replace('\n', "<newline>")
                )
            }
            "title" => {
                c.title = value.map(str::to_string);
                match &c.title {
                    Some(t) => format!("Title is \"{t}\"."),
                    None => "Title is unset.".to_string(),
                }
            }
            "columns" => {
                if let Some(v) = value {
                    c.columns = v
                        .parse()
                        .map_err(|_| format!("\\pset: invalid columns \"{v}\""))?;
                }
                format!("Target width is {}.", c.columns)
            }
            // psql's messages (https://www.postgresql.org/docs/current/app-psql.html, \pset
            // pager); the pager is used only at a terminal, never in batch mode.
            "pager" => {
                self.pager_on = match value {
                    None => !self.pager_on,
                    Some(v) if v.eq_ignore_ascii_case("always") => true,
                    Some(v) => parse_bool(v)
                        .ok_or_else(|| format!("\\pset: invalid pager value \"{v}\""))?,
                };
                if self.pager_on {
                    "Pager is used for long output.".to_string()
                } else {
                    "Pager usage is off.".to_string()
                }
            }
            other => return Err(format!("\\pset: unknown option: {other}")),
        };
        self.settings_message(&msg).await;
        Ok(())
    }

    /// Prints a settings confirmation, noting that it waits for RFORMAT when that is off.
    async fn settings_message(&mut self, msg: &str) {
        let suffix = if self.rformat {
            ""
        } else {
            " (Changes will take effect after RFORMAT is switched ON)"
        };
        self.print(&format!("{msg}{suffix}\n")).await;
    }

    async fn rset(&mut self, raw: &str) -> Result<(), String> {
        let a = self.parse_args(raw)?;
        let Some((kw, rest)) = a.split_first() else {
            return Err("\\rset: missing keyword".into());
        };
        let strip = |s: &str| s.trim_matches('"').to_string();
        match kw.text.to_ascii_lowercase().as_str() {
            "rformat" => {
                self.rformat = match rest.first() {
                    None => true,
                    Some(v) => parse_bool(&v.text)
                        .ok_or_else(|| format!("\\rset rformat: invalid value \"{}\"", v.text))?,
                };
                let msg = format!("Rformat is {}.\n", on_off(self.rformat));
                self.print(&msg).await;
            }
            "width" => {
                if let Some(v) = rest.first() {
                    self.configured.columns = v
                        .text
                        .parse()
                        .map_err(|_| format!("\\rset width: invalid width \"{}\"", v.text))?;
                    self.configured.format = Format::Wrapped;
                }
                // Confirmed without the RFORMAT suffix that \pset and rtitle carry: the
                // \EXPORT example prints "Target width is 1500." with RFORMAT off
                // (rsql-query-tool-commands, \EXPORT).
                let msg = format!("Target width is {}.\n", self.configured.columns);
                self.print(&msg).await;
            }
            "heading" => {
                let t: Vec<String> = rest.iter().map(|r| strip(&r.text)).collect();
                let t = t.join(" ");
                self.heading = (!t.is_empty()).then(|| t.clone());
                self.print(&format!("Heading is set to: {t}\n")).await;
            }
            "rtitle" => {
                let t: Vec<String> = rest.iter().map(|r| strip(&r.text)).collect();
                let t = format!("&DATE||{}", t.join(" "));
                self.rtitle = Some(t.clone());
                self.settings_message(&format!("Rtitle is set to: {t}"))
                    .await;
            }
            "titledashes" => {
                let v = match rest.first() {
                    None => true,
                    Some(v) => parse_bool(&v.text).ok_or_else(|| {
                        format!("\\rset titledashes: invalid value \"{}\"", v.text)
                    })?,
                };
                // TITLEDASHES applies whether or not RFORMAT is on: the TITLEDASHES example
                // turns the dashes off with no \rset rformat in sight
                // (rsql-query-tool-variables, TITLEDASHES).
                self.configured.titledashes = v;
                self.base_print.titledashes = v;
                self.print(&format!("Titledashes is {}.\n", on_off(v)))
                    .await;
            }
            "errorlevel" => {
                match rest {
                    [] => {}
                    [v] if parse_bool(&v.text).is_some() => {
                        self.errorlevel_on = parse_bool(&v.text).unwrap_or(true);
                    }
                    [code, sev, n] if sev.text.eq_ignore_ascii_case("severity") => {
                        let n: u32 = n.text.parse().map_err(|_| {
                            format!("\\rset errorlevel: invalid severity \"{}\"", n.text)
                        })?;
                        let codes: Vec<String> = code
                            .text
                            .trim_matches(|c| c == '(' || c == ')')
                            .split(',')
                            .map(|s| s.trim().to_ascii_uppercase())
                            .filter(|s| !s.is_empty())
                            .collect();
                        for c in codes {
                            if c.len() != 5 && c != "UNKNOWN" {
                                return Err(format!(
                                    "\\rset errorlevel: \"{c}\" is not a SQLSTATE"
                                ));
                            }
                            self.severities.insert(c, n);
                        }
                        self.errorlevel_on = true;
                    }
                    _ => {
                        return Err(
                            "\\rset errorlevel: expected on|off or SQLSTATE severity N".into()
                        );
                    }
                }
                let msg = format!("Errorlevel is {}.\n", on_off(self.errorlevel_on));
                self.print(&msg).await;
            }
            "maxerror" => {
                let v = rest.first().ok_or("\\rset maxerror: missing value")?;
                self.maxerror = v
                    .text
                    .parse()
                    .map_err(|_| format!("\\rset maxerror: invalid value \"{}\"", v.text))?;
                let msg = if self.maxerror == 0 {
                    "Maxerror is default.\n".to_string()
                } else {
                    format!("Maxerror is {}.\n", self.maxerror)
                };
                self.print(&msg).await;
            }
            other => return Err(format!("\\rset: unknown keyword \"{other}\"")),
        }
        Ok(())
    }

    async fn export(&mut self, raw: &str) -> Result<(), String> {
        let a = self.texts(&raw.replace("= ", "=").replace(" =", "="))?;
        match a.first().map(|s| s.to_ascii_lowercase()).as_deref() {
            Some("reset") => {
                if let Some(sink) = self.export.take() {
                    sink.finish()
                        .await
                        .map_err(|e| format!("\\export reset: {e}"))?;
                }
            }
            Some("report") => {
                let file = a
                    .iter()
                    .skip(1)
                    .find_map(|x| {
                        let (k, v) = x.split_once('=')?;
                        k.eq_ignore_ascii_case("file").then(|| v.to_string())
                    })
                    .ok_or("\\export report: missing file=PATH")?;
                if let Some(old) = self.export.take() {
                    old.finish().await.map_err(|e| format!("\\export: {e}"))?;
                }
                let sink = FileSink::create(Path::new(&file))
                    .await
                    .map_err(|e| format!("\\export: {file}: {e}"))?;
                self.export = Some(sink);
            }
            _ => return Err("\\export: expected \"report file=PATH\" or \"reset\"".into()),
        }
        Ok(())
    }

    async fn copy(&mut self, raw: &str) -> Result<Flow, String> {
        let cmd = copy::parse(raw).map_err(|e| e.to_string())?;
        if let Some(flow) = self.refuse_nul(&cmd.sql).await {
            return Ok(flow);
        }
        let path = PathBuf::from(&cmd.file);
        let file_err = |e: std::io::Error| format!("\\copy: {}: {e}", path.display());
        let started = std::time::Instant::now();
        let outcome = if cmd.from {
            let file = tokio::fs::File::open(&path).await.map_err(file_err)?;
            let mut reader = tokio::io::BufReader::with_capacity(256 * 1024, file);
            self.backend.copy_in(&cmd.sql, &mut reader).await
        } else {
            let mut sink = FileSink::create(&path).await.map_err(file_err)?;
            let outcome = self.backend.copy_out(&cmd.sql, sink.writer()).await;
            if matches!(&outcome, Ok(o) if o.result.is_ok()) {
                sink.finish().await.map_err(file_err)?;
            } else {
                sink.discard().await;
            }
            outcome
        };
        Ok(self
            .round_trip_done(outcome, SendMode::Print, started)
            .await)
    }
}

fn on_off(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}

fn resolve(dir: &Path, file: &str) -> PathBuf {
    let p = Path::new(file);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        dir.join(p)
    }
}

struct ShellOutput {
    stdout: String,
    stderr: String,
    code: i32,
}

async fn run_shell(cmd: &str) -> std::io::Result<ShellOutput> {
    let out = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(std::process::Stdio::null())
        .output()
        .await?;
    Ok(ShellOutput {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    })
}

fn run_backtick(cmd: &str) -> Result<String, String> {
    let run = || {
        std::process::Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .stdin(std::process::Stdio::null())
            .output()
    };
    let out = match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(run)
        }
        _ => run(),
    }
    .map_err(|e| format!("could not run `{cmd}`: {e}"))?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

const HELP: &str = "\
General
  \\q, \\quit, \\exit [N]   leave, with exit code N (default 0)
  \\i FILE, \\ir FILE       run commands from FILE
  \\run file=NAME [skip=N] run FILE, skipping its first N lines
  \\! CMD, \\os CMD         run a shell command
Query buffer
  \\g [FILE], \\gset [PREFIX], \\p, \\r
Connection
  \\logon {[DBNAME|- USER|- HOST|- PORT|- [PASSWORD]] | conninfo}
                         connect to a new database (- keeps the current value)
  \\c, \\connect {[DBNAME|- USER|- HOST|- PORT|-] | conninfo}
                         the same, psql's way
  \\logoff                end the session without exiting
Informational (options: S = show system objects, + = additional detail)
  \\d[S+]                 list tables, views and sequences
  \\d[S+]  NAME           describe table, view or sequence (Redshift: encoding, dist and sort keys)
  \\dt[S+] [PATTERN]      list tables
  \\dv[S+] [PATTERN]      list views
  \\dn[S+] [PATTERN]      list schemas
  \\df[S+] [PATTERN]      list functions
  \\du [PATTERN]          list roles
  \\l[+]   [PATTERN]      list databases
Variables
  \\set [NAME [VALUE]], \\unset NAME
Control flow
  \\if EXPR, \\elseif EXPR, \\else, \\endif, \\goto LABEL, \\label LABEL
Output
  \\echo, \\qecho, \\warn, \\remark TEXT (// = newline), \\o [FILE], \\timing [on|off]
  \\pset OPTION [VALUE], \\t, \\a, \\f, \\x  (apply while \\rset rformat is on)
  \\rset rformat|width|heading|rtitle|titledashes|errorlevel|maxerror ...
  \\export report file=PATH, \\export reset
  \\copy TABLE from|to FILE [options]
";
