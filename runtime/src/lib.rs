//! gomem's runtime heap: [`Gc<T>`], a garbage-collected pointer for data that is shared and may
//! be cyclic, where `Rc` leaks and an arena cannot free piecemeal.
//!
//! ```
//! use gomem_runtime::{Gc, GcCell};
//! use gomem_macros::Trace;
//! # extern crate gomem_runtime as gomem;
//!
//! #[derive(Trace)]
//! struct Node {
//!     name: String,
//!     next: GcCell<Option<Gc<Node>>>,
//! }
//!
//! let a = Gc::new(Node { name: "a".into(), next: GcCell::new(None) });
//! let b = Gc::new(Node { name: "b".into(), next: GcCell::new(Some(a.clone())) });
//! *a.next.borrow_mut() = Some(b.clone()); // a <-> b: a cycle `Rc` would leak
//! drop((a, b));
//! gomem_runtime::collect();
//! assert_eq!(gomem_runtime::stats().heap_objects, 0);
//! ```
//!
//! # Design
//!
//! **Finding roots.** Every `Gc` handle counts itself in its object's header (a reference
//! count, as `Rc` does), so an object whose last handle goes away is freed at once, with no
//! collection at all: acyclic data costs what `Rc` costs. Cycles are found by a collector in
//! the style of CPython's `gc` module: it traces every object of the heap once and counts, for
//! each, the handles that live *inside* other objects of the heap (its internal references).
//! An object with more handles than internal references is held from outside the heap: a
//! local, an ordinary `Vec<Gc<T>>` on the stack or in a `Box`, a field of a non-`Gc` value.
//! Those objects are the roots; everything reachable from them is live, and the rest is
//! garbage: cycles that nothing outside points into. No stack scanning, no root
//! registration on every move (rust-gc's cost), no branded mutation contexts (gc-arena's
//! API): handles can be stored anywhere.
//!
//! **Why it is sound.** The collector frees only objects none of whose handles is outside the
//! heap, which it can tell only if every handle inside the heap is reported at most once by
//! [`Trace`]. That is why `Trace` is an `unsafe trait`: the derive and the impls here report
//! each field once. Reporting *fewer* handles is always safe (the object then looks held
//! from outside and is kept: a leak at worst), which is why `#[gomem(skip)]` on a field, and
//! tracing nothing through `Rc`/`Arc` (whose contents may be shared with code outside the
//! heap), are safe.
//!
//! **Short pauses: incremental cycles.** A cycle (count, mark, sweep) runs in slices of a
//! few hundred microseconds at most, paid for by allocation as Go's mark assists are, so no
//! single pause grows with the heap. Between slices the program changes the graph, and a
//! snapshot-at-the-beginning invariant keeps the cycle right: every edge that goes away
//! while it counts or marks shades its target (keeps it for this cycle). Edges go away only
//! when a `Gc` is dropped (`Gc::drop` shades the object if it survives) or a handle is moved
//! out of a [`GcCell`] (`borrow_mut` and `replace` shade what the cell held: the write
//! barrier). Objects allocated during a cycle are born marked, and objects of the cycle
//! whose last handle goes keep their memory (not their value) until the sweep, so the
//! collector never points at freed memory. `std::cell::RefCell` has no barrier, so it does
//! not implement `Trace`: interior mutability of traced data goes through `GcCell`. The
//! heap module's docs carry the argument in full; the model-based test interleaves cycle
//! steps with random mutations, and fails if any barrier is removed.
//!
//! **Destructors.** A type that derives [`Trace`] cannot implement `Drop` (the derive makes
//! such an impl a compile error), so collecting a cycle never runs user code that could see a
//! half-destroyed neighbour. Fields still drop normally (a `String` frees its buffer, a
//! `Gc` field releases its handle). Should a foreign destructor reached from a collected
//! value (say, inside an `Rc`) keep a `Gc` to a collected object, that object's value is
//! already dropped: using the handle panics, it never reads freed memory, and the memory is
//! released when the handle goes.
//!
//! **Threads.** Each thread has its own heap, and `Gc<T>` is neither `Send` nor `Sync`: the
//! counts are plain cells and the collector stops only its own thread. A shared heap would
//! need atomic counts and a way to stop or fence every thread that holds handles while it
//! traces (safepoints), which is a different collector. At thread exit the heap collects
//! once more; objects still held from elsewhere (another thread-local, a leaked handle) are
//! left alone.
//!
//! **Pacing.** As in Go, the heap goal is the live heap the last cycle marked plus `GOGC`
//! percent (`GOMEM_GOGC`, [`set_gc_percent`]; default 100, negative turns it off), with a
//! 4 MiB minimum; a soft limit ([`set_memory_limit`]) brings it down. A cycle starts at the
//! trigger, a quarter of the growth before the goal, and spreads its work over that runway;
//! if the program outruns it, slices do up to four times their share and the heap
//! overshoots a little rather than pause long. Unlike Go's, the collector can tell when a
//! cycle would be useless: garbage cycles appear only when a handle is dropped while its
//! object keeps other handles, so if no such drop happened since the last cycle, none runs
//! (acyclic programs never collect). [`collect`] finishes the running cycle and runs a whole
//! one, blocking. [`stats`] tells what the heap holds and what collections cost, and
//! `GOMEM_GCTRACE=1` prints a line per cycle on stderr, as Go's `GODEBUG=gctrace=1` does:
//!
//! ```text
//! gc 2 @0.295s 51%: 29.714+36.400+22.265 ms count+mark+sweep, 2900 slices (longest 0.150 ms), 105.911 ms clock, 123.1->99.6->76.9 MB, 140.7 MB goal, 336127 objects freed
//! ```
//!
//! (the cycle's number, when it ended and the share of the run spent paused, the pause
//! time of each phase, the slices and the longest, the wall time of the whole cycle, the
//! heap at its start and end and what it marked live, its goal, and what it freed;
//! `(forced)` when [`collect`] ran it).
//!
//! **Heap profiles.** With sampling on ([`set_mem_profile_rate`], or
//! `GOMEM_MEMPROFILERATE=524288` for Go's rate), one allocation per that many bytes on
//! average records its call stack, and [`write_heap_profile`] writes what was allocated and
//! what is still live, by call stack, in pprof's format: `go tool pprof -top heap.pb`.
//! Sampling is off by default (Go's is on): a stack costs microseconds to capture, which
//! at Go's rate costs binary-trees 4-6% (alternating runs at depth 19).
//!
//! **The whole program's heap.** [`Profiled`], as the global allocator over any other
//! (`#[global_allocator] static A: Profiled<System> = Profiled::new(System);`), samples
//! every allocation of the program (`Vec`, `String`, `Box`, ..) at the same rate, from any
//! thread, and [`write_heap_profile`] then writes those samples with the GC heap's, in one
//! profile. It adds no header to a block: sampled blocks are marked in a side filter that
//! a free reads once. [`leakcheck`] ends a test the way Go's goleak does: threads still
//! running, tokio tasks still alive and (with `Profiled`) memory still allocated, by call
//! stack.
//!
//! **Allocation.** Objects of up to 32 KiB live in the heap's own pages (256 KiB each,
//! aligned, mapped for this heap alone), cut into slots of one of 40 size classes: a slot
//! comes from the page's list of freed slots, most recently freed first, or from the page's
//! untouched rest; freeing puts it back, with no lock and no atomic. Pages are what the
//! collector walks: a freed slot says so in its header word, so no table of objects needs
//! an update on every allocation and free. Empty pages go back to the OS at the end of a
//! cycle or when the heap reaches its trigger, except for those the heap will grow back
//! into before its next cycle. Larger or more aligned objects come from the global
//! allocator and are kept in a table (their index sits in a word before the header); the
//! `system-alloc` feature sends every object there, so that valgrind sees each one.
//!
//! **Costs and limits of this version.** Binary-trees runs in about the time `Box` takes
//! (0.9-1.05x, run to run; see the `binary_trees` example) in the same peak memory. A slice traces whole objects, so one
//! object with a million handles (a huge `Vec<Gc<T>>`) is one long step. A page that keeps
//! one live object stays mapped (no compaction), and a heap that stops allocating keeps its
//! empty pages until it allocates again (there is no background scavenger).

pub mod arena;
mod cell;
mod gc;
mod gctrace;
mod heap;
pub mod leakcheck;
mod pages;
mod profile;
mod profiled;
mod samples;
mod trace;

pub use cell::{GcCell, GcCellRef, GcCellRefMut};
pub use gc::Gc;
pub use heap::{
    collect, set_gc_percent, set_mem_profile_rate, set_memory_limit, stats, write_heap_profile,
    MemStats,
};
pub use profiled::Profiled;
pub use trace::{Trace, Tracer};

/// Used by the code `#[derive(Trace)]` generates; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::heap::collect_step;

    /// Implemented by the derive for every `Trace` type: together with the blanket impl for
    /// `Drop` types, it makes a `Drop` impl on a derived type a coherence error.
    pub trait MustNotImplDrop {}
    #[allow(drop_bounds)]
    impl<T: Drop> MustNotImplDrop for T {}
}
