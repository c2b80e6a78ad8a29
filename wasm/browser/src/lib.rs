//! The browser module: the core compiled to `wasm32-unknown-unknown`, with a small typed JS API
//! made by wasm-bindgen (`scripts/build-wasm.sh` builds it into `web/pkg/`).
//!
//! Files come in as bytes with their names, results go out as JS objects (the report, pages of
//! the tables) and encoded bytes (Parquet or CSV) for download. Nothing leaves the machine.
//! Errors are thrown as JS `Error`s named `TidemarkError`, whose message is the CLI's (without
//! its `error: ` prefix) and which carry `file`, `row` and `column` when the core knows them.
//!
//! ```js
//! import init, { apply, example } from "./pkg/tidemark.js";
//! await init();
//! const seed = example();
//! const run = apply(seed.snapshot, seed.changes, { asOf: "2021-10-18" }, (p) => console.log(p));
//! run.report().apply.outcome;          // { inserted: 7, updated: 3, deleted: 0, unchanged: 0 }
//! run.diffPage(0, 20, "updated");      // old and new values of the updated keys
//! run.encode("enriched", "csv");       // Uint8Array, the CLI's enriched.csv
//! run.free();
//! ```

// Only for the browser: natively this crate is empty (wasm-bindgen's exports mean nothing there).
#![cfg(all(target_arch = "wasm32", target_os = "unknown"))]

use std::cell::RefCell;

use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_buffer::NullBuffer;
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_row::{RowConverter, SortField};
use arrow_schema::SortOptions;
use chrono::NaiveDate;
use js_sys::{Array as JsArray, Function, JSON, Object, Reflect, Uint8Array};
use tidemark_core::features::lookup::Lookup;
use tidemark_core::files::sort_for_apply;
use tidemark_core::pipeline::{self, Inputs, Options, Output, Stage};
use tidemark_core::{ChangeKind, DmsName, InputFile, OutputFormat, TableSpec, encode, example};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** A file by name and contents: an upload, a fetch, a read from disk. Names order the files
 * (DMS names: LOAD00000001.csv, 20211017-194324349.csv) and appear in errors and the report. */
export interface InputFile { name: string; bytes: Uint8Array }

export interface ApplyOptions {
  /** End of the features' window, YYYY-MM-DD; by default the date of the newest change applied. */
  asOf?: string | null;
  /** Length of the window in days; by default the spec's (90 for the seed). */
  windowDays?: number | null;
  /** Lookup table for the group column (CSV with a header, or Parquet: city, state[, population]);
   * by default the bundled GeoNames US cities. */
  lookup?: InputFile | null;
  /** The `state.parquet` of an earlier run (changes with a sequence). */
  state?: InputFile | null;
  /** A table spec (TOML); by default the seed's `users` table. */
  spec?: InputFile | null;
  /** Fail on inserts of existing keys and updates or deletes of missing keys. */
  strict?: boolean;
}

/** Where a run is: about to decode input file `index` of `total`, then apply, enrich, done. */
export type Progress =
  | { stage: "decode"; file: string; index: number; total: number; bytes: number }
  | { stage: "apply" | "enrich" | "done" };
export type ProgressCallback = (progress: Progress) => void;

export type Table = "snapshot" | "enriched" | "diff";
export type Output = Table | "state";
export type Format = "parquet" | "csv";
export type ChangeKind = "inserted" | "updated" | "deleted" | "unchanged";

/** Rows `offset ..< offset + rows.length` of `total`, as the CSV output writes them (null: NULL). */
export interface Page {
  offset: number;
  total: number;
  columns: string[];
  rows: (string | null)[][];
}

/** One touched key: its values before and after (for the non-key `columns`), in the CSV's text. */
export interface DiffRow {
  change: ChangeKind;
  key: (string | null)[];
  /** null for an inserted key. */
  before: (string | null)[] | null;
  /** null for a deleted key. */
  after: (string | null)[] | null;
  /** The columns whose value changed (updates). */
  changed: string[];
  /** How many changes were applied to the key. */
  changes: number;
  /** Where the last applied change came from. */
  file: string;
  row: number;
  sequence: string | null;
}

