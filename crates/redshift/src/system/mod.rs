//! Redshift's system tables and functions on PostgreSQL. COPY's rejected rows are kept in the
//! `rsqlflow_sys` schema ([`storage`]); every session gets temporary views named after
//! Redshift's system tables ([`views`]) so that `stl_load_errors`, `stl_loaderror_detail`,
//! `stv_tbl_perm`, `svv_table_info`, `stv_sessions`, `stv_inflight` and `pg_table_def` answer
//! as Redshift's do; `pg_last_copy_count()`, `pg_last_copy_id()`, `pg_last_query_id()` and
//! the UNLOAD pair are answered from the session's [`SessionFacts`]; and every other Redshift
//! system table gets an error that names it ([`unavailable`]) instead of PostgreSQL's bare
//! "relation does not exist".

pub mod names;
pub mod storage;
pub mod views;

use rsql::SqlError;

/// The schema that holds what rsqlflow records for Redshift's system tables.
pub const SYSTEM_SCHEMA: &str = "rsqlflow_sys";

/// What the session knows about its last COPY and UNLOAD, for the `pg_last_*` functions.
///
/// Per AWS's documentation: PG_LAST_COPY_ID is the query ID of the session's most recent COPY,
/// -1 before any, updated when the load begins even if it then fails, and not updated when
/// the COPY's transaction is rolled back; PG_LAST_COPY_COUNT is the number of rows that COPY
/// loaded (0 when it failed during loading, BIGINT). PG_LAST_UNLOAD_ID / PG_LAST_UNLOAD_COUNT
/// are the same for UNLOAD. PG_LAST_QUERY_ID is "the query ID of the most recently completed
/// query": locally only COPY and UNLOAD carry query IDs (they are the statements whose IDs
/// appear in system tables), so it is the ID of the last of those, -1 before any.
/// (docs.aws.amazon.com/redshift/latest/dg/PG_LAST_COPY_ID.html, PG_LAST_COPY_COUNT.html,
/// PG_LAST_QUERY_ID.html, PG_LAST_UNLOAD_ID.html, PG_LAST_UNLOAD_COUNT.html)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionFacts {
    /// Query ID of the last COPY, or -1.
    pub last_copy_id: i64,
    /// Rows loaded by the last COPY.
    pub last_copy_count: i64,
    /// Query ID of the last UNLOAD, or -1.
    pub last_unload_id: i64,
    /// Rows unloaded by the last UNLOAD.
    pub last_unload_count: i64,
    /// Query ID of the last COPY or UNLOAD, or -1.
    pub last_query_id: i64,
    /// Where this session's compatibility functions are.
    pub functions: FunctionSchema,
}

/// Where the compatibility functions (DATEADD, AVG with Redshift's type, ...) live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunctionSchema {
    /// `rsqlflow_sys`, created once per database: views and tables that call them outlive
    /// the session.
    Shared,
    /// `pg_temp`, when `rsqlflow_sys` cannot be created (no CREATE privilege on the database):
    /// gone with the session, and so is any view that calls them.
    Session,
}

impl FunctionSchema {
    /// The schema name that qualifies calls.
    pub fn qualifier(self) -> &'static str {
        match self {
            FunctionSchema::Shared => SYSTEM_SCHEMA,
            FunctionSchema::Session => "pg_temp",
        }
    }
}

impl Default for SessionFacts {
    fn default() -> Self {
        SessionFacts {
            last_copy_id: -1,
            last_copy_count: 0,
            last_unload_id: -1,
            last_unload_count: 0,
            last_query_id: -1,
            functions: FunctionSchema::Shared,
        }
    }
}

impl SessionFacts {
    /// The SQL value that stands for a call of the Redshift function `name()` (any case), or
    /// `None` when `name` is not one of the `pg_last_*` functions.
    pub fn value_of(&self, name: &str) -> Option<String> {
        let (value, ty) = match name.to_ascii_lowercase().as_str() {
            "pg_last_copy_count" => (self.last_copy_count, "BIGINT"),
            "pg_last_copy_id" => (self.last_copy_id, "INTEGER"),
            "pg_last_unload_count" => (self.last_unload_count, "BIGINT"),
            "pg_last_unload_id" => (self.last_unload_id, "INTEGER"),
            "pg_last_query_id" => (self.last_query_id, "INTEGER"),
            _ => return None,
        };
        // A call of the session's identity function of that name, so that the result column
        // is named after the function as on Redshift (`pg_last_copy_count`).
        Some(format!(
            "{}.{}(CAST({value} AS {ty}))",
            self.functions.qualifier(),
            name.to_ascii_lowercase()
        ))
    }
}

/// The error for a statement that names a Redshift system table with no local answer:
/// PostgreSQL's `relation "stl_query" does not exist` becomes `Redshift system table stl_query
/// is not available locally`. Other errors are returned as they are.
pub fn unavailable(err: SqlError) -> SqlError {
    if err.sqlstate != "42P01" {
        return err;
    }
    let Some(name) = err
        .message
        .strip_prefix("relation \"")
        .and_then(|r| r.strip_suffix("\" does not exist"))
    else {
        return err;
    };
    let bare = name.rsplit('.').next().unwrap_or(name).to_ascii_lowercase();
    if !names::is_system_relation(&bare) {
        return err;
    }
    SqlError {
        severity: "ERROR".into(),
        sqlstate: "0A000".into(),
        message: format!("Redshift system table {bare} is not available locally"),
        detail: None,
        hint: Some(format!(
            "locally answered: {}; run this query against Amazon Redshift (--database)",
            views::EMULATED.join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(state: &str, msg: &str) -> SqlError {
        SqlError {
            severity: "ERROR".into(),
            sqlstate: state.into(),
            message: msg.into(),
            detail: None,
            hint: None,
        }
    }

    #[test]
    fn system_tables_without_local_answer_are_named() {
        let e = unavailable(err("42P01", "relation \"stl_query\" does not exist"));
        assert_eq!(
            e.message,
            "Redshift system table stl_query is not available locally"
        );
        assert_eq!(e.sqlstate, "0A000");
        let e = unavailable(err(
            "42P01",
            "relation \"pg_catalog.svl_qlog\" does not exist",
        ));
        assert_eq!(
            e.message,
            "Redshift system table svl_qlog is not available locally"
        );
        // A user's missing table keeps PostgreSQL's message.
        let e = unavailable(err("42P01", "relation \"stg_orders\" does not exist"));
        assert_eq!(e.message, "relation \"stg_orders\" does not exist");
        let e = unavailable(err("42601", "syntax error"));
        assert_eq!(e.message, "syntax error");
    }

    #[test]
    fn facts_become_typed_literals() {
        let f = SessionFacts {
            last_copy_id: 7,
            last_copy_count: 150,
            ..SessionFacts::default()
        };
        assert_eq!(
            f.value_of("PG_LAST_COPY_COUNT").as_deref(),
            Some("rsqlflow_sys.pg_last_copy_count(CAST(150 AS BIGINT))")
        );
        assert_eq!(
            f.value_of("pg_last_copy_id").as_deref(),
            Some("rsqlflow_sys.pg_last_copy_id(CAST(7 AS INTEGER))")
        );
        assert_eq!(
            f.value_of("pg_last_query_id").as_deref(),
            Some("rsqlflow_sys.pg_last_query_id(CAST(-1 AS INTEGER))")
        );
        assert_eq!(f.value_of("pg_last_oid"), None);
    }
}
