//! A table spec inferred from DMS files (`tidemark spec --infer`): the columns and their types,
//! the key, the operation column and its values, the sequence, the metadata columns and the
//! CSV dialect, from a sample of each file's rows.
//!
//! What a file says is read as DMS lays files out (see `decode::layout`): `[operation]
//! [timestamp] table columns [rule-added columns]`. A header or a Parquet schema names the
//! columns; a headerless file names none, and its columns are called `column1`, `column2`, ...
//! Types are the narrowest of `int64`, `float64`, `date`, `timestamp`, `boolean` and `string`
//! that every sampled value parses as (Parquet: the file's types). What cannot be told from
//! the files (the key, when no Parquet metadata names it) is an error that says what to give.

use std::collections::BTreeSet;

use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;

use crate::decode::text::{parse_date, parse_timestamp_micros};
use crate::error::{Cause, Error, ErrorKind, Location, Result};
use crate::files::{
    DmsName, FileFormat, InputFile, NamedAs, base_name, is_transaction_file, sort_for_apply,
};
use crate::spec::{
    BeforeImageDef, ColumnDef, ColumnType, CsvDialect, HeaderMode, OpValues, Operations,
    SequenceDef, SequenceKind, SourceTable, TableDef, TableSpec,
};

/// Records read from each CSV file (and rows from each Parquet file) to infer from.
pub const SAMPLE_ROWS: usize = 10_000;

/// Schema metadata (Parquet key-value metadata) that names the key: column names, separated
/// by commas.
pub const KEY_METADATA: [&str; 3] = ["tidemark.key", "primary_key", "primary.key"];

/// What the files cannot say.
#[derive(Debug, Clone, Default)]
pub struct InferOptions {
    /// The key's columns (`--key`), when no Parquet metadata names them.
    pub key: Vec<String>,
    /// The table's name (`--table-name`); by default the folder DMS named after the table.
    pub name: Option<String>,
    /// In transaction files (`CDC_TXN-*`), the source table whose rows are this table's
    /// (`--source-table SCHEMA.TABLE`). By default the folder of the full load
    /// (`schema/table/LOAD*`), else the one table the transaction files hold.
    pub source: Option<SourceName>,
}

/// A table of the source database, as transaction files name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceName {
    pub schema: String,
    pub table: String,
}

impl std::str::FromStr for SourceName {
    type Err = String;

    /// `schema.table`.
    fn from_str(text: &str) -> std::result::Result<Self, String> {
        match text.split_once('.') {
            Some((schema, table)) if !schema.is_empty() && !table.is_empty() => Ok(SourceName {
                schema: schema.to_string(),
                table: table.to_string(),
            }),
            _ => Err(format!("{text:?} is not SCHEMA.TABLE")),
        }
    }
}

impl std::fmt::Display for SourceName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.schema, self.table)
    }
}

/// An inferred spec and what the inference noticed on the way (columns added part-way,
/// choices made), one line each.
#[derive(Debug, Clone)]
pub struct Inferred {
    pub spec: TableSpec,
    pub notes: Vec<String>,
}

impl Inferred {
    /// The spec as TOML, led by the notes as comments.
    pub fn to_toml(&self) -> String {
        let mut text = String::new();
        for note in &self.notes {
            text += &format!("# {note}\n");
        }
        text + &self.spec.to_toml()
    }
}

/// The values a column's sample held, as far as types go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// No value (every one null).
    Empty,
    Int,
    Float,
    Boolean,
    Date,
    Timestamp,
    String,
}

impl Kind {
    fn of(text: &str) -> Kind {
        let t = text.trim();
        if t.is_empty() {
            return Kind::String;
        }
        let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            // Leading zeros that matter (`007`) make a text, as they do for keys.
            if digits.len() > 1 && digits.starts_with('0') || t.parse::<i64>().is_err() {
                return Kind::String;
            }
            return Kind::Int;
        }
        if parse_date(t).is_some() {
            return Kind::Date;
        }
        if parse_timestamp_micros(t).is_some() {
            return Kind::Timestamp;
        }
        if matches!(
            t,
            "true" | "false" | "TRUE" | "FALSE" | "True" | "False" | "t" | "f"
        ) {
            return Kind::Boolean;
        }
        if t.bytes().any(|b| b.is_ascii_digit())
            && t.bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
            && t.parse::<f64>().is_ok_and(f64::is_finite)
        {
            return Kind::Float;
        }
        Kind::String
    }

    fn join(self, other: Kind) -> Kind {
        match (self, other) {
            (a, b) if a == b => a,
            (Kind::Empty, x) | (x, Kind::Empty) => x,
            (Kind::Int, Kind::Float) | (Kind::Float, Kind::Int) => Kind::Float,
            _ => Kind::String,
        }
    }

    fn of_type(column_type: ColumnType) -> Kind {
        match column_type {
            ColumnType::Int32 | ColumnType::Int64 => Kind::Int,
            ColumnType::Float64 => Kind::Float,
            ColumnType::Boolean => Kind::Boolean,
            ColumnType::String => Kind::String,
            ColumnType::Date => Kind::Date,
            ColumnType::Timestamp => Kind::Timestamp,
        }
    }

    fn column_type(self) -> ColumnType {
        match self {
            Kind::Int => ColumnType::Int64,
            Kind::Float => ColumnType::Float64,
            Kind::Boolean => ColumnType::Boolean,
            Kind::Date => ColumnType::Date,
            Kind::Timestamp => ColumnType::Timestamp,
            Kind::Empty | Kind::String => ColumnType::String,
        }
    }
}

