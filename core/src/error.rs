//! Errors that name the place in the input where they were found.

use std::fmt;
use std::sync::Arc;

/// Where a problem was found: a file, and when known the row and the column.
///
/// Rows are counted from 1 as a person counts them in an editor: for CSV the
/// header row, when present, is row 1.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Location {
    pub file: String,
    pub row: Option<u64>,
    pub column: Option<String>,
}

impl Location {
    pub fn file(file: impl Into<String>) -> Self {
        Location {
            file: file.into(),
            row: None,
            column: None,
        }
    }

    pub fn row(mut self, row: u64) -> Self {
        self.row = Some(row);
        self
    }

    pub fn column(mut self, column: impl Into<String>) -> Self {
        self.column = Some(column.into());
        self
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(row) = self.row {
            write!(f, ", row {row}")?;
        }
        if let Some(column) = &self.column {
            write!(f, ", column `{column}`")?;
        }
        Ok(())
    }
}

/// What went wrong.
///
/// New kinds come as the inputs Tidemark reads grow: match with a fallback arm.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    #[error("the file is empty")]
    EmptyFile,
    #[error("the text is not valid UTF-8")]
    NotUtf8,
    #[error("expected {expected} fields, found {found}{hint}")]
    FieldCount {
        expected: usize,
        found: usize,
        hint: &'static str,
    },
    #[error("malformed CSV: {0}")]
    Csv(#[source] Cause),
    /// `expected` lists the values the spec's `[cdc.ops]` accepts (`I, U or D` by default).
    #[error("unknown operation {} (expected {expected})", Excerpt(.value))]
    UnknownOp { value: String, expected: String },
    /// A full load's operation field (DMS `IncludeOpForFullLoad`) holds only inserts.
    #[error("operation {} in a full load, which holds only inserts", Excerpt(.0))]
    NotAnInsert(String),
    #[error("cannot parse {} as {expected}", Excerpt(.value))]
    Parse {
        value: String,
        expected: &'static str,
    },
    /// A Parquet value that the table's type cannot hold as it is: a float with a fraction
    /// into an integer column, an integer out of the column's range.
    #[error("cannot convert {} from {from} to {to} without changing it", Excerpt(.value).bare())]
    InexactCast {
        value: String,
        from: String,
        to: String,
    },
    #[error("the key is missing (null or empty)")]
    MissingKey,
    #[error("duplicate key {} in the snapshot (first seen in {first})", Excerpt(.key).bare())]
    DuplicateKey { key: String, first: String },
    #[error("the columns do not match the table: {0}")]
    Columns(String),
    #[error("not a readable Parquet file: {0}")]
    Parquet(#[source] Cause),
    #[error("not a readable gzip file: {0}")]
    Gzip(#[source] Cause),
    #[error("invalid table spec: {0}")]
    Spec(String),
    /// The features' window (`window_days`, `--window-days`) outside [`WINDOW_DAYS`].
    #[error(
        "window_days is {0}: it must be from {min} to {max} days (the span of the dates \
         0000-01-01 to 9999-12-31)",
        min = WINDOW_DAYS.start(),
        max = WINDOW_DAYS.end()
    )]
    WindowDays(u32),
    #[error("invalid lookup table: {0}")]
    Lookup(String),
    /// A transaction file (DMS `PreserveTransactions`) holds the rows of every table: the
    /// spec must say which table is its own.
    #[error(
        "a transaction file (DMS `PreserveTransactions`) holds the rows of every table; name this \
         table's in the spec: [cdc] source = {{ schema = \"...\", table = \"...\" }}"
    )]
    NoSourceTable,
    /// A transaction file's row without the name of its table or of its schema.
    #[error("the {0} name is missing: a transaction file's row must name its table and schema")]
    MissingSourceName(&'static str),
    #[error("{0} (strict mode)")]
    Anomaly(String),
    #[error("cannot encode the output: {0}")]
    Encode(#[source] Cause),
    #[error(
        "cannot tell `as_of`: no change carries a timestamp and no change file has a DMS name \
         (yyyyMMdd-HHmmssSSS); give it explicitly (--as-of YYYY-MM-DD)"
    )]
    AsOfUnknown,
    /// An Arrow kernel refused the arrays it was given (an offset overflow, a length
    /// mismatch): a limit of the data, not a mistake in an input file.
    #[error("{0}")]
    Arrow(#[source] Cause),
    #[error("{0}")]
    Invalid(String),
    /// The run was asked to stop ([`crate::Cancel`]).
    #[error("cancelled")]
    Cancelled,
}

