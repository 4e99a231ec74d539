//! Which allocations that do not escape move onto the per-call arena, and what they become.
//!
//! A site moves only when the arena type is a drop-in for every use of its local (see the
//! rules in [`super`]'s docs); the rewrite then replaces it with its arena twin. The arena
//! types borrow the call's region, so a wrong decision is a borrow error, never a dangling
//! pointer.

use std::collections::{HashMap, HashSet};

use proc_macro2::{Ident, Span as TokenSpan, TokenStream};
use quote::quote;
use syn::visit::Visit;
use syn::visit_mut::VisitMut;
use syn::{Expr, Pat};

use crate::escape::Decision;
use crate::span::{FileId, Span};
use crate::std_macros::{ArgList, ParsedArgs};
use crate::syntax::local_name;

/// The arena type a site becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Box,
    Vec,
    String,
}

/// Methods that the arena `Vec` has with the same meaning and result type as std's
/// (its own or its slice's). Methods returning a new collection are left out: the result
/// would be an arena type where the code expects a std one.
const VEC_METHODS: &[&str] = &[
    "push",
    "pop",
    "len",
    "is_empty",
    "clear",
    "truncate",
    "insert",
    "remove",
    "swap_remove",
    "retain",
    "retain_mut",
    "extend",
    "extend_from_slice",
    "iter",
    "iter_mut",
    "capacity",
    "reserve",
    "reserve_exact",
    "shrink_to_fit",
    "first",
    "last",
    "first_mut",
    "last_mut",
    "get",
    "get_mut",
    "contains",
    "sort",
    "sort_by",
    "sort_by_key",
    "sort_unstable",
    "sort_unstable_by",
    "sort_unstable_by_key",
    "dedup",
    "dedup_by_key",
    "reverse",
    "windows",
    "chunks",
    "chunks_exact",
    "binary_search",
    "starts_with",
    "ends_with",
    "drain",
    "as_slice",
    "as_mut_slice",
    "split_at",
    "split_at_mut",
    "swap",
    "fill",
    "join",
    "concat",
    "to_vec",
];
const STRING_METHODS: &[&str] = &[
    "push",
    "push_str",
    "pop",
    "len",
    "is_empty",
    "clear",
    "truncate",
    "insert",
    "insert_str",
    "remove",
    "retain",
    "capacity",
    "reserve",
    "as_str",
    "chars",
    "char_indices",
    "bytes",
    "lines",
    "split",
    "split_whitespace",
    "trim",
    "trim_start",
    "trim_end",
    "starts_with",
    "ends_with",
    "contains",
    "find",
    "rfind",
    "parse",
    "to_uppercase",
    "to_lowercase",
    "as_bytes",
    "to_string",
    "eq_ignore_ascii_case",
    "is_char_boundary",
    "get",
    "drain",
];
/// Methods that `Box<T>` itself has (so `b.m()` would not reach `T`'s method), or whose
/// result type mentions the box: left alone.
const BOX_OWN_METHODS: &[&str] = &[
    "clone",
    "as_ref",
    "as_mut",
    "borrow",
    "borrow_mut",
    "into_iter",
    "into",
    "leak",
    "into_raw",
    "downcast",
    "to_owned",
    "eq",
    "ne",
    "cmp",
    "partial_cmp",
    "hash",
    "fmt",
    "type_id",
    "into_inner",
    "into_pin",
    "as_ptr",
    "as_mut_ptr",
];
/// Methods of a `Vec` that holds moved locals which neither hand out an element nor need
/// anything of the element type (a `pop` would give an arena value where the code may
/// expect a std one; `sort` and `contains` compare elements). `push` is allowed apart, for
/// the moved locals that make its elements.
const HOLDER_METHODS: &[&str] = &[
    "len",
    "is_empty",
    "clear",
    "truncate",
    "capacity",
    "reserve",
    "reserve_exact",
    "shrink_to_fit",
    "reverse",
    "swap",
];
/// Methods whose argument may be `&v` of an arena value (it coerces to `&str`/`&[T]`, or the
/// method takes any iterable).
const REF_ARG_METHODS: &[&str] = &["push_str", "extend_from_slice", "extend"];
/// Macros that only format their arguments (by reference).
const FORMAT_MACROS: &[&str] = &[
    "println",
    "print",
    "eprintln",
    "eprint",
    "format",
    "format_args",
    "panic",
    "write",
    "writeln",
    "unreachable",
    "todo",
    "unimplemented",
];
/// Macros whose arguments are ordinary expressions, checked like the rest of the body.
const EXPR_MACROS: &[&str] = &[
    "assert",
    "debug_assert",
    "assert_eq",
    "assert_ne",
    "debug_assert_eq",
    "debug_assert_ne",
];

