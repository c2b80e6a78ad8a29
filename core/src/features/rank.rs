//! Per-group kernels over a date column: group ids, counts, dense rank.

use arrow_array::cast::AsArray;
use arrow_array::{Array, Date32Array, downcast_integer_array};
use arrow_buffer::ArrowNativeType;
use hashbrown::HashMap;

/// Dense ids for the distinct values of a text column, in order of first appearance, and the
/// values themselves (`None` for the null group); `None` when the column does not hold text.
///
/// The column may be dictionary-encoded (as Parquet files usually store such columns): then
/// each dictionary value is looked at once, not once per row.
///
/// ```
/// use arrow_array::{DictionaryArray, StringArray, types::Int32Type};
/// use tidemark_core::features::rank::group_ids;
/// let cities = StringArray::from(vec![Some("Boston"), None, Some("Austin"), Some("Boston")]);
/// let (ids, names) = group_ids(&cities).unwrap();
/// assert_eq!(ids, [0, 1, 2, 0]);
/// assert_eq!(names, [Some("Boston"), None, Some("Austin")]);
///
/// let encoded: DictionaryArray<Int32Type> = vec!["Boston", "Austin", "Boston"].into_iter().collect();
/// assert_eq!(group_ids(&encoded).unwrap().0, [0, 1, 0]);
/// ```
pub fn group_ids(values: &dyn Array) -> Option<(Vec<u32>, Vec<Option<&str>>)> {
    let mut groups = Numbering::default();
    if let Some(strings) = values.as_string_opt::<i32>() {
        let ids = (0..strings.len())
            .map(|i| groups.id(strings.is_valid(i).then(|| strings.value(i))))
            .collect();
        return Some((ids, groups.names));
    }
    let dictionary = values.as_any_dictionary_opt()?;
    let strings = dictionary.values().as_string_opt::<i32>()?;
    let keys = dictionary.keys();
    downcast_integer_array!(
        keys => {
            // The group of each dictionary value, found the first time a row refers to it,
            // so that ids follow the rows and unused values make no group.
            let mut group_of_value = vec![u32::MAX; strings.len()];
            let ids = (0..keys.len())
                .map(|i| {
                    if keys.is_null(i) {
                        return groups.id(None);
                    }
                    let k = keys.value(i).as_usize();
                    if group_of_value[k] == u32::MAX {
                        group_of_value[k] = groups.id(strings.is_valid(k).then(|| strings.value(k)));
                    }
                    group_of_value[k]
                })
                .collect();
            Some((ids, groups.names))
        },
        _ => None
    )
}

/// Dense ids for values, in order of first appearance.
#[derive(Default)]
struct Numbering<'a> {
    index: HashMap<Option<&'a str>, u32>,
    names: Vec<Option<&'a str>>,
}

impl<'a> Numbering<'a> {
    fn id(&mut self, value: Option<&'a str>) -> u32 {
        *self.index.entry(value).or_insert_with(|| {
            self.names.push(value);
            self.names.len() as u32 - 1
        })
    }
}

/// Group ids as the keys of a dictionary column (groups are far fewer than `i32::MAX`); the
/// buffer is reused, not copied.
pub fn into_keys(groups: Vec<u32>) -> Vec<i32> {
    groups.into_iter().map(|g| g as i32).collect()
}

/// Rows per group.
pub fn group_sizes(groups: &[u32], n_groups: usize) -> Vec<u64> {
    let mut sizes = vec![0u64; n_groups];
    for &g in groups {
        sizes[g as usize] += 1;
    }
    sizes
}

/// Rows per group whose date is on or after `since` (days since the epoch); nulls never count.
pub fn recent_per_group(
    groups: &[u32],
    n_groups: usize,
    dates: &Date32Array,
    since: i32,
) -> Vec<u64> {
    let mut recent = vec![0u64; n_groups];
    for (i, &g) in groups.iter().enumerate() {
        if dates.is_valid(i) && dates.value(i) >= since {
            recent[g as usize] += 1;
        }
    }
    recent
}

/// Dense rank of each row's date within its group, the most recent date ranked 1; equal dates
/// share a rank, and nulls come last, after every date of their group (as SQL's `DESC`).
///
/// ```
/// use arrow_array::Date32Array;
/// use tidemark_core::features::rank::dense_rank_desc;
/// let dates = Date32Array::from(vec![Some(10), Some(30), Some(10), None, Some(5)]);
/// assert_eq!(dense_rank_desc(&[0, 0, 0, 0, 1], 2, &dates), [2, 1, 2, 3, 1]);
/// ```
pub fn dense_rank_desc(groups: &[u32], n_groups: usize, dates: &Date32Array) -> Vec<i64> {
    match DateSpans::new(groups, n_groups, dates) {
        Some(spans) => spans.dense_rank_desc(groups, dates),
        None => dense_rank_desc_by_sorting(groups, n_groups, dates),
    }
}

/// Each group's range of dates, laid end to end: when the ranges are short (dates span years,
/// not millennia), ranks come from counting in them, in linear time.
struct DateSpans {
    /// Where group `g`'s range starts in the flat table, and its first date.
    offset: Vec<usize>,
    first: Vec<i32>,
    len: usize,
}

