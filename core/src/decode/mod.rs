//! Decoding snapshots and change files (DMS CSV, gzip'd CSV, Parquet) into Arrow.
//!
//! Every file is checked against the table: its columns (by name when it has a header or is
//! Parquet, by position otherwise), its values (each parsed strictly), its keys (never missing).
//! Errors name the file, the row and the column.

mod convert;
mod csv;
mod layout;
mod parquet;
pub mod text;

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use crate::changes::{ChangeBatch, Op, Sequence, Snapshot, Sources};
use crate::error::{Cause, Error, ErrorKind, Location, Result};
use crate::files::{FileFormat, InputFile};
use crate::spec::{ColumnType, TableSpec};

/// The table's schema: the spec's columns, or else the columns of the first Parquet snapshot
/// file; text columns dictionary-encoded where every row group of that file
/// stores them so (see `dictionary_layout`).
pub fn table_schema(spec: &TableSpec, snapshot: &[InputFile]) -> Result<SchemaRef> {
    let schema = match spec.schema() {
        Some(schema) => schema,
        None => schema_of_first_parquet(spec, snapshot)?,
    };
    dictionary_layout(spec, schema, snapshot)
}

/// The data type text columns are held in when the snapshot stores them dictionary-encoded.
pub fn dictionary_text() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

/// `schema` with the text columns that repeat their values dictionary-encoded
/// ([`dictionary_text`]): those every snapshot file stores dictionary-encoded in every row
/// group (Parquet), or repeats in its first records (CSV, one distinct value in two or fewer).
///
/// Such columns hold few distinct values (cities, names). Held as a dictionary they are
/// decoded without a string per row (Parquet gives its dictionary as it is; CSV stores each
/// distinct value once), stay small in memory, and applying changes moves integer keys;
/// grouping looks at each distinct value once. Key columns stay plain: they are hashed and
/// compared row by row. Either layout gives the same results, so a wrong guess costs time,
/// never rows. Outputs declare the plain type (see [`crate::encode::logical_schema`]): the
/// layout is how Tidemark holds a table, not the table.
fn dictionary_layout(
    spec: &TableSpec,
    schema: SchemaRef,
    snapshot: &[InputFile],
) -> Result<SchemaRef> {
    let candidates: Vec<usize> = schema
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| *f.data_type() == DataType::Utf8 && !spec.table.key.contains(f.name()))
        .map(|(i, _)| i)
        .collect();
    if snapshot.is_empty() || candidates.is_empty() {
        return Ok(schema);
    }
    let mut encoded = candidates.clone();
    for file in snapshot {
        let here: Vec<usize> = match FileFormat::detect(&file.name, &file.bytes) {
            FileFormat::Parquet => {
                let names = parquet::dictionary_encoded_columns(file)?;
                candidates
                    .iter()
                    .copied()
                    .filter(|&i| {
                        names
                            .iter()
                            .any(|c| c.eq_ignore_ascii_case(schema.field(i).name()))
                    })
                    .collect()
            }
            FileFormat::Csv => csv::repetitive_columns(spec, &schema, &file.bytes, &candidates),
            FileFormat::CsvGzip => {
                csv::repetitive_columns(spec, &schema, &gunzip_start(&file.bytes), &candidates)
            }
        };
        encoded.retain(|i| here.contains(i));
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| match encoded.contains(&i) {
            true => f.as_ref().clone().with_data_type(dictionary_text()),
            false => f.as_ref().clone(),
        })
        .collect();
    Ok(Arc::new(Schema::new_with_metadata(
        fields,
        schema.metadata().clone(),
    )))
}

fn schema_of_first_parquet(spec: &TableSpec, snapshot: &[InputFile]) -> Result<SchemaRef> {
    let first = snapshot
        .iter()
        .find(|f| FileFormat::detect(&f.name, &f.bytes) == FileFormat::Parquet);
    let Some(file) = first else {
        return Err(Error::new(ErrorKind::Spec(
            "the spec lists no columns, and there is no Parquet snapshot to take them from".into(),
        )));
    };
    schema_of_columns(spec, &file.name, parquet::file_schema(file)?.as_ref())
}

