//! The describe commands of psql and RSQL: `\d`, `\d NAME`, `\dt`, `\dv`, `\dn`, `\df`, `\du`,
//! `\l`, with `S` (system objects too), `+` (more columns) and psql's patterns
//! (<https://www.postgresql.org/docs/current/app-psql.html#APP-PSQL-PATTERNS>: `*` any text,
//! `?` one character, `schema.name`, case folded unless in double quotes).
//!
//! Every query reads catalog tables that Amazon Redshift has as PostgreSQL does: PG_CLASS,
//! PG_NAMESPACE, PG_ATTRIBUTE, PG_DATABASE, PG_PROC, PG_USER
//! ([system catalog tables](https://docs.aws.amazon.com/redshift/latest/dg/c_intro_catalog_views.html),
//! [catalog query examples](https://docs.aws.amazon.com/redshift/latest/dg/c_join_PG_examples.html)),
//! and for `\d NAME` RSQL's Encoding, DistKey and SortKey columns come from PG_TABLE_DEF
//! ([PG_TABLE_DEF](https://docs.aws.amazon.com/redshift/latest/dg/r_PG_TABLE_DEF.html)), which
//! rsqlflow's Redshift layer also provides; on a PostgreSQL server without it they are left out.

use crate::args::quote_literal;
use crate::backend::ResultSet;
use crate::format::render;
use crate::interpreter::{EXIT_CONNECTION, Flow, Interpreter};

/// What a describe command lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `\d`: tables, views, materialized views, sequences.
    Relations,
    /// `\dt`
    Tables,
    /// `\dv`
    Views,
    /// `\dn`
    Schemas,
    /// `\df`
    Functions,
    /// `\du`
    Users,
    /// `\l`
    Databases,
}

/// A parsed describe command name: what it lists, `+`, `S`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Command {
    pub kind: Kind,
    pub plus: bool,
    pub system: bool,
}

/// Parses a describe command's name (`dt+`, `dtS`, `l+`, `du`, ...).
pub fn parse(name: &str) -> Option<Command> {
    let plus = name.contains('+');
    let system = name.contains('S');
    let base: String = name.chars().filter(|c| !matches!(c, '+' | 'S')).collect();
    let kind = match base.as_str() {
        "d" => Kind::Relations,
        "dt" => Kind::Tables,
        "dv" => Kind::Views,
        "dn" => Kind::Schemas,
        "df" => Kind::Functions,
        "du" | "dg" => Kind::Users,
        "l" | "list" => Kind::Databases,
        _ => return None,
    };
    Some(Command { kind, plus, system })
}

/// A psql pattern as SQL conditions on a schema column and a name column: `None` for no
/// condition.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pattern {
    pub schema: Option<String>,
    pub name: Option<String>,
}

/// Splits a psql pattern into LIKE patterns for the schema and the name: `*` is `%`, `?` is
/// `_`, a dot outside double quotes separates the schema, letters outside double quotes are
/// folded to lower case, `%` and `_` are matched literally.
pub fn pattern(p: &str) -> Pattern {
    let mut parts: Vec<String> = vec![String::new()];
    let mut quoted = false;
    let mut chars = p.chars().peekable();
    while let Some(c) = chars.next() {
        let cur = parts.last_mut().expect("one part at least");
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            '"' => quoted = !quoted,
            '.' if !quoted => parts.push(String::new()),
            '*' if !quoted => cur.push('%'),
            '?' if !quoted => cur.push('_'),
            '%' | '_' | '\\' => {
                cur.push('\\');
                cur.push(c);
            }
            c if quoted => cur.push(c),
            c => cur.extend(c.to_lowercase()),
        }
    }
    let keep = |s: String| Some(s).filter(|s| !s.is_empty() && s != "%");
    match parts.len() {
        1 => Pattern {
            schema: None,
            name: keep(parts.remove(0)),
        },
        _ => {
            let name = parts.pop().and_then(keep);
            let schema = parts.pop().and_then(keep);
            Pattern { schema, name }
        }
    }
}

fn like(column: &str, pat: &Option<String>) -> String {
    match pat {
        Some(p) => format!(" AND {column} LIKE {}", quote_literal(p)),
        None => String::new(),
    }
}

/// Schemas never listed without `S`: PostgreSQL's own, and rsqlflow's (its Redshift
/// layer's records and temporary views).
const HIDDEN_SCHEMAS: &str = "n.nspname <> 'information_schema' \
    AND substring(n.nspname, 1, 3) <> 'pg_' AND n.nspname <> 'rsqlflow_sys'";

