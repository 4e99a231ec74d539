//! The collector's contract: every value is dropped exactly once, when its last handle goes
//! or when a collection finds it unreachable, and never while anything can reach it.

extern crate gomem_runtime as gomem;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gomem::{collect, set_gc_percent, stats, Gc, GcCell, Trace, Tracer};
use gomem_macros::Trace;

thread_local! {
    static DROPS: Cell<usize> = const { Cell::new(0) };
}

fn drops() -> usize {
    DROPS.with(Cell::get)
}

/// Counts its drops; holds no handle.
struct Counted;

impl Drop for Counted {
    fn drop(&mut self) {
        DROPS.with(|d| d.set(d.get() + 1));
    }
}

// SAFETY: holds no handle.
unsafe impl Trace for Counted {
    fn trace(&self, _: &mut Tracer) {}
}

#[derive(Trace)]
struct Node {
    id: u32,
    next: GcCell<Option<Gc<Node>>>,
    counted: Counted,
}

fn node(id: u32) -> Gc<Node> {
    Gc::new(Node {
        id,
        next: GcCell::new(None),
        counted: Counted,
    })
}

#[test]
fn acyclic_values_are_freed_by_their_last_handle() {
    let before = drops();
    let a = node(1);
    let b = a.clone();
    drop(a);
    assert_eq!(drops(), before);
    assert_eq!(b.id, 1);
    drop(b);
    assert_eq!(drops(), before + 1);
}

#[test]
fn cycles_are_collected_once_unreachable() {
    let before = drops();
    let objects = stats().heap_objects;
    let a = node(1);
    let b = node(2);
    *a.next.borrow_mut() = Some(b.clone());
    *b.next.borrow_mut() = Some(a.clone());
    collect();
    assert_eq!(drops(), before, "reachable from locals: kept");
    assert_eq!(a.next.borrow().as_ref().unwrap().id, 2);
    drop((a, b));
    assert_eq!(drops(), before, "a cycle is not freed by counts");
    collect();
    assert_eq!(drops(), before + 2);
    assert_eq!(stats().heap_objects, objects);
}

#[test]
fn handles_in_ordinary_containers_are_roots() {
    let before = drops();
    let mut held: Vec<Gc<Node>> = Vec::new();
    let boxed: Box<Option<Gc<Node>>>;
    {
        let a = node(1);
        let b = node(2);
        *a.next.borrow_mut() = Some(b.clone());
        *b.next.borrow_mut() = Some(a.clone());
        held.push(a);
        boxed = Box::new(Some(b));
    }
    let shared: Rc<Gc<Node>> = Rc::new(node(3));
    *shared.next.borrow_mut() = Some(shared.as_ref().clone());
    collect();
    collect();
    assert_eq!(drops(), before);
    assert_eq!(held[0].next.borrow().as_ref().unwrap().id, 2);
    assert_eq!(boxed.as_ref().as_ref().unwrap().id, 2);
    assert_eq!(shared.id, 3);
    drop(held);
    collect();
    assert_eq!(drops(), before, "still reachable through the box");
    drop(boxed);
    collect();
    assert_eq!(drops(), before + 2);
    // A cycle through itself, held by an `Rc` (which the collector does not look into):
    // freed once the `Rc` goes and the cycle is collected.
    drop(shared);
    collect();
    assert_eq!(drops(), before + 3);
}

#[test]
fn a_mutably_borrowed_cell_keeps_what_it_holds_and_other_garbage_is_freed() {
    let before = drops();
    let a = node(1);
    *a.next.borrow_mut() = Some(a.clone());
    let garbage = node(3);
    *garbage.next.borrow_mut() = Some(garbage.clone());
    drop(garbage);
    let keep = node(2);
    *keep.next.borrow_mut() = Some(a.clone());
    drop(a);
    {
        let mut guard = keep.next.borrow_mut();
        collect();
        assert_eq!(drops(), before + 1, "only the unreachable cycle is freed");
        // Taken out of the cell while it is borrowed: held from outside now.
        let a = guard.take().expect("still there");
        drop(guard);
        collect();
        assert_eq!(drops(), before + 1);
        assert_eq!(a.id, 1);
    }
    collect();
    assert_eq!(drops(), before + 2);
    drop(keep);
}

