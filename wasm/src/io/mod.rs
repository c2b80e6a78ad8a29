//! Files in and out, for every face that has a file system (the CLI, the edge function, the
//! desktop app). The rules of naming and classifying files are the core's
//! (`tidemark_core::files`); this module only walks folders, reads bytes and writes them safely.

pub mod inputs;
pub mod out_lock;
pub mod outputs;
