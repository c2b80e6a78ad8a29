//! How changes apply, as a specification: each test is one rule.

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, RecordBatch};
use tidemark_core::apply::{ApplyOptions, Versions, apply};
use tidemark_core::decode::{decode_changes, decode_snapshot};
use tidemark_core::report::AnomalyKind;
use tidemark_core::{ChangeBatch, ChangeKind, ErrorKind, InputFile, Snapshot, TableSpec};

fn spec() -> TableSpec {
    TableSpec::users()
}

fn snapshot(csv: &str) -> Snapshot {
    let spec = spec();
    let file = InputFile::new("LOAD00000001.csv", csv.as_bytes().to_vec());
    decode_snapshot(&spec, &spec.schema().unwrap(), &[file]).unwrap()
}

fn changes(name: &str, csv: &str) -> ChangeBatch {
    let spec = spec();
    decode_changes(
        &spec,
        &spec.schema().unwrap(),
        &InputFile::new(name, csv.as_bytes().to_vec()),
    )
    .unwrap()
}

const BASE: &str = "1,Ann,Austin,2021-01-01\n2,Bob,Boston,2021-02-02\n3,Cy,Chicago,2021-03-03\n";

/// The table as `id:name:city:date` strings, sorted by id.
fn rows(batch: &RecordBatch) -> Vec<String> {
    let ids = batch.column(0).as_primitive::<Int64Type>();
    let names = batch.column(1).as_string::<i32>();
    let cities = batch.column(2).as_string::<i32>();
    let dates = batch
        .column(3)
        .as_primitive::<arrow_array::types::Date32Type>();
    let mut out: Vec<(i64, String)> = (0..batch.num_rows())
        .map(|i| {
            let date = if dates.is_null(i) {
                "null".to_string()
            } else {
                dates.value_as_date(i).unwrap().to_string()
            };
            (
                ids.value(i),
                format!(
                    "{}:{}:{}:{}",
                    ids.value(i),
                    names.value(i),
                    cities.value(i),
                    date
                ),
            )
        })
        .collect();
    out.sort();
    out.into_iter().map(|(_, s)| s).collect()
}

fn run(base: &Snapshot, files: &[ChangeBatch]) -> tidemark_core::Applied {
    apply(&spec(), base, None, files, ApplyOptions::default()).unwrap()
}

fn anomaly_count(applied: &tidemark_core::Applied, kind: AnomalyKind) -> usize {
    applied
        .anomalies
        .iter()
        .find(|a| a.kind == kind)
        .map_or(0, |a| a.count)
}

#[test]
fn inserts_updates_and_deletes_apply_and_rows_keep_their_place() {
    let applied = run(
        &snapshot(BASE),
        &[changes(
            "20210101-000000000.csv",
            "U,2,Bob,Denver,2021-05-05\nD,3,Cy,Chicago,2021-03-03\nI,4,Dee,Austin,2021-06-06\n",
        )],
    );
    let ids = applied
        .rows
        .column(0)
        .as_primitive::<Int64Type>()
        .values()
        .to_vec();
    assert_eq!(
        ids,
        [1, 2, 4],
        "updated rows stay in place, deleted ones go, new ones follow"
    );
    assert_eq!(
        rows(&applied.rows),
        [
            "1:Ann:Austin:2021-01-01",
            "2:Bob:Denver:2021-05-05",
            "4:Dee:Austin:2021-06-06"
        ]
    );
    assert_eq!(
        applied.diff.kinds,
        [
            ChangeKind::Updated,
            ChangeKind::Deleted,
            ChangeKind::Inserted
        ]
    );
    assert!(applied.anomalies.is_empty());
}

#[test]
fn an_insert_of_an_existing_key_updates_it_once_and_is_reported() {
    let applied = run(
        &snapshot(BASE),
        &[changes(
            "20210101-000000000.csv",
            "I,1,Ann,Boston,2021-07-07\n",
        )],
    );
    assert_eq!(applied.rows.num_rows(), 3, "no duplicate row");
    assert!(rows(&applied.rows).contains(&"1:Ann:Boston:2021-07-07".to_string()));
    let anomaly = applied
        .anomalies
        .iter()
        .find(|a| a.kind == AnomalyKind::InsertOfExistingKey)
        .unwrap();
    assert_eq!(anomaly.count, 1);
    assert_eq!(
        (anomaly.examples[0].key.as_str(), anomaly.examples[0].row),
        ("1", 1)
    );
}

