//! The object model: the header in front of every value on the heap (how many handles the
//! object has, what the collector knows about it, what its type is), the type's operations,
//! and the [`Tracer`] those operations report the value's handles to.
//!
//! The header's state word packs flags (top bits) and, while a collection cycle examines the
//! object, the count of its handles found inside the objects the cycle examines (low bits).
//! Every module above this one reads and writes objects only through these accessors.
//!
//! Invariants:
//! - a header stays allocated while its strong count is above zero, and also while it is
//!   *pinned* ([`MEMBER`] or [`BUFFERED`]: a collector's list points at it), in which case
//!   whoever unpins it frees it if its count is zero by then;
//! - once [`DROPPED`] is set the value has been dropped and is never read or dropped again;
//! - the count bits are zero unless the object is a [`MEMBER`] of the running cycle (they
//!   count from zero, set when it joins) or buffered (a hint of its place);
//! - only the heap's thread touches a header.

use std::alloc::Layout;
use std::cell::Cell;
use std::ptr::NonNull;

use crate::pages::FREE;

/// Marked live by the running cycle (meaningful for [`MEMBER`]s only).
pub(crate) const MARK: u32 = 1 << 31;
/// The value has been dropped; the memory waits for its last handle or its last list.
pub(crate) const DROPPED: u32 = 1 << 30;
const _: () = assert!(FREE == 1 << 29);
/// A large object: memory from the global allocator, in the heap's table.
pub(crate) const LARGE: u32 = 1 << 28;
/// Not on any heap: reference-counted only (a cycle through it leaks). Objects allocated
/// after the heap was torn down at thread exit, and those it left behind.
pub(crate) const UNTRACKED: u32 = 1 << 27;
/// Sampled for the heap profile: its free is recorded (`profile.rs`).
pub(crate) const SAMPLED: u32 = 1 << 26;
/// In a candidate buffer (a possible root of a garbage cycle), at most once.
pub(crate) const BUFFERED: u32 = 1 << 25;
/// In the subgraph the running cycle examines.
pub(crate) const MEMBER: u32 = 1 << 24;
/// Examined by a cycle and found live: a young cycle leaves it alone.
pub(crate) const OLD: u32 = 1 << 23;
/// Its type holds no handle (`Trace::ACYCLIC`), so it is never on a cycle: never a
/// candidate, never examined.
pub(crate) const ACYCLIC: u32 = 1 << 22;
/// Examined by one young cycle and found live; the next young cycle that finds it live
/// makes it [`OLD`]. Young objects held by old ones only for a while (a value parked in a
/// long-lived structure, then replaced) are thus freed by young cycles when they become
/// garbage, rather than wait, old, for a full cycle.
pub(crate) const SURVIVOR: u32 = 1 << 21;
/// Lost a handle while buffered, while a cycle was counting: it may have been waiting
/// among that cycle's roots, whose taking unbuffers it, and the loss buffered nothing, so
/// the taking buffers it again (see `Collector::take_root`).
pub(crate) const DIRTY: u32 = 1 << 20;
/// The count of handles found inside the examined objects, for a [`MEMBER`]. It saturates:
/// counting too few is safe (the object looks held from outside), too many is not. The
/// same bits hold a buffered object's place in its buffer while it is not a member
/// (`candidates.rs`; a hint, checked before use).
pub(crate) const COUNT_MASK: u32 = DIRTY - 1;

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
/// 16 bytes: the handle count, the state (flags and the cycle's count), and the type's
/// operations.
#[repr(C)]
pub(crate) struct Header {
    strong: Cell<u32>,
    state: Cell<u32>,
    pub vtable: &'static VTable,
}

/// The state word of a page slot or an object, which says which of the two it is.
///
/// # Safety
/// `p` is a slot of a mapped page below its bump pointer, or an allocated object.
pub(crate) unsafe fn state_of(p: NonNull<Header>) -> u32 {
    // SAFETY: per the contract the first 8 bytes are a header's or a free slot's, which
    // agree on where the state is; no reference to the whole header is made (a free slot
    // has no vtable).
    unsafe { (*std::ptr::addr_of!((*p.as_ptr()).state)).get() }
}

