//! The per-thread heap: allocation, pacing, statistics, and the incremental cycle collector.
//!
//! Objects live in the heap's pages (`pages.rs`: size classes up to 32 KiB) or, larger or
//! more aligned ones, in the large-object space: memory from the global allocator, kept in a
//! table (the object's index in it sits in a word just before its header).
//!
//! A collection cycle runs in short slices between the program's own work (on allocation,
//! as Go's mark assists do), in three phases, each a walk over the pages' slots and the
//! large objects' table that were there when the phase began:
//! 1. **Count**: trace each object and count, for each, the handles found inside the heap
//!    (in the object's header).
//! 2. **Mark**: an object with more handles than that count is held from outside the heap (a
//!    root); mark everything reachable from the roots (tri-colour: grey objects wait on a
//!    stack). The walk reads and zeroes every count, so all are zero for the next cycle.
//! 3. **Sweep**: drop and free the objects left unmarked.
//!
//! Between slices the program runs and changes the graph, so a cycle keeps a
//! snapshot-at-the-beginning invariant with a deletion barrier: while counting or marking,
//! every edge that goes away shades its target (marks it grey, so it lives through this
//! cycle). Edges go away in two ways only: a `Gc` handle is dropped (`Gc::drop` shades the
//! object if it survives the drop), or a handle is moved out of a `GcCell` (its
//! `borrow_mut` and `replace` shade what the cell held). Objects allocated during a cycle
//! are born marked. With that, an object that is not shaded has lost no handle since the
//! cycle began, so its count can only be lower than the handles inside the heap, never
//! higher: an object held from outside is always seen as a root, and everything it reaches
//! is marked. Unmarked objects were garbage when counting ended, and garbage stays garbage
//! (no one has a handle to reach it).
//!
//! Invariants (every `unsafe` block in this crate relies on them):
//! - a [`Header`] stays allocated while its strong count is above zero; the count is the
//!   number of live `Gc` handles to it, plus one while the sweep drops its value;
//! - an object whose last handle goes is freed at once, with two exceptions: while the
//!   sweep drops a value, objects it releases wait in `pending` (dropped iteratively, not
//!   recursively); and while a cycle counts or marks, a large object keeps its memory
//!   (value dropped) until the sweep frees it, since the grey stack may point at it;
//! - the collector's walks and grey stack may point at a page slot whose object was freed
//!   meanwhile: pages stay mapped during a cycle, and a slot reads as free ([`FREE`]) or
//!   as a whole object born since (marked); so every visit reads the state first;
//! - only the heap's thread touches the pages, the table and the headers;
//! - once `DROPPED` is set, the value has been dropped and is never read or dropped again.

use std::alloc::Layout;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::ptr::NonNull;
use std::time::{Duration, Instant};

use crate::gctrace;
use crate::pages::{self, Pages, FREE};
use crate::profile::{self, Profiler};
use crate::trace::{Mode, Trace, Tracer};

// Flags, in the top bits of `Header::state`; the rest is the object's count of handles
// inside the heap, while a cycle counts them.
/// The mark bit; what it means flips with every cycle (see [`Header::is_marked`]).
const MARK: u32 = 1 << 31;
const DROPPED: u32 = 1 << 30;
const _: () = assert!(FREE == 1 << 29);
/// A large object: memory from the global allocator, in the heap's table.
const LARGE: u32 = 1 << 28;
/// Not on any heap: reference-counted only (a cycle through it leaks). Objects allocated
/// after the heap was torn down at thread exit, and those it left behind.
const UNTRACKED: u32 = 1 << 27;
/// Sampled for the heap profile: its free is recorded (`profile.rs`).
const SAMPLED: u32 = 1 << 26;
const COUNT_MASK: u32 = SAMPLED - 1;

/// Go's minimum heap goal: below this, collecting is not worth it.
const MIN_GOAL: usize = 4 << 20;
/// How many recent pause times [`MemStats::recent_pauses`] keeps.
const RECENT_PAUSES: usize = 256;
/// A running cycle takes a slice after every this many bytes allocated.
const SLICE_BYTES: usize = 8 << 10;
/// The least work a slice does, in objects visited.
const MIN_SLICE_WORK: usize = 1024;

/// The type of an object, for the paths that know it statically (a handle's drop), so that
/// dropping its value is a direct call that can be inlined rather than one through the
/// [`VTable`].
pub(crate) trait Object {
    /// The vtable's `drop_value`.
    ///
    /// # Safety
    /// As [`VTable::drop_value`]'s.
    unsafe fn drop_value(h: NonNull<Header>);
}

/// Type-specific operations on an object, so that the heap can hold objects of any type.
pub(crate) struct VTable {
    /// Reports the value's handles to the tracer.
    pub trace: unsafe fn(NonNull<Header>, &mut Tracer),
    /// Drops the value in place (once).
    ///
    /// Safety: the header is an allocated object's, whose value is not dropped yet and is
    /// never read again.
    pub drop_value: unsafe fn(NonNull<Header>),
    /// The object's layout, header included.
    pub layout: Layout,
}

/// The start of every object. `#[repr(C)]` objects put it first, so a pointer to the object
/// is a pointer to its header; its own fields are in this order (a free page slot puts its
/// flag where `state` is).
///
/// 16 bytes: the handle count, the flags with the count of handles inside the heap, and the
/// type's operations.
#[repr(C)]
pub(crate) struct Header {
    strong: Cell<u32>,
    state: Cell<u32>,
    pub vtable: &'static VTable,
}

/// Whether an object whose state word is `state` is marked in the cycle whose mark bit
/// means `epoch` (see [`Header::is_marked`]).
fn marked_in(state: u32, epoch: bool) -> bool {
    (state & MARK != 0) == epoch
}

