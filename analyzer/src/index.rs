//! The item index: every module of the crates under analysis, the items they define and the
//! names they import, with name resolution on top.
//!
//! It is built in two steps. On the thread that parsed a file, [`summarize`] copies what the
//! index needs out of the syntax tree into a [`FileSummary`] (plain, `Send` data). Once every
//! file is parsed and the module tree is known, [`IndexBuilder`] links the summaries into
//! [`Module`]s with crate-relative paths.
//!
//! Resolution is best effort and errs towards "unknown": it follows `use` (renames, groups,
//! `self`/`super`/`crate`, globs of local modules), inline and out-of-line modules and
//! crate-level items. The items a fn body declares (at the top of the body's block: `struct`,
//! `impl`, nested `fn`, `use`, `const`...) are a scope of that body, a [`Module`] with no name
//! that sees the names around it ([`ItemIndex::body_module`]); so are `const _: () = { .. }`
//! blocks. It does not expand macros (other than the cfg-style item macros that
//! [`expand_cfg_macros`] opens), resolve trait methods, or know what external crates contain:
//! a path into another crate resolves to that path, e.g. `go` after `use std::thread::spawn as
//! go` resolves to `std::thread::spawn`.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use crate::consteval::ConstExpr;
use crate::ids::TargetId;
use crate::layout::{size_lower_bound, TypeShape};
use crate::modtree::ModDecl;
use crate::span::{FileId, Span};
use crate::types::{receiver_of, type_params, Receiver, Ty};

/// The hasher of the name tables of the index and the semantic layer, which every path,
/// method call and type in every body is looked up in. std's SipHash resists floods of
/// keys chosen by an attacker, which source code is not, and costs several times more on
/// short names. Fixed, not seeded per run, so that a table's order is the same in every run.
pub type Names = foldhash::fast::FixedState;

/// A set of item names, hashed as [`Names`].
pub type NameSet = HashSet<String, Names>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ModuleId(pub u32);

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ItemId(pub u32);

/// One name brought into scope by `use`: `name` stands for `path` (for a glob, `path` is the
/// module whose names are imported and `name` is empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Import {
    pub name: String,
    pub path: Vec<String>,
    pub glob: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ItemKind {
    Fn,
    /// A method of an `impl` block: the self type's last segment, and the trait if any.
    Method {
        self_ty: String,
        trait_: Option<String>,
    },
    Static,
    Const,
    Struct,
    Enum,
    Union,
    Trait,
    TypeAlias,
}

#[derive(Clone, Debug)]
pub struct ItemSummary {
    pub name: String,
    pub kind: ItemKind,
    pub span: Span,
    /// For integer consts: the value expression.
    pub value: Option<ConstExpr>,
    /// For structs without generics: the shapes of the fields; for a plain type alias: the
    /// shape of the type it stands for.
    pub fields: Option<Vec<TypeShape>>,
    /// What the semantic layer reads: signatures, field types, derives, aliases.
    pub types: Option<Box<ItemTypes>>,
}

/// The types an item declares, as written (see [`crate::types`]).
#[derive(Clone, Debug)]
pub enum ItemTypes {
    /// A fn or a method (with the head of its `impl`).
    Fn {
        receiver: Receiver,
        params: Vec<Ty>,
        ret: Ty,
        /// The return type's shape, for the size of the value a call leaves on the stack.
        ret_shape: TypeShape,
        impl_: Option<Box<ImplHead>>,
    },
    /// A struct, enum or union: named fields (tuple fields as `0`, `1`..) and derives.
    Adt {
        fields: Vec<(Box<str>, Ty)>,
        derives: Vec<Box<str>>,
        generic: bool,
    },
    /// `type Name<params> = ty;`
    Alias { params: Vec<String>, ty: Ty },
    /// A trait's methods (with the spans of the default bodies) and supertraits.
    Trait {
        supertraits: Vec<Box<str>>,
        methods: Vec<TraitMethod>,
    },
}

/// The head of the `impl` block a method is in.
#[derive(Clone, Debug)]
pub struct ImplHead {
    /// The self type; [`Ty::Unknown`] for a blanket `impl<T> Trait for T`.
    pub self_ty: Ty,
    /// The trait's type arguments (`From<A>`: `A`).
    pub trait_args: Vec<Ty>,
}

#[derive(Clone, Debug)]
pub struct TraitMethod {
    pub name: Box<str>,
    pub receiver: Receiver,
    /// The default body's name span, which is its fn's identity in the call graph.
    pub default: Option<Span>,
}

#[derive(Clone, Debug, Default)]
pub struct LocalModule {
    pub name: String,
    /// Index of the enclosing inline module in the same file; `None` for the file's top.
    pub parent: Option<usize>,
    /// For the items declared in a fn's body (or a `const`'s block): the fn's (or const's)
    /// name span. Such a scope has no name and sees the names of the scopes around it.
    pub block: Option<Span>,
    pub items: Vec<ItemSummary>,
    pub imports: Vec<Import>,
}

/// What the index needs of one file. `modules[0]` is the file's top level.
#[derive(Clone, Debug, Default)]
pub struct FileSummary {
    pub modules: Vec<LocalModule>,
    pub mod_decls: Vec<ModDecl>,
}

/// Opens cfg-style item macros (`cfg_if! { .. }`, tokio's `cfg_rt! { .. }`) whose bodies are
/// plain items, so that the index and the lints see the modules and items they declare.
pub fn expand_cfg_macros(items: &mut Vec<syn::Item>) {
    let mut i = 0;
    while i < items.len() {
        if let syn::Item::Mod(m) = &mut items[i] {
            if let Some((_, content)) = &mut m.content {
                expand_cfg_macros(content);
            }
        }
        let expanded = match &items[i] {
            syn::Item::Macro(m) if m.ident.is_none() => cfg_macro_items(&m.mac),
            _ => None,
        };
        match expanded {
            Some(mut new_items) => {
                expand_cfg_macros(&mut new_items);
                let n = new_items.len();
                items.splice(i..=i, new_items);
                i += n;
            }
            None => i += 1,
        }
    }
}

