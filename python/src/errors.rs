//! The core's errors as Python exceptions that keep where they were found.

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use tidemark_core::Error;

create_exception!(
    _tidemark,
    TidemarkError,
    PyException,
    "An input Tidemark cannot apply, or a run it cannot make. `file`, `row` (counted from 1, \
     as an editor counts) and `column` say where, when known; `kind` names what went wrong \
     (`Parse`, `MissingKey`, `DuplicateKey`, ...)."
);

/// `error` as a `TidemarkError` with its message, place and kind as attributes.
pub fn to_py(error: Error) -> PyErr {
    Python::attach(|py| {
        let exception = TidemarkError::new_err(error.to_string());
        match place(exception.value(py), &error) {
            Ok(()) => exception,
            Err(failed) => failed,
        }
    })
}

/// Sets the exception's `file`, `row`, `column` and `kind` (None where unknown).
fn place(exception: &Bound<'_, pyo3::exceptions::PyBaseException>, error: &Error) -> PyResult<()> {
    let location = error.location();
    exception.setattr("file", location.map(|l| l.file.clone()))?;
    exception.setattr("row", location.and_then(|l| l.row))?;
    exception.setattr("column", location.and_then(|l| l.column.clone()))?;
    exception.setattr("kind", kind_name(error))
}

/// The name of the error's kind, as the core spells it (`Parse`, `MissingKey`): stable for
/// programs to match on, unlike the message.
fn kind_name(error: &Error) -> String {
    let debug = format!("{:?}", error.kind());
    debug
        .split(|c: char| !c.is_alphanumeric() && c != '_')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Turns the core's results into Python's.
pub trait OrRaise<T> {
    fn or_raise(self) -> PyResult<T>;
}

impl<T> OrRaise<T> for tidemark_core::Result<T> {
    fn or_raise(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tidemark_core::{ErrorKind, Location};

    #[test]
    fn a_kind_is_named_by_its_variant() {
        let parse = Error::at(
            Location::file("f.csv").row(2).column("d"),
            ErrorKind::Parse {
                value: "x".into(),
                expected: "a date",
            },
        );
        assert_eq!(kind_name(&parse), "Parse");
        assert_eq!(kind_name(&Error::new(ErrorKind::MissingKey)), "MissingKey");
    }
}
