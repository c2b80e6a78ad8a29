//! The whole job on one machine (`apply`), and one input decoded (`decode`): the CLI's run,
//! with tables where the CLI has files.

use std::sync::Arc;

use arrow_array::{
    ArrayRef, Decimal128Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow_pyarrow::{PyArrowType, Table};
use arrow_schema::{Field, Schema};
use chrono::NaiveDate;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use tidemark_core::decode::{self as core_decode, InputTable};
use tidemark_core::features::lookup::Lookup;
use tidemark_core::pipeline::{self, Inputs, Options, Output, Tables};
use tidemark_core::spec::SequenceKind;
use tidemark_core::{ChangeBatch, InputFile, Result, TableSpec};

use crate::arrow::{Named, input_files, input_tables, one_batch, to_python};
use crate::errors::OrRaise;
use crate::spec::Spec;

/// Runs the job: decode, apply, enrich, report. Every input is named as a file would be;
/// tables and files may be mixed among the changes, which apply in the order of their names.
/// Returns a dict of pyarrow tables (`table`, `diff`, `enriched`, `history`, `change_log`,
/// `state`; `None` where the run has none) and `report`, the text of `report.json`.
#[pyfunction]
#[pyo3(signature = (
    spec, *, snapshot_tables=Vec::new(), snapshot_files=Vec::new(), change_tables=Vec::new(),
    change_files=Vec::new(), state_table=None, state_file=None, change_log_file=None,
    lookup_file=None, as_of=None, as_of_not_before=None, window_days=None, strict=false,
))]
#[allow(clippy::too_many_arguments)] // keyword arguments of the Python API, one per input
pub fn apply<'py>(
    py: Python<'py>,
    spec: &Spec,
    snapshot_tables: Vec<Named<PyArrowType<Table>>>,
    snapshot_files: Vec<Named<Vec<u8>>>,
    change_tables: Vec<Named<PyArrowType<Table>>>,
    change_files: Vec<Named<Vec<u8>>>,
    state_table: Option<Named<PyArrowType<Table>>>,
    state_file: Option<Named<Vec<u8>>>,
    change_log_file: Option<Named<Vec<u8>>>,
    lookup_file: Option<Named<Vec<u8>>>,
    as_of: Option<NaiveDate>,
    as_of_not_before: Option<NaiveDate>,
    window_days: Option<u32>,
    strict: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let inputs = Inputs {
        snapshot: input_files(snapshot_files),
        state: state_file.map(|(name, bytes)| InputFile::new(name, bytes)),
        changes: input_files(change_files),
        change_log: change_log_file.map(|(name, bytes)| InputFile::new(name, bytes)),
        next_snapshot: Vec::new(),
    };
    let tables = Tables {
        snapshot: input_tables(snapshot_tables)?,
        state: match state_table {
            Some((name, table)) => Some(InputTable::new(name, one_batch(table.0)?)),
            None => None,
        },
        changes: input_tables(change_tables)?,
    };
    let lookup = match lookup_file {
        Some((name, bytes)) => Some(Lookup::from_file(&InputFile::new(name, bytes)).or_raise()?),
        None => None,
    };
    let options = Options {
        as_of,
        as_of_not_before,
        window_days,
        lookup,
        strict,
        ..Default::default()
    };
    let spec = &spec.inner;
    // The run holds no Python object: other Python threads go on meanwhile.
    let output = py
        .detach(|| run(spec, inputs, tables, &options))
        .or_raise()?;
    outputs(py, &output)
}

fn run(spec: &TableSpec, inputs: Inputs, tables: Tables, options: &Options) -> Result<Output> {
    let decoded = pipeline::decode_with_tables(spec, inputs, tables, options, &mut |_| {})?;
    pipeline::run_decoded(spec, decoded, options, &mut |_| {})
}

