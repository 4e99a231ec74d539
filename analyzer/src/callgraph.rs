//! The call graph: which fn calls which, from where, with what, and whether on every path.
//!
//! Built in two steps, like every crate-wide fact: [`collect`] runs on the thread that holds a
//! file's syntax tree and turns each fn body into plain [`FnFacts`]; [`CallGraph::build`] links
//! the facts of all files into a petgraph graph once the trees are gone.
//!
//! What a call resolves to (best effort, and never a guess):
//! - paths to free fns, through `use` aliases, globs, `self::`/`super::`/`crate::` (the
//!   [`ItemIndex`]'s resolution), and fns nested in a fn body, by name;
//! - `Self::f(..)`, `Type::f(..)` and `self.f(..)` to the method `f` of that type in the same
//!   crate, when exactly one such method exists (an inherent method wins over trait methods,
//!   as in rustc's method lookup). Two trait impls for one type with a method of the same name
//!   (`From<A>` and `From<B>`) are ambiguous: no edge.
//!
//! What it does not resolve: calls through closures, fn pointers and trait objects, methods
//! on any receiver but `self`, `self` calls in trait default methods (an implementor may
//! override the callee), generic calls (`T::f()`), and calls inside macro invocations. A name
//! bound as a local (a parameter or `let` holding a closure) is never taken for a fn.
//!
//! A call is *certain* when every path through its fn makes it before the fn returns: a
//! forward must-analysis over the body's structure, where `return`, `?`, panicking macros
//! and unknown macros (which may hide a `return`) are ways out, branches meet, and closures
//! and async blocks run later (their calls are never certain).

use std::collections::{BTreeMap, HashMap, HashSet};

use petgraph::graph::{DiGraph, NodeIndex};
use syn::visit::Visit;
use syn::{Expr, Stmt};

use crate::consteval::ConstExpr;
use crate::index::{flatten_use, Import, ItemId, ItemIndex, ItemKind, ModuleId, Resolution};
use crate::lint::{FactSource, FileContext};
use crate::span::Span;
use crate::syntax::segment_names;

/// Threads spawned by std get this much stack unless `Builder::stack_size` says otherwise.
pub const SPAWNED_STACK: u64 = 2 << 20;
/// The main thread's stack on Linux (and what Windows and macOS give, or less).
pub const MAIN_STACK: u64 = 8 << 20;
/// A thread or task whose stack size the analysis cannot tell.
pub const UNKNOWN_STACK: u64 = u64::MAX;

/// One fn (or method) body of a file.
#[derive(Debug)]
pub struct FnFacts {
    pub name: String,
    /// The fn's name where it is defined; also its identity (an index item's span).
    pub def: Span,
    pub module: ModuleId,
    pub params: Vec<Param>,
    pub calls: Vec<CallSite>,
    /// `(param, n)` for every comparison of a parameter with an integer literal `n`
    /// (`n == 0`, `n <= 1`, `match n { 0 => .. }`): candidate base cases.
    pub literal_tests: Vec<(usize, u128)>,
    /// Whether the body can be seen at all (trait methods without a default have none).
    pub has_body: bool,
    /// An `async fn`: calling it only builds a future, so it never recurses on the stack.
    pub is_async: bool,
    /// An attribute on the fn that gomem does not know to keep its body as written (an
    /// attribute macro: `#[salsa::tracked]` turns a call to the fn into a memoized query),
    /// so what the body calls may not be what it shows.
    pub rewritten_by: Option<String>,
}

#[derive(Debug)]
pub struct Param {
    /// The binding, for a plain `name: Type` parameter.
    pub name: Option<String>,
    /// A lower bound of its size in bytes, when known.
    pub size: Option<u64>,
    /// Whether the body assigns to or shadows it, so that its value at a call is unknown.
    pub rebound: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Callee {
    Item(ItemId),
    /// A fn nested in a fn body, by its definition's name span.
    Nested(Span),
    /// The method `name` of the type `self_ty`, called from module `from`.
    Method {
        self_ty: String,
        name: String,
        from: ModuleId,
    },
}

#[derive(Debug)]
pub struct CallSite {
    pub callee: Callee,
    /// The callee's path or method name.
    pub span: Span,
    /// The whole call expression.
    pub expr: Span,
    pub args: Vec<Arg>,
    pub certain: bool,
    /// The stack of the thread the call runs on, when the analysis can tell (a closure given
    /// to `thread::spawn`, a `#[test]`); `None` means the main thread or unknown.
    pub stack: Option<u64>,
}

/// What an argument is, for the depth estimate of a recursion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg {
    Int(u128),
    /// `p - k`: the caller's parameter `p` minus a literal.
    ParamMinus(usize, u128),
    Other,
}

/// The call sites of every fn body, for the lints that judge the call graph.
pub static FACTS: FactSource = FactSource {
    name: "callgraph",
    collect: |cx| Box::new(collect(cx)),
};

/// The facts of every fn body in one file.
pub fn collect(cx: &FileContext<'_>) -> Vec<FnFacts> {
    let mut c = Collector {
        cx,
        module: cx.module,
        self_ty: None,
        in_trait: false,
        trait_impl: false,
        fn_name: None,
        nested: Vec::new(),
        imports: Vec::new(),
        out: Vec::new(),
    };
    c.items(&cx.syntax.items);
    c.out
}

