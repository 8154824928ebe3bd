//! Redshift's `COPY table [(columns)] FROM 's3://...' options` and `UNLOAD ('query') TO
//! 's3://...' options`, parsed from tokens into typed specifications.

use sqlparser::tokenizer::Token;

use crate::tokens::Tok;

/// Input and output data formats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataFormat {
    /// Delimited text (the default).
    Text,
    /// CSV with a quote character.
    Csv {
        /// Quote character.
        quote: char,
    },
    /// JSON with `'auto'` (match keys to columns) or a JSONPaths file.
    Json(JsonMapping),
    /// Apache Parquet.
    Parquet,
}

/// How JSON fields map to columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonMapping {
    /// Keys match column names, case-insensitively.
    Auto,
    /// Keys match column names exactly.
    AutoIgnoreCase,
    /// A JSONPaths file at this S3 URI.
    Paths(String),
}

/// Compression of the data files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// None.
    None,
    /// gzip.
    Gzip,
    /// bzip2.
    Bzip2,
    /// Zstandard.
    Zstd,
    /// lzop.
    Lzop,
}

/// A parsed COPY FROM S3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopySpec {
    /// Target table, as written.
    pub table: String,
    /// Explicit column list, as written.
    pub columns: Vec<String>,
    /// The `s3://` source (prefix, or manifest when `manifest`).
    pub from: String,
    /// Data format.
    pub format: DataFormat,
    /// Field delimiter.
    pub delimiter: char,
    /// Header lines to skip in each file.
    pub ignore_header: usize,
    /// The string that loads as NULL.
    pub null_as: Option<String>,
    /// Empty CHAR/VARCHAR fields load as NULL.
    pub empty_as_null: bool,
    /// Whitespace-only CHAR/VARCHAR fields load as NULL.
    pub blanks_as_null: bool,
    /// DATEFORMAT.
    pub date_format: Option<String>,
    /// TIMEFORMAT.
    pub time_format: Option<String>,
    /// Compression.
    pub compression: Compression,
    /// Errors tolerated before the load fails.
    pub max_error: u64,
    /// Truncate strings longer than the column.
    pub truncate_columns: bool,
    /// Replace invalid UTF-8 with this character.
    pub accept_inv_chars: Option<char>,
    /// FROM names a manifest file.
    pub manifest: bool,
    /// Backslash escapes in text format.
    pub escape: bool,
    /// Remove surrounding quotes in text format.
    pub remove_quotes: bool,
    /// Skip blank lines.
    pub ignore_blank_lines: bool,
    /// Trim trailing blanks of VARCHAR values.
    pub trim_blanks: bool,
    /// Missing trailing columns load as NULL.
    pub fill_record: bool,
}

impl CopySpec {
    /// A COPY of `table` from `from` with Redshift's defaults (delimited text, `|`).
    pub fn new(table: impl Into<String>, from: impl Into<String>) -> CopySpec {
        CopySpec {
            table: table.into(),
            columns: Vec::new(),
            from: from.into(),
            format: DataFormat::Text,
            delimiter: '|',
            ignore_header: 0,
            null_as: None,
            empty_as_null: false,
            blanks_as_null: false,
            date_format: None,
            time_format: None,
            compression: Compression::None,
            max_error: 0,
            truncate_columns: false,
            accept_inv_chars: None,
            manifest: false,
            escape: false,
            remove_quotes: false,
            ignore_blank_lines: false,
            trim_blanks: false,
            fill_record: false,
        }
    }
}

/// A parsed UNLOAD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnloadSpec {
    /// The query (Redshift SQL, unescaped).
    pub query: String,
    /// The `s3://` key prefix.
    pub to: String,
    /// Output format (Text, Csv or Parquet).
    pub format: DataFormat,
    /// Field delimiter.
    pub delimiter: char,
    /// Write a header line.
    pub header: bool,
    /// Compression.
    pub compression: Compression,
    /// One file per slice (true) or a single file (false).
    pub parallel: bool,
    /// Overwrite existing files.
    pub allow_overwrite: bool,
    /// Write a manifest.
    pub manifest: bool,
    /// Quote every field (text format).
    pub add_quotes: bool,
    /// Text for NULL.
    pub null_as: String,
    /// Extra file extension.
    pub extension: Option<String>,
}

/// Errors in a COPY/UNLOAD statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpecError {
    /// Malformed: what is wrong.
    Syntax(String),
    /// Valid Redshift, but the local engine cannot do it: the construct.
    Unsupported(String),
}