export interface DiffPage {
  offset: number;
  /** Rows matching the filter. */
  total: number;
  key: string[];
  columns: string[];
  rows: DiffRow[];
}

/** A file name and what its DMS name says, in the order files are applied. */
export interface OrderedName {
  name: string;
  kind: "load" | "changes" | "other";
  /** The time in a change file's name, YYYY-MM-DD HH:MM:SS.mmm. */
  time: string | null;
}

export interface OutcomeCounts { inserted: number; updated: number; deleted: number; unchanged: number }

/** The run report: `report.json` of the CLI without its `timings` and `outputs`. */
export interface Report {
  table: string;
  snapshot: { files: string[]; rows: number };
  changes: {
    file: string; named_time: string | null; rows: number;
    inserts: number; updates: number; deletes: number; outcome: OutcomeCounts;
  }[];
  apply: {
    rows_before: number; rows_after: number; changes: number; keys_touched: number;
    keys_changed_several_times: number;
    sequence: "timestamp" | "number" | null; outcome: OutcomeCounts;
  };
  anomalies: {
    kind: "insert_of_existing_key" | "update_of_missing_key" | "delete_of_missing_key"
      | "stale_change_ignored";
    description: string;
    count: number;
    examples: { key: string; file: string; row: number }[];
  }[];
  features: {
    as_of: string; as_of_source: string; window_days: number; window_start: string; groups: number;
    lookup: {
      source: string; matched_rows: number;
      unmatched: { name: string; rows: number }[];
      ambiguous: { name: string; rows: number; chosen: string; others: string[] }[];
    } | null;
  } | null;
}

/** What the module throws: the CLI's message, and where in the input the problem is. */
export interface TidemarkError extends Error {
  name: "TidemarkError";
  file: string | null;
  row: number | null;
  column: string | null;
}

export interface Example { snapshot: InputFile[]; changes: InputFile[] }
"#;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console)]
    fn error(message: &str);
}

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
    /// The bundled lookup table, built once: building it (parsing 30,000 places) takes longer
    /// than applying small change sets, and the page applies again on every option change.
    static US_CITIES: RefCell<Option<Lookup>> = const { RefCell::new(None) };
}

/// Keeps the message of a panic (a bug, never bad input), which the trap that follows loses.
#[wasm_bindgen(start, skip_typescript)]
fn start() {
    std::panic::set_hook(Box::new(|info| {
        let message = info.to_string();
        error(&format!("tidemark: {message}"));
        LAST_PANIC.with(|p| *p.borrow_mut() = Some(message));
    }));
}

/// The message of the panic that aborted the last call, if one did (the module must then be
/// loaded again).
#[wasm_bindgen(js_name = lastPanic)]
pub fn last_panic() -> Option<String> {
    LAST_PANIC.with(|p| p.borrow().clone())
}

/// The version of the module (the workspace's).
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// A `TidemarkError` with the core's message and location.
fn core_error(e: &tidemark_core::Error) -> JsValue {
    let location = e.location();
    make_error(
        &e.to_string(),
        location.map(|l| l.file.as_str()),
        location.and_then(|l| l.row),
        location.and_then(|l| l.column.as_deref()),
    )
}

/// A `TidemarkError` about how the module was called.
fn usage_error(message: &str) -> JsValue {
    make_error(message, None, None, None)
}

fn make_error(
    message: &str,
    file: Option<&str>,
    row: Option<u64>,
    column: Option<&str>,
) -> JsValue {
    let error = js_sys::Error::new(message);
    error.set_name("TidemarkError");
    let value = |v: Option<JsValue>| v.unwrap_or(JsValue::NULL);
    set(&error, "file", value(file.map(JsValue::from_str)));
    set(
        &error,
        "row",
        value(row.map(|r| JsValue::from_f64(r as f64))),
    );
    set(&error, "column", value(column.map(JsValue::from_str)));
    error.into()
}

