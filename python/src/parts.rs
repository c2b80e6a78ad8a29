//! The job cut into parts, for Spark executors (`tidemark.spark`): rows are shuffled by the
//! bucket of their key ([`tidemark_core::bucket`], the rule Delta tables are partitioned by),
//! each bucket is applied by the core on its own ([`apply_part`]), the newest change across
//! all buckets dates the features ([`as_of_of_parts`]), and the table is then shuffled by the
//! bucket of its feature group (the city after the spec's renames) and each group bucket
//! enriched by the core ([`enrich_part`]).
//!
//! A key's changes all land in its bucket, with the file name and row number each came from,
//! so the core orders them there as it orders them in one run: the result is the one run's,
//! row for row. A feature group's rows all land in its group bucket, so its features are the
//! one run's too.
//!
//! What goes back to Spark is typed for Spark: text plain (not dictionary-encoded) and
//! unsigned integers (row numbers, counts) as `Int64`, which Spark has no unsigned type for.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::UInt64Type;
use arrow_array::{
    Array, ArrayRef, Date32Array, Int32Array, Int64Array, RecordBatch, StringArray, UInt32Array,
    new_null_array,
};
use arrow_pyarrow::{PyArrowType, Table};
use arrow_schema::{DataType, Field, Schema};
use chrono::{NaiveDate, NaiveDateTime};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use tidemark_core::decode::InputTable;
use tidemark_core::features::lookup::Lookup;
use tidemark_core::features::{AsOf, AsOfSource};
use tidemark_core::pipeline::{self, Inputs, Options, PartAsOf, Tables};
use tidemark_core::{
    ChangeBatch, Error, ErrorKind, InputFile, Op, Result, TableSpec, bucket, encode,
};

use crate::arrow::{Named, one_batch};
use crate::errors::OrRaise;
use crate::spec::Spec;

/// The column of a change row's file name: changes apply in the order of their files' names.
pub const FILE_COLUMN: &str = "_tidemark_file";
/// The column of a change row's number in its file (from 1): changes of one file, and of equal
/// sequence, apply in this order; the diff names it.
pub const ROW_COLUMN: &str = "_tidemark_row";
/// The bucket of a row's key.
pub const BUCKET_COLUMN: &str = "_tidemark_bucket";
/// The bucket of a row's feature group.
pub const GROUP_BUCKET_COLUMN: &str = "_tidemark_group_bucket";
/// Which output of [`apply_part`] a row is: `table`, `diff` or `as_of`.
pub const PART_COLUMN: &str = "_tidemark_part";
/// The prefixes of the table's and the diff's columns in [`apply_part`]'s rows.
pub const TABLE_PREFIX: &str = "table__";
pub const DIFF_PREFIX: &str = "diff__";
const AS_OF_DATE: &str = "as_of__date";
const AS_OF_SOURCE: &str = "as_of__source";
const AS_OF_DETAIL: &str = "as_of__detail";
const AS_OF_CHANGES: &str = "as_of__changes";
/// How a timestamp source of `as_of` travels as text between executors and the driver.
const TIMESTAMP_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6f";

/// `batch` with [`BUCKET_COLUMN`]: the bucket of each row's key, among `buckets`.
#[pyfunction]
pub fn with_bucket(
    py: Python<'_>,
    batch: PyArrowType<RecordBatch>,
    spec: &Spec,
    buckets: u32,
) -> PyResult<PyArrowType<RecordBatch>> {
    let spec = &spec.inner;
    let batch = batch.0;
    py.detach(|| {
        let key = key_columns(spec, &batch)?;
        let of_rows = bucket::buckets_of(&key, buckets)?;
        appended(&batch, BUCKET_COLUMN, of_rows)
    })
    .map(PyArrowType)
    .or_raise()
}

/// `batch` (rows of the table) with [`GROUP_BUCKET_COLUMN`]: the bucket of each row's feature
/// group, among `buckets`.
#[pyfunction]
pub fn with_group_bucket(
    py: Python<'_>,
    batch: PyArrowType<RecordBatch>,
    spec: &Spec,
    buckets: u32,
) -> PyResult<PyArrowType<RecordBatch>> {
    let spec = &spec.inner;
    let batch = batch.0;
    py.detach(|| with_group_buckets(spec, batch, buckets))
        .map(PyArrowType)
        .or_raise()
}

