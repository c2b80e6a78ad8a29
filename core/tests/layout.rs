//! How Tidemark holds a table in memory is its own business: text a Parquet snapshot stores
//! dictionary-encoded stays a dictionary, text a CSV snapshot repeats becomes one, and every
//! output declares the table's plain types.

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

/// `rows` users with unique names in four cities, and the same table as a DMS full-load CSV.
fn users_in_four_cities(rows: i64) -> (RecordBatch, String) {
    let cities = ["Austin", "Boston", "Chicago", "New York"];
    let ids: Vec<i64> = (1..=rows).collect();
    let names: Vec<String> = ids.iter().map(|i| format!("user {i}")).collect();
    let city_of = |i: i64| cities[i as usize % cities.len()];
    // 2021-06-22 onwards, a day per user.
    let days: Vec<i32> = ids.iter().map(|&i| 18799 + i as i32).collect();
    let batch = RecordBatch::try_from_iter([
        (
            "user_id",
            Arc::new(Int64Array::from(ids.clone())) as ArrayRef,
        ),
        ("name", Arc::new(StringArray::from(names.clone()))),
        (
            "city",
            Arc::new(StringArray::from_iter_values(
                ids.iter().map(|&i| city_of(i)),
            )),
        ),
        ("last_login", Arc::new(Date32Array::from(days))),
    ])
    .unwrap();
    let csv = ids
        .iter()
        .map(|&i| {
            let day =
                chrono::NaiveDate::from_ymd_opt(2021, 6, 21).unwrap() + chrono::Duration::days(i);
            format!("{i},{},{},{day}\n", names[i as usize - 1], city_of(i))
        })
        .collect();
    (batch, csv)
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
        change_log: None,
        next_snapshot: Vec::new(),
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

#[test]
fn text_a_csv_snapshot_repeats_is_held_as_a_dictionary_and_unique_text_stays_plain() {
    let (_, csv) = users_in_four_cities(40);
    let types = text_column_types(&InputFile::new("LOAD00000001.csv", csv));
    assert_eq!(types, [DataType::Int64, DataType::Utf8, dictionary_text()]);
}

#[test]
fn a_gzipped_csv_snapshot_is_sampled_as_its_text() {
    use std::io::Write;
    let (_, csv) = users_in_four_cities(40);
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gzip.write_all(csv.as_bytes()).unwrap();
    let file = InputFile::new("LOAD00000001.csv.gz", gzip.finish().unwrap());
    assert_eq!(
        text_column_types(&file),
        [DataType::Int64, DataType::Utf8, dictionary_text()]
    );
}

#[test]
fn a_run_on_a_csv_snapshot_writes_the_table_a_run_on_its_parquet_writes() {
    let (batch, csv) = users_in_four_cities(40);
    let from_csv = run(InputFile::new("LOAD00000001.csv", csv));
    assert_eq!(from_csv, run(parquet_file(&batch, false)));
    let (table, enriched) = from_csv;
    // Rows 2 and 3 changed, 3 left, 5 was already there: its insert is taken as an update.
    assert_eq!(table.num_rows(), 39);
    assert_eq!(enriched.num_rows(), 39);
    assert_eq!(
        table.schema().field_with_name("city").unwrap().data_type(),
        &DataType::Utf8
    );
}

#[test]
fn a_csv_snapshot_whose_text_repeats_only_after_its_sample_is_read_all_the_same() {
    // Unique cities in the first records (held plain), then a single city: the guess is about
    // memory and time, the table is the same.
    let rows: i64 = (1 << 16) + 100;
    let csv: String = (1..=rows)
        .map(|i| {
            let city = if i <= 1 << 16 {
                format!("Town {i}")
            } else {
                "Austin".into()
            };
            format!("{i},n,{city},2021-06-22\n")
        })
        .collect();
    let file = InputFile::new("LOAD00000001.csv", csv);
    assert_eq!(text_column_types(&file)[2], DataType::Utf8);
    let (table, _) = run(file);
    let cities = table.column(2).as_string::<i32>();
    // Every row but the one deleted (3), the last in the single city.
    assert_eq!(table.num_rows() as i64, rows - 1);
    assert_eq!(cities.value(table.num_rows() - 1), "Austin");
}
