//! The run in a few lines, for people.

use tidemark_core::RunReport;

use super::progress::Timings;

/// The run in a few lines, for people.
pub(super) fn summary(report: &RunReport, timings: &Timings, written: &[String]) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let a = &report.apply;
    let _ = writeln!(
        s,
        "{}: {} rows + {} changes from {} file(s) -> {} rows",
        report.table,
        a.rows_before,
        a.changes,
        report.changes.len(),
        a.rows_after
    );
    let o = a.outcome;
    let _ = writeln!(
        s,
        "  inserted {}, updated {}, deleted {}, unchanged {} (order: {})",
        o.inserted,
        o.updated,
        o.deleted,
        o.unchanged,
        a.sequence
            .map_or("file names, then rows".to_string(), |k| format!(
                "{k} sequence"
            ))
    );
    if !report.changes.is_empty() {
        let width = report
            .changes
            .iter()
            .map(|f| f.file.len())
            .max()
            .unwrap_or(4)
            .max(4);
        // Transaction files hold the rows of other tables too: how many were skipped.
        let transactions = report.changes.iter().any(|f| f.other_tables.is_some());
        let other = |text: String| match transactions {
            true => format!(" {text:>12}"),
            false => String::new(),
        };
        let _ = writeln!(
            s,
            "  {:width$}  {:>8} {:>7} {:>7} {:>7}{}",
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
                "  {:width$}  {:>8} {:>7} {:>7} {:>7}{}",
                f.file,
                f.rows,
                f.inserts,
                f.updates,
                f.deletes,
                other(f.other_tables.map_or("-".into(), |n| n.to_string()))
            );
        }
    }
    if report.anomalies.is_empty() {
        let _ = writeln!(s, "  anomalies: none");
    }
    for an in &report.anomalies {
        let examples: Vec<String> = an
            .examples
            .iter()
            .map(|e| format!("key {} ({}, row {})", e.key, e.file, e.row))
            .collect();
        let _ = writeln!(
            s,
            "  anomaly: {} x {}: e.g. {}",
            an.count,
            an.kind.describe(),
            examples.join("; ")
        );
    }
    if let Some(f) = &report.features {
        let _ = writeln!(
            s,
            "  as_of {} ({}), window {} days from {}",
            f.as_of, f.as_of_source, f.window_days, f.window_start
        );
        if let Some(l) = &f.lookup {
            let unmatched: Vec<String> = l
                .unmatched
                .iter()
                .map(|n| format!("{} ({} rows)", n.name, n.rows))
                .collect();
            let ambiguous: Vec<String> = l
                .ambiguous
                .iter()
                .map(|n| format!("{} -> {}", n.name, n.chosen))
                .collect();
            let _ = writeln!(
                s,
                "  lookup {}: {} unmatched{}{}; {} ambiguous{}{}",
                l.source,
                l.unmatched.len(),
                if unmatched.is_empty() { "" } else { ": " },
                unmatched.join(", "),
                l.ambiguous.len(),
                if ambiguous.is_empty() { "" } else { ": " },
                ambiguous.join(", ")
            );
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
