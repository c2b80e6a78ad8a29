//! Changes worked out from two full snapshots, for sources that deliver only full extracts
//! (Databricks calls this AUTO CDC FROM SNAPSHOT): by key, a row only in the newer snapshot is
//! an insert, a row in both with any value different an update, a row only in the older one a
//! delete. The changes then apply like a change file's, with history where the spec keeps it.

use std::sync::Arc;

use arrow_array::{ArrayRef, UInt32Array};

use crate::change_set::key_columns;
use crate::changes::{ChangeBatch, Op, Sequence, Snapshot};
use crate::error::{Error, ErrorKind, Result};
use crate::keys::{KeyMap, KeyValues, find_duplicate, format_key};
use crate::spec::{SequenceKind, TableSpec};

/// The name of the sequence the changes of a snapshot carry (its time), in reports.
pub const SNAPSHOT_TIME: &str = "snapshot time";

/// The changes that turn `old` into `new` (both in the table's schema): the inserts and
/// updates, named after `new`'s first file with their rows there, then (when there are any)
/// the deletes, named after `old`'s first file with the rows the keys had there. `time`
/// (microseconds since the epoch), when given, is every change's sequence value: the time the
/// newer snapshot was taken, which orders these changes among others and opens the versions
/// of history.
///
/// ```
/// use tidemark_core::{InputFile, TableSpec, Op};
/// use tidemark_core::decode::{decode_snapshot, table_schema};
/// use tidemark_core::snapshot_diff::changes_between;
/// let spec = TableSpec::users();
/// let old = [InputFile::new("monday.csv", "1,Ann,Austin,2021-10-01\n2,Bob,Boston,2021-10-02\n")];
/// let new = [InputFile::new("tuesday.csv", "2,Bob,Denver,2021-10-02\n3,Cy,Austin,2021-10-03\n")];
/// let schema = table_schema(&spec, &old).unwrap();
/// let (old, new) = (decode_snapshot(&spec, &schema, &old).unwrap(), decode_snapshot(&spec, &schema, &new).unwrap());
/// let changes = changes_between(&spec, &old, &new, None).unwrap();
/// assert_eq!((changes[0].file.as_str(), &changes[0].ops[..]), ("tuesday.csv", &[Op::Update, Op::Insert][..]));
/// assert_eq!((changes[1].file.as_str(), &changes[1].ops[..]), ("monday.csv", &[Op::Delete][..]));
/// ```
pub fn changes_between(
    spec: &TableSpec,
    old: &Snapshot,
    new: &Snapshot,
    time: Option<i64>,
) -> Result<Vec<ChangeBatch>> {
    let old_keys = key_columns(spec, &old.rows);
    let new_keys = key_columns(spec, &new.rows);
    let new_key_values = KeyValues::new(&new_keys);
    if let Some((first, repeat)) = find_duplicate(&new_key_values) {
        return Err(Error::at(
            new.sources.locate(repeat).column(spec.table.key.join(", ")),
            ErrorKind::DuplicateKey {
                key: format_key(&new_keys, repeat),
                first: new.sources.locate(first).to_string(),
            },
        ));
    }
    let (old_map, _) = KeyMap::build(KeyValues::new(&old_keys));
    const ABSENT: u32 = u32::MAX;
    // For each row of `new`: its key's row in `old` (ABSENT: a new key).
    let in_old: Vec<u32> = old_map
        .ids_of(&new_key_values, ABSENT)
        .into_iter()
        .map(|id| match id {
            ABSENT => ABSENT,
            id => old_map.first_row(id) as u32,
        })
        .collect();
    let mut kept_in_new = vec![false; old.rows.num_rows()];
    for &i in in_old.iter().filter(|&&i| i != ABSENT) {
        kept_in_new[i as usize] = true;
    }

    // Rows in both: updated when any column differs (nulls equal each other).
    let (both_new, both_old): (Vec<u32>, Vec<u32>) = in_old
        .iter()
        .enumerate()
        .filter(|(_, i)| **i != ABSENT)
        .map(|(j, &i)| (j as u32, i))
        .unzip();
    let mut differs = vec![false; both_new.len()];
    let (both_new_rows, both_old_rows) = (UInt32Array::from(both_new), UInt32Array::from(both_old));
    for (new_column, old_column) in new.rows.columns().iter().zip(old.rows.columns()) {
        let take = |column: &ArrayRef, rows: &UInt32Array| {
            arrow_select::take::take(column.as_ref(), rows, None).map_err(Error::from)
        };
        let (a, b) = (
            take(new_column, &both_new_rows)?,
            take(old_column, &both_old_rows)?,
        );
        let distinct = arrow_ord::cmp::distinct(&a, &b).map_err(Error::from)?;
        for row in distinct.values().set_indices() {
            differs[row] = true;
        }
    }
    let mut updated = differs.iter().zip(both_new_rows.values());
    // Inserts and updates in the order of `new`; then deletes in the order of `old`.
    let mut from_new: Vec<u32> = Vec::new();
    let mut ops: Vec<Op> = Vec::new();
    for (j, &i) in in_old.iter().enumerate() {
        if i == ABSENT {
            from_new.push(j as u32);
            ops.push(Op::Insert);
        } else if let Some((&differs, _)) = updated.next() {
            if differs {
                from_new.push(j as u32);
                ops.push(Op::Update);
            }
        }
    }
    let from_old: Vec<u32> = (0..old.rows.num_rows() as u32)
        .filter(|&i| !kept_in_new[i as usize])
        .collect();

    let batch = |from: &Snapshot, rows: Vec<u32>, ops: Vec<Op>| -> Result<ChangeBatch> {
        let file = from
            .sources
            .files()
            .next()
            .unwrap_or("snapshot")
            .to_string();
        let row_numbers: Arc<[u64]> = rows
            .iter()
            .map(|&r| from.sources.file_and_row(r as usize).1)
            .collect();
        let n = ops.len();
        Ok(ChangeBatch {
            file,
            ops,
            sequence: time.map(|t| Sequence {
                kind: SequenceKind::Timestamp,
                column: SNAPSHOT_TIME.to_string(),
                values: vec![i128::from(t); n],
            }),
            change_sequence: None,
            before_key: None,
            rows: arrow_select::take::take_record_batch(&from.rows, &UInt32Array::from(rows))
                .map_err(Error::from)?,
            first_row: 1,
            row_numbers: Some(row_numbers),
            other_tables: 0,
        })
    };
    let mut batches = vec![batch(new, from_new, ops)?];
    if !from_old.is_empty() {
        let deletes = vec![Op::Delete; from_old.len()];
        batches.push(batch(old, from_old, deletes)?);
    }
    Ok(batches)
}
