//! `#[gomem::escape(gc)]` on an inline `mod`: the mod's shared data moves from `Rc` onto
//! gomem's collected heap, so that the cycles it builds with `Rc<RefCell<..>>` (parent and
//! child, prev and next: what `rc_cycle` reports) are collected instead of leaked.
//!
//! **How.** Inside the mod, the name `Rc` comes to mean `gomem::Gc` and `RefCell` comes to
//! mean `gomem::GcCell`: each import of std's type becomes `as _` and an import of gomem's
//! type under the same name is added; full paths (`std::rc::Rc`) are replaced. Everything
//! the code spells out (field types, signatures, constructors) so changes together, and
//! `Gc` and `GcCell` have the API that `Rc` and `RefCell` are used through. The structs and
//! enums of the mod that the moved values hold get `#[derive(gomem::Trace)]`; a field whose
//! type gomem cannot see into gets `#[gomem(skip)]`, which is always safe: the handles in a
//! skipped field count as roots, so at worst a cycle through it is not collected.
//!
//! **When it refuses.** The attribute must not turn compiling code into code that does not
//! compile, so whatever `Gc` cannot stand in for is an error at its span, and the mod is
//! left as written: `rc::Weak` (a weak back-pointer already breaks the cycle), `RefMut`,
//! `Rc` functions other than `new`/`clone`/`ptr_eq`/`default`/`from`, `RefCell` methods
//! `GcCell` lacks, an `Rc<T>` or `RefCell<T>` whose `T` is not known to be traceable, a held
//! type with lifetime or type parameters or a `Drop` impl of its own (collected types have
//! none: see the runtime's docs), a held type whose name the mod defines twice (types are
//! matched by name), globs from `std::rc` or `std::cell`, and an `Rc` or `RefCell` that is
//! not std's. One case is left to rustc: a value whose type the code never
//! writes (`Rc::new(make())`) must be traceable, or rustc reports the missing `Trace`.
//!
//! **What changes.** Acyclic data is freed when its last handle goes, as with `Rc`; a cycle
//! is freed by the collector once nothing reaches it, instead of never. The mod's public
//! types change with it: code outside the mod that spells `Rc<Node>` for them must follow.
//! A cell's `Debug` reads `GcCell(..)` where `RefCell` printed `RefCell { value: .. }`.

use std::collections::{BTreeMap, HashSet};

use proc_macro2::{Ident, Span as TokenSpan};
use syn::visit::Visit;
use syn::visit_mut::VisitMut;

use super::error::Error;
use crate::span::{FileId, Span};
use crate::syntax::segment_names;

/// A std type that moves, and gomem's type that takes its name.
struct Moved {
    /// Its name, under `std::<module>::`.
    name: &'static str,
    module: &'static str,
    gomem: &'static str,
    /// `Name::f(..)` (or `.f()`) that gomem's type has with the same meaning.
    fns: &'static [&'static str],
}

const MOVED: [Moved; 2] = [
    Moved {
        name: "Rc",
        module: "rc",
        gomem: "Gc",
        fns: &["new", "clone", "ptr_eq", "default", "from"],
    },
    Moved {
        name: "RefCell",
        module: "cell",
        gomem: "GcCell",
        fns: &[
            "new",
            "default",
            "from",
            "borrow",
            "borrow_mut",
            "try_borrow",
            "try_borrow_mut",
            "replace",
            "take",
            "swap",
            "into_inner",
            "get_mut",
        ],
    },
];

/// Whether `path` is `std::<module>` (or `alloc::`/`core::`).
fn is_std_module(path: &[String], module: &str) -> bool {
    path.len() == 2 && matches!(path[0].as_str(), "std" | "alloc" | "core") && path[1] == module
}

/// The moved type that `<prefix>::<name>` imports, if it imports one.
fn moved_import(prefix: &[String], name: &str) -> Option<&'static Moved> {
    MOVED
        .iter()
        .find(|m| m.name == name && is_std_module(prefix, m.module))
}