/// The table's schema when the snapshot is given as tables ([`InputTable`]): the spec's
/// columns, or else the first table's, as a Parquet snapshot's are taken.
pub fn table_schema_of_tables(spec: &TableSpec, snapshot: &[InputTable]) -> Result<SchemaRef> {
    if let Some(schema) = spec.schema() {
        return Ok(schema);
    }
    match snapshot.first() {
        Some(table) => schema_of_columns(spec, &table.name, table.rows.schema_ref()),
        None => Err(Error::new(ErrorKind::Spec(
            "the spec lists no columns, and there is no snapshot to take them from".into(),
        ))),
    }
}

/// The table's columns from a snapshot's own (each in the type the table holds it in).
fn schema_of_columns(spec: &TableSpec, file: &str, columns: &Schema) -> Result<SchemaRef> {
    let fields = columns
        .fields()
        .iter()
        .map(|f| {
            let column_type = ColumnType::from_data_type(f.data_type()).ok_or_else(|| {
                Error::at(
                    Location::file(file).column(f.name()),
                    ErrorKind::Columns(format!("type {} is not supported", f.data_type())),
                )
            })?;
            Ok(Field::new(f.name(), column_type.data_type(), true))
        })
        .collect::<Result<Vec<_>>>()?;
    for key in &spec.table.key {
        if !fields.iter().any(|f| f.name() == key) {
            return Err(Error::at(
                Location::file(file),
                ErrorKind::Columns(format!("the key column `{key}` is missing")),
            ));
        }
    }
    Ok(Arc::new(Schema::new(fields)))
}

/// Decodes the files of a snapshot (for example the parts of a DMS full load) into one table.
pub fn decode_snapshot(
    spec: &TableSpec,
    schema: &SchemaRef,
    files: &[InputFile],
) -> Result<Snapshot> {
    let mut batches = Vec::with_capacity(files.len());
    let mut sources = Sources::default();
    let mut start = 0;
    for file in files {
        let decoded = decode_file(spec, schema, file, FileRole::Snapshot)?;
        sources.push(&file.name, start, decoded.first_row);
        start += decoded.rows.num_rows();
        batches.push(decoded.rows);
    }
    let rows = arrow_select::concat::concat_batches(schema, &batches).map_err(Error::from)?;
    Ok(Snapshot { rows, sources })
}

/// Decodes one change file.
pub fn decode_changes(
    spec: &TableSpec,
    schema: &SchemaRef,
    file: &InputFile,
) -> Result<ChangeBatch> {
    let decoded = decode_file(spec, schema, file, FileRole::Changes)?;
    change_batch(spec, schema, &file.name, decoded)
}

fn change_batch(
    spec: &TableSpec,
    schema: &SchemaRef,
    file: &str,
    decoded: Decoded,
) -> Result<ChangeBatch> {
    let ops = decoded.ops.unwrap_or_default();
    let before_key = before_key(spec, schema, &decoded.rows, &ops, &decoded.before_image)
        .map_err(|e| Error::at(Location::file(file), e))?;
    Ok(ChangeBatch {
        file: file.to_string(),
        ops,
        sequence: decoded.sequence,
        change_sequence: decoded.change_sequence,
        before_key,
        rows: decoded.rows,
        first_row: decoded.first_row,
        row_numbers: decoded.row_numbers.map(Into::into),
        other_tables: decoded.other_tables,
    })
}

