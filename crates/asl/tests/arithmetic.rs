//! Input numbers at the ends of the 64-bit range: intrinsic arithmetic and JSONPath slice
//! steps fail or end cleanly, never overflow (a panic under the CLI).

use asl::{Executor, Options, Registry, Status};
use serde_json::{Value, json};

async fn pass(parameters_or_path: Value, input: Value) -> asl::ExecutionResult {
    let mut state = json!({"Type": "Pass", "End": true});
    for (k, v) in parameters_or_path.as_object().into_iter().flatten() {
        state[k] = v.clone();
    }
    let m = asl::validate(&json!({"StartAt": "P", "States": {"P": state}})).expect("valid");
    Executor::new(m, Registry::new())
        .run(input, Options::default())
        .await
}

#[tokio::test]
async fn math_add_overflow_is_an_intrinsic_failure() {
    let p = json!({"Parameters": {"v.$": "States.MathAdd($.a, $.b)"}});
    let r = pass(p.clone(), json!({"a": i64::MAX, "b": 1})).await;
    assert_eq!(r.status, Status::Failed);
    assert_eq!(r.error.as_deref(), Some("States.IntrinsicFailure"));
    assert!(r.cause.unwrap_or_default().contains("overflows"));
    let r = pass(p, json!({"a": i64::MIN, "b": i64::MAX})).await;
    assert_eq!(r.output.unwrap()["v"], json!(-1));
}

#[tokio::test]
async fn random_and_ranges_at_the_ends_of_the_range_succeed() {
    for expr in [
        "States.MathRandom($.min, $.max)",
        "States.MathRandom($.min, $.max, 7)",
        "States.ArrayRange($.near, $.max, 5)",
        "States.ArrayRange($.nearmin, $.min, -5)",
        "States.ArrayRange($.min, $.max, $.max)",
    ] {
        let r = pass(
            json!({"Parameters": {"v.$": expr}}),
            json!({"min": i64::MIN, "max": i64::MAX, "near": i64::MAX - 7,
                "nearmin": i64::MIN + 7}),
        )
        .await;
        assert_eq!(r.status, Status::Succeeded, "{expr}: {:?}", r.cause);
    }
}

#[tokio::test]
async fn slices_with_huge_steps_end() {
    let r = pass(
        json!({"InputPath": "$.a[1::9223372036854775807]"}),
        json!({"a": [0, 1, 2, 3]}),
    )
    .await;
    assert_eq!(r.output, Some(json!([1])));
    let r = pass(
        json!({"InputPath": "$.a[-9223372036854775808:9223372036854775807:2]"}),
        json!({"a": [0, 1, 2, 3]}),
    )
    .await;
    assert_eq!(r.output, Some(json!([0, 2])));
}
