//! The command line: `tidemark apply`, `tidemark demo`, `tidemark spec` and
//! `tidemark handle-s3-event`. A thin layer over the core: each command reads its inputs
//! through [`crate::io`], runs [`tidemark_core::pipeline`] and prints what happened.
//!
//! - [`args`]: what clap reads;
//! - [`apply`]: `apply` and `demo`, from inputs to the output folder;
//! - `delta`: `apply --delta`, into Delta Lake tables on a folder or S3 (native builds);
//! - [`progress`]: the progress bar and the phases' timings of one run;
//! - [`spec`]: the bundled spec, or the one files imply (`spec --infer`);
//! - [`summary`] and [`table`]: what a run prints for people;
//! - [`handle_s3_event`]: the edge function's command.

mod apply;
mod args;
#[cfg(all(not(target_arch = "wasm32"), feature = "delta"))]
mod delta;
mod handle_s3_event;
mod progress;
mod spec;
mod summary;
mod table;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::edge::EdgeError;
use crate::edge::s3_event::EventError;
use crate::io::inputs::InputError;
use crate::io::outputs::{OutFolderError, WriteError};
use args::{ApplyArgs, DemoArgs, EventArgs, SpecArgs};

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
    // Boxed: the flags of `apply` outweigh the other commands' several times over.
    Apply(Box<ApplyArgs>),
    /// Run the whole job on the bundled seed example and show the result.
    Demo(DemoArgs),
    /// Print the bundled table spec (the seed's `users` table), to start your own from; with
    /// --infer, the spec the given files imply.
    Spec(SpecArgs),
    /// Handle an S3 event notification: apply the DMS files it announces and write the
    /// enriched table. One JSON line per record on standard output.
    HandleS3Event(EventArgs),
}

/// Everything that stops a run.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Core(#[from] tidemark_core::Error),
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error(transparent)]
    OutFolder(#[from] OutFolderError),
    #[error(transparent)]
    Edge(#[from] EdgeError),
    #[error(transparent)]
    Event(#[from] EventError),
    #[cfg(all(not(target_arch = "wasm32"), feature = "delta"))]
    #[error(transparent)]
    Delta(#[from] tidemark_delta::DeltaError),
    #[error("{0}")]
    Usage(String),
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
        Command::Apply(args) => apply::apply(*args),
        Command::Demo(args) => apply::demo(args),
        Command::Spec(args) => spec::spec(&args),
        Command::HandleS3Event(args) => handle_s3_event::handle_s3_event(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
