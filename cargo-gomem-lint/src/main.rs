//! `cargo-gomem-lint`: run as `cargo gomem-lint` once installed (see `--help`).

// mimalloc, sampled for `--heap-profile` (sampling is off without it: a thread-local count
// per allocation and a bit of the side filter per free).
#[global_allocator]
static ALLOCATOR: gomem_runtime::Profiled<mimalloc::MiMalloc> =
    gomem_runtime::Profiled::new(mimalloc::MiMalloc);

mod allocator;

fn main() -> std::process::ExitCode {
    allocator::configure();
    gomem_analyzer::cli::main()
}
