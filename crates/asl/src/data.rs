//! JSONPath data processing for one state: resolving paths against the input, the context
//! object and variables; payload templates; ResultPath merging; and the failures these raise.

use serde_json::{Map, Value};

use crate::intrinsic::{self, EvalError};
use crate::model::{PathField, Template};
use crate::path::{Path, Root};
use crate::rng::Rng;

/// Variables visible to a state: its own scope over a snapshot of the enclosing ones.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub outer: std::sync::Arc<Map<String, Value>>,
    pub own: Map<String, Value>,
}

impl Scope {
    /// A variable's value.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.own.get(name).or_else(|| self.outer.get(name))
    }

    /// The scope a Parallel branch or Map iteration starts with.
    pub fn child(&self) -> Scope {
        let mut all = (*self.outer).clone();
        for (k, v) in &self.own {
            all.insert(k.clone(), v.clone());
        }
        Scope {
            outer: std::sync::Arc::new(all),
            own: Map::new(),
        }
    }
}

/// What a path is evaluated against.
pub struct Env<'a> {
    pub context: &'a Value,
    pub scope: &'a Scope,
}

/// Why a path or template could not be evaluated (message without the state prefix).
#[derive(Debug, Clone, PartialEq)]
pub struct DataError {
    pub error: &'static str,
    pub message: String,
}

impl DataError {
    fn runtime(message: String) -> DataError {
        DataError {
            error: "States.Runtime",
            message,
        }
    }
}

/// How deeply a payload (execution input, task result, state output) may nest. Deeper
/// payloads fail the execution with States.Runtime instead of overflowing the stack of the
/// recursive code that copies, serializes and drops them.
pub const MAX_DEPTH: usize = 512;

/// Whether `v` nests arrays/objects more than `max` levels deep (iterative: safe on any
/// depth).
pub fn deeper_than(v: &Value, max: usize) -> bool {
    let mut stack = vec![(v, 0usize)];
    while let Some((v, d)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match v {
            Value::Array(a) => Box::new(a.iter()),
            Value::Object(o) => Box::new(o.values()),
            _ => continue,
        };
        if d + 1 > max {
            return true;
        }
        stack.extend(children.map(|c| (c, d + 1)));
    }
    false
}

/// Drops a value of any depth without recursion (serde_json's own drop recurses).
pub fn dismantle(v: Value) {
    let mut stack = vec![v];
    while let Some(mut v) = stack.pop() {
        match &mut v {
            Value::Array(a) => stack.extend(std::mem::take(a)),
            Value::Object(o) => stack.extend(std::mem::take(o).into_iter().map(|(_, v)| v)),
            _ => {}
        }
    }
}

fn json_text(v: &Value) -> String {
    intrinsic::to_json_text(v)
}

/// Evaluates a path; a definite path that finds nothing is `Err(rendered path)`.
pub fn resolve(path: &Path, input: &Value, env: &Env) -> Result<Value, ResolveError> {
    let base = match &path.root {
        Root::Input => input,
        Root::Context => env.context,
        Root::Variable(name) => match env.scope.get(name) {
            Some(v) => v,
            None => return Err(ResolveError::NoVariable(name.clone())),
        },
    };
    // Paths are stored with their root; evaluate the segments on the chosen base.
    path.eval(base)
        .map_err(|e| ResolveError::NoResults(e.message))
}

/// A failed path lookup.
#[derive(Debug, Clone, PartialEq)]
pub enum ResolveError {
    NoResults(String),
    NoVariable(String),
}

/// Applies InputPath or OutputPath.
pub fn select(field: &PathField, input: &Value, env: &Env) -> Result<Value, DataError> {
    match field {
        PathField::Default => Ok(input.clone()),
        PathField::Null => Ok(Value::Object(Map::new())),
        PathField::Path(p) => resolve(p, input, env).map_err(|e| match e {
            ResolveError::NoResults(m) => {
                DataError::runtime(format!("Invalid path '{}' : {m}", p.text()))
            }
            ResolveError::NoVariable(v) => DataError::runtime(format!(
                "Invalid path '{}' : The variable '{v}' is not defined",
                p.text()
            )),
        }),
    }
}

