//! Reading a file to check: regular files only (a FIFO or a device would never end), and never
//! more than the size limit, whatever the file's metadata says.

use std::io::Read;
use std::path::Path;

/// Why a file was not read; its display is the finding's message.
#[derive(Debug)]
pub(crate) enum Unread {
    NotAFile,
    TooBig { len: u64, limit: u64 },
    Io(std::io::Error),
}

impl std::fmt::Display for Unread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unread::NotAFile => f.write_str("not a regular file: it was not checked"),
            Unread::TooBig { len, limit } => write!(
                f,
                "the file is {len} bytes, over the checker's limit of {limit} bytes; it was not checked"
            ),
            Unread::Io(e) => write!(f, "cannot read the file: {e}"),
        }
    }
}

/// The bytes of the regular file at `path`, at most `limit` of them.
pub(crate) fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, Unread> {
    let meta = std::fs::metadata(path).map_err(Unread::Io)?;
    if !meta.is_file() {
        return Err(Unread::NotAFile);
    }
    if meta.len() > limit {
        return Err(Unread::TooBig {
            len: meta.len(),
            limit,
        });
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(limit.saturating_add(1)).read_to_end(&mut bytes))
        .map_err(Unread::Io)?;
    if bytes.len() as u64 > limit {
        // It grew since its metadata was read.
        return Err(Unread::TooBig {
            len: bytes.len() as u64,
            limit,
        });
    }
    Ok(bytes)
}
