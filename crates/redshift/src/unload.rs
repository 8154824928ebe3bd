//! UNLOAD on PostgreSQL: run the (translated) query, write the rows as Redshift writes them
//! (pipe-delimited text or CSV, optional header, gzip/bzip2/zstd) to the object store under the
//! key prefix with Redshift's file names (`0000_part_00` in parallel, `000` with PARALLEL OFF),
//! and optionally a manifest.

use std::sync::Arc;

use async_compression::tokio::write::{BzEncoder, GzipEncoder, ZstdEncoder};
use rsql::{Backend, Completion, ConnectionLost, Notice, Outcome};
use tokio::io::AsyncWriteExt;

use crate::copy_spec::{Compression, DataFormat, UnloadSpec};
use crate::load::sql_error;
use crate::translate::{Translation, translate};
use objects::{ObjectStore, S3Uri};

fn csv_quote(s: &str, delim: char) -> String {
    if s.contains([delim, '"', '\n', '\r']) || s.is_empty() {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

async fn compress(c: Compression, data: Vec<u8>) -> std::io::Result<Vec<u8>> {
    match c {
        Compression::None => Ok(data),
        Compression::Gzip => {
            let mut e = GzipEncoder::new(Vec::new());
            e.write_all(&data).await?;
            e.shutdown().await?;
            Ok(e.into_inner())
        }
        Compression::Bzip2 => {
            let mut e = BzEncoder::new(Vec::new());
            e.write_all(&data).await?;
            e.shutdown().await?;
            Ok(e.into_inner())
        }
        Compression::Zstd => {
            let mut e = ZstdEncoder::new(Vec::new());
            e.write_all(&data).await?;
            e.shutdown().await?;
            Ok(e.into_inner())
        }
        Compression::Lzop => Err(std::io::Error::other(
            "LZOP is not supported by the local engine",
        )),
    }
}

/// Stores the unloaded file (and the manifest) and reports the row count.
async fn publish(
    spec: &UnloadSpec,
    dest: &S3Uri,
    key: String,
    bytes: Vec<u8>,
    rows: usize,
    store: &dyn ObjectStore,
) -> Outcome {
    if let Err(e) = store.put(&dest.bucket, &key, bytes).await {
        return sql_error(
            "XX000",
            format!("UNLOAD could not write s3://{}/{key}: {e}", dest.bucket),
        );
    }
    if spec.manifest {
        let manifest =
            serde_json::json!({ "entries": [{ "url": format!("s3://{}/{key}", dest.bucket) }] });
        let mkey = format!("{}manifest", dest.key);
        if let Err(e) = store
            .put(&dest.bucket, &mkey, manifest.to_string().into_bytes())
            .await
        {
            return sql_error("XX000", format!("UNLOAD could not write its manifest: {e}"));
        }
    }
    Outcome {
        result: Ok(Completion {
            tag: format!("UNLOAD {rows}"),
            rows: None,
        }),
        notices: vec![Notice {
            severity: "INFO".into(),
            message: format!("UNLOAD completed, {rows} record(s) unloaded successfully."),
        }],
    }
}

/// Runs an UNLOAD on a PostgreSQL session.
pub async fn run_unload(
    backend: &mut dyn Backend,
    spec: &UnloadSpec,
    store: Arc<dyn ObjectStore>,
) -> Result<Outcome, ConnectionLost> {
    let Some(dest) = S3Uri::parse(&spec.to) else {
        return Ok(sql_error(
            "XX000",
            format!("invalid S3 location '{}'", spec.to),
        ));
    };
    if matches!(spec.format, DataFormat::Json(_)) {
        return Ok(sql_error(
            "0A000",
            "UNLOAD ... FORMAT AS JSON is not supported on the local engine yet".into(),
        ));
    }
    let query = match translate(&spec.query) {
        Translation::Unchanged => spec.query.clone(),
        Translation::Rewritten(q) => q,
        Translation::Unsupported { construct, reason } => {
            return Ok(sql_error(
                "0A000",
                format!("{construct} is not supported on the local engine: {reason}"),
            ));
        }
        _ => return Ok(sql_error("0A000", "UNLOAD needs a SELECT query".into())),
    };
    if !spec.allow_overwrite {
        match store.list(&dest.bucket, &dest.key).await {
            Ok(existing) if !existing.is_empty() => {
                return Ok(sql_error(
                    "XX000",
                    "Specified unload destination on S3 is not empty. Consider using a different bucket / prefix, manually removing the target files in S3, or using the ALLOWOVERWRITE option.".into(),
                ));
            }
            Err(objects::ObjectError::NoSuchBucket(b)) => {
                return Ok(sql_error(
                    "XX000",
                    format!("The specified S3 bucket '{b}' does not exist"),
                ));
            }
            _ => {}
        }
    }
    let out = backend.execute(&query).await?;
    let rows = match out.result {
        Ok(c) => c.rows.unwrap_or_default(),
        Err(e) => {
            return Ok(Outcome {
                result: Err(e),
                notices: out.notices,
            });
        }
    };
    let suffix = if spec.parallel { "0000_part_00" } else { "000" };
    if spec.format == DataFormat::Parquet {
        let bytes = match crate::parquet_io::write_rows(&rows) {
            Ok(b) => b,
            Err(e) => return Ok(sql_error("XX000", e)),
        };
        let key = format!("{}{suffix}.parquet", dest.key);
        return Ok(publish(spec, &dest, key, bytes, rows.rows.len(), store.as_ref()).await);
    }
    let mut data = Vec::new();
    let delim = spec.delimiter;
    let csv = matches!(spec.format, DataFormat::Csv { .. });
    let field = |v: Option<&str>| -> String {
        match v {
            None => spec.null_as.clone(),
            Some(s) if csv => csv_quote(s, delim),
            Some(s) if spec.add_quotes => format!("\"{}\"", s.replace('"', "\\\"")),
            Some(s) => s
                .replace('\\', "\\\\")
                .replace(delim, &format!("\\{delim}"))
                .replace('\n', "\\\n"),
        }
    };
    if spec.header {
        let names: Vec<String> = rows.columns.iter().map(|c| field(Some(&c.name))).collect();
        data.extend_from_slice(names.join(&delim.to_string()).as_bytes());
        data.push(b'\n');
    }
    for r in &rows.rows {
        let vals: Vec<String> = r.iter().map(|v| field(v.as_deref())).collect();
        data.extend_from_slice(vals.join(&delim.to_string()).as_bytes());
        data.push(b'\n');
    }
    let ext = match spec.compression {
        Compression::Gzip => ".gz",
        Compression::Bzip2 => ".bz2",
        Compression::Zstd => ".zst",
        _ => "",
    };
    let user_ext = spec
        .extension
        .as_ref()
        .map(|e| format!(".{}", e.trim_start_matches('.')))
        .unwrap_or_default();
    let key = format!("{}{suffix}{user_ext}{ext}", dest.key);
    let bytes = match compress(spec.compression, data).await {
        Ok(b) => b,
        Err(e) => return Ok(sql_error("XX000", e.to_string())),
    };
    Ok(publish(spec, &dest, key, bytes, rows.rows.len(), store.as_ref()).await)
}
