//! One Tidemark run against Delta tables: the maintained table read and rewritten a bucket of
//! keys at a time, its state committed with it, the diff appended as a change feed, the
//! enriched table replaced.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch, UInt32Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use tidemark_core::decode::{decode_changes, read_parquet};
use tidemark_core::features::AsOf;
use tidemark_core::files::{sort_by_apply_order, sort_for_apply};
use tidemark_core::pipeline::{self, Decoded, Inputs, Options, Output, Stage};
use tidemark_core::snapshot_diff::changes_between;
use tidemark_core::spec::FeatureSpec;
use tidemark_core::{ChangeBatch, InputFile, Op, Snapshot, TableSpec, Versions, encode};

use crate::DeltaError;
use crate::bucket::{BUCKET_COLUMN, GROUP_BUCKET_COLUMN, buckets_of, group_buckets_of};
use crate::meta::{
    DOMAIN, ENRICHED_DOMAIN, EnrichedMeta, FORMAT, SourceObject, TableMeta, applied_name,
};
use crate::store::Place;
use crate::table::{Committed, DeltaTable, Partitions, delta_schema, delta_type, delta_types};

/// The maintained table's folder in a place.
pub const TABLE: &str = "table";
/// The change feed: every run's diff, with the table version it produced.
pub const DIFF: &str = "diff";
/// The table with its features, as of the latest version.
pub const ENRICHED: &str = "enriched";
/// The column of the change feed that names the table version a diff row produced.
pub const TABLE_VERSION_COLUMN: &str = "_tidemark_table_version";
/// The application id of Tidemark's Delta transaction identifiers (`txn`): the derived
/// tables record which version of the maintained table they are up to.
pub const APP_ID: &str = "tidemark";
/// How many buckets a new table gets unless told otherwise.
pub const DEFAULT_BUCKETS: u32 = 64;
/// How often a run redoes its work on a table another writer changed first.
pub(crate) const ATTEMPTS: u32 = 8;

/// What to apply, and where the results go.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub spec: &'a TableSpec,
    /// The table's first contents (a snapshot file or the parts of a DMS full load), read
    /// only when the table does not exist yet, a part at a time.
    pub initial: Vec<Part<'a>>,
    pub changes: Vec<InputFile>,
    pub options: &'a Options,
    /// The number of buckets of a table this run creates.
    pub buckets: u32,
    pub write_diff: bool,
    pub write_enriched: bool,
    /// A digest of the lookup table's file ([`crate::bucket::digest`]), `None` for the bundled
    /// one: the enriched table is updated group by group only under the lookup it was
    /// computed with.
    pub lookup_digest: Option<u64>,
    /// Build the table again from `initial` and `changes` (which must then be every change
    /// file of the table, in any order) and replace every bucket in one commit: what a late
    /// file without a sequence, or a full load that arrives after change files, needs.
    pub rebuild: bool,
    /// The ETags of the objects in `initial` and `changes`, by name, when known (S3 events
    /// carry them): recorded with what each version applied.
    pub etags: BTreeMap<String, String>,
}

impl Request<'_> {
    /// The core's inputs for a run that takes the table's first contents whole: every part
    /// read, and every change file.
    pub(crate) fn whole_inputs(&self) -> Result<Inputs, DeltaError> {
        Ok(Inputs {
            snapshot: self
                .initial
                .iter()
                .map(Part::read)
                .collect::<Result<_, _>>()?,
            changes: self.changes.clone(),
            ..Default::default()
        })
    }
}

/// A part of a table's first contents, read only when its turn comes: the parts of a full
/// load larger than memory are never all in memory at once.
#[derive(Clone)]
pub struct Part<'a> {
    name: String,
    read: Rc<dyn Fn() -> Result<InputFile, DeltaError> + 'a>,
}

impl<'a> Part<'a> {
    /// A part named `name` that `read` reads.
    pub fn new(
        name: impl Into<String>,
        read: impl Fn() -> Result<InputFile, DeltaError> + 'a,
    ) -> Part<'a> {
        Part {
            name: name.into(),
            read: Rc::new(read),
        }
    }

    /// A part already read.
    pub fn loaded(file: InputFile) -> Part<'a> {
        Part::new(file.name.clone(), move || Ok(file.clone()))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn read(&self) -> Result<InputFile, DeltaError> {
        (self.read)()
    }
}

impl std::fmt::Debug for Part<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Part").field("name", &self.name).finish()
    }
}

/// What a planner ([`apply_planned`]) decides, given the table as it is now.
#[derive(Debug, Clone)]
pub enum Plan<'a> {
    Run(Request<'a>),
    /// Nothing to do, and why (a repeated event, say).
    Skip(String),
}

