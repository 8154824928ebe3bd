//! The field tables: which fields each kind of object in a definition allows (the top
//! level, a branch or item processor, each state type, a retrier, a catcher, a Choice
//! rule), and the problem a field outside its table makes. A query language with fields of
//! its own (JSONata's Arguments, Output, Items, Condition) changes these tables.

use serde_json::{Map, Value};

use crate::model::{Op, QueryLanguage};

use super::Validator;

/// The top level of a definition.
const TOP_LEVEL: &[&str] = &[
    "StartAt",
    "States",
    "Comment",
    "Version",
    "TimeoutSeconds",
    "QueryLanguage",
];

/// A Parallel branch or a Map's ItemProcessor (Iterator).
const SUB_MACHINE: &[&str] = &["StartAt", "States", "Comment", "ProcessorConfig"];

/// Fields every state allows.
const EVERY_STATE: &[&str] = &["Type", "Comment", "QueryLanguage"];

/// The fields a state of type `kind` allows besides [`EVERY_STATE`]; empty for an unknown
/// type.
fn state_table(kind: &str) -> &'static [&'static str] {
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

/// State fields only the JSONata query language has.
const JSONATA_ONLY: &[&str] = &["Arguments", "Output", "Items", "Condition"];

/// The JSONata fields a state of type `kind` allows (AWS's "Table of State Types and
/// Fields" in the Amazon States Language specification: Output everywhere but Fail,
/// Arguments in Task and Parallel, Items in Map).
fn jsonata_table(kind: &str) -> &'static [&'static str] {
    match kind {
        "Task" | "Parallel" => &["Arguments", "Output"],
        "Map" => &["Items", "Output"],
        "Pass" | "Wait" | "Choice" | "Succeed" => &["Output"],
        _ => &[],
    }
}

/// State fields only the JSONPath query language has ("JSONPath only" in each state's page of
/// the AWS Step Functions developer guide, e.g.
/// <https://docs.aws.amazon.com/step-functions/latest/dg/state-pass.html>; the `…Path`
/// forms of the fields JSONata gives by expression).
const JSONPATH_ONLY: &[&str] = &[
    "InputPath",
    "OutputPath",
    "Parameters",
    "ResultSelector",
    "ResultPath",
    "Result",
    "ItemsPath",
    "SecondsPath",
    "TimestampPath",
    "ErrorPath",
    "CausePath",
    "TimeoutSecondsPath",
    "HeartbeatSecondsPath",
    "MaxConcurrencyPath",
    "ToleratedFailureCountPath",
    "ToleratedFailurePercentagePath",
];

/// The problem for a field of the other query language. AWS's wording for a JSONata field
/// in a JSONPath state is quoted from ValidateStateMachineDefinition (see
/// /work/shared/specs/asl.md §1.2); the reverse is worded the same way by analogy.
pub(super) fn other_language(lang: QueryLanguage, k: &str) -> String {
    let (is, only) = match lang {
        QueryLanguage::JsonPath => ("JSONPath", "JSONata"),
        QueryLanguage::Jsonata => ("JSONata", "JSONPath"),
    };
    format!(
        "The QueryLanguage is set to '{is}', but field '{k}' is only supported for the '{only}' QueryLanguage"
    )
}

/// A retrier.
const RETRIER: &[&str] = &[
    "ErrorEquals",
    "IntervalSeconds",
    "MaxAttempts",
    "BackoffRate",
    "MaxDelaySeconds",
    "JitterStrategy",
    "Comment",
];

/// A catcher (JSONPath: ResultPath, JSONata: Output).
const CATCHER: &[&str] = &["ErrorEquals", "Next", "Assign", "Comment"];

/// Fields a Choice rule allows besides its own (And, Or, Not, or Variable and one
/// comparison operator).
const RULE: &[&str] = &["Comment"];

/// Fields a top-level Choice rule (one of the Choices) allows besides [`RULE`].
const TOP_RULE: &[&str] = &["Next", "Assign"];

/// Whether a Choice rule allows field `k` besides its own: `top` for one of the Choices,
/// not one nested in And, Or or Not.
pub(super) fn rule_extra(k: &str, top: bool) -> bool {
    RULE.contains(&k) || (top && TOP_RULE.contains(&k))
}

/// The fields a JSONata Choice rule allows: Condition, Next, Assign, Output and Comment
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html>).
const JSONATA_RULE: &[&str] = &["Condition", "Next", "Assign", "Output", "Comment"];

