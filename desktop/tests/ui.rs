//! The app driven like a user would: through its widgets, by their labels, with
//! `egui_kittest`. File dialogs are answered by a script; everything else is the real app,
//! background jobs included.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use egui::Vec2;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use tidemark_core::InputFile;
use tidemark_desktop::dialogs::{DialogRequest, ScriptedDialogs};
use tidemark_desktop::{Notice, Problem, Startup, TidemarkApp};

fn harness(startup: Startup, dialogs: ScriptedDialogs) -> Harness<'static, TidemarkApp> {
    let mut harness = Harness::builder()
        .with_size(Vec2::new(1400.0, 900.0))
        .build_eframe(move |cc| TidemarkApp::new(&cc.egui_ctx, startup, Box::new(dialogs)));
    settle(&mut harness);
    harness
}

/// The seed, with dialogs that nobody answers.
fn seed() -> Harness<'static, TidemarkApp> {
    harness(Startup::Seed, ScriptedDialogs::new(|_| Vec::new()))
}

/// Runs frames until the background work is done and the window is still.
fn settle(harness: &mut Harness<'static, TidemarkApp>) {
    let deadline = Instant::now() + Duration::from_secs(120);
    harness.step();
    while harness.state().is_busy() {
        assert!(Instant::now() < deadline, "the app stayed busy");
        std::thread::sleep(Duration::from_millis(5));
        harness.step();
    }
    harness.run();
}

fn click(harness: &mut Harness<'static, TidemarkApp>, label: &str) {
    harness.get_by_label(label).click();
    settle(harness);
}

fn shows(harness: &Harness<'static, TidemarkApp>, label: &str) -> bool {
    harness.query_all_by_label(label).next().is_some()
}

/// Ticks or unticks a change file.
fn toggle(harness: &mut Harness<'static, TidemarkApp>, file: &str) {
    harness.get_by_role_and_label(Role::CheckBox, file).click();
    settle(harness);
}

fn error_text(harness: &Harness<'static, TidemarkApp>) -> String {
    problem(harness).to_string()
}

fn problem(harness: &Harness<'static, TidemarkApp>) -> Problem {
    match harness.state().notice() {
        Some(Notice::Error(problem)) => problem.clone(),
        other => panic!("expected an error, found {other:?}"),
    }
}

/// Writes `text` to the file `name` in `dir` (a full load, a change file), returns its path.
fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn seed_folder() -> PathBuf {
    // Found when the test runs, not where it was compiled: a shared target folder reuses the
    // binary in other checkouts.
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo test");
    PathBuf::from(manifest).join("../core/data/seed")
}

#[test]
fn the_seed_example_loads_with_its_files_in_apply_order_and_the_diff_counts() {
    let harness = seed();
    for label in ["All (10)", "Inserted (7)", "Updated (3)", "Deleted (0)"] {
        assert!(shows(&harness, label), "missing {label:?}");
    }
    assert!(shows(
        &harness,
        "users: 103 rows + 10 changes from 5 files → 110 rows"
    ));
    // The five files, each with its rows and I/U/D counts, first applied first.
    let files = harness.get_all_by_role(Role::CheckBox).collect::<Vec<_>>();
    let names: Vec<String> = files
        .iter()
        .filter_map(|f| f.accesskit_node().label())
        .filter(|l| l.ends_with(".csv"))
        .collect();
    assert_eq!(
        names,
        [
            "20211017-194324349.csv",
            "20211018-223933563.csv",
            "20211018-224657689.csv",
            "20211018-225235856.csv",
            "20211018-225959941.csv"
        ]
    );
    assert!(shows(&harness, "6 rows: 3 I · 3 U · 0 D"));
    assert_eq!(
        harness.get_all_by_label("1 row: 1 I · 0 U · 0 D").count(),
        4
    );
    assert!(shows(&harness, "None: every change fitted the snapshot."));
    assert!(shows(&harness, "Every city matched the lookup table."));
}

#[test]
fn switching_to_deleted_then_inserted_filters_the_diff() {
    let mut harness = seed();
    assert!(shows(&harness, "Bob Ding") && shows(&harness, "Darla Hayes"));

    click(&mut harness, "Deleted (0)");
    assert!(shows(&harness, "No deleted keys."));
    assert!(!shows(&harness, "Bob Ding"));

    click(&mut harness, "Inserted (7)");
    assert!(shows(&harness, "7 of 10 keys"));
    assert!(shows(&harness, "Bob Ding"), "an inserted user");
    assert!(!shows(&harness, "Darla Hayes"), "an updated user");
}

#[test]
fn a_key_search_finds_user_9_with_the_changed_city_highlighted() {
    let mut harness = seed();
    harness.get_by_label("Find key").click();
    harness.run();
    harness.get_by_label("Find key").type_text("9");
    settle(&mut harness);

    assert!(shows(&harness, "1 of 10 keys"));
    assert!(!shows(&harness, "Mindy George"), "user 6 is filtered out");
    let city = harness.get_by_label("Nashville → New York");
    assert_eq!(
        city.accesskit_node().description().as_deref(),
        Some("changed")
    );
    assert!(shows(&harness, "2021-10-15 → 2021-10-17"));
    let name = harness.get_by_label("Darla Hayes");
    assert_eq!(
        name.accesskit_node().description(),
        None,
        "an unchanged value is not highlighted"
    );
    assert!(shows(&harness, "20211017-194324349.csv"), "the source file");
}

#[test]
fn export_writes_a_file_that_decodes_to_the_enriched_table() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("enriched.parquet");
    let answer = target.clone();
    let mut harness = harness(
        Startup::Seed,
        ScriptedDialogs::new(move |request| match request {
            DialogRequest::Save { .. } => vec![answer.clone()],
            _ => Vec::new(),
        }),
    );
    click(&mut harness, "Export");
    click(&mut harness, "Enriched table…");

    let bytes = std::fs::read(&target).expect("the export wrote the file");
    let decoded =
        tidemark_core::decode::read_parquet(&InputFile::new("enriched.parquet", bytes)).unwrap();
    let review = harness.state().review_state().unwrap();
    let expected = review.table();
    assert_eq!(decoded.num_rows(), 110);
    assert_eq!(decoded.num_columns(), expected.num_columns());
    // The app holds some columns dictionary-encoded; the file declares their values' type.
    let declared = tidemark_core::encode::logical(expected).unwrap();
    for (index, field) in declared.schema().fields().iter().enumerate() {
        assert_eq!(decoded.schema().field(index), field.as_ref());
        assert_eq!(
            decoded.column(index).to_data(),
            declared.column(index).to_data(),
            "column {}",
            field.name()
        );
    }
    assert!(shows(
        &harness,
        &format!("Wrote 110 rows to {} ({}).", target.display(), {
            let size = std::fs::metadata(&target).unwrap().len() as f64 / 1024.0;
            format!("{size:.1} kB")
        })
    ));
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temporary left"
    );
}

