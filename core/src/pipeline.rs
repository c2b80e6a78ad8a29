//! The whole job in one call: decode, apply, enrich, report. The CLI, the browser module and
//! the desktop app all run it; they differ only in where the bytes come from and go to.

use chrono::{DateTime, NaiveDate};

use crate::apply::{ApplyOptions, Versions, apply};
use crate::cancel::Cancel;
use crate::changes::{ChangeBatch, Snapshot};
use crate::decode::{
    InputTable, decode_changes, decode_changes_table, decode_snapshot, decode_snapshot_tables,
    read_parquet, table_schema, table_schema_of_tables,
};
use crate::diff::Diff;
use crate::error::{Error, ErrorKind, Result};
use crate::features::lookup::Lookup;
use crate::features::{AsOf, AsOfSource, Enriched, enrich};
use crate::files::{DmsName, InputFile, sort_by_apply_order, sort_for_apply};
use crate::history::{ChangeLog, History};
use crate::report::{RunReport, SnapshotSummary};
use crate::snapshot_diff::changes_between;
use crate::spec::{FeatureSpec, TableSpec};
use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::Date32Type;

/// What to apply to what.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// The snapshot: a Parquet file, or the parts of a DMS full load. None at all for a DMS
    /// task without a full load (CDC only): the table starts empty, with the spec's columns.
    pub snapshot: Vec<InputFile>,
    /// The versions written by an earlier run (its `state.parquet`), if changes carry a sequence.
    pub state: Option<InputFile>,
    /// Change files, in any order: they are sorted by their DMS names.
    pub changes: Vec<InputFile>,
    /// The change log an earlier run kept (its `change_log.parquet`), when the spec keeps
    /// history: this run extends it.
    pub change_log: Option<InputFile>,
    /// A newer full snapshot of the table, for sources that deliver only full extracts: the
    /// inserts, updates and deletes that turn `snapshot` into it are worked out by key
    /// ([`crate::snapshot_diff`]) and applied with the change files.
    pub next_snapshot: Vec<InputFile>,
}

/// Inputs already in Arrow, given beside or instead of files ([`decode_with_tables`]): a
/// pyarrow table, a Spark partition's rows. Each is decoded as the Parquet file holding it
/// would be ([`InputTable`]).
#[derive(Debug, Clone, Default)]
pub struct Tables {
    /// The snapshot, instead of snapshot files.
    pub snapshot: Vec<InputTable>,
    /// The state an earlier run wrote (its `state.parquet` as a table), instead of a file.
    pub state: Option<InputTable>,
    /// Change tables, named as change files are: they apply among the change files in the
    /// order of their names.
    pub changes: Vec<InputTable>,
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The end of the features' window; by default the date of the newest change applied.
    pub as_of: Option<NaiveDate>,
    /// The `as_of` of an earlier run on the same table, when `as_of` is not given: the window
    /// never moves back before it (a late file does not date the table earlier), and it is
    /// used when the changes do not date themselves (no sequence, no DMS names).
    pub as_of_not_before: Option<NaiveDate>,
    /// Override the spec's window.
    pub window_days: Option<u32>,
    /// The lookup table; `None` uses the bundled US cities.
    pub lookup: Option<Lookup>,
    pub strict: bool,
    /// Stops the run part-way when cancelled: checked between files and phases and inside
    /// the replay of changes.
    pub cancel: Cancel,
    /// When the `next_snapshot` was taken: its changes' sequence value, which orders them and
    /// opens history's versions. Without it they carry none (history refuses them).
    pub snapshot_time: Option<chrono::NaiveDateTime>,
}

/// Where a run is, for progress displays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage<'a> {
    /// About to decode input file `index` of `total`, of `bytes` bytes.
    Decode {
        file: &'a str,
        index: usize,
        total: usize,
        bytes: usize,
    },
    Apply,
    Enrich,
    Done,
}

/// Everything a run produces.
#[derive(Debug, Clone)]
pub struct Output {
    /// The new snapshot, in the input's schema: the next run's input.
    pub table: RecordBatch,
    /// The versions to keep for the next run (changes with a sequence only).
    pub versions: Option<Versions>,
    pub diff: Diff,
    /// The table with its feature columns, when the spec has features.
    pub enriched: Option<RecordBatch>,
    /// Every version of every key and the change log behind it, when the spec keeps history.
    pub history: Option<History>,
    pub report: RunReport,
    /// The newest commit timestamp applied, in microseconds, when the sequence is a timestamp:
    /// what `as_of` is inferred from first ([`infer_as_of`]), also when the spec has no
    /// features (a part of a run whose features are computed later, [`as_of_of_parts`]).
    pub newest_timestamp: Option<i64>,
}