/// The state word of a page slot or an object, which says which of the two it is.
///
/// # Safety
/// `p` is a slot of a mapped page below its bump pointer, or an allocated object.
unsafe fn state_of(p: NonNull<Header>) -> u32 {
    // SAFETY: per the contract the first 8 bytes are a header's or a free slot's, which
    // agree on where the state is; no reference to the whole header is made (a free slot
    // has no vtable).
    unsafe { (*std::ptr::addr_of!((*p.as_ptr()).state)).get() }
}

impl Header {
    pub fn new(vtable: &'static VTable) -> Header {
        Header {
            strong: Cell::new(1),
            state: Cell::new(0),
            vtable,
        }
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

    /// Reference-counted only, not on a heap.
    pub fn is_untracked(&self) -> bool {
        self.flag(UNTRACKED)
    }

    fn is_large(&self) -> bool {
        self.flag(LARGE)
    }

    /// Counts one handle inside the heap. The count saturates: counting too few is safe
    /// (the object looks held from outside), too many is not.
    pub fn count_one(&self) {
        let state = self.state.get();
        if state & COUNT_MASK != COUNT_MASK {
            self.state.set(state + 1);
        }
    }

    /// The handles counted inside the heap, leaving zero for the next cycle.
    fn take_count(&self) -> usize {
        let state = self.state.get();
        self.state.set(state & !COUNT_MASK);
        (state & COUNT_MASK) as usize
    }

    /// Whether the object is marked in the cycle whose mark bit means `epoch`. Flipping the
    /// meaning at the start of each cycle unmarks every object at once, with no pass over
    /// the heap, and objects born with the current meaning are marked.
    pub fn is_marked(&self, epoch: bool) -> bool {
        marked_in(self.state.get(), epoch)
    }

    pub fn set_marked(&self, epoch: bool) {
        self.set_flag(MARK, epoch);
    }

    pub fn is_dropped(&self) -> bool {
        self.flag(DROPPED)
    }

    /// Drops the value with `drop_value` (the vtable's), unless that was done.
    ///
    /// # Safety
    /// The object is allocated and nothing reads its value again.
    #[inline(always)]
    unsafe fn drop_value(h: NonNull<Header>, drop_value: unsafe fn(NonNull<Header>)) {
        // SAFETY: allocated per the contract.
        let header = unsafe { h.as_ref() };
        if !header.is_dropped() {
            header.set_flag(DROPPED, true);
            // SAFETY: not dropped before (the flag), and not read again (the contract).
            unsafe { drop_value(h) };
        }
    }
}

/// Where a large object's memory starts, before its header, and its size with that word.
fn large_layout(layout: Layout) -> (Layout, usize) {
    let (whole, offset) = Layout::new::<usize>()
        .extend(layout)
        .expect("an object's layout with a word before it");
    (whole.pad_to_align(), offset)
}

/// Memory for a large object from the global allocator, with room before the header for
/// its table index.
fn alloc_large(layout: Layout) -> NonNull<u8> {
    let (whole, offset) = large_layout(layout);
    // SAFETY: the size is not zero. Unsampled by a profiling global allocator: the heap's
    // own profile samples the object.
    let p = profile::unsampled(|| unsafe { std::alloc::alloc(whole) });
    if p.is_null() {
        std::alloc::handle_alloc_error(whole);
    }
    // SAFETY: within the allocation.
    unsafe { NonNull::new_unchecked(p.add(offset)) }
}

/// # Safety
/// `h` is a large object (from [`alloc_large`]) whose value was dropped; nothing uses it
/// again.
unsafe fn dealloc_large(h: NonNull<Header>) {
    // SAFETY: allocated, per the contract.
    let (whole, offset) = large_layout(unsafe { h.as_ref() }.vtable.layout);
    // SAFETY: `alloc_large` returned the allocation's start plus `offset`.
    unsafe { std::alloc::dealloc(h.as_ptr().cast::<u8>().sub(offset), whole) };
}

/// The word before a large object's header, which holds its table index.
fn large_index(h: NonNull<Header>) -> *mut usize {
    // Pointer arithmetic only (no access): `alloc_large` left a word there.
    h.as_ptr().cast::<usize>().wrapping_sub(1)
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
    /// Completed collection cycles.
    pub num_gc: u64,
    /// The heap size at which the next cycle starts.
    pub next_gc: usize,
    /// Time the program was stopped for the collector: every slice of an incremental cycle,
    /// and every [`collect`](crate::collect) call, is one pause.
    pub pause_total: Duration,
    /// The most recent pauses, oldest first.
    pub recent_pauses: Vec<Duration>,
    /// The longest pause so far.
    pub pause_max: Duration,
    /// Whether a cycle is under way (between slices).
    pub cycle_running: bool,
}

/// The table's slots: an object's pointer, or a free slot holding the index of the next free
/// one (shifted, with the low bit set: object pointers are aligned, so theirs is clear).
mod slot {
    use super::Header;
    use std::ptr::NonNull;

    /// No next free slot.
    pub const NONE: usize = usize::MAX >> 1;

    pub fn free(next: usize) -> *mut Header {
        std::ptr::without_provenance_mut(next << 1 | 1)
    }

    pub fn next_free(slot: *mut Header) -> usize {
        debug_assert!(slot.addr() & 1 == 1);
        slot.addr() >> 1
    }

    pub fn object(slot: *mut Header) -> Option<NonNull<Header>> {
        if slot.addr() & 1 == 0 {
            NonNull::new(slot)
        } else {
            None
        }
    }
}

/// A destructor's panic, caught by the sweep and resumed when the heap is consistent.
type Panic = Box<dyn std::any::Any + Send>;

/// Where the running cycle is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    Idle,
    /// Counting internal handles (walking).
    Count,
    /// Marking: grey objects first, then (walking) deciding which objects are roots.
    Mark,
    /// Sweeping (walking).
    Sweep,
}

