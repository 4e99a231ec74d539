//! The per-thread heap: the table of objects, allocation, pacing, statistics, and the
//! incremental cycle collector.
//!
//! A collection cycle runs in short slices between the program's own work (on allocation,
//! as Go's mark assists do), in three phases over the objects that were on the heap when it
//! started (the *snapshot*: table indices below `snapshot`):
//! 1. **Count**: trace each object and count, for each, the handles found inside the heap.
//! 2. **Mark**: an object with more handles than that count is held from outside the heap (a
//!    root); mark everything reachable from the roots (tri-colour: grey objects wait on a
//!    stack).
//! 3. **Sweep**: drop and free the objects left unmarked, from the top of the snapshot down.
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
//! - a tracked object is in its thread's table, at the index its header records, from
//!   allocation until it is freed (objects never move in the table; a freed slot is
//!   reused); only that thread touches the table or the headers;
//! - while counting or marking, objects of the snapshot stay in the table and allocated
//!   even when their last handle goes (their value is dropped, their memory waits for the
//!   sweep): the collector's cursors and grey stack point at them; while sweeping, the same
//!   holds for the objects below the sweep cursor;
//! - once `DROPPED` is set, the value has been dropped and is never read or dropped again.

use std::alloc::Layout;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::ptr::NonNull;
use std::time::{Duration, Instant};

use crate::trace::{Mode, Trace, Tracer};

// Flags, in the top bits of `Header::state`; the rest is the object's table index.
/// The mark bit; what it means flips with every cycle (see [`Header::is_marked`]).
const MARK: u32 = 1 << 31;
const DROPPED: u32 = 1 << 30;
/// In the heap's table. Objects allocated after the heap was torn down at thread exit, or
/// beyond the table's capacity, are reference-counted only (a cycle through them leaks).
const TRACKED: u32 = 1 << 29;
/// Allocated from the thread's arena (not the global allocator).
const ARENA: u32 = 1 << 28;
const INDEX_MASK: u32 = ARENA - 1;
/// How many objects one thread's table can hold (268 million).
const MAX_TRACKED: usize = INDEX_MASK as usize;

/// Go's minimum heap goal: below this, collecting is not worth it.
const MIN_GOAL: usize = 4 << 20;
/// How many recent pause times [`MemStats::recent_pauses`] keeps.
const RECENT_PAUSES: usize = 256;
/// A running cycle takes a slice after every this many bytes allocated.
const SLICE_BYTES: usize = 8 << 10;
/// The least work a slice does, in objects visited.
const MIN_SLICE_WORK: usize = 1024;

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
/// 16 bytes: the handle count, the flags with the object's table index, and the type's
/// operations.
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

    /// The object's index in the heap's table, if it is tracked.
    pub fn index(&self) -> Option<usize> {
        let state = self.state.get();
        (state & TRACKED != 0).then_some((state & INDEX_MASK) as usize)
    }

    fn set_index(&self, index: usize) {
        debug_assert!(index <= MAX_TRACKED);
        self.state
            .set((self.state.get() & !INDEX_MASK) | TRACKED | index as u32);
    }

    /// Whether the object is marked in the cycle whose mark bit means `epoch`. Flipping the
    /// meaning at the start of each cycle unmarks every object at once, with no pass over
    /// the heap, and objects born with the current meaning are marked.
    pub fn is_marked(&self, epoch: bool) -> bool {
        self.flag(MARK) == epoch
    }

    pub fn set_marked(&self, epoch: bool) {
        self.set_flag(MARK, epoch);
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
    /// Zeroing the counts' new chunks (a heap that grew since the last cycle).
    Zero,
    /// Counting internal handles: the next snapshot index to trace.
    Count(usize),
    /// Marking: grey objects first, then the next snapshot index to decide whether it is a
    /// root.
    Mark(usize),
    /// Sweeping downwards: snapshot indices below this are still to visit.
    Sweep(usize),
}