/// One file's sample: its column names (header or Parquet), its types (Parquet), and each
/// column's values as text.
struct Sample {
    file: String,
    is_load: bool,
    names: Option<Vec<String>>,
    types: Option<Vec<Kind>>,
    /// Values per column; `None` is null.
    columns: Vec<Vec<Option<String>>>,
    /// CSV: whether a header row came first.
    header: Option<bool>,
    key: Option<Vec<String>>,
    /// A transaction file's sampled rows of other tables.
    other_tables: usize,
}

/// What sampling a file gave.
enum Sampled {
    Rows(Sample),
    /// A transaction file without a row of the table among those sampled.
    NoneOfTheTable {
        other_tables: usize,
    },
}

impl Sample {
    fn kind(&self, column: usize) -> Kind {
        if let Some(types) = &self.types {
            return types[column];
        }
        self.columns[column]
            .iter()
            .flatten()
            .fold(Kind::Empty, |k, v| k.join(Kind::of(v)))
    }

    fn values(&self, column: usize) -> impl Iterator<Item = &str> {
        self.columns[column].iter().flatten().map(String::as_str)
    }

    /// Whether every value of the column is an operation (and there is one).
    fn holds_ops(&self, column: usize) -> bool {
        self.values(column).next().is_some()
            && self.columns[column]
                .iter()
                .all(|v| v.as_deref().is_some_and(|v| op_of(v).is_some()))
    }

    fn holds_timestamps(&self, column: usize) -> bool {
        match &self.types {
            Some(types) if types[column] == Kind::Timestamp => true,
            _ => {
                self.values(column).next().is_some()
                    && self.columns[column].iter().all(|v| {
                        v.as_deref()
                            .is_some_and(|v| parse_timestamp_micros(v).is_some())
                    })
            }
        }
    }

    fn at(&self, what: &str) -> Error {
        Error::at(
            Location::file(&self.file),
            ErrorKind::Invalid(what.to_string()),
        )
    }
}

/// The operation a value names, for the operation values DMS and other tools write.
fn op_of(value: &str) -> Option<char> {
    match value.trim().to_ascii_uppercase().as_str() {
        "I" | "INSERT" | "C" | "R" => Some('I'),
        "U" | "UPDATE" => Some('U'),
        "D" | "DELETE" => Some('D'),
        _ => None,
    }
}

/// What each column of a file holds, once read.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Role {
    Op,
    Sequence(SequenceKind),
    /// A full load's load time (DMS `TimestampColumnName`).
    LoadTime,
    /// `$AR_H_*`: kept out of the table.
    Metadata,
    /// `BI_<column>`: a before image.
    BeforeImage,
    Column,
}

fn is_dms_header(name: &str) -> bool {
    let name = name.strip_prefix('$').unwrap_or(name);
    name.len() > 5 && name.as_bytes()[..5].eq_ignore_ascii_case(b"AR_H_")
}

fn is_change_sequence(name: &str) -> bool {
    name.strip_prefix('$')
        .unwrap_or(name)
        .eq_ignore_ascii_case("AR_H_CHANGE_SEQ")
}

/// The spec that reads `files`.
///
/// ```
/// use tidemark_core::InputFile;
/// use tidemark_core::spec::infer::{infer, InferOptions};
/// let load = InputFile::new("users/LOAD00000001.csv", "user_id,name\n1,Ann\n");
/// let changes = InputFile::new("users/20211017-194324349.csv", "Op,user_id,name\nU,1,Anne\n");
/// let options = InferOptions { key: vec!["user_id".into()], ..Default::default() };
/// let spec = infer(&[load, changes], &options).unwrap().spec;
/// assert_eq!(spec.table.name, "users");
/// assert_eq!(spec.table.columns[0].column_type, tidemark_core::spec::ColumnType::Int64);
/// ```
pub fn infer(files: &[InputFile], options: &InferOptions) -> Result<Inferred> {
    let (loads, changes): (Vec<InputFile>, Vec<InputFile>) = files
        .iter()
        .cloned()
        .partition(|f| names_a_full_load(&f.name));
    infer_run(&loads, &changes, options)
}

