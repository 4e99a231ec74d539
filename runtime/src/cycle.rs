//! The incremental cycle collector: trial deletion over the subgraph reachable from the
//! candidates, run in slices between the program's own steps.
//!
//! A cycle takes the buffered candidates (`candidates.rs`) and runs three phases, each a
//! few hundred microseconds at a time:
//! 1. **Count**: make every object reachable from the candidates a *member* (its `MEMBER`
//!    flag, and a list), and count in each member's header the handles found inside
//!    members. A young cycle does not enter old objects (already examined and found live):
//!    it buffers them as candidates of the next full cycle instead, since a garbage cycle
//!    may run through them. Acyclic objects (their type holds no handle) are never entered.
//!    The subgraph a root adds is traced at once, and if it is small and *closed* (every
//!    handle to its objects, and every handle counted in them, is among them) it is
//!    garbage, and freed there, its headers still in the cache: most young garbage (the
//!    small cycles a program drops) never reaches the next two phases (see
//!    `Collector::free_closed`).
//! 2. **Mark**: a member with more handles than that count is held from outside the
//!    subgraph (a local, a non-member object): mark it and everything it reaches among the
//!    members (a grey stack).
//! 3. **Sweep**: drop and free the unmarked members (cycles nothing outside points into);
//!    the marked ones leave the cycle, old if the cycle is full or they had survived a
//!    young one already (`SURVIVOR`), else survivors.
//!
//! The work is the subgraph, not the heap: a cycle never visits an object no candidate
//! reaches. Which objects are examined never matters for safety (trial deletion over any set
//! of objects frees only garbage: an object is freed only if every handle to it is inside
//! the set and no marked member reaches it); it matters for completeness, which the
//! candidate buffers' invariant gives: a full cycle examines everything reachable from
//! every candidate, so [`collect`](crate::collect) frees every garbage cycle.
//!
//! **Between slices** the program changes the graph, and a deletion barrier keeps the
//! counts honest: while the cycle counts or marks, a member that loses a handle (a `Gc`
//! dropped, a handle moved out of a `GcCell`) is shaded (marked, traced later). So an
//! unshaded member has lost no handle since the cycle began, each handle counted for it is
//! still where it was counted, and its count is at most the handles inside members. A
//! member that a handle outside the subgraph holds is therefore a root when it is decided.
//! A handle moved into a member already counted is not counted, so its target looks held
//! from outside: the safe side. An unmarked member at the end of marking has all its
//! handles in unmarked members (a marked one would have traced them), and the program can
//! make no new one without reaching an unmarked member first, which only a handle outside
//! the subgraph allows, which would have made that member a root: so the unmarked members
//! are garbage, and the barrier can rest during the sweep. Objects allocated during the
//! cycle need no colour of their own: they become members only through a counted handle,
//! like any other object.
//!
//! Invariants (on top of the object model's):
//! - members are exactly the objects with `MEMBER` set, listed once in `members`; they are
//!   pinned (their memory stays until the sweep, or `free_closed`, unpins them), so the
//!   lists, the grey stack and the shaded list never point at freed memory (`free_closed`
//!   takes its set off the end of `members` before anything else reads the list);
//! - `MARK` and the count bits are set on members only, and cleared when they leave;
//! - while the sweep or `free_closed` drops values, objects whose last handle goes wait in
//!   `pending` (dropped by a loop, not recursively: a long garbage chain would overflow the
//!   stack);
//! - the barrier is on (`marking`) exactly during the count and mark phases.

use std::cell::{Cell, RefCell};
use std::ptr::NonNull;
use std::time::Instant;

use crate::candidates::Candidates;
use crate::gctrace;
use crate::object::{
    prefetch, Header, Mode, Tracer, BUFFERED, COUNT_MASK, DIRTY, DROPPED, MARK, MEMBER, OLD,
    SURVIVOR,
};
use crate::seglist::SegList;
use crate::space::Space;
use crate::trace::Trace;

/// How many units of work run between two looks at the clock.
const CHECK_EVERY: usize = 256;
/// The most members a closed subgraph may have to be freed at once by the count phase
/// (see [`Collector::free_closed`]): enough for the small garbage cycles most programs
/// make, few enough that a slice never runs long for it.
const CLOSED_MAX: usize = 64;
/// How many entries ahead a loop over a list of objects asks for the header it will read
/// (a cache miss each otherwise: most of a cycle's time on a big heap).
const AHEAD: usize = 16;

