//! Parquet snapshots and change files (DMS `DataFormat=parquet`, or any tool's output).

use arrow_array::cast::AsArray;
use arrow_array::types::{Decimal128Type, Int64Type, TimestampMicrosecondType, UInt64Type};
use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::basic::Encoding;
use parquet::file::metadata::ColumnChunkMetaData;

use super::convert::exact_cast;
use super::layout::{FieldRole, FileLayout, OpReader, named_sequence_kind, sequence_kind};
use super::text::{parse_sequence_number, parse_timestamp_micros};
use super::{Decoded, FileRole, batch};
use crate::changes::{Op, Sequence};
use crate::error::{Cause, Error, ErrorKind, Location, Result};
use crate::files::InputFile;
use crate::spec::{SequenceKind, TableSpec};

/// Rows are numbered from 1, as Parquet has no header row.
const FIRST_ROW: u64 = 1;

fn reader(file: &InputFile) -> Result<ParquetRecordBatchReaderBuilder<bytes::Bytes>> {
    ParquetRecordBatchReaderBuilder::try_new(file.bytes.clone()).map_err(|e| {
        Error::at(
            Location::file(&file.name),
            ErrorKind::Parquet(Cause::new(e)),
        )
    })
}

/// Runs `read` on a Parquet file; a panic of the Parquet reader is the error of an unreadable
/// file. The reader panics on some corrupt files instead of returning an error (a data page
/// that refers to a dictionary its column chunk does not have, found by fuzzing), and a bad
/// input file must never bring the program down. (A build with `panic = "abort"`, the browser
/// module's, still stops there.)
fn guarded<T>(file: &InputFile, read: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(Error::at(
            Location::file(&file.name),
            ErrorKind::Parquet(Cause::new(ReaderPanicked(message))),
        ))
    })
}

/// The Parquet reader's panic on a corrupt file, as the error it should have returned.
#[derive(Debug, thiserror::Error)]
#[error("the Parquet reader failed on it ({0})")]
struct ReaderPanicked(String);

pub(crate) fn file_schema(file: &InputFile) -> Result<SchemaRef> {
    guarded(file, || Ok(reader(file)?.schema().clone()))
}

/// The columns the file stores dictionary-encoded in every row group (none if it has no
/// row group): every data page refers to the dictionary, none fell back to plain values.
pub(crate) fn dictionary_encoded_columns(file: &InputFile) -> Result<Vec<String>> {
    guarded(file, || dictionary_encoded_columns_unguarded(file))
}

fn dictionary_encoded_columns_unguarded(file: &InputFile) -> Result<Vec<String>> {
    let builder = reader(file)?;
    let metadata = builder.metadata();
    if metadata.num_row_groups() == 0 {
        return Ok(Vec::new());
    }
    let all_dictionary = |chunk: &ColumnChunkMetaData| {
        chunk.dictionary_page_offset().is_some()
            && chunk.page_encoding_stats_mask().is_some_and(|mask| {
                mask.is_only(Encoding::RLE_DICTIONARY) || mask.is_only(Encoding::PLAIN_DICTIONARY)
            })
    };
    let schema = builder.schema();
    Ok(schema
        .fields()
        .iter()
        .enumerate()
        .filter(|(i, _)| {
            metadata
                .row_groups()
                .iter()
                .all(|group| group.columns().get(*i).is_some_and(all_dictionary))
        })
        .map(|(_, f)| f.name().clone())
        .collect())
}

/// The layout the decoder follows for this file (from its schema).
pub(crate) fn file_layout(
    spec: &TableSpec,
    schema: &SchemaRef,
    file: &InputFile,
    role: FileRole,
) -> Result<FileLayout> {
    let names: Vec<String> = file_schema(file)?
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    FileLayout::from_names(&names, spec, schema, role, false)
        .map_err(|e| Error::at(Location::file(&file.name), e))
}

pub(crate) fn decode(
    spec: &TableSpec,
    schema: &SchemaRef,
    file: &InputFile,
    role: FileRole,
) -> Result<Decoded> {
    guarded(file, || decode_unguarded(spec, schema, file, role))
}

