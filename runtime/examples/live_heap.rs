//! The collector's cost follows the garbage, not the heap: a big graph kept live, and a few
//! small garbage cycles made per millisecond beside it.
//!
//!     GOMEM_GCTRACE=1 cargo run --release -p gomem-runtime --example live_heap [-- LIVE RATE SECONDS LINKED]
//!
//! Builds LIVE (default 1,000,000) objects in a graph with cycles (a ring, plus a link from
//! each to a random other), held by a `Vec` the program keeps. Then, for SECONDS (default
//! 2), it walks the graph and makes RATE (default 5) garbage cycles of four objects per
//! millisecond, each holding a handle into the live graph (none if LINKED is 0: then the
//! garbage touches no live object, and the collector's time per cycle shows no trace of the
//! live heap's size, not even its cache misses). Prints the collection cycles and
//! what each examined and cost. Before that, one `gomem::collect()` examines the live graph
//! once (reached from the first garbage cycle; it is young until a cycle has examined it:
//! see the crate docs), as a Go program might call `runtime.GC()` after loading its data.
//! Run at 100000, 1000000 and 4000000 to see the cost per cycle stay flat.

use std::time::{Duration, Instant};

use gomem::Trace;
use gomem::{Gc, GcCell};

#[derive(Trace)]
struct Node {
    id: u64,
    next: GcCell<Option<Gc<Node>>>,
    link: GcCell<Option<Gc<Node>>>,
}

fn node(id: u64) -> Gc<Node> {
    Gc::new(Node {
        id,
        next: GcCell::new(None),
        link: GcCell::new(None),
    })
}

/// A small deterministic generator (xorshift).
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// A garbage cycle of four objects, the first holding a handle into the live graph if
/// `into` is given.
fn garbage_cycle(id: u64, into: Option<&Gc<Node>>) {
    let first = node(id);
    *first.link.borrow_mut() = into.cloned();
    let mut last = first.clone();
    for k in 1..4 {
        let n = node(id + k);
        *last.next.borrow_mut() = Some(n.clone());
        last = n;
    }
    *last.next.borrow_mut() = Some(first);
}

struct Phase {
    cycles: u64,
    full: u64,
    examined: u64,
    paused: Duration,
    made: u64,
    elapsed: Duration,
}

/// Runs the workload for `seconds`; returns what the collector did meanwhile.
fn churn(
    live: &[Gc<Node>],
    linked: bool,
    rng: &mut Rng,
    rate: u32,
    checksum: &mut u64,
    seconds: f64,
) -> Phase {
    let s0 = gomem::stats();
    let start = Instant::now();
    let every = Duration::from_secs(1) / (rate * 1000);
    let mut next_garbage = Duration::ZERO;
    let mut made = 0u64;
    let mut at = 0usize;
    loop {
        // The program's own work: walk the live graph, reading (through borrows: a cursor
        // handle would be a candidate each time it moved on).
        for _ in 0..64 {
            let next = live[at].next.borrow().as_ref().map_or(0, |n| n.id);
            *checksum = checksum.wrapping_add(next);
            at = next as usize;
        }
        let now = start.elapsed();
        if now >= next_garbage {
            let into = &live[rng.below(live.len())];
            garbage_cycle(made * 4, linked.then_some(into));
            made += 1;
            next_garbage += every;
        }
        if now.as_secs_f64() >= seconds {
            break;
        }
    }
    let s1 = gomem::stats();
    Phase {
        cycles: s1.num_gc - s0.num_gc,
        full: s1.num_full_gc - s0.num_full_gc,
        examined: s1.examined_objects - s0.examined_objects,
        paused: s1.pause_total - s0.pause_total,
        made,
        elapsed: start.elapsed(),
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let count: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let rate: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let seconds: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(2.0);
    let linked = args.next().and_then(|a| a.parse::<u32>().ok()).unwrap_or(1) != 0;

    let start = Instant::now();
    let live: Vec<Gc<Node>> = (0..count as u64).map(node).collect();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for (i, n) in live.iter().enumerate() {
        *n.next.borrow_mut() = Some(live[(i + 1) % count].clone());
        *n.link.borrow_mut() = Some(live[rng.below(count)].clone());
    }
    let built = start.elapsed();
    let mut checksum = 0u64;
    // The live graph is examined once, by the first cycle that reaches it (if any does).
    let s0 = gomem::stats();
    let promote = Instant::now();
    if linked {
        garbage_cycle(u64::MAX - 4, Some(&live[0]));
        gomem::collect();
    }
    let promoted = promote.elapsed();
    let s1 = gomem::stats();
    let run = churn(&live, linked, &mut rng, rate, &mut checksum, seconds);
    let s = gomem::stats();
    println!(
        "{count} live objects ({:.1} MiB heap), built in {:.3} s (checksum {checksum})",
        s.heap_bytes as f64 / (1 << 20) as f64,
        built.as_secs_f64()
    );
    println!(
        "  first collect(): {} objects examined (the live graph, once) in {:.1} ms",
        s1.examined_objects - s0.examined_objects,
        promoted.as_secs_f64() * 1e3
    );
    let per = |x: f64| {
        if run.cycles == 0 {
            0.0
        } else {
            x / run.cycles as f64
        }
    };
    println!(
        "  then {:.3} s: {} garbage cycles made ({:.1} per ms), {} collection cycles ({} full)",
        run.elapsed.as_secs_f64(),
        run.made,
        run.made as f64 / run.elapsed.as_secs_f64() / 1e3,
        run.cycles,
        run.full
    );
    println!(
        "  per cycle: {:.0} objects examined, {:.3} ms paused; paused {:.2}% of the run; longest pause so far {:?}",
        per(run.examined as f64),
        per(run.paused.as_secs_f64() * 1e3),
        100.0 * run.paused.as_secs_f64() / run.elapsed.as_secs_f64(),
        s.pause_max
    );
}
