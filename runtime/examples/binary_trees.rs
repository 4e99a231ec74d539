//! The Benchmarks Game's binary-trees, the classic GC benchmark, with `Box`, `Rc` and
//! `gomem::Gc` side by side in one program (single-threaded), so that their times compare
//! on the same machine at the same moment.
//!
//!     cargo run --release -p gomem-runtime --example binary_trees -- 19
//!
//! Prints, for each, the median wall time of 3 runs (the checksums must agree), then the
//! pause of a full collection with a million live objects. `-- 19 gc` (or `box`, `rc`) runs
//! one of them alone, to measure its peak memory with `/usr/bin/time -f %M`.

use std::time::{Duration, Instant};

extern crate gomem_runtime as gomem;
use gomem::Gc;
use gomem_macros::Trace;

trait Tree: Sized {
    fn make(depth: u32) -> Self;
    fn check(&self) -> u32;
}

struct BoxTree(Option<(Box<BoxTree>, Box<BoxTree>)>);
impl Tree for BoxTree {
    fn make(depth: u32) -> Self {
        BoxTree((depth > 0).then(|| {
            (
                Box::new(Self::make(depth - 1)),
                Box::new(Self::make(depth - 1)),
            )
        }))
    }
    fn check(&self) -> u32 {
        1 + self.0.as_ref().map_or(0, |(l, r)| l.check() + r.check())
    }
}

struct RcTree(Option<(std::rc::Rc<RcTree>, std::rc::Rc<RcTree>)>);
impl Tree for RcTree {
    fn make(depth: u32) -> Self {
        RcTree((depth > 0).then(|| {
            (
                std::rc::Rc::new(Self::make(depth - 1)),
                std::rc::Rc::new(Self::make(depth - 1)),
            )
        }))
    }
    fn check(&self) -> u32 {
        1 + self.0.as_ref().map_or(0, |(l, r)| l.check() + r.check())
    }
}

#[derive(Trace)]
struct GcTree(Option<(Gc<GcTree>, Gc<GcTree>)>);
impl Tree for GcTree {
    fn make(depth: u32) -> Self {
        GcTree((depth > 0).then(|| {
            (
                Gc::new(Self::make(depth - 1)),
                Gc::new(Self::make(depth - 1)),
            )
        }))
    }
    fn check(&self) -> u32 {
        1 + self.0.as_ref().map_or(0, |(l, r)| l.check() + r.check())
    }
}

/// The benchmark proper: a stretch tree, a long-lived tree, and many short-lived trees.
fn run<T: Tree>(n: u32) -> u64 {
    let mut sum = 0u64;
    let max_depth = n.max(6);
    sum += T::make(max_depth + 1).check() as u64;
    let long_lived = T::make(max_depth);
    let mut depth = 4;
    while depth <= max_depth {
        let iterations = 1u32 << (max_depth - depth + 4);
        for _ in 0..iterations {
            sum += T::make(depth).check() as u64;
        }
        depth += 2;
    }
    sum + long_lived.check() as u64
}

fn median(f: impl Fn() -> u64) -> (Duration, u64) {
    let mut times = Vec::new();
    let mut sum = 0;
    for _ in 0..3 {
        let start = Instant::now();
        sum = f();
        times.push(start.elapsed());
    }
    times.sort();
    (times[1], sum)
}

fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(16);
    if let Some(only) = std::env::args().nth(2) {
        let sum = match only.as_str() {
            "box" => run::<BoxTree>(n),
            "rc" => run::<RcTree>(n),
            "gc" => run::<GcTree>(n),
            other => panic!("unknown variant `{other}`: box, rc or gc"),
        };
        println!("{only}: checksum {sum}");
        return;
    }
    let (boxed, s1) = median(|| run::<BoxTree>(n));
    let (rc, s2) = median(|| run::<RcTree>(n));
    let (gc, s3) = median(|| run::<GcTree>(n));
    assert!(s1 == s2 && s2 == s3, "checksums differ: {s1} {s2} {s3}");
    let stats = gomem::stats();
    println!("binary-trees, depth {n} (median of 3, one thread):");
    println!("  Box        {:>8.3} s  1.00x", boxed.as_secs_f64());
    for (name, t) in [("Rc", rc), ("gomem::Gc", gc)] {
        println!(
            "  {name:<10} {:>8.3} s  {:.2}x",
            t.as_secs_f64(),
            t.as_secs_f64() / boxed.as_secs_f64()
        );
    }
    println!(
        "  gomem: {} collections, longest pause {:?}",
        stats.num_gc,
        stats
            .recent_pauses
            .iter()
            .max()
            .copied()
            .unwrap_or_default()
    );

    // Go's question for a collector: how long is the pause with a million live objects?
    let live: Vec<Gc<GcTree>> = (0..1_000_000).map(|_| Gc::new(GcTree(None))).collect();
    let start = Instant::now();
    gomem::collect();
    println!(
        "  pause of a full collection with {} live objects: {:?}",
        live.len(),
        start.elapsed()
    );
}
