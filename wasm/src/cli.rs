//! The command line: `tidemark apply`, `tidemark demo`, `tidemark spec`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use arrow_array::RecordBatch;
use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use tidemark_core::features::lookup::Lookup;
use tidemark_core::pipeline::{self, Inputs, Options, Output, Stage};
use tidemark_core::{OutputFormat, RunReport, TableSpec, encode, example};

use crate::edge::{self, Config, EdgeError, S3Location};
use crate::inputs::{self, InputError, Reading, STATE_FILE};
use crate::outputs::{OutFolder, OutFolderError, WriteError};
use crate::s3_event::{self, EventError, Record};

#[derive(Debug, Parser)]
#[command(
    name = "tidemark",
    version,
    about = "Apply AWS DMS change files to a table snapshot and enrich it with features"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply change files to a snapshot; write the new snapshot, the enriched table, the diff
    /// and a run report.
    Apply(ApplyArgs),
    /// Run the whole job on the bundled seed example and show the result.
    Demo(DemoArgs),
    /// Print the bundled table spec (the seed's `users` table), to start your own from.
    Spec,
    /// Handle an S3 event notification: apply the DMS files it announces and write the
    /// enriched table. One JSON line per record on standard output.
    HandleS3Event(EventArgs),
}

#[derive(Debug, Args)]
struct EventArgs {
    /// The event JSON file; standard input when absent or `-`.
    #[arg(value_name = "EVENT")]
    event: Option<PathBuf>,
    /// The folder that holds the buckets: s3://bucket/key is BUCKET_ROOT/bucket/key.
    #[arg(long, value_name = "DIR")]
    bucket_root: PathBuf,
    /// Where the enriched table and the state go, as s3://bucket/prefix/. A tidemark.toml
    /// there supplies the settings below.
    #[arg(long, value_name = "S3_URL")]
    output: String,
    /// Only keys below this s3://bucket/prefix/ are handled.
    #[arg(long, value_name = "S3_URL")]
    source: Option<String>,
    /// The table spec (TOML).
    #[arg(long, value_name = "FILE")]
    spec: Option<PathBuf>,
    /// Format of the enriched output: parquet or csv.
    #[arg(long, value_name = "FORMAT")]
    format: Option<OutputFormat>,
    /// Lookup table for the group column.
    #[arg(long, value_name = "FILE")]
    lookup: Option<PathBuf>,
    /// Length of the features' window in days.
    #[arg(long, value_name = "DAYS")]
    window_days: Option<u32>,
}

#[derive(Debug, Args)]
struct ApplyArgs {
    /// The snapshot: a Parquet or DMS CSV file, a folder of LOAD*.csv parts, or the --out
    /// folder of an earlier run (exactly the run it holds: its snapshot and its state.parquet).
    /// Absent for a CDC-only task (no full load): the table starts empty, with the spec's
    /// columns.
    #[arg(long, value_name = "PATH")]
    snapshot: Option<PathBuf>,
    /// Change files, or folders searched recursively; applied in DMS-name order.
    #[arg(long, value_name = "PATH", num_args = 1..)]
    changes: Vec<PathBuf>,
    /// Where to write snapshot, enriched, diff, report.json (and state.parquet). Each run is
    /// kept whole in DIR/.tidemark/runs/ and the folder switches to it in one step; the names
    /// at the top of DIR show the current run.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// The table spec (TOML); by default the seed's `users` table (see `tidemark spec`).
    #[arg(long, value_name = "FILE")]
    spec: Option<PathBuf>,
    /// The versions an earlier run kept (its state.parquet), when not found beside the snapshot.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// End of the features' window; by default the date of the newest change applied.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    as_of: Option<NaiveDate>,
    /// Length of the features' window in days (the spec says 90 for the seed).
    #[arg(long, value_name = "DAYS")]
    window_days: Option<u32>,
    /// Lookup table for the group column (CSV with a header, or Parquet: city, state
    /// [, population]); by default the bundled GeoNames US cities.
    #[arg(long, value_name = "FILE")]
    lookup: Option<PathBuf>,
    /// Format of the table outputs.
    #[arg(long, value_name = "FORMAT", default_value = "parquet")]
    format: OutputFormat,
    /// Fail on inserts of existing keys and updates or deletes of missing keys.
    #[arg(long)]
    strict: bool,
    /// Read input files into memory instead of mapping them. A mapped file that another
    /// program truncates while the run reads it makes the process crash with SIGBUS, without
    /// a message; with --no-mmap the run reads the file as it is when read (a file cut short
    /// then fails to decode, naming it). Costs a copy of each big input (time and memory).
    #[arg(long)]
    no_mmap: bool,
    /// How long to wait (seconds) for another tidemark run writing into --out to finish,
    /// before giving up with an error.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    lock_timeout: u64,
    /// Which outputs to write (comma-separated): snapshot, enriched, diff, state, report.
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "snapshot,enriched,diff,state,report"
    )]
    outputs: Vec<Written>,
    #[command(flatten)]
    output: OutputArgs,
}

