//! The call graph: which fn calls which, from where, with what, and whether on every path.
//!
//! Built in two steps, like every crate-wide fact: [`collect`] runs on the thread that holds a
//! file's syntax tree and turns each fn body into plain [`FnFacts`]; [`CallGraph::build`] links
//! the facts of all files into a petgraph graph once the trees are gone.
//!
//! What a call resolves to (best effort, and never a guess):
//! - paths to free fns, through `use` aliases, globs, `self::`/`super::`/`crate::` (the
//!   [`ItemIndex`]'s resolution), and fns nested in a fn body, by name; a body is read in the
//!   scope of the items it declares, whose impls (and those of `const _: () = { .. }`) are
//!   walked like the module's;
//! - methods, trait calls, operators, `*`, `[]` and format placeholders, by the types of the
//!   expressions involved: the walk of a body computes, along with the calls, the type of each
//!   expression as far as the source tells (`self`, typed parameters and locals, fields,
//!   literals, what resolved calls return), and the [`crate::semantics`] layer picks the fn.
//!
//! What it does not resolve: calls through closures kept for later, fn pointers, trait
//! objects and generic parameters, methods of types whose methods we do not all see, calls
//! from a trait's default method to another method (an implementor may override the callee),
//! and calls inside unknown macros. A name bound as a local (a parameter or `let` holding a
//! closure) is never taken for a fn, and a local bound twice in a body has no type.
//!
//! A call is *certain* when every path through its fn makes it before the fn returns: a
//! forward must-analysis over the body's structure, where `return`, `?`, panicking macros
//! and unknown macros (which may hide a `return`) are ways out, branches meet, and closures
//! and async blocks run later (their calls are never certain).

use std::collections::{BTreeMap, HashMap};

use petgraph::graph::{DiGraph, NodeIndex};
use syn::visit::Visit;
use syn::{Expr, Stmt};

use crate::consteval::ConstExpr;
use crate::index::{
    flatten_use, Import, ItemId, ItemIndex, ItemKind, ItemTypes, ModuleId, NameSet, Names,
    Resolution,
};
use crate::lint::{FactSource, FileContext};
use crate::semantics::{MethodCall, Resolved};
use crate::span::Span;
use crate::std_macros::{self, MacroArgs, Placeholder};
use crate::syntax::segment_names;
use crate::types::{type_params, Mutability, Receiver, Ty};

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
    /// How messages name it: `f`, `Type::f`, `<Type as Trait>::f`, `Trait::f` (a default).
    pub path: String,
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
    /// A fn by its definition's name span: a fn nested in a fn body, or a method, trait
    /// default or operator impl that the semantic layer resolved.
    Def(Span),
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
    /// Whether the future the call returns is awaited right there (`f().await`,
    /// `Box::pin(f()).await`): an async fn's body then runs on this stack, inside this poll.
    pub awaited: bool,
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
        in_trait: None,
        generics: Vec::new(),
        owner: None,
        fn_name: None,
        fn_def: None,
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
    /// The self type of the enclosing `impl`, aliases expanded ([`Ty::SelfTy`] in a trait).
    self_ty: Option<Ty>,
    /// The trait whose default methods are being collected.
    in_trait: Option<String>,
    /// The type parameters of the enclosing impl or trait.
    generics: Vec<String>,
    /// How messages name the enclosing impl or trait: `Type`, `<Type as Trait>`, `Trait`.
    owner: Option<String>,
    /// The fn whose body is being collected, and its definition.
    fn_name: Option<String>,
    fn_def: Option<Span>,
    /// Fns declared in the enclosing blocks, innermost last: nested fns by their definition,
    /// foreign fns (which we cannot follow) as `None`.
    nested: Vec<(String, Option<Span>)>,
    /// `use` items of the enclosing blocks.
    imports: Vec<Import>,
    out: Vec<FnFacts>,
}