struct Collector<'a> {
    cx: &'a FileContext<'a>,
    module: ModuleId,
    /// The self type of the enclosing `impl` (last path segment).
    self_ty: Option<String>,
    in_trait: bool,
    /// Inside `impl Trait for T`: a call from method `m` to an `m` of the same type may go to
    /// an inherent `m` (which wins over the trait's) or to another impl of a generic trait
    /// (`impl PartialEq<char> for T { fn eq(..) { self.eq(&T::from(c)) } }`), which names do
    /// not tell apart. Such calls are left out; rustc's `unconditional_recursion`, which sees
    /// the types, reports the true ones.
    trait_impl: bool,
    /// The fn whose body is being collected.
    fn_name: Option<String>,
    /// Fns declared in the enclosing blocks, innermost last: nested fns by their definition,
    /// foreign fns (which we cannot follow) as `None`.
    nested: Vec<(String, Option<Span>)>,
    /// `use` items of the enclosing blocks.
    imports: Vec<Import>,
    out: Vec<FnFacts>,
}

impl Collector<'_> {
    fn span(&self, node: &impl syn::spanned::Spanned) -> Span {
        Span::of_tokens(self.cx.file, node)
    }

    fn items(&mut self, items: &[syn::Item]) {
        for item in items {
            match item {
                syn::Item::Fn(f) => self.body_fn(&f.attrs, &f.sig, Some(&f.block)),
                syn::Item::Impl(imp) => {
                    let outer = std::mem::replace(
                        &mut self.self_ty,
                        match &*imp.self_ty {
                            syn::Type::Path(p) => {
                                p.path.segments.last().map(|s| s.ident.to_string())
                            }
                            _ => None,
                        },
                    );
                    let outer_trait = std::mem::replace(&mut self.trait_impl, imp.trait_.is_some());
                    for it in &imp.items {
                        if let syn::ImplItem::Fn(f) = it {
                            let outer_fn = self.fn_name.replace(f.sig.ident.to_string());
                            self.body_fn(&f.attrs, &f.sig, Some(&f.block));
                            self.fn_name = outer_fn;
                        }
                    }
                    self.trait_impl = outer_trait;
                    self.self_ty = outer;
                }
                syn::Item::Trait(t) => {
                    let outer = std::mem::replace(&mut self.in_trait, true);
                    for it in &t.items {
                        if let syn::TraitItem::Fn(f) = it {
                            self.body_fn(&f.attrs, &f.sig, f.default.as_ref());
                        }
                    }
                    self.in_trait = outer;
                }
                syn::Item::Mod(m) => {
                    if let Some((_, content)) = &m.content {
                        let outer = self.module;
                        self.module = self.cx.inner_module(outer, m);
                        self.items(content);
                        self.module = outer;
                    }
                }
                _ => {}
            }
        }
    }

    fn body_fn(
        &mut self,
        attrs: &[syn::Attribute],
        sig: &syn::Signature,
        body: Option<&syn::Block>,
    ) {
        let mut params = Vec::new();
        let mut bound = HashSet::new();
        for input in &sig.inputs {
            match input {
                syn::FnArg::Receiver(_) => params.push(Param {
                    name: None,
                    size: Some(8),
                    rebound: false,
                }),
                syn::FnArg::Typed(t) => {
                    let name = match &*t.pat {
                        syn::Pat::Ident(i) if i.subpat.is_none() => Some(i.ident.to_string()),
                        _ => None,
                    };
                    bind_names(&t.pat, &mut bound);
                    params.push(Param {
                        name,
                        size: param_size(&t.ty),
                        rebound: false,
                    });
                }
            }
        }
        let mut facts = FnFacts {
            name: sig.ident.to_string(),
            def: self.span(&sig.ident),
            module: self.module,
            params,
            calls: Vec::new(),
            literal_tests: Vec::new(),
            has_body: body.is_some(),
            is_async: sig.asyncness.is_some(),
            rewritten_by: rewriting_attribute(attrs),
        };
        let Some(body) = body else {
            self.out.push(facts);
            return;
        };
        let is_test = attrs
            .iter()
            .any(|a| a.path().segments.last().is_some_and(|s| s.ident == "test"));
        let nested_before = self.nested.len();
        let imports_before = self.imports.len();
        let mut flow = Flow {
            c: self,
            facts: &mut facts,
            bound: &bound,
            body,
            locals: std::cell::OnceCell::new(),
            cur: Some(Must::new()),
            exits: None,
            loops: Vec::new(),
            stack: is_test.then_some(SPAWNED_STACK),
            nested_bodies: Vec::new(),
            callees: HashMap::new(),
        };
        flow.block(body);
        let end = meet(flow.exits.take(), flow.cur.take());
        let nested_bodies = std::mem::take(&mut flow.nested_bodies);
        if let Some(locals) = flow.locals.take() {
            for p in &mut facts.params {
                if let Some(n) = &p.name {
                    p.rebound = locals.names.contains(n) || locals.assigned.contains(n);
                }
            }
        }
        for idxs in end.unwrap_or_default().into_values() {
            for i in idxs {
                facts.calls[i].certain = true;
            }
        }
        self.out.push(facts);
        // Fns nested in the body are fns of their own, which see the same nested names.
        for f in nested_bodies {
            self.body_fn(&f.attrs, &f.sig, Some(&f.block));
        }
        self.nested.truncate(nested_before);
        self.imports.truncate(imports_before);
    }
}

