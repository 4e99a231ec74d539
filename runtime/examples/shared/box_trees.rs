//! binary-trees with `Box` (the Benchmarks Game's program, single-threaded), shared by the
//! `alloc_overhead` examples so that each global allocator runs the same code.

use std::time::{Duration, Instant};

struct Node(Option<(Box<Node>, Box<Node>)>);

fn make(depth: u32) -> Node {
    Node((depth > 0).then(|| (Box::new(make(depth - 1)), Box::new(make(depth - 1)))))
}

fn check(node: &Node) -> u32 {
    1 + node.0.as_ref().map_or(0, |(l, r)| check(l) + check(r))
}

/// Runs binary-trees at depth `n`; its wall time and checksum.
pub fn run(n: u32) -> (Duration, u64) {
    let start = Instant::now();
    let max_depth = n.max(6);
    let mut sum = u64::from(check(&make(max_depth + 1)));
    let long_lived = make(max_depth);
    for depth in (4..=max_depth).step_by(2) {
        let iterations = 1u32 << (max_depth - depth + 4);
        for _ in 0..iterations {
            sum += u64::from(check(&make(depth)));
        }
    }
    sum += u64::from(check(&long_lived));
    (start.elapsed(), sum)
}

/// Prints one line for the bench script: `<label> <seconds> <checksum>`.
pub fn main(label: &str) {
    let n = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(19);
    let (time, sum) = run(n);
    println!("{label} {:.4} {sum}", time.as_secs_f64());
}