/// Runs the job.
///
/// ```
/// use tidemark_core::{example, pipeline, TableSpec};
/// let seed = example::seed();
/// let inputs = pipeline::Inputs { snapshot: seed.snapshot, changes: seed.changes, ..Default::default() };
/// let out = pipeline::run(&TableSpec::users(), inputs, &pipeline::Options::default(), &mut |_| {}).unwrap();
/// assert_eq!(out.table.num_rows(), 110);
/// assert_eq!(out.report.features.unwrap().as_of.to_string(), "2021-10-18");
/// ```
pub fn run(
    spec: &TableSpec,
    inputs: Inputs,
    options: &Options,
    progress: &mut dyn FnMut(Stage),
) -> Result<Output> {
    let decoded = decode(spec, inputs, options, progress)?;
    run_decoded(spec, decoded, options, progress)
}

/// A run's inputs decoded: what [`run_decoded`] applies. Faces that keep the table somewhere
/// other than files (a Delta table read a bucket of keys at a time) build it themselves.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub snapshot: Snapshot,
    /// The names of the snapshot's files, for the report.
    pub snapshot_files: Vec<String>,
    pub versions: Option<Versions>,
    pub change_log: Option<ChangeLog>,
    /// One batch per change file, in the order they apply.
    pub changes: Vec<ChangeBatch>,
}

/// Decodes a run's inputs (the first half of [`run`]).
pub fn decode(
    spec: &TableSpec,
    inputs: Inputs,
    options: &Options,
    progress: &mut dyn FnMut(Stage),
) -> Result<Decoded> {
    decode_with_tables(spec, inputs, Tables::default(), options, progress)
}

/// Decodes a run's inputs, some of them (or all) already tables: [`decode`] with `tables`.
///
/// ```
/// use tidemark_core::decode::InputTable;
/// use tidemark_core::{example, pipeline, TableSpec};
/// let spec = TableSpec::users();
/// let seed = example::seed();
/// // The seed's snapshot as a table (here read back from Parquet), its changes as files.
/// let whole = pipeline::run(&spec, pipeline::Inputs { snapshot: seed.snapshot.clone(), ..Default::default() },
///     &pipeline::Options::default(), &mut |_| {}).unwrap();
/// let tables = pipeline::Tables { snapshot: vec![InputTable::new("snapshot", whole.table)], ..Default::default() };
/// let inputs = pipeline::Inputs { changes: seed.changes, ..Default::default() };
/// let options = pipeline::Options::default();
/// let decoded = pipeline::decode_with_tables(&spec, inputs, tables, &options, &mut |_| {}).unwrap();
/// let out = pipeline::run_decoded(&spec, decoded, &options, &mut |_| {}).unwrap();
/// assert_eq!(out.table.num_rows(), 110);
/// ```
pub fn decode_with_tables(
    spec: &TableSpec,
    mut inputs: Inputs,
    tables: Tables,
    options: &Options,
    progress: &mut dyn FnMut(Stage),
) -> Result<Decoded> {
    // A window out of range fails before any file is decoded, not after the whole run.
    check_options(options)?;
    if !tables.snapshot.is_empty() && !inputs.snapshot.is_empty() {
        return Err(Error::new(ErrorKind::Invalid(
            "the snapshot is given both as files and as tables: give one".into(),
        )));
    }
    if tables.state.is_some() && inputs.state.is_some() {
        return Err(Error::new(ErrorKind::Invalid(
            "the state is given both as a file and as a table: give one".into(),
        )));
    }
    sort_for_apply(&mut inputs.snapshot);
    sort_for_apply(&mut inputs.changes);
    let schema = match tables.snapshot.is_empty() {
        true => table_schema(spec, &inputs.snapshot)?,
        false => table_schema_of_tables(spec, &tables.snapshot)?,
    };
    let total = inputs.snapshot.len()
        + inputs.next_snapshot.len()
        + inputs.changes.len()
        + inputs.state.is_some() as usize
        + inputs.change_log.is_some() as usize;
    let mut index = 0;
    let mut decoding = |file: &InputFile, progress: &mut dyn FnMut(Stage)| {
        options.cancel.check()?;
        progress(Stage::Decode {
            file: &file.name,
            index,
            total,
            bytes: file.bytes.len(),
        });
        index += 1;
        Ok::<(), Error>(())
    };

    for file in &inputs.snapshot {
        decoding(file, progress)?;
    }
    let (snapshot, snapshot_files) = match tables.snapshot.is_empty() {
        true => {
            let snapshot = decode_snapshot(spec, &schema, &inputs.snapshot)?;
            // What is decoded is not needed as bytes any more: at ten million rows that is
            // hundreds of megabytes (a DMS full load in CSV) the rest of the run need not carry.
            let names: Vec<String> = inputs.snapshot.drain(..).map(|f| f.name).collect();
            (snapshot, names)
        }
        false => {
            let snapshot = decode_snapshot_tables(spec, &schema, &tables.snapshot)?;
            (
                snapshot,
                tables.snapshot.into_iter().map(|t| t.name).collect(),
            )
        }
    };

    let versions = match (&inputs.state, tables.state) {
        (Some(file), _) => {
            decoding(file, progress)?;
            Some(Versions::from_batch(
                read_parquet(file)?,
                &schema,
                spec,
                &file.name,
            )?)
        }
        (None, Some(table)) => Some(Versions::from_batch(
            table.rows,
            &schema,
            spec,
            &table.name,
        )?),
        (None, None) => None,
    };
    let change_log = match (&inputs.change_log, &spec.history) {
        (Some(file), Some(_)) => {
            decoding(file, progress)?;
            Some(ChangeLog::from_batch(
                read_parquet(file)?,
                &schema,
                &file.name,
            )?)
        }
        _ => None,
    };
    for file in &inputs.changes {
        decoding(file, progress)?;
    }
    let mut changes = decode_all_changes(spec, &schema, &inputs.changes)?;
    drop(inputs.changes);
    if !tables.changes.is_empty() {
        changes.extend(crate::par::try_map(&tables.changes, |t| {
            decode_changes_table(spec, &schema, t)
        })?);
        // Tables take their places among the files by name, as files among files.
        sort_by_apply_order(&mut changes, |c| &c.file);
    }
    if !inputs.next_snapshot.is_empty() {
        sort_for_apply(&mut inputs.next_snapshot);
        for file in &inputs.next_snapshot {
            decoding(file, progress)?;
        }
        let next = decode_snapshot(spec, &schema, &inputs.next_snapshot)?;
        let time = options
            .snapshot_time
            .map(|t| t.and_utc().timestamp_micros());
        changes.extend(changes_between(spec, &snapshot, &next, time)?);
    }

    Ok(Decoded {
        snapshot,
        snapshot_files,
        versions,
        change_log,
        changes,
    })
}

