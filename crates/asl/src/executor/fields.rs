//! Fields a state gives literally or by a path into its input (`…Path`): a Wait's
//! duration, a Fail's error and cause, a Task's TimeoutSeconds and HeartbeatSeconds, a
//! Map's items, MaxConcurrency and tolerated failures. Their values at run time, and AWS's
//! messages when a path finds nothing or a value of the wrong kind. (In JSONata these
//! fields take `{% %}` expressions instead.)

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::data::{self, Env};
use crate::jsonata::Expr;
use crate::model::{FailField, Items, MapState, Number, PercentSpec, Template, Wait};

use super::entered::Entered;
use super::failures::{Failure, invalid_path};
use super::jsonata_fields::unexpected_type;
use super::text;

/// A value as AWS quotes it in a message: a string as is, anything else as JSON text.
fn quoted(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        o => text(o),
    }
}

impl Entered<'_, '_> {
    /// A JSONata number field (`field`) evaluated on the state's input: an integer,
    /// else AWS's typed-result error. (AWS's exact wording for a non-integer number is not
    /// in the recorded cases; the typed-result message is used with 'integer'.)
    fn expr_integer(
        &self,
        e: &Expr,
        field: &str,
        input: &Value,
        context: &Value,
    ) -> Result<i64, Failure> {
        let v = self.evaluate_expr(e, field, self.sees(input, context))?;
        match v.as_i64().or_else(|| {
            v.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        }) {
            Some(i) => Ok(i),
            None => Err(self.query_failure(&unexpected_type(e, field, "integer", &v))),
        }
    }

    /// How long a Wait state waits, from its effective input.
    pub(super) fn wait_delay(&self, w: &Wait, input: &Value) -> Result<Duration, Failure> {
        let env = self.env();
        let until = |ts: DateTime<chrono::FixedOffset>| {
            let now = self.run.now();
            let t = ts.with_timezone(&Utc);
            if t > now {
                (t - now).to_std().unwrap_or_default()
            } else {
                Duration::ZERO
            }
        };
        match w {
            Wait::SecondsExpr(e) => {
                let s = self.expr_integer(e, "Seconds", input, &self.context)?;
                if s < 0 {
                    Err(self.query_failure(&unexpected_type(
                        e,
                        "Seconds",
                        "non-negative integer",
                        &Value::from(s),
                    )))
                } else if s > 31_536_000 {
                    Err(self.runtime("Wait state delay is too long"))
                } else {
                    Ok(Duration::from_secs(s as u64))
                }
            }
            Wait::TimestampExpr(e) => {
                let v = self.evaluate_expr(e, "Timestamp", self.sees(input, &self.context))?;
                let Value::String(s) = &v else {
                    return Err(self.query_failure(&unexpected_type(e, "Timestamp", "string", &v)));
                };
                // AWS's message: recorded in
                // tests/conformance/cases/scenarios/base_scenarios.wait_timestamp_jsonata__*.
                match crate::timestamp::parse(s) {
                    Some(ts) => Ok(until(ts)),
                    None => Err(self.query_failure_at(
                        &format!("The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: {s}"),
                        Some("Timestamp"),
                    )),
                }
            }
            Wait::Seconds(s) => Ok(Duration::from_secs(*s)),
            Wait::Timestamp(t) => Ok(crate::timestamp::parse(t).map(until).unwrap_or_default()),
            Wait::SecondsPath(p) => {
                let v =
                    data::resolve(p, input, &env).map_err(|e| self.runtime(&invalid_path(p, e)))?;
                match &v {
                    Value::Number(n) if n.as_i64().is_some() => {
                        let s = n.as_i64().unwrap_or(0);
                        if s < 0 {
                            Err(self.runtime(&format!(
                                "The SecondsPath parameter references a negative value: {} == {s}",
                                p.text()
                            )))
                        } else if s > 31_536_000 {
                            Err(self.runtime("Wait state delay is too long"))
                        } else {
                            Ok(Duration::from_secs(s as u64))
                        }
                    }
                    other => Err(self.runtime(&format!(
                        "The SecondsPath parameter cannot be parsed as a long value: {} == {}",
                        p.text(),
                        quoted(other)
                    ))),
                }
            }
            Wait::TimestampPath(p) => {
                let v =
                    data::resolve(p, input, &env).map_err(|e| self.runtime(&invalid_path(p, e)))?;
                let s = quoted(&v);
                match crate::timestamp::parse(&s) {
                    Some(ts) => Ok(until(ts)),
                    None => Err(self.runtime(&format!(
                        "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {} == {s}",
                        p.text()
                    ))),
                }
            }
        }
    }

