//! Types as the source writes them: an owned sketch that the index stores for signatures,
//! fields and aliases, and that the semantic layer reasons with.
//!
//! A [`Ty`] names types by their last path segment (`std::rc::Rc<T>` is `Rc<T>`), as the rest
//! of the analyzer does; which item a name stands for is decided later, against the crate the
//! type is read in. Lifetimes, bounds of trait objects and const arguments are dropped: none
//! of them decides which fn a call goes to. Anything the sketch cannot hold is
//! [`Ty::Unknown`], and every judgement that meets it stays silent.

/// A type, or what is known of it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Ty {
    /// A named type with its type arguments: a struct, enum, alias, a std type (`Vec`,
    /// `String`, `i32`), or a generic parameter (told apart where the generics are known).
    /// The name is the last segment of the path, or the whole path when it goes through
    /// another crate or module (`std::time::Instant`).
    Named(Box<str>, Vec<Ty>),
    Ref(Mutability, Box<Ty>),
    /// `dyn Trait` (and `impl Trait`): the traits, by last segment.
    Dyn(Vec<Box<str>>),
    Tuple(Vec<Ty>),
    Slice(Box<Ty>),
    Array(Box<Ty>),
    /// `Self`, inside an impl or a trait.
    SelfTy,
    /// `!`
    Never,
    Unknown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mutability {
    Shared,
    Mut,
}

/// How a method takes `self`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Receiver {
    /// An associated fn, with no `self`.
    None,
    Value,
    Ref(Mutability),
    /// `self: Box<Self>`, `self: Rc<Self>`, `self: Pin<&mut Self>`...
    Other,
}

/// Joins a type's name and the item that tells it apart from the crate's other types of
/// that name (`Trace#12`, see `Semantics::expand`); no identifier or path has it.
const DISAMBIGUATOR: char = '#';

/// The name `name` told apart by the number of the item it names: `Trace#12`.
pub fn disambiguated(name: &str, item: u32) -> Box<str> {
    format!("{name}{DISAMBIGUATOR}{item}").into()
}

/// A type's name and, for a [`disambiguated`] one, the number of the item it names.
pub fn split_disambiguated(name: &str) -> (&str, Option<u32>) {
    match name.split_once(DISAMBIGUATOR) {
        Some((plain, id)) => (plain, id.parse().ok()),
        None => (name, None),
    }
}

/// A type's name as written, without what [`disambiguated`] adds: for messages, and for
/// tables keyed by the written name.
pub fn type_name(name: &str) -> &str {
    split_disambiguated(name).0
}

/// Integer and float types, which an unsuffixed literal may become.
const PRIMITIVES: &[&str] = &[
    "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64", "u128", "usize", "f32",
    "f64", "bool", "char", "str",
];

