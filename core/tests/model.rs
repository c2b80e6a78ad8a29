//! Property tests against a deliberately naive model: replay each change into a `BTreeMap`,
//! then compute every feature row by row. Random snapshots and batches exercise every
//! anomaly (inserts of existing keys, updates and deletes of missing ones, several changes
//! per key); with a sequence column, any permutation and duplication of the files, in one
//! run or spread over several, must give the same table. Sequence values are drawn from few
//! distinct values, so many changes share one (as the changes of one transaction share its
//! commit timestamp): the model orders by sequence, then file name, then row; with a change
//! sequence beside the timestamp (`$AR_H_CHANGE_SEQ`, in an order of its own, unrelated to
//! file and row), by sequence, then change sequence, then file name, then row.

use std::collections::{BTreeMap, BTreeSet};

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Float64Type, Int64Type};
use arrow_array::{Array, RecordBatch};
use chrono::NaiveDate;
use proptest::prelude::*;
use tidemark_core::features::lookup::Lookup;
use tidemark_core::pipeline::{self, Inputs, Options};
use tidemark_core::{InputFile, TableSpec, encode};

const CITIES: [&str; 6] = [
    "Austin",
    "Boston",
    "Nashville",
    "Nashville-Davidson",
    "Nowhere",
    "Denver",
];
const NAMES: [&str; 4] = ["Ann", "Bob, Jr.", "Cy \"C\"", ""];
const AS_OF: i32 = 100; // days after the first date below
const WINDOW: i32 = 90;

fn lookup() -> Lookup {
    let table =
        b"city,state\nAustin,Texas\nBoston,Massachusetts\nNashville,Tennessee\nDenver,Colorado\n";
    Lookup::from_file(&InputFile::new("cities.csv", table.to_vec())).unwrap()
}

#[derive(Debug, Clone, PartialEq)]
struct Values {
    name: Option<usize>,
    city: usize,
    date: Option<i32>,
}

#[derive(Debug, Clone)]
struct Change {
    op: char,
    key: i64,
    values: Values,
    /// The change's sequence value (seconds), when files carry one.
    tick: u8,
    /// Its change sequence, when files carry one beside the timestamp.
    change_seq: u8,
    /// For an update, when files carry before-images: the key before the update. Another key
    /// than `key` moves the row; none leaves the before-image empty (the key did not change).
    before: Option<i64>,
}

fn values() -> impl Strategy<Value = Values> {
    (
        prop::option::weighted(0.9, 0..NAMES.len() - 1),
        0..CITIES.len(),
        prop::option::weighted(0.9, 0..120i32),
    )
        .prop_map(|(name, city, date)| Values { name, city, date })
}

fn snapshot() -> impl Strategy<Value = BTreeMap<i64, Values>> {
    prop::collection::btree_map(0..30i64, values(), 0..25)
}

fn change() -> impl Strategy<Value = Change> {
    (
        prop::sample::select(vec!['I', 'U', 'D']),
        0..40i64,
        values(),
        0..60u8,
        0..60u8,
        prop::option::weighted(0.5, 0..40i64),
    )
        .prop_map(|(op, key, values, tick, change_seq, before)| Change {
            op,
            key,
            values,
            tick,
            change_seq,
            before,
        })
}

fn batches() -> impl Strategy<Value = Vec<Vec<Change>>> {
    prop::collection::vec(prop::collection::vec(change(), 0..8), 1..5)
}

/// Batches whose sequence values are mostly ties: one of `distinct` values each, and so are
/// their change sequences (DMS's are unique; ties there fall back to file and row).
fn tied_batches() -> impl Strategy<Value = Vec<Vec<Change>>> {
    (
        batches(),
        prop_oneof![Just(1u8), Just(2), Just(3), Just(60)],
        prop_oneof![Just(2u8), Just(5), Just(60)],
    )
        .prop_map(|(mut batches, distinct, distinct_change_seq)| {
            for c in batches.iter_mut().flatten() {
                c.tick %= distinct;
                c.change_seq %= distinct_change_seq;
            }
            batches
        })
}

