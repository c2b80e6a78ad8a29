//! DMS CSV: RFC 4180 quoting, a configurable delimiter and NULL text, an optional header row.

use arrow_array::{Array, ArrayRef};
use arrow_schema::SchemaRef;

use super::layout::{FieldRole, FileLayout, is_known_name, named_sequence_kind, sequence_kind};
use super::text::{ColumnBuilder, parse_sequence_number, parse_timestamp_micros};
use super::{Decoded, FileRole, batch};
use crate::changes::{Op, Sequence};
use crate::error::{Cause, Error, ErrorKind, Location, Result};
use crate::files::is_transaction_file;
use crate::par;
use crate::spec::{HeaderMode, SequenceKind, TableSpec};

/// Files smaller than this are decoded in one part: below it, cutting and joining cost more
/// than the second core gives.
const PART_BYTES: usize = 8 << 20;

pub(crate) fn decode(
    spec: &TableSpec,
    schema: &SchemaRef,
    file: &str,
    text: &[u8],
    role: FileRole,
) -> Result<Decoded> {
    // Several parts per thread, so a thread slowed by other work does not hold up the rest.
    let parts = match par::threads() {
        1 => 1,
        threads => (text.len() / PART_BYTES).clamp(1, 4 * threads),
    };
    decode_in_parts(spec, schema, file, text, role, parts)
}

/// Decodes `text` cut into at most `parts` pieces of whole records, side by side, and joins
/// them: the same rows, and the same first error, as decoding it in one piece.
pub(crate) fn decode_in_parts(
    spec: &TableSpec,
    schema: &SchemaRef,
    file: &str,
    text: &[u8],
    role: FileRole,
    parts: usize,
) -> Result<Decoded> {
    let layout = Layout::read(spec, schema, file, text, role)?;
    let body = &text[layout.body_start..];
    let pieces = cut_at_records(body, parts, spec.csv.delimiter as u8);
    let decoded = par::map_owned(pieces, |piece| {
        decode_records(spec, schema, file, &layout, piece)
    });

    // In file order: a piece's rows follow the rows of the pieces before it.
    let mut rows_before = 0;
    let mut pieces = Vec::with_capacity(decoded.len());
    for piece in decoded {
        let mut piece = piece.map_err(|e| e.rows_later(rows_before))?;
        for row in &mut piece.kept {
            *row += rows_before;
        }
        rows_before += piece.rows as u64;
        pieces.push(piece);
    }
    let other_tables = pieces.iter().map(|p| p.other_tables).sum();
    let row_numbers = layout.fields.source_at().map(|_| {
        pieces
            .iter_mut()
            .flat_map(|p| std::mem::take(&mut p.kept))
            .collect()
    });
    let columns = (0..schema.fields().len())
        .map(|i| {
            let parts: Vec<ArrayRef> = pieces
                .iter_mut()
                .map(|p| {
                    std::mem::replace(
                        &mut p.columns[i],
                        arrow_array::new_empty_array(schema.field(i).data_type()),
                    )
                })
                .collect();
            concat_column(&parts)
        })
        .collect::<Result<Vec<_>, _>>()
        .and_then(|columns| batch(schema, columns))
        .map_err(|e| Error::at(Location::file(file), e))?;
    let sequence = layout.fields.sequence_name().map(|column| Sequence {
        kind: layout.sequence_kind,
        column: column.to_string(),
        values: pieces
            .iter_mut()
            .flat_map(|p| std::mem::take(&mut p.sequence))
            .collect(),
    });
    let change_sequence = layout.fields.change_sequence_at().map(|_| {
        pieces
            .iter_mut()
            .flat_map(|p| std::mem::take(&mut p.change_sequence))
            .collect()
    });
    let before_image = before_image_columns(&layout.fields)
        .map(|i| {
            let parts: Vec<ArrayRef> = pieces
                .iter_mut()
                .map(|p| {
                    p.before_image[i]
                        .take()
                        .expect("every piece reads the layout's before-images")
                })
                .collect();
            concat_column(&parts).map(|values| (i, values))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::at(Location::file(file), e))?;
    let ops = (role == FileRole::Changes && layout.fields.has_op()).then(|| {
        pieces
            .iter_mut()
            .flat_map(|p| std::mem::take(&mut p.ops))
            .collect()
    });
    Ok(Decoded {
        rows: columns,
        ops,
        sequence,
        change_sequence,
        before_image,
        first_row: layout.fields.first_row(),
        row_numbers,
        other_tables,
    })
}

/// The table columns whose before-images the layout reads (key columns of change files).
fn before_image_columns(layout: &FileLayout) -> impl Iterator<Item = usize> + '_ {
    layout.fields.iter().filter_map(|f| match f {
        FieldRole::BeforeImage(i) => Some(*i),
        _ => None,
    })
}