impl Ty {
    pub fn named(name: &str) -> Ty {
        Ty::Named(name.into(), Vec::new())
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self, Ty::Unknown)
    }

    /// The type behind any number of references.
    pub fn strip_refs(&self) -> &Ty {
        let mut t = self;
        while let Ty::Ref(_, inner) = t {
            t = inner;
        }
        t
    }

    /// The name of a named type.
    pub fn head(&self) -> Option<&str> {
        match self {
            Ty::Named(n, _) => Some(n),
            _ => None,
        }
    }

    /// The last segment of a named type's name (`Mutex` for `std::sync::Mutex`), to match
    /// std's well-known types however the path is written, and a crate's own types of the
    /// same names (a `Mutex` wrapper) as the lints always have. Without the disambiguator
    /// (see [`disambiguated`]).
    pub fn last_segment(&self) -> Option<&str> {
        self.head()
            .map(type_name)
            .map(|h| h.rsplit("::").next().unwrap_or(h))
    }

    pub fn is_primitive(&self) -> bool {
        self.head().is_some_and(|h| PRIMITIVES.contains(&h))
    }

    /// Whether anything of the type is unknown or still generic.
    pub fn is_known(&self) -> bool {
        match self {
            Ty::Named(_, args) | Ty::Tuple(args) => args.iter().all(Ty::is_known),
            Ty::Ref(_, t) | Ty::Slice(t) | Ty::Array(t) => t.is_known(),
            Ty::Dyn(_) | Ty::Never => true,
            Ty::SelfTy | Ty::Unknown => false,
        }
    }

    /// Whether `Self` appears in the type.
    pub fn mentions_self(&self) -> bool {
        match self {
            Ty::SelfTy => true,
            Ty::Named(_, ts) | Ty::Tuple(ts) => ts.iter().any(Ty::mentions_self),
            Ty::Ref(_, t) | Ty::Slice(t) | Ty::Array(t) => t.mentions_self(),
            _ => false,
        }
    }

    /// `Self` replaced by `self_ty`.
    pub fn subst_self(&self, self_ty: &Ty) -> Ty {
        if !self.mentions_self() {
            return self.clone();
        }
        self.map_named(&mut |t| match t {
            Ty::SelfTy => Some(self_ty.clone()),
            _ => None,
        })
    }

    /// Rebuilds the type bottom-up, replacing each node for which `f` answers.
    pub fn map_named(&self, f: &mut impl FnMut(&Ty) -> Option<Ty>) -> Ty {
        if let Some(t) = f(self) {
            return t;
        }
        match self {
            Ty::Named(n, args) => {
                Ty::Named(n.clone(), args.iter().map(|a| a.map_named(f)).collect())
            }
            Ty::Ref(m, t) => Ty::Ref(*m, Box::new(t.map_named(f))),
            Ty::Tuple(ts) => Ty::Tuple(ts.iter().map(|a| a.map_named(f)).collect()),
            Ty::Slice(t) => Ty::Slice(Box::new(t.map_named(f))),
            Ty::Array(t) => Ty::Array(Box::new(t.map_named(f))),
            other => other.clone(),
        }
    }

    /// Reads a written type. `generics` are the type parameters in scope, which become
    /// [`Ty::Unknown`] (a generic call may go anywhere).
    pub fn from_syn(ty: &syn::Type, generics: &[String]) -> Ty {
        Self::lower(ty, generics, 0)
    }

    fn lower(ty: &syn::Type, generics: &[String], depth: usize) -> Ty {
        // Written types are shallow; a pathological one is simply unknown.
        if depth > 32 {
            return Ty::Unknown;
        }
        let down = |t: &syn::Type| Self::lower(t, generics, depth + 1);
        match ty {
            syn::Type::Path(p) if p.qself.is_none() => {
                if p.path.is_ident("Self") {
                    return Ty::SelfTy;
                }
                let Some(last) = p.path.segments.last() else {
                    return Ty::Unknown;
                };
                // `std::time::Instant` is not the crate's own `Instant`: a path through
                // another crate or module keeps its prefix, so that the two are never taken
                // for one type. So does a `crate::`, `self::` or `super::` path, which
                // `Semantics::expand` resolves where it is written: the crate may have two
                // types of its last segment's name.
                let name = if p.path.segments.len() == 1 {
                    last.ident.to_string()
                } else {
                    let segs: Vec<String> = p
                        .path
                        .segments
                        .iter()
                        .map(|s| s.ident.to_string())
                        .collect();
                    segs.join("::")
                };
                if p.path.segments.len() == 1 && generics.contains(&name) {
                    return Ty::Unknown;
                }
                // `Self::Target` and other associated types.
                if p.path.segments.len() > 1 && p.path.segments[0].ident == "Self" {
                    return Ty::Unknown;
                }
                let args = match &last.arguments {
                    syn::PathArguments::AngleBracketed(a) => a
                        .args
                        .iter()
                        .filter_map(|a| match a {
                            syn::GenericArgument::Type(t) => Some(down(t)),
                            _ => None,
                        })
                        .collect(),
                    syn::PathArguments::Parenthesized(_) => return Ty::Unknown,
                    syn::PathArguments::None => Vec::new(),
                };
                Ty::Named(name.into(), args)
            }
            syn::Type::Reference(r) => {
                let m = if r.mutability.is_some() {
                    Mutability::Mut
                } else {
                    Mutability::Shared
                };
                Ty::Ref(m, Box::new(down(&r.elem)))
            }
            syn::Type::TraitObject(t) => Ty::Dyn(trait_names(&t.bounds)),
            syn::Type::ImplTrait(t) => Ty::Dyn(trait_names(&t.bounds)),
            syn::Type::Tuple(t) => Ty::Tuple(t.elems.iter().map(down).collect()),
            syn::Type::Slice(s) => Ty::Slice(Box::new(down(&s.elem))),
            syn::Type::Array(a) => Ty::Array(Box::new(down(&a.elem))),
            syn::Type::Paren(p) => down(&p.elem),
            syn::Type::Group(g) => down(&g.elem),
            syn::Type::Never(_) => Ty::Never,
            _ => Ty::Unknown,
        }
    }

    /// The type of a literal, with Rust's fallback for unsuffixed numbers (`0` is an `i32`).
    pub fn of_lit(lit: &syn::Lit) -> Ty {
        match lit {
            syn::Lit::Int(i) => match i.suffix() {
                "" => Ty::named("i32"),
                s => Ty::named(s),
            },
            syn::Lit::Float(f) => match f.suffix() {
                "" => Ty::named("f64"),
                s => Ty::named(s),
            },
            syn::Lit::Bool(_) => Ty::named("bool"),
            syn::Lit::Char(_) => Ty::named("char"),
            syn::Lit::Str(_) => Ty::Ref(Mutability::Shared, Box::new(Ty::named("str"))),
            _ => Ty::Unknown,
        }
    }
}

