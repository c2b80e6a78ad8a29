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

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tidemark_core::features::AsOf;
use tidemark_core::features::lookup::Lookup;
use tidemark_core::pipeline::{self, Inputs, Options, Output};
use tidemark_core::{DmsName, ErrorKind, InputFile, OutputFormat, TableSpec, encode};

use crate::inputs;
use crate::outputs::write_all_or_nothing;
use crate::s3_event::ObjectEvent;

const STATE_DIR: &str = "_tidemark";
const MANIFEST: &str = "manifest.json";
const CONFIG_FILE: &str = "tidemark.toml";
/// How many versions to keep (the current one and the one before).
const KEEP_VERSIONS: u64 = 2;

/// A place in S3: a bucket and a key prefix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct S3Location {
    pub bucket: String,
    pub prefix: String,
}

impl S3Location {
    /// Reads `s3://bucket/prefix/`.
    pub fn parse(text: &str) -> Result<S3Location, EdgeError> {
        let rest = text
            .strip_prefix("s3://")
            .ok_or_else(|| EdgeError::Config(format!("{text:?} is not an s3:// location")))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(EdgeError::Config(format!("{text:?} names no bucket")));
        }
        let prefix = if prefix.is_empty() || prefix.ends_with('/') {
            prefix.to_string()
        } else {
            format!("{prefix}/")
        };
        Ok(S3Location {
            bucket: bucket.to_string(),
            prefix,
        })
    }

    fn contains(&self, bucket: &str, key: &str) -> bool {
        self.bucket == bucket && key.starts_with(&self.prefix)
    }

    fn folder(&self, root: &Path) -> PathBuf {
        root.join(&self.bucket).join(&self.prefix)
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
    Write(#[from] crate::outputs::WriteError),
    #[error("the manifest {path} is unreadable: {reason}")]
    Manifest { path: String, reason: String },
    /// A change file that cannot be applied; the table stays as it was without it.
    #[error("rejected, the table is unchanged: {reason}")]
    Rejected { file: String, reason: String },
}

/// The settings of the function: flags, or `tidemark.toml` in the output folder.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// `s3://bucket/prefix/` where DMS writes; events for other keys are ignored.
    pub source: Option<String>,
    /// The table spec, relative to the config file.
    pub spec: Option<String>,
    /// The format of the enriched output: `parquet` (default) or `csv`.
    pub format: Option<OutputFormat>,
    /// A lookup table, relative to the config file.
    pub lookup: Option<String>,
    pub window_days: Option<u32>,
}

pub struct Config {
    pub bucket_root: PathBuf,
    pub source: Option<S3Location>,
    pub output: S3Location,
    pub spec: TableSpec,
    pub format: OutputFormat,
    pub lookup: Option<Lookup>,
    pub window_days: Option<u32>,
}

impl Config {
    /// The output folder's `tidemark.toml`, if there is one.
    pub fn file_at(
        bucket_root: &Path,
        output: &S3Location,
    ) -> Result<Option<(PathBuf, ConfigFile)>, EdgeError> {
        let path = output.folder(bucket_root).join(CONFIG_FILE);
        if !path.is_file() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| EdgeError::Config(format!("{}: {e}", path.display())))?;
        let file = toml::from_str(&text)
            .map_err(|e| EdgeError::Config(format!("{}: {e}", path.display())))?;
        Ok(Some((path, file)))
    }
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
    pub as_of: Option<String>,
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
    let started = Instant::now();
    let mut log = LogLine {
        record,
        event: event.name.clone(),
        bucket: event.bucket.clone(),
        key: event.key.clone(),
        ..Default::default()
    };
    let result = handle_object(config, event, &mut log);
    if let Err(e) = &result {
        log.action = "failed".into();
        log.detail = Some(e.to_string());
    }
    log.millis = (started.elapsed().as_secs_f64() * 1e6).round() / 1e3;
    (log, result)
}