/// Attributes that leave a fn's body as written: rustc's built-in attributes that may sit on
/// a fn, and attribute macros known to keep the body's calls (`tracing::instrument`,
/// `tokio::main` and the test harnesses' `test`). Matched by the last segment of the path.
const BODY_KEEPING_ATTRIBUTES: &[&str] = &[
    "allow",
    "warn",
    "deny",
    "forbid",
    "expect",
    "cfg",
    "cfg_attr",
    "doc",
    "inline",
    "cold",
    "must_use",
    "track_caller",
    "deprecated",
    "no_mangle",
    "export_name",
    "link_section",
    "link_name",
    "target_feature",
    "unsafe",
    "optimize",
    "coverage",
    "automatically_derived",
    "inherent",
    "test",
    "bench",
    "ignore",
    "should_panic",
    "main",
    "instrument",
    "escape",
];

/// Tools whose attributes (`#[rustfmt::skip]`, `#[clippy::..]`, `#[gomem::allow]`) only
/// speak to the tool.
const TOOL_ATTRIBUTE_NAMESPACES: &[&str] = &["rustfmt", "clippy", "gomem", "rust_analyzer"];

/// The first attribute of `attrs` that may rewrite the fn's body, by its path.
fn rewriting_attribute(attrs: &[syn::Attribute]) -> Option<String> {
    attrs.iter().find_map(|a| {
        let path = a.path();
        let first = path.segments.first()?.ident.to_string();
        let last = path.segments.last()?.ident.to_string();
        let keeps = TOOL_ATTRIBUTE_NAMESPACES.contains(&first.as_str())
            || BODY_KEEPING_ATTRIBUTES.contains(&last.as_str());
        (!keeps).then(|| segment_names(path).join("::"))
    })
}

/// Calls certain on the current path: callee (interned, see [`Flow::callees`]) -> the call
/// sites (indices into `calls`) that make it. Branches meet by keeping the callees all of
/// them call.
type Must = BTreeMap<u32, Vec<usize>>;

fn meet(a: Option<Must>, b: Option<Must>) -> Option<Must> {
    match (a, b) {
        (None, x) | (x, None) => x,
        (Some(a), Some(mut b)) => Some(
            a.into_iter()
                .filter_map(|(k, mut v)| {
                    let w = b.remove(&k)?;
                    // Both sides often share the calls made before they split.
                    v.extend(w);
                    v.sort_unstable();
                    v.dedup();
                    Some((k, v))
                })
                .collect(),
        ),
    }
}

struct LoopFrame {
    label: Option<String>,
    /// Meet of the paths that `break` out of it.
    breaks: Option<Must>,
}

/// The must-analysis of one body. `cur` is the set of calls certain on the path being
/// followed (`None`: unreachable); `exits` the meet over the paths that left the fn.
struct Flow<'c, 'a> {
    c: &'c mut Collector<'a>,
    facts: &'c mut FnFacts,
    /// The names the parameters' patterns bind.
    bound: &'c HashSet<String>,
    body: &'c syn::Block,
    /// The names bound anywhere in the body, computed on first need (most bodies never ask):
    /// a call through one of them is not a fn call, and a parameter bound again is not the
    /// parameter any more.
    locals: std::cell::OnceCell<Bindings>,
    cur: Option<Must>,
    exits: Option<Must>,
    loops: Vec<LoopFrame>,
    stack: Option<u64>,
    /// Fns nested in the body, collected once it is done (cloned: they are rare).
    nested_bodies: Vec<syn::ItemFn>,
    /// Interned callees, so that the sets cloned at every branch hold plain numbers.
    callees: HashMap<Callee, u32>,
}

/// Macros whose arguments are comma-separated expressions, all evaluated.
const FORMAT_MACROS: &[&str] = &[
    "println", "print", "eprintln", "eprint", "format", "write", "writeln", "dbg",
];
const PANICKING_MACROS: &[&str] = &["panic", "unreachable", "todo", "unimplemented"];
/// Macros that neither leave the fn nor panic, and whose arguments we do not look into.
const PLAIN_MACROS: &[&str] = &[
    "println",
    "print",
    "eprintln",
    "eprint",
    "format",
    "format_args",
    "write",
    "writeln",
    "vec",
    "matches",
    "dbg",
    "concat",
    "stringify",
    "include_str",
    "include_bytes",
    "env",
    "option_env",
    "line",
    "column",
    "file",
    "module_path",
    "cfg",
    "debug",
    "info",
    "warn",
    "error",
    "trace",
    "log",
];

impl Flow<'_, '_> {
    fn exit_here(&mut self) {
        self.exits = meet(self.exits.take(), self.cur.clone());
    }

