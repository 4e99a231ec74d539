//! `unjoined_task`: a spawned thread or task whose handle nobody joins or awaits.

use syn::visit::Visit;
use syn::{Expr, Pat, Stmt};

use crate::diagnostic::Diagnostic;
use crate::index::{flatten_use, Import, ModuleId, Resolution};
use crate::lint::{Check, FileContext, Lint};
use crate::lint_defs::LintId;
use crate::span::Span;

pub const LINT: Lint = Lint {
    id: LintId::UnjoinedTask,
    summary: "a spawned thread or task whose handle is dropped or never joined/awaited",
    explanation: r#"## What it finds
A thread or async task that is spawned and then forgotten: its `JoinHandle` is discarded
(`thread::spawn(..);`, `let _ = tokio::spawn(..)`, `drop(handle)`), bound to a variable that is
never joined, awaited, returned, stored or passed on, or pushed into (or collected into) a
local collection that is never used again.

Recognized spawns: `std::thread::spawn`, `std::thread::Builder::new()...spawn(..)`,
`tokio::spawn`, `tokio::task::{spawn, spawn_blocking, spawn_local}`,
`tokio::task::Builder::new()...spawn(..)`, `async_std::task::{spawn, spawn_blocking,
spawn_local}`, under any name `use` gives them (`use std::thread::spawn as go; go(f)`).

## Why it matters
A detached thread or task is Go's leaked goroutine: it runs until it returns, and keeps
alive everything it captured. Nothing waits for it, so the program may exit while it is
half-way through its work, and nothing sees its result or its panic. A thread cannot be
stopped from outside at all; a task stops when its runtime shuts down, wherever it is in its
work. A detached thread or task that loops or waits on a channel nobody closes runs for the
rest of the program.

## Example
```rust
fn start_workers(jobs: Receiver<Job>) {
    std::thread::spawn(move || {
        for job in jobs { job.run(); }
    });
}
```
Use instead:
```rust
fn start_workers(jobs: Receiver<Job>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        for job in jobs { job.run(); }
    })
}
// ... and `.join()` the handle on shutdown; or spawn inside `std::thread::scope`.
```
For tokio, `.await` the `JoinHandle`, or spawn on a `tokio::task::JoinSet` that is awaited
or aborted on shutdown.

## What it does not report
Scoped threads (`thread::scope`, `Builder::spawn_scoped`), which are always joined; handles
that are returned, stored in a field or a struct, passed to any function, moved into a
closure, or kept in a collection that is later iterated or passed on. `smol::spawn` is not
checked: dropping its `Task` cancels the task rather than detaching it. Spawns hidden inside
macro invocations, and spawns through a runtime handle (`runtime.spawn(..)`), whose receiver
type the analyzer cannot see, are not checked.
"#,
    check: Check::File(check),
};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Spawned {
    Thread,
    Task,
}

const SPAWN_FNS: &[(&[&str], Spawned)] = &[
    (&["std", "thread", "spawn"], Spawned::Thread),
    (&["tokio", "spawn"], Spawned::Task),
    (&["tokio", "task", "spawn"], Spawned::Task),
    (&["tokio", "task", "spawn_blocking"], Spawned::Task),
    (&["tokio", "task", "spawn_local"], Spawned::Task),
    (&["async_std", "task", "spawn"], Spawned::Task),
    (&["async_std", "task", "spawn_blocking"], Spawned::Task),
    (&["async_std", "task", "spawn_local"], Spawned::Task),
];

/// The last segments of [`SPAWN_FNS`].
const SPAWN_NAMES: &[&str] = &["spawn", "spawn_blocking", "spawn_local"];

/// Builders whose `.spawn(..)` returns a detachable handle.
const SPAWN_BUILDERS: &[(&[&str], Spawned)] = &[
    (&["std", "thread", "Builder", "new"], Spawned::Thread),
    (&["tokio", "task", "Builder", "new"], Spawned::Task),
];

/// Methods of a handle that look at it without joining, awaiting or handing it over.
const INSPECTING: &[&str] = &["thread", "is_finished", "id"];

/// Methods that add to (or look at) a collection without consuming it.
const GROWING: &[&str] = &[
    "push",
    "push_back",
    "push_front",
    "insert",
    "extend",
    "reserve",
    "len",
    "is_empty",
    "capacity",
];

fn check(cx: &FileContext<'_>) -> Vec<Diagnostic> {
    // A file that names no spawn fn (under any alias the crate gives one) spawns nothing:
    // skip the walk. Most files of a crate are like that.
    let names = cx.index.names_for(SPAWN_NAMES);
    if !names.iter().any(|n| cx.source.text.contains(n.as_str())) {
        return Vec::new();
    }
    let mut v = Checker {
        cx,
        module: cx.module,
        imports: Vec::new(),
        scopes: Vec::new(),
        out: Vec::new(),
    };
    v.visit_file(cx.syntax);
    v.out
}

