//! The versions: where each key's last applied change stands in the order changes apply in,
//! deleted keys included, kept between runs when changes carry a sequence.
//!
//! That order is total: the sequence value (a commit timestamp or a change number), then the
//! change sequence when the changes carry one beside a timestamp (`$AR_H_CHANGE_SEQ`), then
//! the file's place in the apply order ([`FileOrder`]), then the row in the file: the order
//! changes apply in within one run, kept across runs. Every change of
//! one source transaction has the same commit timestamp, so equal sequence values are the
//! common case, not an error: equal is not older. Keeping the whole position per key lets a
//! later run recognise a change it has already applied (same position: a replayed file) or
//! one that comes before what a key has (a late file), and ignore it, while a later file whose
//! change shares a timestamp with one already applied still applies.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Decimal128Type, Int32Type};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Decimal128Array, DictionaryArray, RecordBatch, StringArray,
    UInt64Array,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use crate::error::{Error, ErrorKind, Location, Result};
use crate::files::FileOrder;
use crate::spec::{SequenceKind, TableSpec};

pub const VERSION_SEQUENCE_COLUMN: &str = "_tidemark_sequence";
/// The last component of the name of the file the key's last change came from.
pub const VERSION_FILE_COLUMN: &str = "_tidemark_file";
/// That change's row in its file.
pub const VERSION_ROW_COLUMN: &str = "_tidemark_row";
pub const VERSION_DELETED_COLUMN: &str = "_tidemark_deleted";
/// The change sequence of the key's last change (`$AR_H_CHANGE_SEQ` beside a timestamp), null
/// when its run's changes carried none.
pub const VERSION_CHANGE_SEQUENCE_COLUMN: &str = "_tidemark_change_sequence";
/// How many columns follow the key columns in a state file.
const POSITION_COLUMNS: usize = 5;
const SEQUENCE_KIND_METADATA: &str = "tidemark.sequence_kind";
/// The newest sequence value applied so far: where `as_of` comes from when no run's changes
/// are newer, so that it does not depend on the order files arrive in.
const NEWEST_SEQUENCE_METADATA: &str = "tidemark.newest_sequence";
/// Where the newest truncate applied so far stands ([`TruncatedAt`]).
const TRUNCATED_AT_METADATA: &str = "tidemark.truncated_at";

/// The position of the newest truncate applied so far: a change before it, of a key without a
/// newer version, came before the table was emptied, and is stale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TruncatedAt {
    pub sequence: i128,
    pub change_sequence: Option<i128>,
    /// The last component of its file's name.
    pub file: String,
    pub row: u64,
}

impl TruncatedAt {
    pub fn position(&self) -> Position<'_> {
        Position {
            sequence: self.sequence,
            change_sequence: self.change_sequence,
            file: FileOrder::of(&self.file),
            row: self.row,
        }
    }

    /// Whether the truncate comes before `change` in the order changes apply in.
    pub fn precedes(&self, change: &Position) -> bool {
        self.position().precedes(change)
    }

    /// `sequence|change sequence|row|file`, as the state's metadata keeps it.
    fn to_text(&self) -> String {
        let change = self
            .change_sequence
            .map_or(String::new(), |c| c.to_string());
        format!("{}|{change}|{}|{}", self.sequence, self.row, self.file)
    }

    fn parse(text: &str) -> Option<TruncatedAt> {
        let mut parts = text.splitn(4, '|');
        let sequence = parts.next()?.parse().ok()?;
        let change_sequence = match parts.next()? {
            "" => None,
            c => Some(c.parse().ok()?),
        };
        let row = parts.next()?.parse().ok()?;
        let file = parts.next()?.to_string();
        Some(TruncatedAt {
            sequence,
            change_sequence,
            file,
            row,
        })
    }
}

/// Where each key's last applied change stands, deleted keys included.
///
/// Its rows are the key columns, then `_tidemark_sequence` (decimal(38,0)),
/// `_tidemark_deleted` (boolean, true for tombstones), `_tidemark_file` (dictionary text),
/// `_tidemark_row` (uint64) and `_tidemark_change_sequence` (decimal(38,0), null when the run
/// had none). A state written before file and row were kept has neither; its positions count
/// as the last of their sequence value, which is what that state promised. A state written
/// before the change sequence was kept reads with none: its positions compare by file and row.
#[derive(Debug, Clone)]
pub struct Versions {
    pub kind: SequenceKind,
    pub rows: RecordBatch,
}

