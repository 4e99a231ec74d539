//! `cargo-gomem-lint`: run as `cargo gomem-lint` once installed (see `--help`).

fn main() -> std::process::ExitCode {
    gomem_analyzer::cli::main()
}
