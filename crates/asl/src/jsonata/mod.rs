//! JSONata in state machines: `{% … %}` strings, compiled once at validation and evaluated as
//! Step Functions evaluates them, with `$states` and the workflow's variables bound
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html>).
//!
//! The engine is the `jsonata-core` crate; this module is the seam between it and the
//! executor: [`Expr`] (one expression), [`Payload`] (a field value in which expressions may
//! sit anywhere: Arguments, Output, Assign, ItemSelector), [`Bindings`] (what an expression
//! sees) and [`QueryError`] (AWS's `States.QueryEvaluationError` messages).
//!
//! For the validator: [`Expr::compile`] refuses what AWS refuses when a definition is created
//! (text that is not JSONata, references to an input document at the top level), and
//! [`Expr::mentions_states_field`] / [`Payload::mentions_states_field`] tell which `$states`
//! fields an expression reads. For the executor: [`Expr::evaluate`] and the typed
//! evaluations ([`Expr::evaluate_array`], [`Expr::evaluate_bool`], [`Expr::evaluate_string`],
//! [`Expr::evaluate_integer`], [`Expr::evaluate_percentage`]) word every failure as AWS does.
//!
//! The parts: `facts` (what an expression reads, from its syntax tree), `value` (JSON in
//! and out of the engine), `cache` (conversions reused between evaluations), `extras` (the
//! functions Step Functions adds), `typed` (the typed evaluations).

mod cache;
mod extras;
mod facts;
mod messages;
mod typed;
mod value;

use std::cell::RefCell;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::sync::Arc;

use jsonata_core::ast::AstNode;
use jsonata_core::evaluator::{Context, Evaluator, EvaluatorError, EvaluatorOptions};
use jsonata_core::value::JValue;
use serde_json::{Map, Value};

use crate::rng::Rng;
use facts::Facts;
use value::{Need, Unsupported};

pub use cache::clear as clear_conversion_cache;
pub use extras::with_clock;
pub use typed::IntegerRange;
pub use value::{number, type_name};

/// The error name of every failure in a JSONata expression at run time.
pub const QUERY_EVALUATION_ERROR: &str = "States.QueryEvaluationError";

/// Whether `s` is a JSONata expression string: `{%` … `%}` (AWS trims nothing around them).
pub fn is_expression(s: &str) -> bool {
    s.len() >= 4 && s.starts_with("{%") && s.ends_with("%}")
}

/// The most a JSONata evaluation may take, wall-clock: a loop JSONata runs as a tail call
/// never deepens the stack, so only a clock ends it. AWS bounds evaluation too (an unbounded
/// recursion fails the state: floci-io/floci#2667 measured it); its bound is not published.
pub const EVALUATION_TIMEOUT_MS: u64 = 2_000;

/// The deepest an evaluation may nest. AWS fails `1+1+…+1` with 200 terms with a stack
/// overflow (quoted in floci-io/floci#2737); the engine counts about one level per operator.
pub const MAX_EVALUATION_DEPTH: usize = 150;

/// The most a result may hold, in bytes (a string's UTF-8, 8 for any other value). AWS
/// accepts `[1..873782]` and refuses `[1..873783]`, accepts a string of 2^22 characters and
/// refuses one of 2^23, with its memory-limit message (measured with TestState, quoted in
/// floci-io/floci#2783); 8 bytes a number fits both. A result within it may still exceed
/// the 256 KiB a state passes on: the executor raises that as `States.DataLimitExceeded`.
pub const MAX_RESULT_BYTES: usize = 873_782 * 8;

/// AWS's message for an evaluation that nests too deep (floci-io/floci#2737 quotes a
/// `TestState` cause, re-wrapped). It is the text of the time box jsonata-js 2.0.6's test
/// runner installs (`timeboxExpression` in test/run-test-suite.js), two spaces included,
/// which AWS prints without its code.
const STACK_OVERFLOW: &str = "Stack overflow error: Check for non-terminating recursive function.  Consider rewriting as tail-recursive.";

/// AWS's message for an evaluation that holds too much (floci-io/floci#2737).
const MEMORY_LIMIT: &str =
    "Expression evaluation memory limit exceeded: Check for excessive memory usage";

/// The same time box's message for an evaluation that runs too long (AWS's wording for it
/// is not recorded; it prints the depth one from the same place).
const TIMEOUT: &str = "Expression evaluation timeout: Check for infinite loop";

/// One compiled `{% … %}` expression.
#[derive(Clone)]
pub struct Expr {
    /// The text between `{%` and `%}`, as written.
    source: String,
    ast: Arc<AstNode>,
    /// What the expression reads and calls.
    facts: Arc<Facts>,
}

