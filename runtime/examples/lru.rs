//! A mutation-heavy benchmark: a doubly-linked LRU cache under a random workload, with
//! `gomem::Gc` (both links strong, rewired through `GcCell`; evicted nodes keep their links
//! and are freed by the collector) against dumpster's `Gc` (the same code, through
//! `RefCell`) and `Rc`/`Weak` (back links weak, as `Rc` requires).
//!
//!     cargo run --release -p gomem-runtime --example lru -- 2000000
//!
//! Prints the median time of 3 runs of each, in wall-clock and in thread CPU time, and the
//! collector's statistics. `-- OPS rc` or `-- OPS gomem` runs one cache once, alone in its
//! process, for `perf stat -e task-clock` (alternate the two).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};
use std::time::{Duration, Instant};

#[path = "shared/thread_cpu.rs"]
mod thread_cpu;
use thread_cpu::thread_cpu;

const CAPACITY: usize = 10_000;
const KEYS: u64 = 40_000;

/// A small deterministic generator (xorshift), so both caches see the same workload.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// A cache whose links are all strong, rewired through a cell; evicted nodes keep their
/// links and are left to the collector. Written once for gomem's `Gc`/`GcCell` and once
/// for dumpster's `Gc`/`RefCell`.
macro_rules! collected_lru {
    ($lru:ident, $node:ident, $gc:ident, $cell:ident) => {
        #[derive(Trace)]
        pub struct $node {
            key: u64,
            value: u64,
            prev: $cell<Option<$gc<$node>>>,
            next: $cell<Option<$gc<$node>>>,
        }

        pub struct $lru {
            map: HashMap<u64, $gc<$node>>,
            head: Option<$gc<$node>>,
            tail: Option<$gc<$node>>,
        }

        impl $lru {
            pub fn new() -> Self {
                $lru {
                    map: HashMap::new(),
                    head: None,
                    tail: None,
                }
            }

            fn unlink(&mut self, n: &$gc<$node>) {
                let prev = n.prev.borrow().clone();
                let next = n.next.borrow().clone();
                match &prev {
                    Some(p) => *p.next.borrow_mut() = next.clone(),
                    None => self.head = next.clone(),
                }
                match &next {
                    Some(x) => *x.prev.borrow_mut() = prev.clone(),
                    None => self.tail = prev,
                }
            }

            fn push_front(&mut self, n: $gc<$node>) {
                *n.prev.borrow_mut() = None;
                *n.next.borrow_mut() = self.head.clone();
                if let Some(h) = &self.head {
                    *h.prev.borrow_mut() = Some(n.clone());
                }
                if self.tail.is_none() {
                    self.tail = Some(n.clone());
                }
                self.head = Some(n);
            }

            pub fn get(&mut self, key: u64) -> Option<u64> {
                let n = self.map.get(&key)?.clone();
                self.unlink(&n);
                let v = n.value;
                self.push_front(n);
                Some(v)
            }

            pub fn put(&mut self, key: u64, value: u64) {
                if let Some(n) = self.map.get(&key).cloned() {
                    self.unlink(&n);
                    self.push_front(n);
                    return;
                }
                if self.map.len() == CAPACITY {
                    let old = self.tail.clone().expect("a full cache has a tail");
                    self.unlink(&old);
                    self.map.remove(&old.key);
                    // The evicted node keeps its links to live nodes: the collector frees it.
                }
                let n = $gc::new($node {
                    key,
                    value,
                    prev: $cell::new(None),
                    next: $cell::new(None),
                });
                self.map.insert(key, n.clone());
                self.push_front(n);
            }
        }
    };
}

mod gomem_lru {
    use super::{HashMap, CAPACITY};
    use gomem::Trace;
    use gomem::{Gc, GcCell};

    collected_lru!(GcLru, GcNode, Gc, GcCell);
}

mod dumpster_lru {
    use super::{HashMap, CAPACITY};
    use dumpster::unsync::Gc;
    use dumpster::Trace;
    use std::cell::RefCell;

    collected_lru!(DumpsterLru, DumpsterNode, Gc, RefCell);
}

struct RcNode {
    key: u64,
    value: u64,
    prev: RefCell<Weak<RcNode>>,
    next: RefCell<Option<Rc<RcNode>>>,
}

struct RcLru {
    map: HashMap<u64, Rc<RcNode>>,
    head: Option<Rc<RcNode>>,
    tail: Weak<RcNode>,
}

impl RcLru {
    fn unlink(&mut self, n: &Rc<RcNode>) {
        let prev = n.prev.borrow().upgrade();
        let next = n.next.borrow_mut().take();
        match &prev {
            Some(p) => *p.next.borrow_mut() = next.clone(),
            None => self.head = next.clone(),
        }
        match &next {
            Some(x) => *x.prev.borrow_mut() = prev.as_ref().map_or_else(Weak::new, Rc::downgrade),
            None => self.tail = prev.as_ref().map_or_else(Weak::new, Rc::downgrade),
        }
    }