/// The query and title of a listing command.
pub fn list_query(cmd: Command, pat: &Pattern) -> (String, &'static str) {
    let system = if cmd.system {
        // With S, system objects too (but never another session's temporary schema).
        "substring(n.nspname, 1, 7) <> 'pg_temp' AND substring(n.nspname, 1, 13) <> 'pg_toast_temp'"
            .to_string()
    } else {
        HIDDEN_SCHEMAS.to_string()
    };
    match cmd.kind {
        Kind::Relations | Kind::Tables | Kind::Views => {
            let (kinds, title) = match cmd.kind {
                Kind::Tables => ("'r', 'p'", "List of relations"),
                Kind::Views => ("'v', 'm'", "List of relations"),
                _ => ("'r', 'p', 'v', 'm', 'S', 'f'", "List of relations"),
            };
            let describe = if cmd.plus {
                ", pg_catalog.obj_description(c.oid, 'pg_class') AS \"Description\""
            } else {
                ""
            };
            (
                format!(
                    "SELECT n.nspname AS \"Schema\", c.relname AS \"Name\", \
                     CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned table' \
                     WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' \
                     WHEN 'S' THEN 'sequence' WHEN 'f' THEN 'foreign table' END AS \"Type\", \
                     (SELECT u.usename FROM pg_catalog.pg_user u WHERE u.usesysid = c.relowner) AS \"Owner\"{describe} \
                     FROM pg_catalog.pg_class c \
                     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                     WHERE c.relkind IN ({kinds}) AND {system}{}{} ORDER BY 1, 2",
                    like("n.nspname", &pat.schema),
                    like("c.relname", &pat.name)
                ),
                title,
            )
        }
        Kind::Schemas => (
            format!(
                "SELECT n.nspname AS \"Name\", (SELECT u.usename FROM pg_catalog.pg_user u WHERE u.usesysid = n.nspowner) AS \"Owner\"{} \
                 FROM pg_catalog.pg_namespace n WHERE {system}{} ORDER BY 1",
                if cmd.plus {
                    ", pg_catalog.obj_description(n.oid, 'pg_namespace') AS \"Description\""
                } else {
                    ""
                },
                like("n.nspname", &pat.name.clone().or(pat.schema.clone()))
            ),
            "List of schemas",
        ),
        Kind::Functions => (
            format!(
                "SELECT n.nspname AS \"Schema\", p.proname AS \"Name\", \
                 pg_catalog.format_type(p.prorettype, NULL) AS \"Result data type\", \
                 pg_catalog.oidvectortypes(p.proargtypes) AS \"Argument data types\"{} \
                 FROM pg_catalog.pg_proc p \
                 JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
                 WHERE {system}{}{} ORDER BY 1, 2, 4",
                if cmd.plus {
                    ", (SELECT u.usename FROM pg_catalog.pg_user u WHERE u.usesysid = p.proowner) AS \"Owner\""
                } else {
                    ""
                },
                like("n.nspname", &pat.schema),
                like("p.proname", &pat.name)
            ),
            "List of functions",
        ),
        Kind::Users => (
            format!(
                "SELECT u.usename AS \"Role name\", \
                 CASE WHEN u.usesuper AND u.usecreatedb THEN 'Superuser, Create DB' \
                 WHEN u.usesuper THEN 'Superuser' WHEN u.usecreatedb THEN 'Create DB' \
                 ELSE '' END AS \"Attributes\" \
                 FROM pg_catalog.pg_user u WHERE true{} ORDER BY 1",
                like("u.usename", &pat.name)
            ),
            "List of roles",
        ),
        Kind::Databases => (
            format!(
                "SELECT d.datname AS \"Name\", (SELECT u.usename FROM pg_catalog.pg_user u WHERE u.usesysid = d.datdba) AS \"Owner\" \
                 FROM pg_catalog.pg_database d WHERE true{} ORDER BY 1",
                like("d.datname", &pat.name)
            ),
            "List of databases",
        ),
    }
}

/// What psql says when a listing finds nothing (on stderr).
pub fn nothing_found(cmd: Command, pattern: Option<&str>) -> String {
    let what = match cmd.kind {
        Kind::Relations => "relations",
        Kind::Tables => "tables",
        Kind::Views => "views",
        Kind::Schemas => "schemas",
        Kind::Functions => "functions",
        Kind::Users => "roles",
        Kind::Databases => "databases",
    };
    match pattern {
        Some(p) => format!("Did not find any {what} named \"{p}\"."),
        None => format!("Did not find any {what}."),
    }
}

/// `\d NAME`: the relations a pattern names (oid, schema, name, kind).
pub fn find_relations(pat: &Pattern, system: bool) -> String {
    format!(
        "SELECT c.oid::text, n.nspname, c.relname, c.relkind FROM pg_catalog.pg_class c \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND {}{}{} ORDER BY 2, 3",
        if system { "true" } else { HIDDEN_SCHEMAS },
        like("n.nspname", &pat.schema),
        like("c.relname", &pat.name)
    )
}