/// Moves the sites of `block` that do not escape, and whose local allows it, onto the
/// arena; returns the spans of the sites moved. `macro_args` holds the arguments of the
/// body's macros the decisions' analysis parsed (and takes those the checks here parse).
pub fn rewrite(
    file: FileId,
    block: &mut syn::Block,
    decisions: &[Decision],
    slice_params: &HashMap<String, Vec<bool>>,
    macro_args: &ParsedArgs,
) -> Vec<Span> {
    let arena = Ident::new("__gomem_arena", TokenSpan::mixed_site());
    let staying: HashSet<Span> = decisions
        .iter()
        .filter(|d| d.escapes.is_none())
        .map(|d| d.site.span)
        .collect();
    let mut facts = Facts {
        file,
        staying: &staying,
        nested: 0,
        lets: Vec::new(),
        bindings: HashMap::new(),
        pushes: Vec::new(),
    };
    facts.visit_block(block);
    // One candidate per name: two `let`s of moved sites under one name are left alone.
    let mut lets_of: HashMap<&str, usize> = HashMap::new();
    for f in &facts.lets {
        *lets_of.entry(&f.name).or_default() += 1;
    }
    // A value of constant size that never grows (`vec![a, b]` never pushed to, a `Box`
    // used only through `*`) stays as written: LLVM often removes such an allocation from
    // the plain code altogether, and cannot remove a bump allocation (Go would put it on
    // the stack).
    let mut candidates: HashMap<String, (Span, Kind)> = facts
        .lets
        .iter()
        .filter(|f| lets_of[f.name.as_str()] == 1)
        .filter(|f| !(f.fixed && never_grows(block, &f.name, f.kind)))
        .map(|f| (f.name.clone(), (f.span, f.kind)))
        .collect();
    // A written `Vec<Vec<u8>>` says what its elements are: it cannot hold moved locals.
    let typed: HashSet<&str> = facts
        .lets
        .iter()
        .filter(|f| f.typed)
        .map(|f| f.name.as_str())
        .collect();
    // Drop the candidates whose uses the arena type does not support, until none is left to
    // drop. A local pushed into another is moved only if that one is, with the same shape.
    // When a holder of moved locals fails, the locals pushed into it go instead: the holder
    // may still move as a plain vector of std values, which the next round checks.
    loop {
        let into = pushes_between(&facts.pushes, &candidates, &facts.bindings);
        let shapes: HashMap<String, Shape> = candidates
            .keys()
            .filter_map(|name| Some((name.clone(), shape_of(name, 0, &candidates, &into)?)))
            .collect();
        // The uses of every candidate that could pass, counted in one walk of the body.
        let checked: HashMap<&str, &Shape> = candidates
            .keys()
            .filter(|name| !(into.contains_key(*name) && typed.contains(name.as_str())))
            .filter_map(|name| Some((name.as_str(), shapes.get(name)?)))
            .collect();
        let mut uses = Uses::new(checked, &shapes, &facts.bindings, slice_params, macro_args);
        uses.visit_block(block);
        let mut out = HashSet::new();
        for name in candidates.keys() {
            if !uses.all_allowed(name) {
                match into.get(name) {
                    Some(inners) => out.extend(inners.iter().cloned()),
                    None => {
                        out.insert(name.clone());
                    }
                }
            }
        }
        if out.is_empty() {
            break;
        }
        candidates.retain(|name, _| !out.contains(name));
    }
    let chosen: HashMap<Span, Kind> = candidates.into_values().collect();
    if chosen.is_empty() {
        return Vec::new();
    }
    let mut rewriter = Rewriter {
        file,
        chosen: &chosen,
        arena: &arena,
        done: Vec::new(),
    };
    rewriter.visit_block_mut(block);
    if rewriter.done.is_empty() {
        return Vec::new();
    }
    let region = Ident::new("__gomem_region", TokenSpan::mixed_site());
    let result = Ident::new("__gomem_result", TokenSpan::mixed_site());
    // The body's value is bound before the region ends, so that its temporaries are gone
    // when the region drops. Kept as tokens, like the arena twins: nothing reads the body
    // as syntax again, and parsing it back would cost as much as analyzing it.
    let body = std::mem::take(&mut block.stmts);
    let tokens = quote! {
        let #region = ::gomem::arena::Region::enter();
        let #arena: &::gomem::arena::Bump = #region.bump();
        #[allow(clippy::let_and_return)]
        let #result = { #(#body)* };
        #result
    };
    block.stmts = vec![syn::Stmt::Expr(Expr::Verbatim(tokens), None)];
    rewriter.done
}

