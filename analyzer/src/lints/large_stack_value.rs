//! `large_stack_value`: a local value large enough to overflow the stack it runs on.

use syn::visit::Visit;
use syn::{Expr, Stmt};

use crate::callgraph::{MAIN_STACK, SPAWNED_STACK};
use crate::consteval::ConstExpr;
use crate::diagnostic::Diagnostic;
use crate::index::{flatten_use, Import, ItemKind, ItemTypes, ModuleId, Resolution};
use crate::layout::{human_size, primitive_size, TypeShape};
use crate::lint::{Check, FileContext, Lint};
use crate::lint_defs::{Level, LintId};
use crate::span::Span;

pub const LINT: Lint = Lint {
    id: LintId::LargeStackValue,
    summary: "a local value large enough to overflow the stack it runs on",
    explanation: r#"## What it finds
A local whose size the source gives, over the stack value limit (default 512 KiB): an array
(`let buf = [0u8; 1 << 20];`, `let t: [u64; N] = ..`), a struct of the crate whose fields are
such arrays (`let s = Big { .. }`), a tuple or an array literal of such values, copies of
earlier locals included (`let pages = [page, page];`, `let both = (a, b);`), or
`Box::new([x; N])`, which builds the array on the stack before moving it to the heap. The
message weighs it against the stack it runs on: 8 MiB for the main thread, 2 MiB for a
closure given to `std::thread::spawn` or a `#[test]`, or the size given to
`thread::Builder::stack_size` (a thread given a larger stack on purpose gets a proportionally
larger limit). A value as large as that whole stack is certain to overflow it: that finding
is an error (`deny`).

## Why it matters
A Rust thread's stack is fixed. Go moves a goroutine's large values to the heap by escape
analysis and grows stacks; Rust does neither, so a big local aborts the process with
`thread 'main' has overflowed its stack`, and code that works on the main thread crashes
when moved to a worker thread with a quarter of the stack. Deep call chains add up: each
frame's large locals count.

## Example
```rust
fn checksum(data: &[u8]) -> u32 {
    let mut table = [0u32; 256 * 1024]; // 1 MiB on the stack
    // ...
}
```
Use instead: put it on the heap, `let mut table = vec![0u32; 256 * 1024];`, or build boxed
arrays without a stack temporary (`vec![0; N].into_boxed_slice()`, or `Box::new_zeroed`).

## What it does not report
`vec![x; N]` and other heap constructions; arrays whose length is not a constant the crate
spells out; values of generic or foreign types; `static`s (`oversized_static` reports those).
Sizes are lower bounds: padding and fields of unknown size are not counted. Code under
clippy's `#[allow(clippy::large_stack_arrays)]` or `#[allow(clippy::large_stack_frames)]` (or
`#[expect]`) has said its large locals are meant, and is not reported either.
"#,
    check: Check::File(check),
};

fn check(cx: &FileContext<'_>) -> Vec<Diagnostic> {
    let mut v = Checker {
        cx,
        module: cx.module,
        imports: Vec::new(),
        stack: Stack::Main,
        out: Vec::new(),
        params: Vec::new(),
        locals: Vec::new(),
    };
    v.visit_file(cx.syntax);
    v.out
}

/// The stack the code being visited runs on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stack {
    /// `fn main`, or a fn whose thread we cannot tell (judged against the main thread's).
    Main,
    /// A closure given to `thread::spawn`, or a `#[test]`.
    Spawned,
    /// `thread::Builder::stack_size(n)`.
    Sized(u64),
    /// A thread whose stack we cannot tell: stay silent.
    Unknown,
}

impl Stack {
    fn describe(self) -> Option<(u64, String)> {
        match self {
            Stack::Main => Some((MAIN_STACK, "the main thread's 8 MiB stack".into())),
            Stack::Spawned => Some((SPAWNED_STACK, "a spawned thread's 2 MiB stack".into())),
            Stack::Sized(n) => Some((n, format!("this thread's {} stack", human_size(n)))),
            Stack::Unknown => None,
        }
    }
}

struct Checker<'a> {
    cx: &'a FileContext<'a>,
    module: ModuleId,
    imports: Vec<Import>,
    stack: Stack,
    out: Vec<Diagnostic>,
    /// The written types of the current fn's plain parameters (`x: &Box<Big>`), for values
    /// copied out through them (`let v = **x;`).
    params: Vec<(String, syn::Type)>,
    /// The locals bound so far in the current fn's open blocks, with their sizes where known
    /// (`let x = [0u32; 4096];` sizes `[x, x, x]` and `([x; 4], 1)`).
    locals: Vec<(String, Option<u64>)>,
}

