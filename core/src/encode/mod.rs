//! Encoding tables as Parquet (snappy) or CSV (with a header row), into memory or into any
//! [`Write`] (a file being written, say) as the encoding goes.

use std::io::Write;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;

use crate::error::{Cause, Error, ErrorKind, Result};

mod dictionary_chunk;

/// The formats outputs can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    #[default]
    Parquet,
    Csv,
}

impl OutputFormat {
    pub fn extension(self) -> &'static str {
        match self {
            OutputFormat::Parquet => "parquet",
            OutputFormat::Csv => "csv",
        }
    }

    pub fn encode(self, batch: &RecordBatch) -> Result<Vec<u8>> {
        match self {
            OutputFormat::Parquet => to_parquet(batch),
            OutputFormat::Csv => to_csv(batch),
        }
    }

    /// Writes `batch` into `out` as it is encoded; returns `out`.
    pub fn write<W: Write + Send>(self, batch: &RecordBatch, out: W) -> Result<W> {
        match self {
            OutputFormat::Parquet => write_parquet(batch, out),
            OutputFormat::Csv => write_csv(batch, out),
        }
    }
}

impl std::str::FromStr for OutputFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "parquet" => Ok(OutputFormat::Parquet),
            "csv" => Ok(OutputFormat::Csv),
            other => Err(format!(
                "unknown format {other:?} (expected parquet or csv)"
            )),
        }
    }
}

fn encode_error(e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::new(ErrorKind::Encode(Cause::new(e)))
}

/// Rows per Parquet row group: large enough to compress well, small enough for readers to
/// split the work.
const ROW_GROUP_ROWS: usize = 1 << 20;

fn writer_properties() -> WriterProperties {
    let builder = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS));
    // Tidemark's own columns whose values are (nearly) all distinct: a dictionary would only
    // be built and thrown away (Parquet falls back to plain values once it outgrows its page),
    // at the cost of hashing every value of a ten-million-row history until then.
    UNIQUE_VALUE_COLUMNS
        .iter()
        .fold(builder, |builder, &name| {
            builder.set_column_dictionary_enabled(ColumnPath::from(name), false)
        })
        .build()
}

/// See [`writer_properties`].
const UNIQUE_VALUE_COLUMNS: [&str; 5] = [
    crate::versions::VERSION_ROW_COLUMN,
    crate::versions::VERSION_SEQUENCE_COLUMN,
    crate::versions::VERSION_CHANGE_SEQUENCE_COLUMN,
    crate::history::VALID_FROM_COLUMN,
    crate::history::VALID_TO_COLUMN,
];

/// The schema a file declares for `schema`: dictionary-encoded columns (the features share
/// one dictionary per group, say) are declared as their values' type. Dictionary encoding is
/// how Tidemark holds a column in memory, not part of the table; Parquet encodes such columns
/// with its own dictionaries anyway.
pub fn logical_schema(schema: &Schema) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Dictionary(_, value) => {
                f.as_ref().clone().with_data_type(value.as_ref().clone())
            }
            _ => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// `batch` in the types its files declare ([`logical_schema`]): dictionary columns cast to
