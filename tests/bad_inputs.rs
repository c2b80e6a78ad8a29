//! Every kind of bad input stops the run with a message that names the file, the row and the
//! column, a non-zero exit, and nothing written.

mod common;

use common::*;

const LOAD: &str = "0,Herman Zimmerman,Oklahoma city,2020-10-10\n1,Lisa Ray,Columbus,2021-04-01\n";
const CDC: &str = "20211017-194324349.csv";

/// Runs `apply` on a LOAD file and one change file; returns the error line.
fn fails_with(load: &[u8], cdc_name: &str, cdc: &[u8]) -> String {
    let s = Scratch::new();
    s.write("LOAD00000001.csv", load);
    s.write(cdc_name, cdc);
    let out = tidemark(
        &s.path(""),
        &[
            "apply",
            "--snapshot",
            "LOAD00000001.csv",
            "--changes",
            cdc_name,
            "--out",
            "out",
        ],
    );
    assert!(
        !out.status.success(),
        "the run should fail; stdout:\n{}",
        stdout(&out)
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        !s.path("out").exists(),
        "nothing may be written: {:?}",
        s.files_below("")
    );
    let err = stderr(&out);
    assert!(err.starts_with("error: "), "{err}");
    err.trim_end().trim_start_matches("error: ").to_string()
}

#[test]
fn a_row_with_too_few_fields() {
    assert_eq!(
        fails_with(LOAD.as_bytes(), CDC, b"U,0,Herman Zimmerman,2020-10-10\n"),
        "20211017-194324349.csv, row 1: expected 5 fields, found 4 (operation, then one per table column, optionally a sequence after the operation)"
    );
}

#[test]
fn a_later_row_with_too_many_fields() {
    assert_eq!(
        fails_with(
            LOAD.as_bytes(),
            CDC,
            b"U,0,Herman,Tulsa,2020-10-10\nI,7,Ann,Austin,2021-01-01,extra\n"
        ),
        "20211017-194324349.csv, row 2: expected 5 fields, found 6"
    );
}

#[test]
fn an_unclosed_quote() {
    assert_eq!(
        fails_with(
            LOAD.as_bytes(),
            CDC,
            b"I,7,\"Ann,Austin,2021-01-01\nI,8,Bob,Boston,2021-01-01\n"
        ),
        "20211017-194324349.csv, row 1: expected 5 fields, found 3 (an unclosed quote may have joined several lines)"
    );
}

#[test]
fn an_unknown_operation() {
    assert_eq!(
        fails_with(
            LOAD.as_bytes(),
            CDC,
            b"U,0,Herman,Tulsa,2020-10-10\nX,1,Lisa Ray,Columbus,2021-04-01\n"
        ),
        "20211017-194324349.csv, row 2, column `Op`: unknown operation \"X\" (expected I, U or D)"
    );
}

#[test]
fn an_unparsable_date() {
    assert_eq!(
        fails_with(LOAD.as_bytes(), CDC, b"U,0,Herman,Tulsa,2020-02-30\n"),
        "20211017-194324349.csv, row 1, column `last_login`: cannot parse \"2020-02-30\" as a date (YYYY-MM-DD)"
    );
}

#[test]
fn an_unparsable_number_in_the_snapshot() {
    assert_eq!(
        fails_with(
            b"0,Herman,Tulsa,2020-10-10\n1x,Lisa Ray,Columbus,2021-04-01\n",
            CDC,
            b"U,0,Herman,Tulsa,2020-10-10\n"
        ),
        "LOAD00000001.csv, row 2, column `user_id`: cannot parse \"1x\" as a 64-bit integer"
    );
}

#[test]
fn a_missing_key() {
    assert_eq!(
        fails_with(LOAD.as_bytes(), CDC, b"U,,Herman,Tulsa,2020-10-10\n"),
        "20211017-194324349.csv, row 1, column `user_id`: the key is missing (null or empty)"
    );
}

#[test]
fn duplicate_keys_in_the_snapshot() {
    assert_eq!(
        fails_with(
            b"1,Ann,Austin,2021-01-01\n2,Bob,Boston,2021-01-01\n1,Ann,Austin,2021-01-01\n",
            CDC,
            b"U,2,Bob,Tulsa,2020-10-10\n"
        ),
        "LOAD00000001.csv, row 3, column `user_id`: duplicate key 1 in the snapshot (first seen in LOAD00000001.csv, row 1)"
    );
}

#[test]
fn change_columns_that_do_not_match_the_table() {
    assert_eq!(
        fails_with(
            LOAD.as_bytes(),
            CDC,
            b"Op,user_id,name,town,last_login\nU,0,Herman,Tulsa,2020-10-10\n"
        ),
        "20211017-194324349.csv, row 1: the columns do not match the table: missing column(s) `city`"
    );
    assert_eq!(
        fails_with(LOAD.as_bytes(), CDC, b"Op,ts,user_id,name,city,last_login,extra\nU,2021-10-17 00:00:00,0,Herman,Tulsa,2020-10-10,1\n"),
        "20211017-194324349.csv, row 1: the columns do not match the table: unexpected column(s) `ts`, `extra`"
    );
}

