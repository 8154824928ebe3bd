//! Reading a Distributed Map's items from object storage through [`objects::ObjectStore`]: an
//! S3 listing, a JSON, JSON Lines or text-delimited file, an S3 Inventory manifest, an Athena
//! `UNLOAD` manifest, and listed objects' contents (`LOAD_AND_FLATTEN`). Items come out shaped
//! as AWS gives them to child executions (AWSDOC "ItemReader (Map)", each dataset's "Input to a
//! child workflow execution" tab); failures are `States.ItemReaderFailed`.
//!
//! gzip-compressed files are read (AWSDOC: "Input files support the following external
//! compression types: GZIP, ZSTD"); zstd and Parquet are refused by name.

use std::io::Read as _;

use md5::Digest as _;
use objects::{ObjectError, ObjectStore};
use serde_json::{Map, Value, json};
use tokio::io::AsyncReadExt as _;

use super::MapRunFailure;
use super::config::{
    CsvHeaders, InputType, ItemReaderSpec, ManifestType, ReaderConfig, ReaderResource,
    ReaderTransformation, S3Target,
};
use super::csv::{RowShaper, records};

/// Largest CSV header row (AWSDOC "ItemReader (Map)": "Step Functions supports CSV headers of
/// up to 10 KiB").
pub const MAX_CSV_HEADER_BYTES: usize = 10 * 1024;

/// What the object store may not tell: a listing's `LastModified` (epoch seconds, as AWSDOC's
/// listObjectsV2 example shows it) is the store's when it knows it, else the caller's (e.g. the
/// execution's clock); `Etag` is the store's, else computed as S3 does for single-part uploads
/// (the quoted MD5 of the content).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOptions {
    pub listing_last_modified: i64,
}

impl ItemReaderSpec {
    /// Reads the items: `target` is the evaluated Parameters/Arguments
    /// ([`S3Target::from_value`]), `max_items` the effective limit
    /// ([`ItemReaderSpec::static_max_items`] or [`super::max_items_from_value`]).
    pub async fn read(
        &self,
        store: &dyn ObjectStore,
        target: &S3Target,
        max_items: u64,
        options: &ReadOptions,
    ) -> Result<Vec<Value>, MapRunFailure> {
        let max = usize::try_from(max_items).unwrap_or(usize::MAX);
        let mut items = Vec::new();
        let cfg = &self.config;
        match self.resource {
            ReaderResource::ListObjectsV2 => {
                let prefix = target.prefix.as_deref().unwrap_or("");
                let listed = store
                    .list(&target.bucket, prefix)
                    .await
                    .map_err(|e| store_failure(&target.bucket, prefix, e))?;
                for info in listed {
                    if items.len() >= max {
                        break;
                    }
                    match cfg.transformation {
                        ReaderTransformation::None => {
                            let etag = match &info.etag {
                                Some(e) => e.clone(),
                                None => etag(store, &target.bucket, &info.key).await?,
                            };
                            let modified =
                                info.last_modified.unwrap_or(options.listing_last_modified);
                            items.push(listing_item(&info.key, info.size, &etag, modified))
                        }
                        ReaderTransformation::LoadAndFlatten => {
                            let t = cfg.input_type.unwrap_or(InputType::Json);
                            let bytes = fetch(store, &target.bucket, &info.key).await?;
                            let text = decode(&target.bucket, &info.key, bytes)?;
                            parse_file(&text, t, cfg, &target.bucket, &info.key, max, &mut items)?;
                        }
                    }
                }
            }
            ReaderResource::GetObject => {
                let key = target.key.as_deref().unwrap_or("");
                let bytes = fetch(store, &target.bucket, key).await?;
                let text = decode(&target.bucket, key, bytes)?;
                let inventory = cfg.manifest_type == Some(ManifestType::S3Inventory)
                    || cfg.input_type == Some(InputType::Manifest);
                if inventory {
                    read_inventory(store, &text, cfg, target, key, max, &mut items).await?;
                } else if cfg.manifest_type == Some(ManifestType::AthenaData) {
                    read_athena(store, &text, cfg, target, key, max, &mut items).await?;
                } else {
                    let t = cfg.input_type.unwrap_or(InputType::Json);
                    parse_file(&text, t, cfg, &target.bucket, key, max, &mut items)?;
                }
            }
        }
        items.truncate(max);
        Ok(items)
    }
}

/// A listed object as AWSDOC "ItemReader (Map)" shows the child's input:
/// `{"Etag": "\"<md5>\"", "Key", "LastModified": <epoch seconds>, "Size", "StorageClass"}`.
fn listing_item(key: &str, size: u64, etag: &str, last_modified: i64) -> Value {
    json!({
        "Etag": etag,
        "Key": key,
        "LastModified": last_modified,
        "Size": size,
        "StorageClass": "STANDARD",
    })
}

