//! JSONata in state machines: `{% … %}` strings, compiled once at validation and evaluated as
//! Step Functions evaluates them, with `$states` and the workflow's variables bound
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html>).
//!
//! The engine is the `jsonata-core` crate; this module is the seam between it and the
//! executor: [`Expr`] (one expression), [`Payload`] (a field value in which expressions may
//! sit anywhere: Arguments, Output, Assign, ItemSelector), [`Bindings`] (what an expression
//! sees) and [`QueryError`] (AWS's `States.QueryEvaluationError` messages).

use std::fmt;
use std::sync::Arc;

use jsonata_core::ast::AstNode;
use jsonata_core::evaluator::{Context, Evaluator, EvaluatorOptions};
use jsonata_core::value::JValue;
use serde_json::{Map, Value};

use crate::rng::Rng;

/// The error name of every failure in a JSONata expression at run time.
pub const QUERY_EVALUATION_ERROR: &str = "States.QueryEvaluationError";

/// Whether `s` is a JSONata expression string: `{%` … `%}` (AWS trims nothing around them).
pub fn is_expression(s: &str) -> bool {
    s.len() >= 4 && s.starts_with("{%") && s.ends_with("%}")
}

/// One compiled `{% … %}` expression.
#[derive(Clone)]
pub struct Expr {
    /// The text between `{%` and `%}`, as written.
    source: String,
    ast: Arc<AstNode>,
    /// The `$name`s the expression mentions (candidates for workflow variables).
    names: Arc<[String]>,
}

impl fmt::Debug for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{% {} %}}", self.source)
    }
}

/// Why an expression does not compile (a validation problem; the caller adds the location).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct CompileError {
    /// JSON pointer below the field given to [`Payload::compile`] (`""` for the field itself).
    pub pointer: String,
    pub message: String,
}

/// Why an evaluation failed: raised as `States.QueryEvaluationError` with this cause.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{cause}")]
pub struct QueryError {
    pub cause: String,
}

/// What `$states` holds while a field is evaluated (AWS: which of these a field may read
/// depends on the field; the validator enforces that, the executor passes what exists).
#[derive(Debug, Clone, Copy)]
pub struct States<'a> {
    pub input: &'a Value,
    pub context: &'a Value,
    pub result: Option<&'a Value>,
    pub error_output: Option<&'a Value>,
}

/// Everything an expression sees: `$states`, the workflow variables visible to the state
/// (looked up by name), and the execution's random generator (`$random()`, `$uuid()`).
pub struct Bindings<'a> {
    pub states: States<'a>,
    pub variable: &'a dyn Fn(&str) -> Option<&'a Value>,
    pub rng: &'a mut Rng,
}

impl Expr {
    /// Compiles a whole `{% … %}` string.
    pub fn compile(text: &str) -> Result<Expr, CompileError> {
        if !is_expression(text) {
            return Err(CompileError {
                pointer: String::new(),
                message: format!("not a JSONata expression (must be '{{% ... %}}'): {text}"),
            });
        }
        let source = text[2..text.len() - 2].to_string();
        let ast = jsonata_core::parser::parse(&source).map_err(|e| CompileError {
            pointer: String::new(),
            message: e.to_string(),
        })?;
        let names = mentioned_names(&source);
        Ok(Expr {
            source,
            ast: Arc::new(ast),
            names,
        })
    }

    /// The expression as written between `{%` and `%}` (AWS quotes it trimmed in messages).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Evaluates the expression; `field` names it in AWS's messages (`Output/result`).
    /// An undefined result is an error, as on AWS.
    pub fn evaluate(&self, b: &mut Bindings, field: &str) -> Result<Value, QueryError> {
        let mut ctx = Context::new();
        let mut states = Map::new();
        states.insert("input".into(), b.states.input.clone());
        states.insert("context".into(), b.states.context.clone());
        if let Some(r) = b.states.result {
            states.insert("result".into(), r.clone());
        }
        if let Some(e) = b.states.error_output {
            states.insert("errorOutput".into(), e.clone());
        }
        ctx.bind("states".into(), JValue::from(Value::Object(states)));
        for name in self.names.iter() {
            if let Some(v) = (b.variable)(name) {
                ctx.bind(name.clone(), JValue::from(v.clone()));
            }
        }
        let mut ev = Evaluator::with_options(ctx, EvaluatorOptions::default());
        let v = ev
            .evaluate(&self.ast, &JValue::Undefined)
            .map_err(|e| QueryError {
                cause: format!(
                    "The JSONata expression '{}' specified for the field '{field}' threw an error during evaluation. {}",
                    self.source.trim(),
                    e
                ),
            })?;
        if v.is_undefined() {
            return Err(QueryError {
                cause: format!(
                    "The JSONata expression '{}' specified for the field '{field}' returned nothing (undefined).",
                    self.source.trim()
                ),
            });
        }
        Ok(Value::from(&v))
    }
}

