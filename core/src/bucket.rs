//! Which bucket a key, or a feature group, lives in.
//!
//! A table cut into parts by a hash of its key modulo a number of buckets can be worked on a
//! part at a time: a Delta table is partitioned so (`tidemark-delta`: a run reads and
//! rewrites only the buckets its changes touch), and the Spark entry point of the Python
//! package shuffles rows so (each executor applies the changes of its buckets). The hash is
//! part of those formats: it must give the same bucket for the same key in every run, on
//! every machine, from every face and in every later version of Tidemark. That rules out
//! `std`'s and hashbrown's hashers (seeded, or free to change between releases); FNV-1a is
//! written out here because it is six lines, fixed by its published constants, and fast on
//! short keys.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;

use crate::error::{ErrorKind, Result};

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv1a(mut hash: u64, bytes: &[u8]) -> u64 {
    for &byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(FNV_PRIME);
    }
    hash
}

/// The bucket of each row of `key` (one array per key column), among `buckets`.
///
/// Integers hash by value whatever their width (a key read as `Int32` from one file and
/// `Int64` from another lands in one bucket); strings by their UTF-8 bytes; a null by a marker
/// byte no value produces.
///
/// ```
/// use std::sync::Arc;
/// use arrow_array::{ArrayRef, Int32Array, Int64Array};
/// use tidemark_core::bucket::buckets_of;
/// let narrow: ArrayRef = Arc::new(Int32Array::from(vec![1, 2, 3]));
/// let wide: ArrayRef = Arc::new(Int64Array::from(vec![1, 2, 3]));
/// assert_eq!(buckets_of(&[narrow], 64).unwrap(), buckets_of(&[wide], 64).unwrap());
/// ```
pub fn buckets_of(key: &[ArrayRef], buckets: u32) -> Result<Vec<u32>> {
    if buckets == 0 {
        return Err(ErrorKind::Invalid("the number of buckets must be at least 1".into()).into());
    }
    let rows = key.first().map_or(0, |c| c.len());
    let mut hashes = vec![FNV_OFFSET; rows];
    for column in key {
        hash_column(column, &mut hashes)?;
    }
    Ok(hashes
        .into_iter()
        .map(|h| (h % u64::from(buckets)) as u32)
        .collect())
}

/// The bucket of each row's feature group: `group` (text, plain or dictionary-encoded) after
/// `rename`, as the features group it.
pub fn group_buckets_of(
    group: &ArrayRef,
    rename: &std::collections::BTreeMap<String, String>,
    buckets: u32,
) -> Result<Vec<u32>> {
    let text = arrow_cast::cast(group, &DataType::Utf8)?;
    let renamed: arrow_array::StringArray = text
        .as_string::<i32>()
        .iter()
        .map(|name| name.map(|n| rename.get(n).map_or(n, String::as_str)))
        .collect();
    buckets_of(&[std::sync::Arc::new(renamed) as ArrayRef], buckets)
}

/// A digest of `bytes` that stays the same across runs and releases (FNV-1a), to tell
/// whether an input (the lookup table) changed since the last run.
pub fn digest(bytes: &[u8]) -> u64 {
    fnv1a(FNV_OFFSET, bytes)
}

fn hash_column(column: &ArrayRef, hashes: &mut [u64]) -> Result<()> {
    macro_rules! integers {
        ($t:ty) => {{
            let values = column.as_primitive::<$t>();
            for (i, hash) in hashes.iter_mut().enumerate() {
                *hash = if values.is_null(i) {
                    fnv1a(*hash, &[0xff])
                } else {
                    fnv1a(*hash, &(values.value(i) as i128).to_le_bytes())
                };
            }
        }};
    }
    match column.data_type() {
        DataType::Int8 => integers!(Int8Type),
        DataType::Int16 => integers!(Int16Type),
        DataType::Int32 => integers!(Int32Type),
        DataType::Int64 => integers!(Int64Type),
        DataType::UInt8 => integers!(UInt8Type),
        DataType::UInt16 => integers!(UInt16Type),
        DataType::UInt32 => integers!(UInt32Type),
        DataType::UInt64 => integers!(UInt64Type),
        DataType::Date32 => integers!(Date32Type),
        DataType::Date64 => integers!(Date64Type),
        DataType::Utf8 => hash_strings(column.as_string::<i32>().iter(), hashes),
        DataType::LargeUtf8 => hash_strings(column.as_string::<i64>().iter(), hashes),
        DataType::Utf8View => hash_strings(column.as_string_view().iter(), hashes),
        other => {
            return Err(ErrorKind::Invalid(format!(
                "a key column of type {other} cannot be bucketed (integers, dates and strings can)"
            ))
            .into());
        }
    }
    Ok(())
}

fn hash_strings<'a>(values: impl Iterator<Item = Option<&'a str>>, hashes: &mut [u64]) {
    for (value, hash) in values.zip(hashes) {
        *hash = match value {
            // The length first, so ("ab", "c") and ("a", "bc") differ in a two-column key.
            Some(text) => fnv1a(
                fnv1a(*hash, &(text.len() as u64).to_le_bytes()),
                text.as_bytes(),
            ),
            None => fnv1a(*hash, &[0xff]),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int64Array, StringArray};
    use std::sync::Arc;

    #[test]
    fn buckets_are_stable_across_releases() {
        // These values are the table format: changing them strands every existing table's rows
        // in the wrong buckets. (Worked out independently: FNV-1a of the value as 16
        // little-endian bytes, of a string's length as 8 and then its bytes, modulo 64.)
        let ids: ArrayRef = Arc::new(Int64Array::from(vec![1, 2, 192_790]));
        assert_eq!(buckets_of(&[ids], 64).unwrap(), vec![36, 39, 58]);
        let names: ArrayRef = Arc::new(StringArray::from(vec!["Lisbon", "Porto"]));
        assert_eq!(buckets_of(&[names], 64).unwrap(), vec![24, 28]);
    }

    #[test]
    fn keys_spread_over_every_bucket() {
        let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(0..10_000));
        let buckets = buckets_of(&[ids], 64).unwrap();
        let mut counts = [0usize; 64];
        for b in buckets {
            counts[b as usize] += 1;
        }
        assert!(
            counts.iter().all(|&n| (100..=220).contains(&n)),
            "{counts:?}"
        );
    }
}
