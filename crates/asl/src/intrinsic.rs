//! Intrinsic functions (`States.Format(...)` and friends) for JSONPath states: parsing the
//! call syntax and evaluating it.

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::path::Path;
use crate::rng::Rng;

/// A parsed call.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub function: Function,
    pub args: Vec<Arg>,
}

/// An argument of a call.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Literal(Value),
    Path(Path),
    Call(Box<Call>),
}

/// The intrinsic functions AWS provides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Format,
    StringToJson,
    JsonToString,
    Array,
    ArrayPartition,
    ArrayContains,
    ArrayRange,
    ArrayGetItem,
    ArrayLength,
    ArrayUnique,
    Base64Encode,
    Base64Decode,
    Hash,
    JsonMerge,
    MathRandom,
    MathAdd,
    StringSplit,
    Uuid,
}

impl Function {
    fn from_name(n: &str) -> Option<Function> {
        use Function::*;
        Some(match n {
            "States.Format" => Format,
            "States.StringToJson" => StringToJson,
            "States.JsonToString" => JsonToString,
            "States.Array" => Array,
            "States.ArrayPartition" => ArrayPartition,
            "States.ArrayContains" => ArrayContains,
            "States.ArrayRange" => ArrayRange,
            "States.ArrayGetItem" => ArrayGetItem,
            "States.ArrayLength" => ArrayLength,
            "States.ArrayUnique" => ArrayUnique,
            "States.Base64Encode" => Base64Encode,
            "States.Base64Decode" => Base64Decode,
            "States.Hash" => Hash,
            "States.JsonMerge" => JsonMerge,
            "States.MathRandom" => MathRandom,
            "States.MathAdd" => MathAdd,
            "States.StringSplit" => StringSplit,
            "States.UUID" => Uuid,
            _ => return None,
        })
    }

    /// The function's name as written.
    pub fn name(self) -> &'static str {
        use Function::*;
        match self {
            Format => "States.Format",
            StringToJson => "States.StringToJson",
            JsonToString => "States.JsonToString",
            Array => "States.Array",
            ArrayPartition => "States.ArrayPartition",
            ArrayContains => "States.ArrayContains",
            ArrayRange => "States.ArrayRange",
            ArrayGetItem => "States.ArrayGetItem",
            ArrayLength => "States.ArrayLength",
            ArrayUnique => "States.ArrayUnique",
            Base64Encode => "States.Base64Encode",
            Base64Decode => "States.Base64Decode",
            Hash => "States.Hash",
            JsonMerge => "States.JsonMerge",
            MathRandom => "States.MathRandom",
            MathAdd => "States.MathAdd",
            StringSplit => "States.StringSplit",
            Uuid => "States.UUID",
        }
    }

    /// Allowed argument counts (min, max).
    fn arity(self) -> (usize, usize) {
        use Function::*;
        match self {
            Format => (1, usize::MAX),
            Array => (0, usize::MAX),
            StringToJson | JsonToString | ArrayLength | ArrayUnique | Base64Encode
            | Base64Decode => (1, 1),
            ArrayPartition | ArrayContains | ArrayGetItem | Hash | MathAdd | StringSplit => (2, 2),
            ArrayRange | JsonMerge => (3, 3),
            MathRandom => (2, 3),
            Uuid => (0, 0),
        }
    }
}

/// Why a call does not parse.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid intrinsic function call '{text}': {reason}")]
pub struct CallSyntaxError {
    pub text: String,
    pub reason: String,
}

/// Whether a string looks like an intrinsic call (as opposed to a path).
pub fn looks_like_call(s: &str) -> bool {
    s.starts_with("States.")
}

/// Parses an intrinsic function call.
pub fn parse(text: &str) -> Result<Call, CallSyntaxError> {
    let mut p = P {
        s: text.as_bytes(),
        i: 0,
        depth: 0,
    };
    let call = p.call().map_err(|reason| CallSyntaxError {
        text: text.to_string(),
        reason,
    })?;
    p.ws();
    if p.i != p.s.len() {
        return Err(CallSyntaxError {
            text: text.to_string(),
            reason: "unexpected text after the closing parenthesis".into(),
        });
    }
    Ok(call)
}

