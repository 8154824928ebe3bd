//! The window over a streamed source: the lines read but not yet run, lexed into the pieces
//! that are complete (a statement ended by `;`, a meta-command ended by its line end), with
//! the unfinished rest kept for the next line. Only that window is held, so memory stays
//! bounded by the longest statement, not the length of the input.
//!
//! Lexing again from a piece boundary gives the same pieces as lexing the whole input (the
//! lexer looks back no further than the start of the piece it is in), so a streamed script
//! runs exactly as the same script read whole.

use std::sync::Arc;

use crate::input::LineSource;
use crate::lexer::{OpenConstruct, Piece, PieceKind, lex};

/// Below this many bytes the unfinished tail is lexed again after every line (so that the
/// prompt always shows the right state); above it, only when the new line holds a byte that
/// could end what the tail is inside of, so that a long statement is not lexed once per line.
const RELEX_ALWAYS: usize = 64 * 1024;

/// Bytes that can finish the tail's unfinished piece.
#[derive(Debug, Clone, Copy)]
enum Need {
    Any,
    OneOf(&'static [u8]),
}

/// A streamed source's reader and window.
pub(crate) struct Stream {
    /// The lines; `None` once the end was read.
    pub(crate) input: Option<Box<dyn LineSource>>,
    /// Lines read since the window was last lexed.
    pending: String,
    /// Where the unfinished tail starts in the window's text.
    tail_start: usize,
    /// Lines of the input before the window's text.
    lines_before: usize,
    need: Need,
    /// psql's continuation character for the unfinished tail (`None`: nothing unfinished).
    pub(crate) continuation: Option<char>,
}

/// The parts of a frame the window replaces.
pub(crate) struct Window<'a> {
    pub(crate) text: &'a mut Arc<str>,
    pub(crate) pieces: &'a mut Vec<Piece>,
    pub(crate) idx: &'a mut usize,
    pub(crate) echoed: &'a mut usize,
}

impl Stream {
    pub(crate) fn new(input: Box<dyn LineSource>) -> Stream {
        Stream {
            input: Some(input),
            pending: String::new(),
            tail_start: 0,
            lines_before: 0,
            need: Need::Any,
            continuation: None,
        }
    }

    /// Adds a line read; true when the window should be lexed again.
    pub(crate) fn push(&mut self, line: &str, text_len: usize) -> bool {
        self.pending.push_str(line);
        let tail = text_len.saturating_sub(self.tail_start) + self.pending.len();
        tail < RELEX_ALWAYS
            || match self.need {
                Need::Any => true,
                Need::OneOf(bytes) => line.bytes().any(|b| bytes.contains(&b)),
            }
    }

    /// Drops everything read and not yet run (Ctrl-C at the prompt).
    pub(crate) fn clear(&mut self, w: Window<'_>) {
        self.lines_before += newlines(w.text) + newlines(&self.pending);
        self.pending.clear();
        self.tail_start = 0;
        self.need = Need::Any;
        self.continuation = None;
        *w.text = Arc::from("");
        w.pieces.clear();
        *w.idx = 0;
        *w.echoed = 0;
    }

    /// Lexes the unfinished tail and the lines read since into a new window holding the
    /// complete pieces (all of them at the end of input); true when there is one to run.
    pub(crate) fn relex(&mut self, w: Window<'_>, end_of_input: bool) -> bool {
        let old = w.text.clone();
        let start = self.tail_start.min(old.len());
        self.lines_before += newlines(&old[..start]);
        *w.echoed = w.echoed.saturating_sub(start);
        let mut text = String::with_capacity(old.len() - start + self.pending.len());
        text.push_str(&old[start..]);
        text.push_str(&self.pending);
        self.pending.clear();
        let mut pieces = lex(&text);
        for p in &mut pieces {
            p.line += self.lines_before;
            if let PieceKind::Sql(c) = &mut p.kind
                && let Some(u) = &mut c.unterminated
            {
                u.line += self.lines_before;
            }
        }
        let complete = if end_of_input {
            pieces.len()
        } else {
            match pieces.last() {
                Some(Piece {
                    kind: PieceKind::Sql(c),
                    ..
                }) if c.terminated => pieces.len(),
                Some(_) => pieces.len() - 1,
                None => 0,
            }
        };
        (self.need, self.continuation) = match pieces.get(complete) {
            Some(Piece {
                kind: PieceKind::Sql(c),
                range,
                ..
            }) => match c.unterminated.map(|u| u.what) {
                Some(OpenConstruct::QuotedString) => (Need::OneOf(b"'"), Some('\'')),
                Some(OpenConstruct::QuotedIdentifier) => (Need::OneOf(b"\""), Some('"')),
                Some(OpenConstruct::DollarQuote) => (Need::OneOf(b"$"), Some('$')),
                Some(OpenConstruct::BlockComment) => (Need::OneOf(b"/"), Some('*')),
                None => (
                    Need::OneOf(b";\\"),
                    if c.open_parens > 0 {
                        Some('(')
                    } else if c.content_start < range.end {
                        Some('-')
                    } else {
                        None
                    },
                ),
            },
            _ => (Need::Any, None),
        };
        self.tail_start = match complete {
            0 => 0,
            n => pieces[n - 1].range.end,
        };
        pieces.truncate(complete);
        *w.text = Arc::from(text);
        *w.pieces = pieces;
        *w.idx = 0;
        complete > 0
    }
}

