//! The state being run ([`Entered`]): what every step of a state needs (its name, the id and
//! time of its StateEntered event, its context object and the variables it sees), and the
//! steps every state type repeats: entering and exiting (with the payload limits), AWS's
//! failure messages naming the state, and templates evaluated with the seeded generator.

use std::sync::{Arc, MutexGuard};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::data::{self, DataError, Env, Scope};
use crate::history::{Details, EventType, StateType};
use crate::model::{Kind, State, Template, Transition};
use crate::rng::Rng;

use super::failures::{Failure, too_deep_cause};
use super::fiber::Fiber;
use super::io::Output;
use super::{MAX_PAYLOAD, Run, Step, details, not_truncated, text};

/// A state that has been entered (its StateEntered event recorded) and runs now.
pub(super) struct Entered<'r, 'm> {
    pub(super) run: &'r Run,
    pub(super) state: &'m State,
    pub(super) name: &'m str,
    /// The id of its StateEntered event, which AWS's failure messages name.
    pub(super) entered_id: u64,
    /// The event its StateEntered event follows.
    pub(super) entered_prev: u64,
    entered_at: DateTime<Utc>,
    kind: StateType,
    /// The context object (`$$`) at entry, `null` unless the state reads it.
    pub(super) context: Value,
    /// The variables the state sees: those at entry (its own Assign applies on exit).
    pub(super) scope: Arc<Scope>,
    /// `$$.Execution` when in a Distributed Map's child execution.
    pub(super) execution: Option<Arc<Value>>,
}

fn state_type(k: &Kind) -> StateType {
    match k {
        Kind::Pass(_) => StateType::Pass,
        Kind::Task(_) => StateType::Task,
        Kind::Choice { .. } => StateType::Choice,
        Kind::Wait(_) => StateType::Wait,
        Kind::Succeed => StateType::Succeed,
        Kind::Fail { .. } => StateType::Fail,
        Kind::Parallel(_) => StateType::Parallel,
        Kind::Map(_) => StateType::Map,
    }
}

impl Run {
    /// The seeded generator (UUIDs, random numbers, jitter, task tokens).
    pub(super) fn rng(&self) -> MutexGuard<'_, Rng> {
        self.rng.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The context object for a state; built only for states that read `$$` (it holds the
    /// execution's input, which can be large).
    fn context_object(
        &self,
        state: &State,
        entered: DateTime<Utc>,
        retry: Option<u64>,
        execution: Option<&Value>,
    ) -> Value {
        if !state.uses_context {
            return Value::Null;
        }
        let mut st = Map::new();
        st.insert("Name".into(), Value::String(state.name.clone()));
        st.insert(
            "EnteredTime".into(),
            Value::String(crate::timestamp::format(entered)),
        );
        if let Some(r) = retry {
            st.insert("RetryCount".into(), Value::from(r));
        }
        let mut sm = Map::new();
        sm.insert("Id".into(), Value::String(self.opts.state_machine_arn()));
        sm.insert(
            "Name".into(),
            Value::String(self.opts.state_machine_name.clone()),
        );
        let mut m = Map::new();
        m.insert(
            "Execution".into(),
            execution.unwrap_or(&self.exec_context).clone(),
        );
        m.insert("StateMachine".into(), Value::Object(sm));
        m.insert("State".into(), Value::Object(st));
        Value::Object(m)
    }
}

impl<'r, 'm> Entered<'r, 'm> {
    /// Enters `state` with input `raw`: records StateEntered in `fiber`.
    pub(super) fn enter(
        run: &'r Run,
        state: &'m State,
        raw: &Value,
        fiber: &mut Fiber,
    ) -> Result<Self, Failure> {
        let kind = state_type(&state.kind);
        let name = state.name.as_str();
        let entered_at = run.now();
        let input_text = fiber.carry_text.take().unwrap_or_else(|| text(raw));
        let entered_prev = if fiber.first { 0 } else { fiber.last };
        let entered_id = run.emit(
            fiber,
            EventType::StateEntered(kind),
            details(vec![
                ("input", Value::String(input_text)),
                ("inputDetails", not_truncated()),
                ("name", json!(name)),
            ]),
        )?;
        Ok(Entered {
            run,
            state,
            name,
            entered_id,
            entered_prev,
            entered_at,
            kind,
            context: run.context_object(state, entered_at, None, fiber.execution.as_deref()),
            scope: fiber.scope.clone(),
            execution: fiber.execution.clone(),
        })
    }

