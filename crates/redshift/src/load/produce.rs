//! The producer task ([`Producer`]): reads each input file with the Parquet or the text
//! producer and sends the rows through a [`Sink`] while the session runs the COPY.

use std::sync::Arc;

use tokio::task::JoinHandle;

use super::channel::Chunks;
use super::end::{Produced, Stop};
use super::input::Input;
use super::rows::Target;
use super::sink::Sink;
use super::{parquet, text};
use objects::{ObjectStore, S3Uri};

/// What the producer task reads and where its rows go.
pub(super) struct Producer {
    /// The target table and the COPY.
    pub target: Target,
    /// How the files are parsed.
    pub input: Input,
    /// The files, in order.
    pub files: Vec<S3Uri>,
    /// Where they are.
    pub store: Arc<dyn ObjectStore>,
}

impl Producer {
    /// Starts producing rows into `tx`.
    pub(super) fn spawn(self, tx: Chunks) -> JoinHandle<Produced> {
        let mut sink = Sink::new(tx, self.target.spec.max_error);
        tokio::spawn(async move {
            let end = self.produce(&mut sink).await;
            sink.finish(end).await
        })
    }

    async fn produce(&self, sink: &mut Sink) -> Result<(), Stop> {
        for file in &self.files {
            let raw = self
                .store
                .get(&file.bucket, &file.key)
                .await
                .map_err(|e| Stop::Failed(e.to_string()))?;
            let file_name = file.to_string();
            match &self.input {
                Input::Parquet => parquet::load_file(&self.target, sink, &file_name, raw).await?,
                Input::Text(format) => {
                    text::load_file(&self.target, format, sink, &file_name, raw).await?
                }
            }
        }
        Ok(())
    }
}

/// What the producer task left once it has ended; a task that panicked failed the load.
pub(super) async fn finished(task: JoinHandle<Produced>) -> Produced {
    task.await.unwrap_or_else(|_| Produced {
        stop: Some(Stop::Failed("internal error".into())),
        ..Produced::default()
    })
}