impl Validator {
    /// A problem for every field of `obj` that `allowed` refuses, at `loc/<field>`, worded by
    /// `message`.
    fn refuse_fields(
        &mut self,
        obj: &Map<String, Value>,
        loc: &str,
        allowed: impl Fn(&str) -> bool,
        message: impl Fn(&str) -> String,
    ) {
        for k in obj.keys().filter(|k| !allowed(k)) {
            self.problem(&format!("{loc}/{k}"), message(k));
        }
    }

    /// The top level of a definition.
    pub(super) fn top_level_fields(&mut self, obj: &Map<String, Value>) {
        self.refuse_fields(
            obj,
            "",
            |k| TOP_LEVEL.contains(&k),
            |k| format!("field '{k}' is not supported here"),
        );
    }

    /// A Parallel branch or a Map's item processor at `loc`.
    pub(super) fn sub_machine_fields(&mut self, obj: &Map<String, Value>, loc: &str) {
        self.refuse_fields(
            obj,
            loc,
            |k| SUB_MACHINE.contains(&k),
            |k| format!("Field '{k}' is not supported"),
        );
    }

    /// Whether `ty` is a state type (a problem at `loc` when it is not).
    pub(super) fn known_state_type(&mut self, ty: &str, loc: &str) -> bool {
        if state_table(ty).is_empty() {
            self.problem(
                &format!("{loc}/Type"),
                format!("unknown state type '{ty}' (expected Pass, Task, Choice, Wait, Succeed, Fail, Parallel or Map)"),
            );
            return false;
        }
        true
    }

    /// A state of type `ty` in query language `lang` at `loc`.
    pub(super) fn state_fields(
        &mut self,
        obj: &Map<String, Value>,
        ty: &str,
        loc: &str,
        lang: QueryLanguage,
    ) {
        let fields = state_table(ty);
        let jsonata = jsonata_table(ty);
        let allowed = |k: &str| {
            EVERY_STATE.contains(&k)
                || match lang {
                    QueryLanguage::JsonPath => fields.contains(&k),
                    QueryLanguage::Jsonata => {
                        (fields.contains(&k) && !JSONPATH_ONLY.contains(&k)) || jsonata.contains(&k)
                    }
                }
        };
        self.refuse_fields(obj, loc, allowed, |k| {
            let foreign = match lang {
                QueryLanguage::JsonPath => JSONATA_ONLY.contains(&k),
                QueryLanguage::Jsonata => fields.contains(&k) && JSONPATH_ONLY.contains(&k),
            };
            if foreign {
                other_language(lang, k)
            } else {
                format!("field '{k}' is not supported by a {ty} state")
            }
        });
    }

    /// A JSONata Choice rule (one of the Choices) at `loc`. Whether it has JSONPath rule
    /// fields (refused as such; the caller then does not ask for a Condition as well).
    pub(super) fn jsonata_rule_fields(&mut self, o: &Map<String, Value>, loc: &str) -> bool {
        let jsonpath = |k: &str| {
            matches!(k, "Variable" | "And" | "Or" | "Not")
                || Op::ALL
                    .iter()
                    .any(|(n, _)| *n == k || k.strip_suffix("Path") == Some(n))
        };
        self.refuse_fields(
            o,
            loc,
            |k| JSONATA_RULE.contains(&k),
            |k| {
                if jsonpath(k) {
                    other_language(QueryLanguage::Jsonata, k)
                } else {
                    format!("field '{k}' is not supported in a JSONata choice rule")
                }
            },
        );
        o.keys().any(|k| jsonpath(k))
    }

    /// A retrier at `loc`.
    pub(super) fn retrier_fields(&mut self, o: &Map<String, Value>, loc: &str) {
        self.refuse_fields(
            o,
            loc,
            |k| RETRIER.contains(&k),
            |k| format!("field '{k}' is not supported in a retrier"),
        );
    }

    /// A catcher of a state in query language `lang` at `loc`.
    pub(super) fn catcher_fields(
        &mut self,
        o: &Map<String, Value>,
        loc: &str,
        lang: QueryLanguage,
    ) {
        let own = match lang {
            QueryLanguage::JsonPath => "ResultPath",
            QueryLanguage::Jsonata => "Output",
        };
        self.refuse_fields(
            o,
            loc,
            |k| CATCHER.contains(&k) || k == own,
            |k| match (lang, k) {
                (QueryLanguage::JsonPath, "Output") | (QueryLanguage::Jsonata, "ResultPath") => {
                    other_language(lang, k)
                }
                _ => format!("field '{k}' is not supported in a catcher"),
            },
        );
    }
}