#[test]
fn pacing_collects_garbage_cycles_as_the_heap_grows() {
    let old = set_gc_percent(100);
    let before = stats();
    for i in 0..200_000 {
        let a = node(i);
        *a.next.borrow_mut() = Some(a.clone());
    }
    let after = stats();
    assert!(
        after.collected_objects > before.collected_objects,
        "cycles freed while the program runs: {after:?}"
    );
    assert!(
        after.heap_bytes <= 2 * after.next_gc.max(4 << 20),
        "the heap stays near its goal: {after:?}"
    );
    collect();
    set_gc_percent(old);
}

#[test]
fn pacing_off_means_no_automatic_collection() {
    let old = set_gc_percent(-1);
    let before = stats().num_gc;
    for i in 0..100_000 {
        let a = node(i);
        *a.next.borrow_mut() = Some(a.clone());
    }
    assert_eq!(stats().num_gc, before);
    collect();
    assert!(stats().num_gc > before);
    set_gc_percent(old);
}

#[test]
fn stats_count_objects_and_bytes() {
    let s0 = stats();
    let a = node(1);
    let s1 = stats();
    assert_eq!(s1.heap_objects, s0.heap_objects + 1);
    assert!(s1.heap_bytes > s0.heap_bytes);
    assert_eq!(s1.total_alloc_objects, s0.total_alloc_objects + 1);
    drop(a);
    assert_eq!(stats().heap_objects, s0.heap_objects);
}

/// A destructor that keeps a handle to another object of the collected cycle.
struct Stash {
    target: GcCell<Option<Gc<Holder>>>,
}

thread_local! {
    static STASHED: RefCell<Vec<Gc<Holder>>> = const { RefCell::new(Vec::new()) };
}

impl Drop for Stash {
    fn drop(&mut self) {
        if let Some(g) = self.target.borrow_mut().take() {
            STASHED.with(|s| s.borrow_mut().push(g));
        }
    }
}

// SAFETY: reports its one handle once.
unsafe impl Trace for Stash {
    fn trace(&self, tracer: &mut Tracer) {
        self.target.trace(tracer);
    }
}

#[derive(Trace)]
struct Holder {
    stash: Stash,
}

#[test]
fn a_handle_kept_by_a_destructor_panics_instead_of_dangling() {
    let a = Gc::new(Holder {
        stash: Stash {
            target: GcCell::new(None),
        },
    });
    let b = Gc::new(Holder {
        stash: Stash {
            target: GcCell::new(Some(a.clone())),
        },
    });
    *a.stash.target.borrow_mut() = Some(b.clone());
    drop((a, b));
    collect();
    let kept = STASHED
        .with(|s| s.borrow_mut().pop())
        .expect("a destructor kept a handle");
    let used = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = &kept.stash;
    }));
    assert!(used.is_err(), "using a collected value panics");
    drop(kept); // frees the memory
    STASHED.with(|s| s.borrow_mut().clear());
}

#[test]
fn cycles_left_at_thread_exit_are_collected() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    struct CountedArc(Arc<AtomicUsize>);
    impl Drop for CountedArc {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    // SAFETY: holds no handle.
    unsafe impl Trace for CountedArc {
        fn trace(&self, _: &mut Tracer) {}
    }
    #[derive(Trace)]
    struct N {
        next: GcCell<Option<Gc<N>>>,
        c: CountedArc,
    }

    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    std::thread::spawn(move || {
        set_gc_percent(-1);
        let a = Gc::new(N {
            next: GcCell::new(None),
            c: CountedArc(c.clone()),
        });
        let b = Gc::new(N {
            next: GcCell::new(Some(a.clone())),
            c: CountedArc(c),
        });
        *a.next.borrow_mut() = Some(b);
    })
    .join()
    .unwrap();
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

#[derive(Trace)]
enum Tree<T: 'static> {
    Leaf(T),
    Node(Gc<Tree<T>>, Gc<Tree<T>>),
    Empty,
}

#[derive(Trace)]
struct Skipping {
    #[gomem(skip)]
    _not_traced: std::cell::Cell<u8>,
    kept: Gc<u32>,
}

