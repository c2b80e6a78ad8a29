//! Finding and reading the files a run needs.
//!
//! Folders are searched recursively, following symbolic links (DMS date folders are often
//! links into other storage), but each folder is walked once and each file read once however
//! many links lead to it: a link back up (`loop -> .`) or two links into each other's folders
//! would otherwise apply the same change file again and again, or never end.

use std::collections::{HashSet, VecDeque};
use std::fs;
use std::path::{Path, PathBuf};

use tidemark_core::files::{self, CHANGE_LOG_FILE, NamedAs, OutputFile, STATE_FILE};
use tidemark_core::{InputFile, OutputFormat, TableSpec};

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
    #[error("{path}: no data files here (expected .csv, .csv.gz or .parquet files)")]
    NoDataFiles { path: String },
    #[error(
        "{path}: its last run ({run}) wrote no snapshot (--outputs without snapshot); pass the snapshot itself"
    )]
    NoSnapshotInRun { path: String, run: String },
    #[error("{path}: {error}")]
    Spec {
        path: String,
        error: tidemark_core::Error,
    },
}

/// The table spec in the TOML file at `path`; the bundled `users` spec without one.
pub fn read_spec(path: Option<&Path>) -> Result<TableSpec, InputError> {
    let Some(path) = path else {
        return Ok(TableSpec::users());
    };
    let file = read(path)?;
    let text = String::from_utf8_lossy(&file.bytes);
    TableSpec::from_toml(&text).map_err(|error| InputError::Spec {
        path: file.name,
        error,
    })
}

/// How input files are brought into memory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Reading {
    /// Files of [`MAP_BYTES`] and more are mapped: no copy, no fresh memory to fault in.
    #[default]
    MapBigFiles,
    /// Every file is copied into memory (`--no-mmap`): a file that another program truncates
    /// while it is read is read as it is then (cut short, it fails to decode, naming the
    /// file), instead of crashing the process (see [`contents`]).
    CopyAll,
}

/// The snapshot files, and the state beside them, named by `path`: a file; a directory of DMS
/// full-load parts (`LOAD*.csv`); or the output directory of an earlier run. Of an output
/// directory, only the run its pointer names is read (see [`crate::io::outputs`]): never a file an
/// older run left in another format, or a state without its snapshot. A directory written
/// before runs had folders of their own holds its files at the top, and is read from there.
pub fn snapshot(path: &Path, reading: Reading) -> Result<SnapshotInputs, InputError> {
    if !path.is_dir() {
        return Ok(SnapshotInputs {
            files: vec![read_with(path, reading)?],
            ..Default::default()
        });
    }
    let current = crate::io::outputs::current_run(path).map_err(|source| InputError::Read {
        path: path.display().to_string(),
        source,
    })?;
    if let Some(run) = current {
        let snapshot = [OutputFormat::Parquet, OutputFormat::Csv]
            .map(|format| run.join(OutputFile::Snapshot.file_name(format)))
            .into_iter()
            .find(|p| p.is_file())
            .ok_or_else(|| InputError::NoSnapshotInRun {
                path: path.display().to_string(),
                run: run.display().to_string(),
            })?;
        return Ok(SnapshotInputs {
            files: vec![read_with(&snapshot, reading)?],
            state: kept_in(&run, STATE_FILE, reading)?,
            change_log: kept_in(&run, CHANGE_LOG_FILE, reading)?,
        });
    }
    for name in
        [OutputFormat::Parquet, OutputFormat::Csv].map(|f| OutputFile::Snapshot.file_name(f))
    {
        let candidate = path.join(name);
        if candidate.is_file() {
            return Ok(SnapshotInputs {
                files: vec![read_with(&candidate, reading)?],
                state: kept_in(path, STATE_FILE, reading)?,
                change_log: kept_in(path, CHANGE_LOG_FILE, reading)?,
            });
        }
    }
    let parts = load_parts_in(path)?;
    if parts.is_empty() {
        return Err(InputError::NoSnapshot {
            path: path.display().to_string(),
        });
    }
    Ok(SnapshotInputs {
        files: parts
            .iter()
            .map(|p| read_with(p, reading))
            .collect::<Result<_, _>>()?,
        ..Default::default()
    })
}

