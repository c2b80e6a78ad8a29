//! Writing a review's tables to disk: encoded by the core, written under a temporary name
//! beside the target and renamed into place, so a failed or cancelled export never leaves a
//! half-written file where the user expects a whole one.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use tidemark_core::OutputFormat;

use crate::jobs::Progress;
use crate::review::Review;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportTarget {
    /// The new table with its feature columns.
    Enriched,
    /// The new table in the input's schema: the next run's snapshot.
    Snapshot,
    /// One row per touched key.
    Diff,
}

impl ExportTarget {
    pub const EVERY: [ExportTarget; 3] = [
        ExportTarget::Enriched,
        ExportTarget::Snapshot,
        ExportTarget::Diff,
    ];

    pub fn label(self) -> &'static str {
        match self {
            ExportTarget::Enriched => "Enriched table…",
            ExportTarget::Snapshot => "New snapshot…",
            ExportTarget::Diff => "Diff…",
        }
    }

    pub fn file_stem(self) -> &'static str {
        match self {
            ExportTarget::Enriched => "enriched",
            ExportTarget::Snapshot => "snapshot",
            ExportTarget::Diff => "diff",
        }
    }

    pub fn table(self, review: &Review) -> &RecordBatch {
        match self {
            ExportTarget::Enriched => review.table(),
            ExportTarget::Snapshot => &review.output.table,
            ExportTarget::Diff => &review.output.diff.rows,
        }
    }
}

/// The format a path asks for by its extension, else the one chosen in the menu (and then the
/// path gets that extension).
pub fn resolve_path(path: &Path, chosen: OutputFormat) -> (PathBuf, OutputFormat) {
    let extension = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    match extension.as_deref() {
        Some("csv") => (path.to_path_buf(), OutputFormat::Csv),
        Some("parquet") | Some("parq") => (path.to_path_buf(), OutputFormat::Parquet),
        _ => (path.with_extension(chosen.extension()), chosen),
    }
}

#[derive(Debug, Clone)]
pub struct Exported {
    pub path: PathBuf,
    pub rows: usize,
    pub bytes: usize,
}

pub fn export(
    review: &Review,
    target: ExportTarget,
    path: &Path,
    format: OutputFormat,
    progress: &Progress,
) -> Result<Exported, String> {
    let table = target.table(review);
    progress.report(
        0.1,
        format!("Encoding {} rows as {format:?}", table.num_rows()),
    );
    let bytes = format.encode(table).map_err(|e| e.to_string())?;
    progress.report(0.8, format!("Writing {}", path.display()));
    write_atomically(path, &bytes, || progress.is_cancelled())?;
    Ok(Exported {
        path: path.to_path_buf(),
        rows: table.num_rows(),
        bytes: bytes.len(),
    })
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over `path`, unless
/// `cancelled` says otherwise by then.
pub fn write_atomically(
    path: &Path,
    bytes: &[u8],
    cancelled: impl Fn() -> bool,
) -> Result<(), String> {
    let name = path
        .file_name()
        .ok_or_else(|| format!("{}: not a file name", path.display()))?;
    let temporary = path.with_file_name(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let written = (|| {
        let mut file = fs::File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&temporary);
        return Err(format!("cannot write {}: {e}", path.display()));
    }
    if cancelled() {
        let _ = fs::remove_file(&temporary);
        return Err("the export was cancelled; nothing was written".into());
    }
    fs::rename(&temporary, path).map_err(|e| {
        let _ = fs::remove_file(&temporary);
        format!("cannot write {}: {e}", path.display())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_extension_decides_the_format_else_the_choice_adds_one() {
        let (path, format) = resolve_path(Path::new("/x/out.CSV"), OutputFormat::Parquet);
        assert_eq!(
            (path.as_path(), format),
            (Path::new("/x/out.CSV"), OutputFormat::Csv)
        );
        let (path, format) = resolve_path(Path::new("/x/out"), OutputFormat::Parquet);
        assert_eq!(
            (path.as_path(), format),
            (Path::new("/x/out.parquet"), OutputFormat::Parquet)
        );
    }

    #[test]
    fn a_write_replaces_the_file_whole_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        fs::write(&path, "old").unwrap();
        write_atomically(&path, b"new", || false).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_cancelled_write_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        fs::write(&path, "old").unwrap();
        let err = write_atomically(&path, b"new", || true).unwrap_err();
        assert!(err.contains("cancelled"));
        assert_eq!(fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
