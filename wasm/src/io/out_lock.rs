//! One `tidemark apply` at a time per output folder.
//!
//! Two runs into one folder at once would each read the folder's current run, compute, and
//! switch the folder to their result: the second switch would drop the first run's changes.
//! So a run takes the folder's lock before it reads anything, and keeps it until its outputs
//! are in place; a second run waits for it (a bounded time, `--lock-timeout`) or fails with a
//! message that names the folder and the run holding it.
//!
//! How: the lock is a file, `OUT/.tidemark/lock`, holding the holder's process id and start
//! time (for the message only).
//! - On Unix it is locked with `flock`, which the kernel releases when the process ends, however
//!   it ends: a lock left by a killed run never blocks the next one, and there is no lease to
//!   tune (a lease would have to outlast the longest run, or let a slow run be overtaken). The
//!   holder removes the file on its way out while still holding it; a waiter that then gets
//!   the lock on the removed file sees that the path no longer names the file it locked, and
//!   starts over, so that two runs never hold locks on two different files. (`std`'s
//!   `File::lock` does the same from Rust 1.89; the workspace supports 1.85.)
//! - Elsewhere (WASI, Windows) the file is created with `create_new`, which only one run can
//!   do; a file older than [`STALE_AFTER`] is taken for one a killed run left, and replaced.
//!
//! The edge function has a lock of its own for its state folder; both could become one
//! module, with this file-per-folder protocol.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// Where there is no `flock`, a lock file this old is taken for one a killed run left.
#[cfg_attr(unix, allow(dead_code))]
pub const STALE_AFTER: Duration = Duration::from_secs(60 * 60);

/// How often a waiting run looks again.
const POLL: Duration = Duration::from_millis(50);

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "{folder} is being written by another tidemark run ({holder}); gave up after waiting {waited} s (--lock-timeout). The lock is {lock}"
    )]
    Busy {
        folder: String,
        holder: String,
        waited: u64,
        lock: String,
    },
    #[error("cannot lock {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
}

/// The lock of one folder, held until dropped.
#[derive(Debug)]
pub struct OutLock {
    path: PathBuf,
    /// Kept open while the lock is held: closing it releases the `flock`.
    #[allow(dead_code)]
    file: fs::File,
}

impl OutLock {
    /// Takes the lock file `path` (its folder must exist), waiting up to `wait` for a run that
    /// holds it. `folder` is what the error message calls the locked folder.
    pub fn acquire(path: &Path, folder: &Path, wait: Duration) -> Result<OutLock, LockError> {
        let io_error = |source| LockError::Io {
            path: path.display().to_string(),
            source,
        };
        let started = Instant::now();
        loop {
            if let Some(file) = try_take(path).map_err(io_error)? {
                let mut lock = OutLock {
                    path: path.to_path_buf(),
                    file,
                };
                lock.write_holder().map_err(io_error)?;
                return Ok(lock);
            }
            if started.elapsed() >= wait {
                return Err(LockError::Busy {
                    folder: folder.display().to_string(),
                    holder: holder_of(path),
                    waited: started.elapsed().as_secs(),
                    lock: path.display().to_string(),
                });
            }
            std::thread::sleep(POLL);
        }
    }

    /// Who holds the lock, for a waiting run's message: this process, since now.
    fn write_holder(&mut self) -> io::Result<()> {
        let since = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let since = chrono::DateTime::from_timestamp(since as i64, 0)
            .map_or_else(String::new, |t| {
                t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
            });
        let holder = format!(
            "{}since {since}\n",
            process_id().map_or_else(String::new, |pid| format!("pid {pid}, "))
        );
        let mut file = fs::OpenOptions::new().write(true).open(&self.path)?;
        file.set_len(0)?;
        file.write_all(holder.as_bytes())
    }
}

impl Drop for OutLock {
    fn drop(&mut self) {
        // Removed while still held (the file closes after this): see the module comment.
        let _ = fs::remove_file(&self.path);
    }
}

/// This process's id, where the system has one for us (not under WASI).
fn process_id() -> Option<u32> {
    #[cfg(not(target_os = "wasi"))]
    return Some(std::process::id());
    #[cfg(target_os = "wasi")]
    return None;
}

/// What the lock file says about its holder.
fn holder_of(path: &Path) -> String {
    let mut text = String::new();
    let _ = fs::File::open(path).and_then(|mut f| f.read_to_string(&mut text));
    match text.trim() {
        "" => "holder unknown".to_string(),
        holder => holder.to_string(),
    }
}

/// The lock file, locked, if no other run holds it.
#[cfg(unix)]
fn try_take(path: &Path) -> io::Result<Option<fs::File>> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::MetadataExt;
    let open = || {
        fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
    };
    // A run that created the folder and failed removes it on its way out: make it again.
    let file = match open() {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))?;
            open()?
        }
        file => file?,
    };
    // SAFETY: a system call on a descriptor `file` owns and keeps open; it reads no memory.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        let error = io::Error::last_os_error();
        return match error.kind() {
            io::ErrorKind::WouldBlock => Ok(None),
            _ => Err(error),
        };
    }
    // The holder before us may have removed the file between our opening and locking it.
    let locked = file.metadata()?;
    match fs::metadata(path) {
        Ok(now) if (now.dev(), now.ino()) == (locked.dev(), locked.ino()) => Ok(Some(file)),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The lock file, created, if no other run holds it (or the one there is stale).
#[cfg(not(unix))]
fn try_take(path: &Path) -> io::Result<Option<fs::File>> {
    match fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(file) => Ok(Some(file)),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let stale = fs::metadata(path)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > STALE_AFTER);
            if stale {
                let _ = fs::remove_file(path);
            }
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_a_folder_waits_then_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let first = OutLock::acquire(&path, dir.path(), Duration::ZERO).unwrap();
        let err = OutLock::acquire(&path, dir.path(), Duration::from_millis(200)).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("another tidemark run")
                && message.contains(&format!("pid {}", std::process::id())),
            "{message}"
        );
        drop(first);
        assert!(!path.exists(), "released locks leave no file");
        let again = OutLock::acquire(&path, dir.path(), Duration::ZERO).unwrap();
        drop(again);
    }
}
