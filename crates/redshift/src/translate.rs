//! Statement translation, Redshift SQL to PostgreSQL: the lexical pre-pass, then sqlparser's
//! AST with rewrites of Redshift functions and clauses. A statement that needs no change is
//! returned untouched; one that does is re-printed from the AST (or from the pre-pass edits
//! when only those applied).

use std::ops::ControlFlow;

use sqlparser::ast::{
    Expr, Function, FunctionArg, FunctionArgExpr, FunctionArguments, LimitClause, ObjectNamePart,
    Query, SelectItem, SetExpr, Statement, TopQuantity, VisitMut, VisitorMut,
};
use sqlparser::dialect::RedshiftSqlDialect;
use sqlparser::parser::Parser;

use crate::copy_spec::{CopySpec, UnloadSpec};
use crate::lexical::{Whole, prepass};
use crate::system::SessionFacts;
use crate::tokens::{Edits, tokenize};

/// The result of translating one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Translation {
    /// Send the statement as written.
    Unchanged,
    /// Send this PostgreSQL text instead.
    Rewritten(String),
    /// Redshift commits the open transaction before TRUNCATE: commit, then send this text.
    CommitThen(String),
    /// Accept the statement without sending anything.
    NoOp {
        /// Command tag to report.
        tag: &'static str,
        /// The construct, for a one-time note.
        construct: String,
    },
    /// COPY from S3, run by the loader.
    Copy(Box<CopySpec>),
    /// UNLOAD to S3, run by the unloader.
    Unload(Box<UnloadSpec>),
    /// Fail the statement with a syntax error (SQLSTATE 42601).
    Invalid(String),
    /// Fail the statement with a message naming the construct.
    Unsupported {
        /// The construct.
        construct: String,
        /// Why.
        reason: String,
    },
}

/// Translates one Redshift statement for PostgreSQL, outside any session (`pg_last_copy_id()`
/// and the like answer as in a new session).
pub fn translate(sql: &str) -> Translation {
    translate_with(sql, &SessionFacts::default())
}

/// Translates one Redshift statement for PostgreSQL in a session that knows `facts`.
pub fn translate_with(sql: &str, facts: &SessionFacts) -> Translation {
    if plainly_unchanged(sql) {
        return Translation::Unchanged;
    }
    let Some(toks) = tokenize(sql) else {
        return Translation::Unchanged;
    };
    if toks.is_empty() {
        return Translation::Unchanged;
    }
    let mut edits = Edits::default();
    let whole = prepass(sql, &toks, &mut edits, facts);
    let text = if edits.is_empty() {
        sql.to_string()
    } else {
        edits.apply(sql)
    };
    match whole {
        Whole::Continue => {}
        Whole::Replace(t) => return Translation::Rewritten(t),
        Whole::NoOp { tag, construct } => return Translation::NoOp { tag, construct },
        Whole::Unsupported { construct, reason } => {
            return Translation::Unsupported { construct, reason };
        }
        Whole::Truncate => return Translation::CommitThen(text),
        Whole::Invalid(message) => return Translation::Invalid(message),
        Whole::Copy(spec) => return Translation::Copy(spec),
        Whole::Unload(spec) => return Translation::Unload(spec),
    }
    if !may_need_ast(&toks) {
        return if edits.is_empty() {
            Translation::Unchanged
        } else {
            Translation::Rewritten(text)
        };
    }
    match rewrite_ast(&text, facts.functions.qualifier()) {
        Ok(Some(t)) => Translation::Rewritten(t),
        Ok(None) if edits.is_empty() => Translation::Unchanged,
        Ok(None) => Translation::Rewritten(text),
        Err(u) => u,
    }
}

/// Words that make the lexical pre-pass act (besides `"` and `#`).
const PREPASS_TRIGGERS: &[&str] = &[
    "VACUUM",
    "ANALYZE",
    "SET",
    "RESET",
    "GRANT",
    "REVOKE",
    "TRUNCATE",
    "COPY",
    "UNLOAD",
    "ALTER",
    "MERGE",
    "CREATE",
    "APPROXIMATE",
    "MAX",
    "SUPER",
    "COLLATE",
    "PG_LAST_COPY_COUNT",
    "PG_LAST_COPY_ID",
    "PG_LAST_QUERY_ID",
    "PG_LAST_UNLOAD_COUNT",
    "PG_LAST_UNLOAD_ID",
];

