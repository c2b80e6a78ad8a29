//! One Tidemark run against Delta tables: the maintained table read and rewritten a bucket of
//! keys at a time, its state committed with it, the diff appended as a change feed, the
//! enriched table replaced.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch, UInt32Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use tidemark_core::decode::{decode_changes, read_parquet};
use tidemark_core::features::AsOf;
use tidemark_core::files::sort_for_apply;
use tidemark_core::pipeline::{self, Decoded, Inputs, Options, Output, Stage};
use tidemark_core::{ChangeBatch, InputFile, Op, Snapshot, TableSpec, Versions, encode};

use crate::DeltaError;
use crate::bucket::{BUCKET_COLUMN, buckets_of};
use crate::meta::{DOMAIN, FORMAT, TableMeta, applied_name};
use crate::store::Place;
use crate::table::{Committed, DeltaTable};

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
const ATTEMPTS: u32 = 8;

/// What to apply, and where the results go.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub spec: &'a TableSpec,
    /// The table's first contents (a snapshot file or the parts of a DMS full load), read
    /// only when the table does not exist yet.
    pub initial: Vec<InputFile>,
    pub changes: Vec<InputFile>,
    pub options: &'a Options,
    /// The number of buckets of a table this run creates.
    pub buckets: u32,
    pub write_diff: bool,
    pub write_enriched: bool,
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
    pub buckets: u32,
    /// The buckets read and rewritten.
    pub buckets_touched: usize,
    /// How many times the run was done: more than once when another writer committed first.
    pub attempts: u32,
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
    let table = DeltaTable::new(place, TABLE);
    for attempt in 1..=ATTEMPTS {
        let outcome = match table.latest()? {
            None => create(&table, request, progress)?,
            Some(snapshot) => update(&table, &snapshot, request, progress)?,
        };
        if let Some(mut applied) = outcome {
            applied.attempts = attempt;
            write_derived(place, &table, request, &mut applied)?;
            return Ok(applied);
        }
    }
    Err(DeltaError::Busy(ATTEMPTS))
}

/// The first run: the whole pipeline, every bucket written. `None` if another writer created
/// the table first.
fn create(
    table: &DeltaTable,
    request: &Request,
    progress: &mut dyn FnMut(Stage),
) -> Result<Option<Applied>, DeltaError> {
    let inputs = Inputs {
        snapshot: request.initial.clone(),
        changes: request.changes.clone(),
        ..Default::default()
    };
    let output = pipeline::run(request.spec, inputs, request.options, progress)?;
    let key = request.spec.table.key.clone();
    let mut meta = TableMeta::new(request.buckets, key);
    meta.as_of = output.report.features.as_ref().map(|f| f.as_of);

    let table_schema = output.table.schema();
    let mut fields: Vec<Field> = table_schema
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.push(Field::new(BUCKET_COLUMN, DataType::Int32, false));
    let mut txn = table.create(&Schema::new(fields), true)?;
    let all: Vec<u32> = (0..request.buckets).collect();
    for (bucket, rows) in by_bucket(&output.table, &meta, &all)? {
        table.stage_add(&mut txn, rows, Some(bucket))?;
    }
    write_state(table, &output, &mut meta, &all)?;
    meta.applied.extend(
        request
            .changes
            .iter()
            .map(|f| applied_name(&f.name).to_string()),
    );
    let txn = txn.with_domain_metadata(DOMAIN.to_string(), meta_json(&meta));
    Ok(match table.commit(txn)? {
        Committed::Version(version) => Some(Applied {
            output,
            table_version: version,
            created: true,
            buckets: request.buckets,
            buckets_touched: request.buckets as usize,
            attempts: 0,
        }),
        Committed::Conflict(_) => None,
    })
}

/// A later run: the buckets the changes touch read, applied, rewritten. `None` if another
/// writer committed first.
fn update(
    table: &DeltaTable,
    snapshot: &delta_kernel::SnapshotRef,
    request: &Request,
    progress: &mut dyn FnMut(Stage),
) -> Result<Option<Applied>, DeltaError> {
    let spec = request.spec;
    let version = snapshot.version();
    let mut meta = read_meta(table, snapshot)?;
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

    let batches = table.read(snapshot, Some(&touched))?;
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
            buckets: meta.buckets,
            buckets_touched: 0,
            attempts: 0,
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
    table.stage_remove(snapshot, &mut txn, Some(&touched))?;
    for (bucket, rows) in by_bucket(&output.table, &meta, &touched)? {
        table.stage_add(&mut txn, rows, Some(bucket))?;
    }
    write_state(table, &output, &mut meta, &touched)?;
    meta.applied.extend(
        request
            .changes
            .iter()
            .map(|f| applied_name(&f.name).to_string()),
    );
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
            buckets: meta.buckets,
            buckets_touched: touched.len(),
            attempts: 0,
        }),
        Committed::Conflict(_) => None,
    })
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
        commit_derived(&DeltaTable::new(place, DIFF), rows, version, false)?;
    }
    if let (true, Some(features)) = (request.write_enriched, &request.spec.features) {
        if !applied.created {
            // The features of a group depend on all its rows, wherever their keys' buckets
            // are: the whole table, as this run left it.
            let snapshot = table
                .at(Some(version))?
                .expect("the version just committed");
            let schema = without_bucket(&DeltaTable::arrow_schema(&snapshot)?);
            let whole =
                arrow_select::concat::concat_batches(&schema, &table.read(&snapshot, None)?)?;
            let summary = applied
                .output
                .report
                .features
                .clone()
                .expect("a spec with features reports them");
            let as_of = AsOf {
                date: summary.as_of,
                source: summary.as_of_source,
            };
            let enriched = pipeline::enrich_with(features, &whole, &as_of, request.options)?;
            applied.output.enriched = Some(enriched.rows);
            applied.output.report.features = Some(enriched.summary);
        }
        if let Some(rows) = &applied.output.enriched {
            commit_derived(
                &DeltaTable::new(place, ENRICHED),
                rows.clone(),
                version,
                true,
            )?;
        }
    }
    Ok(())
}

/// Appends `rows` to a derived table (replacing what it held when `replace`), unless it
/// already records `version` of the maintained table.
fn commit_derived(
    table: &DeltaTable,
    rows: RecordBatch,
    version: u64,
    replace: bool,
) -> Result<(), DeltaError> {
    for _ in 0..ATTEMPTS {
        let committed = match table.latest()? {
            None => {
                let mut txn = table
                    .create(&rows.schema(), false)?
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
                if replace {
                    table.stage_remove(&snapshot, &mut txn, None)?;
                }
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
fn touched_buckets(
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
fn by_bucket(
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
    let of_row = buckets_of(&key, meta.buckets)?;
    let mut indices: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for (row, bucket) in of_row.into_iter().enumerate() {
        indices.entry(bucket).or_default().push(row as u32);
    }
    indices
        .into_iter()
        .map(|(bucket, rows_of)| {
            if buckets.binary_search(&bucket).is_err() {
                return Err(DeltaError::State(format!(
                    "a row of bucket {bucket} came out of a run over other buckets"
                )));
            }
            let taken = arrow_select::take::take_record_batch(rows, &UInt32Array::from(rows_of))?;
            Ok((bucket, taken))
        })
        .collect()
}

/// Writes the run's versions of `buckets`, one file per bucket, and points `meta` at them.
fn write_state(
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

fn meta_json(meta: &TableMeta) -> String {
    serde_json::to_string(meta).expect("metadata serialises")
}

fn without_bucket(schema: &SchemaRef) -> SchemaRef {
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