fn decode_unguarded(
    spec: &TableSpec,
    schema: &SchemaRef,
    file: &InputFile,
    role: FileRole,
) -> Result<Decoded> {
    let here = || Location::file(&file.name);
    let builder = reader(file)?;
    let file_schema = builder.schema().clone();
    let names: Vec<&str> = file_schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    let layout = FileLayout::from_names(&names, spec, schema, role, false)
        .map_err(|e| Error::at(here(), e))?;
    let slots = &layout.fields;
    let metadata = builder.metadata().clone();
    // Text the table holds dictionary-encoded is read as the file's dictionaries.
    let hinted: Vec<Field> = file_schema
        .fields()
        .iter()
        .zip(slots)
        .map(|(f, slot)| match slot {
            FieldRole::Column(i)
                if *f.data_type() == DataType::Utf8
                    && *schema.field(*i).data_type() == super::dictionary_text() =>
            {
                f.as_ref().clone().with_data_type(super::dictionary_text())
            }
            _ => f.as_ref().clone(),
        })
        .collect();
    let options = ArrowReaderOptions::new().with_schema(Arc::new(Schema::new_with_metadata(
        hinted,
        file_schema.metadata().clone(),
    )));
    // A column read as text's dictionary comes one batch per row group, as each row group has a
    // dictionary of its own, and the batches are joined. Any other column comes in one batch
    // over every row group, written once where it ends up instead of joined afterwards.
    let group_rows = metadata
        .row_groups()
        .iter()
        .map(|g| g.num_rows() as usize)
        .max()
        .unwrap_or(0)
        .max(1);
    let metadata_rows = metadata.file_metadata().num_rows() as usize;
    let file_rows = metadata_rows.max(1);
    let arrow_metadata = ArrowReaderMetadata::try_new(metadata, options)
        .map_err(|e| Error::at(here(), ErrorKind::Parquet(Cause::new(e))))?;
    let read_column = |index: usize| -> Result<ArrayRef> {
        let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(
            file.bytes.clone(),
            arrow_metadata.clone(),
        );
        let mask = ProjectionMask::roots(builder.parquet_schema(), [index]);
        let dictionary = matches!(
            arrow_metadata.schema().field(index).data_type(),
            DataType::Dictionary(..)
        );
        let batches = builder
            .with_projection(mask)
            .with_batch_size(if dictionary { group_rows } else { file_rows })
            .build()
            .and_then(|reader| {
                reader
                    .collect::<Result<Vec<RecordBatch>, _>>()
                    .map_err(Into::into)
            })
            .map_err(|e| {
                Error::at(
                    here().column(names[index]),
                    ErrorKind::Parquet(Cause::new(e)),
                )
            })?;
        let parts: Vec<&dyn arrow_array::Array> =
            batches.iter().map(|b| b.column(0).as_ref()).collect();
        match parts.as_slice() {
            [] => {
                return Ok(arrow_array::new_empty_array(
                    arrow_metadata.schema().field(index).data_type(),
                ));
            }
            [_] => return Ok(batches[0].column(0).clone()),
            _ => {}
        }
        arrow_select::concat::concat(&parts)
            .map_err(|e| Error::at(here(), ErrorKind::Parquet(Cause::new(e))))
    };
    // Columns decode independently: one per core. Metadata columns are not read at all.
    let indices: Vec<usize> = (0..names.len())
        .filter(|&i| slots[i] != FieldRole::Metadata)
        .collect();
    let decoded: Vec<ArrayRef> = crate::par::try_map(&indices, |&i| read_column(i))?;
    let read: Vec<(usize, ArrayRef)> = indices.into_iter().zip(decoded).collect();
    assemble(spec, schema, &file.name, &layout, read, metadata_rows, role)
}

/// Decodes a table already in Arrow (a pyarrow table, a Spark partition) as the Parquet file
/// holding it would be: the same layout from its column names, the same exact conversions,
/// rows numbered from 1 as in a Parquet file.
pub(crate) fn decode_arrow(
    spec: &TableSpec,
    schema: &SchemaRef,
    name: &str,
    rows: &RecordBatch,
    role: FileRole,
) -> Result<Decoded> {
    let here = || Location::file(name);
    let names: Vec<&str> = rows
        .schema_ref()
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    let layout = FileLayout::from_names(&names, spec, schema, role, false)
        .map_err(|e| Error::at(here(), e))?;
    let read: Vec<(usize, ArrayRef)> = (0..names.len())
        .filter(|&i| layout.fields[i] != FieldRole::Metadata)
        .map(|i| (i, rows.column(i).clone()))
        .collect();
    assemble(spec, schema, name, &layout, read, rows.num_rows(), role)
}

