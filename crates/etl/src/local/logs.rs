//! Job logs as files: log stream `rsqlflow/<job id>` is `<dir>/<job id>.log`, written
//! through as the job runs ([`LogWriter`]).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use async_trait::async_trait;

use crate::error::ServiceError;
use crate::services::Logs;

/// Logs under a directory (default `.rsqlflow/logs/`).
#[derive(Debug, Clone)]
pub struct LocalLogs {
    dir: PathBuf,
}

impl LocalLogs {
    pub fn new(dir: impl Into<PathBuf>) -> LocalLogs {
        LocalLogs { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The stream name of a job's log.
    pub fn stream(job_id: &str) -> String {
        format!("rsqlflow/{job_id}")
    }

    /// The file of a log stream.
    pub fn path(&self, stream: &str) -> PathBuf {
        let id = stream.rsplit('/').next().unwrap_or(stream);
        self.dir.join(format!("{id}.log"))
    }
}

/// The most bytes read from the end of a log for its last lines: a job's log is its script's
/// output and may be large.
pub const TAIL_WINDOW: u64 = 64 * 1024;

impl LocalLogs {
    /// The last `n` lines of a log stream, from its last [`TAIL_WINDOW`] bytes.
    pub fn tail_lines(&self, stream: &str, n: usize) -> std::io::Result<Vec<String>> {
        use std::io::{Read, Seek, SeekFrom};
        let mut f = std::fs::File::open(self.path(stream))?;
        let len = f.metadata()?.len();
        let from = len.saturating_sub(TAIL_WINDOW);
        f.seek(SeekFrom::Start(from))?;
        let mut bytes = Vec::new();
        f.take(TAIL_WINDOW).read_to_end(&mut bytes)?;
        let text = String::from_utf8_lossy(&bytes);
        let mut lines: Vec<&str> = text.lines().collect();
        if from > 0 && !lines.is_empty() {
            // The first line read may be cut.
            lines.remove(0);
        }
        Ok(lines[lines.len().saturating_sub(n)..]
            .iter()
            .map(|l| l.to_string())
            .collect())
    }
}

#[async_trait]
impl Logs for LocalLogs {
    async fn tail(&self, stream: &str, n: usize) -> Result<Vec<String>, ServiceError> {
        let (logs, name) = (self.clone(), stream.to_string());
        tokio::task::spawn_blocking(move || logs.tail_lines(&name, n))
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))
            .and_then(|r| r)
            .map_err(|e| ServiceError::NotFound {
                service: "logs",
                message: format!("log stream {stream}: {e}"),
            })
    }
}

/// A job's log file, written through: each write goes to the file at once, with no buffer of
/// its own, so what a job printed is in its log even when the job is stopped, times out or
/// the process is killed. (The RSQL interpreter buffers its standard output and flushes it
/// after each statement; this writer adds nothing on top.) Writes are synchronous: log lines
/// are small appends to a local file.
#[derive(Debug)]
pub struct LogWriter {
    file: std::fs::File,
}

impl LogWriter {
    /// Opens `path` for appending, creating it and its directory.
    pub fn append(path: &Path) -> std::io::Result<LogWriter> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(LogWriter { file })
    }

    /// A second writer to the same file (standard error next to standard output).
    pub fn try_clone(&self) -> std::io::Result<LogWriter> {
        Ok(LogWriter {
            file: self.file.try_clone()?,
        })
    }

    /// Appends `text` to the log at `path` (best effort: a log that cannot be written is not
    /// the job's failure).
    pub fn append_text(path: &Path, text: &str) {
        if let Ok(mut w) = LogWriter::append(path) {
            let _ = std::io::Write::write_all(&mut w, text.as_bytes());
        }
    }
}

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl tokio::io::AsyncWrite for LogWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let file = &mut self.get_mut().file;
        loop {
            match file.write(buf) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                r => return Poll::Ready(r),
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::{LocalLogs, LogWriter, TAIL_WINDOW};
    use crate::services::Logs;
    use tokio::io::AsyncWriteExt;

    /// The last lines of a log larger than the window read: whole lines only.
    #[tokio::test]
    async fn tails_read_the_end_of_big_logs() {
        let dir = tempfile::tempdir().unwrap();
        let logs = LocalLogs::new(dir.path());
        let line = "x".repeat(99);
        let n = 2 * TAIL_WINDOW as usize / 100;
        let text: String = (0..n).map(|i| format!("{i:05}{line}\n")).collect();
        std::fs::write(logs.path(&LocalLogs::stream("j1")), text).unwrap();
        let tail = logs.tail(&LocalLogs::stream("j1"), 3).await.unwrap();
        let want: Vec<String> = (n - 3..n).map(|i| format!("{i:05}{line}")).collect();
        assert_eq!(tail, want);
        let all = logs
            .tail_lines(&LocalLogs::stream("j1"), usize::MAX)
            .unwrap();
        assert!(
            all.len() < n && all.iter().all(|l| l.len() == 104),
            "{}",
            all.len()
        );
        assert!(logs.tail(&LocalLogs::stream("missing"), 3).await.is_err());
    }

    /// What is written is in the file at once: no flush, no close, the writer dropped
    /// mid-way as a stopped job's is.
    #[tokio::test]
    async fn writes_reach_the_file_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs").join("job.log");
        let mut out = LogWriter::append(&path).unwrap();
        let mut err = out.try_clone().unwrap();
        out.write_all(b"first line\n").await.unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "first line\n");
        err.write_all(b"an error\n").await.unwrap();
        out.write_all(b"partial").await.unwrap();
        // A job's future dropped without flushing.
        drop((out, err));
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "first line\nan error\npartial"
        );
        LogWriter::append_text(&path, "\nnote\n");
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .ends_with("partial\nnote\n")
        );
    }
}
