//! The rsqlflow ETL framework: AWS implementations of the interfaces the local engine uses,
//! so the same code runs against real services. So far: Amazon S3 as an
//! [`redshift::ObjectStore`] for COPY and UNLOAD.

pub mod s3;

pub use s3::AwsS3;
