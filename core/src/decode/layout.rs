//! A file's layout: what each of its fields (CSV) or columns (Parquet) holds, decided once per
//! file from its header, its Parquet schema or its field count, and the spec. The decoders
//! follow it field by field and never look at the spec's `[cdc]` settings themselves.
//!
//! The layouts the DMS S3 target writes, field by field:
//!
//! ```text
//! [operation] [timestamp] table columns... [columns added by table-mapping rules...]
//! ```
//!
//! - the operation: in change files unless `CdcInsertsOnly` without `IncludeOpForFullLoad`;
//!   in full loads with `IncludeOpForFullLoad` (then always an insert);
//! - the timestamp (`TimestampColumnName`): the commit time in change files (the sequence),
//!   the transfer time in full loads (kept out of the table);
//! - rule-added columns (`$AR_H_CHANGE_SEQ`, `$AR_H_USER`, ...): recognised by name in a
//!   header or a Parquet schema, or listed in the spec's `[cdc] metadata`;
//! - before-image columns (`add-before-image-columns`, `BI_<column>`): recognised by name in a
//!   header or a Parquet schema; in headerless files, the ones the spec's `[cdc] before_image`
//!   declares, right after the table's columns (then the `metadata` columns).

use arrow_schema::Schema;

use super::FileRole;
use crate::changes::Op;
use crate::error::{ErrorKind, Excerpt};
use crate::spec::{Operations, SequenceKind, TableSpec};

/// What one field of a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldRole {
    /// The operation (`I`, `U`, `D` or the spec's values).
    Op,
    /// The value that orders changes: a commit timestamp or a change sequence number.
    Sequence,
    /// What orders changes of equal sequence values (`$AR_H_CHANGE_SEQ` beside a timestamp).
    ChangeSequence,
    /// The table's column at this index.
    Column(usize),
    /// In a change file, the value the key column at this index (of the table) had before an
    /// update (DMS `add-before-image-columns`). Before-images of other columns, and any in a
    /// full load, are [`FieldRole::Metadata`].
    BeforeImage(usize),
    /// Not part of the table: a full load's transfer time, a column a table-mapping rule added.
    /// Skipped without being read.
    Metadata,
    /// A transaction file's table name: rows of other tables are skipped.
    SourceTable,
    /// A transaction file's schema name: rows of other schemas are skipped.
    SourceSchema,
}

/// The layout of one file, resolved once before its rows are decoded.
#[derive(Debug, Clone)]
pub(crate) struct FileLayout {
    pub role: FileRole,
    /// What each field holds, in file order.
    pub fields: Vec<FieldRole>,
    /// The name of each field, for errors: the header's or the Parquet schema's, else the
    /// spec's.
    pub names: Vec<String>,
    /// Whether a header row comes first (CSV `AddColumnName`).
    pub header: bool,
    /// How operation values read.
    pub ops: OpReader,
}

impl FileLayout {
    /// The row number of the first data row: 2 after a header row.
    pub fn first_row(&self) -> u64 {
        if self.header { 2 } else { 1 }
    }

    pub fn has_op(&self) -> bool {
        self.fields.contains(&FieldRole::Op)
    }

    /// Index of the sequence field, if the file has one.
    pub fn sequence_at(&self) -> Option<usize> {
        self.fields.iter().position(|f| *f == FieldRole::Sequence)
    }

    /// Index of the change-sequence field, if the file has one.
    pub fn change_sequence_at(&self) -> Option<usize> {
        self.fields
            .iter()
            .position(|f| *f == FieldRole::ChangeSequence)
    }

    pub fn sequence_name(&self) -> Option<&str> {
        self.sequence_at().map(|i| self.names[i].as_str())
    }

    /// Each field's name and what it holds, in words.
    pub fn describe(&self) -> Vec<(String, String)> {
        self.fields
            .iter()
            .zip(&self.names)
            .map(|(field, name)| {
                let what = match field {
                    FieldRole::Op => "operation".to_string(),
                    FieldRole::Sequence => "sequence".to_string(),
                    FieldRole::ChangeSequence => "change sequence".to_string(),
                    FieldRole::Column(i) => format!("table column {i}"),
                    FieldRole::BeforeImage(i) => format!("before-image of table column {i}"),
                    FieldRole::Metadata => "metadata (kept out of the table)".to_string(),
                    FieldRole::SourceTable => "source table name".to_string(),
                    FieldRole::SourceSchema => "source schema name".to_string(),
                };
                (name.clone(), what)
            })
            .collect()
    }

