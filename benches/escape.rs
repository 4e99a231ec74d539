//! `#[gomem::escape]` against the same code without it and against hand-written bumpalo
//! code, side by side in one process (the machine is noisy: compare the ratios).
//!
//! Run: `cargo bench --bench escape` (add `-- <rounds>` for more rounds).
//!
//! Each workload is written once in a macro, so the annotated and plain versions are the
//! same tokens; the hand-written versions use a `bumpalo::Bump` reset before each call, once
//! with the vector the arena uses (`gomem::arena::Vec`, "by hand") and once with bumpalo's
//! own `collections::Vec` ("by hand*"). The tree workload runs at three fanouts: the smaller
//! the nodes, the larger malloc's share of the plain version's time.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bumpalo::collections::{String as BString, Vec as BVec};
use bumpalo::Bump;
use gomem::arena::Vec as AVec;

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

/// The tokenizer written by hand against a bump (reset by the caller), with `$vec` for its
/// vectors: the arena's own (`gomem::arena::Vec`) or bumpalo's
/// `collections::Vec`, to show what the choice of vector costs.
macro_rules! tokenizer_by_hand {
    (fn $name:ident, $($vec:ident)::+) => {
        fn $name(src: &str, bump: &Bump) -> usize {
            let mut total = 0;
            for line in src.lines() {
                let mut kinds = $($vec)::+::new_in(bump);
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
    };
}

tokenizer_by_hand!(fn tokenize_bump, AVec);
tokenizer_by_hand!(fn tokenize_bumpalo_vec, BVec);

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

/// The tree written by hand against a bump, as [`tokenizer_by_hand`] is.
macro_rules! tree_by_hand {
    (fn $name:ident, $($vec:ident)::+) => {
        fn $name(leaves: &[u32], fanout: usize, bump: &Bump) -> u64 {
            let mut root = $($vec)::+::new_in(bump);
            for twigs in leaves.chunks(fanout * fanout) {
                let mut branch = $($vec)::+::new_in(bump);
                for group in twigs.chunks(fanout) {
                    let mut node = $($vec)::+::with_capacity_in(fanout, bump);
                    for &x in group {
                        node.push(x as u64);
                    }
                    branch.push(node);
                }
                root.push(branch);
            }
            let mut total = 0;
            for twig in root.iter() {
                for leaf in twig.iter() {
                    total += leaf.iter().sum::<u64>() * leaf.len() as u64;
                }
            }
            total
        }
    };
}

tree_by_hand!(fn tree_bump, AVec);
tree_by_hand!(fn tree_bumpalo_vec, BVec);

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

/// The level sums written by hand against a bump, as [`tokenizer_by_hand`] is.
macro_rules! levels_by_hand {
    (fn $name:ident, $($vec:ident)::+) => {
        fn $name(leaves: &[u32], depth: u32, bump: &Bump) -> u64 {
            let mut total = 0u64;
            for d in 0..depth {
                let width = leaves.len() >> (d + 1);
                let mut level = $($vec)::+::with_capacity_in(width, bump);
                for i in 0..width {
                    let mut children = $($vec)::+::with_capacity_in(2, bump);
                    children.push(leaves[2 * i] as u64 + d as u64);
                    children.push(leaves[2 * i + 1] as u64);
                    level.push(children.iter().sum::<u64>());
                }
                total += level.iter().sum::<u64>();
            }
            total
        }
    };
}

levels_by_hand!(fn levels_bump, AVec);
levels_by_hand!(fn levels_bumpalo_vec, BVec);

/// The time per call of `f` over one round of `calls` calls (the medians are taken over
/// the rounds, in `main`).
fn per_call(calls: usize, f: &mut dyn FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..calls {
        f();
    }
    start.elapsed() / calls as u32
}

/// One workload's four sides, each a closure that makes one call.
struct Workload<'a> {
    name: String,
    /// Calls per timed round (rounds of about a millisecond).
    calls: usize,
    sides: [Box<dyn FnMut() + 'a>; 4],
}

/// A closure that resets its own bump before each call of `f`: the hand-written sides.
fn by_hand<'a>(mut f: impl FnMut(&Bump) + 'a) -> Box<dyn FnMut() + 'a> {
    let mut bump = Bump::new();
    Box::new(move || {
        bump.reset();
        f(&bump);
    })
}

