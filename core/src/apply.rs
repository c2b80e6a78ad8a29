//! Applying change files to a snapshot: the heart of Tidemark.
//!
//! Changes are ordered by their sequence when the files carry one, then by file (already in
//! DMS-name order) and row: equal sequence values, as all changes of one source transaction
//! have, keep file and row order (see [`crate::versions`]). The last change per key wins: `D` removes the key, `I` and `U`
//! upsert it. Rows keep their place in the snapshot; new keys follow in order of first change.
//! Everything a clean CDC stream would not contain is applied the same way and counted.

use std::collections::BTreeMap;

use arrow_array::{ArrayRef, RecordBatch, UInt32Array};
use arrow_schema::{Schema, SchemaRef};

use crate::changes::{ChangeBatch, Op, Snapshot, Sources};
use crate::diff::{self, Diff};
use crate::error::{Error, ErrorKind, Location, Result};
use crate::files::{DmsName, FileOrder};
use crate::keys::{KeyMap, KeyValues, find_duplicate, format_key};
use crate::report::{Anomaly, AnomalyKind, ApplySummary, Example, FileSummary};
use crate::spec::{SequenceKind, TableSpec};
use crate::splice::{Run, splice};
use crate::versions::VersionsBuilder;
pub use crate::versions::{
    Position, VERSION_DELETED_COLUMN, VERSION_FILE_COLUMN, VERSION_ROW_COLUMN,
    VERSION_SEQUENCE_COLUMN, Versions,
};

/// How many examples of each anomaly the report keeps.
const EXAMPLES: usize = 5;
const NONE: u32 = u32::MAX;

#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    /// Turn insert-of-existing, update-of-missing and delete-of-missing into errors.
    pub strict: bool,
    /// Checked every [`CANCEL_CHECK_EVERY`] changes.
    pub cancel: crate::Cancel,
}

/// How many changes the replay applies between two looks at [`ApplyOptions::cancel`]: often
/// enough to stop within milliseconds, rarely enough to cost nothing.
const CANCEL_CHECK_EVERY: usize = 1 << 16;

/// The result of applying changes.
#[derive(Debug, Clone)]
pub struct Applied {
    /// The new table, in the snapshot's schema.
    pub rows: RecordBatch,
    /// The new versions, when the changes carry a sequence.
    pub versions: Option<Versions>,
    pub diff: Diff,
    pub summary: ApplySummary,
    pub files: Vec<FileSummary>,
    pub anomalies: Vec<Anomaly>,
    /// The newest commit timestamp applied, in microseconds, when the sequence is a timestamp.
    pub newest_timestamp: Option<i64>,
}

/// What happened to one touched key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyOutcome {
    /// Its row in the snapshot, if it was there.
    pub before: Option<usize>,
    /// The change whose values it now has, if it exists afterwards.
    pub after: Option<usize>,
    /// The last change applied to it, if any was (a stale change is not applied).
    pub last: Option<usize>,
    /// How many changes were applied to it.
    pub count: u32,
}

/// All change files of a run, concatenated.
pub(crate) struct ChangeSet {
    pub rows: RecordBatch,
    pub ops: Vec<Op>,
    pub sequence: Option<(SequenceKind, Vec<i128>)>,
    /// Orders changes of equal sequence values, when every file has one (`$AR_H_CHANGE_SEQ`).
    pub change_sequence: Option<Vec<i128>>,
    pub sources: Sources,
}

