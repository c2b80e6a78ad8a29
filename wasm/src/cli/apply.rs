//! `tidemark apply` and `tidemark demo`: inputs in, the run's outputs written as one new run
//! of the output folder, a summary out.

use std::time::{Duration, Instant};

use serde::Serialize;
use tidemark_core::features::lookup::Lookup;
use tidemark_core::files::{OutputFile, REPORT_FILE};
use tidemark_core::pipeline::{Inputs, Options, Output};
use tidemark_core::{OutputFormat, RunReport, TableSpec, encode, example};

use super::CliError;
use super::args::{ApplyArgs, DemoArgs, OutputArgs};
use super::progress::{Timings, run_with_progress};
use super::summary::summary;
use super::table::show;
use crate::io::inputs::{self, Reading};
use crate::io::outputs::OutFolder;

/// What `report.json` and `--json` hold: the core's report, the timings and the files written.
#[derive(Debug, Serialize)]
struct RunLog<'a> {
    #[serde(flatten)]
    report: &'a RunReport,
    timings: &'a Timings,
    outputs: Vec<String>,
}

pub(super) fn apply(args: ApplyArgs) -> Result<(), CliError> {
    let started = Instant::now();
    // Taken before anything is read: a run that reads the folder's current run (`--snapshot`
    // the same folder) must not switch it after another run switched it since.
    let out = OutFolder::open(&args.out, Duration::from_secs(args.lock_timeout))?;
    let reading = if args.no_mmap {
        Reading::CopyAll
    } else {
        Reading::MapBigFiles
    };
    let spec = inputs::read_spec(args.spec.as_deref())?;
    let (snapshot, mut state) = match &args.snapshot {
        Some(path) => inputs::snapshot(path, reading)?,
        None => (Vec::new(), None),
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
    crate::io::outputs::failpoint("apply-inputs-read");
    let options = Options {
        as_of: args.as_of,
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

pub(super) fn demo(args: DemoArgs) -> Result<(), CliError> {
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
    let (output, mut timings) =
        run_with_progress(&TableSpec::users(), inputs, &Options::default(), false)?;
    let written = match out {
        Some(out) => write_outputs(
            out,
            &output,
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
    finish(&output, &timings, written, &args.output);
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
            OutputFile::Report => None,
        };
        let format = match wanted_file {
            OutputFile::State => OutputFormat::Parquet,
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