    /// A Fail state's Error or Cause (`field` names the path form in messages: `ErrorPath`,
    /// `CausePath`), from the state's input.
    pub(super) fn fail_field(
        &self,
        f: &Option<FailField>,
        field: &str,
        raw: &Value,
    ) -> Result<Option<String>, Failure> {
        let env = self.env();
        match f {
            None => Ok(None),
            Some(FailField::Literal(s)) => Ok(Some(s.clone())),
            Some(FailField::Expr(e)) => {
                let name = field.trim_end_matches("Path");
                match self.evaluate_expr(e, name, self.sees(raw, &self.context))? {
                    Value::String(s) => Ok(Some(s)),
                    other => Err(self.query_failure(&unexpected_type(e, name, "string", &other))),
                }
            }
            Some(FailField::Path(p)) => match data::resolve(p, raw, &env) {
                Ok(Value::String(s)) => Ok(Some(s)),
                Ok(other) => Ok(Some(text(&other))),
                Err(_) => Err(self.runtime(&format!(
                    "The JSONPath '{}' specified for the field '{field}' could not be found in the input '{}'",
                    p.text(),
                    text(raw)
                ))),
            },
            Some(FailField::Call(c)) => {
                let t = Template::Call(c.clone());
                match self.template(&t, raw, &env)? {
                    Value::String(s) => Ok(Some(s)),
                    other => Ok(Some(text(&other))),
                }
            }
        }
    }

    /// A Task's TimeoutSeconds or HeartbeatSeconds (`field`), a positive integer, from the
    /// effective input in the attempt's `env`.
    pub(super) fn task_seconds(
        &self,
        n: &Option<Number>,
        field: &str,
        input: &Value,
        env: &Env,
    ) -> Result<Option<u64>, Failure> {
        match n {
            None => Ok(None),
            Some(Number::Fixed(s)) => Ok(Some(*s)),
            Some(Number::Expr(e)) => {
                let v = self.expr_integer(e, field, input, env.context)?;
                if v > 0 {
                    Ok(Some(v as u64))
                } else {
                    Err(self.query_failure(&unexpected_type(e, field, "positive integer", &Value::from(v))))
                }
            }
            Some(Number::Path(p)) => match data::resolve(p, input, env) {
                Ok(Value::Number(n)) if n.as_u64().is_some_and(|v| v > 0) => Ok(n.as_u64()),
                Ok(v) => Err(self.runtime(&format!(
                    "The {field}Path field refers to value \"{}\" which is not a valid positive integer: {}",
                    text(&v),
                    p.text()
                ))),
                Err(e) => Err(self.runtime(&invalid_path(p, e))),
            },
        }
    }

