//! `unjoined_task`: a spawned thread or task whose handle nobody joins or awaits.

use syn::visit::Visit;
use syn::{Expr, Pat, Stmt};

use crate::diagnostic::Diagnostic;
use crate::index::{flatten_use, Import, ModuleId, Resolution};
use crate::lint::{Check, FileContext, Lint};
use crate::lint_defs::LintId;
use crate::one_time;
use crate::span::Span;
use crate::syntax::type_last_name;

pub const LINT: Lint = Lint {
    id: LintId::UnjoinedTask,
    summary: "a spawned thread or task whose handle is dropped or never joined/awaited",
    explanation: r#"## What it finds
A thread or async task that is spawned and then forgotten: its `JoinHandle` is discarded
(`thread::spawn(..);`, `let _ = tokio::spawn(..)`, `drop(handle)`), bound to a variable that is
never joined, awaited, returned, stored or passed on, or pushed into (or collected into) a
local collection that is never used again; or stored in a field (`self.handle =
Some(thread::spawn(..))`, `Worker { handle: thread::spawn(..) }`, or the same through a local
bound to the handle) that the type's impls in the same file only ever take out to drop
(`self.handle.take();`, `let _ = self.handle.take();`, `drop(self.handle.take())`).

Recognized spawns: `std::thread::spawn`, `std::thread::Builder::new()...spawn(..)`,
`tokio::spawn`, `tokio::task::{spawn, spawn_blocking, spawn_local}`,
`tokio::task::Builder::new()...spawn(..)`, `async_std::task::{spawn, spawn_blocking,
spawn_local}`, under any name `use` gives them (`use std::thread::spawn as go; go(f)`). A builder bound to a
local is followed: `let b = thread::Builder::new().name(..); b.spawn(f)?;` spawns like the
chained form.

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

## Test code
Tests synchronize their threads through channels and barriers and let the harness end them;
nobody would join those handles. So in test code (`#[test]` and `#[tokio::test]` fns, items
under `#[cfg(test)]`, and the test, bench and example targets, which for plain paths means
`tests/`, `benches/` and `examples/` beside a `Cargo.toml`) this lint is `allow` by default.
To check tests too:
```toml
# gomem.toml, or [workspace.metadata.gomem] / [package.metadata.gomem]
[lints.unjoined_task]
in_tests = "warn"
```

## What it does not report
A spawn inside a one-time initializer (`OnceLock::get_or_init`, `get_or_try_init`,
`Once::call_once`, `LazyLock::new`, `Lazy::new`, `lazy_static!`, `thread_local!`): it starts a
worker for the life of the process (or thread), as a leak in one is a global for
`leaked_allocation`. Scoped threads (`thread::scope`, `Builder::spawn_scoped`), which are always joined; handles
that are returned, stored in a field or a struct, passed to any function, moved into a
closure, or kept in a collection that is later iterated or passed on; a handle stored in a
field that is read in any other way than taken and dropped (joined, moved, lent mutably), or
not read in the file at all (other code may join it). `smol::spawn` is not
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
    if !names.iter().any(|n| cx.source.mentions(n)) {
        return Vec::new();
    }
    let mut v = Checker {
        cx,
        module: cx.module,
        imports: Vec::new(),
        scopes: Vec::new(),
        builders: Vec::new(),
        once: 0,
        impl_ty: None,
        stored: Vec::new(),
        out: Vec::new(),
    };
    v.visit_file(cx.syntax);
    let stored = std::mem::take(&mut v.stored);
    for (ty, field, site) in stored {
        v.check_stored(cx.syntax, &ty, &field, &site);
    }
    v.out
}

#[derive(Clone, Copy)]
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
    /// Locals of the enclosing blocks bound to a spawn builder (`let b = thread::Builder::new()`),
    /// whose `b.spawn(..)` is a spawn like the builder's; `None` for a `let` that hides one.
    builders: Vec<(&'ast syn::Ident, Option<Spawned>)>,
    /// One-time initializers around the code being checked ([`crate::one_time`]): what they
    /// spawn is a worker for the life of the process (or thread), not a detached one.
    once: usize,
    /// The type of the `impl` being visited (its last name), for `self.field` and `Self {..}`.
    impl_ty: Option<String>,
    /// Handles stored in a field: the struct's name, the field and the spawn.
    stored: Vec<(String, String, Site)>,
    out: Vec<Diagnostic>,
}

