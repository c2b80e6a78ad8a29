//! Queries over a result table, for reviewing a large change set: which rows a search and
//! filters select ([`select`]), in which order ([`order`]), and how many rows of the diff each
//! kind of change, source file and changed column accounts for ([`facets`]).
//!
//! One place for each rule, shared by every face (the desktop app, the browser module): the
//! faces hold a [`RowQuery`] in their state and show the row indices it gives. Filters become
//! boolean masks, and-ed: equality and ranges compare values in Arrow's row format (the order a
//! sort gives, for every type), text filters make one pass over the values cast to text; on a
//! dictionary column (cities, names) a filter reads each distinct value once, and a sort
//! compares their ranks.
//!
//! ```
//! use tidemark_core::review::{Filter, Rows, select};
//! # let (spec, snapshot, changes) = tidemark_core::review::doc_example();
//! let out = tidemark_core::pipeline::run(&spec, tidemark_core::pipeline::Inputs {
//!     snapshot, changes, ..Default::default() }, &Default::default(), &mut |_| {}).unwrap();
//! let diff = Rows::Diff(&out.diff);
//! // The seed touches keys 6, 8 and 9, and 133 to 139: "13" as a prefix finds seven of them.
//! assert_eq!(select(diff, &[Filter::key_prefix("13")]).unwrap().len(), 7);
//! assert_eq!(select(diff, &[Filter::key("9")]).unwrap().len(), 1);
//! ```

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{
    Array, ArrayRef, BooleanArray, RecordBatch, StringArray, UInt8Array, UInt32Array, UInt64Array,
};
use arrow_buffer::BooleanBuffer;
use arrow_row::{RowConverter, SortField};
use arrow_schema::{ArrowError, DataType, SortOptions};
use serde::{Deserialize, Serialize};

use crate::diff::{ChangeKind, Diff};
use crate::files::FileOrder;

/// The rows a query runs over: a table (the enriched table, the snapshot) with its key
/// columns, or the diff.
#[derive(Debug, Clone, Copy)]
pub enum Rows<'a> {
    Table {
        batch: &'a RecordBatch,
        key: &'a [String],
    },
    Diff(&'a Diff),
}

impl Rows<'_> {
    /// How many rows there are.
    pub fn len(&self) -> usize {
        match self {
            Rows::Table { batch, .. } => batch.num_rows(),
            Rows::Diff(diff) => diff.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Which of a column's values a filter or a sort reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// A table's column; in the diff, a key column, or the value a row shows: after the run,
    /// or before it for a deleted key.
    #[default]
    Shown,
    /// The diff's value before the run (null where the key did not exist).
    Before,
    /// The diff's value after the run (null where the key does not exist).
    After,
}

/// A column of the rows queried, by name, and which of its values.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ColumnRef {
    pub name: String,
    #[serde(default)]
    pub side: Side,
}

impl ColumnRef {
    /// A table's column, a diff's key column, or the value the diff shows.
    pub fn shown(name: impl Into<String>) -> ColumnRef {
        ColumnRef {
            name: name.into(),
            side: Side::Shown,
        }
    }

    pub fn before(name: impl Into<String>) -> ColumnRef {
        ColumnRef {
            name: name.into(),
            side: Side::Before,
        }
    }

    pub fn after(name: impl Into<String>) -> ColumnRef {
        ColumnRef {
            name: name.into(),
            side: Side::After,
        }
    }
}

/// One condition on a row. A query's filters all hold for the rows it selects.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "filter", rename_all = "snake_case")]
pub enum Filter {
    /// The key is `text`: its values as text, separated by commas for a composite key,
    /// ignoring spaces around them and ASCII case. With `prefix`, the last value typed only
    /// has to start the key's value (`13` finds 13, 130 and 1375).
    Key { text: String, prefix: bool },
    /// The column's value, as text, contains `text` (ignoring ASCII case).
    Contains { column: ColumnRef, text: String },
    /// The column's value is `value`, read as the column's type.
    Equals { column: ColumnRef, value: String },
    /// The column's value is within `min ..= max` (either may be left out), the bounds read
    /// as the column's type; dates are YYYY-MM-DD, and a date as `max` of a timestamp column
    /// includes that whole day.
    Range {
        column: ColumnRef,
        min: Option<String>,
        max: Option<String>,
    },
    /// The diff's rows of one kind of change.
    Kind {
        #[serde(with = "kind_name")]
        kind: ChangeKind,
    },
    /// The diff's rows whose last change came from `file` (as the diff names it).
    SourceFile { file: String },
    /// The diff's rows where `column` changed (updates).
    Changed { column: String },
}

