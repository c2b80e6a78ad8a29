//! The Tidemark program over `tidemark-core`: the command line (native and WASI) and the edge
//! function it runs for S3 event notifications. The browser module is a crate of its own
//! (`wasm/browser/`), built only for `wasm32-unknown-unknown`.
//!
//! The core never touches a file. This crate does, in three rooms:
//! - [`io`]: finding and reading input files ([`io::inputs`]), writing results so an output
//!   folder switches from one run to the next in one step ([`io::outputs`]), and one run at a
//!   time per output folder ([`io::out_lock`]). The desktop app uses it too.
//! - [`cli`]: the command line: arguments, progress, the summary, the table printer.
//! - [`edge`]: S3 event notifications ([`edge::s3_event`]) handled as an edge function,
//!   mapping buckets and keys to paths only through [`edge::bucket_path`] and taking
//!   [`edge::lock`] so that one process at a time updates an output.
//!
//! Two locks, for now: [`io::out_lock`] uses `flock` where the system has it (released when
//! the process dies), [`edge::lock`] an exclusive create with a lease (what a WASI host or a
//! shared folder offers).

pub mod cli;
pub mod edge;
pub mod io;
