//! ResultWriter: the child executions' results, formatted (`WriterConfig`) and exported to S3
//! (`Resource` `arn:aws:states:::s3:putObject` with Bucket and Prefix), as AWSDOC "ResultWriter
//! (Map)" describes:
//!
//! - `<Prefix>/<map run id>/manifest.json` plus `SUCCEEDED_n.json`, `FAILED_n.json` (failed,
//!   timed out and aborted children) and `PENDING_n.json` (children never started), `n` from 0,
//!   a new file when one would pass 5 GB; a status with no child has no file;
//! - the Map state's result is `{"MapRunArn": …, "ResultWriterDetails": {"Bucket", "Key"}}`,
//!   `Key` being the manifest's;
//! - `Transformation` `NONE` keeps each child's record (ExecutionArn, Input, InputDetails, Name,
//!   Output, OutputDetails, RedriveCount, RedriveStatus, RedriveStatusReason, StartDate,
//!   StateMachineArn, Status, StopDate; Input and Output as JSON text), `COMPACT` keeps the
//!   outputs, `FLATTEN` also splices array outputs; a failed child's record is always kept whole;
//! - `OutputType` `JSON` writes an array, `JSONL` one value per line;
//! - `WriterConfig` alone (no Resource) formats the state's output without exporting.
//!
//! The manifest's fields `DestinationBucket`, `MapRunArn`, `ResultFiles.{FAILED,PENDING,
//! SUCCEEDED}` are asserted against AWS by LocalStack's AWS-validated
//! `test_map_state_result_writer`; the entries' `{"Key", "Size"}` shape is as user projects
//! parse AWS's manifests (not in AWS's docs).

use chrono::{DateTime, Utc};
use objects::{ObjectError, ObjectStore};
use serde_json::{Map, Value, json};

use super::MapRunFailure;
use crate::validate::Problem;

/// A result file's size limit (AWSDOC "ResultWriter (Map)": "individual result files of up to
/// 5 GB").
pub const MAX_RESULT_FILE_BYTES: u64 = 5 * 1024 * 1024 * 1024;

/// `WriterConfig.OutputType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputType {
    Json,
    Jsonl,
}

/// `WriterConfig.Transformation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WriterTransformation {
    /// Each child's whole record (the default when exporting without WriterConfig).
    #[default]
    None,
    /// The children's outputs (what a Map without ResultWriter returns).
    Compact,
    /// The outputs, array outputs spliced into one array.
    Flatten,
}

/// `WriterConfig`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterConfig {
    pub output_type: OutputType,
    pub transformation: WriterTransformation,
}

/// The ResultWriter field, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultWriterSpec {
    /// `Parameters`/`Arguments` with Bucket and Prefix, unevaluated; `None` when the results
    /// are not exported (WriterConfig alone).
    pub parameters: Option<Value>,
    pub config: Option<WriterConfig>,
}

/// Where to export: the evaluated Parameters/Arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Destination {
    pub bucket: String,
    pub prefix: String,
}

impl S3Destination {
    /// From the evaluated `Parameters`/`Arguments` (`Bucket` required, `Prefix` optional);
    /// otherwise `States.ResultWriterFailed` (wording not AWS-recorded).
    pub fn from_value(v: &Value) -> Result<S3Destination, MapRunFailure> {
        let bucket = v
            .get("Bucket")
            .and_then(Value::as_str)
            .ok_or_else(|| MapRunFailure::writer("the ResultWriter's parameters have no Bucket"))?;
        let prefix = match v.get("Prefix") {
            None | Some(Value::Null) => "",
            Some(Value::String(s)) => s,
            Some(_) => {
                return Err(MapRunFailure::writer(
                    "the ResultWriter's parameter Prefix must be a string",
                ));
            }
        };
        Ok(S3Destination {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        })
    }

    fn key(&self, run_id: &str, name: &str) -> String {
        let p = self.prefix.trim_end_matches('/');
        if p.is_empty() {
            format!("{run_id}/{name}")
        } else {
            format!("{p}/{run_id}/{name}")
        }
    }
}

