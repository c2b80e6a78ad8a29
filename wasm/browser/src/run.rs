//! `apply` and the `Run` it returns: the run's tables, read in pages (sorted on request), its
//! diff, its report, and its outputs encoded for download.

use std::cell::RefCell;

use arrow_array::RecordBatch;
use js_sys::{Array as JsArray, Function, Object};
use tidemark_core::features::lookup::Lookup;
use tidemark_core::pipeline::{self, Inputs, Output, Stage};
use tidemark_core::{ChangeKind, OutputFormat, TableSpec, encode};
use wasm_bindgen::prelude::*;

use crate::cells::{cells, format_options};
use crate::diff_page;
use crate::js::{core_error, get, make_error, set, string_array, to_js, usage_error};
use crate::options::{input_files, progress_value, read_options};
use crate::query::{self, read_query};
use tidemark_core::review::{self, ColumnRef, Filter, RowQuery, Rows, Sort, SortBy};

thread_local! {
    /// The bundled lookup table, built once: building it (parsing 30,000 places) takes longer
    /// than applying small change sets, and the page applies again on every option change.
    static US_CITIES: RefCell<Option<Lookup>> = const { RefCell::new(None) };
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
    let given = read_options(&options)?;
    let (spec, mut options) = (given.spec, given.options);
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
        state: given.state,
        changes,
        change_log: given.change_log,
        next_snapshot: Vec::new(),
    };
    let output = pipeline::run(&spec, inputs, &options, &mut report);
    if bundled {
        US_CITIES.set(options.lookup.take());
    }
    let output = output.map_err(|e| core_error(&e))?;
    Ok(Run {
        key: spec.table.key.clone(),
        spec,
        output,
        queried: None,
    })
}

/// The result of [`apply`]: kept in the module's memory; read it in pages, encode it for
/// download, and `free()` it when done.
#[wasm_bindgen]
pub struct Run {
    key: Vec<String>,
    spec: TableSpec,
    output: Output,
    /// The last query asked of [`Run::query`], [`Run::diff_query`] or a sorted [`Run::page`]:
    /// the table, the query,
    /// and the rows it selects in its order (the next pages read them).
    queried: Option<(String, RowQuery, Vec<u32>)>,
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
                let sort = Sort {
                    by: SortBy::Column(ColumnRef::shown(column)),
                    descending: descending.unwrap_or(false),
                };
                let query = RowQuery {
                    filters: vec![],
                    sort: Some(sort),
                };
                Some(self.selected(table, query)?)
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
        let change = change.and_then(|c| JsValue::from(c).as_string());
        let filter = match change.as_deref() {
            None | Some("") => None,
            Some(name) => Some(name.parse::<ChangeKind>().map_err(|_| {
                let kinds: Vec<&str> = ChangeKind::ALL.iter().map(|k| k.as_str()).collect();
                usage_error(&format!(
                    "unknown change {name:?} (expected one of {})",
                    kinds.join(", ")
                ))
            })?),
        };
        let selected: Vec<u32> = (0..self.output.diff.len() as u32)
            .filter(|&r| filter.is_none_or(|k| self.output.diff.kind(r as usize) == k))
            .collect();
        Ok(
            diff_page::page(&self.output.diff, &self.key, offset, limit, &selected)
                .unchecked_into(),
        )
    }

    /// Touched keys `offset ..< offset + limit` of those a query selects (search, filters,
    /// facets), in its order: the core's rules ([`tidemark_core::review`]).
    #[wasm_bindgen(js_name = diffQuery)]
    pub fn diff_query(
        &mut self,
        query: RowQueryValue,
        offset: u32,
        limit: u32,
    ) -> Result<DiffPage, JsValue> {
        let query = read_query(&query.into())?;
        let selected = self.selected("diff", query)?;
        Ok(
            diff_page::page(&self.output.diff, &self.key, offset, limit, &selected)
                .unchecked_into(),
        )
    }

    /// Rows `offset ..< offset + limit` of those of a table a query selects, in its order.
    pub fn query(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Table")] table: &str,
        query: RowQueryValue,
        offset: u32,
        limit: u32,
    ) -> Result<Page, JsValue> {
        let query = read_query(&query.into())?;
        let selected = self.selected(table, query)?;
        let batch = self.table(table)?;
        let options = format_options();
        let shown = cells(batch, &options);
        let rows: JsArray = selected
            .iter()
            .skip(offset as usize)
            .take(limit as usize)
            .map(|&row| {
                shown
                    .iter()
                    .map(|c| c.value(row as usize))
                    .collect::<JsArray>()
            })
            .collect();
        let value: JsValue = Object::new().into();
        set(&value, "offset", offset.min(selected.len() as u32) as f64);
        set(&value, "total", selected.len() as f64);
        set(
            &value,
            "columns",
            string_array(batch.schema().fields().iter().map(|f| f.name().as_str())),
        );
        set(&value, "rows", rows);
        Ok(value.unchecked_into())
    }

    /// The diff's facets (per kind, source file and changed column) under a query's filters,
    /// each counted without its own filters.
    pub fn facets(&self, query: RowQueryValue) -> Result<Facets, JsValue> {
        let query = read_query(&query.into())?;
        let facets =
            review::facets(&self.output.diff, &query.filters).map_err(|e| query_error(&e))?;
        Ok(to_js(&facets).unchecked_into())
    }

    /// An output encoded as the CLI writes it to `--out`: `snapshot`, `enriched`, `diff` or
    /// `history` in `format`, or `state` (always Parquet; only when the changes carry a
    /// sequence) or `change_log` (always Parquet; when the spec keeps history).
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
        } else if output == "change_log" {
            encode::to_parquet(&self.history()?.log.rows)
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

    /// Every version of one key, in order (its key values as the diff shows them, one per key
    /// column): the key's timeline. Empty when the history has no such key.
    #[wasm_bindgen(js_name = keyHistory)]
    pub fn key_history(&self, key: Vec<String>) -> Result<Page, JsValue> {
        use tidemark_core::history::{key_from_text, key_versions};
        let history = &self.history()?.versions;
        let key: Vec<&str> = key.iter().map(String::as_str).collect();
        // The core's rule for a key's versions: the text read as the key columns' types.
        let versions = key_from_text(history, &self.key, &key)
            .and_then(|key| key_versions(history, &self.key, &key, 0))
            .map_err(|e| core_error(&e))?;
        let options = format_options();
        let shown = cells(history, &options);
        let rows: JsArray = versions
            .iter()
            .map(|&row| {
                shown
                    .iter()
                    .map(|c| c.value(row as usize))
                    .collect::<JsArray>()
            })
            .collect();
        let value: JsValue = Object::new().into();
        set(&value, "offset", 0.0);
        set(&value, "total", rows.length() as f64);
        set(
            &value,
            "columns",
            string_array(history.schema().fields().iter().map(|f| f.name().as_str())),
        );
        set(&value, "rows", rows);
        Ok(value.unchecked_into())
    }

    /// The filter that shows the rows of a name the lookup did not find (a click on one of the
    /// report's `unmatched` names), for the enriched table: the core's rule
    /// ([`review::unmatched_rows`]). `null` when the spec has no features.
    #[wasm_bindgen(js_name = unmatchedRows, unchecked_return_type = "Filter | null")]
    pub fn unmatched_rows(&self, name: &str) -> JsValue {
        match review::unmatched_rows(&self.spec, name) {
            Some(Filter::Equals { column, value }) => query::write_equals(&column, &value),
            _ => JsValue::NULL,
        }
    }

    /// Whether the run kept history (the spec's `[history]`): the `history` table and the
    /// `change_log` output.
    #[wasm_bindgen(js_name = hasHistory)]
    pub fn has_history(&self) -> bool {
        self.output.history.is_some()
    }
}