/// Whether the local `name` of `kind` keeps the size it was made with: a `Vec` that no
/// method grows and no `&mut` reaches, a `Box` used only through `*`. Uses are found by
/// name; a use the rule cannot read counts as growing (the site then moves as before).
fn never_grows(block: &syn::Block, name: &str, kind: Kind) -> bool {
    const GROWS: &[&str] = &[
        "push",
        "push_str",
        "extend",
        "extend_from_slice",
        "insert",
        "append",
        "resize",
        "resize_with",
        "reserve",
        "reserve_exact",
        "splice",
    ];
    struct Growth<'n> {
        name: &'n str,
        kind: Kind,
        grows: bool,
    }
    impl<'ast> Visit<'ast> for Growth<'_> {
        fn visit_expr(&mut self, e: &'ast Expr) {
            let named = |e: &Expr| local_name(e).is_some_and(|i| i == self.name);
            match e {
                Expr::MethodCall(m) if named(&m.receiver) => {
                    if self.kind != Kind::Vec || GROWS.iter().any(|g| m.method == g) {
                        self.grows = true;
                    }
                    for a in &m.args {
                        self.visit_expr(a);
                    }
                    return;
                }
                Expr::Reference(r) if r.mutability.is_some() && named(&r.expr) => {
                    self.grows = true;
                    return;
                }
                Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) && named(&u.expr) => {
                    return;
                }
                Expr::Path(_) if named(e) && self.kind == Kind::Box => {
                    self.grows = true;
                    return;
                }
                _ => {}
            }
            syn::visit::visit_expr(self, e);
        }
        fn visit_macro(&mut self, m: &'ast syn::Macro) {
            // Inside a macro's tokens a use cannot be read: a `Box` named there is used
            // otherwise than through `*`; a `Vec` is only formatted or asserted on.
            if self.kind == Kind::Box && mentions(m.tokens.clone(), self.name) {
                self.grows = true;
            }
        }
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    fn mentions(tokens: TokenStream, name: &str) -> bool {
        tokens.into_iter().any(|t| match t {
            proc_macro2::TokenTree::Ident(i) => i == name,
            proc_macro2::TokenTree::Group(g) => mentions(g.stream(), name),
            _ => false,
        })
    }
    let mut g = Growth {
        name,
        kind,
        grows: false,
    };
    g.visit_block(block);
    !g.grows
}

/// What a local moved onto the arena becomes: its arena type and, for a `Vec` that other
/// moved locals are pushed into (a small tree of vectors), what its elements become.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Shape {
    kind: Kind,
    elem: Option<Box<Shape>>,
}

/// The deepest nesting of moved locals followed (`Vec`s of `Vec`s of ...).
const MAX_NESTING: usize = 8;

/// The `outer.push(inner)` calls between candidates bound once in the fn: outer -> inners.
/// (A name bound twice may mean another local at the push, which would then put a std
/// value among arena ones.)
fn pushes_between(
    pushes: &[(String, String)],
    candidates: &HashMap<String, (Span, Kind)>,
    bindings: &HashMap<String, usize>,
) -> HashMap<String, Vec<String>> {
    let once = |n: &String| candidates.contains_key(n) && bindings.get(n) == Some(&1);
    let mut into: HashMap<String, Vec<String>> = HashMap::new();
    for (outer, inner) in pushes {
        if once(outer) && once(inner) {
            into.entry(outer.clone()).or_default().push(inner.clone());
        }
    }
    into
}

/// The shape of a candidate, from what is pushed into it; none if the locals pushed into it
/// disagree on their shape (in the rewritten code they would be different types), or nest
/// deeper than [`MAX_NESTING`].
fn shape_of(
    name: &str,
    depth: usize,
    candidates: &HashMap<String, (Span, Kind)>,
    into: &HashMap<String, Vec<String>>,
) -> Option<Shape> {
    let kind = candidates.get(name)?.1;
    let Some(inners) = into.get(name) else {
        return Some(Shape { kind, elem: None });
    };
    if depth == MAX_NESTING || kind != Kind::Vec {
        return None;
    }
    let mut elem = None;
    for inner in inners {
        let s = shape_of(inner, depth + 1, candidates, into)?;
        if s.kind == Kind::Box || elem.as_ref().is_some_and(|e| *e != s) {
            return None;
        }
        elem = Some(s);
    }
    Some(Shape {
        kind,
        elem: elem.map(Box::new),
    })
}

/// `outer.push(inner)` with both bare locals: `(outer, inner)`.
fn push_of_local(m: &syn::ExprMethodCall) -> Option<(&Ident, &Ident)> {
    if m.method != "push" || m.args.len() != 1 {
        return None;
    }
    Some((local_name(&m.receiver)?, local_name(&m.args[0])?))
}

/// What the decisions need to know of a body, recorded in one walk of it: the `let`s of
/// sites that stay in the call, how often each name is bound, and the pushes of one local
/// into another. (The rounds of [`rewrite`] then work on these, not on the tree.)
struct Facts<'s> {
    file: FileId,
    staying: &'s HashSet<Span>,
    /// How many closures or async blocks the walk is in: other bodies, whose `let`s are
    /// not the fn's (their bindings and pushes still count).
    nested: usize,
    /// `let name = <site>;` (or `let name: T = <site>;` with `T` the std type the arena has
    /// a twin of), for sites that stay in the call.
    lets: Vec<Found>,
    /// How many times each name is bound anywhere in the body (closures included).
    bindings: HashMap<String, usize>,
    /// Every `outer.push(inner)` of two bare names, in the order of the body.
    pushes: Vec<(String, String)>,
}