impl ChangeSet {
    fn concat(schema: &SchemaRef, changes: &[ChangeBatch]) -> Result<ChangeSet> {
        let mut sources = Sources::default();
        let mut start = 0;
        for c in changes {
            sources.push_batch(c, start);
            start += c.len();
        }
        let rows = arrow_select::concat::concat_batches(schema, changes.iter().map(|c| &c.rows))
            .map_err(|e| Error::new(ErrorKind::Invalid(e.to_string())))?;
        let ops = changes.iter().flat_map(|c| c.ops.iter().copied()).collect();
        let with = changes.iter().find(|c| c.sequence.is_some());
        let without = changes
            .iter()
            .find(|c| c.sequence.is_none() && !c.is_empty());
        let sequence = match (with, without) {
            (Some(w), Some(wo)) => {
                return Err(Error::at(
                    Location::file(&wo.file),
                    ErrorKind::Columns(format!(
                        "this file has no sequence column, but {} has `{}`: all change files of a run must agree",
                        w.file,
                        w.sequence.as_ref().unwrap().column
                    )),
                ));
            }
            (Some(w), None) => {
                let kind = w.sequence.as_ref().unwrap().kind;
                let mut values = Vec::with_capacity(start);
                for c in changes {
                    match &c.sequence {
                        Some(s) if s.kind != kind => {
                            return Err(Error::at(
                                Location::file(&c.file).column(&s.column),
                                ErrorKind::Columns(format!(
                                    "the sequence holds {:?} values, but {} holds {kind:?} values",
                                    s.kind, w.file
                                )),
                            ));
                        }
                        Some(s) => values.extend_from_slice(&s.values),
                        None => {}
                    }
                }
                Some((kind, values))
            }
            (None, _) => None,
        };
        let change_sequence = match sequence.is_some()
            && changes
                .iter()
                .all(|c| c.is_empty() || c.change_sequence.is_some())
        {
            true => Some(
                changes
                    .iter()
                    .flat_map(|c| c.change_sequence.iter().flatten().copied())
                    .collect(),
            ),
            false => None,
        };
        Ok(ChangeSet {
            rows,
            ops,
            sequence,
            change_sequence,
            sources,
        })
    }

    fn location(&self, change: usize) -> Location {
        self.sources.locate(change)
    }
}

