//! Filter expressions (`[?(...)]`) evaluated as Jayway's `RelationalExpressionNode` and
//! `EvaluatorFactory` do.

use serde_json::Value;

use super::{CmpOp, Filter, Operand, Path, Root};

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

pub(super) fn filter_matches(f: &Filter, cur: &Value, root: &Value) -> bool {
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
