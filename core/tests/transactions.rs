//! Transaction files (DMS `PreserveTransactions` with `CdcPath`), as the DMS user guide lays
//! them out: `CDC_TXN-<time>.csv`, CSV whatever `DataFormat` says, no header, each row
//! `operation,table_name,database_schema_name,field_value,...` for every table of the task.
//! The spec names its table (`[cdc] source`); rows of other tables are skipped and counted.

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use tidemark_core::pipeline::{self, Inputs, Options};
use tidemark_core::spec::SourceTable;
use tidemark_core::{ErrorKind, InputFile, TableSpec};

/// The seed's `users` table, whose rows are `public.users`' in the transaction files.
fn spec() -> TableSpec {
    let mut spec = TableSpec::users();
    spec.cdc.source = Some(SourceTable::named("public", "users"));
    spec
}

const LOAD: &str = "1,Ann,Austin,2021-01-01\n2,Bob,Boston,2021-02-02\n";

fn run(spec: &TableSpec, changes: &[(&str, &str)]) -> tidemark_core::Result<pipeline::Output> {
    let inputs = Inputs {
        snapshot: vec![InputFile::new("dms/public/users/LOAD00000001.csv", LOAD)],
        state: None,
        change_log: None,
        next_snapshot: Vec::new(),
        changes: changes
            .iter()
            .map(|(name, text)| InputFile::new(*name, text.as_bytes().to_vec()))
            .collect(),
    };
    pipeline::run(spec, inputs, &Options::default(), &mut |_| {})
}

/// `id:name:city` of each row, by id.
fn rows(table: &RecordBatch) -> Vec<String> {
    let ids = table.column(0).as_primitive::<Int64Type>();
    let names = table.column(1).as_string::<i32>();
    let cities = table.column(2).as_string::<i32>();
    let mut rows: Vec<(i64, String)> = (0..table.num_rows())
        .map(|i| {
            let row = format!("{}:{}:{}", ids.value(i), names.value(i), cities.value(i));
            (ids.value(i), row)
        })
        .collect();
    rows.sort();
    rows.into_iter().map(|(_, r)| r).collect()
}

/// Two tables' changes in transaction order, a table of the same name in another schema too.
const TXN: &str = "\
I,users,public,3,Cy,Chicago,2021-03-03
U,orders,public,10,3,99.50
U,users,public,1,Ann,Dallas,2021-04-04
I,users,sales,7,Eve,Elsewhere,2021-01-01
D,users,public,2,Bob,Boston,2021-02-02
I,orders,public,11,1,5.00
";

#[test]
fn only_the_rows_of_the_specs_source_table_apply() {
    let out = run(&spec(), &[("txn/CDC_TXN-20211017194324349.csv", TXN)]).unwrap();
    assert_eq!(rows(&out.table), ["1:Ann:Dallas", "3:Cy:Chicago"]);
}

#[test]
fn rows_of_other_tables_are_counted_in_the_report() {
    let out = run(&spec(), &[("txn/CDC_TXN-20211017194324349.csv", TXN)]).unwrap();
    let file = &out.report.changes[0];
    assert_eq!((file.inserts, file.updates, file.deletes), (1, 1, 1));
    assert_eq!(file.other_tables, Some(3));
    let json = serde_json::to_value(&out.report).unwrap();
    assert_eq!(json["changes"][0]["other_tables"], 3);
}

#[test]
fn a_table_change_file_reports_no_other_tables() {
    let out = run(
        &spec(),
        &[("20211017-194324349.csv", "U,1,Ann,Dallas,2021-04-04\n")],
    )
    .unwrap();
    assert_eq!(out.report.changes[0].other_tables, None);
    let json = serde_json::to_value(&out.report).unwrap();
    assert!(json["changes"][0].get("other_tables").is_none());
}

#[test]
fn transaction_files_apply_in_the_order_of_the_time_in_their_names() {
    let later = "U,users,public,3,Cy,Denver,2021-05-05\n";
    let earlier = "I,users,public,3,Cy,Chicago,2021-03-03\n";
    let out = run(
        &spec(),
        &[
            ("txn/CDC_TXN-20211018000000000.csv", later),
            ("txn/CDC_TXN-20211017194324349.csv", earlier),
        ],
    )
    .unwrap();
    assert_eq!(
        rows(&out.table),
        ["1:Ann:Austin", "2:Bob:Boston", "3:Cy:Denver"]
    );
}

#[test]
fn a_transaction_file_without_a_row_of_the_table_changes_nothing() {
    let others = "I,orders,public,11,1,5.00\nD,orders,public,10,3,99.50\n";
    let out = run(&spec(), &[("txn/CDC_TXN-20211017194324349.csv", others)]).unwrap();
    assert_eq!(rows(&out.table), ["1:Ann:Austin", "2:Bob:Boston"]);
    assert_eq!(out.report.changes[0].other_tables, Some(2));
}

#[test]
fn an_error_names_the_row_of_the_file_counting_the_skipped_ones() {
    let bad = "I,orders,public,11,1,5.00\nI,orders,public,12,1,6.00\nI,users,public,3,Cy,Chicago,not a date\n";
    let err = run(&spec(), &[("txn/CDC_TXN-20211017194324349.csv", bad)]).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("CDC_TXN-20211017194324349.csv"), "{text}");
    assert!(text.contains("row 3"), "{text}");
    assert!(text.contains("last_login"), "{text}");
}

#[test]
fn a_spec_without_a_source_table_cannot_read_transaction_files() {
    let err = run(
        &TableSpec::users(),
        &[("txn/CDC_TXN-20211017194324349.csv", TXN)],
    )
    .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::NoSourceTable), "{err}");
    assert!(err.to_string().contains("[cdc] source"), "{err}");
}

#[test]
fn a_row_without_its_table_name_is_an_error() {
    let bad = "I,users,public,3,Cy,Chicago,2021-03-03\nU,,public,1,Ann,Dallas,2021-04-04\n";
    let err = run(&spec(), &[("txn/CDC_TXN-20211017194324349.csv", bad)]).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::MissingSourceName("table")),
        "{err}"
    );
    assert!(err.to_string().contains("row 2"), "{err}");
}

#[test]
fn a_transaction_file_in_parquet_is_refused_as_dms_writes_none() {
    let parquet = b"PAR1 as a Parquet file begins".to_vec();
    let inputs = Inputs {
        snapshot: vec![InputFile::new("dms/public/users/LOAD00000001.csv", LOAD)],
        state: None,
        change_log: None,
        next_snapshot: Vec::new(),
        changes: vec![InputFile::new(
            "txn/CDC_TXN-20211017194324349.parquet",
            parquet,
        )],
    };
    let err = pipeline::run(&spec(), inputs, &Options::default(), &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("only as CSV"), "{err}");
}

#[test]
fn the_source_table_reads_back_from_toml() {
    let text = TableSpec::users().to_toml().replacen(
        "[cdc]\n",
        "[cdc]\nsource = { schema = \"public\", table = \"users\" }\n",
        1,
    );
    let spec = TableSpec::from_toml(&text).unwrap();
    assert_eq!(spec.cdc.source, Some(SourceTable::named("public", "users")));
}
