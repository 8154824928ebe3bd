//! ODBC data sources, for `rsql -D NAME`: the `[NAME]` section of the odbc.ini file that
//! `ODBCINI` names (else `~/.odbc.ini`, where ODBC driver managers look by default), read with
//! the Amazon Redshift ODBC driver's key names (docs.aws.amazon.com/redshift/latest/mgmt/
//! odbc20-configuration-options.html and odbc20-install-config-linux.html). Key names are
//! case-insensitive, as in ODBC. A key that would change what the connection does and that
//! rsqlflow cannot honour is an error naming it; a key that cannot change a script's results
//! (driver paths, logging, keep-alives) is reported as ignored.

use std::path::{Path, PathBuf};

use crate::url::SslMode;

/// Why a data source could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DsnError {
    /// The ini file could not be read.
    #[error("cannot read ODBC data sources from {file}: {source}")]
    Read {
        /// The file.
        file: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// No section of that name.
    #[error("data source [{name}] is not defined in {file}")]
    NotFound {
        /// The DSN.
        name: String,
        /// The file.
        file: PathBuf,
    },
    /// A key rsqlflow cannot honour, or a value it cannot use.
    #[error("data source [{name}] ({file}:{line}): {key}: {why}")]
    Key {
        /// The DSN.
        name: String,
        /// The file.
        file: PathBuf,
        /// 1-based line of the key.
        line: usize,
        /// The key as written.
        key: String,
        /// Why (never the value of a secret).
        why: String,
    },
    /// A required key is missing.
    #[error("data source [{name}] in {file} has no {key}")]
    Missing {
        /// The DSN.
        name: String,
        /// The file.
        file: PathBuf,
        /// What is missing.
        key: &'static str,
    },
}

/// IAM authentication settings of a data source (`IAM=1`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IamSettings {
    /// `ClusterID`: a provisioned cluster (GetClusterCredentials); without it, a Redshift
    /// Serverless workgroup named by the first label of the host.
    pub cluster_id: Option<String>,
    /// `DbUser`: the database user to get credentials for.
    pub db_user: Option<String>,
    /// `Region`.
    pub region: Option<String>,
    /// `Profile`: an AWS profile of the shared configuration.
    pub profile: Option<String>,
}

/// A data source as rsqlflow uses it. The password is never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Dsn {
    /// The section name.
    pub name: String,
    /// The file it came from.
    pub file: PathBuf,
    /// `Server` / `Host` / `HostName`.
    pub host: Option<String>,
    /// `Port` / `PortNumber` (the driver's default is 5439).
    pub port: Option<u16>,
    /// `Database`.
    pub database: Option<String>,
    /// `UID` / `User` / `LogonID`.
    pub user: Option<String>,
    /// `PWD` / `Password` / `PWS`.
    pub password: Option<String>,
    /// `SSLMode` (the driver's default is verify-ca).
    pub sslmode: Option<SslMode>,
    /// Set when `IAM=1`.
    pub iam: Option<IamSettings>,
    /// Keys present that have no effect locally, with their lines.
    pub ignored: Vec<(String, usize)>,
}

impl std::fmt::Debug for Dsn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dsn")
            .field("name", &self.name)
            .field("file", &self.file)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database", &self.database)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("sslmode", &self.sslmode)
            .field("iam", &self.iam)
            .finish()
    }
}

/// Keys with no effect on a script's results: driver and logging configuration.
const NO_EFFECT: &[&str] = &[
    "driver",
    "description",
    "trace",
    "tracefile",
    "loglevel",
    "logpath",
    "keepalive",
    "keepalivecount",
    "keepaliveinterval",
    "keepalivetime",
    "min_tls",
    "cafile",
    "applicationname",
    "databasemetadatacurrentdbonly",
    "instanceprofile",
];

/// Where data sources are defined: `$ODBCINI`, else `~/.odbc.ini`.
pub fn odbc_ini_path() -> Option<PathBuf> {
    std::env::var_os("ODBCINI")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".odbc.ini")))
}

impl Dsn {
    /// Reads data source `name` from `file`.
    pub fn load(name: &str, file: &Path) -> Result<Dsn, DsnError> {
        let text = std::fs::read_to_string(file).map_err(|source| DsnError::Read {
            file: file.to_path_buf(),
            source,
        })?;
        Dsn::parse(name, file, &text)
    }

