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
            if !seen.insert(s) {
                continue;
            }
            match m.states.get(s) {
                Some(st) => stack.extend(st.successors().into_iter().map(|(t, _)| t)),
                // A state refused for a problem of its own still leads where it says: one
                // problem, one error (no "not reachable" cascade behind it).
                None => stack.extend(raw.get(s).map(raw_successors).unwrap_or_default()),
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
        }) || raw
            .iter()
            .filter(|(name, _)| !m.states.contains_key(*name))
            .any(|(_, v)| {
                v.get("End") == Some(&Value::Bool(true))
                    || matches!(
                        v.get("Type").and_then(Value::as_str),
                        Some("Succeed" | "Fail")
                    )
            });
        if !terminal && !m.states.is_empty() {
            self.problem(
                &format!("{loc}/States"),
                "no state ends the machine (End: true, Succeed or Fail)",
            );
        }
    }
}

/// The transitions written in a state's JSON (Next, Default, each Choice rule's and catcher's
/// Next), for a state the validator could not build.
fn raw_successors(state: &Value) -> Vec<&str> {
    let mut out: Vec<&str> = ["Next", "Default"]
        .iter()
        .filter_map(|k| state.get(*k).and_then(Value::as_str))
        .collect();
    for list in ["Choices", "Catch"] {
        if let Some(items) = state.get(list).and_then(Value::as_array) {
            out.extend(
                items
                    .iter()
                    .filter_map(|c| c.get("Next").and_then(Value::as_str)),
            );
        }
    }
    out
}
