//! The typed state machine: what a validated definition holds. Built by [`crate::validate()`].

use indexmap::IndexMap;
use serde_json::Value;

use crate::intrinsic::Call;
use crate::jsonata::{Expr, Payload};
use crate::path::Path;

/// The query language of a state (AWS: "Query Languages" in the Amazon States Language
/// specification, <https://states-language.net/#query-language>): the machine's
/// `QueryLanguage` (JSONPath by default), which a state may override with its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueryLanguage {
    #[default]
    JsonPath,
    Jsonata,
}

impl QueryLanguage {
    /// The name AWS uses (`JSONPath`, `JSONata`).
    pub fn as_str(self) -> &'static str {
        match self {
            QueryLanguage::JsonPath => "JSONPath",
            QueryLanguage::Jsonata => "JSONata",
        }
    }
}

/// How a value is built at run time: a JSONPath payload template (`.$` fields, intrinsic
/// functions) or a JSONata payload (`{% … %}` strings anywhere). Assign and ItemSelector
/// exist in both languages.
#[derive(Debug, Clone)]
pub enum Builder {
    Template(Template),
    Jsonata(Payload),
}

/// A validated state machine.
#[derive(Debug, Clone)]
pub struct StateMachine {
    pub comment: Option<String>,
    pub timeout_seconds: Option<u64>,
    pub root: Machine,
    /// What AWS accepts but the local executor cannot run yet (location: the state; message:
    /// the field and value). `asl validate` accepts such a machine; running it is refused
    /// (see [`crate::validate::runnable`]).
    pub unsupported: Vec<crate::validate::Problem>,
}

/// A set of states with an entry point: the machine itself, a Parallel branch or a Map's
/// item processor.
#[derive(Debug, Clone)]
pub struct Machine {
    pub start_at: String,
    pub states: IndexMap<String, State, foldhash::fast::RandomState>,
}

/// One state.
#[derive(Debug, Clone)]
pub struct State {
    pub name: String,
    /// The state's input and output processing, in its query language.
    pub io: Io,
    pub next: Transition,
    pub assign: Option<Builder>,
    pub kind: Kind,
    /// Whether any field of the state reads the context object (`$$`, `$states.context`).
    pub uses_context: bool,
}

/// A state's own input and output fields: JSONPath's InputPath and OutputPath, or JSONata's
/// Output (absent: the result for Task, Map and Parallel, the input otherwise).
/// <https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html>
#[derive(Debug, Clone)]
pub enum Io {
    JsonPath {
        input_path: PathField,
        output_path: PathField,
    },
    Jsonata {
        output: Option<Payload>,
    },
}

impl State {
    /// The state's query language.
    pub fn language(&self) -> QueryLanguage {
        match self.io {
            Io::JsonPath { .. } => QueryLanguage::JsonPath,
            Io::Jsonata { .. } => QueryLanguage::Jsonata,
        }
    }
}

impl Io {
    /// JSONPath with neither InputPath nor OutputPath.
    pub fn plain() -> Io {
        Io::JsonPath {
            input_path: PathField::Default,
            output_path: PathField::Default,
        }
    }
}

impl State {
    /// Every state this one can go to, in definition order (Next; each Choice rule's Next,
    /// then Default; each catcher's Next), with the field that names it. Validation walks
    /// this graph twice: to check that every target exists and that every state is
    /// reachable.
    pub fn successors(&self) -> Vec<(&str, Via)> {
        let mut out = Vec::new();
        if let Transition::Next(n) = &self.next {
            out.push((n.as_str(), Via::Next));
        }
        if let Kind::Choice { choices, default } = &self.kind {
            out.extend(
                choices
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (c.next.as_str(), Via::Choice(i))),
            );
            out.extend(default.iter().map(|d| (d.as_str(), Via::Default)));
        }
        if let Some(common) = self.kind.common() {
            out.extend(
                common
                    .catch
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (c.next.as_str(), Via::Catch(i))),
            );
        }
        out
    }
}

/// The field through which a state goes to another (see [`State::successors`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// `Next`.
    Next,
    /// The `Next` of the top-level Choice rule at this index.
    Choice(usize),
    /// A Choice state's `Default`.
    Default,
    /// The `Next` of the catcher at this index.
    Catch(usize),
}

impl Via {
    /// The field's location within the state, as a JSON pointer (`Choices/0/Next`).
    pub fn pointer(self) -> String {
        match self {
            Via::Next => "Next".into(),
            Via::Choice(i) => format!("Choices/{i}/Next"),
            Via::Default => "Default".into(),
            Via::Catch(i) => format!("Catch/{i}/Next"),
        }
    }
}

/// Where a state goes next.
#[derive(Debug, Clone, PartialEq)]
pub enum Transition {
    Next(String),
    End,
    /// Choice, Succeed and Fail decide for themselves.
    None,
}

/// InputPath, OutputPath, ResultPath: absent, explicitly null, or a path.
#[derive(Debug, Clone, Default)]
pub enum PathField {
    #[default]
    Default,
    Null,
    Path(Path),
}

