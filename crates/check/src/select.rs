//! The column names of a query's result, read cheaply from its select list, for `\gset`
//! (which sets one variable per column, named after it).
//!
//! Only the outer select list is read: `name`, `t.name`, `expr AS name`, `expr name`,
//! `"Quoted"` and `f(...)` (named after the function, as PostgreSQL and Redshift name an
//! unaliased call). Anything else (`*`, `CASE`, casts, arithmetic without an alias, a
//! statement that is not a SELECT) gives `None`: the columns are unknown, and the checker then
//! reports no undefined variables it could have set. Unquoted names fold to lower case.

/// A token of the select list: only what naming needs is told apart.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Quoted(String),
    LParen,
    RParen,
    Comma,
    Dot,
    Star,
    Other,
}

fn tokens(sql: &str) -> Vec<Tok> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            _ if c.is_ascii_whitespace() => i += 1,
            // One statement: its `;` ends it.
            b';' => break,
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut nest = 0usize;
                while i < b.len() {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        nest += 1;
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        nest -= 1;
                        i += 2;
                        if nest == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            b'\'' => {
                i += 1;
                while i < b.len() {
                    if b[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    if b[i] == b'\'' {
                        if b.get(i + 1) == Some(&b'\'') {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
                out.push(Tok::Other);
            }
            b'"' => {
                let start = i + 1;
                i += 1;
                let mut name = String::new();
                let mut from = start;
                while i < b.len() {
                    if b[i] == b'"' {
                        name.push_str(&sql[from..i]);
                        if b.get(i + 1) == Some(&b'"') {
                            name.push('"');
                            i += 2;
                            from = i;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
                out.push(Tok::Quoted(name));
            }
            b'(' => {
                out.push(Tok::LParen);
                i += 1;
            }
            b')' => {
                out.push(Tok::RParen);
                i += 1;
            }
            b',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            b'.' => {
                out.push(Tok::Dot);
                i += 1;
            }
            b'*' => {
                out.push(Tok::Star);
                i += 1;
            }
            _ if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 => {
                let start = i;
                while i < b.len()
                    && (b[i].is_ascii_alphanumeric()
                        || b[i] == b'_'
                        || b[i] == b'$'
                        || b[i] >= 0x80)
                {
                    i += 1;
                }
                while !sql.is_char_boundary(i) {
                    i += 1;
                }
                out.push(Tok::Word(sql[start..i].to_lowercase()));
            }
            _ => {
                // Numbers, operators, :variables, dollar quotes: none names a column.
                let start = i;
                i += 1;
                while i < b.len() && !sql.is_char_boundary(i) {
                    i += 1;
                }
                if c == b'$' {
                    // A dollar-quoted string: skip to its closing tag.
                    if let Some(len) = sql[start + 1..].find('$') {
                        let tag = &sql[start..start + len + 2];
                        if tag[1..tag.len() - 1]
                            .bytes()
                            .all(|x| x.is_ascii_alphanumeric() || x == b'_')
                            && let Some(end) = sql[start + tag.len()..].find(tag)
                        {
                            i = start + tag.len() + end + tag.len();
                        }
                    }
                }
                out.push(Tok::Other);
            }
        }
    }
    out
}

/// Words that end the select list.
const LIST_END: &[&str] = &[
    "from",
    "into",
    "where",
    "group",
    "having",
    "order",
    "limit",
    "union",
    "intersect",
    "except",
    "minus",
    "qualify",
    "window",
    "offset",
    "fetch",
];

/// Words that are never an alias written without AS.
const NOT_ALIAS: &[&str] = &[
    "end", "null", "true", "false", "and", "or", "not", "is", "in", "like", "between", "else",
    "then", "when", "case", "as", "distinct", "all", "over", "filter", "within",
];

/// The result columns of `sql`, when they can be read; see the module documentation.
pub(crate) fn columns(sql: &str) -> Option<Vec<String>> {
    let toks = tokens(sql);
    let first = toks.iter().position(|t| *t != Tok::LParen)?;
    if !matches!(&toks[first], Tok::Word(w) if w == "select" || w == "with") {
        return None;
    }
    // The outer SELECT: the first at depth 0 (a WITH's queries are in parentheses).
    let mut depth = 0usize;
    let mut start = None;
    for (i, t) in toks.iter().enumerate().skip(first) {
        match t {
            Tok::LParen => depth += 1,
            Tok::RParen => depth = depth.saturating_sub(1),
            Tok::Word(w) if w == "select" && depth == 0 => {
                start = Some(i + 1);
                break;
            }
            _ => {}
        }
    }
    let mut i = start?;
    if let Some(Tok::Word(w)) = toks.get(i)
        && (w == "distinct" || w == "all")
    {
        i += 1;
    }
    if let Some(Tok::Word(w)) = toks.get(i)
        && w == "top"
    {
        i += 2;
    }
    let base = 0usize;
    let mut items: Vec<&[Tok]> = Vec::new();
    let mut item_start = i;
    let mut depth = base;
    let mut end = toks.len();
    for (j, t) in toks.iter().enumerate().skip(i) {
        match t {
            Tok::LParen => depth += 1,
            Tok::RParen => {
                if depth == base {
                    end = j;
                    break;
                }
                depth -= 1;
            }
            Tok::Comma if depth == base => {
                items.push(&toks[item_start..j]);
                item_start = j + 1;
            }
            Tok::Word(w) if depth == base && LIST_END.contains(&w.as_str()) => {
                end = j;
                break;
            }
            _ => {}
        }
    }
    items.push(&toks[item_start.min(end)..end]);
    items.into_iter().map(name_of).collect()
}

fn name_of(item: &[Tok]) -> Option<String> {
    let n = item.len();
    let name = |t: &Tok| match t {
        Tok::Word(w) if !NOT_ALIAS.contains(&w.as_str()) => Some(w.clone()),
        Tok::Quoted(q) => Some(q.clone()),
        _ => None,
    };
    match item {
        [] => None,
        [one] => name(one),
        [.., Tok::Word(a), last] if a == "as" => name(last),
        [.., Tok::Dot, last] => name(last),
        [Tok::Word(f), Tok::LParen, .., Tok::RParen] if f != "cast" => {
            // A call, unless the parentheses close before the end (f(x) + 1 is not a call).
            let mut depth = 0usize;
            for (k, t) in item.iter().enumerate().skip(1) {
                match t {
                    Tok::LParen => depth += 1,
                    Tok::RParen => {
                        depth -= 1;
                        if depth == 0 && k != n - 1 {
                            return None;
                        }
                    }
                    _ => {}
                }
            }
            name(&item[0])
        }
        [.., prev, last] if matches!(prev, Tok::Word(_) | Tok::Quoted(_) | Tok::RParen) => {
            // `expr alias`, written without AS.
            if matches!(prev, Tok::Word(w) if NOT_ALIAS.contains(&w.as_str())) {
                return None;
            }
            name(last)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(s: &str) -> Option<Vec<String>> {
        columns(s)
    }

    #[test]
    fn named_columns() {
        assert_eq!(
            cols("SELECT COUNT(*) AS n FROM t WHERE x = 1"),
            Some(vec!["n".into()])
        );
        assert_eq!(
            cols("select a, t.B, \"Mixed\", max(x) m, count(*) from t"),
            Some(vec![
                "a".into(),
                "b".into(),
                "Mixed".into(),
                "m".into(),
                "count".into()
            ])
        );
        assert_eq!(
            cols("SELECT (SELECT count(*) FROM c) AS customers,\n (SELECT 1) AS regions"),
            Some(vec!["customers".into(), "regions".into()])
        );
        assert_eq!(
            cols("with x as (select 1 as q) select q as r from x"),
            Some(vec!["r".into()])
        );
        assert_eq!(cols("select 1 as one;"), Some(vec!["one".into()]));
        assert_eq!(cols("select top 1 a from t"), Some(vec!["a".into()]));
    }

    #[test]
    fn unknown_columns() {
        assert_eq!(cols("select * from t"), None);
        assert_eq!(cols("select 1"), None);
        assert_eq!(cols("select a + 1 from t"), None);
        assert_eq!(cols("select case when a then 1 end from t"), None);
        assert_eq!(cols("select x::int from t"), None);
        assert_eq!(cols("insert into t values (1)"), None);
        assert_eq!(cols("select cast(a as int) from t"), None);
        assert_eq!(cols("select f(a) + 1 from t"), None);
    }
}
