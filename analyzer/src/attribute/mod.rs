//! What `#[gomem::escape]` does to the item it annotates: the same decisions as
//! `--explain-escapes`, then a rewrite of the allocations that do not escape onto the
//! per-call arena (`gomem::arena`).
//!
//! The pieces, in the order an expansion runs them: [`expansion`] reads the options, asks
//! [`crate::escape`] for each fn's decisions and reports `deny_escape` errors; [`arena`]
//! decides which non-escaping sites can move (every use of their local must be one the
//! arena type supports as the std type does) and rewrites them; [`gc_heap`] moves a mod's
//! `Rc`/`RefCell` data onto the collected heap; [`item_lints`] runs the lints that look
//! inside one item through the same driver as the command line. All of them report
//! [`Error`]s, which the macro turns into compile errors.
//!
//! This module sits above the driver (it runs the lint pipeline on the item), so nothing in
//! the engine may use it.
//!
//! The macro crate only moves tokens in and out (and maps spans back to the compiler's); the
//! decisions and the rewrite live here, next to the analysis, so the attribute and the
//! command line cannot disagree.
//!
//! **What is rewritten.** A site is moved onto the arena only when all of this holds, and is
//! otherwise left exactly as written:
//! - the analysis says its value does not escape;
//! - it initializes a `let name = ..;`, or a `let name: T = ..;` whose `T` is the std type
//!   itself (`Vec<u8>`, `String`, `Box<Node>`: the rewrite writes the arena twin's type in
//!   its place; a `Box<dyn Trait>` stays, since the arena's `Box` cannot coerce on stable,
//!   and so does a written `Vec` that other moved locals would be pushed into), in a fn that
//!   is neither `async` nor `const`;
//! - it is one of `Box::new(x)`, `Vec::new()`, `Vec::with_capacity(n)`, `vec![..]`,
//!   `String::new()`, `String::with_capacity(n)`, `String::from("literal")`,
//!   `"literal".to_string()`/`.to_owned()`, `format!(..)`;
//! - no other such `let` in the fn has the same name, and every use of `name` is one the
//!   arena type supports exactly as the std type does (uses are found by name, so where a
//!   shadowing local of the same name is used, that use must pass too): a method from a
//!   list of methods both have, indexing, `&name` as a `for` loop's iterable or as the
//!   argument of a same-item fn that takes a slice or `str` reference, formatting
//!   (`println!`, `format!`, `write!`...), `drop(name)`, or `outer.push(name)` into a `Vec`
//!   that moves too (a small tree of vectors; only for names bound once in the fn, since at
//!   the push a shadowing local could be meant). Anything else (passed by value, compared
//!   with `==`, moved into another local, used in a macro we do not know) keeps the site on
//!   the heap.
//! - A `Vec` that such locals are pushed into holds arena values where the code thinks it
//!   holds std ones, so no use of it may hand an element out: its elements are only used in
//!   place (`outer[i].len()`) or as the variable of `for x in &outer` (or `outer`,
//!   `outer.iter()`), whose uses these same rules check. If it fails that, the locals
//!   pushed into it stay on the heap, and it may still move as a vector of std values.
//!
//! The arena types borrow the call's region, so should the analysis ever be wrong, the
//! borrow checker rejects the program: never a dangling pointer.
//!
//! **What the attribute sees.** Only the annotated item: calls to fns outside it count as
//! escaping (the command line, which sees the whole file, may know better). Annotate an
//! inline `mod` to have its helpers summarized too. `async fn` bodies are analyzed (and
//! `deny_escape` applies) but never rewritten: a future moves between threads and
//! interleaves with others, which a per-call region held across `.await` cannot follow.

pub mod arena;
mod error;
pub mod expansion;
pub mod gc_heap;
pub mod item_lints;

pub use error::Error;
pub use expansion::{expand, Expansion, FnReport, Options};
pub use item_lints::{has_group_triggers, has_lint_triggers, has_word_triggers, lint, ITEM_LINTS};
