//! What the code does to the workspace's globals: where each is declared, where it grows,
//! shrinks, is replaced or escapes.
//!
//! Like the call graph, these are facts collected per file (on the thread holding its syntax
//! tree) and judged together: a global is declared in one file and used in many.
//!
//! A use is recognized when the global is the root of a chain of accessors that reach its
//! contents (`G.lock().unwrap()`, `G.write()`, `G.borrow_mut()`, `G.with(|c| ..)`, `*G`, a
//! `static mut` directly), ending in a method call (`.push(x)`) or an assignment; a guard bound
//! to a local (`let mut g = G.lock().unwrap();`) stands for the global in the rest of the fn.
//! Anything else the code does with a global (passing it to a fn, returning a guard) is an
//! [`Op::Escapes`]: someone we do not see may shrink it, so lints stay silent about it.

use std::collections::HashMap;

use syn::visit::Visit;
use syn::Expr;

use crate::allocation::sized_allocations;
use crate::index::{flatten_use, macro_statics, Import, ItemKind, ModuleId, Resolution};
use crate::lint::{FactSource, FileContext};
use crate::span::Span;
use crate::types::Ty;

#[derive(Debug, Default)]
pub struct GlobalFacts {
    pub decls: Vec<GlobalDecl>,
    pub uses: Vec<GlobalUse>,
}

#[derive(Debug)]
pub struct GlobalDecl {
    /// The global's name where it is declared; also its identity (its index item's span).
    pub def: Span,
    pub name: String,
    pub kind: DeclKind,
    /// `pub` without a restriction: code outside the workspace may use it too.
    pub public: bool,
    /// The growable collection it holds, through any wrappers (`Mutex<Vec<T>>` -> `Vec`).
    pub collection: Option<&'static str>,
    /// Whether its contents can change at run time: `static mut`, or a lock, cell or lazy
    /// wrapper on the way to them.
    pub mutable: bool,
    /// The declared type.
    pub ty: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeclKind {
    Static,
    StaticMut,
    ThreadLocal,
    LazyStatic,
}

#[derive(Debug)]
pub struct GlobalUse {
    /// The global's definition span.
    pub global: Span,
    /// The method name or the assignment.
    pub site: Span,
    pub op: Op,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Op {
    /// `push`, `insert`, `extend`, `entry`...
    Grow,
    /// `remove`, `pop`, `clear`, `drain`, `retain`, `truncate`, `mem::take`...
    Shrink,
    /// Assigned a new value; `allocations` are the sized allocations of that value.
    Replace { allocations: Vec<(Span, u64)> },
    /// Initialized once (`OnceLock::set`, `get_or_init`) with `allocations`.
    Init { allocations: Vec<(Span, u64)> },
    /// Handed to code we do not follow.
    Escapes,
}

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

/// Wrappers through which a global's contents change at run time.
const MUTABLE_WRAPPERS: &[&str] = &[
    "Mutex",
    "RwLock",
    "RefCell",
    "Cell",
    "OnceLock",
    "OnceCell",
    "LazyLock",
    "Lazy",
    "LazyCell",
    "ReentrantMutex",
    "ArcSwap",
];

/// Methods that give access to the contents without changing them.
const ACCESSORS: &[&str] = &[
    "lock",
    "read",
    "write",
    "try_lock",
    "try_read",
    "try_write",
    "borrow",
    "borrow_mut",
    "try_borrow_mut",
    "get_mut",
    "unwrap",
    "expect",
    "unwrap_or_else",
    "as_mut",
    "deref_mut",
    "get",
    "force",
];

const SHRINKING: &[&str] = &[
    "remove",
    "remove_entry",
    "swap_remove",
    "pop",
    "pop_back",
    "pop_front",
    "pop_first",
    "pop_last",
    "clear",
    "drain",
    "retain",
    "retain_mut",
    "truncate",
    "split_off",
    "resize",
    "take",
    "replace",
    "extract_if",
    "dedup",
];

const INITIALIZING: &[&str] = &["set", "get_or_init", "get_or_try_init", "get_or_insert"];

/// The globals' declarations and uses, for the lints that judge them.
pub static FACTS: FactSource = FactSource {
    name: "globals",
    collect: |cx| Box::new(collect(cx)),
};

/// The globals a file declares and what its code does to globals.
pub fn collect(cx: &FileContext<'_>) -> GlobalFacts {
    let mut types = HashMap::new();
    statics_of(cx.file, &cx.syntax.items, &mut types);
    let mut c = Collector {
        cx,
        module: cx.module,
        imports: Vec::new(),
        guards: HashMap::new(),
        facts: GlobalFacts::default(),
        types,
        local_aliases: Vec::new(),
        local_statics: Vec::new(),
    };
    c.visit_file(cx.syntax);
    c.facts
}

/// The declared type of each global of `items` (and their inline modules), by name span.
fn statics_of(file: crate::span::FileId, items: &[syn::Item], out: &mut HashMap<Span, syn::Type>) {
    for item in items {
        match item {
            syn::Item::Static(s) => {
                out.insert(Span::of_tokens(file, &s.ident), (*s.ty).clone());
            }
            syn::Item::Macro(m) => {
                for s in macro_statics(&m.mac) {
                    out.insert(Span::of_tokens(file, &s.ident), *s.ty);
                }
            }
            syn::Item::Mod(m) => {
                if let Some((_, content)) = &m.content {
                    statics_of(file, content, out);
                }
            }
            _ => {}
        }
    }
}

struct Collector<'a> {
    cx: &'a FileContext<'a>,
    module: ModuleId,
    imports: Vec<Import>,
    /// Locals that stand for a global in the current fn: guards and `with` closure params.
    guards: HashMap<String, Span>,
    facts: GlobalFacts,
    /// The types of the globals this file declares (others' are not at hand).
    types: HashMap<Span, syn::Type>,
    /// Type aliases declared in the enclosing fn bodies, innermost last.
    local_aliases: Vec<(String, Ty)>,
    /// Statics declared in the enclosing fn bodies (`fn cache() { static C: .. }`), which
    /// the index does not see, by name and definition.
    local_statics: Vec<(String, Span)>,
}

impl Collector<'_> {
    fn span(&self, node: &impl quote::ToTokens) -> Span {
        Span::of_tokens(self.cx.file, node)
    }

