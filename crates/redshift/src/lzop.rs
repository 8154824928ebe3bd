//! LZOP files (`lzop` command output) for COPY ... LZOP: the container (magic, header, blocks
//! with optional Adler-32/CRC-32 checksums) parsed here, each block's LZO1X data decompressed
//! by lzokay-native. Errors name the byte offset where the file stopped making sense. The
//! writer ([`LzopWriter`]) makes the same container, as `lzop` 1.04 writes it (LZO1X-1 blocks
//! of 256 KiB with Adler-32 checksums of the uncompressed data), for sample data.

const MAGIC: [u8; 9] = [0x89, b'L', b'Z', b'O', 0x00, b'\r', b'\n', 0x1a, b'\n'];
const F_ADLER32_D: u32 = 0x1;
const F_ADLER32_C: u32 = 0x2;
const F_H_EXTRA_FIELD: u32 = 0x40;
const F_CRC32_D: u32 = 0x100;
const F_CRC32_C: u32 = 0x200;
const F_H_FILTER: u32 = 0x800;

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or_else(|| format!("truncated LZOP file at byte {}", self.pos))?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, String> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// Decompresses a whole LZOP file.
pub fn decompress(data: &[u8]) -> Result<Vec<u8>, String> {
    let mut r = Reader { data, pos: 0 };
    if r.take(MAGIC.len())? != MAGIC {
        return Err("not an LZOP file (bad magic bytes)".into());
    }
    let version = r.u16()?;
    let _lib_version = r.u16()?;
    if version >= 0x0940 {
        let _needed = r.u16()?;
    }
    let method = r.u8()?;
    if !(1..=3).contains(&method) {
        return Err(format!("unsupported LZOP method {method}"));
    }
    if version >= 0x0940 {
        let _level = r.u8()?;
    }
    let flags = r.u32()?;
    if flags & F_H_FILTER != 0 {
        return Err("LZOP files with filters are not supported".into());
    }
    let _mode = r.u32()?;
    let _mtime = r.u32()?;
    if version >= 0x0940 {
        let _mtime_high = r.u32()?;
    }
    let name_len = r.u8()? as usize;
    r.take(name_len)?;
    let _header_checksum = r.u32()?;
    if flags & F_H_EXTRA_FIELD != 0 {
        let len = r.u32()? as usize;
        r.take(len)?;
        let _extra_checksum = r.u32()?;
    }
    let mut out = Vec::new();
    loop {
        let block_start = r.pos;
        let ulen = r.u32()? as usize;
        if ulen == 0 {
            break;
        }
        let clen = r.u32()? as usize;
        if flags & F_ADLER32_D != 0 {
            r.u32()?;
        }
        if flags & F_CRC32_D != 0 {
            r.u32()?;
        }
        if clen < ulen {
            if flags & F_ADLER32_C != 0 {
                r.u32()?;
            }
            if flags & F_CRC32_C != 0 {
                r.u32()?;
            }
        }
        let block = r.take(clen)?;
        if clen == ulen {
            out.extend_from_slice(block);
        } else {
            let d = lzokay_native::decompress_all(block, Some(ulen))
                .map_err(|e| format!("corrupt LZO block at byte {block_start}: {e:?}"))?;
            if d.len() != ulen {
                return Err(format!(
                    "LZO block at byte {block_start} has the wrong length"
                ));
            }
            out.extend_from_slice(&d);
        }
    }
    Ok(out)
}

/// Adler-32, the checksum LZOP puts on its header and blocks.
fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for &x in chunk {
            a += u32::from(x);
            b += a;
        }
        a %= 65521;
        b %= 65521;
    }
    (b << 16) | a
}

/// Uncompressed bytes per block (lzop's default).
const BLOCK: usize = 256 * 1024;

/// Writes an LZOP file: the header on creation, a block per 256 KiB, the end marker on
/// [`LzopWriter::finish`].
pub struct LzopWriter<W: std::io::Write> {
    out: W,
    buf: Vec<u8>,
}