    /// Parses data source `name` out of odbc.ini text.
    pub fn parse(name: &str, file: &Path, text: &str) -> Result<Dsn, DsnError> {
        let mut dsn = Dsn {
            name: name.to_string(),
            file: file.to_path_buf(),
            host: None,
            port: None,
            database: None,
            user: None,
            password: None,
            sslmode: None,
            iam: None,
            ignored: Vec::new(),
        };
        let mut found = false;
        let mut in_section = false;
        let mut iam_on = false;
        let mut iam = IamSettings::default();
        let mut iam_keys: Vec<(String, usize)> = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let l = raw.trim();
            if l.is_empty() || l.starts_with(';') || l.starts_with('#') {
                continue;
            }
            if let Some(section) = l.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
                // The first section of that name wins.
                in_section = !found && section.trim() == name;
                found |= in_section;
                continue;
            }
            if !in_section {
                continue;
            }
            let Some((key, value)) = l.split_once('=') else {
                // The line itself is not repeated: it could be a stray password.
                return Err(dsn.key_error(line, "(a line without '=')", "expected KEY=VALUE"));
            };
            let key = key.trim();
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            let owned = || Some(value.to_string()).filter(|v| !v.is_empty());
            let lower = key.to_ascii_lowercase();
            // What connection errors show (host, user, database) never holds a ';': it is a
            // connection string's separator (`UID=etl;PWD=...`), and what follows could be a
            // password. odbc.ini takes one KEY=VALUE a line.
            let shown = [
                "server", "host", "hostname", "database", "uid", "user", "logonid",
            ];
            if shown.contains(&lower.as_str()) && value.contains(';') {
                return Err(dsn.key_error(
                    line,
                    key,
                    "a ';' in the value (odbc.ini takes one KEY=VALUE a line)",
                ));
            }
            match lower.as_str() {
                "server" | "host" | "hostname" => dsn.host = owned(),
                "port" | "portnumber" => {
                    dsn.port = Some(value.parse().ok().filter(|p| *p > 0).ok_or_else(|| {
                        dsn.key_error(
                            line,
                            key,
                            "invalid port (expected a number from 1 to 65535)",
                        )
                    })?);
                }
                "database" => dsn.database = owned(),
                "uid" | "user" | "logonid" => dsn.user = owned(),
                "pwd" | "password" | "pws" => dsn.password = owned(),
                "sslmode" => {
                    dsn.sslmode = Some(SslMode::parse(value).ok_or_else(|| {
                        dsn.key_error(
                            line,
                            key,
                            "unknown SSL mode (expected disable, allow, prefer, require, \
                             verify-ca or verify-full)",
                        )
                    })?);
                }
                "iam" => {
                    iam_on = match value.to_ascii_lowercase().as_str() {
                        "1" | "true" => true,
                        "0" | "false" => false,
                        _ => {
                            return Err(dsn.key_error(line, key, "expected 1 or 0"));
                        }
                    }
                }
                "clusterid" | "dbuser" | "region" | "profile" => {
                    iam_keys.push((key.to_string(), line));
                    match key.to_ascii_lowercase().as_str() {
                        "clusterid" => iam.cluster_id = owned(),
                        "dbuser" => iam.db_user = owned(),
                        "region" => iam.region = owned(),
                        _ => iam.profile = owned(),
                    }
                }
                k if NO_EFFECT.contains(&k) => dsn.ignored.push((key.to_string(), line)),
                "autocreate" if value == "0" || value.eq_ignore_ascii_case("false") => {}
                _ => {
                    return Err(dsn.key_error(
                        line,
                        key,
                        "not supported by rsqlflow (supported: Server/Host, Port, Database, UID, PWD, SSLMode, and for IAM=1: ClusterID, DbUser, Region, Profile)",
                    ));
                }
            }
        }
        if !found {
            return Err(DsnError::NotFound {
                name: name.to_string(),
                file: file.to_path_buf(),
            });
        }
        if iam_on {
            dsn.iam = Some(iam);
        } else {
            // ClusterID & co. only mean something with IAM=1; without it they change nothing.
            dsn.ignored.extend(iam_keys);
        }
        if dsn.host.is_none() && dsn.iam.as_ref().is_none_or(|i| i.cluster_id.is_none()) {
            return Err(DsnError::Missing {
                name: name.to_string(),
                file: file.to_path_buf(),
                key: "Server (or Host)",
            });
        }
        Ok(dsn)
    }

    /// An error about a key. No value is ever repeated (it could be a password or hold one,
    /// on a malformed line), and a key is named only when it is a plain name.
    fn key_error(&self, line: usize, key: &str, why: &str) -> DsnError {
        let plain = !key.is_empty()
            && key.len() <= 64
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        DsnError::Key {
            name: self.name.clone(),
            file: self.file.clone(),
            line,
            key: if plain {
                key.to_string()
            } else {
                "(a key that is not a plain name)".to_string()
            },
            why: why.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INI: &str = "[ODBC]\nTrace=no\n\n[etl]\nDriver=/opt/amazon/redshiftodbc/lib/64/libamazonredshiftodbc64.so\nDatabase=demo\nDbUser=etl\nClusterID=redshiftblogdemo\nRegion=eu-west-1\nIAM=1\n\n[local]\nServer = 127.0.0.1\nPort=5432\nDatabase=dev\nUID=etl\nPWD=s3cret\nSSLMode=disable\n\n[sso]\nHost=x.example.com\nplugin_name=BrowserSamlCredentialsProvider\n";

    #[test]
    fn reads_the_aws_sample_iam_dsn() {
        // The AWS sample's odbc.ini (aws-samples/amazon-redshift-serverless-rsql-etl-framework,
        // lib/amazonlinux-rsql/.odbc.ini).
        let d = Dsn::parse("etl", Path::new("odbc.ini"), INI).unwrap();
        let iam = d.iam.unwrap();
        assert_eq!(iam.cluster_id.as_deref(), Some("redshiftblogdemo"));
        assert_eq!(iam.db_user.as_deref(), Some("etl"));
        assert_eq!(iam.region.as_deref(), Some("eu-west-1"));
        assert_eq!(d.database.as_deref(), Some("demo"));
        assert_eq!(d.ignored[0].0, "Driver");
    }

    #[test]
    fn password_dsn_and_errors() {
        let d = Dsn::parse("local", Path::new("odbc.ini"), INI).unwrap();
        assert_eq!(d.host.as_deref(), Some("127.0.0.1"));
        assert_eq!(d.port, Some(5432));
        assert_eq!(d.sslmode, Some(SslMode::Disable));
        assert!(!format!("{d:?}").contains("s3cret"));
        let e = Dsn::parse("sso", Path::new("odbc.ini"), INI).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("[sso] (odbc.ini:22): plugin_name"), "{msg}");
        let e = Dsn::parse("nope", Path::new("odbc.ini"), INI).unwrap_err();
        assert_eq!(
            e.to_string(),
            "data source [nope] is not defined in odbc.ini"
        );
        let e = Dsn::parse("x", Path::new("f"), "[x]\nPWD=hunter2\nport=abc\n").unwrap_err();
        assert!(!e.to_string().contains("hunter2"));
    }

    /// A password misplaced on a malformed line is never repeated by an error.
    #[test]
    fn errors_never_repeat_a_value() {
        for line in [
            "Port=5439;PWD=hunter2",
            "SSLMode=require;PWD=hunter2",
            "IAM=hunter2",
            "PWD hunter2=x",
            "hunter2",
            "Server=h;PWD=hunter2",
            "UID=etl;PWD=hunter2",
        ] {
            let text = format!("[x]\nServer=h\n{line}\n");
            let e = Dsn::parse("x", Path::new("f"), &text).unwrap_err();
            assert!(!e.to_string().contains("hunter2"), "{line}: {e}");
            assert!(!format!("{e:?}").contains("hunter2"), "{line}: {e:?}");
        }
        let e = Dsn::parse("x", Path::new("f"), "[x]\nServer=h\nPort=99999\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "data source [x] (f:3): Port: invalid port (expected a number from 1 to 65535)"
        );
    }
}