/// A destructor's panic, caught by the sweep and resumed when the heap is consistent.
pub(crate) type Panic = Box<dyn std::any::Any + Send>;

/// Where the running cycle is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Phase {
    Idle,
    /// Finding the members and counting their internal handles.
    Count,
    /// Deciding which members are held from outside, and marking from them.
    Mark,
    /// Freeing the unmarked members.
    Sweep,
}

thread_local! {
    /// The barrier is on: `GcCell::borrow_mut` must shade what it hands out. A constant
    /// thread-local, so that the check costs no lazy initialization.
    static MARKING: Cell<bool> = const { Cell::new(false) };
}

/// Whether this thread's running cycle counts or marks (the barriers must shade).
#[inline(always)]
pub(crate) fn marking() -> bool {
    MARKING.try_with(Cell::get).unwrap_or(false)
}

fn set_marking(on: bool) {
    let _ = MARKING.try_with(|m| m.set(on));
}

/// What a cycle that ended did.
pub(crate) struct Outcome {
    pub full: bool,
    /// Objects whose values the sweep dropped, and their bytes.
    pub freed_objects: u64,
    pub freed_bytes: usize,
    /// The members it examined.
    pub examined: usize,
}

pub(crate) struct Collector {
    phase: Cell<Phase>,
    full: Cell<bool>,
    /// The candidates the running cycle started from, in chunks, and where it is in them.
    roots: RefCell<Vec<SegList<*mut Header>>>,
    next_root: Cell<(usize, usize)>,
    /// The members, in the order found.
    members: RefCell<SegList<NonNull<Header>>>,
    /// Where marking's decisions, then the sweep, are in `members`.
    cursor: Cell<usize>,
    /// The grey stack (and the counting's to-do list), between slices.
    tracer: RefCell<Tracer>,
    /// Members shaded by the barriers, to be traced by the next slice that marks.
    shaded: RefCell<Vec<NonNull<Header>>>,
    /// Objects whose last handle went while the sweep was dropping a value.
    pending: RefCell<Vec<NonNull<Header>>>,
    /// The sweep is dropping a value.
    sweep_dropping: Cell<bool>,
    /// Members the count phase freed as closed subgraphs (no longer in `members`).
    closed: Cell<usize>,
    freed_objects: Cell<u64>,
    freed_bytes: Cell<usize>,
    /// Members of the last full cycle: what the next is expected to examine.
    last_full_members: Cell<usize>,
    /// What the running (or last) cycle did, for `GOMEM_GCTRACE`.
    trace: Cell<Option<gctrace::Cycle>>,
}

impl Collector {
    pub fn new() -> Collector {
        Collector {
            phase: Cell::new(Phase::Idle),
            full: Cell::new(false),
            roots: RefCell::new(Vec::new()),
            next_root: Cell::new((0, 0)),
            members: RefCell::new(SegList::new()),
            cursor: Cell::new(0),
            tracer: RefCell::new(Tracer::new(Mode::Mark)),
            shaded: RefCell::new(Vec::new()),
            pending: RefCell::new(Vec::new()),
            sweep_dropping: Cell::new(false),
            closed: Cell::new(0),
            freed_objects: Cell::new(0),
            freed_bytes: Cell::new(0),
            last_full_members: Cell::new(0),
            trace: Cell::new(None),
        }
    }

    #[inline(always)]
    pub fn phase(&self) -> Phase {
        self.phase.get()
    }

    pub fn is_full(&self) -> bool {
        self.full.get()
    }

    /// The running (or last) cycle's record, for its trace line.
    pub fn record(&self) -> Option<gctrace::Cycle> {
        self.trace.get()
    }

    pub fn update_record(&self, f: impl FnOnce(&mut gctrace::Cycle)) {
        if let Some(mut cycle) = self.trace.get() {
            f(&mut cycle);
            self.trace.set(Some(cycle));
        }
    }

