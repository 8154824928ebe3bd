//! Pluggable Task resources: a registry from resource ARNs to async handlers, the three
//! integration patterns, and the context a handler gets (its clock, its task token).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use crate::clock::{Awake, Clock};

/// How the executor waits for a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    /// Call and continue with the response.
    RequestResponse,
    /// `.sync`: the handler returns when the job is done.
    Sync,
    /// `.waitForTaskToken`: continue when someone sends the task token back.
    WaitForTaskToken,
}

/// A Task's `Resource`, taken apart.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    /// The ARN as written.
    pub arn: String,
    /// The ARN without its pattern suffix: the registry key.
    pub base: String,
    pub pattern: Pattern,
    /// History `resourceType` (`lambda`, `batch`, `aws-sdk:s3`, ...).
    pub resource_type: String,
    /// History `resource` (`invoke`, `submitJob.sync`, ...).
    pub resource: String,
    /// A direct Lambda function ARN (`arn:aws:lambda:...:function:name`): history then uses
    /// LambdaFunction* events and the result is the bare payload.
    pub legacy_lambda: bool,
}

impl Resource {
    /// Parses a resource ARN.
    pub fn parse(arn: &str) -> Resource {
        let (base, pattern, suffix) = if let Some(b) = arn.strip_suffix(".waitForTaskToken") {
            (b, Pattern::WaitForTaskToken, ".waitForTaskToken")
        } else if let Some(b) = arn.strip_suffix(".sync:2") {
            (b, Pattern::Sync, ".sync:2")
        } else if let Some(b) = arn.strip_suffix(".sync") {
            (b, Pattern::Sync, ".sync")
        } else {
            (arn, Pattern::RequestResponse, "")
        };
        let legacy_lambda = arn.contains(":lambda:") && arn.contains(":function:");
        let (resource_type, resource) = if let Some(rest) = base.strip_prefix("arn:aws:states:::") {
            if let Some(sdk) = rest.strip_prefix("aws-sdk:") {
                let (svc, action) = sdk.split_once(':').unwrap_or((sdk, ""));
                (format!("aws-sdk:{svc}"), format!("{action}{suffix}"))
            } else {
                let (svc, action) = rest.split_once(':').unwrap_or((rest, ""));
                (svc.to_string(), format!("{action}{suffix}"))
            }
        } else if legacy_lambda {
            ("lambda".to_string(), arn.to_string())
        } else {
            (String::new(), arn.to_string())
        };
        Resource {
            arn: arn.to_string(),
            base: base.to_string(),
            pattern,
            resource_type,
            resource,
            legacy_lambda,
        }
    }
}

/// What a handler is asked to do.
#[derive(Debug, Clone)]
pub struct TaskCall {
    pub resource: Resource,
    /// The effective parameters (after InputPath and Parameters).
    pub input: Value,
    /// The state's name.
    pub state_name: String,
    /// The execution's ARN.
    pub execution_arn: String,
    /// The task token, for `.waitForTaskToken`.
    pub task_token: Option<String>,
}

/// A task failed with an error name and cause.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskFailure {
    pub error: String,
    pub cause: Option<String>,
}

impl TaskFailure {
    /// A failure with a cause.
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> TaskFailure {
        TaskFailure {
            error: error.into(),
            cause: Some(cause.into()),
        }
    }
}

/// Handle given to a running handler: the execution's clock, so that a handler's own waits
/// are virtual too.
#[derive(Clone)]
pub struct TaskContext {
    pub(crate) clock: Clock,
    pub(crate) slot: Arc<Mutex<Option<Awake>>>,
}

impl TaskContext {
    /// Waits `d` on the execution's clock (instantly on a virtual clock, unless something
    /// else is running).
    pub async fn sleep(&self, d: Duration) {
        let awake = self
            .slot
            .lock()
            .ok()
            .and_then(|mut s| s.take())
            .unwrap_or_else(|| self.clock.acquire());
        let awake = self.clock.sleep(awake, d).await;
        if let Ok(mut s) = self.slot.lock() {
            *s = Some(awake);
        }
    }

    /// The execution's current time.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }
}

