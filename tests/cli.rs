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

// ---------------------------------------------------------------------------------------------
// Hardening (issue #16, #18): symbolic-link loops and memory maps.

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
    // Over the 4 MiB from which inputs are mapped.
    let mut load = String::new();
    for id in 1000..90_000 {
        load.push_str(&format!(
            "{id},Person number {id} with a name long enough,Austin,2021-01-01\n"
        ));
    }
    assert!(load.len() > 5 << 20);
    s.write("big/LOAD00000001.csv", &load);
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
