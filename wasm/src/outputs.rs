//! Writing a run's results so that a failure never leaves a half-written set behind.
//!
//! Every file is first written in full under a temporary name in the output directory and
//! flushed to disk; only when all of them are there are they renamed into place. A failure
//! on the way removes the temporary files and leaves the previous outputs as they were.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}: {source}")]
pub struct WriteError {
    pub path: String,
    #[source]
    pub source: io::Error,
}

fn fail(path: &Path) -> impl FnOnce(io::Error) -> WriteError + use<> {
    let path = path.display().to_string();
    move |source| WriteError { path, source }
}

/// Writes `files` (name, contents) into `dir`, all or nothing. Returns the paths written.
pub fn write_all_or_nothing(
    dir: &Path,
    files: &[(String, Vec<u8>)],
) -> Result<Vec<PathBuf>, WriteError> {
    let mut staged = Staged::new(dir)?;
    for (name, bytes) in files {
        staged.add(name, bytes)?;
    }
    staged.commit()
}

/// Files written under temporary names in one directory, renamed into place together by
/// [`Staged::commit`]. Dropped before that, it removes them. Errors name the file as it will
/// be called (`out/enriched.parquet`), not its temporary name.
pub struct Staged {
    dir: PathBuf,
    files: Vec<StagedFile>,
    committed: bool,
}

struct StagedFile {
    temp: PathBuf,
    target: PathBuf,
    out: Writeback,
}

impl Staged {
    pub fn new(dir: &Path) -> Result<Staged, WriteError> {
        fs::create_dir_all(dir).map_err(fail(dir))?;
        Ok(Staged {
            dir: dir.to_path_buf(),
            files: Vec::new(),
            committed: false,
        })
    }

    /// Starts the file `name`, to be written through the returned writer (which notes the
    /// first error it meets, for [`Staged::write_error`]).
    pub fn create(&mut self, name: &str) -> Result<&mut Writeback, WriteError> {
        let target = self.dir.join(name);
        let temp = self.dir.join(format!(".{name}.{}.tmp", unique_suffix()));
        let file = fs::File::create(&temp).map_err(fail(&target))?;
        self.files.push(StagedFile {
            temp,
            target,
            out: Writeback::new(file),
        });
        Ok(&mut self.files.last_mut().expect("just pushed").out)
    }

    /// Writes the file `name` with `bytes`.
    pub fn add(&mut self, name: &str, bytes: &[u8]) -> Result<(), WriteError> {
        let out = self.create(name)?;
        let result = out.write_all(bytes);
        let target = &self.files.last().expect("just created").target;
        result.map_err(fail(target))
    }

    /// The writers of the files started so far, in order.
    pub fn writers(&mut self) -> Vec<&mut Writeback> {
        self.files.iter_mut().map(|f| &mut f.out).collect()
    }

    /// The first error a file's writer met, naming the file: what a failed encoding into the
    /// writers came from, when it came from the disk.
    pub fn write_error(&mut self) -> Option<WriteError> {
        self.files.iter_mut().find_map(|f| {
            f.out
                .take_error()
                .map(|(kind, message)| fail(&f.target)(io::Error::new(kind, message)))
        })
    }

    /// Flushes every file to disk, then renames them all into place. Returns their paths.
    pub fn commit(mut self) -> Result<Vec<PathBuf>, WriteError> {
        for file in &mut self.files {
            file.out.sync_all().map_err(fail(&file.target))?;
        }
        for file in &self.files {
            fs::rename(&file.temp, &file.target).map_err(fail(&file.target))?;
        }
        self.committed = true;
        Ok(self.files.iter().map(|f| f.target.clone()).collect())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            for file in &self.files {
                let _ = fs::remove_file(&file.temp);
            }
        }
    }
}

/// A file being written, buffered, that asks the system to start putting it on disk every
/// few megabytes (Linux), so that the flush at the end finds little left to write: the disk
/// works while the rest of the file is still being encoded.
pub struct Writeback(io::BufWriter<Kicked>);

/// The file under the buffer: what it is handed goes to writeback in steps.
struct Kicked {
    file: fs::File,
    written: u64,
    /// Where the part not yet handed to writeback starts.
    pending_from: u64,
    /// The first error met, kept to name the file (encoders report it as their own).
    error: Option<(io::ErrorKind, String)>,
}

impl Writeback {
    /// Encoders write a page at a time (kilobytes); the system is called once a megabyte.
    const BUFFER: usize = 1 << 20;
    /// Hand over to writeback every this many bytes.
    const STEP: u64 = 8 << 20;

    fn new(file: fs::File) -> Self {
        Writeback(io::BufWriter::with_capacity(
            Self::BUFFER,
            Kicked {
                file,
                written: 0,
                pending_from: 0,
                error: None,
            },
        ))
    }

    fn take_error(&mut self) -> Option<(io::ErrorKind, String)> {
        self.0.get_mut().error.take()
    }

    fn sync_all(&mut self) -> io::Result<()> {
        self.0.flush()?;
        self.0.get_ref().file.sync_all()
    }
}

impl Write for Writeback {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl Kicked {
    fn start_writeback(&mut self) {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        {
            use std::os::fd::AsRawFd;
            // SAFETY: a system call on a file this struct owns and keeps open; it reads no
            // memory of ours. SYNC_FILE_RANGE_WRITE only starts writing the range out and does
            // not wait; a failure here is reported again by the `fsync` of the commit.
            unsafe {
                libc::sync_file_range(
                    self.file.as_raw_fd(),
                    self.pending_from as libc::off64_t,
                    (self.written - self.pending_from) as libc::off64_t,
                    libc::SYNC_FILE_RANGE_WRITE,
                )
            };
        }
        self.pending_from = self.written;
    }
}

impl Write for Kicked {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.file.write(buf).inspect_err(|e| {
            self.error.get_or_insert_with(|| (e.kind(), e.to_string()));
        })?;
        self.written += written as u64;
        if self.written - self.pending_from >= Writeback::STEP {
            self.start_writeback();
        }
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
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
