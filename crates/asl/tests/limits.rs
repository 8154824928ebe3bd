//! Values at and beyond the limits AWS accepts: the validator refuses what AWS refuses, and
//! the executor never panics on what it accepts (huge waits, timeouts and retry back-offs,
//! run-time paths to huge, negative, fractional or non-numeric values).

use std::sync::Arc;
use std::time::Duration;

use asl::{
    DefinitionError, ExecutionResult, Executor, Mode, Options, Registry, Status, TaskCall,
    TaskContext, TaskFailure, TaskHandler,
};
use async_trait::async_trait;
use serde_json::{Value, json};

/// Always fails with `Job.Flaky`.
struct Flaky;

#[async_trait]
impl TaskHandler for Flaky {
    async fn invoke(&self, _call: TaskCall, _ctx: TaskContext) -> Result<Value, TaskFailure> {
        Err(TaskFailure::new("Job.Flaky", "always"))
    }
}

/// Sleeps 60 s on the execution's clock, then echoes its input.
struct Slow;

#[async_trait]
impl TaskHandler for Slow {
    async fn invoke(&self, call: TaskCall, ctx: TaskContext) -> Result<Value, TaskFailure> {
        ctx.sleep(Duration::from_secs(60)).await;
        Ok(call.input)
    }
}

fn registry() -> Registry {
    let mut reg = Registry::new();
    reg.register("arn:aws:states:::lambda:invoke", Arc::new(Slow));
    reg.register("arn:aws:states:::batch:submitJob", Arc::new(Flaky));
    reg
}

/// Validates definition text as the CLI does (JSON, else YAML) and runs it: the problems,
/// or the execution's result.
async fn outcome(text: &str, input: Value, mode: Mode) -> Result<ExecutionResult, Vec<String>> {
    let def = asl::parse_text(text).expect("parses");
    let m = match asl::validate(&def) {
        Ok(m) => m,
        Err(DefinitionError::Invalid(p)) => {
            return Err(p
                .iter()
                .map(|p| format!("{} {}", p.location, p.message))
                .collect());
        }
        Err(e) => panic!("{e}"),
    };
    let opts = Options {
        mode,
        ..Options::default()
    };
    let exec = Executor::new(m, registry());
    let run = exec.run(input, opts);
    Ok(tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("hang guard"))
}

fn refused(r: Result<ExecutionResult, Vec<String>>, location: &str) {
    let problems = r.expect_err("a validation error");
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with(&format!("{location} "))),
        "{problems:?}"
    );
}

#[tokio::test]
async fn wait_seconds_1e13_is_a_validation_error() {
    let yaml =
        "StartAt: W\nStates:\n  W:\n    Type: Wait\n    Seconds: 10000000000000\n    End: true\n";
    refused(
        outcome(yaml, json!({}), Mode::Virtual).await,
        "/States/W/Seconds",
    );
    let json =
        r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1e13, "End": true}}}"#;
    refused(
        outcome(json, json!({}), Mode::Virtual).await,
        "/States/W/Seconds",
    );
    let over =
        r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 100000000, "End": true}}}"#;
    refused(
        outcome(over, json!({}), Mode::Virtual).await,
        "/States/W/Seconds",
    );
}

#[tokio::test]
async fn wait_seconds_99999999_runs_in_virtual_and_accelerated_time() {
    let def =
        r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 99999999, "End": true}}}"#;
    for mode in [Mode::Virtual, Mode::Accelerated] {
        let r = outcome(def, json!({}), mode).await.expect("valid");
        assert_eq!(r.status, Status::Succeeded);
        assert!((r.stop - r.start).num_seconds() >= 99_999_999);
    }
}

#[tokio::test]
async fn top_level_timeout_seconds_1e13_is_a_validation_error() {
    let def = r#"{"TimeoutSeconds": 10000000000000, "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}"#;
    refused(
        outcome(def, json!({}), Mode::Virtual).await,
        "/TimeoutSeconds",
    );
    let def =
        r#"{"TimeoutSeconds": 0, "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}"#;
    refused(
        outcome(def, json!({}), Mode::Virtual).await,
        "/TimeoutSeconds",
    );
}

#[tokio::test]
async fn top_level_timeout_seconds_99999999_runs() {
    let def = r#"{"TimeoutSeconds": 99999999, "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 99999999, "End": true}}}"#;
    let r = outcome(def, json!({}), Mode::Virtual).await.expect("valid");
    // The Wait and the execution timeout end at the same instant; either outcome is a status.
    assert!(matches!(r.status, Status::Succeeded | Status::TimedOut));
}

#[tokio::test]
async fn task_timeout_and_heartbeat_above_99999999_are_validation_errors() {
    let def = r#"{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "TimeoutSeconds": 10000000000000, "HeartbeatSeconds": 100000000, "End": true}}}"#;
    let r = outcome(def, json!({}), Mode::Virtual).await;
    refused(r.clone(), "/States/T/TimeoutSeconds");
    refused(r, "/States/T/HeartbeatSeconds");
}

#[tokio::test]
async fn retry_interval_and_max_delay_out_of_range_are_validation_errors() {
    let def = r#"{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 100000000, "MaxDelaySeconds": 31622401}],
        "End": true}}}"#;
    let r = outcome(def, json!({}), Mode::Virtual).await;
    refused(r.clone(), "/States/T/Retry/0/IntervalSeconds");
    refused(r, "/States/T/Retry/0/MaxDelaySeconds");
}

