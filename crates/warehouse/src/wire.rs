//! The one client path to the database: PostgreSQL's frontend/backend protocol over TCP, TLS
//! (rustls) or a Unix socket, using the simple query protocol, one statement per round trip.
//! Built on `postgres-protocol` (the message layer of tokio-postgres) because the simple-query
//! API of tokio-postgres drops column type OIDs and command tags, and delivers notices out of
//! band; psql's output needs all three, in order.

use std::io;
use std::sync::Arc;

use bytes::BytesMut;
use fallible_iterator::FallibleIterator;
use postgres_protocol::authentication::md5_hash;
use postgres_protocol::authentication::sasl::{self, ChannelBinding, ScramSha256};
use postgres_protocol::message::backend::{ErrorFields, Message};
use postgres_protocol::message::frontend;
use rsql::{Column, Completion, Notice, Outcome, ResultSet, SqlError};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::error::WarehouseError;
use crate::url::{ConnectParams, SslMode};

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// An open connection.
pub struct Connection {
    stream: Box<dyn Stream>,
    rbuf: BytesMut,
    wbuf: BytesMut,
    server_version: String,
    cancel: Option<CancelHandle>,
}

/// What cancels the statement a connection is running: PostgreSQL's CancelRequest, sent on a
/// new connection with the backend's process id and secret key
/// (<https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-CANCELING-REQUESTS>).
#[derive(Clone)]
pub struct CancelHandle {
    params: ConnectParams,
    process_id: i32,
    secret_key: i32,
}

impl std::fmt::Debug for CancelHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CancelHandle")
            .field("target", &self.params.display())
            .finish_non_exhaustive()
    }
}

impl CancelHandle {
    /// Asks the server to cancel the running statement (best effort, as libpq's PQcancel: the
    /// server answers nothing).
    pub async fn cancel(&self) -> Result<(), WarehouseError> {
        let mut stream = open_stream(&self.params).await?;
        let mut buf = BytesMut::new();
        frontend::cancel_request(self.process_id, self.secret_key, &mut buf);
        let io_err = |e: io::Error| WarehouseError::Connect {
            target: self.params.display(),
            source: e,
        };
        stream.write_all(&buf).await.map_err(io_err)?;
        stream.flush().await.map_err(io_err)?;
        // The server closes the connection when it has read the request.
        let mut sink = [0u8; 1];
        let _ =
            tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut sink)).await;
        Ok(())
    }
}

/// Opens the transport to the server: a Unix socket, or TCP with TLS as `sslmode` says.
async fn open_stream(p: &ConnectParams) -> Result<Box<dyn Stream>, WarehouseError> {
    let target = p.display();
    let conn_err = |source| WarehouseError::Connect {
        target: target.clone(),
        source,
    };
    if p.host.starts_with('/') {
        #[cfg(unix)]
        {
            let path = format!("{}/.s.PGSQL.{}", p.host, p.port);
            return Ok(Box::new(
                tokio::net::UnixStream::connect(&path)
                    .await
                    .map_err(conn_err)?,
            ));
        }
        #[cfg(not(unix))]
        {
            return Err(conn_err(io::Error::other("Unix sockets are not supported")));
        }
    }
    let tcp = TcpStream::connect((p.host.as_str(), p.port))
        .await
        .map_err(conn_err)?;
    tcp.set_nodelay(true).map_err(conn_err)?;
    if p.sslmode == SslMode::Disable {
        Ok(Box::new(tcp))
    } else {
        negotiate_tls(tcp, p).await
    }
}

fn lost(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(e.to_string())
}

impl Connection {
    /// Connects and logs in.
    pub async fn connect(p: &ConnectParams) -> Result<Connection, WarehouseError> {
        let target = p.display();
        let stream = open_stream(p).await?;
        let mut c = Connection {
            stream,
            rbuf: BytesMut::with_capacity(64 * 1024),
            wbuf: BytesMut::with_capacity(64 * 1024),
            server_version: String::new(),
            cancel: None,
        };
        c.startup(p).await.map_err(|e| match e {
            StartupError::Io(e) => WarehouseError::Connect {
                target: target.clone(),
                source: e,
            },
            StartupError::Rejected(message) => WarehouseError::Rejected {
                target: target.clone(),
                message,
            },
        })?;
        Ok(c)
    }

