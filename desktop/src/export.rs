//! Writing a review's tables to disk: encoded by the core, written under a temporary name
//! beside the target and renamed into place, so a failed or cancelled export never leaves a
//! half-written file where the user expects a whole one.

use std::fs;
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use tidemark::io::outputs::Staged;
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
        format!(
            "Writing {} rows as {format:?} to {}",
            table.num_rows(),
            path.display()
        ),
    );
    let bytes = write_atomically(path, table, format, || progress.is_cancelled())?;
    Ok(Exported {
        path: path.to_path_buf(),
        rows: table.num_rows(),
        bytes,
    })
}

/// Encodes `table` into a temporary file beside `path` as it goes (the way `tidemark apply`
/// writes its outputs: [`tidemark::io::outputs::Staged`]), then renames it over `path`,
/// unless `cancelled` says otherwise by then. Returns the file's size.
pub fn write_atomically(
    path: &Path,
    table: &RecordBatch,
    format: OutputFormat,
    cancelled: impl Fn() -> bool,
) -> Result<usize, String> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(format!("{}: not a file name", path.display()));
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let mut staged = Staged::new(dir).map_err(|e| e.to_string())?;
    let out = staged
        .create(&name.to_string_lossy())
        .map_err(|e| e.to_string())?;
    if let Err(error) = format.write(table, out) {
        return Err(match staged.write_error() {
            Some(write) => write.to_string(),
            None => error.to_string(),
        });
    }
    if cancelled() {
        // Dropped uncommitted: the temporary file goes, the old file stays.
        return Err("the export was cancelled; nothing was written".into());
    }
    staged.commit().map_err(|e| e.to_string())?;
    let written = fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(written.len() as usize)
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

    fn one_column() -> RecordBatch {
        let values: arrow_array::ArrayRef =
            std::sync::Arc::new(arrow_array::StringArray::from(vec!["new"]));
        RecordBatch::try_from_iter([("value", values)]).unwrap()
    }

    #[test]
    fn a_write_replaces_the_file_whole_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        fs::write(&path, "old").unwrap();
        let bytes = write_atomically(&path, &one_column(), OutputFormat::Csv, || false).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "value\nnew\n");
        assert_eq!(bytes, "value\nnew\n".len());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_cancelled_write_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        fs::write(&path, "old").unwrap();
        let err = write_atomically(&path, &one_column(), OutputFormat::Csv, || true).unwrap_err();
        assert!(err.contains("cancelled"));
        assert_eq!(fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
