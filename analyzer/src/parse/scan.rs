//! The byte scans that run before lexing: what is not Rust at the start of a file (a BOM, a
//! shebang, cargo-script frontmatter), an estimate of how deep syn will recurse, where the doc
//! comments are, and, when lexing failed, which delimiter is unbalanced.
//!
//! They skip comments, string, byte-string, raw-string and char literals exactly as the lexer
//! does, and otherwise look at single bytes: much cheaper than walking a token stream.

use std::borrow::Cow;
use std::ops::Range;

use super::bodies::Finder;

/// The byte-order mark, shebang line and cargo-script frontmatter (`---` fenced block) at
/// the start of `text`, if any: the part `parse_file` blanks because it is not Rust tokens.
/// syn's own `parse_file` strips a mark and a shebang, which shifts every offset; blanking
/// them with spaces instead keeps byte offsets and line numbers equal to the file's.
pub(super) fn non_rust_prefix(text: &str) -> Range<usize> {
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

/// Words that may follow a `}` without starting a new item, statement or match arm:
/// `if .. {} else`, `{ .. } as T`, `for Point { x, y } in points`.
fn continues_after_block(word: &[u8]) -> bool {
    matches!(word, b"else" | b"as" | b"in")
}

/// What one byte scan of a file finds before it is lexed.
pub(super) struct Scan {
    /// An upper bound on how deep syn (and the visitors after it) will recurse on the text.
    /// Past the limit the scan stops, and `docs` is incomplete.
    pub depth: usize,
    /// The byte ranges of the doc comments (`///`, `//!`, `/** */`, `/*! */`), in order.
    pub docs: Vec<Range<usize>>,
}

/// Scans `text` from byte `from` on, once, for [`Scan`]'s facts.
///
/// A plain byte scan, much cheaper than walking a token stream: it skips comments, string,
/// byte-string, raw-string and char literals, and otherwise sees brackets, punctuation and
/// words. Unbalanced brackets only make the depth estimate rougher; syn reports the real
/// error.
///
/// Segments end at `;` and `,`, and also where a `{..}` is followed by a word or an
/// attribute (`#`): after a block, that starts the next item, statement or match arm, which
/// syn parses in a loop, not inside the one before (`fn a() -> u8 { 1 } fn b() ..`, `if x {
/// .. } y.push(1);`, `None => {} Some(_) => ..`). Without that rule a file of thousands of
/// fns with return types counted one level per `->`.
pub(super) fn scan(text: &str, from: usize, max_depth: usize) -> Scan {
    scan_with(text, from, max_depth, None)
}

/// [`scan`], and the fn bodies a skeleton may leave out (see [`super::bodies`]), found in
/// the same walk.
pub(super) fn scan_finding(
    text: &str,
    from: usize,
    max_depth: usize,
) -> (Scan, Vec<(usize, usize)>) {
    let mut finder = Finder::new();
    let scan = scan_with(text, from, max_depth, Some(&mut finder));
    (scan, finder.found)
}

fn scan_with<'t>(
    text: &'t str,
    from: usize,
    max_depth: usize,
    mut finder: Option<&mut Finder<'t>>,
) -> Scan {
    #[derive(Default)]
    struct Group {
        best: usize,
        prone: usize,
        child: usize,
    }
    impl Group {
        /// The deepest of its segments, the current one included.
        fn deepest(&self) -> usize {
            self.best.max(self.prone + self.child)
        }

        fn end_segment(&mut self) {
            self.best = self.deepest();
            self.prone = 0;
            self.child = 0;
        }
    }
    /// The innermost open group.
    fn top(stack: &mut [Group]) -> &mut Group {
        stack.last_mut().expect("the file level is never popped")
    }
    let b = text.as_bytes();
    let mut stack = vec![Group::default()];
    let mut docs = Vec::new();
    // The last token was a `}` (comments and whitespace since do not count).
    let mut after_block = false;
    let mut i = from;
    while i < b.len() {
        let c = b[i];
        // Whitespace and comments put it back.
        let block_before = std::mem::take(&mut after_block);
        match c {
            // A run at once: indentation is a good part of the text.
            b' ' | b'\n' | b'\t' | b'\r' => {
                after_block = block_before;
                i = run_end(b, i + 1, BLANK);
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                let end = memchr(b'\n', b, i).unwrap_or(b.len());
                let comment = &b[i..end];
                if comment.starts_with(b"//!")
                    || (comment.starts_with(b"///") && !comment.starts_with(b"////"))
                {
                    docs.push(i..end);
                }
                after_block = block_before;
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
                after_block = block_before;
                i = end;
                continue;
            }
            b'"' => {
                i = skip_string(b, i + 1);
                if let Some(f) = &mut finder {
                    f.literal();
                }
                continue;
            }
            b'\'' => {
                let end = skip_quote(b, i);
                // A lifetime's quote alone was skipped: its name comes next, as a word.
                if let Some(f) = finder.as_mut().filter(|_| end != i + 1) {
                    f.literal();
                }
                i = end;
                continue;
            }
            b'(' | b'[' | b'{' => {
                if stack.len() > max_depth {
                    return Scan {
                        depth: stack.len(),
                        docs,
                    };
                }
                stack.push(Group::default());
                if let Some(f) = &mut finder {
                    f.open(c, i);
                }
            }
            // An unmatched closer at file level is left for syn to report.
            b')' | b']' | b'}' if stack.len() > 1 => {
                let inner = stack.pop().expect("checked above").deepest();
                let top = top(&mut stack);
                top.child = top.child.max(inner + 1);
                after_block = c == b'}';
                if let Some(f) = &mut finder {
                    f.close(c, i);
                }
            }
            c if c == b'_' || c.is_ascii_alphabetic() => {
                let (end, word) = skip_word(b, i);
                if let Some(f) = &mut finder {
                    match word {
                        Some(w) => f.word(w, i > 0 && b[i - 1] == b'\''),
                        None => f.literal(),
                    }
                }
                i = end;
                if block_before && word.is_some_and(|w| !continues_after_block(w)) {
                    top(&mut stack).end_segment();
                }
                if word.is_some_and(is_nesting_keyword) {
                    top(&mut stack).prone += 1;
                }
                continue;
            }
            c => {
                if let Some(f) = &mut finder {
                    f.punct(c);
                }
                match c {
                    b';' | b',' => top(&mut stack).end_segment(),
                    b'#' if block_before => top(&mut stack).end_segment(),
                    b'!' | b'%' | b'&' | b'*' | b'+' | b'-' | b'/' | b'<' | b'=' | b'>' | b'?'
                    | b'@' | b'^' | b'|' | b'~' => top(&mut stack).prone += 1,
                    _ => {}
                }
            }
        }
        i += 1;
    }
    let mut depth = 0;
    while let Some(g) = stack.pop() {
        let inner = g.deepest().max(depth);
        depth = inner + usize::from(!stack.is_empty());
    }
    Scan { depth, docs }
}