    /// The server's `server_version` parameter.
    pub fn server_version(&self) -> &str {
        &self.server_version
    }

    /// What cancels this connection's running statement (when the server gave its key).
    pub fn cancel_handle(&self) -> Option<CancelHandle> {
        self.cancel.clone()
    }

    async fn flush(&mut self) -> io::Result<()> {
        self.stream.write_all(&self.wbuf).await?;
        self.wbuf.clear();
        self.stream.flush().await
    }

    async fn read_message(&mut self) -> io::Result<Message> {
        loop {
            if let Some(m) = Message::parse(&mut self.rbuf)? {
                return Ok(m);
            }
            if self.rbuf.capacity() - self.rbuf.len() < 8192 {
                self.rbuf.reserve(64 * 1024);
            }
            let n = self.stream.read_buf(&mut self.rbuf).await?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "server closed the connection unexpectedly",
                ));
            }
        }
    }

    async fn startup(&mut self, p: &ConnectParams) -> Result<(), StartupError> {
        let params = [
            ("user", p.user.as_str()),
            ("database", p.database.as_str()),
            ("application_name", "rsqlflow"),
            ("client_encoding", "UTF8"),
        ];
        frontend::startup_message(params.iter().copied(), &mut self.wbuf)?;
        self.flush().await?;
        let password = || {
            p.password.clone().ok_or_else(|| {
                StartupError::Rejected(format!(
                    "{} (URL, RSPASSWORD or PGPASSWORD)",
                    crate::error::NO_PASSWORD
                ))
            })
        };
        let mut scram: Option<ScramSha256> = None;
        loop {
            match self.read_message().await? {
                Message::AuthenticationOk => {}
                Message::AuthenticationCleartextPassword => {
                    frontend::password_message(password()?.as_bytes(), &mut self.wbuf)?;
                    self.flush().await?;
                }
                Message::AuthenticationMd5Password(body) => {
                    let hash = md5_hash(p.user.as_bytes(), password()?.as_bytes(), body.salt());
                    frontend::password_message(hash.as_bytes(), &mut self.wbuf)?;
                    self.flush().await?;
                }
                Message::AuthenticationSasl(body) => {
                    let mut mechs = body.mechanisms();
                    let mut has_scram = false;
                    while let Some(m) = mechs.next()? {
                        has_scram |= m == sasl::SCRAM_SHA_256;
                    }
                    if !has_scram {
                        return Err(StartupError::Rejected(
                            "the server offers no supported SASL mechanism".into(),
                        ));
                    }
                    let s = ScramSha256::new(password()?.as_bytes(), ChannelBinding::unsupported());
                    frontend::sasl_initial_response(
                        sasl::SCRAM_SHA_256,
                        s.message(),
                        &mut self.wbuf,
                    )?;
                    self.flush().await?;
                    scram = Some(s);
                }
                Message::AuthenticationSaslContinue(body) => {
                    let s = scram
                        .as_mut()
                        .ok_or_else(|| lost("unexpected SASL message"))?;
                    s.update(body.data())?;
                    frontend::sasl_response(s.message(), &mut self.wbuf)?;
                    self.flush().await?;
                }
                Message::AuthenticationSaslFinal(body) => {
                    let s = scram
                        .as_mut()
                        .ok_or_else(|| lost("unexpected SASL message"))?;
                    s.finish(body.data())?;
                }
                Message::ParameterStatus(body) => {
                    if body.name()? == "server_version" {
                        self.server_version = body.value()?.to_string();
                    }
                }
                Message::BackendKeyData(k) => {
                    let mut params = p.clone();
                    params.password = None;
                    self.cancel = Some(CancelHandle {
                        params,
                        process_id: k.process_id(),
                        secret_key: k.secret_key(),
                    });
                }
                Message::NoticeResponse(_) => {}
                Message::ErrorResponse(body) => {
                    let e = sql_error(body.fields())?;
                    return Err(StartupError::Rejected(e.message));
                }
                Message::ReadyForQuery(_) => return Ok(()),
                _ => {
                    return Err(StartupError::Rejected(
                        "unsupported authentication method requested by the server".into(),
                    ));
                }
            }
        }
    }

    /// Runs one statement with the simple query protocol.
    pub async fn execute(&mut self, sql: &str) -> io::Result<Outcome> {
        frontend::query(sql, &mut self.wbuf)?;
        self.flush().await?;
        self.collect(None).await
    }

    /// Runs `COPY ... FROM STDIN`, streaming `data`.
    pub async fn copy_in(
        &mut self,
        sql: &str,
        data: &mut (dyn AsyncRead + Send + Unpin),
    ) -> io::Result<Outcome> {
        frontend::query(sql, &mut self.wbuf)?;
        self.flush().await?;
        self.collect(Some(CopyIo::In(data))).await
    }

    /// Runs `COPY ... TO STDOUT`, streaming rows to `sink`.
    pub async fn copy_out(
        &mut self,
        sql: &str,
        sink: &mut (dyn AsyncWrite + Send + Unpin),
    ) -> io::Result<Outcome> {
        frontend::query(sql, &mut self.wbuf)?;
        self.flush().await?;
        self.collect(Some(CopyIo::Out(sink))).await
    }

    /// Reads the server's answer up to ReadyForQuery.
    async fn collect(&mut self, mut copy: Option<CopyIo<'_>>) -> io::Result<Outcome> {
        let mut notices = Vec::new();
        let mut error: Option<SqlError> = None;
        let mut tag: Option<String> = None;
        let mut rows: Option<ResultSet> = None;
        loop {
            match self.read_message().await? {
                Message::RowDescription(body) => {
                    let mut cols = Vec::new();
                    let mut fields = body.fields();
                    while let Some(f) = fields.next()? {
                        cols.push(Column {
                            name: f.name().to_string(),
                            type_oid: f.type_oid(),
                        });
                    }
                    rows = Some(ResultSet {
                        columns: cols,
                        rows: Vec::new(),
                    });
                }
                Message::DataRow(body) => {
                    let buf = body.buffer();
                    let mut vals = Vec::new();
                    let mut ranges = body.ranges();
                    while let Some(r) = ranges.next()? {
                        vals.push(r.map(|r| String::from_utf8_lossy(&buf[r]).into_owned()));
                    }
                    if let Some(rs) = rows.as_mut() {
                        rs.rows.push(vals);
                    }
                }
                Message::CommandComplete(body) => tag = Some(body.tag()?.to_string()),
                Message::EmptyQueryResponse => tag = Some(String::new()),
                Message::ErrorResponse(body) => error = Some(sql_error(body.fields())?),
                Message::NoticeResponse(body) => {
                    let e = sql_error(body.fields())?;
                    notices.push(Notice {
                        severity: e.severity,
                        message: e.message,
                    });
                }
                Message::CopyInResponse(_) => match copy.as_mut() {
                    Some(CopyIo::In(data)) => self.send_copy_data(*data).await?,
                    _ => {
                        frontend::copy_fail(
                            "COPY FROM STDIN inside a script is not supported; use \\copy ... from FILE",
                            &mut self.wbuf,
                        )?;
                        self.flush().await?;
                    }
                },
                Message::CopyOutResponse(_) if !matches!(copy, Some(CopyIo::Out(_))) => {
                    notices.push(Notice {
                        severity: "WARNING".into(),
                        message: "COPY TO STDOUT output is discarded; use \\copy ... to FILE"
                            .into(),
                    });
                }
                Message::CopyData(body) => {
                    if let Some(CopyIo::Out(sink)) = copy.as_mut() {
                        sink.write_all(body.data()).await?;
                    }
                }
                Message::CopyDone => {
                    if let Some(CopyIo::Out(sink)) = copy.as_mut() {
                        sink.flush().await?;
                    }
                }
                Message::ReadyForQuery(_) => break,
                _ => {}
            }
        }
        let result = match error {
            Some(e) => Err(e),
            None => Ok(Completion {
                tag: tag.unwrap_or_default(),
                rows,
            }),
        };
        Ok(Outcome { result, notices })
    }

    async fn send_copy_data(
        &mut self,
        data: &mut (dyn AsyncRead + Send + Unpin),
    ) -> io::Result<()> {
        let mut chunk = BytesMut::with_capacity(256 * 1024);
        loop {
            chunk.clear();
            let n = match data.read_buf(&mut chunk).await {
                Ok(n) => n,
                Err(e) => {
                    frontend::copy_fail(&format!("could not read input: {e}"), &mut self.wbuf)?;
                    return self.flush().await;
                }
            };
            if n == 0 {
                break;
            }
            frontend::CopyData::new(chunk.split().freeze())?.write(&mut self.wbuf);
            if self.wbuf.len() >= 256 * 1024 {
                self.flush().await?;
            }
        }
        frontend::copy_done(&mut self.wbuf);
        self.flush().await
    }

    /// Sends Terminate and closes the connection.
    pub async fn close(mut self) {
        frontend::terminate(&mut self.wbuf);
        let _ = self.flush().await;
        let _ = self.stream.shutdown().await;
    }
}

