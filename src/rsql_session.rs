//! The session `rsqlflow rsql` runs statements on, which `\logon`, `\c`/`\connect` and
//! `\logoff` replace or end: the embedded warehouse or a server, with the Redshift layer in front
//! unless the server is Amazon Redshift (or `--no-translate`).
//!
//! Values a `\logon` leaves out (or gives as `-`) are the current connection's: RSQL's "`-`
//! means keep the current value", and in its example `\logon dev` reconnects to the current
//! cluster (<https://docs.aws.amazon.com/redshift/latest/mgmt/rsql-query-tool-commands.html>);
//! psql's "If any of dbname, username, host or port are omitted or specified as -, the value of
//! that parameter from the previous connection is used"
//! (<https://www.postgresql.org/docs/current/app-psql.html>, `\connect`). So a HOST given
//! becomes the default for later `\logon`s, as RSQL documents. With no current value (a
//! connection string that names none), RSQL's defaults apply: host `localhost`, port 5439.
//! The password is the one given, else the current one while host, port and user stay the
//! same (psql: "any password used for the existing connection will be re-used only if the
//! user, host, and port settings are not changed"), else `RSPASSWORD`, then `PGPASSWORD`.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rsql::{Backend, ConnectionLost, Logon, LogonError, Outcome, SqlError};
use tokio::io::{AsyncRead, AsyncWrite};
use warehouse::{CancelHandle, ConnectParams, Session, SslMode};

use crate::rsql_term::PromptShape;

/// RSQL's default port (Amazon Redshift's).
const DEFAULT_PORT: u16 = 5439;
/// RSQL's default host.
const DEFAULT_HOST: &str = "localhost";

/// The prompt's parts, shared with the terminal's line reader so that a `\logon` shows at once.
pub type SharedShape = Arc<Mutex<PromptShape>>;
/// What Ctrl-C cancels: the current session's statement.
pub type SharedCancel = Arc<Mutex<Option<CancelHandle>>>;

/// Where the Redshift layer's S3 is.
pub struct Translation {
    /// `--no-translate`.
    pub off: bool,
    /// `--explain-translation`.
    pub explain: bool,
    /// `--s3 aws`: real S3, else the local directory.
    pub aws: bool,
    /// `--s3-root`.
    pub root: std::path::PathBuf,
}

enum Current {
    Plain(Session),
    Translating(redshift::Translating<Session>),
}

impl Current {
    fn backend(&mut self) -> &mut dyn Backend {
        match self {
            Current::Plain(s) => s,
            Current::Translating(t) => t,
        }
    }

    fn into_session(self) -> Session {
        match self {
            Current::Plain(s) => s,
            Current::Translating(t) => t.into_inner(),
        }
    }
}

/// The session, switchable by `\logon`.
pub struct Switch {
    current: Option<Current>,
    /// The last connection's parameters (kept after `\logoff`) and whether it was the
    /// embedded engine: what `-` and omitted values mean.
    last: ConnectParams,
    embedded: bool,
    translation: Translation,
    store: Option<Arc<dyn objects::ObjectStore>>,
    /// The prompt, when at a terminal.
    pub shape: Option<SharedShape>,
    /// Ctrl-C's target, when at a terminal.
    pub cancel: Option<SharedCancel>,
    /// At a terminal: ask for a password the server wants and `\logon` did not give.
    pub ask_password: bool,
    /// At a terminal on the embedded warehouse kept in a directory: Ctrl-C while a statement
    /// runs wakes this, and the session is abandoned (see [`Switch::execute`]).
    pub interrupt: Option<Arc<tokio::sync::Notify>>,
    /// The embedded warehouse to open again after an abandoned session.
    pub reopen: Option<warehouse::Target>,
    /// The session was abandoned: the next statement opens a new one.
    abandoned: bool,
}

/// Where a `\logon` goes.
enum Next {
    Embedded { database: String, user: String },
    Server(ConnectParams),
}

impl Switch {
    /// Wraps the session opened at the start.
    pub async fn new(session: Session, translation: Translation, redshift: bool) -> Switch {
        let mut s = Switch {
            last: session.params().clone(),
            embedded: session.is_embedded(),
            current: None,
            translation,
            store: None,
            shape: None,
            cancel: None,
            ask_password: false,
            interrupt: None,
            reopen: None,
            abandoned: false,
        };
        s.current = Some(s.wrap(session, redshift).await);
        s
    }