fn newlines(s: &str) -> usize {
    s.bytes().filter(|&b| b == b'\n').count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{Input, PromptState};
    use crate::source::SourceError;

    struct NoInput;

    #[async_trait::async_trait]
    impl LineSource for NoInput {
        async fn next_line(&mut self, _: PromptState) -> Result<Input, SourceError> {
            Ok(Input::End)
        }
    }

    struct Frame {
        text: Arc<str>,
        pieces: Vec<Piece>,
        idx: usize,
        echoed: usize,
    }

    impl Frame {
        fn window(&mut self) -> Window<'_> {
            Window {
                text: &mut self.text,
                pieces: &mut self.pieces,
                idx: &mut self.idx,
                echoed: &mut self.echoed,
            }
        }

        fn texts(&self) -> Vec<(usize, String)> {
            self.pieces
                .iter()
                .map(|p| (p.line, self.text[p.range.clone()].to_string()))
                .collect()
        }
    }

    /// Pieces come out as soon as they are complete, with the lines of the whole input, and
    /// the same pieces as lexing the whole input.
    #[test]
    fn pieces_come_out_when_complete() {
        let mut s = Stream::new(Box::new(NoInput));
        let mut f = Frame {
            text: Arc::from(""),
            pieces: vec![],
            idx: 0,
            echoed: 0,
        };
        let feed = |s: &mut Stream, f: &mut Frame, line: &str| {
            let len = f.text.len();
            s.push(line, len) && s.relex(f.window(), false)
        };
        assert!(!feed(&mut s, &mut f, "select\n"));
        assert_eq!(s.continuation, Some('-'));
        assert!(!feed(&mut s, &mut f, "  'a;\n"));
        assert_eq!(s.continuation, Some('\''));
        assert!(feed(&mut s, &mut f, "'; \\echo x\n"));
        assert_eq!(
            f.texts(),
            vec![
                (1, "select\n  'a;\n';".into()),
                (3, " ".into()),
                (3, "\\echo x".into())
            ]
        );
        assert_eq!(s.continuation, None);
        assert!(!feed(&mut s, &mut f, "select (1,\n"));
        assert_eq!(s.continuation, Some('('));
        assert!(feed(&mut s, &mut f, "2);\n"));
        assert_eq!(f.texts(), vec![(4, "\nselect (1,\n2);".into())]);
        assert!(!feed(&mut s, &mut f, "select 3"));
        assert!(s.relex(f.window(), true));
        assert_eq!(f.texts(), vec![(6, "\nselect 3".into())]);
    }

    /// A long statement is not lexed again for lines that cannot end it.
    #[test]
    fn long_tails_wait_for_a_terminator() {
        let mut s = Stream::new(Box::new(NoInput));
        let mut f = Frame {
            text: Arc::from(""),
            pieces: vec![],
            idx: 0,
            echoed: 0,
        };
        assert!(s.push("insert into t values\n", 0));
        assert!(!s.relex(f.window(), false));
        let row = format!("('{}'),\n", "x".repeat(1000));
        let mut relexed = 0;
        for _ in 0..200 {
            if s.push(&row, f.text.len()) {
                relexed += 1;
                assert!(!s.relex(f.window(), false));
            }
        }
        assert!(relexed < 70, "{relexed}");
        assert!(s.push("('y');\n", f.text.len()));
        assert!(s.relex(f.window(), false));
        assert_eq!(f.pieces.len(), 1);
        assert!(f.text[f.pieces[0].range.clone()].ends_with("('y');"));
    }
}