    /// Maps the column names of a header or a Parquet file to what they hold.
    ///
    /// Names match exactly, or else ignoring case. In a change file one column that is
    /// neither the operation, the table's, a before-image nor metadata is the sequence, unless
    /// the spec names the sequence; without such a column, `$AR_H_CHANGE_SEQ` is. In a full
    /// load one such column is the load time (DMS `TimestampColumnName`), kept out of the
    /// table.
    pub fn from_names(
        names: &[&str],
        spec: &TableSpec,
        schema: &Schema,
        role: FileRole,
        header: bool,
    ) -> Result<FileLayout, ErrorKind> {
        let mut fields: Vec<Option<FieldRole>> = names
            .iter()
            .map(|n| role_of_name(n.trim(), spec, schema, role))
            .collect();
        let unknown: Vec<usize> = (0..names.len()).filter(|&i| fields[i].is_none()).collect();
        // A before-image column the spec names otherwise must not pass for the sequence or be
        // dropped: a key it changes would leave the old row behind.
        if let Some(&i) = unknown
            .iter()
            .find(|&&i| default_before_image_of(names[i].trim(), schema).is_some())
        {
            let before = spec.cdc.before_image.as_ref().expect("else it has a role");
            return Err(ErrorKind::Columns(format!(
                "`{}` looks like a before-image column (DMS `add-before-image-columns`), but \
                 `cdc.before_image` names them `{}`",
                Excerpt(names[i]).bare(),
                before.name_of("<column>")
            )));
        }
        let guesses_sequence = role == FileRole::Changes && spec.cdc.sequence.is_none();
        match unknown.as_slice() {
            [] if guesses_sequence => {
                if let Some(i) = names.iter().position(|n| is_change_sequence(n.trim())) {
                    fields[i] = Some(FieldRole::Sequence);
                }
            }
            [] => {}
            [one] if guesses_sequence => fields[*one] = Some(FieldRole::Sequence),
            [one] if role == FileRole::Snapshot => fields[*one] = Some(FieldRole::Metadata),
            _ => {
                let list: Vec<String> = unknown
                    .iter()
                    .map(|&i| format!("`{}`", Excerpt(names[i]).bare()))
                    .collect();
                return Err(ErrorKind::Columns(format!(
                    "unexpected column(s) {}",
                    list.join(", ")
                )));
            }
        }
        let mut fields: Vec<FieldRole> = fields.into_iter().map(Option::unwrap).collect();
        if role == FileRole::Changes {
            mark_change_sequence(&mut fields, names.iter().copied(), spec);
        }
        let optional = |name: &str| {
            spec.table
                .columns
                .iter()
                .any(|c| c.optional && c.name == name)
        };
        let mut missing: Vec<String> = schema
            .fields()
            .iter()
            .enumerate()
            .filter(|(i, f)| !fields.contains(&FieldRole::Column(*i)) && !optional(f.name()))
            .map(|(_, f)| format!("`{}`", f.name()))
            .collect();
        if role == FileRole::Changes
            && spec.cdc.operations != Operations::InsertsOnly
            && !fields.contains(&FieldRole::Op)
        {
            missing.insert(0, format!("`{}` (the operation)", spec.cdc.op_column));
        }
        if let Some(sequence) = &spec.cdc.sequence {
            if role == FileRole::Changes && !fields.contains(&FieldRole::Sequence) {
                missing.push(format!("`{}` (the sequence)", sequence.column));
            }
        }
        if !missing.is_empty() {
            return Err(ErrorKind::Columns(format!(
                "missing column(s) {}",
                missing.join(", ")
            )));
        }
        for (i, field) in fields.iter().enumerate() {
            if *field != FieldRole::Metadata && fields[..i].contains(field) {
                return Err(ErrorKind::Columns(format!(
                    "column `{}` appears twice",
                    Excerpt(names[i]).bare()
                )));
            }
        }
        // Errors name the table's columns, the operation and a named sequence as the spec
        // spells them, whatever case the file uses.
        let names = fields
            .iter()
            .zip(names)
            .map(|(field, name)| match field {
                FieldRole::Op => spec.cdc.op_column.clone(),
                FieldRole::Column(i) => schema.field(*i).name().clone(),
                FieldRole::Sequence => spec
                    .cdc
                    .sequence
                    .as_ref()
                    .map_or_else(|| name.trim().to_string(), |s| s.column.clone()),
                FieldRole::Metadata
                | FieldRole::ChangeSequence
                | FieldRole::BeforeImage(_)
                | FieldRole::SourceTable
                | FieldRole::SourceSchema => name.trim().to_string(),
            })
            .collect();
        Ok(FileLayout {
            role,
            fields,
            names,
            header,
            ops: OpReader::new(spec),
        })
    }

