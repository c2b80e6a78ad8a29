//! Before-image columns (DMS `add-before-image-columns`) and the change sequence, as a
//! specification: an update whose key's before-image is another key moves the row, whatever
//! layout the file has; and the order of changes, kept between runs, includes the change
//! sequence.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, ArrayRef, Date32Array, Int64Array, RecordBatch, StringArray};
use tidemark_core::apply::{ApplyOptions, VERSION_CHANGE_SEQUENCE_COLUMN, Versions, apply};
use tidemark_core::decode::{decode_changes, decode_snapshot, describe_layout};
use tidemark_core::report::AnomalyKind;
use tidemark_core::spec::BeforeImageDef;
use tidemark_core::{Applied, ChangeBatch, ChangeKind, InputFile, TableSpec, encode};

const BASE: &str = "1,Ann,Austin,2021-01-01\n2,Bob,Boston,2021-02-02\n3,Cy,Chicago,2021-03-03\n";
const TS: &str = "2021-06-01 00:00:00.000000";

fn users(before_image: Option<BeforeImageDef>) -> TableSpec {
    let mut spec = TableSpec::users();
    spec.cdc.before_image = before_image;
    spec
}

fn changes(spec: &TableSpec, name: &str, bytes: &[u8]) -> ChangeBatch {
    decode_changes(
        spec,
        &spec.schema().unwrap(),
        &InputFile::new(name, bytes.to_vec()),
    )
    .unwrap()
}

fn run(
    spec: &TableSpec,
    base: &str,
    versions: Option<&Versions>,
    files: &[ChangeBatch],
) -> Applied {
    let file = InputFile::new("LOAD00000001.csv", base.as_bytes().to_vec());
    let snapshot = decode_snapshot(spec, &spec.schema().unwrap(), &[file]).unwrap();
    apply(spec, &snapshot, versions, files, ApplyOptions::default()).unwrap()
}

/// The users table as `id:name:city` strings, in table order.
fn rows(batch: &RecordBatch) -> Vec<String> {
    let ids = batch.column(0).as_primitive::<Int64Type>();
    let names = batch.column(1).as_string::<i32>();
    let cities = batch.column(2).as_string::<i32>();
    (0..batch.num_rows())
        .map(|i| format!("{}:{}:{}", ids.value(i), names.value(i), cities.value(i)))
        .collect()
}

/// Bob (2) becomes 5 and moves to Denver.
fn bob_moved_to_5() -> Vec<String> {
    ["1:Ann:Austin", "3:Cy:Chicago", "5:Bob:Denver"]
        .map(String::from)
        .to_vec()
}

#[test]
fn a_header_names_the_before_image_of_the_key_and_the_update_moves_the_row() {
    let spec = users(None);
    let file = format!(
        "Op,ts,BI_user_id,user_id,name,city,last_login\nU,{TS},2,5,Bob,Denver,2021-05-05\n"
    );
    let applied = run(
        &spec,
        BASE,
        None,
        &[changes(&spec, "20210601-000000000.csv", file.as_bytes())],
    );
    assert_eq!(rows(&applied.rows), bob_moved_to_5());
    assert!(applied.anomalies.is_empty(), "{:?}", applied.anomalies);
    // Both keys are in the diff: the old one deleted, the new one inserted.
    let keys = applied.diff.keys()[0].as_primitive::<Int64Type>();
    let diff: Vec<(i64, ChangeKind)> = (0..applied.diff.len())
        .map(|row| (keys.value(row), applied.diff.kind(row)))
        .collect();
    assert_eq!(diff, [(5, ChangeKind::Inserted), (2, ChangeKind::Deleted)]);
}

#[test]
fn before_images_of_other_columns_are_metadata_and_an_equal_key_is_a_plain_update() {
    let spec = users(None);
    let file = format!(
        "Op,ts,BI_user_id,BI_city,user_id,name,city,last_login\n\
         U,{TS},2,Boston,2,Bob,Denver,2021-05-05\n\
         I,{TS},,,4,Dee,Dallas,2021-05-05\n"
    );
    let applied = run(
        &spec,
        BASE,
        None,
        &[changes(&spec, "20210601-000000000.csv", file.as_bytes())],
    );
    assert_eq!(
        rows(&applied.rows),
        [
            "1:Ann:Austin",
            "2:Bob:Denver",
            "3:Cy:Chicago",
            "4:Dee:Dallas"
        ]
    );
    assert_eq!(
        applied.rows.num_columns(),
        4,
        "no before-image in the table"
    );
    let layout = describe_layout(
        &spec,
        &spec.schema().unwrap(),
        &InputFile::new("20210601-000000000.csv", file.into_bytes()),
        true,
    )
    .unwrap();
    assert_eq!(
        layout[2],
        ("BI_user_id".into(), "before-image of table column 0".into())
    );
    assert_eq!(
        layout[3],
        ("BI_city".into(), "metadata (kept out of the table)".into())
    );
}