impl DateSpans {
    /// `None` when the ranges would be much larger than the table itself.
    fn new(groups: &[u32], n_groups: usize, dates: &Date32Array) -> Option<DateSpans> {
        let mut first = vec![i32::MAX; n_groups];
        let mut last = vec![i32::MIN; n_groups];
        for (i, &g) in groups.iter().enumerate() {
            if dates.is_valid(i) {
                let (g, d) = (g as usize, dates.value(i));
                first[g] = first[g].min(d);
                last[g] = last[g].max(d);
            }
        }
        let budget = 4 * groups.len() + 4096;
        let mut offset = Vec::with_capacity(n_groups);
        let mut len = 0usize;
        for g in 0..n_groups {
            offset.push(len);
            if first[g] <= last[g] {
                len += (last[g] as i64 - first[g] as i64 + 1) as usize;
                if len > budget {
                    return None;
                }
            }
        }
        Some(DateSpans { offset, first, len })
    }

    fn slot(&self, g: u32, date: i32) -> usize {
        self.offset[g as usize] + (date as i64 - self.first[g as usize] as i64) as usize
    }

    fn dense_rank_desc(&self, groups: &[u32], dates: &Date32Array) -> Vec<i64> {
        // Mark the dates present, then number them from the most recent down, per group.
        let mut rank = vec![0u32; self.len];
        for (i, &g) in groups.iter().enumerate() {
            if dates.is_valid(i) {
                rank[self.slot(g, dates.value(i))] = 1;
            }
        }
        let n_groups = self.offset.len();
        let mut distinct = vec![0u32; n_groups];
        for g in 0..n_groups {
            let end = self.offset.get(g + 1).copied().unwrap_or(self.len);
            let mut seen = 0;
            for slot in rank[self.offset[g]..end].iter_mut().rev() {
                if *slot != 0 {
                    seen += 1;
                    *slot = seen;
                }
            }
            distinct[g] = seen;
        }
        groups
            .iter()
            .enumerate()
            .map(|(i, &g)| {
                if dates.is_valid(i) {
                    rank[self.slot(g, dates.value(i))] as i64
                } else {
                    distinct[g as usize] as i64 + 1
                }
            })
            .collect()
    }
}

/// The general case: sort (group, date) pairs and find each row's place among the distinct ones.
fn dense_rank_desc_by_sorting(groups: &[u32], n_groups: usize, dates: &Date32Array) -> Vec<i64> {
    // One sortable u64 per row: the group in the high half, the date reversed in the low half
    // (nulls as the largest), so ascending order is "by group, most recent first".
    let keys: Vec<u64> = groups
        .iter()
        .enumerate()
        .map(|(i, &g)| {
            let order = if dates.is_valid(i) {
                (i32::MAX as i64 - dates.value(i) as i64) as u64
            } else {
                u32::MAX as u64
            };
            ((g as u64) << 32) | order
        })
        .collect();
    let mut distinct = keys.clone();
    crate::par::sort_unstable(&mut distinct);
    distinct.dedup();
    // Where each group's distinct dates start among `distinct`.
    let mut group_start = vec![0usize; n_groups];
    for (pos, key) in distinct.iter().enumerate().rev() {
        group_start[(key >> 32) as usize] = pos;
    }
    keys.iter()
        .map(|key| {
            let pos = distinct
                .binary_search(key)
                .expect("every key is among the distinct keys");
            (pos - group_start[(key >> 32) as usize] + 1) as i64
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_restart_in_every_group() {
        let dates = Date32Array::from(vec![1, 2, 3, 1, 2, 3]);
        assert_eq!(
            dense_rank_desc(&[0, 0, 0, 1, 1, 1], 2, &dates),
            [3, 2, 1, 3, 2, 1]
        );
    }

    #[test]
    fn negative_and_extreme_dates_keep_their_order() {
        // Dates too far apart for counting: the sorting path.
        let dates = Date32Array::from(vec![i32::MIN, -1, 0, i32::MAX]);
        assert!(DateSpans::new(&[0, 0, 0, 0], 1, &dates).is_none());
        assert_eq!(dense_rank_desc(&[0, 0, 0, 0], 1, &dates), [4, 3, 2, 1]);
    }

    #[test]
    fn counting_and_sorting_agree() {
        let groups: Vec<u32> = (0..500).map(|i| (i * 7 % 5) as u32).collect();
        let dates: Date32Array = (0..500)
            .map(|i| (i % 9 != 0).then_some(i * 37 % 101 - 50))
            .collect();
        assert!(DateSpans::new(&groups, 5, &dates).is_some());
        assert_eq!(
            dense_rank_desc(&groups, 5, &dates),
            dense_rank_desc_by_sorting(&groups, 5, &dates)
        );
    }

    #[test]
    fn recent_counts_include_the_window_start_and_skip_nulls() {
        let dates = Date32Array::from(vec![Some(9), Some(10), Some(11), None]);
        assert_eq!(recent_per_group(&[0, 0, 1, 1], 2, &dates, 10), [1, 1]);
    }
}
