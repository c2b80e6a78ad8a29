//! Every layout the DMS S3 target writes (its endpoint settings and table-mapping rules),
//! through the program: one test per layout, on files laid out as the DMS user guide documents
//! them. CSV fields, in order: `[operation] [timestamp] table columns [rule-added columns]`.

mod common;

use std::sync::Arc;

use arrow_array::{ArrayRef, Date32Array, Int64Array, RecordBatch, StringArray};
use common::*;

const LOAD: &str = "LOAD00000001.csv";
const CDC: &str = "20211017-194324349.csv";

/// The seed's `users` spec with `cdc` settings added under `[cdc]`.
fn spec_with(cdc: &str) -> String {
    let bundled = std::fs::read_to_string(repo().join("core/data/users.toml")).unwrap();
    bundled.replacen(
        "[cdc]\nop_column = \"Op\"\n",
        &format!("[cdc]\nop_column = \"Op\"\n{cdc}\n"),
        1,
    )
}

/// `tidemark apply` on a snapshot and change files (name, bytes), with `cdc` settings in the
/// spec; the new table's rows (header first), or the error line.
fn apply(
    snapshot: (&str, &[u8]),
    changes: &[(&str, &[u8])],
    cdc: &str,
) -> Result<Vec<Vec<String>>, String> {
    let s = Scratch::new();
    s.write(snapshot.0, snapshot.1);
    s.write("spec.toml", spec_with(cdc));
    let mut args = vec!["apply", "--snapshot", snapshot.0, "--changes"];
    for (name, bytes) in changes {
        s.write(name, bytes);
        args.push(name);
    }
    args.extend_from_slice(&["--spec", "spec.toml", "--out", "out", "--quiet"]);
    let out = tidemark(&s.path(""), &args);
    match out.status.success() {
        true => Ok(table_rows(&read_parquet(&s.path("out/snapshot.parquet")))),
        false => {
            assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
            assert!(!s.path("out").exists(), "nothing may be written");
            Err(stderr(&out)
                .trim_end()
                .trim_start_matches("error: ")
                .to_string())
        }
    }
}

fn rows(expected: &[[&str; 4]]) -> Vec<Vec<String>> {
    std::iter::once(["user_id", "name", "city", "last_login"])
        .chain(expected.iter().copied())
        .map(|r| r.iter().map(|v| v.to_string()).collect())
        .collect()
}

/// Herman and Lisa, as a plain full load (`IncludeOpForFullLoad=false`, no timestamp).
const PLAIN_LOAD: &str = "0,Herman,Oklahoma city,2020-10-10\n1,Lisa,Columbus,2021-04-01\n";
/// Herman moves, Ann arrives, Lisa leaves.
const PLAIN_CHANGES: &str =
    "U,0,Herman,Tulsa,2020-10-11\nI,7,Ann,Austin,2021-01-01\nD,1,Lisa,Columbus,2021-04-01\n";

fn after_plain_changes() -> Vec<Vec<String>> {
    rows(&[
        ["0", "Herman", "Tulsa", "2020-10-11"],
        ["7", "Ann", "Austin", "2021-01-01"],
    ])
}

// Full loads: `IncludeOpForFullLoad` and `TimestampColumnName`.

#[test]
fn a_full_load_whose_rows_begin_with_i() {
    let load = "I,0,Herman,Oklahoma city,2020-10-10\nI,1,Lisa,Columbus,2021-04-01\n";
    let result = apply(
        (LOAD, load.as_bytes()),
        &[(CDC, PLAIN_CHANGES.as_bytes())],
        "",
    );
    assert_eq!(result.unwrap(), after_plain_changes());
}

#[test]
fn a_full_load_with_the_timestamp_column_and_no_operation() {
    let load = "2021-10-17 19:00:00.000000,0,Herman,Oklahoma city,2020-10-10\n\
                2021-10-17 19:00:00.000000,1,Lisa,Columbus,2021-04-01\n";
    let changes = "U,2021-10-17 19:43:24.349000,0,Herman,Tulsa,2020-10-11\n\
                   I,2021-10-17 19:43:24.349000,7,Ann,Austin,2021-01-01\n\
                   D,2021-10-17 19:43:25.000000,1,Lisa,Columbus,2021-04-01\n";
    let result = apply((LOAD, load.as_bytes()), &[(CDC, changes.as_bytes())], "");
    assert_eq!(result.unwrap(), after_plain_changes());
}