/// A `let` of a site that stays in the call.
struct Found {
    name: String,
    span: Span,
    kind: Kind,
    /// Its type is written (`let v: Vec<u8> = ..`).
    typed: bool,
    /// `vec![a, b]`, `vec![x; 8]` or `Box::new(x)`: a value of constant size.
    fixed: bool,
}

/// Whether a site makes a value of a size known where it is written: `vec![a, b]`,
/// `vec![x; 8]` (a literal count), `Box::new(x)`.
fn constant_size(e: &Expr) -> bool {
    match e {
        Expr::Macro(m) if macro_name(&m.mac).as_deref() == Some("vec") => {
            if m.mac.tokens.is_empty() {
                return false;
            }
            // `vec![x; n]` (a `;` at the top level): constant only for a literal count.
            let trees: Vec<proc_macro2::TokenTree> = m.mac.tokens.clone().into_iter().collect();
            match trees
                .iter()
                .position(|t| matches!(t, proc_macro2::TokenTree::Punct(p) if p.as_char() == ';'))
            {
                Some(semi) => matches!(&trees[semi + 1..], [proc_macro2::TokenTree::Literal(l)]
                    if l.to_string().starts_with(|c: char| c.is_ascii_digit())),
                None => true,
            }
        }
        Expr::Call(_) => kind_of(e) == Some(Kind::Box),
        _ => false,
    }
}

impl<'ast> Visit<'ast> for Facts<'_> {
    fn visit_local(&mut self, l: &'ast syn::Local) {
        if self.nested == 0 {
            self.let_of_site(l);
        }
        syn::visit::visit_local(self, l);
    }
    fn visit_expr_closure(&mut self, c: &'ast syn::ExprClosure) {
        self.nested += 1;
        syn::visit::visit_expr_closure(self, c);
        self.nested -= 1;
    }
    fn visit_expr_async(&mut self, a: &'ast syn::ExprAsync) {
        self.nested += 1;
        syn::visit::visit_expr_async(self, a);
        self.nested -= 1;
    }
    fn visit_pat_ident(&mut self, i: &'ast syn::PatIdent) {
        *self.bindings.entry(i.ident.to_string()).or_default() += 1;
        syn::visit::visit_pat_ident(self, i);
    }
    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        if let Some((outer, inner)) = push_of_local(m) {
            self.pushes.push((outer.to_string(), inner.to_string()));
        }
        syn::visit::visit_expr_method_call(self, m);
    }
    // Nested items are other bodies.
    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

impl Facts<'_> {
    /// Records `l` if it is the `let` of a site that stays in the call.
    fn let_of_site(&mut self, l: &syn::Local) {
        // `let name = ..` or `let name: T = ..` with `T` the std type the arena has a twin
        // of (the rewrite writes the twin's type in its place).
        let (pat, written) = match &l.pat {
            Pat::Type(t) => (&*t.pat, Some(&*t.ty)),
            p => (p, None),
        };
        if let (Pat::Ident(p), Some(init)) = (pat, &l.init) {
            // The form first: a span can cost calls into the compiler.
            let kind = kind_of(&init.expr);
            if let (Some(kind), None, None, None) = (kind, &p.by_ref, &p.subpat, &init.diverge) {
                let span = Span::of_expr(self.file, &*init.expr);
                if self.staying.contains(&span)
                    && written.is_none_or(|ty| twin_type(ty, kind).is_some())
                {
                    self.lets.push(Found {
                        name: p.ident.to_string(),
                        span,
                        kind,
                        typed: written.is_some(),
                        fixed: constant_size(&init.expr),
                    });
                }
            }
        }
    }
}

/// Whether `e` is one of the forms the arena has a twin for, and which.
fn kind_of(e: &Expr) -> Option<Kind> {
    match e {
        Expr::Call(call) => {
            let Expr::Path(p) = &*call.func else {
                return None;
            };
            let segs = crate::syntax::segment_names(&p.path);
            let (ty, f) = match segs.as_slice() {
                [ty, f] => (ty.as_str(), f.as_str()),
                [krate, module, ty, f]
                    if matches!(krate.as_str(), "std" | "alloc")
                        && matches!(module.as_str(), "boxed" | "vec" | "string") =>
                {
                    (ty.as_str(), f.as_str())
                }
                _ => return None,
            };
            if p.qself.is_some() || p.path.segments.iter().any(|s| !s.arguments.is_none()) {
                return None;
            }
            match (ty, f, call.args.len()) {
                ("Box", "new", 1) => Some(Kind::Box),
                ("Vec", "new", 0) | ("Vec", "with_capacity", 1) => Some(Kind::Vec),
                ("String", "new", 0) | ("String", "with_capacity", 1) => Some(Kind::String),
                ("String", "from", 1) if is_str_literal(&call.args[0]) => Some(Kind::String),
                _ => None,
            }
        }
        Expr::MethodCall(m)
            if matches!(m.method.to_string().as_str(), "to_string" | "to_owned")
                && m.args.is_empty()
                && m.turbofish.is_none()
                && is_str_literal(&m.receiver) =>
        {
            Some(Kind::String)
        }
        Expr::Macro(m) if m.attrs.is_empty() => match macro_name(&m.mac).as_deref() {
            Some("vec") => Some(Kind::Vec),
            Some("format") => Some(Kind::String),
            _ => None,
        },
        _ => None,
    }
}

