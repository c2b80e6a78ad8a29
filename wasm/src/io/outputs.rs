//! Writing a run's results so that a failure never leaves a half-written set behind.
//!
//! [`write_all_or_nothing`] and [`Staged`] write files under temporary names and rename them
//! into place once all are written (the edge function's state uses them). That is not enough
//! for a folder that the next run reads back: a kill or an error between two renames leaves
//! a new snapshot beside an older state, and an output that a run does not write (another
//! `--format`, `--outputs` without `state`) leaves the older one behind, for the next run to
//! read as if it were current. So `tidemark apply` writes its folder as [`OutFolder`] says:
//!
//! ```text
//! OUT/
//!   .tidemark/
//!     runs/<id>/           every file of one run, written in full and synced before ...
//!     current -> runs/<id> ... this pointer is switched to it: one rename, then a sync of
//!                          `.tidemark`. What the folder holds is the run `current` names.
//!     previous -> runs/<id>  the run before, kept until the next run for readers still on it
//!     lock                 while a run is writing (see `out_lock`)
//!   snapshot.parquet -> .tidemark/current/snapshot.parquet
//!   enriched.parquet -> .tidemark/current/enriched.parquet   (one link per output of the run)
//!   ...
//! ```
//!
//! - `--snapshot OUT` reads exactly the run `current` names ([`current_run`]); a folder
//!   written before runs had folders of their own (plain `snapshot.parquet` and `state.parquet`
//!   at the top) is read as before, and taken over by the next run written into it.
//! - The names at the top stay what users and tools open. They are symbolic links through
//!   `current`, so the one rename of the pointer switches all of them at once: a reader never
//!   gets this run's snapshot with the last run's state. After the switch, links are added for
//!   the run's outputs and names the run did not write are removed (an output the run lacks
//!   would otherwise dangle, or, in an older folder, be a stale file). A kill before that only
//!   leaves a name missing or dangling until the next run; never another run's data. Where
//!   there are no symbolic links (WASI, Windows), `current` is a file holding the run's id and
//!   the names at the top are hard links (or copies) replaced one by one after the switch: the
//!   next run still reads only what `current` names, but a reader of the top names may see a
//!   mix while they are replaced.
//! - A run first takes the folder's lock (one run at a time), then removes what a killed run
//!   left: run folders that are neither `current` nor `previous`, and temporary files. After
//!   its switch it keeps the new run and the one before it.
//! - Errors name files as users know them (`out/enriched.parquet`), not their run folder.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use tidemark_core::OutputFormat;
use tidemark_core::files::OutputFile;

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
    /// Where errors say the files go: `dir`, or for a run, the output folder.
    shown: PathBuf,
    files: Vec<StagedFile>,
    committed: bool,
    /// A run's own folder, removed with its files if the run does not complete.
    owns_dir: bool,
}

struct StagedFile {
    temp: PathBuf,
    target: PathBuf,
    /// What errors call it.
    shown: PathBuf,
    out: Writeback,
}

impl Staged {
    pub fn new(dir: &Path) -> Result<Staged, WriteError> {
        fs::create_dir_all(dir).map_err(fail(dir))?;
        Ok(Staged {
            dir: dir.to_path_buf(),
            shown: dir.to_path_buf(),
            files: Vec::new(),
            committed: false,
            owns_dir: false,
        })
    }

    /// A new folder `dir` for the files of one run, which errors call `shown/NAME`.
    fn new_run(dir: &Path, shown: &Path) -> Result<Staged, WriteError> {
        let parent = dir.parent().expect("a run folder has a parent");
        fs::create_dir_all(parent).map_err(fail(shown))?;
        fs::create_dir(dir).map_err(fail(shown))?;
        Ok(Staged {
            dir: dir.to_path_buf(),
            shown: shown.to_path_buf(),
            files: Vec::new(),
            committed: false,
            owns_dir: true,
        })
    }

