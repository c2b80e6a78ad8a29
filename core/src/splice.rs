//! Splicing: one array from runs of rows of others. Applying changes builds the new table
//! this way, from long runs of untouched snapshot rows and the single rows of changes.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int32Type;
use arrow_array::{
    Array, ArrayRef, ArrowPrimitiveType, DictionaryArray, PrimitiveArray, downcast_primitive_array,
    make_array,
};
use arrow_buffer::{BooleanBufferBuilder, NullBuffer};
use arrow_data::transform::MutableArrayData;
use arrow_schema::{ArrowError, DataType};

/// Rows `start..end` of source `source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    pub source: usize,
    pub start: usize,
    pub end: usize,
}

impl Run {
    pub const fn new(source: usize, start: usize, end: usize) -> Run {
        Run { source, start, end }
    }

    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
}

/// The rows of `runs`, in order, as one array of the sources' (common) type.
///
/// Primitive columns, and dictionary columns with `Int32` keys, copy each run with one slice
/// copy; other types go through `arrow_data`'s `MutableArrayData`, which pays a dynamic call
/// per run and buffer.
///
/// ```
/// use arrow_array::{Array, Int64Array};
/// use tidemark_core::splice::{Run, splice};
/// let old = Int64Array::from(vec![1, 2, 3, 4]);
/// let new = Int64Array::from(vec![Some(20), None]);
/// let runs = [Run::new(0, 0, 1), Run::new(1, 0, 2), Run::new(0, 3, 4)];
/// let spliced = splice(&[&old, &new], &runs).unwrap();
/// assert_eq!(spliced.as_ref(), &Int64Array::from(vec![Some(1), Some(20), None, Some(4)]) as &dyn Array);
/// ```
pub fn splice(sources: &[&dyn Array], runs: &[Run]) -> Result<ArrayRef, ArrowError> {
    let Some(first) = sources.first() else {
        return Err(ArrowError::InvalidArgumentError(
            "splice needs at least one source".into(),
        ));
    };
    let data_type = first.data_type();
    if let Some(other) = sources.iter().find(|s| s.data_type() != data_type) {
        return Err(ArrowError::InvalidArgumentError(format!(
            "cannot splice {} with {}",
            data_type,
            other.data_type()
        )));
    }
    if let Some(run) = runs
        .iter()
        .find(|r| r.source >= sources.len() || r.start > r.end || r.end > sources[r.source].len())
    {
        return Err(ArrowError::InvalidArgumentError(format!(
            "run {run:?} is outside its source"
        )));
    }
    let len = runs.iter().map(Run::len).sum();
    let first: &dyn Array = *first;
    downcast_primitive_array!(
        first => Ok(splice_primitive(first, sources, runs, len)),
        DataType::Dictionary(key, _) if **key == DataType::Int32 => splice_dictionary(sources, runs, len),
        _ => splice_any(sources, runs, len)
    )
}

/// `first` is `sources[0]`, typed.
fn splice_primitive<T: ArrowPrimitiveType>(
    first: &PrimitiveArray<T>,
    sources: &[&dyn Array],
    runs: &[Run],
    len: usize,
) -> ArrayRef {
    let sources: Vec<&PrimitiveArray<T>> = sources.iter().map(|s| s.as_primitive::<T>()).collect();
    let mut values = Vec::with_capacity(len);
    for run in runs {
        values.extend_from_slice(&sources[run.source].values()[run.start..run.end]);
    }
    let nulls: Vec<Option<&NullBuffer>> = sources.iter().map(|s| s.nulls()).collect();
    let spliced = PrimitiveArray::<T>::new(values.into(), splice_nulls(&nulls, runs, len));
    Arc::new(spliced.with_data_type(first.data_type().clone()))
}