/// What a planned run did.
#[derive(Debug, Clone)]
pub enum Planned {
    Applied(Box<Applied>),
    Skipped {
        reason: String,
        /// The table's version the planner saw.
        version: Option<u64>,
    },
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct Applied {
    /// The core's output. `table` and `versions` hold the touched buckets only; `enriched`
    /// is the whole table's.
    pub output: Output,
    /// The maintained table's version after the run (unchanged when nothing applied).
    pub table_version: u64,
    pub created: bool,
    /// The table's version the run read (none when it created the table).
    pub base_version: Option<u64>,
    pub buckets: u32,
    /// The buckets read and rewritten.
    pub buckets_touched: usize,
    /// How many times the run was done: more than once when another writer committed first.
    pub attempts: u32,
    /// Whether the run built the table again from its full load and every change file.
    pub rebuilt: bool,
    /// Whether the run wrote the enriched table itself (a table created part by part).
    pub(crate) enriched_written: bool,
}

impl Applied {
    /// The first run, which created the table at `version` with every bucket of `request`.
    pub(crate) fn created(
        output: Output,
        version: u64,
        request: &Request,
        enriched_written: bool,
    ) -> Applied {
        Applied {
            output,
            table_version: version,
            created: true,
            base_version: None,
            buckets: request.buckets,
            buckets_touched: request.buckets as usize,
            attempts: 0,
            rebuilt: false,
            enriched_written,
        }
    }
}

/// Applies `request` to the Delta tables in `place`, creating them on the first run.
///
/// Two runs at once on one table never lose a change: each commits with a conditional write
/// of the next log entry, and the one that finds it taken reads the table again and redoes
/// its work on the new version.
pub fn apply(
    place: &Place,
    request: &Request,
    progress: &mut dyn FnMut(Stage),
) -> Result<Applied, DeltaError> {
    let mut plan = |_: Option<&TableMeta>| Ok::<_, DeltaError>(Plan::Run(request.clone()));
    match apply_planned(place, &mut plan, progress)? {
        Planned::Applied(applied) => Ok(*applied),
        Planned::Skipped { reason, .. } => Err(DeltaError::State(reason)),
    }
}

/// Like [`apply`], with the request decided by `plan` from Tidemark's metadata of the table
/// as it is (`None` when there is no table yet), again on every attempt: what to apply can
/// depend on what another writer committed meanwhile (the edge function rebuilds the table
/// when a late file arrives, and must then include every file applied so far).
pub fn apply_planned<'a, E: From<DeltaError>>(
    place: &Place,
    plan: &mut dyn FnMut(Option<&TableMeta>) -> Result<Plan<'a>, E>,
    progress: &mut dyn FnMut(Stage),
) -> Result<Planned, E> {
    let table = DeltaTable::new(place, TABLE);
    for attempt in 1..=ATTEMPTS {
        let latest = table.latest()?;
        let meta = match &latest {
            Some(snapshot) => Some(read_meta(&table, snapshot)?),
            None => None,
        };
        let request = match plan(meta.as_ref())? {
            Plan::Run(request) => request,
            Plan::Skip(reason) => {
                let version = latest.as_ref().map(|s| s.version());
                return Ok(Planned::Skipped { reason, version });
            }
        };
        check(&request)?;
        let outcome = match (&latest, meta) {
            (Some(snapshot), Some(meta)) if request.rebuild => {
                rebuild(&table, snapshot, meta, &request, progress)?
            }
            (Some(snapshot), Some(meta)) => update(&table, snapshot, meta, &request, progress)?,
            _ => crate::load::create(place, &table, &request, progress)?,
        };
        if let Some(mut applied) = outcome {
            applied.attempts = attempt;
            write_derived(place, &table, &request, &mut applied)?;
            return Ok(Planned::Applied(Box::new(applied)));
        }
    }
    Err(DeltaError::Busy(ATTEMPTS).into())
}

/// Refuses what Delta tables cannot hold yet.
fn check(request: &Request) -> Result<(), DeltaError> {
    if request.spec.history.is_some() {
        return Err(DeltaError::Unsupported(
            "history ([history] in the spec) is not kept in Delta tables yet: write it to a folder",
        ));
    }
    if request.buckets == 0 {
        return Err(DeltaError::Layout(
            "a table needs at least one bucket".into(),
        ));
    }
    Ok(())
}

/// `files` as the objects a version records, in the order they apply.
fn source_objects<'n>(
    names: impl IntoIterator<Item = &'n str>,
    etags: &BTreeMap<String, String>,
) -> Vec<SourceObject> {
    let mut names: Vec<&str> = names.into_iter().collect();
    sort_by_apply_order(&mut names, |n| n);
    names
        .into_iter()
        .map(|name| SourceObject {
            etag: etags.get(name).cloned(),
            name: name.to_string(),
        })
        .collect()
}