fn cfg_macro_items(mac: &syn::Macro) -> Option<Vec<syn::Item>> {
    let name = mac.path.segments.last()?.ident.to_string();
    if name == "cfg_if" {
        // `if #[cfg(a)] { items } else if #[cfg(b)] { items } else { items }`: every branch.
        let mut items = Vec::new();
        for tt in mac.tokens.clone() {
            if let proc_macro2::TokenTree::Group(g) = tt {
                if g.delimiter() == proc_macro2::Delimiter::Brace {
                    items.extend(syn::parse2::<syn::File>(g.stream()).ok()?.items);
                }
            }
        }
        return Some(items);
    }
    if !name.starts_with("cfg_") {
        return None;
    }
    syn::parse2::<syn::File>(mac.tokens.clone())
        .ok()
        .map(|f| f.items)
}

/// Copies what the index needs out of a parsed file.
pub fn summarize(file: FileId, syntax: &syn::File) -> FileSummary {
    let mut summary = FileSummary::default();
    summary.modules.push(LocalModule::default());
    summarize_items(file, &syntax.items, 0, &mut Vec::new(), &mut summary);
    summary
}

fn summarize_items<'a>(
    file: FileId,
    items: impl IntoIterator<Item = &'a syn::Item>,
    local: usize,
    inline_path: &mut Vec<String>,
    out: &mut FileSummary,
) {
    for item in items {
        let mut push = |name: &syn::Ident,
                        kind: ItemKind,
                        value: Option<ConstExpr>,
                        fields: Option<Vec<TypeShape>>,
                        types: Option<ItemTypes>| {
            out.modules[local].items.push(ItemSummary {
                name: name.to_string(),
                kind,
                span: Span::of(file, name.span()),
                value,
                fields,
                types: types.map(Box::new),
            });
        };
        match item {
            syn::Item::Fn(f) => {
                push(
                    &f.sig.ident,
                    ItemKind::Fn,
                    None,
                    None,
                    Some(fn_types(&f.sig, &[], None)),
                );
                block_items(file, &f.block, &f.sig.ident, local, inline_path, out);
            }
            syn::Item::Static(s) => push(&s.ident, ItemKind::Static, None, None, None),
            // `thread_local! { static X: T = e; }`, `lazy_static! { static ref X: T = e; }`
            syn::Item::Macro(m) => {
                for s in macro_statics(&m.mac) {
                    push(&s.ident, ItemKind::Static, None, None, None);
                }
            }
            syn::Item::Const(c) => {
                push(
                    &c.ident,
                    ItemKind::Const,
                    Some(ConstExpr::from_syn(&c.expr)),
                    None,
                    None,
                );
                // `const _: () = { impl Trait for T { .. } };`
                if let syn::Expr::Block(b) = &*c.expr {
                    block_items(file, &b.block, &c.ident, local, inline_path, out);
                }
            }
            syn::Item::Struct(s) => {
                let fields = s.generics.params.is_empty().then(|| {
                    s.fields
                        .iter()
                        .map(|f| TypeShape::from_syn(&f.ty))
                        .collect()
                });
                let types = adt_types(&s.attrs, &s.generics, &s.fields);
                push(&s.ident, ItemKind::Struct, None, fields, Some(types))
            }
            syn::Item::Enum(e) => {
                let types = adt_types(&e.attrs, &e.generics, &syn::Fields::Unit);
                push(&e.ident, ItemKind::Enum, None, None, Some(types))
            }
            syn::Item::Union(u) => {
                let fields = syn::Fields::Named(u.fields.clone());
                let types = adt_types(&u.attrs, &u.generics, &fields);
                push(&u.ident, ItemKind::Union, None, None, Some(types))
            }
            syn::Item::Trait(t) => {
                let types = trait_types(file, t);
                push(&t.ident, ItemKind::Trait, None, None, Some(types));
                for it in &t.items {
                    if let syn::TraitItem::Fn(f) = it {
                        if let Some(body) = &f.default {
                            block_items(file, body, &f.sig.ident, local, inline_path, out);
                        }
                    }
                }
            }
            syn::Item::Type(t) => {
                let params = type_params(&t.generics);
                // A plain alias's shape, for the sizes of the values of its type.
                let shape = params.is_empty().then(|| vec![TypeShape::from_syn(&t.ty)]);
                let types = ItemTypes::Alias {
                    ty: Ty::from_syn(&t.ty, &[]),
                    params,
                };
                push(&t.ident, ItemKind::TypeAlias, None, shape, Some(types))
            }
            syn::Item::Impl(imp) => {
                let self_ty = match &*imp.self_ty {
                    syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
                    _ => None,
                }
                .unwrap_or_default();
                let trait_ = imp
                    .trait_
                    .as_ref()
                    .and_then(|(p, _)| p.segments.last())
                    .map(|s| s.ident.to_string());
                let generics = type_params(&imp.generics);
                let head = ImplHead {
                    self_ty: Ty::from_syn(&imp.self_ty, &generics),
                    trait_args: imp
                        .trait_
                        .as_ref()
                        .and_then(|(p, _)| p.segments.last())
                        .map(|s| match &s.arguments {
                            syn::PathArguments::AngleBracketed(a) => a
                                .args
                                .iter()
                                .filter_map(|a| match a {
                                    syn::GenericArgument::Type(t) => {
                                        Some(Ty::from_syn(t, &generics))
                                    }
                                    _ => None,
                                })
                                .collect(),
                            _ => Vec::new(),
                        })
                        .unwrap_or_default(),
                };
                for it in &imp.items {
                    if let syn::ImplItem::Fn(f) = it {
                        out.modules[local].items.push(ItemSummary {
                            name: f.sig.ident.to_string(),
                            kind: ItemKind::Method {
                                self_ty: self_ty.clone(),
                                trait_: trait_.clone(),
                            },
                            span: Span::of(file, f.sig.ident.span()),
                            value: None,
                            fields: None,
                            types: Some(Box::new(fn_types(&f.sig, &generics, Some(&head)))),
                        });
                        block_items(file, &f.block, &f.sig.ident, local, inline_path, out);
                    }
                }
            }
            syn::Item::Use(u) => {
                flatten_use(&u.tree, &mut Vec::new(), &mut out.modules[local].imports)
            }
            syn::Item::ExternCrate(e) => {
                let name = e.rename.as_ref().map_or(&e.ident, |(_, r)| r).to_string();
                out.modules[local].imports.push(Import {
                    name,
                    path: vec![e.ident.to_string()],
                    glob: false,
                });
            }
            syn::Item::Mod(m) => match &m.content {
                Some((_, content)) => {
                    out.modules.push(LocalModule {
                        name: m.ident.to_string(),
                        parent: Some(local),
                        ..Default::default()
                    });
                    let child = out.modules.len() - 1;
                    inline_path.push(m.ident.to_string());
                    summarize_items(file, content, child, inline_path, out);
                    inline_path.pop();
                }
                // Only a `#[path]` module may be declared in a block; its file is not followed.
                None if in_block(out, local) => {}
                None => out.mod_decls.push(ModDecl {
                    name: m.ident.to_string(),
                    inline_path: inline_path.clone(),
                    path_attr: path_attr(&m.attrs),
                    cfg_gated: m
                        .attrs
                        .iter()
                        .any(|a| a.path().is_ident("cfg") || a.path().is_ident("cfg_attr")),
                    span: Span::of(file, m.mod_token.span).to(Span::of(file, m.ident.span())),
                    local_parent: local,
                }),
            },
            _ => {}
        }
    }
}

