//! JSONata fields at run time: evaluating a payload or an expression with the variables the
//! state sees and the execution's seeded generator, and AWS's `States.QueryEvaluationError`
//! when it fails or gives a value of the wrong type for its field.
//!
//! The typed-result message ("returned an unexpected result type. Expected 'array', but was
//! 'number' for value: 1") is AWS's, as recorded in
//! `tests/conformance/cases/scenarios/base_scenarios.map_state_items_eval_jsonata_fail__*`;
//! it belongs next to the engine's own messages in `crate::jsonata` and lives here until it
//! moves there.

use serde_json::Value;

use crate::jsonata::{Bindings, Expr, Payload, QUERY_EVALUATION_ERROR, QueryError, States};

use super::entered::Entered;
use super::failures::{Evaluation, Failure};
use super::fiber::Fiber;
use super::{details, text};
use crate::history::EventType;
use crate::model::Kind;

/// The JSON type name AWS uses in its typed-result messages.
pub(super) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// AWS's cause when expression `e` of `field` gave `v`, which is not of type `expected`.
pub(super) fn unexpected_type(e: &Expr, field: &str, expected: &str, v: &Value) -> String {
    format!(
        "The JSONata expression '{}' specified for the field '{field}' returned an unexpected result type. Expected '{expected}', but was '{}' for value: {}",
        e.source().trim(),
        type_name(v),
        text(v)
    )
}

/// The field a cause names ("specified for the field 'Output/a'"): the engine's
/// [`QueryError`] carries only its cause.
fn field_of(cause: &str) -> Option<String> {
    let start = cause.find("specified for the field '")? + "specified for the field '".len();
    let len = cause[start..].find('\'')?;
    Some(cause[start..start + len].to_string())
}

impl Entered<'_, '_> {
    /// A failure of a JSONata field in this state: States.QueryEvaluationError, which
    /// Retry and Catch see like any other error (AWS: "Handling errors" in
    /// <https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html>).
    pub(super) fn query_failure(&self, cause: &str) -> Failure {
        let mut f = Failure::in_state(QUERY_EVALUATION_ERROR, self.name, self.entered_id, cause);
        f.evaluation = Some(Evaluation {
            location: field_of(cause),
        });
        f
    }

    /// A States.QueryEvaluationError whose cause does not name its field: `location` is
    /// the field, `None` for a failure of the state's (a Map's input that is not an array).
    pub(super) fn query_failure_at(&self, cause: &str, location: Option<&str>) -> Failure {
        let mut f = self.query_failure(cause);
        f.evaluation = Some(Evaluation {
            location: location.map(String::from),
        });
        f
    }

    /// Records AWS's EvaluationFailed event for a failure of a JSONata field, once, as the
    /// recorded executions show it: `{cause, error, location, state}`, following the event
    /// StateEntered follows (a Wait state's: StateEntered itself); the events after it
    /// follow it (tests/conformance/cases/assign/assign_reference_variables.undefined_reference__*,
    /// scenarios/base_scenarios.wait_timestamp_jsonata__*).
    pub(super) fn report(&self, fiber: &mut Fiber, mut f: Failure) -> Result<Failure, Failure> {
        let Some(ev) = f.evaluation.take() else {
            return Ok(f);
        };
        let mut d = vec![
            ("cause", Value::from(f.cause.clone().unwrap_or_default())),
            ("error", Value::from(f.error.clone().unwrap_or_default())),
        ];
        if let Some(l) = ev.location {
            d.push(("location", Value::from(l)));
        }
        d.push(("state", Value::from(self.name)));
        let prev = if matches!(self.state.kind, Kind::Wait(_)) {
            self.entered_id
        } else {
            self.entered_prev
        };
        self.run
            .emit_after(fiber, prev, EventType::EvaluationFailed, details(d))?;
        Ok(f)
    }

    /// Evaluates a payload (`field` names it in messages) with `states` and the variables
    /// as at the state's entry.
    pub(super) fn evaluate(
        &self,
        p: &Payload,
        field: &str,
        states: States,
    ) -> Result<Value, Failure> {
        self.with_bindings(states, |b| p.evaluate(b, field))
    }

    /// Evaluates one expression the same way.
    pub(super) fn evaluate_expr(
        &self,
        e: &Expr,
        field: &str,
        states: States,
    ) -> Result<Value, Failure> {
        self.with_bindings(states, |b| e.evaluate(b, field))
    }

    fn with_bindings(
        &self,
        states: States,
        f: impl FnOnce(&mut Bindings) -> Result<Value, QueryError>,
    ) -> Result<Value, Failure> {
        let scope = &self.scope;
        let look = |n: &str| scope.get(n);
        let mut rng = self.run.rng();
        let mut b = Bindings {
            states,
            variable: &look,
            rng: &mut rng,
        };
        // `$now()` and `$millis()` read the execution's clock (virtual by default), so an
        // execution repeats.
        let now = self.run.now().timestamp_millis();
        crate::jsonata::with_clock(now, || f(&mut b)).map_err(|e| self.query_failure(&e.cause))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unexpected_type_is_worded_as_aws_records_it() {
        let e = Expr::compile("{% {'foo': 'bar'} %}").unwrap();
        assert_eq!(
            unexpected_type(&e, "Items", "array", &json!({"foo": "bar"})),
            "The JSONata expression '{'foo': 'bar'}' specified for the field 'Items' returned an unexpected result type. Expected 'array', but was 'object' for value: {\"foo\":\"bar\"}"
        );
        assert_eq!(type_name(&json!("s")), "string");
        assert_eq!(
            field_of("The JSONata expression '$x' specified for the field 'Output/a' returned nothing (undefined).").as_deref(),
            Some("Output/a")
        );
    }
}