fn set(target: &JsValue, key: &str, value: impl Into<JsValue>) {
    // Setting a property on a fresh plain object or Error cannot fail.
    let _ = Reflect::set(target, &JsValue::from_str(key), &value.into());
}

fn get(source: &JsValue, key: &str) -> JsValue {
    Reflect::get(source, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn is_absent(value: &JsValue) -> bool {
    value.is_undefined() || value.is_null()
}

/// JSON text to a JS value (for serde types: the report).
fn to_js(value: &impl serde::Serialize) -> JsValue {
    let text = serde_json::to_string(value).expect("reports serialise");
    JSON::parse(&text).expect("serde_json writes valid JSON")
}

/// Reads `{ name, bytes }`.
fn input_file(value: &JsValue, what: &str) -> Result<InputFile, JsValue> {
    let name = get(value, "name").as_string().ok_or_else(|| {
        usage_error(&format!(
            "{what}: expected {{ name: string, bytes: Uint8Array }}"
        ))
    })?;
    let bytes = get(value, "bytes")
        .dyn_into::<Uint8Array>()
        .map_err(|_| usage_error(&format!("{name}: `bytes` must be a Uint8Array")))?;
    Ok(InputFile::new(name, bytes.to_vec()))
}

fn input_files(value: &JsValue, what: &str) -> Result<Vec<InputFile>, JsValue> {
    if is_absent(value) {
        return Ok(Vec::new());
    }
    if !JsArray::is_array(value) {
        return Err(usage_error(&format!("{what}: expected an array of files")));
    }
    JsArray::from(value)
        .iter()
        .map(|file| input_file(&file, what))
        .collect()
}

fn optional_file(options: &JsValue, key: &str) -> Result<Option<InputFile>, JsValue> {
    let value = get(options, key);
    if is_absent(&value) {
        Ok(None)
    } else {
        input_file(&value, key).map(Some)
    }
}

/// The spec, options and state a run is given.
fn read_options(options: &JsValue) -> Result<(TableSpec, Options, Option<InputFile>), JsValue> {
    if is_absent(options) {
        return Ok((TableSpec::users(), Options::default(), None));
    }
    let spec = match optional_file(options, "spec")? {
        Some(file) => {
            let text = String::from_utf8_lossy(&file.bytes);
            // As the CLI says it: `path: error`.
            TableSpec::from_toml(&text).map_err(|e| {
                make_error(&format!("{}: {e}", file.name), Some(&file.name), None, None)
            })?
        }
        None => TableSpec::users(),
    };
    let as_of = get(options, "asOf");
    let as_of = if is_absent(&as_of) || as_of.as_string().is_some_and(|s| s.is_empty()) {
        None
    } else {
        let text = as_of.as_string().unwrap_or_default();
        Some(
            NaiveDate::parse_from_str(&text, "%Y-%m-%d")
                .map_err(|_| usage_error(&format!("asOf: {text:?} is not a date (YYYY-MM-DD)")))?,
        )
    };
    let window = get(options, "windowDays");
    let window_days = if is_absent(&window) {
        None
    } else {
        match window.as_f64() {
            Some(n) if n.fract() == 0.0 && (0.0..=u32::MAX as f64).contains(&n) => Some(n as u32),
            _ => {
                return Err(usage_error(
                    "windowDays: expected a whole number of days, 0 or more",
                ));
            }
        }
    };
    let lookup = match optional_file(options, "lookup")? {
        Some(file) => Some(Lookup::from_file(&file).map_err(|e| core_error(&e))?),
        None => None,
    };
    let strict = get(options, "strict").is_truthy();
    let state = optional_file(options, "state")?;
    Ok((
        spec,
        Options {
            as_of,
            window_days,
            lookup,
            strict,
            ..Default::default()
        },
        state,
    ))
}

fn progress_value(stage: Stage) -> JsValue {
    let value: JsValue = Object::new().into();
    match stage {
        Stage::Decode {
            file,
            index,
            total,
            bytes,
        } => {
            set(&value, "stage", "decode");
            set(&value, "file", file);
            set(&value, "index", index as f64);
            set(&value, "total", total as f64);
            set(&value, "bytes", bytes as f64);
        }
        Stage::Apply => set(&value, "stage", "apply"),
        Stage::Enrich => set(&value, "stage", "enrich"),
        Stage::Done => set(&value, "stage", "done"),
    }
    value
}

/// Applies `changes` to `snapshot` and computes the features: the CLI's `tidemark apply`.
///
/// Files may come in any order; they are applied in the order of their DMS names. Throws a
/// `TidemarkError` naming the file, row and column of the first problem found.
#[wasm_bindgen(unchecked_return_type = "Run")]
pub fn apply(
    #[wasm_bindgen(unchecked_param_type = "InputFile[]")] snapshot: JsValue,
    #[wasm_bindgen(unchecked_param_type = "InputFile[]")] changes: JsValue,
    options: Option<ApplyOptions>,
    #[wasm_bindgen(js_name = onProgress)] on_progress: Option<ProgressCallback>,
) -> Result<Run, JsValue> {
    let snapshot = input_files(&snapshot, "snapshot")?;
    let changes = input_files(&changes, "changes")?;
    let options: JsValue = options.map_or(JsValue::UNDEFINED, Into::into);
    let on_progress: Option<Function> = on_progress.map(JsCast::unchecked_into);
    let (spec, mut options, state) = read_options(&options)?;
    // The run borrows the bundled lookup and gives it back; it is the same table the core
    // would build (`Lookup::us_cities()`), so the results and the report are the same.
    let bundled = options.lookup.is_none();
    if bundled {
        options.lookup = Some(US_CITIES.take().unwrap_or_else(Lookup::us_cities));
    }
    let mut report = |stage: Stage| {
        if let Some(f) = &on_progress {
            // A throwing progress callback must not stop the run.
            let _ = f.call1(&JsValue::NULL, &progress_value(stage));
        }
    };
    let inputs = Inputs {
        snapshot,
        state,
        changes,
    };
    let output = pipeline::run(&spec, inputs, &options, &mut report);
    if bundled {
        US_CITIES.set(options.lookup.take());
    }
    let output = output.map_err(|e| core_error(&e))?;
    Ok(Run {
        key: spec.table.key.clone(),
        output,
        order: None,
    })
}

/// The bundled seed example: the original job's full load (103 users) and its five change files.
#[wasm_bindgen(unchecked_return_type = "Example")]
pub fn example() -> JsValue {
    let seed = example::seed();
    let files = |files: &[InputFile]| -> JsValue {
        files
            .iter()
            .map(|f| {
                let file: JsValue = Object::new().into();
                set(&file, "name", f.name.as_str());
                set(&file, "bytes", Uint8Array::from(&f.bytes[..]));
                file
            })
            .collect::<JsArray>()
            .into()
    };
    let value: JsValue = Object::new().into();
    set(&value, "snapshot", files(&seed.snapshot));
    set(&value, "changes", files(&seed.changes));
    value
}

/// File names in the order the core applies them (full-load parts by counter, change files by
/// the time in their names, other names last), with what their names say.
#[wasm_bindgen(js_name = applyOrder, unchecked_return_type = "OrderedName[]")]
pub fn apply_order(names: Vec<String>) -> JsValue {
    let mut files: Vec<InputFile> = names
        .into_iter()
        .map(|n| InputFile::new(n, Vec::new()))
        .collect();
    sort_for_apply(&mut files);
    files
        .iter()
        .map(|f| {
            let item: JsValue = Object::new().into();
            let dms = DmsName::of(&f.name);
            set(&item, "name", f.name.as_str());
            set(
                &item,
                "kind",
                match dms {
                    DmsName::Load(_) => "load",
                    DmsName::Changes(_) => "changes",
                    DmsName::Other => "other",
                },
            );
            let time = dms
                .timestamp()
                .map(|t| JsValue::from_str(&t.format("%Y-%m-%d %H:%M:%S%.3f").to_string()));
            set(&item, "time", time.unwrap_or(JsValue::NULL));
            item
        })
        .collect::<JsArray>()
        .into()
}

/// The result of [`apply`]: kept in the module's memory; read it in pages, encode it for
/// download, and `free()` it when done.
#[wasm_bindgen]
pub struct Run {
    key: Vec<String>,
    output: Output,
    /// The last sort asked of [`Run::page`]: table, column, descending, and the row order.
    order: Option<(String, String, bool, Vec<u32>)>,
}

fn format_options() -> FormatOptions<'static> {
    // As the CSV output writes values, except that NULL stays null.
    FormatOptions::default()
        .with_timestamp_format(Some("%Y-%m-%d %H:%M:%S%.6f"))
        .with_display_error(true)
}

/// How a column shows in JS: as the CSV output writes its values, and null where the value
/// is null. Nulls are the logical ones: a dictionary column (the features) also has null
/// values behind valid keys.
struct Cells<'a> {
    formatter: ArrayFormatter<'a>,
    nulls: Option<NullBuffer>,
}