/// Evaluates a payload template against `input`.
pub fn template(t: &Template, input: &Value, env: &Env, rng: &mut Rng) -> Result<Value, DataError> {
    eval_template(t, input, env, rng, "")
}

fn eval_template(
    t: &Template,
    input: &Value,
    env: &Env,
    rng: &mut Rng,
    key: &str,
) -> Result<Value, DataError> {
    match t {
        Template::Literal(v) => Ok(v.clone()),
        Template::Array(items) => items
            .iter()
            .map(|i| eval_template(i, input, env, rng, key))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        Template::Object(fields) => {
            let mut m = Map::new();
            for (k, v) in fields {
                let dyn_key = matches!(v, Template::Path(_) | Template::Call(_));
                let field = if dyn_key { format!("{k}.$") } else { k.clone() };
                m.insert(k.clone(), eval_template(v, input, env, rng, &field)?);
            }
            Ok(Value::Object(m))
        }
        Template::Path(p) => resolve(p, input, env).map_err(|e| path_error(p, key, input, env, e)),
        Template::Call(c) => {
            let mut r = |p: &Path| {
                resolve(p, input, env).map_err(|e| match e {
                    ResolveError::NoResults(_) | ResolveError::NoVariable(_) => {
                        EvalError::Path(path_error(p, key, input, env, e).message)
                    }
                })
            };
            intrinsic::eval(c, &mut r, rng).map_err(|e| match e {
                EvalError::Path(m) => DataError::runtime(m),
                EvalError::Failure(m) => DataError {
                    error: "States.IntrinsicFailure",
                    message: m,
                },
            })
        }
    }
}

fn path_error(p: &Path, key: &str, input: &Value, env: &Env, e: ResolveError) -> DataError {
    match e {
        ResolveError::NoVariable(v) => DataError::runtime(format!(
            "The JSONPath '{}' specified for the field '{key}' references the undefined variable '{v}'",
            p.text()
        )),
        ResolveError::NoResults(_) => {
            let doc = match p.root {
                Root::Context => env.context,
                _ => input,
            };
            DataError::runtime(format!(
                "The JSONPath '{}' specified for the field '{key}' could not be found in the input '{}'",
                p.text(),
                json_text(doc)
            ))
        }
    }
}

/// Merges `result` into `raw` at ResultPath.
pub fn merge_result(field: &PathField, raw: &Value, result: Value) -> Result<Value, DataError> {
    let p = match field {
        PathField::Default => return Ok(result),
        PathField::Null => return Ok(raw.clone()),
        PathField::Path(p) => p,
    };
    if p.segments.is_empty() {
        return Ok(result);
    }
    let mismatch = || DataError {
        error: "States.ResultPathMatchFailure",
        message: format!(
            "Unable to apply ResultPath '{}' to input '{}'",
            p.text(),
            json_text(raw)
        ),
    };
    let mut out = raw.clone();
    let mut cur = &mut out;
    let n = p.segments.len();
    for (i, seg) in p.segments.iter().enumerate() {
        let last = i + 1 == n;
        match seg {
            crate::path::Segment::Field(name) => {
                let Some(obj) = cur.as_object_mut() else {
                    return Err(mismatch());
                };
                if last {
                    obj.insert(name.clone(), result);
                    return Ok(out);
                }
                let entry = obj
                    .entry(name.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !entry.is_object() && !entry.is_array() {
                    *entry = Value::Object(Map::new());
                }
                cur = entry;
            }
            crate::path::Segment::Index(idx) => {
                let Some(arr) = cur.as_array_mut() else {
                    return Err(mismatch());
                };
                let len = arr.len() as i64;
                let j = if *idx < 0 { len + idx } else { *idx };
                if j < 0 || j >= len {
                    return Err(mismatch());
                }
                if last {
                    arr[j as usize] = result;
                    return Ok(out);
                }
                cur = &mut arr[j as usize];
            }
            _ => {
                return Err(DataError::runtime(format!(
                    "ResultPath '{}' is not a reference path",
                    p.text()
                )));
            }
        }
    }
    Ok(out)
}