#[tokio::test]
async fn max_attempts_99999999_with_backoff_2_and_no_max_delay_runs_to_a_status() {
    let def = r#"{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::batch:submitJob.sync",
        "Retry": [{"ErrorEquals": ["Job.Flaky"], "MaxAttempts": 99999999, "BackoffRate": 2}],
        "End": true}}}"#;
    let r = outcome(def, json!({}), Mode::Virtual).await.expect("valid");
    // Retries until the history limit stops the execution; the back-off saturates at
    // 31622400 s instead of overflowing.
    assert_eq!(r.status, Status::Failed);
    assert_eq!(r.error.as_deref(), Some("States.Runtime"));
}

#[tokio::test]
async fn interval_99999999_with_backoff_1e308_saturates_the_delay() {
    let def = r#"{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::batch:submitJob.sync",
        "Retry": [{"ErrorEquals": ["Job.Flaky"], "IntervalSeconds": 99999999, "BackoffRate": 1e308, "MaxAttempts": 3}],
        "End": true}}}"#;
    for mode in [Mode::Virtual, Mode::Accelerated] {
        let r = outcome(def, json!({}), mode).await.expect("valid");
        assert_eq!(r.status, Status::Failed);
        assert_eq!(r.error.as_deref(), Some("Job.Flaky"));
        // Each delay is capped at 31622400 s.
        assert!((r.stop - r.start).num_seconds() >= 3 * 31_622_400);
    }
    // With jitter, an infinite delay times a random factor is still a finite one.
    let jitter = def.replace(
        "\"MaxAttempts\": 3",
        "\"MaxAttempts\": 3, \"JitterStrategy\": \"FULL\"",
    );
    let r = outcome(&jitter, json!({}), Mode::Virtual)
        .await
        .expect("valid");
    assert_eq!(r.status, Status::Failed);
}

#[tokio::test]
async fn wait_timestamp_far_in_the_future_completes() {
    let def = r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Timestamp": "9999-12-31T23:59:59Z", "Next": "V"},
        "V": {"Type": "Wait", "Seconds": 99999999, "End": true}}}"#;
    for mode in [Mode::Virtual, Mode::Accelerated] {
        let r = outcome(def, json!({}), mode).await.expect("valid");
        assert_eq!(r.status, Status::Succeeded);
    }
}

async fn wait_path(field: &str, value: Value) -> ExecutionResult {
    let def = format!(
        r#"{{"StartAt": "W", "States": {{"W": {{"Type": "Wait", "{field}": "$.v", "End": true}}}}}}"#
    );
    outcome(&def, json!({ "v": value }), Mode::Virtual)
        .await
        .expect("valid")
}

#[tokio::test]
async fn seconds_path_to_huge_negative_fractional_or_non_numeric_values_fails() {
    for v in [
        json!(10_000_000_000_000u64),
        json!(u64::MAX),
        json!(1e13),
        json!(1e308),
        json!(-1),
        json!(i64::MIN),
        json!(1.5),
        json!("10"),
        json!(null),
        json!([1]),
    ] {
        let r = wait_path("SecondsPath", v.clone()).await;
        assert_eq!(r.status, Status::Failed, "{v}");
        assert_eq!(r.error.as_deref(), Some("States.Runtime"), "{v}");
    }
    let r = wait_path("SecondsPath", json!(0)).await;
    assert_eq!(r.status, Status::Succeeded);
}

#[tokio::test]
async fn timestamp_path_to_odd_values_fails_or_completes() {
    for v in [
        json!(1e308),
        json!(-1),
        json!("soon"),
        json!(null),
        json!(1.5),
    ] {
        let r = wait_path("TimestampPath", v.clone()).await;
        assert_eq!(r.status, Status::Failed, "{v}");
        assert_eq!(r.error.as_deref(), Some("States.Runtime"), "{v}");
    }
    for v in [json!("9999-12-31T23:59:59Z"), json!("0001-01-01T00:00:00Z")] {
        let r = wait_path("TimestampPath", v.clone()).await;
        assert_eq!(r.status, Status::Succeeded, "{v}");
    }
}

#[tokio::test]
async fn timeout_and_heartbeat_seconds_paths_to_huge_values_do_not_overflow() {
    let def = r#"{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "TimeoutSecondsPath": "$.t", "HeartbeatSecondsPath": "$.h", "End": true}}}"#;
    // (Real-time timers of any length: `real_time_timers_of_any_length_can_be_set`.)
    for mode in [Mode::Virtual, Mode::Accelerated] {
        let r = outcome(def, json!({"t": u64::MAX, "h": u64::MAX - 1}), mode)
            .await
            .expect("valid");
        assert_eq!(r.status, Status::Succeeded, "{mode:?}");
    }
    for (t, h) in [
        (json!(-1), json!(1)),
        (json!(1.5), json!(1)),
        (json!("x"), json!(1)),
    ] {
        let r = outcome(def, json!({"t": t, "h": h}), Mode::Virtual)
            .await
            .expect("valid");
        assert_eq!(r.status, Status::Failed);
        assert_eq!(r.error.as_deref(), Some("States.Runtime"));
    }
}

#[tokio::test]
async fn real_time_timers_of_any_length_can_be_set() {
    let clock = asl::clock::Clock::new(Mode::Real, chrono::Utc::now()).0;
    let t = clock.timer(Duration::MAX);
    assert!(
        tokio::time::timeout(Duration::from_millis(10), t)
            .await
            .is_err()
    );
    for mode in [Mode::Virtual, Mode::Accelerated] {
        let (clock, awake) = asl::clock::Clock::new(mode, chrono::Utc::now());
        let t = clock.timer(Duration::MAX);
        drop(awake);
        let _a = tokio::time::timeout(Duration::from_secs(60), t)
            .await
            .expect("hang guard");
        // Saturated at the latest representable time; later timers saturate too.
        let _b = clock.sleep(_a, Duration::from_secs(1)).await;
        assert_eq!(clock.now(), chrono::DateTime::<chrono::Utc>::MAX_UTC);
    }
}
