//! Mocked task responses in Step Functions Local's MockConfigFile format, so that users bring
//! their existing mocks: `StateMachines.<name>.TestCases.<case>.<state> = <response name>` and
//! `MockedResponses.<response name>.<"0" | "1-2" ...> = {"Return": ...} | {"Throw": {...}}`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::Value;

use crate::task::{TaskCall, TaskContext, TaskFailure, TaskHandler};

/// Why a mock file cannot be used.
#[derive(Debug, Clone, thiserror::Error)]
pub enum MockError {
    #[error("the mock file is not valid JSON: {0}")]
    Json(String),
    #[error("the mock file has no state machine named '{0}' (it has: {1})")]
    NoStateMachine(String, String),
    #[error("the mock file has {0} state machines ({1}): choose one")]
    Ambiguous(usize, String),
    #[error("state machine '{0}' has no test case named '{1}' (it has: {2})")]
    NoTestCase(String, String, String),
    #[error("test case '{0}' maps state '{1}' to '{2}', which is not in MockedResponses")]
    NoResponse(String, String, String),
    #[error("MockedResponses.{0}: {1}")]
    Invalid(String, String),
}

/// One mocked outcome.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Return(Value),
    Throw {
        error: String,
        cause: Option<String>,
    },
}

/// A response: outcomes by invocation number (0-based).
#[derive(Debug, Clone)]
struct Response {
    ranges: Vec<(u64, u64, Outcome)>,
}

impl Response {
    fn parse(name: &str, v: &Value) -> Result<Response, MockError> {
        let obj = v
            .as_object()
            .ok_or_else(|| MockError::Invalid(name.into(), "must be an object".into()))?;
        let mut ranges = Vec::new();
        for (k, o) in obj {
            let (lo, hi) = match k.split_once('-') {
                Some((a, b)) => (a.trim().parse(), b.trim().parse()),
                None => (k.trim().parse(), k.trim().parse()),
            };
            let (Ok(lo), Ok(hi)) = (lo, hi) else {
                return Err(MockError::Invalid(
                    format!("{name}.{k}"),
                    "keys must be invocation numbers such as \"0\" or \"1-2\"".into(),
                ));
            };
            let outcome = if let Some(r) = o.get("Return") {
                Outcome::Return(r.clone())
            } else if let Some(t) = o.get("Throw") {
                Outcome::Throw {
                    error: t["Error"]
                        .as_str()
                        .unwrap_or("States.TaskFailed")
                        .to_string(),
                    cause: t["Cause"].as_str().map(String::from),
                }
            } else {
                return Err(MockError::Invalid(
                    format!("{name}.{k}"),
                    "needs \"Return\" or \"Throw\"".into(),
                ));
            };
            ranges.push((lo, hi, outcome));
        }
        Ok(Response { ranges })
    }

    fn at(&self, n: u64) -> Option<&Outcome> {
        self.ranges
            .iter()
            .find(|(lo, hi, _)| (*lo..=*hi).contains(&n))
            .map(|(_, _, o)| o)
    }
}

/// The mocked states of one test case; answers their tasks in place of real handlers.
pub struct Mocks {
    states: HashMap<String, Response>,
    calls: Mutex<HashMap<String, u64>>,
}

impl Mocks {
    /// Loads `test_case` of `state_machine` (or of the file's only state machine).
    pub fn load(
        text: &str,
        state_machine: Option<&str>,
        test_case: &str,
    ) -> Result<Mocks, MockError> {
        let v: Value = serde_json::from_str(text).map_err(|e| MockError::Json(e.to_string()))?;
        let machines = v["StateMachines"].as_object().cloned().unwrap_or_default();
        let names = || machines.keys().cloned().collect::<Vec<_>>().join(", ");
        let (sm_name, sm) = match state_machine {
            Some(n) => (
                n.to_string(),
                machines
                    .get(n)
                    .ok_or_else(|| MockError::NoStateMachine(n.into(), names()))?,
            ),
            None => {
                // The only machine, or the only one with this test case.
                let with: Vec<_> = machines
                    .iter()
                    .filter(|(_, m)| m["TestCases"].get(test_case).is_some())
                    .collect();
                let only = if machines.len() == 1 {
                    machines.iter().next()
                } else if with.len() == 1 {
                    with.first().copied()
                } else {
                    None
                };
                match only {
                    Some((k, m)) => (k.clone(), m),
                    None => return Err(MockError::Ambiguous(machines.len(), names())),
                }
            }
        };
        let cases = sm["TestCases"].as_object().cloned().unwrap_or_default();
        let case = cases.get(test_case).ok_or_else(|| {
            MockError::NoTestCase(
                sm_name.clone(),
                test_case.into(),
                cases.keys().cloned().collect::<Vec<_>>().join(", "),
            )
        })?;
        let responses = v["MockedResponses"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let mut states = HashMap::new();
        for (state, resp) in case.as_object().into_iter().flatten() {
            let rname = resp.as_str().unwrap_or("");
            let r = responses.get(rname).ok_or_else(|| {
                MockError::NoResponse(test_case.into(), state.clone(), rname.into())
            })?;
            states.insert(state.clone(), Response::parse(rname, r)?);
        }
        Ok(Mocks {
            states,
            calls: Mutex::new(HashMap::new()),
        })
    }

    /// The states this test case mocks.
    pub fn states(&self) -> impl Iterator<Item = &String> {
        self.states.keys()
    }
}

#[async_trait]
impl TaskHandler for Mocks {
    async fn invoke(&self, call: TaskCall, _ctx: TaskContext) -> Result<Value, TaskFailure> {
        let n = {
            let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
            let c = calls.entry(call.state_name.clone()).or_insert(0);
            *c += 1;
            *c - 1
        };
        let resp = self.states.get(&call.state_name).ok_or_else(|| {
            TaskFailure::new(
                "States.Runtime",
                format!("no mocked response for state '{}'", call.state_name),
            )
        })?;
        match resp.at(n) {
            Some(Outcome::Return(v)) => Ok(v.clone()),
            Some(Outcome::Throw { error, cause }) => Err(TaskFailure {
                error: error.clone(),
                cause: cause.clone(),
            }),
            None => Err(TaskFailure::new(
                "States.Runtime",
                format!(
                    "the mocked response for state '{}' has no entry for invocation {n}",
                    call.state_name
                ),
            )),
        }
    }
}

/// Wraps mocks for registration as state overrides.
pub fn into_overrides(m: Mocks) -> (Vec<String>, Arc<dyn TaskHandler>) {
    let names = m.states().cloned().collect();
    (names, Arc::new(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"{
      "StateMachines": {"Etl": {"TestCases": {"RetryPath": {"Load": "FailThenOk"}}}},
      "MockedResponses": {"FailThenOk": {
        "0-1": {"Throw": {"Error": "Batch.AWSBatchException", "Cause": "throttled"}},
        "2": {"Return": {"Status": "SUCCEEDED"}}}}
    }"#;

    #[test]
    fn loads_and_answers_by_invocation() {
        let m = Mocks::load(FILE, None, "RetryPath").unwrap();
        let r = &m.states["Load"];
        assert!(matches!(r.at(0), Some(Outcome::Throw { .. })));
        assert!(matches!(r.at(1), Some(Outcome::Throw { .. })));
        assert_eq!(
            r.at(2),
            Some(&Outcome::Return(serde_json::json!({"Status": "SUCCEEDED"})))
        );
        assert!(r.at(3).is_none());
        assert!(matches!(
            Mocks::load(FILE, None, "Nope"),
            Err(MockError::NoTestCase(..))
        ));
    }
}
