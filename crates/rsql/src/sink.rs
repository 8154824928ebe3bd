//! Output files for `\o`, `\g FILE` and `\export report`: written to a temporary name next to
//! the target and renamed into place when closed, so a reader never sees a half-written file.

use std::path::{Path, PathBuf};

use tokio::fs::File;
use tokio::io::{AsyncWrite, AsyncWriteExt, BufWriter};

/// A file being written; it appears under its final name only after [`FileSink::finish`].
#[derive(Debug)]
pub struct FileSink {
    path: PathBuf,
    tmp: PathBuf,
    file: BufWriter<File>,
}

impl FileSink {
    /// Creates the temporary file for `path`.
    pub async fn create(path: &Path) -> std::io::Result<FileSink> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "output".into());
        let tmp = path.with_file_name(format!(".{name}.rsqlflow-{}.tmp", std::process::id()));
        let file = BufWriter::with_capacity(256 * 1024, File::create(&tmp).await?);
        Ok(FileSink {
            path: path.to_path_buf(),
            tmp,
            file,
        })
    }

    /// The final path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends text.
    pub async fn write(&mut self, s: &str) -> std::io::Result<()> {
        self.file.write_all(s.as_bytes()).await
    }

    /// The file as a writer, for streaming (COPY TO).
    pub fn writer(&mut self) -> &mut (dyn AsyncWrite + Send + Unpin) {
        &mut self.file
    }

    /// Flushes, syncs and renames the file into place.
    pub async fn finish(mut self) -> std::io::Result<()> {
        self.file.flush().await?;
        self.file.get_ref().sync_all().await?;
        tokio::fs::rename(&self.tmp, &self.path).await
    }

    /// Removes the temporary file without publishing it.
    pub async fn discard(self) {
        drop(self.file);
        let _ = tokio::fs::remove_file(&self.tmp).await;
    }
}