impl<'ast> Visit<'ast> for Checker<'_> {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        let outer = self.module;
        self.module = self.cx.inner_module(outer, m);
        syn::visit::visit_item_mod(self, m);
        self.module = outer;
    }

    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        self.in_fn(&f.attrs, &f.sig, &f.block);
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        self.in_fn(&f.attrs, &f.sig, &f.block);
    }

    // A name bound again is not the parameter any more.
    fn visit_pat_ident(&mut self, i: &'ast syn::PatIdent) {
        self.params.retain(|(n, _)| i.ident != n);
        self.locals.retain(|(n, _)| i.ident != n);
        syn::visit::visit_pat_ident(self, i);
    }

    // Statics and consts are `oversized_static`'s.
    fn visit_item_static(&mut self, _: &'ast syn::ItemStatic) {}
    fn visit_item_const(&mut self, _: &'ast syn::ItemConst) {}

    fn visit_block(&mut self, block: &'ast syn::Block) {
        let imports = self.imports.len();
        for stmt in &block.stmts {
            if let Stmt::Item(syn::Item::Use(u)) = stmt {
                flatten_use(&u.tree, &mut Vec::new(), &mut self.imports);
            }
        }
        let locals = self.locals.len();
        syn::visit::visit_block(self, block);
        self.locals.truncate(locals);
        self.imports.truncate(imports);
    }

    fn visit_local(&mut self, local: &'ast syn::Local) {
        let (name, ty) = match &local.pat {
            syn::Pat::Type(t) => (binding_name(&t.pat), Some(&*t.ty)),
            p => (binding_name(p), None),
        };
        let init = local.init.as_ref().map(|i| &*i.expr);
        let size = ty
            .and_then(|t| self.type_size(t))
            .or_else(|| init.and_then(|e| self.value_size(e, ty)));
        if let Some(size) = size {
            let at = match ty {
                Some(t) => self.span(t),
                None => init.map_or_else(|| self.span(&local.pat), |e| self.span(e)),
            };
            let what = match &name {
                Some(n) => format!("local `{n}`"),
                None => "this local".into(),
            };
            // `let buf = [0u8; N];` -> `let buf = vec![0u8; N];` (a Vec, not an array: the
            // code using it may need changes, so not machine-applicable).
            let fix = match (ty, init.map(peel)) {
                (None, Some(e @ Expr::Repeat(_))) => {
                    let span = self.span(e);
                    self.cx
                        .source
                        .text
                        .get(span.range())
                        .map(|text| (span, format!("vec!{text}")))
                }
                _ => None,
            };
            self.report(at, &what, size, None, fix);
        }
        // After the initializer, which may name an earlier local of the same name.
        syn::visit::visit_local(self, local);
        if let Some(name) = name {
            self.locals.push((name, size));
        }
    }

    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        // `Box::new([x; N])` builds the array on the stack, then moves it.
        if let (Expr::Path(p), Some(arg), 1) = (&*call.func, call.args.first(), call.args.len()) {
            let segs = &p.path.segments;
            let n = segs.len();
            let boxes = n >= 2
                && segs[n - 1].ident == "new"
                && ["Box", "Rc", "Arc"].iter().any(|b| segs[n - 2].ident == b);
            if boxes {
                if let Expr::Repeat(_) = peel(arg) {
                    if let Some(size) = self.value_size(arg, None) {
                        let at = self.span(arg);
                        self.report(
                            at,
                            "this array",
                            size,
                            Some("it is built on the stack first, then moved to the heap"),
                            None,
                        );
                    }
                }
            }
        }
        let spawned = self.spawned_stack(&call.func);
        self.with_closures(call.args.iter(), spawned, |s| {
            syn::visit::visit_expr_call(s, call)
        });
    }

    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        let spawned = self.builder_stack(m);
        self.with_closures(m.args.iter(), spawned, |s| {
            syn::visit::visit_expr_method_call(s, m)
        });
    }
}

