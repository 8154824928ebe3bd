//! Compiling the field values of JSONata states: payloads (Arguments, Output, Assign,
//! ItemSelector, Items) with `{% … %}` expressions anywhere, fields that are a value or one
//! expression (numbers, a Wait's Timestamp, a Fail's Error and Cause, a Choice rule's
//! Condition), and where `$states.result` and `$states.errorOutput` may be read
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html>, "Reserved
//! variable: $states").

use serde_json::Value;

use crate::jsonata::{Expr, Payload, is_expression};
use crate::model::{Condition, Number, PercentSpec};

use super::Validator;

/// Which parts of `$states` a field may read besides `input` and `context`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reads {
    /// Neither `result` nor `errorOutput` (Arguments, Items, the numbers, a Pass's Output).
    Input,
    /// `$states.result`: the Output and Assign of a Task, Map or Parallel state.
    Result,
    /// `$states.errorOutput`: a catcher's Output and Assign.
    ErrorOutput,
}

/// Whether a payload reads `$states.<member>` in any of its expressions.
fn reads(p: &Payload, member: &str) -> bool {
    match p {
        Payload::Literal(_) => false,
        Payload::Expr(e) => expr_reads(e, member),
        Payload::Array(items) => items.iter().any(|i| reads(i, member)),
        Payload::Object(fields) => fields.iter().any(|(_, v)| reads(v, member)),
    }
}

/// Whether an expression's text mentions `$states.<member>` (a name that continues, such as
/// `$states.resultX`, does not count).
fn expr_reads(e: &Expr, member: &str) -> bool {
    let needle = format!("$states.{member}");
    let src = e.source();
    src.match_indices(&needle).any(|(i, _)| {
        src[i + needle.len()..]
            .chars()
            .next()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
    })
}

impl Validator {
    /// A JSONata payload at `loc`: every expression must compile (each problem at its own
    /// pointer, with the parser's message) and read only the `$states` members `allowed`.
    pub(super) fn payload(&mut self, v: &Value, loc: &str, allowed: Reads) -> Option<Payload> {
        match Payload::compile(v) {
            Ok(p) => {
                self.reads_allowed(&p, loc, allowed);
                Some(p)
            }
            Err(errors) => {
                for e in errors {
                    self.problem(
                        &format!("{loc}{}", e.pointer),
                        format!("invalid JSONata expression: {}", e.message),
                    );
                }
                None
            }
        }
    }

    /// One `{% … %}` expression at `loc`.
    pub(super) fn expression(&mut self, s: &str, loc: &str) -> Option<Expr> {
        match Expr::compile(s) {
            Ok(e) => {
                self.reads_allowed(&Payload::Expr(e.clone()), loc, Reads::Input);
                Some(e)
            }
            Err(e) => {
                self.problem(loc, format!("invalid JSONata expression: {}", e.message));
                None
            }
        }
    }

    /// `$states.result` only in a Task's, Map's or Parallel's Output and Assign,
    /// `$states.errorOutput` only in a catcher's (AWS: "$states reserved variable" in
    /// <https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html>).
    fn reads_allowed(&mut self, p: &Payload, loc: &str, allowed: Reads) {
        if allowed != Reads::Result && reads(p, "result") {
            self.problem(
                loc,
                "$states.result is only available in the Output and Assign of Task, Map and Parallel states",
            );
        }
        if allowed != Reads::ErrorOutput && reads(p, "errorOutput") {
            self.problem(
                loc,
                "$states.errorOutput is only available in the Output and Assign of a Catch",
            );
        }
    }

    /// A JSONata number field (`TimeoutSeconds`, `MaxConcurrency`, ...): an integer of at
    /// least `min` (at most [`super::MAX_SECONDS`] when `seconds`) or an expression.
    pub(super) fn jsonata_number(
        &mut self,
        v: &Value,
        loc: &str,
        min: u64,
        seconds: bool,
    ) -> Option<Number> {
        match v {
            Value::String(s) if is_expression(s) => self.expression(s, loc).map(Number::Expr),
            _ if seconds => self.seconds(v, loc, min).map(Number::Fixed),
            _ => {
                match v.as_u64() {
                    Some(n) if n >= min => Some(Number::Fixed(n)),
                    _ => {
                        self.problem(
                        loc,
                        format!("must be an integer of at least {min} or a JSONata expression, got {v}"),
                    );
                        None
                    }
                }
            }
        }
    }

    /// JSONata ToleratedFailurePercentage: a number from 0 to 100 or an expression.
    pub(super) fn jsonata_percentage(&mut self, v: &Value, loc: &str) -> Option<PercentSpec> {
        match v {
            Value::String(s) if is_expression(s) => self.expression(s, loc).map(PercentSpec::Expr),
            _ => match v.as_f64() {
                Some(f) if (0.0..=100.0).contains(&f) => Some(PercentSpec::Fixed(f)),
                _ => {
                    self.problem(
                        loc,
                        "must be a number from 0 to 100 or a JSONata expression",
                    );
                    None
                }
            },
        }
    }

