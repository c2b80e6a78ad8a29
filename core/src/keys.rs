//! Keys: dense ids for the keys a batch of changes touches, and lookups of other rows among them.
//!
//! Only the changed keys are hashed into a table; the snapshot's rows probe that small table.
//! A single integer key is hashed as an integer; any other key (strings, several columns) is
//! first turned into comparable bytes with `arrow-row`.

use arrow_array::ArrayRef;
use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type};
use arrow_buffer::ScalarBuffer;
use arrow_row::{RowConverter, Rows, SortField};
use arrow_schema::DataType;
use hashbrown::DefaultHashBuilder;
use hashbrown::hash_table::{Entry, HashTable};
use std::hash::BuildHasher;

/// The key values of a set of rows, in a form that hashes and compares quickly.
pub(crate) enum KeyValues {
    Int(ScalarBuffer<i64>),
    Rows(Rows),
}

impl KeyValues {
    pub(crate) fn new(columns: &[ArrayRef]) -> KeyValues {
        if let [column] = columns {
            match column.data_type() {
                DataType::Int64 => {
                    return KeyValues::Int(column.as_primitive::<Int64Type>().values().clone());
                }
                DataType::Int32 => {
                    let values = column
                        .as_primitive::<Int32Type>()
                        .values()
                        .iter()
                        .map(|&v| v as i64);
                    return KeyValues::Int(values.collect());
                }
                _ => {}
            }
        }
        let fields = columns
            .iter()
            .map(|c| SortField::new(c.data_type().clone()))
            .collect();
        let converter = RowConverter::new(fields).expect("key types are supported by arrow-row");
        KeyValues::Rows(
            converter
                .convert_columns(columns)
                .expect("columns match the converter"),
        )
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            KeyValues::Int(v) => v.len(),
            KeyValues::Rows(r) => r.num_rows(),
        }
    }

    /// The integer keys, when they are integers in strictly increasing order (full loads
    /// usually come ordered by primary key).
    fn strictly_increasing(&self) -> Option<&[i64]> {
        match self {
            KeyValues::Int(v) if v.windows(2).all(|w| w[0] < w[1]) => Some(v),
            _ => None,
        }
    }

    fn hash(&self, hasher: &DefaultHashBuilder, i: usize) -> u64 {
        match self {
            KeyValues::Int(v) => hasher.hash_one(v[i]),
            KeyValues::Rows(r) => hasher.hash_one(r.row(i).as_ref()),
        }
    }

    /// Whether row `i` of `self` and row `j` of `other` hold the same key.
    fn same(&self, i: usize, other: &KeyValues, j: usize) -> bool {
        match (self, other) {
            (KeyValues::Int(a), KeyValues::Int(b)) => a[i] == b[j],
            (KeyValues::Rows(a), KeyValues::Rows(b)) => a.row(i) == b.row(j),
            _ => false,
        }
    }
}

/// The distinct keys of the changed rows, numbered in order of first appearance.
pub(crate) struct KeyMap {
    keys: KeyValues,
    /// For each id, the changed row where the key first appears.
    first_row: Vec<u32>,
    index: Index,
    hasher: DefaultHashBuilder,
}

enum Index {
    /// A single integer key is kept beside its id: a probe touches one place in memory, which
    /// matters when ten million snapshot rows probe a million keys.
    Int(HashTable<(i64, u32)>),
    /// Any other key is compared through the changed rows' encoded keys.
    Rows(HashTable<u32>),
}

