//! `\if` / `\elseif` expressions: comparisons (`= == <> != ^= < <= > >=`), AND, OR, NOT and
//! parentheses over interpolated operands. Numbers compare numerically when both sides are
//! numeric (booleans count as 1/0 against a number), everything else compares as strings.

use std::cmp::Ordering;

use crate::args::{quote_ident, var_at};
use crate::vars::{Variables, parse_bool};

/// Why an expression could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExprError {
    /// The expression is empty.
    #[error("missing expression")]
    Empty,
    /// A quote was not closed.
    #[error("unterminated quoted string in expression")]
    Unterminated,
    /// Tokens that do not form an expression.
    #[error("syntax error in \\if expression near \"{0}\"")]
    Syntax(String),
    /// The expression stops in the middle.
    #[error("incomplete \\if expression")]
    Incomplete,
    /// A lone operand that is not a boolean.
    #[error("unrecognized value \"{0}\" for \"\\if expression\": Boolean expected")]
    NotBoolean(String),
    /// Parentheses and NOTs nested deeper than [`MAX_NESTING`].
    #[error("\\if expression nested more than {0} levels deep (parentheses and NOT)")]
    TooDeep(usize),
}

/// How deeply parentheses and NOTs may nest in an `\if` expression. RSQL's documentation
/// gives no limit (https://docs.aws.amazon.com/redshift/latest/mgmt/rsql-query-tool-commands.html,
/// \IF); this one is generous for any real script and keeps hostile input from using unbounded
/// memory. The parser keeps no stack frames per level, so the limit is not about the stack.
pub const MAX_NESTING: usize = 1000;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Operand { text: String, quoted: bool },
    Op(CmpOp),
    And,
    Or,
    Not,
    LParen,
    RParen,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

