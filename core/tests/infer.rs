//! `spec --infer`: the spec read from a sample of the files, one test per DMS layout (files laid
//! out as the DMS user guide documents them), and the inferred spec applying those files.

use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use tidemark_core::pipeline::{self, Inputs, Options};
use tidemark_core::spec::infer::{InferOptions, Inferred, infer};
use tidemark_core::spec::{ColumnType, HeaderMode, Operations, SequenceKind, SourceTable};
use tidemark_core::{InputFile, TableSpec};

fn files(named: &[(&str, &str)]) -> Vec<InputFile> {
    named
        .iter()
        .map(|(name, text)| InputFile::new(*name, text.as_bytes().to_vec()))
        .collect()
}

fn keyed(key: &str) -> InferOptions {
    InferOptions {
        key: vec![key.to_string()],
        ..Default::default()
    }
}

fn columns(spec: &TableSpec) -> Vec<(String, ColumnType)> {
    spec.table
        .columns
        .iter()
        .map(|c| (c.name.clone(), c.column_type))
        .collect()
}

fn named(expected: &[(&str, ColumnType)]) -> Vec<(String, ColumnType)> {
    expected.iter().map(|(n, t)| (n.to_string(), *t)).collect()
}

/// Applies `files` with the spec inferred from them; the new table's first column.
fn apply_with(inferred: &Inferred, files: Vec<InputFile>) -> Vec<String> {
    let (snapshot, changes) = files.into_iter().partition(|f| f.name.contains("LOAD"));
    let inputs = Inputs {
        snapshot,
        state: None,
        change_log: None,
        next_snapshot: Vec::new(),
        changes,
    };
    let out = pipeline::run(&inferred.spec, inputs, &Options::default(), &mut |_| {}).unwrap();
    let first = arrow_cast::cast(out.table.column(0), &DataType::Utf8).unwrap();
    let mut values: Vec<String> = (0..first.len())
        .map(|i| {
            arrow_array::cast::AsArray::as_string::<i32>(&first)
                .value(i)
                .to_string()
        })
        .collect();
    values.sort();
    values
}

// The default layout: no header, the operation first in change files only.

const PLAIN: [(&str, &str); 2] = [
    (
        "dms/public/users/LOAD00000001.csv",
        "0,Herman,Oklahoma city,2020-10-10\n1,Lisa,Columbus,2021-04-01\n",
    ),
    (
        "dms/public/users/2021/10/17/20211017-194324349.csv",
        "U,0,Herman,Tulsa,2020-10-11\nI,7,Ann,Austin,2021-01-01\nD,1,Lisa,Columbus,2021-04-01\n",
    ),
];

#[test]
fn headerless_files_give_numbered_columns_of_the_types_their_values_read_as() {
    let inferred = infer(&files(&PLAIN), &keyed("column1")).unwrap();
    let spec = &inferred.spec;
    assert_eq!(spec.table.name, "users");
    assert_eq!(spec.table.key, ["column1"]);
    assert_eq!(
        columns(spec),
        named(&[
            ("column1", ColumnType::Int64),
            ("column2", ColumnType::String),
            ("column3", ColumnType::String),
            ("column4", ColumnType::Date),
        ])
    );
    assert_eq!(spec.csv.header, HeaderMode::Absent);
    assert_eq!(spec.cdc.operations, Operations::All);
    assert_eq!(spec.cdc.sequence, None);
    assert_eq!(apply_with(&inferred, files(&PLAIN)), ["0", "7"]);
}

#[test]
fn without_a_key_the_message_asks_for_one_and_lists_the_columns() {
    let err = infer(&files(&PLAIN), &InferOptions::default()).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("--key"), "{text}");
    assert!(
        text.contains("column1, column2, column3, column4"),
        "{text}"
    );
}

#[test]
fn the_printed_spec_reads_back_as_the_inferred_one() {
    let inferred = infer(&files(&PLAIN), &keyed("column1")).unwrap();
    let text = inferred.to_toml();
    assert_eq!(TableSpec::from_toml(&text).unwrap(), inferred.spec);
}

// `AddColumnName=true`, `TimestampColumnName`, `$AR_H_*` header columns and before images.

