//! Database sessions for rsqlflow: the embedded PostgreSQL (default) or any `postgres://` server
//! (PostgreSQL or Amazon Redshift), all through one wire client, exposed as an
//! [`rsql::Backend`].

pub mod dsn;
mod embedded;
mod error;
mod url;
mod wire;

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use rsql::{Backend, ConnectionLost, Outcome};
use tokio::io::{AsyncRead, AsyncWrite};

pub use embedded::Storage;
pub use error::WarehouseError;
pub use url::{ConnectParams, SslMode};
pub use wire::{CancelHandle, Connection};

/// Which database a session uses.
#[derive(Debug, Clone)]
pub enum Target {
    /// The embedded engine.
    Embedded(Storage),
    /// A server at a `postgres://` URL.
    Url(String),
    /// A server with these parameters (from `-h -p -U -d`, `-D DSN`, or IAM).
    Server(ConnectParams),
}

impl Target {
    /// The default persistent embedded warehouse under a working directory.
    pub fn default_embedded(workdir: &Path) -> Target {
        Target::Embedded(Storage::Dir(workdir.join(".rsqlflow").join("warehouse")))
    }
}

/// An open session: a connection, plus the embedded engine when it serves it.
pub struct Session {
    conn: Option<Connection>,
    server: Option<embedded::EmbeddedServer>,
    description: String,
}

impl Session {
    /// Opens a session. `on_wait` is told when the embedded warehouse is busy and we wait.
    pub async fn open(
        target: &Target,
        on_wait: impl FnOnce(&Path),
    ) -> Result<Session, WarehouseError> {
        match target {
            Target::Url(url) => Session::connect(&ConnectParams::parse(url)?).await,
            Target::Server(params) => Session::connect(params).await,
            Target::Embedded(storage) => {
                let server = embedded::EmbeddedServer::start(storage.clone(), on_wait).await?;
                let conn = Connection::connect(server.params()).await?;
                Ok(Session {
                    description: match storage {
                        Storage::Dir(d) => format!("embedded PostgreSQL in {}", d.display()),
                        Storage::Ephemeral => "embedded PostgreSQL (ephemeral)".into(),
                    },
                    conn: Some(conn),
                    server: Some(server),
                })
            }
        }
    }

    /// Opens a session on a server from connection parameters.
    pub async fn connect(params: &ConnectParams) -> Result<Session, WarehouseError> {
        let conn = Connection::connect(params).await?;
        Ok(Session {
            description: params.display(),
            conn: Some(conn),
            server: None,
        })
    }

    /// What this session is connected to (no secrets).
    pub fn description(&self) -> &str {
        &self.description
    }

    /// What cancels the statement this session is running, on a server. None on the embedded
    /// engine: PGlite ignores CancelRequest (and statement_timeout), so a statement there runs
    /// to its end.
    pub fn cancel_handle(&self) -> Option<CancelHandle> {
        if self.server.is_some() {
            return None;
        }
        self.conn.as_ref().and_then(|c| c.cancel_handle())
    }

    /// The server version string.
    pub fn server_version(&self) -> &str {
        self.conn.as_ref().map(|c| c.server_version()).unwrap_or("")
    }

    /// Closes the connection and stops the embedded engine, if any.
    pub async fn close(mut self) {
        if let Some(c) = self.conn.take() {
            c.close().await;
        }
        if let Some(s) = self.server.take() {
            s.shutdown().await;
        }
    }

    fn conn(&mut self) -> Result<&mut Connection, ConnectionLost> {
        self.conn
            .as_mut()
            .ok_or_else(|| ConnectionLost("the session is closed".into()))
    }
}

impl Session {
    /// Passes a round trip's result through; an I/O failure closes the session for good.
    fn track<T>(&mut self, r: std::io::Result<T>) -> Result<T, ConnectionLost> {
        r.map_err(|e| {
            self.conn = None;
            ConnectionLost(e.to_string())
        })
    }
}

#[async_trait]
impl Backend for Session {
    async fn execute(&mut self, sql: &str) -> Result<Outcome, ConnectionLost> {
        let r = self.conn()?.execute(sql).await;
        self.track(r)
    }

    async fn copy_in(
        &mut self,
        sql: &str,
        data: &mut (dyn AsyncRead + Send + Unpin),
    ) -> Result<Outcome, ConnectionLost> {
        let r = self.conn()?.copy_in(sql, data).await;
        self.track(r)
    }

    async fn copy_out(
        &mut self,
        sql: &str,
        sink: &mut (dyn AsyncWrite + Send + Unpin),
    ) -> Result<Outcome, ConnectionLost> {
        let r = self.conn()?.copy_out(sql, sink).await;
        self.track(r)
    }
}

/// The directory that holds rsqlflow's local state under a working directory.
pub fn state_dir(workdir: &Path) -> PathBuf {
    workdir.join(".rsqlflow")
}