impl Cells<'_> {
    fn value(&self, row: usize) -> JsValue {
        if self.nulls.as_ref().is_some_and(|n| n.is_null(row)) {
            JsValue::NULL
        } else {
            JsValue::from_str(&self.text(row))
        }
    }

    fn text(&self, row: usize) -> String {
        self.formatter.value(row).to_string()
    }
}

fn cells<'a>(batch: &'a RecordBatch, options: &'a FormatOptions<'a>) -> Vec<Cells<'a>> {
    batch
        .columns()
        .iter()
        .map(|c| column_cells(c, options))
        .collect()
}

fn column_cells<'a>(column: &'a ArrayRef, options: &'a FormatOptions<'a>) -> Cells<'a> {
    Cells {
        formatter: ArrayFormatter::try_new(column.as_ref(), options)
            .expect("every table type displays"),
        nulls: column.logical_nulls(),
    }
}

fn string_array<'a>(values: impl IntoIterator<Item = &'a str>) -> JsArray {
    values.into_iter().map(JsValue::from_str).collect()
}

#[wasm_bindgen]
impl Run {
    /// The run report.
    #[wasm_bindgen(unchecked_return_type = "Report")]
    pub fn report(&self) -> JsValue {
        let value = to_js(&self.output.report);
        // Each anomaly with the sentence the CLI prints for it.
        let anomalies = JsArray::from(&get(&value, "anomalies"));
        for (item, anomaly) in anomalies.iter().zip(&self.output.report.anomalies) {
            set(&item, "description", anomaly.kind.describe());
        }
        value
    }