/// A later run: the buckets the changes touch read, applied, rewritten. `None` if another
/// writer committed first.
fn update(
    table: &DeltaTable,
    snapshot: &delta_kernel::SnapshotRef,
    mut meta: TableMeta,
    request: &Request,
    progress: &mut dyn FnMut(Stage),
) -> Result<Option<Applied>, DeltaError> {
    let spec = request.spec;
    let version = snapshot.version();
    let base = version;
    if meta.key != spec.table.key {
        return Err(DeltaError::State(format!(
            "the table's key is [{}], the spec's [{}]",
            meta.key.join(", "),
            spec.table.key.join(", ")
        )));
    }
    if !request.initial.is_empty() {
        return Err(DeltaError::State(format!(
            "{} exists (version {version}): a snapshot is read only when the table is created",
            table.url
        )));
    }
    let schema = without_bucket(&DeltaTable::arrow_schema(snapshot)?);

    let mut files: Vec<InputFile> = request
        .changes
        .iter()
        .filter(|f| !meta.applied.contains(applied_name(&f.name)))
        .cloned()
        .collect();
    sort_for_apply(&mut files);
    let new_sources = source_objects(files.iter().map(|f| f.name.as_str()), &request.etags);
    let total = files.len();
    let mut changes = Vec::with_capacity(total);
    for (index, file) in files.iter().enumerate() {
        request.options.cancel.check()?;
        progress(Stage::Decode {
            file: &file.name,
            index,
            total,
            bytes: file.bytes.len(),
        });
        changes.push(decode_changes(spec, &schema, file)?);
    }
    drop(files);
    let touched = touched_buckets(spec, &schema, &changes, &meta)?;
    let name = format!("{}@v{version}", table.url);

    let batches = table.read(
        snapshot,
        Some(Partitions {
            column: BUCKET_COLUMN,
            buckets: &touched,
        }),
    )?;
    let rows = arrow_select::concat::concat_batches(&schema, &batches)?;
    drop(batches);
    let mut sources = tidemark_core::changes::Sources::default();
    sources.push(&name, 0, 1);
    let versions = read_state(table, &meta, &touched, &schema, spec)?;
    let mut options = request.options.clone();
    options.as_of_not_before = options.as_of_not_before.max(meta.as_of);
    let decoded = Decoded {
        snapshot: Snapshot { rows, sources },
        snapshot_files: vec![name],
        versions,
        change_log: None,
        changes,
    };
    let output = pipeline::run_decoded(spec, decoded, &options, progress)?;

    if touched.is_empty() {
        return Ok(Some(Applied {
            output,
            table_version: version,
            created: false,
            base_version: Some(base),
            buckets: meta.buckets,
            buckets_touched: 0,
            attempts: 0,
            rebuilt: false,
            enriched_written: false,
        }));
    }
    let applied_files: Vec<&str> = request.changes.iter().map(|f| f.name.as_str()).collect();
    let mut txn = table.update(
        snapshot,
        &[(
            "tidemarkFiles",
            serde_json::to_string(&applied_files).expect("names serialise"),
        )],
    )?;
    table.stage_remove(
        snapshot,
        &mut txn,
        Some(Partitions {
            column: BUCKET_COLUMN,
            buckets: &touched,
        }),
    )?;
    for (bucket, rows) in by_bucket(&output.table, &meta, &touched)? {
        table.stage_add(&mut txn, rows, Some((BUCKET_COLUMN, bucket)))?;
    }
    write_state(table, &output, &mut meta, &touched)?;
    meta.applied.extend(
        request
            .changes
            .iter()
            .map(|f| applied_name(&f.name).to_string()),
    );
    meta.sources.extend(new_sources);
    meta.as_of = output
        .report
        .features
        .as_ref()
        .map(|f| f.as_of)
        .max(meta.as_of);
    let txn = txn.with_domain_metadata(DOMAIN.to_string(), meta_json(&meta));
    Ok(match table.commit(txn)? {
        Committed::Version(version) => Some(Applied {
            output,
            table_version: version,
            created: false,
            base_version: Some(base),
            buckets: meta.buckets,
            buckets_touched: touched.len(),
            attempts: 0,
            rebuilt: false,
            enriched_written: false,
        }),
        Committed::Conflict(_) => None,
    })
}

