//! Parsing one file with syn, without ever crashing the analyzer.
//!
//! syn parses recursively, so a deeply nested expression needs a deep stack. The driver runs
//! parsing and analysis on threads with [`STACK_SIZE`] bytes of stack, and this module refuses
//! (with a `parse_error`) a file whose estimated nesting exceeds [`MAX_DEPTH`], which is chosen
//! so that the deepest accepted file fits that stack with a wide margin even in debug builds.
//! The estimate is an upper bound on syn's recursion for ordinary code: per delimited group and
//! per `;`/`,`-separated segment it counts the operator tokens and control-flow keywords (each
//! can open one level of recursion) plus the deepest nested group.

use std::str::FromStr;

use proc_macro2::{Delimiter, TokenStream, TokenTree};

use crate::span::{FileId, Span};

/// Stack of every parsing and analysis thread. Only touched pages are ever committed.
pub const STACK_SIZE: usize = 1 << 30;

/// Nesting (estimated as described above) beyond which a file is not parsed.
pub const MAX_DEPTH: usize = 8_000;

/// Why a file could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseFailure {
    pub span: Span,
    pub message: String,
    pub kind: FailureKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    Syntax,
    TooDeep,
}

/// Parses `text` (the contents of `file`) as a Rust source file.
pub fn parse_file(file: FileId, text: &str) -> Result<syn::File, ParseFailure> {
    let prepared = blank_bom_and_shebang(text);
    let tokens = TokenStream::from_str(&prepared).map_err(|e| ParseFailure {
        span: Span::of(file, e.span()),
        message: e.to_string(),
        kind: FailureKind::Syntax,
    })?;
    let depth = nesting_estimate(&tokens, 0);
    if depth > MAX_DEPTH {
        return Err(ParseFailure {
            span: Span::new(file, 0..0),
            message: format!(
                "this file nests too deeply to analyze safely (estimated depth {depth}, limit {MAX_DEPTH})"
            ),
            kind: FailureKind::TooDeep,
        });
    }
    syn::parse2::<syn::File>(tokens).map_err(|e| ParseFailure {
        span: Span::of(file, e.span()),
        message: e.to_string(),
        kind: FailureKind::Syntax,
    })
}

/// syn's `parse_file` strips a byte-order mark and a shebang line, which shifts every offset.
/// Blanking them with spaces instead keeps byte offsets equal to the file's own.
fn blank_bom_and_shebang(text: &str) -> std::borrow::Cow<'_, str> {
    let bom = text.starts_with('\u{feff}');
    let body = if bom { &text[3..] } else { text };
    let shebang = body.starts_with("#!") && !body[2..].trim_start().starts_with('[');
    if !bom && !shebang {
        return text.into();
    }
    let mut out = String::with_capacity(text.len());
    if bom {
        out.push_str("   ");
    }
    if shebang {
        let end = body.find('\n').unwrap_or(body.len());
        out.extend(std::iter::repeat_n(' ', end));
        out.push_str(&body[end..]);
    } else {
        out.push_str(body);
    }
    out.into()
}

const NESTING_KEYWORDS: &[&str] = &[
    "if", "else", "match", "loop", "while", "for", "return", "break", "async", "move", "unsafe",
    "let",
];

/// An upper bound on how deep syn (and the visitors after it) will recurse on `tokens`.
fn nesting_estimate(tokens: &TokenStream, depth: usize) -> usize {
    if depth > MAX_DEPTH {
        // Already over the limit: no need to look deeper (and this walk must not overflow).
        return depth;
    }
    let mut best = 0;
    let mut prone = 0;
    let mut child = 0;
    for tt in tokens.clone() {
        match tt {
            TokenTree::Group(g) => {
                let inner = nesting_estimate(&g.stream(), depth + 1);
                let cost = if g.delimiter() == Delimiter::None {
                    inner
                } else {
                    inner + 1
                };
                child = child.max(cost);
            }
            TokenTree::Punct(p) => match p.as_char() {
                ';' | ',' => {
                    best = best.max(prone + child);
                    prone = 0;
                    child = 0;
                }
                '.' | ':' | '#' => {}
                _ => prone += 1,
            },
            TokenTree::Ident(i) => {
                if NESTING_KEYWORDS.iter().any(|k| i == k) {
                    prone += 1;
                }
            }
            TokenTree::Literal(_) => {}
        }
    }
    best.max(prone + child)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<usize, ParseFailure> {
        // Parsing deep input needs the analyzer's stack, as in the driver.
        let text = text.to_string();
        std::thread::Builder::new()
            .stack_size(STACK_SIZE)
            .spawn(move || parse_file(FileId(0), &text).map(|f| f.items.len()))
            .unwrap()
            .join()
            .unwrap()
    }

    #[test]
    fn offsets_survive_bom_and_shebang() {
        let text = "\u{feff}#!/usr/bin/env run-cargo-script\nfn main() { let x = ; }\n";
        let err = std::thread::spawn(move || parse_file(FileId(0), text).unwrap_err())
            .join()
            .unwrap();
        assert_eq!(&text[err.span.range()], ";");
    }

    #[test]
    fn inner_attribute_is_not_a_shebang() {
        assert!(parse("#![allow(dead_code)]\nfn main() {}\n").is_ok());
    }

    #[test]
    fn lex_errors_point_at_the_problem() {
        let text = "fn main() {\n    let s = \"unterminated;\n}\n";
        let err = std::thread::spawn(move || parse_file(FileId(0), text).unwrap_err())
            .join()
            .unwrap();
        assert_eq!(err.kind, FailureKind::Syntax);
        assert!(
            err.span.lo as usize >= text.find('"').unwrap() - 1,
            "{err:?}"
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
    fn long_flat_lists_are_not_deep() {
        let items: Vec<String> = (0..50_000).map(|i| format!("-{i}")).collect();
        let src = format!("static T: [i32; 50000] = [{}];", items.join(", "));
        assert!(parse(&src).is_ok());
    }
}