/// A change's place in the order changes apply in: sequence, then change sequence (when both
/// sides have one), then file, then row. [`StoredPositions::precedes`] compares them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position<'a> {
    pub sequence: i128,
    /// The change sequence, when every change file of its run has one (see
    /// [`crate::changes::ChangeBatch::change_sequence`]).
    pub change_sequence: Option<i128>,
    pub file: FileOrder<'a>,
    pub row: u64,
}

impl Position<'_> {
    /// Whether `self` comes before `later` in the order changes apply in.
    pub fn precedes(&self, later: &Position) -> bool {
        sequence_precedes(
            (self.sequence, self.change_sequence),
            (later.sequence, later.change_sequence),
        )
        .unwrap_or_else(|| (self.file, self.row) < (later.file, later.row))
    }
}

/// The first two steps of the order, sequence then change sequence (when both sides have
/// one): whether `a` comes before `b`, or `None` when they tie there (file and row decide).
fn sequence_precedes(a: (i128, Option<i128>), b: (i128, Option<i128>)) -> Option<bool> {
    if a.0 != b.0 {
        return Some(a.0 < b.0);
    }
    match (a.1, b.1) {
        (Some(x), Some(y)) if x != y => Some(x < y),
        _ => None,
    }
}

impl Versions {
    pub fn schema(table: &Schema, spec: &TableSpec, kind: SequenceKind) -> SchemaRef {
        Self::schema_with(table, spec, kind, None, None)
    }

    fn schema_with(
        table: &Schema,
        spec: &TableSpec,
        kind: SequenceKind,
        newest: Option<i128>,
        truncated: Option<&TruncatedAt>,
    ) -> SchemaRef {
        let mut fields: Vec<Field> = spec
            .table
            .key
            .iter()
            .map(|k| {
                table
                    .field_with_name(k)
                    .expect("key columns are in the table")
                    .clone()
            })
            .collect();
        fields.push(Field::new(
            VERSION_SEQUENCE_COLUMN,
            DataType::Decimal128(38, 0),
            false,
        ));
        fields.push(Field::new(VERSION_DELETED_COLUMN, DataType::Boolean, false));
        fields.push(Field::new(VERSION_FILE_COLUMN, file_type(), true));
        fields.push(Field::new(VERSION_ROW_COLUMN, DataType::UInt64, true));
        fields.push(Field::new(
            VERSION_CHANGE_SEQUENCE_COLUMN,
            DataType::Decimal128(38, 0),
            true,
        ));
        let mut metadata: HashMap<String, String> =
            [(SEQUENCE_KIND_METADATA.to_string(), kind.to_string())].into();
        if let Some(newest) = newest {
            metadata.insert(NEWEST_SEQUENCE_METADATA.to_string(), newest.to_string());
        }
        if let Some(truncated) = truncated {
            metadata.insert(TRUNCATED_AT_METADATA.to_string(), truncated.to_text());
        }
        Arc::new(Schema::new_with_metadata(fields, metadata))
    }

    /// Reads versions back from a decoded state file.
    pub fn from_batch(
        rows: RecordBatch,
        table: &Schema,
        spec: &TableSpec,
        file: &str,
    ) -> Result<Versions> {
        let metadata = rows.schema().metadata().clone();
        let kind = match metadata.get(SEQUENCE_KIND_METADATA).map(|k| k.parse()) {
            Some(Ok(kind)) => kind,
            _ => {
                return Err(Error::at(
                    Location::file(file),
                    ErrorKind::Columns("not a Tidemark state file (no sequence kind)".into()),
                ));
            }
        };
        let newest = match metadata.get(NEWEST_SEQUENCE_METADATA) {
            Some(text) => Some(text.parse::<i128>().map_err(|_| {
                Error::at(
                    Location::file(file),
                    ErrorKind::Columns(format!("bad {NEWEST_SEQUENCE_METADATA} {text:?}")),
                )
            })?),
            None => None,
        };
        let truncated = match metadata.get(TRUNCATED_AT_METADATA) {
            Some(text) => Some(TruncatedAt::parse(text).ok_or_else(|| {
                Error::at(
                    Location::file(file),
                    ErrorKind::Columns(format!("bad {TRUNCATED_AT_METADATA} {text:?}")),
                )
            })?),
            None => None,
        };
        let expected = Self::schema_with(table, spec, kind, newest, truncated.as_ref());
        let bad = || {
            let names: Vec<String> = expected
                .fields()
                .iter()
                .map(|f| format!("{} {}", f.name(), f.data_type()))
                .collect();
            Error::at(
                Location::file(file),
                ErrorKind::Columns(format!(
                    "a state file needs the columns {}",
                    names.join(", ")
                )),
            )
        };
        let n = rows.num_rows();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(expected.fields().len());
        for field in expected.fields() {
            let column = match (rows.column_by_name(field.name()), field.name().as_str()) {
                (Some(c), _) if c.data_type() == field.data_type() => c.clone(),
                (Some(c), VERSION_FILE_COLUMN) if c.data_type() == &DataType::Utf8 => {
                    arrow_cast::cast(c, field.data_type()).map_err(|_| bad())?
                }
                // Written before positions (or change sequences) were kept: unknown, see the
                // type's doc.
                (
                    None,
                    VERSION_FILE_COLUMN | VERSION_ROW_COLUMN | VERSION_CHANGE_SEQUENCE_COLUMN,
                ) => arrow_array::new_null_array(field.data_type(), n),
                _ => return Err(bad()),
            };
            columns.push(column);
        }
        let rows = RecordBatch::try_new(expected.clone(), columns).map_err(|_| bad())?;
        Ok(Versions { kind, rows })
    }

