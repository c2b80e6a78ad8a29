//! A review: one run of the core over a session, plus what the views need to show it fast
//! (the diff's rows per filter, its keys as text, sort orders), all computed off the UI thread.

use std::time::{Duration, Instant};

use arrow_array::cast::AsArray;
use arrow_array::types::UInt64Type;
use arrow_array::{Array, ArrayRef, RecordBatch, UInt32Array};
use arrow_cast::display::ArrayFormatter;
use tidemark_core::Cancel;
use tidemark_core::diff::ChangeKind;
use tidemark_core::history;
use tidemark_core::pipeline::{self, Options, Stage};
use tidemark_core::review::{self, ColumnRef, Facets, Filter, QueryError, Rows, Sort, SortBy};
use tidemark_core::versions::{VERSION_FILE_COLUMN, VERSION_ROW_COLUMN};

use crate::app::Problem;
use crate::session::{Session, short_name};

/// Which touched keys the diff view shows: all, or those of one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DiffFilter {
    All,
    Inserted,
    Updated,
    Deleted,
    Unchanged,
    InsertedAndDeleted,
}

impl DiffFilter {
    pub const EVERY: [DiffFilter; 6] = [
        DiffFilter::All,
        DiffFilter::Inserted,
        DiffFilter::Updated,
        DiffFilter::Deleted,
        DiffFilter::Unchanged,
        DiffFilter::InsertedAndDeleted,
    ];

    /// The kind of change it admits (every kind: none).
    pub fn kind(self) -> Option<ChangeKind> {
        match self {
            DiffFilter::All => None,
            DiffFilter::Inserted => Some(ChangeKind::Inserted),
            DiffFilter::Updated => Some(ChangeKind::Updated),
            DiffFilter::Deleted => Some(ChangeKind::Deleted),
            DiffFilter::Unchanged => Some(ChangeKind::Unchanged),
            DiffFilter::InsertedAndDeleted => Some(ChangeKind::InsertedAndDeleted),
        }
    }

    /// The kind's label, as the core names it.
    pub fn label(self) -> &'static str {
        self.kind().map_or("All", ChangeKind::label)
    }

    /// What the filter shows, for its tooltip: the kind's meaning, as the core says it.
    pub fn meaning(self) -> &'static str {
        self.kind()
            .map_or("Every key the changes touched.", ChangeKind::meaning)
    }

    /// The core's filter for the kind, if it is one.
    pub fn filter(self) -> Option<Filter> {
        self.kind().map(|kind| Filter::Kind { kind })
    }
}

/// How a column filter of the filter bar compares a column's values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum FilterOp {
    #[default]
    Contains,
    Equals,
    Range,
}

impl FilterOp {
    pub const EVERY: [FilterOp; 3] = [FilterOp::Contains, FilterOp::Equals, FilterOp::Range];

    pub fn label(self) -> &'static str {
        match self {
            FilterOp::Contains => "contains",
            FilterOp::Equals => "equals",
            FilterOp::Range => "between",
        }
    }
}

/// A column filter as the filter bar holds it while it is written: the column, which of its
/// values (the one the diff shows, before the run or after it), how to compare, and the text
/// typed (`max` for a range's upper end).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnFilter {
    pub column: String,
    pub side: review::Side,
    pub op: FilterOp,
    pub text: String,
    pub max: String,
}

impl ColumnFilter {
    /// The core's filter, once a column and a value are given.
    pub fn to_filter(&self) -> Option<Filter> {
        let column = ColumnRef {
            name: self.column.trim().to_string(),
            side: self.side,
        };
        let given = |text: &str| Some(text.trim().to_string()).filter(|t| !t.is_empty());
        if column.name.is_empty() {
            return None;
        }
        match self.op {
            FilterOp::Contains => Some(Filter::Contains {
                column,
                text: given(&self.text)?,
            }),
            FilterOp::Equals => Some(Filter::Equals {
                column,
                value: given(&self.text)?,
            }),
            FilterOp::Range => {
                let (min, max) = (given(&self.text), given(&self.max));
                (min.is_some() || max.is_some()).then_some(Filter::Range { column, min, max })
            }
        }
    }

