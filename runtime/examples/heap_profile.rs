//! Writes a heap profile that `go tool pprof` reads: where the live objects of a program
//! were allocated, and where all of its allocations came from.
//!
//!     cargo run --release -p gomem-runtime --example heap_profile -- heap.pb
//!     go tool pprof -top heap.pb                       # what is live, by function
//!     go tool pprof -sample_index=alloc_space -top heap.pb
//!
//! Sampling is off unless asked for; this example turns it on at Go's default rate (one
//! sample per 512 KiB allocated). `GOMEM_MEMPROFILERATE=<bytes>` does the same for any
//! program without changing its code.

use gomem::Trace;
use gomem::{Gc, GcCell};

#[derive(Trace)]
struct Node {
    id: u64,
    edges: GcCell<Vec<Gc<Node>>>,
}

/// A graph that stays live: the profile's `inuse` view shows it.
#[inline(never)]
fn build_graph(n: u64) -> Vec<Gc<Node>> {
    let nodes: Vec<Gc<Node>> = (0..n)
        .map(|id| {
            Gc::new(Node {
                id,
                edges: GcCell::new(Vec::new()),
            })
        })
        .collect();
    for (i, node) in nodes.iter().enumerate() {
        let next = nodes[(i * 7 + 1) % nodes.len()].clone();
        node.edges.borrow_mut().push(next);
    }
    nodes
}

/// Garbage cycles made and dropped: the `alloc` views show them all, `inuse` only those no
/// collection has freed yet.
#[inline(never)]
fn churn(n: u64) -> u64 {
    let mut sum = 0;
    for id in 0..n {
        let a = Gc::new(Node {
            id,
            edges: GcCell::new(Vec::new()),
        });
        a.edges.borrow_mut().push(a.clone());
        sum += a.id;
    }
    sum
}

fn main() -> std::io::Result<()> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "heap.pb".into());
    gomem::set_mem_profile_rate(512 * 1024);
    let graph = build_graph(200_000);
    let sum = churn(2_000_000);
    let mut file = std::fs::File::create(&path)?;
    gomem::write_heap_profile(&mut file)?;
    let stats = gomem::stats();
    println!(
        "wrote {path}: {} live objects ({} MiB), {} allocated in all, {} collections (checksum {})",
        stats.heap_objects,
        stats.heap_bytes >> 20,
        stats.total_alloc_objects,
        stats.num_gc,
        sum + graph.len() as u64
    );
    Ok(())
}
