//! Where objects' memory comes from.
//!
//! A mimalloc heap of the thread's own (`mi_heap_new`): size classes, thread-local free
//! lists, freed memory reused at once, empty pages given back to the OS. Objects aligned to
//! more than mimalloc's 16 bytes, objects allocated after the heap was torn down, and,
//! with the `system-alloc` feature (which lets valgrind see every object; CI runs the
//! collector tests that way), all objects come from the global allocator instead. Which
//! allocator an object came from is a flag in its header. Finding the objects is not this
//! module's job: the heap keeps a table of them (see `heap.rs`).

use std::alloc::Layout;

pub(crate) struct Arena {
    #[cfg(not(feature = "system-alloc"))]
    heap: *mut libmimalloc_sys::mi_heap_t,
}

impl Arena {
    pub fn new() -> Arena {
        Arena {
            // SAFETY: creates a heap owned by this thread; null on failure, checked at use.
            #[cfg(not(feature = "system-alloc"))]
            heap: unsafe { libmimalloc_sys::mi_heap_new() },
        }
    }

    /// Memory for one object from the arena, if it can place it (else the caller uses the
    /// global allocator).
    #[inline]
    pub fn alloc(&self, layout: Layout) -> Option<*mut u8> {
        #[cfg(not(feature = "system-alloc"))]
        {
            if self.heap.is_null() || layout.align() > 16 {
                return None;
            }
            // SAFETY: the heap belongs to this thread (arenas live in the thread's heap) and
            // is alive; the size is not zero (every object has a header).
            let p = unsafe {
                libmimalloc_sys::mi_heap_malloc_aligned(self.heap, layout.size(), layout.align())
            };
            (!p.is_null()).then_some(p.cast())
        }
        #[cfg(feature = "system-alloc")]
        {
            let _ = layout;
            None
        }
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        #[cfg(not(feature = "system-alloc"))]
        if !self.heap.is_null() {
            // SAFETY: deleting (not destroying) hands the blocks still allocated to the
            // thread's default heap, where `mi_free` can still free them.
            unsafe { libmimalloc_sys::mi_heap_delete(self.heap) };
        }
    }
}

/// Frees an object's memory that [`Arena::alloc`] returned.
///
/// # Safety
/// `p` came from an arena's `alloc` with `layout`, and is not used again.
pub(crate) unsafe fn free_arena(p: *mut u8, layout: Layout) {
    #[cfg(not(feature = "system-alloc"))]
    {
        let _ = layout;
        // SAFETY: per the contract; `mi_free` frees any mimalloc block, from any heap.
        unsafe { libmimalloc_sys::mi_free(p.cast()) }
    }
    #[cfg(feature = "system-alloc")]
    {
        let _ = (p, layout);
        unreachable!("no object comes from the arena with the system-alloc feature");
    }
}
