//! A record's fields as a row of the target table ([`Target`]): each field converted and
//! checked against its column and appended in PostgreSQL's COPY text format, or the row
//! rejected with the [`LoadError`] that says where and why.

use std::borrow::Cow;

use super::columns::Column;
use super::load_errors::{LoadError, ParsedField, truncate};
use crate::convert::{FieldError, convert};
use crate::copy_spec::{CopySpec, DataFormat};
use crate::records::Fields;

/// Where the rows go: the target columns, and the COPY whose options convert the values.
pub(super) struct Target {
    /// The COPY.
    pub spec: CopySpec,
    /// The columns loaded, in the order of the record's fields.
    pub columns: Vec<Column>,
}

/// Where a record came from, as `stl_load_errors` shows it.
pub(super) struct Origin<'a> {
    /// The file.
    pub file: &'a str,
    /// 1-based line in the file (row, for Parquet).
    pub line: u64,
    /// The raw record.
    pub record: &'a str,
}

impl Target {
    /// The `COPY ... FROM STDIN` that loads the rows.
    pub(super) fn copy_sql(&self) -> String {
        let col_list: Vec<String> = self
            .columns
            .iter()
            .map(|c| format!("\"{}\"", c.name.replace('"', "\"\"")))
            .collect();
        format!(
            "COPY {} ({}) FROM STDIN",
            self.spec.table,
            col_list.join(", ")
        )
    }

