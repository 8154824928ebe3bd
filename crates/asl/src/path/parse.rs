//! The JSONPath parser: Jayway's path syntax (`PathCompiler`) and filter syntax
//! (`FilterCompiler`), with limits that keep its recursion shallow.

use serde_json::Value;

use super::{CmpOp, Filter, Operand, Root, Segment};

/// Parses `text` into its root and steps, or says why not.
pub(super) fn path(text: &str) -> Result<(Root, Vec<Segment>), String> {
    // Jayway trims the path before compiling it (`PathCompiler.compile`: `ci.trim()`).
    let trimmed = text.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'));
    let mut p = Parser {
        s: trimmed.as_bytes(),
        i: 0,
        terms: 0,
        nest: 0,
    };
    if !p.eat(b'$') {
        return Err("a path must start with '$'".into());
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
    let segments = p.segments()?;
    if p.i != p.s.len() {
        return Err(format!("unexpected character at offset {}", p.i));
    }
    Ok((root, segments))
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