    async fn store(&mut self) -> Arc<dyn objects::ObjectStore> {
        if let Some(s) = &self.store {
            return s.clone();
        }
        let s: Arc<dyn objects::ObjectStore> = if self.translation.aws {
            Arc::new(etl::AwsS3::from_env().await)
        } else {
            Arc::new(objects::LocalS3::new(&self.translation.root))
        };
        self.store = Some(s.clone());
        s
    }

    async fn wrap(&mut self, session: Session, redshift: bool) -> Current {
        if self.translation.off || redshift {
            return Current::Plain(session);
        }
        let store = self.store().await;
        Current::Translating(redshift::Translating::new(
            session,
            store,
            self.translation.explain,
        ))
    }

    /// Closes the session, if any.
    pub async fn close(mut self) {
        if let Some(c) = self.current.take() {
            c.into_session().close().await;
        }
    }

    /// Where a request goes, from the current values.
    fn resolve(&self, request: Logon) -> Result<Next, LogonError> {
        match request {
            Logon::Conninfo(text) => Ok(Next::Server(conninfo(&text)?)),
            Logon::Positional {
                dbname,
                user,
                host,
                port,
                password,
            } => {
                let port = port
                    .map(|p| {
                        p.parse::<u16>()
                            .map_err(|_| LogonError::Invalid(format!("invalid port \"{p}\"")))
                    })
                    .transpose()?;
                if self.embedded && host.is_none() {
                    if port.is_some() || password.is_some() {
                        return Err(LogonError::Invalid(
                            "the embedded warehouse takes a database and a user only; give a HOST to connect to a server".into(),
                        ));
                    }
                    return Ok(Next::Embedded {
                        database: dbname.unwrap_or_else(|| self.last.database.clone()),
                        user: user.unwrap_or_else(|| self.last.user.clone()),
                    });
                }
                let (base_host, base_port) = if self.embedded {
                    (DEFAULT_HOST.to_string(), DEFAULT_PORT)
                } else {
                    (self.last.host.clone(), self.last.port)
                };
                let host = host.unwrap_or(base_host);
                let port = port.unwrap_or(base_port);
                let user = user.unwrap_or_else(|| self.last.user.clone());
                let database = dbname.unwrap_or_else(|| self.last.database.clone());
                let sslmode = if self.embedded {
                    std::env::var("PGSSLMODE")
                        .ok()
                        .and_then(|m| SslMode::parse(&m))
                        .unwrap_or(SslMode::Prefer)
                } else {
                    self.last.sslmode
                };
                let same_login = !self.embedded
                    && host == self.last.host
                    && port == self.last.port
                    && user == self.last.user;
                let mut p = ConnectParams::from_parts(host, port, user, database, sslmode);
                if let Some(pw) = password {
                    p.password = Some(pw);
                } else if same_login {
                    p.password = self.last.password.clone();
                }
                Ok(Next::Server(p))
            }
        }
    }

    /// Connects; at a terminal, when the server asks for a password and none was given, asks
    /// for one (`Password for user USER: `, RSQL's and psql's prompt) and tries once more.
    async fn connect_asking(
        ask: bool,
        params: &mut ConnectParams,
    ) -> Result<Session, warehouse::WarehouseError> {
        match Session::connect(params).await {
            Err(e) if e.needs_password() && params.password.is_none() && ask => {
                let Some(pw) =
                    crate::rsql_term::read_password(format!("Password for user {}: ", params.user))
                        .await
                else {
                    return Err(e);
                };
                params.password = Some(pw);
                Session::connect(params).await
            }
            other => other,
        }
    }

    /// After a successful connection: the prompt and Ctrl-C follow the new session.
    async fn follow(&mut self, session: &mut Session) {
        if let Some(cancel) = &self.cancel
            && let Ok(mut c) = cancel.lock()
        {
            *c = session.cancel_handle();
        }
        if let Some(shape) = self.shape.clone() {
            let name = if session.is_embedded() {
                "embedded".to_string()
            } else {
                crate::rsql_term::cluster_name(&session.params().host)
            };
            let new = prompt_shape(session, name).await;
            if let Ok(mut s) = shape.lock() {
                *s = new;
            }
        }
    }

