//! `leaked_allocation`: memory given up on purpose (`Box::leak`, `mem::forget`, `into_raw`)
//! and never reclaimed.

use syn::visit::Visit;
use syn::{Expr, Pat, Stmt};

use crate::diagnostic::Diagnostic;
use crate::index::{flatten_use, Import, ModuleId, Resolution};
use crate::lint::{Check, FileContext, Lint};
use crate::lint_defs::{Level, LintId};
use crate::one_time;
use crate::span::Span;

pub const LINT: Lint = Lint {
    id: LintId::LeakedAllocation,
    summary:
        "memory given up on purpose (`Box::leak`, `mem::forget`, `into_raw`) and never reclaimed",
    explanation: r#"## What it finds
Code that gives up ownership of memory so that nothing will ever free it:

- `Box::leak(..)`, `Vec::leak(..)`, `String::leak(..)`;
- `mem::forget(x)` of a value that owns memory or a resource (a local built by `Box::new`,
  `Vec::new`, `vec![..]`, `String::from`, `format!`, `File::open`, `TcpStream::connect`...);
- `ManuallyDrop::new(x)` whose result is thrown away or never used again;
- `Box::into_raw`, `Rc::into_raw`, `Arc::into_raw`, `CString::into_raw`,
  `Vec::into_raw_parts` whose raw pointer is neither turned back with a `from_raw` in the same
  fn, nor handed to other code (passed to a fn, returned, stored).

Inside a loop the same code leaks again on every turn: the finding says so and is an error
(`deny`) rather than a warning.

## Why it matters
These are the ways to leak memory in safe (or nearly safe) Rust. Each is sometimes right: a
`&'static` configuration built once at startup, a pointer handed to C that will free it. But in
code that runs repeatedly, a leak per call is a process that grows until it is killed.

## Example
```rust
fn intern(name: String) -> &'static str {
    Box::leak(name.into_boxed_str()) // a new leak every call
}
```
Use instead: keep the strings in an owned interner (`HashSet<Box<str>>` behind a `Mutex`),
or give callers an owned `String`/`Arc<str>`. For raw pointers, pair every `into_raw` with a
`from_raw` on every path, or wrap the pointer in a type whose `Drop` frees it.

## What it does not report
The one-time idioms: a leak in `fn main`, in a `static` initializer, in `LazyLock::new`,
`Lazy::new`, `OnceLock::get_or_init`, `Once::call_once`, `lazy_static!` or `thread_local!`
(each runs once, so the "leak" is a global; `unjoined_task` reads the same one-time
initializers); `mem::forget(self)` and `forget` of values whose
origin is not known to own anything (a guard whose destructor must not run, a `Copy` value),
or whose contents the fn took a raw pointer to first (`v.as_mut_ptr()`: ownership moves to
the pointer); `NonNull::from(Box::leak(..))`, which is `into_raw` by another name (smart
pointers keep it and free it in their `Drop`); raw pointers passed straight to another fn (ownership handed over, typically to
C) or returned; a leak in a fn that also calls a `from_raw` (taken back later, as in
completion callbacks); a `Box::leak` in a fn that gives memory back (`from_raw`, `std::alloc::dealloc`,
`GlobalAlloc::dealloc`); a `Box::leak` whose reference the fn turns into a raw pointer
(`as *mut T`, `NonNull::from(r)`, `ptr::from_mut`) in a module that gives memory back
somewhere in its own items: the pointer travels to the module's code that frees it (a
hand-written smart pointer, a collector's object); `Box::leak(Box::new(()))`, which allocates nothing.
"#,
    check: Check::File(check),
};

