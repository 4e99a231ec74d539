//! The large-object space: objects over 32 KiB or aligned over 16 bytes (and every object
//! with the `system-alloc` feature), each its own allocation from the global allocator.
//!
//! The heap keeps them in a [`Table`] so that it can find them all at thread exit; an
//! object's index in the table sits in the word just before its header, so removing it is
//! O(1).
//!
//! Invariants: a table entry is an allocated large object or a free entry (see [`slot`]);
//! an object in the table has its index in the word before its header; only the heap's
//! thread touches the table.

use std::alloc::Layout;
use std::cell::{Cell, RefCell};
use std::ptr::NonNull;

use crate::object::Header;
use crate::profile;

/// Where a large object's memory starts, before its header, and its size with that word.
fn layout_with_index(layout: Layout) -> (Layout, usize) {
    let (whole, offset) = Layout::new::<usize>()
        .extend(layout)
        .expect("an object's layout with a word before it");
    (whole.pad_to_align(), offset)
}

/// Memory for a large object of `layout` from the global allocator, with room before the
/// header for its table index.
pub(crate) fn alloc(layout: Layout) -> NonNull<u8> {
    let (whole, offset) = layout_with_index(layout);
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
/// `h` is a large object (from [`alloc`]) whose value was dropped; nothing uses it again.
pub(crate) unsafe fn dealloc(h: NonNull<Header>) {
    // SAFETY: allocated, per the contract.
    let (whole, offset) = layout_with_index(unsafe { h.as_ref() }.vtable.layout);
    // SAFETY: `alloc` returned the allocation's start plus `offset`.
    unsafe { std::alloc::dealloc(h.as_ptr().cast::<u8>().sub(offset), whole) };
}

/// The word before a large object's header, which holds its table index.
fn index_word(h: NonNull<Header>) -> *mut usize {
    // Pointer arithmetic only (no access): `alloc` left a word there.
    h.as_ptr().cast::<usize>().wrapping_sub(1)
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

/// The heap's large objects, with free entries chained from `free`.
pub(crate) struct Table {
    slots: RefCell<Vec<*mut Header>>,
    free: Cell<usize>,
}

impl Table {
    pub fn new() -> Table {
        Table {
            slots: RefCell::new(Vec::new()),
            free: Cell::new(slot::NONE),
        }
    }

    /// Adds a new large object (from [`alloc`]).
    pub fn insert(&self, h: NonNull<Header>) {
        let mut slots = self.slots.borrow_mut();
        let free = self.free.get();
        let index = if free != slot::NONE {
            self.free.set(slot::next_free(slots[free]));
            slots[free] = h.as_ptr();
            free
        } else {
            slots.push(h.as_ptr());
            slots.len() - 1
        };
        // SAFETY: `alloc` left a word before the header.
        unsafe { index_word(h).write(index) };
    }

    /// Removes an object of the table.
    ///
    /// # Safety
    /// `h` is in the table.
    pub unsafe fn remove(&self, h: NonNull<Header>) {
        // SAFETY: objects in the table keep their index before their header.
        let index = unsafe { index_word(h).read() };
        self.slots.borrow_mut()[index] = slot::free(self.free.replace(index));
    }

    /// Calls `f` on every object in the table (which `f` must not change).
    pub fn for_each(&self, mut f: impl FnMut(NonNull<Header>)) {
        for &p in self.slots.borrow().iter() {
            if let Some(h) = slot::object(p) {
                f(h);
            }
        }
    }
}
