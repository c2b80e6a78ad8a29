//! A `RowQuery` from JS, read field by field into the core's review types: the shape is the
//! one the core's serde derives define (`tidemark_core::review`), read without a JSON parser,
//! which would take the module past its size budget.

use js_sys::{Array as JsArray, Object};
use tidemark_core::ChangeKind;
use tidemark_core::review::{ColumnRef, Filter, RowQuery, Side, Sort, SortBy};
use wasm_bindgen::prelude::*;

use crate::js::{get, is_absent, set, usage_error};

fn bad(what: &str) -> JsValue {
    usage_error(&format!("a bad query: {what}"))
}

/// The query, or the default (no filter, the rows' own order) for `null` or `undefined`.
pub(crate) fn read_query(value: &JsValue) -> Result<RowQuery, JsValue> {
    if is_absent(value) {
        return Ok(RowQuery::default());
    }
    let filters = get(value, "filters");
    let filters = if is_absent(&filters) {
        Vec::new()
    } else if JsArray::is_array(&filters) {
        JsArray::from(&filters)
            .iter()
            .map(|f| read_filter(&f))
            .collect::<Result<_, _>>()?
    } else {
        return Err(bad("`filters` is not an array"));
    };
    let sort = get(value, "sort");
    let sort = if is_absent(&sort) {
        None
    } else {
        Some(read_sort(&sort)?)
    };
    Ok(RowQuery { filters, sort })
}

fn text(value: &JsValue, key: &str) -> Result<String, JsValue> {
    get(value, key)
        .as_string()
        .ok_or_else(|| bad(&format!("`{key}` is not text")))
}

fn optional_text(value: &JsValue, key: &str) -> Result<Option<String>, JsValue> {
    let field = get(value, key);
    if is_absent(&field) {
        return Ok(None);
    }
    field
        .as_string()
        .map(Some)
        .ok_or_else(|| bad(&format!("`{key}` is not text")))
}

fn column(value: &JsValue) -> Result<ColumnRef, JsValue> {
    let column = get(value, "column");
    let side = match optional_text(&column, "side")?.as_deref() {
        None | Some("shown") => Side::Shown,
        Some("before") => Side::Before,
        Some("after") => Side::After,
        Some(other) => return Err(bad(&format!("unknown side {other:?}"))),
    };
    Ok(ColumnRef {
        name: text(&column, "name")?,
        side,
    })
}

/// `{ filter: "equals", column, value }`: the one filter the module hands the page (see
/// `Run::unmatched_rows`), read back by [`read_filter`].
pub(crate) fn write_equals(column: &ColumnRef, value: &str) -> JsValue {
    let side = match column.side {
        Side::Shown => "shown",
        Side::Before => "before",
        Side::After => "after",
    };
    let column_value: JsValue = Object::new().into();
    set(&column_value, "name", column.name.as_str());
    set(&column_value, "side", side);
    let filter: JsValue = Object::new().into();
    set(&filter, "filter", "equals");
    set(&filter, "column", column_value);
    set(&filter, "value", value);
    filter
}

fn read_filter(value: &JsValue) -> Result<Filter, JsValue> {
    Ok(match text(value, "filter")?.as_str() {
        "key" => Filter::Key {
            text: text(value, "text")?,
            prefix: get(value, "prefix").as_bool().unwrap_or(false),
        },
        "contains" => Filter::Contains {
            column: column(value)?,
            text: text(value, "text")?,
        },
        "equals" => Filter::Equals {
            column: column(value)?,
            value: text(value, "value")?,
        },
        "range" => Filter::Range {
            column: column(value)?,
            min: optional_text(value, "min")?,
            max: optional_text(value, "max")?,
        },
        "kind" => Filter::Kind {
            kind: text(value, "kind")?
                .parse::<ChangeKind>()
                .map_err(|e| bad(&e))?,
        },
        "source_file" => Filter::SourceFile {
            file: text(value, "file")?,
        },
        "changed" => Filter::Changed {
            column: text(value, "column")?,
        },
        other => return Err(bad(&format!("unknown filter {other:?}"))),
    })
}

fn read_sort(value: &JsValue) -> Result<Sort, JsValue> {
    let by = get(value, "by");
    let by = match by.as_string().as_deref() {
        Some("kind") => SortBy::Kind,
        Some("source") => SortBy::Source,
        Some("changes") => SortBy::Changes,
        Some("sequence") => SortBy::Sequence,
        Some(other) => return Err(bad(&format!("unknown sort {other:?}"))),
        None => SortBy::Column(column(&by)?),
    };
    Ok(Sort {
        by,
        descending: get(value, "descending").as_bool().unwrap_or(false),
    })
}