impl Filter {
    /// The key is exactly `text` (see [`Filter::Key`]).
    pub fn key(text: impl Into<String>) -> Filter {
        Filter::Key {
            text: text.into(),
            prefix: false,
        }
    }

    /// The key starts with `text` (see [`Filter::Key`]).
    pub fn key_prefix(text: impl Into<String>) -> Filter {
        Filter::Key {
            text: text.into(),
            prefix: true,
        }
    }

    /// Which facet the filter narrows, if it is one of the diff's facets.
    fn facet(&self) -> Option<Facet> {
        match self {
            Filter::Kind { .. } => Some(Facet::Kind),
            Filter::SourceFile { .. } => Some(Facet::SourceFile),
            Filter::Changed { .. } => Some(Facet::Changed),
            _ => None,
        }
    }
}

/// The filter for the rows of a name the lookup did not find (the report's `unmatched`): the
/// column the lookup reads, the spec's feature group (`city`), equal to it. `None` without
/// features. The faces offer it on a click on the name.
///
/// ```
/// use tidemark_core::review::{ColumnRef, Filter, unmatched_rows};
/// let filter = unmatched_rows(&tidemark_core::TableSpec::users(), "Sprngfield");
/// let city = Filter::Equals { column: ColumnRef::shown("city"), value: "Sprngfield".into() };
/// assert_eq!(filter, Some(city));
/// ```
pub fn unmatched_rows(spec: &crate::TableSpec, name: &str) -> Option<Filter> {
    let group = &spec.features.as_ref()?.group;
    Some(Filter::Equals {
        column: ColumnRef::shown(group.clone()),
        value: name.to_string(),
    })
}

/// What rows can be ordered by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortBy {
    /// A column's values (nulls last either way).
    Column(ColumnRef),
    /// The diff's kind of change, in the order of [`ChangeKind::ALL`].
    Kind,
    /// The diff's source file of each key's last change, in the order files apply in, then
    /// its row.
    Source,
    /// How many changes were applied to the diff's key.
    Changes,
    /// The sequence value of the diff's key's last change.
    Sequence,
}

/// An order: what by, and which way. Ties keep the rows' own order either way.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Sort {
    pub by: SortBy,
    #[serde(default)]
    pub descending: bool,
}

/// Filters and an order: what a face's search box, column filters, facets and sortable
/// headers together ask for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RowQuery {
    #[serde(default)]
    pub filters: Vec<Filter>,
    #[serde(default)]
    pub sort: Option<Sort>,
}

/// Why a query cannot run. Its words are for the user: they name what they typed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    #[error("there is no column `{0}`")]
    UnknownColumn(String),
    #[error("`{column}` has no value {value:?}: {reason}")]
    BadValue {
        column: String,
        value: String,
        reason: String,
    },
    #[error("the key has {expected} value{}, not {given}", if *expected == 1 { "" } else { "s" })]
    KeyLength { expected: usize, given: usize },
    #[error("{0} applies to the diff only")]
    DiffOnly(&'static str),
    #[error("cannot compare `{column}`: {reason}")]
    Unsupported { column: String, reason: String },
}

pub type Result<T, E = QueryError> = std::result::Result<T, E>;