/// The error of a library Tidemark calls (the Parquet reader, the CSV reader, gzip, an Arrow
/// kernel), kept whole as the [source](std::error::Error::source) of an [`ErrorKind`] so a
/// caller can reach it (`downcast_ref`) instead of its text.
///
/// It is shared (`Arc`) because those libraries' errors are not `Clone` and Tidemark's errors
/// are: the faces copy them into reports and UI state. Two causes are equal when they say the
/// same thing (their messages), which is what tests compare.
///
/// ```
/// use tidemark_core::error::Cause;
/// let cause = Cause::new(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "truncated"));
/// assert_eq!(cause.to_string(), "truncated");
/// assert_eq!(
///     cause.downcast_ref::<std::io::Error>().map(|e| e.kind()),
///     Some(std::io::ErrorKind::UnexpectedEof)
/// );
/// ```
#[derive(Debug, Clone)]
pub struct Cause(Arc<dyn std::error::Error + Send + Sync + 'static>);

impl Cause {
    pub fn new(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Cause(Arc::new(error))
    }

    /// The library's error, if it is an `E`.
    pub fn downcast_ref<E: std::error::Error + 'static>(&self) -> Option<&E> {
        self.0.downcast_ref()
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Cause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl PartialEq for Cause {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.to_string() == other.to_string()
    }
}

/// An Arrow kernel's error as a Tidemark error.
impl From<arrow_schema::ArrowError> for ErrorKind {
    fn from(error: arrow_schema::ArrowError) -> Self {
        ErrorKind::Arrow(Cause::new(error))
    }
}

/// An Arrow kernel's error as a Tidemark error, without a place in the input.
impl From<arrow_schema::ArrowError> for Error {
    fn from(error: arrow_schema::ArrowError) -> Self {
        Error::new(error.into())
    }
}

/// The lengths of window the features accept, in days. The widest window worth having spans
/// every date a `YYYY-MM-DD` text can write, 0000-01-01 to 9999-12-31; any wider one selects the
/// same rows. It also keeps `as_of - window` far inside what dates can hold, so computing the
/// window's start cannot overflow. An empty window (0 days) is refused: it is a mistake, not a
/// feature.
pub const WINDOW_DAYS: std::ops::RangeInclusive<u32> = 1..=3_652_424;

/// How many characters of a value an error quotes: enough to recognise it, never a whole
/// 20 MB field.
pub const EXCERPT_CHARS: usize = 60;

/// A value as an error quotes it: in quotes with its special characters escaped, cut to its
/// first [`EXCERPT_CHARS`] characters followed by `…` and the value's full length in bytes.
/// Every error that shows a value from an input shows it through this.
///
/// ```
/// use tidemark_core::error::Excerpt;
/// assert_eq!(Excerpt("2021-02-30").to_string(), "\"2021-02-30\"");
/// let long = "9".repeat(100);
/// assert_eq!(Excerpt(&long).to_string(), format!("\"{}\"… (100 bytes)", &long[..60]));
/// assert_eq!(Excerpt("1.5").bare().to_string(), "1.5");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Excerpt<'a>(pub &'a str);

impl<'a> Excerpt<'a> {
    /// Without quotes, for values that are not text (numbers, keys already formatted).
    pub fn bare(self) -> BareExcerpt<'a> {
        BareExcerpt(self.0)
    }

    /// The value's first [`EXCERPT_CHARS`] characters, if it has more.
    fn cut(&self) -> Option<&'a str> {
        self.0
            .char_indices()
            .nth(EXCERPT_CHARS)
            .map(|(end, _)| &self.0[..end])
    }
}

impl fmt::Display for Excerpt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.cut() {
            None => write!(f, "{:?}", self.0),
            Some(prefix) => write!(f, "{prefix:?}… ({} bytes)", self.0.len()),
        }
    }
}

/// See [`Excerpt::bare`].
#[derive(Debug, Clone, Copy)]
pub struct BareExcerpt<'a>(&'a str);

impl fmt::Display for BareExcerpt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match Excerpt(self.0).cut() {
            None => f.write_str(self.0),
            Some(prefix) => write!(f, "{prefix}… ({} bytes)", self.0.len()),
        }
    }
}

/// An [`ErrorKind`] and, when known, the [`Location`] it was found at.
///
/// ```
/// use tidemark_core::{Error, ErrorKind, Location};
/// let err = Error::at(
///     Location::file("LOAD00000001.csv").row(3).column("last_login"),
///     ErrorKind::Parse { value: "2021-13-01".into(), expected: "a date (YYYY-MM-DD)" },
/// );
/// assert_eq!(
///     err.to_string(),
///     "LOAD00000001.csv, row 3, column `last_login`: cannot parse \"2021-13-01\" as a date (YYYY-MM-DD)"
/// );
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Error(Box<Inner>);

#[derive(Debug, Clone, PartialEq)]
struct Inner {
    location: Option<Location>,
    kind: ErrorKind,
}

impl Error {
    pub fn at(location: Location, kind: ErrorKind) -> Self {
        Error(Box::new(Inner {
            location: Some(location),
            kind,
        }))
    }

    pub fn new(kind: ErrorKind) -> Self {
        Error(Box::new(Inner {
            location: None,
            kind,
        }))
    }

    /// The same error, `rows` further down its file: for a part of a file decoded apart from
    /// the rows before it.
    pub(crate) fn rows_later(mut self, rows: u64) -> Self {
        if let Some(row) = self.0.location.as_mut().and_then(|l| l.row.as_mut()) {
            *row += rows;
        }
        self
    }

    pub fn kind(&self) -> &ErrorKind {
        &self.0.kind
    }

    pub fn location(&self) -> Option<&Location> {
        self.0.location.as_ref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0.location {
            Some(loc) => write!(f, "{loc}: {}", self.0.kind),
            None => write!(f, "{}", self.0.kind),
        }
    }
}

impl std::error::Error for Error {
    /// The library's error behind the problem, where there is one (the kind's message is
    /// already this error's).
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.0.kind)
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Error::new(kind)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