    fn block(&mut self, block: &syn::Block) {
        // Nested fns and `use`s stay visible until the end of the fn body, so that the nested
        // fns (collected after it) see them too.
        for stmt in &block.stmts {
            match stmt {
                Stmt::Item(syn::Item::Fn(f)) => {
                    let def = self.c.span(&f.sig.ident);
                    self.c.nested.push((f.sig.ident.to_string(), Some(def)));
                    self.nested_bodies.push(f.clone());
                }
                Stmt::Item(syn::Item::Use(u)) => {
                    flatten_use(&u.tree, &mut Vec::new(), &mut self.c.imports)
                }
                // `extern "C" { fn same_name(); }` inside a wrapper of the same name.
                Stmt::Item(syn::Item::ForeignMod(f)) => {
                    for it in &f.items {
                        if let syn::ForeignItem::Fn(ff) = it {
                            self.c.nested.push((ff.sig.ident.to_string(), None));
                        }
                    }
                }
                _ => {}
            }
        }
        for stmt in &block.stmts {
            match stmt {
                Stmt::Local(local) => {
                    if let Some(init) = &local.init {
                        self.expr(&init.expr);
                        if let Some((_, diverge)) = &init.diverge {
                            let save = self.cur.clone();
                            self.expr(diverge);
                            self.cur = save;
                        }
                    }
                }
                Stmt::Expr(e, _) => self.expr(e),
                Stmt::Macro(m) => self.mac(&m.mac),
                Stmt::Item(_) => {}
            }
        }
    }

    /// A body that runs later, or not at all (closure, async block): its calls are recorded
    /// but never certain, and its `return`s leave only itself.
    fn deferred(&mut self, body: &Expr, stack: Option<u64>) {
        let cur = self.cur.take();
        let exits = self.exits.take();
        let loops = std::mem::take(&mut self.loops);
        let inner_stack = stack.or(self.stack);
        let outer_stack = std::mem::replace(&mut self.stack, inner_stack);
        self.expr(body);
        self.stack = outer_stack;
        self.loops = loops;
        self.exits = exits;
        self.cur = cur;
    }

