//! Where `rsqlflow rsql` connects, from the command line and environment that rsql and psql
//! read: `-D DSN` (an odbc.ini data source; IAM data sources get temporary credentials through
//! AWS IAM), `-h/-p/-U/-d`, `--database URL`, `PGHOST`/`PGPORT`/`PGUSER`/`PGDATABASE`; with
//! none of them, the embedded warehouse.
//!
//! Sources: the rsql options `-h -p -U -d -D` and `RSPASSWORD` (with its precedence: RSPASSWORD,
//! then the DSN's PWD) from docs.aws.amazon.com/redshift/latest/mgmt/
//! rsql-query-tool-starting-tool-connection.html and rsql-query-tool-environment-variables.html;
//! the port default 5439 and the DSN key names from odbc20-configuration-options.html; the
//! PG* variables from psql, which RSQL derives from.

use anyhow::{Context, Result, bail};
use etl::job::{Credentials, Warehouse};
use warehouse::dsn::{Dsn, odbc_ini_path};
use warehouse::{ConnectParams, SslMode, Storage, Target};

use crate::cli::RsqlArgs;

/// Amazon Redshift's port, rsql's and the ODBC driver's default.
const REDSHIFT_PORT: u16 = 5439;

/// Where to connect, and what to tell the user about it.
pub struct Resolved {
    /// The database.
    pub target: Target,
    /// Notes for stderr (options that have no effect, and why).
    pub notes: Vec<String>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Resolves the connection. Errors are connection failures (exit 2).
pub async fn resolve(args: &RsqlArgs) -> Result<Resolved> {
    let mut notes = Vec::new();
    if let Some(name) = &args.dsn {
        return Ok(Resolved {
            target: Target::Server(from_dsn(args, name, &mut notes).await?),
            notes,
        });
    }
    if let Some(host) = &args.host {
        return Ok(Resolved {
            target: Target::Server(from_options(args, host.clone())?),
            notes,
        });
    }
    if let Some(url) = &args.database {
        return Ok(Resolved {
            target: Target::Url(url.clone()),
            notes,
        });
    }
    if let Some(host) = env("PGHOST") {
        return Ok(Resolved {
            target: Target::Server(from_options(args, host)?),
            notes,
        });
    }
    let given: Vec<&str> = [
        ("-p", args.port.is_some()),
        ("-U", args.user.is_some()),
        ("-d", args.dbname.is_some()),
    ]
    .iter()
    .filter(|(_, on)| *on)
    .map(|(f, _)| *f)
    .collect();
    if !given.is_empty() {
        notes.push(format!(
            "no host given (-h, PGHOST, -D or --database): running on the embedded warehouse; {} ignored",
            given.join(", ")
        ));
    }
    let target = if args.ephemeral {
        Target::Embedded(Storage::Ephemeral)
    } else {
        Target::default_embedded(&std::env::current_dir()?)
    };
    Ok(Resolved { target, notes })
}

/// `-h HOST` (or PGHOST) with -p/-U/-d or their environment variables.
fn from_options(args: &RsqlArgs, host: String) -> Result<ConnectParams> {
    let port = match (args.port, env("PGPORT")) {
        (Some(p), _) => p,
        (None, Some(p)) => p
            .parse()
            .with_context(|| format!("PGPORT: invalid port \"{p}\""))?,
        (None, None) => REDSHIFT_PORT,
    };
    let sslmode = match env("PGSSLMODE") {
        Some(m) => {
            SslMode::parse(&m).with_context(|| format!("PGSSLMODE: unknown mode \"{m}\""))?
        }
        None => SslMode::Prefer,
    };
    Ok(ConnectParams::from_parts(
        host,
        port,
        args.user
            .clone()
            .or_else(|| env("PGUSER"))
            .unwrap_or_default(),
        args.dbname
            .clone()
            .or_else(|| env("PGDATABASE"))
            .unwrap_or_default(),
        sslmode,
    ))
}

/// `-D NAME`: the data source, with -h/-p/-U/-d overriding its values.
async fn from_dsn(args: &RsqlArgs, name: &str, notes: &mut Vec<String>) -> Result<ConnectParams> {
    let Some(file) = odbc_ini_path() else {
        bail!("-D {name}: no odbc.ini (set ODBCINI, or HOME for ~/.odbc.ini)");
    };
    let dsn = Dsn::load(name, &file)?;
    for (key, line) in &dsn.ignored {
        notes.push(format!(
            "data source [{name}] ({}:{line}): {key} has no effect locally",
            file.display()
        ));
    }
    let database = args
        .dbname
        .clone()
        .or_else(|| dsn.database.clone())
        .unwrap_or_else(|| "dev".into());
    // The ODBC driver's default SSL mode is verify-ca.
    let sslmode = dsn.sslmode.unwrap_or(SslMode::VerifyCa);
    if let Some(iam) = &dsn.iam {
        let warehouse = match (&iam.cluster_id, &dsn.host) {
            (Some(id), _) => Warehouse::Cluster {
                id: id.clone(),
                db_user: args.user.clone().or_else(|| iam.db_user.clone()),
            },
            // A Serverless endpoint: <workgroup>.<account>.<region>.redshift-serverless.amazonaws.com
            (None, Some(host)) if host.contains(".redshift-serverless.") => {
                Warehouse::Workgroup(host.split('.').next().unwrap_or_default().to_string())
            }
            (None, _) => bail!(
                "data source [{name}] ({}): IAM=1 needs ClusterID, or Server set to a Redshift Serverless workgroup endpoint",
                file.display()
            ),
        };
        let creds =
            etl::aws::redshift::IamCredentials::with(iam.region.clone(), iam.profile.clone()).await;
        let login = creds
            .login(&warehouse, &database)
            .await
            .with_context(|| format!("data source [{name}]: IAM credentials"))?;
        let mut p = ConnectParams::from_parts(
            args.host.clone().unwrap_or(login.host),
            args.port.unwrap_or(login.port),
            login.user,
            login.database,
            sslmode,
        );
        p.password = login.password;
        return Ok(p);
    }
    let Some(host) = args.host.clone().or_else(|| dsn.host.clone()) else {
        bail!("data source [{name}] ({}) has no Server", file.display());
    };
    let mut p = ConnectParams::from_parts(
        host,
        args.port.or(dsn.port).unwrap_or(REDSHIFT_PORT),
        args.user
            .clone()
            .or_else(|| dsn.user.clone())
            .unwrap_or_default(),
        database,
        sslmode,
    );
    // RSPASSWORD first, then the DSN's PWD, then PGPASSWORD.
    p.password = env("RSPASSWORD")
        .or_else(|| dsn.password.clone())
        .or_else(|| env("PGPASSWORD"));
    Ok(p)
}

/// True when a host is an Amazon Redshift endpoint, whose SQL needs no translation.
pub fn is_redshift_host(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    [
        ".redshift.amazonaws.com",
        ".redshift-serverless.amazonaws.com",
    ]
    .iter()
    .any(|suffix| host.ends_with(suffix) || host.ends_with(&format!("{suffix}.cn")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redshift_hosts() {
        assert!(is_redshift_host(
            "wg.123456789012.us-east-1.redshift-serverless.amazonaws.com"
        ));
        assert!(is_redshift_host("c1.abc.eu-west-1.redshift.amazonaws.com"));
        assert!(!is_redshift_host("localhost"));
    }
}
