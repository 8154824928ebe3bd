//! Field conversion for COPY: each raw value is checked against its column's type the way
//! Redshift checks it (integer digits and range, numeric precision, VARCHAR byte length,
//! DATEFORMAT/TIMEFORMAT), so one bad row is rejected with Redshift's error code and reason
//! instead of failing the whole PostgreSQL COPY.

use std::borrow::Cow;

use chrono::{NaiveDate, NaiveDateTime};

use crate::copy_spec::CopySpec;

/// A target column type, as far as loading cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnType {
    /// SMALLINT, INTEGER, BIGINT: the range.
    Int {
        min: i64,
        max: i64,
        name: &'static str,
    },
    /// NUMERIC(p, s); `None` when unconstrained.
    Numeric(Option<(u32, u32)>),
    /// REAL, DOUBLE PRECISION.
    Float,
    /// BOOLEAN.
    Bool,
    /// VARCHAR(n) / CHAR(n); `None` when unbounded; `padded` for CHAR.
    Char {
        max_bytes: Option<usize>,
        padded: bool,
    },
    /// TEXT.
    Text,
    /// DATE.
    Date,
    /// TIMESTAMP.
    Timestamp,
    /// Anything else: passed to the server as is.
    Other(String),
}

impl ColumnType {
    /// From `pg_type.typname` and `pg_attribute.atttypmod`.
    pub fn from_pg(typname: &str, typmod: i32) -> ColumnType {
        match typname {
            "int2" => ColumnType::Int {
                min: i16::MIN as i64,
                max: i16::MAX as i64,
                name: "Short Integer",
            },
            "int4" => ColumnType::Int {
                min: i32::MIN as i64,
                max: i32::MAX as i64,
                name: "Integer",
            },
            "int8" => ColumnType::Int {
                min: i64::MIN,
                max: i64::MAX,
                name: "Long",
            },
            "numeric" => ColumnType::Numeric((typmod >= 4).then(|| {
                let t = (typmod - 4) as u32;
                ((t >> 16) & 0xffff, t & 0xffff)
            })),
            "float4" | "float8" => ColumnType::Float,
            "bool" => ColumnType::Bool,
            "varchar" | "bpchar" => ColumnType::Char {
                max_bytes: (typmod >= 4).then(|| (typmod - 4) as usize),
                padded: typname == "bpchar",
            },
            "text" => ColumnType::Text,
            "date" => ColumnType::Date,
            "timestamp" => ColumnType::Timestamp,
            other => ColumnType::Other(other.to_string()),
        }
    }
}

/// Why a field was rejected: Redshift's error code and reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Redshift load error code (stl_load_errors.err_code).
    pub code: i32,
    /// The reason text.
    pub reason: String,
}

fn err(code: i32, reason: String) -> FieldError {
    FieldError { code, reason }
}

/// `YYYY-MM-DD` checked without a format parser (the common case of a bulk load).
fn iso_date(v: &str) -> Option<NaiveDate> {
    let b = v.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| v.get(r)?.parse::<u32>().ok();
    NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)
}

/// `YYYY-MM-DD HH:MI:SS` checked without a format parser.
fn iso_timestamp(v: &str) -> bool {
    let b = v.as_bytes();
    if b.len() != 19 || b[10] != b' ' || b[13] != b':' || b[16] != b':' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| v.get(r).and_then(|x| x.parse::<u32>().ok());
    iso_date(&v[..10]).is_some()
        && matches!((num(11..13), num(14..16), num(17..19)), (Some(h), Some(m), Some(s)) if h < 24 && m < 60 && s < 60)
}