    /// Ready for the next filter on the same column.
    pub fn clear_values(&mut self) {
        self.text.clear();
        self.max.clear();
    }
}

/// Which value of a compared column a filter reads, in words for the filter bar.
pub fn side_label(side: review::Side) -> &'static str {
    match side {
        review::Side::Shown => "value shown",
        review::Side::Before => "value before",
        review::Side::After => "value after",
    }
}

/// What each side means, for its tooltip.
pub fn side_meaning(side: review::Side) -> &'static str {
    match side {
        review::Side::Shown => {
            "The value the row shows: after the run, before it for a deleted key"
        }
        review::Side::Before => "The value before the run (none for an inserted key)",
        review::Side::After => "The value after the run (none for a deleted key)",
    }
}

/// A filter in words, for its chip in the filter bar.
pub fn describe(filter: &Filter) -> String {
    let side = |c: &ColumnRef| match c.side {
        review::Side::Shown => c.name.clone(),
        review::Side::Before => format!("{} before", c.name),
        review::Side::After => format!("{} after", c.name),
    };
    match filter {
        Filter::Key { text, prefix: true } => format!("key starts with {text}"),
        Filter::Key { text, .. } => format!("key {text}"),
        Filter::Contains { column, text } => format!("{} contains {text:?}", side(column)),
        Filter::Equals { column, value } => format!("{} = {value}", side(column)),
        Filter::Range { column, min, max } => format!(
            "{} in {} … {}",
            side(column),
            min.as_deref().unwrap_or(""),
            max.as_deref().unwrap_or("")
        ),
        Filter::Kind { kind } => kind.label().to_string(),
        Filter::SourceFile { file } => format!("from {}", short_name(file)),
        Filter::Changed { column } => format!("{column} changed"),
    }
}

/// How long each part of a review took.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timings {
    /// Reading the files from disk (when they came from disk).
    pub read: Duration,
    /// Decode, apply, enrich: `pipeline::run`.
    pub run: Duration,
    /// The views' indexes.
    pub prepare: Duration,
}

#[derive(Debug)]
pub struct Review {
    pub output: pipeline::Output,
    /// The table's key columns, in spec order.
    pub key_columns: Vec<String>,
    /// The other columns, each with a `before_` and an `after_` column in the diff.
    pub value_columns: Vec<String>,
    /// Whether the changes carried a sequence (then the diff shows it).
    pub has_sequence: bool,
    pub timings: Timings,
}

/// A review, the session it was computed from, and the change files it left out because the
/// core could not read them (each with the core's problem: its file, row and column).
pub struct Reviewed {
    pub session: Session,
    pub review: Review,
    pub left_out: Vec<(String, Problem)>,
}

/// Where a review is, as a fraction and words for the progress bar.
pub type ProgressFn<'a> = &'a mut dyn FnMut(f32, String);

impl Review {
    /// Runs the core over the session and indexes the result for the views.
    /// Runs the pipeline on `session`; `cancel` stops it part-way (a newer job, Cancel).
    pub fn compute(
        session: &Session,
        progress: ProgressFn,
        cancel: Cancel,
    ) -> Result<Review, Problem> {
        let total_bytes = session.input_bytes().max(1) as f32;
        let mut decoded_bytes = 0usize;
        let mut on_stage = |stage: Stage| match stage {
            Stage::Decode {
                file,
                index,
                total,
                bytes,
            } => {
                let done = decoded_bytes as f32 / total_bytes;
                decoded_bytes += bytes;
                progress(
                    0.05 + 0.6 * done,
                    format!("Decoding {} ({} of {total})", short_name(file), index + 1),
                );
            }
            Stage::Apply => progress(0.65, "Applying the changes".into()),
            Stage::Enrich => progress(0.8, "Computing the features".into()),
            Stage::Done => progress(0.9, "Preparing the review".into()),
        };
        let options = Options {
            cancel,
            ..session.pipeline_options()?
        };
        let started = Instant::now();
        let output = pipeline::run(
            &session.spec,
            session.pipeline_inputs(),
            &options,
            &mut on_stage,
        )?;
        let run = started.elapsed();

        let started = Instant::now();
        let mut review = Review::index(session, output).map_err(Problem::from)?;
        review.timings = Timings {
            read: Duration::ZERO,
            run,
            prepare: started.elapsed(),
        };
        Ok(review)
    }

