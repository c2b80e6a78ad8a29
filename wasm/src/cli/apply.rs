//! `tidemark apply` and `tidemark demo`: inputs in, the run's outputs written as one new run
//! of the output folder, a summary out.

use std::time::{Duration, Instant};

use serde::Serialize;
use tidemark_core::features::lookup::Lookup;
use tidemark_core::files::{OutputFile, REPORT_FILE};
use tidemark_core::pipeline::{Inputs, Options, Output};
use tidemark_core::spec::infer::{Inferred, infer_run};
use tidemark_core::{InputFile, OutputFormat, RunReport, TableSpec, encode, example};

use super::CliError;
use super::args::{ApplyArgs, DemoArgs, OutputArgs};
use super::progress::{Timings, run_with_progress};
use super::summary::summary;
use super::table::show;
use crate::io::inputs::{self, Reading, SnapshotInputs};
use crate::io::outputs::OutFolder;

/// What `report.json` and `--json` hold: the core's report, the timings, the files written
/// and, without `--spec`, the spec inferred from the inputs.
#[derive(Debug, Serialize)]
struct RunLog<'a> {
    #[serde(flatten)]
    report: &'a RunReport,
    timings: &'a Timings,
    outputs: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    inferred_spec: Option<InferredLog<'a>>,
}

/// The spec a run without `--spec` inferred: as `spec --infer` prints it, and its notes.
#[derive(Debug, Serialize)]
struct InferredLog<'a> {
    spec: String,
    notes: &'a [String],
}

