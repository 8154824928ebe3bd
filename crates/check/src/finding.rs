//! A finding: one problem in one script, at a line and column, under a rule.

use crate::rules::Rule;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The job will fail or do the wrong thing.
    Error,
    /// Probably a mistake, or fails only somewhere (on AWS's rsql, or locally).
    Warning,
    /// Something the checker could not check, said so that silence is not taken for a pass.
    Note,
}

impl Severity {
    /// `error` or `warning`.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

/// One problem found in a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule broken.
    pub rule: Rule,
    /// Error or warning.
    pub severity: Severity,
    /// The script, as it was named to the checker.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// How many characters the problem spans on its line (at least 1), for the caret.
    pub width: usize,
    /// What is wrong.
    pub message: String,
    /// A hint: "did you mean ...", or how to fix it.
    pub help: Option<String>,
    /// The text of the line, for the compiler-style report.
    pub source_line: Option<String>,
}

impl Finding {
    /// A finding without help or source line, one character wide.
    pub fn new(
        rule: Rule,
        severity: Severity,
        file: &str,
        line: usize,
        column: usize,
        message: impl Into<String>,
    ) -> Finding {
        Finding {
            rule,
            severity,
            file: file.to_string(),
            line,
            column,
            width: 1,
            message: message.into(),
            help: None,
            source_line: None,
        }
    }
}
