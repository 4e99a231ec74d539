//! `unbounded_loop_growth`: an endless loop that adds to a collection it never shrinks.

use std::collections::HashSet;

use syn::visit::Visit;
use syn::Expr;

use crate::diagnostic::Diagnostic;
use crate::lint::{Check, FileContext, Lint};
use crate::lint_defs::LintId;
use crate::span::Span;

pub const LINT: Lint = Lint {
    id: LintId::UnboundedLoopGrowth,
    summary: "an endless loop that adds to a collection it never shrinks",
    explanation: r#"## What it finds
A `loop` (or `while true`) that nothing can leave (no `break` out of it, no `return`, no `?`,
no `process::exit`), which adds to a collection declared outside it (`push`, `insert`,
`extend`, `push_str`, `entry(..)`...), when nothing in the loop shrinks, clears or replaces
that collection, or hands it to other code.

## Why it matters
A loop that never ends is a service's main loop, a worker, an event pump: it runs for the
life of the process. A collection it appends to on every turn grows with the process's
uptime: a slow leak that shows up as memory climbing for days until the process is killed.

## Example
```rust
fn serve(rx: Receiver<Event>) {
    let mut history = Vec::new();
    loop {
        let event = rx.recv().unwrap();
        handle(&event);
        history.push(event); // one more per event, for ever
    }
}
```
Use instead: keep a bounded window (`VecDeque` with `pop_front` past a limit), flush and
`clear()` the collection periodically, or declare it inside the loop so it is dropped each turn.

## What it does not report
Loops that can exit (any `break`, `return` or `?` that leaves the loop, including inside
macros such as `select!`); collections declared inside the loop; collections the loop also
shrinks, clears, drains, truncates, reassigns, moves or passes by `&mut` to a fn (which may
shrink them); fields of `self` (their type is not known here). A panic is not a way out.
"#,
    check: Check::File(check),
};

const COLLECTIONS: &[&str] = &[
    "Vec",
    "VecDeque",
    "HashMap",
    "HashSet",
    "BTreeMap",
    "BTreeSet",
    "BinaryHeap",
    "String",
    "IndexMap",
    "IndexSet",
];

/// Methods that leave a collection's length alone (reads, in-place edits).
const NEUTRAL: &[&str] = &[
    "len",
    "is_empty",
    "capacity",
    "iter",
    "iter_mut",
    "get",
    "get_mut",
    "contains",
    "contains_key",
    "first",
    "last",
    "first_mut",
    "last_mut",
    "keys",
    "values",
    "values_mut",
    "as_slice",
    "as_str",
    "sort",
    "sort_by",
    "sort_by_key",
    "sort_unstable",
    "reserve",
    "binary_search",
    "starts_with",
    "ends_with",
    "range",
    "peek",
    "front",
    "back",
];

fn check(cx: &FileContext<'_>) -> Vec<Diagnostic> {
    // No `loop` and no `while true` (even in a macro): nothing to find, skip the walk.
    if !cx.source.mentions("loop") && !cx.source.mentions("while true") {
        return Vec::new();
    }
    let mut v = Checker {
        cx,
        locals: Vec::new(),
        out: Vec::new(),
    };
    v.visit_file(cx.syntax);
    v.out
}

struct Checker<'a> {
    cx: &'a FileContext<'a>,
    /// Collections in scope: name and where declared, innermost last.
    locals: Vec<(String, Span)>,
    out: Vec<Diagnostic>,
}

impl Checker<'_> {
    fn span(&self, node: &impl quote::ToTokens) -> Span {
        Span::of_tokens(self.cx.file, node)
    }

    fn endless_loop(&mut self, keyword: Span, body: &syn::Block) {
        let mut exits = Exits {
            depth: 0,
            inner_labels: Vec::new(),
            found: false,
        };
        exits.visit_block(body);
        if exits.found {
            return;
        }
        let mut uses = Uses {
            file: self.cx.file,
            grows: Vec::new(),
            bounded: HashSet::new(),
            declared: HashSet::new(),
        };
        uses.visit_block(body);
        let mut reported = HashSet::new();
        for (name, site) in &uses.grows {
            if uses.bounded.contains(name) || uses.declared.contains(name) {
                continue;
            }
            let Some((_, decl)) = self.locals.iter().rev().find(|(n, _)| n == name) else {
                continue;
            };
            if !reported.insert(name.clone()) {
                continue;
            }
            let d = Diagnostic::new(
                LintId::UnboundedLoopGrowth,
                *site,
                format!("`{name}` grows on every turn of a loop that never ends"),
            )
            .primary_label(format!("`{name}` grows here"))
            .label(keyword, "this loop has no `break`, `return` or `?` that leaves it")
            .label(*decl, "declared outside the loop, so it lives as long as the loop")
            .note("nothing in the loop removes from it, clears it or replaces it: its memory grows with the program's uptime")
            .help(format!(
                "bound `{name}` (drop old entries past a limit), clear it after it is processed, or declare it inside the loop"
            ));
            self.out.push(d);
        }
    }
}