/// The spec that reads a run's inputs: `snapshot` (a full load, or an earlier run's snapshot,
/// whatever their names) and `changes`.
pub fn infer_run(
    snapshot: &[InputFile],
    changes: &[InputFile],
    options: &InferOptions,
) -> Result<Inferred> {
    let mut loads = snapshot.to_vec();
    sort_for_apply(&mut loads);
    let load_count = loads.len();
    let mut files = loads;
    let mut later = changes.to_vec();
    sort_for_apply(&mut later);
    files.extend(later);
    let Some(first) = files.first() else {
        return Err(Error::new(ErrorKind::Invalid(
            "no file to infer a spec from".into(),
        )));
    };
    let dialect = csv_dialect(&files)?;
    let mut notes = Vec::new();
    let source = transaction_source(&files, options, &dialect)?;
    let name = options.name.clone().unwrap_or_else(|| match &source {
        Some(source) if !files.iter().any(|f| !is_transaction_file(&f.name)) => {
            source.table.clone()
        }
        _ => table_name_from_path(&first.name),
    });
    let mut samples = Vec::with_capacity(files.len());
    for (index, file) in files.iter().enumerate() {
        match sample(file, index < load_count, &dialect, source.as_ref())? {
            Sampled::Rows(sample) => samples.push(sample),
            Sampled::NoneOfTheTable { other_tables } => notes.push(format!(
                "{}: no row of {} among the {other_tables} sampled (rows of other tables): \
                 says nothing of the columns",
                file.name,
                source.as_ref().expect("a transaction file has a source")
            )),
        }
    }
    if samples.is_empty() {
        return Err(Error::at(
            Location::file(&first.name),
            ErrorKind::Invalid(format!(
                "no row of {} in the files' samples: cannot tell its columns",
                source
                    .as_ref()
                    .map_or("the table".to_string(), ToString::to_string)
            )),
        ));
    }
    let mut dialect = dialect;
    let headers: Vec<bool> = samples.iter().filter_map(|s| s.header).collect();
    dialect.header = match (headers.iter().all(|h| *h), headers.iter().any(|h| *h)) {
        (true, _) if !headers.is_empty() => HeaderMode::Present,
        (_, false) if !headers.is_empty() => HeaderMode::Absent,
        _ => HeaderMode::Auto,
    };

    // What each column of each file holds.
    let roles: Vec<Vec<Role>> = samples.iter().map(roles_of).collect();
    let changes: Vec<usize> = (0..samples.len())
        .filter(|&i| !samples[i].is_load)
        .collect();

    // The table's columns, in order of first appearance; optional when a file lacks one.
    let mut columns: Vec<(String, Kind)> = Vec::new();
    let mut seen_in: Vec<Vec<usize>> = Vec::new();
    let named = samples.iter().any(|s| s.names.is_some());
    let mut width: Option<(usize, usize)> = None; // (table fields, file) of headerless files
    for (f, sample) in samples.iter().enumerate() {
        let here: Vec<usize> = (0..roles[f].len())
            .filter(|&c| roles[f][c] == Role::Column)
            .collect();
        match &sample.names {
            Some(names) => {
                for &c in &here {
                    let kind = sample.kind(c);
                    let at = columns
                        .iter()
                        .position(|(n, _)| n.eq_ignore_ascii_case(names[c].trim()));
                    let at = match at {
                        Some(at) => at,
                        None => {
                            columns.push((names[c].trim().to_string(), Kind::Empty));
                            seen_in.push(Vec::new());
                            columns.len() - 1
                        }
                    };
                    let joined = columns[at].1.join(kind);
                    if columns[at].1 != Kind::Empty
                        && kind != Kind::Empty
                        && joined != columns[at].1
                    {
                        notes.push(format!(
                            "`{}` is {} in {} but {} before: read as {}",
                            columns[at].0,
                            kind_name(kind),
                            sample.file,
                            kind_name(columns[at].1),
                            kind_name(joined)
                        ));
                    }
                    columns[at].1 = joined;
                    seen_in[at].push(f);
                }
            }
            None => {
                match width {
                    Some((n, other)) if n != here.len() => {
                        return Err(sample.at(&format!(
                            "the files disagree from here on: {} table fields here but {} in \
                             {}; the first that differs is `column{}` (a column added or \
                             dropped by ALTER TABLE?). Files without a header cannot say which \
                             (DMS `AddColumnName=true` writes the names): write the spec by hand",
                            here.len(),
                            n,
                            samples[other].file,
                            here.len().min(n) + 1
                        )));
                    }
                    None => width = Some((here.len(), f)),
                    _ => {}
                }
                if named {
                    continue; // mapped onto the named columns below
                }
                for (i, &c) in here.iter().enumerate() {
                    if columns.len() <= i {
                        columns.push((format!("column{}", i + 1), Kind::Empty));
                        seen_in.push(Vec::new());
                    }
                    columns[i].1 = columns[i].1.join(sample.kind(c));
                    seen_in[i].push(f);
                }
            }
        }
    }
    if named {
        if let Some((n, f)) = width {
            // Headerless files hold every column the named files all hold, in their order.
            let everywhere: Vec<usize> = (0..columns.len())
                .filter(|&c| {
                    seen_in[c].len() == samples.iter().filter(|s| s.names.is_some()).count()
                })
                .collect();
            if everywhere.len() != n || everywhere.len() != columns.len() {
                return Err(samples[f].at(&format!(
                    "{n} table fields and no header, where the files with a header name {}: \
                     cannot tell which field is which column",
                    columns.len()
                )));
            }
            for (f, sample) in samples.iter().enumerate() {
                if sample.names.is_none() {
                    let here = (0..roles[f].len()).filter(|&c| roles[f][c] == Role::Column);
                    for (i, c) in here.enumerate() {
                        columns[i].1 = columns[i].1.join(sample.kind(c));
                        seen_in[i].push(f);
                    }
                }
            }
        }
    }
    if columns.is_empty() {
        return Err(Error::at(
            Location::file(&first.name),
            ErrorKind::Invalid("no table column found".into()),
        ));
    }
    let mut defs: Vec<ColumnDef> = Vec::with_capacity(columns.len());
    for (c, (name, kind)) in columns.iter().enumerate() {
        let optional = seen_in[c].len() < samples.len();
        if optional {
            let missing = (0..samples.len())
                .find(|f| !seen_in[c].contains(f))
                .unwrap();
            let present = seen_in[c][0];
            let (first_differs, how) = if present < missing {
                (missing, "lacks it")
            } else {
                (present, "is the first to hold it")
            };
            notes.push(format!(
                "the files disagree on column `{name}`: {} {how} ({} files of {} hold it): \
                 optional",
                samples[first_differs].file,
                seen_in[c].len(),
                samples.len()
            ));
        }
        defs.push(ColumnDef {
            name: name.clone(),
            column_type: kind.column_type(),
            optional,
        });
    }

    // The key: --key, else what Parquet metadata says.
    let key = if !options.key.is_empty() {
        options.key.clone()
    } else if let Some(key) = samples.iter().find_map(|s| s.key.clone()) {
        key
    } else {
        let names: Vec<&str> = defs.iter().map(|c| c.name.as_str()).collect();
        return Err(Error::new(ErrorKind::Invalid(format!(
            "cannot tell the key from the files (no Parquet metadata names it): give it with \
             --key COL[,COL] (columns: {})",
            names.join(", ")
        ))));
    };
    for k in &key {
        match defs.iter_mut().find(|c| c.name.eq_ignore_ascii_case(k)) {
            Some(c) if c.optional => {
                return Err(Error::new(ErrorKind::Invalid(format!(
                    "the key column `{}` is missing from some files: every change needs its key",
                    c.name
                ))));
            }
            Some(_) => {}
            None => {
                let names: Vec<&str> = defs.iter().map(|c| c.name.as_str()).collect();
                return Err(Error::new(ErrorKind::Invalid(format!(
                    "the key column `{k}` is not a column of the files (columns: {})",
                    names.join(", ")
                ))));
            }
        }
    }
    let key: Vec<String> = key
        .iter()
        .map(|k| {
            defs.iter()
                .find(|c| c.name.eq_ignore_ascii_case(k))
                .map(|c| c.name.clone())
                .unwrap()
        })
        .collect();

    // The operation column, its values, the sequence and the metadata.
    let mut cdc = crate::spec::CdcLayout::default();
    let mut op_values: BTreeSet<String> = BTreeSet::new();
    let mut with_op = 0;
    let mut sequence: Option<(String, SequenceKind)> = None;
    let mut metadata: Vec<String> = Vec::new();
    let mut before_images: Vec<String> = Vec::new();
    for (f, sample) in samples.iter().enumerate() {
        for (c, role) in roles[f].iter().enumerate() {
            let name = sample.names.as_ref().map(|n| n[c].trim().to_string());
            match role {
                Role::Op => {
                    if !sample.is_load {
                        with_op += 1;
                    }
                    if let Some(name) = name {
                        cdc.op_column = name;
                    }
                    op_values.extend(sample.values(c).map(|v| v.trim().to_string()));
                }
                Role::Sequence(kind) if sequence.is_none() => {
                    let name = name.unwrap_or_else(|| "timestamp".to_string());
                    sequence = Some((name, *kind));
                }
                Role::Metadata => {
                    let name = name.expect("metadata is found by name");
                    if !metadata.iter().any(|m| m.eq_ignore_ascii_case(&name)) {
                        metadata.push(name);
                    }
                }
                Role::BeforeImage => {
                    let name = name.expect("before images are found by name");
                    if !before_images.contains(&name) {
                        before_images.push(name);
                    }
                }
                _ => {}
            }
        }
    }
    if !changes.is_empty() && with_op == 0 {
        cdc.operations = Operations::InsertsOnly;
        notes.push(
            "the change files have no operation field: inserts only (DMS `CdcInsertsOnly`)".into(),
        );
    } else if !changes.is_empty() && with_op < changes.len() {
        let without = changes
            .iter()
            .find(|&&f| !roles[f].contains(&Role::Op))
            .unwrap();
        return Err(samples[*without].at(
            "this change file has no operation field where others have one: the files do not agree",
        ));
    }
    cdc.ops = op_values_of(&op_values);
    // A change sequence beside a timestamp orders equal timestamps; alone, it is the sequence.
    let change_sequence = metadata.iter().position(|m| is_change_sequence(m));
    match (&sequence, change_sequence) {
        (Some(_), Some(at)) => cdc.change_sequence = Some(metadata[at].clone()),
        (None, Some(at)) if !changes.is_empty() => {
            sequence = Some((metadata.remove(at), SequenceKind::Number));
        }
        _ => {}
    }
    if let Some((column, kind)) = sequence {
        let kind_name = match kind {
            SequenceKind::Timestamp => "a timestamp",
            SequenceKind::Number => "a number",
        };
        notes.push(format!("`{column}` orders the changes ({kind_name})"));
        cdc.sequence = Some(SequenceDef {
            column,
            kind: Some(kind),
        });
    }
    cdc.metadata = metadata;
    if let Some(source) = source {
        let skipped: usize = samples.iter().map(|s| s.other_tables).sum();
        notes.push(format!(
            "transaction files (DMS `PreserveTransactions`): the rows of {source}; {skipped} \
             sampled row(s) of other tables are skipped"
        ));
        cdc.source = Some(SourceTable::named(source.schema, source.table));
    }
    if !before_images.is_empty() {
        // Found by name (`BI_<column>`), so a header or a Parquet schema names them and the
        // spec needs only the prefix; `columns` says which ones, in their order, for the
        // record (and for headerless files of the same task).
        let imaged: Vec<String> = before_images.iter().map(|n| n[3..].to_string()).collect();
        let columns: Vec<String> = defs
            .iter()
            .filter(|d| imaged.iter().any(|i| i.eq_ignore_ascii_case(&d.name)))
            .map(|d| d.name.clone())
            .collect();
        notes.push(format!(
            "before-image columns (DMS `add-before-image-columns`, prefix `BI_`): {}; an update \
             whose key's before-image is another key moves the row",
            before_images.join(", ")
        ));
        cdc.before_image = Some(BeforeImageDef {
            columns: (columns != key).then_some(columns),
            ..BeforeImageDef::default()
        });
    }

    let spec = TableSpec {
        table: TableDef {
            name,
            key,
            columns: defs,
        },
        cdc,
        csv: dialect,
        features: None,
        history: None,
    };
    // What is printed reads back as the same spec.
    let spec = TableSpec::from_toml(&spec.to_toml())?;
    Ok(Inferred { spec, notes })
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Empty => "empty",
        Kind::Int => "int64",
        Kind::Float => "float64",
        Kind::Boolean => "boolean",
        Kind::Date => "date",
        Kind::Timestamp => "timestamp",
        Kind::String => "string",
    }
}

