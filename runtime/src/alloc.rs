//! Where objects live, and how the collector finds them all.
//!
//! By default, in a mimalloc heap of the thread's own (`mi_heap_new`): size classes,
//! thread-local free lists, freed memory reused at once, empty pages given back to the OS,
//! and `mi_heap_visit_blocks` to list every object without a word of bookkeeping per object.
//! Objects mimalloc cannot place at the start of a block (alignment over 16) and, with the
//! `system-alloc` feature (which lets valgrind see every object; CI runs the collector tests
//! that way), all objects come from the global allocator and are kept in a registry.

use std::alloc::Layout;
use std::cell::RefCell;
use std::collections::HashSet;
use std::ptr::NonNull;

use crate::heap::Header;

pub(crate) struct Arena {
    #[cfg(not(feature = "system-alloc"))]
    heap: *mut libmimalloc_sys::mi_heap_t,
    /// Objects from the global allocator.
    registry: RefCell<HashSet<NonNull<Header>>>,
}

impl Arena {
    pub fn new() -> Arena {
        Arena {
            // SAFETY: creates a heap owned by this thread; null on failure, checked at use.
            #[cfg(not(feature = "system-alloc"))]
            heap: unsafe { libmimalloc_sys::mi_heap_new() },
            registry: RefCell::new(HashSet::new()),
        }
    }

    /// Memory for one object from the arena, if it can place it (else the caller uses the
    /// global allocator and [`Arena::register`]s the object).
    pub fn alloc(&self, layout: Layout) -> Option<*mut u8> {
        #[cfg(not(feature = "system-alloc"))]
        {
            // Over-aligned objects could start inside a block, where the block walk would not
            // find their header.
            if self.heap.is_null() || layout.align() > 16 {
                return None;
            }
            // SAFETY: the heap belongs to this thread (arenas live in a thread-local) and is
            // alive; with an alignment of at most 16 the block starts at the returned pointer.
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

    pub fn register(&self, h: NonNull<Header>) {
        self.registry.borrow_mut().insert(h);
    }

    pub fn unregister(&self, h: NonNull<Header>) {
        self.registry.borrow_mut().remove(&h);
    }

    /// Every object of the heap.
    pub fn objects(&self) -> Vec<NonNull<Header>> {
        #[cfg_attr(feature = "system-alloc", allow(unused_mut))]
        let mut out: Vec<NonNull<Header>> = self.registry.borrow().iter().copied().collect();
        #[cfg(not(feature = "system-alloc"))]
        if !self.heap.is_null() {
            unsafe extern "C" fn visit(
                _heap: *const libmimalloc_sys::mi_heap_t,
                _area: *const libmimalloc_sys::mi_heap_area_t,
                block: *mut std::ffi::c_void,
                _size: usize,
                out: *mut std::ffi::c_void,
            ) -> bool {
                if let Some(block) = NonNull::new(block) {
                    // SAFETY: `out` is the vector passed below, alive for the whole walk.
                    unsafe { (*out.cast::<Vec<NonNull<Header>>>()).push(block.cast()) };
                }
                true
            }
            // SAFETY: the heap is this thread's and alive; every block in it is an object
            // whose header starts the block (see `alloc`), initialized before any walk (objects
            // are built right after allocation, with no collection in between).
            unsafe {
                libmimalloc_sys::mi_heap_visit_blocks(
                    self.heap,
                    true,
                    Some(visit),
                    (&mut out as *mut Vec<NonNull<Header>>).cast(),
                );
            }
        }
        out
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
