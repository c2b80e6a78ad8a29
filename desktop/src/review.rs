//! A review: one run of the core over a session, plus what the views need to show it fast
//! (the diff's rows per filter, its keys as text, sort orders), all computed off the UI thread.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::cast::AsArray;
use arrow_array::types::UInt64Type;
use arrow_array::{Array, ArrayRef, RecordBatch, UInt8Array, UInt32Array, UInt64Array};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_ord::sort::SortColumn;
use arrow_schema::SortOptions;
use tidemark_core::Cancel;
use tidemark_core::diff::ChangeKind;
use tidemark_core::files::FileOrder;
use tidemark_core::history;
use tidemark_core::pipeline::{self, Options, Stage};
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

    fn admits(self, kind: ChangeKind) -> bool {
        self.kind().is_none_or(|k| k == kind)
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
    rows_by_filter: Vec<(DiffFilter, Vec<u32>)>,
    /// Each diff row's key as the search box compares it: values joined by ", ", lower case.
    key_text: Vec<String>,
    pub timings: Timings,
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

    fn index(session: &Session, output: pipeline::Output) -> Result<Review, String> {
        let key_columns = session.spec.table.key.clone();
        let diff = &output.diff;
        let value_columns = diff.value_columns().to_vec();
        let rows_by_filter = DiffFilter::EVERY
            .iter()
            .map(|&filter| {
                let rows = (0..diff.len() as u32)
                    .filter(|&row| filter.admits(diff.kind(row as usize)))
                    .collect();
                (filter, rows)
            })
            .collect();
        let key_text = key_text(diff.keys(), diff.len())?;
        let has_sequence = diff.source_sequence().is_some();
        Ok(Review {
            output,
            key_columns,
            value_columns,
            has_sequence,
            rows_by_filter,
            key_text,
            timings: Timings::default(),
        })
    }

    /// The table the table view shows: enriched when the spec has features.
    pub fn table(&self) -> &RecordBatch {
        self.output.enriched.as_ref().unwrap_or(&self.output.table)
    }

    pub fn count(&self, filter: DiffFilter) -> usize {
        self.filter_rows(filter).len()
    }

    fn filter_rows(&self, filter: DiffFilter) -> &[u32] {
        self.rows_by_filter
            .iter()
            .find(|(f, _)| *f == filter)
            .map_or(&[], |(_, rows)| rows.as_slice())
    }

    /// The diff rows a filter and a key search show, in `order` (all the diff's rows, as
    /// [`Review::diff_order`] gives them) when there is one, else in the diff's own order.
    pub fn diff_rows_in(
        &self,
        order: Option<&[u32]>,
        filter: DiffFilter,
        key_query: &str,
    ) -> Vec<u32> {
        let Some(order) = order else {
            return self.diff_rows(filter, key_query);
        };
        let query = normalise_key(key_query);
        let diff = &self.output.diff;
        order
            .iter()
            .copied()
            .filter(|&row| filter.admits(diff.kind(row as usize)))
            .filter(|&row| query.is_empty() || self.key_text[row as usize] == query)
            .collect()
    }

    /// Every diff row in the order of `sort` (nulls last either way; ties keep the diff's
    /// order, that of the keys' first changes).
    pub fn diff_order(&self, sort: &DiffSort) -> Result<Vec<u32>, String> {
        let diff = &self.output.diff;
        let n = diff.len();
        let missing = |what: &str| format!("the diff has no column {what}");
        let columns: Vec<ArrayRef> = match &sort.by {
            DiffSortBy::Kind => vec![Arc::new(UInt8Array::from_iter_values(
                (0..n).map(|r| kind_rank(diff.kind(r))),
            ))],
            DiffSortBy::Key(k) => vec![diff.keys().get(*k).ok_or_else(|| missing("key"))?.clone()],
            DiffSortBy::Before(c) => vec![diff.before(c).ok_or_else(|| missing(c))?.clone()],
            DiffSortBy::After(c) => vec![diff.after(c).ok_or_else(|| missing(c))?.clone()],
            DiffSortBy::Changes => vec![Arc::new(UInt32Array::from_iter_values(
                (0..n).map(|r| diff.changes_applied(r)),
            ))],
            DiffSortBy::Source => {
                // Files in the order they apply in, then rows.
                let files = diff.source_files();
                let mut names: Vec<&str> = files.iter().flatten().collect();
                names.sort_by_key(|name| FileOrder::of(name));
                names.dedup();
                let rank = |name: &str| {
                    names.partition_point(|other| FileOrder::of(other) < FileOrder::of(name)) as u32
                };
                vec![
                    Arc::new(UInt32Array::from_iter_values(
                        (0..n).map(|r| rank(files.value(r))),
                    )) as ArrayRef,
                    Arc::new(UInt64Array::from_iter_values(
                        (0..n).map(|r| diff.source(r).row),
                    )),
                ]
            }
            DiffSortBy::Sequence => vec![
                diff.source_sequence()
                    .ok_or_else(|| missing("sequence"))?
                    .clone(),
            ],
        };
        let options = SortOptions {
            descending: sort.descending,
            nulls_first: false,
        };
        let mut sort_columns: Vec<SortColumn> = columns
            .into_iter()
            .map(|values| SortColumn {
                values,
                options: Some(options),
            })
            .collect();
        // The diff's order breaks ties, whichever way the sort goes.
        sort_columns.push(SortColumn {
            values: Arc::new(UInt32Array::from_iter_values(0..n as u32)),
            options: None,
        });
        let indices =
            arrow_ord::sort::lexsort_to_indices(&sort_columns, None).map_err(|e| e.to_string())?;
        Ok(indices.values().to_vec())
    }

    /// The diff rows a filter and a key search show. The search matches whole keys (ignoring
    /// case and spaces), so `9` finds user 9, not 19 or 90; composite keys are typed `a, b`.
    pub fn diff_rows(&self, filter: DiffFilter, key_query: &str) -> Vec<u32> {
        let rows = self.filter_rows(filter);
        let query = normalise_key(key_query);
        if query.is_empty() {
            return rows.to_vec();
        }
        rows.iter()
            .copied()
            .filter(|&row| self.key_text[row as usize] == query)
            .collect()
    }
}