const LEAKS: &[&[&str]] = &[
    &["std", "boxed", "Box", "leak"],
    &["alloc", "boxed", "Box", "leak"],
    &["Box", "leak"],
    &["std", "vec", "Vec", "leak"],
    &["Vec", "leak"],
    &["std", "string", "String", "leak"],
    &["String", "leak"],
];
const FORGETS: &[&[&str]] = &[&["std", "mem", "forget"], &["core", "mem", "forget"]];
const MANUALLY_DROP: &[&[&str]] = &[
    &["std", "mem", "ManuallyDrop", "new"],
    &["core", "mem", "ManuallyDrop", "new"],
    &["ManuallyDrop", "new"],
];
const INTO_RAW: &[&str] = &["into_raw", "into_raw_parts", "into_raw_with_allocator"];
const NAMES: &[&str] = &[
    "leak",
    "forget",
    "ManuallyDrop",
    "into_raw",
    "into_raw_parts",
];

/// Initializers known to own memory or a resource.
const OWNING_CTORS: &[&str] = &[
    "new",
    "with_capacity",
    "from",
    "open",
    "create",
    "connect",
    "bind",
    "to_vec",
    "to_string",
    "to_owned",
    "into_boxed_slice",
    "into_boxed_str",
];
const OWNING_TYPES: &[&str] = &[
    "Box",
    "Vec",
    "String",
    "Rc",
    "Arc",
    "File",
    "TcpStream",
    "TcpListener",
    "UdpSocket",
    "HashMap",
    "BTreeMap",
    "VecDeque",
    "CString",
];

fn check(cx: &FileContext<'_>) -> Vec<Diagnostic> {
    let names = cx.index.names_for(NAMES);
    if !names.iter().any(|n| cx.source.mentions(n)) {
        return Vec::new();
    }
    let mut v = Checker {
        cx,
        module: cx.module,
        imports: Vec::new(),
        loops: 0,
        once: 0,
        fn_body: None,
        owning: Vec::new(),
        module_reclaims: vec![gives_back(&cx.syntax.items)],
        out: Vec::new(),
    };
    v.visit_file(cx.syntax);
    v.out
}

struct Checker<'a, 'ast> {
    cx: &'a FileContext<'a>,
    module: ModuleId,
    imports: Vec<Import>,
    /// Loops around the code being visited, within the current fn.
    loops: usize,
    /// One-time contexts around it (`fn main`, a `static` initializer, `get_or_init(|| ..)`).
    once: usize,
    /// The body of the fn being visited, to look for `from_raw` and uses of a pointer.
    fn_body: Option<&'ast syn::Block>,
    /// Locals known to own memory or a resource (by their initializer).
    owning: Vec<String>,
    /// For the file's module and each inline module around the code: whether the module gives
    /// memory back (`Box::from_raw`, `dealloc`) anywhere in its own items.
    module_reclaims: Vec<bool>,
    out: Vec<Diagnostic>,
}

