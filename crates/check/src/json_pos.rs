//! Where a JSON pointer is in a JSON text: the offset of each object member's key and each
//! array element, so that a finding about `/States/Load/TimeoutSeconds` points at its line.
//!
//! One pass over the text with an explicit stack (no recursion); it stops at
//! [`MAX_DEPTH`] levels, the nesting serde_json itself refuses beyond, so a pathological file
//! costs linear time. Text that is not valid JSON gives the positions read before the first
//! mistake. Pointer
//! segments are joined as the ASL validator writes its locations (`/States/Load/Next`), without
//! RFC 6901 escaping.

use std::collections::HashMap;

/// Nesting beyond this is not indexed (serde_json refuses text nested deeper than 128).
pub(crate) const MAX_DEPTH: usize = 128;

/// The offsets of the members and elements of one JSON text, by pointer.
#[derive(Debug, Default)]
pub(crate) struct Positions {
    at: HashMap<String, usize>,
}

enum Frame {
    Object { ptr: String, key: Option<String> },
    Array { ptr: String, index: usize },
}

impl Positions {
    /// Indexes `text`.
    pub(crate) fn index(text: &str) -> Positions {
        let b = text.as_bytes();
        let mut at = HashMap::new();
        let mut stack: Vec<Frame> = Vec::new();
        let mut i = 0;
        // Where the next value starts, and its pointer, once known.
        let mut value_ptr: Option<String> = Some(String::new());
        while i < b.len() {
            let c = b[i];
            match c {
                b' ' | b'\t' | b'\r' | b'\n' | b',' | b':' => {
                    i += 1;
                    continue;
                }
                _ => {}
            }
            // In an object, a string here is a key.
            if let Some(Frame::Object { ptr, key }) = stack.last_mut()
                && key.is_none()
            {
                if c == b'}' {
                    stack.pop();
                    i += 1;
                    value_ptr = None;
                    finish_value(&mut stack);
                    continue;
                }
                if c != b'"' {
                    break;
                }
                let Some((s, end)) = string_at(text, i) else {
                    break;
                };
                let p = format!("{ptr}/{s}");
                at.entry(p.clone()).or_insert(i);
                *key = Some(s);
                value_ptr = Some(p);
                i = end;
                continue;
            }
            if let Some(Frame::Array { ptr, index }) = stack.last_mut() {
                if c == b']' {
                    stack.pop();
                    i += 1;
                    value_ptr = None;
                    finish_value(&mut stack);
                    continue;
                }
                let p = format!("{ptr}/{index}");
                at.entry(p.clone()).or_insert(i);
                *index += 1;
                value_ptr = Some(p);
            }
            if c == b'}' {
                // An object closed right after a value.
                stack.pop();
                i += 1;
                finish_value(&mut stack);
                continue;
            }
            let ptr = value_ptr.take().unwrap_or_default();
            if matches!(c, b'{' | b'[') && stack.len() >= MAX_DEPTH {
                break;
            }
            match c {
                b'{' => {
                    stack.push(Frame::Object { ptr, key: None });
                    i += 1;
                }
                b'[' => {
                    stack.push(Frame::Array { ptr, index: 0 });
                    i += 1;
                }
                b'"' => {
                    let Some((_, end)) = string_at(text, i) else {
                        break;
                    };
                    i = end;
                    finish_value(&mut stack);
                }
                _ => {
                    // A scalar; a stray delimiter is stepped over (every turn moves on).
                    i += 1;
                    while i < b.len()
                        && !matches!(b[i], b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t')
                    {
                        i += 1;
                    }
                    finish_value(&mut stack);
                }
            }
        }
        Positions { at }
    }

    /// The offset of `pointer`, or of its nearest ancestor that is in the text (a finding
    /// about a missing field points at the object that lacks it); 0 when none is.
    pub(crate) fn offset(&self, pointer: &str) -> usize {
        let mut p = pointer.trim_end_matches('/');
        loop {
            if let Some(&o) = self.at.get(p) {
                return o;
            }
            match p.rfind('/') {
                Some(cut) => p = &p[..cut],
                None => return 0,
            }
        }
    }
}

/// After a value inside an object: the next thing is a key again.
fn finish_value(stack: &mut [Frame]) {
    if let Some(Frame::Object { key, .. }) = stack.last_mut() {
        *key = None;
    }
}

/// The string starting at the quote at `start` (escapes decoded as far as names need) and the
/// offset after its closing quote.
fn string_at(text: &str, start: usize) -> Option<(String, usize)> {
    let b = text.as_bytes();
    let mut i = start + 1;
    let mut out = String::new();
    let mut run = i;
    while i < b.len() {
        match b[i] {
            b'"' => {
                out.push_str(&text[run..i]);
                return Some((out, i + 1));
            }
            b'\\' => {
                out.push_str(&text[run..i]);
                let esc = *b.get(i + 1)?;
                match esc {
                    b'n' => out.push('\n'),
                    b't' => out.push('\t'),
                    b'r' => out.push('\r'),
                    b'b' => out.push('\u{8}'),
                    b'f' => out.push('\u{c}'),
                    b'u' => {
                        let hex = text.get(i + 2..i + 6)?;
                        let code = u32::from_str_radix(hex, 16).ok()?;
                        out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                        i += 4;
                    }
                    other => out.push(other as char),
                }
                i += 2;
                run = i;
            }
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_members_and_elements() {
        let text = r#"{
  "StartAt": "A",
  "States": {
    "A": { "Type": "Pass", "Next": "B", "Result": [1, {"x": "y"}] },
    "B": { "Type": "Succeed" }
  }
}"#;
        let p = Positions::index(text);
        let at = |ptr: &str| &text[p.offset(ptr)..p.offset(ptr) + 6];
        assert_eq!(at("/StartAt"), "\"Start");
        assert_eq!(at("/States/A/Next"), "\"Next\"");
        assert_eq!(at("/States/B/Type"), "\"Type\"");
        assert_eq!(&text[p.offset("/States/A/Result/1/x")..][..3], "\"x\"");
        assert_eq!(&text[p.offset("/States/A/Result/1")..][..1], "{");
        // A missing field points at its object.
        assert_eq!(at("/States/B/Next"), "\"B\": {");
        assert_eq!(p.offset("/Nowhere"), 0);
    }

    proptest::proptest! {
        /// Any text is indexed without a panic, and every offset is inside it.
        #[test]
        fn any_text_is_indexed(text in "[{}\\[\\]\",:a-z0-9 \\\\]{0,200}", ptr in "(/[a-z0-9]{0,3}){0,4}") {
            let p = Positions::index(&text);
            proptest::prop_assert!(p.offset(&ptr) <= text.len());
        }
    }

    #[test]
    fn deep_nesting_stops_at_the_limit() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let p = Positions::index(&deep);
        assert!(p.at.len() <= MAX_DEPTH);
        let keys = "{\"a\":".repeat(50_000);
        assert!(Positions::index(&keys).at.len() <= MAX_DEPTH);
    }

    #[test]
    fn survives_bad_text() {
        for t in [
            "",
            "{",
            "{\"a\": [",
            "[1, 2",
            "\"",
            "{\"a\\u12\": 1}",
            "}}]]",
        ] {
            let _ = Positions::index(t).offset("/a/0");
        }
    }
}
