//! The table spec: what the table looks like, how its change files are laid out, and which
//! features to compute. Written in TOML; [`TableSpec::users`] is the seed's `users` table.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result, WINDOW_DAYS};

pub mod infer;

/// A table, its change-file layout and its features.
///
/// ```
/// let spec = tidemark_core::TableSpec::users();
/// assert_eq!(spec.table.key, ["user_id"]);
/// assert_eq!(spec.features.as_ref().unwrap().window_days, 90);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSpec {
    pub table: TableDef,
    #[serde(default)]
    pub cdc: CdcLayout,
    #[serde(default)]
    pub csv: CsvDialect,
    #[serde(default)]
    pub features: Option<FeatureSpec>,
    /// Keep every version of every key (SCD type 2): the `history` and `change_log` outputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<HistorySpec>,
}

/// `[history]`: keep every version of every key (see [`crate::history`]). Empty, every
/// insert and update opens a version; with `track` (or `track_except`), only a change of
/// those columns (or of the others) does, and other changes update the current version.
///
/// ```
/// let spec: tidemark_core::TableSpec = toml::from_str(r#"
/// [table]
/// name = "users"
/// key = ["id"]
/// columns = [{ name = "id", type = "int64" }, { name = "name", type = "string" },
///            { name = "city", type = "string" }]
/// [history]
/// track_except = ["city"]
/// "#).unwrap();
/// let history = spec.history.unwrap();
/// assert_eq!(history.tracked(&["id", "name", "city"]).unwrap(), ["id", "name"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistorySpec {
    /// The columns whose changes open a new version (Databricks
    /// `track_history_column_list`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track: Option<Vec<String>>,
    /// The columns whose changes do not (Databricks `track_history_except_column_list`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track_except: Option<Vec<String>>,
}

impl HistorySpec {
    /// The tracked columns among `columns` (the table's); `None` when every column is.
    pub fn tracked(&self, columns: &[&str]) -> Option<Vec<String>> {
        match (&self.track, &self.track_except) {
            (Some(track), _) => Some(track.clone()),
            (None, Some(except)) => Some(
                columns
                    .iter()
                    .filter(|c| !except.iter().any(|e| e == *c))
                    .map(|c| c.to_string())
                    .collect(),
            ),
            (None, None) => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableDef {
    pub name: String,
    /// The primary key: one or more columns.
    pub key: Vec<String>,
    /// The columns in file order. Empty means: take them from a Parquet snapshot.
    #[serde(default)]
    pub columns: Vec<ColumnDef>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnDef {
    pub name: String,
    #[serde(rename = "type")]
    pub column_type: ColumnType,
    /// A column files may lack (one added by `ALTER TABLE` part-way through the changes): a
    /// file with a header or a Parquet schema that does not name it reads it as null.
    /// Headerless files, which name nothing, must still hold every column.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
}

/// The column types a DMS CSV file can be decoded into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    #[serde(alias = "int", alias = "integer")]
    Int32,
    #[serde(alias = "bigint", alias = "long")]
    Int64,
    #[serde(alias = "double", alias = "float")]
    Float64,
    #[serde(alias = "bool")]
    Boolean,
    #[serde(alias = "utf8", alias = "text", alias = "varchar")]
    String,
    Date,
    /// Microseconds, no time zone.
    Timestamp,
}

impl ColumnType {
    pub fn data_type(self) -> DataType {
        match self {
            ColumnType::Int32 => DataType::Int32,
            ColumnType::Int64 => DataType::Int64,
            ColumnType::Float64 => DataType::Float64,
            ColumnType::Boolean => DataType::Boolean,
            ColumnType::String => DataType::Utf8,
            ColumnType::Date => DataType::Date32,
            ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
        }
    }

    /// The name a spec writes the type as.
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::Int32 => "int32",
            ColumnType::Int64 => "int64",
            ColumnType::Float64 => "float64",
            ColumnType::Boolean => "boolean",
            ColumnType::String => "string",
            ColumnType::Date => "date",
            ColumnType::Timestamp => "timestamp",
        }
    }

    pub fn from_data_type(data_type: &DataType) -> Option<Self> {
        Some(match data_type {
            DataType::Int8 | DataType::Int16 | DataType::Int32 => ColumnType::Int32,
            DataType::Int64 | DataType::UInt8 | DataType::UInt16 | DataType::UInt32 => {
                ColumnType::Int64
            }
            DataType::Float16 | DataType::Float32 | DataType::Float64 => ColumnType::Float64,
            DataType::Boolean => ColumnType::Boolean,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => ColumnType::String,
            DataType::Dictionary(_, value) => return Self::from_data_type(value),
            DataType::Date32 | DataType::Date64 => ColumnType::Date,
            DataType::Timestamp(_, _) => ColumnType::Timestamp,
            _ => return None,
        })
    }
}

/// How change files are laid out around the table's columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CdcLayout {
    /// Name of the operation column (`I`, `U`, `D`); always the first column in DMS CSV.
    #[serde(default = "default_op_column")]
    pub op_column: String,
    /// The column that orders changes. When absent, a change file with exactly one column
    /// besides the operation and the table's columns has that column as its sequence.
    #[serde(default)]
    pub sequence: Option<SequenceDef>,
    /// Which operations change files carry (DMS `CdcInsertsOnly`, `CdcInsertsAndUpdates`).
    #[serde(default)]
    pub operations: Operations,
    /// The values of the operation column that mean each operation, in any case.
    #[serde(default)]
    pub ops: OpValues,
    /// Columns that are not the table's and not the sequence, kept out of the table: what
    /// table-mapping rules add (`$AR_H_*` names are recognised without being listed).
    /// Headerless files carry them after the table's columns, in this order.
    #[serde(default)]
    pub metadata: Vec<String>,
    /// The column that orders changes with equal sequence values (one transaction's commit
    /// timestamp): `$AR_H_CHANGE_SEQ` is found by itself; name another one here.
    #[serde(default)]
    pub change_sequence: Option<String>,
    /// The table of the source database whose rows are this table's, in transaction files
    /// (DMS `PreserveTransactions` with `CdcPath`: `CDC_TXN-*.csv`), which hold the rows of
    /// every table; rows of other tables are skipped and counted.
    #[serde(default)]
    pub source: Option<SourceTable>,
    /// DMS `add-before-image-columns`: how before-image columns are named, and which ones
    /// headerless files carry. Without it, `BI_<column>` columns are still recognised in
    /// headers and Parquet files; headerless files have none.
    #[serde(default)]
    pub before_image: Option<BeforeImageDef>,
    /// Change streams that send only the changed columns of an update (nulls for the rest):
    /// `true` keeps a column's value when an update holds null in it, a list of columns does
    /// it for those only (Databricks `ignore_null_updates`). Inserts and deletes are as given.
    #[serde(default, skip_serializing_if = "IgnoreNullUpdates::is_off")]
    pub ignore_null_updates: IgnoreNullUpdates,
}

