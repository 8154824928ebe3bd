//! States: the fields every state has (Next/End, InputPath, OutputPath, Assign) and each
//! type's own: Pass, Task, Wait, Fail and Parallel here; Choice and Map have modules of
//! their own.

use serde_json::{Map, Value};

use crate::intrinsic::{self, looks_like_call};
use crate::jsonata::is_expression;
use crate::model::*;

use super::Validator;
use super::jsonata::Reads;

/// Whether a state's JSON mentions the context object anywhere (`$$` in JSONPath,
/// `$states.context` in JSONata).
fn mentions_context(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains("$$") || s.contains("$states.context"),
        Value::Array(a) => a.iter().any(mentions_context),
        Value::Object(o) => o.values().any(mentions_context),
        _ => false,
    }
}

impl Validator {
    /// The state `name` at `loc`: the fields every state has, then its type's own.
    pub(super) fn state(&mut self, name: &str, s: &Value, loc: &str) -> Option<State> {
        let Some(obj) = s.as_object() else {
            self.problem(loc, "a state must be a JSON object");
            return None;
        };
        let ty = match obj.get("Type") {
            Some(Value::String(t)) => t.as_str(),
            Some(_) => {
                self.problem(&format!("{loc}/Type"), "Type must be a string");
                return None;
            }
            None => {
                self.problem(loc, "missing required field 'Type'");
                return None;
            }
        };
        if !self.known_state_type(ty, loc) {
            return None;
        }
        let lang = self.query_language(obj, loc, self.top_language)?;
        self.state_fields(obj, ty, loc, lang);
        let next = match (obj.get("Next"), obj.get("End")) {
            _ if matches!(ty, "Choice" | "Succeed" | "Fail") => Transition::None,
            (Some(Value::String(n)), None) => Transition::Next(n.clone()),
            (None, Some(Value::Bool(true))) => Transition::End,
            (Some(_), Some(_)) => {
                self.problem(loc, "a state cannot have both 'Next' and 'End'");
                Transition::End
            }
            (Some(_), None) => {
                self.problem(&format!("{loc}/Next"), "Next must be a string");
                Transition::End
            }
            (None, Some(_)) => {
                self.problem(&format!("{loc}/End"), "End must be true when present");
                Transition::End
            }
            (None, None) => {
                self.problem(loc, "a non-terminal state needs 'Next' or 'End: true'");
                Transition::End
            }
        };
        // $states.result: only in the Output and Assign of the states that have a result.
        let reads = if matches!(ty, "Task" | "Map" | "Parallel") {
            Reads::Result
        } else {
            Reads::Input
        };
        let io = match lang {
            QueryLanguage::JsonPath => Io::JsonPath {
                input_path: self.path_field(obj, "InputPath", loc, true),
                output_path: self.path_field(obj, "OutputPath", loc, true),
            },
            QueryLanguage::Jsonata => Io::Jsonata {
                output: obj
                    .get("Output")
                    .and_then(|o| self.payload(o, &format!("{loc}/Output"), reads)),
            },
        };
        let assign = obj
            .get("Assign")
            .and_then(|a| self.assign(a, &format!("{loc}/Assign"), lang, reads));
        let kind = match ty {
            "Pass" => Kind::Pass(match lang {
                QueryLanguage::JsonPath => Some(PassPath {
                    result: obj.get("Result").cloned(),
                    parameters: obj
                        .get("Parameters")
                        .map(|p| self.template(p, &format!("{loc}/Parameters"))),
                    result_path: self.result_path(obj, loc),
                }),
                QueryLanguage::Jsonata => None,
            }),
            "Task" => Kind::Task(Box::new(self.task(obj, loc, lang))),
            "Choice" => self.choice(obj, loc, lang),
            "Wait" => Kind::Wait(self.wait(obj, loc, lang)?),
            "Succeed" => Kind::Succeed,
            "Fail" => Kind::Fail {
                error: self.fail_field(obj, "Error", loc, lang),
                cause: self.fail_field(obj, "Cause", loc, lang),
            },
            "Parallel" => Kind::Parallel(Box::new(self.parallel(obj, loc, lang))),
            "Map" => Kind::Map(Box::new(self.map(obj, loc, lang)?)),
            _ => return None,
        };
        Some(State {
            name: name.to_string(),
            io,
            next,
            assign,
            kind,
            uses_context: mentions_context(s),
        })
    }

