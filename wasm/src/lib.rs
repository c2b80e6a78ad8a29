//! The Tidemark program over `tidemark-core`: the command-line tool (native and WASI) and,
//! compiled for `wasm32-unknown-unknown`, the browser module.
//!
//! The core never touches a file. This crate does:
//! - [`inputs`] finds and reads snapshot and change files;
//! - [`outputs`] writes results atomically: an output folder switches from one run to the
//!   next in one step, and [`out_lock`] lets one run at a time write it;
//! - [`cli`] is the command line;
//! - [`edge`] handles S3 event notifications ([`s3_event`]) as an edge function, mapping
//!   buckets and keys to paths only through [`bucket_path`] and taking [`lock`] so that one
//!   process at a time updates an output.
//!
//! Two locks, for now: [`out_lock`] uses `flock` where the system has it (released when the
//! process dies), [`lock`] an exclusive create with a lease (what a WASI host or a shared
//! folder offers). One mechanism for both is planned.

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