/// Stages every bucket of a run over the whole table, writes its state and records the run in
/// `meta`: what creating a table in one pass and rebuilding one share.
pub(crate) fn stage_whole<S>(
    table: &DeltaTable,
    txn: &mut delta_kernel::transaction::Transaction<S>,
    output: &Output,
    meta: &mut TableMeta,
    request: &Request,
) -> Result<(), DeltaError> {
    let all: Vec<u32> = (0..meta.buckets).collect();
    for (bucket, rows) in by_bucket(&output.table, meta, &all)? {
        table.stage_add(txn, rows, Some((BUCKET_COLUMN, bucket)))?;
    }
    write_state(table, output, meta, &all)?;
    record_whole_run(meta, request);
    Ok(())
}

/// Records in `meta` what a run over the whole table applied: every name, load and source.
pub(crate) fn record_whole_run(meta: &mut TableMeta, request: &Request) {
    meta.applied = request
        .changes
        .iter()
        .map(|f| applied_name(&f.name).to_string())
        .collect();
    meta.load = source_objects(request.initial.iter().map(Part::name), &request.etags);
    meta.sources = source_objects(
        request.changes.iter().map(|f| f.name.as_str()),
        &request.etags,
    );
}

/// The table built again from its full load and every change file, replacing every bucket in
/// one commit. Its diff is what changed from the version it replaces (worked out by key, as
/// for two snapshots), so the change feed stays the story of the table's versions. `None` if
/// another writer committed first.
fn rebuild(
    table: &DeltaTable,
    snapshot: &delta_kernel::SnapshotRef,
    previous: TableMeta,
    request: &Request,
    progress: &mut dyn FnMut(Stage),
) -> Result<Option<Applied>, DeltaError> {
    let spec = request.spec;
    let version = snapshot.version();
    if previous.key != spec.table.key {
        return Err(DeltaError::State(format!(
            "the table's key is [{}], the spec's [{}]",
            previous.key.join(", "),
            spec.table.key.join(", ")
        )));
    }
    let mut output = pipeline::run(spec, request.whole_inputs()?, request.options, progress)?;
    output.diff = diff_from(table, snapshot, spec, &output, request.options)?;

    let mut meta = TableMeta::new(previous.buckets, previous.key.clone());
    meta.as_of = output.report.features.as_ref().map(|f| f.as_of);
    let files: Vec<&str> = request.changes.iter().map(|f| f.name.as_str()).collect();
    let mut txn = table.update(
        snapshot,
        &[
            (
                "tidemarkFiles",
                serde_json::to_string(&files).expect("names serialise"),
            ),
            ("tidemarkRebuild", "true".to_string()),
        ],
    )?;
    table.stage_remove(snapshot, &mut txn, None)?;
    stage_whole(table, &mut txn, &output, &mut meta, request)?;
    let txn = txn.with_domain_metadata(DOMAIN.to_string(), meta_json(&meta));
    Ok(match table.commit(txn)? {
        Committed::Version(committed) => Some(Applied {
            output,
            table_version: committed,
            created: false,
            base_version: Some(version),
            buckets: meta.buckets,
            buckets_touched: meta.buckets as usize,
            attempts: 0,
            rebuilt: true,
            enriched_written: false,
        }),
        Committed::Conflict(_) => None,
    })
}

/// What changed from `snapshot` of the table to the rows of `output`, by key.
fn diff_from(
    table: &DeltaTable,
    snapshot: &delta_kernel::SnapshotRef,
    spec: &TableSpec,
    output: &Output,
    options: &Options,
) -> Result<tidemark_core::Diff, DeltaError> {
    let schema = without_bucket(&DeltaTable::arrow_schema(snapshot)?);
    let old_rows = arrow_select::concat::concat_batches(&schema, &table.read(snapshot, None)?)?;
    let new_rows = columns_of(&delta_types(&output.table)?, &schema)?;
    let snapshot_of = |rows: RecordBatch, name: String| {
        let mut sources = tidemark_core::changes::Sources::default();
        sources.push(&name, 0, 1);
        Snapshot { rows, sources }
    };
    let old_name = format!("{}@v{}", table.url, snapshot.version());
    let old = snapshot_of(old_rows, old_name.clone());
    let new = snapshot_of(new_rows, format!("{} rebuilt", table.url));
    let changes = changes_between(spec, &old, &new, None)?;
    // Only the diff is wanted: no features, no history.
    let mut plain = spec.clone();
    plain.features = None;
    let decoded = Decoded {
        snapshot: old,
        snapshot_files: vec![old_name],
        versions: None,
        change_log: None,
        changes,
    };
    Ok(pipeline::run_decoded(&plain, decoded, options, &mut |_| {})?.diff)
}