/// The items declared in a fn's body (or a const's block) `body`, whose name is `name`, as
/// a scope of their own inside `local`. Only the statements of the body's own block are read,
/// where items are declared in practice: an item in a nested block (`if c { struct A; }`) is
/// not in the index.
fn block_items(
    file: FileId,
    body: &syn::Block,
    name: &syn::Ident,
    local: usize,
    inline_path: &mut Vec<String>,
    out: &mut FileSummary,
) {
    let mut items = body.stmts.iter().filter_map(|s| match s {
        syn::Stmt::Item(item) => Some(item),
        _ => None,
    });
    let Some(first) = items.next() else {
        return;
    };
    out.modules.push(LocalModule {
        parent: Some(local),
        block: Some(Span::of(file, name.span())),
        ..Default::default()
    });
    let child = out.modules.len() - 1;
    summarize_items(
        file,
        std::iter::once(first).chain(items),
        child,
        inline_path,
        out,
    );
}

/// Whether local module `local` is, or is inside, a block scope.
fn in_block(out: &FileSummary, mut local: usize) -> bool {
    loop {
        let m = &out.modules[local];
        if m.block.is_some() {
            return true;
        }
        match m.parent {
            Some(p) => local = p,
            None => return false,
        }
    }
}

/// A fn's signature; `impl_generics` are the enclosing impl's type parameters.
fn fn_types(sig: &syn::Signature, impl_generics: &[String], head: Option<&ImplHead>) -> ItemTypes {
    let mut generics = impl_generics.to_vec();
    generics.extend(type_params(&sig.generics));
    ItemTypes::Fn {
        receiver: receiver_of(sig),
        params: sig
            .inputs
            .iter()
            .filter_map(|i| match i {
                syn::FnArg::Typed(t) => Some(Ty::from_syn(&t.ty, &generics)),
                syn::FnArg::Receiver(_) => None,
            })
            .collect(),
        ret: match &sig.output {
            syn::ReturnType::Default => Ty::Tuple(Vec::new()),
            syn::ReturnType::Type(_, t) => Ty::from_syn(t, &generics),
        },
        ret_shape: match &sig.output {
            syn::ReturnType::Type(_, t) if generics.is_empty() => TypeShape::from_syn(t),
            _ => TypeShape::Unknown,
        },
        impl_: head.map(|h| Box::new(h.clone())),
    }
}

/// A struct's, enum's or union's field types and derives.
fn adt_types(
    attrs: &[syn::Attribute],
    generics: &syn::Generics,
    fields: &syn::Fields,
) -> ItemTypes {
    let params = type_params(generics);
    let mut derives = Vec::new();
    for a in attrs.iter().filter(|a| a.path().is_ident("derive")) {
        let _ = a.parse_nested_meta(|m| {
            if let Some(last) = m.path.segments.last() {
                derives.push(last.ident.to_string().into_boxed_str());
            }
            Ok(())
        });
    }
    ItemTypes::Adt {
        fields: fields
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let name = f
                    .ident
                    .as_ref()
                    .map_or_else(|| i.to_string(), |n| n.to_string());
                (name.into_boxed_str(), Ty::from_syn(&f.ty, &params))
            })
            .collect(),
        derives,
        generic: !params.is_empty(),
    }
}

fn trait_types(file: FileId, t: &syn::ItemTrait) -> ItemTypes {
    ItemTypes::Trait {
        supertraits: t
            .supertraits
            .iter()
            .filter_map(|b| match b {
                syn::TypeParamBound::Trait(tb) => tb
                    .path
                    .segments
                    .last()
                    .map(|s| s.ident.to_string().into_boxed_str()),
                _ => None,
            })
            .collect(),
        methods: t
            .items
            .iter()
            .filter_map(|it| match it {
                syn::TraitItem::Fn(f) => Some(TraitMethod {
                    name: f.sig.ident.to_string().into_boxed_str(),
                    receiver: receiver_of(&f.sig),
                    default: f
                        .default
                        .as_ref()
                        .map(|_| Span::of(file, f.sig.ident.span())),
                }),
                _ => None,
            })
            .collect(),
    }
}

