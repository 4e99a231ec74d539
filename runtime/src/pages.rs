//! Where small objects live: the thread's pages, each cut into slots of one size class.
//!
//! A page is 256 KiB of memory mapped for this thread alone, aligned to its size, so the page
//! of any object is its address with the low bits cleared; its [`Page`] record sits at the
//! start. Objects of up to 32 KiB (aligned to at most 16 bytes) round up to one of 40 size
//! classes (16-byte steps to 128 bytes, then four per doubling, so at most 25% is lost to
//! rounding) and take a slot of a page of that class: from the page's list of freed slots
//! first, so freed memory is reused at once while it is warm in the cache, else from the
//! untouched rest of the page (bump allocation, so a page's memory is touched only as it
//! fills up). Larger or more aligned objects are the large-object space's (`large.rs`).
//!
//! The heap can visit every object (at thread exit, to leave them reference-counted only)
//! with no table of objects that every allocation and free would have to update: the slots
//! of a page are at fixed offsets, and a freed slot says so in its first word (the header's
//! state has [`FREE`] set).
//!
//! Invariants:
//! - a page's slots below its bump pointer are each either an object (the header written by
//!   its allocation) or free (a [`FreeSlot`]); the slots above it hold no object (never
//!   used, or freed before the page was emptied and started over, see [`Pages::free`]);
//! - a page stays mapped, and of its class, until [`Pages::trim`] unmaps it, which only
//!   happens when no object is left in it and no collection is under way;
//! - only the thread that owns the heap touches its pages.

use std::cell::{Cell, RefCell};
use std::ptr::NonNull;

/// The size (and alignment) of a page.
pub(crate) const PAGE_SIZE: usize = 256 << 10;
/// The largest object a page holds.
pub(crate) const MAX_SMALL: usize = 32 << 10;
/// The largest alignment a slot guarantees.
pub(crate) const MAX_ALIGN: usize = 16;
/// How many size classes there are.
pub(crate) const CLASSES: usize = 40;

/// The flag in a header's state (its second 32-bit word) that marks a free slot.
pub(crate) const FREE: u32 = 1 << 29;

/// The size class of an object of `size` bytes (at most [`MAX_SMALL`]).
#[inline(always)]
pub(crate) const fn class_of(size: usize) -> usize {
    let size = if size < 16 { 16 } else { size };
    if size <= 128 {
        return size.div_ceil(16) - 1;
    }
    // `size` is in (2^b, 2^(b+1)]; four classes split that range.
    let b = usize::BITS - 1 - (size - 1).leading_zeros();
    let step = 1 << (b - 2);
    let k = (size - (1 << b)).div_ceil(step);
    8 + (b as usize - 7) * 4 + (k - 1)
}

/// The slot size of a size class.
pub(crate) const fn class_size(class: usize) -> usize {
    if class < 8 {
        return (class + 1) * 16;
    }
    let b = 7 + (class - 8) / 4;
    let k = (class - 8) % 4 + 1;
    (1 << b) + k * (1 << (b - 2))
}

/// What a free slot holds: a header-shaped first word that says it is free, and the next
/// free slot of its page.
#[repr(C)]
struct FreeSlot {
    strong: u32,
    state: u32,
    next: *mut FreeSlot,
}

/// A page's record, at its start.
pub(crate) struct Page {
    /// The page's freed slots, most recently freed first.
    free: Cell<*mut FreeSlot>,
    /// The first slot never used.
    bump: Cell<*mut u8>,
    /// The address past which no whole slot fits.
    limit: usize,
    size: usize,
    class: usize,
    /// Objects in the page.
    used: Cell<usize>,
    /// In its class's list of pages with room (see [`Pages::heads`]).
    listed: Cell<bool>,
    next: Cell<*mut Page>,
}

/// Where a page's first slot starts.
const FIRST: usize = std::mem::size_of::<Page>().next_multiple_of(MAX_ALIGN);

impl Page {
    /// Takes a slot, if the page has one.
    #[inline(always)]
    fn take(&self) -> Option<NonNull<u8>> {
        let free = self.free.get();
        if let Some(slot) = NonNull::new(free) {
            // SAFETY: free slots of a mapped page hold a `FreeSlot` (module invariant).
            self.free.set(unsafe { (*slot.as_ptr()).next });
            self.used.set(self.used.get() + 1);
            return Some(slot.cast());
        }
        let bump = self.bump.get();
        if bump.addr() + self.size <= self.limit {
            self.bump.set(bump.wrapping_add(self.size));
            self.used.set(self.used.get() + 1);
            // SAFETY: inside the mapped page, so not null.
            return Some(unsafe { NonNull::new_unchecked(bump) });
        }
        None
    }

