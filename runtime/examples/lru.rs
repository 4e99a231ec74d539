//! A mutation-heavy benchmark: a doubly-linked LRU cache under a random workload, with
//! `gomem::Gc` (both links strong, rewired through `GcCell`; evicted nodes keep their links
//! and are freed by the collector) against `Rc`/`Weak` (back links weak, as `Rc` requires).
//!
//!     cargo run --release -p gomem-runtime --example lru -- 2000000
//!
//! Prints the median time of 3 runs of each and the collector's statistics.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};
use std::time::{Duration, Instant};

extern crate gomem_runtime as gomem;
use gomem::{Gc, GcCell};
use gomem_macros::Trace;

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

#[derive(Trace)]
struct GcNode {
    key: u64,
    value: u64,
    prev: GcCell<Option<Gc<GcNode>>>,
    next: GcCell<Option<Gc<GcNode>>>,
}

struct GcLru {
    map: HashMap<u64, Gc<GcNode>>,
    head: Option<Gc<GcNode>>,
    tail: Option<Gc<GcNode>>,
}

impl GcLru {
    fn unlink(&mut self, n: &Gc<GcNode>) {
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

    fn push_front(&mut self, n: Gc<GcNode>) {
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
            let old = self.tail.clone().expect("a full cache has a tail");
            self.unlink(&old);
            self.map.remove(&old.key);
            // The evicted node keeps its links to live nodes: the collector frees it.
        }
        let n = Gc::new(GcNode {
            key,
            value,
            prev: GcCell::new(None),
            next: GcCell::new(None),
        });
        self.map.insert(key, n.clone());
        self.push_front(n);
    }
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

fn median(f: impl Fn() -> u64) -> (Duration, u64) {
    let mut times = Vec::new();
    let mut out = 0;
    for _ in 0..3 {
        let start = Instant::now();
        out = f();
        times.push(start.elapsed());
    }
    times.sort();
    (times[1], out)
}

fn main() {
    let ops: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_000_000);
    let (rc, rc_hits) = median(|| {
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
    });
    let before = gomem::stats();
    let (gc, gc_hits) = median(|| {
        let lru = RefCell::new(GcLru {
            map: HashMap::new(),
            head: None,
            tail: None,
        });
        workload(
            ops,
            |k| lru.borrow_mut().get(k),
            |k, v| lru.borrow_mut().put(k, v),
        )
    });
    assert_eq!(rc_hits, gc_hits, "both caches must behave the same");
    // Each dropped cache is one big cycle (its links are all strong): collected here, or by
    // pacing once the heap grows past its goal.
    let start = Instant::now();
    gomem::collect();
    let final_pause = start.elapsed();
    let after = gomem::stats();
    println!("LRU cache, {CAPACITY} entries, {ops} operations on {KEYS} keys (median of 3):");
    println!("  Rc/Weak     {:>8.3} s  1.00x", rc.as_secs_f64());
    println!(
        "  gomem::Gc   {:>8.3} s  {:.2}x",
        gc.as_secs_f64(),
        gc.as_secs_f64() / rc.as_secs_f64()
    );
    println!(
        "  gomem: {} collections ({} objects of dropped caches collected, the last in {:?}), heap now {} objects",
        after.num_gc - before.num_gc,
        after.collected_objects - before.collected_objects,
        final_pause,
        after.heap_objects
    );
}