/// Applies `changes` (in apply order) to `snapshot`, given the versions of earlier runs.
pub fn apply(
    spec: &TableSpec,
    snapshot: &Snapshot,
    versions: Option<&Versions>,
    changes: &[ChangeBatch],
    options: ApplyOptions,
) -> Result<Applied> {
    let schema = snapshot.rows.schema();
    let key_columns = |batch: &RecordBatch| -> Vec<ArrayRef> {
        spec.table
            .key
            .iter()
            .map(|k| batch.column_by_name(k).expect("key in schema").clone())
            .collect()
    };
    let snapshot_keys = key_columns(&snapshot.rows);
    let snapshot_key_values = KeyValues::new(&snapshot_keys);
    if let Some((first, repeat)) = find_duplicate(&snapshot_key_values) {
        return Err(Error::at(
            snapshot
                .sources
                .locate(repeat)
                .column(spec.table.key.join(", ")),
            ErrorKind::DuplicateKey {
                key: format_key(&snapshot_keys, repeat),
                first: snapshot.sources.locate(first).to_string(),
            },
        ));
    }

    let set = ChangeSet::concat(&schema, changes)?;
    if let (Some(v), None) = (versions, &set.sequence) {
        if v.rows.num_rows() > 0 && !set.ops.is_empty() {
            return Err(Error::new(ErrorKind::Invalid(
                "the state orders changes by sequence, but these change files carry none".into(),
            )));
        }
    }
    let change_keys = key_columns(&set.rows);
    let (keymap, ids) = KeyMap::build(KeyValues::new(&change_keys));
    let n_ids = keymap.len();

    // The id of each snapshot row's key among the changed keys (NONE: untouched), and back.
    let snapshot_ids = keymap.ids_of(&snapshot_key_values, NONE);
    let mut before = vec![NONE; n_ids];
    for (row, &id) in snapshot_ids.iter().enumerate() {
        if id != NONE {
            before[id as usize] = row as u32;
        }
    }
    // The row of each changed key in the versions of earlier runs (NONE: no version yet).
    let mut stored = vec![NONE; n_ids];
    if let (Some(v), Some(_)) = (versions, &set.sequence) {
        let version_keys = KeyValues::new(v.key_columns());
        for row in 0..v.rows.num_rows() {
            if let Some(id) = keymap.probe(&version_keys, row) {
                stored[id as usize] = row as u32;
            }
        }
    }
    let stored_positions = versions.map(Versions::positions);
    // Each file's place in the apply order, for changes whose sequence ties a stored one.
    let file_orders: Vec<FileOrder> = changes.iter().map(|c| FileOrder::of(&c.file)).collect();
    let position = |c: usize, sequence: i128| {
        let (file, row) = set.sources.file_index_and_row(c);
        Position {
            sequence,
            file: file_orders[file],
            row,
        }
    };

    // Replay the changes key by key, in order, to find each key's last change and what
    // looked wrong on the way.
    let order: Vec<u32> = match &set.sequence {
        Some((_, seq)) => {
            let mut order: Vec<u32> = (0..set.ops.len() as u32).collect();
            match &set.change_sequence {
                // Equal timestamps (one transaction) apply in change-sequence order.
                Some(change) => order.sort_by_key(|&c| (seq[c as usize], change[c as usize])),
                None if !seq.is_sorted() => order.sort_by_key(|&c| seq[c as usize]),
                None => {} // stable sorts: ties keep file and row order
            }
            order
        }
        None => (0..set.ops.len() as u32).collect(),
    };
    let mut exists: Vec<bool> = before.iter().map(|&b| b != NONE).collect();
    let mut last = vec![NONE; n_ids];
    let mut count = vec![0u32; n_ids];
    let mut log = AnomalyLog::default();
    let example = |change: usize| {
        let at = set.location(change);
        Example {
            key: format_key(&change_keys, change),
            file: at.file,
            row: at.row.unwrap_or(0),
        }
    };
    let mut newest_applied: Option<i128> = None;
    for (step, &c) in order.iter().enumerate() {
        if step % CANCEL_CHECK_EVERY == 0 {
            options.cancel.check()?;
        }
        let c = c as usize;
        let id = ids[c] as usize;
        if let Some((_, seq)) = &set.sequence {
            // Only earlier runs can hold a newer position: this run's changes come in order.
            let row = stored[id];
            if row != NONE
                && !stored_positions
                    .as_ref()
                    .expect("stored rows come from versions")
                    .precedes(row as usize, &position(c, seq[c]))
            {
                log.record(AnomalyKind::StaleChangeIgnored, || example(c));
                continue;
            }
            newest_applied = newest_applied.max(Some(seq[c]));
        }
        let op = set.ops[c];
        let anomaly = match (op, exists[id]) {
            (Op::Insert, true) => Some(AnomalyKind::InsertOfExistingKey),
            (Op::Update, false) => Some(AnomalyKind::UpdateOfMissingKey),
            (Op::Delete, false) => Some(AnomalyKind::DeleteOfMissingKey),
            _ => None,
        };
        if let Some(kind) = anomaly {
            if options.strict {
                return Err(Error::at(
                    set.location(c),
                    ErrorKind::Anomaly(format!(
                        "{} for key {}",
                        kind.describe(),
                        format_key(&change_keys, c)
                    )),
                ));
            }
            log.record(kind, || example(c));
        }
        exists[id] = op != Op::Delete;
        last[id] = c as u32;
        count[id] += 1;
    }

    let outcomes: Vec<KeyOutcome> = (0..n_ids)
        .map(|id| {
            let applied = last[id] != NONE;
            KeyOutcome {
                before: (before[id] != NONE).then_some(before[id] as usize),
                after: (applied && exists[id]).then_some(last[id] as usize),
                last: applied.then_some(last[id] as usize),
                count: count[id],
            }
        })
        .collect();

    // The new table, and beside it what the versions and the diff need of the old one.
    let (rows, versions_and_diff) = crate::par::join(
        || new_rows(&snapshot.rows, &set.rows, &snapshot_ids, &outcomes),
        || -> Result<_> {
            let new_versions = match &set.sequence {
                Some((kind, seq)) => Some(new_versions(
                    spec,
                    &schema,
                    versions,
                    *kind,
                    seq,
                    &set,
                    &change_keys,
                    &keymap,
                    &outcomes,
                    newest_applied,
                )?),
                None => versions.cloned(),
            };
            Ok((
                new_versions,
                diff::compute(spec, &snapshot.rows, &set, &outcomes)?,
            ))
        },
    );
    let (rows, (new_versions, diff)) = (rows?, versions_and_diff?);

    let mut files: Vec<FileSummary> = changes
        .iter()
        .map(|c| {
            let mut f = FileSummary {
                file: c.file.clone(),
                named_time: DmsName::of(&c.file)
                    .timestamp()
                    .map(|t| t.format("%Y-%m-%d %H:%M:%S%.3f").to_string()),
                rows: c.len(),
                ..Default::default()
            };
            for op in &c.ops {
                match op {
                    Op::Insert => f.inserts += 1,
                    Op::Update => f.updates += 1,
                    Op::Delete => f.deletes += 1,
                }
            }
            f
        })
        .collect();
    for (outcome, kind) in outcomes
        .iter()
        .filter(|o| o.last.is_some())
        .zip(&diff.kinds)
    {
        let last = outcome.last.expect("touched");
        kind.count_into(&mut files[set.sources.file_index(last)].outcome);
    }

    let summary = ApplySummary {
        rows_before: snapshot.rows.num_rows(),
        rows_after: rows.num_rows(),
        changes: set.ops.len(),
        keys_touched: outcomes.iter().filter(|o| o.last.is_some()).count(),
        keys_changed_several_times: outcomes.iter().filter(|o| o.count > 1).count(),
        sequence: set.sequence.as_ref().map(|(kind, _)| *kind),
        outcome: diff.summary,
    };
    let newest_timestamp = match (&set.sequence, &new_versions) {
        (Some((SequenceKind::Timestamp, _)), Some(v)) => v.newest().map(|v| v as i64),
        _ => None,
    };
    Ok(Applied {
        rows,
        versions: new_versions,
        diff,
        summary,
        files,
        anomalies: log.finish(),
        newest_timestamp,
    })
}

