//! `tidemark`: the command-line program. Everything it does lives in the library.

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
fn main() -> std::process::ExitCode {
    tidemark::cli::main()
}

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
fn main() {}
