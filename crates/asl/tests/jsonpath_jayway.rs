//! JSONPath against Jayway JsonPath's own test suite.
//!
//! AWS Step Functions evaluates JSONPath with Jayway JsonPath (SPEC "Query Languages" links
//! github.com/jayway/JsonPath; AWS's errors quote Jayway's messages, e.g. "No results for
//! path: $['a']"). `tests/jsonpath/jayway_cases.json` turns the assertions of Jayway's unit
//! tests (Apache-2.0, `tests/jsonpath/LICENSE.jayway.txt`) that apply to a Step Functions path
//! into data: a path, a document and what Jayway gives with its default options. Where AWS
//! recorded something else, the case says so and expects AWS's result.
//!
//! `cargo test -p asl --test jsonpath_jayway -- --nocapture` prints how many cases agree.
//! The test fails when a case disagrees and is not in [`KNOWN`], or when a case in [`KNOWN`]
//! starts to agree (then remove it from the list).

use std::collections::BTreeMap;

use asl::intrinsic::json_eq;
use asl::path::Path;
use serde_json::Value;

/// Cases (by source and path) the executor does not follow yet, with the reason.
const KNOWN: &[(&str, &str, &str)] = &[
    (
        "InlineFilterTest::patterns_can_be_evaluated",
        "$.store.book[?(@.category =~ /reference/)].author",
        "regular-expression filters (`=~ /re/`) are not implemented: asl has no regex dependency",
    ),
    (
        "InlineFilterTest::patterns_can_be_evaluated",
        "$.store.book[?(/reference/ =~ @.category)].author",
        "regular-expression filters (`=~ /re/`) are not implemented: asl has no regex dependency",
    ),
    (
        "InlineFilterTest::patterns_can_be_evaluated_with_ignore_case",
        "$.store.book[?(@.category =~ /REFERENCE/)].author",
        "regular-expression filters (`=~ /re/`) are not implemented: asl has no regex dependency",
    ),
    (
        "InlineFilterTest::patterns_can_be_evaluated_with_ignore_case",
        "$.store.book[?(@.category =~ /REFERENCE/i)].author",
        "regular-expression filters (`=~ /re/`) are not implemented: asl has no regex dependency",
    ),
    (
        "InlineFilterTest::patterns_match_against_lists",
        "$.store[?(@.book[*].category =~ /Reference/i)].name",
        "regular-expression filters (`=~ /re/`) are not implemented: asl has no regex dependency",
    ),
    (
        "InlineFilterTest::escape_pattern",
        "$[?(@ =~ /\\/|x/)]",
        "regular-expression filters (`=~ /re/`) are not implemented: asl has no regex dependency",
    ),
    (
        "InlineFilterTest::escape_pattern_after_literal",
        "$[?(@ == \"abc\" || @ =~ /\\/|x/)]",
        "regular-expression filters (`=~ /re/`) are not implemented: asl has no regex dependency",
    ),
    (
        "InlineFilterTest::escape_pattern_before_literal",
        "$[?(@ =~ /\\/|x/ || @ == \"abc\")]",
        "regular-expression filters (`=~ /re/`) are not implemented: asl has no regex dependency",
    ),
    (
        "PathCompilerTest::issue_predicate_can_have_bracket_in_regex",
        "$.logs[?(@.message =~ /\\(it/)].message",
        "regular-expression filters (`=~ /re/`) are not implemented: asl has no regex dependency",
    ),
    (
        "PathCompilerTest::issue_predicate_can_have_and_in_regex",
        "$.logs[?(@.message =~ /&&|it/)].message",
        "regular-expression filters (`=~ /re/`) are not implemented: asl has no regex dependency",
    ),
    (
        "PathCompilerTest::a_bracket_notation_property_token_can_be_compiled",
        "$[\"prop\"]",
        "the rendering always quotes names with ' (Jayway keeps the path's own quote); only error messages show it",
    ),
    (
        "FilterCompilerTest::valid_filters_compile",
        "$[?(@.message.min() > 10)]",
        "path functions other than length() (min, max, avg, stddev, sum, keys, first, last, index, concat, append) are not implemented",
    ),
    (
        "FilterCompilerTest::valid_filters_compile",
        "$[?(@.message.min()==10)]",
        "path functions other than length() (min, max, avg, stddev, sum, keys, first, last, index, concat, append) are not implemented",
    ),
    (
        "FilterCompilerTest::valid_filters_compile",
        "$[?(10 == @.message.min())]",
        "path functions other than length() (min, max, avg, stddev, sum, keys, first, last, index, concat, append) are not implemented",
    ),
    (
        "FilterCompilerTest::valid_filters_compile",
        "$[?(@.name =~ /.*?/i)]",
        "regular-expression filters (`=~ /re/`) are not implemented: asl has no regex dependency",
    ),
    (
        "FilterCompilerTest::valid_filters_compile",
        "$[?(@.name =~ /.*?/)]",
        "regular-expression filters (`=~ /re/`) are not implemented: asl has no regex dependency",
    ),
    (
        "ArraySliceOperation.java + ArraySliceToken.java (Jayway source, no test)",
        "$[1:5:2]",
        "the executor steps through a three-part slice (tests/arithmetic.rs relies on it); Jayway drops the third part",
    ),
];

