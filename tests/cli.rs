//! The `tidemark` program driven as a user would: real files in a folder, the command line,
//! the files it writes.

mod common;

use common::*;

#[test]
fn apply_on_the_seed_layout_writes_every_output_and_the_golden_table() {
    let s = Scratch::new();
    s.seed();
    let out = apply_seed(&s, &["--out", "out"]);
    assert_success(&out);
    assert_eq!(
        s.files_below("out"),
        [
            "out/diff.parquet",
            "out/enriched.parquet",
            "out/report.json",
            "out/snapshot.parquet"
        ]
    );
    let enriched = table_rows(&read_parquet(&s.path("out/enriched.parquet")));
    let golden = csv_rows(&std::fs::read(golden()).unwrap());
    assert_eq!(enriched.len(), 111);
    for (ours, want) in enriched.iter().zip(&golden) {
        assert_eq!(ours[..6], want[..6]);
        assert_eq!(ours[7], want[7]);
        if ours[0] != "user_id" {
            assert!(
                (ours[6].parse::<f64>().unwrap() - want[6].parse::<f64>().unwrap()).abs() < 1e-15
            );
        }
    }
    let snapshot = read_parquet(&s.path("out/snapshot.parquet"));
    assert_eq!(
        snapshot.num_columns(),
        4,
        "the new snapshot keeps the table's schema"
    );
    assert_eq!(snapshot.num_rows(), 110);
    let text = stdout(&out);
    assert!(text.contains("inserted 7, updated 3, deleted 0"), "{text}");
    assert!(text.contains("as_of 2021-10-18"), "{text}");
}

#[test]
fn json_mode_prints_the_report_that_is_also_written() {
    let s = Scratch::new();
    s.seed();
    let out = apply_seed(&s, &["--out", "out", "--json"]);
    assert_success(&out);
    let printed: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("stdout is JSON");
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s.path("out/report.json")).unwrap()).unwrap();
    for report in [&printed, &written] {
        assert_eq!(report["apply"]["outcome"]["inserted"], 7);
        assert_eq!(report["apply"]["outcome"]["updated"], 3);
        assert_eq!(report["features"]["as_of"], "2021-10-18");
        assert_eq!(
            report["changes"][0]["file"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next(),
            Some("20211017-194324349.csv")
        );
        assert!(report["timings"]["total"].as_f64().unwrap() >= 0.0);
    }
    assert_eq!(printed["apply"], written["apply"]);
}

#[test]
fn a_second_run_from_the_first_runs_output_folder_changes_nothing() {
    let s = Scratch::new();
    let (_, cdc) = s.seed();
    assert_success(&apply_seed(&s, &["--out", "run1"]));
    let again = tidemark(
        &s.path(""),
        &[
            "apply",
            "--snapshot",
            "run1",
            "--changes",
            cdc.to_str().unwrap(),
            "--out",
            "run2",
            "--json",
        ],
    );
    assert_success(&again);
    let report: serde_json::Value = serde_json::from_str(&stdout(&again)).unwrap();
    assert_eq!(report["apply"]["outcome"]["unchanged"], 10);
    assert_eq!(report["apply"]["rows_after"], 110);
    assert_eq!(
        table_rows(&read_parquet(&s.path("run1/snapshot.parquet"))),
        table_rows(&read_parquet(&s.path("run2/snapshot.parquet")))
    );
}

#[test]
fn csv_output_has_a_header_and_reads_back_as_a_snapshot() {
    let s = Scratch::new();
    let (_, cdc) = s.seed();
    assert_success(&apply_seed(
        &s,
        &["--out", "out", "--format", "csv", "--quiet"],
    ));
    let enriched = std::fs::read_to_string(s.path("out/enriched.csv")).unwrap();
    assert!(
        enriched.starts_with("user_id,name,city,last_login,state,last_login_rank_by_city,"),
        "{enriched}"
    );
    assert!(
        enriched.contains("\n11,Francis Davidson,Austin,2021-09-20,Texas,1,0.3333333333333333,3\n")
    );
    // The CSV snapshot (with its header) is the next run's input.
    let next = tidemark(
        &s.path(""),
        &[
            "apply",
            "--snapshot",
            "out/snapshot.csv",
            "--changes",
            cdc.to_str().unwrap(),
            "--out",
            "next",
            "--quiet",
        ],
    );
    assert_success(&next);
    assert!(stdout(&next).is_empty(), "--quiet prints nothing");
}

#[test]
fn the_demo_shows_the_summary_and_the_first_rows_like_the_original() {
    let s = Scratch::new();
    let out = tidemark(&s.path(""), &["demo"]);
    assert_success(&out);
    let text = stdout(&out);
    assert!(
        text.contains("users: 103 rows + 10 changes from 5 file(s) -> 110 rows"),
        "{text}"
    );
    assert!(
        text.contains("|11     |Francis Davidson |Austin   |2021-09-20|Texas"),
        "{text}"
    );
    assert!(text.contains("only showing top 10 rows of 110"), "{text}");
}