/// A cheap scan before tokenizing: true when the statement has no quoted identifier, no `#`
/// name and no word that any rewrite looks for, so it certainly needs no change. (A trigger
/// word inside a string literal only costs the full check.)
fn plainly_unchanged(sql: &str) -> bool {
    if sql.contains(['"', '#']) {
        return false;
    }
    let is_trigger = |w: &str| {
        PREPASS_TRIGGERS
            .iter()
            .chain(AST_TRIGGERS)
            .any(|k| k.eq_ignore_ascii_case(w))
    };
    !sql.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.len() >= 3 && w.as_bytes()[0].is_ascii_alphabetic())
        .any(is_trigger)
}

/// Words that only the AST pass rewrites; a statement without any of them skips parsing.
const AST_TRIGGERS: &[&str] = &[
    "NVL",
    "NVL2",
    "DECODE",
    "GETDATE",
    "SYSDATE",
    "TRUNC",
    "LEN",
    "TEXTLEN",
    "CHARINDEX",
    "DATEADD",
    "DATE_ADD",
    "DATEDIFF",
    "DATE_DIFF",
    "DATE_PART",
    "DATEPART",
    "PGDATE_PART",
    "DATE_TRUNC",
    "ADD_MONTHS",
    "CONVERT_TIMEZONE",
    "MEDIAN",
    "RATIO_TO_REPORT",
    "LISTAGG",
    "JSON_PARSE",
    "JSON_SERIALIZE",
    "JSON_EXTRACT_PATH_TEXT",
    "JSON_ARRAY_LENGTH",
    "JSON_EXTRACT_ARRAY_ELEMENT_TEXT",
    "IS_VALID_JSON",
    "IS_VALID_JSON_ARRAY",
    "TOP",
    "QUALIFY",
    "CONVERT",
    "CONCAT",
    "AVG",
];

pub(crate) fn may_need_ast(toks: &[crate::tokens::Tok]) -> bool {
    toks.iter().any(|t| {
        t.word().is_some_and(|w| {
            w.len() <= 31 && AST_TRIGGERS.iter().any(|k| k.eq_ignore_ascii_case(w))
        })
    })
}

/// Parses and rewrites; `Ok(None)` when the AST needed no change (or could not be parsed:
/// the server then judges the statement as written).
pub(crate) fn rewrite_ast(sql: &str, schema: &'static str) -> Result<Option<String>, Translation> {
    let dialect = RedshiftSqlDialect {};
    let Ok(stmts) = Parser::parse_sql(&dialect, sql) else {
        return Ok(None);
    };
    rewrite_parsed(stmts, sql, schema)
}

/// [`rewrite_ast`] on statements already parsed from `sql`.
pub(crate) fn rewrite_parsed(
    mut stmts: Vec<Statement>,
    sql: &str,
    schema: &'static str,
) -> Result<Option<String>, Translation> {
    if stmts.len() != 1 {
        return Ok(None);
    }
    let mut v = Rewriter {
        changed: false,
        error: None,
        schema,
    };
    let _ = stmts[0].visit(&mut v);
    if let Some(e) = v.error {
        return Err(e);
    }
    if !v.changed {
        return Ok(None);
    }
    let stmt: &Statement = &stmts[0];
    let mut out = stmt.to_string();
    if sql.trim_end().ends_with(';') {
        out.push(';');
    }
    Ok(Some(out))
}

struct Rewriter {
    changed: bool,
    error: Option<Translation>,
    /// Where the compatibility functions live (`rsqlflow_sys` or `pg_temp`).
    schema: &'static str,
}

fn parse_expr(text: &str) -> Option<Expr> {
    let dialect = RedshiftSqlDialect {};
    Parser::new(&dialect)
        .try_with_sql(text)
        .ok()?
        .parse_expr()
        .ok()
}

fn parse_query(text: &str) -> Option<Query> {
    let dialect = RedshiftSqlDialect {};
    Parser::new(&dialect)
        .try_with_sql(text)
        .ok()?
        .parse_query()
        .ok()
        .map(|q| *q)
}