fn normalise_key(text: &str) -> String {
    text.split(',')
        .map(|part| part.trim().to_lowercase())
        .collect::<Vec<_>>()
        .join(", ")
}

fn key_text(keys: &[arrow_array::ArrayRef], rows: usize) -> Result<Vec<String>, String> {
    let options = FormatOptions::default();
    let formatters = keys
        .iter()
        .map(|column| ArrayFormatter::try_new(column.as_ref(), &options).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((0..rows)
        .map(|row| {
            let parts: Vec<String> = formatters
                .iter()
                .map(|f| f.value(row).to_string())
                .collect();
            normalise_key(&parts.join(","))
        })
        .collect())
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
        let options = FormatOptions::default().with_null("null");
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

fn kind_rank(kind: ChangeKind) -> u8 {
    match kind {
        ChangeKind::Inserted => 0,
        ChangeKind::Updated => 1,
        ChangeKind::Deleted => 2,
        ChangeKind::Unchanged => 3,
        ChangeKind::InsertedAndDeleted => 4,
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
    let column = table.column(key.column);
    let options = SortOptions {
        descending: key.descending,
        nulls_first: false,
    };
    let indices = arrow_ord::sort::sort_to_indices(column.as_ref(), Some(options), None)
        .map_err(|e| e.to_string())?;
    Ok(indices.values().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(review.key_text[found[0] as usize], "9");
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
                .diff_rows_in(Some(&order), DiffFilter::All, "")
                .iter()
                .map(|&r| review.key_text[r as usize].clone())
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
        let updated = review.diff_rows_in(
            Some(&review.diff_order(&sort(DiffSortBy::Key(0), true)).unwrap()),
            DiffFilter::Updated,
            "",
        );
        let updated: Vec<&str> = updated
            .iter()
            .map(|&r| review.key_text[r as usize].as_str())
            .collect();
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
        use std::sync::Arc;
        let column = arrow_array::Int64Array::from(vec![Some(2), None, Some(1)]);
        let table = RecordBatch::try_from_iter([("x", Arc::new(column) as _)]).unwrap();
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
