//! The lexical pre-pass: Redshift forms that sqlparser cannot parse, or that are simplest to
//! rewrite as tokens (physical-design clauses, IDENTITY, `#temp` names, VARCHAR(MAX), SUPER,
//! quoted-identifier case folding, APPROXIMATE, WITH NO SCHEMA BINDING), and the statements that
//! translate as a whole (VACUUM, ANALYZE COMPRESSION, ALTER TABLE APPEND, MERGE ... REMOVE
//! DUPLICATES, Redshift-only SET, GRANT/REVOKE, COPY and UNLOAD).

use sqlparser::tokenizer::Token;

use crate::copy_spec::{CopySpec, SpecError, UnloadSpec, parse_copy, parse_unload};
use crate::system::SessionFacts;
use crate::tokens::{Edits, Tok};

/// What the pre-pass decided about a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Whole {
    /// Continue with the (edited) statement.
    Continue,
    /// The statement becomes this text (no further rewriting).
    Replace(String),
    /// The statement is accepted and does nothing locally; the tag and the note say what.
    NoOp {
        /// Command tag to report.
        tag: &'static str,
        /// The construct, named in the one-time note.
        construct: String,
    },
    /// The statement cannot run locally.
    Unsupported {
        /// The construct.
        construct: String,
        /// Why.
        reason: String,
    },
    /// TRUNCATE: Redshift commits the open transaction first.
    Truncate,
    /// The statement is malformed (a syntax error the server would report).
    Invalid(String),
    /// COPY from S3.
    Copy(Box<CopySpec>),
    /// UNLOAD to S3.
    Unload(Box<UnloadSpec>),
}

/// Redshift session parameters PostgreSQL does not know; SET/RESET of them is a no-op locally.
const REDSHIFT_ONLY_SETTINGS: &[&str] = &[
    "query_group",
    "enable_result_cache_for_session",
    "enable_case_sensitive_identifier",
    "enable_case_sensitive_super_attribute",
    "analyze_threshold_percent",
    "auto_analyze",
    "describe_field_name_in_uppercase",
    "downcase_delimited_identifier",
    "json_parse_truncate_strings",
    "wlm_query_slot_count",
    "mv_enable_aqmv_for_session",
    "spectrum_query_maxerror",
    "use_fips_ssl",
    "enable_numeric_rounding",
    "cast_super_null_on_error",
    "error_on_nondeterministic_update",
    "datashare_break_glass_session_var",
    "enable_vacuum_boost",
    "enable_spectrum_oid",
    "max_concurrency_scaling_clusters",
    "max_cursor_result_set_size",
    "navigate_super_null_on_error",
    "parse_super_null_on_error",
    "pg_federation_repeatable_read",
    "timezone_abbreviations_file",
];

fn kw(t: Option<&Tok>, word: &str) -> bool {
    t.is_some_and(|t| t.is_word(word))
}