impl<'ast> Visit<'ast> for Checker<'_, 'ast> {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        let outer = self.module;
        self.module = self.cx.inner_module(outer, m);
        syn::visit::visit_item_mod(self, m);
        self.module = outer;
    }

    // A body is read in the scope of the items it declares.
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        let module = self.module;
        self.module = self.cx.body_module(module, &f.sig.ident, &f.block);
        syn::visit::visit_item_fn(self, f);
        self.module = module;
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        let module = self.module;
        self.module = self.cx.body_module(module, &f.sig.ident, &f.block);
        syn::visit::visit_impl_item_fn(self, f);
        self.module = module;
    }

    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        let outer = std::mem::replace(&mut self.impl_ty, type_last_name(&i.self_ty));
        syn::visit::visit_item_impl(self, i);
        self.impl_ty = outer;
    }

    fn visit_expr_struct(&mut self, e: &'ast syn::ExprStruct) {
        // `Worker { handle: Some(thread::spawn(..)) }`: stored in the field `handle`.
        let ty = match e.path.segments.last() {
            Some(s) if s.ident == "Self" => self.impl_ty.clone(),
            Some(s) => Some(s.ident.to_string()),
            None => None,
        };
        if let (Some(ty), 0) = (ty, self.once) {
            for f in &e.fields {
                if let (syn::Member::Named(name), Some(site)) =
                    (&f.member, self.spawn_site(peel(unwrap_some(&f.expr))))
                {
                    self.stored.push((ty.clone(), name.to_string(), site));
                }
            }
        }
        syn::visit::visit_expr_struct(self, e);
    }

    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        let once = usize::from(one_time::is_lazy_new(call));
        self.once += once;
        syn::visit::visit_expr_call(self, call);
        self.once -= once;
    }

    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        let once = usize::from(one_time::is_once_method(m));
        self.once += once;
        syn::visit::visit_expr_method_call(self, m);
        self.once -= once;
    }

    fn visit_item_macro(&mut self, m: &'ast syn::ItemMacro) {
        // `thread_local!`/`lazy_static!` initializers run once per thread or program.
        if !one_time::is_once_macro(&m.mac) {
            syn::visit::visit_item_macro(self, m);
        }
    }

    fn visit_block(&mut self, block: &'ast syn::Block) {
        let builders_before = self.builders.len();
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
        self.builders.truncate(builders_before);
    }
}