/// A table already in Arrow, given where a file would be: a pyarrow table, a Spark partition's
/// share of a change file. It is decoded as the Parquet file holding it would be (the same
/// layout from its column names, the same exact conversions), without being written as one.
///
/// ```
/// use std::sync::Arc;
/// use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
/// use tidemark_core::decode::{InputTable, decode_changes_table};
/// use tidemark_core::TableSpec;
/// let spec = TableSpec::users();
/// let column = |values: Vec<&str>| Arc::new(StringArray::from(values)) as ArrayRef;
/// let rows = RecordBatch::try_from_iter([
///     ("Op", column(vec!["U", "I"])),
///     ("user_id", Arc::new(Int64Array::from(vec![6, 133])) as ArrayRef),
///     ("name", column(vec!["Mindy George", "Bob Ding"])),
///     ("city", column(vec!["Los Angeles", "New York"])),
///     ("last_login", column(vec!["2021-10-15", "2021-10-17"])),
/// ]).unwrap();
/// // The name orders it among the change files, as a file's DMS name does.
/// let table = InputTable::new("20211017-194324349.parquet", rows);
/// let changes = decode_changes_table(&spec, &spec.schema().unwrap(), &table).unwrap();
/// assert_eq!(changes.len(), 2);
/// ```
#[derive(Debug, Clone)]
pub struct InputTable {
    /// The name of the file it stands for: it orders change tables as DMS names order files.
    pub name: String,
    pub rows: RecordBatch,
    /// The row number in its file of each row, when `rows` are some of a file's rows (a Spark
    /// partition's share): changes of equal sequence apply in this order, and the diff, the
    /// state and errors name these rows. `None`: the rows are the whole file, numbered from 1
    /// as Parquet rows are.
    pub row_numbers: Option<Vec<u64>>,
}

impl InputTable {
    /// A whole file's rows.
    pub fn new(name: impl Into<String>, rows: RecordBatch) -> Self {
        InputTable {
            name: name.into(),
            rows,
            row_numbers: None,
        }
    }
}

/// Decodes the tables of a snapshot into one table, as [`decode_snapshot`] decodes files.
pub fn decode_snapshot_tables(
    spec: &TableSpec,
    schema: &SchemaRef,
    tables: &[InputTable],
) -> Result<Snapshot> {
    let mut batches = Vec::with_capacity(tables.len());
    let mut sources = Sources::default();
    let mut start = 0;
    for table in tables {
        let decoded = decode_table(spec, schema, table, FileRole::Snapshot)?;
        sources.push(&table.name, start, decoded.first_row);
        start += decoded.rows.num_rows();
        batches.push(decoded.rows);
    }
    let rows = arrow_select::concat::concat_batches(schema, &batches).map_err(Error::from)?;
    Ok(Snapshot { rows, sources })
}

/// Decodes one change table, as [`decode_changes`] decodes a change file.
pub fn decode_changes_table(
    spec: &TableSpec,
    schema: &SchemaRef,
    table: &InputTable,
) -> Result<ChangeBatch> {
    let decoded = decode_table(spec, schema, table, FileRole::Changes)?;
    change_batch(spec, schema, &table.name, decoded)
}

/// A table's rows in file order (by its row numbers), decoded; errors name the rows of the file.
fn decode_table(
    spec: &TableSpec,
    schema: &SchemaRef,
    table: &InputTable,
    role: FileRole,
) -> Result<Decoded> {
    let Some(numbers) = &table.row_numbers else {
        let decoded = parquet::decode_arrow(spec, schema, &table.name, &table.rows, role)?;
        return checked(spec, decoded, &table.name, role);
    };
    let here = || Location::file(&table.name);
    if numbers.len() != table.rows.num_rows() {
        return Err(Error::at(
            here(),
            ErrorKind::Invalid(format!(
                "{} row numbers for {} rows",
                numbers.len(),
                table.rows.num_rows()
            )),
        ));
    }
    // Changes of equal sequence apply in file order: a shuffle may have mixed the rows.
    let order = arrow_ord::sort::sort_to_indices(
        &arrow_array::UInt64Array::from(numbers.clone()),
        None,
        None,
    )
    .map_err(|e| Error::at(here(), e.into()))?;
    let rows = arrow_select::take::take_record_batch(&table.rows, &order)
        .map_err(|e| Error::at(here(), e.into()))?;
    let numbers: Vec<u64> = order
        .values()
        .iter()
        .map(|&i| numbers[i as usize])
        .collect();
    let mut decoded = parquet::decode_arrow(spec, schema, &table.name, &rows, role)
        .map_err(|e| at_file_row(e, &numbers))?;
    decoded.row_numbers = Some(numbers);
    checked(spec, decoded, &table.name, role)
}

/// `error` with its row (counted from 1 among the rows given) as the file's row number.
fn at_file_row(error: Error, numbers: &[u64]) -> Error {
    match error.location() {
        Some(at) => {
            let mut at = at.clone();
            at.row = at
                .row
                .and_then(|row| numbers.get(row.checked_sub(1)? as usize).copied());
            Error::at(at, error.kind().clone())
        }
        None => error,
    }
}