#[test]
fn a_user_lookup_table_replaces_the_default_and_unmatched_names_are_reported() {
    let s = Scratch::new();
    s.seed();
    s.write(
        "cities.csv",
        "city,state\nAustin,Lone Star\nBoston,Bay State\n",
    );
    let out = apply_seed(&s, &["--out", "out", "--lookup", "cities.csv", "--json"]);
    assert_success(&out);
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let lookup = &report["features"]["lookup"];
    assert_eq!(lookup["source"], "cities.csv");
    let unmatched: Vec<&str> = lookup["unmatched"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert!(
        unmatched.contains(&"New York") && !unmatched.contains(&"Austin"),
        "{unmatched:?}"
    );
    let rows = table_rows(&read_parquet(&s.path("out/enriched.parquet")));
    assert_eq!(rows.iter().find(|r| r[0] == "11").unwrap()[4], "Lone Star");
}

#[test]
fn another_table_gets_its_features_from_its_spec_alone() {
    let s = Scratch::new();
    s.write(
        "orders.toml",
        r#"
[table]
name = "orders"
key = ["region", "order_no"]
columns = [
  { name = "region", type = "string" },
  { name = "order_no", type = "int32" },
  { name = "shop", type = "string" },
  { name = "ordered_on", type = "date" },
  { name = "amount", type = "float64" },
]
[csv]
delimiter = ";"
null = "NULL"
[features]
group = "shop"
date = "ordered_on"
window_days = 7
[features.output]
rank = "recency_rank"
rate = "share_last_week"
count = "orders_per_shop"
"#,
    );
    s.write(
        "in/LOAD00000001.csv",
        "eu;1;north;2024-01-01;10.5\nus;1;north;2024-01-05;NULL\neu;2;south;2024-01-02;7\n",
    );
    s.write(
        "in/20240110-120000000.csv",
        "U;eu;1;north;2024-01-09;11\nI;eu;3;south;2024-01-09;1.25\nD;us;1;north;2024-01-05;NULL\n",
    );
    let out = tidemark(
        &s.path(""),
        &[
            "apply",
            "--spec",
            "orders.toml",
            "--snapshot",
            "in/LOAD00000001.csv",
            "--changes",
            "in/20240110-120000000.csv",
            "--out",
            "out",
            "--format",
            "csv",
            "--quiet",
        ],
    );
    assert_success(&out);
    let enriched = std::fs::read_to_string(s.path("out/enriched.csv")).unwrap();
    assert_eq!(
        enriched,
        "region,order_no,shop,ordered_on,amount,recency_rank,share_last_week,orders_per_shop\n\
         eu,1,north,2024-01-09,11.0,1,1.0,1\n\
         eu,2,south,2024-01-02,7.0,2,0.5,2\n\
         eu,3,south,2024-01-09,1.25,1,0.5,2\n"
    );
}

#[test]
fn changes_with_a_sequence_can_arrive_in_any_order_across_runs() {
    let s = Scratch::new();
    let (load, _) = s.seed();
    // The second file is named earlier, but its change is the newer one.
    s.write("late/20211020-000000000.csv", "U,2021-10-19 10:00:00.000000,3,Steve Goodwin,Boston,2021-10-19\nD,2021-10-19 11:00:00.000000,4,Leah Tran,Detroit,2021-04-05\n");
    s.write("early/20211019-000000000.csv", "U,2021-10-19 12:00:00.000000,3,Steve Goodwin,Denver,2021-10-19\nU,2021-10-19 09:00:00.000000,4,Leah Tran,Miami,2021-10-01\n");
    let load = load.to_str().unwrap();
    assert_success(&tidemark(
        &s.path(""),
        &[
            "apply",
            "--snapshot",
            load,
            "--changes",
            "late",
            "early",
            "--out",
            "together",
            "--quiet",
        ],
    ));
    assert_success(&tidemark(
        &s.path(""),
        &[
            "apply",
            "--snapshot",
            load,
            "--changes",
            "early",
            "--out",
            "first",
            "--quiet",
        ],
    ));
    assert_eq!(
        s.files_below("first").len(),
        5,
        "state.parquet is kept: {:?}",
        s.files_below("first")
    );
    let second = tidemark(
        &s.path(""),
        &[
            "apply",
            "--snapshot",
            "first",
            "--changes",
            "late",
            "--out",
            "second",
            "--json",
        ],
    );
    assert_success(&second);
    let together = table_rows(&read_parquet(&s.path("together/snapshot.parquet")));
    assert_eq!(
        together,
        table_rows(&read_parquet(&s.path("second/snapshot.parquet")))
    );
    let steve = together.iter().find(|r| r[0] == "3").unwrap();
    assert_eq!(
        steve[2], "Denver",
        "the newest change wins whatever the file order"
    );
    assert!(
        !together.iter().any(|r| r[0] == "4"),
        "the delete is newer than the update"
    );
    let report: serde_json::Value = serde_json::from_str(&stdout(&second)).unwrap();
    let stale = report["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "stale_change_ignored")
        .unwrap();
    assert_eq!(stale["count"], 1, "the late update of user 3 is ignored");
}

#[test]
fn a_failed_run_leaves_the_previous_outputs_untouched() {
    let s = Scratch::new();
    let (load, cdc) = s.seed();
    let (load, cdc) = (load.to_str().unwrap(), cdc.to_str().unwrap());
    assert_success(&tidemark(
        &s.path(""),
        &[
            "apply",
            "--snapshot",
            load,
            "--changes",
            cdc,
            "--out",
            "out",
            "--quiet",
        ],
    ));
    let before: Vec<(String, Vec<u8>)> = s
        .files_below("out")
        .into_iter()
        .map(|f| {
            let b = std::fs::read(s.path(&f)).unwrap();
            (f, b)
        })
        .collect();
    s.write(
        "bad/20211019-000000000.csv",
        "U,5,Wilbert Holmes,Washington,not-a-date\n",
    );
    let failed = tidemark(
        &s.path(""),
        &[
            "apply",
            "--snapshot",
            load,
            "--changes",
            cdc,
            "bad",
            "--out",
            "out",
        ],
    );
    assert!(!failed.status.success());
    let after: Vec<(String, Vec<u8>)> = s
        .files_below("out")
        .into_iter()
        .map(|f| {
            let b = std::fs::read(s.path(&f)).unwrap();
            (f, b)
        })
        .collect();
    assert_eq!(before, after);
}

#[test]
fn a_disk_that_fills_up_while_writing_leaves_the_previous_outputs_and_names_the_file() {
    let s = Scratch::new();
    let (load, cdc) = s.seed();
    assert_success(&apply_seed(&s, &["--out", "out", "--quiet"]));
    let contents = |s: &Scratch| -> Vec<(String, Vec<u8>)> {
        s.files_below("out")
            .into_iter()
            .map(|f| {
                let b = std::fs::read(s.path(&f)).unwrap();
                (f, b)
            })
            .collect()
    };
    let before = contents(&s);
    assert!(
        before.iter().any(|(_, b)| b.len() > 1024),
        "an output is larger than the limit below"
    );
    // Files limited to 1 KiB (RLIMIT_FSIZE, with SIGXFSZ ignored): writing past it fails with
    // EFBIG, as writing to a full disk fails with ENOSPC, in the middle of a file.
    let failed = std::process::Command::new("sh")
        .current_dir(s.path(""))
        .args(["-c", r#"trap '' XFSZ; ulimit -f 2 && exec "$@""#, "sh"])
        .arg(env!("CARGO_BIN_EXE_tidemark"))
        .args(["apply", "--snapshot", load.to_str().unwrap()])
        .args(["--changes", cdc.to_str().unwrap(), "--out", "out"])
        .output()
        .unwrap();
    assert!(!failed.status.success());
    let err = stderr(&failed);
    assert!(
        err.contains("cannot write ") && err.contains("File too large"),
        "{err}"
    );
    let named = [
        "snapshot.parquet",
        "enriched.parquet",
        "diff.parquet",
        "state.parquet",
    ];
    assert!(
        named.iter().any(|n| err.contains(&format!("out/{n}:"))),
        "the error names the output file: {err}"
    );
    assert_eq!(
        contents(&s),
        before,
        "no output changed, no temporary file left"
    );
}

#[test]
fn outputs_can_be_limited_to_what_is_needed() {
    let s = Scratch::new();
    let (load, _) = s.seed();
    let out = apply_seed(
        &s,
        &["--out", "out", "--outputs", "enriched,report", "--quiet"],
    );
    assert_success(&out);
    assert_eq!(
        s.files_below("out"),
        ["out/enriched.parquet", "out/report.json"]
    );
    let bad = tidemark(
        &s.path(""),
        &[
            "apply",
            "--snapshot",
            load.to_str().unwrap(),
            "--out",
            "o2",
            "--outputs",
            "everything",
        ],
    );
    assert!(!bad.status.success());
    assert!(
        stderr(&bad).contains("invalid value 'everything'"),
        "{}",
        stderr(&bad)
    );
}

/// The changes of one source transaction share its commit timestamp: equal is not older.
#[test]
fn changes_sharing_a_commit_timestamp_all_apply_in_file_and_row_order() {
    let s = Scratch::new();
    s.write("LOAD00000001.csv", "1,Ann,Austin,2021-01-01\n");
    s.write(
        "ch/20211017-100000000.csv",
        "I,2021-10-17 10:00:00.000000,2,Bob,Boston,2021-10-01\n\
         U,2021-10-17 10:00:00.000000,2,Bob,Chicago,2021-10-02\n\
         D,2021-10-17 10:00:00.000000,2,Bob,Chicago,2021-10-02\n",
    );
    let out = tidemark(
        &s.path(""),
        &[
            "apply",
            "--snapshot",
            "LOAD00000001.csv",
            "--changes",
            "ch",
            "--out",
            "out",
            "--format",
            "csv",
        ],
    );
    assert_success(&out);
    let rows = csv_rows(&std::fs::read(s.path("out/enriched.csv")).unwrap());
    let keys: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(keys, ["1"], "key 2 was inserted, updated and deleted");
    assert!(!stdout(&out).contains("older"), "{}", stdout(&out));
}

/// Over several runs, the state keeps each key's file and row beside its timestamp: a later
/// file whose change has the timestamp of one already applied applies, a replay does not.
#[test]
fn a_later_file_with_an_equal_timestamp_applies_in_a_later_run_and_a_replay_does_not() {
    let s = Scratch::new();
    s.write("LOAD00000001.csv", "1,Ann,Austin,2021-01-01\n");
    let t = "2021-10-17 10:00:00.000000";
    s.write(
        "a/20211017-100000000.csv",
        format!("I,{t},2,Bob,Boston,2021-10-01\nU,{t},2,Bob,Chicago,2021-10-02\n"),
    );
    s.write(
        "b/20211017-100001000.csv",
        format!("U,{t},2,Bob,Denver,2021-10-03\nD,{t},1,Ann,Austin,2021-01-01\n"),
    );
    let run = |snapshot: &str, changes: &str, out: &str| {
        let output = tidemark(
            &s.path(""),
            &[
                "apply",
                "--snapshot",
                snapshot,
                "--changes",
                changes,
                "--out",
                out,
                "--format",
                "csv",
            ],
        );
        assert_success(&output);
        csv_rows(&std::fs::read(s.path(&format!("{out}/enriched.csv"))).unwrap())
    };
    run("LOAD00000001.csv", "a", "one");
    let second = run("one", "b", "two");
    assert_eq!(second.len(), 2, "{second:?}");
    assert_eq!(second[1][..3], ["2", "Bob", "Denver"]);
    // The first file again, and then both: nothing changes.
    assert_eq!(run("two", "a", "three"), second);
    assert_eq!(run("three", "a", "four"), run("two", "b", "five"));
}

/// `as_of` is the date of the newest change applied over every run, kept in the state: files
/// arriving in another order over several runs give the same enriched table.
#[test]
fn as_of_over_several_runs_does_not_depend_on_the_order_files_arrive_in() {
    let s = Scratch::new();
    let (load, _) = s.seed();
    let load = load.to_str().unwrap();
    s.write(
        "newer/20211019-000000000.csv",
        "U,2021-10-19 12:00:00.000000,3,Steve Goodwin,Denver,2021-10-19\n",
    );
    s.write(
        "older/20211017-000000000.csv",
        "U,2021-10-17 12:00:00.000000,4,Leah Tran,Miami,2021-10-01\n",
    );
    let run = |snapshot: &str, changes: &str, out: &str| {
        let output = tidemark(
            &s.path(""),
            &[
                "apply",
                "--snapshot",
                snapshot,
                "--changes",
                changes,
                "--out",
                out,
                "--json",
            ],
        );
        assert_success(&output);
        let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
        report["features"]["as_of"].as_str().unwrap().to_string()
    };
    assert_eq!(run(load, "older", "o1"), "2021-10-17");
    assert_eq!(run("o1", "newer", "o2"), "2021-10-19");
    assert_eq!(run(load, "newer", "n1"), "2021-10-19");
    assert_eq!(
        run("n1", "older", "n2"),
        "2021-10-19",
        "the older file came last"
    );
    assert_eq!(
        table_rows(&read_parquet(&s.path("o2/enriched.parquet"))),
        table_rows(&read_parquet(&s.path("n2/enriched.parquet")))
    );
}

// ---------------------------------------------------------------------------------------------
// Hardening (issue #16, #18): symbolic-link loops, memory maps, and an output folder that
// switches from one run to the next in one step.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `tidemark args` in `cwd` with `env` set; killed and reported if it is not done in `limit`
/// (a run that loops forever must fail the test, not hang it).
fn tidemark_within(cwd: &Path, args: &[&str], env: &[(&str, &str)], limit: Duration) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tidemark"))
        .current_dir(cwd)
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tidemark starts");
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            child.kill().unwrap();
            let output = child.wait_with_output().unwrap();
            panic!(
                "tidemark {args:?} still running after {limit:?}; stderr:\n{}",
                stderr(&output)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

const A_MINUTE: Duration = Duration::from_secs(60);

fn json_of(output: &Output) -> serde_json::Value {
    assert_success(output);
    serde_json::from_str(&stdout(output)).expect("stdout is JSON")
}

#[cfg(unix)]
#[test]
fn a_symlink_loop_under_changes_reads_each_change_file_once() {
    let s = Scratch::new();
    let (_, cdc) = s.seed();
    std::os::unix::fs::symlink(".", cdc.join("loop")).unwrap();
    let report = json_of(&apply_seed(&s, &["--out", "out", "--json"]));
    assert_eq!(report["changes"].as_array().unwrap().len(), 5, "{report}");
    assert_eq!(report["apply"]["outcome"]["inserted"], 7);
    assert_eq!(report["apply"]["outcome"]["updated"], 3);
}

#[cfg(unix)]
#[test]
fn a_cycle_of_two_symlinks_under_changes_ends_and_reads_each_file_once() {
    let s = Scratch::new();
    let (load, _) = s.seed();
    s.write(
        "cycle/a/20211017-194324349.csv",
        std::fs::read(seed().join("20211017-194324349.csv")).unwrap(),
    );
    s.write(
        "cycle/c/20211018-223933563.csv",
        std::fs::read(seed().join("20211018-223933563.csv")).unwrap(),
    );
    std::os::unix::fs::symlink("../c", s.path("cycle/a/b")).unwrap();
    std::os::unix::fs::symlink("../a", s.path("cycle/c/d")).unwrap();
    let out = tidemark_within(
        &s.path(""),
        &[
            "apply",
            "--snapshot",
            load.to_str().unwrap(),
            "--changes",
            "cycle",
            "--out",
            "out",
            "--json",
        ],
        &[],
        A_MINUTE,
    );
    let report = json_of(&out);
    assert_eq!(report["changes"].as_array().unwrap().len(), 2, "{report}");
}

#[cfg(unix)]
#[test]
fn a_symlink_loop_in_a_snapshot_folder_reads_each_part_once() {
    let s = Scratch::new();
    let (load, cdc) = s.seed();
    s.write("parts/LOAD00000001.csv", std::fs::read(&load).unwrap());
    std::os::unix::fs::symlink(".", s.path("parts/loop")).unwrap();
    let out = tidemark_within(
        &s.path(""),
        &[
            "apply",
            "--snapshot",
            "parts",
            "--changes",
            cdc.to_str().unwrap(),
            "--out",
            "out",
            "--json",
        ],
        &[],
        A_MINUTE,
    );
    let report = json_of(&out);
    assert_eq!(report["apply"]["rows_before"], 103, "{report}");
    assert_eq!(report["apply"]["rows_after"], 110);
}

#[test]
fn no_mmap_reads_big_inputs_as_mapping_does_and_its_help_says_why() {
    let s = Scratch::new();
    let (_, cdc) = s.seed();
    write_big_load(&s);
    let run = |out: &str, extra: &[&str]| {
        let mut args = vec!["apply", "--snapshot", "big/LOAD00000001.csv"];
        args.extend_from_slice(&["--changes", cdc.to_str().unwrap(), "--out", out]);
        args.extend_from_slice(&["--format", "csv", "--quiet"]);
        args.extend_from_slice(extra);
        assert_success(&tidemark(&s.path(""), &args));
    };
    run("mapped", &[]);
    run("copied", &["--no-mmap"]);
    let mapped = std::fs::read(s.path("mapped/enriched.csv")).unwrap();
    assert!(mapped.len() > 5 << 20);
    assert!(mapped == std::fs::read(s.path("copied/enriched.csv")).unwrap());
    let help = stdout(&tidemark(&s.path(""), &["apply", "--help"]));
    assert!(
        help.contains("--no-mmap") && help.contains("SIGBUS") && help.contains("truncate"),
        "{help}"
    );
}

/// The seed, and change files with a DMS commit timestamp per row (`Op,ts,...`): user 4
/// updated at 09:00 (`seq1`), then deleted at 11:00 (`seq2`), and a late file that updates
/// user 4 at 10:00 (`late`): stale once the delete is known, newer than the first update.
fn sequenced_scenario(s: &Scratch) {
    s.seed();
    s.write(
        "seq1/20211019-000000000.csv",
        "U,2021-10-19 09:00:00.000000,4,Leah Tran,Miami,2021-10-01\n",
    );
    s.write(
        "seq2/20211020-000000000.csv",
        "D,2021-10-19 11:00:00.000000,4,Leah Tran,Miami,2021-10-01\n",
    );
    s.write(
        "late/20211021-000000000.csv",
        "U,2021-10-19 10:00:00.000000,4,Leah Tran,Boston,2021-10-01\n",
    );
}

fn apply_args<'a>(snapshot: &'a str, changes: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "apply",
        "--snapshot",
        snapshot,
        "--changes",
        changes,
        "--out",
        out,
        "--quiet",
    ]
}

/// User 4's row after the `late` file is applied to `--snapshot folder` (with the state the
/// folder holds): `None` when the folder knows of the delete at 11:00.
fn user_4_after_late(s: &Scratch, folder: &str) -> Option<Vec<String>> {
    let check = format!("check-{}", folder.replace('/', "-"));
    assert_success(&tidemark(&s.path(""), &apply_args(folder, "late", &check)));
    table_rows(&read_parquet(&s.path(&format!("{check}/snapshot.parquet"))))
        .into_iter()
        .find(|r| r[0] == "4")
}

#[test]
fn switching_to_csv_and_back_loses_no_change() {
    let s = Scratch::new();
    s.seed();
    s.write(
        "delete/20211019-000000000.csv",
        "D,11,Francis Davidson,Austin,2021-09-20\n",
    );
    s.write(
        "update/20211020-000000000.csv",
        "U,3,Steve Goodwin,Denver,2021-10-19\n",
    );
    assert_success(&apply_seed(&s, &["--out", "out", "--quiet"]));
    let mut to_csv = apply_args("out", "delete", "out");
    to_csv.extend_from_slice(&["--format", "csv"]);
    assert_success(&tidemark(&s.path(""), &to_csv));
    let after_csv = s.files_below("out");
    assert_success(&tidemark(&s.path(""), &apply_args("out", "update", "out")));
    let rows = table_rows(&read_parquet(&s.path("out/snapshot.parquet")));
    assert!(!rows.iter().any(|r| r[0] == "11"), "the delete is kept");
    assert_eq!(
        after_csv,
        [
            "out/diff.csv",
            "out/enriched.csv",
            "out/report.json",
            "out/snapshot.csv"
        ],
        "no stale Parquet file beside the CSV ones"
    );
    assert_eq!(rows.iter().find(|r| r[0] == "3").unwrap()[2], "Denver");
    assert_eq!(rows.len(), 1 + 110 - 1, "header and the rows but user 11");
    assert_eq!(
        s.files_below("out"),
        [
            "out/diff.parquet",
            "out/enriched.parquet",
            "out/report.json",
            "out/snapshot.parquet"
        ]
    );
}

#[test]
fn a_run_without_the_state_output_leaves_no_older_state_behind() {
    let s = Scratch::new();
    sequenced_scenario(&s);
    let load = s.path("dms/users/LOAD00000001.csv");
    assert_success(&tidemark(
        &s.path(""),
        &apply_args(load.to_str().unwrap(), "seq1", "out"),
    ));
    assert!(s.path("out/state.parquet").exists());
    let mut without_state = apply_args("out", "seq2", "out");
    without_state.extend_from_slice(&["--outputs", "snapshot,enriched,diff,report"]);
    assert_success(&tidemark(&s.path(""), &without_state));
    assert_eq!(
        s.files_below("out"),
        [
            "out/diff.parquet",
            "out/enriched.parquet",
            "out/report.json",
            "out/snapshot.parquet"
        ]
    );
}

/// `out/state.parquet` made a folder, so that renaming a new state over it fails.
fn block_state_name(s: &Scratch) {
    std::fs::remove_file(s.path("out/state.parquet")).unwrap();
    s.write("out/state.parquet/blocker", "not a state");
}

#[test]
fn a_rename_error_during_the_switch_never_lets_a_stale_change_resurrect_a_deleted_key() {
    let s = Scratch::new();
    sequenced_scenario(&s);
    let load = s.path("dms/users/LOAD00000001.csv");
    assert_success(&tidemark(
        &s.path(""),
        &apply_args(load.to_str().unwrap(), "seq1", "out"),
    ));
    block_state_name(&s);
    let second = tidemark(&s.path(""), &apply_args("out", "seq2", "out"));
    assert_eq!(
        user_4_after_late(&s, "out"),
        None,
        "user 4 was deleted at 11:00; the 10:00 update is stale; run 2 said: {}",
        stderr(&second)
    );
    // The run itself is complete; only the name in the way could not be updated.
    assert_success(&second);
    assert!(
        stderr(&second).contains("out/state.parquet"),
        "{}",
        stderr(&second)
    );
}

/// Entries of `out/.tidemark/runs`, and temporary files anywhere below `out`.
fn run_folders_and_leftovers(s: &Scratch) -> (Vec<String>, Vec<String>) {
    let runs: Vec<String> = std::fs::read_dir(s.path("out/.tidemark/runs"))
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    let mut leftovers = Vec::new();
    let mut pending = vec![s.path("out")];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.file_type().unwrap().is_dir() {
                pending.push(entry.path());
            } else if name.ends_with(".tmp") || name == "lock" {
                leftovers.push(entry.path().display().to_string());
            }
        }
    }
    (runs, leftovers)
}

#[test]
fn a_run_killed_at_any_point_of_the_switch_leaves_one_whole_run_and_the_next_run_cleans_up() {
    for (failpoint, switched) in [
        ("apply-run-written", false),
        ("apply-switched", true),
        ("apply-top-level-partly", true),
    ] {
        let s = Scratch::new();
        sequenced_scenario(&s);
        let load = s.path("dms/users/LOAD00000001.csv");
        let load = load.to_str().unwrap();
        // Clean references: the folder after run 1, and after run 2.
        assert_success(&tidemark(&s.path(""), &apply_args(load, "seq1", "run1")));
        assert_success(&tidemark(&s.path(""), &apply_args("run1", "seq2", "run2")));
        assert_success(&tidemark(&s.path(""), &apply_args(load, "seq1", "out")));
        let killed = tidemark_within(
            &s.path(""),
            &apply_args("out", "seq2", "out"),
            &[("TIDEMARK_FAILPOINT", failpoint)],
            A_MINUTE,
        );
        assert!(
            !killed.status.success() && stderr(&killed).contains(failpoint),
            "{failpoint} fired: {}",
            stderr(&killed)
        );
        let expected = if switched { "run2" } else { "run1" };
        for name in ["snapshot.parquet", "state.parquet"] {
            assert_eq!(
                table_rows(&read_parquet(&s.path(&format!("out/{name}")))),
                table_rows(&read_parquet(&s.path(&format!("{expected}/{name}")))),
                "{failpoint}: out/{name} is {expected}'s"
            );
        }
        let user_4 = user_4_after_late(&s, "out");
        assert_eq!(user_4.is_some(), !switched, "{failpoint}: {user_4:?}");
        assert_eq!(user_4, user_4_after_late(&s, expected), "{failpoint}");
        // The next run completes the work and removes what the killed one left.
        assert_success(&tidemark(&s.path(""), &apply_args("out", "seq2", "out")));
        let (runs, leftovers) = run_folders_and_leftovers(&s);
        assert!(runs.len() <= 2, "{failpoint}: old runs pruned: {runs:?}");
        assert_eq!(leftovers, Vec::<String>::new(), "{failpoint}");
        assert_eq!(user_4_after_late(&s, "out"), None, "{failpoint}");
    }
}

#[test]
fn temporary_files_a_killed_run_left_are_removed_by_the_next_run() {
    let s = Scratch::new();
    s.seed();
    assert_success(&apply_seed(&s, &["--out", "out", "--quiet"]));
    // What a run killed while writing leaves (the names an earlier version used, too).
    s.write(
        "out/.snapshot.parquet.18c2f00d1e0f0a00-0.tmp",
        "half a file",
    );
    s.write("out/.report.json.18c2f00d1e0f0a00-4.tmp", "{");
    s.write("out/notes.txt", "a user's own file stays");
    assert_success(&apply_seed(&s, &["--out", "out", "--quiet"]));
    assert_eq!(
        s.files_below("out"),
        [
            "out/diff.parquet",
            "out/enriched.parquet",
            "out/notes.txt",
            "out/report.json",
            "out/snapshot.parquet"
        ]
    );
}

#[test]
fn a_folder_written_before_run_folders_existed_still_reads_and_is_taken_over() {
    let s = Scratch::new();
    sequenced_scenario(&s);
    let load = s.path("dms/users/LOAD00000001.csv");
    assert_success(&tidemark(
        &s.path(""),
        &apply_args(load.to_str().unwrap(), "seq1", "run1"),
    ));
    // The old layout: plain files in the folder.
    for name in ["snapshot.parquet", "state.parquet", "enriched.parquet"] {
        s.write(
            &format!("legacy/{name}"),
            std::fs::read(s.path(&format!("run1/{name}"))).unwrap(),
        );
    }
    assert_eq!(
        user_4_after_late(&s, "legacy"),
        user_4_after_late(&s, "run1")
    );
    assert_success(&tidemark(
        &s.path(""),
        &apply_args("legacy", "seq2", "legacy"),
    ));
    assert_eq!(user_4_after_late(&s, "legacy"), None);
    assert_eq!(
        s.files_below("legacy"),
        [
            "legacy/diff.parquet",
            "legacy/enriched.parquet",
            "legacy/report.json",
            "legacy/snapshot.parquet",
            "legacy/state.parquet"
        ]
    );
}

/// Waits until the lock file `path` names its holder (it is written once the lock is taken).
fn wait_for_holder(path: &Path) {
    let started = Instant::now();
    while !std::fs::read_to_string(path).is_ok_and(|text| text.contains("since")) {
        assert!(
            started.elapsed() < A_MINUTE,
            "{} never named a holder",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn spawn_tidemark(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_tidemark"))
        .current_dir(cwd)
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tidemark starts")
}

#[test]
fn a_run_into_a_folder_another_run_is_writing_waits_a_bounded_time_then_names_it() {
    let s = Scratch::new();
    s.seed();
    let (load, cdc) = (
        s.path("dms/users/LOAD00000001.csv"),
        s.path("dms/users/cdc"),
    );
    let first_args = apply_args(load.to_str().unwrap(), cdc.to_str().unwrap(), "out");
    let first = spawn_tidemark(
        &s.path(""),
        &first_args,
        &[("TIDEMARK_FAILPOINT", "apply-locked:pause-ms=6000")],
    );
    wait_for_holder(&s.path("out/.tidemark/lock"));
    let started = Instant::now();
    let mut second_args = apply_args(load.to_str().unwrap(), cdc.to_str().unwrap(), "out");
    second_args.extend_from_slice(&["--lock-timeout", "1"]);
    let second = tidemark_within(&s.path(""), &second_args, &[], A_MINUTE);
    let waited = started.elapsed();
    assert!(!second.status.success());
    let err = stderr(&second);
    assert!(
        err.contains("out")
            && err.contains("another tidemark run")
            && err.contains(&first.id().to_string()),
        "{err}"
    );
    assert!(waited >= Duration::from_secs(1), "it waited: {waited:?}");
    assert!(
        waited < Duration::from_secs(6),
        "not much longer than asked: {waited:?}"
    );
    let first = first.wait_with_output().unwrap();
    assert_success(&first);
    // Without a short limit, the next run waits for the one in progress, then runs.
    let holder = spawn_tidemark(
        &s.path(""),
        &first_args,
        &[("TIDEMARK_FAILPOINT", "apply-locked:pause-ms=1500")],
    );
    std::thread::sleep(Duration::from_millis(300));
    let waiting = tidemark_within(&s.path(""), &first_args, &[], A_MINUTE);
    assert_success(&waiting);
    assert_success(&holder.wait_with_output().unwrap());
}

#[test]
fn two_runs_into_one_folder_at_once_lose_no_change() {
    let s = Scratch::new();
    s.seed();
    assert_success(&apply_seed(&s, &["--out", "out", "--quiet"]));
    for round in 0..3 {
        let a = format!("a{round}/2021102{round}-000000000.csv");
        let b = format!("b{round}/2021102{round}-000000001.csv");
        s.write(&a, format!("U,3,Steve Goodwin,City A{round},2021-10-19\n"));
        s.write(&b, format!("U,5,Wilbert Holmes,City B{round},2021-10-19\n"));
        let a_dir = format!("a{round}");
        let b_dir = format!("b{round}");
        let first = spawn_tidemark(&s.path(""), &apply_args("out", &a_dir, "out"), &[]);
        let second = spawn_tidemark(&s.path(""), &apply_args("out", &b_dir, "out"), &[]);
        assert_success(&first.wait_with_output().unwrap());
        assert_success(&second.wait_with_output().unwrap());
        let rows = table_rows(&read_parquet(&s.path("out/snapshot.parquet")));
        let city = |id: &str| rows.iter().find(|r| r[0] == id).unwrap()[2].clone();
        assert_eq!(
            (city("3"), city("5")),
            (format!("City A{round}"), format!("City B{round}")),
            "round {round}: both runs' changes are kept"
        );
    }
}

#[test]
fn a_lock_left_by_a_killed_run_does_not_block_the_next_one() {
    let s = Scratch::new();
    s.seed();
    let killed = tidemark_within(
        &s.path(""),
        &apply_args("dms/users/LOAD00000001.csv", "dms/users/cdc", "out"),
        &[("TIDEMARK_FAILPOINT", "apply-locked")],
        A_MINUTE,
    );
    assert!(!killed.status.success(), "the failpoint fired");
    assert!(
        s.path("out/.tidemark/lock").exists(),
        "the killed run's lock is left"
    );
    let started = Instant::now();
    let next = tidemark_within(
        &s.path(""),
        &[
            "apply",
            "--snapshot",
            "dms/users/LOAD00000001.csv",
            "--changes",
            "dms/users/cdc",
            "--out",
            "out",
            "--quiet",
            "--lock-timeout",
            "0",
        ],
        &[],
        A_MINUTE,
    );
    assert_success(&next);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(!s.path("out/.tidemark/lock").exists());
}

/// A LOAD file big enough to be mapped, as `big/LOAD00000001.csv`.
fn write_big_load(s: &Scratch) -> std::path::PathBuf {
    let mut load = String::new();
    for id in 1000..90_000 {
        load.push_str(&format!(
            "{id},Person number {id} with a name long enough,Austin,2021-01-01\n"
        ));
    }
    assert!(load.len() as u64 > tidemark::io::inputs::MAP_BYTES);
    s.write("big/LOAD00000001.csv", &load)
}

#[cfg(target_os = "linux")]
#[test]
fn an_input_truncated_during_the_run_crashes_a_mapped_run_but_not_a_no_mmap_one() {
    use std::io::BufRead;
    use std::os::unix::process::ExitStatusExt;
    let s = Scratch::new();
    let (_, cdc) = s.seed();
    let run = |out: &str, extra: &[&str]| {
        let load = write_big_load(&s);
        let mut args = vec!["apply", "--snapshot", "big/LOAD00000001.csv"];
        args.extend_from_slice(&["--changes", cdc.to_str().unwrap(), "--out", out, "--quiet"]);
        args.extend_from_slice(extra);
        let mut child = spawn_tidemark(
            &s.path(""),
            &args,
            &[("TIDEMARK_FAILPOINT", "apply-inputs-read:pause-ms=1000")],
        );
        // Once the inputs are read, another program cuts the snapshot short.
        let mut line = String::new();
        std::io::BufReader::new(child.stderr.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.contains("apply-inputs-read"), "{line}");
        std::fs::File::options()
            .write(true)
            .open(&load)
            .unwrap()
            .set_len(0)
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let mapped = run("mapped", &[]);
    assert_eq!(
        mapped.status.signal(),
        Some(libc::SIGBUS),
        "{:?}",
        mapped.status
    );
    let copied = run("copied", &["--no-mmap"]);
    assert_success(&copied);
    let rows = table_rows(&read_parquet(&s.path("copied/snapshot.parquet")));
    // Header, the 89,000 rows of the file as it was when read, and the seed's 10 changes
    // (their keys are not in this table: each is applied as an insert).
    assert_eq!(rows.len(), 1 + 89_000 + 10);
}

/// A key inserted by one file and deleted by a later one did not exist before the run and does
/// not after it: the diff names it for what it is, with the change that removed it.
#[test]
fn a_key_inserted_then_deleted_within_the_run_is_inserted_and_deleted() {
    let s = Scratch::new();
    let (load, _) = s.seed();
    s.write(
        "changes/20211019-000000000.csv",
        "I,500,Ann Lee,Austin,2021-10-19\nU,3,Steve Goodwin,Denver,2021-10-19\n",
    );
    s.write(
        "changes/20211020-000000000.csv",
        "U,500,Ann Lee,Boston,2021-10-20\nD,500,Ann Lee,Boston,2021-10-20\n",
    );
    let out = tidemark(
        &s.path(""),
        &[
            "apply",
            "--snapshot",
            load.to_str().unwrap(),
            "--changes",
            "changes",
            "--out",
            "out",
            "--format",
            "csv",
        ],
    );
    assert_success(&out);
    let text = stdout(&out);
    assert!(
        text.contains(
            "inserted 0, updated 1, deleted 0, unchanged 0, inserted and deleted 1; order:"
        ),
        "{text}"
    );
    let diff = csv_rows(&std::fs::read(s.path("out/diff.csv")).unwrap());
    let header = &diff[0];
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    let row = diff.iter().find(|r| r[at("user_id")] == "500").unwrap();
    assert_eq!(row[at("change")], "inserted_and_deleted");
    assert_eq!(row[at("changes")], "3");
    assert!(
        row[at("source_file")].ends_with("20211020-000000000.csv"),
        "{row:?}"
    );
    assert_eq!(row[at("source_row")], "2", "the delete that removed it");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s.path("out/report.json")).unwrap()).unwrap();
    assert_eq!(report["apply"]["outcome"]["inserted_and_deleted"], 1);
    assert_eq!(report["apply"]["outcome"]["unchanged"], 0);
    assert_eq!(report["changes"][1]["outcome"]["inserted_and_deleted"], 1);
}

/// Per column, what the updates did: how many changed it, how many to null, and the most
/// frequent old → new values, in `report.json` and the summary.
#[test]
fn report_json_and_the_summary_count_what_updates_did_to_each_column() {
    let s = Scratch::new();
    s.write(
        "load/LOAD00000001.csv",
        "1,Ann,Austin,2021-01-01\n2,Bob,Austin,2021-01-02\n3,Cy,Austin,2021-01-03\n\
         4,Dee,Boston,2021-01-04\n5,Eve,Miami,2021-01-05\n",
    );
    s.write(
        "changes/20211019-000000000.csv",
        // Three from Austin to Denver, one from Boston to nothing; a name changed once; an
        // insert and a delete, which no column statistic counts.
        "U,1,Ann,Denver,2021-01-01\nU,2,Bob,Denver,2021-01-02\nU,3,Cyd,Denver,2021-01-03\n\
         U,4,Dee,,2021-01-04\nI,6,Flo,Reno,2021-01-06\nD,5,Eve,Miami,2021-01-05\n",
    );
    let out = tidemark(
        &s.path(""),
        &[
            "apply",
            "--snapshot",
            "load",
            "--changes",
            "changes",
            "--out",
            "out",
        ],
    );
    assert_success(&out);
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s.path("out/report.json")).unwrap()).unwrap();
    let columns = report["apply"]["columns"].as_array().unwrap();
    let column = |name: &str| columns.iter().find(|c| c["column"] == name).unwrap();
    assert_eq!(
        columns
            .iter()
            .map(|c| c["column"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["name", "city", "last_login"]
    );
    assert_eq!(
        column("city"),
        &serde_json::json!({
            "column": "city",
            "changed": 4,
            "became_null": 1,
            "top_transitions": [
                { "before": "Austin", "after": "Denver", "count": 3 },
                { "before": "Boston", "after": null, "count": 1 },
            ],
        })
    );
    assert_eq!(column("name")["changed"], 1);
    assert_eq!(
        column("name")["top_transitions"],
        serde_json::json!([{ "before": "Cy", "after": "Cyd", "count": 1 }])
    );
    assert_eq!(column("last_login")["changed"], 0);
    let text = stdout(&out);
    assert!(
        text.contains("    city: 4 updates, 1 to null; Austin -> Denver 3, Boston -> null 1\n"),
        "{text}"
    );
    assert!(text.contains("    name: 1 update; Cy -> Cyd 1\n"), "{text}");
    assert!(!text.contains("last_login:"), "{text}");
}

/// The summary a person reads after a run shaped like the DMS benchmark's `1m` workload (a
/// full load of 1,000,000 users and 100,000 changes in four files: keys changed several times,
/// keys inserted then deleted, names the lookup does not know or finds in several states, a
/// few anomalies), compared with the text checked in as `tests/snapshots/summary_1m.txt`, the
/// timings masked. `TIDEMARK_UPDATE_SNAPSHOTS=1` writes the file anew (read the diff).
#[test]
fn the_summary_of_a_million_row_run_reads_as_checked_in() {
    let s = Scratch::new();
    let work = dms_bench::workload(1_000_000, 4, 42);
    s.write("dms/users/LOAD00000001.csv", &work.load);
    for (name, bytes) in &work.changes {
        s.write(&format!("dms/users/cdc/2021/10/18/{name}"), bytes);
    }
    let out = tidemark(
        &s.path(""),
        &[
            "apply",
            "--snapshot",
            "dms/users/LOAD00000001.csv",
            "--changes",
            "dms/users/cdc",
            "--out",
            "out",
        ],
    );
    assert_success(&out);
    let text: String = stdout(&out)
        .lines()
        .map(|line| match line.strip_prefix("  time: ") {
            Some(_) => "  time: (masked)".to_string(),
            None => line.to_string(),
        })
        .map(|line| line + "\n")
        .collect();
    let path = repo().join("tests/snapshots/summary_1m.txt");
    if std::env::var_os("TIDEMARK_UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (TIDEMARK_UPDATE_SNAPSHOTS=1 writes it)",
            path.display()
        )
    });
    assert_eq!(
        text,
        expected,
        "the summary differs from {} (TIDEMARK_UPDATE_SNAPSHOTS=1 writes it anew)",
        path.display()
    );
}
