//! Sizes of types as far as the source tells them, always as lower bounds.
//!
//! [`TypeShape`] is an owned sketch of a type (syn trees stay on their parsing thread). A
//! size computed from it is a *lower bound*: padding is ignored, pointers count 8 bytes, and
//! any part we cannot see makes the size unknown rather than guessed. Lints that compare a size
//! against a threshold can therefore only err on the side of silence.

use crate::consteval::ConstExpr;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TypeShape {
    /// A type of known size: primitives, references, pointers, `Box`, `Vec`, `String`...
    Bytes(u64),
    Array(Box<TypeShape>, ConstExpr),
    Tuple(Vec<TypeShape>),
    /// A wrapper that stores its first type argument inline (`Mutex<T>`, `LazyLock<T>`, ...).
    Inline(Box<TypeShape>),
    /// A type named by path; the index resolves it to a struct of the crate, if it is one.
    Named(Vec<String>),
    Unknown,
}

/// Wrappers whose value holds their (first) type argument inline.
const INLINE_WRAPPERS: &[&str] = &[
    "Mutex",
    "RwLock",
    "UnsafeCell",
    "SyncUnsafeCell",
    "Cell",
    "RefCell",
    "Option",
    "MaybeUninit",
    "ManuallyDrop",
    "LazyLock",
    "OnceLock",
    "LazyCell",
    "Lazy",
    "OnceCell",
    "Wrapping",
    "Reverse",
    "CachePadded",
    "ReentrantMutex",
];

/// Owning pointers and collections: their inline part is at least one pointer.
const POINTERS: &[&str] = &[
    "Box", "Vec", "String", "Rc", "Arc", "VecDeque", "HashMap", "HashSet", "BTreeMap", "BTreeSet",
    "NonNull",
];

pub fn primitive_size(name: &str) -> Option<u64> {
    Some(match name {
        "u8" | "i8" | "bool" => 1,
        "u16" | "i16" => 2,
        "u32" | "i32" | "f32" | "char" => 4,
        "u64" | "i64" | "f64" | "usize" | "isize" => 8,
        "u128" | "i128" => 16,
        _ => return None,
    })
}

impl TypeShape {
    pub fn from_syn(ty: &syn::Type) -> TypeShape {
        use syn::Type;
        match ty {
            Type::Array(a) => TypeShape::Array(
                Box::new(TypeShape::from_syn(&a.elem)),
                ConstExpr::from_syn(&a.len),
            ),
            Type::Tuple(t) => TypeShape::Tuple(t.elems.iter().map(TypeShape::from_syn).collect()),
            Type::Paren(p) => TypeShape::from_syn(&p.elem),
            Type::Group(g) => TypeShape::from_syn(&g.elem),
            Type::Reference(_) | Type::Ptr(_) | Type::FnPtr(_) => TypeShape::Bytes(8),
            Type::Path(p) if p.qself.is_none() => {
                let Some(last) = p.path.segments.last() else {
                    return TypeShape::Unknown;
                };
                let name = last.ident.to_string();
                if p.path.segments.len() == 1 {
                    if let Some(size) = primitive_size(&name) {
                        return TypeShape::Bytes(size);
                    }
                }
                if let Some(arg) = first_type_arg(last) {
                    if INLINE_WRAPPERS.contains(&name.as_str()) {
                        return TypeShape::Inline(Box::new(TypeShape::from_syn(arg)));
                    }
                }
                if POINTERS.contains(&name.as_str()) {
                    return TypeShape::Bytes(8);
                }
                if matches!(last.arguments, syn::PathArguments::None) {
                    TypeShape::Named(crate::syntax::segment_names(&p.path))
                } else {
                    TypeShape::Unknown
                }
            }
            _ => TypeShape::Unknown,
        }
    }

    /// The element type of a `Vec<T>`, `Box<[T]>`, `VecDeque<T>`, looking through inline
    /// wrappers (`LazyLock<Mutex<Vec<T>>>`): what a `vec![x; n]` stored in it is made of.
    pub fn vec_element(ty: &syn::Type) -> Option<&syn::Type> {
        let syn::Type::Path(p) = ty else { return None };
        let last = p.path.segments.last()?;
        let arg = first_type_arg(last)?;
        let name = last.ident.to_string();
        if name == "Vec" || name == "VecDeque" {
            return Some(arg);
        }
        if name == "Box" {
            if let syn::Type::Slice(s) = arg {
                return Some(&s.elem);
            }
        }
        if INLINE_WRAPPERS.contains(&name.as_str()) {
            return TypeShape::vec_element(arg);
        }
        None
    }
}

