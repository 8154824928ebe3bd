//! Intrinsic functions on empty and whitespace-only strings, and `States.ArrayGetItem` out of
//! range, checked against what AWS recorded.
//!
//! Sources: LocalStack's AWS-validated snapshots (`@markers.aws.validated`, recorded against
//! AWS Step Functions; Apache-2.0, see `tests/conformance/LICENSE.localstack.txt`) under
//! `tests/aws/services/stepfunctions/v2/intrinsic_functions/` (LS HEAD 8b9a79f0), some of which
//! the conformance corpus (`tests/conformance/cases/intrinsic_functions/`) also holds. Each
//! test names the snapshot entry, or the corpus case file, it follows.

use asl::intrinsic::{self, EvalError};
use asl::path::Path;
use asl::rng::Rng;
use serde_json::{Value, json};

/// Evaluates `call` with `$` bound to `input`, as a Pass state's Parameters would.
fn run(call: &str, input: Value) -> Result<Value, EvalError> {
    let call = intrinsic::parse(call).expect("the call parses");
    let mut rng = Rng::new(7);
    intrinsic::eval(
        &call,
        &mut |p: &Path| p.eval(&input).map_err(|e| EvalError::Path(e.message)),
        &mut rng,
    )
}

fn input(v: Value) -> Value {
    json!({ "FunctionInput": v })
}

fn pair(a: Value, b: Value) -> Value {
    json!({ "FunctionInput": { "fst": a, "snd": b } })
}

#[test]
fn string_to_json_of_empty_and_blank_strings_is_null() {
    // test_json_manipulation.snapshot.json, test_string_to_json exec_hist_resp_0 and _1:
    // {"FunctionInput": ""} and {"FunctionInput": " "} both gave {"FunctionResult": null}.
    for s in ["", " "] {
        assert_eq!(
            run("States.StringToJson($.FunctionInput)", input(json!(s))).unwrap(),
            Value::Null,
            "StringToJson({s:?})"
        );
    }
    // Blank is JSON whitespace: tabs and newlines too (the parser skips them as whitespace).
    assert_eq!(
        run(
            "States.StringToJson($.FunctionInput)",
            input(json!(" \t\r\n"))
        )
        .unwrap(),
        Value::Null
    );
    // exec_hist_resp_2 (corpus json_manipulation.string_to_json__exec_hist_resp_2): "null".
    assert_eq!(
        run("States.StringToJson($.FunctionInput)", input(json!("null"))).unwrap(),
        Value::Null
    );
    // exec_hist_resp_5 and _8 (not in the corpus): "1.1" and "[1, 2, \"HelloWorld\"]".
    assert_eq!(
        run("States.StringToJson($.FunctionInput)", input(json!("1.1"))).unwrap(),
        json!(1.1)
    );
    assert_eq!(
        run(
            "States.StringToJson($.FunctionInput)",
            input(json!("[1, 2, \"HelloWorld\"]"))
        )
        .unwrap(),
        json!([1, 2, "HelloWorld"])
    );
    // Text that is neither blank nor JSON still fails.
    assert!(matches!(
        run("States.StringToJson($.FunctionInput)", input(json!("{"))),
        Err(EvalError::Failure(_))
    ));
}

#[test]
fn json_to_string_of_strings_quotes_them() {
    // test_json_to_string exec_hist_resp_5 (corpus json_to_string__exec_hist_resp_5):
    // "HelloWorld" -> "\"HelloWorld\"", so "" and " " become "\"\"" and "\" \"".
    assert_eq!(
        run(
            "States.JsonToString($.FunctionInput)",
            input(json!("HelloWorld"))
        )
        .unwrap(),
        json!("\"HelloWorld\"")
    );
    assert_eq!(
        run("States.JsonToString($.FunctionInput)", input(json!(""))).unwrap(),
        json!("\"\"")
    );
    assert_eq!(
        run("States.JsonToString($.FunctionInput)", input(json!(" "))).unwrap(),
        json!("\" \"")
    );
}

#[test]
fn base64_of_the_empty_string_is_empty() {
    // test_encode_decode.snapshot.json: test_base_64_encode exec_hist_resp_0 and
    // test_base_64_decode exec_hist_resp_0, both {"FunctionInput": ""} -> "".
    assert_eq!(
        run("States.Base64Encode($.FunctionInput)", input(json!(""))).unwrap(),
        json!("")
    );
    assert_eq!(
        run("States.Base64Decode($.FunctionInput)", input(json!(""))).unwrap(),
        json!("")
    );
    // exec_hist_resp_1 of each (corpus encode_decode.base_64_encode__exec_hist_resp_1 and
    // base_64_decode__exec_hist_resp_1).
    assert_eq!(
        run(
            "States.Base64Encode($.FunctionInput)",
            input(json!("Data to encode"))
        )
        .unwrap(),
        json!("RGF0YSB0byBlbmNvZGU=")
    );
    assert_eq!(
        run(
            "States.Base64Decode($.FunctionInput)",
            input(json!("RGF0YSB0byBlbmNvZGU="))
        )
        .unwrap(),
        json!("Data to encode")
    );
}

