//! The candidate buffers: objects that may be the root of a garbage cycle, as in Bacon and
//! Rajan's synchronous cycle collector ("Concurrent Cycle Collection in Reference Counted
//! Systems", 2001) and the collectors of CPython and PHP.
//!
//! A garbage cycle is made when the last handle from outside it goes; that drop leaves the
//! count of some object of the cycle above zero (or frees an object whose own drops do), so
//! every object whose count drops to a nonzero value is buffered, once (its [`BUFFERED`]
//! flag). A cycle examines the subgraph reachable from the buffered objects only. Young
//! candidates wait for the next young cycle; [`OLD`] ones (already examined and found live
//! once) for the next full cycle.
//!
//! Invariants:
//! - an object is in at most one buffer, once, exactly when its `BUFFERED` flag is set;
//! - a buffered object is pinned: if its last handle goes, its value is dropped but its
//!   memory stays until the buffer lets go of it (the heap frees it then);
//! - every garbage object is reachable from a buffered object, or from the subgraph of the
//!   running cycle (which buffers what it leaves unexamined: see `cycle.rs`).

use std::cell::{Cell, RefCell};
use std::ptr::NonNull;

use crate::object::{Header, BUFFERED, OLD};

pub(crate) struct Candidates {
    young: RefCell<Vec<NonNull<Header>>>,
    /// The old candidates, in chunks: a burst of young ones moves here whole, in O(1).
    old: RefCell<Vec<Vec<NonNull<Header>>>>,
    old_len: Cell<usize>,
}

/// A young cycle takes at most this many candidates. More mean a burst (a big structure
/// let go of at once, whose objects each keep other handles): it waits for the next full
/// cycle, which the heap's growth paces, rather than make a young cycle as long as a full
/// one.
pub(crate) const MAX_YOUNG_ROOTS: usize = 4 * YOUNG_ROOTS;

/// A young cycle starts when this many young candidates wait.
pub(crate) const YOUNG_ROOTS: usize = 8 << 10;

impl Candidates {
    pub fn new() -> Candidates {
        Candidates {
            young: RefCell::new(Vec::new()),
            old: RefCell::new(Vec::new()),
            old_len: Cell::new(0),
        }
    }

    /// Buffers `h`, which is not buffered. Returns the young buffer's length.
    pub fn push(&self, h: NonNull<Header>) -> usize {
        // SAFETY: the caller holds a handle to `h` (its count is above zero).
        let header = unsafe { h.as_ref() };
        debug_assert!(!header.flag(BUFFERED));
        header.set_flag(BUFFERED, true);
        if header.flag(OLD) {
            self.push_old(h);
            self.young.borrow().len()
        } else {
            let mut young = self.young.borrow_mut();
            young.push(h);
            young.len()
        }
    }

    /// Buffers `h` (flagged `BUFFERED` already) for the next full cycle.
    pub fn push_old(&self, h: NonNull<Header>) {
        let mut old = self.old.borrow_mut();
        match old.last_mut() {
            Some(chunk) => chunk.push(h),
            None => old.push(vec![h]),
        }
        self.old_len.set(self.old_len.get() + 1);
    }

    /// Adds objects a young cycle left unexamined (already flagged `BUFFERED`).
    pub fn defer(&self, objects: &mut Vec<NonNull<Header>>) {
        if !objects.is_empty() {
            self.old_len.set(self.old_len.get() + objects.len());
            self.old.borrow_mut().push(std::mem::take(objects));
        }
    }

    pub fn young_len(&self) -> usize {
        self.young.borrow().len()
    }

    pub fn len(&self) -> usize {
        self.young.borrow().len() + self.old_len.get()
    }

    /// Moves the candidates of a new cycle into `roots` (empty), in O(1): the young ones
    /// (unless they are a burst, which goes to the old ones), and the old ones too for a
    /// full cycle. They stay flagged `BUFFERED` until the cycle takes them; a young cycle
    /// hands back those it finds old (`push_old`).
    pub fn take(&self, full: bool, roots: &mut Vec<Vec<NonNull<Header>>>) {
        debug_assert!(roots.is_empty());
        let young = std::mem::take(&mut *self.young.borrow_mut());
        if !full && young.len() > MAX_YOUNG_ROOTS {
            self.defer(&mut { young });
            return;
        }
        if full {
            std::mem::swap(roots, &mut *self.old.borrow_mut());
            self.old_len.set(0);
        }
        roots.push(young);
    }

    /// Empties both buffers into `out` (at the heap's teardown).
    pub fn drain(&self, out: &mut Vec<NonNull<Header>>) {
        out.append(&mut self.young.borrow_mut());
        for mut chunk in self.old.borrow_mut().drain(..) {
            out.append(&mut chunk);
        }
        self.old_len.set(0);
    }
}
