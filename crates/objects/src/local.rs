//! A directory standing in for S3: `s3://bucket/key` is `<root>/bucket/key`. Bucket names and
//! keys follow S3's rules ([`crate::names`]); no path from a name leaves the root, and no
//! symbolic link is followed.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use tokio::io::AsyncRead;

use crate::files::{TEMP_PREFIX, TEMP_SUFFIX, write_whole};
use crate::store::{ObjectError, ObjectInfo, ObjectStore};

/// A directory standing in for S3: `<root>/<bucket>/<key>`.
#[derive(Debug, Clone)]
pub struct LocalS3 {
    root: PathBuf,
}

impl LocalS3 {
    /// Local S3 rooted at `root` (e.g. `.rsqlflow/s3`).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LocalS3 { root: root.into() }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The local path of an object (or, with `prefix`, of a listing prefix): the bucket name
    /// and key are checked against S3's rules ([`crate::names`]), and no directory on the
    /// way from the bucket to the object may be a symbolic link, so that every path stays
    /// inside the root.
    pub fn object_path(&self, bucket: &str, key: &str) -> Result<PathBuf, ObjectError> {
        self.checked_path(bucket, key, false)
    }

    fn checked_path(&self, bucket: &str, key: &str, prefix: bool) -> Result<PathBuf, ObjectError> {
        let uri = format!("s3://{bucket}/{key}");
        crate::names::check_bucket(bucket)
            .and_then(|_| crate::names::check_key(key, prefix))
            .map_err(|e| ObjectError::InvalidKey(format!("{uri}: {e}")))?;
        let mut p = self.root.join(bucket);
        no_link(&p, &uri)?;
        for part in key.split('/').filter(|s| !s.is_empty()) {
            p.push(part);
            no_link(&p, &uri)?;
        }
        Ok(p)
    }

    fn path(&self, bucket: &str, key: &str) -> Result<PathBuf, ObjectError> {
        self.checked_path(bucket, key, true)
    }

    /// Removes temporary objects (`.rsqlflow-*.tmp`) below `bucket/prefix` that their writer
    /// left behind when it was killed: a writer holds a lock on its temporary file, so one
    /// whose lock is free is abandoned. Returns how many were removed.
    pub fn sweep_abandoned(&self, bucket: &str, prefix: &str) -> usize {
        let Ok(start) = self.path(bucket, prefix) else {
            return 0;
        };
        let mut n = 0;
        let mut stack = vec![start];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let Ok(ft) = entry.file_type() else { continue };
                let name = entry.file_name().to_string_lossy().into_owned();
                if ft.is_dir() {
                    stack.push(entry.path());
                } else if ft.is_file()
                    && name.starts_with(TEMP_PREFIX)
                    && name.ends_with(TEMP_SUFFIX)
                    && sweep_one(&entry.path())
                {
                    n += 1;
                }
            }
        }
        n
    }
}

/// How old an unlocked temporary object must be to be swept. A writer creates its temporary
/// file and then locks it: a sweep between the two saw a fresh unlocked file and removed it,
/// and the writer's rename then failed (two `rsqlflow trigger`s seeding at once:
/// `renaming to ...region.tbl.gz: No such file or directory`). A killed writer's file is
/// swept by a later run instead.
pub const ABANDONED_AFTER: std::time::Duration = std::time::Duration::from_secs(60);

fn sweep_one(path: &Path) -> bool {
    let Ok(f) = std::fs::OpenOptions::new().write(true).open(path) else {
        return false;
    };
    let fresh = f
        .metadata()
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_none_or(|age| age < ABANDONED_AFTER);
    if fresh || f.try_lock().is_err() {
        return false;
    }
    std::fs::remove_file(path).is_ok()
}

fn no_link(p: &Path, uri: &str) -> Result<(), ObjectError> {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.file_type().is_symlink() => Err(ObjectError::InvalidKey(format!(
            "{uri}: {} is a symbolic link; local S3 does not follow links (they may lead \
             outside its root)",
            p.display()
        ))),
        _ => Ok(()),
    }
}

fn io_err(uri: String) -> impl FnOnce(std::io::Error) -> ObjectError {
    move |e| ObjectError::Io {
        uri,
        message: e.to_string(),
    }
}

