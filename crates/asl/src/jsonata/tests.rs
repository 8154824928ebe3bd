//! The module's behaviour against AWS's recorded and documented answers.

use super::*;
use crate::rng::Rng;
use proptest::proptest;
use serde_json::json;

fn eval_in(text: &str, input: Value, field: &str) -> Result<Value, QueryError> {
    let e = Expr::compile(text).unwrap();
    let ctx = json!({"Execution": {"Id": "arn:x"}});
    let mut rng = Rng::new(1);
    let none = |_: &str| None;
    let mut b = Bindings {
        states: States {
            input: &input,
            context: &ctx,
            result: None,
            error_output: None,
        },
        variable: &none,
        rng: &mut rng,
    };
    e.evaluate(&mut b, field)
}

fn eval(text: &str, input: Value) -> Result<Value, QueryError> {
    eval_in(text, input, "Output")
}

fn cause(text: &str) -> String {
    eval(text, json!({})).unwrap_err().cause
}

#[test]
fn variables_are_bound_by_name() {
    let e = Expr::compile("{% $x + $states.input.n %}").unwrap();
    let (input, ctx, x) = (json!({"n": 1}), json!({}), json!(41));
    let mut rng = Rng::new(1);
    let look = |n: &str| (n == "x").then_some(&x);
    let mut b = Bindings {
        states: States {
            input: &input,
            context: &ctx,
            result: None,
            error_output: None,
        },
        variable: &look,
        rng: &mut rng,
    };
    assert_eq!(e.evaluate(&mut b, "Output").unwrap(), json!(42));
    assert_eq!(e.variables().collect::<Vec<_>>(), ["x"]);
}

#[test]
fn states_input_is_bound() {
    assert_eq!(
        eval("{% $states.input.a & 'x' %}", json!({"a": "b"})).unwrap(),
        json!("bx")
    );
    assert_eq!(
        eval("{% $states.context.Execution.Id %}", json!({})).unwrap(),
        json!("arn:x")
    );
}

#[test]
fn numbers_come_back_as_json_writes_them() {
    assert_eq!(eval("{% 40 + 2 %}", json!({})).unwrap(), json!(42));
    assert_eq!(eval("{% 1 / 4 %}", json!({})).unwrap(), json!(0.25));
    assert_eq!(eval("{% $parse('-0') %}", json!({})).unwrap(), json!(0));
    assert_eq!(eval("{% [1/0] %}", json!({})).unwrap(), json!(["Infinity"]));
    assert_eq!(
        eval("{% $states.input %}", json!({"a": [1, 2.5, {"b": null}]})).unwrap(),
        json!({"a": [1, 2.5, {"b": null}]})
    );
}

#[test]
fn only_what_is_read_is_converted() {
    let e = Expr::compile("{% $states.input.a.b & $states.input.c[0] %}").unwrap();
    let mut expected = Need::Fields(Vec::new());
    expected.add(&["input".into(), "a".into(), "b".into()]);
    expected.add(&["input".into(), "c".into()]);
    assert_eq!(e.facts.need("states"), Some(&expected));
    // `%` reaches siblings: everything it could reach is converted.
    let e = Expr::compile("{% $states.input.a.b.% %}").unwrap();
    assert_eq!(e.facts.need("states"), Some(&Need::All));
    assert_eq!(
        eval(
            "{% $states.input.a.b.%.c %}",
            json!({"a": {"b": 1, "c": 2}})
        )
        .unwrap(),
        json!(2)
    );
}

#[test]
fn undefined_is_an_error_with_aws_message() {
    // Recorded: outputdecl/assign cases, "$doesNotExist" in Output/result.
    let e = eval_in("{% $doesNotExist %}", json!({}), "Output/result").unwrap_err();
    assert_eq!(
        e.cause,
        "The JSONata expression '$doesNotExist' specified for the field 'Output/result' returned nothing (undefined)."
    );
}

