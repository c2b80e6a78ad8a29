//! History (slowly changing dimension type 2): every version of every key, kept across runs.
//!
//! Two tables carry it:
//!
//! - The **change log** ([`ChangeLog`], `change_log.parquet`): every change ever applied, one
//!   row per change and key, in the order they were logged (each run's after the earlier
//!   runs'); each carries its place in the total order changes apply in (sequence, change
//!   sequence, file, row: see [`crate::versions`]). The rows of the snapshot the history
//!   started from are there too, as operation `L`, before every change. It is
//!   the state history needs between runs: a late change (older than what a key has) lands at
//!   its place among the changes already logged, and a change already logged (a replayed
//!   file: same position, same key) is not logged twice.
//! - The **history** ([`History::versions`], `history.parquet`): what the log means as
//!   versions, one row per version of a key, with `valid_from` and `valid_to` (the sequence
//!   values of the change that opened the version and of the one that closed it; `valid_to`
//!   is null for the current version), `is_current`, `deleted` (the version was closed by a
//!   delete) and the operation, file and row of the change that opened it. It is computed
//!   from the log by [`versions_of`], so any order of files over any number of runs gives the
//!   same history as one replay of all of them in order.
//!
//! Which changes open a version: every insert and update, unless the spec lists the columns
//! whose history it tracks ([`crate::spec::HistorySpec`]); then a change that leaves those
//! columns as they were updates the current version in place (its values become the
//! change's; `valid_from` and provenance stay the opening change's). A delete closes the
//! current version; a delete of a key without one changes nothing. A truncate closes every
//! version open at its place.
//!
//! The snapshot's rows have no sequence value: their versions start at `valid_from` null
//! ("since the load"), before any change.

use std::sync::Arc;

use arrow_array::builder::{BooleanBufferBuilder, Decimal128Builder, StringDictionaryBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::{Decimal128Type, Int8Type, Int32Type, UInt64Type};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Decimal128Array, DictionaryArray, RecordBatch, StringArray,
    TimestampMicrosecondArray, UInt32Array, UInt64Array,
};
use arrow_buffer::{BooleanBuffer, NullBuffer};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};

use crate::change_set::{ChangeSet, key_columns};
use crate::changes::{Op, Snapshot};
use crate::error::{Error, ErrorKind, Location, Result};
use crate::files::FileOrder;
use crate::spec::{SequenceKind, TableSpec};
use crate::versions::{VERSION_CHANGE_SEQUENCE_COLUMN, VERSION_FILE_COLUMN, VERSION_ROW_COLUMN};

/// The change's operation in the log and the history: `L` (a row of the snapshot history
/// started from), `I`, `U`, `D` or `T` (a truncate, in the log only).
pub const OP_COLUMN: &str = "_tidemark_op";
/// The change's sequence value in the log (decimal(38,0); null for `L` rows).
pub const LOG_SEQUENCE_COLUMN: &str = "_tidemark_sequence";
/// The sequence value of the change that opened a version.
pub const VALID_FROM_COLUMN: &str = "valid_from";
/// The sequence value of the change that closed a version; null while it is current.
pub const VALID_TO_COLUMN: &str = "valid_to";
pub const IS_CURRENT_COLUMN: &str = "is_current";
/// The version was closed by a delete (of its key, or a move of its row to another key).
pub const DELETED_COLUMN: &str = "deleted";
const SEQUENCE_KIND_METADATA: &str = "tidemark.sequence_kind";

/// Every change applied, each once: the history's state between runs. See the
/// module documentation.
///
/// Its rows are the table's columns, then `_tidemark_op` (`L`, `I`, `U`, `D`, `T`; dictionary-encoded),
/// `_tidemark_sequence` and `_tidemark_change_sequence` (decimal(38,0)), `_tidemark_file`
/// (dictionary text: the file's name as given) and `_tidemark_row` (uint64).
#[derive(Debug, Clone)]
pub struct ChangeLog {
    pub kind: SequenceKind,
    pub rows: RecordBatch,
}

/// The history after a run: its change log, and the versions it means.
#[derive(Debug, Clone)]
pub struct History {
    pub log: ChangeLog,
    /// One row per version: the table's columns, then `valid_from`, `valid_to` (timestamps
    /// for a timestamp sequence, decimal(38,0) for a number), `is_current`, `deleted`,
    /// `_tidemark_op`, `_tidemark_file` and `_tidemark_row` (the change that opened it).
    pub versions: RecordBatch,
}

/// The operation letters, in the order of the op column's dictionary: `L` for a row of the
/// snapshot history started from.
const OP_LETTERS: [&str; 5] = ["L", "I", "U", "D", "T"];

/// `_tidemark_op`: one letter of [`OP_LETTERS`], dictionary-encoded (one byte a row).
fn op_type() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int8), Box::new(DataType::Utf8))
}

/// The code of a snapshot's row.
const LOAD_CODE: i8 = 0;

fn op_code(op: Op) -> i8 {
    match op {
        Op::Insert => 1,
        Op::Update => 2,
        Op::Delete => 3,
        Op::Truncate => 4,
    }
}

/// `_tidemark_op` from the letters' codes (their places in [`OP_LETTERS`]).
fn op_array(codes: impl Iterator<Item = i8>) -> ArrayRef {
    let keys: Vec<i8> = codes.collect();
    let letters = Arc::new(StringArray::from(OP_LETTERS.to_vec()));
    Arc::new(
        DictionaryArray::<Int8Type>::try_new(keys.into(), letters)
            .expect("codes are places in OP_LETTERS"),
    )
}