/// The names after `$` in an expression's text (a superset of the variables it reads:
/// names inside strings or bound by the expression itself are looked up and not found).
fn mentioned_names(source: &str) -> Arc<[String]> {
    let mut out: Vec<String> = Vec::new();
    let mut chars = source.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '$' {
            continue;
        }
        let start = i + 1;
        let mut end = start;
        while let Some(&(j, d)) = chars.peek() {
            if d.is_alphanumeric() || d == '_' {
                end = j + d.len_utf8();
                chars.next();
            } else {
                break;
            }
        }
        let name = &source[start..end];
        if !name.is_empty() && name != "states" && !out.iter().any(|n| n == name) {
            out.push(name.to_string());
        }
    }
    out.into()
}

/// A field value in a JSONata state: literals with `{% … %}` strings anywhere inside, each
/// replaced by its result.
#[derive(Debug, Clone)]
pub enum Payload {
    Literal(Value),
    Object(Vec<(String, Payload)>),
    Array(Vec<Payload>),
    Expr(Expr),
}

impl Payload {
    /// Compiles a field value, reporting every expression that does not compile.
    pub fn compile(v: &Value) -> Result<Payload, Vec<CompileError>> {
        let mut errors = Vec::new();
        let p = compile_at(v, "", &mut errors);
        if errors.is_empty() {
            Ok(p)
        } else {
            Err(errors)
        }
    }

    /// Evaluates the payload; `field` is the field's name (`Output`, `Arguments`), extended
    /// with the keys passed on the way down in AWS's messages (`Output/result`).
    pub fn evaluate(&self, b: &mut Bindings, field: &str) -> Result<Value, QueryError> {
        match self {
            Payload::Literal(v) => Ok(v.clone()),
            Payload::Expr(e) => e.evaluate(b, field),
            Payload::Array(items) => items
                .iter()
                .map(|i| i.evaluate(b, field))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            Payload::Object(fields) => {
                let mut m = Map::new();
                for (k, v) in fields {
                    m.insert(k.clone(), v.evaluate(b, &format!("{field}/{k}"))?);
                }
                Ok(Value::Object(m))
            }
        }
    }
}

fn compile_at(v: &Value, pointer: &str, errors: &mut Vec<CompileError>) -> Payload {
    match v {
        Value::String(s) if is_expression(s) => match Expr::compile(s) {
            Ok(e) => Payload::Expr(e),
            Err(mut e) => {
                e.pointer = pointer.to_string();
                errors.push(e);
                Payload::Literal(v.clone())
            }
        },
        Value::Array(items) if items.iter().any(has_expression) => Payload::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, x)| compile_at(x, &format!("{pointer}/{i}"), errors))
                .collect(),
        ),
        Value::Object(m) if m.values().any(has_expression) => Payload::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), compile_at(x, &format!("{pointer}/{k}"), errors)))
                .collect(),
        ),
        other => Payload::Literal(other.clone()),
    }
}

/// Whether a value holds an expression string anywhere.
fn has_expression(v: &Value) -> bool {
    match v {
        Value::String(s) => is_expression(s),
        Value::Array(a) => a.iter().any(has_expression),
        Value::Object(o) => o.values().any(has_expression),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(text: &str, input: Value) -> Result<Value, QueryError> {
        let e = Expr::compile(text).unwrap();
        let ctx = json!({});
        let mut rng = Rng::new(1);
        let none = |_: &str| None;
        let mut b = Bindings {
            states: States {
                input: &input,
                context: &ctx,
                result: None,
                error_output: None,
            },
            variable: &none,
            rng: &mut rng,
        };
        e.evaluate(&mut b, "Output")
    }

    #[test]
    fn variables_are_bound_by_name() {
        let e = Expr::compile("{% $x + $states.input.n %}").unwrap();
        let (input, ctx, x) = (json!({"n": 1}), json!({}), json!(41));
        let mut rng = Rng::new(1);
        let look = |n: &str| (n == "x").then_some(&x);
        let mut b = Bindings {
            states: States {
                input: &input,
                context: &ctx,
                result: None,
                error_output: None,
            },
            variable: &look,
            rng: &mut rng,
        };
        assert_eq!(e.evaluate(&mut b, "Output").unwrap().as_f64(), Some(42.0));
    }

    #[test]
    fn states_input_is_bound() {
        assert_eq!(
            eval("{% $states.input.a & 'x' %}", json!({"a": "b"})).unwrap(),
            json!("bx")
        );
    }

    #[test]
    fn undefined_is_an_error_with_aws_message() {
        let e = eval("{% $states.input.missing %}", json!({})).unwrap_err();
        assert_eq!(
            e.cause,
            "The JSONata expression '$states.input.missing' specified for the field 'Output' returned nothing (undefined)."
        );
    }

    #[test]
    fn payloads_compile_only_expression_strings() {
        let p =
            Payload::compile(&json!({"a": "{% 1 + %}", "b": ["{% 2 %}", "{not}"]})).unwrap_err();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].pointer, "/a");
    }
}