#[test]
fn engine_errors_read_as_on_aws() {
    // Recorded: intrinsic_functions/math_operations_jsonata.math_random_seeded.
    assert_eq!(
        cause("{% $randomSeeded($states.input.FunctionInput.fst) %}"),
        "The JSONata expression '$randomSeeded($states.input.FunctionInput.fst)' specified for the field 'Output' threw an error during evaluation. T1006: Attempted to invoke a non-function"
    );
    // AWS has no $eval (floci-io/floci#2737 quotes AWS's cause).
    assert_eq!(
        cause(r#"{% $eval("1+1") %}"#),
        r#"The JSONata expression '$eval("1+1")' specified for the field 'Output' threw an error during evaluation. T1006: Attempted to invoke a non-function"#
    );
}

#[test]
fn engine_messages_read_as_jsonata_js_words_them() {
    // AWS quotes jsonata-js: `T0412: Argument 1 of function "sum" must be an array of
    // "numbers"` (floci-io/floci#2668).
    assert!(
        cause("{% $sum(['a']) %}").ends_with(
            r#"threw an error during evaluation. T0412: Argument 1 of function "sum" must be an array of "numbers""#
        ),
        "{}",
        cause("{% $sum(['a']) %}")
    );
    assert!(
        cause("{% $abs('x') %}").ends_with(
            r#"threw an error during evaluation. T0410: Argument 1 of function "abs" does not match function signature"#
        ),
        "{}",
        cause("{% $abs('x') %}")
    );
    assert!(
        cause("{% 'a' - 1 %}")
            .ends_with(r#"T2001: The left side of the "-" operator must evaluate to a number"#),
        "{}",
        cause("{% 'a' - 1 %}")
    );
    // jsonata-js's S0211 names the symbol.
    let e = Expr::compile("{% > 1 %}").unwrap_err();
    assert_eq!(
        e.message,
        r#"INVALID_JSONATA_EXPRESSION: S0211: The symbol ">" cannot be used as a unary operator"#
    );
}

#[test]
fn functions_in_results_are_refused() {
    for text in [
        "{% $sum %}",
        "{% {'a': $sum} %}",
        "{% [function($x){$x}] %}",
    ] {
        assert!(
            cause(text).ends_with("returned an unsupported result type."),
            "{text}"
        );
    }
}

#[test]
fn items_type_errors_read_as_recorded() {
    // Recorded: evaluate_jsonata/base_evaluate_expressions.*ITEMS* and scenarios.
    let cases = [
        ("{% 1 %}", "Expected 'array', but was 'number' for value: 1"),
        (
            "{% true %}",
            "Expected 'array', but was 'boolean' for value: true",
        ),
        (
            "{% null %}",
            "Expected 'array', but was 'null' for value: null",
        ),
        (
            "{% 'string' %}",
            r#"Expected 'array', but was 'string' for value: "string""#,
        ),
        (
            "{% {'foo': 'bar'} %}",
            r#"Expected 'array', but was 'object' for value: {"foo":"bar"}"#,
        ),
    ];
    for (text, tail) in cases {
        let e = Expr::compile(text).unwrap();
        let (input, ctx) = (json!({}), json!({}));
        let mut rng = Rng::new(1);
        let none = |_: &str| None;
        let mut b = Bindings {
            states: States {
                input: &input,
                context: &ctx,
                result: None,
                error_output: None,
            },
            variable: &none,
            rng: &mut rng,
        };
        let err = e.evaluate_array(&mut b, "Items").unwrap_err().cause;
        let expected = format!(
            "The JSONata expression '{}' specified for the field 'Items' returned an unexpected result type. {tail}",
            e.source().trim()
        );
        assert_eq!(err, expected);
    }
}

#[test]
fn typed_fields_check_type_and_range() {
    let input = json!({"n": 3, "s": "x", "neg": -1, "pct": 50.5, "t": true});
    let ctx = json!({});
    let mut rng = Rng::new(1);
    let none = |_: &str| None;
    let mut b = Bindings {
        states: States {
            input: &input,
            context: &ctx,
            result: None,
            error_output: None,
        },
        variable: &none,
        rng: &mut rng,
    };
    let e = |t: &str| Expr::compile(t).unwrap();
    assert_eq!(
        e("{% $states.input.n %}")
            .evaluate_integer(&mut b, "TimeoutSeconds", IntegerRange::Positive)
            .unwrap(),
        3
    );
    let err = e("{% $states.input.neg %}")
        .evaluate_integer(&mut b, "ToleratedFailureCount", IntegerRange::NonNegative)
        .unwrap_err();
    assert!(
        err.cause
            .contains("Expected a non-negative integer, but was: -1"),
        "{err}"
    );
    let err = e("{% 1.5 %}")
        .evaluate_integer(&mut b, "Seconds", IntegerRange::NonNegative)
        .unwrap_err();
    assert!(
        err.cause
            .contains("Expected 'integer', but was 'number' for value: 1.5"),
        "{err}"
    );
    assert_eq!(
        e("{% $states.input.pct %}")
            .evaluate_percentage(&mut b, "ToleratedFailurePercentage")
            .unwrap(),
        50.5
    );
    assert!(
        e("{% 101 %}")
            .evaluate_percentage(&mut b, "ToleratedFailurePercentage")
            .is_err()
    );
    assert!(
        e("{% $states.input.t %}")
            .evaluate_bool(&mut b, "Condition")
            .unwrap()
    );
    let err = e("{% $states.input.s %}")
        .evaluate_bool(&mut b, "Condition")
        .unwrap_err();
    assert!(
        err.cause
            .contains(r#"Expected 'boolean', but was 'string' for value: "x""#),
        "{err}"
    );
    assert_eq!(
        e("{% $states.input.s %}")
            .evaluate_string(&mut b, "Error")
            .unwrap(),
        "x"
    );
    assert!(
        e("{% $states.input.n %}")
            .evaluate_string(&mut b, "Cause")
            .is_err()
    );
}

#[test]
fn top_level_input_references_do_not_compile() {
    // AWS: "UNSUPPORTED_JSONATA_EXPRESSION: Reference to 'phone' at the top level is not
    // supported." (quoted in floci-io/floci#2670).
    let e = Expr::compile("{% phone %}").unwrap_err();
    assert_eq!(
        e.message,
        "UNSUPPORTED_JSONATA_EXPRESSION: Reference to 'phone' at the top level is not supported."
    );
    assert_eq!(e.code(), "UNSUPPORTED_JSONATA_EXPRESSION");
    for text in [
        "{% $ %}",
        "{% $$ %}",
        "{% $.a %}",
        "{% a.b + 1 %}",
        "{% $sum(a) %}",
        "{% [x] %}",
    ] {
        assert!(Expr::compile(text).is_err(), "{text}");
    }
    assert_eq!(Expr::compile_all("{% a + b + a %}").unwrap_err().len(), 2);
    // `$$` is refused anywhere (SPEC "JSONata Concepts").
    assert!(Expr::compile("{% $states.input.a.($$) %}").is_err());
    // Nested inside an expression, `$` and names refer to a value it produced.
    for text in [
        "{% $states.input.items[price > 10].name %}",
        "{% $map($states.input.a, function($v) { $v.x }) %}",
        "{% $states.input.a.($ & b) %}",
        "{% $states.input.a{k: v} %}",
        "{% ($x := 1; $x) %}",
    ] {
        assert!(Expr::compile(text).is_ok(), "{text}");
    }
    // `??` and `?:` came with jsonata-js 2.1.0; AWS runs 2.0.6.
    for text in ["{% $states.input.a ?? 1 %}", "{% $states.input.a ?: 1 %}"] {
        let e = Expr::compile(text).unwrap_err();
        assert_eq!(e.code(), "INVALID_JSONATA_EXPRESSION", "{e}");
    }
    let e = Expr::compile("{% 1 + %}").unwrap_err();
    assert_eq!(e.code(), "INVALID_JSONATA_EXPRESSION", "{e}");
}

#[test]
fn states_fields_are_known_for_validation() {
    let e = Expr::compile("{% $states.result.x & $states.input %}").unwrap();
    assert!(e.mentions_states_field("result"));
    assert!(e.mentions_states_field("input"));
    assert!(!e.mentions_states_field("errorOutput"));
    let p = Payload::compile(&json!({"a": ["{% $states.errorOutput %}"]})).unwrap();
    assert!(p.mentions_states_field("errorOutput"));
    assert!(!p.mentions_states_field("result"));
}

#[test]
fn payloads_compile_only_expression_strings() {
    let p = Payload::compile(&json!({"a": "{% 1 + %}", "b": ["{% 2 %}", "{not}"]})).unwrap_err();
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].pointer, "/a");
}

#[test]
fn payload_errors_name_the_field_path() {
    let p = Payload::compile(&json!({"a": {"b": ["x", "{% $nope %}"]}})).unwrap();
    let (input, ctx) = (json!({}), json!({}));
    let mut rng = Rng::new(1);
    let none = |_: &str| None;
    let mut b = Bindings {
        states: States {
            input: &input,
            context: &ctx,
            result: None,
            error_output: None,
        },
        variable: &none,
        rng: &mut rng,
    };
    let e = p.evaluate(&mut b, "Output").unwrap_err();
    assert!(e.cause.contains("for the field 'Output/a/b[1]'"), "{e}");
}

#[test]
fn aws_functions() {
    let v = |t: &str| eval(t, json!({})).unwrap();
    assert_eq!(
        v("{% $partition([1,2,3,4,5], 2) %}"),
        json!([[1, 2], [3, 4], [5]])
    );
    assert_eq!(v("{% $partition([0], 1) %}"), json!([[0]]));
    assert_eq!(v("{% $range(0, 6, 2) %}"), json!([0, 2, 4, 6]));
    assert_eq!(v("{% $range(0, 10, 3) %}"), json!([0, 3, 6, 9]));
    assert_eq!(v("{% $range(1, 9, 9) %}"), json!(1));
    assert_eq!(v("{% $range(5, 1, -2) %}"), json!([5, 3, 1]));
    assert_eq!(
        v("{% $hash('input', 'SHA-1') %}"),
        json!("140f86aae51ab9e1cda9b4254fe98a74eb54c1a1")
    );
    assert_eq!(v("{% $random(42) %}"), json!(0.7275636800328681));
    assert_eq!(
        v("{% $parse('{\"a\": [1, true]}') %}"),
        json!({"a": [1, true]})
    );
    let r = v("{% $random() %}").as_f64().unwrap();
    assert!((0.0..1.0).contains(&r));
    let u = v("{% $uuid() %}");
    let u = u.as_str().unwrap();
    assert_eq!((u.len(), &u[14..15]), (36, "4"));
    assert!(cause("{% $partition([1], 0) %}").contains("threw an error during evaluation"));
    assert!(cause("{% $hash('x', 'SHA-3') %}").contains("threw an error during evaluation"));
    assert!(cause("{% $parse('{') %}").contains("threw an error during evaluation"));
    assert!(cause("{% $range(0, 1, 0) %}").contains("threw an error during evaluation"));
}

#[test]
fn random_functions_follow_the_execution_generator() {
    let run = |seed: u64| {
        let e = Expr::compile("{% [$random(), $uuid(), $shuffle([1,2,3,4,5,6])] %}").unwrap();
        let (input, ctx) = (json!({}), json!({}));
        let mut rng = Rng::new(seed);
        let none = |_: &str| None;
        let mut b = Bindings {
            states: States {
                input: &input,
                context: &ctx,
                result: None,
                error_output: None,
            },
            variable: &none,
            rng: &mut rng,
        };
        let first = e.evaluate(&mut b, "Output").unwrap();
        let second = e.evaluate(&mut b, "Output").unwrap();
        assert_ne!(first, second, "the generator moves on");
        first
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8));
}