/// What [`release`] does with an object whose last handle went.
enum Release {
    /// Drop the value (if not dropped yet) and free the memory: the heap let go of it.
    Free,
    /// Drop the value but keep the memory: the collector still points at it (it frees the
    /// memory when its sweep reaches the object).
    DropValueOnly,
    /// Nothing now: the sweep drops the value and frees the memory.
    Nothing,
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
    /// Every tracked object, each at the index its header records, and free slots (see
    /// [`slot`]), chained from `free_slot`. The table never shrinks (8 bytes for each
    /// object of the heap's peak).
    table: RefCell<Vec<*mut Header>>,
    /// The first free slot of the table, or [`slot::NONE`].
    free_slot: Cell<usize>,
    /// The mark bit's meaning in the current (or last) cycle.
    epoch: Cell<bool>,
    phase: Cell<Phase>,
    /// How many objects the table held when the running cycle started.
    snapshot: Cell<usize>,
    /// The running cycle's counts and grey stack, between slices.
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
    /// Where the objects' memory comes from.
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
            trigger: Cell::new(MIN_GOAL - MIN_GOAL / 4),
            runway: Cell::new(MIN_GOAL / 4),
            marked_bytes: Cell::new(0),
            gc_percent: Cell::new(gc_percent),
            memory_limit: Cell::new(0),
            pause_total: Cell::new(Duration::ZERO),
            pause_max: Cell::new(Duration::ZERO),
            pauses: RefCell::new(VecDeque::new()),
            table: RefCell::new(Vec::new()),
            free_slot: Cell::new(slot::NONE),
            epoch: Cell::new(false),
            phase: Cell::new(Phase::Idle),
            snapshot: Cell::new(0),
            tracer: RefCell::new(Tracer::new(Mode::CountInternal, false, 0)),
            shaded: RefCell::new(Vec::new()),
            pending: RefCell::new(Vec::new()),
            sweep_dropping: Cell::new(false),
            busy: Cell::new(false),
            debt: Cell::new(0),
            cycle_goal: Cell::new(0),
            arena: crate::alloc::Arena::new(),
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

    fn track(&self, h: NonNull<Header>, size: usize) {
        // SAFETY: `h` was just allocated and initialized by this thread.
        let header = unsafe { h.as_ref() };
        {
            let mut table = self.table.borrow_mut();
            let free = self.free_slot.get();
            if free != slot::NONE {
                self.free_slot.set(slot::next_free(table[free]));
                table[free] = h.as_ptr();
                header.set_index(free);
            } else if table.len() < MAX_TRACKED {
                header.set_index(table.len());
                table.push(h.as_ptr());
            } else {
                return; // reference-counted only
            }
        }
        // Born marked: a cycle under way keeps it.
        header.set_marked(self.epoch.get());
        self.bytes.set(self.bytes.get() + size);
        self.objects.set(self.objects.get() + 1);
        self.total_alloc_bytes
            .set(self.total_alloc_bytes.get() + size as u64);
        self.total_alloc_objects
            .set(self.total_alloc_objects.get() + 1);
    }

    /// Takes a tracked object out of the table (its slot becomes free).
    fn untrack(&self, h: NonNull<Header>) {
        // SAFETY: `h` is allocated until its caller frees it after this.
        let header = unsafe { h.as_ref() };
        let Some(index) = header.index() else {
            return;
        };
        self.table.borrow_mut()[index] = slot::free(self.free_slot.replace(index));
        // The header keeps its (stale) index: every caller frees the object right after.
        // (Clearing the flag here, a byte store just before `release` reads the whole
        // word, cost a store-forwarding stall on every free: 30% of binary-trees.)
        self.bytes.set(self.bytes.get() - header.vtable.size);
        self.objects.set(self.objects.get() - 1);
    }

    /// Whether the collector may still point at the object at table `index`.
    fn collector_holds(&self, index: usize) -> bool {
        match self.phase.get() {
            Phase::Idle => false,
            Phase::Zero | Phase::Count(_) | Phase::Mark(_) => index < self.snapshot.get(),
            Phase::Sweep(below) => index < below,
        }
    }