/// A phase's walk over the objects: the pages and the large objects' table as they were
/// when the phase began (what is added later was born marked), and how far it got.
#[derive(Clone, Copy, Debug, Default)]
struct Walk {
    pages: usize,
    large: usize,
    /// The next page, and the next slot in it.
    page: usize,
    slot: usize,
    /// The next entry of the large objects' table (once the pages are done).
    next_large: usize,
    /// Slots and entries visited so far.
    visited: usize,
}

struct Heap {
    bytes: Cell<usize>,
    objects: Cell<usize>,
    total_alloc_bytes: Cell<u64>,
    total_alloc_objects: Cell<u64>,
    collected_objects: Cell<u64>,
    num_gc: Cell<u64>,
    next_goal: Cell<usize>,
    /// The heap size at which the next cycle starts: a quarter of the growth before the
    /// goal (the runway), so that the cycle's work is spread over the allocation in between
    /// and the heap peaks near the goal (Go's trigger). What the program allocates during a
    /// cycle survives it (born marked), so a longer runway would leave the heap above the
    /// next trigger when the cycle ends.
    trigger: Cell<usize>,
    /// How much allocation a cycle's work is spread over.
    runway: Cell<usize>,
    /// Bytes of the objects the running cycle marked (the live heap, when it ends).
    marked_bytes: Cell<usize>,
    /// Go's GOGC: a negative value turns pacing off.
    gc_percent: Cell<i64>,
    /// A soft limit on the heap, in bytes; 0 when none.
    memory_limit: Cell<usize>,
    pause_total: Cell<Duration>,
    pause_max: Cell<Duration>,
    pauses: RefCell<VecDeque<Duration>>,
    /// Where objects of up to 32 KiB live.
    pages: Pages,
    /// The large objects, each at the index the word before its header records, and free
    /// entries (see [`slot`]), chained from `free_large`.
    large: RefCell<Vec<*mut Header>>,
    /// The first free entry of `large`, or [`slot::NONE`].
    free_large: Cell<usize>,
    /// The mark bit's meaning in the current (or last) cycle.
    epoch: Cell<bool>,
    phase: Cell<Phase>,
    walk: Cell<Walk>,
    /// Slots and entries to visit when the running cycle started (a walk's length).
    cycle_units: Cell<usize>,
    /// The running cycle's grey stack, between slices.
    tracer: RefCell<Tracer>,
    /// Objects shaded by the barriers, to be traced by the next slice.
    shaded: RefCell<Vec<NonNull<Header>>>,
    /// Objects whose last handle went while the sweep was dropping a value: their values
    /// are dropped by the sweep's loop rather than recursively.
    pending: RefCell<Vec<NonNull<Header>>>,
    /// The sweep is dropping a value.
    sweep_dropping: Cell<bool>,
    /// A slice or a full collection is running (a destructor cannot start another).
    busy: Cell<bool>,
    /// Bytes allocated since the running cycle's last slice.
    debt: Cell<usize>,
    /// The heap size by which the running cycle should end.
    cycle_goal: Cell<usize>,
    /// What the running (or last) cycle did, for `GOMEM_GCTRACE`.
    cycle: Cell<Option<gctrace::Cycle>>,
    /// `GOMEM_GCTRACE` asked for a line per cycle.
    gctrace: bool,
    /// Trace lines of cycles that ended in the pause under way, printed once it is over (so
    /// that printing does not lengthen it).
    trace_lines: RefCell<String>,
    /// When the heap was made (the trace's times count from it).
    born: Instant,
    /// When the pause under way began, while the program is stopped for the collector.
    pause_began: Cell<Option<Instant>>,
    /// The heap profile's sampler and samples.
    profile: Profiler,
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
            trigger: Cell::new(MIN_GOAL - MIN_GOAL / 4),
            runway: Cell::new(MIN_GOAL / 4),
            marked_bytes: Cell::new(0),
            gc_percent: Cell::new(gc_percent),
            memory_limit: Cell::new(0),
            pause_total: Cell::new(Duration::ZERO),
            pause_max: Cell::new(Duration::ZERO),
            pauses: RefCell::new(VecDeque::new()),
            pages: Pages::new(),
            large: RefCell::new(Vec::new()),
            free_large: Cell::new(slot::NONE),
            epoch: Cell::new(false),
            phase: Cell::new(Phase::Idle),
            walk: Cell::new(Walk::default()),
            cycle_units: Cell::new(0),
            tracer: RefCell::new(Tracer::new(Mode::CountInternal, false)),
            shaded: RefCell::new(Vec::new()),
            pending: RefCell::new(Vec::new()),
            sweep_dropping: Cell::new(false),
            busy: Cell::new(false),
            debt: Cell::new(0),
            cycle_goal: Cell::new(0),
            cycle: Cell::new(None),
            gctrace: gctrace::enabled(),
            trace_lines: RefCell::new(String::new()),
            born: Instant::now(),
            pause_began: Cell::new(None),
            profile: Profiler::new(profile::rate_from_env()),
        }
    }

    /// Sets the goal and trigger of the next cycle, for a live heap of `live` bytes.
    fn set_goal(&self, live: usize) {
        let goal = self.goal_after(live);
        let runway = (goal.saturating_sub(live) / 4).max(1 << 20);
        self.next_goal.set(goal);
        self.runway.set(runway);
        self.trigger.set(goal.saturating_sub(runway));
    }

    /// The heap goal after a cycle that left `live` bytes.
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

    /// Gives empty pages back to the OS, but for those the heap will grow back into before
    /// its next cycle starts. Only between cycles.
    fn trim(&self) {
        debug_assert_eq!(self.phase.get(), Phase::Idle);
        self.pages
            .trim(self.trigger.get().saturating_sub(self.bytes.get()));
    }

    /// Counts a new object (born marked: a cycle under way keeps it).
    #[inline(always)]
    fn track(&self, h: NonNull<Header>, size: usize) {
        // SAFETY: `h` was just allocated and initialized by this thread.
        let header = unsafe { h.as_ref() };
        header.set_marked(self.epoch.get());
        self.bytes.set(self.bytes.get() + size);
        self.objects.set(self.objects.get() + 1);
        let total = self.total_alloc_bytes.get() + size as u64;
        self.total_alloc_bytes.set(total);
        self.total_alloc_objects
            .set(self.total_alloc_objects.get() + 1);
        if self.profile.due(total) {
            header.set_flag(SAMPLED, true);
            self.profile.sample(h.as_ptr().addr(), size, total);
        }
    }

    /// Adds a new large object to the table.
    fn track_large(&self, h: NonNull<Header>) {
        // SAFETY: `h` was just allocated and initialized by this thread.
        let header = unsafe { h.as_ref() };
        header.set_flag(LARGE, true);
        let mut large = self.large.borrow_mut();
        let free = self.free_large.get();
        let index = if free != slot::NONE {
            self.free_large.set(slot::next_free(large[free]));
            large[free] = h.as_ptr();
            free
        } else {
            large.push(h.as_ptr());
            large.len() - 1
        };
        // SAFETY: `alloc_large` left a word before the header.
        unsafe { large_index(h).write(index) };
    }

    /// Frees an object whose value was dropped and which nothing points at.
    ///
    /// # Safety
    /// As said; the object is this heap's.
    #[inline(always)]
    unsafe fn free(&self, h: NonNull<Header>) {
        // SAFETY: allocated until freed below.
        let header = unsafe { h.as_ref() };
        if header.flag(SAMPLED) {
            self.profile.freed(h.as_ptr().addr());
        }
        self.bytes
            .set(self.bytes.get() - header.vtable.layout.size());
        self.objects.set(self.objects.get() - 1);
        if header.is_large() {
            // SAFETY: large objects keep their table index before their header.
            let index = unsafe { large_index(h).read() };
            self.large.borrow_mut()[index] = slot::free(self.free_large.replace(index));
            // SAFETY: per the contract.
            unsafe { dealloc_large(h) };
        } else {
            // SAFETY: per the contract; a page object's memory is a slot of these pages, and
            // its page starts over only between cycles.
            unsafe { self.pages.free(h.cast(), self.phase.get() == Phase::Idle) };
        }
    }

    /// The last handle to one of this heap's objects went: drop its value (or queue it, if
    /// the sweep is dropping one) and free it, unless the collector may point at it.
    ///
    /// # Safety
    /// `h` is an allocated object of this heap with no handle left.
    #[inline(always)]
    unsafe fn release<O: Object>(&self, h: NonNull<Header>) {
        // SAFETY: allocated per the contract.
        let header = unsafe { h.as_ref() };
        if !header.is_dropped() {
            if self.sweep_dropping.get() {
                self.pending.borrow_mut().push(h);
                return;
            }
            // SAFETY: no handle is left to read the value.
            unsafe { Header::drop_value(h, O::drop_value) };
        }
        // The grey stack may point at a large object while the cycle counts or marks, and
        // its memory could be reused by anything; the sweep frees it. (A page slot stays a
        // slot: see the module's invariants.)
        if header.is_large() && matches!(self.phase.get(), Phase::Count | Phase::Mark) {
            return;
        }
        // SAFETY: value dropped, no handle left, not pending.
        unsafe { self.free(h) };
    }

    /// The write barrier's work: keeps `h` alive through the running cycle.
    fn shade(&self, h: NonNull<Header>) {
        if !matches!(self.phase.get(), Phase::Count | Phase::Mark) {
            return;
        }
        // SAFETY: the caller holds a handle to `h`, or a value that holds one.
        let header = unsafe { h.as_ref() };
        let epoch = self.epoch.get();
        if !header.is_marked(epoch) && !header.is_untracked() {
            // Unmarked, so on the heap since before the cycle began.
            header.set_marked(epoch);
            self.marked_bytes
                .set(self.marked_bytes.get() + header.vtable.layout.size());
            self.shaded.borrow_mut().push(h);
        }
    }

    /// Starts a walk over the objects there are now.
    fn begin_walk(&self) {
        self.walk.set(Walk {
            pages: self.pages.len(),
            large: self.large.borrow().len(),
            ..Walk::default()
        });
    }

    /// Visits up to `budget` slots and table entries of the phase's walk, calling `visit`
    /// with each object found (free slots and entries are skipped) and its state. Returns
    /// how many it visited (at least one) and whether the walk is over.
    ///
    /// `visit` may drop values and free and allocate objects: nothing is borrowed while it
    /// runs, and what it frees ahead of the walk reads as free (or as a newborn, marked).
    fn walk_some(
        &self,
        budget: usize,
        mut visit: impl FnMut(NonNull<Header>, u32),
    ) -> (usize, bool) {
        let mut w = self.walk.get();
        let start = w.visited;
        let budget = budget.max(1);
        let over = loop {
            let left = budget - (w.visited - start);
            if left == 0 {
                break false;
            }
            if w.page < w.pages {
                // SAFETY: pages stay mapped during a cycle (only `trim` unmaps, between
                // cycles).
                let page = unsafe { self.pages.page(w.page).as_ref() };
                // An empty page has nothing to visit (most of a heap that shrank).
                let count = if page.is_empty() {
                    0
                } else {
                    page.slot_count()
                };
                let end = count.min(w.slot.saturating_add(left));
                for k in w.slot..end {
                    // SAFETY: a slot below the bump pointer.
                    let p = unsafe { NonNull::new_unchecked(page.slot(k).cast::<Header>()) };
                    // SAFETY: as above.
                    let state = unsafe { state_of(p) };
                    if state & FREE == 0 {
                        visit(p, state);
                    }
                }
                if end > w.slot {
                    w.visited += end - w.slot;
                    w.slot = end;
                } else {
                    w.visited += 1;
                    w.page += 1;
                    w.slot = 0;
                }
            } else if w.next_large < w.large {
                let p = self.large.borrow()[w.next_large];
                w.next_large += 1;
                w.visited += 1;
                if let Some(h) = slot::object(p) {
                    // SAFETY: objects in the table are allocated.
                    visit(h, unsafe { state_of(h) });
                }
            } else {
                break true;
            }
        };
        self.walk.set(w);
        ((w.visited - start).max(1), over)
    }

    /// Starts a cycle; `forced` when `collect()` asked for it.
    fn start_cycle(&self, forced: bool) {
        debug_assert_eq!(self.phase.get(), Phase::Idle);
        self.cycle.set(Some(gctrace::Cycle::new(
            self.bytes.get(),
            self.next_goal.get(),
            self.collected_objects.get(),
            forced,
        )));
        let epoch = !self.epoch.get();
        self.epoch.set(epoch);
        self.begin_walk();
        self.cycle_units
            .set(self.pages.slot_count() + self.large.borrow().len());
        let mut tracer = self.tracer.borrow_mut();
        tracer.mode = Mode::CountInternal;
        tracer.epoch = epoch;
        tracer.marked_bytes = 0;
        tracer.stack.clear();
        drop(tracer);
        self.phase.set(Phase::Count);
        self.debt.set(0);
        // The cycle's work is spread over the allocation up to the goal, or over a whole
        // runway if the heap is past the trigger already (see `slice`).
        self.cycle_goal.set(
            self.next_goal
                .get()
                .max(self.bytes.get().saturating_add(self.runway.get())),
        );
        self.marked_bytes.set(0);
        let _ = FAST.try_with(|f| {
            f.candidates.set(0);
            f.marking.set(true);
        });
    }

    /// About how many units of work the running cycle has left.
    fn work_left(&self) -> usize {
        let n = self.cycle_units.get();
        let left = n.saturating_sub(self.walk.get().visited);
        let grey = self.tracer.borrow().stack.len() + self.shaded.borrow().len();
        match self.phase.get() {
            Phase::Idle => 0,
            // Each object is traced once more and decided once, and each is swept.
            Phase::Count => left + 3 * n,
            Phase::Mark => grey + 2 * left + n,
            Phase::Sweep => left,
        }
    }

    /// Runs the cycle for `budget` units of work (one object traced, or one slot decided or
    /// swept, each). Returns whether the cycle ended. A panic of a destructor run by the
    /// sweep is returned to be resumed by the caller once the heap is consistent.
    fn work(&self, budget: usize, panic: &mut Option<Panic>) -> bool {
        let mut tracer = std::mem::replace(
            &mut *self.tracer.borrow_mut(),
            Tracer::new(Mode::Mark, false),
        );
        let epoch = self.epoch.get();
        let mut done = 0usize;
        // The slice's time, split by phase for the trace.
        let began = Instant::now();
        let mut lap = began;
        let running = self.phase.get() != Phase::Idle;
        let ended = loop {
            if done >= budget {
                break false;
            }
            match self.phase.get() {
                Phase::Idle => break true,
                Phase::Count => {
                    // Tracing cannot change the heap: `Trace` must not create or drop
                    // handles.
                    let (n, over) = self.walk_some(budget - done, |h, state| {
                        // Marked ones (shaded, so roots anyway) need no count.
                        if state & DROPPED == 0 && !marked_in(state, epoch) {
                            // SAFETY: an object whose value is not dropped; tracing only
                            // reads it.
                            unsafe { (h.as_ref().vtable.trace)(h, &mut tracer) };
                        }
                    });
                    done += n;
                    if over {
                        self.lap(Phase::Count, &mut lap);
                        tracer.mode = Mode::Mark;
                        self.begin_walk();
                        self.phase.set(Phase::Mark);
                    }
                }
                Phase::Mark => {
                    tracer.stack.append(&mut self.shaded.borrow_mut());
                    if let Some(h) = tracer.stack.pop() {
                        done += 1;
                        // SAFETY: grey objects are objects, or page slots freed since
                        // (module invariants).
                        let state = unsafe { state_of(h) };
                        if state & (FREE | DROPPED) == 0 {
                            // SAFETY: an object whose value is not dropped; tracing only
                            // reads it.
                            unsafe { (h.as_ref().vtable.trace)(h, &mut tracer) };
                        }
                        continue;
                    }
                    // Decide a run of objects: roots go grey, traced next. Every count is
                    // read and zeroed, so that all start at zero next cycle.
                    let (n, over) = self.walk_some(budget - done, |h, state| {
                        // SAFETY: an object (the walk skips free slots).
                        let header = unsafe { h.as_ref() };
                        let count = header.take_count();
                        if !marked_in(state, epoch)
                            && state & DROPPED == 0
                            && header.strong() > count
                        {
                            header.set_marked(epoch);
                            tracer.marked_bytes += header.vtable.layout.size();
                            tracer.stack.push(h);
                        }
                    });
                    done += n;
                    if over && tracer.stack.is_empty() && self.shaded.borrow().is_empty() {
                        // Marking is over: what is unmarked now is garbage, and the program
                        // cannot reach it, so the barriers can rest.
                        self.marked_bytes.set(
                            self.marked_bytes.get() + std::mem::take(&mut tracer.marked_bytes),
                        );
                        let _ = FAST.try_with(|f| f.marking.set(false));
                        self.lap(Phase::Mark, &mut lap);
                        self.begin_walk();
                        self.phase.set(Phase::Sweep);
                    }
                }
                Phase::Sweep => {
                    let (n, over) =
                        self.walk_some(budget - done, |h, state| self.sweep_one(h, state, panic));
                    done += n;
                    if over {
                        self.phase.set(Phase::Idle);
                        self.num_gc.set(self.num_gc.get() + 1);
                        // Go paces from the heap the cycle marked: what was allocated during
                        // the cycle is not known to be live, and counting it would let the
                        // goal creep up with every cycle.
                        self.set_goal(self.marked_bytes.get().min(self.bytes.get()));
                        self.trim();
                        self.lap(Phase::Sweep, &mut lap);
                        self.end_cycle(began);
                        break true;
                    }
                }
            }
        };
        *self.tracer.borrow_mut() = tracer;
        if running && !ended {
            self.lap(self.phase.get(), &mut lap);
            self.update_cycle(|c| c.slice(began.elapsed()));
        }
        ended
    }

    fn update_cycle(&self, f: impl FnOnce(&mut gctrace::Cycle)) {
        if let Some(mut cycle) = self.cycle.get() {
            f(&mut cycle);
            self.cycle.set(Some(cycle));
        }
    }

    /// Adds the time since `lap` to what the running cycle spent in `phase`.
    fn lap(&self, phase: Phase, lap: &mut Instant) {
        let now = Instant::now();
        let i = match phase {
            Phase::Idle => return,
            Phase::Count => 0,
            Phase::Mark => 1,
            Phase::Sweep => 2,
        };
        self.update_cycle(|c| c.paused[i] += now - *lap);
        *lap = now;
    }

    /// The cycle ended in the slice that began at `began`: its trace line, if asked for.
    fn end_cycle(&self, began: Instant) {
        self.update_cycle(|c| c.slice(began.elapsed()));
        if !self.gctrace {
            return;
        }
        let Some(cycle) = self.cycle.get() else {
            return;
        };
        let pausing = self
            .pause_began
            .get()
            .map_or(Duration::ZERO, |b| b.elapsed());
        let end = gctrace::End {
            number: self.num_gc.get(),
            at: self.born.elapsed(),
            paused_total: self.pause_total.get() + pausing,
            heap_end: self.bytes.get(),
            live: self.marked_bytes.get().min(self.bytes.get()),
            collected_after: self.collected_objects.get(),
        };
        self.trace_lines
            .borrow_mut()
            .push_str(&gctrace::line(&cycle, &end));
    }

    /// Sweeps an object of the walk, whose state was `state`.
    fn sweep_one(&self, h: NonNull<Header>, state: u32, panic: &mut Option<Panic>) {
        // SAFETY: an object (the walk skips free slots).
        let header = unsafe { h.as_ref() };
        if state & DROPPED != 0 {
            if header.strong() == 0 {
                // A large object whose last handle went while the collector marked (marked
                // or not: the barrier may have shaded it first).
                // SAFETY: no handle left, value dropped, the walk is past it.
                unsafe { self.free(h) };
            }
            // Otherwise a destructor kept a handle: freed when that handle goes.
            return;
        }
        if marked_in(state, self.epoch.get()) {
            return; // live
        }
        // Garbage. Holding one more count keeps the object allocated while its value drops,
        // whatever handles that drop releases (a cycle comes back to it).
        header.inc_strong();
        header.set_flag(DROPPED, true);
        self.sweep_dropping.set(true);
        let drop_value = header.vtable.drop_value;
        // SAFETY: the value is dropped exactly once (flag set above); reads check DROPPED.
        let result =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| unsafe { drop_value(h) }));
        if let Err(p) = result {
            panic.get_or_insert(p);
        }
        // Values of objects whose last handle went during that drop, iteratively (a long
        // garbage chain would otherwise drop recursively and could overflow the stack).
        loop {
            let next = self.pending.borrow_mut().pop();
            let Some(p) = next else { break };
            // SAFETY: pending objects have no handle and are not freed (`release`).
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| unsafe {
                Header::drop_value(p, p.as_ref().vtable.drop_value)
            }));
            if let Err(p) = result {
                panic.get_or_insert(p);
            }
            // SAFETY: no handle left (none can be made without one), value dropped; the
            // sweep is the phase, so nothing else points at it.
            unsafe { self.free(p) };
        }
        self.sweep_dropping.set(false);
        self.collected_objects.set(self.collected_objects.get() + 1);
        if header.dec_strong() == 0 {
            // SAFETY: no handle left (our count was the last), value dropped.
            unsafe { self.free(h) };
        }
        // Otherwise a destructor kept a handle: the memory stays until it goes, and
        // dereferencing it panics (DROPPED).
    }

    fn record_pause(&self, pause: Duration) {
        self.pause_total.set(self.pause_total.get() + pause);
        if pause > self.pause_max.get() {
            self.pause_max.set(pause);
        }
        let mut pauses = self.pauses.borrow_mut();
        if pauses.len() == RECENT_PAUSES {
            pauses.pop_front();
        }
        pauses.push_back(pause);
    }

    /// One slice of the running cycle (started first if `start`). Like Go's mark assists,
    /// a slice does the share of the work left that the allocation since the last slice
    /// earns, so that the cycle ends by its goal: the less room is left, the more work per
    /// slice. Past the goal, slices do at most four times their planned share and the heap
    /// overshoots instead (Go's soft goal), which keeps pauses short.
    fn slice(&self, start: bool) {
        self.exclusively(true, |panic| {
            if start {
                self.start_cycle(false);
            }
            let room = self
                .cycle_goal
                .get()
                .saturating_sub(self.bytes.get())
                .max(self.runway.get() / 4)
                .max(1);
            let share = (self.work_left() as u128 * SLICE_BYTES as u128 / room as u128) as usize;
            self.work(share.max(MIN_SLICE_WORK), panic);
        });
    }

    /// Finishes the running cycle, then runs a whole new one, without returning to the
    /// program in between. Returns false if a collection was already running.
    fn collect(&self) -> bool {
        self.exclusively(true, |panic| {
            if self.phase.get() != Phase::Idle {
                self.work(usize::MAX, panic);
            }
            self.start_cycle(true);
            self.work(usize::MAX, panic);
        })
    }

    /// Runs `collection` unless one is running already (a destructor the sweep runs cannot
    /// start another), recording its time as a pause if `pause`; then resumes the first
    /// panic of a destructor it ran, once the heap is consistent again. Returns whether it
    /// ran.
    fn exclusively(&self, pause: bool, collection: impl FnOnce(&mut Option<Panic>)) -> bool {
        if self.busy.replace(true) {
            return false;
        }
        let begin = Instant::now();
        if pause {
            self.pause_began.set(Some(begin));
        }
        let mut panic = None;
        collection(&mut panic);
        if pause {
            self.pause_began.set(None);
            self.record_pause(begin.elapsed());
        }
        self.busy.set(false);
        if self.gctrace {
            gctrace::print(&std::mem::take(&mut *self.trace_lines.borrow_mut()));
        }
        if let Some(p) = panic {
            std::panic::resume_unwind(p);
        }
        true
    }

    /// Called before each allocation of `size` bytes: starts a cycle when the heap reaches
    /// its goal, and pays for the running cycle's progress.
    #[inline(always)]
    fn pace(&self, size: usize) {
        if self.phase.get() != Phase::Idle {
            let debt = self.debt.get() + size;
            if debt >= SLICE_BYTES {
                self.debt.set(0);
                self.slice(false);
            } else {
                self.debt.set(debt);
            }
        } else if self.bytes.get() + size >= self.trigger.get() {
            self.at_trigger();
        }
    }

    #[cold]
    #[inline(never)]
    fn at_trigger(&self) {
        // Only a drop that left a handle count above zero can turn a cycle into garbage:
        // with none since the last cycle, a new one could not free anything.
        if FAST.try_with(|f| f.candidates.get()).unwrap_or(1) > 0 {
            self.slice(true);
        } else {
            self.set_goal(self.bytes.get());
            self.trim();
        }
    }
}

