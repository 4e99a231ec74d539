//! `rc_cycle`: types whose `Rc`/`Arc` fields can form a strong cycle, which is never freed,
//! and code that makes a value behind an `Rc`/`Arc` hold a strong reference to itself.
//!
//! A crate check: each file contributes its structs' and enums' fields as edges between the
//! workspace's types; the judge looks for cycles of fields in that type graph. Each file also
//! contributes the cycles its fn bodies close at run time ([`SelfHold`]: a callback stored in
//! the value it captured a clone of), and the judge drops those whose field the crate empties
//! somewhere, which may break the cycle on purpose. A cycle closed through one of the crate's
//! methods or constructors (`env.borrow_mut().define(name, LoxFunction::new(.., &env))`) is a
//! conditional fact, named by the callee's definition and argument; each file also says which
//! arguments its fns keep (`TypeFacts::keeps`), and the judge keeps the cycles whose every
//! condition holds, wherever the callees are written. Only bodies that name `Rc` or `Arc`,
//! take one, bind what a crate fn returns as one, or clone one held in a field of `self` are
//! walked; whether a field is emptied is read from the crate's text, for the few fields a
//! cycle is stored into.

use std::collections::HashMap;

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use syn::visit::Visit;
use syn::Expr;

use crate::diagnostic::Diagnostic;
use crate::index::{ItemKind, ModuleId, Resolution};
use crate::lint::{
    facts_of, Check, CrateCheck, CrateContext, FactSource, Facts, FileContext, Lint,
};
use crate::lint_defs::LintId;
use crate::semantics::{rc_or_arc, HandleMakers};
use crate::span::{FileId, Span};
use crate::types::Ty;

pub const LINT: Lint = Lint {
    id: LintId::RcCycle,
    summary: "types whose `Rc`/`Arc` fields can form a strong cycle, which is never freed",
    explanation: r#"## What it finds
Types of the crate whose fields can hold a reference cycle of `Rc` or `Arc` pointers at run
time: following the fields (through `RefCell`, `Cell`, `Mutex`, `RwLock`, `Option`, `Vec`,
map values, tuples, arrays, `Box`...), two types point at each other (`Owner` holds
`Rc<Pet>` and `Pet` holds `Rc<Owner>`), or a type has two strong links to its own kind
(`prev` and `next`, `parent` and `children`), with at least one `Rc`/`Arc` on the cycle and
interior mutability somewhere on it: without a `RefCell`, `Cell` or lock, a value cannot be
made to point back at one that already points at it.

## Why it matters
Reference counting frees a value when its count drops to zero. In a cycle, every value keeps
the next one's count above zero, so when the last outside handle goes, the whole cycle stays
allocated for the rest of the program, with no error and no warning: the leak that Go's and
Java's tracing collectors handle, and `Rc` does not.

## Example
```rust
struct Node {
    parent: Option<Rc<RefCell<Node>>>,
    children: Vec<Rc<RefCell<Node>>>,
}
```
Use instead: make the back-pointer weak, so only one direction owns:
```rust
struct Node {
    parent: Option<Weak<RefCell<Node>>>,
    children: Vec<Rc<RefCell<Node>>>,
}
```
or keep the graph in `gomem::Gc` pointers, whose collector frees cycles: `#[gomem::escape(gc)]`
on the inline `mod` that holds the types and their code makes that move for you.

It also reads fn bodies for the cycle that types cannot show, a value made to hold a strong
reference to itself: a callback stored in the object whose clone it captured
(`let this = rc.clone(); *rc.on_click.borrow_mut() = Some(Box::new(move || this.redraw()));`,
the leak gtk-rs's and web UIs' event handlers are known for), or two values made to hold each
other (`b` built holding `Rc::clone(&a)`, then `a.borrow_mut().next = Some(Rc::clone(&b))`).
It follows, within one fn, locals made by `Rc::new`/`Arc::new` (or `Shared::new` for an alias
of `Rc`), by the crate's fns that return an `Rc`/`Arc` (`Window::new() -> Rc<RefCell<Self>>`,
`make_state()`), their clones, locals and parameters of `Rc`/`Arc` type (or of an alias of
one) and a `self: &Rc<Self>`; a value holds what `move` closures and `async move`
blocks capture, and what struct literals, tuples, arrays, enum variants and std's wrappers
(`Some`, `Box::new`, `RefCell::new`...) are built from; a store is an assignment into the
value (through fields, `borrow_mut()`, `lock()`...), `push`, `insert`, `set`, `replace`
and their kin on it, or a call of one of the crate's methods on it that keeps the argument
in it (`env.borrow_mut().define(name, function)` where `define` does `self.values.insert(name,
value)`: the tree-walking interpreter's leak), when the value's type is known.

## What it does not report
Types where one direction is `Weak` (the idiomatic tree: strong `children`, a `Weak` or
`RefCell<Weak<..>>` `parent`); types in a mod under `#[gomem::escape(gc)]`, which moves their
`Rc` data onto the collected heap, where cycles are freed; immutable `Rc` structures (a cons list `Rc<List>` can
only point at older values); plain ownership trees (`Box`, `Vec<Node>`); a type with a single
strong link to its own kind (`children: Vec<Rc<RefCell<Node>>>`), which is a tree unless the
code inserts a node below itself. Types are matched through the crate's `use` paths and type
aliases (`type NodeRef = Rc<RefCell<Node>>`, generic ones included); generic parameters (`T` in
`Rc<T>`) and types from other crates are not followed. In fn bodies: a closure that captures
a `Weak` (`Rc::downgrade`) or borrows instead of `move`; a store whose field the crate empties
somewhere (`.take()`, `= None`, `.clear()`, `.remove(..)`..., outside `Drop::drop`, which a
cycle never reaches), as a closure unregistered when its window closes; a value stored into
itself that the same fn empties (a `requestAnimationFrame` loop whose closure `take()`s its
own slot when it is done); values passed to
methods that may keep them (`button.connect_clicked(move || ..)`), which gomem cannot see
into; handles returned by methods (`self.window()`) or by other crates' fns, and
`Rc::new_cyclic`; a method that keeps its argument only in a branch or a loop.
"#,
    check: Check::Crate(CrateCheck {
        facts: &TYPES,
        judge,
    }),
};

/// The type definitions of one file, as edges of the type graph, and what its fn bodies do to
/// values behind `Rc`/`Arc`.
struct TypeFacts {
    types: Vec<TypeDef>,
    self_holds: Vec<SelfHold>,
    /// Methods that keep an argument in the value they are called on (`fn define(&mut self,
    /// name: String, value: Value) { self.values.insert(name, value); }`): the method's name
    /// span, the argument's index (`self` not counted) and the field it goes into.
    keeps: Vec<(Span, usize, Option<String>)>,
    /// Calls that hand a method of the value behind a handle a strong reference to that value
    /// (`env.borrow_mut().define(name, Value::Function(Rc::clone(&env)))`): a cycle if the
    /// method keeps that argument (see `keeps`), judged once every file's methods are known.
    call_holds: Vec<(Span, usize, SelfHold)>,
}

/// A store that makes a value behind an `Rc`/`Arc` hold a strong reference to itself.
#[derive(Clone)]
struct SelfHold {
    /// The place assigned, or the storing method.
    store: Span,
    /// The local the value is reached through at the store, as written.
    owner: String,
    /// The owner is a reference to the `Rc` (`&Rc<T>`, `self: &Rc<Self>`), not one itself.
    owner_is_ref: bool,
    /// `Rc` or `Arc`.
    kind: &'static str,
    /// How the stored value holds the owner: a clone, or a closure that captured one.
    via: Span,
    via_label: String,
    /// The field stored into (the last one on the way to the place).
    field: Option<String>,
    /// The method that keeps the value, for a store made by a call (`define`).
    kept_by: Option<String>,
    /// See [`Hold::needs`].
    needs: Vec<(Span, usize)>,
}

struct TypeDef {
    /// Name span: the type's identity (its index item's span).
    def: Span,
    name: String,
    fields: Vec<FieldEdge>,
}

struct FieldEdge {
    /// The field's name (or its type, for a tuple field).
    span: Span,
    /// The local type the field reaches, by its definition span.
    to: Span,
    strong: bool,
    mutable: bool,
}

/// The fields of every struct and enum, as edges between the workspace's types.
static TYPES: FactSource = FactSource {
    name: "rc_cycle::types",
    collect,
};

fn collect(cx: &FileContext<'_>) -> Facts {
    let mut out = TypeFacts {
        types: Vec::new(),
        self_holds: Vec::new(),
        keeps: Vec::new(),
        call_holds: Vec::new(),
    };
    type_defs(cx, cx.module, &cx.syntax.items, &mut out);
    // A value can only be made to hold itself through `Rc`/`Arc`, which the code names, or
    // through a fn or alias of the crate that gives one.
    let makers = cx.semantics.handle_makers(cx.index);
    let text = cx.source.text.as_bytes();
    let names_rc = names_rc(text);
    // Elsewhere a handle can come from one of the crate's fns, or from a field of `self`
    // whose type is written in another file; either way a second strong reference to it is
    // a clone.
    if names_rc || memchr::memmem::find(text, b"clone").is_some() {
        let mut bodies = Bodies {
            cx,
            module: cx.module,
            makers,
            self_ty: None,
            names_rc,
            file: cx.file,
            text: &cx.source.text,
            scope: Scope::default(),
            in_drop: false,
            out: &mut out,
        };
        bodies.visit_file(cx.syntax);
    }
    Box::new(out)
}

fn type_defs(cx: &FileContext<'_>, module: ModuleId, items: &[syn::Item], out: &mut TypeFacts) {
    for item in items {
        let (ident, fields): (&syn::Ident, Vec<&syn::Field>) = match item {
            syn::Item::Struct(s) => (&s.ident, s.fields.iter().collect()),
            syn::Item::Enum(e) => (
                &e.ident,
                e.variants.iter().flat_map(|v| v.fields.iter()).collect(),
            ),
            // `#[gomem::escape(gc)]` moves the mod's `Rc` data onto the collected heap, which
            // frees cycles: its types are not the graph's.
            syn::Item::Mod(m) if on_gc_heap(&m.attrs) => continue,
            syn::Item::Mod(m) => {
                if let Some((_, content)) = &m.content {
                    type_defs(cx, cx.inner_module(module, m), content, out);
                }
                continue;
            }
            _ => continue,
        };
        let mut edges = Vec::new();
        for f in fields {
            let span = match &f.ident {
                Some(i) => Span::of_tokens(cx.file, i),
                None => Span::of_tokens(cx.file, &f.ty),
            };
            walk(cx, module, &f.ty, false, false, span, &mut edges);
        }
        out.types.push(TypeDef {
            def: Span::of_tokens(cx.file, ident),
            name: ident.to_string(),
            fields: edges,
        });
    }
}

