//! JSONPath as Step Functions evaluates it (Jayway semantics): parsing, the definite /
//! indefinite distinction, evaluation, and the `$['a']['b']` rendering AWS quotes in errors.

use std::fmt;

use serde_json::Value;

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

impl CmpOp {
    fn word(w: &str) -> Option<CmpOp> {
        Some(match w.to_ascii_uppercase().as_str() {
            "IN" => CmpOp::In,
            "NIN" => CmpOp::Nin,
            "SIZE" => CmpOp::Size,
            "EMPTY" => CmpOp::Empty,
            "CONTAINS" => CmpOp::Contains,
            "SUBSETOF" => CmpOp::SubsetOf,
            "ANYOF" => CmpOp::AnyOf,
            "NONEOF" => CmpOp::NoneOf,
            _ => return None,
        })
    }
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
        let err = |reason: &str| PathSyntaxError {
            text: text.to_string(),
            reason: reason.to_string(),
        };
        // Jayway trims the path before compiling it (`PathCompiler.compile`: `ci.trim()`).
        let trimmed = text.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'));
        let mut p = Parser {
            s: trimmed.as_bytes(),
            i: 0,
            terms: 0,
            nest: 0,
        };
        if !p.eat(b'$') {
            return Err(err("a path must start with '$'"));
        }
        let root = if p.eat(b'$') {
            Root::Context
        } else if p.peek().is_some_and(is_name_start) {
            let start = p.i;
            while p.peek().is_some_and(is_name_char) {
                p.i += 1;
            }
            Root::Variable(trimmed[start..p.i].to_string())
        } else {
            Root::Input
        };
        let segments = p.segments().map_err(|r| err(&r))?;
        if p.i != p.s.len() {
            return Err(err(&format!("unexpected character at offset {}", p.i)));
        }
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

/// The indexes a slice visits, as Jayway's `ArraySliceToken` computes them. `[from:]` and
/// `[:to]` count a negative bound from the end; `[from:to]` does not, and visits
/// `from..min(to, len)` index by index, a negative index counting from the end: `[-2:5]` of
/// seven items is items 5, 6, 0, 1, 2, 3, 4. The range is clamped to the indexes that can
/// hit, so a huge bound costs nothing.
fn slice(a: &[Value], start: Option<i64>, end: Option<i64>) -> std::ops::Range<i64> {
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

fn is_single_node(s: &Segment) -> bool {
    matches!(s, Segment::Field(_) | Segment::Index(_) | Segment::Length)
}

/// The object of those `names` that `v` has, in the bracket's order; `None` when `v` is not
/// an object (Jayway's `handleObjectProperty`, multi-property case).
fn merge_fields(v: &Value, names: &[String]) -> Option<Value> {
    let o = v.as_object()?;
    Some(Value::Object(
        names
            .iter()
            .filter_map(|n| o.get(n).map(|x| (n.clone(), x.clone())))
            .collect(),
    ))
}

fn index(a: &[Value], n: i64) -> Option<&Value> {
    let i = if n < 0 { a.len() as i64 + n } else { n };
    if i < 0 { None } else { a.get(i as usize) }
}

fn step<'a>(seg: &Segment, v: &'a Value, root: &'a Value, out: &mut Vec<&'a Value>) {
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
fn walk(v: &Value) -> Vec<&Value> {
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
fn scan_step<'a>(target: &Segment, node: &'a Value, root: &'a Value, out: &mut Vec<&'a Value>) {
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
fn merge_leaf(seg: &Segment, current: &[&Value]) -> Option<Vec<Value>> {
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

fn operand_value(op: &Operand, cur: &Value, root: &Value) -> Option<Value> {
    let (segs, base) = match op {
        Operand::Literal(v) => return Some(v.clone()),
        Operand::Current(s) => (s, cur),
        Operand::Root(s) => (s, root),
    };
    let p = Path {
        root: Root::Input,
        segments: segs.clone(),
        text: String::new(),
    };
    // An indefinite path gives its list of matches, even a list of one (Jayway's
    // `PathNode.evaluate`: `getValue()` of an indefinite path is the list).
    p.eval(base).ok()
}

/// Jayway's `==` (`EqualsEvaluator`): a number and a string compare as numbers when the
/// string reads as one (`NumberNode.equals`) or as text (`StringNode.equals`); JSON values
/// compare as JSON; numbers by value.
fn loose_eq(l: &Value, r: &Value) -> bool {
    match (l, r) {
        (Value::Number(n), Value::String(s)) => s
            .parse::<f64>()
            .ok()
            .zip(n.as_f64())
            .is_some_and(|(a, b)| a == b),
        (Value::String(s), Value::Number(n)) => *s == n.to_string(),
        _ => crate::intrinsic::json_eq(l, r),
    }
}

/// `===` (`TypeSafeEqualsEvaluator`): the same kind of value, then `==`.
fn strict_eq(l: &Value, r: &Value) -> bool {
    std::mem::discriminant(l) == std::mem::discriminant(r) && loose_eq(l, r)
}

fn filter_matches(f: &Filter, cur: &Value, root: &Value) -> bool {
    match f {
        Filter::Or(a, b) => filter_matches(a, cur, root) || filter_matches(b, cur, root),
        Filter::And(a, b) => filter_matches(a, cur, root) && filter_matches(b, cur, root),
        Filter::Not(a) => !filter_matches(a, cur, root),
        Filter::Exists(o) => operand_value(o, cur, root).is_some(),
        Filter::Compare(l, op, r) => {
            match (operand_value(l, cur, root), operand_value(r, cur, root)) {
                (Some(l), Some(r)) => compare(&l, *op, &r),
                // A path that finds nothing is Jayway's UNDEFINED, equal to nothing: so `!=`,
                // `!==` and `nin` hold and every other operator fails.
                _ => matches!(op, CmpOp::Ne | CmpOp::TsNe | CmpOp::Nin),
            }
        }
    }
}

/// Jayway's `EvaluatorFactory` evaluators.
fn compare(l: &Value, op: CmpOp, r: &Value) -> bool {
    use std::cmp::Ordering;
    let within = |x: &Value, list: &Value| {
        list.as_array()
            .is_some_and(|a| a.iter().any(|y| crate::intrinsic::json_eq(x, y)))
    };
    match op {
        CmpOp::Eq => return loose_eq(l, r),
        CmpOp::Ne => return !loose_eq(l, r),
        CmpOp::TsEq => return strict_eq(l, r),
        CmpOp::TsNe => return !strict_eq(l, r),
        CmpOp::In => return within(l, r),
        CmpOp::Nin => return !within(l, r),
        CmpOp::Size => {
            let Some(n) = r.as_u64() else { return false };
            return match l {
                Value::String(s) => s.encode_utf16().count() as u64 == n,
                Value::Array(a) => a.len() as u64 == n,
                Value::Object(o) => o.len() as u64 == n,
                _ => false,
            };
        }
        CmpOp::Empty => {
            let Some(b) = r.as_bool() else { return false };
            return match l {
                Value::String(s) => s.is_empty() == b,
                Value::Array(a) => a.is_empty() == b,
                Value::Object(o) => o.is_empty() == b,
                _ => false,
            };
        }
        CmpOp::Contains => {
            return match (l, r) {
                (Value::String(a), Value::String(b)) => a.contains(b.as_str()),
                (Value::Array(_), _) => within(r, l),
                _ => false,
            };
        }
        CmpOp::SubsetOf | CmpOp::AnyOf | CmpOp::NoneOf => {
            let (Some(a), true) = (l.as_array(), r.is_array()) else {
                return false;
            };
            return match op {
                CmpOp::SubsetOf => a.iter().all(|x| within(x, r)),
                CmpOp::AnyOf => a.iter().any(|x| within(x, r)),
                _ => !a.iter().any(|x| within(x, r)),
            };
        }
        _ => {}
    }
    let ord = match (l, r) {
        (Value::Number(a), Value::Number(b)) => a.as_f64().partial_cmp(&b.as_f64()),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        // `<` and friends compare numbers with numbers and strings with strings only.
        _ => None,
    };
    let Some(ord) = ord else { return false };
    match op {
        CmpOp::Lt => ord == Ordering::Less,
        CmpOp::Le => ord != Ordering::Greater,
        CmpOp::Gt => ord == Ordering::Greater,
        CmpOp::Ge => ord != Ordering::Less,
        _ => false,
    }
}

fn is_name_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

fn is_name_char(c: u8) -> bool {
    is_name_start(c) || c.is_ascii_digit()
}

/// How many filter terms (comparisons, `!`, parentheses, nested filters) one path may hold:
/// bounds the parser's recursion and the depth of the filter tree evaluated and dropped
/// recursively.
pub const MAX_FILTER_TERMS: usize = 256;

/// How deeply filters may nest (parentheses, `!`, a filter inside a filter's path).
pub const MAX_FILTER_NESTING: usize = 32;

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    /// Filter terms parsed so far, nested paths included.
    terms: usize,
    /// Current filter nesting.
    nest: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn ws(&mut self) {
        while self.peek() == Some(b' ') {
            self.i += 1;
        }
    }

    fn segments(&mut self) -> Result<Vec<Segment>, String> {
        let mut out = Vec::new();
        while let Some(c) = self.peek() {
            match c {
                b'.' => {
                    self.i += 1;
                    if self.eat(b'.') {
                        let target = if self.eat(b'*') {
                            Segment::Wildcard
                        } else if self.eat(b'[') {
                            self.ws();
                            self.bracket()?
                        } else {
                            Segment::Field(self.dot_name()?)
                        };
                        out.push(Segment::DeepScan(Box::new(target)));
                    } else if self.eat(b'*') {
                        out.push(Segment::Wildcard);
                    } else if self.peek() == Some(b'[') {
                        // `$.[?(...)]`: Jayway accepts a dot before a bracket.
                        continue;
                    } else {
                        let name = self.dot_name()?;
                        if self.peek() == Some(b'(') {
                            // A name before '(' is a function (Jayway's
                            // `readPropertyOrFunctionToken`); only length() is implemented.
                            if name == "length" && self.s[self.i..].starts_with(b"()") {
                                self.i += 2;
                                out.push(Segment::Length);
                            } else {
                                return Err(format!("the path function {name}() is not supported"));
                            }
                        } else {
                            out.push(Segment::Field(name));
                        }
                    }
                }
                b'[' => {
                    self.i += 1;
                    self.ws();
                    out.push(self.bracket()?);
                }
                // Jayway reads a name straight after a step as a property
                // (`$..[*]foo`: DeepScanTest `when_deep_scanning_illegal_predicate_is_ignored`).
                b' ' => return Err("unexpected ' '".into()),
                _ if !out.is_empty() => out.push(Segment::Field(self.dot_name()?)),
                _ => return Err(format!("unexpected '{}'", c as char)),
            }
        }
        Ok(out)
    }

    fn dot_name(&mut self) -> Result<String, String> {
        let mut name = Vec::new();
        while let Some(c) = self.peek() {
            if c == b'\\' && self.i + 1 < self.s.len() {
                name.push(self.s[self.i + 1]);
                self.i += 2;
                continue;
            }
            if c == b'.' || c == b'[' || c == b' ' || c == b'(' {
                break;
            }
            name.push(c);
            self.i += 1;
        }
        if name.is_empty() {
            return Err("empty field name".into());
        }
        String::from_utf8(name).map_err(|_| "invalid UTF-8 in field name".into())
    }

    /// A quoted name in brackets or a quoted string in a filter.
    ///
    /// In a bracket name only the quote itself is escaped, and other backslashes are kept:
    /// AWS found the key `Test\""Name"` with the path `$['Test\""Name"']`
    /// (scenarios/base_scenarios.escape_sequence_parsing__ESCAPE_SEQUENCES_JSONPATH, recorded
    /// on AWS), where current Jayway would unescape `\"` to `"`. A filter's string literal is
    /// unescaped the way Jayway does (`Utils.unescape`: `\\` is `\`, InlineFilterTest
    /// `escaped_literals2`); no AWS recording covers it.
    fn quoted(&mut self, unescape: bool) -> Result<String, String> {
        let q = self.peek().ok_or("unterminated brackets")?;
        self.i += 1;
        let mut out = Vec::new();
        loop {
            let c = self.peek().ok_or("unterminated quoted name")?;
            self.i += 1;
            if c == b'\\' && !unescape {
                if self.peek() == Some(q) {
                    self.i += 1;
                    out.push(q);
                } else {
                    out.push(c);
                }
            } else if c == b'\\' {
                let n = self.peek().ok_or("unterminated quoted name")?;
                self.i += 1;
                match n {
                    b'r' => out.push(b'\r'),
                    b'f' => out.push(0x0c),
                    b't' => out.push(b'\t'),
                    b'n' => out.push(b'\n'),
                    b'b' => out.push(0x08),
                    b'u' => {
                        let hex = self
                            .s
                            .get(self.i..self.i + 4)
                            .and_then(|h| std::str::from_utf8(h).ok())
                            .and_then(|h| u32::from_str_radix(h, 16).ok())
                            .ok_or("invalid \\u escape")?;
                        self.i += 4;
                        let ch = char::from_u32(hex).unwrap_or(char::REPLACEMENT_CHARACTER);
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                    }
                    other => out.push(other),
                }
            } else if c == q {
                break;
            } else {
                out.push(c);
            }
        }
        String::from_utf8(out).map_err(|_| "invalid UTF-8 in field name".into())
    }

    fn bracket_names(&mut self) -> Result<Vec<String>, String> {
        let mut names = Vec::new();
        loop {
            self.ws();
            names.push(self.quoted(false)?);
            self.ws();
            if self.eat(b',') {
                continue;
            }
            if self.eat(b']') {
                return Ok(names);
            }
            return Err("expected ']'".into());
        }
    }

    fn int(&mut self) -> Result<Option<i64>, String> {
        self.ws();
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        if self.i == start {
            return Ok(None);
        }
        let t = std::str::from_utf8(&self.s[start..self.i]).map_err(|e| e.to_string())?;
        t.parse()
            .map(Some)
            .map_err(|_| format!("invalid index '{t}'"))
    }

    fn bracket(&mut self) -> Result<Segment, String> {
        match self.peek() {
            Some(b'\'') | Some(b'"') => {
                let names = self.bracket_names()?;
                Ok(if names.len() == 1 {
                    Segment::Field(names.into_iter().next().unwrap_or_default())
                } else {
                    Segment::Fields(names)
                })
            }
            Some(b'*') => {
                self.i += 1;
                self.ws();
                if !self.eat(b']') {
                    return Err("expected ']' after '*'".into());
                }
                Ok(Segment::Wildcard)
            }
            Some(b'?') => {
                self.i += 1;
                self.ws();
                if !self.eat(b'(') {
                    return Err("expected '(' after '?'".into());
                }
                let f = self.filter_or()?;
                self.ws();
                if !self.eat(b')') {
                    return Err("expected ')' closing the filter".into());
                }
                self.ws();
                if !self.eat(b']') {
                    return Err("expected ']' closing the filter".into());
                }
                Ok(Segment::Filter(Box::new(f)))
            }
            _ => {
                let first = self.int()?;
                self.ws();
                if self.eat(b':') {
                    let end = self.int()?;
                    self.ws();
                    let stepv = if self.eat(b':') { self.int()? } else { None };
                    self.ws();
                    if !self.eat(b']') {
                        return Err("expected ']' closing the slice".into());
                    }
                    if first.is_none() && end.is_none() {
                        return Err("a slice needs a start or an end".into());
                    }
                    return Ok(Segment::Slice(first, end, stepv));
                }
                let first = first.ok_or("expected an index, a quoted name, '*' or a filter")?;
                let mut all = vec![first];
                while self.eat(b',') {
                    all.push(self.int()?.ok_or("expected an index after ','")?);
                    self.ws();
                }
                if !self.eat(b']') {
                    return Err("expected ']'".into());
                }
                Ok(if all.len() == 1 {
                    Segment::Index(first)
                } else {
                    Segment::Indexes(all)
                })
            }
        }
    }

    fn filter_or(&mut self) -> Result<Filter, String> {
        let mut l = self.filter_and()?;
        loop {
            self.ws();
            if self.s[self.i..].starts_with(b"||") {
                self.i += 2;
                let r = self.filter_and()?;
                l = Filter::Or(Box::new(l), Box::new(r));
            } else {
                return Ok(l);
            }
        }
    }

    fn filter_and(&mut self) -> Result<Filter, String> {
        let mut l = self.filter_unary()?;
        loop {
            self.ws();
            if self.s[self.i..].starts_with(b"&&") {
                self.i += 2;
                let r = self.filter_unary()?;
                l = Filter::And(Box::new(l), Box::new(r));
            } else {
                return Ok(l);
            }
        }
    }

    fn filter_unary(&mut self) -> Result<Filter, String> {
        self.terms += 1;
        if self.terms > MAX_FILTER_TERMS {
            return Err(format!(
                "filters are nested or chained too deeply (more than {MAX_FILTER_TERMS} terms)"
            ));
        }
        self.ws();
        if self.peek().is_some_and(|c| c == b'!' || c == b'(') {
            self.nest += 1;
            if self.nest > MAX_FILTER_NESTING {
                return Err(format!(
                    "filters are nested too deeply (more than {MAX_FILTER_NESTING} levels)"
                ));
            }
            let f = self.nested_unary();
            self.nest -= 1;
            return f;
        }
        self.comparison()
    }

    fn nested_unary(&mut self) -> Result<Filter, String> {
        if self.eat(b'!') {
            return Ok(Filter::Not(Box::new(self.filter_unary()?)));
        }
        if self.eat(b'(') {
            let f = self.filter_or()?;
            self.ws();
            if !self.eat(b')') {
                return Err("expected ')'".into());
            }
            return Ok(f);
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Filter, String> {
        let l = self.operand()?;
        self.ws();
        let ops: [(&[u8], CmpOp); 8] = [
            (b"===", CmpOp::TsEq),
            (b"!==", CmpOp::TsNe),
            (b"==", CmpOp::Eq),
            (b"!=", CmpOp::Ne),
            (b"<=", CmpOp::Le),
            (b">=", CmpOp::Ge),
            (b"<", CmpOp::Lt),
            (b">", CmpOp::Gt),
        ];
        for (t, op) in ops {
            if self.s[self.i..].starts_with(t) {
                self.i += t.len();
                let r = self.operand()?;
                return Ok(Filter::Compare(l, op, r));
            }
        }
        // A word operator runs to the next blank (Jayway's `readRelationalOperator`).
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            self.i += 1;
        }
        if self.i > start && self.peek() == Some(b' ') {
            let w = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("");
            if let Some(op) = CmpOp::word(w) {
                let r = self.operand()?;
                return Ok(Filter::Compare(l, op, r));
            }
        }
        self.i = start;
        // Without an operator the value must be a path: Jayway's `readExpression` turns it
        // into an existence check, and a literal there is an error (FilterCompilerTest
        // `invalid_filters_does_not_compile`: `[?(!5)]`, `[?(!'foo')]`).
        if matches!(l, Operand::Literal(_)) {
            return Err("a filter term without a comparison must be a path".into());
        }
        Ok(Filter::Exists(l))
    }

    /// A JSON array or object in a filter (`@.a in [1,2]`): Jayway's `readJsonLiteral`, whose
    /// parser also takes single-quoted strings.
    fn json_literal(&mut self) -> Result<Operand, String> {
        let start = self.i;
        let mut depth = 0usize;
        let mut quote: Option<u8> = None;
        while let Some(c) = self.peek() {
            self.i += 1;
            match (quote, c) {
                (Some(_), b'\\') => self.i += 1,
                (Some(q), _) if c == q => quote = None,
                (Some(_), _) => {}
                (None, b'\'' | b'"') => quote = Some(c),
                (None, b'[' | b'{') => depth += 1,
                (None, b']' | b'}') => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
        }
        if depth != 0 {
            return Err("unterminated JSON value in a filter".into());
        }
        let t = std::str::from_utf8(&self.s[start..self.i.min(self.s.len())])
            .map_err(|e| e.to_string())?;
        serde_json::from_str(t)
            .or_else(|_| serde_json::from_str(&t.replace('\'', "\"")))
            .map(Operand::Literal)
            .map_err(|_| format!("invalid JSON value '{t}' in a filter"))
    }

    fn operand(&mut self) -> Result<Operand, String> {
        self.ws();
        match self.peek() {
            Some(b'@') | Some(b'$') => {
                let rel = self.peek() == Some(b'@');
                self.i += 1;
                let start = self.i;
                // Segments end at whitespace, an operator or the closing parenthesis, outside
                // brackets, parentheses and quotes (FilterCompilerTest
                // `string_can_contain_path_chars`: `@[')]@$)]']`).
                let (mut depth, mut parens) = (0i32, 0i32);
                let mut quote: Option<u8> = None;
                while let Some(c) = self.peek() {
                    match (quote, c) {
                        (Some(_), b'\\') => self.i += 1,
                        (Some(q), _) if c == q => quote = None,
                        (Some(_), _) => {}
                        (None, b'\'' | b'"') => quote = Some(c),
                        (None, b'[') => depth += 1,
                        (None, b']') => depth -= 1,
                        (None, b'(') => parens += 1,
                        (None, b')') if parens > 0 => parens -= 1,
                        (None, b' ' | b'=' | b'!' | b'<' | b'>' | b')' | b'&' | b'|')
                            if depth == 0 && parens == 0 =>
                        {
                            break;
                        }
                        _ => {}
                    }
                    self.i += 1;
                }
                let end = self.i.min(self.s.len());
                self.i = end;
                let mut sub = Parser {
                    s: &self.s[start..self.i],
                    i: 0,
                    terms: self.terms,
                    nest: self.nest + 1,
                };
                if sub.nest > MAX_FILTER_NESTING {
                    return Err(format!(
                        "filters are nested too deeply (more than {MAX_FILTER_NESTING} levels)"
                    ));
                }
                let segs = sub.segments()?;
                self.terms = sub.terms;
                Ok(if rel {
                    Operand::Current(segs)
                } else {
                    Operand::Root(segs)
                })
            }
            Some(b'\'') | Some(b'"') => Ok(Operand::Literal(Value::String(self.quoted(true)?))),
            Some(b'[') | Some(b'{') => self.json_literal(),
            _ => {
                let start = self.i;
                while self.peek().is_some_and(|c| {
                    c.is_ascii_alphanumeric() || c == b'.' || c == b'-' || c == b'+'
                }) {
                    self.i += 1;
                }
                let t = std::str::from_utf8(&self.s[start..self.i]).map_err(|e| e.to_string())?;
                serde_json::from_str(t)
                    .map(Operand::Literal)
                    .map_err(|_| format!("invalid filter value '{t}'"))
            }
        }
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