/// Asks the processor to start loading the header at `h` (its first cache line), which a
/// loop over one of the collector's lists will read a few entries later. The lists are in
/// the order objects were found or buffered, not in memory order, so the hardware cannot
/// guess the next address; the loop can. A hint: any address (null included) is fine.
#[inline(always)]
pub(crate) fn prefetch(h: *const Header) {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: a prefetch is only a hint; it neither faults nor reads, whatever the
        // address.
        unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(h.cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = h;
}

impl Header {
    /// A header with one handle; `acyclic` if the value's type holds no handle.
    #[inline(always)]
    pub fn new(vtable: &'static VTable, acyclic: bool) -> Header {
        Header {
            strong: Cell::new(1),
            state: Cell::new(if acyclic { ACYCLIC } else { 0 }),
            vtable,
        }
    }

    #[inline(always)]
    pub fn state(&self) -> u32 {
        self.state.get()
    }

    /// Sets the whole state word (flags and count bits) at once.
    #[inline(always)]
    pub fn set_state(&self, state: u32) {
        self.state.set(state);
    }

    #[inline(always)]
    pub fn flag(&self, f: u32) -> bool {
        self.state.get() & f != 0
    }

    #[inline(always)]
    pub fn set_flag(&self, f: u32, on: bool) {
        let state = self.state.get();
        self.state.set(if on { state | f } else { state & !f });
    }

    pub fn strong(&self) -> usize {
        self.strong.get() as usize
    }

    /// One more handle. Aborts rather than wrap, as `Rc` does: 4 billion handles to one
    /// object mean leaked handles, and a wrapped count would free a live object.
    #[inline(always)]
    pub fn inc_strong(&self) {
        match self.strong.get().checked_add(1) {
            Some(n) => self.strong.set(n),
            None => std::process::abort(),
        }
    }

    /// One handle less; returns how many are left.
    #[inline(always)]
    pub fn dec_strong(&self) -> usize {
        let n = self.strong.get() - 1;
        self.strong.set(n);
        n as usize
    }

    /// Reference-counted only, not on a heap.
    pub fn is_untracked(&self) -> bool {
        self.flag(UNTRACKED)
    }

    pub fn is_large(&self) -> bool {
        self.flag(LARGE)
    }

    pub fn is_dropped(&self) -> bool {
        self.flag(DROPPED)
    }

    /// A collector's list points at it: its memory stays until that list lets go.
    pub fn is_pinned(&self) -> bool {
        self.flag(MEMBER | BUFFERED)
    }

    /// Counts one handle found inside the examined objects (saturating).
    #[inline(always)]
    pub fn count_one(&self) {
        let state = self.state.get();
        if state & COUNT_MASK != COUNT_MASK {
            self.state.set(state + 1);
        }
    }

    /// The handles counted so far.
    pub fn count(&self) -> usize {
        (self.state.get() & COUNT_MASK) as usize
    }

    /// The count bits as they are: a buffered non-member's place hint.
    pub fn low_bits(&self) -> u32 {
        self.state.get() & COUNT_MASK
    }

    /// Sets the count bits (to a buffered non-member's place hint).
    pub fn set_low_bits(&self, bits: u32) {
        debug_assert!(bits <= COUNT_MASK && !self.flag(MEMBER));
        self.state.set((self.state.get() & !COUNT_MASK) | bits);
    }

    /// Leaves the running cycle: not a member, unmarked, count zero.
    pub fn leave_cycle(&self) {
        self.state
            .set(self.state.get() & !(MEMBER | MARK | COUNT_MASK));
    }

    /// Leaves the running cycle as garbage about to be dropped: not a member, unmarked,
    /// count zero, `DROPPED` (so that no barrier or buffer looks at it while the values of
    /// its garbage neighbours drop the handles to it), and one more handle (the caller's,
    /// which keeps it allocated through those drops). One header write for the state.
    #[inline(always)]
    pub fn leave_as_garbage(&self) {
        self.state
            .set((self.state.get() & !(MEMBER | MARK | COUNT_MASK)) | DROPPED);
        self.inc_strong();
    }

    /// Drops the value with `drop_value` (the vtable's), unless that was done.
    ///
    /// # Safety
    /// The object is allocated and nothing reads its value again.
    #[inline(always)]
    pub unsafe fn drop_value(h: NonNull<Header>, drop_value: unsafe fn(NonNull<Header>)) {
        // SAFETY: allocated per the contract.
        let header = unsafe { h.as_ref() };
        if !header.is_dropped() {
            header.set_flag(DROPPED, true);
            // SAFETY: not dropped before (the flag), and not read again (the contract).
            unsafe { drop_value(h) };
        }
    }
}

/// Receives the handles [`Trace::trace`](crate::Trace) reports, for the running cycle.
pub struct Tracer {
    pub(crate) mode: Mode,
    /// Objects to trace next: members just found (counting) or just marked (marking).
    pub(crate) stack: Vec<NonNull<Header>>,
    /// Counting in a young cycle: old objects the examined ones point to. They become
    /// candidates of the next full cycle, since a garbage cycle may run through them.
    pub(crate) deferred: Vec<NonNull<Header>>,
    /// Counting: how many handles it has counted (ever; wrapping), so that the collector
    /// can tell whether the handles found in a set of members are all to them.
    pub(crate) counted: usize,
}

/// What a [`Tracer`] does with a handle.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Mode {
    /// Make the object a member of the cycle's subgraph (unless a young cycle leaves it
    /// alone) and count the handle in its header.
    Count { young: bool },
    /// Mark the object live, if it is an unmarked member.
    Mark,
}

