//! The first run of a table. A full load in several parts is read a part at a time: memory
//! follows the largest part (DMS cuts a full load into parts, `MaxFileSize`, 1 GB by default),
//! not the table. (A single file is in memory whole anyway: it goes through the core in one
//! pass, faster.)
//!
//! 1. The change files are decoded first (they are small) and say which key buckets their
//!    keys fall in.
//! 2. Each `LOAD` part is decoded alone and cut by key bucket. Rows of buckets no change
//!    touches are final: they are written as data files of the new table at once, and
//!    spilled, cut by feature group, beside it (`_tidemark_spill/`). Rows of touched buckets
//!    are held.
//! 3. The core applies the changes to the held rows; the result is written and spilled too.
//! 4. One commit creates the table. Then the features are computed a group bucket at a time
//!    from the spill (the features of a group need all its rows and nothing else), written as
//!    the enriched table in one commit, and the spill is removed.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Date32Type;
use arrow_array::{ArrayRef, Date32Array, RecordBatch, UInt32Array};
use arrow_schema::{DataType, Field, Schema};
use tidemark_core::bucket::{KeyHashes, RepeatedKeys, key_hashes};
use tidemark_core::changes::Sources;
use tidemark_core::decode::{decode_changes, decode_snapshot, read_parquet, table_schema};
use tidemark_core::features::AsOf;
use tidemark_core::features::AsOfSource;
use tidemark_core::files::{sort_by_apply_order, sort_for_apply};
use tidemark_core::pipeline::{self, Decoded, Stage, infer_as_of};
use tidemark_core::report::{FeatureSummary, SnapshotSummary};
use tidemark_core::spec::FeatureSpec;
use tidemark_core::{InputFile, Snapshot, encode};

use crate::DeltaError;
use crate::bucket::{BUCKET_COLUMN, GROUP_BUCKET_COLUMN, buckets_of, group_buckets_of};
use crate::meta::{DOMAIN, ENRICHED_DOMAIN, EnrichedMeta, FORMAT, TableMeta};
use crate::run::{
    APP_ID, ATTEMPTS, Applied, ENRICHED, Part, Request, by_bucket, cut, meta_json,
    record_whole_run, stage_whole, touched_buckets, write_state,
};
use crate::store::Place;
use crate::table::{Committed, DeltaTable};

/// Creates the table from `request`: with a full load in several parts, a part at a time (see
/// the module); else in one pass of the core. `None` if another writer created it first.
pub(crate) fn create(
    place: &Place,
    table: &DeltaTable,
    request: &Request,
    progress: &mut dyn FnMut(Stage),
) -> Result<Option<Applied>, DeltaError> {
    match request.initial.len() {
        // One file is in memory whole whatever is done: the spill would only cost time.
        0 | 1 => create_whole(table, request, progress),
        _ => create_in_parts(place, table, request, progress),
    }
}

/// The first run in one pass of the core, every bucket written.
fn create_whole(
    table: &DeltaTable,
    request: &Request,
    progress: &mut dyn FnMut(Stage),
) -> Result<Option<Applied>, DeltaError> {
    let output = pipeline::run(
        request.spec,
        request.whole_inputs()?,
        request.options,
        progress,
    )?;
    let mut meta = TableMeta::new(request.buckets, request.spec.table.key.clone());
    meta.as_of = output.report.features.as_ref().map(|f| f.as_of);
    let mut fields: Vec<Field> = output
        .table
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.push(Field::new(BUCKET_COLUMN, DataType::Int32, false));
    let mut txn = table.create(&Schema::new(fields), Some(BUCKET_COLUMN))?;
    stage_whole(table, &mut txn, &output, &mut meta, request)?;
    let txn = txn.with_domain_metadata(DOMAIN.to_string(), meta_json(&meta));
    Ok(match table.commit(txn)? {
        Committed::Version(version) => Some(Applied::created(output, version, request, false)),
        Committed::Conflict(_) => None,
    })
}