/// The rows (indices, ascending) for which every filter holds.
///
/// ```
/// use tidemark_core::review::{ColumnRef, Filter, Rows, select};
/// use arrow_array::{Int64Array, RecordBatch, StringArray};
/// use std::sync::Arc;
/// let batch = RecordBatch::try_from_iter([
///     ("id", Arc::new(Int64Array::from(vec![1, 12, 2])) as _),
///     ("city", Arc::new(StringArray::from(vec!["Denver", "Dallas", "Austin"])) as _),
/// ]).unwrap();
/// let key = ["id".to_string()];
/// let rows = Rows::Table { batch: &batch, key: &key };
/// assert_eq!(select(rows, &[Filter::key_prefix("1")]).unwrap(), [0, 1]);
/// let contains = Filter::Contains { column: ColumnRef::shown("city"), text: "D".into() };
/// let at_most = Filter::Range { column: ColumnRef::shown("id"), min: None, max: Some("10".into()) };
/// assert_eq!(select(rows, &[contains, at_most]).unwrap(), [0]);
/// ```
pub fn select(rows: Rows, filters: &[Filter]) -> Result<Vec<u32>> {
    let n = rows.len();
    let mut selected = BooleanBuffer::new_set(n);
    for filter in filters {
        selected = &selected & &mask(rows, filter)?;
    }
    Ok(selected.set_indices().map(|i| i as u32).collect())
}

/// `selected` in the order of `sort` (nulls last either way; ties in the rows' own order).
///
/// ```
/// use tidemark_core::review::{ColumnRef, Rows, Sort, SortBy, order};
/// use arrow_array::{Int64Array, RecordBatch};
/// use std::sync::Arc;
/// let batch = RecordBatch::try_from_iter([
///     ("x", Arc::new(Int64Array::from(vec![Some(2), None, Some(1), Some(2)])) as _),
/// ]).unwrap();
/// let rows = Rows::Table { batch: &batch, key: &[] };
/// let by_x = |descending| Sort { by: SortBy::Column(ColumnRef::shown("x")), descending };
/// assert_eq!(order(rows, vec![0, 1, 2, 3], &by_x(false)).unwrap(), [2, 0, 3, 1]);
/// assert_eq!(order(rows, vec![0, 1, 2, 3], &by_x(true)).unwrap(), [0, 3, 2, 1]);
/// ```
pub fn order(rows: Rows, selected: Vec<u32>, sort: &Sort) -> Result<Vec<u32>> {
    let columns = sort_columns(rows, &sort.by)?;
    let options = SortOptions {
        descending: sort.descending,
        nulls_first: false,
    };
    // The row format (which the core's key handling uses) compares several columns at once
    // and keeps the browser module small.
    let fields = columns
        .iter()
        .map(|c| SortField::new_with_options(c.data_type().clone(), options))
        .collect();
    let unsupported = |e: ArrowError| QueryError::Unsupported {
        column: sort_name(&sort.by),
        reason: e.to_string(),
    };
    let converter = RowConverter::new(fields).map_err(unsupported)?;
    let converted = converter.convert_columns(&columns).map_err(unsupported)?;
    // Each row by the first eight bytes of its row format, as an integer, with its place: an
    // unstable (parallel) sort of the pairs orders them by those bytes and keeps ties in order;
    // rows whose first eight bytes tie are then ordered by the rest, unless every row is one
    // length of at most eight bytes (dates, ranks of a dictionary's values: the integer is the
    // whole row). A sort of 16-byte pairs, not of byte strings: 3x faster on a million dates.
    let (mut shortest, mut longest) = (usize::MAX, 0);
    let mut keyed: Vec<(u64, u32)> = selected
        .iter()
        .map(|&row| {
            let bytes = converted.row(row as usize);
            let bytes = bytes.as_ref();
            (shortest, longest) = (shortest.min(bytes.len()), longest.max(bytes.len()));
            (first_bytes(bytes), row)
        })
        .collect();
    crate::par::sort_unstable(&mut keyed);
    if !(shortest == longest && longest <= 8) {
        for tied in keyed.chunk_by_mut(|a, b| a.0 == b.0) {
            if tied.len() > 1 {
                tied.sort_by(|a, b| {
                    let row = |r: u32| converted.row(r as usize);
                    row(a.1).cmp(&row(b.1)).then(a.1.cmp(&b.1))
                });
            }
        }
    }
    Ok(keyed.into_iter().map(|(_, row)| row).collect())
}

