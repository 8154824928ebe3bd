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
    ///
    /// The user information ends at the last `@` (so a password may hold `/`, `?`, `#`, `:` or
    /// `@` unencoded), and no error ever repeats a piece of the URL: a malformed URL can put
    /// a password anywhere, so errors name the part that is wrong instead.
    pub fn parse(url: &str) -> Result<ConnectParams, WarehouseError> {
        let bad = |why: &str| WarehouseError::BadUrl(why.to_string());
        let rest = url
            .strip_prefix("postgres://")
            .or_else(|| url.strip_prefix("postgresql://"))
            .ok_or_else(|| bad("expected a URL starting with postgres:// or postgresql://"))?;
        let (userinfo, after) = split_userinfo(rest);
        let (main, query) = after.split_once('?').unwrap_or((after, ""));
        let (authority, path) = main.split_once('/').unwrap_or((main, ""));
        let decode = |s: &str, what: &str| -> Result<String, WarehouseError> {
            percent_decode_str(s)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| bad(&format!("invalid percent-encoding in the {what}")))
        };
        let (user, password) = match userinfo {
            Some(u) => match u.split_once(':') {
                Some((u, p)) => (Some(decode(u, "user name")?), Some(decode(p, "password")?)),
                None => (Some(decode(u, "user name")?), None),
            },
            None => (None, None),
        };
        let (host, port) = if let Some(h) = authority.strip_prefix('[') {
            let (h, p) = h
                .split_once(']')
                .ok_or_else(|| bad("unclosed [ in the host"))?;
            match p {
                "" => (h.to_string(), None),
                p => (
                    h.to_string(),
                    Some(
                        p.strip_prefix(':')
                            .ok_or_else(|| bad("unexpected text after ] in the host"))?
                            .to_string(),
                    ),
                ),
            }
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p.to_string())),
                None => (authority.to_string(), None),
            }
        };
        let port_of = |p: &str, what: &str| -> Result<u16, WarehouseError> {
            p.parse::<u16>().ok().filter(|n| *n > 0).ok_or_else(|| {
                bad(&format!(
                    "invalid port in the {what} (expected a number from 1 to 65535; a \
                     password with special characters must be percent-encoded or given in \
                     RSPASSWORD/PGPASSWORD)"
                ))
            })
        };
        let mut params = ConnectParams {
            host: if host.is_empty() {
                "localhost".into()
            } else {
                decode(&host, "host")?
            },
            // A ':' with no port ("user:/..." without '@') is an error too: it is most
            // likely a user and password whose '@' is missing.
            port: match port {
                Some(p) => port_of(&p, "host part")?,
                None => 5432,
            },
            user: user.unwrap_or_default(),
            password,
            database: decode(path, "database name")?,
            sslmode: SslMode::Prefer,
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = decode(v, "query parameters")?;
            match k {
                "sslmode" => {
                    params.sslmode = SslMode::parse(&v).ok_or_else(|| {
                        bad(
                            "unknown sslmode (expected disable, allow, prefer, require, \
                             verify-ca or verify-full)",
                        )
                    })?;
                }
                "host" => params.host = v,
                "port" => params.port = port_of(&v, "port parameter")?,
                "user" => params.user = v,
                "password" => params.password = Some(v),
                "dbname" => params.database = v,
                "application_name" | "connect_timeout" | "options" => {}
                _ => {
                    return Err(bad(
                        "unknown query parameter (known: sslmode, host, port, user, password, \
                         dbname, application_name, connect_timeout, options)",
                    ));
                }
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

/// Splits `user:password@host...` at the last `@` that belongs to the user information: the
/// last one before the query string, or the last one overall when the query string holds none
/// (the password itself may contain `?`).
fn split_userinfo(rest: &str) -> (Option<&str>, &str) {
    let Some(at) = rest.rfind('@') else {
        return (None, rest);
    };
    // An `@` inside the query string (after a `?` that follows a `/` past the last `@`-free
    // authority) is not the user information's end.
    let after = &rest[at + 1..];
    if after.contains('=') && !after.contains('/') {
        if let Some(q) = rest.find('?')
            && let Some(at2) = rest[..q].rfind('@')
        {
            return (Some(&rest[..at2]), &rest[at2 + 1..]);
        }
        if !rest[..at].contains(':') {
            return (None, rest);
        }
    }
    (Some(&rest[..at]), after)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// No error and no Debug output ever holds the password, however the URL is broken.
        #[test]
        fn errors_never_hold_the_password(
            pw in "[A-Za-z0-9/?#:@&=%\\[\\]]{0,12}SeCrEt[A-Za-z0-9/?#:@&=%]{0,12}",
            shape in 0usize..12,
        ) {
            let urls = [
                format!("postgres://etl:{pw}@127.0.0.1:1/dev"),
                format!("postgres://etl:{pw}@127.0.0.1:notaport/dev"),
                format!("postgres://etl:{pw}"),
                format!("postgres://etl:{pw}@[::1/dev"),
                format!("postgres://etl:{pw}@host/db?sslmode=bogus"),
                format!("postgres://etl:{pw}@host/db?nope=1"),
                format!("postgres://etl:{pw}@@host:99999/db"),
                format!("postgresql://:{pw}@/dev?port=x"),
                format!("postgres://:{pw}@h/db"),
                format!("postgres://etl:{pw}@h:5439/db%zz"),
                format!("postgres://etl:{pw}@h:0/db"),
                format!("postgres://etl:{pw}@[::1]x/db"),
            ];
            // Without an '@' after it, "user:x@SeCrEt" is a user, a password and a host: a
            // password with an '@' of its own is only recognisable when a host follows.
            prop_assume!(shape != 2 || !pw.contains('@'));
            let url = &urls[shape];
            match ConnectParams::parse(url) {
                Ok(p) => {
                    let debug = format!("{p:?}");
                    prop_assert!(!debug.contains("SeCrEt"));
                    prop_assert!(!p.display().contains("SeCrEt"));
                }
                Err(e) => {
                    let (text, debug) = (e.to_string(), format!("{e:?}"));
                    prop_assert!(!text.contains("SeCrEt"), "{}: {}", url, text);
                    prop_assert!(!debug.contains("SeCrEt"), "{}: {}", url, debug);
                }
            }
        }
    }

    #[test]
    fn passwords_with_special_characters_parse() {
        let p = ConnectParams::parse("postgres://etl:a/b?c#d:e@f@db.example.com:5439/dev").unwrap();
        assert_eq!(p.password.as_deref(), Some("a/b?c#d:e@f"));
        assert_eq!((p.host.as_str(), p.port), ("db.example.com", 5439));
        assert_eq!(p.database, "dev");
        let p = ConnectParams::parse("postgres://u@h/db?options=x@y&sslmode=require").unwrap();
        assert_eq!((p.user.as_str(), p.host.as_str()), ("u", "h"));
        assert_eq!(p.sslmode, SslMode::Require);
    }

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