impl Drop for Heap {
    /// At thread exit: finish and run one more cycle for the cycles that are left. Objects
    /// still held from elsewhere (another thread-local, a leaked handle) stay allocated,
    /// since a handle may still use them, and become reference-counted only.
    fn drop(&mut self) {
        let this: &Heap = self;
        // Destructors run by this collection reach the heap through this pointer (the
        // thread-local itself is no longer accessible).
        let _ = TEARDOWN.try_with(|t| t.set(this as *const Heap));
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| this.collect()));
        let _ = TEARDOWN.try_with(|t| t.set(std::ptr::null()));
        let _ = FAST.try_with(|f| f.marking.set(false));
        this.begin_walk();
        this.walk_some(usize::MAX, |h, _| {
            // SAFETY: an object; nothing refers to the heap after this.
            unsafe { h.as_ref() }.set_flag(UNTRACKED, true);
        });
        this.pages.abandon();
    }
}

/// State the hot paths (`Gc::drop`, `GcCell::borrow_mut`) read without touching the heap.
struct Fast {
    /// Handles dropped since the last cycle started that left their object's count above
    /// zero. Only such a drop can turn a cycle into garbage (the drop of its last outside
    /// handle), so while it is zero a cycle could not free anything and is skipped.
    candidates: Cell<u64>,
    /// A cycle is counting or marking: the barriers must shade.
    marking: Cell<bool>,
}

