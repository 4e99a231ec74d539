//! The per-thread heap: the list of live objects, the collector, pacing and statistics.
//!
//! Invariants (every `unsafe` block in this crate relies on them):
//! - a [`Header`] stays allocated while its strong count is above zero; the count is the
//!   number of live `Gc` handles to it, plus one while a collection holds it (`HELD`);
//! - an object is in its thread's arena (which can list them all) from allocation until it
//!   is freed, and only that thread touches the arena or the headers in it;
//! - once `DROPPED` is set, the value has been dropped and is never read or dropped again.

use std::alloc::Layout;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::ptr::NonNull;
use std::time::{Duration, Instant};

use crate::trace::{Mode, Tracer};

// Flags, in the top bits of `Header::state` (the rest counts internal handles).
const MARKED: u32 = 1 << 31;
const DROPPED: u32 = 1 << 30;
const HELD: u32 = 1 << 29;
/// In the heap's list (objects allocated after the heap was torn down at thread exit are
/// reference-counted only).
const TRACKED: u32 = 1 << 28;
/// Allocated from the thread's arena (not the global allocator).
const ARENA: u32 = 1 << 27;
const FLAGS: u32 = MARKED | DROPPED | HELD | TRACKED | ARENA;
/// Internal handle counts saturate here (counting fewer is always safe).
const MAX_INTERNAL: u32 = ARENA - 1;

/// Go's minimum heap goal: below this, collecting is not worth it.
const MIN_GOAL: usize = 4 << 20;
/// How many recent pause times [`MemStats::recent_pauses`] keeps.
const RECENT_PAUSES: usize = 256;

/// Type-specific operations on an object, so that the heap can hold objects of any type.
pub(crate) struct VTable {
    /// Reports the value's handles to the tracer.
    pub trace: unsafe fn(NonNull<Header>, &mut Tracer),
    /// Drops the value in place (once).
    pub drop_value: unsafe fn(NonNull<Header>),
    /// Frees the object's memory (after its value was dropped).
    pub dealloc: unsafe fn(NonNull<Header>),
    /// The object's size in bytes, header included.
    pub size: usize,
}

/// The start of every object. `#[repr(C)]` objects put it first, so a pointer to the object
/// is a pointer to its header.
///
/// 16 bytes: the handle count, the flags with the collector's count of internal handles,
/// and the type's operations.
pub(crate) struct Header {
    strong: Cell<u32>,
    state: Cell<u32>,
    pub vtable: &'static VTable,
}

impl Header {
    pub fn new(vtable: &'static VTable, in_arena: bool) -> Header {
        Header {
            strong: Cell::new(1),
            state: Cell::new(if in_arena { ARENA } else { 0 }),
            vtable,
        }
    }

    /// Whether the object's memory came from the thread's arena.
    pub fn in_arena(&self) -> bool {
        self.flag(ARENA)
    }

    fn flag(&self, f: u32) -> bool {
        self.state.get() & f != 0
    }

    fn set_flag(&self, f: u32, on: bool) {
        let state = self.state.get();
        self.state.set(if on { state | f } else { state & !f });
    }

    pub fn strong(&self) -> usize {
        self.strong.get() as usize
    }

    /// One more handle. Aborts rather than wrap, as `Rc` does: 4 billion handles to one
    /// object mean leaked handles, and a wrapped count would free a live object.
    pub fn inc_strong(&self) {
        match self.strong.get().checked_add(1) {
            Some(n) => self.strong.set(n),
            None => std::process::abort(),
        }
    }

    /// One handle less; returns how many are left.
    pub fn dec_strong(&self) -> usize {
        let n = self.strong.get() - 1;
        self.strong.set(n);
        n as usize
    }

    pub fn internal(&self) -> usize {
        (self.state.get() & !FLAGS) as usize
    }

    pub fn reset_internal(&self) {
        self.state.set(self.state.get() & FLAGS);
    }

    /// Counts one more handle held inside the heap (saturating).
    pub fn add_internal(&self) {
        if (self.state.get() & !FLAGS) < MAX_INTERNAL {
            self.state.set(self.state.get() + 1);
        }
    }

    pub fn is_marked(&self) -> bool {
        self.flag(MARKED)
    }

    pub fn set_marked(&self, on: bool) {
        self.set_flag(MARKED, on);
    }

    pub fn is_dropped(&self) -> bool {
        self.flag(DROPPED)
    }
}

