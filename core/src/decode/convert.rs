//! Converting a column of a Parquet file to the table's type, only when no value changes.
//!
//! Arrow's cast turns what it cannot convert into nulls (or, for a float into an integer,
//! drops the fraction): a bad date would become a null, `1.5` a key `1`. Here a conversion is
//! taken only when it is exact; the first value that is not names its row.
//!
//! - Text into text only changes how it is held (plain or dictionary-encoded).
//! - Text into another type is parsed by the rules of CSV fields ([`ColumnBuilder`]), so a
//!   Parquet file and a CSV file with the same text give the same table, or the same error.
//! - Any other value converts when converting it back gives the value again: `2.0` into an
//!   integer column, an `Int64` that fits an `Int32`, a timestamp at midnight into a date.
//! - Finer timestamps (nanoseconds) lose what is past the microsecond, as CSV text does.
//! - A null stays null: that is no failure.

use arrow_array::{Array, ArrayRef};
use arrow_cast::CastOptions;
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::{DataType, TimeUnit};

use super::text::ColumnBuilder;
use crate::error::ErrorKind;

/// Why a column could not be converted: at the index of its first value that could not, or
/// (`index` none) for the column as a whole (a type with no conversion to the target).
#[derive(Debug)]
pub(crate) struct Inexact {
    pub index: Option<usize>,
    pub kind: ErrorKind,
}

/// `array` as `target`, every non-null value unchanged, or the first value that would change.
pub(crate) fn exact_cast(array: &ArrayRef, target: &DataType) -> Result<ArrayRef, Inexact> {
    let source = array.data_type();
    if source == target {
        return Ok(array.clone());
    }
    let whole_column = |reason: String| Inexact {
        index: None,
        kind: ErrorKind::Columns(format!("cannot read {source} as {target}{reason}")),
    };
    match (is_text(source), is_text(target)) {
        (true, false) => return parse_text(array, target),
        // Text into text changes how it is held (plain, dictionary), never a value.
        (true, true) => {
            return arrow_cast::cast(array, target).map_err(|e| whole_column(format!(": {e}")));
        }
        _ => {}
    }
    let safe = CastOptions {
        safe: true,
        ..Default::default()
    };
    let converted = arrow_cast::cast_with_options(array, target, &safe)
        .map_err(|e| whole_column(format!(": {e}")))?;
    let first_changed = if drops_sub_units(source, target) {
        // Only a value that became null changed beyond the precision the table keeps.
        (0..array.len()).find(|&i| array.is_valid(i) && converted.is_null(i))
    } else {
        let back = arrow_cast::cast_with_options(&converted, source, &safe)
            .map_err(|e| whole_column(format!(": {e}")))?;
        // A value differs, or became null (`distinct` never is null).
        let changed =
            arrow_ord::cmp::distinct(&back, array).map_err(|e| whole_column(format!(": {e}")))?;
        changed.values().set_indices().next()
    };
    match first_changed {
        None => Ok(converted),
        Some(index) => Err(Inexact {
            index: Some(index),
            kind: ErrorKind::InexactCast {
                value: display_value(array, index),
                from: source.to_string(),
                to: target.to_string(),
            },
        }),
    }
}

/// Text parsed as CSV fields are: the same rules, the same errors.
fn parse_text(array: &ArrayRef, target: &DataType) -> Result<ArrayRef, Inexact> {
    let text = arrow_cast::cast(array, &DataType::Utf8).map_err(|e| Inexact {
        index: None,
        kind: ErrorKind::Columns(format!("cannot read {} as text: {e}", array.data_type())),
    })?;
    let text = arrow_array::cast::AsArray::as_string::<i32>(&text);
    let mut builder = ColumnBuilder::for_data_type(target, text.len());
    for (index, value) in text.iter().enumerate() {
        match value {
            None => builder.append_null(),
            Some(value) => builder.append_text(value).map_err(|kind| Inexact {
                index: Some(index),
                kind,
            })?,
        }
    }
    Ok(builder.finish())
}

fn is_text(data_type: &DataType) -> bool {
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, value) => is_text(value),
        _ => false,
    }
}

/// A timestamp into a coarser unit (nanoseconds into microseconds): the part past the
/// table's unit is dropped, as it is from CSV text with more than six fraction digits.
fn drops_sub_units(source: &DataType, target: &DataType) -> bool {
    let rank = |unit: &TimeUnit| match unit {
        TimeUnit::Second => 0,
        TimeUnit::Millisecond => 1,
        TimeUnit::Microsecond => 2,
        TimeUnit::Nanosecond => 3,
    };
    match (source, target) {
        (DataType::Timestamp(from, _), DataType::Timestamp(to, _)) => rank(from) > rank(to),
        _ => false,
    }
}

