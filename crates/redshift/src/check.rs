//! Checking one Redshift statement without running it (`rsqlflow check`): does it parse as
//! Redshift SQL with the translation's own pre-pass and parser, does the local engine refuse
//! it, and are a COPY's or UNLOAD's options ones Redshift documents. Nothing is sent anywhere.

use std::ops::Range;

use sqlparser::dialect::RedshiftSqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

use crate::lexical::{Whole, prepass};
use crate::system::SessionFacts;
use crate::tokens::{Edits, Tok, tokenize};
use crate::translate::{Translation, may_need_ast, rewrite_parsed};

/// COPY's parameters, as AWS documents them:
/// <https://docs.aws.amazon.com/redshift/latest/dg/r_COPY.html> (syntax and the parameter
/// pages it links: copy-parameters-data-source-s3, -authorization, -data-format,
/// -file-compression, -column-mapping, -data-conversion, -data-load). The words a parameter
/// takes as its value (ON, OFF, AUTO, UTF8, ...) are in [`VALUE_WORDS`].
const COPY_WORDS: &[&str] = &[
    // data sources and authorization
    "FROM",
    "MANIFEST",
    "ENCRYPTED",
    "REGION",
    "SSH",
    "READRATIO",
    "IAM_ROLE",
    "ACCESS_KEY_ID",
    "SECRET_ACCESS_KEY",
    "SESSION_TOKEN",
    "CREDENTIALS",
    "WITH",
    "MASTER_SYMMETRIC_KEY",
    // data format
    "FORMAT",
    "CSV",
    "QUOTE",
    "DELIMITER",
    "FIXEDWIDTH",
    "SHAPEFILE",
    "SIMPLIFY",
    "AVRO",
    "JSON",
    "PARQUET",
    "ORC",
    "SERIALIZETOJSON",
    // compression
    "BZIP2",
    "GZIP",
    "LZOP",
    "ZSTD",
    // data conversion
    "ACCEPTANYDATE",
    "ACCEPTINVCHARS",
    "BLANKSASNULL",
    "DATEFORMAT",
    "EMPTYASNULL",
    "ENCODING",
    "ESCAPE",
    "EXPLICIT_IDS",
    "FILLRECORD",
    "IGNOREBLANKLINES",
    "IGNOREHEADER",
    "NULL",
    "REMOVEQUOTES",
    "ROUNDEC",
    "TIMEFORMAT",
    "TRIMBLANKS",
    "TRUNCATECOLUMNS",
    // data load
    "COMPROWS",
    "COMPUPDATE",
    "IGNOREALLERRORS",
    "MAXERROR",
    "NOLOAD",
    "STATUPDATE",
];

/// UNLOAD's parameters: <https://docs.aws.amazon.com/redshift/latest/dg/r_UNLOAD.html>.
const UNLOAD_WORDS: &[&str] = &[
    "TO",
    "IAM_ROLE",
    "ACCESS_KEY_ID",
    "SECRET_ACCESS_KEY",
    "SESSION_TOKEN",
    "CREDENTIALS",
    "WITH",
    "FORMAT",
    "CSV",
    "PARQUET",
    "JSON",
    "PARTITION",
    "MANIFEST",
    "HEADER",
    "DELIMITER",
    "FIXEDWIDTH",
    "ENCRYPTED",
    "BZIP2",
    "GZIP",
    "ZSTD",
    "ADDQUOTES",
    "NULL",
    "ESCAPE",
    "ALLOWOVERWRITE",
    "CLEANPATH",
    "PARALLEL",
    "MAXFILESIZE",
    "ROWGROUPSIZE",
    "REGION",
    "EXTENSION",
    "KMS_KEY_ID",
    "MASTER_SYMMETRIC_KEY",
];

/// Words the documented parameters take after them (r_COPY, r_UNLOAD): `AS`, `COMPUPDATE
/// ON|OFF|PRESET`, `PARALLEL TRUE|FALSE`, `ENCRYPTED AUTO`, `ENCODING UTF8|UTF16|...`,
/// `MAXFILESIZE 100 MB`, `MANIFEST VERBOSE`, `PARTITION BY (...) INCLUDE`, `IAM_ROLE DEFAULT`,
/// `SIMPLIFY AUTO`, `NULL AS`, `FORMAT AS ...`.
const VALUE_WORDS: &[&str] = &[
    "AS",
    "ON",
    "OFF",
    "TRUE",
    "FALSE",
    "PRESET",
    "AUTO",
    "DEFAULT",
    "UTF8",
    "UTF16",
    "UTF16LE",
    "UTF16BE",
    "MB",
    "GB",
    "VERBOSE",
    "BY",
    "INCLUDE",
    "IGNORECASE",
];

/// What kind of problem a statement has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// sqlparser's Redshift dialect (after the translation's pre-pass) does not parse it.
    Syntax,
    /// The local engine refuses it, or accepts it as a no-op (the construct is named).
    RefusedLocally,
    /// A COPY or UNLOAD option that AWS does not document.
    UnknownOption,
    /// A COPY column list that names a column twice.
    DuplicateColumn,
}

