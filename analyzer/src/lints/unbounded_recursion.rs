//! `unbounded_recursion`: recursion that never stops, or that a literal argument drives deeper
//! than the stack it runs on.
//!
//! A crate check: each file contributes its fns' [`callgraph::FnFacts`]; the judge links them
//! into the workspace's call graph and looks at its strongly connected components.

use petgraph::algo::tarjan_scc;
use petgraph::graph::NodeIndex;
use petgraph::visit::EdgeRef;

use crate::callgraph::{self, Arg, CallGraph, FnFacts, MAIN_STACK};
use crate::diagnostic::Diagnostic;
use crate::layout::human_size;
use crate::lint::{facts_of, Check, CrateCheck, CrateContext, Facts, Lint};
use crate::lint_defs::LintId;
use crate::span::FileId;

pub const LINT: Lint = Lint {
    id: LintId::UnboundedRecursion,
    summary: "recursion that never stops, or that a literal argument drives deeper than the stack",
    explanation: r#"## What it finds
Two kinds of recursion that overflow the stack:

1. **A cycle of calls with no way out**: a fn, or a group of fns calling each other
   (`a -> b -> a`), where every path through every fn of the cycle calls the next one before
   it can return. rustc's `unconditional_recursion` sees one fn at a time; this lint follows
   the crate's call graph, so it also sees mutual recursion across fns, impls and modules.
2. **A literal that drives a recursion too deep**: a fn that calls itself with a parameter
   shrunk by a constant (`n - 1`), stopping at a small base case (`if n == 0`), called with a
   literal (`count(1_000_000)`) that makes it recurse deeper than the stack allows. The message
   gives the depth, a lower bound of the stack it needs, and the stack it runs on: 8 MiB for
   the main thread, 2 MiB for threads from `std::thread::spawn` and for `#[test]`s, or the
   size given to `thread::Builder::stack_size`.

## Why it matters
A Rust thread has a fixed stack. Go grows a goroutine's stack up to 1 GB; Rust aborts the whole
process with `thread 'main' has overflowed its stack` (SIGSEGV), with no unwinding and no
destructors run. Recursion depth that depends on input is a crash waiting for a large input.

## Example
```rust
fn count(n: u64) -> u64 {
    if n == 0 { return 0; }
    1 + count(n - 1)
}
fn main() {
    println!("{}", count(1_000_000)); // needs over 30 MiB of stack: overflows
}

fn is_even(n: u32) -> bool { is_odd(n - 1) }  // no base case on any path
fn is_odd(n: u32) -> bool { !is_even(n - 1) }
```
Use instead:
```rust
fn count(n: u64) -> u64 {
    let mut total = 0;
    for _ in 0..n { total += 1; }
    total
}
fn is_even(n: u32) -> bool { n % 2 == 0 }
```
or, when recursion is the clearest form, run it on a thread with an explicit stack:
`std::thread::Builder::new().stack_size(64 << 20).spawn(move || count(n))`.

## What it does not report
Recursion with a base case that does not depend on a literal (data-bounded recursion over a
tree, a depth counter, divide and conquer with `n / 2`, Euclid's `gcd(b, a % b)`); a call whose
argument is not a literal; a depth that fits the stack even at the smallest frame size. The
frame size used is a lower bound (return address, frame pointer and arguments, 16-byte
aligned), so a reported depth overflows in debug builds for sure; an optimizing build may turn
simple recursions into loops, but nothing guarantees it.

Calls are resolved best effort, with the types the source tells (see the `semantics` module):
free fns through `use`, nested fns, `Type::f` and `Self::f`, methods on any receiver whose type
is known (`self`, parameters, typed locals, fields, literals: `0.bar()` is `i32`'s), following
Rust's lookup through references, `Box` and the crate's `Deref` impls; `Trait::f(x)` and
`<T as Trait>::f(x)`; operators (`==` runs `PartialEq::eq`, `+` `Add::add`, `*x` `Deref::deref`,
`x[i]` `Index::index`); `{}` and `{:?}` in std's format macros (`Display::fmt`,
`Debug::fmt`), `to_string()` (`Display::fmt`), `into()` (the target's `From::from`),
`Default::default()` and `..Default::default()` with the type they must produce; the arguments
of std's macros (`assert!`, `vec!`, `println!`..); closures called where they are written; and
the future a fn returns (`Box::pin(async move { .. })`, as `#[async_trait]` writes it), whose
body runs when it is awaited. A trait's default method calling itself on `self` is followed;
a default calling *another* method is not, since implementors override it (`PartialEq::ne`
calling `eq` is not a cycle). Not followed: calls through closures stored for later, fn
pointers, trait objects and generic parameters, methods of types whose methods we cannot all
see (std's types, other crates'), and unknown macros; recursion through them is not seen.

A fn under an attribute that gomem does not know to keep the body as written (an attribute
macro such as `#[salsa::tracked]`, which turns `fn f(db) { f(db) + 1 }` into a memoized query
with cycle recovery) is left alone: its calls may not be what they look like. rustc's
attributes (`#[inline]`, `#[must_use]`, `#[track_caller]`, `#[cfg(..)]`...), tool attributes
(`#[rustfmt::skip]`, `#[clippy::..]`), test harnesses (`#[test]`, `#[tokio::test]`),
`#[tokio::main]`, `#[tracing::instrument]` and `#[async_trait]` keep the body and are judged
as usual.

rustc's `#[allow(unconditional_recursion)]` (or `#[expect]`, or clippy's lint of that name)
on a fn says its recursion is meant, a test of stack overflow for one, and silences this lint
there too.
"#,
    check: Check::Crate(CrateCheck {
        facts: &callgraph::FACTS,
        judge,
    }),
};

/// Base cases above this are not "small": the depth estimate would mean little.
const SMALL_BASE: u128 = 64;

fn judge(cx: &CrateContext<'_>, facts: &[(FileId, &Facts)]) -> Vec<Diagnostic> {
    let fns: Vec<&FnFacts> = facts_of::<Vec<FnFacts>>(facts)
        .into_iter()
        .flat_map(|(_, f)| f)
        .collect();
    let cg = CallGraph::build(cx.index, fns);
    let mut out = Vec::new();
    for scc in tarjan_scc(&cg.graph) {
        let recursive = scc.len() > 1 || cg.graph.contains_edge(scc[0], scc[0]);
        // Under an attribute macro the calls may not be what the body shows (salsa makes a
        // recursive query of it, with cycle recovery): no judgment either way.
        let rewritten = scc.iter().any(|&n| cg.fn_of(n).rewritten_by.is_some());
        if !recursive || rewritten {
            continue;
        }
        if let Some(d) = no_way_out(&cg, &scc) {
            out.push(d);
        } else if scc.len() == 1 {
            out.extend(too_deep(&cg, scc[0]));
        }
    }
    out
}

/// The certain calls from `n` into the cycle `scc`.
fn certain_calls_into<'g>(
    cg: &'g CallGraph,
    n: NodeIndex,
    scc: &'g [NodeIndex],
) -> impl Iterator<Item = (NodeIndex, &'g callgraph::CallSite)> + 'g {
    let caller = cg.fn_of(n);
    cg.graph
        .edges(n)
        .filter(|e| scc.contains(&e.target()))
        .map(move |e| (e.target(), &caller.calls[e.weight().call]))
        .filter(|(_, c)| c.certain)
}

fn no_way_out(cg: &CallGraph, scc: &[NodeIndex]) -> Option<Diagnostic> {
    if !scc
        .iter()
        .all(|&n| certain_calls_into(cg, n, scc).next().is_some())
    {
        return None;
    }
    let mut members: Vec<NodeIndex> = scc.to_vec();
    members.sort_by_key(|&n| cg.fn_of(n).def);
    let first = cg.fn_of(members[0]);
    let mut d = if members.len() == 1 {
        Diagnostic::new(
            LintId::UnboundedRecursion,
            first.def,
            format!("`{}` cannot return without calling itself", first.path),
        )
        .primary_label("every path through this fn calls it again")
    } else {
        let names: Vec<String> = members
            .iter()
            .map(|&n| format!("`{}`", cg.fn_of(n).path))
            .collect();
        Diagnostic::new(
            LintId::UnboundedRecursion,
            first.def,
            format!(
                "{} call each other on every path and can never return",
                join_names(&names)
            ),
        )
        .primary_label("this fn starts a cycle of calls with no way out")
    };
    for &n in &members {
        for (to, call) in certain_calls_into(cg, n, scc) {
            let label = if to == n {
                "recursive call on every path".to_string()
            } else {
                format!("calls `{}` on every path", cg.fn_of(to).path)
            };
            d = d.label(call.span, label);
        }
    }
    Some(
        d.note("each call needs a new stack frame, so the thread overflows its stack and the process aborts")
            .help("add a path that returns without recursing (a base case)"),
    )
}

fn too_deep(cg: &CallGraph, n: NodeIndex) -> Vec<Diagnostic> {
    let f = cg.fn_of(n);
    let self_calls: Vec<&callgraph::CallSite> = cg
        .graph
        .edges(n)
        .filter(|e| e.target() == n)
        .map(|e| &f.calls[e.weight().call])
        .collect();
    // The parameter every recursive call shrinks by a constant.
    let Some((param, step)) = shrunk_param(f, &self_calls) else {
        return Vec::new();
    };
    let Some(base) = f
        .literal_tests
        .iter()
        .filter(|(p, v)| *p == param && *v <= SMALL_BASE)
        .map(|(_, v)| *v)
        .max()
    else {
        return Vec::new();
    };
    let frame = frame_lower_bound(f);
    let mut out = Vec::new();
    for e in cg
        .graph
        .edges_directed(n, petgraph::Direction::Incoming)
        .filter(|e| e.source() != n)
    {
        let caller = cg.fn_of(e.source());
        let call = &caller.calls[e.weight().call];
        let Some(Arg::Int(start)) = call.args.get(param).copied() else {
            continue;
        };
        if start <= base {
            continue;
        }
        let depth = (start - base).div_ceil(step);
        let needed = depth.saturating_mul(frame as u128);
        let (stack, stack_name) = match call.stack {
            None => (MAIN_STACK, "the main thread's"),
            Some(callgraph::UNKNOWN_STACK) => continue,
            Some(s) if s == callgraph::SPAWNED_STACK => (s, "a spawned thread's"),
            Some(s) => (s, "this thread's"),
        };
        if needed <= stack as u128 {
            continue;
        }
        let needed = u64::try_from(needed).unwrap_or(u64::MAX);
        let mut d = Diagnostic::new(
            LintId::UnboundedRecursion,
            call.expr,
            format!(
                "this call recurses about {depth} levels deep into `{}`, which needs at least {} of stack: more than {stack_name} {}",
                f.path,
                human_size(needed),
                human_size(stack)
            ),
        )
        .primary_label(format!("`{}` recurses {depth} times from here", f.path));
        for c in &self_calls {
            d = d.label(
                c.span,
                format!("each call goes {step} lower and one frame deeper"),
            );
        }
        out.push(
            d.note(format!(
                "each frame of `{}` takes at least {frame} bytes (return address, frame pointer and arguments); debug builds take several times more, and an optimized build turns recursion into a loop only when it can",
                f.path
            ))
            .help(format!(
                "rewrite `{}` as a loop, or call it on a thread with a larger stack (`std::thread::Builder::new().stack_size(..)`)",
                f.path
            )),
        );
    }
    out
}

/// `(param, k)` when every call in `calls` passes `param - k` for that same parameter.
fn shrunk_param(f: &FnFacts, calls: &[&callgraph::CallSite]) -> Option<(usize, u128)> {
    let first = calls.first()?;
    for (i, a) in first.args.iter().enumerate() {
        let Arg::ParamMinus(p, k) = *a else { continue };
        if p != i || f.params.get(p).is_none_or(|q| q.rebound) {
            continue;
        }
        let all = calls.iter().all(|c| match c.args.get(i) {
            Some(Arg::ParamMinus(q, kk)) => *q == p && *kk >= 1,
            _ => false,
        });
        if all {
            let step = calls
                .iter()
                .filter_map(|c| match c.args.get(i) {
                    Some(Arg::ParamMinus(_, kk)) => Some(*kk),
                    _ => None,
                })
                .min()
                .unwrap_or(k);
            return Some((p, step));
        }
    }
    None
}

/// Return address and saved frame pointer, plus what the arguments are known to take, rounded
/// up to the 16-byte alignment every x86-64 and AArch64 frame keeps.
fn frame_lower_bound(f: &FnFacts) -> u64 {
    let args: u64 = f.params.iter().filter_map(|p| p.size).sum();
    (16 + args).div_ceil(16) * 16
}

fn join_names(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use crate::lint_defs::LintId;
    use crate::test_util::findings;

    fn lines(src: &str) -> Vec<usize> {
        findings(LintId::UnboundedRecursion, src)
            .into_iter()
            .map(|(l, _)| l)
            .collect()
    }

    #[test]
    fn self_and_mutual_cycles_without_a_way_out() {
        let src = "fn a(n: u32) -> u32 { a(n + 1) }\n\
                   fn even(n: u32) -> bool { odd(n - 1) }\n\
                   fn odd(n: u32) -> bool { !even(n - 1) }\n";
        assert_eq!(lines(src), vec![1, 2]);
    }

    #[test]
    fn any_way_out_is_enough() {
        let src = "fn a(n: u32) -> u32 { if n == 0 { return 0 } a(n - 1) }\n\
                   fn b(n: u32) -> u32 { let x = Some(n)?; b(x) }\n\
                   fn c(n: u32) -> u32 { assert!(n > 0); c(n - 1) }\n\
                   fn d(n: u32) -> u32 { match n { 0 => 1, _ => d(n - 1) } }\n\
                   fn e(n: u32) -> u32 { if n > 3 { loop {} } e(n) }\n\
                   fn f(n: u32) -> u32 { let g = |x| f(x); g(n) }\n";
        assert_eq!(lines(src), Vec::<usize>::new());
    }

    #[test]
    fn a_literal_too_deep_for_the_stack() {
        let src = "fn count(n: u64) -> u64 { if n == 0 { return 0; } 1 + count(n - 1) }\n\
                   fn main() {\n\
                       count(1_000_000);\n\
                       count(1000);\n\
                       std::thread::spawn(|| count(100_000));\n\
                   }\n";
        let found = findings(LintId::UnboundedRecursion, src);
        assert_eq!(found.iter().map(|f| f.0).collect::<Vec<_>>(), vec![3, 5]);
        assert!(found[0].1.contains("1000000 levels"), "{}", found[0].1);
        assert!(found[0].1.contains("8 MiB"), "{}", found[0].1);
        assert!(found[1].1.contains("2 MiB"), "{}", found[1].1);
    }

    #[test]
    fn halving_and_data_bounded_depths_are_fine() {
        let src = "fn bsearch(n: u64) -> u64 { if n <= 1 { return 0; } bsearch(n / 2) }\n\
                   fn gcd(a: u64, b: u64) -> u64 { if b == 0 { a } else { gcd(b, a % b) } }\n\
                   fn main() { bsearch(1 << 60); gcd(1_000_000_007, 3); }\n";
        assert_eq!(lines(src), Vec::<usize>::new());
    }

    #[test]
    fn methods_resolve_through_self_but_not_in_trait_defaults() {
        let src = "struct S;\n\
                   impl S { fn go(&self) { self.go() } fn new() -> S { Self::new() } }\n\
                   trait T { fn a(&self) -> bool { !self.b() } fn b(&self) -> bool { !self.a() } }\n";
        assert_eq!(lines(src), vec![2, 2]);
    }

    #[test]
    fn ambiguous_trait_methods_and_local_closures_are_not_edges() {
        let src = "struct X;\n\
                   impl From<u32> for X { fn from(v: u32) -> X { X::from(v as u64) } }\n\
                   impl From<u64> for X { fn from(_: u64) -> X { X } }\n\
                   fn walk(walk: &dyn Fn()) { walk() }\n";
        assert_eq!(lines(src), Vec::<usize>::new());
    }
}