fn load() -> Value {
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/jsonpath/jayway_cases.json"
    );
    serde_json::from_str(&std::fs::read_to_string(file).expect("read the cases")).expect("JSON")
}

/// Equal as multisets, numbers by value.
fn same_items(got: &[Value], want: &[Value]) -> bool {
    let mut left: Vec<&Value> = got.iter().collect();
    if got.len() != want.len() {
        return false;
    }
    for w in want {
        match left.iter().position(|g| json_eq(g, w)) {
            Some(i) => {
                left.swap_remove(i);
            }
            None => return false,
        }
    }
    true
}

/// Runs one case: `Ok(())` when the executor agrees, else what it did.
fn check(case: &Value, docs: &BTreeMap<String, Value>) -> Result<(), String> {
    let text = case["path"].as_str().expect("path");
    let parsed = Path::parse(text);
    if case["error"] == "InvalidPathException" {
        return match parsed {
            Err(_) => Ok(()),
            Ok(p) => Err(format!("parsed as {}", p.render())),
        };
    }
    let path = parsed.map_err(|e| format!("does not parse: {e}"))?;
    if case["compiles"] == true {
        return Ok(());
    }
    if let Some(r) = case["rendered"].as_str() {
        let got = path.render();
        if got != r {
            return Err(format!("renders as {got}"));
        }
        if case.get("expected").is_none() && case.get("error").is_none() {
            return Ok(());
        }
    }
    let doc = match case["doc"].as_str() {
        Some(name) => docs.get(name).expect("a named document").clone(),
        None => case["json"].clone(),
    };
    let result = path.eval(&doc);
    if case["error"] == "PathNotFoundException" {
        return match result {
            Err(_) => Ok(()),
            Ok(v) => Err(format!("found {v}")),
        };
    }
    let got = result.map_err(|e| format!("found nothing: {}", e.message))?;
    if let Some(n) = case["expected_len"].as_u64() {
        let len = match &got {
            Value::Array(a) => a.len(),
            Value::Object(o) => o.len(),
            _ => return Err(format!("gave {got}, not an array")),
        };
        return if len as u64 == n {
            Ok(())
        } else {
            Err(format!("gave {len} items: {got}"))
        };
    }
    let want = &case["expected"];
    let ok = match (&got, want, case["any_order"].as_bool().unwrap_or(false)) {
        (Value::Array(g), Value::Array(w), true) => same_items(g, w),
        _ => json_eq(&got, want),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("gave {got}"))
    }
}

#[test]
fn jayway_cases() {
    let data = load();
    let docs: BTreeMap<String, Value> = data["documents"]
        .as_object()
        .expect("documents")
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let cases = data["cases"].as_array().expect("cases");
    let mut agree = 0;
    let mut problems = Vec::new();
    let mut known_hit = vec![false; KNOWN.len()];
    for case in cases {
        let source = case["source"].as_str().unwrap_or("?");
        let path = case["path"].as_str().unwrap_or("?");
        let known = KNOWN
            .iter()
            .position(|(s, p, _)| *s == source && *p == path);
        match check(case, &docs) {
            Ok(()) => {
                agree += 1;
                if let Some(k) = known {
                    problems.push(format!(
                        "{source} {path}: now agrees; remove it from KNOWN ({})",
                        KNOWN[k].2
                    ));
                }
            }
            Err(why) => match known {
                Some(k) => known_hit[k] = true,
                None => problems.push(format!("{source} {path}: {why}")),
            },
        }
    }
    eprintln!(
        "Jayway JsonPath cases: {} agree of {} ({} known differences)",
        agree,
        cases.len(),
        KNOWN.len()
    );
    for (i, hit) in known_hit.iter().enumerate() {
        if !hit && !problems.iter().any(|p| p.contains(KNOWN[i].1)) {
            problems.push(format!(
                "KNOWN entry {} {} matches no case",
                KNOWN[i].0, KNOWN[i].1
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} case(s) differ from Jayway:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