/// What a thread's heap holds and what its collections cost (Go's `runtime.MemStats`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemStats {
    /// Bytes of the objects currently allocated.
    pub heap_bytes: usize,
    pub heap_objects: usize,
    /// Bytes and objects allocated since the thread started (never decreases).
    pub total_alloc_bytes: u64,
    pub total_alloc_objects: u64,
    /// Objects freed by a collection (as opposed to by their last handle going away).
    pub collected_objects: u64,
    /// Completed collections.
    pub num_gc: u64,
    /// The heap size at which the next collection starts.
    pub next_gc: usize,
    pub pause_total: Duration,
    /// The most recent pauses, oldest first.
    pub recent_pauses: Vec<Duration>,
}

struct Heap {
    bytes: Cell<usize>,
    objects: Cell<usize>,
    total_alloc_bytes: Cell<u64>,
    total_alloc_objects: Cell<u64>,
    collected_objects: Cell<u64>,
    num_gc: Cell<u64>,
    next_goal: Cell<usize>,
    /// Go's GOGC: a negative value turns pacing off.
    gc_percent: Cell<i64>,
    /// A soft limit on the heap, in bytes; 0 when none.
    memory_limit: Cell<usize>,
    pause_total: Cell<Duration>,
    pauses: RefCell<VecDeque<Duration>>,
    collecting: Cell<bool>,
    /// Where the objects are, and how to find them all.
    arena: crate::alloc::Arena,
}

impl Heap {
    fn new() -> Heap {
        let gc_percent = std::env::var("GOMEM_GOGC")
            .ok()
            .and_then(|v| {
                if v.eq_ignore_ascii_case("off") {
                    Some(-1)
                } else {
                    v.trim().parse().ok()
                }
            })
            .unwrap_or(100);
        Heap {
            bytes: Cell::new(0),
            objects: Cell::new(0),
            total_alloc_bytes: Cell::new(0),
            total_alloc_objects: Cell::new(0),
            collected_objects: Cell::new(0),
            num_gc: Cell::new(0),
            next_goal: Cell::new(MIN_GOAL),
            gc_percent: Cell::new(gc_percent),
            memory_limit: Cell::new(0),
            pause_total: Cell::new(Duration::ZERO),
            pauses: RefCell::new(VecDeque::new()),
            collecting: Cell::new(false),
            arena: crate::alloc::Arena::new(),
        }
    }

    /// The heap goal after a collection that left `live` bytes.
    fn goal_after(&self, live: usize) -> usize {
        let percent = self.gc_percent.get();
        let mut goal = if percent < 0 {
            usize::MAX
        } else {
            let grown = (live as u128 * (100 + percent as u128) / 100) as usize;
            grown.max(MIN_GOAL)
        };
        let limit = self.memory_limit.get();
        if limit > 0 {
            goal = goal.min(limit.max(live + live / 16));
        }
        goal
    }

    fn track(&self, h: NonNull<Header>, size: usize) {
        // SAFETY: `h` was just allocated and initialized by this thread.
        let header = unsafe { h.as_ref() };
        header.set_flag(TRACKED, true);
        if !header.in_arena() {
            self.arena.register(h);
        }
        self.bytes.set(self.bytes.get() + size);
        self.objects.set(self.objects.get() + 1);
        self.total_alloc_bytes
            .set(self.total_alloc_bytes.get() + size as u64);
        self.total_alloc_objects
            .set(self.total_alloc_objects.get() + 1);
    }

    fn untrack(&self, h: NonNull<Header>) {
        // SAFETY: `h` is allocated until its caller frees it after this.
        let header = unsafe { h.as_ref() };
        header.set_flag(TRACKED, false);
        if !header.in_arena() {
            self.arena.unregister(h);
        }
        self.bytes.set(self.bytes.get() - header.vtable.size);
        self.objects.set(self.objects.get() - 1);
    }

