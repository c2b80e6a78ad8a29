//! `tidemark-desktop --bench-open DIR`: opens a snapshot and its changes in the real window,
//! measures the time until the diff is on screen and the review's queries (a key search, a
//! filter on each view, a sort of the diff), then scrolls the diff and the sorted enriched
//! table frame by frame and reports frame times. A measurement, not a test: it prints numbers
//! and closes the window.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use arrow_cast::display::ArrayFormatter;
use tidemark_core::review::Filter;

use crate::app::{Action, TidemarkApp, View};
use crate::review::{DiffSortBy, Review};
use crate::tables::{ROW_HEIGHT, content_height};
use tidemark_core::review::unmatched_rows;

/// Frames per scrolling pattern.
const FRAMES: usize = 150;

pub struct Bench {
    paths: Vec<PathBuf>,
    opened: Instant,
    phase: Phase,
    /// The frame before this one, to time it once the next one starts.
    last_frame: Option<LastFrame>,
    samples: Vec<Sample>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Opening,
    /// The diff was drawn at the end of this frame; on screen when the next one starts.
    DiffDrawn,
    SortingDiff {
        started: Instant,
    },
    Scrolling {
        view: View,
        pattern: Pattern,
        frame: usize,
    },
    Sorting {
        started: Instant,
    },
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pattern {
    /// Three rows a frame, like a mouse wheel: most rows stay on screen.
    Wheel,
    /// A jump to a new part of the table every frame, top to bottom: every row is new.
    Sweep,
}

struct LastFrame {
    started: Instant,
    build: Duration,
    scrolling: Option<(View, Pattern)>,
}

struct Sample {
    view: View,
    pattern: Pattern,
    /// From the start of one frame to the start of the next: build, paint, swap.
    interval: Duration,
    /// Building the UI (our code and egui's layout).
    build: Duration,
    /// eframe's own measure of the frame's CPU time (build, tessellate, paint).
    cpu: Option<f32>,
}

impl Bench {
    /// `path` is a folder with `snapshot.parquet` and `cdc.parquet` (the benchmark's data),
    /// or anything the app opens.
    pub fn new(path: &Path) -> Bench {
        let pair = [path.join("snapshot.parquet"), path.join("cdc.parquet")];
        let paths = if pair.iter().all(|p| p.is_file()) {
            pair.to_vec()
        } else {
            vec![path.to_path_buf()]
        };
        println!(
            "bench: opening {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(" + ")
        );
        Bench {
            paths,
            opened: Instant::now(),
            phase: Phase::Opening,
            last_frame: None,
            samples: Vec::new(),
        }
    }