/// `rows` with the columns of `schema`, in its order and types.
fn columns_of(rows: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, DeltaError> {
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    columns_named(rows, &names, schema)
}

/// The diff appended to the change feed and the enriched table replaced, each one commit
/// that records (as a `txn` of [`APP_ID`]) the table version it goes with, so a run that
/// finds them there already does not add them twice.
fn write_derived(
    place: &Place,
    table: &DeltaTable,
    request: &Request,
    applied: &mut Applied,
) -> Result<(), DeltaError> {
    let version = applied.table_version;
    if applied.buckets_touched == 0 {
        return Ok(());
    }
    if request.write_diff && applied.output.diff.rows.num_rows() > 0 {
        let diff = &applied.output.diff.rows;
        let mut columns: Vec<ArrayRef> = diff.columns().to_vec();
        columns.push(Arc::new(Int64Array::from(vec![
            version as i64;
            diff.num_rows()
        ])));
        let mut fields: Vec<Field> = diff
            .schema()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        fields.push(Field::new(TABLE_VERSION_COLUMN, DataType::Int64, false));
        let rows = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?;
        append_derived(&DeltaTable::new(place, DIFF), rows, version)?;
    }
    let enriched = request.write_enriched && !applied.enriched_written;
    if let (true, Some(features)) = (enriched, &request.spec.features) {
        write_enriched(place, table, request, features, applied)?;
    }
    Ok(())
}

/// Brings the enriched table to the table's new version: group by group when it holds the
/// features of the version this run read, under the same `as_of`, window and lookup (only
/// the groups of the keys the run touched are read, computed and rewritten); else whole.
fn write_enriched(
    place: &Place,
    table: &DeltaTable,
    request: &Request,
    features: &FeatureSpec,
    applied: &mut Applied,
) -> Result<(), DeltaError> {
    let enriched = DeltaTable::new(place, ENRICHED);
    let version = applied.table_version;
    let summary = applied
        .output
        .report
        .features
        .clone()
        .expect("a spec with features reports them");
    let wanted = EnrichedMeta {
        format: FORMAT,
        table_version: version,
        buckets: applied.buckets,
        as_of: summary.as_of,
        window_days: request.options.window_days.unwrap_or(features.window_days),
        lookup: request.lookup_digest,
    };
    let as_of = AsOf {
        date: summary.as_of,
        source: summary.as_of_source,
    };
    for _ in 0..ATTEMPTS {
        let latest = enriched.latest()?;
        let previous = match &latest {
            Some(snapshot) => {
                let done = snapshot.get_app_id_version(APP_ID, table_engine(&enriched))?;
                if done.is_some_and(|done| done >= version as i64) {
                    return Ok(());
                }
                snapshot
                    .get_domain_metadata(ENRICHED_DOMAIN, table_engine(&enriched))?
                    .and_then(|text| serde_json::from_str::<EnrichedMeta>(&text).ok())
            }
            None => None,
        };
        // Group by group only from the features of the very version this run read, computed
        // the same way: anything else (a run that died before its enriched commit, another
        // as_of, window or lookup) is computed whole.
        let same_inputs = previous.as_ref().is_some_and(|p| {
            Some(p.table_version) == applied.base_version
                && EnrichedMeta {
                    table_version: version,
                    ..p.clone()
                } == wanted
        });
        let (rows, groups) = match (&latest, same_inputs) {
            (Some(snapshot), true) => {
                let groups = touched_groups(&applied.output, features, applied.buckets)?;
                let rows = enrich_groups(
                    &enriched,
                    snapshot,
                    &groups,
                    &applied.output,
                    features,
                    &as_of,
                    request,
                )?;
                (rows, Some(groups))
            }
            _ if applied.created || applied.rebuilt => (
                applied
                    .output
                    .enriched
                    .clone()
                    .expect("a run with features enriches"),
                None,
            ),
            _ => {
                // The features of a group depend on all its rows, wherever their keys'
                // buckets are: the whole table, as this run left it.
                let snapshot = table
                    .at(Some(version))?
                    .expect("the version just committed");
                let schema = without_bucket(&DeltaTable::arrow_schema(&snapshot)?);
                let whole =
                    arrow_select::concat::concat_batches(&schema, &table.read(&snapshot, None)?)?;
                let result = pipeline::enrich_with(features, &whole, &as_of, request.options)?;
                applied.output.report.features = Some(result.summary);
                (result.rows, None)
            }
        };
        let by_group = group_partitions(&rows, features, applied.buckets)?;
        let meta_json = serde_json::to_string(&wanted).expect("metadata serialises");
        let committed = match &latest {
            None => {
                let mut fields: Vec<Field> = rows
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| f.as_ref().clone())
                    .collect();
                fields.push(Field::new(GROUP_BUCKET_COLUMN, DataType::Int32, false));
                let mut txn = enriched
                    .create(&Schema::new(fields), Some(GROUP_BUCKET_COLUMN))?
                    .with_transaction_id(APP_ID.to_string(), version as i64)
                    .with_domain_metadata(ENRICHED_DOMAIN.to_string(), meta_json);
                for (bucket, rows) in by_group {
                    enriched.stage_add(&mut txn, rows, Some((GROUP_BUCKET_COLUMN, bucket)))?;
                }
                enriched.commit(txn)?
            }
            Some(snapshot) => {
                let mut txn = enriched
                    .update(snapshot, &[])?
                    .with_transaction_id(APP_ID.to_string(), version as i64)
                    .with_domain_metadata(ENRICHED_DOMAIN.to_string(), meta_json);
                enriched.stage_remove(
                    snapshot,
                    &mut txn,
                    groups.as_deref().map(|buckets| Partitions {
                        column: GROUP_BUCKET_COLUMN,
                        buckets,
                    }),
                )?;
                for (bucket, rows) in by_group {
                    enriched.stage_add(&mut txn, rows, Some((GROUP_BUCKET_COLUMN, bucket)))?;
                }
                enriched.commit(txn)?
            }
        };
        if let Committed::Version(_) = committed {
            if groups.is_none() {
                applied.output.enriched = Some(rows);
            }
            return Ok(());
        }
        // Another run changed the enriched table meanwhile: work it out again on its version.
    }
    Err(DeltaError::Busy(ATTEMPTS))
}