struct Site {
    kind: Spawned,
    /// The callee: `thread::spawn`, or `.spawn` of a builder.
    span: Span,
}

struct Checker<'a, 'ast> {
    cx: &'a FileContext<'a>,
    module: ModuleId,
    /// `use` items of the enclosing blocks.
    imports: Vec<Import>,
    /// The enclosing blocks' statements, and the index of the statement being checked.
    scopes: Vec<(&'ast [Stmt], usize)>,
    out: Vec<Diagnostic>,
}

impl<'ast> Visit<'ast> for Checker<'_, 'ast> {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        let outer = self.module;
        self.module = self.cx.inner_module(outer, m);
        syn::visit::visit_item_mod(self, m);
        self.module = outer;
    }

    fn visit_block(&mut self, block: &'ast syn::Block) {
        let imports_before = self.imports.len();
        for stmt in &block.stmts {
            if let Stmt::Item(syn::Item::Use(u)) = stmt {
                flatten_use(&u.tree, &mut Vec::new(), &mut self.imports);
            }
        }
        self.scopes.push((&block.stmts, 0));
        for (i, stmt) in block.stmts.iter().enumerate() {
            if let Some(top) = self.scopes.last_mut() {
                top.1 = i;
            }
            self.check_stmt(stmt);
            self.visit_stmt(stmt);
        }
        self.scopes.pop();
        self.imports.truncate(imports_before);
    }
}

