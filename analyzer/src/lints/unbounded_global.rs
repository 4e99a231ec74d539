//! `unbounded_global`: a global collection that is added to and never shrunk.
//!
//! A crate check over [`globals::GlobalFacts`]: a global is declared in one file and grows in
//! others.

use std::collections::HashMap;

use crate::diagnostic::Diagnostic;
use crate::globals::{self, GlobalFacts, GlobalUse, Op};
use crate::lint::{facts_of, Check, CrateCheck, CrateContext, Facts, Lint};
use crate::lint_defs::LintId;
use crate::span::{FileId, Span};

pub const LINT: Lint = Lint {
    id: LintId::UnboundedGlobal,
    summary: "a global collection that is added to and never shrunk",
    explanation: r#"## What it finds
A global collection (`Vec`, `VecDeque`, `HashMap`, `HashSet`, `BTreeMap`, `BTreeSet`,
`BinaryHeap`, `String`, `IndexMap`...), behind a `Mutex`, `RwLock`, `RefCell`, `LazyLock`,
`OnceLock`, `lazy_static!` or `thread_local!`, or a `static mut`, that some code of the crate
adds to (`push`, `insert`, `extend`, `entry(..)`, `append`...) and no code ever shrinks
(`remove`, `pop`, `clear`, `drain`, `retain`, `truncate`, `split_off`, `take`,
`mem::take`/`mem::replace`, or assigning it a new value).

## Why it matters
A global lives as long as the program. A cache, registry or log kept in one that only grows is
a memory leak with extra steps: every entry stays reachable for ever, so neither `Drop` nor a
garbage collector can reclaim it. It is the classic leak of long-running Go services (a
package-level map that is never pruned), and it is just as real in Rust.

## Example
```rust
static SEEN: Mutex<HashSet<String>> = Mutex::new(HashSet::new());

fn handle(request: &Request) {
    SEEN.lock().unwrap().insert(request.id.clone()); // one entry per request, for ever
}
```
Use instead: bound it (evict old entries, e.g. with an LRU cache of fixed capacity), clear it
when the work it serves is done, or keep the collection in a value whose lifetime matches that
work (a field of the server, a local of the request loop).

## What it does not report
A global that is shrunk or replaced anywhere in the crate (even on a path that rarely runs); a
global that is handed to code the analysis does not follow (passed to a fn, a guard returned
from a fn), since that code may shrink it; `pub` globals, which code outside the workspace may
shrink; collections inside a global struct's fields. Growth through a `use` alias or a guard
bound to a local is seen, as are globals declared inside a fn body and types behind type
aliases (the crate's, generic ones included, and those written in the enclosing fn); growth
inside macro invocations is not.
"#,
    check: Check::Crate(CrateCheck {
        facts: &globals::FACTS,
        judge,
    }),
};

fn judge(_cx: &CrateContext<'_>, facts: &[(FileId, &Facts)]) -> Vec<Diagnostic> {
    let facts: Vec<&GlobalFacts> = facts_of(facts).into_iter().map(|(_, f)| f).collect();
    let mut uses: HashMap<Span, Vec<&GlobalUse>> = HashMap::new();
    for u in facts.iter().flat_map(|f| &f.uses) {
        uses.entry(u.global).or_default().push(u);
    }
    let mut out = Vec::new();
    for decl in facts.iter().flat_map(|f| &f.decls) {
        let Some(collection) = decl.collection else {
            continue;
        };
        if !decl.mutable || decl.public {
            continue;
        }
        let Some(uses) = uses.get(&decl.def) else {
            continue;
        };
        let bounded = uses
            .iter()
            .any(|u| matches!(u.op, Op::Shrink | Op::Replace { .. } | Op::Escapes));
        let mut grows: Vec<Span> = uses
            .iter()
            .filter(|u| u.op == Op::Grow)
            .map(|u| u.site)
            .collect();
        if bounded || grows.is_empty() {
            continue;
        }
        grows.sort();
        let mut d = Diagnostic::new(
            LintId::UnboundedGlobal,
            decl.def,
            format!(
                "global `{}` is added to but never shrunk, so it grows for as long as the program runs",
                decl.name
            ),
        )
        .primary_label(format!("this `{collection}` lives until the program exits"));
        for site in grows {
            d = d.label(site, "grows here");
        }
        out.push(
            d.note("nothing in the crate removes from it, clears it or replaces it: every entry stays reachable for ever")
                .help("bound it (evict old entries, or use a fixed-capacity cache), clear it when its work is done, or keep it in a value with a shorter life"),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::lint_defs::LintId;
    use crate::test_util::findings;

    fn lines(src: &str) -> Vec<usize> {
        findings(LintId::UnboundedGlobal, src)
            .into_iter()
            .map(|(l, _)| l)
            .collect()
    }

    #[test]
    fn grows_through_a_lock_a_guard_and_thread_local() {
        let src = "use std::sync::Mutex; use std::cell::RefCell;\n\
                   static LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());\n\
                   thread_local! { static SEEN: RefCell<Vec<u32>> = RefCell::new(Vec::new()); }\n\
                   fn f(s: String) { let mut g = LOG.lock().unwrap(); g.push(s); }\n\
                   fn h(n: u32) { SEEN.with(|s| s.borrow_mut().push(n)); }\n";
        assert_eq!(lines(src), vec![2, 3]);
    }

    #[test]
    fn silent_when_shrunk_replaced_or_passed_on() {
        let src = "use std::sync::Mutex;\n\
                   static A: Mutex<Vec<u8>> = Mutex::new(Vec::new());\n\
                   static B: Mutex<Vec<u8>> = Mutex::new(Vec::new());\n\
                   static C: Mutex<Vec<u8>> = Mutex::new(Vec::new());\n\
                   pub static D: Mutex<Vec<u8>> = Mutex::new(Vec::new());\n\
                   fn f() { A.lock().unwrap().push(1); A.lock().unwrap().clear(); }\n\
                   fn g() { B.lock().unwrap().push(1); *B.lock().unwrap() = Vec::new(); }\n\
                   fn h() { C.lock().unwrap().push(1); flush(&C); }\n\
                   fn i() { D.lock().unwrap().push(1); }\n\
                   fn flush(_: &Mutex<Vec<u8>>) {}\n";
        assert_eq!(lines(src), Vec::<usize>::new());
    }
}