    fn expr(&mut self, e: &Expr) {
        match e {
            Expr::Call(call) => {
                self.expr(&call.func);
                let spawned = self.spawned_closure(&call.func, call.args.iter());
                self.args(call.args.iter(), spawned);
                if let Expr::Path(p) = &*call.func {
                    if let Some(callee) = self.resolve_fn(&p.path) {
                        let args = call.args.iter().map(|a| self.arg(a)).collect();
                        self.record(callee, self.c.span(&call.func), self.c.span(call), args);
                    }
                }
            }
            Expr::MethodCall(mc) => {
                self.expr(&mc.receiver);
                let spawned = self.spawned_method(mc);
                self.args(mc.args.iter(), spawned);
                if is_self(&mc.receiver) && !self.c.in_trait {
                    if let Some(self_ty) = self.c.self_ty.clone() {
                        let callee = Callee::Method {
                            self_ty,
                            name: mc.method.to_string(),
                            from: self.c.module,
                        };
                        // The receiver is the first argument of the method.
                        let args = std::iter::once(Arg::Other)
                            .chain(mc.args.iter().map(|a| self.arg(a)))
                            .collect();
                        self.record(callee, self.c.span(&mc.method), self.c.span(mc), args);
                    }
                }
            }
            Expr::Closure(cl) => self.deferred(&cl.body, None),
            Expr::Async(a) => {
                let body: &syn::Block = &a.block;
                let cur = self.cur.take();
                let exits = self.exits.take();
                let loops = std::mem::take(&mut self.loops);
                self.block(body);
                self.loops = loops;
                self.exits = exits;
                self.cur = cur;
            }
            Expr::Return(r) => {
                if let Some(v) = &r.expr {
                    self.expr(v);
                }
                self.exit_here();
                self.cur = None;
            }
            Expr::Try(t) => {
                self.expr(&t.expr);
                self.exit_here();
            }
            Expr::If(i) => {
                self.expr(&i.cond);
                match &i.else_branch {
                    Some((_, els)) => {
                        let then = &i.then_branch;
                        let save = self.cur.clone();
                        self.block(then);
                        let after_then = self.cur.take();
                        self.cur = save;
                        self.expr(els);
                        let after_else = self.cur.take();
                        self.cur = meet(after_then, after_else);
                    }
                    None => {
                        let save = self.cur.clone();
                        self.block(&i.then_branch);
                        self.cur = meet(save, self.cur.take());
                    }
                }
            }
            Expr::Match(m) => {
                self.expr(&m.expr);
                let save = self.cur.clone();
                let mut out: Option<Option<Must>> = None;
                for arm in &m.arms {
                    self.cur = save.clone();
                    if let syn::Pat::Guard(g) = &arm.pat {
                        self.expr(&g.guard);
                    }
                    self.expr(&arm.body);
                    let here = self.cur.take();
                    out = Some(match out {
                        None => here,
                        Some(acc) => meet(acc, here),
                    });
                }
                // `match x {}` on an empty type does not continue.
                self.cur = out.unwrap_or(None);
                self.literal_tests_in_match(m);
            }
            Expr::While(w) => {
                self.expr(&w.cond);
                let save = self.cur.clone();
                self.loop_body(w.label.as_ref(), &w.body);
                self.cur = save;
            }
            Expr::ForLoop(f) => {
                self.expr(&f.expr);
                let save = self.cur.clone();
                self.loop_body(f.label.as_ref(), &f.body);
                self.cur = save;
            }
            Expr::Loop(l) => {
                let breaks = self.loop_body(l.label.as_ref(), &l.body);
                // The path that never leaves the loop stops recursing too: it counts as a way
                // out with what one turn of the body certainly called.
                self.exit_here();
                self.cur = breaks;
            }
            Expr::Break(b) => {
                if let Some(v) = &b.expr {
                    self.expr(v);
                }
                let label = b.label.as_ref().map(|l| l.ident.to_string());
                let cur = self.cur.take();
                let frame = match &label {
                    Some(l) => self
                        .loops
                        .iter_mut()
                        .rev()
                        .find(|f| f.label.as_deref() == Some(l)),
                    None => self.loops.last_mut(),
                };
                if let Some(frame) = frame {
                    frame.breaks = meet(frame.breaks.take(), cur);
                }
            }
            Expr::Continue(_) => self.cur = None,
            Expr::Binary(b) => {
                self.expr(&b.left);
                if matches!(b.op, syn::BinOp::And(_) | syn::BinOp::Or(_)) {
                    let save = self.cur.clone();
                    self.expr(&b.right);
                    self.cur = meet(save, self.cur.take());
                } else {
                    self.expr(&b.right);
                }
                self.literal_test(b);
            }
            Expr::Assign(a) => {
                self.expr(&a.right);
                self.expr(&a.left);
            }
            Expr::Block(b) => self.block(&b.block),
            Expr::Unsafe(u) => self.block(&u.block),
            Expr::Const(_) => {}
            Expr::Macro(m) => self.mac(&m.mac),
            Expr::Let(l) => self.expr(&l.expr),
            Expr::Array(a) => a.elems.iter().for_each(|x| self.expr(x)),
            Expr::Tuple(t) => t.elems.iter().for_each(|x| self.expr(x)),
            Expr::Struct(s) => {
                for f in &s.fields {
                    self.expr(&f.expr);
                }
                if let Some(rest) = &s.rest {
                    self.expr(rest);
                }
            }
            Expr::Await(a) => self.expr(&a.base),
            Expr::Cast(c) => self.expr(&c.expr),
            Expr::Field(f) => self.expr(&f.base),
            Expr::Group(g) => self.expr(&g.expr),
            Expr::Paren(p) => self.expr(&p.expr),
            Expr::Index(i) => {
                self.expr(&i.expr);
                self.expr(&i.index);
            }
            Expr::Range(r) => {
                if let Some(s) = &r.start {
                    self.expr(s);
                }
                if let Some(s) = &r.end {
                    self.expr(s);
                }
            }
            Expr::Reference(r) => self.expr(&r.expr),
            Expr::RawAddr(r) => self.expr(&r.expr),
            Expr::Repeat(r) => self.expr(&r.expr),
            Expr::Unary(u) => self.expr(&u.expr),
            Expr::Yield(y) => {
                if let Some(v) = &y.expr {
                    self.expr(v);
                }
            }
            // Expressions that cannot call anything, and syntax we do not model (`try`
            // blocks, verbatim tokens): nothing certain, no way out assumed.
            _ => {}
        }
    }

