//! History (SCD type 2, `[history]` in the spec), through the program, on the worked examples
//! of the Databricks AUTO CDC documentation ("Example: SCD type 1 and SCD type 2 processing
//! with CDF source data"): the change rows are the documentation's, typed in here, and each
//! test expects the table the documentation shows.

mod common;

use common::*;

/// The documentation's table: a key, two columns, an operation word and a number sequence.
fn spec(history: &str) -> String {
    format!(
        r#"
[table]
name = "users"
key = ["userId"]
columns = [
  {{ name = "userId", type = "int64" }},
  {{ name = "name", type = "string" }},
  {{ name = "city", type = "string" }},
]

[cdc]
op_column = "operation"
sequence = {{ column = "sequenceNum", kind = "number" }}
ops = {{ insert = ["INSERT"], update = ["UPDATE"], delete = ["DELETE"] }}

{history}
"#
    )
}

/// The documentation's source rows, in its order (two updates come after the changes that
/// follow them in sequence: out of order on purpose).
const CHANGES: &str = "\
userId,name,city,operation,sequenceNum
124,Raul,Oaxaca,INSERT,1
123,Isabel,Monterrey,INSERT,1
125,Mercedes,Tijuana,INSERT,2
126,Lily,Cancun,INSERT,2
123,,,DELETE,6
125,Mercedes,Guadalajara,UPDATE,6
125,Mercedes,Mexicali,UPDATE,5
123,Isabel,Chihuahua,UPDATE,5
";

/// `tidemark apply` of `changes` (files in `s`) with `spec.toml`, CDC only, written as CSV to
/// `out`; extra arguments after.
fn apply(s: &Scratch, changes: &[&str], extra: &[&str]) {
    let mut args = vec!["apply", "--spec", "spec.toml", "--changes"];
    args.extend_from_slice(changes);
    args.extend_from_slice(&["--out", "out", "--format", "csv", "--quiet"]);
    args.extend_from_slice(extra);
    assert_success(&tidemark(&s.path(""), &args));
}

/// The columns `names` of the CSV file `path` in `s`, rows in file order, header first.
fn columns(s: &Scratch, path: &str, names: &[&str]) -> Vec<Vec<String>> {
    let bytes = std::fs::read(s.path(path)).unwrap();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes.as_slice());
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    let at: Vec<usize> = names
        .iter()
        .map(|n| rows[0].iter().position(|h| h == n).expect(n))
        .collect();
    rows.iter()
        .map(|r| at.iter().map(|&i| r[i].clone()).collect())
        .collect()
}

fn table(expected: &[&[&str]]) -> Vec<Vec<String>> {
    expected
        .iter()
        .map(|r| r.iter().map(|v| v.to_string()).collect())
        .collect()
}

const VERSION: [&str; 5] = ["userId", "name", "city", "valid_from", "valid_to"];

#[test]
fn scd_type_1_keeps_the_latest_row_of_each_key() {
    let s = Scratch::new();
    s.write("spec.toml", spec("[history]"));
    s.write("changes.csv", CHANGES);
    apply(&s, &["changes.csv"], &[]);
    assert_eq!(
        csv_rows(&std::fs::read(s.path("out/snapshot.csv")).unwrap()),
        table(&[
            &["userId", "name", "city"],
            &["124", "Raul", "Oaxaca"],
            &["125", "Mercedes", "Guadalajara"],
            &["126", "Lily", "Cancun"],
        ])
    );
}

#[test]
fn scd_type_2_keeps_every_version_with_the_out_of_order_updates_at_their_place() {
    let s = Scratch::new();
    s.write("spec.toml", spec("[history]"));
    s.write("changes.csv", CHANGES);
    apply(&s, &["changes.csv"], &[]);
    assert_eq!(
        columns(&s, "out/history.csv", &VERSION),
        table(&[
            &VERSION,
            &["123", "Isabel", "Monterrey", "1", "5"],
            &["123", "Isabel", "Chihuahua", "5", "6"],
            &["124", "Raul", "Oaxaca", "1", ""],
            &["125", "Mercedes", "Tijuana", "2", "5"],
            &["125", "Mercedes", "Mexicali", "5", "6"],
            &["125", "Mercedes", "Guadalajara", "6", ""],
            &["126", "Lily", "Cancun", "2", ""],
        ])
    );
    // Beyond the documentation's columns: which version is current, which one a delete
    // closed, and the change that opened each.
    assert_eq!(
        columns(
            &s,
            "out/history.csv",
            &[
                "userId",
                "is_current",
                "deleted",
                "_tidemark_op",
                "_tidemark_row"
            ]
        ),
        table(&[
            &[
                "userId",
                "is_current",
                "deleted",
                "_tidemark_op",
                "_tidemark_row"
            ],
            &["123", "false", "false", "I", "3"],
            &["123", "false", "true", "U", "9"],
            &["124", "true", "false", "I", "2"],
            &["125", "false", "false", "I", "4"],
            &["125", "false", "false", "U", "8"],
            &["125", "true", "false", "U", "7"],
            &["126", "true", "false", "I", "5"],
        ])
    );
}