/// One problem in a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What kind.
    pub kind: ProblemKind,
    /// Its bytes in the statement's text.
    pub range: Range<usize>,
    /// What is wrong, naming the construct.
    pub message: String,
}

/// Checks one statement (no trailing text after its `;`). Never panics; linear-ish in the
/// statement's length (one tokenize, the pre-pass, one parse).
pub fn check_statement(sql: &str) -> Vec<Problem> {
    let mut out = Vec::new();
    let Some(toks) = tokenize(sql) else {
        out.push(Problem {
            kind: ProblemKind::Syntax,
            range: 0..sql.len().min(1),
            message: "the SQL tokenizer rejects this statement".into(),
        });
        return out;
    };
    let Some(first) = toks.first() else {
        return out;
    };
    let whole_range = first.range.start..first.range.end;
    let head = first
        .word()
        .map(str::to_ascii_uppercase)
        .unwrap_or_default();
    let has_string_source = |kw: &str| {
        toks.windows(2)
            .any(|w| w[0].is_word(kw) && matches!(w[1].token, Token::SingleQuotedString(_)))
    };
    let copy_or_unload = (head == "COPY" && has_string_source("FROM")) || head == "UNLOAD";
    if copy_or_unload {
        options(sql, &toks, head == "COPY", &mut out);
        if out.iter().any(|p| p.kind == ProblemKind::UnknownOption) {
            // Redshift refuses it: what the local loader makes of it does not matter.
            return out;
        }
    }
    let mut edits = Edits::default();
    let facts = SessionFacts::default();
    let whole = prepass(sql, &toks, &mut edits, &facts);
    if copy_or_unload && matches!(whole, Whole::Continue) {
        return out;
    }
    match whole {
        Whole::Continue | Whole::Truncate => {}
        Whole::Replace(_) | Whole::Copy(_) | Whole::Unload(_) => return out,
        Whole::NoOp { construct, .. } => {
            out.push(Problem {
                kind: ProblemKind::RefusedLocally,
                range: whole_range,
                message: format!("runs on Redshift, a no-op locally: {construct}"),
            });
            return out;
        }
        Whole::Unsupported { construct, reason } => {
            out.push(Problem {
                kind: ProblemKind::RefusedLocally,
                range: whole_range,
                message: format!("runs on Redshift, refused locally: {construct} ({reason})"),
            });
            return out;
        }
        Whole::Invalid(m) => {
            out.push(Problem {
                kind: ProblemKind::RefusedLocally,
                range: whole_range,
                message: format!("refused locally: {m}"),
            });
            return out;
        }
    }
    let text = if edits.is_empty() {
        std::borrow::Cow::Borrowed(sql)
    } else {
        std::borrow::Cow::Owned(without_identity_options(edits.apply(sql)))
    };
    match Parser::parse_sql(&RedshiftSqlDialect {}, &text) {
        Err(e) => {
            let message = e.to_string();
            let at = if edits.is_empty() {
                error_offset(&text, &message)
            } else {
                None
            };
            let range = at.map_or(whole_range, |o| o..next_char(sql, o));
            // The finding has the place: sqlparser's "at Line: L, Column: C" (counted from
            // the statement's start) would only confuse.
            let message = message
                .strip_prefix("sql parser error: ")
                .unwrap_or(&message);
            let message = message
                .rfind(" at Line: ")
                .map_or(message, |p| &message[..p])
                .to_string();
            out.push(Problem {
                kind: ProblemKind::Syntax,
                range,
                message,
            });
        }
        Ok(stmts) if may_need_ast(&toks) => {
            if let Err(t) = rewrite_parsed(stmts, &text, "rsqlflow_sys") {
                refused(t, whole_range, &mut out);
            }
        }
        Ok(_) => {}
    }
    out
}

/// The pre-pass writes Redshift's IDENTITY(seed, step) as PostgreSQL's `GENERATED BY DEFAULT
/// AS IDENTITY (START WITH seed INCREMENT BY step)`, whose options sqlparser 0.63 does not
/// parse (compat case 05 was reported): for the syntax check the options are dropped.
fn without_identity_options(mut text: String) -> String {
    const OPTIONS: &str = "AS IDENTITY (START WITH ";
    while let Some(p) = text.find(OPTIONS) {
        let from = p + "AS IDENTITY".len();
        let Some(close) = text[from..].find(')') else {
            break;
        };
        text.replace_range(from..from + close + 1, "");
    }
    text
}

fn next_char(s: &str, at: usize) -> usize {
    s.get(at..)
        .and_then(|r| r.chars().next())
        .map_or(at, |c| at + c.len_utf8())
}

