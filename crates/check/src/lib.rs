//! `rsqlflow check`: finds broken RSQL jobs before they run, like a compiler.
//!
//! The checks read scripts with the `rsql` crate's own lexer and argument parser (the ones the
//! interpreter runs), so what the checker sees is what the interpreter will do. Each problem is
//! a [`Finding`] of a [`Rule`] with a stable kebab-case code, a severity, a place and a message;
//! [`report`] prints findings as compiler-style text, JSON lines or GitHub workflow commands.
//! This crate knows nothing of AWS: the variables jobs pass come in as [`Options::known_passed`].

mod error;
mod finding;
pub mod report;
mod rules;
mod script;
mod select;
mod sql;
mod suggest;
mod suppress;
mod walk;

pub use error::CheckError;
pub use finding::{Finding, Severity};
pub use rules::Rule;
pub use walk::{DEFAULT_MAX_FILE_SIZE, collect};

use std::path::Path;

/// What the checks are given besides the scripts.
#[derive(Debug, Clone)]
pub struct Options {
    /// Variables every job passes to every script checked (`-v NAME=...` on rsql's command
    /// line): defined for the checks, and reported when a script never uses one.
    pub known_passed: Vec<String>,
    /// Files larger than this many bytes are not read; each is reported instead.
    pub max_file_size: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            known_passed: Vec::new(),
            max_file_size: DEFAULT_MAX_FILE_SIZE,
        }
    }
}

/// The findings over a set of files.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// How many files were checked.
    pub files: usize,
    /// Every finding, by file, then line and column.
    pub findings: Vec<Finding>,
}

impl Outcome {
    /// The number of findings of a severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }
}

/// Checks the scripts under `paths` (files as given; directories walked for `*.rsql` and
/// `*.sql`, without following symbolic links). A path that does not exist is an error: the
/// check cannot run.
pub fn check_paths(paths: &[std::path::PathBuf], options: &Options) -> Result<Outcome, CheckError> {
    let files = collect(paths)?;
    let mut outcome = Outcome {
        files: files.len(),
        findings: Vec::new(),
    };
    for file in &files {
        outcome.findings.extend(check_file(file, options));
    }
    Ok(outcome)
}

/// Checks one script file; a file that cannot be read (or is too large) is one finding.
pub fn check_file(path: &Path, options: &Options) -> Vec<Finding> {
    let display = path.display().to_string();
    let too_big = |len: u64| {
        Finding::new(
            Rule::UnreadableFile,
            Severity::Error,
            &display,
            1,
            1,
            format!(
                "the file is {len} bytes, over the checker's limit of {} bytes; it was not checked",
                options.max_file_size
            ),
        )
    };
    match std::fs::metadata(path) {
        Ok(m) if !m.is_file() => {
            return vec![Finding::new(
                Rule::UnreadableFile,
                Severity::Error,
                &display,
                1,
                1,
                "not a regular file: it was not checked",
            )];
        }
        Ok(m) if m.len() > options.max_file_size => return vec![too_big(m.len())],
        Ok(_) => {}
        Err(e) => {
            return vec![Finding::new(
                Rule::UnreadableFile,
                Severity::Error,
                &display,
                1,
                1,
                format!("cannot read the file: {e}"),
            )];
        }
    }
    let mut bytes = Vec::new();
    let read = std::fs::File::open(path).and_then(|f| {
        use std::io::Read;
        f.take(options.max_file_size.saturating_add(1))
            .read_to_end(&mut bytes)
    });
    let bytes = match read {
        Ok(_) => bytes,
        Err(e) => {
            return vec![Finding::new(
                Rule::UnreadableFile,
                Severity::Error,
                &display,
                1,
                1,
                format!("cannot read the file: {e}"),
            )];
        }
    };
    if bytes.len() as u64 > options.max_file_size {
        return vec![too_big(bytes.len() as u64)];
    }
    let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    match rsql::Source::from_bytes(&display, bytes, dir.clone()) {
        Ok(src) => check_text(&display, &src.text, Some(&dir), options),
        Err(e) => {
            let line = match &e {
                rsql::SourceError::InvalidUtf8 { line, .. }
                | rsql::SourceError::NulByte { line, .. } => *line,
                rsql::SourceError::Read { .. } => 1,
            };
            vec![Finding::new(
                Rule::LexError,
                Severity::Error,
                &display,
                line,
                1,
                format!("{e}: rsql refuses the whole script (exit 1)"),
            )]
        }
    }
}

/// Checks the text of one script named `file`. `dir` is the script's directory, against which
/// `\ir` resolves (and `\i` and `\run`, as a best guess); without it include files are not
/// looked for. Never panics, and runs in time linear in the text (includes aside).
pub fn check_text(file: &str, text: &str, dir: Option<&Path>, options: &Options) -> Vec<Finding> {
    let mut findings = script::check(file, text, dir, &options.known_passed);
    suppress::apply(text, &mut findings);
    findings.sort_by_key(|f| (f.line, f.column));
    findings
}
