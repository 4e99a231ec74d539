//! The per-call arena that `#[gomem::escape]` moves non-escaping allocations onto.
//!
//! Each annotated call opens a [`Region`] on entry. The region owns a bump allocator
//! ([`bumpalo::Bump`]) taken from a per-thread pool, hands out `&Bump` for the length of the
//! call, and on leaving the call (return, `?`, panic unwinding: it is a drop guard) resets the
//! bump and gives it back to the pool. Values placed in it are the arena types re-exported
//! here ([`Vec`], [`String`], [`Box`]): they run their destructors when they go out of scope,
//! like the std types they stand in for; the region only takes back the memory.
//!
//! **Why it is sound without `unsafe`.** Everything placed in a region borrows it, so the
//! borrow checker rejects any program in which such a value could outlive the call: a wrong
//! "does not escape" decision is a compile error, never a dangling pointer. A region owns its
//! bump outright (it is not an index into a shared stack), so regions may be nested, dropped
//! out of order or forgotten with `mem::forget` and still never share memory.
//!
//! **Nesting and recursion.** Each call takes its own bump from the pool, so nested and
//! recursive annotated calls each get their own region; the pool keeps one bump per nesting
//! depth reached, up to [`POOL_LIMIT`], so that steady-state calls allocate nothing: a reset
//! bump keeps its largest chunk, and after a few calls that chunk holds everything a call
//! needs.
//!
//! **Threads and async.** The pool is thread-local and a region is neither `Send` nor `Sync`.
//! `#[gomem::escape]` leaves the bodies of `async fn`s unrewritten: a future can move between
//! threads and interleave with other futures, which a per-call region held across an
//! `.await` would have to follow.

use std::cell::RefCell;
use std::marker::PhantomData;

pub use bumpalo::boxed::Box;
pub use bumpalo::collections::String;
pub use bumpalo::Bump;

mod vec;

/// The arena's vector: std's own `Vec` code made generic over its allocator
/// (allocator-api2's port, for stable Rust), allocating in the call's bump, with std's
/// `push` (`src/arena/vec.rs` says why it wraps the port). Its methods and their meanings
/// are std's. On a small tree of vectors built and walked per call (the `tree/4` workload of
/// `cargo bench --bench escape`) the port took 1.33 µs where bumpalo's own
/// `collections::Vec` took 2.04 µs and std's `Vec` on glibc's malloc 3.41 µs, in one run:
/// bumpalo's vector gives back about a third of what bump allocation saves.
pub use vec::Vec;

/// The most bumps a thread keeps for reuse (one per nesting depth of annotated calls).
/// Deeper recursion still works; its bumps are freed on exit instead of pooled.
pub const POOL_LIMIT: usize = 64;

/// A bump holds on to at most this much after its call (bumpalo keeps the last chunk on
/// reset): a call that once needed a huge region does not pin it in the pool for good.
const KEEP_BYTES: usize = 1 << 20;

thread_local! {
    static POOL: RefCell<std::vec::Vec<Bump>> = const { RefCell::new(std::vec::Vec::new()) };
}

/// One call's region of the arena; everything allocated in [`Region::bump`] is freed when
/// it drops.
pub struct Region {
    bump: Bump,
    /// Regions belong to the thread whose pool they return to.
    _not_send: PhantomData<*const ()>,
}

impl Region {
    /// Opens a region for the current call.
    pub fn enter() -> Region {
        let bump = POOL
            .try_with(|pool| pool.borrow_mut().pop())
            .ok()
            .flatten()
            .unwrap_or_default();
        Region {
            bump,
            _not_send: PhantomData,
        }
    }

    /// The allocator of this region: values allocated in it borrow the region.
    pub fn bump(&self) -> &Bump {
        &self.bump
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        let mut bump = std::mem::take(&mut self.bump);
        if bump.allocated_bytes() > KEEP_BYTES {
            return;
        }
        bump.reset();
        // During thread exit the pool may already be gone: the bump is then simply freed.
        let _ = POOL.try_with(|pool| {
            let mut pool = pool.borrow_mut();
            if pool.len() < POOL_LIMIT {
                pool.push(bump);
            }
        });
    }
}