    /// Runs the pipeline on `session` as [`Review::compute`] does, but a change file the core
    /// cannot read (its error names the file: a broken row, a value of the wrong type) does not
    /// sink the review: it is left out (unticked) and the rest reviewed. Each file left out
    /// comes back with its problem, in the order they were found. A problem that names no
    /// included change file (the snapshot, the lookup, a cancellation) is the review's.
    pub fn compute_without_bad_files(
        mut session: Session,
        progress: ProgressFn,
        cancel: Cancel,
    ) -> Result<Reviewed, Problem> {
        let mut left_out = Vec::new();
        loop {
            match Review::compute(&session, progress, cancel.clone()) {
                Ok(review) => {
                    return Ok(Reviewed {
                        session,
                        review,
                        left_out,
                    });
                }
                Err(problem) => {
                    let bad = problem
                        .location
                        .as_ref()
                        .map(|location| location.file.clone())
                        .filter(|file| session.included_changes().any(|c| c.name == *file));
                    let Some(file) = bad else {
                        return Err(problem);
                    };
                    session.set_included(&file, false);
                    left_out.push((file, problem));
                }
            }
        }
    }

    fn index(session: &Session, output: pipeline::Output) -> Result<Review, String> {
        let key_columns = session.spec.table.key.clone();
        let diff = &output.diff;
        let value_columns = diff.value_columns().to_vec();
        let has_sequence = diff.source_sequence().is_some();
        Ok(Review {
            output,
            key_columns,
            value_columns,
            has_sequence,
            timings: Timings::default(),
        })
    }

    /// The table the table view shows: enriched when the spec has features.
    pub fn table(&self) -> &RecordBatch {
        self.output.enriched.as_ref().unwrap_or(&self.output.table)
    }

    /// How many keys of the diff a kind filter admits, of the whole diff.
    pub fn count(&self, filter: DiffFilter) -> usize {
        let diff = &self.output.diff;
        filter
            .kind()
            .map_or(diff.len(), |kind| kind.count_in(&diff.summary))
    }

    /// The diff as the core's queries read it.
    pub fn diff_rows_of(&self) -> Rows<'_> {
        Rows::Diff(&self.output.diff)
    }

    /// The diff rows `filters` select (the core's rule, [`review::select`]), in `order` (all
    /// the diff's rows, as [`Review::diff_order`] gives them) when there is one, else in the
    /// diff's own order.
    pub fn diff_rows_in(
        &self,
        order: Option<&[u32]>,
        filters: &[Filter],
    ) -> Result<Vec<u32>, QueryError> {
        let rows = self.diff_rows_of();
        Ok(in_order(order, review::select(rows, filters)?, rows.len()))
    }

    /// The rows of the table view (the enriched table) `filters` select, in `order` (all its
    /// rows, as [`sort_order`] gives them) when there is one: the core's rule, as for the diff.
    pub fn table_rows_in(
        &self,
        order: Option<&[u32]>,
        filters: &[Filter],
    ) -> Result<Vec<u32>, QueryError> {
        let rows = Rows::Table {
            batch: self.table(),
            key: &self.key_columns,
        };
        Ok(in_order(order, review::select(rows, filters)?, rows.len()))
    }

    /// Every diff row in the order of `sort`: the core's rule ([`review::order`]).
    pub fn diff_order(&self, sort: &DiffSort) -> Result<Vec<u32>, String> {
        let all = (0..self.output.diff.len() as u32).collect();
        review::order(self.diff_rows_of(), all, &sort.to_core(&self.key_columns))
            .map_err(|e| e.to_string())
    }

    /// The diff's facets for `filters` ([`review::facets`]).
    pub fn facets(&self, filters: &[Filter]) -> Result<Facets, QueryError> {
        review::facets(&self.output.diff, filters)
    }

    /// The diff rows a kind filter and a key search show: the search matches whole keys
    /// (ignoring case and spaces), or their start with `prefix`.
    pub fn diff_rows(&self, filter: DiffFilter, key_query: &str) -> Vec<u32> {
        let filters: Vec<Filter> = filter
            .filter()
            .into_iter()
            .chain([Filter::key(key_query)])
            .collect();
        self.diff_rows_in(None, &filters).unwrap_or_default()
    }
}

