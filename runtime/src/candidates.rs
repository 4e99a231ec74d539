//! The candidate buffers: objects that may be the root of a garbage cycle, as in Bacon and
//! Rajan's synchronous cycle collector ("Concurrent Cycle Collection in Reference Counted
//! Systems", 2001) and the collectors of CPython and PHP.
//!
//! A garbage cycle is made when the last handle from outside it goes; that drop leaves the
//! count of some object of the cycle above zero (or frees an object whose own drops do), so
//! every object whose count drops to a nonzero value is buffered, once (its [`BUFFERED`]
//! flag). A cycle examines the subgraph reachable from the buffered objects only. Young
//! candidates wait for the next young cycle; [`OLD`] ones (found live by a full cycle or by
//! two young ones) for the next full cycle.
//!
//! Invariants:
//! - an object is in at most one buffer, once, exactly when its `BUFFERED` flag is set
//!   (a young cycle's roots are a buffer until it takes them);
//! - a buffered object is pinned: if its last handle goes, it is taken out of its buffer if
//!   its place is known (PHP's collector does the same), else its value is dropped but its
//!   memory stays until the buffer lets go of it (the heap frees it then);
//! - every garbage object is reachable from a buffered object, or from the subgraph of the
//!   running cycle (which buffers what it leaves unexamined: see `cycle.rs`).

use std::cell::{Cell, RefCell};
use std::ptr::NonNull;

use crate::object::{Header, BUFFERED, COUNT_MASK, MEMBER, OLD};
use crate::seglist::SegList;

/// A young cycle starts when this many young candidates wait, at least; more while young
/// cycles find little garbage (see [`Candidates::adapt`]).
pub(crate) const YOUNG_ROOTS: usize = 8 << 10;
/// The most young candidates a young cycle waits for.
const MAX_YOUNG_ROOTS: usize = 256 << 10;

/// In a buffered non-member's count bits: which buffer (set: the old one) and its place
/// there plus one (zero: none).
const IN_OLD: u32 = (COUNT_MASK >> 1) + 1;
const PLACE: u32 = IN_OLD - 1;

pub(crate) struct Candidates {
    /// Buffered young candidates (each a place: one taken out leaves none empty).
    young: RefCell<SegList<*mut Header>>,
    /// The old ones, the same way.
    old: RefCell<SegList<*mut Header>>,
    /// More old ones, in chunks that moved here whole, in O(1): a burst of young ones, and
    /// the old objects a young cycle reached. Their places are not recorded.
    chunks: RefCell<Vec<SegList<*mut Header>>>,
    chunked: Cell<usize>,
    /// How many young candidates start a young cycle.
    threshold: Cell<usize>,
    /// A full cycle was taken since the last young one: the young candidates waited for it
    /// (no young cycle runs during a full one), so many of them are no burst.
    waited: Cell<bool>,
}

impl Candidates {
    pub fn new() -> Candidates {
        Candidates {
            young: RefCell::new(SegList::new()),
            old: RefCell::new(SegList::new()),
            chunks: RefCell::new(Vec::new()),
            chunked: Cell::new(0),
            threshold: Cell::new(YOUNG_ROOTS),
            waited: Cell::new(false),
        }
    }

    /// Records where a buffered object is, in its count bits, if it is not a member (whose
    /// count bits count) and the place fits.
    fn place(header: &Header, old: bool, index: usize) {
        if !header.flag(MEMBER) && index < PLACE as usize {
            header.set_low_bits(if old { IN_OLD } else { 0 } | (index as u32 + 1));
        }
    }

    /// Buffers `h`, which is not buffered. Returns whether a young cycle is due now.
    pub fn push(&self, h: NonNull<Header>) -> bool {
        // SAFETY: the caller holds a handle to `h` (its count is above zero).
        let header = unsafe { h.as_ref() };
        debug_assert!(!header.flag(BUFFERED));
        header.set_flag(BUFFERED, true);
        if header.flag(OLD) {
            self.push_old(h);
            false
        } else {
            let mut young = self.young.borrow_mut();
            Self::place(header, false, young.len());
            young.push(h.as_ptr());
            young.len() == self.threshold.get()
        }
    }

    /// Buffers `h` (flagged `BUFFERED` already) for the next full cycle.
    pub fn push_old(&self, h: NonNull<Header>) {
        // SAFETY: buffered objects are allocated (pinned).
        let header = unsafe { h.as_ref() };
        let mut old = self.old.borrow_mut();
        Self::place(header, true, old.len());
        old.push(h.as_ptr());
    }

