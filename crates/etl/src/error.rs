//! The framework's typed errors, as Step Functions sees them (`Rsqlflow.ScriptFailed`, ...),
//! and the errors of the services the handlers call.

use std::fmt;

/// Why a job (or its submission) failed: the `Error` a Task state receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The job spec is invalid (names the field); not retryable.
    InvalidJobSpec,
    /// The RSQL script exited non-zero.
    ScriptFailed,
    /// The job ran past its timeout.
    JobTimedOut,
    /// The container never started (bad image, missing secret...).
    ContainerStartFailed,
    /// Capacity, image pull, Spot reclaim, throttling: worth retrying.
    InfrastructureError,
}

impl ErrorKind {
    /// The error name in Step Functions.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::InvalidJobSpec => "Rsqlflow.InvalidJobSpec",
            ErrorKind::ScriptFailed => "Rsqlflow.ScriptFailed",
            ErrorKind::JobTimedOut => "Rsqlflow.JobTimedOut",
            ErrorKind::ContainerStartFailed => "Rsqlflow.ContainerStartFailed",
            ErrorKind::InfrastructureError => "Rsqlflow.InfrastructureError",
        }
    }

    /// Whether a Retry on this error makes sense.
    pub fn retryable(self) -> bool {
        matches!(self, ErrorKind::InfrastructureError)
    }
}

/// The errors a Task that invokes submit-job should retry: the typed infrastructure error, the
/// Lambda service's transient errors AWS recommends retrying
/// (https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html:
/// ClientExecutionTimeoutException, ServiceException, AWSLambdaException, SdkClientException),
/// and Lambda's throttling ("When Lambda hits the maximum number of invocations, the error is
/// Lambda.TooManyRequestsException", same page; submit-job's concurrency is reserved).
/// `rsqlflow check` reports a submit-job Task whose Retry misses one.
pub const RETRY_ON: [&str; 6] = [
    "Rsqlflow.InfrastructureError",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.TooManyRequestsException",
];

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A typed failure with its cause text.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{kind}: {cause}")]
pub struct JobError {
    pub kind: ErrorKind,
    pub cause: String,
}

impl JobError {
    /// A failure of `kind`.
    pub fn new(kind: ErrorKind, cause: impl Into<String>) -> JobError {
        JobError {
            kind,
            cause: cause.into(),
        }
    }
}

/// A call to a service (Batch, Step Functions, SNS, S3, logs) that failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ServiceError {
    /// Throttled or a 5xx: try again later.
    #[error("{service} is unavailable or throttling: {message}")]
    Transient {
        service: &'static str,
        message: String,
    },
    /// The thing addressed does not exist (job, execution, token, topic...).
    #[error("{service}: not found: {message}")]
    NotFound {
        service: &'static str,
        message: String,
    },
    /// The request was refused.
    #[error("{service} refused the request: {message}")]
    Rejected {
        service: &'static str,
        message: String,
    },
}

impl ServiceError {
    /// Batch knows no job with this id.
    pub fn no_such_job(job_id: &str) -> ServiceError {
        ServiceError::NotFound {
            service: "batch",
            message: format!("job {job_id}"),
        }
    }

    /// Whether retrying may help.
    pub fn is_transient(&self) -> bool {
        matches!(self, ServiceError::Transient { .. })
    }
}

/// Why a handler failed (what the Lambda runtime reports).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HandlerError {
    /// The triggering event is not what this handler handles, or is malformed.
    #[error("malformed event: {0}")]
    BadEvent(String),
    /// A typed job failure (submit-job's InvalidJobSpec).
    #[error(transparent)]
    Job(#[from] JobError),
    /// A service call failed after retries.
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// start-workflow's routing table (`RSQLFLOW_ROUTES`) cannot be read.
    #[error("RSQLFLOW_ROUTES: {0}")]
    Routes(#[from] crate::routes::RoutesError),
}

impl HandlerError {
    /// The error type name the Lambda runtime reports (`errorType`), which Step Functions
    /// uses as the error name.
    pub fn error_type(&self) -> String {
        match self {
            HandlerError::BadEvent(_) => "Rsqlflow.BadEvent".into(),
            HandlerError::Job(j) => j.kind.name().into(),
            HandlerError::Service(ServiceError::Transient { .. }) => {
                ErrorKind::InfrastructureError.name().into()
            }
            HandlerError::Service(_) => "Rsqlflow.ServiceError".into(),
            HandlerError::Routes(_) => "Rsqlflow.BadConfiguration".into(),
        }
    }
}