impl<'ast> Checker<'_, 'ast> {
    fn span(&self, node: &impl syn::spanned::Spanned) -> Span {
        Span::of_tokens(self.cx.file, node)
    }

    fn check_stmt(&mut self, stmt: &'ast Stmt) {
        match stmt {
            Stmt::Expr(e, Some(_)) => {
                let e = peel(e);
                if let Some(site) = self.spawn_site(e) {
                    self.report_discarded(&site, None);
                } else if let Some((coll, arg)) = pushed(e) {
                    if let Some(site) = self.spawn_site(peel(arg)) {
                        self.check_collection(&site, coll, "the handle is pushed into");
                    }
                } else if let Expr::Call(call) = e {
                    if self.is_drop(&call.func) && call.args.len() == 1 {
                        if let Some(site) = self.spawn_site(peel(&call.args[0])) {
                            self.report_discarded(
                                &site,
                                Some((self.span(&call.func), "dropped here")),
                            );
                        }
                    }
                }
            }
            Stmt::Local(local) => {
                let Some(init) = &local.init else { return };
                if init.diverge.is_some() {
                    return;
                }
                let value = peel(&init.expr);
                let pat = binding(&local.pat);
                if let Some(site) = self.spawn_site(value) {
                    match pat {
                        Pat::Wild(w) => self.report_discarded(
                            &site,
                            Some((self.span(w), "the handle is dropped here")),
                        ),
                        Pat::Ident(id) if id.subpat.is_none() => {
                            self.check_binding(&site, &id.ident)
                        }
                        _ => {}
                    }
                } else if let (Some(site), Pat::Ident(id)) = (self.collected_spawn(value), pat) {
                    self.check_collection(&site, &id.ident, "the handles are collected into");
                }
            }
            _ => {}
        }
    }

    /// The spawn that `e` is, if it is one.
    fn spawn_site(&self, e: &Expr) -> Option<Site> {
        match e {
            Expr::Call(call) => {
                let Expr::Path(p) = &*call.func else {
                    return None;
                };
                if p.qself.is_some() || !self.may_name_spawn(&p.path) {
                    return None;
                }
                let path = self.external_path(&p.path)?;
                let kind = SPAWN_FNS.iter().find(|(f, _)| *f == path.as_slice())?.1;
                Some(Site {
                    kind,
                    span: self.span(&p.path),
                })
            }
            Expr::MethodCall(m) if m.method == "spawn" => {
                let mut root = &*m.receiver;
                while let Expr::MethodCall(inner) = root {
                    root = &inner.receiver;
                }
                let Expr::Call(call) = root else { return None };
                let Expr::Path(p) = &*call.func else {
                    return None;
                };
                let path = self.external_path(&p.path)?;
                let kind = SPAWN_BUILDERS
                    .iter()
                    .find(|(f, _)| *f == path.as_slice())?
                    .1;
                Some(Site {
                    kind,
                    span: self.span(&m.method),
                })
            }
            _ => None,
        }
    }

    /// The path into another crate that `path` names, if it names one.
    fn external_path(&self, path: &syn::Path) -> Option<Vec<String>> {
        match self.cx.index.resolve_path(self.module, &self.imports, path) {
            Resolution::External(p) => Some(p),
            _ => None,
        }
    }

    /// A cheap test before resolving: a spawn fn is called by its own name or by a name that
    /// `use` gave it somewhere in the crate. Most calls are neither, and resolution is not free.
    fn may_name_spawn(&self, path: &syn::Path) -> bool {
        let Some(last) = path.segments.last() else {
            return false;
        };
        let names = self.cx.index.names_for(SPAWN_NAMES);
        let local = self
            .imports
            .iter()
            .any(|i| i.path.last().is_some_and(|l| names.contains(l)) && last.ident == i.name);
        local || names.iter().any(|n| last.ident == n)
    }

    /// `iter.map(|..| spawn(..)).collect()`: the spawn whose handles the collection holds.
    fn collected_spawn(&self, e: &Expr) -> Option<Site> {
        let Expr::MethodCall(collect) = e else {
            return None;
        };
        if collect.method != "collect" {
            return None;
        }
        let mut recv = &*collect.receiver;
        while let Expr::MethodCall(m) = recv {
            if m.method == "map" && m.args.len() == 1 {
                if let Expr::Closure(c) = &m.args[0] {
                    return self.spawn_site(peel(tail(&c.body)?));
                }
            }
            recv = &m.receiver;
        }
        None
    }

    fn is_drop(&self, func: &Expr) -> bool {
        let Expr::Path(p) = func else { return false };
        let res = self
            .cx
            .index
            .resolve_path(self.module, &self.imports, &p.path);
        matches!(&res, Resolution::External(p) if p == &["drop"] || p == &["std", "mem", "drop"] || p == &["core", "mem", "drop"])
    }

    /// How `name` is used in `stmts`; `drop(..)` is recognized as in [`Checker::is_drop`].
    fn scan(
        &self,
        name: &syn::Ident,
        stmts: &[Stmt],
        harmless: &'static [&'static str],
    ) -> Outcome {
        let is_drop = |func: &Expr| self.is_drop(func);
        let mut uses = Uses {
            name,
            harmless,
            consumed: false,
            moved_into: None,
            dropped: None,
            file: self.cx.file,
            is_drop: &is_drop,
        };
        for s in stmts {
            uses.visit_stmt(s);
            if uses.consumed {
                break;
            }
        }
        Outcome {
            consumed: uses.consumed,
            moved_into: uses.moved_into,
            dropped: uses.dropped,
        }
    }

    /// `let name = spawn(..)`: is the handle used later in the block?
    fn check_binding(&mut self, site: &Site, name: &syn::Ident) {
        let Some(&(stmts, i)) = self.scopes.last() else {
            return;
        };
        let uses = self.scan(name, &stmts[i + 1..], INSPECTING);
        if uses.consumed {
            return;
        }
        if let Some(dropped) = uses.dropped {
            let d = self
                .diagnostic(site)
                .label(dropped, format!("the handle `{name}` is dropped here"));
            self.out.push(d);
            return;
        }
        if let Some(coll) = uses.moved_into {
            self.check_collection(site, &coll, "the handle is pushed into");
            return;
        }
        let binding = self.span(name);
        let d = self.diagnostic(site).label(
            binding,
            format!("the handle is bound to `{name}` here, but never joined"),
        );
        self.out.push(d);
    }

    /// The handle went into the local collection `coll`: is that collection used later?
    /// `what` says how the handle got there: "the handle is pushed into", "the handles are
    /// collected into".
    fn check_collection(&mut self, site: &Site, coll: &syn::Ident, what: &str) {
        // Find the `let coll` in the enclosing blocks, innermost first.
        for &(stmts, i) in self.scopes.iter().rev() {
            let found = stmts[..=i]
                .iter()
                .enumerate()
                .rev()
                .find(|(_, s)| declares(s, coll));
            if let Some((j, decl)) = found {
                if self.scan(coll, &stmts[j + 1..], GROWING).consumed {
                    return;
                }
                let decl_span = match decl {
                    Stmt::Local(l) => self.span(binding(&l.pat)),
                    _ => self.span(coll),
                };
                let d = self.diagnostic(site).label(
                    decl_span,
                    format!("{what} `{coll}`, which is never joined or handed on"),
                );
                self.out.push(d);
                return;
            }
        }
        // A parameter, a field or a global: handed over, not our business.
    }

    fn report_discarded(&mut self, site: &Site, label: Option<(Span, &str)>) {
        let mut d = self.diagnostic(site);
        if let Some((span, text)) = label {
            d = d.label(span, text);
        } else {
            d.primary.message = "its handle is dropped right away".into();
        }
        self.out.push(d);
    }

    fn diagnostic(&self, site: &Site) -> Diagnostic {
        match site.kind {
            Spawned::Thread => Diagnostic::new(LintId::UnjoinedTask, site.span, "spawned thread is never joined")
                .primary_label("thread spawned here")
                .note("a detached thread runs until it returns and keeps everything it captured alive; nothing waits for it, sees it panic, or can stop it (Go's leaked goroutine)")
                .help("keep the `JoinHandle` and `.join()` it, or spawn inside `std::thread::scope` so the thread is joined for you"),
            Spawned::Task => Diagnostic::new(LintId::UnjoinedTask, site.span, "spawned task is never awaited")
                .primary_label("task spawned here")
                .note("a detached task runs until it completes or its runtime shuts down, and keeps its captured state alive until then; nothing observes its result or its panic (Go's leaked goroutine)")
                .help("keep the `JoinHandle` and `.await` it, or spawn on a `tokio::task::JoinSet` that is awaited or aborted on shutdown"),
        }
    }
}