impl<'ast> Checker<'_, 'ast> {
    fn span(&self, node: &impl quote::ToTokens) -> Span {
        Span::of_tokens(self.cx.file, node)
    }

    fn check_stmt(&mut self, stmt: &'ast Stmt) {
        if let Stmt::Local(local) = stmt {
            self.track_builder(local);
        }
        if self.once > 0 {
            return;
        }
        match stmt {
            Stmt::Expr(Expr::Assign(a), Some(_)) => {
                // `self.handle = Some(thread::spawn(..))`: stored in the field `handle`.
                let (Some(field), Some(ty)) = (self_field(&a.left), self.impl_ty.clone()) else {
                    return;
                };
                if let Some(site) = self.spawn_site(peel(unwrap_some(&a.right))) {
                    self.stored.push((ty, field.to_string(), site));
                }
            }
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
            Expr::MethodCall(m) if m.method == "spawn" => Some(Site {
                kind: self.builder(&m.receiver)?,
                span: self.span(&m.method),
            }),
            _ => None,
        }
    }

    /// The kind of spawn builder `e` is: `thread::Builder::new()` and its setters, or a local
    /// bound to one (and its setters: `b.name(..)`).
    fn builder(&self, e: &Expr) -> Option<Spawned> {
        let mut root = e;
        while let Expr::MethodCall(inner) = root {
            if inner.method.to_string().starts_with("spawn") {
                return None;
            }
            root = &inner.receiver;
        }
        match root {
            Expr::Call(call) => {
                let Expr::Path(p) = &*call.func else {
                    return None;
                };
                let path = self.external_path(&p.path)?;
                Some(
                    SPAWN_BUILDERS
                        .iter()
                        .find(|(f, _)| *f == path.as_slice())?
                        .1,
                )
            }
            Expr::Path(p) if p.qself.is_none() => {
                let name = p.path.get_ident()?;
                let (_, kind) = self.builders.iter().rev().find(|(b, _)| *b == name)?;
                *kind
            }
            _ => None,
        }
    }

    /// `let b = thread::Builder::new()..;` makes `b` a builder for the rest of the block; any
    /// other `let b` hides it. (`b = b.name(..)` keeps it one: the type cannot change.)
    fn track_builder(&mut self, local: &'ast syn::Local) {
        let Pat::Ident(id) = binding(&local.pat) else {
            return;
        };
        let kind = local
            .init
            .as_ref()
            .filter(|i| i.diverge.is_none())
            .and_then(|i| self.builder(&i.expr));
        if kind.is_some() || self.builders.iter().any(|(b, _)| *b == &id.ident) {
            self.builders.push((&id.ident, kind));
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
            stored: None,
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
            stored: uses.stored,
        }
    }

    /// `let name = spawn(..)`: is the handle used later in the block?
    fn check_binding(&mut self, site: &Site, name: &syn::Ident) {
        let Some(&(stmts, i)) = self.scopes.last() else {
            return;
        };
        let uses = self.scan(name, &stmts[i + 1..], INSPECTING);
        if let Some((ty, field)) = uses.stored {
            // Judged with the handles stored in that field directly.
            let ty = if ty == "Self" {
                self.impl_ty.clone()
            } else {
                Some(ty)
            };
            if let (Some(ty), 0) = (ty, self.once) {
                self.stored.push((ty, field, *site));
            }
            return;
        }
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

    /// A handle stored in the field `field` of `ty`: reported when the impls of `ty` in this
    /// file only ever take it out to drop it (`self.handle.take();`). Any other use (joined,
    /// moved, lent mutably) may wait for it, and a field nobody reads here may be read elsewhere.
    fn check_stored(&mut self, file: &syn::File, ty: &str, field: &str, site: &Site) {
        let mut uses = FieldUses {
            field,
            file: self.cx.file,
            dropped: None,
            consumed: false,
        };
        for i in impls_of(&file.items, ty) {
            uses.visit_item_impl(i);
        }
        if let (Some(dropped), false) = (uses.dropped, uses.consumed) {
            let d = self.diagnostic(site).label(
                dropped,
                format!("the handle is stored in `{field}`, and taken out of it only to be dropped here"),
            );
            self.out.push(d);
        }
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

/// `Some(x)` -> `x`; anything else as it is.
fn unwrap_some(e: &Expr) -> &Expr {
    match e {
        Expr::Call(c) if c.args.len() == 1 => match &*c.func {
            Expr::Path(p) if p.path.is_ident("Some") => &c.args[0],
            _ => e,
        },
        _ => e,
    }
}

/// `self.field` -> `field`.
fn self_field(e: &Expr) -> Option<&syn::Ident> {
    let Expr::Field(f) = e else { return None };
    let (Expr::Path(base), syn::Member::Named(name)) = (&*f.base, &f.member) else {
        return None;
    };
    base.path.is_ident("self").then_some(name)
}

/// The `impl` blocks of the type named `ty` among `items`, inline modules included.
fn impls_of<'a>(items: &'a [syn::Item], ty: &str) -> Vec<&'a syn::ItemImpl> {
    let mut out = Vec::new();
    for item in items {
        match item {
            syn::Item::Impl(i) if type_last_name(&i.self_ty).is_some_and(|n| n == ty) => {
                out.push(i)
            }
            syn::Item::Mod(m) => {
                if let Some((_, inner)) = &m.content {
                    out.extend(impls_of(inner, ty));
                }
            }
            _ => {}
        }
    }
    out
}

/// How the impls of a type use `self.<field>`, a field that holds a handle.
struct FieldUses<'a> {
    field: &'a str,
    file: crate::span::FileId,
    /// `self.field.take();`, `let _ = self.field.take();`, `drop(self.field.take())`.
    dropped: Option<Span>,
    /// Any use that may join it or hand it on.
    consumed: bool,
}