fn decimal() -> DataType {
    DataType::Decimal128(38, 0)
}

fn file_type() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

impl ChangeLog {
    /// The schema of a change log of a table of schema `table`.
    pub fn schema(table: &Schema, kind: SequenceKind) -> SchemaRef {
        let mut fields: Vec<Field> = table.fields().iter().map(|f| f.as_ref().clone()).collect();
        fields.extend([
            Field::new(OP_COLUMN, op_type(), false),
            Field::new(LOG_SEQUENCE_COLUMN, decimal(), true),
            Field::new(VERSION_CHANGE_SEQUENCE_COLUMN, decimal(), true),
            Field::new(VERSION_FILE_COLUMN, file_type(), false),
            Field::new(VERSION_ROW_COLUMN, DataType::UInt64, false),
        ]);
        let metadata = [(SEQUENCE_KIND_METADATA.to_string(), kind.to_string())];
        let metadata: std::collections::HashMap<String, String> = metadata.into_iter().collect();
        Arc::new(Schema::new_with_metadata(fields, metadata))
    }

    /// A change log read back from `file` (an earlier run's `change_log.parquet`), checked
    /// against the table's schema.
    pub fn from_batch(rows: RecordBatch, table: &Schema, file: &str) -> Result<ChangeLog> {
        let bad = |why: String| {
            Error::at(
                Location::file(file),
                ErrorKind::Columns(format!("not a Tidemark change log: {why}")),
            )
        };
        let kind = match rows
            .schema()
            .metadata()
            .get(SEQUENCE_KIND_METADATA)
            .map(|k| k.parse())
        {
            Some(Ok(kind)) => kind,
            _ => return Err(bad("no sequence kind".into())),
        };
        let expected = Self::schema(table, kind);
        let mut columns = Vec::with_capacity(expected.fields().len());
        for field in expected.fields() {
            let column = rows
                .column_by_name(field.name())
                .ok_or_else(|| bad(format!("no column `{}`", field.name())))?;
            let column = match column.data_type() == field.data_type() {
                true => column.clone(),
                false => arrow_cast::cast(column, field.data_type()).map_err(|_| {
                    bad(format!(
                        "column `{}` is {}, not {}",
                        field.name(),
                        column.data_type(),
                        field.data_type()
                    ))
                })?,
            };
            columns.push(column);
        }
        let rows = RecordBatch::try_new(expected, columns).map_err(|e| bad(e.to_string()))?;
        Ok(ChangeLog { kind, rows })
    }

    fn column(&self, name: &str) -> &ArrayRef {
        self.rows
            .column_by_name(name)
            .expect("a change log's column")
    }
}

/// The history after this run: `old` (the log of earlier runs; without one, history starts
/// from `snapshot`'s rows) with the run's changes `set` logged at their places.
pub(crate) fn extend(
    spec: &TableSpec,
    table: &SchemaRef,
    old: Option<&ChangeLog>,
    snapshot: &Snapshot,
    set: &ChangeSet,
) -> Result<History> {
    // A log of snapshot rows only has no sequence value yet: its kind is the first changes'.
    let sequenced =
        |log: &ChangeLog| log.column(LOG_SEQUENCE_COLUMN).null_count() < log.rows.num_rows();
    let kind = match (&set.sequence, old) {
        (Some((kind, _)), Some(old)) if *kind != old.kind && sequenced(old) => {
            return Err(Error::new(ErrorKind::Columns(format!(
                "the change log orders changes by a {} sequence, but these change files carry a {kind} one",
                old.kind
            ))));
        }
        (Some((kind, _)), _) => *kind,
        (None, Some(old)) => old.kind,
        (None, None) => spec
            .cdc
            .sequence
            .as_ref()
            .and_then(|s| s.kind)
            .unwrap_or(SequenceKind::Timestamp),
    };
    if set.sequence.is_none() && !set.ops.is_empty() {
        return Err(Error::new(ErrorKind::Columns(
            "history needs change files that carry a sequence (a commit timestamp or a change number)"
                .into(),
        )));
    }
    let schema = ChangeLog::schema(table, kind);
    let mut parts: Vec<RecordBatch> = Vec::new();
    match old {
        Some(old) => parts.push(old.rows.clone()),
        None => parts.push(load_events(&schema, snapshot)?),
    }
    parts.push(change_events(&schema, set)?);
    parts.extend(move_events(spec, &schema, set)?);
    let all = ChangeLog {
        kind,
        rows: concat_log(&schema, &parts)?,
    };
    let order = LogOrder::of(spec, &all)?;
    let versions = versions_in(spec, &all, &order)?;
    // The log keeps the order changes were logged in (each run's after the earlier runs'),
    // less the changes logged twice: no copy unless a file came again.
    let log = match order.rows.len() == all.rows.num_rows() {
        true => all,
        false => {
            let mut kept = order.rows.clone();
            kept.sort_unstable();
            ChangeLog {
                kind,
                rows: arrow_select::take::take_record_batch(&all.rows, &UInt32Array::from(kept))
                    .map_err(Error::from)?,
            }
        }
    };
    Ok(History { log, versions })
}

