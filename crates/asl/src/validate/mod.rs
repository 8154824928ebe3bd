//! Validation: turns a definition (JSON or YAML) into a [`StateMachine`], reporting every
//! problem with its location (`/States/LoadCustomer/Next`), as ValidateStateMachineDefinition
//! does.
//!
//! This module holds the entry points and the walk over machines and states; the rest is
//! split by concern, each part an `impl` of the validator:
//!
//! - `fields`: the field tables (which fields each kind of object allows);
//! - `values`: compiling field values: paths, payload templates, Assign, numbers;
//! - `states`: each state type's own fields;
//! - `graph`: the transition graph (targets, reachability, an end);
//! - `retry`: retriers and catchers;
//! - `choice`: Choice rules;
//! - `map`: Map states;
//! - `distributed`: a Distributed Map's ItemReader, ItemBatcher and ResultWriter;
//! - `jsonata`: the field values of JSONata states.

mod choice;
mod distributed;
mod fields;
mod graph;
mod jsonata;
mod map;
mod retry;
mod states;
mod values;

use std::collections::HashMap;
use std::fmt;

use indexmap::IndexMap;
use serde_json::{Map, Value};

use crate::model::*;

/// One validation problem.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// JSON-pointer-like location of the offending field.
    pub location: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// Why a definition was refused.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DefinitionError {
    #[error("the definition is not valid JSON or YAML: {0}")]
    Syntax(String),
    #[error("the definition has {} problem(s):\n{}", .0.len(), .0.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Problem>),
    /// A valid definition the local executor cannot run (only from [`runnable`]).
    #[error("{}", .0.iter().map(unsupported_line).collect::<Vec<_>>().join("\n"))]
    Unsupported(Vec<Problem>),
}

/// How a feature the local executor cannot run is reported:
/// `not supported by the local executor yet: FIELD at /States/X`.
pub fn unsupported_line(p: &Problem) -> String {
    format!(
        "not supported by the local executor yet: {} at {}",
        p.message, p.location
    )
}

/// A validated machine the local executor can run, or what it cannot run yet. `asl validate`
/// answers as AWS's ValidateStateMachineDefinition does ([`validate`]); `asl exec` and
/// `rsqlflow run` also need this.
pub fn runnable(machine: StateMachine) -> Result<StateMachine, DefinitionError> {
    if machine.unsupported.is_empty() {
        Ok(machine)
    } else {
        Err(DefinitionError::Unsupported(machine.unsupported))
    }
}

/// Parses, validates and checks that the local executor can run definition text.
pub fn load_runnable(text: &str) -> Result<StateMachine, DefinitionError> {
    runnable(load(text)?)
}

/// Parses definition text: JSON, or YAML when it is not JSON.
pub fn parse_text(text: &str) -> Result<Value, DefinitionError> {
    match serde_json::from_str::<Value>(text) {
        Ok(v) => Ok(v),
        Err(json_err) => {
            let t = text.trim_start();
            if t.starts_with('{') || t.starts_with('[') {
                return Err(DefinitionError::Syntax(format!(
                    "line {}, column {}: {json_err}",
                    json_err.line(),
                    json_err.column()
                )));
            }
            serde_yaml::from_str::<Value>(text).map_err(|e| DefinitionError::Syntax(e.to_string()))
        }
    }
}

/// Validates a parsed definition.
pub fn validate(def: &Value) -> Result<StateMachine, DefinitionError> {
    // serde_json refuses definition text nested deeper than 128 levels; a definition built
    // as a value is held to the same, so that the recursive validator, Choice rules, nested
    // Parallel/Map states and payload templates stay within the stack.
    if crate::data::deeper_than(def, MAX_DEFINITION_DEPTH) {
        return Err(DefinitionError::Invalid(vec![Problem {
            location: "/".into(),
            message: format!("the definition is nested deeper than {MAX_DEFINITION_DEPTH} levels"),
        }]));
    }
    let mut v = Validator {
        problems: Vec::new(),
        unsupported: Vec::new(),
        names: HashMap::new(),
        top_language: QueryLanguage::JsonPath,
    };
    let sm = v.machine_top(def).map(|mut sm| {
        sm.unsupported = std::mem::take(&mut v.unsupported);
        sm
    });
    if v.problems.is_empty() {
        sm.ok_or_else(|| DefinitionError::Invalid(Vec::new()))
    } else {
        Err(DefinitionError::Invalid(v.problems))
    }
}

/// Parses and validates definition text.
pub fn load(text: &str) -> Result<StateMachine, DefinitionError> {
    validate(&parse_text(text)?)
}

/// How deeply a definition may nest (serde_json's own limit when parsing text).
pub const MAX_DEFINITION_DEPTH: usize = 128;

/// The largest number of seconds AWS accepts in a seconds field (see `Validator::seconds`).
pub const MAX_SECONDS: u64 = 99_999_999;

/// The largest Retry MaxDelaySeconds AWS accepts (366 days).
pub const MAX_DELAY_SECONDS: u64 = 31_622_400;

