//! The command line's arguments, as clap reads them.

use std::path::PathBuf;

use chrono::{NaiveDate, NaiveDateTime};
use clap::Args;
use tidemark_core::OutputFormat;
use tidemark_core::files::OutputFile;
use tidemark_core::spec::infer::{InferOptions, SourceName};

#[derive(Debug, Args)]
pub struct EventArgs {
    /// The event JSON file; standard input when absent or `-`.
    #[arg(value_name = "EVENT")]
    pub event: Option<PathBuf>,
    /// The folder that holds the buckets: s3://bucket/key is BUCKET_ROOT/bucket/key. Without
    /// it (--delta only), objects are read from S3 itself, by key and the event's ETag, with
    /// credentials, region and AWS_ENDPOINT_URL from the AWS environment.
    #[arg(long, value_name = "DIR")]
    pub bucket_root: Option<PathBuf>,
    /// Keep the table as Delta Lake tables at --output (table/, diff/, enriched/): each event
    /// is one commit, recorded in the table's log with the objects and ETags it applied.
    #[arg(long)]
    pub delta: bool,
    /// The number of key buckets of a Delta table the first event creates.
    #[arg(long, value_name = "N", requires = "delta")]
    pub buckets: Option<u32>,
    /// Where the enriched table and the state go, as s3://bucket/prefix/. A tidemark.toml
    /// there supplies the settings below.
    #[arg(long, value_name = "S3_URL")]
    pub output: String,
    /// Only keys below this s3://bucket/prefix/ are handled.
    #[arg(long, value_name = "S3_URL")]
    pub source: Option<String>,
    /// The table spec (TOML).
    #[arg(long, value_name = "FILE")]
    pub spec: Option<PathBuf>,
    /// Format of the enriched output: parquet or csv.
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<OutputFormat>,
    /// Lookup table for the group column.
    #[arg(long, value_name = "FILE")]
    pub lookup: Option<PathBuf>,
    /// Length of the features' window in days.
    #[arg(long, value_name = "DAYS")]
    pub window_days: Option<u32>,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The snapshot: a Parquet or DMS CSV file, a folder of LOAD*.csv parts, or the --out
    /// folder of an earlier run (exactly the run it holds: its snapshot, its state.parquet and
    /// its change_log.parquet), or a Delta table (a folder with _delta_log/, an apply --delta
    /// output, or s3://...: its rows and, for Tidemark's, its state).
    /// Absent for a CDC-only task (no full load): the table starts empty, with the spec's
    /// columns.
    #[arg(long, value_name = "PATH")]
    pub snapshot: Option<PathBuf>,
    /// A newer full snapshot (a file, a folder of LOAD*.csv parts, or an earlier run's folder),
    /// for sources that deliver only full extracts: the inserts, updates and deletes that turn
    /// --snapshot into it are worked out by key and applied (with any --changes).
    #[arg(long, value_name = "PATH", requires = "snapshot")]
    pub next_snapshot: Option<PathBuf>,
    /// When --snapshot names a Delta table: the version to read (the latest by default).
    #[arg(long, value_name = "N", requires = "snapshot")]
    pub snapshot_version: Option<u64>,
    /// When --next-snapshot names a Delta table: the version to read (the latest by default).
    /// With --snapshot the same table at another version, the run is the change between them.
    #[arg(long, value_name = "N", requires = "next_snapshot")]
    pub next_snapshot_version: Option<u64>,
    /// When --next-snapshot was taken ("YYYY-MM-DD HH:MM:SS" or YYYY-MM-DD, UTC): its changes'
    /// sequence value, which orders them and opens history's versions.
    #[arg(long, value_name = "TIME", value_parser = parse_time, requires = "next_snapshot")]
    pub snapshot_time: Option<NaiveDateTime>,
    /// Change files, or folders searched recursively; applied in DMS-name order.
    #[arg(long, value_name = "PATH", num_args = 1..)]
    pub changes: Vec<PathBuf>,
    /// Where to write snapshot, enriched, diff, report.json (and state.parquet). Each run is
    /// kept whole in DIR/.tidemark/runs/ and the folder switches to it in one step; the names
    /// at the top of DIR show the current run.
    /// With --delta (implied by an s3://bucket/prefix): where the Delta tables are (table/,
    /// diff/, enriched/).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Keep the table as Delta Lake tables at --out (a folder, or s3://bucket/prefix with
    /// credentials, region and AWS_ENDPOINT_URL from the AWS environment): table/ (the
    /// maintained table: each run rewrites only the buckets of keys its changes touch, in one
    /// commit with Tidemark's state), diff/ (every run's diff, with the table version it made)
    /// and enriched/. --snapshot is read only by the run that creates the table.
    #[arg(long)]
    pub delta: bool,
    /// How many buckets of keys a Delta table created by this run has: more buckets, less
    /// read and written for a few changes; fewer, bigger files.
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub buckets: u32,
    /// The table spec (TOML). Without it, the spec is inferred from the inputs as `tidemark
    /// spec --infer` does (the report says what it inferred); when the files cannot say the
    /// key and no --key is given, the seed's `users` spec (see `tidemark spec`).
    #[arg(long, value_name = "FILE")]
    pub spec: Option<PathBuf>,
    #[command(flatten)]
    pub inference: InferArgs,
    /// The versions an earlier run kept (its state.parquet), when not found beside the snapshot.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// The change log an earlier run kept (its change_log.parquet: history, `[history]` in the
    /// spec), when not found beside the snapshot.
    #[arg(long, value_name = "FILE")]
    pub change_log: Option<PathBuf>,
    /// End of the features' window; by default the date of the newest change applied.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub as_of: Option<NaiveDate>,
    /// Length of the features' window in days (the spec says 90 for the seed).
    #[arg(long, value_name = "DAYS")]
    pub window_days: Option<u32>,
    /// Lookup table for the group column (CSV with a header, or Parquet: city, state
    /// [, population]); by default the bundled GeoNames US cities.
    #[arg(long, value_name = "FILE")]
    pub lookup: Option<PathBuf>,
    /// Format of the table outputs.
    #[arg(long, value_name = "FORMAT", default_value = "parquet")]
    pub format: OutputFormat,
    /// Fail on inserts of existing keys and updates or deletes of missing keys.
    #[arg(long)]
    pub strict: bool,
    /// Read input files into memory instead of mapping them. A mapped file that another
    /// program truncates while the run reads it makes the process crash with SIGBUS, without
    /// a message; with --no-mmap the run reads the file as it is when read (a file cut short
    /// then fails to decode, naming it). Costs a copy of each big input (time and memory).
    #[arg(long)]
    pub no_mmap: bool,
    /// How long to wait (seconds) for another tidemark run writing into --out to finish,
    /// before giving up with an error.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub lock_timeout: u64,
    /// Which outputs to write (comma-separated): snapshot, enriched, diff, state, history,
    /// change_log, report. History and its change log are written when the spec keeps
    /// history (`[history]`).
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "snapshot,enriched,diff,state,history,change_log,report"
    )]
    pub outputs: Vec<OutputFile>,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct SpecArgs {
    /// Print the spec these files imply instead of the bundled one: files or folders (searched
    /// recursively) of a full load and change files, CSV or Parquet, transaction files
    /// (CDC_TXN-*) included. A sample of each file is read.
    #[arg(long, value_name = "PATH", num_args = 1..)]
    pub infer: Vec<PathBuf>,
    #[command(flatten)]
    pub inference: InferArgs,
}