    /// The fields Task, Parallel and Map share: their data fields (JSONPath's Parameters,
    /// ResultSelector and ResultPath; JSONata's Arguments, which a Map does not have),
    /// Retry and Catch.
    pub(super) fn common(
        &mut self,
        obj: &Map<String, Value>,
        loc: &str,
        lang: QueryLanguage,
    ) -> Common {
        let data = match lang {
            QueryLanguage::JsonPath => WorkData::JsonPath {
                parameters: obj
                    .get("Parameters")
                    .map(|p| self.template(p, &format!("{loc}/Parameters"))),
                result_selector: obj
                    .get("ResultSelector")
                    .map(|p| self.template(p, &format!("{loc}/ResultSelector"))),
                result_path: self.result_path(obj, loc),
            },
            QueryLanguage::Jsonata => WorkData::Jsonata {
                arguments: obj
                    .get("Arguments")
                    .and_then(|a| self.payload(a, &format!("{loc}/Arguments"), Reads::Input)),
            },
        };
        Common {
            data,
            retry: self.retriers(obj.get("Retry"), &format!("{loc}/Retry")),
            catch: self.catchers(obj.get("Catch"), &format!("{loc}/Catch"), lang),
        }
    }

    /// A Task state's own fields.
    fn task(&mut self, obj: &Map<String, Value>, loc: &str, lang: QueryLanguage) -> Task {
        let resource = match obj.get("Resource") {
            Some(Value::String(r)) => r.clone(),
            _ => {
                self.problem(loc, "missing required field 'Resource' (a string)");
                String::new()
            }
        };
        let timeout = self.number(obj, "TimeoutSeconds", loc, true, lang);
        let heartbeat = self.number(obj, "HeartbeatSeconds", loc, true, lang);
        if let (Some(Number::Fixed(t)), Some(Number::Fixed(h))) = (&timeout, &heartbeat)
            && h >= t
        {
            self.problem(
                &format!("{loc}/HeartbeatSeconds"),
                "HeartbeatSeconds must be smaller than TimeoutSeconds",
            );
        }
        let cloc = format!("{loc}/Credentials");
        Task {
            resource,
            common: self.common(obj, loc, lang),
            timeout,
            heartbeat,
            credentials: obj.get("Credentials").and_then(|c| match lang {
                QueryLanguage::JsonPath => Some(Builder::Template(self.template(c, &cloc))),
                QueryLanguage::Jsonata => {
                    self.payload(c, &cloc, Reads::Input).map(Builder::Jsonata)
                }
            }),
        }
    }

    /// A Wait state's one duration field.
    fn wait(&mut self, obj: &Map<String, Value>, loc: &str, lang: QueryLanguage) -> Option<Wait> {
        if lang == QueryLanguage::Jsonata {
            return self.jsonata_wait(obj, loc);
        }
        let given: Vec<&str> = ["Seconds", "SecondsPath", "Timestamp", "TimestampPath"]
            .into_iter()
            .filter(|k| obj.contains_key(*k))
            .collect();
        if given.len() != 1 {
            self.problem(
                loc,
                "a Wait state needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath",
            );
            return None;
        }
        let v = &obj[given[0]];
        let floc = format!("{loc}/{}", given[0]);
        match given[0] {
            "Seconds" => self.seconds(v, &floc, 0).map(Wait::Seconds),
            "Timestamp" => match v.as_str() {
                Some(t) if crate::timestamp::parse(t).is_some() => Some(Wait::Timestamp(t.into())),
                _ => {
                    self.problem(
                        &floc,
                        "must be an ISO-8601 timestamp such as 2016-03-14T01:59:00Z",
                    );
                    None
                }
            },
            key => {
                let s = v.as_str().unwrap_or("");
                let p = self.path(s, &floc, true)?;
                Some(if key == "SecondsPath" {
                    Wait::SecondsPath(p)
                } else {
                    Wait::TimestampPath(p)
                })
            }
        }
    }