/// Walks a definition, collecting problems.
struct Validator {
    problems: Vec<Problem>,
    /// What AWS accepts but the local executor cannot run yet.
    unsupported: Vec<Problem>,
    /// Every state name seen, with its location (names are unique machine-wide).
    names: HashMap<String, String>,
    /// The machine's query language: the default of every state, also inside Parallel
    /// branches and Map processors.
    top_language: QueryLanguage,
}

impl Validator {
    /// Records a problem at `location` ("" is the definition itself).
    fn problem(&mut self, location: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            location: if location.is_empty() {
                "/".into()
            } else {
                location.into()
            },
            message: message.into(),
        });
    }

    /// The definition's top level: its fields, then its machine.
    fn machine_top(&mut self, def: &Value) -> Option<StateMachine> {
        let Some(obj) = def.as_object() else {
            self.problem("", "a state machine definition must be a JSON object");
            return None;
        };
        self.top_level_fields(obj);
        self.top_language = self
            .query_language(obj, "", QueryLanguage::JsonPath)
            .unwrap_or_default();
        let comment = obj
            .get("Comment")
            .and_then(|c| c.as_str())
            .map(String::from);
        if let Some(vers) = obj.get("Version")
            && vers.as_str() != Some("1.0")
        {
            self.problem("/Version", "Version must be \"1.0\"");
        }
        let timeout_seconds = match obj.get("TimeoutSeconds") {
            None => None,
            Some(t) => self.seconds(t, "/TimeoutSeconds", 1),
        };
        let root = self.machine(obj, "")?;
        Some(StateMachine {
            comment,
            timeout_seconds,
            root,
            unsupported: Vec::new(),
        })
    }

    /// The QueryLanguage at `loc` (`default` when absent). A state cannot go back to
    /// JSONPath in a JSONata machine: AWS's ValidateStateMachineDefinition refuses it with
    /// "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine"
    /// (quoted in /work/shared/specs/asl.md §1.2). `None` when the value is not a language.
    fn query_language(
        &mut self,
        obj: &Map<String, Value>,
        loc: &str,
        default: QueryLanguage,
    ) -> Option<QueryLanguage> {
        match obj.get("QueryLanguage") {
            None => Some(default),
            Some(Value::String(s)) if s == "JSONPath" => {
                if !loc.is_empty() && self.top_language == QueryLanguage::Jsonata {
                    self.problem(
                        &format!("{loc}/QueryLanguage"),
                        "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine",
                    );
                }
                Some(QueryLanguage::JsonPath)
            }
            Some(Value::String(s)) if s == "JSONata" => Some(QueryLanguage::Jsonata),
            Some(other) => {
                self.problem(
                    &format!("{loc}/QueryLanguage"),
                    format!("QueryLanguage must be \"JSONPath\" or \"JSONata\", got {other}"),
                );
                None
            }
        }
    }

    /// A machine (the top level, a branch, an item processor) at `loc`: StartAt, States
    /// (each state), then its transitions.
    fn machine(&mut self, obj: &Map<String, Value>, loc: &str) -> Option<Machine> {
        let start_at = match obj.get("StartAt") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.problem(&format!("{loc}/StartAt"), "StartAt must be a string");
                None
            }
            None => {
                self.problem(loc, "missing required field 'StartAt'");
                None
            }
        };
        let states_obj = match obj.get("States") {
            Some(Value::Object(s)) => s,
            Some(_) => {
                self.problem(&format!("{loc}/States"), "States must be an object");
                return None;
            }
            None => {
                self.problem(loc, "missing required field 'States'");
                return None;
            }
        };
        if states_obj.is_empty() {
            self.problem(
                &format!("{loc}/States"),
                "States must hold at least one state",
            );
        }
        let mut states = IndexMap::default();
        for (name, s) in states_obj {
            let sloc = format!("{loc}/States/{name}");
            self.state_name(name, &sloc);
            if let Some(st) = self.state(name, s, &sloc) {
                states.insert(name.clone(), st);
            }
        }
        let start_at = start_at?;
        if !states_obj.contains_key(&start_at) {
            self.problem(
                &format!("{loc}/StartAt"),
                format!("StartAt '{start_at}' is not a state in this States block"),
            );
            return None;
        }
        let m = Machine { start_at, states };
        self.transitions(&m, states_obj, loc);
        Some(m)
    }

    /// A state name: its length, and unique across the whole definition.
    fn state_name(&mut self, name: &str, loc: &str) {
        if name.is_empty() || name.chars().count() > 80 {
            self.problem(loc, "a state name must be 1 to 80 characters long");
        }
        if let Some(prev) = self.names.insert(name.to_string(), loc.to_string()) {
            self.problem(
                loc,
                format!("state name '{name}' is already used at {prev}: names must be unique across the state machine"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn problems(def: Value) -> Vec<String> {
        match validate(&def) {
            Ok(_) => Vec::new(),
            Err(DefinitionError::Invalid(p)) => p.iter().map(|p| p.to_string()).collect(),
            Err(e) => vec![e.to_string()],
        }
    }

    #[test]
    fn reports_every_problem_with_its_location() {
        let p = problems(json!({
            "StartAt": "A",
            "States": {
                "A": {"Type": "Pass", "Next": "Nowhere", "Bogus": 1},
                "B": {"Type": "Pass", "End": true},
                "C": {"Type": "Task", "Resource": "x", "End": true, "Output": "{% 1 %}"}
            }
        }));
        let all = p.join("\n");
        assert!(
            all.contains("/States/A/Next: 'Nowhere' is not a state"),
            "{all}"
        );
        assert!(
            all.contains("/States/A/Bogus: field 'Bogus' is not supported"),
            "{all}"
        );
        assert!(
            all.contains("/States/B: state 'B' is not reachable"),
            "{all}"
        );
        assert!(
            all.contains("/States/C/Output: The QueryLanguage is set to 'JSONPath'"),
            "{all}"
        );
    }

    #[test]
    fn one_problem_one_error() {
        // The Wait is refused for its Seconds; the states after it are still reachable.
        let p = problems(json!({"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": "ten", "Next": "C"},
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.a", "IsPresent": true, "Next": "D"}],
                  "Default": "E"},
            "D": {"Type": "Task", "Resource": "x", "TimeoutSeconds": -1,
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "F"}], "Next": "E"},
            "E": {"Type": "Pass", "End": true},
            "F": {"Type": "Fail"}}}));
        assert_eq!(p.len(), 2, "{p:#?}");
        assert!(p[0].starts_with("/States/W/Seconds: "), "{p:?}");
        assert!(p[1].starts_with("/States/D/TimeoutSeconds: "), "{p:?}");
        // A machine whose only ending state is refused is not also "without an end".
        let p = problems(json!({"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": "ten", "End": true}}}));
        assert_eq!(p.len(), 1, "{p:?}");
    }

    #[test]
    fn jsonata_machines_validate_without_jsonpath_cascades() {
        let ok = problems(
            json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {
            "A": {"Type": "Task", "Resource": "x", "Arguments": {"a": "{% $states.input %}"},
                  "Output": "{% $states.result %}", "Next": "B",
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Output": "{% $states.errorOutput %}", "Next": "B"}]},
            "B": {"Type": "Choice", "Choices": [{"Condition": "{% $x = 1 %}", "Next": "C", "Output": 1}],
                  "Default": "C"},
            "C": {"Type": "Succeed"}}}),
        );
        assert!(ok.is_empty(), "{ok:?}");
    }

    #[test]
    fn jsonata_refusals_name_the_field() {
        let p = problems(
            json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {
            "A": {"Type": "Pass", "InputPath": "$.a", "Output": {"a": "{% 1 + %}"}, "Next": "B"},
            "B": {"Type": "Pass", "QueryLanguage": "JSONPath", "End": true,
                  "Assign": {"r": "{% $states.result %}"}}}}),
        );
        let all = p.join("\n");
        assert!(all.contains("/States/A/InputPath: The QueryLanguage is set to 'JSONata', but field 'InputPath' is only supported for the 'JSONPath' QueryLanguage"), "{all}");
        assert!(
            all.contains("/States/A/Output/a: invalid JSONata expression"),
            "{all}"
        );
        assert!(
            all.contains("/States/B/QueryLanguage: 'QueryLanguage' can not be 'JSONPath'"),
            "{all}"
        );
        assert_eq!(p.len(), 3, "{all}");
        let p = problems(json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "QueryLanguage": "JSONata", "End": true,
                  "Output": "{% $states.result %}"}}}));
        assert!(
            p[0].starts_with("/States/A/Output: $states.result is only available"),
            "{p:?}"
        );
    }

    #[test]
    fn checks_paths_and_intrinsics() {
        let p = problems(
            json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true,
            "InputPath": "$.a[", "Parameters": {"x.$": "States.Nope(1)", "y.$": "$.ok"}}}}),
        );
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].starts_with("/States/A/InputPath"));
        assert!(p[1].starts_with("/States/A/Parameters/x.$"));
    }

    #[test]
    fn successors_name_every_target_with_its_field() {
        let m = validate(&json!({"StartAt": "C", "States": {
            "C": {"Type": "Choice", "Default": "D",
                  "Choices": [{"Variable": "$.a", "IsPresent": true, "Next": "T"}]},
            "T": {"Type": "Task", "Resource": "x", "Next": "D",
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "C"}]},
            "D": {"Type": "Succeed"}}}))
        .expect("valid");
        let of = |name: &str| -> Vec<(String, String)> {
            m.root.states[name]
                .successors()
                .into_iter()
                .map(|(t, via)| (t.to_string(), via.pointer()))
                .collect()
        };
        let pair = |t: &str, p: &str| (t.to_string(), p.to_string());
        assert_eq!(of("C"), [pair("T", "Choices/0/Next"), pair("D", "Default")]);
        assert_eq!(of("T"), [pair("D", "Next"), pair("C", "Catch/0/Next")]);
        assert!(of("D").is_empty());
    }
}