fn query_error(e: &review::QueryError) -> JsValue {
    let column = match e {
        review::QueryError::UnknownColumn(c) => Some(c.as_str()),
        review::QueryError::BadValue { column, .. }
        | review::QueryError::Unsupported { column, .. } => Some(column.as_str()),
        _ => None,
    };
    make_error(&e.to_string(), None, None, column)
}

impl Run {
    /// The rows of `table` a query selects, in its order: kept for the next page.
    fn selected(&mut self, table: &str, query: RowQuery) -> Result<Vec<u32>, JsValue> {
        if let Some((t, q, rows)) = &self.queried {
            if t == table && *q == query {
                return Ok(rows.clone());
            }
        }
        let rows = match table {
            "diff" => Rows::Diff(&self.output.diff),
            other => Rows::Table {
                batch: self.table(other)?,
                key: &self.key,
            },
        };
        let selected = review::run(rows, &query).map_err(|e| query_error(&e))?;
        self.queried = Some((table.to_string(), query, selected.clone()));
        Ok(selected)
    }

    fn history(&self) -> Result<&tidemark_core::history::History, JsValue> {
        self.output
            .history
            .as_ref()
            .ok_or_else(|| usage_error("no history: the spec keeps none ([history])"))
    }

    fn table(&self, name: &str) -> Result<&RecordBatch, JsValue> {
        match name {
            "snapshot" => Ok(&self.output.table),
            "enriched" => self
                .output
                .enriched
                .as_ref()
                .ok_or_else(|| usage_error("no enriched table: the spec has no features")),
            "diff" => Ok(&self.output.diff.rows),
            "history" => Ok(&self.history()?.versions),
            other => Err(usage_error(&format!(
                "unknown table {other:?} (expected snapshot, enriched, diff or history)"
            ))),
        }
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
    /// See the TypeScript `RowQuery`.
    #[wasm_bindgen(typescript_type = "RowQuery | null | undefined")]
    pub type RowQueryValue;
    /// See the TypeScript `Facets`.
    #[wasm_bindgen(typescript_type = "Facets")]
    pub type Facets;
    /// See the TypeScript `ChangeKind`.
    #[wasm_bindgen(typescript_type = "ChangeKind")]
    pub type ChangeKindName;
}