    /// Starts the file `name`, to be written through the returned writer (which notes the
    /// first error it meets, for [`Staged::write_error`]).
    pub fn create(&mut self, name: &str) -> Result<&mut Writeback, WriteError> {
        let target = self.dir.join(name);
        let temp = self.dir.join(format!(".{name}.{}.tmp", unique_suffix()));
        let shown = self.shown.join(name);
        let file = fs::File::create(&temp).map_err(fail(&shown))?;
        self.files.push(StagedFile {
            temp,
            target,
            shown,
            out: Writeback::new(file),
        });
        Ok(&mut self.files.last_mut().expect("just pushed").out)
    }

    /// Writes the file `name` with `bytes`.
    pub fn add(&mut self, name: &str, bytes: &[u8]) -> Result<(), WriteError> {
        let out = self.create(name)?;
        let result = out.write_all(bytes);
        let shown = &self.files.last().expect("just created").shown;
        result.map_err(fail(shown))
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
                .map(|(kind, message)| fail(&f.shown)(io::Error::new(kind, message)))
        })
    }

    /// Flushes every file to disk, then renames them all into place. Returns their paths.
    pub fn commit(mut self) -> Result<Vec<PathBuf>, WriteError> {
        self.write_out()?;
        self.committed = true;
        Ok(self.files.iter().map(|f| f.target.clone()).collect())
    }

    fn write_out(&mut self) -> Result<(), WriteError> {
        for file in &mut self.files {
            file.out.sync_all().map_err(fail(&file.shown))?;
        }
        for file in &self.files {
            fs::rename(&file.temp, &file.target).map_err(fail(&file.shown))?;
        }
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            for file in &self.files {
                let _ = fs::remove_file(&file.temp);
                if self.owns_dir {
                    let _ = fs::remove_file(&file.target);
                }
            }
            if self.owns_dir {
                let _ = fs::remove_dir(&self.dir);
            }
        }
    }
}

/// A file being written, buffered, that asks the system to start putting it on disk every
/// few megabytes (Linux), so that the flush at the end finds little left to write: the disk
/// works while the rest of the file is still being encoded.
pub struct Writeback(io::BufWriter<SteppedWriteback>);

/// The file under the buffer: what it is handed goes to writeback in steps.
struct SteppedWriteback {
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
            SteppedWriteback {
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

impl SteppedWriteback {
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

impl Write for SteppedWriteback {
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

/// The folder `tidemark apply` keeps its runs in, inside the output folder.
pub const RUNS_HOME: &str = ".tidemark";
/// Inside [`RUNS_HOME`]: one folder per run.
const RUNS: &str = "runs";
/// Inside [`RUNS_HOME`]: the pointer to the folder's run.
const CURRENT: &str = "current";
/// Inside [`RUNS_HOME`]: the run before it, kept for readers still reading it.
const PREVIOUS: &str = "previous";
/// Inside [`RUNS_HOME`]: the lock a writing run holds.
const LOCK: &str = "lock";

/// Every name a run can give an output at the top of the folder: what a run that does not
/// write one of them removes, so that no older run's file stays under it.
fn output_names() -> Vec<String> {
    let mut names: Vec<String> = OutputFile::ALL
        .iter()
        .flat_map(|o| [OutputFormat::Parquet, OutputFormat::Csv].map(|f| o.file_name(f)))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The run folder the output folder `out` holds, as its pointer names it; `None` for a folder
/// no run of this layout has been switched into (empty, or written by an earlier version).
pub fn current_run(out: &Path) -> io::Result<Option<PathBuf>> {
    let home = out.join(RUNS_HOME);
    let Some(id) = pointed_run(&home, CURRENT)? else {
        return Ok(None);
    };
    let run = home.join(RUNS).join(&id);
    if !run.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "{} names the run {id}, which is missing",
                home.join(CURRENT).display()
            ),
        ));
    }
    Ok(Some(run))
}

/// The id of the run the pointer `home/name` names: a symbolic link to `runs/<id>`, or a
/// file holding `<id>` where there are no links.
fn pointed_run(home: &Path, name: &str) -> io::Result<Option<String>> {
    let pointer = home.join(name);
    let id = match fs::read_link(&pointer) {
        Ok(target) => target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        // Not a link: a file holding the id.
        Err(_) => fs::read_to_string(&pointer)?.trim().to_string(),
    };
    let plain = !id.is_empty() && !id.starts_with('.') && !id.contains(['/', '\\']);
    if !plain {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} does not name a run", pointer.display()),
        ));
    }
    Ok(Some(id))
}