    /// Converts one record's fields and appends them to `out` as a COPY text row; on a bad
    /// field nothing is appended and the error says why.
    pub(super) fn encode(
        &self,
        mut fields: Fields<'_>,
        origin: &Origin<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(), Box<LoadError>> {
        let columns = &self.columns;
        if fields.len() < columns.len() && self.spec.fill_record {
            fields.resize(columns.len(), (None, false));
        }
        if fields.len() != columns.len() {
            // Codes from the Load error reference (r_Load_Error_Reference): 1214 "Delimiter not
            // found" is what Redshift records for a short line (the venue_pipe.txt example in
            // "System tables for troubleshooting data loads"); 1202 is "Input data had more
            // columns than were defined in the DDL", and "Extra column(s) found" is the message
            // the COPY examples quote for it (r_COPY_command_examples, the ESCAPE example).
            let (code, reason) = if fields.len() < columns.len() {
                (1214, "Delimiter not found".to_string())
            } else {
                (1202, "Extra column(s) found".to_string())
            };
            let at = fields.len().min(columns.len()).saturating_sub(1);
            return Err(Box::new(self.rejected(&fields, at, origin, code, reason)));
        }
        let row_start = out.len();
        for (i, ((raw, quoted), col)) in fields.iter().zip(columns).enumerate() {
            match convert(self.value(raw, *quoted), &col.ty, &self.spec) {
                // "A field specified as NOT NULL contained no data." (1213, Load error reference)
                Ok(None) if col.not_null => {
                    out.truncate(row_start);
                    return Err(Box::new(self.rejected(
                        &fields,
                        i,
                        origin,
                        1213,
                        "A field specified as NOT NULL contained no data.".into(),
                    )));
                }
                Ok(v) => {
                    if i > 0 {
                        out.push(b'\t');
                    }
                    push_copy_value(out, v.as_deref());
                }
                Err(FieldError { code, reason }) => {
                    out.truncate(row_start);
                    return Err(Box::new(self.rejected(&fields, i, origin, code, reason)));
                }
            }
        }
        out.push(b'\n');
        Ok(())
    }

    /// A field's value after NULL AS (and `\N` in delimited text): `None` is NULL.
    fn value<'a>(&self, raw: &'a Option<Cow<'_, str>>, quoted: bool) -> Option<&'a str> {
        match (raw.as_deref(), &self.spec.null_as) {
            (Some(r), Some(n)) if !quoted && r == n.as_str() => None,
            (Some("\\N"), None) if !quoted && self.spec.format == DataFormat::Text => None,
            (r, _) => r,
        }
    }

    /// The load error for a row rejected at column `at`: the column, its type, its raw value,
    /// and the fields parsed up to it (what stl_loaderror_detail shows: "all data columns
    /// including and prior to the column where the parse error occurred").
    fn rejected(
        &self,
        fields: &Fields<'_>,
        at: usize,
        origin: &Origin<'_>,
        code: i32,
        reason: String,
    ) -> LoadError {
        let col = self.columns.get(at);
        let raw = fields
            .get(at)
            .and_then(|(r, q)| self.value(r, *q))
            .unwrap_or("");
        LoadError {
            column: col.map(|c| c.name.clone()).unwrap_or_default(),
            col_type: col.map(|c| c.typname.clone()).unwrap_or_default(),
            col_length: col
                .filter(|c| c.length > 0)
                .map(|c| c.length.to_string())
                .unwrap_or_default(),
            raw_value: truncate(raw, 1024),
            parsed: fields
                .iter()
                .zip(&self.columns)
                .take(at + 1)
                .map(|((r, q), c)| ParsedField {
                    column: c.name.clone(),
                    value: self.value(r, *q).map(str::to_string),
                    col_type: c.typname.clone(),
                    col_length: c.length,
                })
                .collect(),
            ..LoadError::record(origin.file, origin.line, origin.record, code, reason)
        }
    }
}

/// Escapes a value for PostgreSQL's text COPY format.
fn push_copy_value(out: &mut Vec<u8>, v: Option<&str>) {
    match v {
        None => out.extend_from_slice(b"\\N"),
        Some(s)
            if !s
                .bytes()
                .any(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r')) =>
        {
            out.extend_from_slice(s.as_bytes());
        }
        Some(s) => {
            for b in s.bytes() {
                match b {
                    b'\\' => out.extend_from_slice(b"\\\\"),
                    b'\t' => out.extend_from_slice(b"\\t"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    _ => out.push(b),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::ColumnType;

    fn column(name: &str, typname: &str, typmod: i32, not_null: bool) -> Column {
        Column {
            name: name.into(),
            ty: ColumnType::from_pg(typname, typmod),
            typname: typname.into(),
            length: if typmod >= 4 { typmod - 4 } else { 0 },
            not_null,
        }
    }

    fn target(spec: CopySpec) -> Target {
        Target {
            spec,
            columns: vec![
                column("id", "int4", -1, true),
                column("name", "varchar", 14, false),
            ],
        }
    }

    fn fields(values: &[&'static str]) -> Fields<'static> {
        values
            .iter()
            .map(|v| (Some(Cow::Borrowed(*v)), false))
            .collect()
    }

    const AT: Origin<'static> = Origin {
        file: "s3://bkt/f",
        line: 3,
        record: "raw",
    };

    #[test]
    fn good_rows_are_copy_text() {
        let t = target(CopySpec::new("t", "s3://bkt/"));
        let mut out = Vec::new();
        t.encode(fields(&["1", "a\tb\\c"]), &AT, &mut out).unwrap();
        t.encode(fields(&["2", "\\N"]), &AT, &mut out).unwrap();
        assert_eq!(out, b"1\ta\\tb\\\\c\n2\t\\N\n");
        assert_eq!(t.copy_sql(), "COPY t (\"id\", \"name\") FROM STDIN");
    }

    #[test]
    fn bad_rows_say_where_and_why() {
        let mut out = b"kept\n".to_vec();
        let t = target(CopySpec::new("t", "s3://bkt/"));
        let short = t.encode(fields(&["1"]), &AT, &mut out).unwrap_err();
        assert_eq!((short.code, short.column.as_str()), (1214, "id"));
        assert_eq!(short.reason, "Delimiter not found");
        let extra = t
            .encode(fields(&["1", "a", "b"]), &AT, &mut out)
            .unwrap_err();
        assert_eq!((extra.code, extra.column.as_str()), (1202, "name"));
        let null = t.encode(fields(&["\\N", "a"]), &AT, &mut out).unwrap_err();
        assert_eq!((null.code, null.column.as_str()), (1213, "id"));
        let long = t
            .encode(fields(&["1", "much too long"]), &AT, &mut out)
            .unwrap_err();
        assert_eq!(
            (long.column.as_str(), long.col_type.as_str()),
            ("name", "varchar")
        );
        assert_eq!(long.col_length, "10");
        assert_eq!((long.file.as_str(), long.line), ("s3://bkt/f", 3));
        assert_eq!(long.raw_line, "raw");
        assert_eq!(long.raw_value, "much too long");
        let parsed: Vec<_> = long.parsed.iter().map(|p| p.value.as_deref()).collect();
        assert_eq!(parsed, [Some("1"), Some("much too long")]);
        assert_eq!(out, b"kept\n", "a rejected row leaves nothing behind");

        let mut spec = CopySpec::new("t", "s3://bkt/");
        spec.fill_record = true;
        target(spec).encode(fields(&["1"]), &AT, &mut out).unwrap();
        assert_eq!(out, b"kept\n1\t\\N\n");
    }
}
