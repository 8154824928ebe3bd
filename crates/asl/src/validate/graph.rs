//! The transition graph of a machine (a States block): every target is one of its states,
//! every state is reachable from StartAt, and some state ends the machine. Both walks
//! follow [`State::successors`](crate::model::State::successors).

use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::model::{Kind, Machine, Transition};

use super::Validator;

impl Validator {
    /// Checks the transitions of machine `m`, whose States block (`raw`) is at `loc`.
    pub(super) fn transitions(&mut self, m: &Machine, raw: &Map<String, Value>, loc: &str) {
        // Every target must be a state of this States block.
        for (name, st) in &m.states {
            for (t, via) in st.successors() {
                if !raw.contains_key(t) {
                    self.problem(
                        &format!("{loc}/States/{name}/{}", via.pointer()),
                        format!(
                            "'{t}' is not a state in this States block (missing transition target)"
                        ),
                    );
                }
            }
        }
        // Reachability from StartAt.
        let mut seen: HashSet<&str> = HashSet::new();
        let mut stack = vec![m.start_at.as_str()];
        while let Some(s) = stack.pop() {
            if seen.insert(s)
                && let Some(st) = m.states.get(s)
            {
                stack.extend(st.successors().into_iter().map(|(t, _)| t));
            }
        }
        for name in raw.keys() {
            if !seen.contains(name.as_str()) && m.states.contains_key(name) {
                self.problem(
                    &format!("{loc}/States/{name}"),
                    format!(
                        "state '{name}' is not reachable from StartAt '{}'",
                        m.start_at
                    ),
                );
            }
        }
        // A machine must be able to end.
        let terminal = m.states.values().any(|s| {
            s.next == Transition::End || matches!(s.kind, Kind::Succeed | Kind::Fail { .. })
        });
        if !terminal && !m.states.is_empty() {
            self.problem(
                &format!("{loc}/States"),
                "no state ends the machine (End: true, Succeed or Fail)",
            );
        }
    }
}
