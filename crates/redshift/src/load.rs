//! COPY FROM S3 on PostgreSQL: list the objects under the key prefix (or read the manifest),
//! decompress and parse each file as Redshift does (CSV, delimited text, JSON), convert and
//! check every field against the target column, and stream the good rows into the table with
//! `COPY ... FROM STDIN`. Rejected rows go to `stl_load_errors`; more than MAXERROR of them
//! fail the whole load the way Redshift fails it.

use std::borrow::Cow;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use async_compression::tokio::bufread::{BzDecoder, GzipDecoder, ZstdDecoder};
use rsql::{Backend, Completion, ConnectionLost, Notice, Outcome, SqlError};
use tokio::io::{AsyncBufRead, AsyncRead, BufReader, ReadBuf};
use tokio::sync::mpsc;

use crate::convert::{ColumnType, FieldError, convert};
use crate::copy_spec::{Compression, CopySpec, DataFormat, JsonMapping};
use crate::objects::{ObjectError, ObjectStore, S3Uri};
use crate::records::{Fields, RecordError, RecordReader, split_csv, split_text};

/// A row that could not be loaded.
#[derive(Debug, Clone)]
pub struct LoadError {
    /// The file.
    pub file: String,
    /// 1-based line in the file.
    pub line: u64,
    /// The column.
    pub column: String,
    /// The column's type, as stl_load_errors shows it (`int4`, `varchar`, ...).
    pub col_type: String,
    /// The column's length, for types that have one.
    pub col_length: String,
    /// The raw line (at most 1024 characters).
    pub raw_line: String,
    /// The raw field value.
    pub raw_value: String,
    /// Redshift's error code.
    pub code: i32,
    /// Why.
    pub reason: String,
    /// The fields parsed up to and including the bad one, for stl_loaderror_detail.
    pub parsed: Vec<ParsedField>,
}

/// One field of a rejected row, as stl_loaderror_detail shows it.
#[derive(Debug, Clone)]
pub struct ParsedField {
    /// The column it was parsed for.
    pub column: String,
    /// The value (`None`: NULL).
    pub value: Option<String>,
    /// The column's type name.
    pub col_type: String,
    /// The column's length, or 0.
    pub col_length: i32,
}

impl LoadError {
    /// A whole-record rejection (no particular column).
    fn record(file: &str, line: u64, raw_line: &str, code: i32, reason: String) -> LoadError {
        LoadError {
            file: file.to_string(),
            line,
            column: String::new(),
            col_type: String::new(),
            col_length: String::new(),
            raw_line: truncate(raw_line, 1024),
            raw_value: String::new(),
            code,
            reason,
            parsed: Vec::new(),
        }
    }
}

/// A target column.
#[derive(Debug, Clone)]
pub struct Column {
    /// Name.
    pub name: String,
    /// Type.
    pub ty: ColumnType,
    /// PostgreSQL's name of the type (`int4`, `varchar`, `bpchar`, ...).
    pub typname: String,
    /// Declared length of a character type, else 0.
    pub length: i32,
    /// NOT NULL.
    pub not_null: bool,
}

/// A failed statement with this SQLSTATE and message.
pub(crate) fn sql_error(sqlstate: &str, message: String) -> Outcome {
    Outcome {
        result: Err(SqlError {
            severity: "ERROR".into(),
            sqlstate: sqlstate.into(),
            message,
            detail: None,
            hint: None,
        }),
        notices: Vec::new(),
    }
}

