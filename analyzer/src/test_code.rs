//! Test code: the parts of a file that only a test build compiles or only the test harness
//! runs, so that a lint may have a level of its own there (`[lints.<id>] in_tests`).
//!
//! Within a file, test code is an item under `#[cfg(test)]` (or a `cfg` that requires `test`,
//! like `all(test, unix)`; `any(test, ..)` and `not(test)` do not) and a fn marked as a test or
//! a benchmark (`#[test]`, `#[bench]`, and attributes whose last segment is `test`, like
//! `#[tokio::test]`). A file whose top carries `#![cfg(test)]` is test code throughout. The
//! module tree adds the rest (a module declared by `#[cfg(test)] mod tests;` and the targets
//! of kind test, bench and example): the driver follows it.
//!
//! Reading attributes is a matter of syntax only, so this sits with the syntax readings.

use std::ops::Range;

use crate::span::{FileId, Span};

/// The byte ranges of `file`'s test code, outermost items only, sorted.
/// `id` is the file's id, for [`Span::of_tokens`]: call it on the thread that parsed it.
pub fn test_regions(id: FileId, file: &syn::File) -> Vec<Range<u32>> {
    let mut out = Vec::new();
    if requires_test(&file.attrs) {
        out.push(0..u32::MAX);
        return out;
    }
    items(id, &file.items, &mut out);
    // Items that `cfg_if!` and the like expanded may come after the items written below them.
    out.sort_by_key(|r| r.start);
    out
}

/// Whether `offset` lies in one of `regions` (as [`test_regions`] gives them).
pub fn contains(regions: &[Range<u32>], offset: u32) -> bool {
    let i = regions.partition_point(|r| r.end <= offset);
    regions.get(i).is_some_and(|r| r.contains(&offset))
}

fn items(id: FileId, items: &[syn::Item], out: &mut Vec<Range<u32>>) {
    for item in items {
        let (attrs, inner): (&[syn::Attribute], Option<&[syn::Item]>) = match item {
            syn::Item::Mod(m) => (&m.attrs, m.content.as_ref().map(|(_, i)| i.as_slice())),
            syn::Item::Fn(f) => (&f.attrs, None),
            syn::Item::Impl(i) => (&i.attrs, None),
            syn::Item::Const(c) => (&c.attrs, None),
            syn::Item::Static(s) => (&s.attrs, None),
            syn::Item::Struct(s) => (&s.attrs, None),
            syn::Item::Enum(e) => (&e.attrs, None),
            syn::Item::Trait(t) => (&t.attrs, None),
            syn::Item::Macro(m) => (&m.attrs, None),
            syn::Item::Use(u) => (&u.attrs, None),
            _ => continue,
        };
        let test_fn = matches!(item, syn::Item::Fn(_)) && attrs.iter().any(is_test_attr);
        if test_fn || requires_test(attrs) {
            let s = extent(id, item);
            out.push(s.lo..s.hi);
        } else if let Some(inner) = inner {
            if requires_test(inner_attrs(item)) {
                let s = extent(id, item);
                out.push(s.lo..s.hi);
            } else {
                self::items(id, inner, out);
            }
        }
    }
}