struct P<'a> {
    s: &'a [u8],
    i: usize,
    depth: usize,
}

impl P<'_> {
    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn call(&mut self) -> Result<Call, String> {
        self.depth += 1;
        if self.depth > 10 {
            return Err("more than 10 nested intrinsic function calls".into());
        }
        let start = self.i;
        while self
            .s
            .get(self.i)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'.' || *c == b'_')
        {
            self.i += 1;
        }
        let name = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("");
        let function =
            Function::from_name(name).ok_or_else(|| format!("unknown function '{name}'"))?;
        self.ws();
        if self.s.get(self.i) != Some(&b'(') {
            return Err(format!("expected '(' after {name}"));
        }
        self.i += 1;
        let mut args = Vec::new();
        self.ws();
        if self.s.get(self.i) == Some(&b')') {
            self.i += 1;
        } else {
            loop {
                self.ws();
                // The template of States.Format keeps its \{ \} escapes for the formatter.
                let keep = function == Function::Format && args.is_empty();
                args.push(self.arg(keep)?);
                self.ws();
                match self.s.get(self.i) {
                    Some(b',') => self.i += 1,
                    Some(b')') => {
                        self.i += 1;
                        break;
                    }
                    _ => return Err(format!("expected ',' or ')' in the arguments of {name}")),
                }
            }
        }
        let (lo, hi) = function.arity();
        if args.len() < lo || args.len() > hi {
            return Err(format!(
                "{name} takes {} argument(s), got {}",
                if lo == hi {
                    lo.to_string()
                } else if hi == usize::MAX {
                    format!("at least {lo}")
                } else {
                    format!("{lo} to {hi}")
                },
                args.len()
            ));
        }
        self.depth -= 1;
        Ok(Call { function, args })
    }

    fn arg(&mut self, keep_brace_escapes: bool) -> Result<Arg, String> {
        match self.s.get(self.i) {
            Some(b'\'') => {
                self.i += 1;
                let mut out = Vec::new();
                loop {
                    let c = *self.s.get(self.i).ok_or("unterminated string argument")?;
                    self.i += 1;
                    match c {
                        b'\\' => {
                            let n = *self.s.get(self.i).ok_or("dangling '\\' in a string")?;
                            self.i += 1;
                            if keep_brace_escapes && matches!(n, b'{' | b'}' | b'\\') {
                                out.push(b'\\');
                            }
                            out.push(n);
                        }
                        b'\'' => break,
                        _ => out.push(c),
                    }
                }
                Ok(Arg::Literal(Value::String(
                    String::from_utf8(out).map_err(|_| "invalid UTF-8")?,
                )))
            }
            Some(b'$') => {
                let start = self.i;
                let mut depth = 0i32;
                let mut quote: Option<u8> = None;
                while let Some(&c) = self.s.get(self.i) {
                    if let Some(q) = quote {
                        if c == q {
                            quote = None;
                        }
                    } else {
                        match c {
                            b'\'' | b'"' => quote = Some(c),
                            b'[' | b'(' => depth += 1,
                            b']' => depth -= 1,
                            b')' if depth > 0 => depth -= 1,
                            b',' | b')' if depth == 0 => break,
                            _ => {}
                        }
                    }
                    self.i += 1;
                }
                let text = std::str::from_utf8(&self.s[start..self.i])
                    .map_err(|_| "invalid UTF-8")?
                    .trim_end();
                Path::parse(text).map(Arg::Path).map_err(|e| e.to_string())
            }
            Some(b'S') => Ok(Arg::Call(Box::new(self.call()?))),
            _ => {
                let start = self.i;
                while self
                    .s
                    .get(self.i)
                    .is_some_and(|c| !matches!(c, b',' | b')') && !c.is_ascii_whitespace())
                {
                    self.i += 1;
                }
                let t = std::str::from_utf8(&self.s[start..self.i]).map_err(|_| "invalid UTF-8")?;
                match serde_json::from_str::<Value>(t) {
                    Ok(v @ (Value::Number(_) | Value::Null | Value::Bool(_))) => {
                        Ok(Arg::Literal(v))
                    }
                    _ => Err(format!("invalid argument '{t}'")),
                }
            }
        }
    }
}

