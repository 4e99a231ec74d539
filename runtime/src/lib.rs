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
//! heap, which it can tell only if every handle inside the heap is reported exactly once by
//! [`Trace`]. That is why `Trace` is an `unsafe trait`: the derive and the impls here report
//! each field once. Reporting *fewer* handles is always safe (the object then looks held
//! from outside and is kept: a leak at worst), which is why `#[gomem(skip)]` on a field, and
//! tracing nothing through `Rc`/`Arc` (whose contents may be shared with code outside the
//! heap), are safe. A value that is being mutated cannot be traced: a [`GcCell`] that is
//! mutably borrowed while a collection runs makes the collector give up for that round
//! (nothing is freed) rather than read it.
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
//! **Pacing.** As in Go, a collection starts when the heap has grown by `GOGC` percent over
//! the live heap the last collection left (`GOMEM_GOGC`, [`set_gc_percent`]; default 100,
//! negative turns it off), with a 4 MiB minimum; a soft limit ([`set_memory_limit`]) brings it
//! forward. Unlike Go's, the collector can tell when a collection would be useless: garbage
//! cycles appear only when a handle is dropped while its object keeps other handles, so if no
//! such drop happened since the last collection, none runs (acyclic programs never collect).
//! [`collect`] runs one now. [`stats`] tells what the heap holds and what collections
//! cost.
//!
//! **Allocation.** Objects come from a mimalloc heap of the thread's own (`mi_heap_new`):
//! size classes, thread-local free lists, freed memory reused at once, empty pages returned
//! to the OS. The `system-alloc` feature uses the global allocator instead, for valgrind.
//!
//! **Costs and limits of this version.** Each object is also linked into the heap's list (two
//! words) so the collector can find it; a collection is stop-the-world and visits every
//! object of the heap, so its pause grows with the heap. Incremental marking is the next
//! step.

mod alloc;
pub mod arena;
mod cell;
mod gc;
mod heap;
mod trace;

pub use cell::{GcCell, GcCellRef, GcCellRefMut};
pub use gc::Gc;
pub use heap::{collect, set_gc_percent, set_memory_limit, stats, MemStats};
pub use trace::{Trace, Tracer};

/// Used by the code `#[derive(Trace)]` generates; not part of the API.
#[doc(hidden)]
pub mod __private {
    /// Implemented by the derive for every `Trace` type: together with the blanket impl for
    /// `Drop` types, it makes a `Drop` impl on a derived type a coherence error.
    pub trait MustNotImplDrop {}
    #[allow(drop_bounds)]
    impl<T: Drop> MustNotImplDrop for T {}
}