/// `[cdc] ignore_null_updates`: which columns keep their value when an update holds null.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum IgnoreNullUpdates {
    /// `true`: every column but the key; `false`: none.
    All(bool),
    /// These columns.
    Columns(Vec<String>),
}

impl Default for IgnoreNullUpdates {
    fn default() -> Self {
        IgnoreNullUpdates::All(false)
    }
}

impl IgnoreNullUpdates {
    pub fn is_off(&self) -> bool {
        matches!(self, IgnoreNullUpdates::All(false))
            || matches!(self, IgnoreNullUpdates::Columns(c) if c.is_empty())
    }

    /// The columns of `table` (its column names, in order) it applies to, by index.
    pub fn columns(&self, table: &[&str], key: &[String]) -> Vec<usize> {
        table
            .iter()
            .enumerate()
            .filter(|(_, name)| !key.iter().any(|k| k == *name))
            .filter(|(_, name)| match self {
                IgnoreNullUpdates::All(all) => *all,
                IgnoreNullUpdates::Columns(columns) => columns.iter().any(|c| c == *name),
            })
            .map(|(i, _)| i)
            .collect()
    }
}

/// Before-image columns (DMS table-mapping rule `add-before-image-columns`): an update row's
/// values before the update, in columns named `<prefix><column><suffix>` (the rule's
/// `column-prefix`, `BI_` by default, and `column-suffix`, empty by default). A key column's
/// before-image that differs from the key moves the row: the old key is deleted, the new one
/// upserted. Before-images of other columns are kept out of the table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BeforeImageDef {
    #[serde(default = "default_before_image_prefix")]
    pub prefix: String,
    #[serde(default)]
    pub suffix: String,
    /// The table columns whose before-images headerless files carry, in the order they
    /// follow the table's columns (before the `metadata` columns). By default the key
    /// columns, in the order `table.key` lists them (the rule's default filter, `pk-only`).
    /// Files with a header or in Parquet name their before-image columns, so this is not
    /// needed for them.
    #[serde(default)]
    pub columns: Option<Vec<String>>,
}

