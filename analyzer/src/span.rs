//! Source locations as the analyzer stores them: a file and a byte range.
//!
//! syn hands out `proc_macro2::Span`s, which only mean something on the thread that parsed
//! the file (they index a thread-local source map). Everything that leaves the parsing thread
//! (index entries, diagnostics) carries a [`Span`] instead: plain data, `Send`, comparable,
//! and directly usable by codespan-reporting and the JSON reporter.

use std::cell::RefCell;
use std::ops::Range;
use std::sync::Arc;

/// Identifies one file of a [`crate::source::SourceDb`]; an index into its file list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(pub u32);

impl FileId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A byte range in one file. `lo <= hi`, both on UTF-8 character boundaries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub file: FileId,
    pub lo: u32,
    pub hi: u32,
}

impl Span {
    pub fn new(file: FileId, range: Range<usize>) -> Span {
        Span {
            file,
            lo: range.start as u32,
            hi: range.end.max(range.start) as u32,
        }
    }

    /// The span of a syntax node of `file`. Only valid on the thread that parsed `file`.
    pub fn of(file: FileId, span: proc_macro2::Span) -> Span {
        let fast = LINE_INDEX.with(|current| match &*current.borrow() {
            Some(index) if index.file == file => index.range(span),
            Some(index) if index.file == POSITIONS => {
                // On stable a node's span is its first token's (no `join`): its start is the
                // whole key, and the end would cost three more calls into the compiler.
                let at = position(span.start()) as usize;
                Some(at..at + 1)
            }
            _ => None,
        });
        Span::new(file, fast.unwrap_or_else(|| span.byte_range()))
    }

    /// The span from the start of `tokens` to their end, e.g. a whole expression.
    pub fn of_tokens(file: FileId, tokens: &impl syn::spanned::Spanned) -> Span {
        Span::of(file, tokens.span())
    }

    /// The span of an allocation site or other expression. The same as [`Span::of_tokens`],
    /// but in [`use_token_positions`] mode, where a span is its first token's start, it
    /// finds that token in the tree instead of printing the whole expression to tokens
    /// (every token printed is a call into the compiler in a proc macro).
    pub fn of_expr(file: FileId, e: &impl FirstToken) -> Span {
        let positions =
            LINE_INDEX.with(|c| c.borrow().as_ref().is_some_and(|i| i.file == POSITIONS));
        // Outside that mode the whole range is wanted: no use looking for the first token.
        match positions.then(|| e.first_token()).flatten() {
            Some(first) => Span::of(file, first),
            None => Span::of_tokens(file, e),
        }
    }

    pub fn range(self) -> Range<usize> {
        self.lo as usize..self.hi as usize
    }

    /// The smallest span covering both; both must be in the same file.
    pub fn to(self, other: Span) -> Span {
        debug_assert_eq!(self.file, other.file);
        Span {
            file: self.file,
            lo: self.lo.min(other.lo),
            hi: self.hi.max(other.hi),
        }
    }
}

/// Syntax nodes whose first token can be found without printing them. `None` where it is
/// not simple to say (outer attributes, a qualified path, rarer forms): the caller then
/// prints the node, as [`Span::of_tokens`] does.
pub trait FirstToken: syn::spanned::Spanned {
    fn first_token(&self) -> Option<proc_macro2::Span>;
}

impl FirstToken for syn::Expr {
    fn first_token(&self) -> Option<proc_macro2::Span> {
        use syn::Expr;
        match self {
            Expr::Call(c) => c.first_token(),
            Expr::MethodCall(m) => m.first_token(),
            Expr::Macro(m) if m.attrs.is_empty() => m.mac.first_token(),
            Expr::Path(p) if p.attrs.is_empty() && p.qself.is_none() => path_start(&p.path),
            Expr::Lit(l) if l.attrs.is_empty() => Some(l.lit.span()),
            Expr::Field(f) if f.attrs.is_empty() => f.base.first_token(),
            Expr::Index(i) if i.attrs.is_empty() => i.expr.first_token(),
            Expr::Try(t) if t.attrs.is_empty() => t.expr.first_token(),
            Expr::Await(a) if a.attrs.is_empty() => a.base.first_token(),
            Expr::Binary(b) if b.attrs.is_empty() => b.left.first_token(),
            Expr::Cast(c) if c.attrs.is_empty() => c.expr.first_token(),
            Expr::Reference(r) if r.attrs.is_empty() => Some(r.and_token.span),
            Expr::Paren(p) if p.attrs.is_empty() => Some(p.paren_token.span.open()),
            _ => None,
        }
    }
}

impl FirstToken for syn::ExprCall {
    fn first_token(&self) -> Option<proc_macro2::Span> {
        if !self.attrs.is_empty() {
            return None;
        }
        self.func.first_token()
    }
}

impl FirstToken for syn::ExprMethodCall {
    fn first_token(&self) -> Option<proc_macro2::Span> {
        if !self.attrs.is_empty() {
            return None;
        }
        self.receiver.first_token()
    }
}

impl FirstToken for syn::Macro {
    fn first_token(&self) -> Option<proc_macro2::Span> {
        path_start(&self.path)
    }
}

fn path_start(path: &syn::Path) -> Option<proc_macro2::Span> {
    match &path.leading_colon {
        Some(colons) => Some(colons.spans[0]),
        None => Some(path.segments.first()?.ident.span()),
    }
}

