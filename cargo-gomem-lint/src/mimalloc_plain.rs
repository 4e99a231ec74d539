//! The global allocator under `gomem::Profiled`: mimalloc, asked through its plain entry
//! points (`mi_malloc`, `mi_zalloc`, `mi_realloc`) whenever a plain block is aligned enough,
//! and through the `_aligned` ones only otherwise.
//!
//! The `mimalloc` crate's `MiMalloc` passes every request to the `_aligned` entry points.
//! In mimalloc v3 those first check that the next free block happens to be aligned, and when
//! the page has none ready they take the generic path, which over-allocates for block sizes
//! that are not powers of two (`mi_theap_malloc_zero_aligned_at_generic` and `_overalloc`).
//! Rust asks for an alignment on every allocation, mostly 8, which any plain block has:
//! mimalloc's blocks are word multiples, and a block of 16 bytes or more is 16-aligned (its
//! `alloc.c` asserts it), as C's `malloc` must be for `max_align_t`. Rust's own `System`
//! allocator takes the same shortcut on `malloc`. (mimalloc_rust's open PR #170 proposes it
//! for the crate.)
//!
//! Measured on tokio at `-j 1` (cachegrind): 2,436.7M -> 2,371.7M instructions, with page
//! faults unchanged; on the registry folder's ~6M lines, peak memory 465-477 MB -> 437-453 MB
//! (two runs each). The bench's parse-only side uses this allocator too, so both sides of its
//! ratio allocate alike (`benches/lint_vs_parse.rs`): that side went 2,072.7M -> 2,028.6M.

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys as mi;

/// mimalloc's `MI_MAX_ALIGN_SIZE`: the alignment of every block of at least this size.
const MAX_ALIGN: usize = 16;

/// mimalloc, through its plain entry points where they give the alignment asked for.
pub struct Mimalloc;

/// Whether a plain block of `size` bytes is aligned to `align`: any block is aligned to its
/// size's word multiple up to 16, so an alignment up to 16 that is no larger than the size
/// is met (`align` is a power of two, as a `Layout`'s is).
#[inline]
fn plain(align: usize, size: usize) -> bool {
    align <= MAX_ALIGN && align <= size
}

/// A block of `layout` from `plain_fn(size)` where a plain block is aligned enough, else from
/// `aligned_fn(size, align)`: `alloc` and `alloc_zeroed` differ only in the pair they pass.
/// (Inlined, so that each caller calls its pair directly.)
///
/// # Safety
/// The two must be one of mimalloc's pairs of allocation entry points, which take any size
/// and a power-of-two alignment (a `Layout`'s).
#[inline(always)]
unsafe fn allocate(
    layout: Layout,
    plain_fn: unsafe extern "C" fn(usize) -> *mut c_void,
    aligned_fn: unsafe extern "C" fn(usize, usize) -> *mut c_void,
) -> *mut u8 {
    // SAFETY: the caller's contract.
    unsafe {
        if plain(layout.align(), layout.size()) {
            plain_fn(layout.size()).cast()
        } else {
            aligned_fn(layout.size(), layout.align()).cast()
        }
    }
}

// SAFETY: each method hands the layout's size (and, when a plain block would not do, its
// alignment) to mimalloc's matching entry point, which returns a block of at least that size
// with that alignment, or null; `plain` only skips the alignment where every block mimalloc
// returns already has it (see the module doc). Every block, plain or aligned, is freed by
// `mi_free` and grown by either realloc, as mimalloc documents.
unsafe impl GlobalAlloc for Mimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: mimalloc's allocation entry points, a matching pair.
        unsafe { allocate(layout, mi::mi_malloc, mi::mi_malloc_aligned) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: mimalloc's zeroing allocation entry points, a matching pair.
        unsafe { allocate(layout, mi::mi_zalloc, mi::mi_zalloc_aligned) }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: the caller gives a block this allocator returned, so mimalloc's.
        unsafe { mi::mi_free(ptr.cast::<c_void>()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller gives a block of `layout` this allocator returned, and a new
        // size for the same alignment; `mi_realloc` keeps the contents up to the smaller size.
        unsafe {
            if plain(layout.align(), new_size) {
                mi::mi_realloc(ptr.cast::<c_void>(), new_size).cast()
            } else {
                mi::mi_realloc_aligned(ptr.cast::<c_void>(), new_size, layout.align()).cast()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIZES: [usize; 20] = [
        1,
        2,
        3,
        7,
        8,
        9,
        12,
        15,
        16,
        17,
        24,
        40,
        48,
        72,
        100,
        1000,
        1024,
        4000,
        70_000,
        3 << 20,
    ];
    const ALIGNS: [usize; 9] = [1, 2, 4, 8, 16, 32, 64, 256, 4096];

    /// Every size and alignment, plain or not, gets a block of its alignment that holds what
    /// is written to it; zeroed blocks read as zeros; a realloc keeps the contents and the
    /// alignment, growing and shrinking. Many blocks are held at once, so that pages are
    /// shared, refilled and fresh.
    #[test]
    fn blocks_have_the_alignment_and_keep_their_contents() {
        let a = Mimalloc;
        let mut held = Vec::new();
        for round in 0..8u8 {
            for &size in &SIZES {
                for &align in &ALIGNS {
                    let layout = Layout::from_size_align(size, align).unwrap();
                    let zeroed = round % 2 == 1;
                    // SAFETY: a layout of non-zero size; the block is written within its
                    // size and freed below with the same layout (or its realloc's).
                    unsafe {
                        let p = if zeroed {
                            a.alloc_zeroed(layout)
                        } else {
                            a.alloc(layout)
                        };
                        assert!(!p.is_null());
                        assert_eq!(p as usize % align, 0, "size {size}, align {align}");
                        if zeroed {
                            assert!((0..size).all(|i| *p.add(i) == 0), "zeroed {size}");
                        }
                        p.write_bytes(round ^ size as u8, size);
                        held.push((p, layout));
                    }
                }
            }
        }
        for (i, (p, layout)) in held.into_iter().enumerate() {
            let (size, align) = (layout.size(), layout.align());
            let new_size = if i % 2 == 0 {
                size * 3 + 5
            } else {
                size.div_ceil(2)
            };
            // SAFETY: `p` is a live block of `layout` from `a`; the new layout is valid.
            unsafe {
                let fill = *p;
                let q = a.realloc(p, layout, new_size);
                assert!(!q.is_null());
                assert_eq!(
                    q as usize % align,
                    0,
                    "realloc {size} -> {new_size}, align {align}"
                );
                let kept = size.min(new_size);
                assert!(
                    (0..kept).all(|k| *q.add(k) == fill),
                    "contents of {size} -> {new_size}"
                );
                a.dealloc(q, Layout::from_size_align(new_size, align).unwrap());
            }
        }
    }

    #[test]
    fn plain_blocks_are_asked_for_only_where_they_are_aligned_enough() {
        assert!(plain(8, 8) && plain(8, 24) && plain(16, 16) && plain(16, 48) && plain(1, 1));
        // Smaller than its alignment (a block of 8 is only 8-aligned), or beyond 16.
        assert!(!plain(16, 8) && !plain(8, 4) && !plain(32, 64) && !plain(4096, 4096));
    }
}