#[test]
fn unticking_a_file_shows_the_result_without_it() {
    let mut harness = seed();
    toggle(&mut harness, "20211017-194324349.csv");
    assert!(shows(&harness, "Inserted (4)"));
    assert!(shows(&harness, "Updated (0)"));
    assert!(shows(&harness, "6 rows: 3 I · 3 U · 0 D (left out)"));

    toggle(&mut harness, "20211017-194324349.csv");
    assert!(shows(&harness, "Inserted (7)"));
}

#[test]
fn a_bad_change_file_shows_where_it_is_wrong_and_keeps_the_review() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write_file(
        dir.path(),
        "20211019-000000000.csv",
        "U,9,Darla Hayes,New York,2021-02-30\n",
    );
    let mut harness = harness(
        Startup::Seed,
        ScriptedDialogs::new(move |_| vec![bad.clone()]),
    );
    click(&mut harness, "Add change files…");

    let message = error_text(&harness);
    assert!(
        message.ends_with(
            "20211019-000000000.csv, row 1, column `last_login`: cannot parse \"2021-02-30\" \
             as a date (YYYY-MM-DD)"
        ),
        "{message}"
    );
    // The notice names the file, the row and the column apart from what is wrong there.
    let problem = problem(&harness);
    assert!(shows(&harness, &format!("Error: {}", problem.message)));
    assert!(shows(&harness, "File 20211019-000000000.csv"));
    assert!(shows(&harness, "Row 1"));
    assert!(shows(&harness, "Column last_login"));
    // The review is the one without it: the seed's, and the file is listed, left out.
    assert!(shows(&harness, "Inserted (7)") && shows(&harness, "Updated (3)"));
    assert_eq!(ticked(&harness, "20211019-000000000.csv"), Some(false));
    assert!(shows(
        &harness,
        "Not read: 20211019-000000000.csv, row 1, column `last_login`: cannot parse \
         \"2021-02-30\" as a date (YYYY-MM-DD)"
    ));
}

/// Whether a change file's tick box is ticked (`None`: no such box).
fn ticked(harness: &Harness<'static, TidemarkApp>, file: &str) -> Option<bool> {
    let node = harness.query_by_role_and_label(Role::CheckBox, file)?;
    Some(node.accesskit_node().toggled() == Some(egui::accesskit::Toggled::True))
}

/// Issue 19 #6: a folder with bad change files among good ones opens with the rest reviewed,
/// each bad file listed unticked with the core's error (file, row, column).
#[test]
fn a_folder_with_bad_change_files_opens_the_rest_and_marks_each_bad_file() {
    let dir = tempfile::tempdir().unwrap();
    write_file(
        dir.path(),
        "LOAD00000001.csv",
        "1,Ann,Austin,2021-01-01\n2,Bob,Boston,2021-02-01\n",
    );
    write_file(
        dir.path(),
        "20211017-100000000.csv",
        "U,2,Bob,Denver,2021-10-17\nI,3,Cy,Seattle,2021-10-17\n",
    );
    // A broken row: a field missing on the second row.
    write_file(
        dir.path(),
        "20211018-100000000.csv",
        "I,4,Dee,Reno,2021-10-18\nU,1,Ann\n",
    );
    // A value of the wrong type.
    write_file(
        dir.path(),
        "20211019-100000000.csv",
        "I,5,Eve,Miami,2021-13-01\n",
    );
    let mut harness = harness(
        Startup::Paths(vec![dir.path().to_path_buf()]),
        ScriptedDialogs::new(|_| Vec::new()),
    );

    // The good file's changes are reviewed: no Dee, no Eve.
    assert!(shows(
        &harness,
        "users: 2 rows + 2 changes from 1 file → 3 rows"
    ));
    assert!(shows(&harness, "Inserted (1)") && shows(&harness, "Updated (1)"));
    assert!(shows(&harness, "Boston → Denver"));
    assert!(!shows(&harness, "Dee") && !shows(&harness, "Eve"));

    // Each bad file is in the list, unticked, with where it is wrong as the core names it.
    assert_eq!(ticked(&harness, "20211017-100000000.csv"), Some(true));
    assert_eq!(ticked(&harness, "20211018-100000000.csv"), Some(false));
    assert_eq!(ticked(&harness, "20211019-100000000.csv"), Some(false));
    assert!(shows(
        &harness,
        "Not read: 20211018-100000000.csv, row 2: expected 5 fields, found 3"
    ));
    assert!(shows(
        &harness,
        "Not read: 20211019-100000000.csv, row 1, column `last_login`: cannot parse \
         \"2021-13-01\" as a date (YYYY-MM-DD)"
    ));
    // One of them is the notice's (the files decode at once: either may fail first), with
    // its file, row and column apart.
    let notice = problem(&harness).location.unwrap();
    let file = Path::new(&notice.file)
        .file_name()
        .unwrap()
        .to_string_lossy();
    assert!(
        file == "20211018-100000000.csv" || file == "20211019-100000000.csv",
        "{file}"
    );
    assert!(shows(&harness, &format!("File {file}")));

    // Ticked again, a bad file is tried again, and left out again with its error.
    toggle(&mut harness, "20211019-100000000.csv");
    assert_eq!(ticked(&harness, "20211019-100000000.csv"), Some(false));
    assert!(shows(&harness, "Column last_login"));
    assert!(shows(&harness, "Inserted (1)"));
}

#[test]
fn anomalies_and_unmatched_cities_are_listed_and_lead_to_their_key() {
    let dir = tempfile::tempdir().unwrap();
    let odd = write_file(
        dir.path(),
        "20211019-000000000.csv",
        "D,999,Nobody,Nowhere,2021-10-19\nI,200,Ann Other,Atlantis,2021-10-19\n",
    );
    let mut harness = harness(
        Startup::Seed,
        ScriptedDialogs::new(move |_| vec![odd.clone()]),
    );
    click(&mut harness, "Add change files…");

    assert!(shows(&harness, "20211019-000000000.csv"), "the sixth file");
    assert!(shows(&harness, "2 rows: 1 I · 0 U · 1 D"));
    let anomaly = "1 × delete of a key that does not exist (nothing to delete)";
    click(&mut harness, anomaly);
    click(&mut harness, "key 999 · 20211019-000000000.csv row 1");
    assert_eq!(
        harness.get_by_label("Find key").value().as_deref(),
        Some("999")
    );

    assert!(shows(&harness, "1 unmatched city name"));
    assert!(shows(&harness, "Atlantis (1 row)"));
    // The kinds count under the key search: the delete of a missing key 999 left it unchanged.
    assert!(shows(&harness, "Unchanged (1)") && shows(&harness, "Inserted (0)"));
    assert!(shows(&harness, "1 of 12 keys"));
}

