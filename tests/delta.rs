//! Delta Lake tables (`tidemark apply --delta`), on a local folder and on a real S3-compatible
//! server (moto, from PyPI, started once for this file's tests): what the program writes is
//! read back by independent readers (delta-rs's `deltalake` and Polars, `tests/delta/read.py`)
//! and compared with what the same changes give in an output folder.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::*;

/// The Python with `deltalake`, `polars` and `moto` that scripts/test.sh installs.
fn python() -> PathBuf {
    let python = std::env::var_os("TIDEMARK_DELTA_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME is set"))
                .join(".cache/tidemark/delta-venv/bin/python")
        });
    assert!(
        python.exists(),
        "no Delta readers at {}: run scripts/test.sh, which installs them",
        python.display()
    );
    python
}

/// The table at `uri` as the independent readers see it (both must agree), columns in the
/// order and types of `like` (a folder run's output), rows by key.
fn read_delta(
    uri: &str,
    like: &Path,
    env: &[(&str, String)],
    version: Option<u64>,
) -> Vec<Vec<String>> {
    let out = tempfile::NamedTempFile::new().unwrap();
    let mut command = Command::new(python());
    command
        .arg(repo().join("tests/delta/read.py"))
        .arg(uri)
        .arg(out.path())
        .arg("--like")
        .arg(like);
    if let Some(version) = version {
        command.args(["--version", &version.to_string()]);
    }
    let result = command
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("python runs");
    assert!(
        result.status.success(),
        "reading {uri} failed:\n{}",
        String::from_utf8_lossy(&result.stderr)
    );
    table_rows(&read_parquet(out.path()))
}

/// Asserts that the Delta table at `uri` holds, row for row, what the folder run's file
/// `expected` holds.
#[track_caller]
fn assert_delta_is(uri: &str, expected: &Path, env: &[(&str, String)]) {
    assert_eq!(
        read_delta(uri, expected, env, None),
        table_rows(&read_parquet(expected)),
        "{uri}"
    );
}

/// The change files of the seed, in their order.
const SEED_CHANGES: [&str; 5] = [
    "20211017-194324349.csv",
    "20211018-223933563.csv",
    "20211018-224657689.csv",
    "20211018-225235856.csv",
    "20211018-225959941.csv",
];

fn seed_file(name: &str) -> String {
    seed().join(name).display().to_string()
}

