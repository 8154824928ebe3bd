//! Object storage for rsqlflow, at the bottom of the crate graph: the [`ObjectStore`] trait
//! (S3's semantics) that COPY, UNLOAD, the job runner and the Lambda handlers read and write
//! through, [`S3Uri`], S3's bucket and key rules ([`names`]), [`LocalS3`] (a directory
//! standing in for S3), and whole-file writes ([`files`]). The AWS implementation, over the
//! SDK's S3 client, is `etl::AwsS3`.

pub mod files;
mod local;
pub mod names;
mod store;
mod uri;

pub use files::{TEMP_PREFIX, temp_beside, write_whole};
pub use local::LocalS3;
pub use store::{ObjectError, ObjectInfo, ObjectStore};
pub use uri::S3Uri;
