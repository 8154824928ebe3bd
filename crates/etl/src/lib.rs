//! The rsqlflow ETL framework: the job contract between submit-job and the Batch container,
//! job specs, typed errors, events, notification text, the four Lambda handlers as library
//! functions over service traits (Batch, Step Functions, SNS, S3, logs), and the
//! implementations of those traits: AWS (SDK clients) and local (the pipeline `rsqlflow run`
//! drives on one machine, with the SAM template reader it uses).
//!
//! Features: `lambda` (the Lambda runtime's error type, for functions/), `local` (the local
//! pipeline and the template reader), `job` (`rsqlflow job`, the Batch container's runner).

pub mod aws;
pub mod contract;
pub mod error;
pub mod events;
pub mod handlers;
#[cfg(feature = "job")]
pub mod job;
pub mod lambda;
#[cfg(feature = "local")]
pub mod local;
pub mod notification;
pub mod routes;
pub mod schedule;
pub mod services;
pub mod settings;
pub mod spec;
#[cfg(feature = "local")]
pub mod template;

pub use aws::s3::AwsS3;
