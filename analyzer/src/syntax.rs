//! Small readings of syn trees that every analysis shares.
//!
//! It sits just above parsing and below everything that reads paths (constant evaluation,
//! layout, the item index, the lints), so that none of those needs another to read a path.

/// The names of a path's segments (`std::thread::spawn` -> `["std", "thread", "spawn"]`),
/// generic arguments left out: the form every analysis matches paths in.
pub fn segment_names(path: &syn::Path) -> Vec<String> {
    path.segments.iter().map(|s| s.ident.to_string()).collect()
}

/// `name` or `(name)`: the local (or parameter) a bare path names.
pub fn local_name(e: &syn::Expr) -> Option<&syn::Ident> {
    match e {
        syn::Expr::Path(p) if p.qself.is_none() => p.path.get_ident(),
        syn::Expr::Paren(p) => local_name(&p.expr),
        _ => None,
    }
}

/// The last name of a type: `Worker` for `Worker`, `pool::Worker<T>` or `&Worker`.
pub fn type_last_name(ty: &syn::Type) -> Option<String> {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        syn::Type::Reference(r) => type_last_name(&r.elem),
        syn::Type::Paren(p) => type_last_name(&p.elem),
        _ => None,
    }
}

/// Methods by which std's collections take in more elements (`v.push(x)`,
/// `map.insert(k, v)`, `map.entry(k)`): what the growth lints watch for, and where the escape
/// analysis sends a method's arguments into its receiver.
pub const ADDS_ELEMENTS: &[&str] = &[
    "push",
    "push_back",
    "push_front",
    "push_str",
    "insert",
    "extend",
    "extend_from_slice",
    "append",
    "entry",
];