    /// The last handle to a tracked object went.
    fn on_last_handle(&self, h: NonNull<Header>) -> Release {
        // SAFETY: the caller's contract: allocated, no handle left.
        let header = unsafe { h.as_ref() };
        let Some(index) = header.index() else {
            return Release::Free;
        };
        if !self.collector_holds(index) {
            self.untrack(h);
            Release::Free
        } else if header.is_dropped() {
            Release::Nothing
        } else if self.sweep_dropping.get() {
            self.pending.borrow_mut().push(h);
            Release::Nothing
        } else {
            Release::DropValueOnly
        }
    }

    /// The write barrier's work: keeps `h` alive through the running cycle.
    fn shade(&self, h: NonNull<Header>) {
        if !matches!(
            self.phase.get(),
            Phase::Zero | Phase::Count(_) | Phase::Mark(_)
        ) {
            return;
        }
        // SAFETY: the caller holds a handle to `h`, or a value that holds one.
        let header = unsafe { h.as_ref() };
        let Some(index) = header.index() else {
            return;
        };
        let epoch = self.epoch.get();
        if !header.is_marked(epoch) {
            header.set_marked(epoch);
            if index < self.snapshot.get() {
                self.marked_bytes
                    .set(self.marked_bytes.get() + header.vtable.size);
                self.shaded.borrow_mut().push(h);
            }
        }
    }

    fn start_cycle(&self) {
        debug_assert_eq!(self.phase.get(), Phase::Idle);
        let epoch = !self.epoch.get();
        self.epoch.set(epoch);
        let n = self.table.borrow().len();
        self.snapshot.set(n);
        let mut tracer = self.tracer.borrow_mut();
        tracer.mode = Mode::CountInternal;
        tracer.epoch = epoch;
        tracer.snapshot = n;
        tracer.marked_bytes = 0;
        tracer.stack.clear();
        // All zero since the last root scan; only the growth is written now.
        tracer.counts.fit(n);
        drop(tracer);
        self.phase.set(Phase::Zero);
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
        let n = self.snapshot.get();
        let grey = self.tracer.borrow().stack.len() + self.shaded.borrow().len();
        match self.phase.get() {
            Phase::Idle => 0,
            Phase::Zero => 4 * n,
            // Each object is traced once more and decided once, and each is swept.
            Phase::Count(i) => (n - i) + 3 * n,
            Phase::Mark(i) => grey + 2 * (n - i) + n,
            Phase::Sweep(below) => below,
        }
    }

