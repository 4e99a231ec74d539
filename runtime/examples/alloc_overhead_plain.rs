//! binary-trees with `Box` over `System`, unwrapped: the baseline of `alloc_overhead`
//! (see `scripts/bench-profiled.sh`, which runs both side by side).
//!
//!     cargo run --release -p gomem-runtime --example alloc_overhead_plain -- 19

#[path = "shared/box_trees.rs"]
mod box_trees;

fn main() {
    box_trees::main("system");
}
