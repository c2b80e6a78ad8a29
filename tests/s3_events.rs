//! The edge function, `tidemark handle-s3-event`, fed S3 event notifications the way a
//! platform would forward them: at least once, in any order; natively, and as a WASI module
//! under Wasmtime.

mod common;

use std::process::{Command, Output};

use common::*;

const CDC: [&str; 5] = [
    "20211017-194324349.csv",
    "20211018-223933563.csv",
    "20211018-224657689.csv",
    "20211018-225235856.csv",
    "20211018-225959941.csv",
];

fn cdc_key(name: &str) -> String {
    format!(
        "dms/users/{}/{}/{}/{name}",
        &name[0..4],
        &name[4..6],
        &name[6..8]
    )
}

/// The seed in a bucket folder `raw`, as DMS would write it.
fn bucket(s: &Scratch) {
    s.write(
        "root/raw/dms/users/LOAD00000001.csv",
        std::fs::read(seed().join("LOAD00000001.csv")).unwrap(),
    );
    for name in CDC {
        s.write(
            &format!("root/raw/{}", cdc_key(name)),
            std::fs::read(seed().join(name)).unwrap(),
        );
    }
}

/// An S3 notification for objects in `raw`; keys are form-URL-encoded as S3 does.
fn event(keys: &[&str]) -> String {
    let records: Vec<String> = keys
        .iter()
        .map(|key| {
            let encoded = key.replace('+', "%2B").replace(' ', "+");
            format!(
                r#"{{"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{{"bucket":{{"name":"raw"}},"object":{{"key":"{encoded}","size":1,"eTag":"etag-{key}","sequencer":"0055AED6DCD90281E5"}}}}}}"#
            )
        })
        .collect();
    format!(r#"{{"Records":[{}]}}"#, records.join(","))
}

/// Where the program runs: natively, or as a WASI module under a real WASI runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Runtime {
    Native,
    Wasi,
}

fn handle(s: &Scratch, event_json: &str, env: &[(&str, &str)]) -> Output {
    handle_on(Runtime::Native, s, event_json, env)
}

fn handle_on(runtime: Runtime, s: &Scratch, event_json: &str, env: &[(&str, &str)]) -> Output {
    s.write("root/event.json", event_json);
    let args = [
        "handle-s3-event",
        "--bucket-root",
        "root",
        "--output",
        "s3://analytics/users/",
        "--source",
        "s3://raw/dms/users/",
    ];
    match runtime {
        Runtime::Native => Command::new(env!("CARGO_BIN_EXE_tidemark"))
            .current_dir(s.path(""))
            .args(args)
            .arg("root/event.json")
            .envs(env.iter().copied())
            .output()
            .unwrap(),
        Runtime::Wasi => {
            // The module sees the bucket root alone, as a preopened folder.
            let mut command = Command::new(wasi::python());
            command
                .current_dir(s.path(""))
                .arg(wasi::runner())
                .arg(wasi::module())
                .arg("--dir")
                .arg(format!("{}:/root", s.path("root").display()));
            for (k, v) in env {
                command.arg("--env").arg(format!("{k}={v}"));
            }
            let guest_args = args.map(|a| if a == "root" { "/root" } else { a });
            command
                .arg("--")
                .args(guest_args)
                .arg("/root/event.json")
                .output()
                .expect("the WASI runtime runs")
        }
    }
}

/// The WASI runtime of the tests: Wasmtime, through PyPI's `wasmtime` (scripts/test.sh
/// installs it in a virtual environment).
mod wasi {
    use super::repo;
    use std::path::PathBuf;
    use std::process::Command;
    use std::sync::OnceLock;

    pub fn runner() -> PathBuf {
        repo().join("tests/wasi/run.py")
    }

