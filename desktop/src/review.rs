//! A review: one run of the core over a session, plus what the views need to show it fast
//! (the diff's rows per filter, its keys as text, sort orders), all computed off the UI thread.

use std::time::{Duration, Instant};

use arrow_array::RecordBatch;
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::SortOptions;
use tidemark_core::Cancel;
use tidemark_core::diff::ChangeKind;
use tidemark_core::pipeline::{self, Options, Stage};

use crate::app::Problem;
use crate::session::{Session, short_name};

/// Which touched keys the diff view shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DiffFilter {
    All,
    Inserted,
    Updated,
    Deleted,
    Unchanged,
}

impl DiffFilter {
    pub const EVERY: [DiffFilter; 5] = [
        DiffFilter::All,
        DiffFilter::Inserted,
        DiffFilter::Updated,
        DiffFilter::Deleted,
        DiffFilter::Unchanged,
    ];

    pub fn label(self) -> &'static str {
        match self {
            DiffFilter::All => "All",
            DiffFilter::Inserted => "Inserted",
            DiffFilter::Updated => "Updated",
            DiffFilter::Deleted => "Deleted",
            DiffFilter::Unchanged => "Unchanged",
        }
    }

    fn admits(self, kind: ChangeKind) -> bool {
        match self {
            DiffFilter::All => true,
            DiffFilter::Inserted => kind == ChangeKind::Inserted,
            DiffFilter::Updated => kind == ChangeKind::Updated,
            DiffFilter::Deleted => kind == ChangeKind::Deleted,
            DiffFilter::Unchanged => kind == ChangeKind::Unchanged,
        }
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
