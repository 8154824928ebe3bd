//! What the Lambda binaries share: JSON logs through tracing (CloudWatch Logs parses them), the
//! settings from the environment, and the error shape the runtime reports.

#[cfg(feature = "lambda")]
use crate::error::HandlerError;

/// JSON log lines on stdout, level from `RUST_LOG` (default info), no ANSI colours.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .try_init();
}

/// The `errorType` and `errorMessage` a failed invocation reports; Step Functions uses the
/// type as the error name (`Rsqlflow.InvalidJobSpec`, ...).
#[cfg(feature = "lambda")]
impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(e: HandlerError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: e.error_type(),
            error_message: e.to_string(),
        }
    }
}