#[test]
fn limits_turn_runaway_evaluations_into_errors() {
    // AWS fails a 200-term sum on depth (floci-io/floci#2737).
    let chain = format!("{{% {} %}}", vec!["1"; 200].join("+"));
    assert!(
        cause(&chain).ends_with("threw an error during evaluation: Stack overflow error: Check for non-terminating recursive function.  Consider rewriting as tail-recursive."),
        "{}",
        cause(&chain)
    );
    let deep = "{% ($f := function($x){ 1 + $f($x) }; $f(1)) %}";
    assert!(
        cause(deep).contains("Stack overflow error"),
        "{}",
        cause(deep)
    );
    // A tail call never deepens the stack: only the clock ends it.
    let endless = "{% ($f := function($x){ $f($x + 1) }; $f(1)) %}";
    assert!(cause(endless).contains("threw an error during evaluation"));
    // AWS refuses [1..873783] with its memory limit, accepts [1..873782] (floci-io/floci#2783).
    assert_eq!(
        cause("{% $count([1..900000]) %}"),
        "The JSONata expression '$count([1..900000])' specified for the field 'Output' threw an error during evaluation: Expression evaluation memory limit exceeded: Check for excessive memory usage"
    );
}

#[test]
fn results_past_aws_memory_limit_fail() {
    // AWS refuses a string of 2^23 characters and accepts one of 2^22 (floci-io/floci#2783).
    assert!(
        cause("{% $pad('', 8388608, 'x') %}").ends_with(
            "threw an error during evaluation: Expression evaluation memory limit exceeded: Check for excessive memory usage"
        )
    );
    assert_eq!(
        eval("{% $length($pad('', 4194304, 'x')) %}", json!({})).unwrap(),
        json!(4194304)
    );
    assert_eq!(
        eval("{% $count([1..873782]) %}", json!({})).unwrap(),
        json!(873782)
    );
}

