//! What must not compile: sending or sharing a `Gc` across threads, a `Drop` impl on a
//! `Trace` type, a misspelt derive option.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