    /// The fields of a headerless file, by position, from its first record:
    /// `[operation] [timestamp] table columns [the spec's before-image columns] [the spec's
    /// metadata columns]`.
    ///
    /// A change file has the operation unless the spec says `inserts-only`; a full load has
    /// it when DMS writes `IncludeOpForFullLoad`. One leading field that may be either is the
    /// operation when its value reads as one (a timestamp never does).
    pub fn from_positions(
        first: &[&str],
        spec: &TableSpec,
        schema: &Schema,
        role: FileRole,
    ) -> Result<FileLayout, ErrorKind> {
        let ops = OpReader::new(spec);
        let table = schema.fields().len();
        let before_images = declared_before_images(spec, schema)?;
        let trailing = before_images.len() + spec.cdc.metadata.len();
        let found = first.len();
        let lead = found.checked_sub(table + trailing);
        let named_sequence = spec.cdc.sequence.is_some();
        let first_is_op = first.first().is_some_and(|f| ops.recognises(f));
        use FieldRole::{Metadata, Op, Sequence};
        let head: Option<Vec<FieldRole>> = match (role, lead) {
            (FileRole::Snapshot, Some(0)) => Some(vec![]),
            (FileRole::Snapshot, Some(1)) if first_is_op => Some(vec![Op]),
            (FileRole::Snapshot, Some(1)) => Some(vec![Metadata]),
            (FileRole::Snapshot, Some(2)) => Some(vec![Op, Metadata]),
            (FileRole::Changes, Some(1))
                if spec.cdc.operations == Operations::InsertsOnly
                    && (named_sequence || !first_is_op) =>
            {
                Some(vec![Sequence])
            }
            (FileRole::Changes, Some(0))
                if spec.cdc.operations == Operations::InsertsOnly && !named_sequence =>
            {
                Some(vec![])
            }
            (FileRole::Changes, Some(1)) if !named_sequence => Some(vec![Op]),
            (FileRole::Changes, Some(2)) => Some(vec![Op, Sequence]),
            _ => None,
        };
        let Some(head) = head else {
            let expected = match role {
                FileRole::Snapshot => table,
                FileRole::Changes if named_sequence => table + 2,
                FileRole::Changes => table + 1,
            };
            let hint = width_hint(
                role,
                named_sequence,
                !before_images.is_empty(),
                !spec.cdc.metadata.is_empty(),
            );
            return Err(ErrorKind::FieldCount {
                expected: expected + trailing,
                found,
                hint,
            });
        };
        let sequence_name = spec
            .cdc
            .sequence
            .as_ref()
            .map_or("sequence", |s| s.column.as_str());
        let mut names: Vec<String> = head
            .iter()
            .map(|field| match field {
                Op => spec.cdc.op_column.clone(),
                Sequence => sequence_name.to_string(),
                _ => "timestamp".to_string(),
            })
            .collect();
        names.extend(schema.fields().iter().map(|f| f.name().clone()));
        let before = spec.cdc.before_image.clone().unwrap_or_default();
        names.extend(
            before_images
                .iter()
                .map(|&i| before.name_of(schema.field(i).name())),
        );
        names.extend(spec.cdc.metadata.iter().cloned());
        let mut fields: Vec<FieldRole> = head
            .into_iter()
            .chain((0..table).map(FieldRole::Column))
            .chain(
                before_images
                    .iter()
                    .map(|&i| before_image_role(i, spec, schema, role)),
            )
            .chain(std::iter::repeat_n(Metadata, spec.cdc.metadata.len()))
            .collect();
        if role == FileRole::Changes {
            mark_change_sequence(&mut fields, names.iter().map(String::as_str), spec);
        }
        Ok(FileLayout {
            role,
            fields,
            names,
            header: false,
            ops,
        })
    }
}