/// An output folder taken for one run: locked, and cleared of what killed runs left. Dropped
/// without [`OutFolder::switch_to`], it leaves the folder as it was (and removes it, if the
/// run created it).
pub struct OutFolder {
    root: PathBuf,
    home: PathBuf,
    lock: Option<crate::io::out_lock::OutLock>,
    /// The folders this run created, to remove if it fails (innermost last).
    created: Vec<PathBuf>,
    switched: bool,
}

/// Why an output folder cannot be taken.
#[derive(Debug, thiserror::Error)]
pub enum OutFolderError {
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error(transparent)]
    Lock(#[from] crate::io::out_lock::LockError),
}

impl OutFolder {
    /// Takes `root` for a run: creates it if needed, waits up to `wait` for a run writing
    /// into it, then removes what a killed run left.
    pub fn open(root: &Path, wait: std::time::Duration) -> Result<OutFolder, OutFolderError> {
        let home = root.join(RUNS_HOME);
        let mut created = Vec::new();
        for dir in [root.to_path_buf(), home.clone(), home.join(RUNS)] {
            match fs::create_dir(&dir) {
                Ok(()) => created.push(dir),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => {}
                Err(_) if dir == root => {
                    fs::create_dir_all(root).map_err(fail(root))?;
                    created.push(dir);
                }
                Err(e) => return Err(fail(&dir)(e).into()),
            }
        }
        let mut folder = OutFolder {
            root: root.to_path_buf(),
            home: home.clone(),
            lock: None,
            created,
            switched: false,
        };
        folder.lock = Some(crate::io::out_lock::OutLock::acquire(
            &home.join(LOCK),
            root,
            wait,
        )?);
        failpoint("apply-locked");
        folder.prune(None);
        Ok(folder)
    }

    /// The output folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Starts a new run: its files are written into a folder of their own.
    pub fn start_run(&self) -> Result<Staged, WriteError> {
        let dir = self.home.join(RUNS).join(unique_suffix());
        Staged::new_run(&dir, &self.root)
    }