thread_local! {
    static HEAP: Heap = Heap::new();
    static FAST: Fast = const {
        Fast {
            candidates: Cell::new(0),
            marking: Cell::new(false),
        }
    };
    /// The heap while its thread-local is being destroyed.
    static TEARDOWN: Cell<*const Heap> = const { Cell::new(std::ptr::null()) };
}

/// Runs `f` on this thread's heap, also while it is being torn down; `None` after that.
fn with_heap<R>(f: impl FnOnce(&Heap) -> R) -> Option<R> {
    let mut f = Some(f);
    if let Ok(r) = HEAP.try_with(|heap| (f.take().expect("called once"))(heap)) {
        return Some(r);
    }
    let heap = TEARDOWN.try_with(Cell::get).unwrap_or(std::ptr::null());
    if heap.is_null() {
        return None;
    }
    // SAFETY: the pointer is set only while `Heap::drop` runs on this thread, and the heap
    // is alive and used through shared references only until it is cleared.
    Some((f.take()?)(unsafe { &*heap }))
}

/// Called when a handle to `h` is dropped and its object still has others: the deletion
/// barrier, and the count of candidates for a cycle.
#[inline]
pub(crate) fn note_drop(h: NonNull<Header>) {
    let marking = FAST
        .try_with(|f| {
            f.candidates.set(f.candidates.get() + 1);
            f.marking.get()
        })
        .unwrap_or(false);
    if marking {
        with_heap(|heap| heap.shade(h));
    }
}