/// What a headerless file of the wrong width should have had, after the count.
fn width_hint(
    role: FileRole,
    named_sequence: bool,
    before_images: bool,
    metadata: bool,
) -> &'static str {
    match (role, before_images, metadata) {
        (FileRole::Snapshot, false, false) => " (one per table column)",
        (FileRole::Snapshot, false, true) => {
            " (one per table column, then the spec's `cdc.metadata` columns)"
        }
        (FileRole::Snapshot, true, false) => {
            " (one per table column, then the spec's `cdc.before_image` columns)"
        }
        (FileRole::Snapshot, true, true) => {
            " (one per table column, then the spec's `cdc.before_image` and `cdc.metadata` columns)"
        }
        (FileRole::Changes, false, _) if named_sequence => {
            " (operation, sequence, then one per table column)"
        }
        (FileRole::Changes, false, _) => {
            " (operation, then one per table column, optionally a sequence after the operation)"
        }
        (FileRole::Changes, true, _) if named_sequence => {
            " (operation, sequence, then one per table column, then the spec's \
             `cdc.before_image` and `cdc.metadata` columns)"
        }
        (FileRole::Changes, true, _) => {
            " (operation, optionally a sequence, then one per table column, then the spec's \
             `cdc.before_image` and `cdc.metadata` columns)"
        }
    }
}

impl FileLayout {
    /// The fields of a transaction file (DMS `PreserveTransactions` with `CdcPath`): each
    /// record is `operation,table_name,schema_name,...` followed by what a change file of the
    /// table holds after its operation. `first` is the header row, or else the first record of
    /// the spec's source table (records of other tables have other widths); the two name fields
    /// are found by the source's `table_column` and `schema_column` in a header.
    pub fn for_transactions(
        first: &[&str],
        spec: &TableSpec,
        schema: &Schema,
        header: bool,
    ) -> Result<FileLayout, ErrorKind> {
        let source = spec.cdc.source.as_ref().ok_or(ErrorKind::NoSourceTable)?;
        let (at_table, at_schema) = if header {
            let find = |name: &str| {
                first
                    .iter()
                    .position(|n| n.trim().eq_ignore_ascii_case(name))
            };
            match (find(&source.table_column), find(&source.schema_column)) {
                (Some(t), Some(s)) if t != s => (t, s),
                (t, _) => {
                    let lacking = match t {
                        None => &source.table_column,
                        Some(_) => &source.schema_column,
                    };
                    return Err(ErrorKind::Columns(format!(
                        "missing column(s) `{lacking}` (the source {} name of a transaction file)",
                        if t.is_none() { "table" } else { "schema" }
                    )));
                }
            }
        } else {
            (1, 2)
        };
        if first.len() < 3 {
            return Err(ErrorKind::FieldCount {
                expected: schema.fields().len() + 3,
                found: first.len(),
                hint: " (operation, table name, schema name, then one per table column)",
            });
        }
        let rest: Vec<&str> = (0..first.len())
            .filter(|&i| i != at_table && i != at_schema)
            .map(|i| first[i])
            .collect();
        let mut layout = match header {
            true => FileLayout::from_names(&rest, spec, schema, FileRole::Changes, true),
            false => FileLayout::from_positions(&rest, spec, schema, FileRole::Changes),
        }
        .map_err(|e| match e {
            ErrorKind::FieldCount { expected, found, .. } => ErrorKind::FieldCount {
                expected: expected + 2,
                found: found + 2,
                hint: " (operation, table name, schema name, then one per table column, optionally a sequence after the schema name)",
            },
            other => other,
        })?;
        let mut named = [
            (at_table, FieldRole::SourceTable, &source.table_column),
            (at_schema, FieldRole::SourceSchema, &source.schema_column),
        ];
        named.sort_by_key(|(at, _, _)| *at);
        for (at, role, name) in named {
            layout.fields.insert(at, role);
            layout.names.insert(at, name.clone());
        }
        Ok(layout)
    }

    /// Where a transaction file's table and schema names are, if this is one.
    pub fn source_at(&self) -> Option<(usize, usize)> {
        let table = self
            .fields
            .iter()
            .position(|f| *f == FieldRole::SourceTable)?;
        let schema = self
            .fields
            .iter()
            .position(|f| *f == FieldRole::SourceSchema)?;
        Some((table, schema))
    }
}

