//! LZOP files (`lzop` command output) for COPY ... LZOP: the container (magic, header, blocks
//! with optional Adler-32/CRC-32 checksums) parsed here, each block's LZO1X data decompressed
//! by lzokay-native. Errors name the byte offset where the file stopped making sense.

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

#[cfg(test)]
mod tests {
    use super::*;

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
