//! A lock file with a lease, so that processes sharing a folder (native or WASI, on one
//! machine or on a shared filesystem with agreeing clocks) take turns.
//!
//! - Taking it is an exclusive create (`create_new`) of the lock file, which then holds the
//!   holder's id and the time its lease ends (`{"holder":"...","expires_at_ms":...}`).
//! - A process that finds it held waits and tries again, with growing pauses, for a bounded
//!   time, then gives up with an error naming the holder.
//! - A lock whose lease has ended (its holder was killed, or is too slow) is broken, by one
//!   process at a time: the breaker takes `LOCK.break` (an exclusive create too), reads the
//!   lock again, removes it only if it is still the stale lock it judged, and removes
//!   `LOCK.break`; then it competes for a fresh lock like anyone else. Between that second
//!   read and the removal the lock cannot change: no other breaker is at work, nobody creates
//!   a lock while one exists, and a holder past its lease never removes it. A `LOCK.break`
//!   left by a breaker killed on the way is removed once it is older than
//!   [`BREAK_GUARD_STALE`].
//! - The holder checks, with [`Lock::check`], that the lock is still its own and its lease not
//!   over before any change that others must not interleave with (the edge function: before
//!   each switch of the manifest); so a holder that outlived its lease stops instead of
//!   overwriting the work of the process that broke its lock.
//! - Dropping the [`Lock`] releases it (when it is still the holder's).
//!
//! The lease must be longer than the longest hold: set it with [`LockOptions`].

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// How long a lock is held at most, and how long to wait for one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockOptions {
    /// After this, the lock may be broken by others.
    pub lease: Duration,
    /// Give up after waiting this long for a held lock.
    pub max_wait: Duration,
}

/// After this, a `LOCK.break` file is taken to be left by a breaker that was killed.
pub const BREAK_GUARD_STALE: Duration = Duration::from_secs(10);

/// The environment variables that set [`LockOptions`], in seconds (decimals allowed).
pub const LEASE_ENV: &str = "TIDEMARK_LOCK_LEASE_SECS";
pub const WAIT_ENV: &str = "TIDEMARK_LOCK_WAIT_SECS";

impl Default for LockOptions {
    /// A ten-minute lease; waiting a little longer than a lease, so that a waiter outlasts a
    /// killed holder.
    fn default() -> Self {
        LockOptions {
            lease: Duration::from_secs(600),
            max_wait: Duration::from_secs(660),
        }
    }
}

impl LockOptions {
    /// The defaults, changed by `TIDEMARK_LOCK_LEASE_SECS` and `TIDEMARK_LOCK_WAIT_SECS`.
    pub fn from_env() -> Result<LockOptions, LockError> {
        let mut options = LockOptions::default();
        for (name, field) in [
            (LEASE_ENV, &mut options.lease),
            (WAIT_ENV, &mut options.max_wait),
        ] {
            if let Ok(text) = std::env::var(name) {
                *field = text
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .and_then(|s| Duration::try_from_secs_f64(s).ok())
                    .ok_or_else(|| LockError::Setting {
                        name,
                        value: text.clone(),
                    })?;
            }
        }
        Ok(options)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "{path} is held by {holder} (lease until {}); gave up after waiting {waited:.1} s (set {WAIT_ENV} to wait longer)",
        time(*expires_at_ms)
    )]
    Busy {
        path: String,
        holder: String,
        expires_at_ms: u64,
        waited: f64,
    },
    #[error("the lock {path} is no longer ours: {reason}; nothing more is written")]
    Lost { path: String, reason: String },
    #[error("the lock {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{name}={value:?} is not a number of seconds")]
    Setting { name: &'static str, value: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Lease {
    holder: String,
    expires_at_ms: u64,
}

/// A held lock; released when dropped.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
    lease: Lease,
    /// The stale lock this one replaced, if any: who held it.
    broke: Option<String>,
}

/// A time in milliseconds since the epoch, as UTC (RFC 3339).
fn time(ms: u64) -> String {
    i64::try_from(ms)
        .ok()
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map_or_else(
            || format!("{ms} ms after the epoch"),
            |t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        )
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A random number from the system (std seeds its hash maps from it, under WASI too).
fn random() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish()
}

