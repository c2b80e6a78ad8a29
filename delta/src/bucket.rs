//! Which bucket a key lives in: the table is partitioned by `_tidemark_bucket`, a hash of the
//! key modulo the table's number of buckets, so a run reads and rewrites only the buckets its
//! changes touch. The hash itself is `tidemark_core::bucket`'s, shared with the Spark entry
//! point of the Python package: it is part of the table's format.

use arrow_array::ArrayRef;

use crate::DeltaError;

pub use tidemark_core::bucket::digest;

/// The partition column of the maintained table: the bucket of each row's key.
pub const BUCKET_COLUMN: &str = "_tidemark_bucket";
/// The partition column of the enriched table: the bucket of each row's feature group (the
/// city after the spec's renames), so the rows of one group are in one partition.
pub const GROUP_BUCKET_COLUMN: &str = "_tidemark_group_bucket";

/// The bucket of each row of `key` (one array per key column), among `buckets`
/// ([`tidemark_core::bucket::buckets_of`]).
pub fn buckets_of(key: &[ArrayRef], buckets: u32) -> Result<Vec<u32>, DeltaError> {
    Ok(tidemark_core::bucket::buckets_of(key, buckets)?)
}

/// The bucket of each row's feature group ([`tidemark_core::bucket::group_buckets_of`]).
pub fn group_buckets_of(
    group: &ArrayRef,
    rename: &std::collections::BTreeMap<String, String>,
    buckets: u32,
) -> Result<Vec<u32>, DeltaError> {
    Ok(tidemark_core::bucket::group_buckets_of(
        group, rename, buckets,
    )?)
}