#[test]
fn updates_and_deletes_of_missing_keys_are_applied_as_upserts_and_reported() {
    let applied = run(
        &snapshot(BASE),
        &[changes(
            "20210101-000000000.csv",
            "U,9,Ivy,Austin,2021-07-07\nD,8,X,Austin,2021-07-07\n",
        )],
    );
    assert!(rows(&applied.rows).contains(&"9:Ivy:Austin:2021-07-07".to_string()));
    assert_eq!(anomaly_count(&applied, AnomalyKind::UpdateOfMissingKey), 1);
    assert_eq!(anomaly_count(&applied, AnomalyKind::DeleteOfMissingKey), 1);
    assert_eq!(
        applied.diff.kinds,
        [ChangeKind::Inserted, ChangeKind::Unchanged]
    );
}

#[test]
fn strict_mode_turns_anomalies_into_errors_that_name_the_change() {
    let err = apply(
        &spec(),
        &snapshot(BASE),
        None,
        &[changes(
            "20210101-000000000.csv",
            "U,1,Ann,Austin,2021-01-02\nI,2,Bob,Boston,2021-02-02\n",
        )],
        ApplyOptions {
            strict: true,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Anomaly(_)));
    assert!(
        err.to_string()
            .starts_with("20210101-000000000.csv, row 2: insert of a key that already exists"),
        "{err}"
    );
}

#[test]
fn the_last_change_to_a_key_wins_in_file_then_row_order() {
    let applied = run(
        &snapshot(BASE),
        &[
            changes(
                "20210101-000000000.csv",
                "U,1,Ann,Denver,2021-05-05\nU,1,Ann,Dallas,2021-05-06\n",
            ),
            changes(
                "20210102-000000000.csv",
                "D,2,Bob,Boston,2021-02-02\nI,2,Bob,Miami,2021-08-08\n",
            ),
        ],
    );
    assert_eq!(
        rows(&applied.rows),
        [
            "1:Ann:Dallas:2021-05-06",
            "2:Bob:Miami:2021-08-08",
            "3:Cy:Chicago:2021-03-03"
        ]
    );
    assert_eq!(applied.summary.keys_changed_several_times, 2);
    assert!(
        applied
            .anomalies
            .iter()
            .all(|a| !a.kind.is_error_when_strict()),
        "{:?}",
        applied.anomalies
    );
}

#[test]
fn an_insert_deleted_in_the_same_batch_never_appears() {
    let applied = run(
        &snapshot(BASE),
        &[changes(
            "20210101-000000000.csv",
            "I,7,Gus,Austin,2021-01-01\nD,7,Gus,Austin,2021-01-01\n",
        )],
    );
    assert_eq!(applied.rows.num_rows(), 3);
    assert_eq!(applied.diff.kinds, [ChangeKind::InsertedAndDeleted]);
    assert_eq!(applied.summary.outcome.inserted_and_deleted, 1);
    assert_eq!(applied.summary.outcome.unchanged, 0);
}

#[test]
fn applying_the_same_file_twice_leaves_the_table_unchanged() {
    let file = changes(
        "20210101-000000000.csv",
        "U,2,Bob,Denver,2021-05-05\nD,3,Cy,Chicago,2021-03-03\nI,4,Dee,Austin,2021-06-06\n",
    );
    let once = run(&snapshot(BASE), std::slice::from_ref(&file));
    let again = run(
        &Snapshot {
            rows: once.rows.clone(),
            sources: Default::default(),
        },
        &[file],
    );
    assert_eq!(again.rows, once.rows);
    assert!(
        again.diff.kinds.iter().all(|k| *k == ChangeKind::Unchanged),
        "{:?}",
        again.diff.kinds
    );
}

const SEQ_A: &str = "U,2021-10-01 10:00:00.000001,1,Ann,Denver,2021-09-30\nD,2021-10-01 10:00:00.000003,2,Bob,Boston,2021-02-02\n";
const SEQ_B: &str = "U,2021-10-01 10:00:00.000002,1,Ann,Dallas,2021-10-01\nI,2021-10-01 10:00:00.000004,5,Eve,Austin,2021-10-01\n";