/// The first eight bytes of a row in Arrow's row format (zero-padded), as an integer that
/// orders rows as their bytes do, up to ties.
fn first_bytes(row: &[u8]) -> u64 {
    let mut first = [0u8; 8];
    let n = row.len().min(8);
    first[..n].copy_from_slice(&row[..n]);
    u64::from_be_bytes(first)
}

/// The rows a query selects, in its order.
pub fn run(rows: Rows, query: &RowQuery) -> Result<Vec<u32>> {
    let selected = select(rows, &query.filters)?;
    match &query.sort {
        Some(sort) => order(rows, selected, sort),
        None => Ok(selected),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Facet {
    Kind,
    SourceFile,
    Changed,
}

/// How many of the diff's rows each value of a facet accounts for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FacetCount<T> {
    pub value: T,
    pub count: usize,
}

/// The diff's facets for a query's filters: per kind of change, per source file and per
/// changed column, how many rows the filters select. Each facet is counted with every filter
/// but its own, so that its other values say what choosing them would show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Facets {
    /// Every kind, in the order of [`ChangeKind::ALL`].
    #[serde(serialize_with = "kind_counts")]
    pub kinds: Vec<FacetCount<ChangeKind>>,
    /// The files that rows' last changes came from, in the order files apply in.
    pub files: Vec<FacetCount<String>>,
    /// Every compared column, in table order.
    pub changed: Vec<FacetCount<String>>,
}

/// Counts the diff's facets (see [`Facets`]).
///
/// ```
/// use tidemark_core::ChangeKind;
/// use tidemark_core::review::{Filter, facets};
/// # let (spec, snapshot, changes) = tidemark_core::review::doc_example();
/// # let out = tidemark_core::pipeline::run(&spec, tidemark_core::pipeline::Inputs {
/// #     snapshot, changes, ..Default::default() }, &Default::default(), &mut |_| {}).unwrap();
/// let updated = Filter::Kind { kind: ChangeKind::Updated };
/// let counts = facets(&out.diff, &[updated]).unwrap();
/// // The kinds are counted without the kind filter; the rest within it.
/// assert_eq!(counts.kinds[0].count, 7);
/// assert_eq!(counts.files.iter().map(|f| f.count).sum::<usize>(), 3);
/// ```
pub fn facets(diff: &Diff, filters: &[Filter]) -> Result<Facets> {
    let rows = Rows::Diff(diff);
    let without = |facet: Facet| -> Result<Vec<u32>> {
        let others: Vec<Filter> = filters
            .iter()
            .filter(|f| f.facet() != Some(facet))
            .cloned()
            .collect();
        select(rows, &others)
    };

    let mut kinds: Vec<FacetCount<ChangeKind>> = ChangeKind::ALL
        .iter()
        .map(|&value| FacetCount { value, count: 0 })
        .collect();
    for row in without(Facet::Kind)? {
        kinds[kind_rank(diff.kind(row as usize)) as usize].count += 1;
    }

    let files = diff.source_files();
    let mut by_file: hashbrown::HashMap<&str, usize> = hashbrown::HashMap::new();
    for row in without(Facet::SourceFile)? {
        *by_file.entry(files.value(row as usize)).or_default() += 1;
    }
    let mut by_file: Vec<(&str, usize)> = by_file.into_iter().collect();
    by_file.sort_by_key(|(name, _)| FileOrder::of(name));
    let files = by_file
        .into_iter()
        .map(|(name, count)| FacetCount {
            value: name.to_string(),
            count,
        })
        .collect();

    let columns = diff.value_columns();
    let mut changed: Vec<FacetCount<String>> = columns
        .iter()
        .map(|c| FacetCount {
            value: c.clone(),
            count: 0,
        })
        .collect();
    for row in without(Facet::Changed)? {
        for name in diff.changed_columns(row as usize) {
            if let Some(i) = columns.iter().position(|c| c == name) {
                changed[i].count += 1;
            }
        }
    }
    Ok(Facets {
        kinds,
        files,
        changed,
    })
}