/// The full-load parts `--snapshot` names, not read, when it names a folder of them (not an
/// earlier run's output, not a file): what a Delta table is created from a part at a time.
pub fn load_part_paths(path: &Path) -> Result<Option<Vec<PathBuf>>, InputError> {
    if !path.is_dir() {
        return Ok(None);
    }
    let is_run = crate::io::outputs::current_run(path)
        .map_err(|source| InputError::Read {
            path: path.display().to_string(),
            source,
        })?
        .is_some()
        || [OutputFormat::Parquet, OutputFormat::Csv]
            .map(|f| path.join(OutputFile::Snapshot.file_name(f)))
            .iter()
            .any(|p| p.is_file());
    if is_run {
        return Ok(None);
    }
    let parts = load_parts_in(path)?;
    Ok((!parts.is_empty()).then_some(parts))
}

/// The DMS full-load parts below `dir`, each once.
fn load_parts_in(dir: &Path) -> Result<Vec<PathBuf>, InputError> {
    let parts: Vec<PathBuf> = list_data_files(dir)?
        .into_iter()
        .filter(|p| NamedAs::of(&p.to_string_lossy()) == NamedAs::LoadPart)
        .collect();
    Ok(once_each(parts))
}

/// What `--snapshot` names: the snapshot's files, and what an earlier run kept beside them.
#[derive(Debug, Default)]
pub struct SnapshotInputs {
    pub files: Vec<InputFile>,
    /// Its `state.parquet`.
    pub state: Option<InputFile>,
    /// Its `change_log.parquet` (history).
    pub change_log: Option<InputFile>,
}

/// The file `name` an earlier run kept in `dir` beside its snapshot, if it kept one.
fn kept_in(dir: &Path, name: &str, reading: Reading) -> Result<Option<InputFile>, InputError> {
    let path = dir.join(name);
    if path.is_file() {
        read_with(&path, reading).map(Some)
    } else {
        Ok(None)
    }
}

/// The change files named by `paths`: files, or directories searched recursively (DMS writes
/// date folders). Full-load parts inside such directories are skipped. A file named twice
/// (through a link, or by overlapping paths) is read once, under the first of its names.
pub fn changes(paths: &[PathBuf], reading: Reading) -> Result<Vec<InputFile>, InputError> {
    let found =
        find(paths, |name| NamedAs::of(name) != NamedAs::LoadPart).map_err(|e| match e {
            InputError::NoDataFiles { path } => InputError::NoChanges { path },
            other => other,
        })?;
    found.iter().map(|p| read_with(p, reading)).collect()
}

/// The data files named by `paths`, whatever they hold: files as given, and the data files
/// below directories, searched recursively; each file once. What the desktop app opens.
pub fn data_files(paths: &[PathBuf], reading: Reading) -> Result<Vec<InputFile>, InputError> {
    let found = find(paths, |_| true)?;
    found.iter().map(|p| read_with(p, reading)).collect()
}

/// The files named by `paths`, and the data files below directories that `wanted` keeps; a
/// directory where it keeps none is an error.
fn find(paths: &[PathBuf], wanted: impl Fn(&str) -> bool) -> Result<Vec<PathBuf>, InputError> {
    let mut found = Vec::new();
    for path in paths {
        if path.is_dir() {
            let in_folder: Vec<PathBuf> = list_data_files(path)?
                .into_iter()
                .filter(|p| wanted(&p.to_string_lossy()))
                .collect();
            if in_folder.is_empty() {
                return Err(InputError::NoDataFiles {
                    path: path.display().to_string(),
                });
            }
            found.extend(in_folder);
        } else {
            found.push(path.clone());
        }
    }
    Ok(once_each(found))
}

/// Reads one file, mapping it if it is big; its name is the path as given.
pub fn read(path: &Path) -> Result<InputFile, InputError> {
    read_with(path, Reading::MapBigFiles)
}

/// Reads one file as `reading` says; its name is the path as given.
pub fn read_with(path: &Path, reading: Reading) -> Result<InputFile, InputError> {
    let bytes = contents(path, reading).map_err(|source| InputError::Read {
        path: path.display().to_string(),
        source,
    })?;
    Ok(InputFile::new(path.display().to_string(), bytes))
}

