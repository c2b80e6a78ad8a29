//! What Tidemark keeps about a table inside the table's own Delta log: the `tidemark` domain
//! metadata of the `table` table, written in the same commit as the rows it describes, so a
//! reader of any version finds the state that goes with it and nothing is kept beside it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The domain of Tidemark's metadata in the table's log.
pub const DOMAIN: &str = "tidemark";

/// The current format of [`TableMeta`]; a newer one is refused, not misread.
pub const FORMAT: u32 = 1;

/// Tidemark's metadata of the maintained table, as of one version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableMeta {
    pub format: u32,
    /// How many buckets the keys are spread over (fixed when the table is created).
    pub buckets: u32,
    /// The key columns, in the spec's order.
    pub key: Vec<String>,
    /// Per bucket, the file (relative to the table's folder) with the versions of its keys:
    /// the position of each key's last change, deleted keys included (`state.parquet` of a
    /// folder output, cut by bucket). Buckets without versions have no entry.
    pub state: BTreeMap<u32, String>,
    /// The features' `as_of` of the run that wrote this version: the next run's window never
    /// moves back before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<NaiveDate>,
    /// The names (without folders) of the change files applied so far: one given again is
    /// skipped, as a repeated S3 event must be. Changes with a sequence need no such list (a
    /// change no newer than its key's last is stale), but DMS files without one do. DMS
    /// names are unique within a table's folder: they carry the time to the millisecond.
    #[serde(default)]
    pub applied: BTreeSet<String>,
    /// The parts of the full load the table was built from, when it was (an S3 event's
    /// `bucket/key`, or a path), with their ETags: what a rebuild reads again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub load: Vec<SourceObject>,
    /// The change files applied so far, by the name the run was given, with their ETags, in
    /// the order they were applied: what a rebuild applies again, and how the edge function
    /// tells a repeated event (same object, same ETag) from a new upload of a key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<SourceObject>,
}

/// An input object a version of the table was made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceObject {
    /// The name the core saw it under (`bucket/key` for the edge function).
    pub name: String,
    /// The ETag S3 announced for it, when the run knew one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
}

impl TableMeta {
    pub fn new(buckets: u32, key: Vec<String>) -> TableMeta {
        TableMeta {
            format: FORMAT,
            buckets,
            key,
            state: BTreeMap::new(),
            as_of: None,
            applied: BTreeSet::new(),
            load: Vec::new(),
            sources: Vec::new(),
        }
    }
}

/// The name a change file is remembered by: its last path segment.
///
/// ```
/// assert_eq!(tidemark_delta::meta::applied_name("dms/users/2021/10/18/20211018-223933563.csv"), "20211018-223933563.csv");
/// ```
pub fn applied_name(name: &str) -> &str {
    name.rsplit(['/', '\\']).next().unwrap_or(name)
}

/// The domain of Tidemark's metadata in the enriched table's log.
pub const ENRICHED_DOMAIN: &str = "tidemark-enriched";

/// What the enriched table was computed from: a run may update it group by group only if
/// everything but the touched rows is as it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrichedMeta {
    pub format: u32,
    /// The version of the maintained table it is the features of.
    pub table_version: u64,
    pub buckets: u32,
    pub as_of: NaiveDate,
    pub window_days: u32,
    /// A digest of the lookup table's file, `None` for the bundled one.
    pub lookup: Option<u64>,
}