    /// Starts a cycle from the candidates: all of them if `full`, else the young ones.
    /// `record` describes it for the trace.
    pub fn start(&self, full: bool, candidates: &Candidates, record: gctrace::Cycle) {
        debug_assert_eq!(self.phase.get(), Phase::Idle);
        let mut roots = self.roots.borrow_mut();
        candidates.take(full, &mut roots);
        let mut record = record;
        record.candidates = roots.iter().map(SegList::len).sum();
        record.full = full;
        self.trace.set(Some(record));
        self.next_root.set((0, 0));
        self.full.set(full);
        let mut tracer = self.tracer.borrow_mut();
        tracer.mode = Mode::Count { young: !full };
        tracer.stack.clear();
        self.freed_objects.set(0);
        self.freed_bytes.set(0);
        self.closed.set(0);
        self.phase.set(Phase::Count);
        set_marking(true);
    }

    /// About how many units of work the running cycle has left.
    pub fn work_left(&self) -> usize {
        let members = self.members.borrow().len();
        let grey = self.tracer.borrow().stack.len() + self.shaded.borrow().len();
        let cursor = self.cursor.get();
        match self.phase.get() {
            Phase::Idle => 0,
            Phase::Count => {
                let (chunk, i) = self.next_root.get();
                let roots = self.roots.borrow();
                let roots_left = roots.iter().skip(chunk).map(SegList::len).sum::<usize>() - i;
                let mut expect = members + grey + roots_left;
                if self.full.get() {
                    expect = expect.max(self.last_full_members.get());
                }
                // Each member is found once, decided once and swept once.
                (expect - members) + 2 * expect
            }
            Phase::Mark => grey + (members - cursor) + members,
            Phase::Sweep => members - cursor,
        }
    }

    /// The barrier's work: keeps the member `h` (if it is one) alive through the running
    /// cycle.
    pub fn shade(&self, h: NonNull<Header>) {
        if !matches!(self.phase.get(), Phase::Count | Phase::Mark) {
            return;
        }
        // SAFETY: the caller holds a handle to `h`, or is dropping the last one (then `h` is
        // pinned if it is a member).
        let header = unsafe { h.as_ref() };
        if header.state() & (MEMBER | MARK) == MEMBER {
            header.set_flag(MARK, true);
            self.shaded.borrow_mut().push(h);
        }
    }

    /// A buffered object lost a handle: if the cycle counts, it may wait among its roots,
    /// and taking it will unbuffer it. Had the loss left it on a garbage cycle that this
    /// cycle keeps (the barriers keep what the program could reach when the cycle began),
    /// no candidate would be left to find that garbage, since the loss buffered nothing
    /// (the object was buffered already). So it is flagged, and taking it buffers it again.
    pub fn lost_while_buffered(&self, h: NonNull<Header>) {
        if self.phase.get() == Phase::Count {
            // SAFETY: the caller holds a handle to `h`.
            unsafe { h.as_ref() }.set_flag(DIRTY, true);
        }
    }

    /// The write barrier of `GcCell`: shades the members `value` holds.
    pub fn shade_all<T: Trace + ?Sized>(&self, value: &T) {
        if !matches!(self.phase.get(), Phase::Count | Phase::Mark) {
            return;
        }
        let mut tracer = Tracer::new(Mode::Mark);
        value.trace(&mut tracer);
        self.shaded.borrow_mut().append(&mut tracer.stack);
    }

    /// Whether the sweep is dropping a value (an object whose last handle goes must then
    /// wait in [`Collector::pend`]).
    #[inline(always)]
    pub fn sweep_dropping(&self) -> bool {
        self.sweep_dropping.get()
    }

    pub fn pend(&self, h: NonNull<Header>) {
        self.pending.borrow_mut().push(h);
    }

