//! The attribute's compile errors and what it must keep compiling (trybuild).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/escape_deny.rs");
    t.compile_fail("tests/ui/escape_bad_option.rs");
    t.compile_fail("tests/ui/escape_on_struct.rs");
    t.compile_fail("tests/ui/escape_lints.rs");
    t.compile_fail("tests/ui/escape_gc_refused.rs");
    t.compile_fail("tests/ui/escape_from_macros.rs");
    t.pass("tests/ui/escape_async_not_rewritten.rs");
}
