//! The allocations an expression makes whose size the source gives: `vec![x; N]`,
//! `Vec::with_capacity(N)`, `String::with_capacity(N)`, `Box::new([x; N])`...
//!
//! Sizes are lower bounds, in bytes: an element's size comes from a literal's suffix, the
//! type the value is stored as (`elem_hint`, e.g. the `u64` of a `Vec<u64>` global), or the
//! smallest size its literal could have; `N` is evaluated with the crate's consts. An
//! allocation whose size cannot be computed is left out rather than guessed.

use syn::visit::Visit;
use syn::Expr;

use crate::consteval::ConstExpr;
use crate::index::ModuleId;
use crate::layout::{primitive_size, TypeShape};
use crate::lint::FileContext;
use crate::span::Span;

/// `(span, bytes)` of every sized allocation in `expr`, written in module `module`.
pub fn sized_allocations(
    cx: &FileContext<'_>,
    module: ModuleId,
    elem_hint: Option<&syn::Type>,
    expr: &Expr,
) -> Vec<(Span, u64)> {
    let mut heap = Heap {
        cx,
        module,
        elem_hint,
        allocations: Vec::new(),
    };
    heap.visit_expr(expr);
    heap.allocations
}

struct Heap<'a, 't> {
    cx: &'a FileContext<'a>,
    module: ModuleId,
    /// The element type of the global's `Vec`, if its type says (`LazyLock<Vec<u64>>`).
    elem_hint: Option<&'t syn::Type>,
    allocations: Vec<(Span, u64)>,
}

impl Heap<'_, '_> {
    fn eval(&self, e: &Expr) -> Option<u64> {
        self.cx
            .index
            .eval(self.module, &ConstExpr::from_syn(e))
            .and_then(|v| u64::try_from(v).ok())
    }

    fn hint_size(&self) -> Option<u64> {
        let hint = self.elem_hint?;
        self.cx
            .index
            .size_of(self.module, &TypeShape::from_syn(hint))
    }

    /// A lower bound on the size of the value `e`, for an element of an allocation.
    fn element_size(&self, e: &Expr) -> Option<u64> {
        match e {
            Expr::Lit(l) => {
                let suffix_size = match &l.lit {
                    syn::Lit::Int(i) => primitive_size(i.suffix()),
                    syn::Lit::Float(f) => primitive_size(f.suffix()),
                    _ => None,
                };
                suffix_size.or_else(|| self.hint_size()).or(match &l.lit {
                    syn::Lit::Int(_) | syn::Lit::Bool(_) | syn::Lit::Byte(_) => Some(1),
                    syn::Lit::Float(_) | syn::Lit::Char(_) => Some(4),
                    _ => None,
                })
            }
            Expr::Repeat(r) => self.element_size(&r.expr)?.checked_mul(self.eval(&r.len)?),
            Expr::Paren(p) => self.element_size(&p.expr),
            _ => self.hint_size(),
        }
    }

    fn record(&mut self, node: &impl quote::ToTokens, bytes: Option<u64>) {
        if let Some(bytes) = bytes.filter(|&b| b > 0) {
            self.allocations
                .push((Span::of_tokens(self.cx.file, node), bytes));
        }
    }
}

impl<'ast> Visit<'ast> for Heap<'_, '_> {
    fn visit_expr_macro(&mut self, m: &'ast syn::ExprMacro) {
        if !m.mac.path.is_ident("vec") {
            return;
        }
        // `vec![elem; n]`
        let Ok(parts) = m.mac.parse_body_with(
            syn::punctuated::Punctuated::<Expr, syn::Token![;]>::parse_separated_nonempty,
        ) else {
            return;
        };
        if parts.len() == 2 {
            let bytes = self
                .eval(&parts[1])
                .and_then(|n| self.element_size(&parts[0])?.checked_mul(n));
            self.record(m, bytes);
        }
    }

    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        let Expr::Path(p) = &*call.func else {
            return syn::visit::visit_expr_call(self, call);
        };
        let segs = crate::syntax::segment_names(&p.path);
        let tail: Vec<&str> = segs.iter().rev().take(2).map(String::as_str).collect();
        match tail.as_slice() {
            ["with_capacity", "String"] if call.args.len() == 1 => {
                let n = self.eval(&call.args[0]);
                self.record(call, n);
            }
            ["with_capacity", "Vec" | "VecDeque"] if call.args.len() == 1 => {
                let turbofish =
                    p.path
                        .segments
                        .iter()
                        .rev()
                        .nth(1)
                        .and_then(|s| match &s.arguments {
                            syn::PathArguments::AngleBracketed(a) => {
                                a.args.iter().find_map(|g| match g {
                                    syn::GenericArgument::Type(t) => Some(t),
                                    _ => None,
                                })
                            }
                            _ => None,
                        });
                let elem = match turbofish {
                    Some(t) => self.cx.index.size_of(self.module, &TypeShape::from_syn(t)),
                    None => self.hint_size(),
                };
                let bytes = self.eval(&call.args[0]).and_then(|n| elem?.checked_mul(n));
                self.record(call, bytes);
            }
            ["new", "Box" | "Rc" | "Arc"] if call.args.len() == 1 => {
                if let Expr::Repeat(r) = &call.args[0] {
                    let bytes = self.element_size(&Expr::Repeat(r.clone()));
                    self.record(call, bytes);
                    return;
                }
                syn::visit::visit_expr_call(self, call);
            }
            _ => syn::visit::visit_expr_call(self, call),
        }
    }
}