#[test]
fn a_full_load_with_the_operation_and_the_timestamp_column() {
    let load = "I,2021-10-17 19:00:00.000000,0,Herman,Oklahoma city,2020-10-10\n\
                I,2021-10-17 19:00:00.000000,1,Lisa,Columbus,2021-04-01\n";
    let changes = "U,2021-10-17 19:43:24.349000,0,Herman,Tulsa,2020-10-11\n\
                   I,2021-10-17 19:43:24.349000,7,Ann,Austin,2021-01-01\n\
                   D,2021-10-17 19:43:25.000000,1,Lisa,Columbus,2021-04-01\n";
    let result = apply((LOAD, load.as_bytes()), &[(CDC, changes.as_bytes())], "");
    assert_eq!(result.unwrap(), after_plain_changes());
}

#[test]
fn a_full_load_with_a_header_the_operation_and_the_timestamp_column() {
    // `AddColumnName=true`, `TimestampColumnName=ts`: the header names both.
    let load = "Op,ts,user_id,name,city,last_login\n\
                I,2021-10-17 19:00:00.000000,0,Herman,Oklahoma city,2020-10-10\n\
                I,2021-10-17 19:00:00.000000,1,Lisa,Columbus,2021-04-01\n";
    let changes = "Op,ts,user_id,name,city,last_login\n\
                   U,2021-10-17 19:43:24.349000,0,Herman,Tulsa,2020-10-11\n\
                   I,2021-10-17 19:43:24.349000,7,Ann,Austin,2021-01-01\n\
                   D,2021-10-17 19:43:25.000000,1,Lisa,Columbus,2021-04-01\n";
    for cdc in ["", "sequence = { column = \"ts\", kind = \"timestamp\" }"] {
        let result = apply((LOAD, load.as_bytes()), &[(CDC, changes.as_bytes())], cdc);
        assert_eq!(result.unwrap(), after_plain_changes(), "spec: {cdc:?}");
    }
}

fn users_batch(leading: Vec<(&str, ArrayRef)>, ids: Vec<i64>, cities: Vec<&str>) -> Vec<u8> {
    let n = ids.len();
    let mut columns = leading;
    columns.extend([
        ("user_id", Arc::new(Int64Array::from(ids)) as ArrayRef),
        (
            "name",
            Arc::new(StringArray::from(vec!["N"; n])) as ArrayRef,
        ),
        ("city", Arc::new(StringArray::from(cities)) as ArrayRef),
        (
            "last_login",
            Arc::new(Date32Array::from(vec![18800; n])) as ArrayRef,
        ),
    ]);
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    tidemark_core::encode::to_parquet(&batch).unwrap()
}

fn text(values: &[&str]) -> ArrayRef {
    Arc::new(StringArray::from(values.to_vec()))
}

#[test]
fn a_parquet_full_load_with_op_and_timestamp_columns() {
    let load = users_batch(
        vec![
            ("Op", text(&["I", "I"])),
            ("ts", text(&["2021-10-17 19:00:00.000000"; 2])),
        ],
        vec![0, 1],
        vec!["Oklahoma city", "Columbus"],
    );
    let changes = users_batch(
        vec![
            ("Op", text(&["U", "D"])),
            (
                "ts",
                text(&["2021-10-17 19:43:24.349000", "2021-10-17 19:43:25.000000"]),
            ),
        ],
        vec![0, 1],
        vec!["Tulsa", "Columbus"],
    );
    let result = apply(
        ("LOAD00000001.parquet", &load),
        &[("20211017-194324349.parquet", &changes)],
        "",
    );
    assert_eq!(result.unwrap(), rows(&[["0", "N", "Tulsa", "2021-06-22"]]));
}

#[test]
fn a_full_load_row_that_is_not_an_insert_is_an_error_naming_its_row() {
    let load = "I,0,Herman,Oklahoma city,2020-10-10\nU,1,Lisa,Columbus,2021-04-01\n";
    let err = apply(
        (LOAD, load.as_bytes()),
        &[(CDC, PLAIN_CHANGES.as_bytes())],
        "",
    )
    .unwrap_err();
    assert_eq!(
        err,
        "LOAD00000001.csv, row 2, column `Op`: operation \"U\" in a full load, which holds only inserts"
    );
}

