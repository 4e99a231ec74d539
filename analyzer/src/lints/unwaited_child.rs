//! `unwaited_child`: a child process that is spawned and never waited for.

use std::collections::HashMap;

use syn::visit::Visit;
use syn::{Expr, Pat, Stmt};

use crate::diagnostic::Diagnostic;
use crate::index::{flatten_use, Import, ModuleId, Resolution};
use crate::lint::{Check, FileContext, Lint};
use crate::lint_defs::LintId;
use crate::span::{FileId, Span};
use crate::std_macros::{self, Effect};
use crate::syntax::type_last_name;

pub const LINT: Lint = Lint {
    id: LintId::UnwaitedChild,
    summary: "a child process that is spawned and never waited for",
    explanation: r#"## What it finds
A `std::process::Command` whose `.spawn()` returns a `Child` that is dropped without being
waited for: discarded (`cmd.spawn()?;`, `let _ = ..`, `Ok(_) =>`, or given to a closure that
drops it, as `cmd.spawn().map(|_| ())` does), or bound to a name (by `let`, a `match` arm or
`if let`) that is not `.wait()`ed, `.wait_with_output()`ed or `.try_wait()`ed (nor returned,
stored or handed to other code) on every path to the end of its scope: waited for only inside
an `if`, or left behind by an early `return`, `break`, `continue` or `let .. else` before the
wait. A child that is only `.kill()`ed is reported too: killing does not reap it. A fn of the
same file whose declared return type is a `Child` (`fn start() -> io::Result<Child>`) is
followed like `.spawn()`.

## Why it matters
When a child process exits, the kernel keeps its entry (a zombie) until the parent waits for
it. Dropping a `Child` does not wait (nor kill it): a program that spawns helpers in a loop
fills the process table with zombies, and never learns whether they failed. It is Go's
`cmd.Start()` without `cmd.Wait()`.

## Example
```rust
fn notify(msg: &str) -> std::io::Result<()> {
    Command::new("notify-send").arg(msg).spawn()?; // never reaped
    Ok(())
}
```
Use instead:
```rust
fn notify(msg: &str) -> std::io::Result<()> {
    let status = Command::new("notify-send").arg(msg).status()?; // waits
    Ok(())
}
```
or keep the `Child` and call `.wait()` on it (or `.try_wait()` from an event loop) when the
program can afford to.

## What it does not report
`output()` and `status()`, which wait; a `Child` that is returned, stored in a field or a
collection, passed to a fn or a closure (which may wait for it), lent as `&mut`, or matched
and handed on. A child dropped where the process ends on every path after it
(`std::process::exit`, `std::process::abort`, the last statement of the crate's `main`): init
adopts and reaps it. `?`'s error path is not counted as an early exit, since nearly every
spawn has one before its wait. `tokio::process::Command` and `async_process::Command`: their
runtimes reap dropped children.
Commands built somewhere the analysis cannot see and spawns inside macros are not checked. A
`Command` is followed from `Command::new(..)`, from a parameter of type `Command` or
`&mut Command`, and from a call to a fn of the same file whose declared return type holds one
(`self.command()`, `Self::command()`, `make_command()`; `-> Command`, `-> io::Result<Command>`,
or a tuple, as in `let (mut cmd, _) = self.make_command();`); commands from other files' fns
are not. A child is followed from a `let` (`let c = cmd.spawn()?`, or a `match` that only
unwraps: `Ok(c) => c, Err(e) => return ..`), a `match` arm (`Ok(child) => ..`) and an
`if let Ok(child) = ..`; one put into a struct or a tuple is taken as handed over.

clippy's `zombie_processes` judges the same paths, so its `#[allow]`/`#[expect]` on the code
silences this lint too (`#[expect(clippy::zombie_processes)]` on a fn that hands its children
to a reaper).
"#,
    check: Check::File(check),
};

/// Only std's: tokio's and async-process's runtimes reap the children a program drops (on
/// a best-effort basis), so a dropped child of theirs does not stay a zombie.
const COMMANDS: &[&[&str]] = &[&["std", "process", "Command"]];
const COMMAND_NAMES: &[&str] = &["Command"];

/// Methods of a `Child` that reap it (`wait_timeout` is the wait-timeout crate's, which reaps
/// the child when it returns a status); see [`ChildMethod`].
const WAITING: &[&str] = &[
    "wait",
    "wait_with_output",
    "try_wait",
    "wait_timeout",
    "status",
    "output",
];

/// What a method called on the child does to it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ChildMethod {
    /// Reaps it ([`WAITING`]).
    Waits,
    /// `kill`, `start_kill`: stops it, which does not reap it.
    Kills,
    /// `id()`, `stdin`..: looks at it.
    Other,
}

impl ChildMethod {
    fn of(method: &syn::Ident) -> ChildMethod {
        let method = method.to_string();
        if WAITING.contains(&method.as_str()) {
            ChildMethod::Waits
        } else if method == "kill" || method == "start_kill" {
            ChildMethod::Kills
        } else {
            ChildMethod::Other
        }
    }
}

fn check(cx: &FileContext<'_>) -> Vec<Diagnostic> {
    if !cx.source.mentions("spawn") {
        return Vec::new();
    }
    let names = cx.index.names_for(COMMAND_NAMES);
    if !names.iter().any(|n| cx.source.mentions(n)) {
        return Vec::new();
    }
    let mut v = Checker {
        cx,
        module: cx.module,
        imports: Vec::new(),
        commands: Vec::new(),
        returns: HashMap::new(),
        impl_ty: None,
        ends_main: false,
        out: Vec::new(),
    };
    v.collect_returns(&cx.syntax.items, None);
    v.visit_file(cx.syntax);
    v.out
}

