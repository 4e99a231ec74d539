//! Where objects live: a mimalloc heap of the thread's own (size classes up to large
//! objects, thread-local free lists, memory of freed objects reused and empty pages given
//! back to the OS), or the global allocator with the `system-alloc` feature, which lets
//! valgrind see every object (CI runs the collector tests that way).

use std::alloc::Layout;

#[cfg(not(feature = "system-alloc"))]
pub(crate) struct Arena {
    heap: *mut libmimalloc_sys::mi_heap_t,
}

#[cfg(not(feature = "system-alloc"))]
impl Arena {
    pub fn new() -> Arena {
        // SAFETY: creates a heap owned by this thread; null on failure, checked at use.
        Arena {
            heap: unsafe { libmimalloc_sys::mi_heap_new() },
        }
    }

    /// Memory for one object, or `None` if this arena cannot provide it.
    pub fn alloc(&self, layout: Layout) -> Option<*mut u8> {
        if self.heap.is_null() {
            return None;
        }
        // SAFETY: the heap belongs to this thread (arenas live in a thread-local) and is
        // alive; mimalloc returns null or a block of at least `size` bytes, so aligned.
        let p = unsafe {
            libmimalloc_sys::mi_heap_malloc_aligned(self.heap, layout.size(), layout.align())
        };
        (!p.is_null()).then_some(p.cast())
    }
}

#[cfg(not(feature = "system-alloc"))]
impl Drop for Arena {
    fn drop(&mut self) {
        if !self.heap.is_null() {
            // SAFETY: deleting (not destroying) hands the blocks still allocated to the
            // thread's default heap, where `mi_free` can still free them.
            unsafe { libmimalloc_sys::mi_heap_delete(self.heap) };
        }
    }
}

/// Frees memory that [`Arena::alloc`] returned.
///
/// # Safety
/// `p` came from an arena's `alloc` with `layout`, and is not used again.
#[cfg(not(feature = "system-alloc"))]
pub(crate) unsafe fn free_arena(p: *mut u8, _layout: Layout) {
    // SAFETY: per the contract; `mi_free` frees any mimalloc block, from any heap.
    unsafe { libmimalloc_sys::mi_free(p.cast()) }
}

#[cfg(feature = "system-alloc")]
pub(crate) struct Arena;

#[cfg(feature = "system-alloc")]
impl Arena {
    pub fn new() -> Arena {
        Arena
    }

    pub fn alloc(&self, layout: Layout) -> Option<*mut u8> {
        // SAFETY: `layout` has a non-zero size (every object has a header).
        let p = unsafe { std::alloc::alloc(layout) };
        (!p.is_null()).then_some(p)
    }
}

/// # Safety
/// As for the mimalloc version.
#[cfg(feature = "system-alloc")]
pub(crate) unsafe fn free_arena(p: *mut u8, layout: Layout) {
    // SAFETY: per the contract, `p` came from `std::alloc::alloc(layout)`.
    unsafe { std::alloc::dealloc(p, layout) }
}
