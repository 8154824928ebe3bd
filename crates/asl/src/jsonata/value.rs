//! Values across the seam: `serde_json::Value` into the engine's `JValue` and back.
//!
//! In: every JSON number becomes an `f64`, as in JavaScript (AWS runs jsonata-js 2.0.6:
//! <https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html>, "Supported
//! JSONata version"). Only the parts of `$states` an expression reads are converted
//! ([`Need`]), so `$states.input.a.b` does not copy the rest of a large input.
//!
//! Out: a whole number comes back as a JSON integer (`42`, not `42.0`; `-0` as `0`: AWS
//! answers `0` for `$parse("-0")`, recorded in
//! `intrinsic_functions/json_manipulation_jsonata.parse__exec_hist_resp_0`), other numbers
//! as the nearest `f64`. What `JSON.stringify` leaves out of a result is left out here: an
//! undefined object member is dropped, an undefined array item becomes `null`. A function or
//! regex anywhere in a result is refused ([`Unsupported`]).

use indexmap::IndexMap;
use jsonata_core::value::{JArray, JMap, JValue};
use serde_json::{Map, Number, Value};

/// How deep a result may nest before it is refused (the walk back to `Value` recurses).
pub(super) const MAX_RESULT_DEPTH: usize = 1000;

/// Which parts of a value an expression reads.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Need {
    /// The whole value.
    All,
    /// Only these members of an object (of each object, for an array of objects); anything
    /// that is not an object is taken whole.
    Fields(Vec<(String, Need)>),
}

impl Need {
    /// Adds the path `steps` (member names from this value down) to what is needed.
    pub(super) fn add(&mut self, steps: &[String]) {
        let Some((first, rest)) = steps.split_first() else {
            *self = Need::All;
            return;
        };
        match self {
            Need::All => {}
            Need::Fields(fields) => match fields.iter_mut().find(|(k, _)| k == first) {
                Some((_, need)) => need.add(rest),
                None => {
                    let mut need = Need::Fields(Vec::new());
                    need.add(rest);
                    fields.push((first.clone(), need));
                }
            },
        }
    }
}

/// Converts a whole JSON value.
pub(super) fn to_jvalue(v: &Value) -> JValue {
    match v {
        Value::Null => JValue::Null,
        Value::Bool(b) => JValue::Bool(*b),
        Value::Number(n) => JValue::Number(n.as_f64().unwrap_or(0.0)),
        Value::String(s) => JValue::string(s.as_str()),
        Value::Array(items) => {
            let mut flat = true;
            let items = items
                .iter()
                .map(|x| {
                    flat &= !x.is_array();
                    to_jvalue(x)
                })
                .collect();
            JValue::Array(JArray::new_flat(items, flat))
        }
        Value::Object(m) => {
            let mut out = IndexMap::with_capacity(m.len());
            for (k, x) in m {
                out.insert(k.clone(), to_jvalue(x));
            }
            JValue::object(out)
        }
    }
}

/// Converts the parts of `v` that `need` names.
pub(super) fn to_jvalue_needed(v: &Value, need: &Need) -> JValue {
    match (need, v) {
        (Need::All, _) => to_jvalue(v),
        (Need::Fields(fields), Value::Object(m)) => {
            let mut out = IndexMap::with_capacity(fields.len());
            // Keep the input's member order: it is the order `$keys` and `*` would see.
            for (k, x) in m {
                if let Some((_, n)) = fields.iter().find(|(f, _)| f == k) {
                    out.insert(k.clone(), to_jvalue_needed(x, n));
                }
            }
            JValue::object(out)
        }
        (Need::Fields(_), Value::Array(items)) => {
            let mut flat = true;
            let items = items
                .iter()
                .map(|x| {
                    flat &= !x.is_array();
                    to_jvalue_needed(x, need)
                })
                .collect();
            JValue::Array(JArray::new_flat(items, flat))
        }
        (Need::Fields(_), other) => to_jvalue(other),
    }
}