impl<'a> InferredLog<'a> {
    fn of(inferred: Option<&'a Inferred>) -> Option<InferredLog<'a>> {
        inferred.map(|i| InferredLog {
            spec: i.spec.to_toml(),
            notes: &i.notes,
        })
    }
}

/// The spec of a run: `--spec`; else the one the inputs imply (as `spec --infer`); else, when
/// the files cannot say the key and no inference setting was given, the bundled `users` spec
/// (the seed's), as before inference existed.
pub(super) fn spec_of_run(
    args: &ApplyArgs,
    snapshot: &[InputFile],
    changes: &[InputFile],
) -> Result<(TableSpec, Option<Inferred>), CliError> {
    if args.spec.is_some() {
        return Ok((inputs::read_spec(args.spec.as_deref())?, None));
    }
    match infer_run(snapshot, changes, &args.inference.options()) {
        Ok(inferred) => Ok((inferred.spec.clone(), Some(inferred))),
        Err(error) if args.inference.given() => Err(error.into()),
        Err(_) => Ok((TableSpec::users(), None)),
    }
}

/// What `--snapshot` (or `--next-snapshot`) names: files, an earlier run's folder, or (in
/// native builds) a Delta table at `version`.
pub(super) fn snapshot_inputs(
    path: &std::path::Path,
    version: Option<u64>,
    reading: Reading,
) -> Result<SnapshotInputs, CliError> {
    #[cfg(all(not(target_arch = "wasm32"), feature = "delta"))]
    {
        let location = path.to_string_lossy();
        if tidemark_delta::read::is_table(&location) {
            let table = tidemark_delta::read::read_table(&location, version)?;
            return Ok(SnapshotInputs {
                files: vec![table.rows],
                state: table.state,
                change_log: None,
            });
        }
    }
    if version.is_some() {
        return Err(CliError::Usage(format!(
            "{} is not a Delta table: a version is read from Delta tables only",
            path.display()
        )));
    }
    Ok(inputs::snapshot(path, reading)?)
}

pub(super) fn apply(args: ApplyArgs) -> Result<(), CliError> {
    if args.delta || args.out.to_string_lossy().contains("://") {
        #[cfg(all(not(target_arch = "wasm32"), feature = "delta"))]
        return super::delta::apply(args);
        #[cfg(not(all(not(target_arch = "wasm32"), feature = "delta")))]
        return Err(CliError::Usage(
            "Delta tables (--delta, s3:// outputs) are written by the native build only".into(),
        ));
    }
    let started = Instant::now();
    // Taken before anything is read: a run that reads the folder's current run (`--snapshot`
    // the same folder) must not switch it after another run switched it since.
    let out = OutFolder::open(&args.out, Duration::from_secs(args.lock_timeout))?;
    let reading = if args.no_mmap {
        Reading::CopyAll
    } else {
        Reading::MapBigFiles
    };
    // A spec file that cannot be read fails before any input is.
    if args.spec.is_some() {
        inputs::read_spec(args.spec.as_deref())?;
    }
    let kept = match &args.snapshot {
        Some(path) => snapshot_inputs(path, args.snapshot_version, reading)?,
        None => Default::default(),
    };
    let (snapshot, mut state, mut change_log) = (kept.files, kept.state, kept.change_log);
    if let Some(path) = &args.state {
        state = Some(inputs::read_with(path, reading)?);
    }
    if let Some(path) = &args.change_log {
        change_log = Some(inputs::read_with(path, reading)?);
    }
    let changes = inputs::changes(&args.changes, reading)?;
    let next_snapshot = match &args.next_snapshot {
        Some(path) => snapshot_inputs(path, args.next_snapshot_version, reading)?.files,
        None => Vec::new(),
    };
    let (spec, inferred) = spec_of_run(&args, &snapshot, &changes)?;
    let lookup = match &args.lookup {
        Some(path) => Some(Lookup::from_file(&inputs::read_with(path, reading)?)?),
        None => None,
    };
    // For the test that truncates an input between its reading and its decoding.
    crate::io::outputs::failpoint("apply-inputs-read");
    let options = Options {
        as_of: args.as_of,
        snapshot_time: args.snapshot_time,
        window_days: args.window_days,
        lookup,
        strict: args.strict,
        ..Default::default()
    };
    let show_progress = !args.output.quiet && !args.output.json;
    let (output, mut timings) = run_with_progress(
        &spec,
        Inputs {
            snapshot,
            state,
            changes,
            change_log,
            next_snapshot,
        },
        &options,
        show_progress,
    )?;
    let written = write_outputs(
        out,
        &output,
        inferred.as_ref(),
        args.format,
        &args.outputs,
        &mut timings,
        started,
    )?;
    finish(&output, inferred.as_ref(), &timings, written, &args.output);
    Ok(())
}

pub(super) fn demo(args: DemoArgs) -> Result<(), CliError> {
    let started = Instant::now();
    let seed = example::seed();
    let inputs = Inputs {
        snapshot: seed.snapshot,
        changes: seed.changes,
        state: None,
        change_log: None,
        next_snapshot: Vec::new(),
    };
    let out = match &args.out {
        Some(dir) => Some(OutFolder::open(dir, DEMO_LOCK_TIMEOUT)?),
        None => None,
    };
    let (output, mut timings) =
        run_with_progress(&TableSpec::users(), inputs, &Options::default(), false)?;
    let written = match out {
        Some(out) => write_outputs(
            out,
            &output,
            None,
            OutputFormat::Parquet,
            &OutputFile::ALL,
            &mut timings,
            started,
        )?,
        None => {
            timings.total = started.elapsed().as_secs_f64();
            Vec::new()
        }
    };
    finish(&output, None, &timings, written, &args.output);
    if !args.output.quiet && !args.output.json {
        if let Some(enriched) = &output.enriched {
            println!();
            println!("{}", show(enriched, &["city", "last_login"], args.rows));
        }
    }
    Ok(())
}

/// How long `demo --out` waits for a run writing into its folder.
const DEMO_LOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// Writes the run's outputs as a new run of the folder `out`, and switches the folder to it.
fn write_outputs(
    out: OutFolder,
    output: &Output,
    inferred: Option<&Inferred>,
    format: OutputFormat,
    wanted: &[OutputFile],
    timings: &mut Timings,
    started: Instant,
) -> Result<Vec<String>, CliError> {
    let start = Instant::now();
    let mut tables = Vec::new();
    // Always in the same order, whatever the order of `--outputs`.
    for wanted_file in OutputFile::ALL.into_iter().filter(|o| wanted.contains(o)) {
        let table = match wanted_file {
            OutputFile::Snapshot => Some(&output.table),
            OutputFile::Enriched => output.enriched.as_ref(),
            OutputFile::Diff => Some(&output.diff.rows),
            OutputFile::State => output.versions.as_ref().map(|v| &v.rows),
            OutputFile::History => output.history.as_ref().map(|h| &h.versions),
            OutputFile::ChangeLog => output.history.as_ref().map(|h| &h.log.rows),
            OutputFile::Report => None,
        };
        let format = match wanted_file {
            OutputFile::State | OutputFile::ChangeLog => OutputFormat::Parquet,
            _ => format,
        };
        if let Some(table) = table {
            tables.push((wanted_file.file_name(format), table, format));
        }
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
    if wanted.contains(&OutputFile::Report) {
        names.push(dir.join(REPORT_FILE).display().to_string());
        timings.encode_and_write = start.elapsed().as_secs_f64();
        timings.total = started.elapsed().as_secs_f64();
        let log = RunLog {
            report: &output.report,
            timings,
            outputs: names.clone(),
            inferred_spec: InferredLog::of(inferred),
        };
        let json = serde_json::to_vec_pretty(&log).expect("reports serialise");
        staged.add(REPORT_FILE, &json)?;
    }
    for warning in out.switch_to(staged)? {
        eprintln!("warning: {warning}");
    }
    timings.encode_and_write = start.elapsed().as_secs_f64();
    timings.total = started.elapsed().as_secs_f64();
    Ok(names)
}

pub(super) fn finish(
    output: &Output,
    inferred: Option<&Inferred>,
    timings: &Timings,
    written: Vec<String>,
    args: &OutputArgs,
) {
    if args.json {
        let log = RunLog {
            report: &output.report,
            timings,
            outputs: written,
            inferred_spec: InferredLog::of(inferred),
        };
        println!(
            "{}",
            serde_json::to_string_pretty(&log).expect("reports serialise")
        );
    } else if !args.quiet {
        if let Some(inferred) = inferred {
            print!("{}", inferred_summary(inferred));
        }
        print!("{}", summary(&output.report, timings, &written));
    }
}

/// What a run without `--spec` inferred, in a few lines: enough to check it, and to keep it
/// (`tidemark spec --infer` prints it whole).
fn inferred_summary(inferred: &Inferred) -> String {
    let table = &inferred.spec.table;
    let columns: Vec<String> = table
        .columns
        .iter()
        .map(|c| format!("{} {}", c.name, c.column_type.name()))
        .collect();
    let mut text = format!(
        "spec inferred from the files (no --spec): key [{}], columns {}\n",
        table.key.join(", "),
        columns.join(", ")
    );
    for note in &inferred.notes {
        text += &format!("  {note}\n");
    }
    text
}