#[test]
fn a_parquet_change_file_without_the_operation() {
    use arrow_array::{ArrayRef, Date32Array, Int64Array, RecordBatch, StringArray};
    use std::sync::Arc;
    let batch = RecordBatch::try_from_iter([
        ("user_id", Arc::new(Int64Array::from(vec![0])) as ArrayRef),
        ("name", Arc::new(StringArray::from(vec!["Herman"]))),
        ("city", Arc::new(StringArray::from(vec!["Tulsa"]))),
        ("last_login", Arc::new(Date32Array::from(vec![18000]))),
    ])
    .unwrap();
    let bytes = tidemark_core::encode::to_parquet(&batch).unwrap();
    assert_eq!(
        fails_with(LOAD.as_bytes(), "20211017-194324349.parquet", &bytes),
        "20211017-194324349.parquet: the columns do not match the table: missing column(s) `Op` (the operation)"
    );
}

#[test]
fn a_truncated_parquet_file() {
    let s = Scratch::new();
    let (load, cdc) = s.seed();
    assert_success(&tidemark(
        &s.path(""),
        &[
            "apply",
            "--snapshot",
            load.to_str().unwrap(),
            "--changes",
            cdc.to_str().unwrap(),
            "--out",
            "run1",
            "--quiet",
        ],
    ));
    let whole = std::fs::read(s.path("run1/snapshot.parquet")).unwrap();
    s.write("cut/snapshot.parquet", &whole[..whole.len() / 2]);
    let out = tidemark(
        &s.path(""),
        &[
            "apply",
            "--snapshot",
            "cut/snapshot.parquet",
            "--changes",
            cdc.to_str().unwrap(),
            "--out",
            "out",
        ],
    );
    assert!(!out.status.success());
    assert!(!s.path("out").exists());
    let err = stderr(&out);
    assert!(
        err.starts_with("error: cut/snapshot.parquet: not a readable Parquet file: "),
        "{err}"
    );
}

#[test]
fn a_file_that_is_not_parquet_at_all() {
    let message = fails_with(
        LOAD.as_bytes(),
        "20211017-194324349.parquet",
        b"this is not parquet, just text that is long enough",
    );
    assert!(
        message.starts_with("20211017-194324349.parquet: not a readable Parquet file: "),
        "{message}"
    );
}

#[test]
fn text_that_is_not_utf8() {
    assert_eq!(
        fails_with(LOAD.as_bytes(), CDC, b"U,0,Herm\xe9n,Tulsa,2020-10-10\n"),
        "20211017-194324349.csv, row 1, column `name`: the text is not valid UTF-8"
    );
}

#[test]
fn an_empty_file() {
    assert_eq!(
        fails_with(LOAD.as_bytes(), CDC, b""),
        "20211017-194324349.csv: the file is empty"
    );
}

#[test]
fn a_corrupt_gzip_file() {
    let message = fails_with(
        LOAD.as_bytes(),
        "20211017-194324349.csv.gz",
        &[0x1f, 0x8b, 8, 0, 1, 2, 3],
    );
    assert!(
        message.starts_with("20211017-194324349.csv.gz: not a readable gzip file"),
        "{message}"
    );
}

#[test]
fn a_strict_run_refuses_an_insert_of_an_existing_key() {
    let s = Scratch::new();
    s.write("LOAD00000001.csv", LOAD);
    s.write(CDC, "I,1,Lisa Ray,Columbus,2021-10-01\n");
    let out = tidemark(
        &s.path(""),
        &[
            "apply",
            "--snapshot",
            "LOAD00000001.csv",
            "--changes",
            CDC,
            "--out",
            "out",
            "--strict",
        ],
    );
    assert!(!out.status.success());
    assert!(!s.path("out").exists());
    assert_eq!(
        stderr(&out).trim_end(),
        "error: 20211017-194324349.csv, row 1: insert of a key that already exists (applied as an update) for key 1 (strict mode)"
    );
}

#[test]
fn a_missing_input_file_is_named() {
    let s = Scratch::new();
    s.write("LOAD00000001.csv", LOAD);
    let out = tidemark(
        &s.path(""),
        &[
            "apply",
            "--snapshot",
            "LOAD00000001.csv",
            "--changes",
            "nope.csv",
            "--out",
            "out",
        ],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).starts_with("error: cannot read nope.csv: "),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_folder_whose_last_run_wrote_no_snapshot_is_not_read_as_an_older_one() {
    let s = Scratch::new();
    let (load, cdc) = s.seed();
    let (load, cdc) = (load.to_str().unwrap(), cdc.to_str().unwrap());
    let run = |snapshot: &str, extra: &[&str]| {
        let mut args = vec!["apply", "--snapshot", snapshot, "--changes", cdc];
        args.extend_from_slice(&["--out", "out", "--quiet"]);
        args.extend_from_slice(extra);
        tidemark(&s.path(""), &args)
    };
    assert_success(&run(load, &[]));
    assert_success(&run(load, &["--outputs", "enriched,report"]));
    let out = run("out", &[]);
    assert!(!out.status.success(), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.starts_with("error: out: ") && err.contains("wrote no snapshot"),
        "{err}"
    );
}
