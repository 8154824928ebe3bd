//! Property tests of the JSONPath, intrinsic-function and definition parsers: arbitrary input
//! never panics, and generated valid input round-trips to the value it names.

use asl::intrinsic;
use asl::path::Path;
use asl::rng::Rng;
use proptest::prelude::*;
use serde_json::{Value, json};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn path_parser_never_panics(s in "\\PC{0,40}") {
        let _ = Path::parse(&s);
        let _ = Path::parse(&format!("$.{s}"));
        let _ = Path::parse(&format!("$[{s}]"));
    }

    #[test]
    fn intrinsic_parser_never_panics(s in "\\PC{0,60}") {
        let _ = intrinsic::parse(&s);
        let _ = intrinsic::parse(&format!("States.Format({s})"));
        let _ = intrinsic::parse(&format!("States.Array('{s}', $.a)"));
    }

    #[test]
    fn definitions_never_panic(s in "\\PC{0,200}") {
        let _ = asl::load(&s);
    }

    /// A path built from fields and indexes finds the value planted at that place.
    #[test]
    fn generated_paths_find_their_value(
        steps in proptest::collection::vec(
            prop_oneof![
                "[a-zA-Z_][a-zA-Z0-9_]{0,8}".prop_map(Step::Field),
                (0usize..4).prop_map(Step::Index),
            ],
            1..6,
        ),
        leaf in any::<i64>(),
        bracket in any::<bool>(),
    ) {
        let mut doc = json!(leaf);
        for s in steps.iter().rev() {
            doc = match s {
                Step::Field(f) => json!({ f.as_str(): doc, "other": 1 }),
                Step::Index(i) => {
                    let mut a = vec![json!(null); *i + 1];
                    a[*i] = doc;
                    Value::Array(a)
                }
            };
        }
        let mut text = String::from("$");
        for s in &steps {
            match s {
                Step::Field(f) if bracket => text.push_str(&format!("['{f}']")),
                Step::Field(f) => text.push_str(&format!(".{f}")),
                Step::Index(i) => text.push_str(&format!("[{i}]")),
            }
        }
        let p = Path::parse(&text).unwrap();
        prop_assert!(p.is_definite());
        prop_assert_eq!(p.eval(&doc).unwrap(), json!(leaf));
    }

    /// States.Array of literals gives back the literals; States.Format fills every placeholder.
    #[test]
    fn generated_calls_evaluate(words in proptest::collection::vec("[a-z ]{0,6}", 0..6), n in any::<i32>()) {
        let args: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
        let call = format!("States.Array({}{}{n})", args.join(", "), if args.is_empty() { "" } else { ", " });
        let c = intrinsic::parse(&call).unwrap();
        let mut rng = Rng::new(0);
        let v = intrinsic::eval(&c, &mut |_| Ok(Value::Null), &mut rng).unwrap();
        let mut expected: Vec<Value> = words.iter().map(|w| json!(w)).collect();
        expected.push(json!(n));
        prop_assert_eq!(v, Value::Array(expected));

        let tpl = words.iter().map(|_| "{}").collect::<Vec<_>>().join("-");
        let call = format!("States.Format('{tpl}'{}{})", if args.is_empty() { "" } else { ", " }, args.join(", "));
        let c = intrinsic::parse(&call).unwrap();
        let v = intrinsic::eval(&c, &mut |_| Ok(Value::Null), &mut rng).unwrap();
        prop_assert_eq!(v, json!(words.join("-")));
    }
}

#[derive(Debug, Clone)]
enum Step {
    Field(String),
    Index(usize),
}
