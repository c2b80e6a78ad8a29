//! How values read on screen: Arrow's display of each type, with dates as YYYY-MM-DD, times as
//! `YYYY-MM-DD HH:MM:SS` (fractions only when there are some), and floating-point numbers (the
//! rates) to four decimals. The full value is one hover away ([`Cells::full`]); exports write
//! the table itself, so they keep every digit.

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type};
use arrow_array::{Array, ArrayRef, Float32Array, Float64Array};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::DataType;

/// The display options of every value the app shows.
pub fn options() -> FormatOptions<'static> {
    FormatOptions::default()
        .with_null("null")
        .with_date_format(Some("%Y-%m-%d"))
        // Date64: a date, whatever milliseconds it counts.
        .with_datetime_format(Some("%Y-%m-%d"))
        .with_timestamp_format(Some("%Y-%m-%d %H:%M:%S%.f"))
        .with_timestamp_tz_format(Some("%Y-%m-%d %H:%M:%S%.f %:z"))
}

/// `0.4286` for 0.42857142857142855: four decimals at most, no trailing zeros, and a value
/// that would round to zero in scientific notation (`1.23e-7`) rather than shown as 0.
pub fn compact(value: f64) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    if value != 0.0 && value.abs() < 0.00005 {
        return format!("{value:.2e}");
    }
    let text = format!("{value:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    match text {
        "-0" => "0".to_string(),
        other => other.to_string(),
    }
}

enum Floats<'a> {
    F64(&'a Float64Array),
    F32(&'a Float32Array),
    /// A dictionary-encoded column (the app holds some so): its keys, and its values as f64.
    Dictionary {
        keys: &'a dyn Array,
        values: Float64Array,
    },
}

/// The dictionary key at `row`, as an index into the values.
fn key_at(keys: &dyn Array, row: usize) -> Option<usize> {
    if keys.is_null(row) {
        return None;
    }
    let one = arrow_cast::cast(&keys.slice(row, 1), &DataType::UInt64).ok()?;
    Some(
        one.as_primitive::<arrow_array::types::UInt64Type>()
            .value(0) as usize,
    )
}

/// One column's values as text: shown (compact) and full.
pub struct Cells<'a> {
    text: ArrayFormatter<'a>,
    floats: Option<Floats<'a>>,
}

impl<'a> Cells<'a> {
    pub fn new(column: &'a ArrayRef) -> Option<Cells<'a>> {
        let text = ArrayFormatter::try_new(column.as_ref(), &options()).ok()?;
        let floats = match column.data_type() {
            DataType::Float64 => Some(Floats::F64(column.as_primitive::<Float64Type>())),
            DataType::Float32 => Some(Floats::F32(column.as_primitive::<Float32Type>())),
            DataType::Dictionary(_, value) if value.is_floating() => {
                let dictionary = column.as_any_dictionary();
                let values = arrow_cast::cast(dictionary.values(), &DataType::Float64).ok()?;
                Some(Floats::Dictionary {
                    keys: dictionary.keys(),
                    values: values.as_primitive::<Float64Type>().clone(),
                })
            }
            _ => None,
        };
        Some(Cells { text, floats })
    }

    /// The value as the table shows it.
    pub fn shown(&self, row: usize) -> String {
        let float = match &self.floats {
            Some(Floats::F64(a)) if a.is_valid(row) => Some(a.value(row)),
            Some(Floats::F32(a)) if a.is_valid(row) => Some(f64::from(a.value(row))),
            Some(Floats::Dictionary { keys, values }) => key_at(*keys, row)
                .filter(|&k| values.is_valid(k))
                .map(|k| values.value(k)),
            _ => None,
        };
        match float {
            Some(value) => compact(value),
            None => self.full(row),
        }
    }

    /// The value with every digit, as the file holds it.
    pub fn full(&self, row: usize) -> String {
        self.text.value(row).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn rates_show_four_decimals_and_keep_every_digit_in_full() {
        assert_eq!(compact(3.0 / 7.0), "0.4286");
        assert_eq!(compact(1.0 / 3.0), "0.3333");
        assert_eq!(compact(0.5), "0.5");
        assert_eq!(compact(1.0), "1");
        assert_eq!(compact(0.0), "0");
        assert_eq!(compact(-0.00001), "-1.00e-5");
        assert_eq!(compact(12_345.678_91), "12345.6789");
        assert_eq!(compact(f64::NAN), "NaN");
        let column: ArrayRef = Arc::new(Float64Array::from(vec![Some(3.0 / 7.0), None]));
        let cells = Cells::new(&column).unwrap();
        assert_eq!(cells.shown(0), "0.4286");
        assert_eq!(cells.full(0), "0.42857142857142855");
        assert_eq!(cells.shown(1), "null");
        let keys = arrow_array::Int32Array::from(vec![Some(1), None, Some(0)]);
        let values = Float64Array::from(vec![0.5, 1.0 / 3.0]);
        let column: ArrayRef =
            Arc::new(arrow_array::DictionaryArray::try_new(keys, Arc::new(values)).unwrap());
        let cells = Cells::new(&column).unwrap();
        assert_eq!(
            (cells.shown(0), cells.shown(1), cells.shown(2)),
            ("0.3333".into(), "null".into(), "0.5".into())
        );
        assert_eq!(cells.full(0), "0.3333333333333333");
    }

    #[test]
    fn dates_and_times_read_year_first_without_the_t() {
        let dates: ArrayRef = Arc::new(arrow_array::Date32Array::from(vec![18_917]));
        assert_eq!(Cells::new(&dates).unwrap().shown(0), "2021-10-17");
        let date64: ArrayRef = Arc::new(arrow_array::Date64Array::from(vec![1_634_428_800_000]));
        assert_eq!(Cells::new(&date64).unwrap().shown(0), "2021-10-17");
        let times: ArrayRef = Arc::new(arrow_array::TimestampMicrosecondArray::from(vec![
            1_634_464_800_000_000,
            1_634_464_800_250_000,
        ]));
        let cells = Cells::new(&times).unwrap();
        assert_eq!(cells.shown(0), "2021-10-17 10:00:00");
        assert_eq!(cells.shown(1), "2021-10-17 10:00:00.250");
    }
}