    fn base(&self) -> *mut u8 {
        (self as *const Page).cast_mut().cast()
    }

    /// The slots handed out so far (objects and free slots).
    pub fn slot_count(&self) -> usize {
        (self.bump.get().addr() - self.base().addr() - FIRST) / self.size
    }

    /// Slot `k` (below [`Page::slot_count`]): an object's header, or a free slot (read
    /// its state before anything else).
    pub fn slot(&self, k: usize) -> *mut u8 {
        self.base().wrapping_add(FIRST + k * self.size)
    }

    pub fn is_empty(&self) -> bool {
        self.used.get() == 0
    }
}

/// The page an object of a page lives in.
#[inline(always)]
fn page_of(p: NonNull<u8>) -> NonNull<Page> {
    p.map_addr(|a| {
        // SAFETY: a page's record is at its start, which is not address zero.
        unsafe { std::num::NonZeroUsize::new_unchecked(a.get() & !(PAGE_SIZE - 1)) }
    })
    .cast()
}

/// A heap's pages.
pub(crate) struct Pages {
    /// For each class, the pages with room, chained through `Page::next`; the first is the
    /// one allocation takes from. A page is listed when it is made or when a slot of a full
    /// page is freed, and unlisted when allocation finds it full.
    heads: [Cell<*mut Page>; CLASSES],
    /// The last page of each class's list. A full page that gets room again goes to the
    /// back: when a structure that filled pages in order dies in that order (a tree built
    /// and dropped depth first), its pages are listed, and filled again, in the same
    /// ascending order, which the prefetchers follow across pages. Pushed to the front, the
    /// next structure would run downward across pages: 20% slower on binary-trees' largest
    /// trees.
    tails: [Cell<*mut Page>; CLASSES],
    /// Every page, in the order made.
    all: RefCell<Vec<NonNull<Page>>>,
    /// What is left of the address space last mapped for pages (see `SEGMENT`): the next
    /// page's address and the end.
    segment: Cell<(usize, usize)>,
}

impl Pages {
    pub fn new() -> Pages {
        Pages {
            heads: [const { Cell::new(std::ptr::null_mut()) }; CLASSES],
            tails: [const { Cell::new(std::ptr::null_mut()) }; CLASSES],
            all: RefCell::new(Vec::new()),
            segment: Cell::new((0, 0)),
        }
    }

    /// A slot for an object of `class`.
    #[inline(always)]
    pub fn alloc(&self, class: usize) -> NonNull<u8> {
        if let Some(page) = NonNull::new(self.heads[class].get()) {
            // SAFETY: listed pages are mapped (only `trim` unmaps, and it unlists first).
            if let Some(p) = unsafe { page.as_ref() }.take() {
                return p;
            }
        }
        self.alloc_slow(class)
    }

    #[cold]
    #[inline(never)]
    fn alloc_slow(&self, class: usize) -> NonNull<u8> {
        let head = &self.heads[class];
        while let Some(page) = NonNull::new(head.get()) {
            // SAFETY: as in `alloc`.
            let page = unsafe { page.as_ref() };
            if let Some(p) = page.take() {
                return p;
            }
            head.set(page.next.replace(std::ptr::null_mut()));
            page.listed.set(false);
        }
        self.tails[class].set(std::ptr::null_mut());
        let page = self.new_page(class);
        // SAFETY: just mapped.
        unsafe { page.as_ref() }
            .take()
            .expect("a new page has a slot")
    }

    fn new_page(&self, class: usize) -> NonNull<Page> {
        let base = map_page(&self.segment);
        let size = class_size(class);
        let first = base.as_ptr().wrapping_add(FIRST);
        let page = base.cast::<Page>();
        // SAFETY: fresh memory, aligned to a page, large enough for the record.
        unsafe {
            page.as_ptr().write(Page {
                free: Cell::new(std::ptr::null_mut()),
                bump: Cell::new(first),
                limit: base.as_ptr().addr() + PAGE_SIZE,
                size,
                class,
                used: Cell::new(0),
                listed: Cell::new(false),
                next: Cell::new(std::ptr::null_mut()),
            })
        };
        self.list(page);
        self.all.borrow_mut().push(page);
        page
    }

