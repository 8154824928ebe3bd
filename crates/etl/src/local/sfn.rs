//! Step Functions locally: task-token callbacks go to the running ASL execution; executions
//! started by triggers are claimed in the execution records (`.rsqlflow/executions/`, see
//! [`crate::local::executions`]) so that a second identical trigger finds the first;
//! histories are served from the finished executions.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use async_trait::async_trait;
use serde_json::Value;

use crate::error::ServiceError;
use crate::local::executions::{Claim, ExecutionRecord, ExecutionStore, RecordError};
use crate::services::{Started, StepFunctions};

/// Local Step Functions.
pub struct LocalStepFunctions {
    handle: OnceLock<asl::Handle>,
    executions: ExecutionStore,
    region: String,
    account: String,
    started: Mutex<Vec<Claim>>,
    histories: Mutex<HashMap<String, Vec<Value>>>,
}

impl LocalStepFunctions {
    pub fn new(executions: impl Into<PathBuf>, region: &str, account: &str) -> Self {
        LocalStepFunctions {
            handle: OnceLock::new(),
            executions: ExecutionStore::new(executions.into()),
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

    /// Executions started through `start_execution` and not yet taken: their claimed records
    /// (RUNNING, locked by this process).
    pub fn take_started(&self) -> Vec<Claim> {
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

    /// The execution records.
    pub fn store(&self) -> &ExecutionStore {
        &self.executions
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
        let record = ExecutionRecord::new(&execution_arn, name, state_machine_arn, input.clone());
        // The name is taken under a lock, as StartExecution takes it atomically.
        match self.executions.claim(record) {
            Ok(claim) => {
                if let Ok(mut s) = self.started.lock() {
                    s.push(claim);
                }
                Ok(Started::New { execution_arn })
            }
            Err(RecordError::Exists { .. } | RecordError::Busy(_)) => {
                Ok(Started::AlreadyExists { execution_arn })
            }
            Err(e @ RecordError::InvalidName { .. }) => Err(ServiceError::Rejected {
                service: "states",
                message: format!("InvalidName: {e}"),
            }),
            Err(e) => Err(ServiceError::Rejected {
                service: "states",
                message: e.to_string(),
            }),
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
