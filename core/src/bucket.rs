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
    Ok(key_hashes(key)?
        .into_iter()
        .map(|h| bucket_of_hash(h, buckets))
        .collect())
}

/// The hash of each row of `key` (one array per key column) that [`buckets_of`] takes modulo
/// the number of buckets. Equal keys have equal hashes.
pub fn key_hashes(key: &[ArrayRef]) -> Result<Vec<u64>> {
    let rows = key.first().map_or(0, |c| c.len());
    let mut hashes = vec![FNV_OFFSET; rows];
    for column in key {
        hash_column(column, &mut hashes)?;
    }
    Ok(hashes)
}

/// The bucket, among `buckets` (at least 1), of a key of hash `hash` ([`key_hashes`]).
pub fn bucket_of_hash(hash: u64, buckets: u32) -> u32 {
    (hash % u64::from(buckets)) as u32
}

/// Whether the keys of rows read a part at a time (a full load in several files, none held
/// once read) are unique, for 8 bytes a row: the hash of each key.
///
/// Equal keys have equal hashes, so hashes seen once prove their keys unique. A hash seen
/// more than once is a key that repeats, or (rarely, about one table in 30,000 at 30 million
/// rows) two keys that share a hash: the caller reads the parts again and checks those keys
/// alone with [`RepeatedKeys`].
///
/// ```
/// use std::sync::Arc;
/// use arrow_array::{ArrayRef, Int64Array};
/// use tidemark_core::bucket::{KeyHashes, key_hashes};
/// let mut seen = KeyHashes::default();
/// let first: ArrayRef = Arc::new(Int64Array::from(vec![1, 2, 3]));
/// let second: ArrayRef = Arc::new(Int64Array::from(vec![4, 2]));
/// seen.add(&key_hashes(&[first]).unwrap());
/// seen.add(&key_hashes(&[second]).unwrap());
/// assert_eq!(seen.repeated().len(), 1);
/// ```
#[derive(Debug, Default)]
pub struct KeyHashes {
    hashes: Vec<u64>,
}

impl KeyHashes {
    pub fn add(&mut self, hashes: &[u64]) {
        self.hashes.extend_from_slice(hashes);
    }

    /// The hashes seen more than once, in order; empty when every key was seen once.
    pub fn repeated(mut self) -> Vec<u64> {
        crate::par::sort_unstable(&mut self.hashes);
        let mut repeated: Vec<u64> = self
            .hashes
            .windows(2)
            .filter(|pair| pair[0] == pair[1])
            .map(|pair| pair[0])
            .collect();
        repeated.dedup();
        repeated
    }
}

/// The second reading of [`KeyHashes`]: the rows whose key has a hash seen more than once,
/// compared by value, part after part; the first key seen again is a
/// [`DuplicateKey`](ErrorKind::DuplicateKey) error at its second row, naming the first.
#[derive(Debug)]
pub struct RepeatedKeys {
    suspects: Vec<u64>,
    /// Each suspect row's key (its values as text, column by column) and where it was.
    seen: std::collections::HashMap<Vec<String>, crate::error::Location>,
}

impl RepeatedKeys {
    /// For the hashes [`KeyHashes::repeated`] gave.
    pub fn new(suspects: Vec<u64>) -> RepeatedKeys {
        RepeatedKeys {
            suspects,
            seen: Default::default(),
        }
    }

    /// Checks the rows of one part: `key` its key columns (named `key_names`), `sources`
    /// where each row came from.
    pub fn check(
        &mut self,
        key: &[ArrayRef],
        key_names: &[String],
        sources: &crate::changes::Sources,
    ) -> crate::error::Result<()> {
        let options = arrow_cast::display::FormatOptions::default().with_null("NULL");
        let formatters = key
            .iter()
            .map(|c| arrow_cast::display::ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(crate::error::Error::from)?;
        for (row, hash) in key_hashes(key)?.into_iter().enumerate() {
            if self.suspects.binary_search(&hash).is_err() {
                continue;
            }
            let values: Vec<String> = formatters
                .iter()
                .map(|f| f.value(row).to_string())
                .collect();
            let here = sources.locate(row);
            if let Some(first) = self.seen.get(&values) {
                let key = match values.len() {
                    1 => values[0].clone(),
                    _ => format!("({})", values.join(", ")),
                };
                return Err(crate::error::Error::at(
                    here.column(key_names.join(", ")),
                    ErrorKind::DuplicateKey {
                        key,
                        first: first.to_string(),
                    },
                ));
            }
            self.seen.insert(values, here);
        }
        Ok(())
    }
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