#[test]
fn a_header_names_the_columns_the_sequence_metadata_and_before_images() {
    let load = "ts,user_id,name,city\n\
                2021-10-17 19:00:00.000000,0,Herman,Tulsa\n";
    let cdc = "Op,ts,user_id,name,city,BI_name,$AR_H_USER,AR_H_CHANGE_SEQ\n\
               U,2021-10-17 19:43:24.349000,0,Herman Z,Tulsa,Herman,dms,20211017194324349000000001\n\
               I,2021-10-17 19:43:25.000000,7,Ann,Austin,,dms,20211017194325000000000002\n";
    let named_files = [
        ("dms/public/users/LOAD00000001.csv", load),
        ("dms/public/users/20211017-194324349.csv", cdc),
    ];
    let inferred = infer(&files(&named_files), &keyed("user_id")).unwrap();
    let spec = &inferred.spec;
    assert_eq!(
        columns(spec),
        named(&[
            ("user_id", ColumnType::Int64),
            ("name", ColumnType::String),
            ("city", ColumnType::String),
        ])
    );
    assert_eq!(spec.csv.header, HeaderMode::Present);
    assert_eq!(spec.cdc.op_column, "Op");
    let sequence = spec.cdc.sequence.as_ref().unwrap();
    assert_eq!(
        (sequence.column.as_str(), sequence.kind),
        ("ts", Some(SequenceKind::Timestamp))
    );
    assert_eq!(spec.cdc.metadata, ["$AR_H_USER", "AR_H_CHANGE_SEQ"]);
    assert_eq!(spec.cdc.change_sequence.as_deref(), Some("AR_H_CHANGE_SEQ"));
    let notes = inferred.notes.join("\n");
    assert!(notes.contains("BI_name"), "{notes}");
    assert!(notes.contains("prefix `BI_`"), "{notes}");
    let before = spec
        .cdc
        .before_image
        .as_ref()
        .expect("before images declared");
    assert_eq!(
        (before.prefix.as_str(), before.columns.as_deref()),
        ("BI_", Some(&["name".to_string()][..]))
    );
}

// `CdcInsertsOnly` without `IncludeOpForFullLoad`: no operation field at all.

#[test]
fn change_files_without_an_operation_are_inserts_only() {
    let named_files = [
        ("t/LOAD00000001.csv", "1,Ann\n2,Bob\n"),
        ("t/20211017-194324349.csv", "3,Cy\n"),
    ];
    let inferred = infer(&files(&named_files), &keyed("column1")).unwrap();
    assert_eq!(inferred.spec.cdc.operations, Operations::InsertsOnly);
    assert_eq!(apply_with(&inferred, files(&named_files)), ["1", "2", "3"]);
}

// `CsvDelimiter` and `CsvNullValue`.

#[test]
fn the_delimiter_and_the_null_text_are_read_from_the_files() {
    let named_files = [
        ("t/LOAD00000001.csv", "1;Ann;NULL\n2;Bob;Boston\n"),
        ("t/20211017-194324349.csv", "U;1;Ann;Austin\n"),
    ];
    let inferred = infer(&files(&named_files), &keyed("column1")).unwrap();
    assert_eq!(inferred.spec.csv.delimiter, ';');
    assert_eq!(inferred.spec.csv.null, "NULL");
}

// `DataFormat=parquet`: names and types from the schema, the key from its metadata.