/// Why evaluation failed: the message for `States.IntrinsicFailure` / `States.Runtime`.
#[derive(Debug, Clone, PartialEq)]
pub enum EvalError {
    /// A path argument found nothing.
    Path(String),
    /// The function rejected its arguments.
    Failure(String),
}

/// Evaluates a call; `resolve` looks up path arguments.
pub fn eval(
    call: &Call,
    resolve: &mut dyn FnMut(&Path) -> Result<Value, EvalError>,
    rng: &mut Rng,
) -> Result<Value, EvalError> {
    let mut args = Vec::with_capacity(call.args.len());
    for a in &call.args {
        args.push(match a {
            Arg::Literal(v) => v.clone(),
            Arg::Path(p) => resolve(p)?,
            Arg::Call(c) => eval(c, resolve, rng)?,
        });
    }
    apply(call.function, args, rng)
}

fn fail<T>(f: Function, msg: impl Into<String>) -> Result<T, EvalError> {
    Err(EvalError::Failure(format!(
        "The function '{}' {}",
        f.name(),
        msg.into()
    )))
}

fn as_int(f: Function, v: &Value, what: &str) -> Result<i64, EvalError> {
    match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Ok(i)
            } else {
                // Java's Math.round: half up.
                Ok((n.as_f64().unwrap_or(0.0) + 0.5).floor() as i64)
            }
        }
        _ => fail(f, format!("expects an integer {what}, got {v}")),
    }
}

fn as_str<'a>(f: Function, v: &'a Value, what: &str) -> Result<&'a str, EvalError> {
    v.as_str().ok_or_else(|| {
        EvalError::Failure(format!(
            "The function '{}' expects a string {what}, got {v}",
            f.name()
        ))
    })
}

fn as_array<'a>(f: Function, v: &'a Value, what: &str) -> Result<&'a Vec<Value>, EvalError> {
    v.as_array().ok_or_else(|| {
        EvalError::Failure(format!(
            "The function '{}' expects an array {what}, got {v}",
            f.name()
        ))
    })
}

/// How `States.Format` renders a value: strings bare, objects and arrays the way Java's
/// `Map.toString()` / `List.toString()` print them (`{Id=..., Name=...}`), as AWS does.
fn java_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(o) => format!(
            "{{{}}}",
            o.iter()
                .map(|(k, x)| format!("{k}={}", java_string(x)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(java_string).collect::<Vec<_>>().join(", ")
        ),
        other => to_json_text(other),
    }
}