impl Collector<'_> {
    fn span(&self, node: &impl crate::span::Ends) -> Span {
        Span::of_node(self.cx.file, node)
    }

    /// A name's span, without printing it into a token stream as [`Collector::span`] does.
    fn ident_span(&self, ident: &syn::Ident) -> Span {
        Span::of(self.cx.file, ident.span())
    }

    /// A written type, with `Self` and the crate's aliases replaced.
    fn lower(&self, ty: &syn::Type, generics: &[String]) -> Ty {
        let t = Ty::from_syn(ty, generics);
        let t = match &self.self_ty {
            Some(s) => t.subst_self(s),
            None => t,
        };
        self.cx.semantics.expand(self.cx.index, &t, self.module)
    }

    fn items(&mut self, items: &[syn::Item]) {
        for item in items {
            match item {
                syn::Item::Fn(f) => self.body_fn(&f.attrs, &f.sig, Some(&f.block)),
                syn::Item::Impl(imp) => {
                    let generics = type_params(&imp.generics);
                    let self_ty = Ty::from_syn(&imp.self_ty, &generics);
                    let self_ty = self
                        .cx
                        .semantics
                        .expand(self.cx.index, &self_ty, self.module);
                    let ty_name = self_ty
                        .head()
                        .map(|h| crate::types::type_name(h).to_string())
                        .unwrap_or_else(|| compact_tokens(&imp.self_ty));
                    let owner = match &imp.trait_ {
                        Some((t, _)) => format!(
                            "<{ty_name} as {}>",
                            t.segments.last().map(compact_tokens).unwrap_or_default()
                        ),
                        None => ty_name,
                    };
                    let outer_owner = self.owner.replace(owner);
                    let outer = self.self_ty.replace(self_ty);
                    let outer_generics = std::mem::replace(&mut self.generics, generics);
                    for it in &imp.items {
                        if let syn::ImplItem::Fn(f) = it {
                            self.body_fn(&f.attrs, &f.sig, Some(&f.block));
                        }
                    }
                    self.generics = outer_generics;
                    self.self_ty = outer;
                    self.owner = outer_owner;
                }
                syn::Item::Trait(t) => {
                    let outer = self.in_trait.replace(t.ident.to_string());
                    let outer_owner = self.owner.replace(t.ident.to_string());
                    let outer_ty = self.self_ty.replace(Ty::SelfTy);
                    let outer_generics =
                        std::mem::replace(&mut self.generics, type_params(&t.generics));
                    for it in &t.items {
                        if let syn::TraitItem::Fn(f) = it {
                            self.body_fn(&f.attrs, &f.sig, f.default.as_ref());
                        }
                    }
                    self.generics = outer_generics;
                    self.self_ty = outer_ty;
                    self.in_trait = outer;
                    self.owner = outer_owner;
                }
                syn::Item::Mod(m) => {
                    if let Some((_, content)) = &m.content {
                        let outer = self.module;
                        self.module = self.cx.inner_module(outer, m);
                        self.items(content);
                        self.module = outer;
                    }
                }
                // `const _: () = { impl Trait for T { .. } };`
                syn::Item::Const(c) => {
                    if let Expr::Block(b) = &*c.expr {
                        let items: Vec<syn::Item> = b
                            .block
                            .stmts
                            .iter()
                            .filter_map(|s| match s {
                                Stmt::Item(item) => Some(item.clone()),
                                _ => None,
                            })
                            .collect();
                        if !items.is_empty() {
                            let outer = self.module;
                            self.module = self.cx.body_module(outer, &c.ident, &b.block);
                            self.items(&items);
                            self.module = outer;
                        }
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
        let mut bound = NameSet::default();
        let mut env = HashMap::default();
        let mut generics = self.generics.clone();
        generics.extend(type_params(&sig.generics));
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
                    if let Some(n) = &name {
                        let ty = self.lower(&t.ty, &generics);
                        if self.cx.semantics.worth_tracking(&ty) {
                            env.insert(n.clone(), ty);
                        }
                    }
                    params.push(Param {
                        name,
                        size: param_size(&t.ty),
                        rebound: false,
                    });
                }
            }
        }
        let receiver = match (crate::types::receiver_of(sig), &self.self_ty) {
            (Receiver::Value, Some(t)) => t.clone(),
            (Receiver::Ref(m), Some(t)) => Ty::Ref(m, Box::new(t.clone())),
            _ => Ty::Unknown,
        };
        let ret = match &sig.output {
            syn::ReturnType::Default => Ty::Tuple(Vec::new()),
            syn::ReturnType::Type(_, t) => self.lower(t, &generics),
        };
        let mut facts = FnFacts {
            name: sig.ident.to_string(),
            path: match &self.owner {
                Some(o) => format!("{o}::{}", sig.ident),
                None => sig.ident.to_string(),
            },
            def: self.ident_span(&sig.ident),
            module: self.module,
            params,
            calls: Vec::new(),
            literal_tests: Vec::new(),
            has_body: body.is_some(),
            // A fn that returns an async block as its future runs that block when the future
            // is polled, as an async fn does.
            is_async: sig.asyncness.is_some() || body.is_some_and(|b| future_tail(b).is_some()),
            rewritten_by: rewriting_attribute(attrs),
        };
        let Some(body) = body else {
            self.out.push(facts);
            return;
        };
        let outer_fn = self.fn_name.replace(facts.name.clone());
        let outer_def = self.fn_def.replace(facts.def);
        let is_test = attrs
            .iter()
            .any(|a| a.path().segments.last().is_some_and(|s| s.ident == "test"));
        let nested_before = self.nested.len();
        let imports_before = self.imports.len();
        // The body is read in the scope of the items it declares.
        let outer_module = self.module;
        self.module = self.cx.index.body_module(facts.def).unwrap_or(outer_module);
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
            nested_items: Vec::new(),
            callees: HashMap::default(),
            env,
            receiver,
            ret,
            expected: None,
            tail_local: tail_local(body),
            awaiting: false,
            awaited_call: false,
            depth: 0,
            future_tail: future_tail(body),
        };
        flow.expected = Some(flow.ret.clone());
        flow.block(body);
        let end = meet(flow.exits.take(), flow.cur.take());
        let nested_bodies = std::mem::take(&mut flow.nested_bodies);
        let nested_items = std::mem::take(&mut flow.nested_items);
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
        self.fn_name = outer_fn;
        self.fn_def = outer_def;
        // Fns nested in the body are fns of their own, which see the same nested names (but
        // not the impl's `self`).
        let outer_ty = self.self_ty.take();
        let outer_owner = self.owner.take();
        let outer_trait = self.in_trait.take();
        for f in nested_bodies {
            self.body_fn(&f.attrs, &f.sig, Some(&f.block));
        }
        // Impls and traits declared in the body: `fn f() { struct A; impl Display for A { .. } }`.
        let outer_generics = std::mem::take(&mut self.generics);
        self.items(&nested_items);
        self.generics = outer_generics;
        self.module = outer_module;
        self.self_ty = outer_ty;
        self.owner = outer_owner;
        self.in_trait = outer_trait;
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
    // Rewrites `async fn f(..) { body }` into `fn f(..) -> Pin<Box<dyn Future>> {
    // Box::pin(async move { body }) }`: the same calls, made when the future is polled.
    "async_trait",
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

/// Whether an item inside a fn body holds fn bodies that [`Collector::items`] reads.
fn declares_bodies(item: &syn::Item) -> bool {
    match item {
        syn::Item::Impl(_) | syn::Item::Trait(_) | syn::Item::Mod(_) => true,
        syn::Item::Const(c) => matches!(*c.expr, Expr::Block(_)),
        _ => false,
    }
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
    bound: &'c NameSet,
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
    /// Impls, traits, modules and const blocks declared in the body (cloned, as rare).
    nested_items: Vec<syn::Item>,
    /// Interned callees, so that the sets cloned at every branch hold plain numbers.
    callees: HashMap<Callee, u32, Names>,
    /// The types of the parameters and locals worth tracking (see
    /// [`crate::semantics::Semantics::worth_tracking`]); trusted only for names bound once.
    env: HashMap<String, Ty, Names>,
    /// The type of `self`.
    receiver: Ty,
    /// The fn's return type.
    ret: Ty,
    /// The type the context expects of the expression about to be walked (a `let` with a
    /// written type, a struct field, the fn's tail): it decides `Default::default()` and
    /// `into()`. Taken by the first expression walked.
    expected: Option<Ty>,
    /// The local that the fn body ends with (`let x = ..; x`), whose type is the return type.
    tail_local: Option<String>,
    /// Set while walking the operand of `.await`; taken by the first expression walked.
    awaiting: bool,
    /// Whether the call about to be recorded is awaited.
    awaited_call: bool,
    /// How many blocks deep the walk is (1: the fn's own block).
    depth: u32,
    /// The async block the fn returns as its future, by address (see [`future_tail`]).
    future_tail: Option<*const syn::ExprAsync>,
}

/// The operator traits: a binary operator, the trait and method it calls, and the method a
/// trait that does not write it falls back to (`ne` is `!eq` unless written).
const OPERATORS: &[(&str, &str, &str, Option<&str>)] = &[
    ("==", "PartialEq", "eq", None),
    ("!=", "PartialEq", "ne", Some("eq")),
    ("<", "PartialOrd", "lt", Some("partial_cmp")),
    ("<=", "PartialOrd", "le", Some("partial_cmp")),
    (">", "PartialOrd", "gt", Some("partial_cmp")),
    (">=", "PartialOrd", "ge", Some("partial_cmp")),
    ("+", "Add", "add", None),
    ("-", "Sub", "sub", None),
    ("*", "Mul", "mul", None),
    ("/", "Div", "div", None),
    ("%", "Rem", "rem", None),
    ("&", "BitAnd", "bitand", None),
    ("|", "BitOr", "bitor", None),
    ("^", "BitXor", "bitxor", None),
    ("<<", "Shl", "shl", None),
    (">>", "Shr", "shr", None),
    ("+=", "AddAssign", "add_assign", None),
    ("-=", "SubAssign", "sub_assign", None),
    ("*=", "MulAssign", "mul_assign", None),
    ("/=", "DivAssign", "div_assign", None),
    ("%=", "RemAssign", "rem_assign", None),
];

/// How an operator is written, as in [`OPERATORS`] (without printing its tokens).
fn op_str(op: &syn::BinOp) -> &'static str {
    use syn::BinOp::*;
    match op {
        Add(_) => "+",
        Sub(_) => "-",
        Mul(_) => "*",
        Div(_) => "/",
        Rem(_) => "%",
        And(_) => "&&",
        Or(_) => "||",
        BitXor(_) => "^",
        BitAnd(_) => "&",
        BitOr(_) => "|",
        Shl(_) => "<<",
        Shr(_) => ">>",
        Eq(_) => "==",
        Lt(_) => "<",
        Le(_) => "<=",
        Ne(_) => "!=",
        Ge(_) => ">=",
        Gt(_) => ">",
        AddAssign(_) => "+=",
        SubAssign(_) => "-=",
        MulAssign(_) => "*=",
        DivAssign(_) => "/=",
        RemAssign(_) => "%=",
        BitXorAssign(_) => "^=",
        BitAndAssign(_) => "&=",
        BitOrAssign(_) => "|=",
        ShlAssign(_) => "<<=",
        ShrAssign(_) => ">>=",
        _ => "",
    }
}

