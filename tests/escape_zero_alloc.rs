//! A fn whose allocations do not escape makes no heap allocation per call once
//! `#[gomem::escape]` has moved them onto the arena (after the arena has warmed up), while
//! the same fn without the attribute allocates on every call.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Counts the allocations made by the current thread.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards every call to `System` unchanged; counting touches only a thread-local
// `Cell` with a const initializer, which neither allocates nor can re-enter the allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's contract is `System::alloc`'s.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` through `alloc` above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

/// The same tokenizer twice, so that only the attribute differs.
macro_rules! tokenizer {
    ($(#[$attr:meta])* fn $name:ident) => {
        $(#[$attr])*
        fn $name(text: &str) -> (usize, usize) {
            let mut tokens = Vec::new();
            let mut word = String::new();
            for c in text.chars() {
                if c.is_alphanumeric() {
                    word.push(c);
                } else {
                    if !word.is_empty() {
                        tokens.push(word.len());
                        word.clear();
                    }
                    if !c.is_whitespace() {
                        tokens.push(1);
                    }
                }
            }
            let longest = format!("{}", tokens.iter().max().copied().unwrap_or(0));
            (tokens.len(), longest.len())
        }
    };
}

tokenizer!(#[gomem::escape] fn tokenize_annotated);
tokenizer!(fn tokenize_plain);

const TEXT: &str = "let x = foo(bar, 42) + baz[7]; // a line of code to tokenize";

#[test]
fn annotated_fn_does_no_heap_allocation_after_warm_up() {
    assert_eq!(tokenize_annotated(TEXT), tokenize_plain(TEXT));
    for _ in 0..10 {
        tokenize_annotated(TEXT);
    }
    let n = allocations_during(|| {
        for _ in 0..1000 {
            std::hint::black_box(tokenize_annotated(std::hint::black_box(TEXT)));
        }
    });
    assert_eq!(n, 0, "allocations in 1000 warm calls");
}

#[gomem::escape]
/// Doesn't allocate: the compiler prints this comment's `'` escaped, and the attribute
/// must still recognize its item.
fn count_with_docs(text: &str) -> usize {
    let mut chars = Vec::new();
    for c in text.chars() {
        chars.push(c);
    }
    chars.len()
}

#[test]
fn a_doc_comment_with_quotes_does_not_stop_the_attribute() {
    count_with_docs(TEXT);
    let n = allocations_during(|| {
        std::hint::black_box(count_with_docs(std::hint::black_box(TEXT)));
    });
    assert_eq!(n, 0);
}

/// The shared fixture, annotated: its `tree` builds a tree of vectors in which every
/// vector stays in the call.
#[allow(clippy::vec_box, clippy::useless_vec, dead_code)]
mod routes {
    pub use gomem::escape;
    include!("fixtures/escape/routes.rs");
}

#[test]
fn a_tree_of_vectors_that_stays_in_the_call_is_not_on_the_heap() {
    let leaves: Vec<u32> = (0..64).collect();
    for _ in 0..10 {
        routes::tree(&leaves, 3);
    }
    let n = allocations_during(|| {
        for _ in 0..1000 {
            std::hint::black_box(routes::tree(std::hint::black_box(&leaves), 3));
        }
    });
    assert_eq!(n, 0, "allocations in 1000 warm calls");
}

#[test]
fn the_same_fn_without_the_attribute_allocates_every_call() {
    let n = allocations_during(|| {
        for _ in 0..1000 {
            std::hint::black_box(tokenize_plain(std::hint::black_box(TEXT)));
        }
    });
    assert!(n >= 3000, "{n} allocations in 1000 calls");
}

/// A fn built by a `macro_rules!` macro from fragments: rustc keeps an `$e:expr` whole,
/// so `$scale * 2` with `$scale` = `1 + 2` is `(1 + 2) * 2`. The attribute must read it the
/// same way (and give it back so rustc still does), and still move the vector.
macro_rules! scaled {
    ($(#[$attr:meta])* fn $name:ident, $scale:expr, $t:ty, $small:pat) => {
        $(#[$attr])*
        fn $name(n: $t) -> ($t, usize) {
            let mut parts = vec![$scale * 2];
            for i in 0..n {
                parts.push(i * $scale * 2);
            }
            let mut small = 0;
            for p in &parts {
                if let $small = *p {
                    small += 1;
                }
            }
            (parts.iter().sum::<$t>(), small)
        }
    };
}

scaled!(#[gomem::escape] fn scaled_annotated, 1 + 2, u64, 0..=10);
scaled!(fn scaled_plain, 1 + 2, u64, 0..=10);

#[test]
fn a_fn_made_by_a_macro_keeps_its_fragments_grouped_and_moves_its_allocations() {
    assert_eq!(scaled_plain(10), (276, 3));
    assert_eq!(scaled_annotated(10), scaled_plain(10));
    for _ in 0..10 {
        scaled_annotated(10);
    }
    let n = allocations_during(|| {
        for _ in 0..1000 {
            std::hint::black_box(scaled_annotated(std::hint::black_box(10)));
        }
    });
    assert_eq!(n, 0, "allocations in 1000 warm calls");
}

#[test]
fn a_local_whose_name_is_shadowed_still_moves() {
    routes::shadowed(TEXT);
    let n = allocations_during(|| {
        std::hint::black_box(routes::shadowed(std::hint::black_box(TEXT)));
    });
    assert_eq!(n, 0);
}