fn is_str_literal(e: &Expr) -> bool {
    matches!(e, Expr::Lit(l) if matches!(l.lit, syn::Lit::Str(_)))
}

/// `vec`, `std::vec`, `alloc::format`...: the macro's name when the path is one of std's.
fn macro_name(mac: &syn::Macro) -> Option<String> {
    let segs = crate::syntax::segment_names(&mac.path);
    match segs.as_slice() {
        [name] => Some(name.clone()),
        [krate, name] if matches!(krate.as_str(), "std" | "alloc") => Some(name.clone()),
        _ => None,
    }
}

/// Counts the uses of some locals, each checked as the arena type of its shape, and how
/// many of them that type supports as the std type does. One walk serves every local
/// checked: a use is found by its name.
struct Uses<'a> {
    /// The locals checked, with the shape each would have.
    checked: HashMap<&'a str, &'a Shape>,
    /// The shapes of all the candidates.
    shapes: &'a HashMap<String, Shape>,
    bindings: &'a HashMap<String, usize>,
    slice_params: &'a HashMap<String, Vec<bool>>,
    macro_args: &'a ParsedArgs,
    counts: HashMap<&'a str, Count>,
}

/// The uses of one checked local.
#[derive(Default)]
struct Count {
    total: usize,
    allowed: usize,
    unknown_macro: bool,
}

/// A checked local a use names: its name and the shape it is checked as.
#[derive(Clone, Copy)]
struct Named<'a> {
    name: &'a str,
    shape: &'a Shape,
}

impl<'a> Named<'a> {
    /// Whether the name holds moved locals: then no use may hand out an element where the
    /// code could expect a std value, only the uses [`HOLDER_METHODS`] and loops allow.
    fn elem(&self) -> Option<&'a Shape> {
        self.shape.elem.as_deref()
    }
}

impl<'a> Uses<'a> {
    fn new(
        checked: HashMap<&'a str, &'a Shape>,
        shapes: &'a HashMap<String, Shape>,
        bindings: &'a HashMap<String, usize>,
        slice_params: &'a HashMap<String, Vec<bool>>,
        macro_args: &'a ParsedArgs,
    ) -> Self {
        Uses {
            checked,
            shapes,
            bindings,
            slice_params,
            macro_args,
            counts: HashMap::new(),
        }
    }

    /// Whether every use of `name` is one its arena type supports (a local not checked
    /// does not pass).
    fn all_allowed(&self, name: &str) -> bool {
        self.checked.contains_key(name)
            && self
                .counts
                .get(name)
                .is_none_or(|c| c.total == c.allowed && !c.unknown_macro)
    }

    fn count(&mut self, named: Named<'a>) -> &mut Count {
        self.counts.entry(named.name).or_default()
    }

    fn allow(&mut self, named: Named<'a>) {
        self.count(named).allowed += 1;
    }

    /// The checked local `name` names, if it is one.
    fn checked_ident(&self, name: &syn::Ident) -> Option<Named<'a>> {
        let (name, shape) = self.checked.get_key_value(name.to_string().as_str())?;
        Some(Named { name, shape })
    }

    /// The checked local `e` is (`name` or `(name)`).
    fn named(&self, e: &Expr) -> Option<Named<'a>> {
        self.checked_ident(local_name(e)?)
    }

    /// The checked local of `&name` or `&mut name`.
    fn ref_to(&self, e: &Expr) -> Option<Named<'a>> {
        match e {
            Expr::Reference(r) => self.named(&r.expr),
            _ => None,
        }
    }

    /// The checked box of `*name`.
    fn deref_of(&self, e: &Expr) -> Option<Named<'a>> {
        match e {
            Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => {
                self.named(&u.expr).filter(|n| n.shape.kind == Kind::Box)
            }
            _ => None,
        }
    }

    /// Whether `x` in `for x in <iterable> { body }`, an element of a holder of `elem`s, is
    /// only used in ways the arena type supports.
    fn loop_var_ok(&self, pat: &Pat, elem: &Shape, body: &syn::Block) -> bool {
        let Pat::Ident(p) = pat else {
            return false;
        };
        let name = p.ident.to_string();
        if p.by_ref.is_some() || p.subpat.is_some() || self.bindings.get(&name) != Some(&1) {
            return false;
        }
        let mut uses = Uses::new(
            HashMap::from([(name.as_str(), elem)]),
            self.shapes,
            self.bindings,
            self.slice_params,
            self.macro_args,
        );
        uses.visit_block(body);
        uses.all_allowed(&name)
    }

    /// Marks the checked locals the tokens of a macro mention (where we cannot parse
    /// them) as used in a macro we do not know.
    fn mentioned(&mut self, tokens: &TokenStream) {
        for t in tokens.clone() {
            match t {
                proc_macro2::TokenTree::Ident(i) => {
                    if let Some(named) = self.checked_ident(&i) {
                        self.count(named).unknown_macro = true;
                    }
                }
                proc_macro2::TokenTree::Group(g) => self.mentioned(&g.stream()),
                _ => {}
            }
        }
    }
}