impl Default for BeforeImageDef {
    fn default() -> Self {
        BeforeImageDef {
            prefix: default_before_image_prefix(),
            suffix: String::new(),
            columns: None,
        }
    }
}

fn default_before_image_prefix() -> String {
    "BI_".to_string()
}

impl BeforeImageDef {
    /// The name of `column`'s before-image column: `BI_<column>` by default.
    pub fn name_of(&self, column: &str) -> String {
        format!("{}{column}{}", self.prefix, self.suffix)
    }

    /// The columns whose before-images headerless files carry, in order.
    pub fn columns<'a>(&'a self, key: &'a [String]) -> &'a [String] {
        self.columns.as_deref().unwrap_or(key)
    }
}

impl Default for CdcLayout {
    fn default() -> Self {
        CdcLayout {
            op_column: default_op_column(),
            sequence: None,
            operations: Operations::default(),
            ops: OpValues::default(),
            metadata: Vec::new(),
            change_sequence: None,
            before_image: None,
            source: None,
            ignore_null_updates: IgnoreNullUpdates::default(),
        }
    }
}

/// A table of the source database, as transaction files name it: each of their rows is
/// `operation,table_name,schema_name,values...` (DMS writes no header there; a file with a
/// header names these two columns `table_column` and `schema_column`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceTable {
    /// The schema's name, exactly as the files write it.
    pub schema: String,
    /// The table's name, exactly as the files write it.
    pub table: String,
    /// The header name of the table-name column, in files with a header.
    #[serde(default = "default_table_column")]
    pub table_column: String,
    /// The header name of the schema-name column, in files with a header.
    #[serde(default = "default_schema_column")]
    pub schema_column: String,
}

impl SourceTable {
    /// The table `table` of schema `schema`, its name fields called as by default.
    pub fn named(schema: impl Into<String>, table: impl Into<String>) -> SourceTable {
        SourceTable {
            schema: schema.into(),
            table: table.into(),
            table_column: default_table_column(),
            schema_column: default_schema_column(),
        }
    }
}

fn default_table_column() -> String {
    "table_name".to_string()
}

fn default_schema_column() -> String {
    "schema_name".to_string()
}

/// Which operations a task writes to its change files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Operations {
    /// Inserts, updates and deletes, each row with its operation.
    #[default]
    All,
    /// DMS `CdcInsertsOnly`: every row is an insert; the operation field is there only with
    /// `IncludeOpForFullLoad` (and then it is `I`).
    InsertsOnly,
    /// DMS `CdcInsertsAndUpdates`: `I` and `U` only.
    InsertsAndUpdates,
}

/// The operation column's values, per operation; matched ignoring case and surrounding spaces.
/// DMS letters by default; `["INSERT"]`-style words or Debezium's `c`/`u`/`d`/`r` otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpValues {
    #[serde(default = "default_insert")]
    pub insert: Vec<String>,
    #[serde(default = "default_update")]
    pub update: Vec<String>,
    #[serde(default = "default_delete")]
    pub delete: Vec<String>,
    /// Values that empty the table (none by default: DMS writes no such row).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub truncate: Vec<String>,
}

impl Default for OpValues {
    fn default() -> Self {
        OpValues {
            insert: default_insert(),
            update: default_update(),
            delete: default_delete(),
            truncate: Vec::new(),
        }
    }
}

fn default_insert() -> Vec<String> {
    vec!["I".into()]
}

fn default_update() -> Vec<String> {
    vec!["U".into()]
}

fn default_delete() -> Vec<String> {
    vec!["D".into()]
}

fn default_op_column() -> String {
    "Op".to_string()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SequenceDef {
    pub column: String,
    #[serde(default)]
    pub kind: Option<SequenceKind>,
}

/// What the sequence column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SequenceKind {
    /// A commit timestamp, `yyyy-MM-dd HH:mm:ss.SSSSSS` in CSV (DMS `TimestampColumnName`).
    Timestamp,
    /// A monotonically increasing number of up to 38 digits (DMS `$AR_H_CHANGE_SEQ`).
    Number,
}

