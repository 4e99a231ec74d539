//! `escape`: where each heap allocation goes, in Go's words (`--explain-escapes`).
//!
//! Not a finding but an explanation, like `go build -gcflags=-m`: off unless asked for, and
//! always at the `note` level. The decisions come from [`crate::escape`].

use crate::diagnostic::Diagnostic;
use crate::escape;
use crate::lint::{Check, FileContext, Lint};
use crate::lint_defs::{Level, LintId};

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
unless the fn is a free fn of the same file (or of an inline module in it), or a method of
the file called on `self` (found by its name, so a name that two impls define gets none),
whose summary
says whether it lets the parameter escape (Go's "leaking param"), or a std method whose
behaviour it knows (`push` stores into the receiver, `contains` only reads its argument). A
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
    let summaries = escape::summaries(cx.file, cx.syntax);
    for (sig, body) in escape::fn_bodies(cx.syntax) {
        let escapes = escape::analyze(cx.file, Some(sig), body, &summaries);
        // Go's "leaking param: p": a parameter taken by value whose value outlives the call.
        for input in &sig.inputs {
            let syn::FnArg::Typed(t) = input else {
                continue;
            };
            // References cannot leak what they point to past the call (the borrow checker),
            // and a copied number holds nothing on the heap.
            let primitive = matches!(&*t.ty, syn::Type::Path(p)
                if p.path.get_ident().is_some_and(|i| crate::layout::primitive_size(&i.to_string()).is_some()));
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