/// Normalises a Redshift date part (`d`, `days`, `mon`, `hh`, ...) to PostgreSQL's name.
pub fn date_part(p: &str) -> Option<&'static str> {
    let p = p
        .trim_matches(|c| c == '\'' || c == '"')
        .to_ascii_lowercase();
    Some(match p.as_str() {
        "millennium" | "millennia" | "mil" | "mils" => "millennium",
        "century" | "centuries" | "c" | "cent" | "cents" => "century",
        "decade" | "decades" | "dec" | "decs" => "decade",
        "year" | "years" | "y" | "yr" | "yrs" | "yy" | "yyy" | "yyyy" => "year",
        "quarter" | "quarters" | "qtr" | "qtrs" | "q" => "quarter",
        "month" | "months" | "mon" | "mons" | "mm" => "month",
        "week" | "weeks" | "w" | "wk" | "wks" => "week",
        "day" | "days" | "d" | "dd" => "day",
        "hour" | "hours" | "h" | "hh" | "hr" | "hrs" => "hour",
        "minute" | "minutes" | "m" | "mi" | "min" | "mins" => "minute",
        "second" | "seconds" | "s" | "sec" | "secs" => "second",
        "millisecond" | "milliseconds" | "ms" | "msec" | "msecs" | "msecond" | "mseconds"
        | "millisec" | "millisecs" | "millisecon" => "millisecond",
        "microsecond" | "microseconds" | "microsec" | "microsecs" | "usecond" | "useconds"
        | "us" | "usec" | "usecs" => "microsecond",
        "dow" | "dayofweek" => "dow",
        "doy" | "dayofyear" => "doy",
        "epoch" => "epoch",
        "timezone" => "timezone",
        "timezone_hour" => "timezone_hour",
        "timezone_minute" => "timezone_minute",
        _ => return None,
    })
}

struct Call<'a> {
    name: String,
    args: Vec<String>,
    f: &'a Function,
}

fn call_of(f: &Function) -> Option<Call<'_>> {
    if f.name.0.len() != 1 {
        return None;
    }
    let ObjectNamePart::Identifier(id) = &f.name.0[0] else {
        return None;
    };
    if id.quote_style.is_some() {
        return None;
    }
    let args = match &f.args {
        FunctionArguments::None => Vec::new(),
        FunctionArguments::List(l) => {
            if l.duplicate_treatment.is_some() || !l.clauses.is_empty() {
                return Some(Call {
                    name: id.value.to_ascii_uppercase(),
                    args: Vec::new(),
                    f,
                })
                .filter(|c| c.name == "LISTAGG");
            }
            l.args.iter().map(|a| a.to_string()).collect()
        }
        FunctionArguments::Subquery(_) => return None,
    };
    Some(Call {
        name: id.value.to_ascii_uppercase(),
        args,
        f,
    })
}

/// `AVG(x)` with one plain argument (any DISTINCT, FILTER or OVER).
fn is_avg(f: &Function) -> bool {
    let [ObjectNamePart::Identifier(id)] = f.name.0.as_slice() else {
        return false;
    };
    id.quote_style.is_none()
        && id.value.eq_ignore_ascii_case("avg")
        && f.within_group.is_empty()
        && matches!(&f.args, FunctionArguments::List(l)
            if l.args.len() == 1
                && l.clauses.is_empty()
                && matches!(l.args[0], FunctionArg::Unnamed(FunctionArgExpr::Expr(_))))
}

fn first_arg_is_part(f: &Function) -> Option<&'static str> {
    let FunctionArguments::List(l) = &f.args else {
        return None;
    };
    match l.args.first()? {
        FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Identifier(i))) => date_part(&i.value),
        FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(v))) => date_part(&v.to_string()),
        _ => None,
    }
}