    /// Gives a slot back to its page. With `start_over`, a page left empty starts over
    /// instead: its free list is dropped and its bump pointer goes back to its first slot,
    /// so that the next objects are laid out in the order they are made, one after the
    /// other, as in a fresh page. A structure built and walked in order (a tree built depth
    /// first) then runs through memory the way the hardware prefetchers follow, where a
    /// free list would hand its slots back in the order they were freed.
    ///
    /// # Safety
    /// `p` is a slot of one of these pages that `alloc` handed out, whose object is gone
    /// (value dropped); nothing uses it again. `start_over` only when no collection is
    /// under way.
    #[inline(always)]
    pub unsafe fn free(&self, p: NonNull<u8>, start_over: bool) {
        // SAFETY: the slot's page is mapped (it still holds this object).
        let page = unsafe { page_of(p).as_ref() };
        let used = page.used.get() - 1;
        page.used.set(used);
        if used == 0 && start_over {
            // Every slot is free: none below the new bump pointer, and those above it hold
            // no object (the module's invariant).
            page.free.set(std::ptr::null_mut());
            page.bump.set(page.base().wrapping_add(FIRST));
        } else {
            let slot = p.cast::<FreeSlot>();
            // SAFETY: the slot is ours again, and at least 16 bytes.
            unsafe {
                slot.as_ptr().write(FreeSlot {
                    strong: 0,
                    state: FREE,
                    next: page.free.get(),
                })
            };
            page.free.set(slot.as_ptr());
        }
        if !page.listed.get() {
            self.list(NonNull::from(page));
        }
    }

    /// Puts an unlisted page at the back of its class's list.
    fn list(&self, page: NonNull<Page>) {
        // SAFETY: the caller's page is mapped.
        let p = unsafe { page.as_ref() };
        debug_assert!(!p.listed.get());
        p.listed.set(true);
        p.next.set(std::ptr::null_mut());
        let tail = &self.tails[p.class];
        match NonNull::new(tail.get()) {
            // SAFETY: listed pages are mapped.
            Some(last) => unsafe { last.as_ref() }.next.set(page.as_ptr()),
            None => self.heads[p.class].set(page.as_ptr()),
        }
        tail.set(page.as_ptr());
    }

    /// How many pages there are.
    pub fn len(&self) -> usize {
        self.all.borrow().len()
    }

    /// Page `i` (below [`Pages::len`]). It stays mapped until `trim`: pages
    /// are unmapped by `trim` only.
    pub fn page(&self, i: usize) -> NonNull<Page> {
        self.all.borrow()[i]
    }

    /// Gives empty pages back to the OS, keeping about `keep` bytes of them for the heap to
    /// grow back into.
    /// At most `max_unmap` pages are unmapped per call (each is a system call that tears
    /// down page tables: the rest wait for the next call, which keeps the call short).
    pub fn trim(&self, keep: usize, max_unmap: usize) {
        let mut kept = 0;
        let mut unmapped = 0;
        let mut all = self.all.borrow_mut();
        for list in self.heads.iter().chain(&self.tails) {
            list.set(std::ptr::null_mut());
        }
        all.retain(|&page| {
            // SAFETY: pages in `all` are mapped.
            let p = unsafe { page.as_ref() };
            if p.is_empty() {
                if kept + PAGE_SIZE > keep && unmapped < max_unmap {
                    // SAFETY: no object is left in the page, and it was unlisted above.
                    unsafe { unmap_page(page.cast()) };
                    unmapped += 1;
                    return false;
                }
                kept += PAGE_SIZE;
                // An empty page starts over: untouched again, as far as it knows.
                p.free.set(std::ptr::null_mut());
                p.bump.set(p.base().wrapping_add(FIRST));
            }
            let room = !p.free.get().is_null() || p.bump.get().addr() + p.size <= p.limit;
            p.listed.set(false);
            p.next.set(std::ptr::null_mut());
            if room {
                self.list(page);
            }
            true
        });
    }