/// An id no other holder shares: the process id natively, and random bits.
fn holder_id() -> String {
    #[cfg(not(target_os = "wasi"))]
    let pid = format!("pid {} ", std::process::id());
    #[cfg(target_os = "wasi")]
    let pid = String::from("wasi ");
    format!("{pid}{:016x}", random())
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> LockError + use<> {
    let path = path.display().to_string();
    move |source| LockError::Io { path, source }
}

/// What a lock file says: its bytes and their lease (None when unreadable, or being written).
fn read_lease(path: &Path) -> std::io::Result<Option<(Vec<u8>, Option<Lease>)>> {
    match fs::read(path) {
        Ok(bytes) => {
            let lease = serde_json::from_slice(&bytes).ok();
            Ok(Some((bytes, lease)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

impl Lock {
    /// Takes the lock file `path` (its folder must exist), waiting for it if need be.
    pub fn acquire(path: &Path, options: &LockOptions) -> Result<Lock, LockError> {
        let started = Instant::now();
        let holder = holder_id();
        let mut pause = Duration::from_millis(5);
        let mut broke = None;
        loop {
            let lease = Lease {
                holder: holder.clone(),
                expires_at_ms: now_ms().saturating_add(options.lease.as_millis() as u64),
            };
            match fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
            {
                Ok(mut file) => {
                    let json = serde_json::to_vec(&lease).expect("leases serialise");
                    let written = file.write_all(&json).and_then(|()| file.sync_all());
                    if let Err(e) = written {
                        let _ = fs::remove_file(path);
                        return Err(io_error(path)(e));
                    }
                    return Ok(Lock {
                        path: path.to_path_buf(),
                        lease,
                        broke,
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io_error(path)(e)),
            }
            let Some((bytes, seen)) = read_lease(path).map_err(io_error(path))? else {
                continue; // released meanwhile
            };
            // A lock being written (or garbled) is judged by its age.
            let expires_at_ms = match &seen {
                Some(lease) => lease.expires_at_ms,
                None => fs::symlink_metadata(path)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map_or(u64::MAX, |d| {
                        (d.as_millis() as u64).saturating_add(options.lease.as_millis() as u64)
                    }),
            };
            let seen_holder = seen
                .as_ref()
                .map_or_else(|| "an unreadable lock".to_string(), |l| l.holder.clone());
            // When another process is breaking it, wait for it like for a held lock.
            if expires_at_ms <= now_ms() && Self::break_stale(path, &bytes)? {
                broke = Some(seen_holder);
                continue;
            }
            let waited = started.elapsed();
            if waited >= options.max_wait {
                return Err(LockError::Busy {
                    path: path.display().to_string(),
                    holder: seen_holder,
                    expires_at_ms,
                    waited: waited.as_secs_f64(),
                });
            }
            // Pauses grow to 200 ms, with jitter so that waiters do not move in step.
            let jitter = Duration::from_micros(random() % (pause.as_micros() as u64 + 1));
            std::thread::sleep((pause + jitter).min(options.max_wait.saturating_sub(waited)));
            pause = (pause * 2).min(Duration::from_millis(200));
        }
    }

    /// Removes the stale lock whose contents were `stale`, if it is still there and no other
    /// process is breaking it; true if this call removed it.
    fn break_stale(path: &Path, stale: &[u8]) -> Result<bool, LockError> {
        let guard = path.with_file_name(format!(
            "{}.break",
            path.file_name()
                .map_or("lock".into(), |n| n.to_string_lossy())
        ));
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&guard)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                // Another breaker is at work, or was killed at it long ago.
                let abandoned = fs::symlink_metadata(&guard)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age > BREAK_GUARD_STALE);
                if abandoned {
                    let _ = fs::remove_file(&guard);
                }
                return Ok(false);
            }
            Err(e) => return Err(io_error(&guard)(e)),
        }
        let still_stale = match fs::read(path) {
            Ok(bytes) => bytes == stale,
            Err(_) => false,
        };
        let removed = still_stale && fs::remove_file(path).is_ok();
        let _ = fs::remove_file(&guard);
        Ok(removed)
    }

    /// Who held the stale lock this one replaced, if it replaced one.
    pub fn broke(&self) -> Option<&str> {
        self.broke.as_deref()
    }

    pub fn holder(&self) -> &str {
        &self.lease.holder
    }

    /// Whether the lock is still this holder's and its lease not over.
    pub fn check(&self) -> Result<(), LockError> {
        let lost = |reason: String| LockError::Lost {
            path: self.path.display().to_string(),
            reason,
        };
        match read_lease(&self.path).map_err(io_error(&self.path))? {
            Some((_, Some(lease))) if lease == self.lease => {
                if self.lease.expires_at_ms > now_ms() {
                    Ok(())
                } else {
                    Err(lost("its lease is over".into()))
                }
            }
            Some((_, Some(other))) => Err(lost(format!("{} holds it now", other.holder))),
            Some((_, None)) => Err(lost("another process is taking it".into())),
            None => Err(lost("it was removed".into())),
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Released only while it is ours: an expired lease may already have been broken.
        if self.check().is_ok() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(lease_ms: u64, wait_ms: u64) -> LockOptions {
        LockOptions {
            lease: Duration::from_millis(lease_ms),
            max_wait: Duration::from_millis(wait_ms),
        }
    }

    #[test]
    fn a_held_lock_makes_others_wait_and_give_up_naming_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let held = Lock::acquire(&path, &options(60_000, 0)).unwrap();
        let err = Lock::acquire(&path, &options(60_000, 50)).unwrap_err();
        assert!(
            matches!(&err, LockError::Busy { holder, .. } if holder == held.holder()),
            "{err}"
        );
        drop(held);
        assert!(!path.exists(), "released on drop");
        Lock::acquire(&path, &options(60_000, 0)).unwrap();
    }

    #[test]
    fn a_lock_past_its_lease_is_broken_and_its_holder_learns_it_lost_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let stale = Lock::acquire(&path, &options(1, 0)).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        let fresh = Lock::acquire(&path, &options(60_000, 1_000)).unwrap();
        assert_eq!(fresh.broke(), Some(stale.holder()));
        assert!(matches!(stale.check(), Err(LockError::Lost { .. })));
        drop(stale);
        assert!(
            path.exists(),
            "the stale holder does not remove the new lock"
        );
        fresh.check().unwrap();
        let leftovers: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "only the lock itself");
    }

    #[test]
    fn one_breaker_at_a_time_and_an_abandoned_breaker_does_not_block_forever() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let _stale = Lock::acquire(&path, &options(1, 0)).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        // A breaker at work: the others wait.
        fs::write(dir.path().join("lock.break"), "").unwrap();
        let err = Lock::acquire(&path, &options(60_000, 50)).unwrap_err();
        assert!(matches!(err, LockError::Busy { .. }), "{err}");
        // Abandoned long ago: removed, and the stale lock broken.
        let old = SystemTime::now() - BREAK_GUARD_STALE - Duration::from_secs(1);
        fs::File::options()
            .write(true)
            .open(dir.path().join("lock.break"))
            .unwrap()
            .set_modified(old)
            .unwrap();
        let lock = Lock::acquire(&path, &options(60_000, 1_000)).unwrap();
        assert!(lock.broke().is_some());
        assert!(!dir.path().join("lock.break").exists());
    }

    #[test]
    fn a_garbled_lock_is_judged_by_its_age() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        fs::write(&path, "").unwrap();
        assert!(Lock::acquire(&path, &options(60_000, 20)).is_err());
        std::thread::sleep(Duration::from_millis(20));
        let lock = Lock::acquire(&path, &options(10, 1_000)).unwrap();
        assert_eq!(lock.broke(), Some("an unreadable lock"));
    }

    #[test]
    fn threads_take_turns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let counter = dir.path().join("counter");
        fs::write(&counter, "0").unwrap();
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (path, counter) = (path.clone(), counter.clone());
                std::thread::spawn(move || {
                    for _ in 0..10 {
                        let lock = Lock::acquire(&path, &options(60_000, 60_000)).unwrap();
                        let n: u32 = fs::read_to_string(&counter).unwrap().parse().unwrap();
                        fs::write(&counter, (n + 1).to_string()).unwrap();
                        lock.check().unwrap();
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        assert_eq!(fs::read_to_string(&counter).unwrap(), "80");
    }
}