impl<'ast> Visit<'ast> for Checker<'_> {
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        let before = self.locals.len();
        self.params(&f.sig);
        syn::visit::visit_item_fn(self, f);
        self.locals.truncate(before);
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        let before = self.locals.len();
        self.params(&f.sig);
        syn::visit::visit_impl_item_fn(self, f);
        self.locals.truncate(before);
    }

    fn visit_block(&mut self, b: &'ast syn::Block) {
        let before = self.locals.len();
        syn::visit::visit_block(self, b);
        self.locals.truncate(before);
    }

    fn visit_local(&mut self, l: &'ast syn::Local) {
        syn::visit::visit_local(self, l);
        let (pat, ty) = match &l.pat {
            syn::Pat::Type(t) => (&*t.pat, Some(&*t.ty)),
            p => (p, None),
        };
        let syn::Pat::Ident(i) = pat else { return };
        let name = i.ident.to_string();
        let is_collection = ty.is_some_and(is_collection_type)
            || l.init
                .as_ref()
                .is_some_and(|init| builds_collection(&init.expr));
        if is_collection {
            let span = self.span(&i.ident);
            self.locals.push((name, span));
        } else {
            // A later binding of the same name hides an outer collection.
            self.locals.retain(|(n, _)| *n != name);
        }
    }

    fn visit_expr_loop(&mut self, l: &'ast syn::ExprLoop) {
        let keyword = self.span(&l.loop_token);
        self.endless_loop(keyword, &l.body);
        syn::visit::visit_expr_loop(self, l);
    }

    fn visit_expr_while(&mut self, w: &'ast syn::ExprWhile) {
        if matches!(&*w.cond, Expr::Lit(syn::ExprLit { lit: syn::Lit::Bool(b), .. }) if b.value) {
            let keyword = self.span(&w.while_token);
            self.endless_loop(keyword, &w.body);
        }
        syn::visit::visit_expr_while(self, w);
    }

    // A closure's body is another scope; its own loops are checked with its own locals.
    fn visit_expr_closure(&mut self, c: &'ast syn::ExprClosure) {
        let outer = std::mem::take(&mut self.locals);
        syn::visit::visit_expr_closure(self, c);
        self.locals = outer;
    }
}

impl Checker<'_> {
    fn params(&mut self, sig: &syn::Signature) {
        for input in &sig.inputs {
            let syn::FnArg::Typed(t) = input else {
                continue;
            };
            let syn::Pat::Ident(i) = &*t.pat else {
                continue;
            };
            // `v: &mut Vec<T>` or `mut v: Vec<T>`: a collection the loop can grow.
            let ty = match &*t.ty {
                syn::Type::Reference(r) if r.mutability.is_some() => &*r.elem,
                ty if i.mutability.is_some() => ty,
                _ => continue,
            };
            if is_collection_type(ty) {
                let span = self.span(&i.ident);
                self.locals.push((i.ident.to_string(), span));
            }
        }
    }
}

fn is_collection_type(ty: &syn::Type) -> bool {
    match ty {
        syn::Type::Path(p) => p
            .path
            .segments
            .last()
            .is_some_and(|s| COLLECTIONS.contains(&s.ident.to_string().as_str())),
        _ => false,
    }
}

/// `Vec::new()`, `HashMap::with_capacity(n)`, `String::from(..)`, `vec![]`, `BTreeMap::default()`.
fn builds_collection(e: &Expr) -> bool {
    match e {
        Expr::Call(c) => {
            let Expr::Path(p) = &*c.func else {
                return false;
            };
            let segs = crate::syntax::segment_names(&p.path);
            matches!(
                segs.as_slice(),
                [.., ty, ctor] if COLLECTIONS.contains(&ty.as_str())
                    && matches!(ctor.as_str(), "new" | "with_capacity" | "default" | "from")
            )
        }
        Expr::Macro(m) => m.mac.path.is_ident("vec"),
        _ => false,
    }
}