/// The write barrier of `GcCell`: while a cycle counts or marks, what a cell held before
/// it is changed is shaded.
#[inline]
pub(crate) fn write_barrier<T: Trace + ?Sized>(value: &T) {
    if FAST.try_with(|f| f.marking.get()).unwrap_or(false) {
        with_heap(|heap| {
            let mut tracer = Tracer::new(Mode::Mark, heap.epoch.get());
            value.trace(&mut tracer);
            heap.marked_bytes
                .set(heap.marked_bytes.get() + tracer.marked_bytes);
            heap.shaded.borrow_mut().append(&mut tracer.stack);
        });
    }
}

/// Allocates memory for an object of `layout`, lets `init` build the object in it, and
/// adds it to this thread's heap, doing collection work first if the heap's pacing asks for
/// it. `class` is the object's size class if it fits in a page ([`small_class`]). After
/// the heap is gone (thread exit) the object comes from the global allocator and is
/// reference-counted only.
#[inline(always)]
pub(crate) fn allocate(
    layout: Layout,
    class: Option<usize>,
    init: impl FnOnce(NonNull<u8>) -> NonNull<Header>,
) -> NonNull<Header> {
    let mut init = Some(init);
    let size = layout.size();
    let tracked = with_heap(|heap| {
        heap.pace(size);
        let init = init.take().expect("called once");
        let h = match class {
            Some(class) => init(heap.pages.alloc(class)),
            None => {
                let h = init(alloc_large(layout));
                heap.track_large(h);
                h
            }
        };
        heap.track(h, size);
        h
    });
    match tracked {
        Some(h) => h,
        None => {
            let h = (init.take().expect("not called: the heap was gone"))(alloc_large(layout));
            // SAFETY: just made.
            let header = unsafe { h.as_ref() };
            header.set_flag(LARGE | UNTRACKED, true);
            h
        }
    }
}