impl<'ast> Visit<'ast> for Checker<'_, 'ast> {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        let outer = self.module;
        self.module = self.cx.inner_module(outer, m);
        let reclaims = m.content.as_ref().is_some_and(|(_, i)| gives_back(i));
        self.module_reclaims.push(reclaims);
        syn::visit::visit_item_mod(self, m);
        self.module_reclaims.pop();
        self.module = outer;
    }

    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        let main = f.sig.ident == "main";
        self.in_fn(&f.sig.ident, &f.block, main, |s| {
            syn::visit::visit_item_fn(s, f)
        });
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        self.in_fn(&f.sig.ident, &f.block, false, |s| {
            syn::visit::visit_impl_item_fn(s, f)
        });
    }

    fn visit_item_static(&mut self, s: &'ast syn::ItemStatic) {
        self.once += 1;
        syn::visit::visit_item_static(self, s);
        self.once -= 1;
    }

    fn visit_item_macro(&mut self, m: &'ast syn::ItemMacro) {
        // `lazy_static!`/`thread_local!` initializers run once per program or thread.
        if one_time::is_once_macro(&m.mac) {
            return;
        }
        syn::visit::visit_item_macro(self, m);
    }

    fn visit_block(&mut self, block: &'ast syn::Block) {
        let imports = self.imports.len();
        for stmt in &block.stmts {
            if let Stmt::Item(syn::Item::Use(u)) = stmt {
                flatten_use(&u.tree, &mut Vec::new(), &mut self.imports);
            }
        }
        for (i, stmt) in block.stmts.iter().enumerate() {
            self.check_stmt(stmt, &block.stmts[i + 1..]);
            self.visit_stmt(stmt);
        }
        self.imports.truncate(imports);
    }

    fn visit_expr_loop(&mut self, l: &'ast syn::ExprLoop) {
        self.in_loop(|s| syn::visit::visit_expr_loop(s, l));
    }
    fn visit_expr_while(&mut self, w: &'ast syn::ExprWhile) {
        self.in_loop(|s| syn::visit::visit_expr_while(s, w));
    }
    fn visit_expr_for_loop(&mut self, f: &'ast syn::ExprForLoop) {
        self.in_loop(|s| syn::visit::visit_expr_for_loop(s, f));
    }

    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        // `NonNull::from(Box::leak(b))`: `into_raw` in another spelling, the pointer handed
        // on like one (to a struct that frees it in its `Drop`, as smart pointers do).
        let wraps = matches!(&*call.func, Expr::Path(p)
            if p.path.segments.iter().rev().nth(1).is_some_and(|s| s.ident == "NonNull")
            && p.path.segments.last().is_some_and(|s| matches!(s.ident.to_string().as_str(), "from" | "new" | "new_unchecked")));
        if let Some(Expr::Call(inner)) = call.args.first().filter(|_| wraps) {
            if self.call_kind(inner) == Some(Kind::Leak) {
                inner.args.iter().for_each(|a| self.visit_expr(a));
                return;
            }
        }
        if let Some(kind) = self.call_kind(call) {
            match kind {
                // A leaked `Box<()>` allocates nothing; a leak that the fn gives back with a
                // `from_raw` or a `dealloc` (a pointer handed to a completion callback) is
                // reclaimed. So is a leak turned into a raw pointer in a module that gives
                // memory back elsewhere: the pointer travels to the code that frees it, as in a
                // hand-written smart pointer or a collector's object.
                Kind::Leak => {
                    let fn_gives_back = self.fn_body.is_some_and(|b| {
                        let mut v = GivesBack(false);
                        v.visit_block(b);
                        v.0
                    });
                    let module_gives_back =
                        self.module_reclaims.last() == Some(&true) && self.becomes_pointer(call);
                    if !call.args.first().is_some_and(|a| self.is_unit_box(a))
                        && !fn_gives_back
                        && !module_gives_back
                    {
                        self.report(call, "leaked here", None)
                    }
                }
                Kind::Forget => {
                    if let Some(arg) = call.args.first() {
                        if let Some(name) =
                            self.owning_local(arg).filter(|n| !self.pointer_taken(n))
                        {
                            self.report(
                                call,
                                "forgotten here",
                                Some(format!(
                                    "`{name}` owns memory; forgetting it never frees it"
                                )),
                            );
                        }
                    }
                }
                Kind::ManuallyDrop | Kind::IntoRaw => {}
            }
        }
        // `LazyLock::new(|| ..)`, `Lazy::new(|| ..)`: the closure runs once.
        let once = one_time::is_lazy_new(call);
        self.once += usize::from(once);
        syn::visit::visit_expr_call(self, call);
        self.once -= usize::from(once);
    }

    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        let once = one_time::is_once_method(m);
        self.once += usize::from(once);
        syn::visit::visit_expr_method_call(self, m);
        self.once -= usize::from(once);
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Leak,
    Forget,
    ManuallyDrop,
    IntoRaw,
}