    /// The newest sequence value applied by the runs that led here.
    pub fn newest(&self) -> Option<i128> {
        self.rows
            .schema()
            .metadata()
            .get(NEWEST_SEQUENCE_METADATA)
            .and_then(|v| v.parse().ok())
    }

    /// The newest truncate applied by the runs that led here.
    pub fn truncated_at(&self) -> Option<TruncatedAt> {
        self.rows
            .schema()
            .metadata()
            .get(TRUNCATED_AT_METADATA)
            .and_then(|t| TruncatedAt::parse(t))
    }

    pub(crate) fn key_columns(&self) -> &[ArrayRef] {
        &self.rows.columns()[..self.rows.num_columns() - POSITION_COLUMNS]
    }

    pub(crate) fn positions(&self) -> StoredPositions<'_> {
        let column = |name| self.rows.column_by_name(name).expect("checked when read");
        let files = column(VERSION_FILE_COLUMN).as_dictionary::<Int32Type>();
        StoredPositions {
            sequence: column(VERSION_SEQUENCE_COLUMN).as_primitive::<Decimal128Type>(),
            change_sequence: column(VERSION_CHANGE_SEQUENCE_COLUMN)
                .as_primitive::<Decimal128Type>(),
            file_keys: files,
            file_names: files.values().as_string::<i32>(),
            row: column(VERSION_ROW_COLUMN).as_primitive(),
            deleted: column(VERSION_DELETED_COLUMN).as_boolean(),
        }
    }
}

fn file_type() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

/// The positions of a state's rows, column by column.
pub(crate) struct StoredPositions<'a> {
    pub sequence: &'a Decimal128Array,
    change_sequence: &'a Decimal128Array,
    file_keys: &'a DictionaryArray<Int32Type>,
    file_names: &'a StringArray,
    row: &'a UInt64Array,
    pub deleted: &'a BooleanArray,
}

impl StoredPositions<'_> {
    /// Whether `change` comes after the position of state row `row`: by sequence, then by
    /// change sequence when both have one, then by file and row. A position whose file is not
    /// known counts as the last of its sequence value (and change sequence).
    pub fn precedes(&self, row: usize, change: &Position) -> bool {
        let change_sequence = self
            .change_sequence
            .is_valid(row)
            .then(|| self.change_sequence.value(row));
        let by_sequence = sequence_precedes(
            (self.sequence.value(row), change_sequence),
            (change.sequence, change.change_sequence),
        );
        if let Some(decided) = by_sequence {
            return decided;
        }
        if self.file_keys.is_null(row) || self.row.is_null(row) {
            return false;
        }
        let file = self
            .file_names
            .value(self.file_keys.keys().value(row) as usize);
        (FileOrder::of(file), self.row.value(row)) < (change.file, change.row)
    }
}

/// Builds the versions after a run: untouched keys keep their rows of the old versions, then
/// each touched key gets the position of its last applied change.
pub(crate) struct VersionsBuilder<'a> {
    old: Option<&'a Versions>,
    /// Rows of the old versions to keep, in order.
    kept: Vec<usize>,
    /// Per new row: its sequence, change sequence, the index of its file in `files`, its row,
    /// whether deleted.
    sequence: Vec<i128>,
    change_sequence: Vec<Option<i128>>,
    file: Vec<Option<i32>>,
    row: Vec<Option<u64>>,
    deleted: Vec<bool>,
    /// File names (last components) and their ids.
    files: Vec<String>,
    file_ids: HashMap<String, i32>,
    newest: Option<i128>,
    truncated: Option<TruncatedAt>,
}