/// The seed applied all at once into an output folder: what every Delta run must match.
fn folder_run(s: &Scratch) -> PathBuf {
    let mut args = vec![
        "apply".to_string(),
        "--snapshot".into(),
        seed_file("LOAD00000001.csv"),
        "--changes".into(),
    ];
    args.extend(SEED_CHANGES.iter().map(|f| seed_file(f)));
    args.extend(["--out".into(), "folder".into(), "--quiet".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_success(&tidemark(&s.path(""), &args));
    s.path("folder")
}

/// `tidemark apply --delta --out lake` of one change file of the seed (with the full load on
/// the first).
fn delta_run(s: &Scratch, lake: &str, first: bool, change: &str, env: &[(&str, String)]) -> String {
    let mut args = vec![
        "--changes".to_string(),
        seed_file(change),
        "--buckets".into(),
        "8".into(),
    ];
    if first {
        args.extend(["--snapshot".into(), seed_file("LOAD00000001.csv")]);
    }
    run_delta(s, lake, &args, env)
}

/// `tidemark apply --delta --out lake` with `args`; its standard output.
fn run_delta(s: &Scratch, lake: &str, args: &[String], env: &[(&str, String)]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_tidemark"))
        .current_dir(s.path(""))
        .args(["apply", "--delta", "--out", lake])
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    assert_success(&output);
    stdout(&output)
}

/// A table whose changes carry a sequence (the Databricks AUTO CDC documentation's example,
/// as tests/history.rs has it), in four DMS-named files whose sequences interleave: applied
/// in any order, they give one table.
const SEQUENCED_SPEC: &str = r#"
[table]
name = "users"
key = ["userId"]
columns = [
  { name = "userId", type = "int64" },
  { name = "name", type = "string" },
  { name = "city", type = "string" },
]

[cdc]
op_column = "operation"
sequence = { column = "sequenceNum", kind = "number" }
ops = { insert = ["INSERT"], update = ["UPDATE"], delete = ["DELETE"] }
"#;

const SEQUENCED_FILES: [(&str, &str); 4] = [
    (
        "20240101-000000001.csv",
        "124,Raul,Oaxaca,INSERT,1\n123,Isabel,Monterrey,INSERT,1\n",
    ),
    (
        "20240101-000000002.csv",
        "125,Mercedes,Tijuana,INSERT,2\n126,Lily,Cancun,INSERT,2\n",
    ),
    (
        "20240101-000000003.csv",
        "123,,,DELETE,6\n125,Mercedes,Guadalajara,UPDATE,6\n",
    ),
    (
        "20240101-000000004.csv",
        "125,Mercedes,Mexicali,UPDATE,5\n123,Isabel,Chihuahua,UPDATE,5\n",
    ),
];

/// Writes the spec and the sequenced files into `s`; returns the files' paths.
fn sequenced(s: &Scratch) -> Vec<String> {
    s.write("spec.toml", SEQUENCED_SPEC);
    SEQUENCED_FILES
        .iter()
        .map(|(name, rows)| {
            s.write(
                &format!("cdc/{name}"),
                format!("userId,name,city,operation,sequenceNum\n{rows}"),
            )
            .display()
            .to_string()
        })
        .collect()
}

/// `tidemark apply --delta --spec spec.toml --changes FILE --out lake`.
fn sequenced_run(s: &Scratch, lake: &str, file: String, env: &[(&str, String)]) {
    run_delta(
        s,
        lake,
        &[
            "--spec".into(),
            "spec.toml".into(),
            "--changes".into(),
            file,
        ],
        env,
    );
}

/// The sequenced files applied all at once into an output folder.
fn sequenced_folder_run(s: &Scratch, files: &[String]) -> PathBuf {
    let mut args = vec![
        "apply",
        "--spec",
        "spec.toml",
        "--out",
        "folder",
        "--quiet",
        "--changes",
    ];
    args.extend(files.iter().map(String::as_str));
    assert_success(&tidemark(&s.path(""), &args));
    s.path("folder/snapshot.parquet")
}

/// The other sequenced files applied to `lake` at once, each by its own process: every commit
/// but one finds its version taken and redoes its work on the newer table.
fn apply_at_once(s: &Scratch, lake: &str, files: &[String], env: &[(&str, String)]) {
    let children: Vec<_> = files
        .iter()
        .map(|file| {
            Command::new(env!("CARGO_BIN_EXE_tidemark"))
                .current_dir(s.path(""))
                .args([
                    "apply",
                    "--delta",
                    "--spec",
                    "spec.toml",
                    "--out",
                    lake,
                    "--quiet",
                ])
                .args(["--changes", file])
                .envs(env.iter().map(|(k, v)| (k, v)))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        assert_success(&child.wait_with_output().unwrap());
    }
}

#[test]
fn the_seed_applied_a_file_at_a_time_to_a_delta_table_is_the_folder_run() {
    let s = Scratch::new();
    let folder = folder_run(&s);
    for (i, change) in SEED_CHANGES.iter().enumerate() {
        delta_run(&s, "lake", i == 0, change, &[]);
    }
    let lake = s.path("lake").display().to_string();
    assert_delta_is(
        &format!("{lake}/table"),
        &folder.join("snapshot.parquet"),
        &[],
    );
    assert_delta_is(
        &format!("{lake}/enriched"),
        &folder.join("enriched.parquet"),
        &[],
    );
}

#[test]
fn each_version_of_the_table_is_the_folder_run_up_to_that_file() {
    let s = Scratch::new();
    for (i, change) in SEED_CHANGES.iter().enumerate() {
        delta_run(&s, "lake", i == 0, change, &[]);
    }
    let lake = s.path("lake/table").display().to_string();
    // Version 0 is the full load with the first file; each later file made one version.
    for upto in 1..=SEED_CHANGES.len() {
        let t = Scratch::new();
        let mut args = vec![
            "apply".to_string(),
            "--snapshot".into(),
            seed_file("LOAD00000001.csv"),
            "--changes".into(),
        ];
        args.extend(SEED_CHANGES[..upto].iter().map(|f| seed_file(f)));
        args.extend(["--out".into(), "folder".into(), "--quiet".into()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_success(&tidemark(&t.path(""), &args));
        let expected = t.path("folder/snapshot.parquet");
        assert_eq!(
            read_delta(&lake, &expected, &[], Some(upto as u64 - 1)),
            table_rows(&read_parquet(&expected)),
            "version {}",
            upto - 1
        );
    }
}

/// The `add` and `remove` actions of one commit of the table at `table` (a local folder), as
/// the partition (bucket) each names.
fn commit_actions(table: &Path, version: u64, column: &str) -> (Vec<String>, Vec<String>) {
    let log =
        std::fs::read_to_string(table.join(format!("_delta_log/{version:020}.json"))).unwrap();
    let (mut added, mut removed) = (Vec::new(), Vec::new());
    for line in log.lines() {
        let action: serde_json::Value = serde_json::from_str(line).unwrap();
        for (kind, into) in [("add", &mut added), ("remove", &mut removed)] {
            if let Some(file) = action.get(kind) {
                // Remove actions need not repeat the partition values: the path has them.
                let path = file["path"].as_str().unwrap();
                let bucket = path
                    .split('/')
                    .find_map(|p| p.strip_prefix(column)?.strip_prefix('='));
                into.push(bucket.expect("a bucket's file").to_string());
            }
        }
    }
    (added, removed)
}

#[test]
fn a_run_rewrites_only_the_buckets_its_changes_touch() {
    let s = Scratch::new();
    delta_run(&s, "lake", true, SEED_CHANGES[0], &[]);
    // One update of one key, its city unchanged, under the same as_of as the first run.
    let one = s.write(
        "one/20211019-000000000.csv",
        "U,6,Mindy George,Los Angeles,2021-10-20\n",
    );
    let args = [
        "--changes".into(),
        one.display().to_string(),
        "--as-of".into(),
        "2021-10-17".into(),
    ];
    let printed = run_delta(&s, "lake", &args, &[]);
    let (added, removed) = commit_actions(&s.path("lake/table"), 1, "_tidemark_bucket");
    assert_eq!(added.len(), 1, "one file added: {added:?}\n{printed}");
    assert_eq!(removed, added, "the bucket's old file removed, no other");
    assert!(printed.contains("1 of 8 buckets rewritten"), "{printed}");
    // The enriched table: only the partition of the key's city, whose features it computed
    // again (they match a folder run's: the_seed_... tests).
    let (added, removed) = commit_actions(&s.path("lake/enriched"), 1, "_tidemark_group_bucket");
    assert_eq!(added.len(), 1, "one group's file added: {added:?}");
    assert_eq!(removed, added, "that group's old file removed, no other");
    let folder = [
        "apply",
        "--snapshot",
        &seed_file("LOAD00000001.csv"),
        "--changes",
        &seed_file(SEED_CHANGES[0]),
        one.to_str().unwrap(),
        "--as-of",
        "2021-10-17",
        "--out",
        "folder",
        "--quiet",
    ];
    assert_success(&tidemark(&s.path(""), &folder));
    for (table, file) in [
        ("table", "snapshot.parquet"),
        ("enriched", "enriched.parquet"),
    ] {
        let expected = s.path("folder").join(file);
        assert_delta_is(
            &s.path("lake").join(table).display().to_string(),
            &expected,
            &[],
        );
    }
}

#[test]
fn change_files_applied_again_change_nothing_in_the_table() {
    // Without a sequence (the seed), the table remembers which files it applied.
    let s = Scratch::new();
    let folder = folder_run(&s);
    for (i, change) in SEED_CHANGES.iter().enumerate() {
        delta_run(&s, "lake", i == 0, change, &[]);
    }
    let printed = delta_run(&s, "lake", false, SEED_CHANGES[2], &[]);
    assert!(
        printed.contains("version 4 (0 of 8 buckets rewritten)"),
        "{printed}"
    );
    let lake = s.path("lake").display().to_string();
    assert_delta_is(
        &format!("{lake}/table"),
        &folder.join("snapshot.parquet"),
        &[],
    );

    // With one, by the positions it keeps, even under another name.
    let s = Scratch::new();
    let files = sequenced(&s);
    let expected = sequenced_folder_run(&s, &files);
    for file in &files {
        sequenced_run(&s, "lake", file.clone(), &[]);
    }
    let renamed = s.write(
        "again/20240102-000000000.csv",
        std::fs::read(&files[1]).unwrap(),
    );
    sequenced_run(&s, "lake", renamed.display().to_string(), &[]);
    assert_delta_is(&s.path("lake/table").display().to_string(), &expected, &[]);
}

#[test]
fn runs_at_the_same_time_on_one_table_lose_no_change() {
    let s = Scratch::new();
    let files = sequenced(&s);
    let expected = sequenced_folder_run(&s, &files);
    sequenced_run(&s, "lake", files[0].clone(), &[]);
    apply_at_once(&s, "lake", &files[1..], &[]);
    assert_delta_is(&s.path("lake/table").display().to_string(), &expected, &[]);
}

#[test]
fn a_snapshot_given_to_an_existing_table_is_refused() {
    let s = Scratch::new();
    delta_run(&s, "lake", true, SEED_CHANGES[0], &[]);
    let output = tidemark(
        &s.path(""),
        &[
            "apply",
            "--delta",
            "--out",
            "lake",
            "--snapshot",
            &seed_file("LOAD00000001.csv"),
            "--changes",
            &seed_file(SEED_CHANGES[1]),
        ],
    );
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("a snapshot is read only when the table is created"),
        "{}",
        stderr(&output)
    );
}

/// A moto S3 server on a free port, for all tests of this file: started by the first that
/// needs it, stopped when the test process ends (its keeper waits on our end of a pipe).
struct S3 {
    endpoint: String,
    _keeper: Mutex<(Child, ChildStdin)>,
}

fn s3() -> &'static S3 {
    static SERVER: OnceLock<S3> = OnceLock::new();
    SERVER.get_or_init(|| {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let keeper = "import subprocess, sys\n\
            server = subprocess.Popen([sys.executable, '-m', 'moto.server', '-p', sys.argv[1]],\n\
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n\
            sys.stdin.read()\n\
            server.terminate()\n";
        let mut child = Command::new(python())
            .args(["-c", keeper, &port.to_string()])
            .stdin(Stdio::piped())
            .spawn()
            .expect("python runs");
        let stdin = child.stdin.take().unwrap();
        let endpoint = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        S3 {
            endpoint,
            _keeper: Mutex::new((child, stdin)),
        }
    })
}

fn s3_env() -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", s3().endpoint.clone()),
        ("AWS_ALLOW_HTTP", "true".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "tidemark".into()),
        ("AWS_SECRET_ACCESS_KEY", "tidemark".into()),
    ]
}

fn create_bucket(name: &str) {
    let script = "import boto3, os, sys\n\
        boto3.client('s3', endpoint_url=os.environ['AWS_ENDPOINT_URL']).create_bucket(Bucket=sys.argv[1])\n";
    let output = Command::new(python())
        .args(["-c", script, name])
        .envs(s3_env())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn on_s3_the_table_is_the_folder_run() {
    let s = Scratch::new();
    let folder = folder_run(&s);
    create_bucket("lake-seed");
    let env = s3_env();
    for (i, change) in SEED_CHANGES.iter().enumerate() {
        delta_run(&s, "s3://lake-seed/tables/users", i == 0, change, &env);
    }
    assert_delta_is(
        "s3://lake-seed/tables/users/table",
        &folder.join("snapshot.parquet"),
        &env,
    );
    assert_delta_is(
        "s3://lake-seed/tables/users/enriched",
        &folder.join("enriched.parquet"),
        &env,
    );
}

#[test]
fn on_s3_runs_at_the_same_time_lose_no_change() {
    let s = Scratch::new();
    let files = sequenced(&s);
    let expected = sequenced_folder_run(&s, &files);
    create_bucket("lake-race");
    let env = s3_env();
    let lake = "s3://lake-race/users";
    sequenced_run(&s, lake, files[0].clone(), &env);
    apply_at_once(&s, lake, &files[1..], &env);
    assert_delta_is("s3://lake-race/users/table", &expected, &env);
}

// The edge function on Delta tables (`handle-s3-event --delta`): objects read from S3 by key
// and ETag, one commit per event, the table equal to the CLI's whatever the delivery.

/// The seed as DMS writes it to S3: the full load at the table's folder, changes below dates.
fn seed_objects() -> Vec<(String, PathBuf)> {
    let mut objects = vec![(
        "users/LOAD00000001.csv".to_string(),
        seed().join("LOAD00000001.csv"),
    )];
    for name in SEED_CHANGES {
        let (y, m, d) = (&name[0..4], &name[4..6], &name[6..8]);
        objects.push((format!("users/{y}/{m}/{d}/{name}"), seed().join(name)));
    }
    objects
}

/// Uploads each file to `bucket` at its key; the ETags S3 gave them, by key.
fn upload(
    bucket: &str,
    objects: &[(String, PathBuf)],
) -> std::collections::HashMap<String, String> {
    let script = "import boto3, json, os, sys\n\
        s3 = boto3.client('s3', endpoint_url=os.environ['AWS_ENDPOINT_URL'])\n\
        bucket, objects = sys.argv[1], json.loads(sys.argv[2])\n\
        etags = {}\n\
        for key, path in objects:\n\
        \x20   with open(path, 'rb') as f:\n\
        \x20       etags[key] = s3.put_object(Bucket=bucket, Key=key, Body=f.read())['ETag'].strip('\"')\n\
        print(json.dumps(etags))\n";
    let listed: Vec<(&str, String)> = objects
        .iter()
        .map(|(k, p)| (k.as_str(), p.display().to_string()))
        .collect();
    let output = Command::new(python())
        .args([
            "-c",
            script,
            bucket,
            &serde_json::to_string(&listed).unwrap(),
        ])
        .envs(s3_env())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// An S3 notification announcing `key` of `bucket` in the version `etag`.
fn created_event(bucket: &str, key: &str, etag: &str) -> String {
    serde_json::json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": bucket}, "object": {"key": key, "size": 1, "eTag": etag}}
    }]})
    .to_string()
}

