//! JS values the module makes and reads: plain objects, JSON, and the `TidemarkError`s it
//! throws.

use js_sys::{Array as JsArray, JSON, Reflect};
use wasm_bindgen::prelude::*;

/// A `TidemarkError` with the core's message and location.
pub(crate) fn core_error(e: &tidemark_core::Error) -> JsValue {
    let location = e.location();
    make_error(
        &e.to_string(),
        location.map(|l| l.file.as_str()),
        location.and_then(|l| l.row),
        location.and_then(|l| l.column.as_deref()),
    )
}

/// A `TidemarkError` about how the module was called.
pub(crate) fn usage_error(message: &str) -> JsValue {
    make_error(message, None, None, None)
}

pub(crate) fn make_error(
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

pub(crate) fn set(target: &JsValue, key: &str, value: impl Into<JsValue>) {
    // Setting a property on a fresh plain object or Error cannot fail.
    let _ = Reflect::set(target, &JsValue::from_str(key), &value.into());
}

pub(crate) fn get(source: &JsValue, key: &str) -> JsValue {
    Reflect::get(source, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

pub(crate) fn is_absent(value: &JsValue) -> bool {
    value.is_undefined() || value.is_null()
}

/// JSON text to a JS value (for serde types: the report).
pub(crate) fn to_js(value: &impl serde::Serialize) -> JsValue {
    let text = serde_json::to_string(value).expect("reports serialise");
    JSON::parse(&text).expect("serde_json writes valid JSON")
}

pub(crate) fn string_array<'a>(values: impl IntoIterator<Item = &'a str>) -> JsArray {
    values.into_iter().map(JsValue::from_str).collect()
}
