//! [`Profiled`]: a global allocator that wraps another (`System`, mimalloc, jemalloc, ..)
//! and samples what the program allocates, so that [`write_heap_profile`] covers every
//! `Vec`, `String`, `Box` and `HashMap`, not only `Gc` objects, and leak checks
//! ([`leakcheck`](crate::leakcheck)) can name the memory a test left behind.
//!
//! Every block comes from the wrapped allocator unchanged (same size, same alignment, no
//! header), so the wrapper cannot corrupt what it does not sample, and frees it misses
//! cost a miscount, never memory. Sampling and its safety in reentrant calls, signal
//! handlers and thread exit are `samples.rs`'s (see its docs); here only the hooks.
//!
//! [`write_heap_profile`]: crate::write_heap_profile

use std::alloc::{GlobalAlloc, Layout};

use crate::samples;

/// A global allocator that samples allocations for the heap profile, as Go's runtime does:
///
/// ```
/// use std::alloc::System;
///
/// #[global_allocator]
/// static ALLOC: gomem::Profiled<System> = gomem::Profiled::new(System);
///
/// gomem::set_mem_profile_rate(512 * 1024); // or GOMEM_MEMPROFILERATE=524288
/// let kept = vec![0u8; 1 << 20];
/// let mut out = Vec::new();
/// gomem::write_heap_profile(&mut out).unwrap(); // `go tool pprof -top` reads it
/// # drop(kept);
/// ```
///
/// With sampling on, one allocation per rate bytes on average records its call stack
/// (tens of microseconds for a deep stack: libgcc's unwinder, about 37,000 instructions
/// for binary-trees' 20 frames); every other allocation costs a thread-local subtraction
/// and a branch before a tail call to the wrapped allocator, and every free a shift, a
/// mask, a load from an 8 KiB side filter and a bit test. With sampling off (the default,
/// as for the GC heap), the same, plus one out-of-line look at the rate per 64 KiB a
/// thread allocates. See `scripts/bench-profiled.sh` for what that costs.
pub struct Profiled<A> {
    inner: A,
}

impl<A> Profiled<A> {
    /// Wraps `inner`; usable in a `static`.
    pub const fn new(inner: A) -> Profiled<A> {
        Profiled { inner }
    }

    /// The wrapped allocator.
    pub const fn inner(&self) -> &A {
        &self.inner
    }
}

impl<A: GlobalAlloc> Profiled<A> {
    /// An allocation picked for a sample (or, with sampling off, due for a look at the
    /// rate). Out of line, so that every other allocation is a thread-local count and a
    /// tail call to the wrapped allocator.
    ///
    /// # Safety
    /// As for `GlobalAlloc::alloc`.
    #[cold]
    #[inline(never)]
    unsafe fn alloc_sampled(&self, layout: Layout, zeroed: bool) -> *mut u8 {
        // SAFETY: the caller's contract is the wrapped allocator's.
        let p = unsafe {
            if zeroed {
                self.inner.alloc_zeroed(layout)
            } else {
                self.inner.alloc(layout)
            }
        };
        if !p.is_null() {
            samples::sampled(p.addr(), layout.size());
        }
        p
    }
}

// SAFETY: every method hands its arguments to the wrapped allocator unchanged and returns
// its result unchanged; the sampler only records addresses (it never reads or writes the
// blocks), and it never calls back into this allocator for the block at hand.
unsafe impl<A: GlobalAlloc> GlobalAlloc for Profiled<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if samples::due(layout.size()) {
            // SAFETY: the caller's contract is the wrapped allocator's.
            return unsafe { self.alloc_sampled(layout, false) };
        }
        // SAFETY: as above.
        unsafe { self.inner.alloc(layout) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if samples::due(layout.size()) {
            // SAFETY: the caller's contract is the wrapped allocator's.
            return unsafe { self.alloc_sampled(layout, true) };
        }
        // SAFETY: as above.
        unsafe { self.inner.alloc_zeroed(layout) }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // Before the free: once freed, the address may be handed out again on another
        // thread and sampled there.
        samples::freeing(ptr.addr());
        // SAFETY: the caller's contract is the wrapped allocator's.
        unsafe { self.inner.dealloc(ptr, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Counted as a free of the old block and an allocation of the new one, moved or
        // not (Go has no realloc; this keeps a growing Vec's live bytes right).
        samples::freeing(ptr.addr());
        // SAFETY: the caller's contract is the wrapped allocator's.
        let p = unsafe { self.inner.realloc(ptr, layout, new_size) };
        if !p.is_null() && samples::due(new_size) {
            samples::sampled(p.addr(), new_size);
        }
        p
    }
}