/// Reads what [`Display`](std::fmt::Display) writes (`timestamp`, `number`): the kind as
/// state files and change logs keep it in their metadata.
impl std::str::FromStr for SequenceKind {
    type Err = ();

    fn from_str(text: &str) -> std::result::Result<Self, ()> {
        match text {
            "timestamp" => Ok(SequenceKind::Timestamp),
            "number" => Ok(SequenceKind::Number),
            _ => Err(()),
        }
    }
}

impl std::fmt::Display for SequenceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SequenceKind::Timestamp => "timestamp",
            SequenceKind::Number => "number",
        })
    }
}

/// The CSV dialect of snapshot and change files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvDialect {
    #[serde(default = "default_delimiter")]
    pub delimiter: char,
    /// The text that stands for NULL (DMS `CsvNullValue`; empty by default).
    #[serde(default)]
    pub null: String,
    #[serde(default)]
    pub header: HeaderMode,
}

impl Default for CsvDialect {
    fn default() -> Self {
        CsvDialect {
            delimiter: default_delimiter(),
            null: String::new(),
            header: HeaderMode::Auto,
        }
    }
}

fn default_delimiter() -> char {
    ','
}

/// Whether CSV files start with a header row (DMS `AddColumnName`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HeaderMode {
    /// A first row that names the columns is a header.
    #[default]
    Auto,
    Present,
    Absent,
}

/// Per-group features over a date column, and a lookup of the group's name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureSpec {
    /// The column that forms the groups (the city).
    pub group: String,
    /// The date column that is ranked and windowed (the last login).
    pub date: String,
    /// A row is recent when its date is on or after `as_of - window_days`.
    #[serde(default = "default_window_days")]
    pub window_days: u32,
    /// Values of the group column replaced before grouping, as the original job did.
    #[serde(default)]
    pub rename: BTreeMap<String, String>,
    pub output: FeatureOutput,
}

impl FeatureSpec {
    /// `window_days` within [`WINDOW_DAYS`], or the error that says the range.
    pub fn check_window(&self) -> Result<()> {
        match WINDOW_DAYS.contains(&self.window_days) {
            true => Ok(()),
            false => Err(Error::new(ErrorKind::WindowDays(self.window_days))),
        }
    }
}

fn default_window_days() -> u32 {
    90
}

/// Names of the feature columns; a missing `lookup` skips the lookup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureOutput {
    #[serde(default)]
    pub lookup: Option<String>,
    pub rank: String,
    pub rate: String,
    pub count: String,
}

impl TableSpec {
    /// The bundled spec of the seed's `users` table.
    pub fn users() -> Self {
        Self::from_toml(include_str!("../data/users.toml")).expect("the bundled spec is valid")
    }

    pub fn from_toml(text: &str) -> Result<Self> {
        let spec: TableSpec =
            toml::from_str(text).map_err(|e| Error::new(ErrorKind::Spec(e.to_string())))?;
        spec.validate()?;
        Ok(spec)
    }

    /// The spec from JSON with the TOML file's structure (what a Python dict of the spec
    /// becomes), checked as [`TableSpec::from_toml`] checks it.
    ///
    /// ```
    /// use tidemark_core::TableSpec;
    /// let spec = TableSpec::from_json(r#"{"table": {"name": "t", "key": ["id"],
    ///     "columns": [{"name": "id", "type": "int64"}]}}"#).unwrap();
    /// assert_eq!(spec.table.key, ["id"]);
    /// ```
    pub fn from_json(text: &str) -> Result<Self> {
        let spec: TableSpec =
            serde_json::from_str(text).map_err(|e| Error::new(ErrorKind::Spec(e.to_string())))?;
        spec.validate()?;
        Ok(spec)
    }

