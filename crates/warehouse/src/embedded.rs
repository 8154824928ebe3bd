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
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => {
            on_wait(dir);
            tokio::task::spawn_blocking(move || file.lock().map(|_| file))
                .await
                .map_err(|e| err(e.to_string()))?
                .map_err(|e| err(format!("{}: {e}", path.display())))
        }
        Err(TryLockError::Error(e)) => Err(err(format!("{}: {e}", path.display()))),
    }
}