/// `[cdc.ops]` for the operation values seen: the default DMS letters unless others appear.
fn op_values_of(seen: &BTreeSet<String>) -> OpValues {
    let default = OpValues::default();
    if seen.iter().all(|v| ["I", "U", "D"].contains(&v.as_str())) {
        return default;
    }
    let mut ops = OpValues {
        insert: Vec::new(),
        update: Vec::new(),
        delete: Vec::new(),
        truncate: Vec::new(),
    };
    for value in seen {
        let list = match op_of(value) {
            Some('I') => &mut ops.insert,
            Some('U') => &mut ops.update,
            _ => &mut ops.delete,
        };
        if !list.iter().any(|v| v.eq_ignore_ascii_case(value)) {
            list.push(value.clone());
        }
    }
    // An operation no file shows keeps DMS's letter, or the word the others suggest.
    let words = seen.iter().any(|v| v.len() > 1);
    for (list, letter, word) in [
        (&mut ops.insert, "I", "INSERT"),
        (&mut ops.update, "U", "UPDATE"),
        (&mut ops.delete, "D", "DELETE"),
    ] {
        if list.is_empty() {
            list.push(if words { word } else { letter }.to_string());
        }
    }
    ops
}

/// What each column of a sampled file holds, by name when it has names, else by position
/// (`[operation] [timestamp] table columns`).
fn roles_of(sample: &Sample) -> Vec<Role> {
    let n = sample.columns.len();
    let mut roles = vec![Role::Column; n];
    let mut next = 0;
    match &sample.names {
        Some(names) => {
            let table: Vec<String> = names
                .iter()
                .map(|n| n.trim().to_ascii_lowercase())
                .collect();
            for (c, name) in names.iter().enumerate() {
                let name = name.trim();
                if is_dms_header(name) {
                    roles[c] = Role::Metadata;
                } else if name.len() > 3
                    && name.as_bytes()[..3].eq_ignore_ascii_case(b"BI_")
                    && table.contains(&name[3..].to_ascii_lowercase())
                {
                    roles[c] = Role::BeforeImage;
                }
            }
            if let Some(op) = names
                .iter()
                .position(|n| n.trim().eq_ignore_ascii_case("op"))
            {
                roles[op] = Role::Op;
                next = op + 1;
            } else if roles[0] == Role::Column && sample.holds_ops(0) {
                roles[0] = Role::Op;
                next = 1;
            }
        }
        None => {
            if n > 1 && sample.holds_ops(0) {
                roles[0] = Role::Op;
                next = 1;
            }
        }
    }
    // DMS `TimestampColumnName`: the field after the operation (or first, without one),
    // when a table column follows it.
    if next + 1 < n && roles[next] == Role::Column && sample.holds_timestamps(next) {
        let leads = roles.contains(&Role::Op) || sample.is_load || sample.names.is_none();
        if leads {
            roles[next] = match sample.is_load {
                true => Role::LoadTime,
                false => Role::Sequence(SequenceKind::Timestamp),
            };
        }
    }
    roles
}

