//! A job's script in the object store: where a script may be (`s3://bucket/key`, the key an
//! object and not a folder), and the fetch the container and the local Batch share.

use objects::{ObjectError, ObjectStore, S3Uri};
use tokio::io::AsyncReadExt;

/// Why a job's script could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScriptError {
    #[error("the script location '{0}' is not an s3://bucket/key URI")]
    BadUri(String),
    #[error("the script {0} does not exist")]
    Missing(String),
    #[error("the script {0} is empty")]
    Empty(String),
    #[error("cannot read the script {uri}: {message}")]
    Unreadable { uri: String, message: String },
}

/// Can `key` name a script? Not empty, and not a folder (ending in `/`).
pub fn valid_script_key(key: &str) -> bool {
    !key.is_empty() && !key.ends_with('/')
}

/// The object `uri` names: `s3://bucket/key` with a [`valid_script_key`].
pub fn script_object(uri: &str) -> Result<S3Uri, ScriptError> {
    S3Uri::parse(uri)
        .filter(|loc| valid_script_key(&loc.key))
        .ok_or_else(|| ScriptError::BadUri(uri.to_string()))
}

/// Reads the script at `uri`; a missing or empty (blank) script is an error that names it.
pub async fn fetch_script(store: &dyn ObjectStore, uri: &str) -> Result<Vec<u8>, ScriptError> {
    let loc = script_object(uri)?;
    let unreadable = |message: String| ScriptError::Unreadable {
        uri: uri.to_string(),
        message,
    };
    let mut reader = store
        .get(&loc.bucket, &loc.key)
        .await
        .map_err(|e| match e {
            ObjectError::NoSuchKey(_) | ObjectError::NoSuchBucket(_) => {
                ScriptError::Missing(uri.to_string())
            }
            other => unreadable(other.to_string()),
        })?;
    let mut text = Vec::new();
    reader
        .read_to_end(&mut text)
        .await
        .map_err(|e| unreadable(e.to_string()))?;
    if text.iter().all(u8::is_ascii_whitespace) {
        return Err(ScriptError::Empty(uri.to_string()));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_objects() {
        let o = script_object("s3://b/etl/load.rsql").unwrap();
        assert_eq!((o.bucket.as_str(), o.key.as_str()), ("b", "etl/load.rsql"));
        for bad in [
            "",
            "b/k",
            "s3://",
            "s3:///k",
            "s3://b",
            "s3://b/",
            "s3://b/dir/",
        ] {
            assert_eq!(
                script_object(bad),
                Err(ScriptError::BadUri(bad.to_string())),
                "{bad}"
            );
        }
    }

    #[tokio::test]
    async fn fetch_names_a_missing_or_blank_script() {
        let dir = tempfile::tempdir().unwrap();
        let store = objects::LocalS3::new(dir.path());
        store
            .put("scripts", "ok.rsql", b"SELECT 1;\n".to_vec())
            .await
            .unwrap();
        store
            .put("scripts", "blank.rsql", b" \n\t\n".to_vec())
            .await
            .unwrap();
        assert_eq!(
            fetch_script(&store, "s3://scripts/ok.rsql").await.unwrap(),
            b"SELECT 1;\n"
        );
        assert_eq!(
            fetch_script(&store, "s3://scripts/blank.rsql").await,
            Err(ScriptError::Empty("s3://scripts/blank.rsql".into()))
        );
        assert_eq!(
            fetch_script(&store, "s3://scripts/gone.rsql").await,
            Err(ScriptError::Missing("s3://scripts/gone.rsql".into()))
        );
        assert_eq!(
            fetch_script(&store, "s3://nobucket/x.rsql").await,
            Err(ScriptError::Missing("s3://nobucket/x.rsql".into()))
        );
    }
}