/// A value JSON cannot hold, found in a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unsupported {
    /// A function (lambda, built-in) or a regex.
    Function,
    /// Nested deeper than [`MAX_RESULT_DEPTH`].
    TooDeep,
    /// Larger than [`super::MAX_RESULT_BYTES`].
    TooLarge,
}

/// Converts a defined result back to JSON (the caller handles a top-level undefined).
pub(super) fn from_jvalue(v: &JValue) -> Result<Value, Unsupported> {
    let mut budget = Budget(super::MAX_RESULT_BYTES);
    from_at(v, 0, &mut budget)
}

/// The bytes a result may still take.
struct Budget(usize);

impl Budget {
    #[inline]
    fn take(&mut self, n: usize) -> Result<(), Unsupported> {
        self.0 = self.0.checked_sub(n).ok_or(Unsupported::TooLarge)?;
        Ok(())
    }
}

fn from_at(v: &JValue, depth: usize, budget: &mut Budget) -> Result<Value, Unsupported> {
    Ok(match v {
        JValue::Null | JValue::Undefined => Value::Null,
        JValue::Bool(b) => Value::Bool(*b),
        JValue::Number(n) => number(*n),
        JValue::String(s) => {
            budget.take(s.len())?;
            Value::String(s.to_string())
        }
        JValue::Array(items) => from_array(items, depth + 1, budget)?,
        JValue::Object(m) => from_object(m, depth + 1, budget)?,
        JValue::Lambda(_) | JValue::Builtin { .. } | JValue::Regex { .. } => {
            return Err(Unsupported::Function);
        }
    })
}

#[inline(never)]
fn from_array(items: &[JValue], depth: usize, budget: &mut Budget) -> Result<Value, Unsupported> {
    if depth > MAX_RESULT_DEPTH {
        return Err(Unsupported::TooDeep);
    }
    budget.take(8 * items.len())?;
    let mut out = Vec::with_capacity(items.len());
    for x in items {
        out.push(match x {
            JValue::Number(n) => number(*n),
            other => from_at(other, depth, budget)?,
        });
    }
    Ok(Value::Array(out))
}

#[inline(never)]
fn from_object(m: &JMap, depth: usize, budget: &mut Budget) -> Result<Value, Unsupported> {
    if depth > MAX_RESULT_DEPTH {
        return Err(Unsupported::TooDeep);
    }
    let mut out = Map::with_capacity(m.len());
    for (k, x) in m.iter() {
        if !x.is_undefined() {
            budget.take(8 + k.len())?;
            out.insert(k.clone(), from_at(x, depth, budget)?);
        }
    }
    Ok(Value::Object(out))
}

/// A JavaScript number as JSON: whole numbers in the 64-bit range as integers, the rest as
/// `f64`. JSON has no non-finite numbers: AWS answers `["Infinity"]` for `[1/0]` and
/// `{"k":"Infinity"}` for `{'k': 1/0}` (measured with TestState, quoted in
/// floci-io/floci#2783), so they become the strings JavaScript prints for them.
#[inline]
pub fn number(n: f64) -> Value {
    // `as` saturates: i64::MAX stands for 2^63 and above, handled below.
    let i = n as i64;
    if i as f64 == n && i != i64::MAX {
        return Value::Number(Number::from(i));
    }
    number_slow(n)
}

#[cold]
fn number_slow(n: f64) -> Value {
    if n.is_nan() {
        return Value::String("NaN".into());
    }
    if n.is_infinite() {
        return Value::String(if n > 0.0 { "Infinity" } else { "-Infinity" }.into());
    }
    let u = n as u64;
    if n >= 0.0 && u as f64 == n && u != u64::MAX {
        return Value::Number(Number::from(u));
    }
    Number::from_f64(n).map_or(Value::Null, Value::Number)
}