/// The CSV dialect of the CSV files: the delimiter that splits every sampled line into the
/// same number of fields, the null text, whether a header comes first.
fn csv_dialect(files: &[InputFile]) -> Result<CsvDialect> {
    let mut dialect = CsvDialect::default();
    let texts: Vec<(&InputFile, bytes::Bytes)> = files
        .iter()
        .filter_map(|f| csv_text(f).map(|t| (f, t)))
        .collect();
    if texts.is_empty() {
        return Ok(dialect);
    }
    let candidates = [b',', b';', b'\t', b'|'];
    let widths = |text: &[u8], delimiter: u8| -> Vec<usize> {
        let mut reader = ::csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(text);
        reader
            .byte_records()
            .take(50)
            .map_while(|r| r.ok().map(|r| r.len()))
            .collect()
    };
    // Every record of a file as wide as its first; a transaction file's records hold several
    // tables' rows, each at least operation, table, schema and a value.
    let fits = |delimiter: u8| {
        texts.iter().all(|(file, text)| {
            let w = widths(text, delimiter);
            match is_transaction_file(&file.name) {
                true => !w.is_empty() && w.iter().all(|&n| n >= 4),
                false => !w.is_empty() && w.iter().all(|&n| n == w[0] && n > 1),
            }
        })
    };
    if let Some(&d) = candidates.iter().find(|&&d| fits(d)) {
        dialect.delimiter = d as char;
    }
    // DMS writes `CsvNullValue` for nulls: empty unless set (`NULL` is the usual other).
    let null_seen = texts.iter().any(|(_, text)| {
        let mut reader = ::csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(dialect.delimiter as u8)
            .from_reader(&text[..]);
        reader
            .byte_records()
            .take(SAMPLE_ROWS)
            .map_while(Result::ok)
            .any(|r| r.iter().any(|f| f == b"NULL"))
    });
    if null_seen {
        dialect.null = "NULL".into();
    }
    Ok(dialect)
}