/// The group buckets of the rows the run touched, before and after it.
fn touched_groups(
    output: &Output,
    features: &FeatureSpec,
    buckets: u32,
) -> Result<Vec<u32>, DeltaError> {
    let diff = &output.diff;
    let mut touched = BTreeSet::new();
    for column in [diff.before(&features.group), diff.after(&features.group)]
        .into_iter()
        .flatten()
    {
        touched.extend(group_buckets_of(column, &features.rename, buckets)?);
    }
    Ok(touched.into_iter().collect())
}

/// The enriched rows of the groups in `groups`: their rows from the enriched table, those of
/// the keys the run touched replaced by what the run left, the features computed again.
fn enrich_groups(
    enriched: &DeltaTable,
    snapshot: &delta_kernel::SnapshotRef,
    groups: &[u32],
    output: &Output,
    features: &FeatureSpec,
    as_of: &AsOf,
    request: &Request,
) -> Result<RecordBatch, DeltaError> {
    let table_schema = delta_schema(&output.table.schema());
    let names: Vec<&str> = table_schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    let kept = enriched.read(
        snapshot,
        Some(Partitions {
            column: GROUP_BUCKET_COLUMN,
            buckets: groups,
        }),
    )?;
    let kept: Vec<RecordBatch> = kept
        .iter()
        .map(|b| columns_named(b, &names, &table_schema))
        .collect::<Result<_, _>>()?;
    let kept = arrow_select::concat::concat_batches(&table_schema, &kept)?;
    let key = &request.spec.table.key;
    let touched = KeySet::of(output.diff.keys(), &table_schema, key)?;
    let untouched = arrow_select::filter::filter_record_batch(
        &kept,
        &touched.contains(&key_arrays(&kept, key)?, false)?,
    )?;
    let now = columns_named(&delta_types(&output.table)?, &names, &table_schema)?;
    let now = arrow_select::filter::filter_record_batch(
        &now,
        &touched.contains(&key_arrays(&now, key)?, true)?,
    )?;
    let rows = arrow_select::concat::concat_batches(&table_schema, [&untouched, &now])?;
    Ok(pipeline::enrich_with(features, &rows, as_of, request.options)?.rows)
}

