//! DMS CSV: a snapshot (full load) and a change file, decoded under two specs (the seed's
//! `users` table, and a table of every column type with a `;` dialect, a NULL text and a
//! numbered sequence), and applied with features computed, as `tidemark apply` does.

use std::io::Write;

use tidemark_core::decode::{decode_snapshot, table_schema};
use tidemark_core::pipeline::{self, Inputs, Options};
use tidemark_core::{InputFile, TableSpec};

use super::{Target, outcome, seed_files};
use crate::mutate;
use crate::rng::Rng;

/// Every column type, a composite key, a `;` dialect with a NULL text, a numbered sequence.
const DIALECT_SPEC: &str = r#"
[table]
name = "orders"
key = ["region", "order_no"]
columns = [
  { name = "region", type = "string" },
  { name = "order_no", type = "int32" },
  { name = "amount", type = "float64" },
  { name = "paid", type = "boolean" },
  { name = "ordered_on", type = "date" },
  { name = "at", type = "timestamp" },
  { name = "units", type = "int64" },
]
[cdc]
op_column = "Op"
sequence = { column = "seq", kind = "number" }
[csv]
delimiter = ";"
null = "NULL"
[features]
group = "region"
date = "ordered_on"
window_days = 7
[features.output]
rank = "recency_rank"
rate = "share_last_week"
count = "orders_per_region"
"#;

const DIALECT_LOAD: &str = "north;1;9.5;true;2021-10-01;2021-10-01 10:00:00;3\n\
    south;2;NULL;f;2021-09-30;2021-09-30 23:59:59.999999;NULL\n";

const DIALECT_CHANGES: &str = "Op;seq;region;order_no;amount;paid;ordered_on;at;units\n\
    I;20211017194324349000000000000000123;east;3;1e3;1;2021-10-17;2021-10-17T19:43:24.349;7\n\
    U;20211017194324349000000000000000124;north;1;-0.5;FALSE;2021-10-16;2021-10-16 00:00:00;-9\n\
    D;20211017194324349000000000000000125;south;2;NULL;NULL;NULL;NULL;NULL\n";

/// Fields that mean something to a decoder: operations, edge numbers, dates that are not,
/// quotes, NUL, long text.
const FIELDS: &[&[u8]] = &[
    b"",
    b"I",
    b"U",
    b"D",
    b"i",
    b"d",
    b"X",
    b" U ",
    b"0",
    b"7",
    b"007",
    b"+7",
    b"-5",
    b"-0",
    b"2147483647",
    b"2147483648",
    b"9223372036854775807",
    b"9223372036854775808",
    b"-9223372036854775809",
    b"1.5",
    b"1e3",
    b"1e400",
    b"NaN",
    b"inf",
    b"-inf",
    b"true",
    b"t",
    b"2021-10-17",
    b"2021-02-29",
    b"2020-02-29",
    b"2021-02-30",
    b"0000-01-01",
    b"9999-12-31",
    b"2021-1-1",
    b"2021-10-17 19:43:24.349000",
    b"2021-10-17T19:43:24.123456789",
    b"2021-10-17 24:00:00",
    b"2021-10-17 19:43:24.",
    b"20211017194324349000000000000000123",
    b"999999999999999999999999999999999999999",
    b"\"\"",
    b"\"a,b\"",
    b"\"a\nb\"",
    b"\"",
    b"\"unclosed",
    b"a\"b",
    b"NULL",
    b"Austin",
    b"Nashville-Davidson",
    b"New York",
    b"\0",
    b"\xc3\xa9",
    b"\xef\xbb\xbf",
    b"\xff",
    b"Op",
    b"user_id",
    b"last_login",
    b"ts",
    b"seq",
    b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
];

/// Whole records: headers with and without a sequence, an empty line.
const RECORDS: &[&[u8]] = &[
    b"Op,user_id,name,city,last_login",
    b"Op,ts,user_id,name,city,last_login",
    b"user_id,name,city,last_login",
    b"U,2021-10-17 19:43:24.349,6,Mindy George,Los Angeles,2021-10-15",
    b"",
    b"\r",
    b"Op;seq;region;order_no;amount;paid;ordered_on;at;units",
];

pub struct Csv {
    specs: Vec<(TableSpec, Vec<u8>)>,
    /// Built once: the bundled US cities lookup takes longer to load than a run takes.
    options: Options,
}

impl Csv {
    pub fn new() -> Csv {
        let users_load = seed_files()[0].1.to_vec();
        Csv {
            specs: vec![
                (TableSpec::users(), users_load),
                (
                    TableSpec::from_toml(DIALECT_SPEC).expect("a valid spec"),
                    DIALECT_LOAD.as_bytes().to_vec(),
                ),
            ],
            options: Options {
                lookup: Some(tidemark_core::features::lookup::Lookup::us_cities()),
                ..Options::default()
            },
        }
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("writes to memory");
    encoder.finish().expect("writes to memory")
}

impl Target for Csv {
    fn name(&self) -> &'static str {
        "csv"
    }

    fn seeds(&self) -> Vec<Vec<u8>> {
        let mut seeds: Vec<Vec<u8>> = seed_files().iter().map(|(_, b)| b.to_vec()).collect();
        let mut with_header = b"Op,user_id,name,city,last_login\n".to_vec();
        with_header.extend_from_slice(seed_files()[1].1);
        seeds.push(with_header);
        seeds.push(DIALECT_LOAD.as_bytes().to_vec());
        seeds.push(DIALECT_CHANGES.as_bytes().to_vec());
        seeds.push(gzip(seed_files()[2].1));
        seeds
    }

    fn mutate(&self, input: &[u8], pool: &[Vec<u8>], rng: &mut Rng) -> Vec<u8> {
        match rng.below(4) {
            0 => mutate::pieces_of(input, b'\n', RECORDS, rng),
            1 => {
                // One field of one record.
                let mut lines = mutate::pieces(input, b'\n');
                if lines.is_empty() {
                    return FIELDS[1].to_vec();
                }
                let at = rng.below(lines.len());
                let separator = if lines[at].contains(&b';') {
                    b';'
                } else {
                    b','
                };
                lines[at] = mutate::pieces_of(&lines[at], separator, FIELDS, rng);
                lines.concat()
            }
            2 if rng.one_in(8) => gzip(input),
            _ => mutate::bytes(input, pool, FIELDS, rng),
        }
    }

    fn run(&self, input: &[u8]) -> String {
        let gzipped = input.starts_with(&[0x1f, 0x8b]);
        let suffix = if gzipped { ".csv.gz" } else { ".csv" };
        let mut outcomes = Vec::new();
        for (spec, load) in &self.specs {
            // The input as the snapshot.
            let snapshot = [InputFile::new(
                format!("LOAD00000001{suffix}"),
                input.to_vec(),
            )];
            let decoded = table_schema(spec, &snapshot)
                .and_then(|schema| decode_snapshot(spec, &schema, &snapshot));
            outcomes.push(outcome(&decoded, |s| s.rows.num_rows()));
            // The input as a change file, applied to a valid snapshot, features and all.
            let inputs = Inputs {
                snapshot: vec![InputFile::new("LOAD00000001.csv", load.clone())],
                changes: vec![InputFile::new(
                    format!("20211017-194324349{suffix}"),
                    input.to_vec(),
                )],
                ..Default::default()
            };
            let run = pipeline::run(spec, inputs, &self.options, &mut |_| {});
            outcomes.push(outcome(&run, |o| o.table.num_rows()));
        }
        outcomes.join(" ")
    }
}
