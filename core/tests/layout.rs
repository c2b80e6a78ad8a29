//! How Tidemark holds a table in memory is its own business: text a Parquet snapshot stores
//! dictionary-encoded stays a dictionary, and every output declares the table's plain types.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{ArrayRef, Date32Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::DataType;
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use tidemark_core::decode::{dictionary_text, read_parquet, table_schema};
use tidemark_core::pipeline::{self, Inputs, Options};
use tidemark_core::{InputFile, TableSpec, encode};

fn users() -> RecordBatch {
    let cities = ["Austin", "Boston", "Austin", "Chicago"];
    RecordBatch::try_from_iter([
        (
            "user_id",
            Arc::new(Int64Array::from(vec![1, 2, 3, 4])) as ArrayRef,
        ),
        (
            "name",
            Arc::new(StringArray::from(vec![
                Some("Ann"),
                None,
                Some("Cy"),
                Some("Di"),
            ])),
        ),
        ("city", Arc::new(StringArray::from(cities.to_vec()))),
        (
            "last_login",
            Arc::new(Date32Array::from(vec![18800, 18801, 18802, 18803])),
        ),
    ])
    .unwrap()
}

fn parquet_file(batch: &RecordBatch, dictionary: bool) -> InputFile {
    parquet_file_in_groups(batch, dictionary, 1 << 20)
}

fn parquet_file_in_groups(batch: &RecordBatch, dictionary: bool, group_rows: usize) -> InputFile {
    let props = WriterProperties::builder()
        .set_dictionary_enabled(dictionary)
        .set_max_row_group_row_count(Some(group_rows))
        .build();
    let mut bytes = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut bytes, batch.schema(), Some(props)).unwrap();
    writer.write(batch).unwrap();
    writer.close().unwrap();
    InputFile::new("snapshot.parquet", bytes)
}

fn text_column_types(file: &InputFile) -> Vec<DataType> {
    let schema = table_schema(&TableSpec::users(), std::slice::from_ref(file)).unwrap();
    ["user_id", "name", "city"]
        .iter()
        .map(|c| schema.field_with_name(c).unwrap().data_type().clone())
        .collect()
}

#[test]
fn dictionary_encoded_text_is_held_as_a_dictionary_and_keys_stay_plain() {
    let types = text_column_types(&parquet_file(&users(), true));
    assert_eq!(
        types,
        [DataType::Int64, dictionary_text(), dictionary_text()]
    );
}

#[test]
fn plainly_encoded_text_is_held_plain() {
    let types = text_column_types(&parquet_file(&users(), false));
    assert_eq!(types, [DataType::Int64, DataType::Utf8, DataType::Utf8]);
}

/// The table and the enriched table a run on `snapshot` writes (with a few changes).
fn run(snapshot: InputFile) -> (RecordBatch, RecordBatch) {
    let changes = InputFile::new(
        "20211018-101500000.csv",
        "U,2,Bo,Boston,2021-10-17\nI,5,Ed,Denver,2021-10-18\nD,3,Cy,Austin,2021-06-26\n",
    );
    let inputs = Inputs {
        snapshot: vec![snapshot],
        changes: vec![changes],
        state: None,
    };
    let out = pipeline::run(
        &TableSpec::users(),
        inputs,
        &Options::default(),
        &mut |_| {},
    )
    .unwrap();
    let written = |batch: &RecordBatch| {
        let bytes = encode::to_parquet(batch).unwrap();
        read_parquet(&InputFile::new("out.parquet", bytes)).unwrap()
    };
    (written(&out.table), written(out.enriched.as_ref().unwrap()))
}

#[test]
fn a_snapshot_in_many_row_groups_is_read_as_the_table_it_holds() {
    // Plain columns are read across row groups at once, dictionaries one row group at a time.
    for dictionary in [true, false] {
        let whole = run(parquet_file(&users(), dictionary));
        for group_rows in [1, 3] {
            let file = parquet_file_in_groups(&users(), dictionary, group_rows);
            let groups = parquet::file::metadata::ParquetMetaDataReader::new()
                .parse_and_finish(&file.bytes)
                .unwrap()
                .num_row_groups();
            assert_eq!(groups, 4usize.div_ceil(group_rows));
            assert_eq!(run(file), whole, "{group_rows} rows a group, {dictionary}");
        }
    }
}

#[test]
fn a_run_on_dictionaries_writes_the_same_table_as_a_run_on_plain_text() {
    let (table, enriched) = run(parquet_file(&users(), true));
    assert_eq!(
        (table.clone(), enriched.clone()),
        run(parquet_file(&users(), false))
    );
    assert_eq!(
        table.schema().field_with_name("city").unwrap().data_type(),
        &DataType::Utf8
    );
    let cities: Vec<&str> = table
        .column(2)
        .as_string::<i32>()
        .iter()
        .flatten()
        .collect();
    assert_eq!(cities, ["Austin", "Boston", "Chicago", "Denver"]);
    assert_eq!(enriched.num_rows(), 4);
}
