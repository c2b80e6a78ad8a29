//! The edge function: S3 says a DMS file landed; bring the table up to date and write the
//! enriched output, like the original Lambda + Glue pair, without their mistakes.
//!
//! Buckets are folders below a root (`s3://bucket/key` is `ROOT/bucket/key`). The table's
//! state lives next to the output, under `_tidemark/`:
//!
//! - `manifest.json`: which LOAD parts and change files make up the current version, which
//!   files are waiting (received, not yet applied), which failed and why;
//! - `vNNNNNN/`: one folder per version: `snapshot.parquet`, `state.parquet` (with a sequence
//!   column), `diff.parquet` and `report.json`.
//!
//! Delivery is at least once and in any order. A repeated event is a no-op. A change file
//! that arrives before its LOAD waits for it. One that arrives after a newer one is applied
//! by sequence when the files carry one, else the table is rebuilt from the LOAD with every
//! file in DMS-name order. New versions are written first and the manifest is switched last,
//! so a crash at any point leaves the previous version readable; the received file is
//! recorded as waiting before any work starts, so the next event completes the work.
//!
//! Bucket names and keys are data: they are validated and mapped to paths by
//! [`crate::edge::bucket_path`], which refuses anything that would leave the bucket root or go
//! through a symbolic link; a key outside the source prefix is never opened. One process at a
//! time works on an output: `_tidemark/lock` ([`crate::edge::lock`]) is taken before the manifest is
//! read and held until it is switched, so a process that waited works on the newest version.
//! An event that cannot be used (a refused key, a missing object, a folder) is answered
//! `failed`, recorded in the manifest with its reason, and does not stop later events; a
//! removal of that key, or a new upload (new ETag), clears it.

pub mod bucket_path;
mod config;
#[cfg(all(not(target_arch = "wasm32"), feature = "delta"))]
pub mod delta;
pub mod lock;
pub mod s3_event;

pub use config::{Config, ConfigFile, Flags};

use std::path::PathBuf;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tidemark_core::files::{CHANGE_LOG_FILE, OutputFile, REPORT_FILE, STATE_FILE};
use tidemark_core::pipeline::{self, Inputs, Options, Output};
use tidemark_core::{DmsName, InputFile, OutputFormat, encode};

use crate::io::inputs;
use crate::io::outputs::write_all_or_nothing;
use bucket_path::{BucketName, BucketRoot, KeyPrefix, ObjectKey, PathError};
use lock::{Lock, LockError, LockOptions};
use s3_event::ObjectEvent;

const STATE_DIR: &str = "_tidemark";
const MANIFEST: &str = "manifest.json";
const LOCK_FILE: &str = "lock";
/// How many versions to keep (the current one and the one before).
const KEEP_VERSIONS: u64 = 2;

/// A place in S3: a valid bucket name and a key prefix (a folder).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: BucketName,
    pub prefix: KeyPrefix,
}

impl S3Location {
    /// Reads `s3://bucket/prefix/`; refuses a bucket name S3 would refuse and a prefix that
    /// is not a plain folder (`..`, `//`, ...).
    pub fn parse(text: &str) -> Result<S3Location, EdgeError> {
        let rest = text
            .strip_prefix("s3://")
            .ok_or_else(|| EdgeError::Config(format!("{text:?} is not an s3:// location")))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let invalid = |e: PathError| EdgeError::Config(format!("{text:?}: {e}"));
        Ok(S3Location {
            bucket: BucketName::parse(bucket).map_err(invalid)?,
            prefix: KeyPrefix::parse(prefix).map_err(invalid)?,
        })
    }

    fn contains(&self, object: &ObjectPath) -> bool {
        self.bucket == object.bucket && object.key.is_below(&self.prefix)
    }

    /// The folder, below the root, refusing links on the way.
    fn folder(&self, root: &BucketRoot) -> Result<PathBuf, EdgeError> {
        Ok(root.confine(&self.bucket, self.prefix.components())?)
    }
}

