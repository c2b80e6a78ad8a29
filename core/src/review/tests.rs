//! The review queries, as a specification: on the seed's diff (keys 6, 8 and 9 updated, 133 to
//! 139 inserted) and on small tables.

use std::sync::Arc;

use arrow_array::{Date32Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};

use super::*;
use crate::pipeline::{self, Inputs};

fn seed() -> pipeline::Output {
    let (spec, snapshot, changes) = doc_example();
    let inputs = Inputs {
        snapshot,
        changes,
        ..Default::default()
    };
    pipeline::run(&spec, inputs, &Default::default(), &mut |_| {}).unwrap()
}

/// The diff's keys at `rows`, as text.
fn keys(diff: &Diff, rows: &[u32]) -> Vec<String> {
    let text = arrow_cast::cast(&diff.keys()[0], &DataType::Utf8).unwrap();
    let text = text.as_string::<i32>();
    rows.iter()
        .map(|&r| text.value(r as usize).to_string())
        .collect()
}

fn query(diff: &Diff, filters: &[Filter], sort: Option<Sort>) -> Vec<String> {
    let rows = run(
        Rows::Diff(diff),
        &RowQuery {
            filters: filters.to_vec(),
            sort,
        },
    )
    .unwrap();
    keys(diff, &rows)
}

fn sort(by: SortBy, descending: bool) -> Option<Sort> {
    Some(Sort { by, descending })
}

#[test]
fn no_filter_selects_every_row_in_its_own_order() {
    let out = seed();
    assert_eq!(
        query(&out.diff, &[], None),
        [
            "6", "133", "134", "135", "8", "9", "136", "137", "138", "139"
        ]
    );
}

#[test]
fn a_key_search_matches_whole_keys_ignoring_spaces() {
    let out = seed();
    assert_eq!(query(&out.diff, &[Filter::key(" 9 ")], None), ["9"]);
    assert!(query(&out.diff, &[Filter::key("13")], None).is_empty());
    assert!(
        query(&out.diff, &[Filter::key("")], None).len() == 10,
        "an empty search is no filter"
    );
}

#[test]
fn a_prefix_search_matches_the_start_of_the_key() {
    let out = seed();
    assert_eq!(
        query(&out.diff, &[Filter::key_prefix("13")], None),
        ["133", "134", "135", "136", "137", "138", "139"]
    );
    assert_eq!(query(&out.diff, &[Filter::key_prefix("8")], None), ["8"]);
}

#[test]
fn a_key_with_too_many_values_is_an_error_that_says_how_many() {
    let out = seed();
    let error = select(Rows::Diff(&out.diff), &[Filter::key("9, 1")]).unwrap_err();
    assert_eq!(
        error,
        QueryError::KeyLength {
            expected: 1,
            given: 2
        }
    );
    assert_eq!(error.to_string(), "the key has 1 value, not 2");
}

#[test]
fn filters_on_the_diffs_values_read_the_side_asked_for() {
    let out = seed();
    let city = |column: ColumnRef, text: &str| Filter::Equals {
        column,
        value: text.into(),
    };
    // Key 9 moved from Nashville to New York; the inserted keys have no value before.
    assert_eq!(
        query(
            &out.diff,
            &[city(ColumnRef::before("city"), "Nashville")],
            None
        ),
        ["9"]
    );
    assert_eq!(
        query(
            &out.diff,
            &[city(ColumnRef::after("city"), "New York")],
            None
        ),
        ["133", "9", "136", "137"]
    );
    assert_eq!(
        query(
            &out.diff,
            &[city(ColumnRef::shown("city"), "New York")],
            None
        ),
        ["133", "9", "136", "137"]
    );
}

#[test]
fn contains_ignores_case_and_ands_with_other_filters() {
    let out = seed();
    let name = Filter::Contains {
        column: ColumnRef::shown("name"),
        text: "GELLER".into(),
    };
    assert_eq!(
        query(&out.diff, std::slice::from_ref(&name), None),
        ["136", "139"]
    );
    let new_york = Filter::Contains {
        column: ColumnRef::shown("city"),
        text: "york".into(),
    };
    assert_eq!(query(&out.diff, &[name, new_york], None), ["136"]);
}

