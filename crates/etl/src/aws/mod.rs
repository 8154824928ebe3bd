//! The service traits over the AWS SDK: Batch, Step Functions, SNS, CloudWatch Logs, the
//! submissions ledger on DynamoDB, and S3 as an object store; and what `rsqlflow report
//! --execution-arn` reads (report.rs). One client each, built once from the standard AWS
//! configuration (`AWS_ENDPOINT_URL` points them at a stand-in such as moto).

pub mod batch;
pub mod dynamodb;
pub mod logs;
#[cfg(feature = "job")]
pub mod redshift;
pub mod report;
pub mod s3;
pub mod sfn;
pub mod sns;

use aws_sdk_batch::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::result::SdkError;

use crate::error::ServiceError;

/// Error codes that mean "the thing is gone" for the handlers.
const NOT_FOUND: [&str; 7] = [
    "TaskDoesNotExist",
    "TaskTimedOut",
    "InvalidToken",
    "ExecutionDoesNotExist",
    "ResourceNotFoundException",
    "NotFound",
    "NotFoundException",
];

/// Maps an SDK error to a [`ServiceError`]: throttling and 5xx are transient.
pub(crate) fn service_error<E, R>(service: &'static str, e: SdkError<E, R>) -> ServiceError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + HttpStatus,
{
    let status = match &e {
        SdkError::ServiceError(s) => Some(s.raw().status_code()),
        SdkError::ResponseError(r) => Some(r.raw().status_code()),
        _ => None,
    };
    let transport = matches!(e, SdkError::TimeoutError(_) | SdkError::DispatchFailure(_));
    let (code, message) = match &e {
        SdkError::ServiceError(s) => (
            s.err().code().map(String::from),
            s.err()
                .message()
                .map(String::from)
                .unwrap_or_else(|| s.err().to_string()),
        ),
        other => (None, format!("{other:?}")),
    };
    let message = match &code {
        Some(c) => format!("{c}: {message}"),
        None => message,
    };
    let throttled = code.as_deref().is_some_and(|c| {
        c.contains("Throttl") || c == "TooManyRequestsException" || c == "ServiceUnavailable"
    });
    if transport || throttled || status.is_some_and(|s| s >= 500) {
        ServiceError::Transient { service, message }
    } else if code.as_deref().is_some_and(|c| NOT_FOUND.contains(&c)) {
        ServiceError::NotFound { service, message }
    } else {
        ServiceError::Rejected { service, message }
    }
}

/// The HTTP status of a raw response.
pub(crate) trait HttpStatus {
    fn status_code(&self) -> u16;
}

impl HttpStatus for aws_smithy_runtime_api::http::Response {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

/// The error code of an SDK error, if the service gave one.
pub(crate) fn code<E, R>(e: &SdkError<E, R>) -> Option<&str>
where
    E: ProvideErrorMetadata,
{
    match e {
        SdkError::ServiceError(s) => s.err().code(),
        _ => None,
    }
}
