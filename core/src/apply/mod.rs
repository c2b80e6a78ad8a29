//! Applying change files to a snapshot: the heart of Tidemark.
//!
//! Changes are ordered by their sequence when the files carry one, then by file (already in
//! DMS-name order) and row: equal sequence values, as all changes of one source transaction
//! have, keep file and row order (see [`crate::versions`]). The last change per key wins: `D`
//! removes the key, `I` and `U` upsert it. An update whose before-image key differs from its
//! key (DMS `add-before-image-columns`) moves the row: it deletes the old key and upserts the
//! new one, both at its position. Rows keep their place in the snapshot; new keys follow in
//! order of first change. Everything a clean CDC stream would not contain is applied the same
//! way and counted.

mod new_rows;
mod partial;
mod replay;

use arrow_array::{RecordBatch, UInt32Array};
use arrow_schema::Schema;

use crate::change_set::{ChangeSet, KeyOutcome, key_columns};
use crate::changes::{ChangeBatch, Op, Snapshot};
use crate::diff::{self, Diff};
use crate::error::{Error, ErrorKind, Result};
use crate::files::DmsName;
use crate::history::{ChangeLog, History};
use crate::keys::{KeyValues, find_duplicate, format_key};
use crate::report::{Anomaly, ApplySummary, FileSummary};
use crate::spec::{SequenceKind, TableSpec};
use crate::versions::VersionsBuilder;
pub use crate::versions::{
    Position, VERSION_CHANGE_SEQUENCE_COLUMN, VERSION_DELETED_COLUMN, VERSION_FILE_COLUMN,
    VERSION_ROW_COLUMN, VERSION_SEQUENCE_COLUMN, Versions,
};
use new_rows::new_rows;
use replay::Replay;

/// "No such row or key" in the replay's `u32` index arrays.
const NONE: u32 = u32::MAX;

#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    /// Turn insert-of-existing, update-of-missing and delete-of-missing into errors.
    pub strict: bool,
    /// Checked every 65,536 changes of the replay, and between its phases.
    pub cancel: crate::Cancel,
    /// The change log an earlier run kept, which this run's changes extend when the spec
    /// keeps history (`[history]`); without one, history starts from the snapshot.
    pub change_log: Option<ChangeLog>,
}

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
    /// Every version of every key, when the spec keeps history.
    pub history: Option<History>,
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
    let snapshot_keys = key_columns(spec, &snapshot.rows);
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

    let mut set = ChangeSet::concat(spec, &schema, changes)?;
    if let (Some(v), None) = (versions, &set.sequence) {
        if v.rows.num_rows() > 0 && !set.ops.is_empty() {
            return Err(Error::new(ErrorKind::Invalid(
                "the state orders changes by sequence, but these change files carry none".into(),
            )));
        }
    }
    if set.ops.contains(&Op::Truncate) {
        set.add_keys(&snapshot_keys)?;
    }
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let keep_on_null = spec
        .cdc
        .ignore_null_updates
        .columns(&names, &spec.table.key);
    let replay = replay::replay(
        &set,
        &snapshot_key_values,
        versions,
        changes,
        &options,
        !keep_on_null.is_empty(),
    )?;
    if let Some(previous) = &replay.previous {
        partial::fill_unchanged(&mut set, &snapshot.rows, previous, &keep_on_null)?;
    }
    let outcomes = &replay.outcomes;

    // The new table, and beside it what the versions and the diff need of the old one.
    let (rows, versions_and_diff) = crate::par::join(
        || new_rows(&snapshot.rows, &set.rows, &replay.snapshot_ids, outcomes),
        || -> Result<_> {
            Ok((
                new_versions(spec, &schema, versions, &set, &replay)?,
                diff::compute(spec, &snapshot.rows, &set, outcomes)?,
            ))
        },
    );
    let (rows, (new_versions, diff)) = (rows?, versions_and_diff?);
    options.cancel.check()?;
    let history = match &spec.history {
        Some(_) => Some(crate::history::extend(
            spec,
            &schema,
            options.change_log.as_ref(),
            snapshot,
            &set,
        )?),
        None => None,
    };
    let files = file_summaries(changes, &set, outcomes, &diff);

    let summary = ApplySummary {
        rows_before: snapshot.rows.num_rows(),
        rows_after: rows.num_rows(),
        changes: set.ops.len(),
        keys_touched: outcomes.iter().filter(|o| o.last.is_some()).count(),
        keys_changed_several_times: outcomes.iter().filter(|o| o.count > 1).count(),
        sequence: set.sequence.as_ref().map(|(kind, _)| *kind),
        outcome: diff.summary,
        columns: diff.column_changes.clone(),
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
        anomalies: replay.anomalies,
        newest_timestamp,
        history,
    })
}

/// Per change file: its operations, and the keys whose last applied change it holds, by what
/// happened to them.
fn file_summaries(
    changes: &[ChangeBatch],
    set: &ChangeSet,
    outcomes: &[KeyOutcome],
    diff: &Diff,
) -> Vec<FileSummary> {
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
                    Op::Truncate => *f.truncates.get_or_insert(0) += 1,
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
    files
}

/// The versions after this run: untouched keys keep theirs, touched keys get the position of
/// their last applied change, and a tombstone when that change deleted them.
/// Without a sequence there are no versions to keep: an earlier run's stay as they are.
fn new_versions(
    spec: &TableSpec,
    table: &Schema,
    old: Option<&Versions>,
    set: &ChangeSet,
    replay: &Replay,
) -> Result<Option<Versions>> {
    let Some((kind, sequence)) = &set.sequence else {
        return Ok(old.cloned());
    };
    let (keymap, outcomes) = (&replay.keymap, &replay.outcomes);
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
    let mut keys: Vec<u32> = Vec::new();
    for outcome in outcomes {
        if let Some(last) = outcome.last {
            let (file, row) = set.sources.file_index_and_row(last);
            let change_sequence = set.change_sequence.as_ref().map(|cs| cs[last]);
            builder.push(
                sequence[last],
                change_sequence,
                file_ids[file],
                row,
                outcome.after.is_none(),
            );
            keys.push(outcome.key as u32);
        }
    }
    builder.applied(replay.newest_applied);
    if let Some(c) = replay.newest_truncate {
        let (file, row) = set.sources.file_and_row(c);
        builder.truncated(crate::versions::TruncatedAt {
            sequence: sequence[c],
            change_sequence: set.change_sequence.as_ref().map(|cs| cs[c]),
            file: crate::files::base_name(file).to_string(),
            row,
        });
    }
    let indices = UInt32Array::from(keys);
    let new_keys = set
        .all_keys
        .iter()
        .map(|k| arrow_select::take::take(k.as_ref(), &indices, None))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(Error::from)?;
    builder.finish(table, spec, *kind, &new_keys).map(Some)
}
