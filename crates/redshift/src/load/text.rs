//! The text producer: one CSV, delimited-text or JSON file decompressed, framed into records
//! (header lines skipped, invalid UTF-8 replaced or rejected, blank lines skipped) and split
//! into fields for the [`Sink`].

use tokio::io::AsyncRead;

use super::decode::decoder;
use super::end::Stop;
use super::load_errors::LoadError;
use super::rows::{Origin, Target};
use super::sink::Sink;
use crate::records::{Fields, RecordReader, TextFormat};

/// Loads the records of one text file.
pub(super) async fn load_file(
    target: &Target,
    format: &TextFormat,
    sink: &mut Sink,
    file_name: &str,
    raw: Box<dyn AsyncRead + Send + Unpin>,
) -> Result<(), Stop> {
    let spec = &target.spec;
    let unreadable = |e: &dyn std::fmt::Display| Stop::Failed(format!("{file_name}: {e}"));
    let reader = decoder(spec.compression, raw)
        .await
        .map_err(|e| unreadable(&e))?;
    let mut records = RecordReader::new(reader, format);
    let mut skipped_header = 0;
    while let Some(rec) = records.next().await.map_err(|e| unreadable(&e))? {
        if skipped_header < spec.ignore_header {
            skipped_header += 1;
            continue;
        }
        let line = rec.line;
        let mut record = match String::from_utf8(rec.bytes) {
            Ok(s) => s,
            Err(e) => match spec.accept_inv_chars {
                Some(c) => {
                    String::from_utf8_lossy(e.as_bytes()).replace('\u{FFFD}', &c.to_string())
                }
                None => {
                    let raw = String::from_utf8_lossy(e.as_bytes()).into_owned();
                    sink.reject(LoadError::record(
                        file_name,
                        line,
                        &raw,
                        1220,
                        "String contains invalid or unsupported UTF8 codepoints.".into(),
                    ))?;
                    continue;
                }
            },
        };
        if format.is_delimited() {
            while record.ends_with(['\n', '\r']) {
                record.pop();
            }
        }
        if record.is_empty() && (spec.ignore_blank_lines || !format.is_delimited()) {
            continue;
        }
        let origin = Origin {
            file: file_name,
            line,
            record: &record,
        };
        let mut fields = match format.fields(&record) {
            Ok(f) => f,
            Err((code, reason)) => {
                sink.reject(LoadError::record(file_name, line, &record, code, reason))?;
                continue;
            }
        };
        if format.is_delimited() && ends_with_delimiter(&fields, target.columns.len()) {
            fields.pop();
        }
        sink.row(target, fields, &origin).await?;
    }
    Ok(())
}

/// True when a delimited record ends with the delimiter and so carries one empty, unquoted
/// piece after its last field. The delimiter then ends the last field instead of starting a
/// new one: "Do not include any special characters or syntax to indicate the last field in a
/// record. This field can be a delimiter." (Preparing your input data, t_preparing-input-data).
/// That is how dbgen's `.tbl` files (every line ends with `|`) load into 8-column TPC-H tables,
/// and how the COPY example "Load data from a file with default values" loads
/// `1|Toyota Park|Bridgeview|IL|` into four listed columns (r_COPY_command_examples). A
/// record with exactly as many pieces as columns keeps its empty last field.
fn ends_with_delimiter(fields: &Fields<'_>, columns: usize) -> bool {
    fields.len() == columns + 1 && matches!(fields.last(), Some((Some(v), false)) if v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trailing_delimiter_ends_the_last_field() {
        let format = TextFormat::Delimited {
            delimiter: '|',
            escape: false,
            remove_quotes: false,
        };
        let split = |r| format.fields(r).unwrap();
        assert!(ends_with_delimiter(&split("1|a|"), 2));
        assert!(!ends_with_delimiter(&split("1|a|"), 3));
        assert!(!ends_with_delimiter(&split("1|a|b"), 2));
        let csv = TextFormat::Csv {
            delimiter: ',',
            quote: '"',
        };
        assert!(!ends_with_delimiter(&csv.fields("1,\"\"").unwrap(), 1));
    }
}