thread_local! {
    /// The line index of the file whose syntax this thread is working on, if any.
    static LINE_INDEX: RefCell<Option<LineIndex>> = const { RefCell::new(None) };
}

/// proc-macro2 locates a token by characters, and turning that into a byte offset
/// (`Span::byte_range`) counts characters from the nearest offset it computed before: costly
/// when spans are far apart, as an item's name and the next item's are. With the file's line
/// starts at hand, a (line, column) on an ASCII line prefix is a byte offset directly.
struct LineIndex {
    file: FileId,
    text: Arc<str>,
    line_starts: Arc<[u32]>,
    /// Most files are ASCII, and then every column is a byte: no prefix to check.
    ascii: bool,
}

impl LineIndex {
    fn byte(&self, at: proc_macro2::LineColumn) -> Option<usize> {
        let start = *self.line_starts.get(at.line.checked_sub(1)?)? as usize;
        if self.ascii {
            let next = self
                .line_starts
                .get(at.line)
                .map_or(self.text.len(), |&n| n as usize);
            return (start + at.column <= next).then_some(start + at.column);
        }
        let prefix = self.text.as_bytes().get(start..start + at.column)?;
        // On a non-ASCII prefix columns are not bytes: let proc-macro2 count.
        (prefix.is_ascii() && !prefix.contains(&b'\n')).then_some(start + at.column)
    }

    fn range(&self, span: proc_macro2::Span) -> Option<Range<usize>> {
        Some(self.byte(span.start())?..self.byte(span.end())?)
    }
}

/// Installs `file`'s line index for [`Span::of`] on this thread until the guard is dropped
/// (also when a check panics and unwinds through it).
pub fn use_line_index(file: FileId, text: &Arc<str>, line_starts: &Arc<[u32]>) -> LineIndexGuard {
    let index = LineIndex {
        file,
        text: text.clone(),
        line_starts: line_starts.clone(),
        ascii: text.is_ascii(),
    };
    LineIndexGuard {
        outer: LINE_INDEX.with(|current| current.replace(Some(index))),
    }
}

/// Marks the mode of [`use_token_positions`] (no file has this id).
const POSITIONS: FileId = FileId(u32::MAX);

/// A position that orders as (line, column) does, for spans with no text behind them.
/// Saturates (a line past 2^20, a column past 4095): positions may then collide, which
/// [`use_token_positions`]'s users check for.
pub fn position(at: proc_macro2::LineColumn) -> u32 {
    let line = (at.line as u32).min((1 << 20) - 1);
    let column = (at.column as u32).min(4095);
    (line << 12) | column
}

/// Makes [`Span::of`] on this thread, until the guard drops, give each span the
/// [`position`] of its start (and that plus one as its end) instead of byte offsets. For the compiler's own
/// tokens in a proc macro, which have lines and columns (Rust 1.88 and later) but no byte
/// offsets: a span is then a key that tells syntax nodes apart and orders them, not a
/// range of any text. On an older compiler every position is 0.
pub fn use_token_positions() -> LineIndexGuard {
    let index = LineIndex {
        file: POSITIONS,
        text: Arc::from(""),
        line_starts: Arc::from(Vec::new()),
        ascii: true,
    };
    LineIndexGuard {
        outer: LINE_INDEX.with(|current| current.replace(Some(index))),
    }
}

/// Puts back the line index that was installed before [`use_line_index`].
pub struct LineIndexGuard {
    outer: Option<LineIndex>,
}

impl Drop for LineIndexGuard {
    fn drop(&mut self) {
        let outer = self.outer.take();
        LINE_INDEX.with(|current| *current.borrow_mut() = outer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The line-index shortcut agrees with proc-macro2's own conversion, on ASCII and
    /// non-ASCII lines alike, and on a file that is all ASCII (which skips the prefix checks).
    #[test]
    fn fast_spans_match_proc_macro2() {
        let mixed =
            "fn a() { let s = \"héllo\"; let t = 1; }\n// ünïcode\nfn b(x: u8) -> u8 { x }\n";
        let spans = same_spans_both_ways(mixed);
        assert!(spans.iter().any(|s| mixed[s.range()].contains('é')));
        let ascii = "fn a() {\n    let s = \"hello\";\n}\r\nfn b(x: u8) -> u8 { x }";
        let spans = same_spans_both_ways(ascii);
        assert!(spans.iter().any(|s| &ascii[s.range()] == "b"));
    }

    fn same_spans_both_ways(text: &str) -> Vec<Span> {
        let text: Arc<str> = text.into();
        let file = FileId(7);
        let tokens: proc_macro2::TokenStream = text.parse().unwrap();
        fn walk(ts: proc_macro2::TokenStream, out: &mut Vec<proc_macro2::Span>) {
            for tt in ts {
                out.push(tt.span());
                if let proc_macro2::TokenTree::Group(g) = tt {
                    out.push(g.span_close());
                    walk(g.stream(), out);
                }
            }
        }
        let mut spans = Vec::new();
        walk(tokens, &mut spans);
        let slow: Vec<Span> = spans.iter().map(|s| Span::of(file, *s)).collect();
        let starts = crate::source::SourceFile::new("x.rs".into(), text.clone(), None).line_starts;
        let _guard = use_line_index(file, &text, &starts);
        let fast: Vec<Span> = spans.iter().map(|s| Span::of(file, *s)).collect();
        assert_eq!(slow, fast);
        fast
    }
}
