//! The rsqlflow ETL framework: job specs, typed errors, events, notification text, the four
//! Lambda handlers as library functions over service traits (Batch, Step Functions, SNS, S3,
//! logs), and the implementations of those traits: AWS (SDK clients) and local (the pipeline
//! `rsqlflow run` drives on one machine).

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
pub mod s3;
pub mod services;
pub mod settings;
pub mod spec;
pub mod template;

pub use s3::AwsS3;
