//! Validation: turns a definition (JSON or YAML) into a [`StateMachine`], reporting every
//! problem with its location (`/States/LoadCustomer/Next`), as ValidateStateMachineDefinition
//! does.

use std::collections::{HashMap, HashSet};
use std::fmt;

use indexmap::IndexMap;
use serde_json::{Map, Value};

use crate::intrinsic::{self, looks_like_call};
use crate::model::*;
use crate::path::Path;

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
        names: HashMap::new(),
    };
    let sm = v.machine_top(def);
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

/// Whether a state's JSON mentions the context object anywhere.
fn mentions_context(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains("$$"),
        Value::Array(a) => a.iter().any(mentions_context),
        Value::Object(o) => o.values().any(mentions_context),
        _ => false,
    }
}

struct Validator {
    problems: Vec<Problem>,
    /// Every state name seen, with its location (names are unique machine-wide).
    names: HashMap<String, String>,
}

const COMMON: &[&str] = &["Type", "Comment", "QueryLanguage"];

fn allowed(kind: &str) -> &'static [&'static str] {
    match kind {
        "Pass" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "ResultPath",
            "Parameters",
            "Result",
            "Assign",
        ],
        "Task" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "ResultPath",
            "Parameters",
            "ResultSelector",
            "Retry",
            "Catch",
            "Resource",
            "TimeoutSeconds",
            "TimeoutSecondsPath",
            "HeartbeatSeconds",
            "HeartbeatSecondsPath",
            "Credentials",
            "Assign",
        ],
        "Choice" => &["InputPath", "OutputPath", "Choices", "Default", "Assign"],
        "Wait" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "Seconds",
            "SecondsPath",
            "Timestamp",
            "TimestampPath",
            "Assign",
        ],
        "Succeed" => &["InputPath", "OutputPath"],
        "Fail" => &["Error", "ErrorPath", "Cause", "CausePath"],
        "Parallel" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "ResultPath",
            "Parameters",
            "ResultSelector",
            "Retry",
            "Catch",
            "Branches",
            "Assign",
        ],
        "Map" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "ResultPath",
            "Parameters",
            "ResultSelector",
            "Retry",
            "Catch",
            "Iterator",
            "ItemProcessor",
            "ItemsPath",
            "ItemSelector",
            "MaxConcurrency",
            "MaxConcurrencyPath",
            "ToleratedFailureCount",
            "ToleratedFailureCountPath",
            "ToleratedFailurePercentage",
            "ToleratedFailurePercentagePath",
            "Label",
            "ItemReader",
            "ItemBatcher",
            "ResultWriter",
            "Assign",
        ],
        _ => &[],
    }
}

/// How deeply a definition may nest (serde_json's own limit when parsing text).
pub const MAX_DEFINITION_DEPTH: usize = 128;

/// The largest number of seconds AWS accepts in a seconds field (see `Validator::seconds`).
pub const MAX_SECONDS: u64 = 99_999_999;

/// The largest Retry MaxDelaySeconds AWS accepts (366 days).
pub const MAX_DELAY_SECONDS: u64 = 31_622_400;

const JSONATA_ONLY: &[&str] = &["Arguments", "Output", "Items", "Condition"];

impl Validator {
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