/// Reads the target table's columns from the session; `Err` carries the failed outcome.
pub async fn table_columns(
    backend: &mut dyn Backend,
    table: &str,
) -> Result<Result<Vec<Column>, Outcome>, ConnectionLost> {
    let lit = format!("'{}'", table.replace('\'', "''"));
    let q = format!(
        "SELECT a.attname, t.typname, a.atttypmod, a.attnotnull FROM pg_catalog.pg_attribute a \
         JOIN pg_catalog.pg_type t ON t.oid = a.atttypid \
         WHERE a.attrelid = to_regclass({lit}) AND a.attnum > 0 AND NOT a.attisdropped \
         ORDER BY a.attnum"
    );
    let out = backend.execute(&q).await?;
    let rows = match out.result {
        Ok(c) => c.rows.map(|r| r.rows).unwrap_or_default(),
        Err(e) => {
            return Ok(Err(Outcome {
                result: Err(e),
                notices: Vec::new(),
            }));
        }
    };
    if rows.is_empty() {
        return Ok(Err(sql_error(
            "42P01",
            format!("relation \"{}\" does not exist", table.trim_matches('"')),
        )));
    }
    Ok(Ok(rows
        .into_iter()
        .map(|r| {
            let name = r[0].clone().unwrap_or_default();
            let typname = r[1].clone().unwrap_or_default();
            let typmod: i32 = r[2].as_deref().and_then(|s| s.parse().ok()).unwrap_or(-1);
            let length = if matches!(typname.as_str(), "varchar" | "bpchar") && typmod >= 4 {
                typmod - 4
            } else {
                0
            };
            Column {
                name,
                ty: ColumnType::from_pg(&typname, typmod),
                typname,
                length,
                not_null: r.get(3).and_then(|v| v.as_deref()) == Some("t"),
            }
        })
        .collect()))
}

/// The files a COPY reads: every object under the prefix, or the manifest's entries.
async fn resolve_files(spec: &CopySpec, store: &dyn ObjectStore) -> Result<Vec<S3Uri>, String> {
    let uri =
        S3Uri::parse(&spec.from).ok_or_else(|| format!("invalid S3 location '{}'", spec.from))?;
    if spec.manifest {
        let mut r = store
            .get(&uri.bucket, &uri.key)
            .await
            .map_err(|e| format!("could not read manifest {}: {e}", spec.from))?;
        let mut text = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut r, &mut text)
            .await
            .map_err(|e| format!("could not read manifest {}: {e}", spec.from))?;
        let v: serde_json::Value = serde_json::from_slice(&text)
            .map_err(|e| format!("manifest {} is not valid JSON: {e}", spec.from))?;
        let entries = v["entries"]
            .as_array()
            .ok_or_else(|| format!("manifest {} has no \"entries\" array", spec.from))?;
        let mut files = Vec::new();
        for e in entries {
            let url = e["url"].as_str().unwrap_or_default();
            let f = S3Uri::parse(url)
                .ok_or_else(|| format!("manifest {}: invalid url '{url}'", spec.from))?;
            let mandatory = e["mandatory"].as_bool().unwrap_or(false);
            let exists = store
                .list(&f.bucket, &f.key)
                .await
                .map(|l| l.iter().any(|o| o.key == f.key))
                .unwrap_or(false);
            if exists {
                files.push(f);
            } else if mandatory {
                return Err(format!(
                    "Manifest file entry {url} is mandatory but does not exist"
                ));
            }
        }
        return Ok(files);
    }
    let listed = match store.list(&uri.bucket, &uri.key).await {
        Ok(l) => l,
        Err(ObjectError::NoSuchBucket(b)) => {
            return Err(format!("The specified S3 bucket '{b}' does not exist"));
        }
        Err(e) => return Err(e.to_string()),
    };
    let files: Vec<S3Uri> = listed
        .into_iter()
        .filter(|o| o.size > 0 || !o.key.ends_with('/'))
        .map(|o| S3Uri {
            bucket: uri.bucket.clone(),
            key: o.key,
        })
        .collect();
    if files.is_empty() {
        return Err(format!(
            "The specified S3 prefix '{}' does not exist",
            uri.key
        ));
    }
    Ok(files)
}