/// The text of a CSV file (the start of a gzip'd one); `None` for Parquet.
/// A CSV file's text, or the start of a gzip'd one's; `None` for Parquet. Inference reads only
/// the first records, so a plain file is shared, never copied (a full load can be gigabytes).
fn csv_text(file: &InputFile) -> Option<bytes::Bytes> {
    match FileFormat::detect(&file.name, &file.bytes) {
        FileFormat::Parquet => None,
        FileFormat::Csv => Some(file.bytes.clone()),
        FileFormat::CsvGzip => Some(crate::decode::gunzip_start(&file.bytes).into()),
    }
}

/// Whether a file's name says it is a full load (`LOAD00000001.csv`) or a snapshot an earlier
/// run wrote (`snapshot.parquet`), rather than changes.
fn names_a_full_load(name: &str) -> bool {
    matches!(NamedAs::of(name), NamedAs::Snapshot | NamedAs::LoadPart)
}

fn sample(
    file: &InputFile,
    is_load: bool,
    dialect: &CsvDialect,
    source: Option<&SourceName>,
) -> Result<Sampled> {
    let here = || Location::file(&file.name);
    if file.bytes.is_empty() {
        return Err(Error::at(here(), ErrorKind::EmptyFile));
    }
    match (csv_text(file), source) {
        (None, _) if is_transaction_file(&file.name) => Err(Error::at(
            here(),
            ErrorKind::Invalid(
                "a transaction file (CDC_TXN-*) in Parquet: DMS writes them only as CSV".into(),
            ),
        )),
        (None, _) => sample_parquet(file, is_load).map(Sampled::Rows),
        (Some(text), Some(source)) if is_transaction_file(&file.name) => {
            sample_transactions(file, &text, dialect, source)
        }
        (Some(text), _) => sample_csv(file, &text, dialect, is_load).map(Sampled::Rows),
    }
}

/// The records of a transaction file (`operation,table_name,schema_name,values...`, no header:
/// DMS cannot add one there) that are `source`'s, as a headerless change file's:
/// `operation,values...`.
fn sample_transactions(
    file: &InputFile,
    text: &[u8],
    dialect: &CsvDialect,
    source: &SourceName,
) -> Result<Sampled> {
    let mut kept: Vec<Vec<String>> = Vec::new();
    let mut other_tables = 0;
    for (row, fields) in csv_records(file, text, dialect)?.into_iter().enumerate() {
        let at = || Location::file(&file.name).row(row as u64 + 1);
        if fields.len() < 4 {
            return Err(Error::at(
                at(),
                ErrorKind::FieldCount {
                    expected: 4,
                    found: fields.len(),
                    hint: " (at least: operation, table name, schema name, a value)",
                },
            ));
        }
        if fields[1] != source.table || fields[2] != source.schema {
            other_tables += 1;
            continue;
        }
        let record: Vec<String> = std::iter::once(fields[0].clone())
            .chain(fields[3..].iter().cloned())
            .collect();
        if let Some(first) = kept.first() {
            if first.len() != record.len() {
                let differs = first.len().min(record.len());
                return Err(Error::at(
                    at().column(format!("column{differs}")),
                    ErrorKind::Invalid(format!(
                        "{} holds {} value(s) here but {} in its first row: a column added or \
                         dropped part-way (ALTER TABLE); the first that differs is \
                         `column{differs}`",
                        source,
                        record.len() - 1,
                        first.len() - 1,
                    )),
                ));
            }
        }
        kept.push(record);
    }
    if kept.is_empty() {
        return Ok(Sampled::NoneOfTheTable { other_tables });
    }
    let width = kept[0].len();
    Ok(Sampled::Rows(Sample {
        file: file.name.clone(),
        is_load: false,
        names: None,
        types: None,
        columns: columns_of(&kept, width, dialect),
        header: Some(false),
        key: None,
        other_tables,
    }))
}