    /// A global's written type with type aliases expanded: those of the enclosing fn bodies,
    /// then the crate's (`type Cache = Mutex<Vec<Entry>>; static C: Cache = ..`).
    fn declared_type(&self, ty: &syn::Type) -> Ty {
        let ty = Ty::from_syn(ty, &[]).map_named(&mut |t| match t {
            Ty::Named(n, args) if args.is_empty() => self
                .local_aliases
                .iter()
                .rev()
                .find(|(a, _)| **a == **n)
                .map(|(_, t)| t.clone()),
            _ => None,
        });
        self.cx.semantics.expand(self.cx.index, &ty, self.module)
    }

    fn declare(&mut self, s: &syn::ItemStatic, kind: DeclKind) {
        let kind = match (kind, &s.mutability) {
            (DeclKind::Static, syn::StaticMutability::Mut(_)) => DeclKind::StaticMut,
            (k, _) => k,
        };
        let (collection, wrapped) = contents(&self.declared_type(&s.ty));
        self.facts.decls.push(GlobalDecl {
            def: self.span(&s.ident),
            name: s.ident.to_string(),
            kind,
            public: matches!(s.vis, syn::Visibility::Public(_)),
            collection,
            mutable: wrapped || kind == DeclKind::StaticMut,
            ty: self.span(&s.ty),
        });
    }

    /// The global a path names, by its definition span.
    fn global_of_path(&self, path: &syn::Path) -> Option<Span> {
        let last = path.segments.last()?.ident.to_string();
        if let Some(id) = path.get_ident() {
            if let Some(g) = self.guards.get(&last) {
                return Some(*g);
            }
            if let Some((_, def)) = self.local_statics.iter().rev().find(|(n, _)| id == n) {
                return Some(*def);
            }
        }
        if !self.cx.index.static_names().contains(&last) {
            return None;
        }
        match self.cx.index.resolve_path(self.module, &self.imports, path) {
            Resolution::Local(item) => {
                let it = self.cx.index.item(item);
                (it.kind == ItemKind::Static).then_some(it.span)
            }
            _ => None,
        }
    }

    /// The global whose contents `e` reaches through accessors, if any.
    fn root(&self, mut e: &Expr) -> Option<Span> {
        loop {
            e = match e {
                Expr::Path(p) => return self.global_of_path(&p.path),
                Expr::MethodCall(m) if ACCESSORS.contains(&m.method.to_string().as_str()) => {
                    &m.receiver
                }
                Expr::Try(t) => &t.expr,
                Expr::Paren(p) => &p.expr,
                Expr::Group(g) => &g.expr,
                Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => &u.expr,
                Expr::Reference(r) => &r.expr,
                Expr::Unsafe(u) => match u.block.stmts.as_slice() {
                    [syn::Stmt::Expr(inner, None)] => inner,
                    _ => return None,
                },
                _ => return None,
            };
        }
    }