    /// The run report as the CLI's `report.json` writes it, without `timings` and `outputs`.
    #[wasm_bindgen(js_name = reportJson)]
    pub fn report_json(&self) -> String {
        serde_json::to_string_pretty(&self.output.report).expect("reports serialise")
    }

    /// The number of rows of a table.
    #[wasm_bindgen(js_name = rowCount)]
    pub fn row_count(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Table")] table: &str,
    ) -> Result<u32, JsValue> {
        Ok(self.table(table)?.num_rows() as u32)
    }

    /// The column names of a table.
    pub fn columns(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Table")] table: &str,
    ) -> Result<Vec<String>, JsValue> {
        Ok(self
            .table(table)?
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect())
    }

    /// Rows `offset ..< offset + limit` of a table, optionally sorted by a column (ties keep
    /// the table's order; nulls last). The sort is kept for the next pages.
    pub fn page(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Table")] table: &str,
        offset: u32,
        limit: u32,
        #[wasm_bindgen(js_name = sortBy)] sort_by: Option<String>,
        descending: Option<bool>,
    ) -> Result<Page, JsValue> {
        let batch = self.table(table)?.clone();
        let total = batch.num_rows();
        let start = (offset as usize).min(total);
        let end = start.saturating_add(limit as usize).min(total);
        let order = match sort_by {
            Some(column) => {
                Some(self.sorted(table, &batch, &column, descending.unwrap_or(false))?)
            }
            None => None,
        };
        let options = format_options();
        let shown = cells(&batch, &options);
        let rows: JsArray = (start..end)
            .map(|i| {
                let row = order.as_ref().map_or(i, |o| o[i] as usize);
                shown.iter().map(|c| c.value(row)).collect::<JsArray>()
            })
            .collect();
        let value: JsValue = Object::new().into();
        set(&value, "offset", start as f64);
        set(&value, "total", total as f64);
        set(
            &value,
            "columns",
            string_array(batch.schema().fields().iter().map(|f| f.name().as_str())),
        );
        set(&value, "rows", rows);
        Ok(value.unchecked_into())
    }