fn tokenize(raw: &str, vars: &Variables) -> Result<Vec<Tok>, ExprError> {
    let mut toks = Vec::new();
    let b = raw.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let two = raw.get(i..i + 2).unwrap_or("");
        let op = match two {
            "==" => Some((CmpOp::Eq, 2)),
            "<>" | "!=" | "^=" => Some((CmpOp::Ne, 2)),
            "<=" => Some((CmpOp::Le, 2)),
            ">=" => Some((CmpOp::Ge, 2)),
            _ => match c {
                b'=' => Some((CmpOp::Eq, 1)),
                b'<' => Some((CmpOp::Lt, 1)),
                b'>' => Some((CmpOp::Gt, 1)),
                _ => None,
            },
        };
        if let Some((op, n)) = op {
            toks.push(Tok::Op(op));
            i += n;
            continue;
        }
        match c {
            b'(' => {
                toks.push(Tok::LParen);
                i += 1;
            }
            b')' => {
                toks.push(Tok::RParen);
                i += 1;
            }
            b'\'' => {
                let mut text = String::new();
                i += 1;
                loop {
                    let Some(rest) = raw.get(i..).filter(|r| !r.is_empty()) else {
                        return Err(ExprError::Unterminated);
                    };
                    let ch = rest.chars().next().unwrap_or('\'');
                    i += ch.len_utf8();
                    if ch == '\'' {
                        if raw[i..].starts_with('\'') {
                            text.push('\'');
                            i += 1;
                            continue;
                        }
                        break;
                    }
                    text.push(ch);
                }
                toks.push(Tok::Operand { text, quoted: true });
            }
            b':' if var_at(&raw[i..]).is_some() => {
                let (len, name, q) = var_at(&raw[i..]).unwrap_or((1, "", None));
                let tok = match vars.get(name) {
                    Some(v) => match q {
                        None => Tok::Operand {
                            text: v.to_string(),
                            quoted: false,
                        },
                        Some('\'') => Tok::Operand {
                            text: v.to_string(),
                            quoted: true,
                        },
                        Some(_) => Tok::Operand {
                            text: quote_ident(v),
                            quoted: false,
                        },
                    },
                    None => Tok::Operand {
                        text: raw[i..i + len].to_string(),
                        quoted: false,
                    },
                };
                toks.push(tok);
                i += len;
            }
            _ => {
                let start = i;
                while i < raw.len() {
                    let c = b[i];
                    if c.is_ascii_whitespace() || b"()=<>!^'".contains(&c) {
                        break;
                    }
                    i += 1;
                }
                if i == start {
                    // A lone `!` or `^` that is not part of an operator.
                    i += 1;
                }
                let word = &raw[start..i];
                toks.push(match word.to_ascii_uppercase().as_str() {
                    "AND" => Tok::And,
                    "OR" => Tok::Or,
                    "NOT" => Tok::Not,
                    _ => Tok::Operand {
                        text: word.to_string(),
                        quoted: false,
                    },
                });
            }
        }
    }
    Ok(toks)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn near(&self) -> String {
        match self.peek() {
            None => String::new(),
            Some(Tok::Operand { text, .. }) => text.clone(),
            Some(Tok::Op(_)) => "operator".into(),
            Some(Tok::And) => "AND".into(),
            Some(Tok::Or) => "OR".into(),
            Some(Tok::Not) => "NOT".into(),
            Some(Tok::LParen) => "(".into(),
            Some(Tok::RParen) => ")".into(),
        }
    }

    fn syntax(&self) -> ExprError {
        if self.pos >= self.toks.len() {
            ExprError::Incomplete
        } else {
            ExprError::Syntax(self.near())
        }
    }

    /// Parses and evaluates the whole expression:
    ///
    /// ```text
    /// or      := and (OR and)*
    /// and     := not (AND not)*
    /// not     := NOT not | primary
    /// primary := '(' or ')' | operand [comparison operand]
    /// ```
    ///
    /// The grammar is recursive but the parser is not: pending work is kept on an explicit
    /// stack (one [`Cont`] per call a recursive-descent parser would be inside), so hostile
    /// nesting cannot exhaust the thread's stack. Nesting (parentheses and NOTs) is still
    /// limited to [`MAX_NESTING`] levels.
    fn expression(&mut self) -> Result<bool, ExprError> {
        let mut stack = vec![Cont::Or(None), Cont::And(None)];
        let mut nesting = 0usize;
        loop {
            // Descend to a primary, noting each NOT and '(' passed on the way.
            let mut v = loop {
                match self.peek() {
                    Some(Tok::Not) | Some(Tok::LParen) => {
                        nesting += 1;
                        if nesting > MAX_NESTING {
                            return Err(ExprError::TooDeep(MAX_NESTING));
                        }
                        if self.peek() == Some(&Tok::Not) {
                            stack.push(Cont::Not);
                        } else {
                            stack.extend([Cont::Paren, Cont::Or(None), Cont::And(None)]);
                        }
                        self.pos += 1;
                    }
                    _ => break self.operand()?,
                }
            };
            // Return `v` up the pending calls until one of them needs another operand.
            loop {
                let Some(cont) = stack.pop() else {
                    return Ok(v);
                };
                match cont {
                    Cont::Not => {
                        nesting = nesting.saturating_sub(1);
                        v = !v;
                    }
                    Cont::And(acc) => {
                        let r = acc.map_or(v, |a| a && v);
                        if self.peek() == Some(&Tok::And) {
                            self.pos += 1;
                            stack.push(Cont::And(Some(r)));
                            break;
                        }
                        v = r;
                    }
                    Cont::Or(acc) => {
                        let r = acc.map_or(v, |a| a || v);
                        if self.peek() == Some(&Tok::Or) {
                            self.pos += 1;
                            stack.extend([Cont::Or(Some(r)), Cont::And(None)]);
                            break;
                        }
                        v = r;
                    }
                    Cont::Paren => {
                        nesting = nesting.saturating_sub(1);
                        if self.peek() != Some(&Tok::RParen) {
                            return Err(self.syntax());
                        }
                        self.pos += 1;
                    }
                }
            }
        }
    }

    /// `operand [comparison operand]`: a comparison, or a lone operand read as a boolean.
    fn operand(&mut self) -> Result<bool, ExprError> {
        let Some(Tok::Operand { text, quoted }) = self.peek().cloned() else {
            return Err(self.syntax());
        };
        self.pos += 1;
        if let Some(Tok::Op(op)) = self.peek().cloned() {
            self.pos += 1;
            let Some(Tok::Operand {
                text: rt,
                quoted: rq,
            }) = self.peek().cloned()
            else {
                return Err(self.syntax());
            };
            self.pos += 1;
            Ok(compare(&text, quoted, &rt, rq, op))
        } else {
            parse_bool(&text).ok_or(ExprError::NotBoolean(text))
        }
    }
}

