//! Partial updates (`[cdc] ignore_null_updates`): change streams that send only the columns an
//! update changed hold null in the others. Before the new table, the diff and the history are
//! built, each such null in an applied update is replaced by what its key held just before the
//! update (the snapshot's row or an earlier change, itself filled), so that everything after
//! the replay sees whole rows.

use arrow_array::{Array, ArrayRef, RecordBatch};

use super::replay::Previous;
use crate::change_set::ChangeSet;
use crate::changes::Op;
use crate::error::{Error, Result};

/// Where a filled value comes from: (source, row), the sources being the snapshot's column,
/// the changes' column, and a one-row null for a key that held nothing.
type From = (usize, usize);
const SNAPSHOT: usize = 0;
const CHANGES: usize = 1;
const NOTHING: From = (2, 0);

/// Fills, in `set`'s updates, the nulls of the columns `columns` (indices in the table's
/// schema) from what each key held before the update (`previous`, from the replay).
pub(super) fn fill_unchanged(
    set: &mut ChangeSet,
    snapshot: &RecordBatch,
    previous: &[Previous],
    columns: &[usize],
) -> Result<()> {
    let mut new_columns: Vec<ArrayRef> = set.rows.columns().to_vec();
    for &column in columns {
        let values = set.rows.column(column);
        let has_null_update =
            (0..set.ops.len()).any(|c| set.ops[c] == Op::Update && values.is_null(c));
        if !has_null_update {
            continue;
        }
        let mut from: Vec<Option<From>> = vec![None; set.ops.len()];
        let indices: Vec<From> = (0..set.ops.len())
            .map(|c| resolve(c, &set.ops, values.as_ref(), previous, &mut from))
            .collect();
        let null = arrow_array::new_null_array(values.data_type(), 1);
        let sources: [&dyn Array; 3] = [snapshot.column(column).as_ref(), values.as_ref(), &null];
        new_columns[column] =
            arrow_select::interleave::interleave(&sources, &indices).map_err(Error::from)?;
    }
    set.rows = RecordBatch::try_new(set.rows.schema(), new_columns).map_err(Error::from)?;
    Ok(())
}

/// Where change `c`'s value in `values` comes from, memoised in `from`: itself, unless it is
/// an update holding null; then wherever its key's value before it came from.
fn resolve(
    c: usize,
    ops: &[Op],
    values: &dyn Array,
    previous: &[Previous],
    from: &mut [Option<From>],
) -> From {
    // Follow the chain of null updates back to a value, then give every link the answer;
    // iterative, as a chain can be as long as a key's changes.
    let mut chain = Vec::new();
    let mut at = c;
    let answer = loop {
        if let Some(known) = from[at] {
            break known;
        }
        if ops[at] != Op::Update || values.is_valid(at) {
            break (CHANGES, at);
        }
        chain.push(at);
        match previous[at] {
            Previous::Nothing => break NOTHING,
            Previous::Snapshot(row) => break (SNAPSHOT, row as usize),
            Previous::Change(earlier) => at = earlier as usize,
        }
    };
    from[c] = Some(answer);
    for link in chain {
        from[link] = Some(answer);
    }
    answer
}