fn date_text(days: i32) -> String {
    (NaiveDate::from_ymd_opt(2021, 1, 1).unwrap() + chrono::Duration::days(days as i64)).to_string()
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn row_text(key: i64, v: &Values) -> String {
    // NAMES' last entry is the empty string, which is the NULL text: use `name: None` for it.
    let name = v.name.map_or(String::new(), |n| csv_field(NAMES[n]));
    format!(
        "{key},{name},{},{}",
        CITIES[v.city],
        v.date.map_or(String::new(), date_text)
    )
}

fn snapshot_file(rows: &BTreeMap<i64, Values>) -> InputFile {
    let text: String = rows.iter().map(|(k, v)| row_text(*k, v) + "\n").collect();
    let text = if text.is_empty() {
        "user_id,name,city,last_login\n".to_string()
    } else {
        text
    };
    InputFile::new("LOAD00000001.csv", text.into_bytes())
}

/// How change files order their changes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Ordering {
    /// By file name and row alone.
    Files,
    /// Every change carries its tick as its commit timestamp.
    Sequence,
    /// ...and its change sequence beside it (`AR_H_CHANGE_SEQ`, named in a header row).
    ChangeSequence,
}

/// How change files are laid out.
#[derive(Debug, Clone, Copy)]
struct Layout {
    ordering: Ordering,
    /// Each row has `BI_user_id` (DMS `add-before-image-columns`), named in a header row:
    /// an update's key before it, empty in inserts and deletes.
    before_images: bool,
}

impl From<Ordering> for Layout {
    fn from(ordering: Ordering) -> Layout {
        Layout {
            ordering,
            before_images: false,
        }
    }
}

impl Layout {
    /// The header row, when the layout needs one to be found.
    fn header(self) -> Option<String> {
        if self.ordering != Ordering::ChangeSequence && !self.before_images {
            return None;
        }
        Some(self.fields(
            "Op",
            "ts",
            "BI_user_id",
            "user_id,name,city,last_login",
            "AR_H_CHANGE_SEQ",
        ))
    }

    /// A row's fields in the layout's order: `Op,[ts,][BI_user_id,]table[,AR_H_CHANGE_SEQ]`.
    fn fields(self, op: &str, ts: &str, before: &str, table: &str, change_seq: &str) -> String {
        let mut fields = vec![op];
        if self.ordering != Ordering::Files {
            fields.push(ts);
        }
        if self.before_images {
            fields.push(before);
        }
        fields.push(table);
        if self.ordering == Ordering::ChangeSequence {
            fields.push(change_seq);
        }
        fields.join(",") + "\n"
    }

    fn row(self, c: &Change) -> String {
        let before = match (c.op, c.before) {
            ('U', Some(key)) => key.to_string(),
            _ => String::new(),
        };
        self.fields(
            &c.op.to_string(),
            &format!("2021-06-01 00:00:{:02}.000000", c.tick),
            &before,
            &row_text(c.key, &c.values),
            &c.change_seq.to_string(),
        )
    }
}

fn change_files(batches: &[Vec<Change>], layout: impl Into<Layout>) -> Vec<InputFile> {
    let layout = layout.into();
    batches
        .iter()
        .enumerate()
        .map(|(i, changes)| {
            let mut text = layout.header().unwrap_or_default();
            for c in changes {
                text += &layout.row(c);
            }
            if text.is_empty() {
                text = match layout.ordering {
                    Ordering::Files => "Op,user_id,name,city,last_login\n",
                    _ => "Op,ts,user_id,name,city,last_login\n",
                }
                .into();
            }
            InputFile::new(
                format!("2021/06/01/20210601-0000{i:02}000.csv"),
                text.into_bytes(),
            )
        })
        .collect()
}

