//! A state's input and output processing, in one place: InputPath, Parameters (and a
//! Map's ItemSelector), ResultSelector, Assign, ResultPath and OutputPath
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/concepts-input-output-filtering.html>),
//! and a catcher's Assign and ResultPath. Every state type goes through these, so a query
//! language with other fields (JSONata's Arguments, Output and Assign) changes this module.

use serde_json::{Map, Value, json};

use crate::data;
use crate::model::{Catcher, Common, MapState, PathField, Template};

use super::entered::Entered;
use super::failures::Failure;

/// What a state hands on when it exits: its output and the variables it assigns.
pub(super) struct Output {
    pub(super) value: Value,
    pub(super) assigned: Option<Map<String, Value>>,
}

impl Entered<'_, '_> {
    /// The effective input: InputPath applied to the state's input.
    pub(super) fn input(&self, raw: &Value) -> Result<Value, Failure> {
        data::select(&self.state.input_path, raw, &self.env()).map_err(|e| self.data_failure(e))
    }

    /// Parameters applied to the effective input, evaluated with `context` as `$$` (the
    /// state's, or a Task attempt's with its retry count and token); the input itself when
    /// there are none.
    pub(super) fn parameters(
        &self,
        parameters: &Option<Template>,
        input: Value,
        context: &Value,
    ) -> Result<Value, Failure> {
        match parameters {
            None => Ok(input),
            Some(p) => self.template(p, &input, &self.env_with(context)),
        }
    }

    /// ResultSelector applied to a Task's, Parallel's or Map's result.
    pub(super) fn select_result(&self, common: &Common, result: Value) -> Result<Value, Failure> {
        match &common.result_selector {
            None => Ok(result),
            Some(sel) => self.template(sel, &result, &self.env()),
        }
    }

    /// The variables an Assign template gives, evaluated on `value`.
    fn assign(
        &self,
        assign: Option<&Template>,
        value: &Value,
    ) -> Result<Option<Map<String, Value>>, Failure> {
        let Some(t) = assign else { return Ok(None) };
        match self.template(t, value, &self.env())? {
            Value::Object(m) => Ok(Some(m)),
            _ => Ok(Some(Map::new())),
        }
    }

    /// The state's output from its result: Assign (evaluated on the result), then
    /// ResultPath (merging the result into the state's input `raw`; without one the result
    /// is the output), then OutputPath.
    pub(super) fn output(
        &self,
        raw: &Value,
        result: Value,
        result_path: Option<&PathField>,
        assign: Option<&Template>,
    ) -> Result<Output, Failure> {
        let assigned = self.assign(assign, &result)?;
        let merged = match result_path {
            None => result,
            Some(rp) => data::merge_result(rp, raw, result).map_err(|e| self.data_failure(e))?,
        };
        let value = data::select(&self.state.output_path, &merged, &self.env())
            .map_err(|e| self.data_failure(e))?;
        Ok(Output { value, assigned })
    }

    /// The output when catcher `c` catches: its Assign and ResultPath applied to the error
    /// output (`{"Error", "Cause"}`); OutputPath does not apply.
    pub(super) fn caught(
        &self,
        c: &Catcher,
        raw: &Value,
        error_output: Value,
    ) -> Result<Output, Failure> {
        let assigned = self.assign(c.assign.as_ref(), &error_output)?;
        let value = data::merge_result(&c.result_path, raw, error_output)
            .map_err(|e| self.data_failure(e))?;
        Ok(Output { value, assigned })
    }

    /// A Map item's input: ItemSelector evaluated with `$$.Map.Item` (index and value);
    /// the item itself without one.
    pub(super) fn map_item_input(
        &self,
        mp: &MapState,
        input: &Value,
        index: usize,
        item: &Value,
    ) -> Result<Value, Failure> {
        match &mp.item_selector {
            None => Ok(item.clone()),
            Some(sel) => {
                let mut c = self.context.clone();
                c["Map"] = json!({"Item": {"Index": index, "Value": item}});
                self.template(sel, input, &self.env_with(&c))
            }
        }
    }
}