/// The rows for which `filter` holds, as a mask.
fn mask(rows: Rows, filter: &Filter) -> Result<BooleanBuffer> {
    let n = rows.len();
    match filter {
        Filter::Key { text, prefix } => key_mask(rows, text, *prefix),
        Filter::Contains { column, text } => {
            let needle = text.trim().as_bytes();
            per_value(column_values(rows, column)?, |values| {
                Ok(text_mask(&text_of(values, &column.name)?, |value| {
                    needle.is_empty()
                        || value
                            .as_bytes()
                            .windows(needle.len())
                            .any(|w| w.eq_ignore_ascii_case(needle))
                }))
            })
        }
        Filter::Equals { column, value } => per_value(column_values(rows, column)?, |values| {
            let value = typed_value(values, &column.name, value.trim())?;
            let ordered = Ordered::of(values, &column.name)?;
            let value = ordered.bound(&value)?;
            Ok(ordered.mask(|row| row == value.row(0)))
        }),
        Filter::Range { column, min, max } => {
            per_value(column_values(rows, column)?, |values| {
                let min = bound_text(min)
                    .map(|min| typed_value(values, &column.name, min))
                    .transpose()?;
                // A date as the upper end of a timestamp range: before the next day.
                let (max, inclusive) = match bound_text(max) {
                    None => (None, true),
                    Some(max) => match day_after(values.data_type(), max) {
                        Some(next) => (Some(typed_value(values, &column.name, &next)?), false),
                        None => (Some(typed_value(values, &column.name, max)?), true),
                    },
                };
                let ordered = Ordered::of(values, &column.name)?;
                let min = min.map(|m| ordered.bound(&m)).transpose()?;
                let max = max.map(|m| ordered.bound(&m)).transpose()?;
                Ok(ordered.mask(|row| {
                    min.as_ref().is_none_or(|min| row >= min.row(0))
                        && max.as_ref().is_none_or(|max| {
                            let bound = max.row(0);
                            if inclusive { row <= bound } else { row < bound }
                        })
                }))
            })
        }
        Filter::Kind { kind } => {
            let diff = diff_only(rows, "a kind of change")?;
            Ok(BooleanBuffer::collect_bool(n, |row| {
                diff.kind(row) == *kind
            }))
        }
        Filter::SourceFile { file } => {
            let diff = diff_only(rows, "a source file")?;
            Ok(text_mask(diff.source_files(), |name| name == file))
        }
        Filter::Changed { column } => {
            let diff = diff_only(rows, "a changed column")?;
            if !diff.value_columns().contains(column) {
                return Err(QueryError::UnknownColumn(column.clone()));
            }
            Ok(BooleanBuffer::collect_bool(n, |row| {
                diff.changed_columns(row).any(|c| c == column)
            }))
        }
    }
}

fn diff_only<'a>(rows: Rows<'a>, what: &'static str) -> Result<&'a Diff> {
    match rows {
        Rows::Diff(diff) => Ok(diff),
        Rows::Table { .. } => Err(QueryError::DiffOnly(what)),
    }
}

/// A range's bound as typed, unless left empty.
fn bound_text(text: &Option<String>) -> Option<&str> {
    text.as_deref().map(str::trim).filter(|t| !t.is_empty())
}

/// A column's values in Arrow's row format, which orders every type the way a sort does: one
/// comparison rule for equality and ranges of any type (and one the browser module already
/// carries for sorting, rather than a comparison kernel per type).
struct Ordered<'a> {
    column: &'a str,
    converter: RowConverter,
    rows: arrow_row::Rows,
    nulls: Option<arrow_buffer::NullBuffer>,
}