fn first_type_arg(seg: &syn::PathSegment) -> Option<&syn::Type> {
    let syn::PathArguments::AngleBracketed(args) = &seg.arguments else {
        return None;
    };
    args.args.iter().find_map(|a| match a {
        syn::GenericArgument::Type(t) => Some(t),
        _ => None,
    })
}

/// A lower bound on the size of a value of `shape`; `named` gives the size of a named type
/// (a struct of the crate), `len` the value of an array length.
pub fn size_lower_bound(
    shape: &TypeShape,
    named: &mut dyn FnMut(&[String]) -> Option<u64>,
    len: &mut dyn FnMut(&ConstExpr) -> Option<u128>,
) -> Option<u64> {
    match shape {
        TypeShape::Bytes(n) => Some(*n),
        TypeShape::Array(elem, n) => {
            let n = u64::try_from(len(n)?).ok()?;
            size_lower_bound(elem, named, len)?.checked_mul(n)
        }
        TypeShape::Tuple(elems) => elems.iter().try_fold(0u64, |acc, e| {
            acc.checked_add(size_lower_bound(e, named, len)?)
        }),
        TypeShape::Inline(inner) => size_lower_bound(inner, named, len),
        TypeShape::Named(path) => named(path),
        TypeShape::Unknown => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(ty: &str) -> Option<u64> {
        let ty: syn::Type = syn::parse_str(ty).unwrap();
        let shape = TypeShape::from_syn(&ty);
        size_lower_bound(&shape, &mut |p| (p == ["Page"]).then_some(4096), &mut |e| {
            e.eval(&mut |_| None)
        })
    }

    #[test]
    fn sizes_of_spelled_out_types() {
        assert_eq!(size("[u8; 1 << 20]"), Some(1 << 20));
        assert_eq!(size("[[u64; 1024]; 1024]"), Some(8 << 20));
        assert_eq!(size("Mutex<[u32; 256]>"), Some(1024));
        assert_eq!(size("std::sync::LazyLock<(u8, [u16; 4])>"), Some(9));
        assert_eq!(size("[Page; 16]"), Some(16 * 4096));
        assert_eq!(size("Vec<[u8; 4096]>"), Some(8));
        assert_eq!(size("[T; 16]"), None);
        assert_eq!(size("[u8; N]"), None);
    }

    #[test]
    fn vec_elements_through_wrappers() {
        let ty: syn::Type = syn::parse_str("LazyLock<Mutex<Vec<u64>>>").unwrap();
        let elem = TypeShape::vec_element(&ty).unwrap();
        assert_eq!(TypeShape::from_syn(elem), TypeShape::Bytes(8));
    }
}

/// `64 MiB`, `1.5 GiB`, `900 KiB`, `12 bytes`: binary units, as rustc's size lints use.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [(&str, u64); 6] = [
        ("EiB", 1 << 60),
        ("PiB", 1 << 50),
        ("TiB", 1 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ];
    for (unit, size) in UNITS {
        if bytes >= size {
            // Rounded down, so that "at least" stays true.
            let tenths = bytes as u128 * 10 / size as u128;
            return if tenths.is_multiple_of(10) {
                format!("{} {unit}", tenths / 10)
            } else {
                format!("{}.{} {unit}", tenths / 10, tenths % 10)
            };
        }
    }
    format!("{bytes} bytes")
}

#[test]
fn human_sizes() {
    assert_eq!(human_size(64 << 20), "64 MiB");
    assert_eq!(human_size((1 << 30) + (1 << 29)), "1.5 GiB");
    assert_eq!(human_size(1000), "1000 bytes");
    assert_eq!(human_size((100 << 20) + 8), "100 MiB");
    assert_eq!(human_size((2 << 20) - 1), "1.9 MiB");
    // `[0u8; usize::MAX]`
    assert_eq!(human_size(u64::MAX), "15.9 EiB");
    assert_eq!(human_size(3 << 40), "3 TiB");
}