/// An object's ETag as S3 gives it for a single-part upload: the quoted MD5 hex of its
/// content, read in chunks.
async fn etag(store: &dyn ObjectStore, bucket: &str, key: &str) -> Result<String, MapRunFailure> {
    let mut r = store
        .get(bucket, key)
        .await
        .map_err(|e| store_failure(bucket, key, e))?;
    let mut hasher = md5::Md5::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = r
            .read(&mut buf)
            .await
            .map_err(|e| MapRunFailure::reader(format!("s3://{bucket}/{key}: {e}")))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let hex: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(format!("\"{hex}\""))
}

fn store_failure(bucket: &str, key: &str, e: ObjectError) -> MapRunFailure {
    MapRunFailure::reader(match e {
        ObjectError::NoSuchBucket(_) => format!("The specified bucket does not exist: {bucket}"),
        ObjectError::NoSuchKey(_) => {
            format!("The specified key does not exist: s3://{bucket}/{key}")
        }
        other => format!("s3://{bucket}/{key}: {other}"),
    })
}

/// An object's bytes, gunzipped when they are gzip.
async fn fetch(store: &dyn ObjectStore, bucket: &str, key: &str) -> Result<Vec<u8>, MapRunFailure> {
    let mut r = store
        .get(bucket, key)
        .await
        .map_err(|e| store_failure(bucket, key, e))?;
    let mut bytes = Vec::new();
    r.read_to_end(&mut bytes)
        .await
        .map_err(|e| MapRunFailure::reader(format!("s3://{bucket}/{key}: {e}")))?;
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .map_err(|e| {
                MapRunFailure::reader(format!("s3://{bucket}/{key}: not a valid gzip file: {e}"))
            })?;
        return Ok(out);
    }
    if bytes.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return Err(MapRunFailure::reader(format!(
            "s3://{bucket}/{key}: zstd-compressed files are not supported by the local executor"
        )));
    }
    Ok(bytes)
}

