//! Why a check could not run at all (as opposed to the findings of a check that ran).

use std::path::PathBuf;

/// A check that cannot run: `rsqlflow check` exits 2.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// A path given to check does not exist.
    #[error("{0}: no such file or directory")]
    NotFound(PathBuf),
    /// A directory could not be listed.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A rule code that no rule has (`--explain`, `allow(...)`).
    #[error("unknown rule code \"{0}\" (the codes are listed by `rsqlflow check --explain list`)")]
    UnknownRule(String),
}
