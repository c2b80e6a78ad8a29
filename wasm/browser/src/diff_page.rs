//! The diff as the page reads it: touched keys in the order of their first change, each with
//! its kind, key, values before and after, changed columns and provenance, all through the
//! diff's typed accessors.

use js_sys::{Array as JsArray, Object};
use tidemark_core::{ChangeKind, Diff};
use wasm_bindgen::prelude::*;

use crate::cells::{Cells, column_cells, format_options};
use crate::js::{set, string_array};

/// Touched keys `offset ..< offset + limit` of `selected` (diff rows, in the order shown): a
/// `DiffPage`.
pub(crate) fn page(
    diff: &Diff,
    key: &[String],
    offset: u32,
    limit: u32,
    selected: &[u32],
) -> JsValue {
    let total = selected.len();
    let rows: Vec<usize> = selected
        .iter()
        .skip(offset as usize)
        .take(limit as usize)
        .map(|&r| r as usize)
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
            // A side where the key did not exist has no values.
            let transient = kind == ChangeKind::InsertedAndDeleted;
            let before = kind != ChangeKind::Inserted && !transient;
            let after = kind != ChangeKind::Deleted && !transient;
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
    set(&value, "key", string_array(key.iter().map(String::as_str)));
    set(
        &value,
        "columns",
        string_array(columns.iter().map(String::as_str)),
    );
    set(&value, "rows", out);
    value
}
