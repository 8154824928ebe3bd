//! Step Functions calling itself: `arn:aws:states:::states:startExecution` (request-response,
//! `.sync` and `.sync:2`) runs child state machines with this executor.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::executor::{Executor, Options, Status};
use crate::model::StateMachine;
use crate::task::{Registry, TaskCall, TaskContext, TaskFailure, TaskHandler};

/// The `states:startExecution` integration over a set of local state machines.
pub struct StepFunctions {
    machines: HashMap<String, Arc<StateMachine>>,
    /// The registry children run with (this handler included), set once built.
    registry: Arc<OnceLock<Registry>>,
    base: Options,
}

impl StepFunctions {
    /// Machines by ARN; `base` gives the account, region and clock mode of child executions.
    pub fn new(machines: HashMap<String, StateMachine>, base: Options) -> StepFunctions {
        StepFunctions {
            machines: machines
                .into_iter()
                .map(|(k, v)| (k, Arc::new(v)))
                .collect(),
            registry: Arc::new(OnceLock::new()),
            base,
        }
    }

    /// Gives children the final registry (call after registering everything).
    pub fn set_registry(&self, registry: Registry) {
        let _ = self.registry.set(registry);
    }

    fn child_options(&self, arn: &str, name: &str) -> Options {
        let sm_name = arn.rsplit(':').next().unwrap_or(arn).to_string();
        Options {
            execution_name: name.to_string(),
            state_machine_name: sm_name,
            start_time: chrono::Utc::now(),
            // A child execution is a new execution, never a redrive of its parent.
            redrive: None,
            ..self.base.clone()
        }
    }
}

fn start_params(call: &TaskCall) -> Result<(String, String, Value), TaskFailure> {
    let arn = call.input["StateMachineArn"]
        .as_str()
        .ok_or_else(|| {
            TaskFailure::new(
                "States.Runtime",
                "startExecution needs a StateMachineArn parameter",
            )
        })?
        .to_string();
    let name = call.input["Name"]
        .as_str()
        .map(String::from)
        .unwrap_or_else(|| format!("{}-child", call.state_name));
    let input = match &call.input["Input"] {
        Value::Null => json!({}),
        Value::String(s) => serde_json::from_str(s).unwrap_or(Value::String(s.clone())),
        other => other.clone(),
    };
    Ok((arn, name, input))
}

#[async_trait]
impl TaskHandler for StepFunctions {
    async fn invoke(&self, call: TaskCall, ctx: TaskContext) -> Result<Value, TaskFailure> {
        let (arn, name, input) = start_params(&call)?;
        if !self.machines.contains_key(&arn) {
            return Err(TaskFailure::new(
                "StepFunctions.StateMachineDoesNotExistException",
                format!(
                    "State Machine Does Not Exist: '{arn}' (Service: AWSStepFunctions; Status Code: 400; Error Code: StateMachineDoesNotExist; Request ID: 00000000-0000-4000-8000-000000000000; Proxy: null)"
                ),
            ));
        }
        let opts = self.child_options(&arn, &name);
        let exec_arn = opts.execution_arn();
        let _ = input;
        Ok(json!({
            "ExecutionArn": exec_arn,
            "StartDate": ctx.now().timestamp_millis(),
        }))
    }

    async fn complete(
        &self,
        _submitted: Value,
        call: TaskCall,
        _ctx: TaskContext,
    ) -> Result<Value, TaskFailure> {
        let (arn, name, input) = start_params(&call)?;
        let machine = self.machines.get(&arn).cloned().ok_or_else(|| {
            TaskFailure::new(
                "StepFunctions.StateMachineDoesNotExistException",
                format!("State Machine Does Not Exist: '{arn}'"),
            )
        })?;
        let opts = self.child_options(&arn, &name);
        let exec_arn = opts.execution_arn();
        let registry = self.registry.get().cloned().unwrap_or_default();
        let exec = Executor::new((*machine).clone(), registry);
        let r = exec.run(input.clone(), opts).await;
        // `.sync:2` returns Input and Output as JSON, `.sync` as JSON text.
        let as_json = call.resource.arn.ends_with(".sync:2");
        let render = |v: &Value| {
            if as_json {
                v.clone()
            } else {
                Value::String(crate::intrinsic::to_json_text(v))
            }
        };
        let mut d = serde_json::Map::new();
        d.insert("ExecutionArn".into(), json!(exec_arn));
        d.insert("Input".into(), render(&input));
        d.insert("InputDetails".into(), json!({"Included": true}));
        d.insert("Name".into(), json!(name));
        if let Some(o) = &r.output {
            d.insert("Output".into(), render(o));
            d.insert("OutputDetails".into(), json!({"Included": true}));
        }
        d.insert("StartDate".into(), json!(r.start.timestamp_millis()));
        d.insert("StateMachineArn".into(), json!(arn));
        d.insert("Status".into(), json!(r.status.as_str()));
        d.insert("StopDate".into(), json!(r.stop.timestamp_millis()));
        if r.status == Status::Succeeded {
            Ok(Value::Object(d))
        } else {
            if let Some(e) = &r.error {
                d.insert("Error".into(), json!(e));
            }
            if let Some(c) = &r.cause {
                d.insert("Cause".into(), json!(c));
            }
            Err(TaskFailure::new(
                "States.TaskFailed",
                crate::intrinsic::to_json_text(&Value::Object(d)),
            ))
        }
    }
}
