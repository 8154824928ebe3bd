//! Distributed Map's data plane, pure of the executor: reading items from S3 (`ItemReader`),
//! grouping them for child executions (`ItemBatcher`), and exporting child results to S3
//! (`ResultWriter`), all over [`objects::ObjectStore`]. Each part parses its field from the
//! definition's JSON (problems worded for the validator: location and message) and runs with
//! the values the executor has evaluated (Parameters/Arguments, paths, JSONata).
//!
//! Sources: AWSDOC "ItemReader (Map)", "How Step Functions parses input CSV files",
//! "ItemBatcher (Map)", "ResultWriter (Map)"; AWS-recorded executions in LocalStack's
//! `tests/aws/services/stepfunctions/v2/scenarios/test_base_scenarios.snapshot.json`.

mod batcher;
mod config;
pub mod csv;
mod error;
mod names;
mod reader;
mod spec;
mod writer;

pub use batcher::{
    BatchLimits, ItemBatcherSpec, LimitSpec, MAX_BATCH_BYTES, batch_limit_from_value,
};
pub use config::{
    CsvDelimiter, CsvHeaders, InputType, ItemReaderSpec, MAX_ITEMS_LIMIT, ManifestType,
    MaxItemsSpec, ReaderConfig, ReaderResource, ReaderTransformation, S3Target, effective_limit,
    max_items_from_value,
};
pub use error::{FailureKind, MapRunFailure};
pub use names::MapRunNames;
pub use reader::{MAX_CSV_HEADER_BYTES, ReadOptions};
pub use spec::DistributedSpec;
pub use writer::{
    ChildOutcome, ChildStatus, MAX_RESULT_FILE_BYTES, OutputType, ResultWriterSpec, S3Destination,
    WriterConfig, WriterTransformation,
};

/// The S3 a Distributed Map reads its items from and writes its results to (local S3 or
/// Amazon S3), given to the executor in [`crate::Options::object_store`].
#[derive(Clone)]
pub struct Store(pub std::sync::Arc<dyn objects::ObjectStore>);

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store(..)")
    }
}

/// A problem at `at` below the field at `loc` (`loc` itself when `at` is empty), as the three
/// fields' parsers report them.
fn problem_at(loc: &str, at: &str, message: String) -> crate::validate::Problem {
    crate::validate::Problem {
        location: if at.is_empty() {
            loc.to_string()
        } else {
            format!("{loc}/{at}")
        },
        message,
    }
}