fn main() {
    let rounds = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(15);
    let src = include_str!("../analyzer/src/escape/mod.rs");
    let leaves: Vec<u32> = (0..256).collect();
    let bump = Bump::new();
    // All sides compute the same.
    assert_eq!(tokenize_annotated(src), tokenize_plain(src));
    assert_eq!(tokenize_bump(src, &bump), tokenize_plain(src));
    assert_eq!(tokenize_bumpalo_vec(src, &bump), tokenize_plain(src));
    for fanout in [2, 4, 8] {
        let plain = tree_plain(&leaves, fanout);
        assert_eq!(tree_annotated(&leaves, fanout), plain);
        assert_eq!(tree_bump(&leaves, fanout, &bump), plain);
        assert_eq!(tree_bumpalo_vec(&leaves, fanout, &bump), plain);
    }
    assert_eq!(levels_annotated(&leaves, 8), levels_plain(&leaves, 8));
    assert_eq!(levels_bump(&leaves, 8, &bump), levels_plain(&leaves, 8));
    assert_eq!(
        levels_bumpalo_vec(&leaves, 8, &bump),
        levels_plain(&leaves, 8)
    );

    let (src, leaves) = (black_box(src), black_box(&leaves[..]));
    let mut workloads = vec![Workload {
        name: "tokenize".into(),
        calls: 20,
        sides: [
            Box::new(|| _ = black_box(tokenize_plain(src))),
            Box::new(|| _ = black_box(tokenize_annotated(src))),
            by_hand(|b| _ = black_box(tokenize_bump(src, b))),
            by_hand(|b| _ = black_box(tokenize_bumpalo_vec(src, b))),
        ],
    }];
    for fanout in [2, 4, 8] {
        workloads.push(Workload {
            name: format!("tree/{fanout}"),
            calls: 2000,
            sides: [
                Box::new(move || _ = black_box(tree_plain(leaves, fanout))),
                Box::new(move || _ = black_box(tree_annotated(leaves, fanout))),
                by_hand(move |b| _ = black_box(tree_bump(leaves, fanout, b))),
                by_hand(move |b| _ = black_box(tree_bumpalo_vec(leaves, fanout, b))),
            ],
        });
    }
    workloads.push(Workload {
        name: "levels".into(),
        calls: 2000,
        sides: [
            Box::new(|| _ = black_box(levels_plain(leaves, 8))),
            Box::new(|| _ = black_box(levels_annotated(leaves, 8))),
            by_hand(|b| _ = black_box(levels_bump(leaves, 8, b))),
            by_hand(|b| _ = black_box(levels_bumpalo_vec(leaves, 8, b))),
        ],
    });

    // Interleave the sides of each workload in every round so that noise hits them alike.
    let mut times = vec![[(); 4].map(|_| Vec::new()); workloads.len()];
    for _ in 0..rounds {
        for (w, t) in workloads.iter_mut().zip(&mut times) {
            for (side, t) in w.sides.iter_mut().zip(t.iter_mut()) {
                t.push(per_call(w.calls, side));
            }
        }
    }
    println!("{rounds} rounds; median time per call");
    println!(
        "{:<10} {:>10} {:>10} {:>10} {:>10}  {:>15} {:>15}",
        "workload",
        "plain",
        "annotated",
        "by hand",
        "by hand*",
        "plain/annotated",
        "annotated/hand"
    );
    for (w, t) in workloads.iter().zip(&mut times) {
        let [plain, annotated, hand, hand_bumpalo] = t.each_mut().map(|v| {
            v.sort();
            v[v.len() / 2]
        });
        println!(
            "{:<10} {:>10.2?} {:>10.2?} {:>10.2?} {:>10.2?}  {:>14.2}x {:>14.2}x",
            w.name,
            plain,
            annotated,
            hand,
            hand_bumpalo,
            plain.as_secs_f64() / annotated.as_secs_f64(),
            annotated.as_secs_f64() / hand.as_secs_f64(),
        );
    }
    println!(
        "by hand: bumpalo with the arena's vector (gomem::arena::Vec); \
         by hand*: bumpalo's own collections::Vec"
    );
}
