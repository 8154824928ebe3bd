//! ItemBatcher: groups a Distributed Map's items so that each child execution gets a batch,
//! `{"BatchInput": …, "Items": [...]}` (AWSDOC "ItemBatcher (Map)": without `BatchInput` the
//! child gets `{"Items": [...]}`; with it, `{"BatchInput": {...}, "Items": [...]}`).
//!
//! Limits (same page): `MaxItemsPerBatch[Path]` and/or `MaxInputBytesPerBatch[Path]`, at least
//! one, each a positive integer; the byte limit is at most 256 KiB, and with no byte limit a
//! batch is filled up to 256 KiB. A batch's size is counted here as the UTF-8 bytes of the
//! child's compact JSON input (the envelope included): the docs say "the maximum size of a batch
//! in bytes" without saying what is counted. An item too large on its own still forms a batch of
//! one (the child's input limit then applies).

use serde_json::Value;

use super::MapRunFailure;
use crate::validate::Problem;

/// The largest batch (AWSDOC "ItemBatcher (Map)": "up to 256 KiB").
pub const MAX_BATCH_BYTES: u64 = 256 * 1024;

/// Where a batch limit comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum LimitSpec {
    Unset,
    Static(u64),
    /// `…Path` (JSONPath): evaluate, then [`batch_limit_from_value`].
    Path(String),
    /// A JSONata expression string: evaluate, then [`batch_limit_from_value`].
    Expression(String),
}

/// The ItemBatcher field, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemBatcherSpec {
    pub max_items: LimitSpec,
    pub max_bytes: LimitSpec,
    /// `BatchInput`, unevaluated (a JSONPath payload template or JSONata value/expression):
    /// the caller evaluates it against the state input.
    pub batch_input: Option<Value>,
}

/// Evaluated limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    pub max_items: Option<u64>,
    pub max_bytes: u64,
}

/// A batch limit from an evaluated path or expression: a positive integer (AWSDOC: "This path
/// must resolve to a positive integer"); anything else is `States.Runtime` (wording not
/// AWS-recorded; modelled on the recorded MaxItemsPath message).
pub fn batch_limit_from_value(field: &str, v: &Value) -> Result<u64, MapRunFailure> {
    match v.as_u64() {
        Some(n) if n > 0 => Ok(n),
        _ => Err(MapRunFailure::runtime(format!(
            "The {field} field refers to value \"{}\" which is not a valid positive integer",
            match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            }
        ))),
    }
}

impl ItemBatcherSpec {
    /// Parses the `ItemBatcher` object at `loc`; `jsonata` says the state's query language.
    pub fn parse(v: &Value, loc: &str, jsonata: bool) -> Result<ItemBatcherSpec, Vec<Problem>> {
        let mut problems = Vec::new();
        let mut problem =
            |at: &str, message: String| problems.push(super::problem_at(loc, at, message));
        let Some(obj) = v.as_object() else {
            problem("", "ItemBatcher must be a JSON object".into());
            return Err(problems);
        };
        for k in obj.keys() {
            if ![
                "MaxItemsPerBatch",
                "MaxItemsPerBatchPath",
                "MaxInputBytesPerBatch",
                "MaxInputBytesPerBatchPath",
                "BatchInput",
            ]
            .contains(&k.as_str())
            {
                problem(k, format!("ItemBatcher does not have a field {k}"));
            }
        }
        let mut limit = |name: &str, max: Option<u64>| -> LimitSpec {
            let path = format!("{name}Path");
            match (obj.get(name), obj.get(&path)) {
                (Some(_), Some(_)) => {
                    problem(name, format!("{name} and {path} cannot both be specified"));
                    LimitSpec::Unset
                }
                (None, None) => LimitSpec::Unset,
                (Some(Value::String(s)), None) if jsonata => LimitSpec::Expression(s.clone()),
                (Some(n), None) => match n.as_u64() {
                    Some(n) if n > 0 && max.is_none_or(|m| n <= m) => LimitSpec::Static(n),
                    _ => {
                        problem(
                            name,
                            match max {
                                Some(m) => format!("{name} must be an integer from 1 to {m}"),
                                None => format!("{name} must be a positive integer"),
                            },
                        );
                        LimitSpec::Unset
                    }
                },
                (None, Some(p)) => {
                    if jsonata {
                        problem(
                            &path,
                            format!("{path} is not allowed in a JSONata state; use {name}"),
                        );
                    }
                    match p.as_str() {
                        Some(s) if s.starts_with('$') => LimitSpec::Path(s.to_string()),
                        _ => {
                            problem(&path, format!("{path} must be a reference path"));
                            LimitSpec::Unset
                        }
                    }
                }
            }
        };
        let max_items = limit("MaxItemsPerBatch", None);
        let max_bytes = limit("MaxInputBytesPerBatch", Some(MAX_BATCH_BYTES));
        if max_items == LimitSpec::Unset
            && max_bytes == LimitSpec::Unset
            && !obj.keys().any(|k| k.starts_with("Max"))
        {
            problem(
                "",
                "ItemBatcher needs MaxItemsPerBatch or MaxInputBytesPerBatch (or their Path \
                 forms)"
                    .into(),
            );
        }
        if problems.is_empty() {
            Ok(ItemBatcherSpec {
                max_items,
                max_bytes,
                batch_input: obj.get("BatchInput").cloned(),
            })
        } else {
            Err(problems)
        }
    }

    /// The limits when both are static (`None` when a path or expression must be evaluated).
    pub fn static_limits(&self) -> Option<BatchLimits> {
        let max_items = match self.max_items {
            LimitSpec::Unset => None,
            LimitSpec::Static(n) => Some(n),
            _ => return None,
        };
        let max_bytes = match self.max_bytes {
            LimitSpec::Unset => MAX_BATCH_BYTES,
            LimitSpec::Static(n) => n,
            _ => return None,
        };
        Some(BatchLimits {
            max_items,
            max_bytes,
        })
    }
}

impl BatchLimits {
    /// Limits from evaluated values (`None` = field absent); the byte limit is capped at
    /// [`MAX_BATCH_BYTES`].
    pub fn new(max_items: Option<u64>, max_bytes: Option<u64>) -> BatchLimits {
        BatchLimits {
            max_items,
            max_bytes: max_bytes.map_or(MAX_BATCH_BYTES, |b| b.min(MAX_BATCH_BYTES)),
        }
    }

    /// Groups `items`, in order, into the children's inputs.
    pub fn batch(&self, items: Vec<Value>, batch_input: Option<&Value>) -> Vec<Value> {
        let envelope = |items: Vec<Value>| {
            let mut m = serde_json::Map::new();
            if let Some(b) = batch_input {
                m.insert("BatchInput".into(), b.clone());
            }
            m.insert("Items".into(), Value::Array(items));
            Value::Object(m)
        };
        // `{"Items":[]}` or `{"BatchInput":…,"Items":[]}`: the bytes every batch has.
        let base = envelope(Vec::new()).to_string().len() as u64;
        let max_items = self.max_items.unwrap_or(u64::MAX);
        let mut out = Vec::new();
        let mut current: Vec<Value> = Vec::new();
        let mut size = base;
        for item in items {
            let len = item.to_string().len() as u64;
            let added = len + u64::from(!current.is_empty());
            if !current.is_empty()
                && (current.len() as u64 >= max_items || size + added > self.max_bytes)
            {
                out.push(envelope(std::mem::take(&mut current)));
                size = base;
            }
            size += len + u64::from(!current.is_empty());
            current.push(item);
        }
        if !current.is_empty() {
            out.push(envelope(current));
        }
        out
    }
}
