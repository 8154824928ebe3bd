//! Whole-file writes: a locked temporary file beside the destination, synced, then renamed
//! over it, so that a reader sees the old file or the new one and never half of one; the lock
//! tells [`crate::LocalS3::sweep_abandoned`] that the writer is alive.

use std::path::Path;

/// Temporary objects are named `.rsqlflow-<random>.tmp`; listings never show them.
pub const TEMP_PREFIX: &str = ".rsqlflow-";
pub(crate) const TEMP_SUFFIX: &str = ".tmp";

/// A locked temporary file beside `dest`, to be renamed over it when complete; its lock tells
/// [`LocalS3::sweep_abandoned`] that its writer is alive. Dropped without `persist`, it is
/// removed.
pub fn temp_beside(dest: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    let dir = dest.parent().unwrap_or(Path::new("."));
    let tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)?;
    tmp.as_file().lock()?;
    Ok(tmp)
}

/// Writes `bytes` to `dest` whole or not at all (a locked temporary file, synced, renamed).
pub fn write_whole(dest: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(d) = dest.parent() {
        std::fs::create_dir_all(d)?;
    }
    let mut tmp = temp_beside(dest)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(dest).map_err(|e| e.error)?;
    Ok(())
}
