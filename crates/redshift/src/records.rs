//! Records and fields of text COPY input: how a record is framed (a line; CSV records may span
//! lines inside quotes; a JSON value may span lines), and how it splits into fields (CSV,
//! delimited text, or a JSON object mapped to columns by key or by JSONPaths). Knows nothing
//! of the load that uses it.

use std::borrow::Cow;

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// A record's fields: the raw value (`None` only for JSON null/missing) and whether it was
/// quoted.
pub type Fields<'a> = Vec<(Option<Cow<'a, str>>, bool)>;

/// A record that cannot be split into fields: Redshift's error code and reason.
pub type RecordError = (i32, String);

/// A parsed JSONPath expression: the member names (and array indexes) from the root.
pub type JsonPath = Vec<String>;

/// How the records of a text file split into fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextFormat {
    /// Delimited text: fields split at the delimiter; with `escape`, a backslash makes the next
    /// character literal; with `remove_quotes`, double quotes around fields are dropped.
    Delimited {
        /// Field delimiter.
        delimiter: char,
        /// ESCAPE.
        escape: bool,
        /// REMOVEQUOTES.
        remove_quotes: bool,
    },
    /// CSV: fields split at the delimiter outside quotes; a record may span lines.
    Csv {
        /// Field delimiter.
        delimiter: char,
        /// Quote character.
        quote: char,
    },
    /// One JSON object per record, mapped onto the columns.
    Json(JsonColumns),
}

/// How a JSON object's values map onto the target columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonColumns {
    /// By key: each column takes the value whose key is its name, ignoring ASCII case.
    Keys(Vec<String>),
    /// By JSONPaths expression, one per column.
    Paths(Vec<JsonPath>),
}

impl TextFormat {
    /// Delimited text or CSV (not JSON): a record is one line without its terminator, and a
    /// delimiter may end the last field.
    pub fn is_delimited(&self) -> bool {
        !matches!(self, TextFormat::Json(_))
    }

    /// Splits one record (without its line terminator, for delimited formats) into fields.
    pub fn fields<'r>(&self, record: &'r str) -> Result<Fields<'r>, RecordError> {
        match self {
            TextFormat::Delimited {
                delimiter,
                escape,
                remove_quotes,
            } => Ok(split_text(record, *delimiter, *escape, *remove_quotes)),
            TextFormat::Csv { delimiter, quote } => Ok(split_csv(record, *delimiter, *quote)),
            TextFormat::Json(columns) => json_fields(record, columns),
        }
    }
}

/// One input record and the line it starts on.
pub struct Record {
    /// Raw bytes (with the line terminator).
    pub bytes: Vec<u8>,
    /// 1-based line number.
    pub line: u64,
}

/// Where a record ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// At the end of its line.
    Line,
    /// At the end of the first line that leaves this quote byte balanced.
    Quoted(u8),
    /// At the end of the first line that completes a JSON value.
    Json,
}

/// Reads records from a decompressed file.
pub struct RecordReader<R> {
    inner: R,
    line: u64,
    framing: Framing,
}

impl<R: AsyncBufRead + Unpin> RecordReader<R> {
    /// A reader for the given format.
    pub fn new(inner: R, format: &TextFormat) -> Self {
        let framing = match format {
            TextFormat::Csv { quote, .. } => {
                u8::try_from(*quote as u32).map_or(Framing::Line, Framing::Quoted)
            }
            TextFormat::Json(_) => Framing::Json,
            TextFormat::Delimited { .. } => Framing::Line,
        };
        RecordReader {
            inner,
            line: 0,
            framing,
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
            let complete = match self.framing {
                Framing::Line => true,
                Framing::Quoted(q) => bytes.iter().filter(|&&b| b == q).count() % 2 == 0,
                Framing::Json => json_complete(&bytes),
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
fn split_csv(record: &str, delimiter: char, quote: char) -> Fields<'_> {
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
fn split_text(record: &str, delimiter: char, escape: bool, remove_quotes: bool) -> Fields<'_> {
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
pub fn parse_json_path(p: &str) -> Option<JsonPath> {
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
fn json_fields(record: &str, columns: &JsonColumns) -> Result<Fields<'static>, RecordError> {
    let v: serde_json::Value =
        serde_json::from_str(record.trim()).map_err(|e| (1224, format!("Invalid JSON: {e}")))?;
    let Some(obj) = v.as_object() else {
        return Err((
            1224,
            "Invalid JSONPath format: the record is not a JSON object".into(),
        ));
    };
    Ok(match columns {
        JsonColumns::Paths(paths) => paths
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
            .collect(),
        JsonColumns::Keys(names) => names
            .iter()
            .map(|col| {
                let found = obj
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(col))
                    .map(|(_, v)| v);
                json_to_field(found)
            })
            .collect(),
    })
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

    fn values(f: Fields<'_>) -> Vec<(Option<String>, bool)> {
        f.into_iter()
            .map(|(v, q)| (v.map(Cow::into_owned), q))
            .collect()
    }

    #[test]
    fn json_objects_map_by_key_or_path() {
        let record = r#"{"ID": 7, "name": "x", "tags": ["a", "b"], "ok": true, "gone": null}"#;
        let keys = TextFormat::Json(JsonColumns::Keys(vec![
            "id".into(),
            "name".into(),
            "ok".into(),
            "gone".into(),
            "missing".into(),
        ]));
        assert_eq!(
            values(keys.fields(record).unwrap()),
            vec![
                (Some("7".into()), false),
                (Some("x".into()), true),
                (Some("true".into()), false),
                (None, false),
                (None, false),
            ]
        );
        let paths = TextFormat::Json(JsonColumns::Paths(vec![
            parse_json_path("$.tags[1]").unwrap(),
            parse_json_path("$['name']").unwrap(),
        ]));
        assert_eq!(
            values(paths.fields(record).unwrap()),
            vec![(Some("b".into()), true), (Some("x".into()), true)]
        );
        assert_eq!(keys.fields("[1, 2]").unwrap_err().0, 1224);
        assert_eq!(keys.fields("{").unwrap_err().0, 1224);
    }

    #[tokio::test]
    async fn records_span_lines_inside_csv_quotes_and_json_values() {
        let csv = TextFormat::Csv {
            delimiter: ',',
            quote: '"',
        };
        let mut r = RecordReader::new(&b"a,\"b\nc\"\nd,e\n"[..], &csv);
        let first = r.next().await.unwrap().unwrap();
        assert_eq!(
            (first.bytes.as_slice(), first.line),
            (&b"a,\"b\nc\"\n"[..], 1)
        );
        assert_eq!(r.next().await.unwrap().unwrap().line, 3);
        assert!(r.next().await.unwrap().is_none());

        let json = TextFormat::Json(JsonColumns::Keys(Vec::new()));
        let mut r = RecordReader::new(&b"{\"a\":\n1}\n{\"a\": 2}\n"[..], &json);
        assert_eq!(r.next().await.unwrap().unwrap().bytes, b"{\"a\":\n1}\n");
        assert_eq!(r.next().await.unwrap().unwrap().line, 3);
        assert!(r.next().await.unwrap().is_none());

        let text = TextFormat::Delimited {
            delimiter: '|',
            escape: false,
            remove_quotes: false,
        };
        let mut r = RecordReader::new(&b"\"a\n\"b"[..], &text);
        assert_eq!(r.next().await.unwrap().unwrap().bytes, b"\"a\n");
        assert_eq!(r.next().await.unwrap().unwrap().bytes, b"\"b");
        assert!(r.next().await.unwrap().is_none());
    }
}