/// Whether `attrs` hold `#[gomem::escape(gc)]` (or `#[escape(gc, ..)]`, imported).
fn on_gc_heap(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        let segs: Vec<String> = crate::syntax::segment_names(a.path());
        let ours = matches!(
            segs.iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .as_slice(),
            ["gomem", "escape"] | ["escape"]
        );
        ours && a
            .parse_args_with(
                syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated,
            )
            .is_ok_and(|args| args.iter().any(|m| m.path().is_ident("gc")))
    })
}

const STRONG: &[&str] = &["Rc", "Arc"];
const INTERIOR: &[&str] = &[
    "RefCell",
    "Cell",
    "Mutex",
    "RwLock",
    "OnceCell",
    "OnceLock",
    "UnsafeCell",
];
/// Pointers that do not own: nothing behind them keeps a value alive.
const NOT_OWNING: &[&str] = &["Weak", "PhantomData", "NonNull"];

fn walk(
    cx: &FileContext<'_>,
    module: ModuleId,
    ty: &syn::Type,
    strong: bool,
    mutable: bool,
    field: Span,
    out: &mut Vec<FieldEdge>,
) {
    match ty {
        syn::Type::Path(p) if p.qself.is_none() => {
            let Some(last) = p.path.segments.last() else {
                return;
            };
            let name = last.ident.to_string();
            if NOT_OWNING.contains(&name.as_str()) {
                return;
            }
            let is_strong = STRONG.contains(&name.as_str());
            let is_interior = INTERIOR.contains(&name.as_str());
            if !is_strong && !is_interior {
                if let Resolution::Local(item) = cx.index.resolve_path(module, &[], &p.path) {
                    let it = cx.index.item(item);
                    match it.kind {
                        ItemKind::Struct | ItemKind::Enum => out.push(FieldEdge {
                            span: field,
                            to: it.span,
                            strong,
                            mutable,
                        }),
                        // `type RefNode = Rc<RefCell<Node>>`: what it stands for, with its
                        // arguments (`Shared<Node>`) put in.
                        ItemKind::TypeAlias => {
                            let alias = Ty::from_syn(ty, &[]);
                            let target = cx.semantics.expand(cx.index, &alias, module);
                            walk_ty(cx, module, &target, strong, mutable, field, out);
                            return;
                        }
                        _ => {}
                    }
                }
            }
            if let syn::PathArguments::AngleBracketed(args) = &last.arguments {
                for a in &args.args {
                    if let syn::GenericArgument::Type(t) = a {
                        walk(
                            cx,
                            module,
                            t,
                            strong || is_strong,
                            mutable || is_interior,
                            field,
                            out,
                        );
                    }
                }
            }
        }
        syn::Type::Tuple(t) => {
            for e in &t.elems {
                walk(cx, module, e, strong, mutable, field, out);
            }
        }
        syn::Type::Array(a) => walk(cx, module, &a.elem, strong, mutable, field, out),
        syn::Type::Slice(s) => walk(cx, module, &s.elem, strong, mutable, field, out),
        syn::Type::Paren(p) => walk(cx, module, &p.elem, strong, mutable, field, out),
        syn::Type::Group(g) => walk(cx, module, &g.elem, strong, mutable, field, out),
        // References and raw pointers do not own; fn pointers and trait objects hide types.
        _ => {}
    }
}

/// [`walk`] over a type the semantic layer has read (an alias's target).
fn walk_ty(
    cx: &FileContext<'_>,
    module: ModuleId,
    ty: &Ty,
    strong: bool,
    mutable: bool,
    field: Span,
    out: &mut Vec<FieldEdge>,
) {
    match ty {
        Ty::Named(_, args) => {
            let name = ty.last_segment().unwrap_or_default();
            if NOT_OWNING.contains(&name) {
                return;
            }
            let is_strong = STRONG.contains(&name);
            let is_interior = INTERIOR.contains(&name);
            if !is_strong && !is_interior {
                if let Some(item) = cx.semantics.adt_item(cx.index, ty, module) {
                    out.push(FieldEdge {
                        span: field,
                        to: cx.index.item(item).span,
                        strong,
                        mutable,
                    });
                }
            }
            for a in args {
                let (s, m) = (strong || is_strong, mutable || is_interior);
                walk_ty(cx, module, a, s, m, field, out);
            }
        }
        Ty::Tuple(ts) => {
            for t in ts {
                walk_ty(cx, module, t, strong, mutable, field, out);
            }
        }
        Ty::Slice(t) | Ty::Array(t) => walk_ty(cx, module, t, strong, mutable, field, out),
        // References do not own; trait objects hide types.
        _ => {}
    }
}

fn judge(cx: &CrateContext<'_>, facts: &[(FileId, &Facts)]) -> Vec<Diagnostic> {
    let files = facts_of::<TypeFacts>(facts);
    let mut out = type_cycles(cx, &files);
    // Whether the crate empties a field of that name anywhere: looked up in the crate's text,
    // for the few fields a cycle is stored into, rather than by walking every body.
    let mut emptied: HashMap<&str, bool> = HashMap::new();
    // Calls that hand a method a strong reference to the value it is called on, for the
    // methods that keep it: a store into the field the method keeps it in.
    let keeps: HashMap<(Span, usize), &Option<String>> = files
        .iter()
        .flat_map(|(_, f)| &f.keeps)
        .map(|(def, i, field)| ((*def, *i), field))
        .collect();
    let through_calls: Vec<SelfHold> = files
        .iter()
        .flat_map(|(_, f)| &f.call_holds)
        .filter_map(|(def, i, hold)| {
            let field = keeps.get(&(*def, *i))?;
            Some(SelfHold {
                field: (*field).clone(),
                ..hold.clone()
            })
        })
        .collect();
    let holds = files.iter().flat_map(|(_, f)| &f.self_holds);
    for h in holds.chain(&through_calls) {
        if !h.needs.iter().all(|n| keeps.contains_key(n)) {
            continue;
        }
        if let Some(field) = h.field.as_deref() {
            let empties = *emptied.entry(field).or_insert_with(|| {
                files
                    .iter()
                    .any(|(file, _)| empties_field(&cx.db.get(*file).text, field))
            });
            if empties {
                continue;
            }
        }
        let SelfHold {
            owner, kind, via, ..
        } = h;
        // A reference is passed as it is; an `Rc` in a local or in a field of `self`, borrowed.
        let amp = if h.owner_is_ref && !owner.starts_with("self.") {
            ""
        } else {
            "&"
        };
        out.push(
            Diagnostic::new(
                LintId::RcCycle,
                h.store,
                format!("`{owner}` is made to hold a strong reference to itself, so it is never freed"),
            )
            .primary_label(match (&h.kept_by, &h.field) {
                (Some(m), Some(f)) => format!("`{m}` keeps it in `{owner}`'s `{f}`"),
                (Some(m), None) => format!("`{m}` keeps it in `{owner}`"),
                (None, _) => format!("stored into `{owner}` here"),
            })
            .label(*via, h.via_label.clone())
            .note(format!("a value behind `{kind}` is freed when its last strong reference goes; one that holds a strong reference to itself keeps its own count above zero, so it outlives every handle, with all it holds (a callback that captures its owner is the common case)"))
            .help(format!("hold a `Weak` instead: `let weak = {kind}::downgrade({amp}{owner});`, and `weak.upgrade()` where it is used; or empty the field when done with it (`.take()`)")),
        );
    }
    out
}

/// Cycles in the type graph of the crate's fields.
fn type_cycles(cx: &CrateContext<'_>, files: &[(FileId, &TypeFacts)]) -> Vec<Diagnostic> {
    let types: Vec<&TypeDef> = files.iter().flat_map(|(_, f)| &f.types).collect();
    let mut graph: Graph = DiGraph::new();
    let mut node_of: HashMap<Span, NodeIndex> = HashMap::new();
    for (i, t) in types.iter().enumerate() {
        node_of.insert(t.def, graph.add_node(i));
    }
    // Edge weights index `edges`: (type, field edge).
    let mut edges: Vec<(usize, usize)> = Vec::new();
    for (i, t) in types.iter().enumerate() {
        for (j, f) in t.fields.iter().enumerate() {
            if let (Some(&from), Some(&to)) = (node_of.get(&t.def), node_of.get(&f.to)) {
                graph.add_edge(from, to, edges.len());
                edges.push((i, j));
            }
        }
    }
    let mut out = Vec::new();
    for scc in tarjan_scc(&graph) {
        let inside: Vec<&FieldEdge> = scc
            .iter()
            .flat_map(|&n| graph.edges(n))
            .filter(|e| scc.contains(&e.target()))
            .map(|e| {
                let (t, f) = edges[*e.weight()];
                &types[t].fields[f]
            })
            .collect();
        let strong: Vec<&&FieldEdge> = inside.iter().filter(|f| f.strong).collect();
        let cyclic = if scc.len() == 1 {
            // One type: two strong links to its own kind (prev/next, parent/children).
            strong.len() >= 2
        } else {
            !strong.is_empty()
        };
        if !cyclic || !inside.iter().any(|f| f.mutable) {
            continue;
        }
        // The fields to show: for one type, its links to itself; for a group, the shortest
        // cycle through a strong and a mutable field (a large group is mostly bystanders).
        let cycle: Vec<(NodeIndex, NodeIndex, &FieldEdge)> = if scc.len() == 1 {
            graph
                .edges(scc[0])
                .filter(|e| e.target() == scc[0])
                .map(|e| {
                    let (t, f) = edges[*e.weight()];
                    (e.source(), e.target(), &types[t].fields[f])
                })
                .collect()
        } else {
            match shortest_cycle(&graph, &scc, &edges, &types) {
                Some(c) => c,
                None => continue,
            }
        };
        let mut nodes: Vec<NodeIndex> = cycle.iter().map(|(from, _, _)| *from).collect();
        // By place in the source, not by file id (which depends on the order files were read).
        nodes.sort_by_key(|n| {
            let def = types[graph[*n]].def;
            (&cx.db.get(def.file).path, def.lo)
        });
        nodes.dedup();
        let members: Vec<&TypeDef> = nodes.iter().map(|&n| types[graph[n]]).collect();
        let names: Vec<String> = members.iter().map(|t| format!("`{}`", t.name)).collect();
        let message = if members.len() == 1 {
            format!(
                "`{}` values can hold strong references to other `{}` values, so they can form a reference cycle that is never freed",
                members[0].name, members[0].name
            )
        } else {
            format!(
                "{} point at each other through strong references, so their values can form a reference cycle that is never freed",
                join(&names)
            )
        };
        let mut d = Diagnostic::new(LintId::RcCycle, members[0].def, message)
            .primary_label("a type on the cycle");
        let mut labelled: Vec<(Span, String)> = Vec::new();
        for (_, to, f) in &cycle {
            let to = &types[graph[*to]].name;
            let label = match (f.strong, f.mutable) {
                (true, true) => format!("strong, mutable reference to `{to}`"),
                (true, false) => format!("strong reference to `{to}`"),
                (false, true) => format!("holds `{to}` behind a cell or lock"),
                (false, false) => format!("holds `{to}`"),
            };
            if !labelled.iter().any(|(s, _)| *s == f.span) {
                labelled.push((f.span, label));
            }
        }
        for (span, label) in labelled {
            d = d.label(span, label);
        }
        out.push(
            d.note("reference counts in a cycle never reach zero: when the last outside handle is dropped, the cycle stays allocated")
                .help("make one direction `Weak` (the parent or back pointer), or use `gomem::Gc`, whose collector frees cycles (`#[gomem::escape(gc)]` on the mod moves `Rc`/`RefCell` onto it)"),
        );
    }
    out
}

