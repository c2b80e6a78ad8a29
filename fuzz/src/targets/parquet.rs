//! Parquet snapshots and change files: files the fuzzer writes itself (random Arrow types and
//! values in the seed table's columns, random row groups and encodings), then mutated byte by
//! byte, in the footer above all, where the file describes itself. Each is decoded as a
//! snapshot and as a change file of the `users` table, as a snapshot of a table whose columns
//! come from the file, and read whole (as state files are).

use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, BinaryArray, BooleanArray, Date32Array, Date64Array, Decimal128Array,
    DictionaryArray, Float32Array, Float64Array, Int8Array, Int16Array, Int32Array, Int64Array,
    RecordBatch, StringArray, TimestampMicrosecondArray, TimestampMillisecondArray,
    TimestampNanosecondArray, TimestampSecondArray, UInt32Array, UInt64Array,
};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use tidemark_core::decode::{decode_changes, decode_snapshot, read_parquet, table_schema};
use tidemark_core::{InputFile, TableSpec};

use super::{Target, outcome};
use crate::mutate;
use crate::rng::Rng;

/// A table whose columns are the snapshot file's.
const COLUMNS_FROM_FILE: &str = "[table]\nname = \"users\"\nkey = [\"user_id\"]\n";

const NAMES: &[&str] = &[
    "Op",
    "ts",
    "user_id",
    "name",
    "city",
    "last_login",
    "USER_ID",
    "extra",
    "",
];

const TEXT: &[&str] = &[
    "",
    "I",
    "U",
    "D",
    "u",
    "X",
    "0",
    "7",
    "007",
    "+7",
    "-5",
    "1.5",
    "abc",
    "NaN",
    "9223372036854775808",
    "2021-10-17",
    "2021-02-30",
    "2021-1-1",
    "9999-12-31",
    "2021-10-17 19:43:24.349",
    "2021-10-17T19:43:24.123456789",
    "20211017194324349000000000000000123",
    "Austin",
    "Nashville-Davidson",
    "\0",
    "é",
    "true",
];

const INTEGERS: &[i64] = &[
    0,
    1,
    -1,
    7,
    2147483647,
    2147483648,
    -2147483649,
    i64::MAX,
    i64::MIN,
    1 << 53,
    (1 << 53) + 1,
    18918,
    -719_528,
    86_400_000,
];

const FLOATS: &[f64] = &[
    0.0,
    -0.0,
    1.0,
    1.5,
    -7.0,
    f64::NAN,
    f64::INFINITY,
    1e300,
    9007199254740993.0,
    18918.0,
];

pub struct Parquet {
    users: TableSpec,
    columns_from_file: TableSpec,
}

impl Parquet {
    pub fn new() -> Parquet {
        Parquet {
            users: TableSpec::users(),
            columns_from_file: TableSpec::from_toml(COLUMNS_FROM_FILE).expect("a valid spec"),
        }
    }
}

/// Some value of `items`, or a null one time in `nulls`.
fn maybe<T: Copy>(rng: &mut Rng, items: &[T], nulls: usize) -> Option<T> {
    (!rng.one_in(nulls)).then(|| *rng.pick(items))
}

fn random_column(rng: &mut Rng, rows: usize) -> ArrayRef {
    let nulls = 2 + rng.below(20);
    let ints: Vec<Option<i64>> = (0..rows).map(|_| maybe(rng, INTEGERS, nulls)).collect();
    let text: Vec<Option<&str>> = (0..rows).map(|_| maybe(rng, TEXT, nulls)).collect();
    let floats: Vec<Option<f64>> = (0..rows).map(|_| maybe(rng, FLOATS, nulls)).collect();
    let tz = rng.one_in(3).then_some("+02:00");
    match rng.below(17) {
        0 | 1 => Arc::new(Int64Array::from(ints)),
        2 => Arc::new(Int32Array::from_iter(
            ints.iter().map(|v| v.map(|v| v as i32)),
        )),
        3 => Arc::new(UInt64Array::from_iter(
            ints.iter().map(|v| v.map(|v| v as u64)),
        )),
        4 => Arc::new(Float64Array::from(floats)),
        5 => Arc::new(Float32Array::from_iter(
            floats.iter().map(|v| v.map(|v| v as f32)),
        )),
        6 | 7 => Arc::new(StringArray::from(text)),
        8 => Arc::new(text.into_iter().collect::<DictionaryArray<Int32Type>>()),
        9 => Arc::new(Date32Array::from_iter(
            ints.iter().map(|v| v.map(|v| v as i32)),
        )),
        10 => Arc::new(Date64Array::from(ints)),
        11 => Arc::new(TimestampMicrosecondArray::from(ints).with_timezone_opt(tz)),
        12 => Arc::new(TimestampNanosecondArray::from(ints).with_timezone_opt(tz)),
        13 => match rng.below(2) {
            0 => Arc::new(TimestampSecondArray::from(ints)),
            _ => Arc::new(TimestampMillisecondArray::from(ints)),
        },
        14 => {
            let precision = 1 + rng.below(38) as u8;
            let scale = rng.below(precision as usize + 1) as i8;
            let values = Decimal128Array::from_iter(ints.iter().map(|v| v.map(i128::from)));
            match values.with_precision_and_scale(precision, scale) {
                Ok(values) => Arc::new(values),
                Err(_) => Arc::new(Int64Array::from(vec![0; rows])),
            }
        }
        15 => Arc::new(BooleanArray::from_iter(
            ints.iter().map(|v| v.map(|v| v > 0)),
        )),
        _ => match rng.below(4) {
            0 => Arc::new(Int8Array::from_iter(
                ints.iter().map(|v| v.map(|v| v as i8)),
            )),
            1 => Arc::new(Int16Array::from_iter(
                ints.iter().map(|v| v.map(|v| v as i16)),
            )),
            2 => Arc::new(UInt32Array::from_iter(
                ints.iter().map(|v| v.map(|v| v as u32)),
            )),
            _ => Arc::new(BinaryArray::from_iter(
                text.iter().map(|v| v.map(str::as_bytes)),
            )),
        },
    }
}