/// The parts' rows one after the other: `concat_batches`, except for the decimal sequence
/// columns. Those are mostly null (a snapshot's rows have no sequence), and a part all null
/// leaves its run of values as zeroed memory the system hands out untouched, instead of
/// copying (ten million snapshot rows would be 160 MB of zeros a column, written twice).
fn concat_log(schema: &SchemaRef, parts: &[RecordBatch]) -> Result<RecordBatch> {
    let columns = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(c, field)| {
            let arrays: Vec<&dyn Array> = parts.iter().map(|p| p.column(c).as_ref()).collect();
            match field.data_type() {
                DataType::Decimal128(precision, scale) => {
                    concat_decimals(&arrays, *precision, *scale)
                }
                _ => arrow_select::concat::concat(&arrays).map_err(Error::from),
            }
        })
        .collect::<Result<Vec<_>>>()?;
    RecordBatch::try_new(schema.clone(), columns).map_err(Error::from)
}

fn concat_decimals(arrays: &[&dyn Array], precision: u8, scale: i8) -> Result<ArrayRef> {
    let len = arrays.iter().map(|a| a.len()).sum();
    // `vec![0; n]` asks the allocator for zeroed memory: no page is touched until written.
    let mut values = vec![0i128; len];
    let mut validity = BooleanBufferBuilder::new(len);
    let mut at = 0;
    for array in arrays {
        let n = array.len();
        if array.null_count() == n {
            validity.append_n(n, false);
        } else {
            let decimals = array.as_primitive::<Decimal128Type>();
            values[at..at + n].copy_from_slice(decimals.values());
            match decimals.nulls() {
                Some(nulls) => validity.append_buffer(nulls.inner()),
                None => validity.append_n(n, true),
            }
        }
        at += n;
    }
    let decimals = Decimal128Array::new(values.into(), Some(NullBuffer::new(validity.finish())))
        .with_precision_and_scale(precision, scale)
        .map_err(Error::from)?;
    Ok(Arc::new(decimals))
}

/// The snapshot's rows as `L` events, before every change.
fn load_events(schema: &SchemaRef, snapshot: &Snapshot) -> Result<RecordBatch> {
    let n = snapshot.rows.num_rows();
    // One dictionary entry per file, each row pointing at its file's.
    let names: Vec<&str> = snapshot.sources.files().collect();
    let mut file_keys = Vec::with_capacity(n);
    let mut rows = Vec::with_capacity(n);
    for i in 0..n {
        let (file, row) = snapshot.sources.file_index_and_row(i);
        file_keys.push(file as i32);
        rows.push(row);
    }
    let files =
        DictionaryArray::<Int32Type>::try_new(file_keys.into(), Arc::new(StringArray::from(names)))
            .map_err(Error::from)?;
    let mut columns: Vec<ArrayRef> = snapshot.rows.columns().to_vec();
    columns.extend([
        op_array(std::iter::repeat_n(LOAD_CODE, n)),
        arrow_array::new_null_array(&decimal(), n),
        arrow_array::new_null_array(&decimal(), n),
        Arc::new(files),
        Arc::new(UInt64Array::from(rows)),
    ]);
    RecordBatch::try_new(schema.clone(), columns).map_err(Error::from)
}

/// The run's changes, one event each, in the order they came.
fn change_events(schema: &SchemaRef, set: &ChangeSet) -> Result<RecordBatch> {
    let n = set.ops.len();
    let mut columns: Vec<ArrayRef> = set.rows.columns().to_vec();
    columns.extend([
        op_array(set.ops.iter().map(|&op| op_code(op))),
        sequence_array(set, 0..n)?,
        change_sequence_array(set, 0..n)?,
        file_array(set, 0..n),
        Arc::new(UInt64Array::from_iter_values(
            (0..n).map(|c| set.sources.file_and_row(c).1),
        )),
    ]);
    RecordBatch::try_new(schema.clone(), columns).map_err(Error::from)
}

/// For each update that moves its row to another key (DMS before-images), a delete of the
/// key it moves from, at the update's place.
fn move_events(
    spec: &TableSpec,
    schema: &SchemaRef,
    set: &ChangeSet,
) -> Result<Option<RecordBatch>> {
    if set.moves.is_empty() {
        return Ok(None);
    }
    let n_changes = set.ops.len();
    let n = set.moves.len();
    let from = UInt32Array::from_iter_values((0..n as u32).map(|j| n_changes as u32 + j));
    let changes: Vec<usize> = set.moves.iter().map(|&c| c as usize).collect();
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for field in schema.fields().iter().take(set.rows.num_columns()) {
        let column = match spec.table.key.iter().position(|k| k == field.name()) {
            Some(k) => arrow_select::take::take(set.all_keys[k].as_ref(), &from, None)
                .map_err(Error::from)?,
            None => arrow_array::new_null_array(field.data_type(), n),
        };
        columns.push(column);
    }
    columns.extend([
        op_array(std::iter::repeat_n(op_code(Op::Delete), n)),
        sequence_array(set, changes.iter().copied())?,
        change_sequence_array(set, changes.iter().copied())?,
        file_array(set, changes.iter().copied()),
        Arc::new(UInt64Array::from_iter_values(
            changes.iter().map(|&c| set.sources.file_and_row(c).1),
        )),
    ]);
    RecordBatch::try_new(schema.clone(), columns)
        .map(Some)
        .map_err(Error::from)
}

fn sequence_array(set: &ChangeSet, changes: impl Iterator<Item = usize>) -> Result<ArrayRef> {
    // Changes without a sequence are refused (see `extend`), unless there are none.
    let values = set.sequence.as_ref().map(|(_, values)| values);
    decimal_array(changes.map(|c| values.map(|v| v[c])))
}

fn change_sequence_array(
    set: &ChangeSet,
    changes: impl Iterator<Item = usize>,
) -> Result<ArrayRef> {
    let values = set.change_sequence.as_ref();
    decimal_array(changes.map(|c| values.map(|v| v[c])))
}