/// `text` with every byte of the `ranges` but line breaks turned into a space: for the
/// `non_rust_prefix`, and for the doc comments.
///
/// rustc makes doc comments into `#[doc = ".."]` attributes, and so does proc-macro2's lexer:
/// a tokenized, parsed and stored string per comment line. No check reads documentation, and
/// in documented code like the standard library's or tokio's a third of the text is doc
/// comments, so skipping them saves about a sixth of the parse time and of the memory that the
/// trees hold until the lint phase. Offsets and line numbers stay the file's. The cost: a doc
/// comment where none may stand (before a `}`; rustc's E0585) is not reported.
pub(super) fn blank(text: &str, ranges: impl IntoIterator<Item = Range<usize>>) -> Cow<'_, str> {
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

/// `text` with the `ranges` left out ([`squeeze`]) when `squeezed`, blanked ([`blank`])
/// otherwise.
pub(super) fn blank_or_squeeze(
    text: &str,
    ranges: impl IntoIterator<Item = Range<usize>>,
    squeezed: bool,
) -> Cow<'_, str> {
    match squeezed {
        true => Cow::Owned(squeeze(text, ranges)),
        false => blank(text, ranges),
    }
}

/// `text` without the `ranges`, but for their line breaks and, where more text follows on a
/// range's last line, a space for each of its bytes on that line: every token outside them
/// keeps its line and column, not its byte offset. For ASCII text only, where a column counts
/// bytes and [`crate::span::Span::of`] reads a position by its line and column. Cheaper to
/// lex than [`blank`]'s spaces, which the lexer steps over one at a time.
fn squeeze(text: &str, ranges: impl IntoIterator<Item = Range<usize>>) -> String {
    debug_assert!(text.is_ascii());
    let mut ranges: Vec<Range<usize>> = ranges.into_iter().filter(|r| !r.is_empty()).collect();
    ranges.sort_unstable_by_key(|r| r.start);
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(text.len());
    let mut at = 0;
    for r in ranges {
        // Ranges may nest (a doc comment in a blanked body) or touch.
        let r = r.start.max(at)..r.end.min(b.len());
        if r.is_empty() {
            continue;
        }
        out.extend_from_slice(&b[at..r.start]);
        let inside = &b[r.clone()];
        out.extend(memchr::memchr_iter(b'\n', inside).map(|_| b'\n'));
        if b.get(r.end).is_some_and(|&c| c != b'\n' && c != b'\r') {
            let last_line =
                memchr::memrchr(b'\n', inside).map_or(inside.len(), |p| inside.len() - p - 1);
            out.resize(out.len() + last_line, b' ');
        }
        at = r.end;
    }
    out.extend_from_slice(&b[at..]);
    String::from_utf8(out).expect("ASCII in, ASCII out")
}

