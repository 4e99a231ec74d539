//! One expansion of `#[gomem::escape]`: the options, the decisions of each fn of the item
//! (with summaries of the item's own helpers), the `deny_escape` errors, and the rewrite of
//! each fn's non-escaping sites (see [`super::arena`]), or of a mod's shared data (see
//! [`super::gc_heap`]).

use std::collections::{HashMap, HashSet};

use proc_macro2::TokenStream;
use syn::visit::Visit;
use syn::Expr;

use super::arena::rewrite;
use super::error::Error;
use crate::escape::{analyze_sharing, summaries_of, summary_key, Decision};
use crate::span::{FileId, Span};
use crate::std_macros::ParsedArgs;

/// The attribute's options: `#[gomem::escape]`, `#[gomem::escape(deny_escape)]`,
/// `#[gomem::escape(gc)]`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Every allocation that escapes is an error.
    pub deny_escape: bool,
    /// On an inline mod: its `Rc`/`RefCell` data moves onto the collected heap
    /// ([`super::gc_heap`]).
    pub gc: bool,
}

/// What [`expand`] did to an item.
#[derive(Debug)]
pub struct Expansion {
    pub reports: Vec<FnReport>,
    pub errors: Vec<Error>,
    /// `gc` moved the item's `Rc`/`RefCell` data onto the collected heap.
    pub moved_to_gc: bool,
}

impl Expansion {
    /// Whether the item differs from what was written.
    pub fn changed(&self) -> bool {
        self.moved_to_gc || self.reports.iter().any(|r| !r.rewritten.is_empty())
    }

    /// Whether no two allocation sites of a fn have the same span. The rewrite finds its
    /// sites by span, so where spans are keys rather than ranges of a text (the compiler's
    /// tokens, see [`crate::span::use_token_positions`]), two sites with one key (a
    /// `macro_rules!` repetition, tokens another macro made) could be taken for each other.
    pub fn sites_told_apart(&self) -> bool {
        self.reports.iter().all(|r| {
            let mut seen = HashSet::new();
            r.decisions.iter().all(|d| seen.insert(d.site.span))
        })
    }
}

/// What the attribute decided for one fn of the item.
#[derive(Debug)]
pub struct FnReport {
    pub name: String,
    pub decisions: Vec<Decision>,
    /// The sites moved onto the arena.
    pub rewritten: Vec<Span>,
}

/// Analyzes and rewrites `item` in place. `file` names the spans of `item`'s tokens.
pub fn expand(file: FileId, item: &mut syn::Item, options: Options) -> Expansion {
    let mut errors = Vec::new();
    let mut moved_to_gc = false;
    if options.gc {
        match item {
            syn::Item::Mod(m) if m.content.is_some() => match super::gc_heap::rewrite(file, m) {
                Ok(changed) => moved_to_gc = changed,
                Err(refused) => errors.extend(refused),
            },
            _ => errors.push(Error {
                span: Span::of_tokens(file, &*item),
                message: "`#[gomem::escape(gc)]` goes on an inline mod: the types and the code that uses them move together".into(),
            }),
        }
    }
    let mut fns: Vec<FnMut<'_>> = Vec::new();
    collect_fns(item, &mut fns);
    // Summaries of the item's free fns and methods: helpers inside an annotated `mod` or
    // `impl` are seen. Only
    // those called somewhere in the item are worth summarizing (each summary analyzes its
    // fn at least twice); their own callees are called in the item too.
    let summaries = {
        let mut called = Called {
            names: HashSet::new(),
            methods: fns.iter().any(|f| f.sig.receiver().is_some()),
        };
        for f in &fns {
            called.visit_block(f.block);
        }
        let sigs: Vec<(&syn::Signature, &syn::Block)> = fns
            .iter()
            // An associated fn is called by a path, which summaries do not follow.
            .filter(|f| {
                (f.free || f.sig.receiver().is_some()) && called.names.contains(&summary_key(f.sig))
            })
            .map(|f| (f.sig, &*f.block))
            .collect();
        summaries_of(file, &sigs)
    };
    let slice_params = slice_params(&fns);
    let mut reports = Vec::new();
    for f in fns {
        // The macro arguments the analysis parses, read again by the rewrite's checks.
        let macro_args = ParsedArgs::default();
        let decisions =
            analyze_sharing(file, Some(f.sig), f.block, &summaries, &macro_args).decisions();
        if options.deny_escape {
            // One error per escaping site. A proc macro's error has a single span, so where
            // the value escapes after the site (`return v`, `CACHE.push(v)`), the span runs
            // from the allocation to that place: rustc shows both ends.
            for d in &decisions {
                if let Some((at, why)) = &d.escapes {
                    let span = if at.file == d.site.span.file && at.hi > d.site.span.hi {
                        d.site.span.to(*at)
                    } else {
                        d.site.span
                    };
                    errors.push(Error {
                        span,
                        message: format!(
                            "{} escapes to heap: {} (`#[gomem::escape(deny_escape)]` forbids it)",
                            d.site.what,
                            why.strip_suffix(" here")
                                .unwrap_or(why)
                                .replace(" here,", ",")
                        ),
                    });
                }
            }
        }
        let rewritten = if f.sig.asyncness.is_some() || f.sig.constness.is_some() {
            Vec::new()
        } else {
            rewrite(file, f.block, &decisions, &slice_params, &macro_args)
        };
        reports.push(FnReport {
            name: f.sig.ident.to_string(),
            decisions,
            rewritten,
        });
    }
    Expansion {
        reports,
        errors,
        moved_to_gc,
    }
}

