//! The run report: what was read, what the changes did, what looked wrong, and which `as_of`
//! the features used. Serialises to the JSON the CLI writes next to its outputs.

use serde::Serialize;

/// Everything a run did, for people and for scripts.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub table: String,
    pub snapshot: SnapshotSummary,
    pub changes: Vec<FileSummary>,
    pub apply: ApplySummary,
    pub anomalies: Vec<Anomaly>,
    pub features: Option<FeatureSummary>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SnapshotSummary {
    pub files: Vec<String>,
    pub rows: usize,
}

/// One change file, in the order it was applied.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FileSummary {
    pub file: String,
    /// The time in the file's DMS name, if it has one.
    pub named_time: Option<String>,
    pub rows: usize,
    pub inserts: usize,
    pub updates: usize,
    pub deletes: usize,
    /// In a transaction file (`CDC_TXN-*`): the rows of other tables, skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other_tables: Option<usize>,
    /// Keys whose last applied change came from this file, by what happened to them.
    pub outcome: OutcomeCounts,
}

/// How many touched keys ended up inserted, updated, deleted or unchanged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OutcomeCounts {
    pub inserted: usize,
    pub updated: usize,
    pub deleted: usize,
    pub unchanged: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ApplySummary {
    pub rows_before: usize,
    pub rows_after: usize,
    pub changes: usize,
    pub keys_touched: usize,
    /// Touched keys that more than one change was applied to: normal CDC (a row updated
    /// twice between two files), counted, not an anomaly. Only the last change's values
    /// survive.
    pub keys_changed_several_times: usize,
    /// `timestamp`, `number`, or absent when files carry no sequence and apply in name order.
    pub sequence: Option<String>,
    pub outcome: OutcomeCounts,
}

/// Something in the changes that a clean CDC stream would not contain. Applied with upsert
/// semantics and counted; `--strict` turns the first three kinds into errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
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
pub struct Anomaly {
    pub kind: AnomalyKind,
    pub count: usize,
    /// The first few occurrences.
    pub examples: Vec<Example>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Example {
    pub key: String,
    pub file: String,
    pub row: u64,
}

/// How the features were computed.
#[derive(Debug, Clone, Serialize)]
pub struct FeatureSummary {
    pub as_of: String,
    /// Where `as_of` came from: `given`, `newest change timestamp`, `newest change file name`.
    pub as_of_source: String,
    pub window_days: u32,
    /// Dates on or after this count as recent.
    pub window_start: String,
    pub groups: usize,
    pub lookup: Option<LookupSummary>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LookupSummary {
    /// `default (GeoNames US cities)` or the given file's name.
    pub source: String,
    pub matched_rows: usize,
    /// Names found nowhere in the lookup table, with how many rows carry them.
    pub unmatched: Vec<NameCount>,
    /// Names that stand for several places, and the one chosen.
    pub ambiguous: Vec<AmbiguousName>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NameCount {
    pub name: String,
    pub rows: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AmbiguousName {
    pub name: String,
    pub rows: usize,
    pub chosen: String,
    pub others: Vec<String>,
}