#[test]
fn derive_handles_enums_generics_and_skipped_fields() {
    let leaf = Gc::new(Tree::Leaf(7u64));
    let t = Gc::new(Tree::Node(leaf.clone(), Gc::new(Tree::Empty)));
    collect();
    match &*t {
        Tree::Node(l, _) => assert!(matches!(&**l, Tree::Leaf(7))),
        _ => unreachable!(),
    }
    let s = Skipping {
        _not_traced: Cell::new(1),
        kept: Gc::new(5),
    };
    let g = Gc::new(s);
    collect();
    assert_eq!(*g.kept, 5);
}

#[test]
fn gc_forwards_comparisons_hashing_and_formatting() {
    let a = Gc::new(3u32);
    let b = Gc::new(3u32);
    assert_eq!(a, b);
    assert!(!Gc::ptr_eq(&a, &b));
    assert!(Gc::ptr_eq(&a, &a.clone()));
    assert_eq!(format!("{a} {a:?}"), "3 3");
    let mut set = std::collections::HashSet::new();
    set.insert(a);
    assert!(set.contains(&b));
}

/// The barrier shades a member of the running cycle (so the collector will trace it), then
/// its last handle goes before the cycle gets to it: the value is dropped at once, and the
/// collector must not touch its memory (under valgrind in CI, a read of freed memory fails
/// the run). Page objects and large ones are freed differently, so both are tried.
#[test]
fn an_object_shaded_then_released_during_a_cycle_is_not_touched() {
    fn scenario<T: Trace + 'static>(value: T) {
        let s0 = stats();
        let a = Gc::new(value);
        let live = node(7);
        drop(a.clone()); // a candidate
        gomem::__private::collect_step(1, true); // a cycle starts: `a` is a member
        assert!(stats().cycle_running);
        drop(a.clone()); // the deletion barrier shades `a`
        let before = drops();
        drop(a); // the last handle
        assert_eq!(drops(), before + 1, "dropped at once");
        gomem::__private::collect_step(usize::MAX, true);
        assert!(!stats().cycle_running);
        // The drop that shaded `a` buffered it for the next cycle, which frees its memory.
        collect();
        assert_eq!(live.id, 7);
        drop(live);
        assert_eq!(stats().heap_objects, s0.heap_objects, "both freed");
        assert_eq!(stats().heap_bytes, s0.heap_bytes);
    }
    scenario((Counted, GcCell::new(None::<Gc<Node>>)));
    // 64 KiB: a large object, from the global allocator.
    scenario(([0u64; 8192], Counted, GcCell::new(None::<Gc<Node>>)));
}

/// `GcCell` answers as `RefCell` does, so that `#[gomem::escape(gc)]` can put it in a
/// `RefCell`'s place: `try_borrow*` with std's errors, `take`, `swap`, `get_mut`.
#[test]
fn gc_cell_has_ref_cells_api() {
    let a = GcCell::new(vec![1]);
    let b = GcCell::new(vec![2, 3]);
    {
        let held = a.borrow_mut();
        assert!(a.try_borrow().is_err());
        assert!(a.try_borrow_mut().is_err());
        drop(held);
    }
    assert_eq!(*a.try_borrow().unwrap(), [1]);
    a.swap(&b);
    assert_eq!((a.borrow().len(), b.borrow().len()), (2, 1));
    assert_eq!(b.take(), [1]);
    assert!(b.borrow().is_empty());
    let mut c = GcCell::new(5);
    *c.get_mut() += 1;
    assert_eq!(c.into_inner(), 6);
    // Swapping a cell with itself panics, as `RefCell::swap` does.
    let same = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| a.swap(&a)));
    assert!(same.is_err());
}