impl FieldUses<'_> {
    fn is_field(&self, e: &Expr) -> bool {
        self_field(e).is_some_and(|f| f == self.field)
    }

    /// `self.field.take()`.
    fn is_take(&self, e: &Expr) -> bool {
        matches!(peel_paren(e), Expr::MethodCall(m) if m.method == "take" && m.args.is_empty() && self.is_field(&m.receiver))
    }

    fn drop_here(&mut self, e: &Expr) {
        self.dropped.get_or_insert(Span::of_tokens(self.file, e));
    }
}

fn peel_paren(mut e: &Expr) -> &Expr {
    while let Expr::Paren(p) = e {
        e = &p.expr;
    }
    e
}

impl<'ast> Visit<'ast> for FieldUses<'_> {
    fn visit_stmt(&mut self, s: &'ast Stmt) {
        match s {
            Stmt::Expr(e, Some(_)) if self.is_take(e) => self.drop_here(e),
            Stmt::Local(l)
                if matches!(binding(&l.pat), Pat::Wild(_))
                    && l.init.as_ref().is_some_and(|i| self.is_take(&i.expr)) =>
            {
                self.drop_here(&l.init.as_ref().expect("checked").expr)
            }
            Stmt::Expr(Expr::Call(c), Some(_))
                if c.args.len() == 1
                    && self.is_take(&c.args[0])
                    && matches!(&*c.func, Expr::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "drop")) =>
            {
                self.drop_here(&c.args[0])
            }
            _ => syn::visit::visit_stmt(self, s),
        }
    }

    fn visit_expr(&mut self, e: &'ast Expr) {
        match e {
            // Looking at it: `self.handle.is_some()`, `self.handle.as_ref()`, `&self.handle`.
            Expr::MethodCall(m)
                if self.is_field(&m.receiver)
                    && matches!(
                        m.method.to_string().as_str(),
                        "is_some" | "is_none" | "as_ref" | "is_finished" | "thread" | "id"
                    ) =>
            {
                m.args.iter().for_each(|a| self.visit_expr(a));
            }
            Expr::Reference(r) if r.mutability.is_none() && self.is_field(&r.expr) => {}
            // Writing it: the store itself, or a reset.
            Expr::Assign(a) if self.is_field(&a.left) => self.visit_expr(&a.right),
            _ if self.is_field(e) => self.consumed = true,
            _ => syn::visit::visit_expr(self, e),
        }
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        fn named(tokens: proc_macro2::TokenStream, name: &str) -> bool {
            tokens.into_iter().any(|tt| match tt {
                proc_macro2::TokenTree::Ident(i) => i == name,
                proc_macro2::TokenTree::Group(g) => named(g.stream(), name),
                _ => false,
            })
        }
        self.consumed |= named(mac.tokens.clone(), self.field);
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
    /// `self.field = Some(name)`, `Worker { field: name }`: moved into a field of a type
    /// (its last name, or `Self`), and the field.
    stored: Option<(String, String)>,
}

