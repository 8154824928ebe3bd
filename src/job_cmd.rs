//! `rsqlflow job`: the Batch container's entrypoint, wiring flags and RSQLFLOW_* settings to
//! `etl::job` with S3 (or a local S3 directory) and IAM credentials.

use std::sync::Arc;

use anyhow::{Result, bail};
use etl::contract::{check_variable, environment};
use etl::job::{self, Engine, JobConfig, Warehouse};
use warehouse::{ConnectParams, SslMode};

use crate::cli::{EngineArg, JobArgs, SslModeArg};

/// An empty setting (the job definition sets unused ones to "") counts as absent.
fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn warehouse(args: &JobArgs) -> Result<Warehouse> {
    let url = given(&args.database_url);
    let workgroup = given(&args.workgroup);
    let cluster = given(&args.cluster);
    let chosen = [url.is_some(), workgroup.is_some(), cluster.is_some()]
        .iter()
        .filter(|b| **b)
        .count();
    if chosen > 1 {
        bail!(
            "give one of --database-url, --workgroup and --cluster (RSQLFLOW_DATABASE, RSQLFLOW_WORKGROUP, RSQLFLOW_CLUSTER)"
        );
    }
    Ok(match (url, workgroup, cluster) {
        (Some(u), _, _) => Warehouse::Direct(ConnectParams::parse(u)?),
        (_, Some(w), _) => Warehouse::Workgroup(w.to_string()),
        (_, _, Some(c)) => Warehouse::Cluster {
            id: c.to_string(),
            db_user: given(&args.db_user).map(String::from),
        },
        _ => return Err(job::JobRunError::NoWarehouse.into()),
    })
}

fn config(args: &JobArgs) -> Result<JobConfig> {
    let mut variables: Vec<(String, String)> =
        environment::parse_variables(args.variables.as_deref().unwrap_or(""))?
            .into_iter()
            .collect();
    for v in &args.vars {
        let Some((name, value)) = v.split_once('=') else {
            bail!("-v {v}: expected NAME=VALUE");
        };
        check_variable(name, value)?;
        variables.retain(|(n, _)| n != name);
        variables.push((name.to_string(), value.to_string()));
    }
    Ok(JobConfig {
        script: args.script.clone(),
        variables,
        engine: match args.engine {
            EngineArg::Rsql => Engine::Rsql,
            EngineArg::Native => Engine::Native,
        },
        warehouse: warehouse(args)?,
        database: args.db_name.clone(),
        scratch: args.scratch.clone(),
        rsql_program: args.rsql.clone(),
        sslmode: match args.sslmode {
            SslModeArg::Disable => SslMode::Disable,
            SslModeArg::Prefer => SslMode::Prefer,
            SslModeArg::Require => SslMode::Require,
            SslModeArg::VerifyCa => SslMode::VerifyCa,
            SslModeArg::VerifyFull => SslMode::VerifyFull,
        },
    })
}

pub async fn run(args: JobArgs) -> Result<i32> {
    job::init_logging();
    let cfg = match config(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("rsqlflow job: {e:#}");
            return Ok(rsql::EXIT_CLIENT);
        }
    };
    let store: Arc<dyn objects::ObjectStore> = match &args.s3_root {
        Some(dir) => Arc::new(objects::LocalS3::new(dir)),
        None => Arc::new(etl::AwsS3::from_env().await),
    };
    let outcome = match cfg.warehouse {
        Warehouse::Direct(_) => job::run(&cfg, store.as_ref(), &job::DirectOnly).await,
        _ => {
            let creds = etl::aws::redshift::IamCredentials::from_env().await;
            job::run(&cfg, store.as_ref(), &creds).await
        }
    };
    match outcome {
        Ok(code) => Ok(code),
        Err(e) => {
            eprintln!("rsqlflow job: {e}");
            Ok(e.exit_code())
        }
    }
}