/// Beside a sequence (a commit timestamp), the metadata column that is the change sequence
/// (the spec's `change_sequence`, else `$AR_H_CHANGE_SEQ`) orders changes of equal timestamps.
fn mark_change_sequence<'a>(
    fields: &mut [FieldRole],
    names: impl Iterator<Item = &'a str>,
    spec: &TableSpec,
) {
    if !fields.contains(&FieldRole::Sequence) {
        return;
    }
    let named = |name: &str| match &spec.cdc.change_sequence {
        Some(column) => column.eq_ignore_ascii_case(name),
        None => is_change_sequence(name),
    };
    for (field, name) in fields.iter_mut().zip(names) {
        if *field == FieldRole::Metadata && named(name.trim()) {
            *field = FieldRole::ChangeSequence;
            return;
        }
    }
}

/// What a column of this name holds, when the name says it.
fn role_of_name(
    name: &str,
    spec: &TableSpec,
    schema: &Schema,
    role: FileRole,
) -> Option<FieldRole> {
    let exact = |candidate: &str| candidate == name;
    let loose = |candidate: &str| candidate.eq_ignore_ascii_case(name);
    for matches in [&exact as &dyn Fn(&str) -> bool, &loose] {
        if matches(&spec.cdc.op_column) {
            return Some(FieldRole::Op);
        }
        if spec
            .cdc
            .sequence
            .as_ref()
            .is_some_and(|s| matches(&s.column))
        {
            // In a full load the timestamp column holds the load time, which orders nothing.
            return Some(match role {
                FileRole::Changes => FieldRole::Sequence,
                FileRole::Snapshot => FieldRole::Metadata,
            });
        }
        if let Some(i) = schema.fields().iter().position(|f| matches(f.name())) {
            return Some(FieldRole::Column(i));
        }
        let before = spec.cdc.before_image.clone().unwrap_or_default();
        if let Some(i) = schema
            .fields()
            .iter()
            .position(|f| matches(&before.name_of(f.name())))
        {
            return Some(before_image_role(i, spec, schema, role));
        }
        let change_sequence = spec.cdc.change_sequence.as_deref();
        if spec.cdc.metadata.iter().any(|m| matches(m)) || change_sequence.is_some_and(matches) {
            return Some(FieldRole::Metadata);
        }
    }
    is_dms_header_column(name).then_some(FieldRole::Metadata)
}

/// Whether a header names a column of the file, so that a first row of such names is a header.
pub(crate) fn is_known_name(name: &str, spec: &TableSpec, schema: &Schema) -> bool {
    // The role only tells a sequence from metadata: either is known.
    role_of_name(name.trim(), spec, schema, FileRole::Changes).is_some()
}

/// A header column a DMS transformation rule adds: `$AR_H_...`, also written without the `$`.
fn is_dms_header_column(name: &str) -> bool {
    let name = name.strip_prefix('$').unwrap_or(name);
    // Bytes, not a `str` slice: the name may be any text, cut inside a character there.
    name.len() > 5 && name.as_bytes()[..5].eq_ignore_ascii_case(b"AR_H_")
}

/// What a before-image of table column `column` holds for the decoders: in a change file, a
/// key column's old value; anything else is kept out of the table unread.
fn before_image_role(
    column: usize,
    spec: &TableSpec,
    schema: &Schema,
    role: FileRole,
) -> FieldRole {
    let is_key = spec.table.key.contains(schema.field(column).name());
    match (role, is_key) {
        (FileRole::Changes, true) => FieldRole::BeforeImage(column),
        _ => FieldRole::Metadata,
    }
}

/// The table columns whose before-images a headerless file carries after the table's
/// columns: those the spec's `[cdc] before_image` declares, none without it.
fn declared_before_images(spec: &TableSpec, schema: &Schema) -> Result<Vec<usize>, ErrorKind> {
    let Some(before) = &spec.cdc.before_image else {
        return Ok(Vec::new());
    };
    before
        .columns(&spec.table.key)
        .iter()
        .map(|name| {
            schema
                .fields()
                .iter()
                .position(|f| f.name() == name)
                .ok_or_else(|| {
                    ErrorKind::Columns(format!(
                        "`cdc.before_image.columns` lists `{}`, which is not a column of the table",
                        Excerpt(name).bare()
                    ))
                })
        })
        .collect()
}