impl fmt::Debug for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{% {} %}}", self.source)
    }
}

/// Why an expression does not compile (a validation problem; the caller adds the location).
///
/// `message` starts with AWS's diagnostic code, as ValidateStateMachineDefinition reports
/// it: `INVALID_JSONATA_EXPRESSION: …` for text that is not JSONata,
/// `UNSUPPORTED_JSONATA_EXPRESSION: Reference to 'phone' at the top level is not supported.`
/// for a reference to an input document (AWS's words, quoted in floci-io/floci#2670).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct CompileError {
    /// JSON pointer below the field given to [`Payload::compile`] (`""` for the field itself).
    pub pointer: String,
    pub message: String,
}

impl CompileError {
    /// The diagnostic code the message starts with (`INVALID_JSONATA_EXPRESSION`, …).
    pub fn code(&self) -> &str {
        self.message.split(':').next().unwrap_or("")
    }
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

/// How an evaluation ended without a value.
enum Failure {
    /// The engine raised an error.
    Engine(EvaluatorError),
    /// The engine panicked (a bug in it, contained here).
    Panic,
}

impl Expr {
    /// Compiles a whole `{% … %}` string.
    pub fn compile(text: &str) -> Result<Expr, CompileError> {
        Expr::compile_all(text).map_err(|mut errors| errors.swap_remove(0))
    }

    /// Compiles a whole `{% … %}` string, reporting every problem (AWS reports each name
    /// referred to at the top level once). Never empty on error.
    pub fn compile_all(text: &str) -> Result<Expr, Vec<CompileError>> {
        let invalid = |message: String| {
            vec![CompileError {
                pointer: String::new(),
                message: format!("INVALID_JSONATA_EXPRESSION: {message}"),
            }]
        };
        if !is_expression(text) {
            return Err(invalid(format!(
                "not a JSONata expression (must be '{{% ... %}}'): {text}"
            )));
        }
        let source = text[2..text.len() - 2].to_string();
        let ast = match catch_unwind(|| jsonata_core::parser::parse(&source)) {
            Ok(Ok(ast)) => ast,
            Ok(Err(e)) => return Err(invalid(parse_message(&e.to_string()))),
            Err(_) => return Err(invalid("the expression could not be parsed".into())),
        };
        let Some(facts) = Facts::of(&ast) else {
            return Err(invalid("the expression is nested too deeply".into()));
        };
        if let Some(op) = facts.newer_operator {
            // jsonata-js 2.0.6 reads `??` as `?` then a second `?` it cannot start an
            // operand with.
            return Err(invalid(format!(
                "S0211: The symbol ? cannot be used as a unary operator (the '{op}' operator came with JSONata 2.1; Step Functions runs 2.0.6)"
            )));
        }
        if !facts.top_level_input.is_empty() {
            return Err(facts
                .top_level_input
                .iter()
                .map(|name| CompileError {
                    pointer: String::new(),
                    message: format!(
                        "UNSUPPORTED_JSONATA_EXPRESSION: Reference to '{name}' at the top level is not supported."
                    ),
                })
                .collect());
        }
        Ok(Expr {
            source,
            ast: Arc::new(ast),
            facts: Arc::new(facts),
        })
    }

    /// The expression as written between `{%` and `%}` (AWS quotes it trimmed in messages).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the expression reads `$states.<field>` (`input`, `context`, `result`,
    /// `errorOutput`) by name. For the validator: AWS makes `$states.result` available only
    /// in a Task, Map or Parallel state's `Output` and `Assign`, `$states.errorOutput` only
    /// in a Catcher's (SPEC "JSONata Concepts"). A bare `$states` does not count.
    pub fn mentions_states_field(&self, field: &str) -> bool {
        self.facts.names_states_field(field)
    }

    /// The variables the expression reads (`$name`, without the `$`), `states` excluded;
    /// names it binds itself with `:=` or as parameters may appear too.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.facts
            .vars
            .iter()
            .map(|(n, _)| n.as_str())
            .filter(|n| *n != "states")
    }

    /// Evaluates the expression; `field` names it in AWS's messages (`Output/result`).
    /// An undefined result is an error, as on AWS.
    pub fn evaluate(&self, b: &mut Bindings, field: &str) -> Result<Value, QueryError> {
        let v = self.run(b).map_err(|f| self.failure(field, f))?;
        if v.is_undefined() {
            return Err(self.error(field, "returned nothing (undefined)."));
        }
        value::from_jvalue(&v).map_err(|u| match u {
            Unsupported::Function => self.error(field, "returned an unsupported result type."),
            Unsupported::TooLarge => self.error(
                field,
                &format!("threw an error during evaluation: {MEMORY_LIMIT}"),
            ),
            Unsupported::TooDeep => self.error(
                field,
                &format!(
                    "returned a value nested deeper than {} levels.",
                    value::MAX_RESULT_DEPTH
                ),
            ),
        })
    }