impl<'ast> Checker<'_, 'ast> {
    fn span(&self, node: &impl quote::ToTokens) -> Span {
        Span::of_tokens(self.cx.file, node)
    }

    /// Walks fn `name`'s body with `f`, in the scope of the items it declares.
    fn in_fn(
        &mut self,
        name: &syn::Ident,
        body: &'ast syn::Block,
        main: bool,
        f: impl FnOnce(&mut Self),
    ) {
        let module = self.module;
        self.module = self.cx.body_module(module, name, body);
        let outer = (self.loops, self.fn_body.replace(body));
        let owning = std::mem::take(&mut self.owning);
        self.loops = 0;
        self.once += usize::from(main);
        f(self);
        self.once -= usize::from(main);
        self.owning = owning;
        (self.loops, self.fn_body) = outer;
        self.module = module;
    }

    fn in_loop(&mut self, f: impl FnOnce(&mut Self)) {
        self.loops += 1;
        f(self);
        self.loops -= 1;
    }

    fn call_kind(&self, call: &syn::ExprCall) -> Option<Kind> {
        let Expr::Path(p) = &*call.func else {
            return None;
        };
        // A cheap test before resolving: one of the path's names must be one of ours (or a
        // `use` alias of one), like `forget` or the `ManuallyDrop` of `ManuallyDrop::new`.
        let names = self.cx.index.names_for(NAMES);
        let named = p.path.segments.iter().any(|s| {
            let s = s.ident.to_string();
            names.contains(&s)
                || self
                    .imports
                    .iter()
                    .any(|i| i.name == s && i.path.last().is_some_and(|l| names.contains(l)))
        });
        if !named {
            return None;
        }
        let res = self
            .cx
            .index
            .resolve_path(self.module, &self.imports, &p.path);
        let Resolution::External(path) = res else {
            return None;
        };
        let is = |list: &[&[&str]]| list.iter().any(|l| *l == path.as_slice());
        if is(LEAKS) {
            Some(Kind::Leak)
        } else if is(FORGETS) {
            Some(Kind::Forget)
        } else if is(MANUALLY_DROP) {
            Some(Kind::ManuallyDrop)
        } else if path.last().is_some_and(|l| INTO_RAW.contains(&l.as_str()))
            && path.len() >= 2
            && matches!(
                path[path.len() - 2].as_str(),
                "Box" | "Rc" | "Arc" | "CString" | "Vec"
            )
        {
            Some(Kind::IntoRaw)
        } else {
            None
        }
    }

    /// Statements that give up a value and keep nothing to reclaim it with.
    fn check_stmt(&mut self, stmt: &'ast Stmt, rest: &'ast [Stmt]) {
        match stmt {
            Stmt::Local(local) => {
                let Some(init) = &local.init else { return };
                let Pat::Ident(id) = strip_type(&local.pat) else {
                    return;
                };
                let name = id.ident.to_string();
                if owns_memory(&init.expr) {
                    self.owning.push(name.clone());
                } else {
                    self.owning.retain(|n| *n != name);
                }
                let Expr::Call(call) = peel(&init.expr) else {
                    return;
                };
                match self.call_kind(call) {
                    Some(Kind::ManuallyDrop) if !used(&id.ident, rest) => self.report(
                        call,
                        "wrapped here",
                        Some(format!(
                            "`{name}` is never used again, so it is never dropped"
                        )),
                    ),
                    Some(Kind::IntoRaw) if !self.reclaimed(&id.ident, rest) => self.report(
                        call,
                        "turned into a raw pointer here",
                        Some(format!(
                            "`{name}` is never given to a `from_raw`, returned or passed on"
                        )),
                    ),
                    _ => {}
                }
            }
            Stmt::Expr(e, Some(_)) => {
                if let Expr::Call(call) = peel(e) {
                    if matches!(
                        self.call_kind(call),
                        Some(Kind::ManuallyDrop | Kind::IntoRaw)
                    ) && !self.has_from_raw()
                    {
                        self.report(call, "the result is thrown away here", None);
                    }
                }
            }
            _ => {}
        }
    }

    /// Whether the raw pointer `name` is reclaimed or handed over: a `from_raw` anywhere in
    /// the fn, or any use of it other than a dereference.
    fn reclaimed(&self, name: &syn::Ident, rest: &[Stmt]) -> bool {
        if self.has_from_raw() {
            return true;
        }
        let mut v = PointerUses {
            name,
            handed_over: false,
        };
        for s in rest {
            v.visit_stmt(s);
        }
        v.handed_over
    }

    /// Whether the fn turns the reference `call` leaks into a raw pointer (`as *mut T`,
    /// `NonNull::from`, `ptr::from_mut`), directly or through the local it is bound to.
    fn becomes_pointer(&self, call: &syn::ExprCall) -> bool {
        let Some(body) = self.fn_body else {
            return false;
        };
        let mut v = Pointers {
            file: self.cx.file,
            leak: self.span(call),
            bound: None,
            spans: Vec::new(),
            names: Vec::new(),
        };
        v.visit_block(body);
        v.spans.contains(&v.leak) || v.bound.is_some_and(|b| v.names.contains(&b))
    }

    fn has_from_raw(&self) -> bool {
        let mut v = FromRaw(false);
        if let Some(body) = self.fn_body {
            v.visit_block(body);
        }
        v.0
    }

    /// Whether the fn takes a raw pointer to `name`'s contents (`as_mut_ptr()`...): then
    /// forgetting it hands its memory over to whoever holds the pointer.
    fn pointer_taken(&self, name: &str) -> bool {
        struct Taken<'n>(&'n str, bool);
        impl<'ast> Visit<'ast> for Taken<'_> {
            fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
                if matches!(
                    m.method.to_string().as_str(),
                    "as_ptr" | "as_mut_ptr" | "as_non_null"
                ) && matches!(&*m.receiver, Expr::Path(p) if p.path.get_ident().is_some_and(|i| i == self.0))
                {
                    self.1 = true;
                }
                syn::visit::visit_expr_method_call(self, m);
            }
        }
        let mut v = Taken(name, false);
        if let Some(body) = self.fn_body {
            v.visit_block(body);
        }
        v.1
    }

    /// `Box::new(())`, or a local the fn initializes with it: a box of nothing.
    fn is_unit_box(&self, e: &Expr) -> bool {
        fn unit_box(e: &Expr) -> bool {
            matches!(peel(e), Expr::Call(c) if c.args.len() == 1
                && matches!(&c.args[0], Expr::Tuple(t) if t.elems.is_empty()))
        }
        if unit_box(e) {
            return true;
        }
        let Expr::Path(p) = peel(e) else { return false };
        let Some(name) = p.path.get_ident() else {
            return false;
        };
        struct Bound<'n>(&'n syn::Ident, bool);
        impl<'ast> Visit<'ast> for Bound<'_> {
            fn visit_local(&mut self, l: &'ast syn::Local) {
                if matches!(strip_type(&l.pat), Pat::Ident(i) if i.ident == *self.0)
                    && l.init.as_ref().is_some_and(|i| unit_box(&i.expr))
                {
                    self.1 = true;
                }
                syn::visit::visit_local(self, l);
            }
        }
        let mut v = Bound(name, false);
        if let Some(body) = self.fn_body {
            v.visit_block(body);
        }
        v.1
    }

    /// The local that `e` names, when it is known to own memory.
    fn owning_local(&self, e: &Expr) -> Option<String> {
        let Expr::Path(p) = peel(e) else { return None };
        let name = p.path.get_ident()?.to_string();
        self.owning.contains(&name).then_some(name)
    }

    fn report(&mut self, call: &syn::ExprCall, label: &str, note: Option<String>) {
        if self.once > 0 && self.loops == 0 {
            return;
        }
        let what = match &*call.func {
            Expr::Path(p) => crate::syntax::segment_names(&p.path).join("::"),
            _ => "this".into(),
        };
        let in_loop = self.loops > 0;
        let message = if in_loop {
            format!("`{what}` inside a loop leaks memory again on every turn")
        } else {
            format!("`{what}` leaks memory that is never reclaimed")
        };
        let mut d = Diagnostic::new(LintId::LeakedAllocation, self.span(&call.func), message)
            .primary_label(label.to_string());
        if let Some(note) = note {
            d = d.note(note);
        }
        d = d
            .note("nothing frees this memory while the program runs")
            .help("keep an owner (a field, an `Arc`, an interner) instead, or reclaim it with `from_raw` on every path");
        if in_loop {
            d = d.level(Level::Deny);
        }
        self.out.push(d);
    }
}

