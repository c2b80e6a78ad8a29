//! `tidemark spec --infer` and `tidemark apply` without `--spec`, through the program: one
//! test per DMS layout, on files laid out as the DMS user guide documents them. Each printed
//! spec is fed back to `tidemark apply --spec`, as a user would.

mod common;

use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow_schema::{Field, Schema};
use common::*;

/// `tidemark spec --infer` with `args` in `s`; the printed spec, or the error line.
fn infer(s: &Scratch, args: &[&str]) -> Result<String, String> {
    let mut all = vec!["spec", "--infer"];
    all.extend_from_slice(args);
    let out = tidemark(&s.path(""), &all);
    match out.status.success() {
        true => Ok(stdout(&out)),
        false => Err(stderr(&out).trim_end().to_string()),
    }
}

/// The printed spec, as the core reads it back.
fn spec_of(text: &str) -> tidemark_core::TableSpec {
    tidemark_core::TableSpec::from_toml(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// `tidemark apply` with the spec in `spec.toml`; the new table's rows (header first).
fn apply(s: &Scratch, snapshot: &str, changes: &str) -> Vec<Vec<String>> {
    let out = tidemark(
        &s.path(""),
        &[
            "apply",
            "--snapshot",
            snapshot,
            "--changes",
            changes,
            "--spec",
            "spec.toml",
            "--out",
            "out",
            "--quiet",
        ],
    );
    assert_success(&out);
    table_rows(&read_parquet(&s.path("out/snapshot.parquet")))
}

fn rows(expected: &[&[&str]]) -> Vec<Vec<String>> {
    expected
        .iter()
        .map(|r| r.iter().map(|v| v.to_string()).collect())
        .collect()
}

#[test]
fn spec_without_infer_prints_the_bundled_spec() {
    let s = Scratch::new();
    let out = tidemark(&s.path(""), &["spec"]);
    assert_success(&out);
    assert_eq!(spec_of(&stdout(&out)), tidemark_core::TableSpec::users());
}

#[test]
fn infer_on_the_default_layout_needs_the_key_then_applies() {
    let s = Scratch::new();
    s.write(
        "dms/public/users/LOAD00000001.csv",
        "0,Herman,Oklahoma city,2020-10-10\n1,Lisa,Columbus,2021-04-01\n",
    );
    s.write(
        "dms/public/users/2021/10/17/20211017-194324349.csv",
        "U,0,Herman,Tulsa,2020-10-11\nI,7,Ann,Austin,2021-01-01\nD,1,Lisa,Columbus,2021-04-01\n",
    );
    let err = infer(&s, &["dms/public/users"]).unwrap_err();
    assert!(err.contains("--key COL[,COL]"), "{err}");
    assert!(err.contains("column1, column2, column3, column4"), "{err}");

    let text = infer(&s, &["dms/public/users", "--key", "column1"]).unwrap();
    let spec = spec_of(&text);
    assert_eq!(spec.table.name, "users");
    assert_eq!(spec.table.key, ["column1"]);
    assert!(
        text.contains("{ name = \"column4\", type = \"date\" }"),
        "{text}"
    );
    s.write("spec.toml", &text);
    assert_eq!(
        apply(
            &s,
            "dms/public/users/LOAD00000001.csv",
            "dms/public/users/2021"
        ),
        rows(&[
            &["column1", "column2", "column3", "column4"],
            &["0", "Herman", "Tulsa", "2020-10-11"],
            &["7", "Ann", "Austin", "2021-01-01"],
        ])
    );
}

#[test]
fn infer_on_files_with_a_header_a_timestamp_and_metadata_columns() {
    let s = Scratch::new();
    s.write(
        "dms/public/users/LOAD00000001.csv",
        "user_id,name\n0,Herman\n1,Lisa\n",
    );
    s.write(
        "dms/public/users/20211017-194324349.csv",
        "Op,ts,user_id,name,BI_name,$AR_H_USER,AR_H_CHANGE_SEQ\n\
         U,2021-10-17 19:43:24.349000,0,Herman Z,Herman,dms,20211017194324349000000001\n\
         I,2021-10-17 19:43:25.000000,7,Ann,,dms,20211017194325000000000002\n",
    );
    let text = infer(&s, &["dms", "--key", "user_id"]).unwrap();
    let spec = spec_of(&text);
    assert_eq!(spec.cdc.sequence.unwrap().column, "ts");
    assert_eq!(spec.cdc.metadata, ["$AR_H_USER", "AR_H_CHANGE_SEQ"]);
    assert_eq!(spec.csv.header, tidemark_core::spec::HeaderMode::Present);
    assert!(text.contains("# before-image columns"), "{text}");
    assert!(text.contains("BI_name"), "{text}");
}

#[test]
fn infer_on_parquet_files_takes_the_key_from_their_metadata() {
    let s = Scratch::new();
    let parquet = |columns: Vec<(&str, ArrayRef)>| {
        let fields: Vec<Field> = columns
            .iter()
            .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
            .collect();
        let schema = Schema::new(fields).with_metadata(std::collections::HashMap::from([(
            "primary_key".to_string(),
            "id".to_string(),
        )]));
        let arrays = columns.into_iter().map(|(_, a)| a).collect();
        let batch = RecordBatch::try_new(Arc::new(schema), arrays).unwrap();
        let mut out = Vec::new();
        let mut writer =
            parquet::arrow::ArrowWriter::try_new(&mut out, batch.schema(), None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        out
    };
    s.write(
        "dms/s/t/LOAD00000001.parquet",
        parquet(vec![
            ("id", Arc::new(Int64Array::from(vec![1, 2]))),
            ("name", Arc::new(StringArray::from(vec!["Ann", "Bob"]))),
        ]),
    );
    s.write(
        "dms/s/t/20211017-194324349.parquet",
        parquet(vec![
            ("Op", Arc::new(StringArray::from(vec!["D"]))),
            ("id", Arc::new(Int64Array::from(vec![2]))),
            ("name", Arc::new(StringArray::from(vec!["Bob"]))),
        ]),
    );
    let text = infer(&s, &["dms"]).unwrap();
    let spec = spec_of(&text);
    assert_eq!(spec.table.name, "t");
    assert_eq!(spec.table.key, ["id"]);
    s.write("spec.toml", &text);
    assert_eq!(
        apply(
            &s,
            "dms/s/t/LOAD00000001.parquet",
            "dms/s/t/20211017-194324349.parquet"
        ),
        rows(&[&["id", "name"], &["1", "Ann"]])
    );
}

#[test]
fn infer_on_transaction_files_names_the_source_table_and_applies_only_its_rows() {
    let s = Scratch::new();
    s.write(
        "dms/public/users/LOAD00000001.csv",
        "1,Ann,Austin\n2,Bob,Boston\n",
    );
    s.write(
        "dms/txn/CDC_TXN-20211017194324349.csv",
        "I,users,public,3,Cy,Chicago\nU,orders,public,10,3,99.50\n\
         U,users,public,1,Ann,Dallas\nD,users,public,2,Bob,Boston\n",
    );
    let text = infer(&s, &["dms", "--key", "column1"]).unwrap();
    let spec = spec_of(&text);
    assert_eq!(
        spec.cdc.source,
        Some(tidemark_core::spec::SourceTable::named("public", "users"))
    );
    assert!(
        text.contains("source = { schema = \"public\", table = \"users\""),
        "{text}"
    );
    s.write("spec.toml", &text);
    assert_eq!(
        apply(&s, "dms/public/users/LOAD00000001.csv", "dms/txn"),
        rows(&[
            &["column1", "column2", "column3"],
            &["1", "Ann", "Dallas"],
            &["3", "Cy", "Chicago"],
        ])
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s.path("out/report.json")).unwrap()).unwrap();
    assert_eq!(report["changes"][0]["other_tables"], 1, "{report}");
}

#[test]
fn infer_on_transaction_files_of_several_tables_asks_which_one() {
    let s = Scratch::new();
    s.write(
        "txn/CDC_TXN-20211017194324349.csv",
        "I,users,public,3,Cy\nI,orders,public,10,3\n",
    );
    let err = infer(&s, &["txn", "--key", "column1"]).unwrap_err();
    assert!(err.contains("--source-table SCHEMA.TABLE"), "{err}");
    let text = infer(
        &s,
        &["txn", "--key", "column1", "--source-table", "public.orders"],
    )
    .unwrap();
    assert_eq!(spec_of(&text).table.name, "orders");
}

#[test]
fn infer_names_the_first_file_and_column_where_the_files_disagree() {
    let s = Scratch::new();
    s.write("t/LOAD00000001.csv", "id,name\n1,Ann\n");
    s.write("t/20211017-194324349.csv", "Op,id,name\nU,1,Anne\n");
    s.write(
        "t/20211018-000000000.csv",
        "Op,id,name,email\nI,2,Bob,b@x.org\n",
    );
    let text = infer(&s, &["t", "--key", "id"]).unwrap();
    assert!(
        text.contains("column `email`: t/20211018-000000000.csv is the first to hold it"),
        "{text}"
    );
    assert!(text.contains("optional = true"), "{text}");

    let s = Scratch::new();
    s.write("t/LOAD00000001.csv", "1,Ann\n");
    s.write("t/20211018-000000000.csv", "I,2,Bob,b@x.org\n");
    let err = infer(&s, &["t", "--key", "column1"]).unwrap_err();
    assert!(err.contains("t/20211018-000000000.csv"), "{err}");
    assert!(err.contains("`column3`"), "{err}");
}

#[test]
fn apply_without_spec_infers_it_and_says_so() {
    let s = Scratch::new();
    s.write("t/LOAD00000001.csv", "id,name\n1,Ann\n2,Bob\n");
    s.write("t/20211017-194324349.csv", "Op,id,name\nU,1,Anne\n");
    let out = tidemark(
        &s.path(""),
        &[
            "apply",
            "--snapshot",
            "t/LOAD00000001.csv",
            "--changes",
            "t/20211017-194324349.csv",
            "--key",
            "id",
            "--out",
            "out",
        ],
    );
    assert_success(&out);
    let printed = stdout(&out);
    assert!(printed.contains("spec inferred"), "{printed}");
    assert_eq!(
        table_rows(&read_parquet(&s.path("out/snapshot.parquet"))),
        rows(&[&["id", "name"], &["1", "Anne"], &["2", "Bob"]])
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s.path("out/report.json")).unwrap()).unwrap();
    let inferred = &report["inferred_spec"];
    assert!(
        inferred["spec"]
            .as_str()
            .unwrap()
            .contains("key = [\"id\"]"),
        "{report}"
    );
}

#[test]
fn apply_without_spec_keeps_the_bundled_spec_for_the_seed() {
    let s = Scratch::new();
    s.seed();
    let out = apply_seed(&s, &["--out", "out", "--quiet"]);
    assert_success(&out);
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s.path("out/report.json")).unwrap()).unwrap();
    assert!(report.get("inferred_spec").is_none(), "{report}");
    assert_eq!(report["apply"]["rows_after"], 110);
}