fn with_group_buckets(spec: &TableSpec, batch: RecordBatch, buckets: u32) -> Result<RecordBatch> {
    let features = features_of(spec)?;
    let group = column(&batch, &features.group)?;
    let of_rows = bucket::group_buckets_of(group, &features.rename, buckets)?;
    appended(&batch, GROUP_BUCKET_COLUMN, of_rows)
}

/// Applies one bucket's changes to its snapshot rows: the rows of [`PART_COLUMN`] `table`
/// (the bucket's new rows, columns prefixed [`TABLE_PREFIX`]), `diff` ([`DIFF_PREFIX`]) and one
/// `as_of` row (what the bucket's changes say of `as_of`, for [`as_of_of_parts`]).
///
/// `changes` holds change rows as their files have them, with [`FILE_COLUMN`] and
/// [`ROW_COLUMN`]; [`BUCKET_COLUMN`] is dropped from both inputs. Features are not computed
/// here: they need every row of a group, which [`enrich_part`] gets. With `group_buckets`,
/// the table's rows carry [`GROUP_BUCKET_COLUMN`] (as [`with_group_bucket`] gives it), so
/// that the shuffle to [`enrich_part`] needs no pass of its own through Python.
#[pyfunction]
#[pyo3(signature = (spec, snapshot, changes, *, strict=false, group_buckets=None))]
pub fn apply_part(
    py: Python<'_>,
    spec: &Spec,
    snapshot: PyArrowType<Table>,
    changes: PyArrowType<Table>,
    strict: bool,
    group_buckets: Option<u32>,
) -> PyResult<PyArrowType<RecordBatch>> {
    let spec = &spec.inner;
    let snapshot = without(one_batch(snapshot.0)?, &[BUCKET_COLUMN]);
    let changes = one_batch(changes.0)?;
    py.detach(|| apply_bucket(spec, snapshot, changes, strict, group_buckets))
        .map(PyArrowType)
        .or_raise()
}

/// Enriches the table rows of one group bucket as of `as_of` (`window_days` and a lookup file
/// as `tidemark.apply` takes them): the enriched rows, typed for Spark.
#[pyfunction]
#[pyo3(signature = (spec, table, as_of, *, window_days=None, lookup_file=None))]
pub fn enrich_part(
    py: Python<'_>,
    spec: &Spec,
    table: PyArrowType<Table>,
    as_of: NaiveDate,
    window_days: Option<u32>,
    lookup_file: Option<Named<Vec<u8>>>,
) -> PyResult<PyArrowType<RecordBatch>> {
    let spec = &spec.inner;
    let rows = without(one_batch(table.0)?, &[GROUP_BUCKET_COLUMN]);
    let lookup = match lookup_file {
        Some((name, bytes)) => Some(Lookup::from_file(&InputFile::new(name, bytes)).or_raise()?),
        None => None,
    };
    let options = Options {
        window_days,
        lookup,
        ..Default::default()
    };
    py.detach(|| enrich_group_bucket(spec, rows, as_of, &options))
        .map(PyArrowType)
        .or_raise()
}

/// A bucket's `as_of` row as Spark collects it: what its changes date themselves by (date,
/// source, detail: none when they do not) and how many changes it applied.
type AsOfRow = (Option<NaiveDate>, Option<String>, Option<String>, i64);

/// The run's `as_of` from the `as_of` rows of every bucket ([`apply_part`]). Returns the date
/// and where it came from, as the report says it.
#[pyfunction]
pub fn as_of_of_parts(parts: Vec<AsOfRow>) -> PyResult<(NaiveDate, String)> {
    let parts = parts
        .into_iter()
        .map(|(date, source, detail, changes)| {
            let inferred = match (date, source, detail) {
                (Some(date), Some(source), Some(detail)) => Some(AsOf {
                    date,
                    source: source_of(&source, detail)?,
                }),
                _ => None,
            };
            Ok(PartAsOf {
                inferred,
                applied_changes: changes > 0,
            })
        })
        .collect::<PyResult<Vec<_>>>()?;
    let as_of = pipeline::as_of_of_parts(&parts).or_raise()?;
    Ok((as_of.date, as_of.source.to_string()))
}