/// `\d NAME`'s columns: name, type, nullability and default, psql's first columns.
pub fn columns(oid: &str) -> String {
    format!(
        "SELECT a.attname AS \"Column\", \
         pg_catalog.format_type(a.atttypid, a.atttypmod) AS \"Type\", \
         CASE WHEN a.attnotnull THEN 'not null' ELSE '' END AS \"Nullable\", \
         COALESCE((SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid) FROM pg_catalog.pg_attrdef d \
           WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum), '') AS \"Default\" \
         FROM pg_catalog.pg_attribute a WHERE a.attrelid = {} AND a.attnum > 0 \
         AND NOT a.attisdropped ORDER BY a.attnum",
        quote_literal(oid)
    )
}

/// Whether PG_TABLE_DEF can be read in this session (Redshift, or rsqlflow's Redshift layer).
pub const HAS_TABLE_DEF: &str =
    "SELECT count(*) FROM pg_catalog.pg_class WHERE relname = 'pg_table_def'";

/// RSQL's Redshift columns of `\d NAME`: Encoding, DistKey, SortKey by column.
pub fn table_def(schema: &str, table: &str) -> String {
    format!(
        "SELECT \"column\", trim(encoding), distkey::text, sortkey::text FROM pg_table_def \
         WHERE schemaname = {} AND tablename = {}",
        quote_literal(schema),
        quote_literal(table)
    )
}

/// `\d NAME`'s footer: keys and constraints (Redshift keeps primary, unique and foreign keys
/// as informational constraints in PG_CONSTRAINT).
pub fn constraints(oid: &str) -> String {
    format!(
        "SELECT c.conname, pg_catalog.pg_get_constraintdef(c.oid), c.contype::text \
         FROM pg_catalog.pg_constraint c WHERE c.conrelid = {} ORDER BY c.contype, 1",
        quote_literal(oid)
    )
}

/// psql's title of `\d NAME` for a relation kind.
pub fn relation_title(kind: &str, schema: &str, name: &str) -> String {
    let what = match kind {
        "v" => "View",
        "m" => "Materialized view",
        "S" => "Sequence",
        "f" => "Foreign table",
        "p" => "Partitioned table",
        _ => "Table",
    };
    format!("{what} \"{schema}.{name}\"")
}

impl Interpreter<'_> {
    /// Runs a describe command (`name` without the backslash, `args` its arguments).
    pub(crate) async fn describe(&mut self, cmd: Command, args: &[String]) -> Flow {
        let text = args.first().map(String::as_str);
        let pat = text.map(pattern).unwrap_or_default();
        if cmd.kind == Kind::Relations && text.is_some() {
            return self
                .describe_relations(&pat, cmd.system, text.unwrap_or_default())
                .await;
        }
        let (sql, title) = list_query(cmd, &pat);
        let rs = match self.catalog(&sql).await {
            Ok(Some(rs)) => rs,
            Ok(None) => return Flow::Continue,
            Err(flow) => return flow,
        };
        if rs.rows.is_empty() {
            self.err_line(&nothing_found(cmd, text)).await;
            return Flow::Continue;
        }
        let mut opts = self.print_options().clone();
        opts.title = Some(title.to_string());
        let out = render(&rs, &opts, true);
        self.query_output(&out).await
    }

    async fn describe_relations(&mut self, pat: &Pattern, system: bool, text: &str) -> Flow {
        let found = match self.catalog(&find_relations(pat, system)).await {
            Ok(Some(rs)) => rs,
            Ok(None) => return Flow::Continue,
            Err(flow) => return flow,
        };
        if found.rows.is_empty() {
            self.err_line(&format!("Did not find any relation named \"{text}\"."))
                .await;
            return Flow::Continue;
        }
        let has_table_def = matches!(
            self.catalog(HAS_TABLE_DEF).await,
            Ok(Some(rs)) if rs.rows.first().and_then(|r| r.first()).cloned().flatten()
                .is_some_and(|n| n != "0")
        );
        for row in found.rows {
            let cell = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
            let (oid, schema, name, kind) = (cell(0), cell(1), cell(2), cell(3));
            let mut cols = match self.catalog(&columns(&oid)).await {
                Ok(Some(rs)) => rs,
                Ok(None) => continue,
                Err(flow) => return flow,
            };
            if has_table_def
                && let Ok(Some(def)) = self.catalog(&table_def(&schema, &name)).await
                && !def.rows.is_empty()
            {
                add_table_def(&mut cols, &def);
            }
            let mut text = String::new();
            if let Ok(Some(cons)) = self.catalog(&constraints(&oid)).await {
                text = constraint_footer(&cons);
            }
            let mut opts = self.print_options().clone();
            opts.title = Some(relation_title(&kind, &schema, &name));
            let mut out = render(&cols, &opts, false);
            if !text.is_empty() {
                // The footer goes before the blank line that ends the table.
                if out.ends_with("\n\n") {
                    out.pop();
                }
                out.push_str(&text);
                out.push('\n');
            }
            if let Flow::Exit(code) = self.query_output(&out).await {
                return Flow::Exit(code);
            }
        }
        Flow::Continue
    }

    /// Runs a catalog query: its rows, `None` when the server refused it (the error is
    /// printed; the status variables are left alone, as psql leaves them), or the flow that
    /// ends the run when the connection is lost.
    async fn catalog(&mut self, sql: &str) -> Result<Option<ResultSet>, Flow> {
        let mut rs = self.catalog_rows(sql).await?;
        // psql's headers (`Schema`, `Name`, ...): Redshift, and rsqlflow's Redshift layer,
        // fold even quoted column names to lower case.
        if let Some(rs) = rs.as_mut() {
            for c in &mut rs.columns {
                let mut chars = c.name.chars();
                if let Some(first) = chars.next() {
                    c.name = first.to_uppercase().chain(chars).collect();
                }
            }
        }
        Ok(rs)
    }

    async fn catalog_rows(&mut self, sql: &str) -> Result<Option<ResultSet>, Flow> {
        match self.backend.execute(sql).await {
            Err(lost) => {
                self.client_error(&format!("connection to server lost: {lost}"))
                    .await;
                Err(Flow::Exit(EXIT_CONNECTION))
            }
            Ok(outcome) => match outcome.result {
                Ok(done) => Ok(Some(done.rows.unwrap_or_default())),
                Err(e) => {
                    self.err_line(&format!("rsql: {}: {}", e.severity, e.message))
                        .await;
                    Ok(None)
                }
            },
        }
    }
}

