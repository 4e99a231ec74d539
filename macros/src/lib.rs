//! gomem's attributes and derives. Each macro's code lives in its own module; this file only
//! declares the entry points.

mod trace;

/// Implements `gomem::Trace` for a struct or enum by tracing every field, so that the type
/// can live in a `gomem::Gc`. `#[gomem(skip)]` on a field leaves it out (for fields that hold
/// no `Gc`, or whose type does not implement `Trace`; always safe). The type may not also
/// implement `Drop` (see the runtime's docs on destructors).
#[proc_macro_derive(Trace, attributes(gomem))]
pub fn derive_trace(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    trace::derive(syn::parse_macro_input!(input as syn::DeriveInput))
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