fn strip_type(p: &Pat) -> &Pat {
    match p {
        Pat::Type(t) => &t.pat,
        p => p,
    }
}

fn peel(mut e: &Expr) -> &Expr {
    loop {
        match e {
            Expr::Paren(p) => e = &p.expr,
            Expr::Group(g) => e = &g.expr,
            Expr::Unsafe(u) => match u.block.stmts.as_slice() {
                [Stmt::Expr(inner, None)] => e = inner,
                _ => return e,
            },
            _ => return e,
        }
    }
}

/// Whether `e` builds a value that owns memory or a resource.
fn owns_memory(e: &Expr) -> bool {
    match peel(e) {
        Expr::Macro(m) => m
            .mac
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == "vec" || s.ident == "format"),
        Expr::Call(c) => match &*c.func {
            Expr::Path(p) => {
                let segs = crate::syntax::segment_names(&p.path);
                matches!(segs.as_slice(), [.., ty, ctor]
                    if OWNING_TYPES.contains(&ty.as_str()) && OWNING_CTORS.contains(&ctor.as_str()))
            }
            _ => false,
        },
        Expr::MethodCall(m) => {
            matches!(
                m.method.to_string().as_str(),
                "to_vec"
                    | "to_string"
                    | "to_owned"
                    | "into_boxed_slice"
                    | "into_boxed_str"
                    | "collect"
            ) || matches!(m.method.to_string().as_str(), "unwrap" | "expect")
                && owns_memory(&m.receiver)
        }
        Expr::Try(t) => owns_memory(&t.expr),
        _ => false,
    }
}