/// Each column's values (null for the null text and empty fields).
fn columns_of(
    records: &[Vec<String>],
    width: usize,
    dialect: &CsvDialect,
) -> Vec<Vec<Option<String>>> {
    (0..width)
        .map(|c| {
            records
                .iter()
                .map(|r| {
                    let v = &r[c];
                    (v.as_str() != dialect.null && !v.is_empty()).then(|| v.clone())
                })
                .collect()
        })
        .collect()
}

/// The first records of a CSV file (up to [`SAMPLE_ROWS`] and one), as text.
fn csv_records(file: &InputFile, text: &[u8], dialect: &CsvDialect) -> Result<Vec<Vec<String>>> {
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(dialect.delimiter as u8)
        .from_reader(text);
    let mut records = Vec::new();
    for (row, record) in reader.byte_records().take(SAMPLE_ROWS + 1).enumerate() {
        let at = || Location::file(&file.name).row(row as u64 + 1);
        let record = record.map_err(|e| Error::at(at(), ErrorKind::Csv(Cause::new(e))))?;
        let fields: Vec<String> = record
            .iter()
            .map(|f| String::from_utf8(f.to_vec()))
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| Error::at(at(), ErrorKind::NotUtf8))?;
        records.push(fields);
    }
    Ok(records)
}

/// The source table of the transaction files among `files`, if any: `--source-table`, else the
/// folder DMS wrote the full load in (`schema/table/LOAD*`), else the one table their
/// sampled rows name.
fn transaction_source(
    files: &[InputFile],
    options: &InferOptions,
    dialect: &CsvDialect,
) -> Result<Option<SourceName>> {
    let transactions: Vec<&InputFile> = files
        .iter()
        .filter(|f| is_transaction_file(&f.name))
        .collect();
    if transactions.is_empty() {
        return Ok(None);
    }
    if let Some(source) = &options.source {
        return Ok(Some(source.clone()));
    }
    if let Some(load) = files
        .iter()
        .find(|f| matches!(DmsName::of(&f.name), DmsName::Load(_)))
    {
        let folders: Vec<&str> = load.name[..load.name.len() - base_name(&load.name).len()]
            .split(['/', '\\'])
            .filter(|c| !c.is_empty() && *c != "." && *c != "..")
            .collect();
        if let [.., schema, table] = folders[..] {
            return Ok(Some(SourceName {
                schema: schema.to_string(),
                table: table.to_string(),
            }));
        }
    }
    let mut named: BTreeSet<(String, String)> = BTreeSet::new();
    for file in &transactions {
        let Some(text) = csv_text(file) else { continue };
        for fields in csv_records(file, &text, dialect)? {
            if fields.len() >= 3 {
                named.insert((fields[2].clone(), fields[1].clone()));
            }
        }
    }
    match named.len() {
        1 => {
            let (schema, table) = named.into_iter().next().expect("one");
            Ok(Some(SourceName { schema, table }))
        }
        _ => {
            let tables: Vec<String> = named.iter().map(|(s, t)| format!("{s}.{t}")).collect();
            Err(Error::at(
                Location::file(&transactions[0].name),
                ErrorKind::Invalid(format!(
                    "transaction files hold the rows of {} table(s) ({}): name this table's \
                     with --source-table SCHEMA.TABLE",
                    tables.len(),
                    tables.join(", ")
                )),
            ))
        }
    }
}

fn sample_parquet(file: &InputFile, is_load: bool) -> Result<Sample> {
    let batch: RecordBatch = crate::decode::first_parquet_rows(file, SAMPLE_ROWS)?;
    let schema = batch.schema();
    let mut types = Vec::new();
    let mut columns = Vec::new();
    for (field, array) in schema.fields().iter().zip(batch.columns()) {
        let column_type = ColumnType::from_data_type(field.data_type()).ok_or_else(|| {
            Error::at(
                Location::file(&file.name).column(field.name()),
                ErrorKind::Columns(format!("type {} is not supported", field.data_type())),
            )
        })?;
        types.push(Kind::of_type(column_type));
        let text = arrow_cast::cast(array, &DataType::Utf8).map_err(|e| {
            Error::at(
                Location::file(&file.name),
                ErrorKind::Parquet(Cause::new(e)),
            )
        })?;
        let text = arrow_array::cast::AsArray::as_string::<i32>(&text);
        columns.push(
            (0..text.len())
                .map(|i| (!text.is_null(i)).then(|| text.value(i).to_string()))
                .collect(),
        );
    }
    let key = KEY_METADATA.iter().find_map(|k| {
        schema.metadata().get(k).map(|v| {
            v.split(',')
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect::<Vec<_>>()
        })
    });
    Ok(Sample {
        file: file.name.clone(),
        is_load,
        names: Some(schema.fields().iter().map(|f| f.name().clone()).collect()),
        types: Some(types),
        columns,
        header: None,
        key: key.filter(|k| !k.is_empty()),
        other_tables: 0,
    })
}