impl Rewriter {
    fn function(&mut self, c: &Call<'_>) -> Option<String> {
        let a = &c.args;
        let s = self.schema;
        let plain = c.f.over.is_none() && c.f.within_group.is_empty() && c.f.filter.is_none();
        Some(match (c.name.as_str(), a.len()) {
            ("NVL", n) if n >= 2 && plain => format!("COALESCE({})", a.join(", ")),
            ("NVL2", 3) if plain => {
                format!(
                    "CASE WHEN {} IS NOT NULL THEN {} ELSE {} END",
                    a[0], a[1], a[2]
                )
            }
            ("DECODE", n) if n >= 3 && plain => {
                let mut s = String::from("CASE");
                let mut i = 1;
                while i + 1 < n {
                    s.push_str(&format!(
                        " WHEN {} IS NOT DISTINCT FROM {} THEN {}",
                        a[0],
                        a[i],
                        a[i + 1]
                    ));
                    i += 2;
                }
                if i < n {
                    s.push_str(&format!(" ELSE {}", a[i]));
                }
                s.push_str(" END");
                s
            }
            ("GETDATE", 0) if plain => "date_trunc('second', LOCALTIMESTAMP)".into(),
            ("SYSDATE", 0) if plain => "LOCALTIMESTAMP".into(),
            ("TRUNC", 1) if plain => format!("{s}.trunc({})", a[0]),
            ("LEN" | "TEXTLEN", 1) if plain => format!("length({})", a[0]),
            ("CHARINDEX", 2) if plain => format!("strpos({}, {})", a[1], a[0]),
            ("DATEADD" | "DATE_ADD", 3) if plain => {
                let part = first_arg_is_part(c.f)?;
                format!("{s}.dateadd('{part}', {}, {})", a[1], a[2])
            }
            ("DATEDIFF" | "DATE_DIFF", 3) if plain => {
                let part = first_arg_is_part(c.f)?;
                format!("{s}.datediff('{part}', {}, {})", a[1], a[2])
            }
            ("DATE_PART" | "DATEPART" | "PGDATE_PART", 2) if plain => {
                let part = first_arg_is_part(c.f)?;
                format!("date_part('{part}', {})", a[1])
            }
            ("DATE_TRUNC", 2) if plain => {
                let part = first_arg_is_part(c.f)?;
                // Only bare (unquoted) parts need rewriting.
                if a[0].starts_with('\'') {
                    return None;
                }
                format!("date_trunc('{part}', {})", a[1])
            }
            ("ADD_MONTHS", 2) if plain => {
                format!(
                    "(CAST({} AS TIMESTAMP) + ({}) * INTERVAL '1 month')",
                    a[0], a[1]
                )
            }
            ("CONVERT_TIMEZONE", 2 | 3) if plain => {
                format!("{s}.convert_timezone({})", a.join(", "))
            }
            ("MEDIAN", 1) if c.f.over.is_none() && c.f.within_group.is_empty() => {
                format!("PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY {})", a[0])
            }
            ("RATIO_TO_REPORT", 1) => {
                let over = c.f.over.as_ref()?;
                format!("(({}) / NULLIF(SUM({}) OVER {over}, 0))", a[0], a[0])
            }
            ("LISTAGG", _) => return self.listagg(c.f),
            // "if one or both expressions is null, the result of the concatenation is null"
            // (r_CONCAT); PostgreSQL's concat() skips NULLs.
            ("CONCAT", 2) if plain => {
                format!("{s}.concat(CAST({} AS TEXT), CAST({} AS TEXT))", a[0], a[1])
            }
            ("JSON_PARSE", 1) if plain => format!("CAST({} AS JSONB)", a[0]),
            ("JSON_SERIALIZE", 1) if plain => format!("CAST({} AS TEXT)", a[0]),
            ("JSON_EXTRACT_PATH_TEXT", n) if n >= 2 && plain => format!(
                "json_extract_path_text(CAST({} AS JSON), {})",
                a[0],
                a[1..].join(", ")
            ),
            ("JSON_ARRAY_LENGTH", 1) if plain => {
                format!("json_array_length(CAST({} AS JSON))", a[0])
            }
            ("JSON_EXTRACT_ARRAY_ELEMENT_TEXT", 2) if plain => {
                format!("(CAST({} AS JSON) ->> ({}))", a[0], a[1])
            }
            ("IS_VALID_JSON", 1) if plain => format!("{s}.is_valid_json({})", a[0]),
            ("IS_VALID_JSON_ARRAY", 1) if plain => {
                format!("{s}.is_valid_json_array({})", a[0])
            }
            _ => return None,
        })
    }

    /// AVG with Redshift's result type: BIGINT for an integer argument (the window example of
    /// AVG shows the average truncated: 50/3 is 16), DECIMAL with the argument's scale for a
    /// DECIMAL one, DOUBLE PRECISION for floating point (r_AVG, r_WF_AVG). PostgreSQL's AVG
    /// gives NUMERIC with 16 or more decimals; its result goes through `avg(result, carrier)`,
    /// where the carrier is MIN of the same argument, with the same OVER and FILTER, whose type
    /// picks the overload and whose scale (that of the column's values) the decimal one keeps.
    fn avg(&mut self, f: &Function) -> String {
        let mut carrier = f.clone();
        if let Some(ObjectNamePart::Identifier(id)) = carrier.name.0.first_mut() {
            id.value = "min".into();
        }
        if let FunctionArguments::List(l) = &mut carrier.args {
            l.duplicate_treatment = None;
        }
        format!("{}.avg({f}, {carrier})", self.schema)
    }