    fn validate(&self) -> Result<()> {
        let bad = |msg: String| Err(Error::new(ErrorKind::Spec(msg)));
        if self.table.key.is_empty() {
            return bad("`table.key` names no column".into());
        }
        if !self.table.columns.is_empty() {
            let names: Vec<&str> = self.table.columns.iter().map(|c| c.name.as_str()).collect();
            for (i, name) in names.iter().enumerate() {
                if names[..i].contains(name) {
                    return bad(format!("column `{name}` is listed twice"));
                }
            }
            for key in &self.table.key {
                if !names.contains(&key.as_str()) {
                    return bad(format!("key column `{key}` is not among the columns"));
                }
            }
            if let Some(c) = self
                .table
                .columns
                .iter()
                .find(|c| c.optional && self.table.key.contains(&c.name))
            {
                return bad(format!(
                    "key column `{}` cannot be optional: every change needs its key",
                    c.name
                ));
            }
            if let IgnoreNullUpdates::Columns(columns) = &self.cdc.ignore_null_updates {
                for column in columns {
                    if !names.contains(&column.as_str()) {
                        return bad(format!(
                            "[cdc] ignore_null_updates names `{column}`, which is not among the columns"
                        ));
                    }
                }
            }
            if let Some(h) = &self.history {
                if h.track.is_some() && h.track_except.is_some() {
                    return bad("[history] takes `track` or `track_except`, not both".into());
                }
                for column in h.track.iter().chain(&h.track_except).flatten() {
                    if !names.contains(&column.as_str()) {
                        return bad(format!(
                            "[history] names `{column}`, which is not among the columns"
                        ));
                    }
                }
            }
            if let Some(f) = &self.features {
                for col in [&f.group, &f.date] {
                    if !names.contains(&col.as_str()) {
                        return bad(format!("feature column `{col}` is not among the columns"));
                    }
                }
            }
        }
        if let Some(f) = &self.features {
            f.check_window()?;
        }
        let ops = &self.cdc.ops;
        let all: Vec<&String> = [&ops.insert, &ops.update, &ops.delete]
            .into_iter()
            .flatten()
            .collect();
        for (i, value) in all.iter().enumerate() {
            if value.trim().is_empty() {
                return bad("`cdc.ops` lists an empty value".into());
            }
            if all[..i]
                .iter()
                .any(|v| v.trim().eq_ignore_ascii_case(value.trim()))
            {
                return bad(format!("`cdc.ops` lists `{value}` twice"));
            }
        }
        if let Some(before) = &self.cdc.before_image {
            if before.prefix.is_empty() && before.suffix.is_empty() {
                return bad(
                    "`cdc.before_image` needs a prefix or a suffix: a before-image column \
                     cannot have its column's own name"
                        .into(),
                );
            }
            let listed = before.columns(&self.table.key);
            for (i, name) in listed.iter().enumerate() {
                if listed[..i].contains(name) {
                    return bad(format!("`cdc.before_image.columns` lists `{name}` twice"));
                }
                if !self.table.columns.is_empty()
                    && !self.table.columns.iter().any(|c| &c.name == name)
                {
                    return bad(format!(
                        "`cdc.before_image.columns` lists `{name}`, which is not among the columns"
                    ));
                }
            }
        }
        if let Some(source) = &self.cdc.source {
            if source.table.is_empty() || source.schema.is_empty() {
                return bad("`cdc.source` needs both `schema` and `table`".into());
            }
        }
        if self.csv.delimiter.len_utf8() != 1 {
            return bad("`csv.delimiter` must be a single-byte character".into());
        }
        Ok(())
    }

