//! The four Lambda handlers, as library functions over the service traits: the Lambda
//! binaries in `functions/` and the local pipeline call these same functions.

pub mod check_job;
pub mod notify;
pub mod start_workflow;
pub mod submit_job;

use std::future::Future;
use std::time::Duration;

use crate::error::ServiceError;

/// Retries a service call on throttling and 5xx, with exponential back-off (3 attempts).
pub(crate) async fn with_retries<T, F, Fut>(mut call: F) -> Result<T, ServiceError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ServiceError>>,
{
    let mut delay = Duration::from_millis(200);
    let mut attempt = 1;
    loop {
        match call().await {
            Err(e) if e.is_transient() && attempt < 3 => {
                tracing::warn!(attempt, error = %e, "transient service error; retrying");
                tokio::time::sleep(delay).await;
                delay *= 4;
                attempt += 1;
            }
            other => return other,
        }
    }
}
