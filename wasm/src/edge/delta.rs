//! The edge function on Delta Lake tables: each S3 event is one commit of the table in
//! `--output` (on S3 or below `--bucket-root`), read from S3 by key and ETag, recorded in the
//! table's own log. No manifest, no version folders, no lock: the Delta log is all three.
//!
//! What an event does depends on the table as it is when it commits (decided again on every
//! attempt, so concurrent events never lose a change):
//!
//! | event | table | commit |
//! |---|---|---|
//! | a `LOAD` part | none | the table created from the folder's `LOAD` parts |
//! | a `LOAD` part it was built from (same ETag) | any | none: a repeat |
//! | a new `LOAD` part | exists | rebuilt from the parts and every change file applied so far |
//! | a change file | none | the table created empty (as for a CDC-only task) with its changes |
//! | a change file applied (same ETag) | exists | none: a repeat |
//! | a change file uploaded again (new ETag) | exists | rebuilt, with the new version of it |
//! | a change file older than the newest applied, without a sequence | exists | rebuilt in DMS-name order |
//! | any other change file | exists | its changes applied to the buckets of keys they touch |
//!
//! So a change file that arrives before the full load is applied to an empty table and
//! applied again, in order, when the load arrives; a bad file is answered `failed` and never
//! becomes part of the table; the last commit always holds every file applied, in order.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use tidemark_core::pipeline::Options;
use tidemark_core::{DmsName, InputFile};
use tidemark_delta::meta::{SourceObject, TableMeta};
use tidemark_delta::run::{DEFAULT_BUCKETS, Part, Plan, Planned, Request};
use tidemark_delta::store::bare_etag;
use tidemark_delta::{DeltaError, Objects, Place};

use super::bucket_path::BucketRoot;
use super::s3_event::ObjectEvent;
use super::{
    Admission, Config, EdgeError, LogLine, ObjectRef, admit, load_parts, logged, read_object,
};

/// Where the announced objects are read from.
pub enum Source {
    /// Buckets as folders below a root (local runs, tests).
    Folder(BucketRoot),
    /// S3 itself, one client per bucket, made when first needed.
    S3(RefCell<HashMap<String, Objects>>),
}

/// The edge function's Delta tables and where it reads objects from.
pub struct Target {
    place: Place,
    source: Source,
    buckets: u32,
}

impl Target {
    /// The tables at the config's `--output`: below the bucket root when there is one, else
    /// on S3 itself (credentials, region and endpoint from the `AWS_*` environment).
    pub fn open(config: &Config, buckets: Option<u32>) -> Result<Target, EdgeError> {
        let (place, source) = match &config.bucket_root {
            Some(root) => {
                let root = BucketRoot::new(root);
                let folder = config.output.folder(&root)?;
                let place = Place::open(&folder.to_string_lossy())?;
                (place, Source::Folder(root))
            }
            None => {
                let url = format!(
                    "s3://{}/{}",
                    config.output.bucket,
                    config.output.prefix.as_str()
                );
                (Place::open(&url)?, Source::S3(RefCell::default()))
            }
        };
        Ok(Target {
            place,
            source,
            buckets: buckets.unwrap_or(DEFAULT_BUCKETS),
        })
    }

    /// `object`, in the version the event announced when it named one.
    fn read(&self, object: &ObjectRef) -> Result<InputFile, EdgeError> {
        match &self.source {
            Source::Folder(root) => read_object(root, object),
            Source::S3(clients) => {
                let bytes = self
                    .objects(clients, &object.bucket)?
                    .get(&object.key, object.etag.as_deref())?;
                Ok(InputFile::new(object.name(), bytes))
            }
        }
    }

    /// Every `LOAD` part in the folder of `newest` (with the ETags a listing gives).
    fn load_parts(&self, newest: &ObjectRef) -> Result<Vec<ObjectRef>, EdgeError> {
        let clients = match &self.source {
            Source::Folder(root) => return load_parts(root, newest),
            Source::S3(clients) => clients,
        };
        let folder = match newest.key.rsplit_once('/') {
            Some((folder, _)) => format!("{folder}/"),
            None => String::new(),
        };
        let listed = self.objects(clients, &newest.bucket)?.list(&folder)?;
        let mut parts: Vec<ObjectRef> = listed
            .into_iter()
            .filter(|o| matches!(DmsName::of(&o.key), DmsName::Load(_)))
            .map(|o| {
                let announced = (o.key == newest.key).then(|| newest.clone());
                announced.unwrap_or(ObjectRef {
                    bucket: newest.bucket.clone(),
                    key: o.key,
                    etag: o.etag,
                    size: Some(o.size),
                })
            })
            .collect();
        if !parts.iter().any(|p| p.key == newest.key) {
            parts.push(newest.clone());
        }
        parts.sort_by(|a, b| a.apply_order().cmp(&b.apply_order()));
        Ok(parts)
    }

