//! The semantic layer: impls, traits, aliases and field types of the whole workspace, and the
//! resolution of method calls, trait calls and operators on top of them.
//!
//! Built once per run from the [`ItemIndex`] (the items' written signatures, see
//! [`crate::index::ItemTypes`]), after every file is summarized and before any body is read;
//! the fact collectors ask it, with the types they know of an expression, which fn a call,
//! an operator or a format placeholder runs. It holds no syntax.
//!
//! Resolution follows Rust's method lookup where the source tells enough: at each step of
//! autoderef (the receiver, then what `*` gives: a reference's target, a `Box`, or a local
//! `Deref` impl's target, which is itself a call), methods taking `self` by value, then by
//! reference; inherent methods before trait methods; a trait method chosen among several by
//! its arguments' types. It is best effort and says "unknown" rather than guess:
//! - a type we do not see all the methods of (std's and other crates' types, generic
//!   parameters) answers only for traits of the workspace implemented on it, and not at all for
//!   names std's types may have as inherent methods ([`MAYBE_INHERENT`]);
//! - a method that another crate's blanket trait may provide (`into`, `borrow`..) stops the
//!   lookup, except for the few std blankets whose target is known (`to_string` runs
//!   `Display::fmt`, `into` runs the target's `From::from`);
//! - candidates are looked for in the caller's crate only;
//! - a crate's types of one name (a `Trace` in two modules) are told apart by the item the
//!   name leads to where the type is written, paths like `super::task::Trace` included
//!   ([`Semantics::expand`]); two of one name in one module are `cfg` alternatives, and the
//!   name stays undecided.

use std::collections::{HashMap, HashSet};

use crate::index::{
    ImplHead, ItemId, ItemIndex, ItemKind, ItemTypes, ModuleId, NameSet, Names, Resolution,
};
use crate::span::Span;
use crate::types::{disambiguated, split_disambiguated, type_name, Mutability, Receiver, Ty};

/// A resolved call: the fn's definition (its name span, its identity in the call graph), or
/// `None` for a fn without a body we can see (a derived impl), and the type it returns.
#[derive(Clone, Debug)]
pub struct Resolved {
    pub def: Option<Span>,
    pub ret: Ty,
}

/// What a method call runs: the `deref` impls autoderef went through, then the method.
#[derive(Clone, Debug, Default)]
pub struct MethodCall {
    pub derefs: Vec<Span>,
    pub method: Option<Resolved>,
}

/// Std's derivable traits: the methods a derive provides, with their receivers and the
/// types of their other parameters (`&Self` for comparisons), and what they return.
const DERIVED: &[(&str, &str, Receiver, Option<DerivedRet>)] = &[
    (
        "Clone",
        "clone",
        Receiver::Ref(Mutability::Shared),
        Some(DerivedRet::SelfTy),
    ),
    (
        "PartialEq",
        "eq",
        Receiver::Ref(Mutability::Shared),
        Some(DerivedRet::Bool),
    ),
    (
        "PartialEq",
        "ne",
        Receiver::Ref(Mutability::Shared),
        Some(DerivedRet::Bool),
    ),
    (
        "PartialOrd",
        "partial_cmp",
        Receiver::Ref(Mutability::Shared),
        None,
    ),
    (
        "PartialOrd",
        "lt",
        Receiver::Ref(Mutability::Shared),
        Some(DerivedRet::Bool),
    ),
    (
        "PartialOrd",
        "le",
        Receiver::Ref(Mutability::Shared),
        Some(DerivedRet::Bool),
    ),
    (
        "PartialOrd",
        "gt",
        Receiver::Ref(Mutability::Shared),
        Some(DerivedRet::Bool),
    ),
    (
        "PartialOrd",
        "ge",
        Receiver::Ref(Mutability::Shared),
        Some(DerivedRet::Bool),
    ),
    ("Ord", "cmp", Receiver::Ref(Mutability::Shared), None),
    ("Hash", "hash", Receiver::Ref(Mutability::Shared), None),
    ("Debug", "fmt", Receiver::Ref(Mutability::Shared), None),
    (
        "Default",
        "default",
        Receiver::None,
        Some(DerivedRet::SelfTy),
    ),
];

#[derive(Clone, Copy, Debug)]
enum DerivedRet {
    SelfTy,
    Bool,
}

/// Methods std gives every type (or every type with some trait): a call by one of these names
/// on a type without a method of its own by that name goes to std.
const STD_BLANKET: &[&str] = &[
    "into",
    "try_into",
    "borrow",
    "borrow_mut",
    "type_id",
    "to_owned",
    "clone_into",
    "to_string",
    "from",
    "try_from",
];

/// Names that std's own types (integers, floats, `str`, slices, `Vec`, `Option`, `Box`..)
/// have, or may have, as inherent methods, which win over any trait method of ours: `impl
/// Float for f64 { fn sqrt(self) -> f64 { self.sqrt() } }` calls `f64::sqrt`, not itself.
/// The prefixes cover families (`checked_add`, `to_le_bytes`, `is_nan`..).
const MAYBE_INHERENT: &[&str] = &[
    "abs",
    "pow",
    "powi",
    "powf",
    "sqrt",
    "cbrt",
    "exp",
    "exp2",
    "ln",
    "log",
    "log2",
    "log10",
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "atan2",
    "sinh",
    "cosh",
    "tanh",
    "floor",
    "ceil",
    "round",
    "trunc",
    "fract",
    "signum",
    "mul_add",
    "hypot",
    "recip",
    "min",
    "max",
    "clamp",
    "count_ones",
    "count_zeros",
    "leading_zeros",
    "trailing_zeros",
    "leading_ones",
    "trailing_ones",
    "rotate_left",
    "rotate_right",
    "swap_bytes",
    "reverse_bits",
    "len",
    "get",
    "get_mut",
    "first",
    "last",
    "iter",
    "iter_mut",
    "push",
    "pop",
    "insert",
    "remove",
    "contains",
    "split",
    "join",
    "concat",
    "repeat",
    "replace",
    "trim",
    "lines",
    "chars",
    "bytes",
    "map",
    "and_then",
    "unwrap",
    "expect",
    "ok",
    "err",
    "take",
    "sort",
    "dedup",
    "retain",
    "clear",
    "extend",
    "append",
    "reserve",
    "capacity",
    "total_cmp",
    "div_euclid",
    "rem_euclid",
    "ilog",
    "ilog2",
    "ilog10",
    "midpoint",
    "next_multiple_of",
    "downcast",
    "leak",
    "copied",
    "cloned",
    "filter",
    "find",
    "position",
    "rev",
    "step_by",
    "zip",
    "chunks",
    "windows",
    "swap",
    "fill",
    "sum",
    "product",
    "hash",
    "fmt",
    "eq",
    "cmp",
    "partial_cmp",
];
const MAYBE_INHERENT_PREFIXES: &[&str] = &[
    "checked_",
    "wrapping_",
    "saturating_",
    "overflowing_",
    "unchecked_",
    "to_",
    "from_",
    "is_",
    "as_",
    "into_",
    "split_",
    "trim_",
    "strip_",
    "starts_",
    "ends_",
    "find_",
    "char_",
    "escape_",
    "make_",
    "unwrap_",
    "map_",
    "ok_",
    "get_",
    "sort_",
    "binary_",
    "rsplit",
    "rfind",
];

