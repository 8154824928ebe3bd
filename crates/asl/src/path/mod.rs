//! JSONPath as Step Functions evaluates it (Jayway semantics): parsing, the definite /
//! indefinite distinction, evaluation, and the `$['a']['b']` rendering AWS quotes in errors.

mod eval;
mod filter;
mod parse;

use std::fmt;

use serde_json::Value;

use eval::{index, is_single_node, merge_fields, merge_leaf, step};
pub use parse::{MAX_FILTER_NESTING, MAX_FILTER_TERMS};

/// Where a path starts.
#[derive(Debug, Clone, PartialEq)]
pub enum Root {
    /// `$`: the state's input (or whatever document the field applies to).
    Input,
    /// `$$`: the context object.
    Context,
    /// `$name`: a workflow variable.
    Variable(String),
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    /// `.name` or `['name']`.
    Field(String),
    /// `['a','b']`.
    Fields(Vec<String>),
    /// `[n]` (negative counts from the end).
    Index(i64),
    /// `[1,2]`.
    Indexes(Vec<i64>),
    /// `[*]` or `.*`.
    Wildcard,
    /// `[start:end]` or `[start:end:step]`, start or end given.
    ///
    /// Jayway reads no step: it splits the bracket on ':' and keeps the first two parts
    /// (`ArraySliceOperation.parse`), so on AWS `[1:5:2]` would be `[1:5]`. The executor still
    /// steps when a step is given (`tests/arithmetic.rs` `slices_with_huge_steps_end` relies
    /// on it); two-part slices follow Jayway exactly.
    Slice(Option<i64>, Option<i64>, Option<i64>),
    /// `..` followed by a step (`..name`, `..*`, `..[0]`, `..['a','b']`, `..[?(...)]`): the
    /// step applied to the node and to every object and array below it, in document order
    /// (Jayway's `ScanPathToken`).
    DeepScan(Box<Segment>),
    /// `[?(expr)]`.
    Filter(Box<Filter>),
    /// `.length()`.
    Length,
}

/// A filter expression inside `[?( )]`.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Or(Box<Filter>, Box<Filter>),
    And(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    Compare(Operand, CmpOp, Operand),
    Exists(Operand),
}

/// A value in a filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// `@.x` relative to the current item.
    Current(Vec<Segment>),
    /// `$.x` relative to the root.
    Root(Vec<Segment>),
    Literal(Value),
}

/// A comparison operator in a filter: the symbols, and Jayway's word operators
/// (`RelationalOperator`, matched case-insensitively).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// `===`: equal and of the same JSON type.
    TsEq,
    /// `!==`: not `===`.
    TsNe,
    /// `in`: the left value is one of the right array's.
    In,
    /// `nin`: not `in`.
    Nin,
    /// `size`: the left string's, array's or object's length is the right number.
    Size,
    /// `empty`: whether the left string, array or object is empty is the right boolean.
    Empty,
    /// `contains`: the left string contains the right string, or the left array the value.
    Contains,
    /// `subsetof`: every item of the left array is in the right one.
    SubsetOf,
    /// `anyof`: some item of the left array is in the right one.
    AnyOf,
    /// `noneof`: no item of the left array is in the right one.
    NoneOf,
}

/// A parsed path.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    pub root: Root,
    pub segments: Vec<Segment>,
    text: String,
}

/// Why a path does not parse.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid JSONPath '{text}': {reason}")]
pub struct PathSyntaxError {
    pub text: String,
    pub reason: String,
}

/// Why a path found nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct NoResults {
    /// The path as AWS renders it (`$['a']['b']`).
    pub rendered: String,
    /// Jayway's explanation: `No results for path: $['a']` when the last step is missing,
    /// `Missing property in path $['a']` when an intermediate one is.
    pub message: String,
}

impl Path {
    /// Parses a path that begins with `$`.
    pub fn parse(text: &str) -> Result<Path, PathSyntaxError> {
        let (root, segments) = parse::path(text).map_err(|reason| PathSyntaxError {
            text: text.to_string(),
            reason,
        })?;
        Ok(Path {
            root,
            segments,
            text: text.to_string(),
        })
    }

    /// The path as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether the path names at most one node (no wildcards, slices, filters, unions or
    /// deep scans).
    ///
    /// A multi-property bracket as the last step (`$.o['a','b']`) is definite too: Jayway merges
    /// the properties into one object there (`PropertyPathToken.isTokenDefinite`:
    /// "in case of leaf multiprops will be merged, so it's kinda definite").
    pub fn is_definite(&self) -> bool {
        match self.segments.split_last() {
            Some((Segment::Fields(_), rest)) => rest.iter().all(is_single_node),
            _ => self.segments.iter().all(is_single_node),
        }
    }

    /// Whether this is a reference path: one node, and none of the operators `@ , : ?`
    /// (SPEC "Reference Paths"), so no multi-property brackets.
    pub fn is_reference(&self) -> bool {
        self.segments.iter().all(is_single_node)
    }