/// How a child execution (one item or batch) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildStatus {
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
    /// Never started (the Map Run failed or was aborted first).
    Pending,
}

impl ChildStatus {
    /// The execution status as the API spells it.
    pub fn name(self) -> &'static str {
        match self {
            ChildStatus::Succeeded => "SUCCEEDED",
            ChildStatus::Failed => "FAILED",
            ChildStatus::TimedOut => "TIMED_OUT",
            ChildStatus::Aborted => "ABORTED",
            ChildStatus::Pending => "PENDING",
        }
    }

    /// The result file family: SUCCEEDED, FAILED (failed, timed out, aborted) or PENDING.
    fn family(self) -> usize {
        match self {
            ChildStatus::Succeeded => 2,
            ChildStatus::Failed | ChildStatus::TimedOut | ChildStatus::Aborted => 0,
            ChildStatus::Pending => 1,
        }
    }
}

/// One child execution's outcome, as the executor knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChildOutcome {
    pub execution_arn: Option<String>,
    pub name: Option<String>,
    pub state_machine_arn: Option<String>,
    pub status: ChildStatus,
    /// The child's input (the item, or the batch envelope).
    pub input: Value,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub start_date: Option<DateTime<Utc>>,
    pub stop_date: Option<DateTime<Utc>>,
    pub redrive_count: u32,
}

impl ChildOutcome {
    /// The child's record as `Transformation: NONE` writes it (AWSDOC "ResultWriter (Map)"
    /// example; keys in the docs' alphabetical order; `Error`/`Cause` for failed children).
    pub fn record(&self) -> Value {
        let mut m = Map::new();
        let mut put = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                m.insert(k.to_string(), v);
            }
        };
        put("Cause", self.cause.clone().map(Value::String));
        put("Error", self.error.clone().map(Value::String));
        put(
            "ExecutionArn",
            self.execution_arn.clone().map(Value::String),
        );
        put("Input", Some(Value::String(self.input.to_string())));
        put("InputDetails", Some(json!({"Included": true})));
        put("Name", self.name.clone().map(Value::String));
        put(
            "Output",
            self.output.as_ref().map(|o| Value::String(o.to_string())),
        );
        put(
            "OutputDetails",
            self.output.as_ref().map(|_| json!({"Included": true})),
        );
        let started = self.status != ChildStatus::Pending;
        put("RedriveCount", started.then(|| json!(self.redrive_count)));
        let (redrive, reason) = match self.status {
            ChildStatus::Succeeded => (
                Some("NOT_REDRIVABLE"),
                Some("Execution is SUCCEEDED and cannot be redriven"),
            ),
            ChildStatus::Pending => (None, None),
            _ => (Some("REDRIVABLE_BY_MAP_RUN"), None),
        };
        put("RedriveStatus", redrive.map(|s| json!(s)));
        put("RedriveStatusReason", reason.map(|s| json!(s)));
        let date = |d: &Option<DateTime<Utc>>| d.map(|d| json!(crate::timestamp::format(d)));
        put("StartDate", date(&self.start_date));
        put(
            "StateMachineArn",
            self.state_machine_arn.clone().map(Value::String),
        );
        put("Status", Some(json!(self.status.name())));
        put("StopDate", date(&self.stop_date));
        Value::Object(m)
    }
}

/// The values `transformation` makes of `outcomes`, in order.
fn transform(transformation: WriterTransformation, outcomes: &[&ChildOutcome]) -> Vec<Value> {
    let mut out = Vec::new();
    for o in outcomes {
        match (transformation, o.status, &o.output) {
            (WriterTransformation::Compact, ChildStatus::Succeeded, Some(v)) => out.push(v.clone()),
            (WriterTransformation::Flatten, ChildStatus::Succeeded, Some(Value::Array(a))) => {
                out.extend(a.iter().cloned())
            }
            (WriterTransformation::Flatten, ChildStatus::Succeeded, Some(v)) => out.push(v.clone()),
            _ => out.push(o.record()),
        }
    }
    out
}

