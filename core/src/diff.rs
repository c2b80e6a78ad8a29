//! The diff of a run: for every key the changes touched, what it was, what it is, which
//! columns changed, and which file and row the deciding change came from.

use std::fmt::Write;
use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::cast::AsArray;
use arrow_array::types::{UInt32Type, UInt64Type};
use arrow_array::{
    ArrayRef, BooleanArray, Decimal128Array, RecordBatch, StringArray, TimestampMicrosecondArray,
    UInt32Array, UInt64Array,
};
use arrow_schema::{DataType, Field, Schema};
use chrono::DateTime;

use crate::change_set::{ChangeSet, KeyOutcome};
use crate::error::{Error, Result};
use crate::report::{ColumnChanges, OutcomeCounts, TOP_TRANSITIONS, Transition};
use crate::spec::{SequenceKind, TableSpec};

/// What happened to a touched key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Inserted,
    Updated,
    Deleted,
    /// Touched, but as it was afterwards: an update to equal values, a delete of a key that
    /// did not exist.
    Unchanged,
    /// Did not exist before the run and does not after it, but existed during it: inserted
    /// (or upserted) by one change and deleted by a later one.
    InsertedAndDeleted,
}

impl std::fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ChangeKind {
    type Err = String;

    /// Reads what [`ChangeKind::as_str`] writes (the diff's `change` column).
    ///
    /// ```
    /// use tidemark_core::ChangeKind;
    /// assert_eq!("deleted".parse::<ChangeKind>(), Ok(ChangeKind::Deleted));
    /// assert!("gone".parse::<ChangeKind>().is_err());
    /// ```
    fn from_str(text: &str) -> Result<Self, String> {
        ChangeKind::ALL
            .into_iter()
            .find(|k| k.as_str() == text)
            .ok_or_else(|| format!("unknown kind of change {text:?}"))
    }
}

impl ChangeKind {
    pub const ALL: [ChangeKind; 5] = [
        ChangeKind::Inserted,
        ChangeKind::Updated,
        ChangeKind::Deleted,
        ChangeKind::Unchanged,
        ChangeKind::InsertedAndDeleted,
    ];

    /// The kind's name in the diff's `change` column and in `report.json`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Inserted => "inserted",
            ChangeKind::Updated => "updated",
            ChangeKind::Deleted => "deleted",
            ChangeKind::Unchanged => "unchanged",
            ChangeKind::InsertedAndDeleted => "inserted_and_deleted",
        }
    }

    /// The kind as people read it, capitalised: what the faces' filters and legends show.
    ///
    /// ```
    /// use tidemark_core::ChangeKind;
    /// assert_eq!(ChangeKind::InsertedAndDeleted.label(), "Inserted and deleted");
    /// ```
    pub fn label(self) -> &'static str {
        match self {
            ChangeKind::Inserted => "Inserted",
            ChangeKind::Updated => "Updated",
            ChangeKind::Deleted => "Deleted",
            ChangeKind::Unchanged => "Unchanged",
            ChangeKind::InsertedAndDeleted => "Inserted and deleted",
        }
    }

    /// What the kind means, in a sentence: the faces' tooltips and legends.
    pub fn meaning(self) -> &'static str {
        match self {
            ChangeKind::Inserted => "The key did not exist before the run and exists after it.",
            ChangeKind::Updated => {
                "The key existed before and after the run, with some values changed."
            }
            ChangeKind::Deleted => "The key existed before the run and does not after it.",
            ChangeKind::Unchanged => {
                "Changes touched the key, but it ends as it was: updates to equal values, or a delete of a key that did not exist."
            }
            ChangeKind::InsertedAndDeleted => {
                "The key did not exist before the run and does not after it: it was created and removed again within the run. Its row names the change that removed it."
            }
        }
    }

    pub fn count_into(self, counts: &mut OutcomeCounts) {
        match self {
            ChangeKind::Inserted => counts.inserted += 1,
            ChangeKind::Updated => counts.updated += 1,
            ChangeKind::Deleted => counts.deleted += 1,
            ChangeKind::Unchanged => counts.unchanged += 1,
            ChangeKind::InsertedAndDeleted => counts.inserted_and_deleted += 1,
        }
    }

    /// How many of `counts` are of this kind.
    pub fn count_in(self, counts: &OutcomeCounts) -> usize {
        match self {
            ChangeKind::Inserted => counts.inserted,
            ChangeKind::Updated => counts.updated,
            ChangeKind::Deleted => counts.deleted,
            ChangeKind::Unchanged => counts.unchanged,
            ChangeKind::InsertedAndDeleted => counts.inserted_and_deleted,
        }
    }
}

