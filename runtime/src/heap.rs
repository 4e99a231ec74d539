//! The per-thread heap: what ties the object space, the candidate buffers, the pacer and the
//! collector together, and the entry points the handles use (allocation, a handle's last
//! drop, the barriers) and the public functions (`collect`, `stats`, the settings).
//!
//! When cycles run: a **young** cycle when enough young candidates wait (8192, more while
//! young cycles find little garbage), started by the next allocation; a **full** cycle when the heap reaches the pacer's trigger, if
//! any candidate waits (garbage cycles appear only when a handle is dropped while its
//! object keeps others: with no candidate, a cycle could not free anything). A running
//! cycle takes a slice after every [`SLICE_BYTES`] allocated, as Go's mark assists do:
//! a young cycle as much as the slice's time allows, a full one the share of its work that the
//! allocation since the last slice earns, so that it ends by the goal; both within
//! [`MIN_SLICE_WORK`]..[`MAX_SLICE_WORK`] units, which keeps every pause short.
//!
//! Invariants: only the heap's thread touches it; a collection (slice or `collect`) never
//! starts inside another (`busy`: a destructor the sweep runs cannot start one); an object
//! is freed only by [`Space::free`], once its value is dropped, no handle is left and no
//! collector list pins it.

use std::alloc::Layout;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::ptr::NonNull;
use std::time::{Duration, Instant};

use crate::candidates::Candidates;
use crate::cycle::{self, Collector, Outcome, Panic, Phase};
use crate::gctrace;
use crate::large;
use crate::object::{Header, Object, ACYCLIC, BUFFERED, DROPPED, LARGE, MARK, MEMBER, UNTRACKED};
use crate::pacer::Pacer;
use crate::space::Space;
use crate::trace::Trace;

/// How many recent pause times [`MemStats::recent_pauses`] keeps.
const RECENT_PAUSES: usize = 256;
/// A running cycle takes a slice after every this many bytes allocated.
const SLICE_BYTES: usize = 8 << 10;
/// The least and the most work a slice does, in units (an object traced, a root taken, a
/// member decided or swept: tens of nanoseconds each).
const MIN_SLICE_WORK: usize = 1024;
const MAX_SLICE_WORK: usize = 16 << 10;
/// The longest a slice runs (it stops at the first look at the clock past this).
const MAX_SLICE_TIME: Duration = Duration::from_micros(200);

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
    /// Completed collection cycles, young and full.
    pub num_gc: u64,
    /// Completed full cycles (those that examine old objects too).
    pub num_full_gc: u64,
    /// Objects the collection cycles examined (the subgraphs their candidates reach): the
    /// collector's work, which follows the garbage rather than the heap.
    pub examined_objects: u64,
    /// Objects waiting in the candidate buffers: possible roots of garbage cycles, which the
    /// next cycles examine.
    pub candidates: usize,
    /// The heap size at which the next full cycle starts.
    pub next_gc: usize,
    /// Time the program was stopped for the collector: every slice of an incremental cycle,
    /// and every [`collect`](crate::collect) call, is one pause.
    pub pause_total: Duration,
    /// The most recent pauses, oldest first.
    pub recent_pauses: Vec<Duration>,
    /// The longest pause so far.
    pub pause_max: Duration,
    /// The thread's CPU time in those pauses, total and longest: the collector's own cost,
    /// where the wall-clock figures above also count the time the thread waited for a core
    /// while paused (on a busy machine, most of a long pause). Zero where the platform has
    /// no per-thread CPU clock.
    pub pause_cpu_total: Duration,
    pub pause_cpu_max: Duration,
    /// Whether a cycle is under way (between slices).
    pub cycle_running: bool,
}

