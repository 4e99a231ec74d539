//! Editions: the parts of the language that change with the edition a crate is written in.
//!
//! syn parses the language of the 2018 edition and later. Edition-2015 code that rustc still
//! accepts differs in a few places that make syn stop:
//! - `async`, `await`, `try` and `dyn` are plain identifiers (`fn async()`, `let dyn = 1`);
//! - trait objects need no `dyn`: `Box<Fn(u8)>`, `type Action = Fn(&u8) + Send;`,
//!   `&for<'a> Fn(&'a u8)`;
//! - trait methods may leave parameters unnamed: `fn get(&self, usize) -> u8;`.
//!
//! [`fix_2015`] rewrites those tokens into their 2018 spelling (raw identifiers, `dyn`, `_:`)
//! before syn sees them. Every token keeps its span and added tokens take their neighbour's,
//! so locations in the tree stay the file's.
//!
//! Bare trait objects are recognized by their place: `Fn`, `FnMut` or `FnOnce` with
//! parenthesized arguments (or a `for<..>` before them) right after `<`, `&`, `&'a`, `&mut`,
//! `*const`, `*mut`, `(` or a type alias's `=`. After `:` or `+` they are bounds
//! (`F: Fn(u8)`), which need no `dyn` in any edition, and are left alone. Other bare trait
//! objects (`Box<Error + Send>`) already parse.

use proc_macro2::{Delimiter, Group, Ident, Punct, Spacing, TokenStream, TokenTree};

/// The edition a crate is written in, as cargo names them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Edition {
    E2015,
    E2018,
    #[default]
    E2021,
    E2024,
}

impl Edition {
    /// The newest edition this version knows; a newer one is read as this one.
    pub const LATEST: Edition = Edition::E2024;

    /// `2015`, `2018`, `2021` or `2024`, as in `Cargo.toml` and `cargo metadata`.
    pub fn from_name(name: &str) -> Option<Edition> {
        match name {
            "2015" => Some(Edition::E2015),
            "2018" => Some(Edition::E2018),
            "2021" => Some(Edition::E2021),
            "2024" => Some(Edition::E2024),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Edition::E2015 => "2015",
            Edition::E2018 => "2018",
            Edition::E2021 => "2021",
            Edition::E2024 => "2024",
        }
    }
}

/// `tokens` of an edition-2015 file, respelled as the 2018 edition spells the same code.
pub fn fix_2015(tokens: TokenStream) -> TokenStream {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out: Vec<TokenTree> = Vec::with_capacity(trees.len());
    let mut i = 0;
    while i < trees.len() {
        let next = trees.get(i + 1);
        match &trees[i] {
            TokenTree::Group(g) => {
                let inner = fix_2015(g.stream());
                let inner = if g.delimiter() == Delimiter::Parenthesis && is_fn_params(&out) {
                    name_anonymous_params(inner)
                } else {
                    inner
                };
                let mut fixed = Group::new(g.delimiter(), inner);
                fixed.set_span(g.span());
                out.push(fixed.into());
            }
            TokenTree::Ident(id) => {
                let name = id.to_string();
                let raw = match name.as_str() {
                    "async" | "await" | "try" => !is_punct(next, '!') && !follows_dot(&out),
                    "dyn" => !starts_bound(next),
                    _ => false,
                };
                if raw {
                    out.push(Ident::new_raw(&name, id.span()).into());
                    i += 1;
                    continue;
                }
                let sugar = matches!(name.as_str(), "Fn" | "FnMut" | "FnOnce")
                    && matches!(next, Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis);
                let higher_ranked = name == "for" && is_punct(next, '<');
                if (sugar || higher_ranked) && in_type_position(&out) {
                    out.push(Ident::new("dyn", id.span()).into());
                }
                out.push(trees[i].clone());
            }
            other => out.push(other.clone()),
        }
        i += 1;
    }
    out.into_iter().collect()
}

fn is_punct(tree: Option<&TokenTree>, c: char) -> bool {
    matches!(tree, Some(TokenTree::Punct(p)) if p.as_char() == c)
}

/// `x.await`: a field access in 2015, and syn reads the same tokens as an await; either way
/// no call is hidden there, so the keyword may stay.
fn follows_dot(out: &[TokenTree]) -> bool {
    is_punct(out.last(), '.')
}

/// Whether the token after `dyn` starts a trait bound (`dyn Trait`, `dyn ::a::T`, `dyn for<'a>
/// Fn`, `dyn ?Sized`, `dyn 'a`...): then `dyn` is the 2018 keyword, which 2015 accepts too.
fn starts_bound(next: Option<&TokenTree>) -> bool {
    match next {
        Some(TokenTree::Ident(id)) => id != "as",
        Some(TokenTree::Punct(p)) => matches!(p.as_char(), ':' | '<' | '?' | '\''),
        Some(TokenTree::Group(g)) => g.delimiter() == Delimiter::Parenthesis,
        _ => false,
    }
}