/// Where an item starts and ends. [`Span::of_tokens`] on a whole item prints all its tokens
/// to find the last one; the closing brace or semicolon is at hand.
fn extent(id: FileId, item: &syn::Item) -> Span {
    let last = match item {
        syn::Item::Fn(f) => Some(f.block.brace_token.span.close()),
        syn::Item::Mod(m) => match (&m.content, &m.semi) {
            (Some((brace, _)), _) => Some(brace.span.close()),
            (None, Some(semi)) => Some(semi.span),
            _ => None,
        },
        syn::Item::Impl(i) => Some(i.brace_token.span.close()),
        syn::Item::Trait(t) => Some(t.brace_token.span.close()),
        syn::Item::Enum(e) => Some(e.brace_token.span.close()),
        syn::Item::Const(c) => Some(c.semi_token.span),
        syn::Item::Static(s) => Some(s.semi_token.span),
        syn::Item::Use(u) => Some(u.semi_token.span),
        _ => None,
    };
    let attrs: &[syn::Attribute] = match item {
        syn::Item::Fn(f) => &f.attrs,
        syn::Item::Mod(m) => &m.attrs,
        syn::Item::Impl(i) => &i.attrs,
        syn::Item::Trait(t) => &t.attrs,
        syn::Item::Enum(e) => &e.attrs,
        syn::Item::Const(c) => &c.attrs,
        syn::Item::Static(s) => &s.attrs,
        syn::Item::Use(u) => &u.attrs,
        _ => &[],
    };
    match (attrs.first(), last) {
        // An inner attribute (`mod m { #![cfg(test)] .. }`) is not where the item starts.
        (Some(first), Some(last)) if matches!(first.style, syn::AttrStyle::Outer) => {
            Span::of(id, first.pound_token.span).to(Span::of(id, last))
        }
        _ => Span::of_tokens(id, item),
    }
}

fn inner_attrs(item: &syn::Item) -> &[syn::Attribute] {
    match item {
        // syn keeps a module's inner attributes (`#![cfg(test)]`) with the outer ones.
        syn::Item::Mod(m) => &m.attrs,
        _ => &[],
    }
}

/// `#[test]`, `#[bench]`, `#[tokio::test]`, `#[async_std::test]`, `#[rstest]`...
pub fn is_test_attr(attr: &syn::Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|s| matches!(s.ident.to_string().as_str(), "test" | "bench" | "rstest"))
}

/// Whether `attrs` hold a `cfg` that only a test build meets.
pub fn requires_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.parse_args::<syn::Meta>()
                .is_ok_and(|m| meta_requires_test(&m))
    })
}

fn meta_requires_test(meta: &syn::Meta) -> bool {
    match meta {
        syn::Meta::Path(p) => p.is_ident("test"),
        syn::Meta::List(l) if l.path.is_ident("all") => l
            .parse_args_with(
                syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated,
            )
            .is_ok_and(|args| args.iter().any(meta_requires_test)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> Vec<Range<u32>> {
        let text: std::sync::Arc<str> = src.into();
        let starts: std::sync::Arc<[u32]> = std::iter::once(0)
            .chain(src.match_indices('\n').map(|(i, _)| i as u32 + 1))
            .collect();
        let _lines = crate::span::use_line_index(FileId(0), &text, &starts);
        test_regions(FileId(0), &syn::parse_str(src).unwrap())
    }

    fn regions(src: &str) -> Vec<&str> {
        parse(src)
            .into_iter()
            .map(|r| &src[r.start as usize..(r.end as usize).min(src.len())])
            .collect()
    }

    #[test]
    fn test_fns_and_cfg_test_items() {
        let src = "fn a() {}\n\
                   #[test] fn t() {}\n\
                   #[tokio::test] async fn u() {}\n\
                   #[cfg(test)] mod tests { fn helper() {} }\n\
                   #[cfg(all(test, unix))] fn b() {}\n\
                   #[cfg(any(test, feature = \"x\"))] fn c() {}\n\
                   #[cfg(not(test))] fn d() {}\n\
                   mod m { #![cfg(test)] fn e() {} }\n\
                   mod n { #[test] fn f() {} fn g() {} }\n\
                   #[cfg(test)] mod out_of_line;\n";
        assert_eq!(
            regions(src),
            [
                "#[test] fn t() {}",
                "#[tokio::test] async fn u() {}",
                "#[cfg(test)] mod tests { fn helper() {} }",
                "#[cfg(all(test, unix))] fn b() {}",
                "mod m { #![cfg(test)] fn e() {} }",
                "#[test] fn f() {}",
                "#[cfg(test)] mod out_of_line;",
            ]
        );
    }

    #[test]
    fn a_file_under_cfg_test_is_test_code_throughout() {
        let r = parse("#![cfg(test)]\nfn a() {}\n");
        assert!(contains(&r, 0) && contains(&r, 15));
        assert!(!contains(&parse("fn a() {}"), 3));
    }
}