    /// Runs the engine with `$states` and the variables the expression reads bound.
    fn run(&self, b: &mut Bindings) -> Result<JValue, Failure> {
        let mut ctx = Context::new();
        for (name, need) in &self.facts.vars {
            if name == "states" {
                ctx.bind(name.clone(), states_value(&b.states, need));
            } else if let Some(v) = (b.variable)(name) {
                ctx.bind(name.clone(), cache::convert(name, v, need));
            }
        }
        run_engine(&self.ast, &self.facts, ctx, &JValue::Undefined, b.rng)
    }

    /// AWS's cause for a failed evaluation: `… threw an error during evaluation. T1006: …`
    /// after a coded JSONata message, `…: <message>` after one without a code (both
    /// recorded or quoted: `math_operations_jsonata.math_random_seeded`, floci-io/floci#2783).
    fn failure(&self, field: &str, f: Failure) -> QueryError {
        let e = match f {
            Failure::Engine(e) => e,
            Failure::Panic => {
                return self.error(field, "threw an internal error during evaluation.");
            }
        };
        let message = engine_message(&e, &self.facts);
        let separator = if jsonata_core::evaluator::error_code_prefix(&message).is_some() {
            ". "
        } else {
            ": "
        };
        self.error(
            field,
            &format!("threw an error during evaluation{separator}{message}"),
        )
    }

    /// `The JSONata expression '<source>' specified for the field '<field>' <what>`.
    fn error(&self, field: &str, what: &str) -> QueryError {
        QueryError {
            cause: format!(
                "The JSONata expression '{}' specified for the field '{field}' {what}",
                self.source.trim()
            ),
        }
    }
}

/// Runs the engine on `ast` as every evaluation here runs: within the limits, with AWS's
/// functions registered (those `facts` names), containing any panic.
fn run_engine(
    ast: &AstNode,
    facts: &Facts,
    ctx: Context,
    data: &JValue,
    rng: &mut Rng,
) -> Result<JValue, Failure> {
    let options = EvaluatorOptions {
        timeout_ms: Some(EVALUATION_TIMEOUT_MS),
        max_stack_depth: Some(MAX_EVALUATION_DEPTH),
        max_sequence_length: Some(extras::MAX_ITEMS),
        ..EvaluatorOptions::default()
    };
    let mut ev = Evaluator::with_options(ctx, options);
    let uses_rng = facts
        .names
        .iter()
        .any(|n| matches!(n.as_str(), "random" | "uuid" | "shuffle"));
    let shared = uses_rng.then(|| Rc::new(RefCell::new(rng.clone())));
    extras::register(&mut ev, &facts.names, shared.as_ref());
    let out = catch_unwind(AssertUnwindSafe(|| ev.evaluate(ast, data)));
    if let Some(shared) = shared {
        *rng = shared.borrow().clone();
    }
    match out {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(Failure::Engine(e)),
        Err(_) => Err(Failure::Panic),
    }
}

/// Evaluates JSONata `source` (no `{% %}`) against an input `document`, with `bindings` as
/// variables, configured as every expression of a state machine is (limits, AWS's
/// functions, value conversion) but without Step Functions' compile-time rules, which
/// refuse any reference to an input document. For jsonata-js's own test suite
/// (`tests/jsonata_suite.rs`), whose cases read one. `Ok(None)` is an undefined result;
/// an error is the message from its JSONata code on (`T2001: …`), as AWS quotes it.
#[doc(hidden)]
pub fn evaluate_document(
    source: &str,
    document: Option<&Value>,
    bindings: &Map<String, Value>,
) -> Result<Option<Value>, String> {
    let ast = match catch_unwind(|| jsonata_core::parser::parse(source)) {
        Ok(Ok(ast)) => ast,
        Ok(Err(e)) => return Err(parse_message(&e.to_string())),
        Err(_) => return Err("panic while parsing".into()),
    };
    let facts = Facts::of(&ast).ok_or("nested too deeply")?;
    let mut ctx = Context::new();
    for (k, v) in bindings {
        ctx.bind(k.clone(), value::to_jvalue(v));
    }
    let data = document.map_or(JValue::Undefined, value::to_jvalue);
    let mut rng = Rng::new(0);
    match run_engine(&ast, &facts, ctx, &data, &mut rng) {
        Ok(v) if v.is_undefined() => Ok(None),
        Ok(v) => value::from_jvalue(&v)
            .map(Some)
            .map_err(|u| format!("unsupported result: {u:?}")),
        Err(Failure::Engine(e)) => Err(engine_message(&e, &facts).to_string()),
        Err(Failure::Panic) => Err("panic while evaluating".into()),
    }
}