type Graph = DiGraph<usize, usize>;

/// The shortest cycle inside `scc` that passes a strong field and a mutable one, as
/// `(from, to, field)` steps; found by a breadth-first search from each strong field's target
/// back to its source, over (type, seen a mutable field yet) states.
fn shortest_cycle<'t>(
    graph: &Graph,
    scc: &[NodeIndex],
    edges: &[(usize, usize)],
    types: &[&'t TypeDef],
) -> Option<Vec<(NodeIndex, NodeIndex, &'t FieldEdge)>> {
    let field = |w: usize| {
        let (t, f) = edges[w];
        &types[t].fields[f]
    };
    let mut best: Option<Vec<(NodeIndex, NodeIndex, &FieldEdge)>> = None;
    for &u in scc {
        for start in graph.edges(u).filter(|e| scc.contains(&e.target())) {
            let first = field(*start.weight());
            if !first.strong {
                continue;
            }
            let v = start.target();
            // parent[(node, mutable)] = (previous state, edge weight taken)
            let mut parent: HashMap<(NodeIndex, bool), ((NodeIndex, bool), usize)> = HashMap::new();
            let origin = (v, first.mutable);
            let mut queue = std::collections::VecDeque::from([origin]);
            let mut seen = std::collections::HashSet::from([origin]);
            let mut goal = None;
            while let Some((n, m)) = queue.pop_front() {
                if n == u && m {
                    goal = Some((n, m));
                    break;
                }
                for e in graph.edges(n).filter(|e| scc.contains(&e.target())) {
                    let next = (e.target(), m || field(*e.weight()).mutable);
                    if seen.insert(next) {
                        parent.insert(next, ((n, m), *e.weight()));
                        queue.push_back(next);
                    }
                }
            }
            let Some(mut at) = goal else { continue };
            let mut path = Vec::new();
            while at != origin {
                let (prev, w) = parent[&at];
                path.push((prev.0, at.0, field(w)));
                at = prev;
            }
            path.push((u, v, first));
            path.reverse();
            if best.as_ref().is_none_or(|b| path.len() < b.len()) {
                best = Some(path);
            }
        }
    }
    best
}

/// Whether `text` names `Rc` or `Arc`.
fn names_rc(text: &[u8]) -> bool {
    memchr::memmem::find(text, b"Rc").is_some() || memchr::memmem::find(text, b"Arc").is_some()
}

/// What a fn body does with the values behind its `Rc`/`Arc` handles, in source order.
struct Bodies<'o> {
    cx: &'o FileContext<'o>,
    /// The scope the current body's paths are read in.
    module: ModuleId,
    /// [`crate::semantics::Semantics::handle_makers`].
    makers: &'o HandleMakers,
    /// The self type of the impl whose methods are walked.
    self_ty: Option<Ty>,
    /// Whether the file names `Rc` or `Arc` at all.
    names_rc: bool,
    file: FileId,
    text: &'o str,
    scope: Scope,
    /// Inside `Drop::drop`, which runs only once a value is unreachable: what it empties
    /// never breaks a cycle.
    in_drop: bool,
    out: &'o mut TypeFacts,
}

/// The allocations one fn body makes or receives, and the locals that reach them.
#[derive(Default)]
struct Scope {
    roots: Vec<Root>,
    /// Locals that point at an allocation: `Rc::new(..)`, a clone of a handle, a parameter.
    handles: HashMap<String, Handle>,
    /// Other locals whose value holds strong references (a boxed closure, a struct literal).
    values: HashMap<String, Vec<Hold>>,
    /// Locals that reach into a handle's value (`let mut hooks = self.hooks.borrow_mut();`):
    /// a store through them is a store into it.
    places: HashMap<String, Place>,
    /// Cycles closed by storing into the value itself rather than a field of it
    /// (`*slot.borrow_mut() = Some(..)`), with their allocation: kept only if the fn never
    /// empties that value (`slot.borrow_mut().take()`, often inside the closure itself, as in
    /// wasm-bindgen's `requestAnimationFrame` loop).
    pending: Vec<(usize, SelfHold)>,
    emptied: Vec<usize>,
}

struct Root {
    /// `Rc` or `Arc`.
    kind: &'static str,
    /// The strong references stored into it so far.
    holds: Vec<Hold>,
    /// The type of the value, when the code tells it (`Environment` for a handle that
    /// `fn new() -> Rc<RefCell<Environment>>` made), through `RefCell`, `Mutex` and the like:
    /// what the methods called on it are looked up in.
    ty: Option<Ty>,
}

#[derive(Clone, Copy)]
struct Handle {
    root: usize,
    /// An `Rc` of its own rather than a reference to one (`&Rc<T>`, `self: &Rc<Self>`):
    /// moving it into a value moves a strong reference.
    owned: bool,
}

/// A strong reference to allocation `root` inside a value.
#[derive(Clone)]
struct Hold {
    root: usize,
    /// The clone, or the mention inside the closure that captured it.
    span: Span,
    /// The local it came from, as written.
    alias: String,
    /// Captured by a `move` closure or an `async move` block.
    captured: bool,
    /// The fns of the crate it was passed through on the way (`LoxFunction::new(decl,
    /// Rc::clone(&env))`), by definition and argument: it is held only if each keeps that
    /// argument in what it returns, which the judge tells.
    needs: Vec<(Span, usize)>,
}

/// Methods that reach into a value without leaving it (a store through them is a store into
/// the value).
const ACCESSORS: &[&str] = &[
    "borrow",
    "borrow_mut",
    "try_borrow_mut",
    "lock",
    "read",
    "write",
    "try_lock",
    "try_write",
    "unwrap",
    "expect",
    "get_mut",
    "as_mut",
    "deref_mut",
    "as_deref_mut",
    "entry",
    "or_default",
    "last_mut",
    "first_mut",
];

/// Methods that keep their arguments in the receiver.
const KEEPS: &[&str] = &[
    "push",
    "push_back",
    "push_front",
    "insert",
    "set",
    "replace",
    "get_or_insert",
    "or_insert",
    "extend",
];

/// Methods that empty what they are called on.
const EMPTIES: &[&str] = &[
    "take",
    "clear",
    "drain",
    "pop",
    "pop_back",
    "pop_front",
    "remove",
    "retain",
    "truncate",
    "swap_remove",
    "split_off",
];

/// Calls whose result holds what their arguments hold.
const WRAPPERS: &[&str] = &[
    "Box", "Rc", "Arc", "RefCell", "Cell", "Mutex", "RwLock", "Pin", "OnceCell",
];

