//! What the collector spends per garbage object, against what the program spends making it:
//! the ratio behind the `pauses` example's paused share, measured without its ring (whose
//! walk misses the cache) and without incremental slices.
//!
//!     cargo run --release -p gomem-runtime --example garbage_cost [-- PAIRS ROUNDS]
//!
//! Each round makes PAIRS (default 8192, a young cycle's candidates) garbage cycles of two
//! `pauses`-like nodes, then runs one blocking `gomem::collect()`, which frees them all.
//! Prints the thread CPU time per object collected and per pair made. With automatic
//! collection off, the collection is the only one that runs.

use std::time::Duration;

#[path = "shared/thread_cpu.rs"]
mod thread_cpu;
use thread_cpu::thread_cpu;

#[path = "shared/ring_node.rs"]
mod ring_node;
use ring_node::node;

fn main() {
    let mut args = std::env::args().skip(1);
    let pairs: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(8192);
    let rounds: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(400);
    gomem::set_gc_percent(-1);
    let (mut making, mut collecting) = (Duration::ZERO, Duration::ZERO);
    let mut checksum = 0u64;
    for _ in 0..rounds {
        let t0 = thread_cpu();
        for i in 0..pairs {
            let a = node(i);
            let b = node(i + 1);
            *a.next.borrow_mut() = Some(b.clone());
            *b.next.borrow_mut() = Some(a.clone());
            checksum = checksum.wrapping_add(b.id);
        }
        let t1 = thread_cpu();
        gomem::collect();
        let t2 = thread_cpu();
        making += t1 - t0;
        collecting += t2 - t1;
    }
    assert_eq!(gomem::stats().heap_objects, 0, "everything collected");
    let made = rounds as f64 * pairs as f64;
    println!(
        "{pairs} garbage pairs x {rounds} rounds (checksum {checksum}): collecting {:.1} ns per object, making {:.1} ns per pair (collector {:.0}% of the CPU time)",
        collecting.as_nanos() as f64 / (2.0 * made),
        making.as_nanos() as f64 / made,
        100.0 * collecting.as_secs_f64() / (collecting + making).as_secs_f64()
    );
}
