//! Tables in and out: Arrow streams from Python as the core's inputs, the core's batches as
//! pyarrow tables.

use arrow_array::RecordBatch;
use arrow_pyarrow::{PyArrowType, Table};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use tidemark_core::decode::InputTable;
use tidemark_core::{InputFile, encode};

use crate::errors::OrRaise;

/// An input named as a file would be: its name orders change tables as DMS names order files.
pub type Named<T> = (String, T);

/// A table from Python (anything with `__arrow_c_stream__`), as one batch.
pub fn one_batch(table: Table) -> PyResult<RecordBatch> {
    let (batches, schema) = table.into_inner();
    match batches.len() {
        1 => Ok(batches.into_iter().next().expect("one batch")),
        _ => arrow_select::concat::concat_batches(&schema, &batches)
            .map_err(|e| PyValueError::new_err(e.to_string())),
    }
}

/// Named Python tables as the core's input tables, each the whole of the file it stands for.
pub fn input_tables(tables: Vec<Named<PyArrowType<Table>>>) -> PyResult<Vec<InputTable>> {
    tables
        .into_iter()
        .map(|(name, table)| Ok(InputTable::new(name, one_batch(table.0)?)))
        .collect()
}

/// Named bytes as the core's input files.
pub fn input_files(files: Vec<Named<Vec<u8>>>) -> Vec<InputFile> {
    files
        .into_iter()
        .map(|(name, bytes)| InputFile::new(name, bytes))
        .collect()
}

/// `batch` as a pyarrow table, in the types its files would declare (text plain, not
/// dictionary-encoded: how the core holds a column is not part of the table).
pub fn to_python(batch: &RecordBatch) -> PyResult<PyArrowType<Table>> {
    let batch = encode::logical(batch).or_raise()?;
    let schema = batch.schema();
    Table::try_new(vec![batch], schema)
        .map(PyArrowType)
        .map_err(|e| PyValueError::new_err(e.to_string()))
}