/// The names that calls use, as `name(..)`, `path::name(..)`, or inside a macro's tokens
/// an ident followed by parentheses (an over-approximation: it only decides which fns get
/// summaries), and `.name` for a method call.
struct Called {
    names: HashSet<String>,
    /// Whether the item has methods. Without, no summary is looked up by a `.name`, and
    /// method calls (the most common calls, and each one a name printed and hashed in a
    /// proc macro) are not recorded.
    methods: bool,
}

impl Called {
    fn tokens(&mut self, tokens: &TokenStream) {
        let mut last: Option<String> = None;
        for tree in tokens.clone() {
            match tree {
                proc_macro2::TokenTree::Ident(i) => last = Some(i.to_string()),
                proc_macro2::TokenTree::Group(g) => {
                    if let (Some(name), proc_macro2::Delimiter::Parenthesis) =
                        (last.take(), g.delimiter())
                    {
                        self.names.insert(name);
                    }
                    self.tokens(&g.stream());
                }
                proc_macro2::TokenTree::Punct(_) | proc_macro2::TokenTree::Literal(_) => {
                    last = None
                }
            }
        }
    }
}

impl<'ast> Visit<'ast> for Called {
    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        if self.methods {
            self.names.insert(format!(".{}", m.method));
        }
        syn::visit::visit_expr_method_call(self, m);
    }

    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        if let Expr::Path(p) = &*c.func {
            if let Some(last) = p.path.segments.last() {
                self.names.insert(last.ident.to_string());
            }
        }
        syn::visit::visit_expr_call(self, c);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        self.tokens(&m.tokens);
    }
}

/// A fn of the item, with whether it is a free fn (which calls can reach by name).
struct FnMut<'a> {
    sig: &'a syn::Signature,
    block: &'a mut syn::Block,
    free: bool,
}

fn collect_fns<'a>(item: &'a mut syn::Item, out: &mut Vec<FnMut<'a>>) {
    match item {
        syn::Item::Fn(f) => out.push(FnMut {
            sig: &f.sig,
            block: &mut f.block,
            free: true,
        }),
        syn::Item::Impl(i) => {
            for it in &mut i.items {
                if let syn::ImplItem::Fn(f) = it {
                    out.push(FnMut {
                        sig: &f.sig,
                        block: &mut f.block,
                        free: false,
                    });
                }
            }
        }
        syn::Item::Mod(m) => {
            if let Some((_, items)) = &mut m.content {
                for it in items {
                    collect_fns(it, out);
                }
            }
        }
        _ => {}
    }
}