    fn push_front(&mut self, n: Rc<RcNode>) {
        *n.prev.borrow_mut() = Weak::new();
        *n.next.borrow_mut() = self.head.clone();
        if let Some(h) = &self.head {
            *h.prev.borrow_mut() = Rc::downgrade(&n);
        }
        if self.tail.upgrade().is_none() {
            self.tail = Rc::downgrade(&n);
        }
        self.head = Some(n);
    }

    fn get(&mut self, key: u64) -> Option<u64> {
        let n = self.map.get(&key)?.clone();
        self.unlink(&n);
        let v = n.value;
        self.push_front(n);
        Some(v)
    }

    fn put(&mut self, key: u64, value: u64) {
        if let Some(n) = self.map.get(&key).cloned() {
            self.unlink(&n);
            self.push_front(n);
            return;
        }
        if self.map.len() == CAPACITY {
            let old = self.tail.upgrade().expect("a full cache has a tail");
            self.unlink(&old);
            self.map.remove(&old.key);
        }
        let n = Rc::new(RcNode {
            key,
            value,
            prev: RefCell::new(Weak::new()),
            next: RefCell::new(None),
        });
        self.map.insert(key, n.clone());
        self.push_front(n);
    }
}

fn workload(
    ops: u64,
    mut get: impl FnMut(u64) -> Option<u64>,
    mut put: impl FnMut(u64, u64),
) -> u64 {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut hits = 0;
    for i in 0..ops {
        let key = rng.next() % KEYS;
        if rng.next().is_multiple_of(4) {
            put(key, i);
        } else if get(key).is_some() {
            hits += 1;
        }
    }
    hits
}

/// The median wall time and the median CPU time of 3 runs, and the result.
fn median(f: impl Fn() -> u64) -> (Duration, Duration, u64) {
    let mut times = Vec::new();
    let mut cpus = Vec::new();
    let mut out = 0;
    for _ in 0..3 {
        let start = Instant::now();
        let cpu = thread_cpu();
        out = f();
        cpus.push(thread_cpu() - cpu);
        times.push(start.elapsed());
    }
    times.sort();
    cpus.sort();
    (times[1], cpus[1], out)
}

/// The workload on the `Rc`/`Weak` cache; its hits.
fn run_rc(ops: u64) -> u64 {
    let lru = RefCell::new(RcLru {
        map: HashMap::new(),
        head: None,
        tail: Weak::new(),
    });
    workload(
        ops,
        |k| lru.borrow_mut().get(k),
        |k, v| lru.borrow_mut().put(k, v),
    )
}

/// The workload on the `Gc` cache; its hits.
fn run_gomem(ops: u64) -> u64 {
    let lru = RefCell::new(gomem_lru::GcLru::new());
    workload(
        ops,
        |k| lru.borrow_mut().get(k),
        |k, v| lru.borrow_mut().put(k, v),
    )
}

fn main() {
    let ops: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_000_000);
    // `lru OPS rc` or `lru OPS gomem`: one run of one cache, alone in its process, for
    // `perf stat` (in one process the caches share the allocator's and the heap's state).
    if let Some(only) = std::env::args().nth(2) {
        let hits = match only.as_str() {
            "rc" => run_rc(ops),
            "gomem" => run_gomem(ops),
            other => panic!("unknown cache {other:?}: rc or gomem"),
        };
        println!("{only}: {hits} hits");
        return;
    }
    let (rc, rc_cpu, rc_hits) = median(|| run_rc(ops));
    let before = gomem::stats();
    let (gc, gc_cpu, gc_hits) = median(|| run_gomem(ops));
    assert_eq!(rc_hits, gc_hits, "the caches must behave the same");
    let (dumpster, dumpster_cpu, dumpster_hits) = median(|| {
        let lru = RefCell::new(dumpster_lru::DumpsterLru::new());
        let hits = workload(
            ops,
            |k| lru.borrow_mut().get(k),
            |k, v| lru.borrow_mut().put(k, v),
        );
        drop(lru);
        dumpster::unsync::collect();
        hits
    });
    assert_eq!(rc_hits, dumpster_hits, "the caches must behave the same");
    // Each dropped cache is one big cycle (its links are all strong): collected here, or by
    // pacing once the heap grows past its goal.
    let start = Instant::now();
    gomem::collect();
    let final_pause = start.elapsed();
    let after = gomem::stats();
    println!(
        "LRU cache, {CAPACITY} entries, {ops} operations on {KEYS} keys (median of 3, wall clock and thread CPU time):"
    );
    let row = |name: &str, wall: Duration, cpu: Duration| {
        println!(
            "  {name:<11} {:>8.3} s  {:.2}x   cpu {:>8.3} s  {:.2}x",
            wall.as_secs_f64(),
            wall.as_secs_f64() / rc.as_secs_f64(),
            cpu.as_secs_f64(),
            cpu.as_secs_f64() / rc_cpu.as_secs_f64().max(1e-9)
        )
    };
    row("Rc/Weak", rc, rc_cpu);
    row("gomem::Gc", gc, gc_cpu);
    row("dumpster", dumpster, dumpster_cpu);
    println!(
        "  gomem: {} collections ({} objects of dropped caches collected, the last in {:?}), heap now {} objects",
        after.num_gc - before.num_gc,
        after.collected_objects - before.collected_objects,
        final_pause,
        after.heap_objects
    );
}
