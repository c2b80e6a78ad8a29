//! `tidemark apply --delta`: the run's inputs applied to Delta Lake tables on a folder or S3
//! (see `tidemark_delta` for the tables and how a run touches only some of them).

use std::time::Instant;

use tidemark_core::InputFile;
use tidemark_core::features::lookup::Lookup;
use tidemark_core::files::OutputFile;
use tidemark_core::pipeline::Options;
use tidemark_delta::bucket::digest;
use tidemark_delta::run::{DIFF, ENRICHED, Request, TABLE};
use tidemark_delta::{DeltaError, Part, Place, apply as apply_to};

use super::CliError;
use super::apply::{finish, snapshot_inputs, spec_of_run};
use super::args::ApplyArgs;
use super::progress::with_progress;
use crate::io::inputs::{self, Reading};

pub(super) fn apply(args: ApplyArgs) -> Result<(), CliError> {
    let started = Instant::now();
    for (given, flag) in [
        (args.state.is_some(), "--state"),
        (args.change_log.is_some(), "--change-log"),
        (args.next_snapshot.is_some(), "--next-snapshot"),
    ] {
        if given {
            return Err(CliError::Usage(format!(
                "{flag} is not used with Delta tables: their state is kept in the table"
            )));
        }
    }
    let reading = if args.no_mmap {
        Reading::CopyAll
    } else {
        Reading::MapBigFiles
    };
    if args.spec.is_some() {
        inputs::read_spec(args.spec.as_deref())?;
    }
    let location = args.out.to_string_lossy().into_owned();
    let place = Place::open(&location)?;
    // A folder of full-load parts is read a part at a time; anything else at once.
    let (initial, initial_bytes): (Vec<Part>, usize) = match &args.snapshot {
        Some(path) => match inputs::load_part_paths(path)? {
            Some(paths) => {
                let bytes = paths
                    .iter()
                    .map(|p| std::fs::metadata(p).map_or(0, |m| m.len() as usize))
                    .sum();
                let parts = paths
                    .into_iter()
                    .map(|p| {
                        Part::new(p.display().to_string(), move || {
                            inputs::read_with(&p, reading)
                                .map_err(|e| DeltaError::Input(e.to_string()))
                        })
                    })
                    .collect();
                (parts, bytes)
            }
            None => {
                let files = snapshot_inputs(path, args.snapshot_version, reading)?.files;
                let bytes = files.iter().map(|f| f.bytes.len()).sum();
                (files.into_iter().map(Part::loaded).collect(), bytes)
            }
        },
        None => (Vec::new(), 0),
    };
    let changes = inputs::changes(&args.changes, reading)?;
    // What the spec is inferred from, when it is: the first part stands for the load.
    let sample: Vec<InputFile> = initial
        .first()
        .map(Part::read)
        .transpose()?
        .into_iter()
        .collect();
    let (spec, inferred) = spec_of_run(&args, &sample, &changes)?;
    drop(sample);
    let (lookup, lookup_digest) = match &args.lookup {
        Some(path) => {
            let file = inputs::read_with(path, reading)?;
            (Some(Lookup::from_file(&file)?), Some(digest(&file.bytes)))
        }
        None => (None, None),
    };
    let options = Options {
        as_of: args.as_of,
        window_days: args.window_days,
        lookup,
        strict: args.strict,
        ..Default::default()
    };
    let request = Request {
        spec: &spec,
        initial,
        changes,
        options: &options,
        buckets: args.buckets,
        write_diff: args.outputs.contains(&OutputFile::Diff),
        write_enriched: args.outputs.contains(&OutputFile::Enriched),
        lookup_digest,
        rebuild: false,
        etags: Default::default(),
    };
    let total_bytes = initial_bytes + request.changes.iter().map(|f| f.bytes.len()).sum::<usize>();
    let show_progress = !args.output.quiet && !args.output.json;
    let (applied, mut timings) = with_progress(total_bytes, show_progress, |on_stage| {
        Ok(apply_to(&place, &request, on_stage)?)
    })?;
    timings.total = started.elapsed().as_secs_f64();
    let mut written = vec![format!(
        "{} version {} ({} of {} buckets {}{})",
        place.table_url(TABLE),
        applied.table_version,
        applied.buckets_touched,
        applied.buckets,
        if applied.created {
            "written, table created"
        } else {
            "rewritten"
        },
        if applied.attempts > 1 {
            format!(", after {} attempts", applied.attempts)
        } else {
            String::new()
        }
    )];
    if applied.buckets_touched > 0 {
        if request.write_diff {
            written.push(place.table_url(DIFF).to_string());
        }
        if request.write_enriched && spec.features.is_some() {
            written.push(place.table_url(ENRICHED).to_string());
        }
    }
    finish(
        &applied.output,
        inferred.as_ref(),
        &timings,
        written,
        &args.output,
    );
    Ok(())
}