/// Compact JSON text as AWS writes it.
pub fn to_json_text(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn apply(f: Function, args: Vec<Value>, rng: &mut Rng) -> Result<Value, EvalError> {
    use Function::*;
    // The parser checks arities; a call built by hand is checked here, so that the argument
    // indexes below are always in range.
    let (lo, hi) = f.arity();
    if args.len() < lo || args.len() > hi {
        return fail(f, format!("cannot take {} argument(s)", args.len()));
    }
    match f {
        Format => {
            let tpl = as_str(f, &args[0], "template")?;
            let mut out = String::new();
            let mut rest = args[1..].iter();
            let mut chars = tpl.chars().peekable();
            let mut used = 0;
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            out.push(n)
                        }
                    }
                    '{' if chars.peek() == Some(&'}') => {
                        chars.next();
                        used += 1;
                        let v = rest.next().ok_or_else(|| {
                            EvalError::Failure(format!(
                                "The function '{}' has {} placeholder(s) but {} argument(s)",
                                f.name(),
                                tpl.matches("{}").count(),
                                args.len() - 1
                            ))
                        })?;
                        out.push_str(&java_string(v));
                    }
                    c => out.push(c),
                }
            }
            if used != args.len() - 1 {
                return fail(
                    f,
                    format!(
                        "has {used} placeholder(s) but {} argument(s)",
                        args.len() - 1
                    ),
                );
            }
            Ok(Value::String(out))
        }
        StringToJson => {
            let s = as_str(f, &args[0], "argument")?;
            // An empty or blank string parses to null on AWS: LocalStack's AWS-validated
            // snapshot `intrinsic_functions/test_json_manipulation.snapshot.json`,
            // `test_string_to_json` exec_hist_resp_0 ("" -> null) and exec_hist_resp_1
            // (" " -> null), recorded 09-02-2023. Blank means JSON whitespace only.
            if s.chars().all(|c| matches!(c, ' ' | '\t' | '\n' | '\r')) {
                return Ok(Value::Null);
            }
            serde_json::from_str(s)
                .or_else(|e| fail(f, format!("could not parse its argument as JSON: {e}")))
        }
        JsonToString => Ok(Value::String(to_json_text(&args[0]))),
        Array => Ok(Value::Array(args)),
        ArrayPartition => {
            let a = as_array(f, &args[0], "first argument")?;
            let n = as_int(f, &args[1], "chunk size")?;
            if n <= 0 {
                return fail(f, "expects a chunk size greater than 0");
            }
            Ok(Value::Array(
                a.chunks(n as usize)
                    .map(|c| Value::Array(c.to_vec()))
                    .collect(),
            ))
        }
        ArrayContains => {
            let a = as_array(f, &args[0], "first argument")?;
            Ok(Value::Bool(a.iter().any(|x| json_eq(x, &args[1]))))
        }
        ArrayRange => {
            let a = as_int(f, &args[0], "start")?;
            let b = as_int(f, &args[1], "end")?;
            let s = as_int(f, &args[2], "step")?;
            if s == 0 {
                return fail(f, "expects a non-zero step");
            }
            let mut out = Vec::new();
            let mut i = a;
            while (s > 0 && i <= b) || (s < 0 && i >= b) {
                out.push(Value::from(i));
                if out.len() > 1000 {
                    return fail(f, "would return more than 1000 items");
                }
                // Past the largest (or smallest) integer the range has ended.
                let Some(next) = i.checked_add(s) else { break };
                i = next;
            }
            Ok(Value::Array(out))
        }
        ArrayGetItem => {
            let a = as_array(f, &args[0], "first argument")?;
            let i = as_int(f, &args[1], "index")?;
            if i < 0 || i as usize >= a.len() {
                return fail(
                    f,
                    format!("index {i} is out of bounds for an array of {}", a.len()),
                );
            }
            Ok(a[i as usize].clone())
        }
        ArrayLength => Ok(Value::from(as_array(f, &args[0], "argument")?.len())),
        ArrayUnique => {
            let a = as_array(f, &args[0], "argument")?;
            let mut out: Vec<Value> = Vec::new();
            for x in a {
                if !out.iter().any(|y| json_eq(x, y)) {
                    out.push(x.clone());
                }
            }
            Ok(Value::Array(out))
        }
        Base64Encode => {
            let s = as_str(f, &args[0], "argument")?;
            if s.chars().count() > 10_000 {
                return fail(f, "expects at most 10000 characters");
            }
            Ok(Value::String(
                base64::engine::general_purpose::STANDARD.encode(s),
            ))
        }
        Base64Decode => {
            let s = as_str(f, &args[0], "argument")?;
            if s.chars().count() > 10_000 {
                return fail(f, "expects at most 10000 characters");
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(s)
                .or_else(|e| fail(f, format!("could not decode its argument: {e}")))?;
            Ok(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        }
        Hash => {
            let data = match &args[0] {
                Value::String(s) => s.clone(),
                other => to_json_text(other),
            };
            if data.chars().count() > 10_000 {
                return fail(f, "expects at most 10000 characters");
            }
            let algo = as_str(f, &args[1], "algorithm")?;
            Ok(Value::String(hash(algo, data.as_bytes()).ok_or_else(|| {
                EvalError::Failure(format!(
                    "The function '{}' does not support the algorithm '{algo}' (MD5, SHA-1, SHA-256, SHA-384, SHA-512)",
                    f.name()
                ))
            })?))
        }
        JsonMerge => {
            let (Some(a), Some(b)) = (args[0].as_object(), args[1].as_object()) else {
                return fail(f, "expects two JSON objects");
            };
            if args[2] == Value::Bool(true) {
                return fail(f, "supports only the shallow merging mode (false)");
            }
            let mut out: Map<String, Value> = a.clone();
            for (k, v) in b {
                out.insert(k.clone(), v.clone());
            }
            Ok(Value::Object(out))
        }
        MathRandom => {
            let a = as_int(f, &args[0], "start")?;
            let b = as_int(f, &args[1], "end")?;
            if b <= a {
                return fail(f, "expects start to be less than end");
            }
            let mut local;
            let r = if let Some(seed) = args.get(2) {
                local = Rng::new(as_int(f, seed, "seed")? as u64);
                &mut local
            } else {
                rng
            };
            // In 128 bits: `end - start` can exceed the 64-bit range.
            let span = (i128::from(b) - i128::from(a)) as u128;
            let v = i128::from(a) + (u128::from(r.next_u64()) % span) as i128;
            Ok(Value::from(i64::try_from(v).unwrap_or(b)))
        }
        MathAdd => {
            let a = as_int(f, &args[0], "first argument")?;
            let b = as_int(f, &args[1], "second argument")?;
            match a.checked_add(b) {
                Some(sum) => Ok(Value::from(sum)),
                None => fail(f, format!("overflows adding {a} and {b}")),
            }
        }
        StringSplit => {
            let s = as_str(f, &args[0], "first argument")?;
            let d = as_str(f, &args[1], "delimiter")?;
            Ok(Value::Array(
                s.split(|c| d.contains(c))
                    .filter(|p| !p.is_empty())
                    .map(|p| Value::String(p.to_string()))
                    .collect(),
            ))
        }
        Uuid => Ok(Value::String(rng.uuid_v4())),
    }
}