impl ResultWriterSpec {
    /// Parses the `ResultWriter` object at `loc`; `jsonata` says the state's query language.
    /// AWSDOC "ResultWriter (Map)": the field cannot be empty; it has WriterConfig, or Resource
    /// and Parameters, or all three.
    pub fn parse(v: &Value, loc: &str, jsonata: bool) -> Result<ResultWriterSpec, Vec<Problem>> {
        let mut problems = Vec::new();
        let mut problem =
            |at: &str, message: String| problems.push(super::problem_at(loc, at, message));
        let Some(obj) = v.as_object() else {
            problem("", "ResultWriter must be a JSON object".into());
            return Err(problems);
        };
        let (params_field, other) = if jsonata {
            ("Arguments", "Parameters")
        } else {
            ("Parameters", "Arguments")
        };
        for k in obj.keys() {
            if k == other {
                problem(
                    k,
                    format!(
                        "{other} is not allowed in a {} state; use {params_field}",
                        if jsonata { "JSONata" } else { "JSONPath" }
                    ),
                );
            } else if !["Resource", "WriterConfig", params_field].contains(&k.as_str()) {
                problem(k, format!("ResultWriter does not have a field {k}"));
            }
        }
        match obj.get("Resource") {
            None => {}
            Some(Value::String(s))
                if s.strip_prefix("arn:")
                    .and_then(|r| r.split_once(":states:::s3:"))
                    .is_some_and(|(_, a)| a == "putObject") => {}
            Some(_) => problem(
                "Resource",
                "Resource must be arn:aws:states:::s3:putObject".into(),
            ),
        }
        let parameters = obj.get(params_field).cloned();
        if obj.contains_key("Resource") != parameters.is_some() {
            problem(
                "",
                format!("ResultWriter needs Resource and {params_field} together"),
            );
        }
        let config = match obj.get("WriterConfig") {
            None => None,
            Some(Value::Object(c)) => {
                for k in c.keys() {
                    if k != "OutputType" && k != "Transformation" {
                        problem(
                            &format!("WriterConfig/{k}"),
                            format!("WriterConfig does not have a field {k}"),
                        );
                    }
                }
                let output_type = match c.get("OutputType").and_then(Value::as_str) {
                    Some("JSON") => Some(OutputType::Json),
                    Some("JSONL") => Some(OutputType::Jsonl),
                    _ => {
                        problem(
                            "WriterConfig/OutputType",
                            "WriterConfig needs OutputType JSON or JSONL".into(),
                        );
                        None
                    }
                };
                let transformation = match c.get("Transformation").map(|t| t.as_str()) {
                    None | Some(Some("NONE")) => WriterTransformation::None,
                    Some(Some("COMPACT")) => WriterTransformation::Compact,
                    Some(Some("FLATTEN")) => WriterTransformation::Flatten,
                    Some(_) => {
                        problem(
                            "WriterConfig/Transformation",
                            "Transformation must be NONE, COMPACT or FLATTEN".into(),
                        );
                        WriterTransformation::None
                    }
                };
                output_type.map(|output_type| WriterConfig {
                    output_type,
                    transformation,
                })
            }
            Some(_) => {
                problem("WriterConfig", "WriterConfig must be a JSON object".into());
                None
            }
        };
        if !obj.contains_key("WriterConfig") && parameters.is_none() {
            problem(
                "",
                format!("ResultWriter needs WriterConfig, or Resource and {params_field}"),
            );
        }
        if problems.is_empty() {
            Ok(ResultWriterSpec { parameters, config })
        } else {
            Err(problems)
        }
    }

    /// The Map state's output when the results are formatted but not exported (WriterConfig
    /// alone): the transformed values, as an array for `JSON`, as JSON Lines text for `JSONL`
    /// (how AWS presents JSONL here is not documented).
    pub fn preview(config: &WriterConfig, outcomes: &[ChildOutcome]) -> Value {
        let all: Vec<&ChildOutcome> = outcomes.iter().collect();
        let values = transform(config.transformation, &all);
        match config.output_type {
            OutputType::Json => Value::Array(values),
            OutputType::Jsonl => {
                Value::String(values.iter().map(|v| format!("{v}\n")).collect::<String>())
            }
        }
    }