    fn listagg(&mut self, f: &Function) -> Option<String> {
        let FunctionArguments::List(l) = &f.args else {
            return None;
        };
        let distinct = l
            .duplicate_treatment
            .map(|d| format!("{d} "))
            .unwrap_or_default();
        let args: Vec<String> = l.args.iter().map(|a| a.to_string()).collect();
        let (value, sep) = match args.as_slice() {
            [v] => (v.clone(), "''".to_string()),
            [v, s] => (v.clone(), s.clone()),
            _ => return None,
        };
        let order = if f.within_group.is_empty() {
            String::new()
        } else {
            let o: Vec<String> = f.within_group.iter().map(|o| o.to_string()).collect();
            format!(" ORDER BY {}", o.join(", "))
        };
        let over = f
            .over
            .as_ref()
            .map(|o| format!(" OVER {o}"))
            .unwrap_or_default();
        Some(format!(
            "string_agg({distinct}CAST({value} AS TEXT), {sep}{order}){over}"
        ))
    }

    fn qualify(&mut self, q: &mut Query) {
        let SetExpr::Select(sel) = q.body.as_mut() else {
            return;
        };
        let Some(cond) = sel.qualify.take() else {
            return;
        };
        let mut names = Vec::new();
        for item in &sel.projection {
            let name = match item {
                SelectItem::UnnamedExpr(Expr::Identifier(i)) => i.to_string(),
                SelectItem::UnnamedExpr(Expr::CompoundIdentifier(parts)) => {
                    parts.last().map(|p| p.to_string()).unwrap_or_default()
                }
                SelectItem::ExprWithAlias { alias, .. } => alias.to_string(),
                _ => {
                    self.error = Some(Translation::Unsupported {
                        construct: "QUALIFY".into(),
                        reason: "locally every select-list item of a QUALIFY query must be a column or have an alias".into(),
                    });
                    return;
                }
            };
            names.push(name);
        }
        let inner = format!(
            "{}, ({cond}) AS rsqlflow_qualify",
            sel.to_string()
                .split_once(" FROM ")
                .map(|(cols, _)| cols.to_string())
                .unwrap_or_default()
        );
        let from_etc = sel
            .to_string()
            .split_once(" FROM ")
            .map(|(_, rest)| rest.to_string())
            .unwrap_or_default();
        let mut outer = format!(
            "SELECT {} FROM ({inner} FROM {from_etc}) AS rsqlflow_q WHERE rsqlflow_q.rsqlflow_qualify",
            names.join(", ")
        );
        if let Some(ob) = &q.order_by {
            outer.push_str(&format!(" {ob}"));
        }
        if let Some(l) = &q.limit_clause {
            outer.push_str(&format!(" {l}"));
        }
        match parse_query(&outer) {
            Some(nq) => {
                *q = nq;
                self.changed = true;
            }
            None => {
                self.error = Some(Translation::Unsupported {
                    construct: "QUALIFY".into(),
                    reason: "the query could not be rewritten without QUALIFY".into(),
                });
            }
        }
    }
}