#[test]
fn tracking_history_on_a_column_subset_updates_the_version_in_place_for_the_others() {
    // The documentation's `track_history_except_column_list = ["city"]`.
    let s = Scratch::new();
    s.write("spec.toml", spec("[history]\ntrack_except = [\"city\"]"));
    s.write("changes.csv", CHANGES);
    apply(&s, &["changes.csv"], &[]);
    assert_eq!(
        columns(&s, "out/history.csv", &VERSION),
        table(&[
            &VERSION,
            &["123", "Isabel", "Chihuahua", "1", "6"],
            &["124", "Raul", "Oaxaca", "1", ""],
            &["125", "Mercedes", "Guadalajara", "2", ""],
            &["126", "Lily", "Cancun", "2", ""],
        ])
    );
    // `track` names the tracked columns instead: the same table.
    let t = Scratch::new();
    t.write(
        "spec.toml",
        spec("[history]\ntrack = [\"userId\", \"name\"]"),
    );
    t.write("changes.csv", CHANGES);
    apply(&t, &["changes.csv"], &[]);
    assert_eq!(
        columns(&t, "out/history.csv", &VERSION),
        columns(&s, "out/history.csv", &VERSION)
    );
}

/// The documentation's rows split into files, applied over several runs in an order that is
/// not the sequence's, some twice.
#[test]
fn history_over_several_runs_with_late_and_repeated_files_is_the_history_of_one_run() {
    let lines: Vec<&str> = CHANGES.lines().collect();
    let header = lines[0];
    let file = |rows: &[usize]| {
        let mut text = format!("{header}\n");
        for &r in rows {
            text.push_str(lines[r]);
            text.push('\n');
        }
        text
    };
    let s = Scratch::new();
    s.write("spec.toml", spec("[history]"));
    // Named so that they apply in this order within a run; across runs, as given.
    s.write("a.csv", file(&[1, 2, 3, 4])); // inserts, sequence 1 and 2
    s.write("b.csv", file(&[5, 6])); // sequence 6
    s.write("c.csv", file(&[7, 8])); // sequence 5: late after b
    apply(&s, &["b.csv"], &[]);
    // The next runs read the earlier run's folder: its snapshot, state and change log.
    apply(&s, &["a.csv", "b.csv"], &["--snapshot", "out"]);
    apply(&s, &["c.csv"], &["--snapshot", "out"]);
    apply(&s, &["c.csv", "a.csv"], &["--snapshot", "out"]);

    let one = Scratch::new();
    one.write("spec.toml", spec("[history]"));
    one.write("changes.csv", CHANGES);
    apply(&one, &["changes.csv"], &[]);
    let provenance_free = [
        "userId",
        "name",
        "city",
        "valid_from",
        "valid_to",
        "is_current",
        "deleted",
    ];
    assert_eq!(
        columns(&s, "out/history.csv", &provenance_free),
        columns(&one, "out/history.csv", &provenance_free)
    );
    // The table is the latest version of each key, late files or not.
    assert_eq!(
        csv_rows(&std::fs::read(s.path("out/snapshot.csv")).unwrap()),
        csv_rows(&std::fs::read(one.path("out/snapshot.csv")).unwrap())
    );
    // The change log holds each change once.
    let log = read_parquet(&s.path("out/change_log.parquet"));
    assert_eq!(log.num_rows(), 8);
}

#[test]
fn a_snapshot_starts_the_history_with_versions_valid_from_the_load() {
    let s = Scratch::new();
    s.write("spec.toml", spec("[history]"));
    s.write(
        "LOAD00000001.csv",
        "userId,name,city\n123,Isabel,Monterrey\n124,Raul,Oaxaca\n",
    );
    s.write(
        "changes.csv",
        "userId,name,city,operation,sequenceNum\n123,Isabel,Chihuahua,UPDATE,5\n",
    );
    apply(&s, &["changes.csv"], &["--snapshot", "LOAD00000001.csv"]);
    assert_eq!(
        columns(
            &s,
            "out/history.csv",
            &["userId", "city", "valid_from", "valid_to", "_tidemark_op"]
        ),
        table(&[
            &["userId", "city", "valid_from", "valid_to", "_tidemark_op"],
            &["123", "Monterrey", "", "5", "L"],
            &["123", "Chihuahua", "5", "", "U"],
            &["124", "Oaxaca", "", "", "L"],
        ])
    );
}

