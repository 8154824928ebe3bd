//! Splits RSQL input into SQL chunks and meta-commands, following psql's lexical rules.
//!
//! The lexer never fails and never loses text: the ranges of the pieces it returns tile the
//! input exactly, so joining them gives the input back. A SQL chunk ends at a `;` outside
//! quotes, dollar quotes, comments and parentheses (the `;` belongs to the chunk), before a
//! meta-command, or at the end of input. A chunk that reaches the end of input inside a quote or
//! comment carries an [`Unterminated`] marker so the interpreter can report it.

use std::ops::Range;

/// One piece of lexed input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// Byte range of the piece in the source.
    pub range: Range<usize>,
    /// 1-based line on which the piece's content starts.
    pub line: usize,
    /// What the piece is.
    pub kind: PieceKind,
}

/// The kinds of piece.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PieceKind {
    /// SQL text (possibly only whitespace and comments).
    Sql(SqlChunk),
    /// A backslash meta-command with its argument text.
    Meta(MetaCommand),
}

/// A run of SQL text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlChunk {
    /// Offset where content starts: leading whitespace and `--` comments are skipped, as psql
    /// drops them from an empty query buffer.
    pub content_start: usize,
    /// Variable references in the chunk, in order.
    pub vars: Vec<VarRef>,
    /// True when the chunk ends with a statement-terminating `;`.
    pub terminated: bool,
    /// Set when the input ended inside a quote or comment.
    pub unterminated: Option<Unterminated>,
    /// Parentheses still open where the chunk ends (for psql's `(` continuation prompt).
    pub open_parens: usize,
}

/// A construct left open at the end of input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unterminated {
    /// What was left open.
    pub what: OpenConstruct,
    /// 1-based line where it was opened.
    pub line: usize,
    /// Byte offset in the source where it was opened.
    pub offset: usize,
}

/// Constructs that can be left open at the end of input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenConstruct {
    /// `'...`
    QuotedString,
    /// `"...`
    QuotedIdentifier,
    /// `$tag$...`
    DollarQuote,
    /// `/* ...`
    BlockComment,
}

impl OpenConstruct {
    /// Human-readable name used in error messages.
    pub fn describe(self) -> &'static str {
        match self {
            OpenConstruct::QuotedString => "unterminated quoted string",
            OpenConstruct::QuotedIdentifier => "unterminated quoted identifier",
            OpenConstruct::DollarQuote => "unterminated dollar-quoted string",
            OpenConstruct::BlockComment => "unterminated /* comment",
        }
    }
}

/// A `:name`, `:'name'` or `:"name"` reference inside SQL text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarRef {
    /// Range of the whole reference, including the colon and quotes.
    pub range: Range<usize>,
    /// Range of the variable name.
    pub name: Range<usize>,
    /// How the value is to be inserted.
    pub quoting: Quoting,
}

/// How a variable's value is inserted into text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quoting {
    /// `:name`: the raw value.
    Raw,
    /// `:'name'`: a single-quoted SQL literal.
    Literal,
    /// `:"name"`: a double-quoted identifier.
    Identifier,
}

/// A meta-command: `\name args`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaCommand {
    /// Range of the command name (without the backslash).
    pub name: Range<usize>,
    /// Range of the raw argument text (up to the end of line or a `\\` separator).
    pub args: Range<usize>,
}

/// Meta-commands whose argument is the whole rest of the line, taken raw.
fn takes_whole_line(name: &str) -> bool {
    matches!(name, "!" | "copy") || name.eq_ignore_ascii_case("os")
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_ident_char(b: u8) -> bool {
    is_ident_start(b) || b.is_ascii_digit() || b == b'$'
}

/// Bytes that can start or end something in SQL text; any other byte is just text.
fn is_special(b: u8) -> bool {
    matches!(
        b,
        b'\\' | b';' | b'(' | b')' | b'-' | b'/' | b'\'' | b'"' | b'$' | b':'
    )
}

fn is_var_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// Lexes a whole input into pieces.
pub fn lex(src: &str) -> Vec<Piece> {
    Lexer::new(src).run()
}

struct Lexer<'a> {
    src: &'a str,
    b: &'a [u8],
    pos: usize,
    line: usize,
    pieces: Vec<Piece>,
}

enum ChunkEnd {
    Semicolon,
    Backslash,
    Eof(Option<Unterminated>),
}

