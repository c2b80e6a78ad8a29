//! A table printed as text, like Spark's `show`.

use arrow_array::RecordBatch;

/// The first `limit` rows of `batch` ordered by `order_by`, as a text table like Spark's `show`.
pub(super) fn show(batch: &RecordBatch, order_by: &[&str], limit: usize) -> String {
    use arrow_cast::display::{ArrayFormatter, FormatOptions};
    let sort_columns: Vec<arrow_ord::sort::SortColumn> = order_by
        .iter()
        .filter_map(|name| batch.column_by_name(name))
        .map(|c| arrow_ord::sort::SortColumn {
            values: c.clone(),
            options: None,
        })
        .collect();
    let sorted = arrow_ord::sort::lexsort_to_indices(&sort_columns, Some(limit))
        .ok()
        .and_then(|idx| arrow_select::take::take_record_batch(batch, &idx).ok())
        .unwrap_or_else(|| batch.slice(0, limit.min(batch.num_rows())));
    let options = FormatOptions::default().with_null("null");
    let schema = sorted.schema();
    let mut cells: Vec<Vec<String>> =
        vec![schema.fields().iter().map(|f| f.name().clone()).collect()];
    let formatters: Vec<_> = sorted
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).expect("displayable"))
        .collect();
    for row in 0..sorted.num_rows() {
        cells.push(
            formatters
                .iter()
                .map(|f| f.value(row).to_string())
                .collect(),
        );
    }
    let widths: Vec<usize> = (0..cells[0].len())
        .map(|c| {
            cells
                .iter()
                .map(|r| r[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let rule: String = widths
        .iter()
        .map(|w| format!("+{}", "-".repeat(*w)))
        .collect::<String>()
        + "+";
    let line = |row: &[String]| -> String {
        row.iter()
            .zip(&widths)
            .map(|(v, w)| format!("|{v:<w$}"))
            .collect::<String>()
            + "|"
    };
    let mut out = vec![rule.clone(), line(&cells[0]), rule.clone()];
    out.extend(cells[1..].iter().map(|r| line(r)));
    out.push(rule);
    if batch.num_rows() > limit {
        out.push(format!(
            "only showing top {limit} rows of {}",
            batch.num_rows()
        ));
    }
    out.join("\n")
}
