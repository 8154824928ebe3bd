//! Fibers: the lines of execution (the main flow, a Parallel branch, a Map iteration), and
//! how each chains its events in the history (`previousEventId`).

use std::collections::HashMap;
use std::sync::Arc;

use crate::clock::Awake;
use crate::data::Scope;
use crate::history::{Details, EventType, History};

use super::Run;
use super::failures::Failure;

/// One line of execution (the main flow, a branch, an iteration).
pub(super) struct Fiber {
    pub(super) awake: Awake,
    /// The event the next event follows.
    pub(super) last: u64,
    pub(super) scope: Arc<Scope>,
    /// The first event of the main flow follows event 0, not ExecutionStarted.
    pub(super) first: bool,
    /// The last side event (MapIterationSucceeded), which MapStateSucceeded follows.
    pub(super) side: u64,
    /// Where events go when not in the execution's history (Distributed Map child runs).
    pub(super) history: Option<History>,
    /// The event that closes Parallel/Map work that has started, if it fails for good.
    pub(super) failed_event: Option<EventType>,
    /// The JSON text of the last state's output, which is the next state's input.
    pub(super) carry_text: Option<String>,
    /// Where this fiber runs, for checkpoint paths: "" for the main flow, `P@1[0]/` for a
    /// Parallel branch, `M@1#3/` for a Map iteration.
    pub(super) path: String,
    /// How often each state was entered in this fiber (loops revisit states).
    pub(super) visits: HashMap<String, u32, foldhash::fast::RandomState>,
    /// The checkpoint path of the state running now (its branches and iterations nest in it).
    pub(super) here: String,
    /// `$$.Execution` when not the execution's own: a Distributed Map's child execution's.
    pub(super) execution: Option<Arc<serde_json::Value>>,
}

impl Fiber {
    /// The execution's main flow, with no variables yet.
    pub(super) fn main(awake: Awake) -> Fiber {
        Fiber::child(awake, 0, Arc::new(Scope::default()), String::new())
    }

    /// A branch or iteration whose first event follows event `last`, seeing the variables
    /// of `scope`, at checkpoint path `path`.
    pub(super) fn child(awake: Awake, last: u64, scope: Arc<Scope>, path: String) -> Fiber {
        Fiber {
            awake,
            last,
            scope,
            first: false,
            side: 0,
            history: None,
            failed_event: None,
            carry_text: None,
            path,
            visits: HashMap::default(),
            here: String::new(),
            execution: None,
        }
    }

    /// The same fiber inside the execution `execution` (`None`: the run's own), as its
    /// parent is.
    pub(super) fn in_execution(mut self, execution: Option<Arc<serde_json::Value>>) -> Fiber {
        self.execution = execution;
        self
    }

    /// The same fiber recording its events in `history` (a Distributed Map's child
    /// executions) instead of the execution's, when given.
    pub(super) fn recording_in(mut self, history: Option<History>) -> Fiber {
        self.history = history;
        self
    }

    pub(super) fn take_awake(&mut self) -> Awake {
        std::mem::replace(&mut self.awake, Awake::none())
    }
}

impl Run {
    /// Records an event that follows the fiber's last event, and becomes it.
    pub(super) fn emit(
        &self,
        fiber: &mut Fiber,
        kind: EventType,
        d: Option<Details>,
    ) -> Result<u64, Failure> {
        let prev = if fiber.first {
            fiber.first = false;
            0
        } else {
            fiber.last
        };
        let id = fiber
            .history
            .as_ref()
            .unwrap_or(&self.history)
            .push(kind, prev, self.now(), d)
            .map_err(|_| Failure::history_full())?;
        fiber.last = id;
        Ok(id)
    }

    /// An event that follows event `prev` (not the fiber's last one) and becomes the
    /// fiber's last event.
    pub(super) fn emit_after(
        &self,
        fiber: &mut Fiber,
        prev: u64,
        kind: EventType,
        d: Option<Details>,
    ) -> Result<u64, Failure> {
        let id = fiber
            .history
            .as_ref()
            .unwrap_or(&self.history)
            .push(kind, prev, self.now(), d)
            .map_err(|_| Failure::history_full())?;
        fiber.first = false;
        fiber.last = id;
        Ok(id)
    }

    /// An event that follows the fiber's last event without becoming it.
    pub(super) fn emit_side(
        &self,
        fiber: &Fiber,
        kind: EventType,
        d: Option<Details>,
    ) -> Result<u64, Failure> {
        fiber
            .history
            .as_ref()
            .unwrap_or(&self.history)
            .push(kind, fiber.last, self.now(), d)
            .map_err(|_| Failure::history_full())
    }
}