/// Fails on options no run can use (a window of days out of range), before anything is
/// decoded. [`decode`] checks them; faces that decode inputs themselves call it first.
pub fn check_options(options: &Options) -> Result<()> {
    match options.window_days {
        Some(days) if !crate::error::WINDOW_DAYS.contains(&days) => {
            Err(Error::new(ErrorKind::WindowDays(days)))
        }
        _ => Ok(()),
    }
}

/// Applies decoded inputs and enriches the result (the second half of [`run`]).
pub fn run_decoded(
    spec: &TableSpec,
    decoded: Decoded,
    options: &Options,
    progress: &mut dyn FnMut(Stage),
) -> Result<Output> {
    let Decoded {
        snapshot,
        snapshot_files,
        versions,
        change_log,
        changes,
    } = decoded;
    options.cancel.check()?;
    progress(Stage::Apply);
    let applied = apply(
        spec,
        &snapshot,
        versions.as_ref(),
        &changes,
        ApplyOptions {
            strict: options.strict,
            cancel: options.cancel.clone(),
            change_log,
        },
    )?;
    let mut applied = applied;
    // Files are reported in the order they applied, which is the order they were decoded in.
    for (summary, batch) in applied.files.iter_mut().zip(&changes) {
        summary.other_tables = batch.row_numbers.is_some().then_some(batch.other_tables);
    }
    let snapshot_rows = snapshot.rows.num_rows();
    drop(snapshot); // the new table is a copy; the diff took what it needs

    let mut enriched = None;
    let mut feature_summary = None;
    if let Some(features) = &spec.features {
        options.cancel.check()?;
        progress(Stage::Enrich);
        let as_of = match options.as_of {
            Some(date) => AsOf {
                date,
                source: AsOfSource::Given,
            },
            None => {
                let inferred = infer_as_of(
                    applied.newest_timestamp,
                    &changes,
                    &applied.rows,
                    &features.date,
                );
                not_before(inferred, options.as_of_not_before)?
            }
        };
        let result = enrich_with(features, &applied.rows, &as_of, options)?;
        enriched = Some(result.rows);
        feature_summary = Some(result.summary);
    }
    options.cancel.check()?;
    progress(Stage::Done);

    let report = RunReport {
        table: spec.table.name.clone(),
        snapshot: SnapshotSummary {
            files: snapshot_files,
            rows: snapshot_rows,
        },
        changes: applied.files,
        apply: applied.summary,
        anomalies: applied.anomalies,
        features: feature_summary,
    };
    Ok(Output {
        table: applied.rows,
        versions: applied.versions,
        diff: applied.diff,
        enriched,
        history: applied.history,
        report,
        newest_timestamp: applied.newest_timestamp,
    })
}