fn concat_column(parts: &[ArrayRef]) -> Result<ArrayRef, ErrorKind> {
    match parts {
        [one] => Ok(one.clone()),
        parts => {
            let parts: Vec<&dyn Array> = parts.iter().map(AsRef::as_ref).collect();
            arrow_select::concat::concat(&parts).map_err(ErrorKind::from)
        }
    }
}

/// What the first record of a file says about the rest.
struct Layout {
    /// What each field of a record holds, and whether a header row comes first.
    fields: FileLayout,
    /// Where the first data record starts.
    body_start: usize,
    /// The spec's, or else what the first data record's sequence looks like.
    sequence_kind: SequenceKind,
    /// The size of the first record, to guess how many rows a piece holds.
    record_bytes: usize,
}

impl Layout {
    fn read(
        spec: &TableSpec,
        schema: &SchemaRef,
        file: &str,
        text: &[u8],
        role: FileRole,
    ) -> Result<Layout> {
        let at_row = |row: u64| Location::file(file).row(row);
        let mut reader = reader(spec, text);
        let mut record = ::csv::ByteRecord::new();
        // The first row decides the layout: a header names the columns, otherwise position does.
        if !read(&mut reader, &mut record).map_err(|e| Error::at(at_row(1), e))? {
            return Err(Error::at(Location::file(file), ErrorKind::EmptyFile));
        }
        let first: Vec<String> = record
            .iter()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect();
        let first: Vec<&str> = first.iter().map(String::as_str).collect();
        let transactions = role == FileRole::Changes && is_transaction_file(file);
        let is_header = match spec.csv.header {
            HeaderMode::Present => true,
            HeaderMode::Absent => false,
            HeaderMode::Auto => looks_like_header(&first, spec, schema),
        };
        if is_header && std::str::from_utf8(record.as_slice()).is_err() {
            return Err(Error::at(at_row(1), ErrorKind::NotUtf8));
        }
        if transactions {
            return Layout::of_transactions(spec, schema, file, text, is_header, &first);
        }
        if let Some(err) = joined_lines(&record, slots_hint_len(spec, schema, role)) {
            return Err(Error::at(at_row(1), err));
        }
        let fields = if is_header {
            FileLayout::from_names(&first, spec, schema, role, true)
        } else {
            FileLayout::from_positions(&first, spec, schema, role)
        }
        .map_err(|e| Error::at(at_row(1), e))?;
        let record_bytes = record.as_slice().len() + record.len();
        let body_start = if is_header {
            reader.position().byte() as usize
        } else {
            0
        };

        let sequence_at = fields.sequence_at();
        // Decided once, before the pieces are decoded apart: the first value shows which kind.
        let first_data = match is_header {
            true => read(&mut reader, &mut record).unwrap_or(false),
            false => true,
        };
        let sample = sequence_at
            .filter(|_| first_data)
            .and_then(|i| record.get(i))
            .and_then(|f| std::str::from_utf8(f).ok());
        Ok(Layout {
            fields,
            body_start,
            sequence_kind: sequence_kind(named_sequence_kind(spec), sample),
            record_bytes,
        })
    }
}

