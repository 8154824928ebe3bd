//! Streamed input: standard input, a pipe, a heredoc or a terminal, read one line at a time so
//! that each statement runs as soon as it is complete and memory stays bounded however long
//! the input is. Lines are checked as [`Source`](crate::Source) checks whole files: UTF-8
//! without NUL bytes (FILE:LINE on the first bad one), CRLF read as LF.

use async_trait::async_trait;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

use crate::source::SourceError;

/// What the interpreter is waiting for when it asks for a line, for an interactive prompt:
/// psql's `PROMPT1` (a new statement) or `PROMPT2` (inside one) and its `%R` character
/// (<https://www.postgresql.org/docs/current/app-psql.html#APP-PSQL-PROMPTING>).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PromptState {
    /// `None` at the start of a statement; inside one, psql's `%R` for PROMPT2: `-` (an
    /// unfinished statement), `'`, `"`, `$` (inside a quote or dollar quote), `*` (inside a
    /// `/* */` comment), `(` (inside parentheses).
    pub continuation: Option<char>,
    /// Inside an inactive `\if` branch (or skipping to a `\goto` label): psql's `%R` is `@`.
    pub inactive: bool,
}

impl PromptState {
    /// psql's `%R`: `=` for a new statement, `@` in an inactive branch, else the
    /// continuation character.
    pub fn status_char(&self) -> char {
        match (self.continuation, self.inactive) {
            (Some(c), _) => c,
            (None, true) => '@',
            (None, false) => '=',
        }
    }
}

/// One thing read from a streamed source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A line of text, with its `\n` (the last line of the input may have none).
    Line(String),
    /// Ctrl-C at the prompt: the input typed so far is dropped.
    Interrupted,
    /// End of input (Ctrl-D at a terminal).
    End,
}

/// A source read one line at a time.
#[async_trait]
pub trait LineSource: Send {
    /// The next line. `prompt` says what the interpreter waits for (an interactive source shows
    /// it; others ignore it).
    async fn next_line(&mut self, prompt: PromptState) -> Result<Input, SourceError>;
}

/// A pager for results taller or wider than the terminal (psql's `PAGER`), used only at a
/// terminal while `\pset pager` is on.
#[async_trait]
pub trait Pager: Send {
    /// Shows `text` through the pager when it does not fit the terminal; false when it was not
    /// shown (it fits, or the pager could not run): the caller prints it.
    async fn page(&mut self, text: &str) -> bool;
}

/// Reads one answer from the terminal (psql's `-s` single-step confirmation).
#[async_trait]
pub trait Ask: Send {
    /// The line typed, without its line end; `None` at end of input.
    async fn answer(&mut self) -> Option<String>;
}

/// Lines from a byte stream (standard input, a pipe): only the line being read is held.
pub struct ReaderLines<R> {
    name: String,
    reader: BufReader<R>,
    line: usize,
    buf: Vec<u8>,
}

impl<R: AsyncRead + Send + Unpin> ReaderLines<R> {
    /// Reads `reader`, naming it `name` in messages (`<stdin>`).
    pub fn new(name: &str, reader: R) -> Self {
        ReaderLines {
            name: name.to_string(),
            reader: BufReader::with_capacity(64 * 1024, reader),
            line: 0,
            buf: Vec::new(),
        }
    }
}

#[async_trait]
impl<R: AsyncRead + Send + Unpin> LineSource for ReaderLines<R> {
    async fn next_line(&mut self, _prompt: PromptState) -> Result<Input, SourceError> {
        self.buf.clear();
        let n = self
            .reader
            .read_until(b'\n', &mut self.buf)
            .await
            .map_err(|e| SourceError::Read {
                path: self.name.clone(),
                source: e,
            })?;
        if n == 0 {
            return Ok(Input::End);
        }
        self.line += 1;
        let bytes = std::mem::take(&mut self.buf);
        check_line(&self.name, self.line, bytes).map(Input::Line)
    }
}

/// Checks one line (with its `\n`, if any) read as line `line` of `name`: UTF-8 without NUL
/// bytes; a CRLF end becomes LF.
pub fn check_line(name: &str, line: usize, bytes: Vec<u8>) -> Result<String, SourceError> {
    if bytes.contains(&0) {
        return Err(SourceError::NulByte {
            name: name.to_string(),
            line,
        });
    }
    match String::from_utf8(bytes) {
        Ok(mut text) => {
            if text.ends_with("\r\n") {
                text.truncate(text.len() - 2);
                text.push('\n');
            }
            Ok(text)
        }
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            Err(SourceError::InvalidUtf8 {
                name: name.to_string(),
                line,
                byte: e.as_bytes().get(valid).copied().unwrap_or(0),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_are_checked_one_by_one() {
        let data: &[u8] = b"select 1;\r\nselect 2;\n\xff\n";
        let mut r = ReaderLines::new("<stdin>", data);
        let p = PromptState::default();
        assert_eq!(
            r.next_line(p).await.unwrap(),
            Input::Line("select 1;\n".into())
        );
        assert_eq!(
            r.next_line(p).await.unwrap(),
            Input::Line("select 2;\n".into())
        );
        let e = r.next_line(p).await.unwrap_err();
        assert_eq!(e.to_string(), "invalid UTF-8 (byte 0xff) at <stdin>:3");
        let mut r = ReaderLines::new("<stdin>", &b"a\n\0"[..]);
        assert_eq!(r.next_line(p).await.unwrap(), Input::Line("a\n".into()));
        assert!(matches!(
            r.next_line(p).await,
            Err(SourceError::NulByte { line: 2, .. })
        ));
        assert_eq!(r.next_line(p).await.unwrap(), Input::End);
    }

    #[test]
    fn status_char_is_psqls() {
        let mut p = PromptState::default();
        assert_eq!(p.status_char(), '=');
        p.inactive = true;
        assert_eq!(p.status_char(), '@');
        p.continuation = Some('\'');
        assert_eq!(p.status_char(), '\'');
    }
}