/// Whether what was emitted so far ends where a type, not a bound, comes next.
fn in_type_position(out: &[TokenTree]) -> bool {
    let Some(last) = out.last() else {
        return false;
    };
    match last {
        TokenTree::Punct(p) => match p.as_char() {
            '<' | '&' => true,
            // `type A = ..`, but not `==`, `<=`, `>=`, `!=`, `=>`.
            '=' => {
                p.spacing() == Spacing::Alone
                    && !matches!(
                        out.get(out.len().wrapping_sub(2)),
                        Some(TokenTree::Punct(q)) if q.spacing() == Spacing::Joint
                    )
            }
            _ => false,
        },
        // `&'a Fn(..)`: a lifetime is a joint `'` and an identifier.
        TokenTree::Ident(_) if out.len() >= 3 && is_punct(out.get(out.len() - 2), '\'') => {
            is_punct(out.get(out.len() - 3), '&')
        }
        TokenTree::Ident(id) => {
            (id == "mut" || id == "const")
                && matches!(out.get(out.len().wrapping_sub(2)), Some(TokenTree::Punct(p)) if matches!(p.as_char(), '&' | '*'))
        }
        TokenTree::Group(_) => false,
        TokenTree::Literal(_) => false,
    }
}

/// Whether a parenthesized group that comes next holds a fn's parameters: `fn name(`, or
/// `fn name<..>(`.
fn is_fn_params(out: &[TokenTree]) -> bool {
    let mut i = out.len();
    // `-> (A, B)`: a return type, not parameters.
    if is_punct(out.last(), '>') && i >= 2 && is_joint(&out[i - 2], '-') {
        return false;
    }
    // Skip generics `<..>` backwards, counting angle brackets (`->` inside them does not close).
    if is_punct(out.last(), '>') {
        let mut depth = 0usize;
        while i > 0 {
            i -= 1;
            match &out[i] {
                TokenTree::Punct(p) if p.as_char() == '>' => {
                    let arrow = i > 0 && is_joint(&out[i - 1], '-');
                    if !arrow {
                        depth += 1;
                    }
                }
                TokenTree::Punct(p) if p.as_char() == '<' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
        }
        if depth != 0 {
            return false;
        }
    }
    i >= 2
        && matches!(&out[i - 1], TokenTree::Ident(_))
        && matches!(&out[i - 2], TokenTree::Ident(f) if f == "fn")
}

fn is_joint(tree: &TokenTree, c: char) -> bool {
    matches!(tree, TokenTree::Punct(p) if p.as_char() == c && p.spacing() == Spacing::Joint)
}

/// Gives each unnamed parameter of a fn (`fn f(&self, u8)`) the name `_`: `fn f(&self, _: u8)`.
fn name_anonymous_params(params: TokenStream) -> TokenStream {
    let trees: Vec<TokenTree> = params.into_iter().collect();
    let mut out = Vec::with_capacity(trees.len() + 4);
    for param in split_params(&trees) {
        let body = skip_attributes(param);
        if !body.is_empty() && !has_type_colon(body) && !is_self_param(body) {
            let at = param.len() - body.len();
            out.extend_from_slice(&param[..at]);
            let span = body[0].span();
            out.push(Ident::new("_", span).into());
            let mut colon = Punct::new(':', Spacing::Alone);
            colon.set_span(span);
            out.push(colon.into());
            out.extend_from_slice(body);
        } else {
            out.extend_from_slice(param);
        }
    }
    out.into_iter().collect()
}

/// The parameters of a fn, split at the commas outside `<..>`; each keeps its trailing comma.
fn split_params(trees: &[TokenTree]) -> Vec<&[TokenTree]> {
    let mut params = Vec::new();
    let (mut start, mut depth) = (0, 0usize);
    for (i, tree) in trees.iter().enumerate() {
        if let TokenTree::Punct(p) = tree {
            match p.as_char() {
                '<' => depth += 1,
                '>' if !(i > 0 && is_joint(&trees[i - 1], '-')) => depth = depth.saturating_sub(1),
                ',' if depth == 0 => {
                    params.push(&trees[start..=i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
    }
    if start < trees.len() {
        params.push(&trees[start..]);
    }
    params
}

/// The parameter after its outer attributes (`#[cfg(..)] x: u8`).
fn skip_attributes(mut param: &[TokenTree]) -> &[TokenTree] {
    while let [TokenTree::Punct(p), TokenTree::Group(g), rest @ ..] = param {
        if p.as_char() != '#' || g.delimiter() != Delimiter::Bracket {
            break;
        }
        param = rest;
    }
    param
}

/// Whether a `:` that is not half of a `::` stands outside `<..>`: `pat: Type`.
fn has_type_colon(param: &[TokenTree]) -> bool {
    let mut depth = 0usize;
    for (i, tree) in param.iter().enumerate() {
        if let TokenTree::Punct(p) = tree {
            match p.as_char() {
                '<' => depth += 1,
                '>' if !(i > 0 && is_joint(&param[i - 1], '-')) => depth = depth.saturating_sub(1),
                ':' if depth == 0 => {
                    let path_sep =
                        p.spacing() == Spacing::Joint || (i > 0 && is_joint(&param[i - 1], ':'));
                    if !path_sep {
                        return true;
                    }
                }
                _ => {}
            }
        }
    }
    false
}

/// `self`, `mut self`, `&self`, `&mut self`, `&'a self`, `&'a mut self` (a trailing comma
/// allowed).
fn is_self_param(param: &[TokenTree]) -> bool {
    let words: Vec<String> = param
        .iter()
        .filter(|t| !is_punct(Some(t), ','))
        .map(|t| t.to_string())
        .collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    matches!(
        words.as_slice(),
        ["self"]
            | ["mut", "self"]
            | ["&", "self"]
            | ["&", "mut", "self"]
            | ["&", "'", _, "self"]
            | ["&", "'", _, "mut", "self"]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn fixed(src: &str) -> String {
        fix_2015(TokenStream::from_str(src).unwrap()).to_string()
    }

    #[test]
    fn keywords_of_later_editions_are_identifiers() {
        assert_eq!(fixed("fn async() {}"), "fn r#async () { }");
        assert_eq!(
            fixed("let dyn = 1; let try = 2;"),
            "let r#dyn = 1 ; let r#try = 2 ;"
        );
        // Still the keyword or the macro where 2015 means them too.
        assert_eq!(fixed("try!(x)"), "try ! (x)");
        assert_eq!(
            fixed("fn f(x: &dyn Fn(u8)) {}"),
            "fn f (x : & dyn Fn (u8)) { }"
        );
        assert_eq!(fixed("x.await"), "x . await");
    }

    #[test]
    fn bare_fn_trait_objects_get_dyn_in_type_position_only() {
        assert_eq!(fixed("type B = Fn(&u8);"), "type B = dyn Fn (& u8) ;");
        assert_eq!(
            fixed("type A = Fn(&u8) + Send + Sync;"),
            "type A = dyn Fn (& u8) + Send + Sync ;"
        );
        assert_eq!(
            fixed("Box<FnMut(u8) -> u8>"),
            "Box < dyn FnMut (u8) -> u8 >"
        );
        assert_eq!(fixed("&'a Fn()"), "&'a dyn Fn ()");
        assert_eq!(fixed("&mut FnOnce()"), "& mut dyn FnOnce ()");
        assert_eq!(fixed("&for<'a> Fn(&'a u8)"), "& dyn for <'a > Fn (&'a u8)");
        // Bounds, `impl`, and already-`dyn` objects are left alone.
        assert_eq!(
            fixed("fn f<F: Fn(u8)>(f: F) {}"),
            "fn f < F : Fn (u8) > (f : F) { }"
        );
        assert_eq!(fixed("where F: Send + Fn()"), "where F : Send + Fn ()");
        assert_eq!(
            fixed("fn f(x: impl Fn(u8)) {}"),
            "fn f (x : impl Fn (u8)) { }"
        );
        assert_eq!(fixed("if a == Fn(b) {}"), "if a == Fn (b) { }");
    }

    #[test]
    fn unnamed_trait_method_parameters_are_named_underscore() {
        assert_eq!(
            fixed("trait T { fn a(&self, u8, &str) -> u8; }"),
            "trait T { fn a (& self , _ : u8 , _ : & str) -> u8 ; }"
        );
        assert_eq!(
            fixed("trait T { fn c(HashMap<u8, u8>); fn d(::std::string::String); }"),
            "trait T { fn c (_ : HashMap < u8 , u8 >) ; fn d (_ : :: std :: string :: String) ; }"
        );
        assert_eq!(
            fixed("trait T { fn e<F: Fn() -> u8>(F); fn g(x: u8, &'a mut self); }"),
            "trait T { fn e < F : Fn () -> u8 > (_ : F) ; fn g (x : u8 , &'a mut self) ; }"
        );
        // fn pointer types, calls and tuple return types are not signatures.
        assert_eq!(fixed("type P = fn(u8);"), "type P = fn (u8) ;");
        // bit-set 0.8.0, src/lib.rs:91.
        assert_eq!(
            fixed("fn m<'a, B: X>(a: &'a B) -> (W<'a, B>, W<'b, B>) {}"),
            "fn m <'a , B : X > (a : &'a B) -> (W <'a , B >, W <'b , B >) { }"
        );
        assert_eq!(fixed("f(a, b)"), "f (a , b)");
    }

    #[test]
    fn every_2015_form_parses_after_the_fix() {
        let src = "type B = Fn(&u8);\n\
                   type Action = Fn(&u8) + Send + Sync;\n\
                   fn f(x: Box<Fn(u8)>) -> Box<FnMut(u8) -> u8 + Send> { loop {} }\n\
                   trait T { fn a(u8); fn b(&self, Vec<u8>); }\n\
                   fn async() {}\n\
                   fn g() { let dyn = 1; let try = 2; }\n";
        let tokens = fix_2015(TokenStream::from_str(src).unwrap());
        syn::parse2::<syn::File>(tokens).unwrap();
        assert!(syn::parse_str::<syn::File>(src).is_err());
    }
}
