//! The object space: where a heap's objects are (its pages and its large-object table) and
//! what they add up to (bytes and objects allocated, live, and sampled for the profile).
//!
//! Every object of the heap is allocated by [`Space::alloc`] and freed by [`Space::free`],
//! which keep the totals and the heap profile's samples in step with the memory.
//!
//! Invariants: `bytes` and `objects` are the sums over the allocated objects of this space;
//! an object is freed once, after its value was dropped, when no handle and no collector
//! list points at it.

use std::alloc::Layout;
use std::cell::Cell;
use std::ptr::NonNull;

use crate::large;
use crate::object::{Header, LARGE, SAMPLED};
use crate::pages::{self, Pages, FREE};
use crate::profile::{self, Profiler};

pub(crate) struct Space {
    /// Where objects of up to 32 KiB live.
    pub pages: Pages,
    /// The larger (or more aligned) ones.
    large: large::Table,
    /// Bytes and count of the objects allocated now.
    pub bytes: Cell<usize>,
    pub objects: Cell<usize>,
    /// Since the thread started (never decrease).
    pub total_alloc_bytes: Cell<u64>,
    pub total_alloc_objects: Cell<u64>,
    /// The heap profile's sampler and samples.
    pub profile: Profiler,
}

/// The size class of objects of `layout` if they live in pages; `None` if they are large
/// (and for every object with the `system-alloc` feature, so that valgrind sees each).
pub(crate) const fn small_class(layout: Layout) -> Option<usize> {
    if cfg!(feature = "system-alloc")
        || layout.size() > pages::MAX_SMALL
        || layout.align() > pages::MAX_ALIGN
    {
        None
    } else {
        Some(pages::class_of(layout.size()))
    }
}

impl Space {
    pub fn new() -> Space {
        Space {
            pages: Pages::new(),
            large: large::Table::new(),
            bytes: Cell::new(0),
            objects: Cell::new(0),
            total_alloc_bytes: Cell::new(0),
            total_alloc_objects: Cell::new(0),
            profile: Profiler::new(profile::rate_from_env()),
        }
    }

    /// Memory for an object of `layout` (in size class `class` if small), which `init`
    /// builds; the object is counted (and maybe sampled).
    #[inline(always)]
    pub fn alloc(
        &self,
        layout: Layout,
        class: Option<usize>,
        init: impl FnOnce(NonNull<u8>) -> NonNull<Header>,
    ) -> NonNull<Header> {
        let h = match class {
            Some(class) => init(self.pages.alloc(class)),
            None => {
                let h = init(large::alloc(layout));
                // SAFETY: just made.
                unsafe { h.as_ref() }.set_flag(LARGE, true);
                self.large.insert(h);
                h
            }
        };
        let size = layout.size();
        self.bytes.set(self.bytes.get() + size);
        self.objects.set(self.objects.get() + 1);
        let total = self.total_alloc_bytes.get() + size as u64;
        self.total_alloc_bytes.set(total);
        self.total_alloc_objects
            .set(self.total_alloc_objects.get() + 1);
        if self.profile.due(total) {
            // SAFETY: just made.
            unsafe { h.as_ref() }.set_flag(SAMPLED, true);
            self.profile.sample(h.as_ptr().addr(), size, total);
        }
        h
    }

    /// Frees an object whose value was dropped and which nothing points at.
    ///
    /// # Safety
    /// As said; the object is this space's.
    #[inline(always)]
    pub unsafe fn free(&self, h: NonNull<Header>) {
        // SAFETY: allocated until freed below.
        let header = unsafe { h.as_ref() };
        debug_assert!(header.is_dropped() && header.strong() == 0 && !header.is_pinned());
        if header.flag(SAMPLED) {
            self.profile.freed(h.as_ptr().addr());
        }
        self.bytes
            .set(self.bytes.get() - header.vtable.layout.size());
        self.objects.set(self.objects.get() - 1);
        if header.is_large() {
            // SAFETY: per the contract, a large object of this space: in the table.
            unsafe {
                self.large.remove(h);
                large::dealloc(h);
            }
        } else {
            // SAFETY: per the contract; a page object's memory is a slot of these pages. No
            // collector list points at a freed slot (pinned objects are not freed), so its
            // page may start over.
            unsafe { self.pages.free(h.cast(), true) };
        }
    }

    /// Gives empty pages back to the OS, but for `keep` bytes' worth, at most a few at a
    /// time (see `Pages::trim`): the heap calls this at the end of every cycle.
    pub fn trim(&self, keep: usize) {
        self.pages.trim(keep, 8);
    }

    /// Calls `f` on every object (for the heap's teardown; `f` must not allocate or free).
    pub fn for_each(&self, mut f: impl FnMut(NonNull<Header>)) {
        for i in 0..self.pages.len() {
            // SAFETY: pages stay mapped while the heap lives (`trim` is not running).
            let page = unsafe { self.pages.page(i).as_ref() };
            if page.is_empty() {
                continue;
            }
            for k in 0..page.slot_count() {
                // SAFETY: a slot below the bump pointer.
                let p = unsafe { NonNull::new_unchecked(page.slot(k).cast::<Header>()) };
                // SAFETY: as above.
                if unsafe { crate::object::state_of(p) } & FREE == 0 {
                    f(p);
                }
            }
        }
        self.large.for_each(f);
    }
}
