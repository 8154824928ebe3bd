//! Where rsqlflow keeps what Redshift's system tables show, in the `rsqlflow_sys` schema: the
//! rejected rows of COPY (`stl_load_errors`, with Redshift's columns and types) and their
//! parsed fields (`stl_loaderror_detail`), and the sequence that numbers COPY and UNLOAD
//! statements (their query IDs). Nothing is created until the first COPY or UNLOAD, and the
//! creation cannot abort the user's transaction.

use rsql::{Backend, ConnectionLost};

/// Creates the schema, sequence and tables when missing. Inside a DO block with its own
/// exception handler, so that a race with another session or a missing privilege leaves the
/// user's transaction intact (the caller then goes on without a query ID).
const ENSURE: &str = "DO $rsqlflow$ BEGIN
  CREATE SCHEMA IF NOT EXISTS rsqlflow_sys;
  CREATE SEQUENCE IF NOT EXISTS rsqlflow_sys.query_ids;
  CREATE TABLE IF NOT EXISTS rsqlflow_sys.stl_load_errors (
    userid integer, slice integer, tbl integer, starttime timestamp, session integer,
    query integer, filename character(256), line_number bigint, colname character(127),
    type character(10), col_length character(10), position integer, raw_line character(1024),
    raw_field_value character(1024), err_code integer, err_reason character(100));
  CREATE TABLE IF NOT EXISTS rsqlflow_sys.stl_loaderror_detail (
    userid integer, slice integer, session integer, query integer, filename character(256),
    line_number bigint, field integer, colname character(1024), value character(1024),
    is_null integer, type character(10), col_length integer);
EXCEPTION WHEN others THEN NULL;
END $rsqlflow$";

/// A new query ID for a COPY or UNLOAD, or `None` when none can be had (the storage could not
/// be created, or the transaction is aborted).
pub async fn next_query_id(backend: &mut dyn Backend) -> Result<Option<i64>, ConnectionLost> {
    // Never below an ID already recorded: a sequence created inside a transaction that was
    // then rolled back is gone, while the load errors of that transaction were kept.
    let sql = format!(
        "{ENSURE}; SELECT setval('rsqlflow_sys.query_ids', greatest(nextval('rsqlflow_sys.query_ids'), \
         (SELECT coalesce(max(query), 0) + 1 FROM rsqlflow_sys.stl_load_errors)))"
    );
    let out = backend.execute(&sql).await?;
    Ok(out.result.ok().and_then(|c| {
        c.rows
            .and_then(|rs| rs.rows.into_iter().next())
            .and_then(|row| row.into_iter().next().flatten())
            .and_then(|v| v.parse().ok())
    }))
}

/// A value for a `character(n)` column of a Redshift system table: at most `n` characters, and
/// "multibyte characters in the load data are replaced with a period" (STL_LOAD_ERRORS,
/// raw_line).
pub fn system_text(s: &str, n: usize) -> String {
    s.chars()
        .take(n)
        .map(|c| if c.is_ascii() { c } else { '.' })
        .collect()
}

/// A quoted SQL string literal.
pub fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The statement prefix that makes sure the tables exist before rows are written to them.
pub fn ensure_sql() -> &'static str {
    ENSURE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_text_is_cut_and_ascii() {
        assert_eq!(system_text("héllo", 10), "h.llo");
        assert_eq!(system_text("abcdef", 3), "abc");
        assert_eq!(lit("it's"), "'it''s'");
    }
}
