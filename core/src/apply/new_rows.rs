//! The new table, spliced from the snapshot and the changes.

use arrow_array::{RecordBatch, UInt32Array};

use super::NONE;
use crate::change_set::KeyOutcome;
use crate::error::{Error, Result};
use crate::splice::{Run, splice};

/// The new table: snapshot rows in place (updated ones with their new values, deleted ones
/// dropped), then the new keys in order of first change.
///
/// Built by splicing runs of untouched snapshot rows whole with the rows of changes.
pub(super) fn new_rows(
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
        .map_err(Error::from)?;

    let indices: Vec<usize> = (0..snapshot.num_columns()).collect();
    let columns = crate::par::try_map(&indices, |&i| {
        splice(
            &[snapshot.column(i).as_ref(), picked.column(i).as_ref()],
            &runs,
        )
        .map_err(Error::from)
    })?;
    RecordBatch::try_new(snapshot.schema(), columns).map_err(Error::from)
}