impl Layout {
    /// A transaction file's layout: from its header, or else from its first record of the
    /// spec's source table (records of other tables may have other widths). A file with no
    /// record of the table gets the layout such a record would have: every record is skipped.
    fn of_transactions(
        spec: &TableSpec,
        schema: &SchemaRef,
        file: &str,
        text: &[u8],
        is_header: bool,
        first: &[&str],
    ) -> Result<Layout> {
        let at_row = |row: u64| Location::file(file).row(row);
        let Some(source) = &spec.cdc.source else {
            return Err(Error::at(at_row(1), ErrorKind::NoSourceTable));
        };
        let mut reader = reader(spec, text);
        let mut record = ::csv::ByteRecord::new();
        let mut row = 0;
        let mut body_start = 0;
        if is_header {
            read(&mut reader, &mut record).map_err(|e| Error::at(at_row(1), e))?;
            row = 1;
            body_start = reader.position().byte() as usize;
        }
        let header = is_header
            .then(|| FileLayout::for_transactions(first, spec, schema, true))
            .transpose()
            .map_err(|e| Error::at(at_row(1), e))?;
        let (at_table, at_schema) = header
            .as_ref()
            .map_or((1, 2), |h| h.source_at().expect("a transaction layout"));
        // The first record of the source table.
        let mut sample: Option<Vec<String>> = None;
        let mut record_bytes = 0;
        while read_numbered(&mut reader, &mut record, &mut row, file)? {
            if record.get(at_table) == Some(source.table.as_bytes())
                && record.get(at_schema) == Some(source.schema.as_bytes())
            {
                record_bytes = record.as_slice().len() + record.len();
                sample = Some(
                    record
                        .iter()
                        .map(|f| String::from_utf8_lossy(f).into_owned())
                        .collect(),
                );
                break;
            }
        }
        let sample_row = row;
        let fields = match (header, &sample) {
            (Some(layout), _) => layout,
            (None, Some(found)) => {
                let found: Vec<&str> = found.iter().map(String::as_str).collect();
                FileLayout::for_transactions(&found, spec, schema, false)
                    .map_err(|e| Error::at(at_row(sample_row), e))?
            }
            (None, None) => {
                // No record of the table: the width one would have; none is decoded.
                let width = 3
                    + schema.fields().len()
                    + spec.cdc.metadata.len()
                    + spec.cdc.sequence.is_some() as usize;
                let mut like = vec![""; width];
                like[0] = spec.cdc.ops.insert.first().map_or("I", String::as_str);
                FileLayout::for_transactions(&like, spec, schema, false)
                    .map_err(|e| Error::at(at_row(1), e))?
            }
        };
        let text_sample = fields
            .sequence_at()
            .and_then(|i| sample.as_ref().and_then(|s| s.get(i)))
            .map(String::as_str);
        Ok(Layout {
            sequence_kind: sequence_kind(named_sequence_kind(spec), text_sample),
            fields,
            body_start,
            record_bytes: record_bytes.max(1),
        })
    }
}

/// The layout the decoder follows for this file (from its first record or header).
pub(crate) fn file_layout(
    spec: &TableSpec,
    schema: &SchemaRef,
    file: &str,
    text: &[u8],
    role: FileRole,
) -> Result<FileLayout> {
    Layout::read(spec, schema, file, text, role).map(|layout| layout.fields)
}

/// The columns of one piece of a file, and its operations and sequence values.
struct Piece {
    columns: Vec<ArrayRef>,
    ops: Vec<Op>,
    sequence: Vec<i128>,
    change_sequence: Vec<i128>,
    /// Per table column, the before-images read of it, if the layout has them.
    before_image: Vec<Option<ArrayRef>>,
    /// The records read, those of other tables included.
    rows: usize,
    /// In a transaction file: the row number of each record decoded, as if the piece started
    /// the file's data.
    kept: Vec<u64>,
    /// In a transaction file: the records of other tables, skipped.
    other_tables: usize,
}