    /// Exports `outcomes` under `dest` for the Map Run `map_run_arn` (its last `:` part is the
    /// run's id) and returns the Map state's result. `max_file_bytes` is
    /// [`MAX_RESULT_FILE_BYTES`] (smaller in tests).
    pub async fn export(
        store: &dyn ObjectStore,
        dest: &S3Destination,
        config: Option<&WriterConfig>,
        map_run_arn: &str,
        outcomes: &[ChildOutcome],
        max_file_bytes: u64,
    ) -> Result<Value, MapRunFailure> {
        let run_id = map_run_arn.rsplit(':').next().unwrap_or(map_run_arn);
        let transformation = config.map_or(WriterTransformation::None, |c| c.transformation);
        let output_type = config.map_or(OutputType::Json, |c| c.output_type);
        const FAMILIES: [&str; 3] = ["FAILED", "PENDING", "SUCCEEDED"];
        let mut result_files = Map::new();
        for (family, name) in FAMILIES.iter().enumerate() {
            let members: Vec<&ChildOutcome> = outcomes
                .iter()
                .filter(|o| o.status.family() == family)
                .collect();
            let values = transform(transformation, &members);
            let mut entries = Vec::new();
            for (n, body) in split_files(&values, output_type, max_file_bytes)
                .into_iter()
                .enumerate()
            {
                let key = dest.key(run_id, &format!("{name}_{n}.json"));
                let size = body.len();
                put(store, &dest.bucket, &key, body).await?;
                entries.push(json!({"Key": key, "Size": size}));
            }
            result_files.insert(name.to_string(), Value::Array(entries));
        }
        let manifest_key = dest.key(run_id, "manifest.json");
        let manifest = json!({
            "DestinationBucket": dest.bucket,
            "MapRunArn": map_run_arn,
            "ResultFiles": result_files,
        });
        put(
            store,
            &dest.bucket,
            &manifest_key,
            manifest.to_string().into_bytes(),
        )
        .await?;
        Ok(json!({
            "MapRunArn": map_run_arn,
            "ResultWriterDetails": {"Bucket": dest.bucket, "Key": manifest_key},
        }))
    }
}

/// The bodies of a status's result files: each under `max` bytes unless one value alone is
/// larger; none when there is no value.
fn split_files(values: &[Value], output_type: OutputType, max: u64) -> Vec<Vec<u8>> {
    let mut files = Vec::new();
    let mut parts: Vec<String> = Vec::new();
    let mut size = 0u64;
    let cost = |len: usize, first: bool| match output_type {
        OutputType::Json => len as u64 + u64::from(!first),
        OutputType::Jsonl => len as u64 + 1,
    };
    let base = match output_type {
        OutputType::Json => 2,
        OutputType::Jsonl => 0,
    };
    let finish = |parts: &mut Vec<String>| -> Vec<u8> {
        let body = match output_type {
            OutputType::Json => format!("[{}]", parts.join(",")),
            OutputType::Jsonl => parts.iter().map(|p| format!("{p}\n")).collect(),
        };
        parts.clear();
        body.into_bytes()
    };
    for v in values {
        let text = v.to_string();
        let c = cost(text.len(), parts.is_empty());
        if !parts.is_empty() && base + size + c > max {
            files.push(finish(&mut parts));
            size = 0;
        }
        size += cost(text.len(), parts.is_empty());
        parts.push(text);
    }
    if !parts.is_empty() {
        files.push(finish(&mut parts));
    }
    files
}

async fn put(
    store: &dyn ObjectStore,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
) -> Result<(), MapRunFailure> {
    store.put(bucket, key, body).await.map_err(|e| {
        MapRunFailure::writer(match e {
            ObjectError::NoSuchBucket(_) => {
                format!("The specified bucket does not exist: {bucket}")
            }
            other => format!("s3://{bucket}/{key}: {other}"),
        })
    })
}