    /// A JSONata Wait state's Seconds or Timestamp, each a value or an expression.
    fn jsonata_wait(&mut self, obj: &Map<String, Value>, loc: &str) -> Option<Wait> {
        match (obj.get("Seconds"), obj.get("Timestamp")) {
            (Some(v), None) => {
                let floc = format!("{loc}/Seconds");
                match self.jsonata_number(v, &floc, 0, true)? {
                    Number::Fixed(n) => Some(Wait::Seconds(n)),
                    Number::Expr(e) => Some(Wait::SecondsExpr(e)),
                    Number::Path(_) => None,
                }
            }
            (None, Some(v)) => {
                let floc = format!("{loc}/Timestamp");
                match v.as_str() {
                    Some(t) if is_expression(t) => {
                        self.expression(t, &floc).map(Wait::TimestampExpr)
                    }
                    Some(t) if crate::timestamp::parse(t).is_some() => {
                        Some(Wait::Timestamp(t.into()))
                    }
                    _ => {
                        self.problem(
                            &floc,
                            "must be an ISO-8601 timestamp such as 2016-03-14T01:59:00Z or a JSONata expression",
                        );
                        None
                    }
                }
            }
            // SecondsPath and TimestampPath have been refused as JSONPath fields already.
            (None, None)
                if obj.contains_key("SecondsPath") || obj.contains_key("TimestampPath") =>
            {
                None
            }
            _ => {
                self.problem(loc, "a Wait state needs exactly one of Seconds, Timestamp");
                None
            }
        }
    }

    /// A Fail state's Error or Cause (`key`), given literally or by `…Path` (a reference
    /// path or an intrinsic function); in JSONata, a string or an expression.
    fn fail_field(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        loc: &str,
        lang: QueryLanguage,
    ) -> Option<FailField> {
        if lang == QueryLanguage::Jsonata {
            let floc = format!("{loc}/{key}");
            return match obj.get(key)? {
                Value::String(s) if is_expression(s) => {
                    self.expression(s, &floc).map(FailField::Expr)
                }
                Value::String(s) => Some(FailField::Literal(s.clone())),
                _ => {
                    self.problem(&floc, format!("{key} must be a string"));
                    None
                }
            };
        }
        let pkey = format!("{key}Path");
        match (obj.get(key), obj.get(&pkey)) {
            (Some(_), Some(_)) => {
                self.problem(loc, format!("'{key}' and '{pkey}' cannot both be given"));
                None
            }
            (Some(Value::String(s)), None) => Some(FailField::Literal(s.clone())),
            (Some(_), None) => {
                self.problem(&format!("{loc}/{key}"), format!("{key} must be a string"));
                None
            }
            (None, Some(Value::String(s))) => {
                let floc = format!("{loc}/{pkey}");
                if looks_like_call(s) {
                    match intrinsic::parse(s) {
                        Ok(c) => Some(FailField::Call(c)),
                        Err(e) => {
                            self.problem(&floc, e.to_string());
                            None
                        }
                    }
                } else {
                    self.path(s, &floc, true).map(FailField::Path)
                }
            }
            (None, Some(_)) => {
                self.problem(&format!("{loc}/{pkey}"), format!("{pkey} must be a string"));
                None
            }
            (None, None) => None,
        }
    }

    /// A Parallel state's own fields: its branches, each a machine.
    fn parallel(&mut self, obj: &Map<String, Value>, loc: &str, lang: QueryLanguage) -> Parallel {
        let common = self.common(obj, loc, lang);
        let mut branches = Vec::new();
        match obj.get("Branches") {
            Some(Value::Array(bs)) if !bs.is_empty() => {
                for (i, b) in bs.iter().enumerate() {
                    let bloc = format!("{loc}/Branches/{i}");
                    match b.as_object() {
                        Some(bo) => {
                            self.sub_machine_fields(bo, &bloc);
                            if let Some(m) = self.machine(bo, &bloc) {
                                branches.push(m);
                            }
                        }
                        None => self.problem(&bloc, "a branch must be an object"),
                    }
                }
            }
            _ => self.problem(loc, "a Parallel state needs a non-empty 'Branches' array"),
        }
        Parallel { branches, common }
    }
}