    pub fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    /// Times the previous frame, now that it is on screen.
    pub fn before_frame(&mut self, now: Instant, cpu_of_previous: Option<f32>) {
        if let Some(LastFrame {
            started,
            build,
            scrolling: Some((view, pattern)),
        }) = self.last_frame.take()
        {
            self.samples.push(Sample {
                view,
                pattern,
                interval: now - started,
                build,
                cpu: cpu_of_previous,
            });
        }
    }
}

/// Moves the benchmark on by one frame: what to show and where to scroll next.
pub fn drive(app: &mut TidemarkApp, ctx: &egui::Context, frame_started: Instant) {
    // Out of the app while it drives it; back at the end.
    let Some(mut bench) = app.bench.take() else {
        return;
    };
    let mut next = bench.phase;
    let mut action = None;
    match bench.phase {
        Phase::Opening => {
            if let Some(message) = app.notice.as_ref() {
                println!("bench: stopped: {message:?}");
                next = Phase::Done;
            } else if app.shown.is_some() && !app.jobs.is_busy() {
                next = Phase::DiffDrawn;
            }
        }
        Phase::DiffDrawn => {
            let on_screen = frame_started - bench.opened;
            if let Some(review) = app.review_state() {
                let report = &review.output.report;
                let t = review.timings;
                println!(
                    "bench: {} rows + {} changes -> {} rows; {} touched keys",
                    report.snapshot.rows,
                    report.apply.changes,
                    report.apply.rows_after,
                    review.count(crate::review::DiffFilter::All)
                );
                println!(
                    "bench: diff on screen {:.0} ms after opening (read {:.0} ms, decode + apply \
                     + features {:.0} ms, view indexes {:.0} ms, the rest: window, first frames)",
                    ms(on_screen),
                    ms(t.read),
                    ms(t.run),
                    ms(t.prepare)
                );
            }
            time_queries(app);
            let column = sorted_column(app);
            action = Some(Action::SortDiff(DiffSortBy::After(column)));
            next = Phase::SortingDiff {
                started: Instant::now(),
            };
        }
        Phase::SortingDiff { started } => {
            if app.diff_sorting().is_none() {
                println!(
                    "bench: diff sorted by {} after the run in {:.0} ms (off the UI thread)",
                    sorted_column(app),
                    ms(started.elapsed())
                );
                // The diff scrolls in its own order, as before the sort.
                app.diff_sort = None;
                next = Phase::Scrolling {
                    view: View::Diff,
                    pattern: Pattern::Wheel,
                    frame: 0,
                };
            }
        }
        Phase::Scrolling {
            view,
            pattern,
            frame,
        } => {
            app.view = view;
            let rows = match (view, app.review_state()) {
                (View::Diff, Some(r)) => r.count(crate::review::DiffFilter::All),
                (View::Table, Some(r)) => r.table().num_rows(),
                (_, None) => 0,
            };
            let spacing = ctx.global_style().spacing.item_spacing.y;
            let height = content_height(spacing, rows);
            let offset = match pattern {
                Pattern::Wheel => height / 2.0 + frame as f32 * 3.0 * (ROW_HEIGHT + spacing),
                Pattern::Sweep => height * frame as f32 / FRAMES as f32,
            };
            app.scroll_to = Some(offset);
            next = match (view, pattern, frame + 1 < FRAMES) {
                (_, _, true) => Phase::Scrolling {
                    view,
                    pattern,
                    frame: frame + 1,
                },
                (_, Pattern::Wheel, false) => Phase::Scrolling {
                    view,
                    pattern: Pattern::Sweep,
                    frame: 0,
                },
                (View::Diff, Pattern::Sweep, false) => {
                    // The table view scrolls sorted by city: rows are then read out of order.
                    let city = app
                        .review_state()
                        .and_then(|r| r.table().schema().index_of("city").ok())
                        .unwrap_or(0);
                    action = Some(Action::SortTable(city));
                    app.view = View::Table;
                    Phase::Sorting {
                        started: Instant::now(),
                    }
                }
                (View::Table, Pattern::Sweep, false) => Phase::Done,
            };
        }
        Phase::Sorting { started } => {
            if app.sorting().is_none() {
                println!(
                    "bench: enriched table sorted by city in {:.0} ms (off the UI thread)",
                    ms(started.elapsed())
                );
                next = Phase::Scrolling {
                    view: View::Table,
                    pattern: Pattern::Wheel,
                    frame: 0,
                };
            }
        }
        Phase::Done => {}
    }
    let scrolling = match bench.phase {
        Phase::Scrolling { view, pattern, .. } => Some((view, pattern)),
        _ => None,
    };
    bench.last_frame = Some(LastFrame {
        started: frame_started,
        build: frame_started.elapsed(),
        scrolling,
    });
    if next == Phase::Done && bench.phase != Phase::Done {
        report(&bench.samples);
        ctx.send_viewport_cmd(egui::ViewportCommand::Close);
    }
    bench.phase = next;
    app.bench = Some(bench);
    if let Some(action) = action {
        app.act(action, ctx);
    }
    ctx.request_repaint();
}

/// The compared column the benchmark filters and sorts on: `city` when there is one.
fn sorted_column(app: &TidemarkApp) -> String {
    let columns = app.review_state().map_or(&[][..], |r| &r.value_columns[..]);
    let city = columns.iter().find(|c| *c == "city");
    city.or(columns.first()).cloned().unwrap_or_default()
}

/// Times what the UI thread does in the frame after a user types a key or clicks a filter:
/// the diff's rows and facets ([`TidemarkApp::refresh_diff_rows`]), the table's rows
/// ([`TidemarkApp::refresh_table_rows`]). Each query runs once, from scratch; the view's
/// filters are put back after.
fn time_queries(app: &mut TidemarkApp) {
    let Some(review) = app.review_state().filter(|r| !r.output.diff.is_empty()) else {
        return;
    };
    let key = middle_key(review);
    let column = sorted_column(app);
    let unmatched = review
        .output
        .report
        .features
        .as_ref()
        .and_then(|f| f.lookup.as_ref())
        .and_then(|l| l.unmatched.first())
        .map(|name| name.name.clone());
    let rows = |app: &TidemarkApp| app.diff_rows.len();

    app.key_query = key.clone();
    let took = timed(|| app.refresh_diff_rows());
    println!(
        "bench: diff: key search {key:?} -> {} row in {:.1} ms (rows + facets, on the UI thread)",
        rows(app),
        ms(took)
    );
    app.key_query.clear();
    app.filters = vec![Filter::Changed {
        column: column.clone(),
    }];
    let took = timed(|| app.refresh_diff_rows());
    println!(
        "bench: diff: {column} changed -> {} rows in {:.1} ms (rows + facets, on the UI thread)",
        rows(app),
        ms(took)
    );
    app.filters.clear();
    app.refresh_diff_rows();

    let spec = app.shown.as_ref().map(|s| &s.session.spec);
    let Some(filter) = spec.zip(unmatched).and_then(|(s, n)| unmatched_rows(s, &n)) else {
        println!("bench: table: no unmatched name to filter on");
        return;
    };
    let described = crate::review::describe(&filter);
    app.table_filters = vec![filter];
    let took = timed(|| app.refresh_table_rows());
    println!(
        "bench: table: {described} -> {} rows in {:.1} ms (on the UI thread)",
        app.table_rows.as_ref().map_or(0, Vec::len),
        ms(took)
    );
    app.table_filters.clear();
}

/// The key of the diff's middle row, as a user would type it.
fn middle_key(review: &Review) -> String {
    let row = review.output.diff.len() / 2;
    let options = crate::cells::options();
    review
        .output
        .diff
        .keys()
        .iter()
        .filter_map(|values| ArrayFormatter::try_new(values.as_ref(), &options).ok())
        .map(|f| f.value(row).to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn timed(work: impl FnOnce()) -> Duration {
    let started = Instant::now();
    work();
    started.elapsed()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn report(samples: &[Sample]) {
    for view in [View::Diff, View::Table] {
        for pattern in [Pattern::Wheel, Pattern::Sweep] {
            let of: Vec<&Sample> = samples
                .iter()
                .filter(|s| s.view == view && s.pattern == pattern)
                .collect();
            if of.is_empty() {
                continue;
            }
            let interval = percentiles(of.iter().map(|s| ms(s.interval)).collect());
            let build = percentiles(of.iter().map(|s| ms(s.build)).collect());
            let cpu = percentiles(
                of.iter()
                    .filter_map(|s| s.cpu.map(|c| c as f64 * 1000.0))
                    .collect(),
            );
            println!(
                "bench: scroll {} ({}), {} frames: frame interval {interval}; UI build \
                 {build}; eframe frame CPU {cpu}",
                match view {
                    View::Diff => "diff",
                    View::Table => "enriched table sorted by city",
                },
                match pattern {
                    Pattern::Wheel => "3 rows a frame",
                    Pattern::Sweep => "a new page every frame",
                },
                of.len()
            );
        }
    }
}

/// `p50 a ms, p95 b ms, max c ms`.
fn percentiles(mut values: Vec<f64>) -> String {
    if values.is_empty() {
        return "n/a".into();
    }
    values.sort_by(f64::total_cmp);
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    format!(
        "p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
        at(0.5),
        at(0.95),
        at(1.0)
    )
}