/// `selected` (ascending row indices of `len` rows) in `order` (every row, sorted) when there
/// is one, else as they are.
fn in_order(order: Option<&[u32]>, selected: Vec<u32>, len: usize) -> Vec<u32> {
    let Some(order) = order else {
        return selected;
    };
    let mut chosen = vec![false; len];
    for &row in &selected {
        chosen[row as usize] = true;
    }
    order
        .iter()
        .copied()
        .filter(|&row| chosen[row as usize])
        .collect()
}

/// Where one version of a key stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionState {
    /// Nothing closed it: the key's value now.
    Current,
    /// A later change of the key opened the next version.
    Closed,
    /// A delete (or a truncate) closed it.
    Deleted,
}

impl VersionState {
    pub fn label(self) -> &'static str {
        match self {
            VersionState::Current => "current",
            VersionState::Closed => "closed",
            VersionState::Deleted => "deleted",
        }
    }
}

/// One version of a key, as its timeline shows it: formatted off the UI thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineVersion {
    /// The sequence value of the change that opened it; `None` for a row of the snapshot
    /// history started from ("since the load").
    pub valid_from: Option<String>,
    /// The sequence value of the change that closed it; `None` while it is current.
    pub valid_to: Option<String>,
    pub state: VersionState,
    /// The change that opened it: its operation (`load`, `insert`, `update`), its file (as
    /// given) and its row in that file.
    pub operation: String,
    pub file: String,
    pub row: u64,
    /// One per [`Timeline::columns`].
    pub values: Vec<String>,
    /// Per [`Timeline::columns`]: whether the value differs from the previous version's
    /// (nulls equal each other; nothing is changed in the first version).
    pub changed: Vec<bool>,
}

/// Every version of one key of the diff, oldest first: what the history (`[history]`) kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeline {
    /// The diff row it is the timeline of.
    pub diff_row: u32,
    /// The key's values as the diff shows them, joined by ", ".
    pub key: String,
    /// The table's columns other than the key's.
    pub columns: Vec<String>,
    pub versions: Vec<TimelineVersion>,
}

impl Review {
    /// Whether the run kept history (the spec's `[history]`): then a key of the diff has a
    /// timeline.
    pub fn has_history(&self) -> bool {
        self.output.history.is_some()
    }