#[test]
fn dropping_a_folder_with_a_full_load_opens_it() {
    #[derive(Debug)]
    struct Dropped(PathBuf);
    impl egui::DroppedFile for Dropped {
        fn path(&self) -> &Path {
            &self.0
        }
        fn bytes(&self) -> Result<Vec<u8>, String> {
            std::fs::read(&self.0).map_err(|e| e.to_string())
        }
    }

    let dir = tempfile::tempdir().unwrap();
    write_file(
        dir.path(),
        "LOAD00000001.csv",
        "1,Ann,Austin,2021-01-01\n2,Bob,Boston,2021-02-01\n",
    );
    let day = dir.path().join("2021/10/19");
    std::fs::create_dir_all(&day).unwrap();
    write_file(
        &day,
        "20211019-000000000.csv",
        "U,2,Bob,Denver,2021-10-19\nI,3,Cy,Seattle,2021-10-19\nD,1,Ann,Austin,2021-01-01\n",
    );
    let mut harness = seed();
    harness
        .input_mut()
        .dropped_files
        .push(Arc::new(Dropped(dir.path().to_path_buf())));
    settle(&mut harness);

    assert!(shows(
        &harness,
        "users: 2 rows + 3 changes from 1 file → 2 rows"
    ));
    for label in ["Inserted (1)", "Updated (1)", "Deleted (1)"] {
        assert!(shows(&harness, label), "missing {label:?}");
    }
    assert!(shows(&harness, "Boston → Denver"));
}

#[test]
fn the_command_line_opens_a_folder_of_a_full_load_and_change_files() {
    let harness = harness(
        Startup::Paths(vec![seed_folder()]),
        ScriptedDialogs::new(|_| Vec::new()),
    );
    assert!(shows(&harness, "Inserted (7)") && shows(&harness, "Updated (3)"));
    assert!(shows(&harness, "LOAD00000001.csv"));
}

#[test]
fn the_enriched_table_sorts_by_a_clicked_column() {
    let mut harness = seed();
    click(&mut harness, "Enriched table (110 rows)");
    assert!(shows(&harness, "login_rate_last_3_months_by_city"));
    assert!(
        shows(&harness, "Herman Zimmerman"),
        "user 0, first in the table"
    );

    click(&mut harness, "user_id");
    click(&mut harness, "user_id ⬆");
    assert!(shows(&harness, "user_id ⬇"));
    assert!(shows(&harness, "Jack Geller"), "user 139, now first");
    assert!(!shows(&harness, "Herman Zimmerman"), "user 0, now last");
}

#[test]
fn changing_the_window_recomputes_the_features() {
    let mut harness = seed();
    assert!(shows(&harness, "· as_of 2021-10-18 · window 90 days"));
    let window = harness.get_by_role(Role::SpinButton);
    assert_eq!(window.value().as_deref(), Some("90 days"));
    window.set_value_accesskit(365.0);
    settle(&mut harness);
    assert!(shows(&harness, "· as_of 2021-10-18 · window 365 days"));
    assert!(shows(&harness, "from 2020-10-18"));
}

#[test]
fn a_fixed_as_of_and_a_lookup_file_of_ones_own_are_used() {
    let dir = tempfile::tempdir().unwrap();
    let cities = dir.path().join("cities.csv");
    std::fs::write(&cities, "city,state\nNew York,New York\nDenver,Colorado\n").unwrap();
    let mut harness = harness(
        Startup::Seed,
        ScriptedDialogs::new(move |request| match request {
            DialogRequest::ChooseLookup => vec![cities.clone()],
            _ => Vec::new(),
        }),
    );
    let as_of = |harness: &Harness<'static, TidemarkApp>| {
        let review = harness.state().review_state().unwrap();
        let features = review.output.report.features.clone().unwrap();
        (
            features.as_of.to_string(),
            features.as_of_source.to_string(),
        )
    };
    assert_eq!(
        as_of(&harness).1,
        "newest change file name (20211018-225959941.csv)"
    );

    click(&mut harness, "From the data");
    assert_eq!(as_of(&harness), ("2021-10-18".into(), "given".into()));
    let date_picker = harness.query_all_by(|node| {
        node.role() == Role::Button && node.label().is_some_and(|l| l.contains("2021-10-18"))
    });
    assert_eq!(date_picker.count(), 1, "the date picker shows the date");

    click(&mut harness, "A file of your own…");
    assert!(
        shows(&harness, "cities.csv"),
        "the lookup's name replaces the choice"
    );
    // 28 cities in the seed, two of them in this table.
    assert!(shows(&harness, "26 unmatched city names"));
    assert!(shows(&harness, "Phoenix (8 rows)"));
}

/// The changes of one source transaction share its commit timestamp: equal is not older.
#[test]
fn changes_sharing_a_commit_timestamp_all_apply() {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "LOAD00000001.csv", "1,Ann,Austin,2021-01-01\n");
    write_file(
        dir.path(),
        "20211017-100000000.csv",
        "I,2021-10-17 10:00:00.000000,2,Bob,Boston,2021-10-01\n\
         U,2021-10-17 10:00:00.000000,2,Bob,Chicago,2021-10-02\n\
         D,2021-10-17 10:00:00.000000,2,Bob,Chicago,2021-10-02\n",
    );
    let harness = harness(
        Startup::Paths(vec![dir.path().to_path_buf()]),
        ScriptedDialogs::new(|_| Vec::new()),
    );
    assert!(
        shows(&harness, "Enriched table (1 row)"),
        "key 2 was inserted, updated and deleted"
    );
    assert!(shows(&harness, "Inserted and deleted (1)") && shows(&harness, "Inserted (0)"));
    assert!(
        shows(&harness, "Unchanged (0)"),
        "created and removed is not unchanged"
    );
}

/// A key created and removed within the run has a kind and a filter of its own, which shows
/// it, with the change that removed it.
#[test]
fn the_inserted_and_deleted_filter_shows_a_key_created_and_removed_within_the_run() {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "LOAD00000001.csv", "1,Ann,Austin,2021-01-01\n");
    write_file(
        dir.path(),
        "20211017-100000000.csv",
        "I,7,Gus,Boston,2021-10-01\nU,1,Ann,Denver,2021-10-02\n",
    );
    write_file(
        dir.path(),
        "20211018-100000000.csv",
        "D,7,Gus,Boston,2021-10-01\nD,9,Nobody,Miami,2021-10-02\n",
    );
    let mut harness = harness(
        Startup::Paths(vec![dir.path().to_path_buf()]),
        ScriptedDialogs::new(|_| Vec::new()),
    );
    assert!(shows(&harness, "Austin → Denver"), "every kind at first");
    click(&mut harness, "Inserted and deleted (1)");
    assert!(shows(&harness, "inserted_and_deleted"));
    assert!(shows(&harness, "7"), "the key created and removed");
    assert!(
        shows(&harness, "20211018-100000000.csv"),
        "the file of the delete that removed it"
    );
    assert!(
        !shows(&harness, "Austin → Denver"),
        "the update is filtered out"
    );
    assert!(
        !shows(&harness, "unchanged"),
        "key 9 was only deleted while missing"
    );
    assert!(shows(&harness, "1 of 3 keys"));
    click(&mut harness, "Unchanged (1)");
    assert!(shows(&harness, "9") && !shows(&harness, "inserted_and_deleted"));
}