#[test]
fn a_date_range_includes_both_ends_and_the_whole_last_day() {
    let out = seed();
    let range = |min: Option<&str>, max: Option<&str>| Filter::Range {
        column: ColumnRef::after("last_login"),
        min: min.map(Into::into),
        max: max.map(Into::into),
    };
    assert_eq!(
        query(&out.diff, &[range(Some("2021-10-15"), None)], None),
        ["6", "133", "134", "135", "9"]
    );
    assert_eq!(
        query(&out.diff, &[range(None, Some("2020-12-25"))], None),
        ["138", "139"]
    );
    let error = select(Rows::Diff(&out.diff), &[range(Some("yesterday"), None)]).unwrap_err();
    assert!(
        matches!(error, QueryError::BadValue { ref column, .. } if column == "last_login"),
        "{error}"
    );
}

#[test]
fn a_timestamp_range_ending_on_a_date_includes_that_day() {
    let day = 86_400_000_000i64;
    let at = TimestampMicrosecondArray::from(vec![0, day - 1, day, 2 * day]);
    let batch = RecordBatch::try_from_iter([("at", Arc::new(at) as _)]).unwrap();
    let rows = Rows::Table {
        batch: &batch,
        key: &[],
    };
    let range = Filter::Range {
        column: ColumnRef::shown("at"),
        min: Some("1970-01-01".into()),
        max: Some("1970-01-01".into()),
    };
    assert_eq!(select(rows, &[range]).unwrap(), [0, 1]);
}

#[test]
fn numeric_ranges_compare_numbers_not_text_and_skip_nulls() {
    let x = Int64Array::from(vec![Some(9), Some(10), None, Some(100)]);
    let batch = RecordBatch::try_from_iter([("x", Arc::new(x) as _)]).unwrap();
    let rows = Rows::Table {
        batch: &batch,
        key: &[],
    };
    let range = |min: &str, max: &str| Filter::Range {
        column: ColumnRef::shown("x"),
        min: Some(min.into()),
        max: Some(max.into()),
    };
    assert_eq!(select(rows, &[range("9", "10")]).unwrap(), [0, 1]);
    assert_eq!(select(rows, &[range("10", "")]).unwrap(), [1, 3]);
}

#[test]
fn a_composite_key_is_typed_with_commas_and_a_prefix_may_stop_part_way() {
    let a = Int64Array::from(vec![7, 7, 8]);
    let b = StringArray::from(vec!["12", "2", "12"]);
    let d = Date32Array::from(vec![0, 1, 2]);
    let batch = RecordBatch::try_from_iter([
        ("a", Arc::new(a) as _),
        ("b", Arc::new(b) as _),
        ("d", Arc::new(d) as _),
    ])
    .unwrap();
    let key = ["a".to_string(), "b".to_string()];
    let rows = Rows::Table {
        batch: &batch,
        key: &key,
    };
    assert_eq!(select(rows, &[Filter::key("7, 12")]).unwrap(), [0]);
    assert_eq!(select(rows, &[Filter::key_prefix("7, 1")]).unwrap(), [0]);
    assert_eq!(select(rows, &[Filter::key_prefix("7")]).unwrap(), [0, 1]);
    assert_eq!(
        select(rows, &[Filter::key("7")]).unwrap_err(),
        QueryError::KeyLength {
            expected: 2,
            given: 1
        }
    );
    let date = Filter::Equals {
        column: ColumnRef::shown("d"),
        value: "1970-01-02".into(),
    };
    assert_eq!(select(rows, &[date]).unwrap(), [1]);
}

#[test]
fn the_diffs_own_filters_select_kinds_files_and_changed_columns() {
    let out = seed();
    let updated = Filter::Kind {
        kind: ChangeKind::Updated,
    };
    assert_eq!(query(&out.diff, &[updated], None), ["6", "8", "9"]);
    let file = Filter::SourceFile {
        file: out.diff.source(0).file.to_string(),
    };
    assert_eq!(
        query(&out.diff, &[file], None),
        ["6", "133", "134", "135", "8", "9"]
    );
    let city = Filter::Changed {
        column: "city".into(),
    };
    assert_eq!(query(&out.diff, &[city], None), ["9"]);
    let unknown = Filter::Changed {
        column: "town".into(),
    };
    assert_eq!(
        select(Rows::Diff(&out.diff), &[unknown]).unwrap_err(),
        QueryError::UnknownColumn("town".into())
    );
}