/// A Task resource implementation.
#[async_trait]
pub trait TaskHandler: Send + Sync {
    /// Runs the task. For `.waitForTaskToken`, the returned value is ignored and the state
    /// waits for the token.
    async fn invoke(&self, call: TaskCall, ctx: TaskContext) -> Result<Value, TaskFailure>;

    /// For `.sync`: waits for the job that `invoke` submitted (its response is `submitted`)
    /// and returns the job's final description. The default has nothing to wait for.
    async fn complete(
        &self,
        submitted: Value,
        _call: TaskCall,
        _ctx: TaskContext,
    ) -> Result<Value, TaskFailure> {
        Ok(submitted)
    }
}

/// Resource ARN to handler.
#[derive(Clone, Default)]
pub struct Registry {
    handlers: HashMap<String, Arc<dyn TaskHandler>>,
    states: HashMap<String, Arc<dyn TaskHandler>>,
    fallback: Option<Arc<dyn TaskHandler>>,
}

/// The handler chosen for a task.
pub struct Chosen {
    pub handler: Arc<dyn TaskHandler>,
    /// Answers for the state whatever the integration pattern (mocks): its result is the
    /// task's result, with no job to wait for and no token to wait on.
    pub final_answer: bool,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Serves `arn` (without a `.sync` / `.waitForTaskToken` suffix, which all patterns
    /// share) with `handler`.
    pub fn register(&mut self, arn: &str, handler: Arc<dyn TaskHandler>) {
        self.handlers.insert(arn.to_string(), handler);
    }

    /// Serves every resource that has no handler of its own (mocks).
    pub fn set_fallback(&mut self, handler: Arc<dyn TaskHandler>) {
        self.fallback = Some(handler);
    }

    /// Answers the Task state named `state` with `handler` (mocked responses), whatever its
    /// resource.
    pub fn register_state(&mut self, state: &str, handler: Arc<dyn TaskHandler>) {
        self.states.insert(state.to_string(), handler);
    }

    /// The handler for a resource.
    pub fn get(&self, r: &Resource) -> Option<Arc<dyn TaskHandler>> {
        self.handlers
            .get(&r.arn)
            .or_else(|| self.handlers.get(&r.base))
            .or(self.fallback.as_ref())
            .cloned()
    }

    /// The handler for a task of state `state`: a state override first, then by resource.
    pub fn choose(&self, state: &str, r: &Resource) -> Option<Chosen> {
        if let Some(h) = self.states.get(state) {
            return Some(Chosen {
                handler: h.clone(),
                final_answer: true,
            });
        }
        self.get(r).map(|handler| Chosen {
            handler,
            final_answer: false,
        })
    }
}

/// The failure AWS gives for a resource nobody serves.
pub fn unregistered(r: &Resource) -> TaskFailure {
    if r.legacy_lambda || r.resource_type == "lambda" {
        TaskFailure::new(
            "Lambda.ResourceNotFoundException",
            format!(
                "Function not found: {} (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException)",
                r.arn
            ),
        )
    } else {
        TaskFailure::new(
            "States.Runtime",
            format!(
                "No handler is registered for the resource '{}' (register one, or answer it from a mock file with --mocks)",
                r.arn
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources() {
        let r = Resource::parse("arn:aws:states:::batch:submitJob.sync");
        assert_eq!(r.pattern, Pattern::Sync);
        assert_eq!(r.resource_type, "batch");
        assert_eq!(r.resource, "submitJob.sync");
        assert_eq!(r.base, "arn:aws:states:::batch:submitJob");
        let r = Resource::parse("arn:aws:states:::lambda:invoke.waitForTaskToken");
        assert_eq!(r.pattern, Pattern::WaitForTaskToken);
        assert_eq!(r.resource, "invoke.waitForTaskToken");
        let r = Resource::parse("arn:aws:states:::aws-sdk:s3:listBuckets");
        assert_eq!(
            (r.resource_type.as_str(), r.resource.as_str()),
            ("aws-sdk:s3", "listBuckets")
        );
        assert!(Resource::parse("arn:aws:lambda:us-east-1:1:function:f").legacy_lambda);
    }
}
