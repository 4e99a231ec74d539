//! One-time initializers: code that runs once per program (or once per thread), so that what
//! it keeps is in effect a global rather than a leak that repeats.
//!
//! `leaked_allocation` does not report a leak in one (a `&'static` built once is a global), and
//! `unjoined_task` does not report a thread or task spawned in one (a worker for the life of
//! the process). Both read the same notion from here:
//!
//! - the closure of `get_or_init`, `get_or_try_init` (`OnceLock`, `OnceCell`),
//!   `call_once`, `call_once_force` (`Once`) and `get_or_insert_with`;
//! - the closure of `LazyLock::new`, `LazyCell::new` and once_cell's `Lazy::new`;
//! - the initializers of `lazy_static!` and `thread_local!` (a `static` item's initializer is
//!   one too, but only a lazy type's closure can do more there than build a constant).
//!
//! Only the syntax is read: a method of another type with one of these names counts too, which
//! errs on the side of silence, as a lint must when it cannot see the types.

/// Methods whose closure argument runs at most once for the value they are called on.
pub const ONCE_METHODS: &[&str] = &[
    "get_or_init",
    "get_or_try_init",
    "call_once",
    "call_once_force",
    "get_or_insert_with",
];

/// Types whose `new(|| ..)` takes an initializer that runs on first use, once.
pub const LAZY_TYPES: &[&str] = &["LazyLock", "Lazy", "LazyCell"];

/// Macros whose initializers run once per program (`lazy_static!`) or thread (`thread_local!`).
pub const ONCE_MACROS: &[&str] = &["lazy_static", "thread_local"];

/// Whether the closures passed to `m` run once: `CELL.get_or_init(|| ..)`.
pub fn is_once_method(m: &syn::ExprMethodCall) -> bool {
    ONCE_METHODS.iter().any(|n| m.method == n)
}

/// Whether the closure passed to `call` runs once: `LazyLock::new(|| ..)`.
pub fn is_lazy_new(call: &syn::ExprCall) -> bool {
    let syn::Expr::Path(p) = &*call.func else {
        return false;
    };
    let mut segs = p.path.segments.iter().rev();
    segs.next().is_some_and(|s| s.ident == "new")
        && segs
            .next()
            .is_some_and(|s| LAZY_TYPES.iter().any(|t| s.ident == t))
}

/// Whether `mac` is `lazy_static!` or `thread_local!`.
pub fn is_once_macro(mac: &syn::Macro) -> bool {
    mac.path
        .segments
        .last()
        .is_some_and(|s| ONCE_MACROS.iter().any(|m| s.ident == m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognizes_the_one_time_forms() {
        let call: syn::ExprCall = syn::parse_quote!(std::sync::LazyLock::new(|| 1));
        assert!(is_lazy_new(&call));
        let call: syn::ExprCall = syn::parse_quote!(Vec::new());
        assert!(!is_lazy_new(&call));
        let m: syn::ExprMethodCall = syn::parse_quote!(CELL.get_or_init(|| 1));
        assert!(is_once_method(&m));
        let m: syn::ExprMethodCall = syn::parse_quote!(v.get_or_insert(1));
        assert!(!is_once_method(&m));
        let mac: syn::Macro = syn::parse_quote!(std::thread_local! {});
        assert!(is_once_macro(&mac));
    }
}
