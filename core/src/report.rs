//! The run report: what was read, what the changes did, what looked wrong, and which `as_of`
//! the features used. Serialises to the JSON the CLI writes next to its outputs.

use std::fmt;

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;

use crate::spec::SequenceKind;

/// Everything a run did, for people and for scripts.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub struct RunReport {
    pub table: String,
    pub snapshot: SnapshotSummary,
    pub changes: Vec<FileSummary>,
    pub apply: ApplySummary,
    pub anomalies: Vec<Anomaly>,
    pub features: Option<FeatureSummary>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub struct SnapshotSummary {
    pub files: Vec<String>,
    pub rows: usize,
}

/// One change file, in the order it was applied.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub struct FileSummary {
    pub file: String,
    /// The time in the file's DMS name, if it has one.
    pub named_time: Option<String>,
    pub rows: usize,
    pub inserts: usize,
    pub updates: usize,
    pub deletes: usize,
    /// Rows that emptied the table (`[cdc.ops] truncate`), when the file has any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncates: Option<usize>,
    /// In a transaction file (`CDC_TXN-*`): the rows of other tables, skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other_tables: Option<usize>,
    /// Keys whose last applied change came from this file, by what happened to them.
    pub outcome: OutcomeCounts,
}

/// How many touched keys ended up inserted, updated, deleted, unchanged, or inserted and
/// deleted again within the run (see [`crate::ChangeKind`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub struct OutcomeCounts {
    pub inserted: usize,
    pub updated: usize,
    pub deleted: usize,
    pub unchanged: usize,
    pub inserted_and_deleted: usize,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub struct ApplySummary {
    pub rows_before: usize,
    pub rows_after: usize,
    pub changes: usize,
    pub keys_touched: usize,
    /// Touched keys that more than one change was applied to: normal CDC (a row updated
    /// twice between two files), counted, not an anomaly. Only the last change's values
    /// survive.
    pub keys_changed_several_times: usize,
    /// What orders the changes: absent when files carry no sequence and apply in name order.
    pub sequence: Option<SequenceKind>,
    pub outcome: OutcomeCounts,
    /// What the updates did to each compared column, in table order.
    pub columns: Vec<ColumnChanges>,
}

/// What the run's updates did to one compared column (inserts and deletes are not counted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub struct ColumnChanges {
    pub column: String,
    /// Updated keys whose value of this column changed.
    pub changed: usize,
    /// Of those, how many had a value before and none after.
    pub became_null: usize,
    /// The most frequent old → new values (at most [`TOP_TRANSITIONS`]), most frequent first,
    /// ties in diff order.
    pub top_transitions: Vec<Transition>,
}

/// How many transitions [`ColumnChanges::top_transitions`] keeps.
pub const TOP_TRANSITIONS: usize = 5;

/// One old → new change of a column's value, as the diff shows the values (null: none), and
/// how many updated keys made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub struct Transition {
    pub before: Option<String>,
    pub after: Option<String>,
    pub count: usize,
}

/// Something in the changes that a clean CDC stream would not contain. Applied with upsert
/// semantics and counted; `--strict` turns the first three kinds into errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum AnomalyKind {
    /// `I` for a key that exists: applied as an update.
    InsertOfExistingKey,
    /// `U` for a key that does not exist: applied as an insert.
    UpdateOfMissingKey,
    /// `D` for a key that does not exist: nothing to delete.
    DeleteOfMissingKey,
    /// A change whose sequence is not newer than what the key already has (a late or repeated
    /// file): ignored, so it cannot overwrite newer values or resurrect a deleted row.
    StaleChangeIgnored,
}

impl AnomalyKind {
    pub fn is_error_when_strict(self) -> bool {
        matches!(
            self,
            Self::InsertOfExistingKey | Self::UpdateOfMissingKey | Self::DeleteOfMissingKey
        )
    }

