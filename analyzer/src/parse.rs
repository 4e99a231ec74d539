//! Parsing one file with syn, without ever crashing the analyzer.
//!
//! syn parses recursively, so a deeply nested expression needs a deep stack. The driver runs
//! parsing and analysis on threads with [`STACK_SIZE`] bytes of stack, and this module refuses
//! (with a `parse_error`) a file whose estimated nesting exceeds [`MAX_DEPTH`], which is chosen
//! so that the deepest accepted file fits that stack with a wide margin even in debug builds.
//! The estimate is an upper bound on syn's recursion for ordinary code: per delimited group and
//! per `;`/`,`-separated segment it counts the operator tokens and control-flow keywords (each
//! can open one level of recursion) plus the deepest nested group.
//!
//! The same byte scan finds the doc comments, which are blanked before lexing: no check reads
//! them, and they are a third of well-documented code (see [`blank`]).

use std::borrow::Cow;
use std::ops::Range;
use std::str::FromStr;

use proc_macro2::TokenStream;

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
///
/// Doc comments are blanked before lexing (see [`blank`]), so the tree has no `#[doc]`
/// attributes made from them; written-out `#[doc = ..]` attributes stay.
pub fn parse_file(file: FileId, text: &str) -> Result<syn::File, ParseFailure> {
    let prefix = non_rust_prefix(text);
    // The prefix is not Rust, so the scan starts after it.
    let Scan { depth, docs } = scan(text, prefix.end);
    if depth > MAX_DEPTH {
        return Err(ParseFailure {
            span: Span::new(file, 0..0),
            message: format!(
                "this file nests too deeply to analyze safely (estimated depth {depth}, limit {MAX_DEPTH})"
            ),
            kind: FailureKind::TooDeep,
        });
    }
    let prepared = blank(text, std::iter::once(prefix).chain(docs));
    let tokens = TokenStream::from_str(&prepared).map_err(|e| ParseFailure {
        span: Span::of(file, e.span()),
        message: e.to_string(),
        kind: FailureKind::Syntax,
    })?;
    syn::parse2::<syn::File>(tokens).map_err(|e| ParseFailure {
        span: Span::of(file, e.span()),
        message: e.to_string(),
        kind: FailureKind::Syntax,
    })
}

/// The byte-order mark, shebang line and cargo-script frontmatter (`---` fenced block) at
/// the start of `text`, if any: the part [`parse_file`] blanks because it is not Rust tokens.
/// syn's own `parse_file` strips a mark and a shebang, which shifts every offset; blanking
/// them with spaces instead keeps byte offsets and line numbers equal to the file's.
fn non_rust_prefix(text: &str) -> Range<usize> {
    let mut blank = 0..0;
    let mut start = 0;
    if text.starts_with('\u{feff}') {
        start = 3;
        blank.end = 3;
    }
    let body = &text[start..];
    if body.starts_with("#!") && !body[2..].trim_start().starts_with('[') {
        blank.end = start + body.find('\n').unwrap_or(body.len());
    }
    if let Some(end) = frontmatter_end(text, blank.end) {
        blank.end = end;
    }
    blank
}

/// The end of a frontmatter block (`---` fence lines) that starts after `from`, past blank
/// lines only.
fn frontmatter_end(text: &str, from: usize) -> Option<usize> {
    let rest = &text[from..];
    let fence_at = from + rest.len() - rest.trim_start_matches(['\n', '\r', ' ', '\t']).len();
    let rest = &text[fence_at..];
    let dashes = rest.bytes().take_while(|&b| b == b'-').count();
    if dashes < 3 {
        return None;
    }
    let fence = &rest[..dashes];
    let mut offset = fence_at + rest.find('\n')? + 1;
    for line in text[offset..].split_inclusive('\n') {
        offset += line.len();
        if line.trim_end() == fence {
            return Some(offset);
        }
    }
    None
}

/// Keywords that can open a level of syn's recursion.
fn is_nesting_keyword(word: &[u8]) -> bool {
    matches!(
        word,
        b"if"
            | b"else"
            | b"match"
            | b"loop"
            | b"while"
            | b"for"
            | b"return"
            | b"break"
            | b"async"
            | b"move"
            | b"unsafe"
            | b"let"
    )
}

/// What one byte scan of a file finds before it is lexed.
struct Scan {
    /// An upper bound on how deep syn (and the visitors after it) will recurse on the text.
    /// Past [`MAX_DEPTH`] the scan stops, and `docs` is incomplete.
    depth: usize,
    /// The byte ranges of the doc comments (`///`, `//!`, `/** */`, `/*! */`), in order.
    docs: Vec<Range<usize>>,
}