/// `tidemark handle-s3-event --delta` of one notification, as a Lambda invocation would run
/// it; its output (one JSON line per record).
fn handle_on_delta(
    s: &Scratch,
    output: &str,
    event: &str,
    extra: &[&str],
    env: &[(&str, String)],
) -> std::process::Output {
    let event_file = s.write("event.json", event);
    Command::new(env!("CARGO_BIN_EXE_tidemark"))
        .current_dir(s.path(""))
        .args([
            "handle-s3-event",
            "--delta",
            "--buckets",
            "8",
            "--output",
            output,
        ])
        .arg(event_file)
        .args(extra)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap()
}

/// The action of the one record of a handled notification.
fn action(output: &std::process::Output) -> String {
    let line: serde_json::Value = serde_json::from_str(stdout(output).trim()).unwrap();
    line["action"].as_str().unwrap().to_string()
}

/// Deliveries in the order S3 might make them: changes before their full load, late,
/// repeated. Indexes into [`seed_objects`] (0 is the full load).
const DELIVERIES: [usize; 9] = [3, 1, 0, 5, 1, 2, 4, 0, 3];

#[test]
fn on_s3_events_in_any_order_give_the_clis_tables() {
    let s = Scratch::new();
    let folder = folder_run(&s);
    create_bucket("dms-shuffled");
    create_bucket("lake-shuffled");
    let env = s3_env();
    let objects = seed_objects();
    let etags = upload("dms-shuffled", &objects);
    let mut actions = Vec::new();
    for index in DELIVERIES {
        let key = &objects[index].0;
        let event = created_event("dms-shuffled", key, &etags[key]);
        let out = handle_on_delta(&s, "s3://lake-shuffled/users", &event, &[], &env);
        assert_success(&out);
        actions.push(action(&out));
    }
    assert_eq!(
        actions,
        [
            "created",   // a change before the load: an empty table with it
            "rebuilt",   // an older change without a sequence: built again in order
            "rebuilt",   // the load: built again from it and both changes
            "applied",   // the newest: its buckets only
            "duplicate", // a repeat (same key, same ETag)
            "rebuilt",   // late
            "rebuilt",   // late
            "duplicate",
            "duplicate",
        ]
    );
    for (table, file) in [
        ("table", "snapshot.parquet"),
        ("enriched", "enriched.parquet"),
    ] {
        assert_delta_is(
            &format!("s3://lake-shuffled/users/{table}"),
            &folder.join(file),
            &env,
        );
    }
}

