//! Printing findings: compiler-style text (with the source line and a caret), JSON lines, and
//! GitHub workflow commands (annotations on the pull request).

use std::io::{self, Write};

use crate::Outcome;
use crate::finding::{Finding, Severity};

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `path:line:col: error[code]: message`, the line and a caret, a summary line.
    Text,
    /// One JSON object per finding, one per line.
    Json,
    /// `::error file=...,line=...,col=...,title=code::message`.
    Github,
}

/// Writes the findings in a format: text (with its summary) to `err`, JSON and GitHub
/// commands to `out`. `color` adds ANSI colours to the text format.
pub fn write(
    outcome: &Outcome,
    format: Format,
    color: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Text => {
            for f in &outcome.findings {
                text(f, color, err)?;
            }
            writeln!(err, "{}", summary(outcome))?;
        }
        Format::Json => {
            for f in &outcome.findings {
                writeln!(out, "{}", json(f))?;
            }
        }
        Format::Github => {
            for f in &outcome.findings {
                writeln!(out, "{}", github(f))?;
            }
        }
    }
    Ok(())
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// "N errors, M warnings in K files" (and the notes, when there are any).
pub fn summary(outcome: &Outcome) -> String {
    let notes = match outcome.count(Severity::Note) {
        0 => String::new(),
        n => format!(", {}", plural(n, "note", "notes")),
    };
    format!(
        "{}, {}{notes} in {}",
        plural(outcome.count(Severity::Error), "error", "errors"),
        plural(outcome.count(Severity::Warning), "warning", "warnings"),
        plural(outcome.files, "file", "files")
    )
}

/// How many characters of a long source line a finding shows.
const SOURCE_WINDOW: usize = 120;

/// One finding in compiler style.
pub fn text(f: &Finding, color: bool, w: &mut dyn Write) -> io::Result<()> {
    let (sev_color, bold, blue, reset) = if color {
        let c = match f.severity {
            Severity::Error => "\x1b[1;31m",
            Severity::Warning => "\x1b[1;33m",
            Severity::Note => "\x1b[1;36m",
        };
        (c, "\x1b[1m", "\x1b[1;34m", "\x1b[0m")
    } else {
        ("", "", "", "")
    };
    writeln!(
        w,
        "{bold}{}:{}:{}:{reset} {sev_color}{}[{}]{reset}{bold}: {}{reset}",
        f.file,
        f.line,
        f.column,
        f.severity.name(),
        f.rule.code(),
        f.message
    )?;
    if let Some(src) = &f.source_line {
        let num = f.line.to_string();
        let pad = " ".repeat(num.len());
        // Tabs would shift the caret: show them as single spaces; control characters as '?'.
        // A long line is shown as a window around the column, so that many findings on one
        // huge line do not print it whole each time.
        let chars: Vec<char> = src
            .chars()
            .map(|c| match c {
                '\t' => ' ',
                c if c.is_control() => '?',
                c => c,
            })
            .collect();
        let col = f.column.saturating_sub(1).min(chars.len());
        let (from, to) = if chars.len() > SOURCE_WINDOW {
            let from = col.saturating_sub(SOURCE_WINDOW / 3);
            (from, (from + SOURCE_WINDOW).min(chars.len()))
        } else {
            (0, chars.len())
        };
        let lead = if from > 0 { "..." } else { "" };
        let tail = if to < chars.len() { "..." } else { "" };
        let shown: String = chars[from..to].iter().collect();
        let avail = (to - col.min(to)).max(1);
        let width = f.width.min(avail);
        writeln!(w, "{blue}{pad} |{reset}")?;
        writeln!(w, "{blue}{num} |{reset} {lead}{shown}{tail}")?;
        writeln!(
            w,
            "{blue}{pad} |{reset} {}{sev_color}{}{reset}",
            " ".repeat(lead.len() + col - from),
            "^".repeat(width)
        )?;
    }
    if let Some(h) = &f.help {
        writeln!(
            w,
            "{blue}{} ={reset} help: {h}",
            " ".repeat(f.line.to_string().len())
        )?;
    }
    Ok(())
}

/// One finding as a JSON object.
pub fn json(f: &Finding) -> String {
    serde_json::json!({
        "file": f.file,
        "line": f.line,
        "column": f.column,
        "end_column": f.column + f.width,
        "severity": f.severity.name(),
        "code": f.rule.code(),
        "message": f.message,
        "help": f.help,
    })
    .to_string()
}

/// Escapes a workflow command's message.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// One finding as a GitHub workflow command (an annotation).
pub fn github(f: &Finding) -> String {
    let kind = match f.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "notice",
    };
    let mut message = f.message.clone();
    if let Some(h) = &f.help {
        message.push_str(" (help: ");
        message.push_str(h);
        message.push(')');
    }
    format!(
        "::{kind} file={},line={},col={},endColumn={},title={}::{}",
        escape_property(&f.file),
        f.line,
        f.column,
        f.column + f.width,
        escape_property(f.rule.code()),
        escape_data(&message)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Rule;

    fn finding() -> Finding {
        let mut f = Finding::new(
            Rule::UndefinedVariable,
            Severity::Error,
            "etl/a,b.rsql",
            3,
            6,
            ":data_urii is never set\nsecond line 100%",
        );
        f.width = 11;
        f.help = Some("did you mean :data_uri?".into());
        f.source_line = Some("COPY :'data_urii' x".into());
        f
    }

    #[test]
    fn text_has_place_line_and_caret() {
        let mut out = Vec::new();
        text(&finding(), false, &mut out).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.starts_with("etl/a,b.rsql:3:6: error[undefined-variable]: :data_urii"));
        assert!(s.contains("3 | COPY :'data_urii' x\n"));
        assert!(s.contains("  |      ^^^^^^^^^^^\n"));
        assert!(s.contains("= help: did you mean :data_uri?"));
    }

    #[test]
    fn json_is_one_line() {
        let s = json(&finding());
        assert!(!s.contains('\n'));
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["code"], "undefined-variable");
        assert_eq!(v["line"], 3);
        assert_eq!(v["column"], 6);
    }

    #[test]
    fn github_escapes() {
        let s = github(&finding());
        assert!(s.starts_with(
            "::error file=etl/a%2Cb.rsql,line=3,col=6,endColumn=17,title=undefined-variable::"
        ));
        assert!(s.contains("set%0Asecond line 100%25"));
        assert!(!s.contains('\n'));
    }

    #[test]
    fn summary_counts() {
        let o = Outcome {
            files: 1,
            findings: vec![finding()],
        };
        assert_eq!(summary(&o), "1 error, 0 warnings in 1 file");
    }
}