impl Checker<'_> {
    /// Visits a fn (free or in an impl) with its own stack, parameters and locals.
    fn in_fn<'ast>(
        &mut self,
        attrs: &[syn::Attribute],
        sig: &'ast syn::Signature,
        block: &'ast syn::Block,
    ) {
        let outer = std::mem::replace(&mut self.stack, fn_stack(attrs));
        // The signature first: its patterns are the parameters, not names bound again.
        let params = std::mem::take(&mut self.params);
        let locals = std::mem::take(&mut self.locals);
        self.visit_signature(sig);
        self.params = plain_params(sig);
        // The body sees the types it declares (`struct Big([u8; 1 << 20]);`).
        let module = self.module;
        self.module = self.cx.body_module(module, &sig.ident, block);
        self.visit_block(block);
        self.module = module;
        self.params = params;
        self.locals = locals;
        self.stack = outer;
    }

    fn span(&self, node: &impl quote::ToTokens) -> Span {
        Span::of_tokens(self.cx.file, node)
    }

    fn report(
        &mut self,
        at: Span,
        what: &str,
        size: u64,
        why: Option<&str>,
        fix: Option<(Span, String)>,
    ) {
        let Some((stack, stack_name)) = self.stack.describe() else {
            return;
        };
        // The limit is for an 8 MiB stack; a thread given a larger one on purpose gets a
        // proportionally larger limit.
        let mut limit = self.cx.config.thresholds.stack_value_size;
        if stack > MAIN_STACK {
            limit = limit.saturating_mul(stack / MAIN_STACK);
        }
        if size <= limit {
            return;
        }
        let share = if size >= stack {
            "more than all of".to_string()
        } else {
            format!("{}% of", (size * 100).div_ceil(stack))
        };
        let mut d = Diagnostic::new(
            LintId::LargeStackValue,
            at,
            format!(
                "{what} takes {} of stack: {share} {stack_name}",
                human_size(size)
            ),
        )
        .primary_label(format!(
            "at least {}, over the {} limit for stack values",
            human_size(size),
            human_size(limit)
        ));
        if let Some(why) = why {
            d = d.note(why.to_string());
        }
        d = d.note("a thread's stack is fixed: a value that does not fit aborts the process with a stack overflow, and every frame on the way counts");
        // A concrete rewrite says it better than the general advice.
        if fix.is_none() {
            d = d.help("put it on the heap: `vec![x; N]` (or `vec![x; N].into_boxed_slice()` for a boxed array)");
        }
        if size >= stack {
            d = d.level(Level::Deny);
        }
        if let Some((span, replacement)) = fix {
            d = d.suggestion("allocate it on the heap", span, replacement, false);
        }
        self.out.push(d);
    }

    /// Visits with closures among `args` running on `stack`, if it is a spawned thread's.
    fn with_closures<'e>(
        &mut self,
        args: impl Iterator<Item = &'e Expr>,
        stack: Option<Stack>,
        visit: impl FnOnce(&mut Self),
    ) {
        let has_closure = args.into_iter().any(|a| matches!(a, Expr::Closure(_)));
        match stack {
            Some(stack) if has_closure => {
                let outer = std::mem::replace(&mut self.stack, stack);
                visit(self);
                self.stack = outer;
            }
            _ => visit(self),
        }
    }

    /// `thread::spawn(..)`: its closure runs on a 2 MiB stack; other spawns: unknown.
    fn spawned_stack(&self, func: &Expr) -> Option<Stack> {
        let Expr::Path(p) = func else { return None };
        let last = p.path.segments.last()?.ident.to_string();
        if !last.contains("spawn") {
            return None;
        }
        match self
            .cx
            .index
            .resolve_path(self.module, &self.imports, &p.path)
        {
            Resolution::External(path) if path == ["std", "thread", "spawn"] => {
                Some(Stack::Spawned)
            }
            _ => Some(Stack::Unknown),
        }
    }

    /// `thread::Builder::new().stack_size(n).spawn(..)`: its closure runs on `n` bytes.
    fn builder_stack(&self, m: &syn::ExprMethodCall) -> Option<Stack> {
        if !m.method.to_string().contains("spawn") {
            return None;
        }
        if m.method != "spawn" {
            return Some(Stack::Unknown);
        }
        let mut size = None;
        let mut e = &*m.receiver;
        loop {
            match e {
                Expr::MethodCall(inner) => {
                    if inner.method == "stack_size" && size.is_none() {
                        let n = inner.args.first().and_then(|a| {
                            let v = self.cx.index.eval(self.module, &ConstExpr::from_syn(a))?;
                            u64::try_from(v).ok()
                        });
                        size = Some(n.map_or(Stack::Unknown, Stack::Sized));
                    }
                    e = &inner.receiver;
                }
                Expr::Call(c) => {
                    let Expr::Path(p) = &*c.func else {
                        return Some(Stack::Unknown);
                    };
                    let res = self
                        .cx
                        .index
                        .resolve_path(self.module, &self.imports, &p.path);
                    return match res {
                        Resolution::External(path)
                            if path == ["std", "thread", "Builder", "new"] =>
                        {
                            Some(size.unwrap_or(Stack::Spawned))
                        }
                        _ => Some(Stack::Unknown),
                    };
                }
                _ => return Some(Stack::Unknown),
            }
        }
    }

    fn type_size(&self, ty: &syn::Type) -> Option<u64> {
        self.cx.index.size_of(self.module, &TypeShape::from_syn(ty))
    }

    /// The size of the value `e` builds on the stack, when the source gives it: an array
    /// repeat, an array literal, or a struct literal of a crate struct.
    fn value_size(&self, e: &Expr, ty: Option<&syn::Type>) -> Option<u64> {
        match peel(e) {
            Expr::Repeat(r) => {
                let n = self
                    .cx
                    .index
                    .eval(self.module, &ConstExpr::from_syn(&r.len))?;
                let elem_ty = match ty {
                    Some(syn::Type::Array(a)) => Some(&*a.elem),
                    _ => None,
                };
                let elem = self
                    .value_size(&r.expr, elem_ty)
                    .or_else(|| element_size(&r.expr))?;
                elem.checked_mul(u64::try_from(n).ok()?)
            }
            // A value copied out from behind references and boxes: `**x` with `x: &Box<Big>`.
            Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => {
                let mut derefs = 0;
                let mut inner = e;
                while let Expr::Unary(syn::ExprUnary {
                    op: syn::UnOp::Deref(_),
                    expr,
                    ..
                }) = peel(inner)
                {
                    derefs += 1;
                    inner = expr;
                }
                let Expr::Path(p) = peel(inner) else {
                    return None;
                };
                let name = p.path.get_ident()?.to_string();
                let mut ty = &self.params.iter().rev().find(|(n, _)| *n == name)?.1;
                for _ in 0..derefs {
                    ty = pointee(ty)?;
                }
                self.type_size(ty)
            }
            // A workspace fn's return value (`[make_page(); 64]`, `let t = table();`).
            Expr::Call(c) => {
                let Expr::Path(p) = peel(&c.func) else {
                    return None;
                };
                let index = self.cx.index;
                let Resolution::Local(id) = index.resolve_path(self.module, &self.imports, &p.path)
                else {
                    return None;
                };
                let item = index.item(id);
                match (&item.kind, item.types.as_deref()) {
                    (ItemKind::Fn, Some(ItemTypes::Fn { ret_shape, .. })) => {
                        index.size_of(item.module, ret_shape)
                    }
                    _ => None,
                }
            }
            // A local or a by-value parameter of known size.
            Expr::Path(p) if p.qself.is_none() => {
                let name = p.path.get_ident()?;
                if let Some((_, size)) = self.locals.iter().rev().find(|(n, _)| name == n) {
                    return *size;
                }
                let (_, ty) = self.params.iter().rev().find(|(n, _)| name == n)?;
                self.type_size(ty)
            }
            // The elements of an array literal have one type: the first of known size tells.
            Expr::Array(a) => {
                let elem = a
                    .elems
                    .iter()
                    .find_map(|e| self.value_size(e, None).or_else(|| element_size(e)))?;
                elem.checked_mul(a.elems.len() as u64)
            }
            // A tuple is at least the sum of the elements whose size is known.
            Expr::Tuple(t) => t
                .elems
                .iter()
                .filter_map(|e| self.value_size(e, None).or_else(|| element_size(e)))
                .reduce(u64::saturating_add),
            Expr::Struct(s) if s.rest.is_none() => {
                let ty = syn::Type::Path(syn::TypePath {
                    attrs: Vec::new(),
                    qself: None,
                    path: s.path.clone(),
                });
                self.type_size(&ty)
            }
            _ => ty.and_then(|t| self.type_size(t)),
        }
    }
}