/// The table column `BI_<column>` (the default name of a DMS before-image column) images.
fn default_before_image_of(name: &str, schema: &Schema) -> Option<usize> {
    if name.len() <= 3 || !name.as_bytes()[..3].eq_ignore_ascii_case(b"BI_") {
        return None;
    }
    // Bytes checked above: `BI_` is ASCII, so byte 3 starts a character.
    let column = &name[3..];
    schema
        .fields()
        .iter()
        .position(|f| f.name().eq_ignore_ascii_case(column))
}

/// `$AR_H_CHANGE_SEQ`: DMS's strictly increasing change number.
fn is_change_sequence(name: &str) -> bool {
    name.strip_prefix('$')
        .unwrap_or(name)
        .eq_ignore_ascii_case("AR_H_CHANGE_SEQ")
}

/// Reads operation values as the spec's `[cdc.ops]` and `operations` say.
#[derive(Debug, Clone)]
pub(crate) struct OpReader {
    /// The accepted values, or `None` for the DMS letters `I`, `U`, `D` alone (the common
    /// case: read by [`Op::parse`] without walking a list).
    values: Option<Vec<(String, Op)>>,
    /// The accepted values as an error lists them: `I, U or D`.
    expected: String,
}

impl OpReader {
    pub fn new(spec: &TableSpec) -> OpReader {
        let ops = &spec.cdc.ops;
        let wanted = |op: Op| match spec.cdc.operations {
            Operations::All => true,
            // A full load's `I` still reads under `inserts-only`.
            Operations::InsertsOnly => op == Op::Insert,
            Operations::InsertsAndUpdates => op != Op::Delete,
        };
        let values: Vec<(String, Op)> = [
            (&ops.insert, Op::Insert),
            (&ops.update, Op::Update),
            (&ops.delete, Op::Delete),
            (&ops.truncate, Op::Truncate),
        ]
        .into_iter()
        .filter(|(_, op)| wanted(*op))
        .flat_map(|(values, op)| values.iter().map(move |v| (v.trim().to_string(), op)))
        .collect();
        let listed: Vec<&str> = values.iter().map(|(v, _)| v.as_str()).collect();
        let expected = match listed.as_slice() {
            [] => String::new(),
            [one] => one.to_string(),
            [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
        };
        let dms_letters = values
            == [
                ("I".to_string(), Op::Insert),
                ("U".to_string(), Op::Update),
                ("D".to_string(), Op::Delete),
            ];
        OpReader {
            values: (!dms_letters).then_some(values),
            expected,
        }
    }

    pub fn read(&self, text: &str) -> Result<Op, ErrorKind> {
        let op = match &self.values {
            None => Op::parse(text),
            Some(values) => {
                let text = text.trim();
                values
                    .iter()
                    .find(|(v, _)| v.eq_ignore_ascii_case(text))
                    .map(|&(_, op)| op)
            }
        };
        op.ok_or_else(|| ErrorKind::UnknownOp {
            value: text.to_string(),
            expected: self.expected.clone(),
        })
    }

    fn recognises(&self, text: &str) -> bool {
        self.read(text).is_ok()
    }
}

/// The sequence kind the spec names (`[cdc] sequence.kind`).
pub(crate) fn named_sequence_kind(spec: &TableSpec) -> Option<SequenceKind> {
    spec.cdc.sequence.as_ref().and_then(|s| s.kind)
}

/// The kind `named`, or else the one the first value looks like.
pub(crate) fn sequence_kind(named: Option<SequenceKind>, sample: Option<&str>) -> SequenceKind {
    if let Some(kind) = named {
        return kind;
    }
    match sample {
        Some(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => SequenceKind::Number,
        _ => SequenceKind::Timestamp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users() -> (TableSpec, arrow_schema::SchemaRef) {
        let spec = TableSpec::users();
        let schema = spec.schema().unwrap();
        (spec, schema)
    }

    #[test]
    fn a_full_load_with_the_operation_and_the_load_time_keeps_both_out_of_the_table() {
        let (spec, schema) = users();
        let first = [
            "I",
            "2021-10-17 19:43:24.349000",
            "1",
            "Ann",
            "Austin",
            "2021-01-01",
        ];
        let layout =
            FileLayout::from_positions(&first, &spec, &schema, FileRole::Snapshot).unwrap();
        use FieldRole::*;
        assert_eq!(
            layout.fields,
            [Op, Metadata, Column(0), Column(1), Column(2), Column(3)]
        );
        let layout =
            FileLayout::from_positions(&first[1..], &spec, &schema, FileRole::Snapshot).unwrap();
        assert_eq!(layout.fields[0], Metadata);
        let mut only_op = first.to_vec();
        only_op.remove(1);
        let layout =
            FileLayout::from_positions(&only_op, &spec, &schema, FileRole::Snapshot).unwrap();
        assert_eq!(layout.fields[0], Op);
    }

    #[test]
    fn a_long_record_with_declared_metadata_says_they_are_expected() {
        let spec = TableSpec::from_toml(
            "[table]\nname='t'\nkey=['id']\ncolumns=[{name='id', type='int'}]\n\
             [cdc]\nmetadata=['source_host']\n",
        )
        .unwrap();
        let schema = spec.schema().unwrap();
        let err = FileLayout::from_positions(
            &["1", "2", "3", "4", "5", "6"],
            &spec,
            &schema,
            FileRole::Snapshot,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "expected 2 fields, found 6 (one per table column, then the spec's `cdc.metadata` columns)"
        );
    }

    #[test]
    fn a_full_load_without_the_declared_before_images_says_they_are_expected() {
        let spec = TableSpec::from_toml(
            "[table]\nname='t'\nkey=['id']\ncolumns=[{name='id', type='int'}, {name='x', type='int'}]\n\
             [cdc]\nbefore_image={}\n",
        )
        .unwrap();
        let schema = spec.schema().unwrap();
        let err = FileLayout::from_positions(&["1", "2"], &spec, &schema, FileRole::Snapshot)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "expected 3 fields, found 2 (one per table column, then the spec's `cdc.before_image` columns)"
        );
        // With them, the key's before-image is read in change files and skipped in full loads.
        let roles = |role| {
            FileLayout::from_positions(&["U", "1", "2", "0"], &spec, &schema, role)
                .map(|layout| layout.fields.to_vec())
        };
        assert_eq!(
            roles(FileRole::Changes).unwrap(),
            [
                FieldRole::Op,
                FieldRole::Column(0),
                FieldRole::Column(1),
                FieldRole::BeforeImage(0)
            ]
        );
        let load = FileLayout::from_positions(&["1", "2", ""], &spec, &schema, FileRole::Snapshot)
            .unwrap();
        assert_eq!(
            load.fields.to_vec(),
            [
                FieldRole::Column(0),
                FieldRole::Column(1),
                FieldRole::Metadata
            ]
        );
    }

    #[test]
    fn header_columns_dms_rules_add_are_metadata_and_the_change_sequence_orders() {
        let (spec, schema) = users();
        let names = [
            "Op",
            "user_id",
            "name",
            "city",
            "last_login",
            "$AR_H_USER",
            "AR_H_CHANGE_SEQ",
        ];
        let layout =
            FileLayout::from_names(&names, &spec, &schema, FileRole::Changes, true).unwrap();
        assert_eq!(layout.fields[5], FieldRole::Metadata);
        assert_eq!(layout.fields[6], FieldRole::Sequence);
        assert_eq!(layout.sequence_name(), Some("AR_H_CHANGE_SEQ"));
    }

    #[test]
    fn configured_operation_values_read_in_any_case_and_errors_list_them() {
        let spec = TableSpec::from_toml(
            "[table]\nname='t'\nkey=['id']\ncolumns=[{name='id', type='int'}]\n\
             [cdc.ops]\ninsert=['INSERT','c','r']\nupdate=['UPDATE','u']\ndelete=['DELETE','d']\n",
        )
        .unwrap();
        let reader = OpReader::new(&spec);
        assert_eq!(reader.read(" insert "), Ok(Op::Insert));
        assert_eq!(reader.read("R"), Ok(Op::Insert));
        assert_eq!(reader.read("Delete"), Ok(Op::Delete));
        assert_eq!(
            reader.read("I").unwrap_err().to_string(),
            "unknown operation \"I\" (expected INSERT, c, r, UPDATE, u, DELETE or d)"
        );
    }
}