/// The Databricks AUTO CDC documentation's SCD type 2 example (as `tests/history.rs` types
/// it): a key, two columns, an operation word and a number sequence, history kept.
const HISTORY_SPEC: &str = r#"
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

[history]
"#;

/// The documentation's source rows, in its order: two updates come after the changes that
/// follow them in sequence.
const HISTORY_CHANGES: &str = "\
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

fn history_session() -> Harness<'static, TidemarkApp> {
    let spec = tidemark_core::TableSpec::from_toml(HISTORY_SPEC).unwrap();
    let changes = InputFile::new("changes.csv", HISTORY_CHANGES.as_bytes().to_vec());
    let session = tidemark_desktop::session::Session::new(spec, Vec::new(), vec![changes]);
    harness(
        Startup::Session(Box::new(session)),
        ScriptedDialogs::new(|_| Vec::new()),
    )
}

/// The diff row of a key, as a link (the keys are links when the run kept history).
fn click_key(harness: &mut Harness<'static, TidemarkApp>, key: &str) {
    harness.get_by_role_and_label(Role::Link, key).click();
    settle(harness);
}

fn is_highlighted(harness: &Harness<'static, TidemarkApp>, label: &str) -> bool {
    harness
        .get_by_label(label)
        .accesskit_node()
        .description()
        .as_deref()
        == Some("changed")
}

#[test]
fn clicking_a_key_in_the_diff_shows_its_versions_and_the_cells_each_changed() {
    let mut harness = history_session();
    assert!(shows(&harness, "Inserted (3)"), "124, 125, 126");
    assert!(!shows(&harness, "Tijuana"), "no timeline before a click");

    click_key(&mut harness, "125");
    assert!(shows(&harness, "History of key 125: 3 versions"));
    // Oldest first, each valid from the sequence of the change that opened it to the one
    // that closed it, the out-of-order update at its place.
    for label in ["2 → 5", "5 → 6", "6 → now"] {
        assert!(shows(&harness, label), "missing {label:?}");
    }
    assert_eq!(harness.get_all_by_label("closed").count(), 2);
    assert_eq!(harness.get_all_by_label("current").count(), 1);
    // The change behind each version: its operation, file and row (the header is row 1).
    for label in [
        "insert changes.csv row 4",
        "update changes.csv row 8",
        "update changes.csv row 7",
    ] {
        assert!(shows(&harness, label), "missing {label:?}");
    }
    // The cells each version changed versus the one before: the city, never the name.
    assert!(!is_highlighted(&harness, "Tijuana"), "the first version");
    assert!(is_highlighted(&harness, "Mexicali"));
    let guadalajara = harness
        .get_all_by_label("Guadalajara")
        .filter(|n| n.accesskit_node().description().as_deref() == Some("changed"))
        .count();
    assert_eq!(guadalajara, 1, "the timeline's; the diff shows it plain");
    assert!(
        harness
            .get_all_by_label("Mercedes")
            .all(|n| n.accesskit_node().description().is_none()),
        "the name never changed"
    );

    // Key 123: inserted, updated, then deleted in this run (inserted_and_deleted in the diff).
    click_key(&mut harness, "123");
    assert!(shows(&harness, "History of key 123: 2 versions"));
    assert!(shows(&harness, "1 → 5") && shows(&harness, "5 → 6"));
    assert!(shows(&harness, "deleted"), "the delete at 6 closed it");
    assert!(is_highlighted(&harness, "Chihuahua"));
    assert!(!shows(&harness, "Tijuana"), "key 125's timeline is gone");
    let timeline = harness.state().timeline().unwrap();
    assert_eq!(timeline.columns, ["name", "city"]);
    assert_eq!(timeline.versions[1].changed, [false, true]);

    click(&mut harness, "✖ Close");
    assert!(!shows(&harness, "Chihuahua"), "the timeline closed");
    assert!(shows(&harness, "123"), "the diff stays");
}

#[test]
fn without_history_the_keys_of_the_diff_are_plain() {
    let harness = seed();
    assert!(shows(&harness, "Darla Hayes"));
    assert_eq!(harness.query_all_by_role(Role::Link).count(), 0);
}

/// `tidemark-desktop --spec spec.toml changes.csv`: a spec of one's own, change files alone.
#[test]
fn a_spec_file_with_history_and_change_files_alone_open_a_cdc_only_review() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.toml");
    std::fs::write(&spec, HISTORY_SPEC).unwrap();
    let changes = write_file(dir.path(), "changes.csv", HISTORY_CHANGES);
    let mut harness = harness(
        Startup::Spec {
            spec,
            paths: vec![changes],
        },
        ScriptedDialogs::new(|_| Vec::new()),
    );
    assert!(shows(
        &harness,
        "users: 0 rows + 8 changes from 1 file → 3 rows"
    ));
    click_key(&mut harness, "126");
    assert!(shows(&harness, "History of key 126: 1 version"));
    assert!(shows(&harness, "2 → now") && shows(&harness, "current"));
}

/// Where a label is on screen, from the top.
fn top(harness: &Harness<'static, TidemarkApp>, label: &str) -> f32 {
    harness.get_by_label(label).rect().min.y
}

/// Whether the labels are on screen in this order, top to bottom.
fn in_order(harness: &Harness<'static, TidemarkApp>, labels: &[&str]) -> bool {
    let tops: Vec<f32> = labels.iter().map(|l| top(harness, l)).collect();
    tops.windows(2).all(|pair| pair[0] < pair[1])
}

