//! Retriers and catchers (Retry and Catch of Task, Parallel and Map states): ErrorEquals,
//! the back-off fields, a catcher's Next, ResultPath and Assign.

use serde_json::{Map, Value};

use crate::model::*;

use super::jsonata::Reads;
use super::{MAX_DELAY_SECONDS, Validator};

impl Validator {
    /// A retrier's or catcher's ErrorEquals (`last`: it is the last one, where States.ALL
    /// may appear).
    fn error_equals(&mut self, o: &Map<String, Value>, loc: &str, last: bool) -> Vec<String> {
        let Some(Value::Array(a)) = o.get("ErrorEquals") else {
            self.problem(
                loc,
                "missing required field 'ErrorEquals' (a non-empty array)",
            );
            return Vec::new();
        };
        if a.is_empty() {
            self.problem(
                &format!("{loc}/ErrorEquals"),
                "ErrorEquals must not be empty",
            );
        }
        let names: Vec<String> = a
            .iter()
            .filter_map(|x| x.as_str().map(String::from))
            .collect();
        if names.len() != a.len() {
            self.problem(&format!("{loc}/ErrorEquals"), "error names must be strings");
        }
        if names.iter().any(|n| n == "States.ALL") {
            if names.len() > 1 {
                self.problem(
                    &format!("{loc}/ErrorEquals"),
                    "States.ALL must appear alone in ErrorEquals",
                );
            }
            if !last {
                self.problem(
                    &format!("{loc}/ErrorEquals"),
                    "States.ALL must be in the last retrier or catcher",
                );
            }
        }
        names
    }

    /// A Retry array at `loc`.
    pub(super) fn retriers(&mut self, v: Option<&Value>, loc: &str) -> Vec<Retrier> {
        let Some(v) = v else { return Vec::new() };
        let Some(a) = v.as_array() else {
            self.problem(loc, "Retry must be an array");
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, r) in a.iter().enumerate() {
            let rloc = format!("{loc}/{i}");
            let Some(o) = r.as_object() else {
                self.problem(&rloc, "a retrier must be an object");
                continue;
            };
            self.retrier_fields(o, &rloc);
            let error_equals = self.error_equals(o, &rloc, i + 1 == a.len());
            let interval_seconds = match o.get("IntervalSeconds") {
                None => 1,
                Some(x) => self
                    .seconds(x, &format!("{rloc}/IntervalSeconds"), 1)
                    .unwrap_or(1),
            };
            let max_attempts = match o.get("MaxAttempts") {
                None => 3,
                Some(x) => match x.as_u64() {
                    Some(n) if n <= 99_999_999 => n,
                    _ => {
                        self.problem(
                            &format!("{rloc}/MaxAttempts"),
                            "must be an integer from 0 to 99999999",
                        );
                        3
                    }
                },
            };
            let backoff_rate = match o.get("BackoffRate") {
                None => 2.0,
                Some(x) => match x.as_f64() {
                    Some(f) if f >= 1.0 => f,
                    _ => {
                        self.problem(
                            &format!("{rloc}/BackoffRate"),
                            "must be a number of at least 1.0",
                        );
                        2.0
                    }
                },
            };
            // "must be greater than 0 and less than 31622401":
            // https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
            let max_delay_seconds = o.get("MaxDelaySeconds").and_then(|x| match x.as_u64() {
                Some(n) if (1..=MAX_DELAY_SECONDS).contains(&n) => Some(n),
                _ => {
                    self.problem(
                        &format!("{rloc}/MaxDelaySeconds"),
                        format!("must be an integer from 1 to {MAX_DELAY_SECONDS}, got {x}"),
                    );
                    None
                }
            });
            let jitter = match o.get("JitterStrategy").map(|j| j.as_str()) {
                None | Some(Some("NONE")) => Jitter::None,
                Some(Some("FULL")) => Jitter::Full,
                _ => {
                    self.problem(
                        &format!("{rloc}/JitterStrategy"),
                        "must be \"FULL\" or \"NONE\"",
                    );
                    Jitter::None
                }
            };
            out.push(Retrier {
                error_equals,
                interval_seconds,
                max_attempts,
                backoff_rate,
                max_delay_seconds,
                jitter,
            });
        }
        out
    }

    /// A Catch array at `loc`, of a state in query language `lang`.
    pub(super) fn catchers(
        &mut self,
        v: Option<&Value>,
        loc: &str,
        lang: QueryLanguage,
    ) -> Vec<Catcher> {
        let Some(v) = v else { return Vec::new() };
        let Some(a) = v.as_array() else {
            self.problem(loc, "Catch must be an array");
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, c) in a.iter().enumerate() {
            let cloc = format!("{loc}/{i}");
            let Some(o) = c.as_object() else {
                self.problem(&cloc, "a catcher must be an object");
                continue;
            };
            self.catcher_fields(o, &cloc, lang);
            let error_equals = self.error_equals(o, &cloc, i + 1 == a.len());
            let next = match o.get("Next") {
                Some(Value::String(n)) => n.clone(),
                _ => {
                    self.problem(&cloc, "missing required field 'Next' (a string)");
                    continue;
                }
            };
            let output =
                match lang {
                    QueryLanguage::JsonPath => CatchOutput::ResultPath(self.result_path(o, &cloc)),
                    QueryLanguage::Jsonata => CatchOutput::Output(o.get("Output").and_then(|x| {
                        self.payload(x, &format!("{cloc}/Output"), Reads::ErrorOutput)
                    })),
                };
            let assign = o
                .get("Assign")
                .and_then(|a| self.assign(a, &format!("{cloc}/Assign"), lang, Reads::ErrorOutput));
            out.push(Catcher {
                error_equals,
                next,
                output,
                assign,
            });
        }
        out
    }
}