impl Bodies<'_> {
    /// Walks a fn's `block` with a scope of its own (a nested fn sees none of its parent's
    /// locals), its handles first taken from its parameters; then keeps the cycles it closed
    /// that it did not break itself.
    fn in_fn(&mut self, sig: &syn::Signature, in_drop: bool, block: &syn::Block) {
        let saved = std::mem::take(&mut self.scope);
        let saved_drop = std::mem::replace(&mut self.in_drop, in_drop);
        let module = self.module;
        for input in &sig.inputs {
            let (name, ty) = match input {
                syn::FnArg::Receiver(syn::Receiver {
                    kind: syn::ReceiverKind::Typed(_, ty),
                    ..
                }) => ("self".to_string(), &**ty),
                syn::FnArg::Typed(t) => match &*t.pat {
                    syn::Pat::Ident(i) => (i.ident.to_string(), &*t.ty),
                    _ => continue,
                },
                _ => continue,
            };
            let (owned, ty): (bool, &syn::Type) = match ty {
                syn::Type::Reference(r) => (false, &r.elem),
                ty => (true, ty),
            };
            if let Some(kind) = self.handle_type(ty) {
                let value = self.value_type(ty);
                self.bind_root(name, kind, owned, Vec::new(), value);
            }
        }
        self.module = self.cx.body_module(module, &sig.ident, block);
        let span = Span::of(self.file, block.brace_token.span.join());
        let text = self
            .text
            .get(span.lo as usize..span.hi as usize)
            .unwrap_or_default();
        // A method that clones something, or lends a field of `self` to a call, may clone a
        // handle in that field (`Rc::clone(&self.environment)`, `Function::new(&self.env)`).
        let finds = |needle: &[u8]| memchr::memmem::find(text.as_bytes(), needle).is_some();
        if sig.receiver().is_some() && (finds(b"clone") || finds(b"(&self.") || finds(b", &self."))
        {
            self.bind_self_fields(text);
        }
        // A body that names neither `Rc` nor `Arc`, of a fn without such parameters, makes
        // no handle unless it calls one of the crate's fns that do: most bodies, whose walk
        // is skipped.
        let body_names_rc = || text.len() <= 2 || names_rc(text.as_bytes());
        let walk = !self.scope.handles.is_empty()
            || (self.names_rc && body_names_rc())
            || self.binds_made_handle(block);
        if walk {
            self.visit_block(block);
        }
        self.module = module;
        let done = std::mem::replace(&mut self.scope, saved);
        for (root, hold) in done.pending {
            if !done.emptied.contains(&root) {
                self.out.self_holds.push(hold);
            }
        }
        self.in_drop = saved_drop;
    }

    /// Whether a statement of `block` binds a local to what one of the crate's fns or
    /// aliases makes (`let w = Window::new();`, `let w: Shared = ..`): in a body that names
    /// neither `Rc` nor `Arc`, the only way to a handle. Handles made deeper in the body than
    /// its own block are not looked for.
    fn binds_made_handle(&self, block: &syn::Block) -> bool {
        if self.makers.is_empty() {
            return false;
        }
        block.stmts.iter().any(|s| match s {
            syn::Stmt::Local(l) => {
                l.init.as_ref().is_some_and(|i| self.may_make(&i.expr))
                    || matches!(&l.pat, syn::Pat::Type(t) if self.handle_type(&t.ty).is_some())
            }
            _ => false,
        })
    }

    /// Whether `e` calls a path that names one of [`Bodies::makers`] (a cheap filter before
    /// [`Bodies::made_by_call`]).
    fn may_make(&self, e: &Expr) -> bool {
        match e {
            Expr::Call(c) => match &*c.func {
                Expr::Path(p) if !self.makers.is_empty() => {
                    let (ty, f) = last_two(&p.path);
                    let Some(f) = f else { return false };
                    let ty = ty.map(|t| t.to_string());
                    self.makers.may_make(ty.as_deref(), &f.to_string())
                }
                _ => false,
            },
            Expr::Paren(p) => self.may_make(&p.expr),
            _ => false,
        }
    }

    fn bind_root(
        &mut self,
        name: String,
        kind: &'static str,
        owned: bool,
        holds: Vec<Hold>,
        ty: Option<Ty>,
    ) {
        let root = self.scope.roots.len();
        self.scope.roots.push(Root { kind, holds, ty });
        self.scope.values.remove(&name);
        self.scope.handles.insert(name, Handle { root, owned });
    }

    fn handle(&self, e: &Expr) -> Option<(Handle, String)> {
        let name = local_name(e).or_else(|| self_field(e))?;
        let h = *self.scope.handles.get(&name)?;
        Some((h, name))
    }

    /// A field of `self` that held a handle and is assigned `value` (or swapped, replaced):
    /// it is that value's handle from here on, or no handle we know.
    fn rebind_self_field(&mut self, place: &Expr, value: Option<&Expr>) {
        let Some(name) = self_field(place).filter(|n| self.scope.handles.contains_key(n)) else {
            return;
        };
        match value.and_then(|v| self.handle_of(v)) {
            Some(Made::Alias(root)) => {
                self.scope
                    .handles
                    .insert(name, Handle { root, owned: false });
            }
            Some(Made::New(kind, holds, ty)) => self.bind_root(name, kind, false, holds, ty),
            None => {
                self.scope.handles.remove(&name);
            }
        }
    }

    /// Binds the fields of `self` that are handles (`environment: Rc<RefCell<Env>>`) and that
    /// the method's `text` clones or lends to a call (`clone(&self.environment)`,
    /// `self.environment.clone()`, `f(&self.environment)`) as handles of their own, named
    /// `self.environment`: references to them, as `self` is.
    fn bind_self_fields(&mut self, text: &str) {
        let (index, semantics) = (self.cx.index, self.cx.semantics);
        let Some(id) = self
            .self_ty
            .as_ref()
            .and_then(|t| semantics.adt_item(index, t, self.module))
        else {
            return;
        };
        let item = index.item(id);
        let Some(crate::index::ItemTypes::Adt {
            fields,
            generic: false,
            ..
        }) = item.types.as_deref()
        else {
            return;
        };
        for (name, ty) in fields {
            let cloned = |needle: String| memchr::memmem::find(text.as_bytes(), needle.as_bytes());
            if cloned(format!("clone(&self.{name})")).is_none()
                && cloned(format!("self.{name}.clone()")).is_none()
                && cloned(format!("(&self.{name}")).is_none()
                && cloned(format!(", &self.{name}")).is_none()
            {
                continue;
            }
            let ty = semantics.expand(index, ty, item.module);
            if let Some(kind) = rc_or_arc(&ty) {
                self.bind_root(
                    format!("self.{name}"),
                    kind,
                    false,
                    Vec::new(),
                    value_of(&ty),
                );
            }
        }
    }

    /// `Rc::clone(&a)`, `Arc::clone(&a)` or `Clone::clone(&a)` of a handle: that handle and
    /// the local's name.
    fn cloned_by_call(&self, c: &syn::ExprCall) -> Option<(Handle, String)> {
        let Expr::Path(p) = &*c.func else { return None };
        let (Some(ty), Some(f)) = last_two(&p.path) else {
            return None;
        };
        if f != "clone" || (rc_name(ty).is_none() && ty != "Clone") {
            return None;
        }
        let arg = match c.args.first()? {
            Expr::Reference(r) => &*r.expr,
            a => a,
        };
        self.handle(arg)
    }

    /// `Rc`/`Arc` for a type that is one, written so or through the crate's aliases
    /// (`type Shared = Rc<RefCell<State>>`).
    fn handle_type(&self, ty: &syn::Type) -> Option<&'static str> {
        if let Some(kind) = rc_kind(ty) {
            return Some(kind);
        }
        let syn::Type::Path(p) = ty else { return None };
        let last = p.path.segments.last()?.ident.to_string();
        if !self.makers.aliases.contains(&last) {
            return None;
        }
        let ty = Ty::from_syn(ty, &[]);
        rc_or_arc(&self.cx.semantics.expand(self.cx.index, &ty, self.module))
    }

    /// What a call to one of the crate's fns or aliases gives, when that is an `Rc`/`Arc`:
    /// `Shared::new(v)` for an alias of one (a new allocation of `v`), or `Window::new()`,
    /// `make_state()` for fns that return one (an allocation of theirs).
    fn made_by_call(&self, c: &syn::ExprCall) -> Option<(&'static str, bool, Ty)> {
        let Expr::Path(p) = &*c.func else { return None };
        if p.qself.is_some() {
            return None;
        }
        let (ty, f) = last_two(&p.path);
        let f = f?.to_string();
        let ty = ty.map(|t| t.to_string());
        let (cx, index) = (self.cx, self.cx.index);
        if ty.as_ref().is_some_and(|t| self.makers.aliases.contains(t))
            && (f == "new" || f == "from")
        {
            let mut prefix = p.path.clone();
            prefix.segments.pop();
            let prefix_ty = cx.semantics.path_type(index, &prefix, self.module);
            if let Some(kind) = rc_or_arc(&prefix_ty) {
                return Some((kind, true, prefix_ty));
            }
        }
        if !self.makers.may_make(ty.as_deref(), &f) {
            return None;
        }
        let (_, ret) = self.crate_fn(&p.path)?;
        rc_or_arc(&ret).map(|kind| (kind, false, ret))
    }

    /// The type of a struct literal, through std's wrappers: `RefCell::new(Env { .. })`.
    fn literal_type(&self, e: &Expr) -> Option<Ty> {
        match e {
            Expr::Struct(s) if s.qself.is_none() => {
                let ty = self
                    .cx
                    .semantics
                    .path_type(self.cx.index, &s.path, self.module);
                (!ty.is_unknown()).then_some(ty)
            }
            Expr::Call(c) if c.args.len() == 1 => match &*c.func {
                Expr::Path(p) => match last_two(&p.path) {
                    (Some(w), Some(f)) if f == "new" && WRAPPERS.iter().any(|x| w == x) => {
                        self.literal_type(&c.args[0])
                    }
                    _ => None,
                },
                _ => None,
            },
            Expr::Paren(p) => self.literal_type(&p.expr),
            _ => None,
        }
    }

    /// The type of the value behind a handle of type `ty` (written), when it is known.
    fn value_type(&self, ty: &syn::Type) -> Option<Ty> {
        let ty = Ty::from_syn(ty, &[]);
        value_of(&self.cx.semantics.expand(self.cx.index, &ty, self.module))
    }

    /// A new allocation (`Rc::new(v)`) or another handle to one (`a.clone()`, `Rc::clone(&a)`).
    fn handle_of(&self, e: &Expr) -> Option<Made> {
        match e {
            Expr::Call(c) => {
                if let Some((h, _)) = self.cloned_by_call(c) {
                    return Some(Made::Alias(h.root));
                }
                let (kind, value) = match new_rc(c) {
                    Some(kind) => (kind, c.args.first().and_then(|a| self.literal_type(a))),
                    None => match self.made_by_call(c)? {
                        // `Shared::new(v)`: holds what `v` holds, as `Rc::new(v)` would.
                        (kind, true, ty) => (kind, value_of(&ty)),
                        // What a fn's allocation holds is the fn's business.
                        (kind, false, ty) => {
                            return Some(Made::New(kind, Vec::new(), value_of(&ty)))
                        }
                    },
                };
                let mut holds = Vec::new();
                for a in &c.args {
                    self.held(a, &mut holds);
                }
                Some(Made::New(kind, holds, value))
            }
            Expr::MethodCall(m) if m.method == "clone" && m.args.is_empty() => {
                self.handle(&m.receiver).map(|(h, _)| Made::Alias(h.root))
            }
            Expr::Paren(p) => self.handle_of(&p.expr),
            e => self
                .handle(e)
                .filter(|(h, _)| h.owned)
                .map(|(h, _)| Made::Alias(h.root)),
        }
    }

    /// The strong references that the value of `e` holds.
    fn held(&self, e: &Expr, out: &mut Vec<Hold>) {
        let span = || Span::of_node(self.file, e);
        match e {
            Expr::Closure(c) if c.capture.is_some() => self.captured(&*c.body, out),
            Expr::Async(a) if a.capture.is_some() => self.captured(a, out),
            Expr::Call(c) => {
                // Checked apart from `Rc::new(..)`, whose arguments are read once, below: a
                // nest of `Rc::new`s must not be read once per level.
                if let Some((h, alias)) = self.cloned_by_call(c) {
                    out.push(self.hold(h.root, span(), alias, false));
                    return;
                }
                let Expr::Path(p) = &*c.func else { return };
                let wraps = match last_two(&p.path) {
                    (_, Some(last)) if last == "Some" || last == "Ok" || last == "Err" => true,
                    (Some(ty), Some(last)) if last == "new" => WRAPPERS.iter().any(|w| ty == w),
                    // A tuple struct or an enum variant: `Node(..)`, `Link::Next(..)`.
                    (_, Some(last)) => last
                        .to_string()
                        .starts_with(|c: char| c.is_ascii_uppercase()),
                    (_, None) => false,
                };
                if wraps {
                    for a in &c.args {
                        self.held(a, out);
                    }
                } else if !c.args.is_empty() && !self.scope.handles.is_empty() {
                    // One of the crate's fns may keep its arguments in what it returns.
                    let mut inner = Vec::new();
                    for (i, a) in c.args.iter().enumerate() {
                        let before = inner.len();
                        match a {
                            // `LoxFunction::new(&self.environment, ..)`: a fn that keeps
                            // what it is lent keeps a clone of it, a strong reference.
                            Expr::Reference(r) => {
                                if let Some((h, alias)) = self.handle(&r.expr) {
                                    let at = Span::of_node(self.file, a);
                                    inner.push(self.hold(h.root, at, alias, false));
                                }
                            }
                            a => self.held(a, &mut inner),
                        }
                        if inner.len() > before {
                            let Some(def) = self.crate_fn(&p.path).and_then(|(def, _)| def) else {
                                return;
                            };
                            for h in &mut inner[before..] {
                                h.needs.push((def, i));
                            }
                        }
                    }
                    out.extend(inner);
                }
            }
            Expr::MethodCall(m) if m.method == "clone" && m.args.is_empty() => {
                if let Some((h, alias)) = self.handle(&m.receiver) {
                    out.push(self.hold(h.root, span(), alias, false));
                } else if let Some(name) = local_name(&m.receiver) {
                    out.extend(self.scope.values.get(&name).into_iter().flatten().cloned());
                }
            }
            Expr::Path(_) => {
                let Some(name) = local_name(e) else { return };
                match self.scope.handles.get(&name) {
                    Some(h) if h.owned => out.push(self.hold(h.root, span(), name, false)),
                    Some(_) => {}
                    None => out.extend(self.scope.values.get(&name).into_iter().flatten().cloned()),
                }
            }
            Expr::Struct(s) => {
                for f in &s.fields {
                    self.held(&f.expr, out);
                }
            }
            Expr::Tuple(t) => t.elems.iter().for_each(|e| self.held(e, out)),
            Expr::Array(a) => a.elems.iter().for_each(|e| self.held(e, out)),
            Expr::Paren(p) => self.held(&p.expr, out),
            Expr::Group(g) => self.held(&g.expr, out),
            Expr::Cast(c) => self.held(&c.expr, out),
            _ => {}
        }
    }

    fn hold(&self, root: usize, span: Span, alias: String, captured: bool) -> Hold {
        Hold {
            root,
            span,
            alias,
            captured,
            needs: Vec::new(),
        }
    }

    /// The fn of the crate that a call of `path` runs, an associated fn of one of the crate's
    /// types (`LoxFunction::new`) or a free fn: its definition and its return type (aliases
    /// expanded).
    fn crate_fn(&self, path: &syn::Path) -> Option<(Option<Span>, Ty)> {
        let (index, semantics) = (self.cx.index, self.cx.semantics);
        if path.segments.len() >= 2 {
            let mut prefix = path.clone();
            prefix.segments.pop();
            let ty = semantics.path_type(index, &prefix, self.module);
            let f = path.segments.last()?.ident.to_string();
            if let Some(r) = semantics.assoc_call(index, &ty, &f, &[], self.module) {
                return Some((r.def, r.ret));
            }
        }
        let Resolution::Local(id) = index.resolve_path(self.module, &[], path) else {
            return None;
        };
        let item = index.item(id);
        if item.kind != ItemKind::Fn || path.segments.last()?.ident != item.name {
            return None;
        }
        match item.types.as_deref()? {
            crate::index::ItemTypes::Fn { ret, .. } => {
                Some((Some(item.span), semantics.expand(index, ret, item.module)))
            }
            _ => None,
        }
    }

    /// What a `move` closure or `async move` block owns: the handles and values it names
    /// that it does not bind itself.
    fn captured<'a>(&self, body: &'a impl VisitNode<'a>, out: &mut Vec<Hold>) {
        let mut m = Mentions::default();
        body.visit_with(&mut m);
        let mut seen = std::collections::HashSet::new();
        for (name, span) in m.names {
            if m.bound.contains(&name) || !seen.insert(name.clone()) {
                continue;
            }
            let span = Span::of(self.file, span);
            match self.scope.handles.get(&name) {
                Some(h) if h.owned => out.push(self.hold(h.root, span, name, true)),
                Some(_) => {}
                None => {
                    out.extend(
                        self.scope
                            .values
                            .get(&name)
                            .into_iter()
                            .flatten()
                            .map(|h| Hold {
                                captured: true,
                                ..h.clone()
                            }),
                    )
                }
            }
        }
    }

    /// The handle a place is reached through, its name, and the outermost field on the way:
    /// `*a.on_click.borrow_mut()` is `a`'s field `on_click`. A bare handle is no place in
    /// the value.
    fn place(&self, e: &Expr) -> Option<Place> {
        let mut field = None;
        let mut cur = e;
        let mut projected = false;
        loop {
            if let Some((h, name)) = self_field(cur).and_then(|n| {
                let h = *self.scope.handles.get(&n)?;
                Some((h, n))
            }) {
                return projected.then_some((h, name, field));
            }
            let Some((next, projection)) = place_step(cur, &mut field) else {
                let local = local_name(cur);
                if let Some((h, name, inner)) = local.and_then(|n| self.scope.places.get(&n)) {
                    return Some((*h, name.clone(), field.or_else(|| inner.clone())));
                }
                let (h, name) = self.handle(cur)?;
                return projected.then_some((h, name, field));
            };
            cur = next;
            projected |= projection;
        }
    }

    /// Stores `value` into the value behind `place`: a cycle if what it holds leads back.
    fn store(&mut self, place: &Expr, value: &[&Expr], at: Span) {
        let Some((owner, owner_name, field)) = self.place(place) else {
            return;
        };
        let mut held = Vec::new();
        for v in value {
            self.held(v, &mut held);
        }
        let root = owner.root;
        let Some(via) = held.iter().find(|h| self.leads_to(h.root, root)) else {
            // What only a fn's keeping would make held is not followed further.
            let sure = held.into_iter().filter(|h| h.needs.is_empty());
            self.scope.roots[root].holds.extend(sure);
            return;
        };
        let hold = self.self_hold(owner, owner_name, via, at, field);
        if hold.field.is_some() {
            self.out.self_holds.push(hold);
        } else {
            self.scope.pending.push((root, hold));
        }
    }

    /// A method call on the value behind a handle (`env.borrow_mut().define(name, v)`) whose
    /// argument holds a strong reference to that value: a cycle if the method keeps that
    /// argument, which the judge tells from the method's facts. The method is looked up in
    /// the value's type, when the code tells it.
    fn call_store(&mut self, m: &syn::ExprMethodCall) {
        let (owner, owner_name) = match self.place(&m.receiver) {
            Some((owner, name, None)) => (owner, name),
            Some(_) => return,
            None => match self.handle(&m.receiver) {
                Some(h) => h,
                None => return,
            },
        };
        let Some(ty) = self.scope.roots[owner.root].ty.clone() else {
            return;
        };
        let mut found = Vec::new();
        for (i, a) in m.args.iter().enumerate() {
            let mut held = Vec::new();
            self.held(a, &mut held);
            if let Some(via) = held.into_iter().find(|h| self.leads_to(h.root, owner.root)) {
                found.push((i, via));
            }
        }
        if found.is_empty() {
            return;
        }
        let (index, semantics) = (self.cx.index, self.cx.semantics);
        let method = m.method.to_string();
        let Some(def) = semantics
            .assoc_call(index, &ty, &method, &[], self.module)
            .and_then(|r| r.def)
        else {
            return;
        };
        let at = Span::of(self.file, m.method.span());
        for (i, via) in found {
            let hold = SelfHold {
                kept_by: Some(method.clone()),
                ..self.self_hold(owner, owner_name.clone(), &via, at, None)
            };
            self.out.call_holds.push((def, i, hold));
        }
    }

    /// The finding for a store at `at` into the value `owner` stands for, of `via`.
    fn self_hold(
        &self,
        owner: Handle,
        owner_name: String,
        via: &Hold,
        at: Span,
        field: Option<String>,
    ) -> SelfHold {
        let root = owner.root;
        let kind = self.scope.roots[root].kind;
        let via_label = match (via.root == root, via.captured) {
            (true, true) => format!(
                "this closure owns `{}`, a strong reference to the same `{kind}`",
                via.alias
            ),
            (true, false) => format!("`{}` is a strong reference to the same `{kind}`", via.alias),
            (false, true) => format!(
                "this closure owns `{}`, which holds a strong reference to `{owner_name}`",
                via.alias
            ),
            (false, false) => format!("`{}` holds a strong reference to `{owner_name}`", via.alias),
        };
        SelfHold {
            store: at,
            owner: owner_name,
            owner_is_ref: !owner.owned,
            kind,
            via: via.span,
            via_label,
            field,
            kept_by: None,
            needs: via.needs.clone(),
        }
    }

    /// Whether allocation `from` is `to` or holds it, through what was stored into each.
    fn leads_to(&self, from: usize, to: usize) -> bool {
        let mut seen = vec![false; self.scope.roots.len()];
        let mut stack = vec![from];
        while let Some(r) = stack.pop() {
            if r == to {
                return true;
            }
            if std::mem::replace(&mut seen[r], true) {
                continue;
            }
            stack.extend(self.scope.roots[r].holds.iter().map(|h| h.root));
        }
        false
    }

    /// A value emptied here breaks a cycle stored into the value itself in this fn. (One
    /// stored into a field is judged against the crate's text: see [`empties_field`].)
    fn emptied(&mut self, place: &Expr) {
        if self.in_drop {
            return;
        }
        if let Some((h, _, None)) = self.place(place) {
            self.scope.emptied.push(h.root);
        }
    }
}