struct Cursor<'a> {
    sql: &'a str,
    toks: &'a [Tok],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<&'a Tok> {
        self.toks.get(self.i)
    }
    fn word(&self) -> Option<String> {
        self.peek().and_then(|t| match &t.token {
            Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
            _ => None,
        })
    }
    fn eat(&mut self, w: &str) -> bool {
        if self.word().as_deref() == Some(w) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn string(&mut self, what: &str) -> Result<String, SpecError> {
        self.eat("AS");
        match self.peek() {
            Some(t) if matches!(t.token, Token::SingleQuotedString(_)) => {
                self.i += 1;
                Ok(raw_string(&self.sql[t.range.clone()]))
            }
            _ => Err(SpecError::Syntax(format!("{what} expects a quoted string"))),
        }
    }
    fn number(&mut self, what: &str) -> Result<u64, SpecError> {
        self.eat("AS");
        match self.peek().map(|t| &t.token) {
            Some(Token::Number(n, _)) => {
                self.i += 1;
                n.parse()
                    .map_err(|_| SpecError::Syntax(format!("{what} expects a whole number")))
            }
            _ => Err(SpecError::Syntax(format!("{what} expects a number"))),
        }
    }
    fn text(&self, from: usize, to: usize) -> &'a str {
        if from >= to {
            return "";
        }
        &self.sql[self.toks[from].range.start..self.toks[to - 1].range.end]
    }
    /// Consumes an authorization or location option (accepted and ignored locally); false when
    /// `w` is not one.
    fn auth_option(&mut self, w: &str) -> Result<bool, SpecError> {
        match w {
            "IAM_ROLE" => {
                if !self.eat("DEFAULT") {
                    self.string("IAM_ROLE")?;
                }
            }
            "WITH" => {
                self.eat("CREDENTIALS");
                self.string("CREDENTIALS")?;
            }
            "CREDENTIALS"
            | "ACCESS_KEY_ID"
            | "SECRET_ACCESS_KEY"
            | "SESSION_TOKEN"
            | "REGION"
            | "KMS_KEY_ID"
            | "MASTER_SYMMETRIC_KEY" => {
                self.string(w)?;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn at_end(&self) -> bool {
        matches!(self.peek().map(|t| &t.token), None | Some(Token::SemiColon))
    }
}

/// The value of a quoted literal as written: only `''` is an escape (so `'\N'` is the two
/// characters backslash and N, as COPY's NULL AS means it).
fn raw_string(quoted: &str) -> String {
    let inner = quoted
        .strip_prefix('\'')
        .and_then(|s| s.strip_suffix('\''))
        .unwrap_or(quoted);
    inner.replace("''", "'")
}

fn one_char(s: &str, what: &str) -> Result<char, SpecError> {
    let mut c = s.chars();
    match (c.next(), c.next()) {
        (Some(ch), None) => Ok(ch),
        _ if s == "\\t" => Ok('\t'),
        _ => Err(SpecError::Syntax(format!(
            "{what} must be a single character, got '{s}'"
        ))),
    }
}

/// Parses `COPY ... FROM 's3://...' ...`.
pub fn parse_copy(sql: &str, toks: &[Tok]) -> Result<CopySpec, SpecError> {
    let mut c = Cursor { sql, toks, i: 1 };
    let start = c.i;
    while c.peek().is_some()
        && !matches!(c.peek().map(|t| &t.token), Some(Token::LParen))
        && c.word().as_deref() != Some("FROM")
    {
        c.i += 1;
    }
    let table = c.text(start, c.i).replace('#', "");
    let mut columns = Vec::new();
    if matches!(c.peek().map(|t| &t.token), Some(Token::LParen)) {
        c.i += 1;
        while let Some(t) = c.peek() {
            match &t.token {
                Token::RParen => {
                    c.i += 1;
                    break;
                }
                Token::Comma => c.i += 1,
                _ => {
                    columns.push(sql[t.range.clone()].to_string());
                    c.i += 1;
                }
            }
        }
    }
    if !c.eat("FROM") {
        return Err(SpecError::Syntax("expected FROM after the table".into()));
    }
    let from = c.string("FROM")?;
    let mut spec = CopySpec::new(table, from);
    spec.columns = columns;
    let mut delimiter_set = false;
    while !c.at_end() {
        let Some(w) = c.word() else {
            return Err(SpecError::Syntax(format!(
                "unexpected {} in COPY options",
                &sql[c.peek().map(|t| t.range.clone()).unwrap_or(0..0)]
            )));
        };
        c.i += 1;
        if c.auth_option(&w)? {
            continue;
        }
        match w.as_str() {
            "FORMAT" => {
                c.eat("AS");
                continue;
            }
            "CSV" => {
                let quote = if c.eat("QUOTE") {
                    one_char(&c.string("QUOTE")?, "QUOTE")?
                } else {
                    '"'
                };
                spec.format = DataFormat::Csv { quote };
                if !delimiter_set {
                    spec.delimiter = ',';
                }
            }
            "QUOTE" => {
                let q = one_char(&c.string("QUOTE")?, "QUOTE")?;
                spec.format = DataFormat::Csv { quote: q };
            }
            "JSON" => {
                let arg = c.string("JSON").unwrap_or_else(|_| "auto".into());
                spec.format = DataFormat::Json(match arg.to_ascii_lowercase().as_str() {
                    "auto" => JsonMapping::Auto,
                    "auto ignorecase" => JsonMapping::AutoIgnoreCase,
                    _ => JsonMapping::Paths(arg),
                });
            }
            "PARQUET" => spec.format = DataFormat::Parquet,
            "AVRO" | "ORC" | "FIXEDWIDTH" | "SHAPEFILE" => {
                return Err(SpecError::Syntax(format!(
                    "{w} is not supported by the local engine"
                )));
            }
            "DELIMITER" => {
                spec.delimiter = one_char(&c.string("DELIMITER")?, "DELIMITER")?;
                delimiter_set = true;
            }
            "IGNOREHEADER" => spec.ignore_header = c.number("IGNOREHEADER")? as usize,
            "NULL" => spec.null_as = Some(c.string("NULL AS")?),
            "EMPTYASNULL" => spec.empty_as_null = true,
            "BLANKSASNULL" => spec.blanks_as_null = true,
            "DATEFORMAT" => spec.date_format = Some(c.string("DATEFORMAT")?),
            "TIMEFORMAT" => spec.time_format = Some(c.string("TIMEFORMAT")?),
            "GZIP" => spec.compression = Compression::Gzip,
            "BZIP2" => spec.compression = Compression::Bzip2,
            "ZSTD" => spec.compression = Compression::Zstd,
            "LZOP" => spec.compression = Compression::Lzop,
            "MAXERROR" => spec.max_error = c.number("MAXERROR")?,
            "TRUNCATECOLUMNS" => spec.truncate_columns = true,
            "ACCEPTINVCHARS" => {
                spec.accept_inv_chars = Some(match c.string("ACCEPTINVCHARS") {
                    Ok(s) => one_char(&s, "ACCEPTINVCHARS")?,
                    Err(_) => '?',
                });
            }
            "MANIFEST" => spec.manifest = true,
            "ESCAPE" => spec.escape = true,
            "REMOVEQUOTES" => spec.remove_quotes = true,
            "IGNOREBLANKLINES" => spec.ignore_blank_lines = true,
            "TRIMBLANKS" => spec.trim_blanks = true,
            "FILLRECORD" => spec.fill_record = true,
            "ACCEPTANYDATE" | "EXPLICIT_IDS" | "ROUNDEC" | "NOLOAD" | "ENCRYPTED"
            | "EMPTYASNULLS" => {}
            "COMPUPDATE" | "STATUPDATE" => {
                if matches!(
                    c.word().as_deref(),
                    Some("ON" | "OFF" | "TRUE" | "FALSE" | "PRESET")
                ) {
                    c.i += 1;
                }
            }
            other => return Err(SpecError::Syntax(format!("unknown COPY option {other}"))),
        }
    }
    Ok(spec)
}

/// Parses `UNLOAD ('query') TO 's3://...' ...`.
pub fn parse_unload(sql: &str, toks: &[Tok]) -> Result<UnloadSpec, SpecError> {
    let mut c = Cursor { sql, toks, i: 1 };
    if matches!(c.peek().map(|t| &t.token), Some(Token::LParen)) {
        c.i += 1;
    }
    let query = match c.peek() {
        Some(t) if matches!(t.token, Token::SingleQuotedString(_)) => {
            raw_string(&sql[t.range.clone()])
        }
        _ => return Err(SpecError::Syntax("UNLOAD expects ('query')".into())),
    };
    c.i += 1;
    if matches!(c.peek().map(|t| &t.token), Some(Token::RParen)) {
        c.i += 1;
    }
    if !c.eat("TO") {
        return Err(SpecError::Syntax(
            "expected TO 's3://...' after the query".into(),
        ));
    }
    let to = c.string("TO")?;
    let mut spec = UnloadSpec {
        query,
        to,
        format: DataFormat::Text,
        delimiter: '|',
        header: false,
        compression: Compression::None,
        parallel: true,
        allow_overwrite: false,
        manifest: false,
        add_quotes: false,
        null_as: String::new(),
        extension: None,
    };
    let mut delimiter_set = false;
    while !c.at_end() {
        let Some(w) = c.word() else {
            return Err(SpecError::Syntax(
                "unexpected token in UNLOAD options".into(),
            ));
        };
        c.i += 1;
        if c.auth_option(&w)? {
            continue;
        }
        match w.as_str() {
            "FORMAT" => {
                c.eat("AS");
            }
            "CSV" => {
                spec.format = DataFormat::Csv { quote: '"' };
                if !delimiter_set {
                    spec.delimiter = ',';
                }
            }
            "PARQUET" => spec.format = DataFormat::Parquet,
            "JSON" => spec.format = DataFormat::Json(JsonMapping::Auto),
            "DELIMITER" => {
                spec.delimiter = one_char(&c.string("DELIMITER")?, "DELIMITER")?;
                delimiter_set = true;
            }
            "HEADER" => spec.header = true,
            "GZIP" => spec.compression = Compression::Gzip,
            "BZIP2" => spec.compression = Compression::Bzip2,
            "ZSTD" => spec.compression = Compression::Zstd,
            "PARALLEL" => {
                spec.parallel = match c.word().as_deref() {
                    Some("OFF" | "FALSE") => false,
                    Some("ON" | "TRUE") => true,
                    _ => return Err(SpecError::Syntax("PARALLEL expects ON or OFF".into())),
                };
                c.i += 1;
            }
            "ALLOWOVERWRITE" => spec.allow_overwrite = true,
            "MANIFEST" => {
                spec.manifest = true;
                c.eat("VERBOSE");
            }
            "ADDQUOTES" => spec.add_quotes = true,
            "NULL" => spec.null_as = c.string("NULL AS")?,
            "EXTENSION" => spec.extension = Some(c.string("EXTENSION")?),
            "ENCRYPTED" | "CLEANPATH" | "ESCAPE" => {}
            "MAXFILESIZE" => {
                c.eat("AS");
                c.i += 1;
                if matches!(c.word().as_deref(), Some("MB" | "GB")) {
                    c.i += 1;
                }
            }
            "ROWGROUPSIZE" => {
                c.eat("AS");
                c.i += 1;
                if matches!(c.word().as_deref(), Some("MB" | "GB")) {
                    c.i += 1;
                }
            }
            "PARTITION" => {
                return Err(SpecError::Unsupported("UNLOAD ... PARTITION BY".into()));
            }
            other => return Err(SpecError::Syntax(format!("unknown UNLOAD option {other}"))),
        }
    }
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::tokenize;

    #[test]
    fn copy_options() {
        let sql = "COPY stg (id, name) FROM 's3://b/p/part_' CREDENTIALS 'aws_iam_role=x' DELIMITER '|' GZIP NULL AS '\\N' TIMEFORMAT 'YYYY-MM-DD HH:MI:SS' MAXERROR 10 ACCEPTINVCHARS TRUNCATECOLUMNS EMPTYASNULL IGNOREHEADER AS 1;";
        let s = parse_copy(sql, &tokenize(sql).unwrap()).unwrap();
        assert_eq!(s.table, "stg");
        assert_eq!(s.columns, vec!["id", "name"]);
        assert_eq!(s.compression, Compression::Gzip);
        assert_eq!(s.null_as.as_deref(), Some("\\N"));
        assert_eq!((s.max_error, s.ignore_header), (10, 1));
        assert!(s.truncate_columns && s.empty_as_null);
        let sql = "COPY t FROM 's3://b/k' IAM_ROLE 'arn' FORMAT AS CSV DELIMITER '|' IGNOREHEADER 1 REGION 'us-east-1'";
        let s = parse_copy(sql, &tokenize(sql).unwrap()).unwrap();
        assert_eq!(
            (s.format.clone(), s.delimiter),
            (DataFormat::Csv { quote: '"' }, '|')
        );
        let sql = "COPY t FROM 's3://b/k' BOGUS";
        assert!(parse_copy(sql, &tokenize(sql).unwrap()).is_err());
    }

    #[test]
    fn unload_options() {
        let sql = "UNLOAD ('SELECT id FROM c WHERE city = ''NYC''') TO 's3://b/export/cust_' IAM_ROLE 'arn' DELIMITER '|' HEADER ALLOWOVERWRITE PARALLEL OFF;";
        let s = parse_unload(sql, &tokenize(sql).unwrap()).unwrap();
        assert_eq!(s.query, "SELECT id FROM c WHERE city = 'NYC'");
        assert!(s.header && s.allow_overwrite && !s.parallel);
    }
}