/// A payload template (Parameters, ResultSelector, ItemSelector, Assign) with its `.$` fields
/// compiled.
#[derive(Debug, Clone)]
pub enum Template {
    Literal(Value),
    Object(Vec<(String, Template)>),
    Array(Vec<Template>),
    Path(Path),
    Call(Call),
}

/// A number given literally, by a path (JSONPath) or by an expression (JSONata).
#[derive(Debug, Clone)]
pub enum Number {
    Fixed(u64),
    Path(Path),
    Expr(Expr),
}

/// The state types and their own fields.
#[derive(Debug, Clone)]
pub enum Kind {
    /// JSONPath's Result, Parameters and ResultPath (JSONata: none; its Output is in [`Io`]).
    Pass(Option<PassPath>),
    Task(Box<Task>),
    Choice {
        choices: Vec<ChoiceRule>,
        default: Option<String>,
    },
    Wait(Wait),
    Succeed,
    Fail {
        error: Option<FailField>,
        cause: Option<FailField>,
    },
    Parallel(Box<Parallel>),
    Map(Box<MapState>),
}

impl Kind {
    /// The type name used in history events (`Pass`, `Task`, ...).
    pub fn type_name(&self) -> &'static str {
        match self {
            Kind::Pass(_) => "Pass",
            Kind::Task(_) => "Task",
            Kind::Choice { .. } => "Choice",
            Kind::Wait(_) => "Wait",
            Kind::Succeed => "Succeed",
            Kind::Fail { .. } => "Fail",
            Kind::Parallel(_) => "Parallel",
            Kind::Map(_) => "Map",
        }
    }

    /// The fields Task, Parallel and Map share (their data fields, Retry, Catch); `None` for the other types.
    pub fn common(&self) -> Option<&Common> {
        match self {
            Kind::Task(t) => Some(&t.common),
            Kind::Parallel(p) => Some(&p.common),
            Kind::Map(m) => Some(&m.common),
            _ => None,
        }
    }
}

/// Fields shared by Task, Parallel and Map.
#[derive(Debug, Clone)]
pub struct Common {
    pub data: WorkData,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
}

/// How the work of a Task, Parallel or Map gets its input and hands on its result:
/// JSONPath's Parameters, ResultSelector and ResultPath, or JSONata's Arguments (the task's
/// or every branch's input; a Map has none).
#[derive(Debug, Clone)]
pub enum WorkData {
    JsonPath {
        parameters: Option<Template>,
        result_selector: Option<Template>,
        result_path: PathField,
    },
    Jsonata {
        arguments: Option<Payload>,
    },
}

/// A JSONPath Pass state's own fields.
#[derive(Debug, Clone)]
pub struct PassPath {
    pub result: Option<Value>,
    pub parameters: Option<Template>,
    pub result_path: PathField,
}

/// A Task state.
#[derive(Debug, Clone)]
pub struct Task {
    pub resource: String,
    pub common: Common,
    pub timeout: Option<Number>,
    pub heartbeat: Option<Number>,
    pub credentials: Option<Builder>,
}

/// A Parallel state.
#[derive(Debug, Clone)]
pub struct Parallel {
    pub branches: Vec<Machine>,
    pub common: Common,
}

/// A Map state, inline or distributed.
#[derive(Debug, Clone)]
pub struct MapState {
    pub processor: Machine,
    /// `ProcessorConfig.Mode: DISTRIBUTED`: iterations run as child executions.
    pub distributed: bool,
    pub label: Option<String>,
    /// A Distributed Map's ItemReader, ItemBatcher and ResultWriter (`None` without any).
    pub s3: Option<Box<DistributedFields>>,
    pub items: Items,
    pub item_selector: Option<Builder>,
    pub max_concurrency: Option<Number>,
    pub tolerated_failure_count: Option<Number>,
    pub tolerated_failure_percentage: Option<PercentSpec>,
    pub common: Common,
}

/// A Distributed Map's ItemReader, ItemBatcher and ResultWriter: the fields as parsed, and
/// the values the executor evaluates on the state's input compiled in its query language
/// (`Parameters` templates for JSONPath, `Arguments` payloads for JSONata).
#[derive(Debug, Clone)]
pub struct DistributedFields {
    pub spec: crate::distributed::DistributedSpec,
    /// The ItemReader's Parameters/Arguments (Bucket, Key or Prefix).
    pub reader_args: Option<Builder>,
    /// ReaderConfig MaxItems / MaxItemsPath.
    pub reader_max_items: Option<Number>,
    /// ItemBatcher's BatchInput.
    pub batch_input: Option<Builder>,
    /// ItemBatcher's MaxItemsPerBatch[Path] and MaxInputBytesPerBatch[Path].
    pub batch_max_items: Option<Number>,
    pub batch_max_bytes: Option<Number>,
    /// The ResultWriter's Parameters/Arguments (Bucket, Prefix).
    pub writer_args: Option<Builder>,
}

/// A Map's items: the effective input, what ItemsPath selects (JSONPath) or what Items
/// gives (JSONata: an array with expressions in it, or an expression).
#[derive(Debug, Clone)]
pub enum Items {
    Input,
    Path(Path),
    Jsonata(Payload),
}