impl<'a> VersionsBuilder<'a> {
    pub fn new(old: Option<&'a Versions>) -> Self {
        VersionsBuilder {
            old,
            kept: Vec::new(),
            sequence: Vec::new(),
            change_sequence: Vec::new(),
            file: Vec::new(),
            row: Vec::new(),
            deleted: Vec::new(),
            files: Vec::new(),
            file_ids: HashMap::new(),
            newest: old.and_then(Versions::newest),
            truncated: old.and_then(Versions::truncated_at),
        }
    }

    /// The id of a file's name (its last component) in the versions' file column.
    pub fn file_id(&mut self, name: &str) -> i32 {
        let name = crate::files::base_name(name);
        if let Some(&id) = self.file_ids.get(name) {
            return id;
        }
        let id = self.files.len() as i32;
        self.files.push(name.to_string());
        self.file_ids.insert(name.to_string(), id);
        id
    }

    /// Keeps the old versions' rows for which `keep` holds.
    pub fn keep_old(&mut self, keep: impl Fn(usize) -> bool) {
        let Some(old) = self.old else { return };
        let positions = old.positions();
        let names = positions.file_names;
        let ids: Vec<i32> = (0..names.len())
            .map(|i| self.file_id(names.value(i)))
            .collect();
        for r in 0..old.rows.num_rows() {
            if keep(r) {
                self.kept.push(r);
                self.sequence.push(positions.sequence.value(r));
                self.change_sequence.push(
                    positions
                        .change_sequence
                        .is_valid(r)
                        .then(|| positions.change_sequence.value(r)),
                );
                self.file.push(
                    (!positions.file_keys.is_null(r))
                        .then(|| ids[positions.file_keys.keys().value(r) as usize]),
                );
                self.row
                    .push((!positions.row.is_null(r)).then(|| positions.row.value(r)));
                self.deleted.push(positions.deleted.value(r));
            }
        }
    }

    /// Adds a touched key's version: the position of its last applied change (sequence, change
    /// sequence, file, row), whose file has the id `file` ([`Self::file_id`]).
    pub fn push(
        &mut self,
        sequence: i128,
        change_sequence: Option<i128>,
        file: i32,
        row: u64,
        deleted: bool,
    ) {
        self.sequence.push(sequence);
        self.change_sequence.push(change_sequence);
        self.file.push(Some(file));
        self.row.push(Some(row));
        self.deleted.push(deleted);
    }

    /// Notes a truncate a run applied; the state keeps the newest.
    pub fn truncated(&mut self, at: TruncatedAt) {
        let newer = match &self.truncated {
            Some(kept) => kept.precedes(&at.position()),
            None => true,
        };
        if newer {
            self.truncated = Some(at);
        }
    }

    /// Notes the newest sequence value a run applied.
    pub fn applied(&mut self, newest: Option<i128>) {
        self.newest = self.newest.max(newest);
    }

    /// The versions: the kept old rows' keys, then `new_keys` (one per pushed version).
    pub fn finish(
        self,
        table: &Schema,
        spec: &TableSpec,
        kind: SequenceKind,
        new_keys: &[ArrayRef],
    ) -> Result<Versions> {
        let invalid = Error::from;
        let schema = Versions::schema_with(table, spec, kind, self.newest, self.truncated.as_ref());
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(new_keys.len() + POSITION_COLUMNS);
        for (i, new) in new_keys.iter().enumerate() {
            let kept = match self.old {
                Some(old) => {
                    let indices = arrow_array::UInt32Array::from_iter_values(
                        self.kept.iter().map(|&r| r as u32),
                    );
                    arrow_select::take::take(old.key_columns()[i].as_ref(), &indices, None)
                        .map_err(invalid)?
                }
                None => arrow_array::new_empty_array(new.data_type()),
            };
            columns.push(
                arrow_select::concat::concat(&[kept.as_ref(), new.as_ref()]).map_err(invalid)?,
            );
        }
        let sequence = Decimal128Array::from(self.sequence)
            .with_precision_and_scale(38, 0)
            .map_err(invalid)?;
        columns.push(Arc::new(sequence));
        columns.push(Arc::new(BooleanArray::from(self.deleted)));
        let files = DictionaryArray::<Int32Type>::try_new(
            self.file.into_iter().collect(),
            Arc::new(StringArray::from(self.files)),
        )
        .map_err(invalid)?;
        columns.push(Arc::new(files));
        columns.push(Arc::new(UInt64Array::from(self.row)));
        let change_sequence = Decimal128Array::from(self.change_sequence)
            .with_precision_and_scale(38, 0)
            .map_err(invalid)?;
        columns.push(Arc::new(change_sequence));
        let rows = RecordBatch::try_new(schema, columns).map_err(invalid)?;
        Ok(Versions { kind, rows })
    }
}
