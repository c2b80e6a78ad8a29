//! Finding and reading the files a run needs.

use std::fs;
use std::path::{Path, PathBuf};

use tidemark_core::{DmsName, InputFile};

/// What can go wrong before the core sees any bytes.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "{path}: no snapshot here (expected snapshot.parquet, snapshot.csv or LOAD*.csv files)"
    )]
    NoSnapshot { path: String },
    #[error("{path}: no change files here (expected .csv, .csv.gz or .parquet files)")]
    NoChanges { path: String },
}

/// The file names a previous run writes; a directory holding them is a snapshot.
pub const SNAPSHOT_STEM: &str = "snapshot";
pub const STATE_FILE: &str = "state.parquet";

/// The snapshot files, and the state beside them, named by `path`: a file; a directory of DMS
/// full-load parts (`LOAD*.csv`); or the output directory of an earlier run.
pub fn snapshot(path: &Path) -> Result<(Vec<InputFile>, Option<InputFile>), InputError> {
    if !path.is_dir() {
        return Ok((vec![read(path)?], None));
    }
    for name in [
        format!("{SNAPSHOT_STEM}.parquet"),
        format!("{SNAPSHOT_STEM}.csv"),
    ] {
        let candidate = path.join(name);
        if candidate.is_file() {
            let state = path.join(STATE_FILE);
            let state = if state.is_file() {
                Some(read(&state)?)
            } else {
                None
            };
            return Ok((vec![read(&candidate)?], state));
        }
    }
    let parts: Vec<PathBuf> = list_data_files(path)?
        .into_iter()
        .filter(|p| matches!(DmsName::of(&p.to_string_lossy()), DmsName::Load(_)))
        .collect();
    if parts.is_empty() {
        return Err(InputError::NoSnapshot {
            path: path.display().to_string(),
        });
    }
    Ok((
        parts.iter().map(|p| read(p)).collect::<Result<_, _>>()?,
        None,
    ))
}

/// The change files named by `paths`: files, or directories searched recursively (DMS writes
/// date folders). Full-load parts inside such directories are skipped.
pub fn changes(paths: &[PathBuf]) -> Result<Vec<InputFile>, InputError> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let found: Vec<PathBuf> = list_data_files(path)?
                .into_iter()
                .filter(|p| !matches!(DmsName::of(&p.to_string_lossy()), DmsName::Load(_)))
                .collect();
            if found.is_empty() {
                return Err(InputError::NoChanges {
                    path: path.display().to_string(),
                });
            }
            for p in found {
                files.push(read(&p)?);
            }
        } else {
            files.push(read(path)?);
        }
    }
    Ok(files)
}

/// Reads one file; its name is the path as given.
pub fn read(path: &Path) -> Result<InputFile, InputError> {
    let bytes = contents(path).map_err(|source| InputError::Read {
        path: path.display().to_string(),
        source,
    })?;
    Ok(InputFile::new(path.display().to_string(), bytes))
}

/// Files from this size on are mapped rather than copied.
#[cfg(not(target_arch = "wasm32"))]
const MAP_BYTES: u64 = 4 << 20;

/// A big file's bytes as the system already holds them in its page cache, mapped instead of
/// copied: a copy is as big as the file, in fresh memory the kernel must zero first (at ten
/// million rows, 5 % of the run's CPU). Small files, and files that cannot be mapped, are read.
#[cfg(not(target_arch = "wasm32"))]
fn contents(path: &Path) -> std::io::Result<bytes::Bytes> {
    let file = fs::File::open(path)?;
    let len = file.metadata()?.len();
    if len >= MAP_BYTES {
        // SAFETY: the mapping is read-only and Tidemark never writes a file it reads: outputs
        // are written beside their targets and renamed over them, which leaves a mapped file's
        // contents as they were. Another program truncating an input while it is read would
        // make reading it fault, as it would make a copy half-read.
        if let Ok(map) = unsafe { memmap2::MmapOptions::new().populate().map(&file) } {
            return Ok(bytes::Bytes::from_owner(map));
        }
    }
    let mut bytes = Vec::with_capacity(len as usize);
    std::io::Read::read_to_end(&mut &file, &mut bytes)?;
    Ok(bytes.into())
}

#[cfg(target_arch = "wasm32")]
fn contents(path: &Path) -> std::io::Result<bytes::Bytes> {
    fs::read(path).map(Into::into)
}

fn is_data_file(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    !name.starts_with('.')
        && [".csv", ".csv.gz", ".parquet"]
            .iter()
            .any(|ext| name.ends_with(ext))
}

/// Data files below `dir`, recursively, in name order (the core sorts them for applying).
fn list_data_files(dir: &Path) -> Result<Vec<PathBuf>, InputError> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = fs::read_dir(&dir).map_err(|source| InputError::Read {
            path: dir.display().to_string(),
            source,
        })?;
        for entry in entries {
            let path = entry
                .map_err(|source| InputError::Read {
                    path: dir.display().to_string(),
                    source,
                })?
                .path();
            let hidden = path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'));
            if path.is_dir() && !hidden {
                pending.push(path);
            } else if is_data_file(&path) {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_reads_as_its_bytes_whether_it_is_copied_or_mapped() {
        let dir = tempfile::tempdir().unwrap();
        let small: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
        let big: Vec<u8> = (0..(5u32 << 20)).map(|i| (i % 253) as u8).collect();
        for (name, bytes) in [
            ("small.csv", &small),
            ("big.csv", &big),
            ("empty.csv", &vec![]),
        ] {
            let path = dir.path().join(name);
            fs::write(&path, bytes).unwrap();
            let file = read(&path).unwrap();
            assert_eq!(file.name, path.display().to_string());
            assert!(file.bytes == bytes.as_slice(), "{name}");
        }
    }

    #[test]
    fn a_missing_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("LOAD00000001.csv");
        let err = read(&path).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("cannot read {}: ", path.display())),
            "{err}"
        );
    }
}