    /// The timeline of the key of diff row `diff_row`: its versions, found by the core's rule
    /// ([`history::key_versions`]), each with the cells it changed.
    pub fn timeline(&self, diff_row: u32) -> Result<Timeline, String> {
        let history = self
            .output
            .history
            .as_ref()
            .ok_or("no history: the spec keeps none ([history])")?;
        let diff = &self.output.diff;
        let row = diff_row as usize;
        let rows = history::key_versions(&history.versions, &self.key_columns, diff.keys(), row)
            .map_err(|e| e.to_string())?;
        let versions =
            arrow_select::take::take_record_batch(&history.versions, &UInt32Array::from(rows))
                .map_err(|e| e.to_string())?;
        let n = versions.num_rows();
        let options = crate::cells::options();
        let format = |name: &str| -> Result<(ArrayRef, Vec<Option<String>>), String> {
            let column = versions
                .column_by_name(name)
                .ok_or_else(|| format!("the history has no column `{name}`"))?
                .clone();
            let formatter =
                ArrayFormatter::try_new(column.as_ref(), &options).map_err(|e| e.to_string())?;
            let nulls = column.logical_nulls();
            let text = (0..n)
                .map(|i| {
                    let null = nulls.as_ref().is_some_and(|nulls| nulls.is_null(i));
                    (!null).then(|| formatter.value(i).to_string())
                })
                .collect();
            drop(formatter);
            Ok((column, text))
        };

        let key = {
            let keys = self
                .key_columns
                .iter()
                .zip(diff.keys())
                .map(|(_, values)| {
                    ArrayFormatter::try_new(values.as_ref(), &options)
                        .map(|f| f.value(row).to_string())
                        .map_err(|e| e.to_string())
                })
                .collect::<Result<Vec<_>, _>>()?;
            keys.join(", ")
        };
        // The table's columns come first in the history, up to `valid_from`.
        let schema = versions.schema();
        let table_columns = schema
            .index_of(history::VALID_FROM_COLUMN)
            .map_err(|e| e.to_string())?;
        let columns: Vec<String> = schema.fields()[..table_columns]
            .iter()
            .map(|f| f.name().clone())
            .filter(|name| !self.key_columns.contains(name))
            .collect();
        let mut values = Vec::with_capacity(columns.len());
        let mut changed = Vec::with_capacity(columns.len());
        for name in &columns {
            let (column, text) = format(name)?;
            values.push(text);
            let mut differs = vec![false; n];
            if n > 1 {
                let distinct =
                    arrow_ord::cmp::distinct(&column.slice(1, n - 1), &column.slice(0, n - 1))
                        .map_err(|e| e.to_string())?;
                for i in distinct.values().set_indices() {
                    differs[i + 1] = true;
                }
            }
            changed.push(differs);
        }
        let (_, valid_from) = format(history::VALID_FROM_COLUMN)?;
        let (_, valid_to) = format(history::VALID_TO_COLUMN)?;
        let (_, operation) = format(history::OP_COLUMN)?;
        let (_, file) = format(VERSION_FILE_COLUMN)?;
        let flag = |name: &str| -> Result<arrow_array::BooleanArray, String> {
            Ok(versions
                .column_by_name(name)
                .ok_or_else(|| format!("the history has no column `{name}`"))?
                .as_boolean()
                .clone())
        };
        let is_current = flag(history::IS_CURRENT_COLUMN)?;
        let deleted = flag(history::DELETED_COLUMN)?;
        let source_row = versions
            .column_by_name(VERSION_ROW_COLUMN)
            .ok_or("the history has no row column")?
            .as_primitive::<UInt64Type>()
            .clone();

        let versions = (0..n)
            .map(|i| TimelineVersion {
                valid_from: valid_from[i].clone(),
                valid_to: valid_to[i].clone(),
                state: if deleted.value(i) {
                    VersionState::Deleted
                } else if is_current.value(i) {
                    VersionState::Current
                } else {
                    VersionState::Closed
                },
                operation: operation_word(operation[i].as_deref()),
                file: file[i].clone().unwrap_or_default(),
                row: source_row.value(i),
                values: values
                    .iter()
                    .map(|v| v[i].clone().unwrap_or("null".into()))
                    .collect(),
                changed: changed.iter().map(|c| c[i]).collect(),
            })
            .collect();
        Ok(Timeline {
            diff_row,
            key,
            columns,
            versions,
        })
    }
}

/// The history's operation letter as a word.
fn operation_word(letter: Option<&str>) -> String {
    match letter {
        Some("L") => "load".into(),
        Some("I") => "insert".into(),
        Some("U") => "update".into(),
        Some("D") => "delete".into(),
        Some(other) => other.into(),
        None => "?".into(),
    }
}

/// What the diff can be sorted by: its columns, as its headers show them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DiffSortBy {
    /// Inserted, updated, deleted, unchanged, inserted and deleted.
    Kind,
    /// A key column, by its place in the key.
    Key(usize),
    /// A compared column's value before the run, or after it.
    Before(String),
    After(String),
    /// How many changes were applied to the key.
    Changes,
    /// The file of the key's last change (in the order files apply in), then its row.
    Source,
    Sequence,
}

/// A sort of the diff: what by, and which way.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DiffSort {
    pub by: DiffSortBy,
    pub descending: bool,
}