/// The words of `text` (identifiers, keywords, numbers), skipping comments and literals as
/// [`scan`] does, and the names of lifetimes. Each comes with whether only blanks separate
/// it from the word before it (`fn name`, not `fn(u8)` or `"x" name`). For the attribute's
/// test for lint triggers (`crate::attribute::has_word_triggers`), on an item's text.
pub(crate) fn words(text: &str) -> impl Iterator<Item = (&str, bool)> {
    let b = text.as_bytes();
    let mut i = 0;
    let mut right_after = false;
    std::iter::from_fn(move || {
        while i < b.len() {
            match b[i] {
                c if c == b'_' || c.is_ascii_alphanumeric() => {
                    let (end, word) = skip_word(b, i);
                    let start = i;
                    i = end;
                    if word.is_some() {
                        let after = std::mem::replace(&mut right_after, true);
                        return Some((&text[start..end], after));
                    }
                    // `r#name`, a raw identifier, is its name (the word that follows); the
                    // other prefixes were a literal's.
                    let raw_ident = b[end - 1] == b'#'
                        && b.get(end)
                            .is_some_and(|&c| c == b'_' || c.is_ascii_alphabetic());
                    if !raw_ident {
                        right_after = false;
                    }
                }
                b' ' | b'\t' | b'\n' | b'\r' => i += 1,
                b'/' if b.get(i + 1) == Some(&b'/') => {
                    i = memchr(b'\n', b, i).unwrap_or(b.len());
                }
                b'/' if b.get(i + 1) == Some(&b'*') => {
                    i = skip_block_comment(b, i);
                    right_after = false;
                }
                b'"' => {
                    i = skip_string(b, i + 1);
                    right_after = false;
                }
                b'\'' => {
                    let end = skip_quote(b, i);
                    // A lifetime: its quote alone was skipped; its name is no value's or fn's.
                    i = if end == i + 1 {
                        run_end(b, end, WORD)
                    } else {
                        end
                    };
                    right_after = false;
                }
                _ => {
                    i += 1;
                    right_after = false;
                }
            }
        }
        None
    })
}