/// An object's validated bucket and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectPath {
    pub bucket: BucketName,
    pub key: ObjectKey,
}

impl ObjectPath {
    pub fn parse(bucket: &str, key: &str) -> Result<ObjectPath, PathError> {
        Ok(ObjectPath {
            bucket: BucketName::parse(bucket)?,
            key: ObjectKey::parse(key)?,
        })
    }
}

/// Everything that can stop the handling of a record.
#[derive(Debug, thiserror::Error)]
pub enum EdgeError {
    #[error("configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Input(#[from] inputs::InputError),
    #[error(transparent)]
    Core(#[from] tidemark_core::Error),
    #[error(transparent)]
    Write(#[from] crate::io::outputs::WriteError),
    #[error(transparent)]
    Path(#[from] PathError),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[cfg(all(not(target_arch = "wasm32"), feature = "delta"))]
    #[error(transparent)]
    Delta(#[from] tidemark_delta::DeltaError),
    #[error("the manifest {path} is unreadable: {reason}")]
    Manifest { path: String, reason: String },
    /// A change file that cannot be applied; the table stays as it was without it.
    #[error("rejected, the table is unchanged: {reason}")]
    Rejected { file: String, reason: String },
    /// An object that cannot be read (refused key, missing, a folder, a link).
    #[error("{file}: {reason}")]
    Unreadable { file: String, reason: String },
}

/// An object a version is made of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRef {
    pub bucket: String,
    pub key: String,
    pub etag: Option<String>,
    pub size: Option<u64>,
}

impl ObjectRef {
    fn from_event(event: &ObjectEvent) -> ObjectRef {
        ObjectRef {
            bucket: event.bucket.clone(),
            key: event.key.clone(),
            etag: event.etag.clone(),
            size: event.size,
        }
    }

    fn checked(&self) -> Result<ObjectPath, PathError> {
        ObjectPath::parse(&self.bucket, &self.key)
    }

    fn same_object(&self, other: &ObjectRef) -> bool {
        self.bucket == other.bucket && self.key == other.key
    }

    /// The name the core sees: `bucket/key`, which errors quote.
    fn name(&self) -> String {
        format!("{}/{}", self.bucket, self.key)
    }

    fn is_load(&self) -> bool {
        matches!(DmsName::of(&self.key), DmsName::Load(_))
    }

    fn apply_order(&self) -> (DmsName, &str) {
        (DmsName::of(&self.key), &self.key)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failed {
    pub object: ObjectRef,
    pub error: String,
    /// Whether a repeated event for the same object tries again (the object could not be
    /// read: it may be there now); a file the core rejected, or a refused key, stays failed
    /// until it is removed or uploaded again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retry: bool,
}

/// What the current version is made of; switched atomically, last.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// 0 until a LOAD arrived.
    pub version: u64,
    pub load: Vec<ObjectRef>,
    /// Change files in the current version, in DMS-name order.
    pub applied: Vec<ObjectRef>,
    /// Received but not yet applied: waiting for a LOAD, or interrupted.
    pub pending: Vec<ObjectRef>,
    pub failed: Vec<Failed>,
    /// Whether the changes carry a sequence (then late files apply without a rebuild).
    pub sequenced: bool,
    /// The `as_of` of the current version: a late file never moves it back.
    pub as_of: Option<chrono::NaiveDate>,
}

/// The one-line log of a record.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LogLine {
    pub record: usize,
    pub event: String,
    pub bucket: String,
    pub key: String,
    /// `applied`, `rebuilt`, `waiting_for_load`, `duplicate`, `ignored`, `failed`.
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inserted: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted: Option<usize>,
    pub millis: f64,
}

/// Brings the output up to date with one object event.
pub fn handle(
    config: &Config,
    record: usize,
    event: &ObjectEvent,
) -> (LogLine, Result<(), EdgeError>) {
    logged(record, event, |log| handle_object(config, event, log))
}

/// Runs `handle` for one record and logs it: its action and detail (`failed` with the error
/// when it fails) and how long it took. The same log line for folders and Delta tables.
fn logged(
    record: usize,
    event: &ObjectEvent,
    handle: impl FnOnce(&mut LogLine) -> Result<(), EdgeError>,
) -> (LogLine, Result<(), EdgeError>) {
    let started = Instant::now();
    let mut log = LogLine {
        record,
        event: event.name.clone(),
        bucket: event.bucket.clone(),
        key: event.key.clone(),
        ..Default::default()
    };
    let result = handle(&mut log);
    if let Err(e) = &result {
        log.action = "failed".into();
        log.detail = Some(e.to_string());
    }
    log.millis = (started.elapsed().as_secs_f64() * 1e6).round() / 1e3;
    (log, result)
}

/// What an event asks of the function, before any state is read.
enum Admission {
    Removal,
    /// Nothing to do, and why.
    Ignore(&'static str),
    /// A key that must never become a path: answered `failed`, nothing is opened.
    Refused(ObjectRef, PathError),
    /// A data file below the source prefix.
    Data(ObjectRef, ObjectPath),
}

/// Sorts an event: a removal, something to ignore, a refused key, or a data file to apply.
/// The same for the function on folders and on Delta tables.
fn admit(config: &Config, event: &ObjectEvent) -> Admission {
    if event.is_removed() {
        return Admission::Removal;
    }
    if !event.is_created() {
        return Admission::Ignore("not an object creation");
    }
    if event.key.ends_with('/') {
        return Admission::Ignore("a folder marker, not a data file");
    }
    let object = ObjectRef::from_event(event);
    let checked = match &event.key_error {
        Some(reason) => Err(PathError::Key {
            key: event.key.clone(),
            reason: reason.clone(),
        }),
        None => object.checked(),
    };
    let checked = match checked {
        Ok(checked) => checked,
        Err(refused) => return Admission::Refused(object, refused),
    };
    if config
        .source
        .as_ref()
        .is_some_and(|s| !s.contains(&checked))
    {
        return Admission::Ignore("outside the source prefix");
    }
    let is_data = [".csv", ".csv.gz", ".parquet"]
        .iter()
        .any(|ext| object.key.ends_with(ext));
    if !is_data {
        return Admission::Ignore("not a data file");
    }
    Admission::Data(object, checked)
}

fn handle_object(config: &Config, event: &ObjectEvent, log: &mut LogLine) -> Result<(), EdgeError> {
    let (object, checked) = match admit(config, event) {
        Admission::Removal => return removal(config, event, log),
        Admission::Ignore(why) => {
            log.action = "ignored".into();
            log.detail = Some(why.into());
            return Ok(());
        }
        Admission::Refused(object, refused) => {
            // Never a path: recorded as failed, nothing is opened.
            let state = StateDir::new(config)?;
            let lock = state.lock()?;
            let mut manifest = state.read_manifest()?;
            return fail_object(&state, &lock, &mut manifest, &object, refused.to_string());
        }
        Admission::Data(object, checked) => (object, checked),
    };

    let state = StateDir::new(config)?;
    let lock = state.lock()?;
    if let Some(broke) = lock.broke() {
        eprintln!(
            "note: broke the stale lock of {broke} on {}",
            state.root.display()
        );
    }
    let mut manifest = state.read_manifest()?;
    let known = manifest
        .load
        .iter()
        .chain(&manifest.applied)
        .any(|o| o == &object);
    if known {
        log.action = "duplicate".into();
        log.version = Some(manifest.version);
        return Ok(());
    }
    if let Some(failed) = manifest
        .failed
        .iter()
        .find(|f| f.object == object && !f.retry)
    {
        return Err(EdgeError::Rejected {
            file: object.name(),
            reason: format!("(already rejected) {}", failed.error),
        });
    }
    // A new version of a known key replaces it.
    manifest.failed.retain(|f| !f.object.same_object(&object));
    manifest.pending.retain(|o| !o.same_object(&object));
    if let Err(e) = config.root()?.object_file(&checked.bucket, &checked.key) {
        manifest.failed.push(Failed {
            object: object.clone(),
            error: e.to_string(),
            retry: true,
        });
        state.write_manifest(&manifest, &lock)?;
        return Err(EdgeError::Unreadable {
            file: object.name(),
            reason: e.to_string(),
        });
    }
    manifest.pending.push(object.clone());
    state.write_manifest(&manifest, &lock)?;
    failpoint("after-journal");

    let outcome = settle(config, &state, &lock, &mut manifest)?;
    if let Some(rejected) = manifest.failed.iter().find(|f| f.object == object) {
        return Err(EdgeError::Rejected {
            file: object.name(),
            reason: rejected.error.clone(),
        });
    }
    match outcome {
        None => {
            log.action = "waiting_for_load".into();
            log.detail = Some(format!(
                "{} file(s) wait for a LOAD file",
                manifest.pending.len()
            ));
        }
        Some(done) => {
            log.action = if done.rebuilt { "rebuilt" } else { "applied" }.into();
            log.version = Some(manifest.version);
            log.rows = Some(done.output.table.num_rows());
            let o = done.output.report.apply.outcome;
            (log.inserted, log.updated, log.deleted) =
                (Some(o.inserted), Some(o.updated), Some(o.deleted));
        }
    }
    Ok(())
}

/// Records `object` as failed (once) and answers the record with the reason.
fn fail_object(
    state: &StateDir,
    lock: &Lock,
    manifest: &mut Manifest,
    object: &ObjectRef,
    reason: String,
) -> Result<(), EdgeError> {
    if !manifest.failed.iter().any(|f| &f.object == object) {
        manifest.failed.retain(|f| !f.object.same_object(object));
        manifest.failed.push(Failed {
            object: object.clone(),
            error: reason.clone(),
            retry: false,
        });
        state.write_manifest(manifest, lock)?;
    }
    Err(EdgeError::Unreadable {
        file: object.name(),
        reason,
    })
}

/// A removal changes nothing the table applied; it clears the key's failure, if any.
fn removal(config: &Config, event: &ObjectEvent, log: &mut LogLine) -> Result<(), EdgeError> {
    log.action = "ignored".into();
    log.detail = Some("removal: the table keeps what it applied".into());
    let object = ObjectRef::from_event(event);
    let state = StateDir::new(config)?;
    let failed = |m: &Manifest| m.failed.iter().any(|f| f.object.same_object(&object));
    // A first look without the lock: most removals concern no failure.
    if !failed(&state.read_manifest()?) {
        return Ok(());
    }
    let lock = state.lock()?;
    let mut manifest = state.read_manifest()?;
    if failed(&manifest) {
        manifest.failed.retain(|f| !f.object.same_object(&object));
        state.write_manifest(&manifest, &lock)?;
        log.detail =
            Some("removal: the table keeps what it applied; its failure is cleared".into());
    }
    Ok(())
}

struct Settled {
    rebuilt: bool,
    output: Output,
}

/// Applies what is waiting, if a LOAD is known; sets aside the files that cannot be applied
/// (rejected by the core, or unreadable) and goes on without them.
fn settle(
    config: &Config,
    state: &StateDir,
    lock: &Lock,
    manifest: &mut Manifest,
) -> Result<Option<Settled>, EdgeError> {
    loop {
        if manifest.pending.is_empty() {
            return Ok(None);
        }
        let pending_load = manifest.pending.iter().any(ObjectRef::is_load);
        if manifest.load.is_empty() && !pending_load {
            return Ok(None);
        }
        let pending_changes: Vec<ObjectRef> = manifest
            .pending
            .iter()
            .filter(|o| !o.is_load())
            .cloned()
            .collect();
        let newest_applied = manifest.applied.iter().map(ObjectRef::apply_order).max();
        let in_order = pending_changes
            .iter()
            .all(|o| Some(o.apply_order()) > newest_applied);
        let rebuild = pending_load || !(manifest.sequenced || in_order) || manifest.version == 0;

        let attempt = if rebuild {
            let load = match manifest
                .pending
                .iter()
                .filter(|o| o.is_load())
                .max_by(|a, b| a.apply_order().cmp(&b.apply_order()))
            {
                Some(newest_load) => load_parts(&config.root()?, newest_load),
                None => Ok(manifest.load.clone()),
            };
            load.and_then(|load| {
                let changes: Vec<ObjectRef> = manifest
                    .applied
                    .iter()
                    .chain(&pending_changes)
                    .cloned()
                    .collect();
                run(config, state, manifest, &load, None, &changes).map(|o| (load, changes, o))
            })
        } else {
            let changes: Vec<ObjectRef> = pending_changes.clone();
            run(
                config,
                state,
                manifest,
                &manifest.load,
                Some(manifest.version),
                &changes,
            )
            .map(|o| {
                (
                    manifest.load.clone(),
                    manifest
                        .applied
                        .iter()
                        .chain(&pending_changes)
                        .cloned()
                        .collect(),
                    o,
                )
            })
        };
        match attempt {
            Ok((load, mut applied, output)) => {
                applied.sort_by(|a, b| a.apply_order().cmp(&b.apply_order()));
                let version = manifest.version + 1;
                state.write_version(version, &output, config.format, lock)?;
                failpoint("before-manifest");
                manifest.version = version;
                manifest.load = load;
                manifest.applied = applied;
                manifest.pending.clear();
                manifest.sequenced = output.versions.is_some();
                manifest.as_of = output.report.features.as_ref().map(|f| f.as_of);
                state.write_manifest(manifest, lock)?;
                state.remove_old_versions(version);
                return Ok(Some(Settled {
                    rebuilt: rebuild,
                    output,
                }));
            }
            Err(EdgeError::Core(error)) => {
                // A bad file that was waiting is set aside; anything else stops the record.
                let culprit = error.location().map(|l| l.file.clone());
                let bad = manifest
                    .pending
                    .iter()
                    .position(|o| Some(o.name()) == culprit);
                let Some(index) = bad else {
                    return Err(EdgeError::Core(error));
                };
                let object = manifest.pending.remove(index);
                manifest.failed.push(Failed {
                    object,
                    error: error.to_string(),
                    retry: false,
                });
                state.write_manifest(manifest, lock)?;
            }
            Err(EdgeError::Unreadable { file, reason }) => {
                // A waiting file that is gone (or a folder, a link) is set aside; if what
                // is gone is a file of the current version, the waiting files cannot be
                // applied without it: they are set aside too, with that reason.
                let unreadable = manifest.pending.iter().position(|o| o.name() == file);
                let set_aside: Vec<(ObjectRef, String)> = match unreadable {
                    Some(index) => vec![(manifest.pending.remove(index), reason)],
                    None => manifest
                        .pending
                        .drain(..)
                        .map(|o| (o, format!("needs {file}, which is unusable: {reason}")))
                        .collect(),
                };
                for (object, error) in set_aside {
                    manifest.failed.retain(|f| !f.object.same_object(&object));
                    manifest.failed.push(Failed {
                        object,
                        error,
                        retry: true,
                    });
                }
                state.write_manifest(manifest, lock)?;
            }
            Err(other) => return Err(other),
        }
    }
}

/// Every LOAD part in the folder of `newest`, as DMS writes a full load in several parts.
fn load_parts(root: &BucketRoot, newest: &ObjectRef) -> Result<Vec<ObjectRef>, EdgeError> {
    let unreadable = |reason: String| EdgeError::Unreadable {
        file: newest.name(),
        reason,
    };
    let checked = newest.checked().map_err(|e| unreadable(e.to_string()))?;
    let folder_key = checked.key.folder();
    let folder = root
        .confine(&checked.bucket, folder_key.components())
        .map_err(|e| unreadable(e.to_string()))?;
    let entries = std::fs::read_dir(&folder)
        .map_err(|e| unreadable(format!("cannot list {}: {e}", folder.display())))?;
    let mut parts: Vec<ObjectRef> = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if matches!(DmsName::of(&name), DmsName::Load(_)) && !is_dir {
            let key = folder_key
                .join(&name)
                .map_err(|e| unreadable(e.to_string()))?;
            let key = key.as_str().to_string();
            let known = (key == newest.key).then(|| newest.clone());
            parts.push(known.unwrap_or(ObjectRef {
                bucket: newest.bucket.clone(),
                key,
                etag: None,
                size: entry.metadata().ok().map(|m| m.len()),
            }));
        }
    }
    parts.sort_by(|a, b| a.apply_order().cmp(&b.apply_order()));
    Ok(parts)
}

/// Reads `object` from its bucket's folder below `root`, refusing links and anything that
/// would leave the root.
fn read_object(root: &BucketRoot, object: &ObjectRef) -> Result<InputFile, EdgeError> {
    let unreadable = |reason: String| EdgeError::Unreadable {
        file: object.name(),
        reason,
    };
    let checked = object.checked().map_err(|e| unreadable(e.to_string()))?;
    let path = root
        .object_file(&checked.bucket, &checked.key)
        .map_err(|e| unreadable(e.to_string()))?;
    let file = inputs::read(&path).map_err(|e| unreadable(e.to_string()))?;
    Ok(InputFile {
        name: object.name(),
        bytes: file.bytes,
    })
}

/// Runs the core on a LOAD (`from_version` None) or on the current version.
fn run(
    config: &Config,
    state: &StateDir,
    manifest: &Manifest,
    load: &[ObjectRef],
    from_version: Option<u64>,
    changes: &[ObjectRef],
) -> Result<Output, EdgeError> {
    let root = config.root()?;
    let read = |o: &ObjectRef| read_object(&root, o);
    let (snapshot, versions, change_log) = match from_version {
        None => (
            load.iter().map(read).collect::<Result<Vec<_>, _>>()?,
            None,
            None,
        ),
        Some(v) => {
            // What the version kept beside its snapshot, if it kept it.
            let kept = |name: &str| -> Result<Option<InputFile>, EdgeError> {
                let path = state.version_file(v, name)?;
                if std::fs::symlink_metadata(&path).is_err() {
                    return Ok(None);
                }
                bucket_path::regular_file(&path)?;
                Ok(Some(inputs::read(&path)?))
            };
            let snapshot =
                state.version_file(v, &OutputFile::Snapshot.file_name(OutputFormat::Parquet))?;
            bucket_path::regular_file(&snapshot)?;
            (
                vec![inputs::read(&snapshot)?],
                kept(STATE_FILE)?,
                kept(CHANGE_LOG_FILE)?,
            )
        }
    };
    let changes = changes.iter().map(read).collect::<Result<Vec<_>, _>>()?;
    let options = Options {
        lookup: config.lookup.clone(),
        window_days: config.window_days,
        // A late file never moves the window back, and files without DMS names date
        // themselves by the newest change so far.
        as_of_not_before: manifest.as_of,
        ..Default::default()
    };
    let inputs = Inputs {
        snapshot,
        state: versions,
        changes,
        change_log,
        next_snapshot: Vec::new(),
    };
    Ok(pipeline::run(&config.spec, inputs, &options, &mut |_| {})?)
}

/// The `_tidemark/` folder next to the output; every path below it is checked for links.
struct StateDir {
    output: PathBuf,
    root: PathBuf,
}

impl StateDir {
    fn new(config: &Config) -> Result<StateDir, EdgeError> {
        let root = config.root()?;
        let output = config.output.folder(&root)?;
        let state = bucket_path::below(&output, [STATE_DIR])?;
        Ok(StateDir {
            root: state,
            output,
        })
    }

    /// Takes the output's lock (creating `_tidemark/` if need be), waiting for it if need be.
    fn lock(&self) -> Result<Lock, EdgeError> {
        std::fs::create_dir_all(&self.root).map_err(|source| crate::io::outputs::WriteError {
            path: self.root.display().to_string(),
            source,
        })?;
        let path = bucket_path::below(&self.root, [LOCK_FILE])?;
        Ok(Lock::acquire(&path, &LockOptions::from_env()?)?)
    }

    fn version_name(version: u64) -> String {
        format!("v{version:06}")
    }

    fn version_file(&self, version: u64, name: &str) -> Result<PathBuf, EdgeError> {
        Ok(bucket_path::below(
            &self.root,
            [Self::version_name(version).as_str(), name],
        )?)
    }

    fn read_manifest(&self) -> Result<Manifest, EdgeError> {
        let path = bucket_path::below(&self.root, [MANIFEST])?;
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| EdgeError::Manifest {
                path: path.display().to_string(),
                reason: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Manifest::default()),
            Err(e) => Err(EdgeError::Manifest {
                path: path.display().to_string(),
                reason: e.to_string(),
            }),
        }
    }

    /// Switches the manifest, if the lock is still ours.
    fn write_manifest(&self, manifest: &Manifest, lock: &Lock) -> Result<(), EdgeError> {
        let json = serde_json::to_vec_pretty(manifest).expect("manifests serialise");
        lock.check()?;
        write_all_or_nothing(&self.root, &[(MANIFEST.to_string(), json)])?;
        Ok(())
    }

    /// Writes version `version` in full, then the enriched output.
    fn write_version(
        &self,
        version: u64,
        output: &Output,
        format: OutputFormat,
        lock: &Lock,
    ) -> Result<(), EdgeError> {
        let parquet = |o: OutputFile| o.file_name(OutputFormat::Parquet);
        let mut files = vec![(
            parquet(OutputFile::Snapshot),
            encode::to_parquet(&output.table)?,
        )];
        if let Some(versions) = &output.versions {
            files.push((
                parquet(OutputFile::State),
                encode::to_parquet(&versions.rows)?,
            ));
        }
        files.push((
            parquet(OutputFile::Diff),
            encode::to_parquet(&output.diff.rows)?,
        ));
        if let Some(history) = &output.history {
            files.push((
                CHANGE_LOG_FILE.to_string(),
                encode::to_parquet(&history.log.rows)?,
            ));
        }
        files.push((
            REPORT_FILE.to_string(),
            serde_json::to_vec_pretty(&output.report).expect("reports serialise"),
        ));
        let dir = bucket_path::below(&self.root, [Self::version_name(version).as_str()])?;
        write_all_or_nothing(&dir, &files)?;
        failpoint("before-enriched");
        // The tables analytics reads, beside the output: the enriched table, and the history
        // when the spec keeps it; written together.
        let mut published = Vec::new();
        if let Some(enriched) = &output.enriched {
            published.push((
                OutputFile::Enriched.file_name(format),
                format.encode(enriched)?,
            ));
        }
        if let Some(history) = &output.history {
            published.push((
                OutputFile::History.file_name(format),
                format.encode(&history.versions)?,
            ));
        }
        if !published.is_empty() {
            for (name, _) in &published {
                bucket_path::below(&self.output, [name.as_str()])?;
            }
            lock.check()?;
            write_all_or_nothing(&self.output, &published)?;
        }
        Ok(())
    }

    /// Old versions are only a convenience: failing to remove one is not an error.
    fn remove_old_versions(&self, current: u64) {
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let old = name
                .strip_prefix('v')
                .and_then(|n| n.parse::<u64>().ok())
                .is_some_and(|v| v + KEEP_VERSIONS <= current);
            if old {
                // Removes a link itself, never what it points to.
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

/// Fault injection for the crash tests: `TIDEMARK_FAILPOINT=NAME` aborts the process at the
/// point of that name, as a kill would.
fn failpoint(name: &str) {
    if std::env::var("TIDEMARK_FAILPOINT").is_ok_and(|v| v == name) {
        eprintln!("failpoint {name}: aborting");
        std::process::abort();
    }
}