    fn objects<'a>(
        &self,
        clients: &'a RefCell<HashMap<String, Objects>>,
        bucket: &str,
    ) -> Result<std::cell::RefMut<'a, Objects>, EdgeError> {
        let mut map = clients.borrow_mut();
        if !map.contains_key(bucket) {
            map.insert(bucket.to_string(), Objects::s3(bucket)?);
        }
        Ok(std::cell::RefMut::map(map, |m| {
            m.get_mut(bucket).expect("inserted above")
        }))
    }
}

/// What one event does to the table as it is (see the module's table).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Decision {
    Repeat,
    /// Create the table, or build it again, from these load parts (none: start empty) and
    /// change files.
    Whole {
        load: LoadParts,
        changes: Vec<ObjectRef>,
    },
    /// Apply this one change file to the buckets it touches.
    Incremental(ObjectRef),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum LoadParts {
    /// The `LOAD` parts beside the announced one, listed when the decision is carried out.
    ListedBeside(ObjectRef),
    Known(Vec<ObjectRef>),
}

/// What `object`'s event does to a table whose metadata is `meta` (`None`: no table yet).
fn decide(meta: Option<&TableMeta>, object: &ObjectRef) -> Decision {
    let Some(meta) = meta else {
        return if object.is_load() {
            Decision::Whole {
                load: LoadParts::ListedBeside(object.clone()),
                changes: Vec::new(),
            }
        } else {
            Decision::Whole {
                load: LoadParts::Known(Vec::new()),
                changes: vec![object.clone()],
            }
        };
    };
    let load: Vec<ObjectRef> = meta.load.iter().filter_map(object_of).collect();
    let applied: Vec<ObjectRef> = meta.sources.iter().filter_map(object_of).collect();
    if object.is_load() {
        if load.iter().any(|o| same_version(o, object)) {
            return Decision::Repeat;
        }
        return Decision::Whole {
            load: LoadParts::ListedBeside(object.clone()),
            changes: applied,
        };
    }
    match applied.iter().find(|o| o.same_object(object)) {
        Some(known) if same_version(known, object) => Decision::Repeat,
        Some(_) => Decision::Whole {
            load: LoadParts::Known(load),
            changes: applied
                .iter()
                .map(|o| if o.same_object(object) { object } else { o })
                .cloned()
                .collect(),
        },
        None => {
            let sequenced = !meta.state.is_empty();
            let newest = applied.iter().map(ObjectRef::apply_order).max();
            let late = newest.is_some_and(|newest| object.apply_order() < newest);
            if late && !sequenced {
                let mut changes = applied.clone();
                changes.push(object.clone());
                Decision::Whole {
                    load: LoadParts::Known(load),
                    changes,
                }
            } else {
                Decision::Incremental(object.clone())
            }
        }
    }
}

/// Whether two references name the same version of an object (an unknown ETag matches).
fn same_version(a: &ObjectRef, b: &ObjectRef) -> bool {
    let etag = |o: &ObjectRef| o.etag.as_deref().map(bare_etag).map(str::to_string);
    a.same_object(b)
        && match (etag(a), etag(b)) {
            (Some(x), Some(y)) => x == y,
            _ => true,
        }
}

/// The object a version recorded, by the `bucket/key` name the edge function gives files.
fn object_of(source: &SourceObject) -> Option<ObjectRef> {
    let (bucket, key) = source.name.split_once('/')?;
    Some(ObjectRef {
        bucket: bucket.to_string(),
        key: key.to_string(),
        etag: source.etag.clone(),
        size: None,
    })
}

/// A read's error as the Delta run carries it: its own, or the reason in words.
fn into_delta(error: EdgeError) -> DeltaError {
    match error {
        EdgeError::Delta(error) => error,
        other => DeltaError::Input(other.to_string()),
    }
}