/// One row per touched key, in order of the key's first change.
///
/// Columns: `change`; the key columns; `before_<c>` and `after_<c>` for every other column;
/// `changed_columns` (comma-separated, for updates); `changes` (how many were applied to the
/// key); `source_file`, `source_row` and `source_sequence` of the last applied change.
///
/// Faces read it through the accessors below, not by column names or display text.
#[derive(Debug, Clone)]
pub struct Diff {
    pub rows: RecordBatch,
    pub kinds: Vec<ChangeKind>,
    pub summary: OutcomeCounts,
    /// What the updates did to each compared column, in table order.
    pub column_changes: Vec<ColumnChanges>,
    /// How many key columns follow `change`.
    key_count: usize,
    /// The compared columns (all but the key), in table order.
    value_columns: Vec<String>,
    /// Whether the changes carried a sequence (else `source_sequence` is all null).
    sequenced: bool,
}

pub const CHANGE_COLUMN: &str = "change";
pub const CHANGED_COLUMNS_COLUMN: &str = "changed_columns";
pub const CHANGES_COLUMN: &str = "changes";
pub const SOURCE_FILE_COLUMN: &str = "source_file";
pub const SOURCE_ROW_COLUMN: &str = "source_row";
pub const SOURCE_SEQUENCE_COLUMN: &str = "source_sequence";

/// The diff's column with a column's values before the run.
pub fn before_column(column: &str) -> String {
    format!("before_{column}")
}

/// The diff's column with a column's values after the run.
pub fn after_column(column: &str) -> String {
    format!("after_{column}")
}

/// Where the last applied change of a touched key came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source<'a> {
    pub file: &'a str,
    pub row: u64,
}

impl Diff {
    /// How many keys the run touched (one row each).
    pub fn len(&self) -> usize {
        self.kinds.len()
    }

    pub fn is_empty(&self) -> bool {
        self.kinds.is_empty()
    }

    /// What happened to the key of `row`.
    pub fn kind(&self, row: usize) -> ChangeKind {
        self.kinds[row]
    }

    /// The key columns, in the spec's order.
    pub fn keys(&self) -> &[ArrayRef] {
        &self.rows.columns()[1..1 + self.key_count]
    }

    /// The compared columns (every column but the key), in table order.
    pub fn value_columns(&self) -> &[String] {
        &self.value_columns
    }

    fn position(&self, column: &str) -> Option<usize> {
        self.value_columns.iter().position(|c| c == column)
    }

    /// A compared column's values before the run (null where the key did not exist).
    pub fn before(&self, column: &str) -> Option<&ArrayRef> {
        self.position(column)
            .map(|i| self.rows.column(1 + self.key_count + 2 * i))
    }

    /// A compared column's values after the run (null where the key does not exist).
    pub fn after(&self, column: &str) -> Option<&ArrayRef> {
        self.position(column)
            .map(|i| self.rows.column(2 + self.key_count + 2 * i))
    }

    fn tail(&self, from_end: usize) -> &ArrayRef {
        self.rows.column(self.rows.num_columns() - from_end)
    }

    /// The columns an update changed, in table order (none for other kinds).
    pub fn changed_columns(&self, row: usize) -> impl Iterator<Item = &str> {
        self.tail(5)
            .as_string::<i32>()
            .value(row)
            .split(',')
            .filter(|c| !c.is_empty())
    }

    /// How many changes were applied to the key of `row`.
    pub fn changes_applied(&self, row: usize) -> u32 {
        self.tail(4).as_primitive::<UInt32Type>().value(row)
    }

    /// The source file name of every row's last change.
    pub fn source_files(&self) -> &StringArray {
        self.tail(3).as_string::<i32>()
    }

    /// Where the last change applied to the key of `row` came from.
    pub fn source(&self, row: usize) -> Source<'_> {
        Source {
            file: self.source_files().value(row),
            row: self.tail(2).as_primitive::<UInt64Type>().value(row),
        }
    }

    /// The sequence values of every row's last change (a timestamp or a decimal change
    /// number), when the changes carried a sequence.
    pub fn source_sequence(&self) -> Option<&ArrayRef> {
        self.sequenced.then(|| self.tail(1))
    }
}