#[test]
fn format_inserts_empty_and_blank_strings_as_they_are() {
    // test_generic.snapshot.json test_format_1 exec_hist_resp_0 and _1 (corpus
    // generic.format_1__exec_hist_resp_0, _1): "Formatting argument ." and "... argument  .".
    assert_eq!(
        run(
            "States.Format('Formatting argument {}.', $.FunctionInput)",
            input(json!(""))
        )
        .unwrap(),
        json!("Formatting argument .")
    );
    assert_eq!(
        run(
            "States.Format('Formatting argument {}.', $.FunctionInput)",
            input(json!(" "))
        )
        .unwrap(),
        json!("Formatting argument  .")
    );
    // test_format_2 exec_hist_resp_0 and _1 (corpus generic.format_2__exec_hist_resp_0, _1).
    let call = "States.Format('Formatting arguments fst={} and snd={}.', $.FunctionInput.fst, $.FunctionInput.snd)";
    assert_eq!(
        run(call, pair(json!(""), json!(""))).unwrap(),
        json!("Formatting arguments fst= and snd=.")
    );
    assert_eq!(
        run(call, pair(json!(" "), json!(" "))).unwrap(),
        json!("Formatting arguments fst=  and snd= .")
    );
    // test_format_1 exec_hist_resp_3 (not in the corpus): null is written "null".
    assert_eq!(
        run(
            "States.Format('Formatting argument {}.', $.FunctionInput)",
            input(Value::Null)
        )
        .unwrap(),
        json!("Formatting argument null.")
    );
}

#[test]
fn array_keeps_empty_and_blank_strings() {
    // test_array.snapshot.json test_array_2 exec_hist_resp_0 and _1 (corpus
    // array.array_2__exec_hist_resp_0, _1).
    let call = "States.Array($.FunctionInput.fst, $.FunctionInput.snd)";
    assert_eq!(
        run(call, pair(json!(""), json!(""))).unwrap(),
        json!(["", ""])
    );
    assert_eq!(
        run(call, pair(json!(" "), json!(" "))).unwrap(),
        json!([" ", " "])
    );
}

#[test]
fn string_split_of_blank_strings() {
    // test_string_operations.snapshot.json test_string_split exec_hist_resp_0..3 (corpus
    // string_operations.string_split__exec_hist_resp_0.._3).
    let call = "States.StringSplit($.FunctionInput.fst, $.FunctionInput.snd)";
    for (s, want) in [
        (" ", json!([" "])),
        (" , ", json!([" ", " "])),
        (", , ,", json!([" ", " "])),
        (",,,,", json!([])),
    ] {
        assert_eq!(
            run(call, pair(json!(s), json!(","))).unwrap(),
            want,
            "StringSplit({s:?}, \",\")"
        );
    }
    // No recording splits the empty string; with empty pieces dropped (",,,," -> [] above)
    // it gives [].
    assert_eq!(run(call, pair(json!(""), json!(","))).unwrap(), json!([]));
}

#[test]
fn array_get_item_in_and_out_of_range() {
    // test_array.snapshot.json test_array_get_item exec_hist_resp_0 (corpus
    // array.array_get_item): index 5 of [1..9] is 6.
    let call = "States.ArrayGetItem($.FunctionInput.fst, $.FunctionInput.snd)";
    let nine = json!([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert_eq!(run(call, pair(nine.clone(), json!(5))).unwrap(), json!(6));
    assert_eq!(run(call, pair(nine.clone(), json!(0))).unwrap(), json!(1));
    assert_eq!(run(call, pair(nine.clone(), json!(8))).unwrap(), json!(9));
    // No AWS recording or document says what an index past either end does (the AWS page
    // and SPEC Appendix B only show index 5 of nine items). The executor fails the state
    // with States.IntrinsicFailure, never panics, and never reads from the end.
    for i in [json!(9), json!(-1), json!(i64::MAX), json!(i64::MIN)] {
        assert!(
            matches!(
                run(call, pair(nine.clone(), i.clone())),
                Err(EvalError::Failure(_))
            ),
            "ArrayGetItem(nine, {i})"
        );
    }
    assert!(matches!(
        run(call, pair(json!([]), json!(0))),
        Err(EvalError::Failure(_))
    ));
}