struct Heap {
    space: Space,
    pacer: Pacer,
    candidates: Candidates,
    collector: Collector,
    /// The heap size at which the allocation path looks at starting a cycle: the pacer's
    /// trigger, or 0 once a young cycle is due.
    check: Cell<usize>,
    collected_objects: Cell<u64>,
    examined_objects: Cell<u64>,
    num_gc: Cell<u64>,
    num_full_gc: Cell<u64>,
    pause_total: Cell<Duration>,
    pause_max: Cell<Duration>,
    pause_cpu_total: Cell<Duration>,
    pause_cpu_max: Cell<Duration>,
    pauses: RefCell<VecDeque<Duration>>,
    /// A slice or a full collection is running (a destructor cannot start another).
    busy: Cell<bool>,
    /// Bytes allocated since the running cycle's last slice.
    debt: Cell<usize>,
    /// The heap size by which the running full cycle should end.
    cycle_goal: Cell<usize>,
    /// `GOMEM_GCTRACE` asked for a line per cycle.
    gctrace: bool,
    /// Trace lines of cycles that ended in the pause under way, printed once it is over (so
    /// that printing does not lengthen it).
    trace_lines: RefCell<String>,
    /// When the heap was made (the trace's times count from it).
    born: Instant,
    /// When the pause under way began, while the program is stopped for the collector.
    pause_began: Cell<Option<Instant>>,
}

impl Heap {
    fn new() -> Heap {
        let pacer = Pacer::new();
        Heap {
            check: Cell::new(pacer.trigger.get()),
            space: Space::new(),
            pacer,
            candidates: Candidates::new(),
            collector: Collector::new(),
            collected_objects: Cell::new(0),
            examined_objects: Cell::new(0),
            num_gc: Cell::new(0),
            num_full_gc: Cell::new(0),
            pause_total: Cell::new(Duration::ZERO),
            pause_max: Cell::new(Duration::ZERO),
            pause_cpu_total: Cell::new(Duration::ZERO),
            pause_cpu_max: Cell::new(Duration::ZERO),
            pauses: RefCell::new(VecDeque::new()),
            busy: Cell::new(false),
            debt: Cell::new(0),
            cycle_goal: Cell::new(0),
            gctrace: gctrace::enabled(),
            trace_lines: RefCell::new(String::new()),
            born: Instant::now(),
            pause_began: Cell::new(None),
        }
    }

    /// Sets when the allocation path next looks at starting a cycle.
    fn update_check(&self) {
        // GOGC=off turns young cycles off too.
        let young_due = self.candidates.young_due() && self.pacer.gc_percent.get() >= 0;
        self.check.set(if young_due {
            0
        } else {
            self.pacer.trigger.get()
        });
    }

    /// Sets the goal for a live heap of `live` bytes, and gives back the empty pages the
    /// heap will not grow back into before its next full cycle. Only between cycles.
    fn set_goal(&self, live: usize) {
        self.pacer.set_goal(live);
        self.update_check();
        if self.collector.phase() == Phase::Idle {
            self.space.trim(
                self.pacer
                    .trigger
                    .get()
                    .saturating_sub(self.space.bytes.get()),
            );
        }
    }

    /// The last handle to one of this heap's objects went: drop its value (or queue it, if
    /// the sweep is dropping one) and free it, unless a collector list pins it (whoever
    /// unpins it frees it).
    ///
    /// # Safety
    /// `h` is an allocated object of this heap with no handle left.
    #[inline(always)]
    unsafe fn release<O: Object>(&self, h: NonNull<Header>) {
        // SAFETY: allocated per the contract.
        let header = unsafe { h.as_ref() };
        if !header.is_dropped() {
            if self.collector.sweep_dropping() {
                self.collector.pend(h);
                return;
            }
            // SAFETY: no handle is left to read the value.
            unsafe { Header::drop_value(h, O::drop_value) };
        }
        if header.flag(BUFFERED) && !header.flag(MEMBER) {
            self.candidates.remove(h);
        }
        if header.is_pinned() {
            return;
        }
        // SAFETY: value dropped, no handle left, not pinned.
        unsafe { self.space.free(h) };
    }

    /// A handle to `h` was dropped and its object keeps others: the deletion barrier, and
    /// the candidate buffer.
    #[cold]
    fn dropped_one(&self, h: NonNull<Header>) {
        // SAFETY: `h` has handles left.
        let header = unsafe { h.as_ref() };
        let state = header.state();
        if state & (MEMBER | MARK) == MEMBER {
            if self.collector.phase() == Phase::Sweep {
                // Garbage the sweep is freeing: no candidate.
                return;
            }
            self.collector.shade(h);
        }
        if state & BUFFERED != 0 {
            self.collector.lost_while_buffered(h);
        }
        if state & (BUFFERED | ACYCLIC | UNTRACKED | DROPPED) == 0 && self.candidates.push(h) {
            self.update_check();
        }
    }