    /// Runs the cycle for `budget` units of work (one object traced, decided or swept each).
    /// Returns whether the cycle ended. A panic of a destructor run by the sweep is returned
    /// to be resumed by the caller once the heap is consistent.
    fn work(&self, budget: usize, panic: &mut Option<Panic>) -> bool {
        let mut tracer = std::mem::replace(
            &mut *self.tracer.borrow_mut(),
            Tracer::new(Mode::Mark, false, 0),
        );
        let epoch = self.epoch.get();
        let snapshot = self.snapshot.get();
        let mut done = 0usize;
        let ended = loop {
            if done >= budget {
                break false;
            }
            done += 1;
            match self.phase.get() {
                Phase::Idle => break true,
                Phase::Zero => {
                    // A unit of work zeroes about what it costs to trace an object.
                    if tracer.counts.zero_some(64) {
                        self.phase.set(Phase::Count(0));
                    }
                }
                Phase::Count(i) if i < snapshot => {
                    // A run of the table at once (tracing cannot change the table: `Trace`
                    // must not create or drop handles).
                    let end = snapshot.min(i.saturating_add(budget - done + 1));
                    let table = self.table.borrow();
                    for &p in &table[i..end] {
                        let Some(h) = slot::object(p) else { continue };
                        // SAFETY: snapshot objects stay allocated and in place while counting.
                        let header = unsafe { h.as_ref() };
                        // Marked ones (shaded, so roots anyway) need no count.
                        if !header.is_dropped() && !header.is_marked(epoch) {
                            // SAFETY: allocated, value not dropped; tracing only reads it.
                            unsafe { (header.vtable.trace)(h, &mut tracer) };
                        }
                    }
                    drop(table);
                    done += end - i - 1;
                    self.phase.set(Phase::Count(end));
                }
                Phase::Count(_) => {
                    tracer.mode = Mode::Mark;
                    self.phase.set(Phase::Mark(0));
                }
                Phase::Mark(i) => {
                    tracer.stack.append(&mut self.shaded.borrow_mut());
                    if let Some(h) = tracer.stack.pop() {
                        // SAFETY: grey objects are snapshot objects, allocated while marking.
                        let header = unsafe { h.as_ref() };
                        if !header.is_dropped() {
                            // SAFETY: as above; tracing only reads the value.
                            unsafe { (header.vtable.trace)(h, &mut tracer) };
                        }
                    } else if i < snapshot {
                        // Decide a run of the table: roots go grey, traced next.
                        let end = snapshot.min(i.saturating_add(budget - done + 1));
                        let table = self.table.borrow();
                        for (k, &p) in table[i..end].iter().enumerate() {
                            // Read (and zero) every entry, so the counts start at zero next
                            // cycle.
                            let count = tracer.take_count(i + k);
                            let Some(h) = slot::object(p) else { continue };
                            // SAFETY: as while counting.
                            let header = unsafe { h.as_ref() };
                            if !header.is_marked(epoch)
                                && !header.is_dropped()
                                && header.strong() > count
                            {
                                header.set_marked(epoch);
                                tracer.marked_bytes += header.vtable.size;
                                tracer.stack.push(h);
                            }
                        }
                        drop(table);
                        done += end - i - 1;
                        self.phase.set(Phase::Mark(end));
                    } else {
                        // Marking is over: what is unmarked now is garbage, and the program
                        // cannot reach it, so the barriers can rest.
                        self.marked_bytes.set(
                            self.marked_bytes.get() + std::mem::take(&mut tracer.marked_bytes),
                        );
                        let _ = FAST.try_with(|f| f.marking.set(false));
                        self.phase.set(Phase::Sweep(snapshot));
                    }
                }
                Phase::Sweep(0) => {
                    self.phase.set(Phase::Idle);
                    self.num_gc.set(self.num_gc.get() + 1);
                    // Go paces from the heap the cycle marked: what was allocated during
                    // the cycle is not known to be live, and counting it would let the
                    // goal creep up with every cycle.
                    self.set_goal(self.marked_bytes.get().min(self.bytes.get()));
                    break true;
                }
                Phase::Sweep(below) => {
                    self.sweep_one(below - 1, epoch, panic);
                    self.phase.set(Phase::Sweep(below - 1));
                }
            }
        };
        *self.tracer.borrow_mut() = tracer;
        ended
    }