enum CopyIo<'a> {
    In(&'a mut (dyn AsyncRead + Send + Unpin)),
    Out(&'a mut (dyn AsyncWrite + Send + Unpin)),
}

enum StartupError {
    Io(io::Error),
    Rejected(String),
}

impl From<io::Error> for StartupError {
    fn from(e: io::Error) -> Self {
        StartupError::Io(e)
    }
}

fn sql_error(mut fields: ErrorFields<'_>) -> io::Result<SqlError> {
    let mut e = SqlError {
        severity: String::new(),
        sqlstate: String::new(),
        message: String::new(),
        detail: None,
        hint: None,
    };
    let mut localized = String::new();
    while let Some(f) = fields.next()? {
        let v = String::from_utf8_lossy(f.value_bytes()).into_owned();
        match f.type_() {
            b'V' => e.severity = v,
            b'S' => localized = v,
            b'C' => e.sqlstate = v,
            b'M' => e.message = v,
            b'D' => e.detail = Some(v),
            b'H' => e.hint = Some(v),
            _ => {}
        }
    }
    if e.severity.is_empty() {
        e.severity = localized;
    }
    Ok(e)
}

async fn negotiate_tls(
    mut tcp: TcpStream,
    p: &ConnectParams,
) -> Result<Box<dyn Stream>, WarehouseError> {
    let target = p.display();
    let tls_err = |reason: String| WarehouseError::Tls {
        target: target.clone(),
        reason,
    };
    let mut buf = BytesMut::new();
    frontend::ssl_request(&mut buf);
    let io_err = |e: io::Error| WarehouseError::Connect {
        target: target.clone(),
        source: e,
    };
    tcp.write_all(&buf).await.map_err(io_err)?;
    let mut answer = [0u8; 1];
    tcp.read_exact(&mut answer).await.map_err(io_err)?;
    match answer[0] {
        b'S' => {}
        b'N' if p.sslmode == SslMode::Prefer => return Ok(Box::new(tcp)),
        b'N' => {
            return Err(tls_err(
                "the server does not support TLS (sslmode requires it)".into(),
            ));
        }
        other => {
            return Err(tls_err(format!(
                "unexpected answer 0x{other:02x} to SSLRequest"
            )));
        }
    }
    let config = tls_config(p.sslmode);
    let name = rustls::pki_types::ServerName::try_from(p.host.clone())
        .map_err(|e| tls_err(format!("invalid server name: {e}")))?;
    let stream = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| tls_err(e.to_string()))?;
    Ok(Box::new(stream))
}

fn tls_config(mode: SslMode) -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions");
    match mode {
        SslMode::VerifyCa | SslMode::VerifyFull => {
            let mut roots = rustls::RootCertStore::empty();
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        _ => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
            .with_no_client_auth(),
    }
}

/// libpq's `sslmode=require`/`prefer`: encrypt, but do not verify the certificate.
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
