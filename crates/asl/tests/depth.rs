//! Depth limits: inputs, results and definitions nested 100,000 deep end in an error on the
//! test thread's stack, never in a stack overflow.

use std::sync::Arc;

use asl::data::dismantle;
use asl::path::Path;
use asl::{Executor, Options, Registry, Status, TaskCall, TaskContext, TaskFailure, TaskHandler};
use async_trait::async_trait;
use serde_json::{Value, json};

const DEEP: usize = 100_000;

fn nested(depth: usize, leaf: Value) -> Value {
    let mut v = leaf;
    for _ in 0..depth {
        v = Value::Array(vec![v]);
    }
    v
}

/// `{key: v}` without `json!`, which would serialize `v` recursively.
fn obj(key: &str, v: Value) -> Value {
    let mut m = serde_json::Map::new();
    m.insert(key.into(), v);
    Value::Object(m)
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

fn refused(def: Value) {
    let r = asl::validate(&def);
    dismantle(def);
    let Err(e) = r else {
        panic!("a validation error")
    };
    let e = e.to_string();
    assert!(e.contains("nested deeper than 128"), "{e}");
}

#[test]
fn a_deep_execution_input_fails_the_execution() {
    let m = asl::validate(&json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}))
        .unwrap();
    let r =
        block_on(Executor::new(m, Registry::new()).run(nested(DEEP, json!(1)), Options::default()));
    assert_eq!(r.status, Status::Failed);
    assert_eq!(r.error.as_deref(), Some("States.Runtime"));
    // 512 levels are fine.
    let m = asl::validate(&json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}))
        .unwrap();
    let r =
        block_on(Executor::new(m, Registry::new()).run(nested(512, json!(1)), Options::default()));
    assert_eq!(r.status, Status::Succeeded);
}

#[test]
fn a_deep_payload_template_is_a_validation_error() {
    let mut def = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true,
        "Parameters": {"x": null}}}});
    def["States"]["P"]["Parameters"]["x"] = nested(DEEP, json!(1));
    refused(def);
}

#[test]
fn deep_choice_rules_are_a_validation_error() {
    let mut rule = json!({"Variable": "$.x", "IsPresent": true});
    for _ in 0..DEEP {
        rule = obj("Not", rule);
    }
    let mut def = json!({"StartAt": "C", "States": {"C": {"Type": "Choice",
        "Choices": [{"And": [null], "Next": "D"}], "Default": "D"}, "D": {"Type": "Succeed"}}});
    def["States"]["C"]["Choices"][0]["And"][0] = rule;
    refused(def);
}

#[test]
fn deeply_nested_parallel_states_are_a_validation_error() {
    let mut m = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
    for _ in 0..DEEP / 5 {
        let mut p = json!({"Type": "Parallel", "End": true});
        p["Branches"] = Value::Array(vec![m]);
        let mut outer = obj("States", obj("P", p));
        outer["StartAt"] = json!("P");
        m = outer;
    }
    refused(m);
}

struct Deep;

#[async_trait]
impl TaskHandler for Deep {
    async fn invoke(&self, _call: TaskCall, _ctx: TaskContext) -> Result<Value, TaskFailure> {
        Ok(nested(DEEP, json!(1)))
    }
}

#[test]
fn a_deep_task_result_is_a_catchable_task_failure() {
    let m = asl::validate(&json!({"StartAt": "T", "States": {"T": {"Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Catch": [{"ErrorEquals": ["States.Runtime"], "Next": "Caught"}], "End": true},
        "Caught": {"Type": "Pass", "End": true}}}))
    .unwrap();
    let mut reg = Registry::new();
    reg.register("arn:aws:states:::lambda:invoke", Arc::new(Deep));
    let r = block_on(Executor::new(m, reg).run(json!({}), Options::default()));
    assert_eq!(r.status, Status::Succeeded);
    assert_eq!(r.output.unwrap()["Error"], "States.Runtime");
}

#[test]
fn a_loop_that_nests_its_output_fails_before_the_stack_does() {
    let m = asl::validate(&json!({"StartAt": "Wrap", "States": {
        "Wrap": {"Type": "Pass", "Parameters": {"a.$": "$"}, "Next": "Again"},
        "Again": {"Type": "Choice", "Choices": [{"Variable": "$.stop", "IsPresent": true, "Next": "Done"}],
            "Default": "Wrap"},
        "Done": {"Type": "Succeed"}}}))
    .unwrap();
    let r = block_on(Executor::new(m, Registry::new()).run(json!({}), Options::default()));
    assert_eq!(r.status, Status::Failed);
    assert_eq!(r.error.as_deref(), Some("States.Runtime"));
    assert!(r.cause.unwrap().contains("nested deeper than 512"));
}

#[test]
fn deeply_nested_or_chained_jsonpath_filters_are_syntax_errors() {
    let parens = format!("$[?({}@.a{})]", "(".repeat(DEEP), ")".repeat(DEEP));
    let nots = format!("$[?({}@.a)]", "!".repeat(DEEP));
    let chain = format!("$[?(@.a{})]", " && @.a".repeat(DEEP));
    let filters = format!("$.x{}", "[?(@.x".repeat(DEEP));
    for p in [parens, nots, chain, filters] {
        assert!(Path::parse(&p).is_err());
    }
    assert!(Path::parse("$[?(!(@.a > 1) && @.b)]").is_ok());
}

#[test]
fn recursive_descent_over_a_deep_document_does_not_recurse() {
    let mut doc = json!({"x": 1});
    for _ in 0..DEEP {
        doc = obj("a", doc);
    }
    let r = Path::parse("$..x").unwrap().eval(&doc).unwrap();
    assert_eq!(r, json!([1]));
    dismantle(doc);
}

#[test]
fn deeply_nested_intrinsic_calls_are_syntax_errors() {
    let call = format!("{}1{}", "States.Array(".repeat(DEEP), ")".repeat(DEEP));
    assert!(asl::intrinsic::parse(&call).is_err());
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true,
        "Parameters": {"x.$": call}}}});
    assert!(asl::validate(&def).is_err());
}