/// An AsyncRead over chunks sent through a channel; an `Err` chunk fails the read (and so the
/// COPY, which the session then aborts with CopyFail).
struct ChannelReader {
    rx: mpsc::Receiver<std::io::Result<Vec<u8>>>,
    buf: Vec<u8>,
    pos: usize,
}

impl AsyncRead for ChannelReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        loop {
            if self.pos < self.buf.len() {
                let n = (self.buf.len() - self.pos).min(out.remaining());
                let start = self.pos;
                out.put_slice(&self.buf[start..start + n]);
                self.pos += n;
                return Poll::Ready(Ok(()));
            }
            match self.rx.poll_recv(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    self.buf = chunk;
                    self.pos = 0;
                }
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(e)),
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// Shared state of one load.
#[derive(Default)]
struct Progress {
    loaded: u64,
    errors: Vec<LoadError>,
    fatal: Option<String>,
}

/// A reader over the decompressed bytes of an object. LZOP files are decompressed whole (the
/// container has no streaming decoder here); the others stream.
async fn decoder(
    c: Compression,
    mut r: Box<dyn AsyncRead + Send + Unpin>,
) -> Result<Box<dyn AsyncBufRead + Send + Unpin>, String> {
    if c == Compression::Lzop {
        let mut data = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut r, &mut data)
            .await
            .map_err(|e| e.to_string())?;
        let plain = tokio::task::spawn_blocking(move || crate::lzop::decompress(&data))
            .await
            .map_err(|e| e.to_string())??;
        return Ok(Box::new(std::io::Cursor::new(plain)));
    }
    let buffered = BufReader::with_capacity(256 * 1024, r);
    Ok(match c {
        Compression::None => Box::new(buffered),
        Compression::Gzip => {
            let mut d = GzipDecoder::new(buffered);
            d.multiple_members(true);
            Box::new(BufReader::with_capacity(256 * 1024, d))
        }
        Compression::Bzip2 => Box::new(BufReader::with_capacity(
            256 * 1024,
            BzDecoder::new(buffered),
        )),
        Compression::Zstd => Box::new(BufReader::with_capacity(
            256 * 1024,
            ZstdDecoder::new(buffered),
        )),
        Compression::Lzop => Box::new(buffered),
    })
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

/// Runs a COPY FROM S3 on a PostgreSQL session.
///
/// Rejected rows that cannot be recorded yet, because the COPY failed inside a transaction
/// block (which PostgreSQL has aborted), come back as [`CopyRun::deferred`]: the statement that
/// records them, to run once the transaction has ended. Redshift's `stl_load_errors` is a
/// system table that keeps them whatever happens to the transaction.
pub async fn run_copy(
    backend: &mut dyn Backend,
    spec: &CopySpec,
    store: Arc<dyn ObjectStore>,
) -> Result<CopyRun, ConnectionLost> {
    let mut deferred = None;
    let mut began = None;
    let outcome = copy_outcome(backend, spec, store, &mut deferred, &mut began).await?;
    Ok(CopyRun {
        outcome,
        deferred,
        began,
    })
}

/// What a COPY gave, and the load-error record it could not write yet.
pub struct CopyRun {
    /// The statement's result.
    pub outcome: Outcome,
    /// SQL that appends the rejected rows to `stl_load_errors`, to run after the current
    /// (aborted) transaction ends.
    pub deferred: Option<String>,
    /// Set when the load process began (the table and the files were found): what
    /// `pg_last_copy_id()` and `pg_last_copy_count()` then report.
    pub began: Option<LoadBegan>,
}

/// A COPY whose load process began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadBegan {
    /// Its query ID, when one could be had.
    pub query_id: Option<i64>,
    /// Rows loaded: 0 when the load failed (PG_LAST_COPY_COUNT).
    pub loaded: u64,
}

