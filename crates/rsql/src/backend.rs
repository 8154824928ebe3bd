//! The interpreter's view of a database session: send one statement, get back rows or a command
//! tag, an SQL error with its SQLSTATE, and any notices; stream COPY data in and out.

use async_trait::async_trait;
use tokio::io::{AsyncRead, AsyncWrite};

/// A result column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Column name as the server reports it.
    pub name: String,
    /// PostgreSQL type OID (decides alignment).
    pub type_oid: u32,
}

/// Rows returned by a statement, as text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResultSet {
    /// Column descriptions.
    pub columns: Vec<Column>,
    /// Row values; `None` is NULL.
    pub rows: Vec<Vec<Option<String>>>,
}

/// A successful statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The command tag (`INSERT 0 5`, `SELECT 3`, `COPY 10`, ...); empty for an empty query.
    pub tag: String,
    /// The rows, when the statement returned a result set.
    pub rows: Option<ResultSet>,
}

impl Completion {
    /// Rows affected or returned, for ACTIVITYCOUNT: the row count of a result set, else the
    /// trailing number of the command tag, else 0.
    pub fn activity_count(&self) -> u64 {
        if let Some(rs) = &self.rows {
            return rs.rows.len() as u64;
        }
        self.tag
            .rsplit(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }
}

/// An error reported by the server for one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlError {
    /// Severity (`ERROR`, `FATAL`, ...).
    pub severity: String,
    /// Five-character SQLSTATE.
    pub sqlstate: String,
    /// Primary message.
    pub message: String,
    /// DETAIL, if any.
    pub detail: Option<String>,
    /// HINT, if any.
    pub hint: Option<String>,
}

/// A NOTICE/INFO/WARNING message from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Severity (`NOTICE`, `INFO`, `WARNING`, ...).
    pub severity: String,
    /// Message text.
    pub message: String,
}

/// The outcome of one round trip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Success or the server's error.
    pub result: Result<Completion, SqlError>,
    /// Notices received while the statement ran, in order.
    pub notices: Vec<Notice>,
}

/// The session is gone: the connection failed or was lost.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConnectionLost(pub String);

/// A database session that runs statements with the simple query protocol.
#[async_trait]
pub trait Backend: Send {
    /// Runs one statement.
    async fn execute(&mut self, sql: &str) -> Result<Outcome, ConnectionLost>;

    /// Runs a `COPY ... FROM STDIN` statement, streaming `data` to the server.
    async fn copy_in(
        &mut self,
        sql: &str,
        data: &mut (dyn AsyncRead + Send + Unpin),
    ) -> Result<Outcome, ConnectionLost>;

    /// Runs a `COPY ... TO STDOUT` statement, streaming the data to `sink`.
    async fn copy_out(
        &mut self,
        sql: &str,
        sink: &mut (dyn AsyncWrite + Send + Unpin),
    ) -> Result<Outcome, ConnectionLost>;
}
