//! The app's state, in one struct, and what each user action does to it. Drawing lives in
//! `ui.rs` and `tables.rs`: functions of this state that return [`Action`]s.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use tidemark::io::inputs::InputError;
use tidemark_core::OutputFormat;
use tidemark_core::error::Location;
use tidemark_core::report::FileSummary;

use crate::bench::Bench;
use crate::dialogs::{DialogRequest, FileDialogs};
use crate::export::{self, ExportTarget, Exported};
use crate::jobs::{Progress, Worker};
use crate::review::{
    ColumnFilter, DiffFilter, DiffSort, DiffSortBy, Review, Reviewed, SortKey, Timeline, sort_order,
};
use crate::session::{FileRole, Session, read_paths};
use tidemark_core::review::{Facets, Filter, unmatched_rows};

/// What the app opens first.
#[derive(Debug, Clone)]
pub enum Startup {
    /// The bundled seed example: a first launch shows something real.
    Seed,
    /// Files and folders from the command line.
    Paths(Vec<PathBuf>),
    /// A table spec (a TOML file, as `tidemark apply --spec` reads it) and files and folders:
    /// with a snapshot among them (`snapshot.*`, `LOAD*.csv`) they open as [`Startup::Paths`]
    /// do, else they are all change files, applied to an empty table (a CDC-only review).
    Spec { spec: PathBuf, paths: Vec<PathBuf> },
    /// A session put together in memory: any spec (one that keeps history, say) and files.
    Session(Box<Session>),
}

/// Which table the central panel shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Diff,
    Table,
}

/// Something the user asked for; the UI functions return these, [`TidemarkApp::act`] does them.
#[derive(Debug, Clone)]
pub enum Action {
    Ask(DialogRequest),
    LoadSeed,
    /// Open the Delta table at a location (a folder or `s3://`): its latest version compared
    /// with the one before.
    OpenDelta(String),
    /// Compare two versions of the open Delta table: from, to.
    CompareVersions(u64, u64),
    SetIncluded(String, bool),
    RemoveChange(String),
    SetAsOf(Option<NaiveDate>),
    SetWindowDays(u32),
    UseBundledLookup,
    Cancel,
    ShowView(View),
    FilterDiff(DiffFilter),
    /// Add a facet's filter to the diff's (a source file, a changed column), or take it off
    /// when it is on.
    ToggleFacet(Filter),
    /// Add the column filter being written (`TidemarkApp::column_filter`) to the diff's.
    AddColumnFilter,
    /// Take off one of the diff's column and facet filters, by its place.
    RemoveFilter(usize),
    /// Show one key in the diff (from an anomaly's example).
    FindKey(String),
    /// Show the timeline of the key of a diff row (when the run kept history).
    ShowTimeline(u32),
    CloseTimeline,
    SortTable(usize),
    /// Show the table view's rows of a name the lookup did not find (a city without a state).
    ShowUnmatched(String),
    /// Take off one of the table view's filters, by its place.
    RemoveTableFilter(usize),
    /// Sort the diff by a column (again: the other way; a compared column's header goes
    /// through its value after the run, then before it).
    SortDiff(DiffSortBy),
    SetExportFormat(OutputFormat),
    DismissNotice,
}

/// A message above the views: an error (with the core's file/row/column) or a confirmation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    Error(Problem),
    Info(String),
}

/// What went wrong, and where in the input when the core knows it: kept apart so the notice
/// can show the file, the row and the column on their own, not inside a flattened sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub message: String,
    pub location: Option<Location>,
}

impl From<tidemark_core::Error> for Problem {
    fn from(error: tidemark_core::Error) -> Self {
        Problem {
            message: error.kind().to_string(),
            location: error.location().cloned(),
        }
    }
}

impl From<String> for Problem {
    fn from(message: String) -> Self {
        Problem {
            message,
            location: None,
        }
    }
}

impl From<InputError> for Problem {
    fn from(error: InputError) -> Self {
        match error {
            InputError::Spec { path, error } => Problem {
                message: error.kind().to_string(),
                location: Some(
                    error
                        .location()
                        .cloned()
                        .unwrap_or_else(|| Location::file(path)),
                ),
            },
            other => other.to_string().into(),
        }
    }
}