/// Whether `method` on a value of `shape` means and returns the same as on the std type.
fn method_ok(shape: &Shape, method: &str) -> bool {
    if shape.elem.is_some() {
        return HOLDER_METHODS.contains(&method);
    }
    match shape.kind {
        Kind::Vec => VEC_METHODS.contains(&method),
        Kind::String => STRING_METHODS.contains(&method),
        Kind::Box => !BOX_OWN_METHODS.contains(&method) && !method.starts_with("into_"),
    }
}

impl<'ast> Visit<'ast> for Uses<'_> {
    fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
        if p.qself.is_some() {
            return;
        }
        if let Some(named) = p.path.get_ident().and_then(|i| self.checked_ident(i)) {
            self.count(named).total += 1;
        }
    }

    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        let method = m.method.to_string();
        let push = push_of_local(m);
        // The shape of a moved local named in a push; none if the name is bound twice, since
        // it may then mean another local there.
        let shape_of = |name: &Ident| {
            let name = name.to_string();
            if self.bindings.get(&name) != Some(&1) {
                return None;
            }
            self.shapes.get(name.as_str())
        };
        if let Some(named) = self.named(&m.receiver).filter(|_| m.turbofish.is_none()) {
            // A holder takes only the moved locals that make its elements.
            let takes = named.elem().is_some()
                && push.and_then(|(_, inner)| shape_of(inner)) == named.elem();
            if method_ok(named.shape, &method) || takes {
                self.allow(named);
            }
        }
        // `outer[i].m(..)`: an element of a holder, used in place.
        if let Expr::Index(ix) = &*m.receiver {
            if let Some(named) = self.named(&ix.expr) {
                if let Some(elem) = named.elem() {
                    if m.turbofish.is_none() && method_ok(elem, &method) {
                        self.allow(named);
                    }
                }
            }
        }
        // `outer.push(name)` into a moved local whose elements are this shape.
        if let Some((outer, inner)) = push {
            if let Some(named) = self.checked_ident(inner) {
                if shape_of(inner).is_some()
                    && shape_of(outer).and_then(|o| o.elem.as_deref()) == Some(named.shape)
                {
                    self.allow(named);
                }
            }
        }
        if REF_ARG_METHODS.contains(&method.as_str()) {
            for a in &m.args {
                if let Some(named) = self.ref_to(a).filter(|n| n.elem().is_none()) {
                    self.allow(named);
                }
            }
        }
        syn::visit::visit_expr_method_call(self, m);
    }

    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        if let Expr::Path(p) = &*c.func {
            if p.path.is_ident("drop") && c.args.len() == 1 {
                if let Some(named) = self.named(&c.args[0]) {
                    self.allow(named);
                }
            }
            // A holder's slice is of arena elements, which a `&[Vec<T>]` does not take.
            if let Some(takes) = p
                .path
                .get_ident()
                .and_then(|f| self.slice_params.get(&f.to_string()))
            {
                for (i, a) in c.args.iter().enumerate() {
                    if takes.get(i) == Some(&true) {
                        if let Some(named) = self.ref_to(a).filter(|n| n.elem().is_none()) {
                            self.allow(named);
                        }
                    }
                }
            }
        }
        syn::visit::visit_expr_call(self, c);
    }

    fn visit_expr_for_loop(&mut self, f: &'ast syn::ExprForLoop) {
        // `for x in &name`, `for x in name` (a `Vec`): direct; `for x in name.iter()`.
        let (named, direct, iter) = match (self.ref_to(&f.expr), self.named(&f.expr)) {
            (Some(named), _) => (Some(named), true, false),
            (None, Some(named)) => (Some(named), named.shape.kind == Kind::Vec, false),
            (None, None) => match &*f.expr {
                Expr::MethodCall(c)
                    if c.args.is_empty()
                        && c.turbofish.is_none()
                        && (c.method == "iter" || c.method == "iter_mut") =>
                {
                    (self.named(&c.receiver), false, true)
                }
                _ => (None, false, false),
            },
        };
        if let Some(named) = named {
            match named.elem() {
                None if direct => self.allow(named),
                None => {}
                // The loop hands out elements: each must be used as its arena type allows.
                Some(elem) if (direct || iter) && self.loop_var_ok(&f.pat, elem, &f.body) => {
                    self.allow(named)
                }
                Some(_) => {}
            }
        }
        syn::visit::visit_expr_for_loop(self, f);
    }

    fn visit_expr_field(&mut self, f: &'ast syn::ExprField) {
        if let Some(named) = self.named(&f.base).filter(|n| n.shape.kind == Kind::Box) {
            self.allow(named);
        }
        syn::visit::visit_expr_field(self, f);
    }

    fn visit_expr_index(&mut self, i: &'ast syn::ExprIndex) {
        // A holder's elements are used in place only (`outer[i].len()`, counted above).
        if let Some(named) = self
            .named(&i.expr)
            .filter(|n| n.shape.kind != Kind::Box && n.elem().is_none())
        {
            self.allow(named);
        }
        syn::visit::visit_expr_index(self, i);
    }

    fn visit_expr_reference(&mut self, r: &'ast syn::ExprReference) {
        // `&*b`: a reference to the boxed value.
        if let Some(named) = self.deref_of(&r.expr) {
            self.allow(named);
        }
        syn::visit::visit_expr_reference(self, r);
    }

    fn visit_expr_binary(&mut self, b: &'ast syn::ExprBinary) {
        use syn::BinOp::*;
        let compares = matches!(b.op, Eq(_) | Ne(_) | Lt(_) | Le(_) | Gt(_) | Ge(_));
        let assigns = matches!(
            b.op,
            AddAssign(_)
                | SubAssign(_)
                | MulAssign(_)
                | DivAssign(_)
                | RemAssign(_)
                | BitXorAssign(_)
                | BitAndAssign(_)
                | BitOrAssign(_)
                | ShlAssign(_)
                | ShrAssign(_)
        );
        // `*b == x`, `*b += 1`: the boxed value used in place.
        if compares || assigns {
            if let Some(named) = self.deref_of(&b.left) {
                self.allow(named);
            }
        }
        if compares {
            if let Some(named) = self.deref_of(&b.right) {
                self.allow(named);
            }
        }
        // `s += "x"`: the arena `String` adds a `&str` in place as std's does.
        if matches!(b.op, AddAssign(_)) {
            if let Some(named) = self.named(&b.left).filter(|n| n.shape.kind == Kind::String) {
                self.allow(named);
            }
        }
        syn::visit::visit_expr_binary(self, b);
    }

    fn visit_expr_assign(&mut self, a: &'ast syn::ExprAssign) {
        if let Some(named) = self.deref_of(&a.left) {
            self.allow(named);
        }
        syn::visit::visit_expr_assign(self, a);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        let name = macro_name(mac);
        let args = match name.as_deref() {
            Some(n) if FORMAT_MACROS.contains(&n) || EXPR_MACROS.contains(&n) => {
                self.macro_args.of(mac)
            }
            _ => None,
        };
        let Some(args) = args else {
            self.mentioned(&mac.tokens);
            return;
        };
        let formats = name.as_deref().is_some_and(|n| FORMAT_MACROS.contains(&n));
        let writes = matches!(name.as_deref(), Some("write" | "writeln"));
        for (i, a) in args.iter().enumerate() {
            // Formatting takes its arguments by reference; `write!(s, ..)` writes into `s`
            // through `fmt::Write`, which the arena `String` implements.
            if let Some(named) = self.named(a).or_else(|| self.ref_to(a)) {
                let by_ref = formats && i > 0;
                let writes_into = i == 0 && named.shape.kind == Kind::String && writes;
                if by_ref || writes_into {
                    self.allow(named);
                }
            }
            // Named arguments (`x = v`) parse as assignments.
            if let Expr::Assign(assign) = a {
                if formats {
                    let right = &assign.right;
                    if let Some(named) = self.named(right).or_else(|| self.ref_to(right)) {
                        self.allow(named);
                    }
                }
            }
            self.visit_expr(a);
        }
    }

    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