impl Tracer {
    pub(crate) fn new(mode: Mode) -> Tracer {
        Tracer {
            mode,
            stack: Vec::new(),
            deferred: Vec::new(),
            counted: 0,
        }
    }

    /// Reports one handle to the object `target`.
    #[inline]
    pub(crate) fn edge(&mut self, target: NonNull<Header>) {
        // SAFETY: a handle keeps its object's header allocated (its count is part of the
        // object's strong count), and the collector runs on the heap's own thread.
        let h = unsafe { target.as_ref() };
        let state = h.state();
        match self.mode {
            Mode::Count { young } => {
                // Off the heap, never on a cycle, or already dropped: nothing to examine.
                if state & (UNTRACKED | ACYCLIC | DROPPED) != 0 {
                    return;
                }
                if state & MEMBER == 0 {
                    if young && state & OLD != 0 {
                        if state & BUFFERED == 0 {
                            h.set_flag(BUFFERED, true);
                            self.deferred.push(target);
                        }
                        return;
                    }
                    // A member now, with this handle counted: one header write.
                    h.set_state((state & !COUNT_MASK) | MEMBER | 1);
                    self.stack.push(target);
                    self.counted = self.counted.wrapping_add(1);
                    return;
                }
                h.count_one();
                self.counted = self.counted.wrapping_add(1);
            }
            Mode::Mark => {
                if state & (MEMBER | MARK) == MEMBER {
                    h.set_flag(MARK, true);
                    self.stack.push(target);
                }
            }
        }
    }
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
        let h = Header::new(&VT, false);
        h.set_flag(MARK | DROPPED | MEMBER | OLD, true);
        h.count_one();
        h.count_one();
        assert!(h.flag(MARK) && h.is_dropped() && !h.is_untracked() && !h.flag(ACYCLIC));
        assert_eq!(h.count(), 2);
        h.state.set(h.state.get() | (COUNT_MASK - 1));
        h.count_one();
        h.count_one();
        assert_eq!(h.count(), COUNT_MASK as usize);
        assert!(h.flag(MARK) && h.is_dropped() && h.flag(OLD) && !h.flag(BUFFERED));
        h.leave_cycle();
        assert_eq!(h.count(), 0);
        assert!(!h.flag(MARK | MEMBER) && h.is_dropped() && h.flag(OLD));
        assert!(Header::new(&VT, true).flag(ACYCLIC));
    }
}
