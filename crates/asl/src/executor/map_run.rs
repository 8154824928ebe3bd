//! A Distributed Map's run around its child executions: the ItemReader's, ItemBatcher's and
//! ResultWriter's values evaluated on the state's input, the items read from S3, grouped into
//! batches, and the children's outcomes exported to S3 (the data plane is
//! [`crate::distributed`]; this is where the executor feeds it).
//!
//! Order and wording as AWS records them (LocalStack's AWS-recorded
//! `test_base_scenarios.snapshot.json`): MapStateStarted has length 0 when an ItemReader
//! gives the items; a MaxItemsPath that is not an integer fails the execution with
//! States.Runtime before MapRunStarted (`test_map_item_reader_csv_max_items_paths[1.5]`);
//! an item reader's failure comes after MapRunStarted as MapRunFailed with its error and
//! cause, then MapStateFailed (`…csv_headers_decl_duplicate_headers`, `…[-1]`).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::data;
use crate::distributed::{
    BatchLimits, ChildOutcome, ChildStatus, FailureKind, ItemReaderSpec, MAX_RESULT_FILE_BYTES,
    MapRunFailure, MapRunNames, ReadOptions, ResultWriterSpec, S3Destination, S3Target,
    WriterConfig, batch_limit_from_value, effective_limit, max_items_from_value,
};
use crate::history::EventType;
use crate::model::{Builder, DistributedFields, Number};

use super::entered::Entered;
use super::failures::{Failure, invalid_path};
use super::fiber::Fiber;
use super::{Run, details};

/// What a Map Run does, its values evaluated.
pub(super) struct MapRunPlan<'a> {
    pub(super) reader: Option<(&'a ItemReaderSpec, S3Target, u64)>,
    pub(super) batcher: Option<(BatchLimits, Option<Value>)>,
    pub(super) writer: Option<ResultsTo>,
}

/// Where the children's results go.
pub(super) enum ResultsTo {
    /// Exported to S3; the Map's result is the manifest's location.
    S3(S3Destination, Option<WriterConfig>),
    /// Formatted by WriterConfig as the Map's result (no export).
    Output(WriterConfig),
}

/// How one child execution ended, as the Map saw it.
pub(super) struct ChildRun {
    pub(super) result: Result<Value, (Option<String>, Option<String>)>,
    pub(super) started: DateTime<Utc>,
    pub(super) stopped: DateTime<Utc>,
}

impl Entered<'_, '_> {
    /// Evaluates a Distributed Map's fields on the effective input. The outer error stops the
    /// state at once (a JSONata or path failure, States.Runtime); the inner one is the Map
    /// Run's failure (States.ItemReaderFailed, States.ResultWriterFailed), recorded after
    /// MapRunStarted.
    pub(super) fn map_run_plan<'a>(
        &self,
        d: &'a DistributedFields,
        input: &Value,
    ) -> Result<Result<MapRunPlan<'a>, MapRunFailure>, Failure> {
        let mut plan = MapRunPlan {
            reader: None,
            batcher: None,
            writer: None,
        };
        let runtime = |f: MapRunFailure| self.runtime(&f.cause);
        if let Some(spec) = &d.spec.reader {
            let max = match &d.reader_max_items {
                None => crate::distributed::MAX_ITEMS_LIMIT,
                Some(Number::Fixed(n)) => effective_limit(*n),
                Some(n) => {
                    let (v, text) = self.limit_value(n, "MaxItems", input)?;
                    match max_items_from_value(&v, &text) {
                        Ok(m) => m,
                        Err(f) if f.kind == FailureKind::Runtime => return Err(runtime(f)),
                        Err(f) => return Ok(Err(f)),
                    }
                }
            };
            let args = match &d.reader_args {
                Some(b) => self.build(b, "Arguments", input)?,
                None => Value::Null,
            };
            match S3Target::from_value(spec.resource, &args) {
                Ok(t) => plan.reader = Some((spec, t, max)),
                Err(f) => return Ok(Err(f)),
            }
        }
        if d.spec.batcher.is_some() {
            let limit = |n: &Option<Number>, field: &str| -> Result<Option<u64>, Failure> {
                match n {
                    None => Ok(None),
                    Some(Number::Fixed(n)) => Ok(Some(*n)),
                    Some(n) => {
                        let (v, _) = self.limit_value(n, field, input)?;
                        batch_limit_from_value(&format!("{field}Path"), &v)
                            .map(Some)
                            .map_err(runtime)
                    }
                }
            };
            let max_items = limit(&d.batch_max_items, "MaxItemsPerBatch")?;
            let max_bytes = limit(&d.batch_max_bytes, "MaxInputBytesPerBatch")?;
            let batch_input = match &d.batch_input {
                Some(b) => Some(self.build(b, "BatchInput", input)?),
                None => None,
            };
            plan.batcher = Some((BatchLimits::new(max_items, max_bytes), batch_input));
        }
        if let Some(w) = &d.spec.writer {
            plan.writer = match (&d.writer_args, w.config) {
                (Some(b), config) => {
                    let v = self.build(b, "Arguments", input)?;
                    match S3Destination::from_value(&v) {
                        Ok(dest) => Some(ResultsTo::S3(dest, config)),
                        Err(f) => return Ok(Err(f)),
                    }
                }
                (None, Some(config)) => Some(ResultsTo::Output(config)),
                (None, None) => None,
            };
        }
        Ok(Ok(plan))
    }

    /// A limit given by a path or an expression: its value and the text AWS quotes.
    fn limit_value(
        &self,
        n: &Number,
        field: &str,
        input: &Value,
    ) -> Result<(Value, String), Failure> {
        match n {
            Number::Fixed(n) => Ok((Value::from(*n), n.to_string())),
            Number::Path(p) => {
                let v = data::resolve(p, input, &self.env())
                    .map_err(|e| self.runtime(&invalid_path(p, e)))?;
                Ok((v, p.text().to_string()))
            }
            Number::Expr(e) => {
                let v = self.evaluate_expr(e, field, self.sees(input, &self.context))?;
                Ok((v, e.source().to_string()))
            }
        }
    }

    /// A Parameters template or an Arguments payload, evaluated on the state's input.
    fn build(&self, b: &Builder, field: &str, input: &Value) -> Result<Value, Failure> {
        match b {
            Builder::Template(t) => self.template(t, input, &self.env()),
            Builder::Jsonata(p) => self.evaluate(p, field, self.sees(input, &self.context)),
        }
    }

    /// The items the ItemReader reads; without an object store the execution has no S3 to
    /// read.
    pub(super) async fn read_items(
        &self,
        (spec, target, max): &(&ItemReaderSpec, S3Target, u64),
    ) -> Result<Vec<Value>, MapRunFailure> {
        let Some(store) = &self.run.opts.object_store else {
            return Err(MapRunFailure::reader(format!(
                "no S3 is configured for this execution, so s3://{} cannot be read",
                target.bucket
            )));
        };
        let options = ReadOptions {
            listing_last_modified: self.run.now().timestamp(),
        };
        spec.read(&*store.0, target, *max, &options).await
    }
}