    /// A JSONata Choice rule's Condition: a boolean or an expression.
    pub(super) fn condition(&mut self, v: Option<&Value>, loc: &str) -> Option<Condition> {
        match v {
            Some(Value::Bool(b)) => Some(Condition::Fixed(*b)),
            Some(Value::String(s)) if is_expression(s) => self
                .expression(s, &format!("{loc}/Condition"))
                .map(Condition::Expr),
            Some(_) => {
                self.problem(
                    &format!("{loc}/Condition"),
                    "Condition must be a boolean or a JSONata expression",
                );
                None
            }
            None => {
                self.problem(loc, "a choice rule needs 'Condition' in a JSONata state");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::{DefinitionError, validate};
    use serde_json::json;

    fn problems(state: Value) -> Vec<String> {
        let def = json!({"QueryLanguage": "JSONata", "StartAt": "S", "States": {"S": state}});
        match validate(&def) {
            Ok(_) => Vec::new(),
            Err(DefinitionError::Invalid(p)) => p.iter().map(|p| p.to_string()).collect(),
            Err(e) => vec![e.to_string()],
        }
    }

    #[test]
    fn fields_take_a_value_or_an_expression() {
        let ok = [
            json!({"Type": "Wait", "Seconds": "{% $states.input.s %}", "End": true}),
            json!({"Type": "Wait", "Seconds": 5, "End": true}),
            json!({"Type": "Wait", "Timestamp": "2016-03-14T01:59:00Z", "End": true}),
            json!({"Type": "Wait", "Timestamp": "{% $t %}", "End": true}),
            json!({"Type": "Fail", "Error": "{% 'E' %}", "Cause": "plain"}),
            json!({"Type": "Task", "Resource": "x", "End": true,
                   "TimeoutSeconds": "{% 5 %}", "HeartbeatSeconds": 2}),
            json!({"Type": "Map", "End": true, "Items": [1, "{% 2 %}"],
                   "MaxConcurrency": "{% 1 %}", "ToleratedFailureCount": 0,
                   "ToleratedFailurePercentage": "{% 10 %}",
                   "ItemSelector": {"v": "{% $states.context.Map.Item.Value %}"},
                   "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Succeed"}}}}),
        ];
        for s in ok {
            assert!(
                problems(s.clone()).is_empty(),
                "{s}: {:?}",
                problems(s.clone())
            );
        }
        let bad = [
            (
                json!({"Type": "Wait", "Timestamp": "yesterday", "End": true}),
                "/States/S/Timestamp",
            ),
            (
                json!({"Type": "Wait", "Seconds": "5", "End": true}),
                "/States/S/Seconds",
            ),
            (
                json!({"Type": "Wait", "SecondsPath": "$.s", "End": true}),
                "/States/S/SecondsPath",
            ),
            (json!({"Type": "Fail", "Error": 1}), "/States/S/Error"),
            (
                json!({"Type": "Task", "Resource": "x", "End": true, "TimeoutSeconds": 0}),
                "/States/S/TimeoutSeconds",
            ),
            (
                json!({"Type": "Map", "End": true, "Items": "$.items",
                    "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Succeed"}}}}),
                "/States/S/Items",
            ),
            (
                json!({"Type": "Map", "End": true, "ToleratedFailurePercentage": 101,
                    "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Succeed"}}}}),
                "/States/S/ToleratedFailurePercentage",
            ),
            (
                json!({"Type": "Task", "Resource": "x", "End": true,
                    "Arguments": {"r": "{% $states.result %}"}}),
                "/States/S/Arguments",
            ),
            (
                json!({"Type": "Task", "Resource": "x", "End": true,
                    "Output": "{% $states.errorOutput %}"}),
                "/States/S/Output",
            ),
        ];
        for (s, loc) in bad {
            let p = problems(s.clone());
            assert_eq!(p.len(), 1, "{s}: {p:?}");
            assert!(p[0].starts_with(&format!("{loc}: ")), "{s}: {p:?}");
        }
    }

    #[test]
    fn reads_finds_whole_member_names_only() {
        let e = Expr::compile("{% $states.result.x %}").unwrap();
        assert!(expr_reads(&e, "result"));
        let e = Expr::compile("{% $states.resultX %}").unwrap();
        assert!(!expr_reads(&e, "result"));
        let e = Expr::compile("{% $states.input %}").unwrap();
        assert!(!expr_reads(&e, "errorOutput"));
    }
}