// `CdcInsertsOnly` and `CdcInsertsAndUpdates`.

const INSERTS_ONLY: &str = "operations = \"inserts-only\"";

fn after_two_inserts() -> Vec<Vec<String>> {
    rows(&[
        ["0", "Herman", "Oklahoma city", "2020-10-10"],
        ["1", "Lisa", "Columbus", "2021-04-01"],
        ["7", "Ann", "Austin", "2021-01-01"],
        ["8", "Bob", "Boston", "2021-01-02"],
    ])
}

#[test]
fn cdc_inserts_only_without_the_operation_field() {
    let changes = "7,Ann,Austin,2021-01-01\n8,Bob,Boston,2021-01-02\n";
    let result = apply(
        (LOAD, PLAIN_LOAD.as_bytes()),
        &[(CDC, changes.as_bytes())],
        INSERTS_ONLY,
    );
    assert_eq!(result.unwrap(), after_two_inserts());
}

#[test]
fn cdc_inserts_only_with_the_timestamp_column() {
    let changes = "2021-10-17 19:43:24.349000,7,Ann,Austin,2021-01-01\n\
                   2021-10-17 19:43:25.000000,8,Bob,Boston,2021-01-02\n";
    let result = apply(
        (LOAD, PLAIN_LOAD.as_bytes()),
        &[(CDC, changes.as_bytes())],
        INSERTS_ONLY,
    );
    assert_eq!(result.unwrap(), after_two_inserts());
}

#[test]
fn cdc_inserts_only_with_include_op_for_full_load() {
    // `IncludeOpForFullLoad=true` with `CdcInsertsOnly`: every row carries `I`.
    let load = "I,0,Herman,Oklahoma city,2020-10-10\nI,1,Lisa,Columbus,2021-04-01\n";
    let changes = "I,7,Ann,Austin,2021-01-01\nI,8,Bob,Boston,2021-01-02\n";
    let result = apply(
        (LOAD, load.as_bytes()),
        &[(CDC, changes.as_bytes())],
        INSERTS_ONLY,
    );
    assert_eq!(result.unwrap(), after_two_inserts());
}

#[test]
fn cdc_inserts_only_with_a_header_and_in_parquet() {
    let csv = "user_id,name,city,last_login\n7,Ann,Austin,2021-01-01\n8,Bob,Boston,2021-01-02\n";
    let result = apply(
        (LOAD, PLAIN_LOAD.as_bytes()),
        &[(CDC, csv.as_bytes())],
        INSERTS_ONLY,
    );
    assert_eq!(result.unwrap(), after_two_inserts());
    let parquet = users_batch(vec![], vec![7, 8], vec!["Austin", "Boston"]);
    let result = apply(
        (LOAD, PLAIN_LOAD.as_bytes()),
        &[("20211017-194324349.parquet", &parquet)],
        INSERTS_ONLY,
    )
    .unwrap();
    assert_eq!(result.len(), 5);
    assert_eq!(result[4], ["8", "N", "Boston", "2021-06-22"]);
}

#[test]
fn cdc_inserts_and_updates_refuses_a_delete() {
    let cdc = "operations = \"inserts-and-updates\"";
    let changes = "U,0,Herman,Tulsa,2020-10-11\nI,7,Ann,Austin,2021-01-01\n";
    let result = apply(
        (LOAD, PLAIN_LOAD.as_bytes()),
        &[(CDC, changes.as_bytes())],
        cdc,
    );
    assert_eq!(
        result.unwrap(),
        rows(&[
            ["0", "Herman", "Tulsa", "2020-10-11"],
            ["1", "Lisa", "Columbus", "2021-04-01"],
            ["7", "Ann", "Austin", "2021-01-01"],
        ])
    );
    let err = apply(
        (LOAD, PLAIN_LOAD.as_bytes()),
        &[(CDC, PLAIN_CHANGES.as_bytes())],
        cdc,
    )
    .unwrap_err();
    assert_eq!(
        err,
        "20211017-194324349.csv, row 3, column `Op`: unknown operation \"D\" (expected I or U)"
    );
}

// The operation column's values.

