//! JSONata states beyond the recorded corpus: each field of AWS's "Transforming data with
//! JSONata" (<https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html>)
//! and "Passing data between states with variables"
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html>) run
//! through the executor: `$states`, Arguments, Output, Assign, Condition, Items,
//! ItemSelector, the number and string fields, and States.QueryEvaluationError with Retry
//! and Catch.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use asl::{
    ExecutionResult, Executor, Options, Registry, Status, TaskCall, TaskContext, TaskFailure,
    TaskHandler,
};
use async_trait::async_trait;
use serde_json::{Value, json};

/// Echoes its input.
struct Echo(AtomicU32);

#[async_trait]
impl TaskHandler for Echo {
    async fn invoke(&self, call: TaskCall, _ctx: TaskContext) -> Result<Value, TaskFailure> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(call.input)
    }
}

const ECHO: &str = "arn:aws:states:::echo";

async fn run(def: Value, input: Value) -> ExecutionResult {
    let m = asl::validate(&def).unwrap_or_else(|e| panic!("valid definition: {e}"));
    let mut reg = Registry::new();
    reg.register(ECHO, Arc::new(Echo(AtomicU32::new(0))));
    Executor::new(m, reg).run(input, Options::default()).await
}

fn types(r: &ExecutionResult) -> Vec<String> {
    r.history.events().iter().map(|e| e.kind.name()).collect()
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

#[tokio::test]
async fn assign_sees_the_variables_as_at_entry_across_languages() {
    let r = run(
        json!({"StartAt": "P", "States": {
            "P": {"Type": "Pass", "Assign": {"x": 5}, "Next": "J"},
            "J": {"Type": "Pass", "QueryLanguage": "JSONata",
                  "Assign": {"x": 42, "old": "{% $x %}"}, "Next": "K"},
            "K": {"Type": "Pass", "QueryLanguage": "JSONata",
                  "Output": {"x": "{% $x %}", "old": "{% $old %}"}, "End": true}}}),
        json!({}),
    )
    .await;
    assert_eq!(r.status, Status::Succeeded, "{:?}", r.cause);
    let out = r.output.unwrap();
    assert_eq!(num(&out["x"]), 42.0);
    assert_eq!(num(&out["old"]), 5.0);
}

#[tokio::test]
async fn task_arguments_in_output_reads_result_and_input() {
    let r = run(
        json!({"QueryLanguage": "JSONata", "StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": ECHO,
                  "Arguments": {"a": "{% $states.input.v & '!' %}", "lit": "$.v"},
                  "Output": {"r": "{% $states.result %}", "i": "{% $states.input.v %}"},
                  "End": true}}}),
        json!({"v": "s"}),
    )
    .await;
    assert_eq!(r.status, Status::Succeeded, "{:?}", r.cause);
    assert_eq!(
        r.output.unwrap(),
        json!({"r": {"a": "s!", "lit": "$.v"}, "i": "s"})
    );
}

#[tokio::test]
async fn without_output_a_task_hands_on_its_result_and_a_pass_its_input() {
    let r = run(
        json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {
            "P": {"Type": "Pass", "Next": "T"},
            "T": {"Type": "Task", "Resource": ECHO, "Arguments": {"b": 1}, "End": true}}}),
        json!({"a": 1}),
    )
    .await;
    assert_eq!(r.status, Status::Succeeded, "{:?}", r.cause);
    assert_eq!(num(&r.output.unwrap()["b"]), 1.0);
}

