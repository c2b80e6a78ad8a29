//! Values as the page shows them: as the CSV output writes them, null where the value is
//! null.

use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_buffer::NullBuffer;
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use wasm_bindgen::prelude::*;

pub(crate) fn format_options() -> FormatOptions<'static> {
    // As the CSV output writes values, except that NULL stays null.
    FormatOptions::default()
        .with_timestamp_format(Some("%Y-%m-%d %H:%M:%S%.6f"))
        .with_display_error(true)
}

/// How a column shows in JS: as the CSV output writes its values, and null where the value
/// is null. Nulls are the logical ones: a dictionary column (the features) also has null
/// values behind valid keys.
pub(crate) struct Cells<'a> {
    formatter: ArrayFormatter<'a>,
    nulls: Option<NullBuffer>,
}

impl Cells<'_> {
    pub(crate) fn value(&self, row: usize) -> JsValue {
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

pub(crate) fn cells<'a>(batch: &'a RecordBatch, options: &'a FormatOptions<'a>) -> Vec<Cells<'a>> {
    batch
        .columns()
        .iter()
        .map(|c| column_cells(c, options))
        .collect()
}

pub(crate) fn column_cells<'a>(column: &'a ArrayRef, options: &'a FormatOptions<'a>) -> Cells<'a> {
    Cells {
        formatter: ArrayFormatter::try_new(column.as_ref(), options)
            .expect("every table type displays"),
        nulls: column.logical_nulls(),
    }
}