fn parquet(columns: Vec<(&str, ArrayRef)>, key: Option<&str>) -> Vec<u8> {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
        .collect();
    let mut schema = Schema::new(fields);
    if let Some(key) = key {
        schema = schema.with_metadata(std::collections::HashMap::from([(
            "primary_key".to_string(),
            key.to_string(),
        )]));
    }
    let arrays = columns.into_iter().map(|(_, a)| a).collect();
    let batch = RecordBatch::try_new(Arc::new(schema), arrays).unwrap();
    {
        let mut out = Vec::new();
        let mut writer =
            parquet::arrow::ArrowWriter::try_new(&mut out, batch.schema(), None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        out
    }
}

fn parquet_files(key: Option<&str>) -> Vec<InputFile> {
    let load = parquet(
        vec![
            ("id", Arc::new(Int64Array::from(vec![1, 2]))),
            ("name", Arc::new(StringArray::from(vec!["Ann", "Bob"]))),
        ],
        key,
    );
    let cdc = parquet(
        vec![
            ("Op", Arc::new(StringArray::from(vec!["U", "I"]))),
            ("id", Arc::new(Int64Array::from(vec![1, 3]))),
            ("name", Arc::new(StringArray::from(vec!["Anne", "Cy"]))),
        ],
        key,
    );
    vec![
        InputFile::new("s/t/LOAD00000001.parquet", load),
        InputFile::new("s/t/20211017-194324349.parquet", cdc),
    ]
}

#[test]
fn parquet_files_name_their_columns_types_and_key() {
    let inferred = infer(&parquet_files(Some("id")), &InferOptions::default()).unwrap();
    let spec = &inferred.spec;
    assert_eq!(spec.table.key, ["id"]);
    assert_eq!(
        columns(spec),
        named(&[("id", ColumnType::Int64), ("name", ColumnType::String)])
    );
    assert_eq!(spec.cdc.op_column, "Op");
    assert_eq!(
        apply_with(&inferred, parquet_files(Some("id"))),
        ["1", "2", "3"]
    );
}

#[test]
fn parquet_files_without_key_metadata_need_the_key_given() {
    let err = infer(&parquet_files(None), &InferOptions::default()).unwrap_err();
    assert!(err.to_string().contains("--key"), "{err}");
    let inferred = infer(&parquet_files(None), &keyed("id")).unwrap();
    assert_eq!(inferred.spec.table.key, ["id"]);
}

// A column added part-way (ALTER TABLE ... ADD COLUMN).

#[test]
fn a_column_added_part_way_is_optional_and_the_note_names_the_first_file_that_holds_it() {
    let named_files = [
        ("t/LOAD00000001.csv", "id,name\n1,Ann\n"),
        ("t/20211017-194324349.csv", "Op,id,name\nU,1,Anne\n"),
        (
            "t/20211018-000000000.csv",
            "Op,id,name,email\nI,2,Bob,b@x.org\n",
        ),
        (
            "t/20211019-000000000.csv",
            "Op,id,name,email\nU,2,Bob,bob@x.org\n",
        ),
    ];
    let inferred = infer(&files(&named_files), &keyed("id")).unwrap();
    let email = &inferred.spec.table.columns[2];
    assert_eq!((email.name.as_str(), email.optional), ("email", true));
    let notes = inferred.notes.join("\n");
    assert!(
        notes.contains("t/20211018-000000000.csv is the first to hold it"),
        "{notes}"
    );
    assert!(notes.contains("column `email`"), "{notes}");
    assert_eq!(apply_with(&inferred, files(&named_files)), ["1", "2"]);
}

#[test]
fn headerless_files_that_disagree_name_the_first_file_and_column_that_differs() {
    let named_files = [
        ("t/LOAD00000001.csv", "1,Ann\n"),
        ("t/20211017-194324349.csv", "U,1,Anne\n"),
        ("t/20211018-000000000.csv", "I,2,Bob,b@x.org\n"),
    ];
    let err = infer(&files(&named_files), &keyed("column1")).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("t/20211018-000000000.csv"), "{text}");
    assert!(text.contains("`column3`"), "{text}");
}

// `PreserveTransactions` with `CdcPath`: `CDC_TXN-*.csv`, every table's rows.

const TXN: &str = "\
I,users,public,3,Cy,Chicago
U,orders,public,10,3,99.50
U,users,public,1,Ann,Dallas
D,users,public,2,Bob,Boston
";

#[test]
fn transaction_files_give_the_source_table_from_the_full_loads_folder() {
    let named_files = [
        (
            "dms/public/users/LOAD00000001.csv",
            "1,Ann,Austin\n2,Bob,Boston\n",
        ),
        ("dms/txn/CDC_TXN-20211017194324349.csv", TXN),
    ];
    let inferred = infer(&files(&named_files), &keyed("column1")).unwrap();
    let spec = &inferred.spec;
    assert_eq!(spec.table.name, "users");
    assert_eq!(spec.cdc.source, Some(SourceTable::named("public", "users")));
    assert_eq!(
        columns(spec),
        named(&[
            ("column1", ColumnType::Int64),
            ("column2", ColumnType::String),
            ("column3", ColumnType::String),
        ])
    );
    let notes = inferred.notes.join("\n");
    assert!(
        notes.contains("1 sampled row(s) of other tables"),
        "{notes}"
    );
    assert_eq!(apply_with(&inferred, files(&named_files)), ["1", "3"]);
}

#[test]
fn transaction_files_of_several_tables_need_the_source_named() {
    let named_files = [("cdc/CDC_TXN-20211017194324349.csv", TXN)];
    let err = infer(&files(&named_files), &keyed("column1")).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("--source"), "{text}");
    assert!(text.contains("public.orders, public.users"), "{text}");
    let options = InferOptions {
        source: Some("public.orders".parse().unwrap()),
        ..keyed("column1")
    };
    let inferred = infer(&files(&named_files), &options).unwrap();
    assert_eq!(inferred.spec.table.name, "orders");
    assert_eq!(inferred.spec.table.columns.len(), 3);
    assert_eq!(
        inferred.spec.table.columns[2].column_type,
        ColumnType::Float64
    );
}

#[test]
fn a_column_added_to_the_source_table_part_way_through_a_transaction_file_is_named() {
    let txn = "I,users,public,3,Cy\nI,orders,public,1,2\nI,users,public,4,Di,d@x.org\n";
    let named_files = [
        ("dms/public/users/LOAD00000001.csv", "1,Ann\n"),
        ("dms/txn/CDC_TXN-20211017194324349.csv", txn),
    ];
    let err = infer(&files(&named_files), &keyed("column1")).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("CDC_TXN-20211017194324349.csv"), "{text}");
    assert!(text.contains("row 3"), "{text}");
    assert!(text.contains("`column3`"), "{text}");
}
