//! Decompression of a text input file (gzip, bzip2, zstd, lzop, or none).

use async_compression::tokio::bufread::{BzDecoder, GzipDecoder, ZstdDecoder};
use tokio::io::{AsyncBufRead, AsyncRead, AsyncReadExt, BufReader};

use crate::copy_spec::Compression;

/// Read buffer of each stage.
const BUFFER: usize = 256 * 1024;

/// A reader over the decompressed bytes of an object. LZOP files are decompressed whole (the
/// container has no streaming decoder here); the others stream.
pub(super) async fn decoder(
    c: Compression,
    mut r: Box<dyn AsyncRead + Send + Unpin>,
) -> Result<Box<dyn AsyncBufRead + Send + Unpin>, String> {
    Ok(match c {
        Compression::None => Box::new(BufReader::with_capacity(BUFFER, r)),
        Compression::Gzip => {
            let mut d = GzipDecoder::new(BufReader::with_capacity(BUFFER, r));
            d.multiple_members(true);
            Box::new(BufReader::with_capacity(BUFFER, d))
        }
        Compression::Bzip2 => Box::new(BufReader::with_capacity(
            BUFFER,
            BzDecoder::new(BufReader::with_capacity(BUFFER, r)),
        )),
        Compression::Zstd => Box::new(BufReader::with_capacity(
            BUFFER,
            ZstdDecoder::new(BufReader::with_capacity(BUFFER, r)),
        )),
        Compression::Lzop => {
            let mut data = Vec::new();
            r.read_to_end(&mut data).await.map_err(|e| e.to_string())?;
            let plain = tokio::task::spawn_blocking(move || crate::lzop::decompress(&data))
                .await
                .map_err(|e| e.to_string())??;
            Box::new(std::io::Cursor::new(plain))
        }
    })
}