#[test]
fn evaluation_never_panics() {
    // Every expression that compiles evaluates to a value or an error, whatever it is.
    let texts = [
        "{% $states.input.a.b.c[0].d %}",
        "{% $sort($states.input.x, function($a, $b) { $a > $b }) %}",
        "{% $states.input ~> $keys() ~> $map(function($k) { $k & 'x' }) %}",
        "{% $formatNumber(1, 'x') %}",
        "{% $base64decode('!!!') %}",
        "{% $states.input.x.% %}",
        "{% $states.input.*.**[0] %}",
        "{% $single($states.input.x) %}",
        "{% $states.input.x@$v#$i.{'v': $v, 'i': $i} %}",
    ];
    for t in texts {
        let _ = eval(t, json!({"x": [3, 1, 2], "a": {"b": 1}}));
    }
}

#[test]
fn deep_nesting_does_not_compile() {
    let text = format!("{{% {}1{} %}}", "[".repeat(10_000), "]".repeat(10_000));
    assert_eq!(
        Expr::compile(&text).unwrap_err().code(),
        "INVALID_JSONATA_EXPRESSION"
    );
    let text = format!("{{% {}1{} %}}", "(".repeat(10_000), ")".repeat(10_000));
    assert!(Expr::compile(&text).is_err());
}

