//! Parsing one file with syn, without ever crashing the analyzer, and keeping what parses.
//!
//! A file always gives a tree and its failures ([`Parsed`]): parsing never fails the run.
//! When the file does not parse, the items that do are kept (see [`recovery`]), as rustc and
//! rust-analyzer keep them, and each broken item or region is one [`ParseFailure`].
//!
//! syn parses recursively, so a deeply nested expression needs a deep stack. The driver runs
//! parsing and analysis on threads with [`STACK_SIZE`] bytes of stack, and this module refuses
//! (with a `parse_error`) a file whose estimated nesting exceeds [`MAX_DEPTH`], which is chosen
//! so that the deepest accepted file fits that stack with a wide margin even in debug builds.
//! The estimate is an upper bound on syn's recursion for ordinary code: per delimited group and
//! per `;`/`,`-separated segment it counts the operator tokens and control-flow keywords (each
//! can open one level of recursion) plus the deepest nested group (see [`scan`]).
//!
//! The same byte scan finds the doc comments, which are blanked before lexing: no check reads
//! them, and they are a third of well-documented code (see [`blank_doc_comments`]).
//!
//! Each file is read in its crate's [`Edition`]: syn reads the 2018 language and later, and
//! [`edition`] respells what edition-2015 code writes differently.

mod bodies;
mod edition;
mod recovery;
mod scan;

use std::borrow::Cow;
use std::str::FromStr;

use proc_macro2::{TokenStream, TokenTree};

use crate::span::{FileId, Span};
pub use bodies::{for_each_fn_block, Bodies};
pub use edition::Edition;
pub(crate) use scan::words;
use scan::{
    blank, blank_or_squeeze, non_rust_prefix, scan, scan_finding, unbalanced, Scan, Unbalanced,
};

/// Stack of every parsing and analysis thread. Only touched pages are ever committed.
pub const STACK_SIZE: usize = 1 << 30;

/// Nesting (estimated as described above) beyond which a file is not parsed.
pub const MAX_DEPTH: usize = 8_000;

/// Lexing errors after which the rest of a file is given up: each costs a lexing of the file.
const MAX_LEX_ERRORS: usize = 16;

/// Why a file, or a part of it, could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseFailure {
    pub span: Span,
    pub message: String,
    pub kind: FailureKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// A syntax error: the item that holds it was skipped.
    Syntax,
    /// An unbalanced delimiter: the lines of the item around it were skipped.
    Delimiter,
    /// The whole file nests too deeply to parse safely, and was skipped.
    TooDeep,
}

/// A file's tree, made of the items that parsed, and what did not parse.
pub struct Parsed {
    pub syntax: syn::File,
    pub failures: Vec<ParseFailure>,
}

/// Parses `text` (the contents of `file`, written in `edition`) as a Rust source file.
///
/// Doc comments are blanked before lexing (see [`blank_doc_comments`]), so the tree has no
/// `#[doc]` attributes made from them; written-out `#[doc = ..]` attributes stay.
pub fn parse_file(file: FileId, text: &str, edition: Edition) -> Parsed {
    parse_with(file, text, edition, false).0
}

/// Parses `text` as [`parse_file`] does, but leaves out the fn bodies that the index does not
/// read (see [`bodies`]): the tree has an empty block for each of them, and [`fill_bodies`]
/// puts them in later. When leaving them out does not give a clean parse, the file is parsed
/// whole and no [`Bodies`] come back.
pub fn parse_skeleton(file: FileId, text: &str, edition: Edition) -> (Parsed, Option<Bodies>) {
    parse_with(file, text, edition, true)
}