/// Decodes whole records; errors count rows from the layout's first row, as if the piece
/// started the file's data.
fn decode_records(
    spec: &TableSpec,
    schema: &SchemaRef,
    file: &str,
    layout: &Layout,
    text: &[u8],
) -> Result<Piece> {
    let at_row = |row: u64| Location::file(file).row(row);
    let fields = &layout.fields;
    let slots = &fields.fields;
    let capacity = estimate_rows(text, layout.record_bytes);
    let mut columns: Vec<ColumnBuilder> = schema
        .fields()
        .iter()
        .map(|f| ColumnBuilder::for_data_type(f.data_type(), capacity))
        .collect();
    // A full load's operations (DMS `IncludeOpForFullLoad`) are checked, not kept.
    let keeps_ops = fields.has_op() && fields.role == FileRole::Changes;
    let mut ops = Vec::with_capacity(if keeps_ops { capacity } else { 0 });
    let mut sequence: Vec<i128> = Vec::new();
    let mut change_sequence: Vec<i128> = Vec::new();
    let mut before_image: Vec<Option<ColumnBuilder>> =
        schema.fields().iter().map(|_| None).collect();
    for i in before_image_columns(fields) {
        before_image[i] = Some(ColumnBuilder::for_data_type(
            schema.field(i).data_type(),
            capacity,
        ));
    }
    let null = spec.csv.null.as_bytes();
    let (parse_sequence, expected): (fn(&str) -> Option<i128>, _) = match layout.sequence_kind {
        SequenceKind::Timestamp => (
            |t| parse_timestamp_micros(t).map(i128::from),
            "a timestamp (YYYY-MM-DD HH:MM:SS.ffffff)",
        ),
        SequenceKind::Number => (parse_sequence_number, "a change sequence number"),
    };

    // Valid UTF-8 as a whole means every field is: fields are cut at ASCII bytes (the spec
    // checks the delimiter is one) and unquoting removes only ASCII quotes, and an ASCII byte is
    // never part of a longer UTF-8 sequence. One pass over the piece instead of one per field.
    // The delimiter is checked here too, not only when a spec is read: a `CsvDialect` built in
    // code can hold any char, and a non-ASCII one (cut to a byte by the reader) could split a
    // UTF-8 sequence. Then every field is checked on its own.
    let all_utf8 = spec.csv.delimiter.is_ascii() && std::str::from_utf8(text).is_ok();
    let mut reader = reader(spec, text);
    let mut record = ::csv::ByteRecord::new();
    let mut row = fields.first_row() - 1;
    // A transaction file: which records are the source table's, and the columns files may
    // lack (read as null).
    let source = fields.source_at().zip(spec.cdc.source.as_ref());
    let mut kept = Vec::new();
    let mut other_tables = 0;
    let absent: Vec<usize> = (0..schema.fields().len())
        .filter(|i| !slots.contains(&FieldRole::Column(*i)))
        .collect();
    while read_numbered(&mut reader, &mut record, &mut row, file)? {
        if let Some(((at_table, at_schema), wanted)) = source {
            for (at, what) in [(at_table, "table"), (at_schema, "schema")] {
                if record.get(at).is_none_or(<[u8]>::is_empty) {
                    return Err(Error::at(
                        at_row(row).column(&fields.names[at]),
                        ErrorKind::MissingSourceName(what),
                    ));
                }
            }
            if record.get(at_table) != Some(wanted.table.as_bytes())
                || record.get(at_schema) != Some(wanted.schema.as_bytes())
            {
                other_tables += 1;
                continue;
            }
            kept.push(row);
        }
        for &i in &absent {
            columns[i].append_null();
        }
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
        for ((field, &slot), name) in record.iter().zip(slots).zip(&fields.names) {
            if matches!(
                slot,
                FieldRole::Metadata | FieldRole::SourceTable | FieldRole::SourceSchema
            ) {
                continue;
            }
            let fail = |kind: ErrorKind| Error::at(at_row(row).column(name), kind);
            let text = match all_utf8 {
                // SAFETY: a field of valid UTF-8 text cut at ASCII bytes (an ASCII delimiter,
                // ASCII quotes), see `all_utf8`. Measured on 2026-12-01 (10m DMS CSV, release,
                // 6 alternating rounds): a check per field instead made the read phase slower in
                // every round, median 2.05 s against 1.87 s.
                true => unsafe { std::str::from_utf8_unchecked(field) },
                false => std::str::from_utf8(field).map_err(|_| fail(ErrorKind::NotUtf8))?,
            };
            match slot {
                FieldRole::Column(i) if field == null => columns[i].append_null(),
                FieldRole::Column(i) => columns[i].append_text(text).map_err(fail)?,
                FieldRole::BeforeImage(i) => {
                    let values = before_image[i].as_mut().expect("made for the layout");
                    match field == null {
                        true => values.append_null(),
                        false => values.append_text(text).map_err(fail)?,
                    }
                }
                FieldRole::Op => {
                    let op = fields.ops.read(text).map_err(fail)?;
                    match keeps_ops {
                        true => ops.push(op),
                        false if op != Op::Insert => {
                            return Err(fail(ErrorKind::NotAnInsert(text.into())));
                        }
                        false => {}
                    }
                }
                FieldRole::Metadata | FieldRole::SourceTable | FieldRole::SourceSchema => {}
                FieldRole::ChangeSequence => {
                    change_sequence.push(parse_sequence_number(text).ok_or_else(|| {
                        fail(ErrorKind::Parse {
                            value: text.to_string(),
                            expected: "a change sequence number",
                        })
                    })?)
                }
                FieldRole::Sequence => sequence.push(parse_sequence(text).ok_or_else(|| {
                    fail(ErrorKind::Parse {
                        value: text.to_string(),
                        expected,
                    })
                })?),
            }
        }
    }
    Ok(Piece {
        columns: columns.into_iter().map(ColumnBuilder::finish).collect(),
        ops,
        sequence,
        change_sequence,
        before_image: before_image
            .into_iter()
            .map(|b| b.map(ColumnBuilder::finish))
            .collect(),
        rows: (row + 1 - fields.first_row()) as usize,
        kept,
        other_tables,
    })
}