/// What is left to do once the value being parsed is known: the rest of a call that a
/// recursive-descent parser would have on its stack.
#[derive(Debug, Clone, Copy)]
enum Cont {
    /// In `or`, after the first operand (`None`) or after `acc OR`.
    Or(Option<bool>),
    /// In `and`, after the first operand (`None`) or after `acc AND`.
    And(Option<bool>),
    /// After `NOT`: negate.
    Not,
    /// After `(`: expect `)`.
    Paren,
}

/// An exact decimal: sign, integer digits, fraction digits (no exponent, so `2E000` is text).
fn as_number(s: &str) -> Option<(bool, String, String)> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() || !int.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if body.contains('.') && (frac.is_empty() || !frac.bytes().all(|c| c.is_ascii_digit())) {
        return None;
    }
    let int = int.trim_start_matches('0').to_string();
    let frac = frac.trim_end_matches('0').to_string();
    let zero = int.is_empty() && frac.is_empty();
    Some((neg && !zero, int, frac))
}

fn cmp_numbers(a: &(bool, String, String), b: &(bool, String, String)) -> Ordering {
    let mag = |x: &(bool, String, String), y: &(bool, String, String)| {
        x.1.len()
            .cmp(&y.1.len())
            .then_with(|| x.1.cmp(&y.1))
            .then_with(|| x.2.cmp(&y.2))
    };
    match (a.0, b.0) {
        (false, true) => Ordering::Greater,
        (true, false) => Ordering::Less,
        (false, false) => mag(a, b),
        (true, true) => mag(b, a),
    }
}

fn numeric_operand(text: &str, quoted: bool) -> Option<(bool, String, String)> {
    if quoted { None } else { as_number(text) }
}

fn compare(l: &str, lq: bool, r: &str, rq: bool, op: CmpOp) -> bool {
    let ln = numeric_operand(l, lq);
    let rn = numeric_operand(r, rq);
    let bool_num = |t: &str, q: bool| {
        (!q).then(|| parse_bool(t))
            .flatten()
            .filter(|_| !t.is_empty())
            .map(|b| (false, if b { "1" } else { "" }.to_string(), String::new()))
    };
    let ord = match (ln, rn) {
        (Some(a), Some(b)) => cmp_numbers(&a, &b),
        (Some(a), None) => match bool_num(r, rq) {
            Some(b) => cmp_numbers(&a, &b),
            None => l.cmp(r),
        },
        (None, Some(b)) => match bool_num(l, lq) {
            Some(a) => cmp_numbers(&a, &b),
            None => l.cmp(r),
        },
        (None, None) => l.cmp(r),
    };
    match op {
        CmpOp::Eq => ord == Ordering::Equal,
        CmpOp::Ne => ord != Ordering::Equal,
        CmpOp::Lt => ord == Ordering::Less,
        CmpOp::Le => ord != Ordering::Greater,
        CmpOp::Gt => ord == Ordering::Greater,
        CmpOp::Ge => ord != Ordering::Less,
    }
}