fn display_value(array: &ArrayRef, index: usize) -> String {
    ArrayFormatter::try_new(array.as_ref(), &FormatOptions::default())
        .map(|f| f.value(index).to_string())
        .unwrap_or_else(|_| "?".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::*;
    use arrow_array::*;
    use std::sync::Arc;

    fn failure(array: ArrayRef, target: DataType) -> (Option<usize>, String) {
        let err = exact_cast(&array, &target).expect_err("the cast must fail");
        (err.index, err.kind.to_string())
    }

    #[test]
    fn whole_floats_become_integers_and_fractions_are_refused() {
        let floats: ArrayRef = Arc::new(Float64Array::from(vec![Some(1.0), None, Some(-3.0)]));
        let ints = exact_cast(&floats, &DataType::Int64).unwrap();
        assert_eq!(
            ints.as_primitive::<Int64Type>(),
            &Int64Array::from(vec![Some(1), None, Some(-3)])
        );
        for (bad, shown) in [(2.5, "2.5"), (f64::NAN, "NaN"), (1e300, "1e300")] {
            let floats: ArrayRef = Arc::new(Float64Array::from(vec![1.0, bad]));
            assert_eq!(
                failure(floats, DataType::Int64),
                (
                    Some(1),
                    format!("cannot convert {shown} from Float64 to Int64 without changing it")
                )
            );
        }
    }

    #[test]
    fn integers_convert_only_within_range() {
        let fits: ArrayRef = Arc::new(Int64Array::from(vec![i32::MIN as i64, i32::MAX as i64]));
        assert!(exact_cast(&fits, &DataType::Int32).is_ok());
        let over: ArrayRef = Arc::new(Int64Array::from(vec![0, i32::MAX as i64 + 1]));
        assert_eq!(failure(over, DataType::Int32).0, Some(1));
        let unsigned: ArrayRef = Arc::new(UInt64Array::from(vec![u64::MAX]));
        assert_eq!(failure(unsigned, DataType::Int64).0, Some(0));
        // 2^53 + 1 has no double: into a float column it would become 2^53.
        let wide: ArrayRef = Arc::new(Int64Array::from(vec![1 << 53, (1 << 53) + 1]));
        assert_eq!(failure(wide, DataType::Float64).0, Some(1));
    }

    #[test]
    fn decimals_convert_when_whole() {
        let whole: ArrayRef = Arc::new(
            Decimal128Array::from(vec![1200, -500])
                .with_precision_and_scale(10, 2)
                .unwrap(),
        );
        let ints = exact_cast(&whole, &DataType::Int64).unwrap();
        assert_eq!(ints.as_primitive::<Int64Type>().values(), &[12, -5]);
        let fraction: ArrayRef = Arc::new(
            Decimal128Array::from(vec![1200, 1250])
                .with_precision_and_scale(10, 2)
                .unwrap(),
        );
        assert_eq!(
            failure(fraction, DataType::Int64),
            (
                Some(1),
                "cannot convert 12.50 from Decimal128(10, 2) to Int64 without changing it".into()
            )
        );
    }

    #[test]
    fn text_is_parsed_by_the_csv_rules() {
        let text: ArrayRef = Arc::new(StringArray::from(vec![Some("2021-10-01"), None]));
        let dates = exact_cast(&text, &DataType::Date32).unwrap();
        assert_eq!(dates.null_count(), 1);
        let bad: ArrayRef = Arc::new(StringArray::from(vec!["2021-10-01", "01/10/2021"]));
        assert_eq!(
            failure(bad, DataType::Date32),
            (
                Some(1),
                "cannot parse \"01/10/2021\" as a date (YYYY-MM-DD)".into()
            )
        );
        let empty: ArrayRef = Arc::new(StringArray::from(vec![""]));
        assert_eq!(failure(empty, DataType::Int64).0, Some(0));
    }

    #[test]
    fn timestamps_keep_microseconds_and_dates_refuse_a_time_of_day() {
        let nanos: ArrayRef = Arc::new(TimestampNanosecondArray::from(vec![1_000_001_999]));
        let micros = exact_cast(
            &nanos,
            &DataType::Timestamp(arrow_schema::TimeUnit::Microsecond, None),
        )
        .unwrap();
        assert_eq!(
            micros.as_primitive::<TimestampMicrosecondType>().value(0),
            1_000_001
        );
        let seconds: ArrayRef = Arc::new(TimestampSecondArray::from(vec![i64::MAX]));
        assert_eq!(
            failure(
                seconds,
                DataType::Timestamp(arrow_schema::TimeUnit::Microsecond, None)
            )
            .0,
            Some(0)
        );
        let noon: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![0, 43_200_000_000]));
        assert_eq!(failure(noon, DataType::Date32).0, Some(1));
    }

    #[test]
    fn text_into_text_changes_only_its_layout() {
        let large: ArrayRef = Arc::new(LargeStringArray::from(vec![Some("Austin"), None]));
        let dictionary = exact_cast(&large, &crate::decode::dictionary_text()).unwrap();
        let plain = arrow_cast::cast(&dictionary, &DataType::Utf8).unwrap();
        assert_eq!(
            plain.as_string::<i32>(),
            &StringArray::from(vec![Some("Austin"), None])
        );
    }

    #[test]
    fn values_into_text_are_written_as_they_are() {
        let ints: ArrayRef = Arc::new(Int64Array::from(vec![Some(7), None]));
        let text = exact_cast(&ints, &DataType::Utf8).unwrap();
        assert_eq!(
            text.as_string::<i32>(),
            &StringArray::from(vec![Some("7"), None])
        );
    }
}