/// The first run a full-load part at a time (see the module).
fn create_in_parts(
    place: &Place,
    table: &DeltaTable,
    request: &Request,
    progress: &mut dyn FnMut(Stage),
) -> Result<Option<Applied>, DeltaError> {
    let spec = request.spec;
    let options = request.options;
    let mut meta = TableMeta::new(request.buckets, spec.table.key.clone());
    let mut parts = request.initial.clone();
    sort_by_apply_order(&mut parts, Part::name);
    // The first part says the table's columns; it is read once.
    let mut first = parts.first().map(Part::read).transpose()?;
    let schema = table_schema(spec, first.as_slice())?;

    let mut change_files = request.changes.clone();
    sort_for_apply(&mut change_files);
    let total = parts.len() + change_files.len();
    let mut changes = Vec::with_capacity(change_files.len());
    for (index, file) in change_files.iter().enumerate() {
        options.cancel.check()?;
        progress(decoding(file, parts.len() + index, total));
        changes.push(decode_changes(spec, &schema, file)?);
    }
    drop(change_files);
    let touched = touched_buckets(spec, &schema, &changes, &meta)?;
    let is_touched = |bucket: u32| touched.binary_search(&bucket).is_ok();

    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new(BUCKET_COLUMN, DataType::Int32, false));
    let mut txn = table.create(&Schema::new(fields), Some(BUCKET_COLUMN))?;
    let features = spec.features.as_ref().filter(|_| request.write_enriched);
    let mut spill = features.map(|f| Spill::new(table, f, request.buckets));
    let mut newest_date = NewestDate::new(features.map(|f| f.date.as_str()));

    let mut held: Vec<RecordBatch> = Vec::new();
    let mut held_sources = Sources::default();
    let mut held_rows = 0;
    let mut rows = 0;
    let mut seen = KeyHashes::default();
    for (index, part) in parts.iter().enumerate() {
        options.cancel.check()?;
        let part = match first.take() {
            Some(file) => file,
            None => part.read()?,
        };
        progress(decoding(&part, index, total));
        let decoded = decode_snapshot(spec, &schema, std::slice::from_ref(&part))?;
        // Read in turn, decoded, and let go before the next: a mapped file is unmapped here.
        drop(part);
        rows += decoded.rows.num_rows();
        let key = key_arrays(&decoded.rows, &meta.key)?;
        let bucket_of_row = buckets_of(&key, meta.buckets)?;
        // A key in two parts would be two rows of the table: the core checks the rows it
        // holds, these hashes the rest, without holding them.
        seen.add(&key_hashes(&key)?);
        let (mut kept, mut final_rows) = (Vec::new(), Vec::new());
        for (row, bucket) in bucket_of_row.iter().enumerate() {
            match is_touched(*bucket) {
                true => kept.push(row as u32),
                false => final_rows.push(row as u32),
            }
        }
        if !kept.is_empty() {
            let rows_of = take(&decoded.rows, kept.clone())?;
            let numbers: Arc<[u64]> = kept
                .iter()
                .map(|&row| decoded.sources.file_and_row(row as usize).1)
                .collect();
            held_sources.push_rows(decoded.sources.file_and_row(0).0, held_rows, numbers);
            held_rows += rows_of.num_rows();
            held.push(rows_of);
        }
        let final_rows = take(&decoded.rows, final_rows)?;
        drop(decoded);
        newest_date.see(&final_rows);
        if let Some(spill) = &mut spill {
            spill.add(&final_rows)?;
        }
        let untouched: Vec<u32> = bucket_of_row
            .into_iter()
            .filter(|b| !is_touched(*b))
            .collect();
        for (bucket, rows_of) in cut(&final_rows, untouched)? {
            table.stage_add(&mut txn, rows_of, Some((BUCKET_COLUMN, bucket)))?;
        }
    }

    let repeated = seen.repeated();
    if !repeated.is_empty() {
        // Some key hashes came twice: the parts are read again for those keys alone.
        let mut repeats = RepeatedKeys::new(repeated);
        for part in &parts {
            let decoded = decode_snapshot(spec, &schema, &[part.read()?])?;
            repeats.check(
                &key_arrays(&decoded.rows, &meta.key)?,
                &meta.key,
                &decoded.sources,
            )?;
        }
    }

    // The held rows of the touched buckets, with the changes: through the core. Features
    // are computed below, group by group, for the whole table.
    let held = arrow_select::concat::concat_batches(&schema, &held)?;
    let part_names: Vec<String> = parts.iter().map(|p| p.name().to_string()).collect();
    drop(parts);
    let mut plain = spec.clone();
    plain.features = None;
    let decoded = Decoded {
        snapshot: Snapshot {
            rows: held,
            sources: held_sources,
        },
        snapshot_files: part_names.clone(),
        versions: None,
        change_log: None,
        changes: changes.clone(),
    };
    let mut output = pipeline::run_decoded(&plain, decoded, options, progress)?;
    output.report.snapshot = SnapshotSummary {
        files: part_names,
        rows,
    };
    newest_date.see(&output.table);
    if let Some(spill) = &mut spill {
        spill.add(&output.table)?;
    }
    for (bucket, rows_of) in by_bucket(&output.table, &meta, &touched)? {
        table.stage_add(&mut txn, rows_of, Some((BUCKET_COLUMN, bucket)))?;
    }
    write_state(table, &output, &mut meta, &touched)?;
    let as_of = match features {
        Some(features) => Some(match options.as_of {
            Some(date) => AsOf {
                date,
                source: AsOfSource::Given,
            },
            None => infer_as_of(
                output.newest_timestamp,
                &changes,
                &newest_date.as_batch(),
                &features.date,
            )?,
        }),
        None => None,
    };
    meta.as_of = as_of.as_ref().map(|a| a.date);
    record_whole_run(&mut meta, request);
    let txn = txn.with_domain_metadata(DOMAIN.to_string(), meta_json(&meta));
    let version = match table.commit(txn)? {
        Committed::Version(version) => version,
        Committed::Conflict(_) => {
            if let Some(spill) = spill {
                spill.remove();
            }
            return Ok(None);
        }
    };
    if let (Some(spill), Some(features), Some(as_of)) = (spill, features, &as_of) {
        progress(Stage::Enrich);
        let summary = enrich_from_spill(place, &spill, features, as_of, request, version);
        spill.remove();
        output.report.features = summary?;
    }
    Ok(Some(Applied::created(output, version, request, true)))
}

