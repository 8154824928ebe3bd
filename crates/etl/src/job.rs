//! What a Batch job container does (`rsqlflow job`): fetch the RSQL script from S3, get
//! temporary database credentials, run the script with AWS's `rsql` (variables as `-v`, the
//! password only in the child's environment) or with rsqlflow's own interpreter, and exit with
//! the script's exit code. The script fetch and the variable rule are the job contract's
//! ([`crate::contract`]), shared with submit-job and the local Batch.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use async_trait::async_trait;
use objects::ObjectStore;
use warehouse::{ConnectParams, SslMode};

use crate::contract::{ScriptError, VariableError, check_variable, fetch_script};

/// Which RSQL runs the script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// Amazon RSQL (`rsql`, over ODBC), as installed in the job image.
    Rsql,
    /// rsqlflow's own interpreter over the PostgreSQL wire protocol.
    Native,
}

/// Where the database is and how credentials are obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warehouse {
    /// A Redshift Serverless workgroup: GetCredentials for the job role's IAM identity.
    Workgroup(String),
    /// A provisioned cluster: GetClusterCredentialsWithIAM, or GetClusterCredentials for
    /// `db_user` when one is given.
    Cluster { id: String, db_user: Option<String> },
    /// Explicit connection parameters (a `postgres://` URL; the password may come from
    /// RSPASSWORD/PGPASSWORD).
    Direct(ConnectParams),
}

/// A database login. The password is never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Login {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Option<String>,
    pub database: String,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Login({}@{}:{}/{}, password: {})",
            self.user,
            self.host,
            self.port,
            self.database,
            if self.password.is_some() {
                "***"
            } else {
                "none"
            }
        )
    }
}

/// Obtains logins for a warehouse.
#[async_trait]
pub trait Credentials: Send + Sync {
    async fn login(&self, warehouse: &Warehouse, database: &str) -> Result<Login, JobRunError>;
}

/// A job to run.
#[derive(Debug, Clone)]
pub struct JobConfig {
    /// `s3://bucket/key` of the script.
    pub script: String,
    pub variables: Vec<(String, String)>,
    pub engine: Engine,
    pub warehouse: Warehouse,
    /// Database name (for IAM credentials).
    pub database: String,
    /// Writable directory for the downloaded script (the image's root is read-only).
    pub scratch: PathBuf,
    /// The `rsql` program for [`Engine::Rsql`].
    pub rsql_program: PathBuf,
    /// TLS for [`Engine::Native`] with IAM credentials.
    pub sslmode: SslMode,
}

/// Why a job could not run its script (the script's own failures are its exit code).
#[derive(Debug, thiserror::Error)]
pub enum JobRunError {
    #[error(transparent)]
    Script(#[from] ScriptError),
    #[error(transparent)]
    Variable(#[from] VariableError),
    #[error("no warehouse: set --workgroup, --cluster or --database-url")]
    NoWarehouse,
    #[error("database credentials for {target}: {message}")]
    Credentials { target: String, message: String },
    #[error("scratch directory {path}: {source}")]
    Scratch {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot start {program}: {source}")]
    Spawn {
        program: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Connect(String),
}

impl JobRunError {
    /// The exit code the container ends with: 2 when the database could not be reached (as
    /// rsql), 1 for everything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            JobRunError::Credentials { .. } | JobRunError::Connect(_) => rsql::EXIT_CONNECTION,
            _ => rsql::EXIT_CLIENT,
        }
    }
}

/// The job runner's own log lines: plain text on stderr, beside the script's output (Batch
/// sends both to CloudWatch Logs). `RUST_LOG` filters; default `info`.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .with_ansi(false)
        .with_target(false)
        .without_time()
        .try_init();
}

/// Runs a job; returns the exit code the container should end with.
pub async fn run(
    cfg: &JobConfig,
    store: &dyn ObjectStore,
    credentials: &dyn Credentials,
) -> Result<i32, JobRunError> {
    for (name, value) in &cfg.variables {
        check_variable(name, value)?;
    }
    let text = fetch_script(store, &cfg.script).await?;
    let login = credentials.login(&cfg.warehouse, &cfg.database).await?;
    tracing::info!(
        script = %cfg.script,
        engine = ?cfg.engine,
        login = ?login,
        variables = cfg.variables.len(),
        "running the job's script"
    );
    match cfg.engine {
        Engine::Rsql => run_rsql(cfg, &text, &login).await,
        Engine::Native => run_native(cfg, text, login).await,
    }
}

/// The arguments for AWS's rsql: connection, `-v` per variable, the script file. No password.
pub fn rsql_args(login: &Login, variables: &[(String, String)], script: &Path) -> Vec<String> {
    let mut args = vec![
        "-h".to_string(),
        login.host.clone(),
        "-p".to_string(),
        login.port.to_string(),
        "-U".to_string(),
        login.user.clone(),
        "-d".to_string(),
        login.database.clone(),
    ];
    for (name, value) in variables {
        args.push("-v".into());
        args.push(format!("{name}={value}"));
    }
    args.push("-f".into());
    args.push(script.display().to_string());
    args
}

async fn run_rsql(cfg: &JobConfig, text: &[u8], login: &Login) -> Result<i32, JobRunError> {
    let scratch_err = |source| JobRunError::Scratch {
        path: cfg.scratch.clone(),
        source,
    };
    tokio::fs::create_dir_all(&cfg.scratch)
        .await
        .map_err(scratch_err)?;
    let name = format!("job-{}.rsql", std::process::id());
    let script = cfg.scratch.join(&name);
    let partial = cfg.scratch.join(format!(".{name}.part"));
    tokio::fs::write(&partial, text)
        .await
        .map_err(scratch_err)?;
    tokio::fs::rename(&partial, &script)
        .await
        .map_err(scratch_err)?;
    let mut cmd = tokio::process::Command::new(&cfg.rsql_program);
    cmd.args(rsql_args(login, &cfg.variables, &script))
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .env_remove("RSPASSWORD")
        .env_remove("PGPASSWORD");
    if let Some(p) = &login.password {
        cmd.env("RSPASSWORD", p);
    }
    let status = cmd.status().await;
    let _ = tokio::fs::remove_file(&script).await;
    let status = status.map_err(|source| JobRunError::Spawn {
        program: cfg.rsql_program.clone(),
        source,
    })?;
    Ok(exit_code(status))
}

fn exit_code(status: std::process::ExitStatus) -> i32 {
    if let Some(c) = status.code() {
        return c;
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return 128 + sig;
        }
    }
    rsql::EXIT_CLIENT
}