/// `vec![elem; n]` in `bump`, with std's semantics: `n - 1` clones and the element itself
/// last, or the element dropped when `n` is 0.
pub fn from_elem<T: Clone>(elem: T, n: usize, bump: &Bump) -> Vec<'_, T> {
    let mut v = Vec::with_capacity_in(n, bump);
    if n > 0 {
        for _ in 1..n {
            v.push(elem.clone());
        }
        v.push(elem);
    }
    v
}

/// `format!(..)` in `bump`: panics, as std's does, if a formatting trait returns an error.
pub fn format<'b>(bump: &'b Bump, args: std::fmt::Arguments<'_>) -> String<'b> {
    let mut s = String::new_in(bump);
    std::fmt::Write::write_fmt(&mut s, args)
        .expect("a formatting trait implementation returned an error");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;

    /// Counts its drops in the shared cell (also used by `vec`'s tests).
    #[derive(Clone)]
    pub(super) struct Counted(pub(super) Rc<Cell<usize>>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }

    #[test]
    fn values_drop_with_their_scope_and_regions_are_reused() {
        let drops = Rc::new(Cell::new(0));
        for _ in 0..3 {
            let region = Region::enter();
            let mut v = Vec::new_in(region.bump());
            v.push(Counted(drops.clone()));
            v.push(Counted(drops.clone()));
            let b = Box::new_in(Counted(drops.clone()), region.bump());
            drop((v, b));
        }
        assert_eq!(drops.get(), 9);
        assert!(POOL.with(|p| p.borrow().len()) >= 1);
    }

    #[test]
    fn nested_regions_do_not_share_memory() {
        let outer = Region::enter();
        let a = Box::new_in(1u64, outer.bump());
        {
            let inner = Region::enter();
            let b = Box::new_in(2u64, inner.bump());
            assert_ne!(&*a as *const u64, &*b as *const u64);
        }
        // The inner region went back to the pool; the outer one's value is intact.
        let c = Region::enter();
        let d = Box::new_in(3u64, c.bump());
        assert_eq!((*a, *d), (1, 3));
    }

    #[test]
    fn unwinding_drops_the_values_and_returns_the_region() {
        let drops = Rc::new(Cell::new(0));
        let before = POOL.with(|p| p.borrow().len());
        let d = drops.clone();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            let region = Region::enter();
            let _v = from_elem(Counted(d.clone()), 3, region.bump());
            panic!("boom");
        }));
        assert!(result.is_err());
        assert_eq!(drops.get(), 3);
        assert_eq!(POOL.with(|p| p.borrow().len()), before.max(1));
    }

    #[test]
    fn from_elem_and_format_match_std() {
        let region = Region::enter();
        let drops = Rc::new(Cell::new(0));
        assert!(from_elem(Counted(drops.clone()), 0, region.bump()).is_empty());
        assert_eq!(drops.get(), 1, "vec![x; 0] drops x");
        assert_eq!(
            &from_elem(7u8, 4, region.bump())[..],
            &std::vec![7u8; 4][..]
        );
        let s = format(region.bump(), format_args!("{}-{:?}", 1, "x"));
        assert_eq!(s.as_str(), std::format!("{}-{:?}", 1, "x"));
    }

    #[test]
    fn a_huge_region_is_not_kept() {
        {
            let region = Region::enter();
            let v = from_elem(0u8, 4 * KEEP_BYTES, region.bump());
            assert_eq!(v.len(), 4 * KEEP_BYTES);
        }
        assert!(POOL.with(|p| p.borrow().iter().all(|b| b.allocated_bytes() <= KEEP_BYTES)));
    }
}
