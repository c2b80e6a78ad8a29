//! Tables given where files would be (`decode::InputTable`, `pipeline::decode_with_tables`),
//! and a run cut into buckets of keys (what Spark executors do): the same results as files
//! and as one run.

use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray, UInt32Array};
use parquet::arrow::ArrowWriter;
use tidemark_core::bucket::buckets_of;
use tidemark_core::decode::{InputTable, decode_changes, decode_changes_table};
use tidemark_core::pipeline::{self, Inputs, Options, PartAsOf, Tables};
use tidemark_core::{ErrorKind, InputFile, TableSpec, example};

fn changes(ops: &[&str], ids: &[i64], dates: &[&str]) -> RecordBatch {
    let text = |values: Vec<&str>| Arc::new(StringArray::from(values)) as ArrayRef;
    RecordBatch::try_from_iter([
        ("Op", text(ops.to_vec())),
        (
            "user_id",
            Arc::new(Int64Array::from(ids.to_vec())) as ArrayRef,
        ),
        ("name", text(vec!["n"; ids.len()])),
        ("city", text(vec!["Austin"; ids.len()])),
        ("last_login", text(dates.to_vec())),
    ])
    .unwrap()
}

fn parquet(name: &str, batch: &RecordBatch) -> InputFile {
    let mut bytes = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut bytes, batch.schema(), None).unwrap();
    writer.write(batch).unwrap();
    writer.close().unwrap();
    InputFile::new(name, bytes)
}

#[test]
fn a_table_decodes_as_the_parquet_file_holding_it() {
    let spec = TableSpec::users();
    let schema = spec.schema().unwrap();
    let rows = changes(
        &["U", "I", "D"],
        &[6, 500, 7],
        &["2021-10-19", "2021-10-19", "2021-01-01"],
    );
    let name = "20211019-000000000.parquet";
    let from_table =
        decode_changes_table(&spec, &schema, &InputTable::new(name, rows.clone())).unwrap();
    let from_file = decode_changes(&spec, &schema, &parquet(name, &rows)).unwrap();
    assert_eq!(from_table.ops, from_file.ops);
    assert_eq!(from_table.rows, from_file.rows);
    assert_eq!(from_table.row_number(2), from_file.row_number(2));

    let bad = changes(&["U", "U"], &[6, 7], &["2021-10-19", "2021-02-30"]);
    let table_error =
        decode_changes_table(&spec, &schema, &InputTable::new(name, bad.clone())).unwrap_err();
    let file_error = decode_changes(&spec, &schema, &parquet(name, &bad)).unwrap_err();
    assert_eq!(table_error.to_string(), file_error.to_string());
}

#[test]
fn a_share_of_a_file_applies_in_row_order_and_errors_name_the_files_rows() {
    let spec = TableSpec::users();
    let schema = spec.schema().unwrap();
    // Rows 9 and 4 of a file, given in the order a shuffle left them.
    let rows = changes(&["U", "I"], &[8, 8], &["2021-10-19", "2021-10-18"]);
    let share = InputTable {
        name: "20211019-000000000.parquet".into(),
        rows,
        row_numbers: Some(vec![9, 4]),
    };
    let decoded = decode_changes_table(&spec, &schema, &share).unwrap();
    assert_eq!(decoded.ops[0], tidemark_core::Op::Insert, "row 4 first");
    assert_eq!((decoded.row_number(0), decoded.row_number(1)), (4, 9));

    let bad = InputTable {
        rows: changes(&["U", "U"], &[6, 7], &["2021-02-30", "2021-10-19"]),
        row_numbers: Some(vec![12, 3]),
        ..share
    };
    let error = decode_changes_table(&spec, &schema, &bad).unwrap_err();
    assert_eq!(error.location().unwrap().row, Some(12));
    assert_eq!(
        error.location().unwrap().column.as_deref(),
        Some("last_login")
    );
}

#[test]
fn change_tables_take_their_places_among_change_files_by_name() {
    let spec = TableSpec::users();
    let seed = example::seed();
    // A table named before the seed's last file updates user 6; the file after it does not
    // touch user 6, and a table named after every file updates it again.
    let update = |date| changes(&["U"], &[6], &[date]);
    let tables = Tables {
        changes: vec![
            InputTable::new("20211019-000000000.parquet", update("2021-10-19")),
            InputTable::new("20211018-225500000.parquet", update("2021-10-18")),
        ],
        ..Default::default()
    };
    let inputs = Inputs {
        snapshot: seed.snapshot,
        changes: seed.changes,
        ..Default::default()
    };
    let options = Options::default();
    let decoded =
        pipeline::decode_with_tables(&spec, inputs, tables, &options, &mut |_| {}).unwrap();
    let order: Vec<&str> = decoded.changes.iter().map(|c| c.file.as_str()).collect();
    assert_eq!(
        order,
        [
            "20211017-194324349.csv",
            "20211018-223933563.csv",
            "20211018-224657689.csv",
            "20211018-225235856.csv",
            "20211018-225500000.parquet",
            "20211018-225959941.csv",
            "20211019-000000000.parquet",
        ]
    );
    let out = pipeline::run_decoded(&spec, decoded, &options, &mut |_| {}).unwrap();
    assert_eq!(out.report.features.unwrap().as_of.to_string(), "2021-10-19");
}

