//! Parsing of single CSV fields into typed values, and builders that collect them into Arrow
//! arrays. Parsers are strict: a value either parses completely or is an error naming it.

use std::sync::Arc;

use arrow_array::ArrayRef;
use arrow_array::builder::{
    BooleanBuilder, Date32Builder, Float64Builder, Int32Builder, Int64Builder, StringBuilder,
    StringDictionaryBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::types::Int32Type;
use arrow_schema::DataType;
use chrono::NaiveDate;

use crate::error::ErrorKind;
use crate::spec::ColumnType;

const UNIX_EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// `YYYY-MM-DD` to days since 1970-01-01.
///
/// ```
/// # use tidemark_core::decode::text::parse_date;
/// assert_eq!(parse_date("1970-01-02"), Some(1));
/// assert_eq!(parse_date("2021-02-29"), None);
/// ```
pub fn parse_date(text: &str) -> Option<i32> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y = digits(&b[0..4])?;
    let m = digits(&b[5..7])?;
    let d = digits(&b[8..10])?;
    let date = NaiveDate::from_ymd_opt(y as i32, m, d)?;
    Some(chrono::Datelike::num_days_from_ce(&date) - UNIX_EPOCH_DAYS_FROM_CE)
}

/// `YYYY-MM-DD HH:MM:SS[.f…]` (or with `T`) to microseconds since the epoch; up to nine
/// fraction digits, anything past microseconds is truncated.
///
/// ```
/// # use tidemark_core::decode::text::parse_timestamp_micros;
/// assert_eq!(parse_timestamp_micros("1970-01-01 00:00:01.000002"), Some(1_000_002));
/// assert_eq!(parse_timestamp_micros("1970-01-01T00:01:00"), Some(60_000_000));
/// assert_eq!(parse_timestamp_micros("1970-01-01 24:00:00"), None);
/// ```
pub fn parse_timestamp_micros(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 19 || !(b[10] == b' ' || b[10] == b'T') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let days = parse_date(&text[..10])? as i64;
    let h = digits(&b[11..13])?;
    let mi = digits(&b[14..16])?;
    let s = digits(&b[17..19])?;
    if h > 23 || mi > 59 || s > 59 {
        return None;
    }
    let mut micros = 0i64;
    if b.len() > 19 {
        let frac = &b[20..];
        if b[19] != b'.' || frac.is_empty() || frac.len() > 9 {
            return None;
        }
        let mut scaled = digits(frac)? as i64;
        for _ in frac.len()..6 {
            scaled *= 10;
        }
        for _ in 6..frac.len() {
            scaled /= 10;
        }
        micros = scaled;
    }
    Some(((days * 24 + h as i64) * 60 + mi as i64) * 60_000_000 + s as i64 * 1_000_000 + micros)
}

/// A non-negative integer of up to 38 digits (a DMS `$AR_H_CHANGE_SEQ` has 35).
pub fn parse_sequence_number(text: &str) -> Option<i128> {
    let b = text.as_bytes();
    if b.is_empty() || b.len() > 38 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    text.parse().ok()
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.len() > 9 {
        return None;
    }
    b.iter().try_fold(0u32, |acc, c| {
        c.is_ascii_digit().then(|| acc * 10 + (c - b'0') as u32)
    })
}

fn parse_bool(text: &str) -> Option<bool> {
    match text.trim() {
        "true" | "t" | "TRUE" | "True" | "1" | "y" | "Y" => Some(true),
        "false" | "f" | "FALSE" | "False" | "0" | "n" | "N" => Some(false),
        _ => None,
    }
}

/// Collects one column's values, parsed from text, into an Arrow array.
pub(crate) enum ColumnBuilder {
    Int32(Int32Builder),
    Int64(Int64Builder),
    Float64(Float64Builder),
    Boolean(BooleanBuilder),
    String(StringBuilder),
    /// Text the table holds dictionary-encoded: each distinct value stored once.
    Dictionary(StringDictionaryBuilder<Int32Type>),
    Date(Date32Builder),
    Timestamp(TimestampMicrosecondBuilder),
}

impl ColumnBuilder {
    /// A builder of arrays of `data_type`, one of the types a table holds.
    pub(crate) fn for_data_type(data_type: &DataType, capacity: usize) -> Self {
        if *data_type == super::dictionary_text() {
            return Self::Dictionary(StringDictionaryBuilder::with_capacity(
                capacity, 1024, 16_384,
            ));
        }
        let column_type =
            ColumnType::from_data_type(data_type).expect("table schemas use supported types");
        Self::new(column_type, capacity)
    }