/// Adds RSQL's Encoding, DistKey and SortKey columns from PG_TABLE_DEF rows
/// (column, encoding, distkey, sortkey).
fn add_table_def(cols: &mut ResultSet, def: &ResultSet) {
    for name in ["Encoding", "DistKey", "SortKey"] {
        cols.columns.push(crate::backend::Column {
            name: name.into(),
            type_oid: 25,
        });
    }
    for row in &mut cols.rows {
        let col = row.first().cloned().flatten();
        let found = def
            .rows
            .iter()
            .find(|d| d.first().cloned().flatten() == col);
        let get = |i: usize| found.and_then(|d| d.get(i).cloned().flatten());
        row.push(get(1));
        row.push(get(2));
        row.push(get(3));
    }
}

/// The footer of `\d NAME` from PG_CONSTRAINT rows (name, definition, type), in RSQL's
/// words: `Unique Constraints:` (primary keys and unique), `Foreign-key constraints:`,
/// `Check constraints:`.
fn constraint_footer(cons: &ResultSet) -> String {
    let mut out = String::new();
    for (types, heading) in [
        (&["p", "u"][..], "Unique Constraints:"),
        (&["f"][..], "Foreign-key constraints:"),
        (&["c"][..], "Check constraints:"),
    ] {
        let lines: Vec<String> = cons
            .rows
            .iter()
            .filter(|r| {
                r.get(2)
                    .cloned()
                    .flatten()
                    .is_some_and(|t| types.contains(&t.as_str()))
            })
            .map(|r| {
                let get = |i: usize| r.get(i).cloned().flatten().unwrap_or_default();
                format!("    \"{}\" {}\n", get(0), get(1))
            })
            .collect();
        if !lines.is_empty() {
            out.push_str(heading);
            out.push('\n');
            out.extend(lines);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse() {
        assert_eq!(
            parse("dt+"),
            Some(Command {
                kind: Kind::Tables,
                plus: true,
                system: false
            })
        );
        assert_eq!(parse("dtS").map(|c| c.system), Some(true));
        assert_eq!(parse("l").map(|c| c.kind), Some(Kind::Databases));
        assert_eq!(parse("dx"), None);
    }

    #[test]
    fn patterns_are_psqls() {
        assert_eq!(
            pattern("cust*"),
            Pattern {
                schema: None,
                name: Some("cust%".into())
            }
        );
        assert_eq!(
            pattern("Public.Order_?"),
            Pattern {
                schema: Some("public".into()),
                name: Some("order\\__".into())
            }
        );
        assert_eq!(
            pattern("\"My.Table\""),
            Pattern {
                schema: None,
                name: Some("My.Table".into())
            }
        );
        assert_eq!(pattern("s.*").name, None);
        assert_eq!(pattern("s.*").schema, Some("s".into()));
    }
}