#[async_trait]
impl ObjectStore for LocalS3 {
    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<ObjectInfo>, ObjectError> {
        let bucket_dir = self.path(bucket, "")?;
        if !tokio::fs::try_exists(&bucket_dir).await.unwrap_or(false) {
            return Err(ObjectError::NoSuchBucket(bucket.to_string()));
        }
        // Walk only the directory that can hold keys with this prefix.
        let dir_part = prefix.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        let start = self.path(bucket, dir_part)?;
        let mut out = Vec::new();
        let mut stack = vec![(start, dir_part.to_string())];
        while let Some((dir, key_dir)) = stack.pop() {
            let mut rd = match tokio::fs::read_dir(&dir).await {
                Ok(rd) => rd,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_err(format!("s3://{bucket}/{key_dir}"))(e)),
            };
            while let Some(entry) = rd
                .next_entry()
                .await
                .map_err(io_err(format!("s3://{bucket}/{key_dir}")))?
            {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with(TEMP_PREFIX) {
                    continue;
                }
                let key = if key_dir.is_empty() {
                    name
                } else {
                    format!("{key_dir}/{name}")
                };
                let ft = entry
                    .file_type()
                    .await
                    .map_err(io_err(format!("s3://{bucket}/{key}")))?;
                if ft.is_symlink() && (key.starts_with(prefix) || prefix.starts_with(&key)) {
                    return Err(ObjectError::InvalidKey(format!(
                        "s3://{bucket}/{key}: {} is a symbolic link; local S3 does not follow \
                         links (they may lead outside its root)",
                        entry.path().display()
                    )));
                }
                if ft.is_dir() {
                    if prefix.starts_with(&format!("{key}/")) || key.starts_with(prefix) {
                        stack.push((entry.path(), key));
                    }
                } else if key.starts_with(prefix) {
                    let meta = entry.metadata().await.ok();
                    let size = meta.as_ref().map(|m| m.len()).unwrap_or(0);
                    // The file's modification time stands for S3's LastModified; the ETag
                    // (an MD5 of the content) is not kept, so a caller that needs it hashes.
                    let last_modified = meta
                        .and_then(|m| m.modified().ok())
                        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                        .and_then(|d| i64::try_from(d.as_secs()).ok());
                    out.push(ObjectInfo {
                        key,
                        size,
                        etag: None,
                        last_modified,
                    });
                }
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    async fn get(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Box<dyn AsyncRead + Send + Unpin>, ObjectError> {
        let p = self.object_path(bucket, key)?;
        match tokio::fs::File::open(&p).await {
            Ok(f) => Ok(Box::new(f)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(ObjectError::NoSuchKey(format!("s3://{bucket}/{key}")))
            }
            Err(e) => Err(io_err(format!("s3://{bucket}/{key}"))(e)),
        }
    }

    async fn put(&self, bucket: &str, key: &str, data: Vec<u8>) -> Result<(), ObjectError> {
        let p = self.object_path(bucket, key)?;
        let uri = format!("s3://{bucket}/{key}");
        tokio::task::spawn_blocking(move || write_whole(&p, &data))
            .await
            .map_err(|e| ObjectError::Io {
                uri: uri.clone(),
                message: e.to_string(),
            })?
            .map_err(io_err(uri))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::temp_beside;
    use crate::uri::S3Uri;

    #[tokio::test]
    async fn prefix_listing_and_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let s3 = LocalS3::new(dir.path());
        s3.put("bkt", "in/parts/part_00.gz", b"x".to_vec())
            .await
            .unwrap();
        s3.put("bkt", "in/parts/part_01.gz", b"yy".to_vec())
            .await
            .unwrap();
        s3.put("bkt", "in/other.csv", b"z".to_vec()).await.unwrap();
        let keys: Vec<_> = s3
            .list("bkt", "in/parts/part_")
            .await
            .unwrap()
            .into_iter()
            .map(|o| o.key)
            .collect();
        assert_eq!(keys, vec!["in/parts/part_00.gz", "in/parts/part_01.gz"]);
        let all = s3.list("bkt", "in/").await.unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(s3.list("bkt", "in/p").await.unwrap().len(), 2);
        assert!(s3.list("bkt", "nothing").await.unwrap().is_empty());
        assert!(matches!(
            s3.list("nob", "").await,
            Err(ObjectError::NoSuchBucket(_))
        ));
        assert!(matches!(
            s3.put("bkt", "../x", vec![]).await,
            Err(ObjectError::InvalidKey(_))
        ));
        assert_eq!(S3Uri::parse("s3://b/k/x").unwrap().key, "k/x");
    }

    #[tokio::test]
    async fn names_links_and_abandoned_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let s3 = LocalS3::new(dir.path().join("s3"));
        for bucket in ["Bad_Bucket", "a", "..."] {
            let e = s3.put(bucket, "k", vec![]).await.unwrap_err();
            assert!(e.to_string().contains("invalid bucket name"), "{e}");
        }
        for key in ["/tmp/outside.txt", "../../x", "a//b"] {
            assert!(matches!(
                s3.get("bkt", key).await.err(),
                Some(ObjectError::InvalidKey(_))
            ));
        }
        // A symbolic link inside the root is not followed, by reads, writes or listings.
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("secret.txt"), b"x").unwrap();
        s3.put("bkt", "in/a.csv", b"1".to_vec()).await.unwrap();
        std::os::unix::fs::symlink(&outside, dir.path().join("s3/bkt/in/link")).unwrap();
        let e = s3.get("bkt", "in/link/secret.txt").await.err().unwrap();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        let e = s3.put("bkt", "in/link/new.txt", vec![]).await.unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        let e = s3.list("bkt", "in/").await.unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert!(!outside.join("new.txt").exists());
        // A temporary file whose writer died (no lock) is swept; a live one is kept.
        let b = dir.path().join("s3/bkt/out");
        std::fs::create_dir_all(&b).unwrap();
        std::fs::write(b.join(".rsqlflow-dead.tmp"), b"partial").unwrap();
        // One just created and not yet locked by its writer is not swept either.
        std::fs::write(b.join(".rsqlflow-new.tmp"), b"").unwrap();
        let old = std::time::SystemTime::now() - 2 * ABANDONED_AFTER;
        std::fs::File::options()
            .write(true)
            .open(b.join(".rsqlflow-dead.tmp"))
            .unwrap()
            .set_modified(old)
            .unwrap();
        let live = temp_beside(&b.join("x")).unwrap();
        live.as_file().set_modified(old).unwrap();
        assert_eq!(s3.sweep_abandoned("bkt", "out/"), 1);
        assert!(!b.join(".rsqlflow-dead.tmp").exists());
        assert!(b.join(".rsqlflow-new.tmp").exists());
        assert!(live.path().exists());
    }
}
