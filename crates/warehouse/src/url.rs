//! `postgres://` connection URLs: user, password, host (or a Unix-socket directory), port,
//! database and `sslmode`, with the password also taken from RSPASSWORD or PGPASSWORD. No
//! error, description or Debug output repeats the password, however malformed the URL.

use std::ops::Range;

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
    /// The user information ends at the last `@` after which a valid host follows, so a
    /// password may hold `/`, `?`, `#`, `:` or `@` unencoded. (libpq ends it at the first `@`
    /// before any `/`, and so cannot take such a password without percent-encoding:
    /// <https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING-URIS>.)
    ///
    /// No error ever repeats a piece of the URL: a malformed URL can put a password anywhere,
    /// so errors name the part that is wrong instead. And a URL is refused ("ambiguous URL")
    /// when the reading chosen would show, in [`ConnectParams::display`], text that another
    /// reading makes part of the password: from the first `:` to the last `@`, and a
    /// `password=` query value. With a password in the URL, an `@` in the path or query
    /// string must therefore be percent-encoded (`%40`).
    pub fn parse(url: &str) -> Result<ConnectParams, WarehouseError> {
        let rest = url
            .strip_prefix("postgres://")
            .or_else(|| url.strip_prefix("postgresql://"))
            .ok_or_else(|| bad("expected a URL starting with postgres:// or postgresql://"))?;
        let ats: Vec<usize> = rest.match_indices('@').map(|(i, _)| i).collect();
        if ats.len() > MAX_AT_SIGNS {
            return Err(bad(&format!(
                "more than {MAX_AT_SIGNS} '@' characters (percent-encode an '@' in the user \
                 name, password or parameters as %40)"
            )));
        }
        let secret = password_regions(rest);
        let mut first_error = None;
        let mut ambiguous = false;
        // The last '@' first, then each earlier one, then no user information at all.
        let splits = ats
            .iter()
            .rev()
            .map(|&a| Some(a))
            .chain(std::iter::once(None));
        for split in splits {
            match read(rest, split) {
                Ok(r) if r.shown.iter().any(|s| secret.iter().any(|p| overlap(s, p))) => {
                    ambiguous = true;
                }
                Ok(mut r) => {
                    r.params.fill_defaults();
                    return Ok(r.params);
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        Err(match (ambiguous, first_error) {
            (false, Some(e)) => e,
            _ => bad(
                "ambiguous URL: it reads as a host, port, user or database made of text that \
                 may be the password (percent-encode '@' as %40, ':' as %3A, '/' as %2F, '?' as \
                 %3F and '&' as %26 in the password, or give it in RSPASSWORD/PGPASSWORD)",
            ),
        })
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

/// At most this many `@` in a URL: each is a possible end of the user information, and each
/// is tried.
const MAX_AT_SIGNS: usize = 64;

fn bad(why: &str) -> WarehouseError {
    WarehouseError::BadUrl(why.to_string())
}

/// One reading of a URL (the part after the scheme): its parameters, before defaults, and
/// where in the URL the text that [`ConnectParams::display`] shows comes from.
struct Reading {
    params: ConnectParams,
    shown: Vec<Range<usize>>,
}

fn overlap(a: &Range<usize>, b: &Range<usize>) -> bool {
    !a.is_empty() && !b.is_empty() && a.start < b.end && b.start < a.end
}

/// The stretches of a URL (after the scheme) that some reading makes part of a password:
/// from the first `:` to the last `@` (the password when the user information runs to the
/// last `@`; every shorter reading's password lies inside it), and each `password=` that
/// follows a `?` or `&` after a `?`, up to the next `&` (a query parameter in some reading).
fn password_regions(rest: &str) -> Vec<Range<usize>> {
    let mut regions = Vec::new();
    if let Some(last) = rest.rfind('@')
        && let Some(colon) = rest.get(..last).and_then(|u| u.find(':'))
    {
        regions.push(colon.saturating_add(1)..last);
    }
    for (i, _) in rest.match_indices("password=") {
        let starts_parameter = i
            .checked_sub(1)
            .and_then(|p| rest.as_bytes().get(p))
            .is_some_and(|b| matches!(b, b'?' | b'&'))
            && rest.get(..i).is_some_and(|before| before.contains('?'));
        if starts_parameter {
            let start = i.saturating_add("password=".len());
            let end = rest
                .get(start..)
                .and_then(|v| v.find('&'))
                .map_or(rest.len(), |e| start.saturating_add(e));
            regions.push(start..end);
        }
    }
    regions
}

fn decode(s: &str, what: &str) -> Result<String, WarehouseError> {
    percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| bad(&format!("invalid percent-encoding in the {what}")))
}

fn port_of(p: &str, what: &str) -> Result<u16, WarehouseError> {
    p.parse::<u16>().ok().filter(|n| *n > 0).ok_or_else(|| {
        bad(&format!(
            "invalid port in the {what} (expected a number from 1 to 65535; a password with \
             special characters must be percent-encoded or given in RSPASSWORD/PGPASSWORD)"
        ))
    })
}

/// A host name or IPv4 address (letters, digits, `.`, `-`, `_`), or a Unix-socket directory
/// (percent-encoded, starting with `/`).
fn valid_host(h: &str) -> bool {
    h.starts_with('/')
        || h.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// An IPv6 address between brackets, with an optional zone (`fe80::1%25eth0`).
fn valid_ipv6(h: &str) -> bool {
    !h.is_empty()
        && h.contains(':')
        && h.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '.' | '%' | '-' | '_'))
}

/// Reads `rest` (the URL after its scheme) with the user information ending at the `@` at
/// `split` (none when `split` is None).
fn read(rest: &str, split: Option<usize>) -> Result<Reading, WarehouseError> {
    let mut shown = Vec::new();
    let (userinfo, base) = match split {
        Some(at) => (rest.get(..at), at.saturating_add(1)),
        None => (None, 0),
    };
    let after = rest.get(base..).unwrap_or("");
    let (mut user, mut password) = (String::new(), None);
    if let Some(u) = userinfo {
        match u.split_once(':') {
            Some((name, pw)) => {
                user = decode(name, "user name")?;
                password = Some(decode(pw, "password")?);
                shown.push(0..name.len());
            }
            None => {
                // A user name alone holds no '/' or '?': what precedes such an '@' is a host
                // and a path or query (postgres://host/db?options=a@b).
                if u.contains(['/', '?']) {
                    return Err(bad("invalid user name (a '/' or '?' before the '@')"));
                }
                user = decode(u, "user name")?;
                shown.push(0..u.len());
            }
        }
    }
    let (main, query, query_base) = match after.find('?') {
        Some(q) => (
            &after[..q],
            after.get(q.saturating_add(1)..).unwrap_or(""),
            base.saturating_add(q).saturating_add(1),
        ),
        None => (after, "", base.saturating_add(after.len())),
    };
    let (authority, path, path_base) = match main.find('/') {
        Some(s) => (
            &main[..s],
            main.get(s.saturating_add(1)..).unwrap_or(""),
            base.saturating_add(s).saturating_add(1),
        ),
        None => (main, "", base.saturating_add(main.len())),
    };
    // Host and port, with where each starts in `rest`.
    let (host, host_at, port, port_at) = if let Some(h) = authority.strip_prefix('[') {
        let (h, p) = h
            .split_once(']')
            .ok_or_else(|| bad("unclosed [ in the host"))?;
        let h_at = base.saturating_add(1);
        let p_at = h_at.saturating_add(h.len()).saturating_add(2);
        let port = match p {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or_else(|| bad("unexpected text after ] in the host"))?,
            ),
        };
        if !valid_ipv6(h) {
            return Err(bad("invalid IPv6 address between [ and ] in the host"));
        }
        (h, h_at, port, p_at)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (
                h,
                base,
                Some(p),
                base.saturating_add(h.len()).saturating_add(1),
            ),
            None => (authority, base, None, base),
        }
    };
    let host = if host.is_empty() {
        "localhost".to_string()
    } else {
        shown.push(host_at..host_at.saturating_add(host.len()));
        let h = decode(host, "host")?;
        if !authority.starts_with('[') && !valid_host(&h) {
            return Err(bad(
                "invalid host (expected a host name, an IPv4 address, an IPv6 address in [ ], \
                 or a percent-encoded socket directory)",
            ));
        }
        h
    };
    // A ':' with no port ("user:/..." without '@') is an error too: it is most likely a user
    // and password whose '@' is missing.
    let port = match port {
        Some(p) => {
            shown.push(port_at..port_at.saturating_add(p.len()));
            port_of(p, "host part")?
        }
        None => 5432,
    };
    if !path.is_empty() {
        shown.push(path_base..path_base.saturating_add(path.len()));
    }
    let mut params = ConnectParams {
        host,
        port,
        user,
        password,
        database: decode(path, "database name")?,
        sslmode: SslMode::Prefer,
    };
    let mut at = query_base;
    for pair in query.split('&') {
        let pair_at = at;
        at = at.saturating_add(pair.len()).saturating_add(1);
        if pair.is_empty() {
            continue;
        }
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v_end = pair_at.saturating_add(pair.len());
        let v_range = v_end.saturating_sub(v.len())..v_end;
        let v = decode(v, "query parameters")?;
        match k {
            "sslmode" => {
                params.sslmode = SslMode::parse(&v).ok_or_else(|| {
                    bad(
                        "unknown sslmode (expected disable, allow, prefer, require, verify-ca or \
                         verify-full)",
                    )
                })?;
            }
            "host" => {
                shown.push(v_range);
                params.host = v;
            }
            "port" => {
                shown.push(v_range);
                params.port = port_of(&v, "port parameter")?;
            }
            "user" => {
                shown.push(v_range);
                params.user = v;
            }
            "password" => params.password = Some(v),
            "dbname" => {
                shown.push(v_range);
                params.database = v;
            }
            "application_name" | "connect_timeout" | "options" => {}
            _ => {
                return Err(bad(
                    "unknown query parameter (known: sslmode, host, port, user, password, \
                     dbname, application_name, connect_timeout, options)",
                ));
            }
        }
    }
    Ok(Reading { params, shown })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MARK: &str = "SeCrEt";

    /// URL shapes, well-formed and not; `{u}` the user, `{pw}` the password, `{h}` the host.
    const SHAPES: &[&str] = &[
        "postgres://{u}:{pw}@{h}:5439/dev",
        "postgres://{u}:{pw}@{h}/dev?sslmode=require",
        "postgresql://{u}:{pw}@{h}",
        "postgres://{u}:{pw}@{h}:5439/dev?options=a@b&application_name=x",
        "postgres://{u}@{h}/dev?password={pw}",
        "postgres://{h}/dev?user={u}&password={pw}&sslmode=disable",
        "postgres://{u}:{pw}@[fe80::1%25eth0]:5432/dev",
        "postgres://{u}:{pw}@{h}:notaport/dev",
        "postgres://{u}:{pw}@[::1/dev",
        "postgres://{u}:{pw}@{h}/db?sslmode=bogus",
        "postgres://{u}:{pw}@{h}/db?nope=1",
        "postgres://{u}:{pw}@@{h}:99999/db",
        "postgresql://:{pw}@/dev?port=x",
        "postgres://{u}:{pw}@{h}:5439/db%zz",
        "postgres://{u}:{pw}@{h}:0/db",
        "postgres://{u}:{pw}@[::1]x/db",
        "postgres://{u}:{pw}@",
        "postgres://{u}:{pw}@/",
        "postgres://{u}:{pw}@:5432/dev",
        "postgres:/{u}:{pw}@{h}/dev",
        "postgres://{u}:{pw}@{h}:5432:5433/db",
        "postgres://{u}:{pw}@{h} x/db",
        "postgres://{u}:{pw}@{h}/dev?password",
        "postgres://{u}:{pw}@{h}/dev?host=%zz",
        "postgres://{u}:{pw}@{h}/dev?port=0",
        "postgres://{u}:{pw}@[]/dev",
        "postgres://{u}:{pw}@[zz]/dev",
        // No '@' between the password and the host, or no host at all.
        "postgres://{u}:{pw}{h}/dev",
        "postgres://{u}:{pw}",
        "postgres://{u}:{pw}/dev",
    ];
    /// Shapes whose password has no '@' after it.
    const NO_SEPARATOR: std::ops::Range<usize> = 27..30;
    /// Shapes with the password in the query string.
    const IN_QUERY: [usize; 2] = [4, 5];

    fn url(shape: &str, u: &str, pw: &str, h: &str) -> String {
        shape
            .replace("{u}", u)
            .replace("{pw}", pw)
            .replace("{h}", h)
    }

    fn assert_hidden(url: &str) -> Result<(), TestCaseError> {
        match ConnectParams::parse(url) {
            Ok(p) => {
                let debug = format!("{p:?}");
                prop_assert!(!debug.contains(MARK), "{}: {}", url, debug);
                prop_assert!(!p.display().contains(MARK), "{}: {}", url, p.display());
                let e = WarehouseError::Connect {
                    target: p.display(),
                    source: std::io::Error::other("connection refused"),
                };
                prop_assert!(!e.to_string().contains(MARK), "{}: {}", url, e);
            }
            Err(e) => {
                let (text, debug) = (e.to_string(), format!("{e:?}"));
                prop_assert!(!text.contains(MARK), "{}: {}", url, text);
                prop_assert!(!debug.contains(MARK), "{}: {}", url, debug);
            }
        }
        let target = format!("{:?}", crate::Target::Url(url.to_string()));
        prop_assert!(!target.contains(MARK), "{}: {}", url, target);
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// No error, no Debug output and no description ever holds the password, however the
        /// URL is broken.
        #[test]
        fn errors_never_hold_the_password(
            before in "[A-Za-z0-9/?#:@&=%\\[\\] !$'()*+,;~._é-]{0,12}",
            after in "[A-Za-z0-9/?#:@&=%\\[\\] !$'()*+,;~._é-]{0,12}",
            u in "[a-z_]{0,6}",
            h in prop::sample::select(vec!["db.example.com", "127.0.0.1", "[::1]", "", "h_1"]),
            shape in 0..SHAPES.len(),
        ) {
            let pw = format!("{before}{MARK}{after}");
            if NO_SEPARATOR.contains(&shape) {
                // With no '@' of its own, a password's '@' ends the user information and what
                // follows is a host ("user:x@SeCrEt" is a user, a password and a host); and
                // "user:5/SeCrEt" is a host, a port and a database: both are valid URLs.
                prop_assume!(!pw.contains('@'));
                prop_assume!(!pw.starts_with(|c: char| c.is_ascii_digit()));
            }
            if IN_QUERY.contains(&shape) {
                // '&' and '#' end a query value: "password=a&dbname=SeCrEt" is two parameters.
                prop_assume!(!pw.contains(['&', '#']));
            }
            assert_hidden(&url(SHAPES[shape], &u, &pw, h))?;
        }

        /// A password with any of the URL's special characters, unencoded, is read back whole
        /// when an '@' and a host follow it.
        #[test]
        fn unencoded_passwords_are_read_whole(
            pw in "[A-Za-z0-9/?#:@&=\\[\\] !$'()*+,;~._-]{1,24}",
            shape in 0usize..4,
        ) {
            let shapes = [
                "postgres://etl:{pw}@db.example.com:5439/dev",
                "postgres://etl:{pw}@db.example.com/dev?sslmode=require",
                "postgres://etl:{pw}@[::1]:5439/dev",
                "postgres://etl:{pw}@db.example.com",
            ];
            let p = ConnectParams::parse(&shapes[shape].replace("{pw}", &pw)).unwrap();
            prop_assert_eq!(p.password.as_deref(), Some(pw.as_str()));
            prop_assert_eq!(p.user.as_str(), "etl");
            prop_assert!(p.host == "db.example.com" || p.host == "::1");
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
        let p = ConnectParams::parse("postgres://h/db?options=a@b").unwrap();
        assert_eq!((p.host.as_str(), p.database.as_str()), ("h", "db"));
        let p = ConnectParams::parse("postgres://u@h/db?password=a:b@c&sslmode=disable").unwrap();
        assert_eq!((p.user.as_str(), p.host.as_str()), ("u", "h"));
        assert_eq!(p.password.as_deref(), Some("a:b@c"));
    }

    /// The errors of the brief's examples: a password with '/' or '?' and no '@' used to be
    /// repeated as a port ("invalid port \"SECRET\"").
    #[test]
    fn malformed_urls_name_the_part_not_the_text() {
        for url in [
            "postgres://etl:SeCrEt?x",
            "postgres://etl:SeCrEt/dev",
            "postgres://etl:SeCrEt",
            "postgres://etl:Se/CrEt@db:54x/dev",
            "postgres://etl:Se?CrEt@db:0/dev",
            "postgres://etl:Se/CrEt@db/dev?sslmode=bogus",
        ] {
            let e = ConnectParams::parse(url).unwrap_err();
            assert!(!e.to_string().contains("CrEt"), "{url}: {e}");
            assert!(!format!("{e:?}").contains("CrEt"), "{url}: {e:?}");
        }
        // A trailing '@' ends the user information: the host is missing, so it is localhost.
        let p = ConnectParams::parse("postgres://etl:SeCrEt/x@").unwrap();
        assert_eq!(
            (p.host.as_str(), p.password.as_deref()),
            ("localhost", Some("SeCrEt/x"))
        );
        let e = ConnectParams::parse("postgres://etl:SeCrEt/dev").unwrap_err();
        assert!(
            e.to_string().contains("invalid port in the host part"),
            "{e}"
        );
    }

    /// Text that one reading makes a password is never shown: such a URL is refused.
    #[test]
    fn ambiguous_urls_are_refused() {
        // Either user "u", host "h", port 5432 and database "db", or user "u@h" with password
        // "5432/db?options=x" and a host after the last '@'.
        let e =
            ConnectParams::parse("postgres://u@h:5432/db?options=x@y&sslmode=require").unwrap_err();
        assert!(e.to_string().contains("ambiguous URL"), "{e}");
        assert!(!e.to_string().contains("5432"), "{e}");
        // The same, with %40: one reading.
        let p =
            ConnectParams::parse("postgres://u@h:5432/db?options=x%40y&sslmode=require").unwrap();
        assert_eq!(
            (p.host.as_str(), p.port, p.database.as_str()),
            ("h", 5432, "db")
        );
    }

    #[test]
    fn too_many_at_signs_are_refused() {
        let url = format!("postgres://u:{}@h/db", "@".repeat(10_000));
        let e = ConnectParams::parse(&url).unwrap_err();
        assert!(e.to_string().contains("more than 64 '@'"), "{e}");
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
        let p = ConnectParams::parse("postgresql://u@%2Ftmp%2Fsock:5499/db").unwrap();
        assert_eq!((p.host.as_str(), p.port), ("/tmp/sock", 5499));
        let p = ConnectParams::parse("postgres://u:p@[::1]:6543/db").unwrap();
        assert_eq!((p.host.as_str(), p.port), ("::1", 6543));
        let p = ConnectParams::parse("postgres://u:p@/db").unwrap();
        assert_eq!(p.host, "localhost");
        assert!(ConnectParams::parse("mysql://x").is_err());
        assert!(ConnectParams::parse("postgres://h:notaport/db").is_err());
        assert!(ConnectParams::parse("postgres://::1/db").is_err());
    }
}