/// Files from this size on are mapped rather than copied.
pub const MAP_BYTES: u64 = 4 << 20;

/// A big file's bytes as the system already holds them in its page cache, mapped instead of
/// copied: a copy is as big as the file, in fresh memory the kernel must zero first (at ten
/// million rows, 5 % of the run's CPU). Small files, files that cannot be mapped, and every
/// file with [`Reading::CopyAll`] are read.
#[cfg(not(target_arch = "wasm32"))]
fn contents(path: &Path, reading: Reading) -> std::io::Result<bytes::Bytes> {
    let file = fs::File::open(path)?;
    let len = file.metadata()?.len();
    if len >= MAP_BYTES && reading == Reading::MapBigFiles {
        // SAFETY: the mapping is read-only and Tidemark never writes a file it reads: outputs
        // are written into a run folder of their own and never over an earlier run's files,
        // which stay as they were while mapped (an old run folder that is pruned is unlinked,
        // and an unlinked file stays readable while mapped). What this cannot rule out is
        // another program truncating an input while it is mapped: touching a page past the new
        // end then raises SIGBUS and the process dies without a message (where a copy reads the
        // file as it is: cut short, it fails to decode, naming the file). `--no-mmap`
        // ([`Reading::CopyAll`]) copies every file instead, for inputs that other programs may
        // rewrite in place while a run reads them.
        if let Ok(map) = unsafe { memmap2::MmapOptions::new().populate().map(&file) } {
            return Ok(bytes::Bytes::from_owner(map));
        }
    }
    let mut bytes = Vec::with_capacity(len as usize);
    std::io::Read::read_to_end(&mut &file, &mut bytes)?;
    Ok(bytes.into())
}

#[cfg(target_arch = "wasm32")]
fn contents(path: &Path, _: Reading) -> std::io::Result<bytes::Bytes> {
    fs::read(path).map(Into::into)
}

/// Data files below `dir`, recursively, in name order (the core sorts them for applying).
/// Each folder is walked once, however many links lead to it; folders are walked nearest
/// first, so that a file is found under its shortest name (`cdc/2021/...`, not
/// `cdc/loop/2021/...`).
fn list_data_files(dir: &Path) -> Result<Vec<PathBuf>, InputError> {
    let mut found = Vec::new();
    let mut walked = HashSet::new();
    let mut pending = VecDeque::from([dir.to_path_buf()]);
    while let Some(dir) = pending.pop_front() {
        let unreadable = |source| InputError::Read {
            path: dir.display().to_string(),
            source,
        };
        if !walked.insert(file_id(&dir).map_err(unreadable)?) {
            continue;
        }
        let mut paths = Vec::new();
        for entry in fs::read_dir(&dir).map_err(unreadable)? {
            paths.push(entry.map_err(unreadable)?.path());
        }
        paths.sort();
        for path in paths {
            let hidden = path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'));
            if path.is_dir() && !hidden {
                pending.push_back(path);
            } else if files::is_data_file(&path.to_string_lossy()) {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// What makes two paths the same file or folder: its device and inode where the system has
/// them, else its canonical path (else the path itself, when even that is not available).
#[derive(Debug, PartialEq, Eq, Hash)]
enum FileId {
    #[cfg_attr(not(unix), allow(dead_code))]
    Inode(u64, u64),
    #[cfg_attr(unix, allow(dead_code))]
    Path(PathBuf),
}

fn file_id(path: &Path) -> std::io::Result<FileId> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = fs::metadata(path)?;
        Ok(FileId::Inode(meta.dev(), meta.ino()))
    }
    #[cfg(not(unix))]
    {
        Ok(FileId::Path(
            fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
        ))
    }
}

/// `paths` without a second name for a file already there. A path whose file cannot be
/// looked at is kept: reading it names the problem.
fn once_each(paths: Vec<PathBuf>) -> Vec<PathBuf> {
    let mut seen = HashSet::new();
    paths
        .into_iter()
        .filter(|p| file_id(p).map_or(true, |id| seen.insert(id)))
        .collect()
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
            let copied = read_with(&path, Reading::CopyAll).unwrap();
            assert!(copied.bytes == bytes.as_slice(), "{name}, copied");
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