#[test]
fn on_folders_events_in_any_order_give_the_clis_tables() {
    let s = Scratch::new();
    let folder = folder_run(&s);
    for (key, path) in seed_objects() {
        s.write(&format!("root/dms/{key}"), std::fs::read(path).unwrap());
    }
    let root = s.path("root").display().to_string();
    for index in DELIVERIES {
        let event = created_event("dms", &seed_objects()[index].0, "");
        let out = handle_on_delta(
            &s,
            "s3://lake/users",
            &event,
            &["--bucket-root", &root],
            &[],
        );
        assert_success(&out);
    }
    let lake = s.path("root/lake/users");
    assert_delta_is(
        &lake.join("table").display().to_string(),
        &folder.join("snapshot.parquet"),
        &[],
    );
}

#[test]
fn on_s3_a_bad_change_file_is_rejected_and_never_becomes_part_of_the_table() {
    let s = Scratch::new();
    let folder = folder_run(&s);
    create_bucket("dms-bad");
    create_bucket("lake-bad");
    let env = s3_env();
    let mut objects = seed_objects();
    let bad = s.write("bad.csv", "U,not a number,x\n");
    objects.push(("users/2021/10/18/20211018-000000000.csv".into(), bad));
    let etags = upload("dms-bad", &objects);
    let bad_key = &objects.last().unwrap().0;
    let mut order: Vec<usize> = (0..objects.len()).collect();
    order.rotate_right(1); // the bad file first: before the table exists
    order.push(objects.len() - 1); // and again, late
    for index in order {
        let key = &objects[index].0;
        let event = created_event("dms-bad", key, &etags[key]);
        let out = handle_on_delta(&s, "s3://lake-bad/users", &event, &[], &env);
        if key == bad_key {
            assert!(!out.status.success(), "{}", stdout(&out));
            assert_eq!(action(&out), "failed");
            assert!(stdout(&out).contains(bad_key.as_str()), "{}", stdout(&out));
        } else {
            assert_success(&out);
        }
    }
    assert_delta_is(
        "s3://lake-bad/users/table",
        &folder.join("snapshot.parquet"),
        &env,
    );
}