    fn not_connected() -> Outcome {
        Outcome {
            result: Err(SqlError {
                severity: "ERROR".into(),
                // connection_does_not_exist
                sqlstate: "08003".into(),
                // psql's words when it has no connection.
                message: "You are currently not connected to a database. (Use \\logon to connect.)"
                    .into(),
                detail: None,
                hint: None,
            }),
            notices: Vec::new(),
        }
    }

    fn connected(&mut self) -> Option<&mut dyn Backend> {
        let c = self.current.as_mut()?;
        if matches!(c, Current::Plain(s) if !s.is_connected()) {
            return None;
        }
        Some(c.backend())
    }
}

/// The message psql prints on success (psql 15's words, also RSQL's per the AWS `\logon`
/// example): the host and port only for a server.
fn connected_message(p: &ConnectParams, embedded: bool) -> String {
    if embedded {
        format!(
            "You are now connected to database \"{}\" as user \"{}\".",
            p.database, p.user
        )
    } else {
        format!(
            "You are now connected to database \"{}\" as user \"{}\" on host \"{}\" at port \"{}\".",
            p.database, p.user, p.host, p.port
        )
    }
}

/// A psql connection string: a `postgres://` URI, or `key=value` pairs (values may be
/// single-quoted) with libpq's keys `host`, `hostaddr`, `port`, `dbname`, `user`, `password`,
/// `sslmode` (<https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING>).
/// Nothing is taken from the current connection; what is missing gets RSQL's defaults.
/// Errors never repeat a value (it may be a password).
fn conninfo(text: &str) -> Result<ConnectParams, LogonError> {
    if text.starts_with("postgres://") || text.starts_with("postgresql://") {
        return ConnectParams::parse(text).map_err(|e| LogonError::Invalid(e.to_string()));
    }
    let mut host = None;
    let mut port = None;
    let mut user = String::new();
    let mut database = String::new();
    let mut password = None;
    let mut sslmode = SslMode::Prefer;
    for (key, value) in conninfo_pairs(text)? {
        match key.as_str() {
            "host" | "hostaddr" => host = Some(value).filter(|h| !h.is_empty()),
            "port" => {
                port =
                    Some(value.parse::<u16>().map_err(|_| {
                        LogonError::Invalid("connection string: invalid port".into())
                    })?)
            }
            "dbname" => database = value,
            "user" => user = value,
            "password" => password = Some(value),
            "sslmode" => {
                sslmode = SslMode::parse(&value).ok_or_else(|| {
                    LogonError::Invalid("connection string: unknown sslmode".into())
                })?
            }
            other => {
                return Err(LogonError::Invalid(format!(
                    "connection string: unsupported key \"{other}\" (host, port, dbname, user, password and sslmode are)"
                )));
            }
        }
    }
    let mut p = ConnectParams::from_parts(
        host.unwrap_or_else(|| DEFAULT_HOST.into()),
        port.unwrap_or(DEFAULT_PORT),
        user,
        database,
        sslmode,
    );
    if password.is_some() {
        p.password = password;
    }
    Ok(p)
}

fn conninfo_pairs(text: &str) -> Result<Vec<(String, String)>, LogonError> {
    let bad = |why: &str| LogonError::Invalid(format!("connection string: {why}"));
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return Ok(out);
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') {
            return Err(bad(&format!("expected \"=\" after \"{key}\"")));
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next() {
                    None => return Err(bad("unterminated quoted value")),
                    Some('\'') => break,
                    Some('\\') => match chars.next() {
                        Some(c) => value.push(c),
                        None => return Err(bad("unterminated quoted value")),
                    },
                    Some(c) => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                value.push(c);
            }
        }
        out.push((key.to_ascii_lowercase(), value));
    }
}