/// The statics a `thread_local!` or `lazy_static!` invocation declares.
pub fn macro_statics(mac: &syn::Macro) -> Vec<syn::ItemStatic> {
    let Some(name) = mac.path.segments.last().map(|s| s.ident.to_string()) else {
        return Vec::new();
    };
    if name != "thread_local" && name != "lazy_static" {
        return Vec::new();
    }
    // `static ref X: T = e;` is a static item once `ref` is removed.
    let tokens: proc_macro2::TokenStream = mac
        .tokens
        .clone()
        .into_iter()
        .filter(|tt| !matches!(tt, proc_macro2::TokenTree::Ident(i) if i == "ref"))
        .collect();
    let Ok(file) = syn::parse2::<syn::File>(tokens) else {
        return Vec::new();
    };
    file.items
        .into_iter()
        .filter_map(|item| match item {
            syn::Item::Static(s) => Some(s),
            _ => None,
        })
        .collect()
}

fn path_attr(attrs: &[syn::Attribute]) -> Option<String> {
    attrs
        .iter()
        .find(|a| a.path().is_ident("path"))
        .and_then(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        })
}

/// Turns a `use` tree into one [`Import`] per name it brings into scope.
pub fn flatten_use(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<Import>) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            flatten_use(&p.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) => {
            if n.ident == "self" {
                if let Some(last) = prefix.last() {
                    out.push(Import {
                        name: last.clone(),
                        path: prefix.clone(),
                        glob: false,
                    });
                }
            } else {
                let mut path = prefix.clone();
                path.push(n.ident.to_string());
                out.push(Import {
                    name: n.ident.to_string(),
                    path,
                    glob: false,
                });
            }
        }
        syn::UseTree::Rename(r) => {
            let mut path = prefix.clone();
            if r.ident != "self" {
                path.push(r.ident.to_string());
            }
            if r.rename != "_" {
                out.push(Import {
                    name: r.rename.to_string(),
                    path,
                    glob: false,
                });
            }
        }
        syn::UseTree::Glob(_) => out.push(Import {
            name: String::new(),
            path: prefix.clone(),
            glob: true,
        }),
        syn::UseTree::Group(g) => {
            for t in &g.items {
                flatten_use(t, prefix, out);
            }
        }
    }
}

/// A module of a crate under analysis.
#[derive(Debug)]
pub struct Module {
    pub target: Option<TargetId>,
    /// Path from the crate root, e.g. `["net", "tcp"]`; empty for the root.
    pub path: Vec<String>,
    pub file: FileId,
    pub parent: Option<ModuleId>,
    pub children: HashMap<String, ModuleId, Names>,
    pub names: HashMap<String, Vec<ItemId>, Names>,
    pub methods: Vec<ItemId>,
    pub imports: Vec<Import>,
    /// The scope of the items declared in a fn body (see [`ItemIndex::body_module`]): it has
    /// no name, its `path` is its module's, and a name it does not declare is looked up in
    /// the scope around it, as Rust's block scopes do.
    pub block: bool,
}

#[derive(Debug)]
pub struct Item {
    pub name: String,
    pub kind: ItemKind,
    pub module: ModuleId,
    pub span: Span,
    pub value: Option<ConstExpr>,
    pub fields: Option<Vec<TypeShape>>,
    pub types: Option<Box<ItemTypes>>,
}

/// What a path names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// An item of the crates under analysis (or something inside it, like `Type::method`).
    Local(ItemId),
    Module(ModuleId),
    /// A path into another crate, spelled from the crate name: `["std", "thread", "spawn"]`.
    External(Vec<String>),
    Unknown,
}

/// Where a name is looked up, which decides the scopes that apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lookup {
    /// The first segment of a path in code: every scope, then the extern prelude.
    Path,
    /// The first segment of a `use` path: not through globs (a glob cannot provide the crate
    /// names that `use` paths start from), then the extern prelude.
    ImportStart,
    /// A name inside a module (`m::name`, or through a glob of `m`): no extern prelude.
    Member,
}

/// Resolution gives up beyond this many nested lookups (import chains, glob cycles).
const MAX_RESOLVE_DEPTH: usize = 24;

/// Bounds the work of one resolution. Crates like libc re-export through layers of globs
/// (`pub use self::unix::*` in every module); without a bound, following every glob of every
/// module is exponential. A name is looked up at most once per module's globs, and the whole
/// resolution takes at most [`Budget::STEPS`] lookups; past that it answers "unknown".
#[derive(Default)]
struct Budget {
    steps: usize,
    seen: Vec<(ModuleId, String)>,
}

impl Budget {
    const STEPS: usize = 256;

    fn enter(&mut self, m: ModuleId, name: &str, how: Lookup) -> bool {
        if self.steps >= Self::STEPS {
            return false;
        }
        self.steps += 1;
        // Only lookups inside modules (through globs, or `m::name`) can go round in circles.
        if how == Lookup::Member {
            if self.seen.iter().any(|(sm, sn)| *sm == m && sn == name) {
                return false;
            }
            self.seen.push((m, name.to_string()));
        }
        true
    }
}

/// The segments of a path spelled `a::b` (`::a` starts with an empty one, as
/// [`ItemIndex::resolve`] takes it).
fn segments(spelled: &str) -> Vec<String> {
    spelled.split("::").map(str::to_string).collect()
}

/// Resolutions of paths, by module and spelling: nested, so that a lookup needs no owned key.
type ResolvedPaths = HashMap<ModuleId, HashMap<Box<str>, Resolution, Names>, Names>;

#[derive(Debug, Default)]
pub struct ItemIndex {
    pub modules: Vec<Module>,
    pub items: Vec<Item>,
    file_modules: HashMap<FileId, ModuleId, Names>,
    /// The scopes of the fn bodies (and const blocks) that declare items, by the fn's name span.
    block_modules: HashMap<Span, ModuleId, Names>,
    /// Memo of [`ItemIndex::names_for`], keyed by the address of the static name list.
    name_closures: std::sync::Mutex<HashMap<usize, std::sync::Arc<NameSet>>>,
    /// Memo of [`ItemIndex::resolve_spelled`], in shards by module so that the workers
    /// seldom wait for each other. An index does not change once built, so neither do the
    /// answers kept here.
    resolved: [std::sync::Mutex<ResolvedPaths>; 8],
    /// Memos of [`ItemIndex::static_names`] and [`ItemIndex::callable_names`].
    static_names: std::sync::OnceLock<NameSet>,
    callable_names: std::sync::OnceLock<NameSet>,
}