fn decode_all_changes(
    spec: &TableSpec,
    schema: &arrow_schema::SchemaRef,
    files: &[InputFile],
) -> Result<Vec<ChangeBatch>> {
    crate::par::try_map(files, |f| decode_changes(spec, schema, f))
}

/// The features of `table` as of `as_of`, with the options' window and lookup (the bundled
/// US cities when none is given).
pub fn enrich_with(
    features: &FeatureSpec,
    table: &RecordBatch,
    as_of: &AsOf,
    options: &Options,
) -> Result<Enriched> {
    let mut features = features.clone();
    if let Some(days) = options.window_days {
        features.window_days = days;
    }
    let default_lookup;
    let lookup = match (&features.output.lookup, &options.lookup) {
        (None, _) => None,
        (Some(_), Some(lookup)) => Some(lookup),
        (Some(_), None) => {
            default_lookup = Lookup::us_cities();
            Some(&default_lookup)
        }
    };
    enrich(table, &features, as_of, lookup)
}

/// What one part of a run, applied on its own, inferred of `as_of` ([`infer_as_of`] on its
/// changes and table: `None` when it could not), and whether it applied any change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartAsOf {
    pub inferred: Option<AsOf>,
    pub applied_changes: bool,
}

/// The `as_of` a run cut into parts (the buckets of keys Spark executors apply one by one)
/// would have inferred whole, from what each part inferred of its own changes and rows.
///
/// [`infer_as_of`] prefers the newest change timestamp, then the newest change file's name,
/// then (only when no change applied at all) the newest date in the table; the newest of
/// each is the newest of the parts' newest.
///
/// ```
/// use chrono::NaiveDate;
/// use tidemark_core::features::{AsOf, AsOfSource};
/// use tidemark_core::pipeline::{PartAsOf, as_of_of_parts};
/// let day = |d| NaiveDate::from_ymd_opt(2021, 10, d).unwrap();
/// let from_name = PartAsOf {
///     inferred: Some(AsOf { date: day(18), source: AsOfSource::NewestChangeFileName("20211018-000000000.csv".into()) }),
///     applied_changes: true,
/// };
/// // A bucket without changes dates itself by its rows: the whole run does not.
/// let from_rows = PartAsOf {
///     inferred: Some(AsOf { date: day(20), source: AsOfSource::NewestDateInTable("last_login".into()) }),
///     applied_changes: false,
/// };
/// assert_eq!(as_of_of_parts(&[from_name.clone(), from_rows]).unwrap(), from_name.inferred.unwrap());
/// ```
pub fn as_of_of_parts(parts: &[PartAsOf]) -> Result<AsOf> {
    // The order of preference of `infer_as_of`, lowest first, then what it compares.
    let preference = |source: &AsOfSource| match source {
        AsOfSource::NewestChangeTimestamp(_) => 2,
        AsOfSource::NewestChangeFileName(_) => 1,
        _ => 0,
    };
    let newness = |as_of: &AsOf| match &as_of.source {
        AsOfSource::NewestChangeTimestamp(t) => (Some(*t), None),
        AsOfSource::NewestChangeFileName(file) => {
            (DmsName::of(file).timestamp(), Some(file.clone()))
        }
        _ => (None, None),
    };
    let best = parts
        .iter()
        .filter_map(|part| part.inferred.as_ref())
        .max_by_key(|as_of| (preference(&as_of.source), as_of.date, newness(as_of)));
    let any_change = parts.iter().any(|part| part.applied_changes);
    match best {
        Some(as_of) if preference(&as_of.source) > 0 || !any_change => Ok(as_of.clone()),
        _ => Err(Error::new(ErrorKind::AsOfUnknown)),
    }
}