/// Whitespace, in [`CLASS`].
const BLANK: u8 = 1;
/// A byte of an identifier, keyword or number (`[A-Za-z0-9_]`), in [`CLASS`].
const WORD: u8 = 2;
/// Each byte's class, for [`run_end`]: the scans spend most of their time in runs of blanks
/// and of word bytes, and a table lookup per byte is cheaper there than a chain of compares.
static CLASS: [u8; 256] = {
    let mut table = [0; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        if matches!(b, b' ' | b'\n' | b'\t' | b'\r') {
            table[c] = BLANK;
        } else if b == b'_' || b.is_ascii_alphanumeric() {
            table[c] = WORD;
        }
        c += 1;
    }
    table
};

/// The end of the run of `class` bytes that starts at `from`.
fn run_end(b: &[u8], from: usize, class: u8) -> usize {
    let rest = b.get(from..).unwrap_or_default();
    from + rest
        .iter()
        .position(|&c| CLASS[c as usize] != class)
        .unwrap_or(rest.len())
}

/// At the first letter of a word: past the word, and the word itself; or, when the word is
/// a literal's prefix (raw and byte strings `r".."`, `r#".."#`, `b".."`, `br".."`, `c".."`,
/// byte chars `b'x'`), past the literal, and no word.
fn skip_word(b: &[u8], start: usize) -> (usize, Option<&[u8]>) {
    let i = run_end(b, start, WORD);
    let word = &b[start..i];
    if i < b.len()
        && (b[i] == b'"' || b[i] == b'#')
        && matches!(word, b"r" | b"br" | b"cr" | b"b" | b"c")
    {
        (skip_prefixed_string(b, i), None)
    } else if word == b"b" && b.get(i) == Some(&b'\'') {
        (skip_quote(b, i), None)
    } else {
        (i, Some(word))
    }
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

/// A delimiter the lexer cannot match, found by [`unbalanced`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Unbalanced {
    /// `open` (a byte offset) is never closed before the end of the text.
    Unclosed { open: usize, delimiter: char },
    /// The closer at `close` does not match the opener at `open`.
    Mismatched {
        open: usize,
        opener: char,
        close: usize,
        closer: char,
    },
    /// The closer at `close` has nothing open to close.
    Stray { close: usize, closer: char },
    /// A string or block comment opens at `open` and runs to the end of the text, so the
    /// delimiters after it are not what they seem.
    Unterminated { open: usize, what: &'static str },
}

/// The first delimiter of `text` (from byte `from` on) that does not balance, if any, as the
/// lexer would find it: brackets inside comments and literals do not count.
pub(super) fn unbalanced(text: &str, from: usize) -> Option<Unbalanced> {
    let b = text.as_bytes();
    let mut open: Vec<(usize, u8)> = Vec::new();
    let mut i = from;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                i = memchr(b'\n', b, i).unwrap_or(b.len());
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let start = i;
                i = skip_block_comment(b, i);
                if !b[start + 2..i].ends_with(b"*/") {
                    return Some(Unbalanced::Unterminated {
                        open: start,
                        what: "block comment",
                    });
                }
                continue;
            }
            b'"' => {
                let start = i;
                i = skip_string(b, i + 1);
                if i == b.len() && (i == start + 1 || b[i - 1] != b'"') {
                    return Some(Unbalanced::Unterminated {
                        open: start,
                        what: "string",
                    });
                }
                continue;
            }
            b'\'' => {
                i = skip_quote(b, i);
                continue;
            }
            c @ (b'(' | b'[' | b'{') => open.push((i, c)),
            c @ (b')' | b']' | b'}') => {
                let Some((at, opener)) = open.pop() else {
                    return Some(Unbalanced::Stray {
                        close: i,
                        closer: c as char,
                    });
                };
                if closer_of(opener) != c {
                    return Some(Unbalanced::Mismatched {
                        open: at,
                        opener: opener as char,
                        close: i,
                        closer: c as char,
                    });
                }
            }
            c if c == b'_' || c.is_ascii_alphabetic() => {
                i = skip_word(b, i).0;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    open.pop().map(|(open, d)| Unbalanced::Unclosed {
        open,
        delimiter: d as char,
    })
}

fn closer_of(opener: u8) -> u8 {
    match opener {
        b'(' => b')',
        b'[' => b']',
        _ => b'}',
    }
}