pub(crate) fn compute(
    spec: &TableSpec,
    snapshot: &RecordBatch,
    changes: &ChangeSet,
    outcomes: &[KeyOutcome],
) -> Result<Diff> {
    let invalid = Error::from;
    let touched: Vec<&KeyOutcome> = outcomes.iter().filter(|o| o.last.is_some()).collect();
    let index = |f: fn(&KeyOutcome) -> Option<usize>| -> UInt32Array {
        touched.iter().map(|o| f(o).map(|i| i as u32)).collect()
    };
    let key_index = index(|o| Some(o.key));
    let before_index = index(|o| o.before);
    let after_index = index(|o| o.after);

    let schema = snapshot.schema();
    let mut fields = vec![Field::new(CHANGE_COLUMN, DataType::Utf8, false)];
    let mut columns: Vec<ArrayRef> = vec![];
    // A key a move moved a row from is not the key of its last change: keys are taken from
    // every key of the run.
    for (key, column) in spec.table.key.iter().zip(&changes.all_keys) {
        fields.push(schema.field_with_name(key).map_err(invalid)?.clone());
        columns.push(arrow_select::take::take(column.as_ref(), &key_index, None).map_err(invalid)?);
    }
    // Each other column's values before and after, and where they differ; a column per core.
    let compared: Vec<usize> = (0..schema.fields().len())
        .filter(|&i| !spec.table.key.contains(schema.field(i).name()))
        .collect();
    let sides = crate::par::try_map(&compared, |&i| {
        let before = arrow_select::take::take(snapshot.column(i).as_ref(), &before_index, None)?;
        let after = arrow_select::take::take(changes.rows.column(i).as_ref(), &after_index, None)?;
        let differ = arrow_ord::cmp::distinct(&before, &after)?;
        Ok((before, after, differ))
    })
    .map_err(invalid)?;
    let mut changed_masks: Vec<(&str, BooleanArray)> = Vec::with_capacity(compared.len());
    for (&i, (before, after, differ)) in compared.iter().zip(sides) {
        let field = schema.field(i);
        for (name, values) in [
            (before_column(field.name()), before),
            (after_column(field.name()), after),
        ] {
            fields.push(Field::new(name, field.data_type().clone(), true));
            columns.push(values);
        }
        changed_masks.push((field.name().as_str(), differ));
    }

    let mut kinds = Vec::with_capacity(touched.len());
    let mut changed = StringBuilder::with_capacity(touched.len(), touched.len() * 8);
    let mut summary = OutcomeCounts::default();
    for (row, o) in touched.iter().enumerate() {
        let mut names = changed_masks
            .iter()
            .filter(|(_, m)| m.value(row))
            .map(|(n, _)| *n);
        let kind = match (o.before, o.after) {
            (None, Some(_)) => ChangeKind::Inserted,
            (Some(_), None) => ChangeKind::Deleted,
            (Some(_), Some(_)) => match names.next() {
                Some(first) => {
                    // Written straight into the column: no string per row.
                    changed.write_str(first).expect("a builder takes any text");
                    for name in names {
                        write!(changed, ",{name}").expect("a builder takes any text");
                    }
                    ChangeKind::Updated
                }
                None => ChangeKind::Unchanged,
            },
            (None, None) if o.appeared => ChangeKind::InsertedAndDeleted,
            (None, None) => ChangeKind::Unchanged,
        };
        changed.append_value("");
        kind.count_into(&mut summary);
        kinds.push(kind);
    }
    let column_changes = changed_masks
        .iter()
        .enumerate()
        .map(|(i, (name, mask))| {
            let before = &columns[spec.table.key.len() + 2 * i];
            let after = &columns[spec.table.key.len() + 2 * i + 1];
            column_changes(name, before, after, mask, &kinds)
        })
        .collect::<Result<Vec<_>>>()?;
    let kind_column: StringArray = kinds.iter().map(|k| Some(k.as_str())).collect();
    columns.insert(0, Arc::new(kind_column));

    let mut source_file = StringBuilder::with_capacity(touched.len(), touched.len() * 24);
    let mut source_row = Vec::with_capacity(touched.len());
    for o in &touched {
        let (file, row) = changes
            .sources
            .file_and_row(o.last.expect("touched keys have a last change"));
        source_file.append_value(file);
        source_row.push(row);
    }
    // The sequence in its own type: a timestamp, or a decimal(38, 0) change sequence number.
    let source_sequence: ArrayRef = match &changes.sequence {
        Some((SequenceKind::Number, values)) => Arc::new(
            touched
                .iter()
                .map(|o| Some(values[o.last.expect("touched")]))
                .collect::<Decimal128Array>()
                .with_precision_and_scale(38, 0)
                .map_err(invalid)?,
        ),
        Some((SequenceKind::Timestamp, values)) => Arc::new(
            touched
                .iter()
                .map(|o| Some(values[o.last.expect("touched")] as i64))
                .collect::<TimestampMicrosecondArray>(),
        ),
        None => Arc::new(TimestampMicrosecondArray::new_null(touched.len())),
    };
    let counts: UInt32Array = touched.iter().map(|o| Some(o.count)).collect();
    // The accessors of `Diff` find these five by their place from the end.
    fields.extend([
        Field::new(CHANGED_COLUMNS_COLUMN, DataType::Utf8, false),
        Field::new(CHANGES_COLUMN, DataType::UInt32, false),
        Field::new(SOURCE_FILE_COLUMN, DataType::Utf8, false),
        Field::new(SOURCE_ROW_COLUMN, DataType::UInt64, false),
        Field::new(
            SOURCE_SEQUENCE_COLUMN,
            source_sequence.data_type().clone(),
            true,
        ),
    ]);
    columns.extend([
        Arc::new(changed.finish()) as ArrayRef,
        Arc::new(counts),
        Arc::new(source_file.finish()),
        Arc::new(UInt64Array::from(source_row)),
        source_sequence,
    ]);
    let rows = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(invalid)?;
    Ok(Diff {
        rows,
        kinds,
        summary,
        column_changes,
        key_count: spec.table.key.len(),
        value_columns: compared
            .iter()
            .map(|&i| schema.field(i).name().clone())
            .collect(),
        sequenced: changes.sequence.is_some(),
    })
}