impl<W: std::io::Write> LzopWriter<W> {
    /// Starts a file with the given modification time (seconds since the epoch).
    pub fn new(mut out: W, mtime: u64) -> std::io::Result<Self> {
        out.write_all(&MAGIC)?;
        let mut h = Vec::new();
        h.extend_from_slice(&0x1040u16.to_be_bytes()); // version: lzop 1.04
        h.extend_from_slice(&0x2080u16.to_be_bytes()); // LZO library version
        h.extend_from_slice(&0x0940u16.to_be_bytes()); // version needed to extract
        h.push(1); // method: LZO1X-1
        h.push(5); // level
        h.extend_from_slice(&F_ADLER32_D.to_be_bytes());
        h.extend_from_slice(&0o100644u32.to_be_bytes()); // mode
        h.extend_from_slice(&((mtime & 0xffff_ffff) as u32).to_be_bytes());
        h.extend_from_slice(&((mtime >> 32) as u32).to_be_bytes());
        h.push(0); // no file name
        let sum = adler32(&h);
        out.write_all(&h)?;
        out.write_all(&sum.to_be_bytes())?;
        Ok(LzopWriter {
            out,
            buf: Vec::with_capacity(BLOCK),
        })
    }

    fn block(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let data = std::mem::take(&mut self.buf);
        let packed = lzokay_native::compress(&data)
            .map_err(|e| std::io::Error::other(format!("LZO compression failed: {e:?}")))?;
        let stored: &[u8] = if packed.len() < data.len() {
            &packed
        } else {
            &data
        };
        self.out.write_all(&(data.len() as u32).to_be_bytes())?;
        self.out.write_all(&(stored.len() as u32).to_be_bytes())?;
        self.out.write_all(&adler32(&data).to_be_bytes())?;
        self.out.write_all(stored)?;
        self.buf = data;
        self.buf.clear();
        Ok(())
    }

    /// Writes the last block and the end marker; returns the inner writer.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.block()?;
        self.out.write_all(&0u32.to_be_bytes())?;
        Ok(self.out)
    }
}

impl<W: std::io::Write> std::io::Write for LzopWriter<W> {
    fn write(&mut self, mut data: &[u8]) -> std::io::Result<usize> {
        let n = data.len();
        while !data.is_empty() {
            let room = BLOCK - self.buf.len();
            let (now, rest) = data.split_at(room.min(data.len()));
            self.buf.extend_from_slice(now);
            data = rest;
            if self.buf.len() == BLOCK {
                self.block()?;
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn written_files_read_back() {
        let mut text = Vec::new();
        for i in 0..40_000 {
            writeln!(text, "{i}|Customer#{i:09}|some comment text {}|", i % 97).unwrap();
        }
        let mut w = LzopWriter::new(Vec::new(), 1_700_000_000).unwrap();
        w.write_all(&text).unwrap();
        let file = w.finish().unwrap();
        assert!(file.len() < text.len() / 2, "compressed {}", file.len());
        assert_eq!(decompress(&file).unwrap(), text);
        let empty = LzopWriter::new(Vec::new(), 0).unwrap().finish().unwrap();
        assert_eq!(decompress(&empty).unwrap(), Vec::<u8>::new());
        // The Adler-32 of "Wikipedia" (the worked example of the checksum's definition).
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
    }

    #[test]
    fn rejects_garbage_with_a_position() {
        assert_eq!(
            decompress(b"hello").unwrap_err(),
            "truncated LZOP file at byte 0"
        );
        assert_eq!(
            decompress(b"not an lzop file").unwrap_err(),
            "not an LZOP file (bad magic bytes)"
        );
        let mut f = MAGIC.to_vec();
        f.extend_from_slice(&[0x10, 0x30, 0x20, 0x80]);
        assert!(
            decompress(&f)
                .unwrap_err()
                .contains("truncated LZOP file at byte")
        );
    }
}
