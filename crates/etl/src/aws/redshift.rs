//! Temporary database credentials through IAM, for `rsqlflow job`: Redshift Serverless
//! GetWorkgroup + GetCredentials, or a provisioned cluster's DescribeClusters +
//! GetClusterCredentialsWithIAM (GetClusterCredentials when a database user is named).
//! No password is stored anywhere; the one returned lives for the job.

use async_trait::async_trait;

use crate::aws::service_error;
use crate::job::{Credentials, JobRunError, Login, Warehouse};

/// How long the credentials last (seconds): the longest a job may need to connect.
const DURATION_SECONDS: i32 = 3600;

/// IAM credentials over the SDK clients.
#[derive(Debug, Clone)]
pub struct IamCredentials {
    serverless: aws_sdk_redshiftserverless::Client,
    redshift: aws_sdk_redshift::Client,
}

impl IamCredentials {
    pub fn new(
        serverless: aws_sdk_redshiftserverless::Client,
        redshift: aws_sdk_redshift::Client,
    ) -> IamCredentials {
        IamCredentials {
            serverless,
            redshift,
        }
    }
}

fn failed(target: &str, e: impl std::fmt::Display) -> JobRunError {
    JobRunError::Credentials {
        target: target.to_string(),
        message: e.to_string(),
    }
}

fn port(p: Option<i32>) -> u16 {
    p.and_then(|p| u16::try_from(p).ok()).unwrap_or(5439)
}

#[async_trait]
impl Credentials for IamCredentials {
    async fn login(&self, warehouse: &Warehouse, database: &str) -> Result<Login, JobRunError> {
        match warehouse {
            Warehouse::Workgroup(name) => {
                let target = format!("workgroup {name}");
                let wg = self
                    .serverless
                    .get_workgroup()
                    .workgroup_name(name)
                    .send()
                    .await
                    .map_err(|e| failed(&target, service_error("redshift-serverless", e)))?;
                let endpoint = wg
                    .workgroup()
                    .and_then(|w| w.endpoint())
                    .ok_or_else(|| failed(&target, "GetWorkgroup returned no endpoint"))?;
                let host = endpoint
                    .address()
                    .ok_or_else(|| failed(&target, "the workgroup endpoint has no address"))?
                    .to_string();
                let creds = self
                    .serverless
                    .get_credentials()
                    .workgroup_name(name)
                    .db_name(database)
                    .duration_seconds(DURATION_SECONDS)
                    .send()
                    .await
                    .map_err(|e| failed(&target, service_error("redshift-serverless", e)))?;
                Ok(Login {
                    host,
                    port: port(endpoint.port()),
                    user: creds
                        .db_user()
                        .ok_or_else(|| failed(&target, "GetCredentials returned no user"))?
                        .to_string(),
                    password: creds.db_password().map(String::from),
                    database: database.to_string(),
                })
            }
            Warehouse::Cluster { id, db_user } => {
                let target = format!("cluster {id}");
                let clusters = self
                    .redshift
                    .describe_clusters()
                    .cluster_identifier(id)
                    .send()
                    .await
                    .map_err(|e| failed(&target, service_error("redshift", e)))?;
                let endpoint = clusters
                    .clusters()
                    .first()
                    .and_then(|c| c.endpoint())
                    .ok_or_else(|| failed(&target, "DescribeClusters returned no endpoint"))?;
                let host = endpoint
                    .address()
                    .ok_or_else(|| failed(&target, "the cluster endpoint has no address"))?
                    .to_string();
                let (user, password) = match db_user {
                    Some(u) => {
                        let c = self
                            .redshift
                            .get_cluster_credentials()
                            .cluster_identifier(id)
                            .db_user(u)
                            .db_name(database)
                            .auto_create(false)
                            .duration_seconds(DURATION_SECONDS)
                            .send()
                            .await
                            .map_err(|e| failed(&target, service_error("redshift", e)))?;
                        (
                            c.db_user().map(String::from),
                            c.db_password().map(String::from),
                        )
                    }
                    None => {
                        let c = self
                            .redshift
                            .get_cluster_credentials_with_iam()
                            .cluster_identifier(id)
                            .db_name(database)
                            .duration_seconds(DURATION_SECONDS)
                            .send()
                            .await
                            .map_err(|e| failed(&target, service_error("redshift", e)))?;
                        (
                            c.db_user().map(String::from),
                            c.db_password().map(String::from),
                        )
                    }
                };
                Ok(Login {
                    host,
                    port: port(endpoint.port()),
                    user: user.ok_or_else(|| failed(&target, "no database user returned"))?,
                    password,
                    database: database.to_string(),
                })
            }
            direct @ Warehouse::Direct(_) => crate::job::DirectOnly.login(direct, database).await,
        }
    }
}

impl IamCredentials {
    /// Clients from the standard AWS configuration (the job role's credentials in Batch).
    pub async fn from_env() -> IamCredentials {
        IamCredentials::with(None, None).await
    }

    /// Clients from the standard AWS configuration, with a region and a named profile when
    /// given (an ODBC data source's `Region` and `Profile`).
    pub async fn with(region: Option<String>, profile: Option<String>) -> IamCredentials {
        let mut loader = aws_config::from_env();
        if let Some(r) = region {
            loader = loader.region(aws_config::Region::new(r));
        }
        if let Some(p) = profile {
            loader = loader.profile_name(p);
        }
        let config = loader.load().await;
        IamCredentials::new(
            aws_sdk_redshiftserverless::Client::new(&config),
            aws_sdk_redshift::Client::new(&config),
        )
    }
}