#[test]
fn operations_written_as_words_in_any_case() {
    let cdc = "[cdc.ops]\ninsert = [\"INSERT\"]\nupdate = [\"UPDATE\"]\ndelete = [\"DELETE\"]";
    let changes = "UPDATE,0,Herman,Tulsa,2020-10-11\ninsert,7,Ann,Austin,2021-01-01\nDelete,1,Lisa,Columbus,2021-04-01\n";
    let result = apply(
        (LOAD, PLAIN_LOAD.as_bytes()),
        &[(CDC, changes.as_bytes())],
        cdc,
    );
    assert_eq!(result.unwrap(), after_plain_changes());
    let err = apply(
        (LOAD, PLAIN_LOAD.as_bytes()),
        &[(CDC, PLAIN_CHANGES.as_bytes())],
        cdc,
    )
    .unwrap_err();
    assert_eq!(
        err,
        "20211017-194324349.csv, row 1, column `Op`: unknown operation \"U\" (expected INSERT, UPDATE or DELETE)"
    );
}

#[test]
fn debezium_operation_letters() {
    let cdc = "[cdc.ops]\ninsert = [\"c\", \"r\"]\nupdate = [\"u\"]\ndelete = [\"d\"]";
    let changes = "u,0,Herman,Tulsa,2020-10-11\nr,7,Ann,Austin,2021-01-01\nd,1,Lisa,Columbus,2021-04-01\nc,8,Bob,Boston,2021-01-02\n";
    let result = apply(
        (LOAD, PLAIN_LOAD.as_bytes()),
        &[(CDC, changes.as_bytes())],
        cdc,
    );
    let mut expected = after_plain_changes();
    expected.push(
        ["8", "Bob", "Boston", "2021-01-02"]
            .map(String::from)
            .to_vec(),
    );
    assert_eq!(result.unwrap(), expected);
}

// Columns that table-mapping rules add.

#[test]
fn dms_header_columns_stay_out_of_the_table_and_the_change_sequence_orders() {
    // An `add-column` rule per header, with and without the `$`. The change sequence orders
    // the changes: Herman's second update (sequence ...02) is written first.
    let changes = "Op,user_id,name,city,last_login,$AR_H_USER,AR_H_TIMESTAMP,$AR_H_CHANGE_SEQ\n\
        U,0,Herman,Tulsa,2020-10-12,dms,2021-10-17 19:43:24.349000,20211017194324349000000000000000002\n\
        U,0,Herman,Dallas,2020-10-11,dms,2021-10-17 19:43:24.349000,20211017194324349000000000000000001\n";
    let result = apply(
        (LOAD, PLAIN_LOAD.as_bytes()),
        &[(CDC, changes.as_bytes())],
        "",
    );
    assert_eq!(
        result.unwrap(),
        rows(&[
            ["0", "Herman", "Tulsa", "2020-10-12"],
            ["1", "Lisa", "Columbus", "2021-04-01"],
        ])
    );
}

#[test]
fn metadata_columns_the_spec_declares_follow_the_table_columns() {
    // Headerless: the rule-added columns come after the table's, in the spec's order, in the
    // full load as in change files (table-mapping rules apply to both).
    let cdc = "metadata = [\"source_host\", \"loaded_by\"]";
    let load = "0,Herman,Oklahoma city,2020-10-10,db1,etl\n1,Lisa,Columbus,2021-04-01,db1,etl\n";
    let changes = "U,0,Herman,Tulsa,2020-10-11,db1,etl\nI,7,Ann,Austin,2021-01-01,db1,etl\nD,1,Lisa,Columbus,2021-04-01,db1,etl\n";
    let result = apply((LOAD, load.as_bytes()), &[(CDC, changes.as_bytes())], cdc);
    assert_eq!(result.unwrap(), after_plain_changes());
    let with_header = format!(
        "Op,user_id,source_host,name,city,last_login,loaded_by\n{}",
        "U,0,db1,Herman,Tulsa,2020-10-11,etl\nI,7,db1,Ann,Austin,2021-01-01,etl\nD,1,db1,Lisa,Columbus,2021-04-01,etl\n"
    );
    let result = apply(
        (LOAD, load.as_bytes()),
        &[(CDC, with_header.as_bytes())],
        cdc,
    );
    assert_eq!(result.unwrap(), after_plain_changes());
}

// A CDC-only task: no full load at all.

