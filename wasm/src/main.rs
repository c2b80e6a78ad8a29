//! `tidemark`: the command-line program. Everything it does lives in the library.

fn main() -> std::process::ExitCode {
    tidemark::cli::main()
}