/// The keys are spliced; the dictionaries are shared when every source has the same one (a
/// table and the feature columns computed from it), else laid end to end, each source's keys
/// shifted to its part.
fn splice_dictionary(
    sources: &[&dyn Array],
    runs: &[Run],
    len: usize,
) -> Result<ArrayRef, ArrowError> {
    let dictionaries: Vec<&DictionaryArray<Int32Type>> = sources
        .iter()
        .map(|s| s.as_dictionary::<Int32Type>())
        .collect();
    let shared = dictionaries
        .windows(2)
        .all(|w| Arc::ptr_eq(w[0].values(), w[1].values()));
    let (values, shifts): (ArrayRef, Vec<i32>) = if shared {
        (dictionaries[0].values().clone(), vec![0; sources.len()])
    } else {
        let mut shifts = Vec::with_capacity(sources.len());
        let mut total = 0usize;
        for d in &dictionaries {
            shifts.push(i32::try_from(total).map_err(|_| ArrowError::DictionaryKeyOverflowError)?);
            total += d.values().len();
        }
        i32::try_from(total).map_err(|_| ArrowError::DictionaryKeyOverflowError)?;
        let parts: Vec<&dyn Array> = dictionaries.iter().map(|d| d.values().as_ref()).collect();
        (arrow_select::concat::concat(&parts)?, shifts)
    };
    let mut keys = Vec::with_capacity(len);
    for run in runs {
        let part = &dictionaries[run.source].keys().values()[run.start..run.end];
        match shifts[run.source] {
            0 => keys.extend_from_slice(part),
            // Null slots hold any key: wrapping keeps them harmless.
            shift => keys.extend(part.iter().map(|k| k.wrapping_add(shift))),
        }
    }
    let nulls: Vec<Option<&NullBuffer>> = dictionaries.iter().map(|d| d.keys().nulls()).collect();
    let keys = PrimitiveArray::<Int32Type>::new(keys.into(), splice_nulls(&nulls, runs, len));
    Ok(Arc::new(DictionaryArray::try_new(keys, values)?))
}

fn splice_nulls(nulls: &[Option<&NullBuffer>], runs: &[Run], len: usize) -> Option<NullBuffer> {
    if nulls.iter().all(Option::is_none) {
        return None;
    }
    let mut valid = BooleanBufferBuilder::new(len);
    for run in runs {
        match nulls[run.source] {
            Some(n) => {
                let bits = n.inner();
                let from = bits.offset();
                valid.append_packed_range(from + run.start..from + run.end, bits.values());
            }
            None => valid.append_n(run.len(), true),
        }
    }
    Some(NullBuffer::new(valid.finish()))
}