    /// Sweeps the object at table `index` (the phase is `Sweep(index + 1)`).
    fn sweep_one(&self, index: usize, epoch: bool, panic: &mut Option<Panic>) {
        let Some(h) = slot::object(self.table.borrow()[index]) else {
            return; // a free slot
        };
        // SAFETY: objects below the sweep cursor stay allocated and in place.
        let header = unsafe { h.as_ref() };
        if header.is_marked(epoch) {
            return; // live
        }
        if header.is_dropped() {
            if header.strong() == 0 {
                // A value dropped while the collector held the memory.
                self.untrack(h);
                // SAFETY: no handle left, value dropped, out of the table.
                unsafe { (header.vtable.dealloc)(h) };
            }
            // Otherwise a destructor kept a handle: freed when that handle goes.
            return;
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
            // SAFETY: pending objects are below the sweep cursor, so still allocated.
            let pending = unsafe { p.as_ref() };
            if !pending.is_dropped() {
                pending.set_flag(DROPPED, true);
                let drop_value = pending.vtable.drop_value;
                // SAFETY: as above, for the pending object.
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| unsafe {
                    drop_value(p)
                }));
                if let Err(p) = result {
                    panic.get_or_insert(p);
                }
            }
        }
        self.sweep_dropping.set(false);
        self.collected_objects.set(self.collected_objects.get() + 1);
        if header.dec_strong() == 0 {
            self.untrack(h);
            // SAFETY: no handle left (our count was the last), value dropped.
            unsafe { (header.vtable.dealloc)(h) };
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
                self.start_cycle();
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
            self.start_cycle();
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
        let mut panic = None;
        collection(&mut panic);
        if pause {
            self.record_pause(begin.elapsed());
        }
        self.busy.set(false);
        if let Some(p) = panic {
            std::panic::resume_unwind(p);
        }
        true
    }

    /// Called before each allocation of `size` bytes: starts a cycle when the heap reaches
    /// its goal, and pays for the running cycle's progress.
    #[inline]
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
            // Only a drop that left a handle count above zero can turn a cycle into garbage:
            // with none since the last cycle, a new one could not free anything.
            if FAST.try_with(|f| f.candidates.get()).unwrap_or(1) > 0 {
                self.slice(true);
            } else {
                self.set_goal(self.bytes.get());
            }
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
        for &p in this.table.borrow().iter() {
            if let Some(h) = slot::object(p) {
                // SAFETY: objects in the table are allocated; after this nothing refers to
                // the table by their index.
                unsafe { h.as_ref() }.set_flag(TRACKED, false);
            }
        }
        let _ = TEARDOWN.try_with(|t| t.set(std::ptr::null()));
        let _ = FAST.try_with(|f| f.marking.set(false));
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
            let mut tracer = Tracer::new(Mode::Mark, heap.epoch.get(), heap.snapshot.get());
            value.trace(&mut tracer);
            heap.marked_bytes
                .set(heap.marked_bytes.get() + tracer.marked_bytes);
            heap.shaded.borrow_mut().append(&mut tracer.stack);
        });
    }
}

/// Allocates memory for an object of `layout`, lets `init` build the object in it (told
/// whether the memory is the arena's), and adds it to this thread's heap, doing collection
/// work first if the heap's pacing asks for it. After the heap is gone (thread exit) the
/// object comes from the global allocator and is reference-counted only.
pub(crate) fn allocate(
    layout: Layout,
    init: impl FnOnce(NonNull<u8>, bool) -> NonNull<Header>,
) -> NonNull<Header> {
    let mut init = Some(init);
    let size = layout.size();
    let tracked = with_heap(|heap| {
        heap.pace(size);
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
        Some(h) => h,
        None => {
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

/// Called when an object's strong count reached zero: takes it off the heap, drops its
/// value unless that was done, and frees it, unless the collector still points at it (then
/// the collector's sweep frees it).
///
/// # Safety
/// `h` is an allocated object of this thread with no handle left.
pub(crate) unsafe fn release(h: NonNull<Header>) {
    // SAFETY: allocated per the contract.
    let header = unsafe { h.as_ref() };
    let action = if header.index().is_some() {
        with_heap(|heap| heap.on_last_handle(h)).unwrap_or(Release::Free)
    } else {
        Release::Free
    };
    if matches!(action, Release::Nothing) {
        return;
    }
    if !header.is_dropped() {
        header.set_flag(DROPPED, true);
        // SAFETY: not dropped before (flag), and no handle is left to read it.
        unsafe { (header.vtable.drop_value)(h) };
    }
    if matches!(action, Release::Free) {
        // SAFETY: no handle is left, the value is dropped, and the table no longer holds it.
        unsafe { (header.vtable.dealloc)(h) };
    }
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
                heap.start_cycle();
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
        dealloc: |_| {},
        size: 16,
    };

    #[test]
    fn a_header_is_two_words() {
        assert_eq!(std::mem::size_of::<Header>(), 16);
    }

    #[test]
    fn the_index_lives_below_the_flags() {
        let h = Header::new(&VT, true);
        assert_eq!(h.index(), None);
        h.set_index(MAX_TRACKED);
        assert_eq!(h.index(), Some(MAX_TRACKED));
        h.set_marked(true);
        h.set_index(7);
        assert_eq!(h.index(), Some(7));
        assert!(h.in_arena() && !h.is_dropped() && h.is_marked(true) && !h.is_marked(false));
    }
}
