//! Which files to check: the paths given, with directories walked for scripts (`*.rsql`,
//! `*.sql`) and state machine definitions (`*.asl.json`, `*.asl.yaml`, `*.asl.yml`).
//!
//! The walk stays inside what it was given: symbolic links met inside a directory are not
//! followed (neither to files nor to directories), and it goes at most [`MAX_DEPTH`] levels
//! down. A path named on the command line is taken as given.

use std::path::{Path, PathBuf};

use crate::error::CheckError;

/// Files larger than this (16 MiB) are not read: no hand-written script comes near it.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 16 * 1024 * 1024;

/// How many directory levels the walk descends.
pub const MAX_DEPTH: usize = 32;

/// What a file is to the checker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An RSQL script.
    Script,
    /// A state machine definition (JSON or YAML).
    Machine,
    /// A SAM template (`template.yaml`).
    Template,
}

fn is_script(p: &Path) -> bool {
    p.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("rsql") || e.eq_ignore_ascii_case("sql"))
}

fn is_definition(p: &Path) -> bool {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    [".asl.json", ".asl.yaml", ".asl.yml"]
        .iter()
        .any(|x| name.ends_with(x))
}

/// What a file named on the command line is: by its name (`template.yaml`, `*.json` and
/// `*.yaml` are definitions, anything else a script).
fn kind_of_named(p: &Path) -> Kind {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if name == "template.yaml" || name == "template.yml" {
        Kind::Template
    } else if is_definition(p) || [".json", ".yaml", ".yml"].iter().any(|x| name.ends_with(x)) {
        Kind::Machine
    } else {
        Kind::Script
    }
}

/// Whether `path` is a regular file inside `root` once symbolic links and `..` are resolved:
/// the same rule as the walk, for paths built from input (a job's script key, a template's
/// `DefinitionUri`).
pub fn file_inside(path: &Path, root: &Path) -> bool {
    match (std::fs::canonicalize(path), std::fs::canonicalize(root)) {
        (Ok(p), Ok(r)) => p.starts_with(r) && p.is_file(),
        _ => false,
    }
}

/// The script files under `paths`, sorted within each directory; a path that does not exist
/// is an error.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>, CheckError> {
    Ok(collect_kinds(paths)?
        .into_iter()
        .filter(|(_, k)| *k == Kind::Script)
        .map(|(p, _)| p)
        .collect())
}

/// The files under `paths` and what each is, sorted within each directory; a path that does
/// not exist is an error.
pub fn collect_kinds(paths: &[PathBuf]) -> Result<Vec<(PathBuf, Kind)>, CheckError> {
    let mut files = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => CheckError::NotFound(p.clone()),
            _ => CheckError::Io {
                path: p.clone(),
                source: e,
            },
        })?;
        if meta.is_dir() {
            walk(p, 0, &mut files)?;
        } else {
            files.push((p.clone(), kind_of_named(p)));
        }
    }
    Ok(files)
}

fn walk(dir: &Path, depth: usize, files: &mut Vec<(PathBuf, Kind)>) -> Result<(), CheckError> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    let io = |e| CheckError::Io {
        path: dir.to_path_buf(),
        source: e,
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        // symlink_metadata: a link is seen as a link, and skipped.
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.file_type().is_symlink() {
            continue;
        }
        if meta.is_dir() {
            walk(&p, depth + 1, files)?;
        } else if meta.is_file() && is_script(&p) {
            files.push((p, Kind::Script));
        } else if meta.is_file() && is_definition(&p) {
            files.push((p, Kind::Machine));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_scripts_and_skips_links() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("sub")).unwrap();
        std::fs::write(d.path().join("a.rsql"), "").unwrap();
        std::fs::write(d.path().join("sub/b.sql"), "").unwrap();
        std::fs::write(d.path().join("notes.txt"), "").unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("c.rsql"), "").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(outside.path(), d.path().join("link")).unwrap();
        let files = collect(&[d.path().to_path_buf()]).unwrap();
        let names: Vec<_> = files
            .iter()
            .map(|f| f.strip_prefix(d.path()).unwrap().display().to_string())
            .collect();
        assert_eq!(names, vec!["a.rsql", "sub/b.sql"]);
        assert!(matches!(
            collect(&[d.path().join("missing")]),
            Err(CheckError::NotFound(_))
        ));
    }
}