/// As the command line prints it: `file, row 2, column `x`: what is wrong`.
impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.location {
            Some(location) => write!(f, "{location}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// The last review that succeeded, and the session it was computed from.
pub struct Shown {
    pub session: Session,
    pub review: Arc<Review>,
}

pub enum JobOutput {
    /// The session reviewed, its review and the change files it left out (boxed: they are
    /// large, an export's result is not).
    Reviewed(Result<Box<Reviewed>, Problem>),
    Exported(Result<Exported, String>),
}

pub struct DiffSortDone {
    pub sort: DiffSort,
    pub order: Result<Vec<u32>, String>,
}

pub struct SortDone {
    pub key: SortKey,
    pub order: Result<Vec<u32>, String>,
}

pub struct TidemarkApp {
    pub(crate) dialogs: Box<dyn FileDialogs>,
    dialog_sender: Sender<(DialogRequest, Vec<PathBuf>)>,
    dialog_answers: Receiver<(DialogRequest, Vec<PathBuf>)>,
    pub(crate) dialog_open: bool,
    /// Reviews and exports: one at a time, with a progress bar and a Cancel button.
    pub(crate) jobs: Worker<JobOutput>,
    /// Whether the last job started is a review (else an export): see `is_recomputing`.
    job_is_review: bool,
    /// Sorting the table view: the table stays usable (in its previous order) meanwhile.
    sorts: Worker<SortDone>,
    /// What the user asked for: the running job computes it. Settings widgets show it.
    pub(crate) draft: Session,
    pub(crate) shown: Option<Shown>,
    /// The counts of every change file seen in a run, kept for files that are now unticked.
    pub(crate) file_counts: HashMap<String, FileSummary>,
    /// Change files the core could not read, left out (unticked) with the core's problem.
    pub(crate) file_errors: HashMap<String, Problem>,
    pub(crate) notice: Option<Notice>,
    /// The Delta table location being typed (a folder or `s3://bucket/prefix`).
    pub(crate) delta_location: String,
    pub(crate) view: View,
    pub(crate) diff_filter: DiffFilter,
    pub(crate) key_query: String,
    /// Whether the key search matches the start of keys rather than whole keys.
    pub(crate) key_prefix: bool,
    /// The column filter being written in the filter bar, before it is added.
    pub(crate) column_filter: ColumnFilter,
    /// The diff's column and facet filters, besides its kind and key search.
    pub(crate) filters: Vec<Filter>,
    /// The diff rows for `diff_rows_for` (filters and sort), recomputed only when those change.
    pub(crate) diff_rows: Vec<u32>,
    /// The diff's facets for the filters of `diff_rows`.
    pub(crate) facets: Option<Facets>,
    /// Why the filters select nothing, when they cannot run (a value the column cannot hold).
    pub(crate) query_error: Option<String>,
    /// What `diff_rows` was computed for: the filters and the diff sort applied.
    diff_rows_for: Option<(Vec<Filter>, Option<DiffSort>)>,
    /// The diff's sort as asked for; the rows follow it once its order is computed.
    pub(crate) diff_sort: Option<DiffSort>,
    /// Orders of every diff row per sort, computed off the UI thread, kept for the review.
    diff_orders: HashMap<DiffSort, Arc<Vec<u32>>>,
    diff_sorts: Worker<DiffSortDone>,
    pub(crate) table_sort: Option<SortKey>,
    /// The sort on screen while `table_sort` is being computed.
    previous_sort: Option<SortKey>,
    pub(crate) sort_orders: HashMap<SortKey, Arc<Vec<u32>>>,
    /// The table view's filters (the rows of an unmatched name).
    pub(crate) table_filters: Vec<Filter>,
    /// The table rows for `table_rows_for` (filters and sort), recomputed only when those
    /// change; why they cannot be selected, when a filter cannot run.
    pub(crate) table_rows: Result<Vec<u32>, String>,
    table_rows_for: Option<(Vec<Filter>, Option<SortKey>)>,
    /// The timelines of keys: computed off the UI thread, one at a time.
    timelines: Worker<Result<Timeline, String>>,
    /// The diff row whose timeline was asked for last, shown or on its way.
    pub(crate) timeline_row: Option<u32>,
    /// The timeline on screen (of `timeline_row`'s key once computed).
    pub(crate) timeline: Option<Timeline>,
    pub(crate) export_format: OutputFormat,
    /// Jump the table on screen to this scroll offset on the next frame (new filter, benchmark).
    pub(crate) scroll_to: Option<f32>,
    pub(crate) bench: Option<Bench>,
}

impl TidemarkApp {
    pub fn new(ctx: &egui::Context, startup: Startup, dialogs: Box<dyn FileDialogs>) -> Self {
        use_bundled_fonts_for_arrows(ctx);
        let (dialog_sender, dialog_answers) = channel();
        let repaint = |ctx: &egui::Context| {
            let ctx = ctx.clone();
            move || ctx.request_repaint()
        };
        let mut app = TidemarkApp {
            dialogs,
            dialog_sender,
            dialog_answers,
            dialog_open: false,
            jobs: Worker::new(repaint(ctx)),
            job_is_review: false,
            sorts: Worker::new(repaint(ctx)),
            draft: Session::empty(),
            shown: None,
            file_counts: HashMap::new(),
            file_errors: HashMap::new(),
            notice: None,
            delta_location: String::new(),
            view: View::Diff,
            diff_filter: DiffFilter::All,
            key_query: String::new(),
            key_prefix: false,
            column_filter: ColumnFilter::default(),
            filters: Vec::new(),
            diff_rows: Vec::new(),
            facets: None,
            query_error: None,
            diff_rows_for: None,
            diff_sort: None,
            diff_orders: HashMap::new(),
            diff_sorts: Worker::new(repaint(ctx)),
            table_sort: None,
            previous_sort: None,
            sort_orders: HashMap::new(),
            table_filters: Vec::new(),
            table_rows: Ok(Vec::new()),
            table_rows_for: None,
            timelines: Worker::new(repaint(ctx)),
            timeline_row: None,
            timeline: None,
            export_format: OutputFormat::Parquet,
            scroll_to: None,
            bench: None,
        };
        match startup {
            Startup::Seed => app.review(Session::seed(), "Loading the seed example"),
            Startup::Paths(paths) => match paths.as_slice() {
                [one] if tidemark_delta::read::is_table(&one.to_string_lossy()) => {
                    let location = one.to_string_lossy().into_owned();
                    app.delta_location = location.clone();
                    app.review_delta(location, None);
                }
                _ => app.review_paths(paths, FileRole::Open),
            },
            Startup::Spec { spec, paths } => app.review_with_spec(spec, paths),
            Startup::Session(session) => app.review(*session, "Reviewing"),
        }
        app
    }

    /// Measures the time to the diff and the frame times (start on the bench's paths).
    pub fn with_bench(mut self, bench: Bench) -> Self {
        self.bench = Some(bench);
        self
    }

    pub fn review_state(&self) -> Option<&Review> {
        self.shown.as_ref().map(|s| s.review.as_ref())
    }

    pub fn notice(&self) -> Option<&Notice> {
        self.notice.as_ref()
    }

    /// Whether anything is still on its way: a job, a sort, a timeline, an open dialog.
    pub fn is_busy(&self) -> bool {
        self.jobs.is_busy()
            || self.sorts.is_busy()
            || self.diff_sorts.is_busy()
            || self.timelines.is_busy()
            || self.dialog_open
    }

    /// The key timeline on screen, if any.
    pub fn timeline(&self) -> Option<&Timeline> {
        self.timeline.as_ref()
    }

    /// Starts a review of `session`; the draft shows it meanwhile.
    fn review(&mut self, session: Session, title: &str) {
        self.draft = session.clone();
        self.start_review(title, move |progress| {
            Review::compute_without_bad_files(
                session,
                &mut |f, stage| progress.report(f, stage),
                progress.cancel(),
            )
            .map(Box::new)
        });
    }

    /// Starts a job whose review replaces the one on screen: until it is done, what the
    /// views show is out of date ([`TidemarkApp::is_recomputing`]).
    fn start_review(
        &mut self,
        title: impl Into<String>,
        work: impl FnOnce(&Progress) -> Result<Box<Reviewed>, Problem> + Send + 'static,
    ) {
        self.jobs
            .start(title, move |progress| JobOutput::Reviewed(work(progress)));
        self.job_is_review = true;
    }

    /// Whether the views show a review that a newer one, being computed, will replace (a file
    /// unticked, a setting changed): they say so until it is done.
    pub fn is_recomputing(&self) -> bool {
        self.shown.is_some() && self.job_is_review && self.jobs.is_busy()
    }

    /// Reads files in the background, puts them in the draft's place for `role`, reviews.
    fn review_paths(&mut self, paths: Vec<PathBuf>, role: FileRole) {
        let base = self.draft.clone();
        let title = match paths.as_slice() {
            [one] => format!("Opening {}", one.display()),
            many => format!("Opening {} files", many.len()),
        };
        self.start_review(title, move |progress| {
            progress.report(0.0, "Reading the files");
            let started = Instant::now();
            read_paths(&paths)
                .map_err(Problem::from)
                .and_then(|files| base.with_files(role, files).map_err(Problem::from))
                .and_then(|session| review_read(session, started, progress))
        });
    }

    /// Reads two versions of a Delta table in the background (the latest and the one before
    /// when `versions` is `None`) and reviews the changes between them.
    fn review_delta(&mut self, location: String, versions: Option<(u64, u64)>) {
        let base = self.draft.clone();
        let title = match versions {
            Some((from, to)) => format!("Reading versions {from} and {to} of {location}"),
            None => format!("Opening the Delta table {location}"),
        };
        self.start_review(title, move |progress| {
            progress.report(0.0, "Reading the table's versions");
            let started = Instant::now();
            base.delta_versions(&location, versions)
                .map_err(Problem::from)
                .and_then(|session| review_read(session, started, progress))
        });
    }

    /// Reads a spec and files in the background, reviews them with it.
    fn review_with_spec(&mut self, spec: PathBuf, paths: Vec<PathBuf>) {
        self.start_review(format!("Opening {}", spec.display()), move |progress| {
            progress.report(0.0, "Reading the spec and the files");
            let started = Instant::now();
            tidemark::io::inputs::read_spec(Some(&spec))
                .and_then(|spec| Ok((spec, read_paths(&paths)?)))
                .map_err(Problem::from)
                .and_then(|(spec, files)| {
                    Session::new(spec, Vec::new(), Vec::new())
                        .with_files(FileRole::Dropped, files)
                        .map_err(Problem::from)
                })
                .and_then(|session| review_read(session, started, progress))
        });
    }

    /// Takes in what background work and dialogs delivered since the last frame.
    pub(crate) fn receive(&mut self) {
        if let Some(output) = self.jobs.finished() {
            match output {
                JobOutput::Reviewed(Ok(reviewed)) => {
                    let Reviewed {
                        session,
                        review,
                        left_out,
                    } = *reviewed;
                    self.show(session, review);
                    self.mark_left_out(left_out);
                }
                JobOutput::Reviewed(Err(problem)) => {
                    eprintln!("tidemark-desktop: error: {problem}");
                    // The previous review stays, and so do the inputs and settings it used.
                    if let Some(shown) = &self.shown {
                        self.draft = shown.session.clone();
                    }
                    self.notice = Some(Notice::Error(problem));
                }
                JobOutput::Exported(Ok(exported)) => {
                    self.notice = Some(Notice::Info(format!(
                        "Wrote {} to {} ({}).",
                        plural(exported.rows, "row"),
                        exported.path.display(),
                        human_bytes(exported.bytes)
                    )));
                }
                JobOutput::Exported(Err(message)) => {
                    self.notice = Some(Notice::Error(message.into()))
                }
            }
        }
        if let Some(done) = self.sorts.finished() {
            match done.order {
                Ok(order) => {
                    self.sort_orders.insert(done.key, Arc::new(order));
                }
                Err(message) => self.notice = Some(Notice::Error(message.into())),
            }
        }
        if let Some(done) = self.diff_sorts.finished() {
            match done.order {
                Ok(order) => {
                    self.diff_orders.insert(done.sort, Arc::new(order));
                }
                Err(message) => self.notice = Some(Notice::Error(message.into())),
            }
        }
        if let Some(done) = self.timelines.finished() {
            match done {
                Ok(timeline) => self.timeline = Some(timeline),
                Err(message) => {
                    self.timeline_row = None;
                    self.notice = Some(Notice::Error(message.into()));
                }
            }
        }
        while let Ok((request, paths)) = self.dialog_answers.try_recv() {
            self.dialog_open = false;
            if !paths.is_empty() {
                self.answered(request, paths);
            }
        }
    }

    /// Marks the change files a review left out with their problems, and says so above the
    /// views (the first problem, with its file, row and column). A file the review read
    /// (ticked) or that is gone loses its mark.
    fn mark_left_out(&mut self, left_out: Vec<(String, Problem)>) {
        let session = &self.draft;
        self.file_errors.retain(|name, _| {
            session
                .changes
                .iter()
                .any(|c| c.file.name == *name && !c.included)
        });
        for (file, problem) in &left_out {
            eprintln!("tidemark-desktop: left out {file}: {problem}");
        }
        if let Some((_, first)) = left_out.first() {
            self.notice = Some(Notice::Error(first.clone()));
        }
        self.file_errors.extend(left_out);
    }

    fn show(&mut self, session: Session, review: Review) {
        let report = &review.output.report;
        eprintln!(
            "tidemark-desktop: {}: {} rows + {} changes from {} file(s) -> {} rows \
             (inserted {}, updated {}, deleted {})",
            report.table,
            report.apply.rows_before,
            report.apply.changes,
            report.changes.len(),
            report.apply.rows_after,
            report.apply.outcome.inserted,
            report.apply.outcome.updated,
            report.apply.outcome.deleted,
        );
        for summary in &report.changes {
            self.file_counts
                .insert(summary.file.clone(), summary.clone());
        }
        self.draft = session.clone();
        self.shown = Some(Shown {
            session,
            review: Arc::new(review),
        });
        if matches!(self.notice, Some(Notice::Error(_))) {
            self.notice = None;
        }
        self.diff_rows_for = None;
        self.table_rows_for = None;
        // A timeline belongs to the review it came from (its diff rows are that diff's).
        self.timelines.cancel();
        self.timeline_row = None;
        self.timeline = None;
        self.sort_orders.clear();
        self.sorts.cancel();
        // The diff's sort stays (by a column that is still there), ordered anew.
        self.diff_orders.clear();
        self.diff_sorts.cancel();
        if let Some(sort) = self.diff_sort.clone() {
            let still_there = self.review_state().is_some_and(|r| match &sort.by {
                DiffSortBy::Key(k) => *k < r.key_columns.len(),
                DiffSortBy::Before(c) | DiffSortBy::After(c) => r.value_columns.contains(c),
                DiffSortBy::Sequence => r.has_sequence,
                _ => true,
            });
            match still_there {
                true => self.start_diff_sort(sort),
                false => self.diff_sort = None,
            }
        }
        if let Some(key) = self.table_sort {
            let columns = self.review_state().map_or(0, |r| r.table().num_columns());
            if key.column < columns {
                self.start_sort(key);
            } else {
                self.table_sort = None;
            }
        }
    }

    fn answered(&mut self, request: DialogRequest, paths: Vec<PathBuf>) {
        match request {
            DialogRequest::OpenSnapshot => self.review_paths(paths, FileRole::Snapshot),
            DialogRequest::AddChangeFiles | DialogRequest::AddChangeFolder => {
                self.review_paths(paths, FileRole::Changes)
            }
            DialogRequest::ChooseLookup => self.review_paths(paths, FileRole::Lookup),
            DialogRequest::OpenDeltaTable => {
                let location = paths[0].to_string_lossy().into_owned();
                self.delta_location = location.clone();
                self.review_delta(location, None);
            }
            DialogRequest::Save { target, format } => {
                let Some(review) = self.shown.as_ref().map(|s| Arc::clone(&s.review)) else {
                    return;
                };
                let (path, format) = export::resolve_path(&paths[0], format);
                self.jobs.start(
                    format!("Exporting to {}", path.display()),
                    move |progress| {
                        JobOutput::Exported(export::export(
                            &review, target, &path, format, progress,
                        ))
                    },
                );
                // The job now running writes the review on screen: that review is current.
                self.job_is_review = false;
            }
        }
    }

    pub(crate) fn open_dropped(&mut self, paths: Vec<PathBuf>) {
        if !paths.is_empty() {
            self.review_paths(paths, FileRole::Dropped);
        }
    }

    pub(crate) fn act(&mut self, action: Action, ctx: &egui::Context) {
        match action {
            Action::Ask(request) => {
                self.dialog_open = true;
                let sender = self.dialog_sender.clone();
                let ctx = ctx.clone();
                self.dialogs.ask(
                    request,
                    Box::new(move |paths| {
                        let _ = sender.send((request, paths));
                        ctx.request_repaint();
                    }),
                );
            }
            Action::LoadSeed => self.review(Session::seed(), "Loading the seed example"),
            Action::OpenDelta(location) => self.review_delta(location, None),
            Action::CompareVersions(from, to) => {
                if let Some(delta) = &self.draft.delta {
                    self.review_delta(delta.location.clone(), Some((from, to)));
                }
            }
            Action::SetIncluded(name, included) => {
                let mut session = self.draft.clone();
                session.set_included(&name, included);
                self.review(session, "Recomputing");
            }
            Action::RemoveChange(name) => {
                let mut session = self.draft.clone();
                session.remove_change(&name);
                self.review(session, "Recomputing");
            }
            Action::SetAsOf(as_of) => {
                let mut session = self.draft.clone();
                session.settings.as_of = as_of;
                self.review(session, "Recomputing the features");
            }
            Action::SetWindowDays(days) => {
                let mut session = self.draft.clone();
                session.settings.window_days = days;
                self.review(session, "Recomputing the features");
            }
            Action::UseBundledLookup => {
                let mut session = self.draft.clone();
                session.settings.lookup = None;
                self.review(session, "Recomputing the features");
            }
            Action::Cancel => {
                self.jobs.cancel();
                if let Some(shown) = &self.shown {
                    self.draft = shown.session.clone();
                }
                self.notice = Some(Notice::Info(
                    "Cancelled. The computation cannot stop half-way: it finishes in the \
                     background and its result is discarded. What you see is unchanged."
                        .into(),
                ));
            }
            Action::ShowView(view) => self.view = view,
            Action::FilterDiff(filter) => {
                self.diff_filter = filter;
                self.scroll_to = Some(0.0);
            }
            Action::FindKey(key) => {
                self.view = View::Diff;
                self.diff_filter = DiffFilter::All;
                self.filters.clear();
                self.key_query = key;
                self.key_prefix = false;
                self.scroll_to = Some(0.0);
            }
            Action::ToggleFacet(filter) => {
                match self.filters.iter().position(|f| *f == filter) {
                    Some(at) => {
                        self.filters.remove(at);
                    }
                    None => self.filters.push(filter),
                }
                self.scroll_to = Some(0.0);
            }
            Action::AddColumnFilter => {
                if let Some(filter) = self.column_filter.to_filter() {
                    if !self.filters.contains(&filter) {
                        self.filters.push(filter);
                    }
                    self.column_filter.clear_values();
                    self.scroll_to = Some(0.0);
                }
            }
            Action::RemoveFilter(at) => {
                if at < self.filters.len() {
                    self.filters.remove(at);
                }
            }
            Action::SortDiff(by) => {
                let sort = next_diff_sort(self.diff_sort.as_ref(), by);
                self.diff_sort = Some(sort.clone());
                if !self.diff_orders.contains_key(&sort) {
                    self.start_diff_sort(sort);
                }
            }
            Action::ShowTimeline(row) => self.start_timeline(row),
            Action::CloseTimeline => {
                self.timelines.cancel();
                self.timeline_row = None;
                self.timeline = None;
            }
            Action::SortTable(column) => {
                let descending = self
                    .table_sort
                    .is_some_and(|s| s.column == column && !s.descending);
                let key = SortKey { column, descending };
                if self.table_order().is_some() {
                    self.previous_sort = self.table_sort;
                }
                self.table_sort = Some(key);
                if !self.sort_orders.contains_key(&key) {
                    self.start_sort(key);
                }
            }
            Action::ShowUnmatched(name) => {
                let spec = self.shown.as_ref().map(|s| &s.session.spec);
                if let Some(filter) = spec.and_then(|spec| unmatched_rows(spec, &name)) {
                    self.view = View::Table;
                    self.table_filters = vec![filter];
                    self.scroll_to = Some(0.0);
                }
            }
            Action::RemoveTableFilter(at) => {
                if at < self.table_filters.len() {
                    self.table_filters.remove(at);
                }
            }
            Action::SetExportFormat(format) => self.export_format = format,
            Action::DismissNotice => self.notice = None,
        }
    }

    fn start_diff_sort(&mut self, sort: DiffSort) {
        let Some(review) = self.shown.as_ref().map(|s| Arc::clone(&s.review)) else {
            return;
        };
        self.diff_sorts
            .start("Sorting the diff", move |_| DiffSortDone {
                order: review.diff_order(&sort),
                sort,
            });
    }

    /// The diff sort being computed, if any.
    pub(crate) fn diff_sorting(&self) -> Option<&DiffSort> {
        self.diff_sort
            .as_ref()
            .filter(|sort| !self.diff_orders.contains_key(sort) && self.diff_sorts.is_busy())
    }

    /// The sort the diff's rows are in: the one asked for once computed, else the one before
    /// it (still on screen), else none.
    fn diff_sort_shown(&self) -> Option<(DiffSort, Arc<Vec<u32>>)> {
        let sort = self.diff_sort.as_ref()?;
        if let Some(order) = self.diff_orders.get(sort) {
            return Some((sort.clone(), Arc::clone(order)));
        }
        let (sort, order) = self
            .diff_rows_for
            .as_ref()
            .and_then(|(_, shown)| shown.as_ref())
            .and_then(|shown| self.diff_orders.get_key_value(shown))?;
        Some((sort.clone(), Arc::clone(order)))
    }

    fn start_timeline(&mut self, row: u32) {
        let Some(review) = self.shown.as_ref().map(|s| Arc::clone(&s.review)) else {
            return;
        };
        if self.timeline_row == Some(row) && (self.timeline.is_some() || self.timelines.is_busy()) {
            return;
        }
        self.timeline_row = Some(row);
        self.timelines
            .start("Reading the key's history", move |_| review.timeline(row));
    }

    /// Whether the timeline asked for is still being computed.
    pub(crate) fn timeline_pending(&self) -> bool {
        self.timelines.is_busy()
    }

    fn start_sort(&mut self, key: SortKey) {
        let Some(review) = self.shown.as_ref().map(|s| Arc::clone(&s.review)) else {
            return;
        };
        let column = review.table().schema().field(key.column).name().clone();
        self.sorts
            .start(format!("Sorting by {column}"), move |_| SortDone {
                key,
                order: sort_order(review.table(), key),
            });
    }

    /// The sort being computed, if any.
    pub(crate) fn sorting(&self) -> Option<SortKey> {
        self.table_sort
            .filter(|key| !self.sort_orders.contains_key(key) && self.sorts.is_busy())
    }

    /// The order the table view shows rows in: the chosen sort once computed, else the
    /// previous one still on screen, else the table's own.
    pub(crate) fn table_order(&self) -> Option<Arc<Vec<u32>>> {
        self.table_sort_shown().map(|(_, order)| order)
    }

    /// The sort the table's rows are in (see [`TidemarkApp::table_order`]) and its order.
    fn table_sort_shown(&self) -> Option<(SortKey, Arc<Vec<u32>>)> {
        let key = self.table_sort?;
        let (key, order) = self
            .sort_orders
            .get_key_value(&key)
            .or_else(|| self.sort_orders.get_key_value(&self.previous_sort?))?;
        Some((*key, Arc::clone(order)))
    }

    /// Brings the table view's rows up to date with its filters and sort (with no filter the
    /// view reads the sort's order itself).
    pub(crate) fn refresh_table_rows(&mut self) {
        if self.table_filters.is_empty() {
            return;
        }
        let (sort, order) = self.table_sort_shown().unzip();
        let wanted = (self.table_filters.clone(), sort);
        if self.table_rows_for.as_ref() == Some(&wanted) {
            return;
        }
        if let Some(review) = self.shown.as_ref().map(|s| &s.review) {
            self.table_rows = review
                .table_rows_in(order.as_deref().map(Vec::as_slice), &wanted.0)
                .map_err(|e| e.to_string());
            self.table_rows_for = Some(wanted);
        }
    }

    /// Every filter of the diff view, as the core reads them: the kind, the key search, the
    /// column and facet filters.
    pub(crate) fn diff_filters(&self) -> Vec<Filter> {
        let key = Filter::Key {
            text: self.key_query.clone(),
            prefix: self.key_prefix,
        };
        self.diff_filter
            .filter()
            .into_iter()
            .chain([key])
            .chain(self.filters.iter().cloned())
            .collect()
    }

    /// Brings the diff rows and facets up to date with the filters and the search box.
    pub(crate) fn refresh_diff_rows(&mut self) {
        let (sort, order) = self.diff_sort_shown().unzip();
        let wanted = (self.diff_filters(), sort);
        if self.diff_rows_for.as_ref() == Some(&wanted) {
            return;
        }
        if let Some(review) = self.shown.as_ref().map(|s| &s.review) {
            let rows = review.diff_rows_in(order.as_deref().map(Vec::as_slice), &wanted.0);
            let facets = review.facets(&wanted.0);
            match rows.and_then(|rows| Ok((rows, facets?))) {
                Ok((rows, facets)) => {
                    self.diff_rows = rows;
                    self.facets = Some(facets);
                    self.query_error = None;
                }
                Err(error) => {
                    self.diff_rows.clear();
                    self.query_error = Some(error.to_string());
                }
            }
            self.diff_rows_for = Some(wanted);
        }
    }

    pub(crate) fn export(&self, target: ExportTarget) -> Action {
        Action::Ask(DialogRequest::Save {
            target,
            format: self.export_format,
        })
    }
}

/// The diff's sort after a click on the header of `by`: a new column sorts ascending, by its
/// value after the run for a compared column; a click on the sorted column turns it around,
/// and on a compared column sorted descending goes over to (or back from) its value before.
/// Reviews `session`, whose files a job began reading at `started`, in that job: the time
/// since is the review's reading time.
fn review_read(
    session: Session,
    started: Instant,
    progress: &Progress,
) -> Result<Box<Reviewed>, Problem> {
    let read = started.elapsed();
    let mut reviewed = Review::compute_without_bad_files(
        session,
        &mut |f, stage| progress.report(f, stage),
        progress.cancel(),
    )?;
    reviewed.review.timings.read = read;
    Ok(Box::new(reviewed))
}

fn next_diff_sort(current: Option<&DiffSort>, by: DiffSortBy) -> DiffSort {
    let same_column = |a: &DiffSortBy, b: &DiffSortBy| match (a, b) {
        (
            DiffSortBy::Before(x) | DiffSortBy::After(x),
            DiffSortBy::Before(y) | DiffSortBy::After(y),
        ) => x == y,
        _ => a == b,
    };
    match current {
        Some(sort) if same_column(&sort.by, &by) => match (&sort.by, sort.descending) {
            (by, false) => DiffSort {
                by: by.clone(),
                descending: true,
            },
            (DiffSortBy::After(c), true) => DiffSort {
                by: DiffSortBy::Before(c.clone()),
                descending: false,
            },
            (DiffSortBy::Before(c), true) => DiffSort {
                by: DiffSortBy::After(c.clone()),
                descending: false,
            },
            (by, true) => DiffSort {
                by: by.clone(),
                descending: false,
            },
        },
        _ => DiffSort {
            by: match by {
                DiffSortBy::Before(c) => DiffSortBy::After(c),
                other => other,
            },
            descending: false,
        },
    }
}

/// The bundled proportional font has no arrows (→ ⬆ ⬇); the bundled monospace one does. The
/// fonts are bundled rather than looked up on the system, so the app looks the same everywhere.
fn use_bundled_fonts_for_arrows(ctx: &egui::Context) {
    let mut fonts = egui::FontDefinitions::default();
    if let Some(proportional) = fonts.families.get_mut(&egui::FontFamily::Proportional) {
        proportional.insert(1, "Hack".to_owned());
    }
    ctx.set_fonts(fonts);
}

/// `1,234,567`: the core's rule for counts people read, as the CLI's summary has it.
pub(crate) use tidemark_core::report::thousands as count;

/// `1 row`, `2 rows`, `1,000 rows`.
pub(crate) fn plural(n: usize, word: &str) -> String {
    format!("{} {word}{}", count(n), if n == 1 { "" } else { "s" })
}

pub(crate) fn human_bytes(bytes: usize) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / (1 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} kB", b as f64 / (1 << 10) as f64),
        b => format!("{b} bytes"),
    }
}

