//! The embedded engine: PostgreSQL 17 compiled to WebAssembly (pglite-oxide), started in-process
//! and served on a loopback port. Data lives in `.rsqlflow/warehouse/` so successive runs see the
//! same tables; an ephemeral engine uses a throwaway directory. One session at a time: a second
//! rsqlflow process waits on a lock file until the first is done.

use std::fs::{File, OpenOptions, TryLockError};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use pglite_oxide::PgliteServer;

use crate::error::WarehouseError;
use crate::url::ConnectParams;

/// Where the embedded engine keeps its data.
#[derive(Debug, Clone)]
pub enum Storage {
    /// A persistent directory.
    Dir(PathBuf),
    /// A throwaway directory removed at exit.
    Ephemeral,
}

/// A running embedded engine; stopped when shut down or dropped.
pub struct EmbeddedServer {
    server: Option<PgliteServer>,
    _lock: Option<File>,
    params: ConnectParams,
}

impl EmbeddedServer {
    /// Starts the engine. `on_wait` is called once if another process holds the data directory.
    pub async fn start(
        storage: Storage,
        on_wait: impl FnOnce(&Path),
    ) -> Result<Self, WarehouseError> {
        let (lock, builder, dir) = match &storage {
            Storage::Dir(dir) => {
                let lock = acquire_lock(dir, on_wait).await?;
                (
                    Some(lock),
                    PgliteServer::builder().path(dir.join("data")),
                    dir.display().to_string(),
                )
            }
            Storage::Ephemeral => (
                None,
                PgliteServer::builder().temporary(),
                "a temporary directory".into(),
            ),
        };
        let addr: SocketAddr = ([127, 0, 0, 1], 0).into();
        let builder = builder.tcp(addr).database("postgres");
        let dir2 = dir.clone();
        let server = tokio::task::spawn_blocking(move || builder.start())
            .await
            .map_err(|e| WarehouseError::Embedded {
                dir: dir2.clone(),
                reason: e.to_string(),
            })?
            .map_err(|e| WarehouseError::Embedded {
                dir: dir2,
                reason: format!("{e:#}"),
            })?;
        let params = ConnectParams::parse(&server.connection_uri())?;
        Ok(EmbeddedServer {
            server: Some(server),
            _lock: lock,
            params,
        })
    }

    /// Connection parameters for the running engine.
    pub fn params(&self) -> &ConnectParams {
        &self.params
    }

    /// Stops the engine, waiting for it to write its data out.
    pub async fn shutdown(mut self) {
        if let Some(server) = self.server.take() {
            let _ = tokio::task::spawn_blocking(move || server.shutdown()).await;
        }
    }
}

impl Drop for EmbeddedServer {
    /// Dropped without `shutdown` (a job stopped or timed out mid-statement): the engine cannot
    /// be interrupted, so it is shut down on a thread of its own once its statement ends, and
    /// the data directory stays locked until then, so that no second engine opens it. The
    /// caller is not blocked.
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            let lock = self._lock.take();
            // Should no thread be had, the closure is dropped here and the engine with it.
            let _ = std::thread::Builder::new()
                .name("rsqlflow-embedded-shutdown".into())
                .spawn(move || {
                    let _ = server.shutdown();
                    drop(lock);
                });
        }
    }
}

async fn acquire_lock(dir: &Path, on_wait: impl FnOnce(&Path)) -> Result<File, WarehouseError> {
    let err = |reason: String| WarehouseError::Embedded {
        dir: dir.display().to_string(),
        reason,
    };
    std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
    let path = dir.join("rsqlflow.lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| err(format!("{}: {e}", path.display())))?;
    let mut told = Some(on_wait);
    let mut pause = LOCK_POLL_FIRST;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(TryLockError::WouldBlock) => {
                if let Some(tell) = told.take() {
                    tell(dir);
                }
                // Polled, not a blocking `lock()` on a blocking thread: a caller that is
                // dropped (a job stopped while it waits) stops waiting at once, and no thread
                // is left holding the process open until the lock is free.
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(LOCK_POLL_MAX);
            }
            Err(TryLockError::Error(e)) => return Err(err(format!("{}: {e}", path.display()))),
        }
    }
}

/// The first pause between attempts to take a held data directory's lock.
const LOCK_POLL_FIRST: std::time::Duration = std::time::Duration::from_millis(20);
/// The longest pause between attempts.
const LOCK_POLL_MAX: std::time::Duration = std::time::Duration::from_millis(250);

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    /// A session that waits for a held data directory and is then dropped (its job stopped)
    /// stops waiting: the runtime it ran on shuts down while the directory is still held.
    /// (A blocking `lock()` on a blocking thread kept the process alive until the holder let
    /// go: the stopped run of a job whose engine was finishing `pg_sleep(120)` took two
    /// minutes to exit.)
    #[test]
    fn a_dropped_wait_for_the_lock_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path()).unwrap();
        let held = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.path().join("rsqlflow.lock"))
            .unwrap();
        held.lock().unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let path = dir.path().to_path_buf();
        let waited = rt.block_on(async move {
            let (tx, rx) = tokio::sync::oneshot::channel();
            let task = tokio::spawn(async move {
                acquire_lock(&path, move |_| {
                    let _ = tx.send(());
                })
                .await
            });
            let told = rx.await.is_ok();
            task.abort();
            let aborted = task.await.err().is_some_and(|e| e.is_cancelled());
            told && aborted
        });
        assert!(waited, "the wait was reported, then dropped");
        // Dropping a runtime waits for its blocking threads; nothing may be left there.
        let (done, ended) = mpsc::channel();
        std::thread::spawn(move || {
            drop(rt);
            let _ = done.send(());
        });
        let ended = ended.recv_timeout(Duration::from_secs(60));
        drop(held);
        assert!(ended.is_ok(), "the runtime was held by a wait for the lock");
    }

    /// The lock is taken as soon as its holder lets go.
    #[tokio::test]
    async fn the_lock_is_taken_once_released() {
        let dir = tempfile::tempdir().unwrap();
        let first = acquire_lock(dir.path(), |_| panic!("free")).await.unwrap();
        let path = dir.path().to_path_buf();
        let waiting = tokio::spawn(async move { acquire_lock(&path, |_| {}).await.is_ok() });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!waiting.is_finished());
        drop(first);
        assert!(waiting.await.unwrap());
    }
}