fn reader<'a>(spec: &TableSpec, text: &'a [u8]) -> ::csv::Reader<&'a [u8]> {
    ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(spec.csv.delimiter as u8)
        .from_reader(text)
}

/// Records looked at to tell whether a text column repeats itself.
const SAMPLE_RECORDS: usize = 1 << 16;

/// Which of the `candidates` (columns of the table, by index) repeat their values in the first
/// records of `text`: one distinct value in two records or fewer, as cities and names do and
/// identifiers do not. A file that cannot be read that far counts what it has; decoding it
/// reports what is wrong with it.
pub(crate) fn repetitive_columns(
    spec: &TableSpec,
    schema: &SchemaRef,
    text: &[u8],
    candidates: &[usize],
) -> Vec<usize> {
    let Ok(layout) = Layout::read(spec, schema, "", text, FileRole::Snapshot) else {
        return Vec::new();
    };
    // (the field of a record, the column) of each candidate the file holds.
    let fields: Vec<(usize, usize)> = layout
        .fields
        .fields
        .iter()
        .enumerate()
        .filter_map(|(at, slot)| match slot {
            FieldRole::Column(i) if candidates.contains(i) => Some((at, *i)),
            _ => None,
        })
        .collect();
    let mut distinct = vec![std::collections::HashSet::<Vec<u8>>::new(); fields.len()];
    let mut reader = reader(spec, &text[layout.body_start..]);
    let mut record = ::csv::ByteRecord::new();
    let mut records = 0;
    while records < SAMPLE_RECORDS && matches!(read(&mut reader, &mut record), Ok(true)) {
        records += 1;
        for (seen, &(at, _)) in distinct.iter_mut().zip(&fields) {
            match record.get(at) {
                Some(value) if !seen.contains(value) => {
                    seen.insert(value.to_vec());
                }
                _ => {}
            }
        }
    }
    fields
        .iter()
        .zip(&distinct)
        .filter(|(_, seen)| records > 0 && seen.len() * 2 <= records)
        .map(|(&(_, column), _)| column)
        .collect()
}

/// Reads the next record into `record` and counts it in `row` (the file's row number of the
/// record last read); an error names the row it is on.
fn read_numbered(
    reader: &mut ::csv::Reader<&[u8]>,
    record: &mut ::csv::ByteRecord,
    row: &mut u64,
    file: &str,
) -> Result<bool> {
    let more =
        read(reader, record).map_err(|e| Error::at(Location::file(file).row(*row + 1), e))?;
    *row += u64::from(more);
    Ok(more)
}

fn read(
    reader: &mut ::csv::Reader<&[u8]>,
    record: &mut ::csv::ByteRecord,
) -> Result<bool, ErrorKind> {
    reader
        .read_byte_record(record)
        .map_err(|e| ErrorKind::Csv(Cause::new(e)))
}