    /// A Map's items: what ItemsPath selects from the effective input or what JSONata's
    /// Items gives (all of the input without either), which must be an array.
    pub(super) fn map_items(&self, mp: &MapState, input: &Value) -> Result<Vec<Value>, Failure> {
        let jsonata = self.state.language() == crate::model::QueryLanguage::Jsonata;
        let items = match &mp.items {
            Items::Input => input.clone(),
            Items::Path(p) => data::resolve(p, input, &self.env())
                .map_err(|e| self.runtime(&invalid_path(p, e)))?,
            Items::Jsonata(p) => {
                let v = self.evaluate(p, "Items", self.sees(input, &self.context))?;
                if let (crate::jsonata::Payload::Expr(e), false) = (p, v.is_array()) {
                    return Err(self.query_failure(&unexpected_type(e, "Items", "array", &v)));
                }
                v
            }
        };
        let Value::Array(items) = items else {
            if jsonata {
                // AWS's message: recorded in tests/conformance/cases/scenarios/
                // base_scenarios.map_state_items_input_types__*.
                return Err(self.query_failure_at(
                    &format!("Map state input must be an array but was: {}", text(&items)),
                    None,
                ));
            }
            let path = match &mp.items {
                Items::Path(p) => p.text().to_string(),
                _ => "$".into(),
            };
            return Err(self.runtime(&format!("Reference path \"{path}\" must point to array.")));
        };
        Ok(items)
    }

    /// A Map's MaxConcurrency or ToleratedFailureCount (`field`), a non-negative integer
    /// (a string holding one will do), from the effective input.
    pub(super) fn map_count(
        &self,
        n: &Option<Number>,
        field: &str,
        negative_msg: &str,
        input: &Value,
    ) -> Result<Option<u64>, Failure> {
        match n {
            None => Ok(None),
            Some(Number::Fixed(v)) => Ok(Some(*v)),
            Some(Number::Expr(e)) => {
                let i = self.expr_integer(e, field, input, &self.context)?;
                if i < 0 {
                    Err(self.query_failure(negative_msg))
                } else {
                    Ok(Some(i as u64))
                }
            }
            Some(Number::Path(p)) => {
                let v = data::resolve(p, input, &self.env())
                    .map_err(|e| self.runtime(&invalid_path(p, e)))?;
                let as_int = match &v {
                    Value::Number(n) => n.as_i64(),
                    Value::String(s) => s.trim().parse::<i64>().ok(),
                    _ => None,
                };
                match as_int {
                    Some(i) if i < 0 => Err(self.runtime(negative_msg)),
                    Some(i) => Ok(Some(i as u64)),
                    None => Err(self.runtime(&format!(
                        "The {field}Path field refers to value \"{}\" which is not a valid integer: {}",
                        quoted(&v),
                        p.text()
                    ))),
                }
            }
        }
    }

    /// A Map's ToleratedFailurePercentage, from 0 to 100 (a string holding one will do),
    /// from the effective input.
    pub(super) fn map_percentage(
        &self,
        p: &Option<PercentSpec>,
        input: &Value,
    ) -> Result<Option<f64>, Failure> {
        match p {
            None => Ok(None),
            Some(PercentSpec::Fixed(f)) => Ok(Some(*f)),
            Some(PercentSpec::Expr(e)) => {
                let field = "ToleratedFailurePercentage";
                let v = self.evaluate_expr(e, field, self.sees(input, &self.context))?;
                match v.as_f64() {
                    Some(f) if (0.0..=100.0).contains(&f) => Ok(Some(f)),
                    Some(_) => {
                        Err(self
                            .query_failure("ToleratedFailurePercentage must be between 0 and 100."))
                    }
                    None => Err(self.query_failure(&unexpected_type(e, field, "number", &v))),
                }
            }
            Some(PercentSpec::Path(p)) => {
                let v = data::resolve(p, input, &self.env())
                    .map_err(|e| self.runtime(&invalid_path(p, e)))?;
                let as_float = match &v {
                    Value::String(s) => s.trim().parse::<f64>().ok(),
                    other => other.as_f64(),
                };
                match as_float {
                    Some(f) if (0.0..=100.0).contains(&f) => Ok(Some(f)),
                    Some(_) => Err(self.runtime(
                        "ToleratedFailurePercentage must be between 0 and 100.",
                    )),
                    None => Err(self.runtime(&format!(
                        "The ToleratedFailurePercentagePath field refers to value \"{}\" which is not a valid float: {}",
                        quoted(&v),
                        p.text()
                    ))),
                }
            }
        }
    }
}