fn maybe_inherent(name: &str) -> bool {
    MAYBE_INHERENT.contains(&name) || MAYBE_INHERENT_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Autoderef stops after this many steps (rustc's limit is 128; real chains are short).
const AUTODEREF_STEPS: usize = 8;

/// Methods of the traits std implements for `&A` by calling `A`'s own (`PartialEq`,
/// `PartialOrd`, `Ord`); not `Clone`, whose `&A` impl copies the reference.
const FORWARDED_THROUGH_REFS: &[&str] = &["eq", "ne", "partial_cmp", "lt", "le", "gt", "ge", "cmp"];
/// Alias expansion gives up past this depth (an alias of an alias of ..).
const ALIAS_DEPTH: usize = 8;

#[derive(Default)]
pub struct Semantics {
    /// Impl methods by self type head and name.
    methods: Pairs,
    /// Methods of blanket impls (`impl<T: Bound> Ext for T`), by name: they may apply to
    /// any type.
    blanket: HashSet<Box<str>, Names>,
    /// Trait impls by trait name and self type head: the impl's first method (its head is
    /// shared by all its methods), for the operators and placeholders.
    trait_impls: Pairs,
    /// Structs, enums and unions by crate root and name.
    adts: PerCrate,
    /// Type aliases by crate root and name.
    aliases: PerCrate,
    /// Traits by crate root and name.
    traits: PerCrate,
    /// Names of the workspace's ADTs, in any crate: the types worth tracking in a body.
    adt_names: HashSet<Box<str>, Names>,
    /// Each impl method's self type, read in the impl's module (see [`Semantics::expand`]).
    impl_self: HashMap<ItemId, Ty, Names>,
    /// The names of the ADTs that share theirs with another of their crate, disambiguated
    /// (see [`Semantics::adt_name`]).
    disambiguated: HashMap<ItemId, Box<str>, Names>,
    /// See [`Semantics::handle_makers`]; computed on first use.
    handle_makers: std::sync::OnceLock<HandleMakers>,
}

impl Semantics {
    pub fn new(index: &ItemIndex) -> Semantics {
        let mut s = Semantics::default();
        for (i, item) in index.items.iter().enumerate() {
            let id = ItemId(i as u32);
            let krate = index.crate_root(item.module);
            let name: Box<str> = item.name.as_str().into();
            match &item.kind {
                ItemKind::Method { self_ty, trait_ } => {
                    let Some(head) = impl_head(item.types.as_deref()) else {
                        continue;
                    };
                    if head.self_ty.is_unknown() {
                        s.blanket.insert(name.clone());
                    }
                    s.methods.insert(self_ty, &name, id);
                    if let Some(t) = trait_ {
                        // One entry per impl block: methods of one impl share their head.
                        let known = s.trait_impls.get(t, self_ty);
                        if !known.iter().any(|&o| same_impl(index, o, id)) {
                            s.trait_impls.insert(t, self_ty, id);
                        }
                    }
                }
                ItemKind::Struct | ItemKind::Enum | ItemKind::Union => {
                    s.adt_names.insert(name.clone());
                    s.adts.insert(name, krate, id);
                }
                ItemKind::TypeAlias => s.aliases.insert(name, krate, id),
                ItemKind::Trait => s.traits.insert(name, krate, id),
                _ => {}
            }
        }
        for ids in s.adts.0.values() {
            for &(krate, id) in ids {
                let item = index.item(id);
                let same_name = ids.iter().filter(|(k, _)| *k == krate);
                let in_module = same_name
                    .clone()
                    .filter(|(_, other)| index.item(*other).module == item.module)
                    .count();
                if same_name.count() > 1 && in_module == 1 {
                    s.disambiguated.insert(id, disambiguated(&item.name, id.0));
                }
            }
        }
        // Self types are read once every ADT and alias is known.
        for (i, item) in index.items.iter().enumerate() {
            if let Some(head) = impl_head(item.types.as_deref()) {
                let ty = s.expand(index, &head.self_ty, item.module);
                s.impl_self.insert(ItemId(i as u32), ty);
            }
        }
        s
    }

    /// The self type of the impl method `m`, as its module reads it.
    fn impl_self_ty(&self, m: ItemId) -> &Ty {
        self.impl_self.get(&m).unwrap_or(&Ty::Unknown)
    }

    /// Whether a body should track values of this type: it names a type of the workspace.
    pub fn worth_tracking(&self, ty: &Ty) -> bool {
        ty.is_primitive()
            || match ty {
                Ty::Named(n, args) => {
                    self.adt_names.contains(type_name(n))
                        || args.iter().any(|a| self.worth_tracking(a))
                }
                Ty::Ref(_, t) | Ty::Slice(t) | Ty::Array(t) => self.worth_tracking(t),
                Ty::Tuple(ts) => ts.iter().any(|t| self.worth_tracking(t)),
                Ty::SelfTy | Ty::Dyn(_) => true,
                Ty::Never | Ty::Unknown => false,
            }
    }

    /// The struct, enum or union `name` of the crate of `from`: the one a disambiguated name
    /// (see [`Semantics::adt_name`]) stands for, or the only one of the crate by that name.
    fn adt(&self, index: &ItemIndex, name: &str, from: ModuleId) -> Option<ItemId> {
        match split_disambiguated(name) {
            (_, Some(id)) => Some(ItemId(id)),
            (name, None) => self.adts.one(name, index.crate_root(from)),
        }
    }

    /// The name a type reads as once resolved to the struct, enum or union `id`: its own name,
    /// or, when its crate has several types of that name (a `Trace` in two modules), its
    /// name disambiguated by its item (`Trace#12`), so that two types never pass for one and
    /// their impls stay apart. [`type_name`] gives the name as written back.
    ///
    /// Types of one name in one module are alternatives under `cfg`s (tokio's `struct
    /// IoStack` and `enum IoStack`): the name may mean either, so it stays undecided.
    fn adt_name(&self, index: &ItemIndex, id: ItemId) -> Box<str> {
        match self.disambiguated.get(&id) {
            Some(name) => name.clone(),
            None => index.item(id).name.as_str().into(),
        }
    }

    /// Whether some crate of the workspace has a type, alias or trait of this name: a path
    /// `Name::f` with another prefix cannot be a call the semantic layer resolves.
    pub fn names_a_type(&self, name: &str) -> bool {
        self.adts.has(name) || self.aliases.has(name) || self.traits.has(name)
    }

    /// The crate's own struct, enum or union a type names, when one has that name.
    pub fn adt_item(&self, index: &ItemIndex, ty: &Ty, from: ModuleId) -> Option<ItemId> {
        self.adt(index, ty.head()?, from)
    }

    fn is_local_adt(&self, index: &ItemIndex, ty: &Ty, from: ModuleId) -> bool {
        ty.head()
            .is_some_and(|h| self.adt(index, h, from).is_some())
    }

    /// The workspace's type aliases that are an `Rc`/`Arc` and its fns that return one.
    pub fn handle_makers(&self, index: &ItemIndex) -> &HandleMakers {
        self.handle_makers.get_or_init(|| {
            let mut makers = HandleMakers::default();
            let is_handle = |ty: &Ty, from: ModuleId| rc_or_arc(&self.expand(index, ty, from));
            for item in &index.items {
                if let Some(ItemTypes::Alias { ty, .. }) = item.types.as_deref() {
                    if is_handle(ty, item.module).is_some() {
                        makers.aliases.insert(item.name.clone());
                    }
                }
            }
            for item in &index.items {
                let Some(ItemTypes::Fn { ret, impl_, .. }) = item.types.as_deref() else {
                    continue;
                };
                // Only a named return type can be one; most are not worth expanding.
                let Some(head) = ret.last_segment() else {
                    continue;
                };
                if !matches!(head, "Rc" | "Arc") && !makers.aliases.contains(head) {
                    continue;
                }
                let ret = match impl_ {
                    Some(h) if ret.mentions_self() => ret.subst_self(&h.self_ty),
                    _ => ret.clone(),
                };
                if is_handle(&ret, item.module).is_none() {
                    continue;
                }
                match &item.kind {
                    ItemKind::Method { self_ty, .. } => {
                        makers.fns.insert(item.name.clone());
                        makers.assoc.insert(format!("{self_ty}::{}", item.name));
                    }
                    _ => {
                        makers.fns.insert(item.name.clone());
                        makers.free.insert(item.name.clone());
                    }
                }
            }
            makers
        })
    }

    /// `ty` with the crate's type aliases expanded, generic aliases included.
    pub fn expand(&self, index: &ItemIndex, ty: &Ty, from: ModuleId) -> Ty {
        // Most types name no alias and no type the crate also defines: nothing to do.
        if !self.names_any(ty) {
            return ty.clone();
        }
        self.expand_depth(index, ty, from, 0)
    }

    /// Whether `ty` names an alias or a type of the workspace anywhere.
    fn names_any(&self, ty: &Ty) -> bool {
        match ty {
            Ty::Named(n, args) => {
                self.aliases.has(n)
                    || self.adts.has(n)
                    || is_local_path(n)
                    || args.iter().any(|a| self.names_any(a))
            }
            Ty::Ref(_, t) | Ty::Slice(t) | Ty::Array(t) => self.names_any(t),
            Ty::Tuple(ts) => ts.iter().any(|t| self.names_any(t)),
            _ => false,
        }
    }

    fn expand_depth(&self, index: &ItemIndex, ty: &Ty, from: ModuleId, depth: usize) -> Ty {
        if depth > ALIAS_DEPTH {
            return Ty::Unknown;
        }
        ty.map_named(&mut |t| {
            let Ty::Named(name, args) = t else {
                return None;
            };
            let expand_args = |args: &[Ty]| -> Vec<Ty> {
                args.iter()
                    .map(|a| self.expand_depth(index, a, from, depth + 1))
                    .collect()
            };
            if is_local_path(name) {
                // `crate::a::Trace`, `super::Trace`: the item it leads to from here.
                if let Resolution::Local(id) = index.resolve_spelled(from, name) {
                    if matches!(
                        index.item(id).kind,
                        ItemKind::Struct | ItemKind::Enum | ItemKind::Union
                    ) {
                        return Some(Ty::Named(self.adt_name(index, id), expand_args(args)));
                    }
                }
                // Not a type of ours that we can find (an alias is found by its name, as
                // one written alone): read as its last segment.
                let last = name.rsplit("::").next().unwrap_or("");
                let alone = Ty::Named(last.into(), args.clone());
                return Some(self.expand_depth(index, &alone, from, depth + 1));
            }
            let krate = index.crate_root(from);
            let ids = self.adts.get(name, krate);
            if !ids.is_empty() {
                // A name the crate gives a type of its own may still stand for another
                // crate's type here (`use std::time::Instant;` beside a mirror `Instant`).
                let renamed: Box<str> = match resolve_name(index, from, name)? {
                    // One of several types of this name: which one it is, read here.
                    Resolution::Local(id) if ids.contains(&id) && ids.len() > 1 => {
                        return Some(Ty::Named(self.adt_name(index, id), expand_args(args)));
                    }
                    Resolution::Local(id) if ids.contains(&id) => return None,
                    // An alias of that name, which hides the type here.
                    Resolution::Local(id) if index.item(id).kind == ItemKind::TypeAlias => {
                        return Some(self.expand_alias(index, id, args, from, depth));
                    }
                    Resolution::Local(_) => return None,
                    Resolution::External(p) => p.join("::").into(),
                    _ => format!("?::{name}").into(),
                };
                let args = args
                    .iter()
                    .map(|a| self.expand_depth(index, a, from, depth + 1))
                    .collect();
                return Some(Ty::Named(renamed, args));
            }
            let ids = self.aliases.get(name, krate);
            if ids.is_empty() {
                return None;
            }
            let id = match ids.as_slice() {
                [id] => *id,
                // Several aliases of this name in the crate (a `Result<T>` per module): the
                // one the name leads to from here.
                _ => match resolve_name(index, from, name) {
                    Some(Resolution::Local(id)) if ids.contains(&id) => id,
                    _ => return Some(Ty::Unknown),
                },
            };
            Some(self.expand_alias(index, id, args, from, depth))
        })
    }

    /// What the alias `id` stands for with the type arguments `args`, expanded.
    fn expand_alias(
        &self,
        index: &ItemIndex,
        id: ItemId,
        args: &[Ty],
        from: ModuleId,
        depth: usize,
    ) -> Ty {
        let Some(ItemTypes::Alias { params, ty: target }) = index.item(id).types.as_deref() else {
            return Ty::Unknown;
        };
        let args: Vec<Ty> = args
            .iter()
            .map(|a| self.expand_depth(index, a, from, depth + 1))
            .collect();
        let substituted = target.map_named(&mut |u| match u {
            Ty::Named(n, inner) if inner.is_empty() => params
                .iter()
                .position(|p| **p == **n)
                .map(|i| args.get(i).cloned().unwrap_or(Ty::Unknown)),
            _ => None,
        });
        self.expand_depth(index, &substituted, from, depth + 1)
    }

    /// The type of the field `field` of a value of type `ty` (through references).
    pub fn field(&self, index: &ItemIndex, ty: &Ty, field: &str, from: ModuleId) -> Ty {
        let base = ty.strip_refs();
        let Some(id) = base.head().and_then(|h| self.adt(index, h, from)) else {
            return Ty::Unknown;
        };
        match index.item(id).types.as_deref() {
            Some(ItemTypes::Adt {
                fields,
                generic: false,
                ..
            }) => fields
                .iter()
                .find(|(n, _)| **n == *field)
                .map_or(Ty::Unknown, |(_, t)| {
                    self.expand(index, &t.subst_self(base), index.item(id).module)
                }),
            _ => Ty::Unknown,
        }
    }

    /// The type a struct literal or a path names (`Point`, `Self`, an alias).
    pub fn path_type(&self, index: &ItemIndex, path: &syn::Path, from: ModuleId) -> Ty {
        let segs: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        match index.resolve_path(from, &[], path) {
            Resolution::Local(id)
                if matches!(
                    index.item(id).kind,
                    ItemKind::Struct | ItemKind::Enum | ItemKind::Union | ItemKind::TypeAlias
                ) && index.item(id).name == *segs.last().unwrap_or(&String::new()) =>
            {
                self.expand(
                    index,
                    &Ty::named(&index.item(id).name),
                    index.item(id).module,
                )
            }
            _ => Ty::Unknown,
        }
    }

    /// One step of `*`: a reference's target, a `Box`'s content, or a local `Deref` impl's
    /// target (with that impl's `deref`, which the step calls).
    pub fn deref(&self, index: &ItemIndex, ty: &Ty, from: ModuleId) -> Option<(Ty, Option<Span>)> {
        match ty {
            Ty::Ref(_, t) => Some(((**t).clone(), None)),
            Ty::Named(n, args) if matches!(&**n, "Box" | "Rc" | "Arc") => {
                Some((args.first().cloned().unwrap_or(Ty::Unknown), None))
            }
            Ty::Named(..) => {
                let r = self.trait_method(index, "Deref", "deref", ty, None, from)?;
                let target = match r.ret {
                    Ty::Ref(_, t) => *t,
                    _ => Ty::Unknown,
                };
                Some((target, r.def))
            }
            _ => None,
        }
    }

    /// `Trait::name` for `self_ty` (`<self_ty as Trait>::name`): the impl's method, or a
    /// derived one. `args` (the types of the arguments after `self`, when known) choose
    /// between impls of a generic trait (`From<A>`, `PartialEq<B>`).
    pub fn trait_method(
        &self,
        index: &ItemIndex,
        trait_: &str,
        name: &str,
        self_ty: &Ty,
        args: Option<&[Ty]>,
        from: ModuleId,
    ) -> Option<Resolved> {
        self.trait_method_of(index, trait_, None, name, self_ty, args, from)
    }

    /// [`Semantics::trait_method`] with the trait's arguments when the code writes them
    /// (`<T as PartialEq<str>>::eq`).
    ///
    /// An impl of a generic trait (`From<A>`), or any impl for a type that is not the crate's
    /// own (std implements `Index<usize>` for `Vec` beside the crate's `Index<MyIdx>`), is
    /// chosen only when the arguments' types are known and match it; a derive counts as one
    /// more impl.
    #[allow(clippy::too_many_arguments)]
    pub fn trait_method_of(
        &self,
        index: &ItemIndex,
        trait_: &str,
        trait_args: Option<&[Ty]>,
        name: &str,
        self_ty: &Ty,
        args: Option<&[Ty]>,
        from: ModuleId,
    ) -> Option<Resolved> {
        let head = self_ty.last_segment()?;
        let krate = index.crate_root(from);
        let local = self.is_local_adt(index, self_ty, from);
        let mut found: Vec<Resolved> = Vec::new();
        for &first in self.trait_impls.get(trait_, head).iter() {
            let impl_item = index.item(first);
            if index.crate_root(impl_item.module) != krate {
                continue;
            }
            let Some(head) = impl_head(impl_item.types.as_deref()) else {
                continue;
            };
            if !ty_matches(self.impl_self_ty(first), self_ty) {
                continue;
            }
            if let Some(written) = trait_args {
                let fits = written.len() == head.trait_args.len()
                    && written.iter().zip(&head.trait_args).all(|(w, t)| {
                        let t = self.expand(index, &t.subst_self(self_ty), impl_item.module);
                        !w.is_known() || !t.is_known() || *w == t
                    });
                if !fits {
                    continue;
                }
            }
            let ItemKind::Method { self_ty: key, .. } = &impl_item.kind else {
                continue;
            };
            let method = self
                .methods
                .get(key, name)
                .iter()
                .copied()
                .find(|&m| same_impl(index, m, first));
            // std's blanket impls (`impl<T> From<T> for T`) sit beside ours for these.
            let blanket_beside = matches!(
                trait_,
                "From" | "Into" | "TryFrom" | "TryInto" | "Borrow" | "BorrowMut"
            );
            let strict = !local || blanket_beside;
            if let Some(m) = method {
                let fits = match args {
                    Some(args) if strict => self.params_fit(index, m, self_ty, args),
                    Some(args) => self.params_match(index, m, self_ty, args),
                    None => !strict || trait_args.is_some(),
                };
                if !fits {
                    continue;
                }
            }
            let resolved = match method {
                Some(m) => self.resolved(index, m, self_ty),
                // A method the impl does not write: the trait's default, which we see only
                // for the workspace's traits.
                None => self.trait_default(index, trait_, name, from)?,
            };
            found.push(resolved);
        }
        if self.derives(index, self_ty, trait_, from) {
            // A derived `PartialEq`/`PartialOrd` compares with `Self` only.
            let fits = match args {
                Some([Ty::Ref(_, other)]) if matches!(trait_, "PartialEq" | "PartialOrd") => {
                    !other.is_known() || **other == *self_ty
                }
                _ => true,
            };
            if fits {
                found.extend(derived(trait_, name, self_ty));
            }
        }
        match found.len() {
            1 => found.pop(),
            _ => None,
        }
    }

    /// Whether every argument's type is known and is the parameter's.
    fn params_fit(&self, index: &ItemIndex, m: ItemId, self_ty: &Ty, args: &[Ty]) -> bool {
        let item = index.item(m);
        let Some(ItemTypes::Fn { params, .. }) = item.types.as_deref() else {
            return false;
        };
        params.len() == args.len()
            && params.iter().zip(args).all(|(p, a)| {
                let p = self.expand(index, &p.subst_self(self_ty), item.module);
                p.is_known() && a.is_known() && same_or_literal(&p, a)
            })
    }

    /// The default body of `name` in the workspace trait `trait_`.
    fn trait_default(
        &self,
        index: &ItemIndex,
        trait_: &str,
        name: &str,
        from: ModuleId,
    ) -> Option<Resolved> {
        let ids = self.traits.get(trait_, index.crate_root(from));
        let [id] = ids.as_slice() else { return None };
        let Some(ItemTypes::Trait { methods, .. }) = index.item(*id).types.as_deref() else {
            return None;
        };
        let m = methods.iter().find(|m| &*m.name == name)?;
        Some(Resolved {
            def: Some(m.default?),
            ret: Ty::Unknown,
        })
    }

    /// Whether the workspace trait `trait_` (of the crate of `from`) has a method `name` with
    /// a default body: its span.
    pub fn default_of(
        &self,
        index: &ItemIndex,
        trait_: &str,
        name: &str,
        from: ModuleId,
    ) -> Option<Span> {
        self.trait_default(index, trait_, name, from)?.def
    }

    fn derives(&self, index: &ItemIndex, ty: &Ty, trait_: &str, from: ModuleId) -> bool {
        let Some(id) = ty.head().and_then(|h| self.adt(index, h, from)) else {
            return false;
        };
        matches!(index.item(id).types.as_deref(),
            Some(ItemTypes::Adt { derives, .. }) if derives.iter().any(|d| &**d == trait_))
    }

    /// Whether the type derives the very trait that the impl method `m` implements: a derive
    /// of std's cannot sit beside an impl of its trait, so it is another crate's, which may
    /// write methods of the same names (serde's `#[serde(remote = "Self")]` makes `serialize`
    /// an inherent fn, which `Type::serialize` then calls).
    fn derive_may_shadow(&self, index: &ItemIndex, m: ItemId, ty: &Ty, from: ModuleId) -> bool {
        match &index.item(m).kind {
            ItemKind::Method {
                trait_: Some(t), ..
            } => self.derives(index, ty, t, from),
            _ => false,
        }
    }

    fn resolved(&self, index: &ItemIndex, m: ItemId, self_ty: &Ty) -> Resolved {
        let item = index.item(m);
        let ret = match item.types.as_deref() {
            Some(ItemTypes::Fn { ret, .. }) => {
                self.expand(index, &ret.subst_self(self_ty), item.module)
            }
            _ => Ty::Unknown,
        };
        Resolved {
            def: Some(item.span),
            ret,
        }
    }

    fn params_match(&self, index: &ItemIndex, m: ItemId, self_ty: &Ty, args: &[Ty]) -> bool {
        let item = index.item(m);
        let Some(ItemTypes::Fn { params, .. }) = item.types.as_deref() else {
            return true;
        };
        params.iter().zip(args).all(|(p, a)| {
            let p = self.expand(index, &p.subst_self(self_ty), item.module);
            !p.is_known() || !a.is_known() || same_or_literal(&p, a)
        })
    }

    /// What `value.into()` (or `Into::into(value)`) runs where the type `expected` is expected:
    /// std's `Into<U>` for every `T` where `U: From<T>`, so `U::from`.
    pub fn into(
        &self,
        index: &ItemIndex,
        value: &Ty,
        expected: &Ty,
        from: ModuleId,
    ) -> Option<Resolved> {
        if !expected.is_known() {
            return None;
        }
        let value = std::slice::from_ref(value);
        self.trait_method(index, "From", "from", expected, Some(value), from)
    }

    /// What `recv.name(args)` runs, where `recv` has type `recv_ty`.
    pub fn method_call(
        &self,
        index: &ItemIndex,
        recv_ty: &Ty,
        name: &str,
        args: &[Ty],
        expected: &Ty,
        from: ModuleId,
    ) -> MethodCall {
        let mut out = MethodCall::default();
        if self.blanket.contains(name) {
            return out;
        }
        // Types reach here already read in the module that wrote them.
        let mut cur = recv_ty.clone();
        let mut forwarded: Vec<Ty>;
        let mut args = args;
        for _ in 0..AUTODEREF_STEPS {
            // std's comparison impls for references forward to the referent's (`impl
            // PartialEq<&B> for &A`): `(&&x).eq(&&y)` runs `x`'s `eq` on `&x` and `&y`.
            if let Ty::Ref(_, inner) = &cur {
                if matches!(**inner, Ty::Ref(..)) && FORWARDED_THROUGH_REFS.contains(&name) {
                    cur = (**inner).clone();
                    forwarded = args
                        .iter()
                        .map(|a| match a {
                            Ty::Ref(_, t) if matches!(**t, Ty::Ref(..)) => (**t).clone(),
                            a => a.clone(),
                        })
                        .collect();
                    args = &forwarded;
                    continue;
                }
            }
            // By value: a `&T` receiver matches `&self` methods of `T`; a `T`, `self` ones.
            let by_value = match &cur {
                Ty::Ref(m, inner) => {
                    match self.probe(index, inner, name, Receiver::Ref(*m), args, expected, from) {
                        Probe::NotFound => {
                            self.probe_ref_impl(index, &cur, name, Receiver::Value, from)
                        }
                        p => p,
                    }
                }
                t => self.probe(index, t, name, Receiver::Value, args, expected, from),
            };
            match by_value {
                Probe::Found(r) => {
                    out.method = Some(r);
                    return out;
                }
                Probe::Unknown => return MethodCall::default(),
                Probe::NotFound => {}
            }
            for m in [Mutability::Shared, Mutability::Mut] {
                let autoref = match &cur {
                    Ty::Ref(..) => self.probe_ref_impl(index, &cur, name, Receiver::Ref(m), from),
                    _ => self.probe(index, &cur, name, Receiver::Ref(m), args, expected, from),
                };
                {
                    match autoref {
                        Probe::Found(r) => {
                            out.method = Some(r);
                            return out;
                        }
                        Probe::Unknown => return MethodCall::default(),
                        Probe::NotFound => {}
                    }
                }
            }
            match self.deref(index, &cur, from) {
                Some((next, call)) => {
                    out.derefs.extend(call);
                    cur = next;
                }
                None => return MethodCall::default(),
            }
        }
        MethodCall::default()
    }

    /// The methods `name` of our trait impls for a reference type (`impl Read for &Fd`),
    /// taking `self` as `receiver`. std implements many traits for references too, but a
    /// name that none of ours has there is looked for further.
    fn probe_ref_impl(
        &self,
        index: &ItemIndex,
        ty: &Ty,
        name: &str,
        receiver: Receiver,
        from: ModuleId,
    ) -> Probe {
        let krate = index.crate_root(from);
        let found: Vec<ItemId> = self
            .methods
            .get("", name)
            .iter()
            .copied()
            .filter(|&m| {
                let item = index.item(m);
                index.crate_root(item.module) == krate
                    && matches!(self.impl_self_ty(m), Ty::Ref(..))
                    && ty_matches(self.impl_self_ty(m), ty)
                    && matches!(item.types.as_deref(), Some(ItemTypes::Fn { receiver: r, .. }) if *r == receiver)
            })
            .collect();
        match found.as_slice() {
            [] => Probe::NotFound,
            [one] => Probe::Found(self.resolved(index, *one, ty)),
            _ => Probe::Unknown,
        }
    }

    /// The methods `name` of `ty` taking `self` as `receiver`, at one step of the lookup.
    #[allow(clippy::too_many_arguments)]
    fn probe(
        &self,
        index: &ItemIndex,
        ty: &Ty,
        name: &str,
        receiver: Receiver,
        args: &[Ty],
        expected: &Ty,
        from: ModuleId,
    ) -> Probe {
        let Some(head) = ty.head().map(type_name) else {
            return Probe::Unknown;
        };
        let local = self.is_local_adt(index, ty, from);
        // Of the types that are not the crate's own, we know what inherent methods the
        // primitives and std's pointers may have; any other type may have one by this name.
        let transparent = ty.is_primitive() || matches!(ty.head(), Some("Box" | "Rc" | "Arc"));
        if !local && (!transparent || maybe_inherent(name) || name.starts_with("to")) {
            return Probe::Unknown;
        }
        let krate = index.crate_root(from);
        let candidates: Vec<ItemId> = self
            .methods
            .get(head, name)
            .iter()
            .copied()
            .filter(|&m| {
                let item = index.item(m);
                index.crate_root(item.module) == krate
                    && ty_matches(self.impl_self_ty(m), ty)
                    && matches!(item.types.as_deref(), Some(ItemTypes::Fn { receiver: r, .. }) if *r == receiver)
            })
            .collect();
        let inherent: Vec<ItemId> = candidates
            .iter()
            .copied()
            .filter(|&m| matches!(&index.item(m).kind, ItemKind::Method { trait_: None, .. }))
            .collect();
        if let [one] = inherent.as_slice() {
            return Probe::Found(self.resolved(index, *one, ty));
        }
        if inherent.len() > 1 {
            return Probe::Unknown;
        }
        let traits: Vec<ItemId> = candidates
            .iter()
            .copied()
            .filter(|&m| self.params_match(index, m, ty, args))
            .collect();
        match traits.as_slice() {
            [one] if self.derive_may_shadow(index, *one, ty, from) => return Probe::Unknown,
            [one] => return Probe::Found(self.resolved(index, *one, ty)),
            [] if !candidates.is_empty() => return Probe::Unknown,
            [] => {}
            _ => return Probe::Unknown,
        }
        // Methods a derive gives the type.
        for (trait_, method, r, _) in DERIVED {
            if *method == name && *r == receiver && self.derives(index, ty, trait_, from) {
                return derived(trait_, name, ty).map_or(Probe::Unknown, Probe::Found);
            }
        }
        if STD_BLANKET.contains(&name) {
            return match (name, receiver) {
                // `ToString` for every `Display` type: runs its `fmt`.
                ("to_string", Receiver::Ref(Mutability::Shared)) => {
                    match self.trait_method(index, "Display", "fmt", ty, None, from) {
                        Some(r) => Probe::Found(Resolved {
                            def: r.def,
                            ret: Ty::named("String"),
                        }),
                        None => Probe::Unknown,
                    }
                }
                ("into", Receiver::Value) => match self.into(index, ty, expected, from) {
                    Some(r) => Probe::Found(r),
                    None => Probe::Unknown,
                },
                _ => Probe::Unknown,
            };
        }
        // A type we see all the methods of has none here: look further. A foreign type with
        // a method of that name from one of our traits, taking `self` another way, has it
        // further too (the name is not one std's types may have, see above).
        let ours_elsewhere = || {
            self.methods
                .get(head, name)
                .iter()
                .any(|&m| index.crate_root(index.item(m).module) == krate)
        };
        if local || ours_elsewhere() {
            Probe::NotFound
        } else {
            Probe::Unknown
        }
    }

    /// What `Type::name(args)` runs, `Type` being `self_ty` (`Self::f`, `Point::new`).
    pub fn assoc_call(
        &self,
        index: &ItemIndex,
        self_ty: &Ty,
        name: &str,
        args: &[Ty],
        from: ModuleId,
    ) -> Option<Resolved> {
        if !self.is_local_adt(index, self_ty, from) {
            return None;
        }
        let head = type_name(self_ty.head()?);
        let krate = index.crate_root(from);
        let candidates: Vec<ItemId> = self
            .methods
            .get(head, name)
            .iter()
            .copied()
            .filter(|&m| {
                index.crate_root(index.item(m).module) == krate
                    && ty_matches(self.impl_self_ty(m), self_ty)
            })
            .collect();
        let inherent: Vec<ItemId> = candidates
            .iter()
            .copied()
            .filter(|&m| matches!(&index.item(m).kind, ItemKind::Method { trait_: None, .. }))
            .collect();
        let pick = |ids: &[ItemId]| match ids {
            [one] if !self.derive_may_shadow(index, *one, self_ty, from) => {
                Some(self.resolved(index, *one, self_ty))
            }
            _ => None,
        };
        if !inherent.is_empty() {
            return pick(&inherent);
        }
        // A trait method called as `Type::f(x, ..)`: `x` is the receiver when it takes one.
        let traits: Vec<ItemId> = candidates
            .iter()
            .copied()
            .filter(|&m| {
                let skip = match index.item(m).types.as_deref() {
                    Some(ItemTypes::Fn {
                        receiver: Receiver::None,
                        ..
                    }) => 0,
                    _ => 1,
                };
                self.params_match(index, m, self_ty, args.get(skip..).unwrap_or(&[]))
            })
            .collect();
        if candidates.is_empty() {
            for (trait_, method, _, _) in DERIVED {
                if *method == name && self.derives(index, self_ty, trait_, from) {
                    return derived(trait_, name, self_ty);
                }
            }
        }
        pick(&traits)
    }
}

/// Whether an argument of type `a` fits a parameter of type `p`: the same type, or an `i32`
/// or `f64` that may be an unsuffixed literal, which takes the parameter's type.
fn same_or_literal(p: &Ty, a: &Ty) -> bool {
    const INTS: &[&str] = &[
        "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64", "u128", "usize",
    ];
    p == a
        || match (p.head(), a.head()) {
            (Some(p), Some("i32")) => INTS.contains(&p),
            (Some("f32"), Some("f64")) => true,
            _ => false,
        }
}

/// Whether a type name is a path from the crate's root or the current module (`crate::a::T`,
/// `self::T`, `super::T`), which [`Semantics::expand`] resolves where it was written.
fn is_local_path(name: &str) -> bool {
    ["crate::", "self::", "super::"]
        .iter()
        .any(|p| name.starts_with(p))
}

/// What `name` (an item's name: one identifier, maybe raw) leads to, written in module
/// `from`. An identifier is spelled as [`ItemIndex::resolve_path`] spells one, without
/// building a path; anything else (never an item's name) is read as a path, the way it was
/// read before.
fn resolve_name(index: &ItemIndex, from: ModuleId, name: &str) -> Option<Resolution> {
    let plain = |s: &str| {
        s.bytes()
            .next()
            .is_some_and(|c| c == b'_' || c.is_ascii_alphabetic())
            && s.bytes().all(|c| c == b'_' || c.is_ascii_alphanumeric())
    };
    let identifier = match name.strip_prefix("r#") {
        Some(raw) => plain(raw) && !matches!(raw, "crate" | "self" | "super" | "Self" | "_"),
        None => plain(name) && name != "_",
    };
    if identifier {
        return Some(index.resolve_spelled(from, name));
    }
    let path = syn::parse_str::<syn::Path>(name).ok()?;
    Some(index.resolve_path(from, &[], &path))
}

/// Items by two names (self type and method, trait and self type), looked up without
/// allocating a key.
#[derive(Default)]
struct Pairs(HashMap<Box<str>, ByName, Names>);

/// Items by their second name (a method's, under its self type's or trait's).
type ByName = HashMap<Box<str>, Vec<ItemId>, Names>;

impl Pairs {
    fn insert(&mut self, a: &str, b: &str, id: ItemId) {
        self.0
            .entry(a.into())
            .or_default()
            .entry(b.into())
            .or_default()
            .push(id);
    }

    fn get(&self, a: &str, b: &str) -> &[ItemId] {
        self.0
            .get(a)
            .and_then(|m| m.get(b))
            .map_or(&[], Vec::as_slice)
    }
}

/// Items by name, each with the crate (root module) it belongs to.
#[derive(Default)]
struct PerCrate(HashMap<Box<str>, Vec<(ModuleId, ItemId)>, Names>);

impl PerCrate {
    fn insert(&mut self, name: Box<str>, krate: ModuleId, id: ItemId) {
        self.0.entry(name).or_default().push((krate, id));
    }

    /// The items named `name` in the crate `krate`.
    fn get(&self, name: &str, krate: ModuleId) -> Vec<ItemId> {
        match self.0.get(name) {
            None => Vec::new(),
            Some(v) => v
                .iter()
                .filter(|(k, _)| *k == krate)
                .map(|(_, id)| *id)
                .collect(),
        }
    }

    fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// The one item named `name` in the crate `krate`, if there is exactly one.
    fn one(&self, name: &str, krate: ModuleId) -> Option<ItemId> {
        let mut found = self.0.get(name)?.iter().filter(|(k, _)| *k == krate);
        let (_, id) = found.next()?;
        found.next().is_none().then_some(*id)
    }
}

enum Probe {
    Found(Resolved),
    /// No method of that name here, and we see all there is: look at the next step.
    NotFound,
    /// Something we cannot see may answer: stop.
    Unknown,
}

fn derived(trait_: &str, name: &str, self_ty: &Ty) -> Option<Resolved> {
    let (_, _, _, ret) = DERIVED
        .iter()
        .find(|(t, m, _, _)| *t == trait_ && *m == name)?;
    Some(Resolved {
        def: None,
        ret: match ret {
            Some(DerivedRet::SelfTy) => self_ty.clone(),
            Some(DerivedRet::Bool) => Ty::named("bool"),
            None => Ty::Unknown,
        },
    })
}

fn impl_head(types: Option<&ItemTypes>) -> Option<&ImplHead> {
    match types? {
        ItemTypes::Fn { impl_, .. } => impl_.as_deref(),
        _ => None,
    }
}

/// Whether two methods come from one `impl` block (same file, same head).
fn same_impl(index: &ItemIndex, a: ItemId, b: ItemId) -> bool {
    let (ia, ib) = (index.item(a), index.item(b));
    if ia.module != ib.module {
        return false;
    }
    match (
        impl_head(ia.types.as_deref()),
        impl_head(ib.types.as_deref()),
        &ia.kind,
        &ib.kind,
    ) {
        (
            Some(ha),
            Some(hb),
            ItemKind::Method { trait_: ta, .. },
            ItemKind::Method { trait_: tb, .. },
        ) => ta == tb && ha.self_ty == hb.self_ty && ha.trait_args == hb.trait_args,
        _ => false,
    }
}

/// Whether an impl's self type (where [`Ty::Unknown`] stands for a generic parameter) covers
/// `ty`. Unknown parts of `ty` match anything: the caller checks that one impl is left.
/// How a call can make an `Rc`/`Arc` handle with the workspace's own code: an alias of one
/// (`type Shared = Rc<RefCell<State>>; Shared::new(..)`), or a fn that returns one (`fn new()
/// -> Rc<Self>`, `-> Shared`), through aliases. By name only, to filter calls cheaply: a call
/// whose path names none of them cannot make one, and the one that does is resolved.
#[derive(Debug, Default)]
pub struct HandleMakers {
    /// The aliases.
    pub aliases: NameSet,
    /// The names of the fns and associated fns (`new` for `Window::new`).
    pub fns: NameSet,
    /// The free fns among them.
    pub free: NameSet,
    /// The associated fns among them, as `Type::f` with the self type's last segment.
    pub assoc: NameSet,
}

impl HandleMakers {
    pub fn is_empty(&self) -> bool {
        self.aliases.is_empty() && self.fns.is_empty()
    }

    /// Whether a call of path `.., ty, f` may make a handle: `f` is one of the free fns (of
    /// module `ty`, say) or `ty::f` one of the associated fns, or `ty` one of the aliases
    /// (`Shared::new`).
    pub fn may_make(&self, ty: Option<&str>, f: &str) -> bool {
        match ty {
            Some(ty) if self.aliases.contains(ty) => true,
            // `module::f()` for a free fn, or `Type::f()`.
            Some(ty) => {
                self.free.contains(f)
                    || (self.fns.contains(f) && self.assoc.contains(&format!("{ty}::{f}")))
            }
            None => self.free.contains(f),
        }
    }
}

/// `Rc` or `Arc` when `ty` (aliases expanded) is one, however its path is written.
pub fn rc_or_arc(ty: &Ty) -> Option<&'static str> {
    match ty.last_segment()? {
        "Rc" => Some("Rc"),
        "Arc" => Some("Arc"),
        _ => None,
    }
}

pub fn ty_matches(impl_ty: &Ty, ty: &Ty) -> bool {
    match (impl_ty, ty) {
        (Ty::Unknown, _) | (_, Ty::Unknown) => true,
        (Ty::Named(a, xs), Ty::Named(b, ys)) => {
            a == b
                && (xs.is_empty()
                    || ys.is_empty()
                    || xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| ty_matches(x, y)))
        }
        (Ty::Ref(m, x), Ty::Ref(n, y)) => m == n && ty_matches(x, y),
        (Ty::Dyn(a), Ty::Dyn(b)) => a == b,
        (Ty::Tuple(xs), Ty::Tuple(ys)) => {
            xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| ty_matches(x, y))
        }
        (Ty::Slice(x), Ty::Slice(y)) | (Ty::Array(x), Ty::Array(y)) => ty_matches(x, y),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::{summarize, IndexBuilder};
    use crate::span::FileId;

    fn workspace(src: &str) -> (ItemIndex, Semantics) {
        let syntax: syn::File = syn::parse_str(src).unwrap();
        let mut summary = summarize(FileId(0), &syntax);
        let mut b = IndexBuilder::default();
        b.add_file(FileId(0), None, None, &mut summary);
        let index = b.finish();
        let semantics = Semantics::new(&index);
        (index, semantics)
    }

    fn module(index: &ItemIndex, path: &[&str]) -> ModuleId {
        let at = index.modules.iter().position(|m| m.path == path).unwrap();
        ModuleId(at as u32)
    }

    /// Several aliases of one name in a crate (a `Result<T>` per module), and an alias that
    /// hides a type of the crate: each is read in the module that names it.
    #[test]
    fn aliases_of_one_name_are_read_where_they_are_written() {
        let (ix, sem) = workspace(
            "pub struct Shared;
             mod a { pub type Result<T> = std::result::Result<T, u8>;
                     pub type Shared = std::rc::Rc<u8>; }
             mod b { pub type Result<T> = std::result::Result<T, u16>; }",
        );
        let (root, a, b) = (module(&ix, &[]), module(&ix, &["a"]), module(&ix, &["b"]));
        let result = Ty::Named("Result".into(), vec![Ty::named("u32")]);
        let err = |from| match sem.expand(&ix, &result, from) {
            Ty::Named(_, args) => args.get(1).cloned(),
            _ => None,
        };
        assert_eq!(err(a), Some(Ty::named("u8")));
        assert_eq!(err(b), Some(Ty::named("u16")));
        // Where no alias of that name is in scope, none is guessed.
        assert_eq!(sem.expand(&ix, &result, root), Ty::Unknown);
        let shared = Ty::named("Shared");
        assert_eq!(rc_or_arc(&sem.expand(&ix, &shared, a)), Some("Rc"));
        assert_eq!(rc_or_arc(&sem.expand(&ix, &shared, root)), None);
        assert!(sem.handle_makers(&ix).aliases.contains("Shared"));
    }

    /// `handle_makers` names the fns that return an `Rc`/`Arc`, through aliases and `Self`,
    /// and no other.
    #[test]
    fn handle_makers_are_the_fns_that_return_shared_handles() {
        let (ix, sem) = workspace(
            "use std::rc::Rc; use std::sync::Arc; use std::cell::RefCell;
             type Handle = Arc<Node>;
             pub struct Node;
             impl Node {
                 pub fn new() -> Rc<RefCell<Self>> { todo!() }
                 pub fn shared() -> Handle { todo!() }
                 pub fn plain() -> Node { Node }
                 pub fn maybe() -> Option<Rc<Node>> { None }
             }
             fn make() -> Rc<Node> { todo!() }",
        );
        let makers = sem.handle_makers(&ix);
        let sorted = |set: &NameSet| {
            let mut v: Vec<String> = set.iter().cloned().collect();
            v.sort_unstable();
            v
        };
        assert_eq!(sorted(&makers.aliases), ["Handle"]);
        assert_eq!(sorted(&makers.assoc), ["Node::new", "Node::shared"]);
        assert_eq!(sorted(&makers.free), ["make"]);
        assert!(makers.may_make(Some("Node"), "new"));
        assert!(makers.may_make(Some("Handle"), "new"));
        assert!(makers.may_make(None, "make"));
        assert!(!makers.may_make(Some("Node"), "plain"));
        assert!(!makers.may_make(Some("Other"), "new"));
        assert!(!makers.may_make(None, "new"));
    }
}