/// Only objects whose count drops to a nonzero value become candidates, once each, and
/// never those whose type holds no handle (they cannot lie on a cycle).
#[test]
fn candidates_are_objects_that_lose_a_handle_and_may_be_on_a_cycle() {
    #[derive(Trace)]
    struct Leaf {
        name: String,
        sizes: Vec<(u32, Option<Box<u8>>)>,
    }
    collect();
    let before = stats().candidates;
    let leaf = Gc::new(Leaf {
        name: "leaf".into(),
        sizes: Vec::new(),
    });
    let leaf_name = leaf.name.len() + leaf.sizes.len();
    drop(leaf.clone());
    let string = Gc::new(String::from("a string"));
    drop(string.clone());
    assert_eq!(
        stats().candidates,
        before,
        "an acyclic type is never a candidate"
    );
    const { assert!(<Leaf as Trace>::ACYCLIC && !<Node as Trace>::ACYCLIC) };
    let n = node(1);
    drop(n.clone());
    drop(n.clone());
    assert_eq!(stats().candidates, before + 1, "buffered once");
    let fresh = node(2);
    drop(fresh);
    assert_eq!(
        stats().candidates,
        before + 1,
        "a last handle frees, buffers nothing"
    );
    collect();
    assert_eq!(stats().candidates, 0, "a full cycle takes every candidate");
    drop((leaf, string, n, leaf_name));
}

/// A young cycle leaves old objects alone, but a garbage cycle may run through one whose
/// only candidate is young: the young cycle must hand the old objects it reaches to the
/// next full cycle, or that garbage would never be found.
#[test]
fn a_young_cycle_hands_the_old_objects_it_reaches_to_the_full_cycle() {
    collect();
    let before = drops();
    let old = node(1);
    drop(old.clone()); // a candidate...
    collect(); // ...examined and found live: old from now on
    let young = node(2);
    *old.next.borrow_mut() = Some(young.clone());
    *young.next.borrow_mut() = Some(old); // moved: `old` loses no handle, is no candidate
    drop(young); // the garbage cycle's only candidate, young
    assert_eq!(stats().candidates, 1);
    gomem::__private::collect_step(usize::MAX, false); // a whole young cycle
    assert_eq!(
        drops(),
        before,
        "the young cycle leaves the old object alone"
    );
    assert_eq!(stats().candidates, 1, "and buffers it for the full cycle");
    collect();
    assert_eq!(drops(), before + 2, "which frees the cycle");
}

/// A candidate whose last handle goes leaves its buffer and is freed at once, memory and
/// all, rather than pinned until a cycle takes it (which made an LRU cache twice as slow).
#[test]
fn a_candidate_whose_last_handle_goes_is_freed_at_once() {
    collect();
    let s0 = stats();
    let a = node(1);
    drop(a.clone()); // a candidate
    assert_eq!(stats().candidates, s0.candidates + 1);
    let before = drops();
    drop(a); // the last handle
    assert_eq!(drops(), before + 1);
    assert_eq!(stats().heap_objects, s0.heap_objects, "its memory went too");
    assert_eq!(stats().heap_bytes, s0.heap_bytes);
    collect(); // the emptied place in the buffer is skipped
    assert_eq!(stats().heap_objects, s0.heap_objects);
}

/// A candidate still waiting among the running cycle's roots, which the cycle reaches first
/// through another root and which then loses a handle (so the barrier keeps it through this
/// cycle), must stay a candidate of the next: its loss buffered nothing, since it was
/// buffered already. Once it was not, and the garbage cycle it was left on leaked (the
/// `pauses` example with short slices kept 20,000 objects after its last `collect()`).
#[test]
fn a_root_that_loses_a_handle_while_its_cycle_runs_stays_a_candidate() {
    for full in [true, false] {
        collect();
        let before = drops();
        let a = node(1);
        let b = node(2);
        *a.next.borrow_mut() = Some(b.clone());
        *b.next.borrow_mut() = Some(a.clone());
        let keep = a.clone();
        drop(b); // candidate 1
        drop(a); // candidate 2
                 // Take root `b` and trace it: `a` becomes a member, its root not taken yet.
        gomem::__private::collect_step(2, full);
        drop(keep); // `a`'s last handle from outside: the barrier shades it
        gomem::__private::collect_step(usize::MAX, full); // the rest of the cycle keeps a, b
        assert_eq!(drops(), before, "the cycle that saw `a` held keeps it");
        collect();
        assert_eq!(
            drops(),
            before + 2,
            "the next full cycle frees the garbage cycle"
        );
    }
}

/// Panics when dropped, if armed; holds no handle.
struct Bomb(bool);

impl Drop for Bomb {
    fn drop(&mut self) {
        if self.0 {
            panic!("a destructor panics");
        }
    }
}