#[test]
fn a_cdc_only_task_starts_from_an_empty_table_with_the_spec_columns() {
    let s = Scratch::new();
    s.write(CDC, PLAIN_CHANGES);
    let out = tidemark(
        &s.path(""),
        &["apply", "--changes", CDC, "--out", "out", "--quiet"],
    );
    assert_success(&out);
    // Herman's update and Lisa's delete find no row: applied as upserts and reported.
    assert_eq!(
        table_rows(&read_parquet(&s.path("out/snapshot.parquet"))),
        rows(&[
            ["0", "Herman", "Tulsa", "2020-10-11"],
            ["7", "Ann", "Austin", "2021-01-01"],
        ])
    );
}

#[test]
fn the_change_sequence_orders_changes_of_one_commit_timestamp() {
    // `TimestampColumnName=ts` and an `add-column` rule for `$AR_H_CHANGE_SEQ`: both of
    // Herman's updates share a commit timestamp; the change sequence says Tulsa came last,
    // though its row comes first.
    let header = "Op,ts,user_id,name,city,last_login,AR_H_CHANGE_SEQ\n";
    let rows_of_one_commit = "U,2021-10-17 19:43:24.349000,0,Herman,Tulsa,2020-10-12,20211017194324349000000000000000002\n\
        U,2021-10-17 19:43:24.349000,0,Herman,Dallas,2020-10-11,20211017194324349000000000000000001\n";
    let expected = rows(&[
        ["0", "Herman", "Tulsa", "2020-10-12"],
        ["1", "Lisa", "Columbus", "2021-04-01"],
    ]);
    let with_header = format!("{header}{rows_of_one_commit}");
    let result = apply(
        (LOAD, PLAIN_LOAD.as_bytes()),
        &[(CDC, with_header.as_bytes())],
        "",
    );
    assert_eq!(result.unwrap(), expected);
    // Headerless: the rule-added column is declared, after the table's columns.
    let result = apply(
        (
            LOAD,
            "0,Herman,Oklahoma city,2020-10-10,1\n1,Lisa,Columbus,2021-04-01,1\n".as_bytes(),
        ),
        &[(CDC, rows_of_one_commit.as_bytes())],
        "metadata = [\"AR_H_CHANGE_SEQ\"]",
    );
    assert_eq!(result.unwrap(), expected);
}

// Before-image columns (`add-before-image-columns`): an update from another key moves the row.

/// Herman (0) is renumbered 9 and moves to Tulsa; Lisa stays.
fn after_herman_is_renumbered() -> Vec<Vec<String>> {
    rows(&[
        ["1", "Lisa", "Columbus", "2021-04-01"],
        ["9", "Herman", "Tulsa", "2020-10-11"],
    ])
}

#[test]
fn a_csv_header_with_the_key_before_image_moves_the_row() {
    let changes = "Op,ts,BI_user_id,user_id,name,city,last_login\n\
                   U,2021-10-17 19:43:24.349000,0,9,Herman,Tulsa,2020-10-11\n";
    let result = apply(
        (LOAD, PLAIN_LOAD.as_bytes()),
        &[(CDC, changes.as_bytes())],
        "",
    );
    assert_eq!(result.unwrap(), after_herman_is_renumbered());
}

#[test]
fn a_headerless_csv_has_the_before_images_the_spec_declares_after_the_table_columns() {
    // The rule applies to the full load too: its rows end with an empty before-image.
    let load = "0,Herman,Oklahoma city,2020-10-10,\n1,Lisa,Columbus,2021-04-01,\n";
    let changes = "U,2021-10-17 19:43:24.349000,9,Herman,Tulsa,2020-10-11,0\n";
    let result = apply(
        (LOAD, load.as_bytes()),
        &[(CDC, changes.as_bytes())],
        "before_image = { prefix = \"BI_\" }",
    );
    assert_eq!(result.unwrap(), after_herman_is_renumbered());
}

#[test]
fn a_parquet_file_with_bi_columns_moves_the_row() {
    let changes = users_batch(
        vec![
            ("Op", text(&["U"])),
            ("ts", text(&["2021-10-17 19:43:24.349000"])),
            (
                "BI_user_id",
                Arc::new(Int64Array::from(vec![0])) as ArrayRef,
            ),
        ],
        vec![9],
        vec!["Tulsa"],
    );
    let result = apply(
        (LOAD, PLAIN_LOAD.as_bytes()),
        &[("20211017-194324349.parquet", &changes)],
        "",
    );
    assert_eq!(
        result.unwrap(),
        rows(&[
            ["1", "Lisa", "Columbus", "2021-04-01"],
            ["9", "N", "Tulsa", "2021-06-22"],
        ])
    );
}

