//! binary-trees with `Box` over `gomem::Profiled<System>`: the profiling allocator's cost,
//! against `alloc_overhead_plain` (the same program over `System`). Sampling follows
//! `GOMEM_MEMPROFILERATE` (0 or unset: off; 524288: Go's default rate).
//!
//!     scripts/bench-profiled.sh        # both, and the linter, in alternating runs

#[path = "shared/box_trees.rs"]
mod box_trees;

#[global_allocator]
static ALLOC: gomem::Profiled<std::alloc::System> = gomem::Profiled::new(std::alloc::System);

fn main() {
    let rate = std::env::var("GOMEM_MEMPROFILERATE").unwrap_or_default();
    box_trees::main(&format!("profiled(rate={rate})"));
}
