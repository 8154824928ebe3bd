//! The Distributed Map fields of a Map state, parsed together: what the validator calls once
//! per Map state and the executor keeps.

use serde_json::{Map, Value};

use super::{ItemBatcherSpec, ItemReaderSpec, ResultWriterSpec};
use crate::validate::Problem;

/// A Map state's ItemReader, ItemBatcher and ResultWriter (each optional).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DistributedSpec {
    pub reader: Option<ItemReaderSpec>,
    pub batcher: Option<ItemBatcherSpec>,
    pub writer: Option<ResultWriterSpec>,
}

impl DistributedSpec {
    /// Parses the fields of the Map state object `state` at `loc` (e.g. `/States/Map`);
    /// `jsonata` says the state's query language. All problems of the three fields together.
    pub fn parse(
        state: &Map<String, Value>,
        loc: &str,
        jsonata: bool,
    ) -> Result<DistributedSpec, Vec<Problem>> {
        let mut problems = Vec::new();
        let mut spec = DistributedSpec::default();
        if let Some(v) = state.get("ItemReader") {
            match ItemReaderSpec::parse(v, &format!("{loc}/ItemReader"), jsonata) {
                Ok(r) => spec.reader = Some(r),
                Err(p) => problems.extend(p),
            }
        }
        if let Some(v) = state.get("ItemBatcher") {
            match ItemBatcherSpec::parse(v, &format!("{loc}/ItemBatcher"), jsonata) {
                Ok(b) => spec.batcher = Some(b),
                Err(p) => problems.extend(p),
            }
        }
        if let Some(v) = state.get("ResultWriter") {
            match ResultWriterSpec::parse(v, &format!("{loc}/ResultWriter"), jsonata) {
                Ok(w) => spec.writer = Some(w),
                Err(p) => problems.extend(p),
            }
        }
        if problems.is_empty() {
            Ok(spec)
        } else {
            Err(problems)
        }
    }
}