/// The table's rows, operations and sequences from a file's columns (`read`: the index of
/// each field in the file's layout, and its values as the file stores them).
fn assemble(
    spec: &TableSpec,
    schema: &SchemaRef,
    file: &str,
    layout: &FileLayout,
    read: Vec<(usize, ArrayRef)>,
    file_rows: usize,
    role: FileRole,
) -> Result<Decoded> {
    let here = || Location::file(file);
    let slots = &layout.fields;
    let mut columns: Vec<Option<ArrayRef>> = vec![None; schema.fields().len()];
    let mut ops = None;
    let mut sequence = None;
    let mut change_sequence = None;
    let mut before_image = Vec::new();
    for (index, array) in &read {
        let index = *index;
        let name = layout.names[index].as_str();
        let at_column = || here().column(name);
        match slots[index] {
            // A transaction file is CSV only: its name fields are never in a Parquet file.
            FieldRole::Metadata | FieldRole::SourceTable | FieldRole::SourceSchema => {}
            FieldRole::Column(i) | FieldRole::BeforeImage(i) => {
                // A before-image holds a value of its column: read by the same rules.
                let target = schema.field(i).data_type();
                let values = exact_cast(array, target).map_err(|failure| {
                    let at = match failure.index {
                        Some(index) => at_column().row(row_of(index)),
                        None => at_column(),
                    };
                    Error::at(at, failure.kind)
                })?;
                match slots[index] {
                    FieldRole::Column(_) => columns[i] = Some(values),
                    _ => before_image.push((i, values)),
                }
            }
            FieldRole::Op => {
                let read = decode_ops(&layout.ops, array, role)
                    .map_err(|(row, e)| Error::at(at_column().row(row), e))?;
                ops = (role == FileRole::Changes).then_some(read);
            }
            FieldRole::ChangeSequence => {
                // A change sequence is a number, whatever kind the spec gives the sequence.
                let decoded = decode_sequence(Some(SequenceKind::Number), name, array)
                    .map_err(|(row, e)| Error::at(at_column().row(row), e))?;
                change_sequence = Some(decoded.values);
            }
            FieldRole::Sequence => {
                sequence = Some(
                    decode_sequence(named_sequence_kind(spec), name, array)
                        .map_err(|(row, e)| Error::at(at_column().row(row), e))?,
                )
            }
        }
    }
    // A column the file lacks is an optional one (the layout checked): null in every row.
    let rows = batch(
        schema,
        columns
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                c.unwrap_or_else(|| {
                    arrow_array::new_null_array(schema.field(i).data_type(), file_rows)
                })
            })
            .collect(),
    )
    .map_err(|e| Error::at(here(), e))?;
    Ok(Decoded {
        rows,
        ops,
        sequence,
        change_sequence,
        before_image,
        first_row: FIRST_ROW,
        row_numbers: None,
        other_tables: 0,
    })
}

fn row_of(index: usize) -> u64 {
    FIRST_ROW + index as u64
}

fn as_strings(array: &ArrayRef) -> Result<StringArray, (u64, ErrorKind)> {
    arrow_cast::cast(array, &DataType::Utf8)
        .map(|a| a.as_string::<i32>().clone())
        .map_err(|e| {
            (
                FIRST_ROW,
                ErrorKind::Columns(format!("cannot read {} as text: {e}", array.data_type())),
            )
        })
}

/// The operations of a change file; in a full load (DMS `IncludeOpForFullLoad`) every one must
/// be an insert.
fn decode_ops(
    reader: &OpReader,
    array: &ArrayRef,
    role: FileRole,
) -> Result<Vec<Op>, (u64, ErrorKind)> {
    let text = as_strings(array)?;
    text.iter()
        .enumerate()
        .map(|(i, value)| {
            let value = value.unwrap_or("");
            match reader.read(value) {
                Ok(op) if role == FileRole::Snapshot && op != Op::Insert => {
                    Err((row_of(i), ErrorKind::NotAnInsert(value.to_string())))
                }
                read => read.map_err(|e| (row_of(i), e)),
            }
        })
        .collect()
}