#[test]
fn without_a_history_section_there_is_no_history() {
    let s = Scratch::new();
    s.write("spec.toml", spec(""));
    s.write("changes.csv", CHANGES);
    apply(&s, &["changes.csv"], &[]);
    assert!(!s.path("out/history.csv").exists());
    assert!(!s.path("out/change_log.parquet").exists());
    assert!(s.path("out/snapshot.csv").exists());
}

#[test]
fn history_needs_change_files_with_a_sequence() {
    let s = Scratch::new();
    s.write(
        "spec.toml",
        spec("[history]").replace(
            "sequence = { column = \"sequenceNum\", kind = \"number\" }\n",
            "",
        ),
    );
    s.write(
        "changes.csv",
        "userId,name,city,operation\n124,Raul,Oaxaca,INSERT\n",
    );
    let out = tidemark(
        &s.path(""),
        &[
            "apply",
            "--spec",
            "spec.toml",
            "--changes",
            "changes.csv",
            "--out",
            "out",
        ],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("history needs change files that carry a sequence"),
        "{}",
        stderr(&out)
    );
}

/// A source that delivers only full extracts: the changes between two snapshots, by key.
const MONDAY: &str =
    "userId,name,city\n123,Isabel,Monterrey\n124,Raul,Oaxaca\n125,Mercedes,Tijuana\n";
const TUESDAY: &str = "userId,name,city\n124,Raul,Oaxaca\n125,Mercedes,Mexicali\n126,Lily,Cancun\n";

#[test]
fn changes_between_two_snapshots_are_inserts_updates_and_deletes_by_key() {
    let s = Scratch::new();
    s.write("spec.toml", spec("[history]"));
    s.write("monday.csv", MONDAY);
    s.write("tuesday.csv", TUESDAY);
    let out = tidemark(
        &s.path(""),
        &[
            "apply",
            "--spec",
            "spec.toml",
            "--snapshot",
            "monday.csv",
            "--next-snapshot",
            "tuesday.csv",
            "--snapshot-time",
            "2024-01-02",
            "--out",
            "out",
            "--format",
            "csv",
            "--quiet",
        ],
    );
    assert_success(&out);
    // The table is the newer snapshot.
    assert_eq!(
        csv_rows(&std::fs::read(s.path("out/snapshot.csv")).unwrap()),
        csv_rows(TUESDAY.as_bytes())
    );
    // One diff row per changed key: 123 deleted, 125 updated, 126 inserted; 124 unchanged.
    assert_eq!(
        columns(&s, "out/diff.csv", &["userId", "change"]),
        table(&[
            &["userId", "change"],
            &["125", "updated"],
            &["126", "inserted"],
            &["123", "deleted"],
        ])
    );
    // History: Monday's rows from the load, Tuesday's changes at the snapshot's time.
    assert_eq!(
        columns(
            &s,
            "out/history.csv",
            &[
                "userId",
                "city",
                "valid_from",
                "valid_to",
                "deleted",
                "_tidemark_file"
            ]
        ),
        table(&[
            &[
                "userId",
                "city",
                "valid_from",
                "valid_to",
                "deleted",
                "_tidemark_file"
            ],
            &[
                "123",
                "Monterrey",
                "",
                "2024-01-02 00:00:00.000000",
                "true",
                "monday.csv"
            ],
            &["124", "Oaxaca", "", "", "false", "monday.csv"],
            &[
                "125",
                "Tijuana",
                "",
                "2024-01-02 00:00:00.000000",
                "false",
                "monday.csv"
            ],
            &[
                "125",
                "Mexicali",
                "2024-01-02 00:00:00.000000",
                "",
                "false",
                "tuesday.csv"
            ],
            &[
                "126",
                "Cancun",
                "2024-01-02 00:00:00.000000",
                "",
                "false",
                "tuesday.csv"
            ],
        ])
    );
}