    fn record(&mut self, global: Span, site: Span, op: Op) {
        self.facts.uses.push(GlobalUse { global, site, op });
    }

    /// Binds `pat` (a plain name, possibly in `Ok(..)`/`Some(..)`) to `global`.
    fn bind(&mut self, pat: &syn::Pat, global: Span) {
        match pat {
            syn::Pat::Ident(i) => {
                self.guards.insert(i.ident.to_string(), global);
            }
            syn::Pat::TupleStruct(t) if t.elems.len() == 1 => self.bind(&t.elems[0], global),
            syn::Pat::Type(t) => self.bind(&t.pat, global),
            _ => {}
        }
    }

    /// The sized allocations of a value stored into `global`.
    fn allocations(&self, global: Span, e: &Expr) -> Vec<(Span, u64)> {
        let hint = self
            .types
            .get(&global)
            .and_then(|t| crate::layout::TypeShape::vec_element(inner_collection(t)));
        sized_allocations(self.cx, self.module, hint, e)
    }
}

/// The type inside a global's wrappers: `Vec<u64>` for `LazyLock<Mutex<Vec<u64>>>`.
fn inner_collection(mut ty: &syn::Type) -> &syn::Type {
    while let syn::Type::Path(p) = ty {
        let Some(last) = p.path.segments.last() else {
            break;
        };
        let name = last.ident.to_string();
        if !MUTABLE_WRAPPERS.contains(&name.as_str())
            && !matches!(name.as_str(), "Arc" | "Rc" | "Box" | "Option")
        {
            break;
        }
        let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
            break;
        };
        match args.args.iter().find_map(|a| match a {
            syn::GenericArgument::Type(t) => Some(t),
            _ => None,
        }) {
            Some(inner) => ty = inner,
            None => break,
        }
    }
    ty
}

/// The collection a global's type holds, and whether a mutable wrapper is on the way.
fn contents(ty: &Ty) -> (Option<&'static str>, bool) {
    let mut wrapped = false;
    let mut ty = ty;
    loop {
        let (Some(name), Ty::Named(_, args)) = (ty.last_segment(), ty) else {
            return (None, wrapped);
        };
        if let Some(c) = COLLECTIONS.iter().find(|c| **c == name) {
            return (Some(c), wrapped);
        }
        if MUTABLE_WRAPPERS.contains(&name) {
            wrapped = true;
        } else if !matches!(name, "Arc" | "Rc" | "Box" | "Option") {
            return (None, wrapped);
        }
        let Some(inner) = args.first() else {
            return (None, wrapped);
        };
        ty = inner;
    }
}

