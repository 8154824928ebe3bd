//! Amazon Redshift SQL on PostgreSQL. [`translate`] turns one Redshift statement into what
//! PostgreSQL needs (or says it needs nothing, or that it is a no-op, or unsupported);
//! [`Translating`] wraps any [`rsql::Backend`] so RSQL scripts written for Redshift run
//! unchanged on the embedded engine or a PostgreSQL server.

mod convert;
pub mod copy_spec;
mod lexical;
mod load;
pub mod lzop;
mod messages;
mod parquet_io;
mod prelude;
mod records;
mod session;
pub mod system;
mod tokens;
mod translate;
mod unload;

// Object storage lives in its own crate, at the bottom of the graph; `crate::objects::...`
// and these names keep working for the COPY and UNLOAD code here.
pub use ::objects;
pub use objects::{LocalS3, ObjectError, ObjectInfo, ObjectStore, S3Uri};
pub use session::Translating;
pub use translate::{Translation, date_part, translate};