/// The visitor behind [`Checker::scan`].
struct Uses<'a> {
    name: &'a syn::Ident,
    /// Methods that do not consume the variable.
    harmless: &'static [&'static str],
    consumed: bool,
    moved_into: Option<syn::Ident>,
    dropped: Option<Span>,
    stored: Option<(String, String)>,
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
        // Moved into a field: `self.handle = Some(name)`, `Worker { handle: Some(name) }`.
        let stored = match e {
            Expr::Assign(a) if self.is_name(peel(unwrap_some(&a.right))) => {
                self_field(&a.left).map(|f| ("Self".to_string(), f.to_string()))
            }
            Expr::Struct(st) => st.fields.iter().find_map(|f| match &f.member {
                syn::Member::Named(field) if self.is_name(peel(unwrap_some(&f.expr))) => {
                    let ty = st.path.segments.last()?.ident.to_string();
                    Some((ty, field.to_string()))
                }
                _ => None,
            }),
            _ => None,
        };
        if let Some(stored) = stored {
            self.stored = Some(stored);
            self.consumed = true;
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
        match mac.parse_body_with(crate::std_macros::ArgList::parse_terminated) {
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

    #[test]
    fn spawns_in_one_time_initializers_are_process_workers() {
        let src = r#"
use std::sync::{LazyLock, OnceLock};
use std::thread;
static TX: OnceLock<u8> = OnceLock::new();
static RX: LazyLock<u8> = LazyLock::new(|| { thread::spawn(|| {}); 1 });
fn dropper() -> &'static u8 {
    TX.get_or_init(|| {
        thread::Builder::new().name("dropper".into()).spawn(|| {}).unwrap();
        0
    })
}
fn each_call() { thread::spawn(|| {}); }
"#;
        assert_eq!(lines(src), [12]);
    }

    #[test]
    fn a_builder_bound_to_a_local_is_followed() {
        let src = r#"
use std::thread;
fn detached(name: Option<&str>) -> std::io::Result<()> {
    let mut b = thread::Builder::new();
    if let Some(n) = name { b = b.name(n.to_owned()); }
    b.spawn(|| {})?;
    let b2 = thread::Builder::new().stack_size(1 << 20);
    let h = b2.spawn(|| {})?;
    Ok(())
}
fn joined() -> std::io::Result<()> {
    let b = thread::Builder::new();
    let h = b.spawn(|| {})?;
    h.join().unwrap();
    Ok(())
}
fn not_a_builder(b: Pool) { b.spawn(|| {}); let b = Pool; b.spawn(|| {}); }
struct Pool; impl Pool { fn spawn(&self, _: impl FnOnce()) {} }
"#;
        assert_eq!(lines(src), [6, 8]);
    }

    #[test]
    fn a_handle_in_a_field_taken_out_to_be_dropped_fires() {
        let src = r#"
use std::thread::{self, JoinHandle};
struct Dropped { h: Option<JoinHandle<()>> }
impl Dropped {
    fn start(&mut self) { self.h = Some(thread::spawn(|| {})); }
    fn stop(&mut self) { if self.h.is_some() { self.h.take(); } }
}
struct Joined { h: Option<JoinHandle<()>> }
impl Joined {
    fn new() -> Self { Joined { h: Some(thread::spawn(|| {})) } }
}
impl Drop for Joined {
    fn drop(&mut self) { if let Some(h) = self.h.take() { h.join().unwrap(); } }
}
struct Literal { h: Option<JoinHandle<()>> }
impl Literal {
    fn new() -> Self { Self { h: Some(thread::spawn(|| {})) } }
    fn stop(&mut self) { let _ = self.h.take(); }
}
struct Unread { h: JoinHandle<()> }
impl Unread { fn new() -> Self { Unread { h: thread::spawn(|| {}) } } }
struct Both { h: Option<JoinHandle<()>> }
impl Both {
    fn start(&mut self) { self.h = Some(thread::spawn(|| {})); }
    fn abandon(&mut self) { self.h.take(); }
    fn join(&mut self) { if let Some(h) = self.h.take() { h.join().unwrap(); } }
}
"#;
        assert_eq!(lines(src), [5, 17]);
    }

    #[test]
    fn a_handle_bound_to_a_local_then_stored_in_a_field_is_followed() {
        let src = r#"
use std::thread::{self, JoinHandle};
struct Assigned { h: Option<JoinHandle<()>> }
impl Assigned {
    fn start(&mut self) { let h = thread::spawn(|| {}); self.h = Some(h); }
    fn stop(&mut self) { drop(self.h.take()); }
}
struct Literal { h: Option<JoinHandle<()>> }
impl Literal {
    fn new() -> Self { let h = thread::spawn(|| {}); Self { h: Some(h) } }
    fn stop(&mut self) { let _ = self.h.take(); }
}
struct Kept { h: Option<JoinHandle<()>> }
impl Kept {
    fn new() -> Self { let h = thread::spawn(|| {}); Kept { h: Some(h) } }
    fn join(&mut self) { self.h.take().unwrap().join().unwrap(); }
}
"#;
        assert_eq!(lines(src), [5, 10]);
    }
}