fn apply_bucket(
    spec: &TableSpec,
    snapshot: RecordBatch,
    changes: RecordBatch,
    strict: bool,
    group_buckets: Option<u32>,
) -> Result<RecordBatch> {
    let original = spec;
    // Features need every row of a group, and history is not returned: neither is computed.
    let mut spec = spec.clone();
    let date_column = spec.features.take().map(|f| f.date);
    spec.history = None;
    let tables = Tables {
        snapshot: vec![InputTable::new("snapshot", snapshot)],
        state: None,
        changes: change_tables(changes)?,
    };
    let options = Options {
        strict,
        ..Default::default()
    };
    let decoded =
        pipeline::decode_with_tables(&spec, Inputs::default(), tables, &options, &mut |_| {})?;
    // A truncate empties every bucket at its place in the order: one bucket cannot apply it.
    if let Some(changes) = decoded
        .changes
        .iter()
        .find(|c| c.ops.contains(&Op::Truncate))
    {
        return Err(Error::at(
            tidemark_core::Location::file(&changes.file),
            ErrorKind::Invalid("a truncate cannot be applied a bucket of keys at a time".into()),
        ));
    }
    let applied: Vec<ChangeBatch> = decoded.changes.clone();
    let output = pipeline::run_decoded(&spec, decoded, &options, &mut |_| {})?;
    let as_of = match date_column {
        Some(date) => {
            match pipeline::infer_as_of(output.newest_timestamp, &applied, &output.table, &date) {
                Ok(as_of) => Some(as_of),
                Err(e) if *e.kind() == ErrorKind::AsOfUnknown => None,
                Err(e) => return Err(e),
            }
        }
        None => None,
    };
    let mut table = for_spark(&output.table)?;
    if let Some(buckets) = group_buckets {
        table = with_group_buckets(original, table, buckets)?;
    }
    let diff = for_spark(&output.diff.rows)?;
    let as_of = as_of_row(as_of.as_ref(), output.report.apply.changes);
    union(&[
        ("table", TABLE_PREFIX, &table),
        ("diff", DIFF_PREFIX, &diff),
        ("as_of", "", &as_of),
    ])
}

/// The change rows of a bucket as one table per file, each row with its number in the file.
/// A bucket without changes still gets one empty table, so that its diff has the columns
/// (and the sequence's type) of every other bucket's.
fn change_tables(changes: RecordBatch) -> Result<Vec<InputTable>> {
    let files = column(&changes, FILE_COLUMN)?.clone();
    let files = arrow_cast::cast(&files, &DataType::Utf8)?;
    let files = files.as_string::<i32>();
    let rows = arrow_cast::cast(column(&changes, ROW_COLUMN)?, &DataType::UInt64)?;
    let rows = rows.as_primitive::<UInt64Type>();
    let values = without(changes.clone(), &[FILE_COLUMN, ROW_COLUMN, BUCKET_COLUMN]);
    if values.num_rows() == 0 {
        return Ok(vec![InputTable::new("(no changes)", values)]);
    }
    let mut by_file: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    for (i, file) in files.iter().enumerate() {
        let file = file.ok_or_else(|| {
            Error::new(ErrorKind::Invalid(format!(
                "a change row without its file name (`{FILE_COLUMN}` is null)"
            )))
        })?;
        by_file.entry(file).or_default().push(i as u32);
    }
    by_file
        .into_iter()
        .map(|(file, indices)| {
            let indices = UInt32Array::from(indices);
            let numbers = arrow_select::take::take(rows, &indices, None)?;
            let numbers = numbers.as_primitive::<UInt64Type>();
            if numbers.null_count() > 0 {
                return Err(Error::at(
                    tidemark_core::Location::file(file),
                    ErrorKind::Invalid(format!("a change row without its `{ROW_COLUMN}`")),
                ));
            }
            Ok(InputTable {
                name: file.to_string(),
                rows: arrow_select::take::take_record_batch(&values, &indices)?,
                row_numbers: Some(numbers.values().to_vec()),
            })
        })
        .collect()
}

fn enrich_group_bucket(
    spec: &TableSpec,
    rows: RecordBatch,
    as_of: NaiveDate,
    options: &Options,
) -> Result<RecordBatch> {
    let features = features_of(spec)?;
    // Read as a snapshot is, so that every column has the table's type whatever Spark made
    // of it.
    let tables = [InputTable::new("table", rows)];
    let schema = tidemark_core::decode::table_schema_of_tables(spec, &tables)?;
    let table = tidemark_core::decode::decode_snapshot_tables(spec, &schema, &tables)?;
    let as_of = AsOf {
        date: as_of,
        source: AsOfSource::Given,
    };
    let enriched = pipeline::enrich_with(features, &table.rows, &as_of, options)?;
    for_spark(&enriched.rows)
}