/// `RefCell` methods `GcCell` does not have. Any method call of these names refuses the
/// mod (the receiver's type is unknown, so the check is by name).
const CELL_ONLY_METHODS: &[&str] = &[
    "replace_with",
    "as_ptr",
    "try_borrow_unguarded",
    "undo_leak",
];
/// Types whose `Trace` impls hold whenever their type arguments are traceable.
const TRACEABLE: &[&str] = &[
    "bool", "char", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128",
    "isize", "f32", "f64", "String", "Vec", "VecDeque", "Option", "Result", "Box", "HashMap",
    "BTreeMap", "HashSet", "BTreeSet", "Gc", "GcCell",
];

/// Moves the mod's `Rc`/`RefCell` data onto the collected heap, or says why it cannot (and
/// then leaves the mod as written). Returns whether anything changed.
pub fn rewrite(file: FileId, module: &mut syn::ItemMod) -> Result<bool, Vec<Error>> {
    // The mod's types first: a field may name a type defined further down.
    let mut types = LocalTypes {
        file,
        types: BTreeMap::new(),
        derived: HashSet::new(),
        twice: HashSet::new(),
    };
    types.visit_item_mod(module);
    let mut survey = Survey {
        file,
        errors: Vec::new(),
        local_types: types.types,
        drops: HashSet::new(),
        held_roots: Vec::new(),
        mentions: false,
    };
    for Moved { name, .. } in &MOVED {
        if let Some(t) = survey.local_types.get(*name) {
            let span = t.span;
            survey.refuse_at(span, format!("it defines its own `{name}`"));
        }
    }
    survey.visit_item_mod(module);
    if !survey.mentions && survey.errors.is_empty() {
        return Ok(false);
    }
    // The mod's types that moved values hold, directly or through other held types.
    let mut held: Vec<String> = Vec::new();
    let mut queue = std::mem::take(&mut survey.held_roots);
    while let Some(name) = queue.pop() {
        if held.contains(&name) {
            continue;
        }
        let Some(ty) = survey.local_types.get(&name) else {
            continue;
        };
        if types.twice.contains(&name) {
            survey.errors.push(Error {
                span: ty.span,
                message: format!(
                    "`#[gomem::escape(gc)]` cannot move `{name}` onto the GC heap: the mod defines more than one type of that name (in nested mods or fn bodies), and it matches types by name"
                ),
            });
        }
        if ty.generic {
            survey.errors.push(Error {
                span: ty.span,
                message: format!(
                    "`#[gomem::escape(gc)]` cannot move `{name}` onto the GC heap: it has lifetime or type parameters (`Gc` holds `'static` types it can trace)"
                ),
            });
        }
        if survey.drops.contains(&name) {
            survey.errors.push(Error {
                span: ty.span,
                message: format!(
                    "`#[gomem::escape(gc)]` cannot move `{name}` onto the GC heap: it implements `Drop`, and collected types have no destructor of their own (their fields' destructors still run)"
                ),
            });
        }
        for field in &ty.fields {
            let mut inside = Vec::new();
            if traceable(field, &survey.local_types, &mut inside) {
                queue.extend(inside);
            }
        }
        held.push(name);
    }
    if !survey.errors.is_empty() {
        return Err(survey.errors);
    }
    let mut apply = Apply {
        held: &held,
        derived: &types.derived,
        local_types: &survey.local_types,
    };
    apply.visit_item_mod_mut(module);
    Ok(true)
}

/// A struct or enum of the mod.
struct LocalType {
    span: Span,
    generic: bool,
    fields: Vec<syn::Type>,
}

/// Reads the mod: what it defines, what it imports, where it uses `Rc`/`RefCell`, and
/// everything that stops the move.
struct Survey {
    file: FileId,
    errors: Vec<Error>,
    local_types: BTreeMap<String, LocalType>,
    /// Types with a `Drop` impl in the mod.
    drops: HashSet<String>,
    /// Local types named inside `Rc<..>`/`RefCell<..>`.
    held_roots: Vec<String>,
    /// Whether `Rc` or `RefCell` appears at all.
    mentions: bool,
}

