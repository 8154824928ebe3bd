//! Real state machines that AWS accepts: every definition in `tests/samples/definitions.jsonl`
//! (taken from AWS's public sample collections, see `tests/samples/SOURCES`) goes through
//! [`asl::validate`]. The outcome is compared with `tests/samples/known-rejections.txt`, the
//! definitions our validator refuses today although AWS deploys them: one line each, the
//! source, a tab, then the first problem reported.
//!
//! The test fails when a definition outside that list is refused, when a listed one is now
//! accepted (remove its line: the list only shrinks as the validator improves), when the
//! validator panics, or when fewer definitions ran than [`MIN_DEFINITIONS`]. Only the sources
//! are compared; a listed definition refused for another first problem is reported, not failed.
//!
//! `ASL_SAMPLES_BLESS=1 cargo test -p asl --test samples` rewrites the list from today's
//! outcomes (review the diff: a new line is a regression unless AWS is shown to refuse it);
//! `ASL_SAMPLES_VERBOSE=1` prints every problem of every refused definition.

use std::collections::{BTreeMap, BTreeSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use asl::DefinitionError;
use serde_json::Value;

/// How many definitions `tests/samples/definitions.jsonl` holds: a run with fewer fails. Raise it
/// with the corpus (lowering it needs a reason).
const MIN_DEFINITIONS: usize = 269;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/samples")
}

/// Every node of a JSON value, depth first.
fn nodes<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    out.push(v);
    match v {
        Value::Object(m) => m.values().for_each(|x| nodes(x, out)),
        Value::Array(a) => a.iter().for_each(|x| nodes(x, out)),
        _ => {}
    }
}

fn uses_jsonata(def: &Value) -> bool {
    let mut all = Vec::new();
    nodes(def, &mut all);
    all.iter()
        .any(|n| n.get("QueryLanguage").and_then(Value::as_str) == Some("JSONata"))
}

fn is_distributed(def: &Value) -> bool {
    let mut all = Vec::new();
    nodes(def, &mut all);
    all.iter().any(|n| {
        n.get("Type").and_then(Value::as_str) == Some("Map")
            && ["ItemProcessor", "Iterator"].iter().any(|k| {
                n.pointer(&format!("/{k}/ProcessorConfig/Mode"))
                    .and_then(Value::as_str)
                    == Some("DISTRIBUTED")
            })
    })
}

/// The first problem of a refusal, on one line.
fn first_problem(e: &DefinitionError) -> String {
    let text = match e {
        DefinitionError::Invalid(ps) => match ps.first() {
            Some(p) => format!("{p} ({} problem(s))", ps.len()),
            None => "refused without a problem".to_string(),
        },
        DefinitionError::Syntax(m) => format!("syntax: {m}"),
        DefinitionError::Unsupported(_) => e.to_string(),
    };
    text.replace(['\n', '\t'], " ")
}

fn known_rejections() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(dir().join("known-rejections.txt"))
        .expect("tests/samples/known-rejections.txt");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (source, problem) = l.split_once('\t').unwrap_or((l, ""));
            (source.to_string(), problem.to_string())
        })
        .collect()
}

const HEADER: &str = "\
# Definitions from definitions.jsonl that AWS deploys but asl::validate refuses today:
# source, a tab, the first problem reported (and how many). tests/samples.rs fails when a
# definition not listed here is refused or a listed one is accepted: remove lines as the
# validator improves; add none without showing that AWS refuses the definition.
";

#[test]
fn aws_sample_definitions() {
    let text = std::fs::read_to_string(dir().join("definitions.jsonl"))
        .expect("tests/samples/definitions.jsonl");
    let known = known_rejections();

    let (mut ran, mut jsonata, mut distributed, mut accepted, mut runnable) = (0, 0, 0, 0, 0);
    let mut refused: BTreeMap<String, String> = BTreeMap::new();
    let mut failures: Vec<String> = Vec::new();
    let mut sources = BTreeSet::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let entry: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("definitions.jsonl line {}: {e}", i + 1));
        let source = entry["source"]
            .as_str()
            .unwrap_or_else(|| panic!("definitions.jsonl line {}: no source", i + 1))
            .to_string();
        assert!(sources.insert(source.clone()), "{source} is listed twice");
        let def = &entry["definition"];
        ran += 1;
        jsonata += uses_jsonata(def) as usize;
        distributed += is_distributed(def) as usize;
        match catch_unwind(AssertUnwindSafe(|| asl::validate(def))) {
            Err(_) => failures.push(format!("{source}: the validator panicked")),
            Ok(Ok(m)) => {
                accepted += 1;
                runnable += m.unsupported.is_empty() as usize;
                if known.contains_key(&source) {
                    failures.push(format!(
                        "{source}: accepted now; remove it from known-rejections.txt"
                    ));
                }
            }
            Ok(Err(e)) => {
                if std::env::var_os("ASL_SAMPLES_VERBOSE").is_some() {
                    eprintln!("refused: {source}\n{e}");
                }
                let problem = first_problem(&e);
                match known.get(&source) {
                    None => failures.push(format!("{source}: refused, not listed: {problem}")),
                    Some(was) if *was != problem => {
                        eprintln!("note: {source}: first problem was «{was}», now «{problem}»")
                    }
                    Some(_) => {}
                }
                refused.insert(source, problem);
            }
        }
    }
    for source in known.keys().filter(|s| !sources.contains(*s)) {
        failures.push(format!(
            "{source}: listed in known-rejections.txt, not in the corpus"
        ));
    }

    eprintln!(
        "samples: {ran} definitions ({jsonata} JSONata, {distributed} Distributed Map): \
         {accepted} accepted ({runnable} of them runnable here), {} refused ({} listed)",
        refused.len(),
        known.len()
    );

    if std::env::var_os("ASL_SAMPLES_BLESS").is_some() {
        let mut out = HEADER.to_string();
        for (source, problem) in &refused {
            out.push_str(&format!("{source}\t{problem}\n"));
        }
        std::fs::write(dir().join("known-rejections.txt"), out).unwrap();
        eprintln!("samples: known-rejections.txt rewritten");
        failures.retain(|f| f.contains("panicked"));
    }

    assert!(
        ran >= MIN_DEFINITIONS,
        "only {ran} definitions ran, fewer than {MIN_DEFINITIONS}"
    );
    assert!(
        failures.is_empty(),
        "{} difference(s) from known-rejections.txt:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