    /// Takes `h` (buffered, not a member) out of its buffer, if its place is known, so that
    /// its memory can go at once when its last handle goes (rather than wait for a cycle
    /// to take it); the buffer's last entry takes its place. Returns whether it did; `h` is
    /// no longer `BUFFERED` then.
    pub fn remove(&self, h: NonNull<Header>) -> bool {
        // SAFETY: buffered objects are allocated (pinned).
        let header = unsafe { h.as_ref() };
        debug_assert!(header.flag(BUFFERED) && !header.flag(MEMBER));
        let bits = header.low_bits();
        let place = (bits & PLACE) as usize;
        if place == 0 {
            return false;
        }
        let mut buffer = if bits & IN_OLD != 0 {
            self.old.borrow_mut()
        } else {
            self.young.borrow_mut()
        };
        // The bits are a hint: the buffer may have been taken by a cycle since.
        if buffer.get(place - 1) != Some(h.as_ptr()) {
            return false;
        }
        // The last entry fills the hole, so that a buffer holds only objects that may still
        // be garbage: its length is what a young cycle would examine (an LRU cache that
        // frees what it evicts left a buffer of holes, whose length started young cycles
        // over nothing), and it stays as small as that, in the cache.
        let last = buffer.pop().expect("holds h");
        if last != h.as_ptr() {
            *buffer.get_mut(place - 1).expect("below the length") = last;
            if let Some(moved) = NonNull::new(last) {
                // SAFETY: buffered objects are allocated (pinned).
                Self::place(unsafe { moved.as_ref() }, bits & IN_OLD != 0, place - 1);
            }
        }
        header.set_low_bits(0);
        header.set_flag(BUFFERED, false);
        true
    }

    /// Adds objects a young cycle left unexamined (already flagged `BUFFERED`).
    pub fn defer(&self, objects: &mut Vec<NonNull<Header>>) {
        if !objects.is_empty() {
            self.chunked.set(self.chunked.get() + objects.len());
            let chunk = objects
                .drain(..)
                .map(NonNull::as_ptr)
                .collect::<SegList<_>>();
            self.chunks.borrow_mut().push(chunk);
        }
    }

    /// Whether enough young candidates wait for a young cycle.
    pub fn young_due(&self) -> bool {
        self.young.borrow().len() >= self.threshold.get()
    }

    /// About how many candidates wait (the buffers' lengths, with the places taken out).
    pub fn len(&self) -> usize {
        self.young.borrow().len() + self.old.borrow().len() + self.chunked.get()
    }

    /// After a young cycle that examined `examined` objects and freed `freed`: one that
    /// found little garbage makes the next wait for twice the candidates (up to a limit),
    /// one that found some brings the wait back down, so that young cycles run where they
    /// pay (CPython's thresholds are fixed; ours follow the yield).
    pub fn adapt(&self, examined: usize, freed: u64) {
        let t = self.threshold.get();
        self.threshold.set(if (freed as usize) * 8 < examined {
            (t * 2).min(MAX_YOUNG_ROOTS)
        } else {
            (t / 2).max(YOUNG_ROOTS)
        });
    }

    /// Moves the candidates of a new cycle into `roots` (empty), in O(1): the young ones
    /// (unless they are a burst, four times the threshold or more, which goes to the old
    /// ones: a big structure let go of at once waits for the full cycle, which the heap's
    /// growth paces, rather than make a young cycle as long as a full one), and the old
    /// ones too for a full cycle. Young candidates that piled up while a full cycle ran
    /// are no burst: they are what young cycles would have examined meanwhile, mostly
    /// young garbage, which would otherwise wait, pinned, for the next full cycle. They stay flagged `BUFFERED` until the cycle takes them;
    /// a young cycle hands back those it finds old (`push_old`).
    pub fn take(&self, full: bool, roots: &mut Vec<SegList<*mut Header>>) {
        debug_assert!(roots.is_empty());
        let young = std::mem::take(&mut *self.young.borrow_mut());
        let waited = self.waited.replace(full);
        if !full && !waited && young.len() >= 4 * self.threshold.get() {
            self.chunked.set(self.chunked.get() + young.len());
            self.chunks.borrow_mut().push(young);
            return;
        }
        if full {
            std::mem::swap(roots, &mut *self.chunks.borrow_mut());
            self.chunked.set(0);
            roots.push(std::mem::take(&mut *self.old.borrow_mut()));
        }
        roots.push(young);
    }

    /// Empties every buffer into `out` (at the heap's teardown).
    pub fn drain(&self, out: &mut Vec<NonNull<Header>>) {
        let young = std::mem::take(&mut *self.young.borrow_mut());
        let old = std::mem::take(&mut *self.old.borrow_mut());
        let chunks = std::mem::take(&mut *self.chunks.borrow_mut());
        self.chunked.set(0);
        for chunk in chunks.into_iter().chain([young, old]) {
            out.extend(chunk.iter().filter_map(NonNull::new));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::VTable;
    use std::alloc::Layout;

    static VT: VTable = VTable {
        trace: |_, _| {},
        drop_value: |_| {},
        layout: Layout::new::<Header>(),
    };

    #[test]
    fn a_removed_candidate_leaves_no_hole_and_the_moved_one_can_still_be_removed() {
        let c = Candidates::new();
        let hs: Vec<Header> = (0..3).map(|_| Header::new(&VT, false)).collect();
        let ps: Vec<NonNull<Header>> = hs.iter().map(NonNull::from).collect();
        for &p in &ps {
            c.push(p);
        }
        assert!(c.remove(ps[0]), "its place is known");
        assert_eq!(c.len(), 2, "the last entry filled the hole");
        assert!(!hs[0].flag(BUFFERED) && hs[0].low_bits() == 0);
        assert!(c.remove(ps[2]), "the moved entry's place was updated");
        assert!(c.remove(ps[1]));
        assert_eq!(c.len(), 0);
        assert!(hs.iter().all(|h| !h.flag(BUFFERED)));
    }
}
