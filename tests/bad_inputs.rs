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

// Inputs are never silently changed (issue #16): a Parquet value is converted to the table's
// type only when the conversion is exact, a setting out of range is an error and not a panic,
// and an error quotes a short prefix of a bad value, never all of it.

/// `apply` on `files` (name, bytes) with `args`; fails like [`fails_with`] and returns the
/// error line.
fn fails_with_args(files: &[(&str, &[u8])], args: &[&str]) -> String {
    let s = Scratch::new();
    for (name, bytes) in files {
        s.write(name, bytes);
    }
    let mut all = vec!["apply"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--out", "out"]);
    let out = tidemark(&s.path(""), &all);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the run should fail with status 1; stdout:\n{}\nstderr:\n{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(!s.path("out").exists(), "nothing may be written");
    let err = stderr(&out);
    assert!(err.starts_with("error: "), "{err}");
    err.trim_end().trim_start_matches("error: ").to_string()
}

const CDC_PARQUET: &str = "20211017-194324349.parquet";

/// A Parquet change file of two updates to the seed's `users` table, with `user_id` and
/// `last_login` as given (any Arrow type), so each test chooses what the file stores.
fn users_changes_parquet(
    user_id: arrow_array::ArrayRef,
    last_login: arrow_array::ArrayRef,
) -> Vec<u8> {
    use arrow_array::{ArrayRef, RecordBatch, StringArray};
    use std::sync::Arc;
    let batch = RecordBatch::try_from_iter([
        (
            "Op",
            Arc::new(StringArray::from(vec!["U", "U"])) as ArrayRef,
        ),
        ("user_id", user_id),
        ("name", Arc::new(StringArray::from(vec!["Herman", "Lisa"]))),
        ("city", Arc::new(StringArray::from(vec!["Tulsa", "Tulsa"]))),
        ("last_login", last_login),
    ])
    .unwrap();
    tidemark_core::encode::to_parquet(&batch).unwrap()
}

fn dates(values: Vec<Option<&str>>) -> arrow_array::ArrayRef {
    std::sync::Arc::new(arrow_array::StringArray::from(values))
}

fn ids(values: Vec<i64>) -> arrow_array::ArrayRef {
    std::sync::Arc::new(arrow_array::Int64Array::from(values))
}

#[test]
fn a_parquet_text_date_that_does_not_parse() {
    let cdc = users_changes_parquet(
        ids(vec![0, 1]),
        dates(vec![Some("2021-10-01"), Some("2021-02-30")]),
    );
    assert_eq!(
        fails_with(LOAD.as_bytes(), CDC_PARQUET, &cdc),
        "20211017-194324349.parquet, row 2, column `last_login`: cannot parse \"2021-02-30\" as a date (YYYY-MM-DD)"
    );
}

#[test]
fn a_parquet_float_key_with_a_fraction() {
    let user_id = std::sync::Arc::new(arrow_array::Float64Array::from(vec![0.0, 1.5]));
    let cdc = users_changes_parquet(user_id, dates(vec![Some("2021-10-01"), Some("2021-10-02")]));
    assert_eq!(
        fails_with(LOAD.as_bytes(), CDC_PARQUET, &cdc),
        "20211017-194324349.parquet, row 2, column `user_id`: cannot convert 1.5 from Float64 to Int64 without changing it"
    );
}

#[test]
fn a_parquet_integer_too_large_for_the_column() {
    let user_id = std::sync::Arc::new(arrow_array::UInt64Array::from(vec![0, u64::MAX]));
    let cdc = users_changes_parquet(user_id, dates(vec![Some("2021-10-01"), Some("2021-10-02")]));
    assert_eq!(
        fails_with(LOAD.as_bytes(), CDC_PARQUET, &cdc),
        "20211017-194324349.parquet, row 2, column `user_id`: cannot convert 18446744073709551615 from UInt64 to Int64 without changing it"
    );
}

#[test]
fn a_parquet_int64_that_overflows_an_int32_column() {
    let spec = "[table]\nname = \"users\"\nkey = [\"user_id\"]\ncolumns = [\n  \
        { name = \"user_id\", type = \"int32\" },\n  { name = \"name\", type = \"string\" },\n  \
        { name = \"city\", type = \"string\" },\n  { name = \"last_login\", type = \"date\" },\n]\n";
    let cdc = users_changes_parquet(
        ids(vec![0, 3_000_000_000]),
        dates(vec![Some("2021-10-01"), Some("2021-10-02")]),
    );
    assert_eq!(
        fails_with_args(
            &[
                ("users.toml", spec.as_bytes()),
                ("LOAD00000001.csv", LOAD.as_bytes()),
                (CDC_PARQUET, &cdc),
            ],
            &[
                "--spec",
                "users.toml",
                "--snapshot",
                "LOAD00000001.csv",
                "--changes",
                CDC_PARQUET,
            ],
        ),
        "20211017-194324349.parquet, row 2, column `user_id`: cannot convert 3000000000 from Int64 to Int32 without changing it"
    );
}

#[test]
fn a_non_numeric_parquet_key_is_not_reported_missing() {
    let user_id = std::sync::Arc::new(arrow_array::StringArray::from(vec!["0", "abc"]));
    let cdc = users_changes_parquet(user_id, dates(vec![Some("2021-10-01"), Some("2021-10-02")]));
    assert_eq!(
        fails_with(LOAD.as_bytes(), CDC_PARQUET, &cdc),
        "20211017-194324349.parquet, row 2, column `user_id`: cannot parse \"abc\" as a 64-bit integer"
    );
}

#[test]
fn parquet_values_that_convert_exactly_are_read_and_nulls_stay_null() {
    let s = Scratch::new();
    s.write("LOAD00000001.csv", LOAD);
    // A whole float key, a text key and a text date that parse, and a null date.
    let user_id = std::sync::Arc::new(arrow_array::Float64Array::from(vec![0.0, 7.0]));
    s.write(
        CDC_PARQUET,
        users_changes_parquet(user_id, dates(vec![Some("2021-10-01"), None])),
    );
    assert_success(&tidemark(
        &s.path(""),
        &[
            "apply",
            "--snapshot",
            "LOAD00000001.csv",
            "--changes",
            CDC_PARQUET,
            "--out",
            "out",
            "--quiet",
        ],
    ));
    let rows = table_rows(&read_parquet(&s.path("out/snapshot.parquet")));
    assert_eq!(
        rows,
        [
            vec!["user_id", "name", "city", "last_login"],
            vec!["0", "Herman", "Tulsa", "2021-10-01"],
            vec!["1", "Lisa Ray", "Columbus", "2021-04-01"],
            vec!["7", "Lisa", "Tulsa", ""],
        ]
    );
}

#[test]
fn a_huge_bad_value_is_quoted_by_a_short_prefix() {
    let huge = "9".repeat(2_000_000);
    let message = fails_with(
        LOAD.as_bytes(),
        CDC,
        format!("U,0,Herman,Tulsa,{huge}\n").as_bytes(),
    );
    assert_eq!(
        message,
        format!(
            "20211017-194324349.csv, row 1, column `last_login`: cannot parse \"{}\"… (2000000 bytes) as a date (YYYY-MM-DD)",
            &huge[..60]
        )
    );
}

#[test]
fn a_huge_unknown_operation_is_quoted_by_a_short_prefix() {
    let huge = "X".repeat(100_000);
    let message = fails_with(
        LOAD.as_bytes(),
        CDC,
        format!("{huge},0,Herman,Tulsa,2020-10-10\n").as_bytes(),
    );
    assert!(message.len() < 200, "{message}");
    assert!(message.contains("(100000 bytes)"), "{message}");
}

#[test]
fn a_window_of_days_out_of_range_is_an_error_not_a_panic() {
    let files: &[(&str, &[u8])] = &[
        ("LOAD00000001.csv", LOAD.as_bytes()),
        (CDC, b"U,0,Herman,Tulsa,2020-10-10\n"),
    ];
    for days in ["100000000", "4294967295", "0"] {
        assert_eq!(
            fails_with_args(
                files,
                &[
                    "--snapshot",
                    "LOAD00000001.csv",
                    "--changes",
                    CDC,
                    "--window-days",
                    days
                ],
            ),
            format!(
                "window_days is {days}: it must be from 1 to 3652424 days (the span of the dates 0000-01-01 to 9999-12-31)"
            )
        );
    }
}

#[test]
fn a_spec_window_of_days_out_of_range_is_an_error_not_a_panic() {
    let spec = tidemark_core::TableSpec::users();
    let mut text =
        String::from_utf8(std::fs::read(common::repo().join("core/data/users.toml")).unwrap())
            .unwrap();
    assert_eq!(spec.features.unwrap().window_days, 90);
    text = text.replace("window_days = 90", "window_days = 100000000");
    let message = fails_with_args(
        &[
            ("users.toml", text.as_bytes()),
            ("LOAD00000001.csv", LOAD.as_bytes()),
            (CDC, b"U,0,Herman,Tulsa,2020-10-10\n"),
        ],
        &[
            "--spec",
            "users.toml",
            "--snapshot",
            "LOAD00000001.csv",
            "--changes",
            CDC,
        ],
    );
    assert!(
        message.ends_with(
            "window_days is 100000000: it must be from 1 to 3652424 days (the span of the dates 0000-01-01 to 9999-12-31)"
        ),
        "{message}"
    );
    assert!(message.contains("users.toml"), "{message}");
}

// Input rules (README, "Input rules"): each decision, through the program.

/// Applies `cdc` to `load` and returns the new snapshot's rows (header first).
fn applied_rows(load: &[u8], cdc: &[u8]) -> Vec<Vec<String>> {
    let s = Scratch::new();
    s.write("LOAD00000001.csv", load);
    s.write(CDC, cdc);
    assert_success(&tidemark(
        &s.path(""),
        &[
            "apply",
            "--snapshot",
            "LOAD00000001.csv",
            "--changes",
            CDC,
            "--out",
            "out",
            "--quiet",
        ],
    ));
    table_rows(&read_parquet(&s.path("out/snapshot.parquet")))
}

#[test]
fn operations_are_read_in_either_case() {
    let rows = applied_rows(
        LOAD.as_bytes(),
        b"u,0,Herman,Tulsa,2020-10-11\ni,7,Ann,Austin,2021-01-01\nd,1,Lisa Ray,Columbus,2021-04-01\n",
    );
    assert_eq!(
        rows,
        [
            vec!["user_id", "name", "city", "last_login"],
            vec!["0", "Herman", "Tulsa", "2020-10-11"],
            vec!["7", "Ann", "Austin", "2021-01-01"],
        ]
    );
}

#[test]
fn signed_and_zero_padded_integer_keys_are_numbers() {
    let rows = applied_rows(
        b"7,Ann,Austin,2021-01-01\n-5,Bob,Boston,2021-01-01\n",
        b"U,007,Ann,Tulsa,2021-02-01\nU,+7,Ann,Tulsa,2021-03-01\nU,-05,Bob,Tulsa,2021-02-01\n",
    );
    assert_eq!(
        rows,
        [
            vec!["user_id", "name", "city", "last_login"],
            vec!["-5", "Bob", "Tulsa", "2021-02-01"],
            vec!["7", "Ann", "Tulsa", "2021-03-01"],
        ]
    );
}

#[test]
fn a_snapshot_with_7_and_007_has_a_duplicate_key() {
    assert_eq!(
        fails_with(
            b"7,Ann,Austin,2021-01-01\n007,Ann,Austin,2021-01-01\n",
            CDC,
            b"U,7,Ann,Tulsa,2020-10-10\n"
        ),
        "LOAD00000001.csv, row 2, column `user_id`: duplicate key 7 in the snapshot (first seen in LOAD00000001.csv, row 1)"
    );
}

#[test]
fn nul_bytes_in_text_are_kept_as_data() {
    let rows = applied_rows(LOAD.as_bytes(), b"U,0,Her\0man,Tul\0sa,2020-10-11\n");
    assert_eq!(rows[1], ["0", "Her\0man", "Tul\0sa", "2020-10-11"]);
}

#[test]
fn a_corrupt_parquet_file_the_reader_panics_on_is_an_error() {
    // Found by fuzzing (fuzz/corpus/parquet/): a data page refers to a dictionary its column
    // chunk does not have, and the Parquet reader panics instead of returning an error.
    let corrupt =
        std::fs::read(common::repo().join("fuzz/corpus/parquet/dictionary-page-missing.parquet"))
            .unwrap();
    let s = Scratch::new();
    s.write(
        "users.toml",
        "[table]\nname = \"users\"\nkey = [\"user_id\"]\n",
    );
    s.write("snapshot.parquet", corrupt);
    s.write(CDC, "U,0,Herman,Tulsa,2020-10-10\n");
    let out = tidemark(
        &s.path(""),
        &[
            "apply",
            "--spec",
            "users.toml",
            "--snapshot",
            "snapshot.parquet",
            "--changes",
            CDC,
            "--out",
            "out",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(!s.path("out").exists(), "nothing may be written");
    // The reader's panic message may come first (the program keeps Rust's panic hook).
    let err = stderr(&out);
    let last = err.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.starts_with(
            "error: snapshot.parquet: not a readable Parquet file: the Parquet reader failed on it"
        ),
        "{err}"
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