impl Run {
    /// Records a Map Run's failure (MapRunFailed with its error and cause) and gives the
    /// state's failure.
    pub(super) fn map_run_failed(
        &self,
        fiber: &mut Fiber,
        f: MapRunFailure,
    ) -> Result<Failure, Failure> {
        self.emit(
            fiber,
            EventType::MapRunFailed,
            details(vec![("error", json!(f.error())), ("cause", json!(f.cause))]),
        )?;
        Ok(Failure::new(f.error(), f.cause))
    }

    /// The Map's result from its children: exported to S3 or formatted by WriterConfig.
    /// `child_names`, `inputs` and `runs` are the children's names, inputs and how each ended
    /// (`None`: never finished).
    pub(super) async fn write_results(
        &self,
        to: &ResultsTo,
        names: &MapRunNames,
        child_names: &[String],
        inputs: Vec<Value>,
        runs: Vec<Option<ChildRun>>,
    ) -> Result<Value, MapRunFailure> {
        let outcomes: Vec<ChildOutcome> = inputs
            .into_iter()
            .zip(runs)
            .zip(child_names)
            .map(|((input, run), child)| {
                let child = child.clone();
                let mut o = ChildOutcome {
                    execution_arn: Some(names.child_execution_arn(&child)),
                    name: Some(child),
                    state_machine_arn: Some(names.child_state_machine_arn()),
                    status: ChildStatus::Pending,
                    input,
                    output: None,
                    error: None,
                    cause: None,
                    start_date: None,
                    stop_date: None,
                    redrive_count: 0,
                };
                if let Some(r) = run {
                    o.start_date = Some(r.started);
                    o.stop_date = Some(r.stopped);
                    match r.result {
                        Ok(v) => {
                            o.status = ChildStatus::Succeeded;
                            o.output = Some(v);
                        }
                        Err((error, cause)) => {
                            o.status = ChildStatus::Failed;
                            o.error = error;
                            o.cause = cause;
                        }
                    }
                }
                o
            })
            .collect();
        match to {
            ResultsTo::Output(config) => Ok(ResultWriterSpec::preview(config, &outcomes)),
            ResultsTo::S3(dest, config) => {
                let Some(store) = &self.opts.object_store else {
                    return Err(MapRunFailure::writer(format!(
                        "no S3 is configured for this execution, so s3://{} cannot be written",
                        dest.bucket
                    )));
                };
                ResultWriterSpec::export(
                    &*store.0,
                    dest,
                    config.as_ref(),
                    &names.map_run_arn(),
                    &outcomes,
                    MAX_RESULT_FILE_BYTES,
                )
                .await
            }
        }
    }
}