    /// Evaluates against `doc`. A definite path gives its node or [`NoResults`]; an indefinite
    /// one gives an array of every match (possibly empty).
    pub fn eval(&self, doc: &Value) -> Result<Value, NoResults> {
        // Jayway merges a multi-property bracket in last place into one object of the
        // properties present (absent ones are skipped: MultiPropTest
        // `multi_prop_can_be_read_from_root`, "current semantics: absent props are skipped").
        if let Some((Segment::Fields(names), rest)) = self.segments.split_last() {
            let prefix = Path {
                root: self.root.clone(),
                segments: rest.to_vec(),
                text: String::new(),
            };
            if prefix.is_definite() {
                let parent = prefix.eval(doc).map_err(|e| {
                    // The prefix's last step is not the leaf of the whole path.
                    let message = match prefix.segments.last() {
                        Some(Segment::Field(_)) if e.message.starts_with("No results") => {
                            format!("Missing property in path {}", prefix.render())
                        }
                        _ => self.no_results().message,
                    };
                    NoResults {
                        rendered: self.render(),
                        message,
                    }
                })?;
                return match merge_fields(&parent, names) {
                    Some(m) => Ok(m),
                    None => Err(self.no_results()),
                };
            }
            let Value::Array(parents) = prefix.eval(doc)? else {
                return Ok(Value::Array(Vec::new()));
            };
            return Ok(Value::Array(
                parents
                    .iter()
                    .filter_map(|p| merge_fields(p, names))
                    .collect(),
            ));
        }
        if self.is_definite() {
            let mut cur = doc;
            let owned;
            for (i, seg) in self.segments.iter().enumerate() {
                let next = match seg {
                    Segment::Field(name) => cur.as_object().and_then(|o| o.get(name)),
                    Segment::Index(n) => cur.as_array().and_then(|a| index(a, *n)),
                    Segment::Length => {
                        let len = match cur {
                            Value::Array(a) => a.len(),
                            Value::Object(o) => o.len(),
                            Value::String(s) => s.chars().count(),
                            _ => return Err(self.no_results()),
                        };
                        if i + 1 != self.segments.len() {
                            return Err(self.no_results());
                        }
                        owned = Value::from(len);
                        return Ok(owned);
                    }
                    _ => unreachable!("definite paths hold only fields and indexes"),
                };
                cur = match next {
                    Some(n) => n,
                    None if i + 1 < self.segments.len() && matches!(seg, Segment::Field(_)) => {
                        let mut upto = self.root_text();
                        for s in &self.segments[..=i] {
                            upto.push_str(&render_segment(s));
                        }
                        return Err(NoResults {
                            rendered: self.render(),
                            message: format!("Missing property in path {upto}"),
                        });
                    }
                    None => return Err(self.no_results()),
                };
            }
            return Ok(cur.clone());
        }
        let mut current: Vec<&Value> = vec![doc];
        let last = self.segments.len().saturating_sub(1);
        for (i, seg) in self.segments.iter().enumerate() {
            if i == last
                && let Some(merged) = merge_leaf(seg, &current)
            {
                return Ok(Value::Array(merged));
            }
            let mut next = Vec::new();
            for v in current {
                step(seg, v, doc, &mut next);
            }
            current = next;
        }
        Ok(Value::Array(current.into_iter().cloned().collect()))
    }

    fn no_results(&self) -> NoResults {
        NoResults {
            rendered: self.render(),
            message: format!("No results for path: {}", self.render()),
        }
    }

    fn root_text(&self) -> String {
        match &self.root {
            Root::Input => "$".to_string(),
            Root::Context => "$$".to_string(),
            Root::Variable(v) => format!("${v}"),
        }
    }

