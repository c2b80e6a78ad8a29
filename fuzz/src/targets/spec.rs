//! Table specs (`TableSpec::from_toml`). A spec that is accepted is then used: the seed run
//! through it, features and all, as `tidemark apply --spec` would. A spec is trusted input
//! once read, so what it lets through must not panic later (a huge `window_days` once did).

use tidemark_core::pipeline::{self, Inputs, Options};
use tidemark_core::{InputFile, TableSpec};

use super::{Target, outcome, seed_files};
use crate::mutate;
use crate::rng::Rng;

/// The spec of the README, every setting used.
const README_SPEC: &str = r#"[table]
name = "orders"
key = ["region", "order_no"]
columns = [
  { name = "region", type = "string" },
  { name = "order_no", type = "int32" },
  { name = "shop", type = "string" },
  { name = "ordered_on", type = "date" },
]
[cdc]
op_column = "Op"
sequence = { column = "ts", kind = "timestamp" }
[csv]
delimiter = ";"
null = "NULL"
header = "auto"
[features]
group = "shop"
date = "ordered_on"
window_days = 7
[features.output]
lookup = "region_name"
rank = "recency_rank"
rate = "share_last_week"
count = "orders_per_shop"
"#;

/// Values for any setting: numbers at the edges of their types, strings that are not what a
/// setting wants, lists and tables where text is expected.
const VALUES: &[&[u8]] = &[
    b"0",
    b"1",
    b"-1",
    b"90",
    b"3652424",
    b"3652425",
    b"100000000",
    b"4294967295",
    b"4294967296",
    b"9223372036854775808",
    b"1e3",
    b"nan",
    b"\"\"",
    b"\";\"",
    b"\"\\t\"",
    b"\"\\u0000\"",
    b"\"\xc3\xa9\"",
    b"\"ab\"",
    b"\"user_id\"",
    b"\"city\"",
    b"\"last_login\"",
    b"\"int32\"",
    b"\"date\"",
    b"\"decimal\"",
    b"\"number\"",
    b"\"present\"",
    b"\"absent\"",
    b"[]",
    b"[\"user_id\", \"user_id\"]",
    b"{}",
    b"true",
    b"1979-05-27",
];

/// Lines that add a setting (or repeat one).
const LINES: &[&[u8]] = &[
    b"window_days = 4294967295\n",
    b"window_days = 0\n",
    b"[features]\n",
    b"[cdc]\n",
    b"sequence = { column = \"ts\", kind = \"number\" }\n",
    b"[csv]\n",
    b"delimiter = \"\\n\"\n",
    b"delimiter = \"\\\"\"\n",
    b"null = \"\"\n",
    b"header = \"present\"\n",
    b"key = []\n",
    b"columns = []\n",
    b"rename = { \"Austin\" = \"Boston\", \"Boston\" = \"Austin\" }\n",
    b"lookup = \"city\"\n",
    b"rank = \"city\"\n",
];

pub struct Spec {
    options: Options,
    seed: Vec<InputFile>,
}

impl Spec {
    pub fn new() -> Spec {
        let seed = seed_files()
            .into_iter()
            .map(|(name, bytes)| InputFile::new(name, bytes.to_vec()))
            .collect();
        Spec {
            options: Options {
                lookup: Some(tidemark_core::features::lookup::Lookup::us_cities()),
                ..Options::default()
            },
            seed,
        }
    }
}

impl Target for Spec {
    fn name(&self) -> &'static str {
        "spec"
    }

    fn seeds(&self) -> Vec<Vec<u8>> {
        vec![
            include_bytes!("../../../core/data/users.toml").to_vec(),
            README_SPEC.as_bytes().to_vec(),
            b"[table]\nname = \"users\"\nkey = [\"user_id\"]\n".to_vec(),
        ]
    }

    fn mutate(&self, input: &[u8], pool: &[Vec<u8>], rng: &mut Rng) -> Vec<u8> {
        match rng.below(4) {
            0 => mutate::pieces_of(input, b'\n', LINES, rng),
            1 => {
                // The value of one `name = value` line.
                let mut lines = mutate::pieces(input, b'\n');
                let settings: Vec<usize> = (0..lines.len())
                    .filter(|&i| lines[i].contains(&b'='))
                    .collect();
                if settings.is_empty() {
                    return mutate::bytes(input, pool, VALUES, rng);
                }
                let at = *rng.pick(&settings);
                let equals = lines[at].iter().position(|&b| b == b'=').unwrap_or(0);
                let mut line = lines[at][..=equals].to_vec();
                line.push(b' ');
                line.extend_from_slice(rng.pick::<&[u8]>(VALUES));
                line.push(b'\n');
                lines[at] = line;
                lines.concat()
            }
            _ => mutate::bytes(input, pool, VALUES, rng),
        }
    }

    fn run(&self, input: &[u8]) -> String {
        // As the program reads a spec file.
        let text = String::from_utf8_lossy(input);
        let spec = match TableSpec::from_toml(&text) {
            Ok(spec) => spec,
            Err(e) => return outcome::<()>(&Err(e), |_| 0),
        };
        let _ = spec.schema();
        let inputs = Inputs {
            snapshot: self.seed[..1].to_vec(),
            changes: self.seed[1..].to_vec(),
            ..Default::default()
        };
        let run = pipeline::run(&spec, inputs, &self.options, &mut |_| {});
        format!("spec ok, run {}", outcome(&run, |o| o.table.num_rows()))
    }
}
