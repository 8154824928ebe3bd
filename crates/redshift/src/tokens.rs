//! Tokens of one statement with their byte ranges in the original text, and a set of edits
//! (byte-range replacements) applied at the end, so that lexical rewrites change only what they
//! must and leave the rest of the user's SQL exactly as written.

use std::ops::Range;

use sqlparser::dialect::RedshiftSqlDialect;
use sqlparser::tokenizer::{Token, Tokenizer};

/// A significant (non-whitespace, non-comment) token.
#[derive(Debug, Clone)]
pub struct Tok {
    /// The token.
    pub token: Token,
    /// Its bytes in the statement.
    pub range: Range<usize>,
}

impl Tok {
    /// True when the token is the unquoted word `word` (any case).
    pub fn is_word(&self, word: &str) -> bool {
        matches!(&self.token, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word))
    }

    /// The word's value, if the token is a word.
    pub fn word(&self) -> Option<&str> {
        match &self.token {
            Token::Word(w) => Some(&w.value),
            _ => None,
        }
    }
}

/// Tokenizes a statement; `None` when the tokenizer rejects it.
pub fn tokenize(sql: &str) -> Option<Vec<Tok>> {
    let dialect = RedshiftSqlDialect {};
    let toks = Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .ok()?;
    let index = LineIndex::new(sql);
    let mut out = Vec::with_capacity(toks.len());
    for t in toks {
        if matches!(t.token, Token::Whitespace(_) | Token::EOF) {
            continue;
        }
        let start = index.offset(t.span.start.line, t.span.start.column)?;
        let end = index.offset(t.span.end.line, t.span.end.column)?;
        out.push(Tok {
            token: t.token,
            range: start..end.max(start),
        });
    }
    Some(out)
}

/// Maps 1-based (line, column-in-chars) positions to byte offsets. Tokens arrive in order, so
/// the last position found is kept and the next one is counted on from it: linear in the
/// statement's length (counting from the line's start each time made a long one-line INSERT
/// quadratic: 160 KB took 22 s).
struct LineIndex<'a> {
    src: &'a str,
    starts: Vec<usize>,
    /// The last (line, 0-based column, byte offset) found.
    cursor: std::cell::Cell<(u64, usize, usize)>,
}

impl<'a> LineIndex<'a> {
    fn new(src: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(src.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex {
            src,
            starts,
            cursor: std::cell::Cell::new((0, 0, 0)),
        }
    }

    fn offset(&self, line: u64, column: u64) -> Option<usize> {
        let start = *self.starts.get((line as usize).checked_sub(1)?)?;
        let col = (column as usize).checked_sub(1)?;
        let (cl, ccol, cbyte) = self.cursor.get();
        let (from_col, from_byte) = if cl == line && ccol <= col {
            (ccol, cbyte)
        } else {
            (0, start)
        };
        let rest = &self.src[from_byte..];
        let found = match rest.char_indices().nth(col - from_col) {
            Some((i, _)) => from_byte + i,
            None => self.src.len(),
        };
        self.cursor.set((line, col, found));
        Some(found)
    }
}

/// Byte-range replacements on a statement.
#[derive(Debug, Default, Clone)]
pub struct Edits {
    edits: Vec<(Range<usize>, String)>,
}

impl Edits {
    /// Replaces a range.
    pub fn replace(&mut self, range: Range<usize>, with: impl Into<String>) {
        self.edits.push((range, with.into()));
    }

    /// Removes a range.
    pub fn remove(&mut self, range: Range<usize>) {
        self.replace(range, "");
    }

    /// Removes the tokens `toks[from..to]` (and the whitespace before the first).
    pub fn remove_tokens(&mut self, toks: &[Tok], from: usize, to: usize, sql: &str) {
        if from >= to || to > toks.len() {
            return;
        }
        let mut start = toks[from].range.start;
        while start > 0 && sql.as_bytes()[start - 1].is_ascii_whitespace() {
            start -= 1;
        }
        self.remove(start..toks[to - 1].range.end);
    }

    /// True when there are no edits.
    pub fn is_empty(&self) -> bool {
        self.edits.is_empty()
    }

    /// Applies the edits (ranges must not overlap) to `sql`.
    pub fn apply(&self, sql: &str) -> String {
        let mut edits: Vec<&(Range<usize>, String)> = self.edits.iter().collect();
        edits.sort_by_key(|(r, _)| r.start);
        let mut out = String::with_capacity(sql.len());
        let mut pos = 0;
        for (r, with) in edits {
            if r.start < pos {
                continue;
            }
            out.push_str(&sql[pos..r.start]);
            out.push_str(with);
            pos = r.end;
        }
        out.push_str(&sql[pos..]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_point_at_the_text() {
        let sql = "select 'é', \"Ab\"\n  from t -- c\n;";
        let toks = tokenize(sql).unwrap();
        let texts: Vec<&str> = toks.iter().map(|t| &sql[t.range.clone()]).collect();
        assert_eq!(
            texts,
            vec!["select", "'é'", ",", "\"Ab\"", "from", "t", ";"]
        );
    }

    #[test]
    fn edits_apply_in_order() {
        let mut e = Edits::default();
        e.replace(7..8, "X");
        e.remove(0..1);
        assert_eq!(e.apply("abcdefghi"), "bcdefgXi");
    }
}
