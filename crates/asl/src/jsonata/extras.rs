//! The functions Step Functions adds to JSONata, and the built-ins it changes
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html>, "JSONata
//! functions provided by Step Functions"; `/work/shared/specs/asl.md` §1.6):
//!
//! - `$partition(array, size)`: `[[1,2],[3,4]]`; a plain array, so `$partition([0], 1)` is
//!   `[[0]]` (recorded: `intrinsic_functions/array_jsonata.array_partition__*`);
//! - `$range(start, end, step)`: end included when a step lands on it; a sequence, so a
//!   single item comes back bare: `$range(1, 9, 9)` is `1` (recorded:
//!   `intrinsic_functions/array_jsonata.array_range__exec_hist_resp_2`);
//! - `$hash(value, algorithm)`: MD5, SHA-1, SHA-256, SHA-384, SHA-512, lower-case hex;
//! - `$random()` from the execution's generator, `$random(seed)` as `java.util.Random`'s
//!   `nextDouble` (`$random(42)` is `0.7275636800328681` on AWS);
//! - `$uuid()`: a version 4 UUID from the execution's generator;
//! - `$parse(json)`: the value a JSON text denotes;
//! - `$eval` does not exist on AWS: calling it fails with T1006 like any other non-function
//!   (floci-io/floci#2737 quotes AWS: "T1006: Attempted to invoke a non-function");
//! - `$shuffle` draws from the execution's generator, so a seeded execution repeats;
//! - `$now()` and `$millis()` read the executor's clock when it sets one ([`with_clock`]),
//!   the same instant for every call in one evaluation, as in jsonata-js.
//!
//! Functions are registered per evaluation, only those the expression names.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use jsonata_core::evaluator::{Evaluator, EvaluatorError};
use jsonata_core::value::JValue;
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};

use super::value::to_jvalue;
use crate::rng::Rng;

/// The most items `$range` and `$partition` build (AWS refuses `[1..873783]` with its memory
/// limit; floci-io/floci#2783 quotes the measurement).
pub(super) const MAX_ITEMS: usize = 873_782;

/// AWS's algorithms for `$hash`, as they are spelt in the call.
const HASH_ALGORITHMS: [&str; 5] = ["MD5", "SHA-1", "SHA-256", "SHA-384", "SHA-512"];

type Shared = Rc<RefCell<Rng>>;

thread_local! {
    static CLOCK: Cell<Option<i64>> = const { Cell::new(None) };
}