struct Checker<'a> {
    cx: &'a FileContext<'a>,
    module: ModuleId,
    imports: Vec<Import>,
    /// Locals (and parameters) holding a `Command`, in the fn being checked.
    commands: Vec<String>,
    /// The fns of this file that return a `Command`, by the type of their `impl` (if any)
    /// and name, and where in their return type it is.
    returns: HashMap<(Option<String>, String), Returned>,
    /// The type of the `impl` being visited, for `self.f()` and `Self::f()`.
    impl_ty: Option<String>,
    /// Whether the statement being checked is the last thing the crate's `main` runs: the
    /// process exits right after it, and a child dropped there is adopted by init.
    ends_main: bool,
    out: Vec<Diagnostic>,
}

/// Where a fn's declared return type holds a `Command`.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Returned {
    /// `-> Command`, `-> io::Result<Command>`, `-> Option<Command>`.
    Whole,
    /// `-> (Command, Output)`: the positions of the tuple that are commands.
    Tuple(Vec<usize>),
    /// Not a `Command` but a spawned `Child`: `-> Child`, `-> io::Result<Child>`.
    Child,
}

/// The code a bound child lives in until it is dropped.
#[derive(Clone, Copy)]
enum Scope<'a> {
    /// The statements after its `let`, to the end of the block.
    Stmts(&'a [Stmt]),
    /// A `match` arm's body.
    Expr(&'a Expr),
    /// An `if let`'s block.
    Block(&'a syn::Block),
}

/// What a pattern matched against a spawn's result does with the `Child`: binds it to a name
/// (`Ok(child)`, `Some(child)`, `child`), drops it (`Ok(_)`), or `None` when the pattern
/// holds no child (`Err(e)`, `_`).
fn child_binding(pat: &Pat) -> Option<Option<&syn::Ident>> {
    match pat {
        Pat::Ident(id) if id.subpat.is_none() => Some(Some(&id.ident)),
        Pat::TupleStruct(t)
            if t.elems.len() == 1
                && t.path
                    .segments
                    .last()
                    .is_some_and(|s| s.ident == "Ok" || s.ident == "Some") =>
        {
            match &t.elems[0] {
                Pat::Ident(id) if id.subpat.is_none() => Some(Some(&id.ident)),
                Pat::Wild(_) => Some(None),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Whether `m` only unwraps its scrutinee: each arm gives back what `Ok(x)`/`Some(x)` bound,
/// or leaves (`return`, `break`, `continue`, a panicking macro).
fn unwraps(m: &syn::ExprMatch) -> bool {
    let mut gives_back = false;
    for arm in &m.arms {
        if leaves(&arm.body) {
            continue;
        }
        let mut body = &*arm.body;
        while let Expr::Block(b) = body {
            let [Stmt::Expr(e, None)] = b.block.stmts.as_slice() else {
                return false;
            };
            body = e;
        }
        match (child_binding(&arm.pat), body) {
            (Some(Some(name)), Expr::Path(p)) if p.path.get_ident() == Some(name) => {
                gives_back = true;
            }
            _ => return false,
        }
    }
    gives_back
}

/// Whether `e` always leaves: `return`, `break`, `continue`, a panicking macro, or a block
/// that ends with one.
fn leaves(e: &Expr) -> bool {
    match e {
        Expr::Return(_) | Expr::Break(_) | Expr::Continue(_) => true,
        Expr::Macro(m) => panics(&m.mac),
        Expr::Block(b) => match b.block.stmts.last() {
            Some(Stmt::Expr(e, _)) => leaves(e),
            Some(Stmt::Macro(m)) => panics(&m.mac),
            _ => false,
        },
        _ => false,
    }
}

/// `panic!`, `unreachable!`, `todo!`, `unimplemented!` (std's macros that always panic):
/// the path ends there.
fn panics(m: &syn::Macro) -> bool {
    m.path
        .segments
        .last()
        .and_then(|s| std_macros::effect(&s.ident.to_string()))
        == Some(Effect::Panics)
}

/// Where a child that may be lost comes from.
#[derive(Clone, Copy, Debug)]
struct Spawn {
    /// The `spawn` of `cmd.spawn()`, or the name of the fn called.
    at: Span,
    /// A call to a fn of this file that returns a spawned `Child` (`spawn_helper()`).
    by_call: bool,
}

impl<'ast> Visit<'ast> for Checker<'_> {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        let outer = self.module;
        self.module = self.cx.inner_module(outer, m);
        syn::visit::visit_item_mod(self, m);
        self.module = outer;
    }

    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        let outer = std::mem::replace(&mut self.impl_ty, type_last_name(&i.self_ty));
        syn::visit::visit_item_impl(self, i);
        self.impl_ty = outer;
    }

    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        // `cmd.spawn().map(|_| ())`: the closure takes the `Child` and drops it.
        if m.method == "map" && m.args.len() == 1 && drops_its_argument(&m.args[0]) {
            if let Some(spawn) = self.spawned(&m.receiver) {
                let at = self.span(&m.args[0]);
                self.report(
                    spawn,
                    Some((at, "the `Child` is dropped by this closure")),
                    "",
                );
            }
        }
        syn::visit::visit_expr_method_call(self, m);
    }

    fn visit_expr_match(&mut self, m: &'ast syn::ExprMatch) {
        if let Some(spawn) = self.spawned(&m.expr) {
            for arm in &m.arms {
                let pat = match &arm.pat {
                    Pat::Guard(g) => &*g.pat,
                    p => p,
                };
                self.judge_arm(spawn, pat, Scope::Expr(&arm.body));
            }
        }
        syn::visit::visit_expr_match(self, m);
    }

    fn visit_expr_if(&mut self, i: &'ast syn::ExprIf) {
        if let Expr::Let(l) = &*i.cond {
            if let Some(spawn) = self.spawned(&l.expr) {
                self.judge_arm(spawn, &l.pat, Scope::Block(&i.then_branch));
            }
        }
        syn::visit::visit_expr_if(self, i);
    }

    fn visit_expr_closure(&mut self, c: &'ast syn::ExprClosure) {
        let outer = std::mem::replace(&mut self.ends_main, false);
        syn::visit::visit_expr_closure(self, c);
        self.ends_main = outer;
    }

    fn visit_signature(&mut self, sig: &'ast syn::Signature) {
        self.commands.clear();
        for input in &sig.inputs {
            if let syn::FnArg::Typed(t) = input {
                if let (Pat::Ident(i), true) = (&*t.pat, self.is_command_type(&t.ty)) {
                    self.commands.push(i.ident.to_string());
                }
            }
        }
    }

    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        let outer = self.ends_main;
        self.ends_main = f.sig.ident == "main"
            && f.sig.inputs.is_empty()
            && self.cx.index.crate_root(self.module) == self.module;
        // A body is read in the scope of the items it declares.
        let module = self.module;
        self.module = self.cx.body_module(module, &f.sig.ident, &f.block);
        syn::visit::visit_item_fn(self, f);
        self.module = module;
        self.ends_main = outer;
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        let module = self.module;
        self.module = self.cx.body_module(module, &f.sig.ident, &f.block);
        syn::visit::visit_impl_item_fn(self, f);
        self.module = module;
    }

    fn visit_block(&mut self, block: &'ast syn::Block) {
        let imports = self.imports.len();
        for stmt in &block.stmts {
            if let Stmt::Item(syn::Item::Use(u)) = stmt {
                flatten_use(&u.tree, &mut Vec::new(), &mut self.imports);
            }
        }
        let ends_main = self.ends_main;
        let last = block
            .stmts
            .iter()
            .rposition(|s| !matches!(s, Stmt::Item(_)));
        for (i, stmt) in block.stmts.iter().enumerate() {
            // Nothing runs after the last statement of `main` (clippy's rule too).
            self.ends_main = ends_main && last.is_none_or(|last| i >= last);
            self.check_stmt(stmt, &block.stmts[i + 1..]);
            // A plain block that is the last statement ends `main` with this one.
            self.ends_main &= matches!(stmt, Stmt::Expr(Expr::Block(b), _) if b.label.is_none());
            self.visit_stmt(stmt);
        }
        self.ends_main = ends_main;
        self.imports.truncate(imports);
    }
}

impl Checker<'_> {
    fn span(&self, node: &impl quote::ToTokens) -> Span {
        Span::of_tokens(self.cx.file, node)
    }

    fn check_stmt(&mut self, stmt: &Stmt, rest: &[Stmt]) {
        match stmt {
            Stmt::Expr(e, Some(_)) => {
                if let Some(spawn) = self.spawned(e) {
                    if self.process_ends_after(rest) {
                        return;
                    }
                    self.report(spawn, None, "the `Child` is dropped right away");
                }
            }
            Stmt::Local(local) => {
                let Some(init) = &local.init else { return };
                let pat = match &local.pat {
                    Pat::Type(t) => &*t.pat,
                    p => p,
                };
                if let Pat::Ident(id) = pat {
                    if self.builds_command(&init.expr) {
                        self.commands.push(id.ident.to_string());
                        return;
                    }
                }
                // `let cmd = self.command();`, `let (mut cmd, _) = self.make_command();`.
                match (self.returned_command(&init.expr).cloned(), pat) {
                    (Some(Returned::Whole), Pat::Ident(id)) => {
                        self.commands.push(id.ident.to_string());
                        return;
                    }
                    (Some(Returned::Tuple(at)), Pat::Tuple(t)) => {
                        for (i, elem) in t.elems.iter().enumerate() {
                            if let (true, Pat::Ident(id)) = (at.contains(&i), elem) {
                                self.commands.push(id.ident.to_string());
                            }
                        }
                        return;
                    }
                    _ => {}
                }
                let Some(spawn) = self.spawned(&init.expr) else {
                    return;
                };
                match pat {
                    Pat::Wild(_) if self.process_ends_after(rest) => {}
                    Pat::Wild(w) => {
                        let at = self.span(w);
                        self.report(spawn, Some((at, "the `Child` is dropped here")), "");
                    }
                    Pat::Ident(id) if id.subpat.is_none() => {
                        self.judge_bound(spawn, &id.ident, Scope::Stmts(rest));
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }

    /// Reports the child bound to `name` if some path through `scope` (the rest of its
    /// block, or a `match` arm or `if let` body) loses it.
    fn judge_bound(&mut self, spawn: Spawn, name: &syn::Ident, scope: Scope<'_>) {
        let mut paths = Paths::new(self.cx.file, Some(name), |path| self.ends_process(path));
        let (fate, ends_main) = match scope {
            Scope::Stmts(rest) => (paths.stmts(rest), self.ends_main),
            Scope::Expr(body) => (paths.expr(body), false),
            Scope::Block(body) => (paths.stmts(&body.stmts), false),
        };
        if (!fate.open || ends_main) && fate.exit.is_none() {
            return;
        }
        let at = self.span(name);
        let label = match (fate.exit, paths.waited_somewhere, paths.killed) {
            (Some(_), ..) => format!("bound to `{name}` here"),
            (None, true, _) => format!("bound to `{name}` here, but waited for only on some paths"),
            (None, false, true) => format!("bound to `{name}` here: killed, but never waited for"),
            (None, false, false) => format!("bound to `{name}` here, but never waited for"),
        };
        let exit = fate.exit.map(|exit| {
            let label = format!("leaves the scope of `{name}` here without waiting for it");
            (exit, label)
        });
        self.report_with(spawn, Some((at, &label)), "", exit);
    }

    /// `match cmd.spawn() { Ok(child) => .., Err(e) => .. }` and
    /// `if let Ok(child) = cmd.spawn() { .. }`: the child lives in the arm that binds it.
    fn judge_arm(&mut self, spawn: Spawn, pat: &Pat, body: Scope<'_>) {
        match child_binding(pat) {
            Some(Some(name)) => self.judge_bound(spawn, name, body),
            Some(None) => {
                let at = self.span(pat);
                self.report(spawn, Some((at, "the `Child` is dropped here")), "");
            }
            None => {}
        }
    }

    fn report(&mut self, spawn: Spawn, binding: Option<(Span, &str)>, primary: &str) {
        self.report_with(spawn, binding, primary, None);
    }

    /// [`Checker::report`], with the label of the exit that loses the child, if one does.
    fn report_with(
        &mut self,
        spawn: Spawn,
        binding: Option<(Span, &str)>,
        primary: &str,
        exit: Option<(Span, String)>,
    ) {
        let mut d = Diagnostic::new(
            LintId::UnwaitedChild,
            spawn.at,
            "child process is spawned and never waited for",
        );
        let dropped_at_once = match binding {
            None => true,
            Some((_, label)) => label.contains("dropped"),
        };
        if dropped_at_once && !spawn.by_call {
            // Dropped at once: `status()` runs it the same way, and waits (which blocks).
            d = d.suggestion(
                "call `status()` instead, which waits for the process (and blocks until it exits)",
                spawn.at,
                "status",
                false,
            );
        }
        let spawned_here = if spawn.by_call {
            "returns a spawned `Child`"
        } else {
            "spawned here"
        };
        d = match binding {
            Some((at, label)) => d.primary_label(spawned_here).label(at, label.to_string()),
            None => d.primary_label(primary.to_string()),
        };
        if let Some((at, label)) = exit {
            d = d.label(at, label);
        }
        d = d.note("a child that exits stays a zombie in the process table until its parent waits for it; dropping a `Child` neither waits nor kills (Go's `cmd.Start()` without `cmd.Wait()`)");
        // Where the suggestion already offers `status()`, the help only adds the other ways.
        self.out.push(if dropped_at_once && !spawn.by_call {
            d.help("to let it run alongside, keep the `Child` and call `.wait()` on it later; `.output()` also waits, and collects what it prints")
        } else {
            d.help("keep the `Child` and call `.wait()` on it, or use `.status()` or `.output()`, which wait for the process")
        });
    }

    /// Where the child comes from, when `e` is `<command>.spawn()` or a call to a fn of this
    /// file that returns a `Child`, possibly followed by `?`, `.unwrap()`, `.expect(..)` or a
    /// `map_err`/`context` before `?`.
    fn spawned(&self, e: &Expr) -> Option<Spawn> {
        let mut e = e;
        loop {
            e = match e {
                Expr::Try(t) => &t.expr,
                Expr::Paren(p) => &p.expr,
                Expr::Await(a) => &a.base,
                Expr::MethodCall(m)
                    if matches!(
                        m.method.to_string().as_str(),
                        "unwrap" | "expect" | "map_err" | "context" | "with_context"
                    ) =>
                {
                    &m.receiver
                }
                // `match cmd.spawn() { Ok(c) => c, Err(e) => panic!(..) }`: an unwrap.
                Expr::Match(m) if unwraps(m) => &m.expr,
                Expr::MethodCall(m) if m.method == "spawn" && m.args.is_empty() => {
                    return self.is_command(&m.receiver).then(|| Spawn {
                        at: self.span(&m.method),
                        by_call: false,
                    });
                }
                Expr::MethodCall(m) if self.returned_command(e) == Some(&Returned::Child) => {
                    return Some(Spawn {
                        at: self.span(&m.method),
                        by_call: true,
                    });
                }
                Expr::Call(c) if self.returned_command(e) == Some(&Returned::Child) => {
                    let Expr::Path(p) = &*c.func else {
                        return None;
                    };
                    return Some(Spawn {
                        at: self.span(&p.path.segments.last()?.ident),
                        by_call: true,
                    });
                }
                _ => return None,
            };
        }
    }

    /// Whether `e` is a `Command`: built by `Command::new(..)` and its builder methods, or a
    /// local or parameter holding one.
    fn is_command(&self, e: &Expr) -> bool {
        let mut e = e;
        loop {
            e = match e {
                Expr::MethodCall(m) => &m.receiver,
                Expr::Paren(p) => &p.expr,
                Expr::Reference(r) => &r.expr,
                Expr::Path(p) => {
                    return p
                        .path
                        .get_ident()
                        .is_some_and(|i| self.commands.iter().any(|c| i == c));
                }
                Expr::Call(_) => return self.builds_command(e),
                _ => return false,
            };
        }
    }

    /// `Command::new(..)`, with any builder methods after it (not `spawn`, `output`...).
    fn builds_command(&self, e: &Expr) -> bool {
        let mut e = e;
        loop {
            e = match e {
                Expr::MethodCall(m)
                    if m.method.to_string().starts_with("spawn")
                        || WAITING.contains(&m.method.to_string().as_str()) =>
                {
                    return false
                }
                Expr::MethodCall(m) => &m.receiver,
                Expr::Paren(p) => &p.expr,
                Expr::Reference(r) => &r.expr,
                Expr::Call(c) => {
                    let Expr::Path(p) = &*c.func else {
                        return false;
                    };
                    let segs = &p.path.segments;
                    if segs.len() < 2 || segs[segs.len() - 1].ident != "new" {
                        return false;
                    }
                    let mut ty = p.path.clone();
                    ty.segments.pop();
                    ty.segments.pop_punct();
                    return self.names_command(&ty);
                }
                _ => return false,
            };
        }
    }

    fn names_command(&self, path: &syn::Path) -> bool {
        let Some(last) = path.segments.last() else {
            return false;
        };
        let names = self.cx.index.names_for(COMMAND_NAMES);
        if !names.iter().any(|n| last.ident == n) {
            return false;
        }
        match self.cx.index.resolve_path(self.module, &self.imports, path) {
            Resolution::External(p) => COMMANDS.iter().any(|c| *c == p.as_slice()),
            _ => false,
        }
    }

    /// Records the fns of `items` (and of their impls and inline modules) whose declared
    /// return type holds a `Command`.
    fn collect_returns(&mut self, items: &[syn::Item], impl_ty: Option<&str>) {
        for item in items {
            match item {
                syn::Item::Fn(f) if impl_ty.is_none() => self.record_return(None, &f.sig),
                syn::Item::Impl(i) => {
                    let ty = type_last_name(&i.self_ty);
                    for it in &i.items {
                        if let syn::ImplItem::Fn(f) = it {
                            self.record_return(ty.clone(), &f.sig);
                        }
                    }
                }
                syn::Item::Mod(m) => {
                    if let Some((_, inner)) = &m.content {
                        self.collect_returns(inner, None);
                    }
                }
                _ => {}
            }
        }
    }

    fn record_return(&mut self, impl_ty: Option<String>, sig: &syn::Signature) {
        let syn::ReturnType::Type(_, ty) = &sig.output else {
            return;
        };
        let found = match &**ty {
            syn::Type::Tuple(t) => {
                let at: Vec<usize> = (0..t.elems.len())
                    .filter(|&i| self.is_command_type(&t.elems[i]))
                    .collect();
                (!at.is_empty()).then_some(Returned::Tuple(at))
            }
            ty if self.is_command_type(ok_type(ty)) => Some(Returned::Whole),
            ty => self.is_child_type(ok_type(ty)).then_some(Returned::Child),
        };
        if let Some(found) = found {
            self.returns.insert((impl_ty, sig.ident.to_string()), found);
        }
    }

    /// Where the value of `e` holds a `Command`, when `e` calls a fn of this file that returns
    /// one: `self.command()`, `Self::command()`, `make_command()`, with `?`, `.unwrap()` or
    /// `.expect(..)` after it.
    fn returned_command(&self, e: &Expr) -> Option<&Returned> {
        let mut e = e;
        loop {
            e = match e {
                Expr::Try(t) => &t.expr,
                Expr::Paren(p) => &p.expr,
                Expr::MethodCall(m) if m.method == "unwrap" || m.method == "expect" => &m.receiver,
                _ => break,
            };
        }
        let key = match e {
            Expr::MethodCall(m) if matches!(&*m.receiver, Expr::Path(p) if p.path.is_ident("self")) => {
                (self.impl_ty.clone(), m.method.to_string())
            }
            Expr::Call(c) => {
                let Expr::Path(p) = &*c.func else { return None };
                match p.path.segments.iter().collect::<Vec<_>>().as_slice() {
                    [f] => (None, f.ident.to_string()),
                    [ty, f] if ty.ident == "Self" => (self.impl_ty.clone(), f.ident.to_string()),
                    _ => return None,
                }
            }
            _ => return None,
        };
        self.returns.get(&key)
    }

    /// Whether `path` names `std::process::exit` or `std::process::abort`: after them no
    /// parent is left to reap anything, and the child is adopted (and reaped) by init.
    fn ends_process(&self, path: &syn::Path) -> bool {
        let Some(last) = path.segments.last() else {
            return false;
        };
        if last.ident != "exit" && last.ident != "abort" {
            return false;
        }
        match self.cx.index.resolve_path(self.module, &self.imports, path) {
            Resolution::External(p) => {
                p.len() == 3
                    && p[0] == "std"
                    && p[1] == "process"
                    && (p[2] == "exit" || p[2] == "abort")
            }
            _ => false,
        }
    }

    /// Whether every path through `rest` ends the process (a child dropped just before is
    /// then adopted by init, not left a zombie).
    fn process_ends_after(&self, rest: &[Stmt]) -> bool {
        let fate = Paths::new(self.cx.file, None, |path| self.ends_process(path)).stmts(rest);
        (!fate.open || self.ends_main) && fate.exit.is_none()
    }

    /// `Child` (not a reference: a `&mut Child` returned is owned elsewhere).
    fn is_child_type(&self, ty: &syn::Type) -> bool {
        let syn::Type::Path(p) = ty else {
            return false;
        };
        if p.path.segments.last().is_none_or(|s| s.ident != "Child") {
            return false;
        }
        match self
            .cx
            .index
            .resolve_path(self.module, &self.imports, &p.path)
        {
            Resolution::External(p) => p == ["std", "process", "Child"],
            _ => false,
        }
    }

    fn is_command_type(&self, ty: &syn::Type) -> bool {
        match ty {
            syn::Type::Reference(r) => self.is_command_type(&r.elem),
            syn::Type::Path(p) => self.names_command(&p.path),
            _ => false,
        }
    }
}

/// `T` for `Result<T, E>`, `io::Result<T>` and `Option<T>`: what `?` or `.unwrap()` gives.
fn ok_type(ty: &syn::Type) -> &syn::Type {
    if let syn::Type::Path(p) = ty {
        if let Some(last) = p.path.segments.last() {
            if last.ident == "Result" || last.ident == "Option" {
                if let syn::PathArguments::AngleBracketed(a) = &last.arguments {
                    if let Some(syn::GenericArgument::Type(t)) = a.args.first() {
                        return t;
                    }
                }
            }
        }
    }
    ty
}

/// Whether `f`, given to `.map(f)`, drops its argument: `|_| ..`, a closure whose one
/// parameter its body never names, or `drop`.
fn drops_its_argument(f: &Expr) -> bool {
    match f {
        Expr::Closure(c) if c.inputs.len() == 1 => match &c.inputs[0] {
            Pat::Wild(_) => true,
            Pat::Ident(id) if id.subpat.is_none() => {
                !mentions(quote::ToTokens::to_token_stream(&c.body), &id.ident)
            }
            _ => false,
        },
        Expr::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == "drop"),
        _ => false,
    }
}

/// Where the paths through some code leave a child that is not yet waited for.
#[derive(Clone, Copy, Debug)]
struct Fate {
    /// Some path reaches the end of the code with the child neither waited for nor handed
    /// over.
    open: bool,
    /// The first place where a path leaves the child's scope early (`return`, `break`,
    /// `continue`, a `let .. else`) with the child neither waited for nor handed over.
    exit: Option<Span>,
}

impl Fate {
    /// Code that neither waits for the child nor leaves.
    const OPEN: Fate = Fate {
        open: true,
        exit: None,
    };
    /// Waited for, handed over, or the process ends: nothing after it matters.
    const DONE: Fate = Fate {
        open: false,
        exit: None,
    };

    /// A path that leaves the child's scope at `span`.
    fn exit(span: Span) -> Fate {
        Fate {
            open: false,
            exit: Some(span),
        }
    }

    /// One alternative or the other (the branches of an `if` or a `match`).
    fn or(self, other: Fate) -> Fate {
        Fate {
            open: self.open || other.open,
            exit: self.exit.or(other.exit),
        }
    }

    /// `self`, then `next` on the paths `self` left open.
    fn then(self, next: Fate) -> Fate {
        Fate {
            open: next.open,
            exit: self.exit.or(next.exit),
        }
    }
}

/// The walk that follows a bound `Child` (`name`) through the statements after its binding,
/// path by path: a wait or hand-over counts only where every path to the end of the scope
/// passes through one, as clippy's `zombie_processes` judges it. An early `return`, `break`
/// or `continue` out of the scope before it loses the child; `?`'s error path does not count
/// (nearly every spawn has one before its wait). Calls to `std::process::exit`/`abort` and
/// panicking macros end the path: the process is going away. With no name, only those count.
struct Paths<'n, F> {
    file: FileId,
    name: Option<&'n syn::Ident>,
    ends_process: F,
    /// Loops entered inside the walk: whether a `break` of each left the child unhandled.
    loops: Vec<bool>,
    waited_somewhere: bool,
    killed: bool,
}

impl<'n, F: Fn(&syn::Path) -> bool> Paths<'n, F> {
    fn new(file: FileId, name: Option<&'n syn::Ident>, ends_process: F) -> Self {
        Paths {
            file,
            name,
            ends_process,
            loops: Vec::new(),
            waited_somewhere: false,
            killed: false,
        }
    }

    fn is_name(&self, e: &Expr) -> bool {
        self.name.is_some_and(|name| {
            matches!(e, Expr::Path(p) if p.qself.is_none() && p.path.get_ident() == Some(name))
        })
    }

    /// `items` run one after the other, each judged by `step`, as far as a path stays open.
    fn sequence<T>(
        &mut self,
        items: impl IntoIterator<Item = T>,
        mut step: impl FnMut(&mut Self, T) -> Fate,
    ) -> Fate {
        let mut fate = Fate::OPEN;
        for item in items {
            if !fate.open {
                break;
            }
            let next = step(self, item);
            fate = fate.then(next);
        }
        fate
    }

    fn stmts(&mut self, stmts: &[Stmt]) -> Fate {
        self.sequence(stmts, Self::stmt)
    }

    fn stmt(&mut self, stmt: &Stmt) -> Fate {
        match stmt {
            Stmt::Local(local) => match &local.init {
                Some(init) => {
                    let value = self.expr(&init.expr);
                    match (&init.diverge, value.open) {
                        // `let Some(x) = .. else { return }`: the `else` may run.
                        (Some((_, diverge)), true) => value.or(self.expr(diverge)),
                        _ => value,
                    }
                }
                None => Fate::OPEN,
            },
            Stmt::Expr(e, _) => self.expr(e),
            Stmt::Macro(m) => self.mac(&m.mac),
            Stmt::Item(_) => Fate::OPEN,
        }
    }

    /// `exprs` evaluated one after the other.
    fn seq<'e>(&mut self, exprs: impl IntoIterator<Item = &'e Expr>) -> Fate {
        self.sequence(exprs, Self::expr)
    }

    /// `first`, then `then` on the paths that are still open.
    fn then(&mut self, first: Fate, then: impl FnOnce(&mut Self) -> Fate) -> Fate {
        if !first.open {
            return first;
        }
        let next = then(self);
        first.then(next)
    }

    /// An exit from the child's scope, or from a loop inside the walk.
    fn leave(&mut self, span: Span, leaves_loop: bool) -> Fate {
        match self.loops.last_mut() {
            Some(broke) if leaves_loop => {
                *broke = true;
                Fate::DONE
            }
            // `continue` of a loop inside the walk: its next round is judged as this one.
            Some(_) => Fate::DONE,
            None => Fate::exit(span),
        }
    }

    fn body_of_loop(&mut self, body: &syn::Block) -> (Fate, bool) {
        self.loops.push(false);
        let fate = self.stmts(&body.stmts);
        let broke = self.loops.pop().unwrap_or(false);
        (fate, broke)
    }

    fn expr(&mut self, e: &Expr) -> Fate {
        match e {
            Expr::Path(_) if self.is_name(e) => Fate::DONE, // moved: returned, passed, stored
            Expr::Reference(r) if self.is_name(&r.expr) => {
                // `&mut child` lent to code that may wait; `&child` only looks.
                if r.mutability.is_some() {
                    Fate::DONE
                } else {
                    Fate::OPEN
                }
            }
            Expr::Field(f) if self.is_name(&f.base) => Fate::OPEN, // `child.stdout`: a part
            Expr::MethodCall(m) if self.is_name(&m.receiver) => {
                match ChildMethod::of(&m.method) {
                    ChildMethod::Waits => {
                        self.waited_somewhere = true;
                        return Fate::DONE;
                    }
                    ChildMethod::Kills => self.killed = true,
                    ChildMethod::Other => {}
                }
                // `child.id()`, `child.kill()`: looking at it is not waiting for it.
                self.seq(&m.args)
            }
            Expr::MethodCall(m) => self.seq(std::iter::once(&*m.receiver).chain(&m.args)),
            Expr::Call(c) => {
                let fate = self.seq(std::iter::once(&*c.func).chain(&c.args));
                self.then(fate, |this| match &*c.func {
                    Expr::Path(p) if (this.ends_process)(&p.path) => Fate::DONE,
                    _ => Fate::OPEN,
                })
            }
            Expr::If(i) => {
                let cond = self.expr(&i.cond);
                self.then(cond, |this| {
                    let then = this.stmts(&i.then_branch.stmts);
                    let other = match &i.else_branch {
                        Some((_, e)) => this.expr(e),
                        None => Fate::OPEN,
                    };
                    then.or(other)
                })
            }
            Expr::Match(m) => {
                let scrutinee = self.expr(&m.expr);
                self.then(scrutinee, |this| {
                    let mut fate: Option<Fate> = None;
                    for arm in &m.arms {
                        let guard = match &arm.pat {
                            Pat::Guard(g) => this.expr(&g.guard),
                            _ => Fate::OPEN,
                        };
                        let body = this.then(guard, |this| this.expr(&arm.body));
                        fate = Some(fate.map_or(body, |f| f.or(body)));
                    }
                    fate.unwrap_or(Fate::DONE) // no arm: an empty enum, never reached
                })
            }
            Expr::Binary(b) if matches!(b.op, syn::BinOp::And(_) | syn::BinOp::Or(_)) => {
                // The right side may not run.
                let left = self.expr(&b.left);
                self.then(left, |this| this.expr(&b.right).or(Fate::OPEN))
            }
            Expr::While(w) => {
                let cond = self.expr(&w.cond);
                self.then(cond, |this| {
                    // It may run no round at all.
                    this.body_of_loop(&w.body).0.or(Fate::OPEN)
                })
            }
            Expr::ForLoop(f) => {
                let iter = self.expr(&f.expr);
                self.then(iter, |this| this.body_of_loop(&f.body).0.or(Fate::OPEN))
            }
            Expr::Loop(l) => {
                // Left only by a `break` (or an exit): open where a `break` left it open.
                let (body, broke) = self.body_of_loop(&l.body);
                Fate {
                    open: broke,
                    exit: body.exit,
                }
            }
            Expr::Block(b) if b.label.is_some() => {
                // `'a: { .. break 'a; .. }`: its breaks end the block, not the scope.
                let (body, broke) = self.body_of_loop(&b.block);
                Fate {
                    open: body.open || broke,
                    exit: body.exit,
                }
            }
            Expr::Block(b) => self.stmts(&b.block.stmts),
            Expr::Unsafe(u) => self.stmts(&u.block.stmts),
            Expr::Return(r) => {
                let value = match &r.expr {
                    Some(e) => self.expr(e),
                    None => Fate::OPEN,
                };
                let span = Span::of(self.file, r.return_token.span);
                self.then(value, |_| Fate::exit(span))
            }
            Expr::Break(b) => {
                let value = match &b.expr {
                    Some(e) => self.expr(e),
                    None => Fate::OPEN,
                };
                let span = Span::of(self.file, b.break_token.span);
                self.then(value, |this| this.leave(span, true))
            }
            Expr::Continue(c) => {
                let span = Span::of(self.file, c.continue_token.span);
                self.leave(span, false)
            }
            Expr::Macro(m) => self.mac(&m.mac),
            // Code that runs later, elsewhere: a child it captures is handed over.
            Expr::Closure(_) | Expr::Async(_) => self.straight(e),
            Expr::Paren(p) => self.expr(&p.expr),
            Expr::Group(g) => self.expr(&g.expr),
            Expr::Try(t) => self.expr(&t.expr),
            Expr::Await(a) => self.expr(&a.base),
            Expr::Field(f) => self.expr(&f.base),
            Expr::Reference(r) => self.expr(&r.expr),
            Expr::Unary(u) => self.expr(&u.expr),
            Expr::Cast(c) => self.expr(&c.expr),
            Expr::Let(l) => self.expr(&l.expr),
            Expr::Binary(b) => self.seq([&*b.left, &*b.right]),
            Expr::Assign(a) => self.seq([&*a.right, &*a.left]),
            Expr::Index(i) => self.seq([&*i.expr, &*i.index]),
            Expr::Tuple(t) => self.seq(&t.elems),
            Expr::Array(a) => self.seq(&a.elems),
            Expr::Struct(st) => {
                let fields = self.seq(st.fields.iter().map(|f| &f.expr));
                self.then(fields, |this| match &st.rest {
                    Some(rest) => this.expr(rest),
                    None => Fate::OPEN,
                })
            }
            // Anything else is read as straight-line code.
            _ => self.straight(e),
        }
    }

    fn mac(&mut self, m: &syn::Macro) -> Fate {
        if let Some(name) = self.name {
            // A macro that mentions it might do anything with it.
            if mentions(m.tokens.clone(), name) {
                return Fate::DONE;
            }
        }
        if panics(m) {
            Fate::DONE
        } else {
            Fate::OPEN
        }
    }

    /// Code without paths of its own: done if it waits for, lends or hands over the child
    /// anywhere.
    fn straight(&mut self, e: &Expr) -> Fate {
        let Some(name) = self.name else {
            return Fate::OPEN;
        };
        let mut uses = ChildUses::new(name);
        uses.visit_expr(e);
        self.killed |= uses.killed;
        if uses.handled {
            Fate::DONE
        } else {
            Fate::OPEN
        }
    }
}

/// How a `Child` bound to `name` is used in code read as straight-line.
struct ChildUses<'n> {
    name: &'n syn::Ident,
    /// Waited for, or handed over (returned, passed, stored, moved into a closure).
    handled: bool,
    killed: bool,
}

