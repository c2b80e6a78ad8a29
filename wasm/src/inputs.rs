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
    let bytes = fs::read(path).map_err(|source| InputError::Read {
        path: path.display().to_string(),
        source,
    })?;
    Ok(InputFile::new(path.display().to_string(), bytes))
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
