//! What a load reads: the files (every object under the prefix, or a manifest's entries) and
//! how to parse them ([`Input`]: Parquet, or text records, with the JSONPaths file read when
//! the COPY names one).

use tokio::io::AsyncReadExt;

use super::columns::Column;
use super::error::CopyError;
use crate::copy_spec::{CopySpec, DataFormat, JsonMapping};
use crate::records::{JsonColumns, JsonPath, TextFormat};
use objects::{ObjectError, ObjectStore, S3Uri};

/// How a load's files are parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Input {
    /// Apache Parquet: each file read whole, one record a row.
    Parquet,
    /// Text records (decompressed as the COPY says), split into fields.
    Text(TextFormat),
}

impl Input {
    /// The COPY's format, with its JSONPaths file read when it names one.
    pub(super) async fn of(
        spec: &CopySpec,
        columns: &[Column],
        store: &dyn ObjectStore,
    ) -> Result<Input, CopyError> {
        Ok(Input::Text(match &spec.format {
            DataFormat::Parquet => return Ok(Input::Parquet),
            DataFormat::Text => TextFormat::Delimited {
                delimiter: spec.delimiter,
                escape: spec.escape,
                remove_quotes: spec.remove_quotes,
            },
            DataFormat::Csv { quote } => TextFormat::Csv {
                delimiter: spec.delimiter,
                quote: *quote,
            },
            DataFormat::Json(JsonMapping::Paths(uri)) => TextFormat::Json(JsonColumns::Paths(
                read_json_paths(uri, store)
                    .await
                    .map_err(CopyError::Input)?,
            )),
            DataFormat::Json(JsonMapping::Auto | JsonMapping::AutoIgnoreCase) => TextFormat::Json(
                JsonColumns::Keys(columns.iter().map(|c| c.name.clone()).collect()),
            ),
        }))
    }
}

/// The files a COPY reads: every object under the prefix, or the manifest's entries.
pub(super) async fn resolve_files(
    spec: &CopySpec,
    store: &dyn ObjectStore,
) -> Result<Vec<S3Uri>, CopyError> {
    files(spec, store).await.map_err(CopyError::Input)
}