#[test]
fn a_folder_of_dated_snapshots_applied_one_after_another_keeps_every_version() {
    // Wednesday brings 123 back: a third version of the history, a new one after the delete.
    let s = Scratch::new();
    s.write("spec.toml", spec("[history]"));
    s.write("monday.csv", MONDAY);
    s.write("tuesday.csv", TUESDAY);
    s.write(
        "wednesday.csv",
        "userId,name,city\n123,Isabel,Chihuahua\n124,Raul,Oaxaca\n",
    );
    let run = |args: &[&str]| {
        let mut all = vec![
            "apply",
            "--spec",
            "spec.toml",
            "--out",
            "out",
            "--format",
            "csv",
            "--quiet",
        ];
        all.extend_from_slice(args);
        assert_success(&tidemark(&s.path(""), &all));
    };
    run(&[
        "--snapshot",
        "monday.csv",
        "--next-snapshot",
        "tuesday.csv",
        "--snapshot-time",
        "2024-01-02",
    ]);
    run(&[
        "--snapshot",
        "out",
        "--next-snapshot",
        "wednesday.csv",
        "--snapshot-time",
        "2024-01-03",
    ]);
    assert_eq!(
        columns(
            &s,
            "out/history.csv",
            &["userId", "city", "valid_from", "valid_to", "is_current"]
        ),
        table(&[
            &["userId", "city", "valid_from", "valid_to", "is_current"],
            &[
                "123",
                "Monterrey",
                "",
                "2024-01-02 00:00:00.000000",
                "false"
            ],
            &["123", "Chihuahua", "2024-01-03 00:00:00.000000", "", "true"],
            &["124", "Oaxaca", "", "", "true"],
            &["125", "Tijuana", "", "2024-01-02 00:00:00.000000", "false"],
            &[
                "125",
                "Mexicali",
                "2024-01-02 00:00:00.000000",
                "2024-01-03 00:00:00.000000",
                "false"
            ],
            &[
                "126",
                "Cancun",
                "2024-01-02 00:00:00.000000",
                "2024-01-03 00:00:00.000000",
                "false"
            ],
        ])
    );
    assert_eq!(
        csv_rows(&std::fs::read(s.path("out/snapshot.csv")).unwrap()),
        csv_rows(b"userId,name,city\n123,Isabel,Chihuahua\n124,Raul,Oaxaca\n")
    );
}

/// Partial updates: a stream that sends only the changed columns of an update, nulls for the
/// rest (`ignore_null_updates`).
const PARTIAL: &str = "\
userId,name,city,operation,sequenceNum
123,Isabel,Monterrey,INSERT,1
123,,Chihuahua,UPDATE,2
123,Isabella,,UPDATE,3
124,Raul,,INSERT,4
125,,Tijuana,UPDATE,5
";

#[test]
fn ignore_null_updates_keeps_the_values_an_update_leaves_null() {
    let s = Scratch::new();
    s.write(
        "spec.toml",
        spec("[history]").replace("[cdc]\n", "[cdc]\nignore_null_updates = true\n"),
    );
    s.write("changes.csv", PARTIAL);
    apply(&s, &["changes.csv"], &[]);
    // 123 keeps its name through the city update and its city through the name update; an
    // insert is taken as given (124 has no city); an update of a missing key has nothing to
    // keep (125 has no name).
    assert_eq!(
        csv_rows(&std::fs::read(s.path("out/snapshot.csv")).unwrap()),
        table(&[
            &["userId", "name", "city"],
            &["123", "Isabella", "Chihuahua"],
            &["124", "Raul", ""],
            &["125", "", "Tijuana"],
        ])
    );
    // Every version is whole.
    assert_eq!(
        columns(
            &s,
            "out/history.csv",
            &["userId", "name", "city", "valid_from"]
        ),
        table(&[
            &["userId", "name", "city", "valid_from"],
            &["123", "Isabel", "Monterrey", "1"],
            &["123", "Isabel", "Chihuahua", "2"],
            &["123", "Isabella", "Chihuahua", "3"],
            &["124", "Raul", "", "4"],
            &["125", "", "Tijuana", "5"],
        ])
    );
}

#[test]
fn ignore_null_updates_on_listed_columns_only_and_across_runs() {
    let s = Scratch::new();
    s.write(
        "spec.toml",
        spec("").replace("[cdc]\n", "[cdc]\nignore_null_updates = [\"city\"]\n"),
    );
    let lines: Vec<&str> = PARTIAL.lines().collect();
    let file = |line: usize| format!("{}\n{}\n", lines[0], lines[line]);
    let table_now = |s: &Scratch| csv_rows(&std::fs::read(s.path("out/snapshot.csv")).unwrap());
    s.write("a.csv", file(1));
    s.write("b.csv", file(2));
    s.write("c.csv", file(3));
    apply(&s, &["a.csv"], &[]);
    // Each later run fills from the table the run before left.
    apply(&s, &["b.csv"], &["--snapshot", "out"]);
    // `name` is not listed: the city update's null name is taken as given.
    assert_eq!(
        table_now(&s),
        table(&[&["userId", "name", "city"], &["123", "", "Chihuahua"]])
    );
    apply(&s, &["c.csv"], &["--snapshot", "out"]);
    // `city` is: the name update's null city keeps Chihuahua.
    assert_eq!(
        table_now(&s),
        table(&[
            &["userId", "name", "city"],
            &["123", "Isabella", "Chihuahua"]
        ])
    );
}

