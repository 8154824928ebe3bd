//! Where the producer's rows go ([`Sink`]): good rows are buffered and sent on to the COPY in
//! chunks, rejected ones are kept for `stl_load_errors` until more than MAXERROR stop the load.

use super::channel::Chunks;
use super::end::{Produced, Stop, Tally};
use super::load_errors::LoadError;
use super::rows::{Origin, Target};
use crate::records::Fields;

/// Bytes buffered before a chunk is sent.
const CHUNK: usize = 256 * 1024;

/// The producer's output: the COPY text not sent yet, the pipe, and the tally.
pub(super) struct Sink {
    out: Vec<u8>,
    tx: Chunks,
    max_error: u64,
    tally: Tally,
}

impl Sink {
    /// A sink sending to `tx` that tolerates `max_error` rejected rows.
    pub(super) fn new(tx: Chunks, max_error: u64) -> Sink {
        Sink {
            out: Vec::with_capacity(2 * CHUNK),
            tx,
            max_error,
            tally: Tally::default(),
        }
    }

    /// Loads one record's fields into the target, or rejects the row.
    pub(super) async fn row(
        &mut self,
        target: &Target,
        fields: Fields<'_>,
        origin: &Origin<'_>,
    ) -> Result<(), Stop> {
        match target.encode(fields, origin, &mut self.out) {
            Ok(()) => self.loaded().await,
            Err(e) => self.reject(*e),
        }
    }

    /// Keeps a rejected row; more than MAXERROR of them stop the load.
    pub(super) fn reject(&mut self, e: LoadError) -> Result<(), Stop> {
        self.tally.rejected.push(e);
        if self.tally.rejected.len() as u64 > self.max_error {
            return Err(Stop::TooManyErrors);
        }
        Ok(())
    }

    /// Counts a loaded row and sends the buffer on when it is full; [`Stop::Closed`] when the
    /// COPY no longer reads.
    async fn loaded(&mut self) -> Result<(), Stop> {
        self.tally.loaded += 1;
        if self.out.len() >= CHUNK {
            let chunk = std::mem::replace(&mut self.out, Vec::with_capacity(2 * CHUNK));
            self.tx.send(Ok(chunk)).await.map_err(|_| Stop::Closed)?;
        }
        Ok(())
    }

    /// Ends the COPY's input: the rest of the rows when the producer read all its input, the
    /// error that aborts the COPY when it failed, nothing when the COPY already ended.
    pub(super) async fn finish(self, end: Result<(), Stop>) -> Produced {
        let stop = match end {
            Ok(()) => {
                if !self.out.is_empty() {
                    let _ = self.tx.send(Ok(self.out)).await;
                }
                None
            }
            Err(Stop::Closed) => Some(Stop::Closed),
            Err(stop) => {
                let _ = self
                    .tx
                    .send(Err(std::io::Error::other(stop.to_string())))
                    .await;
                Some(stop)
            }
        };
        Produced {
            tally: self.tally,
            stop,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::channel::channel;

    fn rejected() -> LoadError {
        LoadError::record("f", 1, "x", 1214, "Delimiter not found".into())
    }

    #[tokio::test]
    async fn more_rejects_than_maxerror_stop_the_load_and_abort_the_copy() {
        let (tx, mut reader) = channel();
        let mut sink = Sink::new(tx, 1);
        assert_eq!(sink.reject(rejected()), Ok(()));
        assert_eq!(sink.reject(rejected()), Err(Stop::TooManyErrors));
        let produced = sink.finish(Err(Stop::TooManyErrors)).await;
        assert_eq!(produced.stop, Some(Stop::TooManyErrors));
        assert_eq!(produced.tally.rejected.len(), 2);
        let mut text = Vec::new();
        let err = tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut text)
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "too many load errors");
    }

    #[tokio::test]
    async fn rows_reach_the_copy_when_the_input_ends() {
        let (tx, mut reader) = channel();
        let mut sink = Sink::new(tx, 0);
        sink.out.extend_from_slice(b"1\n");
        sink.loaded().await.unwrap();
        let produced = sink.finish(Ok(())).await;
        assert_eq!((produced.tally.loaded, produced.stop), (1, None));
        let mut text = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut text)
            .await
            .unwrap();
        assert_eq!(text, b"1\n");
    }
}
