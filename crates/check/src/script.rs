//! The checks of one script, in one pass over the pieces the `rsql` lexer makes of it (the
//! interpreter's own lexer and argument parser: no second grammar to drift apart).
//!
//! The pass follows the text top to bottom, as RSQL runs it: there are no loops and `\goto`
//! only jumps forward (https://docs.aws.amazon.com/redshift/latest/mgmt/rsql-query-tool-commands.html,
//! \GOTO), so "set earlier in the text" is "set earlier in every run". Both branches of an
//! `\if` are taken to run, so a variable set in either counts as set: no false errors, at the
//! price of missing a variable set on one branch only.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::path::{Path, PathBuf};

use rsql::args::{self, Arg};
use rsql::lexer::{PieceKind, lex};
use rsql::meta::{COMMANDS, PSET_OPTIONS, RSET_KEYWORDS, canonical, implemented, not_implemented};
use rsql::vars::{BUILTINS, SHELL_VARIABLES, Variables, parse_bool, valid_name};

use crate::finding::{Finding, Severity};
use crate::lines::Lines;
use crate::rules::Rule;
use crate::select;
use crate::suggest::closest;
use crate::walk::DEFAULT_MAX_FILE_SIZE;

/// How deeply `\if` blocks are tracked; deeper blocks are counted, not checked (a warning says
/// so). RSQL documents no limit; no real script comes near it, and it bounds the checker's
/// memory on hostile input.
pub const MAX_IF_DEPTH: usize = 1000;

/// How deeply included files are read for the variables they set.
const MAX_INCLUDE_DEPTH: usize = 8;

/// How many included files one script's check reads in all: each file is read once (a file
/// included again, or including itself, adds nothing new), and past this many the rest are
/// unknown. Without it `\ir a.rsql` six times in a.rsql is six to the eighth reads.
const MAX_INCLUDES_READ: usize = 256;

/// Variables psql sets at connection that rsqlflow's interpreter does not define.
const PSQL_VARIABLES: &[&str] = &[
    "DBNAME",
    "USER",
    "HOST",
    "PORT",
    "ENCODING",
    "VERSION",
    "VERSION_NAME",
    "VERSION_NUM",
    "SERVER_VERSION_NAME",
    "SERVER_VERSION_NUM",
    "LASTOID",
];

/// psql meta-commands that rsqlflow's interpreter does not run. RSQL extends psql ("supports
/// the capabilities of the PostgreSQL psql command-line tool",
/// https://docs.aws.amazon.com/redshift/latest/mgmt/rsql-query-tool.html), so AWS's rsql may
/// well run them: a warning, not an error. The describe family (`\d...`) is matched apart.
const PSQL_COMMANDS: &[&str] = &[
    "bind",
    "C",
    "cd",
    "conninfo",
    "copyright",
    "e",
    "edit",
    "ef",
    "ev",
    "encoding",
    "errverbose",
    "gdesc",
    "getenv",
    "gx",
    "h",
    "html",
    "list",
    "lo_export",
    "lo_import",
    "lo_list",
    "lo_unlink",
    "password",
    "prompt",
    "s",
    "setenv",
    "sf",
    "T",
    "w",
    "write",
];

fn psql_command(name: &str) -> bool {
    let base = name.trim_end_matches(['+', 'S']);
    PSQL_COMMANDS.contains(&base)
        || (name.starts_with('d') && name.chars().all(|c| c.is_ascii_alphabetic() || c == '+'))
}

/// Variables that report whether the last statement failed.
const ERROR_VARIABLES: &[&str] = &["ERROR", "ERRORCODE", "SQLSTATE"];

/// Variables the interpreter itself reads: passing them is never "unused".
const SETTINGS: &[&str] = &["ON_ERROR_STOP", "ECHO", "QUIET", "AUTOCOMMIT", "VERBOSITY"];

/// Whether a passed variable is one of rsql's settings (used by rsql itself, not the script).
pub(crate) fn is_setting(name: &str) -> bool {
    SETTINGS.contains(&name)
}

/// One open `\if` block.
struct Block {
    /// Line of the `\if`.
    line: usize,
    /// Line of its `\else`, once seen.
    else_line: Option<usize>,
    /// Line of an `\exit` ending the current branch.
    exited: Option<usize>,
    /// The unchecked statement before the `\if`: each branch starts from it.
    pending_before: Option<Range<usize>>,
    /// The unchecked statement at the end of an earlier branch.
    pending_branch: Option<Range<usize>>,
}