/// `text`, whole records from its start, cut into at most `parts` pieces of about equal size.
///
/// Each cut follows a line break outside quoted fields, where the reader of the whole text
/// would start a record. Quotes are followed as the csv crate reads them (RFC 4180): a quote
/// opens a quoted field only at the start of a field, `""` inside one stands for a quote, and
/// any other quote is a plain character. Only quotes and line breaks are looked at, found with
/// `memchr`, so a file without quotes is cut at the cost of finding a few line breaks.
pub(crate) fn cut_at_records(text: &[u8], parts: usize, delimiter: u8) -> Vec<&[u8]> {
    let mut pieces = Vec::with_capacity(parts);
    let mut start = 0;
    for k in 1..parts {
        let target = (text.len() / parts * k).max(start);
        match record_end_after(text, start, target, delimiter) {
            Some(end) if end < text.len() => {
                pieces.push(&text[start..end]);
                start = end;
            }
            _ => break,
        }
    }
    pieces.push(&text[start..]);
    pieces
}

/// The end of the first record that ends at or after `target`, reading from `from` (the start
/// of a record); `None` when no record ends there (the text ends inside a quoted field, or
/// without a line break after `target`).
fn record_end_after(text: &[u8], from: usize, target: usize, delimiter: u8) -> Option<usize> {
    let starts_field = |at: usize| {
        at == from || matches!(text[at - 1], b'\n' | b'\r') || text[at - 1] == delimiter
    };
    let mut at = from;
    let mut line_break = None;
    loop {
        // Outside quotes: a line break past the target ends the search, unless a quote comes first.
        if line_break.is_none_or(|b| b < at) {
            let look = at.max(target);
            line_break = Some(look + memchr::memchr(b'\n', &text[look..])?);
        }
        let line_break_at = line_break.expect("found above");
        match memchr::memchr(b'"', &text[at..line_break_at]) {
            None => return Some(line_break_at + 1),
            Some(q) => {
                let quote = at + q;
                at = quote + 1;
                if !starts_field(quote) {
                    continue; // a plain character
                }
                // Inside a quoted field: up to the quote that closes it (not one of a pair).
                loop {
                    let close = at + memchr::memchr(b'"', &text[at..])?;
                    if text.get(close + 1) == Some(&b'"') {
                        at = close + 2;
                    } else {
                        at = close + 1;
                        break;
                    }
                }
            }
        }
    }
}