    /// Arguments, in order; a closure given to a spawned thread runs on that thread's stack.
    fn args<'e>(&mut self, args: impl Iterator<Item = &'e Expr>, spawned: Option<u64>) {
        for a in args {
            match (a, spawned) {
                (Expr::Closure(cl), Some(stack)) => self.deferred(&cl.body, Some(stack)),
                _ => self.expr(a),
            }
        }
    }

    fn loop_body(&mut self, label: Option<&syn::Label>, body: &syn::Block) -> Option<Must> {
        self.loops.push(LoopFrame {
            label: label.map(|l| l.name.ident.to_string()),
            breaks: None,
        });
        self.block(body);
        self.loops.pop().and_then(|f| f.breaks)
    }

    fn mac(&mut self, mac: &syn::Macro) {
        let Some(name) = mac.path.segments.last().map(|s| s.ident.to_string()) else {
            return;
        };
        if FORMAT_MACROS.contains(&name.as_str()) {
            // `println!("{}", f(x))`: the arguments are expressions, evaluated in order.
            let parser = syn::punctuated::Punctuated::<Expr, syn::Token![,]>::parse_terminated;
            if let Ok(args) = mac.parse_body_with(parser) {
                for a in &args {
                    self.expr(a);
                }
            }
        } else if PANICKING_MACROS.contains(&name.as_str()) {
            self.exit_here();
            self.cur = None;
        } else if !PLAIN_MACROS.contains(&name.as_str()) {
            // `assert!` may panic, `bail!`/`try!`/`ensure!` may return: a way out, and then
            // the path goes on.
            self.exit_here();
        }
    }

    fn record(&mut self, callee: Callee, span: Span, expr: Span, args: Vec<Arg>) {
        if let Callee::Method { name, .. } = &callee {
            if self.c.trait_impl && self.c.fn_name.as_ref() == Some(name) {
                return;
            }
        }
        let i = self.facts.calls.len();
        self.facts.calls.push(CallSite {
            callee: callee.clone(),
            span,
            expr,
            args,
            certain: false,
            stack: self.stack,
        });
        let next = self.callees.len() as u32;
        let id = *self.callees.entry(callee).or_insert(next);
        if let Some(cur) = &mut self.cur {
            cur.entry(id).or_default().push(i);
        }
    }

    fn resolve_fn(&self, path: &syn::Path) -> Option<Callee> {
        let last = path.segments.last()?.ident.to_string();
        // Most calls go to other crates (`Some`, `Vec::new`, `format_args`...): a name that
        // no fn, method or nested fn of ours has cannot be ours.
        if !self.c.cx.index.callable_names().contains(&last)
            && !self.c.nested.iter().any(|(n, _)| *n == last)
        {
            return None;
        }
        let segs = segment_names(path);
        if let [name] = segs.as_slice() {
            if path.leading_colon.is_none() {
                if self.bound.contains(name) || self.locals().names.contains(name) {
                    return None;
                }
                if let Some((_, def)) = self.c.nested.iter().rev().find(|(n, _)| n == name) {
                    return def.map(Callee::Nested);
                }
            }
        }
        if let [first, name] = segs.as_slice() {
            if first == "Self" {
                return Some(Callee::Method {
                    self_ty: self.c.self_ty.clone()?,
                    name: name.clone(),
                    from: self.c.module,
                })
                .filter(|_| !self.c.in_trait);
            }
        }
        let index = self.c.cx.index;
        match index.resolve_path(self.c.module, &self.c.imports, path) {
            Resolution::Local(item) => {
                let it = index.item(item);
                match it.kind {
                    // `f(..)`, `alias(..)`, `m::f(..)`; not `f::something` past the fn, nor
                    // `glob::glob(..)` of a crate `glob` that the resolver took for our `glob`.
                    ItemKind::Fn
                        if segs.len() == 1
                            || (it.name == *segs.last()? && self.prefix_is_module(path)) =>
                    {
                        Some(Callee::Item(item))
                    }
                    ItemKind::Struct | ItemKind::Enum | ItemKind::Union
                        if segs.len() >= 2 && it.name == segs[segs.len() - 2] =>
                    {
                        Some(Callee::Method {
                            self_ty: it.name.clone(),
                            name: segs.last()?.clone(),
                            from: self.c.module,
                        })
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// Whether all of `path` but its last segment names one of our modules.
    fn prefix_is_module(&self, path: &syn::Path) -> bool {
        let mut prefix = path.clone();
        prefix.segments.pop();
        prefix.segments.pop_punct();
        if prefix.segments.is_empty() {
            return path.leading_colon.is_none();
        }
        matches!(
            self.c
                .cx
                .index
                .resolve_path(self.c.module, &self.c.imports, &prefix),
            Resolution::Module(_)
        )
    }

    fn arg(&self, e: &Expr) -> Arg {
        match peel(e) {
            Expr::Lit(l) => int_lit(&l.lit).map_or(Arg::Other, Arg::Int),
            Expr::Binary(b) if matches!(b.op, syn::BinOp::Sub(_)) => {
                match (self.param_of(&b.left), peel(&b.right)) {
                    (Some(p), Expr::Lit(l)) => int_lit(&l.lit)
                        .filter(|k| *k > 0)
                        .map_or(Arg::Other, |k| Arg::ParamMinus(p, k)),
                    _ => Arg::Other,
                }
            }
            _ => Arg::Other,
        }
    }

    /// The index of the parameter `e` names, if it is one that keeps its value.
    fn param_of(&self, e: &Expr) -> Option<usize> {
        let Expr::Path(p) = peel(e) else { return None };
        let ident = p.path.get_ident()?;
        let i = self
            .facts
            .params
            .iter()
            .position(|q| q.name.as_deref().is_some_and(|n| ident == n))?;
        let name = self.facts.params[i].name.as_deref()?;
        let locals = self.locals();
        (!locals.names.contains(name) && !locals.assigned.contains(name)).then_some(i)
    }

    fn locals(&self) -> &Bindings {
        self.locals.get_or_init(|| {
            let mut b = Bindings::default();
            b.visit_block(self.body);
            b
        })
    }

    fn literal_test(&mut self, b: &syn::ExprBinary) {
        use syn::BinOp::*;
        if !matches!(b.op, Eq(_) | Lt(_) | Le(_) | Gt(_) | Ge(_)) {
            return;
        }
        let pair = match (peel(&b.left), peel(&b.right)) {
            (x, Expr::Lit(l)) | (Expr::Lit(l), x) => self.param_of(x).zip(int_lit(&l.lit)),
            _ => None,
        };
        if let Some(t) = pair {
            self.facts.literal_tests.push(t);
        }
    }

    fn literal_tests_in_match(&mut self, m: &syn::ExprMatch) {
        let Some(p) = self.param_of(&m.expr) else {
            return;
        };
        for arm in &m.arms {
            let mut pats = vec![match &arm.pat {
                syn::Pat::Guard(g) => &*g.pat,
                p => p,
            }];
            while let Some(pat) = pats.pop() {
                match pat {
                    syn::Pat::Lit(l) => {
                        if let Some(n) = int_lit(&l.lit) {
                            self.facts.literal_tests.push((p, n));
                        }
                    }
                    syn::Pat::Or(o) => pats.extend(o.cases.iter()),
                    syn::Pat::Range(r) => {
                        for end in [&r.start, &r.end].into_iter().flatten() {
                            if let Expr::Lit(l) = &**end {
                                if let Some(n) = int_lit(&l.lit) {
                                    self.facts.literal_tests.push((p, n));
                                }
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// For `thread::spawn(closure)`: the stack the closure runs on.
    fn spawned_closure<'e>(
        &self,
        func: &Expr,
        mut args: impl Iterator<Item = &'e Expr>,
    ) -> Option<u64> {
        let Expr::Path(p) = func else { return None };
        let name = p.path.segments.last()?.ident.to_string();
        if !name.contains("spawn") || !args.any(|a| matches!(a, Expr::Closure(_))) {
            return None;
        }
        match self
            .c
            .cx
            .index
            .resolve_path(self.c.module, &self.c.imports, &p.path)
        {
            Resolution::External(path) if path == ["std", "thread", "spawn"] => Some(SPAWNED_STACK),
            // Some other thread or task, with a stack we do not know.
            _ => Some(UNKNOWN_STACK),
        }
    }

    /// For `thread::Builder::new()....spawn(closure)`: the stack the closure runs on.
    fn spawned_method(&self, mc: &syn::ExprMethodCall) -> Option<u64> {
        if !mc.method.to_string().contains("spawn")
            || !mc.args.iter().any(|a| matches!(a, Expr::Closure(_)))
        {
            return None;
        }
        if mc.method != "spawn" {
            return Some(UNKNOWN_STACK);
        }
        let mut stack = None;
        let mut e = &*mc.receiver;
        loop {
            match e {
                Expr::MethodCall(inner) => {
                    if inner.method == "stack_size" && stack.is_none() {
                        let index = self.c.cx.index;
                        stack = inner.args.first().and_then(|a| {
                            let value = index.eval(self.c.module, &ConstExpr::from_syn(a))?;
                            u64::try_from(value).ok()
                        });
                        // A size we cannot read: we cannot judge what runs there.
                        stack.get_or_insert(UNKNOWN_STACK);
                    }
                    e = &inner.receiver;
                }
                Expr::Call(c) => {
                    let Expr::Path(p) = &*c.func else { return None };
                    let res = self
                        .c
                        .cx
                        .index
                        .resolve_path(self.c.module, &self.c.imports, &p.path);
                    return match res {
                        Resolution::External(path)
                            if path == ["std", "thread", "Builder", "new"] =>
                        {
                            Some(stack.unwrap_or(SPAWNED_STACK))
                        }
                        _ => Some(UNKNOWN_STACK),
                    };
                }
                // `builder.spawn(..)`, `scope.spawn(..)`, `pool.spawn(..)`: another thread.
                _ => return Some(UNKNOWN_STACK),
            }
        }
    }
}

/// `self` or `(self)`; not `self as &Self`, which calls another impl's method.
fn is_self(e: &Expr) -> bool {
    match e {
        Expr::Paren(p) => is_self(&p.expr),
        Expr::Group(g) => is_self(&g.expr),
        Expr::Path(p) => p.path.is_ident("self"),
        _ => false,
    }
}

fn peel(mut e: &Expr) -> &Expr {
    loop {
        match e {
            Expr::Paren(p) => e = &p.expr,
            Expr::Group(g) => e = &g.expr,
            Expr::Cast(c) => e = &c.expr,
            _ => return e,
        }
    }
}

fn int_lit(l: &syn::Lit) -> Option<u128> {
    match l {
        syn::Lit::Int(i) => i.base10_parse().ok(),
        _ => None,
    }
}

fn param_size(ty: &syn::Type) -> Option<u64> {
    match ty {
        syn::Type::Path(p) => crate::layout::primitive_size(&p.path.get_ident()?.to_string()),
        syn::Type::Reference(_) | syn::Type::Ptr(_) => Some(8),
        _ => None,
    }
}

fn bind_names(pat: &syn::Pat, out: &mut HashSet<String>) {
    struct V<'o>(&'o mut HashSet<String>);
    impl Visit<'_> for V<'_> {
        fn visit_pat_ident(&mut self, i: &syn::PatIdent) {
            self.0.insert(i.ident.to_string());
            syn::visit::visit_pat_ident(self, i);
        }
    }
    V(out).visit_pat(pat);
}

/// The names a body binds (patterns of `let`, closures, `match` arms, `for`...) and assigns.
#[derive(Default)]
struct Bindings {
    names: HashSet<String>,
    assigned: HashSet<String>,
}

impl Visit<'_> for Bindings {
    fn visit_pat_ident(&mut self, i: &syn::PatIdent) {
        self.names.insert(i.ident.to_string());
        syn::visit::visit_pat_ident(self, i);
    }
    fn visit_expr_assign(&mut self, a: &syn::ExprAssign) {
        if let Expr::Path(p) = &*a.left {
            if let Some(i) = p.path.get_ident() {
                self.assigned.insert(i.to_string());
            }
        }
        syn::visit::visit_expr_assign(self, a);
    }
    fn visit_expr_binary(&mut self, b: &syn::ExprBinary) {
        use syn::BinOp::*;
        if matches!(
            b.op,
            AddAssign(_)
                | SubAssign(_)
                | MulAssign(_)
                | DivAssign(_)
                | RemAssign(_)
                | ShlAssign(_)
                | ShrAssign(_)
                | BitAndAssign(_)
                | BitOrAssign(_)
                | BitXorAssign(_)
        ) {
            if let Expr::Path(p) = &*b.left {
                if let Some(i) = p.path.get_ident() {
                    self.assigned.insert(i.to_string());
                }
            }
        }
        syn::visit::visit_expr_binary(self, b);
    }
    // Nested fns have their own bindings.
    fn visit_item_fn(&mut self, _: &syn::ItemFn) {}
}

/// The call graph of the whole workspace: one node per fn body, one edge per resolved call.
pub struct CallGraph<'f> {
    pub graph: DiGraph<FnRef, CallRef>,
    pub fns: Vec<&'f FnFacts>,
}

/// A node: the index of its fn in [`CallGraph::fns`].
#[derive(Clone, Copy, Debug)]
pub struct FnRef(pub usize);

/// An edge: the call site `fns[caller].calls[call]`.
#[derive(Clone, Copy, Debug)]
pub struct CallRef {
    pub call: usize,
}

impl<'f> CallGraph<'f> {
    pub fn build(index: &ItemIndex, fns: Vec<&'f FnFacts>) -> CallGraph<'f> {
        let mut graph = DiGraph::with_capacity(fns.len(), fns.len());
        let mut by_def: HashMap<Span, NodeIndex> = HashMap::with_capacity(fns.len());
        for (i, f) in fns.iter().enumerate() {
            let n = graph.add_node(FnRef(i));
            by_def.insert(f.def, n);
        }
        let methods = MethodTable::new(index);
        for (i, f) in fns.iter().enumerate() {
            let from = NodeIndex::new(i);
            for (ci, call) in f.calls.iter().enumerate() {
                let def = match &call.callee {
                    Callee::Item(item) => Some(index.item(*item).span),
                    Callee::Nested(span) => Some(*span),
                    Callee::Method {
                        self_ty,
                        name,
                        from,
                    } => methods.find(index, self_ty, name, *from),
                };
                if let Some(&to) = def.as_ref().and_then(|d| by_def.get(d)) {
                    // Calling an async fn builds a future; its body runs when polled, on
                    // whatever stack polls it: not a call on this stack.
                    if !fns[to.index()].is_async {
                        graph.add_edge(from, to, CallRef { call: ci });
                    }
                }
            }
        }
        CallGraph { graph, fns }
    }

    pub fn fn_of(&self, n: NodeIndex) -> &'f FnFacts {
        self.fns[self.graph[n].0]
    }
}

/// Methods by type and name, for `Self::f`, `Type::f` and `self.f()`.
struct MethodTable {
    by_name: HashMap<(String, String), Vec<ItemId>>,
    /// The types each crate defines (by crate root), which are the only ones whose
    /// inherent methods we all see.
    local_types: HashSet<(ModuleId, String)>,
}

impl MethodTable {
    fn new(index: &ItemIndex) -> MethodTable {
        let mut by_name: HashMap<(String, String), Vec<ItemId>> = HashMap::new();
        let mut local_types = HashSet::new();
        for (i, item) in index.items.iter().enumerate() {
            match &item.kind {
                ItemKind::Method { self_ty, .. } => by_name
                    .entry((self_ty.clone(), item.name.clone()))
                    .or_default()
                    .push(ItemId(i as u32)),
                ItemKind::Struct | ItemKind::Enum | ItemKind::Union => {
                    local_types.insert((index.crate_root(item.module), item.name.clone()));
                }
                _ => {}
            }
        }
        MethodTable {
            by_name,
            local_types,
        }
    }

    /// The one method `name` of `self_ty` in the crate of `from`: the inherent one if there is
    /// one, else the only trait method; `None` when ambiguous. The type must be the crate's
    /// own: a foreign type (`f32`, `Option<T>`, a type parameter) may have an inherent method
    /// of that name which we cannot see, and which `self.name()` would call first.
    fn find(&self, index: &ItemIndex, self_ty: &str, name: &str, from: ModuleId) -> Option<Span> {
        let krate = index.crate_root(from);
        if !self.local_types.contains(&(krate, self_ty.to_string())) {
            return None;
        }
        let candidates: Vec<&crate::index::Item> = self
            .by_name
            .get(&(self_ty.to_string(), name.to_string()))?
            .iter()
            .map(|&id| index.item(id))
            .filter(|it| index.crate_root(it.module) == krate)
            .collect();
        let inherent: Vec<_> = candidates
            .iter()
            .filter(|it| matches!(&it.kind, ItemKind::Method { trait_: None, .. }))
            .collect();
        match (inherent.as_slice(), candidates.as_slice()) {
            ([one], _) => Some(one.span),
            ([], [one]) => Some(one.span),
            _ => None,
        }
    }
}