/// Brings the Delta tables up to date with one object event.
pub fn handle(
    config: &Config,
    target: &Target,
    record: usize,
    event: &ObjectEvent,
) -> (LogLine, Result<(), EdgeError>) {
    logged(record, event, |log| {
        handle_object(config, target, event, log)
    })
}

fn handle_object(
    config: &Config,
    target: &Target,
    event: &ObjectEvent,
    log: &mut LogLine,
) -> Result<(), EdgeError> {
    let object = match admit(config, event) {
        Admission::Removal => {
            log.action = "ignored".into();
            log.detail = Some("removal: the table keeps what it applied".into());
            return Ok(());
        }
        Admission::Ignore(why) => {
            log.action = "ignored".into();
            log.detail = Some(why.into());
            return Ok(());
        }
        // Never a path, never a request: nothing is read.
        Admission::Refused(object, refused) => {
            return Err(EdgeError::Unreadable {
                file: object.name(),
                reason: refused.to_string(),
            });
        }
        Admission::Data(object, _) => object,
    };
    let options = Options {
        lookup: config.lookup.clone(),
        window_days: config.window_days,
        ..Default::default()
    };
    // Files read once even when a commit is tried again on a newer version.
    let read_files: RefCell<HashMap<String, InputFile>> = RefCell::default();
    let read = |o: &ObjectRef| -> Result<InputFile, EdgeError> {
        if let Some(file) = read_files.borrow().get(&o.name()) {
            return Ok(file.clone());
        }
        let file = target.read(o)?;
        read_files.borrow_mut().insert(o.name(), file.clone());
        Ok(file)
    };
    let mut plan = |meta: Option<&TableMeta>| -> Result<Plan<'_>, EdgeError> {
        let (load, changes, rebuild) = match decide(meta, &object) {
            Decision::Repeat => return Ok(Plan::Skip("a repeat of an applied object".into())),
            Decision::Incremental(change) => (Vec::new(), vec![change], false),
            Decision::Whole { load, changes } => {
                let load = match load {
                    LoadParts::ListedBeside(newest) => target.load_parts(&newest)?,
                    LoadParts::Known(parts) => parts,
                };
                (load, changes, meta.is_some())
            }
        };
        let etags: BTreeMap<String, String> = load
            .iter()
            .chain(&changes)
            .filter_map(|o| Some((o.name(), bare_etag(o.etag.as_deref()?).to_string())))
            .collect();
        Ok(Plan::Run(Request {
            spec: &config.spec,
            initial: load
                .into_iter()
                .map(|o| Part::new(o.name(), move || read(&o).map_err(into_delta)))
                .collect(),
            changes: changes.iter().map(read).collect::<Result<_, _>>()?,
            options: &options,
            buckets: target.buckets,
            write_diff: true,
            write_enriched: true,
            lookup_digest: config.lookup_digest,
            rebuild,
            etags,
        }))
    };
    let planned = tidemark_delta::apply_planned(&target.place, &mut plan, &mut |_| {});
    let planned = match planned {
        Ok(planned) => planned,
        Err(EdgeError::Delta(DeltaError::Superseded { object: name, etag }))
            if name == object.name() =>
        {
            // A later event announces the object's new version.
            log.action = "ignored".into();
            log.detail = Some(format!(
                "superseded: {name} is no longer the version announced (ETag {etag})"
            ));
            return Ok(());
        }
        Err(EdgeError::Delta(DeltaError::Core(error))) => {
            let reason = error.to_string();
            return Err(match error.location() {
                Some(at) if at.file == object.name() => EdgeError::Rejected {
                    file: object.name(),
                    reason,
                },
                _ => EdgeError::Delta(DeltaError::Core(error)),
            });
        }
        Err(other) => return Err(other),
    };
    match planned {
        Planned::Skipped { version, .. } => {
            log.action = "duplicate".into();
            log.version = version;
        }
        Planned::Applied(applied) => {
            log.action = if applied.created {
                "created"
            } else if applied.rebuilt {
                "rebuilt"
            } else {
                "applied"
            }
            .into();
            log.version = Some(applied.table_version);
            if applied.created || applied.rebuilt {
                log.rows = Some(applied.output.table.num_rows());
            }
            let o = applied.output.report.apply.outcome;
            (log.inserted, log.updated, log.deleted) =
                (Some(o.inserted), Some(o.updated), Some(o.deleted));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(key: &str, etag: &str) -> ObjectRef {
        ObjectRef {
            bucket: "dms".into(),
            key: key.into(),
            etag: Some(etag.into()),
            size: None,
        }
    }

    fn meta(load: &[ObjectRef], sources: &[ObjectRef], sequenced: bool) -> TableMeta {
        let mut meta = TableMeta::new(4, vec!["id".into()]);
        let recorded = |o: &ObjectRef| SourceObject {
            name: o.name(),
            etag: o.etag.clone(),
        };
        meta.load = load.iter().map(recorded).collect();
        meta.sources = sources.iter().map(recorded).collect();
        if sequenced {
            meta.state
                .insert(0, "_tidemark_state/bucket=0/a.parquet".into());
        }
        meta
    }

    const LOAD: &str = "users/LOAD00000001.csv";
    const MONDAY: &str = "users/2021/10/18/20211018-120000000.csv";
    const TUESDAY: &str = "users/2021/10/19/20211019-120000000.csv";

    #[test]
    fn the_first_load_part_creates_the_table_from_the_parts_beside_it() {
        let load = object(LOAD, "a");
        assert_eq!(
            decide(None, &load),
            Decision::Whole {
                load: LoadParts::ListedBeside(load),
                changes: vec![]
            }
        );
    }

    #[test]
    fn a_change_file_before_any_load_starts_an_empty_table() {
        let monday = object(MONDAY, "m");
        assert_eq!(
            decide(None, &monday),
            Decision::Whole {
                load: LoadParts::Known(vec![]),
                changes: vec![monday]
            }
        );
    }

    #[test]
    fn a_load_after_change_files_rebuilds_with_every_one_of_them() {
        let monday = object(MONDAY, "m");
        let load = object(LOAD, "a");
        let table = meta(&[], std::slice::from_ref(&monday), false);
        assert_eq!(
            decide(Some(&table), &load),
            Decision::Whole {
                load: LoadParts::ListedBeside(load),
                changes: vec![monday]
            }
        );
    }

    #[test]
    fn the_same_object_in_the_same_version_is_a_repeat() {
        let (load, monday) = (object(LOAD, "a"), object(MONDAY, "m"));
        let table = meta(
            std::slice::from_ref(&load),
            std::slice::from_ref(&monday),
            false,
        );
        assert_eq!(decide(Some(&table), &load), Decision::Repeat);
        assert_eq!(decide(Some(&table), &monday), Decision::Repeat);
        // S3 events give ETags bare, HTTP headers quoted: the same version either way.
        assert_eq!(
            decide(Some(&table), &object(MONDAY, "\"m\"")),
            Decision::Repeat
        );
    }

    #[test]
    fn a_change_file_uploaded_again_rebuilds_with_its_new_version() {
        let (load, monday) = (object(LOAD, "a"), object(MONDAY, "m"));
        let table = meta(std::slice::from_ref(&load), &[monday], false);
        let again = object(MONDAY, "m2");
        assert_eq!(
            decide(Some(&table), &again),
            Decision::Whole {
                load: LoadParts::Known(vec![load]),
                changes: vec![again]
            }
        );
    }

    #[test]
    fn a_late_file_rebuilds_without_a_sequence_and_applies_with_one() {
        let (load, monday, tuesday) =
            (object(LOAD, "a"), object(MONDAY, "m"), object(TUESDAY, "t"));
        let unsequenced = meta(
            std::slice::from_ref(&load),
            std::slice::from_ref(&tuesday),
            false,
        );
        assert_eq!(
            decide(Some(&unsequenced), &monday),
            Decision::Whole {
                load: LoadParts::Known(vec![load.clone()]),
                changes: vec![tuesday.clone(), monday.clone()]
            }
        );
        let sequenced = meta(&[load], &[tuesday], true);
        assert_eq!(
            decide(Some(&sequenced), &monday),
            Decision::Incremental(monday)
        );
    }

    #[test]
    fn a_newer_file_applies_to_the_buckets_it_touches() {
        let (load, monday, tuesday) =
            (object(LOAD, "a"), object(MONDAY, "m"), object(TUESDAY, "t"));
        let table = meta(&[load], &[monday], false);
        assert_eq!(
            decide(Some(&table), &tuesday),
            Decision::Incremental(tuesday)
        );
    }
}
