//! Meta-command argument parsing: whitespace-separated words with psql's quoting rules,
//! backslash escapes in single quotes, backtick commands and variable interpolation.

use crate::vars::Variables;

/// One parsed argument.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Arg {
    /// The argument text after quote removal and interpolation.
    pub text: String,
    /// True when any part of the argument came from single quotes or `:'var'`.
    pub quoted: bool,
}

/// Runs a backtick command and returns its output.
pub type Backtick<'a> = &'a mut dyn FnMut(&str) -> Result<String, String>;

/// Errors while parsing arguments.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgError {
    /// A quote was opened and never closed.
    #[error("unterminated quoted string")]
    UnterminatedQuote,
    /// A backtick command failed.
    #[error("{0}")]
    Backtick(String),
}

/// Splits raw argument text into arguments.
pub fn parse(raw: &str, vars: &Variables, backtick: Backtick<'_>) -> Result<Vec<Arg>, ArgError> {
    parse_with(raw, vars, backtick, &mut |_, _| {})
}

/// As [`parse`], telling `on_var` of every variable reference interpolated outside quotes and
/// backticks: its byte range in `raw` (from the colon) and its name.
pub fn parse_with(
    raw: &str,
    vars: &Variables,
    backtick: Backtick<'_>,
    on_var: &mut dyn FnMut(std::ops::Range<usize>, &str),
) -> Result<Vec<Arg>, ArgError> {
    let mut out = Vec::new();
    let mut chars = raw.char_indices().peekable();
    let mut cur: Option<Arg> = None;
    while let Some((i, c)) = chars.next() {
        if c.is_whitespace() {
            if let Some(a) = cur.take() {
                out.push(a);
            }
            continue;
        }
        let arg = cur.get_or_insert_with(Arg::default);
        match c {
            '\'' => {
                arg.quoted = true;
                loop {
                    let Some((_, c)) = chars.next() else {
                        return Err(ArgError::UnterminatedQuote);
                    };
                    match c {
                        '\'' => {
                            if chars.peek().map(|p| p.1) == Some('\'') {
                                chars.next();
                                arg.text.push('\'');
                            } else {
                                break;
                            }
                        }
                        '\\' => {
                            let Some((_, e)) = chars.next() else {
                                return Err(ArgError::UnterminatedQuote);
                            };
                            match e {
                                'n' => arg.text.push('\n'),
                                't' => arg.text.push('\t'),
                                'b' => arg.text.push('\u{8}'),
                                'r' => arg.text.push('\r'),
                                'f' => arg.text.push('\u{c}'),
                                '0'..='7' => {
                                    let mut v = e.to_digit(8).unwrap_or(0);
                                    for _ in 0..2 {
                                        match chars.peek().and_then(|p| p.1.to_digit(8)) {
                                            Some(d) => {
                                                v = v * 8 + d;
                                                chars.next();
                                            }
                                            None => break,
                                        }
                                    }
                                    arg.text.extend(char::from_u32(v));
                                }
                                'x' => {
                                    let mut v = 0;
                                    let mut n = 0;
                                    while n < 2 {
                                        match chars.peek().and_then(|p| p.1.to_digit(16)) {
                                            Some(d) => {
                                                v = v * 16 + d;
                                                chars.next();
                                                n += 1;
                                            }
                                            None => break,
                                        }
                                    }
                                    if n == 0 {
                                        arg.text.push('x');
                                    } else {
                                        arg.text.extend(char::from_u32(v));
                                    }
                                }
                                other => arg.text.push(other),
                            }
                        }
                        other => arg.text.push(other),
                    }
                }
            }
            '"' => {
                arg.text.push('"');
                loop {
                    let Some((_, c)) = chars.next() else {
                        return Err(ArgError::UnterminatedQuote);
                    };
                    arg.text.push(c);
                    if c == '"' {
                        if chars.peek().map(|p| p.1) == Some('"') {
                            chars.next();
                            arg.text.push('"');
                        } else {
                            break;
                        }
                    }
                }
            }
            '`' => {
                let mut cmd = String::new();
                loop {
                    let Some((_, c)) = chars.next() else {
                        return Err(ArgError::UnterminatedQuote);
                    };
                    if c == '`' {
                        break;
                    }
                    cmd.push(c);
                }
                let cmd = interpolate_plain(&cmd, vars);
                let mut res = backtick(&cmd).map_err(ArgError::Backtick)?;
                if res.ends_with('\n') {
                    res.pop();
                }
                arg.text.push_str(&res);
            }
            ':' => match var_at(&raw[i..]) {
                Some((len, name, q)) => {
                    on_var(i..i + len, name);
                    for _ in 1..len {
                        chars.next();
                    }
                    match vars.get(name) {
                        Some(v) => match q {
                            None => arg.text.push_str(v),
                            Some('\'') => {
                                arg.quoted = true;
                                arg.text.push_str(v);
                            }
                            Some(_) => arg.text.push_str(&quote_ident(v)),
                        },
                        None => arg.text.push_str(&raw[i..i + len]),
                    }
                }
                None => arg.text.push(':'),
            },
            other => arg.text.push(other),
        }
    }
    if let Some(a) = cur.take() {
        out.push(a);
    }
    Ok(out)
}

