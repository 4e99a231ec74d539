//! `cargo-gomem-lint`: run as `cargo gomem-lint` once installed (see `--help`).

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    gomem_analyzer::cli::main()
}