/// The outputs of `apply`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Written {
    Snapshot,
    Enriched,
    Diff,
    State,
    Report,
}

const ALL_OUTPUTS: [Written; 5] = [
    Written::Snapshot,
    Written::Enriched,
    Written::Diff,
    Written::State,
    Written::Report,
];

#[derive(Debug, Args)]
struct DemoArgs {
    /// Also write the outputs to this folder.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// How many rows of the enriched table to show.
    #[arg(long, default_value_t = 10)]
    rows: usize,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, Args)]
struct OutputArgs {
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
    /// Print the run report as JSON on standard output.
    #[arg(long, conflicts_with = "quiet")]
    json: bool,
}

fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("{text:?} is not a date (YYYY-MM-DD)"))
}

/// Everything that stops a run.
#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Core(#[from] tidemark_core::Error),
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error(transparent)]
    OutFolder(#[from] OutFolderError),
    #[error("{path}: {error}")]
    Spec {
        path: String,
        error: tidemark_core::Error,
    },
    #[error(transparent)]
    Edge(#[from] EdgeError),
    #[error(transparent)]
    Event(#[from] EventError),
    #[error("{failed} of {total} record(s) could not be processed:\n{causes}")]
    Records {
        failed: usize,
        total: usize,
        causes: String,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Apply(args) => apply(args),
        Command::Demo(args) => demo(args),
        Command::Spec => {
            print!("{}", include_str!("../../core/data/users.toml"));
            Ok(())
        }
        Command::HandleS3Event(args) => handle_s3_event(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Time spent per phase, in seconds.
#[derive(Debug, Default, Serialize)]
struct Timings {
    read: f64,
    apply: f64,
    features: f64,
    encode_and_write: f64,
    total: f64,
}

/// What `report.json` and `--json` hold: the core's report, the timings and the files written.
#[derive(Debug, Serialize)]
struct RunLog<'a> {
    #[serde(flatten)]
    report: &'a RunReport,
    timings: &'a Timings,
    outputs: Vec<String>,
}

fn read_spec(path: Option<&Path>) -> Result<TableSpec, CliError> {
    match path {
        Some(path) => {
            let file = inputs::read(path)?;
            let text = String::from_utf8_lossy(&file.bytes);
            TableSpec::from_toml(&text).map_err(|error| CliError::Spec {
                path: file.name.clone(),
                error,
            })
        }
        None => Ok(TableSpec::users()),
    }
}

/// The snapshot of a CDC-only task (DMS without a full load): no rows, the spec's columns.
fn empty_snapshot(spec: &TableSpec) -> Result<tidemark_core::InputFile, CliError> {
    let schema = spec.schema().ok_or_else(|| {
        tidemark_core::Error::new(tidemark_core::error::ErrorKind::Spec(
            "without --snapshot (a task with no full load) the table's columns come from the spec, which lists none".into(),
        ))
    })?;
    let bytes = encode::to_parquet(&RecordBatch::new_empty(schema))?;
    Ok(tidemark_core::InputFile::new("(no full load)", bytes))
}

fn apply(args: ApplyArgs) -> Result<(), CliError> {
    let started = Instant::now();
    // Taken before anything is read: a run that reads the folder's current run (`--snapshot`
    // the same folder) must not switch it after another run switched it since.
    let out = OutFolder::open(&args.out, Duration::from_secs(args.lock_timeout))?;
    let reading = if args.no_mmap {
        Reading::CopyAll
    } else {
        Reading::MapBigFiles
    };
    let spec = read_spec(args.spec.as_deref())?;
    let (snapshot, mut state) = match &args.snapshot {
        Some(path) => inputs::snapshot(path, reading)?,
        None => (vec![empty_snapshot(&spec)?], None),
    };
    if let Some(path) = &args.state {
        state = Some(inputs::read_with(path, reading)?);
    }
    let changes = inputs::changes(&args.changes, reading)?;
    let lookup = match &args.lookup {
        Some(path) => Some(Lookup::from_file(&inputs::read_with(path, reading)?)?),
        None => None,
    };
    // For the test that truncates an input between its reading and its decoding.
    crate::outputs::failpoint("apply-inputs-read");
    let options = Options {
        as_of: args.as_of,
        window_days: args.window_days,
        lookup,
        strict: args.strict,
        ..Default::default()
    };
    let show_progress = !args.output.quiet && !args.output.json;
    let (output, mut timings) = run(
        &spec,
        Inputs {
            snapshot,
            state,
            changes,
        },
        &options,
        show_progress,
    )?;
    let written = write_outputs(
        out,
        &output,
        args.format,
        &args.outputs,
        &mut timings,
        started,
    )?;
    finish(&output, &timings, written, &args.output);
    Ok(())
}

fn demo(args: DemoArgs) -> Result<(), CliError> {
    let started = Instant::now();
    let seed = example::seed();
    let inputs = Inputs {
        snapshot: seed.snapshot,
        changes: seed.changes,
        state: None,
    };
    let out = match &args.out {
        Some(dir) => Some(OutFolder::open(dir, DEMO_LOCK_TIMEOUT)?),
        None => None,
    };
    let (output, mut timings) = run(&TableSpec::users(), inputs, &Options::default(), false)?;
    let written = match out {
        Some(out) => write_outputs(
            out,
            &output,
            OutputFormat::Parquet,
            &ALL_OUTPUTS,
            &mut timings,
            started,
        )?,
        None => {
            timings.total = started.elapsed().as_secs_f64();
            Vec::new()
        }
    };
    finish(&output, &timings, written, &args.output);
    if !args.output.quiet && !args.output.json {
        if let Some(enriched) = &output.enriched {
            println!();
            println!("{}", show(enriched, &["city", "last_login"], args.rows));
        }
    }
    Ok(())
}

/// Runs the pipeline with a progress bar over the input bytes, and times its phases.
fn run(
    spec: &TableSpec,
    inputs: Inputs,
    options: &Options,
    show_progress: bool,
) -> Result<(Output, Timings), CliError> {
    let total_bytes: usize = inputs
        .snapshot
        .iter()
        .chain(&inputs.changes)
        .chain(&inputs.state)
        .map(|f| f.bytes.len())
        .sum();
    let bar = if show_progress && std::io::stderr().is_terminal() {
        let bar =
            ProgressBar::with_draw_target(Some(total_bytes as u64), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {msg:30!} [{bar:30}] {bytes}/{total_bytes} {elapsed}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    } else {
        ProgressBar::hidden()
    };
    let start = Instant::now();
    let mut marks: Vec<(&'static str, Instant)> = vec![("read", start)];
    let mut decoded = 0u64;
    let mut on_stage = |stage: Stage| match stage {
        Stage::Decode { file, bytes, .. } => {
            bar.set_position(decoded);
            bar.set_message(format!(
                "reading {}",
                Path::new(file)
                    .file_name()
                    .map_or(file.into(), |n| n.to_string_lossy())
            ));
            decoded += bytes as u64;
        }
        Stage::Apply => {
            bar.set_position(decoded);
            bar.set_message("applying changes");
            marks.push(("apply", Instant::now()));
        }
        Stage::Enrich => {
            bar.set_message("computing features");
            marks.push(("features", Instant::now()));
        }
        Stage::Done => marks.push(("done", Instant::now())),
    };
    let output = pipeline::run(spec, inputs, options, &mut on_stage);
    bar.finish_and_clear();
    let output = output?;
    let mut timings = Timings::default();
    for pair in marks.windows(2) {
        let seconds = (pair[1].1 - pair[0].1).as_secs_f64();
        match pair[0].0 {
            "read" => timings.read = seconds,
            "apply" => timings.apply = seconds,
            "features" => timings.features = seconds,
            _ => {}
        }
    }
    Ok((output, timings))
}

/// How long `demo --out` waits for a run writing into its folder.
const DEMO_LOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// Writes the run's outputs as a new run of the folder `out`, and switches the folder to it.
fn write_outputs(
    out: OutFolder,
    output: &Output,
    format: OutputFormat,
    wanted: &[Written],
    timings: &mut Timings,
    started: Instant,
) -> Result<Vec<String>, CliError> {
    let start = Instant::now();
    let ext = format.extension();
    let mut tables = Vec::new();
    if wanted.contains(&Written::Snapshot) {
        tables.push((format!("snapshot.{ext}"), &output.table, format));
    }
    if let (true, Some(enriched)) = (wanted.contains(&Written::Enriched), &output.enriched) {
        tables.push((format!("enriched.{ext}"), enriched, format));
    }
    if wanted.contains(&Written::Diff) {
        tables.push((format!("diff.{ext}"), &output.diff.rows, format));
    }
    if let (true, Some(versions)) = (wanted.contains(&Written::State), &output.versions) {
        tables.push((
            STATE_FILE.to_string(),
            &versions.rows,
            OutputFormat::Parquet,
        ));
    }
    // Each table is written into its file as it is encoded; nothing is in place until all are.
    let dir = out.root().to_path_buf();
    let mut staged = out.start_run()?;
    let mut names: Vec<String> = Vec::with_capacity(tables.len() + 1);
    for (name, _, _) in &tables {
        staged.create(name)?;
        names.push(dir.join(name).display().to_string());
    }
    let writes = tables
        .iter()
        .zip(staged.writers())
        .map(|((_, table, format), out)| (*table, *format, out))
        .collect();
    if let Err(error) = encode::write_all(writes) {
        return Err(match staged.write_error() {
            Some(write) => CliError::Write(write),
            None => CliError::Core(error),
        });
    }
    // The report is written last and lists what was written with it.
    if wanted.contains(&Written::Report) {
        names.push(dir.join("report.json").display().to_string());
        timings.encode_and_write = start.elapsed().as_secs_f64();
        timings.total = started.elapsed().as_secs_f64();
        let log = RunLog {
            report: &output.report,
            timings,
            outputs: names.clone(),
        };
        let json = serde_json::to_vec_pretty(&log).expect("reports serialise");
        staged.add("report.json", &json)?;
    }
    for warning in out.switch_to(staged)? {
        eprintln!("warning: {warning}");
    }
    timings.encode_and_write = start.elapsed().as_secs_f64();
    timings.total = started.elapsed().as_secs_f64();
    Ok(names)
}

fn finish(output: &Output, timings: &Timings, written: Vec<String>, args: &OutputArgs) {
    if args.json {
        let log = RunLog {
            report: &output.report,
            timings,
            outputs: written,
        };
        println!(
            "{}",
            serde_json::to_string_pretty(&log).expect("reports serialise")
        );
    } else if !args.quiet {
        print!("{}", summary(&output.report, timings, &written));
    }
}

/// The run in a few lines, for people.
fn summary(report: &RunReport, timings: &Timings, written: &[String]) -> String {
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
            .as_deref()
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

/// The first `limit` rows of `batch` ordered by `order_by`, as a text table like Spark's `show`.
fn show(batch: &RecordBatch, order_by: &[&str], limit: usize) -> String {
    use arrow_cast::display::{ArrayFormatter, FormatOptions};
    let sort_columns: Vec<arrow_ord::sort::SortColumn> = order_by
        .iter()
        .filter_map(|name| batch.column_by_name(name))
        .map(|c| arrow_ord::sort::SortColumn {
            values: c.clone(),
            options: None,
        })
        .collect();
    let sorted = arrow_ord::sort::lexsort_to_indices(&sort_columns, Some(limit))
        .ok()
        .and_then(|idx| arrow_select::take::take_record_batch(batch, &idx).ok())
        .unwrap_or_else(|| batch.slice(0, limit.min(batch.num_rows())));
    let options = FormatOptions::default().with_null("null");
    let schema = sorted.schema();
    let mut cells: Vec<Vec<String>> =
        vec![schema.fields().iter().map(|f| f.name().clone()).collect()];
    let formatters: Vec<_> = sorted
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).expect("displayable"))
        .collect();
    for row in 0..sorted.num_rows() {
        cells.push(
            formatters
                .iter()
                .map(|f| f.value(row).to_string())
                .collect(),
        );
    }
    let widths: Vec<usize> = (0..cells[0].len())
        .map(|c| {
            cells
                .iter()
                .map(|r| r[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let rule: String = widths
        .iter()
        .map(|w| format!("+{}", "-".repeat(*w)))
        .collect::<String>()
        + "+";
    let line = |row: &[String]| -> String {
        row.iter()
            .zip(&widths)
            .map(|(v, w)| format!("|{v:<w$}"))
            .collect::<String>()
            + "|"
    };
    let mut out = vec![rule.clone(), line(&cells[0]), rule.clone()];
    out.extend(cells[1..].iter().map(|r| line(r)));
    out.push(rule);
    if batch.num_rows() > limit {
        out.push(format!(
            "only showing top {limit} rows of {}",
            batch.num_rows()
        ));
    }
    out.join("\n")
}

fn handle_s3_event(args: EventArgs) -> Result<(), CliError> {
    let json = match args.event.as_deref() {
        None => read_stdin()?,
        Some(p) if p == Path::new("-") => read_stdin()?,
        Some(path) => String::from_utf8_lossy(&inputs::read(path)?.bytes).into_owned(),
    };
    let records = s3_event::parse(&json)?;
    let output = S3Location::parse(&args.output)?;
    let (file_dir, file) = match Config::file_at(&args.bucket_root, &output)? {
        Some((path, file)) => (path.parent().map(Path::to_path_buf), file),
        None => (None, edge::ConfigFile::default()),
    };
    let beside_config = |p: &str| {
        file_dir
            .as_ref()
            .map_or_else(|| PathBuf::from(p), |d| d.join(p))
    };
    let spec_path = args
        .spec
        .clone()
        .or_else(|| file.spec.as_deref().map(beside_config));
    let lookup_path = args
        .lookup
        .clone()
        .or_else(|| file.lookup.as_deref().map(beside_config));
    let config = Config {
        source: args
            .source
            .as_deref()
            .or(file.source.as_deref())
            .map(S3Location::parse)
            .transpose()?,
        spec: read_spec(spec_path.as_deref())?,
        format: args.format.or(file.format).unwrap_or_default(),
        lookup: lookup_path
            .map(|p| inputs::read(&p).map(|f| Lookup::from_file(&f)))
            .transpose()?
            .transpose()?,
        window_days: args.window_days.or(file.window_days),
        bucket_root: args.bucket_root,
        output,
    };
    let mut causes = Vec::new();
    for (index, record) in records.iter().enumerate() {
        let line = match record {
            Record::Test => edge::LogLine {
                record: index,
                event: "s3:TestEvent".into(),
                action: "ignored".into(),
                detail: Some("test event".into()),
                ..Default::default()
            },
            Record::Object(event) => {
                let (line, result) = edge::handle(&config, index, event);
                if let Err(e) = result {
                    causes.push(format!(
                        "  record {index} ({}/{}): {e}",
                        event.bucket, event.key
                    ));
                }
                line
            }
        };
        println!(
            "{}",
            serde_json::to_string(&line).expect("log lines serialise")
        );
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(CliError::Records {
            failed: causes.len(),
            total: records.len(),
            causes: causes.join("\n"),
        })
    }
}

fn read_stdin() -> Result<String, CliError> {
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut text).map_err(|source| {
        InputError::Read {
            path: "standard input".into(),
            source,
        }
    })?;
    Ok(text)
}