/// The `as_of` row of a bucket: what it inferred (`None`: it could not) and how many changes
/// it applied.
fn as_of_row(as_of: Option<&AsOf>, changes: usize) -> RecordBatch {
    let (source, detail) = match as_of.map(|a| &a.source) {
        Some(AsOfSource::NewestChangeTimestamp(t)) => (
            Some("timestamp"),
            Some(t.format(TIMESTAMP_FORMAT).to_string()),
        ),
        Some(AsOfSource::NewestChangeFileName(file)) => (Some("file_name"), Some(file.clone())),
        Some(AsOfSource::NewestDateInTable(column)) => (Some("table"), Some(column.clone())),
        _ => (None, None),
    };
    let date = as_of.map(|a| {
        (a.date - NaiveDate::from_ymd_opt(1970, 1, 1).expect("the epoch")).num_days() as i32
    });
    let columns: Vec<(&str, ArrayRef)> = vec![
        (AS_OF_DATE, Arc::new(Date32Array::from(vec![date]))),
        (AS_OF_SOURCE, Arc::new(StringArray::from(vec![source]))),
        (AS_OF_DETAIL, Arc::new(StringArray::from(vec![detail]))),
        (
            AS_OF_CHANGES,
            Arc::new(Int64Array::from(vec![changes as i64])),
        ),
    ];
    RecordBatch::try_from_iter(columns).expect("columns of one row")
}

/// An [`as_of_row`]'s source, back.
fn source_of(source: &str, detail: String) -> PyResult<AsOfSource> {
    match source {
        "timestamp" => NaiveDateTime::parse_from_str(&detail, TIMESTAMP_FORMAT)
            .map(AsOfSource::NewestChangeTimestamp)
            .map_err(|e| PyValueError::new_err(format!("as_of timestamp {detail:?}: {e}"))),
        "file_name" => Ok(AsOfSource::NewestChangeFileName(detail)),
        "table" => Ok(AsOfSource::NewestDateInTable(detail)),
        other => Err(PyValueError::new_err(format!(
            "unknown source of as_of {other:?}"
        ))),
    }
}