    fn new(column_type: ColumnType, capacity: usize) -> Self {
        match column_type {
            ColumnType::Int32 => Self::Int32(Int32Builder::with_capacity(capacity)),
            ColumnType::Int64 => Self::Int64(Int64Builder::with_capacity(capacity)),
            ColumnType::Float64 => Self::Float64(Float64Builder::with_capacity(capacity)),
            ColumnType::Boolean => Self::Boolean(BooleanBuilder::with_capacity(capacity)),
            ColumnType::String => {
                Self::String(StringBuilder::with_capacity(capacity, capacity * 12))
            }
            ColumnType::Date => Self::Date(Date32Builder::with_capacity(capacity)),
            ColumnType::Timestamp => {
                Self::Timestamp(TimestampMicrosecondBuilder::with_capacity(capacity))
            }
        }
    }

    pub(crate) fn append_null(&mut self) {
        match self {
            Self::Int32(b) => b.append_null(),
            Self::Int64(b) => b.append_null(),
            Self::Float64(b) => b.append_null(),
            Self::Boolean(b) => b.append_null(),
            Self::String(b) => b.append_null(),
            Self::Dictionary(b) => b.append_null(),
            Self::Date(b) => b.append_null(),
            Self::Timestamp(b) => b.append_null(),
        }
    }

    /// Parses and appends one value; the error says what the text should have been.
    pub(crate) fn append_text(&mut self, text: &str) -> Result<(), ErrorKind> {
        let fail = |expected: &'static str| ErrorKind::Parse {
            value: text.to_string(),
            expected,
        };
        match self {
            Self::Int32(b) => {
                b.append_value(text.trim().parse().map_err(|_| fail("a 32-bit integer"))?)
            }
            Self::Int64(b) => {
                b.append_value(text.trim().parse().map_err(|_| fail("a 64-bit integer"))?)
            }
            Self::Float64(b) => b.append_value(text.trim().parse().map_err(|_| fail("a number"))?),
            Self::Boolean(b) => b.append_value(parse_bool(text).ok_or_else(|| fail("a boolean"))?),
            Self::String(b) => b.append_value(text),
            Self::Dictionary(b) => {
                // Only past 2^31 distinct values, which no table of fewer rows has.
                b.append(text).map_err(|_| {
                    ErrorKind::Invalid("more distinct texts than 32-bit keys".into())
                })?;
            }
            Self::Date(b) => {
                b.append_value(parse_date(text.trim()).ok_or_else(|| fail("a date (YYYY-MM-DD)"))?)
            }
            Self::Timestamp(b) => b.append_value(
                parse_timestamp_micros(text.trim())
                    .ok_or_else(|| fail("a timestamp (YYYY-MM-DD HH:MM:SS.ffffff)"))?,
            ),
        }
        Ok(())
    }

    pub(crate) fn finish(self) -> ArrayRef {
        match self {
            Self::Int32(mut b) => Arc::new(b.finish()),
            Self::Int64(mut b) => Arc::new(b.finish()),
            Self::Float64(mut b) => Arc::new(b.finish()),
            Self::Boolean(mut b) => Arc::new(b.finish()),
            Self::String(mut b) => Arc::new(b.finish()),
            Self::Dictionary(mut b) => Arc::new(b.finish()),
            Self::Date(mut b) => Arc::new(b.finish()),
            Self::Timestamp(mut b) => Arc::new(b.finish()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_days_since_the_epoch() {
        assert_eq!(parse_date("2021-10-18"), Some(18918));
        assert_eq!(parse_date("1969-12-31"), Some(-1));
        for bad in [
            "2021-1-18",
            "2021/10/18",
            "21-10-18xx",
            "2021-10-32",
            "abcd-ef-gh",
            "",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn timestamps_keep_microseconds_and_truncate_nanoseconds() {
        assert_eq!(
            parse_timestamp_micros("2021-10-18 00:00:00"),
            Some(18918 * 86_400_000_000)
        );
        assert_eq!(
            parse_timestamp_micros("1970-01-01 00:00:00.5"),
            Some(500_000)
        );
        assert_eq!(
            parse_timestamp_micros("1970-01-01 00:00:00.123456789"),
            Some(123_456)
        );
        assert_eq!(parse_timestamp_micros("1970-01-01 00:00:00."), None);
        assert_eq!(parse_timestamp_micros("1970-01-01 00:00:00,5"), None);
    }

    #[test]
    fn change_sequences_hold_35_digits() {
        let seq = "20211017194324349000000000000000123";
        assert_eq!(
            parse_sequence_number(seq),
            Some(20211017194324349000000000000000123)
        );
        assert_eq!(parse_sequence_number("12a"), None);
        assert_eq!(parse_sequence_number("-1"), None);
    }
}
