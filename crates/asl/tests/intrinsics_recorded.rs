//! Every JSONPath intrinsic-function execution LocalStack recorded against AWS (its
//! AWS-validated snapshots, `tests/jsonpath/intrinsics_recorded.json`), evaluated directly:
//! the conformance corpus holds only some of them (for example not `States.StringToJson("")`,
//! which AWS answers with null). Random and UUID results, and calls on the context object,
//! are left to the conformance test.

use asl::intrinsic::{self, EvalError, json_eq};
use asl::path::Path;
use asl::rng::Rng;
use serde_json::Value;

#[test]
fn recorded_intrinsic_results() {
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/jsonpath/intrinsics_recorded.json"
    );
    let data: Value =
        serde_json::from_str(&std::fs::read_to_string(file).expect("read")).expect("JSON");
    let cases = data["cases"].as_array().expect("cases");
    assert!(cases.len() >= 120, "only {} cases", cases.len());
    let mut wrong = Vec::new();
    for case in cases {
        let text = case["call"].as_str().expect("call");
        let input = &case["input"];
        let call = intrinsic::parse(text).expect("AWS ran this call");
        let mut rng = Rng::new(1);
        let got = intrinsic::eval(
            &call,
            &mut |p: &Path| p.eval(input).map_err(|e| EvalError::Path(e.message)),
            &mut rng,
        );
        let want = &case["output"]["FunctionResult"];
        match got {
            Ok(v) if json_eq(&v, want) => {}
            other => wrong.push(format!(
                "{}: {text} on {input}: want {want}, got {other:?}",
                case["source"]
            )),
        }
    }
    assert!(
        wrong.is_empty(),
        "{} differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