impl<'a> Lexer<'a> {
    fn new(src: &'a str) -> Self {
        Lexer {
            src,
            b: src.as_bytes(),
            pos: 0,
            line: 1,
            pieces: Vec::new(),
        }
    }

    fn run(mut self) -> Vec<Piece> {
        while self.pos < self.b.len() {
            if self.b[self.pos] == b'\\' {
                self.meta();
            } else {
                self.sql();
            }
        }
        self.pieces
    }

    fn advance(&mut self) {
        if self.b[self.pos] == b'\n' {
            self.line += 1;
        }
        self.pos += 1;
    }

    fn advance_to(&mut self, end: usize) {
        let end = end.min(self.b.len());
        self.line += memchr_count(&self.b[self.pos..end]);
        self.pos = end;
    }

    fn peek(&self, off: usize) -> Option<u8> {
        self.b.get(self.pos + off).copied()
    }

    fn sql(&mut self) {
        let start = self.pos;
        let start_line = self.line;
        let mut content_start = None;
        let mut content_line = start_line;
        let mut vars = Vec::new();
        let mut depth: usize = 0;
        let end = loop {
            let Some(c) = self.peek(0) else {
                break ChunkEnd::Eof(None);
            };
            let prev_ident = self.pos > start && is_ident_char(self.b[self.pos - 1]);
            if content_start.is_none() {
                if c.is_ascii_whitespace() {
                    self.advance();
                    continue;
                }
                if c == b'-' && self.peek(1) == Some(b'-') {
                    self.line_comment();
                    continue;
                }
                if c == b'\\' {
                    break ChunkEnd::Backslash;
                }
                content_start = Some(self.pos);
                content_line = self.line;
            }
            match c {
                b'\\' => break ChunkEnd::Backslash,
                b';' if depth == 0 => {
                    self.advance();
                    break ChunkEnd::Semicolon;
                }
                b'(' => {
                    depth += 1;
                    self.advance();
                }
                b')' => {
                    depth = depth.saturating_sub(1);
                    self.advance();
                }
                b'-' if self.peek(1) == Some(b'-') => self.line_comment(),
                b'/' if self.peek(1) == Some(b'*') => {
                    if let Some(u) = self.block_comment() {
                        break ChunkEnd::Eof(Some(u));
                    }
                }
                b'\'' => {
                    let escapes = self.pos > start
                        && matches!(self.b[self.pos - 1], b'e' | b'E')
                        && (self.pos - 1 == start || !is_ident_char(self.b[self.pos - 2]));
                    if let Some(u) = self.quoted(b'\'', escapes, OpenConstruct::QuotedString) {
                        break ChunkEnd::Eof(Some(u));
                    }
                }
                b'"' => {
                    if let Some(u) = self.quoted(b'"', false, OpenConstruct::QuotedIdentifier) {
                        break ChunkEnd::Eof(Some(u));
                    }
                }
                b'$' if !prev_ident => {
                    if let Some(tag_len) = self.dollar_tag() {
                        if let Some(u) = self.dollar_quoted(tag_len) {
                            break ChunkEnd::Eof(Some(u));
                        }
                    } else {
                        self.advance();
                    }
                }
                b':' => {
                    if self.peek(1) == Some(b':') {
                        self.pos += 2;
                    } else if let Some(v) = self.var_ref() {
                        vars.push(v);
                    } else {
                        self.advance();
                    }
                }
                _ => {
                    // Skip the run of bytes that need no decision in one step.
                    let rest = self.b.get(self.pos + 1..).unwrap_or_default();
                    let n = rest
                        .iter()
                        .position(|&c| is_special(c))
                        .unwrap_or(rest.len());
                    self.advance_to(self.pos + 1 + n);
                }
            }
        };
        let (terminated, unterminated) = match end {
            ChunkEnd::Semicolon => (true, None),
            ChunkEnd::Backslash => (false, None),
            ChunkEnd::Eof(u) => (false, u),
        };
        let content_start = content_start.unwrap_or(self.pos);
        if self.pos > start {
            self.pieces.push(Piece {
                range: start..self.pos,
                line: if content_start < self.pos {
                    content_line
                } else {
                    start_line
                },
                kind: PieceKind::Sql(SqlChunk {
                    content_start,
                    vars,
                    terminated,
                    unterminated,
                    open_parens: depth,
                }),
            });
        }
    }