fn splice_any(sources: &[&dyn Array], runs: &[Run], len: usize) -> Result<ArrayRef, ArrowError> {
    let data: Vec<_> = sources.iter().map(|s| s.to_data()).collect();
    let mut spliced = MutableArrayData::new(data.iter().collect(), false, len);
    for run in runs {
        spliced.try_extend(run.source, run.start, run.end)?;
    }
    Ok(make_array(spliced.freeze()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int64Array, StringArray, TimestampMicrosecondArray};
    use proptest::prelude::*;

    /// What splicing means, one row at a time.
    fn row_by_row(sources: &[&dyn Array], runs: &[Run]) -> ArrayRef {
        let rows: Vec<(usize, usize)> = runs
            .iter()
            .flat_map(|r| (r.start..r.end).map(move |i| (r.source, i)))
            .collect();
        arrow_select::interleave::interleave(sources, &rows).unwrap()
    }

    fn runs_over(lens: [usize; 2]) -> impl Strategy<Value = Vec<Run>> {
        prop::collection::vec((0..2usize, 0..16usize, 0..16usize), 0..12).prop_map(move |raw| {
            raw.into_iter()
                .filter(|(s, _, _)| lens[*s] > 0)
                .map(|(source, a, b)| {
                    let (a, b) = (a % (lens[source] + 1), b % (lens[source] + 1));
                    Run::new(source, a.min(b), a.max(b))
                })
                .collect()
        })
    }

    fn int_column() -> impl Strategy<Value = Int64Array> {
        prop::collection::vec(prop::option::weighted(0.8, -5i64..5), 0..16)
            .prop_map(Int64Array::from)
    }

    fn text_column() -> impl Strategy<Value = DictionaryArray<Int32Type>> {
        prop::collection::vec(prop::option::weighted(0.8, "[abc]{0,2}"), 0..16)
            .prop_map(|v| v.iter().map(|s| s.as_deref()).collect())
    }

    proptest! {
        #[test]
        fn integers_splice_as_row_by_row(
            (a, b, skip, runs) in (int_column(), int_column(), 0..3usize).prop_flat_map(|(a, b, skip)| {
                let skip = skip.min(a.len());
                let lens = [a.len() - skip, b.len()];
                (Just(a), Just(b), Just(skip), runs_over(lens))
            })
        ) {
            let a = a.slice(skip, a.len() - skip); // an offset into the null bitmap too
            let sources: [&dyn Array; 2] = [&a, &b];
            prop_assert_eq!(splice(&sources, &runs).unwrap().to_data(), row_by_row(&sources, &runs).to_data());
        }

        #[test]
        fn dictionaries_splice_to_the_same_values_as_row_by_row(
            (a, b, runs) in (text_column(), text_column()).prop_flat_map(|(a, b)| {
                let lens = [a.len(), b.len()];
                (Just(a), Just(b), runs_over(lens))
            })
        ) {
            let sources: [&dyn Array; 2] = [&a, &b];
            let plain = |array: &dyn Array| arrow_cast::cast(array, &DataType::Utf8).unwrap();
            let spliced = splice(&sources, &runs).unwrap();
            prop_assert_eq!(spliced.data_type(), a.data_type());
            let (got, want) = (plain(&spliced), plain(&row_by_row(&sources, &runs)));
            prop_assert_eq!(got.to_data(), want.to_data());
        }
    }

    #[test]
    fn a_shared_dictionary_stays_shared() {
        let values: ArrayRef = Arc::new(StringArray::from(vec!["Austin", "Boston"]));
        let a = DictionaryArray::<Int32Type>::new(vec![0, 1, 0].into(), values.clone());
        let b = DictionaryArray::<Int32Type>::new(vec![1].into(), values.clone());
        let runs = [Run::new(1, 0, 1), Run::new(0, 0, 3)];
        let spliced = splice(&[&a, &b], &runs).unwrap();
        let spliced = spliced.as_dictionary::<Int32Type>();
        assert!(Arc::ptr_eq(spliced.values(), &values));
        assert_eq!(spliced.keys().values().as_ref(), [1, 0, 1, 0]);
    }

    #[test]
    fn other_types_and_time_zones_come_through() {
        let a = StringArray::from(vec![Some("x"), None]);
        let b = StringArray::from(vec!["y"]);
        let runs = [Run::new(1, 0, 1), Run::new(0, 0, 2)];
        let spliced = splice(&[&a, &b], &runs).unwrap();
        assert_eq!(
            spliced.as_string::<i32>(),
            &StringArray::from(vec![Some("y"), Some("x"), None])
        );

        let t = TimestampMicrosecondArray::from(vec![1, 2]).with_timezone("UTC");
        let spliced = splice(&[&t], &[Run::new(0, 1, 2)]).unwrap();
        assert_eq!(spliced.data_type(), t.data_type());
    }

    #[test]
    fn mismatched_sources_and_runs_out_of_range_are_errors() {
        let a = Int64Array::from(vec![1]);
        let b = StringArray::from(vec!["x"]);
        assert!(splice(&[&a, &b], &[]).is_err());
        assert!(splice(&[&a], &[Run::new(0, 0, 2)]).is_err());
        assert!(splice(&[&a], &[Run::new(1, 0, 0)]).is_err());
    }
}