/// Converts one raw field (`None` = NULL) for a column; `Ok(None)` loads NULL. Values that need
/// no change are returned borrowed.
pub fn convert<'a>(
    raw: Option<&'a str>,
    ty: &ColumnType,
    spec: &CopySpec,
) -> Result<Option<Cow<'a, str>>, FieldError> {
    let Some(v) = raw else { return Ok(None) };
    match ty {
        ColumnType::Char { max_bytes, padded } => {
            if (spec.empty_as_null && v.is_empty())
                || (spec.blanks_as_null && !v.is_empty() && v.trim().is_empty())
            {
                return Ok(None);
            }
            let s = if spec.trim_blanks || *padded {
                v.trim_end()
            } else {
                v
            };
            match max_bytes {
                Some(max) if s.len() > *max => {
                    if spec.truncate_columns {
                        let mut cut = *max;
                        while !s.is_char_boundary(cut) {
                            cut -= 1;
                        }
                        Ok(Some(Cow::Borrowed(&s[..cut])))
                    } else {
                        Err(err(1204, "String length exceeds DDL length".into()))
                    }
                }
                _ => Ok(Some(Cow::Borrowed(s))),
            }
        }
        ColumnType::Text => Ok(Some(Cow::Borrowed(v))),
        _ if v.trim().is_empty() => Ok(None),
        ColumnType::Int { min, max, name } => {
            let t = v.trim();
            let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
            if let Some((pos, c)) = digits.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
                return Err(err(
                    1207,
                    format!("Invalid digit, Value '{c}', Pos {pos}, Type: {name}"),
                ));
            }
            match t.parse::<i64>() {
                Ok(n) if n >= *min && n <= *max => Ok(Some(Cow::Borrowed(t))),
                _ => Err(err(1216, format!("Overflow ({name}), Value '{t}'"))),
            }
        }
        ColumnType::Numeric(bounds) => {
            let t = v.trim();
            let body = t.strip_prefix(['+', '-']).unwrap_or(t);
            let (int, frac) = body.split_once('.').unwrap_or((body, ""));
            if let Some((pos, c)) = body
                .char_indices()
                .find(|(_, c)| !(c.is_ascii_digit() || *c == '.'))
            {
                return Err(err(
                    1207,
                    format!("Invalid digit, Value '{c}', Pos {pos}, Type: Decimal"),
                ));
            }
            if frac.contains('.') || (int.is_empty() && frac.is_empty()) {
                return Err(err(
                    1207,
                    "Invalid digit, Value '.', Pos 0, Type: Decimal".into(),
                ));
            }
            if let Some((p, s)) = bounds {
                let int_digits = int.trim_start_matches('0').len() as u32;
                if int_digits > p.saturating_sub(*s) {
                    return Err(err(
                        1216,
                        format!("Numeric data overflow (result precision), Value '{t}'"),
                    ));
                }
            }
            Ok(Some(Cow::Borrowed(t)))
        }
        ColumnType::Float => {
            let t = v.trim();
            t.parse::<f64>()
                .map(|_| Some(Cow::Borrowed(t)))
                .map_err(|_| {
                    err(
                        1207,
                        format!("Invalid digit, Value '{t}', Pos 0, Type: Double"),
                    )
                })
        }
        ColumnType::Bool => match v.trim().to_ascii_lowercase().as_str() {
            "t" | "true" | "1" | "y" | "yes" => Ok(Some(Cow::Borrowed("t"))),
            "f" | "false" | "0" | "n" | "no" => Ok(Some(Cow::Borrowed("f"))),
            other => Err(err(1218, format!("Invalid boolean value '{other}'"))),
        },
        ColumnType::Date => {
            let t = v.trim();
            if spec.date_format.is_none() && iso_date(t).is_some() {
                return Ok(Some(Cow::Borrowed(t)));
            }
            parse_date(t, spec.date_format.as_deref())
                .map(|d| Some(Cow::Owned(d.format("%Y-%m-%d").to_string())))
                .ok_or_else(|| {
                    let f = spec.date_format.as_deref().unwrap_or("YYYY-MM-DD");
                    err(
                        1205,
                        format!("Invalid date format or value [{f}], Value '{t}'"),
                    )
                })
        }
        ColumnType::Timestamp => {
            let t = v.trim();
            if iso_timestamp(t) {
                return Ok(Some(Cow::Borrowed(t)));
            }
            parse_timestamp(t, spec.time_format.as_deref())
                .map(|ts| Some(Cow::Owned(ts.format("%Y-%m-%d %H:%M:%S%.f").to_string())))
                .ok_or_else(|| {
                    let f = spec
                        .time_format
                        .as_deref()
                        .unwrap_or("YYYY-MM-DD HH24:MI:SS");
                    err(
                        1206,
                        format!("Invalid timestamp format or value [{f}], Value '{t}'"),
                    )
                })
        }
        ColumnType::Other(_) => Ok(Some(Cow::Borrowed(v))),
    }
}