    fn line_comment(&mut self) {
        let rest = &self.b[self.pos..];
        let len = rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len());
        self.pos += len;
    }

    fn block_comment(&mut self) -> Option<Unterminated> {
        let line = self.line;
        let offset = self.pos;
        let mut nest = 0usize;
        while let Some(c) = self.peek(0) {
            if c == b'/' && self.peek(1) == Some(b'*') {
                nest += 1;
                self.pos += 2;
            } else if c == b'*' && self.peek(1) == Some(b'/') {
                nest -= 1;
                self.pos += 2;
                if nest == 0 {
                    return None;
                }
            } else {
                self.advance();
            }
        }
        Some(Unterminated {
            what: OpenConstruct::BlockComment,
            line,
            offset,
        })
    }

    fn quoted(&mut self, q: u8, escapes: bool, what: OpenConstruct) -> Option<Unterminated> {
        let line = self.line;
        let offset = self.pos;
        self.pos += 1;
        loop {
            let rest = &self.b[self.pos..];
            let Some(off) = rest.iter().position(|&c| c == q || (escapes && c == b'\\')) else {
                self.advance_to(self.b.len());
                return Some(Unterminated { what, line, offset });
            };
            self.advance_to(self.pos + off);
            if self.b[self.pos] == b'\\' {
                self.pos += 1;
                if self.pos < self.b.len() {
                    self.advance();
                }
                continue;
            }
            self.pos += 1;
            if self.peek(0) == Some(q) {
                self.pos += 1;
                continue;
            }
            return None;
        }
    }

    /// At a `$`: returns the length of a dollar-quote opening tag (`$tag$`), if there is one.
    fn dollar_tag(&self) -> Option<usize> {
        let rest = &self.b[self.pos + 1..];
        if rest.first() == Some(&b'$') {
            return Some(2);
        }
        if !rest.first().is_some_and(|&c| is_ident_start(c)) {
            return None;
        }
        let n = rest
            .iter()
            .position(|&c| !(is_ident_start(c) || c.is_ascii_digit()))?;
        (rest[n] == b'$').then_some(n + 2)
    }

    fn dollar_quoted(&mut self, tag_len: usize) -> Option<Unterminated> {
        let line = self.line;
        let tag_start = self.pos;
        let offset = tag_start;
        self.pos += tag_len;
        let tag = &self.src[tag_start..tag_start + tag_len];
        match self.src[self.pos..].find(tag) {
            Some(off) => {
                self.advance_to(self.pos + off + tag_len);
                None
            }
            None => {
                self.advance_to(self.b.len());
                Some(Unterminated {
                    what: OpenConstruct::DollarQuote,
                    line,
                    offset,
                })
            }
        }
    }

    /// At a `:` that is not part of `::`: lexes a variable reference if there is one.
    fn var_ref(&mut self) -> Option<VarRef> {
        let start = self.pos;
        match self.peek(1)? {
            q @ (b'\'' | b'"') => {
                let name_start = start + 2;
                let n = self.b[name_start..]
                    .iter()
                    .position(|&c| !is_var_char(c))
                    .unwrap_or(self.b.len() - name_start);
                if n == 0 || self.b.get(name_start + n) != Some(&q) {
                    return None;
                }
                self.pos = name_start + n + 1;
                Some(VarRef {
                    range: start..self.pos,
                    name: name_start..name_start + n,
                    quoting: if q == b'\'' {
                        Quoting::Literal
                    } else {
                        Quoting::Identifier
                    },
                })
            }
            c if is_var_char(c) => {
                let name_start = start + 1;
                let n = self.b[name_start..]
                    .iter()
                    .position(|&c| !is_var_char(c))
                    .unwrap_or(self.b.len() - name_start);
                self.pos = name_start + n;
                Some(VarRef {
                    range: start..self.pos,
                    name: name_start..self.pos,
                    quoting: Quoting::Raw,
                })
            }
            _ => None,
        }
    }

    fn meta(&mut self) {
        let start = self.pos;
        let line = self.line;
        self.pos += 1;
        let name_start = self.pos;
        // The name runs to whitespace or the next backslash; `\\` alone is a separator name.
        while let Some(c) = self.peek(0) {
            if c.is_ascii_whitespace() || (c == b'\\' && self.pos > name_start) {
                break;
            }
            self.pos += 1;
            if c == b'\\' {
                break;
            }
        }
        let name = name_start..self.pos;
        let args_start = self.pos;
        if &self.src[name.clone()] == "\\" {
            // `\\` is a separator: what follows on the line is ordinary input.
            self.pieces.push(Piece {
                range: start..self.pos,
                line,
                kind: PieceKind::Meta(MetaCommand {
                    name,
                    args: self.pos..self.pos,
                }),
            });
            return;
        }
        let whole_line = takes_whole_line(&self.src[name.clone()]);
        let mut args_end;
        let mut quote: Option<u8> = None;
        loop {
            args_end = self.pos;
            let Some(c) = self.peek(0) else { break };
            if c == b'\n' {
                break;
            }
            if whole_line {
                self.pos += 1;
                continue;
            }
            match quote {
                Some(q) => {
                    if c == b'\\' && q == b'\'' && self.peek(1).is_some_and(|n| n != b'\n') {
                        self.pos += 2;
                        continue;
                    }
                    if c == q {
                        quote = None;
                    }
                    self.pos += 1;
                }
                None => {
                    if c == b'\\' && self.peek(1) == Some(b'\\') {
                        self.pos += 2;
                        break;
                    }
                    if c == b'\\' {
                        // A new meta-command starts on the same line.
                        break;
                    }
                    if matches!(c, b'\'' | b'"' | b'`') {
                        quote = Some(c);
                    }
                    self.pos += 1;
                }
            }
        }
        // Keep the range on char boundaries (quotes never split multi-byte characters, but a
        // lone trailing byte sequence could).
        while !self.src.is_char_boundary(self.pos) {
            self.pos += 1;
            args_end = args_end.max(self.pos);
        }
        let args_end = args_end.min(self.pos);
        self.pieces.push(Piece {
            range: start..self.pos,
            line,
            kind: PieceKind::Meta(MetaCommand {
                name,
                args: args_start..args_end,
            }),
        });
    }
}