/// their values' type. What a reader of Tidemark's output gets back.
pub fn logical(batch: &RecordBatch) -> Result<RecordBatch> {
    let schema = logical_schema(&batch.schema());
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(column, field)| arrow_cast::cast(column, field.data_type()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(encode_error)?;
    RecordBatch::try_new(schema, columns).map_err(encode_error)
}

/// Snappy-compressed Parquet, in row groups of up to a million rows: [`write_parquet`] into
/// memory.
pub fn to_parquet(batch: &RecordBatch) -> Result<Vec<u8>> {
    // Room for the whole file up front (encoded, it is smaller than the table in memory), so
    // that it is not copied as it grows: capacity never written to costs no memory.
    write_parquet(batch, Vec::with_capacity(batch.get_array_memory_size()))
}

/// Writes `batch` into `out` as snappy-compressed Parquet, in row groups of up to a million
/// rows; returns `out`.
///
/// Every column of every row group is encoded as its own task (on all cores with the
/// `parallel` feature). A row group goes to `out` as soon as its columns and the row groups
/// before it are encoded, so a file being written starts on its way to the disk while the rest
/// is still being encoded. Dictionary columns (of text, 64-bit integers or doubles) go through
/// `dictionary_chunk`, which writes the same file from their keys instead of hashing and
/// comparing every row's value again.
///
/// ```
/// use std::sync::Arc;
/// use arrow_array::{ArrayRef, Int64Array, RecordBatch};
/// use tidemark_core::encode::{to_parquet, write_parquet};
///
/// let ids: ArrayRef = Arc::new(Int64Array::from(vec![3, 1, 2]));
/// let batch = RecordBatch::try_from_iter([("user_id", ids)]).unwrap();
/// let written = write_parquet(&batch, Vec::new()).unwrap();
/// assert_eq!(written, to_parquet(&batch).unwrap());
/// assert_eq!(&written[..4], b"PAR1");
/// ```
pub fn write_parquet<W: Write + Send>(batch: &RecordBatch, out: W) -> Result<W> {
    use parquet::arrow::arrow_writer::compute_leaves;

    let schema = logical_schema(&batch.schema());
    let batch = &with_int32_dictionary_keys(batch)?;
    let props = Arc::new(writer_properties());
    let writer = ArrowWriter::try_new(out, Arc::clone(&schema), Some((*props).clone()))
        .map_err(encode_error)?;
    let (mut file, row_groups) = writer.into_serialized_writer().map_err(encode_error)?;
    let leaves = file.schema_descr().columns().to_vec();
    let groups: Vec<RecordBatch> = (0..batch.num_rows())
        .step_by(ROW_GROUP_ROWS)
        .map(|start| batch.slice(start, ROW_GROUP_ROWS.min(batch.num_rows() - start)))
        .collect();
    // Dictionary columns' values in order, once for all row groups.
    let dictionaries: Vec<Option<dictionary_chunk::Dictionary>> = batch
        .columns()
        .iter()
        .map(|column| dictionary_chunk::Dictionary::of(column.as_ref()))
        .collect();
    // One task per (row group, column), in file order. Every column of a table here is one
    // leaf (no nesting), so a group's writers, leaves and columns pair up.
    let mut tasks = Vec::with_capacity(groups.len() * schema.fields().len());
    for (index, group) in groups.iter().enumerate() {
        let writers = row_groups
            .create_column_writers(index)
            .map_err(encode_error)?;
        for (((writer, leaf), dictionary), (field, column)) in writers
            .into_iter()
            .zip(&leaves)
            .zip(&dictionaries)
            .zip(schema.fields().iter().zip(group.columns()))
        {
            tasks.push((writer, leaf, dictionary.as_ref(), field, column));
        }
    }
    // A row group's chunks, in column order, until the last one comes; then the group is
    // written out.
    let columns = schema.fields().len();
    let mut group: Vec<Chunk> = Vec::with_capacity(columns);
    let write_group = |chunk: Chunk| {
        group.push(chunk);
        if group.len() < columns {
            return Ok(());
        }
        let mut row_group = file.next_row_group()?;
        for chunk in group.drain(..) {
            match chunk {
                Chunk::General(chunk) => chunk.append_to_row_group(&mut row_group),
                Chunk::Dictionary(chunk) => row_group.append_column(&chunk.bytes, chunk.close),
            }?;
        }
        row_group.close().map(drop)
    };
    crate::par::try_for_each_in_order(
        tasks,
        |(mut writer, leaf, dictionary, field, column)| {
            if let Some(dictionary) = dictionary {
                if let Some(chunk) =
                    dictionary_chunk::encode(column.as_ref(), dictionary, leaf, &props)?
                {
                    return Ok(Chunk::Dictionary(chunk));
                }
            }
            for leaf in compute_leaves(field, column)? {
                writer.write(&leaf)?;
            }
            writer.close().map(Chunk::General)
        },
        write_group,
    )
    .map_err(encode_error)?;
    file.into_inner().map_err(encode_error)
}

/// `batch` with its dictionary columns keyed by `Int32`, the keys `dictionary_chunk` reads:
/// a column of a few values kept in one byte a row (the history's operation letters) would
/// otherwise go to the general writer, which hashes every row's text.
fn with_int32_dictionary_keys(batch: &RecordBatch) -> Result<RecordBatch> {
    let narrow =
        |t: &DataType| matches!(t, DataType::Dictionary(key, _) if **key != DataType::Int32);
    if !batch
        .schema()
        .fields()
        .iter()
        .any(|f| narrow(f.data_type()))
    {
        return Ok(batch.clone());
    }
    let mut fields = Vec::with_capacity(batch.num_columns());
    let mut columns = Vec::with_capacity(batch.num_columns());
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        match field.data_type() {
            DataType::Dictionary(_, value) if narrow(field.data_type()) => {
                let wide = DataType::Dictionary(Box::new(DataType::Int32), value.clone());
                columns.push(arrow_cast::cast(column, &wide).map_err(encode_error)?);
                fields.push(field.as_ref().clone().with_data_type(wide));
            }
            _ => {
                columns.push(column.clone());
                fields.push(field.as_ref().clone());
            }
        }
    }
    let schema = Schema::new_with_metadata(fields, batch.schema().metadata().clone());
    RecordBatch::try_new(Arc::new(schema), columns).map_err(encode_error)
}