/// What the updates did to one compared column: of the rows `kinds` says are updates, those
/// `changed` marks, their values before and after as the diff shows them (null: none).
fn column_changes(
    column: &str,
    before: &ArrayRef,
    after: &ArrayRef,
    changed: &BooleanArray,
    kinds: &[ChangeKind],
) -> Result<ColumnChanges> {
    use arrow_array::Array;
    use arrow_cast::display::{ArrayFormatter, FormatOptions};
    let options = FormatOptions::default();
    let (old, new) = (
        ArrayFormatter::try_new(before.as_ref(), &options).map_err(Error::from)?,
        ArrayFormatter::try_new(after.as_ref(), &options).map_err(Error::from)?,
    );
    let text = |f: &ArrayFormatter, values: &ArrayRef, row: usize| {
        (!values.is_null(row)).then(|| f.value(row).to_string())
    };
    let mut stats = ColumnChanges {
        column: column.to_string(),
        changed: 0,
        became_null: 0,
        top_transitions: Vec::new(),
    };
    // Each transition's count and the row it first appears at (ties keep diff order).
    let mut seen: std::collections::HashMap<(Option<String>, Option<String>), (usize, usize)> =
        std::collections::HashMap::new();
    for row in changed.values().set_indices() {
        if kinds[row] != ChangeKind::Updated {
            continue;
        }
        stats.changed += 1;
        if after.is_null(row) {
            stats.became_null += 1;
        }
        let entry = seen
            .entry((text(&old, before, row), text(&new, after, row)))
            .or_insert((0, row));
        entry.0 += 1;
    }
    let mut transitions: Vec<_> = seen.into_iter().collect();
    transitions.sort_by_key(|(_, (count, first))| (std::cmp::Reverse(*count), *first));
    stats.top_transitions = transitions
        .into_iter()
        .take(TOP_TRANSITIONS)
        .map(|((before, after), (count, _))| Transition {
            before,
            after,
            count,
        })
        .collect();
    Ok(stats)
}

