//! Records and fields of COPY input: lines (CSV records may span lines inside quotes), field
//! splitting for CSV and delimited text, and JSON objects mapped to columns ('auto' or
//! JSONPaths).

use std::borrow::Cow;

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

use crate::copy_spec::{DataFormat, JsonMapping};

/// A record's fields: the raw value (`None` only for JSON null/missing) and whether it was
/// quoted.
pub type Fields<'a> = Vec<(Option<Cow<'a, str>>, bool)>;

/// A record that cannot be split into fields: Redshift's error code and reason.
pub type RecordError = (i32, String);

/// One input record and the line it starts on.
pub struct Record {
    /// Raw bytes (with the line terminator).
    pub bytes: Vec<u8>,
    /// 1-based line number.
    pub line: u64,
}

/// Reads records from a decompressed file.
pub struct RecordReader<R> {
    inner: R,
    line: u64,
    csv_quote: Option<u8>,
    json: bool,
}

impl<R: AsyncBufRead + Unpin> RecordReader<R> {
    /// A reader for the given format.
    pub fn new(inner: R, format: &DataFormat) -> Self {
        RecordReader {
            inner,
            line: 0,
            csv_quote: match format {
                DataFormat::Csv { quote } => u8::try_from(*quote as u32).ok(),
                _ => None,
            },
            json: matches!(format, DataFormat::Json(_)),
        }
    }

    /// The next record, or `None` at the end of the file.
    pub async fn next(&mut self) -> std::io::Result<Option<Record>> {
        let mut bytes = Vec::new();
        let start = self.line + 1;
        loop {
            let n = self.inner.read_until(b'\n', &mut bytes).await?;
            if n == 0 {
                break;
            }
            self.line += 1;
            let complete = match (self.csv_quote, self.json) {
                (Some(q), _) => bytes.iter().filter(|&&b| b == q).count() % 2 == 0,
                (None, true) => json_complete(&bytes),
                _ => true,
            };
            if complete {
                break;
            }
        }
        if bytes.is_empty() {
            return Ok(None);
        }
        Ok(Some(Record { bytes, line: start }))
    }
}

/// True when the bytes hold a whole JSON value (or only whitespace).
fn json_complete(b: &[u8]) -> bool {
    let t = String::from_utf8_lossy(b);
    let t = t.trim();
    t.is_empty() || serde_json::from_str::<serde_json::Value>(t).is_ok()
}

/// Splits a CSV record: fields with whether they were quoted.
pub fn split_csv(record: &str, delimiter: char, quote: char) -> Fields<'_> {
    if !record.contains(quote) {
        return record
            .split(delimiter)
            .map(|f| (Some(Cow::Borrowed(f)), false))
            .collect();
    }
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut in_quotes = false;
    let mut chars = record.chars().peekable();
    while let Some(c) = chars.next() {
        if in_quotes {
            if c == quote {
                if chars.peek() == Some(&quote) {
                    chars.next();
                    cur.push(quote);
                } else {
                    in_quotes = false;
                }
            } else {
                cur.push(c);
            }
        } else if c == quote {
            in_quotes = true;
            quoted = true;
        } else if c == delimiter {
            out.push((Some(Cow::Owned(std::mem::take(&mut cur))), quoted));
            quoted = false;
        } else {
            cur.push(c);
        }
    }
    out.push((Some(Cow::Owned(cur)), quoted));
    out
}

/// Splits a delimited-text record; with `escape`, a backslash makes the next character literal.
pub fn split_text(record: &str, delimiter: char, escape: bool, remove_quotes: bool) -> Fields<'_> {
    let needs_scan = (escape && record.contains('\\')) || (remove_quotes && record.contains('"'));
    if !needs_scan {
        return record
            .split(delimiter)
            .map(|f| (Some(Cow::Borrowed(f)), false))
            .collect();
    }
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = record.chars();
    let mut in_quotes = false;
    while let Some(c) = chars.next() {
        if escape && c == '\\' {
            match chars.next() {
                Some(n) => cur.push(n),
                None => cur.push('\\'),
            }
        } else if remove_quotes && c == '"' {
            in_quotes = !in_quotes;
        } else if c == delimiter && !in_quotes {
            out.push((Some(Cow::Owned(std::mem::take(&mut cur))), false));
        } else {
            cur.push(c);
        }
    }
    out.push((Some(Cow::Owned(cur)), false));
    out
}

