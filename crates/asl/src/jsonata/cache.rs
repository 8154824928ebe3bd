//! Conversions reused between evaluations. A state evaluates several expressions over the
//! same input (its `Arguments`, `Output`, `Assign`, each Choice rule, each Map iteration's
//! selector over the same context), and converting a large input to the engine's values
//! costs allocations for every member. The last conversions are kept per thread, by what
//! they convert (`$states.input`, a variable, …) and how far; one is reused only when the
//! value given now converts to exactly the same thing, which is checked member by member
//! without allocating. So a reuse can never be stale, whatever happened to the value.

use std::cell::RefCell;

use jsonata_core::value::JValue;
use serde_json::Value;

use super::value::{Need, same_needed, to_jvalue_needed};

/// How many conversions each thread keeps.
const SLOTS: usize = 8;

/// Below this many JSON nodes a conversion is cheaper than the bookkeeping.
const WORTH_IT: usize = 64;

struct Slot {
    what: String,
    need: Need,
    value: JValue,
}

thread_local! {
    static SLOTS_: RefCell<Vec<Slot>> = const { RefCell::new(Vec::new()) };
}

/// `v` converted as far as `need` goes, reusing the conversion kept under `what` when it
/// is the same.
pub(super) fn convert(what: &str, v: &Value, need: &Need) -> JValue {
    if small(v, WORTH_IT) {
        return to_jvalue_needed(v, need);
    }
    SLOTS_.with(|slots| {
        let mut slots = slots.borrow_mut();
        if let Some(i) = slots.iter().position(|s| s.what == what && &s.need == need) {
            if same_needed(v, &slots[i].value, need) {
                let slot = slots.remove(i);
                let value = slot.value.clone();
                slots.push(slot);
                return value;
            }
            slots.remove(i);
        }
        let value = to_jvalue_needed(v, need);
        if slots.len() >= SLOTS {
            slots.remove(0);
        }
        slots.push(Slot {
            what: what.to_string(),
            need: need.clone(),
            value: value.clone(),
        });
        value
    })
}

/// Whether `v` has fewer than `limit` nodes (stops counting at the limit).
fn small(v: &Value, limit: usize) -> bool {
    fn count(v: &Value, left: &mut usize) -> bool {
        if *left == 0 {
            return false;
        }
        *left -= 1;
        match v {
            Value::Array(a) => a.iter().all(|x| count(x, left)),
            Value::Object(o) => o.values().all(|x| count(x, left)),
            _ => true,
        }
    }
    let mut left = limit;
    count(v, &mut left)
}

/// Drops the conversions this thread keeps (they hold the last large inputs alive).
pub fn clear() {
    SLOTS_.with(|slots| slots.borrow_mut().clear());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsonata::value::from_jvalue;
    use serde_json::json;

    #[test]
    fn reuses_only_equal_values() {
        let mut v = json!({"a": (0..100).collect::<Vec<_>>(), "b": "x"});
        let first = convert("input", &v, &Need::All);
        let again = convert("input", &v, &Need::All);
        let (JValue::Object(x), JValue::Object(y)) = (&first, &again) else {
            panic!("objects")
        };
        assert!(std::rc::Rc::ptr_eq(x, y), "the conversion is reused");
        v["a"][99] = json!(-1);
        let changed = convert("input", &v, &Need::All);
        assert_eq!(from_jvalue(&changed).unwrap(), v);
        let mut need = Need::Fields(Vec::new());
        need.add(&["b".into()]);
        assert_eq!(
            from_jvalue(&convert("input", &v, &need)).unwrap(),
            json!({"b": "x"})
        );
        clear();
    }
}