    /// Touched keys `offset ..< offset + limit`, in the order of their first change, optionally
    /// only those of one kind, with their old and new values.
    #[wasm_bindgen(js_name = diffPage)]
    pub fn diff_page(
        &self,
        offset: u32,
        limit: u32,
        change: Option<ChangeKindName>,
    ) -> Result<DiffPage, JsValue> {
        let diff = &self.output.diff;
        let change = change.and_then(|c| JsValue::from(c).as_string());
        let filter = match change.as_deref() {
            None | Some("") => None,
            Some(name) => Some(name.parse::<ChangeKind>().map_err(|_| {
                usage_error(&format!(
                    "unknown change {name:?} (expected inserted, updated, deleted or unchanged)"
                ))
            })?),
        };
        let matching = |i: &usize| filter.is_none_or(|k| diff.kind(*i) == k);
        let total = (0..diff.len()).filter(matching).count();
        let rows: Vec<usize> = (0..diff.len())
            .filter(matching)
            .skip(offset as usize)
            .take(limit as usize)
            .collect();

        let options = format_options();
        // Formatters of the diff's parts, found through its typed accessors.
        let columns: Vec<String> = diff.value_columns().to_vec();
        let key_cells: Vec<Cells> = diff
            .keys()
            .iter()
            .map(|k| column_cells(k, &options))
            .collect();
        let compared = |c: &str| {
            diff.before(c)
                .zip(diff.after(c))
                .expect("a compared column")
        };
        let before_cells: Vec<Cells> = columns
            .iter()
            .map(|c| column_cells(compared(c).0, &options))
            .collect();
        let after_cells: Vec<Cells> = columns
            .iter()
            .map(|c| column_cells(compared(c).1, &options))
            .collect();
        let sequence_cells = diff
            .source_sequence()
            .map(|sequence| column_cells(sequence, &options));

        let out: JsArray = rows
            .iter()
            .map(|&row| {
                let kind = diff.kind(row);
                let item: JsValue = Object::new().into();
                let values = |cells: &[Cells]| -> JsValue {
                    cells
                        .iter()
                        .map(|c| c.value(row))
                        .collect::<JsArray>()
                        .into()
                };
                set(&item, "change", kind.as_str());
                set(&item, "key", values(&key_cells));
                let before = kind != ChangeKind::Inserted;
                let after = kind != ChangeKind::Deleted;
                set(
                    &item,
                    "before",
                    if before {
                        values(&before_cells)
                    } else {
                        JsValue::NULL
                    },
                );
                set(
                    &item,
                    "after",
                    if after {
                        values(&after_cells)
                    } else {
                        JsValue::NULL
                    },
                );
                set(&item, "changed", string_array(diff.changed_columns(row)));
                set(&item, "changes", diff.changes_applied(row) as f64);
                let source = diff.source(row);
                set(&item, "file", source.file);
                set(&item, "row", source.row as f64);
                set(
                    &item,
                    "sequence",
                    sequence_cells
                        .as_ref()
                        .map_or(JsValue::NULL, |c| c.value(row)),
                );
                item
            })
            .collect();
        let value: JsValue = Object::new().into();
        set(&value, "offset", offset as f64);
        set(&value, "total", total as f64);
        set(
            &value,
            "key",
            string_array(self.key.iter().map(String::as_str)),
        );
        set(
            &value,
            "columns",
            string_array(columns.iter().map(String::as_str)),
        );
        set(&value, "rows", out);
        Ok(value.unchecked_into())
    }