impl<'n> ChildUses<'n> {
    fn new(name: &'n syn::Ident) -> Self {
        ChildUses {
            name,
            handled: false,
            killed: false,
        }
    }

    fn is_name(&self, e: &Expr) -> bool {
        matches!(e, Expr::Path(p) if p.path.get_ident().is_some_and(|i| i == self.name))
    }
}

impl<'ast> Visit<'ast> for ChildUses<'_> {
    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        if self.is_name(&m.receiver) {
            match ChildMethod::of(&m.method) {
                ChildMethod::Waits => self.handled = true,
                ChildMethod::Kills => self.killed = true,
                ChildMethod::Other => {}
            }
            // `child.id()`, `child.stdin.take()`: looking at it is not waiting for it.
            for a in &m.args {
                self.visit_expr(a);
            }
            return;
        }
        syn::visit::visit_expr_method_call(self, m);
    }

    fn visit_expr_field(&mut self, f: &'ast syn::ExprField) {
        // `child.stdout`, `child.stdin.take()`: a part of it, not the child.
        if self.is_name(&f.base) {
            return;
        }
        syn::visit::visit_expr_field(self, f);
    }

    fn visit_expr_reference(&mut self, r: &'ast syn::ExprReference) {
        // `&mut child` lent to a fn that may wait; `&child` only looks.
        if self.is_name(&r.expr) {
            if r.mutability.is_some() {
                self.handled = true;
            }
            return;
        }
        syn::visit::visit_expr_reference(self, r);
    }

    fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
        // Any other use moves it: returned, passed by value, stored, pushed.
        if p.path.get_ident().is_some_and(|i| i == self.name) {
            self.handled = true;
        }
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        // A macro that mentions it might do anything with it.
        if mentions(m.tokens.clone(), self.name) {
            self.handled = true;
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
        findings(LintId::UnwaitedChild, src)
            .into_iter()
            .map(|(l, _)| l)
            .collect()
    }

    #[test]
    fn dropped_or_never_waited() {
        let src = "use std::process::Command;\n\
                   fn a() -> std::io::Result<()> { Command::new(\"x\").arg(\"y\").spawn()?; Ok(()) }\n\
                   fn b() { let _ = Command::new(\"x\").spawn(); }\n\
                   fn c() { let child = Command::new(\"x\").spawn().unwrap(); println!(\"{}\", 1); }\n\
                   fn d() { let mut cmd = Command::new(\"x\"); cmd.arg(\"1\");\n\
                   let mut child = cmd.spawn().expect(\"x\"); child.kill().ok(); }\n";
        assert_eq!(lines(src), vec![2, 3, 4, 6]);
    }

    #[test]
    fn waited_handed_over_or_not_a_command() {
        let src = "use std::process::{Child, Command};\n\
                   fn a() { let mut c = Command::new(\"x\").spawn().unwrap(); c.wait().unwrap(); }\n\
                   fn b() -> Child { let c = Command::new(\"x\").spawn().unwrap(); c }\n\
                   fn c(v: &mut Vec<Child>) { let c = Command::new(\"x\").spawn().unwrap(); v.push(c); }\n\
                   fn d() { Command::new(\"x\").status().unwrap(); Command::new(\"y\").output().unwrap(); }\n\
                   fn e(cmd: &mut Command) { let c = cmd.spawn().unwrap(); reap(c); }\n\
                   fn reap(mut c: Child) { c.wait().ok(); }\n\
                   struct Pool; impl Pool { fn spawn(&self) {} }\n\
                   fn f(p: Pool) { p.spawn(); }\n";
        assert_eq!(lines(src), Vec::<usize>::new());
    }

    #[test]
    fn commands_from_this_files_fns_are_followed() {
        let src = r#"
use std::io;
use std::process::{Command, Output};
struct Runner;
impl Runner {
    fn make_command(&self) -> (Command, Output) { todo!() }
    fn command(&self) -> io::Result<Command> { Ok(Command::new("x")) }
    fn label(&self) -> (String, u8) { todo!() }
    fn lost(&self) -> io::Result<()> {
        let (mut cmd, _) = self.make_command();
        cmd.spawn()?;
        let mut c = self.command()?;
        let child = c.spawn()?;
        Ok(())
    }
    fn waited(&self) -> io::Result<()> {
        let (mut cmd, _) = self.make_command();
        cmd.spawn()?.wait()?;
        let (mut name, _) = self.label();
        name.spawn();
        Ok(())
    }
}
fn make() -> Command { Command::new("y") }
fn free() { let mut c = make(); c.spawn().unwrap(); }
"#;
        assert_eq!(lines(src), [11, 13, 25]);
    }

    #[test]
    fn a_child_given_to_a_closure_that_drops_it_fires() {
        let src = r#"
use std::process::Command;
fn a() -> std::io::Result<()> { Command::new("x").spawn().map(|_| ()) }
fn b() -> std::io::Result<()> { Command::new("x").spawn().map(|_child| ())?; Ok(()) }
fn c() -> std::io::Result<u32> { Command::new("x").spawn().map(|child| child.id()) }
fn d() -> std::io::Result<()> { Command::new("x").spawn().map(drop) }
fn e() -> std::io::Result<()> { Command::new("x").spawn().map(|mut c| { c.wait().ok(); }) }
"#;
        assert_eq!(lines(src), [3, 4, 6]);
    }

    #[test]
    fn the_end_of_main_ends_the_process() {
        let src = r#"
use std::process::Command;
fn main() {
    let _ = Command::new("x").spawn();
    println!("started");
    {
        Command::new("y").spawn().unwrap();
    }
}
mod inner {
    fn main() {
        std::process::Command::new("z").spawn().unwrap();
    }
}
"#;
        // The first runs on while `main` prints; the second is the last thing `main` does;
        // an inner module's `main` is just a fn.
        assert_eq!(lines(src), [4, 12]);
    }

    #[test]
    fn wait_timeout_reaps_when_it_returns_a_status() {
        let src = r#"
use std::process::Command;
use std::time::Duration;
fn a() -> std::io::Result<()> {
    let mut child = Command::new("x").spawn()?;
    match child.wait_timeout(Duration::from_secs(1))? {
        Some(_) => {}
        None => {
            child.kill()?;
            child.wait()?;
        }
    }
    Ok(())
}
fn b() -> std::io::Result<()> {
    let mut child = Command::new("x").spawn()?;
    match child.id() {
        0 => {}
        _ => {
            child.wait()?;
        }
    }
    Ok(())
}
"#;
        assert_eq!(lines(src), [16]);
    }
}