/// The documentation's rows with its truncate, at sequence 3 (`apply_as_truncates`).
fn with_truncate() -> String {
    format!("{CHANGES},,,TRUNCATE,3\n")
}

fn truncating(spec: String) -> String {
    spec.replace(
        "ops = { insert = [\"INSERT\"], update = [\"UPDATE\"], delete = [\"DELETE\"] }",
        "ops = { insert = [\"INSERT\"], update = [\"UPDATE\"], delete = [\"DELETE\"], truncate = [\"TRUNCATE\"] }",
    )
}

#[test]
fn a_truncate_empties_the_table_at_its_place_in_the_order() {
    let s = Scratch::new();
    s.write("spec.toml", truncating(spec("[history]")));
    s.write("changes.csv", with_truncate());
    apply(&s, &["changes.csv"], &[]);
    // Everything before sequence 3 is gone; the changes after it apply to the empty table.
    assert_eq!(
        csv_rows(&std::fs::read(s.path("out/snapshot.csv")).unwrap()),
        table(&[
            &["userId", "name", "city"],
            &["125", "Mercedes", "Guadalajara"]
        ])
    );
    // The truncate closes every version open at its place, as deleted.
    assert_eq!(
        columns(
            &s,
            "out/history.csv",
            &["userId", "city", "valid_from", "valid_to", "deleted"]
        ),
        table(&[
            &["userId", "city", "valid_from", "valid_to", "deleted"],
            &["123", "Monterrey", "1", "3", "true"],
            &["123", "Chihuahua", "5", "6", "true"],
            &["124", "Oaxaca", "1", "3", "true"],
            &["125", "Tijuana", "2", "3", "true"],
            &["125", "Mexicali", "5", "6", "false"],
            &["125", "Guadalajara", "6", "", "false"],
            &["126", "Cancun", "2", "3", "true"],
        ])
    );
    // The report counts it.
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s.path("out/report.json")).unwrap()).unwrap();
    assert_eq!(report["changes"][0]["truncates"], 1);
}

#[test]
fn a_truncate_deletes_the_snapshots_rows_and_a_late_one_spares_newer_keys() {
    let s = Scratch::new();
    s.write("spec.toml", truncating(spec("")));
    s.write(
        "LOAD00000001.csv",
        "userId,name,city\n1,Ann,Austin\n2,Bob,Boston\n",
    );
    s.write(
        "a.csv",
        "userId,name,city,operation,sequenceNum\n2,Bob,Denver,UPDATE,10\n3,Cy,Austin,INSERT,11\n",
    );
    apply(&s, &["a.csv"], &["--snapshot", "LOAD00000001.csv"]);
    // A later run brings a truncate older than the changes of the first: it deletes only
    // what it came after (key 1, from the load), not keys 2 and 3, changed since.
    s.write(
        "b.csv",
        "userId,name,city,operation,sequenceNum\n,,,TRUNCATE,5\n",
    );
    apply(&s, &["b.csv"], &["--snapshot", "out"]);
    assert_eq!(
        csv_rows(&std::fs::read(s.path("out/snapshot.csv")).unwrap()),
        table(&[
            &["userId", "name", "city"],
            &["2", "Bob", "Denver"],
            &["3", "Cy", "Austin"],
        ])
    );
    assert_eq!(
        columns(&s, "out/diff.csv", &["userId", "change"]),
        table(&[&["userId", "change"], &["1", "deleted"]])
    );
    // And a change older than the truncate, arriving after it, stays out.
    s.write(
        "c.csv",
        "userId,name,city,operation,sequenceNum\n1,Ann,Austin,UPDATE,4\n",
    );
    apply(&s, &["c.csv"], &["--snapshot", "out"]);
    assert_eq!(
        csv_rows(&std::fs::read(s.path("out/snapshot.csv")).unwrap())[1..],
        table(&[&["2", "Bob", "Denver"], &["3", "Cy", "Austin"]])[..]
    );
}