fn memchr_count(b: &[u8]) -> usize {
    b.iter().filter(|&&c| c == b'\n').count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<String> {
        lex(src)
            .into_iter()
            .map(|p| match &p.kind {
                PieceKind::Sql(c) => format!(
                    "sql{}:{}",
                    if c.terminated { ";" } else { "" },
                    &src[c.content_start..p.range.end]
                ),
                PieceKind::Meta(m) => {
                    format!("meta:{}|{}", &src[m.name.clone()], &src[m.args.clone()])
                }
            })
            .collect()
    }

    #[test]
    fn splits_statements_and_meta_commands() {
        let src = "select 1;\n-- c\nselect ';' , $$;$$, $a$ ; $a$;\n\\echo hi 'x y'\nselect (1;2);";
        assert_eq!(
            kinds(src),
            vec![
                "sql;:select 1;",
                "sql;:select ';' , $$;$$, $a$ ; $a$;",
                "sql:",
                "meta:echo| hi 'x y'",
                "sql;:select (1;2);",
            ]
        );
    }

    #[test]
    fn meta_command_ends_sql_chunk_midline() {
        let src = "select count(*) as n from t \\gset p_\n";
        assert_eq!(
            kinds(src),
            vec!["sql:select count(*) as n from t ", "meta:gset| p_", "sql:"]
        );
    }

    #[test]
    fn double_backslash_separates() {
        let src = "\\echo a \\\\ select 1;";
        assert_eq!(kinds(src), vec!["meta:echo| a ", "sql;:select 1;"]);
    }

    #[test]
    fn variables_and_casts() {
        let src = "select :a, :'b', :\"c\", x::int, ':d', :'bad;";
        let p = lex(src);
        let PieceKind::Sql(c) = &p[0].kind else {
            panic!()
        };
        let names: Vec<_> = c.vars.iter().map(|v| &src[v.name.clone()]).collect();
        assert_eq!(names, vec!["a", "b", "c"]);
    }

    #[test]
    fn unterminated_constructs_are_reported() {
        for (src, what) in [
            ("select 'abc", OpenConstruct::QuotedString),
            ("select \"abc", OpenConstruct::QuotedIdentifier),
            ("select $x$ abc", OpenConstruct::DollarQuote),
            ("select /* /* */", OpenConstruct::BlockComment),
            ("select E'a\\'", OpenConstruct::QuotedString),
        ] {
            let p = lex(src);
            let PieceKind::Sql(c) = &p.last().unwrap().kind else {
                panic!()
            };
            assert_eq!(c.unterminated.map(|u| u.what), Some(what), "{src}");
        }
    }

    #[test]
    fn lines_are_counted() {
        let src = "\n\nselect\n1;\n\n\\echo x\n";
        let p = lex(src);
        assert_eq!(p[0].line, 3);
        assert_eq!(p[2].line, 6);
    }
}
