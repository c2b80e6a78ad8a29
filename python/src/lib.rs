//! `tidemark._tidemark`: the core as a Python extension module, on Arrow.
//!
//! Tables cross between Python and Rust through the Arrow C data interface (`arrow-pyarrow`):
//! pyarrow tables, record batch readers and anything else with `__arrow_c_stream__` (Polars and
//! pandas data frames) come in without a copy, and results go out as pyarrow tables. The
//! Python package (`python/tidemark/`) is the API people call; this module is what it calls.
//!
//! - [`spec`]: the table spec (`Spec`), from TOML, a dict or the bundled `users`;
//! - [`local`]: the whole job on one machine (`apply`) and the decoding of one input (`decode`);
//! - [`parts`]: the job cut into buckets of keys, for Spark executors (`tidemark.spark`);
//! - [`errors`]: the core's errors as `TidemarkError`, with their file, row and column;
//! - [`arrow`]: tables in and out.

mod arrow;
mod errors;
mod local;
mod parts;
mod spec;

use pyo3::prelude::*;

#[pymodule]
fn _tidemark(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("TidemarkError", m.py().get_type::<errors::TidemarkError>())?;
    m.add_class::<spec::Spec>()?;
    m.add_function(wrap_pyfunction!(local::apply, m)?)?;
    m.add_function(wrap_pyfunction!(local::decode, m)?)?;
    m.add_function(wrap_pyfunction!(parts::with_bucket, m)?)?;
    m.add_function(wrap_pyfunction!(parts::with_group_bucket, m)?)?;
    m.add_function(wrap_pyfunction!(parts::apply_part, m)?)?;
    m.add_function(wrap_pyfunction!(parts::enrich_part, m)?)?;
    m.add_function(wrap_pyfunction!(parts::as_of_of_parts, m)?)?;
    m.add_function(wrap_pyfunction!(is_data_file, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}

/// Whether a file of this name is one Tidemark reads (`.csv`, `.csv.gz`, `.parquet`, not
/// hidden): what a folder of change files is walked for.
#[pyfunction]
fn is_data_file(name: &str) -> bool {
    tidemark_core::files::is_data_file(name)
}