/// Whether converting `v` as far as `need` goes would give `j`: compares without
/// allocating, so a conversion made earlier can be reused ([`super::cache`]).
pub(super) fn same_needed(v: &Value, j: &JValue, need: &Need) -> bool {
    match (need, v) {
        (Need::All, _) | (Need::Fields(_), Value::Null | Value::Bool(_)) => same(v, j),
        (Need::Fields(_), Value::Number(_) | Value::String(_)) => same(v, j),
        (Need::Fields(fields), Value::Object(m)) => {
            let JValue::Object(jm) = j else { return false };
            let mut theirs = jm.iter();
            for (k, x) in m {
                let Some((_, n)) = fields.iter().find(|(f, _)| f == k) else {
                    continue;
                };
                match theirs.next() {
                    Some((jk, jx)) if jk == k && same_needed(x, jx, n) => {}
                    _ => return false,
                }
            }
            theirs.next().is_none()
        }
        (Need::Fields(_), Value::Array(items)) => {
            let JValue::Array(ja) = j else { return false };
            ja.len() == items.len()
                && items
                    .iter()
                    .zip(ja.iter())
                    .all(|(x, jx)| same_needed(x, jx, need))
        }
    }
}

/// Whether `to_jvalue(v)` would give `j`.
fn same(v: &Value, j: &JValue) -> bool {
    match (v, j) {
        (Value::Null, JValue::Null) => true,
        (Value::Bool(a), JValue::Bool(b)) => a == b,
        (Value::Number(a), JValue::Number(b)) => a.as_f64().unwrap_or(0.0).to_bits() == b.to_bits(),
        (Value::String(a), JValue::String(b)) => a.as_str() == &**b,
        (Value::Array(a), JValue::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b.iter()).all(|(x, y)| same(x, y))
        }
        (Value::Object(a), JValue::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .zip(b.iter())
                    .all(|((ka, x), (kb, y))| ka == kb && same(x, y))
        }
        _ => false,
    }
}

/// JavaScript's `typeof`-like name of a JSON value, as AWS names it in "Expected 'array',
/// but was 'number'" (recorded in `evaluate_jsonata/*ITEMS*`).
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn whole_numbers_come_back_as_integers() {
        assert_eq!(number(42.0), json!(42));
        assert_eq!(number(-0.0), json!(0));
        assert_eq!(number(0.1), json!(0.1));
        assert_eq!(number(1e300), json!(1e300));
        assert_eq!(number(-9.007199254740993e15), json!(-9007199254740992i64));
        assert_eq!(number(1.8e19), json!(18000000000000000000u64));
        assert_eq!(number(f64::INFINITY), json!("Infinity"));
        assert_eq!(number(f64::NEG_INFINITY), json!("-Infinity"));
    }

    #[test]
    fn round_trip_keeps_structure() {
        let v = json!({"a": [1, 2.5, "x", null, true, {"b": []}], "c": {}});
        assert_eq!(from_jvalue(&to_jvalue(&v)).unwrap(), v);
    }

    #[test]
    fn needed_parts_only() {
        let v = json!({"a": {"b": 1, "c": 2}, "d": [{"b": 3, "e": 4}, 5], "f": 6});
        let mut need = Need::Fields(Vec::new());
        need.add(&["a".into(), "b".into()]);
        need.add(&["d".into(), "b".into()]);
        assert_eq!(
            from_jvalue(&to_jvalue_needed(&v, &need)).unwrap(),
            json!({"a": {"b": 1}, "d": [{"b": 3}, 5]})
        );
        need.add(&["a".into()]);
        assert_eq!(
            from_jvalue(&to_jvalue_needed(&v, &need)).unwrap(),
            json!({"a": {"b": 1, "c": 2}, "d": [{"b": 3}, 5]})
        );
    }

    #[test]
    fn undefined_members_are_dropped_and_functions_refused() {
        let mut m = IndexMap::new();
        m.insert("a".to_string(), JValue::Undefined);
        m.insert("b".to_string(), JValue::Number(1.0));
        assert_eq!(from_jvalue(&JValue::object(m)).unwrap(), json!({"b": 1}));
        let f = JValue::array(vec![JValue::builtin("sum")]);
        assert_eq!(from_jvalue(&f), Err(Unsupported::Function));
    }
}