    /// What paths and templates of the state are evaluated against.
    pub(super) fn env(&self) -> Env<'_> {
        self.env_with(&self.context)
    }

    /// The same with another context object (a Task's, a Map item's).
    pub(super) fn env_with<'c>(&'c self, context: &'c Value) -> Env<'c> {
        Env {
            context,
            scope: &self.scope,
        }
    }

    /// The context object of a Task's attempt: `$$.State.RetryCount` is the retry number.
    pub(super) fn context_at_retry(&self, retry: u64) -> Value {
        self.run.context_object(
            self.state,
            self.entered_at,
            Some(retry),
            self.execution.as_deref(),
        )
    }

    /// A States.Runtime failure in this state, in AWS's words.
    pub(super) fn runtime(&self, message: &str) -> Failure {
        Failure::in_state("States.Runtime", self.name, self.entered_id, message)
    }

    /// A path or template of this state that could not be evaluated.
    pub(super) fn data_failure(&self, e: DataError) -> Failure {
        Failure::of_data(self.name, self.entered_id, e)
    }

    /// Evaluates a payload template with the execution's seeded generator.
    pub(super) fn template(
        &self,
        t: &Template,
        input: &Value,
        env: &Env,
    ) -> Result<Value, Failure> {
        let mut rng = self.run.rng();
        data::template(t, input, env, &mut rng).map_err(|e| self.data_failure(e))
    }

    /// Fails with States.DataLimitExceeded when a result's JSON text is over 256 KiB.
    pub(super) fn check_size(&self, text: &str) -> Result<(), Failure> {
        if text.len() > MAX_PAYLOAD {
            return Err(Failure::result_too_large(self.name));
        }
        Ok(())
    }

    /// Exits the state: records StateExited with its output and assigned variables, then
    /// assigns them in `fiber`. Fails when the output is too deep or too large. Gives the
    /// output back.
    pub(super) fn exit(&self, fiber: &mut Fiber, output: Output) -> Result<Value, Failure> {
        let Output { value, assigned } = output;
        let mut d = Details::new();
        if let Some(a) = assigned.as_ref().filter(|a| !a.is_empty()) {
            let vars: Map<String, Value> =
                a.iter().map(|(k, v)| (k.clone(), json!(text(v)))).collect();
            d.insert("assignedVariables", Value::Object(vars));
            d.insert("assignedVariablesDetails", not_truncated());
        }
        if crate::data::deeper_than(&value, crate::data::MAX_DEPTH) {
            return Err(Failure::new(
                "States.Runtime",
                too_deep_cause(&format!("The output of the state/task '{}'", self.name)),
            ));
        }
        let out_text = text(&value);
        self.check_size(&out_text)?;
        d.insert("name", json!(self.name));
        d.insert("output", Value::String(out_text.clone()));
        d.insert("outputDetails", not_truncated());
        self.run
            .emit(fiber, EventType::StateExited(self.kind), Some(d))?;
        fiber.carry_text = Some(out_text);
        if let Some(a) = &assigned {
            for (k, v) in a {
                Arc::make_mut(&mut fiber.scope)
                    .own
                    .insert(k.clone(), v.clone());
            }
        }
        Ok(value)
    }

    /// Where the state goes with `out`: its Next, or the end.
    pub(super) fn transition(&self, out: Value) -> Step<'m> {
        match &self.state.next {
            Transition::Next(n) => Step::Next(n.as_str(), out),
            _ => Step::End(out),
        }
    }
}