/// Runs the pre-pass over a statement's tokens, adding edits; returns the whole-statement
/// decision.
pub fn prepass(sql: &str, toks: &[Tok], edits: &mut Edits, facts: &SessionFacts) -> Whole {
    let second = toks.get(1);
    let upper = |i: usize| {
        toks.get(i)
            .and_then(|t| t.word())
            .map(str::to_ascii_uppercase)
            .unwrap_or_default()
    };
    match upper(0).as_str() {
        "VACUUM" => return vacuum(sql, toks),
        "ANALYZE" if kw(second, "COMPRESSION") => {
            return Whole::NoOp {
                tag: "ANALYZE",
                construct: "ANALYZE COMPRESSION".into(),
            };
        }
        "SET" | "RESET" => {
            let idx = if kw(second, "SESSION") || kw(second, "LOCAL") {
                2
            } else {
                1
            };
            let name = upper(idx).to_ascii_lowercase();
            if REDSHIFT_ONLY_SETTINGS.contains(&name.as_str()) {
                return Whole::NoOp {
                    tag: if upper(0) == "SET" { "SET" } else { "RESET" },
                    construct: format!("{} {name}", upper(0)),
                };
            }
        }
        "GRANT" | "REVOKE" => {
            return Whole::NoOp {
                tag: if upper(0) == "GRANT" {
                    "GRANT"
                } else {
                    "REVOKE"
                },
                construct: format!("{} (privileges are not emulated locally)", upper(0)),
            };
        }
        "TRUNCATE" => {
            fold_and_rename(toks, edits);
            return Whole::Truncate;
        }
        "COPY"
            if toks.iter().any(
                |t| matches!(&t.token, Token::SingleQuotedString(s) if s.starts_with("s3://")),
            ) =>
        {
            return match parse_copy(sql, toks) {
                Ok(spec) => Whole::Copy(Box::new(spec)),
                Err(e) => spec_error("COPY", e),
            };
        }
        "UNLOAD" => {
            return match parse_unload(sql, toks) {
                Ok(spec) => Whole::Unload(Box::new(spec)),
                Err(e) => spec_error("UNLOAD", e),
            };
        }
        "ALTER" if kw(second, "TABLE") => {
            if let Some(w) = alter_table(sql, toks) {
                return w;
            }
        }
        "MERGE" if toks.iter().any(|t| t.is_word("DUPLICATES")) => {
            if let Some(w) = merge_remove_duplicates(sql, toks) {
                return w;
            }
        }
        _ => {}
    }
    if let Some(w) = collations(sql, toks, edits) {
        return w;
    }
    fold_and_rename(toks, edits);
    let is_create = upper(0) == "CREATE";
    if is_create {
        create_table(sql, toks, edits);
        create_view(sql, toks, edits);
    }
    for (i, t) in toks.iter().enumerate() {
        // APPROXIMATE COUNT(DISTINCT x): counted exactly locally.
        if t.is_word("APPROXIMATE") && kw(toks.get(i + 1), "COUNT") {
            edits.remove_tokens(toks, i, i + 1, sql);
        }
        // VARCHAR(MAX) and friends.
        if (t.is_word("VARCHAR")
            || t.is_word("NVARCHAR")
            || t.is_word("VARYING")
            || t.is_word("TEXT"))
            && matches!(toks.get(i + 1).map(|t| &t.token), Some(Token::LParen))
            && kw(toks.get(i + 2), "MAX")
            && matches!(toks.get(i + 3).map(|t| &t.token), Some(Token::RParen))
        {
            edits.replace(toks[i + 2].range.clone(), "65535");
        }
        // SUPER is stored as JSONB.
        if t.is_word("SUPER") {
            edits.replace(t.range.clone(), "JSONB");
        }
        // pg_last_copy_count() and its kin: the session's own facts.
        if let Some(value) = t.word().and_then(|w| facts.value_of(w))
            && matches!(toks.get(i + 1).map(|t| &t.token), Some(Token::LParen))
            && matches!(toks.get(i + 2).map(|t| &t.token), Some(Token::RParen))
            && !matches!(t.token, Token::Word(ref w) if w.quote_style.is_some())
        {
            edits.replace(t.range.start..toks[i + 2].range.end, value);
        }
    }
    Whole::Continue
}