/// Replaces the chosen sites with their arena twins.
struct Rewriter<'a> {
    file: FileId,
    chosen: &'a HashMap<Span, Kind>,
    arena: &'a Ident,
    done: Vec<Span>,
}

impl VisitMut for Rewriter<'_> {
    fn visit_local_mut(&mut self, l: &mut syn::Local) {
        syn::visit_mut::visit_local_mut(self, l);
        let Some(init) = &mut l.init else {
            return;
        };
        if kind_of(&init.expr).is_none() {
            return;
        }
        let span = Span::of_expr(self.file, &*init.expr);
        if !self.chosen.contains_key(&span) {
            return;
        }
        let kind = self.chosen[&span];
        let twin_ty = match &l.pat {
            Pat::Type(t) => match twin_type(&t.ty, kind) {
                Some(ty) => Some(ty),
                None => return,
            },
            _ => None,
        };
        if let Some(new) = arena_twin(&init.expr, self.arena) {
            *init.expr = new;
            if let (Pat::Type(t), Some(ty)) = (&mut l.pat, twin_ty) {
                *t.ty = ty;
            }
            self.done.push(span);
        }
    }
    fn visit_expr_closure_mut(&mut self, _: &mut syn::ExprClosure) {}
    fn visit_expr_async_mut(&mut self, _: &mut syn::ExprAsync) {}
    fn visit_item_mut(&mut self, _: &mut syn::Item) {}
}