    /// The spec as TOML that [`TableSpec::from_toml`] reads back as the same spec: every
    /// setting written out, columns one per line.
    ///
    /// ```
    /// let spec = tidemark_core::TableSpec::users();
    /// assert_eq!(tidemark_core::TableSpec::from_toml(&spec.to_toml()).unwrap(), spec);
    /// ```
    pub fn to_toml(&self) -> String {
        use std::fmt::Write;
        let list = |values: &[String]| {
            let quoted: Vec<String> = values.iter().map(|v| toml_string(v)).collect();
            format!("[{}]", quoted.join(", "))
        };
        let mut t = String::new();
        let table = &self.table;
        let _ = writeln!(t, "[table]");
        let _ = writeln!(t, "name = {}", toml_string(&table.name));
        let _ = writeln!(t, "key = {}", list(&table.key));
        if !table.columns.is_empty() {
            let _ = writeln!(t, "columns = [");
            for c in &table.columns {
                let optional = if c.optional { ", optional = true" } else { "" };
                let _ = writeln!(
                    t,
                    "  {{ name = {}, type = \"{}\"{optional} }},",
                    toml_string(&c.name),
                    c.column_type.name()
                );
            }
            let _ = writeln!(t, "]");
        }
        let cdc = &self.cdc;
        let _ = writeln!(t, "\n[cdc]");
        let _ = writeln!(t, "op_column = {}", toml_string(&cdc.op_column));
        if let Some(sequence) = &cdc.sequence {
            let kind = match sequence.kind {
                Some(SequenceKind::Timestamp) => ", kind = \"timestamp\"",
                Some(SequenceKind::Number) => ", kind = \"number\"",
                None => "",
            };
            let _ = writeln!(
                t,
                "sequence = {{ column = {}{kind} }}",
                toml_string(&sequence.column)
            );
        }
        let operations = match cdc.operations {
            Operations::All => "all",
            Operations::InsertsOnly => "inserts-only",
            Operations::InsertsAndUpdates => "inserts-and-updates",
        };
        let _ = writeln!(t, "operations = \"{operations}\"");
        if !cdc.metadata.is_empty() {
            let _ = writeln!(t, "metadata = {}", list(&cdc.metadata));
        }
        if let Some(column) = &cdc.change_sequence {
            let _ = writeln!(t, "change_sequence = {}", toml_string(column));
        }
        if let Some(source) = &cdc.source {
            let _ = writeln!(
                t,
                "source = {{ schema = {}, table = {}, table_column = {}, schema_column = {} }}",
                toml_string(&source.schema),
                toml_string(&source.table),
                toml_string(&source.table_column),
                toml_string(&source.schema_column)
            );
        }
        if let Some(before) = &cdc.before_image {
            let columns = before
                .columns
                .as_ref()
                .map_or_else(String::new, |c| format!(", columns = {}", list(c)));
            let _ = writeln!(
                t,
                "before_image = {{ prefix = {}, suffix = {}{columns} }}",
                toml_string(&before.prefix),
                toml_string(&before.suffix)
            );
        }
        if cdc.ops != OpValues::default() {
            let _ = writeln!(t, "[cdc.ops]");
            let _ = writeln!(t, "insert = {}", list(&cdc.ops.insert));
            let _ = writeln!(t, "update = {}", list(&cdc.ops.update));
            let _ = writeln!(t, "delete = {}", list(&cdc.ops.delete));
        }
        let csv = &self.csv;
        let header = match csv.header {
            HeaderMode::Auto => "auto",
            HeaderMode::Present => "present",
            HeaderMode::Absent => "absent",
        };
        let _ = writeln!(t, "\n[csv]");
        let _ = writeln!(t, "delimiter = {}", toml_string(&csv.delimiter.to_string()));
        let _ = writeln!(t, "null = {}", toml_string(&csv.null));
        let _ = writeln!(t, "header = \"{header}\"");
        if let Some(f) = &self.features {
            let _ = writeln!(t, "\n[features]");
            let _ = writeln!(t, "group = {}", toml_string(&f.group));
            let _ = writeln!(t, "date = {}", toml_string(&f.date));
            let _ = writeln!(t, "window_days = {}", f.window_days);
            if !f.rename.is_empty() {
                let pairs: Vec<String> = f
                    .rename
                    .iter()
                    .map(|(from, to)| format!("{} = {}", toml_string(from), toml_string(to)))
                    .collect();
                let _ = writeln!(t, "rename = {{ {} }}", pairs.join(", "));
            }
            let _ = writeln!(t, "\n[features.output]");
            if let Some(lookup) = &f.output.lookup {
                let _ = writeln!(t, "lookup = {}", toml_string(lookup));
            }
            let _ = writeln!(t, "rank = {}", toml_string(&f.output.rank));
            let _ = writeln!(t, "rate = {}", toml_string(&f.output.rate));
            let _ = writeln!(t, "count = {}", toml_string(&f.output.count));
        }
        t
    }

    /// The table's Arrow schema from the spec's columns, if it lists them.
    pub fn schema(&self) -> Option<SchemaRef> {
        if self.table.columns.is_empty() {
            return None;
        }
        let fields: Vec<Field> = self
            .table
            .columns
            .iter()
            .map(|c| Field::new(&c.name, c.column_type.data_type(), true))
            .collect();
        Some(Arc::new(Schema::new(fields)))
    }
}