async fn copy_outcome(
    backend: &mut dyn Backend,
    spec: &CopySpec,
    store: Arc<dyn ObjectStore>,
    deferred: &mut Option<String>,
    began: &mut Option<LoadBegan>,
) -> Result<Outcome, ConnectionLost> {
    let all_columns = match table_columns(backend, &spec.table).await? {
        Ok(c) => c,
        Err(o) => return Ok(o),
    };
    let columns: Vec<Column> = if spec.columns.is_empty() {
        all_columns
    } else {
        let mut cols = Vec::new();
        for name in &spec.columns {
            let n = name.trim_matches('"').to_lowercase();
            match all_columns.iter().find(|c| c.name == n) {
                Some(c) => cols.push(c.clone()),
                None => {
                    return Ok(sql_error(
                        "42703",
                        format!(
                            "column \"{n}\" of relation \"{}\" does not exist",
                            spec.table
                        ),
                    ));
                }
            }
        }
        cols
    };
    let files = match resolve_files(spec, store.as_ref()).await {
        Ok(f) => f,
        Err(msg) => return Ok(sql_error("XX000", msg)),
    };
    let json_paths = match &spec.format {
        DataFormat::Json(JsonMapping::Paths(uri)) => {
            match read_json_paths(uri, store.as_ref()).await {
                Ok(p) => Some(p),
                Err(msg) => return Ok(sql_error("XX000", msg)),
            }
        }
        _ => None,
    };
    let run = LoadRun {
        table: spec.table.clone(),
        query_id: crate::system::storage::next_query_id(backend).await?,
        starttime: chrono::Utc::now()
            .format("%Y-%m-%d %H:%M:%S%.6f")
            .to_string(),
    };
    *began = Some(LoadBegan {
        query_id: run.query_id,
        loaded: 0,
    });
    let col_list: Vec<String> = columns
        .iter()
        .map(|c| format!("\"{}\"", c.name.replace('"', "\"\"")))
        .collect();
    let copy_sql = format!("COPY {} ({}) FROM STDIN", spec.table, col_list.join(", "));

    let (tx, rx) = mpsc::channel::<std::io::Result<Vec<u8>>>(8);
    let progress = Arc::new(Mutex::new(Progress::default()));
    let producer = {
        let spec = spec.clone();
        let progress = progress.clone();
        let store = store.clone();
        let columns = columns.clone();
        tokio::spawn(async move {
            let r = produce(
                &spec,
                &columns,
                &files,
                json_paths.as_deref(),
                store.as_ref(),
                &tx,
                &progress,
            )
            .await;
            if let Err(msg) = r {
                progress
                    .lock()
                    .map(|mut p| p.fatal = Some(msg.clone()))
                    .ok();
                let _ = tx.send(Err(std::io::Error::other(msg))).await;
            }
        })
    };
    let mut reader = ChannelReader {
        rx,
        buf: Vec::new(),
        pos: 0,
    };
    let outcome = backend.copy_in(&copy_sql, &mut reader).await;
    drop(reader);
    let _ = producer.await;
    let outcome = outcome?;
    let (loaded, errors, fatal) = {
        let p = progress
            .lock()
            .map(|mut p| (p.loaded, std::mem::take(&mut p.errors), p.fatal.take()));
        p.unwrap_or((0, Vec::new(), Some("internal error".into())))
    };
    let table_name = spec.table.trim_matches('"').to_string();
    let mut notices = outcome.notices;
    if !errors.is_empty() {
        *deferred = record_errors(backend, &run, &errors, &mut notices).await?;
    }
    let result = match (outcome.result, fatal) {
        (_, Some(msg)) if msg == TOO_MANY_ERRORS => Err(SqlError {
            severity: "ERROR".into(),
            sqlstate: "XX000".into(),
            message: format!(
                "Load into table '{table_name}' failed.  Check 'stl_load_errors' system table for details."
            ),
            detail: errors.first().map(|e| {
                format!(
                    "error: {} (code {}), file {}, line {}, column {}, value '{}'",
                    e.reason, e.code, e.file, e.line, e.column, e.raw_value
                )
            }),
            hint: None,
        }),
        (_, Some(msg)) => Err(SqlError {
            severity: "ERROR".into(),
            sqlstate: "XX000".into(),
            message: msg,
            detail: None,
            hint: None,
        }),
        (Err(e), None) => Err(e),
        (Ok(_), None) => {
            let mut msg = format!(
                "Load into table '{table_name}' completed, {loaded} record(s) loaded successfully."
            );
            if !errors.is_empty() {
                msg = format!(
                    "Load into table '{table_name}' completed, {loaded} record(s) loaded successfully, {} record(s) could not be loaded.  Check 'stl_load_errors' system table for details.",
                    errors.len()
                );
            }
            notices.push(Notice {
                severity: "INFO".into(),
                message: msg,
            });
            if let Some(b) = began.as_mut() {
                b.loaded = loaded;
            }
            Ok(Completion {
                tag: format!("COPY {loaded}"),
                rows: None,
            })
        }
    };
    Ok(Outcome { result, notices })
}

