//! Property tests for JSONPath: paths made of JSONPath's own tokens never panic the parser or
//! the evaluator, indefinite paths never fail, and slices and multi-property brackets follow
//! Jayway's code (`ArraySliceToken`, `PathToken.handleObjectProperty`) on any input.

use asl::path::Path;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// Pieces of JSONPath syntax, valid and broken, to glue together.
const TOKENS: &[&str] = &[
    "$", "@", ".", "..", "[", "]", "*", "'a'", "\"b\"", "a", "b", "0", "1", "-1", ":", ",", "?(",
    "(", ")", "==", "!=", "<", ">=", "&&", "||", "!", " ", "in", "size", "[1,2]", "{'a':1}", "'",
    "\\", "length()", "min()", "=~", "/x/", "null", "true", "2.5",
];

fn doc() -> Value {
    json!({
        "a": [1, {"a": 2, "b": [3, 4]}, [5, {"b": "x"}], null],
        "b": {"a": {"b": "y"}, "c": ""},
        "0": true
    })
}

/// Jayway's slice, written the way its Java code runs: `[from:]` and `[:to]` count a
/// negative bound from the end, `[from:to]` loops from `from` to `min(to, len)` and reads
/// each index, a negative one from the end, skipping misses.
fn jayway_slice(a: &[i64], from: Option<i64>, to: Option<i64>) -> Vec<i64> {
    let len = a.len() as i64;
    let get = |i: i64| {
        let e = if i < 0 { len + i } else { i };
        (0..len).contains(&e).then(|| a[e as usize])
    };
    match (from, to) {
        (Some(f), None) => {
            let f = if f < 0 { len + f } else { f }.max(0);
            (f..len).filter_map(get).collect()
        }
        (Some(f), Some(t)) => (f..t.min(len)).filter_map(get).collect(),
        (None, Some(t)) => {
            let t = if t < 0 { len + t } else { t }.min(len);
            (0..t).filter_map(get).collect()
        }
        (None, None) => Vec::new(),
    }
}

fn bound(b: Option<i64>) -> String {
    b.map(|v| v.to_string()).unwrap_or_default()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn token_soup_never_panics(parts in proptest::collection::vec(0..TOKENS.len(), 0..14)) {
        let text: String = parts.iter().map(|&i| TOKENS[i]).collect();
        let d = doc();
        for t in [text.clone(), format!("${text}"), format!("$.a{text}")] {
            if let Ok(p) = Path::parse(&t) {
                let r = p.eval(&d);
                if !p.is_definite() {
                    // AWS gives [] for an indefinite path over missing data (see
                    // jsonpath_jayway.rs); it never fails.
                    prop_assert!(matches!(r, Ok(Value::Array(_))), "{t}: {r:?}");
                }
                let _ = p.render();
            }
        }
    }

    #[test]
    fn slices_follow_jayway(
        items in proptest::collection::vec(any::<i64>(), 0..9),
        from in proptest::option::of(-12i64..12),
        to in proptest::option::of(-12i64..12),
    ) {
        let text = format!("$[{}:{}]", bound(from), bound(to));
        let doc = json!(items);
        match Path::parse(&text) {
            Ok(p) => {
                let want: Vec<Value> = jayway_slice(&items, from, to).into_iter().map(Value::from).collect();
                prop_assert_eq!(p.eval(&doc).unwrap(), Value::Array(want));
            }
            Err(_) => prop_assert!(from.is_none() && to.is_none()),
        }
    }

    #[test]
    fn huge_slice_bounds_cost_nothing(from in any::<i64>(), to in any::<i64>()) {
        let p = Path::parse(&format!("$[{from}:{to}]")).unwrap();
        let r = p.eval(&json!([1, 2, 3])).unwrap();
        prop_assert!(r.as_array().is_some_and(|a| a.len() <= 6));
    }

    #[test]
    fn multi_property_brackets_merge_what_is_there(
        keys in proptest::collection::btree_set("[a-d]", 0..4),
        wanted in proptest::collection::vec("[a-e]", 2..5),
    ) {
        let obj: Map<String, Value> = keys.iter().map(|k| (k.clone(), json!(k.to_uppercase()))).collect();
        let doc = json!({"o": Value::Object(obj.clone())});
        let list: Vec<String> = wanted.iter().map(|w| format!("'{w}'")).collect();
        let p = Path::parse(&format!("$.o[{}]", list.join(","))).unwrap();
        prop_assert!(p.is_definite());
        let got = p.eval(&doc).unwrap();
        let got = got.as_object().unwrap();
        for (k, v) in got {
            prop_assert!(wanted.contains(k));
            prop_assert_eq!(Some(v), obj.get(k));
        }
        for w in &wanted {
            prop_assert_eq!(got.contains_key(w), obj.contains_key(w));
        }
    }
}
