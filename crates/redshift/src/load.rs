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
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, BufReader, ReadBuf};
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
    /// The column's type.
    pub col_type: String,
    /// The raw line (at most 1024 characters).
    pub raw_line: String,
    /// The raw field value.
    pub raw_value: String,
    /// Redshift's error code.
    pub code: i32,
    /// Why.
    pub reason: String,
}

impl LoadError {
    /// A whole-record rejection (no particular column).
    fn record(file: &str, line: u64, raw_line: &str, code: i32, reason: String) -> LoadError {
        LoadError {
            file: file.to_string(),
            line,
            column: String::new(),
            col_type: String::new(),
            raw_line: truncate(raw_line, 1024),
            raw_value: String::new(),
            code,
            reason,
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
        "SELECT a.attname, t.typname, a.atttypmod FROM pg_catalog.pg_attribute a \
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
            Column {
                name,
                ty: ColumnType::from_pg(&typname, typmod),
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
    let outcome = copy_outcome(backend, spec, store, &mut deferred).await?;
    Ok(CopyRun { outcome, deferred })
}

/// What a COPY gave, and the load-error record it could not write yet.
pub struct CopyRun {
    /// The statement's result.
    pub outcome: Outcome,
    /// SQL that appends the rejected rows to `stl_load_errors`, to run after the current
    /// (aborted) transaction ends.
    pub deferred: Option<String>,
}

async fn copy_outcome(
    backend: &mut dyn Backend,
    spec: &CopySpec,
    store: Arc<dyn ObjectStore>,
    deferred: &mut Option<String>,
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
        *deferred = record_errors(backend, &table_name, &errors, &mut notices).await?;
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
    let reject_row =
        |column: String, col_type: String, raw_value: &str, code: i32, reason: String| LoadError {
            column,
            col_type,
            raw_value: truncate(raw_value, 1024),
            ..LoadError::record(file_name, line_no, record, code, reason)
        };
    if fields.len() < columns.len() && spec.fill_record {
        fields.resize(columns.len(), (None, false));
    }
    if fields.len() != columns.len() {
        let (code, reason) = if fields.len() < columns.len() {
            (1214, "Delimiter not found".to_string())
        } else {
            (1216, "Extra column(s) found".to_string())
        };
        let column = columns
            .get(fields.len().min(columns.len().saturating_sub(1)))
            .map(|c| c.name.clone())
            .unwrap_or_default();
        return Err(Box::new(reject_row(
            column,
            String::new(),
            "",
            code,
            reason,
        )));
    }
    let row_start = out.len();
    for (i, ((raw, quoted), col)) in fields.into_iter().zip(columns).enumerate() {
        let raw = match (raw, &spec.null_as) {
            (Some(r), Some(n)) if !quoted && r.as_ref() == n.as_str() => None,
            (Some(r), None) if !quoted && spec.format == DataFormat::Text && r == "\\N" => None,
            (r, _) => r,
        };
        match convert(raw.as_deref(), &col.ty, spec) {
            Ok(v) => {
                if i > 0 {
                    out.push(b'\t');
                }
                push_copy_value(out, v.as_deref());
            }
            Err(FieldError { code, reason }) => {
                out.truncate(row_start);
                return Err(Box::new(reject_row(
                    col.name.clone(),
                    col.ty.name(),
                    raw.as_deref().unwrap_or(""),
                    code,
                    reason,
                )));
            }
        }
    }
    out.push(b'\n');
    Ok(())
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

fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Appends rejected rows to `stl_load_errors` (created on first use). In an aborted
/// transaction the statement is returned instead, to run once the transaction has ended.
async fn record_errors(
    backend: &mut dyn Backend,
    table: &str,
    errors: &[LoadError],
    notices: &mut Vec<Notice>,
) -> Result<Option<String>, ConnectionLost> {
    let ddl = "CREATE TABLE IF NOT EXISTS public.stl_load_errors (userid integer DEFAULT 100, \
        slice integer DEFAULT 0, tbl text, starttime timestamp DEFAULT localtimestamp, \
        session integer DEFAULT pg_backend_pid(), query integer, filename text, line_number bigint, \
        colname text, type text, col_length text, position integer, raw_line text, \
        raw_field_value text, err_code integer, err_reason text)";
    let mut sql = String::from(ddl);
    sql.push_str(";\nINSERT INTO public.stl_load_errors (tbl, query, filename, line_number, colname, type, position, raw_line, raw_field_value, err_code, err_reason) SELECT v.* FROM (VALUES ");
    for (i, e) in errors.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!(
            "({}, (SELECT coalesce(max(query), 0) + 1 FROM public.stl_load_errors), {}, {}, {}, {}, 0, {}, {}, {}, {})",
            lit(table),
            lit(&e.file),
            e.line,
            lit(&e.column),
            lit(&e.col_type),
            lit(&e.raw_line),
            lit(&e.raw_value),
            e.code,
            lit(&e.reason)
        ));
    }
    sql.push_str(") AS v");
    let out = backend.execute(&sql).await?;
    match out.result {
        Err(e) if e.sqlstate == IN_FAILED_TRANSACTION => return Ok(Some(sql)),
        Err(e) => notices.push(load_errors_not_recorded(&e.message)),
        Ok(_) => {}
    }
    Ok(None)
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

/// Reads lines until a record is complete.
pub(crate) async fn read_line<R: AsyncBufRead + Unpin + ?Sized>(
    r: &mut R,
    buf: &mut Vec<u8>,
) -> std::io::Result<usize> {
    r.read_until(b'\n', buf).await
}