/// The model: a map replayed change by change, features computed row by row. With a
/// sequence, changes replay in the order of their sequence (then change sequence), ties in
/// file and row order. With before-images, an update from another key removes that key
/// first.
fn model(
    snapshot: &BTreeMap<i64, Values>,
    batches: &[Vec<Change>],
    layout: impl Into<Layout>,
) -> Vec<String> {
    let layout = layout.into();
    let mut table = snapshot.clone();
    let mut changes: Vec<&Change> = batches.iter().flatten().collect();
    // Stable sorts: ties stay in file and row order.
    match layout.ordering {
        Ordering::Files => {}
        Ordering::Sequence => changes.sort_by_key(|c| c.tick),
        Ordering::ChangeSequence => changes.sort_by_key(|c| (c.tick, c.change_seq)),
    }
    for c in changes {
        if c.op == 'T' {
            table.clear();
            continue;
        }
        if let ('U', true, Some(before)) = (c.op, layout.before_images, c.before) {
            table.remove(&before);
        }
        match c.op {
            'D' => {
                table.remove(&c.key);
            }
            _ => {
                table.insert(c.key, c.values.clone());
            }
        }
    }
    let group = |v: &Values| {
        if CITIES[v.city] == "Nashville-Davidson" {
            "Nashville"
        } else {
            CITIES[v.city]
        }
    };
    let state = |g: &str| match g {
        "Austin" => "Texas",
        "Boston" => "Massachusetts",
        "Nashville" => "Tennessee",
        "Denver" => "Colorado",
        _ => "null",
    };
    table
        .iter()
        .map(|(k, v)| {
            let g = group(v);
            let members: Vec<&Values> = table.values().filter(|o| group(o) == g).collect();
            let dates: BTreeSet<i32> = members.iter().filter_map(|o| o.date).collect();
            let rank = match v.date {
                Some(d) => dates.iter().filter(|&&o| o > d).count() + 1,
                None => dates.len() + 1,
            };
            let recent = members
                .iter()
                .filter(|o| o.date.is_some_and(|d| d >= AS_OF - WINDOW))
                .count();
            format!(
                "{k}|{}|{g}|{}|{}|{rank}|{:.12}|{}",
                v.name.map_or("null", |n| NAMES[n]),
                v.date.map_or("null".into(), date_text),
                state(g),
                recent as f64 / members.len() as f64,
                members.len()
            )
        })
        .collect()
}

fn run(
    snapshot: Vec<InputFile>,
    state: Option<InputFile>,
    changes: Vec<InputFile>,
) -> pipeline::Output {
    let mut spec = TableSpec::users();
    spec.cdc.ops.truncate = vec!["T".into()];
    run_with(&spec, snapshot, state, None, changes)
}

fn run_with(
    spec: &TableSpec,
    snapshot: Vec<InputFile>,
    state: Option<InputFile>,
    change_log: Option<InputFile>,
    changes: Vec<InputFile>,
) -> pipeline::Output {
    let options = Options {
        as_of: Some(
            NaiveDate::from_ymd_opt(2021, 1, 1).unwrap() + chrono::Duration::days(AS_OF as i64),
        ),
        lookup: Some(lookup()),
        ..Default::default()
    };
    pipeline::run(
        spec,
        Inputs {
            snapshot,
            state,
            changes,
            change_log,
            next_snapshot: Vec::new(),
        },
        &options,
        &mut |_| {},
    )
    .unwrap()
}

