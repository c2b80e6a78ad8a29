//! # tidemark-core
//!
//! Keeps an analytical copy of a table in sync with change-data-capture files and enriches it
//! with features. Pure: bytes and Arrow in, Arrow and bytes out; no files, no network, no clock.
//!
//! The job, step by step:
//! - [`decode`]: snapshots and change files (DMS CSV, gzip'd CSV, Parquet) into Arrow;
//! - [`apply`]: the changes, in sequence order, to the snapshot, with a [`diff`] of every
//!   touched key and a count of every anomaly;
//! - [`history`]: every version of every key (SCD type 2), when the spec asks for it;
//! - [`features`]: per-group lookup, dense rank, windowed rate and size;
//! - [`encode`]: the results as Parquet or CSV;
//! - [`review`]: search, filters, sorts and facets over a result table, for the faces;
//! - [`bucket`]: which part of a table a key or a feature group lives in, for faces that work
//!   on a table a part at a time (Delta tables, Spark executors).
//!
//! [`pipeline::run`] does all of it in one call.

pub mod apply;
pub mod bucket;
mod cancel;
mod change_set;
pub mod changes;
pub mod decode;
pub mod diff;
pub mod encode;
pub mod error;
pub mod example;
pub mod features;
pub mod files;
pub mod history;
mod keys;
mod par;
pub mod pipeline;
pub mod report;
pub mod review;
pub mod snapshot_diff;
pub mod spec;
pub mod splice;
pub mod versions;

pub use apply::{Applied, ApplyOptions, Versions};
pub use cancel::Cancel;
pub use changes::{ChangeBatch, Op, Snapshot};
pub use diff::{ChangeKind, Diff};
pub use encode::OutputFormat;
pub use error::{Error, ErrorKind, Location, Result};
pub use files::{DmsName, FileFormat, InputFile};
pub use report::RunReport;
pub use spec::TableSpec;