fn decimal_array(values: impl Iterator<Item = Option<i128>>) -> Result<ArrayRef> {
    let mut builder = Decimal128Builder::new();
    for value in values {
        builder.append_option(value);
    }
    Ok(Arc::new(
        builder
            .finish()
            .with_precision_and_scale(38, 0)
            .map_err(Error::from)?,
    ))
}

fn file_array(set: &ChangeSet, changes: impl Iterator<Item = usize>) -> ArrayRef {
    let mut builder = StringDictionaryBuilder::<Int32Type>::new();
    for c in changes {
        builder.append_value(set.sources.file_and_row(c).0);
    }
    Arc::new(builder.finish())
}

/// A log's rows by key value, then in apply order, each change once: of two rows of one key
/// at one position (a file applied again), the one logged first counts. Ordered by value, the
/// history is the same whatever order the files came in.
///
/// Sorted by key alone first (in parallel for a one-column integer key, the common case, else
/// by Arrow's row format), then each key's few rows by position: cheaper than one sort on
/// every column at ten million rows.
struct LogOrder {
    /// The log's rows, in order.
    rows: Vec<u32>,
    /// Per entry of `rows`: whether it is its key's first.
    key_starts: Vec<bool>,
}

impl LogOrder {
    fn of(spec: &TableSpec, log: &ChangeLog) -> Result<LogOrder> {
        let n = log.rows.num_rows();
        let positions = Positions::of(log);
        let (mut by_key, key_starts) = KeyOrder::of(&key_columns(spec, &log.rows))?.sorted(n);
        let mut rows = Vec::with_capacity(n);
        let mut starts = Vec::with_capacity(n);
        let mut start = 0;
        while start < n {
            let mut end = start + 1;
            while end < n && !key_starts[end] {
                end += 1;
            }
            let run = &mut by_key[start..end];
            if let [row] = run {
                // Most keys have one row: no position to work out.
                rows.push(*row);
                starts.push(true);
            } else {
                // Within one key: by position, then as logged; a position seen already is a
                // file applied again.
                run.sort_unstable_by_key(|&i| (positions.key(i as usize), i));
                let mut last = None;
                for &i in run.iter() {
                    let position = Some(positions.key(i as usize));
                    if position != last {
                        starts.push(last.is_none());
                        rows.push(i);
                        last = position;
                    }
                }
            }
            start = end;
        }
        Ok(LogOrder {
            rows,
            key_starts: starts,
        })
    }
}

/// The order of key values, row by row.
enum KeyOrder {
    /// One integer key column (nulls cannot be keys).
    Integer(Vec<i64>),
    /// Any other key: Arrow's row format, which compares as the values do.
    Rows(arrow_row::Rows),
}

impl KeyOrder {
    fn of(keys: &[ArrayRef]) -> Result<KeyOrder> {
        if let [key] = keys {
            let integer = match key.data_type() {
                DataType::Int64 => Some(
                    key.as_primitive::<arrow_array::types::Int64Type>()
                        .values()
                        .to_vec(),
                ),
                DataType::Int32 => Some(
                    key.as_primitive::<arrow_array::types::Int32Type>()
                        .values()
                        .iter()
                        .map(|&v| i64::from(v))
                        .collect(),
                ),
                _ => None,
            };
            if let Some(values) = integer.filter(|_| key.null_count() == 0) {
                return Ok(KeyOrder::Integer(values));
            }
        }
        let fields = keys
            .iter()
            .map(|k| arrow_row::SortField::new(k.data_type().clone()))
            .collect();
        let converter = arrow_row::RowConverter::new(fields).map_err(Error::from)?;
        Ok(KeyOrder::Rows(
            converter.convert_columns(keys).map_err(Error::from)?,
        ))
    }

    /// The rows `0..n` by key value (rows of one key in no particular order), and per entry
    /// whether it is its key's first.
    ///
    /// A stable sort, which finds runs already in order: the snapshot's rows start the log,
    /// and a full load usually comes in key order, so most of the work is merging the
    /// changes in.
    fn sorted(&self, n: usize) -> (Vec<u32>, Vec<bool>) {
        match self {
            KeyOrder::Integer(values) => {
                let mut pairs: Vec<(i64, u32)> = values
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| (v, i as u32))
                    .collect();
                crate::par::sort_stable_by_key(&mut pairs, |&(key, _)| key);
                let starts = (0..n).map(|i| i == 0 || pairs[i - 1].0 != pairs[i].0);
                let starts = starts.collect();
                (pairs.into_iter().map(|(_, i)| i).collect(), starts)
            }
            KeyOrder::Rows(rows) => {
                let mut order: Vec<u32> = (0..n as u32).collect();
                order.sort_by(|&a, &b| rows.row(a as usize).cmp(&rows.row(b as usize)));
                let starts = (0..n)
                    .map(|i| {
                        i == 0 || rows.row(order[i - 1] as usize) != rows.row(order[i] as usize)
                    })
                    .collect();
                (order, starts)
            }
        }
    }
}

/// The log's positions as plain values that sort in apply order: a missing sequence (a
/// snapshot row) or change sequence first, files by [`FileOrder`] of their names.
struct Positions<'a> {
    sequence: &'a Decimal128Array,
    change_sequence: &'a Decimal128Array,
    /// Each row's file, as its rank among the log's file names in [`FileOrder`].
    file_rank: Vec<u32>,
    row: &'a UInt64Array,
}