/// `inferred`, unless an earlier run's `as_of` is later, or the changes do not date
/// themselves: then the earlier run's.
fn not_before(inferred: Result<AsOf>, earlier: Option<NaiveDate>) -> Result<AsOf> {
    let earlier = earlier.map(|date| AsOf {
        date,
        source: AsOfSource::EarlierRun,
    });
    match (inferred, earlier) {
        (Ok(inferred), Some(earlier)) if earlier.date > inferred.date => Ok(earlier),
        (Ok(inferred), _) => Ok(inferred),
        (Err(e), Some(earlier)) if *e.kind() == ErrorKind::AsOfUnknown => Ok(earlier),
        (Err(e), _) => Err(e),
    }
}

/// The newest date in `table`'s column `date_column` (a date column), if it has one: how a run
/// that applies no change is dated.
pub fn newest_date(table: &RecordBatch, date_column: &str) -> Option<NaiveDate> {
    table
        .column_by_name(date_column)
        .and_then(|c| c.as_primitive_opt::<Date32Type>())
        .and_then(|dates| dates.iter().flatten().max())
        .and_then(|days| {
            NaiveDate::from_ymd_opt(1970, 1, 1)?
                .checked_add_signed(chrono::Duration::days(days as i64))
        })
}

/// The date of the newest change applied: its commit timestamp if the changes carry one,
/// else the time in the newest change file's DMS name; with no change at all, the newest
/// date in the table's `date_column`. Never the wall clock.
pub fn infer_as_of(
    newest_timestamp: Option<i64>,
    changes: &[ChangeBatch],
    table: &RecordBatch,
    date_column: &str,
) -> Result<AsOf> {
    if let Some(t) = newest_timestamp.and_then(DateTime::from_timestamp_micros) {
        let t = t.naive_utc();
        return Ok(AsOf {
            date: t.date(),
            source: AsOfSource::NewestChangeTimestamp(t),
        });
    }
    let newest = changes
        .iter()
        .filter(|c| !c.is_empty())
        .filter_map(|c| DmsName::of(&c.file).timestamp().map(|t| (t, &c.file)))
        .max();
    if let Some((t, file)) = newest {
        return Ok(AsOf {
            date: t.date(),
            source: AsOfSource::NewestChangeFileName(file.clone()),
        });
    }
    match newest_date(table, date_column) {
        Some(date) if changes.iter().all(ChangeBatch::is_empty) => Ok(AsOf {
            date,
            source: AsOfSource::NewestDateInTable(date_column.to_string()),
        }),
        _ => Err(Error::new(ErrorKind::AsOfUnknown)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Cancel;

    #[test]
    fn a_window_out_of_range_fails_before_anything_is_decoded() {
        let seed = crate::example::seed();
        let inputs = Inputs {
            snapshot: seed.snapshot,
            changes: seed.changes,
            state: None,
            change_log: None,
            next_snapshot: Vec::new(),
        };
        let options = Options {
            window_days: Some(0),
            ..Default::default()
        };
        let mut decoded = 0;
        let err = run(&TableSpec::users(), inputs, &options, &mut |stage| {
            decoded += matches!(stage, Stage::Decode { .. }) as usize
        })
        .unwrap_err();
        assert_eq!(*err.kind(), ErrorKind::WindowDays(0));
        assert_eq!(decoded, 0);
    }

    #[test]
    fn a_run_asked_to_stop_while_it_runs_stops_with_cancelled() {
        for stop_at in ["decode", "apply", "enrich"] {
            let seed = crate::example::seed();
            let inputs = Inputs {
                snapshot: seed.snapshot,
                changes: seed.changes,
                state: None,
                change_log: None,
                next_snapshot: Vec::new(),
            };
            let cancel = Cancel::new();
            let options = Options {
                cancel: cancel.clone(),
                ..Default::default()
            };
            let mut stages = Vec::new();
            let result = run(&TableSpec::users(), inputs, &options, &mut |stage| {
                let name = match stage {
                    Stage::Decode { .. } => "decode",
                    Stage::Apply => "apply",
                    Stage::Enrich => "enrich",
                    Stage::Done => "done",
                };
                stages.push(name);
                if name == stop_at {
                    cancel.cancel();
                }
            });
            assert_eq!(
                *result.unwrap_err().kind(),
                ErrorKind::Cancelled,
                "{stop_at}"
            );
            assert!(!stages.contains(&"done"), "{stop_at}: {stages:?}");
        }
    }
}
