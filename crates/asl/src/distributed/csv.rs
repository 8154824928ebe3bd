//! Text-delimited files as Step Functions parses them for a Distributed Map (AWSDOC "How Step
//! Functions parses input CSV files", and the rules repeated on "ItemReader (Map)"):
//!
//! - the field delimiter is `CSVDelimiter` (default comma); newlines separate records;
//! - every field is a string;
//! - a field enclosed in double quotes may contain delimiters and newlines; `""` is one double
//!   quote, inside quotes or not (the docs' example reads `{""MyKey"":""MyValue""}` as
//!   `{"MyKey":"MyValue"}`);
//! - a backslash escapes a backslash, a double quote or the delimiter; a backslash followed by any
//!   other character is silently removed;
//! - a row with fewer fields than the header gets empty strings for the missing ones, and extra
//!   fields are skipped.
//!
//! Recorded AWS executions (LocalStack `test_base_scenarios.snapshot.json`,
//! `test_map_item_reader_base_csv_headers_first_line` and `_decl`, 2023) add: spaces are kept
//! (`"   "` stays `"   "`), single quotes are ordinary characters, the file's final newline ends
//! the last record without adding an empty one, and a row object's keys come out in the
//! iteration order of a Java `HashMap` (see [`java_hash_map_order`]).
//!
//! Not documented, chosen here: an empty line (no character at all) is no record; `\r\n` ends a
//! record like `\n`; an unterminated quoted field is an error naming its line.

use serde_json::{Map, Value};

/// A malformed record: what is wrong, and the line (1-based) where its record starts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct CsvError {
    pub line: usize,
    pub message: String,
}

/// One record: the line it starts on (1-based) and its fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub line: usize,
    pub fields: Vec<String>,
}

/// The records of `text`, split on `delimiter`.
pub fn records(text: &str, delimiter: char) -> Records<'_> {
    Records {
        chars: text.chars().peekable(),
        delimiter,
        line: 1,
    }
}

/// Iterator over the records of a text-delimited file (see [`records`]).
pub struct Records<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    delimiter: char,
    line: usize,
}

impl Records<'_> {
    /// Reads the character after a backslash: a backslash, a double quote or the delimiter is
    /// kept; anything else is left for the caller (the backslash alone is dropped).
    fn escaped(&mut self, field: &mut String) {
        match self.chars.peek() {
            Some(&c) if c == '\\' || c == '"' || c == self.delimiter => {
                field.push(c);
                self.chars.next();
            }
            _ => {}
        }
    }
}

impl Iterator for Records<'_> {
    type Item = Result<Record, CsvError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let start = self.line;
            let mut fields = Vec::new();
            let mut field = String::new();
            let mut seen = false;
            let mut content = false;
            while let Some(c) = self.chars.next() {
                seen = true;
                if c != '\n' && c != '\r' {
                    content = true;
                }
                match c {
                    '\n' => {
                        self.line += 1;
                        break;
                    }
                    '\r' => {
                        if self.chars.peek() == Some(&'\n') {
                            self.chars.next();
                        }
                        self.line += 1;
                        break;
                    }
                    '\\' => self.escaped(&mut field),
                    '"' if field.is_empty() => {
                        // A quoted field: runs to the closing quote; `""` is one quote.
                        let opened = self.line;
                        loop {
                            match self.chars.next() {
                                None => {
                                    return Some(Err(CsvError {
                                        line: opened,
                                        message: "a double-quoted field is not closed".into(),
                                    }));
                                }
                                Some('"') => {
                                    if self.chars.peek() == Some(&'"') {
                                        self.chars.next();
                                        field.push('"');
                                    } else {
                                        break;
                                    }
                                }
                                Some('\\') => self.escaped(&mut field),
                                Some(ch) => {
                                    if ch == '\n' {
                                        self.line += 1;
                                    }
                                    field.push(ch);
                                }
                            }
                        }
                    }
                    c if c == self.delimiter => fields.push(std::mem::take(&mut field)),
                    '"' => {
                        // `""` is one double quote outside quotes too: AWSDOC's example field
                        // `{""MyKey"":""MyValue""}` reads as `{"MyKey":"MyValue"}`.
                        if self.chars.peek() == Some(&'"') {
                            self.chars.next();
                        }
                        field.push('"');
                    }
                    c => field.push(c),
                }
            }
            if !seen {
                return None;
            }
            // An empty line is no record.
            if !content {
                continue;
            }
            fields.push(field);
            return Some(Ok(Record {
                line: start,
                fields,
            }));
        }
    }
}