/// At a `:`, recognises `:name`, `:'name'` or `:"name"`: returns the length in bytes, the name
/// and the quote character.
pub fn var_at(s: &str) -> Option<(usize, &str, Option<char>)> {
    let rest = s.strip_prefix(':')?;
    let is_name = |c: char| c.is_alphanumeric() || c == '_';
    match rest.chars().next()? {
        q @ ('\'' | '"') => {
            let inner = &rest[1..];
            let n = inner.find(|c: char| !is_name(c)).unwrap_or(inner.len());
            (n > 0 && inner[n..].starts_with(q)).then(|| (n + 3, &inner[..n], Some(q)))
        }
        c if is_name(c) => {
            let n = rest.find(|c: char| !is_name(c)).unwrap_or(rest.len());
            Some((n + 1, &rest[..n], None))
        }
        _ => None,
    }
}

/// Interpolates `:name` forms in text with no quoting rules (used for backtick commands).
fn interpolate_plain(s: &str, vars: &Variables) -> String {
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let rest = &s[i..];
        if rest.starts_with(':')
            && let Some((len, name, q)) = var_at(rest)
            && let Some(v) = vars.get(name)
        {
            match q {
                None => out.push_str(v),
                Some('\'') => out.push_str(&quote_literal(v)),
                Some(_) => out.push_str(&quote_ident(v)),
            }
            i += len;
            continue;
        }
        let c = rest.chars().next().unwrap_or(' ');
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// Quotes a value as an SQL string literal.
pub fn quote_literal(v: &str) -> String {
    format!("'{}'", v.replace('\'', "''"))
}

/// Quotes a value as an SQL identifier.
pub fn quote_ident(v: &str) -> String {
    format!("\"{}\"", v.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(raw: &str) -> Vec<String> {
        let mut vars = Variables::new();
        vars.set("x", "va lue");
        parse(raw, &vars, &mut |c| Ok(format!("<{c}>\n")))
            .unwrap()
            .into_iter()
            .map(|a| a.text)
            .collect()
    }

    #[test]
    fn quoting_rules() {
        assert_eq!(p("a  'b c' d'e'"), vec!["a", "b c", "de"]);
        assert_eq!(p(r"'it''s' '\n\t\101\x41'"), vec!["it's", "\n\tAA"]);
        assert_eq!(
            p("\"Id\" :x :'x' :\"x\" :nope"),
            vec!["\"Id\"", "va lue", "va lue", "\"va lue\"", ":nope"]
        );
        assert_eq!(p("`echo :x`"), vec!["<echo va lue>"]);
    }

    #[test]
    fn unterminated_quote_is_an_error() {
        let vars = Variables::new();
        assert_eq!(
            parse("'abc", &vars, &mut |_| Ok(String::new())),
            Err(ArgError::UnterminatedQuote)
        );
    }
}