proptest! {
    #![proptest_config(proptest::test_runner::Config::with_cases(512))]

    #[test]
    fn compile_and_evaluate_never_panic(
        body in r#"[ $a-z0-9.\[\]\(\)\{\}:,;'+*/%&=<>!?~^#@|-]{0,24}"#
    ) {
        if let Ok(e) = Expr::compile(&format!("{{%$states.input{body}%}}")) {
            let (input, ctx) = (json!({"a": [1, {"b": "c"}], "n": 2}), json!({}));
            let mut rng = Rng::new(1);
            let none = |_: &str| None;
            let mut b = Bindings {
                states: States { input: &input, context: &ctx, result: None, error_output: None },
                variable: &none,
                rng: &mut rng,
            };
            let _ = e.evaluate(&mut b, "Output");
        }
    }

    #[test]
    fn compile_never_panics(body in ".{0,64}") {
        let _ = Expr::compile(&format!("{{%{body}%}}"));
    }

    #[test]
    fn compile_never_panics_on_jsonata_like_text(
        body in r#"[ $a-z0-9.\[\]\(\)\{\}:,;'"+*/%&=<>!?~^#@|-]{0,48}"#
    ) {
        let _ = Expr::compile(&format!("{{%{body}%}}"));
    }
}

#[test]
fn compiled_expressions_cross_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Expr>();
    shareable::<Payload>();
    shareable::<CompileError>();
    shareable::<QueryError>();
}

#[test]
fn now_reads_the_executor_clock() {
    let at = with_clock(1_764_842_400_123, || {
        eval("{% [$now(), $millis(), $now() = $now()] %}", json!({})).unwrap()
    });
    assert_eq!(
        at,
        json!(["2025-12-04T10:00:00.123Z", 1_764_842_400_123i64, true])
    );
    // Outside, the system clock.
    let ms = eval("{% $millis() %}", json!({}))
        .unwrap()
        .as_i64()
        .unwrap();
    assert!(ms > 1_764_842_400_123);
}
