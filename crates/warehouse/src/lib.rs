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
#[derive(Clone)]
pub enum Target {
    /// The embedded engine.
    Embedded(Storage),
    /// A server at a `postgres://` URL.
    Url(String),
    /// A server with these parameters (from `-h -p -U -d`, `-D DSN`, or IAM).
    Server(ConnectParams),
}

/// Never prints a password: a URL is shown as `user@host:port/db`, or as malformed.
impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Embedded(s) => f.debug_tuple("Embedded").field(s).finish(),
            Target::Url(url) => match ConnectParams::parse(url) {
                Ok(p) => f.debug_tuple("Url").field(&p.display()).finish(),
                Err(_) => f.write_str("Url(<malformed>)"),
            },
            Target::Server(p) => f.debug_tuple("Server").field(p).finish(),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A loopback port with nothing listening on it.
    fn closed_port() -> u16 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("address").port()
    }

    /// Failing connections name the server, never the password: refused, unreachable,
    /// malformed.
    #[tokio::test]
    async fn connection_errors_never_hold_the_password() {
        let port = closed_port();
        for pw in [
            "SeCrEt",
            "a/SeCrEt?b",
            "p@SeCrEt#1:2",
            "[SeCrEt]",
            "x%40SeCrEt",
        ] {
            for url in [
                format!("postgres://etl:{pw}@127.0.0.1:{port}/dev"),
                format!("postgresql://etl:{pw}@127.0.0.1:{port}"),
                format!("postgres://etl@127.0.0.1:{port}/dev?password={pw}&sslmode=require"),
                format!("postgres://etl:{pw}@127.0.0.1:{port}/dev?sslmode=verify-full"),
                format!("postgres://etl:{pw}@127.0.0.1:x{port}/dev"),
                format!("postgres://etl:{pw}/dev"),
            ] {
                let target = Target::Url(url.clone());
                assert!(!format!("{target:?}").contains("SeCrEt"), "{target:?}");
                let e = match Session::open(&target, |_| {}).await {
                    Ok(_) => panic!("{url}: connected to a closed port"),
                    Err(e) => e,
                };
                assert!(!e.to_string().contains("SeCrEt"), "{url}: {e}");
                assert!(!format!("{e:?}").contains("SeCrEt"), "{url}: {e:?}");
            }
        }
    }

    #[test]
    fn target_debug_shows_the_server_not_the_password() {
        let t = Target::Url("postgres://etl:SeCrEt@db.example.com:5439/dev".into());
        assert_eq!(format!("{t:?}"), "Url(\"etl@db.example.com:5439/dev\")");
        let t = Target::Url("postgres://etl:SeCrEt@db:notaport/dev".into());
        assert_eq!(format!("{t:?}"), "Url(<malformed>)");
        let p = ConnectParams::parse("postgres://etl:SeCrEt@db/dev").expect("valid");
        assert!(!format!("{:?}", Target::Server(p)).contains("SeCrEt"));
    }
}