#[tokio::test]
async fn a_query_error_is_caught_with_its_error_output() {
    let r = run(
        json!({"QueryLanguage": "JSONata", "StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": ECHO, "Arguments": "{% $missing %}",
                  "Catch": [{"ErrorEquals": ["States.QueryEvaluationError"],
                             "Assign": {"seen": "{% $states.errorOutput.Error %}"},
                             "Output": {"in": "{% $states.input %}",
                                        "error": "{% $states.errorOutput.Error %}"},
                             "Next": "D"}],
                  "End": true},
            "D": {"Type": "Pass", "Output": {"prev": "{% $states.input %}", "seen": "{% $seen %}"},
                  "End": true}}}),
        json!({"k": "v"}),
    )
    .await;
    assert_eq!(r.status, Status::Succeeded, "{:?}", r.cause);
    assert_eq!(
        r.output.unwrap(),
        json!({"prev": {"in": {"k": "v"}, "error": "States.QueryEvaluationError"},
               "seen": "States.QueryEvaluationError"})
    );
    let ev = r
        .history
        .events()
        .into_iter()
        .find(|e| e.kind.name() == "EvaluationFailed")
        .expect("an EvaluationFailed event");
    let j = ev.to_json();
    let d = &j["evaluationFailedEventDetails"];
    assert_eq!(d["location"], "Arguments");
    assert_eq!(d["state"], "T");
    assert_eq!(d["error"], "States.QueryEvaluationError");
}

#[tokio::test]
async fn a_query_error_is_retried_then_fails_the_execution() {
    let r = run(
        json!({"QueryLanguage": "JSONata", "StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": ECHO, "Arguments": {"x": "{% $missing %}"},
                  "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 1}],
                  "End": true}}}),
        json!({}),
    )
    .await;
    assert_eq!(r.status, Status::Failed);
    assert_eq!(r.error.as_deref(), Some("States.QueryEvaluationError"));
    assert!(
        r.cause
            .as_deref()
            .unwrap_or("")
            .ends_with("The JSONata expression '$missing' specified for the field 'Arguments/x' returned nothing (undefined)."),
        "{:?}",
        r.cause
    );
    let t = types(&r);
    assert_eq!(t.iter().filter(|t| *t == "EvaluationFailed").count(), 2);
    assert!(!t.iter().any(|t| t == "TaskScheduled"), "{t:?}");
}

#[tokio::test]
async fn choice_conditions_and_their_outputs() {
    let def = |cond: Value| {
        json!({"QueryLanguage": "JSONata", "StartAt": "C", "States": {
            "C": {"Type": "Choice",
                  "Choices": [{"Condition": cond, "Next": "Yes", "Output": "rule",
                               "Assign": {"how": "rule"}}],
                  "Default": "No", "Output": "default", "Assign": {"how": "default"}},
            "Yes": {"Type": "Pass", "Output": ["{% $states.input %}", "{% $how %}"], "End": true},
            "No": {"Type": "Pass", "Output": ["{% $states.input %}", "{% $how %}"], "End": true}}})
    };
    let r = run(def(json!("{% $states.input.go %}")), json!({"go": true})).await;
    assert_eq!(r.output, Some(json!(["rule", "rule"])), "{:?}", r.cause);
    let r = run(def(json!("{% $states.input.go %}")), json!({"go": false})).await;
    assert_eq!(
        r.output,
        Some(json!(["default", "default"])),
        "{:?}",
        r.cause
    );
    let r = run(def(json!(true)), json!({})).await;
    assert_eq!(r.output, Some(json!(["rule", "rule"])), "{:?}", r.cause);
    let r = run(def(json!("{% 'yes' %}")), json!({})).await;
    assert_eq!(r.status, Status::Failed);
    assert_eq!(r.error.as_deref(), Some("States.QueryEvaluationError"));
    assert!(
        r.cause
            .as_deref()
            .unwrap_or("")
            .contains("Expected 'boolean'"),
        "{:?}",
        r.cause
    );
}

#[tokio::test]
async fn parallel_arguments_are_every_branch_input() {
    let branch = |n: &str| json!({"StartAt": n, "States": {n: {"Type": "Pass", "End": true}}});
    let r = run(
        json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {
            "P": {"Type": "Parallel", "Arguments": {"v": "{% $states.input.s %}"},
                  "Branches": [branch("B0"), branch("B1")],
                  "Output": "{% $states.result %}", "End": true}}}),
        json!({"s": "x"}),
    )
    .await;
    assert_eq!(
        r.output,
        Some(json!([{"v": "x"}, {"v": "x"}])),
        "{:?}",
        r.cause
    );
}