/// The size class of objects of `layout` if they live in pages; `None` if they are large
/// (and for every object with the `system-alloc` feature, so that valgrind sees each).
pub(crate) const fn small_class(layout: Layout) -> Option<usize> {
    if cfg!(feature = "system-alloc")
        || layout.size() > pages::MAX_SMALL
        || layout.align() > pages::MAX_ALIGN
    {
        None
    } else {
        Some(pages::class_of(layout.size()))
    }
}

/// Called when an object's strong count reached zero: drops its value unless that was done,
/// and frees it (see [`Heap::release`] for when that waits).
///
/// # Safety
/// `h` is an allocated object of this thread, of type `O`, with no handle left.
#[inline(always)]
pub(crate) unsafe fn release<O: Object>(h: NonNull<Header>) {
    // SAFETY: allocated per the contract.
    let header = unsafe { h.as_ref() };
    if !header.is_untracked() {
        // SAFETY: per the contract; a tracked object's heap is this thread's, alive while
        // it is tracked (its teardown flags what it leaves behind as untracked).
        if with_heap(|heap| unsafe { heap.release::<O>(h) }).is_some() {
            return;
        }
    }
    // SAFETY: no handle is left to read the value.
    unsafe { Header::drop_value(h, O::drop_value) };
    if header.is_large() {
        // SAFETY: off any heap, value dropped, no handle left.
        unsafe { dealloc_large(h) };
    }
    // A page object left behind by its heap keeps its slot: the page is abandoned.
}