impl VisitorMut for Rewriter {
    type Break = ();

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        let replacement = match expr {
            Expr::Function(f) if is_avg(f) => Some(self.avg(f)),
            Expr::Function(f) => call_of(f).and_then(|c| self.function(&c)),
            Expr::Identifier(i) if i.quote_style.is_none() => {
                match i.value.to_ascii_uppercase().as_str() {
                    "SYSDATE" => Some("LOCALTIMESTAMP".to_string()),
                    "GETDATE" => Some("date_trunc('second', LOCALTIMESTAMP)".to_string()),
                    _ => None,
                }
            }
            Expr::Convert {
                is_try: false,
                expr: inner,
                data_type: Some(t),
                charset: None,
                target_before_value: true,
                styles,
            } if styles.is_empty() => Some(format!("CAST({inner} AS {t})")),
            _ => None,
        };
        if let Some(text) = replacement {
            match parse_expr(&text) {
                Some(e) => {
                    *expr = e;
                    self.changed = true;
                }
                None => {
                    self.error = Some(Translation::Unsupported {
                        construct: text,
                        reason: "internal rewrite produced invalid SQL".into(),
                    });
                    return ControlFlow::Break(());
                }
            }
        }
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, q: &mut Query) -> ControlFlow<()> {
        if let SetExpr::Select(sel) = q.body.as_mut()
            && let Some(top) = sel.top.take()
        {
            let limit = match top.quantity {
                Some(TopQuantity::Constant(n)) => parse_expr(&n.to_string()),
                Some(TopQuantity::Expr(e)) => Some(e),
                None => None,
            };
            if top.percent || top.with_ties || limit.is_none() {
                self.error = Some(Translation::Unsupported {
                    construct: "TOP ... PERCENT / WITH TIES".into(),
                    reason: "only TOP n is supported locally".into(),
                });
                return ControlFlow::Break(());
            }
            q.limit_clause = Some(LimitClause::LimitOffset {
                limit,
                offset: None,
                limit_by: Vec::new(),
            });
            self.changed = true;
        }
        self.qualify(q);
        if self.error.is_some() {
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(sql: &str) -> String {
        match translate(sql) {
            Translation::Unchanged => "=".into(),
            Translation::Rewritten(s) | Translation::CommitThen(s) => s,
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn unchanged_statements_are_not_rewritten() {
        assert_eq!(t("select  a,b from   t where x = 'NVL(1)' -- keep\n;"), "=");
        assert_eq!(t("BEGIN TRANSACTION"), "=");
    }

    #[test]
    fn physical_design_is_dropped_without_reformatting() {
        assert_eq!(
            t(
                "CREATE TABLE s (a BIGINT NOT NULL, b INT ENCODE az64) DISTKEY(a) COMPOUND SORTKEY(a, b);"
            ),
            "CREATE TABLE s (a BIGINT NOT NULL, b INT);"
        );
        assert_eq!(
            t("create table #stage as select 1"),
            "create TEMP TABLE stage as select 1"
        );
        assert_eq!(
            t("CREATE TABLE d (k BIGINT IDENTITY(1,1), v VARCHAR(MAX))"),
            "CREATE TABLE d (k BIGINT GENERATED BY DEFAULT AS IDENTITY (START WITH 1 INCREMENT BY 1), v VARCHAR(65535))"
        );
    }

    #[test]
    fn functions_are_rewritten() {
        assert_eq!(
            t("SELECT NVL(a, 0), NVL2(a, 'y', 'n') FROM t"),
            "SELECT COALESCE(a, 0), CASE WHEN a IS NOT NULL THEN 'y' ELSE 'n' END FROM t"
        );
        assert_eq!(
            t("SELECT TOP 2 id FROM t ORDER BY id"),
            "SELECT id FROM t ORDER BY id LIMIT 2"
        );
        assert_eq!(
            t("SELECT DATEADD(day, 7, d) FROM t"),
            "SELECT rsqlflow_sys.dateadd('day', 7, d) FROM t"
        );
        assert_eq!(
            t("SELECT CONVERT(INTEGER, '42')"),
            "SELECT CAST('42' AS INTEGER)"
        );
    }

    #[test]
    fn quick_scan_only_skips_what_needs_nothing() {
        assert!(plainly_unchanged("INSERT INTO t VALUES (1, 'a', 2.5);"));
        assert!(!plainly_unchanged("select nvl(a, 1) from t"));
        assert!(!plainly_unchanged("select \"A\" from t"));
        assert!(!plainly_unchanged("select * from #stage"));
        assert!(!plainly_unchanged("create table t (a varchar(max))"));
        // A trigger word in a literal only costs the full check, which leaves it alone.
        assert!(!plainly_unchanged("select 'top' as x"));
        assert_eq!(translate("select 'top' as x"), Translation::Unchanged);
    }

    #[test]
    fn collations() {
        assert_eq!(
            t("CREATE TABLE T (col1 Varchar(20) COLLATE case_sensitive)"),
            "CREATE TABLE T (col1 Varchar(20))"
        );
        assert_eq!(
            t("SELECT * FROM T WHERE collate(col1, 'case_sensitive') = 'john'"),
            "SELECT * FROM T WHERE (col1) = 'john'"
        );
        for sql in [
            "CREATE TABLE T (col1 Varchar(20) COLLATE CASE_INSENSITIVE)",
            "SELECT * FROM T WHERE collate(col1, 'case_insensitive') = 'john'",
            "create database sampledb collate case_insensitive",
        ] {
            assert!(
                matches!(translate(sql), Translation::Unsupported { ref construct, .. } if construct.starts_with("COLLATE")),
                "{sql}"
            );
        }
    }

    #[test]
    fn whole_statements() {
        assert_eq!(t("VACUUM FULL customers TO 99 PERCENT"), "VACUUM customers");
        assert!(matches!(
            translate("SET query_group TO 'x'"),
            Translation::NoOp { .. }
        ));
        assert!(matches!(
            translate("ANALYZE COMPRESSION t"),
            Translation::NoOp { .. }
        ));
        assert!(matches!(
            translate("TRUNCATE t"),
            Translation::CommitThen(_)
        ));
    }
}
