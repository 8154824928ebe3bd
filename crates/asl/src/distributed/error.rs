//! How a Distributed Map's item reading, batching and result writing fail: the error name AWS
//! raises (`States.ItemReaderFailed`, `States.ResultWriterFailed`, `States.Runtime`) and the
//! cause, worded as AWS words it where a recorded execution shows the wording.

use std::fmt;

/// The error names a Map Run fails with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// `States.ItemReaderFailed`: the ItemReader could not produce items (AWSDOC "Error
    /// handling in Step Functions", and the recorded executions cited where raised).
    ItemReaderFailed,
    /// `States.ResultWriterFailed`: the results could not be exported (AWSDOC "ResultWriter
    /// (Map)": a bucket in another account or Region fails the execution with it).
    ResultWriterFailed,
    /// `States.Runtime`: a field's runtime value is not of the type it must be (AWS-recorded in
    /// LocalStack's `test_map_item_reader_csv_max_items_paths[1.5]` snapshot).
    Runtime,
}

impl FailureKind {
    /// The error name as the history and `Catch` see it.
    pub fn name(self) -> &'static str {
        match self {
            FailureKind::ItemReaderFailed => "States.ItemReaderFailed",
            FailureKind::ResultWriterFailed => "States.ResultWriterFailed",
            FailureKind::Runtime => "States.Runtime",
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A Map Run failure: error name and cause.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {cause}")]
pub struct MapRunFailure {
    pub kind: FailureKind,
    pub cause: String,
}

impl MapRunFailure {
    /// `States.ItemReaderFailed` with `cause`.
    pub fn reader(cause: impl Into<String>) -> MapRunFailure {
        MapRunFailure {
            kind: FailureKind::ItemReaderFailed,
            cause: cause.into(),
        }
    }

    /// `States.ResultWriterFailed` with `cause`.
    pub fn writer(cause: impl Into<String>) -> MapRunFailure {
        MapRunFailure {
            kind: FailureKind::ResultWriterFailed,
            cause: cause.into(),
        }
    }

    /// `States.Runtime` with `cause`.
    pub fn runtime(cause: impl Into<String>) -> MapRunFailure {
        MapRunFailure {
            kind: FailureKind::Runtime,
            cause: cause.into(),
        }
    }

    /// The error name (`States.ItemReaderFailed`, ...).
    pub fn error(&self) -> &'static str {
        self.kind.name()
    }
}

impl From<MapRunFailure> for crate::task::TaskFailure {
    fn from(f: MapRunFailure) -> Self {
        crate::task::TaskFailure::new(f.kind.name(), f.cause)
    }
}
