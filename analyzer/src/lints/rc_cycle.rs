//! `rc_cycle`: types whose `Rc`/`Arc` fields can form a strong cycle, which is never freed.
//!
//! A crate check: each file contributes its structs' and enums' fields as edges between the
//! workspace's types; the judge looks for cycles of fields in that type graph.

use std::collections::HashMap;

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

use crate::diagnostic::Diagnostic;
use crate::index::{ItemKind, ModuleId, Resolution};
use crate::lint::{
    facts_of, Check, CrateCheck, CrateContext, FactSource, Facts, FileContext, Lint,
};
use crate::lint_defs::LintId;
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

## What it does not report
Types where one direction is `Weak` (the idiomatic tree: strong `children`, a `Weak` or
`RefCell<Weak<..>>` `parent`); types in a mod under `#[gomem::escape(gc)]`, which moves their
`Rc` data onto the collected heap, where cycles are freed; immutable `Rc` structures (a cons list `Rc<List>` can
only point at older values); plain ownership trees (`Box`, `Vec<Node>`); a type with a single
strong link to its own kind (`children: Vec<Rc<RefCell<Node>>>`), which is a tree unless the
code inserts a node below itself. Types are matched through the crate's `use` paths and type
aliases (`type NodeRef = Rc<RefCell<Node>>`, generic ones included); generic parameters (`T` in
`Rc<T>`) and types from other crates are not followed.
"#,
    check: Check::Crate(CrateCheck {
        facts: &TYPES,
        judge,
    }),
};

/// The type definitions of one file, as edges of the type graph.
struct TypeFacts {
    types: Vec<TypeDef>,
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
    let mut out = TypeFacts { types: Vec::new() };
    type_defs(cx, cx.module, &cx.syntax.items, &mut out);
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
    let types: Vec<&TypeDef> = facts_of::<TypeFacts>(facts)
        .into_iter()
        .flat_map(|(_, f)| &f.types)
        .collect();
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
}
