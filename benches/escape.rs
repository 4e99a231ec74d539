//! `#[gomem::escape]` against the same code without it and against hand-written bumpalo
//! code, side by side in one process (the machine is noisy: compare the ratios).
//!
//! Run: `cargo bench --bench escape` (add `-- <rounds>` for more rounds).
//!
//! Each workload is written once in a macro, so the annotated and plain versions are the
//! same tokens; the hand-written version uses a `bumpalo::Bump` that the caller resets.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bumpalo::collections::{String as BString, Vec as BVec};
use bumpalo::Bump;

/// A tokenizer that copies each token into its own temporary String, and keeps a Vec of
/// token kinds and a formatted key per line.
macro_rules! tokenizer {
    ($(#[$attr:meta])* fn $name:ident) => {
        $(#[$attr])*
        fn $name(src: &str) -> usize {
            let mut total = 0;
            for line in src.lines() {
                let mut kinds = Vec::new();
                let mut start = None;
                for (i, c) in line.char_indices().chain(std::iter::once((line.len(), ' '))) {
                    if c.is_alphanumeric() || c == '_' {
                        start.get_or_insert(i);
                        continue;
                    }
                    if let Some(s) = start.take() {
                        let mut token = String::new();
                        token.push_str(&line[s..i]);
                        kinds.push(if token.starts_with(char::is_numeric) { b'0' } else { b'w' });
                        total += token.len();
                    }
                    if !c.is_whitespace() {
                        kinds.push(c as u8);
                    }
                }
                let key = format!("{}", kinds.len());
                total += key.len() + kinds.len();
            }
            total
        }
    };
}

tokenizer!(#[gomem::escape] fn tokenize_annotated);
tokenizer!(fn tokenize_plain);

fn tokenize_bump(src: &str, bump: &Bump) -> usize {
    let mut total = 0;
    for line in src.lines() {
        let mut kinds = BVec::new_in(bump);
        let mut start = None;
        for (i, c) in line
            .char_indices()
            .chain(std::iter::once((line.len(), ' ')))
        {
            if c.is_alphanumeric() || c == '_' {
                start.get_or_insert(i);
                continue;
            }
            if let Some(s) = start.take() {
                let mut token = BString::new_in(bump);
                token.push_str(&line[s..i]);
                kinds.push(if token.starts_with(char::is_numeric) {
                    b'0'
                } else {
                    b'w'
                });
                total += token.len();
            }
            if !c.is_whitespace() {
                kinds.push(c as u8);
            }
        }
        let key = bumpalo::format!(in bump, "{}", kinds.len());
        total += key.len() + kinds.len();
    }
    total
}

/// Builds and discards a small tree per call: leaves grouped into nodes of `fanout` values,
/// nodes into branches of `fanout` nodes, branches under a root; then a walk over it.
macro_rules! tree {
    ($(#[$attr:meta])* fn $name:ident) => {
        $(#[$attr])*
        fn $name(leaves: &[u32], fanout: usize) -> u64 {
            let mut root = Vec::new();
            for twigs in leaves.chunks(fanout * fanout) {
                let mut branch = Vec::new();
                for group in twigs.chunks(fanout) {
                    let mut node = Vec::with_capacity(fanout);
                    for &x in group {
                        node.push(x as u64);
                    }
                    branch.push(node);
                }
                root.push(branch);
            }
            let mut total = 0;
            for twig in &root {
                for leaf in twig {
                    total += leaf.iter().sum::<u64>() * leaf.len() as u64;
                }
            }
            total
        }
    };
}

tree!(#[gomem::escape] fn tree_annotated);
tree!(fn tree_plain);

fn tree_bump(leaves: &[u32], fanout: usize, bump: &Bump) -> u64 {
    let mut root = BVec::new_in(bump);
    for twigs in leaves.chunks(fanout * fanout) {
        let mut branch = BVec::new_in(bump);
        for group in twigs.chunks(fanout) {
            let mut node = BVec::with_capacity_in(fanout, bump);
            for &x in group {
                node.push(x as u64);
            }
            branch.push(node);
        }
        root.push(branch);
    }
    let mut total = 0;
    for twig in &root {
        for leaf in twig {
            total += leaf.iter().sum::<u64>() * leaf.len() as u64;
        }
    }
    total
}

/// A sum tree computed level by level, with a two-element `vec!` per node. A look-alike
/// that shows a limit: LLVM removes the plain version's `vec![a, b]` allocations outright
/// (they never leave the loop body), so here the arena has nothing to save and only adds
/// its own work.
macro_rules! levels {
    ($(#[$attr:meta])* fn $name:ident) => {
        $(#[$attr])*
        fn $name(leaves: &[u32], depth: u32) -> u64 {
            let mut total = 0u64;
            for d in 0..depth {
                let width = leaves.len() >> (d + 1);
                let mut level = Vec::with_capacity(width);
                for i in 0..width {
                    let children = vec![leaves[2 * i] as u64 + d as u64, leaves[2 * i + 1] as u64];
                    level.push(children.iter().sum::<u64>());
                }
                total += level.iter().sum::<u64>();
            }
            total
        }
    };
}

levels!(#[gomem::escape] fn levels_annotated);
levels!(fn levels_plain);

fn levels_bump(leaves: &[u32], depth: u32, bump: &Bump) -> u64 {
    let mut total = 0u64;
    for d in 0..depth {
        let width = leaves.len() >> (d + 1);
        let mut level = BVec::with_capacity_in(width, bump);
        for i in 0..width {
            let mut children = BVec::with_capacity_in(2, bump);
            children.push(leaves[2 * i] as u64 + d as u64);
            children.push(leaves[2 * i + 1] as u64);
            level.push(children.iter().sum::<u64>());
        }
        total += level.iter().sum::<u64>();
    }
    total
}

/// The median time per call of `f` over `rounds` rounds of `calls` calls.
fn median(rounds: usize, calls: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..calls {
                f();
            }
            start.elapsed() / calls as u32
        })
        .collect();
    times.sort();
    times[rounds / 2]
}

fn report(name: &str, plain: Duration, annotated: Duration, bump: Duration) {
    println!(
        "{name:<10} plain {plain:>10.2?}  annotated {annotated:>10.2?}  hand-written bumpalo {bump:>10.2?}  \
         plain/annotated {:.2}x  annotated/bumpalo {:.2}x",
        plain.as_secs_f64() / annotated.as_secs_f64(),
        annotated.as_secs_f64() / bump.as_secs_f64(),
    );
}

fn main() {
    let rounds = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(15);
    let src = include_str!("../analyzer/src/escape/mod.rs");
    assert_eq!(tokenize_annotated(src), tokenize_plain(src));
    let mut bump = Bump::new();
    assert_eq!(tokenize_bump(src, &bump), tokenize_plain(src));
    bump.reset();

    let leaves: Vec<u32> = (0..256).collect();
    assert_eq!(tree_annotated(&leaves, 4), tree_plain(&leaves, 4));
    assert_eq!(tree_bump(&leaves, 4, &bump), tree_plain(&leaves, 4));
    assert_eq!(levels_annotated(&leaves, 8), levels_plain(&leaves, 8));
    assert_eq!(levels_bump(&leaves, 8, &bump), levels_plain(&leaves, 8));

    let mut small = Bump::new();
    // Interleave the three of each workload in every round so that noise hits them alike.
    let mut t = [Vec::new(), Vec::new(), Vec::new()];
    let mut g = [Vec::new(), Vec::new(), Vec::new()];
    let mut l = [Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..rounds {
        t[0].push(median(1, 20, || {
            black_box(tokenize_plain(black_box(src)));
        }));
        t[1].push(median(1, 20, || {
            black_box(tokenize_annotated(black_box(src)));
        }));
        t[2].push(median(1, 20, || {
            bump.reset();
            black_box(tokenize_bump(black_box(src), &bump));
        }));
        g[0].push(median(1, 2000, || {
            black_box(tree_plain(black_box(&leaves), 4));
        }));
        g[1].push(median(1, 2000, || {
            black_box(tree_annotated(black_box(&leaves), 4));
        }));
        g[2].push(median(1, 2000, || {
            small.reset();
            black_box(tree_bump(black_box(&leaves), 4, &small));
        }));
        l[0].push(median(1, 2000, || {
            black_box(levels_plain(black_box(&leaves), 8));
        }));
        l[1].push(median(1, 2000, || {
            black_box(levels_annotated(black_box(&leaves), 8));
        }));
        l[2].push(median(1, 2000, || {
            small.reset();
            black_box(levels_bump(black_box(&leaves), 8, &small));
        }));
    }
    let mid = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    println!("{rounds} rounds; median time per call");
    let [a, b, c] = &mut t;
    report("tokenize", mid(a), mid(b), mid(c));
    let [a, b, c] = &mut g;
    report("tree", mid(a), mid(b), mid(c));
    let [a, b, c] = &mut l;
    report("levels", mid(a), mid(b), mid(c));
}