/// Runs `f` with `$now()` and `$millis()` reading `now_millis` (milliseconds since the Unix
/// epoch): the executor's virtual clock, so an execution repeats. Outside, they read the
/// system clock.
pub fn with_clock<R>(now_millis: i64, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<i64>);
    impl Drop for Restore {
        fn drop(&mut self) {
            CLOCK.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(CLOCK.with(|c| c.replace(Some(now_millis))));
    f()
}

/// The instant `$now()` and `$millis()` answer for an evaluation starting now.
fn now_millis() -> i64 {
    CLOCK
        .with(Cell::get)
        .unwrap_or_else(|| chrono::Utc::now().timestamp_millis())
}

/// Registers, on `ev`, the functions among `names` that Step Functions adds or changes.
/// `rng` is there when `names` holds one of the functions that draw from it.
pub(super) fn register(ev: &mut Evaluator, names: &[String], rng: Option<&Shared>) {
    for name in names {
        // Registration fails only for a name that shadows a built-in without being an
        // override, which none of these is; a failure leaves the engine's own function.
        let _ = match name.as_str() {
            "partition" => ev.register_fn("partition", partition),
            "range" => ev.register_fn("range", range),
            "hash" => ev.register_fn("hash", hash),
            "uuid" if let Some(rng) = rng => {
                let rng = rng.clone();
                ev.register_fn("uuid", move |args: &[JValue]| {
                    arity("uuid", args, 0)?;
                    Ok(JValue::string(rng.borrow_mut().uuid_v4()))
                })
            }
            "parse" => ev.register_fn("parse", parse),
            "random" if let Some(rng) = rng => {
                let rng = rng.clone();
                ev.register_fn_override("random", move |args: &[JValue]| random(args, &rng))
            }
            "shuffle" if let Some(rng) = rng => {
                let rng = rng.clone();
                ev.register_fn_override("shuffle", move |args: &[JValue]| shuffle(args, &rng))
            }
            "now" | "millis" => {
                let ms = now_millis();
                let _ = ev.register_fn_override("millis", move |args: &[JValue]| {
                    arity("millis", args, 0)?;
                    Ok(JValue::Number(ms as f64))
                });
                ev.register_fn_override("now", move |args: &[JValue]| {
                    arity("now", args, 0)?;
                    // jsonata-js: `new Date(millis).toISOString()`.
                    let at = chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
                    Ok(JValue::string(
                        at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
                    ))
                })
            }
            "eval" => ev.register_fn_override("eval", |_: &[JValue]| {
                Err(error("T1006: Attempted to invoke a non-function"))
            }),
            _ => Ok(()),
        };
    }
}

fn error(msg: impl Into<String>) -> EvaluatorError {
    EvaluatorError::EvaluationError(msg.into())
}

/// jsonata-js's message for an argument that does not fit a function's signature.
fn mismatch(function: &str, index: usize) -> EvaluatorError {
    error(format!(
        "T0410: Argument {index} of function \"{function}\" does not match function signature"
    ))
}

fn arity(function: &str, args: &[JValue], most: usize) -> Result<(), EvaluatorError> {
    if args.len() > most {
        return Err(mismatch(function, most + 1));
    }
    Ok(())
}

fn number_arg(function: &str, args: &[JValue], i: usize) -> Result<f64, EvaluatorError> {
    match args.get(i) {
        Some(JValue::Number(n)) => Ok(*n),
        _ => Err(mismatch(function, i + 1)),
    }
}

fn partition(args: &[JValue]) -> Result<JValue, EvaluatorError> {
    arity("partition", args, 2)?;
    let single;
    let items: &[JValue] = match args.first() {
        None | Some(JValue::Undefined) => return Ok(JValue::Undefined),
        Some(JValue::Array(a)) => a,
        // A signature's array parameter takes a single value as a one-item array.
        Some(other) => {
            single = [other.clone()];
            &single
        }
    };
    let size = number_arg("partition", args, 1)?;
    if size.fract() != 0.0 || size < 1.0 {
        return Err(error(format!(
            "The chunk size argument of function \"partition\" must be a positive integer, got {size}"
        )));
    }
    let size = if size > MAX_ITEMS as f64 {
        MAX_ITEMS
    } else {
        size as usize
    };
    let chunks = items
        .chunks(size)
        .map(|c| JValue::array(c.to_vec()))
        .collect();
    Ok(JValue::array(chunks))
}

fn range(args: &[JValue]) -> Result<JValue, EvaluatorError> {
    arity("range", args, 3)?;
    let start = number_arg("range", args, 0)?;
    let end = number_arg("range", args, 1)?;
    let step = number_arg("range", args, 2)?;
    if step == 0.0 || !step.is_finite() || !start.is_finite() || !end.is_finite() {
        return Err(error(
            "The step argument of function \"range\" must be a non-zero number",
        ));
    }
    let count = ((end - start) / step).floor();
    if count < 0.0 {
        return Ok(JValue::sequence(Vec::new()));
    }
    if count >= MAX_ITEMS as f64 {
        return Err(error(super::MEMORY_LIMIT));
    }
    let items = (0..=count as usize)
        .map(|i| JValue::Number(start + step * i as f64))
        .collect();
    Ok(JValue::sequence_flat(items, true))
}

fn hash(args: &[JValue]) -> Result<JValue, EvaluatorError> {
    arity("hash", args, 2)?;
    let value = match args.first() {
        None | Some(JValue::Undefined) => return Ok(JValue::Undefined),
        Some(JValue::String(s)) => s.clone(),
        Some(_) => return Err(mismatch("hash", 1)),
    };
    let algorithm = match args.get(1) {
        Some(JValue::String(s)) => s.clone(),
        _ => return Err(mismatch("hash", 2)),
    };
    let bytes = value.as_bytes();
    let digest: Vec<u8> = match &*algorithm {
        "MD5" => Md5::digest(bytes).to_vec(),
        "SHA-1" => Sha1::digest(bytes).to_vec(),
        "SHA-256" => Sha256::digest(bytes).to_vec(),
        "SHA-384" => Sha384::digest(bytes).to_vec(),
        "SHA-512" => Sha512::digest(bytes).to_vec(),
        other => {
            return Err(error(format!(
                "The hash algorithm '{other}' is not supported; use one of: {}",
                HASH_ALGORITHMS.join(", ")
            )));
        }
    };
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    Ok(JValue::string(hex))
}

fn random(args: &[JValue], rng: &Shared) -> Result<JValue, EvaluatorError> {
    arity("random", args, 1)?;
    match args.first() {
        None | Some(JValue::Undefined) => Ok(JValue::Number(rng.borrow_mut().next_f64())),
        Some(JValue::Number(seed)) => Ok(JValue::Number(java_next_double(*seed as i64))),
        Some(_) => Err(mismatch("random", 1)),
    }
}

/// `new java.util.Random(seed).nextDouble()`: the 48-bit linear congruential generator of
/// the Java SE API specification (`java.util.Random`, "next" and "nextDouble").
pub(super) fn java_next_double(seed: i64) -> f64 {
    const MULTIPLIER: i64 = 0x5_DEEC_E66D;
    const MASK: i64 = (1 << 48) - 1;
    let mut state = (seed ^ MULTIPLIER) & MASK;
    let mut next = |bits: u32| -> i64 {
        state = (state.wrapping_mul(MULTIPLIER).wrapping_add(0xB)) & MASK;
        state >> (48 - bits)
    };
    let high = next(26);
    let low = next(27);
    ((high << 27) + low) as f64 * (1.0 / (1u64 << 53) as f64)
}

fn shuffle(args: &[JValue], rng: &Shared) -> Result<JValue, EvaluatorError> {
    arity("shuffle", args, 1)?;
    let mut items: Vec<JValue> = match args.first() {
        None | Some(JValue::Undefined) => return Ok(JValue::Undefined),
        Some(JValue::Array(a)) => a.iter().cloned().collect(),
        Some(other) => vec![other.clone()],
    };
    let mut rng = rng.borrow_mut();
    for i in (1..items.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
    Ok(JValue::array(items))
}

fn parse(args: &[JValue]) -> Result<JValue, EvaluatorError> {
    arity("parse", args, 1)?;
    let text = match args.first() {
        None | Some(JValue::Undefined) => return Ok(JValue::Undefined),
        Some(JValue::String(s)) => s.clone(),
        Some(_) => return Err(mismatch("parse", 1)),
    };
    // serde_json refuses text nested deeper than 128 levels, which bounds the conversion.
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(v) => Ok(to_jvalue(&v)),
        Err(e) => Err(error(format!(
            "The argument of function \"parse\" is not valid JSON: {e}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_random_matches_aws() {
        assert_eq!(java_next_double(42), 0.7275636800328681);
    }

    #[test]
    fn hash_matches_aws() {
        let h = hash(&[JValue::string("input"), JValue::string("SHA-1")]).unwrap();
        assert_eq!(
            h,
            JValue::string("140f86aae51ab9e1cda9b4254fe98a74eb54c1a1")
        );
        // Recorded: intrinsic_functions/hash_calculations.hash__exec_hist_resp_0 (MD5).
        let h = hash(&[JValue::string("input data"), JValue::string("MD5")]).unwrap();
        assert_eq!(h, JValue::string("812f45842bc6d66ee14572ce20db8e86"));
        assert!(hash(&[JValue::string("x"), JValue::string("SHA-3")]).is_err());
    }
}