#[derive(Default)]
pub struct IndexBuilder {
    index: ItemIndex,
}

impl IndexBuilder {
    /// Adds the modules of one file: its top level becomes the module `name` under `parent`
    /// (or a crate root when `parent` is `None`). Returns the ids of the file's local modules,
    /// in the order of `summary.modules`, so that declarations in them can be linked.
    /// The summary's modules are moved into the index (its `mod_decls` stay).
    pub fn add_file(
        &mut self,
        file: FileId,
        target: Option<TargetId>,
        parent: Option<(ModuleId, String)>,
        summary: &mut FileSummary,
    ) -> Vec<ModuleId> {
        let mut ids: Vec<ModuleId> = Vec::with_capacity(summary.modules.len());
        let mut parent = parent;
        for (i, local) in std::mem::take(&mut summary.modules).into_iter().enumerate() {
            let (parent, name) = match local.parent {
                Some(p) => (Some(ids[p]), local.name),
                None if i == 0 => match parent.take() {
                    Some((p, name)) => (Some(p), name),
                    None => (None, String::new()),
                },
                None => (None, local.name),
            };
            let id = match (local.block, parent) {
                (Some(def), Some(parent)) => self.add_block(file, target, parent, def),
                _ => self.add_module(file, target, parent, name),
            };
            let index = &mut self.index;
            index.modules[id.0 as usize].imports = local.imports;
            for it in local.items {
                let item_id = ItemId(index.items.len() as u32);
                let module = &mut index.modules[id.0 as usize];
                if matches!(it.kind, ItemKind::Method { .. }) {
                    module.methods.push(item_id);
                } else {
                    module
                        .names
                        .entry(it.name.clone())
                        .or_default()
                        .push(item_id);
                }
                index.items.push(Item {
                    name: it.name,
                    kind: it.kind,
                    module: id,
                    span: it.span,
                    value: it.value,
                    fields: it.fields,
                    types: it.types,
                });
            }
            ids.push(id);
        }
        self.index.file_modules.entry(file).or_insert(ids[0]);
        ids
    }

    fn add_module(
        &mut self,
        file: FileId,
        target: Option<TargetId>,
        parent: Option<ModuleId>,
        name: String,
    ) -> ModuleId {
        let id = ModuleId(self.index.modules.len() as u32);
        let path = match parent {
            Some(p) => {
                let parent = &mut self.index.modules[p.0 as usize];
                parent.children.insert(name.clone(), id);
                let mut path = parent.path.clone();
                path.push(name);
                path
            }
            None => Vec::new(),
        };
        self.index.modules.push(Module {
            target,
            path,
            file,
            parent,
            children: HashMap::default(),
            names: HashMap::default(),
            methods: Vec::new(),
            imports: Vec::new(),
            block: false,
        });
        id
    }

    /// Adds the scope of fn body `def` inside `parent`: not one of its children, since no
    /// path can name it.
    fn add_block(
        &mut self,
        file: FileId,
        target: Option<TargetId>,
        parent: ModuleId,
        def: Span,
    ) -> ModuleId {
        let id = ModuleId(self.index.modules.len() as u32);
        self.index.modules.push(Module {
            target,
            path: self.index.module(parent).path.clone(),
            file,
            parent: Some(parent),
            children: HashMap::default(),
            names: HashMap::default(),
            methods: Vec::new(),
            imports: Vec::new(),
            block: true,
        });
        self.index.block_modules.insert(def, id);
        id
    }

    pub fn finish(self) -> ItemIndex {
        self.index
    }
}

impl ItemIndex {
    pub fn module(&self, id: ModuleId) -> &Module {
        &self.modules[id.0 as usize]
    }

    pub fn item(&self, id: ItemId) -> &Item {
        &self.items[id.0 as usize]
    }