    /// Runs a full collection. Returns whether it completed.
    fn collect(&self) -> bool {
        if self.collecting.replace(true) {
            return false;
        }
        let start = Instant::now();
        let _ = CANDIDATES.try_with(|c| c.set(0));
        let objects = self.arena.objects();
        // 1. Count the handles each object has inside the heap.
        for &h in &objects {
            // SAFETY: listed objects are allocated.
            let header = unsafe { h.as_ref() };
            header.reset_internal();
            header.set_marked(false);
        }
        let mut tracer = Tracer::new(Mode::CountInternal);
        for &h in &objects {
            // SAFETY: listed objects are allocated; a dropped value is not traced.
            unsafe {
                if !h.as_ref().is_dropped() {
                    (h.as_ref().vtable.trace)(h, &mut tracer);
                }
            }
        }
        // 2. Objects with more handles than the heap holds are held from outside: roots.
        //    Mark everything reachable from them.
        tracer.mode = Mode::Mark;
        for &h in &objects {
            // SAFETY: as above.
            let header = unsafe { h.as_ref() };
            if header.strong() > header.internal() && !header.is_marked() {
                header.set_marked(true);
                tracer.stack.push(h);
            }
        }
        while let Some(h) = tracer.stack.pop() {
            // SAFETY: marked objects are listed objects, allocated.
            unsafe {
                if !h.as_ref().is_dropped() {
                    (h.as_ref().vtable.trace)(h, &mut tracer);
                }
            }
        }
        if tracer.incomplete {
            // A value could not be read: free nothing this time.
            self.collecting.set(false);
            return false;
        }
        // 3. The rest is garbage: cycles nothing outside the heap points into.
        let garbage: Vec<NonNull<Header>> = objects
            .into_iter()
            // SAFETY: as above.
            .filter(|h| unsafe { !h.as_ref().is_marked() })
            .collect();
        for &h in &garbage {
            // SAFETY: as above. Holding one more count keeps every garbage object allocated
            // while the values are dropped, whatever handles those drops release.
            let header = unsafe { h.as_ref() };
            header.inc_strong();
            header.set_flag(HELD, true);
        }
        let mut panic = None;
        for &h in &garbage {
            // SAFETY: held objects are allocated; DROPPED guards against dropping twice.
            let header = unsafe { h.as_ref() };
            if !header.is_dropped() {
                header.set_flag(DROPPED, true);
                let drop_value = header.vtable.drop_value;
                // SAFETY: the value is dropped exactly once (flag set above) and no handle can
                // read it afterwards (reads check DROPPED).
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| unsafe {
                    drop_value(h)
                }));
                if let Err(p) = result {
                    panic.get_or_insert(p);
                }
            }
        }
        let mut freed = 0u64;
        for &h in &garbage {
            // SAFETY: held objects are allocated until we release our count here.
            let header = unsafe { h.as_ref() };
            header.set_flag(HELD, false);
            let strong = header.dec_strong();
            if strong == 0 {
                self.untrack(h);
                freed += 1;
                // SAFETY: no handle is left and the value was dropped: free the memory.
                unsafe { (header.vtable.dealloc)(h) };
            }
            // Otherwise a destructor kept a handle: the memory stays until it goes, and
            // dereferencing it panics (DROPPED).
        }
        let pause = start.elapsed();
        self.collected_objects
            .set(self.collected_objects.get() + freed);
        self.num_gc.set(self.num_gc.get() + 1);
        self.pause_total.set(self.pause_total.get() + pause);
        {
            let mut pauses = self.pauses.borrow_mut();
            if pauses.len() == RECENT_PAUSES {
                pauses.pop_front();
            }
            pauses.push_back(pause);
        }
        self.next_goal.set(self.goal_after(self.bytes.get()));
        self.collecting.set(false);
        if let Some(p) = panic {
            std::panic::resume_unwind(p);
        }
        true
    }
}

impl Drop for Heap {
    /// At thread exit: collect the cycles that are left. Objects still held from elsewhere
    /// (another thread-local, a leaked handle) stay allocated, since a handle may still use
    /// them.
    fn drop(&mut self) {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.collect()));
    }
}

thread_local! {
    static HEAP: Heap = Heap::new();
    /// Handles dropped since the last collection that left their object's count above zero.
    /// Only such a drop can turn a cycle into garbage (the drop of its last outside handle),
    /// so while it is zero a collection could not free anything and is skipped.
    static CANDIDATES: Cell<u64> = const { Cell::new(0) };
}

/// Called when a handle is dropped and its object still has others.
#[inline]
pub(crate) fn note_candidate() {
    let _ = CANDIDATES.try_with(|c| c.set(c.get() + 1));
}

/// Allocates memory for an object of `layout`, lets `init` build the object in it (told
/// whether the memory is the arena's), and adds it to this thread's heap, collecting first if
/// the heap reached its goal. After the heap is gone (thread exit) the object comes from the
/// global allocator and is reference-counted only.
pub(crate) fn allocate(
    layout: Layout,
    init: impl FnOnce(NonNull<u8>, bool) -> NonNull<Header>,
) -> NonNull<Header> {
    let mut init = Some(init);
    let size = layout.size();
    let tracked = HEAP.try_with(|heap| {
        if heap.bytes.get() + size >= heap.next_goal.get()
            && !heap.collecting.get()
            && CANDIDATES.try_with(Cell::get).unwrap_or(1) > 0
        {
            heap.collect();
            // A collection that could not complete (a GcCell borrowed mutably) should not be
            // retried on every allocation: wait for the heap to grow again.
            if heap.bytes.get() + size >= heap.next_goal.get() {
                heap.next_goal.set(heap.goal_after(heap.bytes.get()));
            }
        }
        let (memory, in_arena) = match heap.arena.alloc(layout) {
            Some(p) => (p, true),
            None => (system_alloc(layout), false),
        };
        // SAFETY: allocators return non-null memory here (`system_alloc` aborts otherwise).
        let memory = unsafe { NonNull::new_unchecked(memory) };
        let h = (init.take().expect("called once"))(memory, in_arena);
        heap.track(h, size);
        h
    });
    match tracked {
        Ok(h) => h,
        Err(_) => {
            // SAFETY: as above.
            let memory = unsafe { NonNull::new_unchecked(system_alloc(layout)) };
            (init.take().expect("not called: the heap was gone"))(memory, false)
        }
    }
}

