//! Apache Parquet for COPY and UNLOAD: rows of a Parquet file as text values (matched to the
//! table by column position, as Redshift does), and a result set written as one Parquet file
//! (snappy-compressed; integers, floats, booleans and dates typed, everything else UTF-8).

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, NaiveDate};
use parquet::basic::Compression;
use parquet::data_type::{ByteArray, Decimal};
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::writer::SerializedFileWriter;
use parquet::record::Field;
use parquet::schema::parser::parse_message_type;
use rsql::ResultSet;

fn decimal_text(d: &Decimal) -> String {
    let bytes = d.data();
    let mut v: i128 = if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        -1
    } else {
        0
    };
    for b in bytes {
        v = (v << 8) | i128::from(*b);
    }
    let scale = d.scale().max(0) as u32;
    if scale == 0 {
        return v.to_string();
    }
    let neg = v < 0;
    let digits = v.unsigned_abs().to_string();
    let padded = format!("{digits:0>width$}", width = scale as usize + 1);
    let (int, frac) = padded.split_at(padded.len() - scale as usize);
    format!("{}{int}.{frac}", if neg { "-" } else { "" })
}

fn field_text(f: &Field) -> Option<String> {
    Some(match f {
        Field::Null => return None,
        Field::Bool(b) => if *b { "t" } else { "f" }.to_string(),
        Field::Byte(v) => v.to_string(),
        Field::Short(v) => v.to_string(),
        Field::Int(v) => v.to_string(),
        Field::Long(v) => v.to_string(),
        Field::UByte(v) => v.to_string(),
        Field::UShort(v) => v.to_string(),
        Field::UInt(v) => v.to_string(),
        Field::ULong(v) => v.to_string(),
        Field::Float(v) => v.to_string(),
        Field::Double(v) => v.to_string(),
        Field::Decimal(d) => decimal_text(d),
        Field::Str(s) => s.clone(),
        Field::Bytes(b) => String::from_utf8_lossy(b.data()).into_owned(),
        Field::Date(days) => (NaiveDate::from_ymd_opt(1970, 1, 1)?
            + chrono::Duration::days(i64::from(*days)))
        .format("%Y-%m-%d")
        .to_string(),
        Field::TimestampMillis(ms) => DateTime::from_timestamp_millis(*ms)?
            .naive_utc()
            .format("%Y-%m-%d %H:%M:%S%.f")
            .to_string(),
        Field::TimestampMicros(us) => DateTime::from_timestamp_micros(*us)?
            .naive_utc()
            .format("%Y-%m-%d %H:%M:%S%.f")
            .to_string(),
        other => other.to_string(),
    })
}

/// Reads every row of a Parquet file as text values, in column order.
pub fn read_rows(data: Vec<u8>) -> Result<Vec<Vec<Option<String>>>, String> {
    let reader = SerializedFileReader::new(Bytes::from(data)).map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    for row in reader.get_row_iter(None).map_err(|e| e.to_string())? {
        let row = row.map_err(|e| e.to_string())?;
        rows.push(row.get_column_iter().map(|(_, f)| field_text(f)).collect());
    }
    Ok(rows)
}

#[derive(Clone, Copy)]
enum Physical {
    Bool,
    Int32,
    Int64,
    Double,
    Date,
    Text,
}

fn physical(oid: u32) -> Physical {
    match oid {
        16 => Physical::Bool,
        21 | 23 => Physical::Int32,
        20 => Physical::Int64,
        700 | 701 => Physical::Double,
        1082 => Physical::Date,
        _ => Physical::Text,
    }
}

fn column_name(name: &str, i: usize) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.is_empty() || clean.starts_with(|c: char| c.is_ascii_digit()) {
        format!("col_{i}")
    } else {
        clean
    }
}