#[test]
fn on_s3_an_event_for_a_version_since_replaced_is_ignored() {
    let s = Scratch::new();
    create_bucket("dms-replaced");
    let env = s3_env();
    let objects = seed_objects();
    let first = upload("dms-replaced", &objects[..1]);
    let key = &objects[0].0;
    let other = s.write("other.csv", "1,Ann,Austin,2021-10-01\n");
    let second = upload("dms-replaced", &[(key.clone(), other)]);
    assert_ne!(first[key], second[key]);
    let out = handle_on_delta(
        &s,
        "s3://dms-replaced/lake",
        &created_event("dms-replaced", key, &first[key]),
        &[],
        &env,
    );
    assert_success(&out);
    assert_eq!(action(&out), "ignored");
    assert!(stdout(&out).contains("superseded"), "{}", stdout(&out));
}

#[test]
fn on_s3_a_process_killed_before_its_commit_leaves_the_table_and_the_next_event_completes_it() {
    let s = Scratch::new();
    let folder = folder_run(&s);
    create_bucket("dms-killed");
    create_bucket("lake-killed");
    let env = s3_env();
    let objects = seed_objects();
    let etags = upload("dms-killed", &objects);
    let lake = "s3://lake-killed/users";
    let deliver = |index: usize, env: &[(&str, String)]| {
        let key = &objects[index].0;
        handle_on_delta(
            &s,
            lake,
            &created_event("dms-killed", key, &etags[key]),
            &[],
            env,
        )
    };
    for index in 0..3 {
        assert_success(&deliver(index, &env));
    }
    let before = read_delta(
        &format!("{lake}/table"),
        &folder.join("snapshot.parquet"),
        &env,
        None,
    );
    let mut killed = env.clone();
    killed.push(("TIDEMARK_FAILPOINT", "before-delta-commit".into()));
    // Data files written, the commit not: readers see the table as it was.
    assert!(!deliver(3, &killed).status.success());
    let after = read_delta(
        &format!("{lake}/table"),
        &folder.join("snapshot.parquet"),
        &env,
        None,
    );
    assert_eq!(before, after);
    // S3 delivers the event again (a failed Lambda invocation is retried): the work is done.
    for index in 3..objects.len() {
        assert_success(&deliver(index, &env));
    }
    assert_delta_is(
        &format!("{lake}/table"),
        &folder.join("snapshot.parquet"),
        &env,
    );
}

