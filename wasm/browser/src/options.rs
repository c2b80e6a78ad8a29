//! The arguments of `apply`, read from JS into the core's inputs and options, and its
//! progress as JS values.

use chrono::NaiveDate;
use js_sys::{Array as JsArray, Object, Uint8Array};
use tidemark_core::features::lookup::Lookup;
use tidemark_core::pipeline::{Options, Stage};
use tidemark_core::{InputFile, TableSpec};
use wasm_bindgen::prelude::*;

use crate::js::{core_error, get, is_absent, make_error, set, usage_error};

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

pub(crate) fn input_files(value: &JsValue, what: &str) -> Result<Vec<InputFile>, JsValue> {
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

/// What a run is given beside its snapshot and change files.
pub(crate) struct Given {
    pub spec: TableSpec,
    pub options: Options,
    /// An earlier run's `state.parquet`.
    pub state: Option<InputFile>,
    /// An earlier run's `change_log.parquet` (history).
    pub change_log: Option<InputFile>,
}

/// The spec, options, state and change log a run is given.
pub(crate) fn read_options(options: &JsValue) -> Result<Given, JsValue> {
    if is_absent(options) {
        return Ok(Given {
            spec: TableSpec::users(),
            options: Options::default(),
            state: None,
            change_log: None,
        });
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
        Some(NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
            usage_error(&format!(
                "as_of: {text:?} is not a date: type it as YYYY-MM-DD (2021-10-18), or leave it \
                 empty for the date of the newest change"
            ))
        })?)
    };
    let window = get(options, "windowDays");
    let window_days = if is_absent(&window) {
        None
    } else {
        let days = window.as_f64().unwrap_or(f64::NAN);
        // The range is the core's (pipeline::decode checks it too): here it is said in the
        // page's words, before anything is read.
        let range = tidemark_core::error::WINDOW_DAYS;
        let whole = days.fract() == 0.0;
        match whole && (*range.start() as f64..=*range.end() as f64).contains(&days) {
            true => Some(days as u32),
            false => {
                return Err(usage_error(&format!(
                    "Window: {days} days is not possible: give a whole number of days from {} to \
                     {}, or leave it empty for the spec's window",
                    range.start(),
                    range.end()
                )));
            }
        }
    };
    let lookup = match optional_file(options, "lookup")? {
        Some(file) => Some(Lookup::from_file(&file).map_err(|e| core_error(&e))?),
        None => None,
    };
    let strict = get(options, "strict").is_truthy();
    Ok(Given {
        spec,
        options: Options {
            as_of,
            window_days,
            lookup,
            strict,
            ..Default::default()
        },
        state: optional_file(options, "state")?,
        change_log: optional_file(options, "changeLog")?,
    })
}

pub(crate) fn progress_value(stage: Stage) -> JsValue {
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
