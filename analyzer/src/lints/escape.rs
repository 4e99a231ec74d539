//! `escape`: where each heap allocation goes, in Go's words (`--explain-escapes`).
//!
//! Not a finding but an explanation, like `go build -gcflags=-m`: off unless asked for, and
//! always at the `note` level. The decisions come from [`crate::escape`].

use std::collections::HashMap;

use crate::callgraph::{self, Callee};
use crate::diagnostic::Diagnostic;
use crate::escape;
use crate::lint::{Check, FileContext, Lint};
use crate::lint_defs::{Level, LintId};
use crate::span::Span;

pub const LINT: Lint = Lint {
    id: LintId::Escape,
    summary: "where each heap allocation goes (shown by `--explain-escapes`)",
    explanation: r#"## What it finds
Every heap allocation in a fn (`Box::new`, `vec![..]`, `Vec::new`, `String::from`,
`format!`, `.to_string()`, `.to_vec()`, `.collect()`, `Rc::new`, `Arc::new`, `Gc::new`...)
and whether its value can outlive the call, in the words of Go's `-gcflags=-m`:
`vec![..] does not escape`, or `Box::new(..) escapes to heap` with the place that makes it
escape (returned, stored in `self.items`, moved into a spawned thread, passed to a fn).
`--explain-escapes=2` adds the chain of locals the value went through.

## Why it matters
An allocation that does not escape could live in a per-call arena, freed all at once when
the call returns, instead of one `malloc` and one `free` each: that is what the
`#[gomem::escape]` attribute does, with these same decisions. Knowing which ones escape, and why, is how to make a
hot fn stop allocating on the heap.

## Example
```rust
fn checksum(data: &[u8]) -> u32 {
    let table = vec![0u32; 256]; // note: vec![..] does not escape
    data.iter().fold(0, |a, b| a ^ table[*b as usize])
}
fn name(id: u32) -> String {
    format!("user-{id}")         // note: format![..] escapes to heap: returned
}
```

## What it does not report
What it cannot see, it takes as escaping, and says so: a value passed by value to a fn or
method whose body it does not see ("passed to `.name()`, which gomem does not look into"),
unless the call resolves to a fn or method of the same file (a path through its `use`s, a
method by its receiver's type, as the call graph resolves them; a call the call graph does
not see, to a free fn of the file by its name), whose summary
says whether it lets the parameter escape (Go's "leaking param"), or a std method whose
behaviour it knows (`push` stores into the receiver, `contains` only reads its argument).
std's macros are read as the expressions they take (`format!` and `assert_eq!` borrow them);
what goes into any other macro escapes ("passed to `join!`, which gomem does not look
into"), since its expansion is not known. A
clone of an `Rc`/`Arc` is the same allocation, so a clone moved into a thread makes the
allocation escape. A `move` closure takes what it names to wherever the closure goes; what a
closure or async block returns goes to callers gomem does not follow. A collection and the
values in it are not told apart: a value taken out of a `Vec` (`drain`, `pop`, `into_iter`)
that escapes makes the `Vec` itself escape too, though only its elements leave. Shadowed
names are not told apart. It is off by default; `--explain-escapes` turns it on.
"#,
    check: Check::File(check),
};

fn check(cx: &FileContext<'_>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let bodies = escape::fn_bodies(cx.syntax);
    let summaries = summaries(cx, &bodies);
    for escape::FnBody {
        sig, block: body, ..
    } in bodies
    {
        let escapes = escape::analyze(cx.file, Some(sig), body, &summaries);
        // Go's "leaking param: p": a parameter taken by value whose value outlives the call.
        for input in &sig.inputs {
            let syn::FnArg::Typed(t) = input else {
                continue;
            };
            // References cannot leak what they point to past the call (the borrow checker),
            // and a copied number holds nothing on the heap, under an alias too
            // (`type EventId = usize`).
            let written = crate::types::Ty::from_syn(&t.ty, &[]);
            let primitive = cx
                .semantics
                .expand(cx.index, &written, cx.module)
                .head()
                .is_some_and(|h| crate::layout::primitive_size(h).is_some());
            if matches!(&*t.ty, syn::Type::Reference(_)) || primitive {
                continue;
            }
            let syn::Pat::Ident(p) = &*t.pat else {
                continue;
            };
            if let Some((at, why)) = escapes.var_escapes(&p.ident.to_string()) {
                out.push(
                    Diagnostic::new(
                        LintId::Escape,
                        crate::span::Span::of_tokens(cx.file, &p.ident),
                        format!("leaking param: {}", p.ident),
                    )
                    .label(at, why)
                    .level(Level::Note),
                );
            }
        }
        for d in escapes.decisions() {
            let mut diag = match &d.escapes {
                None => Diagnostic::new(
                    LintId::Escape,
                    d.site.span,
                    format!("{} does not escape", d.site.what),
                ),
                Some((at, why)) => Diagnostic::new(
                    LintId::Escape,
                    d.site.span,
                    format!("{} escapes to heap", d.site.what),
                )
                .label(*at, why.clone()),
            }
            .level(Level::Note);
            if cx.config.escape_detail >= 2 && !d.flow.is_empty() {
                diag = diag.note(format!("flow: moved into `{}`", d.flow.join("`, then `")));
            }
            out.push(diag);
        }
    }
    out
}

/// Summaries of the file's fns, found by the call graph's resolution of each call: a method
/// by its receiver's type, a path through `use`s. A call to a fn of another file, or one the
/// semantic layer cannot resolve, has none, and is taken as the worst case. So does a call to
/// a fn under `#[cfg(..)]`: the index may resolve the call to it while the build compiles a
/// twin under the opposite condition (tokio's `spawn_blocking` runs the closure in place on
/// emscripten and spawns a thread everywhere else).
fn summaries(cx: &FileContext<'_>, bodies: &[escape::FnBody<'_>]) -> escape::Summaries {
    let mut resolved = HashMap::new();
    for f in callgraph::collect(cx) {
        for call in f.calls {
            let def = match call.callee {
                Callee::Item(item) => cx.index.item(item).span,
                Callee::Def(span) => span,
            };
            // A method call records the `Deref`s its receiver goes through first, under the
            // same expression: the method itself comes last. (When the method is not
            // resolved, the last `deref` stays: its summary says the receiver is borrowed,
            // which holds for any method reached through `Deref`, and says nothing of the
            // arguments, which are then taken as escaping.)
            resolved.insert(call.expr, def);
        }
    }
    let list: Vec<_> = bodies
        .iter()
        .filter(|b| !b.attrs.iter().any(is_build_condition))
        .map(|b| (Span::of(cx.file, b.sig.ident.span()), b))
        .collect();
    escape::resolved_summaries(cx.file, &list, resolved)
}

/// `#[cfg(..)]`, but not `#[cfg(test)]` (test code has no twin in the build it is part of).
fn is_build_condition(attr: &syn::Attribute) -> bool {
    attr.path().is_ident("cfg")
        && attr
            .parse_args::<syn::Ident>()
            .map_or(true, |i| i != "test")
}

#[cfg(test)]
mod tests {
    use crate::lint_defs::LintId;
    use crate::test_util::findings;

    #[test]
    fn off_unless_asked_for() {
        let found = findings(LintId::Escape, "fn f() -> Box<u8> { Box::new(1) }");
        assert!(found.is_empty());
    }
}