struct Checker<'a> {
    file: &'a str,
    text: &'a str,
    dir: Option<&'a Path>,
    lines: Lines,
    findings: Vec<Finding>,
    passed: &'a Passed,
    /// Names set so far (`\set`, `\gset`, included files).
    defined: HashSet<String>,
    /// Every `\set` in the file: name and line of the first.
    sets_anywhere: HashMap<String, usize>,
    /// `\gset` prefixes whose columns could not be read: names starting with one are unknown.
    unknown_prefixes: Vec<String>,
    /// An include the checker could not read came before: undefined names are only warnings.
    includes_unknown: bool,
    /// The included files read so far (each once).
    includes_read: HashSet<PathBuf>,
    used: HashSet<String>,
    blocks: Vec<Block>,
    /// `\if` blocks deeper than [`MAX_IF_DEPTH`], counted only.
    overflow: usize,
    /// Line of an `\exit` ending the top level.
    top_exited: Option<usize>,
    labels: HashMap<String, Vec<usize>>,
    gotos: Vec<(String, Range<usize>)>,
    exits: HashMap<i64, usize>,
    /// ON_ERROR_STOP: on, off, or unknown (set from a variable, or passed by the job).
    on_error_stop: Option<bool>,
    on_error_stop_line: usize,
    /// `\rset errorlevel` lets some errors through without stopping.
    relaxed: bool,
    /// Start of the statement being accumulated.
    buf_start: Option<usize>,
    last_query: Option<Range<usize>>,
    statements_seen: bool,
    /// The last statement, whose failure nothing has looked at yet.
    pending: Option<Range<usize>>,
    /// Inside BEGIN ... COMMIT/END/ROLLBACK.
    in_transaction: bool,
    /// A run of unchecked statements: the first, and how many.
    run: Option<(Range<usize>, usize)>,
}

/// Runs every per-script check over `text`.
/// The variables a script is given: by `-v` on the checker's command line, and by the jobs
/// that run it (from the state machines).
#[derive(Debug, Clone, Default)]
pub(crate) struct Passed {
    /// `-v NAME`: passed to every script checked; reported here when unused.
    pub(crate) cli: Vec<String>,
    /// Passed by every job that runs the script (their unused ones are reported at the jobs).
    pub(crate) jobs_all: Vec<String>,
    /// Passed by some of the jobs only: the name and which jobs do not pass it.
    pub(crate) jobs_some: Vec<(String, String)>,
    /// A job passes variables computed as a whole: which names it passes is not known, so an
    /// undefined name is only a warning.
    pub(crate) unknown: bool,
}

impl Passed {
    fn passes(&self, name: &str) -> bool {
        self.cli.iter().chain(&self.jobs_all).any(|p| p == name)
    }

    fn names(&self) -> impl Iterator<Item = &str> {
        self.cli
            .iter()
            .chain(&self.jobs_all)
            .chain(self.jobs_some.iter().map(|(n, _)| n))
            .map(String::as_str)
    }
}

/// What checking a script found, and the variable names it reads.
pub(crate) struct Checked {
    pub(crate) findings: Vec<Finding>,
    pub(crate) used: HashSet<String>,
}

pub(crate) fn check(file: &str, text: &str, dir: Option<&Path>, passed: &Passed) -> Checked {
    let mut c = Checker {
        file,
        text,
        dir,
        lines: Lines::new(text),
        findings: Vec::new(),
        passed,
        defined: HashSet::new(),
        sets_anywhere: HashMap::new(),
        unknown_prefixes: Vec::new(),
        includes_unknown: false,
        includes_read: HashSet::new(),
        used: HashSet::new(),
        blocks: Vec::new(),
        overflow: 0,
        top_exited: None,
        labels: HashMap::new(),
        gotos: Vec::new(),
        exits: HashMap::new(),
        on_error_stop: if passed.passes("ON_ERROR_STOP") {
            None
        } else {
            Some(false)
        },
        on_error_stop_line: 0,
        relaxed: false,
        buf_start: None,
        last_query: None,
        statements_seen: false,
        pending: None,
        in_transaction: false,
        run: None,
    };
    c.run_all();
    Checked {
        findings: c.findings,
        used: c.used,
    }
}

/// The first word of a statement, in lower case, past comments.
fn first_word(sql: &str) -> String {
    let mut rest = sql.trim_start();
    loop {
        if let Some(r) = rest.strip_prefix("--") {
            rest = r.split_once('\n').map_or("", |(_, r)| r).trim_start();
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r.split_once("*/").map_or("", |(_, r)| r).trim_start();
        } else {
            break;
        }
    }
    rest.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect::<String>()
        .to_lowercase()
}

/// A file's text, if it is UTF-8 and no larger than the size limit (read with a bound, so a
/// file that grows or lies about its size cannot hold the checker).
fn read_limited(path: &Path) -> Option<String> {
    let bytes = crate::read::read_bounded(path, DEFAULT_MAX_FILE_SIZE).ok()?;
    String::from_utf8(bytes).ok()
}

/// `DROP ... IF EXISTS`.
fn is_guard(sql: &str) -> bool {
    let words: Vec<String> = sql
        .split_whitespace()
        .take(5)
        .map(str::to_ascii_lowercase)
        .collect();
    words.windows(2).any(|w| w[0] == "if" && w[1] == "exists")
}

fn dynamic(raw: &str) -> bool {
    raw.contains(':') || raw.contains('`')
}

fn no_backticks(_: &str) -> Result<String, String> {
    // The checker never runs commands: a backtick's output is unknown.
    Ok(String::new())
}