/// A run's outputs as the dict `apply` returns.
fn outputs<'py>(py: Python<'py>, output: &Output) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    let optional = |batch: Option<&RecordBatch>| batch.map(to_python).transpose();
    dict.set_item("table", to_python(&output.table)?)?;
    dict.set_item("diff", to_python(&output.diff.rows)?)?;
    dict.set_item("enriched", optional(output.enriched.as_ref())?)?;
    let history = output.history.as_ref();
    dict.set_item("history", optional(history.map(|h| &h.versions))?)?;
    dict.set_item("change_log", optional(history.map(|h| &h.log.rows))?)?;
    dict.set_item(
        "state",
        optional(output.versions.as_ref().map(|v| &v.rows))?,
    )?;
    let report = serde_json::to_string(&output.report).expect("a report serialises");
    dict.set_item("report", report)?;
    Ok(dict)
}

/// Decodes one input by the spec: a snapshot's rows, or a change file's with what orders and
/// places them (`_tidemark_op`, `_tidemark_sequence` when the file has one, `_tidemark_file`,
/// `_tidemark_row`). Give `table` or `file`, named.
#[pyfunction]
#[pyo3(signature = (spec, *, table=None, file=None, changes=false))]
pub fn decode(
    py: Python<'_>,
    spec: &Spec,
    table: Option<Named<PyArrowType<Table>>>,
    file: Option<Named<Vec<u8>>>,
    changes: bool,
) -> PyResult<PyArrowType<Table>> {
    let spec = &spec.inner;
    let rows = match (table, file) {
        (Some((name, table)), None) => {
            let table = InputTable::new(name, one_batch(table.0)?);
            py.detach(|| decode_table(spec, table, changes))
        }
        (None, Some((name, bytes))) => {
            let file = InputFile::new(name, bytes);
            py.detach(|| decode_file(spec, file, changes))
        }
        _ => {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "give one input: a table or a file",
            ));
        }
    }
    .or_raise()?;
    to_python(&rows)
}

fn decode_table(spec: &TableSpec, table: InputTable, changes: bool) -> Result<RecordBatch> {
    let schema = core_decode::table_schema_of_tables(spec, std::slice::from_ref(&table))?;
    match changes {
        true => change_rows(core_decode::decode_changes_table(spec, &schema, &table)?),
        false => Ok(core_decode::decode_snapshot_tables(spec, &schema, &[table])?.rows),
    }
}

fn decode_file(spec: &TableSpec, file: InputFile, changes: bool) -> Result<RecordBatch> {
    let files = [file];
    let schema = core_decode::table_schema(spec, if changes { &[] } else { &files })?;
    match changes {
        true => change_rows(core_decode::decode_changes(spec, &schema, &files[0])?),
        false => Ok(core_decode::decode_snapshot(spec, &schema, &files)?.rows),
    }
}

/// A decoded change file as one table: what orders each change first, then its row.
fn change_rows(batch: ChangeBatch) -> Result<RecordBatch> {
    let len = batch.len();
    let mut fields = vec![Field::new(
        "_tidemark_op",
        arrow_schema::DataType::Utf8,
        false,
    )];
    let ops: StringArray = batch
        .ops
        .iter()
        .map(|op| Some(op.letter().to_string()))
        .collect();
    let mut columns: Vec<ArrayRef> = vec![Arc::new(ops)];
    if let Some(sequence) = &batch.sequence {
        let values: ArrayRef = match sequence.kind {
            SequenceKind::Timestamp => Arc::new(TimestampMicrosecondArray::from_iter_values(
                sequence.values.iter().map(|&v| v as i64),
            )),
            SequenceKind::Number => Arc::new(
                Decimal128Array::from_iter_values(sequence.values.iter().copied())
                    .with_precision_and_scale(38, 0)?,
            ),
        };
        fields.push(Field::new(
            "_tidemark_sequence",
            values.data_type().clone(),
            false,
        ));
        columns.push(values);
    }
    fields.extend(
        batch
            .rows
            .schema()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone()),
    );
    columns.extend(batch.rows.columns().iter().cloned());
    fields.push(Field::new(
        "_tidemark_file",
        arrow_schema::DataType::Utf8,
        false,
    ));
    columns.push(Arc::new(StringArray::from(vec![batch.file.as_str(); len])));
    // Signed, as Spark has no unsigned integers: the rows can go to `tidemark.spark` as they are.
    fields.push(Field::new(
        "_tidemark_row",
        arrow_schema::DataType::Int64,
        false,
    ));
    columns.push(Arc::new(Int64Array::from_iter_values(
        (0..len).map(|i| batch.row_number(i) as i64),
    )));
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}