/// Evaluates an `\if` expression from its raw argument text.
pub fn evaluate(raw: &str, vars: &Variables) -> Result<bool, ExprError> {
    let toks = tokenize(raw, vars)?;
    if toks.is_empty() {
        return Err(ExprError::Empty);
    }
    let mut p = Parser { toks, pos: 0 };
    let v = p.expression()?;
    if p.pos != p.toks.len() {
        return Err(p.syntax());
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(s: &str) -> Result<bool, ExprError> {
        let mut v = Variables::new();
        v.set("cnt", "150");
        v.set("big", "18446744073709551615");
        v.set("name", "abc");
        evaluate(s, &v)
    }

    #[test]
    fn comparisons() {
        assert_eq!(ev(":cnt > 100"), Ok(true));
        assert_eq!(ev(":cnt>100"), Ok(true));
        assert_eq!(ev(":cnt = 150.0"), Ok(true));
        assert_eq!(ev(":cnt < 20"), Ok(false));
        assert_eq!(ev("'150' < '20'"), Ok(true));
        assert_eq!(ev(":big > 18446744073709551614"), Ok(true));
        assert_eq!(ev("-1 < 0"), Ok(true));
        assert_eq!(ev(":name = abc"), Ok(true));
        assert_eq!(ev(":'ERRORCODE' = '00000'"), Ok(true));
        assert_eq!(ev(":ERRORCODE = 0"), Ok(true));
        assert_eq!(ev("2E000 = 2"), Ok(false));
    }

    #[test]
    fn booleans_count_as_numbers() {
        assert_eq!(ev(":ERROR <> 0"), Ok(false));
        assert_eq!(ev(":ERROR = 0"), Ok(true));
        assert_eq!(ev(":ERROR"), Ok(false));
        assert_eq!(ev("true = 1"), Ok(true));
    }

    #[test]
    fn logic() {
        assert_eq!(ev(":cnt > 100 AND :name = abc"), Ok(true));
        assert_eq!(ev("NOT (:cnt > 100) or 1 = 1"), Ok(true));
        assert_eq!(ev("not 1 = 1 and 1 = 1"), Ok(false));
        assert_eq!(ev("(1 = 2 OR 2 = 2) AND NOT 3 = 4"), Ok(true));
    }

    #[test]
    fn errors() {
        assert_eq!(ev(""), Err(ExprError::Empty));
        assert_eq!(ev(":cnt >"), Err(ExprError::Incomplete));
        assert_eq!(ev("(1 = 1"), Err(ExprError::Incomplete));
        assert_eq!(ev("1 = 1 2"), Err(ExprError::Syntax("2".into())));
        assert!(matches!(ev("maybe"), Err(ExprError::NotBoolean(_))));
        assert_eq!(ev("'abc"), Err(ExprError::Unterminated));
    }
    #[test]
    fn deep_nesting_is_an_error_not_an_overflow() {
        // 100,000 levels: far past the limit; the parser must neither recurse nor panic.
        let deep = format!("{}1 = 1{}", "(".repeat(100_000), ")".repeat(100_000));
        assert_eq!(ev(&deep), Err(ExprError::TooDeep(MAX_NESTING)));
        let nots = format!("{}true", "NOT ".repeat(100_000));
        assert_eq!(ev(&nots), Err(ExprError::TooDeep(MAX_NESTING)));
        let mixed = format!("{}true{}", "NOT (".repeat(50_000), ")".repeat(50_000));
        assert_eq!(ev(&mixed), Err(ExprError::TooDeep(MAX_NESTING)));
        assert_eq!(
            ExprError::TooDeep(MAX_NESTING).to_string(),
            "\\if expression nested more than 1000 levels deep (parentheses and NOT)"
        );
    }

    #[test]
    fn nesting_up_to_the_limit_works() {
        let n = MAX_NESTING;
        let parens = format!("{}1 = 1{}", "(".repeat(n), ")".repeat(n));
        assert_eq!(ev(&parens), Ok(true));
        let nots = format!("{}true", "NOT ".repeat(n));
        assert_eq!(ev(&nots), Ok(n.is_multiple_of(2)));
        // Long flat expressions are not nesting.
        let flat = vec!["(1 = 1)"; 10_000].join(" AND ");
        assert_eq!(ev(&flat), Ok(true));
    }

    /// The recursive-descent parser this crate used before the explicit-stack one, kept as an
    /// oracle: both must give the same value or the same error on every input.
    struct Reference(Parser);

    impl Reference {
        fn or(&mut self) -> Result<bool, ExprError> {
            let mut v = self.and()?;
            while self.0.peek() == Some(&Tok::Or) {
                self.0.pos += 1;
                let r = self.and()?;
                v = v || r;
            }
            Ok(v)
        }

        fn and(&mut self) -> Result<bool, ExprError> {
            let mut v = self.not()?;
            while self.0.peek() == Some(&Tok::And) {
                self.0.pos += 1;
                let r = self.not()?;
                v = v && r;
            }
            Ok(v)
        }

        fn not(&mut self) -> Result<bool, ExprError> {
            if self.0.peek() == Some(&Tok::Not) {
                self.0.pos += 1;
                return Ok(!self.not()?);
            }
            if self.0.peek() == Some(&Tok::LParen) {
                self.0.pos += 1;
                let v = self.or()?;
                if self.0.peek() != Some(&Tok::RParen) {
                    return Err(self.0.syntax());
                }
                self.0.pos += 1;
                return Ok(v);
            }
            self.0.operand()
        }
    }

    fn reference(raw: &str, vars: &Variables) -> Result<bool, ExprError> {
        let toks = tokenize(raw, vars)?;
        if toks.is_empty() {
            return Err(ExprError::Empty);
        }
        let mut p = Reference(Parser { toks, pos: 0 });
        let v = p.or()?;
        if p.0.pos != p.0.toks.len() {
            return Err(p.0.syntax());
        }
        Ok(v)
    }

    /// Well-formed expressions (as token lists), so that values are compared, not only errors.
    fn well_formed() -> impl proptest::strategy::Strategy<Value = Vec<&'static str>> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            prop::sample::select(vec!["true", "false", "1", "0", "off", "x"]).prop_map(|t| vec![t]),
            (
                prop::sample::select(vec!["1", "2", ":cnt", "'a'", "true"]),
                prop::sample::select(vec!["=", "<>", "<", ">="]),
                prop::sample::select(vec!["1", "2", "150", "'a'"]),
            )
                .prop_map(|(l, o, r)| vec![l, o, r]),
        ];
        leaf.prop_recursive(6, 48, 3, |inner| {
            prop_oneof![
                inner
                    .clone()
                    .prop_map(|e| [vec!["("], e, vec![")"]].concat()),
                inner.clone().prop_map(|e| [vec!["NOT"], e].concat()),
                (
                    inner.clone(),
                    prop::sample::select(vec!["AND", "OR"]),
                    inner
                )
                    .prop_map(|(l, o, r)| [l, vec![o], r].concat()),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn same_as_recursive_descent(
            tokens in well_formed(),
            noise in proptest::collection::vec(
                (
                    0usize..64,
                    proptest::sample::select(vec!["(", ")", "NOT", "AND", "OR", "=", "x", ""]),
                ),
                0..2,
            )
        ) {
            let mut tokens = tokens;
            for (at, t) in noise {
                tokens.insert(at.min(tokens.len()), t);
            }
            let src = tokens.join(" ");
            let mut v = Variables::new();
            v.set("cnt", "150");
            proptest::prop_assert_eq!(evaluate(&src, &v), reference(&src, &v), "{}", src);
        }
    }
}
