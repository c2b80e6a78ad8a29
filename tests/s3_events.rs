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
    let locations = [
        "--output",
        "s3://analytics/users/",
        "--source",
        "s3://raw/dms/users/",
    ];
    handle_with(runtime, s, event_json, &locations, env)
}

/// `handle-s3-event` with the bucket root `root` and the given `--output` / `--source`.
fn handle_with(
    runtime: Runtime,
    s: &Scratch,
    event_json: &str,
    locations: &[&str],
    env: &[(&str, &str)],
) -> Output {
    s.write("root/event.json", event_json);
    command(runtime, s, "event.json", locations, env)
        .output()
        .expect("the program runs")
}

/// The command that handles the event in `root/EVENT_FILE`.
fn command(
    runtime: Runtime,
    s: &Scratch,
    event_file: &str,
    locations: &[&str],
    env: &[(&str, &str)],
) -> Command {
    let mut args = vec!["handle-s3-event", "--bucket-root", "root"];
    args.extend_from_slice(locations);
    match runtime {
        Runtime::Native => {
            let mut command = Command::new(env!("CARGO_BIN_EXE_tidemark"));
            command
                .current_dir(s.path(""))
                .args(&args)
                .arg(format!("root/{event_file}"))
                .envs(env.iter().copied());
            command
        }
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
            let guest_args = args.iter().map(|&a| if a == "root" { "/root" } else { a });
            command
                .arg("--")
                .args(guest_args)
                .arg(format!("/root/{event_file}"));
            command
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
    cli_apply(s, &CDC, &[]);
    table_rows(&read_parquet(&s.path("cli/enriched.parquet")))
}

/// `tidemark apply` of the bucket's LOAD and the change files `names`, in one run, into `cli`.
fn cli_apply(s: &Scratch, names: &[&str], extra: &[&str]) {
    let changes: Vec<String> = names
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
    ];
    args.extend_from_slice(extra);
    args.push("--changes");
    args.extend(changes.iter().map(String::as_str));
    assert_success(&tidemark(&s.path(""), &args));
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
        // The crashed process holds the lock: a short lease lets the next event break it.
        let crashed = handle(
            &s,
            &event(&[&cdc_key(CDC[1])]),
            &[
                ("TIDEMARK_FAILPOINT", failpoint),
                ("TIDEMARK_LOCK_LEASE_SECS", "1"),
            ],
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
        let state: Vec<String> = s.files_below("root/analytics/users/_tidemark");
        assert!(
            !state.iter().any(|f| f.contains("/lock")),
            "{failpoint}: the lock is released: {state:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Security: keys and bucket names are data, never paths out of the bucket root.

/// A change file that would show in the table (user 3 moves to `Canary`) if it were read.
const CANARY: &str = "U,3,Steve Goodwin,Canary,2021-10-19\n";
const CANARY_NAME: &str = "20211019-000000000.csv";

/// One S3 record; `encoded_key` is put in the JSON as given (S3 form-URL-encodes keys).
fn record(event_name: &str, bucket: &str, encoded_key: &str, etag: &str) -> serde_json::Value {
    serde_json::json!({
        "eventVersion": "2.1", "eventSource": "aws:s3", "eventName": event_name,
        "s3": {"bucket": {"name": bucket},
               "object": {"key": encoded_key, "size": 1, "eTag": etag, "sequencer": "0A"}}
    })
}

fn notification(records: Vec<serde_json::Value>) -> String {
    serde_json::json!({ "Records": records }).to_string()
}

fn created(bucket: &str, encoded_key: &str) -> String {
    notification(vec![record(
        "ObjectCreated:Put",
        bucket,
        encoded_key,
        "etag-1",
    )])
}

/// Every file outside the bucket root, with its contents.
fn outside_root(s: &Scratch) -> Vec<(String, Vec<u8>)> {
    s.files_below("")
        .into_iter()
        .filter(|f| !f.starts_with("root/") && !f.starts_with("cli/"))
        .map(|f| {
            let bytes = std::fs::read(s.path(&f)).unwrap_or_default();
            (f, bytes)
        })
        .collect()
}

/// The seed bucket with its LOAD applied, and a canary change file outside the root.
/// Returns what is outside the root.
fn loaded_with_canary(runtime: Runtime, s: &Scratch) -> Vec<(String, Vec<u8>)> {
    bucket(s);
    s.write(&format!("outside/{CANARY_NAME}"), CANARY);
    s.write("outside/cities.csv", "city,state\nAustin,Canary\n");
    let load = handle_on(runtime, s, &event(&["dms/users/LOAD00000001.csv"]), &[]);
    assert_success(&load);
    outside_root(s)
}

/// Nothing outside the root changed or appeared, and the canary is not in the table.
#[track_caller]
fn assert_outside_untouched(s: &Scratch, before: &[(String, Vec<u8>)]) {
    assert_eq!(outside_root(s), before, "the files outside the root");
    let table = s.path("root/analytics/users/enriched.parquet");
    if table.exists() {
        assert!(
            !enriched(s).iter().flatten().any(|cell| cell == "Canary"),
            "the canary was read"
        );
    }
}

/// The run failed, its one record `failed` with `reason` in its log line and error.
#[track_caller]
fn assert_record_refused(out: &Output, reason: &str) {
    assert!(!out.status.success(), "{}", stdout(out));
    let line = &log_lines(out)[0];
    assert_eq!(line["action"], "failed", "{line}");
    let detail = line["detail"].as_str().unwrap();
    assert!(detail.contains(reason), "{detail}");
    assert!(stderr(out).contains(reason), "{}", stderr(out));
}

fn refused_key(runtime: Runtime, bucket_name: &str, encoded_key: &str, reason: &str, source: bool) {
    let s = Scratch::new();
    let before = loaded_with_canary(runtime, &s);
    let json = created(bucket_name, encoded_key);
    let out = if source {
        handle_on(runtime, &s, &json, &[])
    } else {
        handle_with(
            runtime,
            &s,
            &json,
            &["--output", "s3://analytics/users/"],
            &[],
        )
    };
    assert_record_refused(&out, reason);
    assert_outside_untouched(&s, &before);
    // Recorded as failed; the table goes on.
    let failed = &manifest(&s)["failed"];
    assert_eq!(failed.as_array().unwrap().len(), 1, "{failed}");
    assert!(failed[0]["error"].as_str().unwrap().contains(reason));
    assert_success(&handle_on(runtime, &s, &event(&[&cdc_key(CDC[0])]), &[]));
    assert_eq!(manifest(&s)["applied"].as_array().unwrap().len(), 1);
}

#[test]
fn a_key_with_dot_dot_components_is_refused_and_nothing_outside_the_root_is_touched() {
    let key = format!("dms/users/../../../../outside/{CANARY_NAME}");
    refused_key(Runtime::Native, "raw", &key, "\"..\"", true);
}

#[test]
fn under_wasi_a_key_with_dot_dot_components_is_refused() {
    let key = format!("dms/users/../../../../outside/{CANARY_NAME}");
    refused_key(Runtime::Wasi, "raw", &key, "\"..\"", true);
}

#[test]
fn a_url_encoded_dot_dot_key_is_refused_after_decoding() {
    let key = format!("dms/users/%2e%2e/%2E%2E/%2e%2e/%2e%2e/outside/{CANARY_NAME}");
    refused_key(Runtime::Native, "raw", &key, "\"..\"", true);
}

#[test]
fn under_wasi_a_url_encoded_dot_dot_key_is_refused_after_decoding() {
    let key = format!("dms/users/%2e%2e/%2E%2E/%2e%2e/%2e%2e/outside/{CANARY_NAME}");
    refused_key(Runtime::Wasi, "raw", &key, "\"..\"", true);
}

#[test]
fn the_source_prefix_cannot_be_bypassed_with_dot_dot() {
    for runtime in [Runtime::Native, Runtime::Wasi] {
        // Inside the root, outside the source prefix: never opened.
        let s = Scratch::new();
        let before = loaded_with_canary(runtime, &s);
        s.write(&format!("root/raw/other/{CANARY_NAME}"), CANARY);
        let json = created("raw", &format!("dms/users/../../other/{CANARY_NAME}"));
        assert_record_refused(&handle_on(runtime, &s, &json, &[]), "\"..\"");
        assert_outside_untouched(&s, &before);
    }
}

#[test]
fn an_absolute_key_is_refused() {
    for runtime in [Runtime::Native, Runtime::Wasi] {
        let s = Scratch::new();
        let key = s.path(&format!("outside/{CANARY_NAME}"));
        refused_key(runtime, "raw", key.to_str().unwrap(), "absolute", false);
    }
}

#[test]
fn a_bucket_named_dot_dot_is_refused() {
    for runtime in [Runtime::Native, Runtime::Wasi] {
        let key = format!("outside/{CANARY_NAME}");
        refused_key(runtime, "..", &key, "bucket name \"..\" is refused", false);
    }
}

#[test]
fn a_bucket_name_with_a_slash_is_refused() {
    for runtime in [Runtime::Native, Runtime::Wasi] {
        let key = format!("outside/{CANARY_NAME}");
        refused_key(runtime, "raw/../..", &key, "is refused", false);
    }
}

#[test]
fn an_output_location_outside_the_root_is_refused_and_nothing_is_written_outside_it() {
    for runtime in [Runtime::Native, Runtime::Wasi] {
        for output in [
            "s3://analytics/../../x/",
            "s3://../x/",
            "s3://analytics//x/",
        ] {
            let s = Scratch::new();
            let before = loaded_with_canary(runtime, &s);
            let out = handle_with(
                runtime,
                &s,
                &event(&["dms/users/LOAD00000001.csv"]),
                &["--output", output],
                &[],
            );
            assert!(!out.status.success(), "{output}: {}", stdout(&out));
            assert!(stderr(&out).contains("is refused"), "{}", stderr(&out));
            assert_outside_untouched(&s, &before);
        }
    }
}

#[cfg(unix)]
fn link(target: &std::path::Path, link: &std::path::Path) {
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, link).unwrap();
}

#[cfg(unix)]
#[test]
fn a_linked_change_file_is_refused_and_the_file_it_points_to_is_not_read() {
    for runtime in [Runtime::Native, Runtime::Wasi] {
        let s = Scratch::new();
        let before = loaded_with_canary(runtime, &s);
        let key = format!("dms/users/2021/10/19/{CANARY_NAME}");
        link(
            &s.path(&format!("outside/{CANARY_NAME}")),
            &s.path(&format!("root/raw/{key}")),
        );
        assert_record_refused(
            &handle_on(runtime, &s, &event(&[&key]), &[]),
            "is a symbolic link",
        );
        assert_outside_untouched(&s, &before);
    }
}

#[cfg(unix)]
#[test]
fn a_linked_folder_in_a_bucket_is_refused() {
    for runtime in [Runtime::Native, Runtime::Wasi] {
        let s = Scratch::new();
        let before = loaded_with_canary(runtime, &s);
        link(&s.path("outside"), &s.path("root/raw/dms/users/2021/10/19"));
        let key = format!("dms/users/2021/10/19/{CANARY_NAME}");
        assert_record_refused(
            &handle_on(runtime, &s, &event(&[&key]), &[]),
            "is a symbolic link",
        );
        assert_outside_untouched(&s, &before);
    }
}

#[cfg(unix)]
#[test]
fn a_linked_output_folder_is_refused_and_nothing_is_written_outside_the_root() {
    for runtime in [Runtime::Native, Runtime::Wasi] {
        for linked in ["root/analytics/users", "root/analytics/users/_tidemark"] {
            let s = Scratch::new();
            bucket(&s);
            std::fs::create_dir_all(s.path("outside/out")).unwrap();
            link(&s.path("outside/out"), &s.path(linked));
            let before = outside_root(&s);
            let out = handle_on(runtime, &s, &event(&["dms/users/LOAD00000001.csv"]), &[]);
            assert!(!out.status.success(), "{linked}: {}", stdout(&out));
            assert!(
                stderr(&out).contains("is a symbolic link"),
                "{}",
                stderr(&out)
            );
            assert_eq!(outside_root(&s), before, "{linked}");
        }
    }
}

#[cfg(unix)]
#[test]
fn tidemark_toml_paths_must_name_files_in_the_output_folder() {
    for runtime in [Runtime::Native, Runtime::Wasi] {
        let s = Scratch::new();
        bucket(&s);
        s.write("outside/cities.csv", "city,state\nAustin,Canary\n");
        link(
            &s.path("outside/cities.csv"),
            &s.path("root/analytics/users/linked.csv"),
        );
        let outside = s.path("outside/cities.csv");
        let before = outside_root(&s);
        for (setting, reason) in [
            ("lookup = \"../../../outside/cities.csv\"", "\"..\""),
            (
                &format!("lookup = {:?}", outside.display().to_string()),
                "absolute",
            ),
            ("lookup = \"linked.csv\"", "is a symbolic link"),
            ("spec = \"../../../outside/cities.csv\"", "\"..\""),
        ] {
            s.write("root/analytics/users/tidemark.toml", setting);
            let out = handle_on(runtime, &s, &event(&["dms/users/LOAD00000001.csv"]), &[]);
            assert!(!out.status.success(), "{setting}: {}", stdout(&out));
            let err = stderr(&out);
            assert!(
                err.contains("must name a file in the output folder") && err.contains(reason),
                "{setting}: {err}"
            );
            assert!(!s.path("root/analytics/users/enriched.parquet").exists());
            assert_eq!(outside_root(&s), before, "{setting}");
        }
        // A file in the output folder is fine.
        s.write(
            "root/analytics/users/cities.csv",
            "city,state\nAustin,Lone Star\n",
        );
        s.write(
            "root/analytics/users/tidemark.toml",
            "lookup = \"cities.csv\"\n",
        );
        let out = handle_on(runtime, &s, &event(&["dms/users/LOAD00000001.csv"]), &[]);
        assert_success(&out);
        assert!(enriched(&s).iter().flatten().any(|c| c == "Lone Star"));
    }
}

// ---------------------------------------------------------------------------------------
// No change lost: concurrent events for one output take turns.

/// Six more change files after the seed's, each updating one user.
fn extra_changes(s: &Scratch) -> Vec<String> {
    (1..=6)
        .map(|i| {
            let name = format!("20211019-0{i}0000000.csv");
            s.write(
                &format!("root/raw/{}", cdc_key(&name)),
                format!("U,{i},Person {i},Boston,2021-10-19\n"),
            );
            cdc_key(&name)
        })
        .collect()
}

#[test]
fn concurrent_events_for_one_output_each_apply_exactly_once() {
    concurrent(Runtime::Native, 6);
}

#[test]
fn under_wasi_concurrent_events_for_one_output_each_apply_exactly_once() {
    concurrent(Runtime::Wasi, 2);
}

/// The LOAD, the seed's five change files and `extra` more, one event each, all at once,
/// each in a process of its own.
fn concurrent(runtime: Runtime, extra: usize) {
    let s = Scratch::new();
    bucket(&s);
    let mut keys = vec!["dms/users/LOAD00000001.csv".to_string()];
    keys.extend(CDC.iter().map(|n| cdc_key(n)));
    keys.extend(extra_changes(&s).into_iter().take(extra));
    let locations = [
        "--output",
        "s3://analytics/users/",
        "--source",
        "s3://raw/dms/users/",
    ];
    let children: Vec<_> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            s.write(&format!("root/events/{i}.json"), event(&[key]));
            command(runtime, &s, &format!("events/{i}.json"), &locations, &[])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut logs = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_success(&out);
        let line = log_lines(&out).remove(0);
        let action = line["action"].as_str().unwrap().to_string();
        assert!(
            ["applied", "rebuilt", "waiting_for_load"].contains(&action.as_str()),
            "{line}"
        );
        logs.push(format!("{line} {}", stderr(&out)));
    }
    let logs = logs.join("\n");
    let m = manifest(&s);
    let mut applied: Vec<&str> = m["applied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["key"].as_str().unwrap())
        .collect();
    applied.sort();
    let mut wanted: Vec<&str> = keys[1..].iter().map(String::as_str).collect();
    wanted.sort();
    assert_eq!(applied, wanted, "every file applied exactly once:\n{logs}");
    assert_eq!(m["pending"], serde_json::json!([]));
    assert_eq!(m["failed"], serde_json::json!([]));
    // The table of one run over all of them.
    let mut args = vec![
        "apply".to_string(),
        "--snapshot".into(),
        "root/raw/dms/users/LOAD00000001.csv".into(),
        "--out".into(),
        "cli".into(),
        "--quiet".into(),
        "--changes".into(),
    ];
    args.extend(keys[1..].iter().map(|k| format!("root/raw/{k}")));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_success(&tidemark(&s.path(""), &args));
    assert_eq!(
        enriched(&s),
        table_rows(&read_parquet(&s.path("cli/enriched.parquet")))
    );
    assert!(!s.path("root/analytics/users/_tidemark/lock").exists());
}

#[test]
fn an_event_that_cannot_take_the_lock_in_time_fails_naming_the_holder_and_changes_nothing() {
    let s = Scratch::new();
    bucket(&s);
    assert_success(&handle(&s, &event(&["dms/users/LOAD00000001.csv"]), &[]));
    let before = manifest(&s);
    s.write(
        "root/analytics/users/_tidemark/lock",
        r#"{"holder":"another process","expires_at_ms":99999999999999}"#,
    );
    let out = handle(
        &s,
        &event(&[&cdc_key(CDC[0])]),
        &[("TIDEMARK_LOCK_WAIT_SECS", "0.3")],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("is held by another process"),
        "{}",
        stderr(&out)
    );
    assert_eq!(manifest(&s), before);
    // A lock whose lease is over is broken.
    s.write(
        "root/analytics/users/_tidemark/lock",
        r#"{"holder":"a killed process","expires_at_ms":1}"#,
    );
    let out = handle(&s, &event(&[&cdc_key(CDC[0])]), &[]);
    assert_success(&out);
    assert!(
        stderr(&out).contains("broke the stale lock of a killed process"),
        "{}",
        stderr(&out)
    );
    assert_eq!(manifest(&s)["applied"].as_array().unwrap().len(), 1);
}

// ---------------------------------------------------------------------------------------
// A poison event does not wedge the table.

fn missing_object(runtime: Runtime) {
    let handle = |s: &Scratch, json: &str| handle_on(runtime, s, json, &[]);
    let s = Scratch::new();
    bucket(&s);
    assert_success(&handle(&s, &event(&["dms/users/LOAD00000001.csv"])));
    let key = format!("dms/users/2021/10/19/{CANARY_NAME}");
    let out = handle(&s, &event(&[&key]));
    assert_record_refused(&out, "does not exist");
    assert!(
        stderr(&out).contains(&format!("raw/{key}")),
        "{}",
        stderr(&out)
    );
    let failed = &manifest(&s)["failed"];
    assert_eq!(failed[0]["object"]["key"], key.as_str(), "{failed}");
    for name in CDC {
        assert_success(&handle(&s, &event(&[&cdc_key(name)])));
    }
    assert_eq!(enriched(&s), expected(&s));
    // Uploaded since: a new ETag applies it and clears the failure.
    s.write(
        &format!("root/raw/{key}"),
        "U,3,Steve Goodwin,Boston,2021-10-19\n",
    );
    let upload = notification(vec![record("ObjectCreated:Put", "raw", &key, "etag-2")]);
    assert_success(&handle(&s, &upload));
    assert_eq!(manifest(&s)["failed"], serde_json::json!([]));
    assert!(enriched(&s).iter().any(|r| r[0] == "3" && r[2] == "Boston"));
}

#[test]
fn an_event_for_a_missing_object_is_failed_and_later_events_still_apply() {
    missing_object(Runtime::Native);
}

#[test]
fn under_wasi_an_event_for_a_missing_object_is_failed_and_later_events_still_apply() {
    missing_object(Runtime::Wasi);
}

#[test]
fn an_event_for_a_folder_is_failed_and_a_removal_clears_it() {
    let s = Scratch::new();
    bucket(&s);
    assert_success(&handle(&s, &event(&["dms/users/LOAD00000001.csv"]), &[]));
    let key = format!("dms/users/2021/10/19/{CANARY_NAME}");
    std::fs::create_dir_all(s.path(&format!("root/raw/{key}"))).unwrap();
    assert_record_refused(&handle(&s, &event(&[&key]), &[]), "a folder");
    assert_eq!(manifest(&s)["failed"].as_array().unwrap().len(), 1);
    for name in CDC {
        assert_success(&handle(&s, &event(&[&cdc_key(name)]), &[]));
    }
    assert_eq!(enriched(&s), expected(&s));
    let removal = notification(vec![record("ObjectRemoved:Delete", "raw", &key, "")]);
    let out = handle(&s, &removal, &[]);
    assert_success(&out);
    assert!(
        log_lines(&out)[0]["detail"]
            .as_str()
            .unwrap()
            .contains("its failure is cleared")
    );
    assert_eq!(manifest(&s)["failed"], serde_json::json!([]));
}

#[test]
fn a_folder_marker_is_ignored() {
    let s = Scratch::new();
    bucket(&s);
    assert_success(&handle(&s, &event(&["dms/users/LOAD00000001.csv"]), &[]));
    let before = manifest(&s);
    let out = handle(&s, &created("raw", "dms/users/2021/10/19/"), &[]);
    assert_success(&out);
    assert_eq!(log_lines(&out)[0]["action"], "ignored");
    assert_eq!(manifest(&s), before);
}

fn absurd_keys(runtime: Runtime) {
    let s = Scratch::new();
    bucket(&s);
    let long = format!("dms/users/{}.csv", "k".repeat(1100));
    let absurd = [
        ("dms/users/a%00b.csv", "NUL"),
        (long.as_str(), "1024 bytes"),
        ("dms/users//20211019-000000000.csv", "empty component"),
        ("dms/users/a%5C..%5Cb.csv", "backslash"),
        ("dms/users/%FF%FE.csv", "UTF-8"),
    ];
    // One notification: the LOAD, the absurd keys, a good change file.
    let mut records = vec![record(
        "ObjectCreated:Put",
        "raw",
        "dms/users/LOAD00000001.csv",
        "e",
    )];
    records.extend(
        absurd
            .iter()
            .map(|(key, _)| record("ObjectCreated:Put", "raw", key, "e")),
    );
    records.push(record("ObjectCreated:Put", "raw", &cdc_key(CDC[0]), "e"));
    let out = handle_on(runtime, &s, &notification(records), &[]);
    assert!(!out.status.success());
    let lines = log_lines(&out);
    assert_eq!(lines.len(), absurd.len() + 2);
    assert_eq!(lines[0]["action"], "rebuilt");
    for (line, (_, reason)) in lines[1..].iter().zip(&absurd) {
        assert_eq!(line["action"], "failed", "{line}");
        assert!(line["detail"].as_str().unwrap().contains(reason), "{line}");
    }
    assert_eq!(lines[absurd.len() + 1]["action"], "applied");
    let summary = format!(
        "{} of {} record(s) could not be processed",
        absurd.len(),
        absurd.len() + 2
    );
    assert!(stderr(&out).contains(&summary), "{}", stderr(&out));
    assert_eq!(
        manifest(&s)["failed"].as_array().unwrap().len(),
        absurd.len()
    );
    for name in &CDC[1..] {
        assert_success(&handle_on(runtime, &s, &event(&[&cdc_key(name)]), &[]));
    }
    assert_eq!(enriched(&s), expected(&s));
}

#[test]
fn absurd_keys_are_failed_and_recorded_and_later_events_still_apply() {
    absurd_keys(Runtime::Native);
}

#[test]
fn under_wasi_absurd_keys_are_failed_and_recorded_and_later_events_still_apply() {
    absurd_keys(Runtime::Wasi);
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

/// Change files that carry a commit timestamp (the seed's carry none): the second is late for
/// key 3, its update older than the first file's.
const SEQUENCED: [(&str, &str); 2] = [
    (
        "20211019-000000000.csv",
        "U,2021-10-19 12:00:00.000000,3,Steve Goodwin,Denver,2021-10-19\n\
         D,2021-10-19 11:00:00.000000,4,Leah Tran,Detroit,2021-04-05\n",
    ),
    (
        "20211020-000000000.csv",
        "U,2021-10-19 10:00:00.000000,3,Steve Goodwin,Boston,2021-10-19\n",
    ),
];

#[test]
fn history_kept_by_the_edge_function_is_the_clis() {
    history_like_the_cli(Runtime::Native);
}

#[test]
fn under_wasi_history_kept_by_the_edge_function_is_the_clis() {
    history_like_the_cli(Runtime::Wasi);
}

/// With `[history]` in the spec the edge function keeps the change log in its versions and
/// publishes `history` beside the enriched table: event by event, the history one CLI run
/// gives for the same files.
fn history_like_the_cli(runtime: Runtime) {
    let handle = |s: &Scratch, json: &str| handle_on(runtime, s, json, &[]);
    let s = Scratch::new();
    s.write(
        "root/raw/dms/users/LOAD00000001.csv",
        std::fs::read(seed().join("LOAD00000001.csv")).unwrap(),
    );
    for (name, text) in SEQUENCED {
        s.write(&format!("root/raw/{}", cdc_key(name)), text);
    }
    let spec = stdout(&tidemark(&s.path(""), &["spec"])) + "\n[history]\n";
    s.write("root/analytics/users/users.toml", &spec);
    s.write(
        "root/analytics/users/tidemark.toml",
        "spec = \"users.toml\"\n",
    );

    assert_success(&handle(&s, &event(&["dms/users/LOAD00000001.csv"])));
    for (name, _) in SEQUENCED {
        let out = handle(&s, &event(&[&cdc_key(name)]));
        assert_success(&out);
    }

    let names: Vec<&str> = SEQUENCED.iter().map(|(name, _)| *name).collect();
    cli_apply(&s, &names, &["--spec", "root/analytics/users/users.toml"]);

    // The files are named as each face was given them (an S3 key, a path): compare their
    // last part, and every other column as it is.
    let rows = |path: &str| {
        let batch = read_parquet(&s.path(path));
        let file = batch.schema().index_of("_tidemark_file").unwrap();
        table_rows(&batch)
            .into_iter()
            .map(|mut row| {
                row[file] = row[file].rsplit('/').next().unwrap().to_string();
                row
            })
            .collect::<Vec<_>>()
    };
    let edge = rows("root/analytics/users/history.parquet");
    assert_eq!(edge, rows("cli/history.parquet"));
    // Key 3: the load's row, the late Boston update at its place, then Denver, current.
    let three: Vec<&Vec<String>> = edge.iter().filter(|r| r[0] == "3").collect();
    assert_eq!(three.len(), 3, "{three:?}");
    assert_eq!(
        three.iter().map(|r| r[2].as_str()).collect::<Vec<_>>(),
        ["Charlotte", "Boston", "Denver"]
    );
}