#[test]
fn an_empty_before_image_leaves_the_key_as_it_is() {
    // Some sources give before-images of changed columns only.
    let spec = users(None);
    let file =
        format!("Op,ts,BI_user_id,user_id,name,city,last_login\nU,{TS},,2,Bob,Denver,2021-05-05\n");
    let applied = run(
        &spec,
        BASE,
        None,
        &[changes(&spec, "20210601-000000000.csv", file.as_bytes())],
    );
    assert_eq!(
        rows(&applied.rows),
        ["1:Ann:Austin", "2:Bob:Denver", "3:Cy:Chicago"]
    );
}

#[test]
fn a_headerless_file_has_the_before_images_the_spec_declares_after_the_table_columns() {
    // As with `metadata`, table-mapping rules apply to the full load too: its rows have
    // the (empty) before-images as well.
    let spec = users(Some(BeforeImageDef::default()));
    let base = "1,Ann,Austin,2021-01-01,\n2,Bob,Boston,2021-02-02,\n3,Cy,Chicago,2021-03-03,\n";
    let file = format!("U,{TS},5,Bob,Denver,2021-05-05,2\n");
    let applied = run(
        &spec,
        base,
        None,
        &[changes(&spec, "20210601-000000000.csv", file.as_bytes())],
    );
    assert_eq!(rows(&applied.rows), bob_moved_to_5());

    // Declared columns come in their order, before the `metadata` columns.
    let mut spec = users(Some(BeforeImageDef {
        columns: Some(vec!["city".into(), "user_id".into()]),
        ..BeforeImageDef::default()
    }));
    spec.cdc.metadata = vec!["loaded_by".into()];
    let base = "1,Ann,Austin,2021-01-01,,,etl\n2,Bob,Boston,2021-02-02,,,etl\n3,Cy,Chicago,2021-03-03,,,etl\n";
    let file = format!("U,{TS},5,Bob,Denver,2021-05-05,Boston,2,etl\n");
    let applied = run(
        &spec,
        base,
        None,
        &[changes(&spec, "20210601-000000000.csv", file.as_bytes())],
    );
    assert_eq!(rows(&applied.rows), bob_moved_to_5());
}

#[test]
fn a_spec_may_name_before_images_by_a_suffix() {
    let spec = users(Some(BeforeImageDef {
        prefix: String::new(),
        suffix: "_old".into(),
        columns: None,
    }));
    let base = format!("user_id,name,city,last_login\n{BASE}");
    let file = format!(
        "Op,ts,user_id_old,user_id,name,city,last_login\nU,{TS},2,5,Bob,Denver,2021-05-05\n"
    );
    let applied = run(
        &spec,
        &base,
        None,
        &[changes(&spec, "20210601-000000000.csv", file.as_bytes())],
    );
    assert_eq!(rows(&applied.rows), bob_moved_to_5());
}

#[test]
fn a_parquet_file_with_bi_columns_moves_rows() {
    let spec = users(None);
    let text = |v: &[&str]| Arc::new(StringArray::from(v.to_vec())) as ArrayRef;
    let batch = RecordBatch::try_from_iter([
        ("Op", text(&["U", "U"])),
        ("ts", text(&[TS, TS])),
        (
            "BI_user_id",
            Arc::new(Int64Array::from(vec![Some(2), None])) as ArrayRef,
        ),
        (
            "user_id",
            Arc::new(Int64Array::from(vec![5, 3])) as ArrayRef,
        ),
        ("name", text(&["Bob", "Cy"])),
        ("city", text(&["Denver", "Chicago"])),
        (
            "last_login",
            Arc::new(Date32Array::from(vec![18800, 18800])) as ArrayRef,
        ),
    ])
    .unwrap();
    let bytes = encode::to_parquet(&batch).unwrap();
    let applied = run(
        &spec,
        BASE,
        None,
        &[changes(&spec, "20210601-000000000.parquet", &bytes)],
    );
    assert_eq!(rows(&applied.rows), bob_moved_to_5());
}