    pub fn python() -> PathBuf {
        let python = std::env::var_os("TIDEMARK_WASI_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(std::env::var_os("HOME").expect("HOME is set"))
                    .join(".cache/tidemark/wasi-venv/bin/python")
            });
        assert!(
            python.exists(),
            "no WASI runtime at {}: run scripts/test.sh, which installs it",
            python.display()
        );
        python
    }

    /// The `tidemark` program built for wasm32-wasip1, built (or brought up to date) once
    /// per test run in a build folder of its own, so it never waits on this run's cargo.
    pub fn module() -> PathBuf {
        static MODULE: OnceLock<PathBuf> = OnceLock::new();
        MODULE
            .get_or_init(|| {
                let target = std::env::current_exe().unwrap().ancestors().nth(3).unwrap().join("wasi-build");
                let status = Command::new(env!("CARGO"))
                    .current_dir(repo())
                    .args(["build", "--release", "--target", "wasm32-wasip1", "-p", "tidemark", "--bin", "tidemark"])
                    .env("CARGO_TARGET_DIR", &target)
                    // No debug info: a module a tenth the size compiles ten times faster.
                    .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
                    .status()
                    .expect("cargo runs");
                assert!(
                    status.success(),
                    "building the WASI module failed (is the wasm32-wasip1 target installed? scripts/test.sh installs it)"
                );
                target.join("wasm32-wasip1/release/tidemark.wasm")
            })
            .clone()
    }
}