/// A sequence value as it appeared in the file.
pub fn format_sequence(kind: SequenceKind, value: i128) -> String {
    match kind {
        SequenceKind::Number => value.to_string(),
        SequenceKind::Timestamp => DateTime::from_timestamp_micros(value as i64)
            .map(|t| t.naive_utc().format("%Y-%m-%d %H:%M:%S%.6f").to_string())
            .unwrap_or_else(|| value.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{self, Inputs, Options};
    use arrow_array::Array;

    fn seed_diff(changes: Vec<crate::InputFile>) -> Diff {
        let seed = crate::example::seed();
        let inputs = Inputs {
            snapshot: seed.snapshot,
            changes: if changes.is_empty() {
                seed.changes
            } else {
                changes
            },
            state: None,
            change_log: None,
            next_snapshot: Vec::new(),
        };
        let options = Options {
            as_of: chrono::NaiveDate::from_ymd_opt(2021, 10, 18),
            ..Default::default()
        };
        pipeline::run(&TableSpec::users(), inputs, &options, &mut |_| {})
            .unwrap()
            .diff
    }

    #[test]
    fn the_accessors_read_each_part_of_a_row_by_its_meaning() {
        let diff = seed_diff(vec![]);
        assert_eq!(diff.len(), 10);
        assert_eq!(diff.value_columns(), ["name", "city", "last_login"]);
        assert!(diff.source_sequence().is_none(), "the seed has no sequence");
        let keys = diff.keys()[0].as_primitive::<arrow_array::types::Int64Type>();
        let updated = (0..diff.len())
            .find(|&r| diff.kind(r) == ChangeKind::Updated && keys.value(r) == 9)
            .expect("user 9 is updated");
        let changed: Vec<&str> = diff.changed_columns(updated).collect();
        assert!(changed.contains(&"city"), "{changed:?}");
        let city = |side: Option<&ArrayRef>| {
            // Text may be held as a dictionary: read it as the file declares it.
            let text = arrow_cast::cast(side.unwrap(), &DataType::Utf8).unwrap();
            text.as_string::<i32>().value(updated).to_string()
        };
        assert_ne!(city(diff.before("city")), city(diff.after("city")));
        assert!(diff.before("user_id").is_none(), "the key is not compared");
        let source = diff.source(updated);
        assert!(
            source.file.ends_with(".csv") && source.row >= 1,
            "{source:?}"
        );
        assert!(diff.changes_applied(updated) >= 1);
        let inserted = (0..diff.len())
            .find(|&r| diff.kind(r) == ChangeKind::Inserted)
            .unwrap();
        assert!(diff.before("city").unwrap().is_null(inserted));
        assert_eq!(diff.changed_columns(inserted).count(), 0);
    }

    #[test]
    fn a_sequenced_run_gives_its_sequence_values() {
        let diff = seed_diff(vec![crate::InputFile::new(
            "20211019-000000000.csv",
            b"U,2021-10-19 12:00:00.000000,3,Steve Goodwin,Denver,2021-10-19\n".to_vec(),
        )]);
        let sequence = diff.source_sequence().expect("the file has a sequence");
        assert_eq!(sequence.len(), 1);
        assert_eq!(diff.source(0).row, 1);
        assert_eq!("updated".parse::<ChangeKind>(), Ok(diff.kind(0)));
    }

    #[test]
    fn a_key_inserted_and_deleted_within_the_run_is_named_so_and_keeps_its_provenance() {
        let diff = seed_diff(vec![
            crate::InputFile::new(
                "20211019-000000000.csv",
                b"I,500,Ann Lee,Austin,2021-10-19\n".to_vec(),
            ),
            crate::InputFile::new(
                "20211020-000000000.csv",
                b"U,500,Ann Lee,Boston,2021-10-20\nD,500,Ann Lee,Boston,2021-10-20\nD,501,Nobody,Austin,2021-10-20\n"
                    .to_vec(),
            ),
        ]);
        let keys = diff.keys()[0].as_primitive::<arrow_array::types::Int64Type>();
        let row = |key: i64| (0..diff.len()).find(|&r| keys.value(r) == key).unwrap();
        let transient = row(500);
        assert_eq!(diff.kind(transient), ChangeKind::InsertedAndDeleted);
        assert_eq!(diff.changes_applied(transient), 3);
        assert_eq!(
            diff.source(transient),
            Source {
                file: "20211020-000000000.csv",
                row: 2
            },
            "the change that removed it"
        );
        // A delete of a key that never existed leaves it as it was.
        assert_eq!(diff.kind(row(501)), ChangeKind::Unchanged);
        assert_eq!(diff.summary.inserted_and_deleted, 1);
        assert_eq!(diff.summary.unchanged, 1);
        let column = diff.rows.column(0).as_string::<i32>();
        assert_eq!(column.value(transient), "inserted_and_deleted");
        assert_eq!(
            "inserted_and_deleted".parse::<ChangeKind>(),
            Ok(ChangeKind::InsertedAndDeleted)
        );
    }
}