impl<'a> Positions<'a> {
    fn of(log: &'a ChangeLog) -> Positions<'a> {
        let files: &DictionaryArray<Int32Type> = log.column(VERSION_FILE_COLUMN).as_dictionary();
        let names = files.values().as_string::<i32>();
        let mut by_order: Vec<usize> = (0..names.len()).collect();
        by_order.sort_by_key(|&v| FileOrder::of(names.value(v)));
        let mut rank_of_value = vec![0u32; names.len()];
        // Equal orders (one file named twice in the dictionary) get one rank.
        let mut rank = 0;
        for (i, &v) in by_order.iter().enumerate() {
            if i > 0 && FileOrder::of(names.value(by_order[i - 1])) != FileOrder::of(names.value(v))
            {
                rank += 1;
            }
            rank_of_value[v] = rank;
        }
        let file_rank = files
            .keys()
            .values()
            .iter()
            .map(|&k| rank_of_value[k as usize])
            .collect();
        Positions {
            sequence: log
                .column(LOG_SEQUENCE_COLUMN)
                .as_primitive::<Decimal128Type>(),
            change_sequence: log
                .column(VERSION_CHANGE_SEQUENCE_COLUMN)
                .as_primitive::<Decimal128Type>(),
            file_rank,
            row: log.column(VERSION_ROW_COLUMN).as_primitive::<UInt64Type>(),
        }
    }

    fn key(&self, i: usize) -> PositionKey {
        (
            self.sequence.is_valid(i).then(|| self.sequence.value(i)),
            self.change_sequence
                .is_valid(i)
                .then(|| self.change_sequence.value(i)),
            self.file_rank[i],
            self.row.value(i),
        )
    }
}

/// The versions `log` means (see the module documentation), by key and then in order.
///
/// With tracked columns, a change opens a version only if one of them differs from the
/// current version's (nulls equal each other); other changes update the current version.
pub fn versions_of(spec: &TableSpec, log: &ChangeLog) -> Result<RecordBatch> {
    versions_in(spec, log, &LogOrder::of(spec, log)?)
}

fn versions_in(spec: &TableSpec, log: &ChangeLog, order: &LogOrder) -> Result<RecordBatch> {
    let table_columns = log.rows.num_columns() - 5;
    // Which codes of the log's op dictionary mean a delete: a log read back, or put together
    // from several, has its own dictionary, possibly with a letter twice.
    let op_column = log.column(OP_COLUMN).as_dictionary::<Int8Type>();
    let letters = op_column.values().as_string::<i32>();
    let is_delete: Vec<bool> = letters.iter().map(|v| v == Some("D")).collect();
    let is_truncate: Vec<bool> = letters.iter().map(|v| v == Some("T")).collect();
    let ops = op_column.keys();
    let truncates = Truncates::of(log, order, |i| is_truncate[ops.value(i) as usize]);
    let tracked = tracked_unchanged(spec, log, order, table_columns)?;

    // Per version: the row that opened it, the row whose values it has, the row that closed
    // it (its change's sequence value is `valid_to`) and whether that was a delete. Row
    // indices rather than values: ten million versions of `Option<i128>` would be 320 MB each.
    let mut opened: Vec<u32> = Vec::new();
    let mut values: Vec<u32> = Vec::new();
    let mut closed_by: Vec<u32> = Vec::new();
    let mut deleted: Vec<bool> = Vec::new();
    // The version of the key being read that is still open, if any, and the row of its key's
    // last change.
    let mut open: Option<usize> = None;
    let mut previous: Option<usize> = None;
    for (step, &i) in order.rows.iter().enumerate() {
        let i = i as usize;
        if order.key_starts[step] {
            // A truncate after the key's last change closes what it left open.
            if let (Some(v), Some(truncate)) = (open, truncates.after(previous, None)) {
                closed_by[v] = truncate;
                deleted[v] = true;
            }
            open = None;
            previous = None;
        }
        if is_truncate[ops.value(i) as usize] {
            continue; // they act on every key: see `truncates`
        }
        // A truncate between the key's last change and this one closed its version.
        if let (Some(v), Some(truncate)) = (open, truncates.after(previous, Some(i))) {
            closed_by[v] = truncate;
            deleted[v] = true;
            open = None;
        }
        previous = Some(i);
        if is_delete[ops.value(i) as usize] {
            if let Some(v) = open.take() {
                closed_by[v] = i as u32;
                deleted[v] = true;
            }
            continue;
        }
        match open {
            // Tracked columns as they were: the version takes the change's values.
            Some(v) if tracked.as_ref().is_some_and(|same| same[step]) => {
                values[v] = i as u32;
            }
            _ => {
                if let Some(v) = open {
                    closed_by[v] = i as u32;
                }
                open = Some(opened.len());
                opened.push(i as u32);
                values.push(i as u32);
                closed_by.push(NOT_CLOSED);
                deleted.push(false);
            }
        }
    }
    if let (Some(v), Some(truncate)) = (open, truncates.after(previous, None)) {
        closed_by[v] = truncate;
        deleted[v] = true;
    }

    let sequence = log
        .column(LOG_SEQUENCE_COLUMN)
        .as_primitive::<Decimal128Type>();
    let valid_from = sequence_values(log.kind, sequence, &opened)?;
    let valid_to = sequence_values(log.kind, sequence, &closed_by)?;
    // A version is current when nothing closed it: no later change of its key, no delete.
    // (A version is closed by the next version of its key, or a delete: the last of a key is
    // the only one that can be open.)
    let is_current = BooleanArray::new(
        BooleanBuffer::collect_bool(deleted.len(), |v| valid_to.is_null(v) && !deleted[v]),
        None,
    );
    let opened_at = UInt32Array::from(opened);

    // The table's columns at the rows whose values each version has, one column per task.
    let values = UInt32Array::from(values);
    let mut columns: Vec<ArrayRef> =
        crate::par::try_map(&log.rows.columns()[..table_columns], |c| {
            arrow_select::take::take(c.as_ref(), &values, None)
        })
        .map_err(Error::from)?;
    columns.extend([
        valid_from,
        valid_to,
        Arc::new(is_current),
        Arc::new(BooleanArray::from(deleted)),
    ]);
    for name in [OP_COLUMN, VERSION_FILE_COLUMN, VERSION_ROW_COLUMN] {
        columns.push(
            arrow_select::take::take(log.column(name).as_ref(), &opened_at, None)
                .map_err(Error::from)?,
        );
    }
    let schema = versions_schema(&log.rows.schema(), table_columns, log.kind);
    RecordBatch::try_new(schema, columns).map_err(Error::from)
}

/// A version that nothing closed (yet).
const NOT_CLOSED: u32 = u32::MAX;

/// The log's truncates, in order: each closes every version open at its place.
struct Truncates<'a> {
    positions: Option<Positions<'a>>,
    /// (position, log row) of each truncate, in order.
    at: Vec<(PositionKey, u32)>,
}