/// The new table: snapshot rows in place (updated ones with their new values, deleted ones
/// dropped), then the new keys in order of first change.
///
/// Built by splicing runs of untouched snapshot rows whole with the rows of changes.
fn new_rows(
    snapshot: &RecordBatch,
    changes: &RecordBatch,
    snapshot_ids: &[u32],
    outcomes: &[KeyOutcome],
) -> Result<RecordBatch> {
    const SNAPSHOT: usize = 0;
    const PICKED: usize = 1;
    // What becomes of each touched key's snapshot row, in 4 bytes a key: looked up once per
    // changed row of a large table, a compact array stays in cache where the outcomes do not.
    const KEEP: u32 = u32::MAX; // every change to it was stale
    const DROP: u32 = u32::MAX - 1; // deleted
    let fate: Vec<u32> = outcomes
        .iter()
        .map(|o| match (o.last, o.after) {
            (None, _) => KEEP,
            (Some(_), None) => DROP,
            (Some(_), Some(change)) => change as u32,
        })
        .collect();
    // The change rows the table takes are gathered first, in table order, so that the splice
    // reads both of its sources front to back.
    let mut picks: Vec<u32> = Vec::new();
    let mut runs: Vec<Run> = Vec::new();
    let pick = |runs: &mut Vec<Run>, picks: &mut Vec<u32>, change: u32| {
        let next = picks.len();
        picks.push(change);
        match runs.last_mut() {
            Some(run) if run.source == PICKED && run.end == next => run.end += 1,
            _ => runs.push(Run::new(PICKED, next, next + 1)),
        }
    };
    let mut run_start = 0;
    for (row, &id) in snapshot_ids.iter().enumerate() {
        if id == NONE || fate[id as usize] == KEEP {
            continue;
        }
        if run_start < row {
            runs.push(Run::new(SNAPSHOT, run_start, row));
        }
        if fate[id as usize] != DROP {
            pick(&mut runs, &mut picks, fate[id as usize]);
        }
        run_start = row + 1;
    }
    if run_start < snapshot.num_rows() {
        runs.push(Run::new(SNAPSHOT, run_start, snapshot.num_rows()));
    }
    for change in outcomes
        .iter()
        .filter(|o| o.before.is_none())
        .filter_map(|o| o.after)
    {
        pick(&mut runs, &mut picks, change as u32);
    }
    let picked = arrow_select::take::take_record_batch(changes, &UInt32Array::from(picks))
        .map_err(|e| Error::new(ErrorKind::Invalid(e.to_string())))?;

    let indices: Vec<usize> = (0..snapshot.num_columns()).collect();
    let columns = crate::par::try_map(&indices, |&i| {
        splice(
            &[snapshot.column(i).as_ref(), picked.column(i).as_ref()],
            &runs,
        )
        .map_err(|e| Error::new(ErrorKind::Invalid(e.to_string())))
    })?;
    RecordBatch::try_new(snapshot.schema(), columns)
        .map_err(|e| Error::new(ErrorKind::Invalid(e.to_string())))
}

