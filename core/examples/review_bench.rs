//! How long the review queries take on a large diff and table: key search (exact, prefix),
//! column filters, sorts and facets, each the median of 5 runs.
//!
//! ```text
//! cargo run --release -p tidemark-core --example review_bench -- [ROWS]   # default 1,000,000
//! ```
//!
//! The table has ROWS users; the changes insert ROWS/2 more and update ROWS/2, so the diff has
//! ROWS rows (half inserted, half updated).

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use tidemark_core::pipeline::{self, Inputs};
use tidemark_core::review::{self, ColumnRef, Filter, Rows, Sort, SortBy};
use tidemark_core::{ChangeKind, InputFile, TableSpec};

const CITIES: [&str; 8] = [
    "New York",
    "Los Angeles",
    "Chicago",
    "Houston",
    "Phoenix",
    "Denver",
    "Seattle",
    "Nashville",
];

fn main() {
    let rows: usize = std::env::args()
        .nth(1)
        .map(|n| n.replace(['_', ','], "").parse().expect("ROWS is a number"))
        .unwrap_or(1_000_000);
    let (snapshot, changes) = workload(rows);
    let started = Instant::now();
    let inputs = Inputs {
        snapshot: vec![InputFile::new("LOAD00000001.csv", snapshot)],
        changes: vec![InputFile::new("20211018-223933563.csv", changes)],
        ..Default::default()
    };
    let out = pipeline::run(
        &TableSpec::users(),
        inputs,
        &Default::default(),
        &mut |_| {},
    )
    .expect("the workload applies");
    println!(
        "workload: {rows} users, a diff of {} rows (applied in {:.2} s)",
        out.diff.len(),
        started.elapsed().as_secs_f64()
    );
    let diff = Rows::Diff(&out.diff);
    let key = ["user_id".to_string()];
    let table = Rows::Table {
        batch: &out.table,
        key: &key,
    };
    // An updated key (even), a third of the way in.
    let probe = (rows / 3 / 2 * 2).to_string();
    let city = |side| Filter::Equals {
        column: ColumnRef {
            name: "city".into(),
            side,
        },
        value: "Denver".into(),
    };
    let select = selecting;
    let cases: Vec<(&str, Case)> = vec![
        (
            "diff: key search, exact",
            Box::new(select(diff, vec![Filter::key(&probe)])),
        ),
        (
            "diff: key search, prefix",
            Box::new(select(diff, vec![Filter::key_prefix(&probe[..3])])),
        ),
        (
            "table: key search, exact",
            Box::new(select(table, vec![Filter::key(&probe)])),
        ),
        (
            "diff: city after = Denver",
            Box::new(select(diff, vec![city(review::Side::After)])),
        ),
        (
            "diff: city (shown) = Denver",
            Box::new(select(diff, vec![city(review::Side::Shown)])),
        ),
        (
            "diff: name contains \"ray 12\"",
            Box::new(select(
                diff,
                vec![Filter::Contains {
                    column: ColumnRef::shown("name"),
                    text: "ray 12".into(),
                }],
            )),
        ),
        (
            "table: last_login in 2021-01-01 … 2021-06-30",
            Box::new(select(
                table,
                vec![Filter::Range {
                    column: ColumnRef::shown("last_login"),
                    min: Some("2021-01-01".into()),
                    max: Some("2021-06-30".into()),
                }],
            )),
        ),
        (
            "diff: kind updated, city changed",
            Box::new(select(
                diff,
                vec![
                    Filter::Kind {
                        kind: ChangeKind::Updated,
                    },
                    Filter::Changed {
                        column: "city".into(),
                    },
                ],
            )),
        ),
        (
            "diff: facets, no filter",
            Box::new(|| review::facets(&out.diff, &[]).unwrap().files.len()),
        ),
        (
            "diff: sort all by name after",
            Box::new(sorted(diff, SortBy::Column(ColumnRef::after("name")))),
        ),
        (
            "diff: sort all by source",
            Box::new(sorted(diff, SortBy::Source)),
        ),
        (
            "table: sort all by city",
            Box::new(sorted(table, SortBy::Column(ColumnRef::shown("city")))),
        ),
        (
            "table: sort all by key",
            Box::new(sorted(table, SortBy::Column(ColumnRef::shown("user_id")))),
        ),
        (
            "table: sort all by last_login",
            Box::new(sorted(
                table,
                SortBy::Column(ColumnRef::shown("last_login")),
            )),
        ),
    ];
    let mut report = String::new();
    for (name, case) in &cases {
        let mut times: Vec<Duration> = (0..5)
            .map(|_| {
                let started = Instant::now();
                std::hint::black_box(case());
                started.elapsed()
            })
            .collect();
        times.sort();
        let found = case();
        writeln!(
            report,
            "{name:<46} {:>8.1} ms   ({found} rows)",
            times[2].as_secs_f64() * 1e3
        )
        .unwrap();
    }
    print!("{report}");
}

/// A measured query: it returns how many rows it found.
type Case<'a> = Box<dyn Fn() -> usize + 'a>;

fn selecting(rows: Rows<'_>, filters: Vec<Filter>) -> impl Fn() -> usize + '_ {
    move || review::select(rows, &filters).unwrap().len()
}

fn sorted(rows: Rows<'_>, by: SortBy) -> impl Fn() -> usize + '_ {
    move || {
        let all = (0..rows.len() as u32).collect();
        let sort = Sort {
            by: by.clone(),
            descending: true,
        };
        review::order(rows, all, &sort).unwrap().len()
    }
}

/// A DMS full load of `rows` users and one change file inserting `rows / 2` and updating
/// `rows / 2` of them (every other one: a new city, a later login).
fn workload(rows: usize) -> (Vec<u8>, Vec<u8>) {
    let mut snapshot = String::with_capacity(rows * 40);
    for id in 0..rows {
        let day = 1 + id % 28;
        let month = 1 + id % 12;
        writeln!(
            snapshot,
            "{id},User Ray {id},{},2021-{month:02}-{day:02}",
            CITIES[id % CITIES.len()]
        )
        .unwrap();
    }
    let mut changes = String::with_capacity(rows * 40);
    for i in 0..rows / 2 {
        let id = rows + i;
        writeln!(
            changes,
            "I,{id},New User {id},{},2021-10-17",
            CITIES[id % CITIES.len()]
        )
        .unwrap();
        let id = 2 * i;
        let city = CITIES[(id + 1 + id / 16) % CITIES.len()];
        writeln!(changes, "U,{id},User Ray {id},{city},2021-10-18").unwrap();
    }
    (snapshot.into_bytes(), changes.into_bytes())
}