/// Writes a result set as one Parquet file.
pub fn write_rows(rs: &ResultSet) -> Result<Vec<u8>, String> {
    let kinds: Vec<Physical> = rs.columns.iter().map(|c| physical(c.type_oid)).collect();
    let mut schema = String::from("message unload {\n");
    for (i, (c, k)) in rs.columns.iter().zip(&kinds).enumerate() {
        let (ty, annotation) = match k {
            Physical::Bool => ("BOOLEAN", ""),
            Physical::Int32 => ("INT32", ""),
            Physical::Int64 => ("INT64", ""),
            Physical::Double => ("DOUBLE", ""),
            Physical::Date => ("INT32", " (DATE)"),
            Physical::Text => ("BYTE_ARRAY", " (UTF8)"),
        };
        schema.push_str(&format!(
            "  OPTIONAL {ty} {}{annotation};\n",
            column_name(&c.name, i)
        ));
    }
    schema.push('}');
    let schema = Arc::new(parse_message_type(&schema).map_err(|e| e.to_string())?);
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build(),
    );
    let mut out = Vec::new();
    let mut writer =
        SerializedFileWriter::new(&mut out, schema, props).map_err(|e| e.to_string())?;
    let mut rg = writer.next_row_group().map_err(|e| e.to_string())?;
    let mut col = 0;
    while let Some(mut cw) = rg.next_column().map_err(|e| e.to_string())? {
        let values = rs.rows.iter().map(|r| r[col].as_deref());
        let defs: Vec<i16> = rs
            .rows
            .iter()
            .map(|r| i16::from(r[col].is_some()))
            .collect();
        let bad = |v: &str| {
            format!("UNLOAD to Parquet: value '{v}' of column {col} does not fit its type")
        };
        use parquet::column::writer::ColumnWriter as W;
        match cw.untyped() {
            W::BoolColumnWriter(w) => {
                let v: Vec<bool> = values.flatten().map(|s| s == "t" || s == "true").collect();
                w.write_batch(&v, Some(&defs), None)
                    .map_err(|e| e.to_string())?;
            }
            W::Int32ColumnWriter(w) => {
                let mut v = Vec::new();
                for s in values.flatten() {
                    v.push(match kinds[col] {
                        Physical::Date => {
                            let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| bad(s))?;
                            (d - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()).num_days()
                                as i32
                        }
                        _ => s.parse::<i32>().map_err(|_| bad(s))?,
                    });
                }
                w.write_batch(&v, Some(&defs), None)
                    .map_err(|e| e.to_string())?;
            }
            W::Int64ColumnWriter(w) => {
                let v: Result<Vec<i64>, String> = values
                    .flatten()
                    .map(|s| s.parse::<i64>().map_err(|_| bad(s)))
                    .collect();
                w.write_batch(&v?, Some(&defs), None)
                    .map_err(|e| e.to_string())?;
            }
            W::DoubleColumnWriter(w) => {
                let v: Result<Vec<f64>, String> = values
                    .flatten()
                    .map(|s| s.parse::<f64>().map_err(|_| bad(s)))
                    .collect();
                w.write_batch(&v?, Some(&defs), None)
                    .map_err(|e| e.to_string())?;
            }
            W::ByteArrayColumnWriter(w) => {
                let v: Vec<ByteArray> = values.flatten().map(ByteArray::from).collect();
                w.write_batch(&v, Some(&defs), None)
                    .map_err(|e| e.to_string())?;
            }
            _ => return Err("UNLOAD to Parquet: unexpected column writer".into()),
        }
        cw.close().map_err(|e| e.to_string())?;
        col += 1;
    }
    rg.close().map_err(|e| e.to_string())?;
    writer.close().map_err(|e| e.to_string())?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsql::Column;

    #[test]
    fn round_trip() {
        let rs = ResultSet {
            columns: vec![
                Column {
                    name: "id".into(),
                    type_oid: 23,
                },
                Column {
                    name: "amount".into(),
                    type_oid: 1700,
                },
                Column {
                    name: "d".into(),
                    type_oid: 1082,
                },
                Column {
                    name: "big".into(),
                    type_oid: 20,
                },
                Column {
                    name: "ok".into(),
                    type_oid: 16,
                },
            ],
            rows: vec![
                vec![
                    Some("1".into()),
                    Some("10.50".into()),
                    Some("2024-03-01".into()),
                    Some("9000000000".into()),
                    Some("t".into()),
                ],
                vec![Some("2".into()), None, None, None, Some("f".into())],
            ],
        };
        let bytes = write_rows(&rs).unwrap();
        let back = read_rows(bytes).unwrap();
        assert_eq!(back, rs.rows);
    }
}