fn sample_csv(
    file: &InputFile,
    text: &[u8],
    dialect: &CsvDialect,
    is_load: bool,
) -> Result<Sample> {
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(dialect.delimiter as u8)
        .from_reader(text);
    let mut records: Vec<Vec<String>> = Vec::new();
    for (row, record) in reader.byte_records().take(SAMPLE_ROWS + 1).enumerate() {
        let record = record.map_err(|e| {
            Error::at(
                Location::file(&file.name).row(row as u64 + 1),
                ErrorKind::Csv(Cause::new(e)),
            )
        })?;
        let fields: Vec<String> = record
            .iter()
            .map(|f| String::from_utf8(f.to_vec()))
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| {
                Error::at(
                    Location::file(&file.name).row(row as u64 + 1),
                    ErrorKind::NotUtf8,
                )
            })?;
        if let Some(first) = records.first() {
            if first.len() != fields.len() {
                return Err(Error::at(
                    Location::file(&file.name).row(row as u64 + 1),
                    ErrorKind::FieldCount {
                        expected: first.len(),
                        found: fields.len(),
                        hint: " (as the first row has)",
                    },
                ));
            }
        }
        records.push(fields);
    }
    if records.is_empty() {
        return Err(Error::at(Location::file(&file.name), ErrorKind::EmptyFile));
    }
    let header = looks_like_header(&records);
    let names = header.then(|| records.remove(0));
    let width = records
        .first()
        .map_or_else(|| names.as_ref().unwrap().len(), Vec::len);
    let columns = columns_of(&records, width, dialect);
    Ok(Sample {
        file: file.name.clone(),
        is_load,
        names,
        types: None,
        columns,
        header: Some(header),
        key: None,
        other_tables: 0,
    })
}

/// A first record of distinct names (`user_id`, `$AR_H_USER`) above values of which some
/// column holds no such names (numbers, dates); or, when every value is text, one whose first
/// field is not an operation.
fn looks_like_header(records: &[Vec<String>]) -> bool {
    let first = &records[0];
    let is_name = |f: &str| {
        let f = f.trim();
        let mut chars = f.chars();
        chars
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_' || c == '$')
            && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '$' | ' ' | '.' | '-'))
    };
    let distinct: BTreeSet<String> = first
        .iter()
        .map(|f| f.trim().to_ascii_lowercase())
        .collect();
    if !first.iter().all(|f| is_name(f)) || distinct.len() != first.len() {
        return false;
    }
    let rest = &records[1..];
    if rest.is_empty() {
        return op_of(&first[0]).is_none();
    }
    let typed_below = (0..first.len()).any(|c| {
        rest.iter()
            .filter(|r| !r[c].is_empty())
            .all(|r| !matches!(Kind::of(&r[c]), Kind::String))
            && rest.iter().any(|r| !r[c].is_empty())
    });
    typed_below || op_of(&first[0]).is_none() && rest.iter().all(|r| op_of(&r[0]).is_some())
}

/// The name DMS gave the table's folder: `schema/table/LOAD00000001.csv`, or
/// `schema/table/2021/10/17/20211017-194324349.csv` below date folders.
///
/// ```
/// use tidemark_core::spec::infer::table_name_from_path;
/// assert_eq!(table_name_from_path("dms/public/users/2021/10/17/20211017-194324349.csv"), "users");
/// assert_eq!(table_name_from_path("LOAD00000001.csv"), "table");
/// ```
pub fn table_name_from_path(path: &str) -> String {
    let parent = &path[..path.len() - base_name(path).len()];
    parent
        .split(['/', '\\'])
        .rev()
        .filter(|c| !c.is_empty() && *c != "." && *c != "..")
        .find(|c| !c.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or("table")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_as_the_narrowest_type_that_holds_them_all() {
        let kind = |values: &[&str]| {
            values
                .iter()
                .fold(Kind::Empty, |k, v| k.join(Kind::of(v)))
                .column_type()
        };
        assert_eq!(kind(&["1", "-2", "+3"]), ColumnType::Int64);
        assert_eq!(kind(&["1", "2.5"]), ColumnType::Float64);
        assert_eq!(kind(&["007", "8"]), ColumnType::String);
        assert_eq!(kind(&["2021-01-01", "2021-02-28"]), ColumnType::Date);
        assert_eq!(kind(&["2021-01-01 00:00:00.000001"]), ColumnType::Timestamp);
        assert_eq!(
            kind(&["2021-01-01", "2021-01-01 00:00:00"]),
            ColumnType::String
        );
        assert_eq!(kind(&["true", "f"]), ColumnType::Boolean);
        assert_eq!(kind(&["2021-02-30"]), ColumnType::String);
        assert_eq!(kind(&[]), ColumnType::String);
        assert_eq!(kind(&["99999999999999999999"]), ColumnType::String);
    }

    #[test]
    fn a_parquet_key_in_the_metadata_is_the_key() {
        use std::sync::Arc;
        let schema =
            arrow_schema::Schema::new(vec![arrow_schema::Field::new("id", DataType::Int64, false)])
                .with_metadata(std::collections::HashMap::from([(
                    "primary_key".to_string(),
                    "id".to_string(),
                )]));
        let batch = RecordBatch::try_new(
            Arc::new(schema),
            vec![Arc::new(arrow_array::Int64Array::from(vec![1, 2]))],
        )
        .unwrap();
        let file = InputFile::new("LOAD00000001.parquet", {
            let mut out = Vec::new();
            let mut writer =
                parquet::arrow::ArrowWriter::try_new(&mut out, batch.schema(), None).unwrap();
            writer.write(&batch).unwrap();
            writer.close().unwrap();
            out
        });
        let spec = infer(&[file], &InferOptions::default()).unwrap().spec;
        assert_eq!(spec.table.key, ["id"]);
    }
}