/// `text` as a TOML basic string: quoted, with quotes, backslashes and control characters
/// escaped.
fn toml_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spec_written_as_toml_reads_back_as_the_same_spec() {
        let mut spec = TableSpec::users();
        assert_eq!(TableSpec::from_toml(&spec.to_toml()).unwrap(), spec);
        spec.table.name = "we\"ird \\ name\t\u{1}".into();
        spec.table.columns[2].optional = true;
        spec.cdc.sequence = Some(SequenceDef {
            column: "$ts".into(),
            kind: Some(SequenceKind::Number),
        });
        spec.cdc.operations = Operations::InsertsAndUpdates;
        spec.cdc.metadata = vec!["$AR_H_USER".into(), "AR_H_CHANGE_SEQ".into()];
        spec.cdc.change_sequence = Some("AR_H_CHANGE_SEQ".into());
        spec.cdc.source = Some(SourceTable {
            schema: "public".into(),
            table: "users".into(),
            table_column: "t".into(),
            schema_column: "s".into(),
        });
        spec.cdc.before_image = Some(BeforeImageDef {
            prefix: String::new(),
            suffix: "_old".into(),
            columns: Some(vec!["user_id".into()]),
        });
        assert_eq!(TableSpec::from_toml(&spec.to_toml()).unwrap(), spec);
        spec.cdc.before_image = Some(BeforeImageDef::default());
        spec.cdc.ops.insert = vec!["INSERT".into(), "c".into()];
        spec.csv.delimiter = '\t';
        spec.csv.null = "NULL".into();
        spec.csv.header = HeaderMode::Present;
        spec.features.as_mut().unwrap().output.lookup = None;
        assert_eq!(TableSpec::from_toml(&spec.to_toml()).unwrap(), spec);
    }

    #[test]
    fn the_bundled_spec_describes_the_seed_table() {
        let spec = TableSpec::users();
        let schema = spec.schema().unwrap();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["user_id", "name", "city", "last_login"]);
        assert_eq!(schema.field(3).data_type(), &DataType::Date32);
        let features = spec.features.unwrap();
        assert_eq!(features.rename["Nashville-Davidson"], "Nashville");
        assert_eq!(features.output.lookup.as_deref(), Some("state"));
    }

    #[test]
    fn a_key_outside_the_columns_is_rejected() {
        let err = TableSpec::from_toml(
            "[table]\nname='t'\nkey=['id']\ncolumns=[{name='x', type='int'}]\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("key column `id`"), "{err}");
    }

    #[test]
    fn a_window_out_of_range_is_rejected() {
        let spec = |days: &str| {
            include_str!("../data/users.toml")
                .replace("window_days = 90", &format!("window_days = {days}"))
        };
        for days in ["0", "3652425", "100000000", "4294967295"] {
            let err = TableSpec::from_toml(&spec(days)).unwrap_err();
            assert_eq!(
                err.kind(),
                &ErrorKind::WindowDays(days.parse().unwrap()),
                "{days}"
            );
        }
        for days in ["1", "3652424"] {
            assert!(TableSpec::from_toml(&spec(days)).is_ok(), "{days}");
        }
        // Past u32: a spec error from the TOML reader, not a wrapped-around number.
        assert!(TableSpec::from_toml(&spec("4294967296")).is_err());
    }

    #[test]
    fn the_widest_window_spans_every_date_yyyy_mm_dd_writes() {
        let first = chrono::NaiveDate::from_ymd_opt(0, 1, 1).unwrap();
        let last = chrono::NaiveDate::from_ymd_opt(9999, 12, 31).unwrap();
        assert_eq!((last - first).num_days(), *WINDOW_DAYS.end() as i64);
    }

    #[test]
    fn before_images_need_a_prefix_or_a_suffix_and_columns_of_the_table() {
        let spec = |before: &str| {
            TableSpec::from_toml(&format!(
                "[table]\nname='t'\nkey=['id']\ncolumns=[{{name='id', type='int'}}]\n\
                 [cdc]\nbefore_image = {{ {before} }}\n"
            ))
        };
        let defaults = spec("").unwrap().cdc.before_image.unwrap();
        assert_eq!(defaults.name_of("id"), "BI_id");
        assert_eq!(defaults.columns(&["id".to_string()]), ["id"]);
        assert_eq!(
            spec("prefix = '', suffix = '_old'")
                .unwrap()
                .cdc
                .before_image
                .unwrap()
                .name_of("id"),
            "id_old"
        );
        let err = spec("prefix = ''").unwrap_err();
        assert!(err.to_string().contains("a prefix or a suffix"), "{err}");
        let err = spec("columns = ['id', 'x']").unwrap_err();
        assert!(err.to_string().contains("`x`"), "{err}");
    }

    #[test]
    fn unknown_settings_are_rejected() {
        let err =
            TableSpec::from_toml("[table]\nname='t'\nkey=['id']\ncolour='red'\n").unwrap_err();
        assert!(err.to_string().contains("colour"), "{err}");
    }
}