impl<'a> Ordered<'a> {
    fn of(values: &ArrayRef, column: &'a str) -> Result<Ordered<'a>> {
        let unsupported = |e: ArrowError| QueryError::Unsupported {
            column: column.to_string(),
            reason: e.to_string(),
        };
        let converter = RowConverter::new(vec![SortField::new(values.data_type().clone())])
            .map_err(unsupported)?;
        let rows = converter
            .convert_columns(std::slice::from_ref(values))
            .map_err(unsupported)?;
        Ok(Ordered {
            column,
            converter,
            rows,
            nulls: values.logical_nulls(),
        })
    }

    /// A one-value array of the column's type (a bound) in the same row format.
    fn bound(&self, value: &ArrayRef) -> Result<arrow_row::Rows> {
        self.converter
            .convert_columns(std::slice::from_ref(value))
            .map_err(|e| QueryError::Unsupported {
                column: self.column.to_string(),
                reason: e.to_string(),
            })
    }

    /// The rows whose value passes `test`; a null value never does.
    fn mask(&self, test: impl Fn(arrow_row::Row<'_>) -> bool) -> BooleanBuffer {
        BooleanBuffer::collect_bool(self.rows.num_rows(), |i| {
            self.nulls.as_ref().is_none_or(|n| n.is_valid(i)) && test(self.rows.row(i))
        })
    }
}

fn text_mask(values: &StringArray, test: impl Fn(&str) -> bool) -> BooleanBuffer {
    let nulls = values.logical_nulls();
    BooleanBuffer::collect_bool(values.len(), |row| {
        nulls.as_ref().is_none_or(|n| n.is_valid(row)) && test(values.value(row))
    })
}

fn key_mask(rows: Rows, text: &str, prefix: bool) -> Result<BooleanBuffer> {
    let keys: Vec<ArrayRef> = match rows {
        Rows::Table { batch, key } => key
            .iter()
            .map(|name| {
                batch
                    .column_by_name(name)
                    .cloned()
                    .ok_or_else(|| QueryError::UnknownColumn(name.clone()))
            })
            .collect::<Result<_>>()?,
        Rows::Diff(diff) => diff.keys().to_vec(),
    };
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let n = rows.len();
    if parts.iter().all(|p| p.is_empty()) {
        return Ok(BooleanBuffer::new_set(n));
    }
    // A prefix may stop part-way through a composite key: `7, 1` finds (7, 12).
    if parts.len() > keys.len() || (!prefix && parts.len() < keys.len()) {
        return Err(QueryError::KeyLength {
            expected: keys.len(),
            given: parts.len(),
        });
    }
    let mut selected = BooleanBuffer::new_set(n);
    let last = parts.len() - 1;
    for (i, (part, column)) in parts.iter().zip(&keys).enumerate() {
        let starts = prefix && i == last;
        if !starts && !is_text(column.data_type()) {
            // A whole number, date or time compared as one: no text made per row. Text that
            // is no value of the key's type is no key.
            let matches = match typed_value(column, "the key", part) {
                Ok(value) => {
                    let ordered = Ordered::of(column, "the key")?;
                    let value = ordered.bound(&value)?;
                    ordered.mask(|row| row == value.row(0))
                }
                Err(_) => BooleanBuffer::new_unset(n),
            };
            selected = &selected & &matches;
            continue;
        }
        let values = text_of(column, "the key")?;
        let part = part.as_bytes();
        let matches = text_mask(&values, |value| {
            let value = value.as_bytes();
            if starts {
                value.len() >= part.len() && value[..part.len()].eq_ignore_ascii_case(part)
            } else {
                value.eq_ignore_ascii_case(part)
            }
        });
        selected = &selected & &matches;
    }
    Ok(selected)
}

fn is_text(data_type: &DataType) -> bool {
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, values) => is_text(values),
        _ => false,
    }
}

/// A column's values as text, as Arrow casts them.
fn text_of(values: &ArrayRef, column: &str) -> Result<StringArray> {
    let text = arrow_cast::cast(values, &DataType::Utf8).map_err(|e| QueryError::Unsupported {
        column: column.to_string(),
        reason: e.to_string(),
    })?;
    Ok(text.as_string::<i32>().clone())
}