/// JSON equality that compares numbers by value.
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hash(algo: &str, data: &[u8]) -> Option<String> {
    use sha2::Digest;
    Some(match algo {
        "MD5" => hex(&md5::Md5::digest(data)),
        "SHA-1" => hex(&sha1::Sha1::digest(data)),
        "SHA-256" => hex(&sha2::Sha256::digest(data)),
        "SHA-384" => hex(&sha2::Sha384::digest(data)),
        "SHA-512" => hex(&sha2::Sha512::digest(data)),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(text: &str, input: Value) -> Result<Value, EvalError> {
        let call = parse(text).unwrap();
        let mut rng = Rng::new(1);
        eval(
            &call,
            &mut |p: &Path| p.eval(&input).map_err(|e| EvalError::Path(e.rendered)),
            &mut rng,
        )
    }

    #[test]
    fn functions() {
        assert_eq!(
            run(
                "States.Format('Hello {} and \\{\\}', $.n)",
                json!({"n": "x"})
            )
            .unwrap(),
            json!("Hello x and {}")
        );
        assert_eq!(
            run("States.ArrayRange(1, 9, 2)", json!({})).unwrap(),
            json!([1, 3, 5, 7, 9])
        );
        assert_eq!(
            run("States.JsonToString($.a)", json!({"a": {"x": [1, 2]}})).unwrap(),
            json!("{\"x\":[1,2]}")
        );
        assert_eq!(
            run("States.Hash('input', 'SHA-1')", json!({})).unwrap(),
            json!("140f86aae51ab9e1cda9b4254fe98a74eb54c1a1")
        );
        assert_eq!(
            run("States.StringSplit('a,b,,c', ',')", json!({})).unwrap(),
            json!(["a", "b", "c"])
        );
        assert_eq!(
            run(
                "States.ArrayLength(States.Array(1, 2, States.Array()))",
                json!({})
            )
            .unwrap(),
            json!(3)
        );
        assert!(parse("States.Nope(1)").is_err());
        assert!(parse("States.ArrayLength(1, 2)").is_err());
    }
}