/// A place inside an allocation: the handle it is reached through, the handle's name, and
/// the outermost field on the way.
type Place = (Handle, String, Option<String>);

/// What a `let` binds: a new allocation (with what it holds and its value's type, when
/// known) or another handle to a known one.
enum Made {
    New(&'static str, Vec<Hold>, Option<Ty>),
    Alias(usize),
}

impl<'ast> Visit<'ast> for Bodies<'_> {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if !on_gc_heap(&m.attrs) {
            let outer = self.module;
            self.module = self.cx.inner_module(outer, m);
            syn::visit::visit_item_mod(self, m);
            self.module = outer;
        }
    }

    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        kept_arguments(self.file, &f.sig, &f.block, &mut self.out.keeps);
        self.in_fn(&f.sig, false, &f.block);
    }

    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        let generics = crate::types::type_params(&i.generics);
        let self_ty = Ty::from_syn(&i.self_ty, &generics);
        let self_ty = self
            .cx
            .semantics
            .expand(self.cx.index, &self_ty, self.module);
        let outer_ty = self.self_ty.replace(self_ty);
        let is_drop = i
            .trait_
            .as_ref()
            .and_then(|(p, _)| p.segments.last())
            .is_some_and(|s| s.ident == "Drop");
        for item in &i.items {
            match item {
                syn::ImplItem::Fn(f) => {
                    let in_drop = is_drop && f.sig.ident == "drop";
                    kept_arguments(self.file, &f.sig, &f.block, &mut self.out.keeps);
                    self.in_fn(&f.sig, in_drop, &f.block);
                }
                other => syn::visit::visit_impl_item(self, other),
            }
        }
        self.self_ty = outer_ty;
    }

    fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
        if let Some(block) = &f.default {
            self.in_fn(&f.sig, false, block);
        }
    }

    fn visit_local(&mut self, l: &'ast syn::Local) {
        syn::visit::visit_local(self, l);
        // Most bodies hold no handle: then only a new one (or an `Rc` type) matters.
        if self.scope.handles.is_empty()
            && self.scope.values.is_empty()
            && l.init
                .as_ref()
                .is_none_or(|i| new_rc_of(&i.expr).is_none() && !self.may_make(&i.expr))
            && !matches!(&l.pat, syn::Pat::Type(t) if self.handle_type(&t.ty).is_some())
        {
            return;
        }
        let (name, ty) = match &l.pat {
            syn::Pat::Ident(i) => (i.ident.to_string(), None),
            syn::Pat::Type(t) => match &*t.pat {
                syn::Pat::Ident(i) => (i.ident.to_string(), Some(&*t.ty)),
                _ => return self.unbind(&l.pat),
            },
            _ => return self.unbind(&l.pat),
        };
        let Some(init) = &l.init else {
            return self.unbind(&l.pat);
        };
        match self.place(&init.expr) {
            Some(place) => self.scope.places.insert(name.clone(), place),
            None => self.scope.places.remove(&name),
        };
        match self.handle_of(&init.expr) {
            Some(Made::New(kind, holds, value)) => self.bind_root(name, kind, true, holds, value),
            Some(Made::Alias(root)) => {
                self.scope.values.remove(&name);
                self.scope
                    .handles
                    .insert(name, Handle { root, owned: true });
            }
            None => {
                self.scope.handles.remove(&name);
                if let Some((kind, t)) = ty.and_then(|t| Some((self.handle_type(t)?, t))) {
                    let value = self.value_type(t);
                    return self.bind_root(name, kind, true, Vec::new(), value);
                }
                let mut holds = Vec::new();
                self.held(&init.expr, &mut holds);
                if holds.is_empty() {
                    self.scope.values.remove(&name);
                } else {
                    self.scope.values.insert(name, holds);
                }
            }
        }
    }

    fn visit_expr_assign(&mut self, a: &'ast syn::ExprAssign) {
        syn::visit::visit_expr_assign(self, a);
        let mut held = Vec::new();
        self.held(&a.right, &mut held);
        if held.is_empty() {
            if is_empty_value(&a.right) {
                self.emptied(&a.left);
            }
        } else {
            self.store(&a.left, &[&a.right], Span::of_node(self.file, &*a.left));
        }
        // `self.environment = other`: the field holds another allocation from here on.
        self.rebind_self_field(&a.left, Some(&a.right));
    }

    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        syn::visit::visit_expr_method_call(self, m);
        // One string and a `match` beat twenty comparisons of an `Ident`.
        let method = m.method.to_string();
        let method = method.as_str();
        if EMPTIES.contains(&method) {
            self.emptied(&m.receiver);
        } else if KEEPS.contains(&method) {
            let mut held = Vec::new();
            m.args.iter().for_each(|a| self.held(a, &mut held));
            if held.is_empty() {
                // `cell.set(None)`, `slot.replace(other)`: what was there is gone.
                if method == "set" || method == "replace" {
                    self.emptied(&m.receiver);
                }
            } else {
                let args: Vec<&Expr> = m.args.iter().collect();
                self.store(&m.receiver, &args, Span::of(self.file, m.method.span()));
            }
        } else if !m.args.is_empty() && !self.scope.handles.is_empty() {
            self.call_store(m);
        }
    }

    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        syn::visit::visit_expr_call(self, c);
        // `mem::take(&mut a.f)`, `mem::replace(&mut a.f, ..)`
        if let Expr::Path(p) = &*c.func {
            let last = &p.path.segments.last().map(|s| &s.ident);
            if last.is_some_and(|l| l == "take" || l == "replace" || l == "swap") {
                if let Some(Expr::Reference(r)) = c.args.first() {
                    self.emptied(&r.expr);
                    self.rebind_self_field(&r.expr, None);
                }
            }
        }
    }
}

