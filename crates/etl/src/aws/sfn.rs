//! AWS Step Functions through aws-sdk-sfn.

use async_trait::async_trait;
use aws_sdk_sfn::Client;
use aws_sdk_sfn::types::HistoryEvent;
use serde_json::{Map, Value, json};

use crate::aws::{code, service_error};
use crate::error::ServiceError;
use crate::services::{Started, StepFunctions};

/// Step Functions over the SDK.
#[derive(Debug, Clone)]
pub struct AwsStepFunctions {
    client: Client,
}

impl AwsStepFunctions {
    pub fn new(client: Client) -> AwsStepFunctions {
        AwsStepFunctions { client }
    }
}

/// An execution's ARN from its state machine's ARN and its name.
pub fn execution_arn(state_machine_arn: &str, name: &str) -> String {
    format!(
        "{}:{name}",
        state_machine_arn.replacen(":stateMachine:", ":execution:", 1)
    )
}

/// The parts of a history event the handlers read, in GetExecutionHistory's JSON shape.
fn event_json(e: &HistoryEvent) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(e.id()));
    m.insert("previousEventId".into(), json!(e.previous_event_id()));
    m.insert("type".into(), json!(e.r#type().as_str()));
    if let Some(d) = e.execution_started_event_details() {
        m.insert(
            "executionStartedEventDetails".into(),
            json!({"input": d.input(), "roleArn": d.role_arn()}),
        );
    }
    if let Some(d) = e.state_entered_event_details() {
        m.insert(
            "stateEnteredEventDetails".into(),
            json!({"name": d.name(), "input": d.input()}),
        );
    }
    if let Some(d) = e.state_exited_event_details() {
        m.insert(
            "stateExitedEventDetails".into(),
            json!({"name": d.name(), "output": d.output()}),
        );
    }
    if let Some(d) = e.task_failed_event_details() {
        m.insert(
            "taskFailedEventDetails".into(),
            json!({"error": d.error(), "cause": d.cause(), "resource": d.resource(), "resourceType": d.resource_type()}),
        );
    }
    if let Some(d) = e.task_timed_out_event_details() {
        m.insert(
            "taskTimedOutEventDetails".into(),
            json!({"error": d.error(), "cause": d.cause()}),
        );
    }
    // RedriveExecution appends ExecutionRedriven with the redrive's number (API reference,
    // ExecutionRedrivenEventDetails).
    if let Some(d) = e.execution_redriven_event_details() {
        m.insert(
            "executionRedrivenEventDetails".into(),
            json!({"redriveCount": d.redrive_count()}),
        );
    }
    if let Some(d) = e.execution_failed_event_details() {
        m.insert(
            "executionFailedEventDetails".into(),
            json!({"error": d.error(), "cause": d.cause()}),
        );
    }
    Value::Object(m)
}

#[async_trait]
impl StepFunctions for AwsStepFunctions {
    async fn send_task_success(&self, token: &str, output: &Value) -> Result<(), ServiceError> {
        self.client
            .send_task_success()
            .task_token(token)
            .output(output.to_string())
            .send()
            .await
            .map_err(|e| service_error("states", e))?;
        Ok(())
    }

    async fn send_task_failure(
        &self,
        token: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), ServiceError> {
        // Step Functions limits: error 256 characters, cause 32,768.
        let cause: String = cause.chars().take(32_768).collect();
        let error: String = error.chars().take(256).collect();
        self.client
            .send_task_failure()
            .task_token(token)
            .error(error)
            .cause(cause)
            .send()
            .await
            .map_err(|e| service_error("states", e))?;
        Ok(())
    }

    async fn start_execution(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &Value,
    ) -> Result<Started, ServiceError> {
        match self
            .client
            .start_execution()
            .state_machine_arn(state_machine_arn)
            .name(name)
            .input(input.to_string())
            .send()
            .await
        {
            Ok(out) => Ok(Started::New {
                execution_arn: out.execution_arn().to_string(),
            }),
            Err(e) if code(&e) == Some("ExecutionAlreadyExists") => Ok(Started::AlreadyExists {
                execution_arn: execution_arn(state_machine_arn, name),
            }),
            Err(e) => Err(service_error("states", e)),
        }
    }

    async fn history(&self, execution_arn: &str) -> Result<Vec<Value>, ServiceError> {
        let mut events = Vec::new();
        let mut pages = self
            .client
            .get_execution_history()
            .execution_arn(execution_arn)
            .max_results(1000)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| service_error("states", e))?;
            events.extend(page.events().iter().map(event_json));
        }
        Ok(events)
    }
}