type PositionKey = (Option<i128>, Option<i128>, u32, u64);

impl<'a> Truncates<'a> {
    fn of(log: &'a ChangeLog, order: &LogOrder, is_truncate: impl Fn(usize) -> bool) -> Self {
        let rows: Vec<usize> = order
            .rows
            .iter()
            .map(|&i| i as usize)
            .filter(|&i| is_truncate(i))
            .collect();
        if rows.is_empty() {
            return Truncates {
                positions: None,
                at: Vec::new(),
            };
        }
        let positions = Positions::of(log);
        let mut at: Vec<(PositionKey, u32)> =
            rows.iter().map(|&i| (positions.key(i), i as u32)).collect();
        at.sort();
        Truncates {
            positions: Some(positions),
            at,
        }
    }

    /// The log row of the first truncate after log row `after` (after nothing: from the
    /// start) and before row `before` (before nothing: to the end), if there is one.
    fn after(&self, after: Option<usize>, before: Option<usize>) -> Option<u32> {
        let positions = self.positions.as_ref()?;
        let from = match after {
            Some(row) => {
                let key = positions.key(row);
                self.at.partition_point(|(t, _)| *t <= key)
            }
            None => 0,
        };
        let (position, truncate) = self.at.get(from)?;
        match before {
            Some(row) if *position >= positions.key(row) => None,
            _ => Some(*truncate),
        }
    }
}

/// The schema of the history of a log of schema `log`.
fn versions_schema(log: &Schema, table_columns: usize, kind: SequenceKind) -> SchemaRef {
    let sequence_type = match kind {
        SequenceKind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
        SequenceKind::Number => decimal(),
    };
    let mut fields: Vec<Field> = log.fields()[..table_columns]
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.extend([
        Field::new(VALID_FROM_COLUMN, sequence_type.clone(), true),
        Field::new(VALID_TO_COLUMN, sequence_type, true),
        Field::new(IS_CURRENT_COLUMN, DataType::Boolean, false),
        Field::new(DELETED_COLUMN, DataType::Boolean, false),
        Field::new(OP_COLUMN, op_type(), false),
        Field::new(VERSION_FILE_COLUMN, file_type(), false),
        Field::new(VERSION_ROW_COLUMN, DataType::UInt64, false),
    ]);
    Arc::new(Schema::new(fields))
}

/// The log's sequence values at `rows` as the history shows them: timestamps (microseconds)
/// or numbers; null for [`NOT_CLOSED`] and for a row without one (the snapshot's). Read
/// straight from the log's values: a `take` of ten million decimals, then a cast, took 0.8 s.
fn sequence_values(
    kind: SequenceKind,
    sequence: &Decimal128Array,
    rows: &[u32],
) -> Result<ArrayRef> {
    let has_value = |row: u32| row != NOT_CLOSED && sequence.is_valid(row as usize);
    let nulls = NullBuffer::new(BooleanBuffer::collect_bool(rows.len(), |v| {
        has_value(rows[v])
    }));
    let value = |row: u32| match has_value(row) {
        true => sequence.values()[row as usize],
        false => 0,
    };
    Ok(match kind {
        SequenceKind::Timestamp => Arc::new(TimestampMicrosecondArray::new(
            rows.iter().map(|&row| value(row) as i64).collect(),
            Some(nulls),
        )),
        SequenceKind::Number => Arc::new(
            Decimal128Array::new(rows.iter().map(|&row| value(row)).collect(), Some(nulls))
                .with_precision_and_scale(38, 0)
                .map_err(Error::from)?,
        ),
    })
}

