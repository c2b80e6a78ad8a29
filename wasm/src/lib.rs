//! The Tidemark program: the command-line tool (native, and later WASI) over `tidemark-core`.
//!
//! The core never touches a file. This crate does: [`inputs`] finds and reads snapshot and
//! change files, [`outputs`] writes results atomically, and [`cli`] is the command line.

pub mod cli;
pub mod inputs;
pub mod outputs;