/// Scans `text` from byte `from` on, once, for [`Scan`]'s facts.
///
/// A plain byte scan, much cheaper than walking a token stream: it skips comments, string,
/// byte-string, raw-string and char literals, and otherwise sees brackets, punctuation and
/// words. Unbalanced brackets only make the depth estimate rougher; syn reports the real
/// error.
fn scan(text: &str, from: usize) -> Scan {
    #[derive(Default)]
    struct Group {
        best: usize,
        prone: usize,
        child: usize,
    }
    let b = text.as_bytes();
    let mut stack = vec![Group::default()];
    let mut docs = Vec::new();
    let mut i = from;
    while i < b.len() {
        let c = b[i];
        match c {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                let end = memchr(b'\n', b, i).unwrap_or(b.len());
                let comment = &b[i..end];
                if comment.starts_with(b"//!")
                    || (comment.starts_with(b"///") && !comment.starts_with(b"////"))
                {
                    docs.push(i..end);
                }
                i = end;
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = skip_block_comment(b, i);
                let comment = &b[i..end];
                // `/**/` and `/***..` are plain comments; an unterminated one is left for the
                // lexer to report.
                if comment.len() >= 5
                    && comment.ends_with(b"*/")
                    && (comment.starts_with(b"/*!")
                        || (comment.starts_with(b"/**") && comment[3] != b'*'))
                {
                    docs.push(i..end);
                }
                i = end;
                continue;
            }
            b'"' => {
                i = skip_string(b, i + 1);
                continue;
            }
            b'\'' => {
                i = skip_quote(b, i);
                continue;
            }
            b'(' | b'[' | b'{' => {
                if stack.len() > MAX_DEPTH {
                    return Scan {
                        depth: stack.len(),
                        docs,
                    };
                }
                stack.push(Group::default());
            }
            // An unmatched closer at file level is left for syn to report.
            b')' | b']' | b'}' if stack.len() > 1 => {
                let g = stack.pop().expect("checked above");
                let inner = g.best.max(g.prone + g.child);
                let top = stack.last_mut().expect("the file level is never popped");
                top.child = top.child.max(inner + 1);
            }
            b';' | b',' => {
                let top = stack.last_mut().expect("the file level is never popped");
                top.best = top.best.max(top.prone + top.child);
                top.prone = 0;
                top.child = 0;
            }
            b'!' | b'%' | b'&' | b'*' | b'+' | b'-' | b'/' | b'<' | b'=' | b'>' | b'?' | b'@'
            | b'^' | b'|' | b'~' => {
                stack
                    .last_mut()
                    .expect("the file level is never popped")
                    .prone += 1;
            }
            c if c == b'_' || c.is_ascii_alphabetic() => {
                let start = i;
                while i < b.len() && (b[i] == b'_' || b[i].is_ascii_alphanumeric()) {
                    i += 1;
                }
                let word = &b[start..i];
                // Raw and byte strings: r"..", r#".."#, b"..", br"..", c"..".
                if i < b.len()
                    && (b[i] == b'"' || b[i] == b'#')
                    && matches!(word, b"r" | b"br" | b"cr" | b"b" | b"c")
                {
                    i = skip_prefixed_string(b, i);
                    continue;
                }
                if word == b"b" && b.get(i) == Some(&b'\'') {
                    i = skip_quote(b, i);
                    continue;
                }
                if is_nesting_keyword(word) {
                    stack
                        .last_mut()
                        .expect("the file level is never popped")
                        .prone += 1;
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    let mut depth = 0;
    while let Some(g) = stack.pop() {
        let inner = g.best.max(g.prone + g.child).max(depth);
        depth = inner + usize::from(!stack.is_empty());
    }
    Scan { depth, docs }
}

/// `text` with its doc comments blanked, as [`parse_file`] lexes it.
pub fn blank_doc_comments(text: &str) -> Cow<'_, str> {
    blank(text, scan(text, 0).docs)
}

/// `text` with every byte of the `ranges` but line breaks turned into a space: for the
/// [`non_rust_prefix`], and for the doc comments.
///
/// rustc makes doc comments into `#[doc = ".."]` attributes, and so does proc-macro2's lexer:
/// a tokenized, parsed and stored string per comment line. No check reads documentation, and
/// in documented code like the standard library's or tokio's a third of the text is doc
/// comments, so skipping them saves about a sixth of the parse time and of the memory that the
/// trees hold until the lint phase. Offsets and line numbers stay the file's. The cost: a doc
/// comment where none may stand (before a `}`; rustc's E0585) is not reported.
fn blank(text: &str, ranges: impl IntoIterator<Item = Range<usize>>) -> Cow<'_, str> {
    let mut ranges = ranges.into_iter().filter(|r| !r.is_empty()).peekable();
    if ranges.peek().is_none() {
        return text.into();
    }
    let mut bytes = text.as_bytes().to_vec();
    for range in ranges {
        for byte in &mut bytes[range] {
            if !matches!(*byte, b'\n' | b'\r') {
                *byte = b' ';
            }
        }
    }
    // Each range starts and ends at a character boundary, so whole characters became spaces;
    // should that ever not hold, the text is parsed as it was.
    String::from_utf8(bytes).map_or(text.into(), Cow::Owned)
}

fn memchr(needle: u8, b: &[u8], from: usize) -> Option<usize> {
    memchr::memchr(needle, b.get(from..)?).map(|p| from + p)
}

fn skip_block_comment(b: &[u8], mut i: usize) -> usize {
    let mut depth = 0usize;
    while i + 1 < b.len() {
        if b[i] == b'/' && b[i + 1] == b'*' {
            depth += 1;
            i += 2;
        } else if b[i] == b'*' && b[i + 1] == b'/' {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    b.len()
}

/// From just after an opening `"` to just after the closing one.
fn skip_string(b: &[u8], mut i: usize) -> usize {
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

/// At the `"` or `#` after a string prefix: `"..."`, or raw `#*"..."#*`.
fn skip_prefixed_string(b: &[u8], mut i: usize) -> usize {
    let hashes = b[i..].iter().take_while(|&&c| c == b'#').count();
    i += hashes;
    if b.get(i) != Some(&b'"') {
        return i;
    }
    if hashes == 0 && b.get(i.wrapping_sub(1)).is_some_and(|&c| c != b'r') {
        return skip_string(b, i + 1);
    }
    i += 1;
    while i < b.len() {
        if b[i] == b'"'
            && b[i + 1..]
                .iter()
                .take(hashes)
                .filter(|&&c| c == b'#')
                .count()
                == hashes
        {
            return i + 1 + hashes;
        }
        i += 1;
    }
    b.len()
}

/// At a `'`: a char literal (`'x'`, `'\n'`, `'é'`) is skipped whole; a lifetime's quote alone.
fn skip_quote(b: &[u8], i: usize) -> usize {
    match b.get(i + 1) {
        Some(b'\\') => memchr(b'\'', b, i + 3).map_or(b.len(), |e| e + 1),
        Some(&c) => {
            let width = match c {
                0x00..=0x7f => 1,
                0xc0..=0xdf => 2,
                0xe0..=0xef => 3,
                _ => 4,
            };
            if b.get(i + 1 + width) == Some(&b'\'') {
                i + 2 + width
            } else {
                i + 1
            }
        }
        None => b.len(),
    }
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
    fn brackets_in_literals_and_comments_do_not_count() {
        let opens = "(".repeat(20_000);
        let src = format!(
            "// {opens}\n/* {opens} /* nested */ */\nconst A: &str = \"{opens}\\\"\";\nconst B: &str = r#\"{opens}\"#;\nconst C: char = '(';\nfn f<'a>(x: &'a str) -> &'a str {{ x }}\nconst D: &[u8] = b\"{opens}\";\n"
        );
        assert!(scan(&src, 0).depth < 10, "{}", scan(&src, 0).depth);
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
        let file = parse_file(FileId(0), &text.replace("= ;", "= 1;")).unwrap();
        assert_eq!(doc_attrs(&file), ["doc = \"kept\""]);
    }

    #[test]
    fn doc_comment_look_alikes_are_left_alone() {
        let text = "//// rule\n/**/\n/*** stars */\n/* /// in a comment */\nconst A: &str = \"/// in a string //! /** */\";\nconst B: &str = r#\"/// raw \"# ;\nconst C: char = '/';\nconst D: &[u8] = b\"//!\";\nfn f<'a>(x: &'a str) -> &'a str { x } // /// trailing\n";
        assert_eq!(blank_doc_comments(text), text);
        // An unterminated doc comment is still the lexer's error.
        assert!(parse("/** never closed\nfn f() {}\n").is_err());
    }

    #[test]
    fn long_flat_lists_are_not_deep() {
        let items: Vec<String> = (0..50_000).map(|i| format!("-{i}")).collect();
        let src = format!("static T: [i32; 50000] = [{}];", items.join(", "));
        assert!(parse(&src).is_ok());
    }
}