impl Survey {
    fn refuse(&mut self, at: &impl quote::ToTokens, why: String) {
        self.refuse_at(Span::of_tokens(self.file, at), why);
    }

    fn refuse_at(&mut self, span: Span, why: String) {
        self.errors.push(Error {
            span,
            message: format!("`#[gomem::escape(gc)]` cannot move this mod onto the GC heap: {why}"),
        });
    }
}

/// The structs and enums of the mod, by name: those of nested mods and fn bodies included,
/// since `Rc<T>` in either may hold them and then they derive `Trace` too.
struct LocalTypes {
    file: FileId,
    types: BTreeMap<String, LocalType>,
    /// Types that already derive `Trace`.
    derived: HashSet<String>,
    /// Names defined more than once: the move matches types by name, not by scope, so it
    /// refuses to move such a type rather than derive on the wrong one.
    twice: HashSet<String>,
}

impl LocalTypes {
    fn add(
        &mut self,
        ident: &syn::Ident,
        generics: &syn::Generics,
        fields: Vec<syn::Type>,
        attrs: &[syn::Attribute],
    ) {
        let name = ident.to_string();
        if derives_trace(attrs) {
            self.derived.insert(name.clone());
        }
        if self.types.contains_key(&name) {
            self.twice.insert(name.clone());
        }
        self.types.insert(
            name,
            LocalType {
                span: Span::of_tokens(self.file, ident),
                generic: !generics.params.is_empty(),
                fields,
            },
        );
    }
}

impl<'ast> Visit<'ast> for LocalTypes {
    fn visit_item_struct(&mut self, s: &'ast syn::ItemStruct) {
        let fields = s.fields.iter().map(|f| f.ty.clone()).collect();
        self.add(&s.ident, &s.generics, fields, &s.attrs);
    }

    fn visit_item_enum(&mut self, e: &'ast syn::ItemEnum) {
        let fields = e
            .variants
            .iter()
            .flat_map(|v| v.fields.iter().map(|f| f.ty.clone()))
            .collect();
        self.add(&e.ident, &e.generics, fields, &e.attrs);
    }
}

fn derives_trace(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("derive")
            && a.parse_args_with(
                syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated,
            )
            .is_ok_and(|paths| {
                paths
                    .iter()
                    .any(|p| p.segments.last().is_some_and(|s| s.ident == "Trace"))
            })
    })
}

/// Which moved type a path names (`Rc`, `std::rc::Rc`, `::alloc::rc::Rc`, with what follows
/// it), and how many leading segments that takes. `None` for other paths.
/// `segs` are the path's [`segment_names`].
fn moved_prefix(path: &syn::Path, segs: &[String]) -> Option<(&'static Moved, usize)> {
    if path.leading_colon.is_none() {
        if let Some(m) = MOVED
            .iter()
            .find(|m| segs.first().is_some_and(|s| s == m.name))
        {
            return Some((m, 1));
        }
    }
    let m = moved_import(segs.get(..2)?, segs.get(2)?)?;
    Some((m, 3))
}