/// The versions after this run: untouched keys keep theirs, touched keys get the position of
/// their last applied change, and a tombstone when that change deleted them.
#[allow(clippy::too_many_arguments)]
fn new_versions(
    spec: &TableSpec,
    table: &Schema,
    old: Option<&Versions>,
    kind: SequenceKind,
    sequence: &[i128],
    set: &ChangeSet,
    change_keys: &[ArrayRef],
    keymap: &KeyMap,
    outcomes: &[KeyOutcome],
    newest_applied: Option<i128>,
) -> Result<Versions> {
    let mut builder = VersionsBuilder::new(old);
    if let Some(old) = old {
        let old_keys = KeyValues::new(old.key_columns());
        builder.keep_old(|row| {
            keymap
                .probe(&old_keys, row)
                .is_none_or(|id| outcomes[id as usize].last.is_none())
        });
    }
    let file_ids: Vec<i32> = set
        .sources
        .files()
        .map(|name| builder.file_id(name))
        .collect();
    let mut lasts: Vec<u32> = Vec::new();
    for outcome in outcomes {
        if let Some(last) = outcome.last {
            let (file, row) = set.sources.file_index_and_row(last);
            builder.push(sequence[last], file_ids[file], row, outcome.after.is_none());
            lasts.push(last as u32);
        }
    }
    builder.applied(newest_applied);
    let indices = UInt32Array::from(lasts);
    let new_keys = change_keys
        .iter()
        .map(|k| arrow_select::take::take(k.as_ref(), &indices, None))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::new(ErrorKind::Invalid(e.to_string())))?;
    builder.finish(table, spec, kind, &new_keys)
}

#[derive(Default)]
struct AnomalyLog {
    seen: BTreeMap<AnomalyKind, Anomaly>,
}

impl AnomalyLog {
    fn record(&mut self, kind: AnomalyKind, example: impl FnOnce() -> Example) {
        let entry = self.seen.entry(kind).or_insert_with(|| Anomaly {
            kind,
            count: 0,
            examples: Vec::new(),
        });
        entry.count += 1;
        if entry.examples.len() < EXAMPLES {
            entry.examples.push(example());
        }
    }

    fn finish(self) -> Vec<Anomaly> {
        self.seen.into_values().collect()
    }
}