impl KeyMap {
    /// Numbers the keys of `keys`; returns the map and the id of every row.
    pub(crate) fn build(keys: KeyValues) -> (KeyMap, Vec<u32>) {
        let hasher = DefaultHashBuilder::default();
        let mut first_row: Vec<u32> = Vec::new();
        let mut ids = Vec::with_capacity(keys.len());
        let next_id = |row: usize, first_row: &mut Vec<u32>| {
            first_row.push(row as u32);
            first_row.len() as u32 - 1
        };
        let index = match &keys {
            KeyValues::Int(values) => {
                let mut table: HashTable<(i64, u32)> = HashTable::with_capacity(values.len());
                for (row, &key) in values.iter().enumerate() {
                    let entry = table.entry(
                        hasher.hash_one(key),
                        |&(k, _)| k == key,
                        |&(k, _)| hasher.hash_one(k),
                    );
                    let id = match entry {
                        Entry::Occupied(e) => e.get().1,
                        Entry::Vacant(e) => e.insert((key, next_id(row, &mut first_row))).get().1,
                    };
                    ids.push(id);
                }
                Index::Int(table)
            }
            KeyValues::Rows(_) => {
                let mut table: HashTable<u32> = HashTable::with_capacity(keys.len());
                for row in 0..keys.len() {
                    let entry = table.entry(
                        keys.hash(&hasher, row),
                        |&id| keys.same(first_row[id as usize] as usize, &keys, row),
                        |&id| keys.hash(&hasher, first_row[id as usize] as usize),
                    );
                    let id = match entry {
                        Entry::Occupied(e) => *e.get(),
                        Entry::Vacant(e) => *e.insert(next_id(row, &mut first_row)).get(),
                    };
                    ids.push(id);
                }
                Index::Rows(table)
            }
        };
        (
            KeyMap {
                keys,
                first_row,
                index,
                hasher,
            },
            ids,
        )
    }

    pub(crate) fn len(&self) -> usize {
        self.first_row.len()
    }

    /// The row of the keys the map was built from where the key of `id` first appears.
    pub(crate) fn first_row(&self, id: u32) -> usize {
        self.first_row[id as usize] as usize
    }

    /// The id of every row of `other`, or `absent` where its key is not among the changed
    /// keys.
    ///
    /// Integer keys in increasing order (a full load, usually) are merged with the changed
    /// keys sorted: a walk through memory in order instead of one random access per row.
    pub(crate) fn ids_of(&self, other: &KeyValues, absent: u32) -> Vec<u32> {
        if let (Index::Int(table), Some(sorted)) = (&self.index, other.strictly_increasing()) {
            let mut changed: Vec<(i64, u32)> = table.iter().copied().collect();
            changed.sort_unstable();
            let mut next = changed.iter().peekable();
            return sorted
                .iter()
                .map(|&key| {
                    while next.next_if(|&&(k, _)| k < key).is_some() {}
                    match next.peek() {
                        Some(&&(k, id)) if k == key => id,
                        _ => absent,
                    }
                })
                .collect();
        }
        (0..other.len())
            .map(|row| self.probe(other, row).unwrap_or(absent))
            .collect()
    }

    /// The id of row `row` of `other`, if its key is among the changed keys.
    pub(crate) fn probe(&self, other: &KeyValues, row: usize) -> Option<u32> {
        match (&self.index, other) {
            (Index::Int(table), KeyValues::Int(values)) => {
                let key = values[row];
                table
                    .find(self.hasher.hash_one(key), |&(k, _)| k == key)
                    .map(|&(_, id)| id)
            }
            (Index::Rows(table), _) => table
                .find(other.hash(&self.hasher, row), |&id| {
                    self.keys
                        .same(self.first_row[id as usize] as usize, other, row)
                })
                .copied(),
            (Index::Int(_), KeyValues::Rows(_)) => None,
        }
    }
}

/// The first pair of rows that share a key, if any: `(first, repeat)`.
pub(crate) fn find_duplicate(keys: &KeyValues) -> Option<(usize, usize)> {
    // Full loads usually come ordered by primary key: then uniqueness is one pass.
    if keys.strictly_increasing().is_some() {
        return None;
    }
    let hasher = DefaultHashBuilder::default();
    let mut seen: HashTable<u32> = HashTable::with_capacity(keys.len());
    for row in 0..keys.len() {
        let hash = keys.hash(&hasher, row);
        match seen.entry(
            hash,
            |&r| keys.same(r as usize, keys, row),
            |&r| keys.hash(&hasher, r as usize),
        ) {
            Entry::Occupied(e) => return Some((*e.get() as usize, row)),
            Entry::Vacant(e) => {
                e.insert(row as u32);
            }
        }
    }
    None
}