/// Translates a Redshift datetime format (YYYY, MM, DD, HH24, HH, MI, SS, MON, AM, ...) to
/// chrono's.
fn chrono_format(f: &str) -> String {
    let mut out = String::new();
    let mut rest = f;
    let table: &[(&str, &str)] = &[
        ("YYYY", "%Y"),
        ("HH24", "%H"),
        ("HH12", "%I"),
        ("MONTH", "%B"),
        ("MON", "%b"),
        ("YY", "%y"),
        ("MM", "%m"),
        ("DD", "%d"),
        ("HH", "%H"),
        ("MI", "%M"),
        ("SS", "%S"),
        ("AM", "%p"),
        ("PM", "%p"),
        ("US", "%6f"),
        ("MS", "%3f"),
    ];
    'outer: while !rest.is_empty() {
        for (k, v) in table {
            if rest.len() >= k.len() && rest[..k.len()].eq_ignore_ascii_case(k) {
                out.push_str(v);
                rest = &rest[k.len()..];
                continue 'outer;
            }
        }
        let c = rest.chars().next().unwrap_or(' ');
        if c == '%' {
            out.push_str("%%");
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

const AUTO_DATES: &[&str] = &[
    "%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y", "%Y%m%d", "%d-%b-%Y", "%b %d %Y", "%d %b %Y", "%Y.%m.%d",
    "%m-%d-%Y",
];
const AUTO_TIMESTAMPS: &[&str] = &[
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S%.f",
    "%m/%d/%Y %H:%M:%S%.f",
    "%Y%m%d %H:%M:%S",
    "%Y%m%d%H%M%S",
];

fn parse_date(v: &str, fmt: Option<&str>) -> Option<NaiveDate> {
    match fmt {
        Some(f) if !f.eq_ignore_ascii_case("auto") => {
            NaiveDate::parse_from_str(v, &chrono_format(f)).ok()
        }
        Some(_) => AUTO_DATES
            .iter()
            .find_map(|f| NaiveDate::parse_from_str(v, f).ok())
            .or_else(|| parse_timestamp(v, Some("auto")).map(|t| t.date())),
        None => NaiveDate::parse_from_str(v, "%Y-%m-%d").ok(),
    }
}

fn parse_timestamp(v: &str, fmt: Option<&str>) -> Option<NaiveDateTime> {
    match fmt.map(str::to_ascii_lowercase).as_deref() {
        Some("epochsecs") => v
            .parse::<i64>()
            .ok()
            .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
            .map(|d| d.naive_utc()),
        Some("epochmillisecs") => v
            .parse::<i64>()
            .ok()
            .and_then(chrono::DateTime::from_timestamp_millis)
            .map(|d| d.naive_utc()),
        Some("auto") | None => AUTO_TIMESTAMPS
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(v, f).ok())
            .or_else(|| {
                NaiveDate::parse_from_str(v, "%Y-%m-%d")
                    .ok()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
            })
            .or_else(|| {
                if fmt.is_some() {
                    AUTO_DATES
                        .iter()
                        .find_map(|f| NaiveDate::parse_from_str(v, f).ok())
                        .and_then(|d| d.and_hms_opt(0, 0, 0))
                } else {
                    None
                }
            }),
        Some(_) => {
            let f = chrono_format(fmt.unwrap_or_default());
            NaiveDateTime::parse_from_str(v, &f)
                .ok()
                .or_else(|| NaiveDateTime::parse_from_str(v, &format!("{f}%.f")).ok())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> CopySpec {
        let mut s = CopySpec::new("t", "s3://b/k");
        s.time_format = Some("YYYY-MM-DD HH:MI:SS".into());
        s
    }

    #[test]
    fn conversions() {
        let s = spec();
        let int = ColumnType::from_pg("int4", -1);
        assert_eq!(
            convert(Some(" 42 "), &int, &s),
            Ok(Some(Cow::Borrowed("42")))
        );
        assert_eq!(convert(Some("4x"), &int, &s).unwrap_err().code, 1207);
        assert_eq!(
            convert(Some("99999999999"), &int, &s).unwrap_err().code,
            1216
        );
        let num = ColumnType::from_pg("numeric", ((10 << 16) | 2) + 4);
        assert_eq!(num, ColumnType::Numeric(Some((10, 2))));
        assert_eq!(
            convert(Some("123456789.5"), &num, &s).unwrap_err().code,
            1216
        );
        let vc = ColumnType::from_pg("varchar", 3 + 4);
        assert_eq!(convert(Some("abcd"), &vc, &s).unwrap_err().code, 1204);
        let mut t = spec();
        t.truncate_columns = true;
        assert_eq!(
            convert(Some("abcd"), &vc, &t),
            Ok(Some(Cow::Borrowed("abc")))
        );
        let ts = ColumnType::from_pg("timestamp", -1);
        assert_eq!(
            convert(Some("2024-05-04 15:00:00"), &ts, &s),
            Ok(Some(Cow::Borrowed("2024-05-04 15:00:00")))
        );
        assert_eq!(convert(Some("05/04/2024"), &ts, &s).unwrap_err().code, 1206);
        assert_eq!(convert(Some(""), &int, &s), Ok(None));
    }
}
