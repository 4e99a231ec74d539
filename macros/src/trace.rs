//! `#[derive(Trace)]`: an `unsafe impl Trace` that reports every field once.
//!
//! It also sets `Trace::ACYCLIC` when every traced field's type is acyclic (holds no `Gc`),
//! so that the collector never examines objects that cannot lie on a cycle. A type with a
//! field whose type names the type itself is taken as cyclic (its constant would depend on
//! itself); two types that hold each other through containers do not compile (the
//! constants' cycle) unless one of the fields is `Gc` (whose constant does not look inside).
//!
//! The impl is sound because it visits each field exactly once (skipped fields report
//! nothing, which is always allowed) and the derive adds a `MustNotImplDrop` impl, which
//! conflicts with any `Drop` impl of the type: the collector's destructor story relies on
//! collected types having no destructor of their own.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::{Data, DeriveInput, Fields};

pub fn derive(input: DeriveInput) -> syn::Result<TokenStream> {
    let name = &input.ident;
    let mut generics = input.generics.clone();
    // Every type parameter must be traceable; fields are checked by the impl's body.
    for param in generics.type_params_mut() {
        param.bounds.push(syn::parse_quote!(::gomem::Trace));
    }
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    // The types of the traced fields: the type is acyclic when all of theirs are.
    let mut traced = Vec::new();
    let body = match &input.data {
        Data::Struct(s) => {
            let (pattern, calls) = fields(&s.fields, &mut traced)?;
            quote! {
                let #name #pattern = self;
                #(#calls)*
            }
        }
        Data::Enum(e) => {
            let mut arms = Vec::new();
            for v in &e.variants {
                let variant = &v.ident;
                let (pattern, calls) = fields(&v.fields, &mut traced)?;
                arms.push(quote! { #name::#variant #pattern => { #(#calls)* } });
            }
            quote! {
                match self {
                    #(#arms)*
                    #[allow(unreachable_patterns)]
                    _ => {}
                }
            }
        }
        Data::Union(u) => {
            return Err(syn::Error::new(
                u.union_token.span,
                "`Trace` cannot be derived for a union: the collector cannot tell which field holds a value",
            ))
        }
    };
    // A field whose type names the type itself (`Vec<Self>`, `Option<Box<Tree>>`) would make
    // the constant depend on itself, which does not compile: such a type may be cyclic.
    let recursive = traced.iter().any(|ty| mentions(ty, name));
    let acyclic = if recursive {
        quote!(false)
    } else {
        quote!(true #(&& <#traced as ::gomem::Trace>::ACYCLIC)*)
    };
    let (plain_impl_generics, _, _) = input.generics.split_for_impl();
    Ok(quote! {
        // SAFETY: every field is traced once (or skipped, which is always safe).
        unsafe impl #impl_generics ::gomem::Trace for #name #ty_generics #where_clause {
            const ACYCLIC: bool = #acyclic;
            #[allow(unused_variables, non_shorthand_field_patterns)]
            fn trace(&self, tracer: &mut ::gomem::Tracer) {
                #body
            }
        }
        impl #plain_impl_generics ::gomem::__private::MustNotImplDrop for #name #ty_generics #where_clause {}
    })
}

/// A pattern binding the fields to be traced, and the calls that trace them; adds the traced
/// fields' types to `traced`.
fn fields(
    fields: &Fields,
    traced: &mut Vec<syn::Type>,
) -> syn::Result<(TokenStream, Vec<TokenStream>)> {
    let mut binds = Vec::new();
    let mut calls = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        let skip = skipped(f)?;
        let var = format_ident!("__field_{}", i);
        let member = match &f.ident {
            Some(id) => quote!(#id),
            None => {
                let index = syn::Index::from(i);
                quote!(#index)
            }
        };
        if skip {
            binds.push(quote!(#member: _));
        } else {
            binds.push(quote!(#member: #var));
            traced.push(f.ty.clone());
            calls.push(quote!(::gomem::Trace::trace(#var, tracer);));
        }
    }
    let pattern = match fields {
        Fields::Unit => quote!(),
        _ => quote!({ #(#binds),* }),
    };
    Ok((pattern, calls))
}

/// Whether a field carries `#[gomem(skip)]`.
fn skipped(f: &syn::Field) -> syn::Result<bool> {
    let mut skip = false;
    for attr in f.attrs.iter().filter(|a| a.path().is_ident("gomem")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("skip") {
                skip = true;
                Ok(())
            } else {
                Err(meta.error("unknown `gomem` field option; the option is `skip`"))
            }
        })?;
    }
    Ok(skip)
}

/// Whether `ty` names `name` or `Self` anywhere in its tokens.
fn mentions(ty: &syn::Type, name: &syn::Ident) -> bool {
    fn walk(ts: TokenStream, name: &syn::Ident) -> bool {
        ts.into_iter().any(|t| match t {
            proc_macro2::TokenTree::Ident(i) => i == *name || i == "Self",
            proc_macro2::TokenTree::Group(g) => walk(g.stream(), name),
            _ => false,
        })
    }
    walk(quote!(#ty), name)
}