    /// Jayway's rendering: `$['a']['b'][0]`.
    pub fn render(&self) -> String {
        let mut s = self.root_text();
        for seg in &self.segments {
            s.push_str(&render_segment(seg));
        }
        s
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn render_segment(seg: &Segment) -> String {
    match seg {
        Segment::Field(n) => format!("['{n}']"),
        Segment::Fields(ns) => format!(
            "[{}]",
            ns.iter()
                .map(|n| format!("'{n}'"))
                .collect::<Vec<_>>()
                .join(",")
        ),
        Segment::Index(i) => format!("[{i}]"),
        Segment::Indexes(is) => format!(
            "[{}]",
            is.iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(",")
        ),
        Segment::Wildcard => "[*]".into(),
        Segment::Slice(a, b, _) => format!(
            "[{}:{}]",
            a.map(|v| v.to_string()).unwrap_or_default(),
            b.map(|v| v.to_string()).unwrap_or_default()
        ),
        Segment::DeepScan(target) => format!("..{}", render_segment(target)),
        Segment::Filter(_) => "[?]".into(),
        Segment::Length => ".length()".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn definite_and_indefinite() {
        let doc = json!({"items": [{"v": 1}, {"v": 2}, {"v": 3}], "a": {"b": 5}});
        assert_eq!(Path::parse("$.a.b").unwrap().eval(&doc).unwrap(), json!(5));
        assert_eq!(
            Path::parse("$.items[1:].v").unwrap().eval(&doc).unwrap(),
            json!([2, 3])
        );
        assert_eq!(
            Path::parse("$.nothing[*]").unwrap().eval(&doc).unwrap(),
            json!([])
        );
        let e = Path::parse("$.a.c").unwrap().eval(&doc).unwrap_err();
        assert_eq!(e.rendered, "$['a']['c']");
        assert_eq!(
            Path::parse("$.items[?(@.v >= 2)].v")
                .unwrap()
                .eval(&doc)
                .unwrap(),
            json!([2, 3])
        );
        assert_eq!(
            Path::parse("$.items[-1].v").unwrap().eval(&doc).unwrap(),
            json!(3)
        );
    }

    #[test]
    fn multi_property_brackets() {
        // Jayway merges a last-place multi-property bracket into one object (MultiPropTest).
        let doc = json!({"o": {"a": 1, "b": 2, "c": 3}, "n": 5});
        let p = Path::parse("$.o['a','b']").unwrap();
        assert!(p.is_definite());
        assert!(!p.is_reference());
        assert_eq!(p.eval(&doc).unwrap(), json!({"a": 1, "b": 2}));
        assert_eq!(p.render(), "$['o']['a','b']");
        assert_eq!(
            Path::parse("$.o['b','x']").unwrap().eval(&doc).unwrap(),
            json!({"b": 2})
        );
        // Over a missing or non-object parent a definite path finds nothing.
        let e = Path::parse("$.x['a','b']").unwrap().eval(&doc).unwrap_err();
        assert_eq!(e.message, "Missing property in path $['x']");
        assert!(Path::parse("$.n['a','b']").unwrap().eval(&doc).is_err());
        // Whatever the values are.
        let p = Path::parse("$['o','n']").unwrap();
        assert_eq!(
            p.eval(&doc).unwrap(),
            json!({"o": {"a": 1, "b": 2, "c": 3}, "n": 5})
        );
        // After an indefinite step, one merged object per object matched.
        let p = Path::parse("$[*]['a','c']").unwrap();
        assert!(!p.is_definite());
        assert_eq!(p.eval(&doc).unwrap(), json!([{"a": 1, "c": 3}]));
    }

    #[test]
    fn filters_test_objects_whole_and_array_items() {
        let doc = json!({"d": {"random": null, "date": 1}, "a": [{"x": 1}, {"y": 2}]});
        assert_eq!(
            Path::parse("$.d[?(@.random)].date")
                .unwrap()
                .eval(&doc)
                .unwrap(),
            json!([1])
        );
        assert_eq!(
            Path::parse("$.a[?(@.x)]").unwrap().eval(&doc).unwrap(),
            json!([{"x": 1}])
        );
        assert_eq!(
            Path::parse("$..[?(@.y)]").unwrap().eval(&doc).unwrap(),
            json!([{"y": 2}])
        );
    }

    #[test]
    fn filter_comparisons_follow_jayways_evaluators() {
        // EvaluatorFactory / ValueNodes (Jayway source): `==` reads a string as a number
        // against a number, `===` does not; a missing path is UNDEFINED, so `!=` holds; an
        // indefinite path is its list even with one match.
        let doc = json!([{"v": 5, "a": [1]}, {"v": "x"}]);
        let run = |p: &str| Path::parse(p).unwrap().eval(&doc).unwrap();
        assert_eq!(run("$[?(@.v == '5')].v"), json!([5]));
        assert_eq!(run("$[?(@.v === '5')].v"), json!([]));
        assert_eq!(run("$[?(@.v === 5)].v"), json!([5]));
        assert_eq!(run("$[?(@.v !== 5)].v"), json!(["x"]));
        assert_eq!(run("$[?(@.a != 1)].v"), json!([5, "x"]));
        assert_eq!(run("$[?(@.a[*] == 1)].v"), json!([]));
        assert_eq!(run("$[?(@.a[*] == [1])].v"), json!([5]));
        assert_eq!(run("$[?(@.v in [5, 6])].v"), json!([5]));
        assert_eq!(run("$[?(@.a nin [5])].v"), json!([5, "x"]));
        assert_eq!(run("$[?(@.a size 1)].v"), json!([5]));
        assert_eq!(run("$[?(@.a empty false)].v"), json!([5]));
        assert_eq!(run("$[?(@.a contains 1)].v"), json!([5]));
        assert_eq!(run("$[?(@.a subsetof [1, 2])].v"), json!([5]));
        assert_eq!(run("$[?(@.a noneof [2])].v"), json!([5]));
    }

    #[test]
    fn roots() {
        assert_eq!(Path::parse("$$.Execution.Id").unwrap().root, Root::Context);
        assert_eq!(
            Path::parse("$counter.x").unwrap().root,
            Root::Variable("counter".into())
        );
        assert!(Path::parse("a.b").is_err());
        assert!(Path::parse("$.a[").is_err());
    }
}