#[test]
fn the_diff_sorts_by_a_clicked_header_after_then_before_and_keeps_its_filter() {
    let mut harness = seed();
    // The diff's own order: the keys' first changes.
    assert!(in_order(
        &harness,
        &["Mindy George", "Bob Ding", "Jack Geller"]
    ));

    // The city after the run: Denver (user 8), Long Island City (139), Los Angeles (6, then
    // 138: ties keep the diff's order), New York (133, 9, …), Portland (135), Seattle (134).
    click(&mut harness, "city");
    assert!(shows(&harness, "city: after ⬆"));
    let ascending = [
        "Jack Geller",
        "Mindy George",
        "Joey Tribbiani",
        "Bob Ding",
        "Darla Hayes",
        "Monica Bing",
        "Ross Green",
    ];
    assert!(in_order(&harness, &ascending));

    click(&mut harness, "city: after ⬆");
    assert!(shows(&harness, "city: after ⬇"));
    assert!(in_order(
        &harness,
        &["Ross Green", "Monica Bing", "Jack Geller"]
    ));

    // Then the city before the run: the three updated users (Denver, Los Angeles,
    // Nashville), then the inserted ones, which had none (nulls last).
    click(&mut harness, "city: after ⬇");
    assert!(shows(&harness, "city: before ⬆"));
    assert!(in_order(
        &harness,
        &["Mindy George", "Darla Hayes", "Bob Ding"]
    ));
    assert!(top(&harness, "Lebron James → Kevin Durant") < top(&harness, "Mindy George"));

    // A filter keeps the sort: the updated users by city after the run.
    click(&mut harness, "city: before ⬆");
    click(&mut harness, "city: before ⬇");
    assert!(shows(&harness, "city: after ⬆"));
    click(&mut harness, "Updated (3)");
    assert!(shows(&harness, "3 of 10 keys"));
    assert!(top(&harness, "Lebron James → Kevin Durant") < top(&harness, "Mindy George"));
    assert!(in_order(&harness, &["Mindy George", "Darla Hayes"]));

    // The kind: inserted before updated, whatever the diff's order.
    click(&mut harness, "All (10)");
    click(&mut harness, "change");
    assert!(shows(&harness, "change ⬆"));
    assert!(in_order(&harness, &["Jack Geller", "Mindy George"]));
}

/// Per column, what the updates did (the core's report): how many, how many to null, and the
/// most frequent old → new values once the column is opened.
#[test]
fn the_column_panel_shows_what_the_updates_did_to_each_column() {
    let dir = tempfile::tempdir().unwrap();
    write_file(
        dir.path(),
        "LOAD00000001.csv",
        "1,Ann,Austin,2021-01-01\n2,Bob,Austin,2021-01-02\n3,Cy,Austin,2021-01-03\n",
    );
    write_file(
        dir.path(),
        "20211017-100000000.csv",
        "U,1,Ann,Denver,2021-01-01\nU,2,Bob,Denver,2021-01-02\nU,3,Cy,,2021-01-03\n\
         I,4,Dee,Reno,2021-01-04\n",
    );
    let mut harness = harness(
        Startup::Paths(vec![dir.path().to_path_buf()]),
        ScriptedDialogs::new(|_| Vec::new()),
    );
    assert!(shows(&harness, "Columns the updates changed"));
    assert!(
        !shows(&harness, "name: 1 update"),
        "no update changed a name"
    );
    click(&mut harness, "city: 3 updates, 1 to null");
    assert!(shows(&harness, "Austin → Denver × 2"));
    assert!(shows(&harness, "Austin → null × 1"));
}

#[test]
fn a_key_search_by_prefix_finds_the_keys_that_start_with_it() {
    let mut harness = seed();
    harness.get_by_label("Find key").click();
    harness.run();
    harness.get_by_label("Find key").type_text("13");
    settle(&mut harness);
    assert!(
        shows(&harness, "No change to the key 13 here."),
        "a whole key by default"
    );

    toggle_checkbox(&mut harness, "Starts with");
    assert!(shows(&harness, "7 of 10 keys"));
    assert!(shows(&harness, "Bob Ding") && shows(&harness, "Jack Geller"));
    assert!(
        !shows(&harness, "Darla Hayes"),
        "user 9 does not start with 13"
    );
}

fn toggle_checkbox(harness: &mut Harness<'static, TidemarkApp>, label: &str) {
    harness.get_by_role_and_label(Role::CheckBox, label).click();
    settle(harness);
}

#[test]
fn a_facet_counts_its_keys_and_filters_the_diff_when_clicked() {
    let mut harness = seed();
    // Of the three updates, one changed the city (user 9), all three the last login.
    assert!(shows(&harness, "city (1)") && shows(&harness, "last_login (3)"));
    assert!(shows(&harness, "20211017-194324349.csv (6)"));

    click(&mut harness, "city (1)");
    assert!(shows(&harness, "1 of 10 keys"));
    assert!(shows(&harness, "Nashville → New York"));
    assert!(shows(&harness, "city changed ✖"), "the filter in force");
    // The other facets count under it; the kinds say what each would show.
    assert!(shows(&harness, "Updated (1)") && shows(&harness, "Inserted (0)"));

    click(&mut harness, "city changed ✖");
    assert!(shows(&harness, "10 of 10 keys"));
    assert!(shows(&harness, "Updated (3)"));
}

#[test]
fn a_column_filter_narrows_the_diff_and_comes_off_with_its_chip() {
    let mut harness = seed();
    // The filter bar starts on the first compared column, `name`, comparing by `contains`.
    harness.get_by_label("Filter value").click();
    harness.run();
    harness.get_by_label("Filter value").type_text("geller");
    settle(&mut harness);
    click(&mut harness, "Add filter");
    assert!(shows(&harness, "2 of 10 keys"));
    assert!(shows(&harness, "Monica Geller") && shows(&harness, "Jack Geller"));
    assert!(!shows(&harness, "Bob Ding"));

    click(&mut harness, "name contains \"geller\" ✖");
    assert!(shows(&harness, "10 of 10 keys"));
}

/// Applies change files to the Delta tables at `place` as `tidemark apply --delta --out PLACE`
/// does (the same library call): the first run creates them from `load`, each run one commit.
fn delta_run(place: &Path, load: Option<&Path>, changes: &[&Path]) -> u64 {
    let spec = tidemark_core::TableSpec::users();
    let options = tidemark_core::pipeline::Options {
        as_of: chrono::NaiveDate::from_ymd_opt(2021, 10, 20),
        ..Default::default()
    };
    let read = |path: &Path| {
        InputFile::new(
            path.display().to_string(),
            std::fs::read(path).expect("an input file"),
        )
    };
    let request = tidemark_delta::Request {
        spec: &spec,
        initial: load
            .map(|p| tidemark_delta::Part::loaded(read(p)))
            .into_iter()
            .collect(),
        changes: changes.iter().map(|p| read(p)).collect(),
        options: &options,
        buckets: 4,
        write_diff: true,
        write_enriched: true,
        lookup_digest: None,
        rebuild: false,
        etags: Default::default(),
    };
    let place = tidemark_delta::Place::open(&place.display().to_string()).unwrap();
    tidemark_delta::apply(&place, &request, &mut |_| {})
        .unwrap()
        .table_version
}

/// Sets a spin button (the window, a version) as a user typing a number would.
fn set_number(harness: &mut Harness<'static, TidemarkApp>, label: &str, value: f64) {
    harness
        .get_by_role_and_label(Role::SpinButton, label)
        .set_value_accesskit(value);
    settle(harness);
}