#[test]
fn on_folders_a_late_file_without_a_sequence_takes_its_place_in_dms_order() {
    let s = Scratch::new();
    // Two changes of one key: the later file (by its DMS name) must win, whatever arrives last.
    let monday = s.write(
        "in/20211019-100000000.csv",
        "U,6,Mindy George,Boston,2021-10-19\n",
    );
    let tuesday = s.write(
        "in/20211019-110000000.csv",
        "U,6,Mindy George,Denver,2021-10-19\n",
    );
    let load = seed().join("LOAD00000001.csv");
    assert_success(&tidemark(
        &s.path(""),
        &[
            "apply",
            "--snapshot",
            &load.display().to_string(),
            "--changes",
            &monday.display().to_string(),
            &tuesday.display().to_string(),
            "--out",
            "folder",
            "--quiet",
        ],
    ));
    let objects = [
        ("users/LOAD00000001.csv", load),
        ("users/2021/10/19/20211019-110000000.csv", tuesday),
        ("users/2021/10/19/20211019-100000000.csv", monday),
    ];
    for (key, path) in &objects {
        s.write(&format!("root/dms/{key}"), std::fs::read(path).unwrap());
    }
    let root = s.path("root").display().to_string();
    let mut actions = Vec::new();
    for (key, _) in &objects {
        let event = created_event("dms", key, "");
        let out = handle_on_delta(
            &s,
            "s3://lake/users",
            &event,
            &["--bucket-root", &root],
            &[],
        );
        assert_success(&out);
        actions.push(action(&out));
    }
    assert_eq!(actions, ["created", "applied", "rebuilt"]);
    let folder = s.path("folder");
    for (table, file) in [
        ("table", "snapshot.parquet"),
        ("enriched", "enriched.parquet"),
    ] {
        assert_delta_is(
            &s.path("root/lake/users").join(table).display().to_string(),
            &folder.join(file),
            &[],
        );
    }
}