    /// Makes `run` the folder's run: its files synced and in place, then the pointer switched
    /// in one rename; then the names at the top of the folder follow, and runs older than the
    /// one before are removed. What goes wrong after the switch does not undo it: it comes
    /// back as warnings (the run is complete; a name at the top could not be updated).
    pub fn switch_to(mut self, mut run: Staged) -> Result<Vec<String>, WriteError> {
        run.write_out()?;
        let shown = |p: &Path| fail(&self.root.join(RUNS_HOME).join(p));
        sync_dir(&run.dir).map_err(shown(Path::new(RUNS)))?;
        sync_dir(&self.home.join(RUNS)).map_err(shown(Path::new(RUNS)))?;
        let id = run
            .dir
            .file_name()
            .expect("a run folder has a name")
            .to_string_lossy()
            .into_owned();
        let names: Vec<String> = run
            .files
            .iter()
            .map(|f| {
                f.target
                    .file_name()
                    .expect("named")
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        failpoint("apply-run-written");
        let before = pointed_run(&self.home, CURRENT).ok().flatten();
        point(&self.home, CURRENT, &id).map_err(shown(Path::new(CURRENT)))?;
        // From here on the run is the folder's: nothing may remove it.
        run.committed = true;
        self.switched = true;
        let mut warnings = Vec::new();
        if let Err(e) = sync_dir(&self.home) {
            warnings.push(format!(
                "the folder is switched to this run, but {} could not be synced to disk ({e}): a power cut may bring the previous run back",
                self.home.display()
            ));
        }
        failpoint("apply-switched");
        warnings.extend(self.update_top_names(&id, &names));
        if let Some(before) = before.filter(|b| *b != id) {
            let previous = point(&self.home, PREVIOUS, &before).and_then(|()| sync_dir(&self.home));
            if let Err(e) = previous {
                warnings.push(format!(
                    "cannot keep the previous run in {}: {e}",
                    self.home.join(PREVIOUS).display()
                ));
            }
        }
        self.prune(Some(&id));
        Ok(warnings)
    }

    /// Names at the top of the folder for each of the run's outputs (links through
    /// `current`), and none for outputs it did not write. Failures are returned as warnings.
    fn update_top_names(&self, id: &str, names: &[String]) -> Vec<String> {
        let mut warnings = Vec::new();
        for (index, name) in names.iter().enumerate() {
            let top = self.root.join(name);
            if let Err(e) = self.top_name(id, name) {
                warnings.push(format!(
                    "cannot make {} show this run's file ({e}); it is {} (the next --snapshot {} reads this run all the same)",
                    top.display(),
                    self.home.join(RUNS).join(id).join(name).display(),
                    self.root.display()
                ));
            }
            if index == 0 {
                failpoint("apply-top-level-partly");
            }
        }
        for name in output_names() {
            if names.contains(&name) {
                continue;
            }
            let top = self.root.join(&name);
            let Ok(meta) = fs::symlink_metadata(&top) else {
                continue;
            };
            if meta.is_dir() {
                continue;
            }
            if let Err(e) = fs::remove_file(&top) {
                warnings.push(format!(
                    "cannot remove {}, which this run did not write: {e}",
                    top.display()
                ));
            }
        }
        if let Err(e) = sync_dir(&self.root) {
            warnings.push(format!("cannot sync {}: {e}", self.root.display()));
        }
        warnings
    }

    /// The name `name` at the top of the folder, made to show the current run's file.
    fn top_name(&self, id: &str, name: &str) -> io::Result<()> {
        let top = self.root.join(name);
        let temp = self.root.join(format!(".{name}.{}.tmp", unique_suffix()));
        #[cfg(unix)]
        {
            let _ = id;
            let target = Path::new(RUNS_HOME).join(CURRENT).join(name);
            if fs::read_link(&top).is_ok_and(|t| t == target) {
                return Ok(());
            }
            std::os::unix::fs::symlink(&target, &temp)?;
        }
        #[cfg(not(unix))]
        {
            let file = self.home.join(RUNS).join(id).join(name);
            if fs::hard_link(&file, &temp).is_err() {
                fs::copy(&file, &temp)?;
            }
        }
        fs::rename(&temp, &top).inspect_err(|_| {
            let _ = fs::remove_file(&temp);
        })
    }

    /// Removes the run folders that neither `current` nor `previous` names (nor `also`, the
    /// run just switched to), and temporary files, that killed runs left. Only a convenience:
    /// what cannot be removed now is removed by a later run; and when a pointer cannot be
    /// read, no run folder is removed.
    fn prune(&self, also: Option<&str>) {
        let pointed = [CURRENT, PREVIOUS].map(|name| pointed_run(&self.home, name));
        if pointed.iter().all(Result::is_ok) {
            let keep: Vec<String> = pointed
                .into_iter()
                .filter_map(|p| p.ok().flatten())
                .chain(also.map(str::to_string))
                .collect();
            let runs = self.home.join(RUNS);
            for entry in fs::read_dir(&runs).into_iter().flatten().flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if !keep.contains(&name) {
                    let _ = fs::remove_dir_all(entry.path());
                }
            }
        }
        let temporary = |name: &str, prefixes: &[String]| {
            name.ends_with(".tmp") && prefixes.iter().any(|p| name.starts_with(&format!(".{p}.")))
        };
        let pointers = [CURRENT.to_string(), PREVIOUS.to_string()];
        for entry in fs::read_dir(&self.home).into_iter().flatten().flatten() {
            if temporary(&entry.file_name().to_string_lossy(), &pointers) {
                let _ = fs::remove_file(entry.path());
            }
        }
        // Top names being replaced, and the outputs of versions that wrote them here.
        let outputs = output_names();
        for entry in fs::read_dir(&self.root).into_iter().flatten().flatten() {
            if temporary(&entry.file_name().to_string_lossy(), &outputs) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

impl Drop for OutFolder {
    fn drop(&mut self) {
        // The lock goes first (its file is in `.tidemark`), then what this run created, if
        // it never switched: a failed run leaves the folder as it was.
        self.lock.take();
        if !self.switched {
            for dir in self.created.iter().rev() {
                let _ = fs::remove_dir(dir);
            }
        }
    }
}

/// Points `home/name` at `runs/<id>`: a link (or a file holding the id) written under a
/// temporary name and renamed over the old pointer. (The caller syncs `home`: once the rename
/// is done, the pointer has switched, whether or not the sync succeeds.)
fn point(home: &Path, name: &str, id: &str) -> io::Result<()> {
    let temp = home.join(format!(".{name}.{}.tmp", unique_suffix()));
    #[cfg(unix)]
    std::os::unix::fs::symlink(Path::new(RUNS).join(id), &temp)?;
    #[cfg(not(unix))]
    {
        let mut file = fs::File::create(&temp)?;
        file.write_all(id.as_bytes())?;
        file.sync_all()?;
    }
    fs::rename(&temp, home.join(name)).inspect_err(|_| {
        let _ = fs::remove_file(&temp);
    })
}

/// Makes the names in `dir` durable (a rename is only on disk once its folder is synced).
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    return fs::File::open(dir)?.sync_all();
    #[cfg(not(unix))]
    {
        // Windows cannot open a folder as a file, nor WASI sync one: renames there are as
        // durable as the system makes them.
        let _ = dir;
        Ok(())
    }
}

/// Fault injection for the crash tests, as in the edge function: `TIDEMARK_FAILPOINT=NAME`
/// aborts the process at the point of that name, as a kill would; `NAME:pause-ms=N` pauses it
/// there for N milliseconds (to hold the folder's lock while another run tries it, or to
/// truncate an input the run has read but not yet decoded).
pub(crate) fn failpoint(name: &str) {
    let Ok(value) = std::env::var("TIDEMARK_FAILPOINT") else {
        return;
    };
    let (point, action) = value.split_once(':').unwrap_or((&value, ""));
    if point != name {
        return;
    }
    match action.strip_prefix("pause-ms=").map(str::parse::<u64>) {
        Some(Ok(millis)) => {
            eprintln!("failpoint {name}: pausing {millis} ms");
            std::thread::sleep(std::time::Duration::from_millis(millis));
        }
        _ => {
            eprintln!("failpoint {name}: aborting");
            std::process::abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_without_a_pointer_has_no_current_run() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(current_run(dir.path()).unwrap(), None);
        fs::write(dir.path().join("snapshot.parquet"), b"an older layout").unwrap();
        assert_eq!(current_run(dir.path()).unwrap(), None);
    }

    #[test]
    fn the_pointer_names_a_run_folder_and_nothing_outside_it() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join(RUNS_HOME);
        fs::create_dir_all(home.join(RUNS).join("r1")).unwrap();
        point(&home, CURRENT, "r1").unwrap();
        assert_eq!(
            current_run(dir.path()).unwrap(),
            Some(home.join(RUNS).join("r1"))
        );
        // A pointer to a run that is gone, or a file naming a path, is an error, not a guess.
        point(&home, CURRENT, "r2").unwrap();
        assert!(current_run(dir.path()).is_err());
        fs::remove_file(home.join(CURRENT)).unwrap();
        fs::write(home.join(CURRENT), "../../elsewhere").unwrap();
        assert!(current_run(dir.path()).is_err());
    }

    #[test]
    fn a_failed_run_into_a_new_folder_leaves_no_folder() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let folder = OutFolder::open(&out, std::time::Duration::ZERO).unwrap();
        let mut run = folder.start_run().unwrap();
        run.add("report.json", b"{}").unwrap();
        drop(run);
        drop(folder);
        assert!(!out.exists());
    }
}