/// std's traits whose methods may be called by path (`Default::default()`, `Clone::clone(x)`),
/// with how each method takes `self`.
const STD_TRAIT_METHODS: &[(&str, &str, Receiver)] = &[
    ("Default", "default", Receiver::None),
    ("Clone", "clone", Receiver::Ref(Mutability::Shared)),
    ("PartialEq", "eq", Receiver::Ref(Mutability::Shared)),
    ("PartialEq", "ne", Receiver::Ref(Mutability::Shared)),
    (
        "PartialOrd",
        "partial_cmp",
        Receiver::Ref(Mutability::Shared),
    ),
    ("Ord", "cmp", Receiver::Ref(Mutability::Shared)),
    ("Hash", "hash", Receiver::Ref(Mutability::Shared)),
    ("Display", "fmt", Receiver::Ref(Mutability::Shared)),
    ("Debug", "fmt", Receiver::Ref(Mutability::Shared)),
    ("From", "from", Receiver::None),
    ("Deref", "deref", Receiver::Ref(Mutability::Shared)),
    ("DerefMut", "deref_mut", Receiver::Ref(Mutability::Mut)),
    ("Index", "index", Receiver::Ref(Mutability::Shared)),
    ("Drop", "drop", Receiver::Ref(Mutability::Mut)),
    ("Iterator", "next", Receiver::Ref(Mutability::Mut)),
];

impl Flow<'_, '_> {
    fn exit_here(&mut self) {
        self.exits = meet(self.exits.take(), self.cur.clone());
    }

    /// Walks `e` expecting a value of type `expected`.
    fn expr_expect(&mut self, e: &Expr, expected: Ty) -> Ty {
        self.expected = Some(expected);
        self.expr(e)
    }