/// The key of row `row` as text, for messages: `12`, or `(12, "eu")` for a composite key.
pub(crate) fn format_key(columns: &[ArrayRef], row: usize) -> String {
    let options = arrow_cast::display::FormatOptions::default().with_null("NULL");
    let parts: Vec<String> = columns
        .iter()
        .map(|c| {
            arrow_cast::display::ArrayFormatter::try_new(c.as_ref(), &options)
                .map(|f| f.value(row).to_string())
                .unwrap_or_else(|_| "?".into())
        })
        .collect();
    if parts.len() == 1 {
        parts.into_iter().next().unwrap()
    } else {
        format!("({})", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int64Array, StringArray};
    use std::sync::Arc;

    #[test]
    fn ids_follow_first_appearance_and_probes_find_them() {
        let changed: ArrayRef = Arc::new(Int64Array::from(vec![7, 3, 7, 9]));
        let (map, ids) = KeyMap::build(KeyValues::new(&[changed]));
        assert_eq!(ids, [0, 1, 0, 2]);
        assert_eq!(map.len(), 3);
        let snapshot: ArrayRef = Arc::new(Int64Array::from(vec![1, 9, 3]));
        let probe = KeyValues::new(&[snapshot]);
        let found: Vec<Option<u32>> = (0..3).map(|r| map.probe(&probe, r)).collect();
        assert_eq!(found, [None, Some(2), Some(1)]);
        assert_eq!(map.ids_of(&probe, u32::MAX), [u32::MAX, 2, 1]);
    }

    #[test]
    fn sorted_rows_are_merged_with_the_changed_keys() {
        let changed: ArrayRef = Arc::new(Int64Array::from(vec![7, 3, 7, 9, 12, -4]));
        let (map, _) = KeyMap::build(KeyValues::new(&[changed]));
        let sorted: ArrayRef = Arc::new(Int64Array::from(vec![-5, -4, 1, 3, 8, 9, 10, 11, 13]));
        let rows = KeyValues::new(&[sorted]);
        assert!(rows.strictly_increasing().is_some());
        let want: Vec<u32> = (0..rows.len())
            .map(|r| map.probe(&rows, r).unwrap_or(u32::MAX))
            .collect();
        assert_eq!(
            want,
            [
                u32::MAX,
                4,
                u32::MAX,
                1,
                u32::MAX,
                2,
                u32::MAX,
                u32::MAX,
                u32::MAX
            ]
        );
        assert_eq!(map.ids_of(&rows, u32::MAX), want);
    }

    #[test]
    fn composite_keys_compare_every_column() {
        let a: ArrayRef = Arc::new(Int64Array::from(vec![1, 1, 1]));
        let b: ArrayRef = Arc::new(StringArray::from(vec!["x", "y", "x"]));
        let (_, ids) = KeyMap::build(KeyValues::new(&[a.clone(), b.clone()]));
        assert_eq!(ids, [0, 1, 0]);
        assert_eq!(
            find_duplicate(&KeyValues::new(&[a.clone(), b.clone()])),
            Some((0, 2))
        );
        assert_eq!(format_key(&[a, b], 1), "(1, y)");
    }

    #[test]
    fn duplicates_are_found_in_unsorted_keys() {
        let keys: ArrayRef = Arc::new(Int64Array::from(vec![5, 2, 8, 2]));
        assert_eq!(find_duplicate(&KeyValues::new(&[keys])), Some((1, 3)));
        let sorted: ArrayRef = Arc::new(Int64Array::from(vec![1, 2, 3]));
        assert_eq!(find_duplicate(&KeyValues::new(&[sorted])), None);
    }
}