#[test]
fn the_lambda_bootstrap_hands_each_invocation_to_the_edge_function() {
    let s = Scratch::new();
    let folder = folder_run(&s);
    create_bucket("dms-lambda");
    create_bucket("lake-lambda");
    let objects = seed_objects();
    let etags = upload("dms-lambda", &objects);
    // The function's folder, as its zip unpacks on Lambda: the bootstrap beside the binary.
    let task = s.path("task");
    std::fs::create_dir_all(&task).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_tidemark"), task.join("tidemark")).unwrap();
    let mut events: Vec<PathBuf> = objects
        .iter()
        .enumerate()
        .map(|(i, (key, _))| {
            s.write(
                &format!("events/{i}.json"),
                created_event("dms-lambda", key, &etags[key]),
            )
        })
        .collect();
    events.push(s.write(
        "events/missing.json",
        created_event("dms-lambda", "users/2021/10/20/20211020-000000000.csv", "x"),
    ));
    let output = Command::new(python())
        .arg(repo().join("tests/delta/lambda_runtime.py"))
        .arg(repo().join("deploy/lambda/bootstrap"))
        .args(&events)
        .env("LAMBDA_TASK_ROOT", &task)
        .env("TIDEMARK_OUTPUT", "s3://lake-lambda/users")
        .env("TIDEMARK_SOURCE", "s3://dms-lambda/users/")
        .envs(s3_env())
        .output()
        .unwrap();
    assert_success(&output);
    let answers: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
    let kinds: Vec<&str> = answers
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "response", "response", "response", "response", "response", "response", "error"
        ]
    );
    assert!(
        answers[0]["body"]
            .as_str()
            .unwrap()
            .contains(r#""action":"created""#),
        "{answers:?}"
    );
    assert_delta_is(
        "s3://lake-lambda/users/table",
        &folder.join("snapshot.parquet"),
        &s3_env(),
    );
}

#[test]
fn a_delta_table_is_a_snapshot_the_cli_continues_in_a_folder() {
    let s = Scratch::new();
    let folder = folder_run(&s);
    for (i, change) in SEED_CHANGES[..3].iter().enumerate() {
        delta_run(&s, "lake", i == 0, change, &[]);
    }
    let mut args = vec!["apply", "--snapshot", "lake", "--changes"];
    let rest: Vec<String> = SEED_CHANGES[3..].iter().map(|f| seed_file(f)).collect();
    args.extend(rest.iter().map(String::as_str));
    args.extend(["--out", "continued", "--quiet"]);
    assert_success(&tidemark(&s.path(""), &args));
    for file in ["snapshot.parquet", "enriched.parquet"] {
        assert_eq!(
            table_rows(&read_parquet(&s.path("continued").join(file))),
            table_rows(&read_parquet(&folder.join(file))),
            "{file}"
        );
    }
}

#[test]
fn two_versions_of_a_delta_table_give_the_changes_between_them() {
    let s = Scratch::new();
    for (i, change) in SEED_CHANGES.iter().enumerate() {
        delta_run(&s, "lake", i == 0, change, &[]);
    }
    // Versions 1 and 3: the third and fourth change files, one insert each, lie between them.
    let out = tidemark(
        &s.path(""),
        &[
            "apply",
            "--snapshot",
            "lake/table",
            "--snapshot-version",
            "1",
            "--next-snapshot",
            "lake/table",
            "--next-snapshot-version",
            "3",
            "--out",
            "between",
            "--json",
            "--as-of",
            "2021-10-18",
        ],
    );
    assert_success(&out);
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s.path("between/report.json")).unwrap()).unwrap();
    let outcome = &report["apply"]["outcome"];
    assert_eq!(
        (
            &outcome["inserted"],
            &outcome["updated"],
            &outcome["deleted"]
        ),
        (
            &serde_json::json!(2),
            &serde_json::json!(0),
            &serde_json::json!(0)
        ),
        "{report}"
    );
    let between = s.path("between/snapshot.parquet");
    assert_eq!(
        table_rows(&read_parquet(&between)),
        read_delta(
            &s.path("lake/table").display().to_string(),
            &between,
            &[],
            Some(3)
        ),
    );
    // A version is read from Delta tables only.
    let refused = tidemark(
        &s.path(""),
        &[
            "apply",
            "--snapshot",
            &seed_file("LOAD00000001.csv"),
            "--snapshot-version",
            "1",
            "--out",
            "x",
        ],
    );
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("is not a Delta table"),
        "{}",
        stderr(&refused)
    );
}