/// A column chunk encoded by the general Parquet writer or by [`dictionary_chunk`].
enum Chunk {
    General(parquet::arrow::arrow_writer::ArrowColumnChunk),
    Dictionary(dictionary_chunk::EncodedChunk),
}

/// CSV with a header row; NULL as an empty field, timestamps as DMS writes them:
/// [`write_csv`] into memory.
pub fn to_csv(batch: &RecordBatch) -> Result<Vec<u8>> {
    write_csv(batch, Vec::with_capacity(batch.num_rows() * 32))
}

/// Writes `batch` into `out` as CSV with a header row; returns `out`.
pub fn write_csv<W: Write>(batch: &RecordBatch, out: W) -> Result<W> {
    let options = FormatOptions::default()
        .with_null("")
        .with_timestamp_format(Some("%Y-%m-%d %H:%M:%S%.6f"))
        .with_display_error(true);
    let formatters = batch
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
        .collect::<Result<Vec<_>, _>>()
        .map_err(encode_error)?;
    let mut writer = csv::Writer::from_writer(out);
    let schema = batch.schema();
    writer
        .write_record(schema.fields().iter().map(|f| f.name()))
        .map_err(encode_error)?;
    let mut field = String::new();
    for row in 0..batch.num_rows() {
        for formatter in &formatters {
            field.clear();
            use std::fmt::Write;
            write!(field, "{}", formatter.value(row)).map_err(encode_error)?;
            writer.write_field(&field).map_err(encode_error)?;
        }
        writer.write_record(None::<&[u8]>).map_err(encode_error)?;
    }
    writer
        .into_inner()
        .map_err(|e| encode_error(e.into_error()))
}

/// Writes several tables at once, each into its own `out`, on every core when the `parallel`
/// feature is on; returns the `out`s in order.
pub fn write_all<W: Write + Send>(tables: Vec<(&RecordBatch, OutputFormat, W)>) -> Result<Vec<W>> {
    crate::par::try_map_owned(tables, |(batch, format, out)| format.write(batch, out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::read_parquet;
    use crate::files::InputFile;
    use arrow_array::{ArrayRef, Int64Array, StringArray};

    #[test]
    fn parquet_round_trips_schema_metadata_and_rows() {
        let metadata: std::collections::HashMap<String, String> = [(
            "tidemark.sequence_kind".to_string(),
            "timestamp".to_string(),
        )]
        .into();
        let schema = Arc::new(arrow_schema::Schema::new_with_metadata(
            vec![
                arrow_schema::Field::new("id", arrow_schema::DataType::Int64, false),
                arrow_schema::Field::new("name", arrow_schema::DataType::Utf8, true),
            ],
            metadata,
        ));
        let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(0..2_500));
        let names: ArrayRef = Arc::new(StringArray::from_iter(
            (0..2_500).map(|i| (i % 7 != 0).then(|| format!("n{i}"))),
        ));
        let batch = RecordBatch::try_new(schema, vec![ids, names]).unwrap();
        let back = read_parquet(&InputFile::new("t.parquet", to_parquet(&batch).unwrap())).unwrap();
        assert_eq!(back, batch);

        let empty = batch.slice(0, 0);
        let back = read_parquet(&InputFile::new("e.parquet", to_parquet(&empty).unwrap())).unwrap();
        assert_eq!(back.num_rows(), 0);
        assert_eq!(back.schema(), empty.schema());
    }

    #[test]
    fn dictionary_columns_are_written_as_their_values() {
        use arrow_array::{DictionaryArray, Float64Array, Int32Array};
        let keys = Int32Array::from(vec![1, 0, 1, 1]);
        let states: ArrayRef = Arc::new(
            DictionaryArray::try_new(keys.clone(), Arc::new(StringArray::from(vec!["TX", "MA"])))
                .unwrap(),
        );
        let rates: ArrayRef = Arc::new(
            DictionaryArray::try_new(keys, Arc::new(Float64Array::from(vec![0.5, 0.25]))).unwrap(),
        );
        let batch = RecordBatch::try_from_iter([("state", states), ("rate", rates)]).unwrap();
        let back = read_parquet(&InputFile::new("d.parquet", to_parquet(&batch).unwrap())).unwrap();
        let expected = RecordBatch::try_from_iter([
            (
                "state",
                Arc::new(StringArray::from(vec!["MA", "TX", "MA", "MA"])) as ArrayRef,
            ),
            (
                "rate",
                Arc::new(Float64Array::from(vec![0.25, 0.5, 0.25, 0.25])) as ArrayRef,
            ),
        ])
        .unwrap();
        assert_eq!(back, expected);
    }
}