impl DiffSort {
    /// The core's sort for it.
    pub fn to_core(&self, key_columns: &[String]) -> Sort {
        let by = match &self.by {
            DiffSortBy::Kind => SortBy::Kind,
            DiffSortBy::Key(k) => SortBy::Column(ColumnRef::shown(
                key_columns.get(*k).cloned().unwrap_or_default(),
            )),
            DiffSortBy::Before(c) => SortBy::Column(ColumnRef::before(c.clone())),
            DiffSortBy::After(c) => SortBy::Column(ColumnRef::after(c.clone())),
            DiffSortBy::Changes => SortBy::Changes,
            DiffSortBy::Source => SortBy::Source,
            DiffSortBy::Sequence => SortBy::Sequence,
        };
        Sort {
            by,
            descending: self.descending,
        }
    }
}

/// A column of the table view and a direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SortKey {
    pub column: usize,
    pub descending: bool,
}

/// The table's rows in the order of one column (nulls last), as row indices: computed once per
/// sort change, then each visible row is looked up through it.
pub fn sort_order(table: &RecordBatch, key: SortKey) -> Result<Vec<u32>, String> {
    let name = table.schema().field(key.column).name().clone();
    let sort = Sort {
        by: SortBy::Column(ColumnRef::shown(name)),
        descending: key.descending,
    };
    let all = (0..table.num_rows() as u32).collect();
    review::order(
        Rows::Table {
            batch: table,
            key: &[],
        },
        all,
        &sort,
    )
    .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_text(review: &Review, row: u32) -> String {
        let keys = review.output.diff.keys();
        let text = arrow_cast::cast(&keys[0], &arrow_schema::DataType::Utf8).unwrap();
        text.as_string::<i32>().value(row as usize).to_string()
    }

    fn seed_review() -> Review {
        Review::compute(&Session::seed(), &mut |_, _| {}, Cancel::default()).unwrap()
    }

    #[test]
    fn the_seed_inserts_seven_and_updates_three() {
        let review = seed_review();
        assert_eq!(review.count(DiffFilter::All), 10);
        assert_eq!(review.count(DiffFilter::Inserted), 7);
        assert_eq!(review.count(DiffFilter::Updated), 3);
        assert_eq!(review.count(DiffFilter::Deleted), 0);
        assert_eq!(review.value_columns, ["name", "city", "last_login"]);
        assert!(!review.has_sequence);
    }

    #[test]
    fn key_search_matches_whole_keys_only() {
        let review = seed_review();
        let found = review.diff_rows(DiffFilter::All, " 9 ");
        assert_eq!(found.len(), 1);
        assert_eq!(key_text(&review, found[0]), "9");
        assert!(review.diff_rows(DiffFilter::Inserted, "9").is_empty());
        assert_eq!(review.diff_rows(DiffFilter::All, "13").len(), 0);
    }

    /// The Databricks SCD type 2 example (see `tests/history.rs`), history kept.
    fn history_review(rows: &str) -> Review {
        let spec = tidemark_core::TableSpec::from_toml(
            r#"
            [table]
            name = "users"
            key = ["userId"]
            columns = [
              { name = "userId", type = "int64" },
              { name = "name", type = "string" },
              { name = "city", type = "string" },
            ]
            [cdc]
            op_column = "operation"
            sequence = { column = "sequenceNum", kind = "number" }
            ops = { insert = ["INSERT"], update = ["UPDATE"], delete = ["DELETE"] }
            [history]
            "#,
        )
        .unwrap();
        let changes = format!("userId,name,city,operation,sequenceNum\n{rows}");
        let changes = tidemark_core::InputFile::new("x/changes.csv", changes.into_bytes());
        let session = Session::new(spec, Vec::new(), vec![changes]);
        Review::compute(&session, &mut |_, _| {}, Cancel::default()).unwrap()
    }

    #[test]
    fn a_timeline_lists_a_keys_versions_with_what_each_changed() {
        let review = history_review(
            "125,Mercedes,Tijuana,INSERT,2\n\
             124,Raul,Oaxaca,INSERT,1\n\
             125,Mercedes,Guadalajara,UPDATE,6\n\
             125,Mercedes,Mexicali,UPDATE,5\n\
             124,,,DELETE,3\n",
        );
        assert!(review.has_history());
        let row = review.diff_rows(DiffFilter::All, "125")[0];
        let timeline = review.timeline(row).unwrap();
        assert_eq!(timeline.key, "125");
        assert_eq!(timeline.columns, ["name", "city"]);
        let seen: Vec<_> = timeline
            .versions
            .iter()
            .map(|v| {
                (
                    v.valid_from.as_deref(),
                    v.valid_to.as_deref(),
                    v.state,
                    format!("{} {} {}", v.operation, v.file, v.row),
                    v.values.join("/"),
                    v.changed.clone(),
                )
            })
            .collect();
        use VersionState::*;
        assert_eq!(
            seen,
            [
                (
                    Some("2"),
                    Some("5"),
                    Closed,
                    "insert x/changes.csv 2".into(),
                    "Mercedes/Tijuana".into(),
                    vec![false, false]
                ),
                (
                    Some("5"),
                    Some("6"),
                    Closed,
                    "update x/changes.csv 5".into(),
                    "Mercedes/Mexicali".into(),
                    vec![false, true]
                ),
                (
                    Some("6"),
                    None,
                    Current,
                    "update x/changes.csv 4".into(),
                    "Mercedes/Guadalajara".into(),
                    vec![false, true]
                ),
            ]
        );

        let row = review.diff_rows(DiffFilter::All, "124")[0];
        let timeline = review.timeline(row).unwrap();
        assert_eq!(timeline.versions.len(), 1);
        assert_eq!(timeline.versions[0].state, Deleted);
        assert_eq!(timeline.versions[0].valid_to.as_deref(), Some("3"));
    }

    #[test]
    fn the_diff_sorts_by_source_kind_and_values_with_ties_in_its_own_order() {
        let review = seed_review();
        let keys = |sort: DiffSort| -> Vec<String> {
            let order = review.diff_order(&sort).unwrap();
            review
                .diff_rows_in(Some(&order), &[])
                .unwrap()
                .iter()
                .map(|&r| key_text(&review, r))
                .collect()
        };
        let sort = |by, descending| DiffSort { by, descending };
        // The last file first, and its rows from the last.
        assert_eq!(
            keys(sort(DiffSortBy::Source, true)),
            [
                "139", "138", "137", "136", "9", "8", "135", "134", "133", "6"
            ]
        );
        assert_eq!(
            keys(sort(DiffSortBy::Kind, true)),
            [
                "6", "8", "9", "133", "134", "135", "136", "137", "138", "139"
            ],
            "updated before inserted; each kind in the diff's order"
        );
        assert_eq!(
            keys(sort(DiffSortBy::Before("city".into()), false))[..4],
            ["8", "6", "9", "133"],
            "Denver, Los Angeles, Nashville, then the inserted keys (no city before)"
        );
        let updated = review
            .diff_rows_in(
                Some(&review.diff_order(&sort(DiffSortBy::Key(0), true)).unwrap()),
                &[DiffFilter::Updated.filter().unwrap()],
            )
            .unwrap();
        let updated: Vec<String> = updated.iter().map(|&r| key_text(&review, r)).collect();
        assert_eq!(updated, ["9", "8", "6"]);
    }

    #[test]
    fn without_history_there_is_no_timeline() {
        let review = seed_review();
        assert!(!review.has_history());
        assert!(review.timeline(0).is_err());
    }

    #[test]
    fn sort_orders_put_nulls_last_in_both_directions() {
        let column = arrow_array::Int64Array::from(vec![Some(2), None, Some(1)]);
        let table = RecordBatch::try_from_iter([("x", std::sync::Arc::new(column) as _)]).unwrap();
        let up = SortKey {
            column: 0,
            descending: false,
        };
        let down = SortKey {
            descending: true,
            ..up
        };
        assert_eq!(sort_order(&table, up).unwrap(), [2, 0, 1]);
        assert_eq!(sort_order(&table, down).unwrap(), [0, 2, 1]);
    }
}
