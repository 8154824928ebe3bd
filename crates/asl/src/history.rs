//! The execution history, event for event as GetExecutionHistory returns it.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

/// AWS's limit on history events in a Standard execution.
pub const MAX_EVENTS: usize = 25_000;

/// Event types this executor emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    ExecutionStarted,
    ExecutionSucceeded,
    ExecutionFailed,
    ExecutionTimedOut,
    ExecutionAborted,
    /// RedriveExecution restarted the execution
    /// (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_ExecutionRedrivenEventDetails.html>).
    ExecutionRedriven,
    StateEntered(StateType),
    StateExited(StateType),
    WaitStateAborted,
    TaskStateAborted,
    TaskScheduled,
    TaskStarted,
    TaskSubmitted,
    TaskSucceeded,
    TaskFailed,
    TaskTimedOut,
    LambdaFunctionScheduled,
    LambdaFunctionStarted,
    LambdaFunctionSucceeded,
    LambdaFunctionFailed,
    LambdaFunctionTimedOut,
    ParallelStateStarted,
    ParallelStateSucceeded,
    ParallelStateFailed,
    ParallelStateAborted,
    MapStateStarted,
    MapStateSucceeded,
    MapStateFailed,
    MapStateAborted,
    MapIterationStarted,
    MapIterationSucceeded,
    MapIterationFailed,
    MapIterationAborted,
    MapRunStarted,
    MapRunSucceeded,
    MapRunFailed,
    EvaluationFailed,
}

/// The state types, as they prefix `…StateEntered` / `…StateExited`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateType {
    Pass,
    Task,
    Choice,
    Wait,
    Succeed,
    Fail,
    Parallel,
    Map,
}

impl StateType {
    fn name(self) -> &'static str {
        match self {
            StateType::Pass => "Pass",
            StateType::Task => "Task",
            StateType::Choice => "Choice",
            StateType::Wait => "Wait",
            StateType::Succeed => "Succeed",
            StateType::Fail => "Fail",
            StateType::Parallel => "Parallel",
            StateType::Map => "Map",
        }
    }
}

impl EventType {
    /// The event type string.
    pub fn name(self) -> String {
        match self {
            EventType::StateEntered(t) => format!("{}StateEntered", t.name()),
            EventType::StateExited(t) => format!("{}StateExited", t.name()),
            other => format!("{other:?}"),
        }
    }

    /// The key of this event's details object.
    fn details_key(self) -> Option<&'static str> {
        use EventType::*;
        Some(match self {
            ExecutionStarted => "executionStartedEventDetails",
            ExecutionSucceeded => "executionSucceededEventDetails",
            ExecutionFailed => "executionFailedEventDetails",
            ExecutionTimedOut => "executionTimedOutEventDetails",
            ExecutionAborted => "executionAbortedEventDetails",
            ExecutionRedriven => "executionRedrivenEventDetails",
            StateEntered(_) => "stateEnteredEventDetails",
            StateExited(_) => "stateExitedEventDetails",
            TaskScheduled => "taskScheduledEventDetails",
            TaskStarted => "taskStartedEventDetails",
            TaskSubmitted => "taskSubmittedEventDetails",
            TaskSucceeded => "taskSucceededEventDetails",
            TaskFailed => "taskFailedEventDetails",
            TaskTimedOut => "taskTimedOutEventDetails",
            LambdaFunctionScheduled => "lambdaFunctionScheduledEventDetails",
            LambdaFunctionStarted => return None,
            LambdaFunctionSucceeded => "lambdaFunctionSucceededEventDetails",
            LambdaFunctionFailed => "lambdaFunctionFailedEventDetails",
            LambdaFunctionTimedOut => "lambdaFunctionTimedOutEventDetails",
            MapStateStarted => "mapStateStartedEventDetails",
            MapIterationStarted => "mapIterationStartedEventDetails",
            MapIterationSucceeded => "mapIterationSucceededEventDetails",
            MapIterationFailed => "mapIterationFailedEventDetails",
            MapIterationAborted => "mapIterationAbortedEventDetails",
            MapRunStarted => "mapRunStartedEventDetails",
            MapRunFailed => "mapRunFailedEventDetails",
            EvaluationFailed => "evaluationFailedEventDetails",
            ParallelStateFailed | MapStateFailed => return None,
            _ => return None,
        })
    }
}

