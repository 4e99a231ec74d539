//! The Benchmarks Game's binary-trees, the classic GC benchmark, with `Box`, `Rc`,
//! `gomem::Gc`, dumpster, rust-gc (`gc`), gc-arena and a bumpalo arena side by side in one
//! program (single-threaded), so that their times compare on the same machine at the same
//! moment.
//!
//!     cargo run --release -p gomem-runtime --example binary_trees -- 19
//!
//! Prints, for each, the median wall time of 3 runs (the checksums must agree), then the
//! time of one blocking `collect()` with a million live objects (which examines nothing:
//! objects that never lost a handle are no candidates, and a cycle examines only what the
//! candidates reach; the pauses of the incremental cycles that pacing runs are measured by
//! the `pauses` example). `-- 19 gc` (or `box`, `rc`,
//! `dumpster`, `rust-gc`, `gc-arena`, `bumpalo`) runs one of them alone, to measure its
//! peak memory with `/usr/bin/time -f %M`.

use std::time::{Duration, Instant};

use gomem::Gc;
use gomem::Trace;

trait Tree: Sized {
    fn make(depth: u32) -> Self;
    fn check(&self) -> u32;
}

/// The same tree code for each pointer type `P` whose node is `Node(Option<(P<Node>, P<Node>)>)`.
macro_rules! tree_impl {
    ($node:ident, $($ptr:ident)::+) => {
        impl $crate::Tree for $node {
            fn make(depth: u32) -> Self {
                $node((depth > 0).then(|| {
                    (
                        $($ptr)::+::new(Self::make(depth - 1)),
                        $($ptr)::+::new(Self::make(depth - 1)),
                    )
                }))
            }
            fn check(&self) -> u32 {
                1 + self.0.as_ref().map_or(0, |(l, r)| l.check() + r.check())
            }
        }
    };
}
use tree_impl;

struct BoxTree(Option<(Box<BoxTree>, Box<BoxTree>)>);
tree_impl!(BoxTree, Box);

struct RcTree(Option<(std::rc::Rc<RcTree>, std::rc::Rc<RcTree>)>);
tree_impl!(RcTree, std::rc::Rc);

#[derive(Trace)]
struct GcTree(Option<(Gc<GcTree>, Gc<GcTree>)>);
tree_impl!(GcTree, Gc);

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

mod dumpster_tree {
    use dumpster::unsync::Gc;
    use dumpster::Trace;

    #[derive(Trace)]
    pub struct Node(Option<(Gc<Node>, Gc<Node>)>);
    crate::tree_impl!(Node, Gc);
}

// gc_derive (synstructure) writes its impls inside a const.
#[allow(non_local_definitions)]
mod rust_gc_tree {
    use gc::{Finalize, Gc, Trace};

    #[derive(Trace, Finalize)]
    pub struct Node(Option<(Gc<Node>, Gc<Node>)>);
    crate::tree_impl!(Node, Gc);
}

/// gc-arena: trees live in an arena that is collected between `mutate` calls, and the
/// long-lived tree is its root.
mod gc_arena_tree {
    use gc_arena::{Arena, Collect, Gc, Mutation, Rootable};

    #[derive(Collect)]
    #[collect(no_drop)]
    pub struct Node<'gc>(Option<(Gc<'gc, Node<'gc>>, Gc<'gc, Node<'gc>>)>);