fn decode(bucket: &str, key: &str, bytes: Vec<u8>) -> Result<String, MapRunFailure> {
    String::from_utf8(bytes).map_err(|e| {
        MapRunFailure::reader(format!(
            "s3://{bucket}/{key}: not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ))
    })
}

/// Parses one file's items into `out`, stopping at `max` items.
fn parse_file(
    text: &str,
    input_type: InputType,
    cfg: &ReaderConfig,
    bucket: &str,
    key: &str,
    max: usize,
    out: &mut Vec<Value>,
) -> Result<(), MapRunFailure> {
    let at = |line: usize, msg: &dyn std::fmt::Display| {
        MapRunFailure::reader(format!("s3://{bucket}/{key}: line {line}: {msg}"))
    };
    match input_type {
        InputType::Json => {
            let v: Value = serde_json::from_str(text).map_err(|e| {
                at(
                    e.line(),
                    &format_args!("not valid JSON (column {}): {e}", e.column()),
                )
            })?;
            let node = match cfg.items_pointer.as_deref() {
                None => Some(&v),
                Some(p) => v.pointer(p),
            };
            // AWS-recorded (`test_map_item_reader_json_no_json_list_object`): a file holding an
            // object, not an array, fails with this cause.
            let Some(Value::Array(a)) = node else {
                return Err(MapRunFailure::reader(
                    "Attempting to map over non-iterable node.",
                ));
            };
            out.extend(a.iter().take(max.saturating_sub(out.len())).cloned());
        }
        InputType::Jsonl => {
            for (i, line) in text.lines().enumerate() {
                if out.len() >= max {
                    break;
                }
                if line.trim().is_empty() {
                    continue;
                }
                let v: Value = serde_json::from_str(line)
                    .map_err(|e| at(i + 1, &format_args!("not a JSON value: {e}")))?;
                out.push(v);
            }
        }
        InputType::Csv => {
            let mut rows = records(text, cfg.csv_delimiter.char());
            let headers = match &cfg.csv_headers {
                CsvHeaders::Given(h) => h.clone(),
                CsvHeaders::FirstRow => match rows.next() {
                    None => return Ok(()),
                    Some(r) => {
                        let r = r.map_err(|e| at(e.line, &e.message))?;
                        let len: usize = r.fields.iter().map(|f| f.len() + 1).sum();
                        if len > MAX_CSV_HEADER_BYTES + 1 {
                            return Err(at(
                                r.line,
                                &format_args!(
                                    "the CSV header is longer than {MAX_CSV_HEADER_BYTES} bytes"
                                ),
                            ));
                        }
                        r.fields
                    }
                },
            };
            let shaper = RowShaper::new(headers).map_err(MapRunFailure::reader)?;
            for r in rows {
                if out.len() >= max {
                    break;
                }
                let r = r.map_err(|e| at(e.line, &e.message))?;
                out.push(shaper.shape(&r.fields));
            }
        }
        InputType::Parquet => {
            return Err(MapRunFailure::reader(format!(
                "s3://{bucket}/{key}: InputType PARQUET is not supported by the local executor"
            )));
        }
        InputType::Manifest => {
            return Err(MapRunFailure::reader(format!(
                "s3://{bucket}/{key}: a MANIFEST cannot be read as a listed object's content"
            )));
        }
    }
    Ok(())
}

/// An S3 Inventory: `manifest.json` (AWSDOC "ItemReader (Map)" example: `sourceBucket`,
/// `destinationBucket` as an ARN, `fileFormat` `CSV`, `fileSchema` "Bucket, Key, Size,
/// LastModifiedDate", `files[].key`), whose CSV files (gzip) have no header row; each row
/// becomes an object keyed by the schema's names, every value a string (the docs' child input:
/// `"Size": "3399671"`).
async fn read_inventory(
    store: &dyn ObjectStore,
    text: &str,
    cfg: &ReaderConfig,
    target: &S3Target,
    key: &str,
    max: usize,
    out: &mut Vec<Value>,
) -> Result<(), MapRunFailure> {
    let bucket = &target.bucket;
    let bad = |msg: String| MapRunFailure::reader(format!("s3://{bucket}/{key}: {msg}"));
    let m: Map<String, Value> = serde_json::from_str(text).map_err(|e| {
        bad(format!(
            "line {}: not a valid S3 Inventory manifest (JSON): {e}",
            e.line()
        ))
    })?;
    match m.get("fileFormat").and_then(Value::as_str) {
        Some("CSV") => {}
        Some(f) => {
            return Err(bad(format!(
                "the inventory's fileFormat is {f}; Step Functions reads CSV inventories only"
            )));
        }
        None => return Err(bad("the manifest has no fileFormat".into())),
    }
    let headers: Vec<String> = match &cfg.csv_headers {
        CsvHeaders::Given(h) => h.clone(),
        CsvHeaders::FirstRow => m
            .get("fileSchema")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("the manifest has no fileSchema".into()))?
            .split(',')
            .map(|s| s.trim().to_string())
            .collect(),
    };
    let shaper = RowShaper::new(headers).map_err(MapRunFailure::reader)?;
    let data_bucket = m
        .get("destinationBucket")
        .and_then(Value::as_str)
        .map(|arn| arn.rsplit(':').next().unwrap_or(arn).to_string())
        .unwrap_or_else(|| bucket.clone());
    let files = m
        .get("files")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("the manifest has no files array".into()))?;
    for f in files {
        if out.len() >= max {
            break;
        }
        let fkey = f
            .get("key")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("a manifest entry in files has no key".into()))?;
        let bytes = fetch(store, &data_bucket, fkey).await?;
        let data = decode(&data_bucket, fkey, bytes)?;
        for r in records(&data, cfg.csv_delimiter.char()) {
            if out.len() >= max {
                break;
            }
            let r = r.map_err(|e| {
                MapRunFailure::reader(format!(
                    "s3://{data_bucket}/{fkey}: line {}: {}",
                    e.line, e.message
                ))
            })?;
            out.push(shaper.shape(&r.fields));
        }
    }
    Ok(())
}

/// An Athena `UNLOAD` manifest: one `s3://bucket/key` per line, each read with `InputType`
/// (AWSDOC "ItemReader (Map)", "Athena manifest").
async fn read_athena(
    store: &dyn ObjectStore,
    text: &str,
    cfg: &ReaderConfig,
    target: &S3Target,
    key: &str,
    max: usize,
    out: &mut Vec<Value>,
) -> Result<(), MapRunFailure> {
    let input_type = cfg.input_type.unwrap_or(InputType::Csv);
    for (i, line) in text.lines().enumerate() {
        if out.len() >= max {
            break;
        }
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (b, k) = line
            .strip_prefix("s3://")
            .and_then(|r| r.split_once('/'))
            .ok_or_else(|| {
                MapRunFailure::reader(format!(
                    "s3://{}/{key}: line {}: not an s3:// URI: {line}",
                    target.bucket,
                    i + 1
                ))
            })?;
        let bytes = fetch(store, b, k).await?;
        let data = decode(b, k, bytes)?;
        parse_file(&data, input_type, cfg, b, k, max, out)?;
    }
    Ok(())
}