fn handle_object(config: &Config, event: &ObjectEvent, log: &mut LogLine) -> Result<(), EdgeError> {
    let ignore = |log: &mut LogLine, why: &str| {
        log.action = "ignored".into();
        log.detail = Some(why.into());
        Ok(())
    };
    if event.is_removed() {
        return ignore(log, "removal: the table keeps what it applied");
    }
    if !event.is_created() {
        return ignore(log, "not an object creation");
    }
    if config
        .source
        .as_ref()
        .is_some_and(|s| !s.contains(&event.bucket, &event.key))
    {
        return ignore(log, "outside the source prefix");
    }
    let object = ObjectRef::from_event(event);
    let is_data = [".csv", ".csv.gz", ".parquet"]
        .iter()
        .any(|ext| object.key.ends_with(ext));
    if !is_data {
        return ignore(log, "not a data file");
    }

    let state = StateDir::new(config);
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
    if let Some(failed) = manifest.failed.iter().find(|f| f.object == object) {
        return Err(EdgeError::Rejected {
            file: object.name(),
            reason: format!("(already rejected) {}", failed.error),
        });
    }
    // A new version of a known key replaces it.
    manifest.failed.retain(|f| !f.object.same_object(&object));
    manifest.pending.retain(|o| !o.same_object(&object));
    manifest.pending.push(object.clone());
    state.write_manifest(&manifest)?;
    failpoint("after-journal");

    let outcome = settle(config, &state, &mut manifest)?;
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

struct Settled {
    rebuilt: bool,
    output: Output,
}

/// Applies what is waiting, if a LOAD is known; rejects change files that cannot be applied
/// and goes on without them.
fn settle(
    config: &Config,
    state: &StateDir,
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
                Some(newest_load) => load_parts(config, newest_load)?,
                None => manifest.load.clone(),
            };
            let changes: Vec<ObjectRef> = manifest
                .applied
                .iter()
                .chain(&pending_changes)
                .cloned()
                .collect();
            run(config, state, manifest, &load, None, &changes).map(|o| (load, changes, o))
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
                state.write_version(version, &output, config.format)?;
                failpoint("before-manifest");
                manifest.version = version;
                manifest.load = load;
                manifest.applied = applied;
                manifest.pending.clear();
                manifest.sequenced = output.versions.is_some();
                manifest.as_of = output.report.features.as_ref().map(|f| f.as_of.clone());
                state.write_manifest(manifest)?;
                state.remove_old_versions(version);
                return Ok(Some(Settled {
                    rebuilt: rebuild,
                    output,
                }));
            }
            Err(EdgeError::Core(error)) => {
                // A bad change file is set aside; anything else stops the record.
                let culprit = error.location().map(|l| l.file.clone());
                let bad = manifest
                    .pending
                    .iter()
                    .position(|o| Some(o.name()) == culprit && !o.is_load());
                let Some(index) = bad else {
                    return Err(EdgeError::Core(error));
                };
                let object = manifest.pending.remove(index);
                manifest.failed.push(Failed {
                    object,
                    error: error.to_string(),
                });
                state.write_manifest(manifest)?;
            }
            Err(other) => return Err(other),
        }
    }
}