/// ToleratedFailurePercentage, literal, by path or by expression.
#[derive(Debug, Clone)]
pub enum PercentSpec {
    Fixed(f64),
    Path(Path),
    Expr(Expr),
}

/// A Wait state's duration.
#[derive(Debug, Clone)]
pub enum Wait {
    Seconds(u64),
    SecondsPath(Path),
    Timestamp(String),
    TimestampPath(Path),
    /// JSONata `Seconds` given by an expression.
    SecondsExpr(Expr),
    /// JSONata `Timestamp` given by an expression.
    TimestampExpr(Expr),
}

/// A Fail state's Error or Cause.
#[derive(Debug, Clone)]
pub enum FailField {
    Literal(String),
    Path(Path),
    Call(Call),
    Expr(Expr),
}

/// A retrier.
#[derive(Debug, Clone)]
pub struct Retrier {
    pub error_equals: Vec<String>,
    pub interval_seconds: u64,
    pub max_attempts: u64,
    pub backoff_rate: f64,
    pub max_delay_seconds: Option<u64>,
    pub jitter: Jitter,
}

/// JitterStrategy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Jitter {
    None,
    Full,
}

/// A catcher.
#[derive(Debug, Clone)]
pub struct Catcher {
    pub error_equals: Vec<String>,
    pub next: String,
    pub output: CatchOutput,
    pub assign: Option<Builder>,
}

/// What a catcher hands on: the state's input with the error output at ResultPath
/// (JSONPath), or its Output (JSONata; absent: the error output itself).
#[derive(Debug, Clone)]
pub enum CatchOutput {
    ResultPath(PathField),
    Output(Option<Payload>),
}

/// A top-level Choice rule with its transition.
#[derive(Debug, Clone)]
pub struct ChoiceRule {
    pub rule: Condition,
    pub next: String,
    pub assign: Option<Builder>,
    /// JSONata: the state's output when this rule is chosen.
    pub output: Option<Payload>,
}

/// When a Choice rule matches: a JSONPath rule, or a JSONata Condition (a boolean, or an
/// expression that must evaluate to one).
#[derive(Debug, Clone)]
pub enum Condition {
    Rule(Rule),
    Fixed(bool),
    Expr(Expr),
}

/// A Choice rule's boolean expression.
#[derive(Debug, Clone)]
pub enum Rule {
    And(Vec<Rule>),
    Or(Vec<Rule>),
    Not(Box<Rule>),
    Test {
        variable: Path,
        op: Op,
        operand: Operand,
    },
}

/// The value a comparison operator compares with.
#[derive(Debug, Clone)]
pub enum Operand {
    Literal(Value),
    Path(Path),
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    StringEquals,
    StringLessThan,
    StringGreaterThan,
    StringLessThanEquals,
    StringGreaterThanEquals,
    StringMatches,
    NumericEquals,
    NumericLessThan,
    NumericGreaterThan,
    NumericLessThanEquals,
    NumericGreaterThanEquals,
    BooleanEquals,
    TimestampEquals,
    TimestampLessThan,
    TimestampGreaterThan,
    TimestampLessThanEquals,
    TimestampGreaterThanEquals,
    IsNull,
    IsPresent,
    IsNumeric,
    IsString,
    IsBoolean,
    IsTimestamp,
}

impl Op {
    /// Every operator with its field name; `…Path` variants are the same operator with a
    /// path operand.
    pub const ALL: [(&'static str, Op); 23] = [
        ("StringEquals", Op::StringEquals),
        ("StringLessThan", Op::StringLessThan),
        ("StringGreaterThan", Op::StringGreaterThan),
        ("StringLessThanEquals", Op::StringLessThanEquals),
        ("StringGreaterThanEquals", Op::StringGreaterThanEquals),
        ("StringMatches", Op::StringMatches),
        ("NumericEquals", Op::NumericEquals),
        ("NumericLessThan", Op::NumericLessThan),
        ("NumericGreaterThan", Op::NumericGreaterThan),
        ("NumericLessThanEquals", Op::NumericLessThanEquals),
        ("NumericGreaterThanEquals", Op::NumericGreaterThanEquals),
        ("BooleanEquals", Op::BooleanEquals),
        ("TimestampEquals", Op::TimestampEquals),
        ("TimestampLessThan", Op::TimestampLessThan),
        ("TimestampGreaterThan", Op::TimestampGreaterThan),
        ("TimestampLessThanEquals", Op::TimestampLessThanEquals),
        ("TimestampGreaterThanEquals", Op::TimestampGreaterThanEquals),
        ("IsNull", Op::IsNull),
        ("IsPresent", Op::IsPresent),
        ("IsNumeric", Op::IsNumeric),
        ("IsString", Op::IsString),
        ("IsBoolean", Op::IsBoolean),
        ("IsTimestamp", Op::IsTimestamp),
    ];

    /// Whether the operator has a `…Path` form.
    pub fn has_path_form(self) -> bool {
        !matches!(
            self,
            Op::StringMatches
                | Op::IsNull
                | Op::IsPresent
                | Op::IsNumeric
                | Op::IsString
                | Op::IsBoolean
                | Op::IsTimestamp
        )
    }
}