    pub fn describe(self) -> &'static str {
        match self {
            Self::InsertOfExistingKey => {
                "insert of a key that already exists (applied as an update)"
            }
            Self::UpdateOfMissingKey => {
                "update of a key that does not exist (applied as an insert)"
            }
            Self::DeleteOfMissingKey => "delete of a key that does not exist (nothing to delete)",
            Self::StaleChangeIgnored => "change older than the key's current version (ignored)",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub struct Anomaly {
    pub kind: AnomalyKind,
    pub count: usize,
    /// The first few occurrences.
    pub examples: Vec<Example>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub struct Example {
    pub key: String,
    pub file: String,
    pub row: u64,
}

/// How the features were computed.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub struct FeatureSummary {
    #[cfg_attr(feature = "typescript", ts(type = "string"))]
    pub as_of: NaiveDate,
    /// Where `as_of` came from.
    #[cfg_attr(feature = "typescript", ts(type = "string"))]
    pub as_of_source: AsOfSource,
    pub window_days: u32,
    /// Dates on or after this count as recent.
    #[cfg_attr(feature = "typescript", ts(type = "string"))]
    pub window_start: NaiveDate,
    pub groups: usize,
    pub lookup: Option<LookupSummary>,
}

/// Where a run's `as_of` came from. Never the wall clock: a rerun gives the same result.
///
/// Reports write it as text (`report.json`'s `as_of_source`):
///
/// ```
/// use tidemark_core::report::AsOfSource;
/// let source = AsOfSource::NewestChangeFileName("20211018-225959941.csv".into());
/// assert_eq!(source.to_string(), "newest change file name (20211018-225959941.csv)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AsOfSource {
    /// `--as-of` or the options' `as_of`.
    Given,
    /// The commit timestamp of the newest change applied.
    NewestChangeTimestamp(NaiveDateTime),
    /// The time in the newest change file's DMS name (the changes carry no timestamp).
    NewestChangeFileName(String),
    /// No change applied: the newest date in this column of the table.
    NewestDateInTable(String),
    /// An earlier run's `as_of` (`Options::as_of_not_before`): later than this run's own, or
    /// this run's changes do not date themselves.
    EarlierRun,
}

impl fmt::Display for AsOfSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AsOfSource::Given => f.write_str("given"),
            AsOfSource::NewestChangeTimestamp(t) => write!(f, "newest change timestamp ({t})"),
            AsOfSource::NewestChangeFileName(file) => {
                write!(f, "newest change file name ({file})")
            }
            AsOfSource::NewestDateInTable(column) => {
                write!(f, "newest {column} in the table (no change applied)")
            }
            AsOfSource::EarlierRun => {
                f.write_str("the as_of of an earlier run, which never moves back")
            }
        }
    }
}

impl Serialize for AsOfSource {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub struct LookupSummary {
    /// `default (GeoNames US cities)` or the given file's name.
    pub source: String,
    pub matched_rows: usize,
    /// Names found nowhere in the lookup table, with how many rows carry them.
    pub unmatched: Vec<NameCount>,
    /// Names that stand for several places, and the one chosen.
    pub ambiguous: Vec<AmbiguousName>,
}

impl LookupSummary {
    /// Puts the unmatched and ambiguous names in the order reports show them: most rows first,
    /// then by name.
    pub fn sort_names(&mut self) {
        self.unmatched
            .sort_by(|a, b| b.rows.cmp(&a.rows).then_with(|| a.name.cmp(&b.name)));
        self.ambiguous
            .sort_by(|a, b| b.rows.cmp(&a.rows).then_with(|| a.name.cmp(&b.name)));
    }
}

impl FeatureSummary {
    /// The summary of a table whose groups were enriched in parts (each part whole groups,
    /// under one `as_of`, window and lookup): groups and rows added up, names gathered.
    pub fn merge(parts: impl IntoIterator<Item = FeatureSummary>) -> Option<FeatureSummary> {
        let mut parts = parts.into_iter();
        let mut merged = parts.next()?;
        for part in parts {
            merged.groups += part.groups;
            if let (Some(all), Some(lookup)) = (&mut merged.lookup, part.lookup) {
                all.matched_rows += lookup.matched_rows;
                all.unmatched.extend(lookup.unmatched);
                all.ambiguous.extend(lookup.ambiguous);
            }
        }
        if let Some(lookup) = &mut merged.lookup {
            lookup.sort_names();
        }
        Some(merged)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub struct NameCount {
    pub name: String,
    pub rows: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub struct AmbiguousName {
    pub name: String,
    pub rows: usize,
    pub chosen: String,
    pub others: Vec<String>,
}

/// A count as people read it, digits grouped by thousands: what the CLI's summary and the
/// desktop app show (`report.json` keeps plain numbers).
///
/// ```
/// use tidemark_core::report::thousands;
/// assert_eq!(thousands(83_263), "83,263");
/// assert_eq!(thousands(999), "999");
/// assert_eq!(thousands(10_000_000), "10,000,000");
/// ```
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// The TypeScript declarations of the report's types, each once, dependencies first: what the
/// browser module's `.d.ts` says the report is (feature `typescript`, by ts-rs).
///
/// Counts are numbers (JSON's), dates and `as_of_source` strings, optional parts `| null`.
#[cfg(feature = "typescript")]
pub fn typescript_declarations() -> String {
    use ts_rs::{Config, TS};
    // Counts are `usize`, `bigint` by default in ts-rs; JSON.parse gives JavaScript numbers.
    let config = Config::new().with_large_int("number");
    let declarations = [
        SequenceKind::decl(&config),
        OutcomeCounts::decl(&config),
        SnapshotSummary::decl(&config),
        FileSummary::decl(&config),
        Transition::decl(&config),
        ColumnChanges::decl(&config),
        ApplySummary::decl(&config),
        AnomalyKind::decl(&config),
        Example::decl(&config),
        Anomaly::decl(&config),
        NameCount::decl(&config),
        AmbiguousName::decl(&config),
        LookupSummary::decl(&config),
        FeatureSummary::decl(&config),
        RunReport::decl(&config),
    ];
    declarations
        .iter()
        .map(|declaration| format!("export {declaration}\n"))
        .collect()
}
