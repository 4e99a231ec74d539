//! Fn bodies parsed when their file is linted, not when the workspace is indexed.
//!
//! The index needs a file's items and signatures; only the checks need what fn bodies say.
//! Parsing every body up front meant holding every tree of a batch until the last file was
//! indexed: a heap that only grows (tokio: ~120 MB of trees for 4.5 MB of source), every page
//! of it faulted in and zeroed, and then walked again, out of cache, by the checks. So a file
//! is parsed in two halves, each byte lexed once:
//! - **the skeleton**, when the file is read: the text with the inside of its fn bodies
//!   blanked (found by [`Finder`] during the byte scan), so that each fn has an empty `{ }`.
//!   Summaries, test regions and the index read it.
//! - **the bodies**, when the file's checks run ([`super::fill_bodies`]): the text with
//!   everything *but* those bodies blanked, lexed into one brace group per body, each parsed
//!   as a block and put into its fn. The checks then see the tree a whole-file parse gives,
//!   while it is in cache, and the bodies are freed before the next file's are parsed.
//!
//! Blanking keeps every line and column, and in text that is not ASCII (ASCII text is
//! squeezed instead) every byte offset: spans are the same in both halves.
//!
//! A body stays in the skeleton when the index may need it, or when it is not plainly a fn's:
//! - it declares items (its words include `fn`, `struct`, `use`, `impl`, ...: the index reads
//!   a body's items as a scope of their own);
//! - it is inside a macro's tokens, other than the `cfg_*!` and `cfg_if!` item macros at
//!   module level, which the index expands in place (`crate::index::expand_cfg_macros`);
//! - its `{` follows `<` or `=` (a const argument in the signature, not the body);
//! - it starts with an inner attribute (`#![allow(..)]`), which syn gives to the fn.
//!
//! When anything does not line up (the skeleton does not lex or parse, a body does not parse,
//! or a body finds no fn to go into) the file is parsed whole instead, as it was before: the
//! two halves are a way to the same tree, never a different one.

use std::ops::Range;

use crate::span::{FileId, Span};

/// The fn bodies a skeleton left out, for [`super::fill_bodies`].
pub struct Bodies {
    /// Each body's `{` and `}` (byte offsets), in the order of the text.
    braces: Vec<(u32, u32)>,
    /// The doc comments inside those bodies, blanked in both halves.
    docs: Vec<Range<usize>>,
}

impl Bodies {
    pub(super) fn new(braces: Vec<(usize, usize)>, all_docs: &[Range<usize>]) -> Bodies {
        let inside = |d: &Range<usize>| {
            let k = braces.partition_point(|&(_, close)| close < d.start);
            braces.get(k).is_some_and(|&(open, _)| open < d.start)
        };
        Bodies {
            docs: all_docs.iter().filter(|d| inside(d)).cloned().collect(),
            braces: braces
                .into_iter()
                .map(|(open, close)| (open as u32, close as u32))
                .collect(),
        }
    }

    /// The inside of each body (what the skeleton blanks).
    pub(super) fn interiors(&self) -> impl Iterator<Item = Range<usize>> + '_ {
        self.braces
            .iter()
            .map(|&(open, close)| open as usize + 1..close as usize)
    }

    /// What the second half blanks: everything but the bodies, and the doc comments in them.
    pub(super) fn outside(&self, len: usize) -> Vec<Range<usize>> {
        let mut outside = Vec::with_capacity(self.braces.len() + 1 + self.docs.len());
        let mut at = 0;
        for &(open, close) in &self.braces {
            outside.push(at..open as usize);
            at = close as usize + 1;
        }
        outside.push(at..len);
        outside.extend(self.docs.iter().cloned());
        outside
    }

    pub fn len(&self) -> usize {
        self.braces.len()
    }

    pub fn is_empty(&self) -> bool {
        self.braces.is_empty()
    }
}