fn trait_names(
    bounds: &syn::punctuated::Punctuated<syn::TypeParamBound, syn::Token![+]>,
) -> Vec<Box<str>> {
    bounds
        .iter()
        .filter_map(|b| match b {
            syn::TypeParamBound::Trait(t) => {
                t.path.segments.last().map(|s| s.ident.to_string().into())
            }
            _ => None,
        })
        .collect()
}

/// The names of a generics list's type parameters.
pub fn type_params(generics: &syn::Generics) -> Vec<String> {
    generics
        .type_params()
        .map(|p| p.ident.to_string())
        .collect()
}

/// How a signature takes `self`.
pub fn receiver_of(sig: &syn::Signature) -> Receiver {
    let Some(r) = sig.receiver() else {
        return Receiver::None;
    };
    let shared_or_mut = |m: bool| {
        Receiver::Ref(if m {
            Mutability::Mut
        } else {
            Mutability::Shared
        })
    };
    match &r.kind {
        syn::ReceiverKind::Value => Receiver::Value,
        syn::ReceiverKind::Reference(_, _, m) => shared_or_mut(m.is_some()),
        syn::ReceiverKind::Typed(_, ty) => match &**ty {
            syn::Type::Reference(rf) if matches!(&*rf.elem, syn::Type::Path(p) if p.path.is_ident("Self")) => {
                shared_or_mut(rf.mutability.is_some())
            }
            syn::Type::Path(p) if p.path.is_ident("Self") => Receiver::Value,
            _ => Receiver::Other,
        },
        _ => Receiver::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(src: &str) -> Ty {
        Ty::from_syn(&syn::parse_str(src).unwrap(), &["T".to_string()])
    }

    #[test]
    fn written_types() {
        assert_eq!(
            ty("std::rc::Rc<Node>"),
            Ty::Named("std::rc::Rc".into(), vec![Ty::named("Node")])
        );
        // Resolved where it is written (`Semantics::expand`): the crate may have two `Node`s.
        assert_eq!(ty("crate::model::Node"), Ty::named("crate::model::Node"));
        assert_eq!(ty("Node"), Ty::named("Node"));
        assert_eq!(
            ty("&'a mut Self"),
            Ty::Ref(Mutability::Mut, Box::new(Ty::SelfTy))
        );
        assert_eq!(
            ty("Box<dyn Foo + 'static>"),
            Ty::Named("Box".into(), vec![Ty::Dyn(vec!["Foo".into()])])
        );
        assert_eq!(ty("Vec<T>"), Ty::Named("Vec".into(), vec![Ty::Unknown]));
        assert!(!ty("Vec<T>").is_known());
        assert_eq!(ty("Self::Target"), Ty::Unknown);
    }

    #[test]
    fn receivers() {
        let sig = |s: &str| receiver_of(&syn::parse_str::<syn::ImplItemFn>(s).unwrap().sig);
        assert_eq!(sig("fn f(&self) {}"), Receiver::Ref(Mutability::Shared));
        assert_eq!(sig("fn f(&mut self) {}"), Receiver::Ref(Mutability::Mut));
        assert_eq!(sig("fn f(self) {}"), Receiver::Value);
        assert_eq!(sig("fn f(self: Box<Self>) {}"), Receiver::Other);
        assert_eq!(sig("fn f(x: u8) {}"), Receiver::None);
    }
}
