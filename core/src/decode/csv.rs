//! DMS CSV: RFC 4180 quoting, a configurable delimiter and NULL text, an optional header row.

use arrow_schema::SchemaRef;

use super::text::{ColumnBuilder, parse_sequence_number, parse_timestamp_micros};
use super::{
    Decoded, FileRole, Slot, batch, positional_slots, resolve_names, sequence_column_name,
    sequence_kind,
};
use crate::changes::{Op, Sequence};
use crate::error::{Error, ErrorKind, Location, Result};
use crate::spec::{ColumnType, HeaderMode, SequenceKind, TableSpec};

pub(crate) fn decode(
    spec: &TableSpec,
    schema: &SchemaRef,
    file: &str,
    text: &[u8],
    role: FileRole,
) -> Result<Decoded> {
    let at_row = |row: u64| Location::file(file).row(row);
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(spec.csv.delimiter as u8)
        .from_reader(text);
    let mut record = ::csv::ByteRecord::new();
    let read = |reader: &mut ::csv::Reader<&[u8]>, record: &mut ::csv::ByteRecord| {
        reader
            .read_byte_record(record)
            .map_err(|e| ErrorKind::Csv(e.to_string()))
    };

    // The first row decides the layout: a header names the columns, otherwise position does.
    if !read(&mut reader, &mut record).map_err(|e| Error::at(at_row(1), e))? {
        return Err(Error::at(Location::file(file), ErrorKind::EmptyFile));
    }
    let first: Vec<String> = record
        .iter()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect();
    let first: Vec<&str> = first.iter().map(String::as_str).collect();
    let is_header = match spec.csv.header {
        HeaderMode::Present => true,
        HeaderMode::Absent => false,
        HeaderMode::Auto => looks_like_header(&first, spec, schema, role),
    };
    if is_header && std::str::from_utf8(record.as_slice()).is_err() {
        return Err(Error::at(at_row(1), ErrorKind::NotUtf8));
    }
    if let Some(err) = joined_lines(&record, slots_hint_len(spec, schema, role)) {
        return Err(Error::at(at_row(1), err));
    }
    let slots = if is_header {
        resolve_names(&first, spec, schema, role)
    } else {
        positional_slots(first.len(), spec, schema, role)
    }
    .map_err(|e| Error::at(at_row(1), e))?;
    let sequence_name = slots
        .iter()
        .position(|s| *s == Slot::Sequence)
        .map(|i| sequence_column_name(spec, is_header.then(|| first[i].trim())));
    let first_row = if is_header { 2 } else { 1 };

    let capacity = estimate_rows(text, record.as_slice().len() + record.len());
    let mut columns: Vec<ColumnBuilder> = schema
        .fields()
        .iter()
        .map(|f| {
            let column_type = ColumnType::from_data_type(f.data_type())
                .expect("table schemas use supported types");
            ColumnBuilder::new(column_type, capacity)
        })
        .collect();
    let mut ops = Vec::with_capacity(if role == FileRole::Changes {
        capacity
    } else {
        0
    });
    let mut sequence: Vec<i128> = Vec::new();
    let mut kind: Option<SequenceKind> = None;
    let null = spec.csv.null.as_bytes();
    let column_name = |slot: Slot| match slot {
        Slot::Op => spec.cdc.op_column.clone(),
        Slot::Sequence => sequence_name.clone().unwrap_or_default(),
        Slot::Column(i) => schema.field(i).name().clone(),
    };

    let mut row = first_row - 1;
    let mut have_record = !is_header;
    loop {
        if !have_record {
            match read(&mut reader, &mut record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => return Err(Error::at(at_row(row + 1), e)),
            }
        }
        have_record = false;
        row += 1;
        if record.len() != slots.len() {
            let joined_lines = record.iter().any(|f| f.contains(&b'\n'));
            let hint = if joined_lines {
                " (an unclosed quote may have joined several lines)"
            } else {
                ""
            };
            return Err(Error::at(
                at_row(row),
                ErrorKind::FieldCount {
                    expected: slots.len(),
                    found: record.len(),
                    hint,
                },
            ));
        }
        for (field, &slot) in record.iter().zip(&slots) {
            let fail = |kind: ErrorKind| Error::at(at_row(row).column(column_name(slot)), kind);
            let text = std::str::from_utf8(field).map_err(|_| fail(ErrorKind::NotUtf8))?;
            match slot {
                Slot::Column(i) if field == null => columns[i].append_null(),
                Slot::Column(i) => columns[i].append_text(text).map_err(fail)?,
                Slot::Op => ops
                    .push(Op::parse(text).ok_or_else(|| fail(ErrorKind::UnknownOp(text.into())))?),
                Slot::Sequence => {
                    let k = *kind.get_or_insert_with(|| sequence_kind(spec, Some(text)));
                    let value = match k {
                        SequenceKind::Timestamp => parse_timestamp_micros(text).map(i128::from),
                        SequenceKind::Number => parse_sequence_number(text),
                    };
                    let expected = match k {
                        SequenceKind::Timestamp => "a timestamp (YYYY-MM-DD HH:MM:SS.ffffff)",
                        SequenceKind::Number => "a change sequence number",
                    };
                    sequence.push(value.ok_or_else(|| {
                        fail(ErrorKind::Parse {
                            value: text.to_string(),
                            expected,
                        })
                    })?);
                }
            }
        }
    }

    let rows = batch(
        schema,
        columns.into_iter().map(ColumnBuilder::finish).collect(),
    )
    .map_err(|e| Error::at(Location::file(file), e))?;
    let sequence = sequence_name.map(|column| Sequence {
        kind: kind.unwrap_or_else(|| sequence_kind(spec, None)),
        column,
        values: sequence,
    });
    let ops = (role == FileRole::Changes).then_some(ops);
    Ok(Decoded {
        rows,
        ops,
        sequence,
        first_row,
    })
}

/// A first row is a header when at least half of its fields name columns of the file.
fn looks_like_header(first: &[&str], spec: &TableSpec, schema: &SchemaRef, role: FileRole) -> bool {
    let known = |field: &str| {
        let field = field.trim();
        schema
            .fields()
            .iter()
            .any(|f| f.name().eq_ignore_ascii_case(field))
            || (role == FileRole::Changes
                && (spec.cdc.op_column.eq_ignore_ascii_case(field)
                    || spec
                        .cdc
                        .sequence
                        .as_ref()
                        .is_some_and(|s| s.column.eq_ignore_ascii_case(field))))
    };
    let matching = first.iter().filter(|f| known(f)).count();
    matching * 2 >= first.len() && matching > 0
}

/// The fields a row of a change file or snapshot would have without a sequence column.
fn slots_hint_len(spec: &TableSpec, schema: &SchemaRef, role: FileRole) -> usize {
    let extra = match role {
        FileRole::Snapshot => 0,
        FileRole::Changes => 1 + spec.cdc.sequence.is_some() as usize,
    };
    schema.fields().len() + extra
}

/// A short record with a line break inside a field: an unclosed quote swallowed what followed.
fn joined_lines(record: &::csv::ByteRecord, expected: usize) -> Option<ErrorKind> {
    (record.len() < expected && record.iter().any(|f| f.contains(&b'\n'))).then_some(
        ErrorKind::FieldCount {
            expected,
            found: record.len(),
            hint: " (an unclosed quote may have joined several lines)",
        },
    )
}

/// A capacity guess from the size of the first record, so builders rarely reallocate.
fn estimate_rows(text: &[u8], first_record_bytes: usize) -> usize {
    (text.len() / first_record_bytes.max(1)).min(1 << 24) + 1
}