    /// Runs the cycle for `budget` units of work (one object traced, one root taken, one
    /// member decided or swept), or until `deadline` (checked every [`CHECK_EVERY`] units:
    /// units differ in cost, a traced object missing the cache costs more). Returns the
    /// outcome if the cycle ended. A panic of a destructor run by the sweep is kept in
    /// `panic`, to be resumed by the caller once the heap is consistent.
    pub fn work(
        &self,
        budget: usize,
        deadline: Option<Instant>,
        space: &Space,
        candidates: &Candidates,
        panic: &mut Option<Panic>,
    ) -> Option<Outcome> {
        let mut tracer = std::mem::replace(&mut *self.tracer.borrow_mut(), Tracer::new(Mode::Mark));
        let mut done = 0usize;
        let mut lap = Instant::now();
        let mut outcome = None;
        let mut check = CHECK_EVERY;
        while done < budget {
            if done >= check {
                check = done + CHECK_EVERY;
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
            }
            match self.phase.get() {
                Phase::Idle => break,
                Phase::Count => {
                    // At most up to the next look at the clock.
                    let limit = budget.min(check) - done;
                    if !tracer.stack.is_empty() {
                        // A subgraph whose tracing a slice left unfinished: no longer known
                        // to be unchanged since its root was taken, so left to the cycle.
                        done += self.count_stack(&mut tracer, limit);
                        continue;
                    }
                    // Take roots, and trace what each makes members, until the limit.
                    let (chunk, mut i) = self.next_root.get();
                    let roots = self.roots.borrow();
                    let Some(this) = roots.get(chunk) else {
                        drop(roots);
                        self.end_count(candidates, &mut tracer, &mut lap);
                        continue;
                    };
                    let mut taken = 0;
                    while taken < limit {
                        let Some(root) = this.get(i) else { break };
                        if let Some(ahead) = this.get(i + AHEAD) {
                            prefetch(ahead);
                        }
                        i += 1;
                        taken += 1;
                        // (Buffers hold no null: one taken out leaves no hole.)
                        let Some(root) = NonNull::new(root) else {
                            continue;
                        };
                        // SAFETY: a buffered object: pinned, so allocated.
                        unsafe { self.take_root(root, space, candidates, &mut tracer) };
                        if tracer.stack.is_empty() {
                            continue;
                        }
                        // Its subgraph: traced now, and freed at once if closed. (The list
                        // of roots stays borrowed, shared, while `free_closed` runs
                        // destructors: only `work` reads it.)
                        let start = self.members.borrow().len();
                        let counted = tracer.counted;
                        taken += self.count_stack(&mut tracer, limit - taken);
                        if !tracer.stack.is_empty() {
                            // The limit: the next slice goes on tracing it.
                            break;
                        }
                        let edges = tracer.counted.wrapping_sub(counted);
                        // SAFETY: the members from `start` on were found from one root by
                        // this call, with `edges` handles counted in them, and the stack is
                        // empty.
                        taken += unsafe { self.free_closed(start, edges, space, panic) };
                    }
                    let next = if i < this.len() {
                        (chunk, i)
                    } else {
                        (chunk + 1, 0)
                    };
                    drop(roots);
                    self.next_root.set(next);
                    done += taken;
                }
                Phase::Mark => {
                    if tracer.stack.is_empty() {
                        tracer.stack.append(&mut self.shaded.borrow_mut());
                    }
                    if let Some(h) = tracer.stack.pop() {
                        done += 1;
                        // SAFETY: a member: pinned, so allocated.
                        let header = unsafe { h.as_ref() };
                        if !header.is_dropped() {
                            // SAFETY: as in counting.
                            unsafe { (header.vtable.trace)(h, &mut tracer) };
                        }
                        continue;
                    }
                    let members = self.members.borrow();
                    let cursor = self.cursor.get();
                    if cursor < members.len() {
                        // Decide a run of members: those held from outside go grey.
                        let end = members.len().min(cursor + (budget - done).min(CHECK_EVERY));
                        for k in cursor..end {
                            let Some(h) = members.get(k) else { break };
                            if let Some(ahead) = members.get(k + AHEAD) {
                                prefetch(ahead.as_ptr());
                            }
                            // SAFETY: a member: pinned, so allocated.
                            let header = unsafe { h.as_ref() };
                            if header.state() & (MARK | DROPPED) == 0
                                && header.strong() > header.count()
                            {
                                header.set_flag(MARK, true);
                                tracer.stack.push(h);
                            }
                        }
                        done += end - cursor;
                        self.cursor.set(end);
                        continue;
                    }
                    drop(members);
                    // Marking is over: the unmarked members are garbage, which the program
                    // cannot reach, so the barriers can rest.
                    set_marking(false);
                    self.lap(1, &mut lap);
                    self.cursor.set(0);
                    self.phase.set(Phase::Sweep);
                }
                Phase::Sweep => {
                    let cursor = self.cursor.get();
                    let members = self.members.borrow();
                    if cursor < members.len() {
                        // Sweep a run of members, up to the next look at the clock. The
                        // list stays borrowed (shared) while destructors run: only `work`
                        // changes it, and a destructor cannot start a collection (`busy`).
                        let end = members.len().min(cursor + (budget.min(check) - done));
                        for k in cursor..end {
                            let Some(h) = members.get(k) else { break };
                            if let Some(ahead) = members.get(k + AHEAD) {
                                prefetch(ahead.as_ptr());
                            }
                            // SAFETY: a member, not swept yet.
                            unsafe { self.sweep_one(h, space, panic) };
                        }
                        done += end - cursor;
                        self.cursor.set(end);
                        continue;
                    }
                    drop(members);
                    // The sweep is over.
                    let mut members = self.members.borrow_mut();
                    let examined = members.len() + self.closed.get();
                    if self.full.get() {
                        self.last_full_members.set(examined);
                    }
                    members.clear();
                    drop(members);
                    self.lap(2, &mut lap);
                    self.update_record(|c| c.examined = examined);
                    self.phase.set(Phase::Idle);
                    outcome = Some(Outcome {
                        full: self.full.get(),
                        freed_objects: self.freed_objects.get(),
                        freed_bytes: self.freed_bytes.get(),
                        examined,
                    });
                    break;
                }
            }
        }
        if outcome.is_none() {
            let i = match self.phase.get() {
                Phase::Count => 0,
                Phase::Mark => 1,
                _ => 2,
            };
            self.lap(i, &mut lap);
        }
        *self.tracer.borrow_mut() = tracer;
        outcome
    }