    /// Every name under which an item called one of `names` can be reached in the crate:
    /// the names themselves and, transitively, every `use ... as alias` of them. Lints use it
    /// to skip resolving paths that cannot name what they look for.
    pub fn names_for(&self, names: &'static [&'static str]) -> std::sync::Arc<NameSet> {
        let key = names.as_ptr() as usize;
        let mut memo = self.name_closures.lock().unwrap_or_else(|e| e.into_inner());
        memo.entry(key)
            .or_insert_with(|| {
                let mut set: NameSet = names.iter().map(|n| n.to_string()).collect();
                loop {
                    let before = set.len();
                    for m in &self.modules {
                        for i in m.imports.iter().filter(|i| !i.glob) {
                            if i.path.last().is_some_and(|l| set.contains(l))
                                && !set.contains(&i.name)
                            {
                                set.insert(i.name.clone());
                            }
                        }
                    }
                    if set.len() == before {
                        break set.into();
                    }
                }
            })
            .clone()
    }

    /// The names of every static of the workspace, and every `use` alias of them: a path
    /// whose last segment is not among them cannot name a static.
    pub fn static_names(&self) -> &NameSet {
        self.static_names
            .get_or_init(|| self.names_of_kind(|k| *k == ItemKind::Static))
    }

    /// The names of every fn and method of the workspace, and every `use` alias of them: a
    /// call whose path does not end in one of them cannot call the workspace's code.
    pub fn callable_names(&self) -> &NameSet {
        self.callable_names.get_or_init(|| {
            self.names_of_kind(|k| matches!(k, ItemKind::Fn | ItemKind::Method { .. }))
        })
    }

    fn names_of_kind(&self, wanted: impl Fn(&ItemKind) -> bool) -> NameSet {
        let mut set: NameSet = self
            .items
            .iter()
            .filter(|i| wanted(&i.kind))
            .map(|i| i.name.clone())
            .collect();
        for m in &self.modules {
            for i in m.imports.iter().filter(|i| !i.glob) {
                if i.path.last().is_some_and(|l| set.contains(l)) {
                    set.insert(i.name.clone());
                }
            }
        }
        set
    }

    /// The module that is the top level of `file`.
    pub fn file_module(&self, file: FileId) -> Option<ModuleId> {
        self.file_modules.get(&file).copied()
    }

    /// The scope of the items declared in the body of the fn (or const) whose name is at `def`,
    /// if it declares any.
    pub fn body_module(&self, def: Span) -> Option<ModuleId> {
        self.block_modules.get(&def).copied()
    }

    /// Whether any fn body declares items (`use` included); when none does, no body's scope
    /// needs looking up.
    pub fn has_body_modules(&self) -> bool {
        !self.block_modules.is_empty()
    }

    /// The module that `self` names inside scope `m`: `m` itself, or for a fn body's scope
    /// the module around it.
    fn named_module(&self, mut m: ModuleId) -> ModuleId {
        while self.module(m).block {
            match self.module(m).parent {
                Some(p) => m = p,
                None => break,
            }
        }
        m
    }

    /// The inline module `name` inside `parent`.
    pub fn child_module(&self, parent: ModuleId, name: &str) -> Option<ModuleId> {
        self.module(parent).children.get(name).copied()
    }

    pub fn crate_root(&self, mut m: ModuleId) -> ModuleId {
        while let Some(p) = self.module(m).parent {
            m = p;
        }
        m
    }

    /// Resolves `path` as written in module `m`, where `local` holds the imports of the
    /// enclosing fn bodies (block-level `use`).
    pub fn resolve(&self, m: ModuleId, local: &[Import], path: &[String]) -> Resolution {
        self.resolve_from(m, local, path, Lookup::Path, &mut Budget::default())
    }

    /// [`ItemIndex::resolve`] for a `syn::Path`.
    pub fn resolve_path(&self, m: ModuleId, local: &[Import], path: &syn::Path) -> Resolution {
        // Spelled `a::b` into one buffer (`to_string` would allocate a string per segment),
        // the form the memo keys use.
        let mut spelled = String::with_capacity(32);
        if path.leading_colon.is_some() {
            spelled.push_str("::");
        }
        for (i, s) in path.segments.iter().enumerate() {
            if i > 0 {
                spelled.push_str("::");
            }
            let _ = write!(spelled, "{}", s.ident);
        }
        match local.is_empty() {
            true => self.resolve_spelled(m, &spelled),
            false => self.resolve(m, local, &segments(&spelled)),
        }
    }

    /// [`ItemIndex::resolve`] of the path spelled `a::b` (`::a::b` from the extern
    /// prelude) in module `m`, without block-level imports: the same path is resolved in the
    /// same module again and again (`Some`, `Arc::new`, the module's own types), and a
    /// lookup through glob imports can take a thousand steps, so each answer is kept.
    pub fn resolve_spelled(&self, m: ModuleId, spelled: &str) -> Resolution {
        let memo = &self.resolved[m.0 as usize % self.resolved.len()];
        let lock = || memo.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(r) = lock().get(&m).and_then(|paths| paths.get(spelled)) {
            return r.clone();
        }
        let r = self.resolve(m, &[], &segments(spelled));
        lock()
            .entry(m)
            .or_default()
            .insert(spelled.into(), r.clone());
        r
    }

    fn resolve_from(
        &self,
        m: ModuleId,
        local: &[Import],
        path: &[String],
        how: Lookup,
        budget: &mut Budget,
    ) -> Resolution {
        let Some((first, rest)) = path.split_first() else {
            return Resolution::Unknown;
        };
        let start = match first.as_str() {
            "" => return Resolution::External(rest.to_vec()),
            "crate" => Resolution::Module(self.crate_root(m)),
            "self" => Resolution::Module(self.named_module(m)),
            "super" => match self.module(self.named_module(m)).parent {
                Some(p) => Resolution::Module(p),
                None => return Resolution::Unknown,
            },
            "Self" => return Resolution::Unknown,
            name => self.lookup(m, local, name, how, budget),
        };
        self.descend(start, rest, budget)
    }

    fn descend(&self, mut res: Resolution, rest: &[String], budget: &mut Budget) -> Resolution {
        for (i, seg) in rest.iter().enumerate() {
            res = match res {
                Resolution::Module(mm) => match seg.as_str() {
                    "super" => match self.module(mm).parent {
                        Some(p) => Resolution::Module(p),
                        None => Resolution::Unknown,
                    },
                    "self" => Resolution::Module(mm),
                    _ => self.lookup(mm, &[], seg, Lookup::Member, budget),
                },
                Resolution::Local(item) => return Resolution::Local(item),
                Resolution::External(mut p) => {
                    p.extend(rest[i..].iter().cloned());
                    return Resolution::External(p);
                }
                Resolution::Unknown => return Resolution::Unknown,
            };
        }
        res
    }

    /// Looks a single name up in module `m`.
    fn lookup(
        &self,
        m: ModuleId,
        local: &[Import],
        name: &str,
        how: Lookup,
        budget: &mut Budget,
    ) -> Resolution {
        if !budget.enter(m, name, how) {
            return Resolution::Unknown;
        }
        let module = self.module(m);
        if let Some(imp) = local.iter().rev().find(|i| !i.glob && i.name == name) {
            return self.resolve_import(m, imp, budget);
        }
        if let Some(own) = self.lookup_own(m, name) {
            return own;
        }
        if let Some(imp) = module.imports.iter().find(|i| !i.glob && i.name == name) {
            return self.resolve_import(m, imp, budget);
        }
        let mut external = Vec::new();
        if how != Lookup::ImportStart {
            for glob in local.iter().chain(&module.imports).filter(|i| i.glob) {
                match self.resolve_from(m, &[], &glob.path, Lookup::ImportStart, budget) {
                    Resolution::Module(g) => {
                        match self.lookup(g, &[], name, Lookup::Member, budget) {
                            Resolution::Unknown => {}
                            found => return found,
                        }
                    }
                    Resolution::External(mut p) => {
                        p.push(name.to_string());
                        external.push(p);
                    }
                    _ => {}
                }
            }
        }
        if module.block && external.is_empty() {
            // A fn body sees the names of the scope around it.
            if let Some(p) = module.parent {
                return self.lookup(p, &[], name, how, budget);
            }
        }
        match external.len() {
            // Two globs from other crates could both provide the name: do not guess.
            1 => Resolution::External(external.pop().unwrap_or_default()),
            // The extern prelude: a name found nowhere else is a crate.
            0 if how != Lookup::Member => Resolution::External(vec![name.to_string()]),
            _ => Resolution::Unknown,
        }
    }

    fn resolve_import(&self, m: ModuleId, imp: &Import, budget: &mut Budget) -> Resolution {
        // `use tokio::{self}` names `tokio` after itself: the path starts outside this scope.
        if imp.path.first() == Some(&imp.name) && self.lookup_own(m, &imp.name).is_none() {
            return Resolution::External(imp.path.clone());
        }
        self.resolve_from(m, &[], &imp.path, Lookup::ImportStart, budget)
    }

    fn lookup_own(&self, m: ModuleId, name: &str) -> Option<Resolution> {
        let module = self.module(m);
        module
            .children
            .get(name)
            .map(|c| Resolution::Module(*c))
            .or_else(|| module.names.get(name).map(|ids| Resolution::Local(ids[0])))
    }

    /// The value of the integer constant `path` as seen from module `m`.
    pub fn const_value(&self, m: ModuleId, path: &[String]) -> Option<u128> {
        self.const_value_at(m, path, 0)
    }

    fn const_value_at(&self, m: ModuleId, path: &[String], depth: usize) -> Option<u128> {
        if depth > MAX_RESOLVE_DEPTH {
            return None;
        }
        let Resolution::Local(id) = self.resolve(m, &[], path) else {
            return None;
        };
        let item = self.item(id);
        if item.kind != ItemKind::Const || item.name != *path.last()? {
            return None;
        }
        item.value
            .as_ref()?
            .eval(&mut |p| self.const_value_at(item.module, p, depth + 1))
    }

    /// Evaluates an integer expression written in module `m`.
    pub fn eval(&self, m: ModuleId, expr: &ConstExpr) -> Option<u128> {
        expr.eval(&mut |p| self.const_value(m, p))
    }

    /// A lower bound on the size of a value of `shape`, written in module `m`.
    pub fn size_of(&self, m: ModuleId, shape: &TypeShape) -> Option<u64> {
        self.size_at(m, shape, 0)
    }

    fn size_at(&self, m: ModuleId, shape: &TypeShape, depth: usize) -> Option<u64> {
        if depth > MAX_RESOLVE_DEPTH {
            return None;
        }
        size_lower_bound(
            shape,
            &mut |path| {
                let Resolution::Local(id) = self.resolve(m, &[], path) else {
                    return None;
                };
                let item = self.item(id);
                if item.name != *path.last()? {
                    return None;
                }
                let fields = item.fields.as_ref()?;
                if item.kind == ItemKind::TypeAlias {
                    // `type Page = [u8; 4096];`: the aliased type's size.
                    return self.size_at(item.module, fields.first()?, depth + 1);
                }
                if item.kind != ItemKind::Struct {
                    return None;
                }
                fields.iter().try_fold(0u64, |acc, f| {
                    acc.checked_add(self.size_at(item.module, f, depth + 1)?)
                })
            },
            &mut |len| self.eval(m, len),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index_of(files: &[&str]) -> (ItemIndex, Vec<ModuleId>) {
        // files[0] is the crate root; files[i > 0] is `mod f{i}` declared in the root.
        let mut b = IndexBuilder::default();
        let mut tops = Vec::new();
        for (i, src) in files.iter().enumerate() {
            let syntax: syn::File = syn::parse_str(src).unwrap();
            let mut summary = summarize(FileId(i as u32), &syntax);
            let parent = (i > 0).then(|| (tops[0], format!("f{i}")));
            tops.push(b.add_file(FileId(i as u32), None, parent, &mut summary)[0]);
        }
        (b.finish(), tops)
    }

    #[test]
    fn aliases_resolve_to_external_paths() {
        let (ix, m) = index_of(&["use std::thread::spawn as go; use std::thread; use tokio::{self, task::{spawn_blocking as sb}};"]);
        assert_eq!(
            ix.resolve(m[0], &[], &segments("go")),
            Resolution::External(segments("std::thread::spawn"))
        );
        assert_eq!(
            ix.resolve(m[0], &[], &segments("thread::spawn")),
            Resolution::External(segments("std::thread::spawn"))
        );
        assert_eq!(
            ix.resolve(m[0], &[], &segments("tokio::spawn")),
            Resolution::External(segments("tokio::spawn"))
        );
        assert_eq!(
            ix.resolve(m[0], &[], &segments("sb")),
            Resolution::External(segments("tokio::task::spawn_blocking"))
        );
    }

    #[test]
    fn local_items_shadow_and_globs_reach_parents() {
        let (ix, m) = index_of(&[
            "use std::thread; mod inner { pub fn spawn() {} } fn spawn() {}",
            "use super::*; use crate::inner::spawn as s;",
        ]);
        assert!(matches!(
            ix.resolve(m[0], &[], &segments("spawn")),
            Resolution::Local(_)
        ));
        assert_eq!(
            ix.resolve(m[1], &[], &segments("thread::spawn")),
            Resolution::External(segments("std::thread::spawn"))
        );
        assert!(matches!(
            ix.resolve(m[1], &[], &segments("s")),
            Resolution::Local(_)
        ));
        assert!(matches!(
            ix.resolve(m[1], &[], &segments("super::inner::spawn")),
            Resolution::Local(_)
        ));
    }

    /// A path is resolved once per module and spelling, and the kept answer is the one the
    /// resolution gives in that module, not in another module that spells it alike.
    #[test]
    fn kept_resolutions_are_per_module() {
        // Twenty modules (more than the memo has shards), where `spawn` is in turn a fn of
        // the module's own and `std::thread::spawn`.
        let root: String = (0..20)
            .map(|i| match i % 2 {
                0 => format!("mod m{i} {{ fn spawn() {{}} }} "),
                _ => format!("mod m{i} {{ use std::thread::spawn; }} "),
            })
            .collect();
        let (ix, m) = index_of(&[
            &root,
            "use super::*; use crate::m0::spawn as s; use std::thread;",
        ]);
        let mut modules: Vec<ModuleId> = (0..20)
            .map(|i| ix.child_module(m[0], &format!("m{i}")).unwrap())
            .collect();
        modules.extend(&m);
        let written = |src: &str| syn::parse_str::<syn::Path>(src).unwrap();
        let spellings = [
            "spawn",
            "s",
            "thread::spawn",
            "super::m0::spawn",
            "::std::thread",
            "nowhere::at_all",
        ];
        for _ in 0..2 {
            for &module in &modules {
                for spelled in spellings {
                    let plain = ix.resolve(module, &[], &segments(spelled));
                    assert_eq!(ix.resolve_path(module, &[], &written(spelled)), plain);
                    assert_eq!(ix.resolve_spelled(module, spelled), plain);
                }
            }
        }
        // Each module's own `spawn`: twenty answers, ten of them distinct items.
        let own: HashSet<ItemId> = modules[..20]
            .iter()
            .filter_map(|&module| match ix.resolve_spelled(module, "spawn") {
                Resolution::Local(id) => Some(id),
                _ => None,
            })
            .collect();
        assert_eq!(own.len(), 10);
    }

    /// The items a fn body declares form a scope of their own: seen from that body (which
    /// still sees the module's names, and whose `self` is the module), not from outside.
    #[test]
    fn items_in_fn_bodies_are_a_scope_of_the_body() {
        let src = "struct Name; mod m { pub fn f() {} }
                   fn outer() { struct Name(u32); use self::m::f as g; fn helper() {} }
                   const _: () = { struct Hidden; };";
        let (ix, m) = index_of(&[src]);
        let item = |r: Resolution| match r {
            Resolution::Local(id) => Some(ix.item(id).span),
            _ => None,
        };
        let body_of = |name: &str| {
            let def = ix
                .items
                .iter()
                .find(|i| i.name == name && ix.module(i.module).path.is_empty())
                .map(|i| i.span);
            ix.body_module(def.unwrap()).unwrap()
        };
        let body = body_of("outer");
        // The body's `Name` shadows the module's; the module still sees its own.
        let inner = item(ix.resolve(body, &[], &segments("Name"))).unwrap();
        let outer = item(ix.resolve(m[0], &[], &segments("Name"))).unwrap();
        assert_ne!(inner, outer);
        assert!(inner.lo > outer.lo);
        // Names of the module, `self::` and the body's own `use` resolve from the body.
        assert!(item(ix.resolve(body, &[], &segments("m::f"))).is_some());
        assert!(item(ix.resolve(body, &[], &segments("self::m::f"))).is_some());
        assert_eq!(
            item(ix.resolve(body, &[], &segments("g"))),
            item(ix.resolve(m[0], &[], &segments("m::f")))
        );
        assert!(item(ix.resolve(body, &[], &segments("helper"))).is_some());
        // Nothing outside the body sees what it declares.
        assert_eq!(
            ix.resolve(m[0], &[], &segments("helper")),
            Resolution::External(segments("helper"))
        );
        assert!(ix.child_module(m[0], "").is_none());
        // `const _: () = { .. };` blocks are scopes too.
        let hidden = body_of("_");
        assert!(item(ix.resolve(hidden, &[], &segments("Hidden"))).is_some());
        assert!(item(ix.resolve(m[0], &[], &segments("Hidden"))).is_none());
        // A body without items has no scope of its own.
        let (ix, _) = index_of(&["fn plain() { let x = 1; }"]);
        assert!(ix.body_module(ix.items[0].span).is_none());
    }

    #[test]
    fn glob_cycles_terminate() {
        let (ix, m) = index_of(&["pub use crate::f1::*;", "pub use super::*;"]);
        assert_eq!(
            ix.resolve(m[1], &[], &segments("nothing_here")),
            Resolution::External(segments("nothing_here"))
        );
    }

    #[test]
    fn layers_of_globs_stay_cheap() {
        // libc's shape: every module re-exports its children and its parent through globs.
        let mut src = String::new();
        for _ in 0..40 {
            src.push_str("pub use self::a::*; pub use self::b::*; pub use super::*; pub mod a { ");
        }
        src.push_str(&"}".repeat(40));
        let (ix, m) = index_of(&[&src]);
        let start = std::time::Instant::now();
        assert_eq!(
            ix.resolve(m[0], &[], &segments("nowhere")),
            Resolution::External(segments("nowhere"))
        );
        assert!(start.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn constants_across_modules() {
        let (ix, m) = index_of(&[
            "const MIB: usize = 1 << 20; mod sizes { pub const BIG: usize = 64 * super::MIB; }",
            "use crate::sizes::BIG;",
        ]);
        assert_eq!(ix.const_value(m[1], &segments("BIG")), Some(64 << 20));
        let (ix, m) = index_of(&["const A: usize = B; const B: usize = A;"]);
        assert_eq!(ix.const_value(m[0], &segments("A")), None);
    }

    #[test]
    fn cfg_macros_are_opened() {
        let mut f: syn::File = syn::parse_str("cfg_rt! { pub mod runtime; fn a() {} } cfg_if::cfg_if! { if #[cfg(unix)] { mod unix; } else { mod windows; } } println!(\"x\");").unwrap();
        expand_cfg_macros(&mut f.items);
        let s = summarize(FileId(0), &f);
        let decls: Vec<_> = s.mod_decls.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(decls, ["runtime", "unix", "windows"]);
        assert_eq!(f.items.len(), 5);
    }
}