fn system_alloc(layout: Layout) -> *mut u8 {
    // SAFETY: every object has a header, so the size is not zero.
    let p = unsafe { std::alloc::alloc(layout) };
    if p.is_null() {
        std::alloc::handle_alloc_error(layout);
    }
    p
}

/// Called when an object's strong count reached zero: unlinks it, drops its value unless a
/// collection already did, and frees it.
///
/// # Safety
/// `h` is an allocated object of this thread with no handle left and not held by a
/// collection.
pub(crate) unsafe fn release(h: NonNull<Header>) {
    // SAFETY: allocated per the contract.
    let header = unsafe { h.as_ref() };
    if header.flag(TRACKED) {
        // During the heap's own teardown it cannot be reached, and is not used again.
        let _ = HEAP.try_with(|heap| heap.untrack(h));
    }
    if !header.is_dropped() {
        header.set_flag(DROPPED, true);
        // SAFETY: not dropped before (flag), and no handle is left to read it.
        unsafe { (header.vtable.drop_value)(h) };
    }
    // SAFETY: no handle is left, the value is dropped, and the list no longer holds it.
    unsafe { (header.vtable.dealloc)(h) };
}

/// Whether a collection holds `h` (its count must not reach zero then).
pub(crate) fn is_held(h: &Header) -> bool {
    h.flag(HELD)
}

/// Runs a full collection now, like Go's `runtime.GC()`. Does nothing when called from a
/// destructor that a collection is running.
pub fn collect() {
    let _ = HEAP.try_with(|heap| heap.collect());
}

/// Sets the heap growth, in percent of the live heap, that starts the next collection (Go's
/// `debug.SetGCPercent`); a negative value turns automatic collection off. Returns the
/// previous setting. The default is 100, or the `GOMEM_GOGC` environment variable.
pub fn set_gc_percent(percent: i64) -> i64 {
    HEAP.with(|heap| {
        let old = heap.gc_percent.replace(percent);
        heap.next_goal.set(heap.goal_after(heap.bytes.get()));
        old
    })
}

/// Sets a soft limit on this thread's heap, in bytes (Go's `debug.SetMemoryLimit`): the
/// collector runs early to stay under it. 0 removes the limit. Returns the previous limit.
pub fn set_memory_limit(bytes: usize) -> usize {
    HEAP.with(|heap| {
        let old = heap.memory_limit.replace(bytes);
        heap.next_goal.set(heap.goal_after(heap.bytes.get()));
        old
    })
}

/// This thread's heap statistics.
pub fn stats() -> MemStats {
    HEAP.with(|heap| MemStats {
        heap_bytes: heap.bytes.get(),
        heap_objects: heap.objects.get(),
        total_alloc_bytes: heap.total_alloc_bytes.get(),
        total_alloc_objects: heap.total_alloc_objects.get(),
        collected_objects: heap.collected_objects.get(),
        num_gc: heap.num_gc.get(),
        next_gc: heap.next_goal.get(),
        pause_total: heap.pause_total.get(),
        recent_pauses: heap.pauses.borrow().iter().copied().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_is_two_words() {
        assert_eq!(std::mem::size_of::<Header>(), 16);
    }

    #[test]
    fn internal_counts_saturate_below_the_flags() {
        static VT: VTable = VTable {
            trace: |_, _| {},
            drop_value: |_| {},
            dealloc: |_| {},
            size: 16,
        };
        let h = Header::new(&VT, true);
        h.state.set(h.state.get() | (MAX_INTERNAL - 1));
        h.add_internal();
        h.add_internal();
        assert_eq!(h.internal(), MAX_INTERNAL as usize);
        assert!(h.in_arena() && !h.is_dropped() && !h.is_marked());
        h.reset_internal();
        assert_eq!(h.internal(), 0);
        assert!(h.in_arena());
    }
}
