//! Fields a state gives literally or by a path into its input (`…Path`): a Wait's
//! duration, a Fail's error and cause, a Task's TimeoutSeconds and HeartbeatSeconds, a
//! Map's items, MaxConcurrency and tolerated failures. Their values at run time, and AWS's
//! messages when a path finds nothing or a value of the wrong kind. (In JSONata these
//! fields take `{% %}` expressions instead.)

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::data::{self, Env};
use crate::model::{FailField, MapState, Number, PercentSpec, Template, Wait};

use super::entered::Entered;
use super::failures::{Failure, invalid_path};
use super::text;

/// A value as AWS quotes it in a message: a string as is, anything else as JSON text.
fn quoted(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        o => text(o),
    }
}

impl Entered<'_, '_> {
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

    /// A Map's items: what ItemsPath selects from the effective input (all of it without
    /// one), which must be an array.
    pub(super) fn map_items(&self, mp: &MapState, input: &Value) -> Result<Vec<Value>, Failure> {
        let items = match &mp.items_path {
            None => input.clone(),
            Some(p) => data::resolve(p, input, &self.env())
                .map_err(|e| self.runtime(&invalid_path(p, e)))?,
        };
        let Value::Array(items) = items else {
            let path = mp
                .items_path
                .as_ref()
                .map(|p| p.text().to_string())
                .unwrap_or("$".into());
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