fn state_after(base: &Snapshot, batches: &[&[ChangeBatch]]) -> (RecordBatch, Option<Versions>) {
    let mut current = Snapshot {
        rows: base.rows.clone(),
        sources: base.sources.clone(),
    };
    let mut versions: Option<Versions> = None;
    for files in batches {
        let applied = apply(
            &spec(),
            &current,
            versions.as_ref(),
            files,
            ApplyOptions::default(),
        )
        .unwrap();
        current = Snapshot {
            rows: applied.rows,
            sources: Default::default(),
        };
        versions = applied.versions;
    }
    (current.rows, versions)
}

#[test]
fn with_a_sequence_the_order_of_files_and_runs_does_not_matter() {
    let base = snapshot(BASE);
    let a = changes("20211001-100000000.csv", SEQ_A);
    let b = changes("20211001-090000000.csv", SEQ_B); // named earlier, but its changes are newer
    let expected = [
        "1:Ann:Dallas:2021-10-01",
        "3:Cy:Chicago:2021-03-03",
        "5:Eve:Austin:2021-10-01",
    ];
    for batches in [
        vec![vec![a.clone(), b.clone()]],
        vec![vec![b.clone(), a.clone()]],
        vec![vec![a.clone()], vec![b.clone()]],
        vec![vec![b.clone()], vec![a.clone()]],
        vec![vec![b.clone()], vec![a.clone()], vec![b.clone(), a.clone()]],
    ] {
        let runs: Vec<&[ChangeBatch]> = batches.iter().map(Vec::as_slice).collect();
        let (table, _) = state_after(&base, &runs);
        assert_eq!(
            rows(&table),
            expected,
            "runs {:?}",
            batches
                .iter()
                .map(|r| r.iter().map(|c| &c.file).collect::<Vec<_>>())
                .collect::<Vec<_>>()
        );
    }
}

#[test]
fn a_late_change_cannot_resurrect_a_deleted_row() {
    let base = snapshot(BASE);
    let delete = changes(
        "20211002-000000000.csv",
        "D,2021-10-02 00:00:00.000000,2,Bob,Boston,2021-02-02\n",
    );
    let late_update = changes(
        "20211001-000000000.csv",
        "U,2021-10-01 00:00:00.000000,2,Bob,Miami,2021-09-09\n",
    );
    let (table, versions) = state_after(&base, &[&[delete], &[late_update]]);
    assert!(
        !rows(&table).iter().any(|r| r.starts_with("2:")),
        "{:?}",
        rows(&table)
    );
    let versions = versions.unwrap();
    let deleted = versions.rows.column(2).as_boolean();
    assert_eq!(versions.rows.num_rows(), 1);
    assert!(deleted.value(0), "the tombstone is kept");
}

#[test]
fn stale_changes_are_counted() {
    let base = snapshot(BASE);
    let a = changes("20211001-100000000.csv", SEQ_A);
    let first = apply(
        &spec(),
        &base,
        None,
        std::slice::from_ref(&a),
        ApplyOptions::default(),
    )
    .unwrap();
    let again = apply(
        &spec(),
        &Snapshot {
            rows: first.rows.clone(),
            sources: Default::default(),
        },
        first.versions.as_ref(),
        &[a],
        ApplyOptions::default(),
    )
    .unwrap();
    assert_eq!(again.rows, first.rows);
    assert_eq!(anomaly_count(&again, AnomalyKind::StaleChangeIgnored), 2);
}

#[test]
fn dms_change_sequence_numbers_order_changes_too() {
    let file = changes(
        "cdc.csv",
        "U,20211001000000000000000000000000002,1,Ann,Second,2021-01-01\nU,20211001000000000000000000000000001,1,Ann,First,2021-01-01\n",
    );
    let applied = run(&snapshot(BASE), &[file]);
    assert!(rows(&applied.rows).contains(&"1:Ann:Second:2021-01-01".to_string()));
    assert_eq!(
        applied.summary.sequence,
        Some(tidemark_core::spec::SequenceKind::Number)
    );
}

#[test]
fn duplicate_keys_in_the_snapshot_are_an_error_naming_both_rows() {
    let dup =
        snapshot("1,Ann,Austin,2021-01-01\n2,Bob,Boston,2021-02-02\n1,Ann,Austin,2021-01-01\n");
    let err = apply(&spec(), &dup, None, &[], ApplyOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "LOAD00000001.csv, row 3, column `user_id`: duplicate key 1 in the snapshot (first seen in LOAD00000001.csv, row 1)"
    );
}