/// A sequence column's values; text is read as `kind`, or else as its first value looks.
fn decode_sequence(
    kind: Option<SequenceKind>,
    name: &str,
    array: &ArrayRef,
) -> Result<Sequence, (u64, ErrorKind)> {
    if let Some(i) = (0..array.len()).find(|&i| array.is_null(i)) {
        return Err((
            row_of(i),
            ErrorKind::Parse {
                value: String::new(),
                expected: "a sequence value",
            },
        ));
    }
    // A sequence value that does not fit would order its change wrongly: an error, not a guess.
    let inexact =
        |failure: super::convert::Inexact| (failure.index.map_or(FIRST_ROW, row_of), failure.kind);
    let (kind, values): (SequenceKind, Vec<i128>) = match array.data_type() {
        DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64 => {
            let micros = exact_cast(array, &DataType::Timestamp(TimeUnit::Microsecond, None))
                .map_err(inexact)?;
            let micros = micros.as_primitive::<TimestampMicrosecondType>();
            (
                SequenceKind::Timestamp,
                micros.values().iter().map(|&v| v as i128).collect(),
            )
        }
        DataType::UInt64 => {
            // Past i64::MAX too: sequences are held as i128.
            let numbers = array.as_primitive::<UInt64Type>();
            (
                SequenceKind::Number,
                numbers.values().iter().map(|&v| v as i128).collect(),
            )
        }
        DataType::Decimal128(_, 0) => {
            let numbers = array.as_primitive::<Decimal128Type>();
            (SequenceKind::Number, numbers.values().to_vec())
        }
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 | DataType::UInt32 => {
            let numbers = exact_cast(array, &DataType::Int64).map_err(inexact)?;
            let numbers = numbers.as_primitive::<Int64Type>();
            (
                SequenceKind::Number,
                numbers.values().iter().map(|&v| v as i128).collect(),
            )
        }
        _ => {
            let text = as_strings(array)?;
            let kind = sequence_kind(kind, text.iter().flatten().next());
            let values = text
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let v = v.unwrap_or("");
                    let parsed = match kind {
                        SequenceKind::Timestamp => parse_timestamp_micros(v).map(i128::from),
                        SequenceKind::Number => parse_sequence_number(v),
                    };
                    parsed.ok_or_else(|| {
                        (
                            row_of(i),
                            ErrorKind::Parse {
                                value: v.to_string(),
                                expected: "a sequence value",
                            },
                        )
                    })
                })
                .collect::<Result<_, _>>()?;
            (kind, values)
        }
    };
    Ok(Sequence {
        kind,
        column: name.to_string(),
        values,
    })
}

/// The first `rows` rows of a Parquet file, in the file's own schema.
pub(crate) fn first_rows(file: &InputFile, rows: usize) -> Result<RecordBatch> {
    guarded(file, || {
        let here = || Location::file(&file.name);
        let builder = reader(file)?;
        // The file's key-value metadata beside the Arrow schema's: writers other than Arrow's
        // put what they know of the table (its key) there.
        let mut metadata = builder.schema().metadata().clone();
        for kv in builder
            .metadata()
            .file_metadata()
            .key_value_metadata()
            .into_iter()
            .flatten()
        {
            if let (Some(value), false) = (&kv.value, metadata.contains_key(&kv.key)) {
                metadata.insert(kv.key.clone(), value.clone());
            }
        }
        let schema = builder.schema().clone();
        let batch = builder
            .with_batch_size(rows.max(1))
            .with_limit(rows)
            .build()
            .map_err(|e| Error::at(here(), ErrorKind::Parquet(Cause::new(e))))?
            .next()
            .transpose()
            .map_err(|e| Error::at(here(), ErrorKind::Parquet(Cause::new(e))))?;
        let batch = batch.unwrap_or_else(|| RecordBatch::new_empty(schema));
        let schema = batch.schema().as_ref().clone().with_metadata(metadata);
        batch
            .with_schema(std::sync::Arc::new(schema))
            .map_err(|e| Error::at(here(), ErrorKind::Parquet(Cause::new(e))))
    })
}

/// Every column of a Parquet file as one batch, in the file's own schema.
pub(crate) fn read_all(file: &InputFile) -> Result<RecordBatch> {
    guarded(file, || read_all_unguarded(file))
}

fn read_all_unguarded(file: &InputFile) -> Result<RecordBatch> {
    let here = || Location::file(&file.name);
    let builder = reader(file)?;
    let schema = builder.schema().clone();
    let batches = builder
        .build()
        .and_then(|reader| {
            reader
                .collect::<Result<Vec<RecordBatch>, _>>()
                .map_err(Into::into)
        })
        .map_err(|e| Error::at(here(), ErrorKind::Parquet(Cause::new(e))))?;
    arrow_select::concat::concat_batches(&schema, &batches)
        .map_err(|e| Error::at(here(), ErrorKind::Parquet(Cause::new(e))))
}
