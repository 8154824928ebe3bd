//! Why a COPY did not begin loading ([`CopyError`]), and the failed-statement outcome it (and
//! UNLOAD) report.

use rsql::{ConnectionLost, Outcome, SqlError};

/// A COPY that stopped before its load began: one reason, each with the error users see.
#[derive(Debug)]
pub(super) enum CopyError {
    /// The session is gone.
    ConnectionLost(ConnectionLost),
    /// The server refused a statement the COPY needed (reading the table's columns).
    Server(SqlError),
    /// The target table does not exist (the name as written).
    NoSuchTable(String),
    /// A column of the column list is not in the table.
    NoSuchColumn {
        /// The column, unquoted and lowercased.
        column: String,
        /// The table, as written.
        table: String,
    },
    /// The input could not be had: the S3 location, the files under it, the manifest, the
    /// JSONPaths file. The message says which and why.
    Input(String),
}

impl From<ConnectionLost> for CopyError {
    fn from(e: ConnectionLost) -> CopyError {
        CopyError::ConnectionLost(e)
    }
}

impl CopyError {
    /// The statement's failed outcome; `Err` when the session is gone.
    pub(super) fn into_outcome(self) -> Result<Outcome, ConnectionLost> {
        Ok(match self {
            CopyError::ConnectionLost(e) => return Err(e),
            CopyError::Server(e) => Outcome {
                result: Err(e),
                notices: Vec::new(),
            },
            CopyError::NoSuchTable(table) => sql_error(
                "42P01",
                format!("relation \"{}\" does not exist", table.trim_matches('"')),
            ),
            CopyError::NoSuchColumn { column, table } => sql_error(
                "42703",
                format!("column \"{column}\" of relation \"{table}\" does not exist"),
            ),
            CopyError::Input(message) => sql_error("XX000", message),
        })
    }
}

/// A failed statement with this SQLSTATE and message.
pub(crate) fn sql_error(sqlstate: &str, message: String) -> Outcome {
    Outcome {
        result: Err(SqlError {
            severity: "ERROR".into(),
            sqlstate: sqlstate.into(),
            message,
            detail: None,
            hint: None,
        }),
        notices: Vec::new(),
    }
}