/// For each free fn of the item, which parameters are references to a slice or a `str`
/// (where `&v` of an arena `Vec` or `String` coerces exactly as `&v` of a std one does).
fn slice_params(fns: &[FnMut<'_>]) -> HashMap<String, Vec<bool>> {
    fns.iter()
        .filter(|f| f.free)
        .map(|f| {
            let takes = f
                .sig
                .inputs
                .iter()
                .map(|input| match input {
                    syn::FnArg::Typed(t) => match &*t.ty {
                        syn::Type::Reference(r) => match &*r.elem {
                            syn::Type::Slice(_) => true,
                            syn::Type::Path(p) => p.path.is_ident("str"),
                            _ => false,
                        },
                        _ => false,
                    },
                    syn::FnArg::Receiver(_) => false,
                })
                .collect();
            (f.sig.ident.to_string(), takes)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::ToTokens;

    /// The item after the attribute, as text, and the names of the sites moved.
    fn expand_str(src: &str, options: Options) -> (String, Vec<FnReport>, Vec<Error>) {
        let mut item: syn::Item = syn::parse_str(src).unwrap();
        let e = expand(FileId(0), &mut item, options);
        (item.into_token_stream().to_string(), e.reports, e.errors)
    }

    fn rewritten(src: &str) -> Vec<String> {
        let (_, reports, _) = expand_str(src, Options::default());
        reports
            .iter()
            .flat_map(|r| r.rewritten.iter())
            .map(|s| src[s.range()].to_string())
            .collect()
    }

    #[test]
    fn local_scratch_values_move_onto_the_arena() {
        let src = "fn f(text: &str) -> usize { let mut buf = String::new(); \
                   let mut seen = Vec::with_capacity(4); let b = Box::new(Point { x: 1 }); \
                   let v = vec![1, 2, 3]; let z = vec![0u8; 16]; let s = format!(\"{}\", text); \
                   let t = \"lit\".to_string(); \
                   for c in text.chars() { buf.push(c); seen.push(c); } \
                   println!(\"{buf} {s:?} {}\", t); \
                   buf.len() + seen.len() + b.x + v[0] + z.len() }";
        assert_eq!(
            rewritten(src),
            [
                "String::new()",
                "Vec::with_capacity(4)",
                "Box::new(Point { x: 1 })",
                "format!(\"{}\", text)",
                "\"lit\".to_string()"
            ]
        );
        let (out, _, _) = expand_str(src, Options::default());
        assert!(
            out.contains(":: gomem :: arena :: Region :: enter ()"),
            "{out}"
        );
    }

    #[test]
    fn escaping_values_and_unsupported_uses_stay_on_the_heap() {
        // Returned; passed by value; stored through self; type written; compared with `==`;
        // moved into another local; used in an unknown macro; rebound.
        let src = "fn f(&mut self) -> Vec<u8> { let a = Vec::with_capacity(1); let b = Vec::new(); consume(b); \
                   let c = String::new(); self.name = c; let d: Vec<u8> = Vec::new(); \
                   let e = Vec::with_capacity(1); let same = e == [1]; let g = String::new(); let h = g; \
                   let i = Vec::with_capacity(2); my_macro!(i); let j = Vec::new(); let j = 3; \
                   let _ = (d, same, h, j); a }";
        assert_eq!(rewritten(src), Vec::<String>::new());
    }

    #[test]
    fn written_std_types_move_with_their_twin_type() {
        let src = "fn f() -> usize { let mut v: Vec<u8> = Vec::new(); \
                   let s: String = String::new(); let b: Box<u32> = Box::new(1); \
                   let d: Box<dyn Fn() -> usize> = Box::new(|| 1); \
                   let mut outer: Vec<Vec<u8>> = Vec::new(); let inner = Vec::with_capacity(1); \
                   outer.push(inner); v.push(1); \
                   v.len() + s.len() + b.count_ones() as usize + d() + outer.len() }";
        // `d` is a trait object (no coercion for the arena's `Box`); `outer` says its
        // elements are std vectors, so `inner` stays on the heap and `outer` moves alone.
        assert_eq!(
            rewritten(src),
            ["Vec::new()", "String::new()", "Box::new(1)", "Vec::new()"]
        );
        let (out, _, _) = expand_str(src, Options::default());
        assert!(
            out.contains("v : :: gomem :: arena :: Vec < '_ , u8 >"),
            "{out}"
        );
        assert!(
            out.contains("s : :: gomem :: arena :: String < '_ >"),
            "{out}"
        );
        assert!(
            out.contains("b : :: gomem :: arena :: Box < '_ , u32 >"),
            "{out}"
        );
        assert!(
            out.contains("outer : :: gomem :: arena :: Vec < '_ , Vec < u8 > >"),
            "{out}"
        );
    }

    #[test]
    fn constant_size_values_that_never_grow_stay_as_written() {
        // LLVM can remove these allocations from the plain code; a bump allocation it cannot.
        let src = "fn f(a: u64, b: u64) -> u64 { let pair = vec![a, b]; let zeros = vec![0u8; 8]; \
                   let one = Box::new(a); pair.iter().sum::<u64>() + zeros.len() as u64 + *one }";
        assert!(rewritten(src).is_empty(), "{:?}", rewritten(src));
        // Grown, reached by `&mut`, of a count known only at run time, or a `Box` used
        // otherwise than through `*`: moved.
        let src = "fn f(a: u64, n: usize) -> u64 { let mut grown = vec![a]; grown.push(a); \
                   let mut lent = vec![a]; fill(&mut lent); let sized = vec![0u8; n]; \
                   let boxed = Box::new(a); \
                   grown.len() as u64 + lent.len() as u64 + sized.len() as u64 + boxed.count_ones() as u64 }";
        assert_eq!(
            rewritten(src),
            ["vec![a]", "vec![0u8; n]", "Box::new(a)"],
            "`lent` goes to a fn that takes `&mut Vec`, which the arena's `Vec` is not"
        );
    }

    #[test]
    fn a_tree_of_vectors_moves_when_its_elements_are_only_used_in_place() {
        let src = "fn f(xs: &[u32]) -> usize { let mut outer = Vec::with_capacity(2); \
                   for c in xs.chunks(2) { let mut inner = Vec::new(); \
                   for ch in c.chunks(1) { let mut leaf = vec![0u32]; leaf.extend_from_slice(ch); \
                   inner.push(leaf); } outer.push(inner); } \
                   let mut n = outer.len() + outer[0].len(); \
                   for v in &outer { for w in v { n += w.iter().count(); } } \
                   for v2 in outer.iter() { n += v2.len(); } n }";
        assert_eq!(
            rewritten(src),
            ["Vec::with_capacity(2)", "Vec::new()", "vec![0u32]"]
        );
    }

    #[test]
    fn elements_that_could_meet_a_std_type_keep_the_inner_values_on_the_heap() {
        // The outer vector is still moved in each case, as a plain holder of std vectors.
        let cases = [
            "let x = outer.pop();",
            "outer.sort();",
            "let first = &outer[0];",
            "for v in &outer { consume(v); }",
            "for (i, v) in outer.iter().enumerate() { let _ = (i, v.len()); }",
            "outer.push(xs.to_vec());",
            "for inner in &outer { let _ = inner.len(); }",
            "let n = outer.iter().map(|v| v.len()).count();",
        ];
        for case in cases {
            let src = format!(
                "fn f(xs: &[u32]) {{ let mut outer = Vec::with_capacity(2); \
                 let mut inner = Vec::new(); inner.push(1u32); outer.push(inner); {case} }}"
            );
            assert_eq!(rewritten(&src), ["Vec::with_capacity(2)"], "{case}");
        }
        // A helper of the item takes `&[Vec<u32>]`: a slice of arena vectors is not one.
        let src = "mod m { fn total(v: &[Vec<u32>]) -> usize { v.len() } \
                   fn f() -> usize { let mut outer = Vec::with_capacity(2); \
                   let inner = Vec::with_capacity(1u32); outer.push(inner); total(&outer) } }";
        assert_eq!(rewritten(src), ["Vec::with_capacity(2)"]);
        // Elements of two shapes (one holds moved vectors, one std ones) would be two
        // types: only the outer vector moves.
        let src = "fn f(xs: &[u32]) -> usize { let mut outer = Vec::with_capacity(2); \
                   let mut a = Vec::new(); let leaf = Vec::with_capacity(1u32); a.push(leaf); \
                   let mut b = Vec::new(); b.push(xs.to_vec()); \
                   outer.push(a); outer.push(b); outer.len() }";
        assert_eq!(rewritten(src), ["Vec::with_capacity(2)"]);
    }

    #[test]
    fn a_shadowed_name_moves_when_every_use_of_the_name_passes() {
        // The loop variable and the later `let` shadow `word` and `n`, and their uses are
        // ones the arena types support too.
        let src = "fn f(text: &str) -> usize { let mut word = String::new(); \
                   for word in text.split(' ') { let _ = word.len(); } \
                   word.push('x'); let n = Vec::with_capacity(1u8); let k = n.len(); let n = [0u8; 2]; \
                   word.len() + k + n.len() }";
        assert_eq!(rewritten(src), ["String::new()", "Vec::with_capacity(1u8)"]);
        // A use of the shadowing local that the arena type would not take keeps it home.
        let src =
            "fn f() -> usize { let v = Vec::with_capacity(1); let k = v.len(); let v = 3; k + v }";
        assert!(rewritten(src).is_empty());
        // Two moved sites under one name are left alone.
        let src = "fn f() -> usize { let v = Vec::with_capacity(1); let a = v.len(); \
                   let v = Vec::with_capacity(2); a + v.len() }";
        assert!(rewritten(src).is_empty());
        // A name bound twice is not pushed into a holder, nor a holder: at the push the
        // other local could be meant.
        let src = "fn f(xs: &[u32]) -> usize { let mut outer = Vec::new(); \
                   let inner = Vec::with_capacity(1u32); let n = inner.len(); outer.push(inner); \
                   let inner = xs.to_vec(); let _ = inner.len(); outer.len() + n }";
        assert_eq!(rewritten(src), ["Vec::new()"]);
        let src = "fn f(xs: &[u32]) -> usize { let mut outer = Vec::new(); \
                   let inner = Vec::with_capacity(1u32); outer.push(inner); let k = outer.len(); \
                   let outer = xs; k + outer.len() }";
        assert_eq!(rewritten(src), ["Vec::new()"]);
    }

    #[test]
    fn async_and_const_fns_are_not_rewritten() {
        assert!(
            rewritten("async fn f() -> usize { let v = Vec::with_capacity(1); v.len() }")
                .is_empty()
        );
        assert_eq!(
            rewritten("fn f() -> usize { let v = Vec::with_capacity(1); v.len() }"),
            ["Vec::with_capacity(1)"]
        );
    }

    #[test]
    fn slices_pass_to_helpers_of_the_item_that_take_slices() {
        let src = "mod m { fn total(v: &[u32]) -> u32 { v.iter().sum() } \
                   fn owned(v: &Vec<u32>) -> usize { v.len() } \
                   pub fn f() -> u32 { let a = Vec::with_capacity(2); let b = Vec::with_capacity(3); \
                   total(&a) + owned(&b) as u32 } }";
        assert_eq!(rewritten(src), ["Vec::with_capacity(2)"]);
    }

    #[test]
    fn deny_escape_reports_each_escaping_site_once_with_its_reason() {
        let src =
            "fn f() -> String { let v = Vec::with_capacity(1); let s = String::new(); drop(v); s }";
        let options = Options {
            deny_escape: true,
            ..Options::default()
        };
        let (_, _, errors) = expand_str(src, options);
        let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert!(messages[0].starts_with("String::new(..) escapes to heap: returned ("));
        // From the allocation to where it escapes.
        assert_eq!(&src[errors[0].span.range()], "String::new(); drop(v); s");
    }
}