#[test]
fn a_composite_key_moves_when_any_of_its_columns_changes() {
    let spec = TableSpec::from_toml(
        "[table]\nname='stock'\nkey=['shop', 'item']\n\
         columns=[{name='shop', type='string'}, {name='item', type='int64'}, {name='qty', type='int64'}]\n\
         [cdc]\nop_column='Op'\n",
    )
    .unwrap();
    let base = "north,1,10\nnorth,2,20\nsouth,1,30\n";
    // Item 2 moves to the south shop; south's item 1 is renumbered 7; north's 1 only changes.
    let file = format!(
        "Op,ts,BI_shop,BI_item,shop,item,qty\n\
         U,{TS},north,2,south,2,21\n\
         U,{TS},south,1,south,7,31\n\
         U,{TS},north,1,north,1,11\n"
    );
    let applied = run(
        &spec,
        base,
        None,
        &[changes(&spec, "20210601-000000000.csv", file.as_bytes())],
    );
    let shop = applied.rows.column(0).as_string::<i32>();
    let item = applied.rows.column(1).as_primitive::<Int64Type>();
    let qty = applied.rows.column(2).as_primitive::<Int64Type>();
    let table: Vec<String> = (0..applied.rows.num_rows())
        .map(|i| format!("{}:{}:{}", shop.value(i), item.value(i), qty.value(i)))
        .collect();
    assert_eq!(table, ["north:1:11", "south:2:21", "south:7:31"]);
    assert!(applied.anomalies.is_empty(), "{:?}", applied.anomalies);
}

#[test]
fn a_move_from_a_missing_key_or_onto_an_existing_one_is_applied_and_reported() {
    let spec = users(None);
    let file = format!(
        "Op,ts,BI_user_id,user_id,name,city,last_login\n\
         U,{TS},9,5,Eve,Erie,2021-05-05\n\
         U,{TS},2,3,Bob,Denver,2021-05-05\n"
    );
    let applied = run(
        &spec,
        BASE,
        None,
        &[changes(&spec, "20210601-000000000.csv", file.as_bytes())],
    );
    assert_eq!(
        rows(&applied.rows),
        ["1:Ann:Austin", "3:Bob:Denver", "5:Eve:Erie"]
    );
    let count = |kind| {
        applied
            .anomalies
            .iter()
            .find(|a| a.kind == kind)
            .map_or(0, |a| a.count)
    };
    assert_eq!(count(AnomalyKind::UpdateOfMissingKey), 1, "9 was not there");
    assert_eq!(count(AnomalyKind::InsertOfExistingKey), 1, "3 was there");
}

/// A change file of one commit timestamp whose rows carry a change sequence.
fn one_commit(name: &str, rows: &[(&str, &str, i64, &str, u32)]) -> ChangeBatch {
    let mut text = "Op,ts,BI_user_id,user_id,name,city,last_login,AR_H_CHANGE_SEQ\n".to_string();
    for (op, before, key, city, change_seq) in rows {
        text += &format!("{op},{TS},{before},{key},N,{city},2021-05-05,{change_seq}\n");
    }
    changes(&users(None), name, text.as_bytes())
}

#[test]
fn the_state_keeps_the_change_sequence_so_a_replay_is_a_no_op_and_a_tie_still_applies() {
    let spec = users(None);
    let first = one_commit(
        "20210601-000000000.csv",
        &[("U", "2", 5, "Denver", 20), ("U", "", 1, "Miami", 10)],
    );
    let applied = run(&spec, BASE, None, std::slice::from_ref(&first));
    let state = applied.versions.expect("a sequence gives a state");
    let stored = state
        .rows
        .column_by_name(VERSION_CHANGE_SEQUENCE_COLUMN)
        .unwrap();
    assert_eq!(
        stored.null_count(),
        0,
        "every touched key has its change sequence"
    );

    // Replaying the file changes nothing; a later file of the same commit timestamp applies
    // where its change sequence is later (Ann's 11 after 10), not where it is earlier (the
    // move's old key 2 at 15, before the move's 20).
    let second = one_commit(
        "20210601-000001000.csv",
        &[("U", "", 1, "Tampa", 11), ("I", "", 2, "Boise", 15)],
    );
    let base = "1,N,Miami,2021-05-05\n3,Cy,Chicago,2021-03-03\n5,N,Denver,2021-05-05\n";
    let applied = run(&spec, base, Some(&state), &[first, second]);
    assert_eq!(
        rows(&applied.rows),
        ["1:N:Tampa", "3:Cy:Chicago", "5:N:Denver"]
    );
    assert_eq!(
        applied.summary.keys_touched, 1,
        "only Ann's later update applies"
    );
}