fn rows_of(enriched: &RecordBatch) -> Vec<String> {
    // Feature columns may be dictionary-encoded: read them as the file declares them.
    let enriched = logical(enriched);
    let col = |n: &str| enriched.column_by_name(n).unwrap();
    let (ids, names, cities) = (
        col("user_id").as_primitive::<Int64Type>(),
        col("name").as_string::<i32>(),
        col("city").as_string::<i32>(),
    );
    let (dates, states) = (
        col("last_login").as_primitive::<Date32Type>(),
        col("state").as_string::<i32>(),
    );
    let ranks = col("last_login_rank_by_city").as_primitive::<Int64Type>();
    let rates = col("login_rate_last_3_months_by_city").as_primitive::<Float64Type>();
    let counts = col("users_by_city").as_primitive::<Int64Type>();
    let mut rows: Vec<(i64, String)> = (0..enriched.num_rows())
        .map(|i| {
            let text = |a: &dyn Array, v: String| if a.is_null(i) { "null".to_string() } else { v };
            (
                ids.value(i),
                format!(
                    "{}|{}|{}|{}|{}|{}|{:.12}|{}",
                    ids.value(i),
                    text(names, names.value(i).to_string()),
                    cities.value(i),
                    text(
                        dates,
                        dates
                            .value_as_date(i)
                            .map(|d| d.to_string())
                            .unwrap_or_default()
                    ),
                    text(states, states.value(i).to_string()),
                    ranks.value(i),
                    rates.value(i),
                    counts.value(i)
                ),
            )
        })
        .collect();
    rows.sort_by_key(|(k, _)| *k);
    rows.into_iter().map(|(_, r)| r).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn applying_files_in_name_order_matches_the_replay_model(base in snapshot(), batches in batches()) {
        let out = run(vec![snapshot_file(&base)], None, change_files(&batches, Ordering::Files));
        prop_assert_eq!(rows_of(out.enriched.as_ref().unwrap()), model(&base, &batches, Ordering::Files));
    }

    #[test]
    fn with_a_sequence_any_permutation_and_duplication_of_files_gives_the_same_table(
        base in snapshot(),
        batches in tied_batches(),
        order in shuffle(),
        duplicate in 0usize..8,
        split in 0usize..8,
    ) {
        permuted_over_three_runs(&base, &batches, &order, duplicate, split, Ordering::Sequence.into())?;
    }

    /// Changes of one commit timestamp apply in change-sequence order, in one run and over
    /// several: a key's stored position keeps its change sequence, so a later run's change
    /// that shares the timestamp applies or not as it would have in one run.
    #[test]
    fn with_a_change_sequence_ties_order_alike_in_one_run_and_over_several(
        base in snapshot(),
        batches in tied_batches(),
        order in shuffle(),
        duplicate in 0usize..8,
        split in 0usize..8,
    ) {
        permuted_over_three_runs(&base, &batches, &order, duplicate, split, Ordering::ChangeSequence.into())?;
    }

    /// An update whose before-image key is another key moves the row: the replay deletes the
    /// old key and upserts the new one.
    #[test]
    fn before_image_moves_in_name_order_match_the_replay_model(base in snapshot(), batches in batches()) {
        let layout = Layout { ordering: Ordering::Files, before_images: true };
        let out = run(vec![snapshot_file(&base)], None, change_files(&batches, layout));
        prop_assert_eq!(rows_of(out.enriched.as_ref().unwrap()), model(&base, &batches, layout));
    }

    /// Moves take their place in the total order like any change, on both keys: in one run
    /// or several, whatever order and repetition the files come in.
    #[test]
    fn before_image_moves_with_tied_sequences_order_alike_in_one_run_and_over_several(
        base in snapshot(),
        batches in tied_batches(),
        order in shuffle(),
        duplicate in 0usize..8,
        split in 0usize..8,
        change_sequence in any::<bool>(),
    ) {
        let ordering = match change_sequence {
            true => Ordering::ChangeSequence,
            false => Ordering::Sequence,
        };
        let layout = Layout { ordering, before_images: true };
        permuted_over_three_runs(&base, &batches, &order, duplicate, split, layout)?;
    }

    /// A truncate empties the table at its place in the order, in one run or over several:
    /// a later run's change older than an earlier run's truncate stays out, a late truncate
    /// spares the keys changed after it.
    #[test]
    fn truncates_in_any_permutation_and_duplication_of_files_give_the_same_table(
        base in snapshot(),
        batches in tied_batches(),
        order in shuffle(),
        duplicate in 0usize..8,
        split in 0usize..8,
        truncates in prop::collection::vec((0usize..5, 0usize..8, 0u8..60), 1..3),
        change_sequence in any::<bool>(),
    ) {
        let batches = with_truncates(batches, &truncates);
        let ordering = match change_sequence {
            true => Ordering::ChangeSequence,
            false => Ordering::Sequence,
        };
        permuted_over_three_runs(&base, &batches, &order, duplicate, split, ordering.into())?;
    }

    /// History: whatever order and repetition the files come in, in one run or over several
    /// (each reading the change log the one before kept), every version of every key is the
    /// naive replay's, late changes at their place.
    #[test]
    fn history_of_any_permutation_and_duplication_of_files_over_runs_matches_the_replay_model(
        base in snapshot(),
        batches in tied_batches(),
        order in shuffle(),
        duplicate in 0usize..8,
        split in 0usize..8,
        change_sequence in any::<bool>(),
        before_images in any::<bool>(),
        truncates in prop::collection::vec((0usize..5, 0usize..8, 0u8..60), 0..3),
    ) {
        let batches = with_truncates(batches, &truncates);
        let ordering = match change_sequence {
            true => Ordering::ChangeSequence,
            false => Ordering::Sequence,
        };
        let layout = Layout { ordering, before_images };
        history_over_three_runs(&base, &batches, &order, duplicate, split, layout)?;
    }
}