impl Bodies<'_> {
    /// A `let` whose pattern binds names we cannot follow: they no longer mean what they did.
    fn unbind(&mut self, pat: &syn::Pat) {
        let mut m = Mentions::default();
        m.visit_pat(pat);
        for name in m.bound {
            self.scope.handles.remove(&name);
            self.scope.values.remove(&name);
            self.scope.places.remove(&name);
        }
    }
}

/// The names an expression mentions (paths of one segment, and words inside macro calls) and
/// the names it binds (closure parameters, `let`s, patterns).
#[derive(Default)]
struct Mentions {
    names: Vec<(String, proc_macro2::Span)>,
    bound: std::collections::HashSet<String>,
}

impl<'ast> Visit<'ast> for Mentions {
    fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
        if p.qself.is_none() && p.path.segments.len() == 1 {
            let ident = &p.path.segments[0].ident;
            self.names.push((ident.to_string(), ident.span()));
        }
        syn::visit::visit_expr_path(self, p);
    }

    fn visit_pat_ident(&mut self, i: &'ast syn::PatIdent) {
        self.bound.insert(i.ident.to_string());
        syn::visit::visit_pat_ident(self, i);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        fn words(tokens: proc_macro2::TokenStream, out: &mut Vec<(String, proc_macro2::Span)>) {
            for t in tokens {
                match t {
                    proc_macro2::TokenTree::Ident(i) => out.push((i.to_string(), i.span())),
                    proc_macro2::TokenTree::Group(g) => words(g.stream(), out),
                    _ => {}
                }
            }
        }
        words(m.tokens.clone(), &mut self.names);
    }
}

/// A closure's body or an async block, walked for what it mentions.
trait VisitNode<'a> {
    fn visit_with(&'a self, v: &mut Mentions);
}

impl<'a> VisitNode<'a> for Expr {
    fn visit_with(&'a self, v: &mut Mentions) {
        v.visit_expr(self);
    }
}

impl<'a> VisitNode<'a> for syn::ExprAsync {
    fn visit_with(&'a self, v: &mut Mentions) {
        v.visit_block(&self.block);
    }
}

/// Whether `text` empties or resets a field named `field`, outside a `Drop::drop` (which a
/// cycle never reaches): `.field` followed in its statement by `.take()`, `.clear()`,
/// `.remove(..)` and the other [`EMPTIES`], `.set(None)`, `.replace(None)`, or an assignment
/// of `None`, `T::new()` or `T::default()`; or `mem::take(&mut x.field)` and its kin. A text
/// reading, so a comment that says so counts too: it can only silence a finding.
fn empties_field(text: &str, field: &str) -> bool {
    let needle = format!(".{field}");
    let bytes = text.as_bytes();
    let drops = drop_bodies(text);
    memchr::memmem::find_iter(bytes, needle.as_bytes()).any(|at| {
        let end = at + needle.len();
        if bytes
            .get(end)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
            || drops.iter().any(|d| d.contains(&at))
        {
            return false;
        }
        let boundary = |c: char| c == ';' || c == '{' || c == '}';
        let stmt_end = text[end..].find(boundary).map_or(text.len(), |i| end + i);
        let stmt_start = text[..at].rfind(boundary).map_or(0, |i| i + 1);
        let squeeze = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
        let (before, rest) = (
            squeeze(&text[stmt_start..at]),
            squeeze(&text[end..stmt_end]),
        );
        if ["take(&mut", "replace(&mut", "swap(&mut"]
            .iter()
            .any(|m| before.contains(m))
        {
            return true;
        }
        if EMPTIES.iter().any(|m| rest.contains(&format!(".{m}(")))
            || rest.contains(".set(None)")
            || rest.contains(".replace(None)")
        {
            return true;
        }
        // `= None`, `= Vec::new()`: an assignment, not `==`, `<=`, `+=`...
        let assign = rest.char_indices().find(|&(i, c)| {
            c == '='
                && !rest[i + 1..].starts_with('=')
                && !rest[..i]
                    .ends_with(['=', '!', '<', '>', '+', '-', '*', '/', '%', '&', '|', '^'])
        });
        assign.is_some_and(|(i, _)| {
            let value = &rest[i + 1..];
            value == "None" || value.ends_with("::new()") || value.ends_with("::default()")
        })
    })
}