/// The kind of group the finder is in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// A file, an inline `mod`, or a `cfg_*!` macro at module level: items, and item macros
    /// the index expands.
    Module,
    /// An `impl`, `trait` or `extern` block: items, no expanded macros.
    Impls,
    /// A `cfg_if!` at module level: `if #[cfg(..)] { items } else { items }`.
    CfgIf,
    /// A const argument in a fn's signature (`-> A<{ N }>`): the fn's body is still to come.
    Signature,
    /// Anything else: parentheses, a struct's fields, a macro's tokens, a fn body.
    Other,
}

/// What the finder knows of the item it is in, since its last `;` or `}`.
#[derive(Default)]
struct Item<'t> {
    /// `fn name` was seen: the next `{` at this level is its body.
    named_fn: bool,
    /// `impl`, `trait`, `mod` or `extern` was seen: the next `{` holds items.
    holds_items: Option<Scope>,
    /// The last word, when nothing but blanks came after it.
    word: Option<&'t [u8]>,
    /// The word before a `!` that directly follows it: a macro's name.
    bang: Option<&'t [u8]>,
    /// The token before: its byte when it was punctuation, 0 when a word or literal.
    punct: u8,
}

/// A fn body the finder is in.
struct Body {
    /// Its depth in [`Finder::scopes`].
    depth: usize,
    /// Its `{`.
    open: usize,
    /// Whether it must stay: a word in it starts an item, or it starts with `#!`.
    stays: bool,
    /// Its tokens so far, up to 2, and whether the first was a `#`.
    seen: u8,
    hash_first: bool,
}

impl Body {
    /// A token directly inside the body (`c` if punctuation): a body that starts with `#!`
    /// has inner attributes, which are its fn's in syn's tree, so it stays.
    fn token(&mut self, at_depth: usize, c: Option<u8>) {
        if self.seen >= 2 || at_depth != self.depth + 1 {
            return;
        }
        self.seen += 1;
        match (self.seen, c) {
            (1, Some(b'#')) => self.hash_first = true,
            (2, Some(b'!')) if self.hash_first => self.stays = true,
            _ => {}
        }
    }
}

/// The fn bodies a skeleton may leave out (see the module doc), found token by token as
/// [`super::scan::scan`] walks the text: it tells the finder each word, literal, punctuation
/// and delimiter, skipping comments and literals as the lexer does.
pub(super) struct Finder<'t> {
    /// One per open group, the file's first.
    scopes: Vec<Scope>,
    item: Item<'t>,
    /// The fn body being read. Bodies are not looked for inside bodies.
    body: Option<Body>,
    /// `(open, close)` brace offsets, in order.
    pub(super) found: Vec<(usize, usize)>,
}

