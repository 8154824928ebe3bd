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
    /// Whether there is anything to replay (a redrive): the common case skips the lock.
    replaying: bool,
    /// Every success in the order recorded (a later one at the same path replaces an earlier
    /// one), made into the checkpoint at the end: appending is cheaper than keeping a map
    /// sorted on every state.
    written: Mutex<Vec<(String, Completed)>>,
}

impl Ledger {
    pub(crate) fn new(previous: Option<&Checkpoint>) -> Ledger {
        Ledger {
            replay: Mutex::new(
                previous
                    .map(|c| c.states.clone().into_iter().collect())
                    .unwrap_or_default(),
            ),
            replaying: previous.is_some_and(|c| !c.states.is_empty()),
            written: Mutex::new(Vec::new()),
        }
    }

    /// The recorded result at `path`, taken once (a Retry of the enclosing state runs it
    /// again), and kept in the new checkpoint.
    pub(crate) fn replay(&self, path: &str) -> Option<Completed> {
        if !self.replaying {
            return None;
        }
        let done = self.replay.lock().ok()?.remove(path)?;
        if let Ok(mut w) = self.written.lock() {
            w.push((path.to_string(), done.clone()));
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
            w.push((
                path,
                Completed {
                    next: next.map(String::from),
                    output: output.clone(),
                    variables: (!variables.is_empty()).then(|| variables.clone()),
                },
            ));
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
            w.retain(|(k, _)| !k.starts_with(&branch) && !k.starts_with(&iteration));
        }
    }

    /// The checkpoint, taken at the execution's end (nothing is recorded after it).
    pub(crate) fn take_checkpoint(&self) -> Checkpoint {
        let written = self
            .written
            .lock()
            .map(|mut w| std::mem::take(&mut *w))
            .unwrap_or_default();
        // In recording order, so the last success at a path is the one kept.
        Checkpoint {
            states: written.into_iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_success_at_a_path_is_kept() {
        let l = Ledger::new(None);
        let vars = serde_json::Map::new();
        l.record("b".into(), Some("x"), &Value::from(1), &vars);
        l.record("a".into(), None, &Value::from(2), &vars);
        l.record("b".into(), Some("y"), &Value::from(3), &vars);
        l.record("P@1[0]/c".into(), None, &Value::from(4), &vars);
        l.forget_inside("P@1");
        let c = l.take_checkpoint();
        let keys: Vec<&str> = c.states.keys().map(String::as_str).collect();
        assert_eq!(keys, ["a", "b"]);
        assert_eq!(c.states["b"].output, Value::from(3));
        assert_eq!(c.states["b"].next.as_deref(), Some("y"));
    }
}