#[test]
fn the_snapshot_is_given_as_files_or_as_tables_not_both() {
    let spec = TableSpec::users();
    let seed = example::seed();
    let tables = Tables {
        snapshot: vec![InputTable::new("t", changes(&[], &[], &[]))],
        ..Default::default()
    };
    let inputs = Inputs {
        snapshot: seed.snapshot,
        ..Default::default()
    };
    let error =
        pipeline::decode_with_tables(&spec, inputs, tables, &Options::default(), &mut |_| {})
            .unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::Invalid(_)), "{error}");
}

/// The seed cut into `buckets` by key, each bucket applied on its own (without features, as
/// Spark's first pass does), and what each says of `as_of`.
fn seed_parts(buckets: u32) -> Vec<PartAsOf> {
    let mut spec = TableSpec::users();
    let date = spec.features.take().unwrap().date;
    let seed = example::seed();
    let whole = pipeline::decode(
        &spec,
        Inputs {
            snapshot: seed.snapshot,
            changes: seed.changes,
            ..Default::default()
        },
        &Options::default(),
        &mut |_| {},
    )
    .unwrap();
    let part_of = |batch: &RecordBatch, bucket: u32| -> RecordBatch {
        let key = batch.column_by_name("user_id").unwrap().clone();
        let rows: UInt32Array = buckets_of(&[key], buckets)
            .unwrap()
            .into_iter()
            .enumerate()
            .filter(|(_, b)| *b == bucket)
            .map(|(i, _)| Some(i as u32))
            .collect();
        arrow_select::take::take_record_batch(batch, &rows).unwrap()
    };
    (0..buckets)
        .map(|bucket| {
            let mut decoded = whole.clone();
            decoded.snapshot.rows = part_of(&whole.snapshot.rows, bucket);
            for (changes, all) in decoded.changes.iter_mut().zip(&whole.changes) {
                let rows = part_of(&all.rows, bucket);
                let ops = all
                    .ops
                    .iter()
                    .zip(buckets_of(&[all.rows.column(0).clone()], buckets).unwrap())
                    .filter(|(_, b)| *b == bucket)
                    .map(|(op, _)| *op)
                    .collect();
                changes.rows = rows;
                changes.ops = ops;
            }
            let applied = decoded.changes.clone();
            let out =
                pipeline::run_decoded(&spec, decoded, &Options::default(), &mut |_| {}).unwrap();
            PartAsOf {
                inferred: pipeline::infer_as_of(out.newest_timestamp, &applied, &out.table, &date)
                    .ok(),
                applied_changes: out.report.apply.changes > 0,
            }
        })
        .collect()
}

#[test]
fn the_as_of_of_buckets_combined_is_the_whole_runs() {
    let whole = pipeline::run(
        &TableSpec::users(),
        Inputs {
            snapshot: example::seed().snapshot,
            changes: example::seed().changes,
            ..Default::default()
        },
        &Options::default(),
        &mut |_| {},
    )
    .unwrap()
    .report
    .features
    .unwrap();
    // Ten changes in sixteen buckets: some buckets have none, and date themselves by their
    // rows, which the whole run must not.
    assert!(seed_parts(16).iter().any(|p| !p.applied_changes));
    for buckets in [1, 2, 5, 16] {
        let parts = seed_parts(buckets);
        let combined = pipeline::as_of_of_parts(&parts).unwrap();
        assert_eq!(combined.date, whole.as_of, "{buckets} buckets");
        assert_eq!(combined.source, whole.as_of_source, "{buckets} buckets");
    }
}

#[test]
fn parts_without_a_date_of_their_changes_give_no_as_of() {
    let part = |applied_changes| PartAsOf {
        inferred: None,
        applied_changes,
    };
    let error = pipeline::as_of_of_parts(&[part(true), part(false)]).unwrap_err();
    assert_eq!(*error.kind(), ErrorKind::AsOfUnknown);
}