/// An event's details, in the order AWS lists them. Kept as a plain list (no hashing) since
/// an execution writes thousands of them; `*Details` truncation flags are stored as `null`,
/// since this executor never truncates, and written as `{"truncated": false}`.
#[derive(Debug, Clone, Default)]
pub struct Details(Vec<(&'static str, Value)>);

impl Details {
    /// No details yet.
    pub fn new() -> Details {
        Details(Vec::with_capacity(4))
    }

    /// Adds a field.
    pub fn insert(&mut self, key: &'static str, value: Value) {
        self.0.push((key, value));
    }

    /// A field's value.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    fn to_json(&self) -> Value {
        Value::Object(
            self.0
                .iter()
                .map(|(k, v)| {
                    let v = if v.is_null() && k.ends_with("Details") {
                        json!({"truncated": false})
                    } else {
                        v.clone()
                    };
                    (k.to_string(), v)
                })
                .collect(),
        )
    }
}

impl FromIterator<(&'static str, Value)> for Details {
    fn from_iter<I: IntoIterator<Item = (&'static str, Value)>>(iter: I) -> Self {
        Details(iter.into_iter().collect())
    }
}

/// One history event.
#[derive(Debug, Clone)]
pub struct Event {
    pub id: u64,
    pub previous_event_id: u64,
    pub timestamp: DateTime<Utc>,
    pub kind: EventType,
    pub details: Option<Details>,
}

impl Event {
    /// The event as GetExecutionHistory shows it.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert(
            "timestamp".into(),
            json!(crate::timestamp::format(self.timestamp)),
        );
        m.insert("type".into(), json!(self.kind.name()));
        m.insert("id".into(), json!(self.id));
        m.insert("previousEventId".into(), json!(self.previous_event_id));
        if let (Some(k), Some(d)) = (self.kind.details_key(), &self.details) {
            m.insert(k.into(), d.to_json());
        }
        Value::Object(m)
    }
}

/// The growing history of one execution, shared by its branches. A redriven execution's
/// history continues its previous events: ids start after them, and the limit on events
/// counts them too.
#[derive(Debug, Clone, Default)]
pub struct History(Arc<Mutex<Vec<Event>>>, u64);

/// The history is full.
#[derive(Debug, Clone, Copy)]
pub struct HistoryFull;

impl History {
    /// A history whose first event follows `previous` earlier events (a redrive).
    pub fn continuing(previous: u64) -> History {
        History(Arc::default(), previous)
    }

    /// How many earlier events this history continues.
    pub fn offset(&self) -> u64 {
        self.1
    }

    /// Appends an event and returns its id.
    pub fn push(
        &self,
        kind: EventType,
        previous: u64,
        at: DateTime<Utc>,
        details: Option<Details>,
    ) -> Result<u64, HistoryFull> {
        self.append(kind, previous, at, details, true)
            .ok_or(HistoryFull)
    }

    /// Appends the final execution event even when the history is full.
    pub fn push_final(
        &self,
        kind: EventType,
        previous: u64,
        at: DateTime<Utc>,
        details: Option<Details>,
    ) -> u64 {
        self.append(kind, previous, at, details, false)
            .unwrap_or_default()
    }

    fn append(
        &self,
        kind: EventType,
        previous: u64,
        at: DateTime<Utc>,
        details: Option<Details>,
        bounded: bool,
    ) -> Option<u64> {
        let mut v = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if bounded && (v.len() as u64).saturating_add(self.1) >= MAX_EVENTS as u64 {
            return None;
        }
        let id = self.1 + v.len() as u64 + 1;
        v.push(Event {
            id,
            previous_event_id: previous,
            timestamp: at,
            kind,
            details,
        });
        Some(id)
    }

    /// A copy of every event so far.
    pub fn events(&self) -> Vec<Event> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// The number of events so far.
    pub fn len(&self) -> usize {
        self.0.lock().map(|v| v.len()).unwrap_or(0)
    }

    /// Whether no event was recorded yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The whole history as GetExecutionHistory's `events` array.
    pub fn to_json(&self) -> Value {
        Value::Array(self.events().iter().map(Event::to_json).collect())
    }
}
