//! The run in a few lines, for people: counts with thousands separators, lists cut to their
//! first few with how many more, names of files said once, no parentheses inside parentheses.
//! Scripts read `report.json`, not this.

use std::fmt::Write;

use tidemark_core::RunReport;
use tidemark_core::report::{Anomaly, ColumnChanges, LookupSummary, thousands as count};

use super::progress::Timings;

/// How many items of a list (unmatched names, anomaly examples) a line shows.
const SHOWN: usize = 5;

/// The run in a few lines, for people.
pub(super) fn summary(report: &RunReport, timings: &Timings, written: &[String]) -> String {
    let mut s = String::new();
    let a = &report.apply;
    let _ = writeln!(
        s,
        "{}: {} rows + {} changes from {} file(s) -> {} rows",
        report.table,
        count(a.rows_before),
        count(a.changes),
        count(report.changes.len()),
        count(a.rows_after)
    );
    let o = a.outcome;
    let order = a.sequence.map_or("file names, then rows".to_string(), |k| {
        format!("{k} sequence")
    });
    let _ = writeln!(
        s,
        "  inserted {}, updated {}, deleted {}, unchanged {}, inserted and deleted {}; order: {order}",
        count(o.inserted),
        count(o.updated),
        count(o.deleted),
        count(o.unchanged),
        count(o.inserted_and_deleted),
    );
    if a.keys_changed_several_times > 0 {
        let _ = writeln!(
            s,
            "  {} keys changed more than once (their last change counts)",
            count(a.keys_changed_several_times)
        );
    }
    column_lines(&mut s, &a.columns);
    file_table(&mut s, report);
    if report.anomalies.is_empty() {
        let _ = writeln!(s, "  anomalies: none");
    }
    for anomaly in &report.anomalies {
        let _ = writeln!(s, "  {}", anomaly_line(anomaly));
    }
    if let Some(f) = &report.features {
        if let Some(lookup) = &f.lookup {
            // Unmatched names leave the group's feature empty: said first, on a line of their own.
            if let Some(line) = unmatched_line(lookup) {
                let _ = writeln!(s, "  {line}");
            }
        }
        let _ = writeln!(
            s,
            "  as_of {}: {}; window {} days from {}",
            f.as_of, f.as_of_source, f.window_days, f.window_start
        );
        if let Some(lookup) = &f.lookup {
            let _ = writeln!(s, "  {}", lookup_line(lookup));
        }
    }
    if !written.is_empty() {
        let _ = writeln!(s, "  wrote {}", written.join(", "));
    }
    let _ = writeln!(
        s,
        "  time: read {:.3}s, apply {:.3}s, features {:.3}s, write {:.3}s, total {:.3}s",
        timings.read, timings.apply, timings.features, timings.encode_and_write, timings.total
    );
    s
}

/// What updates did to each column, a line per column they changed (the first [`SHOWN`],
/// most changed first): `city: 3 updates, 1 to null; Nashville -> New York 2, ...`.
fn column_lines(s: &mut String, columns: &[ColumnChanges]) {
    let mut changed: Vec<&ColumnChanges> = columns.iter().filter(|c| c.changed > 0).collect();
    if changed.is_empty() {
        return;
    }
    changed.sort_by_key(|c| std::cmp::Reverse(c.changed));
    let _ = writeln!(s, "  columns the updates changed:");
    for c in changed.iter().take(SHOWN) {
        let mut line = format!(
            "    {}: {}",
            c.column,
            plural(c.changed, "update", "updates")
        );
        if c.became_null > 0 {
            let _ = write!(line, ", {} to null", count(c.became_null));
        }
        let value = |v: &Option<String>| v.clone().unwrap_or_else(|| "null".into());
        let transitions = shortened(c.top_transitions.iter().map(|t| {
            format!(
                "{} -> {} {}",
                value(&t.before),
                value(&t.after),
                count(t.count)
            )
        }));
        let _ = writeln!(s, "{line}; {transitions}");
    }
    if changed.len() > SHOWN {
        let _ = writeln!(
            s,
            "    and {} more",
            plural(changed.len() - SHOWN, "column", "columns")
        );
    }
}

