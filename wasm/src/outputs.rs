//! Writing a run's results so that a failure never leaves a half-written set behind.
//!
//! Every file is first written in full under a temporary name in the output directory and
//! flushed to disk; only when all of them are there are they renamed into place. A failure
//! on the way removes the temporary files and leaves the previous outputs as they were.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}: {source}")]
pub struct WriteError {
    pub path: String,
    #[source]
    pub source: std::io::Error,
}

/// Writes `files` (name, contents) into `dir`, all or nothing. Returns the paths written.
pub fn write_all_or_nothing(
    dir: &Path,
    files: &[(String, Vec<u8>)],
) -> Result<Vec<PathBuf>, WriteError> {
    let fail = |path: &Path| {
        let path = path.display().to_string();
        move |source| WriteError { path, source }
    };
    fs::create_dir_all(dir).map_err(fail(dir))?;
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    let result = (|| {
        for (name, bytes) in files {
            let target = dir.join(name);
            let temp = dir.join(format!(".{name}.{}.tmp", unique_suffix()));
            staged.push((temp.clone(), target));
            let mut file = fs::File::create(&temp).map_err(fail(&temp))?;
            file.write_all(bytes).map_err(fail(&temp))?;
            file.sync_all().map_err(fail(&temp))?;
        }
        for (temp, target) in &staged {
            fs::rename(temp, target).map_err(fail(target))?;
        }
        Ok(staged.iter().map(|(_, target)| target.clone()).collect())
    })();
    if result.is_err() {
        for (temp, _) in &staged {
            let _ = fs::remove_file(temp);
        }
    }
    result
}

/// A suffix no other write of this process or a concurrent one is likely to share.
/// (`std::process::id` is not available under WASI.)
fn unique_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{nanos:x}-{}", COUNTER.fetch_add(1, Ordering::Relaxed))
}