/// Issue 14: a Delta table written as `tidemark apply --delta` writes it, opened in the app by
/// its folder, and any two of its versions compared with the diff view runs have.
#[test]
fn a_delta_tables_versions_are_compared_in_the_diff() {
    let dir = tempfile::tempdir().unwrap();
    let load = write_file(
        dir.path(),
        "LOAD00000001.csv",
        "1,Ann,Austin,2021-01-01\n2,Bob,Boston,2021-02-01\n",
    );
    let first = write_file(
        dir.path(),
        "20211017-100000000.csv",
        "U,2,Bob,Denver,2021-10-17\nI,3,Cy,Seattle,2021-10-17\n",
    );
    let second = write_file(
        dir.path(),
        "20211018-100000000.csv",
        "D,1,Ann,Austin,2021-01-01\nU,3,Cy,Portland,2021-10-18\n",
    );
    let third = write_file(
        dir.path(),
        "20211019-100000000.csv",
        "I,4,Dee,Reno,2021-10-19\n",
    );
    let lake = dir.path().join("lake");
    assert_eq!(delta_run(&lake, Some(&load), &[&first]), 0, "created");
    assert_eq!(delta_run(&lake, None, &[&second]), 1);
    assert_eq!(delta_run(&lake, None, &[&third]), 2);

    let mut harness = seed();
    harness.get_by_label("Location").click();
    harness.run();
    harness
        .get_by_label("Location")
        .type_text(&lake.display().to_string());
    harness.run();
    click(&mut harness, "Open table");

    // The latest commit first: version 1 to 2 inserted Dee.
    assert!(shows(&harness, "Versions 0 to 2"));
    assert_eq!(
        harness
            .get_by_role_and_label(Role::SpinButton, "Version A")
            .value()
            .as_deref(),
        Some("v1")
    );
    assert!(shows(
        &harness,
        "users: 2 rows + 1 change from 1 file → 3 rows"
    ));
    assert!(shows(&harness, "Inserted (1)") && shows(&harness, "Updated (0)"));
    assert!(shows(&harness, "Dee") && !shows(&harness, "Seattle → Portland"));

    // Version 0 to 2: Ann deleted, Cy moved, Dee inserted; Bob's move was in version 0.
    set_number(&mut harness, "Version A", 0.0);
    assert!(shows(
        &harness,
        // The files of the changes: a delete names its row in version A, the others in B.
        "users: 3 rows + 3 changes from 2 files → 3 rows"
    ));
    for label in ["Inserted (1)", "Updated (1)", "Deleted (1)", "All (3)"] {
        assert!(shows(&harness, label), "missing {label:?}");
    }
    assert!(shows(&harness, "Seattle → Portland"));
    assert!(shows(&harness, "Ann") && shows(&harness, "Dee"));
    assert!(!shows(&harness, "Boston → Denver"), "before version 0");

    // Backwards, version 2 to 0: the same changes the other way.
    set_number(&mut harness, "Version A", 2.0);
    set_number(&mut harness, "Version B", 0.0);
    assert!(shows(&harness, "Portland → Seattle"));
    assert!(shows(&harness, "Inserted (1)") && shows(&harness, "Deleted (1)"));
}

#[test]
fn a_folder_that_holds_no_delta_table_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let mut harness = seed();
    harness.get_by_label("Location").click();
    harness.run();
    harness
        .get_by_label("Location")
        .type_text(&dir.path().display().to_string());
    harness.run();
    click(&mut harness, "Open table");
    assert!(error_text(&harness).contains("is not a Delta table"));
    assert!(shows(&harness, "Inserted (7)"), "the review stays");
}

/// Opens a combo box of the filter bar by its label and picks an option in it.
fn pick(harness: &mut Harness<'static, TidemarkApp>, combo: &str, option: &str) {
    harness.get_by_role_and_label(Role::ComboBox, combo).click();
    harness.run();
    // The option in the open list (a selectable value), not a header of the same name.
    harness
        .get_by(|node| node.label().as_deref() == Some(option) && node.toggled().is_some())
        .click();
    settle(harness);
}

/// A column filter on the value before the run, or after it (issue 19: before/after sides).
#[test]
fn a_column_filter_reads_the_value_before_or_after_the_run() {
    let mut harness = seed();
    pick(&mut harness, "Filter column", "city");
    pick(&mut harness, "how", "equals");
    pick(&mut harness, "which", "value before");
    harness.get_by_label("Filter value").click();
    harness.run();
    harness.get_by_label("Filter value").type_text("Nashville");
    settle(&mut harness);
    click(&mut harness, "Add filter");
    // User 9 moved from Nashville to New York: Nashville before the run.
    assert!(shows(&harness, "1 of 10 keys"));
    assert!(shows(&harness, "Nashville → New York"));

    click(&mut harness, "city before = Nashville ✖");
    pick(&mut harness, "which", "value after");
    harness.get_by_label("Filter value").click();
    harness.run();
    harness.get_by_label("Filter value").type_text("Nashville");
    settle(&mut harness);
    click(&mut harness, "Add filter");
    assert!(shows(&harness, "city after = Nashville ✖"));
    assert!(
        shows(&harness, "No key matches the filters."),
        "nobody is there after"
    );
}

/// Issue 19 #7: rates read as 0.3333, every digit on hover; the table (what exports write)
/// keeps them all.
#[test]
fn rates_show_four_decimals_and_their_full_value_on_hover() {
    let mut harness = seed();
    click(&mut harness, "Enriched table (110 rows)");
    // The first rows' rates with more than four decimals, as the table holds them.
    let rates: Vec<f64> = {
        use arrow_array::Array;
        let review = harness.state().review_state().unwrap();
        let column = review
            .table()
            .column_by_name("login_rate_last_3_months_by_city")
            .unwrap();
        let column = arrow_cast::cast(column, &arrow_schema::DataType::Float64).unwrap();
        let column = column
            .as_any()
            .downcast_ref::<arrow_array::Float64Array>()
            .expect("rates as f64");
        (0..20)
            .filter(|&i| column.is_valid(i))
            .map(|i| column.value(i))
            .filter(|v| (v * 10_000.0).fract() != 0.0)
            .collect()
    };
    assert!(
        !rates.is_empty(),
        "the seed has long rates among its first rows"
    );
    let full = rates[0].to_string();
    let shown = tidemark_desktop::cells::compact(rates[0]);
    assert!(full.len() > 10 && shown.len() <= 6, "{full} as {shown}");
    assert!(shows(&harness, &shown), "{shown} shown");
    assert!(!shows(&harness, &full), "not {full}");
    harness.query_all_by_label(&shown).next().unwrap().hover();
    harness.run_steps(8);
    assert!(shows(&harness, &full), "{full} on hover");
}

