//! `#[gomem::escape(gc)]` moves a mod's `Rc<RefCell<..>>` data onto the collected heap: the
//! same code computes the same, and the parent <-> child cycles it builds are freed by a
//! collection where `Rc` leaks them. The fixture is tests/fixtures/escape/gc_family.rs.

use std::cell::Cell;

thread_local! {
    static TAGS: Cell<i64> = const { Cell::new(0) };
}

/// Counts the live tags: a field of the moved types with a destructor of its own.
#[derive(Debug)]
pub struct Tag(());

impl Tag {
    fn new() -> Tag {
        TAGS.with(|t| t.set(t.get() + 1));
        Tag(())
    }
}

impl Drop for Tag {
    fn drop(&mut self) {
        TAGS.with(|t| t.set(t.get() - 1));
    }
}

fn live_tags() -> i64 {
    TAGS.with(Cell::get)
}

mod collected {
    pub use super::Tag;
    pub use gomem::escape;
    include!("fixtures/escape/gc_family.rs");
}

mod plain {
    pub use super::Tag;
    pub use gomem::allow as escape;
    include!("fixtures/escape/gc_family.rs");
}

use proptest::prelude::*;

proptest! {
    #[test]
    fn the_moved_mod_computes_the_same(sizes in proptest::collection::vec(0u32..6, 1..5)) {
        let gc: Vec<_> = sizes.iter().map(|&n| collected::family::family(n)).collect();
        let rc: Vec<_> = sizes.iter().map(|&n| plain::family::family(n)).collect();
        for i in 1..sizes.len() {
            prop_assert_eq!(
                collected::family::adopt(&gc[i], &gc[0]),
                plain::family::adopt(&rc[i], &rc[0])
            );
        }
        for (g, r) in gc.iter().zip(&rc) {
            prop_assert_eq!(collected::family::ages(g), plain::family::ages(r));
        }
        // Break the plain families' cycles by hand, so that the test leaks nothing.
        for r in &rc {
            for c in &r.borrow().children {
                c.borrow_mut().parent = None;
            }
        }
    }
}

#[test]
fn cycles_that_rc_leaks_are_collected() {
    let before = live_tags();
    for n in 0..50 {
        drop(plain::family::family(n % 5 + 1));
    }
    let leaked = live_tags() - before;
    assert!(leaked > 0, "the plain version leaks its cycles");

    gomem::collect();
    let objects = gomem::stats().heap_objects;
    let before = live_tags();
    for n in 0..50 {
        let keep = collected::family::family(n % 5 + 1);
        let other = collected::family::family(2);
        collected::family::adopt(&other, &keep);
    }
    assert!(live_tags() > before, "the cycles outlive their last handle");
    gomem::collect();
    assert_eq!(live_tags(), before, "every child's tag was dropped");
    assert_eq!(gomem::stats().heap_objects, objects);
}

pub trait Scaled<T> {
    fn scaled(&self, by: T) -> T;
}

// A mod that another macro builds, with a fragment syn does not model: `impl $t for ..`
// with a `$t:path` that has generics. The impl stays as written, and the rest moves.
macro_rules! shared {
    ($t:path) => {
        #[gomem::escape(gc)]
        mod shared {
            use std::rc::Rc;

            pub struct Side(pub Rc<u32>);

            impl $t for Side {
                fn scaled(&self, by: u32) -> u32 {
                    *self.0 * by
                }
            }

            pub fn side(n: u32) -> Side {
                Side(Rc::new(n))
            }
        }
    };
}
shared!(crate::Scaled<u32>);

#[test]
fn a_mod_another_macro_builds_moves_too() {
    let side: gomem::Gc<u32> = shared::side(2).0;
    assert_eq!(*side, 2);
    assert_eq!(shared::side(2).scaled(3), 6);
}