/// Whether a loop body can leave the loop.
struct Exits {
    /// Nesting of loops inside the body: an unlabeled `break` there leaves only them.
    depth: usize,
    /// Labels of the loops nested inside the body: a `break` to one of them stays inside.
    inner_labels: Vec<String>,
    found: bool,
}

impl<'ast> Visit<'ast> for Exits {
    fn visit_expr_break(&mut self, b: &'ast syn::ExprBreak) {
        // An unlabeled break leaves the innermost loop; a labeled one leaves ours unless it
        // names a loop nested inside it.
        self.found |= match &b.label {
            None => self.depth == 0,
            Some(l) => !self.inner_labels.contains(&l.ident.to_string()),
        };
        syn::visit::visit_expr_break(self, b);
    }
    fn visit_expr_return(&mut self, _: &'ast syn::ExprReturn) {
        self.found = true;
    }
    fn visit_expr_try(&mut self, t: &'ast syn::ExprTry) {
        self.found = true;
        syn::visit::visit_expr_try(self, t);
    }
    fn visit_expr_loop(&mut self, l: &'ast syn::ExprLoop) {
        self.nested(l.label.as_ref(), |s| syn::visit::visit_expr_loop(s, l));
    }
    fn visit_expr_while(&mut self, w: &'ast syn::ExprWhile) {
        self.nested(w.label.as_ref(), |s| syn::visit::visit_expr_while(s, w));
    }
    fn visit_expr_for_loop(&mut self, f: &'ast syn::ExprForLoop) {
        self.nested(f.label.as_ref(), |s| syn::visit::visit_expr_for_loop(s, f));
    }
    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        if let Expr::Path(p) = &*c.func {
            if p.path.segments.last().is_some_and(|s| s.ident == "exit") {
                self.found = true;
            }
        }
        syn::visit::visit_expr_call(self, c);
    }
    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        if tokens_can_exit(m.tokens.clone()) {
            self.found = true;
        }
    }
    // `return` and `?` in a closure or async block leave only that.
    fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
    fn visit_expr_async(&mut self, _: &'ast syn::ExprAsync) {}
    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

impl Exits {
    fn nested(&mut self, label: Option<&syn::Label>, f: impl FnOnce(&mut Self)) {
        let labels = self.inner_labels.len();
        self.inner_labels
            .extend(label.map(|l| l.name.ident.to_string()));
        self.depth += 1;
        f(self);
        self.depth -= 1;
        self.inner_labels.truncate(labels);
    }
}

/// Whether macro tokens contain `break`, `return` or `?`, which may leave the loop.
fn tokens_can_exit(tokens: proc_macro2::TokenStream) -> bool {
    tokens.into_iter().any(|tt| match tt {
        proc_macro2::TokenTree::Ident(i) => i == "break" || i == "return",
        proc_macro2::TokenTree::Punct(p) => p.as_char() == '?',
        proc_macro2::TokenTree::Group(g) => tokens_can_exit(g.stream()),
        proc_macro2::TokenTree::Literal(_) => false,
    })
}

/// What a loop body does to the names it mentions.
struct Uses {
    file: crate::span::FileId,
    /// `name.push(..)` and the like: name and method span.
    grows: Vec<(String, Span)>,
    /// Names shrunk, replaced, moved or lent mutably to other code.
    bounded: HashSet<String>,
    /// Names bound inside the body, which hide outer ones.
    declared: HashSet<String>,
}

fn ident_of(e: &Expr) -> Option<String> {
    match e {
        Expr::Path(p) => p.path.get_ident().map(|i| i.to_string()),
        Expr::Paren(p) => ident_of(&p.expr),
        _ => None,
    }
}

impl<'ast> Visit<'ast> for Uses {
    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        if let Some(name) = ident_of(&m.receiver) {
            let method = m.method.to_string();
            if crate::syntax::ADDS_ELEMENTS.contains(&method.as_str()) {
                let span = Span::of_tokens(self.file, &m.method);
                self.grows.push((name, span));
            } else if !NEUTRAL.contains(&method.as_str()) {
                // `clear`, `drain`, `pop`, `retain`, `truncate`, `take`... or a method we do not
                // know: either may shrink it.
                self.bounded.insert(name);
            }
            for a in &m.args {
                self.visit_expr(a);
            }
            return;
        }
        syn::visit::visit_expr_method_call(self, m);
    }

    fn visit_expr_assign(&mut self, a: &'ast syn::ExprAssign) {
        if let Some(name) = ident_of(&a.left) {
            self.bounded.insert(name);
        }
        syn::visit::visit_expr_assign(self, a);
    }

    fn visit_expr_reference(&mut self, r: &'ast syn::ExprReference) {
        // `&v` only reads; `&mut v` lends it to code that may shrink it.
        if let Some(name) = ident_of(&r.expr) {
            if r.mutability.is_some() {
                self.bounded.insert(name);
            }
            return;
        }
        syn::visit::visit_expr_reference(self, r);
    }

    fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
        // Any other use by value: moved (`send(v)`, `drop(v)`, `let w = v`) or copied out.
        if let Some(i) = p.path.get_ident() {
            self.bounded.insert(i.to_string());
        }
    }

    fn visit_expr_field(&mut self, f: &'ast syn::ExprField) {
        // `v.len` is not a thing, but `s.items` is a field of another local: not ours.
        if ident_of(&f.base).is_none() {
            syn::visit::visit_expr_field(self, f);
        }
    }

    fn visit_pat_ident(&mut self, i: &'ast syn::PatIdent) {
        self.declared.insert(i.ident.to_string());
        syn::visit::visit_pat_ident(self, i);
    }

    fn visit_expr_index(&mut self, i: &'ast syn::ExprIndex) {
        // `v[i]`, read or written: one element, not the length.
        if ident_of(&i.expr).is_some() {
            return self.visit_expr(&i.index);
        }
        syn::visit::visit_expr_index(self, i);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        // `write!(out, ..)` appends to `out`.
        if m.path
            .segments
            .last()
            .is_some_and(|s| s.ident == "write" || s.ident == "writeln")
        {
            if let Some(proc_macro2::TokenTree::Ident(first)) = m.tokens.clone().into_iter().next()
            {
                self.grows
                    .push((first.to_string(), Span::of_tokens(self.file, &m.path)));
                return;
            }
        }
        // `println!("{}", v.len())` reads; but a macro may also move or shrink a name it
        // mentions, so names in macros count as handed over unless the macro only formats.
        if !is_format_macro(m) {
            collect_idents(m.tokens.clone(), &mut self.bounded);
        }
    }
}

