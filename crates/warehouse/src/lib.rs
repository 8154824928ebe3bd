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

/// How long [`Session::stop`] waits for a cancel request to be delivered.
const STOP_WAIT: std::time::Duration = std::time::Duration::from_secs(10);
/// How long [`Session::stop`] waits for the session to close.
const CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// What [`Session::stop`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stopped {
    /// The server was asked to cancel the running statement; the session is closed.
    Cancelled,
    /// The cancel request could not be delivered (why); the session is closed. The server
    /// ends the statement when it notices the closed connection (at its next write to it).
    CancelFailed(String),
    /// A server session with no cancel key: closed.
    Closed,
    /// The embedded engine's session: abandoned, the engine finishing the statement in the
    /// background.
    Abandoned,
}

/// An open session: a connection, plus the embedded engine when it serves it.
pub struct Session {
    conn: Option<Connection>,
    server: Option<embedded::EmbeddedServer>,
    description: String,
    /// What the connection was opened with (the password is never printed: see
    /// [`ConnectParams`]'s Debug).
    params: ConnectParams,
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
                    params: server.params().clone(),
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
            params: params.clone(),
        })
    }

    /// The parameters of the current (or last) connection.
    pub fn params(&self) -> &ConnectParams {
        &self.params
    }

    /// True for a session on the embedded engine.
    pub fn is_embedded(&self) -> bool {
        self.server.is_some()
    }

    /// True while the session has a connection (not after [`Session::disconnect`] or a lost
    /// connection).
    pub fn is_connected(&self) -> bool {
        self.conn.is_some()
    }

    /// On the embedded engine: connects to another of its databases, or as another user
    /// (`\\c otherdb`). The engine serves one connection at a time (its proxy reads the next
    /// connection only after the current one ends), so the current connection is closed first;
    /// when the new one fails, the previous database is connected to again (and when that fails
    /// too, the session has no connection: [`Session::is_connected`]). On a server session this
    /// is refused: open a new [`Session`] instead.
    pub async fn switch_embedded(
        &mut self,
        database: &str,
        user: &str,
    ) -> Result<(), WarehouseError> {
        let Some(server) = &self.server else {
            return Err(WarehouseError::NotEmbedded);
        };
        let mut params = server.params().clone();
        params.database = database.to_string();
        params.user = user.to_string();
        if let Some(old) = self.conn.take() {
            old.close().await;
        }
        match Connection::connect(&params).await {
            Ok(conn) => {
                self.conn = Some(conn);
                self.params = params;
                Ok(())
            }
            Err(e) => {
                self.conn = Connection::connect(&self.params).await.ok();
                Err(e)
            }
        }
    }

    /// Closes the connection but keeps the session (and the embedded engine, if any), so that
    /// [`Session::switch_embedded`] can connect again; statements fail until then.
    pub async fn disconnect(&mut self) {
        if let Some(c) = self.conn.take() {
            c.close().await;
        }
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

    /// Stops the statement this session is running, if any, and closes the session; for a
    /// job that timed out or was stopped. Never waits for the statement to end.
    ///
    /// On a server: PostgreSQL's cancel request, on a new connection with the backend's key
    /// (waited for at most 10 s), then Terminate and the socket closed (at most 5 s).
    ///
    /// On the embedded engine there is no way to interrupt a statement: PGlite's proxy reads
    /// the next connection (a CancelRequest's) only after the current one ends, PostgreSQL's
    /// SIGINT and statement_timeout (SIGALRM) do not exist in its WebAssembly build, and
    /// pglite-oxide exposes no wasmer interrupt of its store. The session is abandoned: the
    /// engine finishes the statement on its own thread, then shuts down, keeping its data
    /// directory locked until then; the next session on that directory waits for that lock
    /// (told through `Session::open`'s `on_wait`), then starts a new engine on the same data.
    /// A statement that never ends holds the directory until the process exits; PostgreSQL
    /// then recovers the data directory at the next start as after a crash.
    pub async fn stop(self) -> Stopped {
        let Some(cancel) = self.cancel_handle() else {
            let embedded = self.server.is_some();
            self.abandon();
            return if embedded {
                Stopped::Abandoned
            } else {
                Stopped::Closed
            };
        };
        let sent = tokio::time::timeout(STOP_WAIT, cancel.cancel()).await;
        let _ = tokio::time::timeout(CLOSE_WAIT, self.close()).await;
        match sent {
            Ok(Ok(())) => Stopped::Cancelled,
            Ok(Err(e)) => Stopped::CancelFailed(e.to_string()),
            Err(_) => Stopped::CancelFailed(format!(
                "no answer from the server within {} s",
                STOP_WAIT.as_secs()
            )),
        }
    }

    /// Drops the session without waiting for anything: the connection is closed; an embedded
    /// engine finishes its running statement, if any, in the background (see
    /// [`Session::stop`]).
    pub fn abandon(mut self) {
        self.conn = None;
        // EmbeddedServer's Drop shuts the engine down on a thread of its own.
        self.server = None;
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
