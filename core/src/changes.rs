//! Decoded inputs: the snapshot's rows and the change files' operations, in Arrow.

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};

use crate::error::Location;
use crate::spec::SequenceKind;

/// A change's operation, from the first column of a DMS change file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[repr(u8)]
pub enum Op {
    Insert,
    Update,
    Delete,
    /// Empty the table (Databricks `apply_as_truncates`): every key that exists at its place
    /// in the order is deleted. Its row's values, the key's included, mean nothing.
    Truncate,
}

impl Op {
    /// Reads `I`, `U` or `D` (DMS writes upper case; lower case is accepted).
    pub fn parse(text: &str) -> Option<Op> {
        match text.trim() {
            "I" | "i" => Some(Op::Insert),
            "U" | "u" => Some(Op::Update),
            "D" | "d" => Some(Op::Delete),
            _ => None,
        }
    }

    pub fn letter(self) -> char {
        match self {
            Op::Insert => 'I',
            Op::Update => 'U',
            Op::Delete => 'D',
            Op::Truncate => 'T',
        }
    }
}

/// The values of a change file's sequence column, as integers that order the changes:
/// microseconds since the epoch for timestamps, the number itself for change sequences.
#[derive(Debug, Clone, PartialEq)]
pub struct Sequence {
    pub kind: SequenceKind,
    pub column: String,
    pub values: Vec<i128>,
}

/// One decoded change file.
#[derive(Debug, Clone)]
pub struct ChangeBatch {
    /// The name the file was given as.
    pub file: String,
    pub ops: Vec<Op>,
    pub sequence: Option<Sequence>,
    /// What orders changes of equal sequence values, when the file has it beside its
    /// sequence (`$AR_H_CHANGE_SEQ` beside a commit timestamp).
    pub change_sequence: Option<Vec<i128>>,
    /// When the file has before-images of key columns (DMS `add-before-image-columns`): per
    /// key column (in the spec's key order), the key each row had before its change. It
    /// differs from the row's key only for an update that changed the key, which moves the
    /// row from its old key to its new one.
    pub before_key: Option<Vec<ArrayRef>>,
    /// The changed rows, in the table's schema.
    pub rows: RecordBatch,
    /// The row number, in the file, of `rows[0]` (2 when a header row comes first).
    pub first_row: u64,
    /// The row number in the file of each change, when they do not follow one another (a
    /// transaction file, whose rows of other tables are skipped); `None`: from `first_row` on.
    pub row_numbers: Option<Arc<[u64]>>,
    /// How many rows of other tables a transaction file held (skipped).
    pub other_tables: usize,
}

impl ChangeBatch {
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The row number in the file of the change at `index`.
    pub fn row_number(&self, index: usize) -> u64 {
        match &self.row_numbers {
            Some(rows) => rows[index],
            None => self.first_row + index as u64,
        }
    }
}

/// Which file and row each row of a concatenation of files came from.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    spans: Vec<Span>,
}

#[derive(Debug, Clone)]
struct Span {
    file: String,
    start: usize,
    first_row: u64,
    /// Each row's number in the file, when they do not follow one another.
    rows: Option<Arc<[u64]>>,
}

impl Span {
    fn row(&self, index: usize) -> u64 {
        let at = index - self.start;
        match &self.rows {
            Some(rows) => rows[at],
            None => self.first_row + at as u64,
        }
    }
}

impl Sources {
    /// Records that the next rows, starting at `start`, come from `file` beginning at `first_row`.
    pub fn push(&mut self, file: &str, start: usize, first_row: u64) {
        self.spans.push(Span {
            file: file.to_string(),
            start,
            first_row,
            rows: None,
        });
    }

    /// Records that the next rows, starting at `start`, come from `file`, each from the row
    /// of `rows` (rows picked out of a file, not following one another).
    pub fn push_rows(&mut self, file: &str, start: usize, rows: Arc<[u64]>) {
        self.spans.push(Span {
            file: file.to_string(),
            start,
            first_row: rows.first().copied().unwrap_or(1),
            rows: Some(rows),
        });
    }

    /// Records that the next rows, starting at `start`, are the changes of `batch`.
    pub fn push_batch(&mut self, batch: &ChangeBatch, start: usize) {
        self.spans.push(Span {
            file: batch.file.clone(),
            start,
            first_row: batch.first_row,
            rows: batch.row_numbers.clone(),
        });
    }

    /// The file and row of the row at `index` of the concatenation.
    pub fn locate(&self, index: usize) -> Location {
        let at = self
            .spans
            .partition_point(|s| s.start <= index)
            .saturating_sub(1);
        match self.spans.get(at) {
            Some(span) => Location::file(&span.file).row(span.row(index)),
            None => Location::file("<unknown>"),
        }
    }

    /// The file name and row number of the row at `index`, without allocating.
    pub fn file_and_row(&self, index: usize) -> (&str, u64) {
        let span = &self.spans[self.file_index(index)];
        (&span.file, span.row(index))
    }

    /// Index of the file the row at `index` came from, and its row number in that file.
    pub fn file_index_and_row(&self, index: usize) -> (usize, u64) {
        let file = self.file_index(index);
        let span = &self.spans[file];
        (file, span.row(index))
    }

    /// Index of the file the row at `index` came from.
    pub fn file_index(&self, index: usize) -> usize {
        self.spans
            .partition_point(|s| s.start <= index)
            .saturating_sub(1)
    }

    pub fn file_name(&self, file_index: usize) -> &str {
        &self.spans[file_index].file
    }

    pub fn files(&self) -> impl Iterator<Item = &str> {
        self.spans.iter().map(|s| s.file.as_str())
    }
}

/// The decoded snapshot: its rows and where they came from.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub rows: RecordBatch,
    pub sources: Sources,
}