impl<'ast> Visit<'ast> for Survey {
    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        let is_drop = i
            .trait_
            .as_ref()
            .is_some_and(|(p, _)| p.segments.last().is_some_and(|s| s.ident == "Drop"));
        if let (true, syn::Type::Path(p)) = (is_drop, &*i.self_ty) {
            if let Some(last) = p.path.segments.last() {
                self.drops.insert(last.ident.to_string());
            }
        }
        syn::visit::visit_item_impl(self, i);
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        fn walk(survey: &mut Survey, tree: &syn::UseTree, prefix: &mut Vec<String>) {
            match tree {
                syn::UseTree::Path(p) => {
                    prefix.push(p.ident.to_string());
                    walk(survey, &p.tree, prefix);
                    prefix.pop();
                }
                syn::UseTree::Group(g) => {
                    for t in &g.items {
                        walk(survey, t, prefix);
                    }
                }
                syn::UseTree::Glob(g) => {
                    if MOVED.iter().any(|m| is_std_module(prefix, m.module)) {
                        survey.refuse(g, "a glob import from `std::rc` or `std::cell` (import `Rc` and `RefCell` by name)".into());
                    }
                }
                syn::UseTree::Name(syn::UseName { ident })
                | syn::UseTree::Rename(syn::UseRename { ident, .. }) => {
                    let alias = match tree {
                        syn::UseTree::Rename(r) => Some(&r.rename),
                        _ => None,
                    };
                    let name = ident.to_string();
                    let std_moved = moved_import(prefix, &name).is_some();
                    if alias.is_some() && std_moved {
                        survey.refuse(tree, format!("`{name}` is imported under another name"));
                    }
                    let seen_as = alias.unwrap_or(ident).to_string();
                    if !std_moved && MOVED.iter().any(|m| seen_as == m.name) {
                        survey.refuse(tree, format!("`{seen_as}` here is not std's"));
                    }
                    if (name == "Weak" && is_std_module(prefix, "rc"))
                        || (name == "RefMut" && is_std_module(prefix, "cell"))
                    {
                        survey.refuse(
                            tree,
                            format!("it uses `{name}`, which gomem's types do not have"),
                        );
                    }
                }
            }
        }
        walk(self, &u.tree, &mut Vec::new());
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        let segs = segment_names(p);
        if let Some((moved, len)) = moved_prefix(p, &segs) {
            self.mentions = true;
            let name = moved.name;
            // `Rc::f` / `RefCell::f`.
            if let Some(f) = segs.get(len) {
                if !moved.fns.contains(&f.as_str()) {
                    self.refuse(
                        p,
                        format!("`{name}::{f}` has no counterpart in gomem's types"),
                    );
                }
            }
            // `Rc<T>` / `RefCell<T>`: `T` must be traceable.
            if let syn::PathArguments::AngleBracketed(args) = &p.segments[len - 1].arguments {
                for arg in &args.args {
                    if let syn::GenericArgument::Type(t) = arg {
                        let mut inside = Vec::new();
                        if traceable(t, &self.local_types, &mut inside) {
                            self.held_roots.extend(inside);
                        } else {
                            self.refuse(t, format!("gomem cannot tell that the `{name}`'s value can be traced (`Gc` holds sized, `'static` values of std types or of this mod's types)"));
                        }
                    }
                }
            }
        } else if segs.iter().any(|s| s == "Rc" || s == "RefCell") && segs.len() > 1 {
            self.refuse(p, "this path to `Rc` or `RefCell` is not std's (import them with `use std::rc::Rc` and `use std::cell::RefCell`)".into());
        } else if segs
            .windows(2)
            .any(|w| (w[0] == "rc" && w[1] == "Weak") || (w[0] == "cell" && w[1] == "RefMut"))
        {
            self.refuse(
                p,
                "it uses `rc::Weak` or `cell::RefMut`, which gomem's types do not have".into(),
            );
        }
        syn::visit::visit_path(self, p);
    }

    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        let name = m.method.to_string();
        if CELL_ONLY_METHODS.contains(&name.as_str()) {
            self.refuse(
                &m.method,
                format!("`.{name}()` of `RefCell` has no counterpart in `GcCell`"),
            );
        }
        syn::visit::visit_expr_method_call(self, m);
    }
}