#[test]
fn the_diffs_filters_do_not_apply_to_a_table() {
    let out = seed();
    let key = ["user_id".to_string()];
    let rows = Rows::Table {
        batch: &out.table,
        key: &key,
    };
    let error = select(
        rows,
        &[Filter::Kind {
            kind: ChangeKind::Deleted,
        }],
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "a kind of change applies to the diff only"
    );
}

#[test]
fn the_diff_sorts_by_source_kind_and_values_with_ties_in_its_own_order() {
    let out = seed();
    let diff = &out.diff;
    assert_eq!(
        query(diff, &[], sort(SortBy::Source, true)),
        [
            "139", "138", "137", "136", "9", "8", "135", "134", "133", "6"
        ],
        "the last file first, and its rows from the last"
    );
    assert_eq!(
        query(diff, &[], sort(SortBy::Kind, true)),
        [
            "6", "8", "9", "133", "134", "135", "136", "137", "138", "139"
        ],
        "updated before inserted; each kind in the diff's order"
    );
    assert_eq!(
        query(
            diff,
            &[],
            sort(SortBy::Column(ColumnRef::before("city")), false)
        )[..4],
        ["8", "6", "9", "133"],
        "Denver, Los Angeles, Nashville, then the inserted keys (no city before): nulls last"
    );
    let updated = Filter::Kind {
        kind: ChangeKind::Updated,
    };
    assert_eq!(
        query(
            diff,
            &[updated],
            sort(SortBy::Column(ColumnRef::shown("user_id")), true)
        ),
        ["9", "8", "6"]
    );
}

#[test]
fn facets_count_each_dimension_without_its_own_filter() {
    let out = seed();
    let diff = &out.diff;
    let all = facets(diff, &[]).unwrap();
    let kinds: Vec<(ChangeKind, usize)> = all.kinds.iter().map(|c| (c.value, c.count)).collect();
    assert_eq!(
        kinds,
        [
            (ChangeKind::Inserted, 7),
            (ChangeKind::Updated, 3),
            (ChangeKind::Deleted, 0),
            (ChangeKind::Unchanged, 0),
            (ChangeKind::InsertedAndDeleted, 0)
        ]
    );
    let files: Vec<usize> = all.files.iter().map(|c| c.count).collect();
    assert_eq!(
        files,
        [6, 1, 1, 1, 1],
        "the files in the order they apply in"
    );
    let changed: Vec<(&str, usize)> = all
        .changed
        .iter()
        .map(|c| (c.value.as_str(), c.count))
        .collect();
    assert_eq!(changed, [("name", 1), ("city", 1), ("last_login", 3)]);

    let first_file = Filter::SourceFile {
        file: all.files[0].value.clone(),
    };
    let within = facets(
        diff,
        &[
            first_file,
            Filter::Kind {
                kind: ChangeKind::Inserted,
            },
        ],
    )
    .unwrap();
    assert_eq!(within.kinds[0].count, 3, "inserted in the first file");
    assert_eq!(
        within.kinds[1].count, 3,
        "updated in the first file: what choosing it would show"
    );
    let files: Vec<usize> = within.files.iter().map(|c| c.count).collect();
    assert_eq!(files, [3, 1, 1, 1, 1], "inserted keys per file");
    assert_eq!(within.changed.iter().map(|c| c.count).sum::<usize>(), 0);
}

#[test]
fn queries_read_from_the_json_the_faces_send() {
    let json = r#"{
        "filters": [
            {"filter": "key", "text": "13", "prefix": true},
            {"filter": "kind", "kind": "inserted"},
            {"filter": "range", "column": {"name": "last_login", "side": "after"}, "min": "2021-01-01", "max": null}
        ],
        "sort": {"by": {"column": {"name": "name"}}, "descending": true}
    }"#;
    let query: RowQuery = serde_json::from_str(json).unwrap();
    let out = seed();
    let rows = run(Rows::Diff(&out.diff), &query).unwrap();
    // Ross Green, Phoebe Buffay, Monica Geller, Monica Bing, Bob Ding.
    assert_eq!(keys(&out.diff, &rows), ["134", "137", "136", "135", "133"]);
    let bad: Result<RowQuery, _> =
        serde_json::from_str(r#"{"filters": [{"filter": "kind", "kind": "gone"}]}"#);
    assert!(
        bad.unwrap_err()
            .to_string()
            .contains("unknown kind of change")
    );
}

