//! `retained_global`: a global that is given a large allocation at run time and keeps it.
//!
//! A crate check over [`globals::GlobalFacts`]: the global is declared in one file and
//! assigned in others. (A large allocation in a global's *initializer* is `oversized_static`'s.)

use std::collections::HashMap;

use crate::diagnostic::Diagnostic;
use crate::globals::{self, GlobalDecl, GlobalFacts, Op};
use crate::layout::human_size;
use crate::lint::{facts_of, Check, CrateCheck, CrateContext, Facts, Lint};
use crate::lint_defs::LintId;
use crate::span::{FileId, Span};

pub const LINT: Lint = Lint {
    id: LintId::RetainedGlobal,
    summary: "a global that is given a large allocation at run time and keeps it for ever",
    explanation: r#"## What it finds
Code that stores a large allocation (`vec![x; N]`, `Vec::with_capacity(N)`,
`String::with_capacity(N)`, `Box::new([x; N])`...) whose size is over the static size limit
(default 1 MiB, `--static-size-limit`) into a global at run time: `*G.lock().unwrap() = ..`,
`G.set(..)`, `G.get_or_init(|| ..)`, `unsafe { G = .. }` for a `static mut`, or a guard of it.

## Why it matters
This is the Go talk's "global given 100 MB": the memory is needed for one piece of work, but
once it hangs off a global it stays reachable, so it is never freed while the program runs.
Nothing about the code that filled it says so, and the process's footprint stays at its peak.

## Example
```rust
static BUFFER: Mutex<Vec<u8>> = Mutex::new(Vec::new());

fn load() {
    *BUFFER.lock().unwrap() = vec![0; 100 * 1024 * 1024]; // 100 MiB, kept for ever
}
```
Use instead: give the memory a local scope, so it is freed when the work is done:
```rust
fn load() {
    let buffer = vec![0u8; 100 * 1024 * 1024];
    process(&buffer);
} // freed here
```
If the data must be shared, keep it in a value owned by whatever needs it (an `Arc` handed to
the workers), or clear the global (`mem::take`) when the work is done.

## What it does not report
Allocations whose size the source does not give (`Vec::new()` then `push`es: see
`unbounded_global` for globals that only grow), and allocations in a global's initializer
(`oversized_static` reports those). Sizes are lower bounds: an element whose type the
assignment does not spell out counts as one byte.
"#,
    check: Check::Crate(CrateCheck {
        facts: &globals::FACTS,
        judge,
    }),
};

fn judge(cx: &CrateContext<'_>, facts: &[(FileId, &Facts)]) -> Vec<Diagnostic> {
    let limit = cx.config.thresholds.static_size;
    let facts: Vec<&GlobalFacts> = facts_of(facts).into_iter().map(|(_, f)| f).collect();
    let decls: HashMap<Span, &GlobalDecl> = facts
        .iter()
        .flat_map(|f| &f.decls)
        .map(|d| (d.def, d))
        .collect();
    let mut out = Vec::new();
    for u in facts.iter().flat_map(|f| &f.uses) {
        let (Op::Replace { allocations } | Op::Init { allocations }) = &u.op else {
            continue;
        };
        let Some(decl) = decls.get(&u.global) else {
            continue;
        };
        let total = allocations
            .iter()
            .fold(0u64, |acc, (_, n)| acc.saturating_add(*n));
        if total <= limit || !decl.mutable {
            continue;
        }
        let size = human_size(total);
        let mut d = Diagnostic::new(
            LintId::RetainedGlobal,
            u.site,
            format!(
                "global `{}` is given at least {size} here and keeps it until the program exits",
                decl.name
            ),
        )
        .primary_label(format!("stored in `{}` here", decl.name));
        for (span, n) in allocations {
            d = d.label(*span, format!("allocates {}", human_size(*n)));
        }
        d = d.label(decl.def, "a global: always reachable, never freed");
        out.push(
            d.note(format!(
                "over the {} limit; memory held by a global is never given back while the program runs (the Go talk's \"global given 100 MB\")",
                human_size(limit)
            ))
            .help("give the memory a local scope: allocate it where it is used and let it drop when the work is done"),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::lint_defs::LintId;
    use crate::test_util::findings;

    fn lines(src: &str) -> Vec<usize> {
        findings(LintId::RetainedGlobal, src)
            .into_iter()
            .map(|(l, _)| l)
            .collect()
    }

    #[test]
    fn large_allocations_stored_at_run_time() {
        let src = "use std::sync::{Mutex, OnceLock};\n\
                   static BUF: Mutex<Vec<u8>> = Mutex::new(Vec::new());\n\
                   static ONCE: OnceLock<Vec<u64>> = OnceLock::new();\n\
                   static mut RAW: Vec<u8> = Vec::new();\n\
                   fn a() { *BUF.lock().unwrap() = vec![0; 100 << 20]; }\n\
                   fn b() { ONCE.get_or_init(|| Vec::with_capacity(1 << 20)); }\n\
                   fn c() { unsafe { RAW = vec![0u8; 1 << 21]; } }\n\
                   fn d() { let mut g = BUF.lock().unwrap(); *g = String::with_capacity(1 << 30).into_bytes(); }\n";
        assert_eq!(lines(src), vec![5, 6, 7, 8]);
    }

    #[test]
    fn small_unsized_and_local_allocations_are_fine() {
        let src = "use std::sync::Mutex;\n\
                   static BUF: Mutex<Vec<u8>> = Mutex::new(Vec::new());\n\
                   fn a(n: usize) { *BUF.lock().unwrap() = vec![0; n]; }\n\
                   fn b() { *BUF.lock().unwrap() = vec![0; 1024]; }\n\
                   fn c() { let mut local = Vec::new(); local = vec![0u8; 1 << 30]; drop(local); }\n";
        assert_eq!(lines(src), Vec::<usize>::new());
    }
}