    fn machine_top(&mut self, def: &Value) -> Option<StateMachine> {
        let Some(obj) = def.as_object() else {
            self.problem("", "a state machine definition must be a JSON object");
            return None;
        };
        for k in obj.keys() {
            if !matches!(
                k.as_str(),
                "StartAt" | "States" | "Comment" | "Version" | "TimeoutSeconds" | "QueryLanguage"
            ) {
                self.problem(
                    &format!("/{k}"),
                    format!("field '{k}' is not supported here"),
                );
            }
        }
        self.query_language(obj, "");
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
        })
    }

    fn query_language(&mut self, obj: &Map<String, Value>, loc: &str) {
        match obj.get("QueryLanguage") {
            None => {}
            Some(Value::String(s)) if s == "JSONPath" => {}
            Some(Value::String(s)) if s == "JSONata" => self.problem(
                &format!("{loc}/QueryLanguage"),
                "JSONata is not supported yet: rsqlflow runs JSONPath state machines only",
            ),
            Some(other) => self.problem(
                &format!("{loc}/QueryLanguage"),
                format!("QueryLanguage must be \"JSONPath\" or \"JSONata\", got {other}"),
            ),
        }
    }

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
        let mut states = IndexMap::new();
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

    fn transitions(&mut self, m: &Machine, raw: &Map<String, Value>, loc: &str) {
        // Every target must be a state of this States block.
        for (name, st) in &m.states {
            for (t, via) in st.successors() {
                if !raw.contains_key(t) {
                    self.problem(
                        &format!("{loc}/States/{name}/{}", via.pointer()),
                        format!(
                            "'{t}' is not a state in this States block (missing transition target)"
                        ),
                    );
                }
            }
        }
        // Reachability from StartAt.
        let mut seen: HashSet<&str> = HashSet::new();
        let mut stack = vec![m.start_at.as_str()];
        while let Some(s) = stack.pop() {
            if seen.insert(s)
                && let Some(st) = m.states.get(s)
            {
                stack.extend(st.successors().into_iter().map(|(t, _)| t));
            }
        }
        for name in raw.keys() {
            if !seen.contains(name.as_str()) && m.states.contains_key(name) {
                self.problem(
                    &format!("{loc}/States/{name}"),
                    format!(
                        "state '{name}' is not reachable from StartAt '{}'",
                        m.start_at
                    ),
                );
            }
        }
        // A machine must be able to end.
        let terminal = m.states.values().any(|s| {
            s.next == Transition::End || matches!(s.kind, Kind::Succeed | Kind::Fail { .. })
        });
        if !terminal && !m.states.is_empty() {
            self.problem(
                &format!("{loc}/States"),
                "no state ends the machine (End: true, Succeed or Fail)",
            );
        }
    }

    fn state(&mut self, name: &str, s: &Value, loc: &str) -> Option<State> {
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
        let fields = allowed(ty);
        if fields.is_empty() {
            self.problem(
                &format!("{loc}/Type"),
                format!("unknown state type '{ty}' (expected Pass, Task, Choice, Wait, Succeed, Fail, Parallel or Map)"),
            );
            return None;
        }
        self.query_language(obj, loc);
        for k in obj.keys() {
            if COMMON.contains(&k.as_str()) || fields.contains(&k.as_str()) {
                continue;
            }
            if JSONATA_ONLY.contains(&k.as_str()) {
                self.problem(
                    &format!("{loc}/{k}"),
                    format!("The QueryLanguage is set to 'JSONPath', but field '{k}' is only supported for the 'JSONata' QueryLanguage"),
                );
            } else {
                self.problem(
                    &format!("{loc}/{k}"),
                    format!("field '{k}' is not supported by a {ty} state"),
                );
            }
        }
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
        let input_path = self.path_field(obj, "InputPath", loc, true);
        let output_path = self.path_field(obj, "OutputPath", loc, true);
        let assign = obj
            .get("Assign")
            .map(|a| self.assign(a, &format!("{loc}/Assign")));
        let kind = match ty {
            "Pass" => Kind::Pass {
                result: obj.get("Result").cloned(),
                parameters: obj
                    .get("Parameters")
                    .map(|p| self.template(p, &format!("{loc}/Parameters"))),
                result_path: self.result_path(obj, loc),
            },
            "Task" => Kind::Task(Box::new(self.task(obj, loc))),
            "Choice" => self.choice(obj, loc),
            "Wait" => Kind::Wait(self.wait(obj, loc)?),
            "Succeed" => Kind::Succeed,
            "Fail" => Kind::Fail {
                error: self.fail_field(obj, "Error", loc),
                cause: self.fail_field(obj, "Cause", loc),
            },
            "Parallel" => {
                let common = self.common(obj, loc);
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
                Kind::Parallel(Box::new(Parallel { branches, common }))
            }
            "Map" => Kind::Map(Box::new(self.map(obj, loc)?)),
            _ => return None,
        };
        Some(State {
            name: name.to_string(),
            input_path,
            output_path,
            next,
            assign,
            kind,
            uses_context: mentions_context(s),
        })
    }

    fn sub_machine_fields(&mut self, obj: &Map<String, Value>, loc: &str) {
        for k in obj.keys() {
            if !matches!(
                k.as_str(),
                "StartAt" | "States" | "Comment" | "ProcessorConfig"
            ) {
                self.problem(
                    &format!("{loc}/{k}"),
                    format!("Field '{k}' is not supported"),
                );
            }
        }
    }

    fn path(&mut self, text: &str, loc: &str, reference: bool) -> Option<Path> {
        match Path::parse(text) {
            Ok(p) => {
                if reference && !p.is_reference() {
                    self.problem(
                        loc,
                        format!("'{text}' is not a reference path (one node, no wildcards, filters or slices)"),
                    );
                }
                Some(p)
            }
            Err(e) => {
                self.problem(loc, e.to_string());
                None
            }
        }
    }

    fn path_field(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        loc: &str,
        any_path: bool,
    ) -> PathField {
        match obj.get(key) {
            None => PathField::Default,
            Some(Value::Null) => PathField::Null,
            Some(Value::String(s)) => {
                let floc = format!("{loc}/{key}");
                match self.path(s, &floc, !any_path) {
                    Some(p) => PathField::Path(p),
                    None => PathField::Default,
                }
            }
            Some(_) => {
                self.problem(
                    &format!("{loc}/{key}"),
                    format!("{key} must be a string or null"),
                );
                PathField::Default
            }
        }
    }

    fn result_path(&mut self, obj: &Map<String, Value>, loc: &str) -> PathField {
        let f = self.path_field(obj, "ResultPath", loc, false);
        if let PathField::Path(p) = &f
            && p.root != crate::path::Root::Input
        {
            self.problem(
                &format!("{loc}/ResultPath"),
                "ResultPath must start with '$.' (not the context object or a variable)",
            );
        }
        f
    }

    /// Compiles a payload template: keys ending in `.$` hold a path or an intrinsic call.
    fn template(&mut self, v: &Value, loc: &str) -> Template {
        match v {
            Value::Object(o) => {
                let mut out = Vec::new();
                let mut seen = HashSet::new();
                for (k, x) in o {
                    let floc = format!("{loc}/{k}");
                    if let Some(base) = k.strip_suffix(".$") {
                        if !seen.insert(base.to_string()) {
                            self.problem(&floc, format!("field '{base}' is given twice"));
                        }
                        let Some(s) = x.as_str() else {
                            self.problem(
                                &floc,
                                format!("the value of '{k}' must be a string holding a path or an intrinsic function"),
                            );
                            continue;
                        };
                        if let Some(t) = self.dynamic(s, &floc) {
                            out.push((base.to_string(), t));
                        }
                    } else {
                        if !seen.insert(k.clone()) {
                            self.problem(&floc, format!("field '{k}' is given twice"));
                        }
                        out.push((k.clone(), self.template(x, &floc)));
                    }
                }
                Template::Object(out)
            }
            Value::Array(a) => Template::Array(
                a.iter()
                    .enumerate()
                    .map(|(i, x)| self.template(x, &format!("{loc}/{i}")))
                    .collect(),
            ),
            other => Template::Literal(other.clone()),
        }
    }

    fn dynamic(&mut self, s: &str, loc: &str) -> Option<Template> {
        if looks_like_call(s) {
            match intrinsic::parse(s) {
                Ok(c) => Some(Template::Call(c)),
                Err(e) => {
                    self.problem(loc, e.to_string());
                    None
                }
            }
        } else if s.starts_with('$') {
            self.path(s, loc, false).map(Template::Path)
        } else {
            self.problem(
                loc,
                format!(
                    "'{s}' is neither a JSONPath (starting with '$') nor an intrinsic function"
                ),
            );
            None
        }
    }

    fn assign(&mut self, v: &Value, loc: &str) -> Template {
        if let Some(o) = v.as_object() {
            for k in o.keys() {
                let name = k.strip_suffix(".$").unwrap_or(k);
                let valid = name
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_alphabetic() || c == '_')
                    && name.chars().all(|c| c.is_alphanumeric() || c == '_')
                    && name.chars().count() <= 80;
                if !valid {
                    self.problem(
                        &format!("{loc}/{k}"),
                        format!("'{name}' is not a valid variable name"),
                    );
                } else if name == "states" {
                    self.problem(&format!("{loc}/{k}"), "'states' is a reserved name");
                }
            }
        } else {
            self.problem(loc, "Assign must be an object");
        }
        self.template(v, loc)
    }

    /// A number of seconds: an integer from `min` to 99999999, the range AWS's own schema
    /// gives top-level and Task TimeoutSeconds, HeartbeatSeconds, Wait Seconds and Retry
    /// IntervalSeconds ("seconds" in
    /// https://github.com/aws/amazon-states-language-service/blob/main/src/json-schema/partial/common.json;
    /// Wait Seconds "from 0 up to 99999999" in
    /// https://docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-wait-state.html).
    fn seconds(&mut self, v: &Value, loc: &str, min: u64) -> Option<u64> {
        match v.as_u64() {
            Some(n) if (min..=MAX_SECONDS).contains(&n) => Some(n),
            _ => {
                self.problem(
                    loc,
                    format!("must be an integer from {min} to {MAX_SECONDS}, got {v}"),
                );
                None
            }
        }
    }

    fn number(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        loc: &str,
        positive: bool,
    ) -> Option<Number> {
        let pkey = format!("{key}Path");
        match (obj.get(key), obj.get(&pkey)) {
            (Some(_), Some(_)) => {
                self.problem(loc, format!("'{key}' and '{pkey}' cannot both be given"));
                None
            }
            (Some(v), None) => {
                let floc = format!("{loc}/{key}");
                if positive {
                    self.seconds(v, &floc, 1).map(Number::Fixed)
                } else {
                    match v.as_u64() {
                        Some(n) => Some(Number::Fixed(n)),
                        None => {
                            self.problem(&floc, format!("must be a non-negative integer, got {v}"));
                            None
                        }
                    }
                }
            }
            (None, Some(Value::String(s))) => self
                .path(s, &format!("{loc}/{pkey}"), true)
                .map(Number::Path),
            (None, Some(_)) => {
                self.problem(&format!("{loc}/{pkey}"), "must be a path string");
                None
            }
            (None, None) => None,
        }
    }

    fn common(&mut self, obj: &Map<String, Value>, loc: &str) -> Common {
        Common {
            parameters: obj
                .get("Parameters")
                .map(|p| self.template(p, &format!("{loc}/Parameters"))),
            result_selector: obj
                .get("ResultSelector")
                .map(|p| self.template(p, &format!("{loc}/ResultSelector"))),
            result_path: self.result_path(obj, loc),
            retry: self.retriers(obj.get("Retry"), &format!("{loc}/Retry")),
            catch: self.catchers(obj.get("Catch"), &format!("{loc}/Catch")),
        }
    }

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

    fn retriers(&mut self, v: Option<&Value>, loc: &str) -> Vec<Retrier> {
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
            for k in o.keys() {
                if !matches!(
                    k.as_str(),
                    "ErrorEquals"
                        | "IntervalSeconds"
                        | "MaxAttempts"
                        | "BackoffRate"
                        | "MaxDelaySeconds"
                        | "JitterStrategy"
                        | "Comment"
                ) {
                    self.problem(
                        &format!("{rloc}/{k}"),
                        format!("field '{k}' is not supported in a retrier"),
                    );
                }
            }
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

    fn catchers(&mut self, v: Option<&Value>, loc: &str) -> Vec<Catcher> {
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
            for k in o.keys() {
                if !matches!(
                    k.as_str(),
                    "ErrorEquals" | "Next" | "ResultPath" | "Assign" | "Comment"
                ) {
                    self.problem(
                        &format!("{cloc}/{k}"),
                        format!("field '{k}' is not supported in a catcher"),
                    );
                }
            }
            let error_equals = self.error_equals(o, &cloc, i + 1 == a.len());
            let next = match o.get("Next") {
                Some(Value::String(n)) => n.clone(),
                _ => {
                    self.problem(&cloc, "missing required field 'Next' (a string)");
                    continue;
                }
            };
            let result_path = self.result_path(o, &cloc);
            let assign = o
                .get("Assign")
                .map(|a| self.assign(a, &format!("{cloc}/Assign")));
            out.push(Catcher {
                error_equals,
                next,
                result_path,
                assign,
            });
        }
        out
    }

    fn task(&mut self, obj: &Map<String, Value>, loc: &str) -> Task {
        let resource = match obj.get("Resource") {
            Some(Value::String(r)) => r.clone(),
            _ => {
                self.problem(loc, "missing required field 'Resource' (a string)");
                String::new()
            }
        };
        let timeout = self.number(obj, "TimeoutSeconds", loc, true);
        let heartbeat = self.number(obj, "HeartbeatSeconds", loc, true);
        if let (Some(Number::Fixed(t)), Some(Number::Fixed(h))) = (&timeout, &heartbeat)
            && h >= t
        {
            self.problem(
                &format!("{loc}/HeartbeatSeconds"),
                "HeartbeatSeconds must be smaller than TimeoutSeconds",
            );
        }
        Task {
            resource,
            common: self.common(obj, loc),
            timeout,
            heartbeat,
            credentials: obj
                .get("Credentials")
                .map(|c| self.template(c, &format!("{loc}/Credentials"))),
        }
    }

    fn wait(&mut self, obj: &Map<String, Value>, loc: &str) -> Option<Wait> {
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

    fn fail_field(&mut self, obj: &Map<String, Value>, key: &str, loc: &str) -> Option<FailField> {
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

    fn choice(&mut self, obj: &Map<String, Value>, loc: &str) -> Kind {
        let mut choices = Vec::new();
        match obj.get("Choices") {
            Some(Value::Array(a)) if !a.is_empty() => {
                for (i, c) in a.iter().enumerate() {
                    let cloc = format!("{loc}/Choices/{i}");
                    let Some(o) = c.as_object() else {
                        self.problem(&cloc, "a choice rule must be an object");
                        continue;
                    };
                    let next = match o.get("Next") {
                        Some(Value::String(n)) => n.clone(),
                        _ => {
                            self.problem(&cloc, "a top-level choice rule needs 'Next' (a string)");
                            continue;
                        }
                    };
                    let assign = o
                        .get("Assign")
                        .map(|a| self.assign(a, &format!("{cloc}/Assign")));
                    if let Some(rule) = self.rule(o, &cloc, true) {
                        choices.push(ChoiceRule { rule, next, assign });
                    }
                }
            }
            _ => self.problem(loc, "a Choice state needs a non-empty 'Choices' array"),
        }
        let default = match obj.get("Default") {
            None => None,
            Some(Value::String(d)) => Some(d.clone()),
            Some(_) => {
                self.problem(&format!("{loc}/Default"), "Default must be a string");
                None
            }
        };
        Kind::Choice { choices, default }
    }

    fn rule(&mut self, o: &Map<String, Value>, loc: &str, top: bool) -> Option<Rule> {
        let extra_ok = |k: &str| k == "Comment" || (top && (k == "Next" || k == "Assign"));
        for key in ["And", "Or"] {
            if let Some(v) = o.get(key) {
                for k in o.keys() {
                    if k != key && !extra_ok(k) {
                        self.problem(
                            &format!("{loc}/{k}"),
                            format!("field '{k}' is not allowed next to '{key}'"),
                        );
                    }
                }
                let Some(a) = v.as_array().filter(|a| !a.is_empty()) else {
                    self.problem(
                        &format!("{loc}/{key}"),
                        format!("{key} must be a non-empty array of rules"),
                    );
                    return None;
                };
                let mut rules = Vec::new();
                for (i, r) in a.iter().enumerate() {
                    let rloc = format!("{loc}/{key}/{i}");
                    match r.as_object() {
                        Some(ro) => {
                            if ro.contains_key("Next") {
                                self.problem(
                                    &format!("{rloc}/Next"),
                                    "a nested rule cannot have 'Next'",
                                );
                            }
                            rules.extend(self.rule(ro, &rloc, false));
                        }
                        None => self.problem(&rloc, "a rule must be an object"),
                    }
                }
                return Some(if key == "And" {
                    Rule::And(rules)
                } else {
                    Rule::Or(rules)
                });
            }
        }
        if let Some(v) = o.get("Not") {
            let nloc = format!("{loc}/Not");
            let Some(ro) = v.as_object() else {
                self.problem(&nloc, "Not must be a single rule object");
                return None;
            };
            if ro.contains_key("Next") {
                self.problem(&format!("{nloc}/Next"), "a nested rule cannot have 'Next'");
            }
            return self.rule(ro, &nloc, false).map(|r| Rule::Not(Box::new(r)));
        }
        let variable = match o.get("Variable") {
            Some(Value::String(s)) => self.path(s, &format!("{loc}/Variable"), false)?,
            Some(_) => {
                self.problem(&format!("{loc}/Variable"), "Variable must be a path string");
                return None;
            }
            None => {
                self.problem(
                    loc,
                    "a choice rule needs 'Variable' and a comparison, or And/Or/Not",
                );
                return None;
            }
        };
        let mut found: Option<(Op, Operand, String)> = None;
        for k in o.keys() {
            if k == "Variable" || extra_ok(k) {
                continue;
            }
            let (base, is_path) = match k.strip_suffix("Path") {
                Some(b) if Op::ALL.iter().any(|(n, op)| *n == b && op.has_path_form()) => (b, true),
                _ => (k.as_str(), false),
            };
            let Some((_, op)) = Op::ALL.iter().find(|(n, _)| *n == base) else {
                self.problem(
                    &format!("{loc}/{k}"),
                    format!("unknown comparison operator '{k}'"),
                );
                continue;
            };
            if found.is_some() {
                self.problem(
                    &format!("{loc}/{k}"),
                    "a choice rule takes exactly one comparison operator",
                );
                continue;
            }
            let v = &o[k];
            let kloc = format!("{loc}/{k}");
            let operand = if is_path {
                let Some(s) = v.as_str() else {
                    self.problem(&kloc, format!("{k} must be a path string"));
                    continue;
                };
                Operand::Path(self.path(s, &kloc, false)?)
            } else {
                let ok = match op {
                    Op::StringEquals
                    | Op::StringLessThan
                    | Op::StringGreaterThan
                    | Op::StringLessThanEquals
                    | Op::StringGreaterThanEquals
                    | Op::StringMatches => v.is_string(),
                    Op::NumericEquals
                    | Op::NumericLessThan
                    | Op::NumericGreaterThan
                    | Op::NumericLessThanEquals
                    | Op::NumericGreaterThanEquals => v.is_number(),
                    Op::TimestampEquals
                    | Op::TimestampLessThan
                    | Op::TimestampGreaterThan
                    | Op::TimestampLessThanEquals
                    | Op::TimestampGreaterThanEquals => v
                        .as_str()
                        .is_some_and(|s| crate::timestamp::parse(s).is_some()),
                    _ => v.is_boolean(),
                };
                if !ok {
                    self.problem(&kloc, format!("{k} has a value of the wrong type: {v}"));
                }
                Operand::Literal(v.clone())
            };
            found = Some((*op, operand, k.clone()));
        }
        let Some((op, operand, _)) = found else {
            self.problem(loc, "a choice rule needs one comparison operator");
            return None;
        };
        Some(Rule::Test {
            variable,
            op,
            operand,
        })
    }

    fn map(&mut self, obj: &Map<String, Value>, loc: &str) -> Option<MapState> {
        let (key, proc_v) = match (obj.get("ItemProcessor"), obj.get("Iterator")) {
            (Some(p), None) => ("ItemProcessor", p),
            (None, Some(p)) => ("Iterator", p),
            (Some(_), Some(_)) => {
                self.problem(loc, "'ItemProcessor' and 'Iterator' cannot both be given");
                return None;
            }
            (None, None) => {
                self.problem(loc, "a Map state needs 'ItemProcessor'");
                return None;
            }
        };
        let ploc = format!("{loc}/{key}");
        let Some(po) = proc_v.as_object() else {
            self.problem(&ploc, "must be an object");
            return None;
        };
        self.sub_machine_fields(po, &ploc);
        let mut distributed = false;
        if let Some(pc) = po.get("ProcessorConfig") {
            match pc.get("Mode").and_then(|m| m.as_str()) {
                None | Some("INLINE") => {}
                Some("DISTRIBUTED") => distributed = true,
                Some(m) => self.problem(
                    &format!("{ploc}/ProcessorConfig/Mode"),
                    format!("Mode must be INLINE or DISTRIBUTED, got '{m}'"),
                ),
            }
        }
        for k in ["ItemReader", "ItemBatcher", "ResultWriter"] {
            if obj.contains_key(k) {
                self.problem(
                    &format!("{loc}/{k}"),
                    format!("{k} is not supported by the local executor yet (it reads or writes S3 or batches items for child executions)"),
                );
            }
        }
        let label = obj.get("Label").and_then(|l| l.as_str()).map(String::from);
        if obj.contains_key("Label") && !distributed {
            self.problem(
                &format!("{loc}/Label"),
                "Label is only allowed on a Distributed Map",
            );
        }
        let processor = self.machine(po, &ploc);
        let items_path = match obj.get("ItemsPath") {
            None => None,
            Some(Value::String(s)) => self.path(s, &format!("{loc}/ItemsPath"), true),
            Some(_) => {
                self.problem(
                    &format!("{loc}/ItemsPath"),
                    "ItemsPath must be a path string",
                );
                None
            }
        };
        let selector_key = if obj.contains_key("ItemSelector") {
            Some("ItemSelector")
        } else if obj.contains_key("Parameters") {
            Some("Parameters")
        } else {
            None
        };
        if obj.contains_key("ItemSelector") && obj.contains_key("Parameters") {
            self.problem(loc, "'ItemSelector' and 'Parameters' cannot both be given");
        }
        let item_selector = selector_key.map(|k| self.template(&obj[k], &format!("{loc}/{k}")));
        let max_concurrency = self.number(obj, "MaxConcurrency", loc, false);
        let tolerated_failure_count = self.number(obj, "ToleratedFailureCount", loc, false);
        let tolerated_failure_percentage = match (
            obj.get("ToleratedFailurePercentage"),
            obj.get("ToleratedFailurePercentagePath"),
        ) {
            (Some(v), None) => match v.as_f64() {
                Some(f) if (0.0..=100.0).contains(&f) => Some(PercentSpec::Fixed(f)),
                _ => {
                    self.problem(
                        &format!("{loc}/ToleratedFailurePercentage"),
                        "must be a number from 0 to 100",
                    );
                    None
                }
            },
            (None, Some(Value::String(s))) => self
                .path(s, &format!("{loc}/ToleratedFailurePercentagePath"), true)
                .map(PercentSpec::Path),
            (None, None) => None,
            _ => {
                self.problem(
                    loc,
                    "invalid ToleratedFailurePercentage / ToleratedFailurePercentagePath",
                );
                None
            }
        };
        let mut common = self.common(obj, loc);
        // `Parameters` on a Map is the legacy ItemSelector, not a state-level template.
        if selector_key == Some("Parameters") {
            common.parameters = None;
        }
        Some(MapState {
            processor: processor?,
            distributed,
            label,
            items_path,
            item_selector,
            max_concurrency,
            tolerated_failure_count,
            tolerated_failure_percentage,
            common,
        })
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
    fn refuses_jsonata() {
        let p = problems(
            json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Succeed"}}}),
        );
        assert!(p[0].contains("JSONata is not supported yet"), "{p:?}");
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
}
