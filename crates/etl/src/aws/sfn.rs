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

fn obj(pairs: Vec<(&str, Value)>) -> Value {
    let mut m = Map::new();
    for (k, v) in pairs {
        if !v.is_null() {
            m.insert(k.to_string(), v);
        }
    }
    Value::Object(m)
}

/// One event in GetExecutionHistory's JSON shape (the HistoryEvent data type:
/// <https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html>),
/// with every details object the handlers and `rsqlflow report` read: names, inputs,
/// outputs, errors and causes, Task parameters and results, Map sizes and iteration indexes,
/// redrives (RedriveExecution appends ExecutionRedriven with the redrive's number: API
/// reference, ExecutionRedrivenEventDetails). Absent fields are left out.
pub fn event_json(e: &HistoryEvent) -> Value {
    let mut m = Map::new();
    m.insert(
        "timestamp".into(),
        json!(e.timestamp().to_millis().unwrap_or(i64::MAX) as f64 / 1000.0),
    );
    m.insert("type".into(), json!(e.r#type().as_str()));
    m.insert("id".into(), json!(e.id()));
    m.insert("previousEventId".into(), json!(e.previous_event_id()));
    let mut put = |key: &str, v: Value| {
        m.insert(key.to_string(), v);
    };
    macro_rules! error_cause {
        ($get:ident, $key:literal) => {
            if let Some(d) = e.$get() {
                put(
                    $key,
                    obj(vec![
                        ("error", json!(d.error())),
                        ("cause", json!(d.cause())),
                    ]),
                );
            }
        };
    }
    macro_rules! task {
        ($get:ident, $key:literal) => {
            if let Some(d) = e.$get() {
                put(
                    $key,
                    obj(vec![
                        ("resourceType", json!(d.resource_type())),
                        ("resource", json!(d.resource())),
                        ("error", json!(d.error())),
                        ("cause", json!(d.cause())),
                    ]),
                );
            }
        };
    }
    if let Some(d) = e.execution_started_event_details() {
        put(
            "executionStartedEventDetails",
            obj(vec![
                ("input", json!(d.input())),
                ("roleArn", json!(d.role_arn())),
            ]),
        );
    }
    if let Some(d) = e.execution_succeeded_event_details() {
        put(
            "executionSucceededEventDetails",
            obj(vec![("output", json!(d.output()))]),
        );
    }
    error_cause!(
        execution_failed_event_details,
        "executionFailedEventDetails"
    );
    error_cause!(
        execution_aborted_event_details,
        "executionAbortedEventDetails"
    );
    error_cause!(
        execution_timed_out_event_details,
        "executionTimedOutEventDetails"
    );
    if let Some(d) = e.execution_redriven_event_details() {
        put(
            "executionRedrivenEventDetails",
            obj(vec![("redriveCount", json!(d.redrive_count()))]),
        );
    }
    if let Some(d) = e.state_entered_event_details() {
        put(
            "stateEnteredEventDetails",
            obj(vec![("name", json!(d.name())), ("input", json!(d.input()))]),
        );
    }
    if let Some(d) = e.state_exited_event_details() {
        put(
            "stateExitedEventDetails",
            obj(vec![
                ("name", json!(d.name())),
                ("output", json!(d.output())),
            ]),
        );
    }
    if let Some(d) = e.task_scheduled_event_details() {
        put(
            "taskScheduledEventDetails",
            obj(vec![
                ("resourceType", json!(d.resource_type())),
                ("resource", json!(d.resource())),
                ("region", json!(d.region())),
                ("parameters", json!(d.parameters())),
                ("timeoutInSeconds", json!(d.timeout_in_seconds())),
                ("heartbeatInSeconds", json!(d.heartbeat_in_seconds())),
            ]),
        );
    }
    if let Some(d) = e.task_started_event_details() {
        put(
            "taskStartedEventDetails",
            obj(vec![
                ("resourceType", json!(d.resource_type())),
                ("resource", json!(d.resource())),
            ]),
        );
    }
    if let Some(d) = e.task_submitted_event_details() {
        put(
            "taskSubmittedEventDetails",
            obj(vec![
                ("resourceType", json!(d.resource_type())),
                ("resource", json!(d.resource())),
                ("output", json!(d.output())),
            ]),
        );
    }
    if let Some(d) = e.task_succeeded_event_details() {
        put(
            "taskSucceededEventDetails",
            obj(vec![
                ("resourceType", json!(d.resource_type())),
                ("resource", json!(d.resource())),
                ("output", json!(d.output())),
            ]),
        );
    }
    task!(task_failed_event_details, "taskFailedEventDetails");
    task!(
        task_start_failed_event_details,
        "taskStartFailedEventDetails"
    );
    task!(
        task_submit_failed_event_details,
        "taskSubmitFailedEventDetails"
    );
    task!(task_timed_out_event_details, "taskTimedOutEventDetails");
    error_cause!(activity_failed_event_details, "activityFailedEventDetails");
    error_cause!(
        activity_schedule_failed_event_details,
        "activityScheduleFailedEventDetails"
    );
    error_cause!(
        activity_timed_out_event_details,
        "activityTimedOutEventDetails"
    );
    if let Some(d) = e.activity_succeeded_event_details() {
        put(
            "activitySucceededEventDetails",
            obj(vec![("output", json!(d.output()))]),
        );
    }
    error_cause!(
        lambda_function_failed_event_details,
        "lambdaFunctionFailedEventDetails"
    );
    error_cause!(
        lambda_function_schedule_failed_event_details,
        "lambdaFunctionScheduleFailedEventDetails"
    );
    error_cause!(
        lambda_function_start_failed_event_details,
        "lambdaFunctionStartFailedEventDetails"
    );
    error_cause!(
        lambda_function_timed_out_event_details,
        "lambdaFunctionTimedOutEventDetails"
    );
    if let Some(d) = e.lambda_function_succeeded_event_details() {
        put(
            "lambdaFunctionSucceededEventDetails",
            obj(vec![("output", json!(d.output()))]),
        );
    }
    if let Some(d) = e.map_state_started_event_details() {
        put(
            "mapStateStartedEventDetails",
            obj(vec![("length", json!(d.length()))]),
        );
    }
    for (d, key) in [
        (
            e.map_iteration_started_event_details(),
            "mapIterationStartedEventDetails",
        ),
        (
            e.map_iteration_succeeded_event_details(),
            "mapIterationSucceededEventDetails",
        ),
        (
            e.map_iteration_failed_event_details(),
            "mapIterationFailedEventDetails",
        ),
        (
            e.map_iteration_aborted_event_details(),
            "mapIterationAbortedEventDetails",
        ),
    ] {
        if let Some(d) = d {
            put(
                key,
                obj(vec![("name", json!(d.name())), ("index", json!(d.index()))]),
            );
        }
    }
    if let Some(d) = e.map_run_started_event_details() {
        put(
            "mapRunStartedEventDetails",
            obj(vec![("mapRunArn", json!(d.map_run_arn()))]),
        );
    }
    error_cause!(map_run_failed_event_details, "mapRunFailedEventDetails");
    if let Some(d) = e.evaluation_failed_event_details() {
        put(
            "evaluationFailedEventDetails",
            obj(vec![
                ("error", json!(d.error())),
                ("cause", json!(d.cause())),
                ("location", json!(d.location())),
                ("state", json!(d.state())),
            ]),
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
