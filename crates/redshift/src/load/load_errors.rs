//! Rejected rows ([`LoadError`], with the fields parsed up to the bad one) and how they are
//! recorded: appended to `stl_load_errors` and `stl_loaderror_detail`, or, in an aborted
//! transaction, handed back as SQL to run once it has ended.

use rsql::{Backend, ConnectionLost, Notice};

/// A row that could not be loaded.
#[derive(Debug, Clone)]
pub struct LoadError {
    /// The file.
    pub file: String,
    /// 1-based line in the file.
    pub line: u64,
    /// The column.
    pub column: String,
    /// The column's type, as stl_load_errors shows it (`int4`, `varchar`, ...).
    pub col_type: String,
    /// The column's length, for types that have one.
    pub col_length: String,
    /// The raw line (at most 1024 characters).
    pub raw_line: String,
    /// The raw field value.
    pub raw_value: String,
    /// Redshift's error code.
    pub code: i32,
    /// Why.
    pub reason: String,
    /// The fields parsed up to and including the bad one, for stl_loaderror_detail.
    pub parsed: Vec<ParsedField>,
}

/// One field of a rejected row, as stl_loaderror_detail shows it.
#[derive(Debug, Clone)]
pub struct ParsedField {
    /// The column it was parsed for.
    pub column: String,
    /// The value (`None`: NULL).
    pub value: Option<String>,
    /// The column's type name.
    pub col_type: String,
    /// The column's length, or 0.
    pub col_length: i32,
}

impl LoadError {
    /// A whole-record rejection (no particular column).
    pub(super) fn record(
        file: &str,
        line: u64,
        raw_line: &str,
        code: i32,
        reason: String,
    ) -> LoadError {
        LoadError {
            file: file.to_string(),
            line,
            column: String::new(),
            col_type: String::new(),
            col_length: String::new(),
            raw_line: truncate(raw_line, 1024),
            raw_value: String::new(),
            code,
            reason,
            parsed: Vec::new(),
        }
    }
}

/// What the system tables record about one COPY besides its rejected rows.
#[derive(Debug, Clone)]
pub struct LoadRun {
    /// The target table as written in the COPY.
    pub table: String,
    /// The COPY's query ID (`pg_last_copy_id()`), when one could be had.
    pub query_id: Option<i64>,
    /// When the load began, UTC (`YYYY-MM-DD HH:MM:SS.ffffff`).
    pub starttime: String,
}

/// Appends rejected rows to `rsqlflow_sys.stl_load_errors` and their parsed fields to
/// `rsqlflow_sys.stl_loaderror_detail`, with the COPY's query ID, table ID (the table's OID)
/// and start time. In an aborted transaction the statement is returned instead, to run once
/// the transaction has ended.
pub(super) async fn record(
    backend: &mut dyn Backend,
    run: &LoadRun,
    errors: &[LoadError],
    notices: &mut Vec<Notice>,
) -> Result<Option<String>, ConnectionLost> {
    let sql = load_errors_sql(run, errors);
    let out = backend.execute(&sql).await?;
    match out.result {
        Err(e) if e.sqlstate == IN_FAILED_TRANSACTION => return Ok(Some(sql)),
        Err(e) => notices.push(load_errors_not_recorded(&e.message)),
        Ok(_) => {}
    }
    Ok(None)
}

/// The statement that records a COPY's rejected rows.
fn load_errors_sql(run: &LoadRun, errors: &[LoadError]) -> String {
    use crate::system::storage::{ensure_sql, lit, system_text};
    let query = run
        .query_id
        .map_or_else(|| "NULL".to_string(), |q| q.to_string());
    let tbl = format!("to_regclass({})::oid::integer", lit(&run.table));
    let start = format!("CAST({} AS timestamp)", lit(&run.starttime));
    let mut sql = String::from(ensure_sql());
    sql.push_str(";\nINSERT INTO rsqlflow_sys.stl_load_errors (userid, slice, tbl, starttime, session, query, filename, line_number, colname, type, col_length, position, raw_line, raw_field_value, err_code, err_reason) VALUES ");
    for (i, e) in errors.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!(
            "(100, 0, {tbl}, {start}, pg_backend_pid(), {query}, {}, {}, {}, {}, {}, -1, {}, {}, {}, {})",
            lit(&system_text(&e.file, 256)),
            e.line,
            lit(&system_text(&e.column, 127)),
            lit(&system_text(&e.col_type, 10)),
            lit(&system_text(&e.col_length, 10)),
            lit(&system_text(&e.raw_line, 1024)),
            lit(&system_text(&e.raw_value, 1024)),
            e.code,
            lit(&system_text(&e.reason, 100)),
        ));
    }
    let query = query.as_str();
    let details: Vec<String> = errors
        .iter()
        .flat_map(|e| {
            e.parsed.iter().enumerate().map(move |(field, p)| {
                format!(
                    "(100, 0, pg_backend_pid(), {query}, {}, {}, {field}, {}, {}, {}, {}, {})",
                    lit(&system_text(&e.file, 256)),
                    e.line,
                    lit(&system_text(&p.column, 1024)),
                    lit(&system_text(p.value.as_deref().unwrap_or(""), 1024)),
                    i32::from(p.value.is_none()),
                    lit(&system_text(&p.col_type, 10)),
                    p.col_length,
                )
            })
        })
        .collect();
    if !details.is_empty() {
        sql.push_str(";\nINSERT INTO rsqlflow_sys.stl_loaderror_detail (userid, slice, session, query, filename, line_number, field, colname, value, is_null, type, col_length) VALUES ");
        sql.push_str(&details.join(", "));
    }
    sql
}

/// SQLSTATE of a statement sent in an aborted transaction block.
const IN_FAILED_TRANSACTION: &str = "25P02";

/// The warning given when rejected rows could not be written to `stl_load_errors`.
pub(crate) fn load_errors_not_recorded(reason: &str) -> Notice {
    Notice {
        severity: "WARNING".into(),
        message: format!("could not record load errors in stl_load_errors: {reason}"),
    }
}

/// The first `max` characters of `s`.
pub(super) fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}