/// Whether values of type `t` can be traced (by std's `Trace` impls, gomem's types, or a
/// derive on one of the mod's types, whose names are pushed to `locals`).
fn traceable(
    t: &syn::Type,
    local_types: &BTreeMap<String, LocalType>,
    locals: &mut Vec<String>,
) -> bool {
    match t {
        syn::Type::Paren(p) => traceable(&p.elem, local_types, locals),
        syn::Type::Group(g) => traceable(&g.elem, local_types, locals),
        syn::Type::Tuple(t) => t.elems.iter().all(|e| traceable(e, local_types, locals)),
        syn::Type::Array(a) => traceable(&a.elem, local_types, locals),
        syn::Type::Path(p) if p.qself.is_none() => {
            let Some(last) = p.path.segments.last() else {
                return false;
            };
            let name = last.ident.to_string();
            let args: Vec<&syn::Type> = match &last.arguments {
                syn::PathArguments::None => Vec::new(),
                syn::PathArguments::AngleBracketed(a) => {
                    let mut types = Vec::new();
                    for arg in &a.args {
                        match arg {
                            syn::GenericArgument::Type(t) => types.push(t),
                            _ => return false,
                        }
                    }
                    types
                }
                syn::PathArguments::Parenthesized(_) => return false,
            };
            if p.path.segments.len() == 1 && local_types.contains_key(&name) {
                locals.push(name);
                return args.is_empty();
            }
            // `HashMap<K, V, S>`, `HashSet<T, S>`: the hasher is not traced.
            let traced = match name.as_str() {
                "HashMap" => &args[..args.len().min(2)],
                "HashSet" => &args[..args.len().min(1)],
                _ => &args[..],
            };
            (TRACEABLE.contains(&name.as_str()) || MOVED.iter().any(|m| name == m.name))
                && traced.iter().all(|a| traceable(a, local_types, locals))
        }
        _ => false,
    }
}

/// Makes the move: the names, the full paths, the derives.
struct Apply<'a> {
    held: &'a [String],
    derived: &'a HashSet<String>,
    local_types: &'a BTreeMap<String, LocalType>,
}