/// Redshift's collations (CREATE TABLE's column attribute `COLLATE CASE_SENSITIVE |
/// CASE_INSENSITIVE`, CREATE DATABASE's, and the function `COLLATE(string, 'case_sensitive' |
/// 'case_insensitive')`; r_CREATE_TABLE_NEW, r_COLLATE). Case-sensitive is Redshift's default
/// and PostgreSQL's only behaviour here, so it is dropped. Case-insensitive cannot be had
/// locally (the embedded PostgreSQL has no ICU, so no nondeterministic collation), and a
/// silently case-sensitive comparison would give other results: the statement is refused with
/// an error that names the construct.
fn collations(sql: &str, toks: &[Tok], edits: &mut Edits) -> Option<Whole> {
    let refuse = |construct: &str| Whole::Unsupported {
        construct: construct.into(),
        reason: "the local engine has no case-insensitive collation (the embedded PostgreSQL \
                 is built without ICU); comparisons there are always case-sensitive"
            .into(),
    };
    let mut i = 0;
    while i < toks.len() {
        if !toks[i].is_word("COLLATE") {
            i += 1;
            continue;
        }
        let next = toks.get(i + 1);
        if kw(next, "CASE_SENSITIVE") {
            edits.remove_tokens(toks, i, i + 2, sql);
            i += 2;
        } else if kw(next, "CASE_INSENSITIVE") {
            return Some(refuse("COLLATE CASE_INSENSITIVE"));
        } else if matches!(next.map(|t| &t.token), Some(Token::LParen)) {
            // COLLATE(expr, 'collation'): the last argument before the matching ')'.
            let mut depth = 0;
            let mut close = None;
            for (k, t) in toks.iter().enumerate().skip(i + 1) {
                match t.token {
                    Token::LParen => depth += 1,
                    Token::RParen => {
                        depth -= 1;
                        if depth == 0 {
                            close = Some(k);
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let close = close?;
            let (Some(comma), Some(Token::SingleQuotedString(name))) = (
                close
                    .checked_sub(2)
                    .filter(|&c| matches!(toks[c].token, Token::Comma)),
                toks.get(close.wrapping_sub(1)).map(|t| &t.token),
            ) else {
                i += 1;
                continue;
            };
            match name.to_ascii_lowercase().as_str() {
                "case_sensitive" => {
                    // COLLATE(x, 'case_sensitive') is x.
                    edits.replace(toks[i].range.start..toks[i + 1].range.end, "(");
                    edits.replace(toks[comma].range.start..toks[close].range.end, ")");
                }
                "case_insensitive" => return Some(refuse("COLLATE(..., 'case_insensitive')")),
                _ => {}
            }
            i = close + 1;
        } else {
            i += 1;
        }
    }
    None
}

fn spec_error(what: &str, e: SpecError) -> Whole {
    match e {
        SpecError::Syntax(m) => Whole::Invalid(format!("syntax error in {what}: {m}")),
        SpecError::Unsupported(construct) => Whole::Unsupported {
            construct,
            reason: "the local engine cannot do this yet".into(),
        },
    }
}

/// Folds quoted identifiers to lower case (Redshift's default,
/// enable_case_sensitive_identifier off) and turns `#name` temp-table names into `name`.
fn fold_and_rename(toks: &[Tok], edits: &mut Edits) {
    for t in toks {
        if let Token::Word(w) = &t.token {
            if w.quote_style == Some('"') && w.value.chars().any(char::is_uppercase) {
                edits.replace(
                    t.range.clone(),
                    format!("\"{}\"", w.value.to_lowercase().replace('"', "\"\"")),
                );
            } else if w.quote_style.is_none() && w.value.starts_with('#') && w.value.len() > 1 {
                edits.replace(t.range.clone(), w.value[1..].to_string());
            }
        }
    }
}

fn vacuum(sql: &str, toks: &[Tok]) -> Whole {
    // VACUUM [FULL | SORT ONLY | DELETE ONLY | REINDEX | RECLUSTER] [table] [TO n PERCENT] [BOOST]
    let mut i = 1;
    while let Some(t) = toks.get(i) {
        if t.is_word("FULL") || t.is_word("REINDEX") || t.is_word("RECLUSTER") {
            i += 1;
        } else if (t.is_word("SORT") || t.is_word("DELETE")) && kw(toks.get(i + 1), "ONLY") {
            i += 2;
        } else {
            break;
        }
    }
    let table: Vec<&str> = toks[i..]
        .iter()
        .take_while(|t| {
            !(t.is_word("TO") || t.is_word("BOOST") || matches!(t.token, Token::SemiColon))
        })
        .map(|t| &sql[t.range.clone()])
        .collect();
    if table.is_empty() {
        Whole::Replace("VACUUM".into())
    } else {
        Whole::Replace(format!("VACUUM {}", table.concat()))
    }
}

fn table_name(sql: &str, toks: &[Tok], from: usize) -> (String, usize) {
    let mut i = from;
    let mut name = String::new();
    while let Some(t) = toks.get(i) {
        match &t.token {
            Token::Word(_) | Token::Period => {
                name.push_str(&sql[t.range.clone()]);
                i += 1;
            }
            _ => break,
        }
        if !matches!(toks.get(i).map(|t| &t.token), Some(Token::Period))
            && !matches!(t.token, Token::Period)
        {
            break;
        }
    }
    (name.replace('#', ""), i)
}

fn alter_table(sql: &str, toks: &[Tok]) -> Option<Whole> {
    let (target, i) = table_name(sql, toks, 2);
    let next = toks.get(i);
    if kw(next, "APPEND") && kw(toks.get(i + 1), "FROM") {
        let (source, _) = table_name(sql, toks, i + 2);
        return Some(Whole::Replace(format!(
            "WITH rsqlflow_moved AS (DELETE FROM {source} RETURNING *) INSERT INTO {target} SELECT * FROM rsqlflow_moved"
        )));
    }
    if kw(next, "ALTER") {
        let what = toks.get(i + 1);
        let physical = kw(what, "DISTKEY")
            || kw(what, "SORTKEY")
            || kw(what, "DISTSTYLE")
            || kw(what, "COMPOUND")
            || kw(what, "INTERLEAVED")
            || kw(what, "ENCODE")
            || (kw(what, "COLUMN") && kw(toks.get(i + 3), "ENCODE"));
        if physical {
            return Some(Whole::NoOp {
                tag: "ALTER TABLE",
                construct: "ALTER TABLE ... ALTER DISTKEY/SORTKEY/DISTSTYLE/ENCODE".into(),
            });
        }
    }
    None
}

fn merge_remove_duplicates(sql: &str, toks: &[Tok]) -> Option<Whole> {
    // MERGE INTO target USING source [alias] ON cond REMOVE DUPLICATES
    let into = toks.iter().position(|t| t.is_word("INTO"))?;
    let (target, i) = table_name(sql, toks, into + 1);
    let using = toks[i..].iter().position(|t| t.is_word("USING"))? + i;
    let on = toks.iter().position(|t| t.is_word("ON"))?;
    let remove = toks.iter().rposition(|t| t.is_word("REMOVE"))?;
    let source = sql[toks[using + 1].range.start..toks[on - 1].range.end].replace('#', "");
    let (source_table, _) = table_name(sql, toks, using + 1);
    let cond = &sql[toks[on + 1].range.start..toks[remove - 1].range.end];
    Some(Whole::Replace(format!(
        "WITH rsqlflow_deleted AS (DELETE FROM {target} USING {source} WHERE {cond}) INSERT INTO {target} SELECT * FROM {source_table}"
    )))
}

/// CREATE [TEMP] TABLE: drops DISTSTYLE/DISTKEY/SORTKEY/ENCODE/BACKUP, rewrites IDENTITY and
/// `#name` (a temp table).
fn create_table(sql: &str, toks: &[Tok], edits: &mut Edits) {
    let Some(table_kw) = toks.iter().take(6).position(|t| t.is_word("TABLE")) else {
        return;
    };
    if toks[..table_kw]
        .iter()
        .any(|t| t.is_word("VIEW") || t.is_word("FUNCTION"))
    {
        return;
    }
    let temp = toks[..table_kw]
        .iter()
        .any(|t| t.is_word("TEMP") || t.is_word("TEMPORARY"));
    let name_at = (table_kw + 1..toks.len())
        .find(|&j| !(toks[j].is_word("IF") || toks[j].is_word("NOT") || toks[j].is_word("EXISTS")));
    if let Some(j) = name_at
        && toks[j].word().is_some_and(|w| w.starts_with('#'))
        && !temp
    {
        edits.replace(toks[table_kw].range.clone(), "TEMP TABLE");
    }
    let mut depth = 0i32;
    let mut i = table_kw;
    while i < toks.len() {
        let t = &toks[i];
        match &t.token {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            _ => {}
        }
        if t.is_word("AS") && depth == 0 {
            // CTAS: the query follows; physical clauses come before AS.
            break;
        }
        let paren_list_end = |from: usize| -> usize {
            // index after the matching ')' of a '(' at `from`
            let mut d = 0;
            let mut k = from;
            while k < toks.len() {
                match toks[k].token {
                    Token::LParen => d += 1,
                    Token::RParen => {
                        d -= 1;
                        if d == 0 {
                            return k + 1;
                        }
                    }
                    _ => {}
                }
                k += 1;
            }
            toks.len()
        };
        let is_lparen = |k: usize| matches!(toks.get(k).map(|t| &t.token), Some(Token::LParen));
        if depth == 1 {
            // Column-level clauses.
            if t.is_word("ENCODE") && toks.get(i + 1).is_some() {
                edits.remove_tokens(toks, i, i + 2, sql);
                i += 2;
                continue;
            }
            if (t.is_word("DISTKEY") || t.is_word("SORTKEY")) && !is_lparen(i + 1) {
                edits.remove_tokens(toks, i, i + 1, sql);
                i += 1;
                continue;
            }
            if t.is_word("IDENTITY") && is_lparen(i + 1) {
                let end = paren_list_end(i + 1);
                let nums: Vec<&str> = toks[i + 2..end - 1]
                    .iter()
                    .filter(|t| !matches!(t.token, Token::Comma))
                    .map(|t| &sql[t.range.clone()])
                    .collect();
                let (seed, step) = match nums.as_slice() {
                    [s, st] => (*s, *st),
                    _ => ("1", "1"),
                };
                edits.replace(
                    toks[i].range.start..toks[end - 1].range.end,
                    format!(
                        "GENERATED BY DEFAULT AS IDENTITY (START WITH {seed} INCREMENT BY {step})"
                    ),
                );
                i = end;
                continue;
            }
        }
        if depth == 0 {
            // Table attributes.
            if t.is_word("DISTSTYLE") || t.is_word("BACKUP") {
                edits.remove_tokens(toks, i, (i + 2).min(toks.len()), sql);
                i += 2;
                continue;
            }
            if t.is_word("ENCODE") && kw(toks.get(i + 1), "AUTO") {
                edits.remove_tokens(toks, i, i + 2, sql);
                i += 2;
                continue;
            }
            let sortkey_at = if (t.is_word("COMPOUND") || t.is_word("INTERLEAVED"))
                && kw(toks.get(i + 1), "SORTKEY")
            {
                Some(i + 1)
            } else if t.is_word("SORTKEY") || t.is_word("DISTKEY") {
                Some(i)
            } else {
                None
            };
            if let Some(k) = sortkey_at {
                let end = if is_lparen(k + 1) {
                    paren_list_end(k + 1)
                } else if kw(toks.get(k + 1), "AUTO") {
                    k + 2
                } else {
                    k + 1
                };
                edits.remove_tokens(toks, i, end, sql);
                i = end;
                continue;
            }
        }
        i += 1;
    }
}

/// CREATE VIEW ... WITH NO SCHEMA BINDING: late binding is what PostgreSQL cannot do; the view
/// is created bound.
fn create_view(sql: &str, toks: &[Tok], edits: &mut Edits) {
    if !toks.iter().take(5).any(|t| t.is_word("VIEW")) {
        return;
    }
    let n = toks.len();
    let end = if matches!(toks.last().map(|t| &t.token), Some(Token::SemiColon)) {
        n - 1
    } else {
        n
    };
    if end >= 4
        && toks[end - 4].is_word("WITH")
        && toks[end - 3].is_word("NO")
        && toks[end - 2].is_word("SCHEMA")
        && toks[end - 1].is_word("BINDING")
    {
        edits.remove_tokens(toks, end - 4, end, sql);
    }
}
