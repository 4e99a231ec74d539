//! What a user of the `gomem` crate writes: the derive's paths must resolve through the
//! facade, with no other crate named.

use gomem::{Gc, GcCell, Trace};

#[derive(Trace)]
struct Person {
    name: String,
    friends: GcCell<Vec<Gc<Person>>>,
}

#[test]
fn friends_form_a_cycle_that_is_collected() {
    let before = gomem::stats().heap_objects;
    let a = Gc::new(Person {
        name: "ann".into(),
        friends: GcCell::new(Vec::new()),
    });
    let b = Gc::new(Person {
        name: "bob".into(),
        friends: GcCell::new(vec![a.clone()]),
    });
    a.friends.borrow_mut().push(b.clone());
    assert_eq!(a.friends.borrow()[0].name, "bob");
    drop((a, b));
    gomem::collect();
    assert_eq!(gomem::stats().heap_objects, before);
}

/// `#[gomem::allow]` compiles and leaves the item as it is.
#[gomem::allow(rc_cycle, reason = "cleared by the owner's Drop")]
struct Linked {
    next: std::cell::RefCell<Option<std::rc::Rc<Linked>>>,
}

#[test]
fn allow_leaves_the_item_unchanged() {
    let l = Linked {
        next: std::cell::RefCell::new(None),
    };
    assert!(l.next.borrow().is_none());
}

/// The attribute `scripts/bench-escape-build.sh` measures syn's parse with gives its item back
/// unchanged.
#[gomem::__bench_parse_only]
fn words(text: &str) -> usize {
    let words: Vec<&str> = text.split(' ').collect();
    words.len()
}

#[test]
fn bench_parse_only_leaves_the_item_unchanged() {
    assert_eq!(words("a b c"), 3);
}
