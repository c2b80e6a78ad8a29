//! The Tidemark program over `tidemark-core`: the command-line tool (native and WASI) and,
//! compiled for `wasm32-unknown-unknown`, the browser module.
//!
//! The core never touches a file. This crate does: [`inputs`] finds and reads snapshot and
//! change files, [`outputs`] writes results atomically (an output folder switches from one run to the next in one step, [`out_lock`] letting one run at a time write it), [`cli`] is the command line, and [`edge`]
//! handles S3 event notifications ([`s3_event`]) as an edge function.

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
pub mod browser;
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub mod bucket_path;
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub mod cli;
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub mod edge;
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub mod inputs;
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub mod lock;
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub mod out_lock;
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub mod outputs;
pub mod s3_event;
