//! Failures travelling up through states, which error names a retrier or catcher matches,
//! and AWS's wording for the failures the executor itself raises.

use serde_json::Value;

use crate::data::{self, DataError};
use crate::task::TaskFailure;

/// A failure travelling up through states.
#[derive(Debug, Clone)]
pub(super) struct Failure {
    pub(super) error: Option<String>,
    pub(super) cause: Option<String>,
    /// States.Runtime and execution-level stops: no Retry or Catch applies.
    pub(super) fatal: bool,
    /// A JSONata field failed: AWS records an EvaluationFailed event for it (once; the
    /// state that reports it takes this).
    pub(super) evaluation: Option<Evaluation>,
}

/// Where a JSONata evaluation failed: the field (`Arguments/FunctionName`), when the
/// failure is one field's (AWS's EvaluationFailed event has `location` then).
#[derive(Debug, Clone)]
pub(super) struct Evaluation {
    pub(super) location: Option<String>,
}

impl Failure {
    /// A failure with this error and cause; fatal when the error is States.Runtime.
    pub(super) fn new(error: &str, cause: impl Into<String>) -> Failure {
        Failure {
            error: Some(error.to_string()),
            cause: Some(cause.into()),
            fatal: error == "States.Runtime",
            evaluation: None,
        }
    }

    /// A failure no Retry or Catch applies to, whatever its error.
    pub(super) fn fatal(error: &str, cause: impl Into<String>) -> Failure {
        Failure {
            fatal: true,
            ..Failure::new(error, cause)
        }
    }

    /// A failure a state raised with an error and a cause of its own (a Fail state, a task
    /// that timed out): never fatal.
    pub(super) fn raised(error: Option<String>, cause: Option<String>) -> Failure {
        Failure {
            error,
            cause,
            fatal: false,
            evaluation: None,
        }
    }

    /// A task handler's or callback's failure.
    pub(super) fn of_task(f: TaskFailure) -> Failure {
        Failure::raised(Some(f.error), f.cause)
    }

    /// The error name ("" when there is none).
    pub(super) fn name(&self) -> &str {
        self.error.as_deref().unwrap_or("")
    }

    /// A failure in a state, with AWS's prefix naming the state and its StateEntered event.
    pub(super) fn in_state(error: &str, state: &str, entered_id: u64, message: &str) -> Failure {
        Failure::new(
            error,
            format!(
                "An error occurred while executing the state '{state}' (entered at the event id #{entered_id}). {message}"
            ),
        )
    }

    /// A path, template or ResultPath that could not be evaluated in a state.
    pub(super) fn of_data(state: &str, entered_id: u64, e: DataError) -> Failure {
        Failure::in_state(e.error, state, entered_id, &e.message)
    }

    /// A state's result or output over [`super::MAX_PAYLOAD`].
    pub(super) fn result_too_large(state: &str) -> Failure {
        Failure::new(
            "States.DataLimitExceeded",
            format!(
                "The state/task '{state}' returned a result with a size exceeding the maximum number of bytes service limit."
            ),
        )
    }

    /// The history is full.
    pub(super) fn history_full() -> Failure {
        Failure::new(
            "States.Runtime",
            format!(
                "The execution reached the maximum number of history events ({}).",
                crate::history::MAX_EVENTS
            ),
        )
    }
}

/// Whether a retrier's or catcher's ErrorEquals matches an error name.
pub fn error_matches(names: &[String], error: &str) -> bool {
    names.iter().any(|n| match n.as_str() {
        "States.ALL" => error != "States.Runtime",
        "States.TaskFailed" => error != "States.Timeout" && error != "States.Runtime",
        other => other == error,
    })
}

pub(super) fn too_deep_cause(what: &str) -> String {
    format!(
        "{what} is nested deeper than {} levels.",
        crate::data::MAX_DEPTH
    )
}

/// A task result (handler answer or callback output) too deep to process is a task failure.
pub(super) fn deep_result(v: Value) -> Result<Value, TaskFailure> {
    if crate::data::deeper_than(&v, crate::data::MAX_DEPTH) {
        crate::data::dismantle(v);
        Err(TaskFailure::new(
            "States.Runtime",
            too_deep_cause("The task result"),
        ))
    } else {
        Ok(v)
    }
}

/// AWS's message for a path that found nothing.
pub(super) fn invalid_path(p: &crate::path::Path, e: data::ResolveError) -> String {
    match e {
        data::ResolveError::NoResults(m) => format!("Invalid path '{}' : {m}", p.text()),
        data::ResolveError::NoVariable(v) => {
            format!(
                "Invalid path '{}' : The variable '{v}' is not defined",
                p.text()
            )
        }
    }
}