/// Looks through `(..)`, `?`, `.unwrap()` and `.expect(..)` to the value that holds the handle.
fn peel(mut e: &Expr) -> &Expr {
    loop {
        e = match e {
            Expr::Paren(p) => &p.expr,
            Expr::Group(g) => &g.expr,
            Expr::Try(t) => &t.expr,
            Expr::MethodCall(m) if m.method == "unwrap" || m.method == "expect" => &m.receiver,
            _ => return e,
        }
    }
}

/// The value a closure body evaluates to.
fn tail(body: &Expr) -> Option<&Expr> {
    match body {
        Expr::Block(b) => match b.block.stmts.last()? {
            Stmt::Expr(e, None) => Some(e),
            _ => None,
        },
        e => Some(e),
    }
}

/// `coll.push(arg)` (or `push_back`, `insert`...) on a local variable `coll`.
fn pushed(e: &Expr) -> Option<(&syn::Ident, &Expr)> {
    let Expr::MethodCall(m) = e else { return None };
    if !matches!(
        m.method.to_string().as_str(),
        "push" | "push_back" | "push_front" | "insert"
    ) {
        return None;
    }
    let Expr::Path(p) = &*m.receiver else {
        return None;
    };
    let coll = p.path.get_ident()?;
    Some((coll, m.args.last()?))
}

fn declares(stmt: &Stmt, name: &syn::Ident) -> bool {
    let Stmt::Local(l) = stmt else { return false };
    matches!(binding(&l.pat), Pat::Ident(id) if id.ident == *name)
}

/// The pattern of a `let`, without its type annotation.
fn binding(pat: &Pat) -> &Pat {
    match pat {
        Pat::Type(t) => &t.pat,
        p => p,
    }
}

/// How a local variable is used in the statements after its binding.
struct Outcome {
    /// Used in a way that joins, awaits or hands it over (or one we cannot judge).
    consumed: bool,
    /// `coll.push(name)`: moved into a local collection.
    moved_into: Option<syn::Ident>,
    /// `drop(name)`: detached on purpose, but detached all the same.
    dropped: Option<Span>,
}

/// The visitor behind [`Checker::scan`].
struct Uses<'a> {
    name: &'a syn::Ident,
    /// Methods that do not consume the variable.
    harmless: &'static [&'static str],
    consumed: bool,
    moved_into: Option<syn::Ident>,
    dropped: Option<Span>,
    file: crate::span::FileId,
    is_drop: &'a dyn Fn(&Expr) -> bool,
}

impl Uses<'_> {
    fn is_name(&self, e: &Expr) -> bool {
        matches!(e, Expr::Path(p) if p.qself.is_none() && p.path.is_ident(self.name))
    }
}