mod dictionary_columns {
    //! A dictionary column (how Tidemark holds repeated text: cities, names) answers every
    //! filter and sort as its plain values do, even with a value stored twice in the
    //! dictionary; sorts agree with a plain stable sort, nulls last.
    use arrow_array::{DictionaryArray, Int32Array, types::Int32Type};
    use proptest::prelude::*;

    use super::*;

    /// Texts that share long starts (a sort's first eight bytes tie) and short ones.
    const WORDS: [&str; 7] = [
        "",
        "Denver",
        "San Francisco",
        "San Franciscx",
        "San Fran",
        "denver",
        "Ω city",
    ];

    fn table(values: &[Option<usize>]) -> (RecordBatch, RecordBatch) {
        let text = |v: &Option<usize>| v.map(|i| WORDS[i]);
        let plain = StringArray::from_iter(values.iter().map(text));
        // Every word stored twice; each row points at one of its copies.
        let dictionary_values =
            StringArray::from_iter_values(WORDS.iter().chain(WORDS.iter()).copied());
        let keys = Int32Array::from_iter(
            values
                .iter()
                .enumerate()
                .map(|(row, v)| v.map(|i| (i + WORDS.len() * (row % 2)) as i32)),
        );
        let dictionary =
            DictionaryArray::<Int32Type>::try_new(keys, Arc::new(dictionary_values)).unwrap();
        let batch = |column: ArrayRef| RecordBatch::try_from_iter([("city", column)]).unwrap();
        (batch(Arc::new(plain)), batch(Arc::new(dictionary)))
    }

    fn answer(batch: &RecordBatch, query: &RowQuery) -> Vec<u32> {
        run(Rows::Table { batch, key: &[] }, query).unwrap()
    }

    proptest! {
        #[test]
        fn filters_and_sorts_match_the_plain_column(
            values in proptest::collection::vec(proptest::option::of(0..WORDS.len()), 0..60),
            word in 0..WORDS.len(),
            descending: bool,
        ) {
            let (plain, dictionary) = table(&values);
            let column = || ColumnRef::shown("city");
            let filters = [
                Filter::Equals { column: column(), value: WORDS[word].into() },
                Filter::Contains { column: column(), text: "an f".into() },
                Filter::Range { column: column(), min: Some("San".into()), max: Some("Santa".into()) },
            ];
            for filter in filters {
                let query = RowQuery { filters: vec![filter], sort: None };
                prop_assert_eq!(answer(&plain, &query), answer(&dictionary, &query));
            }
            let query = RowQuery {
                filters: vec![],
                sort: Some(Sort { by: SortBy::Column(column()), descending }),
            };
            let mut expected: Vec<u32> = (0..values.len() as u32).collect();
            let text = |row: u32| values[row as usize].map(|i| WORDS[i]);
            expected.sort_by(|&a, &b| match (text(a), text(b)) {
                (Some(a), Some(b)) if descending => b.cmp(a),
                (Some(a), Some(b)) => a.cmp(b),
                (a, b) => b.is_none().cmp(&a.is_none()).reverse(),
            });
            prop_assert_eq!(&answer(&plain, &query), &expected);
            prop_assert_eq!(&answer(&dictionary, &query), &expected);
        }

        #[test]
        fn numbers_sort_as_numbers_with_ties_in_row_order(
            values in proptest::collection::vec(proptest::option::of(-300i64..300), 0..80),
            scale in prop_oneof![Just(1i64), Just(1 << 40), Just(i64::MAX / 400)],
            descending: bool,
        ) {
            let values: Vec<Option<i64>> = values.iter().map(|v| v.map(|v| v * scale)).collect();
            let batch = RecordBatch::try_from_iter([(
                "x",
                Arc::new(Int64Array::from(values.clone())) as ArrayRef,
            )])
            .unwrap();
            let query = RowQuery {
                filters: vec![],
                sort: Some(Sort { by: SortBy::Column(ColumnRef::shown("x")), descending }),
            };
            let mut expected: Vec<u32> = (0..values.len() as u32).collect();
            expected.sort_by_key(|&row| match values[row as usize] {
                Some(v) if descending => (0, -(v as i128)),
                Some(v) => (0, v as i128),
                None => (1, 0),
            });
            prop_assert_eq!(answer(&batch, &query), expected);
        }
    }
}