/// The byte ranges of the bodies of `fn drop(&mut self)` in `text`, by counting braces.
fn drop_bodies(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    for at in memchr::memmem::find_iter(text.as_bytes(), b"fn drop(") {
        let Some(open) = text[at..].find('{').map(|i| at + i) else {
            continue;
        };
        let mut depth = 0usize;
        for (i, b) in text.as_bytes()[open..].iter().enumerate() {
            match b {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        out.push(open..open + i);
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// The last two segments of a path: `Rc::new` is `(Some(Rc), Some(new))`.
fn last_two(path: &syn::Path) -> (Option<&syn::Ident>, Option<&syn::Ident>) {
    let mut segs = path.segments.iter().rev();
    let last = segs.next().map(|s| &s.ident);
    (segs.next().map(|s| &s.ident), last)
}

/// A value that holds nothing, assigned to empty a place: `None`, `T::new()`,
/// `Default::default()`.
fn is_empty_value(e: &Expr) -> bool {
    match e {
        Expr::Path(p) => p.path.is_ident("None"),
        Expr::Call(c) if c.args.is_empty() => match &*c.func {
            Expr::Path(p) => last_two(&p.path)
                .1
                .is_some_and(|f| f == "new" || f == "default"),
            _ => false,
        },
        Expr::Paren(p) => is_empty_value(&p.expr),
        _ => false,
    }
}

/// The arguments a method keeps in `self`: those its body's own statements store into it
/// (`self.values.insert(name, value);`, `self.on_close = Some(cb);`, through fields,
/// `borrow_mut()` and the like), as `(method, argument index, field)`; and those a fn without
/// `self` builds the value it returns from (`fn new(closure: Env) -> Self { Self { closure }
/// }`), with no field. Stores nested in branches or loops are not looked for.
fn kept_arguments(
    file: FileId,
    sig: &syn::Signature,
    body: &syn::Block,
    out: &mut Vec<(Span, usize, Option<String>)>,
) {
    // Most fns store nothing into `self` and build nothing at their end: no need to read
    // their parameters.
    let candidate = |s: &syn::Stmt| match s {
        syn::Stmt::Expr(Expr::Assign(_), _) => true,
        syn::Stmt::Expr(Expr::MethodCall(m), _) => KEEPS.iter().any(|k| m.method == k),
        syn::Stmt::Expr(Expr::Struct(_) | Expr::Call(_), None) => true,
        _ => false,
    };
    if !body.stmts.iter().any(candidate) {
        return;
    }
    let params: Vec<Option<String>> = sig
        .inputs
        .iter()
        .filter_map(|i| match i {
            syn::FnArg::Typed(t) => Some(match &*t.pat {
                syn::Pat::Ident(p) => Some(p.ident.to_string()),
                _ => None,
            }),
            syn::FnArg::Receiver(_) => None,
        })
        .collect();
    if params.iter().all(Option::is_none) {
        return;
    }
    let def = Span::of(file, sig.ident.span());
    let mut keep = |values: &[&Expr], field: Option<String>| {
        for v in values {
            let mut names = Vec::new();
            kept_names(v, &mut names);
            for name in &names {
                if let Some(i) = params.iter().position(|p| p.as_deref() == Some(name)) {
                    if !out.iter().any(|(d, j, _)| *d == def && *j == i) {
                        out.push((def, i, field.clone()));
                    }
                }
            }
        }
    };
    if sig.receiver().is_none() {
        // The value built at the end: `Self { .. }`, `Node(..)`, `Value::Fn { .. }`.
        if let Some(syn::Stmt::Expr(e @ (Expr::Struct(_) | Expr::Call(_)), None)) =
            body.stmts.last()
        {
            let built = match e {
                Expr::Call(c) => matches!(&*c.func, Expr::Path(p) if last_two(&p.path)
                    .1
                    .is_some_and(|l| l.to_string().starts_with(|c: char| c.is_ascii_uppercase()))),
                _ => true,
            };
            if built {
                keep(&[e], None);
            }
        }
        return;
    }
    for stmt in &body.stmts {
        let syn::Stmt::Expr(e, _) = stmt else {
            continue;
        };
        let (place, values): (&Expr, Vec<&Expr>) = match e {
            Expr::Assign(a) => (&a.left, vec![&a.right]),
            Expr::MethodCall(m) if KEEPS.iter().any(|k| m.method == k) => {
                (&m.receiver, m.args.iter().collect())
            }
            _ => continue,
        };
        let Some(field) = place_in_self(place) else {
            continue;
        };
        keep(&values, field);
    }
}

/// The names whose values (or clones of them) the value of `e` holds: the names themselves,
/// their clones, what struct literals, tuples, arrays, variants and std's wrappers are built
/// from, and what `move` closures capture. Not what is only read (`p.len()`,
/// `p.to_string()`), borrowed (`&p`) or made weak (`Rc::downgrade(&p)`).
fn kept_names(e: &Expr, out: &mut Vec<String>) {
    match e {
        Expr::Path(_) => out.extend(local_name(e)),
        Expr::Paren(p) => kept_names(&p.expr, out),
        Expr::MethodCall(m) if m.method == "clone" && m.args.is_empty() => {
            kept_names(&m.receiver, out)
        }
        Expr::Call(c) => {
            let Expr::Path(p) = &*c.func else { return };
            let (ty, last) = last_two(&p.path);
            let Some(last) = last else { return };
            let clone = last == "clone" && ty.is_some_and(|t| t == "Rc" || t == "Arc");
            let wraps = last == "Some"
                || last == "Ok"
                || last == "Err"
                || (last == "new" && ty.is_some_and(|t| WRAPPERS.iter().any(|w| t == w)))
                || last
                    .to_string()
                    .starts_with(|c: char| c.is_ascii_uppercase());
            for a in &c.args {
                match a {
                    Expr::Reference(r) if clone => kept_names(&r.expr, out),
                    a if clone || wraps => kept_names(a, out),
                    _ => {}
                }
            }
        }
        Expr::Struct(s) => s.fields.iter().for_each(|f| kept_names(&f.expr, out)),
        Expr::Tuple(t) => t.elems.iter().for_each(|e| kept_names(e, out)),
        Expr::Array(a) => a.elems.iter().for_each(|e| kept_names(e, out)),
        Expr::Closure(c) if c.capture.is_some() => {
            let mut m = Mentions::default();
            m.visit_expr(&c.body);
            out.extend(m.names.into_iter().map(|(n, _)| n));
        }
        _ => {}
    }
}

/// For a place inside `self` (`self.values`, `*self.slot.borrow_mut()`), the last field on
/// the way to it, as [`Bodies::place`] reads it.
fn place_in_self(e: &Expr) -> Option<Option<String>> {
    let mut field = None;
    let mut cur = e;
    let mut projected = false;
    while let Some((next, projection)) = place_step(cur, &mut field) {
        cur = next;
        projected |= projection;
    }
    (projected && local_name(cur).as_deref() == Some("self")).then_some(field)
}

/// One step from a place towards the value it is in: through a field (the first one met,
/// the last on the way in, goes into `field`), an accessor (`borrow_mut()`...), `*`, `[i]`
/// or parentheses; with whether the step projects (parentheses do not). `None` at the value.
fn place_step<'e>(cur: &'e Expr, field: &mut Option<String>) -> Option<(&'e Expr, bool)> {
    match cur {
        Expr::Field(f) => {
            if field.is_none() {
                *field = Some(member_name(&f.member));
            }
            Some((&f.base, true))
        }
        Expr::MethodCall(m) if ACCESSORS.iter().any(|a| m.method == a) => Some((&m.receiver, true)),
        Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => Some((&u.expr, true)),
        Expr::Index(i) => Some((&i.expr, true)),
        Expr::Paren(p) => Some((&p.expr, false)),
        _ => None,
    }
}

/// The type of the value behind a handle of type `ty`: what is inside the `Rc`/`Arc` and the
/// cells and locks around it (`Rc<RefCell<Env>>`: `Env`).
fn value_of(ty: &Ty) -> Option<Ty> {
    rc_or_arc(ty)?;
    let mut t = ty;
    loop {
        let Ty::Named(_, args) = t else { return None };
        t = args.first()?;
        match t.last_segment() {
            Some("RefCell" | "Mutex" | "RwLock" | "Cell" | "OnceCell") => continue,
            _ => return (!t.is_unknown()).then(|| t.clone()),
        }
    }
}

/// `Rc` or `Arc` for a type written `Rc<..>`/`Arc<..>` (any path to them).
fn rc_kind(ty: &syn::Type) -> Option<&'static str> {
    let syn::Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if !matches!(last.arguments, syn::PathArguments::AngleBracketed(_)) {
        return None;
    }
    rc_name(&last.ident)
}

/// `Rc` or `Arc` for a name that is one of them.
fn rc_name(ident: &syn::Ident) -> Option<&'static str> {
    if ident == "Rc" {
        Some("Rc")
    } else if ident == "Arc" {
        Some("Arc")
    } else {
        None
    }
}

/// The kind of a new allocation: `Rc::new(..)`, `Arc::from(..)`.
fn new_rc(c: &syn::ExprCall) -> Option<&'static str> {
    let Expr::Path(p) = &*c.func else { return None };
    match last_two(&p.path) {
        (Some(ty), Some(f)) if f == "new" || f == "from" => rc_name(ty),
        _ => None,
    }
}

/// [`new_rc`] of an expression, through parentheses.
fn new_rc_of(e: &Expr) -> Option<&'static str> {
    match e {
        Expr::Call(c) => new_rc(c),
        Expr::Paren(p) => new_rc_of(&p.expr),
        _ => None,
    }
}

/// `self.name` for a field of `self` (`self.environment`), the name a handle in it is bound
/// under (see [`Bodies::bind_self_fields`]).
fn self_field(e: &Expr) -> Option<String> {
    match e {
        Expr::Field(f) => match (&*f.base, &f.member) {
            (Expr::Path(p), syn::Member::Named(n)) if p.path.is_ident("self") => {
                Some(format!("self.{n}"))
            }
            _ => None,
        },
        Expr::Paren(p) => self_field(&p.expr),
        _ => None,
    }
}

/// The local a path of one word names (`self` included).
fn local_name(e: &Expr) -> Option<String> {
    match e {
        Expr::Path(p) if p.qself.is_none() && p.path.segments.len() == 1 => {
            let seg = &p.path.segments[0];
            seg.arguments.is_none().then(|| seg.ident.to_string())
        }
        Expr::Paren(p) => local_name(&p.expr),
        _ => None,
    }
}

fn member_name(m: &syn::Member) -> String {
    match m {
        syn::Member::Named(i) => i.to_string(),
        syn::Member::Unnamed(i) => i.index.to_string(),
    }
}