fn decoding(file: &InputFile, index: usize, total: usize) -> Stage<'_> {
    Stage::Decode {
        file: &file.name,
        index,
        total,
        bytes: file.bytes.len(),
    }
}

fn take(rows: &RecordBatch, indices: Vec<u32>) -> Result<RecordBatch, DeltaError> {
    Ok(arrow_select::take::take_record_batch(
        rows,
        &UInt32Array::from(indices),
    )?)
}

fn key_arrays(rows: &RecordBatch, key: &[String]) -> Result<Vec<ArrayRef>, DeltaError> {
    key.iter()
        .map(|k| {
            rows.column_by_name(k)
                .cloned()
                .ok_or_else(|| DeltaError::State(format!("no key column {k:?}")))
        })
        .collect()
}

/// The newest date of the features' date column over every row written: what `as_of` is
/// when no change dates the run.
struct NewestDate<'a> {
    column: Option<&'a str>,
    newest: Option<i32>,
}

impl<'a> NewestDate<'a> {
    fn new(column: Option<&'a str>) -> Self {
        NewestDate {
            column,
            newest: None,
        }
    }

    fn see(&mut self, rows: &RecordBatch) {
        let dates = self
            .column
            .and_then(|c| rows.column_by_name(c))
            .and_then(|c| c.as_primitive_opt::<Date32Type>());
        if let Some(newest) = dates.and_then(|d| d.iter().flatten().max()) {
            self.newest = self.newest.max(Some(newest));
        }
    }

    /// A one-row table holding the newest date, for [`infer_as_of`].
    fn as_batch(&self) -> RecordBatch {
        let column = self.column.unwrap_or("date");
        let dates: ArrayRef = Arc::new(Date32Array::from(vec![self.newest]));
        RecordBatch::try_from_iter([(column, dates)]).expect("one column")
    }
}

/// The table's rows cut by feature group, in files beside the table until the enriched table
/// is written from them.
struct Spill<'a> {
    table: &'a DeltaTable,
    features: &'a FeatureSpec,
    buckets: u32,
    folder: String,
    files: BTreeMap<u32, Vec<String>>,
}

impl<'a> Spill<'a> {
    fn new(table: &'a DeltaTable, features: &'a FeatureSpec, buckets: u32) -> Self {
        Spill {
            table,
            features,
            buckets,
            folder: format!("_tidemark_spill/{}", uuid::Uuid::new_v4()),
            files: BTreeMap::new(),
        }
    }

    fn add(&mut self, rows: &RecordBatch) -> Result<(), DeltaError> {
        if rows.num_rows() == 0 {
            return Ok(());
        }
        let group = rows.column_by_name(&self.features.group).ok_or_else(|| {
            DeltaError::State(format!("no group column {:?}", self.features.group))
        })?;
        let groups = group_buckets_of(group, &self.features.rename, self.buckets)?;
        for (bucket, rows_of) in cut(rows, groups)? {
            let files = self.files.entry(bucket).or_default();
            let path = format!("{}/group={bucket}/{}.parquet", self.folder, files.len());
            self.table.put(&path, encode::to_parquet(&rows_of)?)?;
            files.push(path);
        }
        Ok(())
    }

