//! `tidemark-desktop [PATH...]`: the review app. Without paths it opens the bundled seed.

use std::path::PathBuf;
use std::process::ExitCode;

use tidemark_desktop::bench::Bench;
use tidemark_desktop::dialogs::NativeDialogs;
use tidemark_desktop::{Startup, TidemarkApp};

const USAGE: &str = "\
usage: tidemark-desktop [PATH...]
       tidemark-desktop --spec FILE PATH...
       tidemark-desktop --bench-open DIR

Opens the review app on the bundled seed example, or on the given files and folders: the
snapshot is a file named snapshot.* or LOAD*.csv, else the first file; the others are change
files (folders are searched for .csv, .csv.gz and .parquet files). A change file that cannot be
read is left out and marked with its error. One path that is a Delta table (a folder with
_delta_log/, the folder `tidemark apply --delta` writes, or s3://bucket/prefix) opens its
latest version compared with the one before; the app picks any two.

--spec FILE       the table spec (TOML, as `tidemark apply --spec` reads it) instead of the
                  bundled users table; without a snapshot among the paths they are all change
                  files, applied to an empty table. With [history], the diff's keys open
                  their timelines.

--bench-open DIR  opens DIR/snapshot.parquet and DIR/cdc.parquet (or DIR), prints the time
                  until the diff is on screen, the time of a key search, a filter on each view
                  and a sort of the diff, the frame times while scrolling, and exits.";

enum Command {
    Review(Startup),
    Bench(PathBuf),
}

fn parse(args: Vec<String>) -> Result<Command, String> {
    match args.first().map(String::as_str) {
        Some("-h" | "--help") => Err(USAGE.into()),
        Some("--spec") => match args.as_slice() {
            [_, spec, paths @ ..] if !paths.is_empty() => Ok(Command::Review(Startup::Spec {
                spec: PathBuf::from(spec),
                paths: paths.iter().map(PathBuf::from).collect(),
            })),
            _ => Err(format!(
                "--spec takes a file, then files and folders\n\n{USAGE}"
            )),
        },
        Some("--bench-open") => match args.as_slice() {
            [_, dir] => Ok(Command::Bench(PathBuf::from(dir))),
            _ => Err(format!("--bench-open takes one folder\n\n{USAGE}")),
        },
        Some(flag) if flag.starts_with('-') => Err(format!("unknown option {flag}\n\n{USAGE}")),
        Some(_) => Ok(Command::Review(Startup::Paths(
            args.into_iter().map(PathBuf::from).collect(),
        ))),
        None => Ok(Command::Review(Startup::Seed)),
    }
}

fn main() -> ExitCode {
    let command = match parse(std::env::args().skip(1).collect()) {
        Ok(command) => command,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let benchmarking = matches!(command, Command::Bench(_));
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Tidemark")
            .with_app_id("tidemark-desktop")
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size([720.0, 480.0])
            .with_drag_and_drop(true),
        // The benchmark measures frames as fast as they come, not at the display's rate.
        glow_options: eframe::egui_glow::GlowConfiguration {
            vsync: !benchmarking,
            ..Default::default()
        },
        ..Default::default()
    };
    let result = eframe::run_native(
        "Tidemark",
        options,
        Box::new(move |cc| {
            let app = match command {
                Command::Review(startup) => {
                    TidemarkApp::new(&cc.egui_ctx, startup, Box::new(NativeDialogs))
                }
                Command::Bench(dir) => {
                    let bench = Bench::new(&dir);
                    let startup = Startup::Paths(bench.paths().to_vec());
                    TidemarkApp::new(&cc.egui_ctx, startup, Box::new(NativeDialogs))
                        .with_bench(bench)
                }
            };
            Ok(Box::new(app))
        }),
    );
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tidemark-desktop: {e}");
            ExitCode::FAILURE
        }
    }
}
