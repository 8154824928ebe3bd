//! `postgres://` connection URLs: user, password, host (or a Unix-socket directory), port,
//! database and `sslmode`, with the password also taken from RSPASSWORD or PGPASSWORD.

use percent_encoding::percent_decode_str;

use crate::error::WarehouseError;

/// How TLS is used, as libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Never.
    Disable,
    /// Try TLS, fall back to plain text.
    Prefer,
    /// TLS, without verifying the certificate.
    Require,
    /// TLS, verifying the certificate chain.
    VerifyCa,
    /// TLS, verifying the chain and the host name.
    VerifyFull,
}

impl SslMode {
    /// libpq's names (`allow` connects without TLS, as rsqlflow never needs to retry).
    pub fn parse(s: &str) -> Option<SslMode> {
        Some(match s.to_ascii_lowercase().as_str() {
            "disable" | "allow" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }
}

/// Where and how to connect.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectParams {
    /// Host name, IP address, or a Unix-socket directory (starts with `/`).
    pub host: String,
    /// Port.
    pub port: u16,
    /// User name.
    pub user: String,
    /// Password, if any.
    pub password: Option<String>,
    /// Database name.
    pub database: String,
    /// TLS mode.
    pub sslmode: SslMode,
}

impl std::fmt::Debug for ConnectParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The password is never printed.
        f.debug_struct("ConnectParams")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("database", &self.database)
            .field("sslmode", &self.sslmode)
            .finish()
    }
}

impl ConnectParams {
    /// A description for messages: `user@host:port/db`, with no password.
    pub fn display(&self) -> String {
        format!(
            "{}@{}:{}/{}",
            self.user, self.host, self.port, self.database
        )
    }

    /// Parses a `postgres://` or `postgresql://` URL. A password missing from the URL is taken
    /// from `RSPASSWORD`, then `PGPASSWORD`.
    pub fn parse(url: &str) -> Result<ConnectParams, WarehouseError> {
        let bad = |why: &str| WarehouseError::BadUrl(why.to_string());
        let rest = url
            .strip_prefix("postgres://")
            .or_else(|| url.strip_prefix("postgresql://"))
            .ok_or_else(|| bad("expected a URL starting with postgres:// or postgresql://"))?;
        let (main, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, path) = main.split_once('/').unwrap_or((main, ""));
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let decode = |s: &str| -> Result<String, WarehouseError> {
            percent_decode_str(s)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| bad("invalid percent-encoding"))
        };
        let (user, password) = match userinfo {
            Some(u) => match u.split_once(':') {
                Some((u, p)) => (Some(decode(u)?), Some(decode(p)?)),
                None => (Some(decode(u)?), None),
            },
            None => (None, None),
        };
        let (host, port) = if let Some(h) = hostport.strip_prefix('[') {
            let (h, p) = h.split_once(']').ok_or_else(|| bad("unclosed [ in host"))?;
            (h.to_string(), p.strip_prefix(':').map(str::to_string))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p.to_string())),
                None => (hostport.to_string(), None),
            }
        };
        let mut params = ConnectParams {
            host: if host.is_empty() {
                "localhost".into()
            } else {
                decode(&host)?
            },
            port: match port.filter(|p| !p.is_empty()) {
                Some(p) => p
                    .parse()
                    .map_err(|_| bad(&format!("invalid port \"{p}\"")))?,
                None => 5432,
            },
            user: user.unwrap_or_default(),
            password,
            database: decode(path)?,
            sslmode: SslMode::Prefer,
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = decode(v)?;
            match k {
                "sslmode" => {
                    params.sslmode = SslMode::parse(&v)
                        .ok_or_else(|| bad(&format!("unknown sslmode \"{v}\"")))?;
                }
                "host" => params.host = v,
                "port" => {
                    params.port = v
                        .parse()
                        .map_err(|_| bad(&format!("invalid port \"{v}\"")))?
                }
                "user" => params.user = v,
                "password" => params.password = Some(v),
                "dbname" => params.database = v,
                "application_name" | "connect_timeout" | "options" => {}
                other => return Err(bad(&format!("unknown parameter \"{other}\""))),
            }
        }
        params.fill_defaults();
        Ok(params)
    }

    /// Parameters from parts, as psql and rsql take them from `-h -p -U -d`: an empty user
    /// is `PGUSER`, else the login name; an empty database is the user's name; the password
    /// comes from `RSPASSWORD`, then `PGPASSWORD`.
    pub fn from_parts(
        host: String,
        port: u16,
        user: String,
        database: String,
        sslmode: SslMode,
    ) -> ConnectParams {
        let mut p = ConnectParams {
            host,
            port,
            user,
            password: None,
            database,
            sslmode,
        };
        p.fill_defaults();
        p
    }

    fn fill_defaults(&mut self) {
        let params = self;
        if params.user.is_empty() {
            params.user = std::env::var("PGUSER")
                .or_else(|_| std::env::var("USER"))
                .unwrap_or_else(|_| "postgres".into());
        }
        if params.database.is_empty() {
            params.database = params.user.clone();
        }
        if params.password.is_none() {
            params.password = std::env::var("RSPASSWORD")
                .or_else(|_| std::env::var("PGPASSWORD"))
                .ok()
                .filter(|p| !p.is_empty());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let p = ConnectParams::parse(
            "postgres://etl:p%40ss@cluster.example.com:5439/dev?sslmode=require",
        )
        .unwrap();
        assert_eq!(p.user, "etl");
        assert_eq!(p.password.as_deref(), Some("p@ss"));
        assert_eq!(p.host, "cluster.example.com");
        assert_eq!(p.port, 5439);
        assert_eq!(p.database, "dev");
        assert_eq!(p.sslmode, SslMode::Require);
        assert!(!format!("{p:?}").contains("p@ss"));
        let p = ConnectParams::parse("postgresql://u@/db?host=/tmp/sock&port=5499").unwrap();
        assert_eq!((p.host.as_str(), p.port), ("/tmp/sock", 5499));
        assert!(ConnectParams::parse("mysql://x").is_err());
        assert!(ConnectParams::parse("postgres://h:notaport/db").is_err());
    }
}
