//! The Tidemark program over `tidemark-core`: the command-line tool (native and WASI) and,
//! compiled for `wasm32-unknown-unknown`, the browser module.
//!
//! The core never touches a file. This crate does: [`inputs`] finds and reads snapshot and
//! change files, [`outputs`] writes results atomically, and [`cli`] is the command line.

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub mod cli;
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub mod inputs;
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub mod outputs;