/// `text` read as the type of `values`: a one-value array, for a comparison kernel.
fn typed_value(values: &ArrayRef, column: &str, text: &str) -> Result<ArrayRef> {
    let bad = |reason: String| QueryError::BadValue {
        column: column.to_string(),
        value: text.to_string(),
        reason,
    };
    let given: ArrayRef = Arc::new(StringArray::from(vec![text]));
    let options = arrow_cast::CastOptions {
        safe: false,
        ..Default::default()
    };
    arrow_cast::cast_with_options(&given, values.data_type(), &options)
        .map_err(|e| bad(e.to_string()))
}

/// For a timestamp or date column and a YYYY-MM-DD date, the next day's date.
fn day_after(data_type: &DataType, text: &str) -> Option<String> {
    if !matches!(
        data_type,
        DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64
    ) {
        return None;
    }
    let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some(date.succ_opt()?.format("%Y-%m-%d").to_string())
}

/// A column's values as a row shows them (a dictionary stays one: see [`per_value`]).
fn column_values(rows: Rows, column: &ColumnRef) -> Result<ArrayRef> {
    let unknown = || QueryError::UnknownColumn(column.name.clone());
    match (rows, column.side) {
        (Rows::Table { batch, .. }, Side::Shown) => batch
            .column_by_name(&column.name)
            .cloned()
            .ok_or_else(unknown),
        (Rows::Table { .. }, _) => Err(QueryError::DiffOnly("a value before or after")),
        (Rows::Diff(diff), Side::Before) => diff.before(&column.name).cloned().ok_or_else(unknown),
        (Rows::Diff(diff), Side::After) => diff.after(&column.name).cloned().ok_or_else(unknown),
        (Rows::Diff(diff), Side::Shown) => shown(diff, &column.name),
    }
}

/// The rows of `values` that pass a filter, the filter (`test`, a mask over the array it is
/// given) run once per distinct value when `values` is a dictionary: a million cities are a few
/// thousand names, so a filter on them answers without reading a string per row.
fn per_value(
    values: ArrayRef,
    test: impl FnOnce(&ArrayRef) -> Result<BooleanBuffer>,
) -> Result<BooleanBuffer> {
    let Some(dictionary) = values.as_any_dictionary_opt() else {
        return test(&values);
    };
    let passes = test(dictionary.values())?;
    let keys = dictionary.normalized_keys();
    let nulls = dictionary.keys().logical_nulls();
    Ok(BooleanBuffer::collect_bool(values.len(), |row| {
        nulls.as_ref().is_none_or(|n| n.is_valid(row)) && passes.value(keys[row])
    }))
}

/// A dictionary's rows as the dense rank of their value among its values (equal values, even
/// stored twice, share a rank): a sort compares one integer per row instead of a string.
fn dictionary_ranks(
    dictionary: &dyn arrow_array::AnyDictionaryArray,
) -> std::result::Result<ArrayRef, ArrowError> {
    let values = dictionary.values();
    let converter = RowConverter::new(vec![SortField::new(values.data_type().clone())])?;
    let converted = converter.convert_columns(std::slice::from_ref(values))?;
    let mut by_value: Vec<u32> = (0..values.len() as u32).collect();
    by_value.sort_unstable_by(|&a, &b| converted.row(a as usize).cmp(&converted.row(b as usize)));
    let mut rank = vec![0u32; values.len()];
    for pair in by_value.windows(2) {
        let [previous, this] = [pair[0] as usize, pair[1] as usize];
        rank[this] = rank[previous] + u32::from(converted.row(previous) != converted.row(this));
    }
    let keys = dictionary.normalized_keys();
    let nulls = dictionary.logical_nulls();
    Ok(Arc::new(UInt32Array::from_iter((0..keys.len()).map(
        |row| {
            nulls
                .as_ref()
                .is_none_or(|n| n.is_valid(row))
                .then(|| rank[keys[row]])
        },
    ))))
}