/// The seed table's columns (and sometimes an operation, a sequence or an extra column),
/// each of a random type, in random row groups and encodings.
fn random_file(rng: &mut Rng) -> Option<Vec<u8>> {
    let rows = rng.below(12);
    let mut names: Vec<&str> = vec!["user_id", "name", "city", "last_login"];
    if rng.below(2) == 0 {
        names.insert(0, "Op");
    }
    if rng.one_in(3) {
        names.insert(1, "ts");
    }
    if rng.one_in(4) {
        let at = rng.below(names.len());
        names[at] = *rng.pick(NAMES);
    }
    if rng.one_in(6) {
        names.remove(rng.below(names.len()));
    }
    let columns: Vec<(&str, ArrayRef)> = names
        .iter()
        .map(|&n| {
            // Mostly the type the seed table has, so decoding goes on past the first column.
            let column: ArrayRef = match (n, rng.below(3)) {
                ("Op", 0 | 1) => {
                    let ops: Vec<Option<&str>> = (0..rows)
                        .map(|_| maybe(rng, &["I", "U", "D"], 30))
                        .collect();
                    Arc::new(StringArray::from(ops))
                }
                ("name" | "city", 0 | 1) => {
                    let text: Vec<Option<&str>> = (0..rows).map(|_| maybe(rng, TEXT, 5)).collect();
                    Arc::new(StringArray::from(text))
                }
                _ => random_column(rng, rows),
            };
            (n, column)
        })
        .collect();
    let batch = RecordBatch::try_from_iter(columns).ok()?;
    let properties = WriterProperties::builder()
        .set_dictionary_enabled(rng.below(2) == 0)
        .set_max_row_group_row_count(Some(1 + rng.below(6)))
        .build();
    let mut writer = ArrowWriter::try_new(Vec::new(), batch.schema(), Some(properties)).ok()?;
    writer.write(&batch).ok()?;
    writer.into_inner().ok()
}

/// A random file, from a generator that is not the code under test: its panics are not
/// findings, and are left out.
fn generate(rng: &mut Rng) -> Option<Vec<u8>> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| random_file(rng)))
        .ok()
        .flatten()
}

impl Target for Parquet {
    fn name(&self) -> &'static str {
        "parquet"
    }

    fn seeds(&self) -> Vec<Vec<u8>> {
        // The seed's full load, as the Parquet file a run writes from it...
        let users = TableSpec::users();
        let load = [InputFile::new(
            "LOAD00000001.csv",
            super::seed_files()[0].1.to_vec(),
        )];
        let mut seeds = Vec::new();
        let snapshot =
            table_schema(&users, &load).and_then(|schema| decode_snapshot(&users, &schema, &load));
        if let Ok(bytes) = snapshot.and_then(|s| tidemark_core::encode::to_parquet(&s.rows)) {
            seeds.push(bytes);
        }
        // ...and files of random types, the same each run.
        let mut rng = Rng::new(16);
        seeds.extend((0..24).filter_map(|_| generate(&mut rng)));
        seeds
    }

    fn mutate(&self, input: &[u8], pool: &[Vec<u8>], rng: &mut Rng) -> Vec<u8> {
        match rng.below(8) {
            0 | 1 => generate(rng).unwrap_or_else(|| input.to_vec()),
            2 | 3 if input.len() > 12 => {
                // The footer: its metadata, then its length and `PAR1`.
                let footer = (8 + rng.below(256)).min(input.len());
                let (body, tail) = input.split_at(input.len() - footer);
                let mut out = body.to_vec();
                out.extend(mutate::bytes(tail, &[], &[], rng));
                out
            }
            _ => mutate::bytes(input, pool, &[b"PAR1"], rng),
        }
    }

    fn run(&self, input: &[u8]) -> String {
        let file = InputFile::new("20211017-194324349.parquet", input.to_vec());
        let files = [file.clone()];
        let mut outcomes = Vec::new();
        for spec in [&self.users, &self.columns_from_file] {
            let schema = table_schema(spec, &files);
            let snapshot = schema
                .clone()
                .and_then(|schema| decode_snapshot(spec, &schema, &files));
            outcomes.push(outcome(&snapshot, |s| s.rows.num_rows()));
            if let Ok(schema) = schema {
                let changes = decode_changes(spec, &schema, &file);
                outcomes.push(outcome(&changes, |c| c.len()));
            }
        }
        outcomes.push(outcome(&read_parquet(&file), |b| b.num_columns()));
        outcomes.join(" ")
    }

    fn max_len(&self) -> usize {
        256 << 10
    }
}