impl Switch {
    /// Ctrl-C on the embedded warehouse: PGlite cannot interrupt a statement (see
    /// `warehouse::Session::stop`), so the session is abandoned as a job's is when it is
    /// stopped: the engine finishes the statement in the background, and the next statement
    /// opens a new session on the same data once it has (uncommitted work is lost, as when
    /// psql's session ends; session settings start afresh).
    fn abandon(&mut self) -> Outcome {
        if let Some(current) = self.current.take() {
            current.into_session().abandon();
        }
        self.abandoned = true;
        eprintln!(
            "rsql: the embedded engine cannot interrupt a statement: its session was abandoned \
             (the engine finishes the statement in the background); the next statement opens a \
             new session on the same data once it has"
        );
        Outcome {
            result: Err(SqlError {
                severity: "ERROR".into(),
                // query_canceled, as PostgreSQL reports a cancelled statement.
                sqlstate: "57014".into(),
                message: "canceling statement due to user request".into(),
                detail: None,
                hint: None,
            }),
            notices: Vec::new(),
        }
    }

    /// After an abandoned session: a new one on the embedded warehouse, at the database and
    /// user of the last connection (waiting, and saying so, while the engine finishes).
    async fn reopen_if_abandoned(&mut self) -> Result<(), Outcome> {
        if !self.abandoned {
            return Ok(());
        }
        let Some(target) = self.reopen.clone() else {
            return Err(Switch::not_connected());
        };
        let opened = Session::open(&target, |dir| {
            eprintln!(
                "rsql: waiting for the embedded warehouse in {} (the abandoned statement is \
                 finishing)",
                dir.display()
            )
        })
        .await;
        let mut session = match opened {
            Ok(s) => s,
            Err(e) => {
                eprintln!("rsql: the embedded warehouse could not be opened again: {e}");
                return Err(Switch::not_connected());
            }
        };
        let (database, user) = (self.last.database.clone(), self.last.user.clone());
        if (session.params().database != database || session.params().user != user)
            && let Err(e) = session.switch_embedded(&database, &user).await
        {
            eprintln!("rsql: {e}");
        }
        self.abandoned = false;
        self.follow(&mut session).await;
        self.current = Some(self.wrap(session, false).await);
        Ok(())
    }
}

#[async_trait]
impl Backend for Switch {
    async fn execute(&mut self, sql: &str) -> Result<Outcome, ConnectionLost> {
        if let Err(not_connected) = self.reopen_if_abandoned().await {
            return Ok(not_connected);
        }
        let interrupt = match (&self.interrupt, self.embedded && self.reopen.is_some()) {
            (Some(n), true) => n.clone(),
            _ => {
                return match self.connected() {
                    Some(b) => b.execute(sql).await,
                    None => Ok(Switch::not_connected()),
                };
            }
        };
        // Created before the statement starts, so that a Ctrl-C from now on is seen.
        let interrupted = interrupt.notified();
        let finished = {
            let Some(b) = self.connected() else {
                return Ok(Switch::not_connected());
            };
            tokio::select! {
                r = b.execute(sql) => Some(r),
                () = interrupted => None,
            }
        };
        match finished {
            Some(r) => r,
            None => Ok(self.abandon()),
        }
    }

    async fn copy_in(
        &mut self,
        sql: &str,
        data: &mut (dyn AsyncRead + Send + Unpin),
    ) -> Result<Outcome, ConnectionLost> {
        match self.connected() {
            Some(b) => b.copy_in(sql, data).await,
            None => Ok(Switch::not_connected()),
        }
    }

    async fn copy_out(
        &mut self,
        sql: &str,
        sink: &mut (dyn AsyncWrite + Send + Unpin),
    ) -> Result<Outcome, ConnectionLost> {
        match self.connected() {
            Some(b) => b.copy_out(sql, sink).await,
            None => Ok(Switch::not_connected()),
        }
    }

