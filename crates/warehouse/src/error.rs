//! Errors from opening a warehouse session.

/// What a login says when the server asks for a password and none was given.
pub(crate) const NO_PASSWORD: &str = "the server asked for a password and none was given";

/// Why a session could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum WarehouseError {
    /// The database URL is malformed.
    #[error("invalid database URL: {0}")]
    BadUrl(String),
    /// The server could not be reached.
    #[error("could not connect to {target}: {source}")]
    Connect {
        /// `user@host:port/db`.
        target: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// TLS could not be set up.
    #[error("TLS with {target} failed: {reason}")]
    Tls {
        /// `user@host:port/db`.
        target: String,
        /// Why.
        reason: String,
    },
    /// The server refused the login.
    #[error("connection to {target} failed: {message}")]
    Rejected {
        /// `user@host:port/db`.
        target: String,
        /// The server's message.
        message: String,
    },
    /// The embedded engine could not start.
    #[error("embedded PostgreSQL failed to start in {dir}: {reason}")]
    Embedded {
        /// Data directory.
        dir: String,
        /// Why.
        reason: String,
    },
    /// An operation only the embedded engine's sessions have, asked of a server session.
    #[error("not a session on the embedded engine")]
    NotEmbedded,
    /// A protocol violation or I/O failure after connecting.
    #[error("connection lost: {0}")]
    Lost(String),
}

impl WarehouseError {
    /// True when the server asked for a password and none was given: a terminal may ask the
    /// user for one and try again.
    pub fn needs_password(&self) -> bool {
        matches!(self, WarehouseError::Rejected { message, .. } if message.starts_with(NO_PASSWORD))
    }
}
