//! Keeping what parses when a file has a syntax error, as rustc and rust-analyzer do.
//!
//! Two levels, both at item boundaries:
//! - **Tokens** ([`parse_items`]): when the file lexes but does not parse, its top-level
//!   tokens are cut into items (an item ends at a `;` or at a `{..}` block outside any
//!   delimiter, with the `;` that may follow the block) and each is parsed on its own. The
//!   items that parse make the tree; each one that does not gives one error.
//! - **Text** ([`item_region`]): when the file does not even lex (an unbalanced delimiter, an
//!   unterminated string), no token exists to cut. The lines around the error, from the last
//!   line that starts an item at column 0 to the next one, are the broken region: the caller
//!   blanks it and lexes the rest again.
//!
//! Both are heuristics for code laid out as rustfmt does; what they cut wrongly is reported
//! as an error, never analyzed as something else.

use proc_macro2::{Delimiter, TokenStream, TokenTree};

/// Parses `tokens` item by item: the items that parse, and the error of each one that does not.
pub fn parse_items(tokens: TokenStream) -> (syn::File, Vec<syn::Error>) {
    let mut file = syn::File {
        shebang: None,
        frontmatter: None,
        attrs: Vec::new(),
        items: Vec::new(),
    };
    let mut errors = Vec::new();
    for chunk in items(tokens) {
        match syn::parse2::<syn::File>(chunk) {
            Ok(part) => {
                file.attrs.extend(part.attrs);
                file.items.extend(part.items);
            }
            Err(e) => errors.push(e),
        }
    }
    (file, errors)
}

/// The top-level tokens cut into items (each with its attributes).
fn items(tokens: TokenStream) -> Vec<TokenStream> {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < trees.len() {
        let end = match &trees[i] {
            TokenTree::Punct(p) if p.as_char() == ';' => Some(i + 1),
            TokenTree::Group(g) if g.delimiter() == Delimiter::Brace => {
                match trees.get(i + 1) {
                    // `const X: T = T { .. };`, `m! { .. };`
                    Some(TokenTree::Punct(p)) if p.as_char() == ';' => Some(i + 2),
                    // `static A: S = S { .. }.with(..);`: the expression goes on.
                    Some(TokenTree::Punct(p)) if matches!(p.as_char(), '.' | '?') => None,
                    _ => Some(i + 1),
                }
            }
            _ => None,
        };
        match end {
            Some(end) => {
                chunks.push(trees[start..end].iter().cloned().collect());
                start = end;
                i = end;
            }
            None => i += 1,
        }
    }
    if start < trees.len() {
        chunks.push(trees[start..].iter().cloned().collect());
    }
    chunks
}

/// Words that start an item (or its attributes) when they open a line at column 0.
const ITEM_STARTS: &[&str] = &[
    "#",
    "pub",
    "fn",
    "struct",
    "enum",
    "union",
    "impl",
    "trait",
    "mod",
    "use",
    "const",
    "static",
    "type",
    "extern",
    "unsafe",
    "async",
    "macro_rules!",
];

fn starts_item(line: &str) -> bool {
    ITEM_STARTS.iter().any(|w| {
        line.strip_prefix(w).is_some_and(|rest| {
            w.ends_with(['#', '!'])
                || rest.starts_with([' ', '\t', '(', '<', '\r'])
                || rest.is_empty()
        })
    })
}

/// The byte range of the lines around `at`: from the last line at or before it that starts
/// an item at column 0, to the next such line after it (or the end of `text`). `from` is
/// where Rust starts in the text (after a shebang, say).
pub fn item_region(text: &str, from: usize, at: usize) -> std::ops::Range<usize> {
    let at = at.min(text.len());
    let mut start = from;
    let mut offset = 0;
    let mut end = text.len();
    // An item's attributes start it: the item line after them is no new boundary.
    let mut after_attribute = false;
    for line in text.split_inclusive('\n') {
        let line_start = offset;
        offset += line.len();
        let attribute = line.starts_with("#[");
        let boundary = line_start >= from && starts_item(line) && !after_attribute;
        after_attribute = attribute || (after_attribute && line.trim().is_empty());
        if !boundary {
            continue;
        }
        if line_start <= at {
            start = line_start;
        } else {
            end = line_start;
            break;
        }
    }
    start..end
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn chunks(src: &str) -> Vec<String> {
        items(TokenStream::from_str(src).unwrap())
            .into_iter()
            .map(|c| c.to_string())
            .collect()
    }

    #[test]
    fn items_end_at_semicolons_and_blocks() {
        assert_eq!(
            chunks("use a::b; #[derive(X)] struct S { a: u8 } const C: S = S { a: 1 }; fn f() {} m!(x); struct T(u8);"),
            [
                "use a :: b ;",
                "# [derive (X)] struct S { a : u8 }",
                "const C : S = S { a : 1 } ;",
                "fn f () { }",
                "m ! (x) ;",
                "struct T (u8) ;",
            ]
        );
        assert_eq!(
            chunks("static A: S = S {}.with(1); fn g() {}"),
            ["static A : S = S { } . with (1) ;", "fn g () { }"]
        );
    }

    #[test]
    fn the_items_that_parse_are_kept_and_each_broken_one_is_an_error() {
        let src = "fn a() { std::thread::spawn(|| ()); }\nfn b() { let x = ; }\nstruct S;\nimpl S { fn c(&self) -> { } }\nfn d() {}\n";
        let (file, errors) = parse_items(TokenStream::from_str(src).unwrap());
        let names: Vec<String> = file
            .items
            .iter()
            .filter_map(|i| match i {
                syn::Item::Fn(f) => Some(f.sig.ident.to_string()),
                syn::Item::Struct(s) => Some(s.ident.to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(names, ["a", "S", "d"]);
        assert_eq!(errors.len(), 2, "{errors:?}");
    }

    #[test]
    fn the_region_of_a_lexing_error_is_its_item() {
        let text = "use x;\n\nfn a() {\n    let s = \"open;\n}\n\n#[test]\nfn b() {}\n";
        let at = text.find('"').unwrap();
        let region = item_region(text, 0, at);
        assert_eq!(&text[region], "fn a() {\n    let s = \"open;\n}\n\n");
        // At the end of the text, the region runs to the end.
        let region = item_region(text, 0, text.len());
        assert_eq!(&text[region], "#[test]\nfn b() {}\n");
        // Indented items are inside another item: not a boundary.
        let text = "mod m {\n    fn a() {\n}\n";
        assert_eq!(item_region(text, 0, 15), 0..text.len());
    }
}