/// The engine's message as AWS words it: from its JSONata code on, jsonata-js's text where
/// the engine's differs, AWS's own for the limits.
fn engine_message<'a>(e: &'a EvaluatorError, facts: &Facts) -> std::borrow::Cow<'a, str> {
    let message = from_code(e.message());
    match jsonata_core::evaluator::error_code_prefix(message) {
        Some("D1011" | "U1001") => STACK_OVERFLOW.into(),
        Some("D2015") => MEMORY_LIMIT.into(),
        Some("D1012") => TIMEOUT.into(),
        Some(_) => messages::jsonata_js(message, facts),
        None => message.into(),
    }
}

/// A parse error's message as jsonata-js words it (the tree is not there to name anything).
fn parse_message(full: &str) -> String {
    let message = from_code(full);
    messages::jsonata_js(message, &Facts::default()).into_owned()
}

/// `msg` from its JSONata error code on (`Signature validation failed: T0410: …` is
/// `T0410: …`, as jsonata-js words it), or all of it when it has none.
fn from_code(msg: &str) -> &str {
    let b = msg.as_bytes();
    (0..b.len())
        .find(|&i| {
            jsonata_core::evaluator::error_code_prefix(&msg[i..]).is_some()
                && (i == 0 || !b[i - 1].is_ascii_alphanumeric())
        })
        .map_or(msg, |i| &msg[i..])
}

/// The cache's names for `$states`' fields (a variable's is its name, which has no `.`).
const STATES_SLOTS: [&str; 4] = [
    "states.input",
    "states.context",
    "states.result",
    "states.errorOutput",
];

/// `$states` with the fields the expression reads, each converted as far as it is read.
fn states_value(states: &States, need: &Need) -> JValue {
    let fields: [(&str, Option<&Value>); 4] = [
        ("input", Some(states.input)),
        ("context", Some(states.context)),
        ("result", states.result),
        ("errorOutput", states.error_output),
    ];
    let mut out = indexmap::IndexMap::with_capacity(4);
    for (i, (name, v)) in fields.into_iter().enumerate() {
        let Some(v) = v else { continue };
        let field_need = match need {
            Need::All => &Need::All,
            Need::Fields(fs) => match fs.iter().find(|(f, _)| f == name) {
                Some((_, n)) => n,
                None => continue,
            },
        };
        out.insert(
            name.to_string(),
            cache::convert(STATES_SLOTS[i], v, field_need),
        );
    }
    JValue::object(out)
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
    /// in AWS's messages with the keys passed on the way down (`Output/result`, recorded in
    /// `outputdecl`/`assign` cases) and array indices (`Output/list[0]`, as floci-io/floci#2689
    /// measured).
    pub fn evaluate(&self, b: &mut Bindings, field: &str) -> Result<Value, QueryError> {
        let mut path = field.to_string();
        self.evaluate_at(b, &mut path)
    }

    /// Whether any expression in the payload reads `$states.<field>` by name.
    pub fn mentions_states_field(&self, field: &str) -> bool {
        match self {
            Payload::Literal(_) => false,
            Payload::Expr(e) => e.mentions_states_field(field),
            Payload::Array(items) => items.iter().any(|p| p.mentions_states_field(field)),
            Payload::Object(fields) => fields.iter().any(|(_, p)| p.mentions_states_field(field)),
        }
    }

    fn evaluate_at(&self, b: &mut Bindings, path: &mut String) -> Result<Value, QueryError> {
        match self {
            Payload::Literal(v) => Ok(v.clone()),
            Payload::Expr(e) => e.evaluate(b, path),
            Payload::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    let v = item.evaluate_at(b, path);
                    path.truncate(len);
                    out.push(v?);
                }
                Ok(Value::Array(out))
            }
            Payload::Object(fields) => {
                let mut m = Map::with_capacity(fields.len());
                for (k, v) in fields {
                    let len = path.len();
                    path.push('/');
                    path.push_str(k);
                    let v = v.evaluate_at(b, path);
                    path.truncate(len);
                    m.insert(k.clone(), v?);
                }
                Ok(Value::Object(m))
            }
        }
    }
}

fn compile_at(v: &Value, pointer: &str, errors: &mut Vec<CompileError>) -> Payload {
    match v {
        Value::String(s) if is_expression(s) => match Expr::compile_all(s) {
            Ok(e) => Payload::Expr(e),
            Err(es) => {
                errors.extend(es.into_iter().map(|mut e| {
                    e.pointer = pointer.to_string();
                    e
                }));
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
mod tests;