/// Runs a full collection now, like Go's `runtime.GC()`: finishes the cycle under way, then
/// runs a whole one, blocking. Does nothing when called from a destructor that a
/// collection is running.
pub fn collect() {
    with_heap(|heap| heap.collect());
}

/// Runs up to `work` units of incremental collection now, starting a cycle if none is under
/// way; for tests that interleave the program with a cycle.
#[doc(hidden)]
pub fn collect_step(work: usize) {
    with_heap(|heap| {
        heap.exclusively(false, |panic| {
            if heap.phase.get() == Phase::Idle {
                heap.start_cycle(false);
            }
            heap.work(work, panic);
        })
    });
}

/// Sets the heap growth, in percent of the live heap, that starts the next collection (Go's
/// `debug.SetGCPercent`); a negative value turns automatic collection off. Returns the
/// previous setting. The default is 100, or the `GOMEM_GOGC` environment variable.
pub fn set_gc_percent(percent: i64) -> i64 {
    HEAP.with(|heap| {
        let old = heap.gc_percent.replace(percent);
        heap.set_goal(heap.bytes.get());
        old
    })
}

/// Sets a soft limit on this thread's heap, in bytes (Go's `debug.SetMemoryLimit`): the
/// collector runs early to stay under it. 0 removes the limit. Returns the previous limit.
pub fn set_memory_limit(bytes: usize) -> usize {
    HEAP.with(|heap| {
        let old = heap.memory_limit.replace(bytes);
        heap.set_goal(heap.bytes.get());
        old
    })
}

/// Sets how often allocations are sampled for the heap profile: on average one per `bytes`
/// allocated (Go's `runtime.MemProfileRate`); 0 turns sampling off, 1 samples every
/// allocation. Returns the previous rate. The default is 0, or the `GOMEM_MEMPROFILERATE`
/// environment variable. Objects allocated before sampling was on are not in the profile,
/// and each sample is scaled by the rate it was drawn at. It sets the rate of this thread's
/// GC heap and of the profiling global allocator ([`Profiled`](crate::Profiled)), if the
/// program uses one.
pub fn set_mem_profile_rate(bytes: u64) -> u64 {
    profile::set_allocator_rate(bytes);
    HEAP.with(|heap| {
        let old = heap.profile.rate();
        heap.profile.set_rate(bytes, heap.total_alloc_bytes.get());
        old
    })
}

/// Writes the heap profile in pprof's format (Go's `pprof.WriteHeapProfile`): for each
/// sampled call stack, what it allocated while sampling was on and what of that is still
/// allocated, scaled up from the samples. It covers this thread's GC heap and, with the
/// profiling global allocator ([`Profiled`](crate::Profiled)), every sampled allocation of
/// the program. Read it with `go tool pprof`. It has no samples if sampling was never
/// turned on (see [`set_mem_profile_rate`]).
pub fn write_heap_profile(out: &mut impl std::io::Write) -> std::io::Result<()> {
    HEAP.with(|heap| heap.profile.write(out, heap.born.elapsed()))
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
        pause_max: heap.pause_max.get(),
        cycle_running: heap.phase.get() != Phase::Idle,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    static VT: VTable = VTable {
        trace: |_, _| {},
        drop_value: |_| {},
        layout: Layout::new::<Header>(),
    };

    #[test]
    fn a_header_is_two_words() {
        assert_eq!(std::mem::size_of::<Header>(), 16);
    }

    #[test]
    fn the_count_lives_below_the_flags_and_saturates() {
        let h = Header::new(&VT);
        h.set_marked(true);
        h.set_flag(DROPPED, true);
        h.count_one();
        h.count_one();
        assert!(h.is_marked(true) && h.is_dropped() && !h.is_untracked());
        assert_eq!(h.take_count(), 2);
        assert_eq!(h.take_count(), 0);
        h.state.set(h.state.get() | (COUNT_MASK - 1));
        h.count_one();
        h.count_one();
        assert_eq!(h.take_count(), COUNT_MASK as usize);
        assert!(h.is_marked(true) && h.is_dropped() && !h.is_untracked());
    }
}
