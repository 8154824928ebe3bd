//! The SQL of one statement, checked as Redshift SQL by the `redshift` crate (the pre-pass and
//! parser the translation runs): syntax, constructs the local engine refuses, COPY and UNLOAD
//! options. RSQL variables are replaced by neutral placeholders first (`:'name'` by a string
//! literal, `:"name"` by a quoted identifier, `:name` by a plain identifier), and positions are
//! mapped back to the statement as written.

use std::ops::Range;

use redshift::ProblemKind;
use rsql::lexer::{PieceKind, Quoting, lex};

use crate::finding::Severity;
use crate::rules::Rule;

/// A finding in one statement, its range relative to the statement's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SqlFinding {
    pub rule: Rule,
    pub severity: Severity,
    pub range: Range<usize>,
    pub message: String,
    pub help: Option<String>,
}

/// One placeholder: where it is in the substituted text and what it replaced.
struct Placeholder {
    new: Range<usize>,
    old: Range<usize>,
    raw: bool,
}

/// The statement with its variables replaced, and the map back.
struct Substituted {
    text: String,
    placeholders: Vec<Placeholder>,
}

impl Substituted {
    /// The offset in the original text of an offset in the substituted one.
    fn original(&self, at: usize) -> usize {
        let mut shift: isize = 0;
        for p in &self.placeholders {
            if at < p.new.start {
                break;
            }
            if at < p.new.end {
                return p.old.start;
            }
            shift = p.old.end as isize - p.new.end as isize;
        }
        (at as isize + shift).max(0) as usize
    }

    /// True when the range touches a placeholder for a raw `:name` (whose value may be any
    /// text: a number, a name, a whole clause).
    fn in_raw(&self, r: &Range<usize>) -> bool {
        self.placeholders
            .iter()
            .any(|p| p.raw && r.start < p.new.end && p.new.start < r.end.max(r.start + 1))
    }
}

fn substitute(sql: &str) -> Option<Substituted> {
    let mut text = String::with_capacity(sql.len() + 16);
    let mut placeholders = Vec::new();
    let mut pos = 0;
    for piece in lex(sql) {
        // A meta-command inside the statement: its text is not SQL.
        let PieceKind::Sql(chunk) = piece.kind else {
            return None;
        };
        for v in chunk.vars {
            if v.range.start < pos || v.range.end > sql.len() {
                return None;
            }
            text.push_str(&sql[pos..v.range.start]);
            let name = &sql[v.name.clone()];
            let start = text.len();
            match v.quoting {
                Quoting::Literal => {
                    text.push_str("'s3://rsqlflow-check/");
                    text.push_str(&name.replace('\'', ""));
                    text.push('\'');
                }
                Quoting::Identifier => {
                    text.push('"');
                    text.push_str(&name.replace('"', ""));
                    text.push('"');
                }
                Quoting::Raw => {
                    text.push_str("rsqlflow_var_");
                    text.extend(name.chars().filter(|c| c.is_alphanumeric() || *c == '_'));
                }
            }
            placeholders.push(Placeholder {
                new: start..text.len(),
                old: v.range.clone(),
                raw: v.quoting == Quoting::Raw,
            });
            pos = v.range.end;
        }
    }
    text.push_str(&sql[pos.min(sql.len())..]);
    Some(Substituted { text, placeholders })
}

/// Statements longer than this are not parsed: sqlparser builds a chain of binary operators
/// (`1+1+...`) as a tree as deep as the chain is long, and a long enough one overflows the
/// stack when it is walked or dropped. 64 KiB holds any statement a person writes; longer ones
/// (generated INSERT ... VALUES lists) get a note.
const MAX_PARSED_STATEMENT: usize = 64 * 1024;

/// Checks one statement's text (from its first word to its `;`).
pub(crate) fn check(sql: &str) -> Vec<SqlFinding> {
    if sql.len() > MAX_PARSED_STATEMENT {
        let first_line = sql.find('\n').unwrap_or(sql.len()).min(sql.len());
        return vec![SqlFinding {
            rule: Rule::SqlSyntax,
            severity: Severity::Note,
            range: 0..first_line.clamp(1, 80).min(sql.len()),
            message: format!(
                "this statement is {} bytes, over the {} KiB the checker parses: its SQL is not checked",
                sql.len(),
                MAX_PARSED_STATEMENT / 1024
            ),
            help: None,
        }];
    }
    let Some(sub) = substitute(sql) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for p in redshift::check_statement(&sub.text) {
        let (rule, severity, help) = match p.kind {
            ProblemKind::Syntax => (
                Rule::SqlSyntax,
                Severity::Warning,
                Some("sqlparser's Redshift dialect cannot parse this; Redshift may still accept it (see --explain sql-syntax)".to_string()),
            ),
            ProblemKind::RefusedLocally => (Rule::RefusedLocally, Severity::Warning, None),
            ProblemKind::UnknownOption => {
                if sub.in_raw(&p.range) {
                    continue;
                }
                (
                    Rule::CopyOption,
                    Severity::Error,
                    Some("see the parameters of https://docs.aws.amazon.com/redshift/latest/dg/r_COPY.html and r_UNLOAD.html".to_string()),
                )
            }
            ProblemKind::DuplicateColumn => {
                if sub.in_raw(&p.range) {
                    continue;
                }
                (Rule::CopyDuplicateColumn, Severity::Warning, None)
            }
        };
        let start = sub.original(p.range.start).min(sql.len());
        let end = sub.original(p.range.end).clamp(start, sql.len());
        out.push(SqlFinding {
            rule,
            severity,
            range: start..end,
            message: p.message,
            help,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_operator_chain_is_a_note_not_a_stack_overflow() {
        let sql = format!("select {}1;", "1+".repeat(200_000));
        let f = check(&sql);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Note);
    }

    #[test]
    fn variables_become_placeholders_and_positions_map_back() {
        let s = substitute("copy t from :'uri' iam_role :role delimiter '|';").unwrap();
        assert_eq!(
            s.text,
            "copy t from 's3://rsqlflow-check/uri' iam_role rsqlflow_var_role delimiter '|';"
        );
        let d = s.text.find("delimiter").unwrap();
        assert_eq!(s.original(d), 34);
        assert_eq!(s.original(14), 12);
        assert!(check("copy t from :'uri' iam_role default delimiter '|';").is_empty());
        let f = check("copy t from :'uri' iam_role default delimeter '|';");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].range, 36..45);
        // A raw variable may stand for any options.
        assert!(check("copy t from :'uri' iam_role default :opts;").is_empty());
        assert!(check("select * from :\"schema\".t where d = :'day' limit :n;").is_empty());
    }
}