/// Parses a JSONPath of the forms `$.a.b`, `$['a']["b"]`, `$.a[0]`.
pub fn parse_json_path(p: &str) -> Option<Vec<String>> {
    let rest = p.strip_prefix('$')?;
    let mut parts = Vec::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                let mut name = String::new();
                while let Some(&n) = chars.peek() {
                    if n == '.' || n == '[' {
                        break;
                    }
                    name.push(n);
                    chars.next();
                }
                if name.is_empty() {
                    return None;
                }
                parts.push(name);
            }
            '[' => {
                let mut inner = String::new();
                for n in chars.by_ref() {
                    if n == ']' {
                        break;
                    }
                    inner.push(n);
                }
                let inner = inner.trim();
                let name = inner
                    .strip_prefix('\'')
                    .and_then(|s| s.strip_suffix('\''))
                    .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
                    .unwrap_or(inner);
                parts.push(name.to_string());
            }
            _ => return None,
        }
    }
    Some(parts)
}

fn json_to_field(v: Option<&serde_json::Value>) -> (Option<Cow<'static, str>>, bool) {
    match v {
        None | Some(serde_json::Value::Null) => (None, false),
        Some(serde_json::Value::String(s)) => (Some(Cow::Owned(s.clone())), true),
        Some(serde_json::Value::Bool(b)) => (
            Some(Cow::Borrowed(if *b { "true" } else { "false" })),
            false,
        ),
        Some(serde_json::Value::Number(n)) => (Some(Cow::Owned(n.to_string())), false),
        Some(other) => (Some(Cow::Owned(other.to_string())), true),
    }
}

/// Maps one JSON record onto the columns.
pub fn json_fields<'a>(
    record: &str,
    columns: impl Iterator<Item = &'a str>,
    mapping: &JsonMapping,
    paths: Option<&[Vec<String>]>,
) -> Result<Fields<'static>, RecordError> {
    let v: serde_json::Value =
        serde_json::from_str(record.trim()).map_err(|e| (1224, format!("Invalid JSON: {e}")))?;
    if !v.is_object() {
        return Err((
            1224,
            "Invalid JSONPath format: the record is not a JSON object".into(),
        ));
    }
    match (mapping, paths) {
        (JsonMapping::Paths(_), Some(paths)) => Ok(paths
            .iter()
            .map(|path| {
                let mut cur = Some(&v);
                for part in path {
                    cur = cur.and_then(|c| match part.parse::<usize>() {
                        Ok(i) if c.is_array() => c.get(i),
                        _ => c.get(part),
                    });
                }
                json_to_field(cur)
            })
            .collect()),
        _ => {
            let obj = v.as_object().cloned().unwrap_or_default();
            Ok(columns
                .map(|col| {
                    let found = obj
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(col))
                        .map(|(_, v)| v);
                    json_to_field(found)
                })
                .collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields() {
        let f = split_csv("5|\"erin, the \"\"great\"\"\"|Boston||\"\"", '|', '"');
        let vals: Vec<(String, bool)> = f
            .iter()
            .map(|(v, q)| (v.clone().unwrap().into_owned(), *q))
            .collect();
        assert_eq!(
            vals,
            vec![
                ("5".into(), false),
                ("erin, the \"great\"".into(), true),
                ("Boston".into(), false),
                (String::new(), false),
                (String::new(), true),
            ]
        );
    }

    #[test]
    fn text_fields_and_paths() {
        let f = split_text("a\\|b|c", '|', true, false);
        assert_eq!(f[0].0.as_deref(), Some("a|b"));
        assert_eq!(
            parse_json_path("$.a['b c'][0]").unwrap(),
            vec!["a", "b c", "0"]
        );
        assert!(parse_json_path("a.b").is_none());
    }
}