fn parse_with(
    file: FileId,
    text: &str,
    edition: Edition,
    skeleton: bool,
) -> (Parsed, Option<Bodies>) {
    let empty = syn::File {
        shebang: None,
        frontmatter: None,
        attrs: Vec::new(),
        items: Vec::new(),
    };
    let prefix = non_rust_prefix(text);
    // The prefix is not Rust, so the scan starts after it.
    let (Scan { depth, docs }, found) = match skeleton {
        true => scan_finding(text, prefix.end, MAX_DEPTH),
        false => (scan(text, prefix.end, MAX_DEPTH), Vec::new()),
    };
    if depth > MAX_DEPTH {
        let parsed = Parsed {
            syntax: empty,
            failures: vec![ParseFailure {
                span: Span::new(file, 0..0),
                message: format!(
                    "this file nests too deeply to analyze safely (estimated depth {depth}, limit {MAX_DEPTH})"
                ),
                kind: FailureKind::TooDeep,
            }],
        };
        return (parsed, None);
    }
    let rust_from = prefix.end;
    let bodies = (!found.is_empty()).then(|| Bodies::new(found, &docs));
    let mut blanked: Vec<std::ops::Range<usize>> = std::iter::once(prefix)
        .chain(docs)
        .chain(bodies.iter().flat_map(Bodies::interiors))
        .collect();
    let mut failures = Vec::new();
    // Lex; on an error, blank the item around it and lex again, so that the rest is kept.
    // A skeleton of ASCII text leaves what it blanks out altogether (see `squeeze`); its
    // byte offsets are then not the file's, so on any error the file is parsed whole.
    let squeezed = skeleton && text.is_ascii();
    let (prepared, tokens) = loop {
        let prepared = blank_or_squeeze(text, blanked.iter().cloned(), squeezed);
        match TokenStream::from_str(&prepared) {
            Ok(tokens) => break (prepared, tokens),
            // Whatever is wrong, a whole parse finds it and says it as it always does.
            Err(_) if squeezed || bodies.is_some() => {
                return parse_with(file, text, edition, false)
            }
            Err(e) => {
                let unbalanced = unbalanced(&prepared, rust_from);
                // A closer with nothing open is all there is to skip; any other error
                // takes the item around it.
                let stray = matches!(unbalanced, Some(Unbalanced::Stray { .. }));
                let failure = lex_failure(file, &prepared, unbalanced, e);
                let at = failure.span.lo as usize;
                let region = if stray {
                    at..at + 1
                } else {
                    recovery::item_region(&prepared, rust_from, at)
                };
                failures.push(failure);
                if failures.len() >= MAX_LEX_ERRORS || region.is_empty() {
                    let parsed = Parsed {
                        syntax: empty,
                        failures,
                    };
                    return (parsed, None);
                }
                blanked.push(region);
            }
        }
    };
    let in_edition = |tokens| match edition {
        Edition::E2015 => edition::fix_2015(tokens),
        _ => tokens,
    };
    let syntax = match syn::parse2::<syn::File>(in_edition(tokens)) {
        Ok(syntax) => syntax,
        Err(_) if squeezed || bodies.is_some() => return parse_with(file, text, edition, false),
        Err(_) => {
            // Rare: lex the same text again rather than keep a copy of every file's tokens
            // for it.
            let tokens = TokenStream::from_str(&prepared).expect("this text lexed above");
            let (syntax, errors) = recovery::parse_items(in_edition(tokens));
            failures.extend(errors.into_iter().map(|e| ParseFailure {
                span: Span::of(file, e.span()),
                message: e.to_string(),
                kind: FailureKind::Syntax,
            }));
            syntax
        }
    };
    failures.sort_by_key(|f| f.span);
    (Parsed { syntax, failures }, bodies)
}

/// Parses the bodies that `skeleton` (a tree of `text`, `file`'s contents in `edition`, from
/// [`parse_skeleton`]) left out, and puts each into its fn (see [`bodies`]). `false` when
/// they do not line up: the caller then parses the file whole. [`Span::of`] must read
/// `file` (its line index in use).
pub fn fill_bodies(
    file: FileId,
    text: &str,
    edition: Edition,
    skeleton: &mut syn::File,
    bodies: &Bodies,
) -> bool {
    let outside = bodies.outside(text.len());
    let only_bodies = blank_or_squeeze(text, outside, text.is_ascii());
    let Ok(tokens) = TokenStream::from_str(&only_bodies) else {
        return false;
    };
    let tokens = match edition {
        Edition::E2015 => edition::fix_2015(tokens),
        _ => tokens,
    };
    // One brace group per body, in order.
    let mut blocks = Vec::with_capacity(bodies.len());
    for tree in tokens {
        let TokenTree::Group(group) = tree else {
            return false;
        };
        match syn::parse2::<syn::Block>(TokenTree::Group(group).into()) {
            Ok(block) => blocks.push(block),
            Err(_) => return false,
        }
    }
    bodies::graft(file, skeleton, bodies, blocks)
}

