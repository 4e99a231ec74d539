//! gomem's runtime heap: [`Gc<T>`], a garbage-collected pointer for data that is shared and may
//! be cyclic, where `Rc` leaks and an arena cannot free piecemeal.
//!
//! ```
//! use gomem::{Gc, GcCell, Trace};
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
//! gomem::collect();
//! assert_eq!(gomem::stats().heap_objects, 0);
//! ```
//!
//! # Design
//!
//! **Reference counts first.** Every `Gc` handle counts itself in its object's header (as
//! `Rc` does), so an object whose last handle goes away is freed at once, with no
//! collection at all: acyclic data costs what `Rc` costs. Only cycles need a collector, and
//! a garbage cycle is made in one way only: the last handle from outside it goes, which
//! leaves the count of one of its objects above zero.
//!
//! **Candidates: the collector follows the garbage, not the heap.** As in Bacon and Rajan's
//! synchronous cycle collector ("Concurrent Cycle Collection in Reference Counted
//! Systems", 2001), which CPython's and PHP's collectors build on, an object whose count
//! drops to a nonzero value becomes a *candidate* (buffered once). A collection cycle runs
//! trial deletion over the objects reachable from the candidates only: it counts, for each,
//! the handles found inside that subgraph; an object with more handles than that is held
//! from outside it (a local, an ordinary `Vec<Gc<T>>`, a field of a non-`Gc` value, an
//! object the cycle does not examine); everything reachable from those is live, and the
//! rest is garbage. No stack scanning, no root registration on every move (rust-gc's
//! cost), no branded mutation contexts (gc-arena's API): handles can be stored anywhere.
//! Objects whose type holds no `Gc` ([`Trace::ACYCLIC`], computed by the derive) cannot lie
//! on a cycle: they are never candidates and never examined.
//!
//! **Generations, on top.** A big live structure that the program keeps changing (a ring
//! walked by a cursor, an LRU list) makes candidates all the time, and the subgraph they
//! reach is the whole structure: pure trial deletion examines it on every cycle. So, as
//! CPython did before 3.13, objects a full cycle, or two young ones, examined and found
//! live become *old* (one young cycle makes them *survivors*: a value parked for a while
//! in an old structure, then replaced, is then freed by a young cycle rather than wait,
//! old, for a full one; on `pauses` that saved one of its two full cycles). *Young*
//! cycles start when 8192 young candidates wait (twice as many after one that found little
//! garbage, back down after one that found some); they leave old objects alone (handles
//! from old objects count as held from outside, so nothing is freed wrongly) and buffer
//! the old objects they reach as candidates of the next *full* cycle, since a garbage
//! cycle may run through them. Full cycles examine everything the candidates reach and are
//! paced by the heap's growth, as Go's cycles are (below); a burst of candidates (a big
//! structure let go of at once) waits for one too, unless the young candidates piled up
//! while a full cycle ran. We measured both, side by side on the
//! `pauses` example (a million-object ring rewired by a cursor, load ~9 on 2 cores):
//! candidates alone paused the program for 78-79% of its run (each of its 13 cycles
//! examined the ring), the previous whole-heap collector 75-83%, candidates with
//! generations 52-56% (the ring is examined by its two full cycles only; its young cycles
//! examine what the program made since the last). So we keep both. The costs: a structure
//! is examined once by the first cycle that reaches it (it is young until then), and old
//! garbage waits for a full cycle. A full cycle is complete: [`collect`] runs one, and
//! frees every garbage cycle.
//!
//! **Candidates that die.** A buffered object whose last handle goes leaves its buffer at
//! once (its place is kept in its header while no cycle examines it, as PHP's collector
//! does; the buffer's last entry takes the place, so a buffer holds no holes and its length
//! is what may still be garbage), so its memory is reused at once rather than pinned until
//! a cycle takes it: on the `lru` example that pinning had cost 2.2-2.4x the time of `Rc`,
//! and the holes started young cycles over nothing.
//!
//! **Why it is sound.** Trial deletion over *any* set of objects frees only garbage: an
//! object is freed only if every handle to it is inside the set and no marked member
//! reaches it; which objects a cycle examines matters for completeness only. The collector
//! can count handles inside the set only if every handle inside the heap is reported at
//! most once by [`Trace`]. That is why `Trace` is an `unsafe trait`: the derive and the
//! impls here report each field once. Reporting *fewer* handles is always safe (the object
//! then looks held from outside and is kept: a leak at worst), which is why `#[gomem(skip)]`
//! on a field, and tracing nothing through `Rc`/`Arc` (whose contents may be shared with
//! code outside the heap), are safe.
//!
//! **Short pauses: incremental cycles.** A cycle (count, mark, sweep) runs in slices that
//! stop at their first look at the clock past 200 microseconds (0.3-0.4 ms of CPU time on
//! the `pauses` example, the longest about 1 ms), paid for by allocation as Go's mark
//! assists are. Its long lists grow by segments, so no step copies them. Between
//! slices the program changes the graph, and a deletion barrier keeps the counts honest:
//! while the cycle counts or marks, an object it examines that loses a handle (a `Gc`
//! dropped, a handle moved out of a [`GcCell`] by `borrow_mut` or `replace`) is shaded
//! (kept for this cycle). A handle moved into an object already counted is not counted, so
//! its target looks held from outside: the safe side. Objects the cycle examines keep their
//! memory (not their value) until its sweep if their last handle goes, so the collector
//! never points at freed memory. A candidate that loses a handle while the cycle counts may
//! be one of its roots, not taken yet: the loss buffers nothing (it is buffered already)
//! and this cycle may keep it, so it is flagged and taking it buffers it again (missing
//! that left garbage cycles with no candidate: they leaked). `std::cell::RefCell` has no barrier, so it does not
//! implement `Trace`: interior mutability of traced data goes through `GcCell`. The `cycle`
//! module's docs carry the argument in full; the model-based test interleaves young and full
//! cycle steps with random mutations, and fails if a barrier or a candidate is missed.
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
//! **Pacing.** As in Go, the heap goal is the live heap the last full cycle left plus
//! `GOGC` percent (`GOMEM_GOGC`, [`set_gc_percent`]; default 100, negative turns every
//! cycle off), with a 4 MiB minimum; a soft limit ([`set_memory_limit`]) brings it down. A
//! full cycle starts at the trigger, a quarter of the growth before the goal, and spreads
//! its work over that runway; if the program outruns it, the heap overshoots a little
//! rather than a slice grow long. With no candidate no cycle runs (acyclic programs never
//! collect). Young cycles are not paced by the heap but by their candidates, and do as
//! much per slice as its time limit allows (the barrier is on while they run). [`collect`] finishes the running cycle and
//! runs a whole full one, blocking. [`stats`] tells what the heap holds and what
//! collections cost, and `GOMEM_GCTRACE=1` prints a line per cycle on stderr, as Go's
//! `GODEBUG=gctrace=1` does:
//!
//! ```text
//! gc 500 @0.714s 46%: 0.262+0.010+0.004 ms count+mark+sweep, 4 slices (longest 0.176 ms), 0.301 ms clock, 99.4->98.9->98.9 MB, 163.2 MB goal, 8194 candidates, 8676 examined, 7712 objects freed, young
//! ```
//!
//! (the cycle's number, when it ended and the share of the run spent paused, the pause
//! time of each phase, the slices and the longest, the wall time of the whole cycle, the
//! heap at its start and end and what it left live, the full cycles' goal, the candidates
//! it started from, the objects it examined and those it freed, `young` or `full`, and
//! `(forced)` when [`collect`] ran it). A young cycle's time is mostly its count phase's:
//! that is where the small garbage cycles it finds are freed (see below).
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
//! untouched rest; freeing puts it back, with no lock and no atomic. Empty pages go back to
//! the OS at the end of a full cycle or when the heap reaches its trigger, except for those
//! the heap will grow back into before its next cycle. Larger or more aligned objects come from the global
//! allocator and are kept in a table (their index sits in a word before the header); the
//! `system-alloc` feature sends every object there, so that valgrind sees each one.
//!
//! **The paused share follows the garbage too.** A cycle's work is per garbage object
//! (found, counted, decided, dropped and freed), so a program that does little besides
//! making cyclic garbage spends most of its time collecting it. The count phase takes the
//! cheapest path it can: it traces each root's subgraph at once, and if that is small and
//! closed (at most 64 objects; every handle to them, and every handle counted in them,
//! among them: the small cycles a program drops) it is garbage, dropped in one batch and
//! freed there, its headers still in the cache, without reaching marking or the sweep. The
//! `garbage_cost` example (garbage pairs of `pauses`' nodes, one blocking [`collect`] per
//! 8192) then spends 375 instructions per object collected (callgrind; 395 when each
//! object went through the three phases) against about 230 to make it, 58-60% of its CPU
//! time (54-62% before). The `pauses` example walks a million-object ring besides, and is
//! paused for 48-52% of its thread CPU time (53-55% before; 14 alternating runs, medians
//! 49.5% and 54.5%): its young cycles (8.5 million objects examined) take about three
//! quarters of that, its one full cycle (the ring, once, made a candidate by the dropped
//! `Vec` that built it) the rest. Pacing does not change the share: before the closed
//! subgraphs, young cycles started at 1024 to 32768 candidates gave 53-59%. Go's 25% bounds a tracing collector's marking, whose cost follows the live heap
//! while garbage costs nothing; here garbage is what costs, and 25% is out of reach of
//! this design: with a 1000-object ring (no full cycle), `pauses` makes each garbage object
//! in about 365 instructions and collects it in about 365 (callgrind), so 25% would leave
//! the collector about 120 per object, of which the value's `Trace` calls take about 70
//! and its drop glue about 30 before the collector has listed, counted, decided or freed
//! anything (freeing the memory alone is about 20).
//!
//! **Costs and limits of this version.** Binary-trees runs in about the time `Box` takes
//! (see the `binary_trees` example) in the same peak memory: trees lose no handle but their
//! last, so they make no candidate and no cycle runs. A slice traces whole objects, so one
//! object with a million handles (a huge `Vec<Gc<T>>`) is one long step. A full cycle
//! examines in the order it finds objects, not in memory order, so on a big heap it is
//! slower per object than a walk over the pages would be. A page that keeps one live object
//! stays mapped (no compaction), and a heap that stops allocating keeps its empty pages
//! until it allocates again (there is no background scavenger). The derive takes a type
//! with a field naming the type itself as cyclic; two types that hold each other through
//! containers (not through `Gc`) do not compile, their `ACYCLIC` constants depending on
//! each other.
//!
//! # Layout
//!
//! The modules, lowest first (each imports only from those before it): `pages` (page
//! memory), `object` (the header, type operations, the tracer), `trace` (the [`Trace`]
//! trait), `large` (the large-object space), `space` (where objects are and what they add
//! up to), `pacer` (the heap goal), `candidates` (the candidate buffers), `cycle` (the
//! incremental collector), `heap` (the thread's heap and the public functions), then `cell`
//! and `gc`; `gctrace`, `profile` and `seglist` (the collector's long lists) are leaves.

// The modules, lowest layer first: each imports only from those above it in this list.
pub mod arena;
mod candidates;
mod cell;
mod cycle;
mod gc;
mod gctrace;
mod heap;
mod large;
pub mod leakcheck;
mod object;
mod pacer;
mod pages;
mod profile;
mod profiled;
mod samples;
mod seglist;
mod space;
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
