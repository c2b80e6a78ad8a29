//! Where a run with history spends its time, phase by phase, on files of one's own (the
//! bench's `10m` workload, say): the run without history, then with it (`[history]`), and
//! the Parquet writes of the outputs each adds, each the median of RUNS.
//!
//! ```text
//! cargo run --release -p tidemark-core --example history_bench -- SNAPSHOT CHANGES [RUNS]
//! ```
//!
//! The core alone, without the program's reading and writing of files: for profiling the
//! history's own work (`scripts/bench.sh` with `HISTORY=1` measures the whole program).

use std::time::{Duration, Instant};

use tidemark_core::pipeline::{self, Inputs, Options, Output};
use tidemark_core::spec::HistorySpec;
use tidemark_core::{InputFile, TableSpec, encode};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [snapshot, changes, rest @ ..] = args.as_slice() else {
        panic!("usage: history_bench SNAPSHOT CHANGES [RUNS]");
    };
    let runs: usize = rest
        .first()
        .map_or(3, |r| r.parse().expect("RUNS is a number"));
    let file = |path: &str| {
        let name = std::path::Path::new(path)
            .file_name()
            .unwrap()
            .to_string_lossy();
        InputFile::new(
            name.to_string(),
            std::fs::read(path).expect("a readable file"),
        )
    };
    let (snapshot, changes) = (file(snapshot), file(changes));
    let options = Options {
        as_of: chrono::NaiveDate::from_ymd_opt(2021, 10, 18),
        ..Default::default()
    };
    let run = |spec: &TableSpec| -> (Duration, Output) {
        let inputs = Inputs {
            snapshot: vec![snapshot.clone()],
            changes: vec![changes.clone()],
            ..Default::default()
        };
        let started = Instant::now();
        let out = pipeline::run(spec, inputs, &options, &mut |_| {}).expect("the files apply");
        (started.elapsed(), out)
    };
    let timed = |f: &dyn Fn() -> usize| {
        let started = Instant::now();
        let bytes = f();
        (started.elapsed(), bytes)
    };
    let plain = TableSpec::users();
    let with_history = TableSpec {
        history: Some(HistorySpec::default()),
        ..TableSpec::users()
    };
    let mut rows: Vec<[Duration; 5]> = Vec::new();
    for _ in 0..runs {
        let (without, out) = run(&plain);
        let enriched = out.enriched.as_ref().expect("features");
        let (write_enriched, _) = timed(&|| encode::to_parquet(enriched).unwrap().len());
        drop(out);
        let (with, out) = run(&with_history);
        let history = out.history.as_ref().expect("history");
        let (write_history, history_bytes) =
            timed(&|| encode::to_parquet(&history.versions).unwrap().len());
        let (write_log, log_bytes) =
            timed(&|| encode::to_parquet(&history.log.rows).unwrap().len());
        println!(
            "history {} rows ({history_bytes} bytes), change log {} rows ({log_bytes} bytes)",
            history.versions.num_rows(),
            history.log.rows.num_rows()
        );
        rows.push([without, write_enriched, with, write_history, write_log]);
    }
    let median = |i: usize| {
        let mut xs: Vec<Duration> = rows.iter().map(|r| r[i]).collect();
        xs.sort();
        xs[xs.len() / 2].as_secs_f64()
    };
    let [without, enriched, with, history, log] = [0, 1, 2, 3, 4].map(median);
    println!("run without history {without:.2} s, + enriched write {enriched:.2} s");
    println!(
        "run with history    {with:.2} s, + history write {history:.2} s, change log write {log:.2} s"
    );
    println!(
        "ratio (run and writes): {:.2}x",
        (with + enriched + history + log) / (without + enriched)
    );
}
