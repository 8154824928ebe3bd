//! Evaluations whose field wants one type of value: Map `Items` (an array), a Choice
//! `Condition` (a boolean), Fail `Error`/`Cause` and Wait `Timestamp` (strings), Task
//! `TimeoutSeconds`/`HeartbeatSeconds`, Wait `Seconds`, Map `MaxConcurrency` and
//! `ToleratedFailureCount` (integers), `ToleratedFailurePercentage` (a number from 0 to 100).
//!
//! A value of the wrong type fails as AWS words it for `Items` (recorded in
//! `evaluate_jsonata/*ITEMS*` and `scenarios`): "The JSONata expression '$ItemsVar' specified
//! for the field 'Items' returned an unexpected result type. Expected 'array', but was
//! 'number' for value: 1". The other fields use the same sentence with their own expected
//! type ('boolean', 'string', 'integer', 'number'); AWS's causes for them, and for a value
//! of the right type out of its range, are not recorded, so those are this module's words.

use serde_json::Value;

use super::{Bindings, Expr, QueryError, type_name};

/// The integers a field takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntegerRange {
    /// 1 and up: Task `TimeoutSeconds`, `HeartbeatSeconds`.
    Positive,
    /// 0 and up: Wait `Seconds`, Map `MaxConcurrency`, `ToleratedFailureCount`.
    NonNegative,
}

impl IntegerRange {
    fn contains(self, n: i64) -> bool {
        match self {
            IntegerRange::Positive => n > 0,
            IntegerRange::NonNegative => n >= 0,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            IntegerRange::Positive => "a positive integer",
            IntegerRange::NonNegative => "a non-negative integer",
        }
    }
}

impl Expr {
    /// Evaluates a field that takes an array (Map `Items`).
    pub fn evaluate_array(&self, b: &mut Bindings, field: &str) -> Result<Vec<Value>, QueryError> {
        match self.evaluate(b, field)? {
            Value::Array(items) => Ok(items),
            other => Err(self.unexpected_type(field, "array", &other)),
        }
    }

    /// Evaluates a field that takes a boolean (a Choice rule's `Condition`).
    pub fn evaluate_bool(&self, b: &mut Bindings, field: &str) -> Result<bool, QueryError> {
        match self.evaluate(b, field)? {
            Value::Bool(x) => Ok(x),
            other => Err(self.unexpected_type(field, "boolean", &other)),
        }
    }

    /// Evaluates a field that takes a string (Fail `Error`/`Cause`, Wait `Timestamp`).
    pub fn evaluate_string(&self, b: &mut Bindings, field: &str) -> Result<String, QueryError> {
        match self.evaluate(b, field)? {
            Value::String(s) => Ok(s),
            other => Err(self.unexpected_type(field, "string", &other)),
        }
    }

    /// Evaluates a field that takes a whole number in `range` (`TimeoutSeconds`,
    /// `HeartbeatSeconds`, Wait `Seconds`, `MaxConcurrency`, `ToleratedFailureCount`).
    pub fn evaluate_integer(
        &self,
        b: &mut Bindings,
        field: &str,
        range: IntegerRange,
    ) -> Result<i64, QueryError> {
        let v = self.evaluate(b, field)?;
        let n = match &v {
            Value::Number(n) => n.as_i64(),
            _ => None,
        };
        let Some(n) = n else {
            return Err(self.unexpected_type(field, "integer", &v));
        };
        if !range.contains(n) {
            return Err(self.out_of_range(field, range.describe(), &v));
        }
        Ok(n)
    }

    /// Evaluates a field that takes a number from 0 to 100 (`ToleratedFailurePercentage`).
    pub fn evaluate_percentage(&self, b: &mut Bindings, field: &str) -> Result<f64, QueryError> {
        let v = self.evaluate(b, field)?;
        let Some(n) = v.as_f64() else {
            return Err(self.unexpected_type(field, "number", &v));
        };
        if !(0.0..=100.0).contains(&n) {
            return Err(self.out_of_range(field, "a number from 0 to 100", &v));
        }
        Ok(n)
    }

    fn unexpected_type(&self, field: &str, expected: &str, v: &Value) -> QueryError {
        // A non-integral number for an integer field is a number, as AWS would name it.
        self.error(
            field,
            &format!(
                "returned an unexpected result type. Expected '{expected}', but was '{}' for value: {v}",
                type_name(v)
            ),
        )
    }

    fn out_of_range(&self, field: &str, expected: &str, v: &Value) -> QueryError {
        self.error(
            field,
            &format!("returned an unexpected result value. Expected {expected}, but was: {v}"),
        )
    }
}