/// The arena twin of a written type that is exactly the std type of `kind`: `Vec<T>` ->
/// `gomem::arena::Vec<'_, T>`, `String` -> `gomem::arena::String<'_>`, `Box<T>` (of a sized
/// `T`: the arena's `Box` cannot coerce to `Box<dyn Trait>` on stable) -> `gomem::arena::Box<'_, T>`.
fn twin_type(ty: &syn::Type, kind: Kind) -> Option<syn::Type> {
    let syn::Type::Path(p) = ty else {
        return None;
    };
    if p.qself.is_some() {
        return None;
    }
    let segs = crate::syntax::segment_names(&p.path);
    let name = match segs.as_slice() {
        [t] => t.as_str(),
        [krate, module, t]
            if matches!(krate.as_str(), "std" | "alloc")
                && matches!(module.as_str(), "boxed" | "vec" | "string") =>
        {
            t.as_str()
        }
        _ => return None,
    };
    let last = p.path.segments.last()?;
    let one_type_arg = || match &last.arguments {
        syn::PathArguments::AngleBracketed(a) if a.args.len() == 1 => match &a.args[0] {
            syn::GenericArgument::Type(t) => Some(t),
            _ => None,
        },
        _ => None,
    };
    let tokens = match (kind, name) {
        (Kind::Vec, "Vec") => {
            let t = one_type_arg()?;
            quote!(::gomem::arena::Vec<'_, #t>)
        }
        (Kind::String, "String") if last.arguments.is_none() => {
            quote!(::gomem::arena::String<'_>)
        }
        (Kind::Box, "Box") => {
            let t = one_type_arg()?;
            if matches!(
                t,
                syn::Type::TraitObject(_) | syn::Type::Slice(_) | syn::Type::ImplTrait(_)
            ) || matches!(t, syn::Type::Path(p) if p.path.is_ident("str"))
            {
                return None;
            }
            quote!(::gomem::arena::Box<'_, #t>)
        }
        _ => return None,
    };
    Some(syn::Type::Verbatim(tokens))
}

/// The arena form of an allocation (one [`kind_of`] accepted).
fn arena_twin(e: &Expr, arena: &Ident) -> Option<Expr> {
    let tokens = match e {
        Expr::Call(call) => {
            let Expr::Path(p) = &*call.func else {
                return None;
            };
            let segs = crate::syntax::segment_names(&p.path);
            let args: Vec<&Expr> = call.args.iter().collect();
            match (
                segs[segs.len() - 2].as_str(),
                segs[segs.len() - 1].as_str(),
                args.as_slice(),
            ) {
                ("Box", "new", [x]) => quote!(::gomem::arena::Box::new_in(#x, #arena)),
                ("Vec", "new", []) => quote!(::gomem::arena::Vec::new_in(#arena)),
                ("Vec", "with_capacity", [n]) => {
                    quote!(::gomem::arena::Vec::with_capacity_in(#n, #arena))
                }
                ("String", "new", []) => quote!(::gomem::arena::String::new_in(#arena)),
                ("String", "with_capacity", [n]) => {
                    quote!(::gomem::arena::String::with_capacity_in(#n, #arena))
                }
                ("String", "from", [s]) => quote!(::gomem::arena::String::from_str_in(#s, #arena)),
                _ => return None,
            }
        }
        Expr::MethodCall(m) => {
            let s = &m.receiver;
            quote!(::gomem::arena::String::from_str_in(#s, #arena))
        }
        Expr::Macro(m) => match macro_name(&m.mac).as_deref() {
            Some("format") => {
                let body = &m.mac.tokens;
                quote!(::gomem::arena::format(#arena, ::core::format_args!(#body)))
            }
            Some("vec") => vec_twin(&m.mac, arena)?,
            _ => return None,
        },
        _ => return None,
    };
    // Kept as tokens: nothing reads the rewritten body as syntax again, and parsing the
    // twin (with the user's expressions inside it) again would cost as much as its analysis.
    Some(Expr::Verbatim(tokens))
}

/// `vec![]`, `vec![a, b]`, `vec![x; n]` in the arena, evaluating as std does.
fn vec_twin(mac: &syn::Macro, arena: &Ident) -> Option<TokenStream> {
    if mac.tokens.is_empty() {
        return Some(quote!(::gomem::arena::Vec::new_in(#arena)));
    }
    if let Ok(items) = mac.parse_body_with(ArgList::parse_terminated) {
        let n = items.len();
        let items = items.iter();
        let v = Ident::new("__gomem_vec", TokenSpan::mixed_site());
        return Some(quote!({
            let mut #v = ::gomem::arena::Vec::with_capacity_in(#n, #arena);
            #( #v.push(#items); )*
            #v
        }));
    }
    let repeat = |input: syn::parse::ParseStream<'_>| {
        let elem: Expr = input.parse()?;
        input.parse::<syn::Token![;]>()?;
        let n: Expr = input.parse()?;
        Ok((elem, n))
    };
    let (elem, n) = mac.parse_body_with(repeat).ok()?;
    Some(quote!(::gomem::arena::from_elem(#elem, #n, #arena)))
}