/// A lexing error, named the way rustc names it when it is an unbalanced delimiter (as
/// [`unbalanced`] found it in `text`): which one, where it opened, and where the file ended.
fn lex_failure(
    file: FileId,
    text: &str,
    unbalanced: Option<Unbalanced>,
    e: proc_macro2::LexError,
) -> ParseFailure {
    let line_col = |at: usize| {
        let before = &text[..at.min(text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, column)
    };
    let one_char = |at: usize| Span::new(file, at..at + 1);
    match unbalanced {
        Some(Unbalanced::Unclosed { open, delimiter }) => ParseFailure {
            span: one_char(open),
            message: format!(
                "unclosed delimiter: this `{delimiter}` (line {}) is never closed; the file ends at line {}",
                line_col(open).0,
                line_col(text.len()).0
            ),
            kind: FailureKind::Delimiter,
        },
        Some(Unbalanced::Mismatched {
            open,
            opener,
            close,
            closer,
        }) => {
            let (line, column) = line_col(open);
            ParseFailure {
                span: one_char(close),
                message: format!(
                    "mismatched closing delimiter: this `{closer}` closes the `{opener}` opened at line {line}, column {column}"
                ),
                kind: FailureKind::Delimiter,
            }
        }
        Some(Unbalanced::Unterminated { open, what }) => ParseFailure {
            span: one_char(open),
            message: format!(
                "unterminated {what}: it opens at line {} and is never closed",
                line_col(open).0
            ),
            kind: FailureKind::Syntax,
        },
        Some(Unbalanced::Stray { close, closer }) => ParseFailure {
            span: one_char(close),
            message: format!("unexpected closing delimiter: this `{closer}` closes nothing"),
            kind: FailureKind::Delimiter,
        },
        // An unterminated string or comment, a bad literal: the lexer's own words.
        None => ParseFailure {
            span: Span::of(file, e.span()),
            message: e.to_string(),
            kind: FailureKind::Syntax,
        },
    }
}

/// `text` with its doc comments blanked, as [`parse_file`] lexes it.
pub fn blank_doc_comments(text: &str) -> Cow<'_, str> {
    blank(text, scan(text, 0, MAX_DEPTH).docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The number of items, or the first failure.
    fn parse(text: &str) -> Result<usize, ParseFailure> {
        parse_in(text, Edition::E2021).map(|(items, _)| items)
    }

    /// The items and the failures, in `edition`; `Err` with the first failure if any.
    fn parse_in(text: &str, edition: Edition) -> Result<(usize, Vec<ParseFailure>), ParseFailure> {
        // Parsing deep input needs the analyzer's stack, as in the driver.
        let text = text.to_string();
        let (items, failures) = std::thread::Builder::new()
            .stack_size(STACK_SIZE)
            .spawn(move || {
                let parsed = parse_file(FileId(0), &text, edition);
                (parsed.syntax.items.len(), parsed.failures)
            })
            .unwrap()
            .join()
            .unwrap();
        match failures.first() {
            Some(first) => Err(first.clone()),
            None => Ok((items, failures)),
        }
    }

    #[test]
    fn offsets_survive_bom_and_shebang() {
        let text = "\u{feff}#!/usr/bin/env run-cargo-script\nfn main() { let x = ; }\n";
        let err = parse(text).unwrap_err();
        assert_eq!(&text[err.span.range()], ";");
    }

    #[test]
    fn cargo_script_frontmatter_is_skipped() {
        let text = "#!/usr/bin/env -S cargo +nightly -Zscript\n---\n[dependencies]\nénorme = \"1\"\n---\nfn main() { let x = ; }\n";
        let err = parse(text).unwrap_err();
        assert_eq!(&text[err.span.range()], ";");
        assert!(parse("---\n---\nfn main() {}\n").is_ok());
        assert!(parse("fn main() { let x = 1 --- 2; }\n").is_ok());
    }

    #[test]
    fn inner_attribute_is_not_a_shebang() {
        assert!(parse("#![allow(dead_code)]\nfn main() {}\n").is_ok());
    }

    #[test]
    fn lex_errors_point_at_the_problem() {
        let text = "fn main() {\n    let s = \"unterminated;\n}\n";
        let err = parse(text).unwrap_err();
        assert_eq!(err.kind, FailureKind::Syntax);
        assert_eq!(err.span.lo as usize, text.find('"').unwrap(), "{err:?}");
        assert_eq!(
            err.message,
            "unterminated string: it opens at line 2 and is never closed"
        );
    }

    fn nested(open: &str, inner: &str, close: &str, n: usize) -> String {
        format!(
            "fn main() {{ let _ = {}{}{}; }}",
            open.repeat(n),
            inner,
            close.repeat(n)
        )
    }

    #[test]
    fn thousands_of_nested_parens_blocks_and_closures_parse() {
        for (open, inner, close) in [
            ("(", "1", ")"),
            ("{", "1", "}"),
            ("|| ", "1", ""),
            ("[", "1", "]"),
            ("-", "1", ""),
        ] {
            let src = nested(open, inner, close, 3000);
            assert!(parse(&src).is_ok(), "{open}");
        }
    }

    #[test]
    fn absurd_nesting_is_refused_not_a_crash() {
        let src = nested("(", "1", ")", 100_000);
        let err = parse(&src).unwrap_err();
        assert_eq!(err.kind, FailureKind::TooDeep);
        let src = nested("!", "true", "", 100_000);
        assert_eq!(parse(&src).unwrap_err().kind, FailureKind::TooDeep);
    }

    #[test]
    fn brackets_in_literals_and_comments_do_not_count() {
        let opens = "(".repeat(20_000);
        let src = format!(
            "// {opens}\n/* {opens} /* nested */ */\nconst A: &str = \"{opens}\\\"\";\nconst B: &str = r#\"{opens}\"#;\nconst C: char = '(';\nfn f<'a>(x: &'a str) -> &'a str {{ x }}\nconst D: &[u8] = b\"{opens}\";\n"
        );
        assert!(scan(&src, 0, MAX_DEPTH).depth < 10);
        assert!(parse(&src).is_ok());
    }

    fn doc_attrs(file: &syn::File) -> Vec<String> {
        use syn::visit::Visit;
        struct Docs(Vec<String>);
        impl Visit<'_> for Docs {
            fn visit_attribute(&mut self, a: &syn::Attribute) {
                if a.path().is_ident("doc") {
                    self.0
                        .push(quote::ToTokens::to_token_stream(&a.meta).to_string());
                }
            }
        }
        let mut docs = Docs(Vec::new());
        docs.visit_file(file);
        docs.0
    }

    #[test]
    fn doc_comments_are_blanked_and_written_doc_attributes_kept() {
        let text = "//! crate\n/// één\n/** block\n doc */\n/*! inner */\n#[doc = \"kept\"]\nstruct A;\n/// ünïcode\nfn f() { let x = ; }\n";
        let blanked = blank_doc_comments(text);
        assert_eq!(blanked.len(), text.len());
        assert_eq!(blanked.lines().count(), text.lines().count());
        assert!(
            !blanked.contains("crate") && !blanked.contains("block") && !blanked.contains("inner")
        );
        // Offsets are the file's: the error after the doc comments points at the `;`.
        let err = parse(text).unwrap_err();
        assert_eq!(&text[err.span.range()], ";");
        let parsed = parse_file(FileId(0), &text.replace("= ;", "= 1;"), Edition::E2021);
        assert!(parsed.failures.is_empty());
        assert_eq!(doc_attrs(&parsed.syntax), ["doc = \"kept\""]);
    }

    #[test]
    fn doc_comment_look_alikes_are_left_alone() {
        let text = "//// rule\n/**/\n/*** stars */\n/* /// in a comment */\nconst A: &str = \"/// in a string //! /** */\";\nconst B: &str = r#\"/// raw \"# ;\nconst C: char = '/';\nconst D: &[u8] = b\"//!\";\nfn f<'a>(x: &'a str) -> &'a str { x } // /// trailing\n";
        assert_eq!(blank_doc_comments(text), text);
        // An unterminated doc comment is still the lexer's error.
        assert!(parse("/** never closed\nfn f() {}\n").is_err());
    }

    /// Items, statements and match arms one after the other are parsed in a loop, however
    /// many there are; an `else if` chain nests.
    #[test]
    fn long_runs_of_items_statements_and_arms_are_not_deep() {
        // Each would count 2 or more levels per repetition without the rule: 12,000 and up.
        let fns = "#[inline]\nfn f(x: u32) -> u32 { if x > 1 { x * 2 } else { x + 1 } }\n";
        assert!(parse(&fns.repeat(6_000)).is_ok());
        let statements = "if a > b { v.push(a - b) }\n".repeat(6_000);
        assert!(parse(&format!("fn f() {{ {statements} }}")).is_ok());
        let arms = "Some(x) if x > 0 => {} ".repeat(6_000);
        assert!(parse(&format!("fn f() {{ match y {{ {arms} _ => {{}} }} }}")).is_ok());
        let chain = format!("fn f() {{ if a {{}}{} }}", " else if a {}".repeat(20_000));
        assert_eq!(parse(&chain).unwrap_err().kind, FailureKind::TooDeep);
    }

    #[test]
    fn long_flat_lists_are_not_deep() {
        let items: Vec<String> = (0..50_000).map(|i| format!("-{i}")).collect();
        let src = format!("static T: [i32; 50000] = [{}];", items.join(", "));
        assert!(parse(&src).is_ok());
    }

    /// Items of `text` as parsed in `edition`, by name.
    fn item_names(text: &str, edition: Edition) -> (Vec<String>, Vec<ParseFailure>) {
        let parsed = parse_file(FileId(0), text, edition);
        let names = parsed
            .syntax
            .items
            .iter()
            .filter_map(|i| match i {
                syn::Item::Fn(f) => Some(f.sig.ident.to_string()),
                syn::Item::Type(t) => Some(t.ident.to_string()),
                syn::Item::Trait(t) => Some(t.ident.to_string()),
                _ => None,
            })
            .collect();
        (names, parsed.failures)
    }

    #[test]
    fn edition_2015_code_parses_in_its_edition() {
        // signal-hook-registry 1.4.8, src/lib.rs:140.
        let text = "type Action = Fn(&siginfo_t) + Send + Sync;\ntype B = Fn(&u8);\n\
                    trait T { fn get(&self, usize) -> u8; }\nfn async() {}\n";
        let (names, failures) = item_names(text, Edition::E2015);
        assert!(failures.is_empty(), "{failures:?}");
        // 2018 spells the identifier `async` as `r#async`.
        assert_eq!(names, ["Action", "B", "T", "r#async"]);
        // Later editions reject the same text, as rustc does.
        let (_, failures) = item_names(text, Edition::E2021);
        assert_eq!(failures.len(), 4, "{failures:?}");
    }

    #[test]
    fn a_syntax_error_loses_only_its_own_item() {
        let text = "fn a() {}\nfn b() { let x = ; }\nfn c() {}\n";
        let (names, failures) = item_names(text, Edition::E2021);
        assert_eq!(names, ["a", "c"]);
        assert_eq!(failures.len(), 1);
        assert_eq!(&text[failures[0].span.range()], ";");
    }

    #[test]
    fn an_unclosed_delimiter_says_which_where_it_opened_and_where_the_file_ends() {
        let text = "fn a() {}\n\nfn b() {\n    if x {\n        y();\n}\n\nfn c() {}\n";
        let (names, failures) = item_names(text, Edition::E2021);
        assert_eq!(names, ["a", "c"], "{failures:?}");
        assert_eq!(failures.len(), 1, "{failures:?}");
        let f = &failures[0];
        assert_eq!(f.kind, FailureKind::Delimiter);
        assert_eq!(&text[f.span.range()], "{");
        assert_eq!(f.span.lo as usize, text.find("fn b() {").unwrap() + 7);
        assert_eq!(
            f.message,
            "unclosed delimiter: this `{` (line 3) is never closed; the file ends at line 9"
        );
    }

    #[test]
    fn a_mismatched_or_stray_closer_is_named_with_its_opener() {
        let text = "fn a() {}\nfn b() { let v = [1, 2); }\nfn c() {}\n";
        let (names, failures) = item_names(text, Edition::E2021);
        assert_eq!(names, ["a", "c"], "{failures:?}");
        assert_eq!(
            failures[0].message,
            "mismatched closing delimiter: this `)` closes the `[` opened at line 2, column 18"
        );
        assert_eq!(&text[failures[0].span.range()], ")");
        let text = "fn a() {}\n}\nfn c() {}\n";
        let (names, failures) = item_names(text, Edition::E2021);
        assert_eq!(names, ["a", "c"], "{failures:?}");
        assert_eq!(
            failures[0].message,
            "unexpected closing delimiter: this `}` closes nothing"
        );
    }

    #[test]
    fn a_file_with_many_lexing_errors_keeps_its_sound_items() {
        let text = "fn a() { \"x }\nfn b() {}\nfn c() { ( }\nfn d() {}\nfn e() { ] }\n";
        let (names, failures) = item_names(text, Edition::E2021);
        assert_eq!(names, ["b", "d"], "{failures:?}");
        assert_eq!(failures.len(), 3, "{failures:?}");
    }
}
