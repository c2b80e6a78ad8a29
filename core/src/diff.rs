//! The diff of a run: for every key the changes touched, what it was, what it is, which
//! columns changed, and which file and row the deciding change came from.

use std::fmt::Write;
use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::{
    ArrayRef, BooleanArray, Decimal128Array, RecordBatch, StringArray, TimestampMicrosecondArray,
    UInt32Array, UInt64Array,
};
use arrow_schema::{DataType, Field, Schema};
use chrono::DateTime;

use crate::apply::{ChangeSet, KeyOutcome};
use crate::error::{Error, ErrorKind, Result};
use crate::report::OutcomeCounts;
use crate::spec::{SequenceKind, TableSpec};

/// What happened to a touched key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Inserted,
    Updated,
    Deleted,
    /// Touched, but the same afterwards: an update to equal values, or an insert deleted again.
    Unchanged,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Inserted => "inserted",
            ChangeKind::Updated => "updated",
            ChangeKind::Deleted => "deleted",
            ChangeKind::Unchanged => "unchanged",
        }
    }

    pub fn count_into(self, counts: &mut OutcomeCounts) {
        match self {
            ChangeKind::Inserted => counts.inserted += 1,
            ChangeKind::Updated => counts.updated += 1,
            ChangeKind::Deleted => counts.deleted += 1,
            ChangeKind::Unchanged => counts.unchanged += 1,
        }
    }
}

/// One row per touched key, in order of the key's first change.
///
/// Columns: `change`; the key columns; `before_<c>` and `after_<c>` for every other column;
/// `changed_columns` (comma-separated, for updates); `changes` (how many were applied to the
/// key); `source_file`, `source_row` and `source_sequence` of the last applied change.
#[derive(Debug, Clone)]
pub struct Diff {
    pub rows: RecordBatch,
    pub kinds: Vec<ChangeKind>,
    pub summary: OutcomeCounts,
}

pub const CHANGE_COLUMN: &str = "change";
pub const CHANGED_COLUMNS_COLUMN: &str = "changed_columns";

pub(crate) fn compute(
    spec: &TableSpec,
    snapshot: &RecordBatch,
    changes: &ChangeSet,
    outcomes: &[KeyOutcome],
) -> Result<Diff> {
    let invalid = |e: arrow_schema::ArrowError| Error::new(ErrorKind::Invalid(e.to_string()));
    let touched: Vec<&KeyOutcome> = outcomes.iter().filter(|o| o.last.is_some()).collect();
    let index = |f: fn(&KeyOutcome) -> Option<usize>| -> UInt32Array {
        touched.iter().map(|o| f(o).map(|i| i as u32)).collect()
    };
    let before_index = index(|o| o.before);
    let after_index = index(|o| o.after);
    let last_index = index(|o| o.last);

    let schema = snapshot.schema();
    let mut fields = vec![Field::new(CHANGE_COLUMN, DataType::Utf8, false)];
    let mut columns: Vec<ArrayRef> = vec![];
    for key in &spec.table.key {
        let column = changes.rows.column_by_name(key).expect("key in schema");
        fields.push(schema.field_with_name(key).map_err(invalid)?.clone());
        columns
            .push(arrow_select::take::take(column.as_ref(), &last_index, None).map_err(invalid)?);
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
        for (side, values) in [("before", before), ("after", after)] {
            let name = format!("{side}_{}", field.name());
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
            _ => ChangeKind::Unchanged,
        };
        changed.append_value("");
        kind.count_into(&mut summary);
        kinds.push(kind);
    }
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
    fields.extend([
        Field::new(CHANGED_COLUMNS_COLUMN, DataType::Utf8, false),
        Field::new("changes", DataType::UInt32, false),
        Field::new("source_file", DataType::Utf8, false),
        Field::new("source_row", DataType::UInt64, false),
        Field::new("source_sequence", source_sequence.data_type().clone(), true),
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
    })
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