async fn run_native(cfg: &JobConfig, text: Vec<u8>, login: Login) -> Result<i32, JobRunError> {
    let params = match &cfg.warehouse {
        Warehouse::Direct(p) => p.clone(),
        _ => ConnectParams {
            host: login.host,
            port: login.port,
            user: login.user,
            password: login.password,
            database: login.database,
            sslmode: cfg.sslmode,
        },
    };
    let mut session = warehouse::Session::connect(&params)
        .await
        .map_err(|e| JobRunError::Connect(format!("{}: {e}", params.display())))?;
    let source = rsql::Source::from_bytes(&cfg.script, text, cfg.scratch.clone()).map_err(|e| {
        ScriptError::Unreadable {
            uri: cfg.script.clone(),
            message: e.to_string(),
        }
    })?;
    let options = rsql::Options {
        print: rsql::PrintOptions::default(),
        variables: cfg.variables.clone(),
    };
    let code = {
        let mut interp = rsql::Interpreter::new(
            &mut session,
            options,
            Box::new(tokio::io::stdout()),
            Box::new(tokio::io::stderr()),
        );
        interp.run(source).await
    };
    session.close().await;
    Ok(code)
}

/// Credentials for [`Warehouse::Direct`] only (local runs and tests): the URL's own login.
pub struct DirectOnly;

#[async_trait]
impl Credentials for DirectOnly {
    async fn login(&self, warehouse: &Warehouse, _: &str) -> Result<Login, JobRunError> {
        match warehouse {
            Warehouse::Direct(p) => Ok(Login {
                host: p.host.clone(),
                port: p.port,
                user: p.user.clone(),
                password: p.password.clone(),
                database: p.database.clone(),
            }),
            other => Err(JobRunError::Credentials {
                target: format!("{other:?}"),
                message: "IAM credentials need AWS (use the AWS credentials provider)".into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsql_gets_each_variable_as_one_argument_and_never_the_password() {
        let login = Login {
            host: "wg.123.eu-west-1.redshift-serverless.amazonaws.com".into(),
            port: 5439,
            user: "IAMR:rsqlflow-job".into(),
            password: Some("s3cret".into()),
            database: "dev".into(),
        };
        let args = rsql_args(
            &login,
            &[("q".into(), "it's; \\! rm -rf /".into())],
            Path::new("/scratch/job-1.rsql"),
        );
        assert_eq!(
            args,
            [
                "-h",
                "wg.123.eu-west-1.redshift-serverless.amazonaws.com",
                "-p",
                "5439",
                "-U",
                "IAMR:rsqlflow-job",
                "-d",
                "dev",
                "-v",
                "q=it's; \\! rm -rf /",
                "-f",
                "/scratch/job-1.rsql"
            ]
        );
        assert!(!format!("{login:?}").contains("s3cret"));
    }
}