/// Issue 19 #7: a column widened by dragging its edge in the header.
#[test]
fn a_column_is_resized_by_dragging_its_edge() {
    let mut harness = seed();
    click(&mut harness, "Enriched table (110 rows)");
    let city_before = harness.get_by_label("city").rect().min.x;
    let last_login_before = harness.get_by_label("last_login").rect().min.x;
    // The edge between `name` and `city`: half the item spacing left of `city`'s header.
    let y = harness.get_by_label("city").rect().center().y;
    let edge = egui::pos2(city_before - 4.0, y);
    let modifiers = egui::Modifiers::default();
    harness.event(egui::Event::PointerMoved(edge));
    harness.step();
    harness.event(egui::Event::PointerButton {
        pos: edge,
        button: egui::PointerButton::Primary,
        pressed: true,
        modifiers,
    });
    harness.step();
    for dx in [20.0, 60.0, 120.0] {
        harness.event(egui::Event::PointerMoved(edge + egui::vec2(dx, 0.0)));
        harness.step();
    }
    harness.event(egui::Event::PointerButton {
        pos: edge + egui::vec2(120.0, 0.0),
        button: egui::PointerButton::Primary,
        pressed: false,
        modifiers,
    });
    harness.run();
    let moved = harness.get_by_label("city").rect().min.x - city_before;
    assert!(
        (110.0..=130.0).contains(&moved),
        "the name column grew by {moved}"
    );
    let also = harness.get_by_label("last_login").rect().min.x - last_login_before;
    assert!(
        (also - moved).abs() < 1.0,
        "the columns after it moved along"
    );
}

/// Issue 19 #7: dates as YYYY-MM-DD and commit timestamps without the `T`.
#[test]
fn dates_and_commit_timestamps_read_year_first() {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "LOAD00000001.csv", "1,Ann,Austin,2021-01-01\n");
    write_file(
        dir.path(),
        "20211017-100000000.csv",
        "U,2021-10-17 10:00:00.000000,1,Ann,Denver,2021-10-02\n",
    );
    let harness = harness(
        Startup::Paths(vec![dir.path().to_path_buf()]),
        ScriptedDialogs::new(|_| Vec::new()),
    );
    assert!(shows(&harness, "2021-01-01 → 2021-10-02"));
    assert!(shows(&harness, "2021-10-17 10:00:00"), "the sequence");
    assert!(!shows(&harness, "2021-10-17T10:00:00"));
}

/// Issue 19 #8: cities that found no state, with their rows, above the views.
#[test]
fn unmatched_lookup_names_are_shown_above_the_views_with_their_rows() {
    let dir = tempfile::tempdir().unwrap();
    let odd = write_file(
        dir.path(),
        "20211019-000000000.csv",
        "I,200,Ann Other,Atlantis,2021-10-19\nI,201,Bo Other,Atlantis,2021-10-19\n\
         I,202,Cy Other,Gotham,2021-10-19\n",
    );
    let mut harness = harness(
        Startup::Seed,
        ScriptedDialogs::new(move |_| vec![odd.clone()]),
    );
    let banner = |harness: &Harness<'static, TidemarkApp>| {
        harness
            .query_all_by_label_contains("not in the lookup table")
            .filter_map(|n| n.accesskit_node().value())
            .next()
    };
    assert_eq!(banner(&harness), None, "every city of the seed matched");
    click(&mut harness, "Add change files…");
    assert_eq!(
        banner(&harness).as_deref(),
        Some("⚠ 2 city names not in the lookup table: 3 rows without a state:")
    );
    // Above the views (the list on the left has them too), most rows first.
    let above_the_views = |harness: &Harness<'static, TidemarkApp>, name: &str, tab: &str| {
        let tab = top(harness, tab);
        harness
            .query_all_by_label(name)
            .map(|n| n.rect())
            .find(|r| r.max.y < tab && r.min.x > 300.0)
    };
    let atlantis = above_the_views(&harness, "Atlantis (2 rows)", "Diff (13 keys)").unwrap();
    let gotham = above_the_views(&harness, "Gotham (1 row)", "Diff (13 keys)").unwrap();
    assert!(atlantis.min.x < gotham.min.x || atlantis.min.y < gotham.min.y);
    click(&mut harness, "Enriched table (113 rows)");
    assert!(above_the_views(&harness, "Atlantis (2 rows)", "Enriched table (113 rows)").is_some());
}

/// Issue 19 #8: a click on a name the lookup did not find shows its rows in the enriched table
/// (the column the lookup reads equal to it), sortable; its chip takes the filter off.
#[test]
fn clicking_an_unmatched_name_shows_its_rows_in_the_enriched_table() {
    let dir = tempfile::tempdir().unwrap();
    let odd = write_file(
        dir.path(),
        "20211019-000000000.csv",
        "I,200,Ann Other,Atlantis,2021-10-19\nI,201,Bo Other,Atlantis,2021-10-19\n\
         I,202,Cy Other,Gotham,2021-10-19\n",
    );
    let mut harness = harness(
        Startup::Seed,
        ScriptedDialogs::new(move |_| vec![odd.clone()]),
    );
    click(&mut harness, "Add change files…");
    // The banner's, above the views (the list on the left has the same link).
    harness
        .query_all_by_label("Atlantis (2 rows)")
        .find(|n| n.rect().min.x > 300.0)
        .unwrap()
        .click();
    settle(&mut harness);

    assert!(shows(&harness, "2 of 113 rows"));
    assert!(shows(&harness, "city = Atlantis ✖"));
    assert!(shows(&harness, "Ann Other") && shows(&harness, "Bo Other"));
    assert!(!shows(&harness, "Cy Other"), "Gotham's");
    assert!(
        !shows(&harness, "Herman Zimmerman"),
        "user 0, in Los Angeles"
    );
    click(&mut harness, "user_id");
    click(&mut harness, "user_id ⬆");
    assert!(
        in_order(&harness, &["Bo Other", "Ann Other"]),
        "201 before 200"
    );

    click(&mut harness, "city = Atlantis ✖");
    assert!(!shows(&harness, "2 of 113 rows"));
    assert!(shows(&harness, "Cy Other"), "every row again, 202 first");
}

/// The CLI's million-row DMS workload (`tests/common/dms_bench.rs`, seeded: the same bytes
/// every time), made here rather than a second generator.
#[path = "../../tests/common/dms_bench.rs"]
mod dms_bench;

