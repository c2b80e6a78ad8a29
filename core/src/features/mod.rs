//! Features of the applied table: per group (city), the looked-up value (state), the dense
//! rank of the date (last login, most recent first), the share of rows whose date falls in
//! the window ending at `as_of`, and the group's size.
//!
//! `as_of` is always given: results never depend on the day the job runs.

pub mod lookup;
pub mod rank;

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{
    ArrayRef, DictionaryArray, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field, Schema};
use chrono::NaiveDate;

use crate::error::{Error, ErrorKind, Result};
pub use crate::report::AsOfSource;
use crate::report::{AmbiguousName, FeatureSummary, LookupSummary, NameCount};
use crate::spec::FeatureSpec;
use lookup::{Lookup, Resolution};

/// The enriched table and how it was computed.
#[derive(Debug, Clone)]
pub struct Enriched {
    pub rows: RecordBatch,
    pub summary: FeatureSummary,
}

/// When the window ends, and how that was decided (for the report).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsOf {
    pub date: NaiveDate,
    pub source: AsOfSource,
}

/// Adds the feature columns to `table`.
pub fn enrich(
    table: &RecordBatch,
    spec: &FeatureSpec,
    as_of: &AsOf,
    lookup: Option<&Lookup>,
) -> Result<Enriched> {
    let column = |name: &str, want: &DataType| -> Result<&ArrayRef> {
        let c = table.column_by_name(name).ok_or_else(|| {
            Error::new(ErrorKind::Spec(format!(
                "feature column `{name}` is not in the table"
            )))
        })?;
        if c.data_type() != want {
            return Err(Error::new(ErrorKind::Spec(format!(
                "feature column `{name}` is {}, it must be {want}",
                c.data_type()
            ))));
        }
        Ok(c)
    };
    let group_column = table.column_by_name(&spec.group).ok_or_else(|| {
        Error::new(ErrorKind::Spec(format!(
            "feature column `{}` is not in the table",
            spec.group
        )))
    })?;
    let (raw_ids, raw_names) = rank::group_ids(group_column.as_ref()).ok_or_else(|| {
        Error::new(ErrorKind::Spec(format!(
            "feature column `{}` is {}, it must be text",
            spec.group,
            group_column.data_type()
        )))
    })?;
    let dates =
        column(&spec.date, &DataType::Date32)?.as_primitive::<arrow_array::types::Date32Type>();

    // Groups, after the spec's renames (which may merge groups).
    let renamed: Vec<Option<&str>> = raw_names
        .iter()
        .map(|n| n.map(|n| spec.rename.get(n).map_or(n, String::as_str)))
        .collect();
    let any_renamed = renamed != raw_names;
    let (groups, names): (Vec<u32>, Vec<Option<String>>) = if any_renamed {
        let renamed = StringArray::from(renamed);
        let (group_of_raw, names) = rank::group_ids(&renamed).expect("a string array holds text");
        (
            raw_ids.iter().map(|&r| group_of_raw[r as usize]).collect(),
            names.into_iter().map(|n| n.map(str::to_string)).collect(),
        )
    } else {
        (
            raw_ids,
            raw_names
                .into_iter()
                .map(|n| n.map(str::to_string))
                .collect(),
        )
    };
    let n_groups = names.len();

    // Checked here as well as in the spec: the window may come from an option (`--window-days`).
    spec.check_window()?;
    let window_start = as_of
        .date
        .checked_sub_signed(chrono::Duration::days(spec.window_days as i64))
        .ok_or_else(|| {
            Error::new(ErrorKind::Invalid(format!(
                "a window of {} days before {} starts before the earliest date Tidemark can hold",
                spec.window_days, as_of.date
            )))
        })?;
    let since = (window_start - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days() as i32;
    let sizes = rank::group_sizes(&groups, n_groups);
    let recent = rank::recent_per_group(&groups, n_groups, dates, since);
    let rate: Float64Array = sizes
        .iter()
        .zip(&recent)
        .map(|(&n, &r)| Some(r as f64 / n as f64))
        .collect();
    let count: Int64Array = sizes.iter().map(|&n| Some(n as i64)).collect();
    let ranks = Int64Array::from(rank::dense_rank_desc(&groups, n_groups, dates));

    // Every per-group value reaches its rows as a dictionary column whose keys are the rows'
    // groups: one key buffer shared by all of them, no per-row copy of any value.
    let keys = Int32Array::from(rank::into_keys(groups));
    let per_row = |per_group: ArrayRef| -> Result<ArrayRef> {
        DictionaryArray::try_new(keys.clone(), per_group)
            .map(|d| Arc::new(d) as ArrayRef)
            .map_err(Error::from)
    };

    let mut fields: Vec<Field> = table
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    let mut columns: Vec<ArrayRef> = table.columns().to_vec();
    if any_renamed {
        let at = table.schema().index_of(&spec.group).expect("checked above");
        let group_names = StringArray::from(names.iter().map(Option::as_deref).collect::<Vec<_>>());
        columns[at] = per_row(Arc::new(group_names))?;
        fields[at] = Field::new(&spec.group, columns[at].data_type().clone(), true);
    }
    let mut push = |name: &str, column: ArrayRef, nullable: bool| {
        fields.push(Field::new(name, column.data_type().clone(), nullable));
        columns.push(column);
    };
    let lookup_summary = match (&spec.output.lookup, lookup) {
        (Some(name), Some(lookup)) => {
            let (values, summary) = resolve_groups(lookup, &names, &sizes);
            push(name, per_row(Arc::new(values))?, true);
            Some(summary)
        }
        _ => None,
    };
    push(&spec.output.rank, Arc::new(ranks), false);
    push(&spec.output.rate, per_row(Arc::new(rate))?, false);
    push(&spec.output.count, per_row(Arc::new(count))?, false);

    let rows = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(Error::from)?;
    let summary = FeatureSummary {
        as_of: as_of.date,
        as_of_source: as_of.source.clone(),
        window_days: spec.window_days,
        window_start,
        groups: n_groups,
        lookup: lookup_summary,
    };
    Ok(Enriched { rows, summary })
}

/// Looks every group up once; reports unmatched and ambiguous names with their row counts.
fn resolve_groups(
    lookup: &Lookup,
    names: &[Option<String>],
    sizes: &[u64],
) -> (StringArray, LookupSummary) {
    let mut summary = LookupSummary {
        source: lookup.source().to_string(),
        matched_rows: 0,
        unmatched: Vec::new(),
        ambiguous: Vec::new(),
    };
    let values: StringArray = names
        .iter()
        .zip(sizes)
        .map(|(name, &rows)| {
            let rows = rows as usize;
            let Some(name) = name else { return None };
            let resolution = lookup.resolve(name);
            match resolution {
                Resolution::Unmatched => summary.unmatched.push(NameCount {
                    name: name.clone(),
                    rows,
                }),
                Resolution::Ambiguous { chosen, others } => summary.ambiguous.push(AmbiguousName {
                    name: name.clone(),
                    rows,
                    chosen: chosen.to_string(),
                    others: others.to_vec(),
                }),
                Resolution::Matched(_) => {}
            }
            if resolution.value().is_some() {
                summary.matched_rows += rows;
            }
            resolution.value()
        })
        .collect();
    summary.sort_names();
    (values, summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TableSpec;
    use arrow_array::Date32Array;

    fn one_user() -> RecordBatch {
        RecordBatch::try_from_iter([
            (
                "city",
                Arc::new(StringArray::from(vec!["Austin"])) as ArrayRef,
            ),
            (
                "last_login",
                Arc::new(Date32Array::from(vec![0])) as ArrayRef,
            ),
        ])
        .unwrap()
    }

    #[test]
    fn a_window_out_of_range_is_an_error_whoever_sets_it() {
        let mut features = TableSpec::users().features.unwrap();
        let as_of = AsOf {
            date: NaiveDate::from_ymd_opt(2021, 10, 18).unwrap(),
            source: AsOfSource::Given,
        };
        for days in [0, 3_652_425, u32::MAX] {
            features.window_days = days;
            let err = enrich(&one_user(), &features, &as_of, None).unwrap_err();
            assert_eq!(err.kind(), &ErrorKind::WindowDays(days));
        }
    }

    #[test]
    fn a_window_that_starts_before_the_earliest_date_is_an_error() {
        // `as_of` comes from the data: a timestamp can be as early as dates go.
        let features = TableSpec::users().features.unwrap();
        let as_of = AsOf {
            date: NaiveDate::MIN,
            source: AsOfSource::Given,
        };
        let err = enrich(&one_user(), &features, &as_of, None).unwrap_err();
        assert!(
            err.to_string().contains("starts before the earliest date"),
            "{err}"
        );
    }
}
