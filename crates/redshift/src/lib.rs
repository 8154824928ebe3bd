//! Amazon Redshift SQL on PostgreSQL. [`translate`] turns one Redshift statement into what
//! PostgreSQL needs (or says it needs nothing, or that it is a no-op, or unsupported);
//! [`Translating`] wraps any [`rsql::Backend`] so RSQL scripts written for Redshift run
//! unchanged on the embedded engine or a PostgreSQL server.

pub mod check;
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

pub use check::{Problem, ProblemKind, check_statement};
pub use session::Translating;
pub use translate::{Translation, date_part, translate};
