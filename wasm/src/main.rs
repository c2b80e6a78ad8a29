//! `tidemark`: the command-line program. Everything it does lives in the library, except how
//! the native program asks the system for memory.

fn main() -> std::process::ExitCode {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    memory::one_arena();
    tidemark::cli::main()
}

/// How the native program takes memory from the system.
///
/// A run at ten million rows allocates gigabytes of fresh memory (every column of every table
/// is a new buffer of tens of megabytes), and the first touch of each page costs a fault in
/// which the kernel zeroes it: on the bench machines, a fifth to a half of the run's CPU. One
/// malloc arena for all threads lets a block freed by one thread be reused by another instead
/// of fresh memory being faulted in.
///
/// Big blocks asked for huge pages until 2026-11-28: fewer faults, but on a machine that runs
/// other programs between ours (as the bench alternates peers) the 2 MiB faults cost more
/// system time than the small ones they replace (the kernel may have to compact memory to
/// find a huge page, and zeroes all of it where a block uses a part). Measured at 10m side by
/// side on a shared Xeon VM, runs 4 s apart: median 1.95 s with huge pages against 1.43 s
/// with them turned off (system time 1.4 s against 0.5 s), and not slower back to back.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod memory {
    /// One malloc arena for all threads (glibc makes one per thread by default).
    pub fn one_arena() {
        // SAFETY: mallopt only sets an allocator parameter; a refusal (0) changes nothing.
        unsafe { libc::mallopt(libc::M_ARENA_MAX, 1) };
    }
}