const TOO_MANY_ERRORS: &str = "too many load errors";

async fn read_json_paths(uri: &str, store: &dyn ObjectStore) -> Result<Vec<Vec<String>>, String> {
    let u = S3Uri::parse(uri).ok_or_else(|| format!("invalid JSONPaths location '{uri}'"))?;
    let mut r = store
        .get(&u.bucket, &u.key)
        .await
        .map_err(|e| format!("could not read JSONPaths file {uri}: {e}"))?;
    let mut text = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut r, &mut text)
        .await
        .map_err(|e| format!("could not read JSONPaths file {uri}: {e}"))?;
    let v: serde_json::Value = serde_json::from_slice(&text)
        .map_err(|e| format!("JSONPaths file {uri} is not valid JSON: {e}"))?;
    let paths = v["jsonpaths"]
        .as_array()
        .ok_or_else(|| format!("JSONPaths file {uri} has no \"jsonpaths\" array"))?;
    paths
        .iter()
        .map(|p| {
            let s = p.as_str().unwrap_or_default();
            crate::records::parse_json_path(s)
                .ok_or_else(|| format!("invalid JSONPath expression '{s}' in {uri}"))
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
async fn produce(
    spec: &CopySpec,
    columns: &[Column],
    files: &[S3Uri],
    json_paths: Option<&[Vec<String>]>,
    store: &dyn ObjectStore,
    tx: &mpsc::Sender<std::io::Result<Vec<u8>>>,
    progress: &Mutex<Progress>,
) -> Result<(), String> {
    let mut out = Vec::with_capacity(512 * 1024);
    for file in files {
        let raw = store
            .get(&file.bucket, &file.key)
            .await
            .map_err(|e| e.to_string())?;
        if spec.format == DataFormat::Parquet {
            let file_name = file.to_string();
            let mut data = Vec::new();
            let mut raw = raw;
            tokio::io::AsyncReadExt::read_to_end(&mut raw, &mut data)
                .await
                .map_err(|e| format!("{file_name}: {e}"))?;
            let rows = tokio::task::spawn_blocking(move || crate::parquet_io::read_rows(data))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| format!("{file_name}: not a readable Parquet file: {e}"))?;
            for (i, row) in rows.into_iter().enumerate() {
                let record: Vec<&str> = row.iter().map(|v| v.as_deref().unwrap_or("")).collect();
                let record = record.join("|");
                let fields: Fields = row.into_iter().map(|v| (v.map(Cow::Owned), true)).collect();
                if let Err(e) = emit_row(
                    fields,
                    columns,
                    spec,
                    &mut out,
                    &file_name,
                    i as u64 + 1,
                    &record,
                ) {
                    reject(progress, spec, *e)?;
                    continue;
                }
                if !row_loaded(&mut out, tx, progress).await {
                    return Ok(());
                }
            }
            continue;
        }
        let file_name = file.to_string();
        let reader = decoder(spec.compression, raw)
            .await
            .map_err(|e| format!("{file_name}: {e}"))?;
        let mut records = RecordReader::new(reader, &spec.format);
        let mut skipped_header = 0;
        while let Some(rec) = records
            .next()
            .await
            .map_err(|e| format!("{file_name}: {e}"))?
        {
            if skipped_header < spec.ignore_header {
                skipped_header += 1;
                continue;
            }
            let line_no = rec.line;
            let text = match String::from_utf8(rec.bytes) {
                Ok(s) => s,
                Err(e) => match spec.accept_inv_chars {
                    Some(c) => {
                        String::from_utf8_lossy(e.as_bytes()).replace('\u{FFFD}', &c.to_string())
                    }
                    None => {
                        let raw = String::from_utf8_lossy(e.as_bytes()).into_owned();
                        reject(
                            progress,
                            spec,
                            LoadError::record(
                                &file_name,
                                line_no,
                                &raw,
                                1220,
                                "String contains invalid or unsupported UTF8 codepoints.".into(),
                            ),
                        )?;
                        continue;
                    }
                },
            };
            let mut record = text;
            if matches!(spec.format, DataFormat::Text | DataFormat::Csv { .. }) {
                while record.ends_with(['\n', '\r']) {
                    record.pop();
                }
            }
            if record.is_empty()
                && (spec.ignore_blank_lines || matches!(spec.format, DataFormat::Json(_)))
            {
                continue;
            }
            let fields: Result<Fields, RecordError> = match &spec.format {
                DataFormat::Csv { quote } => Ok(split_csv(&record, spec.delimiter, *quote)),
                DataFormat::Text => Ok(split_text(
                    &record,
                    spec.delimiter,
                    spec.escape,
                    spec.remove_quotes,
                )),
                DataFormat::Json(mapping) => crate::records::json_fields(
                    &record,
                    columns.iter().map(|c| c.name.as_str()),
                    mapping,
                    json_paths,
                ),
                DataFormat::Parquet => Err((0, "unreachable".into())),
            };
            let fields = match fields {
                Ok(f) => f,
                Err((code, reason)) => {
                    reject(
                        progress,
                        spec,
                        LoadError::record(&file_name, line_no, &record, code, reason),
                    )?;
                    continue;
                }
            };
            if let Err(e) = emit_row(
                fields, columns, spec, &mut out, &file_name, line_no, &record,
            ) {
                reject(progress, spec, *e)?;
                continue;
            }
            if !row_loaded(&mut out, tx, progress).await {
                return Ok(());
            }
        }
    }
    if !out.is_empty() {
        let _ = tx.send(Ok(out)).await;
    }
    Ok(())
}

/// Counts a loaded row and sends the buffer on when it is full; false when the receiver is gone
/// (the COPY ended early).
async fn row_loaded(
    out: &mut Vec<u8>,
    tx: &mpsc::Sender<std::io::Result<Vec<u8>>>,
    progress: &Mutex<Progress>,
) -> bool {
    if let Ok(mut p) = progress.lock() {
        p.loaded += 1;
    }
    if out.len() >= 256 * 1024 {
        let chunk = std::mem::replace(out, Vec::with_capacity(512 * 1024));
        return tx.send(Ok(chunk)).await.is_ok();
    }
    true
}

/// Converts one record's fields and appends them to `out` as a COPY text row; on a bad field
/// nothing is appended and the error says why.
fn emit_row(
    mut fields: Fields<'_>,
    columns: &[Column],
    spec: &CopySpec,
    out: &mut Vec<u8>,
    file_name: &str,
    line_no: u64,
    record: &str,
) -> Result<(), Box<LoadError>> {
    if ends_with_delimiter(&fields, columns.len(), &spec.format) {
        fields.pop();
    }
    if fields.len() < columns.len() && spec.fill_record {
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
        return Err(Box::new(rejected(
            &fields, columns, spec, at, file_name, line_no, record, code, reason,
        )));
    }
    let row_start = out.len();
    for (i, ((raw, quoted), col)) in fields.iter().zip(columns).enumerate() {
        match convert(field_value(raw, *quoted, spec), &col.ty, spec) {
            // "A field specified as NOT NULL contained no data." (1213, Load error reference)
            Ok(None) if col.not_null => {
                out.truncate(row_start);
                return Err(Box::new(rejected(
                    &fields,
                    columns,
                    spec,
                    i,
                    file_name,
                    line_no,
                    record,
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
                return Err(Box::new(rejected(
                    &fields, columns, spec, i, file_name, line_no, record, code, reason,
                )));
            }
        }
    }
    out.push(b'\n');
    Ok(())
}

/// A field's value after NULL AS (and `\N` in delimited text): `None` is NULL.
fn field_value<'a>(
    raw: &'a Option<Cow<'_, str>>,
    quoted: bool,
    spec: &CopySpec,
) -> Option<&'a str> {
    match (raw.as_deref(), &spec.null_as) {
        (Some(r), Some(n)) if !quoted && r == n.as_str() => None,
        (Some("\\N"), None) if !quoted && spec.format == DataFormat::Text => None,
        (r, _) => r,
    }
}

/// The load error for a row rejected at column `at`: the column, its type, its raw value, and
/// the fields parsed up to it (what stl_loaderror_detail shows: "all data columns including and
/// prior to the column where the parse error occurred").
#[allow(clippy::too_many_arguments)]
fn rejected(
    fields: &Fields<'_>,
    columns: &[Column],
    spec: &CopySpec,
    at: usize,
    file_name: &str,
    line_no: u64,
    record: &str,
    code: i32,
    reason: String,
) -> LoadError {
    let col = columns.get(at);
    let raw = fields
        .get(at)
        .and_then(|(r, q)| field_value(r, *q, spec))
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
            .zip(columns)
            .take(at + 1)
            .map(|((r, q), c)| ParsedField {
                column: c.name.clone(),
                value: field_value(r, *q, spec).map(str::to_string),
                col_type: c.typname.clone(),
                col_length: c.length,
            })
            .collect(),
        ..LoadError::record(file_name, line_no, record, code, reason)
    }
}

/// True when a delimited record ends with the delimiter and so carries one empty, unquoted
/// piece after its last field. The delimiter then ends the last field instead of starting a
/// new one: "Do not include any special characters or syntax to indicate the last field in a
/// record. This field can be a delimiter." (Preparing your input data, t_preparing-input-data).
/// That is how dbgen's `.tbl` files (every line ends with `|`) load into 8-column TPC-H tables,
/// and how the COPY example "Load data from a file with default values" loads
/// `1|Toyota Park|Bridgeview|IL|` into four listed columns (r_COPY_command_examples). A
/// record with exactly as many pieces as columns keeps its empty last field.
fn ends_with_delimiter(fields: &Fields<'_>, columns: usize, format: &DataFormat) -> bool {
    matches!(format, DataFormat::Text | DataFormat::Csv { .. })
        && fields.len() == columns + 1
        && matches!(fields.last(), Some((Some(v), false)) if v.is_empty())
}

fn reject(progress: &Mutex<Progress>, spec: &CopySpec, e: LoadError) -> Result<(), String> {
    let mut p = progress.lock().map_err(|_| "internal error".to_string())?;
    p.errors.push(e);
    if p.errors.len() as u64 > spec.max_error {
        return Err(TOO_MANY_ERRORS.into());
    }
    Ok(())
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// What the system tables record about one COPY besides its rejected rows.
#[derive(Debug, Clone)]
pub struct LoadRun {
    /// The target table as written in the COPY.
    pub table: String,
    /// The COPY's query ID (`pg_last_copy_id()`), when one could be had.
    pub query_id: Option<i64>,
    /// When the load began, UTC (`YYYY-MM-DD HH:MM:SS.ffffff`).
    pub starttime: String,
}

/// Appends rejected rows to `rsqlflow_sys.stl_load_errors` and their parsed fields to
/// `rsqlflow_sys.stl_loaderror_detail`, with the COPY's query ID, table ID (the table's OID)
/// and start time. In an aborted transaction the statement is returned instead, to run once
/// the transaction has ended.
async fn record_errors(
    backend: &mut dyn Backend,
    run: &LoadRun,
    errors: &[LoadError],
    notices: &mut Vec<Notice>,
) -> Result<Option<String>, ConnectionLost> {
    let sql = load_errors_sql(run, errors);
    let out = backend.execute(&sql).await?;
    match out.result {
        Err(e) if e.sqlstate == IN_FAILED_TRANSACTION => return Ok(Some(sql)),
        Err(e) => notices.push(load_errors_not_recorded(&e.message)),
        Ok(_) => {}
    }
    Ok(None)
}

/// The statement that records a COPY's rejected rows.
fn load_errors_sql(run: &LoadRun, errors: &[LoadError]) -> String {
    use crate::system::storage::{ensure_sql, lit, system_text};
    let query = run
        .query_id
        .map_or_else(|| "NULL".to_string(), |q| q.to_string());
    let tbl = format!("to_regclass({})::oid::integer", lit(&run.table));
    let start = format!("CAST({} AS timestamp)", lit(&run.starttime));
    let mut sql = String::from(ensure_sql());
    sql.push_str(";\nINSERT INTO rsqlflow_sys.stl_load_errors (userid, slice, tbl, starttime, session, query, filename, line_number, colname, type, col_length, position, raw_line, raw_field_value, err_code, err_reason) VALUES ");
    for (i, e) in errors.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!(
            "(100, 0, {tbl}, {start}, pg_backend_pid(), {query}, {}, {}, {}, {}, {}, -1, {}, {}, {}, {})",
            lit(&system_text(&e.file, 256)),
            e.line,
            lit(&system_text(&e.column, 127)),
            lit(&system_text(&e.col_type, 10)),
            lit(&system_text(&e.col_length, 10)),
            lit(&system_text(&e.raw_line, 1024)),
            lit(&system_text(&e.raw_value, 1024)),
            e.code,
            lit(&system_text(&e.reason, 100)),
        ));
    }
    let query = query.as_str();
    let details: Vec<String> = errors
        .iter()
        .flat_map(|e| {
            e.parsed.iter().enumerate().map(move |(field, p)| {
                format!(
                    "(100, 0, pg_backend_pid(), {query}, {}, {}, {field}, {}, {}, {}, {}, {})",
                    lit(&system_text(&e.file, 256)),
                    e.line,
                    lit(&system_text(&p.column, 1024)),
                    lit(&system_text(p.value.as_deref().unwrap_or(""), 1024)),
                    i32::from(p.value.is_none()),
                    lit(&system_text(&p.col_type, 10)),
                    p.col_length,
                )
            })
        })
        .collect();
    if !details.is_empty() {
        sql.push_str(";\nINSERT INTO rsqlflow_sys.stl_loaderror_detail (userid, slice, session, query, filename, line_number, field, colname, value, is_null, type, col_length) VALUES ");
        sql.push_str(&details.join(", "));
    }
    sql
}

/// SQLSTATE of a statement sent in an aborted transaction block.
const IN_FAILED_TRANSACTION: &str = "25P02";

/// The warning given when rejected rows could not be written to `stl_load_errors`.
pub(crate) fn load_errors_not_recorded(reason: &str) -> Notice {
    Notice {
        severity: "WARNING".into(),
        message: format!("could not record load errors in stl_load_errors: {reason}"),
    }
}
