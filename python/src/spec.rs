//! `Spec`: a table spec, as the core reads it.

use pyo3::prelude::*;
use pyo3::types::PyTuple;
use tidemark_core::TableSpec;

use crate::errors::OrRaise;

/// A table spec: the table's columns and key, the change files' layout, the features.
///
/// `Spec.users()` is the bundled spec of the seed's `users` table; `Spec.from_toml(text)` reads
/// a spec file's text; `Spec.from_json(text)` the same structure as JSON (what
/// `tidemark.spec(dict)` gives it).
#[pyclass(frozen, skip_from_py_object, module = "tidemark._tidemark")]
#[derive(Clone)]
pub struct Spec {
    pub inner: TableSpec,
}

#[pymethods]
impl Spec {
    #[staticmethod]
    fn users() -> Self {
        Spec {
            inner: TableSpec::users(),
        }
    }

    #[staticmethod]
    fn from_toml(text: &str) -> PyResult<Self> {
        Ok(Spec {
            inner: TableSpec::from_toml(text).or_raise()?,
        })
    }

    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Self> {
        Ok(Spec {
            inner: TableSpec::from_json(text).or_raise()?,
        })
    }

    /// The spec as JSON, in the structure of its TOML file.
    fn to_json(&self) -> String {
        serde_json::to_string(&self.inner).expect("a spec serialises")
    }

    #[getter]
    fn name(&self) -> &str {
        &self.inner.table.name
    }

    #[getter]
    fn key(&self) -> Vec<String> {
        self.inner.table.key.clone()
    }

    /// The table's column names (empty when the spec takes them from a Parquet snapshot).
    #[getter]
    fn columns(&self) -> Vec<String> {
        self.inner
            .table
            .columns
            .iter()
            .map(|c| c.name.clone())
            .collect()
    }

    /// The column the features group rows by (`None` without features).
    #[getter]
    fn group(&self) -> Option<String> {
        self.inner.features.as_ref().map(|f| f.group.clone())
    }

    /// A spec goes to Spark executors pickled, as its JSON.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let from_json = py.get_type::<Spec>().getattr("from_json")?;
        let args = PyTuple::new(py, [slf.get().to_json()])?;
        PyTuple::new(py, [from_json.into_any(), args.into_any()])
    }

    fn __eq__(&self, other: &Self) -> bool {
        self.inner == other.inner
    }

    fn __repr__(&self) -> String {
        format!(
            "Spec(name={:?}, key={:?})",
            self.inner.table.name, self.inner.table.key
        )
    }
}