/// `batches` with truncates (`T`) at the given (file, row, tick) places: mostly tied with a
/// neighbour, as changes of one transaction are.
fn with_truncates(
    mut batches: Vec<Vec<Change>>,
    truncates: &[(usize, usize, u8)],
) -> Vec<Vec<Change>> {
    for &(file, row, tick) in truncates {
        let file = file % batches.len();
        let row = row % (batches[file].len() + 1);
        let neighbour = batches[file].get(row).map(|c| c.tick);
        batches[file].insert(
            row,
            Change {
                op: 'T',
                key: 0,
                values: Values {
                    name: None,
                    city: 0,
                    date: None,
                },
                tick: neighbour.unwrap_or(tick),
                change_seq: tick,
                before: None,
            },
        );
    }
    batches
}

/// The naive history: every change (and the snapshot's rows, before them) in apply order,
/// key by key: an insert or update closes the key's open version and opens one; a delete
/// closes it, as deleted. One `key|name|city|date|from|to|current|deleted` line per version,
/// by key then start; `from`/`to` are ticks, `-` for none.
fn history_model(
    snapshot: &BTreeMap<i64, Values>,
    batches: &[Vec<Change>],
    layout: Layout,
) -> Vec<String> {
    let mut changes: Vec<&Change> = batches.iter().flatten().collect();
    match layout.ordering {
        Ordering::Files => {}
        Ordering::Sequence => changes.sort_by_key(|c| c.tick),
        Ordering::ChangeSequence => changes.sort_by_key(|c| (c.tick, c.change_seq)),
    }
    // Per key: (values, from, to, deleted) of each version.
    type Version = (Values, Option<u8>, Option<u8>, bool);
    let mut versions: BTreeMap<i64, Vec<Version>> = BTreeMap::new();
    for (key, values) in snapshot {
        versions
            .entry(*key)
            .or_default()
            .push((values.clone(), None, None, false));
    }
    let close = |versions: &mut BTreeMap<i64, Vec<Version>>, key: i64, at: u8, deleted: bool| {
        if let Some(open) = versions
            .get_mut(&key)
            .and_then(|v| v.last_mut())
            .filter(|v| v.2.is_none() && !v.3)
        {
            open.2 = Some(at);
            open.3 = deleted;
        }
    };
    for c in changes {
        if c.op == 'T' {
            let keys: Vec<i64> = versions.keys().copied().collect();
            for key in keys {
                close(&mut versions, key, c.tick, true);
            }
            continue;
        }
        if let ('U', true, Some(before)) = (c.op, layout.before_images, c.before) {
            if before != c.key {
                close(&mut versions, before, c.tick, true);
            }
        }
        match c.op {
            'D' => close(&mut versions, c.key, c.tick, true),
            _ => {
                close(&mut versions, c.key, c.tick, false);
                versions.entry(c.key).or_default().push((
                    c.values.clone(),
                    Some(c.tick),
                    None,
                    false,
                ));
            }
        }
    }
    let tick = |t: Option<u8>| t.map_or("-".to_string(), |t| t.to_string());
    versions
        .iter()
        .flat_map(|(key, versions)| {
            versions.iter().map(move |(v, from, to, deleted)| {
                format!(
                    "{key}|{}|{}|{}|{}|{}|{}|{deleted}",
                    v.name.map_or("null", |n| NAMES[n]),
                    CITIES[v.city],
                    v.date.map_or("null".into(), date_text),
                    tick(*from),
                    tick(*to),
                    to.is_none() && !deleted,
                )
            })
        })
        .collect()
}