fn parse_args(raw: &str) -> Result<Vec<Arg>, args::ArgError> {
    args::parse(raw, &Variables::new(), &mut no_backticks)
}

impl Checker<'_> {
    fn report(
        &mut self,
        rule: Rule,
        severity: Severity,
        range: Range<usize>,
        message: String,
        help: Option<String>,
    ) {
        let (line, column) = self.lines.pos(self.text, range.start);
        let width = self
            .text
            .get(range.clone())
            .map_or(1, |s| s.split('\n').next().unwrap_or("").chars().count())
            .max(1);
        let mut f = Finding::new(rule, severity, self.file, line, column, message);
        f.width = width;
        f.help = help;
        f.source_line = Some(self.lines.line_text(self.text, line).to_string());
        self.findings.push(f);
    }

    fn line_of(&self, offset: usize) -> usize {
        self.lines.pos(self.text, offset).0
    }

    fn run_all(&mut self) {
        let text = self.text;
        let pieces = lex(text);
        for p in &pieces {
            if let PieceKind::Meta(m) = &p.kind
                && canonical(&text[m.name.clone()]) == "set"
                && let Ok(a) = parse_args(&text[m.args.clone()])
                && let Some(first) = a.first()
            {
                self.sets_anywhere
                    .entry(first.text.clone())
                    .or_insert(p.line);
            }
        }
        for p in pieces {
            match p.kind {
                PieceKind::Sql(chunk) => {
                    if let Some(u) = chunk.unterminated {
                        self.report(
                            Rule::LexError,
                            Severity::Error,
                            u.offset..u.offset + 1,
                            format!(
                                "{} runs to the end of the file: rsql stops here (exit 1)",
                                u.what.describe()
                            ),
                            Some("close it on the line where it should end".into()),
                        );
                    }
                    let content = text[chunk.content_start.min(p.range.end)..p.range.end].trim();
                    if !content.is_empty() && content != ";" {
                        self.unreachable(chunk.content_start..chunk.content_start + 1);
                        if self.buf_start.is_none() {
                            self.buf_start = Some(chunk.content_start);
                        }
                    }
                    for v in &chunk.vars {
                        self.reference(&text[v.name.clone()], v.range.clone());
                    }
                    if chunk.terminated
                        && let Some(start) = self.buf_start.take()
                    {
                        let r = start..p.range.end;
                        self.statement(r.clone());
                        self.last_query = Some(r);
                    }
                }
                PieceKind::Meta(m) => {
                    let at = p.range.start;
                    self.meta(&text[m.name.clone()], m.args.clone(), at..m.name.end);
                }
            }
        }
        self.finish();
    }

    fn finish(&mut self) {
        if let Some(start) = self.buf_start.take() {
            self.statement(start..self.text.len());
        }
        self.end_of_flow();
        let open: Vec<usize> = self.blocks.iter().map(|b| b.line).collect();
        for line in open {
            let start = self.lines.starts.get(line - 1).copied().unwrap_or(0);
            let off = self.text[start..].find('\\').map_or(start, |o| start + o);
            self.report(
                Rule::UnbalancedIf,
                Severity::Error,
                off..off + 3,
                "this \\if has no \\endif: the file ends inside the block (rsql exits 1)".into(),
                Some("add \\endif where the block should end".into()),
            );
        }
        for (label, range) in std::mem::take(&mut self.gotos) {
            let offsets = self.labels.get(&label.to_lowercase()).cloned();
            let offsets = offsets.unwrap_or_default();
            if offsets.iter().any(|&o| o > range.start) {
                continue;
            }
            let (msg, help) = match offsets.first() {
                Some(&o) => (
                    format!(
                        "\\goto {label} jumps backwards to the \\label at line {}: RSQL jumps forward only, so the label is never found (rsql exits 1)",
                        self.line_of(o)
                    ),
                    Some("move the \\label after the \\goto".to_string()),
                ),
                None => {
                    let known: Vec<String> = self.labels.keys().cloned().collect();
                    let lower = label.to_lowercase();
                    (
                        format!(
                            "no \\label {label} after this \\goto: the rest of the script is skipped and rsql exits 1"
                        ),
                        closest(&lower, known.iter().map(String::as_str))
                            .map(|c| format!("did you mean {c}?")),
                    )
                }
            };
            self.report(Rule::GotoWithoutLabel, Severity::Error, range, msg, help);
        }
        let unused: Vec<String> = self
            .passed
            .cli
            .iter()
            .filter(|p| !self.used.contains(*p) && !SETTINGS.contains(&p.as_str()))
            .cloned()
            .collect();
        for name in unused {
            self.report(
                Rule::UnusedVariable,
                Severity::Warning,
                0..1,
                format!("the jobs pass :{name}, but this script never uses it"),
                None,
            );
        }
    }

    /// A piece at `range` runs here: report it if an `\exit` before it ends its block.
    fn unreachable(&mut self, range: Range<usize>) {
        if self.overflow > 0 {
            return;
        }
        let slot = match self.blocks.last_mut() {
            Some(b) => &mut b.exited,
            None => &mut self.top_exited,
        };
        if let Some(line) = slot.take() {
            self.report(
                Rule::UnreachableAfterExit,
                Severity::Warning,
                range,
                format!("this never runs: the \\exit at line {line} ends the script first"),
                Some("remove it, or put a \\label before it if a \\goto should reach it".into()),
            );
        }
    }

    /// A statement is sent: it replaces the status of the one before. Inside an explicit
    /// transaction a failure is not lost: the transaction is aborted and every later statement
    /// in it fails too (25P02), so a check further on in the transaction sees it.
    fn statement(&mut self, range: Range<usize>) {
        self.check_sql(range.clone());
        self.statements_seen = true;
        let word = first_word(&self.text[range.clone()]);
        let begins = matches!(word.as_str(), "begin" | "start");
        let ends = matches!(word.as_str(), "commit" | "end" | "rollback" | "abort");
        if self.on_error_stop != Some(false) {
            self.pending = None;
            self.in_transaction = begins;
            return;
        }
        if self.in_transaction && !begins && !ends {
            self.pending = Some(range);
            return;
        }
        if let Some(prev) = self.pending.take() {
            self.run = Some(match self.run.take() {
                Some((first, n)) => (first, n + 1),
                None => (prev, 1),
            });
        }
        if begins {
            // BEGIN itself does not fail in practice; what follows it is what to check.
            self.in_transaction = true;
            return;
        }
        if word == "drop" && is_guard(&self.text[range.clone()]) {
            // DROP ... IF EXISTS clears the way for a CREATE of the same name: if it fails,
            // that CREATE fails too, and its check sees it.
            return;
        }
        if ends {
            self.in_transaction = false;
        }
        self.pending = Some(range);
    }

    /// An `\if` looks at the status of the last statement.
    fn error_checked(&mut self, at: Range<usize>) {
        if self.on_error_stop == Some(true) && !self.relaxed && self.statements_seen {
            self.report(
                Rule::DeadErrorCheck,
                Severity::Warning,
                at,
                format!(
                    "ON_ERROR_STOP is on (line {}): a failed statement stops the script before this check, which can only ever see success",
                    self.on_error_stop_line
                ),
                Some("drop ON_ERROR_STOP and keep the checks, or drop the checks".into()),
            );
        }
        self.pending = None;
        self.flush_run();
    }

    /// The script can end here (an `\exit`, the end of the file).
    fn end_of_flow(&mut self) {
        if let Some(p) = self.pending.take() {
            self.run = Some(match self.run.take() {
                Some((first, n)) => (first, n + 1),
                None => (p, 1),
            });
        }
        self.flush_run();
    }

    fn flush_run(&mut self) {
        if let Some((range, n)) = self.run.take() {
            let what = if n == 1 {
                "whether this statement failed".to_string()
            } else {
                format!("whether this statement or the {} after it failed", n - 1)
            };
            self.report(
                Rule::UncheckedStatement,
                Severity::Warning,
                range,
                format!(
                    "nothing checks {what}: another statement or the end of the script comes first, and ON_ERROR_STOP is off"
                ),
                Some("add \\if :ERROR <> 0 ... \\exit N \\endif, or \\set ON_ERROR_STOP on".into()),
            );
        }
    }

    fn reference(&mut self, name: &str, range: Range<usize>) {
        self.used.insert(name.to_string());
        if BUILTINS.iter().any(|(b, _)| *b == name)
            || SHELL_VARIABLES.contains(&name)
            || self.defined.contains(name)
            || self.passed.passes(name)
            || self
                .unknown_prefixes
                .iter()
                .any(|p| name.starts_with(p.as_str()))
        {
            return;
        }
        if PSQL_VARIABLES.contains(&name) {
            self.report(
                Rule::UndefinedVariable,
                Severity::Warning,
                range,
                format!(
                    ":{name} is set by psql at connection, but not by rsqlflow's interpreter: locally it stays as written"
                ),
                None,
            );
            return;
        }
        let mut candidates: Vec<&str> = BUILTINS.iter().map(|(b, _)| *b).collect();
        candidates.extend(self.defined.iter().map(String::as_str));
        candidates.extend(self.passed.names());
        candidates.extend(self.sets_anywhere.keys().map(String::as_str));
        let help = closest(name, candidates).map(|c| format!("did you mean :{c}?"));
        let here = self.line_of(range.start);
        let partly = self.passed.jobs_some.iter().find(|(n, _)| n == name);
        let mut message = match (self.sets_anywhere.get(name), partly) {
            (Some(&line), _) if line > here => format!(
                ":{name} is used before it is set (\\set at line {line}): here it is still undefined and rsql leaves it as written"
            ),
            (_, Some((_, which))) => format!(
                ":{name} is not passed by every job that runs this script ({which}): in those jobs rsql leaves it as written"
            ),
            _ => format!(":{name} is never set and no job passes it: rsql leaves it as written"),
        };
        if self.passed.unknown && partly.is_none() {
            message.push_str(" (unless a job's computed variables pass it)");
        }
        let severity = if self.includes_unknown || (self.passed.unknown && partly.is_none()) {
            message.push_str(" (unless a file included earlier sets it)");
            Severity::Warning
        } else {
            Severity::Error
        };
        self.report(Rule::UndefinedVariable, severity, range, message, help);
    }

    fn malformed(&mut self, range: Range<usize>, message: String) {
        self.report(
            Rule::MalformedMetaCommand,
            Severity::Error,
            range,
            format!("{message}: rsql stops here (exit 1)"),
            None,
        );
    }

    /// Byte range of the first argument in `args` (or the command name when there is none).
    fn first_arg(&self, args: &Range<usize>, name: &Range<usize>) -> Range<usize> {
        let raw = &self.text[args.clone()];
        let lead = raw.len() - raw.trim_start().len();
        let len = raw.split_whitespace().next().map_or(0, str::len);
        if len == 0 {
            name.clone()
        } else {
            args.start + lead..args.start + lead + len
        }
    }

    fn meta(&mut self, raw_name: &str, args: Range<usize>, name_range: Range<usize>) {
        let name = canonical(raw_name);
        if name == "\\" {
            return;
        }
        let raw = &self.text[args.clone()];
        if !matches!(
            name.as_str(),
            "else" | "elseif" | "elif" | "endif" | "label"
        ) {
            self.unreachable(name_range.clone());
        }
        if !implemented(&name) {
            if not_implemented(raw_name) || psql_command(raw_name) {
                self.report(
                    Rule::UnknownMetaCommand,
                    Severity::Warning,
                    name_range,
                    format!(
                        "\\{raw_name} is a psql or RSQL command that AWS's rsql may run, but rsqlflow's interpreter does not implement it: a local run stops here (exit 1)"
                    ),
                    None,
                );
            } else {
                let known = COMMANDS.iter().copied().filter(|c| *c != "\\");
                let help = closest(&name, known).map(|c| format!("did you mean \\{c}?"));
                self.report(
                    Rule::UnknownMetaCommand,
                    Severity::Error,
                    name_range,
                    format!("unknown meta-command \\{raw_name}: rsql stops here (exit 1)"),
                    help,
                );
            }
            return;
        }
        if matches!(name.as_str(), "logon" | "c" | "connect" | "logoff") {
            // `rsqlflow rsql` runs these; a job's session is the one its runner gave it.
            self.report(
                Rule::UnknownMetaCommand,
                Severity::Warning,
                name_range,
                format!(
                    "\\{raw_name} replaces the session in `rsqlflow rsql`, but a job runs on the warehouse its runner connected: a local job run stops here (exit 1)"
                ),
                None,
            );
            return;
        }
        let mut parsed = None;
        let mut refs: Vec<(Range<usize>, String)> = Vec::new();
        if !matches!(name.as_str(), "!" | "os" | "copy") {
            let vars = Variables::new();
            let result = args::parse_with(raw, &vars, &mut no_backticks, &mut |r, n| {
                refs.push((args.start + r.start..args.start + r.end, n.to_string()))
            });
            match result {
                Ok(a) => parsed = Some(a),
                Err(e) => self.report(
                    Rule::LexError,
                    Severity::Error,
                    name_range.clone(),
                    format!("{e} in the arguments of \\{raw_name}: rsql stops here (exit 1)"),
                    None,
                ),
            }
            for (r, n) in &refs {
                self.reference(n, r.clone());
            }
        }
        let texts: Vec<String> = parsed
            .as_ref()
            .map(|a: &Vec<Arg>| a.iter().map(|x| x.text.clone()).collect())
            .unwrap_or_default();
        let first = self.first_arg(&args, &name_range);
        let checks_error = refs
            .iter()
            .find(|(_, n)| ERROR_VARIABLES.contains(&n.as_str()))
            .map(|(r, _)| r.clone());
        let line = self.line_of(name_range.start);
        match name.as_str() {
            "if" => {
                self.expression(raw, &name_range);
                if let Some(r) = checks_error {
                    self.error_checked(r);
                }
                if self.blocks.len() >= MAX_IF_DEPTH {
                    if self.overflow == 0 {
                        self.report(
                            Rule::UnbalancedIf,
                            Severity::Warning,
                            name_range,
                            format!(
                                "\\if blocks nested more than {MAX_IF_DEPTH} deep: the checker does not follow the structure further"
                            ),
                            None,
                        );
                    }
                    self.overflow += 1;
                } else {
                    self.blocks.push(Block {
                        line,
                        else_line: None,
                        exited: None,
                        pending_before: self.pending.clone(),
                        pending_branch: None,
                    });
                }
            }
            "elseif" | "elif" => {
                if self.overflow > 0 {
                    return;
                }
                match self.blocks.last_mut() {
                    None => self.report(
                        Rule::UnbalancedIf,
                        Severity::Error,
                        name_range,
                        format!("\\{raw_name} without a matching \\if: rsql stops here (exit 1)"),
                        None,
                    ),
                    Some(b) if b.else_line.is_some() => {
                        let l = b.else_line.unwrap_or(0);
                        self.report(
                            Rule::UnbalancedIf,
                            Severity::Error,
                            name_range,
                            format!(
                                "\\{raw_name} after the \\else at line {l}: rsql stops here (exit 1)"
                            ),
                            None,
                        )
                    }
                    Some(b) => {
                        b.exited = None;
                        // Branches exclude each other: the next starts from the status before
                        // the \if, not from this branch's last statement.
                        if let Some(p) = self.pending.take() {
                            b.pending_branch = Some(p);
                        }
                        self.pending = b.pending_before.clone();
                        self.expression(raw, &name_range);
                        if let Some(r) = checks_error {
                            self.error_checked(r);
                        }
                    }
                }
            }
            "else" => {
                if self.overflow > 0 {
                    return;
                }
                match self.blocks.last_mut() {
                    None => self.report(
                        Rule::UnbalancedIf,
                        Severity::Error,
                        name_range,
                        "\\else without a matching \\if: rsql stops here (exit 1)".into(),
                        None,
                    ),
                    Some(b) if b.else_line.is_some() => {
                        let l = b.else_line.unwrap_or(0);
                        self.report(
                            Rule::UnbalancedIf,
                            Severity::Error,
                            name_range,
                            format!(
                                "a second \\else (the first is at line {l}): rsql stops here (exit 1)"
                            ),
                            None,
                        )
                    }
                    Some(b) => {
                        b.else_line = Some(line);
                        b.exited = None;
                        if let Some(p) = self.pending.take() {
                            b.pending_branch = Some(p);
                        }
                        self.pending = b.pending_before.clone();
                    }
                }
            }
            "endif" => {
                if self.overflow > 0 {
                    self.overflow -= 1;
                } else if let Some(b) = self.blocks.pop() {
                    if self.pending.is_none() {
                        self.pending = b.pending_branch;
                    }
                } else {
                    self.report(
                        Rule::UnbalancedIf,
                        Severity::Error,
                        name_range,
                        "\\endif without a matching \\if: rsql stops here (exit 1)".into(),
                        None,
                    );
                }
            }
            "set" => {
                let Some(n) = texts.first() else { return };
                let name_raw = &self.text[first.clone()];
                if !dynamic(name_raw) && !valid_name(n) {
                    self.malformed(first, format!("\\set: invalid variable name \"{n}\""));
                    return;
                }
                self.defined.insert(n.clone());
                if n == "ON_ERROR_STOP" {
                    self.on_error_stop_line = line;
                    self.on_error_stop = if dynamic(raw) {
                        None
                    } else {
                        Some(parse_bool(&texts[1..].concat()).unwrap_or(false))
                    };
                }
            }
            "unset" if texts.len() != 1 => {
                self.malformed(name_range, "\\unset takes one variable name".into());
            }
            "g" | "gset" => {
                let query = match self.buf_start.take() {
                    Some(s) => Some(s..name_range.start),
                    None => self.last_query.clone(),
                };
                if name == "gset" {
                    let prefix = texts.first().cloned().unwrap_or_default();
                    match query
                        .as_ref()
                        .and_then(|q| select::columns(&self.text[q.clone()]))
                    {
                        Some(cols) => {
                            for c in cols {
                                self.defined.insert(format!("{prefix}{c}"));
                            }
                        }
                        None => {
                            if !self.unknown_prefixes.contains(&prefix) {
                                self.unknown_prefixes.push(prefix);
                            }
                        }
                    }
                }
                if let Some(q) = query {
                    self.statement(q.clone());
                    self.last_query = Some(q);
                }
            }
            "exit" | "quit" | "q" => {
                // The exit code, when it is known: None for one given through a variable.
                let mut code_value = Some(0);
                if let Some(code) = texts.first() {
                    code_value = None;
                    if !dynamic(&self.text[first.clone()]) {
                        match code.parse::<i64>() {
                            Err(_) => self
                                .malformed(first, format!("\\exit: invalid exit code \"{code}\"")),
                            Ok(c) => {
                                code_value = Some(c);
                                self.exit_code(c, first);
                            }
                        }
                    }
                }
                if code_value.is_some_and(|c| c.rem_euclid(256) == 0) {
                    self.end_of_flow();
                } else {
                    // A failure exit: the job fails whatever the statements before it did.
                    self.pending = None;
                    self.run = None;
                }
                match self.blocks.last_mut() {
                    Some(b) if self.overflow == 0 => b.exited = Some(line),
                    Some(_) => {}
                    None => self.top_exited = Some(line),
                }
            }
            "goto" => {
                if texts.len() != 1 {
                    self.malformed(name_range, "\\goto takes one label name".into());
                } else if !dynamic(&self.text[first.clone()]) {
                    self.gotos.push((texts[0].clone(), first));
                }
            }
            "label" => {
                if texts.len() != 1 {
                    self.malformed(name_range, "\\label takes one label name".into());
                    return;
                }
                let lower = texts[0].to_lowercase();
                if let Some(&o) = self.labels.get(&lower).and_then(|v| v.first()) {
                    let l = self.line_of(o);
                    self.report(
                        Rule::DuplicateLabel,
                        Severity::Warning,
                        first.clone(),
                        format!(
                            "label {} is also at line {l}: a \\goto goes to the first one after it",
                            texts[0]
                        ),
                        Some("give each label its own name".into()),
                    );
                }
                self.labels.entry(lower).or_default().push(first.start);
                // A \goto can land here: what follows is reachable again.
                self.top_exited = None;
                for b in &mut self.blocks {
                    b.exited = None;
                }
            }
            "i" | "include" | "ir" | "include_relative" => {
                if texts.len() != 1 {
                    self.malformed(name_range, format!("\\{name} takes one file name"));
                    return;
                }
                let relative = name.starts_with("ir") || name == "include_relative";
                self.include(&texts[0], relative, first);
            }
            "run" => {
                let normalized = raw.replace(',', " ").replace(" = ", "=").replace("= ", "=");
                let items = parse_args(&normalized).unwrap_or_default();
                let file = items.iter().find_map(|a| {
                    let (k, v) = a.text.split_once('=')?;
                    k.eq_ignore_ascii_case("file")
                        .then(|| v.trim_matches('\'').to_string())
                });
                match file {
                    None => self.malformed(name_range, "\\run: missing file=NAME".into()),
                    Some(f) => self.include(&f, false, first),
                }
            }
            "timing" => {
                if let Some(v) = texts.first()
                    && !dynamic(raw)
                    && parse_bool(v).is_none()
                {
                    self.malformed(first, format!("\\timing: invalid value \"{v}\""));
                }
            }
            "copy" => {
                if let Err(e) = rsql::copy::parse(raw) {
                    self.malformed(name_range, e.to_string());
                }
            }
            "export" => {
                let normalized = raw.replace("= ", "=").replace(" =", "=");
                let items: Vec<String> = parse_args(&normalized)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|a| a.text)
                    .collect();
                let ok = match items.first().map(|s| s.to_ascii_lowercase()).as_deref() {
                    Some("reset") => true,
                    Some("report") => items.iter().skip(1).any(|x| {
                        x.split_once('=')
                            .is_some_and(|(k, _)| k.eq_ignore_ascii_case("file"))
                    }),
                    _ => false,
                };
                if !ok && !dynamic(raw) {
                    self.malformed(
                        name_range,
                        "\\export: expected \"report file=PATH\" or \"reset\"".into(),
                    );
                }
            }
            "rset" => {
                let Some(kw) = texts.first() else {
                    self.malformed(name_range, "\\rset: missing keyword".into());
                    return;
                };
                let kw = kw.to_ascii_lowercase();
                if !RSET_KEYWORDS.contains(&kw.as_str()) {
                    if !dynamic(raw) {
                        self.malformed(first, format!("\\rset: unknown keyword \"{kw}\""));
                    }
                    return;
                }
                if kw == "errorlevel" {
                    match &texts[1..] {
                        [v] if parse_bool(v) == Some(false) => self.relaxed = true,
                        [_, _, n] if n.trim() == "0" => self.relaxed = true,
                        _ => {}
                    }
                }
            }
            "!" | "os" => {
                for v in SHELL_VARIABLES {
                    self.defined.insert(v.to_string());
                }
            }
            "pset" => match texts.first() {
                None => self.malformed(name_range, "\\pset: missing required argument".into()),
                Some(opt) if !PSET_OPTIONS.contains(&opt.as_str()) && !dynamic(raw) => {
                    let help = closest(opt, PSET_OPTIONS.iter().copied())
                        .map(|c| format!("did you mean {c}?"));
                    self.report(
                        Rule::MalformedMetaCommand,
                        Severity::Error,
                        first,
                        format!("\\pset: unknown option: {opt}: rsql stops here (exit 1)"),
                        help,
                    );
                }
                Some(_) => {}
            },
            _ => {}
        }
    }

    fn expression(&mut self, raw: &str, name_range: &Range<usize>) {
        match rsql::expr::evaluate(raw, &Variables::new()) {
            Ok(_) | Err(rsql::expr::ExprError::NotBoolean(_)) => {}
            // rsql reports it and takes the branch as false (psql's rule), then goes on.
            Err(e) => self.report(
                Rule::MalformedMetaCommand,
                Severity::Warning,
                name_range.clone(),
                format!("{e}: rsql reports an error here and takes the branch as not taken"),
                None,
            ),
        }
    }

    fn exit_code(&mut self, code: i64, at: Range<usize>) {
        if !(0..=255).contains(&code) {
            let seen = code.rem_euclid(256);
            let severity = if seen == 0 {
                Severity::Error
            } else {
                Severity::Warning
            };
            let what = if seen == 0 {
                "0, success".to_string()
            } else {
                seen.to_string()
            };
            self.report(
                Rule::ExitCodeRange,
                severity,
                at.clone(),
                format!("exit code {code} is outside 0-255: the job's exit status will be {what}"),
                Some("use a code from 1 to 255 for a failure".into()),
            );
        }
        if code != 0 {
            let line = self.line_of(at.start);
            match self.exits.get(&code) {
                Some(&first) => self.report(
                    Rule::ExitCodeReused,
                    Severity::Warning,
                    at,
                    format!(
                        "exit code {code} is also used at line {first}: the two failures cannot be told apart"
                    ),
                    Some("give each failure its own exit code".into()),
                ),
                None => {
                    self.exits.insert(code, line);
                }
            }
        }
    }

    fn include(&mut self, file: &str, relative: bool, at: Range<usize>) {
        if dynamic(&self.text[at.clone()]) || file.is_empty() {
            self.includes_unknown = true;
            return;
        }
        let p = Path::new(file);
        let mut candidates: Vec<PathBuf> = Vec::new();
        if p.is_absolute() {
            candidates.push(p.to_path_buf());
        } else {
            match self.dir {
                Some(d) => candidates.push(d.join(p)),
                None => {
                    self.includes_unknown = true;
                    return;
                }
            }
            if !relative {
                candidates.push(p.to_path_buf());
            }
        }
        match candidates.iter().find(|c| c.is_file()).cloned() {
            Some(found) => self.read_include(&found, 1),
            None => {
                self.includes_unknown = true;
                let definite = relative || p.is_absolute();
                let (severity, msg) = if definite {
                    (
                        Severity::Error,
                        format!("{file} does not exist: rsql stops here (exit 1)"),
                    )
                } else {
                    (
                        Severity::Warning,
                        format!(
                            "{file} is neither next to the script nor in the current directory: \\i and \\run resolve it against the run's working directory, and rsql exits 1 if it is not there"
                        ),
                    )
                };
                self.report(Rule::MissingInclude, severity, at, msg, None);
            }
        }
    }

    /// Takes in the variables an included file sets (and the files it includes).
    fn read_include(&mut self, path: &Path, depth: usize) {
        let seen_key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        if self.includes_read.contains(&seen_key) {
            return;
        }
        if self.includes_read.len() >= MAX_INCLUDES_READ {
            self.includes_unknown = true;
            return;
        }
        self.includes_read.insert(seen_key);
        let text = if depth <= MAX_INCLUDE_DEPTH {
            read_limited(path)
        } else {
            None
        };
        let Some(text) = text else {
            self.includes_unknown = true;
            return;
        };
        let dir = path.parent().map(Path::to_path_buf);
        for p in lex(&text) {
            let m = match p.kind {
                PieceKind::Meta(m) => m,
                PieceKind::Sql(chunk) => {
                    // What an included file reads counts as used by the script.
                    for v in &chunk.vars {
                        self.used.insert(text[v.name.clone()].to_string());
                    }
                    continue;
                }
            };
            let name = canonical(&text[m.name.clone()]);
            let raw = &text[m.args.clone()];
            let mut refs = Vec::new();
            let _ = args::parse_with(raw, &Variables::new(), &mut no_backticks, &mut |_, n| {
                refs.push(n.to_string())
            });
            self.used.extend(refs);
            let texts: Vec<String> = parse_args(raw)
                .unwrap_or_default()
                .into_iter()
                .map(|a| a.text)
                .collect();
            match name.as_str() {
                "set" => {
                    if let Some(n) = texts.first() {
                        self.defined.insert(n.clone());
                    }
                }
                "gset" => {
                    let prefix = texts.first().cloned().unwrap_or_default();
                    if !self.unknown_prefixes.contains(&prefix) {
                        self.unknown_prefixes.push(prefix);
                    }
                }
                "!" | "os" => {
                    for v in SHELL_VARIABLES {
                        self.defined.insert(v.to_string());
                    }
                }
                "i" | "include" | "ir" | "include_relative" | "run" => {
                    let target = if name == "run" {
                        texts.iter().find_map(|a| {
                            let (k, v) = a.split_once('=')?;
                            k.eq_ignore_ascii_case("file").then(|| v.to_string())
                        })
                    } else {
                        texts.first().cloned()
                    };
                    let next = target.filter(|t| !dynamic(t)).and_then(|t| {
                        let tp = Path::new(&t);
                        let mut c = vec![];
                        if let Some(d) = &dir {
                            c.push(d.join(tp));
                        }
                        c.push(tp.to_path_buf());
                        c.into_iter().find(|x| x.is_file())
                    });
                    match next {
                        Some(n) => self.read_include(&n, depth + 1),
                        None => self.includes_unknown = true,
                    }
                }
                _ => {}
            }
        }
    }
}

impl Checker<'_> {
    /// The statement as Redshift SQL (`sql.rs`): syntax, local refusals, COPY/UNLOAD options.
    fn check_sql(&mut self, range: Range<usize>) {
        let Some(sql) = self.text.get(range.clone()) else {
            return;
        };
        for f in crate::sql::check(sql) {
            let at = range.start + f.range.start..range.start + f.range.end;
            self.report(f.rule, f.severity, at, f.message, f.help);
        }
    }
}