#[test]
fn a_before_image_named_otherwise_than_the_spec_says_is_refused_by_name() {
    let changes = "Op,user_id,name,city,last_login,BI_user_id\nU,9,Herman,Tulsa,2020-10-11,0\n";
    let load = format!("user_id,name,city,last_login\n{PLAIN_LOAD}");
    let err = apply(
        (LOAD, load.as_bytes()),
        &[(CDC, changes.as_bytes())],
        "before_image = { prefix = \"\", suffix = \"_old\" }",
    )
    .unwrap_err();
    assert_eq!(
        err,
        "20211017-194324349.csv, row 1: the columns do not match the table: `BI_user_id` looks like a before-image column (DMS `add-before-image-columns`), but `cdc.before_image` names them `<column>_old`"
    );
}

/// Over several runs, the state keeps each key's change sequence beside its commit
/// timestamp: a replayed file changes nothing, and a later file of the same timestamp applies
/// where its change sequence is later, to both keys of a move.
#[test]
fn the_state_keeps_the_change_sequence_over_runs_for_moves_too() {
    let s = Scratch::new();
    s.write(LOAD, PLAIN_LOAD);
    let header = "Op,ts,BI_user_id,user_id,name,city,last_login,AR_H_CHANGE_SEQ\n";
    let t = "2021-10-17 19:43:24.349000";
    s.write(
        "a/20211017-194324349.csv",
        format!(
            "{header}U,{t},0,9,Herman,Tulsa,2020-10-11,20\nU,{t},,1,Lisa,Miami,2021-04-01,10\n"
        ),
    );
    // Lisa's 11 comes after her 10; Herman's old key's 15 comes before the move's 20.
    s.write(
        "b/20211017-194325000.csv",
        format!("{header}U,{t},,1,Lisa,Tampa,2021-04-02,11\nI,{t},,0,Herman,Boise,2020-10-12,15\n"),
    );
    let run = |snapshot: &str, changes: &str, out: &str| {
        let args = [
            "apply",
            "--snapshot",
            snapshot,
            "--changes",
            changes,
            "--out",
            out,
            "--quiet",
        ];
        assert_success(&tidemark(&s.path(""), &args));
        table_rows(&read_parquet(&s.path(&format!("{out}/snapshot.parquet"))))
    };
    let first = run(LOAD, "a", "one");
    assert_eq!(
        first,
        rows(&[
            ["1", "Lisa", "Miami", "2021-04-01"],
            ["9", "Herman", "Tulsa", "2020-10-11"],
        ])
    );
    let state = read_parquet(&s.path("one/state.parquet"));
    assert!(state.column_by_name("_tidemark_change_sequence").is_some());
    assert_eq!(
        run("one", "a", "replayed"),
        first,
        "a replay changes nothing"
    );
    assert_eq!(
        run("one", "b", "two"),
        rows(&[
            ["1", "Lisa", "Tampa", "2021-04-02"],
            ["9", "Herman", "Tulsa", "2020-10-11"],
        ])
    );
}

#[test]
fn a_parquet_change_sequence_orders_changes_of_one_commit_timestamp() {
    // The spec names the timestamp's kind; the change sequence, text of 35 digits, is still
    // read as a number.
    let changes = users_batch(
        vec![
            ("Op", text(&["U", "U"])),
            ("ts", text(&["2021-10-17 19:43:24.349000"; 2])),
            (
                "AR_H_CHANGE_SEQ",
                text(&[
                    "20211017194324349000000000000000002",
                    "20211017194324349000000000000000001",
                ]),
            ),
        ],
        vec![0, 0],
        vec!["Tulsa", "Dallas"],
    );
    let result = apply(
        (LOAD, PLAIN_LOAD.as_bytes()),
        &[("20211017-194324349.parquet", &changes)],
        "sequence = { column = \"ts\", kind = \"timestamp\" }",
    );
    assert_eq!(
        result.unwrap(),
        rows(&[
            ["0", "N", "Tulsa", "2021-06-22"],
            ["1", "Lisa", "Columbus", "2021-04-01"],
        ])
    );
}