/// Whether `name` appears in `rest` at all.
fn used(name: &syn::Ident, rest: &[Stmt]) -> bool {
    let mut any = AnyUse { name, found: false };
    for s in rest {
        any.visit_stmt(s);
    }
    any.found
}

struct AnyUse<'n> {
    name: &'n syn::Ident,
    found: bool,
}

impl<'ast> Visit<'ast> for AnyUse<'_> {
    fn visit_ident(&mut self, i: &'ast proc_macro2::Ident) {
        if i == self.name {
            self.found = true;
        }
    }
    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        if mentions(m.tokens.clone(), self.name) {
            self.found = true;
        }
    }
}

/// Whether a raw pointer is handed over: any use but `*p` / `(*p).field`.
struct PointerUses<'n> {
    name: &'n syn::Ident,
    handed_over: bool,
}

impl<'ast> Visit<'ast> for PointerUses<'_> {
    fn visit_expr_unary(&mut self, u: &'ast syn::ExprUnary) {
        if matches!(u.op, syn::UnOp::Deref(_))
            && matches!(&*u.expr, Expr::Path(p) if p.path.get_ident().is_some_and(|i| i == self.name))
        {
            return;
        }
        syn::visit::visit_expr_unary(self, u);
    }
    fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
        if p.path.get_ident().is_some_and(|i| i == self.name) {
            self.handed_over = true;
        }
    }
    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        if mentions(m.tokens.clone(), self.name) {
            self.handed_over = true;
        }
    }
}