async fn files(spec: &CopySpec, store: &dyn ObjectStore) -> Result<Vec<S3Uri>, String> {
    let uri =
        S3Uri::parse(&spec.from).ok_or_else(|| format!("invalid S3 location '{}'", spec.from))?;
    if spec.manifest {
        return manifest_files(&uri, &spec.from, store).await;
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

/// The manifest's entries that exist; a missing mandatory entry fails the COPY.
async fn manifest_files(
    uri: &S3Uri,
    written: &str,
    store: &dyn ObjectStore,
) -> Result<Vec<S3Uri>, String> {
    let v = read_json(store, uri, "manifest", written).await?;
    let entries = v["entries"]
        .as_array()
        .ok_or_else(|| format!("manifest {written} has no \"entries\" array"))?;
    let mut files = Vec::new();
    for e in entries {
        let url = e["url"].as_str().unwrap_or_default();
        let f =
            S3Uri::parse(url).ok_or_else(|| format!("manifest {written}: invalid url '{url}'"))?;
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
    Ok(files)
}

/// The expressions of a JSONPaths file.
async fn read_json_paths(uri: &str, store: &dyn ObjectStore) -> Result<Vec<JsonPath>, String> {
    let u = S3Uri::parse(uri).ok_or_else(|| format!("invalid JSONPaths location '{uri}'"))?;
    let v = read_json(store, &u, "JSONPaths file", uri).await?;
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

/// Reads an object holding one JSON document (a manifest, a JSONPaths file); the errors name
/// it as `what` at `written` (its location as the COPY wrote it).
async fn read_json(
    store: &dyn ObjectStore,
    uri: &S3Uri,
    what: &str,
    written: &str,
) -> Result<serde_json::Value, String> {
    let unreadable = |e: &dyn std::fmt::Display| format!("could not read {what} {written}: {e}");
    let mut r = store
        .get(&uri.bucket, &uri.key)
        .await
        .map_err(|e| unreadable(&e))?;
    let mut text = Vec::new();
    r.read_to_end(&mut text).await.map_err(|e| unreadable(&e))?;
    serde_json::from_slice(&text).map_err(|e| format!("{what} {written} is not valid JSON: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use objects::LocalS3;

    /// A scratch directory, removed on drop.
    struct Scratch(std::path::PathBuf);

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    async fn store(objects: &[(&str, &str)]) -> (Scratch, LocalS3) {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = Scratch(
            std::env::temp_dir().join(format!("redshift-load-input-{}-{n}", std::process::id())),
        );
        let s3 = LocalS3::new(&dir.0);
        for (key, body) in objects {
            s3.put("bkt", key, body.as_bytes().to_vec()).await.unwrap();
        }
        (dir, s3)
    }

    fn input_error(r: Result<impl std::fmt::Debug, CopyError>) -> String {
        match r {
            Err(CopyError::Input(msg)) => msg,
            other => panic!("not an input error: {other:?}"),
        }
    }

    #[tokio::test]
    async fn files_under_a_prefix_or_in_a_manifest() {
        let manifest = r#"{"entries": [{"url": "s3://bkt/d/1"}, {"url": "s3://bkt/d/none"}]}"#;
        let (_dir, s3) = store(&[("d/1", "x"), ("d/2", "y"), ("m", manifest)]).await;
        let keys = |files: Vec<S3Uri>| files.into_iter().map(|f| f.key).collect::<Vec<_>>();
        let spec = CopySpec::new("t", "s3://bkt/d/");
        assert_eq!(
            keys(resolve_files(&spec, &s3).await.unwrap()),
            ["d/1", "d/2"]
        );
        let mut spec = CopySpec::new("t", "s3://bkt/m");
        spec.manifest = true;
        assert_eq!(keys(resolve_files(&spec, &s3).await.unwrap()), ["d/1"]);

        let missing = CopySpec::new("t", "s3://bkt/nothing/");
        assert_eq!(
            input_error(resolve_files(&missing, &s3).await),
            "The specified S3 prefix 'nothing/' does not exist"
        );
        let no_bucket = CopySpec::new("t", "s3://nob/x");
        assert_eq!(
            input_error(resolve_files(&no_bucket, &s3).await),
            "The specified S3 bucket 'nob' does not exist"
        );
    }

    #[tokio::test]
    async fn manifest_errors_name_the_manifest() {
        let mandatory = r#"{"entries": [{"url": "s3://bkt/gone", "mandatory": true}]}"#;
        let (_dir, s3) = store(&[("mandatory", mandatory), ("bad", "{"), ("empty", "{}")]).await;
        let err = |key: &str| {
            let mut spec = CopySpec::new("t", format!("s3://bkt/{key}"));
            spec.manifest = true;
            let s3 = &s3;
            async move { input_error(resolve_files(&spec, s3).await) }
        };
        assert_eq!(
            err("mandatory").await,
            "Manifest file entry s3://bkt/gone is mandatory but does not exist"
        );
        assert!(
            err("bad")
                .await
                .starts_with("manifest s3://bkt/bad is not valid JSON: ")
        );
        assert_eq!(
            err("empty").await,
            "manifest s3://bkt/empty has no \"entries\" array"
        );
        assert!(
            err("absent")
                .await
                .starts_with("could not read manifest s3://bkt/absent: ")
        );
    }

    #[tokio::test]
    async fn json_paths_are_read_for_the_json_format() {
        let paths = r#"{"jsonpaths": ["$.a", "$['b'][0]"]}"#;
        let (_dir, s3) = store(&[("p", paths), ("bad", r#"{"jsonpaths": ["a"]}"#)]).await;
        let json = |mapping: JsonMapping| {
            let mut spec = CopySpec::new("t", "s3://bkt/d/");
            spec.format = DataFormat::Json(mapping);
            spec
        };
        let columns = [];
        let spec = json(JsonMapping::Paths("s3://bkt/p".into()));
        assert_eq!(
            Input::of(&spec, &columns, &s3).await.unwrap(),
            Input::Text(TextFormat::Json(JsonColumns::Paths(vec![
                vec!["a".into()],
                vec!["b".into(), "0".into()]
            ])))
        );
        let spec = json(JsonMapping::Paths("s3://bkt/bad".into()));
        assert_eq!(
            input_error(Input::of(&spec, &columns, &s3).await),
            "invalid JSONPath expression 'a' in s3://bkt/bad"
        );
        let spec = json(JsonMapping::Paths("s3://bkt/absent".into()));
        assert!(
            input_error(Input::of(&spec, &columns, &s3).await)
                .starts_with("could not read JSONPaths file s3://bkt/absent: ")
        );
        let mut spec = CopySpec::new("t", "s3://bkt/d/");
        spec.format = DataFormat::Parquet;
        assert_eq!(
            Input::of(&spec, &columns, &s3).await.unwrap(),
            Input::Parquet
        );
    }
}