/// Writes the million-row run as DMS lays it out (the full load, the change files in their
/// date folder) with the bundled users spec plus `[history]` beside it (the spec file of
/// `tidemark-desktop --spec`); returns the spec's path and every key the changes touch, read
/// off the change files.
fn million_row_run(dir: &Path) -> (PathBuf, std::collections::BTreeSet<i64>) {
    let work = dms_bench::workload(1_000_000, 4, 42);
    std::fs::write(dir.join("LOAD00000001.csv"), &work.load).unwrap();
    let day = dir.join("2021/10/18");
    std::fs::create_dir_all(&day).unwrap();
    let mut touched = std::collections::BTreeSet::new();
    for (name, bytes) in &work.changes {
        std::fs::write(day.join(name), bytes).unwrap();
        // `Op,ts,user_id,...`: the key is the third field.
        for line in std::str::from_utf8(bytes).unwrap().lines() {
            touched.insert(line.split(',').nth(2).unwrap().parse::<i64>().unwrap());
        }
    }
    let users = std::fs::read_to_string(seed_folder().join("../users.toml")).unwrap();
    let spec = dir.join("users-with-history.toml");
    std::fs::write(&spec, format!("{users}\n[history]\n")).unwrap();
    (spec, touched)
}

/// The texts on screen in the table column under `header`, top to bottom (the cells start at
/// the header's left edge; a highlighted cell a few points in).
fn column_texts(harness: &Harness<'static, TidemarkApp>, header: &str) -> Vec<String> {
    let header = harness.get_by_label(header).rect();
    let mut cells: Vec<(f32, String)> = harness
        .query_all_by(|node| node.value().is_some() || node.label().is_some())
        .filter_map(|node| {
            let rect = node.rect();
            let under = rect.min.y > header.max.y
                && (header.min.x - 2.0..=header.min.x + 8.0).contains(&rect.min.x);
            let text = node
                .accesskit_node()
                .value()
                .or(node.accesskit_node().label());
            under.then_some((rect.min.y, text?))
        })
        .collect();
    cells.sort_by(|a, b| a.0.total_cmp(&b.0));
    // A link (a key, when the run kept history) is a node and its text another, in one place.
    cells.dedup_by(|a, b| a.1 == b.1 && (a.0 - b.0).abs() < 1.0);
    cells.into_iter().map(|(_, text)| text).collect()
}

/// The value after the run in a compared column's cell (`old → new`, or the value alone).
fn after_value(cell: &str) -> &str {
    cell.rsplit(" → ").next().unwrap_or(cell)
}

/// Issue 19: the review of a million-row run, through the app as a user drives it: opened
/// from the command line (`tidemark-desktop --spec users-with-history.toml FOLDER`), the diff
/// sorted by clicked headers, a changed-column facet, a key found with its changed cells, its
/// chain of changes (each with its operation, file and row), and a file unticked: the result
/// says it is out of date until the new one is on screen.
///
/// Key 192790 (the page's) is not among the keys this workload changes; 193688 is, three times
/// (Dallas in the load, then Chicago, Franklin, Greenville), in three of the four files.
/// The chain of a key's changes is its timeline, which the app has when the spec keeps history:
/// without `[history]` a diff row names only the key's last change (file, row) and how many
/// changes applied.
#[test]
fn a_million_row_run_is_searched_sorted_faceted_and_recomputed_through_the_app() {
    let dir = tempfile::tempdir().unwrap();
    let (spec, touched) = million_row_run(dir.path());
    let mut harness = harness(
        Startup::Spec {
            spec,
            paths: vec![dir.path().to_path_buf()],
        },
        ScriptedDialogs::new(|_| Vec::new()),
    );
    assert!(shows(
        &harness,
        "users: 1,000,000 rows + 100,010 changes from 4 files → 1,025,007 rows"
    ));
    assert!(shows(&harness, "All (86,663)") && shows(&harness, "Updated (44,272)"));
    assert_eq!(touched.len(), 86_663, "every touched key is in the diff");

    // Sorted by the key: the smallest touched keys first, then the largest (the anomalies'
    // keys, updates of keys that never existed, past the load's).
    click(&mut harness, "user_id");
    let keys = column_texts(&harness, "user_id ⬆");
    assert!(keys.len() >= 10, "{keys:?}");
    let smallest: Vec<String> = touched
        .iter()
        .take(keys.len())
        .map(i64::to_string)
        .collect();
    assert_eq!(keys, smallest);
    click(&mut harness, "user_id ⬆");
    let keys = column_texts(&harness, "user_id ⬇");
    let largest: Vec<String> = touched
        .iter()
        .rev()
        .take(keys.len())
        .map(i64::to_string)
        .collect();
    assert_eq!(keys, largest);

    // Sorted by the city after the run: Arlington first (alphabetically the least).
    click(&mut harness, "city");
    let cities = column_texts(&harness, "city: after ⬆");
    assert!(cities.len() >= 10, "{cities:?}");
    assert!(
        cities.iter().all(|c| after_value(c) == "Arlington"),
        "{cities:?}"
    );

    // The changed-column facet: the keys whose city an update changed, still sorted.
    click(&mut harness, "city (40,282)");
    assert!(shows(&harness, "40,282 of 86,663 keys"));
    assert!(shows(&harness, "city changed ✖"));
    let cities = column_texts(&harness, "city: after ⬆");
    assert!(
        cities.iter().all(|c| c.ends_with(" → Arlington")),
        "{cities:?}"
    );
    click(&mut harness, "city changed ✖");
    assert!(shows(&harness, "86,663 of 86,663 keys"));

    // The key search: one key, its changed cells highlighted.
    harness.get_by_label("Find key").click();
    harness.run();
    harness.get_by_label("Find key").type_text("193688");
    settle(&mut harness);
    assert!(shows(&harness, "1 of 86,663 keys"));
    assert!(is_highlighted(&harness, "Dallas → Greenville"));
    assert!(is_highlighted(&harness, "Jennifer Gonzalez → John Miller"));

    // Its chain of changes: the load's row, then each update with its file and row.
    click_key(&mut harness, "193688");
    assert!(shows(&harness, "History of key 193688: 4 versions"));
    assert!(in_order(
        &harness,
        &[
            "load LOAD00000001.csv row 193688",
            "update 20211018-020000000.csv row 18696",
            "update 20211018-030000000.csv row 16293",
            "update 20211018-040000000.csv row 4452",
        ]
    ));
    assert_eq!(harness.get_all_by_label("closed").count(), 3);
    assert!(
        is_highlighted(&harness, "Franklin"),
        "the second update's city"
    );
    click(&mut harness, "✖ Close");

    // A file unticked: until the run without it is computed, the result says it is out of date.
    harness
        .get_by_role_and_label(Role::CheckBox, "20211018-040000000.csv")
        .click();
    // One frame takes the click in and starts the review (seconds on a million rows), the next
    // draws the marking.
    harness.step();
    harness.step();
    assert!(shows(&harness, "Out of date: recomputing…"));
    assert!(
        shows(&harness, "Dallas → Greenville"),
        "the previous result stays"
    );
    settle(&mut harness);
    assert!(!shows(&harness, "Out of date: recomputing…"));
    assert!(
        shows(&harness, "Dallas → Franklin"),
        "193688 without its last update"
    );
    assert_eq!(ticked(&harness, "20211018-040000000.csv"), Some(false));
}
