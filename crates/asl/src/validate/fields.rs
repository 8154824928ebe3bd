//! The field tables: which fields each kind of object in a definition allows (the top
//! level, a branch or item processor, each state type, a retrier, a catcher, a Choice
//! rule), and the problem a field outside its table makes. A query language with fields of
//! its own (JSONata's Arguments, Output, Items, Condition) changes these tables.

use serde_json::{Map, Value};

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

/// A catcher.
const CATCHER: &[&str] = &["ErrorEquals", "Next", "ResultPath", "Assign", "Comment"];

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

    /// A state of type `ty` at `loc`.
    pub(super) fn state_fields(&mut self, obj: &Map<String, Value>, ty: &str, loc: &str) {
        let fields = state_table(ty);
        self.refuse_fields(
            obj,
            loc,
            |k| EVERY_STATE.contains(&k) || fields.contains(&k),
            |k| {
                if JSONATA_ONLY.contains(&k) {
                    format!(
                        "The QueryLanguage is set to 'JSONPath', but field '{k}' is only \
                         supported for the 'JSONata' QueryLanguage"
                    )
                } else {
                    format!("field '{k}' is not supported by a {ty} state")
                }
            },
        );
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

    /// A catcher at `loc`.
    pub(super) fn catcher_fields(&mut self, o: &Map<String, Value>, loc: &str) {
        self.refuse_fields(
            o,
            loc,
            |k| CATCHER.contains(&k),
            |k| format!("field '{k}' is not supported in a catcher"),
        );
    }
}