impl Apply<'_> {
    fn derive(
        &self,
        ident: &syn::Ident,
        attrs: &mut Vec<syn::Attribute>,
        fields: Vec<&mut syn::Field>,
    ) {
        let name = ident.to_string();
        if !self.held.contains(&name) || self.derived.contains(&name) {
            return;
        }
        attrs.push(syn::parse_quote!(#[derive(::gomem::Trace)]));
        for f in fields {
            if !traceable(&f.ty, self.local_types, &mut Vec::new()) {
                f.attrs.push(syn::parse_quote!(#[gomem(skip)]));
            }
        }
    }
}

impl VisitMut for Apply<'_> {
    fn visit_item_mod_mut(&mut self, m: &mut syn::ItemMod) {
        if let Some((_, items)) = &mut m.content {
            // gomem's types under std's names, in every mod of the tree: an explicit import
            // also wins over a glob (`use super::*`) that brought std's.
            let mut aliases: Vec<syn::Item> = MOVED
                .iter()
                .map(|m| {
                    let alias = Ident::new(m.name, TokenSpan::call_site());
                    let target = Ident::new(m.gomem, TokenSpan::call_site());
                    syn::parse_quote!(#[allow(unused_imports)] use ::gomem::#target as #alias;)
                })
                .collect();
            aliases.append(items);
            *items = aliases;
        }
        syn::visit_mut::visit_item_mod_mut(self, m);
    }

    fn visit_item_use_mut(&mut self, u: &mut syn::ItemUse) {
        /// Whether it made an import `as _`.
        fn walk(tree: &mut syn::UseTree, prefix: &mut Vec<String>) -> bool {
            match tree {
                syn::UseTree::Path(p) => {
                    prefix.push(p.ident.to_string());
                    let changed = walk(&mut p.tree, prefix);
                    prefix.pop();
                    changed
                }
                syn::UseTree::Group(g) => {
                    let mut changed = false;
                    for t in &mut g.items {
                        changed |= walk(t, prefix);
                    }
                    changed
                }
                syn::UseTree::Name(n) => {
                    let moved = moved_import(prefix, &n.ident.to_string()).is_some();
                    if moved {
                        let ident = n.ident.clone();
                        *tree = syn::parse_quote!(#ident as _);
                    }
                    moved
                }
                syn::UseTree::Rename(_) | syn::UseTree::Glob(_) => false,
            }
        }
        // rustc may call the `as _` import unused (it does in a mod another macro built).
        if walk(&mut u.tree, &mut Vec::new()) {
            u.attrs.push(syn::parse_quote!(#[allow(unused_imports)]));
        }
    }

    fn visit_path_mut(&mut self, p: &mut syn::Path) {
        // `std::rc::Rc<T>::f` -> `::gomem::Gc<T>::f`.
        if let Some((moved, 3)) = moved_prefix(p, &segment_names(p)) {
            let mut segments: syn::punctuated::Punctuated<syn::PathSegment, syn::Token![::]> =
                p.segments.iter().skip(2).cloned().collect();
            segments[0].ident = Ident::new(moved.gomem, segments[0].ident.span());
            segments.insert(0, syn::parse_quote!(gomem));
            p.leading_colon = Some(Default::default());
            p.segments = segments;
        }
        syn::visit_mut::visit_path_mut(self, p);
    }

    fn visit_item_struct_mut(&mut self, s: &mut syn::ItemStruct) {
        let fields = s.fields.iter_mut().collect();
        self.derive(&s.ident, &mut s.attrs, fields);
        syn::visit_mut::visit_item_struct_mut(self, s);
    }

    fn visit_item_enum_mut(&mut self, e: &mut syn::ItemEnum) {
        let fields = e
            .variants
            .iter_mut()
            .flat_map(|v| v.fields.iter_mut())
            .collect();
        self.derive(&e.ident, &mut e.attrs, fields);
        syn::visit_mut::visit_item_enum_mut(self, e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::ToTokens;

    /// The mod after the move, as text, or the messages of the refusals.
    fn moved(src: &str) -> Result<String, Vec<String>> {
        let mut module: syn::ItemMod = syn::parse_str(src).unwrap();
        match rewrite(FileId(0), &mut module) {
            Ok(_) => Ok(module.into_token_stream().to_string()),
            Err(errors) => Err(errors.into_iter().map(|e| e.message).collect()),
        }
    }

    const FAMILY: &str = "mod m { use std::{cell::RefCell, rc::Rc}; \
        pub struct Parent { kids: Vec<Rc<RefCell<Kid>>>, file: Option<std::fs::File> } \
        pub struct Kid { up: Option<Rc<RefCell<Parent>>>, n: (u32, [u8; 4]) } \
        struct Unrelated { f: std::fs::File } \
        fn make() -> std::rc::Rc<RefCell<Parent>> { \
            Rc::new(RefCell::new(Parent { kids: Vec::new(), file: None })) } }";

    #[test]
    fn names_paths_and_derives_move_together() {
        let out = moved(FAMILY).unwrap();
        assert!(out.contains("use :: gomem :: Gc as Rc ;"), "{out}");
        assert!(out.contains("use :: gomem :: GcCell as RefCell ;"), "{out}");
        assert!(
            out.contains("use std :: { cell :: RefCell as _ , rc :: Rc as _ }"),
            "{out}"
        );
        assert!(
            out.contains("fn make () -> :: gomem :: Gc < RefCell < Parent > >"),
            "{out}"
        );
        // Both held types derive Trace; the unknown field is skipped; the unrelated type
        // is left alone.
        assert_eq!(
            out.matches("# [derive (:: gomem :: Trace)]").count(),
            2,
            "{out}"
        );
        assert!(
            out.contains("# [gomem (skip)] file : Option < std :: fs :: File >"),
            "{out}"
        );
        assert!(
            out.contains("struct Unrelated { f : std :: fs :: File }"),
            "{out}"
        );
        assert!(!out.contains("# [gomem (skip)] n"), "{out}");
    }

    #[test]
    fn a_type_defined_in_a_fn_body_moves_with_the_rest() {
        let out = moved(
            "mod m { use std::rc::Rc; \
             fn f() -> usize { struct Link { next: Option<Rc<Link>> } \
                 let l = Rc::new(Link { next: None }); usize::from(l.next.is_none()) } }",
        )
        .unwrap();
        assert!(
            out.contains("# [derive (:: gomem :: Trace)] struct Link"),
            "{out}"
        );
    }

    #[test]
    fn a_held_name_defined_twice_is_refused_not_guessed() {
        for src in [
            "mod m { use std::rc::Rc; pub struct Node { v: u8 } \
             fn f() -> Rc<Node> { Rc::new(Node { v: 1 }) } \
             fn g() { struct Node(std::fs::File); } }",
            "mod m { use std::rc::Rc; mod a { pub struct Node; } mod b { pub struct Node; } \
             use a::Node; fn f() -> Rc<Node> { Rc::new(Node) } }",
        ] {
            let errors = moved(src).expect_err(src);
            assert!(
                errors
                    .iter()
                    .any(|e| e.contains("more than one type of that name")),
                "{src}: {errors:?}"
            );
        }
        // A name defined twice that no moved value holds is no obstacle.
        moved(
            "mod m { use std::rc::Rc; fn f() -> Rc<u8> { Rc::new(1) } \
             fn g() { struct Local; } fn h() { struct Local(u8); } }",
        )
        .unwrap();
    }

    #[test]
    fn a_mod_without_rc_is_left_alone() {
        let src = "mod m { struct S { v: Vec<u8> } fn f() -> usize { 1 } }";
        let mut module: syn::ItemMod = syn::parse_str(src).unwrap();
        assert_eq!(rewrite(FileId(0), &mut module).ok(), Some(false));
        assert_eq!(
            module.into_token_stream().to_string(),
            syn::parse_str::<syn::ItemMod>(src)
                .unwrap()
                .into_token_stream()
                .to_string()
        );
    }

    #[test]
    fn what_gc_cannot_stand_in_for_is_refused_with_the_reason() {
        let cases = [
            ("use std::rc::{Rc, Weak}; struct N { up: Weak<N> }", "`Weak`"),
            ("use std::rc::Rc; fn f(a: &Rc<u8>) -> usize { Rc::strong_count(a) }", "`Rc::strong_count`"),
            ("use std::cell::{RefCell, RefMut}; fn f(c: &RefCell<u8>) -> RefMut<'_, u8> { c.borrow_mut() }", "`RefMut`"),
            ("use std::rc::Rc; fn f() -> Rc<dyn Fn()> { Rc::new(|| ()) }", "can be traced"),
            ("use std::rc::Rc; fn f(x: Rc<other::Thing>) {}", "can be traced"),
            ("use std::rc::Rc; struct N<'a> { s: &'a str } fn f(n: Rc<N<'static>>) {}", "can be traced"),
            ("use std::rc::Rc; struct N<T> { t: T } fn f(n: Rc<N>) {}", "parameters"),
            ("use std::rc::Rc; struct N { v: u8 } impl Drop for N { fn drop(&mut self) {} } fn f(n: Rc<N>) {}", "`Drop`"),
            ("use std::rc::*; fn f(x: Rc<u8>) {}", "glob"),
            ("use std::rc::Rc as Shared; fn f(x: Shared<u8>) {}", "another name"),
            ("use crate::my::Rc; fn f(x: Rc<u8>) {}", "not std's"),
            ("use std::cell::RefCell; fn f(c: &RefCell<u8>) { c.replace_with(|v| *v + 1); }", "`.replace_with()`"),
            ("struct Rc { v: u8 } fn f(x: Rc) {}", "defines its own `Rc`"),
        ];
        for (body, why) in cases {
            let errors = moved(&format!("mod m {{ {body} }}")).expect_err(body);
            assert!(errors.iter().any(|e| e.contains(why)), "{body}: {errors:?}");
        }
    }
}