/// The key each change's row had before it, per key column, when the file has before-images
/// of key columns: an update's before-image where it has one, else (an insert, a delete, an
/// empty before-image, a key column without one) the row's own key. An empty before-image
/// means the column did not change: some sources (Oracle) give before-images of changed
/// columns only, and DMS leaves them empty in insert rows.
fn before_key(
    spec: &TableSpec,
    schema: &SchemaRef,
    rows: &RecordBatch,
    ops: &[Op],
    before_image: &[(usize, ArrayRef)],
) -> Result<Option<Vec<ArrayRef>>, ErrorKind> {
    if before_image.is_empty() {
        return Ok(None);
    }
    let invalid = ErrorKind::from;
    spec.table
        .key
        .iter()
        .map(|key| {
            let i = schema.index_of(key).map_err(invalid)?;
            let after = rows.column(i);
            match before_image.iter().find(|(column, _)| *column == i) {
                None => Ok(after.clone()),
                Some((_, before)) => {
                    let taken: arrow_array::BooleanArray = ops
                        .iter()
                        .enumerate()
                        .map(|(row, op)| Some(*op == Op::Update && before.is_valid(row)))
                        .collect();
                    arrow_select::zip::zip(&taken, before, after).map_err(invalid)
                }
            }
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// What each field (CSV) or column (Parquet) of a file holds, in file order, as the decoders
/// will read it: `(name, what)` pairs such as `("Op", "operation")`,
/// `("ts", "sequence")` or `("$AR_H_USER", "metadata (kept out of the table)")`. The layout
/// is resolved from the file's header, schema or first record and the spec, once per file;
/// this is what `spec --infer` is to print.
pub fn describe_layout(
    spec: &TableSpec,
    schema: &SchemaRef,
    file: &InputFile,
    is_change_file: bool,
) -> Result<Vec<(String, String)>> {
    let role = match is_change_file {
        true => FileRole::Changes,
        false => FileRole::Snapshot,
    };
    let layout = match FileFormat::detect(&file.name, &file.bytes) {
        FileFormat::Parquet => parquet::file_layout(spec, schema, file, role)?,
        FileFormat::Csv => csv::file_layout(spec, schema, &file.name, &file.bytes, role)?,
        FileFormat::CsvGzip => {
            csv::file_layout(spec, schema, &file.name, &gunzip_start(&file.bytes), role)?
        }
    };
    Ok(layout.describe())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileRole {
    Snapshot,
    Changes,
}

#[derive(Debug)]
pub(crate) struct Decoded {
    pub rows: RecordBatch,
    pub ops: Option<Vec<Op>>,
    pub sequence: Option<Sequence>,
    /// The change sequence beside the sequence, when the file has one.
    pub change_sequence: Option<Vec<i128>>,
    /// The before-images of key columns a change file has: (table column, values as the
    /// file has them, null where empty).
    pub before_image: Vec<(usize, ArrayRef)>,
    pub first_row: u64,
    /// The row number in the file of each row, when they do not follow one another (a
    /// transaction file's rows of other tables are skipped).
    pub row_numbers: Option<Vec<u64>>,
    /// The rows of other tables a transaction file held.
    pub other_tables: usize,
}

fn decode_file(
    spec: &TableSpec,
    schema: &SchemaRef,
    file: &InputFile,
    role: FileRole,
) -> Result<Decoded> {
    if file.bytes.is_empty() {
        return Err(Error::at(Location::file(&file.name), ErrorKind::EmptyFile));
    }
    let format = FileFormat::detect(&file.name, &file.bytes);
    if crate::files::is_transaction_file(&file.name) {
        let refuse = |why: &str| {
            Err(Error::at(
                Location::file(&file.name),
                ErrorKind::Invalid(format!("a transaction file (CDC_TXN-*) {why}")),
            ))
        };
        if role == FileRole::Snapshot {
            return refuse("holds changes, not a full load: give it with --changes");
        }
        if format == FileFormat::Parquet {
            // DMS writes transaction files as CSV whatever `DataFormat` says.
            return refuse(
                "in Parquet: DMS writes them only as CSV, and Tidemark reads them only so",
            );
        }
    }
    let decoded = match FileFormat::detect(&file.name, &file.bytes) {
        FileFormat::Parquet => parquet::decode(spec, schema, file, role),
        FileFormat::Csv => csv::decode(spec, schema, &file.name, &file.bytes, role),
        FileFormat::CsvGzip => {
            let text = gunzip(&file.bytes).map_err(|e| Error::at(Location::file(&file.name), e))?;
            if text.is_empty() {
                return Err(Error::at(Location::file(&file.name), ErrorKind::EmptyFile));
            }
            csv::decode(spec, schema, &file.name, &text, role)
        }
    }?;
    checked(spec, decoded, &file.name, role)
}

/// What every decoded file is, whatever its format: a change file without an operation field
/// holds inserts, and no key is missing.
fn checked(spec: &TableSpec, mut decoded: Decoded, file: &str, role: FileRole) -> Result<Decoded> {
    if role == FileRole::Changes && decoded.ops.is_none() {
        // No operation field: DMS `CdcInsertsOnly`, where every row is an insert (the layout
        // allows this only when the spec says so).
        decoded.ops = Some(vec![Op::Insert; decoded.rows.num_rows()]);
    }
    check_keys_present(spec, &decoded, file)?;
    Ok(decoded)
}

fn gunzip(bytes: &[u8]) -> Result<Vec<u8>, ErrorKind> {
    use std::io::Read;
    let mut out = Vec::with_capacity(bytes.len() * 4);
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|e| ErrorKind::Gzip(Cause::new(e)))?;
    Ok(out)
}

/// The start of a gzip'd file, enough to sample its first records: as much as decompresses
/// cleanly, up to 4 MB.
pub(crate) fn gunzip_start(bytes: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    let _ = flate2::read::MultiGzDecoder::new(bytes)
        .take(4 << 20)
        .read_to_end(&mut out);
    out
}

fn check_keys_present(spec: &TableSpec, decoded: &Decoded, file: &str) -> Result<()> {
    for key in &spec.table.key {
        let column = decoded
            .rows
            .column_by_name(key)
            .expect("key columns are in the schema");
        // A truncate's key means nothing.
        let truncate = |i: usize| {
            decoded
                .ops
                .as_ref()
                .is_some_and(|ops| ops[i] == crate::changes::Op::Truncate)
        };
        let missing = match column.null_count() {
            0 => None,
            _ => (0..column.len()).find(|&i| column.is_null(i) && !truncate(i)),
        };
        if let Some(index) = missing {
            let row = match &decoded.row_numbers {
                Some(rows) => rows[index],
                None => decoded.first_row + index as u64,
            };
            return Err(Error::at(
                Location::file(file).row(row).column(key),
                ErrorKind::MissingKey,
            ));
        }
    }
    Ok(())
}

/// The decoded columns as a batch of the table; text decoded plain goes into the table's
/// dictionary layout here.
pub(crate) fn batch(schema: &SchemaRef, columns: Vec<ArrayRef>) -> Result<RecordBatch, ErrorKind> {
    let invalid = ErrorKind::from;
    let columns = columns
        .into_iter()
        .zip(schema.fields())
        .map(
            |(column, field)| match column.data_type() == field.data_type() {
                true => Ok(column),
                false => arrow_cast::cast(&column, field.data_type()).map_err(invalid),
            },
        )
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(schema.clone(), columns).map_err(invalid)
}

/// The first `rows` rows of a Parquet file, in its own schema (its metadata included).
pub(crate) fn first_parquet_rows(file: &InputFile, rows: usize) -> Result<RecordBatch> {
    if file.bytes.is_empty() {
        return Err(Error::at(Location::file(&file.name), ErrorKind::EmptyFile));
    }
    parquet::first_rows(file, rows)
}

/// Reads a whole Parquet file, in its own schema (for state files and checks of outputs).
pub fn read_parquet(file: &InputFile) -> Result<RecordBatch> {
    if file.bytes.is_empty() {
        return Err(Error::at(Location::file(&file.name), ErrorKind::EmptyFile));
    }
    parquet::read_all(file)
}
