//! Step Functions locally: task-token callbacks go to the running ASL execution; executions
//! started by triggers are recorded under `.rsqlflow/executions/` so that a second identical
//! trigger finds the first; histories are served from the finished executions.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::error::ServiceError;
use crate::services::{Started, StepFunctions};

/// Local Step Functions.
pub struct LocalStepFunctions {
    handle: OnceLock<asl::Handle>,
    executions: PathBuf,
    region: String,
    account: String,
    started: Mutex<Vec<(String, Value)>>,
    histories: Mutex<HashMap<String, Vec<Value>>>,
}

impl LocalStepFunctions {
    pub fn new(executions: impl Into<PathBuf>, region: &str, account: &str) -> Self {
        LocalStepFunctions {
            handle: OnceLock::new(),
            executions: executions.into(),
            region: region.into(),
            account: account.into(),
            started: Mutex::new(Vec::new()),
            histories: Mutex::new(HashMap::new()),
        }
    }

    /// Connects callbacks to the running execution.
    pub fn attach(&self, handle: asl::Handle) {
        let _ = self.handle.set(handle);
    }

    /// Executions started through `start_execution` and not yet taken.
    pub fn take_started(&self) -> Vec<(String, Value)> {
        self.started
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default()
    }

    /// Records a finished execution's history.
    pub fn set_history(&self, execution_arn: &str, events: Vec<Value>) {
        if let Ok(mut h) = self.histories.lock() {
            h.insert(execution_arn.to_string(), events);
        }
    }

    /// The record file of an execution name.
    pub fn record_path(&self, name: &str) -> PathBuf {
        self.executions.join(format!("{name}.json"))
    }

    fn execution_arn(&self, state_machine_arn: &str, name: &str) -> String {
        let sm = state_machine_arn.rsplit(':').next().unwrap_or("rsql-etl");
        format!(
            "arn:aws:states:{}:{}:execution:{sm}:{name}",
            self.region, self.account
        )
    }
}

fn gone(token: &str) -> ServiceError {
    ServiceError::NotFound {
        service: "states",
        message: format!("TaskDoesNotExist: no execution waits for task token {token}"),
    }
}

#[async_trait]
impl StepFunctions for LocalStepFunctions {
    async fn send_task_success(&self, token: &str, output: &Value) -> Result<(), ServiceError> {
        let h = self.handle.get().ok_or_else(|| gone(token))?;
        h.send_task_success(token, output.clone())
            .map_err(|_| gone(token))
    }

    async fn send_task_failure(
        &self,
        token: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), ServiceError> {
        let h = self.handle.get().ok_or_else(|| gone(token))?;
        h.send_task_failure(token, error, Some(cause))
            .map_err(|_| gone(token))
    }

    async fn start_execution(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &Value,
    ) -> Result<Started, ServiceError> {
        let execution_arn = self.execution_arn(state_machine_arn, name);
        let io = |e: std::io::Error| ServiceError::Rejected {
            service: "states",
            message: format!("{}: {e}", self.executions.display()),
        };
        tokio::fs::create_dir_all(&self.executions)
            .await
            .map_err(io)?;
        let record = json!({"executionArn": execution_arn, "name": name, "input": input});
        // create_new: the name is taken atomically, as StartExecution does.
        let created = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(self.record_path(name))
            .await;
        match created {
            Ok(mut f) => {
                use tokio::io::AsyncWriteExt;
                f.write_all(record.to_string().as_bytes())
                    .await
                    .map_err(io)?;
                if let Ok(mut s) = self.started.lock() {
                    s.push((name.to_string(), input.clone()));
                }
                Ok(Started::New { execution_arn })
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Ok(Started::AlreadyExists { execution_arn })
            }
            Err(e) => Err(io(e)),
        }
    }

    async fn history(&self, execution_arn: &str) -> Result<Vec<Value>, ServiceError> {
        self.histories
            .lock()
            .ok()
            .and_then(|h| h.get(execution_arn).cloned())
            .ok_or_else(|| ServiceError::NotFound {
                service: "states",
                message: format!("ExecutionDoesNotExist: {execution_arn}"),
            })
    }
}
