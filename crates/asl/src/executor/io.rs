//! A state's input and output processing, in one place, for both query languages:
//! JSONPath's InputPath, Parameters (and a Map's ItemSelector), ResultSelector, Assign,
//! ResultPath and OutputPath
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/concepts-input-output-filtering.html>),
//! JSONata's Arguments, Assign and Output
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html>), and a
//! catcher's Assign and ResultPath or Output.

use serde_json::{Map, Value, json};

use crate::data;
use crate::jsonata::{Payload, States};
use crate::model::{
    Builder, CatchOutput, Catcher, Common, Io, Kind, MapState, PathField, WorkData,
};

use super::entered::Entered;
use super::failures::Failure;

/// What a state hands on when it exits: its output and the variables it assigns.
pub(super) struct Output {
    pub(super) value: Value,
    pub(super) assigned: Option<Map<String, Value>>,
}

impl Entered<'_, '_> {
    /// The effective input: InputPath applied to the state's input (JSONata: the input).
    pub(super) fn input(&self, raw: &Value) -> Result<Value, Failure> {
        match &self.state.io {
            Io::JsonPath { input_path, .. } => {
                data::select(input_path, raw, &self.env()).map_err(|e| self.data_failure(e))
            }
            Io::Jsonata { .. } => Ok(raw.clone()),
        }
    }

    /// The input of a Task's invocation or of every Parallel branch: Parameters applied to
    /// the effective input, or JSONata's Arguments; evaluated with `context` as `$$` /
    /// `$states.context` (the state's, or a Task attempt's with its retry count and token).
    /// The effective input itself when there are none.
    pub(super) fn work_input(
        &self,
        data: &WorkData,
        input: Value,
        context: &Value,
    ) -> Result<Value, Failure> {
        match data {
            WorkData::JsonPath {
                parameters: Some(p),
                ..
            } => self.template(p, &input, &self.env_with(context)),
            WorkData::Jsonata {
                arguments: Some(a), ..
            } => self.evaluate(a, "Arguments", self.sees(&input, context)),
            _ => Ok(input),
        }
    }

    /// Pass's Parameters applied to the effective input; the input itself without them.
    pub(super) fn parameters(
        &self,
        parameters: &Option<crate::model::Template>,
        input: Value,
    ) -> Result<Value, Failure> {
        match parameters {
            None => Ok(input),
            Some(p) => self.template(p, &input, &self.env()),
        }
    }

    /// ResultSelector applied to a Task's, Parallel's or Map's result (JSONPath).
    pub(super) fn select_result(&self, common: &Common, result: Value) -> Result<Value, Failure> {
        match &common.data {
            WorkData::JsonPath {
                result_selector: Some(sel),
                ..
            } => self.template(sel, &result, &self.env()),
            _ => Ok(result),
        }
    }

    /// What a JSONata field of this state sees in `$states` besides its input.
    pub(super) fn sees<'v>(&'v self, input: &'v Value, context: &'v Value) -> States<'v> {
        States {
            input,
            context,
            result: None,
            error_output: None,
        }
    }

    /// The variables an Assign gives: a JSONPath template evaluated on `value`, or a JSONata
    /// payload evaluated with `states`.
    fn assign(
        &self,
        assign: Option<&Builder>,
        value: &Value,
        states: States,
    ) -> Result<Option<Map<String, Value>>, Failure> {
        let v = match assign {
            None => return Ok(None),
            Some(Builder::Template(t)) => self.template(t, value, &self.env())?,
            Some(Builder::Jsonata(p)) => self.evaluate(p, "Assign", states)?,
        };
        match v {
            Value::Object(m) => Ok(Some(m)),
            _ => Ok(Some(Map::new())),
        }
    }

    /// The state's output from its result (for the states without one, their effective
    /// input). JSONPath: Assign (evaluated on the result), then ResultPath (merging the
    /// result into the state's input `raw`; without one the result is the output), then
    /// OutputPath. JSONata: Assign and Output (`output`, else the state's own), both with
    /// the variables as at entry, `$states.input` the state's input and, for Task, Map and
    /// Parallel, `$states.result` the result; without an Output the result is the output.
    pub(super) fn output(
        &self,
        raw: &Value,
        result: Value,
        result_path: Option<&PathField>,
        assign: Option<&Builder>,
        output: Option<&Payload>,
    ) -> Result<Output, Failure> {
        match &self.state.io {
            Io::JsonPath { output_path, .. } => {
                let states = self.sees(raw, &self.context);
                let assigned = self.assign(assign, &result, states)?;
                let merged = match result_path {
                    None => result,
                    Some(rp) => {
                        data::merge_result(rp, raw, result).map_err(|e| self.data_failure(e))?
                    }
                };
                let value = data::select(output_path, &merged, &self.env())
                    .map_err(|e| self.data_failure(e))?;
                Ok(Output { value, assigned })
            }
            Io::Jsonata { output: own } => {
                let has_result = matches!(
                    self.state.kind,
                    Kind::Task(_) | Kind::Map(_) | Kind::Parallel(_)
                );
                let mut states = self.sees(raw, &self.context);
                if has_result {
                    states.result = Some(&result);
                }
                let assigned = self.assign(assign, &result, states)?;
                let value = match output.or(own.as_ref()) {
                    Some(p) => self.evaluate(p, "Output", states)?,
                    None => result.clone(),
                };
                Ok(Output { value, assigned })
            }
        }
    }

    /// The output when catcher `c` catches: its Assign, then its ResultPath applied to the
    /// error output (`{"Error", "Cause"}`; OutputPath does not apply) or its Output (JSONata,
    /// with `$states.errorOutput`; without one the error output is the output).
    pub(super) fn caught(
        &self,
        c: &Catcher,
        raw: &Value,
        error_output: Value,
    ) -> Result<Output, Failure> {
        let mut states = self.sees(raw, &self.context);
        states.error_output = Some(&error_output);
        let assigned = self.assign(c.assign.as_ref(), &error_output, states)?;
        let value = match &c.output {
            CatchOutput::ResultPath(rp) => data::merge_result(rp, raw, error_output.clone())
                .map_err(|e| self.data_failure(e))?,
            CatchOutput::Output(Some(p)) => self.evaluate(p, "Output", states)?,
            CatchOutput::Output(None) => error_output.clone(),
        };
        Ok(Output { value, assigned })
    }

    /// A Map item's input: ItemSelector evaluated with `$$.Map.Item` /
    /// `$states.context.Map.Item` (index and value); the item itself without one.
    pub(super) fn map_item_input(
        &self,
        mp: &MapState,
        input: &Value,
        index: usize,
        item: &Value,
    ) -> Result<Value, Failure> {
        let Some(sel) = &mp.item_selector else {
            return Ok(item.clone());
        };
        let mut c = if self.context.is_object() {
            self.context.clone()
        } else {
            json!({})
        };
        c["Map"] = json!({"Item": {"Index": index, "Value": item}});
        match sel {
            Builder::Template(t) => self.template(t, input, &self.env_with(&c)),
            Builder::Jsonata(p) => self.evaluate(p, "ItemSelector", self.sees(input, &c)),
        }
    }
}
