//! Choice rule evaluation: And/Or/Not and every comparison operator, with AWS's rules
//! (type mismatch is false, StringMatches wildcards, timestamps compared as instants).

use serde_json::Value;

use crate::data::{Env, ResolveError, resolve};
use crate::model::{Op, Operand, Rule};

/// Why a rule could not be evaluated (a path that found nothing).
#[derive(Debug, Clone, PartialEq)]
pub struct RuleError(pub String);

/// Evaluates a rule against the effective input.
pub fn eval(rule: &Rule, input: &Value, env: &Env) -> Result<bool, RuleError> {
    match rule {
        Rule::And(rs) => {
            for r in rs {
                if !eval(r, input, env)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Rule::Or(rs) => {
            for r in rs {
                if eval(r, input, env)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Rule::Not(r) => Ok(!eval(r, input, env)?),
        Rule::Test {
            variable,
            op,
            operand,
        } => {
            let value = match resolve(variable, input, env) {
                Ok(v) => Some(v),
                Err(ResolveError::NoResults(_)) | Err(ResolveError::NoVariable(_)) => None,
            };
            if *op == Op::IsPresent {
                let want = operand_bool(operand);
                return Ok(value.is_some() == want);
            }
            let Some(value) = value else {
                return Err(RuleError(format!(
                    "Invalid path '{}': The choice state's condition path references an invalid value.",
                    variable.text()
                )));
            };
            let other = match operand {
                Operand::Literal(v) => v.clone(),
                Operand::Path(p) => resolve(p, input, env).map_err(|_| {
                    RuleError(format!(
                        "Invalid path '{}': The choice state's condition path references an invalid value.",
                        p.text()
                    ))
                })?,
            };
            Ok(test(*op, &value, &other))
        }
    }
}

fn operand_bool(o: &Operand) -> bool {
    matches!(o, Operand::Literal(Value::Bool(true)))
}

fn test(op: Op, v: &Value, other: &Value) -> bool {
    use Op::*;
    match op {
        StringEquals
        | StringLessThan
        | StringGreaterThan
        | StringLessThanEquals
        | StringGreaterThanEquals => match (v.as_str(), other.as_str()) {
            (Some(a), Some(b)) => {
                let o = a.cmp(b);
                cmp(op, o)
            }
            _ => false,
        },
        StringMatches => match (v.as_str(), other.as_str()) {
            (Some(a), Some(p)) => wildcard(a, p),
            _ => false,
        },
        NumericEquals
        | NumericLessThan
        | NumericGreaterThan
        | NumericLessThanEquals
        | NumericGreaterThanEquals => match (v.as_f64(), other.as_f64()) {
            (Some(a), Some(b)) if v.is_number() && other.is_number() => {
                a.partial_cmp(&b).is_some_and(|o| cmp(op, o))
            }
            _ => false,
        },
        BooleanEquals => matches!((v, other), (Value::Bool(a), Value::Bool(b)) if a == b),
        TimestampEquals
        | TimestampLessThan
        | TimestampGreaterThan
        | TimestampLessThanEquals
        | TimestampGreaterThanEquals => {
            let a = v.as_str().and_then(crate::timestamp::parse);
            let b = other.as_str().and_then(crate::timestamp::parse);
            match (a, b) {
                (Some(a), Some(b)) => cmp(op, a.cmp(&b)),
                _ => false,
            }
        }
        IsNull => v.is_null() == operand_is_true(other),
        IsNumeric => v.is_number() == operand_is_true(other),
        IsString => v.is_string() == operand_is_true(other),
        IsBoolean => v.is_boolean() == operand_is_true(other),
        IsTimestamp => {
            v.as_str().and_then(crate::timestamp::parse).is_some() == operand_is_true(other)
        }
        IsPresent => true,
    }
}

fn operand_is_true(v: &Value) -> bool {
    v == &Value::Bool(true)
}

fn cmp(op: Op, o: std::cmp::Ordering) -> bool {
    use Op::*;
    use std::cmp::Ordering::*;
    match op {
        StringEquals | NumericEquals | TimestampEquals => o == Equal,
        StringLessThan | NumericLessThan | TimestampLessThan => o == Less,
        StringGreaterThan | NumericGreaterThan | TimestampGreaterThan => o == Greater,
        StringLessThanEquals | NumericLessThanEquals | TimestampLessThanEquals => o != Greater,
        _ => o != Less,
    }
}

/// `*` matches any run of characters; `\*` is a literal star and `\\` a backslash.
pub fn wildcard(s: &str, pattern: &str) -> bool {
    #[derive(PartialEq)]
    enum Tok {
        Star,
        Char(char),
    }
    let mut toks = Vec::new();
    let mut it = pattern.chars();
    while let Some(c) = it.next() {
        match c {
            '\\' => match it.next() {
                Some(n) => toks.push(Tok::Char(n)),
                None => toks.push(Tok::Char('\\')),
            },
            '*' => toks.push(Tok::Star),
            c => toks.push(Tok::Char(c)),
        }
    }
    let s: Vec<char> = s.chars().collect();
    // Classic two-pointer wildcard match with backtracking to the last star.
    let (mut i, mut j) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        if j < toks.len() && toks[j] == Tok::Char(s[i]) {
            i += 1;
            j += 1;
        } else if j < toks.len() && toks[j] == Tok::Star {
            star = Some((j, i));
            j += 1;
        } else if let Some((sj, si)) = star {
            j = sj + 1;
            i = si + 1;
            star = Some((sj, si + 1));
        } else {
            return false;
        }
    }
    while j < toks.len() && toks[j] == Tok::Star {
        j += 1;
    }
    j == toks.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard("log-2024.txt", "log-*.txt"));
        assert!(wildcard("a*b", "a\\*b"));
        assert!(!wildcard("axb", "a\\*b"));
        assert!(wildcard("anything", "*"));
        assert!(!wildcard("abc", "a*d"));
    }
}
