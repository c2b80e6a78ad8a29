//! One run of the pipeline with a progress bar over the input bytes (on a terminal), and the
//! time each phase took.

use std::io::IsTerminal;
use std::path::Path;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use tidemark_core::TableSpec;
use tidemark_core::pipeline::{self, Inputs, Options, Output, Stage};

use super::CliError;

/// Time spent per phase, in seconds.
#[derive(Debug, Default, Serialize)]
pub(super) struct Timings {
    pub read: f64,
    pub apply: f64,
    pub features: f64,
    pub encode_and_write: f64,
    pub total: f64,
}

/// Runs the pipeline with a progress bar over the input bytes, and times its phases.
pub(super) fn run_with_progress(
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
    with_progress(total_bytes, show_progress, |on_stage| {
        Ok(pipeline::run(spec, inputs, options, on_stage)?)
    })
}

/// Runs `run` (a pipeline reporting its stages) with a progress bar over `total_bytes` of
/// input, and times its phases.
pub(super) fn with_progress<T>(
    total_bytes: usize,
    show_progress: bool,
    run: impl FnOnce(&mut dyn FnMut(Stage)) -> Result<T, CliError>,
) -> Result<(T, Timings), CliError> {
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
    let output = run(&mut on_stage);
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