    /// Unmaps the empty pages and forgets the others, whose objects outlive the heap (they
    /// are reference-counted only from now on, and their memory is never reused).
    pub fn abandon(&self) {
        for page in self.all.borrow_mut().drain(..) {
            // SAFETY: pages in `all` are mapped.
            if unsafe { page.as_ref() }.is_empty() {
                // SAFETY: no object is left in it.
                unsafe { unmap_page(page.cast()) };
            }
        }
        for list in self.heads.iter().chain(&self.tails) {
            list.set(std::ptr::null_mut());
        }
        #[cfg(unix)]
        {
            let (next, end) = self.segment.replace((0, 0));
            if next < end {
                // SAFETY: the untouched rest of a segment mapped for this heap; no page
                // was handed out from it.
                unsafe { libc::munmap(std::ptr::with_exposed_provenance_mut(next), end - next) };
            }
        }
    }
}

/// How much address space is mapped at once (8 MiB), to be handed out a page at a time in
/// ascending order. The kernel places mappings top-down, so pages mapped one by one would
/// put each new page below the last, and a structure allocated in order (a tree built
/// depth-first) would run upward within pages but downward across them, which the
/// hardware prefetchers follow badly: binary-trees ran about 10% slower that way.
#[cfg(unix)]
const SEGMENT: usize = 32 * PAGE_SIZE;

/// Maps a fresh page, aligned to its size.
#[cfg(unix)]
fn map_page(segment: &Cell<(usize, usize)>) -> NonNull<u8> {
    let (mut next, mut end) = segment.get();
    if next == end {
        // Map a segment and a page more, and unmap what sticks out on either side of the
        // aligned segment.
        let len = SEGMENT + PAGE_SIZE;
        // SAFETY: an anonymous private mapping that no one else refers to.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            std::alloc::handle_alloc_error(page_layout());
        }
        let head = p.addr().next_multiple_of(PAGE_SIZE) - p.addr();
        // SAFETY: both ranges are parts of the mapping just made, outside the segment kept.
        unsafe {
            if head > 0 {
                libc::munmap(p, head);
            }
            let tail = len - head - SEGMENT;
            if tail > 0 {
                libc::munmap(p.cast::<u8>().add(head + SEGMENT).cast(), tail);
            }
        }
        next = p.addr() + head;
        end = next + SEGMENT;
    }
    segment.set((next + PAGE_SIZE, end));
    // SAFETY: inside a live mapping (whose address `mmap` exposed), so not null.
    unsafe { NonNull::new_unchecked(std::ptr::with_exposed_provenance_mut(next)) }
}

/// # Safety
/// `page` came from `map_page` and nothing refers to it any more.
#[cfg(unix)]
unsafe fn unmap_page(page: NonNull<u8>) {
    // SAFETY: per the contract.
    unsafe { libc::munmap(page.as_ptr().cast(), PAGE_SIZE) };
}

#[cfg(not(unix))]
fn map_page(_: &Cell<(usize, usize)>) -> NonNull<u8> {
    // SAFETY: the layout's size is not zero.
    let p = unsafe { std::alloc::alloc(page_layout()) };
    NonNull::new(p).unwrap_or_else(|| std::alloc::handle_alloc_error(page_layout()))
}

/// # Safety
/// `page` came from `map_page` and nothing refers to it any more.
#[cfg(not(unix))]
unsafe fn unmap_page(page: NonNull<u8>) {
    // SAFETY: per the contract.
    unsafe { std::alloc::dealloc(page.as_ptr(), page_layout()) };
}