/// The history output as [`history_model`] writes it.
fn history_rows(history: &RecordBatch) -> Vec<String> {
    use arrow_array::types::TimestampMicrosecondType;
    let history = logical(history);
    let col = |n: &str| history.column_by_name(n).unwrap();
    let (ids, names, cities) = (
        col("user_id").as_primitive::<Int64Type>(),
        col("name").as_string::<i32>(),
        col("city").as_string::<i32>(),
    );
    let dates = col("last_login").as_primitive::<Date32Type>();
    let from = col("valid_from").as_primitive::<TimestampMicrosecondType>();
    let to = col("valid_to").as_primitive::<TimestampMicrosecondType>();
    let (current, deleted) = (col("is_current").as_boolean(), col("deleted").as_boolean());
    let base = NaiveDate::from_ymd_opt(2021, 6, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp_micros();
    let tick = |a: &arrow_array::TimestampMicrosecondArray, i: usize| match a.is_null(i) {
        true => "-".to_string(),
        false => ((a.value(i) - base) / 1_000_000).to_string(),
    };
    (0..history.num_rows())
        .map(|i| {
            format!(
                "{}|{}|{}|{}|{}|{}|{}|{}",
                ids.value(i),
                if names.is_null(i) {
                    "null"
                } else {
                    names.value(i)
                },
                cities.value(i),
                match dates.is_null(i) {
                    true => "null".to_string(),
                    false => dates.value_as_date(i).unwrap().to_string(),
                },
                tick(from, i),
                tick(to, i),
                current.value(i),
                deleted.value(i),
            )
        })
        .collect()
}

/// As [`permuted_over_three_runs`], for the history: all at once; in two runs, the second
/// reading the first's snapshot, state and change log; then every file again, which must
/// change nothing.
fn history_over_three_runs(
    base: &BTreeMap<i64, Values>,
    batches: &[Vec<Change>],
    order: &[usize],
    duplicate: usize,
    split: usize,
    layout: Layout,
) -> Result<(), TestCaseError> {
    let mut spec = TableSpec {
        history: Some(tidemark_core::spec::HistorySpec::default()),
        ..TableSpec::users()
    };
    spec.cdc.ops.truncate = vec!["T".into()];
    let want = history_model(base, batches, layout);
    let files = change_files(batches, layout);
    let mut shuffled: Vec<InputFile> = order
        .iter()
        .filter(|&&i| i < files.len())
        .map(|&i| files[i].clone())
        .collect();
    shuffled.push(files[duplicate % files.len()].clone());
    let history = |out: &pipeline::Output| history_rows(&out.history.as_ref().unwrap().versions);

    let out = run_with(
        &spec,
        vec![snapshot_file(base)],
        None,
        None,
        shuffled.clone(),
    );
    prop_assert_eq!(history(&out), want.clone());

    let cut = split % (shuffled.len() + 1);
    let first = run_with(
        &spec,
        vec![snapshot_file(base)],
        None,
        None,
        shuffled[..cut].to_vec(),
    );
    let rest = shuffled[cut..].to_vec();
    let rest = if rest.is_empty() {
        change_files(&[vec![]], layout)
    } else {
        rest
    };
    let log = log_of(&first);
    let (snapshot, state) = carried(first);
    let second = run_with(&spec, vec![snapshot], state, log, rest);
    prop_assert_eq!(history(&second), want.clone());
    let log = log_of(&second);
    let (snapshot, state) = carried(second);
    let replay = run_with(&spec, vec![snapshot], state, log, files);
    prop_assert_eq!(history(&replay), want);
    Ok(())
}

/// A run's change log, through Parquet as the CLI writes it.
fn log_of(out: &pipeline::Output) -> Option<InputFile> {
    out.history.as_ref().map(|h| {
        InputFile::new(
            "change_log.parquet",
            encode::to_parquet(&h.log.rows).unwrap(),
        )
    })
}

fn shuffle() -> impl Strategy<Value = Vec<usize>> {
    Just(()).prop_perturb(|_, mut rng| {
        let mut order: Vec<usize> = (0..8).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, rng.random_range(0..=i));
        }
        order
    })
}