    /// Counting: traces members from the stack (each found once, and listed), up to
    /// `limit` of them or until the stack is empty. Returns how many it traced.
    fn count_stack(&self, tracer: &mut Tracer, limit: usize) -> usize {
        let mut members = self.members.borrow_mut();
        let mut n = 0;
        while n < limit {
            let Some(h) = tracer.stack.pop() else { break };
            n += 1;
            members.push(h);
            // SAFETY: a member: pinned, so allocated.
            let header = unsafe { h.as_ref() };
            if !header.is_dropped() {
                // SAFETY: an object whose value is not dropped; tracing only reads it
                // (`Trace` must not create or drop handles).
                unsafe { (header.vtable.trace)(h, tracer) };
            }
        }
        n
    }

    /// Every member is found and counted: on to marking.
    fn end_count(&self, candidates: &Candidates, tracer: &mut Tracer, lap: &mut Instant) {
        self.roots.borrow_mut().clear();
        candidates.defer(&mut tracer.deferred);
        self.lap(0, lap);
        tracer.mode = Mode::Mark;
        self.cursor.set(0);
        self.phase.set(Phase::Mark);
    }

    /// Frees the members from `start` on at once, if they are a small closed subgraph: the
    /// count phase found them from one root, all in this call (no slice boundary, so the
    /// program changed nothing meanwhile), each has exactly as many handles as were
    /// counted, and the `edges` handles counted while tracing them are all to them (the
    /// counts add up to `edges`). Returns the units of work done (0 if it left them to the
    /// cycle).
    ///
    /// Why they are garbage: a member traced before this root was taken had its targets made
    /// members then, so none of these is among them, and their counts are of handles
    /// inside these members alone (a handle moved since into an earlier member is not
    /// counted: the object then looks held from outside, and they are all left to the
    /// cycle). Every handle to each of them is therefore inside one of them: trial deletion
    /// over this set, with no mutation during it, finds them all unmarked. Their values are
    /// dropped here rather than by the sweep, in one batch: one header write each, one
    /// `catch_unwind` for the batch, and the handles among them dropped with no barrier or
    /// buffer call (they are `DROPPED` first, and held by a count of ours until all are).
    /// Objects of the set still buffered (a later root of this cycle, or a candidate again)
    /// stay allocated, value dropped, until their buffer lets go of them.
    ///
    /// Why no handle out of the set to another member: dropping it would shade that member
    /// (the barrier cannot tell the collector's drops from the program's), keeping it, and
    /// what it reaches, through this cycle, so that a full cycle would no longer free every
    /// garbage cycle (the model-based test found one: a garbage object pointing into a
    /// garbage cycle found from an earlier root). Handles to non-members are fine: in a
    /// full cycle those are to objects whose values were dropped, or that hold no handle
    /// (acyclic), or are off the heap; in a young one also to old objects, which wait for
    /// a full cycle anyway.
    ///
    /// # Safety
    /// The members from `start` on were found by this call of `work`, from the root taken
    /// last, and the count phase's stack is empty; `space` is this heap's.
    unsafe fn free_closed(
        &self,
        start: usize,
        edges: usize,
        space: &Space,
        panic: &mut Option<Panic>,
    ) -> usize {
        let members = self.members.borrow();
        // (A set across two segments of the list is left to the cycle: rare, and cheaper
        // to loop over as one slice.)
        let Some(set) = members.tail(start).filter(|set| set.len() <= CLOSED_MAX) else {
            return 0;
        };
        let mut counts = 0;
        for h in set {
            // SAFETY: a member: pinned, so allocated.
            let header = unsafe { h.as_ref() };
            if header.state() & (MARK | DROPPED) != 0 || header.strong() != header.count() {
                return 0;
            }
            counts += header.count();
        }
        if counts != edges {
            return 0;
        }
        let mut bytes = 0;
        for h in set {
            // SAFETY: as above.
            let header = unsafe { h.as_ref() };
            bytes += header.vtable.layout.size();
            header.leave_as_garbage();
        }
        let n = set.len();
        self.closed.set(self.closed.get() + n);
        self.freed_objects.set(self.freed_objects.get() + n as u64);
        self.freed_bytes.set(self.freed_bytes.get() + bytes);
        // The values, in one batch (resumed past a destructor that panics). Objects outside
        // the set whose last handle goes wait in `pending`, as in the sweep. The list stays
        // borrowed (shared), as in the sweep: only `work` changes it, and a destructor
        // cannot start a collection (`busy`); these entries are no members any more (no
        // `MEMBER` flag), and leave the list below, before anything else reads it.
        self.sweep_dropping.set(true);
        let mut next = 0;
        while next < n {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                while let Some(&h) = set.get(next) {
                    next += 1;
                    // SAFETY: garbage (shown above) whose value was not dropped (checked
                    // above); `leave_as_garbage` set `DROPPED`, so it is dropped exactly
                    // once, here, and never read again (reads check `DROPPED`); our count
                    // keeps the object allocated meanwhile.
                    unsafe { (h.as_ref().vtable.drop_value)(h) };
                }
            }));
            if let Err(p) = result {
                panic.get_or_insert(p);
            }
        }
        self.sweep_dropping.set(false);
        // SAFETY: `space` is this heap's.
        unsafe { self.drop_pending(space, panic) };
        for &h in set {
            // SAFETY: allocated (our count).
            let header = unsafe { h.as_ref() };
            if header.dec_strong() == 0 && !header.flag(BUFFERED) {
                // SAFETY: value dropped, no handle left (ours was the last), not a member,
                // not buffered: nothing else points at it (its entry here goes next).
                unsafe { space.free(h) };
            }
            // Otherwise a destructor kept a handle (freed when it goes), or a buffer lists
            // it (freed when taken).
        }
        drop(members);
        self.members.borrow_mut().truncate(start);
        n
    }

    /// Drops the values of the objects whose last handle went while a value was dropped,
    /// and of those whose last handle goes meanwhile, iteratively; frees those no list pins.
    ///
    /// # Safety
    /// `space` is this heap's.
    #[inline]
    unsafe fn drop_pending(&self, space: &Space, panic: &mut Option<Panic>) {
        if self.pending.borrow().is_empty() {
            return;
        }
        loop {
            let next = self.pending.borrow_mut().pop();
            let Some(p) = next else { break };
            self.drop_value(p, panic);
            // SAFETY: pending objects are allocated (pinned by their zero count's release
            // waiting here).
            let pending = unsafe { p.as_ref() };
            if !pending.is_pinned() {
                // SAFETY: no handle left (it was released), value dropped, unpinned.
                unsafe { space.free(p) };
            }
            // Otherwise a later member or a buffer still lists it: freed when let go.
        }
    }

    /// Adds the time since `lap` to what the running cycle spent in phase `i`.
    fn lap(&self, i: usize, lap: &mut Instant) {
        let now = Instant::now();
        let since = now - *lap;
        self.update_record(|c| c.paused[i] += since);
        *lap = now;
    }

    /// Takes a candidate: it leaves its buffer and becomes a member, unless its value was
    /// dropped (then it is freed if its last handle went while it waited), or it is old and
    /// the cycle young (then it waits for the next full cycle), or the barrier shaded it
    /// while it waited (then it is buffered again, for the next cycle).
    ///
    /// # Safety
    /// `h` is a buffered object of this heap, whose space is `space`.
    unsafe fn take_root(
        &self,
        h: NonNull<Header>,
        space: &Space,
        candidates: &Candidates,
        tracer: &mut Tracer,
    ) {
        // SAFETY: buffered, so pinned and allocated.
        let header = unsafe { h.as_ref() };
        let state = header.state();
        if state & (OLD | DROPPED) == OLD && !self.full.get() {
            header.set_state(state & !DIRTY);
            // Still buffered: the full cycle that takes it examines it after any loss.
            candidates.push_old(h);
            return;
        }
        if state & DROPPED != 0 {
            header.set_state(state & !(DIRTY | BUFFERED));
            if header.strong() == 0 && state & MEMBER == 0 {
                // SAFETY: value dropped, no handle, and no list points at it any more.
                unsafe { space.free(h) };
            }
            return;
        }
        if state & MEMBER == 0 {
            // A member now, its count zero (one header write for the three changes).
            header.set_state((state & !(DIRTY | BUFFERED | COUNT_MASK)) | MEMBER);
            tracer.stack.push(h);
        } else {
            header.set_state(state & !(DIRTY | BUFFERED));
        }
        if state & DIRTY != 0 || state & (MEMBER | MARK) == MEMBER | MARK {
            // It lost a handle while it waited here (or, reached through another root
            // first, the barrier shaded it: in the count phase only the barrier marks), and
            // this cycle may keep it for that. The loss may have left it on a garbage cycle,
            // and buffered nothing, since the object was buffered here: it stays a
            // candidate, of the next cycle.
            candidates.push(h);
        }
    }

    /// Sweeps a member: a marked one leaves the cycle, old; an unmarked one is garbage.
    ///
    /// # Safety
    /// `h` is a member of this heap's running cycle, whose space is `space`, in the sweep.
    unsafe fn sweep_one(&self, h: NonNull<Header>, space: &Space, panic: &mut Option<Panic>) {
        // SAFETY: a member: pinned, so allocated.
        let header = unsafe { h.as_ref() };
        let state = header.state();
        header.leave_cycle();
        if state & DROPPED != 0 {
            // Its last handle went during the cycle (or a destructor kept one).
            if header.strong() == 0 && !header.flag(BUFFERED) {
                // SAFETY: value dropped, no handle left, unpinned now.
                unsafe { space.free(h) };
            }
            return;
        }
        if state & MARK != 0 {
            // Old after a full cycle, or a second young one, finds it live.
            if self.full.get() || state & SURVIVOR != 0 {
                header.set_flag(OLD, true);
            } else {
                header.set_flag(SURVIVOR, true);
            }
            return;
        }
        // Garbage. Holding one more count keeps the object allocated while its value drops,
        // whatever handles that drop releases (a cycle comes back to it).
        header.inc_strong();
        self.drop_value(h, panic);
        // Values of objects whose last handle went during that drop, iteratively.
        // SAFETY: `space` is this heap's (the contract).
        unsafe { self.drop_pending(space, panic) };
        if header.dec_strong() == 0 && !header.flag(BUFFERED) {
            // SAFETY: no handle left (our count was the last), value dropped, unpinned.
            unsafe { space.free(h) };
        }
        // Otherwise a destructor kept a handle: the memory stays until it goes, and
        // dereferencing it panics (DROPPED); or a buffer lists it and frees it later.
    }

    /// Drops the value of a garbage object (or one released during the sweep), catching a
    /// destructor's panic.
    fn drop_value(&self, h: NonNull<Header>, panic: &mut Option<Panic>) {
        // SAFETY: the sweep's objects are allocated (our count, or pending).
        let header = unsafe { h.as_ref() };
        if header.is_dropped() {
            return;
        }
        self.freed_objects.set(self.freed_objects.get() + 1);
        self.freed_bytes
            .set(self.freed_bytes.get() + header.vtable.layout.size());
        self.sweep_dropping.set(true);
        let drop_value = header.vtable.drop_value;
        // SAFETY: garbage (or released) and not dropped before: dropped exactly once (the
        // flag), never read again (reads check DROPPED).
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| unsafe {
            Header::drop_value(h, drop_value)
        }));
        self.sweep_dropping.set(false);
        if let Err(p) = result {
            panic.get_or_insert(p);
        }
    }
}