#[tokio::test]
async fn map_items_and_item_selector_with_the_item_in_the_context() {
    let r = run(
        json!({"QueryLanguage": "JSONata", "StartAt": "M", "States": {
            "M": {"Type": "Map", "Items": "{% $states.input.xs %}",
                  "ItemSelector": {"v": "{% $states.context.Map.Item.Value %}",
                                   "first": "{% $states.context.Map.Item.Index = 0 %}",
                                   "tag": "{% $states.input.tag %}"},
                  "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}},
                  "End": true}}}),
        json!({"xs": ["a", "b"], "tag": "t"}),
    )
    .await;
    assert_eq!(
        r.output,
        Some(
            json!([{"v": "a", "first": true, "tag": "t"}, {"v": "b", "first": false, "tag": "t"}])
        ),
        "{:?}",
        r.cause
    );
}

#[tokio::test]
async fn wait_seconds_and_fail_fields_by_expression() {
    let r = run(
        json!({"QueryLanguage": "JSONata", "StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": "{% $states.input.s %}", "Next": "F"},
            "F": {"Type": "Fail", "Error": "{% 'E.' & $states.input.kind %}",
                  "Cause": "{% $string($states.input.s) %}"}}}),
        json!({"s": 30, "kind": "Boom"}),
    )
    .await;
    assert_eq!(r.status, Status::Failed);
    assert_eq!(r.error.as_deref(), Some("E.Boom"));
    assert_eq!(r.cause.as_deref(), Some("30"));
    assert_eq!((r.stop - r.start).num_seconds(), 30);
}

#[tokio::test]
async fn states_in_branches_default_to_the_machine_language() {
    // AWS: the default query language inside a Parallel's branches or a Map's processor is
    // the state machine's, whatever the Parallel or Map state says (Amazon States Language,
    // "Query Languages").
    let e = asl::validate(&json!({"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "QueryLanguage": "JSONata", "End": true,
              "Branches": [{"StartAt": "B", "States": {
                  "B": {"Type": "Pass", "Output": "{% 1 %}", "End": true}}}]}}}))
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("/States/P/Branches/0/States/B/Output: The QueryLanguage is set to 'JSONPath'"),
        "{e}"
    );
    let e = asl::validate(
        &json!({"QueryLanguage": "JSONata", "StartAt": "M", "States": {
        "M": {"Type": "Map", "End": true,
              "ItemProcessor": {"QueryLanguage": "JSONata", "StartAt": "I", "States": {
                  "I": {"Type": "Pass", "InputPath": "$.a", "End": true}}}}}}),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("/States/M/ItemProcessor/QueryLanguage: Field 'QueryLanguage' is not supported"),
        "{e}"
    );
    assert!(
        e.contains(
            "/States/M/ItemProcessor/States/I/InputPath: The QueryLanguage is set to 'JSONata'"
        ),
        "{e}"
    );
}

#[tokio::test]
async fn now_and_millis_read_the_execution_clock() {
    // The virtual clock starts at Options::start_time and a Wait of a day moves it: `$now()`
    // and `$millis()` follow it, so an execution repeats.
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "Before", "States": {
        "Before": {"Type": "Pass", "Assign": {"t0": "{% $millis() %}"}, "Next": "W"},
        "W": {"Type": "Wait", "Seconds": 86400, "Next": "After"},
        "After": {"Type": "Pass", "Output": "{% {'now': $now(), 'elapsed': $millis() - $t0} %}", "End": true}}});
    let m = asl::validate(&def).unwrap();
    let start = chrono::DateTime::parse_from_rfc3339("2024-06-01T00:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let r = Executor::new(m, Registry::new())
        .run(
            json!({}),
            Options {
                start_time: start,
                ..Options::default()
            },
        )
        .await;
    assert_eq!(r.status, Status::Succeeded, "{:?}", r.cause);
    let out = r.output.unwrap();
    assert_eq!(out["elapsed"], json!(86_400_000));
    assert!(
        out["now"]
            .as_str()
            .unwrap()
            .starts_with("2024-06-02T00:00:00"),
        "{out}"
    );
}
