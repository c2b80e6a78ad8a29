//! # tidemark-desktop
//!
//! The desktop review app: open a snapshot and change files, review what they do to the table
//! (the diff, the anomalies, the enriched table), export the results. Every computation is
//! `tidemark-core`'s, run off the UI thread; this crate holds the state and draws it.

pub mod app;
pub mod bench;
pub mod cells;
pub mod dialogs;
pub mod export;
pub mod jobs;
pub mod review;
pub mod session;
mod tables;
mod ui;

pub use app::{Notice, Problem, Startup, TidemarkApp};