fn is_format_macro(m: &syn::Macro) -> bool {
    m.path.segments.last().is_some_and(|s| {
        matches!(
            s.ident.to_string().as_str(),
            "println"
                | "print"
                | "eprintln"
                | "eprint"
                | "format"
                | "write"
                | "writeln"
                | "debug"
                | "info"
                | "warn"
                | "error"
                | "trace"
                | "assert"
                | "debug_assert"
                | "assert_eq"
                | "assert_ne"
        )
    })
}

fn collect_idents(tokens: proc_macro2::TokenStream, out: &mut HashSet<String>) {
    for tt in tokens {
        match tt {
            proc_macro2::TokenTree::Ident(i) => {
                out.insert(i.to_string());
            }
            proc_macro2::TokenTree::Group(g) => collect_idents(g.stream(), out),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::lint_defs::LintId;
    use crate::test_util::findings;

    fn lines(src: &str) -> Vec<usize> {
        findings(LintId::UnboundedLoopGrowth, src)
            .into_iter()
            .map(|(l, _)| l)
            .collect()
    }

    #[test]
    fn endless_loops_that_only_add() {
        let src = "fn a(rx: std::sync::mpsc::Receiver<u32>) {\n\
                       let mut seen = Vec::new();\n\
                       loop { let x = rx.recv().unwrap(); seen.push(x); }\n\
                   }\n\
                   fn b(out: &mut String) { while true { use std::fmt::Write; write!(out, \"x\").unwrap(); } }\n";
        assert_eq!(lines(src), vec![3, 5]);
    }

    #[test]
    fn loops_that_exit_or_shrink_are_fine() {
        let src = "fn a(rx: std::sync::mpsc::Receiver<u32>) -> Option<()> {\n\
                       let mut v = Vec::new();\n\
                       loop { v.push(rx.recv().ok()?); }\n\
                   }\n\
                   fn b() { let mut v = Vec::new(); loop { v.push(1); if v.len() > 9 { v.clear(); } } }\n\
                   fn c() { let mut v = Vec::new(); 'o: loop { loop { v.push(1); break 'o; } } }\n\
                   fn d() { loop { let mut v = Vec::new(); v.push(1); } }\n\
                   fn e() { let mut v = Vec::new(); loop { v.push(1); flush(&mut v); } }\n\
                   fn f() { let mut v = Vec::new(); loop { v.push(1); if v.len() > 3 { break; } } }\n\
                   fn flush(v: &mut Vec<u8>) { v.clear() }\n";
        assert_eq!(lines(src), Vec::<usize>::new());
    }
}