    fn record_pause(&self, pause: Duration, cpu: Duration) {
        self.pause_total.set(self.pause_total.get() + pause);
        if pause > self.pause_max.get() {
            self.pause_max.set(pause);
        }
        self.pause_cpu_total.set(self.pause_cpu_total.get() + cpu);
        if cpu > self.pause_cpu_max.get() {
            self.pause_cpu_max.set(cpu);
        }
        let mut pauses = self.pauses.borrow_mut();
        if pauses.len() == RECENT_PAUSES {
            pauses.pop_front();
        }
        pauses.push_back(pause);
    }

    /// Starts a cycle; `forced` when `collect()` asked for it.
    fn start_cycle(&self, full: bool, forced: bool) {
        let record = gctrace::Cycle::new(
            self.space.bytes.get(),
            self.pacer.goal.get(),
            self.collected_objects.get(),
            forced,
        );
        self.collector.start(full, &self.candidates, record);
        self.debt.set(0);
        // A full cycle's work is spread over the allocation up to the goal, or over a whole
        // runway if the heap is past the trigger already (see `slice`).
        self.cycle_goal.set(
            self.pacer.goal.get().max(
                self.space
                    .bytes
                    .get()
                    .saturating_add(self.pacer.runway.get()),
            ),
        );
        self.check.set(usize::MAX);
    }

    /// Runs the cycle for `budget` units (or until `deadline`), and ends it if it is over.
    fn work(&self, budget: usize, deadline: Option<Instant>, panic: &mut Option<Panic>) -> bool {
        let outcome = self
            .collector
            .work(budget, deadline, &self.space, &self.candidates, panic);
        match outcome {
            Some(outcome) => {
                self.end_cycle(outcome);
                true
            }
            None => false,
        }
    }

    /// A cycle ended: the statistics, the next goal (after a full cycle), the trace line.
    fn end_cycle(&self, outcome: Outcome) {
        // The slice that ends it (a `collect` is one slice of its cycle), from when the
        // pause began or the cycle did, the later: a `collect` that first finishes a
        // running cycle starts its own cycle in the middle of its pause.
        let slice = self.pause_began.get().map_or(Duration::ZERO, |b| {
            let began = self.collector.record().map_or(b, |c| c.began.max(b));
            began.elapsed()
        });
        self.collector.update_record(|c| c.slice(slice));
        self.num_gc.set(self.num_gc.get() + 1);
        self.collected_objects
            .set(self.collected_objects.get() + outcome.freed_objects);
        self.examined_objects
            .set(self.examined_objects.get() + outcome.examined as u64);
        let heap_start = self.collector.record().map_or(0, |c| c.heap_start);
        // What the cycle left of the heap it started with: the goal's base. What the
        // program allocated during the cycle is not known to be live (Go paces from the
        // marked heap for the same reason).
        let live = heap_start
            .saturating_sub(outcome.freed_bytes)
            .min(self.space.bytes.get());
        if outcome.full {
            self.num_full_gc.set(self.num_full_gc.get() + 1);
            self.set_goal(live);
        } else {
            self.candidates
                .adapt(outcome.examined, outcome.freed_objects);
            self.update_check();
            self.space.trim(
                self.pacer
                    .trigger
                    .get()
                    .saturating_sub(self.space.bytes.get()),
            );
        }
        if !self.gctrace {
            return;
        }
        let Some(cycle) = self.collector.record() else {
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
            heap_end: self.space.bytes.get(),
            live,
            collected_after: self.collected_objects.get(),
        };
        self.trace_lines
            .borrow_mut()
            .push_str(&gctrace::line(&cycle, &end));
    }

    /// One slice of the running cycle (started first if `start` asks, full or not).
    fn slice(&self, start: Option<bool>) {
        self.exclusively(true, |panic| {
            if let Some(full) = start {
                self.start_cycle(full, false);
            }
            let began = Instant::now();
            let left = self.collector.work_left();
            let share = if self.collector.is_full() {
                // Like Go's mark assists: the share of the work left that the allocation
                // since the last slice earns, so that the cycle ends by its goal; past the
                // goal the heap overshoots rather than a slice grow long.
                let room = self
                    .cycle_goal
                    .get()
                    .saturating_sub(self.space.bytes.get())
                    .max(self.pacer.runway.get() / 4)
                    .max(1);
                (left as u128 * SLICE_BYTES as u128 / room as u128) as usize
            } else {
                // A young cycle as fast as the slices' time limit lets it: it is small, and
                // while it runs every `GcCell::borrow_mut` pays for the barrier (spread over
                // a quarter of what was left per slice, the cycles of the `lru` example
                // kept the barrier on for a tenth of the run).
                left
            };
            let budget = share.clamp(MIN_SLICE_WORK, MAX_SLICE_WORK);
            let ended = self.work(budget, Some(began + MAX_SLICE_TIME), panic);
            if !ended {
                let took = began.elapsed();
                self.collector.update_record(|c| c.slice(took));
            }
        });
    }