#[test]
fn a_full_load_in_parts_is_written_a_part_at_a_time_and_equals_the_folder_run() {
    let s = Scratch::new();
    // The seed's full load cut into three parts, as DMS cuts a large one (MaxFileSize).
    let load = std::fs::read_to_string(seed().join("LOAD00000001.csv")).unwrap();
    let lines: Vec<&str> = load.lines().collect();
    for (i, chunk) in lines.chunks(lines.len() / 3 + 1).enumerate() {
        s.write(
            &format!("load/LOAD0000000{}.csv", i + 1),
            chunk.join("\n") + "\n",
        );
    }
    let changes: Vec<String> = SEED_CHANGES.iter().map(|f| seed_file(f)).collect();
    let mut args = vec!["apply", "--snapshot", "load", "--changes"];
    args.extend(changes.iter().map(String::as_str));
    let mut folder_args = args.clone();
    folder_args.extend(["--out", "folder", "--quiet"]);
    assert_success(&tidemark(&s.path(""), &folder_args));
    args.extend(["--delta", "--out", "lake", "--buckets", "8", "--quiet"]);
    assert_success(&tidemark(&s.path(""), &args));
    for (table, file) in [
        ("table", "snapshot.parquet"),
        ("enriched", "enriched.parquet"),
    ] {
        assert_delta_is(
            &s.path("lake").join(table).display().to_string(),
            &s.path("folder").join(file),
            &[],
        );
    }
    // The rows spilled by feature group on the way to the enriched table are gone.
    assert_eq!(
        s.files_below("lake/table/_tidemark_spill"),
        Vec::<String>::new()
    );
}

#[test]
fn a_key_in_two_parts_of_a_full_load_is_refused_and_no_table_is_written() {
    let s = Scratch::new();
    let load = std::fs::read_to_string(seed().join("LOAD00000001.csv")).unwrap();
    let lines: Vec<&str> = load.lines().collect();
    // The second part repeats the first part's row 8 (key 7), far from any change.
    s.write("load/LOAD00000001.csv", lines[..50].join("\n") + "\n");
    s.write(
        "load/LOAD00000002.csv",
        lines[50..].join("\n") + "\n" + lines[7] + "\n",
    );
    let change = seed_file(SEED_CHANGES[0]);
    let refused = tidemark(
        &s.path(""),
        &[
            "apply",
            "--snapshot",
            "load",
            "--changes",
            &change,
            "--delta",
            "--out",
            "lake",
            "--buckets",
            "8",
            "--quiet",
        ],
    );
    assert!(!refused.status.success());
    let message = stderr(&refused);
    assert!(
        message.contains("load/LOAD00000002.csv, row 54, column `user_id`: duplicate key 7 in the snapshot (first seen in load/LOAD00000001.csv, row 8)"),
        "{message}"
    );
    assert_eq!(s.files_below("lake/table/_delta_log"), Vec::<String>::new());
}

#[test]
fn on_s3_a_commit_the_server_answers_with_errors_is_tried_again_and_lands_once() {
    let s = Scratch::new();
    let folder = folder_run(&s);
    create_bucket("lake-faulty");
    let count = s.path("failed");
    let mut proxy = Command::new(python())
        .arg(repo().join("tests/delta/faulty_s3.py"))
        .args([&s3().endpoint, "3"])
        .arg(&count)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut port = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(proxy.stdout.take().unwrap()),
        &mut port,
    )
    .unwrap();
    let mut env = s3_env();
    env[0].1 = format!("http://127.0.0.1:{}", port.trim());
    // The first commit's log entry is answered `503 SlowDown` three times.
    for (i, change) in SEED_CHANGES.iter().enumerate() {
        delta_run(&s, "s3://lake-faulty/users", i == 0, change, &env);
    }
    drop(proxy.stdin.take());
    proxy.wait().unwrap();
    assert_eq!(std::fs::read_to_string(&count).unwrap(), "3");
    assert_delta_is(
        "s3://lake-faulty/users/table",
        &folder.join("snapshot.parquet"),
        &s3_env(),
    );
    // One version per run: no run's commit landed twice.
    let versions = read_delta_versions("s3://lake-faulty/users/table", &s3_env());
    assert_eq!(versions, SEED_CHANGES.len() as u64 - 1);
}

/// The latest version of the Delta table at `uri`, as delta-rs sees it.
fn read_delta_versions(uri: &str, env: &[(&str, String)]) -> u64 {
    let script = "import os, sys, deltalake\n\
        options = {'AWS_ENDPOINT_URL': os.environ['AWS_ENDPOINT_URL'], 'AWS_ALLOW_HTTP': 'true'}\n\
        print(deltalake.DeltaTable(sys.argv[1], storage_options=options).version())\n";
    let output = Command::new(python())
        .args(["-c", script, uri])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap()
}
