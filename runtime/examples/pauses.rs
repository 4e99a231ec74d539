//! Go's question for a collector: how long does it stop the program while a million objects
//! are live?
//!
//!     cargo run --release -p gomem-runtime --example pauses [-- LIVE CHURN]
//!
//! Builds LIVE (default 1,000,000) live objects in a doubly-linked ring (every one on a
//! cycle, rewired through `GcCell`), then makes CHURN (default 4,000,000) garbage cycles
//! while it keeps rewiring the ring, and lets the heap's pacing run collection cycles in
//! slices between those steps. Prints how many cycles ran and how long the slices stopped
//! the program, then the time of one blocking `gomem::collect()` over the same heap.

use std::time::{Duration, Instant};

use gomem::Gc;

#[path = "shared/thread_cpu.rs"]
mod thread_cpu;
use thread_cpu::thread_cpu;

#[path = "shared/ring_node.rs"]
mod ring_node;
use ring_node::{node, Node};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let live_count: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let churn: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(4_000_000);

    let ring: Vec<Gc<Node>> = (0..live_count as u64).map(node).collect();
    for (i, n) in ring.iter().enumerate() {
        let next = &ring[(i + 1) % ring.len()];
        *n.next.borrow_mut() = Some(next.clone());
        *next.prev.borrow_mut() = Some(n.clone());
    }
    // Only one handle from outside: the rest of the ring is reached through the cells.
    let anchor = ring[0].clone();
    let mut cursor = ring[0].clone();
    drop(ring);

    let before = gomem::stats();
    let start = Instant::now();
    let cpu_start = thread_cpu();
    let mut checksum = 0u64;
    for i in 0..churn {
        // A garbage cycle of two.
        let a = node(i as u64);
        let b = node(i as u64 + 1);
        *a.next.borrow_mut() = Some(b.clone());
        *b.next.borrow_mut() = Some(a.clone());
        checksum = checksum.wrapping_add(b.next.borrow().as_ref().map_or(0, |x| x.id));
        // Walk the ring and rewire a little of it.
        let next = cursor.next.borrow().clone().expect("a ring");
        if i % 8 == 0 {
            *next.extra.borrow_mut() = Some(a.clone());
        }
        cursor = next;
    }
    let elapsed = start.elapsed();
    let cpu = thread_cpu().saturating_sub(cpu_start);
    let after = gomem::stats();
    let mut pauses = after.recent_pauses.clone();
    pauses.sort();
    println!(
        "{} live objects, {} garbage cycles made in {:.3} s (checksum {checksum})",
        live_count,
        churn,
        elapsed.as_secs_f64()
    );
    println!(
        "  cycles completed: {}, objects collected: {}, heap now {} objects / {:.1} MiB",
        after.num_gc - before.num_gc,
        after.collected_objects - before.collected_objects,
        after.heap_objects,
        after.heap_bytes as f64 / (1 << 20) as f64
    );
    let paused = after.pause_total - before.pause_total;
    println!(
        "  pauses (slices): longest {:?}; of the last {}: median {:?}, 99th percentile {:?}; total {:?} ({:.1}% of the run)",
        after.pause_max,
        pauses.len(),
        percentile(&pauses, 0.5),
        percentile(&pauses, 0.99),
        paused,
        100.0 * paused.as_secs_f64() / elapsed.as_secs_f64()
    );
    let paused_cpu = after.pause_cpu_total - before.pause_cpu_total;
    println!(
        "  in thread CPU time: longest {:?}; total {:?} ({:.1}% of the run's {:?})",
        after.pause_cpu_max,
        paused_cpu,
        100.0 * paused_cpu.as_secs_f64() / cpu.as_secs_f64().max(1e-9),
        cpu
    );
    println!(
        "  cycles: {} full, {} young; {} objects examined",
        after.num_full_gc - before.num_full_gc,
        (after.num_gc - before.num_gc) - (after.num_full_gc - before.num_full_gc),
        after.examined_objects - before.examined_objects
    );

    let start = Instant::now();
    gomem::collect();
    println!(
        "  one blocking gomem::collect() over the same heap: {:?}",
        start.elapsed()
    );
    drop((anchor, cursor));
    gomem::collect();
    assert_eq!(gomem::stats().heap_objects, 0, "everything collected");
}
