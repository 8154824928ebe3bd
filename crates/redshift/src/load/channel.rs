//! The pipe from the producer task to `COPY ... FROM STDIN`: chunks of COPY text sent through a
//! bounded channel, read on the other side as an [`AsyncRead`].

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};
use tokio::sync::mpsc;

/// The producer's end: chunks of COPY text, or the error that fails the COPY.
pub(super) type Chunks = mpsc::Sender<std::io::Result<Vec<u8>>>;

/// A pipe holding at most 8 chunks.
pub(super) fn channel() -> (Chunks, ChannelReader) {
    let (tx, rx) = mpsc::channel(8);
    (
        tx,
        ChannelReader {
            rx,
            buf: Vec::new(),
            pos: 0,
        },
    )
}

/// An AsyncRead over chunks sent through a channel; an `Err` chunk fails the read (and so the
/// COPY, which the session then aborts with CopyFail).
pub(super) struct ChannelReader {
    rx: mpsc::Receiver<std::io::Result<Vec<u8>>>,
    buf: Vec<u8>,
    pos: usize,
}

impl AsyncRead for ChannelReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        loop {
            if self.pos < self.buf.len() {
                let n = (self.buf.len() - self.pos).min(out.remaining());
                let start = self.pos;
                out.put_slice(&self.buf[start..start + n]);
                self.pos += n;
                return Poll::Ready(Ok(()));
            }
            match self.rx.poll_recv(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    self.buf = chunk;
                    self.pos = 0;
                }
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(e)),
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