fn join(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use crate::lint_defs::LintId;
    use crate::test_util::findings;

    fn lines(src: &str) -> Vec<usize> {
        findings(LintId::RcCycle, src)
            .into_iter()
            .map(|(l, _)| l)
            .collect()
    }

    #[test]
    fn back_pointers_with_interior_mutability() {
        let src = "use std::rc::Rc; use std::cell::RefCell;\n\
                   struct Node { prev: Option<Rc<RefCell<Node>>>, next: Option<Rc<RefCell<Node>>> }\n\
                   struct Owner { pets: RefCell<Vec<Rc<Pet>>> }\n\
                   struct Pet { owner: Rc<Owner> }\n";
        assert_eq!(lines(src), vec![2, 3]);
    }

    #[test]
    fn weak_immutable_and_trees_are_fine() {
        let src = "use std::rc::{Rc, Weak}; use std::cell::RefCell;\n\
                   struct Node { parent: RefCell<Weak<Node>>, children: RefCell<Vec<Rc<Node>>> }\n\
                   enum List { Cons(i32, Rc<List>), Nil }\n\
                   struct Tree { kids: Vec<Tree>, left: Option<Box<Tree>> }\n\
                   struct A { b: Rc<B> }\n\
                   struct B { a: Rc<A> }\n";
        assert_eq!(lines(src), Vec::<usize>::new());
    }

    const BUTTON: &str = "use std::rc::{Rc, Weak}; use std::cell::RefCell;\n\
        pub struct Button { on_click: RefCell<Option<Box<dyn Fn()>>>, hooks: RefCell<Vec<Box<dyn Fn()>>> }\n\
        impl Button { fn redraw(&self) {} fn new() -> Button { todo!() } }\n";

    #[test]
    fn a_callback_that_captures_its_owner_is_a_cycle() {
        let src = format!(
            "{BUTTON}\
             pub fn wire() -> Rc<Button> {{\n\
                 let b = Rc::new(Button::new());\n\
                 let this = b.clone();\n\
                 *b.on_click.borrow_mut() = Some(Box::new(move || this.redraw()));\n\
                 let again = Rc::clone(&b);\n\
                 let hook: Box<dyn Fn()> = Box::new(move || {{ println!(\"{{}}\", 1); again.redraw() }});\n\
                 b.hooks.borrow_mut().push(hook);\n\
                 b\n\
             }}\n\
             impl Button {{\n\
                 fn install(self: &Rc<Self>) {{\n\
                     let me = Rc::clone(self);\n\
                     self.hooks.borrow_mut().push(Box::new(move || me.redraw()));\n\
                 }}\n\
                 fn guarded(self: &Rc<Self>) {{\n\
                     let mut hooks = self.hooks.borrow_mut();\n\
                     let me = self.clone();\n\
                     hooks.push(Box::new(move || me.redraw()));\n\
                 }}\n\
             }}\n"
        );
        assert_eq!(lines(&src), vec![7, 10, 16, 21]);
        let messages = crate::test_util::findings(LintId::RcCycle, &src);
        assert!(messages[0]
            .1
            .contains("`b` is made to hold a strong reference to itself"));
    }

    #[test]
    fn weak_captures_borrows_other_values_and_emptied_fields_are_silent() {
        let src = format!(
            "{BUTTON}\
             pub fn wire(other: &Rc<Button>) -> Rc<Button> {{\n\
                 let b = Rc::new(Button::new());\n\
                 let weak = Rc::downgrade(&b);\n\
                 *b.on_click.borrow_mut() = Some(Box::new(move || {{ if let Some(b) = weak.upgrade() {{ b.redraw() }} }}));\n\
                 b.hooks.borrow_mut().push(Box::new(|| println!(\"hi\")));\n\
                 let o = other.clone();\n\
                 b.hooks.borrow_mut().push(Box::new(move || o.redraw()));\n\
                 let this = b.clone();\n\
                 let this = Rc::new(Button::new());\n\
                 b.hooks.borrow_mut().push(Box::new(move || this.redraw()));\n\
                 b\n\
             }}\n"
        );
        assert_eq!(lines(&src), Vec::<usize>::new());
        // A cycle that the crate breaks by emptying the field is left alone; one emptied only
        // in `Drop::drop`, which a cycle never reaches, is not.
        let src = format!(
            "{BUTTON}\
             pub fn wire(b: Rc<Button>) {{\n\
                 let this = b.clone();\n\
                 *b.on_click.borrow_mut() = Some(Box::new(move || this.redraw()));\n\
                 let me = b.clone();\n\
                 b.hooks.borrow_mut().push(Box::new(move || me.redraw()));\n\
             }}\n\
             pub fn close(b: &Button) {{ b.on_click.borrow_mut().take(); }}\n\
             impl Drop for Button {{ fn drop(&mut self) {{ self.hooks.borrow_mut().clear(); }} }}\n"
        );
        assert_eq!(lines(&src), vec![8]);
    }

    #[test]
    fn a_closure_stored_in_its_own_slot_unless_the_fn_empties_it() {
        let src = "use std::rc::Rc; use std::cell::RefCell;\n\
                   fn tick() -> bool { true }\n\
                   fn schedule(_: &dyn Fn()) {}\n\
                   pub fn forever() {\n\
                       let rebuild: Rc<RefCell<Option<Box<dyn Fn()>>>> = Rc::new(RefCell::new(None));\n\
                       let again = rebuild.clone();\n\
                       *rebuild.borrow_mut() = Some(Box::new(move || { let _ = again.clone(); }));\n\
                   }\n\
                   pub fn until_done() {\n\
                       let f = Rc::new(RefCell::new(None::<Box<dyn Fn()>>));\n\
                       let g = f.clone();\n\
                       *g.borrow_mut() = Some(Box::new(move || {\n\
                           if !tick() { let _ = f.borrow_mut().take(); return; }\n\
                           schedule(f.borrow().as_ref().unwrap());\n\
                       }));\n\
                   }\n";
        assert_eq!(lines(src), vec![7]);
    }

    #[test]
    fn what_empties_a_field_in_text() {
        use super::empties_field;
        for yes in [
            "self.on_click.borrow_mut().take();",
            "if let Some(cb) = self.on_click.take() { cb() }",
            "*self.on_click.borrow_mut() = None;",
            "w.on_click = Default::default();",
            "self.on_click.lock().unwrap().clear();",
            "let old = std::mem::take(&mut self.on_click);",
            "self.on_click.set(None);",
        ] {
            assert!(empties_field(yes, "on_click"), "{yes}");
        }
        for no in [
            "*self.on_click.borrow_mut() = Some(Box::new(f));",
            "if self.on_click == None { return; }",
            "self.on_click_count.take();",
            "let n = self.on_click.borrow().len();",
            "impl Drop for W { fn drop(&mut self) { self.on_click.take(); } }",
        ] {
            assert!(!empties_field(no, "on_click"), "{no}");
        }
    }

    #[test]
    fn a_deep_nest_of_rc_new_is_read_once_per_level() {
        // Reading each level's arguments twice made 24 levels take seconds; 64 would not end.
        let nest = (0..64).fold("0".to_string(), |e, _| format!("Rc::new({e})"));
        let src = format!(
            "use std::rc::Rc;\nfn f() {{ let a = {nest}; let b = a.clone(); let c = {nest}; }}\n"
        );
        assert_eq!(lines(&src), Vec::<usize>::new());
    }

    #[test]
    fn two_values_made_to_hold_each_other() {
        // The Rust book's example (15.6), and its look-alike without the back link.
        let src = "use std::rc::Rc; use std::cell::RefCell;\n\
                   struct List(i32, Option<Rc<RefCell<List>>>);\n\
                   fn main() {\n\
                       let a = Rc::new(RefCell::new(List(0, None)));\n\
                       let b = Rc::new(RefCell::new(List(1, Some(Rc::clone(&a)))));\n\
                       let c = Rc::new(RefCell::new(List(2, Some(Rc::clone(&a)))));\n\
                       c.borrow_mut().0 = 3;\n\
                       a.borrow_mut().1 = Some(Rc::clone(&b));\n\
                   }\n";
        assert_eq!(lines(src), vec![8]);
        let messages = crate::test_util::findings(LintId::RcCycle, src);
        assert!(messages[0].1.contains("`a`"), "{}", messages[0].1);
    }

    #[test]
    fn the_weak_parent_tree_and_gc_heap_mods_are_silent() {
        let src = "use std::rc::{Rc, Weak}; use std::cell::RefCell;\n\
                   struct Node { parent: Weak<RefCell<Node>>, children: Vec<Rc<RefCell<Node>>> }\n\
                   struct Leaf { parent: RefCell<Weak<Leaf>>, children: RefCell<Vec<Rc<Leaf>>> }\n\
                   #[gomem::escape(gc)]\n\
                   mod graph {\n\
                       use std::rc::Rc; use std::cell::RefCell;\n\
                       pub struct Node { prev: Option<Rc<RefCell<Node>>>, next: Option<Rc<RefCell<Node>>> }\n\
                   }\n\
                   #[gomem::escape]\n\
                   mod arena {\n\
                       use std::rc::Rc; use std::cell::RefCell;\n\
                       pub struct Node { prev: Option<Rc<RefCell<Node>>>, next: Option<Rc<RefCell<Node>>> }\n\
                   }\n";
        assert_eq!(lines(src), vec![12]);
    }

    /// Which arguments a method keeps in `self`, and in which field.
    #[test]
    fn what_a_method_keeps() {
        let item: syn::ItemImpl = syn::parse_str(
            "impl W {
                fn on_close(&self, f: Box<dyn Fn()>) { *self.close.borrow_mut() = Some(f); }
                fn add(&mut self, name: String, cb: Rc<dyn Fn()>) {
                    self.map.insert(name, Listener { cb });
                }
                fn wrap(&mut self, x: u32, g: G) { self.run = Box::new(move || g.call(x)); }
                fn read(&self, v: &Value) -> usize { v.len() }
                fn nested(&mut self, v: Value) { if v.ok() { self.kept.push(v); } }
                fn other(&mut self, v: Value) { let mut t = Vec::new(); t.push(v); }
                fn free(v: Value, w: &mut W) { w.kept.push(v); }
                fn weak(p: &Rc<W>, n: u32) -> Self { W { parent: Rc::downgrade(p), n, len: p.len() } }
                fn strong(p: &Rc<W>) -> Self { W { parent: Rc::clone(p) } }
            }",
        )
        .unwrap();
        let mut keeps = Vec::new();
        for it in &item.items {
            if let syn::ImplItem::Fn(f) = it {
                super::kept_arguments(crate::span::FileId(0), &f.sig, &f.block, &mut keeps);
            }
        }
        let kept: Vec<(usize, Option<String>)> =
            keeps.into_iter().map(|(_, i, f)| (i, f)).collect();
        let field = |f: &str| Some(f.to_string());
        // on_close keeps `f`; add keeps `name` and `cb`; wrap keeps both through its closure;
        // the constructor `weak` keeps `n` (not the parent it downgrades, nor what it reads),
        // `strong` keeps a clone of `p`.
        assert_eq!(
            kept,
            [
                (0, field("close")),
                (0, field("map")),
                (1, field("map")),
                (1, field("run")),
                (0, field("run")),
                (1, None),
                (0, None),
            ]
        );
    }
}