/// One line per change file: its rows and operations, and, when transaction files were
/// applied, how many rows of other tables each held (skipped).
fn file_table(s: &mut String, report: &RunReport) {
    if report.changes.is_empty() {
        return;
    }
    let width = report
        .changes
        .iter()
        .map(|f| f.file.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let transactions = report.changes.iter().any(|f| f.other_tables.is_some());
    let other = |text: String| match transactions {
        true => format!(" {text:>12}"),
        false => String::new(),
    };
    let _ = writeln!(
        s,
        "  {:width$}  {:>11} {:>10} {:>10} {:>10}{}",
        "file",
        "rows",
        "I",
        "U",
        "D",
        other("other tables".into())
    );
    for f in &report.changes {
        let _ = writeln!(
            s,
            "  {:width$}  {:>11} {:>10} {:>10} {:>10}{}",
            f.file,
            count(f.rows),
            count(f.inserts),
            count(f.updates),
            count(f.deletes),
            other(f.other_tables.map_or("-".into(), count))
        );
    }
}

/// `anomaly: 3 x <what>: e.g. keys 5, 7 in a.csv rows 3, 9; key 2 in b.csv row 1`: examples
/// grouped by file, so that a long path is said once.
fn anomaly_line(anomaly: &Anomaly) -> String {
    let mut by_file: Vec<(&str, Vec<String>, Vec<String>)> = Vec::new();
    for example in &anomaly.examples {
        let index = match by_file.iter().position(|(file, ..)| *file == example.file) {
            Some(index) => index,
            None => {
                by_file.push((&example.file, Vec::new(), Vec::new()));
                by_file.len() - 1
            }
        };
        by_file[index].1.push(example.key.clone());
        by_file[index].2.push(count(example.row as usize));
    }
    let examples: Vec<String> = by_file
        .iter()
        .map(|(file, keys, rows)| {
            let (key, row) = match keys.len() {
                1 => ("key", "row"),
                _ => ("keys", "rows"),
            };
            format!(
                "{key} {} in {file} {row} {}",
                keys.join(", "),
                rows.join(", ")
            )
        })
        .collect();
    format!(
        "anomaly: {} x {}: e.g. {}",
        count(anomaly.count),
        anomaly.kind.describe(),
        examples.join("; ")
    )
}

/// `lookup: 2 names not found, 1,379 rows left without a state: Springfeld 1,200 rows, ...`,
/// the most frequent first; nothing when every name matched.
fn unmatched_line(lookup: &LookupSummary) -> Option<String> {
    if lookup.unmatched.is_empty() {
        return None;
    }
    let mut names: Vec<_> = lookup.unmatched.iter().collect();
    names.sort_by(|a, b| b.rows.cmp(&a.rows).then_with(|| a.name.cmp(&b.name)));
    let rows: usize = names.iter().map(|n| n.rows).sum();
    let shown = shortened(
        names
            .iter()
            .map(|n| format!("{} {}", n.name, rows_count(n.rows))),
    );
    Some(format!(
        "lookup: {} not found, {} left without a value: {shown}",
        plural(names.len(), "name", "names"),
        rows_count(rows)
    ))
}

/// `lookup <source>: 1,234 rows matched; 111 ambiguous names: Springfield -> Illinois, ...`.
fn lookup_line(lookup: &LookupSummary) -> String {
    let mut line = format!(
        "lookup {}: {} matched",
        lookup.source,
        rows_count(lookup.matched_rows)
    );
    if !lookup.ambiguous.is_empty() {
        let shown = shortened(
            lookup
                .ambiguous
                .iter()
                .map(|n| format!("{} -> {}", n.name, n.chosen)),
        );
        let _ = write!(
            line,
            "; {} ambiguous, the most populous place (or the first listed) chosen: {shown}",
            plural(lookup.ambiguous.len(), "name", "names")
        );
    }
    line
}

/// The first [`SHOWN`] items, then how many more.
fn shortened(items: impl ExactSizeIterator<Item = String>) -> String {
    let total = items.len();
    let mut shown: Vec<String> = items.take(SHOWN).collect();
    if total > SHOWN {
        shown.push(format!("and {} more", count(total - SHOWN)));
    }
    shown.join(", ")
}

fn rows_count(n: usize) -> String {
    plural(n, "row", "rows")
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{} {}", count(n), if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tidemark_core::report::{AmbiguousName, AnomalyKind, Example, NameCount};

    #[test]
    fn long_lists_show_their_first_few_and_how_many_more() {
        let names = (1..=111).map(|i| format!("City {i}"));
        let text = shortened(names.collect::<Vec<_>>().into_iter());
        assert_eq!(text, "City 1, City 2, City 3, City 4, City 5, and 106 more");
        assert_eq!(shortened(vec!["a".to_string()].into_iter()), "a");
    }

    #[test]
    fn anomaly_examples_name_each_file_once() {
        let example = |key: &str, file: &str, row| Example {
            key: key.into(),
            file: file.into(),
            row,
        };
        let anomaly = Anomaly {
            kind: AnomalyKind::UpdateOfMissingKey,
            count: 1250,
            examples: vec![
                example("5", "s3/raw/users/2021/10/17/20211017-100000000.csv", 3),
                example("7", "s3/raw/users/2021/10/17/20211017-100000000.csv", 9),
                example("2", "b.csv", 1),
            ],
        };
        let line = anomaly_line(&anomaly);
        assert_eq!(line.matches("20211017-100000000.csv").count(), 1, "{line}");
        assert!(line.starts_with("anomaly: 1,250 x "), "{line}");
        assert!(
            line.ends_with(
                "e.g. keys 5, 7 in s3/raw/users/2021/10/17/20211017-100000000.csv rows 3, 9; \
                 key 2 in b.csv row 1"
            ),
            "{line}"
        );
    }

    #[test]
    fn unmatched_names_come_first_and_most_frequent_first() {
        let lookup = LookupSummary {
            source: "default".into(),
            matched_rows: 998_621,
            unmatched: vec![
                NameCount {
                    name: "Sprngfield".into(),
                    rows: 4,
                },
                NameCount {
                    name: "Austn".into(),
                    rows: 1375,
                },
            ],
            ambiguous: vec![AmbiguousName {
                name: "Springfield".into(),
                rows: 10,
                chosen: "Illinois".into(),
                others: vec!["Missouri".into()],
            }],
        };
        assert_eq!(
            unmatched_line(&lookup).unwrap(),
            "lookup: 2 names not found, 1,379 rows left without a value: Austn 1,375 rows, \
             Sprngfield 4 rows"
        );
        assert_eq!(
            lookup_line(&lookup),
            "lookup default: 998,621 rows matched; 1 name ambiguous, the most populous place \
             (or the first listed) chosen: Springfield -> Illinois"
        );
        let none = LookupSummary {
            unmatched: vec![],
            ..lookup
        };
        assert_eq!(unmatched_line(&none), None);
    }
}