    /// An output encoded as the CLI writes it to `--out`: `snapshot`, `enriched` or `diff` in
    /// `format`, or `state` (always Parquet; only when the changes carry a sequence).
    pub fn encode(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Output")] output: &str,
        #[wasm_bindgen(unchecked_param_type = "Format")] format: &str,
    ) -> Result<Vec<u8>, JsValue> {
        let format: OutputFormat = format.parse().map_err(|e: String| usage_error(&e))?;
        let bytes = if output == "state" {
            let versions = self
                .output
                .versions
                .as_ref()
                .ok_or_else(|| usage_error("no state: the changes carry no sequence column"))?;
            encode::to_parquet(&versions.rows)
        } else {
            format.encode(self.table(output)?)
        };
        bytes.map_err(|e| core_error(&e))
    }

    /// Whether the run kept versions for the next one (`state.parquet`).
    #[wasm_bindgen(js_name = hasState)]
    pub fn has_state(&self) -> bool {
        self.output.versions.is_some()
    }
}

impl Run {
    fn table(&self, name: &str) -> Result<&RecordBatch, JsValue> {
        match name {
            "snapshot" => Ok(&self.output.table),
            "enriched" => self
                .output
                .enriched
                .as_ref()
                .ok_or_else(|| usage_error("no enriched table: the spec has no features")),
            "diff" => Ok(&self.output.diff.rows),
            other => Err(usage_error(&format!(
                "unknown table {other:?} (expected snapshot, enriched or diff)"
            ))),
        }
    }

    /// The row order of `table` sorted by `column`, computed once per sort. Row-format
    /// comparison (which the core's key handling already uses) rather than Arrow's sort kernels
    /// keeps the module small; the sort is stable, so ties keep the table's order.
    fn sorted(
        &mut self,
        table: &str,
        batch: &RecordBatch,
        column: &str,
        descending: bool,
    ) -> Result<Vec<u32>, JsValue> {
        if let Some((t, c, d, order)) = &self.order {
            if t == table && c == column && *d == descending {
                return Ok(order.clone());
            }
        }
        let values = batch
            .column_by_name(column)
            .ok_or_else(|| usage_error(&format!("no column {column:?} in the {table} table")))?;
        let cannot_sort =
            |e: arrow_schema::ArrowError| usage_error(&format!("cannot sort by {column:?}: {e}"));
        let options = SortOptions {
            descending,
            nulls_first: false,
        };
        let converter = RowConverter::new(vec![SortField::new_with_options(
            values.data_type().clone(),
            options,
        )])
        .map_err(cannot_sort)?;
        let rows = converter
            .convert_columns(std::slice::from_ref(values))
            .map_err(cannot_sort)?;
        let mut order: Vec<u32> = (0..batch.num_rows() as u32).collect();
        order.sort_by(|&a, &b| rows.row(a as usize).cmp(&rows.row(b as usize)));
        self.order = Some((table.into(), column.into(), descending, order.clone()));
        Ok(order)
    }
}

#[wasm_bindgen]
extern "C" {
    /// See the TypeScript `Page`.
    #[wasm_bindgen(typescript_type = "Page")]
    pub type Page;
    /// See the TypeScript `DiffPage`.
    #[wasm_bindgen(typescript_type = "DiffPage")]
    pub type DiffPage;
    /// See the TypeScript `ApplyOptions`.
    #[wasm_bindgen(typescript_type = "ApplyOptions")]
    pub type ApplyOptions;
    /// See the TypeScript `ProgressCallback`.
    #[wasm_bindgen(typescript_type = "ProgressCallback")]
    pub type ProgressCallback;
    /// See the TypeScript `ChangeKind`.
    #[wasm_bindgen(typescript_type = "ChangeKind")]
    pub type ChangeKindName;
}