fn log_lines(output: &Output) -> Vec<serde_json::Value> {
    stdout(output)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

fn enriched(s: &Scratch) -> Vec<Vec<String>> {
    table_rows(&read_parquet(
        &s.path("root/analytics/users/enriched.parquet"),
    ))
}

/// The enriched table the CLI computes from the seed, in one run.
fn expected(s: &Scratch) -> Vec<Vec<String>> {
    let changes: Vec<String> = CDC
        .iter()
        .map(|name| format!("root/raw/{}", cdc_key(name)))
        .collect();
    let mut args = vec![
        "apply",
        "--snapshot",
        "root/raw/dms/users/LOAD00000001.csv",
        "--out",
        "cli",
        "--quiet",
        "--changes",
    ];
    args.extend(changes.iter().map(String::as_str));
    let out = tidemark(&s.path(""), &args);
    assert_success(&out);
    table_rows(&read_parquet(&s.path("cli/enriched.parquet")))
}

fn manifest(s: &Scratch) -> serde_json::Value {
    serde_json::from_slice(
        &std::fs::read(s.path("root/analytics/users/_tidemark/manifest.json")).unwrap(),
    )
    .unwrap()
}

#[test]
fn the_seed_delivered_in_order_gives_the_clis_table() {
    seed_in_order(Runtime::Native);
}

#[test]
fn under_wasi_the_seed_delivered_in_order_gives_the_clis_table() {
    seed_in_order(Runtime::Wasi);
}

fn seed_in_order(runtime: Runtime) {
    let handle = |s: &Scratch, json: &str, env: &[(&str, &str)]| handle_on(runtime, s, json, env);
    let s = Scratch::new();
    bucket(&s);
    let load = handle(&s, &event(&["dms/users/LOAD00000001.csv"]), &[]);
    assert_success(&load);
    assert_eq!(log_lines(&load)[0]["action"], "rebuilt");
    for name in CDC {
        let out = handle(&s, &event(&[&cdc_key(name)]), &[]);
        assert_success(&out);
        let line = &log_lines(&out)[0];
        assert_eq!(line["action"], "applied", "{line}");
        assert!(line["millis"].as_f64().is_some());
    }
    assert_eq!(enriched(&s), expected(&s));
    assert_eq!(manifest(&s)["version"], 6);
    assert_eq!(manifest(&s)["applied"].as_array().unwrap().len(), 5);
}

#[test]
fn shuffled_duplicated_and_early_deliveries_give_the_same_table() {
    shuffled(Runtime::Native);
}

#[test]
fn under_wasi_shuffled_duplicated_and_early_deliveries_give_the_same_table() {
    shuffled(Runtime::Wasi);
}

fn shuffled(runtime: Runtime) {
    let handle = |s: &Scratch, json: &str, env: &[(&str, &str)]| handle_on(runtime, s, json, env);
    let s = Scratch::new();
    bucket(&s);
    let order = [
        cdc_key(CDC[3]), // before the LOAD: waits
        "dms/users/LOAD00000001.csv".to_string(),
        cdc_key(CDC[4]),
        cdc_key(CDC[0]), // older than one applied: rebuild
        cdc_key(CDC[4]), // again: a no-op
        cdc_key(CDC[2]),
        cdc_key(CDC[1]),
    ];
    let mut actions = Vec::new();
    for key in &order {
        let out = handle(&s, &event(&[key]), &[]);
        assert_success(&out);
        actions.push(log_lines(&out)[0]["action"].as_str().unwrap().to_string());
    }
    assert_eq!(
        actions,
        [
            "waiting_for_load",
            "rebuilt",
            "applied",
            "rebuilt",
            "duplicate",
            "rebuilt",
            "rebuilt"
        ]
    );
    assert_eq!(enriched(&s), expected(&s));
}

#[test]
fn every_record_of_a_notification_is_handled() {
    let s = Scratch::new();
    bucket(&s);
    let mut keys = vec!["dms/users/LOAD00000001.csv".to_string()];
    keys.extend(CDC.iter().map(|n| cdc_key(n)));
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    let out = handle(&s, &event(&keys), &[]);
    assert_success(&out);
    assert_eq!(log_lines(&out).len(), 6);
    assert_eq!(enriched(&s), expected(&s));
}

#[test]
fn url_encoded_keys_are_decoded() {
    let s = Scratch::new();
    bucket(&s);
    s.write(
        "root/raw/dms/users/new file+1.csv",
        "U,3,Steve Goodwin,Boston,2021-10-18\n",
    );
    assert_success(&handle(&s, &event(&["dms/users/LOAD00000001.csv"]), &[]));
    let out = handle(&s, &event(&["dms/users/new file+1.csv"]), &[]);
    assert_success(&out);
    let line = &log_lines(&out)[0];
    assert_eq!(line["key"], "dms/users/new file+1.csv");
    assert_eq!(line["updated"], 1);
    assert!(enriched(&s).iter().any(|r| r[0] == "3" && r[2] == "Boston"));
}

#[test]
fn test_events_and_removals_are_acknowledged_and_change_nothing() {
    let s = Scratch::new();
    bucket(&s);
    let test = handle(
        &s,
        r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2021-10-18T00:00:00Z","Bucket":"raw"}"#,
        &[],
    );
    assert_success(&test);
    assert_eq!(log_lines(&test)[0]["action"], "ignored");
    let removal =
        event(&["dms/users/LOAD00000001.csv"]).replace("ObjectCreated:Put", "ObjectRemoved:Delete");
    let out = handle(&s, &removal, &[]);
    assert_success(&out);
    assert_eq!(log_lines(&out)[0]["action"], "ignored");
    assert!(
        !s.path("root/analytics").exists(),
        "{:?}",
        s.files_below("root/analytics")
    );
}

#[test]
fn a_malformed_event_is_an_error_and_changes_nothing() {
    let s = Scratch::new();
    bucket(&s);
    let out = handle(
        &s,
        r#"{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"raw"}}}]}"#,
        &[],
    );
    assert!(!out.status.success());
    assert_eq!(
        stderr(&out).trim_end(),
        "error: record 0: missing field `object`"
    );
    assert!(!s.path("root/analytics").exists());
}

#[test]
fn a_bad_change_file_is_rejected_and_later_files_still_apply() {
    bad_file(Runtime::Native);
}

#[test]
fn under_wasi_a_bad_change_file_is_rejected_and_later_files_still_apply() {
    bad_file(Runtime::Wasi);
}

fn bad_file(runtime: Runtime) {
    let handle = |s: &Scratch, json: &str, env: &[(&str, &str)]| handle_on(runtime, s, json, env);
    let s = Scratch::new();
    bucket(&s);
    s.write(
        "root/raw/dms/users/2021/10/18/20211018-000000000.csv",
        "U,3,Steve Goodwin,Boston,yesterday\n",
    );
    assert_success(&handle(&s, &event(&["dms/users/LOAD00000001.csv"]), &[]));
    let before = std::fs::read(s.path("root/analytics/users/enriched.parquet")).unwrap();
    let bad = handle(
        &s,
        &event(&["dms/users/2021/10/18/20211018-000000000.csv"]),
        &[],
    );
    assert!(!bad.status.success());
    let err = stderr(&bad);
    assert!(
        err.contains("record 0 (raw/dms/users/2021/10/18/20211018-000000000.csv): rejected, the table is unchanged: raw/dms/users/2021/10/18/20211018-000000000.csv, row 1, column `last_login`: cannot parse \"yesterday\" as a date"),
        "{err}"
    );
    assert_eq!(log_lines(&bad)[0]["action"], "failed");
    assert_eq!(
        std::fs::read(s.path("root/analytics/users/enriched.parquet")).unwrap(),
        before,
        "state unchanged"
    );
    assert_eq!(manifest(&s)["version"], 1);
    for name in CDC {
        assert_success(&handle(&s, &event(&[&cdc_key(name)]), &[]));
    }
    assert_eq!(enriched(&s), expected(&s));
    assert_eq!(manifest(&s)["failed"].as_array().unwrap().len(), 1);
}

#[test]
fn a_crash_at_any_point_loses_nothing_and_the_next_event_completes_the_work() {
    crash(Runtime::Native);
}

#[test]
fn under_wasi_a_crash_at_any_point_loses_nothing() {
    crash(Runtime::Wasi);
}

fn crash(runtime: Runtime) {
    let handle = |s: &Scratch, json: &str, env: &[(&str, &str)]| handle_on(runtime, s, json, env);
    for failpoint in ["after-journal", "before-enriched", "before-manifest"] {
        let s = Scratch::new();
        bucket(&s);
        assert_success(&handle(&s, &event(&["dms/users/LOAD00000001.csv"]), &[]));
        assert_success(&handle(&s, &event(&[&cdc_key(CDC[0])]), &[]));
        let crashed = handle(
            &s,
            &event(&[&cdc_key(CDC[1])]),
            &[("TIDEMARK_FAILPOINT", failpoint)],
        );
        assert!(
            !crashed.status.success(),
            "{failpoint}: the process was aborted"
        );
        // The previous version is still whole and readable.
        assert_eq!(manifest(&s)["version"], 2, "{failpoint}");
        read_parquet(&s.path("root/analytics/users/_tidemark/v000002/snapshot.parquet"));
        read_parquet(&s.path("root/analytics/users/enriched.parquet"));
        // The next event, for another file, also applies the interrupted one.
        for name in &CDC[2..] {
            assert_success(&handle(&s, &event(&[&cdc_key(name)]), &[]));
        }
        assert_eq!(enriched(&s), expected(&s), "{failpoint}");
        let leftovers: Vec<String> = s
            .files_below("root/analytics")
            .into_iter()
            .filter(|f| f.ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{failpoint}: {leftovers:?}");
    }
}

#[test]
fn changes_sharing_a_commit_timestamp_across_events_all_apply() {
    ties_across_events(Runtime::Native);
}

#[test]
fn under_wasi_changes_sharing_a_commit_timestamp_across_events_all_apply() {
    ties_across_events(Runtime::Wasi);
}

/// One transaction's changes (one commit timestamp) split over two change files, each
/// announced by its own event: the second file's delete applies to the first file's insert.
fn ties_across_events(runtime: Runtime) {
    let s = Scratch::new();
    let t = "2021-10-17 10:00:00.000000";
    s.write(
        "root/raw/dms/users/LOAD00000001.csv",
        "1,Ann,Austin,2021-01-01\n",
    );
    s.write(
        &format!("root/raw/{}", cdc_key("20211017-100000000.csv")),
        format!("I,{t},2,Bob,Boston,2021-10-01\nU,{t},2,Bob,Chicago,2021-10-02\n"),
    );
    s.write(
        &format!("root/raw/{}", cdc_key("20211017-100001000.csv")),
        format!("D,{t},2,Bob,Chicago,2021-10-02\nU,{t},1,Ann,Denver,2021-01-02\n"),
    );
    for key in [
        "dms/users/LOAD00000001.csv".to_string(),
        cdc_key("20211017-100000000.csv"),
        cdc_key("20211017-100001000.csv"),
    ] {
        let out = handle_on(runtime, &s, &event(&[&key]), &[]);
        assert_success(&out);
    }
    let rows = enriched(&s);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[1][..3], ["1", "Ann", "Denver"]);
}
