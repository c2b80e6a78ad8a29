//! The browser module: the core compiled to `wasm32-unknown-unknown`, with a small typed JS API
//! made by wasm-bindgen (`scripts/build-wasm.sh` builds it into `web/pkg/`).
//!
//! Files come in as bytes with their names, results go out as JS objects (the report, pages of
//! the tables) and encoded bytes (Parquet or CSV) for download. Nothing leaves the machine.
//! Errors are thrown as JS `Error`s named `TidemarkError`, whose message is the CLI's (without
//! its `error: ` prefix) and which carry `file`, `row` and `column` when the core knows them.
//!
//! The module's parts: `run` (apply and the `Run` it returns), `diff_page` (the diff as JS
//! rows), `options` (JS arguments read into the core's inputs), `cells` (values as the CSV
//! output shows them), `js` (JS objects and `TidemarkError`s).
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

mod cells;
mod diff_page;
mod js;
mod options;
mod query;
mod run;

use std::cell::RefCell;

use js_sys::{Array as JsArray, Object, Uint8Array};
use tidemark_core::files::sort_for_apply;
use tidemark_core::{ChangeKind, DmsName, InputFile, example};
use wasm_bindgen::prelude::*;

pub use run::{Run, apply};

use js::set;

/// The run report's types, generated from the core's (`tests/typescript_types.rs`).
#[wasm_bindgen(typescript_custom_section)]
const REPORT_TYPES: &str = include_str!("report.ts");

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = r#"
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
  /** The `change_log.parquet` of an earlier run (a spec with `[history]`): this run extends
   * its history. */
  changeLog?: InputFile | null;
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

export type Table = "snapshot" | "enriched" | "diff" | "history";
export type Output = Table | "state" | "change_log";
export type Format = "parquet" | "csv";
export type ChangeKind = "inserted" | "updated" | "deleted" | "unchanged" | "inserted_and_deleted";

/** A kind of change as the core names and explains it: the page's filters and legend. */
export interface ChangeKindInfo {
  kind: ChangeKind;
  /** "Inserted and deleted" */
  label: string;
  /** What it means, in a sentence. */
  meaning: string;
}

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
  /** null for an inserted key (and one inserted and deleted). */
  before: (string | null)[] | null;
  /** null for a deleted key (and one inserted and deleted). */
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

/** The run report: `report.json` of the CLI without its `timings` and `outputs`, each anomaly
 * with the sentence the CLI prints for it. Its parts are generated from the core's types
 * (`report.ts`). */
export type Report = Omit<RunReport, "anomalies"> & {
  anomalies: (Anomaly & { description: string })[];
};

/** What the module throws: the CLI's message, and where in the input the problem is. */
export interface TidemarkError extends Error {
  name: "TidemarkError";
  file: string | null;
  row: number | null;
  column: string | null;
}

export interface Example { snapshot: InputFile[]; changes: InputFile[] }

/** A column of a table; in the diff, a key column or the value a row shows ("shown": after
 * the run, before it for a deleted key), or its value before or after the run. */
export interface ColumnRef { name: string; side?: "shown" | "before" | "after" }

/** One condition on a row (the core's `review::Filter`). Values are read as the column's type;
 * dates are YYYY-MM-DD. */
export type Filter =
  | { filter: "key"; text: string; prefix: boolean }
  | { filter: "contains"; column: ColumnRef; text: string }
  | { filter: "equals"; column: ColumnRef; value: string }
  | { filter: "range"; column: ColumnRef; min?: string | null; max?: string | null }
  | { filter: "kind"; kind: ChangeKind }
  | { filter: "source_file"; file: string }
  | { filter: "changed"; column: string };

export type SortBy = { column: ColumnRef } | "kind" | "source" | "changes" | "sequence";

/** Filters (all hold) and an order: a search, column filters, facets and a sorted header. */
export interface RowQuery { filters?: Filter[]; sort?: { by: SortBy; descending?: boolean } | null }

export interface FacetCount<T> { value: T; count: number }

/** The diff's facets under a query's filters, each counted without its own filters. */
export interface Facets {
  kinds: FacetCount<ChangeKind>[];
  /** In the order files apply in. */
  files: FacetCount<string>[];
  /** Every compared column, in table order. */
  changed: FacetCount<string>[];
}
"#;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console)]
    fn error(message: &str);
}

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
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

/// Every kind of change of the diff, in the core's order, with its label and meaning.
#[wasm_bindgen(js_name = changeKinds, unchecked_return_type = "ChangeKindInfo[]")]
pub fn change_kinds() -> JsValue {
    ChangeKind::ALL
        .iter()
        .map(|kind| {
            let item: JsValue = Object::new().into();
            set(&item, "kind", kind.as_str());
            set(&item, "label", kind.label());
            set(&item, "meaning", kind.meaning());
            item
        })
        .collect::<JsArray>()
        .into()
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