/// The byte offset of sqlparser's "at Line: L, Column: C" (column in characters).
fn error_offset(text: &str, message: &str) -> Option<usize> {
    let p = message.rfind("Line: ")?;
    let rest = &message[p + 6..];
    let (line, rest) = rest.split_once(", Column: ")?;
    let line: usize = line.trim().parse().ok()?;
    let col: usize = rest
        .trim_end()
        .trim_end_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .ok()?;
    let start = if line <= 1 {
        0
    } else {
        text.match_indices('\n').nth(line - 2)?.0 + 1
    };
    let line_text = &text[start..];
    let off = line_text
        .char_indices()
        .nth(col.checked_sub(1)?)
        .map_or(line_text.len(), |(i, _)| i);
    Some(start + off)
}

fn refused(t: Translation, range: Range<usize>, out: &mut Vec<Problem>) {
    let message = match t {
        Translation::Unsupported { construct, reason } => {
            format!("runs on Redshift, refused locally: {construct} ({reason})")
        }
        Translation::NoOp { construct, .. } => {
            format!("runs on Redshift, a no-op locally: {construct}")
        }
        Translation::Invalid(m) => format!("refused locally: {m}"),
        _ => return,
    };
    out.push(Problem {
        kind: ProblemKind::RefusedLocally,
        range,
        message,
    });
}

/// COPY's column list and the option words of COPY and UNLOAD.
fn options(sql: &str, toks: &[Tok], copy: bool, out: &mut Vec<Problem>) {
    let known: &[&str] = if copy { COPY_WORDS } else { UNLOAD_WORDS };
    let what = if copy { "COPY" } else { "UNLOAD" };
    let mut i = 1;
    if copy {
        // COPY table [(columns)] FROM
        while i < toks.len() && !toks[i].is_word("FROM") && toks[i].token != Token::LParen {
            i += 1;
        }
        if toks.get(i).is_some_and(|t| t.token == Token::LParen) {
            let mut seen: Vec<String> = Vec::new();
            i += 1;
            while let Some(t) = toks.get(i) {
                i += 1;
                match &t.token {
                    Token::RParen => break,
                    Token::Word(w) => {
                        let name = w.value.to_lowercase();
                        if seen.contains(&name) {
                            out.push(Problem {
                                kind: ProblemKind::DuplicateColumn,
                                range: t.range.clone(),
                                message: format!(
                                    "column {} is named twice in the COPY column list",
                                    &sql[t.range.clone()]
                                ),
                            });
                        } else {
                            seen.push(name);
                        }
                    }
                    _ => {}
                }
            }
        }
    } else {
        // UNLOAD ('query') TO
        while i < toks.len() && !toks[i].is_word("TO") {
            i += 1;
        }
    }
    let mut depth = 0usize;
    for t in &toks[i.min(toks.len())..] {
        match &t.token {
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            Token::Word(w) if depth == 0 && w.quote_style.is_none() => {
                let u = w.value.to_ascii_uppercase();
                if copy && u == "JOB" {
                    // COPY ... JOB CREATE job_name [AUTO ON|OFF], an auto-copy job
                    // (https://docs.aws.amazon.com/redshift/latest/dg/r_COPY-JOB.html): the
                    // rest names the job.
                    break;
                }
                if !known.contains(&u.as_str()) && !VALUE_WORDS.contains(&u.as_str()) {
                    out.push(Problem {
                        kind: ProblemKind::UnknownOption,
                        range: t.range.clone(),
                        message: format!("{} is not a {what} option Redshift documents", w.value),
                    });
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(sql: &str) -> Vec<ProblemKind> {
        check_statement(sql).into_iter().map(|p| p.kind).collect()
    }

    #[test]
    fn statements_are_judged() {
        assert!(kinds("select nvl(a, 0) from t where x = 1;").is_empty());
        assert!(kinds("create table t (a int encode az64 distkey) sortkey(a);").is_empty());
        assert_eq!(kinds("selec 1"), [ProblemKind::Syntax]);
        let p = &check_statement("select (1\nfrom t")[0];
        assert_eq!(p.kind, ProblemKind::Syntax);
        assert_eq!(p.range.start, 10, "{p:?}");
        assert!(kinds("copy t from 's3://b/k' iam_role default gzip delimiter '|';").is_empty());
        assert_eq!(
            kinds("copy t from 's3://b/k' iam_role default delimeter '|';"),
            [ProblemKind::UnknownOption]
        );
        assert_eq!(
            kinds("copy t (a, b, A) from 's3://b/k' iam_role default;"),
            [ProblemKind::DuplicateColumn]
        );
        assert_eq!(
            kinds("copy t from 's3://b/k' iam_role default format as avro 'auto';"),
            [ProblemKind::RefusedLocally]
        );
        assert_eq!(
            kinds("unload ('select 1') to 's3://b/p' iam_role default partition by (a) include;"),
            [ProblemKind::RefusedLocally]
        );
        assert_eq!(
            kinds("grant select on t to bob;"),
            [ProblemKind::RefusedLocally]
        );
        assert!(
            !kinds("copy t from 's3://b/p/' iam_role default job create my_job auto on;")
                .contains(&ProblemKind::UnknownOption)
        );
        assert!(kinds("create table d (k bigint identity(1,1), id int);").is_empty());
        assert!(check_statement("").is_empty());
    }
}
