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

    /// `\logon`, `\c`, `\connect`: opens a new session and, when it is open, closes the
    /// current one. When the attempt fails, the current session is kept if `keep_on_failure`
    /// (psql at a terminal), else closed (a script: psql "will not be accidentally acting on
    /// the wrong database", <https://www.postgresql.org/docs/current/app-psql.html>). On success
    /// returns what to tell the user: `You are now connected to database "dev" as user "u".`
    async fn logon(&mut self, request: Logon, keep_on_failure: bool) -> Result<String, LogonError> {
        let _ = (request, keep_on_failure);
        Err(LogonError::Unsupported)
    }

    /// `\logoff`: ends the session without exiting; statements then fail until the next
    /// `\logon`.
    async fn logoff(&mut self) -> Result<(), LogonError> {
        Err(LogonError::Unsupported)
    }
}

/// What `\logon`, `\c` or `\connect` asks for: RSQL's
/// `\logon {[DBNAME|- USERNAME|- HOST|- PORT|- [PASSWORD]] | conninfo}`
/// (<https://docs.aws.amazon.com/redshift/latest/mgmt/rsql-query-tool-commands.html>) and psql's
/// `\c [ -reuse-previous=on|off ] [ dbname [ username ] [ host ] [ port ] | conninfo ]`
/// (<https://www.postgresql.org/docs/current/app-psql.html>, `\connect`).
#[derive(Clone, PartialEq, Eq)]
pub enum Logon {
    /// Positional values; `None` (omitted or `-`) keeps the current connection's value.
    Positional {
        /// The database.
        dbname: Option<String>,
        /// The user.
        user: Option<String>,
        /// The host.
        host: Option<String>,
        /// The port, as written (the backend checks it).
        port: Option<String>,
        /// The password (RSQL's fifth value; psql's `\c` has none).
        password: Option<String>,
    },
    /// A `postgres://` URI or a `key=value ...` connection string: nothing is kept from the
    /// current connection (psql: "By default, parameters are re-used in the positional syntax,
    /// but not when a conninfo string is given").
    Conninfo(String),
}

/// Never prints a password.
impl std::fmt::Debug for Logon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Logon::Positional {
                dbname,
                user,
                host,
                port,
                password,
            } => f
                .debug_struct("Positional")
                .field("dbname", dbname)
                .field("user", user)
                .field("host", host)
                .field("port", port)
                .field("password", &password.as_ref().map(|_| "***"))
                .finish(),
            Logon::Conninfo(_) => f.write_str("Conninfo(***)"),
        }
    }
}

/// Why `\logon` did not connect.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogonError {
    /// This backend has no way to open another session (a job's session, a test's).
    #[error("connecting to another database is not supported here")]
    Unsupported,
    /// The arguments do not name a connection (a bad port, an unknown conninfo key, ...).
    #[error("{0}")]
    Invalid(String),
    /// The connection attempt failed (refused, rejected, unknown database); never holds a
    /// password.
    #[error("{0}")]
    Failed(String),
}