/// Per row of the log in `order`: whether the spec's tracked columns hold what they held in
/// the row before it (a key's first row opens a version whatever this says); `None` when the spec tracks every column, as then every
/// change opens a version.
fn tracked_unchanged(
    spec: &TableSpec,
    log: &ChangeLog,
    order: &LogOrder,
    table_columns: usize,
) -> Result<Option<Vec<bool>>> {
    let schema = log.rows.schema();
    let columns: Vec<&str> = schema.fields()[..table_columns]
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    let Some(tracked) = spec.history.as_ref().and_then(|h| h.tracked(&columns)) else {
        return Ok(None);
    };
    let n = order.rows.len();
    let mut same = vec![n > 0; n];
    if n > 0 {
        same[0] = false;
    }
    let in_order = UInt32Array::from(order.rows.clone());
    for name in tracked {
        let index = schema
            .index_of(&name)
            .ok()
            .filter(|&i| i < table_columns)
            .ok_or_else(|| {
                Error::new(ErrorKind::Spec(format!(
                    "[history] tracks `{name}`, which is not a column of the table"
                )))
            })?;
        if n < 2 {
            break;
        }
        let column = arrow_select::take::take(log.rows.column(index).as_ref(), &in_order, None)
            .map_err(Error::from)?;
        let differ = arrow_ord::cmp::distinct(&column.slice(1, n - 1), &column.slice(0, n - 1))
            .map_err(Error::from)?;
        for i in differ.values().set_indices() {
            same[i + 1] = false;
        }
    }
    // A row after a delete or another key's rows opens a version whatever it holds: the
    // caller starts a version where none is open, so only the key change matters here.
    Ok(Some(same))
}

/// The versions of one key: the rows of `versions` (a [`History::versions`] batch, or a
/// `history.parquet` read back) whose key columns `key_columns` hold the key, in order (the
/// history keeps a key's versions together, oldest first, so the rows come in that order).
///
/// The key is the values of `key` (one array per key column, in `key_columns`' order) at
/// `row`: the diff's [`Diff::keys`](crate::diff::Diff::keys) and one of its rows, or the
/// arrays of [`key_from_text`] and row 0. Values compare as the history's columns hold them,
/// typed (a key given in another type, a dictionary's values say, is cast to the column's
/// first); a key the history has no version of gives no rows.
///
/// ```
/// use tidemark_core::{InputFile, TableSpec, history, pipeline};
/// let spec = TableSpec::from_toml(r#"
///     [table]
///     name = "users"
///     key = ["userId"]
///     columns = [
///       { name = "userId", type = "int64" },
///       { name = "city", type = "string" },
///     ]
///     [cdc]
///     op_column = "operation"
///     sequence = { column = "sequenceNum", kind = "number" }
///     ops = { insert = ["INSERT"], update = ["UPDATE"], delete = ["DELETE"] }
///     [history]
/// "#).unwrap();
/// let changes = "userId,city,operation,sequenceNum\n\
///                125,Tijuana,INSERT,2\n\
///                124,Oaxaca,INSERT,1\n\
///                125,Guadalajara,UPDATE,6\n\
///                125,Mexicali,UPDATE,5\n";
/// let inputs = pipeline::Inputs {
///     changes: vec![InputFile::new("changes.csv", changes.as_bytes().to_vec())],
///     ..Default::default()
/// };
/// let out = pipeline::run(&spec, inputs, &pipeline::Options::default(), &mut |_| {}).unwrap();
/// let versions = &out.history.unwrap().versions;
///
/// // Key 125 as the diff holds it: its key arrays, at the diff's row of that key.
/// use arrow_array::cast::AsArray;
/// let ids = out.diff.keys()[0].as_primitive::<arrow_array::types::Int64Type>();
/// let row = (0..out.diff.len()).find(|&r| ids.value(r) == 125).unwrap();
/// let rows = history::key_versions(versions, &spec.table.key, out.diff.keys(), row).unwrap();
/// let city = versions.column_by_name("city").unwrap().as_string::<i32>();
/// let cities: Vec<&str> = rows.iter().map(|&r| city.value(r as usize)).collect();
/// assert_eq!(cities, ["Tijuana", "Mexicali", "Guadalajara"]);
///
/// // The same key as the diff shows it, as text.
/// let key = history::key_from_text(versions, &spec.table.key, &["125"]).unwrap();
/// assert_eq!(history::key_versions(versions, &spec.table.key, &key, 0).unwrap(), rows);
/// assert!(history::key_versions(versions, &spec.table.key,
///     &history::key_from_text(versions, &spec.table.key, &["127"]).unwrap(), 0).unwrap().is_empty());
/// ```
pub fn key_versions(
    versions: &RecordBatch,
    key_columns: &[String],
    key: &[ArrayRef],
    row: usize,
) -> Result<Vec<u32>> {
    if key.len() != key_columns.len() {
        return Err(wrong_key_length(key_columns, key.len()));
    }
    let n = versions.num_rows();
    let mut matching = arrow_buffer::BooleanBuffer::new_set(n);
    for (name, values) in key_columns.iter().zip(key) {
        let column = history_key_column(versions, name)?;
        if row >= values.len() {
            return Err(Error::new(ErrorKind::Invalid(format!(
                "no row {row} in the key's values of `{name}` ({} rows)",
                values.len()
            ))));
        }
        let value = values.slice(row, 1);
        let value = match value.data_type() == column.data_type() {
            true => value,
            false => arrow_cast::cast(&value, column.data_type()).map_err(Error::from)?,
        };
        if value.null_count() > 0 {
            return Ok(Vec::new()); // no key is null
        }
        let equal =
            arrow_ord::cmp::eq(column, &arrow_array::Scalar::new(value)).map_err(Error::from)?;
        // A null in the column equals nothing (whatever its value bit says).
        let equal = match equal.nulls() {
            Some(nulls) => equal.values() & nulls.inner(),
            None => equal.values().clone(),
        };
        matching = &matching & &equal;
    }
    Ok(matching.set_indices().map(|i| i as u32).collect())
}