/// Java's `String.hashCode`: over UTF-16 code units, wrapping.
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, u| h.wrapping_mul(31).wrapping_add(i32::from(u)))
}

/// The order in which a `java.util.HashMap` built by inserting `keys` in turn (default
/// capacity 16, load factor 0.75) iterates them: by bucket, then by insertion. Step Functions
/// emits a CSV row's keys in this order: AWS-recorded `{"0":…,"{}":…,"True":…}` for the header
/// `0,True,{}` and `{"":…,"H1":…}` for `H1,` (LocalStack snapshots
/// `test_map_item_reader_csv_headers_first_row_typed_headers`, `_csv_first_row_extra_fields`),
/// and AWSDOC "ItemReader (Map)"'s CSV example, headers `userId,movieId,rating,timestamp`, shows
/// `rating, movieId, userId, timestamp`. Returns indexes into `keys`.
pub fn java_hash_map_order(keys: &[String]) -> Vec<usize> {
    let mut capacity = 16usize;
    while keys.len() * 4 > capacity * 3 {
        capacity *= 2;
    }
    let bucket = |k: &str| {
        let h = java_string_hash(k) as u32;
        ((h ^ (h >> 16)) as usize) & (capacity - 1)
    };
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by_key(|&i| (bucket(&keys[i]), i));
    order
}

/// Turns records into row objects by `headers`: missing fields are empty strings, extra fields
/// are skipped, keys in [`java_hash_map_order`].
pub struct RowShaper {
    headers: Vec<String>,
    order: Vec<usize>,
}

impl RowShaper {
    /// A shaper for `headers`; `Err` with AWS's cause when two headers are equal
    /// (AWS-recorded: `test_map_item_reader_csv_headers_decl_duplicate_headers`).
    pub fn new(headers: Vec<String>) -> Result<RowShaper, String> {
        let mut seen = std::collections::HashSet::new();
        if !headers.iter().all(|h| seen.insert(h.as_str())) {
            return Err("CSV headers cannot contain duplicates.".into());
        }
        let order = java_hash_map_order(&headers);
        Ok(RowShaper { headers, order })
    }

    /// The row object of `fields`.
    pub fn shape(&self, fields: &[String]) -> Value {
        let mut m = Map::new();
        for &i in &self.order {
            let v = fields.get(i).cloned().unwrap_or_default();
            m.insert(self.headers[i].clone(), Value::String(v));
        }
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &str, d: char) -> Vec<Vec<String>> {
        records(text, d).map(|r| r.unwrap().fields).collect()
    }

    #[test]
    fn quoting_and_escapes() {
        assert_eq!(
            all("a,\"b,c\",\"d\"\"e\"\n", ','),
            vec![vec!["a", "b,c", "d\"e"]]
        );
        assert_eq!(
            all("C:\\\\x,\\,y,\\q\n", ','),
            vec![vec!["C:\\x", ",y", "q"]]
        );
        assert_eq!(all("\"a\nb\",c", ','), vec![vec!["a\nb", "c"]]);
    }

    #[test]
    fn lines_and_blanks() {
        let r: Vec<_> = records("h\n\nx\r\ny", ',').map(|r| r.unwrap()).collect();
        assert_eq!(r.len(), 3);
        assert_eq!((r[1].line, r[2].line), (3, 4));
        assert_eq!(
            records("a\n\"open", ',').nth(1).unwrap().unwrap_err().line,
            2
        );
    }

    #[test]
    fn hash_order_matches_aws_records() {
        let k = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let keys = k(&["userId", "movieId", "rating", "timestamp"]);
        let names: Vec<_> = java_hash_map_order(&keys)
            .into_iter()
            .map(|i| keys[i].as_str())
            .collect();
        assert_eq!(names, ["rating", "movieId", "userId", "timestamp"]);
        assert_eq!(java_string_hash("True"), 2615726);
    }
}