/// Whether code gives memory back: a `from_raw` or `from_raw_parts`, or a `dealloc`
/// (`std::alloc::dealloc`, `GlobalAlloc::dealloc`). Inline modules inside are other modules.
struct GivesBack(bool);

impl<'ast> Visit<'ast> for GivesBack {
    fn visit_item_mod(&mut self, _: &'ast syn::ItemMod) {}
    fn visit_path_segment(&mut self, s: &'ast syn::PathSegment) {
        if s.ident == "from_raw" || s.ident == "from_raw_parts" || s.ident == "dealloc" {
            self.0 = true;
        }
        syn::visit::visit_path_segment(self, s);
    }
    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        if m.method == "dealloc" {
            self.0 = true;
        }
        syn::visit::visit_expr_method_call(self, m);
    }
}

/// Where a fn turns references into raw pointers, and the local a leak is bound to.
struct Pointers {
    file: crate::span::FileId,
    /// The leak in question.
    leak: Span,
    /// `let r = <the leak>;`
    bound: Option<syn::Ident>,
    /// Expressions made raw pointers (`x as *mut T`, `NonNull::from(x)`)...
    spans: Vec<Span>,
    /// ... and the locals among them.
    names: Vec<syn::Ident>,
}

impl Pointers {
    fn made_pointer(&mut self, e: &Expr) {
        let mut e = peel(e);
        // `&mut *r`, `&*r`: the same place.
        while let Expr::Reference(r) = e {
            e = peel(&r.expr);
            if let Expr::Unary(u) = e {
                if matches!(u.op, syn::UnOp::Deref(_)) {
                    e = peel(&u.expr);
                }
            }
        }
        match e {
            Expr::Path(p) if p.path.get_ident().is_some() => {
                self.names.extend(p.path.get_ident().cloned());
            }
            e => self.spans.push(Span::of_tokens(self.file, e)),
        }
    }
}

impl<'ast> Visit<'ast> for Pointers {
    fn visit_local(&mut self, l: &'ast syn::Local) {
        if let (Pat::Ident(id), Some(init)) = (strip_type(&l.pat), &l.init) {
            if Span::of_tokens(self.file, peel(&init.expr)) == self.leak {
                self.bound = Some(id.ident.clone());
            }
        }
        syn::visit::visit_local(self, l);
    }
    fn visit_expr_cast(&mut self, c: &'ast syn::ExprCast) {
        if matches!(&*c.ty, syn::Type::Ptr(_)) {
            self.made_pointer(&c.expr);
        }
        syn::visit::visit_expr_cast(self, c);
    }
    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        if let (Expr::Path(p), Some(arg)) = (&*call.func, call.args.first()) {
            let mut segs = p.path.segments.iter().rev();
            let f = segs.next().map(|s| s.ident.to_string());
            let ty = segs.next().map(|s| s.ident.to_string());
            let pointer = matches!(
                (ty.as_deref(), f.as_deref()),
                (Some("NonNull"), Some("from" | "new" | "new_unchecked"))
                    | (Some("ptr"), Some("from_mut" | "from_ref"))
            );
            if pointer {
                self.made_pointer(arg);
            }
        }
        syn::visit::visit_expr_call(self, call);
    }
}

/// Whether `items` (a module's own, not those of its inline modules) give memory back.
fn gives_back(items: &[syn::Item]) -> bool {
    let mut v = GivesBack(false);
    for item in items {
        v.visit_item(item);
        if v.0 {
            break;
        }
    }
    v.0
}

/// Whether a body calls any `from_raw`.
struct FromRaw(bool);

impl<'ast> Visit<'ast> for FromRaw {
    fn visit_path_segment(&mut self, s: &'ast syn::PathSegment) {
        if s.ident == "from_raw" || s.ident == "from_raw_parts" {
            self.0 = true;
        }
        syn::visit::visit_path_segment(self, s);
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
        findings(LintId::LeakedAllocation, src)
            .into_iter()
            .map(|(l, _)| l)
            .collect()
    }