    /// Finishes the running cycle, then runs a whole full one, without returning to the
    /// program in between. Returns false if a collection was already running.
    fn collect(&self) -> bool {
        self.exclusively(true, |panic| {
            if self.collector.phase() != Phase::Idle {
                self.work(usize::MAX, None, panic);
            }
            self.start_cycle(true, true);
            self.work(usize::MAX, None, panic);
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
        let cpu_begin = if pause {
            self.pause_began.set(Some(begin));
            gctrace::thread_cpu()
        } else {
            Duration::ZERO
        };
        let mut panic = None;
        collection(&mut panic);
        let took = begin.elapsed();
        if pause {
            self.pause_began.set(None);
            let cpu = gctrace::thread_cpu().saturating_sub(cpu_begin);
            self.record_pause(took, cpu);
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

    /// Called before each allocation of `size` bytes: starts a cycle when one is due, and
    /// pays for the running cycle's progress.
    #[inline(always)]
    fn pace(&self, size: usize) {
        if self.collector.phase() != Phase::Idle {
            let debt = self.debt.get() + size;
            if debt >= SLICE_BYTES {
                self.debt.set(0);
                self.slice(None);
            } else {
                self.debt.set(debt);
            }
        } else if self.space.bytes.get() + size >= self.check.get() {
            self.at_check();
        }
    }

    #[cold]
    #[inline(never)]
    fn at_check(&self) {
        if self.busy.get() {
            return;
        }
        if self.space.bytes.get() >= self.pacer.trigger.get() {
            if self.candidates.len() > 0 {
                self.slice(Some(true));
            } else {
                // No candidate: a cycle could not free anything.
                self.set_goal(self.space.bytes.get());
            }
        } else if self.candidates.young_due() {
            self.slice(Some(false));
        } else {
            self.update_check();
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
        // Candidates buffered since (by the sweep's drops) are let go of.
        let mut left = Vec::new();
        this.candidates.drain(&mut left);
        for h in left {
            // SAFETY: buffered, so pinned and allocated.
            let header = unsafe { h.as_ref() };
            header.set_flag(BUFFERED, false);
            if header.strong() == 0 {
                // SAFETY: released while buffered: value dropped, no handle, unpinned now.
                unsafe { this.space.free(h) };
            }
        }
        this.space.for_each(|h| {
            // SAFETY: an object; nothing refers to the heap after this.
            unsafe { h.as_ref() }.set_flag(UNTRACKED, true);
        });
        this.space.pages.abandon();
    }
}

thread_local! {
    static HEAP: Heap = Heap::new();
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

/// Called when a handle to `h` is dropped and its object still has others: buffers it as a
/// candidate (once), and shades it if the running cycle examines it (or, buffered, may
/// be taken by it: see `Collector::lost_while_buffered`). Most drops need none of this and
/// cost one load and a test or two.
#[inline(always)]
pub(crate) fn note_drop(h: NonNull<Header>) {
    // SAFETY: `h` has handles left, so it is allocated.
    let state = unsafe { h.as_ref() }.state();
    let buffer = state & (BUFFERED | ACYCLIC | UNTRACKED | DROPPED) == 0;
    // (A buffered object whose value was dropped is garbage being freed: it needs no flag.)
    let shade = state & (MEMBER | MARK) == MEMBER
        || (state & (BUFFERED | DROPPED) == BUFFERED && cycle::marking());
    if buffer || shade {
        with_heap(|heap| heap.dropped_one(h));
    }
}

/// The write barrier of `GcCell`: while a cycle counts or marks, the members a cell held
/// before it is changed are shaded.
#[inline]
pub(crate) fn write_barrier<T: Trace + ?Sized>(value: &T) {
    if cycle::marking() {
        with_heap(|heap| heap.collector.shade_all(value));
    }
}

/// Allocates memory for an object of `layout`, lets `init` build the object in it, and
/// adds it to this thread's heap, doing collection work first if the heap's pacing asks for
/// it. `class` is the object's size class if it fits in a page (`space::small_class`).
/// After the heap is gone (thread exit) the object comes from the global allocator and is
/// reference-counted only.
#[inline(always)]
pub(crate) fn allocate(
    layout: Layout,
    class: Option<usize>,
    init: impl FnOnce(NonNull<u8>) -> NonNull<Header>,
) -> NonNull<Header> {
    let mut init = Some(init);
    let tracked = with_heap(|heap| {
        heap.pace(layout.size());
        heap.space
            .alloc(layout, class, init.take().expect("called once"))
    });
    match tracked {
        Some(h) => h,
        None => {
            let h = (init.take().expect("not called: the heap was gone"))(large::alloc(layout));
            // SAFETY: just made.
            unsafe { h.as_ref() }.set_flag(LARGE | UNTRACKED, true);
            h
        }
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
        unsafe { large::dealloc(h) };
    }
    // A page object left behind by its heap keeps its slot: the page is abandoned.
}

/// Runs a full collection now, like Go's `runtime.GC()`: finishes the cycle under way, then
/// runs a whole full one, blocking. Does nothing when called from a destructor that a
/// collection is running.
pub fn collect() {
    with_heap(|heap| heap.collect());
}

/// Runs up to `work` units of incremental collection now, starting a cycle (full if `full`,
/// else young) if none is under way; for tests that interleave the program with a cycle.
#[doc(hidden)]
pub fn collect_step(work: usize, full: bool) {
    with_heap(|heap| {
        heap.exclusively(false, |panic| {
            if heap.collector.phase() == Phase::Idle {
                heap.start_cycle(full, false);
            }
            if !heap.work(work, None, panic) {
                heap.check.set(usize::MAX);
            }
        })
    });
}

/// Sets the heap growth, in percent of the live heap, that starts the next collection (Go's
/// `debug.SetGCPercent`); a negative value turns automatic collection off. Returns the
/// previous setting. The default is 100, or the `GOMEM_GOGC` environment variable.
pub fn set_gc_percent(percent: i64) -> i64 {
    HEAP.with(|heap| {
        let old = heap.pacer.gc_percent.replace(percent);
        heap.set_goal(heap.space.bytes.get());
        old
    })
}

/// Sets a soft limit on this thread's heap, in bytes (Go's `debug.SetMemoryLimit`): the
/// collector runs early to stay under it. 0 removes the limit. Returns the previous limit.
pub fn set_memory_limit(bytes: usize) -> usize {
    HEAP.with(|heap| {
        let old = heap.pacer.memory_limit.replace(bytes);
        heap.set_goal(heap.space.bytes.get());
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
    crate::profile::set_allocator_rate(bytes);
    HEAP.with(|heap| {
        let profile = &heap.space.profile;
        let old = profile.rate();
        profile.set_rate(bytes, heap.space.total_alloc_bytes.get());
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
    HEAP.with(|heap| heap.space.profile.write(out, heap.born.elapsed()))
}

/// This thread's heap statistics.
pub fn stats() -> MemStats {
    HEAP.with(|heap| MemStats {
        heap_bytes: heap.space.bytes.get(),
        heap_objects: heap.space.objects.get(),
        total_alloc_bytes: heap.space.total_alloc_bytes.get(),
        total_alloc_objects: heap.space.total_alloc_objects.get(),
        collected_objects: heap.collected_objects.get(),
        num_gc: heap.num_gc.get(),
        num_full_gc: heap.num_full_gc.get(),
        examined_objects: heap.examined_objects.get(),
        candidates: heap.candidates.len(),
        next_gc: heap.pacer.goal.get(),
        pause_total: heap.pause_total.get(),
        recent_pauses: heap.pauses.borrow().iter().copied().collect(),
        pause_max: heap.pause_max.get(),
        pause_cpu_total: heap.pause_cpu_total.get(),
        pause_cpu_max: heap.pause_cpu_max.get(),
        cycle_running: heap.collector.phase() != Phase::Idle,
    })
}