// SAFETY: holds no handle.
unsafe impl Trace for Bomb {
    fn trace(&self, _: &mut Tracer) {}
}

#[derive(Trace)]
struct Armed {
    next: GcCell<Option<Gc<Armed>>>,
    bomb: Bomb,
    counted: Counted,
}

/// A small garbage cycle is a closed subgraph, freed by the count phase in one batch (one
/// `catch_unwind` for the batch): a destructor that panics there must not keep the others
/// from being dropped, and the panic reaches the caller once the heap is consistent.
#[test]
fn a_destructor_panicking_in_a_small_garbage_cycle_leaves_the_rest_dropped_and_freed() {
    for armed in [1usize, 2] {
        collect();
        let before = drops();
        let objects = stats().heap_objects;
        let ring: Vec<Gc<Armed>> = (0..4)
            .map(|i| {
                Gc::new(Armed {
                    next: GcCell::new(None),
                    bomb: Bomb(i == armed || i == armed + 1),
                    counted: Counted,
                })
            })
            .collect();
        for (i, a) in ring.iter().enumerate() {
            *a.next.borrow_mut() = Some(ring[(i + 1) % ring.len()].clone());
        }
        drop(ring);
        let run = std::panic::catch_unwind(collect);
        assert!(
            run.is_err(),
            "the destructor's panic reaches collect()'s caller"
        );
        assert_eq!(drops(), before + 4, "every value dropped once");
        assert_eq!(stats().heap_objects, objects, "and every object freed");
    }
}

/// Small garbage cycles are freed whole by the count phase, young or full, in any number
/// of slices; one held from outside, or too big to be freed at once, is left to the
/// cycle's marking and sweep, which decide it as before.
#[test]
fn small_closed_cycles_are_freed_by_the_count_phase_and_the_rest_by_the_sweep() {
    for full in [false, true] {
        for (len, held) in [(2, false), (3, true), (200, false), (200, true)] {
            for step in [1usize, 7, usize::MAX] {
                collect();
                let before = drops();
                let objects = stats().heap_objects;
                let ring: Vec<Gc<Node>> = (0..len).map(node).collect();
                for (i, a) in ring.iter().enumerate() {
                    *a.next.borrow_mut() = Some(ring[(i + 1) % ring.len()].clone());
                }
                let keep = held.then(|| ring[len as usize / 2].clone());
                drop(ring);
                while {
                    gomem::__private::collect_step(step, full);
                    stats().cycle_running
                } {}
                if held {
                    assert_eq!(drops(), before, "a held cycle is kept ({len}, {step})");
                    assert_eq!(keep.as_ref().map(|k| k.id), Some(len / 2));
                    drop(keep);
                    collect();
                }
                assert_eq!(drops(), before + len as usize, "freed ({len}, {step})");
                assert_eq!(stats().heap_objects, objects);
            }
        }
    }
}

#[derive(Trace)]
struct Multi {
    edges: GcCell<Vec<Gc<Multi>>>,
    counted: Counted,
}

/// One `collect()` frees every garbage cycle, also when a small garbage cycle holds a
/// handle into another found from an earlier root: freeing the small one at once would drop
/// that handle while the cycle counts, and the barrier would then keep the other through
/// the cycle (the model-based test found this).
#[test]
fn a_small_garbage_cycle_pointing_into_another_leaves_nothing_behind() {
    collect();
    let before = drops();
    let objects = stats().heap_objects;
    let multi = || {
        Gc::new(Multi {
            edges: GcCell::new(Vec::new()),
            counted: Counted,
        })
    };
    let (a, b, c) = (multi(), multi(), multi());
    a.edges.borrow_mut().push(b.clone());
    b.edges.borrow_mut().push(a.clone());
    c.edges.borrow_mut().push(c.clone());
    c.edges.borrow_mut().push(a.clone());
    // Buffered in this order: `a` and `b` are taken (and kept for now: `c` holds `a`) before
    // `c`, whose own cycle is closed but for its handle to `a`.
    drop(a);
    drop(b);
    drop(c);
    collect();
    assert_eq!(drops(), before + 3, "one collect() frees all three");
    assert_eq!(stats().heap_objects, objects);
}