/// A key column of the diff, or a compared column's value as a row shows it: after the run,
/// before it for a deleted key.
fn shown(diff: &Diff, name: &str) -> Result<ArrayRef> {
    let schema = diff.rows.schema();
    if let Some(i) = (0..diff.keys().len()).find(|&i| schema.field(1 + i).name() == name) {
        return Ok(diff.keys()[i].clone());
    }
    let (Some(before), Some(after)) = (diff.before(name), diff.after(name)) else {
        return Err(QueryError::UnknownColumn(name.to_string()));
    };
    let deleted =
        BooleanArray::from_iter((0..diff.len()).map(|r| Some(diff.kind(r) == ChangeKind::Deleted)));
    arrow_select::zip::zip(&deleted, before, after).map_err(|e| QueryError::Unsupported {
        column: name.to_string(),
        reason: e.to_string(),
    })
}

fn sort_name(by: &SortBy) -> String {
    match by {
        SortBy::Column(c) => c.name.clone(),
        SortBy::Kind => "the kind of change".into(),
        SortBy::Source => "the source".into(),
        SortBy::Changes => "the number of changes".into(),
        SortBy::Sequence => "the sequence".into(),
    }
}

/// The columns whose values, compared in turn, give the order of `by`.
fn sort_columns(rows: Rows, by: &SortBy) -> Result<Vec<ArrayRef>> {
    let diff = match (by, rows) {
        (SortBy::Column(column), rows) => {
            let values = column_values(rows, column)?;
            return Ok(vec![match values.as_any_dictionary_opt() {
                Some(dictionary) => {
                    dictionary_ranks(dictionary).map_err(|e| QueryError::Unsupported {
                        column: column.name.clone(),
                        reason: e.to_string(),
                    })?
                }
                None => values,
            }]);
        }
        (_, Rows::Diff(diff)) => diff,
        (_, Rows::Table { .. }) => return Err(QueryError::DiffOnly("this order")),
    };
    let n = diff.len();
    Ok(match by {
        SortBy::Column(_) => unreachable!("handled above"),
        SortBy::Kind => vec![Arc::new(UInt8Array::from_iter_values(
            (0..n).map(|r| kind_rank(diff.kind(r))),
        ))],
        SortBy::Changes => vec![Arc::new(UInt32Array::from_iter_values(
            (0..n).map(|r| diff.changes_applied(r)),
        ))],
        SortBy::Source => {
            // Files in the order they apply in, then rows.
            let files = diff.source_files();
            let distinct: hashbrown::HashSet<&str> = files.iter().flatten().collect();
            let mut names: Vec<&str> = distinct.into_iter().collect();
            names.sort_by_key(|name| FileOrder::of(name));
            let ranks: hashbrown::HashMap<&str, u32> = names
                .iter()
                .enumerate()
                .map(|(i, &n)| (n, i as u32))
                .collect();
            let rank = |name: &str| ranks[name];
            vec![
                Arc::new(UInt32Array::from_iter_values(
                    (0..n).map(|r| rank(files.value(r))),
                )) as ArrayRef,
                Arc::new(UInt64Array::from_iter_values(
                    (0..n).map(|r| diff.source(r).row),
                )),
            ]
        }
        SortBy::Sequence => vec![
            diff.source_sequence()
                .cloned()
                .ok_or_else(|| QueryError::UnknownColumn("source_sequence".into()))?,
        ],
    })
}

fn kind_rank(kind: ChangeKind) -> u8 {
    ChangeKind::ALL
        .iter()
        .position(|&k| k == kind)
        .expect("every kind is in ALL") as u8
}

/// Kinds by the names of the diff's `change` column.
mod kind_name {
    use super::ChangeKind;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(kind: &ChangeKind, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(kind.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ChangeKind, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

fn kind_counts<S: serde::Serializer>(
    counts: &[FacetCount<ChangeKind>],
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = s.serialize_seq(Some(counts.len()))?;
    for c in counts {
        seq.serialize_element(&FacetCount {
            value: c.value.as_str(),
            count: c.count,
        })?;
    }
    seq.end()
}

/// The seed example's spec and files, for the examples above.
#[doc(hidden)]
pub fn doc_example() -> (
    crate::TableSpec,
    Vec<crate::InputFile>,
    Vec<crate::InputFile>,
) {
    let seed = crate::example::seed();
    (crate::TableSpec::users(), seed.snapshot, seed.changes)
}

#[cfg(test)]
mod tests;