/// The files of `batches` shuffled by `order` with one of them twice, applied all at once,
/// then in two runs cut at `split` (the second reading the first's snapshot and state, as
/// the CLI does), then replayed whole in a third, which must change nothing: the model's
/// table every time.
fn permuted_over_three_runs(
    base: &BTreeMap<i64, Values>,
    batches: &[Vec<Change>],
    order: &[usize],
    duplicate: usize,
    split: usize,
    layout: Layout,
) -> Result<(), TestCaseError> {
    let want = model(base, batches, layout);
    let files = change_files(batches, layout);
    let mut shuffled: Vec<InputFile> = order
        .iter()
        .filter(|&&i| i < files.len())
        .map(|&i| files[i].clone())
        .collect();
    shuffled.push(files[duplicate % files.len()].clone());

    // All at once.
    let out = run(vec![snapshot_file(base)], None, shuffled.clone());
    prop_assert_eq!(rows_of(out.enriched.as_ref().unwrap()), want.clone());

    let cut = split % (shuffled.len() + 1);
    let first = run(vec![snapshot_file(base)], None, shuffled[..cut].to_vec());
    let (snapshot, state) = carried(first);
    let rest = shuffled[cut..].to_vec();
    let rest = if rest.is_empty() {
        change_files(&[vec![]], layout)
    } else {
        rest
    };
    let second = run(vec![snapshot], state, rest);
    prop_assert_eq!(rows_of(second.enriched.as_ref().unwrap()), want.clone());
    let (snapshot, state) = carried(second);
    let replay = run(vec![snapshot], state, files);
    prop_assert_eq!(rows_of(replay.enriched.as_ref().unwrap()), want);
    prop_assert_eq!(
        replay.report.apply.keys_touched,
        0,
        "a replay touches nothing"
    );
    Ok(())
}

/// What a run leaves for the next one: its snapshot and state, through Parquet as the CLI
/// writes them.
fn carried(out: pipeline::Output) -> (InputFile, Option<InputFile>) {
    let snapshot = InputFile::new("snapshot.parquet", encode::to_parquet(&out.table).unwrap());
    let state = out
        .versions
        .map(|v| InputFile::new("state.parquet", encode::to_parquet(&v.rows).unwrap()));
    (snapshot, state)
}

/// `batch` with its dictionary columns decoded to their value type.
fn logical(batch: &RecordBatch) -> RecordBatch {
    tidemark_core::encode::logical(batch).unwrap()
}