impl<'t> Finder<'t> {
    pub(super) fn new() -> Finder<'t> {
        Finder {
            scopes: vec![Scope::Module],
            item: Item::default(),
            body: None,
            found: Vec::new(),
        }
    }

    fn in_items(&self) -> bool {
        self.body.is_none()
            && !matches!(
                self.scopes.last().expect("the file's scope"),
                Scope::Other | Scope::Signature
            )
    }

    /// A word (not a literal's prefix); `lifetime` when it is a lifetime's name.
    pub(super) fn word(&mut self, word: &'t [u8], lifetime: bool) {
        if let Some(body) = &mut self.body {
            body.stays |= !lifetime && starts_item(word);
            body.token(self.scopes.len(), None);
            return;
        }
        if !self.in_items() {
            return;
        }
        let item = &mut self.item;
        if item.word == Some(b"fn") {
            item.named_fn = true;
        }
        item.holds_items = match word {
            b"mod" => Some(Scope::Module),
            b"impl" | b"trait" | b"extern" => Some(Scope::Impls),
            _ => item.holds_items,
        };
        item.word = Some(word);
        item.punct = 0;
    }

    /// A string, char or number literal.
    pub(super) fn literal(&mut self) {
        if let Some(body) = &mut self.body {
            body.token(self.scopes.len(), None);
        }
        (self.item.word, self.item.punct) = (None, 0);
    }

    /// A punctuation byte that opens or closes nothing.
    pub(super) fn punct(&mut self, c: u8) {
        if let Some(body) = &mut self.body {
            body.token(self.scopes.len(), Some(c));
        }
        if !self.in_items() {
            return;
        }
        match c {
            b';' => self.item = Item::default(),
            b'!' => {
                self.item.bang = self.item.word.take();
                self.item.punct = c;
            }
            _ => (self.item.word, self.item.punct) = (None, c),
        }
    }

    /// `(`, `[` or `{` at byte `at`.
    pub(super) fn open(&mut self, c: u8, at: usize) {
        if let Some(body) = &mut self.body {
            body.token(self.scopes.len(), None);
        }
        if c != b'{' || !self.in_items() {
            self.scopes.push(Scope::Other);
            return;
        }
        let scope = *self.scopes.last().expect("the file's scope");
        let item = &self.item;
        let inner = if let (b'!', Some(name)) = (item.punct, item.bang) {
            // A macro's tokens: only the index's cfg macros hold items it reads. (A fn
            // that returns `!` has no name before it.)
            match name {
                b"cfg_if" if scope == Scope::Module => Scope::CfgIf,
                _ if scope == Scope::Module && name.starts_with(b"cfg_") => Scope::Module,
                _ => Scope::Other,
            }
        } else if item.named_fn {
            if matches!(item.punct, b'<' | b'=') {
                // `fn f() -> A<{ N }>`: a const argument; the body is still to come. (After
                // a `,` it is the body: rustfmt ends a `where` clause so.)
                self.scopes.push(Scope::Signature);
                return;
            }
            self.body = Some(Body {
                depth: self.scopes.len(),
                open: at,
                stays: false,
                seen: 0,
                hash_first: false,
            });
            Scope::Other
        } else if scope == Scope::CfgIf {
            Scope::Module
        } else {
            item.holds_items.unwrap_or(Scope::Other)
        };
        self.item = Item::default();
        self.scopes.push(inner);
    }

    /// `)`, `]` or `}` at byte `at`; an unmatched one at file level is the lexer's to report.
    pub(super) fn close(&mut self, c: u8, at: usize) {
        if self.scopes.len() == 1 {
            return;
        }
        let closed = self.scopes.pop();
        if let Some(body) = &self.body {
            if body.depth < self.scopes.len() {
                return;
            }
            // A body with no token saves nothing.
            if !body.stays && body.seen > 0 {
                self.found.push((body.open, at));
            }
            self.body = None;
        }
        if self.in_items() {
            match c {
                b'}' if closed != Some(Scope::Signature) => self.item = Item::default(),
                _ => (self.item.word, self.item.punct) = (None, c),
            }
        }
    }
}

/// The `(open, close)` brace offsets of the fn bodies in `text` (from byte `from` on) that a
/// skeleton may leave out.
#[cfg(test)]
fn find(text: &str, from: usize) -> Vec<(usize, usize)> {
    super::scan::scan_finding(text, from, super::MAX_DEPTH).1
}

/// Whether `word` starts an item the index reads in a body.
fn starts_item(word: &[u8]) -> bool {
    matches!(
        word,
        b"fn"
            | b"struct"
            | b"enum"
            | b"union"
            | b"trait"
            | b"impl"
            | b"mod"
            | b"use"
            | b"macro_rules"
            | b"static"
            | b"const"
            | b"type"
            | b"extern"
    )
}

/// Puts `blocks`, the bodies `bodies` lists (in its order), into the fns of `skeleton` whose
/// `{` they start at. `false` when they do not line up. [`Span::of`] must read `file`.
pub(super) fn graft(
    file: FileId,
    skeleton: &mut syn::File,
    bodies: &Bodies,
    blocks: Vec<syn::Block>,
) -> bool {
    if blocks.len() != bodies.braces.len() {
        return false;
    }
    let mut graft = Graft {
        file,
        bodies,
        blocks: blocks.into_iter().map(Some).collect(),
        placed: 0,
    };
    for_each_fn_block(&mut skeleton.items, &mut |block| graft.block(block));
    graft.placed == bodies.braces.len()
}