/// The parameters of a signature bound to a plain name, with their written types.
fn plain_params(sig: &syn::Signature) -> Vec<(String, syn::Type)> {
    sig.inputs
        .iter()
        .filter_map(|i| match i {
            syn::FnArg::Typed(t) => match &*t.pat {
                syn::Pat::Ident(id) => Some((id.ident.to_string(), (*t.ty).clone())),
                _ => None,
            },
            syn::FnArg::Receiver(_) => None,
        })
        .collect()
}

/// What `*` on a value of type `ty` gives: a reference's target, a `Box`'s, `Rc`'s or
/// `Arc`'s content.
fn pointee(ty: &syn::Type) -> Option<&syn::Type> {
    match ty {
        syn::Type::Reference(r) => Some(&r.elem),
        syn::Type::Paren(p) => pointee(&p.elem),
        syn::Type::Path(p) => {
            let last = p.path.segments.last()?;
            if !matches!(last.ident.to_string().as_str(), "Box" | "Rc" | "Arc") {
                return None;
            }
            match &last.arguments {
                syn::PathArguments::AngleBracketed(a) => a.args.iter().find_map(|g| match g {
                    syn::GenericArgument::Type(t) => Some(t),
                    _ => None,
                }),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The smallest size a literal element can have.
fn element_size(e: &Expr) -> Option<u64> {
    match peel(e) {
        Expr::Lit(l) => match &l.lit {
            syn::Lit::Int(i) => primitive_size(i.suffix()).or(Some(1)),
            syn::Lit::Float(f) => primitive_size(f.suffix()).or(Some(4)),
            syn::Lit::Bool(_) | syn::Lit::Byte(_) => Some(1),
            syn::Lit::Char(_) => Some(4),
            _ => None,
        },
        _ => None,
    }
}

fn fn_stack(attrs: &[syn::Attribute]) -> Stack {
    let test = attrs
        .iter()
        .any(|a| a.path().segments.last().is_some_and(|s| s.ident == "test"));
    if test {
        Stack::Spawned
    } else {
        Stack::Main
    }
}

fn binding_name(p: &syn::Pat) -> Option<String> {
    match p {
        syn::Pat::Ident(i) => Some(i.ident.to_string()),
        _ => None,
    }
}

fn peel(mut e: &Expr) -> &Expr {
    loop {
        match e {
            Expr::Paren(p) => e = &p.expr,
            Expr::Group(g) => e = &g.expr,
            _ => return e,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::lint_defs::LintId;
    use crate::test_util::findings;

    fn lines(src: &str) -> Vec<usize> {
        findings(LintId::LargeStackValue, src)
            .into_iter()
            .map(|(l, _)| l)
            .collect()
    }

    #[test]
    fn big_arrays_structs_and_boxed_temporaries() {
        let src = "const N: usize = 1 << 20;\n\
                   struct Big { a: [u64; N] }\n\
                   fn a() { let buf = [0u8; N]; }\n\
                   fn b() { let t: [u32; 300_000] = [0; 300_000]; }\n\
                   fn c(x: Big) { let b = Big { a: x.a }; }\n\
                   fn d() { let h = Box::new([0u8; 16 << 20]); }\n\
                   fn e() { std::thread::spawn(|| { let buf = [0u8; 600 << 10]; }); }\n";
        let found = findings(LintId::LargeStackValue, src);
        assert_eq!(
            found.iter().map(|f| f.0).collect::<Vec<_>>(),
            vec![3, 4, 5, 6, 7]
        );
        assert!(found[4].1.contains("2 MiB"), "{}", found[4].1);
    }

    #[test]
    fn heap_small_unknown_and_big_stacks_are_fine() {
        let src = "fn a(n: usize) { let v = vec![0u8; 1 << 30]; let s = [0u8; 4096]; let w = vec![0; n]; }\n\
                   fn b() { std::thread::Builder::new().stack_size(64 << 20).spawn(|| { let big = [0u8; 4 << 20]; }).unwrap(); }\n\
                   static TABLE: [u8; 1 << 20] = [0; 1 << 20];\n";
        assert_eq!(lines(src), Vec::<usize>::new());
    }

    #[test]
    fn tuples_and_arrays_of_known_values() {
        // 300 KiB pieces: each alone is under the 512 KiB limit, together they are over it.
        let src = r#"
fn a() { let pair = ([0u8; 300 << 10], [0u16; 150 << 10]); }
fn b() { let page = [0u8; 300 << 10]; let pages = [page, page]; }
fn c() { let page = [0u8; 300 << 10]; let more = [page; 2]; }
fn d(page: [u8; 300 << 10]) { let both = (page, page); }
"#;
        assert_eq!(lines(src), [2, 3, 4, 5]);
    }

    #[test]
    fn a_name_means_the_binding_in_scope() {
        // Shadowed by a small value, out of its block, a closure's parameter, a reference.
        let src = r#"
fn a() { let page = [0u8; 300 << 10]; let page = 1u8; let two = [page, page]; }
fn b() { { let page = [0u8; 300 << 10]; } let page = [0u8; 16]; let two = (page, page); }
fn c() { let page = [0u8; 300 << 10]; let f = |page: &u8| [*page; 2]; }
fn d() { let page = &[0u8; 300 << 10]; let two = [page, page]; }
fn e() { let unit = [(); 1 << 30]; let small = ([0u8; 16], 1u8); }
"#;
        assert_eq!(lines(src), Vec::<usize>::new());
    }

    #[test]
    fn unformatted_code_is_read_too() {
        // No `; ` anywhere: a text test for `[x; N]` skipped this file.
        let src = "fn a() {\n    let buf = [0u8;1<<20];\n    drop(buf);\n}\n";
        assert_eq!(lines(src), [2]);
    }
}
