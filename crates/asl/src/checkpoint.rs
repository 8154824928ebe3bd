//! What a redrive resumes from. Every state that completes successfully is recorded under a
//! stable path (the state's name and visit number, inside the Parallel branch or Map iteration
//! that ran it), with its output and where it went next. A redriven execution replays the
//! recorded states without running them again (no task is called, no event is written) and
//! runs the rest, as Step Functions' RedriveExecution "continues the failed execution from the
//! unsuccessful step and uses the same input ... doesn't rerun [the successful] steps", and
//! reruns only the Parallel branches and Map iterations that did not succeed
//! (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_RedriveExecution.html>,
//! <https://docs.aws.amazon.com/step-functions/latest/dg/redrive-executions.html>).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The successful states of an execution so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Path (`Parallel@1[0]/Task@1`) -> what the state did.
    pub states: BTreeMap<String, Completed>,
}

/// A state that completed successfully.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Completed {
    /// The state it went to; none when it ended its branch or the execution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// Its output (the next state's input).
    pub output: Value,
    /// The variables of its branch after it ran (`Assign`), restored when it is replayed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables: Option<serde_json::Map<String, Value>>,
}

/// How to redrive an execution (see [`crate::Options::redrive`]).
#[derive(Debug, Clone)]
pub struct Redrive {
    /// This redrive's number: 1 for the first (`redriveCount`, `$$.Execution.RedriveCount`).
    pub count: u32,
    /// The previous attempts' checkpoint.
    pub checkpoint: Checkpoint,
    /// How many events the history holds already: the new events' ids follow them.
    pub previous_events: u64,
    /// When the execution first started (`$$.Execution.StartTime` keeps it).
    pub started: DateTime<Utc>,
}

/// The checkpoint being replayed and the one being written, shared by an execution's fibers.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    replay: Mutex<HashMap<String, Completed>>,
    written: Mutex<BTreeMap<String, Completed>>,
}

impl Ledger {
    pub(crate) fn new(previous: Option<&Checkpoint>) -> Ledger {
        Ledger {
            replay: Mutex::new(
                previous
                    .map(|c| c.states.clone().into_iter().collect())
                    .unwrap_or_default(),
            ),
            written: Mutex::new(BTreeMap::new()),
        }
    }

    /// The recorded result at `path`, taken once (a Retry of the enclosing state runs it
    /// again), and kept in the new checkpoint.
    pub(crate) fn replay(&self, path: &str) -> Option<Completed> {
        let done = self.replay.lock().ok()?.remove(path)?;
        if let Ok(mut w) = self.written.lock() {
            w.insert(path.to_string(), done.clone());
        }
        Some(done)
    }

    /// Records a state's success, with the variables its branch holds after it.
    pub(crate) fn record(
        &self,
        path: String,
        next: Option<&str>,
        output: &Value,
        variables: &serde_json::Map<String, Value>,
    ) {
        if let Ok(mut w) = self.written.lock() {
            w.insert(
                path,
                Completed {
                    next: next.map(String::from),
                    output: output.clone(),
                    variables: (!variables.is_empty()).then(|| variables.clone()),
                },
            );
        }
    }

    /// Forgets what the branches and iterations of the state at `path` recorded: a new attempt
    /// of it (a Retry) runs them all again, and only that attempt's successes count.
    pub(crate) fn forget_inside(&self, path: &str) {
        if path.is_empty() {
            return;
        }
        let branch = format!("{path}[");
        let iteration = format!("{path}#");
        if let Ok(mut w) = self.written.lock() {
            w.retain(|k, _| !k.starts_with(&branch) && !k.starts_with(&iteration));
        }
    }

    /// The checkpoint so far.
    pub(crate) fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            states: self.written.lock().map(|w| w.clone()).unwrap_or_default(),
        }
    }
}