/// Calls `f` on the block of each fn whose body a skeleton may leave out: free fns, methods,
/// traits' default methods, in inline modules too; not the fns declared inside a body, which
/// are part of that body.
pub fn for_each_fn_block(items: &mut [syn::Item], f: &mut impl FnMut(&mut syn::Block)) {
    for item in items {
        match item {
            syn::Item::Fn(fun) => f(&mut fun.block),
            syn::Item::Mod(m) => {
                if let Some((_, content)) = &mut m.content {
                    for_each_fn_block(content, f);
                }
            }
            syn::Item::Impl(i) => {
                for item in &mut i.items {
                    if let syn::ImplItem::Fn(fun) = item {
                        f(&mut fun.block);
                    }
                }
            }
            syn::Item::Trait(t) => {
                for item in &mut t.items {
                    if let syn::TraitItem::Fn(syn::TraitItemFn {
                        default: Some(block),
                        ..
                    }) = item
                    {
                        f(block);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Puts parsed bodies into the fns whose `{` they start at.
struct Graft<'b> {
    file: FileId,
    bodies: &'b Bodies,
    blocks: Vec<Option<syn::Block>>,
    placed: usize,
}

impl Graft<'_> {
    fn block(&mut self, block: &mut syn::Block) {
        if !block.stmts.is_empty() {
            return;
        }
        let open = Span::of(self.file, block.brace_token.span.open()).lo;
        let Ok(k) = self.bodies.braces.binary_search_by_key(&open, |&(o, _)| o) else {
            return;
        };
        if let Some(body) = self.blocks[k].take() {
            *block = body;
            self.placed += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{fill_bodies as fill, parse_file, parse_skeleton, Edition};
    use syn::visit::Visit;

    #[test]
    fn fn_blocks_are_those_of_fns_in_modules_impls_and_trait_defaults() {
        let text = "fn a() { a(); fn nested() { n(); } }\n\
                    mod m { fn b() { b(); } mod inner { fn c() { c(); } } }\n\
                    impl S { fn d(&self) { d(); } const K: u8 = { k(); 0 }; }\n\
                    trait T { fn e() { e(); } fn no_default(); }\n\
                    const C: u8 = { fn in_const() { x(); } 0 };\n\
                    mod outlined;\n";
        let mut file = syn::parse_file(text).unwrap();
        let mut firsts = Vec::new();
        for_each_fn_block(&mut file.items, &mut |block| {
            let first = &block.stmts[0];
            firsts.push(quote::quote!(#first).to_string());
        });
        assert_eq!(firsts, ["a () ;", "b () ;", "c () ;", "d () ;", "e () ;"]);
    }

    /// What `find` leaves out of `text`: each body's inside, trimmed.
    fn left_out(text: &str) -> Vec<String> {
        find(text, 0)
            .into_iter()
            .map(|(open, close)| text[open + 1..close].trim().to_string())
            .collect()
    }

    #[test]
    fn plain_bodies_are_left_out_wherever_items_are() {
        let text = r#"
            fn free() -> u8 { 1 + 1 }
            pub(crate) async unsafe fn qualified<T: Into<u8>>(t: T) -> u8
            where
                T: Copy,
            {
                t.into()
            }
            extern "C" fn callback() { work() }
            mod inner { fn nested() { a() } }
            impl S { fn method(&self) -> &str { "s" } const K: u8 = { 3 }; }
            trait T { fn required(&self); fn provided(&self) { self.required() } }
            cfg_rt! { fn gated() { b() } }
            cfg_if::cfg_if! { if #[cfg(unix)] { fn unix() { c() } } else { fn other() { d() } } }
            fn lifetimes(s: &'static str) -> &'static str { s }
        "#;
        assert_eq!(
            left_out(text),
            [
                "1 + 1",
                "t.into()",
                "work()",
                "a()",
                "\"s\"",
                "self.required()",
                "b()",
                "c()",
                "d()",
                "s",
            ]
        );
    }

    #[test]
    fn bodies_the_index_reads_or_that_are_not_plainly_a_fns_stay() {
        let text = r#"
            fn declares() { struct Local; impl Local { fn m() {} } }
            fn imports() { use std::fmt::Write; x() }
            fn constant() { const N: usize = 3; }
            fn const_arg() -> A<{ N }> { body() }
            fn never() -> ! { loop {} }
            fn unit() { () }
            fn inner_attribute() { #![allow(unused)] i() }
            fn inner_attribute_after_a_comment() {
                // why
                #![allow(unused)]
                j()
            }
            fn empty() {}
            macro_rules! m { () => { fn in_rules() { e() } } }
            other! { fn in_macro() { f() } }
            impl S { cfg_rt! { fn in_impl_macro() { g() } } }
            const C: fn() = { fn in_const() { h() } in_const };
            struct Fields { a: u8 }
        "#;
        // The fn after the const argument's braces: its body is still found. And a fn that
        // returns `!`, which is not a macro's `!`.
        assert_eq!(left_out(text), ["body()", "loop {}", "()"]);
    }

    /// [`compare`] on text that parses cleanly and has bodies to leave out.
    fn both(text: &str, edition: Edition) -> (bool, Vec<Span>, Vec<Span>, usize) {
        compare(text, edition).expect("a clean parse, with bodies to leave out")
    }

    /// Parses `text` whole, and as a skeleton filled, on a deep stack: whether the two trees
    /// are equal, the spans of every identifier and item in each, and how many bodies were
    /// left out. `None` when the whole parse fails or no body is left out.
    fn compare(text: &str, edition: Edition) -> Option<(bool, Vec<Span>, Vec<Span>, usize)> {
        /// Every identifier's span, and every item's whole span (which spans both halves).
        struct Idents(Vec<Span>);
        impl Visit<'_> for Idents {
            fn visit_ident(&mut self, i: &proc_macro2::Ident) {
                self.0.push(Span::of(FileId(0), i.span()));
            }
            fn visit_item(&mut self, i: &syn::Item) {
                self.0.push(Span::of_tokens(FileId(0), i));
                syn::visit::visit_item(self, i);
            }
            fn visit_impl_item_fn(&mut self, f: &syn::ImplItemFn) {
                self.0.push(Span::of_tokens(FileId(0), f));
                syn::visit::visit_impl_item_fn(self, f);
            }
            fn visit_trait_item_fn(&mut self, f: &syn::TraitItemFn) {
                self.0.push(Span::of_tokens(FileId(0), f));
                syn::visit::visit_trait_item_fn(self, f);
            }
        }
        let text = text.to_string();
        std::thread::Builder::new()
            .stack_size(crate::parse::STACK_SIZE)
            .spawn(move || {
                let file = FileId(0);
                let arc: std::sync::Arc<str> = text.as_str().into();
                let starts: std::sync::Arc<[u32]> = std::iter::once(0)
                    .chain(text.match_indices('\n').map(|(i, _)| i as u32 + 1))
                    .collect();
                let _lines = crate::span::use_line_index(file, &arc, &starts);
                // As the driver reads them: with the index's cfg macros expanded.
                let mut whole = parse_file(file, &text, edition);
                if !whole.failures.is_empty() {
                    return None;
                }
                crate::index::expand_cfg_macros(&mut whole.syntax.items);
                let (skeleton, bodies) = parse_skeleton(file, &text, edition);
                assert!(skeleton.failures.is_empty());
                let bodies = bodies?;
                let mut filled = skeleton.syntax;
                crate::index::expand_cfg_macros(&mut filled.items);
                assert!(fill(file, &text, edition, &mut filled, &bodies));
                let spans = |f: &syn::File| {
                    let mut v = Idents(Vec::new());
                    v.visit_file(f);
                    v.0
                };
                let (a, b) = (spans(&whole.syntax), spans(&filled));
                Some((whole.syntax == filled, a, b, bodies.len()))
            })
            .unwrap()
            .join()
            .unwrap()
    }

    const SHAPES: &str = r##"//! crate docs
use std::fmt;
/// A type.
pub struct S { a: u8 }
impl fmt::Display for S {
    /// Formats.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        /// a doc comment on a statement
        let s = r#"raw { " string"#;
        write!(f, "{} {}", self.a, s)
    }
}
fn one_line() -> u8 { let c = '{'; if c == '}' { 1 } else { 2 } }
fn closure() -> impl Fn(u8) -> u8 { move |x| { x + 1 } }
fn nested_blocks() { let v = vec![1, 2]; for x in v { match x { 1 => {}, _ => { loop { break } } } } }
trait T { fn d(&self) -> u8 { /* { */ 0 } }
cfg_rt! {
    pub fn gated() -> u8 { 7 }
}
fn declares() { struct L; let _ = L; }
"##;

    #[test]
    fn a_filled_skeleton_is_the_whole_tree_with_the_same_spans() {
        let (same, a, b, left_out) = both(SHAPES, Edition::E2021);
        assert_eq!(left_out, 6);
        assert!(same);
        assert_eq!(a, b);
    }

    #[test]
    fn so_it_is_in_edition_2015_and_in_text_that_is_not_ascii() {
        let text = "fn old() { let async = 1; let b: Box<Trait> = x(); }\nfn f() { let s = \"é\"; g(s) }\n";
        let (same, a, b, _) = both(text, Edition::E2015);
        assert!(same);
        assert_eq!(a, b);
        let (same, a, b, _) = both(&format!("// ünï\n{SHAPES}"), Edition::E2021);
        assert!(same);
        assert_eq!(a, b);
    }

    /// Every `.rs` file of this workspace (fixtures of broken code included), and of the
    /// folders in `GOMEM_ROUND_TRIP_DIRS` (`:`-separated; cargo's registry, say): where the
    /// whole parse is clean, the filled skeleton is the same tree with the same spans, and
    /// the halves line up.
    #[test]
    fn every_file_here_fills_to_its_whole_tree() {
        // As the command finds them: `.rs` files, skipping `target/` and hidden folders.
        let mut folders = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")];
        let extra = std::env::var("GOMEM_ROUND_TRIP_DIRS").unwrap_or_default();
        folders.extend(extra.split(':').filter(|d| !d.is_empty()).map(Into::into));
        let files = crate::workspace::Workspace::from_paths(&folders).plain_files;
        let (mut checked, mut left_out) = (0, 0);
        for path in &files {
            let Ok(text) = std::fs::read_to_string(path) else {
                continue;
            };
            let outcome = std::panic::catch_unwind(|| round_trip(&text));
            match outcome {
                Ok(Some(n)) => {
                    checked += 1;
                    left_out += n;
                }
                Ok(None) => {}
                Err(_) => panic!("{} does not fill to its whole tree", path.display()),
            }
        }
        assert!(
            checked > 100 && left_out > 1000,
            "{checked} files, {left_out} bodies"
        );
    }

    /// [`compare`]'s check on one file: the bodies left out, or `None` when there are none
    /// (or the whole parse fails). Panics on a mismatch.
    fn round_trip(text: &str) -> Option<usize> {
        let (same, a, b, left_out) = compare(text, Edition::E2021)?;
        assert!(same && a == b);
        Some(left_out)
    }

    #[test]
    fn a_body_that_does_not_parse_makes_the_file_parse_whole() {
        let text = "fn ok() { a() }\nfn broken() { let = ; }\n";
        std::thread::Builder::new()
            .stack_size(crate::parse::STACK_SIZE)
            .spawn(move || {
                let (skeleton, bodies) = parse_skeleton(FileId(0), text, Edition::E2021);
                assert!(skeleton.failures.is_empty());
                let mut tree = skeleton.syntax;
                assert!(!fill(
                    FileId(0),
                    text,
                    Edition::E2021,
                    &mut tree,
                    &bodies.unwrap()
                ));
                // Outside a body, the skeleton itself is the whole parse, failures and all.
                let (whole, bodies) =
                    parse_skeleton(FileId(0), "fn f() { a() }\nstruct = ;", Edition::E2021);
                assert!(bodies.is_none() && !whole.failures.is_empty());
            })
            .unwrap()
            .join()
            .unwrap();
    }
}