    async fn logon(&mut self, request: Logon, keep_on_failure: bool) -> Result<String, LogonError> {
        match self.resolve(request)? {
            Next::Embedded { database, user } => {
                // The engine stays; only the connection changes.
                let Some(current) = self.current.take() else {
                    return Err(LogonError::Failed(
                        "the embedded warehouse is no longer running".into(),
                    ));
                };
                let mut session = current.into_session();
                match session.switch_embedded(&database, &user).await {
                    Ok(()) => {
                        self.last = session.params().clone();
                        self.follow(&mut session).await;
                        let message = connected_message(&self.last, true);
                        self.current = Some(self.wrap(session, false).await);
                        Ok(message)
                    }
                    Err(e) if keep_on_failure => {
                        self.current = Some(self.wrap(session, false).await);
                        Err(LogonError::Failed(e.to_string()))
                    }
                    Err(e) => {
                        // A script does not go on against the database it meant to leave.
                        session.disconnect().await;
                        self.current = Some(Current::Plain(session));
                        Err(LogonError::Failed(e.to_string()))
                    }
                }
            }
            Next::Server(mut params) => {
                match Switch::connect_asking(self.ask_password, &mut params).await {
                    Ok(mut session) => {
                        if let Some(old) = self.current.take() {
                            old.into_session().close().await;
                        }
                        self.last = params;
                        self.embedded = false;
                        self.follow(&mut session).await;
                        let message = connected_message(&self.last, false);
                        let redshift = crate::connect::is_redshift_host(&self.last.host);
                        self.current = Some(self.wrap(session, redshift).await);
                        Ok(message)
                    }
                    Err(e) => {
                        if !keep_on_failure && let Some(old) = self.current.take() {
                            // A script does not go on against the database it meant to leave.
                            let mut s = old.into_session();
                            s.disconnect().await;
                            self.current = Some(Current::Plain(s));
                        }
                        Err(LogonError::Failed(e.to_string()))
                    }
                }
            }
        }
    }

    async fn logoff(&mut self) -> Result<(), LogonError> {
        if let Some(current) = self.current.take() {
            let mut session = current.into_session();
            if session.is_embedded() {
                // The engine stays for the next \logon; its connection ends.
                session.disconnect().await;
                self.current = Some(Current::Plain(session));
            } else {
                session.close().await;
            }
        }
        if let Some(cancel) = &self.cancel
            && let Ok(mut c) = cancel.lock()
        {
            *c = None;
        }
        Ok(())
    }
}

/// The prompt's parts, asked of the session: the user, the database and whether the user is a
/// superuser (`=#`) or not (`=>`), from PG_USER, which Amazon Redshift has too
/// (https://docs.aws.amazon.com/redshift/latest/dg/r_Users-creatingaltering-and-deleting-users.html).
pub async fn prompt_shape(session: &mut Session, name: String) -> PromptShape {
    let mut shape = PromptShape {
        name,
        user: "?".into(),
        db: "?".into(),
        superuser: false,
    };
    let sql = "select current_user, current_database(), \
               (select usesuper from pg_user where usename = current_user)";
    if let Ok(outcome) = session.execute(sql).await
        && let Ok(done) = outcome.result
        && let Some(rows) = done.rows
        && let Some(row) = rows.rows.first()
    {
        let cell = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
        shape.user = cell(0);
        shape.db = cell(1);
        shape.superuser = cell(2) == "t";
    }
    shape
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_strings() {
        let p =
            conninfo("host=db.example.com port=5432 dbname=dev user=etl password='a b'").unwrap();
        assert_eq!(
            (
                p.host.as_str(),
                p.port,
                p.database.as_str(),
                p.user.as_str()
            ),
            ("db.example.com", 5432, "dev", "etl")
        );
        assert_eq!(p.password.as_deref(), Some("a b"));
        let p = conninfo("dbname=x user=u").unwrap();
        assert_eq!((p.host.as_str(), p.port), ("localhost", 5439));
        for bad in [
            "host",
            "colour=red",
            "port=x",
            "password='SeCrEt",
            "sslmode=SeCrEt",
        ] {
            let e = conninfo(bad).map(|_| ()).unwrap_err().to_string();
            assert!(!e.contains("SeCrEt"), "{bad}: {e}");
        }
        let e = conninfo("postgres://u:SeCrEt@h:notaport/db").unwrap_err();
        assert!(!e.to_string().contains("SeCrEt"), "{e}");
    }

    #[test]
    fn messages() {
        let p = ConnectParams::from_parts(
            "h".into(),
            5439,
            "user1".into(),
            "dev".into(),
            SslMode::Prefer,
        );
        assert_eq!(
            connected_message(&p, false),
            "You are now connected to database \"dev\" as user \"user1\" on host \"h\" at port \"5439\"."
        );
        assert_eq!(
            connected_message(&p, true),
            "You are now connected to database \"dev\" as user \"user1\"."
        );
    }
}