/// `batch`'s columns `names`, in the types of `schema`.
fn columns_named(
    batch: &RecordBatch,
    names: &[&str],
    schema: &SchemaRef,
) -> Result<RecordBatch, DeltaError> {
    let columns = names
        .iter()
        .zip(schema.fields())
        .map(|(name, field)| {
            let column = batch.column_by_name(name).ok_or_else(|| {
                DeltaError::State(format!("the enriched table has no column {name:?}"))
            })?;
            Ok(arrow_cast::cast(column, field.data_type())?)
        })
        .collect::<Result<Vec<_>, DeltaError>>()?;
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

fn key_arrays(batch: &RecordBatch, key: &[String]) -> Result<Vec<ArrayRef>, DeltaError> {
    key.iter()
        .map(|k| {
            batch
                .column_by_name(k)
                .cloned()
                .ok_or_else(|| DeltaError::State(format!("no key column {k:?}")))
        })
        .collect()
}

/// A set of keys, compared in Arrow's row format (any number and types of key columns).
struct KeySet {
    converter: arrow_row::RowConverter,
    types: Vec<DataType>,
    keys: std::collections::HashSet<Box<[u8]>>,
}

impl KeySet {
    fn of(keys: &[ArrayRef], schema: &SchemaRef, key: &[String]) -> Result<KeySet, DeltaError> {
        let types: Vec<DataType> = key
            .iter()
            .map(|k| Ok(delta_type(schema.field_with_name(k)?.data_type())))
            .collect::<Result<_, DeltaError>>()?;
        let converter = arrow_row::RowConverter::new(
            types
                .iter()
                .map(|t| arrow_row::SortField::new(t.clone()))
                .collect(),
        )?;
        let mut set = KeySet {
            converter,
            types,
            keys: Default::default(),
        };
        let rows = set.rows(keys)?;
        set.keys = rows.iter().map(|r| r.as_ref().into()).collect();
        Ok(set)
    }

    fn rows(&self, keys: &[ArrayRef]) -> Result<arrow_row::Rows, DeltaError> {
        let cast: Vec<ArrayRef> = keys
            .iter()
            .zip(&self.types)
            .map(|(k, t)| arrow_cast::cast(k, t))
            .collect::<Result<_, _>>()?;
        Ok(self.converter.convert_columns(&cast)?)
    }

    /// Per row of `keys`: whether its key's being in the set is `wanted`.
    fn contains(
        &self,
        keys: &[ArrayRef],
        wanted: bool,
    ) -> Result<arrow_array::BooleanArray, DeltaError> {
        let rows = self.rows(keys)?;
        Ok(rows
            .iter()
            .map(|r| Some(self.keys.contains(r.as_ref()) == wanted))
            .collect())
    }
}

/// `rows` cut by the bucket of their feature group.
fn group_partitions(
    rows: &RecordBatch,
    features: &FeatureSpec,
    buckets: u32,
) -> Result<Vec<(u32, RecordBatch)>, DeltaError> {
    let group = rows
        .column_by_name(&features.group)
        .ok_or_else(|| DeltaError::State(format!("no group column {:?}", features.group)))?;
    cut(rows, group_buckets_of(group, &features.rename, buckets)?)
}

/// Appends `rows` to a derived table, unless it already records `version` of the maintained
/// table.
fn append_derived(table: &DeltaTable, rows: RecordBatch, version: u64) -> Result<(), DeltaError> {
    for _ in 0..ATTEMPTS {
        let committed = match table.latest()? {
            None => {
                let mut txn = table
                    .create(&rows.schema(), None)?
                    .with_transaction_id(APP_ID.to_string(), version as i64);
                table.stage_add(&mut txn, rows.clone(), None)?;
                table.commit(txn)?
            }
            Some(snapshot) => {
                let done = snapshot.get_app_id_version(APP_ID, table_engine(table))?;
                if done.is_some_and(|done| done >= version as i64) {
                    return Ok(());
                }
                let mut txn = table
                    .update(&snapshot, &[])?
                    .with_transaction_id(APP_ID.to_string(), version as i64);
                table.stage_add(&mut txn, rows.clone(), None)?;
                table.commit(txn)?
            }
        };
        if let Committed::Version(_) = committed {
            return Ok(());
        }
    }
    Err(DeltaError::Busy(ATTEMPTS))
}

fn table_engine(table: &DeltaTable) -> &dyn delta_kernel::Engine {
    table.engine()
}

/// The buckets whose keys `changes` touch: each change's key and, for a key that moved, the
/// key it had before. A truncate touches every bucket.
pub(crate) fn touched_buckets(
    spec: &TableSpec,
    schema: &SchemaRef,
    changes: &[ChangeBatch],
    meta: &TableMeta,
) -> Result<Vec<u32>, DeltaError> {
    let mut touched = BTreeSet::new();
    for batch in changes {
        if batch.ops.contains(&Op::Truncate) {
            return Ok((0..meta.buckets).collect());
        }
        let key = key_columns(spec, schema, &batch.rows)?;
        touched.extend(buckets_of(&key, meta.buckets)?);
        if let Some(before) = &batch.before_key {
            touched.extend(buckets_of(before, meta.buckets)?);
        }
    }
    Ok(touched.into_iter().collect())
}

fn key_columns(
    spec: &TableSpec,
    schema: &SchemaRef,
    rows: &RecordBatch,
) -> Result<Vec<ArrayRef>, DeltaError> {
    spec.table
        .key
        .iter()
        .map(|k| {
            schema
                .index_of(k)
                .map(|i| rows.column(i).clone())
                .map_err(|_| DeltaError::State(format!("the table has no key column {k:?}")))
        })
        .collect()
}

/// `rows` cut by bucket, for the buckets in `buckets` that have rows.
pub(crate) fn by_bucket(
    rows: &RecordBatch,
    meta: &TableMeta,
    buckets: &[u32],
) -> Result<Vec<(u32, RecordBatch)>, DeltaError> {
    let key: Vec<ArrayRef> = meta
        .key
        .iter()
        .map(|k| {
            rows.column_by_name(k)
                .cloned()
                .ok_or_else(|| DeltaError::State(format!("no key column {k:?}")))
        })
        .collect::<Result<_, _>>()?;
    let parts = cut(rows, buckets_of(&key, meta.buckets)?)?;
    if let Some((bucket, _)) = parts
        .iter()
        .find(|(b, _)| buckets.binary_search(b).is_err())
    {
        return Err(DeltaError::State(format!(
            "a row of bucket {bucket} came out of a run over other buckets"
        )));
    }
    Ok(parts)
}

/// `rows` cut by `bucket_of_row`, one batch per bucket that has rows, in bucket order.
pub(crate) fn cut(
    rows: &RecordBatch,
    bucket_of_row: Vec<u32>,
) -> Result<Vec<(u32, RecordBatch)>, DeltaError> {
    let mut indices: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for (row, bucket) in bucket_of_row.into_iter().enumerate() {
        indices.entry(bucket).or_default().push(row as u32);
    }
    indices
        .into_iter()
        .map(|(bucket, rows_of)| {
            let taken = arrow_select::take::take_record_batch(rows, &UInt32Array::from(rows_of))?;
            Ok((bucket, taken))
        })
        .collect()
}

/// Writes the run's versions of `buckets`, one file per bucket, and points `meta` at them.
pub(crate) fn write_state(
    table: &DeltaTable,
    output: &Output,
    meta: &mut TableMeta,
    buckets: &[u32],
) -> Result<(), DeltaError> {
    for bucket in buckets {
        meta.state.remove(bucket);
    }
    let Some(versions) = &output.versions else {
        return Ok(());
    };
    for (bucket, rows) in by_bucket(&versions.rows, meta, buckets)? {
        let path = format!(
            "_tidemark_state/bucket={bucket}/{}.parquet",
            uuid::Uuid::new_v4()
        );
        table.put(&path, encode::to_parquet(&rows)?)?;
        meta.state.insert(bucket, path);
    }
    Ok(())
}

/// The versions of the keys in `buckets`, from their state files.
fn read_state(
    table: &DeltaTable,
    meta: &TableMeta,
    buckets: &[u32],
    schema: &SchemaRef,
    spec: &TableSpec,
) -> Result<Option<Versions>, DeltaError> {
    let mut batches = Vec::new();
    for bucket in buckets {
        if let Some(path) = meta.state.get(bucket) {
            let file = InputFile::new(format!("{}{path}", table.url), table.get(path)?);
            batches.push((file.name.clone(), read_parquet(&file)?));
        }
    }
    let Some((name, first)) = batches.first() else {
        return Ok(None);
    };
    let rows =
        arrow_select::concat::concat_batches(&first.schema(), batches.iter().map(|(_, b)| b))?;
    Ok(Some(Versions::from_batch(rows, schema, spec, name)?))
}

fn read_meta(
    table: &DeltaTable,
    snapshot: &delta_kernel::SnapshotRef,
) -> Result<TableMeta, DeltaError> {
    let text = snapshot
        .get_domain_metadata(DOMAIN, table_engine(table))?
        .ok_or_else(|| {
            DeltaError::State(format!(
                "{} is a Delta table Tidemark did not create (no {DOMAIN:?} domain metadata)",
                table.url
            ))
        })?;
    let meta: TableMeta = serde_json::from_str(&text).map_err(|e| {
        DeltaError::State(format!(
            "{}: unreadable {DOMAIN:?} metadata: {e}",
            table.url
        ))
    })?;
    if meta.format > FORMAT {
        return Err(DeltaError::State(format!(
            "{} was written by a newer Tidemark (metadata format {}, this one reads {FORMAT})",
            table.url, meta.format
        )));
    }
    Ok(meta)
}

pub(crate) fn meta_json(meta: &TableMeta) -> String {
    serde_json::to_string(meta).expect("metadata serialises")
}

/// `schema` without Tidemark's key-bucket column (the kernel reads rows without it).
pub(crate) fn without_bucket(schema: &SchemaRef) -> SchemaRef {
    Arc::new(Schema::new_with_metadata(
        schema
            .fields()
            .iter()
            .filter(|f| f.name() != BUCKET_COLUMN)
            .cloned()
            .collect::<Vec<_>>(),
        schema.metadata().clone(),
    ))
}
