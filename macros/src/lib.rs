//! gomem's attributes and derives. Each macro's code lives in its own module; this file only
//! declares the entry points.

mod escape;
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

/// `#[gomem::allow(lint, .., reason = "..")]`: tells `cargo gomem-lint` that the findings of
/// these lints on this item do not apply. It leaves the code unchanged; it only checks that
/// its arguments are lint names and an optional reason.
#[proc_macro_attribute]
pub fn allow(
    args: proc_macro::TokenStream,
    item: proc_macro::TokenStream,
) -> proc_macro::TokenStream {
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("reason") {
            let _: syn::LitStr = meta.value()?.parse()?;
            Ok(())
        } else if meta.path.get_ident().is_some() {
            Ok(())
        } else {
            Err(meta.error("expected a gomem lint name or `reason = \"..\"`"))
        }
    });
    match syn::parse::Parser::parse(parser, args) {
        Ok(()) => item,
        Err(e) => {
            let mut out: proc_macro::TokenStream = e.to_compile_error().into();
            out.extend(item);
            out
        }
    }
}

/// `#[gomem::escape]` on a fn, an impl block or an inline mod: moves the allocations that do
/// not escape the call (`Box::new`, `vec!`, `Vec`/`String` constructors, `format!`) onto a
/// per-call arena (`gomem::arena`), freed all at once when the call returns. The decisions
/// are the ones `cargo gomem-lint --explain-escapes` shows; what is rewritten and what is
/// left alone is documented in `gomem_analyzer::attribute`.
///
/// `#[gomem::escape(deny_escape)]` also makes every allocation that escapes a compile error
/// saying why it escapes.
///
/// `#[gomem::escape(gc)]` on an inline mod moves its `Rc`/`RefCell` data onto the collected
/// heap (`gomem::Gc`/`gomem::GcCell`), so that cycles are collected instead of leaked; see
/// `gomem_analyzer::attribute::gc_heap` for what it does and what it refuses.
#[proc_macro_attribute]
pub fn escape(
    args: proc_macro::TokenStream,
    item: proc_macro::TokenStream,
) -> proc_macro::TokenStream {
    escape::expand(args.into(), item.into()).into()
}

/// Not for use: parses its item with syn, as `#[gomem::escape]` does first, and gives it back
/// unchanged. `scripts/bench-escape-build.sh` measures it beside the real attribute, to show
/// how much of the attribute's build cost is syn's parse of the compiler's tokens alone.
#[doc(hidden)]
#[proc_macro_attribute]
pub fn __bench_parse_only(
    _args: proc_macro::TokenStream,
    item: proc_macro::TokenStream,
) -> proc_macro::TokenStream {
    let parsed = syn::parse::<syn::Item>(item.clone());
    drop(parsed);
    item
}