/// A first row is a header when at least half of its fields name columns of the file.
fn looks_like_header(first: &[&str], spec: &TableSpec, schema: &SchemaRef) -> bool {
    let source_column = |name: &str| {
        spec.cdc.source.as_ref().is_some_and(|s| {
            s.table_column.eq_ignore_ascii_case(name.trim())
                || s.schema_column.eq_ignore_ascii_case(name.trim())
        })
    };
    let matching = first
        .iter()
        .filter(|f| is_known_name(f, spec, schema) || source_column(f))
        .count();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::InputFile;
    use proptest::prelude::*;

    fn records(text: &[u8]) -> Vec<Vec<Vec<u8>>> {
        let mut reader = ::csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text);
        reader
            .byte_records()
            .map(|r| r.unwrap().iter().map(<[u8]>::to_vec).collect())
            .collect()
    }

    proptest! {
        /// The csv crate reads the same records from the pieces, one after another, as from
        /// the whole text: cuts fall where records start, whatever the quotes do.
        #[test]
        fn pieces_hold_the_records_of_the_whole_text(
            text in proptest::collection::vec(
                prop::sample::select(vec![b'a', b'1', b',', b'"', b'"', b'\n', b'\r', b' ']), 0..300),
            parts in 1usize..12,
        ) {
            let pieces = cut_at_records(&text, parts, b',');
            prop_assert!(pieces.len() <= parts);
            prop_assert_eq!(pieces.concat(), text.clone());
            let joined: Vec<_> = pieces.iter().flat_map(|p| records(p)).collect();
            prop_assert_eq!(joined, records(&text));
        }
    }

    /// A dialect built in code, past the spec's check, with a delimiter whose low byte is a
    /// UTF-8 continuation byte (U+01AB cuts to 0xAB, the second byte of `ë`): text that is valid
    /// UTF-8 as a whole splits into fields that are not, which are checked one by one and
    /// refused, never taken as text unchecked.
    #[test]
    fn a_non_ascii_delimiter_built_in_code_cannot_make_unchecked_text() {
        let mut spec = TableSpec::users();
        spec.csv.delimiter = '\u{01AB}';
        let schema = spec.schema().unwrap();
        let text = "1\u{00EB}Ann\u{00EB}Austin\u{00EB}2021-01-01\n".as_bytes();
        let err = decode(&spec, &schema, "LOAD00000001.csv", text, FileRole::Snapshot).unwrap_err();
        assert_eq!(*err.kind(), ErrorKind::NotUtf8, "{err}");
    }

    #[test]
    fn a_quoted_line_break_is_not_a_cut() {
        let text = b"1,\"a\nb\",x\n2,\"\"\"\n\",y\n3,c\"\n,z\n";
        let cuts: Vec<usize> = (1..=text.len())
            .flat_map(|parts| cut_at_records(text, parts, b','))
            .map(|p| p.as_ptr() as usize - text.as_ptr() as usize)
            .collect();
        // Records start at 0, 10 (after `"a\nb"`) and 20 (after `"""\n"`). The quote in `c"`
        // is a plain character, so the line break after it ends a record too (25).
        for cut in cuts {
            assert!([0, 10, 20, 25].contains(&cut), "cut at {cut}");
        }
    }

    fn decode_users(text: &str, role: FileRole, parts: usize) -> Result<Decoded> {
        let spec = TableSpec::users();
        let schema = spec.schema().unwrap();
        let file = InputFile::new("cdc.csv", text.as_bytes().to_vec());
        decode_in_parts(&spec, &schema, &file.name, &file.bytes, role, parts)
    }

    fn change_file(rows: usize) -> String {
        let mut text = String::from("Op,ts,user_id,name,city,last_login\n");
        for i in 0..rows {
            let op = ["I", "U", "D"][i % 3];
            let name = if i % 7 == 0 {
                format!("\"Doe, \"\"J{i}\"\"\"")
            } else {
                format!("N{i}")
            };
            let city = if i % 5 == 0 { "" } else { "Austin" };
            text += &format!(
                "{op},2021-10-17 00:00:{:02}.{i:06},{i},{name},{city},2021-0{}-1{}\n",
                i % 60,
                1 + i % 9,
                i % 10
            );
        }
        text
    }

    #[test]
    fn a_file_decoded_in_parts_is_the_file_decoded_whole() {
        let text = change_file(500);
        let whole = decode_users(&text, FileRole::Changes, 1).unwrap();
        for parts in [2, 3, 8, 64] {
            let pieces = decode_users(&text, FileRole::Changes, parts).unwrap();
            assert_eq!(pieces.rows, whole.rows, "{parts} parts");
            assert_eq!(pieces.ops, whole.ops);
            assert_eq!(pieces.sequence, whole.sequence);
            assert_eq!(pieces.first_row, 2);
        }
        assert_eq!(whole.rows.num_rows(), 500);
    }

    #[test]
    fn an_error_in_a_later_part_names_its_row_in_the_file() {
        let mut lines: Vec<String> = change_file(400).lines().map(String::from).collect();
        lines[301] = lines[301].replace(",2021-0", ",2021-1"); // month 13 or more: not a date
        lines[350] = lines[350].replacen("U,", "X,", 1);
        let text = lines.join("\n");
        let whole = decode_users(&text, FileRole::Changes, 1).unwrap_err();
        assert_eq!(whole.location().unwrap().row, Some(302));
        for parts in [2, 5, 40] {
            assert_eq!(
                decode_users(&text, FileRole::Changes, parts).unwrap_err(),
                whole,
                "{parts} parts"
            );
        }
    }

    #[test]
    fn text_that_is_not_utf8_is_an_error_at_its_field() {
        let mut bytes = change_file(50).into_bytes();
        let at = bytes.windows(3).position(|w| w == b"N41").unwrap();
        bytes[at] = 0xff;
        let spec = TableSpec::users();
        let err = decode_in_parts(
            &spec,
            &spec.schema().unwrap(),
            "cdc.csv",
            &bytes,
            FileRole::Changes,
            4,
        )
        .unwrap_err();
        let location = err.location().unwrap();
        assert_eq!(
            (location.row, location.column.as_deref()),
            (Some(43), Some("name"))
        );
        assert_eq!(err.kind(), &ErrorKind::NotUtf8);
    }
}
