//! `rsqlflow check`: finds broken RSQL jobs before they run, like a compiler.
//!
//! The checks read scripts with the `rsql` crate's own lexer and argument parser (the ones the
//! interpreter runs), so what the checker sees is what the interpreter will do. Each problem is
//! a [`Finding`] of a [`Rule`] with a stable kebab-case code, a severity, a place and a message;
//! [`report`] prints findings as compiler-style text, JSON lines or GitHub workflow commands.
//! [`check_project`] reads the state machines too (`machine`): the ASL validator, the job
//! specs their Tasks pass to submit-job, and which variables each script is given. This crate
//! knows nothing of AWS: the job spec's rules come in through [`JobContract`], the template's
//! facts as [`TemplateFacts`].

mod error;
mod finding;
mod json_pos;
mod lines;
mod machine;
mod project;
mod read;
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
pub use project::{JobContract, Project, TemplateFacts, TemplateMachine, check_project};
pub use rules::Rule;
pub use walk::{DEFAULT_MAX_FILE_SIZE, Kind, collect, collect_kinds, file_inside};

use std::collections::HashSet;
use std::path::Path;

use script::Passed;

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

/// Checks the files under `paths` (files as given; directories walked for scripts and
/// definitions, without following symbolic links) with no project around them. A path that
/// does not exist is an error: the check cannot run.
pub fn check_paths(paths: &[std::path::PathBuf], options: &Options) -> Result<Outcome, CheckError> {
    check_project(paths, &Project::default(), options)
}

/// Checks one script file with the `-v` variables of `options`; a file that cannot be read
/// (or is too large) is one finding.
pub fn check_file(path: &Path, options: &Options) -> Vec<Finding> {
    let passed = Passed {
        cli: options.known_passed.clone(),
        ..Passed::default()
    };
    check_script_file(path, options, &passed).0
}

/// Checks one script file given `passed`; also returns the variables it reads (None when it
/// could not be read).
fn check_script_file(
    path: &Path,
    options: &Options,
    passed: &Passed,
) -> (Vec<Finding>, Option<HashSet<String>>) {
    let display = path.display().to_string();
    let bytes = match read::read_bounded(path, options.max_file_size) {
        Ok(b) => b,
        Err(why) => {
            return (
                vec![Finding::new(
                    Rule::UnreadableFile,
                    Severity::Error,
                    &display,
                    1,
                    1,
                    why.to_string(),
                )],
                None,
            );
        }
    };
    let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    match rsql::Source::from_bytes(&display, bytes, dir.clone()) {
        Ok(src) => {
            let (findings, used) = check_text_with(&display, &src.text, Some(&dir), passed);
            (findings, Some(used))
        }
        Err(e) => {
            let line = match &e {
                rsql::SourceError::InvalidUtf8 { line, .. }
                | rsql::SourceError::NulByte { line, .. } => *line,
                rsql::SourceError::Read { .. } => 1,
            };
            (
                vec![Finding::new(
                    Rule::LexError,
                    Severity::Error,
                    &display,
                    line,
                    1,
                    format!("{e}: rsql refuses the whole script (exit 1)"),
                )],
                None,
            )
        }
    }
}

/// Checks the text of one script named `file`. `dir` is the script's directory, against which
/// `\ir` resolves (and `\i` and `\run`, as a best guess); without it include files are not
/// looked for. Never panics, and runs in time linear in the text (includes aside).
pub fn check_text(file: &str, text: &str, dir: Option<&Path>, options: &Options) -> Vec<Finding> {
    let passed = Passed {
        cli: options.known_passed.clone(),
        ..Passed::default()
    };
    check_text_with(file, text, dir, &passed).0
}

fn check_text_with(
    file: &str,
    text: &str,
    dir: Option<&Path>,
    passed: &Passed,
) -> (Vec<Finding>, HashSet<String>) {
    let checked = script::check(file, text, dir, passed);
    let mut findings = checked.findings;
    suppress::apply(text, &mut findings);
    findings.sort_by_key(|f| (f.line, f.column));
    (findings, checked.used)
}
