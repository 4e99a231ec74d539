//! `cargo-gomem-lint`: run as `cargo gomem-lint` once installed (see `--help`).

// mimalloc, sampled for `--heap-profile` (sampling is off without it: a thread-local count
// per allocation, and a flag read per free).
#[global_allocator]
static ALLOCATOR: gomem_runtime::Profiled<mimalloc_plain::Mimalloc> =
    gomem_runtime::Profiled::new(mimalloc_plain::Mimalloc);

mod allocator;
mod mimalloc_plain;

fn main() -> std::process::ExitCode {
    allocator::configure();
    gomem_analyzer::cli::main()
}