impl<'ast> Visit<'ast> for Collector<'_> {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        let outer = self.module;
        self.module = self.cx.inner_module(outer, m);
        syn::visit::visit_item_mod(self, m);
        self.module = outer;
    }

    fn visit_item_static(&mut self, s: &'ast syn::ItemStatic) {
        self.declare(s, DeclKind::Static);
        syn::visit::visit_item_static(self, s);
    }

    fn visit_item_macro(&mut self, m: &'ast syn::ItemMacro) {
        let kind = match m.mac.path.segments.last() {
            Some(s) if s.ident == "thread_local" => DeclKind::ThreadLocal,
            Some(s) if s.ident == "lazy_static" => DeclKind::LazyStatic,
            _ => return,
        };
        for s in macro_statics(&m.mac) {
            self.declare(&s, kind);
        }
    }

    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        let guards = std::mem::take(&mut self.guards);
        let imports = self.imports.len();
        // A body is read in the scope of the items it declares.
        let module = self.module;
        self.module = self.cx.body_module(module, &f.sig.ident, &f.block);
        syn::visit::visit_item_fn(self, f);
        self.module = module;
        self.imports.truncate(imports);
        self.guards = guards;
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        let guards = std::mem::take(&mut self.guards);
        let imports = self.imports.len();
        let module = self.module;
        self.module = self.cx.body_module(module, &f.sig.ident, &f.block);
        syn::visit::visit_impl_item_fn(self, f);
        self.module = module;
        self.imports.truncate(imports);
        self.guards = guards;
    }

    fn visit_block(&mut self, b: &'ast syn::Block) {
        let aliases_before = self.local_aliases.len();
        let statics_before = self.local_statics.len();
        for stmt in &b.stmts {
            match stmt {
                syn::Stmt::Item(syn::Item::Use(u)) => {
                    flatten_use(&u.tree, &mut Vec::new(), &mut self.imports)
                }
                syn::Stmt::Item(syn::Item::Type(t)) if t.generics.params.is_empty() => {
                    let ty = self.declared_type(&t.ty);
                    self.local_aliases.push((t.ident.to_string(), ty));
                }
                syn::Stmt::Item(syn::Item::Static(st)) => {
                    let def = self.span(&st.ident);
                    self.local_statics.push((st.ident.to_string(), def));
                    self.types.insert(def, (*st.ty).clone());
                }
                _ => {}
            }
        }
        syn::visit::visit_block(self, b);
        self.local_aliases.truncate(aliases_before);
        self.local_statics.truncate(statics_before);
    }

    fn visit_local(&mut self, l: &'ast syn::Local) {
        if let Some(init) = &l.init {
            if let Some(g) = self.root(&init.expr) {
                self.bind(&l.pat, g);
                if let Some((_, els)) = &init.diverge {
                    self.visit_expr(els);
                }
                return;
            }
        }
        syn::visit::visit_local(self, l);
    }

    fn visit_expr_let(&mut self, l: &'ast syn::ExprLet) {
        if let Some(g) = self.root(&l.expr) {
            self.bind(&l.pat, g);
            return;
        }
        syn::visit::visit_expr_let(self, l);
    }

    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        let method = m.method.to_string();
        let Some(g) = self.root(&m.receiver) else {
            return syn::visit::visit_expr_method_call(self, m);
        };
        let site = self.span(&m.method);
        if matches!(method.as_str(), "with" | "with_borrow_mut" | "with_borrow") {
            // `G.with(|c| ..)`: the closure's parameter is the global's contents.
            for a in &m.args {
                if let Expr::Closure(cl) = a {
                    if let Some(p) = cl.inputs.first() {
                        self.bind(p, g);
                    }
                    self.visit_expr(&cl.body);
                } else {
                    self.visit_expr(a);
                }
            }
            return;
        }
        let op = if crate::syntax::ADDS_ELEMENTS.contains(&method.as_str())
            || method == "get_or_insert_with"
        {
            Some(Op::Grow)
        } else if SHRINKING.contains(&method.as_str()) {
            Some(Op::Shrink)
        } else if INITIALIZING.contains(&method.as_str()) {
            let mut allocations = Vec::new();
            for a in &m.args {
                allocations.extend(self.allocations(g, a));
            }
            Some(Op::Init { allocations })
        } else {
            None
        };
        if let Some(op) = op {
            self.record(g, site, op);
        }
        for a in &m.args {
            self.visit_expr(a);
        }
    }

    fn visit_expr_assign(&mut self, a: &'ast syn::ExprAssign) {
        // `*G.lock().unwrap() = v`, `*guard = v`, `unsafe { G = v }`; not `guard.field = v`.
        if let Some(g) = self.root(&a.left) {
            let allocations = self.allocations(g, &a.right);
            let site = self.span(a);
            self.record(g, site, Op::Replace { allocations });
            self.visit_expr(&a.right);
            return;
        }
        syn::visit::visit_expr_assign(self, a);
    }

    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        let name = match &*call.func {
            Expr::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
            _ => None,
        };
        match name.as_deref() {
            // `drop(guard)` releases the lock and does nothing to the contents.
            Some("drop") if call.args.len() == 1 && self.root(&call.args[0]).is_some() => {}
            // `mem::take(&mut *g)`, `mem::replace(..)`, `mem::swap(..)` empty or swap it.
            Some("take" | "replace" | "swap") => {
                for a in &call.args {
                    if let Some(g) = self.root(a) {
                        let site = self.span(&call.func);
                        self.record(g, site, Op::Shrink);
                    } else {
                        self.visit_expr(a);
                    }
                }
            }
            _ => syn::visit::visit_expr_call(self, call),
        }
    }

    fn visit_expr_index(&mut self, i: &'ast syn::ExprIndex) {
        // `G.lock().unwrap()[k]`, read or written: one element, not the collection's size.
        if self.root(&i.expr).is_some() {
            return self.visit_expr(&i.index);
        }
        syn::visit::visit_expr_index(self, i);
    }

    fn visit_expr_field(&mut self, f: &'ast syn::ExprField) {
        // `G.lock().unwrap().field`: a part of a global struct, which is not a collection.
        if self.root(&f.base).is_some() {
            return;
        }
        syn::visit::visit_expr_field(self, f);
    }

    fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
        // A global (or its guard) used any other way: passed on, returned, matched...
        if let Some(g) = self.global_of_path(&p.path) {
            let site = self.span(p);
            self.record(g, site, Op::Escapes);
        }
    }
}
