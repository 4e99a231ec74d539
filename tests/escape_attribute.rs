//! `#[gomem::escape]` never changes what code computes: the shared fixture
//! (tests/fixtures/escape/routes.rs) is compiled twice, with the attribute and with a no-op
//! in its place, and every fn gives the same results on inputs that proptest varies.

// The fixture's allocations are there to be analyzed, not to be idiomatic.
#[allow(clippy::vec_box, clippy::useless_vec)]
mod annotated {
    pub use gomem::escape;
    include!("fixtures/escape/routes.rs");

    pub fn log_len() -> usize {
        LOG.lock().unwrap().len()
    }
}

#[allow(clippy::vec_box, clippy::useless_vec)]
mod plain {
    // `gomem::allow` with no lint names leaves its item unchanged.
    pub use gomem::allow as escape;
    include!("fixtures/escape/routes.rs");
}

use proptest::prelude::*;

proptest! {
    #[test]
    fn scratch_is_unchanged(text in "[a-z ,.]{0,40}") {
        prop_assert_eq!(annotated::scratch(&text), plain::scratch(&text));
        prop_assert_eq!(annotated::shadowed(&text), plain::shadowed(&text));
        prop_assert_eq!(annotated::typed(&text), plain::typed(&text));
    }

    #[test]
    fn escaping_fns_are_unchanged(n in 0usize..50, m in 0u32..1000) {
        prop_assert_eq!(annotated::returned(n), plain::returned(n));
        prop_assert_eq!(annotated::spawned(m), plain::spawned(m));
        prop_assert_eq!(annotated::passed(n), plain::passed(n));
        prop_assert_eq!(annotated::helpers::run(m), plain::helpers::run(m));
        let a: Vec<usize> = annotated::nested(n).into_iter().map(|b| *b).collect();
        let p: Vec<usize> = plain::nested(n).into_iter().map(|b| *b).collect();
        prop_assert_eq!(a, p);
    }

    #[test]
    fn trees_are_unchanged(
        leaves in proptest::collection::vec(0u32..1000, 1..80),
        fanout in 0usize..6,
    ) {
        prop_assert_eq!(annotated::tree(&leaves, fanout), plain::tree(&leaves, fanout));
    }

    #[test]
    fn methods_are_unchanged(names in proptest::collection::vec("[a-z]{1,12}", 0..10)) {
        let mut a = annotated::Registry { names: Vec::new(), index: Default::default() };
        let mut p = plain::Registry { names: Vec::new(), index: Default::default() };
        for name in &names {
            prop_assert_eq!(a.add(name), p.add(name));
        }
        prop_assert_eq!(a.longest(), p.longest());
        prop_assert_eq!(&a.names, &p.names);
        prop_assert_eq!(&a.index, &p.index);
    }
}

#[test]
fn globals_are_unchanged() {
    let before = annotated::log_len();
    assert_eq!(annotated::log("start"), plain::log("start"));
    assert_eq!(annotated::log_len(), before + 1);
}
