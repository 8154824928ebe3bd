//! Evaluating a path's steps as Jayway does: properties, indexes, slices, wildcards,
//! multi-property brackets, deep scans and filters.

use serde_json::Value;

use super::Segment;
use super::filter::filter_matches;

/// The indexes a slice visits, as Jayway's `ArraySliceToken` computes them. `[from:]` and
/// `[:to]` count a negative bound from the end; `[from:to]` does not, and visits
/// `from..min(to, len)` index by index, a negative index counting from the end: `[-2:5]` of
/// seven items is items 5, 6, 0, 1, 2, 3, 4. The range is clamped to the indexes that can
/// hit, so a huge bound costs nothing.
pub(super) fn slice(a: &[Value], start: Option<i64>, end: Option<i64>) -> std::ops::Range<i64> {
    let len = a.len() as i64;
    match (start, end) {
        (Some(f), None) => {
            let f = if f < 0 { len.saturating_add(f) } else { f };
            f.max(0)..len
        }
        (Some(f), Some(t)) => f.max(-len)..t.min(len),
        (None, Some(t)) => {
            let t = if t < 0 { len.saturating_add(t) } else { t };
            0..t.min(len)
        }
        (None, None) => 0..0,
    }
}

pub(super) fn is_single_node(s: &Segment) -> bool {
    matches!(s, Segment::Field(_) | Segment::Index(_) | Segment::Length)
}

/// The object of those `names` that `v` has, in the bracket's order; `None` when `v` is not
/// an object (Jayway's `handleObjectProperty`, multi-property case).
pub(super) fn merge_fields(v: &Value, names: &[String]) -> Option<Value> {
    let o = v.as_object()?;
    Some(Value::Object(
        names
            .iter()
            .filter_map(|n| o.get(n).map(|x| (n.clone(), x.clone())))
            .collect(),
    ))
}

pub(super) fn index(a: &[Value], n: i64) -> Option<&Value> {
    let i = if n < 0 { a.len() as i64 + n } else { n };
    if i < 0 { None } else { a.get(i as usize) }
}

pub(super) fn step<'a>(seg: &Segment, v: &'a Value, root: &'a Value, out: &mut Vec<&'a Value>) {
    match seg {
        Segment::Field(n) => {
            if let Some(x) = v.as_object().and_then(|o| o.get(n)) {
                out.push(x)
            }
        }
        Segment::Fields(ns) => {
            if let Some(o) = v.as_object() {
                out.extend(ns.iter().filter_map(|n| o.get(n)))
            }
        }
        Segment::Index(n) => {
            if let Some(x) = v.as_array().and_then(|a| index(a, *n)) {
                out.push(x)
            }
        }
        Segment::Indexes(ns) => {
            if let Some(a) = v.as_array() {
                out.extend(ns.iter().filter_map(|n| index(a, *n)))
            }
        }
        Segment::Wildcard => match v {
            Value::Array(a) => out.extend(a.iter()),
            Value::Object(o) => out.extend(o.values()),
            _ => {}
        },
        Segment::Slice(start, end, None) => {
            if let Some(a) = v.as_array() {
                out.extend(slice(a, *start, *end).filter_map(|i| index(a, i)))
            }
        }
        Segment::Slice(start, end, Some(st)) => {
            if let Some(a) = v.as_array() {
                let len = a.len() as i64;
                let norm = |x: i64| if x < 0 { (len + x).max(0) } else { x.min(len) };
                let s = start.map(norm).unwrap_or(0);
                let e = end.map(norm).unwrap_or(len);
                let stp = (*st).max(1);
                let mut i = s;
                while i < e {
                    if let Some(x) = usize::try_from(i).ok().and_then(|j| a.get(j)) {
                        out.push(x);
                    }
                    // A step past the largest index ends the slice.
                    let Some(next) = i.checked_add(stp) else {
                        break;
                    };
                    i = next;
                }
            }
        }
        Segment::DeepScan(target) => {
            for node in walk(v) {
                scan_step(target, node, root, out);
            }
        }
        // Jayway's `PredicatePathToken`: a filter tests each element of an array, but an
        // object as a whole (`$[2]['d'][?(@.random)]` keeps `d` itself: IssuesTest
        // `issue_131_3`); anything else gives nothing.
        Segment::Filter(f) => match v {
            Value::Array(a) => out.extend(a.iter().filter(|it| filter_matches(f, it, root))),
            Value::Object(_) if filter_matches(f, v, root) => out.push(v),
            _ => {}
        },
        Segment::Length => {}
    }
}

/// Every object and array from `v` down, `v` first, in document order (the nodes Jayway's
/// `ScanPathToken.walk` visits), without recursion: the input may nest arbitrarily deep.
pub(super) fn walk(v: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(o) => {
                out.push(v);
                stack.extend(o.values().rev());
            }
            Value::Array(a) => {
                out.push(v);
                stack.extend(a.iter().rev());
            }
            _ => {}
        }
    }
    out
}

/// The step after `..` on one visited node. Jayway applies a property step to objects only,
/// an index or slice to arrays only, a wildcard to both, and a filter to the node itself
/// (`ScanPathToken.createScanPredicate`).
pub(super) fn scan_step<'a>(
    target: &Segment,
    node: &'a Value,
    root: &'a Value,
    out: &mut Vec<&'a Value>,
) {
    match target {
        Segment::Field(_) | Segment::Fields(_) => {
            if node.is_object() {
                step(target, node, root, out)
            }
        }
        Segment::Index(_) | Segment::Indexes(_) | Segment::Slice(..) => {
            if node.is_array() {
                step(target, node, root, out)
            }
        }
        Segment::Wildcard => step(target, node, root, out),
        Segment::Filter(f) => {
            if filter_matches(f, node, root) {
                match node {
                    Value::Array(a) => {
                        out.extend(a.iter().filter(|it| filter_matches(f, it, root)))
                    }
                    _ => out.push(node),
                }
            }
        }
        Segment::DeepScan(_) | Segment::Length => {}
    }
}

/// A multi-property bracket as the last step of an indefinite path: one merged object per
/// object matched (MultiPropTest `multi_props_can_be_in_the_middle` is the non-leaf case,
/// which iterates instead). After `..`, only objects holding every property count
/// (DeepScanTest `when_deep_scanning_leaf_multi_props_work`). `None` for any other step.
pub(super) fn merge_leaf(seg: &Segment, current: &[&Value]) -> Option<Vec<Value>> {
    match seg {
        Segment::Fields(names) => Some(
            current
                .iter()
                .filter_map(|v| merge_fields(v, names))
                .collect(),
        ),
        Segment::DeepScan(target) => match target.as_ref() {
            Segment::Fields(names) => Some(
                current
                    .iter()
                    .flat_map(|v| walk(v))
                    .filter(|n| {
                        n.as_object()
                            .is_some_and(|o| names.iter().all(|k| o.contains_key(k)))
                    })
                    .filter_map(|n| merge_fields(n, names))
                    .collect(),
            ),
            _ => None,
        },
        _ => None,
    }
}