impl<'ast> Visit<'ast> for Uses<'_> {
    fn visit_expr(&mut self, e: &'ast Expr) {
        if self.consumed {
            return;
        }
        if let Expr::MethodCall(m) = e {
            if self.is_name(&m.receiver) && self.harmless.contains(&m.method.to_string().as_str()) {
                for a in &m.args {
                    self.visit_expr(a);
                }
                return;
            }
        }
        if let Some((coll, arg)) = pushed(e) {
            if self.is_name(peel(arg)) && coll != self.name {
                self.moved_into = Some(coll.clone());
                return;
            }
        }
        if let Expr::Call(call) = e {
            if call.args.len() == 1 && self.is_name(&call.args[0]) && (self.is_drop)(&call.func) {
                self.dropped = Some(Span::of_tokens(self.file, &call.func));
                return;
            }
        }
        if self.is_name(e) {
            self.consumed = true;
            return;
        }
        syn::visit::visit_expr(self, e);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        // `println!("{}", h.len())`, `assert!(..)`: arguments that are expressions are read as such.
        let parser = syn::punctuated::Punctuated::<Expr, syn::Token![,]>::parse_terminated;
        match mac.parse_body_with(parser) {
            Ok(args) => args.iter().for_each(|a| self.visit_expr(a)),
            // Anything else may use the variable in any way: assume it is handed over.
            Err(_) => self.consumed |= mentions(mac.tokens.clone(), self.name),
        }
    }
}

fn mentions(tokens: proc_macro2::TokenStream, name: &syn::Ident) -> bool {
    tokens.into_iter().any(|tt| match tt {
        proc_macro2::TokenTree::Ident(i) => i == *name,
        proc_macro2::TokenTree::Group(g) => mentions(g.stream(), name),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use crate::lint_defs::LintId;
    use crate::test_util::findings;

    fn lines(src: &str) -> Vec<usize> {
        findings(LintId::UnjoinedTask, src)
            .into_iter()
            .map(|(line, _)| line)
            .collect()
    }

    #[test]
    fn discarded_handles_fire() {
        let src = r#"
use std::thread;
use std::thread::spawn as go;
fn a() {
    thread::spawn(|| {});
    let _ = std::thread::spawn(|| {});
    go(|| {});
    thread::Builder::new().name("w".into()).spawn(|| {}).unwrap();
    drop(thread::spawn(|| {}));
    let _h = thread::spawn(|| {});
}
async fn b() {
    tokio::spawn(async {});
    tokio::task::spawn_blocking(|| {});
    async_std::task::spawn(async {});
}
"#;
        assert_eq!(lines(src), [5, 6, 7, 8, 9, 10, 13, 14, 15]);
    }

    #[test]
    fn joined_returned_stored_or_passed_handles_are_silent() {
        let src = r#"
use std::thread;
struct W { h: thread::JoinHandle<()> }
fn joined() { let h = thread::spawn(|| {}); h.join().unwrap(); }
fn returned() -> thread::JoinHandle<()> { let h = thread::spawn(|| {}); h }
fn tail() -> thread::JoinHandle<()> { thread::spawn(|| {}) }
fn stored(w: &mut W) { w.h = thread::spawn(|| {}); }
fn field() -> W { W { h: thread::spawn(|| {}) } }
fn passed() { let h = thread::spawn(|| {}); keep(h); }
fn keep(_: thread::JoinHandle<()>) {}
async fn awaited() { tokio::spawn(async {}).await.unwrap(); let h = tokio::spawn(async {}); h.await.unwrap(); }
fn scoped() { thread::scope(|s| { s.spawn(|| {}); }); }
fn collected() {
    let mut hs = Vec::new();
    for _ in 0..4 { hs.push(thread::spawn(|| {})); }
    for h in hs { h.join().unwrap(); }
    let hs: Vec<_> = (0..4).map(|_| thread::spawn(|| {})).collect();
    for h in hs { h.join().unwrap(); }
}
fn builder() -> std::io::Result<()> { let h = thread::Builder::new().spawn(|| {})?; h.join().unwrap(); Ok(()) }
mod local { pub fn spawn(_: impl FnOnce()) {} }
fn not_std() { local::spawn(|| {}); }
fn in_macro() { let h = thread::spawn(|| {}); println!("{:?}", h.join()); }
"#;
        assert_eq!(lines(src), Vec::<usize>::new());
    }

    #[test]
    fn handles_kept_but_never_joined_fire() {
        let src = r#"
use std::thread;
fn bound() {
    let h = thread::spawn(|| {});
    println!("started {:?}", 1);
    let _ = h.thread().id();
}
fn pushed() {
    let mut handles = Vec::new();
    for _ in 0..2 {
        handles.push(thread::spawn(|| {}));
    }
    println!("{}", handles.len());
}
fn collected() {
    let hs: Vec<_> = (0..2).map(|_| thread::spawn(|| {})).collect();
}
"#;
        assert_eq!(lines(src), [4, 11, 16]);
    }

    #[test]
    fn block_level_use_and_globs_are_followed() {
        let src = r#"
use std::thread::*;
fn a() { spawn(|| {}); }
fn b() { use tokio::task; task::spawn(async {}); }
mod tests { use super::*; fn c() { spawn(|| {}); } }
"#;
        assert_eq!(lines(src), [3, 4, 5]);
    }
}