pub(crate) fn seconds(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

impl eframe::App for TidemarkApp {
    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        let frame_started = Instant::now();
        self.receive();
        if let Some(bench) = &mut self.bench {
            bench.before_frame(frame_started, frame.info().cpu_usage);
        }
        let actions = crate::ui::draw(self, ui);
        for action in actions {
            self.act(action, ui.ctx());
        }
        if self.bench.is_some() {
            crate::bench::drive(self, ui.ctx(), frame_started);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_compared_columns_header_goes_after_up_down_then_before_up_down() {
        let city = || DiffSortBy::After("city".into());
        let mut sort = None;
        let mut seen = Vec::new();
        for _ in 0..5 {
            let next = next_diff_sort(sort.as_ref(), city());
            seen.push(format!("{:?} {}", next.by, next.descending));
            sort = Some(next);
        }
        assert_eq!(
            seen,
            [
                "After(\"city\") false",
                "After(\"city\") true",
                "Before(\"city\") false",
                "Before(\"city\") true",
                "After(\"city\") false"
            ]
        );
        let kind = next_diff_sort(sort.as_ref(), DiffSortBy::Kind);
        assert_eq!(
            (kind.by.clone(), kind.descending),
            (DiffSortBy::Kind, false)
        );
        let kind = next_diff_sort(Some(&kind), DiffSortBy::Kind);
        assert_eq!((kind.by, kind.descending), (DiffSortBy::Kind, true));
    }

    #[test]
    fn counts_group_thousands_and_words_agree_with_them() {
        assert_eq!(count(7), "7");
        assert_eq!(count(1_025_000), "1,025,000");
        assert_eq!(count(100_000), "100,000");
        assert_eq!(plural(1, "row"), "1 row");
        assert_eq!(plural(83_263, "key"), "83,263 keys");
    }
}