/// What the files cannot tell an inferred spec.
#[derive(Debug, Args)]
pub struct InferArgs {
    /// The key's columns, when no Parquet metadata names them (inferred spec only).
    #[arg(long, value_name = "COL[,COL]", value_delimiter = ',')]
    pub key: Vec<String>,
    /// The table's name; by default the folder DMS named after the table (inferred spec only).
    #[arg(long, value_name = "NAME")]
    pub table_name: Option<String>,
    /// In transaction files (CDC_TXN-*), the source table whose rows are this table's; by
    /// default the full load's folder (schema/table/LOAD*), else the one table they hold
    /// (inferred spec only).
    #[arg(long, value_name = "SCHEMA.TABLE")]
    pub source_table: Option<SourceName>,
}

impl InferArgs {
    pub fn options(&self) -> InferOptions {
        InferOptions {
            key: self.key.clone(),
            name: self.table_name.clone(),
            source: self.source_table.clone(),
        }
    }

    /// Whether any was given: an inference the user asked for must not fall back silently.
    pub fn given(&self) -> bool {
        !self.key.is_empty() || self.table_name.is_some() || self.source_table.is_some()
    }
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Also write the outputs to this folder.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// How many rows of the enriched table to show.
    #[arg(long, default_value_t = 10)]
    pub rows: usize,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
    /// Print the run report as JSON on standard output.
    #[arg(long, conflicts_with = "quiet")]
    pub json: bool,
}

/// A time as `YYYY-MM-DD HH:MM:SS[.ffffff]`, `YYYY-MM-DDTHH:MM:SS`, or a date (midnight).
pub fn parse_time(text: &str) -> Result<NaiveDateTime, String> {
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .or_else(|| parse_date(text).ok().and_then(|d| d.and_hms_opt(0, 0, 0)))
        .ok_or_else(|| format!("{text:?} is not a time (YYYY-MM-DD HH:MM:SS, or YYYY-MM-DD)"))
}

pub fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("{text:?} is not a date (YYYY-MM-DD)"))
}