/// A key given as text, one value per key column (as the diff shows them: what a page's link
/// or a search box holds), as the arrays [`key_versions`] takes, at row 0: each value read as
/// its key column's type in `versions`. A value that is not one of that type (`abc` for a
/// number) names no key: [`key_versions`] finds no version of it.
pub fn key_from_text(
    versions: &RecordBatch,
    key_columns: &[String],
    values: &[&str],
) -> Result<Vec<ArrayRef>> {
    if values.len() != key_columns.len() {
        return Err(wrong_key_length(key_columns, values.len()));
    }
    key_columns
        .iter()
        .zip(values)
        .map(|(name, &text)| {
            let column = history_key_column(versions, name)?;
            let text: ArrayRef = Arc::new(StringArray::from(vec![text]));
            arrow_cast::cast(&text, column.data_type()).map_err(Error::from)
        })
        .collect()
}

fn wrong_key_length(key_columns: &[String], given: usize) -> Error {
    let n = key_columns.len();
    Error::new(ErrorKind::Invalid(format!(
        "the key ({}) has {n} value{}, not {given}",
        key_columns.join(", "),
        if n == 1 { "" } else { "s" }
    )))
}

fn history_key_column<'a>(versions: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef> {
    versions.column_by_name(name).ok_or_else(|| {
        Error::new(ErrorKind::Columns(format!(
            "the history has no key column `{name}`"
        )))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int32Array, Int64Array, TimestampMicrosecondArray};

    fn names(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
        RecordBatch::try_from_iter(columns).unwrap()
    }

    #[test]
    fn a_keys_versions_are_its_rows_in_order_whatever_row_names_it() {
        let versions = batch(vec![
            ("id", Arc::new(Int64Array::from(vec![1, 2, 2, 2, 3]))),
            (
                "city",
                Arc::new(StringArray::from(vec!["a", "b", "c", "d", "e"])),
            ),
        ]);
        let key = names(&["id"]);
        // The diff's key column, the key at its row 1.
        let diff_keys: Vec<ArrayRef> = vec![Arc::new(Int64Array::from(vec![3, 2, 1]))];
        assert_eq!(
            key_versions(&versions, &key, &diff_keys, 1).unwrap(),
            [1, 2, 3]
        );
        assert_eq!(key_versions(&versions, &key, &diff_keys, 0).unwrap(), [4]);
        let missing: Vec<ArrayRef> = vec![Arc::new(Int64Array::from(vec![9]))];
        assert!(
            key_versions(&versions, &key, &missing, 0)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_composite_key_matches_on_every_column_given_in_other_types() {
        let region: DictionaryArray<Int32Type> = vec!["eu", "eu", "us", "eu"].into_iter().collect();
        let versions = batch(vec![
            ("region", Arc::new(region)),
            ("id", Arc::new(Int32Array::from(vec![7, 8, 7, 7]))),
        ]);
        let key = names(&["region", "id"]);
        // Plain text and 64-bit numbers, as another table might hold them: cast to the history's.
        let given: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec!["eu"])),
            Arc::new(Int64Array::from(vec![7])),
        ];
        assert_eq!(key_versions(&versions, &key, &given, 0).unwrap(), [0, 3]);
        let text = key_from_text(&versions, &key, &["us", "7"]).unwrap();
        assert_eq!(key_versions(&versions, &key, &text, 0).unwrap(), [2]);
    }

    #[test]
    fn a_key_as_text_reads_as_its_columns_type() {
        let at = |s: &str| {
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
                .unwrap()
                .and_utc()
                .timestamp_micros()
        };
        let versions = batch(vec![(
            "changed_at",
            Arc::new(TimestampMicrosecondArray::from(vec![
                at("2021-10-17 10:00:00"),
                at("2021-10-17 10:00:01"),
            ])),
        )]);
        let key = names(&["changed_at"]);
        // As the page shows timestamps, and as Arrow displays them.
        for text in ["2021-10-17 10:00:01.000000", "2021-10-17T10:00:01"] {
            let given = key_from_text(&versions, &key, &[text]).unwrap();
            assert_eq!(
                key_versions(&versions, &key, &given, 0).unwrap(),
                [1],
                "{text}"
            );
        }
        // Not a timestamp: no key, no versions.
        let given = key_from_text(&versions, &key, &["yesterday"]).unwrap();
        assert!(key_versions(&versions, &key, &given, 0).unwrap().is_empty());
    }

    #[test]
    fn nulls_match_no_key_and_a_wrong_key_is_an_error() {
        let versions = batch(vec![(
            "id",
            Arc::new(Int64Array::from(vec![Some(1), None, Some(1)])),
        )]);
        let key = names(&["id"]);
        let one = key_from_text(&versions, &key, &["1"]).unwrap();
        assert_eq!(key_versions(&versions, &key, &one, 0).unwrap(), [0, 2]);
        let null: Vec<ArrayRef> = vec![Arc::new(Int64Array::from(vec![None::<i64>]))];
        assert!(key_versions(&versions, &key, &null, 0).unwrap().is_empty());

        let two = key_from_text(&versions, &key, &["1", "2"]).unwrap_err();
        assert_eq!(two.kind().to_string(), "the key (id) has 1 value, not 2");
        assert!(key_versions(&versions, &key, &one, 1).is_err(), "no row 1");
        let unknown = key_from_text(&versions, &names(&["user"]), &["1"]).unwrap_err();
        assert!(matches!(unknown.kind(), ErrorKind::Columns(_)), "{unknown}");
    }
}