/// The rows of several outputs in one batch, as Spark's `applyInArrow` returns one schema:
/// [`PART_COLUMN`] names each row's output, each output's columns are prefixed, and a row is
/// null in the other outputs' columns.
fn union(parts: &[(&str, &str, &RecordBatch)]) -> Result<RecordBatch> {
    let mut fields = vec![Field::new(PART_COLUMN, DataType::Utf8, false)];
    for (_, prefix, batch) in parts {
        fields.extend(
            batch
                .schema()
                .fields()
                .iter()
                .map(|f| Field::new(format!("{prefix}{}", f.name()), f.data_type().clone(), true)),
        );
    }
    let schema = Arc::new(Schema::new(fields));
    let batches = parts
        .iter()
        .enumerate()
        .map(|(n, (name, _, batch))| {
            let rows = batch.num_rows();
            let mut columns: Vec<ArrayRef> = vec![Arc::new(StringArray::from(vec![*name; rows]))];
            for (m, (_, _, other)) in parts.iter().enumerate() {
                for (i, field) in other.schema().fields().iter().enumerate() {
                    columns.push(match m == n {
                        true => batch.column(i).clone(),
                        false => new_null_array(field.data_type(), rows),
                    });
                }
            }
            RecordBatch::try_new(schema.clone(), columns)
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(arrow_select::concat::concat_batches(&schema, &batches)?)
}

/// `batch` typed for Spark: text plain, unsigned integers as `Int64`.
fn for_spark(batch: &RecordBatch) -> Result<RecordBatch> {
    let batch = encode::logical(batch)?;
    let fields: Vec<Field> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => {
                f.as_ref().clone().with_data_type(DataType::Int64)
            }
            _ => f.as_ref().clone(),
        })
        .collect();
    let columns = batch
        .columns()
        .iter()
        .zip(&fields)
        .map(|(c, f)| arrow_cast::cast(c, f.data_type()))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

/// `batch` with a bucket column appended.
fn appended(batch: &RecordBatch, name: &str, buckets: Vec<u32>) -> Result<RecordBatch> {
    let buckets = Int32Array::from_iter_values(buckets.into_iter().map(|b| b as i32));
    let mut fields: Vec<Field> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.push(Field::new(name, DataType::Int32, false));
    let mut columns = batch.columns().to_vec();
    columns.push(Arc::new(buckets));
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

/// `batch` without the columns named (those it has).
fn without(batch: RecordBatch, names: &[&str]) -> RecordBatch {
    let keep: Vec<usize> = (0..batch.num_columns())
        .filter(|&i| !names.contains(&batch.schema().field(i).name().as_str()))
        .collect();
    batch.project(&keep).expect("indices of its own columns")
}

/// The key columns of `batch`, in the table's key types where the spec gives them, so that a
/// key bucketed from a change file and from the snapshot is hashed from one value (`"7"` in a
/// text column of a change file is the key 7 of an `int64` key, as the core reads it). A value
/// that does not convert is hashed as null; decoding it fails in its bucket, naming its row.
fn key_columns(spec: &TableSpec, batch: &RecordBatch) -> Result<Vec<ArrayRef>> {
    let schema = spec.schema();
    spec.table
        .key
        .iter()
        .map(|key| {
            let values = column(batch, key)?;
            let table_type = schema
                .as_ref()
                .and_then(|s| s.field_with_name(key).ok())
                .map(|f| f.data_type().clone());
            match table_type {
                Some(t) if t != *values.data_type() => Ok(arrow_cast::cast(values, &t)?),
                _ => Ok(values.clone()),
            }
        })
        .collect()
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef> {
    batch.column_by_name(name).ok_or_else(|| {
        Error::new(ErrorKind::Columns(format!(
            "no column `{name}` among {:?}",
            batch
                .schema()
                .fields()
                .iter()
                .map(|f| f.name())
                .collect::<Vec<_>>()
        )))
    })
}

fn features_of(spec: &TableSpec) -> Result<&tidemark_core::spec::FeatureSpec> {
    spec.features
        .as_ref()
        .ok_or_else(|| Error::new(ErrorKind::Spec("the spec has no [features]".into())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tidemark_core::{example, pipeline};

    fn seed_table() -> RecordBatch {
        let seed = example::seed();
        let inputs = Inputs {
            snapshot: seed.snapshot,
            ..Default::default()
        };
        let spec = TableSpec::users();
        pipeline::run(&spec, inputs, &Options::default(), &mut |_| {})
            .unwrap()
            .table
    }

    #[test]
    fn the_parts_of_a_union_keep_their_rows_and_columns() {
        let table = for_spark(&seed_table()).unwrap();
        let one = as_of_row(None, 0);
        let rows = union(&[("table", TABLE_PREFIX, &table), ("as_of", "", &one)]).unwrap();
        assert_eq!(rows.num_rows(), table.num_rows() + 1);
        assert_eq!(
            rows.num_columns(),
            1 + table.num_columns() + one.num_columns()
        );
        let ids = rows.column_by_name("table__user_id").unwrap();
        assert_eq!(ids.null_count(), 1, "the as_of row has no table columns");
    }

    #[test]
    fn an_as_of_row_reads_back_as_the_as_of_it_was() {
        let t = NaiveDate::from_ymd_opt(2021, 10, 18)
            .unwrap()
            .and_hms_micro_opt(22, 59, 59, 941_000)
            .unwrap();
        let as_of = AsOf {
            date: t.date(),
            source: AsOfSource::NewestChangeTimestamp(t),
        };
        let row = as_of_row(Some(&as_of), 3);
        let source = row.column_by_name(AS_OF_SOURCE).unwrap().as_string::<i32>();
        let detail = row.column_by_name(AS_OF_DETAIL).unwrap().as_string::<i32>();
        let back = source_of(source.value(0), detail.value(0).to_string()).unwrap();
        assert_eq!(back, as_of.source);
    }

    #[test]
    fn change_rows_go_to_their_files_in_row_order() {
        let rows = RecordBatch::try_from_iter([
            (
                "Op",
                Arc::new(StringArray::from(vec!["U", "I", "D"])) as ArrayRef,
            ),
            (
                FILE_COLUMN,
                Arc::new(StringArray::from(vec![
                    "b.parquet",
                    "a.parquet",
                    "b.parquet",
                ])),
            ),
            (ROW_COLUMN, Arc::new(Int64Array::from(vec![9, 1, 4]))),
        ])
        .unwrap();
        let tables = change_tables(rows).unwrap();
        let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["a.parquet", "b.parquet"]);
        assert_eq!(tables[1].row_numbers.as_deref(), Some(&[9, 4][..]));
        assert_eq!(
            tables[1].rows.num_columns(),
            1,
            "file and row columns dropped"
        );
    }
}