    /// The rows of one group bucket.
    fn read(&self, bucket: u32) -> Result<Option<RecordBatch>, DeltaError> {
        let Some(files) = self.files.get(&bucket) else {
            return Ok(None);
        };
        let mut batches = Vec::with_capacity(files.len());
        for path in files {
            let file = InputFile::new(format!("{}{path}", self.table.url), self.table.get(path)?);
            batches.push(read_parquet(&file)?);
        }
        let schema = batches[0].schema();
        Ok(Some(arrow_select::concat::concat_batches(
            &schema, &batches,
        )?))
    }

    /// Removes the spill; what cannot be removed is only clutter, never read again.
    fn remove(self) {
        for path in self.files.values().flatten() {
            let _ = self.table.delete(path);
        }
    }
}

/// Writes the enriched table of the table's `version` from the spill, a group bucket at a
/// time, in one commit; the features' summary of the whole table.
fn enrich_from_spill(
    place: &Place,
    spill: &Spill,
    features: &FeatureSpec,
    as_of: &AsOf,
    request: &Request,
    version: u64,
) -> Result<Option<FeatureSummary>, DeltaError> {
    let enriched = DeltaTable::new(place, ENRICHED);
    let wanted = EnrichedMeta {
        format: FORMAT,
        table_version: version,
        buckets: spill.buckets,
        as_of: as_of.date,
        window_days: request.options.window_days.unwrap_or(features.window_days),
        lookup: request.lookup_digest,
    };
    let meta_json = serde_json::to_string(&wanted).expect("metadata serialises");
    for _ in 0..ATTEMPTS {
        let latest = enriched.latest()?;
        if let Some(snapshot) = &latest {
            let done = snapshot.get_app_id_version(APP_ID, enriched.engine())?;
            if done.is_some_and(|done| done >= version as i64) {
                return Ok(None);
            }
        }
        let mut summaries = Vec::new();
        let mut staged: Option<Staged> = None;
        for bucket in 0..spill.buckets {
            let Some(rows) = spill.read(bucket)? else {
                continue;
            };
            let result = pipeline::enrich_with(features, &rows, as_of, request.options)?;
            summaries.push(result.summary);
            let txn = match &mut staged {
                Some(txn) => txn,
                None => staged.insert(Staged::begin(&enriched, latest.as_ref(), &result.rows)?),
            };
            txn.add(&enriched, result.rows, bucket)?;
        }
        let Some(staged) = staged else {
            return Ok(None);
        };
        let committed = staged.commit(&enriched, version, &meta_json)?;
        if let Committed::Version(_) = committed {
            return Ok(FeatureSummary::merge(summaries));
        }
    }
    Err(DeltaError::Busy(ATTEMPTS))
}

/// A commit of the enriched table being staged: a new table, or every file of the existing
/// one replaced.
enum Staged {
    Create(delta_kernel::transaction::create_table::CreateTableTransaction),
    Replace(delta_kernel::transaction::Transaction),
}

impl Staged {
    fn begin(
        enriched: &DeltaTable,
        latest: Option<&delta_kernel::SnapshotRef>,
        like: &RecordBatch,
    ) -> Result<Staged, DeltaError> {
        Ok(match latest {
            None => {
                let mut fields: Vec<Field> = like
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| f.as_ref().clone())
                    .collect();
                fields.push(Field::new(GROUP_BUCKET_COLUMN, DataType::Int32, false));
                Staged::Create(enriched.create(&Schema::new(fields), Some(GROUP_BUCKET_COLUMN))?)
            }
            Some(snapshot) => {
                let mut txn = enriched.update(snapshot, &[])?;
                enriched.stage_remove(snapshot, &mut txn, None)?;
                Staged::Replace(txn)
            }
        })
    }

    fn add(
        &mut self,
        enriched: &DeltaTable,
        rows: RecordBatch,
        bucket: u32,
    ) -> Result<(), DeltaError> {
        let partition = Some((GROUP_BUCKET_COLUMN, bucket));
        match self {
            Staged::Create(txn) => enriched.stage_add(txn, rows, partition),
            Staged::Replace(txn) => enriched.stage_add(txn, rows, partition),
        }
    }

    fn commit(
        self,
        enriched: &DeltaTable,
        version: u64,
        meta_json: &str,
    ) -> Result<Committed, DeltaError> {
        match self {
            Staged::Create(txn) => enriched.commit(
                txn.with_transaction_id(APP_ID.to_string(), version as i64)
                    .with_domain_metadata(ENRICHED_DOMAIN.to_string(), meta_json.to_string()),
            ),
            Staged::Replace(txn) => enriched.commit(
                txn.with_transaction_id(APP_ID.to_string(), version as i64)
                    .with_domain_metadata(ENRICHED_DOMAIN.to_string(), meta_json.to_string()),
            ),
        }
    }
}