/// Every LOAD part in the folder of `newest`, as DMS writes a full load in several parts.
fn load_parts(config: &Config, newest: &ObjectRef) -> Result<Vec<ObjectRef>, EdgeError> {
    let folder_key = newest.key.rsplit_once('/').map_or("", |(folder, _)| folder);
    let folder = config.bucket_root.join(&newest.bucket).join(folder_key);
    let entries = std::fs::read_dir(&folder).map_err(|source| inputs::InputError::Read {
        path: folder.display().to_string(),
        source,
    })?;
    let mut parts: Vec<ObjectRef> = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if matches!(DmsName::of(&name), DmsName::Load(_)) {
            let key = if folder_key.is_empty() {
                name
            } else {
                format!("{folder_key}/{name}")
            };
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

/// Runs the core on a LOAD (`from_version` None) or on the current version.
fn run(
    config: &Config,
    state: &StateDir,
    manifest: &Manifest,
    load: &[ObjectRef],
    from_version: Option<u64>,
    changes: &[ObjectRef],
) -> Result<Output, EdgeError> {
    let read = |o: &ObjectRef| -> Result<InputFile, EdgeError> {
        let file = inputs::read(&config.bucket_root.join(&o.bucket).join(&o.key))?;
        Ok(InputFile {
            name: o.name(),
            bytes: file.bytes,
        })
    };
    let (snapshot, versions) = match from_version {
        None => (load.iter().map(read).collect::<Result<Vec<_>, _>>()?, None),
        Some(v) => {
            let dir = state.version_dir(v);
            let versions = dir.join(inputs::STATE_FILE);
            let versions = if versions.is_file() {
                Some(inputs::read(&versions)?)
            } else {
                None
            };
            (vec![inputs::read(&dir.join("snapshot.parquet"))?], versions)
        }
    };
    let changes = changes.iter().map(read).collect::<Result<Vec<_>, _>>()?;
    let options = Options {
        lookup: config.lookup.clone(),
        window_days: config.window_days,
        ..Default::default()
    };
    let inputs = Inputs {
        snapshot,
        state: versions,
        changes,
    };
    let mut output = match pipeline::run(&config.spec, inputs.clone(), &options, &mut |_| {}) {
        // Files without a DMS name do not date themselves: the newest change so far still does.
        Err(e) if *e.kind() == ErrorKind::AsOfUnknown && manifest.as_of.is_some() => {
            let as_of = manifest.as_of.as_deref().and_then(|d| d.parse().ok());
            pipeline::run(
                &config.spec,
                inputs,
                &Options {
                    as_of,
                    ..options.clone()
                },
                &mut |_| {},
            )?
        }
        other => other?,
    };
    // A late file must not move the window back: keep the newest as_of seen.
    if let (Some(previous), Some(features), Some(spec)) = (
        &manifest.as_of,
        &output.report.features,
        &config.spec.features,
    ) {
        if previous.as_str() > features.as_of.as_str() {
            let date = previous.parse().map_err(|_| EdgeError::Manifest {
                path: MANIFEST.into(),
                reason: format!("bad as_of {previous}"),
            })?;
            let as_of = AsOf {
                date,
                source: "the newest change of an earlier event".into(),
            };
            let enriched = pipeline::enrich_with(spec, &output.table, &as_of, &options)?;
            output.enriched = Some(enriched.rows);
            output.report.features = Some(enriched.summary);
        }
    }
    Ok(output)
}

/// The `_tidemark/` folder next to the output.
struct StateDir {
    output: PathBuf,
    root: PathBuf,
}

impl StateDir {
    fn new(config: &Config) -> StateDir {
        let output = config.output.folder(&config.bucket_root);
        StateDir {
            root: output.join(STATE_DIR),
            output,
        }
    }

    fn version_dir(&self, version: u64) -> PathBuf {
        self.root.join(format!("v{version:06}"))
    }

    fn read_manifest(&self) -> Result<Manifest, EdgeError> {
        let path = self.root.join(MANIFEST);
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

    fn write_manifest(&self, manifest: &Manifest) -> Result<(), EdgeError> {
        let json = serde_json::to_vec_pretty(manifest).expect("manifests serialise");
        write_all_or_nothing(&self.root, &[(MANIFEST.to_string(), json)])?;
        Ok(())
    }

    /// Writes version `version` in full, then the enriched output.
    fn write_version(
        &self,
        version: u64,
        output: &Output,
        format: OutputFormat,
    ) -> Result<(), EdgeError> {
        let mut files = vec![(
            "snapshot.parquet".to_string(),
            encode::to_parquet(&output.table)?,
        )];
        if let Some(versions) = &output.versions {
            files.push((
                inputs::STATE_FILE.to_string(),
                encode::to_parquet(&versions.rows)?,
            ));
        }
        files.push((
            "diff.parquet".to_string(),
            encode::to_parquet(&output.diff.rows)?,
        ));
        files.push((
            "report.json".to_string(),
            serde_json::to_vec_pretty(&output.report).expect("reports serialise"),
        ));
        write_all_or_nothing(&self.version_dir(version), &files)?;
        failpoint("before-enriched");
        if let Some(enriched) = &output.enriched {
            let name = format!("enriched.{}", format.extension());
            write_all_or_nothing(&self.output, &[(name, format.encode(enriched)?)])?;
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
