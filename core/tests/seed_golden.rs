//! The seed example, end to end: the LOAD file and the five CDC files give, as of 2021-10-18,
//! exactly the table in `golden/seed_enriched.csv` (built by an independent Python replay).

use tidemark_core::pipeline::{self, Inputs, Options};
use tidemark_core::report::AsOfSource;
use tidemark_core::{ChangeKind, TableSpec, encode, example};

fn run_seed(options: &Options) -> pipeline::Output {
    let seed = example::seed();
    let inputs = Inputs {
        snapshot: seed.snapshot,
        changes: seed.changes,
        state: None,
        change_log: None,
        next_snapshot: Vec::new(),
    };
    pipeline::run(&TableSpec::users(), inputs, options, &mut |_| {}).expect("the seed runs")
}

fn csv_rows(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_reader(bytes);
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let mut rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    rows.sort_by_key(|r| r[0].parse::<i64>().unwrap());
    (header, rows)
}

#[test]
fn the_seed_gives_the_golden_table_value_by_value() {
    let out = run_seed(&Options::default());
    let ours = encode::to_csv(out.enriched.as_ref().unwrap()).unwrap();
    let (header, rows) = csv_rows(&ours);
    let (golden_header, golden) = csv_rows(include_bytes!("golden/seed_enriched.csv"));
    assert_eq!(header, golden_header);
    assert_eq!(rows.len(), 110);
    assert_eq!(rows.len(), golden.len());
    let rate = header
        .iter()
        .position(|h| h == "login_rate_last_3_months_by_city")
        .unwrap();
    for (ours, want) in rows.iter().zip(&golden) {
        for (col, name) in header.iter().enumerate() {
            if col == rate {
                let (a, b): (f64, f64) = (ours[col].parse().unwrap(), want[col].parse().unwrap());
                assert!(
                    (a - b).abs() < 1e-15,
                    "user {}: {name} is {a}, want {b}",
                    want[0]
                );
            } else {
                assert_eq!(ours[col], want[col], "user {}: column {name}", want[0]);
            }
        }
    }
}

fn row_of<'a>(rows: &'a [Vec<String>], user: &str) -> &'a [String] {
    rows.iter()
        .find(|r| r[0] == user)
        .unwrap_or_else(|| panic!("no user {user}"))
}

#[test]
fn the_original_jobs_mistakes_are_not_repeated() {
    let out = run_seed(&Options::default());
    let (_, rows) = csv_rows(&encode::to_csv(out.enriched.as_ref().unwrap()).unwrap());
    // Austin is Austin, Texas (the original said Minnesota); one of its three users is recent.
    let austin = row_of(&rows, "11");
    assert_eq!(
        (austin[2].as_str(), austin[4].as_str()),
        ("Austin", "Texas")
    );
    assert_eq!(austin[6].parse::<f64>().unwrap(), 1.0 / 3.0);
    // Boston: two of three users seen since 2021-07-20.
    assert_eq!(row_of(&rows, "36")[6].parse::<f64>().unwrap(), 2.0 / 3.0);
    // Washington is the District of Columbia, and New York has a state.
    assert_eq!(row_of(&rows, "5")[4], "District of Columbia");
    // User 9 moved from Nashville to New York.
    assert_eq!(
        &row_of(&rows, "9")[2..5],
        ["New York", "2021-10-17", "New York"]
    );
    // Nashville-Davidson counts as Nashville.
    assert_eq!(
        &row_of(&rows, "51")[2..5],
        ["Nashville", "2021-10-01", "Tennessee"]
    );
    // Users 136-139 were inserted by the later files.
    for user in ["136", "137", "138", "139"] {
        row_of(&rows, user);
    }
}

#[test]
fn as_of_comes_from_the_newest_change_file_not_the_clock() {
    let out = run_seed(&Options::default());
    let features = out.report.features.unwrap();
    assert_eq!(features.as_of.to_string(), "2021-10-18");
    assert!(
        features
            .as_of_source
            .to_string()
            .contains("20211018-225959941.csv"),
        "{}",
        features.as_of_source
    );
    assert_eq!(features.window_start.to_string(), "2021-07-20");

    let later = run_seed(&Options {
        as_of: chrono::NaiveDate::from_ymd_opt(2022, 1, 1),
        ..Default::default()
    });
    assert_eq!(
        later.report.features.unwrap().as_of_source,
        AsOfSource::Given
    );
}

#[test]
fn the_diff_shows_seven_inserts_and_three_updates() {
    let out = run_seed(&Options::default());
    let kinds = &out.diff.kinds;
    let count = |k| kinds.iter().filter(|&&x| x == k).count();
    assert_eq!(
        (
            count(ChangeKind::Inserted),
            count(ChangeKind::Updated),
            count(ChangeKind::Deleted)
        ),
        (7, 3, 0)
    );
    assert_eq!(out.report.apply.rows_before, 103);
    assert_eq!(out.report.apply.rows_after, 110);
    assert!(
        out.report.anomalies.is_empty(),
        "{:?}",
        out.report.anomalies
    );
    let files: Vec<(&str, usize)> = out
        .report
        .changes
        .iter()
        .map(|f| (f.file.as_str(), f.rows))
        .collect();
    assert_eq!(
        files,
        [
            ("20211017-194324349.csv", 6),
            ("20211018-223933563.csv", 1),
            ("20211018-224657689.csv", 1),
            ("20211018-225235856.csv", 1),
            ("20211018-225959941.csv", 1),
        ]
    );
    let lookup = out.report.features.unwrap().lookup.unwrap();
    assert!(lookup.unmatched.is_empty(), "{:?}", lookup.unmatched);
    let ambiguous: Vec<&str> = lookup.ambiguous.iter().map(|a| a.name.as_str()).collect();
    for name in ["Austin", "Columbus", "Portland", "Washington"] {
        assert!(
            ambiguous.contains(&name),
            "{name} should be reported ambiguous: {ambiguous:?}"
        );
    }
}

#[test]
fn user_9s_diff_row_names_the_changed_columns_and_the_source() {
    let out = run_seed(&Options::default());
    let (header, rows) = {
        let bytes = encode::to_csv(&out.diff.rows).unwrap();
        let mut reader = csv::Reader::from_reader(bytes.as_slice());
        let header: Vec<String> = reader
            .headers()
            .unwrap()
            .iter()
            .map(str::to_string)
            .collect();
        let rows: Vec<Vec<String>> = reader
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect();
        (header, rows)
    };
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    };
    let user9 = rows.iter().find(|r| r[col("user_id")] == "9").unwrap();
    assert_eq!(user9[col("change")], "updated");
    assert_eq!(user9[col("before_city")], "Nashville");
    assert_eq!(user9[col("after_city")], "New York");
    assert_eq!(user9[col("changed_columns")], "city,last_login");
    assert_eq!(user9[col("source_file")], "20211017-194324349.csv");
    assert_eq!(user9[col("source_row")], "6");
}