    fn block(&mut self, block: &syn::Block) -> Ty {
        let expected = self.expected.take();
        // Nested fns and `use`s stay visible until the end of the fn body, so that the nested
        // fns (collected after it) see them too.
        for stmt in &block.stmts {
            match stmt {
                Stmt::Item(syn::Item::Fn(f)) => {
                    let def = self.c.ident_span(&f.sig.ident);
                    self.c.nested.push((f.sig.ident.to_string(), Some(def)));
                    self.nested_bodies.push(f.clone());
                }
                Stmt::Item(syn::Item::Use(u)) => {
                    flatten_use(&u.tree, &mut Vec::new(), &mut self.c.imports)
                }
                Stmt::Item(item) if self.depth == 0 && declares_bodies(item) => {
                    self.nested_items.push(item.clone())
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
        let mut ty = Ty::Tuple(Vec::new());
        let last = block.stmts.len().saturating_sub(1);
        self.depth += 1;
        for (i, stmt) in block.stmts.iter().enumerate() {
            ty = Ty::Tuple(Vec::new());
            match stmt {
                Stmt::Local(local) => self.local(local),
                Stmt::Expr(e, semi) => {
                    if i == last && semi.is_none() {
                        self.expected = expected.clone();
                    }
                    let t = self.expr(e);
                    if semi.is_none() {
                        ty = t;
                    }
                }
                Stmt::Macro(m) => {
                    self.mac(&m.mac);
                }
                Stmt::Item(_) => {}
            }
        }
        self.depth -= 1;
        ty
    }

    fn local(&mut self, local: &syn::Local) {
        let (pat, written) = match &local.pat {
            syn::Pat::Type(t) => (&*t.pat, Some(&*t.ty)),
            p => (p, None),
        };
        let name = match pat {
            syn::Pat::Ident(i) if i.subpat.is_none() => Some(i.ident.to_string()),
            _ => None,
        };
        let written = written.map(|t| {
            let generics = self.c.generics.clone();
            self.c.lower(t, &generics)
        });
        let Some(init) = &local.init else {
            match (name, written) {
                (Some(n), Some(t)) => self.track(n, t),
                _ => self.unbind(pat),
            }
            return;
        };
        let expected = match (&written, &name) {
            (Some(t), _) => Some(t.clone()),
            (None, Some(n)) if self.tail_local.as_ref() == Some(n) => Some(self.ret.clone()),
            _ => None,
        };
        self.expected = expected;
        let ty = self.expr(&init.expr);
        if let Some((_, diverge)) = &init.diverge {
            let save = self.cur.clone();
            self.expr(diverge);
            self.cur = save;
        }
        match name {
            Some(n) => self.track(n, written.unwrap_or(ty)),
            None => self.unbind(pat),
        }
    }

    /// `let name = ..` with a value of type `ty`. Only a binding in the fn's own block keeps a
    /// type: one in an inner block ends with it and the outer binding is back, which the walk
    /// does not follow, so the name has no type from there on.
    fn track(&mut self, name: String, ty: Ty) {
        if self.depth == 1 && self.c.cx.semantics.worth_tracking(&ty) {
            self.env.insert(name, ty);
        } else {
            self.env.remove(&name);
        }
    }

    /// The names a pattern binds (a `match` arm, `if let`, a closure's parameters..) have no
    /// type from there on.
    fn unbind(&mut self, pat: &syn::Pat) {
        if self.env.is_empty() {
            return;
        }
        let mut names = NameSet::default();
        bind_names(pat, &mut names);
        for n in names {
            self.env.remove(&n);
        }
    }

    /// The type of the local or parameter `name`, as far as the walk knows it.
    fn local_ty(&self, name: &str) -> Ty {
        self.env.get(name).cloned().unwrap_or(Ty::Unknown)
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

    /// Walks an expression in evaluation order, recording its calls; returns its type, as far
    /// as it is known.
    fn expr(&mut self, e: &Expr) -> Ty {
        let expected = self.expected.take();
        let awaited = std::mem::take(&mut self.awaiting);
        match e {
            Expr::Call(call) => self.call(call, expected, awaited),
            Expr::MethodCall(mc) => self.method_call(mc, expected, awaited),
            Expr::Closure(cl) => {
                cl.inputs.iter().for_each(|p| self.unbind(p));
                self.deferred(&cl.body, None);
                Ty::Unknown
            }
            // The future a fn returns (`Box::pin(async move { .. })`, as `#[async_trait]`
            // writes it) and an async block awaited in place run as part of the body.
            Expr::Async(a) if awaited || self.future_tail == Some(a as *const _) => {
                self.expected = expected;
                self.block(&a.block);
                Ty::Unknown
            }
            Expr::Async(a) => {
                let body: &syn::Block = &a.block;
                let cur = self.cur.take();
                let exits = self.exits.take();
                let loops = std::mem::take(&mut self.loops);
                self.block(body);
                self.loops = loops;
                self.exits = exits;
                self.cur = cur;
                Ty::Unknown
            }
            Expr::Return(r) => {
                if let Some(v) = &r.expr {
                    let ret = self.ret.clone();
                    self.expr_expect(v, ret);
                }
                self.exit_here();
                self.cur = None;
                Ty::Never
            }
            Expr::Try(t) => {
                self.expr(&t.expr);
                self.exit_here();
                Ty::Unknown
            }
            Expr::If(i) => {
                self.expr(&i.cond);
                match &i.else_branch {
                    Some((_, els)) => {
                        let then = &i.then_branch;
                        let save = self.cur.clone();
                        self.expected = expected.clone();
                        self.block(then);
                        let after_then = self.cur.take();
                        self.cur = save;
                        self.expected = expected;
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
                Ty::Unknown
            }
            Expr::Match(m) => {
                self.expr(&m.expr);
                let save = self.cur.clone();
                let mut out: Option<Option<Must>> = None;
                for arm in &m.arms {
                    self.unbind(&arm.pat);
                    self.cur = save.clone();
                    if let syn::Pat::Guard(g) = &arm.pat {
                        self.expr(&g.guard);
                    }
                    self.expected = expected.clone();
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
                Ty::Unknown
            }
            Expr::While(w) => {
                self.expr(&w.cond);
                let save = self.cur.clone();
                self.loop_body(w.label.as_ref(), &w.body);
                self.cur = save;
                Ty::Tuple(Vec::new())
            }
            Expr::ForLoop(f) => {
                self.expr(&f.expr);
                self.unbind(&f.pat);
                let save = self.cur.clone();
                self.loop_body(f.label.as_ref(), &f.body);
                self.cur = save;
                Ty::Tuple(Vec::new())
            }
            Expr::Loop(l) => {
                let breaks = self.loop_body(l.label.as_ref(), &l.body);
                // The path that never leaves the loop stops recursing too: it counts as a way
                // out with what one turn of the body certainly called.
                self.exit_here();
                self.cur = breaks;
                Ty::Unknown
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
                Ty::Never
            }
            Expr::Continue(_) => {
                self.cur = None;
                Ty::Never
            }
            Expr::Binary(b) => self.binary(b),
            Expr::Assign(a) => {
                self.expr(&a.right);
                self.expr(&a.left);
                Ty::Tuple(Vec::new())
            }
            Expr::Block(b) => {
                self.expected = expected;
                self.block(&b.block)
            }
            Expr::Unsafe(u) => {
                self.expected = expected;
                self.block(&u.block)
            }
            Expr::Const(_) => Ty::Unknown,
            Expr::Macro(m) => self.mac(&m.mac),
            Expr::Let(l) => {
                self.expr(&l.expr);
                self.unbind(&l.pat);
                Ty::named("bool")
            }
            Expr::Array(a) => {
                a.elems.iter().for_each(|x| {
                    self.expr(x);
                });
                Ty::Unknown
            }
            Expr::Tuple(t) => Ty::Tuple(t.elems.iter().map(|x| self.expr(x)).collect()),
            Expr::Struct(s) => self.struct_lit(s),
            Expr::Await(a) => {
                self.awaiting = true;
                self.expr(&a.base);
                self.awaiting = false;
                Ty::Unknown
            }
            Expr::Cast(c) => {
                self.expr(&c.expr);
                let generics = self.c.generics.clone();
                self.c.lower(&c.ty, &generics)
            }
            Expr::Field(f) => {
                let base = self.expr(&f.base);
                match &f.member {
                    syn::Member::Named(n) => self.c.cx.semantics.field(
                        self.c.cx.index,
                        &base,
                        &n.to_string(),
                        self.c.module,
                    ),
                    syn::Member::Unnamed(i) => match base.strip_refs() {
                        Ty::Tuple(ts) => ts.get(i.index as usize).cloned().unwrap_or(Ty::Unknown),
                        b => self.c.cx.semantics.field(
                            self.c.cx.index,
                            b,
                            &i.index.to_string(),
                            self.c.module,
                        ),
                    },
                }
            }
            Expr::Group(g) => {
                self.expected = expected;
                self.awaiting = awaited;
                self.expr(&g.expr)
            }
            Expr::Paren(p) => {
                self.expected = expected;
                self.awaiting = awaited;
                self.expr(&p.expr)
            }
            Expr::Index(i) => {
                let base = self.expr(&i.expr);
                let index = self.expr(&i.index);
                self.index_op(i, base, index)
            }
            Expr::Range(r) => {
                if let Some(s) = &r.start {
                    self.expr(s);
                }
                if let Some(s) = &r.end {
                    self.expr(s);
                }
                Ty::Unknown
            }
            Expr::Reference(r) => {
                let m = if r.mutability.is_some() {
                    Mutability::Mut
                } else {
                    Mutability::Shared
                };
                if let Some(Ty::Ref(_, inner)) = expected {
                    self.expected = Some(*inner);
                }
                Ty::Ref(m, Box::new(self.expr(&r.expr)))
            }
            Expr::RawAddr(r) => {
                self.expr(&r.expr);
                Ty::Unknown
            }
            Expr::Repeat(r) => {
                self.expr(&r.expr);
                Ty::Unknown
            }
            Expr::Unary(u) => {
                let t = self.expr(&u.expr);
                match u.op {
                    syn::UnOp::Deref(_) => self.deref_op(u, t),
                    syn::UnOp::Not(_) if t.head() == Some("bool") => t,
                    _ => Ty::Unknown,
                }
            }
            Expr::Yield(y) => {
                if let Some(v) = &y.expr {
                    self.expr(v);
                }
                Ty::Unknown
            }
            Expr::Lit(l) => Ty::of_lit(&l.lit),
            Expr::Path(p) => self.path_value(p),
            // Expressions that cannot call anything, and syntax we do not model (`try`
            // blocks, verbatim tokens): nothing certain, no way out assumed.
            _ => Ty::Unknown,
        }
    }

    /// The type of a path used as a value: `self`, a local, a unit struct.
    fn path_value(&self, p: &syn::ExprPath) -> Ty {
        if p.qself.is_some() {
            return Ty::Unknown;
        }
        if let Some(ident) = p.path.get_ident() {
            if ident == "self" {
                return self.receiver.clone();
            }
            if self.env.is_empty() {
                return Ty::Unknown;
            }
            let name = ident.to_string();
            if self.env.contains_key(&name) {
                return self.local_ty(&name);
            }
        }
        Ty::Unknown
    }

    fn call(&mut self, call: &syn::ExprCall, expected: Option<Ty>, awaited: bool) -> Ty {
        // A closure called where it is written runs right there: `(|| f(x))()`.
        if let Expr::Closure(cl) = peel(&call.func) {
            for a in &call.args {
                self.expr(a);
            }
            cl.inputs.iter().for_each(|p| self.unbind(p));
            return self.expr(&cl.body);
        }
        self.expr(&call.func);
        let spawned = self.spawned_closure(&call.func, call.args.iter());
        // `Box::pin(f()).await` awaits `f()`.
        let pins = matches!(&*call.func, Expr::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "pin"));
        let arg_tys = if awaited && pins && call.args.len() == 1 {
            self.awaiting = true;
            vec![self.expr(&call.args[0])]
        } else {
            self.args(call.args.iter(), spawned)
        };
        self.awaited_call = awaited;
        let Expr::Path(p) = &*call.func else {
            return Ty::Unknown;
        };
        if let Some(callee) = self.resolve_fn(&p.path) {
            let index = self.c.cx.index;
            let ret = match &callee {
                Callee::Item(item) => match index.item(*item).types.as_deref() {
                    // Read in the module that wrote it.
                    Some(ItemTypes::Fn { ret, .. }) => {
                        let module = index.item(*item).module;
                        self.c.cx.semantics.expand(index, ret, module)
                    }
                    _ => Ty::Unknown,
                },
                Callee::Def(_) => Ty::Unknown,
            };
            let args = call.args.iter().map(|a| self.arg(a)).collect();
            let (span, whole) = (self.c.span(&call.func), self.c.span(call));
            self.record(callee, span, whole, args);
            return ret;
        }
        let resolved = self.typed_path_call(p, &arg_tys, expected.unwrap_or(Ty::Unknown));
        match resolved {
            Some(r) => {
                if let Some(def) = r.def {
                    let args = call.args.iter().map(|a| self.arg(a)).collect();
                    let (span, whole) = (self.c.span(&call.func), self.c.span(call));
                    self.record(Callee::Def(def), span, whole, args);
                }
                r.ret
            }
            None => Ty::Unknown,
        }
    }

    /// `Type::f(..)`, `Self::f(..)`, `Trait::f(x, ..)`, `<T as Trait>::f(..)`.
    fn typed_path_call(&self, p: &syn::ExprPath, args: &[Ty], expected: Ty) -> Option<Resolved> {
        let sem = self.c.cx.semantics;
        let index = self.c.cx.index;
        let from = self.c.module;
        let last = p.path.segments.last()?;
        if let Some(q) = &p.qself {
            let name = last.ident.to_string();
            // `<T as Trait>::f(..)`
            let generics = self.c.generics.clone();
            let self_ty = self.c.lower(&q.ty, &generics);
            let trait_ = p.path.segments.iter().nth(q.position.checked_sub(1)?)?;
            let written = self.written_args(&trait_.arguments);
            return self.trait_call(
                &trait_.ident.to_string(),
                written.as_deref(),
                &name,
                Some(self_ty),
                args,
                expected,
            );
        }
        let n_segs = p.path.segments.len();
        if n_segs < 2 {
            return None;
        }
        let prefix = &p.path.segments[n_segs - 2].ident.to_string();
        // `Into::into(x)`: `x.into()` written as a path, which runs `From::from` of the
        // expected type (unless the crate has a trait of its own named `Into`).
        if prefix == "Into" && last.ident == "into" && !sem.names_a_type(prefix) {
            let [arg] = args else { return None };
            return sem.into(index, arg, &expected, from);
        }
        if prefix != "Self"
            && !sem.names_a_type(prefix)
            && !STD_TRAIT_METHODS.iter().any(|(t, ..)| t == prefix)
        {
            // `Vec::new()`, `Arc::clone(..)`: no type or trait of ours.
            return None;
        }
        let name = last.ident.to_string();
        let mut type_path = p.path.clone();
        type_path.segments.pop();
        type_path.segments.pop_punct();
        if prefix == "Self" && n_segs == 2 {
            let self_ty = self.c.self_ty.clone()?;
            if self_ty == Ty::SelfTy {
                return self.trait_call(
                    self.c.in_trait.clone()?.as_str(),
                    None,
                    &name,
                    None,
                    args,
                    expected,
                );
            }
            return sem.assoc_call(index, &self_ty, &name, args, from);
        }
        match index.resolve_path(from, &self.c.imports, &type_path) {
            Resolution::Local(id) => {
                let item = index.item(id);
                if item.name != *prefix {
                    return None;
                }
                match item.kind {
                    ItemKind::Trait => {
                        let written = self.written_args(&type_path.segments.last()?.arguments);
                        self.trait_call(prefix, written.as_deref(), &name, None, args, expected)
                    }
                    ItemKind::Struct | ItemKind::Enum | ItemKind::Union | ItemKind::TypeAlias => {
                        let ty = sem.path_type(index, &type_path, from);
                        sem.assoc_call(index, &ty, &name, args, from)
                    }
                    _ => None,
                }
            }
            // std's traits by path: `Default::default()`, `fmt::Display::fmt(self, f)`.
            _ if STD_TRAIT_METHODS
                .iter()
                .any(|(t, m, _)| t == prefix && *m == name) =>
            {
                let written = self.written_args(&type_path.segments.last()?.arguments);
                self.trait_call(prefix, written.as_deref(), &name, None, args, expected)
            }
            _ => None,
        }
    }

    /// `Trait::name(args)`: the self type is the first argument's (through the reference the
    /// method takes), or, for a method without `self`, the expected type.
    fn trait_call(
        &self,
        trait_: &str,
        trait_args: Option<&[Ty]>,
        name: &str,
        self_ty: Option<Ty>,
        args: &[Ty],
        expected: Ty,
    ) -> Option<Resolved> {
        let sem = self.c.cx.semantics;
        let index = self.c.cx.index;
        let receiver = STD_TRAIT_METHODS
            .iter()
            .find(|(t, m, _)| *t == trait_ && *m == name)
            .map(|(_, _, r)| *r)
            .or_else(|| self.local_trait_receiver(trait_, name));
        let self_ty = match (self_ty, receiver) {
            (Some(t), _) => t,
            (None, Some(Receiver::None)) => expected,
            (None, Some(Receiver::Ref(_))) => match args.first()? {
                Ty::Ref(_, t) => (**t).clone(),
                _ => return None,
            },
            (None, Some(Receiver::Value)) => args.first()?.clone(),
            _ => return None,
        };
        let rest = match receiver {
            Some(Receiver::None) => args,
            _ => args.get(1..).unwrap_or(&[]),
        };
        if self_ty == Ty::SelfTy {
            // In a trait's default body, `Trait::f(self)` on `Self` runs this very default
            // when `f` is the fn itself; another method may be overridden by the implementor.
            let here = self.c.in_trait.as_deref() == Some(trait_)
                && self.c.fn_name.as_deref() == Some(name);
            return here.then_some(Resolved {
                def: self.c.fn_def,
                ret: Ty::Unknown,
            });
        }
        sem.trait_method_of(
            index,
            trait_,
            trait_args,
            name,
            &self_ty,
            Some(rest),
            self.c.module,
        )
    }

    /// The type arguments written on a path segment (`PartialEq<str>`), if any.
    fn written_args(&self, args: &syn::PathArguments) -> Option<Vec<Ty>> {
        let syn::PathArguments::AngleBracketed(a) = args else {
            return None;
        };
        let generics = self.c.generics.clone();
        Some(
            a.args
                .iter()
                .filter_map(|g| match g {
                    syn::GenericArgument::Type(t) => Some(self.c.lower(t, &generics)),
                    _ => None,
                })
                .collect(),
        )
    }

    /// How the workspace trait `trait_`'s method `name` takes `self`.
    fn local_trait_receiver(&self, trait_: &str, name: &str) -> Option<Receiver> {
        let index = self.c.cx.index;
        let mut path = syn::Path::from(syn::Ident::new(trait_, proc_macro2::Span::call_site()));
        path.leading_colon = None;
        let Resolution::Local(id) = index.resolve_path(self.c.module, &self.c.imports, &path)
        else {
            return None;
        };
        match index.item(id).types.as_deref() {
            Some(ItemTypes::Trait { methods, .. }) => methods
                .iter()
                .find(|m| &*m.name == name)
                .map(|m| m.receiver),
            _ => None,
        }
    }

    fn method_call(&mut self, mc: &syn::ExprMethodCall, expected: Option<Ty>, awaited: bool) -> Ty {
        let recv = self.expr(&mc.receiver);
        let spawned = self.spawned_method(mc);
        let arg_tys = self.args(mc.args.iter(), spawned);
        self.awaited_call = awaited;
        // In a trait's default body, `self.f()` on `Self` runs this default when `f` is the
        // fn itself (an implementor that overrides `f` does not run this body at all); any
        // other method may be overridden.
        let on_self = matches!(recv.strip_refs(), Ty::SelfTy);
        let call = if on_self {
            let here = self.c.in_trait.is_some()
                && self.c.fn_name.as_deref().is_some_and(|f| mc.method == f);
            MethodCall {
                derefs: Vec::new(),
                method: here.then_some(Resolved {
                    def: self.c.fn_def,
                    ret: Ty::Unknown,
                }),
            }
        } else if recv.is_unknown() {
            MethodCall::default()
        } else {
            self.c.cx.semantics.method_call(
                self.c.cx.index,
                &recv,
                &mc.method.to_string(),
                &arg_tys,
                &expected.unwrap_or(Ty::Unknown),
                self.c.module,
            )
        };
        // Spans are computed only for a call that is recorded: `Span::of_tokens` walks the
        // whole expression.
        let def = call.method.as_ref().and_then(|r| r.def);
        if !call.derefs.is_empty() || def.is_some() {
            let (span, whole) = (self.c.ident_span(&mc.method), self.c.span(mc));
            for d in call.derefs {
                self.record(Callee::Def(d), span, whole, vec![Arg::Other]);
            }
            if let Some(def) = def {
                // The receiver is the first argument of the method.
                let args = std::iter::once(Arg::Other)
                    .chain(mc.args.iter().map(|a| self.arg(a)))
                    .collect();
                self.record(Callee::Def(def), span, whole, args);
            }
        }
        call.method.map_or(Ty::Unknown, |r| r.ret)
    }

    fn binary(&mut self, b: &syn::ExprBinary) -> Ty {
        let lhs = self.expr(&b.left);
        let rhs = if matches!(b.op, syn::BinOp::And(_) | syn::BinOp::Or(_)) {
            let save = self.cur.clone();
            self.expr(&b.right);
            self.cur = meet(save, self.cur.take());
            Ty::named("bool")
        } else {
            self.expr(&b.right)
        };
        self.literal_test(b);
        let op = op_str(&b.op);
        let Some(&(_, trait_, method, fallback)) = OPERATORS.iter().find(|(o, ..)| *o == op) else {
            return Ty::named("bool");
        };
        let comparison = trait_.starts_with("Partial");
        // `a == b` compares through references (`impl PartialEq<&B> for &A`).
        let (self_ty, rhs) = if comparison {
            (lhs.strip_refs().clone(), rhs.strip_refs().clone())
        } else {
            (lhs, rhs)
        };
        let ret = if comparison {
            Ty::named("bool")
        } else {
            Ty::Unknown
        };
        if self_ty.is_primitive() || self_ty.head().is_none() {
            return if self_ty.is_primitive() { self_ty } else { ret };
        }
        let sem = self.c.cx.semantics;
        let index = self.c.cx.index;
        let rhs_arg = if comparison {
            Ty::Ref(Mutability::Shared, Box::new(rhs))
        } else {
            rhs
        };
        let found = sem
            .trait_method(
                index,
                trait_,
                method,
                &self_ty,
                Some(std::slice::from_ref(&rhs_arg)),
                self.c.module,
            )
            .or_else(|| {
                let f = fallback?;
                sem.trait_method(
                    index,
                    trait_,
                    f,
                    &self_ty,
                    Some(std::slice::from_ref(&rhs_arg)),
                    self.c.module,
                )
            });
        let Some(r) = found else { return ret };
        if let Some(def) = r.def {
            let span = self.c.span(&b.op);
            let whole = self.c.span(b);
            self.record(Callee::Def(def), span, whole, vec![Arg::Other, Arg::Other]);
        }
        if comparison {
            ret
        } else {
            r.ret
        }
    }

    /// `*e` on a value that is not a reference runs its type's `Deref::deref`.
    fn deref_op(&mut self, u: &syn::ExprUnary, t: Ty) -> Ty {
        match self
            .c
            .cx
            .semantics
            .deref(self.c.cx.index, &t, self.c.module)
        {
            Some((target, call)) => {
                if let Some(def) = call {
                    let span = self.c.span(&u.op);
                    let whole = self.c.span(u);
                    self.record(Callee::Def(def), span, whole, vec![Arg::Other]);
                }
                target
            }
            None => Ty::Unknown,
        }
    }

    /// `a[i]` on a type of the workspace runs its `Index::index` (through references).
    fn index_op(&mut self, e: &syn::ExprIndex, base: Ty, index_ty: Ty) -> Ty {
        let base = base.strip_refs().clone();
        if base.head().is_none() || base.is_primitive() {
            return Ty::Unknown;
        }
        let sem = self.c.cx.semantics;
        let Some(r) = sem.trait_method(
            self.c.cx.index,
            "Index",
            "index",
            &base,
            Some(std::slice::from_ref(&index_ty)),
            self.c.module,
        ) else {
            return Ty::Unknown;
        };
        if let Some(def) = r.def {
            let span = Span::of(self.c.cx.file, e.bracket_token.span.join());
            let whole = self.c.span(e);
            self.record(Callee::Def(def), span, whole, vec![Arg::Other, Arg::Other]);
        }
        match r.ret {
            Ty::Ref(_, t) => *t,
            _ => Ty::Unknown,
        }
    }

    fn struct_lit(&mut self, s: &syn::ExprStruct) -> Ty {
        let ty = if s.qself.is_none() && s.path.is_ident("Self") {
            self.c.self_ty.clone().unwrap_or(Ty::Unknown)
        } else {
            self.c
                .cx
                .semantics
                .path_type(self.c.cx.index, &s.path, self.c.module)
        };
        for f in &s.fields {
            let field_ty = match (&f.member, ty.is_unknown()) {
                (syn::Member::Named(n), false) => {
                    self.c
                        .cx
                        .semantics
                        .field(self.c.cx.index, &ty, &n.to_string(), self.c.module)
                }
                _ => Ty::Unknown,
            };
            self.expr_expect(&f.expr, field_ty);
        }
        if let Some(rest) = &s.rest {
            self.expr_expect(rest, ty.clone());
        }
        ty
    }

    /// Arguments, in order, with their types; a closure given to a spawned thread runs on
    /// that thread's stack.
    fn args<'e>(&mut self, args: impl Iterator<Item = &'e Expr>, spawned: Option<u64>) -> Vec<Ty> {
        let mut tys = Vec::new();
        for a in args {
            match (a, spawned) {
                (Expr::Closure(cl), Some(stack)) => {
                    cl.inputs.iter().for_each(|p| self.unbind(p));
                    self.deferred(&cl.body, Some(stack));
                    tys.push(Ty::Unknown);
                }
                _ => tys.push(self.expr(a)),
            }
        }
        tys
    }

    fn loop_body(&mut self, label: Option<&syn::Label>, body: &syn::Block) -> Option<Must> {
        self.loops.push(LoopFrame {
            label: label.map(|l| l.name.ident.to_string()),
            breaks: None,
        });
        self.block(body);
        self.loops.pop().and_then(|f| f.breaks)
    }

    fn mac(&mut self, mac: &syn::Macro) -> Ty {
        let Some(name) = mac.path.segments.last().map(|s| s.ident.to_string()) else {
            return Ty::Unknown;
        };
        let effect = std_macros::effect(&name);
        if let Some(MacroArgs {
            exprs,
            placeholders,
            ..
        }) = std_macros::read(mac)
        {
            // The arguments are expressions, evaluated in order; each placeholder then runs
            // its argument's `Display` or `Debug`.
            let tys: Vec<Ty> = exprs.iter().map(|a| self.expr(a)).collect();
            for Placeholder { arg, trait_ } in placeholders {
                let trait_ = match trait_ {
                    std_macros::FmtTrait::Display => "Display",
                    std_macros::FmtTrait::Debug => "Debug",
                    std_macros::FmtTrait::Other => continue,
                };
                let ty = match &arg {
                    std_macros::FmtArg::Expr(i) => tys[*i].clone(),
                    std_macros::FmtArg::Captured(n) if n == "self" => self.receiver.clone(),
                    std_macros::FmtArg::Captured(n) => self.local_ty(n),
                };
                self.format_call(mac, trait_, ty);
            }
            if name == "assert_eq" || name == "assert_ne" || name.starts_with("debug_assert_") {
                // `assert_eq!(a, b)` compares `a == b`.
                let (a, b) = (
                    tys[0].strip_refs().clone(),
                    tys.get(1).cloned().unwrap_or(Ty::Unknown),
                );
                if a.head().is_some() && !a.is_primitive() {
                    let r = self.c.cx.semantics.trait_method(
                        self.c.cx.index,
                        "PartialEq",
                        "eq",
                        &a,
                        Some(&[Ty::Ref(
                            Mutability::Shared,
                            Box::new(b.strip_refs().clone()),
                        )]),
                        self.c.module,
                    );
                    if let Some(def) = r.and_then(|r| r.def) {
                        let span = self.c.span(&mac.path);
                        self.record(Callee::Def(def), span, span, vec![Arg::Other, Arg::Other]);
                    }
                }
            }
        }
        match effect {
            Some(std_macros::Effect::Panics) => {
                self.exit_here();
                self.cur = None;
                Ty::Never
            }
            Some(std_macros::Effect::MayPanic) => {
                self.exit_here();
                // `ready!` gives the ready value; the assertions give `()`.
                if name == "ready" {
                    Ty::Unknown
                } else {
                    Ty::Tuple(Vec::new())
                }
            }
            Some(std_macros::Effect::Plain) if matches!(name.as_str(), "format") => {
                Ty::named("String")
            }
            Some(std_macros::Effect::Plain) => Ty::Unknown,
            // `bail!`/`try!`/`ensure!` may return: a way out, and then the path goes on.
            None => {
                self.exit_here();
                Ty::Unknown
            }
        }
    }

    /// A `{}` or `{:?}` placeholder formatting a value of type `ty`.
    fn format_call(&mut self, mac: &syn::Macro, trait_: &str, ty: Ty) {
        let base = ty.strip_refs();
        if base.head().is_none() || base.is_primitive() {
            return;
        }
        let r = self.c.cx.semantics.trait_method(
            self.c.cx.index,
            trait_,
            "fmt",
            base,
            None,
            self.c.module,
        );
        if let Some(def) = r.and_then(|r| r.def) {
            let span = self.c.span(&mac.path);
            let whole = self.c.span(mac);
            self.record(Callee::Def(def), span, whole, vec![Arg::Other, Arg::Other]);
        }
    }

    fn record(&mut self, callee: Callee, span: Span, expr: Span, args: Vec<Arg>) {
        let i = self.facts.calls.len();
        self.facts.calls.push(CallSite {
            callee: callee.clone(),
            span,
            expr,
            args,
            certain: false,
            stack: self.stack,
            awaited: std::mem::take(&mut self.awaited_call),
        });
        let next = self.callees.len() as u32;
        let id = *self.callees.entry(callee).or_insert(next);
        if let Some(cur) = &mut self.cur {
            cur.entry(id).or_default().push(i);
        }
    }

    /// A call to a free fn (through `use`s) or a nested fn.
    fn resolve_fn(&self, path: &syn::Path) -> Option<Callee> {
        let last = path.segments.last()?.ident.to_string();
        // Most calls go to other crates (`Some`, `Vec::new`, `format_args`...): a name that
        // no fn, method or nested fn of ours has cannot be ours.
        if !self.c.cx.index.callable_names().contains(&last)
            && !self.c.nested.iter().any(|(n, _)| *n == last)
        {
            return None;
        }
        let single = path.segments.len() == 1;
        if single {
            let name = &last;
            if path.leading_colon.is_none() {
                if self.bound.contains(name) || self.locals().names.contains(name) {
                    return None;
                }
                if let Some((_, def)) = self.c.nested.iter().rev().find(|(n, _)| n == name) {
                    return def.map(Callee::Def);
                }
            }
        }
        let index = self.c.cx.index;
        match index.resolve_path(self.c.module, &self.c.imports, path) {
            Resolution::Local(item) => {
                let it = index.item(item);
                match it.kind {
                    // `f(..)`, `alias(..)`, `m::f(..)`; not `f::something` past the fn, nor
                    // `glob::glob(..)` of a crate `glob` that the resolver took for our `glob`.
                    ItemKind::Fn if single || (it.name == last && self.prefix_is_module(path)) => {
                        Some(Callee::Item(item))
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
        // The closure first: most calls take none, and the name costs an allocation.
        if !args.any(|a| matches!(a, Expr::Closure(_)))
            || !p.path.segments.last()?.ident.to_string().contains("spawn")
        {
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
        if !mc.args.iter().any(|a| matches!(a, Expr::Closure(_)))
            || !mc.method.to_string().contains("spawn")
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

/// The async block a fn body returns as its future: `async move { .. }` or
/// `Box::pin(async move { .. })` as its tail.
fn future_tail(body: &syn::Block) -> Option<*const syn::ExprAsync> {
    let Stmt::Expr(tail, None) = body.stmts.last()? else {
        return None;
    };
    match tail {
        Expr::Async(a) => Some(a as *const _),
        Expr::Call(c) if c.args.len() == 1 => match (&*c.func, &c.args[0]) {
            (Expr::Path(p), Expr::Async(a))
                if p.path.segments.last().is_some_and(|s| s.ident == "pin") =>
            {
                Some(a as *const _)
            }
            _ => None,
        },
        _ => None,
    }
}

/// A type's tokens without the spaces the printer puts between them.
fn compact_tokens(ty: &impl quote::ToTokens) -> String {
    ty.to_token_stream()
        .to_string()
        .replace(" <", "<")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace("& ", "&")
}

/// The local a block ends with (`let x = ..; x`), if any.
fn tail_local(body: &syn::Block) -> Option<String> {
    match body.stmts.last()? {
        Stmt::Expr(Expr::Path(p), None) => p.path.get_ident().map(|i| i.to_string()),
        _ => None,
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

fn bind_names(pat: &syn::Pat, out: &mut NameSet) {
    struct V<'o>(&'o mut NameSet);
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
    names: NameSet,
    /// Names bound more than once, whose type at a use the walk cannot tell.
    rebound: NameSet,
    assigned: NameSet,
}

impl Visit<'_> for Bindings {
    fn visit_pat_ident(&mut self, i: &syn::PatIdent) {
        let name = i.ident.to_string();
        if self.names.contains(&name) {
            self.rebound.insert(name);
        } else {
            self.names.insert(name);
        }
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
        let mut by_def: HashMap<Span, NodeIndex, Names> =
            HashMap::with_capacity_and_hasher(fns.len(), Names::default());
        for (i, f) in fns.iter().enumerate() {
            let n = graph.add_node(FnRef(i));
            by_def.insert(f.def, n);
        }
        for (i, f) in fns.iter().enumerate() {
            let from = NodeIndex::new(i);
            for (ci, call) in f.calls.iter().enumerate() {
                let def = match &call.callee {
                    Callee::Item(item) => Some(index.item(*item).span),
                    Callee::Def(span) => Some(*span),
                };
                if let Some(&to) = def.as_ref().and_then(|d| by_def.get(d)) {
                    // Calling an async fn builds a future; its body runs when polled, on
                    // whatever stack polls it: not a call on this stack, unless the caller
                    // awaits it right there, polling it inside its own poll.
                    if !fns[to.index()].is_async || call.awaited {
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
