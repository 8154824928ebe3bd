//! Input sources: a script file, a `-c` command string or standard input, validated as UTF-8
//! with the position of the first bad byte reported as FILE:LINE.

use std::path::{Path, PathBuf};

/// Errors reading an input source.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The input is not valid UTF-8.
    #[error("invalid UTF-8 (byte 0x{byte:02x}) at {name}:{line}")]
    InvalidUtf8 {
        /// Source name.
        name: String,
        /// 1-based line.
        line: usize,
        /// The offending byte.
        byte: u8,
    },
    /// The input holds a NUL byte: it is not text, and no statement holding one can be sent
    /// (the PostgreSQL protocol ends strings at NUL).
    #[error("NUL byte (0x00) at {name}:{line}: a script cannot contain NUL bytes")]
    NulByte {
        /// Source name.
        name: String,
        /// 1-based line.
        line: usize,
    },
}

/// A named piece of RSQL input.
#[derive(Debug, Clone)]
pub struct Source {
    /// Name used in messages (file path, `<stdin>`, `<command>`).
    pub name: String,
    /// The text.
    pub text: String,
    /// Directory that `\ir` resolves against.
    pub dir: PathBuf,
    /// The file the text was read from (canonical when it could be resolved), for telling
    /// an include cycle; `None` for text that did not come from a local file.
    pub path: Option<PathBuf>,
}

/// Windows line ends (CRLF) become LF, so that a script saved on Windows runs exactly as its
/// LF version does: meta-commands end at the line end without a stray carriage return, and
/// text spanning lines has the same line ends.
fn unix_line_ends(text: String) -> String {
    if text.contains("\r\n") {
        text.replace("\r\n", "\n")
    } else {
        text
    }
}

impl Source {
    /// A source from bytes, checked to be UTF-8 text without NUL bytes; the first problem
    /// found is reported with its line.
    pub fn from_bytes(name: &str, bytes: Vec<u8>, dir: PathBuf) -> Result<Source, SourceError> {
        let line_at = |b: &[u8], at: usize| 1 + b[..at].iter().filter(|&&c| c == b'\n').count();
        let nul = bytes.iter().position(|&b| b == 0);
        match String::from_utf8(bytes) {
            Ok(text) => match nul {
                Some(at) => Err(SourceError::NulByte {
                    name: name.to_string(),
                    line: line_at(text.as_bytes(), at),
                }),
                None => Ok(Source {
                    name: name.to_string(),
                    text: unix_line_ends(text),
                    dir,
                    path: None,
                }),
            },
            Err(e) => {
                let valid = e.utf8_error().valid_up_to();
                let bytes = e.as_bytes();
                if let Some(at) = nul.filter(|&at| at < valid) {
                    return Err(SourceError::NulByte {
                        name: name.to_string(),
                        line: line_at(bytes, at),
                    });
                }
                Err(SourceError::InvalidUtf8 {
                    name: name.to_string(),
                    line: line_at(bytes, valid),
                    byte: bytes.get(valid).copied().unwrap_or(0),
                })
            }
        }
    }

    /// A source from literal text (for `-c`).
    pub fn command(text: &str) -> Source {
        Source {
            name: "<command>".into(),
            text: unix_line_ends(text.to_string()),
            dir: PathBuf::from("."),
            path: None,
        }
    }

    /// Reads a script file.
    pub async fn load(path: &Path) -> Result<Source, SourceError> {
        let bytes = tokio::fs::read(path).await.map_err(|e| SourceError::Read {
            path: path.display().to_string(),
            source: e,
        })?;
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let mut source = Source::from_bytes(&path.display().to_string(), bytes, dir)?;
        let canonical = tokio::fs::canonicalize(path).await;
        source.path = Some(canonical.unwrap_or_else(|_| path.to_path_buf()));
        Ok(source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_is_lf() {
        let s = Source::from_bytes("w.rsql", b"\\echo a\r\nselect 1;\r\n".to_vec(), ".".into())
            .unwrap();
        assert_eq!(s.text, "\\echo a\nselect 1;\n");
        assert_eq!(Source::command("a\r\nb").text, "a\nb");
    }

    #[test]
    fn invalid_utf8_names_the_line() {
        let err = Source::from_bytes("x.rsql", b"select 1;\nselect '\xff';".to_vec(), ".".into())
            .unwrap_err();
        assert_eq!(err.to_string(), "invalid UTF-8 (byte 0xff) at x.rsql:2");
    }

    #[test]
    fn nul_bytes_are_refused_with_the_line() {
        let err = Source::from_bytes(
            "n.rsql",
            b"select 1;\r\n\nselect '\0';\n".to_vec(),
            ".".into(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "NUL byte (0x00) at n.rsql:3: a script cannot contain NUL bytes"
        );
        // The first problem is the one reported.
        let err = Source::from_bytes("n.rsql", b"\0\xff".to_vec(), ".".into()).unwrap_err();
        assert!(matches!(err, SourceError::NulByte { line: 1, .. }));
        let err = Source::from_bytes("n.rsql", b"\xff\n\0".to_vec(), ".".into()).unwrap_err();
        assert!(matches!(err, SourceError::InvalidUtf8 { line: 1, .. }));
    }
}