    fn make<'gc>(mc: &Mutation<'gc>, depth: u32) -> Gc<'gc, Node<'gc>> {
        Gc::new(
            mc,
            Node((depth > 0).then(|| (make(mc, depth - 1), make(mc, depth - 1)))),
        )
    }

    fn check(node: &Node<'_>) -> u32 {
        1 + node.0.as_ref().map_or(0, |(l, r)| check(l) + check(r))
    }

    type TreeArena = Arena<Rootable![Option<Gc<'_, Node<'_>>>]>;

    pub fn run(n: u32) -> u64 {
        let mut arena = TreeArena::new(|_| None);
        let max_depth = n.max(6);
        let mut sum = arena.mutate(|mc, _| check(&make(mc, max_depth + 1)) as u64);
        arena.collect_debt();
        arena.mutate_root(|mc, root| *root = Some(make(mc, max_depth)));
        let mut depth = 4;
        while depth <= max_depth {
            for _ in 0..1u32 << (max_depth - depth + 4) {
                sum += arena.mutate(|mc, _| check(&make(mc, depth)) as u64);
                // gc-arena's advice: pay the debt only once it is worth a collection step.
                if arena.metrics().allocation_debt() > 64.0 * 1024.0 {
                    arena.collect_debt();
                }
            }
            depth += 2;
        }
        sum + arena.mutate(|_, root| check(root.as_ref().unwrap()) as u64)
    }
}

/// A bumpalo arena per short-lived tree, reset after each one (the Benchmarks Game's
/// fastest entries do this): the floor no collector can beat.
mod bumpalo_tree {
    use bumpalo::Bump;

    struct Node<'a>(Option<(&'a Node<'a>, &'a Node<'a>)>);

    fn make(bump: &Bump, depth: u32) -> &Node<'_> {
        bump.alloc(Node(
            (depth > 0).then(|| (make(bump, depth - 1), make(bump, depth - 1))),
        ))
    }

    fn check(node: &Node<'_>) -> u32 {
        1 + node.0.map_or(0, |(l, r)| check(l) + check(r))
    }

    pub fn run(n: u32) -> u64 {
        let max_depth = n.max(6);
        let mut scratch = Bump::new();
        let mut sum = check(make(&scratch, max_depth + 1)) as u64;
        scratch.reset();
        let long = Bump::new();
        let long_lived = make(&long, max_depth);
        let mut depth = 4;
        while depth <= max_depth {
            for _ in 0..1u32 << (max_depth - depth + 4) {
                sum += check(make(&scratch, depth)) as u64;
                scratch.reset();
            }
            depth += 2;
        }
        sum + check(long_lived) as u64
    }
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
            "dumpster" => run::<dumpster_tree::Node>(n),
            "rust-gc" => run::<rust_gc_tree::Node>(n),
            "gc-arena" => gc_arena_tree::run(n),
            "bumpalo" => bumpalo_tree::run(n),
            other => panic!(
                "unknown variant `{other}`: box, rc, gc, dumpster, rust-gc, gc-arena or bumpalo"
            ),
        };
        println!("{only}: checksum {sum}");
        return;
    }
    let (boxed, s1) = median(|| run::<BoxTree>(n));
    let (rc, s2) = median(|| run::<RcTree>(n));
    let (gc, s3) = median(|| run::<GcTree>(n));
    let (bump, s4) = median(|| bumpalo_tree::run(n));
    let (dumpster, s5) = median(|| run::<dumpster_tree::Node>(n));
    let (arena, s6) = median(|| gc_arena_tree::run(n));
    let (rust_gc, s7) = median(|| run::<rust_gc_tree::Node>(n));
    let sums = [s1, s2, s3, s4, s5, s6, s7];
    assert!(sums.iter().all(|&s| s == s1), "checksums differ: {sums:?}");
    let stats = gomem::stats();
    println!("binary-trees, depth {n} (median of 3, one thread):");
    println!("  Box        {:>8.3} s  1.00x", boxed.as_secs_f64());
    for (name, t) in [
        ("Rc", rc),
        ("gomem::Gc", gc),
        ("bumpalo", bump),
        ("dumpster", dumpster),
        ("gc-arena", arena),
        ("rust-gc", rust_gc),
    ] {
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
    // None of them is a candidate (none lost a handle), so this one examines nothing.
    let live: Vec<Gc<GcTree>> = (0..1_000_000).map(|_| Gc::new(GcTree(None))).collect();
    let start = Instant::now();
    gomem::collect();
    println!(
        "  one blocking collect() with {} live objects: {:?}",
        live.len(),
        start.elapsed()
    );
}