fn page_layout() -> std::alloc::Layout {
    std::alloc::Layout::from_size_align(PAGE_SIZE, PAGE_SIZE).expect("a valid layout")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_round_up_by_at_most_a_quarter() {
        assert_eq!(class_size(CLASSES - 1), MAX_SMALL);
        let mut last = 0;
        for size in 1..=MAX_SMALL {
            let class = class_of(size);
            let slot = class_size(class);
            assert!(
                slot >= size && slot.is_multiple_of(MAX_ALIGN),
                "{size} -> {slot}"
            );
            assert!(
                slot <= size.max(16).div_ceil(16) * 16 + size / 4,
                "{size} -> {slot}"
            );
            assert!(class == last || class == last + 1);
            last = class;
            // The smallest size of a class maps to it, and one less to the class below.
            if class > 0 {
                assert_eq!(class_of(class_size(class - 1) + 1), class);
            }
        }
    }

    #[test]
    fn freed_slots_are_reused_first_and_empty_pages_go_back() {
        let pages = Pages::new();
        let a = pages.alloc(class_of(32));
        let b = pages.alloc(class_of(32));
        assert_eq!(b.as_ptr().addr() - a.as_ptr().addr(), 32);
        // SAFETY: handed out above, not used.
        unsafe { pages.free(a, false) };
        assert_eq!(pages.alloc(class_of(32)), a);
        // A full page goes off the list, and a free slot puts it back at the end: the page
        // being filled comes first.
        let per_page = (PAGE_SIZE - FIRST) / 32;
        let rest: Vec<_> = (2..per_page).map(|_| pages.alloc(class_of(32))).collect();
        let other = pages.alloc(class_of(32));
        assert_eq!(pages.len(), 2);
        assert_ne!(page_of(other), page_of(a));
        // SAFETY: as above.
        unsafe { pages.free(b, false) };
        let next = pages.alloc(class_of(32));
        assert_eq!(page_of(next), page_of(other));
        // SAFETY: as above.
        unsafe { pages.free(next, false) };
        let filler: Vec<_> = (1..per_page).map(|_| pages.alloc(class_of(32))).collect();
        assert!(filler.iter().all(|&p| page_of(p) == page_of(other)));
        assert_eq!(pages.alloc(class_of(32)), b);
        for p in filler {
            // SAFETY: as above.
            unsafe { pages.free(p, false) };
        }
        for p in rest.into_iter().chain([a, b]) {
            // SAFETY: as above.
            unsafe { pages.free(p, false) };
        }
        // SAFETY: page 0 is mapped.
        assert!(unsafe { pages.page(0).as_ref() }.is_empty());
        pages.trim(0, usize::MAX);
        assert_eq!(pages.len(), 1);
        // SAFETY: as above.
        unsafe { pages.free(other, false) };
        pages.trim(PAGE_SIZE, usize::MAX);
        assert_eq!(pages.len(), 1, "one empty page kept");
        // SAFETY: page 0 is mapped.
        assert_eq!(
            unsafe { pages.page(0).as_ref() }.slot_count(),
            0,
            "and reset"
        );
        pages.abandon();
    }

    #[test]
    fn an_emptied_page_starts_over_only_when_asked() {
        let pages = Pages::new();
        let class = class_of(48);
        let first: Vec<_> = (0..3).map(|_| pages.alloc(class)).collect();
        for &p in &first {
            // SAFETY: handed out above, not used.
            unsafe { pages.free(p, false) };
        }
        // The free list hands slots back most recently freed first.
        let again: Vec<_> = (0..3).map(|_| pages.alloc(class)).collect();
        assert_eq!(again, first.iter().rev().copied().collect::<Vec<_>>());
        for &p in &again {
            // SAFETY: as above.
            unsafe { pages.free(p, true) };
        }
        // Emptied with `start_over`: in order again, and no slot left below the bump pointer.
        // SAFETY: page 0 is mapped.
        assert_eq!(unsafe { pages.page(0).as_ref() }.slot_count(), 0);
        let fresh: Vec<_> = (0..3).map(|_| pages.alloc(class)).collect();
        assert_eq!(fresh, first);
        // A page with an object left keeps its free list.
        // SAFETY: as above.
        unsafe { pages.free(fresh[1], true) };
        assert_eq!(pages.alloc(class), fresh[1]);
        for p in fresh {
            // SAFETY: as above.
            unsafe { pages.free(p, true) };
        }
        pages.abandon();
    }

    #[test]
    fn pages_that_get_room_again_are_filled_in_the_order_they_got_it() {
        let pages = Pages::new();
        let class = class_of(MAX_SMALL);
        let per_page = (PAGE_SIZE - FIRST) / class_size(class);
        let slots: Vec<_> = (0..3 * per_page).map(|_| pages.alloc(class)).collect();
        assert_eq!(pages.len(), 3);
        // Freed page by page, in the order they were filled...
        for &p in &slots {
            // SAFETY: handed out above, not used.
            unsafe { pages.free(p, true) };
        }
        // ...they are filled again in that order, each from its first slot, after the page
        // that was being filled (still first in the list).
        let again: Vec<_> = (0..3 * per_page).map(|_| pages.alloc(class)).collect();
        let (earlier, last) = slots.split_at(2 * per_page);
        assert_eq!(again, [last, earlier].concat());
        for p in again {
            // SAFETY: as above.
            unsafe { pages.free(p, true) };
        }
        pages.abandon();
    }
}