    #[test]
    fn leaks_forgets_and_lost_raw_pointers() {
        let src = "use std::mem;\n\
                   fn intern(s: String) -> &'static str { Box::leak(s.into_boxed_str()) }\n\
                   fn f() { let v = vec![1u8; 10]; mem::forget(v); }\n\
                   fn g() { for _ in 0..3 { let b = Box::new(1); let p = Box::into_raw(b); unsafe { *p = 2; } } }\n\
                   fn h() { std::mem::ManuallyDrop::new(String::from(\"x\")); }\n";
        let found = findings(LintId::LeakedAllocation, src);
        assert_eq!(
            found.iter().map(|f| f.0).collect::<Vec<_>>(),
            vec![2, 3, 4, 5]
        );
        assert!(found[2].1.contains("inside a loop"), "{}", found[2].1);
    }

    #[test]
    fn a_leak_turned_into_a_non_null_pointer_is_handed_over() {
        let found = findings(
            LintId::LeakedAllocation,
            "use std::ptr::NonNull;\n\
             struct P { ptr: NonNull<u8> }\n\
             fn new() -> P { P { ptr: NonNull::from(Box::leak(Box::new(1))) } }\n\
             fn bad() -> NonNull<u8> { let r = Box::leak(Box::new(1)); NonNull::from(&*r) }",
        );
        assert_eq!(
            found.iter().map(|f| f.0).collect::<Vec<_>>(),
            [4],
            "{found:?}"
        );
    }

    #[test]
    fn once_handed_over_and_reclaimed_are_fine() {
        let src = "use std::sync::OnceLock;\n\
                   static NAME: OnceLock<&'static str> = OnceLock::new();\n\
                   fn main() { let _cfg: &'static str = Box::leak(String::new().into_boxed_str()); }\n\
                   fn name() -> &'static str { NAME.get_or_init(|| Box::leak(String::new().into_boxed_str())) }\n\
                   fn ffi(b: Box<u8>) -> *mut u8 { Box::into_raw(b) }\n\
                   fn round(b: Box<u8>) { let p = Box::into_raw(b); let _b = unsafe { Box::from_raw(p) }; }\n\
                   fn guard<T>(g: T) { std::mem::forget(g); }\n\
                   fn leak() {}\n\
                   fn local() { leak(); }\n";
        assert_eq!(lines(src), Vec::<usize>::new());
    }

    #[test]
    fn a_leak_turned_into_a_pointer_that_its_module_gives_back_is_reclaimed() {
        let src = "use std::ptr::NonNull;\n\
                   mod ptr {\n\
                   pub fn erase() -> *mut u8 { let r: &mut u8 = Box::leak(Box::new(7)); r as *mut u8 }\n\
                   pub unsafe fn free(p: *mut u8) { std::alloc::dealloc(p, std::alloc::Layout::new::<u8>()) }\n\
                   pub fn interned() -> &'static mut u8 { Box::leak(Box::new(7)) }\n\
                   }\n\
                   mod boxed {\n\
                   pub fn make() -> std::ptr::NonNull<u8> { let r = Box::leak(Box::new(7)); std::ptr::NonNull::from(r) }\n\
                   pub unsafe fn free(p: *mut u8) { drop(Box::from_raw(p)) }\n\
                   }\n\
                   mod leaky {\n\
                   pub fn make() -> *mut u8 { Box::leak(Box::new(7)) as *mut u8 }\n\
                   mod inner { pub unsafe fn free(p: *mut u8) { drop(Box::from_raw(p)) } }\n\
                   }\n\
                   fn same_fn() { let r: &mut u8 = Box::leak(Box::new(7)); let p = NonNull::from(r);\n\
                   unsafe { std::alloc::dealloc(p.as_ptr(), std::alloc::Layout::new::<u8>()) } }\n";
        assert_eq!(lines(src), [5, 12]);
    }
}
